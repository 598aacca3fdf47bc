/* test-machine-connection.c: a saved machine connected through the engine in-process — a
 * real gateway of the engine on 127.0.0.1, a real share agent allowing a checksum service,
 * the app's CvMachineConnection on the same main context.  First contact and trust, bytes
 * through the service's port checked both ways, a taken saved port, a wrong password, a
 * changed key, the gateway stopped and back, the machine gone and back, disconnect, and
 * presence while idle (no port, no tunnel).  Run by run-with-keyring.sh with a real
 * keyring when there is one (for "no password stored"); every other case uses a password
 * for this run. */
#include "cv-app-error.h"
#include "cv-app-test.h"
#include "cv-app-test-net.h"
#include "cv-machine-connection.h"
#include "cv-service-link.h"
#include "cv-test-util.h"

#include "auth/cv-password.h"
#include "roles/cv-refusal.h"
#include "transport/cv-tls.h"

#include <string.h>

#define SESSION "office"
#define SHARE_PASSWORD "share secret"
#define CONNECT_PASSWORD "connect secret"
#define PAYLOAD_SIZE (1024 * 1024)
#define WAIT_MS CV_APP_TEST_NET_WAIT_MS

static char *share_hash;
static char *connect_hash;
static char *test_dir; /* cv_app_test_init ()'s: its bin is PATH */

typedef struct {
  char *dir;
  CvGateway *gateway;
  CvIdentity *gateway_identity;
  guint16 gateway_port;
  GSocketService *service;
  guint16 service_port;
  CvShareAgent *share;
  CvMachine *machine;
  CvSecretStore *secrets;
  CvMachineConnection *connection;
  /* What the connection emitted. */
  guint n_trust_requested;
  char *trust_fingerprint;
  char *trust_old_fingerprint;
  guint n_connected;
  guint n_dropped;
  GError *dropped_why;
  guint n_restored;
  guint max_channels;
} Fixture;

/* ---- what the connection says ------------------------------------------- */

static void
on_trust_requested (CvMachineConnection *connection,
                    const char *fingerprint,
                    const char *old_fingerprint,
                    Fixture *fixture)
{
  fixture->n_trust_requested++;
  g_free (fixture->trust_fingerprint);
  fixture->trust_fingerprint = g_strdup (fingerprint);
  g_free (fixture->trust_old_fingerprint);
  fixture->trust_old_fingerprint = g_strdup (old_fingerprint);
}

static void
on_connected (CvMachineConnection *connection, Fixture *fixture)
{
  fixture->n_connected++;
}

static void
on_dropped (CvMachineConnection *connection, const GError *why, Fixture *fixture)
{
  fixture->n_dropped++;
  g_clear_error (&fixture->dropped_why);
  fixture->dropped_why = g_error_copy (why);
  g_test_message ("dropped: %s", why->message);
}

static void
on_restored (CvMachineConnection *connection, Fixture *fixture)
{
  fixture->n_restored++;
}

static void
on_channels (CvMachineConnection *connection, GParamSpec *pspec, Fixture *fixture)
{
  fixture->max_channels = MAX (fixture->max_channels,
                               cv_machine_connection_get_n_channels (connection));
}

typedef struct {
  CvMachineConnection *connection;
  CvConnectionState state;
} StateWanted;

static gboolean
is_in_state (gpointer data)
{
  StateWanted *wanted = data;

  return cv_machine_connection_get_state (wanted->connection) == wanted->state;
}

static void
wait_state (Fixture *fixture, CvConnectionState state)
{
  StateWanted wanted = { fixture->connection, state };
  g_autoptr (GEnumClass) klass = g_type_class_ref (CV_TYPE_CONNECTION_STATE);
  g_autofree char *what =
    g_strdup_printf ("the connection to be %s (it is %s: %s)",
                     g_enum_get_value (klass, state)->value_nick,
                     g_enum_get_value (klass, cv_machine_connection_get_state (fixture->connection))
                       ->value_nick,
                     cv_machine_connection_get_status (fixture->connection));

  cv_app_test_net_wait (is_in_state, &wanted, WAIT_MS, what);
}

typedef struct {
  guint *counter;
  guint at_least;
} CountWanted;

static gboolean
has_count (gpointer data)
{
  CountWanted *wanted = data;

  return *wanted->counter >= wanted->at_least;
}

static void
wait_count (guint *counter, guint at_least, const char *what)
{
  CountWanted wanted = { counter, at_least };

  cv_app_test_net_wait (has_count, &wanted, WAIT_MS, what);
}

typedef struct {
  CvMachineConnection *connection;
  CvPresence presence;
} PresenceWanted;

static gboolean
has_presence (gpointer data)
{
  PresenceWanted *wanted = data;

  return cv_machine_connection_get_presence (wanted->connection) == wanted->presence;
}

static void
wait_presence (Fixture *fixture, CvPresence presence, const char *what)
{
  PresenceWanted wanted = { fixture->connection, presence };

  cv_app_test_net_wait (has_presence, &wanted, WAIT_MS, what);
}

static CvServiceLink *
service_link (Fixture *fixture)
{
  g_autoptr (CvServiceLink) link =
    g_list_model_get_item (cv_machine_connection_get_services (fixture->connection), 0);

  g_assert_nonnull (link);
  return link; /* the connection keeps it */
}

