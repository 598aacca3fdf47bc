/* cv-gateway-web.c: the gateway's web side — HTTP up to a WebSocket upgrade on
 * websocket_path, then the upgraded connection, as the bridge's inner end, back to the
 * intake.
 *
 * Two kinds of connection come here: HTTPS from the TLS port (the intake's handshake
 * chose http/1.1 or no ALPN), and plain HTTP accepted on websocket_listen, for a reverse
 * proxy that terminates TLS.  One SoupServer parses both (soup_server_accept_iostream()).
 * The upgrade is completed the way soup_server_add_websocket_handler() completes its
 * own — process the handshake, steal the connection once the 101 is written — but with
 * no extension ever accepted, and the stolen stream goes to the bridge
 * (transport/cv-ws-bridge.h), whose inner end the intake takes as a connection from the
 * WebSocket's client: its first byte decides, as on the raw port, whether it is a
 * control link or a tunnel half.
 *
 * Until its upgrade a connection holds an admission slot, and the handshake deadline
 * from its accept bounds it: libsoup does not time out a silent client by itself, so
 * past the deadline its socket is shut down, which libsoup takes for the end of the
 * connection.  The SoupServer has no listener of its own and so keeps no connection
 * alive: a request that is no upgrade of ours gets its answer (404, 426, 400) and the
 * connection closes.
 */
#include "roles/cv-gateway-private.h"

#include "base/cv-listen.h"
#include "base/cv-log-escape.h"
#include "base/cv-source.h"
#include "transport/cv-ws-bridge.h"

#include <gio/gnetworking.h>
#include <string.h>

/* A connection on the web side, until its upgrade or its end. */
typedef struct {
  CvGateway *gateway;
  GSocketAddress *key;   /* what the SoupServer was given as its remote address: each of
                          * its messages leads back here by it */
  GIOStream *stream;     /* weak: the SoupServer holds it until the upgrade */
  GSocket *socket;       /* under @stream, shut down at the deadline */
  GInetAddress *address; /* whose it is: the peer, or the client a trusted proxy names */
  char *remote;          /* the same as text, for the logs */
  gboolean from_proxy;   /* on websocket_listen, from a websocket_trusted_proxies address */
  CvAdmissionSlot *slot;
  GSource *deadline;
  GSource *sniff; /* websocket_listen: the first byte, looked at before libsoup reads it */
} WebPending;

static void on_stream_gone (gpointer data, GObject *where_the_object_was);

static void
web_pending_free (gpointer data)
{
  WebPending *pending = data;

  if (pending->stream != NULL)
    g_object_weak_unref (G_OBJECT (pending->stream), on_stream_gone, pending);
  cv_source_clear (&pending->deadline);
  cv_source_clear (&pending->sniff);
  cv_admission_slot_release (pending->slot);
  g_object_unref (pending->key);
  g_object_unref (pending->socket);
  g_object_unref (pending->address);
  g_free (pending->remote);
  g_free (pending);
}

/* The SoupServer let go of the connection (answered, or the client went): its slot
 * is free. */
static void
on_stream_gone (gpointer data, GObject *where_the_object_was)
{
  WebPending *pending = data;

  pending->stream = NULL;
  g_hash_table_remove (pending->gateway->web_pending, pending->key);
}

static WebPending *
lookup (CvGateway *self, SoupServerMessage *msg)
{
  return g_hash_table_lookup (self->web_pending, soup_server_message_get_remote_address (msg));
}

static gboolean
on_deadline (gpointer user_data)
{
  WebPending *pending = user_data;
  CvGateway *self = pending->gateway;
  CV_GATEWAY_ON_ITS_CONTEXT (self);

  g_clear_pointer (&pending->deadline, g_source_unref);
  cv_log_summary_note (self->junk, CV_GATEWAY_JUNK_SILENT,
                       "%s: no WebSocket upgrade within the handshake deadline; closing",
                       pending->remote);
  /* Shut down, not closed: libsoup still polls the descriptor, which must not be
   * reused under it.  It reads the end of the stream and lets go. */
  g_socket_shutdown (pending->socket, TRUE, TRUE, NULL);
  g_hash_table_remove (self->web_pending, pending->key);
  return G_SOURCE_REMOVE;
}

