/* test-code-connection.c: "Connect with a code" through the app core — a real
 * `culvert-cli gateway` with session codes on 127.0.0.1, a real `culvert-cli share --code`
 * offering a checksum service, the app's CvCodeConnection on the main context.  The right
 * code shows the share's verification and its services before anything is asked, then
 * the service's bytes go through the local port whole both ways; a denial is "declined",
 * a wrong code burned, no gateway said to be set in Preferences. */
#include "cv-app-error.h"
#include "cv-app-test.h"
#include "cv-app-test-net.h"
#include "cv-code-connection.h"
#include "cv-service-link.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#define PAYLOAD_SIZE (512 * 1024)
#define WAIT_MS CV_APP_TEST_NET_WAIT_MS

static char *test_dir;
static GSubprocess *gateway;
static char *gateway_address;
static char *gateway_fingerprint;
static guint n_logs;

/* ---- processes ---------------------------------------------------------- */

static void
die_with_test (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* @argv with its stdout and stderr in a new log file (*@log, to free). */
static GSubprocess *
spawn_logged (const char *const *argv, char **log)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
    G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_autoptr (GError) error = NULL;
  GSubprocess *process;

  *log = g_strdup_printf ("%s/%s-%u.log", test_dir, argv[1], n_logs++);
  g_subprocess_launcher_set_stdout_file_path (launcher, *log);
  g_subprocess_launcher_set_child_setup (launcher, die_with_test, NULL, NULL);
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  return process;
}

static void
stop_process (GSubprocess *process)
{
  g_subprocess_send_signal (process, SIGTERM);
  g_assert_true (g_subprocess_wait (process, NULL, NULL));
  g_object_unref (process);
}

typedef struct {
  const char *log;
  GRegex *regex;
  char *found; /* group 1 */
} LogWait;

static gboolean
log_matches (gpointer data)
{
  LogWait *wait = data;
  g_autofree char *text = NULL;
  g_autoptr (GMatchInfo) match = NULL;

  if (!g_file_get_contents (wait->log, &text, NULL, NULL)
      || !g_regex_match (wait->regex, text, 0, &match))
    return FALSE;
  wait->found = g_match_info_fetch (match, 1);
  return TRUE;
}

static gboolean
tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Waits (bounded) until @log has a line matching @pattern; its group 1. */
static char *
wait_for_log (const char *log, const char *pattern)
{
  LogWait wait = { log, g_regex_new (pattern, G_REGEX_MULTILINE, 0, NULL), NULL };
  /* Nothing tells the main context that a file grew: it wakes to look every 20 ms. */
  guint ticker = g_timeout_add (20, tick, NULL);

  cv_app_test_net_wait (log_matches, &wait, WAIT_MS, pattern);
  g_source_remove (ticker);
  g_regex_unref (wait.regex);
  return wait.found;
}

static const char *
culvert_cli (void)
{
  const char *cli = g_getenv ("CULVERT_CLI");

  if (cli == NULL)
    g_error ("CULVERT_CLI is not set: run this test with meson test");
  return cli;
}

static void
start_gateway (void)
{
  g_autoptr (GSocket) held = NULL;
  g_autofree char *config = g_build_filename (test_dir, "gateway.json", NULL);
  g_autofree char *state = g_build_filename (test_dir, "gateway-state", NULL);
  g_autofree char *json = NULL;
  g_autofree char *log = NULL;
  g_autofree char *listening = NULL;
  guint16 port = 0;

  held = cv_app_test_hold_port (&port);
  g_socket_close (held, NULL);
  gateway_address = g_strdup_printf ("127.0.0.1:%u", port);
  json = g_strdup_printf ("{\"listen\": [\"%s\"], \"state_dir\": \"%s\", \"sessions\": [], "
                          "\"codes\": {\"enabled\": true}}",
                          gateway_address, state);
  g_assert_true (g_file_set_contents (config, json, -1, NULL));
  gateway = spawn_logged ((const char *const[]){ culvert_cli (), "gateway", "--config", config,
                                                 NULL },
                          &log);
  gateway_fingerprint = wait_for_log (log, "gateway key fingerprint: (sha256:[0-9a-f]{64})");
  listening = wait_for_log (log, "listening on 127.0.0.1 port ([0-9]+)");
  g_assert_cmpuint (atoi (listening), ==, port);
}

typedef struct {
  GSubprocess *process;
  char *log;
  char *code;
} Share;

/* culvert-cli share --code offering "data" (the checksum service on @port); @accept:
 * with --accept, else it denies every request (no terminal to ask on). */
