/* test-machine-editor-save.c: where the editor's Save puts things — the password in a real
 * keyring (gnome-keyring-daemon on a private bus, run as machine-editor-keyring), or with no
 * keyring, after asking, for this run only and never in a file; a store that cannot write
 * shows why in the window and loses nothing. */
#include "cv-version.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <libsecret/secret.h>
#include <string.h>

#include "cv-gui-test-app.h"
#include "cv-gui-test-util.h"
#include "cv-machine-editor.h"

static gpointer
editor_child (GtkWindow *editor, const char *name)
{
  return cv_gui_test_child (editor, CV_TYPE_MACHINE_EDITOR, name);
}

static void
type_text (gpointer editable, const char *text)
{
  gtk_editable_set_text (GTK_EDITABLE (editable), text);
}

static gboolean
save_enabled (GtkWindow *editor)
{
  return gtk_widget_is_sensitive (GTK_WIDGET (editor_child (editor, "save_button")));
}

static gboolean
save_offered (gpointer editor)
{
  return save_enabled (editor);
}

/* A machine in the app's store, as an earlier run would have saved it. */
static CvMachine *
stored_machine (CvApplication *app, const char *name)
{
  g_autoptr (CvMachine) machine = cv_machine_new ();
  g_autoptr (CvMachineService) vnc = cv_machine_service_new (CV_SERVICE_PRESET_VNC);
  g_autoptr (GError) error = NULL;

  cv_machine_set_name (machine, name);
  cv_machine_set_gateway (machine, "relay.example.com", 8443);
  cv_machine_set_session (machine, "acme-office");
  cv_machine_add_service (machine, vnc);
  cv_machine_store_add (cv_application_get_store (app), machine);
  g_assert_true (cv_machine_store_save (cv_application_get_store (app), &error));
  g_assert_no_error (error);
  return machine;
}

static GtkWindow *
open_editor (CvApplication *app, CvMachine *machine, gpointer **alive)
{
  GtkWindow *editor = cv_machine_editor_new (NULL, app, machine);

  *alive = cv_gui_test_watch (editor);
  gtk_window_present (editor);
  cv_gui_wait_for_draw (GTK_WIDGET (editor));
  return editor;
}

typedef struct {
  char *password;
  GError *error;
  gboolean done;
} Lookup;

static void
looked_up (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Lookup *lookup = user_data;

  lookup->password = cv_secret_store_lookup_finish (CV_SECRET_STORE (source), result,
                                                    &lookup->error);
  lookup->done = TRUE;
}

static gboolean
lookup_done (gpointer data)
{
  return ((Lookup *) data)->done;
}

static char *
lookup_password (CvSecretStore *secrets, const char *id)
{
  Lookup lookup = { 0 };

  cv_secret_store_lookup_async (secrets, id, NULL, looked_up, &lookup);
  cv_gui_wait_until (lookup_done, &lookup, "the password lookup");
  g_assert_no_error (lookup.error);
  return lookup.password;
}

static void
test_save_no_keyring (void)
{
  g_autoptr (CvApplication) app = NULL;
  g_autofree char *shot = NULL;
  g_autofree char *password = NULL;
  g_autofree char *contents = NULL;
  CvMachine *machine;
  GtkWindow *editor;
  GtkWindow *dialog;
  gpointer *alive;

  if (g_getenv ("CULVERT_TEST_KEYRING") != NULL)
    {
      g_test_skip ("a keyring is running: the no-keyring path is tested without one");
      return;
    }
  app = cv_gui_test_application_new ();
  machine = stored_machine (app, "Front desk PC");
  editor = open_editor (app, machine, &alive);

  /* A password, with no keyring to keep it: the person is asked. */
  type_text (editor_child (editor, "password_row"), "pcfd-iotk-47pm");
  type_text (editor_child (editor, "name_row"), "Front desk PC (new)");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.save", NULL));
  dialog = cv_gui_test_wait_dialog ("the No Keyring question");
  g_assert_true (gtk_window_get_transient_for (dialog) == editor);
  g_assert_cmpstr (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (dialog)), ==, "No Keyring");
  g_assert_true (adw_message_dialog_has_response (ADW_MESSAGE_DIALOG (dialog), "run"));
  g_assert_false (save_enabled (editor));
  shot = cv_gui_screenshot (GTK_WIDGET (dialog), "editor-no-keyring");

  /* Cancel: nothing saved, the editor still holds everything. */
  cv_gui_test_respond (dialog, "cancel");
  g_assert_true (save_enabled (editor));
  g_assert_cmpstr (gtk_editable_get_text (editor_child (editor, "password_row")), ==,
                   "pcfd-iotk-47pm");
  g_assert_cmpstr (cv_machine_get_name (machine), ==, "Front desk PC");
  g_assert_false (cv_secret_store_has_run_password (cv_application_get_secrets (app),
                                                    cv_machine_get_id (machine)));

  /* Again, for this run only. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.save", NULL));
  dialog = cv_gui_test_wait_dialog ("the No Keyring question, again");
  cv_gui_test_respond (dialog, "run");
  cv_gui_test_wait_destroyed (alive, "the editor to close after Remember for This Run Only");

  g_assert_cmpstr (cv_machine_get_name (machine), ==, "Front desk PC (new)");
  g_assert_true (cv_secret_store_has_run_password (cv_application_get_secrets (app),
                                                   cv_machine_get_id (machine)));
  password = lookup_password (cv_application_get_secrets (app), cv_machine_get_id (machine));
  g_assert_cmpstr (password, ==, "pcfd-iotk-47pm");
  /* Never in the machines file. */
  g_assert_true (g_file_get_contents (cv_machine_store_get_path (cv_application_get_store (app)),
                                      &contents, NULL, NULL));
  g_assert_null (strstr (contents, "pcfd-iotk-47pm"));
  g_assert_nonnull (strstr (contents, "Front desk PC (new)"));
}