/* A TLS ClientHello on the plain listener is an agent given websocket_listen's address
 * as its host:port: libsoup would wait the whole deadline for a request line that never
 * comes, and the agent would learn nothing.  Said at once instead.  It runs before
 * libsoup's own watch on the socket (a higher priority) and only peeks. */
static gboolean
on_first_byte (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  WebPending *pending = user_data;
  CvGateway *self = pending->gateway;
  guint8 first = 0;
  CV_GATEWAY_ON_ITS_CONTEXT (self);

  g_clear_pointer (&pending->sniff, g_source_unref);
  if (recv (g_socket_get_fd (socket), (char *) &first, 1, MSG_PEEK) == 1
      && first == CV_GATEWAY_TLS_RECORD_HANDSHAKE)
    {
      cv_log_summary_note (self->junk, CV_GATEWAY_JUNK_NOT_UPGRADE,
                           "%s: a TLS handshake on websocket_listen, which takes plain HTTP "
                           "WebSocket upgrades (from a reverse proxy, or ws:// URLs); agents "
                           "reach this gateway's TLS port as host:port or wss://; closing",
                           pending->remote);
      /* As at the deadline: libsoup reads the end of the stream and lets go. */
      g_socket_shutdown (pending->socket, TRUE, TRUE, NULL);
    }
  return G_SOURCE_REMOVE;
}

static void
add_connection (CvGateway *self,
                GIOStream *stream,
                GSocket *socket,
                GInetAddress *address,
                gboolean from_proxy,
                CvAdmissionSlot *slot,
                gint64 deadline_us,
                gboolean plain)
{
  g_autoptr (GSocketAddress) local = g_socket_get_local_address (socket, NULL);
  gint64 left_us = MAX (deadline_us - g_get_monotonic_time (), 0);
  g_autoptr (GError) error = NULL;
  WebPending *pending;

  if (self->web == NULL || self->shutting_down)
    {
      cv_admission_slot_release (slot);
      g_io_stream_close (stream, NULL, NULL);
      return;
    }
  pending = g_new0 (WebPending, 1);
  pending->gateway = self;
  /* A new object each time: the SoupServer hands back this very pointer. */
  pending->key = g_inet_socket_address_new (address, 0);
  pending->stream = stream;
  pending->socket = g_object_ref (socket);
  pending->address = g_object_ref (address);
  pending->remote = g_inet_address_to_string (address);
  pending->from_proxy = from_proxy;
  pending->slot = slot;
  pending->deadline = cv_gateway_add_timeout (self, (guint) (left_us / 1000), on_deadline, pending);
  if (plain)
    {
      pending->sniff = g_socket_create_source (socket, G_IO_IN, NULL);
      g_source_set_priority (pending->sniff, G_PRIORITY_HIGH);
      g_source_set_callback (pending->sniff, G_SOURCE_FUNC (on_first_byte), pending, NULL);
      g_source_set_static_name (pending->sniff, "[culvert] websocket_listen sniff");
      g_source_attach (pending->sniff, self->context);
    }
  g_hash_table_insert (self->web_pending, pending->key, pending);
  g_object_weak_ref (G_OBJECT (stream), on_stream_gone, pending);
  /* It never fails in libsoup 3.2; if it ever does, the deadline ends the connection. */
  if (!soup_server_accept_iostream (self->web, stream, local != NULL ? local : pending->key,
                                    pending->key, &error))
    g_message ("%s: HTTP: %s", pending->remote, error->message);
}

/**
 * cv_gateway_web_take:
 * @stream: an HTTPS connection from the TLS port, its handshake done
 * @socket: the TCP socket under it
 * @address: the peer's
 * @slot: (transfer full): the admission slot it holds since its accept
 * @deadline_us: when its upgrade must be done (monotonic)
 */
void
cv_gateway_web_take (CvGateway *self,
                     GIOStream *stream,
                     GSocket *socket,
                     GInetAddress *address,
                     CvAdmissionSlot *slot,
                     gint64 deadline_us)
{
  add_connection (self, stream, socket, address, FALSE, slot, deadline_us, FALSE);
}

