/* test-e2e-embedded.c: a LAN without a VPS, end to end — the app runs its own gateway from
 * "Run a gateway on this computer", a machine is added there, a real culvert-cli share runs
 * the command the window shows (copied with its Copy button), "Add to My Machines" saves
 * the machine, and Connect carries a service's 4 MiB intact; Disconnect closes the port. */
#include "cv-version.h"

#include <adwaita.h>
#include <string.h>

#include "cv-application.h"
#include "cv-embedded-gateway.h"
#include "cv-gateway-session-row.h"
#include "cv-gateway-window.h"
#include "cv-gui-e2e.h"
#include "cv-gui-test-app.h"
#include "cv-gui-test-util.h"
#include "cv-machine-connection.h"
#include "cv-machine-editor.h"
#include "cv-service-link.h"
#include "cv-settings.h"
#include "cv-window.h"

#define DATA_SIZE (4 * 1024 * 1024)
#define SESSION "front-desk"

static gboolean
gateway_window_shown (gpointer data)
{
  return cv_gui_find_toplevel (CV_TYPE_GATEWAY_WINDOW) != NULL;
}

static gboolean
editor_shown (gpointer data)
{
  return cv_gui_find_toplevel (CV_TYPE_MACHINE_EDITOR) != NULL;
}

static gboolean
editor_gone (gpointer data)
{
  return cv_gui_find_toplevel (CV_TYPE_MACHINE_EDITOR) == NULL;
}

static gboolean
gateway_running (gpointer data)
{
  return cv_embedded_gateway_get_running (data) && cv_embedded_gateway_get_bound_port (data) != 0;
}

static gboolean
has_session_row (gpointer data)
{
  return cv_gui_find_widget (data, CV_TYPE_GATEWAY_SESSION_ROW, NULL) != NULL;
}

static gboolean
session_online (gpointer data)
{
  return cv_embedded_session_get_share_online (data);
}

static gboolean
store_has_one (gpointer data)
{
  return g_list_model_get_n_items (cv_machine_store_get_machines (data)) == 1;
}

/* The editor's own question, not a dialog of the gateway window on its way out. */
static GtkWindow *
editor_question (void)
{
  GtkWindow *editor = cv_gui_find_toplevel (CV_TYPE_MACHINE_EDITOR);
  GtkWindow *dialog = cv_gui_find_toplevel (ADW_TYPE_MESSAGE_DIALOG);

  if (editor == NULL || dialog == NULL || gtk_window_get_transient_for (dialog) != editor)
    return NULL;
  return dialog;
}

static gboolean
saved_or_asked (gpointer data)
{
  return store_has_one (data) || editor_question () != NULL;
}

static gboolean
connected_and_listening (gpointer data)
{
  CvMachineConnection *connection = data;
  g_autoptr (CvServiceLink) link = NULL;

  if (cv_machine_connection_get_state (connection) != CV_CONNECTION_STATE_CONNECTED
      || cv_machine_connection_get_presence (connection) != CV_PRESENCE_ONLINE)
    return FALSE;
  link = g_list_model_get_item (cv_machine_connection_get_services (connection), 0);
  return cv_service_link_get_listening (link) && cv_service_link_get_port (link) != 0;
}

static gboolean
is_idle (gpointer data)
{
  return cv_machine_connection_get_state (data) == CV_CONNECTION_STATE_IDLE;
}

static gboolean
two_agents (gpointer data)
{
  return cv_embedded_gateway_get_n_links (data) == 2;
}

static void
clipboard_text_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  char **text = user_data;
  g_autoptr (GError) error = NULL;

  *text = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (source), result, &error);
  g_assert_no_error (error);
}

static gboolean
pointer_set (gpointer data)
{
  return *(char **) data != NULL;
}

/* What the person pastes after pressing a Copy button. */
static char *
clipboard_text (GtkWidget *widget)
{
  g_autofree char **box = g_new0 (char *, 1);

  gdk_clipboard_read_text_async (gtk_widget_get_clipboard (widget), NULL, clipboard_text_cb, box);
  cv_gui_wait_until (pointer_set, box, "the clipboard's text");
  return *box;
}

/* Replaces the value after "--allow " in @command by @allow: the customer names the
 * service that the computer shares. */
static char *
with_allow (const char *command, const char *allow)
{
  const char *at = strstr (command, "--allow ");
  const char *end;

  g_assert_nonnull (at);
  at += strlen ("--allow ");
  end = strchr (at, ' ');
  return g_strdup_printf ("%.*s%s%s", (int) (at - command), command, allow, end != NULL ? end : "");
}

