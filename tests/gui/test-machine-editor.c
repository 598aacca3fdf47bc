/* test-machine-editor.c: the machine editor on a real display — a new machine typed field by
 * field (errors as typed, Save only when all hold), saved to the store's JSON file; edited
 * again with every field filled in; Forget Trusted Key; Cancel.  Where the password goes on
 * Save is test-machine-editor-save.c. */
#include "cv-version.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>

#include "cv-gui-test-app.h"
#include "cv-gui-test-util.h"
#include "cv-machine-editor.h"
#include "cv-note-row.h"
#include "cv-service-row.h"

#define FINGERPRINT "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char *home;

static gpointer
editor_child (GtkWindow *editor, const char *name)
{
  return cv_gui_test_child (editor, CV_TYPE_MACHINE_EDITOR, name);
}

static gpointer
row_child (CvServiceRow *row, const char *name)
{
  return cv_gui_test_child (row, CV_TYPE_SERVICE_ROW, name);
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
has_error_style (gpointer widget)
{
  return gtk_widget_has_css_class (GTK_WIDGET (widget), "error");
}

static const char *
note_text (gpointer note)
{
  return cv_note_row_get_text (CV_NOTE_ROW (note));
}

static CvServiceRow *
find_service_row (GtkWindow *editor, const char *title)
{
  GtkWidget *row = cv_gui_find_widget (GTK_WIDGET (editor), CV_TYPE_SERVICE_ROW, title);

  if (row == NULL)
    g_error ("no service row titled “%s”", title);
  return CV_SERVICE_ROW (row);
}

static guint
count_service_rows (GtkWidget *widget)
{
  guint n = CV_IS_SERVICE_ROW (widget) ? 1 : 0;

  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    n += count_service_rows (child);
  return n;
}

static void
add_service (GtkWindow *editor, const char *preset)
{
  g_assert_true (
    gtk_widget_activate_action (GTK_WIDGET (editor), "editor.add-service", "s", preset));
}

/* The "Open with" entry for @kind, and its position. */
static char *
launcher_label (CvServiceRow *row, CvLauncherKind kind, guint *position)
{
  CvMachineService *service = cv_service_row_get_service (row);
  AdwComboRow *combo = row_child (row, "launcher_row");
  guint n_kinds = 0;
  const CvLauncherKind *kinds =
    cv_launcher_kinds_for_preset (cv_machine_service_get_preset (service), &n_kinds);
  GListModel *model = adw_combo_row_get_model (combo);

  g_assert_cmpuint (g_list_model_get_n_items (model), ==, n_kinds);
  for (guint i = 0; i < n_kinds; i++)
    if (kinds[i] == kind)
      {
        if (position != NULL)
          *position = i;
        return g_strdup (gtk_string_list_get_string (GTK_STRING_LIST (model), i));
      }
  g_error ("launcher %s is not offered", cv_launcher_kind_to_string (kind));
}

static void
select_launcher (CvServiceRow *row, CvLauncherKind kind)
{
  g_autofree char *label = NULL;
  guint position = 0;

  label = launcher_label (row, kind, &position);
  adw_combo_row_set_selected (row_child (row, "launcher_row"), position);
  g_assert_cmpint (cv_machine_service_get_launcher (cv_service_row_get_service (row)), ==, kind);
}

static CvMachine *
only_machine (CvApplication *app)
{
  GListModel *machines = cv_machine_store_get_machines (cv_application_get_store (app));

  g_assert_cmpuint (g_list_model_get_n_items (machines), ==, 1);
  return CV_MACHINE (g_object_get_data (G_OBJECT (app), "machine"));
}

/* The machine's object in the store's file, wherever the file keeps it. */
static JsonObject *
find_machine_json (JsonNode *node, const char *id)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *object = json_node_get_object (node);
      g_autoptr (GList) members = NULL;

      if (json_object_has_member (object, "id")
          && g_strcmp0 (json_object_get_string_member (object, "id"), id) == 0)
        return object;
      members = json_object_get_values (object);
      for (GList *l = members; l != NULL; l = l->next)
        {
          JsonObject *found = find_machine_json (l->data, id);
          if (found != NULL)
            return found;
        }
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonObject *found = find_machine_json (json_array_get_element (array, i), id);
          if (found != NULL)
            return found;
        }
    }
  return NULL;
}

