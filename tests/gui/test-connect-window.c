/* test-connect-window.c: connecting from the main window through the engine in-process — a
 * real gateway and share agent of the engine on 127.0.0.1, a checksumming service behind
 * them: the trust question, the connected row and page, bytes through the mapped port, the
 * gateway stopped (the dropped state and its notification) and started again, Disconnect
 * closing the port; a changed gateway key and a wrong password as blocking failures. */
#include "cv-version.h"

#include <adwaita.h>
#include <glib/gstdio.h>

#include "auth/cv-password.h"
#include "cv-app-error.h"
#include "cv-app-test-net.h"
#include "cv-application.h"
#include "cv-gui-test-app.h"
#include "cv-gui-test-util.h"
#include "cv-machine-editor.h"
#include "cv-machine-page.h"
#include "cv-machine-row.h"
#include "cv-service-link.h"
#include "cv-ui-util.h"
#include "cv-window.h"
#include "transport/cv-identity.h"
#include "wire/cv-control.h"

#define SESSION "front-desk"
#define SHARE_PASSWORD "share secret"
#define CONNECT_PASSWORD "connect secret"
#define WRONG_PASSWORD "a wrong guess"
#define TRANSFER_SIZE (256 * 1024)

typedef struct {
  char *dir;
  char *share_hash;
  char *connect_hash;
  GSocketService *service;
  guint16 service_port;
  CvGateway *gateway;
  CvIdentity *gateway_identity;
  guint16 gateway_port;
  CvShareAgent *share;

  CvApplication *app;
  CvWindow *window;
  CvMachine *machine; /* owned by the store */
  CvMachineConnection *connection;
} Fixture;

static void
start_gateway (Fixture *fixture, const char *key_name, guint16 port)
{
  g_clear_object (&fixture->gateway_identity);
  fixture->gateway = cv_app_test_gateway_new (fixture->dir, key_name, port, SESSION,
                                              fixture->share_hash, fixture->connect_hash,
                                              &fixture->gateway_identity);
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

  fixture->dir = g_build_filename (g_get_user_cache_dir (), "net", NULL);
  g_assert_cmpint (g_mkdir_with_parents (fixture->dir, 0700), ==, 0);
  fixture->share_hash = cv_password_hash (SHARE_PASSWORD, &error);
  g_assert_no_error (error);
  fixture->connect_hash = cv_password_hash (CONNECT_PASSWORD, &error);
  g_assert_no_error (error);
  fixture->service = cv_app_test_checksum_service_new (&fixture->service_port);
  start_gateway (fixture, "gateway", 0);
  fixture->share = cv_app_test_share_agent_new (fixture->dir,
                                                cv_identity_get_fingerprint (
                                                  fixture->gateway_identity),
                                                fixture->gateway_port, SESSION, SHARE_PASSWORD,
                                                fixture->service_port);
  cv_share_agent_start (fixture->share);

  fixture->app = cv_gui_test_application_new ();
  g_application_activate (G_APPLICATION (fixture->app));
  fixture->window = CV_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (fixture->app)));
  g_assert_nonnull (fixture->window);
  g_object_ref (fixture->window);
  gtk_window_set_default_size (GTK_WINDOW (fixture->window), 720, 640);
  cv_gui_wait_for_draw (GTK_WIDGET (fixture->window));
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  if (fixture->connection != NULL)
    cv_machine_connection_disconnect (fixture->connection);
  gtk_window_destroy (GTK_WINDOW (fixture->window));
  g_assert_finalize_object (fixture->window);
  g_clear_object (&fixture->app);

  cv_share_agent_stop (fixture->share);
  g_clear_object (&fixture->share);
  if (fixture->gateway != NULL)
    stop_gateway (fixture);
  g_clear_object (&fixture->gateway_identity);
  cv_app_test_checksum_service_free (fixture->service);
  g_free (fixture->share_hash);
  g_free (fixture->connect_hash);
  g_free (fixture->dir);
}

