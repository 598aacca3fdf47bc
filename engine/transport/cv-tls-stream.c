/* cv-tls-stream.c: TLS 1.3 driven through GnuTLS directly over a non-blocking socket.
 *
 * The tunnels carry the bulk bytes, and there glib-networking's GTlsConnection costs
 * more than the cipher (profiles in tests/bench/CHAINS.md): GnuTLS pulls a record's
 * header and body with two recv() calls, pushes every 16 KiB record with its own
 * send(), and each GIO operation makes a GTask.  This stream reads the socket in
 * 256 KiB gulps that GnuTLS takes its records from, and gathers the records of a
 * write into one send().  It does only what bulk paths need: TLS 1.3, ALPN, both ends'
 * keys pinned (tunnels), or, for the agents' outer TLS to a web server (wss://, which
 * carries the tunnels' bytes too), a client without a certificate that checks the
 * server by pin or by CA and name (cv-tls-stream-handshake.c).  Control links keep
 * GTlsConnection (cv-tls.c): they carry little.
 *
 * Writes are accepted while fewer than OUT_HIGH_WATER encrypted bytes wait for the
 * socket; what the socket does not take at once it is given from a source on the
 * context the stream was made on, so a writer never has to flush.
 */
#include "transport/cv-tls-stream-private.h"

#include "base/cv-source.h"

#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>
#include <time.h>

#define IN_BUFFER_SIZE (256 * 1024)
/* An emptied output buffer larger than this is given back rather than kept. */
#define OUT_BUFFER_KEEP (16 * 1024)
#define OUT_HIGH_WATER (256 * 1024)
#define RECORD_PAYLOAD 16384
/* A TLS 1.3 record's bytes besides its payload (header, content type, AEAD tag), and
 * some to spare. */
#define RECORD_OVERHEAD 64
/* How long close_async waits for the socket to take the last records. */
#define CLOSE_DRAIN_MS 2000
/* TLS 1.3 only.  AES-128-GCM first: as strong as the tunnel needs and the fastest
 * suite with AES-NI (the OpenSSH chain we compare with uses it too). */
#define PRIORITY                                                                                   \
  "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305"

G_DEFINE_FINAL_TYPE (CvTlsStream, cv_tls_stream, G_TYPE_IO_STREAM)

static gsize
pending_out (CvTlsStream *self)
{
  return self->out_buffer->len - self->out_start;
}

/* ---- the transport under GnuTLS ----------------------------------------- */

static ssize_t
pull (gnutls_transport_ptr_t ptr, void *data, size_t size)
{
  CvTlsStream *self = ptr;
  gsize n;

  if (self->in_start == self->in_end)
    {
      GError *error = NULL;
      gssize received;

      if (self->socket_eof)
        return 0;
      if (self->socket_error != NULL && !self->receive_after_error)
        {
          gnutls_transport_set_errno (self->session, EIO);
          return -1;
        }
      if (self->socket_drained && self->socket_error == NULL)
        {
          /* A short read emptied the socket a moment ago: asking again would
           * almost always cost a system call for EAGAIN. */
          gnutls_transport_set_errno (self->session, EAGAIN);
          return -1;
        }
      /* Only while bytes come: a gateway holds thousands of idle control links. */
      if (self->in_buffer == NULL)
        self->in_buffer = g_malloc (IN_BUFFER_SIZE);
      received = g_socket_receive_with_blocking (self->socket, (char *) self->in_buffer,
                                                 IN_BUFFER_SIZE, FALSE, NULL, &error);
      if (received < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              g_error_free (error);
              gnutls_transport_set_errno (self->session, EAGAIN);
            }
          else
            {
              if (self->socket_error == NULL)
                self->socket_error = error;
              else
                g_error_free (error);
              self->receive_after_error = FALSE;
              gnutls_transport_set_errno (self->session, EIO);
            }
          return -1;
        }
      if (received == 0)
        {
          self->socket_eof = TRUE;
          return 0;
        }
      self->in_start = 0;
      self->in_end = received;
      self->socket_drained = received < IN_BUFFER_SIZE;
    }
  n = MIN (size, self->in_end - self->in_start);
  memcpy (data, self->in_buffer + self->in_start, n);
  self->in_start += n;
  return n;
}

