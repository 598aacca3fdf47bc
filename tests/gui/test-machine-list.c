/* test-machine-list.c: the machines in the main window — the empty state, rows sorted by
 * name, search and "none found", an unreadable machines file shown and left alone, a
 * machine's page, Delete with its question, the shortcuts and About windows.  Each case in
 * a home of its own. */
#include "cv-version.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>

#include "cv-application.h"
#include "cv-gui-test-app.h"
#include "cv-gui-test-util.h"
#include "cv-gateway-window.h"
#include "cv-machine-editor.h"
#include "cv-machine-page.h"
#include "cv-machine-row.h"
#include "cv-preferences-window.h"
#include "cv-window.h"

#define FINGERPRINT "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

typedef struct {
  CvApplication *app;
  CvWindow *window;
} Fixture;

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  static guint n_apps;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = g_strdup_printf ("%s.MachineListTest%u", CV_APPLICATION_ID, ++n_apps);

  /* As the desktop starts it: files opened with it are imported (HANDLES_OPEN); non-unique
   * and an id of its own, so that neither a running Culvert nor the last case's app (on a
   * real session bus) takes the test's place. */
  /* clang-format off */
  fixture->app = g_object_new (CV_TYPE_APPLICATION,
                               "application-id", id,
                               "flags", G_APPLICATION_NON_UNIQUE | G_APPLICATION_HANDLES_OPEN,
                               NULL);
  /* clang-format on */
  g_application_register (G_APPLICATION (fixture->app), NULL, &error);
  g_assert_no_error (error);
  g_application_activate (G_APPLICATION (fixture->app));
  fixture->window = CV_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (fixture->app)));
  g_assert_nonnull (fixture->window);
  g_object_ref (fixture->window);
  cv_gui_wait_for_draw (GTK_WIDGET (fixture->window));
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  gtk_window_destroy (GTK_WINDOW (fixture->window));
  g_assert_finalize_object (fixture->window);
  g_clear_object (&fixture->app);
}

static CvMachine *
make_machine (const char *name, const char *host, const char *session)
{
  CvMachine *machine = cv_machine_new ();
  g_autoptr (CvMachineService) vnc = cv_machine_service_new (CV_SERVICE_PRESET_VNC);

  cv_machine_set_name (machine, name);
  cv_machine_set_gateway (machine, host, CV_MACHINE_DEFAULT_GATEWAY_PORT);
  cv_machine_set_session (machine, session);
  cv_machine_service_set_launcher (vnc, CV_LAUNCHER_NONE);
  cv_machine_add_service (machine, vnc);
  return machine;
}

static CvMachine *
add_machine (Fixture *fixture, const char *name, const char *host, const char *session)
{
  g_autoptr (CvMachine) machine = make_machine (name, host, session);

  cv_machine_store_add (cv_application_get_store (fixture->app), machine);
  return machine;
}

static GtkStack *
list_stack (Fixture *fixture)
{
  return cv_gui_test_child (fixture->window, CV_TYPE_WINDOW, "list_stack");
}

static const char *
visible_list_page (Fixture *fixture)
{
  return gtk_stack_get_visible_child_name (list_stack (fixture));
}

/* The rows' titles top to bottom, joined by "|". */
static char *
row_titles (Fixture *fixture)
{
  GtkListBox *list = cv_gui_test_child (fixture->window, CV_TYPE_WINDOW, "list_box");
  GString *titles = g_string_new (NULL);
  GtkListBoxRow *row;

  for (int i = 0; (row = gtk_list_box_get_row_at_index (list, i)) != NULL; i++)
    {
      if (i > 0)
        g_string_append_c (titles, '|');
      g_string_append (titles, adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)));
    }
  return g_string_free (titles, FALSE);
}

typedef struct {
  Fixture *fixture;
  const char *expected;
} TitlesWait;

static gboolean
titles_are (gpointer data)
{
  TitlesWait *wait = data;
  g_autofree char *titles = row_titles (wait->fixture);

  return g_str_equal (titles, wait->expected);
}

static void
wait_titles (Fixture *fixture, const char *expected)
{
  TitlesWait wait = { fixture, expected };
  g_autofree char *what = g_strdup_printf ("the rows %s", expected);

  cv_gui_wait_until (titles_are, &wait, what);
}

static gboolean
keyring_checked (gpointer data)
{
  CvApplication *app = data;

  return cv_application_get_keyring_error (app) != NULL
         || cv_secret_store_get_available (cv_application_get_secrets (app));
}

