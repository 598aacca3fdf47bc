/* cv-app-test-code-gateway.c: a real `culvert-cli gateway` with session codes for the
 * app core's tests: spawned, read from its log, stopped with a bounded wait. */
#include "cv-app-test-code-gateway.h"

#include "cv-app-test-net.h"
#include "cv-app-test.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

guint16
cv_app_test_free_port (void)
{
  guint16 port = 0;
  g_autoptr (GSocket) socket = cv_app_test_hold_port (&port);

  g_socket_close (socket, NULL);
  return port;
}

/* The child dies with the test even when the test is killed (meson's timeout) or aborts. */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
}

static char *
read_log (CvAppTestCodeGateway *gateway)
{
  char *text = NULL;

  if (!g_file_get_contents (gateway->log_path, &text, NULL, NULL))
    return g_strdup ("");
  return text;
}

gboolean
cv_app_test_code_gateway_log_has (CvAppTestCodeGateway *gateway, const char *needle)
{
  g_autofree char *text = read_log (gateway);

  return strstr (text, needle) != NULL;
}

static gboolean
has_started (gpointer data)
{
  CvAppTestCodeGateway *gateway = data;
  g_autofree char *text = read_log (gateway);
  g_autoptr (GMatchInfo) match = NULL;
  g_autoptr (GRegex) regex = g_regex_new ("gateway key fingerprint: (sha256:[0-9a-f]{64})", 0, 0,
                                          NULL);

  if (g_subprocess_get_identifier (gateway->process) == NULL) /* reaped: it exited */
    g_error ("the gateway exited at once:\n%s", text);
  if (strstr (text, "listening on 127.0.0.1 port") == NULL
      || !g_regex_match (regex, text, 0, &match))
    return FALSE;
  g_free (gateway->fingerprint);
  gateway->fingerprint = g_match_info_fetch (match, 1);
  return TRUE;
}

CvAppTestCodeGateway *
cv_app_test_code_gateway_start (const char *dir, guint code_ttl_ms)
{
  const char *cli = g_getenv ("CULVERT_CLI");
  CvAppTestCodeGateway *gateway = g_new0 (CvAppTestCodeGateway, 1);
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *state = g_build_filename (dir, "gateway-state", NULL);
  g_autofree char *config_path = g_build_filename (dir, "gateway.json", NULL);
  g_autofree char *limits = code_ttl_ms > 0
                              ? g_strdup_printf (",\"limits\":{\"code_ttl_ms\":%u}", code_ttl_ms)
                              : g_strdup ("");
  g_autofree char *config = NULL;

  if (cli == NULL)
    g_error ("CULVERT_CLI is not set: run this test with meson test");
  gateway->port = cv_app_test_free_port ();
  config = g_strdup_printf ("{\"listen\":[\"127.0.0.1:%u\"],\"state_dir\":\"%s\",\"sessions\":[],"
                            "\"codes\":{\"enabled\":true},\"admin_socket\":false%s}\n",
                            gateway->port, state, limits);
  g_file_set_contents (config_path, config, -1, &error);
  g_assert_no_error (error);
  gateway->log_path = g_build_filename (dir, "gateway.log", NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_set_stdout_file_path (launcher, gateway->log_path);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  gateway->process = g_subprocess_launcher_spawn (launcher, &error, cli, "gateway", "--config",
                                                  config_path, NULL);
  g_assert_no_error (error);
  cv_app_test_wait (has_started, gateway, "the gateway to listen");
  return gateway;
}

static void
on_exited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *(gboolean *) user_data = TRUE;
}

static gboolean
flag_set (gpointer data)
{
  return *(gboolean *) data;
}

void
cv_app_test_code_gateway_stop (CvAppTestCodeGateway *gateway)
{
  gboolean exited = FALSE;
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  g_subprocess_send_signal (gateway->process, SIGTERM);
  g_subprocess_wait_async (gateway->process, NULL, on_exited, &exited);
  while (!exited && g_get_monotonic_time () < deadline)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (10000);
    }
  if (!exited)
    g_subprocess_force_exit (gateway->process);
  cv_app_test_wait (flag_set, &exited, "the gateway to exit");
  g_object_unref (gateway->process);
  g_free (gateway->fingerprint);
  g_free (gateway->log_path);
  g_free (gateway);
}
