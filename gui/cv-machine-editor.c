/* cv-machine-editor.c: the machine editor — fields checked as they are typed, Save only when
 * all hold; the password goes to the keyring (or, if the person says so, this run only). */
#include "cv-version.h"

#include <glib/gi18n.h>

#include "auth/cv-password.h"
#include "cv-app-error.h"
#include "cv-machine-editor.h"
#include "cv-machine-store.h"
#include "cv-note-row.h"
#include "cv-secret-store.h"
#include "cv-service-row.h"
#include "cv-ui-util.h"

struct _CvMachineEditor {
  AdwWindow parent_instance;

  CvApplication *app;
  /* What Save writes into: the caller's machine, or NULL for a new one. */
  CvMachine *original;
  /* What the fields edit until Save. */
  CvMachine *machine;
  /* Its CvServiceRows, in order (the group holds them). */
  GPtrArray *service_rows;
  GCancellable *cancellable;
  /* The password being saved while the "No Keyring" question is open. */
  CvSecret *pending_password;
  gboolean filling;
  gboolean saving;
  gboolean name_valid;
  gboolean gateway_valid;
  gboolean session_valid;

  /* template children */
  GtkButton *cancel_button;
  GtkButton *save_button;
  GtkRevealer *save_error_revealer;
  GtkLabel *save_error_label;
  AdwPreferencesPage *page;
  AdwEntryRow *name_row;
  CvNoteRow *name_note;
  AdwEntryRow *gateway_row;
  CvNoteRow *gateway_note;
  AdwActionRow *fingerprint_row;
  GtkButton *forget_key_button;
  AdwEntryRow *session_row;
  CvNoteRow *session_note;
  AdwPasswordEntryRow *password_row;
  CvNoteRow *password_note;
  AdwPreferencesGroup *services_group;
  GtkMenuButton *add_service_button;
};

G_DEFINE_FINAL_TYPE (CvMachineEditor, cv_machine_editor, ADW_TYPE_WINDOW)

enum {
  SIGNAL_SAVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static CvMachineStore *
cv_machine_editor_get_store (CvMachineEditor *self)
{
  return cv_application_get_store (self->app);
}

static gboolean
cv_machine_editor_is_new (CvMachineEditor *self)
{
  return cv_machine_store_find (cv_machine_editor_get_store (self),
                                cv_machine_get_id (self->machine))
         == NULL;
}

static void
cv_machine_editor_update_save (CvMachineEditor *self)
{
  GPtrArray *rows = self->service_rows;
  gboolean valid;

  if (rows == NULL)
    return;
  valid = self->name_valid && self->gateway_valid && self->session_valid && rows->len > 0;

  for (guint i = 0; i < rows->len; i++)
    valid = valid && cv_service_row_get_valid (rows->pdata[i]);

  adw_preferences_group_set_description (
    self->services_group,
    rows->len == 0 ? _ ("Add at least one service: what to reach on the shared machine.") : NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.save", valid && !self->saving);
}

static void
cv_machine_editor_show_save_error (CvMachineEditor *self, const char *message)
{
  gtk_label_set_text (self->save_error_label, message != NULL ? message : "");
  gtk_revealer_set_reveal_child (self->save_error_revealer, message != NULL);
}

/* A field's sentence is shown once something was typed in it (or it came filled), so a
 * new machine does not open covered in errors; Save stays insensitive all the same. */
static void
cv_machine_editor_show_field (CvMachineEditor *self,
                              AdwEntryRow *row,
                              CvNoteRow *note,
                              const GError *error)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (row));

  cv_note_row_show_error (note, GTK_WIDGET (row), text[0] != '\0' ? error : NULL);
}

static void
cv_machine_editor_name_changed (CvMachineEditor *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->name_row));
  g_autoptr (GError) error = NULL;

  if (self->machine == NULL)
    return;
  self->name_valid = cv_machine_check_name (text, &error);
  if (self->name_valid)
    cv_machine_set_name (self->machine, text);
  cv_machine_editor_show_field (self, self->name_row, self->name_note, error);
  cv_machine_editor_update_save (self);
}