/* Never short: the records wait in out_buffer until the socket takes them. */
static ssize_t
vec_push (gnutls_transport_ptr_t ptr, const giovec_t *iov, int iovcnt)
{
  CvTlsStream *self = ptr;
  gsize total = 0;

  for (int i = 0; i < iovcnt; i++)
    {
      g_byte_array_append (self->out_buffer, iov[i].iov_base, iov[i].iov_len);
      total += iov[i].iov_len;
    }
  return total;
}

static gboolean
on_socket_writable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  CvTlsStream *self = user_data;

  g_clear_pointer (&self->flush_source, g_source_unref);
  cv_tls_stream_send_pending (self);
  return G_SOURCE_REMOVE;
}

static void
stop_flushing (CvTlsStream *self)
{
  cv_source_clear (&self->flush_source);
}

/* Gives the socket what it takes now, and waits to give it the rest.  FALSE if the
 * socket failed (self->socket_error says why). */
gboolean
cv_tls_stream_send_pending (CvTlsStream *self)
{
  while (pending_out (self) > 0)
    {
      GError *error = NULL;
      gssize sent;

      if (self->socket_error != NULL)
        return FALSE;
      sent = g_socket_send_with_blocking (self->socket,
                                          (const char *) self->out_buffer->data + self->out_start,
                                          pending_out (self), FALSE, NULL, &error);
      if (sent < 0)
        {
          if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              /* A peer that refused us may have said why before it hung up. */
              self->socket_error = error;
              self->receive_after_error = TRUE;
              stop_flushing (self);
              return FALSE;
            }
          g_error_free (error);
          if (self->flush_source == NULL)
            {
              self->flush_source = g_socket_create_source (self->socket, G_IO_OUT, NULL);
              g_source_set_callback (self->flush_source, G_SOURCE_FUNC (on_socket_writable), self,
                                     NULL);
              cv_source_attach_io (self->flush_source, "[culvert] TLS flush", self->context);
            }
          return TRUE;
        }
      self->out_start += sent;
    }
  if (self->out_buffer->len > OUT_BUFFER_KEEP)
    {
      g_byte_array_unref (self->out_buffer);
      self->out_buffer = g_byte_array_new ();
    }
  else
    g_byte_array_set_size (self->out_buffer, 0);
  self->out_start = 0;
  stop_flushing (self);
  return TRUE;
}

/* ---- reading and writing ------------------------------------------------- */

static gboolean
check_ready (CvTlsStream *self, GError **error)
{
  if (!self->handshake_done)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED,
                           "the TLS handshake has not finished");
      return FALSE;
    }
  if (g_io_stream_is_closed (G_IO_STREAM (self)))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CLOSED, "the TLS stream is closed");
      return FALSE;
    }
  return TRUE;
}

static void
set_socket_error (CvTlsStream *self, GError **error)
{
  g_set_error (error, self->socket_error->domain, self->socket_error->code, "%s",
               self->socket_error->message);
}

