/* test-ws-upgrade.c: the agents' HTTP/1.1 upgrade to WebSocket — against libsoup's
 * SoupServer (the real peer: it must accept our request, and its 404s and pages must be
 * told apart), and against scripted servers for what a well-behaved one never sends (a
 * wrong accept, an extension, a head too long, silence). */
#include "cv-test-util.h"
#include "cv-test-web.h"
#include "transport/cv-ws-upgrade.h"

#include <libsoup/soup.h>
#include <string.h>

#define GUARD_MS 10000

/* ---- running an upgrade ------------------------------------------------- */

typedef struct {
  gboolean done;
  GBytes *leftover;
  GError *error;
} Outcome;

static void
outcome_clear (Outcome *outcome)
{
  g_clear_pointer (&outcome->leftover, g_bytes_unref);
  g_clear_error (&outcome->error);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Outcome, outcome_clear)

static void
on_upgraded (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Outcome *outcome = user_data;

  outcome->leftover = cv_ws_upgrade_client_finish (result, &outcome->error);
  outcome->done = TRUE;
}

static gboolean
is_done (gpointer data)
{
  return ((Outcome *) data)->done;
}

static GSocketConnection *
connect_to (guint16 port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  GSocketConnection *connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL,
                                                                   &error);

  g_assert_no_error (error);
  return connection;
}

static void
run_upgrade (GIOStream *stream,
             const char *host,
             guint16 port,
             gboolean tls,
             const char *path,
             guint timeout_ms,
             GCancellable *cancellable,
             Outcome *outcome)
{
  cv_ws_upgrade_client_async (stream, host, port, tls, path, timeout_ms, cancellable, on_upgraded,
                              outcome);
  g_assert_true (cv_test_wait_until (is_done, outcome, GUARD_MS));
  g_assert_true ((outcome->leftover == NULL) != (outcome->error == NULL));
}

/* ---- against SoupServer ------------------------------------------------- */

typedef struct {
  GBytes *message;
} Echo;

static void
on_echo (SoupWebsocketConnection *connection, gint type, GBytes *message, gpointer user_data)
{
  Echo *echo = user_data;

  g_assert_cmpint (type, ==, SOUP_WEBSOCKET_DATA_BINARY);
  g_clear_pointer (&echo->message, g_bytes_unref);
  echo->message = g_bytes_ref (message);
}

static gboolean
has_echo (gpointer data)
{
  return ((Echo *) data)->message != NULL;
}

/* SoupServer takes our request; the stream is then a WebSocket (libsoup's own client
 * end works on it, and the server echoes a message back). */
static void
test_soup_success (void)
{
  g_autoptr (CvTestWeb) web = cv_test_web_new (NULL);
  g_autoptr (GSocketConnection) connection = connect_to (cv_test_web_get_port (web));
  g_auto (Outcome) outcome = { 0 };
  g_autoptr (GUri) uri = NULL;
  g_autoptr (SoupWebsocketConnection) client = NULL;
  g_autoptr (GBytes) sent = g_bytes_new_static ("to the gateway and back", 23);
  Echo echo = { 0 };

  run_upgrade (G_IO_STREAM (connection), "127.0.0.1", cv_test_web_get_port (web), FALSE,
               CV_TEST_WEB_PATH, 0, NULL, &outcome);
  g_assert_no_error (outcome.error);
  g_assert_cmpuint (g_bytes_get_size (outcome.leftover), ==, 0);
  g_assert_cmpuint (cv_test_web_get_upgrades (web), ==, 1);

  uri = g_uri_parse ("ws://127.0.0.1/culvert", G_URI_FLAGS_NONE, NULL);
  client = soup_websocket_connection_new (G_IO_STREAM (connection), uri,
                                          SOUP_WEBSOCKET_CONNECTION_CLIENT, NULL, NULL, NULL);
  g_signal_connect (client, "message", G_CALLBACK (on_echo), &echo);
  soup_websocket_connection_send_message (client, SOUP_WEBSOCKET_DATA_BINARY, sent);
  g_assert_true (cv_test_wait_until (has_echo, &echo, GUARD_MS));
  g_assert_true (g_bytes_equal (echo.message, sent));
  g_signal_handlers_disconnect_by_func (client, on_echo, &echo);
  g_bytes_unref (echo.message);
}

