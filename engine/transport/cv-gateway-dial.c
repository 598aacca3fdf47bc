/* cv-gateway-dial.c: where the gateway is, how to know it, and a connection to it, for a
 * control link or a tunnel half: the same bytes whether it is TCP to the gateway's port
 * or a WebSocket to a web server, so that the TLS above (the caller's, with pinning) does
 * not change.
 *
 *   TCP (through an HTTP CONNECT proxy, if one is set)
 *   [wss://: the outer TLS, the web server checked by web_fingerprint or the system's CAs]
 *   [ws:// and wss://: the HTTP/1.1 upgrade, then the bridge's local socket]
 *
 * Proxies are GIO's: GSocketClient asks a GProxyResolver with a URI made of the
 * connectable, so the connectable carries the scheme of what is dialled (https for raw
 * TLS and wss, http for ws), and the system's resolver (libproxy, or GNOME's settings)
 * picks https_proxy or http_proxy as a browser would (transport/cv-proxy-resolver.c,
 * which asks it safely).  An explicit proxy is a GSimpleProxyResolver, so GIO's "http"
 * GProxy sends CONNECT, with Basic credentials from the URL's user information.  Each
 * step has its own 15 s.
 */
#include "transport/cv-gateway-dial.h"

#include <gio/gnetworking.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "transport/cv-dial-target.h"
#include "transport/cv-proxy-resolver.h"
#include "transport/cv-tls-stream.h"
#include "transport/cv-tls.h"
#include "transport/cv-ws-bridge.h"
#include "transport/cv-ws-upgrade.h"
#include "wire/cv-host-port.h"
#include "wire/cv-web-url.h"

#define CONNECT_TIMEOUT_S 15
#define WEB_TLS_TIMEOUT_MS 15000
#define UPGRADE_TIMEOUT_MS 15000
#define WEB_ALPN CV_TLS_ALPN_HTTP

void
cv_gateway_address_clear (CvGatewayAddress *address)
{
  g_clear_pointer (&address->host, g_free);
  g_clear_pointer (&address->fingerprint, g_free);
  g_clear_object (&address->database);
  g_clear_pointer (&address->web_path, g_free);
  g_clear_pointer (&address->web_fingerprint, g_free);
  g_clear_object (&address->web_database);
  /* It may hold the proxy's password. */
  if (address->proxy != NULL)
    sodium_memzero (address->proxy, strlen (address->proxy));
  g_clear_pointer (&address->proxy, g_free);
}

void
cv_gateway_address_copy (CvGatewayAddress *dest, const CvGatewayAddress *src)
{
  dest->host = g_strdup (src->host);
  dest->port = src->port;
  dest->fingerprint = g_strdup (src->fingerprint);
  dest->database = src->database != NULL ? g_object_ref (src->database) : NULL;
  dest->web_path = g_strdup (src->web_path);
  dest->web_tls = src->web_tls;
  dest->web_fingerprint = g_strdup (src->web_fingerprint);
  dest->web_database = src->web_database != NULL ? g_object_ref (src->web_database) : NULL;
  dest->proxy = g_strdup (src->proxy);
}

/* "host:port", "[v6]:port", or the URL "wss://host:port/path": the gateway in log lines. */
char *
cv_gateway_address_to_string (const CvGatewayAddress *address)
{
  g_autofree char *authority = cv_host_port_format (address->host, address->port);

  if (address->web_path == NULL)
    return g_steal_pointer (&authority);
  return g_strdup_printf ("%s://%s%s", address->web_tls ? "wss" : "ws", authority,
                          address->web_path);
}

typedef struct {
  CvGatewayAddress gateway;
  char *destination;    /* "host:port", in messages */
  char *proxy_name;     /* "http://HOST:PORT" of the proxy being used, or NULL */
  gboolean proxy_given; /* by the address; else from the system's settings */
  gboolean negotiating; /* the proxy was reached, CONNECT is under way */
  GSocketConnection *tcp;
  GIOStream *web; /* what the upgrade runs on: @tcp, or the outer TLS */
} Dial;

static void
dial_free (gpointer data)
{
  Dial *dial = data;

  cv_gateway_address_clear (&dial->gateway);
  g_free (dial->destination);
  g_free (dial->proxy_name);
  g_clear_object (&dial->tcp);
  g_clear_object (&dial->web);
  g_free (dial);
}