/* The machine as the editor would have saved it, its password given "for this run". */
static void
add_machine (Fixture *fixture, const char *password, const char *fingerprint)
{
  g_autoptr (CvMachine) machine = cv_machine_new ();
  g_autoptr (CvMachineService) service = cv_machine_service_new (CV_SERVICE_PRESET_CUSTOM);
  g_autofree char *command = NULL;

  cv_machine_set_name (machine, "Front desk PC");
  cv_machine_set_gateway (machine, "127.0.0.1", fixture->gateway_port);
  cv_machine_set_session (machine, SESSION);
  cv_machine_set_fingerprint (machine, fingerprint);
  cv_machine_service_set_target_host (service, "127.0.0.1");
  cv_machine_service_set_target_port (service, fixture->service_port);
  /* Its launcher leaves a mark: that the app opened it on connect, and on which port. */
  command = g_strdup_printf ("touch %s/opened-{port}", fixture->dir);
  cv_machine_service_set_launcher (service, CV_LAUNCHER_CUSTOM);
  cv_machine_service_set_custom_command (service, command);
  cv_machine_add_service (machine, service);

  cv_machine_store_add (cv_application_get_store (fixture->app), machine);
  cv_secret_store_remember_for_run (cv_application_get_secrets (fixture->app),
                                    cv_machine_get_id (machine), password);
  fixture->machine = machine;
  fixture->connection = cv_application_get_connection (fixture->app, cv_machine_get_id (machine));
  g_assert_nonnull (fixture->connection);
}

static void
activate (Fixture *fixture, const char *action)
{
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (fixture->window), action, "s",
                                             cv_machine_get_id (fixture->machine)));
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
wait_state (Fixture *fixture, CvConnectionState state)
{
  StateWait wait = { fixture->connection, state };
  g_autoptr (GEnumClass) states = g_type_class_ref (CV_TYPE_CONNECTION_STATE);
  g_autofree char *what = g_strdup_printf ("the machine's state %s",
                                           g_enum_get_value (states, state)->value_nick);

  cv_gui_wait_until (state_is, &wait, what);
}

/* As a click does: the response's button, which answers and closes the dialog. */
static void
click_response (GtkWindow *dialog, const char *label)
{
  GtkWidget *button = cv_gui_find_widget (GTK_WIDGET (dialog), GTK_TYPE_BUTTON, label);
  gpointer alive = dialog;

  g_assert_nonnull (button);
  g_object_add_weak_pointer (G_OBJECT (dialog), &alive);
  g_signal_emit_by_name (button, "clicked");
  cv_gui_wait_finalized (&alive, "the dialog to close");
}

static CvMachineRow *
machine_row (Fixture *fixture)
{
  GtkListBox *list = cv_gui_test_child (fixture->window, CV_TYPE_WINDOW, "list_box");
  GtkListBoxRow *row = gtk_list_box_get_row_at_index (list, 0);

  g_assert_true (CV_IS_MACHINE_ROW (row));
  return CV_MACHINE_ROW (row);
}

static AdwActionRow *
service_row (Fixture *fixture)
{
  CvMachinePage *page = cv_gui_test_child (fixture->window, CV_TYPE_WINDOW, "machine_page");
  GtkListBox *services = cv_gui_test_child (page, CV_TYPE_MACHINE_PAGE, "services_list");

  return ADW_ACTION_ROW (gtk_list_box_get_row_at_index (services, 0));
}

static gboolean
has_label (gpointer data)
{
  gpointer *args = data;

  return cv_gui_find_widget (args[0], GTK_TYPE_LABEL, args[1]) != NULL;
}

static void
wait_label (GtkWidget *root, const char *text)
{
  gpointer args[] = { root, (gpointer) text };
  g_autofree char *what = g_strdup_printf ("a label “%s”", text);

  cv_gui_wait_until (has_label, args, what);
}

static gboolean
file_exists (gpointer data)
{
  return g_file_test (data, G_FILE_TEST_EXISTS);
}

static gboolean
link_counted (gpointer data)
{
  CvServiceLink *link = data;

  return cv_service_link_get_bytes_in (link) >= CV_APP_TEST_NET_REPLY_SIZE
         && cv_service_link_get_bytes_out (link) >= TRANSFER_SIZE;
}

