/* test-ws-bridge-tls.c: two bridges, a client and a server, over TLS on loopback TCP:
 * CvTlsStream (the engine's own TLS) and GIO's GTlsConnection (glib-networking, what
 * a wss:// dial gets).  Both ways at once, checked by SHA-256, then the close
 * handshake from one inner end to the other.  Everything runs on the default main
 * context here (the bridges' @context NULL); the inner ends are written and read by
 * threads. */
#include "cv-test-tls-server.h"
#include "cv-test-util.h"
#include "transport/cv-tls-stream.h"
#include "ws-test-peer.h"

#include <string.h>

#define MIB (1024 * 1024)
#define BYTES (16 * MIB)

typedef struct {
  char *dir;
  CvIdentity *server_identity;
  CvIdentity *client_identity;
  GIOStream *client_tls;
  GIOStream *server_tls;
  gboolean client_done;
  gboolean server_done;
  GError *client_error;
  GError *server_error;
} Tls;

static void
tls_set_up (Tls *tls)
{
  g_autoptr (GError) error = NULL;

  memset (tls, 0, sizeof *tls);
  tls->dir = g_dir_make_tmp ("culvert-ws-tls-XXXXXX", &error);
  g_assert_no_error (error);
  tls->server_identity = cv_identity_load_or_create (tls->dir, "server", "culvert gateway", NULL,
                                                     &error);
  g_assert_no_error (error);
  tls->client_identity = cv_identity_load_or_create (tls->dir, "client", "culvert agent", NULL,
                                                     &error);
  g_assert_no_error (error);
}

static void
tls_tear_down (Tls *tls)
{
  g_clear_object (&tls->client_tls);
  g_clear_object (&tls->server_tls);
  g_clear_object (&tls->server_identity);
  g_clear_object (&tls->client_identity);
  cv_test_remove_tree (tls->dir);
  g_free (tls->dir);
}

static gboolean
handshakes_done (gpointer data)
{
  Tls *tls = data;

  return tls->client_done && tls->server_done;
}

static void
on_cv_tls_client (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Tls *tls = user_data;

  cv_tls_stream_handshake_finish (CV_TLS_STREAM (source), result, &tls->client_error);
  tls->client_done = TRUE;
}

static void
on_cv_tls_server (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Tls *tls = user_data;

  cv_tls_stream_handshake_finish (CV_TLS_STREAM (source), result, &tls->server_error);
  tls->server_done = TRUE;
}

static void
handshake_cv_tls_stream (Tls *tls, GSocketConnection *client, GSocketConnection *server)
{
  g_autoptr (GError) error = NULL;
  CvTlsPeerCheck client_check = {
    .mode = CV_TLS_PEER_CHECK_PINNED,
    .fingerprint = cv_identity_get_fingerprint (tls->server_identity),
  };
  CvTlsPeerCheck server_check = {
    .mode = CV_TLS_PEER_CHECK_PINNED,
    .fingerprint = cv_identity_get_fingerprint (tls->client_identity),
  };

  tls->client_tls = G_IO_STREAM (cv_tls_stream_new (client, FALSE, tls->client_identity, &error));
  g_assert_no_error (error);
  tls->server_tls = G_IO_STREAM (cv_tls_stream_new (server, TRUE, tls->server_identity, &error));
  g_assert_no_error (error);
  cv_tls_stream_handshake_async (CV_TLS_STREAM (tls->server_tls), &server_check, "http/1.1", 0,
                                 NULL, on_cv_tls_server, tls);
  cv_tls_stream_handshake_async (CV_TLS_STREAM (tls->client_tls), &client_check, "http/1.1", 0,
                                 NULL, on_cv_tls_client, tls);
}

static void
on_gio_client (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Tls *tls = user_data;

  tls->client_tls = cv_tls_client_handshake_finish (result, &tls->client_error);
  tls->client_done = TRUE;
}

static void
on_gio_server (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Tls *tls = user_data;

  tls->server_tls = cv_test_tls_server_handshake_finish (result, &tls->server_error);
  tls->server_done = TRUE;
}

static void
handshake_gio (Tls *tls, GSocketConnection *client, GSocketConnection *server)
{
  CvTlsPeerCheck check = {
    .mode = CV_TLS_PEER_CHECK_PINNED,
    .fingerprint = cv_identity_get_fingerprint (tls->server_identity),
  };

  cv_test_tls_server_handshake_async (G_IO_STREAM (server), tls->server_identity, FALSE, NULL,
                                      "http/1.1", 0, NULL, on_gio_server, tls);
  cv_tls_client_handshake_async (G_IO_STREAM (client), "localhost", &check, NULL, "http/1.1", 0,
                                 NULL, on_gio_client, tls);
}

