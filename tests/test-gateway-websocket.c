/* test-gateway-websocket.c: the gateway's web side.  WebSocket upgrades on the TLS port
 * (HTTPS, told from agents by ALPN) and on websocket_listen (plain HTTP, as behind
 * nginx): what is no upgrade of ours is answered (404, 426, 400) and closed, a silent
 * client is closed at the handshake deadline and counted as junk, admission counts
 * every connection until its upgrade, X-Forwarded-For from a trusted proxy names the
 * source, no extension is ever accepted, and stop closes what is under way.  Through
 * the bridge (a client-role one, played here by hand), a real control link logs in and
 * a real tunnel joins a WebSocket half to a raw one.
 *
 * The clients are real: TCP, GIO's TLS client with the ALPN a browser, curl or Node's
 * ws would offer, an HTTP/1.1 request written out, the response parsed by libsoup. */
#include "gateway-fixture.h"

#include "transport/cv-ws-bridge.h"
#include "wire/cv-ticket.h"

#include <libsoup/soup.h>
#include <string.h>

/* RFC 6455 §1.3's example key and the accept value it must get. */
#define WS_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define WS_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

/* The port of the plain listener of the gateway use_web_gateway() made. */
static guint16 web_port;

/* Replaces the fixture's gateway by one with a plain WebSocket listener on 127.0.0.1
 * (any port), @limits, and @trusted as websocket_trusted_proxies (NULL: the default,
 * 127.0.0.1 and ::1; "": none). */
static void
use_web_gateway (Fixture *fixture, const char *limits, const char *trusted)
{
  g_autoptr (GError) error = NULL;
  CvGatewayConfig *config;
  CvGatewayListener *listener;

  dispose_gateway (fixture);
  config = make_config (fixture, limits, TRUE);
  listener = g_new0 (CvGatewayListener, 1);
  listener->host = g_strdup ("127.0.0.1");
  listener->port = 0; /* as make_config() does for the TLS port: the kernel's choice */
  g_ptr_array_add (config->websocket_listeners, listener);
  if (trusted != NULL)
    {
      g_ptr_array_set_size (config->websocket_trusted_proxies, 0);
      if (*trusted != '\0')
        g_ptr_array_add (config->websocket_trusted_proxies, g_strdup (trusted));
    }
  fixture->gateway = cv_gateway_new_with_context (config, fixture->gateway_identity,
                                                  gateway_test_get_context ());
  cv_gateway_start (fixture->gateway, &error);
  g_assert_no_error (error);
  fixture->port = g_array_index (cv_gateway_get_listen_ports (fixture->gateway), guint16, 0);
  g_assert_cmpuint (cv_gateway_get_websocket_ports (fixture->gateway)->len, ==, 1);
  web_port = g_array_index (cv_gateway_get_websocket_ports (fixture->gateway), guint16, 0);
  g_assert_cmpuint (web_port, !=, 0);
}

/* ---- an HTTP client ----------------------------------------------------- */

typedef struct {
  GSocketConnection *tcp;
  GIOStream *stream; /* @tcp, or TLS over it */
  GCancellable *cancellable;
  gboolean tls_done;
  GError *tls_error;
  GByteArray *received;
  gboolean reading;
  gboolean stop_at_headers; /* the 101 is all: what follows is the bridge's */
  gboolean closed;          /* the end of the stream, or an error: the gateway let go */
  gint64 opened_us;
  gint64 closed_us;
  guint8 chunk[4096];
  /* The response, once its headers are in. */
  guint status;
  SoupMessageHeaders *headers;
  gsize headers_len;
} Http;

static gboolean
http_is_idle (gpointer data)
{
  return !((Http *) data)->reading;
}

static void
http_free (Http *http)
{
  g_cancellable_cancel (http->cancellable);
  g_assert_true (gateway_wait_until (http_is_idle, http, WAIT_MS));
  if (http->stream != NULL)
    g_io_stream_close (http->stream, NULL, NULL);
  g_clear_object (&http->stream);
  g_clear_object (&http->tcp);
  g_clear_object (&http->cancellable);
  g_clear_error (&http->tls_error);
  g_byte_array_unref (http->received);
  g_clear_pointer (&http->headers, soup_message_headers_unref);
  g_free (http);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Http, http_free)

static Http *
http_connect (guint16 port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  Http *http = g_new0 (Http, 1);

  g_socket_client_set_enable_proxy (client, FALSE);
  http->opened_us = g_get_monotonic_time ();
  http->tcp = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  g_assert_no_error (error);
  http->stream = g_object_ref (G_IO_STREAM (http->tcp));
  http->cancellable = g_cancellable_new ();
  http->received = g_byte_array_new ();
  return http;
}

static gboolean
on_accept_certificate (GTlsConnection *tls,
                       GTlsCertificate *peer,
                       GTlsCertificateFlags errors,
                       gpointer user_data)
{
  Fixture *fixture = user_data;

  /* Self-signed: trusted because it is the gateway's own. */
  return g_tls_certificate_is_same (peer, cv_identity_get_certificate (fixture->gateway_identity));
}

static void
on_tls_handshake (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Http *http = user_data;

  g_tls_connection_handshake_finish (G_TLS_CONNECTION (source), result, &http->tls_error);
  http->tls_done = TRUE;
}