static void
test_save_store_error (void)
{
  g_autoptr (CvApplication) app = cv_gui_test_application_new ();
  CvMachineStore *store = cv_application_get_store (app);
  const char *path = cv_machine_store_get_path (store);
  g_autofree char *moved = g_strconcat (path, ".moved", NULL);
  g_autoptr (CvMachineStore) again = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *shot = NULL;
  gboolean found = FALSE;
  guint n_before;
  GtkWindow *editor;
  GListModel *machines;
  gpointer *alive;

  stored_machine (app, "Front desk PC");
  n_before = g_list_model_get_n_items (cv_machine_store_get_machines (store));
  editor = open_editor (app, NULL, &alive);
  type_text (editor_child (editor, "name_row"), "Build server");
  type_text (editor_child (editor, "gateway_row"), "10.1.2.3");
  type_text (editor_child (editor, "session_row"), "build");
  g_assert_true (
    gtk_widget_activate_action (GTK_WIDGET (editor), "editor.add-service", "s", "ssh"));
  g_assert_true (save_enabled (editor));

  /* A directory where the file should be: no write can succeed, not even as root. */
  g_assert_cmpint (g_rename (path, moved), ==, 0);
  g_assert_cmpint (g_mkdir (path, 0700), ==, 0);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.save", NULL));
  g_assert_true (gtk_revealer_get_reveal_child (editor_child (editor, "save_error_revealer")));
  g_test_message ("save error: %s", gtk_label_get_text (editor_child (editor, "save_error_label")));
  g_assert_cmpstr (gtk_label_get_text (editor_child (editor, "save_error_label")), !=, "");
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (editor)));
  /* Everything typed is still there, and Save can be tried again. */
  g_assert_cmpstr (gtk_editable_get_text (editor_child (editor, "name_row")), ==, "Build server");
  g_assert_true (save_enabled (editor));
  shot = cv_gui_screenshot (GTK_WIDGET (editor), "editor-save-error");

  /* Fixed: Save again, and it is written. */
  g_assert_cmpint (g_rmdir (path), ==, 0);
  g_assert_cmpint (g_rename (moved, path), ==, 0);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.save", NULL));
  cv_gui_test_wait_destroyed (alive, "the editor to close after a second Save");

  again = cv_machine_store_new (path);
  g_assert_true (cv_machine_store_load (again, &error));
  g_assert_no_error (error);
  machines = cv_machine_store_get_machines (again);
  g_assert_cmpuint (g_list_model_get_n_items (machines), ==, n_before + 1);
  for (guint i = 0; i < g_list_model_get_n_items (machines); i++)
    {
      g_autoptr (CvMachine) machine = g_list_model_get_item (machines, i);

      if (g_strcmp0 (cv_machine_get_name (machine), "Build server") != 0)
        continue;
      found = TRUE;
      g_assert_cmpstr (cv_machine_get_gateway_host (machine), ==, "10.1.2.3");
      g_assert_cmpuint (cv_machine_get_gateway_port (machine), ==, CV_MACHINE_DEFAULT_GATEWAY_PORT);
    }
  g_assert_true (found);
}

/* Once the password is kept (in the keyring, or for this run), the field is emptied, even
 * when the machine itself then fails to save: the typed secret does not stay in the
 * window, and Save again keeps the one stored. */