static gboolean
is_trusted_proxy (CvGateway *self, GInetAddress *address)
{
  GPtrArray *proxies = self->config->websocket_trusted_proxies;

  for (guint i = 0; i < proxies->len; i++)
    {
      g_autoptr (GInetAddress) trusted = g_inet_address_new_from_string (proxies->pdata[i]);

      if (trusted != NULL && g_inet_address_equal (trusted, address))
        return TRUE;
    }
  return FALSE;
}

/* websocket_listen: the same refusals as the raw port's (intake), before any byte. */
static void
on_web_incoming (CvAcceptor *acceptor, GSocketConnection *connection, gpointer user_data)
{
  CvGateway *self = user_data;
  GSocket *socket = g_socket_connection_get_socket (connection);
  g_autoptr (GInetAddress) address = NULL;
  g_autofree char *remote = NULL;
  g_autoptr (GError) error = NULL;
  gboolean from_proxy;
  CvAdmissionSlot *slot;
  CV_GATEWAY_ON_ITS_CONTEXT (self);

  if (self->shutting_down)
    return; /* dropping the acceptor's reference closes it */
  address = cv_gateway_remote_address_of (connection);
  remote = g_inet_address_to_string (address);
  if (self->links->len >= self->config->limits.max_links)
    {
      cv_log_summary_note (self->junk, CV_GATEWAY_JUNK_REFUSED,
                           "%s: refused: the gateway has its maximum of %u links", remote,
                           self->config->limits.max_links);
      return;
    }
  /* Whose a proxied connection is, its request says: until then it counts overall,
   * not against the proxy's address, which every client behind it shares. */
  from_proxy = is_trusted_proxy (self, address);
  slot = from_proxy ? cv_admission_take_unsourced (self->admission, &error)
                    : cv_admission_take (self->admission, address, &error);
  if (slot == NULL)
    {
      cv_log_summary_note (self->junk, CV_GATEWAY_JUNK_REFUSED, "%s: refused: %s", remote,
                           error->message);
      return;
    }
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  add_connection (self, G_IO_STREAM (connection), socket, address, from_proxy, slot,
                  g_get_monotonic_time ()
                    + (gint64) self->config->limits.handshake_timeout_ms * 1000,
                  TRUE);
}

/* An answer that is no upgrade; the connection closes after it. */
static void
respond (SoupServerMessage *msg, guint status, const char *body)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  /* libsoup 3.2 has no phrase for 426. */
  soup_server_message_set_status (msg, status, status == 426 ? "Upgrade Required" : NULL);
  soup_message_headers_replace (headers, "Connection", "close");
  soup_server_message_set_response (msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, body,
                                    strlen (body));
}

static void
note_request (CvGateway *self, WebPending *pending, SoupServerMessage *msg, const char *why)
{
  const char *method = soup_server_message_get_method (msg);
  g_autofree char *said_method = cv_log_escape (method != NULL ? method : "", -1);
  g_autofree char *said_path = cv_log_escape (g_uri_get_path (soup_server_message_get_uri (msg)),
                                              -1);

  cv_log_summary_note (self->junk, CV_GATEWAY_JUNK_NOT_UPGRADE, "%s: HTTP %s %s: %s; closing",
                       pending->remote, said_method, said_path, why);
}

/* The last X-Forwarded-For entry, the one the trusted proxy itself added; NULL if there
 * is none or it is not an IP address. */
static GInetAddress *
forwarded_for (SoupServerMessage *msg)
{
  const char *list = soup_message_headers_get_list (soup_server_message_get_request_headers (msg),
                                                    "X-Forwarded-For");
  const char *last;
  g_autofree char *text = NULL;

  if (list == NULL)
    return NULL;
  last = strrchr (list, ',');
  text = g_strstrip (g_strdup (last != NULL ? last + 1 : list));
  return g_inet_address_new_from_string (text);
}

/* A proxied connection's source, from its request; FALSE (answered) if that source
 * has its most unauthenticated connections already. */
static gboolean
take_forwarded_source (CvGateway *self, WebPending *pending, SoupServerMessage *msg)
{
  g_autoptr (GInetAddress) client = forwarded_for (msg);
  g_autoptr (GError) error = NULL;

  if (client != NULL)
    {
      g_set_object (&pending->address, client);
      g_free (pending->remote);
      pending->remote = g_inet_address_to_string (client);
    }
  else
    g_debug ("%s: no X-Forwarded-For with an IP address from this proxy: the connection is "
             "counted as the proxy's own",
             pending->remote);
  if (!cv_admission_slot_set_source (pending->slot, pending->address, &error))
    {
      cv_log_summary_note (self->junk, CV_GATEWAY_JUNK_REFUSED, "%s: refused: %s", pending->remote,
                           error->message);
      respond (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "Too many connections from this address.\n");
      return FALSE;
    }
  return TRUE;
}