/* ---- the network -------------------------------------------------------- */

static void
start_share (Fixture *fixture)
{
  fixture->share = cv_app_test_share_agent_new (fixture->dir,
                                                cv_identity_get_fingerprint (
                                                  fixture->gateway_identity),
                                                fixture->gateway_port, SESSION, SHARE_PASSWORD,
                                                fixture->service_port);
  cv_share_agent_start (fixture->share);
}

static void
stop_share (Fixture *fixture)
{
  cv_share_agent_stop (fixture->share);
  g_clear_object (&fixture->share);
}

static void
start_gateway (Fixture *fixture, const char *key_name, guint16 port)
{
  g_clear_object (&fixture->gateway_identity);
  fixture->gateway = cv_app_test_gateway_new (fixture->dir, key_name, port, SESSION, share_hash,
                                              connect_hash, &fixture->gateway_identity);
  fixture->gateway_port = cv_app_test_gateway_get_port (fixture->gateway);
}

static void
stop_gateway (Fixture *fixture)
{
  cv_app_test_gateway_free (g_steal_pointer (&fixture->gateway));
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CvMachineService) service = NULL;
  g_autofree char *state_dir = NULL;

  fixture->dir = g_dir_make_tmp ("culvert-connection-XXXXXX", &error);
  g_assert_no_error (error);
  start_gateway (fixture, "gateway", 0);
  fixture->service = cv_app_test_checksum_service_new (&fixture->service_port);
  start_share (fixture);

  fixture->machine = cv_machine_new ();
  cv_machine_set_name (fixture->machine, "Front desk PC");
  cv_machine_set_gateway (fixture->machine, "127.0.0.1", fixture->gateway_port);
  cv_machine_set_session (fixture->machine, SESSION);
  service = cv_machine_service_new (CV_SERVICE_PRESET_VNC);
  cv_machine_service_set_target_host (service, "127.0.0.1");
  cv_machine_service_set_target_port (service, fixture->service_port);
  cv_machine_service_set_local_port (service, 0);
  cv_machine_add_service (fixture->machine, service);

  fixture->secrets = cv_secret_store_new ();
  cv_secret_store_remember_for_run (fixture->secrets, cv_machine_get_id (fixture->machine),
                                    CONNECT_PASSWORD);
  state_dir = g_build_filename (fixture->dir, "app", NULL);
  fixture->connection = cv_machine_connection_new (fixture->machine, fixture->secrets, state_dir);
  g_signal_connect (fixture->connection, "trust-requested", G_CALLBACK (on_trust_requested),
                    fixture);
  g_signal_connect (fixture->connection, "connected", G_CALLBACK (on_connected), fixture);
  g_signal_connect (fixture->connection, "dropped", G_CALLBACK (on_dropped), fixture);
  g_signal_connect (fixture->connection, "restored", G_CALLBACK (on_restored), fixture);
  g_signal_connect (fixture->connection, "notify::n-channels", G_CALLBACK (on_channels), fixture);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  cv_machine_connection_disconnect (fixture->connection);
  g_signal_handlers_disconnect_by_data (fixture->connection, fixture);
  /* Whatever the engine still has queued for it runs, then it must go. */
  cv_app_test_net_iterate (100);
  g_assert_finalize_object (g_steal_pointer (&fixture->connection));
  g_clear_object (&fixture->secrets);
  g_clear_object (&fixture->machine);
  if (fixture->share != NULL)
    stop_share (fixture);
  cv_app_test_checksum_service_free (fixture->service);
  if (fixture->gateway != NULL)
    stop_gateway (fixture);
  g_clear_object (&fixture->gateway_identity);
  g_free (fixture->trust_fingerprint);
  g_free (fixture->trust_old_fingerprint);
  g_clear_error (&fixture->dropped_why);
  cv_app_test_net_iterate (50);
  cv_test_remove_tree (fixture->dir);
  g_free (fixture->dir);
}

static void
trust_gateway (Fixture *fixture)
{
  cv_machine_set_fingerprint (fixture->machine,
                              cv_identity_get_fingerprint (fixture->gateway_identity));
}

/* 1 MiB through the service's port, and its answer, unchanged. */
static void
assert_data_flows (Fixture *fixture)
{
  g_autoptr (GError) error = NULL;
  guint16 port = cv_service_link_get_port (service_link (fixture));

  g_assert_cmpuint (port, !=, 0);
  g_assert_true (
    cv_app_test_transfer_finish (cv_app_test_transfer_start (port, PAYLOAD_SIZE, 11), &error));
  g_assert_no_error (error);
}

typedef struct {
  CvServiceLink *link;
  guint64 bytes_in;
  guint64 bytes_out;
} BytesWanted;

static gboolean
has_bytes (gpointer data)
{
  BytesWanted *wanted = data;

  return cv_service_link_get_bytes_in (wanted->link) >= wanted->bytes_in
         && cv_service_link_get_bytes_out (wanted->link) >= wanted->bytes_out;
}

/* ---- the cases ---------------------------------------------------------- */

/* No key trusted yet: the gateway's own is offered, trusted, and the machine connects;
 * the data goes through and the numbers move; disconnect closes the port. */