static void
test_soup_not_found (void)
{
  g_autoptr (CvTestWeb) web = cv_test_web_new (NULL);
  guint16 port = cv_test_web_get_port (web);
  g_autoptr (GSocketConnection) connection = connect_to (port);
  g_auto (Outcome) outcome = { 0 };
  g_autofree char *expected =
    g_strdup_printf ("the web server at 127.0.0.1:%u has no Culvert gateway at /gateway (HTTP 404)",
                     port);

  run_upgrade (G_IO_STREAM (connection), "127.0.0.1", port, FALSE, "/gateway", 0, NULL, &outcome);
  g_assert_error (outcome.error, CV_WS_UPGRADE_ERROR, CV_WS_UPGRADE_ERROR_NOT_FOUND);
  g_assert_cmpstr (outcome.error->message, ==, expected);
}

/* A page where the gateway should be: 200, not 101. */
static void
test_soup_page (void)
{
  g_autoptr (CvTestWeb) web = cv_test_web_new (NULL);
  guint16 port = cv_test_web_get_port (web);
  g_autoptr (GSocketConnection) connection = connect_to (port);
  g_auto (Outcome) outcome = { 0 };
  g_autofree char *expected = g_strdup_printf ("the web server at 127.0.0.1:%u answered HTTP 200 "
                                               "instead of switching to WebSocket: is it a "
                                               "Culvert gateway?",
                                               port);

  run_upgrade (G_IO_STREAM (connection), "127.0.0.1", port, FALSE, CV_TEST_WEB_PLAIN_PATH, 0, NULL,
               &outcome);
  g_assert_error (outcome.error, CV_WS_UPGRADE_ERROR, CV_WS_UPGRADE_ERROR_NOT_SWITCHED);
  g_assert_cmpstr (outcome.error->message, ==, expected);
}

/* ---- against scripted servers ------------------------------------------- */

typedef enum {
  ANSWER_LEFTOVER, /* a good 101, and bytes after it in the same write */
  ANSWER_DRIBBLE,  /* a good 101 a few bytes at a time, then bytes after it */
  ANSWER_BAD_ACCEPT,
  ANSWER_NO_ACCEPT,
  ANSWER_EXTENSION,
  ANSWER_PROTOCOL,
  ANSWER_NOT_WEBSOCKET,
  ANSWER_HUGE_HEAD,
  ANSWER_EARLY_CLOSE,
  ANSWER_NOT_HTTP,
  ANSWER_BAD_GATEWAY,
  ANSWER_REDIRECT,
  ANSWER_SILENT,
} Answer;

#define LEFTOVER "\x82\x05hello"

typedef struct {
  GSocket *listener;
  guint16 port;
  Answer answer;
  GThread *thread;
  char *request;
} Scripted;

