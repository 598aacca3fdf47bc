/* test-gateway-window.c: "Run a gateway on this computer" on a real display — started from
 * its switch on 127.0.0.1 and a free port, its fingerprint shown and copied, a machine added
 * with its passwords and share command shown once, a real `culvert-cli share` run with that
 * command showing up among the agents and the machine going online, Add to My Machines,
 * stop dropping the agent, Remove with a question. */
#include "cv-version.h"

#include <adwaita.h>
#include <signal.h>
#include <string.h>

#include "cv-gateway-session-row.h"
#include "cv-gateway-window.h"
#include "cv-gui-test-app.h"
#include "cv-gui-test-util.h"
#include "cv-machine-editor.h"
#include "cv-note-row.h"
#include "cv-ui-util.h"

static char *home;

static gpointer
window_child (GtkWindow *window, const char *name)
{
  return cv_gui_test_child (window, CV_TYPE_GATEWAY_WINDOW, name);
}

static gpointer
session_child (CvGatewaySessionRow *row, const char *name)
{
  return cv_gui_test_child (row, CV_TYPE_GATEWAY_SESSION_ROW, name);
}

static void
click (gpointer button)
{
  g_assert_true (gtk_widget_is_sensitive (GTK_WIDGET (button)));
  g_signal_emit_by_name (button, "clicked");
}

typedef struct {
  char *text;
  gboolean done;
} ClipboardRead;

static void
clipboard_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ClipboardRead *read = user_data;
  g_autoptr (GError) error = NULL;

  read->text = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (source), result, &error);
  g_assert_no_error (error);
  read->done = TRUE;
}

static gboolean
clipboard_read_done (gpointer data)
{
  return ((ClipboardRead *) data)->done;
}

static char *
read_clipboard (GtkWidget *widget)
{
  ClipboardRead read = { 0 };

  gdk_clipboard_read_text_async (gtk_widget_get_clipboard (widget), NULL, clipboard_read, &read);
  cv_gui_wait_until (clipboard_read_done, &read, "the clipboard's text");
  return read.text;
}

static gboolean
is_running (gpointer data)
{
  return cv_embedded_gateway_get_running (CV_EMBEDDED_GATEWAY (data));
}

static gboolean
is_stopped (gpointer data)
{
  return !cv_embedded_gateway_get_running (CV_EMBEDDED_GATEWAY (data));
}

typedef struct {
  CvEmbeddedGateway *gateway;
  const char *role;
  const char *session;
} AgentQuery;

static CvEmbeddedAgent *
find_agent (CvEmbeddedGateway *gateway, const char *role, const char *session)
{
  GListModel *agents = cv_embedded_gateway_get_agents (gateway);

  for (guint i = 0; i < g_list_model_get_n_items (agents); i++)
    {
      g_autoptr (CvEmbeddedAgent) agent = g_list_model_get_item (agents, i);

      if (g_strcmp0 (cv_embedded_agent_get_role (agent), role) == 0
          && g_strcmp0 (cv_embedded_agent_get_session (agent), session) == 0)
        return agent;
    }
  return NULL;
}

static gboolean
share_agent_listed (gpointer data)
{
  AgentQuery *query = data;

  return find_agent (query->gateway, query->role, query->session) != NULL;
}

static gboolean
no_agents (gpointer data)
{
  return g_list_model_get_n_items (cv_embedded_gateway_get_agents (CV_EMBEDDED_GATEWAY (data)))
         == 0;
}

static gboolean
share_online (gpointer data)
{
  return cv_embedded_session_get_share_online (CV_EMBEDDED_SESSION (data));
}

static gboolean
share_offline (gpointer data)
{
  return !cv_embedded_session_get_share_online (CV_EMBEDDED_SESSION (data));
}

static guint
count_rows (GtkListBox *list)
{
  guint n = 0;

  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (list)); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (ADW_IS_ACTION_ROW (child) && gtk_widget_get_visible (child))
      n++;
  return n;
}

static gboolean
agents_list_has_row (gpointer data)
{
  return count_rows (GTK_LIST_BOX (data)) >= 1;
}

static gboolean
exited (gpointer data)
{
  return *(gboolean *) data;
}

static void
subprocess_exited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *(gboolean *) user_data = TRUE;
}

/* The command the window printed, run as the customer would, with the built CLI and the
 * gateway's host made 127.0.0.1. */
