/* cv-window-dialogs.c: what the main window asks and tells — trusting a gateway, deleting
 * and exporting a machine, opening its services, and the toasts that report on them. */
#include "cv-version.h"

#include <glib/gi18n.h>

#include "cv-app-error.h"
#include "cv-format.h"
#include "cv-ui-util.h"
#include "cv-window-private.h"

void
cv_window_toast (CvWindow *self, const char *text)
{
  g_return_if_fail (CV_IS_WINDOW (self));
  g_return_if_fail (text != NULL);

  adw_toast_overlay_add_toast (self->toast_overlay, cv_ui_plain_toast_new (text));
}

gboolean
cv_window_launch_service (CvWindow *self, CvMachineConnection *connection, CvServiceLink *link)
{
  g_autoptr (GdkAppLaunchContext) context = NULL;
  g_autoptr (GError) error = NULL;
  AdwToast *toast;

  context = gdk_display_get_app_launch_context (gtk_widget_get_display (GTK_WIDGET (self)));
  if (cv_service_link_launch (link, G_APP_LAUNCH_CONTEXT (context), &error))
    return TRUE;

  /* Shown at once and for longer: it is what stands between the person and the service. */
  toast = cv_ui_plain_toast_new (error->message);
  adw_toast_set_timeout (toast, 10);
  adw_toast_set_priority (toast, ADW_TOAST_PRIORITY_HIGH);
  /* The viewer is missing: the editor is where another one is picked. */
  if (g_error_matches (error, CV_APP_ERROR, CV_APP_ERROR_NOT_INSTALLED))
    {
      CvMachine *machine = cv_machine_connection_get_machine (connection);

      adw_toast_set_button_label (toast, _ ("Choose _Another"));
      adw_toast_set_action_target_value (toast, g_variant_new_string (cv_machine_get_id (machine)));
      adw_toast_set_action_name (toast, "win.edit-machine");
    }
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
  return FALSE;
}

static void
on_connected_toast_dismissed (AdwToast *toast, CvWindow *self)
{
  GHashTableIter iter;
  gpointer value;

  if (self->connected_toasts == NULL)
    return;
  g_hash_table_iter_init (&iter, self->connected_toasts);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (value == toast)
      {
        g_hash_table_iter_remove (&iter);
        return;
      }
}

