/* test-accessibility.c: every screen of the app opened on a real display and walked: each
 * control has a name a screen reader can say and can be reached with the keyboard, each
 * icon exists in the theme, and each shortcut the Keyboard Shortcuts window lists works. */
#include "cv-version.h"

#include <adwaita.h>

#include "auth/cv-password.h"
#include "cv-app-test-net.h"
#include "cv-application.h"
#include "cv-code-dialog.h"
#include "cv-consent-dialog.h"
#include "cv-gateway-window.h"
#include "cv-gui-test-app.h"
#include "cv-gui-test-util.h"
#include "cv-machine-editor.h"
#include "cv-preferences-window.h"
#include "cv-share-session.h"
#include "cv-window.h"
#include "transport/cv-identity.h"

#define SESSION "front-desk"
#define SHARE_PASSWORD "share secret"
#define CONNECT_PASSWORD "connect secret"
#define FINGERPRINT "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* The controls a person operates, each of which needs a name of its own. */
static gboolean
is_control (GtkWidget *widget)
{
  return GTK_IS_BUTTON (widget) || GTK_IS_MENU_BUTTON (widget) || GTK_IS_SWITCH (widget)
         || GTK_IS_CHECK_BUTTON (widget) || GTK_IS_ENTRY (widget) || GTK_IS_SPIN_BUTTON (widget)
         || GTK_IS_DROP_DOWN (widget);
}

static const char *
widget_id (GtkWidget *widget)
{
  const char *id = gtk_buildable_get_buildable_id (GTK_BUILDABLE (widget));

  return id != NULL ? id : G_OBJECT_TYPE_NAME (widget);
}

/* "CvWindow > AdwToastOverlay > … > add_button", to find the widget in the .ui. */
static char *
widget_path (GtkWidget *widget)
{
  GString *path = g_string_new (widget_id (widget));

  for (GtkWidget *up = gtk_widget_get_parent (widget); up != NULL; up = gtk_widget_get_parent (up))
    {
      g_string_prepend (path, " > ");
      g_string_prepend (path, widget_id (up));
    }
  return g_string_free (path, FALSE);
}

static gboolean
has_text (const char *text)
{
  return text != NULL && *g_strstrip (g_strdup (text)) != '\0' ? TRUE : FALSE;
}

/* Whether a label with text is inside @widget (a button's content). */
static gboolean
has_label_inside (GtkWidget *widget)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (!gtk_widget_get_visible (child))
        continue;
      if (GTK_IS_LABEL (child) && has_text (gtk_label_get_text (GTK_LABEL (child))))
        return TRUE;
      if (has_label_inside (child))
        return TRUE;
    }
  return FALSE;
}

/* The row that names @widget: the AdwActionRow it activates, or the row whose own part it
 * is (the entry of an AdwEntryRow, the arrow of an AdwExpanderRow). */
static AdwPreferencesRow *
labelling_row (GtkWidget *widget)
{
  GtkWidget *row = gtk_widget_get_ancestor (widget, ADW_TYPE_PREFERENCES_ROW);

  if (row == NULL || !has_text (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row))))
    return NULL;
  if (ADW_IS_ACTION_ROW (row)
      && adw_action_row_get_activatable_widget (ADW_ACTION_ROW (row)) == widget)
    return ADW_PREFERENCES_ROW (row);
  /* Parts of libadwaita's own rows, labelled by the row's title. */
  if (ADW_IS_ENTRY_ROW (row) || ADW_IS_COMBO_ROW (row))
    return ADW_PREFERENCES_ROW (row);
  if (ADW_IS_EXPANDER_ROW (row) && gtk_widget_get_ancestor (widget, GTK_TYPE_LIST_BOX_ROW) != NULL
      && GTK_IS_TOGGLE_BUTTON (widget))
    return ADW_PREFERENCES_ROW (row);
  return NULL;
}