static void
test_first_contact (Fixture *fixture, gconstpointer data)
{
  const char *gateway_key = cv_identity_get_fingerprint (fixture->gateway_identity);
  CvServiceLink *link = service_link (fixture);
  BytesWanted bytes = { link, CV_APP_TEST_NET_REPLY_SIZE, PAYLOAD_SIZE };
  g_autofree char *listening = NULL;
  guint16 port;

  g_assert_null (cv_machine_get_fingerprint (fixture->machine));
  g_assert_cmpstr (cv_service_link_get_status (link), ==, "not connected");
  cv_machine_connection_connect (fixture->connection);
  wait_state (fixture, CV_CONNECTION_STATE_NEEDS_TRUST);
  g_assert_cmpuint (fixture->n_trust_requested, ==, 1);
  g_assert_cmpstr (fixture->trust_fingerprint, ==, gateway_key);
  g_assert_null (fixture->trust_old_fingerprint);
  /* Nothing listens before the person answers. */
  g_assert_false (cv_service_link_get_listening (link));
  g_assert_null (cv_machine_get_fingerprint (fixture->machine));
  /* A second connect () while asking changes nothing. */
  cv_machine_connection_connect (fixture->connection);
  g_assert_cmpuint (cv_machine_connection_get_state (fixture->connection), ==,
                    CV_CONNECTION_STATE_NEEDS_TRUST);

  cv_machine_connection_trust (fixture->connection, fixture->trust_fingerprint);
  g_assert_cmpstr (cv_machine_get_fingerprint (fixture->machine), ==, gateway_key);
  wait_state (fixture, CV_CONNECTION_STATE_CONNECTED);
  wait_presence (fixture, CV_PRESENCE_ONLINE, "the machine to be online");
  g_assert_cmpuint (fixture->n_connected, ==, 1);
  g_assert_cmpint (cv_machine_get_last_used (fixture->machine), >, 0);
  g_assert_null (cv_machine_connection_get_error (fixture->connection));
  g_assert_cmpstr (cv_machine_connection_get_status (fixture->connection), ==, "connected");
  g_assert_true (cv_service_link_get_listening (link));
  g_assert_false (cv_service_link_get_fell_back (link));
  port = cv_service_link_get_port (link);
  listening = g_strdup_printf ("listening on localhost:%u", port);
  g_assert_cmpstr (cv_service_link_get_status (link), ==, listening);

  assert_data_flows (fixture);
  /* The counts are read once a second: wait for them. */
  cv_app_test_net_wait (has_bytes, &bytes, WAIT_MS, "the service's byte counts");
  g_assert_cmpuint (fixture->max_channels, ==, 1);
  g_assert_cmpint (cv_machine_connection_get_round_trip_us (fixture->connection), >, 0);
  g_test_message ("service: %s", cv_service_link_get_status (link));
  g_assert_true (g_str_has_prefix (cv_service_link_get_status (link), listening));
  {
    g_autofree char *in = g_format_size (cv_service_link_get_bytes_in (link));
    g_autofree char *out = g_format_size (cv_service_link_get_bytes_out (link));
    g_autofree char *traffic = g_strdup_printf ("%s · ↓ %s ↑ %s", listening, in, out);

    g_assert_cmpstr (cv_service_link_get_status (link), ==, traffic);
    g_assert_cmpstr (in, ==, "1.0\u00a0MB");
  }
  g_assert_cmpuint (fixture->n_dropped, ==, 0);

  cv_machine_connection_disconnect (fixture->connection);
  g_assert_cmpuint (cv_machine_connection_get_state (fixture->connection), ==,
                    CV_CONNECTION_STATE_IDLE);
  g_assert_false (cv_service_link_get_listening (link));
  g_assert_null (cv_service_link_get_mapping (link));
  g_assert_true (cv_app_test_port_refuses (port));
  g_assert_cmpuint (fixture->n_dropped, ==, 0);
  /* Idempotent. */
  cv_machine_connection_disconnect (fixture->connection);
}

/* The saved local port is taken: an automatic one is used, said so, and works. */
static void
test_port_taken (Fixture *fixture, gconstpointer data)
{
  guint16 taken;
  g_autoptr (GSocket) holder = cv_app_test_hold_port (&taken);
  g_autoptr (CvMachineService) service =
    g_list_model_get_item (cv_machine_get_services (fixture->machine), 0);
  CvServiceLink *link = service_link (fixture);
  g_autofree char *expected = NULL;

  trust_gateway (fixture);
  cv_machine_service_set_local_port (service, taken);
  cv_machine_connection_connect (fixture->connection);
  wait_state (fixture, CV_CONNECTION_STATE_CONNECTED);
  g_assert_cmpuint (fixture->n_trust_requested, ==, 0);
  g_assert_true (cv_service_link_get_listening (link));
  g_assert_true (cv_service_link_get_fell_back (link));
  g_assert_cmpuint (cv_service_link_get_port (link), !=, taken);
  g_assert_cmpuint (cv_service_link_get_port (link), !=, 0);
  /* The replaced mapping is not left behind in the engine's list. */
  g_assert_true (cv_mapping_get_listening (cv_service_link_get_mapping (link)));
  expected = g_strdup_printf ("the saved port %u was taken, using %u instead", taken,
                              cv_service_link_get_port (link));
  g_assert_cmpstr (cv_service_link_get_status (link), ==, expected);
  wait_presence (fixture, CV_PRESENCE_ONLINE, "the machine to be online");
  assert_data_flows (fixture);
}