/* A GnuTLS error in the words a link's log should carry. */
void
cv_tls_stream_set_tls_error (CvTlsStream *self, int code, GError **error)
{
  /* An alert says why the peer hung up, which a failed send after it does not. */
  if (self->socket_error != NULL && code != GNUTLS_E_FATAL_ALERT_RECEIVED)
    set_socket_error (self, error);
  else if (code == GNUTLS_E_PREMATURE_TERMINATION || code == GNUTLS_E_UNEXPECTED_PACKET_LENGTH)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                         "the peer closed the connection without ending TLS");
  else if (code == GNUTLS_E_FATAL_ALERT_RECEIVED
           && gnutls_alert_get (self->session) == GNUTLS_A_BAD_CERTIFICATE)
    /* In TLS 1.3 the client's handshake is over before the server has checked the
     * client's key: the refusal may come on the first read. */
    g_set_error (error, CV_TLS_ERROR, CV_TLS_ERROR_UNTRUSTED,
                 "%s refused our certificate (is the key the gateway announced for us the one "
                 "we have?)",
                 self->peer_name);
  else if (code == GNUTLS_E_FATAL_ALERT_RECEIVED
           && gnutls_alert_get (self->session) == GNUTLS_A_ACCESS_DENIED)
    /* What a share agent sends when our key is the one announced but not one it lists
     * (cv-tls-stream-handshake.c). */
    g_set_error (error, CV_TLS_ERROR, CV_TLS_ERROR_REFUSED_BY_PEER,
                 "%s refused our key: it is not one of the keys it authorizes "
                 "(its authorized_connect_keys)",
                 self->peer_name);
  else if (code == GNUTLS_E_FATAL_ALERT_RECEIVED)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "the peer ended TLS with an alert: %s",
                 gnutls_alert_get_name (gnutls_alert_get (self->session)));
  else
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "TLS: %s", gnutls_strerror (code));
}

/* Nothing is buffered from the socket: the input buffer goes until bytes come again. */
void
cv_tls_stream_release_idle_input (CvTlsStream *self)
{
  if (self->in_start == self->in_end)
    {
      g_clear_pointer (&self->in_buffer, g_free);
      self->in_start = self->in_end = 0;
    }
}

gssize
cv_tls_stream_read_nonblocking (CvTlsStream *self, void *buffer, gsize count, GError **error)
{
  gsize total = 0;

  if (!check_ready (self, error))
    return -1;
  if (self->read_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&self->read_error));
      return -1;
    }
  /* Several records per call: the caller's buffer is usually far larger than one. */
  while (total < count && !self->tls_eof)
    {
      ssize_t n = gnutls_record_recv (self->session, (char *) buffer + total, count - total);

      if (n > 0)
        total += n;
      else if (n == 0)
        self->tls_eof = TRUE;
      else if (n == GNUTLS_E_INTERRUPTED)
        continue;
      else if (n == GNUTLS_E_AGAIN && self->socket_error == NULL)
        {
          if (total > 0)
            break;
          /* Said without asking the socket if its last receive was short.  The next
           * call asks it again: the caller polls after WOULD_BLOCK, and readiness
           * is level-triggered, so bytes that came meanwhile are not missed. */
          self->socket_drained = FALSE;
          cv_tls_stream_release_idle_input (self);
          cv_tls_stream_send_pending (self); /* e.g. the answer to a KeyUpdate */
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK,
                               "no TLS record is complete yet");
          return -1;
        }
      else
        {
          if (total == 0)
            {
              cv_tls_stream_set_tls_error (self, n, error);
              return -1;
            }
          cv_tls_stream_set_tls_error (self, n, &self->read_error);
          break;
        }
    }
  if (pending_out (self) > 0)
    cv_tls_stream_send_pending (self);
  return total;
}