void
cv_window_machine_connected (CvWindow *self, CvMachineConnection *connection)
{
  CvMachine *machine;
  GListModel *services;
  g_autofree char *title = NULL;
  AdwToast *toast;
  gboolean all_opened = TRUE;

  g_return_if_fail (CV_IS_WINDOW (self));
  g_return_if_fail (CV_IS_MACHINE_CONNECTION (connection));

  machine = cv_machine_connection_get_machine (connection);
  services = cv_machine_connection_get_services (connection);
  for (guint i = 0; g_settings_get_boolean (self->settings, "open-services-on-connect")
                    && i < g_list_model_get_n_items (services);
       i++)
    {
      g_autoptr (CvServiceLink) link = g_list_model_get_item (services, i);
      CvMachineService *service = cv_service_link_get_service (link);

      if (cv_machine_service_get_launcher (service) != CV_LAUNCHER_NONE)
        all_opened &= cv_window_launch_service (self, connection, link);
    }

  /* A service that could not be opened says so instead: the row says it is connected. */
  if (!all_opened)
    return;
  title = g_strdup_printf (_ ("Connected to %s"), cv_machine_get_name (machine));
  toast = cv_ui_plain_toast_new (title);
  g_hash_table_replace (self->connected_toasts, g_strdup (cv_machine_get_id (machine)),
                        g_object_ref (toast));
  g_signal_connect_object (toast, "dismissed", G_CALLBACK (on_connected_toast_dismissed), self, 0);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

void
cv_window_machine_not_connected (CvWindow *self, CvMachineConnection *connection)
{
  CvMachine *machine;
  AdwToast *toast;

  g_return_if_fail (CV_IS_WINDOW (self));
  g_return_if_fail (CV_IS_MACHINE_CONNECTION (connection));

  machine = cv_machine_connection_get_machine (connection);
  if (self->connected_toasts == NULL)
    return;
  toast = g_hash_table_lookup (self->connected_toasts, cv_machine_get_id (machine));
  /* "dismissed" takes it out of the table. */
  if (toast != NULL)
    adw_toast_dismiss (toast);
}

AdwToast *
cv_window_get_connected_toast (CvWindow *self, const char *machine_id)
{
  g_return_val_if_fail (CV_IS_WINDOW (self), NULL);
  g_return_val_if_fail (machine_id != NULL, NULL);

  if (self->connected_toasts == NULL)
    return NULL;
  return g_hash_table_lookup (self->connected_toasts, machine_id);
}

/* Trust */

static void
on_trust_response (AdwMessageDialog *dialog, const char *response, CvMachineConnection *connection)
{
  const char *fingerprint = g_object_get_data (G_OBJECT (dialog), "fingerprint");

  /* Answered already (Cancel on the row, or the machine went away): nothing to do. */
  if (cv_machine_connection_get_state (connection) != CV_CONNECTION_STATE_NEEDS_TRUST)
    return;
  if (g_str_equal (response, "trust"))
    cv_machine_connection_trust (connection, fingerprint);
  else
    cv_machine_connection_disconnect (connection);
}

static void
on_trust_state (CvMachineConnection *connection, GParamSpec *pspec, GtkWindow *dialog)
{
  if (cv_machine_connection_get_state (connection) != CV_CONNECTION_STATE_NEEDS_TRUST)
    gtk_window_close (dialog);
}

void
cv_window_ask_trust (CvWindow *self, CvMachineConnection *connection, const char *fingerprint)
{
  CvMachine *machine;
  g_autofree char *gateway = NULL;
  g_autofree char *grouped = NULL;
  g_autofree char *sentence = NULL;
  g_autofree char *body = NULL;
  AdwMessageDialog *dialog;

  g_return_if_fail (CV_IS_WINDOW (self));
  g_return_if_fail (CV_IS_MACHINE_CONNECTION (connection));
  g_return_if_fail (fingerprint != NULL);

  machine = cv_machine_connection_get_machine (connection);
  gateway = cv_machine_dup_gateway (machine);
  grouped = cv_ui_format_fingerprint (fingerprint, 4);
  /* Translators: the gateway's address; its key follows. */
  sentence = g_strdup_printf (_ ("The gateway at %s presents this key:"), gateway);
  body = g_markup_printf_escaped ("%s\n\n<tt>%s</tt>\n\n%s", sentence, grouped,
                                  _ ("Compare it with the one your administrator gave you."));

  dialog = ADW_MESSAGE_DIALOG (
    adw_message_dialog_new (GTK_WINDOW (self), _ ("Trust This Gateway?"), NULL));
  adw_message_dialog_set_body_use_markup (dialog, TRUE);
  adw_message_dialog_set_body (dialog, body);
  adw_message_dialog_add_responses (dialog, "cancel", _ ("_Cancel"), "trust", _ ("_Trust"), NULL);
  adw_message_dialog_set_response_appearance (dialog, "trust", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "fingerprint", g_strdup (fingerprint), g_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_trust_response), connection, 0);
  g_signal_connect_object (connection, "notify::state", G_CALLBACK (on_trust_state), dialog, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Delete */

/* The window may be closed before the keyring answers: it is not kept for that. */
static void
on_secret_cleared (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GWeakRef *window_ref = user_data;
  g_autoptr (CvWindow) self = g_weak_ref_get (window_ref);
  g_autoptr (GError) error = NULL;

  g_weak_ref_clear (window_ref);
  g_free (window_ref);
  /* Without a keyring there was only the password for this run, and that is gone. */
  if (!cv_secret_store_clear_finish (CV_SECRET_STORE (source), result, &error)
      && !g_error_matches (error, CV_APP_ERROR, CV_APP_ERROR_NO_KEYRING) && self != NULL)
    cv_window_toast (self, error->message);
}

static void
on_delete_response (AdwMessageDialog *dialog, const char *response, CvWindow *self)
{
  CvMachine *machine = g_object_get_data (G_OBJECT (dialog), "machine");
  CvMachineConnection *connection;
  g_autofree char *title = NULL;
  GWeakRef *window_ref;

  if (!g_str_equal (response, "delete") || self->application == NULL)
    return;
  connection = cv_application_get_connection (self->application, cv_machine_get_id (machine));
  if (connection == NULL)
    return;
  cv_machine_connection_disconnect (connection);
  window_ref = g_new0 (GWeakRef, 1);
  g_weak_ref_init (window_ref, self);
  cv_secret_store_clear_async (cv_application_get_secrets (self->application),
                               cv_machine_get_id (machine), NULL, on_secret_cleared, window_ref);
  cv_machine_store_remove (cv_application_get_store (self->application), machine);
  title = g_strdup_printf (_ ("%s was deleted"), cv_machine_get_name (machine));
  cv_window_toast (self, title);
}

void
cv_window_delete_machine (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CvWindow *self = CV_WINDOW (widget);
  CvMachineConnection *connection = cv_window_lookup_connection (self, parameter);
  CvMachine *machine;
  AdwMessageDialog *dialog;

  if (connection == NULL)
    return;
  machine = cv_machine_connection_get_machine (connection);
  dialog = ADW_MESSAGE_DIALOG (adw_message_dialog_new (GTK_WINDOW (self), NULL, NULL));
  adw_message_dialog_format_heading (dialog, _ ("Delete %s?"), cv_machine_get_name (machine));
  adw_message_dialog_set_body (dialog,
                               _ ("Its services and its password are removed from this computer. "
                                  "Nothing changes on the machine itself or at its gateway."));
  adw_message_dialog_add_responses (dialog, "cancel", _ ("_Cancel"), "delete", _ ("_Delete"), NULL);
  adw_message_dialog_set_response_appearance (dialog, "delete", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "machine", g_object_ref (machine), g_object_unref);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_delete_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Export */

static void
on_export_response (GtkNativeDialog *chooser, int response, CvWindow *self)
{
  CvMachine *machine = g_object_get_data (G_OBJECT (chooser), "machine");

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autoptr (GError) error = NULL;

      if (cv_machine_store_export (machine, file, &error))
        {
          g_autofree char *name = g_file_get_basename (file);
          g_autofree char *title = g_strdup_printf (_ ("Exported to %s"), name);

          cv_window_toast (self, title);
        }
      else
        cv_window_toast (self, error->message);
    }
  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
}

void
cv_window_export_machine (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CvWindow *self = CV_WINDOW (widget);
  CvMachineConnection *connection = cv_window_lookup_connection (self, parameter);
  g_autoptr (GtkFileFilter) filter = NULL;
  g_autofree char *file_name = NULL;
  GtkFileChooserNative *chooser;
  CvMachine *machine;

  if (connection == NULL)
    return;
  machine = cv_machine_connection_get_machine (connection);
  chooser = gtk_file_chooser_native_new (_ ("Export Machine"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SAVE, _ ("_Export"), NULL);
  filter = gtk_file_filter_new ();
  gtk_file_filter_set_name (filter, _ ("Culvert machines"));
  gtk_file_filter_add_pattern (filter, "*" CV_PROVISIONING_FILE_SUFFIX);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  /* A name is not a path: no directory separators in it. */
  file_name = g_strconcat (cv_machine_get_name (machine), CV_PROVISIONING_FILE_SUFFIX, NULL);
  g_strdelimit (file_name, "/\\", '-');
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (chooser), file_name);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_object_set_data_full (G_OBJECT (chooser), "machine", g_object_ref (machine), g_object_unref);
  g_signal_connect_object (chooser, "response", G_CALLBACK (on_export_response), self, 0);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}