/* A wrong password: FAILED with the engine's sentence and what to do; nothing listens. */
static void
test_wrong_password (Fixture *fixture, gconstpointer data)
{
  const GError *error;
  g_autofree char *sentence = cv_refusal_describe (CV_REFUSAL_BAD_PASSWORD, SESSION);

  trust_gateway (fixture);
  cv_secret_store_remember_for_run (fixture->secrets, cv_machine_get_id (fixture->machine),
                                    "a wrong guess");
  cv_machine_connection_connect (fixture->connection);
  wait_state (fixture, CV_CONNECTION_STATE_FAILED);
  error = cv_machine_connection_get_error (fixture->connection);
  g_assert_error ((GError *) error, CV_REFUSAL_ERROR, CV_REFUSAL_BAD_PASSWORD);
  g_test_message ("wrong password: %s", error->message);
  g_assert_true (g_str_has_prefix (error->message, sentence));
  g_assert_true (g_str_has_suffix (error->message, "Edit the machine and check its password."));
  g_assert_cmpstr (cv_machine_connection_get_status (fixture->connection), ==, error->message);
  g_assert_cmpuint (fixture->n_connected, ==, 0);
  g_assert_false (cv_service_link_get_listening (service_link (fixture)));
  /* Nothing is retried: it stays so. */
  cv_app_test_net_iterate (500);
  g_assert_cmpuint (cv_machine_connection_get_state (fixture->connection), ==,
                    CV_CONNECTION_STATE_FAILED);
  g_assert_cmpuint (cv_gateway_get_n_links (fixture->gateway), ==, 1); /* the share agent */

  /* The right one, and it connects from FAILED. */
  cv_secret_store_remember_for_run (fixture->secrets, cv_machine_get_id (fixture->machine),
                                    CONNECT_PASSWORD);
  cv_machine_connection_connect (fixture->connection);
  wait_state (fixture, CV_CONNECTION_STATE_CONNECTED);
  g_assert_null (cv_machine_connection_get_error (fixture->connection));
}

static void
assert_key_changed (Fixture *fixture, const char *presented, const char *trusted)
{
  const GError *error;

  wait_state (fixture, CV_CONNECTION_STATE_FAILED);
  error = cv_machine_connection_get_error (fixture->connection);
  g_assert_error ((GError *) error, CV_APP_ERROR, CV_APP_ERROR_KEY_CHANGED);
  g_test_message ("key changed: %s", error->message);
  g_assert_nonnull (strstr (error->message, presented));
  g_assert_nonnull (strstr (error->message, trusted));
  g_assert_cmpstr (cv_machine_connection_get_changed_fingerprint (fixture->connection), ==,
                   presented);
  /* The trusted key stays what the person trusted. */
  g_assert_cmpstr (cv_machine_get_fingerprint (fixture->machine), ==, trusted);
  g_assert_false (cv_service_link_get_listening (service_link (fixture)));
}

/* Another key than the trusted one: FAILED, naming both; never asked as a first contact. */
static void
test_key_changed (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CvIdentity) other = cv_identity_load_or_create (fixture->dir, "other", "other", NULL,
                                                             &error);
  g_autofree char *first_key = g_strdup (cv_identity_get_fingerprint (fixture->gateway_identity));

  /* The machine trusts a key the gateway does not have. */
  g_assert_no_error (error);
  cv_machine_set_fingerprint (fixture->machine, cv_identity_get_fingerprint (other));
  cv_machine_connection_connect (fixture->connection);
  assert_key_changed (fixture, first_key, cv_identity_get_fingerprint (other));
  g_assert_cmpuint (fixture->n_trust_requested, ==, 0);

  /* Reinstalled: connected to the first gateway, which is replaced by one with another key
   * on the same port. */
  trust_gateway (fixture);
  cv_machine_connection_connect (fixture->connection);
  wait_state (fixture, CV_CONNECTION_STATE_CONNECTED);
  g_assert_null (cv_machine_connection_get_changed_fingerprint (fixture->connection));
  stop_share (fixture);
  stop_gateway (fixture);
  start_gateway (fixture, "other", fixture->gateway_port);
  assert_key_changed (fixture, cv_identity_get_fingerprint (other), first_key);
  g_assert_cmpuint (fixture->n_trust_requested, ==, 0);
  g_assert_cmpuint (fixture->n_dropped, ==, 1);
}

/* The gateway stops while connected: "dropped", reconnecting by itself; back on the same
 * port: "restored", and the data flows again. */