/* The 101 is written: from here the connection carries WebSocket frames. */
static void
on_upgraded (SoupServerMessage *msg, gpointer user_data)
{
  CvGateway *self = user_data;
  g_autoptr (GIOStream) upgraded = NULL;
  g_autoptr (GSocketConnection) inner = NULL;
  g_autoptr (GInetAddress) address = NULL;
  g_autofree char *remote = NULL;
  g_autoptr (GError) error = NULL;
  CvWsBridgeOptions options;
  WebPending *pending;
  CV_GATEWAY_ON_ITS_CONTEXT (self);

  if (soup_server_message_get_status (msg) != SOUP_STATUS_SWITCHING_PROTOCOLS)
    return; /* a 100 Continue */
  pending = lookup (self, msg);
  upgraded = soup_server_message_steal_connection (msg);
  if (upgraded == NULL)
    return;
  if (pending == NULL || self->shutting_down)
    {
      g_io_stream_close (upgraded, NULL, NULL);
      return;
    }
  address = g_object_ref (pending->address);
  remote = g_strdup (pending->remote);
  /* Its slot goes; the inner end takes one of its own at the intake. */
  g_hash_table_remove (self->web_pending, pending->key);

  cv_ws_bridge_options_init (&options);
  options.is_client = FALSE;
  options.max_message_bytes = self->config->limits.max_websocket_message_bytes;
  options.ping_interval_ms = self->config->limits.websocket_ping_interval_ms;
  options.pong_timeout_ms = self->config->limits.websocket_pong_timeout_ms;
  options.peer_name = remote;
  g_debug ("%s: upgraded stream %s, input %s (base %s), output %s", remote,
           G_OBJECT_TYPE_NAME (upgraded),
           G_OBJECT_TYPE_NAME (g_io_stream_get_input_stream (upgraded)),
           G_IS_FILTER_INPUT_STREAM (g_io_stream_get_input_stream (upgraded))
             ? G_OBJECT_TYPE_NAME (g_filter_input_stream_get_base_stream (
               G_FILTER_INPUT_STREAM (g_io_stream_get_input_stream (upgraded))))
             : "-",
           G_OBJECT_TYPE_NAME (g_io_stream_get_output_stream (upgraded)));
  /* What libsoup read past the request is in @upgraded's input already. */
  inner = cv_ws_bridge_start (upgraded, NULL, &options, self->context, &error);
  if (inner == NULL)
    {
      g_message ("%s: the WebSocket could not be bridged: %s; closing", remote, error->message);
      g_io_stream_close (upgraded, NULL, NULL);
      return;
    }
  cv_gateway_take_connection (self, inner, address, TRUE);
}

static void
on_request (SoupServer *server,
            SoupServerMessage *msg,
            const char *path,
            GHashTable *query,
            gpointer user_data)
{
  CvGateway *self = user_data;
  WebPending *pending = lookup (self, msg);
  g_autoptr (GError) error = NULL;
  CV_GATEWAY_ON_ITS_CONTEXT (self);

  if (pending == NULL)
    {
      /* Past its deadline, or the gateway stops. */
      respond (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "Try again later.\n");
      return;
    }
  if (pending->from_proxy && !take_forwarded_source (self, pending, msg))
    return;
  if (!g_str_equal (path, self->config->websocket_path))
    {
      note_request (self, pending, msg, "not the WebSocket path, 404");
      respond (msg, SOUP_STATUS_NOT_FOUND, "Not found.\n");
      return;
    }
  /* No extension is supported (NULL): permessage-deflate, which browsers and Node's ws
   * offer, is never accepted; the bytes are TLS records already, which do not
   * compress.  No origin and no subprotocol are asked for. */
  if (!soup_websocket_server_check_handshake (msg, NULL, NULL, NULL, &error))
    {
      if (g_error_matches (error, SOUP_WEBSOCKET_ERROR, SOUP_WEBSOCKET_ERROR_NOT_WEBSOCKET))
        {
          note_request (self, pending, msg, "not a WebSocket upgrade, 426");
          respond (msg, 426, "This is a WebSocket endpoint: upgrade to websocket.\n");
          soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Upgrade",
                                        "websocket");
        }
      else
        {
          g_autofree char *why = g_strdup_printf ("a bad WebSocket upgrade (%s), 400",
                                                  error->message);

          note_request (self, pending, msg, why);
          respond (msg, SOUP_STATUS_BAD_REQUEST, "Bad WebSocket upgrade.\n");
          /* RFC 6455 §4.4: the version the server speaks. */
          soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                        "Sec-WebSocket-Version", "13");
        }
      return;
    }
  soup_websocket_server_process_handshake (msg, NULL, NULL, NULL, NULL);
  g_signal_connect_object (msg, "wrote-informational", G_CALLBACK (on_upgraded), self, 0);
}