static GSubprocess *
run_share_command (const char *command)
{
  const char *cli = g_getenv ("CULVERT_CLI");
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_auto (GStrv) words = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *gateway = NULL;
  GSubprocess *process;
  guint i = 0;

  g_assert_nonnull (cli);
  g_assert_true (g_shell_parse_argv (command, NULL, &words, &error));
  g_assert_no_error (error);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);

  /* Leading NAME=value words are the environment. */
  for (; words[i] != NULL && strchr (words[i], '=') != NULL && words[i][0] != '-'; i++)
    {
      g_auto (GStrv) pair = g_strsplit (words[i], "=", 2);
      g_subprocess_launcher_setenv (launcher, pair[0], pair[1], TRUE);
    }
  g_assert_cmpstr (words[i], ==, "culvert-cli");
  g_ptr_array_add (argv, (gpointer) cli);
  for (i++; words[i] != NULL; i++)
    {
      if (g_str_equal (words[i], "--gateway") && words[i + 1] != NULL)
        {
          const char *port = strrchr (words[i + 1], ':');
          g_assert_nonnull (port);
          gateway = g_strconcat ("127.0.0.1", port, NULL);
          g_ptr_array_add (argv, words[i]);
          g_ptr_array_add (argv, gateway);
          i++;
          continue;
        }
      g_ptr_array_add (argv, words[i]);
    }
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  return process;
}

static void
stop_process (GSubprocess *process)
{
  gboolean done = FALSE;

  g_subprocess_wait_async (process, NULL, subprocess_exited, &done);
  g_subprocess_send_signal (process, SIGTERM);
  cv_gui_wait_until (exited, &done, "culvert-cli share to exit on SIGTERM");
}

static gboolean
is_refused (guint16 port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GError) error = NULL;

  connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  return connection == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
}

static GtkWindow *
find_editor (void)
{
  return cv_gui_find_toplevel (CV_TYPE_MACHINE_EDITOR);
}

static gboolean
editor_shown (gpointer data)
{
  return find_editor () != NULL;
}

static gboolean
editor_gone (gpointer data)
{
  return find_editor () == NULL;
}

static gboolean
has_a_session (gpointer data)
{
  return g_list_model_get_n_items (cv_embedded_gateway_get_sessions (data)) > 0;
}