static char *
accept_for (const char *key)
{
  g_autofree char *joined = g_strconcat (key, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", NULL);
  g_autoptr (GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize len = sizeof digest;

  g_checksum_update (sha1, (const guchar *) joined, -1);
  g_checksum_get_digest (sha1, digest, &len);
  return g_base64_encode (digest, len);
}

static void
send_all (GSocket *socket, const char *data, gsize len)
{
  g_autoptr (GError) error = NULL;
  gsize sent = 0;

  while (sent < len)
    {
      gssize n = g_socket_send (socket, data + sent, len - sent, NULL, &error);

      g_assert_no_error (error);
      sent += (gsize) n;
    }
}

static gpointer
scripted_run (gpointer data)
{
  Scripted *scripted = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) socket = g_socket_accept (scripted->listener, NULL, &error);
  g_autoptr (GString) request = g_string_new (NULL);
  g_autofree char *accept = NULL;
  g_autofree char *good = NULL;
  const char *key;
  char buffer[1024];

  g_assert_no_error (error);
  g_socket_set_timeout (socket, GUARD_MS / 1000);
  while (strstr (request->str, "\r\n\r\n") == NULL && request->len < 8192)
    {
      gssize n = g_socket_receive (socket, buffer, sizeof buffer, NULL, &error);

      g_assert_no_error (error);
      g_assert_cmpint (n, >, 0);
      g_string_append_len (request, buffer, n);
    }
  key = strstr (request->str, "Sec-WebSocket-Key: ");
  g_assert_nonnull (key);
  {
    g_autofree char *value = g_strndup (key + 19, strcspn (key + 19, "\r"));

    accept = accept_for (value);
  }
  good = g_strdup_printf ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n",
                          accept);
  switch (scripted->answer)
    {
    case ANSWER_LEFTOVER:
      {
        g_autofree char *all = g_strconcat (good, "\r\n", LEFTOVER, NULL);

        send_all (socket, all, strlen (all));
      }
      break;
    case ANSWER_DRIBBLE:
      {
        g_autofree char *head = g_strconcat (good, "\r\n", NULL);

        for (gsize i = 0; i < strlen (head); i += 7)
          {
            send_all (socket, head + i, MIN (7, strlen (head) - i));
            g_usleep (2000);
          }
        g_usleep (20000);
        send_all (socket, LEFTOVER, strlen (LEFTOVER));
      }
      break;
    case ANSWER_BAD_ACCEPT:
      {
        static const char answer[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                     "Connection: Upgrade\r\n"
                                     "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

        send_all (socket, answer, strlen (answer));
      }
      break;
    case ANSWER_NO_ACCEPT:
      {
        static const char answer[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                                     "Connection: Upgrade\r\n\r\n";

        send_all (socket, answer, strlen (answer));
      }
      break;
    case ANSWER_EXTENSION:
    case ANSWER_PROTOCOL:
      {
        g_autofree char *all =
          g_strconcat (good,
                       scripted->answer == ANSWER_EXTENSION
                         ? "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n"
                         : "Sec-WebSocket-Protocol: chat\r\n\r\n",
                       NULL);

        send_all (socket, all, strlen (all));
      }
      break;
    case ANSWER_NOT_WEBSOCKET:
      {
        g_autofree char *all = g_strdup_printf ("HTTP/1.1 101 Switching Protocols\r\n"
                                                "Upgrade: h2c\r\nConnection: Upgrade\r\n"
                                                "Sec-WebSocket-Accept: %s\r\n\r\n",
                                                accept);

        send_all (socket, all, strlen (all));
      }
      break;
    case ANSWER_HUGE_HEAD:
      {
        g_autofree char *filler = g_strnfill (10000, 'x');

        send_all (socket, good, strlen (good));
        send_all (socket, "X-Filler: ", 10);
        send_all (socket, filler, strlen (filler));
      }
      break;
    case ANSWER_EARLY_CLOSE:
      send_all (socket, "HTTP/1.1 101 Swi", 16);
      break;
    case ANSWER_NOT_HTTP:
      send_all (socket, "SSH-2.0-OpenSSH_9.2\r\n\r\n", 23);
      break;
    case ANSWER_BAD_GATEWAY:
      {
        static const char answer[] = "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";

        send_all (socket, answer, strlen (answer));
      }
      break;
    case ANSWER_REDIRECT:
      {
        static const char answer[] = "HTTP/1.1 301 Moved Permanently\r\n"
                                     "Location: https://elsewhere.example/culvert\r\n"
                                     "Content-Length: 0\r\n\r\n";

        send_all (socket, answer, strlen (answer));
      }
      break;
    case ANSWER_SILENT:
    default:
      break;
    }
  if (scripted->answer != ANSWER_EARLY_CLOSE && scripted->answer != ANSWER_NOT_HTTP)
    /* Open until the client is done with it (or the guard). */
    while (g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL) > 0)
      ;
  scripted->request = g_string_free (g_steal_pointer (&request), FALSE);
  g_socket_close (socket, NULL);
  return NULL;
}

static Scripted *
scripted_new (Answer answer)
{
  Scripted *scripted = g_new0 (Scripted, 1);

  scripted->listener = cv_test_listen_loopback (&scripted->port);
  g_socket_set_timeout (scripted->listener, GUARD_MS / 1000);
  scripted->answer = answer;
  scripted->thread = g_thread_new ("scripted web server", scripted_run, scripted);
  return scripted;
}

/* Joins the server (@connection closed first, so that it sees the end). */
static void
scripted_free (Scripted *scripted, GSocketConnection *connection)
{
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  g_thread_join (scripted->thread);
  g_object_unref (scripted->listener);
  g_free (scripted->request);
  g_free (scripted);
}

/* Runs an upgrade against @answer; the outcome is checked by the caller. */
static void
against (Answer answer, guint timeout_ms, Outcome *outcome)
{
  Scripted *scripted = scripted_new (answer);
  g_autoptr (GSocketConnection) connection = connect_to (scripted->port);

  run_upgrade (G_IO_STREAM (connection), "127.0.0.1", scripted->port, FALSE, "/culvert", timeout_ms,
               NULL, outcome);
  scripted_free (scripted, connection);
}

static void
assert_failure (Answer answer, CvWsUpgradeError code, const char *says)
{
  g_auto (Outcome) outcome = { 0 };

  against (answer, 0, &outcome);
  g_assert_error (outcome.error, CV_WS_UPGRADE_ERROR, (gint) code);
  g_test_message ("%s", outcome.error->message);
  g_assert_true (g_str_has_prefix (outcome.error->message, "the web server at 127.0.0.1:"));
  g_assert_nonnull (strstr (outcome.error->message, says));
}

/* What we ask, and that the bytes after the 101's blank line are the bridge's. */
static void
test_request_and_leftover (void)
{
  for (Answer answer = ANSWER_LEFTOVER; answer <= ANSWER_DRIBBLE; answer++)
    {
      Scripted *scripted = scripted_new (answer);
      g_autoptr (GSocketConnection) connection = connect_to (scripted->port);
      g_auto (Outcome) outcome = { 0 };
      g_autoptr (GString) after = g_string_new (NULL);
      g_autoptr (GError) error = NULL;

      run_upgrade (G_IO_STREAM (connection), "127.0.0.1", scripted->port, FALSE, "/a/b%20c", 0,
                   NULL, &outcome);
      g_assert_no_error (outcome.error);
      /* In one write with the head, read with it: handed on.  Written after it: left in
       * the stream.  Never lost, never twice. */
      g_string_append_len (after, g_bytes_get_data (outcome.leftover, NULL),
                           g_bytes_get_size (outcome.leftover));
      if (answer == ANSWER_LEFTOVER)
        g_assert_cmpstr (after->str, ==, LEFTOVER);
      while (after->len < strlen (LEFTOVER))
        {
          char buffer[64];
          gssize n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                                          buffer, sizeof buffer, NULL, &error);

          g_assert_no_error (error);
          g_assert_cmpint (n, >, 0);
          g_string_append_len (after, buffer, n);
        }
      g_assert_cmpstr (after->str, ==, LEFTOVER);
      scripted_free (scripted, connection);
    }
  {
    /* The request itself, and Host without the scheme's default port, IPv6 in brackets. */
    Scripted *scripted = scripted_new (ANSWER_LEFTOVER);
    g_autoptr (GSocketConnection) connection = connect_to (scripted->port);
    g_auto (Outcome) outcome = { 0 };
    g_autofree char *request = NULL;
    const char *key;
    g_autofree char *key_text = NULL;
    g_autofree guchar *nonce = NULL;
    gsize nonce_len = 0;

    run_upgrade (G_IO_STREAM (connection), "2001:db8::1", 443, TRUE, "/a/b%20c", 0, NULL, &outcome);
    g_assert_no_error (outcome.error);
    g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
    g_thread_join (scripted->thread);
    request = g_steal_pointer (&scripted->request);
    g_object_unref (scripted->listener);
    g_free (scripted);

    g_test_message ("%s", request);
    g_assert_true (g_str_has_prefix (request, "GET /a/b%20c HTTP/1.1\r\n"));
    g_assert_nonnull (strstr (request, "\r\nHost: [2001:db8::1]\r\n"));
    g_assert_nonnull (strstr (request, "\r\nUpgrade: websocket\r\n"));
    g_assert_nonnull (strstr (request, "\r\nConnection: Upgrade\r\n"));
    g_assert_nonnull (strstr (request, "\r\nSec-WebSocket-Version: 13\r\n"));
    g_assert_null (strstr (request, "Sec-WebSocket-Extensions"));
    g_assert_true (g_str_has_suffix (request, "\r\n\r\n"));
    key = strstr (request, "\r\nSec-WebSocket-Key: ");
    g_assert_nonnull (key);
    key_text = g_strndup (key + 21, strcspn (key + 21, "\r"));
    nonce = g_base64_decode (key_text, &nonce_len);
    g_assert_cmpuint (nonce_len, ==, 16);
  }
}

