/* cv-app-test-net.c: the network side of the app core's connection tests — a gateway of the
 * engine's on 127.0.0.1, a real share agent, a checksumming TCP service and a client that
 * checks a payload both ways.  The service and the clients use blocking I/O on threads of
 * their own, so that nothing of theirs depends on the main context the app code runs on. */
#include "cv-app-test-net.h"

#include "config/cv-agent-config.h"
#include "config/cv-gateway-config.h"

#include <string.h>

#define SOCKET_TIMEOUT_S 15
#define DIGEST_LENGTH 64 /* SHA-256 in hex */

static gboolean
on_deadline (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

void
cv_app_test_net_wait (gboolean (*condition) (gpointer),
                      gpointer data,
                      guint timeout_ms,
                      const char *what)
{
  GMainContext *context = g_main_context_ref_thread_default ();
  gboolean timed_out = FALSE;
  GSource *deadline = g_timeout_source_new (timeout_ms);

  g_source_set_callback (deadline, on_deadline, &timed_out, NULL);
  g_source_attach (deadline, context);
  while (!condition (data) && !timed_out)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (deadline);
  g_source_unref (deadline);
  g_main_context_unref (context);
  if (timed_out && !condition (data))
    g_error ("waited %u ms for %s, in vain", timeout_ms, what);
}

void
cv_app_test_net_iterate (guint ms)
{
  GMainContext *context = g_main_context_ref_thread_default ();
  gint64 end = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < end)
    if (!g_main_context_iteration (context, FALSE))
      g_usleep (1000);
  g_main_context_unref (context);
}

/* ---- the gateway -------------------------------------------------------- */

CvGateway *
cv_app_test_gateway_new (const char *dir,
                         const char *key_name,
                         guint16 port,
                         const char *session,
                         const char *share_hash,
                         const char *connect_hash,
                         CvIdentity **identity_out)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (CvIdentity) identity = NULL;
  g_autofree char *json = NULL;
  CvGatewayConfig *config;
  CvGateway *gateway;

  json = g_strdup_printf ("{\"listen\": [\"127.0.0.1:1\"], \"state_dir\": \"%s\", "
                          "\"admin_socket\": false, "
                          "\"sessions\": [{\"id\": \"%s\", \"share_password_hash\": \"%s\", "
                          "\"connect_password_hash\": \"%s\"}], "
                          "\"limits\": {\"auth_failures_before_backoff\": 1000}}",
                          dir, session, share_hash, connect_hash);
  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  config = cv_gateway_config_new_from_json (json_node_get_object (json_parser_get_root (parser)),
                                            NULL, &error);
  g_assert_no_error (error);
  /* A file may not ask for port 0; here it lets the kernel choose. */
  ((CvGatewayListener *) config->listeners->pdata[0])->port = port;
  identity = cv_identity_load_or_create (dir, key_name, "culvert-gateway", NULL, &error);
  g_assert_no_error (error);
  gateway = cv_gateway_new_with_context (config, identity, NULL);
  cv_gateway_start (gateway, &error);
  g_assert_no_error (error);
  if (identity_out != NULL)
    *identity_out = g_steal_pointer (&identity);
  return gateway;
}

guint16
cv_app_test_gateway_get_port (CvGateway *gateway)
{
  return g_array_index (cv_gateway_get_listen_ports (gateway), guint16, 0);
}

static void
on_gateway_gone (gpointer data, GObject *where_the_object_was)
{
  *(gboolean *) data = TRUE;
}

static gboolean
is_true (gpointer data)
{
  return *(gboolean *) data;
}

void
cv_app_test_gateway_free (CvGateway *gateway)
{
  gboolean gone = FALSE;

  cv_gateway_stop (gateway);
  g_object_weak_ref (G_OBJECT (gateway), on_gateway_gone, &gone);
  g_object_unref (gateway);
  cv_app_test_net_wait (is_true, &gone, CV_APP_TEST_NET_WAIT_MS, "the gateway to be finalized");
}

/* ---- the share agent ---------------------------------------------------- */