static void
test_empty (Fixture *fixture, gconstpointer data)
{
  g_autofree char *shot = NULL;

  g_assert_cmpstr (visible_list_page (fixture), ==, "empty");
  g_assert_nonnull (
    cv_gui_find_widget (GTK_WIDGET (fixture->window), ADW_TYPE_STATUS_PAGE, "No Machines Yet"));
  g_assert_nonnull (
    cv_gui_find_widget (GTK_WIDGET (fixture->window), GTK_TYPE_BUTTON, "_Add a Machine"));
  g_assert_nonnull (cv_gui_find_widget (GTK_WIDGET (fixture->window), GTK_TYPE_BUTTON, "_Import…"));

  /* Without a keyring (none runs under the test's display) the window says so, once. */
  cv_gui_wait_until (keyring_checked, fixture->app, "the keyring check at startup");
  if (cv_application_get_keyring_error (fixture->app) != NULL)
    {
      GtkRevealer *bar = cv_gui_test_child (fixture->window, CV_TYPE_WINDOW, "keyring_revealer");

      g_assert_true (gtk_revealer_get_reveal_child (bar));
      g_assert_nonnull (cv_gui_find_widget (GTK_WIDGET (bar), GTK_TYPE_LABEL,
                                            "No keyring is running. Passwords can only be kept "
                                            "for this run."));
    }
  shot = cv_gui_screenshot (GTK_WIDGET (fixture->window), "empty");
}

static void
set_search (Fixture *fixture, const char *text)
{
  GtkEditable *entry = cv_gui_test_child (fixture->window, CV_TYPE_WINDOW, "search_entry");

  gtk_editable_set_text (entry, text);
}

static void
test_sorted_and_search (Fixture *fixture, gconstpointer data)
{
  g_autofree char *shot = NULL;
  g_autofree char *no_results = NULL;
  GtkSearchBar *search_bar = cv_gui_test_child (fixture->window, CV_TYPE_WINDOW, "search_bar");
  CvMachine *front;
  GtkListBox *list;
  GtkListBoxRow *row;
  GtkWidget *button;

  /* Added out of order, shown by name; the "&" is a name, not markup. */
  add_machine (fixture, "Lab VNC", "lab.example.org", "lab");
  front = add_machine (fixture, "Front desk PC", "relay.acme.example", "acme-office");
  add_machine (fixture, "R&D build server", "relay.acme.example", "acme-rnd");
  wait_titles (fixture, "Front desk PC|Lab VNC|R&D build server");
  g_assert_cmpstr (visible_list_page (fixture), ==, "list");

  list = cv_gui_test_child (fixture->window, CV_TYPE_WINDOW, "list_box");
  row = gtk_list_box_get_row_at_index (list, 0);
  g_assert_true (g_str_has_prefix (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)),
                                   "relay.acme.example · acme-office"));
  button = cv_gui_find_widget (GTK_WIDGET (row), GTK_TYPE_BUTTON, "Connect");
  g_assert_nonnull (button);
  g_assert_cmpstr (gtk_widget_get_tooltip_text (button), ==, "Connect to Front desk PC");
  g_assert_true (gtk_list_box_row_get_activatable (row));

  /* "last used" in words while idle. */
  cv_machine_set_last_used (front, g_get_real_time () / G_USEC_PER_SEC);
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)), "last used today"));
  shot = cv_gui_screenshot (GTK_WIDGET (fixture->window), "machine-list");

  /* Ctrl+F's action opens the search; the name and the gateway are searched. */
  gtk_widget_activate_action (GTK_WIDGET (fixture->window), "win.search", NULL);
  g_assert_true (gtk_search_bar_get_search_mode (search_bar));
  set_search (fixture, "FRONT");
  wait_titles (fixture, "Front desk PC");
  set_search (fixture, "relay.acme");
  wait_titles (fixture, "Front desk PC|R&D build server");
  set_search (fixture, "nothing like this");
  wait_titles (fixture, "");
  g_assert_cmpstr (visible_list_page (fixture), ==, "no-results");
  no_results = cv_gui_screenshot (GTK_WIDGET (fixture->window), "no-results");
  set_search (fixture, "");
  wait_titles (fixture, "Front desk PC|Lab VNC|R&D build server");
  g_assert_cmpstr (visible_list_page (fixture), ==, "list");

  /* A rename moves the row. */
  cv_machine_set_name (front, "Reception PC");
  wait_titles (fixture, "Lab VNC|R&D build server|Reception PC");
}