static gboolean
has_name (GtkWidget *widget)
{
  if (has_text (gtk_widget_get_tooltip_text (widget)))
    return TRUE;
  /* An accessible label that is not empty: check_property () gives the value when it
   * differs from "".  (GTK 4.8's has_relation () holds for LABELLED_BY on any widget, so a
   * row's label is recognised by the row itself, below.) */
  if (gtk_test_accessible_has_property (GTK_ACCESSIBLE (widget), GTK_ACCESSIBLE_PROPERTY_LABEL))
    {
      g_autofree char *differs = gtk_test_accessible_check_property (GTK_ACCESSIBLE (widget),
                                                                     GTK_ACCESSIBLE_PROPERTY_LABEL,
                                                                     "");

      if (differs != NULL)
        return TRUE;
    }
  if (GTK_IS_BUTTON (widget) && has_text (gtk_button_get_label (GTK_BUTTON (widget))))
    return TRUE;
  if (GTK_IS_MENU_BUTTON (widget)
      && has_text (gtk_menu_button_get_label (GTK_MENU_BUTTON (widget))))
    return TRUE;
  if (GTK_IS_CHECK_BUTTON (widget)
      && has_text (gtk_check_button_get_label (GTK_CHECK_BUTTON (widget))))
    return TRUE;
  if ((GTK_IS_BUTTON (widget) || GTK_IS_MENU_BUTTON (widget)) && has_label_inside (widget))
    return TRUE;
  if (GTK_IS_ENTRY (widget) && has_text (gtk_entry_get_placeholder_text (GTK_ENTRY (widget))))
    return TRUE;
  return labelling_row (widget) != NULL;
}

/* Whether the keyboard reaches @widget: it takes the focus itself, or its row does and
 * activates it; no ancestor keeps the focus from its children. */
static gboolean
is_reachable (GtkWidget *widget)
{
  AdwPreferencesRow *row = labelling_row (widget);

  for (GtkWidget *up = widget; up != NULL; up = gtk_widget_get_parent (up))
    if (!gtk_widget_get_can_focus (up))
      return FALSE;
  if (gtk_widget_get_focusable (widget))
    return TRUE;
  /* A GtkMenuButton and a GtkDropDown take the focus through their inner button. */
  if ((GTK_IS_MENU_BUTTON (widget) || GTK_IS_DROP_DOWN (widget))
      && cv_gui_find_widget (widget, GTK_TYPE_TOGGLE_BUTTON, NULL) != NULL)
    return gtk_widget_get_focusable (cv_gui_find_widget (widget, GTK_TYPE_TOGGLE_BUTTON, NULL));
  /* A spin button takes the focus in its text. */
  if (GTK_IS_SPIN_BUTTON (widget) && cv_gui_find_widget (widget, GTK_TYPE_TEXT, NULL) != NULL)
    return gtk_widget_get_focusable (cv_gui_find_widget (widget, GTK_TYPE_TEXT, NULL));
  return row != NULL && gtk_widget_get_focusable (GTK_WIDGET (row));
}

/* The inner button of a GtkMenuButton or a GtkDropDown, a GtkSpinButton's − and +: named
 * and reached as their owner (the arrow keys step a spin button). */
static gboolean
is_inner_part (GtkWidget *widget)
{
  GtkWidget *parent = gtk_widget_get_parent (widget);

  return (GTK_IS_TOGGLE_BUTTON (widget)
          && (GTK_IS_MENU_BUTTON (parent) || GTK_IS_DROP_DOWN (parent)))
         || (GTK_IS_BUTTON (widget) && GTK_IS_SPIN_BUTTON (parent));
}