static void
test_gateway_restart (Fixture *fixture, gconstpointer data)
{
  trust_gateway (fixture);
  cv_machine_connection_connect (fixture->connection);
  wait_state (fixture, CV_CONNECTION_STATE_CONNECTED);
  wait_presence (fixture, CV_PRESENCE_ONLINE, "the machine to be online");
  assert_data_flows (fixture);

  stop_gateway (fixture);
  wait_count (&fixture->n_dropped, 1, "\"dropped\"");
  g_assert_nonnull (fixture->dropped_why);
  wait_state (fixture, CV_CONNECTION_STATE_RECONNECTING);
  g_assert_nonnull (cv_machine_connection_get_error (fixture->connection));
  g_assert_cmpuint (cv_machine_connection_get_presence (fixture->connection), ==,
                    CV_PRESENCE_UNKNOWN);
  g_test_message ("reconnecting: %s — %s", cv_machine_connection_get_status (fixture->connection),
                  cv_machine_connection_get_error (fixture->connection)->message);
  g_assert_true (
    g_str_has_prefix (cv_machine_connection_get_status (fixture->connection), "connecting…"));
  /* The listener stays: a client that comes now waits for the machine. */
  g_assert_true (cv_service_link_get_listening (service_link (fixture)));

  start_gateway (fixture, "gateway", fixture->gateway_port);
  wait_count (&fixture->n_restored, 1, "\"restored\"");
  g_assert_cmpuint (cv_machine_connection_get_state (fixture->connection), ==,
                    CV_CONNECTION_STATE_CONNECTED);
  g_assert_cmpuint (cv_machine_connection_get_presence (fixture->connection), ==,
                    CV_PRESENCE_ONLINE);
  g_assert_null (cv_machine_connection_get_error (fixture->connection));
  g_assert_cmpuint (fixture->n_dropped, ==, 1);
  g_assert_cmpuint (fixture->n_connected, ==, 1);
  assert_data_flows (fixture);
}

/* The machine's share agent goes away while connected, and comes back. */
static void
test_machine_offline (Fixture *fixture, gconstpointer data)
{
  gint64 since;

  trust_gateway (fixture);
  cv_machine_connection_connect (fixture->connection);
  wait_state (fixture, CV_CONNECTION_STATE_CONNECTED);
  wait_presence (fixture, CV_PRESENCE_ONLINE, "the machine to be online");
  since = cv_machine_connection_get_presence_since (fixture->connection);

  stop_share (fixture);
  wait_count (&fixture->n_dropped, 1, "\"dropped\" for the machine");
  g_assert_cmpuint (cv_machine_connection_get_presence (fixture->connection), ==,
                    CV_PRESENCE_OFFLINE);
  g_assert_cmpint (cv_machine_connection_get_presence_since (fixture->connection), >, since);
  g_assert_cmpstr (cv_machine_connection_get_status (fixture->connection), ==,
                   "the machine went offline");
  g_assert_cmpuint (cv_machine_connection_get_state (fixture->connection), ==,
                    CV_CONNECTION_STATE_CONNECTED);

  start_share (fixture);
  wait_count (&fixture->n_restored, 1, "\"restored\" for the machine");
  g_assert_cmpstr (cv_machine_connection_get_status (fixture->connection), ==, "connected");
  assert_data_flows (fixture);
}

typedef struct {
  CvGateway *gateway;
  guint n;
} LinksWanted;

static gboolean
has_links (gpointer data)
{
  LinksWanted *wanted = data;

  return cv_gateway_get_n_links (wanted->gateway) == wanted->n;
}

/* Idle with a trusted key and a password: presence comes from a link that opens no port
 * and no tunnel; it gives way to connect () and comes back after disconnect (). */
static void
test_presence (Fixture *fixture, gconstpointer data)
{
  LinksWanted two = { fixture->gateway, 2 };
  gint64 online_since;

  /* Without a trusted key it does not start. */
  cv_machine_connection_watch_presence (fixture->connection, TRUE);
  cv_app_test_net_iterate (300);
  g_assert_cmpuint (cv_machine_connection_get_presence (fixture->connection), ==,
                    CV_PRESENCE_UNKNOWN);
  g_assert_cmpuint (cv_gateway_get_n_links (fixture->gateway), ==, 1);

  trust_gateway (fixture);
  wait_presence (fixture, CV_PRESENCE_ONLINE, "presence online while idle");
  online_since = cv_machine_connection_get_presence_since (fixture->connection);
  g_assert_cmpint (online_since, >, 0);
  g_assert_cmpuint (cv_machine_connection_get_state (fixture->connection), ==,
                    CV_CONNECTION_STATE_IDLE);
  g_assert_cmpstr (cv_machine_connection_get_status (fixture->connection), ==, "online");
  g_assert_false (cv_service_link_get_listening (service_link (fixture)));
  g_assert_cmpuint (cv_service_link_get_port (service_link (fixture)), ==, 0);
  cv_app_test_net_wait (has_links, &two, WAIT_MS, "the presence link at the gateway");
  cv_app_test_net_iterate (300);
  g_assert_cmpuint (cv_gateway_get_n_tunnels (fixture->gateway), ==, 0);
  g_assert_cmpuint (fixture->n_connected, ==, 0);

  stop_share (fixture);
  wait_presence (fixture, CV_PRESENCE_OFFLINE, "presence offline while idle");
  g_assert_cmpint (cv_machine_connection_get_presence_since (fixture->connection), >, online_since);
  g_assert_true (
    g_str_has_prefix (cv_machine_connection_get_status (fixture->connection), "offline since "));
  g_assert_cmpuint (cv_gateway_get_n_tunnels (fixture->gateway), ==, 0);

  /* connect () replaces it; disconnect () brings it back. */
  start_share (fixture);
  wait_presence (fixture, CV_PRESENCE_ONLINE, "presence online again");
  cv_machine_connection_connect (fixture->connection);
  wait_state (fixture, CV_CONNECTION_STATE_CONNECTED);
  cv_app_test_net_wait (has_links, &two, WAIT_MS, "one connect link at the gateway");
  cv_machine_connection_disconnect (fixture->connection);
  wait_presence (fixture, CV_PRESENCE_ONLINE, "presence after disconnect");
  g_assert_false (cv_service_link_get_listening (service_link (fixture)));
  cv_app_test_net_wait (has_links, &two, WAIT_MS, "the presence link back at the gateway");
  g_assert_cmpuint (cv_gateway_get_n_tunnels (fixture->gateway), ==, 0);

  cv_machine_connection_watch_presence (fixture->connection, FALSE);
  g_assert_cmpuint (cv_machine_connection_get_presence (fixture->connection), ==,
                    CV_PRESENCE_UNKNOWN);
}