static Share *
start_share (guint16 port, gboolean accept)
{
  Share *share = g_new0 (Share, 1);
  g_autofree char *offer = g_strdup_printf ("data=127.0.0.1:%u", port);
  g_autofree char *state = g_build_filename (test_dir, "share-state", NULL);
  const char *argv[] = { culvert_cli (),
                         "share",
                         "--code",
                         "--gateway",
                         gateway_address,
                         "--fingerprint",
                         gateway_fingerprint,
                         "--name",
                         "Front desk",
                         "--state-dir",
                         state,
                         "--offer",
                         offer,
                         accept ? "--accept" : NULL,
                         NULL };

  share->process = spawn_logged (argv, &share->log);
  share->code = wait_for_log (share->log, "^Session code: ([0-9]{3,9}-[0-9]{3}-[0-9]{3})$");
  return share;
}

static void
share_free (Share *share)
{
  stop_process (share->process);
  g_free (share->log);
  g_free (share->code);
  g_free (share);
}

/* ---- the connection ----------------------------------------------------- */

typedef struct {
  CvCodeConnection *connection;
  CvCodeConnectionState state;
} StateWait;

static gboolean
has_state (gpointer data)
{
  StateWait *wait = data;

  return cv_code_connection_get_state (wait->connection) == wait->state;
}

static void
wait_for_state (CvCodeConnection *connection, CvCodeConnectionState state)
{
  StateWait wait = { connection, state };
  g_autofree char *name = g_enum_to_string (CV_TYPE_CODE_CONNECTION_STATE, state);
  g_autofree char *what = g_strdup_printf ("the code connection to be %s", name);

  cv_app_test_net_wait (has_state, &wait, WAIT_MS, what);
}

static CvCodeConnection *
new_connection (void)
{
  g_autofree char *state = g_build_filename (test_dir, "connect-state", NULL);

  return cv_code_connection_new (gateway_address, gateway_fingerprint, state);
}

static void
count_signal (guint *n)
{
  (*n)++;
}

/* The right code: the verification is the share's, "data" is offered before anything is
 * asked; once the sharer accepts, it listens on localhost and its bytes go through whole;
 * Disconnect closes the port. */
static void
test_accepted (void)
{
  guint16 service_port = 0;
  GSocketService *service = cv_app_test_checksum_service_new (&service_port);
  Share *share = start_share (service_port, TRUE);
  g_autoptr (CvCodeConnection) connection = new_connection ();
  g_autoptr (GError) error = NULL;
  g_autoptr (CvService) offered = NULL;
  g_autoptr (CvServiceLink) link = NULL;
  g_autofree char *verification = NULL;
  g_autofree char *words = NULL;
  const char *const names[] = { "data", NULL };
  guint n_connected = 0;
  guint16 port;

  g_signal_connect_swapped (connection, "connected", G_CALLBACK (count_signal), &n_connected);
  g_assert_true (cv_code_connection_claim (connection, share->code, &error));
  g_assert_no_error (error);
  g_assert_cmpint (cv_code_connection_get_state (connection), ==, CV_CODE_CONNECTION_CLAIMING);
  wait_for_state (connection, CV_CODE_CONNECTION_CONFIRMED);

  verification = wait_for_log (share->log, "Verification: ([0-9]{3} [0-9]{3})");
  g_assert_cmpstr (cv_code_connection_get_verification (connection), ==, verification);
  g_assert_cmpstr (cv_code_connection_get_share_name (connection), ==, "Front desk");
  g_assert_cmpuint (g_list_model_get_n_items (cv_code_connection_get_offered (connection)), ==, 1);
  offered = g_list_model_get_item (cv_code_connection_get_offered (connection), 0);
  g_assert_cmpstr (cv_service_get_name (offered), ==, "data");
  words = cv_code_connection_describe_service (offered);
  g_assert_cmpstr (words, ==, "data");
  /* Nothing was asked of the sharer yet. */
  {
    g_autofree char *text = NULL;
    g_assert_true (g_file_get_contents (share->log, &text, NULL, NULL));
    g_assert_null (strstr (text, "asks for"));
  }

  g_assert_true (cv_code_connection_connect (connection, names, &error));
  g_assert_no_error (error);
  wait_for_state (connection, CV_CODE_CONNECTION_CONNECTED);
  g_free (wait_for_log (share->log, "asks for: (data) .verification [0-9 ]+.; allowed"));
  g_assert_cmpuint (n_connected, ==, 1);
  g_assert_cmpuint (g_list_model_get_n_items (cv_code_connection_get_services (connection)), ==, 1);
  link = g_list_model_get_item (cv_code_connection_get_services (connection), 0);
  g_assert_true (cv_service_link_get_listening (link));
  port = cv_service_link_get_port (link);
  g_assert_cmpuint (port, !=, 0);
  g_assert_true (g_str_has_prefix (cv_service_link_get_status (link), "listening on localhost:"));

  g_assert_true (
    cv_app_test_transfer_finish (cv_app_test_transfer_start (port, PAYLOAD_SIZE, 7), &error));
  g_assert_no_error (error);
  cv_app_test_net_iterate (200);
  g_assert_cmpuint (cv_service_link_get_bytes_in (link), >=, CV_APP_TEST_NET_REPLY_SIZE);
  g_assert_cmpuint (cv_service_link_get_bytes_out (link), >=, PAYLOAD_SIZE);
  g_assert_nonnull (strstr (cv_service_link_get_status (link), "↓"));

  cv_code_connection_disconnect (connection);
  g_assert_cmpint (cv_code_connection_get_state (connection), ==, CV_CODE_CONNECTION_IDLE);
  g_assert_true (cv_app_test_port_refuses (port));
  cv_app_test_net_iterate (100);
  share_free (share);
  cv_app_test_checksum_service_free (service);
}