static void
walk (GtkWidget *widget, GString *failures)
{
  /* What is on screen now (not a leaflet's other page, not a collapsed row's content). */
  if (!gtk_widget_get_mapped (widget))
    return;
  /* The title bar's Close (and others): not in the focus chain in any GTK app, on purpose;
   * the keyboard closes a window with its own shortcuts. */
  if (GTK_IS_WINDOW_CONTROLS (widget))
    return;
  /* A toast's own close button: libadwaita 1.2 gives it no name, and the app cannot reach it
   * (the toast goes by itself, and with the drop). */
  if (g_str_equal (G_OBJECT_TYPE_NAME (widget), "AdwToastWidget"))
    return;

  if (is_control (widget) && !is_inner_part (widget))
    {
      if (!has_name (widget))
        {
          g_autofree char *path = widget_path (widget);

          g_string_append_printf (failures, "\n  no label, tooltip or accessible label: %s", path);
        }
      if (gtk_widget_is_sensitive (widget) && !is_reachable (widget))
        {
          g_autofree char *path = widget_path (widget);

          g_string_append_printf (failures, "\n  not reachable with the keyboard: %s", path);
        }
    }
  if (GTK_IS_IMAGE (widget)
      && gtk_image_get_storage_type (GTK_IMAGE (widget)) == GTK_IMAGE_ICON_NAME)
    {
      const char *icon = gtk_image_get_icon_name (GTK_IMAGE (widget));
      GtkIconTheme *theme = gtk_icon_theme_get_for_display (gtk_widget_get_display (widget));

      if (!gtk_icon_theme_has_icon (theme, icon))
        {
          g_autofree char *path = widget_path (widget);

          g_string_append_printf (failures, "\n  icon “%s” not in the theme: %s", icon, path);
        }
    }

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    walk (child, failures);
}

/* Walks the window as it is drawn now; every fault found fails the test, each with its
 * widget's path. */
static void
check_screen (GtkWidget *window, const char *screen)
{
  g_autoptr (GString) failures = g_string_new (NULL);

  cv_gui_wait_for_draw (window);
  walk (window, failures);
  if (failures->len > 0)
    g_error ("%s:%s", screen, failures->str);
  g_test_message ("%s: every control named and reachable", screen);
}

static gboolean
toplevel_shown (gpointer data)
{
  return cv_gui_find_toplevel (GPOINTER_TO_SIZE (data)) != NULL;
}

static GtkWindow *
open_from_app (CvApplication *app, const char *action, GType type, const char *what)
{
  g_action_group_activate_action (G_ACTION_GROUP (app), action, NULL);
  cv_gui_wait_until (toplevel_shown, GSIZE_TO_POINTER (type), what);
  return cv_gui_find_toplevel (type);
}

static void
close_window (GtkWindow *window, const char *what)
{
  gpointer *alive = cv_gui_test_watch (window);

  gtk_window_destroy (window);
  cv_gui_test_wait_destroyed (alive, what);
}

static CvMachine *
add_machine (CvApplication *app, const char *name, const char *host, guint16 port)
{
  g_autoptr (CvMachine) machine = cv_machine_new ();
  g_autoptr (CvMachineService) vnc = cv_machine_service_new (CV_SERVICE_PRESET_VNC);
  g_autoptr (CvMachineService) ssh = cv_machine_service_new (CV_SERVICE_PRESET_SSH);

  cv_machine_set_name (machine, name);
  cv_machine_set_gateway (machine, host, port);
  cv_machine_set_session (machine, SESSION);
  cv_machine_add_service (machine, vnc);
  cv_machine_add_service (machine, ssh);
  cv_machine_store_add (cv_application_get_store (app), machine);
  return machine;
}

static void
expand_services (GtkWidget *widget)
{
  if (ADW_IS_EXPANDER_ROW (widget))
    adw_expander_row_set_expanded (ADW_EXPANDER_ROW (widget), TRUE);
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    expand_services (child);
}

static gboolean
is_connected (gpointer data)
{
  return cv_machine_connection_get_state (data) == CV_CONNECTION_STATE_CONNECTED;
}

/* The main window, empty and with machines; a machine's page, the editor, the trust
 * question, and the windows of the menu. */
