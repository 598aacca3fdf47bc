/* test-e2e-vnc.c: the technician's one click, end to end — a real culvert-cli gateway and
 * share agent, a real Xtigervnc behind it, the app's window: Connect, trust the gateway's
 * key, the app's vncviewer reaches the VNC server through the tunnel, a second service's
 * 4 MiB arrive intact, Disconnect closes the ports and the viewer ends.  Then the same
 * through the gateway's WebSocket (a wss:// gateway URL). */
#include "cv-version.h"

#include <adwaita.h>
#include <signal.h>
#include <glib/gstdio.h>
#include <string.h>

#include "cv-application.h"
#include "cv-gui-e2e.h"
#include "cv-gui-test-app.h"
#include "cv-gui-test-util.h"
#include "cv-machine-connection.h"
#include "cv-service-link.h"
#include "cv-window.h"

#define DATA_SIZE (4 * 1024 * 1024)

static char *test_dir;

/* A shot of the whole X screen, where the app's viewer opens its own window: the GTK
 * screenshots see only the app's windows.  Needs scrot; without it, none is taken. */
static void
screenshot_screen (const char *name)
{
  g_autofree char *scrot = cv_e2e_find_program ("scrot");
  const char *dir = g_getenv ("CULVERT_SCREENSHOT_DIR");
  g_autofree char *file = g_strconcat (name, ".png", NULL);
  g_autofree char *path = NULL;
  g_autoptr (GError) error = NULL;
  int status = 0;

  if (scrot == NULL || dir == NULL)
    return;
  g_mkdir_with_parents (dir, 0755);
  path = g_build_filename (dir, file, NULL);
  g_spawn_sync (NULL, (char *[]){ scrot, (char *) "--overwrite", path, NULL }, NULL, 0, NULL, NULL,
                NULL, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_test_message ("screenshot: %s", path);
}

typedef struct {
  CvMachineConnection *connection;
  CvConnectionState state;
} StateWait;

static gboolean
state_is (gpointer data)
{
  StateWait *wait = data;

  return cv_machine_connection_get_state (wait->connection) == wait->state;
}

static void
wait_state (CvMachineConnection *connection, CvConnectionState state, const char *what)
{
  StateWait wait = { connection, state };

  cv_gui_wait_until (state_is, &wait, what);
}

static gboolean
machine_online (gpointer data)
{
  CvMachineConnection *connection = data;

  return cv_machine_connection_get_state (connection) == CV_CONNECTION_STATE_CONNECTED
         && cv_machine_connection_get_presence (connection) == CV_PRESENCE_ONLINE;
}

static gboolean
all_listening (gpointer data)
{
  GListModel *links = cv_machine_connection_get_services (data);

  for (guint i = 0; i < g_list_model_get_n_items (links); i++)
    {
      g_autoptr (CvServiceLink) link = g_list_model_get_item (links, i);

      if (!cv_service_link_get_listening (link) || cv_service_link_get_port (link) == 0)
        return FALSE;
    }
  return TRUE;
}

typedef struct {
  const char *comm;
  const char *arg;
  GPid pid;
} ChildWait;

static gboolean
child_started (gpointer data)
{
  ChildWait *wait = data;

  wait->pid = cv_e2e_find_child (wait->comm, wait->arg);
  return wait->pid != 0;
}

static gboolean
pid_gone (gpointer data)
{
  return !cv_e2e_pid_alive (GPOINTER_TO_INT (data));
}

static gboolean
no_toast (gpointer data)
{
  GType toast_widget = g_type_from_name ("AdwToastWidget");

  return toast_widget == 0 || cv_gui_find_widget (data, toast_widget, NULL) == NULL;
}

/* Keeps only the hexadecimal digits of @text, lower-cased: a key however it is grouped. */
static char *
hex_digits (const char *text)
{
  GString *digits = g_string_new (NULL);

  for (const char *p = text; *p != '\0'; p++)
    if (g_ascii_isxdigit (*p))
      g_string_append_c (digits, g_ascii_tolower (*p));
  return g_string_free (digits, FALSE);
}

static CvMachine *
machine_new (CvE2eGateway *gateway, guint16 vnc_port, guint16 data_port)
{
  CvMachine *machine = cv_machine_new ();
  g_autoptr (CvMachineService) vnc = cv_machine_service_new (CV_SERVICE_PRESET_VNC);
  g_autoptr (CvMachineService) data = cv_machine_service_new (CV_SERVICE_PRESET_CUSTOM);

  cv_machine_set_name (machine, "Front desk PC");
  cv_machine_set_gateway (machine, "127.0.0.1", gateway->port);
  cv_machine_set_session (machine, gateway->session);
  cv_machine_service_set_target_host (vnc, "127.0.0.1");
  cv_machine_service_set_target_port (vnc, vnc_port);
  cv_machine_service_set_launcher (vnc, CV_LAUNCHER_VNCVIEWER);
  cv_machine_add_service (machine, vnc);
  cv_machine_service_set_target_host (data, "127.0.0.1");
  cv_machine_service_set_target_port (data, data_port);
  cv_machine_service_set_launcher (data, CV_LAUNCHER_NONE);
  cv_machine_add_service (machine, data);
  return machine;
}

static void
stored_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;

  cv_secret_store_store_finish (CV_SECRET_STORE (source), result, &error);
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

static gboolean
flag_set (gpointer data)
{
  return *(gboolean *) data;
}

/* In the keyring when the test has one (run-with-keyring.sh), as the editor would put it
 * there; else for this run, as the editor does when there is no keyring. */
static void
keep_password (CvApplication *app, CvMachine *machine, const char *password)
{
  CvSecretStore *secrets = cv_application_get_secrets (app);
  gboolean stored = FALSE;

  if (g_strcmp0 (g_getenv ("CULVERT_TEST_KEYRING"), "running") != 0)
    {
      cv_secret_store_remember_for_run (secrets, cv_machine_get_id (machine), password);
      return;
    }
  cv_secret_store_store_async (secrets, cv_machine_get_id (machine), cv_machine_get_name (machine),
                               password, NULL, stored_cb, &stored);
  cv_gui_wait_until (flag_set, &stored, "the password to be stored in the keyring");
  g_assert_false (cv_secret_store_has_run_password (secrets, cv_machine_get_id (machine)));
}

static guint16
link_port (CvMachineConnection *connection, guint position)
{
  g_autoptr (CvServiceLink) link =
    g_list_model_get_item (cv_machine_connection_get_services (connection), position);

  return cv_service_link_get_port (link);
}

static void
test_e2e_vnc (void)
{
  g_autoptr (CvE2eGateway) gateway = NULL;
  g_autoptr (CvApplication) app = NULL;
  g_autoptr (CvMachine) machine = NULL;
  g_autofree char *data_sha256 = NULL;
  g_autofree char *got_sha256 = NULL;
  g_autofree char *vnc_target = NULL;
  g_autofree char *data_target = NULL;
  g_autofree char *vnc_port_text = NULL;
  g_autofree char *key_shown = NULL;
  g_autofree char *key_printed = NULL;
  g_autofree char *line = NULL;
  g_autofree char *png = NULL;
  GSubprocess *share;
  CvMachineConnection *connection;
  GtkWindow *window;
  GtkWindow *dialog;
  ChildWait viewer = { "vncviewer", NULL, 0 };
  guint16 vnc_port;
  guint16 data_port;
  guint16 mapped_vnc;
  guint16 mapped_data;
  guint64 n_bytes = 0;
  gint64 started;

  /* The other side: a gateway on a VPS, and the customer's machine with a VNC server
   * and a service of random bytes, both reachable only through the share agent. */
  gateway = cv_e2e_start_gateway ("demo");
  vnc_port = cv_e2e_start_vnc_server ();
  data_port = cv_e2e_start_data_service (DATA_SIZE, &data_sha256);
  vnc_target = g_strdup_printf ("127.0.0.1:%u", vnc_port);
  data_target = g_strdup_printf ("127.0.0.1:%u", data_port);
  share = cv_e2e_start_share (gateway->address, gateway->fingerprint, gateway->session,
                              gateway->share_password,
                              (const char *const[]){ vnc_target, data_target, NULL });

  /* The technician's app, a saved machine with the connect password for this run. */
  app = cv_gui_test_application_new ();
  g_application_activate (G_APPLICATION (app));
  window = gtk_application_get_active_window (GTK_APPLICATION (app));
  g_assert_true (CV_IS_WINDOW (window));
  gtk_window_set_default_size (window, 760, 520);
  machine = machine_new (gateway, vnc_port, data_port);
  cv_machine_store_add (cv_application_get_store (app), machine);
  keep_password (app, machine, gateway->connect_password);
  /* A second machine, never connected, for the list to look like one. */
  {
    g_autoptr (CvMachine) lab = cv_machine_new ();
    g_autoptr (CvMachineService) ssh = cv_machine_service_new (CV_SERVICE_PRESET_SSH);

    cv_machine_set_name (lab, "Lab server");
    cv_machine_set_gateway (lab, "127.0.0.1", gateway->port);
    cv_machine_set_session (lab, "lab");
    cv_machine_add_service (lab, ssh);
    cv_machine_store_add (cv_application_get_store (app), lab);
  }
  connection = cv_application_get_connection (app, cv_machine_get_id (machine));
  g_assert_nonnull (connection);
  g_free (cv_gui_screenshot (GTK_WIDGET (window), "e2e-vnc-machines"));

  /* One click. */
  started = g_get_monotonic_time ();
  gtk_widget_activate_action (GTK_WIDGET (window), "win.connect-machine", "s",
                              cv_machine_get_id (machine));
  dialog = cv_gui_test_wait_dialog ("Trust This Gateway?");
  g_assert_cmpstr (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (dialog)), ==,
                   "Trust This Gateway?");
  /* The key the dialog shows is the one the gateway printed, digit for digit. */
  key_shown = hex_digits (adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog)));
  key_printed = hex_digits (gateway->fingerprint + strlen ("sha256:"));
  g_assert_cmpuint (strlen (key_printed), ==, 64);
  g_assert_nonnull (strstr (key_shown, key_printed));
  g_assert_cmpint (cv_machine_connection_get_state (connection), ==,
                   CV_CONNECTION_STATE_NEEDS_TRUST);
  g_free (cv_gui_screenshot (GTK_WIDGET (dialog), "e2e-vnc-trust"));
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "trust");

  cv_gui_wait_until (machine_online, connection, "the machine to be online");
  cv_gui_wait_until (all_listening, connection, "both services to listen");
  g_assert_cmpstr (cv_machine_get_fingerprint (machine), ==, gateway->fingerprint);
  mapped_vnc = link_port (connection, 0);
  mapped_data = link_port (connection, 1);
  g_test_message ("connected in %.1f s: VNC on %u, data on %u",
                  (g_get_monotonic_time () - started) / 1e6, mapped_vnc, mapped_data);

  /* The launcher: vncviewer against the local port, and the VNC server sees it come. */
  vnc_port_text = g_strdup_printf ("%u", mapped_vnc);
  viewer.arg = vnc_port_text;
  cv_e2e_poll_until (child_started, &viewer, "the app to start vncviewer on the VNC port");
  line = cv_e2e_wait_for_log ("xtigervnc", "Connections: accepted: 127.0.0.1");
  g_test_message ("Xtigervnc: %s", line);
  /* The viewer is drawn once the VNC session is up: give it a moment, then look. */
  cv_gui_spin (1500);
  screenshot_screen ("e2e-vnc-viewer");

  /* A service's bytes, whole and unchanged, through the second mapping. */
  got_sha256 = cv_e2e_fetch_sha256 (mapped_data, &n_bytes);
  g_assert_cmpuint (n_bytes, ==, DATA_SIZE);
  g_assert_cmpstr (got_sha256, ==, data_sha256);

  /* The machine's page: its services, listening, with their traffic (once the toast
   * "Connected to …" is gone, for the screenshot). */
  cv_e2e_poll_until (no_toast, window, "the toast to go away");
  gtk_widget_activate_action (GTK_WIDGET (window), "win.open-machine", "s",
                              cv_machine_get_id (machine));
  cv_gui_spin (300);
  png = cv_gui_screenshot (GTK_WIDGET (window), "e2e-vnc-machine-page");
  g_clear_pointer (&png, g_free);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-machines", NULL);
  cv_gui_spin (300);
  g_free (cv_gui_screenshot (GTK_WIDGET (window), "e2e-vnc-connected"));

  /* Disconnect: both ports refuse, the viewer's connection ends and so does the viewer. */
  started = g_get_monotonic_time ();
  gtk_widget_activate_action (GTK_WIDGET (window), "win.disconnect-machine", "s",
                              cv_machine_get_id (machine));
  wait_state (connection, CV_CONNECTION_STATE_IDLE, "the machine to be disconnected");
  g_assert_true (cv_e2e_connect_refused (mapped_vnc));
  g_assert_true (cv_e2e_connect_refused (mapped_data));
  cv_e2e_poll_until (pid_gone, GINT_TO_POINTER (viewer.pid), "vncviewer to end");
  g_test_message ("vncviewer ended %.1f s after Disconnect",
                  (g_get_monotonic_time () - started) / 1e6);
  g_free (cv_e2e_wait_for_log ("xtigervnc", "Connections: closed: 127.0.0.1"));

  gtk_window_close (window);
  cv_e2e_stop (share);
  cv_e2e_stop (gateway->process);
}