/* Enter on the focused row, as GTK handles it: the row class's shortcut for Return. */
static void
press_enter (GtkWidget *widget)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (widget);
  g_autoptr (GtkShortcutTrigger) enter = gtk_keyval_trigger_new (GDK_KEY_Return, 0);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GObject) controller = g_list_model_get_item (controllers, i);

      if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
        continue;
      for (guint j = 0; j < g_list_model_get_n_items (G_LIST_MODEL (controller)); j++)
        {
          g_autoptr (GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), j);

          if (gtk_shortcut_trigger_equal (gtk_shortcut_get_trigger (shortcut), enter))
            {
              g_assert_true (gtk_shortcut_action_activate (gtk_shortcut_get_action (shortcut),
                                                           GTK_SHORTCUT_ACTION_EXCLUSIVE, widget,
                                                           gtk_shortcut_get_arguments (shortcut)));
              return;
            }
        }
    }
  g_error ("%s has no shortcut for Enter", G_OBJECT_TYPE_NAME (widget));
}

static gboolean
has_round_trip (gpointer data)
{
  return cv_machine_connection_get_round_trip_us (data) >= 0;
}

static gboolean
has_notification (gpointer data)
{
  gpointer *args = data;

  return cv_application_lookup_notification (args[0], args[1]) != NULL;
}

static gboolean
has_no_notification (gpointer data)
{
  return !has_notification (data);
}