static void
test_e2e_embedded (void)
{
  g_autoptr (CvApplication) app = NULL;
  g_autoptr (GSettings) settings = cv_settings_new ();
  g_autoptr (CvEmbeddedSession) session = NULL;
  g_autoptr (CvMachine) machine = NULL;
  g_autoptr (CvMachineService) service = NULL;
  g_autofree char *data_sha256 = NULL;
  g_autofree char *data_target = NULL;
  g_autofree char *command = NULL;
  g_autofree char *shared_command = NULL;
  g_autofree char *got_sha256 = NULL;
  g_autofree char *share_log = NULL;
  CvEmbeddedGateway *gateway;
  CvMachineConnection *connection;
  CvMachineStore *store;
  GtkWindow *window;
  GtkWindow *gateway_window;
  GtkWindow *dialog;
  GtkWindow *editor;
  GtkWidget *row;
  GtkWidget *entry;
  GSubprocess *share;
  guint16 mapped;
  guint64 n_bytes = 0;

  data_target = g_strdup_printf ("127.0.0.1:%u",
                                 cv_e2e_start_data_service (DATA_SIZE, &data_sha256));

  /* For this computer only, on a free port: the test machine is shared. */
  g_settings_set_string (settings, "gateway-listen-address", "127.0.0.1");
  g_settings_set_value (settings, "gateway-listen-port", g_variant_new_uint16 (0));

  app = cv_gui_test_application_new ();
  g_application_activate (G_APPLICATION (app));
  window = gtk_application_get_active_window (GTK_APPLICATION (app));
  g_assert_true (CV_IS_WINDOW (window));
  gtk_window_set_default_size (window, 760, 520);
  cv_gui_wait_for_draw (GTK_WIDGET (window));
  g_free (cv_gui_screenshot (GTK_WIDGET (window), "e2e-embedded-empty"));

  /* Menu → Run a gateway on this computer…, switched on. */
  g_action_group_activate_action (G_ACTION_GROUP (app), "gateway", NULL);
  cv_gui_wait_until (gateway_window_shown, NULL, "the gateway window");
  gateway_window = cv_gui_find_toplevel (CV_TYPE_GATEWAY_WINDOW);
  gtk_window_set_default_size (gateway_window, 640, 720);
  gateway = cv_application_get_gateway (app);
  gtk_switch_set_active (cv_gui_test_child (gateway_window, CV_TYPE_GATEWAY_WINDOW,
                                            "running_switch"),
                         TRUE);
  cv_gui_wait_until (gateway_running, gateway, "the embedded gateway to listen");
  g_test_message ("embedded gateway on 127.0.0.1:%u, key %s",
                  cv_embedded_gateway_get_bound_port (gateway),
                  cv_embedded_gateway_get_fingerprint (gateway));

  /* Add a Machine: its name typed in the dialog. */
  g_signal_emit_by_name (cv_gui_test_child (gateway_window, CV_TYPE_GATEWAY_WINDOW,
                                            "add_machine_button"),
                         "clicked");
  dialog = cv_gui_test_wait_dialog ("the Add a Machine dialog");
  entry = cv_gui_find_widget (GTK_WIDGET (dialog), GTK_TYPE_ENTRY, NULL);
  g_assert_nonnull (entry);
  gtk_editable_set_text (GTK_EDITABLE (entry), SESSION);
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "add");
  cv_gui_wait_until (has_session_row, gateway_window, "the new machine's row");
  row = cv_gui_find_widget (GTK_WIDGET (gateway_window), CV_TYPE_GATEWAY_SESSION_ROW, NULL);
  session = g_object_ref (cv_gateway_session_row_get_session (CV_GATEWAY_SESSION_ROW (row)));
  g_assert_cmpstr (cv_embedded_session_get_id (session), ==, SESSION);
  adw_expander_row_set_expanded (ADW_EXPANDER_ROW (row), TRUE);
  cv_gui_spin (300);
  g_free (cv_gui_screenshot (GTK_WIDGET (gateway_window), "e2e-embedded-gateway"));

  /* The shared computer: the command as the window shows it, copied with Copy, its
   * service named, run for real. */
  g_signal_emit_by_name (cv_gui_test_child (row, CV_TYPE_GATEWAY_SESSION_ROW,
                                            "copy_command_button"),
                         "clicked");
  command = clipboard_text (row);
  g_assert_true (g_str_has_prefix (command, "CULVERT_PASSWORD='"));
  g_assert_nonnull (strstr (command, cv_embedded_gateway_get_fingerprint (gateway)));
  shared_command = with_allow (command, data_target);
  share = cv_e2e_start_share_command (shared_command);
  cv_gui_wait_until (session_online, session, "the shared computer to be online at the gateway");

  /* Add to My Machines: the editor, filled; Save, and for this run only (no keyring). */
  g_signal_emit_by_name (cv_gui_test_child (row, CV_TYPE_GATEWAY_SESSION_ROW,
                                            "add_to_machines_button"),
                         "clicked");
  cv_gui_wait_until (editor_shown, NULL, "the machine editor");
  editor = cv_gui_find_toplevel (CV_TYPE_MACHINE_EDITOR);
  g_free (cv_gui_screenshot (GTK_WIDGET (editor), "e2e-embedded-editor"));
  gtk_widget_activate_action (GTK_WIDGET (editor), "editor.save", NULL);
  store = cv_application_get_store (app);
  /* With a keyring it is saved; without one the editor asks first. */
  cv_gui_wait_until (saved_or_asked, store, "the machine saved, or the No Keyring question");
  dialog = editor_question ();
  if (dialog != NULL)
    {
      g_test_message ("the editor asks: %s",
                      adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (dialog)));
      g_assert_cmpstr (g_getenv ("CULVERT_TEST_KEYRING"), !=, "running");
      cv_gui_wait_for_draw (GTK_WIDGET (dialog));
      adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "run");
    }
  cv_gui_wait_until (store_has_one, store, "the machine to be saved");
  cv_gui_wait_until (editor_gone, NULL, "the editor to close");
  machine = g_list_model_get_item (cv_machine_store_get_machines (store), 0);
  g_assert_cmpstr (cv_machine_get_session (machine), ==, SESSION);
  g_assert_cmpstr (cv_machine_get_fingerprint (machine), ==,
                   cv_embedded_gateway_get_fingerprint (gateway));

  /* Its one service reaches what the customer shares here: an edit, as Edit would make. */
  service = g_list_model_get_item (cv_machine_get_services (machine), 0);
  cv_machine_service_set_target_port (service, atoi (strrchr (data_target, ':') + 1));
  cv_machine_service_set_launcher (service, CV_LAUNCHER_NONE);
  gtk_window_close (gateway_window);

  /* Connect: the key is the app's own gateway's, trusted already, so no question. */
  connection = cv_application_get_connection (app, cv_machine_get_id (machine));
  gtk_widget_activate_action (GTK_WIDGET (window), "win.connect-machine", "s",
                              cv_machine_get_id (machine));
  cv_gui_wait_until (connected_and_listening, connection, "the machine to connect and listen");
  cv_gui_wait_until (two_agents, gateway, "the share and the connect agent at the gateway");
  {
    g_autoptr (CvServiceLink) link =
      g_list_model_get_item (cv_machine_connection_get_services (connection), 0);

    mapped = cv_service_link_get_port (link);
  }
  got_sha256 = cv_e2e_fetch_sha256 (mapped, &n_bytes);
  g_assert_cmpuint (n_bytes, ==, DATA_SIZE);
  g_assert_cmpstr (got_sha256, ==, data_sha256);
  gtk_widget_activate_action (GTK_WIDGET (window), "win.open-machine", "s",
                              cv_machine_get_id (machine));
  cv_gui_spin (300);
  g_free (cv_gui_screenshot (GTK_WIDGET (window), "e2e-embedded-machine-page"));

  /* The gateway window again: both agents, live. */
  g_action_group_activate_action (G_ACTION_GROUP (app), "gateway", NULL);
  cv_gui_wait_until (gateway_window_shown, NULL, "the gateway window, again");
  gateway_window = cv_gui_find_toplevel (CV_TYPE_GATEWAY_WINDOW);
  cv_gui_spin (1200);
  g_free (cv_gui_screenshot (GTK_WIDGET (gateway_window), "e2e-embedded-agents"));
  gtk_window_close (gateway_window);

  gtk_widget_activate_action (GTK_WIDGET (window), "win.disconnect-machine", "s",
                              cv_machine_get_id (machine));
  cv_gui_wait_until (is_idle, connection, "the machine to be disconnected");
  g_assert_true (cv_e2e_connect_refused (mapped));

  cv_embedded_gateway_stop (gateway);
  share_log = cv_e2e_read_log ("share");
  g_test_message ("share agent:\n%s", share_log);
  cv_e2e_stop (share);
  gtk_window_close (window);
}

int
main (int argc, char *argv[])
{
  g_autofree char *system_path = g_strdup (g_getenv ("PATH"));
  char *dir;
  int status;

  dir = cv_gui_test_app_init (&argc, &argv);
  cv_e2e_init (dir, system_path);
  g_test_add_func ("/gui/e2e/embedded", test_e2e_embedded);
  status = g_test_run ();
  cv_e2e_kill_all ();
  return cv_gui_test_app_finish (dir, status);
}
