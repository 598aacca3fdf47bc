/* test-share-session.c: "Share this computer" end to end, without a display — a real
 * `culvert-cli gateway` with session codes, the session's in-process share agent, the
 * helper a real in-process connect agent in code mode, real TCP services on 127.0.0.1.
 * Allowed: the bytes flow whole and the activity counts them; denied or unanswered:
 * the service is never reached; Stop closes every channel and the code dies at the
 * gateway; a wrong code burns it and a new one comes; an unclaimed code expires; an
 * unreachable gateway and a changed key are said so. */
#include <string.h>

#include "cv-app-error.h"
#include "cv-app-test-code-gateway.h"
#include "cv-app-test-net.h"
#include "cv-app-test.h"
#include "cv-code-connection.h"
#include "cv-service-link.h"
#include "cv-share-session.h"

#include "roles/cv-connect-agent.h"

static char *test_dir;
static guint n_dirs;

/* What the session said, for the assertions. */
typedef struct {
  guint n_requests;
  char *name, *address, *fingerprint, *words, *verification;
  guint n_connected, n_left, n_stopped;
  guint max_channels;
  gboolean answer; /* allow when asked */
  gboolean answer_now;
} Seen;

typedef struct {
  CvAppTestCodeGateway *gateway;
  CvShareGateway share_gateway;
  CvShareSession *session;
  Seen seen;
} Fixture;