static char *
machines_file (void)
{
  return g_build_filename (g_get_user_config_dir (), "culvert", "machines.json", NULL);
}

static void
test_broken_store (void)
{
  static const char broken[] = "{\"version\": 1, \"machines\": [ {\"name\": \"Front\" ";
  g_autofree char *path = machines_file ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *contents = NULL;
  g_autofree char *shot = NULL;
  g_autoptr (GError) error = NULL;
  Fixture fixture = { 0 };
  AdwStatusPage *page;
  GtkWidget *add_button;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (path, broken, -1, &error);
  g_assert_no_error (error);

  fixture_set_up (&fixture, NULL);
  g_assert_nonnull (cv_application_get_load_error (fixture.app));
  g_assert_cmpstr (visible_list_page (&fixture), ==, "broken-store");
  page = cv_gui_test_child (fixture.window, CV_TYPE_WINDOW, "broken_page");
  g_assert_nonnull (strstr (adw_status_page_get_description (page), path));
  /* Nothing may be added over it: that would save over the file. */
  add_button = cv_gui_test_child (fixture.window, CV_TYPE_WINDOW, "add_button");
  g_assert_false (gtk_widget_get_sensitive (add_button));
  shot = cv_gui_screenshot (GTK_WIDGET (fixture.window), "broken-store");

  /* Trying again on the same file changes nothing. */
  gtk_widget_activate_action (GTK_WIDGET (fixture.window), "win.reload-machines", NULL);
  g_assert_cmpstr (visible_list_page (&fixture), ==, "broken-store");
  fixture_tear_down (&fixture, NULL);

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (contents, ==, broken);
}

static void
test_broken_store_fixed (void)
{
  g_autofree char *path = machines_file ();
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr (GError) error = NULL;
  Fixture fixture = { 0 };
  GtkWidget *add_button;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (path, "not json", -1, &error);
  g_assert_no_error (error);
  fixture_set_up (&fixture, NULL);
  g_assert_cmpstr (visible_list_page (&fixture), ==, "broken-store");

  /* The person moved it away: Try Again reads nothing, which is no machines. */
  g_assert_cmpint (g_unlink (path), ==, 0);
  gtk_widget_activate_action (GTK_WIDGET (fixture.window), "win.reload-machines", NULL);
  g_assert_null (cv_application_get_load_error (fixture.app));
  g_assert_cmpstr (visible_list_page (&fixture), ==, "empty");
  add_button = cv_gui_test_child (fixture.window, CV_TYPE_WINDOW, "add_button");
  g_assert_true (gtk_widget_get_sensitive (add_button));
  add_machine (&fixture, "Front desk PC", "relay.acme.example", "acme-office");
  wait_titles (&fixture, "Front desk PC");
  fixture_tear_down (&fixture, NULL);
}

static const char *
visible_page (Fixture *fixture)
{
  AdwLeaflet *leaflet = cv_gui_test_child (fixture->window, CV_TYPE_WINDOW, "leaflet");

  return adw_leaflet_get_visible_child_name (leaflet);
}

static void
test_machine_page (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CvMachineService) ssh = cv_machine_service_new (CV_SERVICE_PRESET_SSH);
  g_autofree char *shot = NULL;
  CvMachinePage *page;
  CvMachine *machine;
  GtkListBox *services;
  GtkListBox *list;
  AdwActionRow *row;

  machine = make_machine ("Front desk PC", "relay.acme.example", "acme-office");
  cv_machine_service_set_launcher (ssh, CV_LAUNCHER_NONE);
  cv_machine_add_service (machine, ssh);
  cv_machine_store_add (cv_application_get_store (fixture->app), machine);
  g_object_unref (machine);
  wait_titles (fixture, "Front desk PC");

  /* Activating the row (a click, Space) opens its page. */
  list = cv_gui_test_child (fixture->window, CV_TYPE_WINDOW, "list_box");
  g_signal_emit_by_name (gtk_list_box_get_row_at_index (list, 0), "activate");
  g_assert_cmpstr (visible_page (fixture), ==, "machine");

  page = cv_gui_test_child (fixture->window, CV_TYPE_WINDOW, "machine_page");
  g_assert_true (cv_machine_connection_get_machine (cv_machine_page_get_connection (page))
                 == machine);
  services = cv_gui_test_child (page, CV_TYPE_MACHINE_PAGE, "services_list");
  row = ADW_ACTION_ROW (gtk_list_box_get_row_at_index (services, 0));
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==,
                   "Screen sharing (VNC)");
  row = ADW_ACTION_ROW (gtk_list_box_get_row_at_index (services, 1));
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (row)), ==, "SSH");
  g_assert_null (gtk_list_box_get_row_at_index (services, 2));

  row = cv_gui_test_child (page, CV_TYPE_MACHINE_PAGE, "address_row");
  g_assert_cmpstr (adw_action_row_get_subtitle (row), ==, "relay.acme.example:8443");
  row = cv_gui_test_child (page, CV_TYPE_MACHINE_PAGE, "session_row");
  g_assert_cmpstr (adw_action_row_get_subtitle (row), ==, "acme-office");

  /* The trusted key in groups of four, as soon as it is known. */
  cv_machine_set_fingerprint (machine, FINGERPRINT);
  row = cv_gui_test_child (page, CV_TYPE_MACHINE_PAGE, "key_row");
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (row), "0123 4567 89ab cdef"));
  shot = cv_gui_screenshot (GTK_WIDGET (fixture->window), "machine-page");

  /* Back to the list. */
  gtk_widget_activate_action (GTK_WIDGET (fixture->window), "win.show-machines", NULL);
  g_assert_cmpstr (visible_page (fixture), ==, "machines");
}