gssize
cv_tls_stream_write_nonblocking (CvTlsStream *self, const void *buffer, gsize count, GError **error)
{
  gsize written = 0;

  if (!check_ready (self, error))
    return -1;
  if (!cv_tls_stream_send_pending (self))
    {
      set_socket_error (self, error);
      return -1;
    }
  if (pending_out (self) >= OUT_HIGH_WATER)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK,
                           "the socket has not taken the last records yet");
      return -1;
    }
  if (self->out_start > 0)
    {
      g_byte_array_remove_range (self->out_buffer, 0, self->out_start);
      self->out_start = 0;
    }
  /* Room for this write's records at once: grown a record at a time, the buffer was
   * copied by realloc about as many bytes as it came to hold (4 % of a wss:// agent's
   * time).  Still given back once sent (send_pending). */
  if (self->out_buffer->len == 0 && count > RECORD_PAYLOAD)
    {
      gsize records = (MIN (count, OUT_HIGH_WATER) + RECORD_PAYLOAD - 1) / RECORD_PAYLOAD;

      g_byte_array_unref (self->out_buffer);
      self->out_buffer = g_byte_array_sized_new (records * (RECORD_PAYLOAD + RECORD_OVERHEAD));
    }
  while (written < count && pending_out (self) < OUT_HIGH_WATER)
    {
      ssize_t n = gnutls_record_send (self->session, (const char *) buffer + written,
                                      MIN (count - written, RECORD_PAYLOAD));

      if (n == GNUTLS_E_INTERRUPTED)
        continue;
      if (n < 0)
        {
          if (written > 0)
            break; /* GnuTLS keeps the error: the next write reports it */
          cv_tls_stream_set_tls_error (self, n, error);
          return -1;
        }
      written += n;
    }
  cv_tls_stream_send_pending (self); /* a failure shows on the next call */
  return written;
}

gboolean
cv_tls_stream_is_readable (CvTlsStream *self)
{
  return self->in_start < self->in_end || gnutls_record_check_pending (self->session) > 0
         || self->tls_eof || self->socket_eof || self->socket_error != NULL
         || self->read_error != NULL || !self->handshake_done;
}

gboolean
cv_tls_stream_is_writable (CvTlsStream *self)
{
  return pending_out (self) < OUT_HIGH_WATER || self->socket_error != NULL || !self->handshake_done;
}

GSource *
cv_tls_stream_create_source (CvTlsStream *self,
                             GObject *pollable,
                             GIOCondition condition,
                             GCancellable *cancellable)
{
  g_autoptr (GSource) socket_source = g_socket_create_source (self->socket, condition, NULL);
  gboolean ready = (condition & G_IO_IN) ? cv_tls_stream_is_readable (self)
                                         : cv_tls_stream_is_writable (self);
  GSource *source;

  /* The child is dispatched on its own too (with a dummy callback), and GLib blocks a
   * source that cannot recurse around that: its descriptor is removed and re-added,
   * two eventfd writes per wake-up.  Nothing dispatches it recursively. */
  g_source_set_can_recurse (socket_source, TRUE);
  source = g_pollable_source_new_full (pollable, socket_source, cancellable);

  /* Bytes already buffered make no socket readiness: say so ourselves. */
  if (ready)
    g_source_set_ready_time (source, 0);
  return source;
}

gboolean
cv_tls_stream_wait (CvTlsStream *self,
                    GIOCondition condition,
                    GCancellable *cancellable,
                    GError **error)
{
  return g_socket_condition_wait (self->socket, condition, cancellable, error);
}

gboolean
cv_tls_stream_flush_blocking (CvTlsStream *self, GCancellable *cancellable, GError **error)
{
  while (pending_out (self) > 0)
    {
      if (!cv_tls_stream_send_pending (self))
        {
          set_socket_error (self, error);
          return FALSE;
        }
      if (pending_out (self) > 0
          && !g_socket_condition_wait (self->socket, G_IO_OUT, cancellable, error))
        return FALSE;
    }
  return TRUE;
}

/* ---- GIOStream ----------------------------------------------------------- */

static GInputStream *
get_input_stream (GIOStream *stream)
{
  return CV_TLS_STREAM (stream)->input;
}

static GOutputStream *
get_output_stream (GIOStream *stream)
{
  return CV_TLS_STREAM (stream)->output;
}

/* close_notify goes into the output buffer. */
static void
begin_close (CvTlsStream *self)
{
  if (self->handshake_done && self->socket_error == NULL)
    gnutls_bye (self->session, GNUTLS_SHUT_WR);
  cv_tls_stream_send_pending (self);
}

static gboolean
end_close (CvTlsStream *self, GCancellable *cancellable, GError **error)
{
  stop_flushing (self);
  return g_io_stream_close (G_IO_STREAM (self->base), cancellable, error);
}

