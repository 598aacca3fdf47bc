/* test-agent-dial.c: dialling the gateway as the agents do — through a real HTTP proxy
 * (Debian's tinyproxy, started here with a config of our own: Basic credentials, and
 * CONNECT allowed to the target's port or not), to a raw TLS server, and by WebSocket
 * (ws:// and wss://, the outer TLS pinned or checked by a CA) to libsoup's SoupServer,
 * with the bytes carried by the bridge. */
#include "cv-test-proxy.h"
#include "cv-test-tls-server.h"
#include "cv-test-util.h"
#include "cv-test-web.h"
#include "transport/cv-gateway-dial.h"
#include "transport/cv-gateway-probe.h"
#include "transport/cv-tls.h"
#include "transport/cv-ws-bridge.h"
#include "transport/cv-ws-upgrade.h"

#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <string.h>

#define GUARD_MS 20000

static char *
file_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "files", "tls", name, NULL);
}

static char *
make_tmp_dir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("culvert-dial-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

/* ---- a raw TLS server: a gateway's port as far as the dial can tell ----- */

typedef struct {
  GSocketService *service;
  guint16 port;
  CvIdentity *identity;
  GPtrArray *streams; /* the server ends, kept open */
  guint pending;      /* handshakes under way: a probe's may end after its case */
  guint8 buffer[64];
} TlsServer;

static void
on_echoed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, NULL);
}

static void
on_server_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GIOStream *tls = user_data;
  TlsServer *server = g_object_get_data (G_OBJECT (tls), "server");
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, NULL);

  if (n > 0)
    g_output_stream_write_all_async (g_io_stream_get_output_stream (tls), server->buffer, n,
                                     G_PRIORITY_DEFAULT, NULL, on_echoed, NULL);
}

static void
on_server_handshake (GObject *source, GAsyncResult *result, gpointer user_data)
{
  TlsServer *server = user_data;
  GIOStream *tls = cv_test_tls_server_handshake_finish (result, NULL);

  server->pending--;
  if (tls == NULL)
    return;
  g_object_set_data (G_OBJECT (tls), "server", server);
  g_ptr_array_add (server->streams, tls);
  g_input_stream_read_async (g_io_stream_get_input_stream (tls), server->buffer,
                             sizeof server->buffer, G_PRIORITY_DEFAULT, NULL, on_server_read, tls);
}

static gboolean
on_incoming (GSocketService *service,
             GSocketConnection *connection,
             GObject *source,
             gpointer user_data)
{
  TlsServer *server = user_data;

  server->pending++;
  cv_test_tls_server_handshake_async (G_IO_STREAM (connection), server->identity, FALSE, NULL,
                                      CV_TLS_ALPN, 0, NULL, on_server_handshake, server);
  return TRUE;
}

static TlsServer *
tls_server_new (CvIdentity *identity)
{
  TlsServer *server = g_new0 (TlsServer, 1);
  g_autoptr (GError) error = NULL;

  server->identity = g_object_ref (identity);
  server->streams = g_ptr_array_new_with_free_func (g_object_unref);
  server->service = g_socket_service_new ();
  server->port = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER (server->service), NULL,
                                                      &error);
  g_assert_no_error (error);
  g_signal_connect (server->service, "incoming", G_CALLBACK (on_incoming), server);
  g_socket_service_start (server->service);
  return server;
}

static gboolean
no_handshake_pending (gpointer data)
{
  return ((TlsServer *) data)->pending == 0;
}

static void
tls_server_free (TlsServer *server)
{
  /* Its handshakes' callbacks use it; each has a deadline. */
  g_assert_true (cv_test_wait_until (no_handshake_pending, server, GUARD_MS));
  g_socket_service_stop (server->service);
  g_socket_listener_close (G_SOCKET_LISTENER (server->service));
  g_object_unref (server->service);
  g_ptr_array_unref (server->streams);
  g_object_unref (server->identity);
  g_free (server);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TlsServer, tls_server_free)

/* ---- dialling ----------------------------------------------------------- */

typedef struct {
  gboolean done;
  GSocketConnection *connection;
  GError *error;
} Dialled;

static void
dialled_clear (Dialled *dialled)
{
  g_clear_object (&dialled->connection);
  g_clear_error (&dialled->error);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Dialled, dialled_clear)

static void
on_dialled (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Dialled *dialled = user_data;

  dialled->connection = cv_gateway_dial_finish (result, &dialled->error);
  dialled->done = TRUE;
}

static gboolean
is_dialled (gpointer data)
{
  return ((Dialled *) data)->done;
}

static void
dial (const CvGatewayAddress *address, Dialled *dialled)
{
  cv_gateway_dial_async (address, NULL, on_dialled, dialled);
  g_assert_true (cv_test_wait_until (is_dialled, dialled, GUARD_MS));
  g_assert_true ((dialled->connection == NULL) != (dialled->error == NULL));
  if (dialled->error != NULL)
    g_test_message ("dial: %s", dialled->error->message);
}