static void
test_connect (Fixture *fixture, gconstpointer data)
{
  const char *fingerprint = cv_identity_get_fingerprint (fixture->gateway_identity);
  g_autofree char *grouped_start = g_strndup (fingerprint + strlen ("sha256:"), 4);
  g_autofree char *notification_id = NULL;
  g_autofree char *opened = NULL;
  g_autofree char *listening = NULL;
  g_autofree char *shot = NULL;
  g_autoptr (CvServiceLink) link = NULL;
  g_autoptr (GError) error = NULL;
  CvAppTestTransfer *transfer;
  GtkWindow *dialog;
  guint16 port;

  add_machine (fixture, CONNECT_PASSWORD, NULL);
  notification_id = g_strconcat ("dropped-", cv_machine_get_id (fixture->machine), NULL);

  /* First contact: the gateway's key is asked about; Cancel trusts nothing. */
  activate (fixture, "win.connect-machine");
  dialog = cv_gui_test_wait_dialog ("the trust question");
  g_assert_cmpstr (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (dialog)), ==,
                   "Trust This Gateway?");
  g_assert_cmpstr (adw_message_dialog_get_default_response (ADW_MESSAGE_DIALOG (dialog)), ==,
                   "cancel");
  g_assert_cmpint (adw_message_dialog_get_response_appearance (ADW_MESSAGE_DIALOG (dialog),
                                                               "trust"),
                   ==, ADW_RESPONSE_SUGGESTED);
  click_response (dialog, "_Cancel");
  wait_state (fixture, CV_CONNECTION_STATE_IDLE);
  g_assert_null (cv_machine_get_fingerprint (fixture->machine));

  /* Again, with Enter on the row this time, and Trust: the key shown is the gateway's, in
   * groups of four. */
  press_enter (GTK_WIDGET (machine_row (fixture)));
  dialog = cv_gui_test_wait_dialog ("the trust question, again");
  g_assert_nonnull (
    strstr (adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog)), grouped_start));
  g_assert_nonnull (strstr (adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog)),
                            "Compare it with the one your administrator gave you."));
  shot = cv_gui_screenshot (GTK_WIDGET (dialog), "trust");
  g_clear_pointer (&shot, g_free);
  click_response (dialog, "_Trust");
  wait_state (fixture, CV_CONNECTION_STATE_CONNECTED);
  g_assert_cmpstr (cv_machine_get_fingerprint (fixture->machine), ==, fingerprint);
  wait_label (GTK_WIDGET (fixture->window), "Connected to Front desk PC");
  g_assert_nonnull (
    cv_gui_find_widget (GTK_WIDGET (machine_row (fixture)), GTK_TYPE_BUTTON, "Disconnect"));

  /* The page: the service listens on a port of this computer, which the launcher got. */
  activate (fixture, "win.open-machine");
  link = g_list_model_get_item (cv_machine_connection_get_services (fixture->connection), 0);
  port = cv_service_link_get_port (link);
  g_assert_cmpuint (port, >, 0);
  listening = g_strdup_printf ("listening on localhost:%u", port);
  g_assert_true (g_str_has_prefix (adw_action_row_get_subtitle (service_row (fixture)), listening));
  opened = g_strdup_printf ("%s/opened-%u", fixture->dir, port);
  cv_gui_wait_until (file_exists, opened, "the service's launcher to run");
  shot = cv_gui_screenshot (GTK_WIDGET (fixture->window), "connected");
  g_clear_pointer (&shot, g_free);

  /* Bytes through the port, checked both ways, and counted on the row. */
  transfer = cv_app_test_transfer_start (port, TRANSFER_SIZE, 7);
  g_assert_true (cv_app_test_transfer_finish (transfer, &error));
  g_assert_no_error (error);
  cv_gui_wait_until (link_counted, link, "the service's bytes to be counted");
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (service_row (fixture)), "↓"));

  /* The tunnel's round trip, on the page. */
  cv_gui_wait_until (has_round_trip, fixture->connection, "the tunnel's round trip");
  {
    CvMachinePage *page = cv_gui_test_child (fixture->window, CV_TYPE_WINDOW, "machine_page");
    AdwActionRow *round_trip = cv_gui_test_child (page, CV_TYPE_MACHINE_PAGE, "round_trip_row");

    g_assert_true (gtk_widget_get_visible (GTK_WIDGET (round_trip)));
    g_assert_true (g_str_has_suffix (adw_action_row_get_subtitle (round_trip), " ms"));
  }

  /* The gateway goes away: the machine reconnects by itself, and the desktop is told. */
  gtk_widget_activate_action (GTK_WIDGET (fixture->window), "win.show-machines", NULL);
  stop_gateway (fixture);
  wait_state (fixture, CV_CONNECTION_STATE_RECONNECTING);
  {
    gpointer args[] = { fixture->app, notification_id };

    cv_gui_wait_until (has_notification, args, "the notification that the machine dropped");
  }
  g_assert_nonnull (
    cv_gui_find_widget (GTK_WIDGET (machine_row (fixture)), GTK_TYPE_SPINNER, NULL));
  shot = cv_gui_screenshot (GTK_WIDGET (fixture->window), "reconnecting");
  g_clear_pointer (&shot, g_free);

  /* Back on the same port with the same key: connected again, the notification withdrawn. */
  start_gateway (fixture, "gateway", fixture->gateway_port);
  wait_state (fixture, CV_CONNECTION_STATE_CONNECTED);
  {
    gpointer args[] = { fixture->app, notification_id };

    cv_gui_wait_until (has_no_notification, args, "the notification to be withdrawn");
  }

  /* Disconnect closes the port. */
  activate (fixture, "win.disconnect-machine");
  wait_state (fixture, CV_CONNECTION_STATE_IDLE);
  g_assert_true (cv_app_test_port_refuses (port));
  g_assert_nonnull (
    cv_gui_find_widget (GTK_WIDGET (machine_row (fixture)), GTK_TYPE_BUTTON, "Connect"));
}