/* Synchronous: sends what the socket takes at once (this may run from dispose, on
 * the main loop); close_async waits for the rest. */
static gboolean
close_fn (GIOStream *stream, GCancellable *cancellable, GError **error)
{
  CvTlsStream *self = CV_TLS_STREAM (stream);

  begin_close (self);
  return end_close (self, cancellable, error);
}

typedef struct {
  GSource *writable;
  GSource *deadline;
} CloseDrain;

static void
close_drain_free (gpointer data)
{
  CloseDrain *drain = data;

  cv_source_clear (&drain->writable);
  cv_source_clear (&drain->deadline);
  g_free (drain);
}

static void
close_drain_end (GTask *task)
{
  CvTlsStream *self = g_task_get_source_object (task);
  GError *error = NULL;

  if (end_close (self, NULL, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
  g_object_unref (task);
}

static gboolean
on_close_writable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  GTask *task = user_data;
  CvTlsStream *self = g_task_get_source_object (task);

  if (cv_tls_stream_send_pending (self) && pending_out (self) > 0)
    return G_SOURCE_CONTINUE;
  close_drain_end (task);
  return G_SOURCE_REMOVE;
}

static gboolean
on_close_deadline (gpointer user_data)
{
  close_drain_end (user_data);
  return G_SOURCE_REMOVE;
}

static void
close_async (GIOStream *stream,
             int io_priority,
             GCancellable *cancellable,
             GAsyncReadyCallback callback,
             gpointer user_data)
{
  CvTlsStream *self = CV_TLS_STREAM (stream);
  GTask *task = g_task_new (stream, cancellable, callback, user_data);
  CloseDrain *drain;

  g_task_set_source_tag (task, close_async);
  begin_close (self);
  if (pending_out (self) == 0 || self->socket_error != NULL)
    {
      close_drain_end (task);
      return;
    }
  /* The last records (a GOAWAY, close_notify) still wait for the socket. */
  stop_flushing (self);
  drain = g_new0 (CloseDrain, 1);
  drain->writable = g_socket_create_source (self->socket, G_IO_OUT, NULL);
  g_source_set_callback (drain->writable, G_SOURCE_FUNC (on_close_writable), task, NULL);
  cv_source_attach_io (drain->writable, "[culvert] TLS close drain", g_task_get_context (task));
  drain->deadline = g_timeout_source_new (CLOSE_DRAIN_MS);
  g_source_set_callback (drain->deadline, on_close_deadline, task, NULL);
  g_source_set_static_name (drain->deadline, "[culvert] TLS close deadline");
  g_source_attach (drain->deadline, g_task_get_context (task));
  g_task_set_task_data (task, drain, close_drain_free);
}

static gboolean
close_finish (GIOStream *stream, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
cv_tls_stream_dispose (GObject *object)
{
  CvTlsStream *self = CV_TLS_STREAM (object);

  G_OBJECT_CLASS (cv_tls_stream_parent_class)->dispose (object); /* closes if still open */
  stop_flushing (self);
  if (self->input != NULL)
    cv_tls_input_stream_detach (CV_TLS_INPUT_STREAM (self->input));
  if (self->output != NULL)
    cv_tls_output_stream_detach (CV_TLS_OUTPUT_STREAM (self->output));
  g_clear_object (&self->input);
  g_clear_object (&self->output);
}

static void
cv_tls_stream_finalize (GObject *object)
{
  CvTlsStream *self = CV_TLS_STREAM (object);

  if (self->session != NULL)
    gnutls_deinit (self->session);
  if (self->credentials != NULL)
    gnutls_certificate_free_credentials (self->credentials);
  g_clear_object (&self->base);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->in_buffer);
  g_byte_array_unref (self->out_buffer);
  g_clear_error (&self->socket_error);
  g_clear_error (&self->read_error);
  g_clear_error (&self->refusal);
  g_clear_object (&self->database);
  g_free (self->server_name);
  g_free (self->pinned);
  g_free (self->peer_fingerprint);
  g_free (self->peer_name);
  g_free (self->pin_key);
  g_strfreev (self->authorized);
  g_free (self->authorized_key);
  g_free (self->alpn);
  g_free (self->negotiated);

  G_OBJECT_CLASS (cv_tls_stream_parent_class)->finalize (object);
}

static void
cv_tls_stream_class_init (CvTlsStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  object_class->dispose = cv_tls_stream_dispose;
  object_class->finalize = cv_tls_stream_finalize;
  stream_class->get_input_stream = get_input_stream;
  stream_class->get_output_stream = get_output_stream;
  stream_class->close_fn = close_fn;
  stream_class->close_async = close_async;
  stream_class->close_finish = close_finish;
}

static void
cv_tls_stream_init (CvTlsStream *self)
{
  self->out_buffer = g_byte_array_new ();
}

gboolean
cv_tls_stream_gnutls_ok (int ret, const char *what, GError **error)
{
  if (ret >= 0)
    return TRUE;
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "TLS set-up failed (%s): %s", what,
               gnutls_strerror (ret));
  return FALSE;
}