/* No password for this run, none in the keyring (or no keyring): FAILED in words. */
static void
test_no_password (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CvSecretStore) empty = cv_secret_store_new ();
  g_autofree char *state_dir = g_build_filename (fixture->dir, "app", NULL);
  const GError *error;

  /* A store that has nothing for this run: the keyring is asked. */
  trust_gateway (fixture);
  g_assert_finalize_object (g_steal_pointer (&fixture->connection));
  fixture->connection = cv_machine_connection_new (fixture->machine, empty, state_dir);
  cv_machine_connection_connect (fixture->connection);
  wait_state (fixture, CV_CONNECTION_STATE_FAILED);
  error = cv_machine_connection_get_error (fixture->connection);
  g_test_message ("no password: %s", error->message);
  if (g_strcmp0 (g_getenv ("CULVERT_TEST_KEYRING"), "running") == 0)
    {
      g_assert_error ((GError *) error, CV_APP_ERROR, CV_APP_ERROR_NO_PASSWORD);
      g_assert_cmpstr (error->message, ==,
                       "No password is stored for this machine. Edit it and enter the session’s "
                       "connect password.");
    }
  else
    g_assert_error ((GError *) error, CV_APP_ERROR, CV_APP_ERROR_NO_KEYRING);
  g_assert_cmpstr (cv_machine_connection_get_status (fixture->connection), ==, error->message);
  g_assert_false (cv_service_link_get_listening (service_link (fixture)));
}

/* Disconnect while the person is asked: nothing was opened, nothing is left. */
static void
test_disconnect_while_asking (Fixture *fixture, gconstpointer data)
{
  cv_machine_connection_connect (fixture->connection);
  wait_state (fixture, CV_CONNECTION_STATE_NEEDS_TRUST);
  cv_machine_connection_disconnect (fixture->connection);
  g_assert_cmpuint (cv_machine_connection_get_state (fixture->connection), ==,
                    CV_CONNECTION_STATE_IDLE);
  /* A late trust () is ignored. */
  cv_machine_connection_trust (fixture->connection, fixture->trust_fingerprint);
  g_assert_null (cv_machine_get_fingerprint (fixture->machine));
  cv_app_test_net_iterate (200);
  g_assert_cmpuint (cv_gateway_get_n_links (fixture->gateway), ==, 1);
}

/* trust () with a key other than the one offered pins nothing and connects nowhere: what
 * is trusted is what the person was shown.  Asked again, the shown key connects. */
static void
test_trust_other_key (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CvIdentity) other = cv_identity_load_or_create (fixture->dir, "other", "other", NULL,
                                                             &error);
  const GError *failed;

  g_assert_no_error (error);
  cv_machine_connection_connect (fixture->connection);
  wait_state (fixture, CV_CONNECTION_STATE_NEEDS_TRUST);
  g_assert_cmpstr (fixture->trust_fingerprint, !=, cv_identity_get_fingerprint (other));

  cv_machine_connection_trust (fixture->connection, cv_identity_get_fingerprint (other));
  g_assert_cmpuint (cv_machine_connection_get_state (fixture->connection), ==,
                    CV_CONNECTION_STATE_FAILED);
  failed = cv_machine_connection_get_error (fixture->connection);
  g_assert_error ((GError *) failed, CV_APP_ERROR, CV_APP_ERROR_UNTRUSTED);
  g_test_message ("other key: %s", failed->message);
  g_assert_null (cv_machine_get_fingerprint (fixture->machine));
  g_assert_false (cv_service_link_get_listening (service_link (fixture)));
  cv_app_test_net_iterate (300);
  g_assert_cmpuint (cv_gateway_get_n_links (fixture->gateway), ==, 1); /* the share agent */
  g_assert_cmpuint (fixture->n_connected, ==, 0);

  /* Not a fingerprint at all: the same. */
  cv_machine_connection_connect (fixture->connection);
  wait_state (fixture, CV_CONNECTION_STATE_NEEDS_TRUST);
  cv_machine_connection_trust (fixture->connection, "not a key");
  g_assert_cmpuint (cv_machine_connection_get_state (fixture->connection), ==,
                    CV_CONNECTION_STATE_FAILED);
  g_assert_null (cv_machine_get_fingerprint (fixture->machine));

  /* The shown key, in another spelling (upper case), is the shown key. */
  cv_machine_connection_connect (fixture->connection);
  wait_state (fixture, CV_CONNECTION_STATE_NEEDS_TRUST);
  {
    g_autofree char *upper = g_ascii_strup (fixture->trust_fingerprint, -1);

    cv_machine_connection_trust (fixture->connection, upper);
  }
  g_assert_cmpstr (cv_machine_get_fingerprint (fixture->machine), ==,
                   cv_identity_get_fingerprint (fixture->gateway_identity));
  wait_state (fixture, CV_CONNECTION_STATE_CONNECTED);
  g_assert_cmpuint (fixture->n_trust_requested, ==, 3);
}