static char *
new_dir (const char *what)
{
  g_autofree char *name = g_strdup_printf ("%s-%u", what, ++n_dirs);
  char *dir = g_build_filename (test_dir, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  return dir;
}

static void
on_consent_requested (CvShareSession *session,
                      const char *name,
                      const char *address,
                      const char *fingerprint,
                      const char *words,
                      const char *verification,
                      Seen *seen)
{
  seen->n_requests++;
  g_free (seen->name);
  seen->name = g_strdup (name);
  g_free (seen->address);
  seen->address = g_strdup (address);
  g_free (seen->fingerprint);
  seen->fingerprint = g_strdup (fingerprint);
  g_free (seen->words);
  seen->words = g_strdup (words);
  g_free (seen->verification);
  seen->verification = g_strdup (verification);
  g_assert_cmpint (cv_share_session_get_state (session), ==, CV_SHARE_STATE_ASKING);
  if (seen->answer_now)
    g_assert_true (seen->answer ? cv_share_session_allow (session)
                                : cv_share_session_deny (session));
}

static void
count (CvShareSession *session, guint *n)
{
  (*n)++;
}

static void
on_n_channels (CvShareSession *session, GParamSpec *pspec, Seen *seen)
{
  seen->max_channels = MAX (seen->max_channels, cv_share_session_get_n_channels (session));
}

/* A session offering @services through a fresh gateway (codes live @code_ttl_ms). */
static void
fixture_start (Fixture *fixture, guint code_ttl_ms, GListModel *services)
{
  g_autofree char *dir = new_dir ("gateway");
  g_autofree char *share_dir = new_dir ("share");

  fixture->gateway = cv_app_test_code_gateway_start (dir, code_ttl_ms);
  fixture->share_gateway.address = g_strdup_printf ("127.0.0.1:%u", fixture->gateway->port);
  fixture->share_gateway.fingerprint = g_strdup (fixture->gateway->fingerprint);
  fixture->session = cv_share_session_new (&fixture->share_gateway, services, share_dir);
  g_signal_connect (fixture->session, "consent-requested", G_CALLBACK (on_consent_requested),
                    &fixture->seen);
  g_signal_connect (fixture->session, "helper-connected", G_CALLBACK (count),
                    &fixture->seen.n_connected);
  g_signal_connect (fixture->session, "helper-left", G_CALLBACK (count), &fixture->seen.n_left);
  g_signal_connect (fixture->session, "stopped", G_CALLBACK (count), &fixture->seen.n_stopped);
  g_signal_connect (fixture->session, "notify::n-channels", G_CALLBACK (on_n_channels),
                    &fixture->seen);
}

static void
fixture_end (Fixture *fixture)
{
  cv_share_session_stop (fixture->session);
  g_assert_finalize_object (fixture->session);
  /* The agent's last channels and link wind down on the context. */
  cv_app_test_net_iterate (200);
  cv_app_test_code_gateway_stop (fixture->gateway);
  g_free (fixture->share_gateway.address);
  g_free (fixture->share_gateway.fingerprint);
  g_free (fixture->seen.name);
  g_free (fixture->seen.address);
  g_free (fixture->seen.fingerprint);
  g_free (fixture->seen.words);
  g_free (fixture->seen.verification);
}

static GListModel *
services_of (CvShareService *first, ...)
{
  GListStore *store = g_list_store_new (CV_TYPE_SHARE_SERVICE);
  va_list args;

  va_start (args, first);
  for (CvShareService *service = first; service != NULL; service = va_arg (args, CvShareService *))
    {
      g_list_store_append (store, service);
      g_object_unref (service);
    }
  va_end (args);
  return G_LIST_MODEL (store);
}

static CvShareState wanted_state;

static gboolean
in_wanted_state (gpointer data)
{
  return cv_share_session_get_state (data) == wanted_state;
}

static void
wait_state (CvShareSession *session, CvShareState state)
{
  g_autofree char *what = g_strdup_printf ("the session in state %d", state);

  wanted_state = state;
  cv_app_test_wait (in_wanted_state, session, what);
}

/* WAITING, with a code that looks like one and lives a while. */
static char *
wait_code (CvShareSession *session)
{
  const char *code;

  wait_state (session, CV_SHARE_STATE_WAITING);
  code = cv_share_session_get_code (session);
  g_assert_nonnull (code);
  g_assert_true (g_regex_match_simple ("^[0-9]{3,}-[0-9]{3}-[0-9]{3}$", code, 0, 0));
  g_assert_cmpint (cv_share_session_get_code_expires (session), >, g_get_real_time ());
  g_assert_null (cv_share_session_get_error (session));
  return g_strdup (code);
}

/* The helper: a connect agent given @code, mapping each of @names to a free local port. */
static CvConnectAgent *
start_helper (Fixture *fixture, const char *code, const char *const *names)
{
  g_autoptr (CvConnectConfig) config = cv_connect_config_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = new_dir ("connect");
  CvConnectAgent *agent;

  cv_agent_config_set_gateway (&config->agent, "127.0.0.1", fixture->gateway->port,
                               fixture->gateway->fingerprint);
  config->agent.code_mode = TRUE;
  config->agent.code = g_strdup (code);
  cv_agent_config_set_name (&config->agent, "Alex Moreau");
  cv_agent_config_set_state_dir (&config->agent, dir);
  agent = cv_connect_agent_new_from_config (config, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_assert_true (cv_connect_agent_map_service (agent, names[i], 0, &error));
      g_assert_no_error (error);
    }
  cv_connect_agent_start (agent);
  return agent;
}

static guint16
helper_port (CvConnectAgent *agent, const char *name)
{
  GListModel *mappings = cv_connect_agent_get_mappings (agent);

  for (guint i = 0; i < g_list_model_get_n_items (mappings); i++)
    {
      g_autoptr (CvMapping) mapping = g_list_model_get_item (mappings, i);

      if (g_strcmp0 (cv_mapping_get_service_name (mapping), name) == 0)
        return cv_mapping_get_bound_port (mapping);
    }
  g_assert_not_reached ();
}

/* The engine's connect agent asks for its tunnel when a first local client comes (a
 * viewer started): a connection to the helper's port for @name, held open. */
static GSocketConnection *
poke (CvConnectAgent *agent, const char *name)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  GSocketConnection *connection;

  g_socket_client_set_enable_proxy (client, FALSE);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", helper_port (agent, name),
                                                NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)), "abcd", 4,
                             NULL, NULL, &error);
  g_assert_no_error (error);
  return connection;
}

static void
stop_helper (CvConnectAgent *agent)
{
  cv_connect_agent_stop (agent);
  g_object_unref (agent);
}

static CvCodeState wanted_code_state;

static gboolean
helper_in_code_state (gpointer data)
{
  return cv_connect_agent_get_code_state (data) == wanted_code_state;
}

static void
wait_helper (CvConnectAgent *agent, CvCodeState state)
{
  g_autofree char *what = g_strdup_printf ("the helper's code in state %d", state);

  wanted_code_state = state;
  cv_app_test_wait (helper_in_code_state, agent, what);
}

static gboolean
helper_code_dead (gpointer data)
{
  CvCodeState state = cv_connect_agent_get_code_state (data);

  return state == CV_CODE_STATE_BURNED || state == CV_CODE_STATE_EXPIRED;
}