static void
assert_file_has_machine (CvApplication *app, CvMachine *machine)
{
  const char *path = cv_machine_store_get_path (cv_application_get_store (app));
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) expected = cv_machine_to_json (machine, FALSE);
  g_autoptr (JsonNode) expected_node = json_node_init_object (json_node_alloc (), expected);
  g_autoptr (JsonNode) found_node = NULL;
  JsonObject *found;
  JsonArray *services;
  JsonObject *vnc;
  JsonObject *custom;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  found = find_machine_json (json_parser_get_root (parser), cv_machine_get_id (machine));
  g_assert_nonnull (found);
  found_node = json_node_init_object (json_node_alloc (), found);
  /* What is on disk is the machine as the store holds it... */
  g_assert_true (json_node_equal (found_node, expected_node));
  /* ...and that is what was typed. */
  g_assert_cmpstr (json_object_get_string_member (found, "name"), ==, "Front desk PC");
  g_assert_cmpstr (json_object_get_string_member (found, "session"), ==, "acme-office");
  services = json_object_get_array_member (found, "services");
  g_assert_cmpuint (json_array_get_length (services), ==, 2);
  vnc = json_array_get_object_element (services, 0);
  g_assert_cmpstr (json_object_get_string_member (vnc, "preset"), ==, "vnc");
  g_assert_cmpstr (json_object_get_string_member (vnc, "target"), ==, "127.0.0.1:5900");
  g_assert_cmpint (json_object_get_int_member (vnc, "local_port"), ==, 5901);
  g_assert_cmpstr (json_object_get_string_member (vnc, "launcher"), ==, "vncviewer");
  custom = json_array_get_object_element (services, 1);
  g_assert_cmpstr (json_object_get_string_member (custom, "preset"), ==, "custom");
  g_assert_cmpstr (json_object_get_string_member (custom, "target"), ==, "10.0.0.5:9000");
  g_assert_cmpint (json_object_get_int_member (custom, "local_port"), ==, 0);
  g_assert_cmpstr (json_object_get_string_member (custom, "launcher"), ==, "custom");
  g_assert_cmpstr (json_object_get_string_member (custom, "custom_command"), ==,
                   "mytool --host {host} --port {port}");
}

static void
remember_saved (CvMachineEditor *editor, CvMachine *machine, gpointer user_data)
{
  g_object_set_data_full (G_OBJECT (user_data), "machine", g_object_ref (machine), g_object_unref);
}