/* A machine the editor would not save (hand-written in machines.json: no gateway, no
 * session): connect () says what is missing, as the editor would; nothing is dialled. */
static void
test_unfinished_machine (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CvMachine) machine = cv_machine_new ();
  g_autoptr (CvMachineService) service = cv_machine_service_new (CV_SERVICE_PRESET_VNC);
  g_autoptr (CvMachineConnection) connection = NULL;
  g_autofree char *state_dir = g_build_filename (fixture->dir, "app", NULL);
  const GError *error;

  cv_machine_set_name (machine, "Half done");
  cv_machine_service_set_target_port (service, fixture->service_port);
  cv_machine_add_service (machine, service);
  cv_secret_store_remember_for_run (fixture->secrets, cv_machine_get_id (machine),
                                    CONNECT_PASSWORD);
  connection = cv_machine_connection_new (machine, fixture->secrets, state_dir);
  cv_machine_connection_watch_presence (connection, TRUE);
  cv_machine_connection_connect (connection);
  g_assert_cmpuint (cv_machine_connection_get_state (connection), ==, CV_CONNECTION_STATE_FAILED);
  error = cv_machine_connection_get_error (connection);
  g_assert_error ((GError *) error, CV_APP_ERROR, CV_APP_ERROR_INVALID);
  g_test_message ("unfinished: %s", error->message);
  cv_app_test_net_iterate (300);
  g_assert_cmpuint (cv_machine_connection_get_state (connection), ==, CV_CONNECTION_STATE_FAILED);

  /* A key without an address: no presence link either. */
  cv_machine_set_fingerprint (machine, cv_identity_get_fingerprint (fixture->gateway_identity));
  cv_machine_connection_disconnect (connection);
  cv_app_test_net_iterate (300);
  g_assert_cmpuint (cv_machine_connection_get_presence (connection), ==, CV_PRESENCE_UNKNOWN);
  g_assert_cmpuint (cv_gateway_get_n_links (fixture->gateway), ==, 1); /* the share agent */
  cv_machine_connection_watch_presence (connection, FALSE);
  g_assert_finalize_object (g_steal_pointer (&connection));
}

static void
disconnect_when_online (CvMachineConnection *connection, GParamSpec *pspec, Fixture *fixture)
{
  if (cv_machine_connection_get_presence (connection) == CV_PRESENCE_ONLINE)
    cv_machine_connection_disconnect (connection);
}

static void
disconnect_on_a_channel (CvMachineConnection *connection, GParamSpec *pspec, Fixture *fixture)
{
  if (cv_machine_connection_get_n_channels (connection) > 0)
    cv_machine_connection_disconnect (connection);
}

/* A handler of the connection's notifications that disconnects, while the engine's agent
 * is telling the connection something: it stays disconnected (nothing after the handler
 * sets it back), and the agent is stopped outside its own signal. */
static void
test_disconnect_in_handler (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  gulong handler;
  guint16 port;

  /* The machine comes online with the link: the handler ends it right there. */
  trust_gateway (fixture);
  handler = g_signal_connect (fixture->connection, "notify::presence",
                              G_CALLBACK (disconnect_when_online), fixture);
  cv_machine_connection_connect (fixture->connection);
  wait_state (fixture, CV_CONNECTION_STATE_IDLE);
  cv_app_test_net_iterate (300);
  g_assert_cmpuint (cv_machine_connection_get_state (fixture->connection), ==,
                    CV_CONNECTION_STATE_IDLE);
  g_assert_cmpuint (cv_machine_connection_get_presence (fixture->connection), ==,
                    CV_PRESENCE_UNKNOWN);
  g_assert_false (cv_service_link_get_listening (service_link (fixture)));
  g_assert_null (cv_machine_connection_get_error (fixture->connection));
  g_signal_handler_disconnect (fixture->connection, handler);

  /* A client's channel opens: the handler of "n-channels" ends it. */
  handler = g_signal_connect (fixture->connection, "notify::n-channels",
                              G_CALLBACK (disconnect_on_a_channel), fixture);
  cv_machine_connection_connect (fixture->connection);
  wait_state (fixture, CV_CONNECTION_STATE_CONNECTED);
  port = cv_service_link_get_port (service_link (fixture));
  /* The transfer is cut short; that it ends is what counts. */
  if (!cv_app_test_transfer_finish (cv_app_test_transfer_start (port, PAYLOAD_SIZE, 5), &error))
    g_test_message ("cut short: %s", error->message);
  g_clear_error (&error);
  wait_state (fixture, CV_CONNECTION_STATE_IDLE);
  cv_app_test_net_iterate (300);
  g_assert_cmpuint (cv_machine_connection_get_state (fixture->connection), ==,
                    CV_CONNECTION_STATE_IDLE);
  g_assert_true (cv_app_test_port_refuses (port));
  g_signal_handler_disconnect (fixture->connection, handler);

  /* And it connects again as usual. */
  cv_machine_connection_connect (fixture->connection);
  wait_state (fixture, CV_CONNECTION_STATE_CONNECTED);
  wait_presence (fixture, CV_PRESENCE_ONLINE, "the machine to be online");
  assert_data_flows (fixture);
}