static void
test_screens (void)
{
  g_autoptr (CvApplication) app = cv_gui_test_application_new ();
  CvMachineConnection *connection;
  CvMachine *machine;
  CvMachine *build;
  GtkWindow *window;
  GtkWindow *other;

  g_application_activate (G_APPLICATION (app));
  window = gtk_application_get_active_window (GTK_APPLICATION (app));
  g_object_ref (window);
  gtk_window_set_default_size (window, 720, 640);
  check_screen (GTK_WIDGET (window), "main window, no machines");

  machine = add_machine (app, "Front desk PC", "relay.acme.example", 8443);
  build = add_machine (app, "Build server", "2001:db8::1", 8443);
  check_screen (GTK_WIDGET (window), "main window, two machines");

  /* The search bar, open. */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.search", NULL);
  check_screen (GTK_WIDGET (window), "main window, searching");

  cv_window_show_machine (CV_WINDOW (window), cv_machine_get_id (machine));
  check_screen (GTK_WIDGET (window), "machine page, not connected");

  /* The trust question, with the gateway's address as the machine has it. */
  connection = cv_application_get_connection (app, cv_machine_get_id (machine));
  cv_window_ask_trust (CV_WINDOW (window), connection, FINGERPRINT);
  other = cv_gui_test_wait_dialog ("the trust question");
  g_assert_nonnull (strstr (adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (other)),
                            "The gateway at relay.acme.example:8443 presents this key:"));
  check_screen (GTK_WIDGET (other), "trust question");
  cv_gui_test_respond (other, "cancel");

  /* An IPv6 gateway, in brackets as it is typed. */
  cv_window_ask_trust (CV_WINDOW (window),
                       cv_application_get_connection (app, cv_machine_get_id (build)), FINGERPRINT);
  other = cv_gui_test_wait_dialog ("the trust question for an IPv6 gateway");
  g_assert_nonnull (strstr (adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (other)),
                            "The gateway at [2001:db8::1]:8443 presents this key:"));
  cv_gui_test_respond (other, "cancel");

  /* The editor: a new machine, then this one with its services open. */
  other = cv_machine_editor_new (window, app, NULL);
  gtk_window_present (other);
  check_screen (GTK_WIDGET (other), "editor, new machine");
  close_window (other, "the new machine's editor to go");
  cv_machine_set_fingerprint (machine, FINGERPRINT);
  other = cv_machine_editor_new (window, app, machine);
  gtk_window_present (other);
  expand_services (GTK_WIDGET (other));
  check_screen (GTK_WIDGET (other), "editor, a machine with its services expanded");
  close_window (other, "the machine's editor to go");

  other = open_from_app (app, "preferences", CV_TYPE_PREFERENCES_WINDOW, "the Preferences window");
  check_screen (GTK_WIDGET (other), "preferences");
  close_window (other, "the Preferences window to go");

  gtk_widget_activate_action (GTK_WIDGET (window), "win.connect-code", NULL);
  cv_gui_wait_until (toplevel_shown, GSIZE_TO_POINTER (CV_TYPE_CODE_DIALOG),
                     "the Connect with a Code dialog");
  other = cv_gui_find_toplevel (CV_TYPE_CODE_DIALOG);
  check_screen (GTK_WIDGET (other), "connect with a code");
  close_window (other, "the Connect with a Code dialog to go");

  /* Share this computer: the choice of services, then the helper's request (a session
   * made but not started: the dialog only needs its words). */
  cv_window_show_share (CV_WINDOW (window));
  check_screen (GTK_WIDGET (window), "share this computer");
  {
    CvShareGateway gateway = { (char *) "relay.acme.example:8443", (char *) FINGERPRINT,
                               (char *) "from your preferences" };
    g_autoptr (GListStore) services = cv_share_service_list_presets ();
    g_autoptr (CvShareSession) session = NULL;
    g_autofree char *state_dir = g_build_filename (g_get_tmp_dir (), "cv-a11y-share", NULL);

    session = cv_share_session_new (&gateway, G_LIST_MODEL (services), state_dir);
    other = cv_consent_dialog_new (window, session, "Alex Moreau", "203.0.113.5", "your screen",
                                   "482 913");
    gtk_window_present (other);
    check_screen (GTK_WIDGET (other), "consent");
    cv_gui_test_respond (other, "deny");
  }

  other = open_from_app (app, "about", ADW_TYPE_ABOUT_WINDOW, "the About window");
  check_screen (GTK_WIDGET (other), "about");
  close_window (other, "the About window to go");

  gtk_window_destroy (window);
  g_assert_finalize_object (window);
}