typedef struct {
  gboolean done;
  GIOStream *tls;
  GError *error;
} Handshaken;

static void
on_handshake (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Handshaken *handshaken = user_data;

  handshaken->tls = cv_tls_client_handshake_finish (result, &handshaken->error);
  handshaken->done = TRUE;
}

static gboolean
is_handshaken (gpointer data)
{
  return ((Handshaken *) data)->done;
}

typedef struct {
  GByteArray *received;
  gsize want;
  gboolean failed;
  gboolean written;
  guint8 buffer[4096];
} Reading;

static void
on_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Reading *reading = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, NULL);

  if (n <= 0)
    {
      reading->failed = TRUE;
      return;
    }
  g_byte_array_append (reading->received, reading->buffer, n);
  if (reading->received->len < reading->want)
    g_input_stream_read_async (G_INPUT_STREAM (source), reading->buffer, sizeof reading->buffer,
                               G_PRIORITY_DEFAULT, NULL, on_read, reading);
}

static void
on_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Reading *reading = user_data;
  g_autoptr (GError) error = NULL;

  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error);
  g_assert_no_error (error);
  reading->written = TRUE;
}

static gboolean
is_echoed (gpointer data)
{
  Reading *reading = data;

  return reading->failed || (reading->written && reading->received->len >= reading->want);
}

/* Writes @data on @stream and reads as many bytes back (the peer echoes), both at once
 * and on this thread's context, where the bridge (or the TLS server) runs too. */
static void
assert_echo (GIOStream *stream, const void *data, gsize len)
{
  Reading reading = { g_byte_array_new (), len, FALSE };

  g_output_stream_write_all_async (g_io_stream_get_output_stream (stream), data, len,
                                   G_PRIORITY_DEFAULT, NULL, on_written, &reading);
  g_input_stream_read_async (g_io_stream_get_input_stream (stream), reading.buffer,
                             sizeof reading.buffer, G_PRIORITY_DEFAULT, NULL, on_read, &reading);
  g_assert_true (cv_test_wait_until (is_echoed, &reading, GUARD_MS));
  g_assert_false (reading.failed);
  g_assert_cmpmem (reading.received->data, reading.received->len, data, len);
  g_byte_array_unref (reading.received);
}

/* ---- through the proxy, raw TLS ----------------------------------------- */

typedef struct {
  char *dir;
  CvIdentity *identity; /* the raw TLS server's */
  TlsServer *server;
} RawFixture;

static void
raw_setup (RawFixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fixture->dir = make_tmp_dir ();
  fixture->identity = cv_identity_load_or_create (fixture->dir, "gateway", "gateway", NULL, &error);
  g_assert_no_error (error);
  fixture->server = tls_server_new (fixture->identity);
}

static void
raw_teardown (RawFixture *fixture, gconstpointer data)
{
  tls_server_free (fixture->server);
  g_object_unref (fixture->identity);
  cv_test_remove_tree (fixture->dir);
  g_free (fixture->dir);
}

/* The control link's TLS, as cv-agent-link.c makes it (the gateway pinned, the URL's
 * host as server name), over what the dial returned; the error, if any, in @error. */
static GIOStream *
gateway_tls (GSocketConnection *connection, const char *pin, GError **error)
{
  CvTlsPeerCheck check = {
    .mode = CV_TLS_PEER_CHECK_PINNED,
    .fingerprint = pin,
    .peer_name = "the gateway",
    .pin_key = "gateway_fingerprint",
  };
  Handshaken handshaken = { 0 };

  cv_tls_client_handshake_async (G_IO_STREAM (connection), "127.0.0.1", &check, NULL, CV_TLS_ALPN,
                                 0, NULL, on_handshake, &handshaken);
  g_assert_true (cv_test_wait_until (is_handshaken, &handshaken, GUARD_MS));
  if (handshaken.error != NULL)
    g_propagate_error (error, handshaken.error);
  return handshaken.tls;
}

static void
assert_tls_echo (GSocketConnection *connection, CvIdentity *server)
{
  g_autoptr (GError) error = NULL;
  Handshaken handshaken = { 0 };

  handshaken.tls = gateway_tls (connection, cv_identity_get_fingerprint (server), &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_tls_connection_get_protocol_version (G_TLS_CONNECTION (handshaken.tls)), ==,
                   G_TLS_PROTOCOL_VERSION_TLS_1_3);
  assert_echo (handshaken.tls, "the gateway's own TLS", 21);
  g_object_unref (handshaken.tls);
}

static void
assert_gateway_tls (RawFixture *fixture, GSocketConnection *connection)
{
  assert_tls_echo (connection, fixture->identity);
}

static void
test_proxy_raw_tls (RawFixture *fixture, gconstpointer data)
{
  g_autoptr (CvTestProxy) proxy = cv_test_proxy_start (fixture->server->port);
  g_auto (Dialled) dialled = { 0 };
  g_autofree char *log = NULL;
  g_autofree char *asked = NULL;
  CvGatewayAddress address = { .host = (char *) "127.0.0.1", .port = fixture->server->port };

  if (proxy == NULL)
    return;
  address.proxy = proxy->url;
  dial (&address, &dialled);
  g_assert_no_error (dialled.error);
  assert_gateway_tls (fixture, dialled.connection);
  log = cv_test_proxy_log (proxy);
  asked = g_strdup_printf ("CONNECT 127.0.0.1:%u", fixture->server->port);
  g_assert_nonnull (strstr (log, asked));
}

