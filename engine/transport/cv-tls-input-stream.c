/* cv-tls-input-stream.c: the plaintext a CvTlsStream reads, as a pollable GInputStream. */
#include "transport/cv-tls-stream-private.h"

struct _CvTlsInputStream {
  GInputStream parent_instance;

  CvTlsStream *owner; /* not owned: the GIOStream owns us, and detaches us when it goes */
};

static void cv_tls_input_stream_pollable_init (GPollableInputStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CvTlsInputStream,
                               cv_tls_input_stream,
                               G_TYPE_INPUT_STREAM,
                               G_IMPLEMENT_INTERFACE (G_TYPE_POLLABLE_INPUT_STREAM,
                                                      cv_tls_input_stream_pollable_init))

static gboolean
owner_gone (CvTlsInputStream *self, GError **error)
{
  if (self->owner != NULL)
    return FALSE;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "the TLS stream is closed");
  return TRUE;
}

static gssize
read_fn (GInputStream *stream, void *buffer, gsize count, GCancellable *cancellable, GError **error)
{
  CvTlsInputStream *self = CV_TLS_INPUT_STREAM (stream);

  for (;;)
    {
      GError *local = NULL;
      gssize n;

      if (owner_gone (self, error))
        return -1;
      n = cv_tls_stream_read_nonblocking (self->owner, buffer, count, &local);
      if (n >= 0 || !g_error_matches (local, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          if (local != NULL)
            g_propagate_error (error, local);
          return n;
        }
      g_error_free (local);
      if (!cv_tls_stream_wait (self->owner, G_IO_IN, cancellable, error))
        return -1;
    }
}

static gboolean
close_fn (GInputStream *stream, GCancellable *cancellable, GError **error)
{
  return TRUE; /* the GIOStream closes the connection */
}

static void
cv_tls_input_stream_class_init (CvTlsInputStreamClass *klass)
{
  GInputStreamClass *input_class = G_INPUT_STREAM_CLASS (klass);

  input_class->read_fn = read_fn;
  input_class->close_fn = close_fn;
}

static void
cv_tls_input_stream_init (CvTlsInputStream *self)
{
}

static gboolean
can_poll (GPollableInputStream *pollable)
{
  return TRUE;
}

static gboolean
is_readable (GPollableInputStream *pollable)
{
  CvTlsInputStream *self = CV_TLS_INPUT_STREAM (pollable);

  return self->owner == NULL || cv_tls_stream_is_readable (self->owner);
}

static GSource *
create_source (GPollableInputStream *pollable, GCancellable *cancellable)
{
  CvTlsInputStream *self = CV_TLS_INPUT_STREAM (pollable);

  if (self->owner == NULL)
    {
      GSource *source = g_pollable_source_new (G_OBJECT (pollable));

      g_source_set_ready_time (source, 0);
      return source;
    }
  return cv_tls_stream_create_source (self->owner, G_OBJECT (pollable), G_IO_IN, cancellable);
}

static gssize
read_nonblocking (GPollableInputStream *pollable, void *buffer, gsize count, GError **error)
{
  CvTlsInputStream *self = CV_TLS_INPUT_STREAM (pollable);

  if (owner_gone (self, error))
    return -1;
  return cv_tls_stream_read_nonblocking (self->owner, buffer, count, error);
}

static void
cv_tls_input_stream_pollable_init (GPollableInputStreamInterface *iface)
{
  iface->can_poll = can_poll;
  iface->is_readable = is_readable;
  iface->create_source = create_source;
  iface->read_nonblocking = read_nonblocking;
}

GInputStream *
cv_tls_input_stream_new (CvTlsStream *owner)
{
  CvTlsInputStream *self = g_object_new (CV_TYPE_TLS_INPUT_STREAM, NULL);

  self->owner = owner;
  return G_INPUT_STREAM (self);
}

void
cv_tls_input_stream_detach (CvTlsInputStream *self)
{
  self->owner = NULL;
}