/* The person sharing stops while connected: the connection ends and says so. */
static void
test_share_stops (void)
{
  guint16 service_port = 0;
  GSocketService *service = cv_app_test_checksum_service_new (&service_port);
  Share *share = start_share (service_port, TRUE);
  g_autoptr (CvCodeConnection) connection = new_connection ();
  g_autoptr (GError) error = NULL;
  g_autoptr (CvServiceLink) link = NULL;
  const char *const names[] = { "data", NULL };
  guint16 port;

  g_assert_true (cv_code_connection_claim (connection, share->code, &error));
  wait_for_state (connection, CV_CODE_CONNECTION_CONFIRMED);
  g_assert_true (cv_code_connection_connect (connection, names, &error));
  wait_for_state (connection, CV_CODE_CONNECTION_CONNECTED);
  link = g_list_model_get_item (cv_code_connection_get_services (connection), 0);
  port = cv_service_link_get_port (link);
  share_free (share);
  wait_for_state (connection, CV_CODE_CONNECTION_FAILED);
  g_assert_error ((GError *) cv_code_connection_get_error (connection), CV_APP_ERROR,
                  CV_APP_ERROR_FAILED);
  g_assert_nonnull (strstr (cv_code_connection_get_error (connection)->message, "new code"));
  g_assert_false (cv_service_link_get_listening (link));
  g_assert_true (cv_app_test_port_refuses (port));
  cv_app_test_net_iterate (100);
  cv_app_test_checksum_service_free (service);
}

/* The sharer denies: "They declined.", nothing listens. */
static void
test_declined (void)
{
  Share *share = start_share (1, FALSE);
  g_autoptr (CvCodeConnection) connection = new_connection ();
  g_autoptr (GError) error = NULL;
  const char *const names[] = { "data", NULL };
  const GError *failed;

  g_assert_true (cv_code_connection_claim (connection, share->code, &error));
  wait_for_state (connection, CV_CODE_CONNECTION_CONFIRMED);
  g_assert_true (cv_code_connection_connect (connection, names, &error));
  g_assert_no_error (error);
  wait_for_state (connection, CV_CODE_CONNECTION_FAILED);
  failed = cv_code_connection_get_error (connection);
  g_assert_error ((GError *) failed, CV_APP_ERROR, CV_APP_ERROR_DECLINED);
  g_assert_true (g_str_has_prefix (failed->message, "They declined."));
  g_assert_nonnull (strstr (failed->message, "ask the person sharing for a new code"));
  share_free (share);
}