/* A later claim of @code fails at the gateway: the code is dead. */
static void
assert_code_dead (Fixture *fixture, const char *code)
{
  const char *const names[] = { "vnc", NULL };
  CvConnectAgent *late = start_helper (fixture, code, names);

  cv_app_test_wait (helper_code_dead, late, "a late claim of a dead code to fail");
  g_assert_false (cv_connect_agent_has_tunnel (late));
  stop_helper (late);
}

static CvShareService *
moved_preset (CvSharePreset preset, const char *name, guint16 port)
{
  g_autofree char *moved = g_strdup_printf ("%s=%u", name, port);
  CvShareService *service;

  g_setenv ("CULVERT_SHARE_PRESET_PORTS", moved, TRUE);
  service = cv_share_service_new_preset (preset);
  g_unsetenv ("CULVERT_SHARE_PRESET_PORTS");
  g_assert_cmpuint (cv_share_service_get_port (service), ==, port);
  return service;
}

/* ---- allowed ------------------------------------------------------------- */

#define PAYLOAD_SIZE (300 * 1024)

static gboolean
no_channels (gpointer data)
{
  return cv_share_session_get_n_channels (data) == 0;
}

/* Screen and SSH offered and asked for, allowed: the screen's bytes flow whole, the
 * activity has that service with its bytes; Stop ends it and kills the code. */