/* The gateway on this computer, running, with a machine and the agents it serves. */
static void
test_gateway_window (void)
{
  g_autoptr (CvApplication) app = cv_gui_test_application_new ();
  g_autoptr (GError) error = NULL;
  CvEmbeddedGateway *gateway = cv_application_get_gateway (app);
  GtkWindow *window;

  cv_embedded_gateway_set_listen_host (gateway, "127.0.0.1");
  cv_embedded_gateway_set_listen_port (gateway, 0);
  window = cv_gateway_window_new (NULL, app);
  gtk_window_present (window);
  check_screen (GTK_WIDGET (window), "gateway window, stopped");

  g_assert_true (cv_embedded_gateway_start (gateway, &error));
  g_assert_no_error (error);
  g_assert_nonnull (cv_embedded_gateway_add_session (gateway, SESSION, &error));
  g_assert_no_error (error);
  expand_services (GTK_WIDGET (window));
  check_screen (GTK_WIDGET (window), "gateway window, running, with a machine");

  close_window (window, "the gateway window to go");
  cv_embedded_gateway_stop (gateway);
}

/* A machine connected through a real gateway of the engine: its page with live services. */
static void
test_connected_page (void)
{
  g_autoptr (CvApplication) app = cv_gui_test_application_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (CvIdentity) identity = NULL;
  g_autoptr (CvMachine) machine = cv_machine_new ();
  g_autoptr (CvMachineService) service = cv_machine_service_new (CV_SERVICE_PRESET_VNC);
  g_autofree char *dir = g_build_filename (g_get_user_cache_dir (), "net", NULL);
  g_autofree char *share_hash = cv_password_hash (SHARE_PASSWORD, NULL);
  g_autofree char *connect_hash = cv_password_hash (CONNECT_PASSWORD, NULL);
  CvMachineConnection *connection;
  GSocketService *target;
  CvShareAgent *share;
  CvGateway *gateway;
  GtkWindow *window;
  guint16 target_port;
  guint16 port;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  target = cv_app_test_checksum_service_new (&target_port);
  gateway = cv_app_test_gateway_new (dir, "gateway", 0, SESSION, share_hash, connect_hash,
                                     &identity);
  port = cv_app_test_gateway_get_port (gateway);
  share = cv_app_test_share_agent_new (dir, cv_identity_get_fingerprint (identity), port, SESSION,
                                       SHARE_PASSWORD, target_port);
  cv_share_agent_start (share);

  cv_machine_set_name (machine, "Front desk PC");
  cv_machine_set_gateway (machine, "127.0.0.1", port);
  cv_machine_set_session (machine, SESSION);
  cv_machine_set_fingerprint (machine, cv_identity_get_fingerprint (identity));
  cv_machine_service_set_target_host (service, "127.0.0.1");
  cv_machine_service_set_target_port (service, target_port);
  cv_machine_service_set_launcher (service, CV_LAUNCHER_NONE);
  cv_machine_add_service (machine, service);
  cv_machine_store_add (cv_application_get_store (app), machine);
  cv_secret_store_remember_for_run (cv_application_get_secrets (app), cv_machine_get_id (machine),
                                    CONNECT_PASSWORD);

  g_application_activate (G_APPLICATION (app));
  window = gtk_application_get_active_window (GTK_APPLICATION (app));
  g_object_ref (window);
  gtk_window_set_default_size (window, 720, 640);
  connection = cv_application_get_connection (app, cv_machine_get_id (machine));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.connect-machine", "s",
                                             cv_machine_get_id (machine)));
  cv_gui_wait_until (is_connected, connection, "the machine to connect");
  check_screen (GTK_WIDGET (window), "main window, a machine connected");
  cv_window_show_machine (CV_WINDOW (window), cv_machine_get_id (machine));
  check_screen (GTK_WIDGET (window), "machine page, connected");

  cv_machine_connection_disconnect (connection);
  gtk_window_destroy (window);
  g_assert_finalize_object (window);
  g_clear_object (&app);
  cv_share_agent_stop (share);
  g_object_unref (share);
  cv_app_test_gateway_free (gateway);
  cv_app_test_checksum_service_free (target);
}

/* The Keyboard Shortcuts window: named and reachable like the others, and each shortcut it
 * lists is bound to what it says. */