/* The certificate and the issuers it came with (a Let's Encrypt fullchain): a peer
 * that validates against its CA store needs the intermediates. */
static char *
chain_pem (GTlsCertificate *certificate)
{
  GString *chain = g_string_new (NULL);

  for (GTlsCertificate *link = certificate; link != NULL;
       link = g_tls_certificate_get_issuer (link))
    {
      g_autofree char *pem = NULL;

      g_object_get (link, "certificate-pem", &pem, NULL);
      if (pem == NULL)
        break;
      g_string_append (chain, pem);
      if (chain->len > 0 && chain->str[chain->len - 1] != '\n')
        g_string_append_c (chain, '\n');
    }
  if (chain->len == 0)
    {
      g_string_free (chain, TRUE);
      return NULL;
    }
  return g_string_free (chain, FALSE);
}

/**
 * cv_tls_stream_new:
 * @base: a connected TCP socket; the stream owns it and closes it
 * @identity: (nullable): our key and certificate, presented to the peer; %NULL only
 *   on a client that has none to present (the agents' outer TLS)
 *
 * The handshake comes next: cv_tls_stream_handshake_async().
 */
CvTlsStream *
cv_tls_stream_new (GSocketConnection *base,
                   gboolean is_server,
                   CvIdentity *identity,
                   GError **error)
{
  g_autoptr (CvTlsStream) self = NULL;
  g_autofree char *cert_pem = NULL;
  g_autofree char *key_pem = NULL;
  gnutls_datum_t cert_datum, key_datum;
  const char *error_position = NULL;

  g_return_val_if_fail (G_IS_SOCKET_CONNECTION (base), NULL);
  g_return_val_if_fail (identity == NULL ? !is_server : CV_IS_IDENTITY (identity), NULL);

  self = g_object_new (CV_TYPE_TLS_STREAM, NULL);
  self->base = g_object_ref (base);
  self->socket = g_socket_connection_get_socket (base);
  self->context = g_main_context_ref_thread_default ();
  self->is_server = is_server;

  if (!cv_tls_stream_gnutls_ok (gnutls_certificate_allocate_credentials (&self->credentials),
                                "credentials", error))
    return NULL;
  if (identity != NULL)
    {
      cert_pem = chain_pem (cv_identity_get_certificate (identity));
      g_object_get (cv_identity_get_certificate (identity), "private-key-pem", &key_pem, NULL);
      if (cert_pem == NULL || key_pem == NULL)
        {
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                               "TLS set-up failed: our certificate has no private key");
          return NULL;
        }
      cert_datum.data = (guint8 *) cert_pem;
      cert_datum.size = strlen (cert_pem);
      key_datum.data = (guint8 *) key_pem;
      key_datum.size = strlen (key_pem);
      if (!cv_tls_stream_gnutls_ok (gnutls_certificate_set_x509_key_mem2 (self->credentials,
                                                                          &cert_datum, &key_datum,
                                                                          GNUTLS_X509_FMT_PEM, NULL,
                                                                          0),
                                    "our key", error))
        return NULL;
    }
  if (!cv_tls_stream_gnutls_ok (gnutls_init (&self->session,
                                             (is_server ? GNUTLS_SERVER : GNUTLS_CLIENT)
                                               | GNUTLS_NO_SIGNAL | GNUTLS_NO_TICKETS),
                                "session", error)
      || !cv_tls_stream_gnutls_ok (gnutls_priority_set_direct (self->session, PRIORITY,
                                                               &error_position),
                                   "priorities", error)
      || !cv_tls_stream_gnutls_ok (gnutls_credentials_set (self->session, GNUTLS_CRD_CERTIFICATE,
                                                           self->credentials),
                                   "credentials", error))
    return NULL;
  if (is_server)
    gnutls_certificate_server_set_request (self->session, GNUTLS_CERT_REQUIRE);
  gnutls_session_set_ptr (self->session, self);
  gnutls_transport_set_ptr (self->session, self);
  gnutls_transport_set_pull_function (self->session, pull);
  gnutls_transport_set_vec_push_function (self->session, vec_push);

  self->input = cv_tls_input_stream_new (self);
  self->output = cv_tls_output_stream_new (self);
  return g_steal_pointer (&self);
}