static void
test_key_changed (Fixture *fixture, gconstpointer data)
{
  g_autofree char *trusted = NULL;
  g_autofree char *shot = NULL;
  CvMachinePage *page;
  const GError *error;
  GtkWidget *failure_box;
  guint16 port = fixture->gateway_port;

  add_machine (fixture, CONNECT_PASSWORD, cv_identity_get_fingerprint (fixture->gateway_identity));
  trusted = g_strdup (cv_machine_get_fingerprint (fixture->machine));

  /* Another gateway on the same address, with a key of its own. */
  stop_gateway (fixture);
  start_gateway (fixture, "impostor", port);
  g_assert_cmpstr (cv_identity_get_fingerprint (fixture->gateway_identity), !=, trusted);

  activate (fixture, "win.open-machine");
  activate (fixture, "win.connect-machine");
  wait_state (fixture, CV_CONNECTION_STATE_FAILED);
  error = cv_machine_connection_get_error (fixture->connection);
  g_assert_error (error, CV_APP_ERROR, CV_APP_ERROR_KEY_CHANGED);
  /* Nothing was trusted on the way, and no dialog offered to. */
  g_assert_cmpstr (cv_machine_get_fingerprint (fixture->machine), ==, trusted);
  g_assert_null (cv_gui_find_toplevel (ADW_TYPE_MESSAGE_DIALOG));

  page = cv_gui_test_child (fixture->window, CV_TYPE_WINDOW, "machine_page");
  failure_box = cv_gui_test_child (page, CV_TYPE_MACHINE_PAGE, "failure_box");
  g_assert_true (gtk_widget_get_visible (failure_box));
  g_assert_nonnull (
    cv_gui_find_widget (failure_box, GTK_TYPE_LABEL, "The Gateway's Identity Has Changed"));
  g_assert_nonnull (cv_gui_find_widget (failure_box, GTK_TYPE_BUTTON, "_Edit Machine"));
  /* Each key once on the page, in groups of four: the sentence does not repeat them. */
  {
    const char *presented = cv_identity_get_fingerprint (fixture->gateway_identity);
    g_autofree char *old_grouped = cv_ui_format_fingerprint (trusted, 8);
    g_autofree char *new_grouped = cv_ui_format_fingerprint (presented, 8);
    g_autofree char *expected = g_strdup_printf ("Trusted key:\n%s\n\nKey it presents now:\n%s",
                                                 old_grouped, new_grouped);
    GtkLabel *body = cv_gui_test_child (page, CV_TYPE_MACHINE_PAGE, "failure_body");
    GtkLabel *key = cv_gui_test_child (page, CV_TYPE_MACHINE_PAGE, "failure_key");

    g_assert_nonnull (strstr (old_grouped, " "));
    g_assert_cmpstr (gtk_label_get_label (key), ==, expected);
    g_assert_null (strstr (gtk_label_get_label (body), presented + strlen ("sha256:")));
    g_assert_null (strstr (gtk_label_get_label (body), trusted + strlen ("sha256:")));
  }
  shot = cv_gui_screenshot (GTK_WIDGET (fixture->window), "key-changed");
}

static void
test_wrong_password (Fixture *fixture, gconstpointer data)
{
  g_autofree char *shot = NULL;
  CvMachinePage *page;
  GtkLabel *body;
  const GError *error;

  add_machine (fixture, WRONG_PASSWORD, cv_identity_get_fingerprint (fixture->gateway_identity));
  activate (fixture, "win.open-machine");
  activate (fixture, "win.connect-machine");
  wait_state (fixture, CV_CONNECTION_STATE_FAILED);
  error = cv_machine_connection_get_error (fixture->connection);
  g_assert_error (error, CV_REFUSAL_ERROR, CV_REFUSAL_BAD_PASSWORD);

  /* The refusal's sentence on the page, and Edit Machine first: that is where it is fixed. */
  page = cv_gui_test_child (fixture->window, CV_TYPE_WINDOW, "machine_page");
  body = cv_gui_test_child (page, CV_TYPE_MACHINE_PAGE, "failure_body");
  g_assert_cmpstr (gtk_label_get_label (body), ==, error->message);
  g_assert_cmpstr (gtk_button_get_label (
                     cv_gui_test_child (page, CV_TYPE_MACHINE_PAGE, "failure_primary")),
                   ==, "_Edit Machine");
  shot = cv_gui_screenshot (GTK_WIDGET (fixture->window), "wrong-password");
}

static gboolean
editor_shown (gpointer data)
{
  return cv_gui_find_toplevel (CV_TYPE_MACHINE_EDITOR) != NULL;
}