static gboolean
http_tls_is_done (gpointer data)
{
  return ((Http *) data)->tls_done;
}

/* TLS to the gateway's port as an HTTPS client: ALPN @alpn (NULL: none), no client
 * certificate.  Returns: the protocol the gateway chose, or NULL */
static const char *
http_start_tls (Http *http, Fixture *fixture, const char *const *alpn)
{
  g_autoptr (GError) error = NULL;
  GIOStream *tls = g_tls_client_connection_new (G_IO_STREAM (http->tcp), NULL, &error);

  g_assert_no_error (error);
  g_tls_connection_set_advertised_protocols (G_TLS_CONNECTION (tls), alpn);
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (on_accept_certificate), fixture);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, NULL,
                                    on_tls_handshake, http);
  g_assert_true (gateway_wait_until (http_tls_is_done, http, WAIT_MS));
  g_assert_no_error (http->tls_error);
  g_object_unref (http->stream);
  http->stream = tls;
  return g_tls_connection_get_negotiated_protocol (G_TLS_CONNECTION (tls));
}

static Http *
https_connect (Fixture *fixture, const char *const *alpn)
{
  Http *http = http_connect (fixture->port);

  http_start_tls (http, fixture, alpn);
  return http;
}

static const char *const alpn_http[] = { "http/1.1", NULL };

static const char *
headers_end (Http *http)
{
  const char *end = http->received->len == 0 ? NULL
                                             : g_strstr_len ((const char *) http->received->data,
                                                             http->received->len, "\r\n\r\n");

  return end != NULL ? end + 4 : NULL;
}

static void http_read_more (Http *http);

static void
on_http_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Http *http = user_data;
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  http->reading = FALSE;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (n <= 0)
    {
      /* The end, or a reset: either way the gateway closed it. */
      http->closed = TRUE;
      http->closed_us = g_get_monotonic_time ();
      return;
    }
  g_byte_array_append (http->received, http->chunk, n);
  if (http->stop_at_headers && headers_end (http) != NULL)
    return;
  http_read_more (http);
}

static void
http_read_more (Http *http)
{
  http->reading = TRUE;
  g_input_stream_read_async (g_io_stream_get_input_stream (http->stream), http->chunk,
                             sizeof http->chunk, G_PRIORITY_DEFAULT, http->cancellable,
                             on_http_read, http);
}

/* Reads from now on, until the end (or the response's headers, with @stop_at_headers). */
static void
http_watch (Http *http, gboolean stop_at_headers)
{
  http->stop_at_headers = stop_at_headers;
  if (!http->reading && !http->closed)
    http_read_more (http);
}

static void
http_send (Http *http, const char *text, gsize len)
{
  g_autoptr (GError) error = NULL;

  g_output_stream_write_all (g_io_stream_get_output_stream (http->stream), text, len, NULL, NULL,
                             &error);
  g_assert_no_error (error);
}

static gboolean
http_is_closed (gpointer data)
{
  return ((Http *) data)->closed;
}

static gboolean
http_has_headers (gpointer data)
{
  Http *http = data;

  return http->closed || headers_end (http) != NULL;
}

/* The response's status line and headers, parsed by libsoup. */
static guint
http_wait_headers (Http *http)
{
  const char *end;
  SoupHTTPVersion version;
  g_autofree char *reason = NULL;

  g_assert_true (gateway_wait_until (http_has_headers, http, WAIT_MS));
  end = headers_end (http);
  g_assert_nonnull (end);
  http->headers_len = end - (const char *) http->received->data;
  http->headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  g_assert_true (soup_headers_parse_response ((const char *) http->received->data,
                                              (int) http->headers_len, http->headers, &version,
                                              &http->status, &reason));
  g_test_message ("HTTP %u %s", http->status, reason);
  return http->status;
}

/* Sends @request and waits for the answer and the close that must follow it. */
static guint
http_exchange (Http *http, const char *request)
{
  http_watch (http, FALSE);
  http_send (http, request, strlen (request));
  http_wait_headers (http);
  g_assert_true (gateway_wait_until (http_is_closed, http, WAIT_MS));
  return http->status;
}

static const char *
header (Http *http, const char *name)
{
  return soup_message_headers_get_one (http->headers, name);
}

/* An RFC 6455 upgrade of @path, with @extra header lines (each ending in CRLF). */
static char *
upgrade_request (const char *path, const char *extra)
{
  return g_strdup_printf ("GET %s HTTP/1.1\r\n"
                          "Host: 127.0.0.1\r\n"
                          "Upgrade: websocket\r\n"
                          "Connection: Upgrade\r\n"
                          "Sec-WebSocket-Key: " WS_KEY "\r\n"
                          "Sec-WebSocket-Version: 13\r\n"
                          "%s\r\n",
                          path, extra != NULL ? extra : "");
}

/* Upgrades @http, asserts the 101 as RFC 6455 has it.  Returns: (transfer full): what
 * came after the 101 in the same reads (the bridge's first bytes), or NULL */