static void
cv_machine_editor_gateway_changed (CvMachineEditor *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->gateway_row));
  g_autoptr (GError) error = NULL;
  g_autofree char *host = NULL;
  g_autofree char *web_path = NULL;
  gboolean web_tls = FALSE;
  guint16 port = 0;

  if (self->machine == NULL)
    return;
  self->gateway_valid = cv_machine_parse_gateway_url (text, &host, &port, &web_path, &web_tls,
                                                      &error);
  if (self->gateway_valid)
    {
      cv_machine_set_gateway (self->machine, host, port);
      cv_machine_set_gateway_web (self->machine, web_path, web_tls);
    }
  cv_machine_editor_show_field (self, self->gateway_row, self->gateway_note, error);
  cv_machine_editor_update_save (self);
}

static void
cv_machine_editor_session_changed (CvMachineEditor *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->session_row));
  g_autoptr (GError) error = NULL;

  if (self->machine == NULL)
    return;
  self->session_valid = cv_machine_check_session (text, &error);
  if (self->session_valid)
    cv_machine_set_session (self->machine, text);
  cv_machine_editor_show_field (self, self->session_row, self->session_note, error);
  cv_machine_editor_update_save (self);
}

static void
cv_machine_editor_update_fingerprint (CvMachineEditor *self)
{
  const char *fingerprint = cv_machine_get_fingerprint (self->machine);
  g_autofree char *grouped = cv_ui_format_fingerprint (fingerprint, 8);

  if (grouped != NULL)
    {
      g_autofree char *markup = g_markup_printf_escaped ("<tt>%s</tt>", grouped);
      adw_action_row_set_subtitle (self->fingerprint_row, markup);
    }
  else
    adw_action_row_set_subtitle (self->fingerprint_row, _ ("Filled in on the first connection"));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "editor.forget-key", fingerprint != NULL);
}

static void
cv_machine_editor_service_remove (CvMachineEditor *self, CvServiceRow *row)
{
  cv_machine_remove_service (self->machine, cv_service_row_get_service (row));
  g_ptr_array_remove (self->service_rows, row);
  adw_preferences_group_remove (self->services_group, GTK_WIDGET (row));
  cv_machine_editor_update_save (self);
}

static void
cv_machine_editor_service_valid_changed (CvMachineEditor *self)
{
  cv_machine_editor_update_save (self);
}

static CvServiceRow *
cv_machine_editor_append_service_row (CvMachineEditor *self, CvMachineService *service)
{
  GtkWidget *row = cv_service_row_new (service);

  g_signal_connect_object (row, "remove", G_CALLBACK (cv_machine_editor_service_remove), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (row, "notify::valid",
                           G_CALLBACK (cv_machine_editor_service_valid_changed), self,
                           G_CONNECT_SWAPPED);
  adw_preferences_group_add (self->services_group, row);
  g_ptr_array_add (self->service_rows, row);
  return CV_SERVICE_ROW (row);
}

static void
cv_machine_editor_add_service (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CvMachineEditor *self = CV_MACHINE_EDITOR (widget);
  g_autoptr (CvMachineService) service = NULL;
  CvServicePreset preset;
  CvServiceRow *row;

  if (!cv_service_preset_from_string (g_variant_get_string (parameter, NULL), &preset))
    return;
  service = cv_machine_service_new (preset);
  cv_machine_add_service (self->machine, service);
  row = cv_machine_editor_append_service_row (self, service);
  adw_expander_row_set_expanded (ADW_EXPANDER_ROW (row), TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (row));
  cv_machine_editor_update_save (self);
}

/* Save, last step: the machine into the store, written at once so that a failure is
 * shown here with everything still typed in. */
static void
cv_machine_editor_commit (CvMachineEditor *self)
{
  CvMachineStore *store = cv_machine_editor_get_store (self);
  g_autoptr (GError) error = NULL;
  CvMachine *saved = self->original != NULL ? self->original : self->machine;

  if (self->original != NULL)
    cv_machine_update_from (self->original, self->machine);
  if (cv_machine_store_find (store, cv_machine_get_id (saved)) == NULL)
    cv_machine_store_add (store, saved);
  if (!cv_machine_store_save (store, &error))
    {
      cv_machine_editor_show_save_error (self, error->message);
      self->saving = FALSE;
      cv_machine_editor_update_save (self);
      return;
    }

  g_signal_emit (self, signals[SIGNAL_SAVED], 0, saved);
  gtk_window_destroy (GTK_WINDOW (self));
}

static gboolean
cv_machine_editor_commit_idle (gpointer user_data)
{
  cv_machine_editor_commit (CV_MACHINE_EDITOR (user_data));
  return G_SOURCE_REMOVE;
}

/* The password is in the keyring (or kept for this run): the field lets it go at once.
 * Should the machine itself fail to save, Save again keeps the one now stored, and the
 * typed text is not left in the window meanwhile (GTK wipes an entry's old text). */
static void
cv_machine_editor_password_kept (CvMachineEditor *self)
{
  gtk_editable_set_text (GTK_EDITABLE (self->password_row), "");
}

static void
cv_machine_editor_no_keyring_response (AdwMessageDialog *dialog,
                                       const char *response,
                                       gpointer user_data)
{
  CvMachineEditor *self = CV_MACHINE_EDITOR (user_data);
  g_autoptr (CvSecret) password = g_steal_pointer (&self->pending_password);

  if (g_strcmp0 (response, "run") == 0 && password != NULL)
    {
      cv_secret_store_remember_for_run (cv_application_get_secrets (self->app),
                                        cv_machine_get_id (self->machine), password);
      cv_machine_editor_password_kept (self);
      /* Not from inside the dialog's response: closing the editor destroys the dialog,
       * which is still finishing its own closing. */
      g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, cv_machine_editor_commit_idle, g_object_ref (self),
                       g_object_unref);
      return;
    }
  self->saving = FALSE;
  cv_machine_editor_update_save (self);
}