static void
test_launcher_missing (Fixture *fixture, gconstpointer data)
{
  static const char missing[] = "culvert-no-such-viewer {port}";
  g_autoptr (CvMachineService) service = NULL;
  g_autoptr (GError) expected = NULL;
  g_auto (GStrv) argv = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *shot = NULL;
  GtkWidget *choose;
  GtkWindow *editor;

  add_machine (fixture, CONNECT_PASSWORD, cv_identity_get_fingerprint (fixture->gateway_identity));
  service = g_list_model_get_item (cv_machine_get_services (fixture->machine), 0);
  cv_machine_service_set_custom_command (service, missing);
  /* The sentence the launcher gives for it. */
  g_assert_false (cv_launcher_prepare (CV_LAUNCHER_CUSTOM, CV_SERVICE_PRESET_CUSTOM, missing,
                                       "127.0.0.1", 5900, &argv, &uri, &expected));
  g_assert_error (expected, CV_APP_ERROR, CV_APP_ERROR_NOT_INSTALLED);

  /* Connected, but the service could not be opened: that is what the toast says, with the
   * way to another launcher. */
  activate (fixture, "win.connect-machine");
  wait_state (fixture, CV_CONNECTION_STATE_CONNECTED);
  wait_label (GTK_WIDGET (fixture->window), expected->message);
  g_assert_null (cv_gui_find_widget (GTK_WIDGET (fixture->window), GTK_TYPE_LABEL,
                                     "Connected to Front desk PC"));
  choose = cv_gui_find_widget (GTK_WIDGET (fixture->window), GTK_TYPE_BUTTON, "Choose _Another");
  g_assert_nonnull (choose);
  shot = cv_gui_screenshot (GTK_WIDGET (fixture->window), "launcher-missing");
  g_signal_emit_by_name (choose, "clicked");
  cv_gui_wait_until (editor_shown, NULL, "the machine's editor");
  editor = cv_gui_find_toplevel (CV_TYPE_MACHINE_EDITOR);
  gtk_window_destroy (editor);
}

static gboolean
has_no_label (gpointer data)
{
  return !has_label (data);
}

/* A drop right after connecting: the "Connected to" toast (5 s on screen otherwise) goes at
 * once, so that it never sits next to a row that says "connecting…". */
static void
test_drop_dismisses_toast (Fixture *fixture, gconstpointer data)
{
  const char *label = "Connected to Front desk PC";
  gpointer args[] = { fixture->window, (gpointer) label };
  g_autoptr (GTimer) timer = NULL;

  add_machine (fixture, CONNECT_PASSWORD, cv_identity_get_fingerprint (fixture->gateway_identity));
  activate (fixture, "win.connect-machine");
  wait_state (fixture, CV_CONNECTION_STATE_CONNECTED);
  wait_label (GTK_WIDGET (fixture->window), label);
  g_assert_nonnull (
    cv_window_get_connected_toast (fixture->window, cv_machine_get_id (fixture->machine)));

  timer = g_timer_new ();
  stop_gateway (fixture);
  wait_state (fixture, CV_CONNECTION_STATE_RECONNECTING);
  g_assert_null (
    cv_window_get_connected_toast (fixture->window, cv_machine_get_id (fixture->machine)));
  cv_gui_wait_until (has_no_label, args, "the “Connected to” toast to go");
  /* Gone with the drop, not by its own timeout. */
  g_assert_cmpfloat (g_timer_elapsed (timer, NULL), <, 4.0);
}

int
main (int argc, char *argv[])
{
  cv_gui_test_init (&argc, &argv);

  g_test_add ("/gui/connect-window/connect", Fixture, NULL, fixture_set_up, test_connect,
              fixture_tear_down);
  g_test_add ("/gui/connect-window/drop-dismisses-toast", Fixture, NULL, fixture_set_up,
              test_drop_dismisses_toast, fixture_tear_down);
  g_test_add ("/gui/connect-window/key-changed", Fixture, NULL, fixture_set_up, test_key_changed,
              fixture_tear_down);
  g_test_add ("/gui/connect-window/launcher-missing", Fixture, NULL, fixture_set_up,
              test_launcher_missing, fixture_tear_down);
  g_test_add ("/gui/connect-window/wrong-password", Fixture, NULL, fixture_set_up,
              test_wrong_password, fixture_tear_down);

  return g_test_run ();
}