CvShareAgent *
cv_app_test_share_agent_new (const char *dir,
                             const char *gateway_fingerprint,
                             guint16 gateway_port,
                             const char *session,
                             const char *password,
                             guint16 target_port)
{
  g_autoptr (CvShareConfig) config = cv_share_config_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *state_dir = g_build_filename (dir, "share-agent", NULL);
  CvShareAgent *agent;

  cv_agent_config_set_gateway (&config->agent, "127.0.0.1", gateway_port, gateway_fingerprint);
  cv_agent_config_set_session (&config->agent, session);
  cv_agent_config_set_password (&config->agent, password);
  cv_agent_config_set_name (&config->agent, "test-share");
  cv_agent_config_set_state_dir (&config->agent, state_dir);
  cv_share_config_add_allowed (config, "127.0.0.1", target_port, target_port);
  agent = cv_share_agent_new_from_config (config, NULL, &error);
  g_assert_no_error (error);
  return agent;
}

/* ---- the checksum service ----------------------------------------------- */

static void
fill (guint8 *buffer, gsize size, guint32 seed)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);

  for (gsize i = 0; i < size; i++)
    buffer[i] = g_rand_int (rand) & 0xff;
}

static gboolean
on_checksum_run (GThreadedSocketService *service,
                 GSocketConnection *connection,
                 GObject *source,
                 gpointer data)
{
  GInputStream *input = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  GOutputStream *output = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  g_autoptr (GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *reply = g_malloc (CV_APP_TEST_NET_REPLY_SIZE);
  guint8 buffer[16384];
  guint8 seed_bytes[4] = { 0 };
  gsize seen = 0;
  gssize n;

  g_socket_set_timeout (g_socket_connection_get_socket (connection), SOCKET_TIMEOUT_S);
  while ((n = g_input_stream_read (input, buffer, sizeof buffer, NULL, NULL)) > 0)
    {
      for (gssize i = 0; i < n && seen + i < sizeof seed_bytes; i++)
        seed_bytes[seen + i] = buffer[i];
      seen += n;
      g_checksum_update (checksum, buffer, n);
    }
  if (n == 0)
    {
      const char *digest = g_checksum_get_string (checksum);
      guint32 seed;

      memcpy (&seed, seed_bytes, sizeof seed);
      fill (reply, CV_APP_TEST_NET_REPLY_SIZE, GUINT32_FROM_LE (seed));
      if (g_output_stream_write_all (output, digest, DIGEST_LENGTH, NULL, NULL, NULL))
        g_output_stream_write_all (output, reply, CV_APP_TEST_NET_REPLY_SIZE, NULL, NULL, NULL);
    }
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  return TRUE;
}

GSocketService *
cv_app_test_checksum_service_new (guint16 *port)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  GSocketService *service = g_threaded_socket_service_new (8);

  g_socket_listener_add_address (G_SOCKET_LISTENER (service), address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error);
  g_assert_no_error (error);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_signal_connect (service, "run", G_CALLBACK (on_checksum_run), NULL);
  g_socket_service_start (service);
  return service;
}

void
cv_app_test_checksum_service_free (GSocketService *service)
{
  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
  g_object_unref (service);
}

/* ---- the client --------------------------------------------------------- */

struct _CvAppTestTransfer {
  GMainContext *context; /* the waiter's, woken when done */
  guint16 port;
  gsize size;
  guint32 seed;
  GThread *thread;
  GError *error;
  gint done;
};