/* As a click does: the response's button, which answers and closes the dialog. */
static void
click_response (GtkWindow *dialog, const char *label)
{
  GtkWidget *button = cv_gui_find_widget (GTK_WIDGET (dialog), GTK_TYPE_BUTTON, label);

  g_assert_nonnull (button);
  g_signal_emit_by_name (button, "clicked");
}

static gboolean
run_password_gone (gpointer data)
{
  gpointer *args = data;

  return !cv_secret_store_has_run_password (args[0], args[1]);
}

static void
test_delete (Fixture *fixture, gconstpointer data)
{
  CvSecretStore *secrets = cv_application_get_secrets (fixture->app);
  CvMachineStore *store = cv_application_get_store (fixture->app);
  g_autofree char *shot = NULL;
  g_autofree char *id = NULL;
  GtkWindow *dialog;
  gpointer dialog_alive;
  CvMachine *machine;

  machine = add_machine (fixture, "Front desk PC", "relay.acme.example", "acme-office");
  id = g_strdup (cv_machine_get_id (machine));
  cv_secret_store_remember_for_run (secrets, id, "connect secret");
  wait_titles (fixture, "Front desk PC");
  gtk_widget_activate_action (GTK_WIDGET (fixture->window), "win.open-machine", "s", id);

  /* Delete asks first; Cancel keeps everything. */
  gtk_widget_activate_action (GTK_WIDGET (fixture->window), "win.delete-machine", "s", id);
  dialog = cv_gui_test_wait_dialog ("the question before deleting");
  g_assert_cmpstr (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (dialog)), ==,
                   "Delete Front desk PC?");
  g_assert_cmpstr (adw_message_dialog_get_default_response (ADW_MESSAGE_DIALOG (dialog)), ==,
                   "cancel");
  g_assert_cmpint (adw_message_dialog_get_response_appearance (ADW_MESSAGE_DIALOG (dialog),
                                                               "delete"),
                   ==, ADW_RESPONSE_DESTRUCTIVE);
  shot = cv_gui_screenshot (GTK_WIDGET (dialog), "delete-dialog");
  dialog_alive = dialog;
  g_object_add_weak_pointer (G_OBJECT (dialog), &dialog_alive);
  click_response (dialog, "_Cancel");
  cv_gui_wait_finalized (&dialog_alive, "the question to go away");
  g_assert_nonnull (cv_machine_store_find (store, id));

  /* Delete deletes: the machine, its page, its password. */
  gtk_widget_activate_action (GTK_WIDGET (fixture->window), "win.delete-machine", "s", id);
  dialog = cv_gui_test_wait_dialog ("the question before deleting, again");
  click_response (dialog, "_Delete");
  g_assert_null (cv_machine_store_find (store, id));
  g_assert_null (cv_application_get_connection (fixture->app, id));
  g_assert_cmpstr (visible_list_page (fixture), ==, "empty");
  g_assert_cmpstr (visible_page (fixture), ==, "machines");
  {
    gpointer args[] = { secrets, id };

    cv_gui_wait_until (run_password_gone, args, "the password to be forgotten");
  }
}

static gboolean
editor_shown (gpointer data)
{
  return cv_gui_find_toplevel (CV_TYPE_MACHINE_EDITOR) != NULL;
}