/* Right credentials aside, every way a proxy says no, in words that name it (never its
 * password) and say what to do. */
static void
test_proxy_refusals (RawFixture *fixture, gconstpointer data)
{
  g_autoptr (CvTestProxy) proxy = cv_test_proxy_start (0);
  g_autoptr (CvTestProxy) other_ports = NULL;
  g_autofree char *name = NULL;
  g_autofree char *expected = NULL;
  CvGatewayAddress address = { .host = (char *) "127.0.0.1", .port = fixture->server->port };

  if (proxy == NULL)
    return;
  name = g_strdup_printf ("http://127.0.0.1:%u", proxy->port);
  {
    g_auto (Dialled) dialled = { 0 };
    g_autofree char *wrong = g_strdup_printf ("http://" CV_TEST_PROXY_USER
                                              ":wrong-guess@127.0.0.1:%u",
                                              proxy->port);

    address.proxy = wrong;
    dial (&address, &dialled);
    g_assert_error (dialled.error, G_IO_ERROR, G_IO_ERROR_PROXY_AUTH_FAILED);
    /* tinyproxy refuses wrong credentials with 401 */
    expected = g_strdup_printf ("the proxy %s refused the credentials given (HTTP 401)", name);
    g_assert_cmpstr (dialled.error->message, ==, expected);
    g_assert_null (strstr (dialled.error->message, "wrong-guess"));
    g_clear_pointer (&expected, g_free);
  }
  {
    g_auto (Dialled) dialled = { 0 };

    address.proxy = name;
    dial (&address, &dialled);
    g_assert_error (dialled.error, G_IO_ERROR, G_IO_ERROR_PROXY_NEED_AUTH);
    expected = g_strdup_printf ("the proxy %s wants credentials (HTTP 407): give them in proxy as "
                                "http://user:password@HOST:PORT",
                                name);
    g_assert_cmpstr (dialled.error->message, ==, expected);
    g_clear_pointer (&expected, g_free);
  }
  {
    /* Allowed to CONNECT to another port only: 403. */
    g_auto (Dialled) dialled = { 0 };
    g_autofree char *other_name = NULL;

    other_ports = cv_test_proxy_start (1);
    other_name = g_strdup_printf ("http://127.0.0.1:%u", other_ports->port);
    address.proxy = other_ports->url;
    dial (&address, &dialled);
    g_assert_error (dialled.error, G_IO_ERROR, G_IO_ERROR_PROXY_NOT_ALLOWED);
    expected = g_strdup_printf ("the proxy %s refused to connect to 127.0.0.1:%u (HTTP 403: not "
                                "allowed there)",
                                other_name, fixture->server->port);
    g_assert_cmpstr (dialled.error->message, ==, expected);
    g_assert_null (strstr (dialled.error->message, CV_TEST_PROXY_PASSWORD));
    g_clear_pointer (&expected, g_free);
  }
  {
    /* The proxy reaches nothing there: 500 from tinyproxy. */
    g_auto (Dialled) dialled = { 0 };
    CvGatewayAddress nowhere = { .host = (char *) "127.0.0.1", .port = cv_test_free_port () };

    nowhere.proxy = proxy->url;
    dial (&nowhere, &dialled);
    g_assert_error (dialled.error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED);
    expected = g_strdup_printf ("the proxy %s could not connect to 127.0.0.1:%u (HTTP 500)", name,
                                nowhere.port);
    g_assert_true (g_str_has_prefix (dialled.error->message, expected));
    g_clear_pointer (&expected, g_free);
  }
  {
    /* No proxy there at all. */
    g_auto (Dialled) dialled = { 0 };
    guint16 closed = cv_test_free_port ();
    g_autofree char *url = g_strdup_printf ("http://" CV_TEST_PROXY_USER ":" CV_TEST_PROXY_PASSWORD
                                            "@127.0.0.1:%u",
                                            closed);

    address.proxy = url;
    dial (&address, &dialled);
    g_assert_error (dialled.error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
    expected = g_strdup_printf ("could not reach the proxy http://127.0.0.1:%u: ", closed);
    g_assert_true (g_str_has_prefix (dialled.error->message, expected));
    g_assert_null (strstr (dialled.error->message, CV_TEST_PROXY_PASSWORD));
  }
}

/* "direct" dials straight, whatever the environment says; and an invalid proxy in an
 * address built in code is an error, not a crash. */
static void
test_proxy_direct_and_invalid (RawFixture *fixture, gconstpointer data)
{
  CvGatewayAddress address = { .host = (char *) "127.0.0.1", .port = fixture->server->port };

  {
    g_auto (Dialled) dialled = { 0 };

    address.proxy = (char *) "direct";
    dial (&address, &dialled);
    g_assert_no_error (dialled.error);
    assert_gateway_tls (fixture, dialled.connection);
  }
  {
    g_auto (Dialled) dialled = { 0 };

    address.proxy = (char *) "socks5://u:hunter2@127.0.0.1:1080";
    dial (&address, &dialled);
    g_assert_error (dialled.error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_assert_true (g_str_has_prefix (dialled.error->message, "the proxy is not valid: "));
    g_assert_null (strstr (dialled.error->message, "hunter2"));
  }
}

/* No proxy key: the system's settings, here (libproxy, no desktop) https_proxy for a
 * raw connection; no_proxy and "direct" go around it.  In a child process, so that the
 * environment is set before anything asks a proxy resolver.  @data non-NULL: without
 * any GSettings schema, where the dial reads the environment itself (GNOME's resolver
 * would abort the process). */
static void
test_proxy_from_environment (RawFixture *fixture, gconstpointer data)
{
  g_autoptr (CvTestProxy) proxy = NULL;
  g_autofree char *log = NULL;

  if (g_test_subprocess ())
    {
      const char *url = g_getenv ("CULVERT_TEST_PROXY");
      CvGatewayAddress address = { .host = (char *) "127.0.0.1", .port = fixture->server->port };
      g_auto (Dialled) through = { 0 };
      g_auto (Dialled) around = { 0 };
      g_auto (Dialled) direct = { 0 };

      g_assert_nonnull (url);
      if (data != NULL)
        {
          g_setenv ("XDG_DATA_DIRS", fixture->dir, TRUE);
          g_unsetenv ("GSETTINGS_SCHEMA_DIR");
          g_assert_null (g_settings_schema_source_get_default ());
        }
      /* Upper case, and without its scheme, as it is often written. */
      g_setenv ("HTTPS_PROXY", url + strlen ("http://"), TRUE);
      g_unsetenv ("https_proxy");
      g_unsetenv ("no_proxy");
      g_unsetenv ("NO_PROXY");
      dial (&address, &through);
      g_assert_no_error (through.error);
      assert_gateway_tls (fixture, through.connection);
      /* The same server as "localhost", which no_proxy names. */
      g_setenv ("no_proxy", "example.com, localhost", TRUE);
      address.host = (char *) "localhost";
      dial (&address, &around);
      g_assert_no_error (around.error);
      address.host = (char *) "127.0.0.1";
      address.proxy = (char *) "direct";
      dial (&address, &direct);
      g_assert_no_error (direct.error);
      {
        /* A proxy of the system's that is not there: named as the system's. */
        g_auto (Dialled) nowhere = { 0 };
        guint16 closed = cv_test_free_port ();
        g_autofree char *variable = g_strdup_printf ("http://u:hunter2@127.0.0.1:%u", closed);
        g_autofree char *expected = g_strdup_printf (
          "could not reach the proxy http://127.0.0.1:%u (from the system's proxy settings): ",
          closed);

        g_setenv ("HTTPS_PROXY", variable, TRUE);
        address.proxy = NULL;
        dial (&address, &nowhere);
        g_assert_nonnull (nowhere.error);
        g_assert_true (g_str_has_prefix (nowhere.error->message, expected));
        g_assert_null (strstr (nowhere.error->message, "hunter2"));
      }
      {
        /* A password with "#", "/" or "@" in it, as curl takes it: split at the last
         * "@" and %-encoded, never logged (GIO would log the first two whole, and take
         * "ter2@127.0.0.1" for the host of the third). */
        static const char *const passwords[] = { "hun#ter2", "hun/ter2", "hun@ter2" };
        guint16 closed = cv_test_free_port ();
        g_autofree char *expected = g_strdup_printf (
          "could not reach the proxy http://127.0.0.1:%u (from the system's proxy settings): ",
          closed);

        for (guint i = 0; i < G_N_ELEMENTS (passwords); i++)
          {
            g_auto (Dialled) odd = { 0 };
            g_autofree char *variable = g_strdup_printf ("http://u:%s@127.0.0.1:%u", passwords[i],
                                                         closed);

            g_setenv ("HTTPS_PROXY", variable, TRUE);
            dial (&address, &odd);
            g_assert_nonnull (odd.error);
            g_test_message ("%s: %s", passwords[i], odd.error->message);
            g_assert_true (g_str_has_prefix (odd.error->message, expected));
            g_assert_null (strstr (odd.error->message, "ter2"));
          }
      }
      {
        /* Not a proxy at all: the variable is named, its password not shown, and the
         * dial fails rather than going direct (the server is right there). */
        g_auto (Dialled) bad = { 0 };

        g_setenv ("HTTPS_PROXY", "http://u:hunter2@127.0.0.1:abc", TRUE);
        dial (&address, &bad);
        g_assert_error (bad.error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
        g_assert_null (bad.connection);
        g_test_message ("%s", bad.error->message);
        g_assert_true (g_str_has_prefix (bad.error->message,
                                         "the proxy in the environment is not valid: "
                                         "HTTPS_PROXY=http://…@127.0.0.1:abc ("));
        g_assert_null (strstr (bad.error->message, "hunter2"));
      }
      {
        /* http_proxy too, without its scheme (its redaction too). */
        g_auto (Dialled) bad = { 0 };

        g_unsetenv ("HTTPS_PROXY");
        g_setenv ("http_proxy", "u:hunter2@bad!host:3128", TRUE);
        dial (&address, &bad);
        g_unsetenv ("http_proxy");
        g_assert_error (bad.error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
        g_test_message ("%s", bad.error->message);
        g_assert_true (g_str_has_prefix (bad.error->message,
                                         "the proxy in the environment is not valid: "
                                         "http_proxy=…@bad!host:3128 ("));
        g_assert_null (strstr (bad.error->message, "hunter2"));
      }
      return;
    }
  proxy = cv_test_proxy_start (0);
  if (proxy == NULL)
    return;
  /* The child runs its own TLS server: its own fixture. */
  g_setenv ("CULVERT_TEST_PROXY", proxy->url, TRUE);
  /* Everything the child logs, debug too, is read for the passwords. */
  g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);
  g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_unsetenv ("G_MESSAGES_DEBUG");
  g_unsetenv ("CULVERT_TEST_PROXY");
  g_test_trap_assert_passed ();
  g_test_trap_assert_stderr_unmatched ("*hunter2*");
  g_test_trap_assert_stderr_unmatched ("*ter2*");
  g_test_trap_assert_stderr_unmatched ("*" CV_TEST_PROXY_PASSWORD "*");
  log = cv_test_proxy_log (proxy);
  g_test_message ("%s", log);
  /* One CONNECT: to 127.0.0.1, not to localhost (no_proxy), nor the direct one. */
  g_assert_nonnull (strstr (log, "CONNECT 127.0.0.1:"));
  g_assert_true (strstr (log, "CONNECT 127.0.0.1:") == g_strrstr (log, "CONNECT 127.0.0.1:"));
  g_assert_null (strstr (log, "CONNECT localhost:"));
}

/* ---- by WebSocket ------------------------------------------------------- */

typedef struct {
  char *dir;
  CvIdentity *identity; /* the web server's, self-signed */
  CvTestWeb *web;       /* HTTPS with it */
  CvTestWeb *plain;     /* HTTP */
} WebFixture;

static void
web_setup (WebFixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fixture->dir = make_tmp_dir ();
  fixture->identity = cv_identity_load_or_create (fixture->dir, "web", "web", NULL, &error);
  g_assert_no_error (error);
  fixture->web = cv_test_web_new (cv_identity_get_certificate (fixture->identity));
  fixture->plain = cv_test_web_new (NULL);
}

static gboolean
no_bridge_running (gpointer data)
{
  return cv_ws_bridge_count_running () == 0;
}

static void
web_teardown (WebFixture *fixture, gconstpointer data)
{
  /* The bridges of the connections the case closed end with their WebSocket. */
  g_assert_true (cv_test_wait_until (no_bridge_running, NULL, GUARD_MS));
  cv_test_web_free (fixture->web);
  cv_test_web_free (fixture->plain);
  g_object_unref (fixture->identity);
  cv_test_remove_tree (fixture->dir);
  g_free (fixture->dir);
}

static CvGatewayAddress
wss_address (WebFixture *fixture, const char *path)
{
  CvGatewayAddress address = {
    .host = (char *) "127.0.0.1",
    .port = cv_test_web_get_port (fixture->web),
    .web_path = (char *) path,
    .web_tls = TRUE,
    .web_fingerprint = (char *) cv_identity_get_fingerprint (fixture->identity),
    .proxy = (char *) "direct",
  };

  return address;
}

/* Bytes written on the bridge's end come back from SoupServer's echo: a WebSocket's
 * worth of them, in several messages. */
static void
assert_bridged (GSocketConnection *connection)
{
  g_autofree guint8 *data = g_malloc (300 * 1024);

  g_assert_true (G_IS_SOCKET_CONNECTION (connection));
  assert_echo (G_IO_STREAM (connection), "hello", 5);
  cv_test_fill_random (data, 300 * 1024, 7);
  assert_echo (G_IO_STREAM (connection), data, 300 * 1024);
}

static void
test_wss_pinned (WebFixture *fixture, gconstpointer data)
{
  CvGatewayAddress address = wss_address (fixture, CV_TEST_WEB_PATH);
  g_auto (Dialled) dialled = { 0 };

  dial (&address, &dialled);
  g_assert_no_error (dialled.error);
  g_assert_cmpuint (cv_test_web_get_upgrades (fixture->web), ==, 1);
  assert_bridged (dialled.connection);
}

static void
test_ws_plain (WebFixture *fixture, gconstpointer data)
{
  CvGatewayAddress address = {
    .host = (char *) "127.0.0.1",
    .port = cv_test_web_get_port (fixture->plain),
    .web_path = (char *) CV_TEST_WEB_PATH,
    .proxy = (char *) "direct",
  };
  g_auto (Dialled) dialled = { 0 };

  dial (&address, &dialled);
  g_assert_no_error (dialled.error);
  assert_bridged (dialled.connection);
}

/* The web server's certificate from a CA the address names (web_database), for
 * "localhost"; by another name, refused with its fingerprint and the key to pin it. */
static void
test_wss_ca (WebFixture *fixture, gconstpointer data)
{
  g_autofree char *chain = file_path ("server-fullchain.pem");
  g_autofree char *key_source = file_path ("server-key.pem");
  g_autofree char *key = g_build_filename (fixture->dir, "privkey.pem", NULL);
  g_autofree char *ca = file_path ("ca.pem");
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (CvIdentity) issued = NULL;
  g_autoptr (GTlsDatabase) database = NULL;
  g_autoptr (CvTestWeb) web = NULL;
  gsize length;

  g_file_get_contents (key_source, &contents, &length, &error);
  g_assert_no_error (error);
  g_file_set_contents_full (key, contents, length, G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);
  issued = cv_identity_new_from_files (chain, key, &error);
  g_assert_no_error (error);
  database = g_tls_file_database_new (ca, &error);
  g_assert_no_error (error);
  web = cv_test_web_new (cv_identity_get_certificate (issued));
  {
    CvGatewayAddress address = {
      .host = (char *) "localhost",
      .port = cv_test_web_get_port (web),
      .web_path = (char *) CV_TEST_WEB_PATH,
      .web_tls = TRUE,
      .web_database = database,
      .proxy = (char *) "direct",
    };
    g_auto (Dialled) dialled = { 0 };

    dial (&address, &dialled);
    g_assert_no_error (dialled.error);
    assert_bridged (dialled.connection);
  }
  {
    CvGatewayAddress address = {
      .host = (char *) "127.0.0.1",
      .port = cv_test_web_get_port (web),
      .web_path = (char *) CV_TEST_WEB_PATH,
      .web_tls = TRUE,
      .web_database = database,
      .proxy = (char *) "direct",
    };
    g_auto (Dialled) dialled = { 0 };
    g_autofree char *expected = NULL;

    dial (&address, &dialled);
    g_assert_error (dialled.error, CV_TLS_ERROR, CV_TLS_ERROR_UNTRUSTED);
    expected = g_strdup_printf ("the web server at 127.0.0.1:%u's certificate is not trusted (not "
                                "issued for \"127.0.0.1\"); its fingerprint is ",
                                address.port);
    g_assert_true (g_str_has_prefix (dialled.error->message, expected));
    g_assert_nonnull (strstr (dialled.error->message, "web_fingerprint"));
  }
  {
    /* The same without the CA: from nobody the system knows. */
    CvGatewayAddress address = {
      .host = (char *) "localhost",
      .port = cv_test_web_get_port (web),
      .web_path = (char *) CV_TEST_WEB_PATH,
      .web_tls = TRUE,
      .proxy = (char *) "direct",
    };
    g_auto (Dialled) dialled = { 0 };

    dial (&address, &dialled);
    g_assert_error (dialled.error, CV_TLS_ERROR, CV_TLS_ERROR_UNTRUSTED);
  }
}

static void
test_wss_wrong_pin (WebFixture *fixture, gconstpointer data)
{
  CvGatewayAddress address = wss_address (fixture, CV_TEST_WEB_PATH);
  g_auto (Dialled) dialled = { 0 };
  g_autofree char *expected = NULL;

  address.web_fingerprint =
    (char *) "sha256:"
             "3f9a1c7e5b2d8046e1a9c3b7d5f20864ac1e9b3d7f5a2c8e0b4d6f1a3c5e7b90";
  dial (&address, &dialled);
  g_assert_error (dialled.error, CV_TLS_ERROR, CV_TLS_ERROR_FINGERPRINT_MISMATCH);
  expected = g_strdup_printf ("the web server at 127.0.0.1:%u", address.port);
  g_assert_true (g_str_has_prefix (dialled.error->message, expected));
  g_assert_nonnull (
    strstr (dialled.error->message, cv_identity_get_fingerprint (fixture->identity)));
  g_assert_nonnull (strstr (dialled.error->message, "web_fingerprint"));
  g_assert_cmpuint (cv_test_web_get_upgrades (fixture->web), ==, 0);
}

/* 404 and a page, through the outer TLS: the upgrade's words reach the dialler. */
static void
test_wss_refusals (WebFixture *fixture, gconstpointer data)
{
  {
    CvGatewayAddress address = wss_address (fixture, "/nothing");
    g_auto (Dialled) dialled = { 0 };
    g_autofree char *expected = g_strdup_printf ("the web server at 127.0.0.1:%u has no Culvert "
                                                 "gateway at /nothing (HTTP 404)",
                                                 address.port);

    dial (&address, &dialled);
    g_assert_error (dialled.error, CV_WS_UPGRADE_ERROR, CV_WS_UPGRADE_ERROR_NOT_FOUND);
    g_assert_cmpstr (dialled.error->message, ==, expected);
  }
  {
    CvGatewayAddress address = wss_address (fixture, CV_TEST_WEB_PLAIN_PATH);
    g_auto (Dialled) dialled = { 0 };

    dial (&address, &dialled);
    g_assert_error (dialled.error, CV_WS_UPGRADE_ERROR, CV_WS_UPGRADE_ERROR_NOT_SWITCHED);
    g_assert_true (g_str_has_suffix (dialled.error->message,
                                     "answered HTTP 200 instead of switching to WebSocket: is it "
                                     "a Culvert gateway?"));
  }
  {
    /* ws:// to the HTTPS port: it does not answer in HTTP. */
    CvGatewayAddress address = wss_address (fixture, CV_TEST_WEB_PATH);
    g_auto (Dialled) dialled = { 0 };

    address.web_tls = FALSE;
    address.web_fingerprint = NULL;
    dial (&address, &dialled);
    g_assert_nonnull (dialled.error);
    g_assert_nonnull (strstr (dialled.error->message, "the web server at 127.0.0.1:"));
  }
}

/* ws:// and wss:// through the proxy, which sees only a CONNECT. */
static void
test_ws_through_proxy (WebFixture *fixture, gconstpointer data)
{
  g_autoptr (CvTestProxy) proxy = cv_test_proxy_start (0);

  if (proxy == NULL)
    return;
  {
    CvGatewayAddress address = wss_address (fixture, CV_TEST_WEB_PATH);
    g_auto (Dialled) dialled = { 0 };

    address.proxy = proxy->url;
    dial (&address, &dialled);
    g_assert_no_error (dialled.error);
    assert_bridged (dialled.connection);
  }
  {
    CvGatewayAddress address = {
      .host = (char *) "127.0.0.1",
      .port = cv_test_web_get_port (fixture->plain),
      .web_path = (char *) CV_TEST_WEB_PATH,
      .proxy = proxy->url,
    };
    g_auto (Dialled) dialled = { 0 };
    g_autofree char *log = NULL;
    g_autofree char *asked = NULL;

    dial (&address, &dialled);
    g_assert_no_error (dialled.error);
    assert_bridged (dialled.connection);
    log = cv_test_proxy_log (proxy);
    asked = g_strdup_printf ("CONNECT 127.0.0.1:%u", address.port);
    g_assert_nonnull (strstr (log, asked));
  }
}

typedef struct {
  gboolean done;
  char *fingerprint;
  GError *error;
} Probed;

static void
on_probed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Probed *probed = user_data;

  probed->fingerprint = cv_gateway_probe_fingerprint_finish (result, &probed->error);
  probed->done = TRUE;
}

static gboolean
is_probed (gpointer data)
{
  return ((Probed *) data)->done;
}

/* Behind the web server, a gateway's raw port (here a TLS server with the gateway's
 * ALPN): the control link's TLS runs unchanged in the WebSocket, checked by
 * gateway_fingerprint; the probe learns that key through the same dial. */
static void
test_wss_relayed (WebFixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CvIdentity) gateway = cv_identity_load_or_create (fixture->dir, "gateway", "gateway",
                                                               NULL, &error);
  g_autoptr (TlsServer) server = NULL;
  CvGatewayAddress address = wss_address (fixture, CV_TEST_WEB_PATH);

  g_assert_no_error (error);
  server = tls_server_new (gateway);
  cv_test_web_relay_to (fixture->web, server->port);
  {
    g_auto (Dialled) dialled = { 0 };

    dial (&address, &dialled);
    g_assert_no_error (dialled.error);
    assert_tls_echo (dialled.connection, gateway);
  }
  {
    /* Another key than the pinned one: refused, the key named. */
    g_auto (Dialled) dialled = { 0 };
    g_autoptr (GIOStream) tls = NULL;

    dial (&address, &dialled);
    g_assert_no_error (dialled.error);
    tls = gateway_tls (dialled.connection, cv_identity_get_fingerprint (fixture->identity), &error);
    g_assert_null (tls);
    g_assert_error (error, CV_TLS_ERROR, CV_TLS_ERROR_FINGERPRINT_MISMATCH);
    g_assert_nonnull (strstr (error->message, cv_identity_get_fingerprint (gateway)));
    g_assert_nonnull (strstr (error->message, "gateway_fingerprint"));
    g_clear_error (&error);
  }
  {
    Probed probed = { 0 };

    cv_gateway_probe_fingerprint_at_async (&address, 0, NULL, on_probed, &probed);
    g_assert_true (cv_test_wait_until (is_probed, &probed, GUARD_MS));
    g_assert_no_error (probed.error);
    g_assert_cmpstr (probed.fingerprint, ==, cv_identity_get_fingerprint (gateway));
    g_free (probed.fingerprint);
  }
  {
    /* And where the web server has no gateway: its words, under the URL. */
    CvGatewayAddress nowhere = wss_address (fixture, "/nothing");
    Probed probed = { 0 };

    cv_gateway_probe_fingerprint_at_async (&nowhere, 0, NULL, on_probed, &probed);
    g_assert_true (cv_test_wait_until (is_probed, &probed, GUARD_MS));
    g_assert_error (probed.error, CV_WS_UPGRADE_ERROR, CV_WS_UPGRADE_ERROR_NOT_FOUND);
    g_clear_error (&probed.error);
  }
}

/* ---- culvert-cli: the flags reach the dial ------------------------------ */

typedef struct {
  GString *err;
  gboolean eof;
  char buffer[1024];
} StderrReading;

static void
on_stderr (GObject *source, GAsyncResult *result, gpointer user_data)
{
  StderrReading *reading = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, NULL);

  if (n <= 0)
    {
      reading->eof = TRUE;
      return;
    }
  g_string_append_len (reading->err, reading->buffer, n);
  g_input_stream_read_async (G_INPUT_STREAM (source), reading->buffer, sizeof reading->buffer,
                             G_PRIORITY_DEFAULT, NULL, on_stderr, reading);
}