static void
cv_machine_editor_ask_no_keyring (CvMachineEditor *self, const GError *error, CvSecret *password)
{
  AdwMessageDialog *dialog;

  g_clear_pointer (&self->pending_password, cv_secret_free);
  self->pending_password = password;

  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self), _ ("No Keyring"), NULL));
  adw_message_dialog_format_body (dialog, "%s\n\n%s", error->message,
                                  _ ("Remembered for this run, the password stays in memory "
                                     "until Culvert quits and is never written to a file."));
  adw_message_dialog_add_responses (dialog, "cancel", _ ("_Cancel"), "run",
                                    _ ("_Remember for This Run Only"), NULL);
  adw_message_dialog_set_response_appearance (dialog, "run", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, "run");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (cv_machine_editor_no_keyring_response),
                           self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

typedef struct {
  CvMachineEditor *editor;
  CvSecret *password;
} StoreData;

static void
store_data_free (StoreData *data)
{
  g_clear_object (&data->editor);
  g_clear_pointer (&data->password, cv_secret_free);
  g_free (data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (StoreData, store_data_free)

static void
cv_machine_editor_password_stored (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (StoreData) data = user_data;
  CvMachineEditor *self = data->editor;
  g_autoptr (GError) error = NULL;

  if (cv_secret_store_store_finish (CV_SECRET_STORE (source), result, &error))
    {
      cv_machine_editor_password_kept (self);
      cv_machine_editor_commit (self);
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (g_error_matches (error, CV_APP_ERROR, CV_APP_ERROR_NO_KEYRING))
    {
      cv_machine_editor_ask_no_keyring (self, error, g_steal_pointer (&data->password));
      return;
    }
  cv_machine_editor_show_save_error (self, error->message);
  self->saving = FALSE;
  cv_machine_editor_update_save (self);
}

static void
cv_machine_editor_save (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CvMachineEditor *self = CV_MACHINE_EDITOR (widget);
  const char *password = gtk_editable_get_text (GTK_EDITABLE (self->password_row));
  g_autoptr (GError) error = NULL;
  StoreData *data;

  if (self->saving)
    return;
  /* The fields were checked one by one; this is the model's word on the whole. */
  if (!cv_machine_check (self->machine, &error))
    {
      cv_machine_editor_show_save_error (self, error->message);
      return;
    }
  cv_machine_editor_show_save_error (self, NULL);
  self->saving = TRUE;
  cv_machine_editor_update_save (self);

  /* Left empty, the stored password stays as it is. */
  if (password[0] == '\0')
    {
      cv_machine_editor_commit (self);
      return;
    }
  data = g_new0 (StoreData, 1);
  data->editor = g_object_ref (self);
  data->password = g_strdup (password);
  cv_secret_store_store_async (cv_application_get_secrets (self->app),
                               cv_machine_get_id (self->machine),
                               cv_machine_get_name (self->machine), data->password,
                               self->cancellable, cv_machine_editor_password_stored, data);
}

static void
cv_machine_editor_cancel (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  gtk_window_destroy (GTK_WINDOW (widget));
}

static void
cv_machine_editor_forget_response (AdwMessageDialog *dialog,
                                   const char *response,
                                   gpointer user_data)
{
  CvMachineEditor *self = CV_MACHINE_EDITOR (user_data);

  if (g_strcmp0 (response, "forget") != 0)
    return;
  /* On the copy: the store's machine keeps its key unless the person saves. */
  cv_machine_set_fingerprint (self->machine, NULL);
  cv_machine_editor_update_fingerprint (self);
}

static void
cv_machine_editor_forget_key (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CvMachineEditor *self = CV_MACHINE_EDITOR (widget);
  AdwMessageDialog *dialog;

  dialog = ADW_MESSAGE_DIALOG (
    adw_message_dialog_new (GTK_WINDOW (self), _ ("Forget the Trusted Key?"), NULL));
  adw_message_dialog_set_body (
    dialog, _ ("At the next connection Culvert will show the gateway’s fingerprint and ask "
               "you to trust it again. Do this only when the gateway’s key was changed on "
               "purpose, and compare the new fingerprint with the one your administrator "
               "gives you."));
  adw_message_dialog_add_responses (dialog, "cancel", _ ("_Cancel"), "forget", _ ("_Forget Key"),
                                    NULL);
  adw_message_dialog_set_response_appearance (dialog, "forget", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (cv_machine_editor_forget_response), self,
                           0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static GMenuModel *
cv_machine_editor_presets_menu (void)
{
  GMenu *menu = g_menu_new ();

  for (guint i = 0; i < CV_N_SERVICE_PRESETS; i++)
    {
      g_autoptr (GMenuItem) item =
        g_menu_item_new (cv_service_preset_get_label ((CvServicePreset) i), NULL);

      g_menu_item_set_action_and_target (item, "editor.add-service", "s",
                                         cv_service_preset_to_string ((CvServicePreset) i));
      g_menu_append_item (menu, item);
    }
  return G_MENU_MODEL (menu);
}

static void
cv_machine_editor_fill (CvMachineEditor *self)
{
  GListModel *services = cv_machine_get_services (self->machine);
  const char *name = cv_machine_get_name (self->machine);
  const char *session = cv_machine_get_session (self->machine);
  g_autofree char *gateway = NULL;
  gboolean is_new = cv_machine_editor_is_new (self);

  if (cv_machine_get_gateway_host (self->machine) != NULL)
    gateway = cv_machine_dup_gateway (self->machine);

  gtk_window_set_title (GTK_WINDOW (self), is_new ? _ ("Add Machine") : _ ("Edit Machine"));
  gtk_editable_set_text (GTK_EDITABLE (self->name_row), name != NULL ? name : "");
  gtk_editable_set_text (GTK_EDITABLE (self->gateway_row), gateway != NULL ? gateway : "");
  gtk_editable_set_text (GTK_EDITABLE (self->session_row), session != NULL ? session : "");
  /* set_text emits nothing when the text does not change (a new machine's empty fields),
   * so each check runs once more here. */
  cv_machine_editor_name_changed (self);
  cv_machine_editor_gateway_changed (self);
  cv_machine_editor_session_changed (self);
  cv_machine_editor_update_fingerprint (self);
  cv_note_row_set_text (self->password_note,
                        is_new ? _ ("Kept in your keyring.")
                               : _ ("Kept in your keyring. Leave it empty to keep the one "
                                    "stored there."),
                        "dim-label");

  for (guint i = 0; i < g_list_model_get_n_items (services); i++)
    {
      g_autoptr (CvMachineService) service = g_list_model_get_item (services, i);
      cv_machine_editor_append_service_row (self, service);
    }
  cv_machine_editor_update_save (self);
}

static void
cv_machine_editor_dispose (GObject *object)
{
  CvMachineEditor *self = CV_MACHINE_EDITOR (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_pointer (&self->pending_password, cv_secret_free);
  g_clear_pointer (&self->service_rows, g_ptr_array_unref);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->original);
  g_clear_object (&self->machine);
  g_clear_object (&self->app);

  G_OBJECT_CLASS (cv_machine_editor_parent_class)->dispose (object);
}

static void
cv_machine_editor_class_init (CvMachineEditorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cv_machine_editor_dispose;

  signals[SIGNAL_SAVED] = g_signal_new ("saved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                        NULL, NULL, NULL, G_TYPE_NONE, 1, CV_TYPE_MACHINE);

  gtk_widget_class_install_action (widget_class, "editor.save", NULL, cv_machine_editor_save);
  gtk_widget_class_install_action (widget_class, "editor.cancel", NULL, cv_machine_editor_cancel);
  gtk_widget_class_install_action (widget_class, "editor.forget-key", NULL,
                                   cv_machine_editor_forget_key);
  gtk_widget_class_install_action (widget_class, "editor.add-service", "s",
                                   cv_machine_editor_add_service);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK, "editor.save",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "editor.cancel", NULL);

  g_type_ensure (CV_TYPE_NOTE_ROW);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/culvert/Culvert/cv-machine-editor.ui");
  gtk_widget_class_bind_template_child (widget_class, CvMachineEditor, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, CvMachineEditor, save_button);
  gtk_widget_class_bind_template_child (widget_class, CvMachineEditor, save_error_revealer);
  gtk_widget_class_bind_template_child (widget_class, CvMachineEditor, save_error_label);
  gtk_widget_class_bind_template_child (widget_class, CvMachineEditor, page);
  gtk_widget_class_bind_template_child (widget_class, CvMachineEditor, name_row);
  gtk_widget_class_bind_template_child (widget_class, CvMachineEditor, name_note);
  gtk_widget_class_bind_template_child (widget_class, CvMachineEditor, gateway_row);
  gtk_widget_class_bind_template_child (widget_class, CvMachineEditor, gateway_note);
  gtk_widget_class_bind_template_child (widget_class, CvMachineEditor, fingerprint_row);
  gtk_widget_class_bind_template_child (widget_class, CvMachineEditor, forget_key_button);
  gtk_widget_class_bind_template_child (widget_class, CvMachineEditor, session_row);
  gtk_widget_class_bind_template_child (widget_class, CvMachineEditor, session_note);
  gtk_widget_class_bind_template_child (widget_class, CvMachineEditor, password_row);
  gtk_widget_class_bind_template_child (widget_class, CvMachineEditor, password_note);
  gtk_widget_class_bind_template_child (widget_class, CvMachineEditor, services_group);
  gtk_widget_class_bind_template_child (widget_class, CvMachineEditor, add_service_button);
  gtk_widget_class_bind_template_callback (widget_class, cv_machine_editor_name_changed);
  gtk_widget_class_bind_template_callback (widget_class, cv_machine_editor_gateway_changed);
  gtk_widget_class_bind_template_callback (widget_class, cv_machine_editor_session_changed);
}

static void
cv_machine_editor_init (CvMachineEditor *self)
{
  g_autoptr (GMenuModel) presets = cv_machine_editor_presets_menu ();

  gtk_widget_init_template (GTK_WIDGET (self));
  gtk_menu_button_set_menu_model (self->add_service_button, presets);
  self->cancellable = g_cancellable_new ();
  self->service_rows = g_ptr_array_new ();
}

GtkWindow *
cv_machine_editor_new (GtkWindow *parent, CvApplication *app, CvMachine *machine)
{
  CvMachineEditor *self;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (CV_IS_APPLICATION (app), NULL);
  g_return_val_if_fail (machine == NULL || CV_IS_MACHINE (machine), NULL);

  self = g_object_new (CV_TYPE_MACHINE_EDITOR, "transient-for", parent, "application", app, NULL);
  self->app = g_object_ref (app);
  if (machine != NULL)
    {
      self->original = g_object_ref (machine);
      self->machine = cv_machine_copy (machine);
    }
  else
    self->machine = cv_machine_new ();
  cv_machine_editor_fill (self);
  return GTK_WINDOW (self);
}

void
cv_machine_editor_set_password (CvMachineEditor *self, const char *password)
{
  g_return_if_fail (CV_IS_MACHINE_EDITOR (self));

  gtk_editable_set_text (GTK_EDITABLE (self->password_row), password != NULL ? password : "");
}