static void
close_and_wait (GtkWindow *window, const char *what)
{
  gpointer alive = window;

  g_object_add_weak_pointer (G_OBJECT (window), &alive);
  gtk_window_destroy (window);
  cv_gui_wait_finalized (&alive, what);
}

static void
test_import (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CvMachine) machine = make_machine ("Front desk PC", "relay.acme.example",
                                                "acme-office");
  g_autoptr (GFile) file = g_file_new_build_filename (g_get_user_cache_dir (),
                                                      "Front desk PC.culvert", NULL);
  g_autoptr (GFile) broken = g_file_new_build_filename (g_get_user_cache_dir (), "broken.culvert",
                                                        NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvMachine) unreadable = NULL;
  g_autofree char *shot = NULL;
  CvMachineStore *store = cv_application_get_store (fixture->app);
  GtkWindow *editor;

  g_assert_cmpint (g_mkdir_with_parents (g_get_user_cache_dir (), 0700), ==, 0);
  g_assert_true (cv_machine_store_export (machine, file, &error));
  g_assert_no_error (error);

  /* Opened from the file manager: the editor, filled from the file, for the password;
   * nothing is saved before Save. */
  g_application_open (G_APPLICATION (fixture->app), &file, 1, "");
  cv_gui_wait_until (editor_shown, NULL, "the editor of the imported machine");
  editor = cv_gui_find_toplevel (CV_TYPE_MACHINE_EDITOR);
  g_assert_true (gtk_window_get_transient_for (editor) == GTK_WINDOW (fixture->window));
  g_assert_nonnull (cv_gui_find_widget (GTK_WIDGET (editor), ADW_TYPE_PREFERENCES_ROW, NULL));
  g_assert_cmpuint (g_list_model_get_n_items (cv_machine_store_get_machines (store)), ==, 0);
  shot = cv_gui_screenshot (GTK_WIDGET (editor), "import");
  /* Nothing was dropped from it: nothing to say. */
  g_assert_null (cv_gui_find_toplevel (ADW_TYPE_MESSAGE_DIALOG));
  close_and_wait (editor, "the editor to close");

  /* A file with a command of its own: the editor, and over it the sentence that says the
   * command was not imported; the service opens nothing. */
  {
    g_autoptr (CvMachineService) service = g_list_model_get_item (cv_machine_get_services (machine),
                                                                  0);
    const char *command = "sh -c 'echo {port} > /tmp/owned'";
    GtkWindow *dialog;

    cv_machine_service_set_launcher (service, CV_LAUNCHER_CUSTOM);
    cv_machine_service_set_custom_command (service, command);
    g_assert_true (cv_machine_store_export (machine, file, &error));
    g_assert_no_error (error);
    cv_application_import_file (fixture->app, file);
    cv_gui_wait_until (editor_shown, NULL, "the editor of the machine with a command");
    editor = cv_gui_find_toplevel (CV_TYPE_MACHINE_EDITOR);
    dialog = cv_gui_find_toplevel (ADW_TYPE_MESSAGE_DIALOG);
    g_assert_nonnull (dialog);
    g_assert_true (gtk_window_get_transient_for (dialog) == editor);
    g_assert_cmpstr (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (dialog)), ==,
                     "Commands Not Imported");
    g_assert_nonnull (strstr (adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog)), command));
    g_assert_cmpuint (g_list_model_get_n_items (cv_machine_store_get_machines (store)), ==, 0);
    close_and_wait (dialog, "the notice to close");
    close_and_wait (editor, "the editor to close");
  }

  /* A file that is no machine: said in the window, in the store's words. */
  g_assert_true (g_file_replace_contents (broken, "{\"culvert_provisioning\": 1", 27, NULL, FALSE,
                                          G_FILE_CREATE_NONE, NULL, NULL, &error));
  g_assert_no_error (error);
  unreadable = cv_machine_store_import (broken, NULL, &error);
  g_assert_null (unreadable);
  g_assert_nonnull (error);
  cv_application_import_file (fixture->app, broken);
  g_assert_nonnull (
    cv_gui_find_widget (GTK_WIDGET (fixture->window), GTK_TYPE_LABEL, error->message));
  g_assert_null (cv_gui_find_toplevel (CV_TYPE_MACHINE_EDITOR));
}

static gboolean
shortcuts_shown (gpointer data)
{
  return cv_gui_find_toplevel (GTK_TYPE_SHORTCUTS_WINDOW) != NULL;
}

