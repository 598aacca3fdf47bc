/* cv-test-proxy.c: tinyproxy as the tests' HTTP CONNECT proxy.  It runs in the foreground
 * (-d) with a config written here, logs its CONNECT lines to a file (which shows the
 * tests what it was asked for), and is stopped with SIGTERM, then SIGKILL, every wait
 * bounded. */
#include "cv-test-proxy.h"

#include <signal.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "cv-test-util.h"

static char *
make_tmp_dir (void)
{
  g_autoptr (GError) error = NULL;
  char *dir = g_dir_make_tmp ("culvert-proxy-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

/* A port nothing listens on (just now). */
guint16
cv_test_free_port (void)
{
  g_autoptr (GSocket) socket = NULL;
  guint16 port = 0;

  socket = cv_test_listen_loopback (&port);
  g_socket_close (socket, NULL);
  return port;
}

static gboolean
port_accepts (guint16 port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) connection = g_socket_client_connect_to_host (client, "127.0.0.1",
                                                                              port, NULL, NULL);

  return connection != NULL;
}

static void
die_with_parent (gpointer user_data)
{
#ifdef __linux__
  prctl (PR_SET_PDEATHSIG, SIGKILL);
#endif
}

/* tinyproxy on a free loopback port, in the foreground, wanting CV_TEST_PROXY_USER's
 * credentials and letting CONNECT reach @connect_port only (0: any port).  NULL, and
 * the test skipped, where tinyproxy is not installed. */
CvTestProxy *
cv_test_proxy_start (guint16 connect_port)
{
  g_autofree char *program = g_find_program_in_path ("tinyproxy");
  g_autoptr (GError) error = NULL;
  g_autofree char *config = NULL;
  g_autofree char *config_path = NULL;
  CvTestProxy *proxy;
  gint64 deadline;

  if (program == NULL)
    {
      g_test_skip ("tinyproxy is not installed (Debian: apt install tinyproxy)");
      return NULL;
    }
  proxy = g_new0 (CvTestProxy, 1);
  proxy->dir = make_tmp_dir ();
  proxy->log = g_build_filename (proxy->dir, "tinyproxy.log", NULL);
  proxy->port = cv_test_free_port ();
  proxy->url = g_strdup_printf ("http://" CV_TEST_PROXY_USER ":" CV_TEST_PROXY_PASSWORD
                                "@127.0.0.1:%u",
                                proxy->port);
  config = g_strdup_printf ("Port %u\nListen 127.0.0.1\nTimeout 30\nMaxClients 20\n"
                            "LogLevel Connect\nLogFile \"%s\"\nAllow 127.0.0.1\n"
                            "BasicAuth " CV_TEST_PROXY_USER " " CV_TEST_PROXY_PASSWORD "\n%s%u\n",
                            proxy->port, proxy->log, connect_port != 0 ? "ConnectPort " : "# ",
                            connect_port);
  config_path = g_build_filename (proxy->dir, "tinyproxy.conf", NULL);
  g_file_set_contents (config_path, config, -1, &error);
  g_assert_no_error (error);
  {
    g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);

    /* A test that aborts (an assertion, meson's timeout) must not leave it running. */
    g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
    proxy->process = g_subprocess_launcher_spawn (launcher, &error, program, "-d", "-c",
                                                  config_path, NULL);
    g_assert_no_error (error);
  }
  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (!port_accepts (proxy->port))
    {
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_assert_false (g_subprocess_get_identifier (proxy->process) == NULL);
      g_usleep (20000);
    }
  return proxy;
}

/* What tinyproxy logged: its CONNECT lines show which destination it was asked for. */
char *
cv_test_proxy_log (CvTestProxy *proxy)
{
  char *text = NULL;

  g_file_get_contents (proxy->log, &text, NULL, NULL);
  return text != NULL ? text : g_strdup ("");
}

void
cv_test_proxy_stop (CvTestProxy *proxy)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  if (proxy == NULL)
    return;
  g_subprocess_send_signal (proxy->process, SIGTERM);
  while (g_subprocess_get_identifier (proxy->process) != NULL && g_get_monotonic_time () < deadline)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (10000);
    }
  if (g_subprocess_get_identifier (proxy->process) != NULL)
    g_subprocess_force_exit (proxy->process);
  g_subprocess_wait (proxy->process, NULL, NULL);
  g_object_unref (proxy->process);
  cv_test_remove_tree (proxy->dir);
  g_free (proxy->dir);
  g_free (proxy->log);
  g_free (proxy->url);
  g_free (proxy);
}