/* ---- TCP, maybe through a proxy ----------------------------------------- */

/* Which proxy GIO is about to try, when it comes from the system's settings: the
 * connecting socket's address is a GProxyAddress then.  Its URI may hold credentials,
 * so only its address is kept. */
static void
on_client_event (GSocketClient *client,
                 GSocketClientEvent event,
                 GSocketConnectable *connectable,
                 GIOStream *connection,
                 gpointer user_data)
{
  Dial *dial = g_task_get_task_data (G_TASK (user_data));

  if (event == G_SOCKET_CLIENT_CONNECTING && G_IS_SOCKET_CONNECTION (connection))
    {
      g_autoptr (GSocketAddress) address =
        g_socket_connection_get_remote_address (G_SOCKET_CONNECTION (connection), NULL);

      dial->negotiating = FALSE;
      if (G_IS_PROXY_ADDRESS (address) && !dial->proxy_given)
        {
          GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS (address);
          g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (inet));
          g_autofree char *name = cv_web_url_describe_proxy (ip,
                                                             g_inet_socket_address_get_port (inet));

          g_free (dial->proxy_name);
          dial->proxy_name = g_strdup_printf ("%s (from the system's proxy settings)", name);
        }
      else if (!G_IS_PROXY_ADDRESS (address) && !dial->proxy_given)
        g_clear_pointer (&dial->proxy_name, g_free);
    }
  else if (event == G_SOCKET_CLIENT_PROXY_NEGOTIATING)
    dial->negotiating = TRUE;
}

/* The HTTP status GIO's "HTTP proxy connection failed: %i" ends with (its words may be
 * translated, the number stays last), or 0. */
static int
proxy_status (const GError *error)
{
  const char *end = error->message + strlen (error->message);
  const char *digits = end;

  while (digits > error->message && g_ascii_isdigit (digits[-1]))
    digits--;
  return digits < end && end - digits <= 3 ? atoi (digits) : 0;
}

/* GIO's words for a proxy's answer, made into ours: which proxy, and what to do.  A
 * proxy may refuse credentials with 407 (GIO: PROXY_AUTH_FAILED) or 401 (tinyproxy;
 * GIO: PROXY_FAILED), and a destination with 403 (PROXY_NOT_ALLOWED) or another code. */
static GError *
word_proxy_error (Dial *dial, GError *error)
{
  int status = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED) ? proxy_status (error)
                                                                            : 0;
  GError *worded;

  if (dial->proxy_name == NULL || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return error;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PROXY_NEED_AUTH))
    worded = g_error_new (G_IO_ERROR, G_IO_ERROR_PROXY_NEED_AUTH,
                          "the proxy %s wants credentials (HTTP 407): give them in proxy as "
                          "http://user:password@HOST:PORT",
                          dial->proxy_name);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PROXY_AUTH_FAILED) || status == 401)
    worded = g_error_new (G_IO_ERROR, G_IO_ERROR_PROXY_AUTH_FAILED,
                          "the proxy %s refused the credentials given (HTTP %d)", dial->proxy_name,
                          status != 0 ? status : 407);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PROXY_NOT_ALLOWED))
    worded = g_error_new (error->domain, error->code,
                          "the proxy %s refused to connect to %s (HTTP 403: not allowed there)",
                          dial->proxy_name, dial->destination);
  else if (status >= 500)
    worded = g_error_new (error->domain, error->code,
                          "the proxy %s could not connect to %s (HTTP %d): is the gateway up, "
                          "and reachable from the proxy?",
                          dial->proxy_name, dial->destination, status);
  else if (status != 0)
    worded = g_error_new (error->domain, error->code,
                          "the proxy %s refused to connect to %s (HTTP %d)", dial->proxy_name,
                          dial->destination, status);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED))
    worded = g_error_new (error->domain, error->code, "the proxy %s refused to connect to %s (%s)",
                          dial->proxy_name, dial->destination, error->message);
  else if (dial->negotiating)
    worded = g_error_new (error->domain, error->code, "the proxy %s did not connect us to %s: %s",
                          dial->proxy_name, dial->destination, error->message);
  else
    worded = g_error_new (error->domain, error->code, "could not reach the proxy %s: %s",
                          dial->proxy_name, error->message);
  g_error_free (error);
  return worded;
}