static void
test_editor_new_machine (void)
{
  g_autoptr (CvApplication) app = cv_gui_test_application_new ();
  g_autofree char *shot = NULL;
  GtkWindow *editor;
  gpointer *editor_alive;
  CvServiceRow *vnc;
  CvServiceRow *rdp;
  CvServiceRow *custom;
  CvMachine *machine;
  g_autofree char *label = NULL;
  GListModel *services;

  editor = cv_machine_editor_new (NULL, app, NULL);

  editor_alive = cv_gui_test_watch (editor);
  g_signal_connect (editor, "saved", G_CALLBACK (remember_saved), app);
  gtk_window_present (editor);
  cv_gui_wait_for_draw (GTK_WIDGET (editor));
  g_assert_cmpstr (gtk_window_get_title (editor), ==, "Add Machine");
  g_assert_true (gtk_window_get_modal (editor));
  g_assert_true (cv_gui_test_has_shortcut (editor, "<Control>s", "editor.save"));
  g_assert_true (cv_gui_test_has_shortcut (editor, "Escape", "editor.cancel"));

  /* Empty: nothing to save, and no error shouted before anything was typed. */
  g_assert_false (save_enabled (editor));
  g_assert_false (has_error_style (editor_child (editor, "gateway_row")));
  g_assert_null (note_text (editor_child (editor, "gateway_note")));
  g_assert_nonnull (note_text (editor_child (editor, "password_note")));
  g_assert_cmpstr (adw_action_row_get_subtitle (editor_child (editor, "fingerprint_row")), ==,
                   "Filled in on the first connection");
  g_assert_false (gtk_widget_is_sensitive (editor_child (editor, "forget_key_button")));

  type_text (editor_child (editor, "name_row"), "Front desk PC");
  type_text (editor_child (editor, "gateway_row"), "relay.example.com:99999");
  g_assert_true (has_error_style (editor_child (editor, "gateway_row")));
  g_assert_nonnull (note_text (editor_child (editor, "gateway_note")));
  g_test_message ("gateway error: %s", note_text (editor_child (editor, "gateway_note")));
  type_text (editor_child (editor, "session_row"), "acme office!");
  g_assert_true (has_error_style (editor_child (editor, "session_row")));
  g_assert_nonnull (note_text (editor_child (editor, "session_note")));
  g_assert_false (save_enabled (editor));
  shot = cv_gui_screenshot (GTK_WIDGET (editor), "editor-invalid");
  g_clear_pointer (&shot, g_free);

  type_text (editor_child (editor, "gateway_row"), "relay.example.com:8443");
  g_assert_false (has_error_style (editor_child (editor, "gateway_row")));
  g_assert_null (note_text (editor_child (editor, "gateway_note")));
  type_text (editor_child (editor, "session_row"), "acme-office");
  g_assert_false (has_error_style (editor_child (editor, "session_row")));
  /* Every field holds, but a machine without a service has nothing to reach. */
  g_assert_false (save_enabled (editor));

  /* VNC: the viewer on PATH is offered as installed, the others are marked. */
  add_service (editor, "vnc");
  vnc = find_service_row (editor, "Screen sharing (VNC)");
  g_assert_true (adw_expander_row_get_expanded (ADW_EXPANDER_ROW (vnc)));
  g_assert_cmpstr (gtk_editable_get_text (row_child (vnc, "target_row")), ==, "127.0.0.1:5900");
  g_assert_cmpint (cv_machine_service_get_launcher (cv_service_row_get_service (vnc)), ==,
                   CV_LAUNCHER_VNCVIEWER);
  label = launcher_label (vnc, CV_LAUNCHER_VNCVIEWER, NULL);
  g_assert_cmpstr (label, ==, cv_launcher_kind_get_label (CV_LAUNCHER_VNCVIEWER));
  g_clear_pointer (&label, g_free);
  label = launcher_label (vnc, CV_LAUNCHER_REMMINA, NULL);
  g_assert_true (g_str_has_suffix (label, " (not installed)"));
  g_clear_pointer (&label, g_free);
  g_assert_true (save_enabled (editor));

  /* Choosing one that is missing says so and names one that is there. */
  select_launcher (vnc, CV_LAUNCHER_REMMINA);
  g_assert_nonnull (note_text (row_child (vnc, "launcher_note")));
  g_test_message ("launcher note: %s", note_text (row_child (vnc, "launcher_note")));
  g_assert_nonnull (strstr (note_text (row_child (vnc, "launcher_note")),
                            cv_launcher_kind_get_label (CV_LAUNCHER_VNCVIEWER)));
  select_launcher (vnc, CV_LAUNCHER_VNCVIEWER);
  g_assert_null (note_text (row_child (vnc, "launcher_note")));

  /* A fixed local port, then automatic and back. */
  g_assert_true (gtk_switch_get_active (row_child (vnc, "automatic_switch")));
  g_assert_false (gtk_widget_is_sensitive (row_child (vnc, "local_port_spin")));
  gtk_switch_set_active (row_child (vnc, "automatic_switch"), FALSE);
  g_assert_true (gtk_widget_is_sensitive (row_child (vnc, "local_port_spin")));
  gtk_spin_button_set_value (row_child (vnc, "local_port_spin"), 5901);
  g_assert_cmpuint (cv_machine_service_get_local_port (cv_service_row_get_service (vnc)), ==, 5901);
  gtk_switch_set_active (row_child (vnc, "automatic_switch"), TRUE);
  g_assert_cmpuint (cv_machine_service_get_local_port (cv_service_row_get_service (vnc)), ==, 0);
  gtk_switch_set_active (row_child (vnc, "automatic_switch"), FALSE);
  g_assert_cmpuint (cv_machine_service_get_local_port (cv_service_row_get_service (vnc)), ==, 5901);

  /* RDP: FreeRDP is not on PATH.  Then removed again. */
  add_service (editor, "rdp");
  rdp = find_service_row (editor, "Remote desktop (RDP)");
  label = launcher_label (rdp, CV_LAUNCHER_XFREERDP, NULL);
  g_assert_cmpstr (label, ==, "FreeRDP (not installed)");
  g_clear_pointer (&label, g_free);
  g_assert_cmpstr (gtk_editable_get_text (row_child (rdp, "target_row")), ==, "127.0.0.1:3389");
  g_signal_emit_by_name (row_child (rdp, "remove_button"), "clicked");
  g_assert_cmpuint (count_service_rows (GTK_WIDGET (editor)), ==, 1);

  /* Custom: no port until one is typed, then a command with {host} and {port}. */
  add_service (editor, "custom");
  custom = find_service_row (editor, "Custom");
  g_assert_true (has_error_style (row_child (custom, "target_row")));
  g_assert_nonnull (note_text (row_child (custom, "target_note")));
  g_assert_false (save_enabled (editor));
  type_text (row_child (custom, "target_row"), "10.0.0.5:9000");
  g_assert_false (has_error_style (row_child (custom, "target_row")));
  g_assert_cmpstr (adw_expander_row_get_subtitle (ADW_EXPANDER_ROW (custom)), ==, "10.0.0.5:9000");
  g_assert_false (gtk_widget_get_visible (row_child (custom, "command_row")));
  select_launcher (custom, CV_LAUNCHER_CUSTOM);
  g_assert_true (gtk_widget_get_visible (row_child (custom, "command_row")));
  g_assert_false (save_enabled (editor));
  type_text (row_child (custom, "command_row"), "mytool --host {host}");
  g_assert_true (has_error_style (row_child (custom, "command_row")));
  g_assert_nonnull (note_text (row_child (custom, "command_note")));
  g_assert_false (save_enabled (editor));
  type_text (row_child (custom, "command_row"), "mytool --host {host} --port {port}");
  g_assert_false (has_error_style (row_child (custom, "command_row")));
  g_assert_true (save_enabled (editor));

  /* Changing the preset fills in its port. */
  adw_combo_row_set_selected (row_child (custom, "preset_row"), CV_SERVICE_PRESET_SSH);
  g_assert_cmpstr (gtk_editable_get_text (row_child (custom, "target_row")), ==, "10.0.0.5:22");
  adw_combo_row_set_selected (row_child (custom, "preset_row"), CV_SERVICE_PRESET_CUSTOM);
  type_text (row_child (custom, "target_row"), "10.0.0.5:9000");
  select_launcher (custom, CV_LAUNCHER_CUSTOM);
  g_assert_cmpstr (cv_machine_service_get_custom_command (cv_service_row_get_service (custom)), ==,
                   "mytool --host {host} --port {port}");
  g_assert_true (save_enabled (editor));
  adw_expander_row_set_expanded (ADW_EXPANDER_ROW (vnc), FALSE);
  adw_expander_row_set_expanded (ADW_EXPANDER_ROW (custom), TRUE);
  cv_gui_test_scroll_to_end (editor);
  shot = cv_gui_screenshot (GTK_WIDGET (editor), "editor-services");
  g_clear_pointer (&shot, g_free);

  /* Save, with no password typed: nothing goes to the keyring. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.save", NULL));
  cv_gui_test_wait_destroyed (editor_alive, "the editor to close after Save");

  machine = only_machine (app);
  g_assert_cmpstr (cv_machine_get_name (machine), ==, "Front desk PC");
  g_assert_cmpstr (cv_machine_get_gateway_host (machine), ==, "relay.example.com");
  g_assert_cmpuint (cv_machine_get_gateway_port (machine), ==, 8443);
  g_assert_cmpstr (cv_machine_get_session (machine), ==, "acme-office");
  g_assert_null (cv_machine_get_fingerprint (machine));
  services = cv_machine_get_services (machine);
  g_assert_cmpuint (g_list_model_get_n_items (services), ==, 2);
  g_assert_false (cv_secret_store_has_run_password (cv_application_get_secrets (app),
                                                    cv_machine_get_id (machine)));
  assert_file_has_machine (app, machine);

  /* A second store reads the same machine back from the file. */
  {
    g_autoptr (CvMachineStore) again = cv_machine_store_new (
      cv_machine_store_get_path (cv_application_get_store (app)));
    g_autoptr (GError) error = NULL;
    CvMachine *read;

    g_assert_true (cv_machine_store_load (again, &error));
    g_assert_no_error (error);
    read = cv_machine_store_find (again, cv_machine_get_id (machine));
    g_assert_nonnull (read);
    g_assert_cmpstr (cv_machine_get_name (read), ==, "Front desk PC");
  }

  /* The next test edits it. */
  g_object_set_data_full (G_OBJECT (app), "machine", NULL, NULL);
}

