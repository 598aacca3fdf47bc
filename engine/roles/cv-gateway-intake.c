/* cv-gateway-intake.c: new connections on the gateway's port, until they are a control
 * link or a tunnel half.
 *
 * One port takes both kinds of connection; the first byte tells them apart: 0x16 opens
 * a TLS handshake (a control link), 'C' a tunnel preface.  A connection that is
 * neither, or that says nothing within the handshake deadline, is closed.  Each one
 * holds an admission slot (auth/cv-admission) until it is welcomed or gone.
 *
 * With "websocket" on, the TLS handshake also takes HTTPS clients: ALPN culvert/1 is a
 * control link as ever, anything else goes to the web side (cv-gateway-web.c), whose
 * upgraded WebSockets come back here as the bridge's inner end, to be told apart by
 * their first byte in the same way.
 */
#include "roles/cv-gateway-private.h"

#include "base/cv-source.h"
#include "transport/cv-tls-stream.h"
#include "wire/cv-control.h"
#include "wire/cv-ticket.h"

#include <gio/gnetworking.h>

/* A connection whose first bytes have not been read yet. */
typedef struct {
  CvGateway *gateway;
  GSocketConnection *connection;
  GSource *source;
  GSource *timer;
  char preface[CV_TUNNEL_PREFACE_LENGTH];
  gsize preface_len;
  CvAdmissionSlot *slot;
  GInetAddress *address; /* the peer's: the TCP peer's, or the WebSocket client's */
  char *remote;          /* the same as text, for the logs */
  gint64 accepted_us;    /* monotonic */
  gboolean in_websocket; /* a bridge's inner end: what a WebSocket carries */
} Pending;

typedef struct {
  CvGateway *gateway;
  GInetAddress *remote;
  CvAdmissionSlot *slot;
  GSocket *socket;
  gint64 accepted_us;
  gboolean also_http; /* the handshake also took HTTPS clients */
} Handshake;

static void
handshake_free (Handshake *handshake)
{
  cv_admission_slot_release (handshake->slot);
  g_object_unref (handshake->remote);
  g_object_unref (handshake->socket);
  g_object_unref (handshake->gateway);
  g_free (handshake);
}

static void
on_tls_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Handshake *handshake = user_data;
  CvGateway *self = handshake->gateway;
  g_autoptr (GError) error = NULL;
  g_autoptr (CvTlsStream) tls = CV_TLS_STREAM (source);
  g_autofree char *remote = g_inet_address_to_string (handshake->remote);
  CvGatewayLink *link;
  const char *fingerprint;
  CV_GATEWAY_ON_ITS_CONTEXT (self);

  if (!cv_tls_stream_handshake_finish (tls, result, &error))
    {
      if (g_error_matches (error, CV_TLS_ERROR, CV_TLS_ERROR_HUNG_UP_ON_CERTIFICATE))
        /* The operator's next step: compare the agent's pin with this key. */
        cv_log_summary_note (self->junk, CV_GATEWAY_JUNK_TLS_FAILED,
                             "%s: TLS handshake failed: the agent hung up on this gateway's "
                             "certificate: most likely its gateway_fingerprint is not this "
                             "gateway's key, %s (culvert-cli fingerprint prints it)",
                             remote, cv_identity_get_fingerprint (self->identity));
      else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->links != NULL)
        cv_log_summary_note (self->junk, CV_GATEWAY_JUNK_TLS_FAILED, "%s: TLS handshake failed: %s",
                             remote, error->message);
      g_io_stream_close (G_IO_STREAM (tls), NULL, NULL);
      goto out;
    }
  if (handshake->also_http
      && g_strcmp0 (cv_tls_stream_get_negotiated_protocol (tls), CV_TLS_ALPN) != 0)
    {
      /* HTTPS (http/1.1 or no ALPN): a WebSocket upgrade, within what is left of the
       * deadline that began at accept. */
      cv_gateway_web_take (self, G_IO_STREAM (tls), handshake->socket, handshake->remote,
                           g_steal_pointer (&handshake->slot),
                           handshake->accepted_us
                             + (gint64) self->config->limits.handshake_timeout_ms * 1000);
      goto out;
    }
  /* The handshake required a certificate of an agent: there is a fingerprint. */
  fingerprint = cv_tls_stream_get_peer_fingerprint (tls);
  link = cv_gateway_link_new (G_IO_STREAM (tls), handshake->remote, fingerprint, &self->mux_config,
                              self->config->limits.handshake_timeout_ms,
                              self->config->limits.max_control_output_bytes);
  g_object_set_data_full (G_OBJECT (link), "cv-admission-slot", g_steal_pointer (&handshake->slot),
                          (GDestroyNotify) cv_admission_slot_release);
  cv_gateway_add_link (self, link);
  cv_gateway_link_start (link);

out:
  handshake_free (handshake);
}