static const char *wanted_line;

static gboolean
has_wanted (gpointer data)
{
  StderrReading *reading = data;

  return reading->eof || strstr (reading->err->str, wanted_line) != NULL;
}

/* A share agent from flags alone, to a wss:// URL with a path the server lacks: it
 * logs the 404 in its retry line, under the URL. */
static void
test_cli_flags (WebFixture *fixture, gconstpointer data)
{
  const char *cli = g_getenv ("CULVERT_CLI");
  g_autofree char *url = NULL;
  g_autofree char *state = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  StderrReading reading = { g_string_new (NULL) };

  if (cli == NULL)
    {
      g_test_skip ("CULVERT_CLI is not set (run through meson test)");
      return;
    }
  url = g_strdup_printf ("wss://127.0.0.1:%u/nothing", cv_test_web_get_port (fixture->web));
  state = g_build_filename (fixture->dir, "share-state", NULL);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                        | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_setenv (launcher, "CULVERT_PASSWORD", "pw", TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, cli, "share", "--gateway", url,
                                         "--web-fingerprint",
                                         cv_identity_get_fingerprint (fixture->identity), "--proxy",
                                         "direct", "--session", "s", "--allow", "localhost:22",
                                         "--state-dir", state, NULL);
  g_assert_no_error (error);
  wanted_line = "has no Culvert gateway at /nothing (HTTP 404)";
  g_input_stream_read_async (g_subprocess_get_stderr_pipe (process), reading.buffer,
                             sizeof reading.buffer, G_PRIORITY_DEFAULT, NULL, on_stderr, &reading);
  g_assert_true (cv_test_wait_until (has_wanted, &reading, GUARD_MS));
  g_subprocess_force_exit (process);
  g_subprocess_wait (process, NULL, NULL);
  g_test_message ("%s", reading.err->str);
  g_assert_nonnull (strstr (reading.err->str, wanted_line));
  g_assert_nonnull (strstr (reading.err->str, url));
  wanted_line = "\n\n"; /* until the end of the stream */
  g_assert_true (cv_test_wait_until (has_wanted, &reading, GUARD_MS));
  g_string_free (reading.err, TRUE);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/agent-dial/proxy/raw-tls", RawFixture, NULL, raw_setup, test_proxy_raw_tls,
              raw_teardown);
  g_test_add ("/agent-dial/proxy/refusals", RawFixture, NULL, raw_setup, test_proxy_refusals,
              raw_teardown);
  g_test_add ("/agent-dial/proxy/direct-and-invalid", RawFixture, NULL, raw_setup,
              test_proxy_direct_and_invalid, raw_teardown);
  g_test_add ("/agent-dial/proxy/from-environment", RawFixture, NULL, raw_setup,
              test_proxy_from_environment, raw_teardown);
  g_test_add ("/agent-dial/proxy/from-environment-without-schemas", RawFixture, "", raw_setup,
              test_proxy_from_environment, raw_teardown);
  g_test_add ("/agent-dial/ws/plain", WebFixture, NULL, web_setup, test_ws_plain, web_teardown);
  g_test_add ("/agent-dial/wss/pinned", WebFixture, NULL, web_setup, test_wss_pinned, web_teardown);
  g_test_add ("/agent-dial/wss/ca", WebFixture, NULL, web_setup, test_wss_ca, web_teardown);
  g_test_add ("/agent-dial/wss/wrong-pin", WebFixture, NULL, web_setup, test_wss_wrong_pin,
              web_teardown);
  g_test_add ("/agent-dial/wss/refusals", WebFixture, NULL, web_setup, test_wss_refusals,
              web_teardown);
  g_test_add ("/agent-dial/wss/relayed", WebFixture, NULL, web_setup, test_wss_relayed,
              web_teardown);
  g_test_add ("/agent-dial/ws/through-proxy", WebFixture, NULL, web_setup, test_ws_through_proxy,
              web_teardown);
  g_test_add ("/agent-dial/cli-flags", WebFixture, NULL, web_setup, test_cli_flags, web_teardown);

  return g_test_run ();
}