static void
test_password_cleared (void)
{
  g_autoptr (CvApplication) app = cv_gui_test_application_new ();
  CvMachineStore *store = cv_application_get_store (app);
  const char *path = cv_machine_store_get_path (store);
  g_autofree char *moved = g_strconcat (path, ".moved", NULL);
  g_autofree char *password = NULL;
  gboolean keyring = g_getenv ("CULVERT_TEST_KEYRING") != NULL;
  CvMachine *machine;
  GtkWindow *editor;
  gpointer *alive;

  machine = stored_machine (app, "Reception");
  editor = open_editor (app, machine, &alive);
  type_text (editor_child (editor, "password_row"), "cleared-after-save");
  /* The store cannot write: the machine's own save fails after the password's. */
  g_assert_cmpint (g_rename (path, moved), ==, 0);
  g_assert_cmpint (g_mkdir (path, 0700), ==, 0);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.save", NULL));
  if (!keyring)
    cv_gui_test_respond (cv_gui_test_wait_dialog ("the No Keyring question"), "run");
  cv_gui_wait_until (save_offered, editor, "Save to be offered again");
  g_assert_true (gtk_revealer_get_reveal_child (editor_child (editor, "save_error_revealer")));
  g_assert_cmpstr (gtk_editable_get_text (editor_child (editor, "password_row")), ==, "");
  password = lookup_password (cv_application_get_secrets (app), cv_machine_get_id (machine));
  g_assert_cmpstr (password, ==, "cleared-after-save");
  g_clear_pointer (&password, g_free);

  /* Fixed: Save again, with the field empty, keeps that password. */
  g_assert_cmpint (g_rmdir (path), ==, 0);
  g_assert_cmpint (g_rename (moved, path), ==, 0);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.save", NULL));
  cv_gui_test_wait_destroyed (alive, "the editor to close after a second Save");
  password = lookup_password (cv_application_get_secrets (app), cv_machine_get_id (machine));
  g_assert_cmpstr (password, ==, "cleared-after-save");
}

/* What a Secret Service client other than Culvert finds for a machine. */
static const SecretSchema test_schema = {
  CV_SECRET_SCHEMA_NAME,
  SECRET_SCHEMA_NONE,
  {
    { "machine", SECRET_SCHEMA_ATTRIBUTE_STRING },
    { NULL, 0 },
  },
};

static void
test_save_keyring (void)
{
  g_autoptr (CvApplication) app = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *stored = NULL;
  CvMachine *machine;
  GtkWindow *editor;
  gpointer *alive;

  if (g_getenv ("CULVERT_TEST_KEYRING") == NULL)
    {
      g_test_skip ("no keyring daemon: run as the machine-editor-keyring test");
      return;
    }
  app = cv_gui_test_application_new ();
  machine = stored_machine (app, "Keyring PC");
  editor = open_editor (app, machine, &alive);
  type_text (editor_child (editor, "password_row"), "kept-in-the-keyring");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.save", NULL));
  cv_gui_test_wait_destroyed (alive, "the editor to close after saving to the keyring");

  g_assert_false (cv_secret_store_has_run_password (cv_application_get_secrets (app),
                                                    cv_machine_get_id (machine)));
  stored = secret_password_lookup_sync (&test_schema, NULL, &error, "machine",
                                        cv_machine_get_id (machine), NULL);
  g_assert_no_error (error);
  g_assert_cmpstr (stored, ==, "kept-in-the-keyring");

  /* Editing again with the field left empty keeps the stored password. */
  editor = open_editor (app, machine, &alive);
  type_text (editor_child (editor, "name_row"), "Keyring PC (renamed)");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.save", NULL));
  cv_gui_test_wait_destroyed (alive, "the editor to close after a Save without password");
  g_clear_pointer (&stored, secret_password_free);
  stored = secret_password_lookup_sync (&test_schema, NULL, &error, "machine",
                                        cv_machine_get_id (machine), NULL);
  g_assert_no_error (error);
  g_assert_cmpstr (stored, ==, "kept-in-the-keyring");
}

int
main (int argc, char *argv[])
{
  char *home = cv_gui_test_app_init (&argc, &argv);

  if (g_getenv ("CULVERT_TEST_KEYRING") == NULL)
    {
      /* No Secret Service, even on a desktop where the test runs in the user's session. */
      g_autofree char *nowhere = g_build_filename (home, "no-bus", NULL);
      g_autofree char *address = g_strconcat ("unix:path=", nowhere, NULL);

      g_setenv ("DBUS_SESSION_BUS_ADDRESS", address, TRUE);
    }

  g_test_add_func ("/gui/machine-editor-save/no-keyring", test_save_no_keyring);
  g_test_add_func ("/gui/machine-editor-save/store-error", test_save_store_error);
  g_test_add_func ("/gui/machine-editor-save/keyring", test_save_keyring);
  g_test_add_func ("/gui/machine-editor-save/password-cleared", test_password_cleared);

  return cv_gui_test_app_finish (home, g_test_run ());
}