typedef struct {
  WsReader *a;
  WsReader *b;
} TwoReaders;

static gboolean
readers_done (gpointer data)
{
  TwoReaders *readers = data;

  return g_atomic_pointer_get (&readers->a->read) == BYTES
         && g_atomic_pointer_get (&readers->b->read) == BYTES;
}

static gboolean
no_buffers (gpointer data)
{
  return cv_ws_bridge_count_buffer_bytes () == 0;
}

static gboolean
reader_ended (gpointer data)
{
  WsReader *reader = data;

  return reader->eof || reader->error != NULL;
}

static gboolean
no_bridge_runs (gpointer data)
{
  return cv_ws_bridge_count_running () == 0;
}

static void
test_bridges_over_tls (gconstpointer data)
{
  gboolean gio = GPOINTER_TO_INT (data);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) client_tcp = NULL;
  g_autoptr (GSocketConnection) server_tcp = NULL;
  g_autoptr (GSocketConnection) client_inner = NULL;
  g_autoptr (GSocketConnection) server_inner = NULL;
  CvWsBridgeOptions options;
  WsWriter client_writer, server_writer;
  WsReader client_reader, server_reader;
  TwoReaders readers = { &client_reader, &server_reader };
  Tls tls;

  tls_set_up (&tls);
  ws_tcp_pair (&client_tcp, &server_tcp, 0, 0);
  if (gio)
    handshake_gio (&tls, client_tcp, server_tcp);
  else
    handshake_cv_tls_stream (&tls, client_tcp, server_tcp);
  g_assert_true (ws_wait_for (handshakes_done, &tls, 15000));
  g_assert_no_error (tls.client_error);
  g_assert_no_error (tls.server_error);

  cv_ws_bridge_options_init (&options);
  options.is_client = TRUE;
  options.peer_name = "the server";
  client_inner = cv_ws_bridge_start (tls.client_tls, NULL, &options, NULL, &error);
  g_assert_no_error (error);
  options.is_client = FALSE;
  options.peer_name = "the client";
  server_inner = cv_ws_bridge_start (tls.server_tls, NULL, &options, NULL, &error);
  g_assert_no_error (error);

  ws_writer_start (&client_writer, client_inner, 5, BYTES, FALSE);
  ws_writer_start (&server_writer, server_inner, 6, BYTES, FALSE);
  ws_reader_start (&server_reader, server_inner, 0);
  ws_reader_start (&client_reader, client_inner, 0);
  g_assert_true (ws_wait_for (readers_done, &readers, 120000));
  /* Idle: neither bridge holds a buffer, over TLS too. */
  g_assert_true (ws_wait_for (no_buffers, NULL, 2000));
  ws_writer_join (&client_writer);
  ws_writer_join (&server_writer);

  /* A WebSocket has no half-close: EOF on one inner end ends both. */
  g_assert_true (
    g_socket_shutdown (g_socket_connection_get_socket (client_inner), FALSE, TRUE, &error));
  g_assert_true (ws_wait_for (reader_ended, &server_reader, 5000));
  g_assert_true (ws_wait_for (reader_ended, &client_reader, 5000));
  ws_reader_join (&server_reader);
  ws_reader_join (&client_reader);
  g_assert_no_error (server_reader.error);
  g_assert_no_error (client_reader.error);
  g_assert_cmpstr (server_reader.digest, ==, client_writer.digest);
  g_assert_cmpstr (client_reader.digest, ==, server_writer.digest);

  g_clear_object (&client_inner);
  g_clear_object (&server_inner);
  g_assert_true (ws_wait_for (no_bridge_runs, NULL, 5000));
  g_assert_true (g_io_stream_is_closed (tls.client_tls));
  g_assert_true (g_io_stream_is_closed (tls.server_tls));

  g_free (client_writer.digest);
  g_free (server_writer.digest);
  g_free (client_reader.digest);
  g_free (server_reader.digest);
  tls_tear_down (&tls);
  cv_test_iterate_for (NULL, 50);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  cv_tls_restrict_process_to_tls13 ();

  g_test_add_data_func ("/ws-bridge-tls/cv-tls-stream", GINT_TO_POINTER (FALSE),
                        test_bridges_over_tls);
  g_test_add_data_func ("/ws-bridge-tls/gtls-connection", GINT_TO_POINTER (TRUE),
                        test_bridges_over_tls);
  return g_test_run ();
}
