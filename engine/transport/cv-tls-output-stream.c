/* cv-tls-output-stream.c: the plaintext a CvTlsStream writes, as a pollable GOutputStream. */
#include "transport/cv-tls-stream-private.h"

struct _CvTlsOutputStream {
  GOutputStream parent_instance;

  CvTlsStream *owner; /* not owned: the GIOStream owns us, and detaches us when it goes */
};

static void cv_tls_output_stream_pollable_init (GPollableOutputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CvTlsOutputStream,
                               cv_tls_output_stream,
                               G_TYPE_OUTPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_OUTPUT_STREAM,
                                                      cv_tls_output_stream_pollable_init))

static gboolean
owner_gone (CvTlsOutputStream *self, GError **error)
{
  if (self->owner != NULL)
    return FALSE;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "the TLS stream is closed");
  return TRUE;
}

static gssize
write_fn (GOutputStream *stream,
          const void *buffer,
          gsize count,
          GCancellable *cancellable,
          GError **error)
{
  CvTlsOutputStream *self = CV_TLS_OUTPUT_STREAM (stream);

  for (;;)
    {
      GError *local = NULL;
      gssize n;

      if (owner_gone (self, error))
        return -1;
      n = cv_tls_stream_write_nonblocking (self->owner, buffer, count, &local);
      /* A blocking writer may have no main loop to send the rest: send it now. */
      if (n >= 0)
        return cv_tls_stream_flush_blocking (self->owner, cancellable, error) ? n : -1;
      if (!g_error_matches (local, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_propagate_error (error, local);
          return -1;
        }
      g_error_free (local);
      if (!cv_tls_stream_wait (self->owner, G_IO_OUT, cancellable, error))
        return -1;
    }
}

/* A blocking write has only handed the bytes to the stream; flushing sends them. */
static gboolean
flush_fn (GOutputStream *stream, GCancellable *cancellable, GError **error)
{
  CvTlsOutputStream *self = CV_TLS_OUTPUT_STREAM (stream);

  if (owner_gone (self, error))
    return FALSE;
  return cv_tls_stream_flush_blocking (self->owner, cancellable, error);
}

static gboolean
close_fn (GOutputStream *stream, GCancellable *cancellable, GError **error)
{
  return TRUE; /* the GIOStream sends close_notify and closes the connection */
}

static void
cv_tls_output_stream_class_init (CvTlsOutputStreamClass *klass)
{
  GOutputStreamClass *output_class = G_OUTPUT_STREAM_CLASS (klass);

  output_class->write_fn = write_fn;
  output_class->flush = flush_fn;
  output_class->close_fn = close_fn;
}

static void
cv_tls_output_stream_init (CvTlsOutputStream *self)
{
}

static gboolean
can_poll (GPollableOutputStream *pollable)
{
  return TRUE;
}

static gboolean
is_writable (GPollableOutputStream *pollable)
{
  CvTlsOutputStream *self = CV_TLS_OUTPUT_STREAM (pollable);

  return self->owner == NULL || cv_tls_stream_is_writable (self->owner);
}

static GSource *
create_source (GPollableOutputStream *pollable, GCancellable *cancellable)
{
  CvTlsOutputStream *self = CV_TLS_OUTPUT_STREAM (pollable);

  if (self->owner == NULL)
    {
      GSource *source = g_pollable_source_new (G_OBJECT (pollable));

      g_source_set_ready_time (source, 0);
      return source;
    }
  return cv_tls_stream_create_source (self->owner, G_OBJECT (pollable), G_IO_OUT, cancellable);
}

static gssize
write_nonblocking (GPollableOutputStream *pollable, const void *buffer, gsize count, GError **error)
{
  CvTlsOutputStream *self = CV_TLS_OUTPUT_STREAM (pollable);

  if (owner_gone (self, error))
    return -1;
  return cv_tls_stream_write_nonblocking (self->owner, buffer, count, error);
}

static void
cv_tls_output_stream_pollable_init (GPollableOutputStreamInterface *iface)
{
  iface->can_poll = can_poll;
  iface->is_writable = is_writable;
  iface->create_source = create_source;
  iface->write_nonblocking = write_nonblocking;
}

GOutputStream *
cv_tls_output_stream_new (CvTlsStream *owner)
{
  CvTlsOutputStream *self = g_object_new (CV_TYPE_TLS_OUTPUT_STREAM, NULL);

  self->owner = owner;
  return G_OUTPUT_STREAM (self);
}

void
cv_tls_output_stream_detach (CvTlsOutputStream *self)
{
  self->owner = NULL;
}