static CvMachine *
first_machine (CvApplication *app)
{
  GListModel *machines = cv_machine_store_get_machines (cv_application_get_store (app));
  g_autoptr (CvMachine) machine = NULL;

  g_assert_cmpuint (g_list_model_get_n_items (machines), >=, 1);
  machine = g_list_model_get_item (machines, 0);
  return machine;
}

static void
test_editor_edit_forget_key (void)
{
  g_autoptr (CvApplication) app = cv_gui_test_application_new ();
  g_autofree char *shot = NULL;
  g_autofree char *password = NULL;
  CvMachine *machine;
  CvServiceRow *vnc;
  GtkWindow *editor;
  gpointer *editor_alive;
  GtkWindow *dialog;

  /* The machine the first test saved, as the app loads it at start. */
  machine = first_machine (app);
  cv_machine_set_fingerprint (machine, FINGERPRINT);

  editor = cv_machine_editor_new (NULL, app, machine);

  editor_alive = cv_gui_test_watch (editor);
  gtk_window_present (editor);
  cv_gui_wait_for_draw (GTK_WIDGET (editor));
  g_assert_cmpstr (gtk_window_get_title (editor), ==, "Edit Machine");
  g_assert_cmpstr (gtk_editable_get_text (editor_child (editor, "name_row")), ==, "Front desk PC");
  g_assert_cmpstr (gtk_editable_get_text (editor_child (editor, "gateway_row")), ==,
                   "relay.example.com:8443");
  g_assert_cmpstr (gtk_editable_get_text (editor_child (editor, "session_row")), ==, "acme-office");
  g_assert_cmpstr (gtk_editable_get_text (editor_child (editor, "password_row")), ==, "");
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (editor_child (editor, "fingerprint_row")),
                            "0123 4567 89ab cdef"));
  vnc = find_service_row (editor, "Screen sharing (VNC)");
  g_assert_false (gtk_switch_get_active (row_child (vnc, "automatic_switch")));
  g_assert_cmpint (gtk_spin_button_get_value_as_int (row_child (vnc, "local_port_spin")), ==, 5901);
  g_assert_nonnull (find_service_row (editor, "Custom"));
  g_assert_true (save_enabled (editor));
  adw_expander_row_set_expanded (ADW_EXPANDER_ROW (vnc), TRUE);
  shot = cv_gui_screenshot (GTK_WIDGET (editor), "editor");
  g_clear_pointer (&shot, g_free);

  /* Forget Trusted Key asks first; Cancel keeps the key. */
  g_assert_true (gtk_widget_is_sensitive (editor_child (editor, "forget_key_button")));
  g_signal_emit_by_name (editor_child (editor, "forget_key_button"), "clicked");
  dialog = cv_gui_test_wait_dialog ("the Forget Trusted Key question");
  g_assert_true (gtk_window_get_transient_for (dialog) == editor);
  cv_gui_test_respond (dialog, "cancel");
  g_assert_nonnull (
    strstr (adw_action_row_get_subtitle (editor_child (editor, "fingerprint_row")), "0123"));
  g_signal_emit_by_name (editor_child (editor, "forget_key_button"), "clicked");
  dialog = cv_gui_test_wait_dialog ("the Forget Trusted Key question, again");
  shot = cv_gui_screenshot (GTK_WIDGET (dialog), "editor-forget-key");
  g_clear_pointer (&shot, g_free);
  cv_gui_test_respond (dialog, "forget");
  g_assert_cmpstr (adw_action_row_get_subtitle (editor_child (editor, "fingerprint_row")), ==,
                   "Filled in on the first connection");
  g_assert_false (gtk_widget_is_sensitive (editor_child (editor, "forget_key_button")));
  /* Only the copy so far. */
  g_assert_cmpstr (cv_machine_get_fingerprint (machine), ==, FINGERPRINT);

  /* Saved without a password typed: the key is forgotten for good, the rest kept. */
  type_text (editor_child (editor, "name_row"), "Front desk PC (new)");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.save", NULL));
  cv_gui_test_wait_destroyed (editor_alive, "the editor to close after Save");
  g_assert_cmpstr (cv_machine_get_name (machine), ==, "Front desk PC (new)");
  g_assert_null (cv_machine_get_fingerprint (machine));
  g_assert_cmpuint (g_list_model_get_n_items (cv_machine_get_services (machine)), ==, 2);
  {
    g_autoptr (CvMachineStore) again = cv_machine_store_new (
      cv_machine_store_get_path (cv_application_get_store (app)));
    g_autoptr (GError) error = NULL;
    CvMachine *read;

    g_assert_true (cv_machine_store_load (again, &error));
    read = cv_machine_store_find (again, cv_machine_get_id (machine));
    g_assert_nonnull (read);
    g_assert_cmpstr (cv_machine_get_name (read), ==, "Front desk PC (new)");
    g_assert_null (cv_machine_get_fingerprint (read));
  }
}