/* The machine's gateway changes while the person is asked about the old one's key: the
 * question is withdrawn (back to IDLE) and a late trust () pins nothing. */
static void
test_gateway_changed_while_asking (Fixture *fixture, gconstpointer data)
{
  g_autofree char *offered = NULL;

  cv_machine_connection_connect (fixture->connection);
  wait_state (fixture, CV_CONNECTION_STATE_NEEDS_TRUST);
  offered = g_strdup (fixture->trust_fingerprint);
  cv_machine_set_gateway (fixture->machine, "127.0.0.1", fixture->gateway_port + 1);
  g_assert_cmpuint (cv_machine_connection_get_state (fixture->connection), ==,
                    CV_CONNECTION_STATE_IDLE);
  cv_machine_connection_trust (fixture->connection, offered);
  g_assert_null (cv_machine_get_fingerprint (fixture->machine));
  cv_app_test_net_iterate (200);
  g_assert_cmpuint (cv_gateway_get_n_links (fixture->gateway), ==, 1);

  /* Back at the real address: asked again, and it connects. */
  cv_machine_set_gateway (fixture->machine, "127.0.0.1", fixture->gateway_port);
  cv_machine_connection_connect (fixture->connection);
  wait_state (fixture, CV_CONNECTION_STATE_NEEDS_TRUST);
  g_assert_cmpuint (fixture->n_trust_requested, ==, 2);
  cv_machine_connection_trust (fixture->connection, fixture->trust_fingerprint);
  wait_state (fixture, CV_CONNECTION_STATE_CONNECTED);
}

typedef struct {
  const char *path;
  const char *contents;
} FileWanted;

static gboolean
file_holds (gpointer data)
{
  FileWanted *wanted = data;
  g_autofree char *contents = NULL;

  return g_file_get_contents (wanted->path, &contents, NULL, NULL)
         && g_str_equal (contents, wanted->contents);
}

/* A service opens with its launcher on 127.0.0.1 and the port it got, once it listens. */
static void
test_launch (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CvMachineService) service =
    g_list_model_get_item (cv_machine_get_services (fixture->machine), 0);
  g_autofree char *record = g_build_filename (fixture->dir, "launched", NULL);
  /* PATH holds only the test's bin: the script uses the shell's builtins. */
  g_autofree char *body = g_strdup_printf ("printf '%%s %%s' \"$1\" \"$2\" > '%s'", record);
  g_autofree char *expected = NULL;
  g_autoptr (GError) error = NULL;
  CvServiceLink *link = service_link (fixture);
  FileWanted wanted = { record, NULL };

  cv_app_test_add_program (test_dir, "record-launch", body);
  cv_machine_service_set_launcher (service, CV_LAUNCHER_CUSTOM);
  cv_machine_service_set_custom_command (service, "record-launch {host} {port}");
  g_assert_false (cv_service_link_launch (link, NULL, &error));
  g_assert_error (error, CV_APP_ERROR, CV_APP_ERROR_FAILED);
  g_test_message ("not connected: %s", error->message);
  g_clear_error (&error);

  trust_gateway (fixture);
  cv_machine_connection_connect (fixture->connection);
  wait_state (fixture, CV_CONNECTION_STATE_CONNECTED);
  g_assert_true (cv_service_link_launch (link, NULL, &error));
  g_assert_no_error (error);
  expected = g_strdup_printf ("127.0.0.1 %u", cv_service_link_get_port (link));
  wanted.contents = expected;
  cv_app_test_net_wait (file_holds, &wanted, WAIT_MS,
                        "the launcher to run with 127.0.0.1 and the port");
}

static void
add (const char *name, void (*func) (Fixture *, gconstpointer))
{
  g_autofree char *path = g_strconcat ("/machine-connection/", name, NULL);

  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down);
}

int
main (int argc, char *argv[])
{
  g_autoptr (GError) error = NULL;

  test_dir = cv_app_test_init (&argc, &argv);
  cv_tls_restrict_process_to_tls13 ();
  share_hash = cv_password_hash (SHARE_PASSWORD, &error);
  g_assert_no_error (error);
  connect_hash = cv_password_hash (CONNECT_PASSWORD, &error);
  g_assert_no_error (error);

  add ("first-contact", test_first_contact);
  add ("port-taken", test_port_taken);
  add ("wrong-password", test_wrong_password);
  add ("key-changed", test_key_changed);
  add ("gateway-restart", test_gateway_restart);
  add ("machine-offline", test_machine_offline);
  add ("presence", test_presence);
  add ("no-password", test_no_password);
  add ("disconnect-while-asking", test_disconnect_while_asking);
  add ("trust-other-key", test_trust_other_key);
  add ("disconnect-in-handler", test_disconnect_in_handler);
  add ("unfinished-machine", test_unfinished_machine);
  add ("gateway-changed-while-asking", test_gateway_changed_while_asking);
  add ("launch", test_launch);
  return cv_app_test_finish (test_dir, g_test_run ());
}