static void
test_gateway_window_serves_a_machine (void)
{
  g_autoptr (CvApplication) app = cv_gui_test_application_new ();
  g_autoptr (GSettings) settings = g_settings_new (CV_APPLICATION_ID);
  g_autoptr (GSubprocess) share = NULL;
  g_autofree char *grouped = NULL;
  g_autofree char *copied = NULL;
  g_autofree char *command = NULL;
  g_autofree char *shot = NULL;
  g_autofree char *gateway_text = NULL;
  CvEmbeddedGateway *gateway;
  CvEmbeddedSession *session;
  CvGatewaySessionRow *row;
  GtkWindow *window;
  GtkWindow *dialog;
  GtkWindow *editor;
  GtkEntry *entry;
  CvMachine *machine;
  AgentQuery query;
  guint16 port;
  gpointer window_alive;

  window = cv_gateway_window_new (NULL, app);
  gateway = cv_application_get_gateway (app);
  gtk_window_present (window);
  cv_gui_wait_for_draw (GTK_WIDGET (window));
  g_assert_false (cv_embedded_gateway_get_running (gateway));
  g_assert_cmpstr (adw_action_row_get_subtitle (window_child (window, "running_row")), ==,
                   "Stopped");

  /* This computer only, any free port: through the rows, into the settings, into the
   * gateway. */
  adw_combo_row_set_selected (window_child (window, "listen_row"), 1);
  g_assert_cmpstr (g_settings_get_string (settings, "gateway-listen-address"), ==, "127.0.0.1");
  g_assert_cmpstr (cv_embedded_gateway_get_listen_host (gateway), ==, "127.0.0.1");
  gtk_spin_button_set_value (window_child (window, "port_spin"), 0);
  {
    g_autoptr (GVariant) value = g_settings_get_value (settings, "gateway-listen-port");
    g_assert_cmpuint (g_variant_get_uint16 (value), ==, 0);
  }
  g_assert_cmpuint (cv_embedded_gateway_get_listen_port (gateway), ==, 0);

  gtk_switch_set_active (window_child (window, "running_switch"), TRUE);
  cv_gui_wait_until (is_running, gateway, "the gateway to run");
  port = cv_embedded_gateway_get_bound_port (gateway);
  g_assert_cmpuint (port, >, 0);
  g_assert_false (gtk_widget_is_sensitive (window_child (window, "listen_row")));
  g_assert_false (gtk_widget_is_sensitive (window_child (window, "port_row")));
  g_test_message ("running: %s",
                  adw_action_row_get_subtitle (window_child (window, "running_row")));
  {
    g_autofree char *port_text = g_strdup_printf ("%u", port);
    g_assert_nonnull (
      strstr (adw_action_row_get_subtitle (window_child (window, "running_row")), port_text));
  }

  /* The fingerprint shown is the gateway's, in groups of four; Copy gives the full one. */
  g_assert_nonnull (cv_embedded_gateway_get_fingerprint (gateway));
  grouped = cv_ui_format_fingerprint (cv_embedded_gateway_get_fingerprint (gateway), 8);
  g_assert_cmpstr (gtk_label_get_text (window_child (window, "fingerprint_label")), ==, grouped);
  click (window_child (window, "copy_fingerprint_button"));
  g_assert_cmpstr (gtk_button_get_label (window_child (window, "copy_fingerprint_button")), ==,
                   "Copied");
  copied = read_clipboard (GTK_WIDGET (window));
  g_assert_cmpstr (copied, ==, cv_embedded_gateway_get_fingerprint (gateway));
  g_clear_pointer (&copied, g_free);
  shot = cv_gui_screenshot (GTK_WIDGET (window), "gateway");
  g_clear_pointer (&shot, g_free);

  /* Add Machine: a session id that is not valid cannot be added. */
  click (window_child (window, "add_machine_button"));
  dialog = cv_gui_test_wait_dialog ("the Add a Machine question");
  entry = GTK_ENTRY (cv_gui_find_widget (GTK_WIDGET (dialog), GTK_TYPE_ENTRY, NULL));
  g_assert_nonnull (entry);
  g_assert_false (adw_message_dialog_get_response_enabled (ADW_MESSAGE_DIALOG (dialog), "add"));
  gtk_editable_set_text (GTK_EDITABLE (entry), "front desk!");
  g_assert_false (adw_message_dialog_get_response_enabled (ADW_MESSAGE_DIALOG (dialog), "add"));
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (entry), "error"));
  gtk_editable_set_text (GTK_EDITABLE (entry), "front-desk");
  g_assert_false (gtk_widget_has_css_class (GTK_WIDGET (entry), "error"));
  cv_gui_test_respond (dialog, "add");
  /* Its passwords are hashed on a thread, the window drawn meanwhile. */
  g_assert_cmpuint (g_list_model_get_n_items (cv_embedded_gateway_get_sessions (gateway)), ==, 0);
  cv_gui_wait_until (has_a_session, gateway, "the new session's passwords to be made");

  g_assert_cmpuint (g_list_model_get_n_items (cv_embedded_gateway_get_sessions (gateway)), ==, 1);
  session = g_list_model_get_item (cv_embedded_gateway_get_sessions (gateway), 0);
  g_object_unref (session); /* the gateway keeps it */
  g_assert_cmpstr (cv_embedded_session_get_id (session), ==, "front-desk");
  g_assert_nonnull (cv_embedded_session_get_share_password (session));
  row = CV_GATEWAY_SESSION_ROW (
    cv_gui_find_widget (GTK_WIDGET (window), CV_TYPE_GATEWAY_SESSION_ROW, "front-desk"));
  g_assert_nonnull (row);
  g_assert_true (adw_expander_row_get_expanded (ADW_EXPANDER_ROW (row)));
  g_assert_cmpstr (adw_expander_row_get_subtitle (ADW_EXPANDER_ROW (row)), ==,
                   "Waiting for the shared computer");
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (session_child (row, "share_password_row")),
                            cv_embedded_session_get_share_password (session)));
  g_assert_nonnull (
    strstr (adw_action_row_get_subtitle (session_child (row, "connect_password_row")),
            cv_embedded_session_get_connect_password (session)));
  g_assert_true (gtk_widget_get_visible (session_child (row, "command_row")));
  cv_gui_test_scroll_to_end (window);
  shot = cv_gui_screenshot (GTK_WIDGET (window), "gateway-session");
  g_clear_pointer (&shot, g_free);

  /* Each Copy gives what its row shows. */
  click (session_child (row, "copy_connect_password_button"));
  copied = read_clipboard (GTK_WIDGET (window));
  g_assert_cmpstr (copied, ==, cv_embedded_session_get_connect_password (session));
  g_clear_pointer (&copied, g_free);
  click (session_child (row, "copy_command_button"));
  command = read_clipboard (GTK_WIDGET (window));
  g_test_message ("share command: %s", command);
  g_assert_nonnull (strstr (command, "culvert-cli share"));
  g_assert_nonnull (strstr (command, cv_embedded_session_get_share_password (session)));
  g_assert_nonnull (strstr (command, cv_embedded_gateway_get_fingerprint (gateway)));

  /* The customer runs it: a real share agent comes online through the gateway. */
  share = run_share_command (command);
  query = (AgentQuery){ gateway, "share", "front-desk" };
  cv_gui_wait_until (share_agent_listed, &query, "the share agent among the gateway's agents");
  cv_gui_wait_until (share_online, session, "the machine's shared computer to be online");
  cv_gui_wait_until (agents_list_has_row, window_child (window, "agents_list"),
                     "a row for the share agent");
  g_assert_cmpstr (adw_expander_row_get_subtitle (ADW_EXPANDER_ROW (row)), ==,
                   "The shared computer is online");
  g_assert_cmpuint (cv_embedded_gateway_get_n_links (gateway), >=, 1);
  adw_expander_row_set_expanded (ADW_EXPANDER_ROW (row), FALSE);
  cv_gui_test_scroll_to_end (window);
  shot = cv_gui_screenshot (GTK_WIDGET (window), "gateway-agents");
  g_clear_pointer (&shot, g_free);

  /* Add to My Machines: the editor, filled in to reach it from here. */
  click (session_child (row, "add_to_machines_button"));
  cv_gui_wait_until (editor_shown, NULL, "the machine editor");
  editor = find_editor ();
  cv_gui_wait_for_draw (GTK_WIDGET (editor));
  gateway_text = g_strdup_printf ("127.0.0.1:%u", port);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (
                     cv_gui_test_child (editor, CV_TYPE_MACHINE_EDITOR, "gateway_row"))),
                   ==, gateway_text);
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (
                     cv_gui_test_child (editor, CV_TYPE_MACHINE_EDITOR, "session_row"))),
                   ==, "front-desk");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (
                     cv_gui_test_child (editor, CV_TYPE_MACHINE_EDITOR, "password_row"))),
                   ==, cv_embedded_session_get_connect_password (session));
  g_assert_true (gtk_window_get_transient_for (editor) == window);
  shot = cv_gui_screenshot (GTK_WIDGET (editor), "gateway-add-to-machines");
  g_clear_pointer (&shot, g_free);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.save", NULL));
  /* No keyring in this test: for this run only. */
  dialog = cv_gui_test_wait_dialog ("the No Keyring question");
  cv_gui_test_respond (dialog, "run");
  cv_gui_wait_until (editor_gone, NULL, "the editor to close");
  g_assert_cmpuint (g_list_model_get_n_items (
                      cv_machine_store_get_machines (cv_application_get_store (app))),
                    ==, 1);
  machine = g_list_model_get_item (cv_machine_store_get_machines (cv_application_get_store (app)),
                                   0);
  g_object_unref (machine); /* the store keeps it */
  g_assert_cmpstr (cv_machine_get_fingerprint (machine), ==,
                   cv_embedded_gateway_get_fingerprint (gateway));
  g_assert_cmpstr (cv_machine_get_gateway_host (machine), ==, "127.0.0.1");
  g_assert_cmpuint (cv_machine_get_gateway_port (machine), ==, port);
  g_assert_true (cv_secret_store_has_run_password (cv_application_get_secrets (app),
                                                   cv_machine_get_id (machine)));

  /* Stop: every link closes, the machine is offline, the port is closed. */
  gtk_switch_set_active (window_child (window, "running_switch"), FALSE);
  cv_gui_wait_until (is_stopped, gateway, "the gateway to stop");
  cv_gui_wait_until (share_offline, session, "the shared computer to go offline");
  cv_gui_wait_until (no_agents, gateway, "the agents list to empty");
  g_assert_cmpuint (cv_embedded_gateway_get_n_links (gateway), ==, 0);
  g_assert_true (is_refused (port));
  g_assert_cmpstr (adw_action_row_get_subtitle (window_child (window, "running_row")), ==,
                   "Stopped");
  g_assert_null (cv_note_row_get_text (window_child (window, "running_note")));
  g_assert_true (gtk_widget_is_sensitive (window_child (window, "listen_row")));
  /* The agent is still there, retrying; it never got an error it could not retry. */
  g_assert_nonnull (g_subprocess_get_identifier (share));
  stop_process (share);

  /* Remove asks first. */
  click (session_child (row, "remove_button"));
  dialog = cv_gui_test_wait_dialog ("the Remove question");
  cv_gui_test_respond (dialog, "cancel");
  g_assert_cmpuint (g_list_model_get_n_items (cv_embedded_gateway_get_sessions (gateway)), ==, 1);
  click (session_child (row, "remove_button"));
  dialog = cv_gui_test_wait_dialog ("the Remove question, again");
  cv_gui_test_respond (dialog, "remove");
  g_assert_cmpuint (g_list_model_get_n_items (cv_embedded_gateway_get_sessions (gateway)), ==, 0);

  /* Passwords are shown once: closing the window forgets them. */
  session = cv_embedded_gateway_add_session (gateway, "second", NULL);
  g_assert_nonnull (session);
  g_assert_nonnull (cv_embedded_session_get_share_password (session));
  window_alive = window;
  g_object_add_weak_pointer (G_OBJECT (window), &window_alive);
  gtk_window_destroy (window);
  cv_gui_wait_finalized (&window_alive, "the gateway window to go");
  g_assert_null (cv_embedded_session_get_share_password (session));
  g_assert_null (cv_embedded_session_get_connect_password (session));
}