void
cv_gateway_pending_free (gpointer data)
{
  Pending *pending = data;

  cv_source_clear (&pending->timer);
  cv_source_clear (&pending->source);
  g_clear_object (&pending->connection);
  cv_admission_slot_release (pending->slot);
  g_object_unref (pending->address);
  g_free (pending->remote);
  g_free (pending);
}

/* The TCP peer's address; "any" (0.0.0.0) if the socket cannot say. */
GInetAddress *
cv_gateway_remote_address_of (GSocketConnection *connection)
{
  g_autoptr (GSocketAddress) address = g_socket_connection_get_remote_address (connection, NULL);

  if (G_IS_INET_SOCKET_ADDRESS (address))
    return g_object_ref (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)));
  return g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
}

/* Drop a pending connection: @keep_open when it moves on to TLS or a rendezvous. */
static void
pending_done (Pending *pending, gboolean keep_open)
{
  CvGateway *self = pending->gateway;

  if (!keep_open)
    g_io_stream_close (G_IO_STREAM (pending->connection), NULL, NULL);
  g_hash_table_remove (self->pending, pending);
}

static gboolean
on_pending_timeout (gpointer user_data)
{
  Pending *pending = user_data;
  CV_GATEWAY_ON_ITS_CONTEXT (pending->gateway);

  g_clear_pointer (&pending->timer, g_source_unref);
  cv_log_summary_note (pending->gateway->junk, CV_GATEWAY_JUNK_SILENT,
                       "%s: nothing useful within the handshake deadline; closing",
                       pending->remote);
  pending_done (pending, FALSE);
  return G_SOURCE_REMOVE;
}

static void
start_tls (Pending *pending)
{
  CvGateway *self = pending->gateway;
  Handshake *handshake;
  g_autoptr (GError) error = NULL;
  CvTlsStream *tls = cv_tls_stream_new (pending->connection, TRUE, self->identity, &error);

  if (tls == NULL)
    {
      g_warning ("%s: %s", pending->remote, error->message);
      g_io_stream_close (G_IO_STREAM (pending->connection), NULL, NULL);
      return;
    }
  handshake = g_new0 (Handshake, 1);

  handshake->gateway = g_object_ref (self);
  handshake->remote = g_object_ref (pending->address);
  handshake->slot = g_steal_pointer (&pending->slot);
  handshake->socket = g_object_ref (g_socket_connection_get_socket (pending->connection));
  handshake->accepted_us = pending->accepted_us;
  /* Not inside a WebSocket: what it carries is an agent's, as on the raw port. */
  handshake->also_http = self->config->websocket && !pending->in_websocket;
  if (handshake->also_http)
    cv_tls_stream_set_also_http (tls, TRUE);
  /* The link's own HELLO deadline takes over once TLS is up. */
  /* Any client certificate will do: it is the agent's key, which the gateway only
   * records and announces; the password authenticates.  GnuTLS driven directly: no
   * worker thread per handshake (glib-networking's GTlsConnection runs each one on
   * a thread of GLib's pool, so stalled handshakes held up the rest). */
  cv_tls_stream_handshake_async (tls, NULL, CV_TLS_ALPN, self->config->limits.handshake_timeout_ms,
                                 self->stop_cancellable, on_tls_done, handshake);
}

static gboolean on_pending_readable (GSocket *socket, GIOCondition condition, gpointer user_data);

static void
watch_pending (Pending *pending)
{
  GSocket *socket = g_socket_connection_get_socket (pending->connection);

  cv_source_clear (&pending->source);
  pending->source = g_socket_create_source (socket, G_IO_IN, NULL);
  g_source_set_callback (pending->source, G_SOURCE_FUNC (on_pending_readable), pending, NULL);
  g_source_set_static_name (pending->source, "[culvert] gateway sniff");
  g_source_attach (pending->source, pending->gateway->context);
}