/* The same click with the gateway given as wss://127.0.0.1:PORT/culvert: the app reaches
 * the gateway's own TLS port through a WebSocket (PROTOCOL.md §22), the trust dialog shows
 * the key probed that way, and a service's bytes pass.  That port's certificate is the
 * gateway's self-signed one, which no system CA vouches for: the machine pins it as the
 * outer TLS's key ("web_fingerprint", as a provisioning file gives it); without it the
 * connection fails first, naming the URL.  Behind an nginx with a CA's certificate a
 * machine has no such pin. */
static void
test_e2e_wss (void)
{
  g_autoptr (CvE2eGateway) gateway = NULL;
  g_autoptr (CvApplication) app = NULL;
  g_autoptr (CvMachine) machine = cv_machine_new ();
  g_autoptr (CvMachineService) data = cv_machine_service_new (CV_SERVICE_PRESET_CUSTOM);
  g_autoptr (GError) error = NULL;
  g_autofree char *data_sha256 = NULL;
  g_autofree char *got_sha256 = NULL;
  g_autofree char *data_target = NULL;
  g_autofree char *url = NULL;
  g_autofree char *host = NULL;
  g_autofree char *web_path = NULL;
  g_autofree char *key_shown = NULL;
  g_autofree char *key_printed = NULL;
  GSubprocess *share;
  CvMachineConnection *connection;
  GtkWindow *window;
  GtkWindow *dialog;
  gboolean web_tls = FALSE;
  guint16 data_port;
  guint16 port = 0;
  guint64 n_bytes = 0;

  /* The logs are appended to, and what is looked for in them (the passwords, "online")
   * must be this gateway's and this share agent's: the last test's are gone with them. */
  for (gsize i = 0; i < 2; i++)
    {
      g_autofree char *log = g_strdup_printf ("%s/%s.log", cv_e2e_dir (),
                                              (const char *[]){ "gateway", "share" }[i]);

      g_unlink (log);
    }
  gateway = cv_e2e_start_gateway ("wss-demo");
  data_port = cv_e2e_start_data_service (DATA_SIZE, &data_sha256);
  data_target = g_strdup_printf ("127.0.0.1:%u", data_port);
  /* The customer's side as ever, by host:port. */
  share = cv_e2e_start_share (gateway->address, gateway->fingerprint, gateway->session,
                              gateway->share_password, (const char *const[]){ data_target, NULL });

  url = g_strdup_printf ("wss://127.0.0.1:%u/culvert", gateway->port);
  g_assert_true (cv_machine_parse_gateway_url (url, &host, &port, &web_path, &web_tls, &error));
  g_assert_no_error (error);
  cv_machine_set_name (machine, "Web relay PC");
  cv_machine_set_gateway (machine, host, port);
  cv_machine_set_gateway_web (machine, web_path, web_tls);
  cv_machine_set_session (machine, gateway->session);
  cv_machine_service_set_target_host (data, "127.0.0.1");
  cv_machine_service_set_target_port (data, data_port);
  cv_machine_service_set_launcher (data, CV_LAUNCHER_NONE);
  cv_machine_add_service (machine, data);
  g_assert_true (cv_machine_check (machine, NULL));

  app = cv_gui_test_application_new ();
  g_application_activate (G_APPLICATION (app));
  window = gtk_application_get_active_window (GTK_APPLICATION (app));
  gtk_window_set_default_size (window, 760, 520);
  cv_machine_store_add (cv_application_get_store (app), machine);
  keep_password (app, machine, gateway->connect_password);
  connection = cv_application_get_connection (app, cv_machine_get_id (machine));
  g_assert_nonnull (connection);

  /* Without the pin the outer TLS is the system CAs' to check, and they do not know this
   * key: the probe through the WebSocket fails, and says where it went. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.connect-machine", "s",
                              cv_machine_get_id (machine));
  wait_state (connection, CV_CONNECTION_STATE_FAILED, "the unpinned wss:// probe to fail");
  g_test_message ("without a web pin: %s", cv_machine_connection_get_error (connection)->message);
  g_assert_nonnull (strstr (cv_machine_connection_get_error (connection)->message, url));
  g_assert_null (cv_machine_get_fingerprint (machine));

  cv_machine_set_web_fingerprint (machine, gateway->fingerprint);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.connect-machine", "s",
                              cv_machine_get_id (machine));
  dialog = cv_gui_test_wait_dialog ("Trust This Gateway?");
  key_shown = hex_digits (adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog)));
  key_printed = hex_digits (gateway->fingerprint + strlen ("sha256:"));
  g_assert_nonnull (strstr (key_shown, key_printed));
  g_free (cv_gui_screenshot (GTK_WIDGET (dialog), "e2e-wss-trust"));
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "trust");

  cv_gui_wait_until (machine_online, connection, "the machine to be online through wss://");
  cv_gui_wait_until (all_listening, connection, "the service to listen");
  g_assert_cmpstr (cv_machine_get_fingerprint (machine), ==, gateway->fingerprint);
  /* It came through the WebSocket: the gateway says so for the connect agent's link. */
  got_sha256 = cv_e2e_fetch_sha256 (link_port (connection, 0), &n_bytes);
  g_assert_cmpuint (n_bytes, ==, DATA_SIZE);
  g_assert_cmpstr (got_sha256, ==, data_sha256);

  cv_e2e_poll_until (no_toast, window, "the toast to go away");
  g_free (cv_gui_screenshot (GTK_WIDGET (window), "e2e-wss-connected"));

  gtk_widget_activate_action (GTK_WIDGET (window), "win.disconnect-machine", "s",
                              cv_machine_get_id (machine));
  wait_state (connection, CV_CONNECTION_STATE_IDLE, "the machine to be disconnected");
  gtk_window_close (window);
  cv_e2e_stop (share);
  cv_e2e_stop (gateway->process);
}

int
main (int argc, char *argv[])
{
  g_autofree char *system_path = g_strdup (g_getenv ("PATH"));
  g_autofree char *vncviewer = NULL;
  g_autofree char *wrapper = NULL;
  int status;

  test_dir = cv_gui_test_app_init (&argc, &argv);
  cv_e2e_init (test_dir, system_path);
  /* The app finds its viewer on PATH, which the test set to its own bin/. */
  vncviewer = cv_e2e_find_program ("vncviewer");
  if (vncviewer == NULL)
    g_error ("vncviewer is not installed (tigervnc-viewer): meson should have skipped this");
  wrapper = g_strdup_printf ("exec '%s' \"$@\"", vncviewer);
  cv_gui_test_add_program (test_dir, "vncviewer", wrapper);

  g_test_add_func ("/gui/e2e/vnc", test_e2e_vnc);
  g_test_add_func ("/gui/e2e/wss", test_e2e_wss);
  status = g_test_run ();
  cv_e2e_kill_all ();
  return cv_gui_test_app_finish (test_dir, status);
}