static void
test_editor_cancel_keeps_machine (void)
{
  g_autoptr (CvApplication) app = cv_gui_test_application_new ();
  CvMachine *machine = first_machine (app);
  g_autofree char *name = g_strdup (cv_machine_get_name (machine));
  GtkWindow *editor;
  gpointer *editor_alive;

  editor = cv_machine_editor_new (NULL, app, machine);

  editor_alive = cv_gui_test_watch (editor);
  gtk_window_present (editor);
  cv_gui_wait_for_draw (GTK_WIDGET (editor));
  type_text (editor_child (editor, "name_row"), "Something else");
  g_signal_emit_by_name (row_child (find_service_row (editor, "Custom"), "remove_button"),
                         "clicked");
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.cancel", NULL));
  cv_gui_test_wait_destroyed (editor_alive, "the editor to close on Cancel");
  g_assert_cmpstr (cv_machine_get_name (machine), ==, name);
  g_assert_cmpuint (g_list_model_get_n_items (cv_machine_get_services (machine)), ==, 2);
}

/* A gateway behind a web server: its wss:// URL typed in the same row, a bad one refused
 * in the row's note, the good one saved and shown back as written. */
static void
test_editor_url_gateway (void)
{
  g_autoptr (CvApplication) app = cv_gui_test_application_new ();
  g_autofree char *shot = NULL;
  CvMachine *machine = first_machine (app);
  GtkWindow *editor;
  gpointer *editor_alive;

  editor = cv_machine_editor_new (NULL, app, machine);
  editor_alive = cv_gui_test_watch (editor);
  gtk_window_present (editor);
  cv_gui_wait_for_draw (GTK_WIDGET (editor));
  g_assert_true (save_enabled (editor));

  type_text (editor_child (editor, "gateway_row"), "wss://relay.example.com:0/culvert");
  g_assert_true (has_error_style (editor_child (editor, "gateway_row")));
  g_test_message ("gateway error: %s", note_text (editor_child (editor, "gateway_note")));
  g_assert_nonnull (
    strstr (note_text (editor_child (editor, "gateway_note")), "is not a gateway URL (port 0"));
  g_assert_false (save_enabled (editor));
  shot = cv_gui_screenshot (GTK_WIDGET (editor), "editor-url-invalid");
  g_clear_pointer (&shot, g_free);

  type_text (editor_child (editor, "gateway_row"), "wss://relay.example.com/culvert");
  g_assert_false (has_error_style (editor_child (editor, "gateway_row")));
  g_assert_null (note_text (editor_child (editor, "gateway_note")));
  g_assert_true (save_enabled (editor));
  cv_gui_spin (100);
  shot = cv_gui_screenshot (GTK_WIDGET (editor), "editor-url");
  g_clear_pointer (&shot, g_free);
  /* Only the copy so far. */
  g_assert_null (cv_machine_get_gateway_web_path (machine));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (editor), "editor.save", NULL));
  cv_gui_test_wait_destroyed (editor_alive, "the editor to close after Save");
  g_assert_cmpstr (cv_machine_get_gateway_host (machine), ==, "relay.example.com");
  g_assert_cmpuint (cv_machine_get_gateway_port (machine), ==, 443);
  g_assert_cmpstr (cv_machine_get_gateway_web_path (machine), ==, "/culvert");
  g_assert_true (cv_machine_get_gateway_web_tls (machine));
  {
    g_autoptr (CvMachineStore) again = cv_machine_store_new (
      cv_machine_store_get_path (cv_application_get_store (app)));
    g_autoptr (GError) error = NULL;
    g_autofree char *gateway = NULL;
    CvMachine *read;

    g_assert_true (cv_machine_store_load (again, &error));
    g_assert_no_error (error);
    read = cv_machine_store_find (again, cv_machine_get_id (machine));
    g_assert_nonnull (read);
    gateway = cv_machine_dup_gateway (read);
    g_assert_cmpstr (gateway, ==, "wss://relay.example.com/culvert");
  }

  /* Edited again: the row holds the URL as it was typed. */
  editor = cv_machine_editor_new (NULL, app, machine);
  editor_alive = cv_gui_test_watch (editor);
  gtk_window_present (editor);
  cv_gui_wait_for_draw (GTK_WIDGET (editor));
  g_assert_cmpstr (gtk_editable_get_text (editor_child (editor, "gateway_row")), ==,
                   "wss://relay.example.com/culvert");
  gtk_window_close (editor);
  cv_gui_test_wait_destroyed (editor_alive, "the editor to close");
}

int
main (int argc, char *argv[])
{
  int status;

  home = cv_gui_test_app_init (&argc, &argv);
  /* A viewer that is "installed"; FreeRDP and Remmina are not. */
  cv_gui_test_add_program (home, "vncviewer", "exit 0");
  {
    /* No Secret Service, even on a desktop where the test runs in the user's session: no
     * password is typed here, so none may be asked for. */
    g_autofree char *nowhere = g_build_filename (home, "no-bus", NULL);
    g_autofree char *address = g_strconcat ("unix:path=", nowhere, NULL);

    g_setenv ("DBUS_SESSION_BUS_ADDRESS", address, TRUE);
  }

  /* In order: each works on what the one before saved. */
  g_test_add_func ("/gui/machine-editor/new-machine", test_editor_new_machine);
  g_test_add_func ("/gui/machine-editor/edit-forget-key", test_editor_edit_forget_key);
  g_test_add_func ("/gui/machine-editor/cancel-keeps-machine", test_editor_cancel_keeps_machine);
  g_test_add_func ("/gui/machine-editor/url-gateway", test_editor_url_gateway);

  status = g_test_run ();
  return cv_gui_test_app_finish (home, status);
}