static void on_web_tls_done (GObject *source, GAsyncResult *result, gpointer user_data);
static void upgrade (GTask *task);

static void
on_dialled (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  Dial *dial = g_task_get_task_data (task);
  GError *error = NULL;
  GSocket *socket;

  dial->tcp = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);
  if (dial->tcp == NULL)
    {
      g_task_return_error (task, word_proxy_error (dial, error));
      g_object_unref (task);
      return;
    }
  socket = g_socket_connection_get_socket (dial->tcp);
  /* The connect timeout would otherwise stay on the socket and time out idle reads. */
  g_socket_set_timeout (socket, 0);
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  g_socket_set_keepalive (socket, TRUE);

  if (dial->gateway.web_path == NULL)
    {
      g_task_return_pointer (task, g_steal_pointer (&dial->tcp), g_object_unref);
      g_object_unref (task);
      return;
    }
  if (!dial->gateway.web_tls)
    {
      dial->web = G_IO_STREAM (g_object_ref (dial->tcp));
      upgrade (task);
      return;
    }
  {
    g_autofree char *peer_name = g_strdup_printf ("the web server at %s", dial->destination);
    CvTlsPeerCheck check = {
      .mode = dial->gateway.web_fingerprint != NULL ? CV_TLS_PEER_CHECK_PINNED
                                                    : CV_TLS_PEER_CHECK_SYSTEM_CA,
      .fingerprint = dial->gateway.web_fingerprint,
      .database = dial->gateway.web_database,
      .peer_name = peer_name,
      .pin_key = "web_fingerprint",
    };

    g_autoptr (CvTlsStream) tls = NULL;

    /* No client certificate: the agent proves itself in the inner TLS.  CvTlsStream,
     * not GTlsConnection: this TLS carries every byte of a wss:// tunnel half, and it
     * reads and writes many records per call (tests/bench/WEBSOCKET.md). */
    tls = cv_tls_stream_new (dial->tcp, FALSE, NULL, &error);
    if (tls == NULL)
      {
        g_task_return_error (task, error);
        g_object_unref (task);
        return;
      }
    cv_tls_stream_set_server_name (tls, dial->gateway.host);
    dial->web = G_IO_STREAM (g_object_ref (tls));
    cv_tls_stream_handshake_async (tls, &check, WEB_ALPN, WEB_TLS_TIMEOUT_MS,
                                   g_task_get_cancellable (task), on_web_tls_done, task);
  }
}

/* ---- the WebSocket ------------------------------------------------------ */

static void
on_web_tls_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  GError *error = NULL;

  if (!cv_tls_stream_handshake_finish (CV_TLS_STREAM (source), result, &error))
    {
      Dial *dial = g_task_get_task_data (task);

      /* A Culvert gateway's TLS port with "websocket": false takes culvert/1 only. */
      if (g_error_matches (error, CV_TLS_ERROR, CV_TLS_ERROR_ALPN)
          || strstr (error->message, "application protocol") != NULL)
        g_prefix_error (&error,
                        "%s:%u does not take HTTPS (ALPN http/1.1); if it is a Culvert "
                        "gateway's own port, its \"websocket\" setting is false, and agents "
                        "reach it as %s:%u (raw TLS): ",
                        dial->gateway.host, dial->gateway.port, dial->gateway.host,
                        dial->gateway.port);
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  upgrade (task);
}

static void
on_upgraded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  Dial *dial = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (GBytes) leftover = cv_ws_upgrade_client_finish (result, &error);
  CvWsBridgeOptions options;
  GSocketConnection *inner;

  if (leftover == NULL)
    {
      /* A raw gateway port closes what does not start as TLS or a tunnel preface. */
      if (!dial->gateway.web_tls
          && (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED)
              || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE)
              || strstr (error->message, "reset by peer") != NULL
              || strstr (error->message, "closed") != NULL))
        {
          GError *hinted = g_error_new (error->domain, error->code,
                                        "%s (is %s:%u a Culvert gateway's TLS port? That one "
                                        "takes wss://, or host:port for raw TLS; ws:// is for "
                                        "its websocket_listen)",
                                        error->message, dial->gateway.host, dial->gateway.port);

          g_error_free (error);
          error = hinted;
        }
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  cv_ws_bridge_options_init (&options);
  options.is_client = TRUE;
  options.peer_name = "the gateway";
  inner = cv_ws_bridge_start (dial->web, g_bytes_get_size (leftover) > 0 ? leftover : NULL,
                              &options, g_task_get_context (task), &error);
  if (inner == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, inner, g_object_unref);
  g_object_unref (task);
}