/* A request body is never wanted here: read and dropped, not kept, so that a client
 * cannot make the gateway hold one (the deadline bounds the time it takes). */
static void
on_request_started (SoupServer *server, SoupServerMessage *msg, gpointer user_data)
{
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
}

void
cv_gateway_web_init (CvGateway *self)
{
  self->web_pending = g_hash_table_new_full (NULL, NULL, NULL, web_pending_free);
  self->web_ports = g_array_new (FALSE, FALSE, sizeof (guint16));
}

static gboolean
is_loopback (const char *host)
{
  g_autoptr (GInetAddress) address = g_inet_address_new_from_string (host);

  return address != NULL && g_inet_address_get_is_loopback (address);
}

/* The SoupServer, and the plain listeners of websocket_listen; with the gateway's
 * context pushed, so that their accepts come back on it. */
gboolean
cv_gateway_web_start (CvGateway *self, GError **error)
{
  GPtrArray *listeners = self->config->websocket_listeners;

  self->web = soup_server_new (NULL, NULL);
  g_signal_connect (self->web, "request-started", G_CALLBACK (on_request_started), self);
  soup_server_add_handler (self->web, NULL, on_request, self, NULL);
  if (self->config->websocket)
    g_message ("the TLS port also takes WebSocket upgrades (wss://) on %s",
               self->config->websocket_path);
  if (listeners->len == 0)
    return TRUE;

  self->web_service = cv_acceptor_new ();
  for (guint i = 0; i < listeners->len; i++)
    {
      CvGatewayListener *listen = listeners->pdata[i];
      guint16 port = 0;

      if (!cv_listen_add (G_SOCKET_LISTENER (self->web_service), listen->host, listen->port, 1024,
                          &port, error))
        {
          g_prefix_error (error, "websocket_listen: ");
          cv_gateway_web_close_listeners (self);
          g_array_set_size (self->web_ports, 0);
          return FALSE;
        }
      g_array_append_val (self->web_ports, port);
      /* Plain HTTP: only the agents' inner TLS protects what crosses it, and a tunnel's
       * preface (its ticket) not at all. */
      if (!is_loopback (listen->host))
        g_warning ("websocket_listen %s port %u is not a loopback address: it takes plain HTTP, "
                   "meant for a reverse proxy on this host that terminates TLS; tunnel tickets "
                   "cross it unencrypted",
                   listen->host, port);
      g_message ("plain-HTTP WebSocket upgrades on %s port %u, path %s (websocket_listen)",
                 listen->host, port, self->config->websocket_path);
    }
  g_signal_connect (self->web_service, "incoming", G_CALLBACK (on_web_incoming), self);
  cv_acceptor_start (self->web_service);
  return TRUE;
}

void
cv_gateway_web_close_listeners (CvGateway *self)
{
  if (self->web_service == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->web_service, self);
  cv_acceptor_stop (self->web_service);
  g_socket_listener_close (G_SOCKET_LISTENER (self->web_service));
  g_clear_object (&self->web_service);
}

void
cv_gateway_web_stop (CvGateway *self)
{
  cv_gateway_web_close_listeners (self);
  if (self->web_pending != NULL)
    g_hash_table_remove_all (self->web_pending);
  /* Closes every connection it still reads a request from or answers. */
  if (self->web != NULL)
    soup_server_disconnect (self->web);
}