static void
test_bad_answers (void)
{
  assert_failure (ANSWER_BAD_ACCEPT, CV_WS_UPGRADE_ERROR_BAD_HANDSHAKE,
                  "switched to WebSocket with a bad Sec-WebSocket-Accept: it did not answer our "
                  "key");
  assert_failure (ANSWER_NO_ACCEPT, CV_WS_UPGRADE_ERROR_BAD_HANDSHAKE,
                  "with a missing Sec-WebSocket-Accept");
  assert_failure (ANSWER_EXTENSION, CV_WS_UPGRADE_ERROR_BAD_HANDSHAKE,
                  "switched to WebSocket with an extension we did not offer (permessage-deflate)");
  assert_failure (ANSWER_PROTOCOL, CV_WS_UPGRADE_ERROR_BAD_HANDSHAKE,
                  "with a subprotocol we did not offer (chat)");
  assert_failure (ANSWER_NOT_WEBSOCKET, CV_WS_UPGRADE_ERROR_BAD_HANDSHAKE,
                  "switched protocols, but not to WebSocket (Upgrade: “h2c”)");
  assert_failure (ANSWER_HUGE_HEAD, CV_WS_UPGRADE_ERROR_BAD_RESPONSE,
                  "answered the WebSocket upgrade with a head longer than 8192 bytes");
  assert_failure (ANSWER_EARLY_CLOSE, CV_WS_UPGRADE_ERROR_BAD_RESPONSE,
                  "closed the connection in the middle of its answer to the WebSocket upgrade");
  assert_failure (ANSWER_NOT_HTTP, CV_WS_UPGRADE_ERROR_BAD_RESPONSE,
                  "did not answer the WebSocket upgrade in HTTP/1.1");
  assert_failure (ANSWER_BAD_GATEWAY, CV_WS_UPGRADE_ERROR_NOT_SWITCHED,
                  "answered HTTP 502 Bad Gateway instead of switching to WebSocket: it may not "
                  "reach the Culvert gateway behind it");
  assert_failure (ANSWER_REDIRECT, CV_WS_UPGRADE_ERROR_NOT_SWITCHED,
                  "redirects /culvert to https://elsewhere.example/culvert (HTTP 301)");
}