static void
upgrade (GTask *task)
{
  Dial *dial = g_task_get_task_data (task);

  cv_ws_upgrade_client_async (dial->web, dial->gateway.host, dial->gateway.port,
                              dial->gateway.web_tls, dial->gateway.web_path, UPGRADE_TIMEOUT_MS,
                              g_task_get_cancellable (task), on_upgraded, task);
}

/* ---- the start ---------------------------------------------------------- */

/* The resolver that decides @dial's proxy: the address's own proxy, or the system's;
 * NULL for "direct" (then FALSE only with @error, for a proxy that is not valid: an
 * address built in code is not checked before). */
static gboolean
choose_resolver (Dial *dial, GProxyResolver **resolver, GError **error)
{
  const char *proxy = dial->gateway.proxy;
  g_autoptr (GError) proxy_error = NULL;
  g_autofree char *host = NULL;
  guint16 port = 0;
  char *for_gio;

  *resolver = NULL;
  if (proxy == NULL)
    {
      *resolver = cv_proxy_resolver_get_system (error);
      return *resolver != NULL;
    }
  if (!cv_web_url_parse_proxy (proxy, &host, &port, NULL, &proxy_error))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "the proxy is not valid: %s",
                   proxy_error->message);
      return FALSE;
    }
  if (host == NULL)
    return TRUE; /* "direct" */
  /* As written, "user:p@ss@" would be split at its first "@" by GIO. */
  for_gio = cv_web_url_proxy_for_gio (proxy, NULL);
  *resolver = g_simple_proxy_resolver_new (for_gio, NULL);
  sodium_memzero (for_gio, strlen (for_gio));
  g_free (for_gio);
  dial->proxy_name = cv_web_url_describe_proxy (host, port);
  dial->proxy_given = TRUE;
  return TRUE;
}

/**
 * cv_gateway_dial_async:
 *
 * A connection that carries a raw gateway connection's bytes: TCP to the gateway's
 * host:port, or, for a @gateway with a web_path, the local end of a WebSocket bridge.
 * Runs on the thread-default main context.
 */
void
cv_gateway_dial_async (const CvGatewayAddress *gateway,
                       GCancellable *cancellable,
                       GAsyncReadyCallback callback,
                       gpointer user_data)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnectable) connectable = NULL;
  g_autoptr (GProxyResolver) resolver = NULL;
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Dial *dial = g_new0 (Dial, 1);
  GError *error = NULL;

  g_task_set_source_tag (task, cv_gateway_dial_async);
  g_task_set_name (task, "[culvert] gateway dial");
  g_task_set_task_data (task, dial, dial_free);
  cv_gateway_address_copy (&dial->gateway, gateway);
  dial->destination = cv_host_port_format (gateway->host, gateway->port);
  if (!choose_resolver (dial, &resolver, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }

  g_socket_client_set_timeout (client, CONNECT_TIMEOUT_S);
  /* TLS is ours to do (with pinning); proxies are GIO's, asked only through ours. */
  g_socket_client_set_enable_proxy (client, resolver != NULL);
  if (resolver != NULL)
    {
      g_socket_client_set_proxy_resolver (client, resolver);
      /* The scheme is what a proxy resolver decides by (see the top of the file). */
      connectable = cv_dial_target_new (gateway->host, gateway->port,
                                        gateway->web_path != NULL && !gateway->web_tls ? "http"
                                                                                       : "https",
                                        resolver);
    }
  else
    connectable = g_network_address_new (gateway->host, gateway->port);
  /* The client outlives this call until the connect ends, and the dial with it. */
  g_signal_connect_data (client, "event", G_CALLBACK (on_client_event), g_object_ref (task),
                         (GClosureNotify) (void (*) (void)) g_object_unref, 0);
  g_socket_client_connect_async (client, connectable, cancellable, on_dialled, task);
}

GSocketConnection *
cv_gateway_dial_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