static void
test_gateway_window_start_error (void)
{
  g_autoptr (CvApplication) app = cv_gui_test_application_new ();
  g_autoptr (GSettings) settings = g_settings_new (CV_APPLICATION_ID);
  g_autoptr (GSocketListener) taker = g_socket_listener_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *shot = NULL;
  CvEmbeddedGateway *gateway;
  GtkWindow *window;
  guint16 port;

  /* Someone else has the port. */
  port = g_socket_listener_add_any_inet_port (taker, NULL, &error);
  g_assert_no_error (error);
  g_settings_set_string (settings, "gateway-listen-address", "127.0.0.1");
  g_settings_set_value (settings, "gateway-listen-port", g_variant_new_uint16 (port));

  window = cv_gateway_window_new (NULL, app);
  gateway = cv_application_get_gateway (app);
  gtk_window_present (window);
  cv_gui_wait_for_draw (GTK_WIDGET (window));
  g_assert_cmpint (gtk_spin_button_get_value_as_int (window_child (window, "port_spin")), ==, port);

  gtk_switch_set_active (window_child (window, "running_switch"), TRUE);
  g_assert_false (cv_embedded_gateway_get_running (gateway));
  g_assert_false (gtk_switch_get_active (window_child (window, "running_switch")));
  g_assert_cmpstr (adw_action_row_get_subtitle (window_child (window, "running_row")), ==,
                   "Stopped");
  g_assert_nonnull (cv_embedded_gateway_get_error (gateway));
  g_test_message ("start error: %s", cv_note_row_get_text (window_child (window, "running_note")));
  g_assert_cmpstr (cv_note_row_get_text (window_child (window, "running_note")), ==,
                   cv_embedded_gateway_get_error (gateway)->message);
  {
    g_autofree char *port_text = g_strdup_printf ("%u", port);
    g_assert_nonnull (
      strstr (cv_note_row_get_text (window_child (window, "running_note")), port_text));
  }
  shot = cv_gui_screenshot (GTK_WIDGET (window), "gateway-start-error");

  gtk_window_destroy (window);
}

int
main (int argc, char *argv[])
{
  int status;

  home = cv_gui_test_app_init (&argc, &argv);
  {
    /* No Secret Service: Add to My Machines keeps the password for this run. */
    g_autofree char *nowhere = g_build_filename (home, "no-bus", NULL);
    g_autofree char *address = g_strconcat ("unix:path=", nowhere, NULL);

    g_setenv ("DBUS_SESSION_BUS_ADDRESS", address, TRUE);
  }

  g_test_add_func ("/gui/gateway-window/serves-a-machine", test_gateway_window_serves_a_machine);
  g_test_add_func ("/gui/gateway-window/start-error", test_gateway_window_start_error);

  status = g_test_run ();
  return cv_gui_test_app_finish (home, status);
}