static gboolean
about_shown (gpointer data)
{
  return cv_gui_find_toplevel (ADW_TYPE_ABOUT_WINDOW) != NULL;
}

static void
test_shortcuts_and_about (Fixture *fixture, gconstpointer data)
{
  g_autofree char *shortcuts_shot = NULL;
  g_autofree char *about_shot = NULL;
  GtkWindow *shortcuts;
  GtkWindow *about;

  g_action_group_activate_action (G_ACTION_GROUP (fixture->app), "shortcuts", NULL);
  cv_gui_wait_until (shortcuts_shown, NULL, "the Keyboard Shortcuts window");
  shortcuts = cv_gui_find_toplevel (GTK_TYPE_SHORTCUTS_WINDOW);
  g_assert_true (gtk_window_get_transient_for (shortcuts) == GTK_WINDOW (fixture->window));
  g_assert_nonnull (cv_gui_find_widget (GTK_WIDGET (shortcuts), GTK_TYPE_SHORTCUTS_SHORTCUT, NULL));
  shortcuts_shot = cv_gui_screenshot (GTK_WIDGET (shortcuts), "shortcuts");
  close_and_wait (shortcuts, "the Keyboard Shortcuts window to go away");

  g_action_group_activate_action (G_ACTION_GROUP (fixture->app), "about", NULL);
  cv_gui_wait_until (about_shown, NULL, "the About window");
  about = cv_gui_find_toplevel (ADW_TYPE_ABOUT_WINDOW);
  g_assert_cmpstr (adw_about_window_get_application_name (ADW_ABOUT_WINDOW (about)), ==, "Culvert");
  about_shot = cv_gui_screenshot (GTK_WIDGET (about), "about");
  close_and_wait (about, "the About window to go away");
}

typedef struct {
  GType type;
} ToplevelWait;

static gboolean
toplevel_shown (gpointer data)
{
  ToplevelWait *wait = data;

  return cv_gui_find_toplevel (wait->type) != NULL;
}

/* The main menu's other entries: each opens its window over the main one. */
static void
test_menu_windows (Fixture *fixture, gconstpointer data)
{
  static const struct {
    const char *action;
    const char *what;
  } entries[] = {
    { "preferences", "the Preferences window" },
    { "gateway", "the window of the gateway on this computer" },
  };
  GType types[] = { CV_TYPE_PREFERENCES_WINDOW, CV_TYPE_GATEWAY_WINDOW };

  for (gsize i = 0; i < G_N_ELEMENTS (entries); i++)
    {
      ToplevelWait wait = { types[i] };
      GtkWindow *window;

      g_action_group_activate_action (G_ACTION_GROUP (fixture->app), entries[i].action, NULL);
      cv_gui_wait_until (toplevel_shown, &wait, entries[i].what);
      window = cv_gui_find_toplevel (types[i]);
      g_assert_true (gtk_window_get_transient_for (window) == GTK_WINDOW (fixture->window));
      close_and_wait (window, entries[i].what);
    }
  /* The gateway is the application's: loaded once, not started by opening its window. */
  g_assert_false (cv_embedded_gateway_get_running (cv_application_get_gateway (fixture->app)));
}

int
main (int argc, char *argv[])
{
  cv_gui_test_init (&argc, &argv);

  g_test_add ("/gui/machine-list/empty", Fixture, NULL, fixture_set_up, test_empty,
              fixture_tear_down);
  g_test_add ("/gui/machine-list/sorted-and-search", Fixture, NULL, fixture_set_up,
              test_sorted_and_search, fixture_tear_down);
  g_test_add_func ("/gui/machine-list/broken-store", test_broken_store);
  g_test_add_func ("/gui/machine-list/broken-store-fixed", test_broken_store_fixed);
  g_test_add ("/gui/machine-list/machine-page", Fixture, NULL, fixture_set_up, test_machine_page,
              fixture_tear_down);
  g_test_add ("/gui/machine-list/delete", Fixture, NULL, fixture_set_up, test_delete,
              fixture_tear_down);
  g_test_add ("/gui/machine-list/import", Fixture, NULL, fixture_set_up, test_import,
              fixture_tear_down);
  g_test_add ("/gui/machine-list/shortcuts-and-about", Fixture, NULL, fixture_set_up,
              test_shortcuts_and_about, fixture_tear_down);

  g_test_add ("/gui/machine-list/menu-windows", Fixture, NULL, fixture_set_up, test_menu_windows,
              fixture_tear_down);

  return g_test_run ();
}