static GBytes *
http_upgrade (Http *http, const char *extra)
{
  g_autofree char *request = upgrade_request ("/culvert", extra);

  http_watch (http, TRUE);
  http_send (http, request, strlen (request));
  g_assert_cmpuint (http_wait_headers (http), ==, SOUP_STATUS_SWITCHING_PROTOCOLS);
  g_assert_true (gateway_wait_until (http_is_idle, http, WAIT_MS));
  g_assert_cmpstr (header (http, "Sec-WebSocket-Accept"), ==, WS_ACCEPT);
  g_assert_true (soup_message_headers_header_equals (http->headers, "Upgrade", "websocket"));
  g_assert_true (soup_message_headers_header_contains (http->headers, "Connection", "upgrade"));
  /* No extension (permessage-deflate) and no subprotocol, whatever was offered. */
  g_assert_null (header (http, "Sec-WebSocket-Extensions"));
  g_assert_null (header (http, "Sec-WebSocket-Protocol"));
  if (http->received->len == http->headers_len)
    return NULL;
  return g_bytes_new (http->received->data + http->headers_len,
                      http->received->len - http->headers_len);
}

static gboolean
has_no_unauthenticated (gpointer data)
{
  return cv_gateway_get_n_unauthenticated (((Fixture *) data)->gateway) == 0;
}

static void
wait_unauthenticated_gone (Fixture *fixture)
{
  g_assert_true (gateway_wait_until (has_no_unauthenticated, fixture, WAIT_MS));
}

typedef struct {
  Fixture *fixture;
  guint n;
} Count;

static gboolean
unauthenticated_are (gpointer data)
{
  Count *count = data;

  return cv_gateway_get_n_unauthenticated (count->fixture->gateway) == count->n;
}

static void
wait_unauthenticated (Fixture *fixture, guint n)
{
  Count count = { fixture, n };

  g_assert_true (gateway_wait_until (unauthenticated_are, &count, WAIT_MS));
}

/* ---- what is no upgrade --------------------------------------------------- */

/* 404 elsewhere, 426 for a request on the path that is no upgrade, 400 for a bad
 * upgrade; each closed after its answer, and each logged once as junk. */