/**
 * cv_tls_stream_set_also_http:
 * @also_http: whether this server also takes HTTPS clients on its port
 *
 * Before the handshake, on a server.  The gateway's port takes agents and HTTPS
 * WebSocket clients alike, told apart by ALPN: the handshake then offers its ALPN and
 * %CV_TLS_ALPN_HTTP, makes neither mandatory (Node's ws and curl may offer none), and
 * asks for a client certificate without requiring one.  An agent that chose the
 * handshake's ALPN must still present one; a client of the other kind need not.
 * cv_tls_stream_get_negotiated_protocol() then says which it was.
 */
void
cv_tls_stream_set_also_http (CvTlsStream *self, gboolean also_http)
{
  g_return_if_fail (CV_IS_TLS_STREAM (self));
  g_return_if_fail (self->is_server && !self->handshake_done);

  self->also_http = also_http;
  gnutls_certificate_server_set_request (self->session,
                                         also_http ? GNUTLS_CERT_REQUEST : GNUTLS_CERT_REQUIRE);
}

/**
 * cv_tls_stream_set_server_name:
 * @server_name: (nullable): the server's host name or address
 *
 * Before the handshake, on a client: the name sent as SNI (not an IP address, as
 * RFC 6066 wants) and, with a %CV_TLS_PEER_CHECK_SYSTEM_CA check, the name the
 * server's certificate must be issued for.  Unset, a tunnel's fixed SNI.
 */
void
cv_tls_stream_set_server_name (CvTlsStream *self, const char *server_name)
{
  g_return_if_fail (CV_IS_TLS_STREAM (self));
  g_return_if_fail (!self->is_server && !self->handshake_done);

  g_free (self->server_name);
  self->server_name = g_strdup (server_name);
}

/**
 * cv_tls_stream_get_negotiated_protocol:
 *
 * Returns: (nullable): the application protocol ALPN chose, once the handshake is
 *   done; %NULL if there was none
 */
const char *
cv_tls_stream_get_negotiated_protocol (CvTlsStream *self)
{
  g_return_val_if_fail (CV_IS_TLS_STREAM (self), NULL);

  return self->handshake_done ? self->negotiated : NULL;
}

const char *
cv_tls_stream_get_cipher_suite (CvTlsStream *self)
{
  g_return_val_if_fail (CV_IS_TLS_STREAM (self), NULL);

  if (!self->handshake_done)
    return NULL;
  return gnutls_cipher_get_name (gnutls_cipher_get (self->session));
}