static void
test_shortcuts (void)
{
  /* What each listed accelerator does: an action with it as its accel (the application's)
   * or a shortcut of the main window's class; Return and Space are the machine row's own
   * keys (test-connect-window presses Enter). */
  static const char *const bound[][2] = {
    { "<Control>n", "win.add-machine" },      { "<Control>f", "win.search" },
    { "<Control>o", "app.import" },           { "<Control>comma", "app.preferences" },
    { "<Control>question", "app.shortcuts" }, { "<Control>q", "app.quit" },
  };
  static const char *const row_keys[] = { "Return", "space", NULL };
  g_autoptr (CvApplication) app = cv_gui_test_application_new ();
  GtkWindow *window;
  GtkWindow *shortcuts;
  GtkWidget *leaflet;
  /* Distinct accelerators: the window keeps a second copy of each for its search. */
  g_autoptr (GHashTable) listed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GPtrArray *stack = g_ptr_array_new ();

  g_application_activate (G_APPLICATION (app));
  window = gtk_application_get_active_window (GTK_APPLICATION (app));
  g_object_ref (window);
  shortcuts = open_from_app (app, "shortcuts", GTK_TYPE_SHORTCUTS_WINDOW,
                             "the Keyboard Shortcuts window");
  check_screen (GTK_WIDGET (shortcuts), "keyboard shortcuts");

  g_ptr_array_add (stack, shortcuts);
  while (stack->len > 0)
    {
      GtkWidget *widget = g_ptr_array_steal_index (stack, stack->len - 1);
      g_autofree char *accelerator = NULL;
      g_autofree char *title = NULL;
      gboolean found = FALSE;

      for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
           child = gtk_widget_get_next_sibling (child))
        g_ptr_array_add (stack, child);
      if (!GTK_IS_SHORTCUTS_SHORTCUT (widget))
        continue;
      g_object_get (widget, "accelerator", &accelerator, "title", &title, NULL);
      g_hash_table_add (listed, g_strdup (accelerator));
      if (g_strv_contains (row_keys, accelerator))
        continue;
      /* Alt+Left: the leaflet's own way back, while it may go back. */
      if (g_str_equal (accelerator, "<Alt>Left"))
        {
          leaflet = cv_gui_test_child (window, CV_TYPE_WINDOW, "leaflet");
          g_assert_true (adw_leaflet_get_can_navigate_back (ADW_LEAFLET (leaflet)));
          continue;
        }
      for (gsize i = 0; i < G_N_ELEMENTS (bound); i++)
        {
          g_auto (GStrv) accels = NULL;

          if (!g_str_equal (bound[i][0], accelerator))
            continue;
          found = TRUE;
          accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app), bound[i][1]);
          if (!g_strv_contains ((const char *const *) accels, accelerator)
              && !cv_gui_test_has_shortcut (window, accelerator, bound[i][1]))
            g_error ("“%s” lists %s, but %s does not have it", title, accelerator, bound[i][1]);
        }
      if (!found)
        g_error ("“%s” lists %s, which this test does not know: add it to bound[]", title,
                 accelerator);
    }
  g_ptr_array_unref (stack);
  g_assert_cmpuint (g_hash_table_size (listed), ==, G_N_ELEMENTS (bound) + 3);

  close_window (shortcuts, "the Keyboard Shortcuts window to go");
  gtk_window_destroy (window);
  g_assert_finalize_object (window);
}

int
main (int argc, char *argv[])
{
  /* GTK's test accessibility backend: it keeps what the widgets say of themselves, for
   * gtk_test_accessible_*, and needs no session bus. */
  g_setenv ("GTK_A11Y", "test", TRUE);
  cv_gui_test_init (&argc, &argv);

  g_test_add_func ("/gui/accessibility/screens", test_screens);
  g_test_add_func ("/gui/accessibility/gateway-window", test_gateway_window);
  g_test_add_func ("/gui/accessibility/connected-page", test_connected_page);
  g_test_add_func ("/gui/accessibility/shortcuts", test_shortcuts);

  return g_test_run ();
}