static void
assert_answers (Fixture *fixture, Http *(*connect) (Fixture *fixture))
{
  static const struct {
    const char *request;
    guint status;
    const char *logged;
  } cases[] = {
    { "GET /elsewhere HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", SOUP_STATUS_NOT_FOUND,
      "HTTP GET /elsewhere: not the WebSocket path, 404; closing" },
    /* The path's prefix is not the path. */
    { "GET /culvert/more HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", SOUP_STATUS_NOT_FOUND,
      "HTTP GET /culvert/more: not the WebSocket path, 404; closing" },
    { "GET /culvert HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 426,
      "HTTP GET /culvert: not a WebSocket upgrade, 426; closing" },
    { "GET /culvert HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: " WS_KEY "\r\nSec-WebSocket-Version: 8\r\n\r\n",
      SOUP_STATUS_BAD_REQUEST, "HTTP GET /culvert: a bad WebSocket upgrade (" },
    { "GET /culvert HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n",
      SOUP_STATUS_BAD_REQUEST, "HTTP GET /culvert: a bad WebSocket upgrade (" },
    /* A line break in the path is escaped in the log, not a line of its own. */
    { "GET /a%0Ab HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", SOUP_STATUS_NOT_FOUND,
      "HTTP GET /a\\nb: not the WebSocket path, 404; closing" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (Http) http = connect (fixture);
      guint before = count_log_lines (cases[i].logged);

      g_test_message ("%s", cases[i].request);
      g_assert_cmpuint (http_exchange (http, cases[i].request), ==, cases[i].status);
      g_assert_true (soup_message_headers_header_contains (http->headers, "Connection", "close"));
      if (cases[i].status == 426)
        g_assert_cmpstr (header (http, "Upgrade"), ==, "websocket");
      if (cases[i].status == SOUP_STATUS_BAD_REQUEST)
        g_assert_cmpstr (header (http, "Sec-WebSocket-Version"), ==, "13");
      g_assert_cmpuint (count_log_lines (cases[i].logged), ==, before + 1);
    }

  /* A body is read and dropped, not kept; the answer is the same. */
  {
    g_autoptr (Http) http = connect (fixture);
    gsize body_len = 256 * 1024;
    g_autofree char *body = g_malloc0 (body_len);
    g_autofree char *head = g_strdup_printf ("POST /culvert HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                             "Content-Length: %" G_GSIZE_FORMAT "\r\n\r\n",
                                             body_len);

    http_watch (http, FALSE);
    http_send (http, head, strlen (head));
    http_send (http, body, body_len);
    g_assert_cmpuint (http_wait_headers (http), ==, 426);
    g_assert_true (gateway_wait_until (http_is_closed, http, WAIT_MS));
  }
  wait_unauthenticated_gone (fixture);
}

static Http *
connect_plain (Fixture *fixture)
{
  return http_connect (web_port);
}

static Http *
connect_https (Fixture *fixture)
{
  return https_connect (fixture, alpn_http);
}

/* An HTTPS client that offers no ALPN at all, as Node's ws does. */
static Http *
connect_https_no_alpn (Fixture *fixture)
{
  return https_connect (fixture, NULL);
}

static void
test_plain_answers (Fixture *fixture, gconstpointer data)
{
  use_web_gateway (fixture, NULL, NULL);
  assert_answers (fixture, connect_plain);
}

static void
test_https_answers (Fixture *fixture, gconstpointer data)
{
  assert_answers (fixture, connect_https);
  assert_answers (fixture, connect_https_no_alpn);
}

/* The 101 with Sec-WebSocket-Accept, on both kinds of port and with or without ALPN;
 * a permessage-deflate offer is not taken up. */
static void
test_upgrade (Fixture *fixture, gconstpointer data)
{
  Http *(*connects[]) (Fixture *) = { connect_plain, connect_https, connect_https_no_alpn };

  use_web_gateway (fixture, NULL, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (connects); i++)
    {
      g_autoptr (Http) http = connects[i](fixture);
      g_autoptr (GBytes) leftover = http_upgrade (http,
                                                  "Sec-WebSocket-Extensions: permessage-deflate; "
                                                  "client_max_window_bits\r\n"
                                                  "Sec-WebSocket-Protocol: chat\r\n");

      /* The gateway said nothing more: it waits for the agent's first bytes. */
      g_assert_null (leftover);
    }
  g_assert_cmpuint (count_log_lines ("HTTP GET"), ==, 0);
}

/* An HTTPS client's ALPN goes to the web side; an agent's is a control link, and an agent
 * without a certificate is refused as ever. */
static void
test_https_alpn (Fixture *fixture, gconstpointer data)
{
  static const char *const alpn_both[] = { "h2", "http/1.1", NULL };
  g_autoptr (Http) http = http_connect (fixture->port);
  Agent *agent;

  g_assert_cmpstr (http_start_tls (http, fixture, alpn_both), ==, "http/1.1");
  g_assert_cmpuint (http_exchange (http, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ==,
                    SOUP_STATUS_NOT_FOUND);

  agent = agent_dial (fixture, NULL);
  g_assert_true (gateway_wait_until (agent_tls_done, agent, WAIT_MS));
  if (agent->tls_error == NULL)
    {
      /* TLS 1.3: the client is done before the server has seen its certificate. */
      agent_start_mux (agent);
      agent_wait_closed (agent);
    }
  g_assert_cmpuint (count_log_lines ("presented no certificate"), ==, 1);
  g_assert_cmpuint (cv_gateway_get_n_links (fixture->gateway), ==, 0);
  wait_unauthenticated_gone (fixture);

  /* And an agent with one is a control link on the same port. */
  agent_login (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s1", "server");
}

/* "websocket": false: the TLS port is the agents' alone, ALPN mandatory, as before. */
static void
test_websocket_off (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (Http) http = NULL;
  GIOStream *tls;
  CvGatewayConfig *config;

  dispose_gateway (fixture);
  config = make_config (fixture, NULL, TRUE);
  config->websocket = FALSE;
  fixture->gateway = cv_gateway_new_with_context (config, fixture->gateway_identity, NULL);
  cv_gateway_start (fixture->gateway, &error);
  g_assert_no_error (error);
  fixture->port = g_array_index (cv_gateway_get_listen_ports (fixture->gateway), guint16, 0);

  http = http_connect (fixture->port);
  tls = g_tls_client_connection_new (G_IO_STREAM (http->tcp), NULL, &error);
  g_assert_no_error (error);
  g_tls_connection_set_advertised_protocols (G_TLS_CONNECTION (tls), alpn_http);
  g_signal_connect (tls, "accept-certificate", G_CALLBACK (on_accept_certificate), fixture);
  g_tls_connection_handshake_async (G_TLS_CONNECTION (tls), G_PRIORITY_DEFAULT, NULL,
                                    on_tls_handshake, http);
  g_assert_true (gateway_wait_until (http_tls_is_done, http, WAIT_MS));
  g_assert_nonnull (http->tls_error);
  g_test_message ("websocket off: %s", http->tls_error->message);
  g_object_unref (tls);
  g_assert_cmpuint (count_log_lines ("TLS handshake failed"), ==, 1);
  agent_login (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s1", "server");
}

/* ---- the deadline, admission, stop --------------------------------------- */

#define DEADLINE_LIMITS "\"handshake_timeout_ms\": 700"

/* Silent, or stopping half-way through the request: closed at the deadline from the
 * accept (libsoup alone would wait for ever), and counted as junk. */
static void
test_deadline (Fixture *fixture, gconstpointer data)
{
  Http *http[4];

  use_web_gateway (fixture, DEADLINE_LIMITS, NULL);
  http[0] = http_connect (web_port);
  http[1] = http_connect (web_port);
  http_send (http[1], "GET /culvert HTTP/1.1\r\nHost: 127.0.0.1\r\nUpg", 43);
  /* On the TLS port the deadline counts from the TCP accept, TLS included. */
  http[2] = connect_https (fixture);
  http[3] = connect_https (fixture);
  http_send (http[3], "GET /cul", 8);
  for (guint i = 0; i < G_N_ELEMENTS (http); i++)
    http_watch (http[i], FALSE);
  for (guint i = 0; i < G_N_ELEMENTS (http); i++)
    {
      gint64 took_ms;

      g_assert_true (gateway_wait_until (http_is_closed, http[i], WAIT_MS));
      took_ms = (http[i]->closed_us - http[i]->opened_us) / 1000;
      g_test_message ("closed after %" G_GINT64_FORMAT " ms", took_ms);
      g_assert_cmpint (took_ms, >=, 600);
      g_assert_cmpint (took_ms, <, 3000);
      /* Nothing was answered to a request that never came whole. */
      g_assert_cmpuint (http[i]->received->len, ==, 0);
    }
  g_assert_cmpuint (count_log_lines ("127.0.0.1: no WebSocket upgrade within the handshake "
                                     "deadline; closing"),
                    >=, 1);
  wait_unauthenticated_gone (fixture);
  for (guint i = 0; i < G_N_ELEMENTS (http); i++)
    http_free (http[i]);
}

/* max_pending_handshakes 160: one address may hold 20. */
#define ADMISSION_LIMITS "\"max_pending_handshakes\": 160"
#define PER_ADDRESS 20

/* Every connection holds a slot until its upgrade: the plain listener and the TLS
 * port's HTTPS clients count together, and refuse as the raw port does. */
static void
test_admission (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GPtrArray) held = g_ptr_array_new_with_free_func ((GDestroyNotify) http_free);
  Http *refused;

  /* 127.0.0.1 trusted as no proxy: its connections are its own. */
  use_web_gateway (fixture, ADMISSION_LIMITS, "");
  for (guint i = 0; i < PER_ADDRESS / 2; i++)
    g_ptr_array_add (held, http_connect (web_port));
  for (guint i = 0; i < PER_ADDRESS / 2; i++)
    g_ptr_array_add (held, connect_https (fixture));
  wait_unauthenticated (fixture, PER_ADDRESS);

  refused = http_connect (web_port);
  http_watch (refused, FALSE);
  g_assert_true (gateway_wait_until (http_is_closed, refused, WAIT_MS));
  http_free (refused);
  g_assert_cmpuint (count_refusals ("127.0.0.1: refused: 20 unauthenticated connections from "
                                    "this address (limit 20)"),
                    ==, 1);
  /* The raw port counts the same slots. */
  raw_probe (fixture, NULL, 0);
  g_assert_cmpuint (count_refusals ("127.0.0.1: refused: 20 unauthenticated connections from "
                                    "this address (limit 20)"),
                    ==, 2);

  /* Answered and closed: the slots come back. */
  for (guint i = 0; i < held->len; i++)
    http_exchange (held->pdata[i], "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  wait_unauthenticated_gone (fixture);
  g_ptr_array_set_size (held, 0);
  {
    g_autoptr (Http) http = http_connect (web_port);

    g_assert_cmpuint (http_exchange (http, "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"), ==,
                      SOUP_STATUS_NOT_FOUND);
  }
}

/* cv_gateway_stop(): upgrades under way are closed at once, not at their deadline. */
static void
test_stop (Fixture *fixture, gconstpointer data)
{
  g_autoptr (Http) plain = NULL;
  g_autoptr (Http) https = NULL;

  use_web_gateway (fixture, NULL, NULL);
  plain = http_connect (web_port);
  https = connect_https (fixture);
  http_send (plain, "GET /cul", 8);
  http_watch (plain, FALSE);
  http_watch (https, FALSE);
  wait_unauthenticated (fixture, 2);
  cv_gateway_stop (fixture->gateway);
  g_assert_true (gateway_wait_until (http_is_closed, plain, 2000));
  g_assert_true (gateway_wait_until (http_is_closed, https, 2000));
  g_assert_cmpuint (cv_gateway_get_n_unauthenticated (fixture->gateway), ==, 0);
}

/* ---- X-Forwarded-For ------------------------------------------------------ */

/* From a trusted proxy, the last X-Forwarded-For entry is whose the connection is, in
 * the logs and for the per-address limits; from anyone else, the header is nobody's
 * word. */
static void
test_forwarded_for (Fixture *fixture, gconstpointer data)
{
  static const struct {
    const char *forwarded; /* the header's line(s), or NULL */
    const char *source;
  } cases[] = {
    { "X-Forwarded-For: 203.0.113.9\r\n", "203.0.113.9" },
    /* The proxy appends; only its own entry, the last, is trusted. */
    { "X-Forwarded-For: 10.9.9.9, 203.0.113.10\r\n", "203.0.113.10" },
    { "X-Forwarded-For: 10.9.9.9\r\nX-Forwarded-For: 2001:db8::7\r\n", "2001:db8::7" },
    /* Not an IP address: the proxy's own. */
    { "X-Forwarded-For: unknown\r\n", "127.0.0.1" },
    { "X-Forwarded-For: 203.0.113.9:4711\r\n", "127.0.0.1" },
    { NULL, "127.0.0.1" },
  };
  g_autoptr (GPtrArray) held = g_ptr_array_new_with_free_func ((GDestroyNotify) http_free);

  use_web_gateway (fixture, ADMISSION_LIMITS, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (Http) http = http_connect (web_port);
      g_autofree char *request = g_strdup_printf ("GET /nowhere/%u HTTP/1.1\r\nHost: x\r\n%s\r\n",
                                                  i,
                                                  cases[i].forwarded != NULL ? cases[i].forwarded
                                                                             : "");
      g_autofree char *logged = g_strdup_printf ("%s: HTTP GET /nowhere/%u: not the WebSocket "
                                                 "path, 404; closing",
                                                 cases[i].source, i);

      g_assert_cmpuint (http_exchange (http, request), ==, SOUP_STATUS_NOT_FOUND);
      g_assert_cmpuint (count_log_lines (logged), ==, 1);
    }

  /* Through the proxy, more connections than one address may hold: they are many
   * clients' until their requests say otherwise. */
  for (guint i = 0; i < PER_ADDRESS + 5; i++)
    g_ptr_array_add (held, http_connect (web_port));
  wait_unauthenticated (fixture, PER_ADDRESS + 5);
  g_assert_cmpuint (gateway_refusals->len, ==, 0);
  g_ptr_array_set_size (held, 0);
  wait_unauthenticated_gone (fixture);

  /* On the TLS port the header is not trusted, even from 127.0.0.1. */
  {
    g_autoptr (Http) http = connect_https (fixture);

    g_assert_cmpuint (http_exchange (http, "GET /tls HTTP/1.1\r\nHost: x\r\n"
                                           "X-Forwarded-For: 203.0.113.77\r\n\r\n"),
                      ==, SOUP_STATUS_NOT_FOUND);
    g_assert_cmpuint (count_log_lines ("127.0.0.1: HTTP GET /tls: "), ==, 1);
  }
}

/* With no trusted proxy, X-Forwarded-For is ignored. */
static void
test_forwarded_for_untrusted (Fixture *fixture, gconstpointer data)
{
  g_autoptr (Http) http = NULL;

  use_web_gateway (fixture, NULL, "");
  http = http_connect (web_port);
  g_assert_cmpuint (http_exchange (http, "GET /n HTTP/1.1\r\nHost: x\r\n"
                                         "X-Forwarded-For: 203.0.113.9\r\n\r\n"),
                    ==, SOUP_STATUS_NOT_FOUND);
  g_assert_cmpuint (count_log_lines ("127.0.0.1: HTTP GET /n: "), ==, 1);
  g_assert_cmpuint (count_log_lines ("203.0.113.9"), ==, 0);
}

/* ---- through the bridge ----------------------------------------------------- */

/* The client's end of an upgraded @http: a client-role bridge, whose inner end carries
 * what an agent would write on a raw connection. */
static GSocketConnection *
http_bridge (Http *http, GBytes *leftover)
{
  CvWsBridgeOptions options;
  g_autoptr (GError) error = NULL;
  GSocketConnection *inner;

  cv_ws_bridge_options_init (&options);
  options.is_client = TRUE;
  options.peer_name = "the gateway";
  inner = cv_ws_bridge_start (http->stream, leftover, &options, NULL, &error);
  g_assert_no_error (error);
  /* The bridge has the stream now: it must not be closed here. */
  g_clear_object (&http->stream);
  return inner;
}

/* A WebSocket to the plain listener (@tls FALSE) or the TLS port, upgraded with @extra
 * header lines.  Returns: (transfer full): the inner end */
static GSocketConnection *
websocket_connect (Fixture *fixture, gboolean tls, const char *extra)
{
  g_autoptr (Http) http = tls ? connect_https (fixture) : connect_plain (fixture);
  g_autoptr (GBytes) leftover = http_upgrade (http, extra);

  return http_bridge (http, leftover);
}

/* A raw connection (gateway-fixture.h) over @connection (transfer full). */
static Raw *
raw_over (Fixture *fixture, GSocketConnection *connection)
{
  Raw *raw = g_new0 (Raw, 1);

  raw->opened_us = g_get_monotonic_time ();
  raw->connection = connection;
  raw->received = g_byte_array_new ();
  raw_watch (raw);
  g_ptr_array_add (fixture->raws, raw);
  return raw;
}

static Agent *
websocket_login (Fixture *fixture,
                 gboolean tls,
                 const char *extra,
                 CvIdentity *identity,
                 CvAgentRole role,
                 const char *name)
{
  Agent *agent = agent_over (fixture, identity, websocket_connect (fixture, tls, extra), NULL);

  agent_start_mux (agent);
  agent_hello (agent, role, "s1", role == CV_AGENT_ROLE_SHARE ? SHARE_PASSWORD : CONNECT_PASSWORD,
               name);
  g_assert_cmpstr (agent_answer (agent), ==, "welcome");
  return agent;
}

static gboolean
no_bridge_runs (gpointer data)
{
  return cv_ws_bridge_count_running () == 0;
}

/* A control link inside a WebSocket is one as on the raw port: TLS with the gateway's
 * key pinned, HELLO, WELCOME; plain (behind a proxy, whose X-Forwarded-For names the
 * agent) and over HTTPS. */
static void
test_control_link (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect;

  use_web_gateway (fixture, NULL, NULL);
  share = websocket_login (fixture, FALSE, "X-Forwarded-For: 203.0.113.5\r\n",
                           fixture->share_identity, CV_AGENT_ROLE_SHARE, "server");
  g_assert_cmpuint (count_log_lines ("session s1: share agent “server” online from 203.0.113.5"),
                    ==, 1);
  connect = websocket_login (fixture, TRUE, NULL, fixture->connect_identity, CV_AGENT_ROLE_CONNECT,
                             "laptop");
  g_assert_cmpuint (cv_gateway_get_n_links (fixture->gateway), ==, 2);
  g_assert_cmpuint (cv_gateway_get_n_sessions_online (fixture->gateway), ==, 1);
  /* Both are counted as logged in: no slot is held for them any more. */
  wait_unauthenticated_gone (fixture);

  /* Control messages cross both ways: a tunnel is offered to the two of them. */
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  agent_next (share, CV_CONTROL_TUNNEL_OFFER);
  agent_next (connect, CV_CONTROL_TUNNEL_OFFER);

  agent_close (share);
  agent_close (connect);
  g_ptr_array_set_size (fixture->agents, 0);
  g_assert_true (gateway_wait_until (no_bridge_runs, NULL, WAIT_MS));
}

/* A tunnel with one half inside a WebSocket and the other raw: joined by the gateway,
 * every byte through, a megabyte each way (many messages). */
static void
test_tunnel (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect;
  JsonObject *to_share, *to_connect;
  Raw *share_half, *connect_half;
  g_autofree char *preface = NULL;

  use_web_gateway (fixture, NULL, NULL);
  login_pair (fixture, &share, &connect);
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  to_share = agent_next (share, CV_CONTROL_TUNNEL_OFFER);
  to_connect = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);

  preface = tunnel_preface (member (to_share, "ticket"));
  share_half = raw_over (fixture, websocket_connect (fixture, FALSE, NULL));
  raw_write (share_half, preface, CV_TUNNEL_PREFACE_LENGTH);
  connect_half = present_ticket (fixture, member (to_connect, "ticket"));
  assert_relayed (connect_half, share_half, 1024 * 1024, 1);
  assert_relayed (share_half, connect_half, 1024 * 1024, 2);
  g_assert_cmpuint (count_log_lines ("session s1: tunnel joined"), ==, 1);

  /* The same with the WebSocket half over HTTPS on the TLS port, the other way round. */
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  to_share = agent_next (share, CV_CONTROL_TUNNEL_OFFER);
  to_connect = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
  g_free (preface);
  preface = tunnel_preface (member (to_connect, "ticket"));
  share_half = present_ticket (fixture, member (to_share, "ticket"));
  connect_half = raw_over (fixture, websocket_connect (fixture, TRUE, NULL));
  raw_write (connect_half, preface, CV_TUNNEL_PREFACE_LENGTH);
  assert_relayed (connect_half, share_half, 1024 * 1024, 3);
  assert_relayed (share_half, connect_half, 1024 * 1024, 4);
  g_assert_cmpuint (count_log_lines ("session s1: tunnel joined"), ==, 2);

  /* Either end closing ends the other, through the bridges. */
  g_ptr_array_remove (fixture->raws, connect_half);
  g_assert_true (gateway_wait_until (raw_is_closed, share_half, WAIT_MS));
  g_ptr_array_set_size (fixture->raws, 0);
  g_assert_true (gateway_wait_until (no_bridge_runs, NULL, WAIT_MS));
}

/* Inside the WebSocket the first byte decides, as on the raw port, and the intake knows
 * the client by its address: an unknown ticket is closed, and logged as the client's. */
static void
test_unknown_ticket (Fixture *fixture, gconstpointer data)
{
  g_autofree char *ticket = cv_ticket_new ();
  g_autofree char *preface = tunnel_preface (ticket);
  Raw *half;

  use_web_gateway (fixture, NULL, NULL);
  half = raw_over (fixture, websocket_connect (fixture, FALSE, "X-Forwarded-For: 203.0.113.9\r\n"));
  raw_write (half, preface, CV_TUNNEL_PREFACE_LENGTH);
  raw_assert_closed_within (half, WAIT_MS);
  g_assert_cmpuint (count_log_lines ("203.0.113.9: tunnel with an unknown or used ticket; closing"),
                    ==, 1);

  half = raw_over (fixture, websocket_connect (fixture, TRUE, NULL));
  raw_write (half, "GET / HTTP/1.1\r\n\r\n", 18);
  raw_assert_closed_within (half, WAIT_MS);
  g_assert_cmpuint (count_log_lines ("127.0.0.1: not a Culvert agent (first byte 0x47); closing"),
                    ==, 1);
  wait_unauthenticated_gone (fixture);
}

/* Upgraded, then silent: the intake's own deadline, from the upgrade. */
static void
test_silent_websocket (Fixture *fixture, gconstpointer data)
{
  Raw *inner;

  use_web_gateway (fixture, DEADLINE_LIMITS, NULL);
  inner = raw_over (fixture, websocket_connect (fixture, FALSE, NULL));
  g_assert_true (gateway_wait_until (raw_is_closed, inner, WAIT_MS));
  g_assert_cmpint ((inner->closed_us - inner->opened_us) / 1000, >=, 600);
  g_assert_cmpint ((inner->closed_us - inner->opened_us) / 1000, <, 3000);
  g_assert_cmpuint (count_log_lines ("127.0.0.1: nothing useful within the handshake deadline"), ==,
                    1);
  wait_unauthenticated_gone (fixture);
}

/* Through a trusted proxy the per-address limit is the named client's: twenty held by
 * one client refuse its twenty-first, not another's. */
static void
test_forwarded_for_limits (Fixture *fixture, gconstpointer data)
{
  g_autoptr (Http) refused = NULL;
  g_autoptr (Http) other = NULL;
  g_autoptr (GBytes) leftover = NULL;

  use_web_gateway (fixture, ADMISSION_LIMITS, NULL);
  for (guint i = 0; i < PER_ADDRESS; i++)
    raw_over (fixture, websocket_connect (fixture, FALSE, "X-Forwarded-For: 198.51.100.7\r\n"));
  wait_unauthenticated (fixture, PER_ADDRESS);
  g_assert_cmpuint (gateway_refusals->len, ==, 0);

  refused = http_connect (web_port);
  {
    g_autofree char *request = upgrade_request ("/culvert", "X-Forwarded-For: 198.51.100.7\r\n");

    g_assert_cmpuint (http_exchange (refused, request), ==, SOUP_STATUS_SERVICE_UNAVAILABLE);
  }
  g_assert_cmpuint (count_refusals ("198.51.100.7: refused: 20 unauthenticated connections from "
                                    "this address (limit 20)"),
                    ==, 1);

  other = http_connect (web_port);
  leftover = http_upgrade (other, "X-Forwarded-For: 198.51.100.8\r\n");
  raw_over (fixture, http_bridge (other, g_steal_pointer (&leftover)));
  wait_unauthenticated (fixture, PER_ADDRESS + 1);
}

/* On a context of its own (gateway_test_add_on_context()): libsoup's sources, the
 * deadline's, the bridge's and the intake's are all on the gateway's context, none on
 * the global default one, which nothing iterates. */
static void
test_on_context (Fixture *fixture, gconstpointer data)
{
  /* The cases before this one ran on the global default context: what their ends left
   * there (a cancelled read's sources) goes first. */
  cv_test_iterate_for (g_main_context_default (), 100);
  use_web_gateway (fixture, DEADLINE_LIMITS, NULL);
  {
    g_autoptr (Http) http = connect_https (fixture);

    g_assert_cmpuint (http_exchange (http, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ==,
                      SOUP_STATUS_NOT_FOUND);
  }
  {
    g_autoptr (Http) silent = http_connect (web_port);

    http_watch (silent, FALSE);
    g_assert_true (gateway_wait_until (http_is_closed, silent, WAIT_MS));
  }
  websocket_login (fixture, FALSE, NULL, fixture->share_identity, CV_AGENT_ROLE_SHARE, "server");
  websocket_login (fixture, TRUE, NULL, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "laptop");
  g_ptr_array_set_size (fixture->agents, 0);
  dispose_gateway (fixture);
  g_assert_true (gateway_wait_until (no_bridge_runs, NULL, WAIT_MS));
}

/* A junk line is logged in full once an interval, and at debug level after that
 * (base/cv-log-summary): those count here too, as the fixture counts the others. */
static void
on_engine_debug (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
  g_ptr_array_add (gateway_log, g_strdup (message));
  if (strstr (message, ": refused: ") != NULL)
    g_ptr_array_add (gateway_refusals, g_strdup (message));
}

int
main (int argc, char **argv)
{
  gateway_test_init (&argc, &argv);
  g_log_set_handler ("culvert-engine", G_LOG_LEVEL_DEBUG, on_engine_debug, NULL);

  gateway_test_add ("/gateway/websocket/plain/answers", NULL, test_plain_answers);
  gateway_test_add ("/gateway/websocket/https/answers", NULL, test_https_answers);
  gateway_test_add ("/gateway/websocket/upgrade", NULL, test_upgrade);
  gateway_test_add ("/gateway/websocket/https/alpn", NULL, test_https_alpn);
  gateway_test_add ("/gateway/websocket/off", NULL, test_websocket_off);
  gateway_test_add ("/gateway/websocket/deadline", NULL, test_deadline);
  gateway_test_add ("/gateway/websocket/admission", NULL, test_admission);
  gateway_test_add ("/gateway/websocket/stop", NULL, test_stop);
  gateway_test_add ("/gateway/websocket/forwarded-for", NULL, test_forwarded_for);
  gateway_test_add ("/gateway/websocket/forwarded-for-untrusted", NULL,
                    test_forwarded_for_untrusted);
  gateway_test_add ("/gateway/websocket/bridge/control-link", NULL, test_control_link);
  gateway_test_add ("/gateway/websocket/bridge/tunnel", NULL, test_tunnel);
  gateway_test_add ("/gateway/websocket/bridge/unknown-ticket", NULL, test_unknown_ticket);
  gateway_test_add ("/gateway/websocket/bridge/silent", NULL, test_silent_websocket);
  gateway_test_add ("/gateway/websocket/bridge/forwarded-for-limits", NULL,
                    test_forwarded_for_limits);
  gateway_test_add_on_context ("/gateway/websocket/on-context", NULL, test_on_context);
  return gateway_test_run ();
}