static void
test_allowed (void)
{
  Fixture fixture = { 0 };
  guint16 vnc_port = 0, ssh_port = 0;
  GSocketService *vnc = cv_app_test_checksum_service_new (&vnc_port);
  GSocketService *ssh = cv_app_test_checksum_service_new (&ssh_port);
  g_autoptr (GListModel) services =
    services_of (moved_preset (CV_SHARE_PRESET_VNC, "vnc", vnc_port),
                 moved_preset (CV_SHARE_PRESET_SSH, "ssh", ssh_port), NULL);
  const char *const names[] = { "vnc", "ssh", NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *code = NULL;
  g_autoptr (CvShareActivity) activity = NULL;
  CvConnectAgent *helper;
  CvAppTestTransfer *transfer;
  GListModel *list;

  fixture_start (&fixture, 0, services);
  cv_share_session_start (fixture.session);
  g_assert_cmpint (cv_share_session_get_state (fixture.session), ==, CV_SHARE_STATE_STARTING);
  code = wait_code (fixture.session);

  helper = start_helper (&fixture, code, names);
  wait_helper (helper, CV_CODE_STATE_CONFIRMED);
  /* The viewer starts: the tunnel, and the request. */
  transfer = cv_app_test_transfer_start (helper_port (helper, "vnc"), PAYLOAD_SIZE, 7);
  wait_state (fixture.session, CV_SHARE_STATE_ASKING);
  g_assert_cmpuint (fixture.seen.n_requests, ==, 1);
  g_assert_cmpstr (fixture.seen.words, ==, "your screen and a command line (SSH)");
  g_assert_cmpstr (fixture.seen.name, ==, "Alex Moreau");
  g_assert_nonnull (fixture.seen.address);
  g_assert_true (g_str_has_prefix (fixture.seen.fingerprint, "sha256:"));
  g_assert_nonnull (fixture.seen.verification);
  g_assert_cmpstr (fixture.seen.verification, ==, cv_connect_agent_get_verification (helper));
  g_assert_cmpstr (cv_share_session_get_verification (fixture.session), ==,
                   fixture.seen.verification);
  g_assert_cmpstr (cv_share_session_get_helper_name (fixture.session), ==, "Alex Moreau");

  g_assert_true (cv_share_session_allow (fixture.session));
  g_assert_false (cv_share_session_allow (fixture.session)); /* answered already */
  g_assert_cmpint (cv_share_session_get_state (fixture.session), ==, CV_SHARE_STATE_CONNECTED);
  g_assert_cmpuint (fixture.seen.n_connected, ==, 1);
  wait_helper (helper, CV_CODE_STATE_CONSENTED);
  g_assert_true (cv_app_test_transfer_finish (transfer, &error));
  g_assert_no_error (error);
  cv_app_test_wait (no_channels, fixture.session, "the channel to close");
  g_assert_cmpuint (fixture.seen.max_channels, ==, 1);

  list = cv_share_session_get_activity (fixture.session);
  g_assert_cmpuint (g_list_model_get_n_items (list), ==, 1);
  activity = g_list_model_get_item (list, 0);
  g_assert_cmpstr (cv_share_service_get_engine_name (cv_share_activity_get_service (activity)), ==,
                   "vnc");
  g_assert_cmpuint (cv_share_activity_get_n_open (activity), ==, 0);
  /* The payload in from the helper; the digest and reply out to it. */
  g_assert_cmpuint (cv_share_activity_get_bytes_in (activity), ==, PAYLOAD_SIZE);
  g_assert_cmpuint (cv_share_activity_get_bytes_out (activity), ==,
                    64 + CV_APP_TEST_NET_REPLY_SIZE);
  g_assert_nonnull (strstr (cv_share_activity_get_summary (activity), "closed"));
  g_assert_cmpint (cv_share_activity_get_since (activity), <=, g_get_real_time ());

  cv_share_session_stop (fixture.session);
  g_assert_cmpuint (fixture.seen.n_stopped, ==, 1);
  g_assert_cmpint (cv_share_session_get_state (fixture.session), ==, CV_SHARE_STATE_IDLE);
  g_assert_null (cv_share_session_get_code (fixture.session));
  assert_code_dead (&fixture, code);

  stop_helper (helper);
  fixture_end (&fixture);
  cv_app_test_checksum_service_free (vnc);
  cv_app_test_checksum_service_free (ssh);
}

/* ---- the app on both sides ------------------------------------------------------- */

static gboolean
code_connection_in (gpointer data)
{
  CvCodeConnection *connection = data;
  CvCodeConnectionState *wanted = g_object_get_data (G_OBJECT (connection), "wanted");

  return cv_code_connection_get_state (connection) == *wanted;
}

static void
wait_code_connection (CvCodeConnection *connection, CvCodeConnectionState state)
{
  g_object_set_data (G_OBJECT (connection), "wanted", &state);
  cv_app_test_wait (code_connection_in, connection, "the code connection's state");
}

/* The technician is the app too (CvCodeConnection, what Connect with a Code drives): it
 * sees the offered screen and the same verification before asking; the person sharing is
 * asked in words, allows, and the bytes come back whole through the technician's port;
 * Stop ends the technician's connection and kills the code. */
static void
test_app_technician (void)
{
  Fixture fixture = { 0 };
  guint16 vnc_port = 0;
  GSocketService *vnc = cv_app_test_checksum_service_new (&vnc_port);
  g_autoptr (GListModel) services = services_of (moved_preset (CV_SHARE_PRESET_VNC, "vnc",
                                                               vnc_port),
                                                 NULL);
  const char *const names[] = { "vnc", NULL };
  g_autoptr (GError) error = NULL;
  g_autofree char *code = NULL;
  g_autofree char *gateway = NULL;
  g_autofree char *tech_dir = new_dir ("technician");
  g_autoptr (CvCodeConnection) technician = NULL;
  g_autoptr (CvService) offered = NULL;
  g_autoptr (CvServiceLink) link = NULL;
  g_autofree char *words = NULL;

  fixture_start (&fixture, 0, services);
  fixture.seen.answer = TRUE;
  fixture.seen.answer_now = TRUE;
  cv_share_session_start (fixture.session);
  code = wait_code (fixture.session);

  gateway = g_strdup_printf ("127.0.0.1:%u", fixture.gateway->port);
  technician = cv_code_connection_new (gateway, fixture.gateway->fingerprint, tech_dir);
  g_assert_true (cv_code_connection_claim (technician, code, &error));
  g_assert_no_error (error);
  wait_code_connection (technician, CV_CODE_CONNECTION_CONFIRMED);
  g_assert_nonnull (cv_code_connection_get_verification (technician));
  g_assert_cmpuint (g_list_model_get_n_items (cv_code_connection_get_offered (technician)), ==, 1);
  offered = g_list_model_get_item (cv_code_connection_get_offered (technician), 0);
  words = cv_code_connection_describe_service (offered);
  g_assert_cmpstr (words, ==, "Screen sharing (VNC)");
  g_assert_cmpuint (fixture.seen.n_requests, ==, 0); /* nothing asked before Connect */

  g_assert_true (cv_code_connection_connect (technician, names, &error));
  g_assert_no_error (error);
  wait_code_connection (technician, CV_CODE_CONNECTION_CONNECTED);
  g_assert_cmpuint (fixture.seen.n_requests, ==, 1);
  g_assert_cmpstr (fixture.seen.words, ==, "your screen");
  g_assert_cmpstr (fixture.seen.verification, ==, cv_code_connection_get_verification (technician));
  g_assert_cmpint (cv_share_session_get_state (fixture.session), ==, CV_SHARE_STATE_CONNECTED);

  link = g_list_model_get_item (cv_code_connection_get_services (technician), 0);
  g_assert_true (
    cv_app_test_transfer_finish (cv_app_test_transfer_start (cv_service_link_get_port (link),
                                                             PAYLOAD_SIZE, 11),
                                 &error));
  g_assert_no_error (error);

  cv_share_session_stop (fixture.session);
  g_assert_cmpint (cv_share_session_get_state (fixture.session), ==, CV_SHARE_STATE_IDLE);
  wait_code_connection (technician, CV_CODE_CONNECTION_FAILED);
  assert_code_dead (&fixture, code);

  cv_code_connection_disconnect (technician);
  fixture_end (&fixture);
  cv_app_test_checksum_service_free (vnc);
}

/* ---- Stop while a channel is open ---------------------------------------------- */

static gboolean
one_channel (gpointer data)
{
  return cv_share_session_get_n_channels (data) == 1;
}

/* The local end of a connection through the tunnel: closed once it reads EOF or an
 * error (a reset). */
static gboolean
socket_ended (gpointer data)
{
  GSocket *socket = data;
  char byte;
  gssize n;

  if (g_socket_condition_check (socket, G_IO_IN | G_IO_HUP | G_IO_ERR) == 0)
    return FALSE;
  n = g_socket_receive (socket, &byte, 1, NULL, NULL);
  return n <= 0;
}

static void
test_stop (void)
{
  Fixture fixture = { 0 };
  guint16 port = 0;
  GSocketService *service = cv_app_test_checksum_service_new (&port);
  g_autoptr (GListModel) services = services_of (cv_share_service_new_custom (port), NULL);
  g_autofree char *name = g_strdup_printf ("port-%u", port);
  const char *const names[] = { name, NULL };
  g_autofree char *code = NULL;
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (CvShareActivity) activity = NULL;
  CvConnectAgent *helper;

  fixture_start (&fixture, 0, services);
  fixture.seen.answer = fixture.seen.answer_now = TRUE;
  cv_share_session_start (fixture.session);
  code = wait_code (fixture.session);
  helper = start_helper (&fixture, code, names);
  wait_helper (helper, CV_CODE_STATE_CONFIRMED);
  /* A connection held open: bytes sent, no end yet, so the service waits for more. */
  connection = poke (helper, name);
  wait_state (fixture.session, CV_SHARE_STATE_CONNECTED);
  {
    g_autofree char *words = g_strdup_printf ("port %u", port);
    g_assert_cmpstr (fixture.seen.words, ==, words);
  }
  wait_helper (helper, CV_CODE_STATE_CONSENTED);
  cv_app_test_wait (one_channel, fixture.session, "a channel to open");
  activity = g_list_model_get_item (cv_share_session_get_activity (fixture.session), 0);
  g_assert_cmpuint (cv_share_activity_get_n_open (activity), ==, 1);
  g_assert_nonnull (strstr (cv_share_activity_get_summary (activity), "1 connection"));

  cv_share_session_stop (fixture.session);
  g_assert_cmpuint (fixture.seen.n_stopped, ==, 1);
  g_assert_cmpint (cv_share_session_get_state (fixture.session), ==, CV_SHARE_STATE_IDLE);
  g_assert_cmpuint (cv_share_session_get_n_channels (fixture.session), ==, 0);
  g_assert_cmpuint (cv_share_activity_get_n_open (activity), ==, 0);
  g_assert_cmpuint (fixture.seen.n_left, ==, 0); /* stopped here, not left */
  /* The helper's side of the channel ends too: the tunnel is gone. */
  cv_app_test_wait (socket_ended, g_socket_connection_get_socket (connection),
                    "the helper's connection to end");
  assert_code_dead (&fixture, code);

  stop_helper (helper);
  fixture_end (&fixture);
  cv_app_test_checksum_service_free (service);
}

/* ---- denied, unanswered ---------------------------------------------------------- */

/* A listening socket nobody may reach: no connection may ever be queued on it. */
static void
assert_never_reached (GSocket *listener)
{
  g_assert_cmpint (g_socket_condition_check (listener, G_IO_IN), ==, 0);
}

static void
test_denied (void)
{
  Fixture fixture = { 0 };
  guint16 port = 0;
  g_autoptr (GSocket) listener = cv_app_test_hold_port (&port);
  g_autoptr (GListModel) services = services_of (moved_preset (CV_SHARE_PRESET_RDP, "rdp", port),
                                                 NULL);
  const char *const names[] = { "rdp", NULL };
  g_autofree char *code = NULL;
  g_autoptr (GError) error = NULL;
  CvAppTestTransfer *transfer;
  CvConnectAgent *helper;

  fixture_start (&fixture, 0, services);
  cv_share_session_start (fixture.session);
  code = wait_code (fixture.session);
  helper = start_helper (&fixture, code, names);
  wait_helper (helper, CV_CODE_STATE_CONFIRMED);
  /* A client that waits for the answer, and gets nothing through. */
  transfer = cv_app_test_transfer_start (helper_port (helper, "rdp"), 1024, 3);
  wait_state (fixture.session, CV_SHARE_STATE_ASKING);
  g_assert_cmpstr (fixture.seen.words, ==, "remote desktop");

  g_assert_true (cv_share_session_deny (fixture.session));
  g_assert_cmpint (cv_share_session_get_state (fixture.session), ==, CV_SHARE_STATE_FAILED);
  g_assert_error ((GError *) cv_share_session_get_error (fixture.session), CV_APP_ERROR,
                  CV_APP_ERROR_DECLINED);
  wait_helper (helper, CV_CODE_STATE_DECLINED);
  g_assert_cmpstr (cv_connect_agent_get_declined_reason (helper), ==, "declined");
  g_assert_cmpuint (fixture.seen.n_connected, ==, 0);

  g_assert_false (cv_app_test_transfer_finish (transfer, &error));
  g_clear_error (&error);
  cv_app_test_net_iterate (300);
  assert_never_reached (listener);
  g_assert_cmpuint (fixture.seen.max_channels, ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (cv_share_session_get_activity (fixture.session)), ==,
                    0);

  /* A new code from there. */
  cv_share_session_renew_code (fixture.session);
  {
    g_autofree char *second = wait_code (fixture.session);
    g_assert_cmpstr (second, !=, code);
  }

  stop_helper (helper);
  fixture_end (&fixture);
}

static void
test_consent_timeout (void)
{
  Fixture fixture = { 0 };
  guint16 port = 0;
  g_autoptr (GSocket) listener = cv_app_test_hold_port (&port);
  g_autoptr (GListModel) services = services_of (cv_share_service_new_custom (port), NULL);
  g_autofree char *name = g_strdup_printf ("port-%u", port);
  const char *const names[] = { name, NULL };
  g_autofree char *code = NULL;
  g_autoptr (GSocketConnection) connection = NULL;
  CvConnectAgent *helper;
  gint64 asked;

  fixture_start (&fixture, 0, services);
  cv_share_session_set_consent_timeout_ms (fixture.session, 700);
  cv_share_session_start (fixture.session);
  code = wait_code (fixture.session);
  helper = start_helper (&fixture, code, names);
  wait_helper (helper, CV_CODE_STATE_CONFIRMED);
  connection = poke (helper, name);
  wait_state (fixture.session, CV_SHARE_STATE_ASKING);
  asked = g_get_monotonic_time ();
  wait_state (fixture.session, CV_SHARE_STATE_FAILED);
  g_assert_cmpint (g_get_monotonic_time () - asked, >=, 500 * 1000);
  g_assert_error ((GError *) cv_share_session_get_error (fixture.session), CV_APP_ERROR,
                  CV_APP_ERROR_DECLINED);
  g_assert_nonnull (strstr (cv_share_session_get_error (fixture.session)->message, "in time"));
  g_assert_false (cv_share_session_allow (fixture.session)); /* too late */
  wait_helper (helper, CV_CODE_STATE_DECLINED);
  g_assert_cmpstr (cv_connect_agent_get_declined_reason (helper), ==, "timeout");
  assert_never_reached (listener);

  stop_helper (helper);
  fixture_end (&fixture);
}

/* ---- wrong, expired ------------------------------------------------------------- */

static void
test_wrong_code (void)
{
  Fixture fixture = { 0 };
  guint16 port = 0;
  g_autoptr (GSocket) listener = cv_app_test_hold_port (&port);
  g_autoptr (GListModel) services = services_of (moved_preset (CV_SHARE_PRESET_VNC, "vnc", port),
                                                 NULL);
  const char *const names[] = { "vnc", NULL };
  g_autofree char *code = NULL;
  g_autofree char *wrong = NULL;
  g_autofree char *renewed = NULL;
  gsize len;
  CvConnectAgent *guesser;

  fixture_start (&fixture, 0, services);
  cv_share_session_start (fixture.session);
  code = wait_code (fixture.session);
  wrong = g_strdup (code);
  len = strlen (wrong);
  wrong[len - 1] = wrong[len - 1] == '9' ? '0' : wrong[len - 1] + 1;

  guesser = start_helper (&fixture, wrong, names);
  wait_state (fixture.session, CV_SHARE_STATE_FAILED);
  g_assert_error ((GError *) cv_share_session_get_error (fixture.session), CV_APP_ERROR,
                  CV_APP_ERROR_CODE_BURNED);
  g_assert_cmpstr (cv_share_session_get_error (fixture.session)->message, ==,
                   "Someone typed a wrong code, so it no longer works. If you were not expecting "
                   "that, be careful. Get a new code to go on.");
  g_assert_null (cv_share_session_get_code (fixture.session));
  g_assert_cmpuint (fixture.seen.n_requests, ==, 0);
  cv_app_test_wait (helper_code_dead, guesser, "the guesser's code to burn");
  /* The right code is dead too. */
  assert_code_dead (&fixture, code);
  assert_never_reached (listener);

  cv_share_session_renew_code (fixture.session);
  renewed = wait_code (fixture.session);
  g_assert_cmpstr (renewed, !=, code);
  g_assert_null (cv_share_session_get_error (fixture.session));

  stop_helper (guesser);
  fixture_end (&fixture);
}

static void
test_expired (void)
{
  Fixture fixture = { 0 };
  g_autoptr (GListModel) services = services_of (cv_share_service_new_custom (9), NULL);
  g_autofree char *code = NULL;
  g_autofree char *renewed = NULL;
  gint64 expires;

  fixture_start (&fixture, 1500, services);
  cv_share_session_start (fixture.session);
  code = wait_code (fixture.session);
  expires = cv_share_session_get_code_expires (fixture.session);
  g_assert_cmpint (expires - g_get_real_time (), <=, 1500 * 1000);
  wait_state (fixture.session, CV_SHARE_STATE_FAILED);
  g_assert_error ((GError *) cv_share_session_get_error (fixture.session), CV_APP_ERROR,
                  CV_APP_ERROR_CODE_EXPIRED);
  g_assert_null (cv_share_session_get_code (fixture.session));
  g_assert_cmpint (g_get_real_time (), >=, expires - 200 * 1000);

  cv_share_session_renew_code (fixture.session);
  renewed = wait_code (fixture.session);
  g_assert_cmpstr (renewed, !=, code);
  fixture_end (&fixture);
}

/* A new code while one waits: the first dies at the gateway. */
static void
test_renew_waiting (void)
{
  Fixture fixture = { 0 };
  g_autoptr (GListModel) services = services_of (cv_share_service_new_custom (9), NULL);
  g_autofree char *code = NULL;
  g_autofree char *renewed = NULL;

  fixture_start (&fixture, 0, services);
  cv_share_session_start (fixture.session);
  code = wait_code (fixture.session);
  cv_share_session_renew_code (fixture.session);
  g_assert_cmpint (cv_share_session_get_state (fixture.session), ==, CV_SHARE_STATE_STARTING);
  g_assert_null (cv_share_session_get_code (fixture.session));
  renewed = wait_code (fixture.session);
  g_assert_cmpstr (renewed, !=, code);
  assert_code_dead (&fixture, code);
  g_assert_cmpint (cv_share_session_get_state (fixture.session), ==, CV_SHARE_STATE_WAITING);
  fixture_end (&fixture);
}

/* ---- the gateway away or changed ----------------------------------------------- */

static void
test_unreachable (void)
{
  g_autoptr (GListModel) services = services_of (cv_share_service_new_custom (9), NULL);
  g_autofree char *dir = new_dir ("share");
  CvShareGateway gateway = { 0 };
  CvShareSession *session;
  const GError *error;

  gateway.address = g_strdup_printf ("127.0.0.1:%u", cv_app_test_free_port ());
  gateway.fingerprint = g_strdup (
    "sha256:"
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  session = cv_share_session_new (&gateway, services, dir);
  cv_share_session_start (session);
  wait_state (session, CV_SHARE_STATE_FAILED);
  error = cv_share_session_get_error (session);
  g_assert_error ((GError *) error, CV_APP_ERROR, CV_APP_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, gateway.address));
  g_assert_nonnull (strstr (error->message, "cannot be reached"));
  g_assert_null (cv_share_session_get_code (session));
  cv_share_session_stop (session);
  g_assert_finalize_object (session);
  g_free (gateway.address);
  g_free (gateway.fingerprint);
}

static gboolean
key_changed (gpointer data)
{
  return g_error_matches (cv_share_session_get_error (data), CV_APP_ERROR,
                          CV_APP_ERROR_KEY_CHANGED);
}

static void
test_key_changed (void)
{
  Fixture fixture = { 0 };
  g_autoptr (GListModel) services = services_of (cv_share_service_new_custom (9), NULL);
  const GError *error;

  fixture_start (&fixture, 0, services);
  /* Another key than the gateway's: a session made with it must refuse to share. */
  g_clear_object (&fixture.session);
  g_free (fixture.share_gateway.fingerprint);
  fixture.share_gateway.fingerprint = g_strdup (
    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
  {
    g_autofree char *dir = new_dir ("share");
    fixture.session = cv_share_session_new (&fixture.share_gateway, services, dir);
  }
  cv_share_session_start (fixture.session);
  /* First the failed handshake, then the probe's answer. */
  cv_app_test_wait (key_changed, fixture.session, "the session to see the other key");
  g_assert_cmpint (cv_share_session_get_state (fixture.session), ==, CV_SHARE_STATE_FAILED);
  error = cv_share_session_get_error (fixture.session);
  g_assert_nonnull (strstr (error->message, fixture.gateway->fingerprint));
  g_assert_null (cv_share_session_get_code (fixture.session));
  fixture_end (&fixture);
}

/* ---- the helper leaves -------------------------------------------------------- */

static void
test_helper_left (void)
{
  Fixture fixture = { 0 };
  guint16 port = 0;
  GSocketService *service = cv_app_test_checksum_service_new (&port);
  g_autoptr (GListModel) services = services_of (moved_preset (CV_SHARE_PRESET_SSH, "ssh", port),
                                                 NULL);
  const char *const names[] = { "ssh", NULL };
  g_autofree char *code = NULL;
  g_autoptr (GSocketConnection) connection = NULL;
  CvConnectAgent *helper;

  fixture_start (&fixture, 0, services);
  fixture.seen.answer = fixture.seen.answer_now = TRUE;
  cv_share_session_start (fixture.session);
  code = wait_code (fixture.session);
  helper = start_helper (&fixture, code, names);
  wait_helper (helper, CV_CODE_STATE_CONFIRMED);
  connection = poke (helper, "ssh");
  wait_state (fixture.session, CV_SHARE_STATE_CONNECTED);
  wait_helper (helper, CV_CODE_STATE_CONSENTED);
  stop_helper (helper);
  wait_state (fixture.session, CV_SHARE_STATE_IDLE);
  g_assert_cmpuint (fixture.seen.n_left, ==, 1);
  g_assert_cmpuint (fixture.seen.n_stopped, ==, 0);
  g_assert_null (cv_share_session_get_code (fixture.session));
  assert_code_dead (&fixture, code);

  /* Sharing again is a new start, with a new code. */
  cv_share_session_start (fixture.session);
  {
    g_autofree char *again = wait_code (fixture.session);
    g_assert_cmpstr (again, !=, code);
  }
  fixture_end (&fixture);
  cv_app_test_checksum_service_free (service);
}

int
main (int argc, char **argv)
{
  int status;

  test_dir = cv_app_test_init (&argc, &argv);
  g_test_add_func ("/share-session/allowed", test_allowed);
  g_test_add_func ("/share-session/stop", test_stop);
  g_test_add_func ("/share-session/denied", test_denied);
  g_test_add_func ("/share-session/consent-timeout", test_consent_timeout);
  g_test_add_func ("/share-session/wrong-code", test_wrong_code);
  g_test_add_func ("/share-session/expired", test_expired);
  g_test_add_func ("/share-session/renew-waiting", test_renew_waiting);
  g_test_add_func ("/share-session/unreachable", test_unreachable);
  g_test_add_func ("/share-session/key-changed", test_key_changed);
  g_test_add_func ("/share-session/helper-left", test_helper_left);
  g_test_add_func ("/share-session/app-technician", test_app_technician);
  status = g_test_run ();
  return cv_app_test_finish (test_dir, status);
}