/* A wrong code burns it: the sentence says to ask for a new one; the right one is dead. */
static void
test_wrong_code (void)
{
  Share *share = start_share (1, TRUE);
  g_autoptr (CvCodeConnection) connection = new_connection ();
  g_autoptr (GError) error = NULL;
  g_autofree char *wrong = g_strdup (share->code);
  const GError *failed;
  gsize last = strlen (wrong) - 1;

  wrong[last] = wrong[last] == '9' ? '0' : wrong[last] + 1;
  g_assert_true (cv_code_connection_claim (connection, wrong, &error));
  wait_for_state (connection, CV_CODE_CONNECTION_FAILED);
  failed = cv_code_connection_get_error (connection);
  g_assert_error ((GError *) failed, CV_APP_ERROR, CV_APP_ERROR_CODE_BURNED);
  g_assert_nonnull (strstr (failed->message, "Ask the person sharing for a new code"));
  g_assert_null (cv_code_connection_get_verification (connection));

  /* Try Another Code, with the right one: too late. */
  g_assert_true (cv_code_connection_claim (connection, share->code, &error));
  g_assert_no_error (error);
  wait_for_state (connection, CV_CODE_CONNECTION_FAILED);
  g_assert_error ((GError *) cv_code_connection_get_error (connection), CV_APP_ERROR,
                  CV_APP_ERROR_CODE_BURNED);
  share_free (share);
}

/* No gateway set: nothing starts, the sentence points at Preferences; not a code: said. */
static void
test_no_gateway (void)
{
  g_autoptr (CvCodeConnection) none = cv_code_connection_new ("", "", test_dir);
  g_autoptr (CvCodeConnection) connection = new_connection ();
  g_autoptr (GError) error = NULL;

  g_assert_false (cv_code_connection_claim (none, "482-913-557", &error));
  g_assert_error (error, CV_APP_ERROR, CV_APP_ERROR_NO_GATEWAY);
  g_assert_nonnull (strstr (error->message, "Preferences"));
  g_assert_cmpint (cv_code_connection_get_state (none), ==, CV_CODE_CONNECTION_IDLE);
  g_clear_error (&error);

  g_assert_false (cv_code_connection_claim (connection, "48-91", &error));
  g_assert_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID);
  g_assert_cmpint (cv_code_connection_get_state (connection), ==, CV_CODE_CONNECTION_IDLE);
}

/* Nothing listens where the gateway should be, or another key answers: said, with where
 * to look. */
static void
test_gateway_problems (void)
{
  g_autofree char *state = g_build_filename (test_dir, "connect-state", NULL);
  g_autoptr (GSocket) held = NULL;
  g_autofree char *nowhere = NULL;
  g_autoptr (CvCodeConnection) unreachable = NULL;
  g_autoptr (CvCodeConnection) other_key = NULL;
  g_autoptr (GError) error = NULL;
  guint16 port = 0;

  held = cv_app_test_hold_port (&port);
  g_socket_close (held, NULL);
  nowhere = g_strdup_printf ("127.0.0.1:%u", port);
  unreachable = cv_code_connection_new (nowhere, gateway_fingerprint, state);
  g_assert_true (cv_code_connection_claim (unreachable, "482-913-557", &error));
  wait_for_state (unreachable, CV_CODE_CONNECTION_FAILED);
  g_assert_nonnull (
    strstr (cv_code_connection_get_error (unreachable)->message, "cannot be reached"));

  other_key = cv_code_connection_new (
    gateway_address, "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    state);
  g_assert_true (cv_code_connection_claim (other_key, "482-913-557", &error));
  wait_for_state (other_key, CV_CODE_CONNECTION_FAILED);
  g_assert_nonnull (
    strstr (cv_code_connection_get_error (other_key)->message, "fingerprint in Preferences"));
  cv_app_test_net_iterate (100);
}

static void
test_format (void)
{
  static const char *const cases[][2] = {
    { "", "" },
    { "4", "4" },
    { "482", "482" },
    { "4829", "482-9" },
    { "482913557", "482-913-557" },
    { " 482 913-557\n", "482-913-557" },
    { "482-91a3-557", "482-913-557" },
    { "4829135571", "4829-135-571" },
    { "1234567890123456789", "123456789-012-345" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *formatted = cv_code_format_typed (cases[i][0]);

      g_assert_cmpstr (formatted, ==, cases[i][1]);
    }
}

int
main (int argc, char **argv)
{
  int status;

  test_dir = cv_app_test_init (&argc, &argv);
  g_test_add_func ("/code-connection/format", test_format);
  g_test_add_func ("/code-connection/no-gateway", test_no_gateway);
  g_test_add_func ("/code-connection/gateway-problems", test_gateway_problems);
  g_test_add_func ("/code-connection/accepted", test_accepted);
  g_test_add_func ("/code-connection/declined", test_declined);
  g_test_add_func ("/code-connection/share-stops", test_share_stops);
  g_test_add_func ("/code-connection/wrong-code", test_wrong_code);
  start_gateway ();
  status = g_test_run ();
  stop_process (gateway);
  g_free (gateway_address);
  g_free (gateway_fingerprint);
  return cv_app_test_finish (test_dir, status);
}