static gboolean
check_reply (CvAppTestTransfer *transfer, const char *sent_digest, GInputStream *input)
{
  g_autoptr (GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guint8 *expected = g_malloc (CV_APP_TEST_NET_REPLY_SIZE);
  g_autofree char *expected_digest = NULL;
  char digest[DIGEST_LENGTH + 1] = { 0 };
  guint8 buffer[16384];
  gsize got = 0;
  gssize n;

  if (!g_input_stream_read_all (input, digest, DIGEST_LENGTH, &got, NULL, &transfer->error))
    return FALSE;
  if (got != DIGEST_LENGTH || !g_str_equal (digest, sent_digest))
    {
      g_set_error (&transfer->error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "the service got other bytes than were sent: SHA-256 %s, sent %s", digest,
                   sent_digest);
      return FALSE;
    }
  got = 0;
  while ((n = g_input_stream_read (input, buffer, sizeof buffer, NULL, &transfer->error)) > 0)
    {
      g_checksum_update (checksum, buffer, n);
      got += n;
    }
  if (n < 0)
    return FALSE;
  fill (expected, CV_APP_TEST_NET_REPLY_SIZE, transfer->seed);
  expected_digest = g_compute_checksum_for_data (G_CHECKSUM_SHA256, expected,
                                                 CV_APP_TEST_NET_REPLY_SIZE);
  if (got != CV_APP_TEST_NET_REPLY_SIZE
      || !g_str_equal (g_checksum_get_string (checksum), expected_digest))
    {
      g_set_error (&transfer->error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "the reply came back changed: %" G_GSIZE_FORMAT " bytes, SHA-256 %s; "
                   "expected %u bytes, %s",
                   got, g_checksum_get_string (checksum), CV_APP_TEST_NET_REPLY_SIZE,
                   expected_digest);
      return FALSE;
    }
  return TRUE;
}

static gpointer
transfer_run (gpointer data)
{
  CvAppTestTransfer *transfer = data;
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) connection = NULL;
  g_autofree guint8 *payload = g_malloc (transfer->size);
  g_autofree char *digest = NULL;
  guint32 seed_le = GUINT32_TO_LE (transfer->seed);

  fill (payload, transfer->size, transfer->seed);
  /* Its first 4 bytes tell the service the seed of its reply. */
  memcpy (payload, &seed_le, MIN (sizeof seed_le, transfer->size));
  digest = g_compute_checksum_for_data (G_CHECKSUM_SHA256, payload, transfer->size);
  g_socket_client_set_timeout (client, SOCKET_TIMEOUT_S);
  /* No proxy resolver: it would read GSettings, which the tests' private home lacks. */
  g_socket_client_set_enable_proxy (client, FALSE);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", transfer->port, NULL,
                                                &transfer->error);
  if (connection != NULL)
    {
      GSocket *socket = g_socket_connection_get_socket (connection);
      GOutputStream *output = g_io_stream_get_output_stream (G_IO_STREAM (connection));
      GInputStream *input = g_io_stream_get_input_stream (G_IO_STREAM (connection));

      if (g_output_stream_write_all (output, payload, transfer->size, NULL, NULL, &transfer->error)
          && g_socket_shutdown (socket, FALSE, TRUE, &transfer->error))
        check_reply (transfer, digest, input);
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
    }
  g_atomic_int_set (&transfer->done, 1);
  /* The waiter may sleep in a poll that nothing else would end soon. */
  g_main_context_wakeup (transfer->context);
  return NULL;
}

/* @size: at least 4 */
CvAppTestTransfer *
cv_app_test_transfer_start (guint16 port, gsize size, guint32 seed)
{
  CvAppTestTransfer *transfer = g_new0 (CvAppTestTransfer, 1);

  g_assert_cmpuint (size, >=, 4);
  transfer->context = g_main_context_ref_thread_default ();
  transfer->port = port;
  transfer->size = size;
  transfer->seed = seed;
  transfer->thread = g_thread_new ("transfer", transfer_run, transfer);
  return transfer;
}

static gboolean
transfer_is_done (gpointer data)
{
  return g_atomic_int_get (&((CvAppTestTransfer *) data)->done);
}

gboolean
cv_app_test_transfer_finish (CvAppTestTransfer *transfer, GError **error)
{
  gboolean ok;

  /* The app's side of the tunnel runs on this thread's context: iterate it meanwhile. */
  cv_app_test_net_wait (transfer_is_done, transfer, 2 * SOCKET_TIMEOUT_S * 1000,
                        "a transfer through the mapped port");
  g_thread_join (transfer->thread);
  g_main_context_unref (transfer->context);
  ok = transfer->error == NULL;
  if (!ok)
    g_propagate_error (error, transfer->error);
  g_free (transfer);
  return ok;
}

/* ---- ports -------------------------------------------------------------- */

gboolean
cv_app_test_port_refuses (guint16 port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GError) error = NULL;

  g_socket_client_set_timeout (client, 5);
  g_socket_client_set_enable_proxy (client, FALSE);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  if (connection != NULL)
    {
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      return FALSE;
    }
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
}

GSocket *
cv_app_test_hold_port (guint16 *port)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) local = NULL;
  GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                  &error);

  g_assert_no_error (error);
  g_socket_bind (socket, address, FALSE, &error);
  g_assert_no_error (error);
  g_socket_listen (socket, &error);
  g_assert_no_error (error);
  local = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  return socket;
}