static gboolean
on_pending_readable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  Pending *pending = user_data;
  CvGateway *self = pending->gateway;
  const char *remote = pending->remote;
  g_autoptr (GError) error = NULL;
  gssize n;
  CV_GATEWAY_ON_ITS_CONTEXT (self);

  g_clear_pointer (&pending->source, g_source_unref);

  if (pending->preface_len == 0)
    {
      guint8 first = 0;

      /* Peek, so a TLS handshake finds its ClientHello intact. */
      n = recv (g_socket_get_fd (socket), (char *) &first, 1, MSG_PEEK);
      if (n <= 0)
        {
          pending_done (pending, FALSE);
          return G_SOURCE_REMOVE;
        }
      if (first == CV_GATEWAY_TLS_RECORD_HANDSHAKE)
        {
          /* From here the TLS handshake's own deadline applies. */
          cv_source_clear (&pending->timer);
          start_tls (pending);
          pending_done (pending, TRUE);
          return G_SOURCE_REMOVE;
        }
      if (first != CV_TUNNEL_PREFACE_PREFIX[0])
        {
          cv_log_summary_note (self->junk, CV_GATEWAY_JUNK_NOT_AGENT,
                               "%s: not a Culvert agent (first byte 0x%02x); closing", remote,
                               first);
          pending_done (pending, FALSE);
          return G_SOURCE_REMOVE;
        }
    }

  n = g_socket_receive (socket, pending->preface + pending->preface_len,
                        sizeof pending->preface - pending->preface_len, NULL, &error);
  if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    {
      watch_pending (pending);
      return G_SOURCE_REMOVE;
    }
  if (n <= 0)
    {
      pending_done (pending, FALSE);
      return G_SOURCE_REMOVE;
    }
  pending->preface_len += n;
  if (pending->preface_len < sizeof pending->preface)
    {
      watch_pending (pending);
      return G_SOURCE_REMOVE;
    }

  {
    g_autofree char *ticket = cv_tunnel_preface_parse (pending->preface, pending->preface_len,
                                                       &error);

    if (ticket == NULL)
      {
        cv_log_summary_note (self->junk, CV_GATEWAY_JUNK_BAD_PREFACE, "%s: %s; closing", remote,
                             error->message);
        pending_done (pending, FALSE);
        return G_SOURCE_REMOVE;
      }
    cv_gateway_accept_tunnel_half (self, pending->connection, ticket, remote);
    pending_done (pending, TRUE);
  }
  return G_SOURCE_REMOVE;
}

/**
 * cv_gateway_take_connection:
 * @connection: a new connection: TCP, or the inner end of a WebSocket bridge
 * @address: whose it is, for the limits and the logs: the TCP peer, or the WebSocket
 *   client (a socket pair's own peer address says nothing)
 * @in_websocket: @connection is what a WebSocket carries (the bridge's inner end)
 *
 * Its first bytes decide what it is, within the handshake deadline.
 */
void
cv_gateway_take_connection (CvGateway *self,
                            GSocketConnection *connection,
                            GInetAddress *address,
                            gboolean in_websocket)
{
  GSocket *socket = g_socket_connection_get_socket (connection);
  Pending *pending;

  g_autofree char *remote = g_inet_address_to_string (address);
  g_autoptr (GError) error = NULL;
  CvAdmissionSlot *slot;

  if (self->links->len >= self->config->limits.max_links)
    {
      cv_log_summary_note (self->junk, CV_GATEWAY_JUNK_REFUSED,
                           "%s: refused: the gateway has its maximum of %u links", remote,
                           self->config->limits.max_links);
      return; /* dropping our reference closes it */
    }
  slot = cv_admission_take (self->admission, address, &error);
  if (slot == NULL)
    {
      cv_log_summary_note (self->junk, CV_GATEWAY_JUNK_REFUSED, "%s: refused: %s", remote,
                           error->message);
      return;
    }

  g_socket_set_blocking (socket, FALSE);
  if (g_socket_get_family (socket) != G_SOCKET_FAMILY_UNIX)
    {
      g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
      g_socket_set_keepalive (socket, TRUE);
    }
  pending = g_new0 (Pending, 1);
  pending->slot = slot;
  pending->address = g_object_ref (address);
  pending->remote = g_steal_pointer (&remote);
  pending->accepted_us = g_get_monotonic_time ();
  pending->in_websocket = in_websocket;
  pending->gateway = self;
  pending->connection = g_object_ref (connection);
  pending->timer = cv_gateway_add_timeout (self, self->config->limits.handshake_timeout_ms,
                                           on_pending_timeout, pending);
  g_hash_table_add (self->pending, pending);
  watch_pending (pending);
}

/* GSocketService's "incoming": its accept is a GTask started on the gateway's context
 * (cv_gateway_start()), and GTask calls back with that context pushed, so the next
 * accept it queues after this returns is on it too. */
void
cv_gateway_on_incoming (CvAcceptor *acceptor, GSocketConnection *connection, gpointer user_data)
{
  CvGateway *self = user_data;
  CV_GATEWAY_ON_ITS_CONTEXT (self);

  /* What is not taken closes when the acceptor drops its reference. */
  if (!self->shutting_down)
    {
      g_autoptr (GInetAddress) address = cv_gateway_remote_address_of (connection);

      cv_gateway_take_connection (self, connection, address, FALSE);
    }
}

/* cv_gateway_stop(): connections not sniffed yet are closed. */
void
cv_gateway_drop_pending (CvGateway *self)
{
  GHashTableIter iter;
  gpointer pending;

  g_hash_table_iter_init (&iter, self->pending);
  while (g_hash_table_iter_next (&iter, &pending, NULL))
    {
      g_io_stream_close (G_IO_STREAM (((Pending *) pending)->connection), NULL, NULL);
      g_hash_table_iter_remove (&iter);
    }
}