/* A server that takes the request and says nothing: the deadline, named. */
static void
test_silent_deadline (void)
{
  g_auto (Outcome) outcome = { 0 };
  gint64 start = g_get_monotonic_time ();
  gint64 elapsed_ms;

  against (ANSWER_SILENT, 300, &outcome);
  elapsed_ms = (g_get_monotonic_time () - start) / 1000;
  g_assert_error (outcome.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_true (g_str_has_prefix (outcome.error->message, "the web server at 127.0.0.1:"));
  g_assert_true (g_str_has_suffix (outcome.error->message,
                                   " did not answer the WebSocket upgrade within 300 ms"));
  g_assert_cmpint (elapsed_ms, >=, 250);
  g_assert_cmpint (elapsed_ms, <, 5000);
}

static gboolean
cancel_soon (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static void
test_cancelled (void)
{
  Scripted *scripted = scripted_new (ANSWER_SILENT);
  g_autoptr (GSocketConnection) connection = connect_to (scripted->port);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_auto (Outcome) outcome = { 0 };

  g_timeout_add (50, cancel_soon, cancellable);
  run_upgrade (G_IO_STREAM (connection), "127.0.0.1", scripted->port, FALSE, "/culvert", 0,
               cancellable, &outcome);
  g_assert_error (outcome.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  scripted_free (scripted, connection);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ws-upgrade/soup/success", test_soup_success);
  g_test_add_func ("/ws-upgrade/soup/not-found", test_soup_not_found);
  g_test_add_func ("/ws-upgrade/soup/page", test_soup_page);
  g_test_add_func ("/ws-upgrade/request-and-leftover", test_request_and_leftover);
  g_test_add_func ("/ws-upgrade/bad-answers", test_bad_answers);
  g_test_add_func ("/ws-upgrade/silent-deadline", test_silent_deadline);
  g_test_add_func ("/ws-upgrade/cancelled", test_cancelled);

  return g_test_run ();
}
