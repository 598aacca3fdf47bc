/* cv-window.c: the main window — the machines list (empty, found, none found, unreadable),
 * a machine's page in a leaflet, the search, toasts; its size kept in GSettings.  The
 * dialogs its actions open are in cv-window-dialogs.c. */
#include "cv-version.h"

#include <glib/gi18n.h>

#include "cv-code-dialog.h"
#include "cv-machine-editor.h"
#include "cv-machine-page.h"
#include "cv-machine-row.h"
#include "cv-settings.h"
#include "cv-share-page.h"
#include "cv-window-private.h"

G_DEFINE_FINAL_TYPE (CvWindow, cv_window, ADW_TYPE_APPLICATION_WINDOW)

static void
cv_window_restore_state (CvWindow *self)
{
  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
}

static void
cv_window_save_state (CvWindow *self)
{
  int width;
  int height;

  /* The default size is the unmaximized size, which is what to come back to. */
  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);

  g_settings_delay (self->settings);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
  g_settings_set_boolean (self->settings, "window-maximized",
                          gtk_window_is_maximized (GTK_WINDOW (self)));
  g_settings_apply (self->settings);
}

CvMachineConnection *
cv_window_lookup_connection (CvWindow *self, GVariant *parameter)
{
  const char *id = g_variant_get_string (parameter, NULL);

  if (self->application == NULL)
    return NULL;
  return cv_application_get_connection (self->application, id);
}

/* Case-folded, so that "front" finds "Front desk PC". */
static gboolean
machine_matches (gpointer item, gpointer user_data)
{
  CvWindow *self = user_data;
  CvMachine *machine = item;
  g_autofree char *name = NULL;
  g_autofree char *gateway = NULL;

  if (self->search_text == NULL)
    return TRUE;
  name = g_utf8_casefold (cv_machine_get_name (machine), -1);
  gateway = g_utf8_casefold (cv_machine_get_gateway_host (machine), -1);
  return strstr (name, self->search_text) != NULL || strstr (gateway, self->search_text) != NULL;
}

static void
cv_window_update_list_page (CvWindow *self)
{
  const GError *load_error = NULL;
  GListModel *machines = NULL;
  const char *page;

  if (self->application != NULL)
    {
      load_error = cv_application_get_load_error (self->application);
      machines = cv_machine_store_get_machines (cv_application_get_store (self->application));
    }

  if (load_error != NULL)
    {
      /* The store's sentence names the file, the cause and what to do. */
      adw_status_page_set_description (self->broken_page, load_error->message);
      page = "broken-store";
    }
  else if (machines == NULL || g_list_model_get_n_items (machines) == 0)
    page = "empty";
  else if (g_list_model_get_n_items (G_LIST_MODEL (self->filtered)) == 0)
    page = "no-results";
  else
    page = "list";
  gtk_stack_set_visible_child_name (self->list_stack, page);
  /* Nothing to search in an empty or unreadable list. */
  gtk_widget_set_sensitive (self->search_button,
                            machines != NULL && g_list_model_get_n_items (machines) > 0);

  /* Nothing may be saved over a file that could not be read. */
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.add-machine", load_error == NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.reload-machines", load_error != NULL);
}

static void
cv_window_check_shown_machine (CvWindow *self)
{
  CvMachineConnection *shown = cv_machine_page_get_connection (self->machine_page);
  CvMachineStore *store;

  if (shown == NULL || self->application == NULL)
    return;
  store = cv_application_get_store (self->application);
  if (cv_machine_store_find (store, cv_machine_get_id (cv_machine_connection_get_machine (shown)))
      != NULL)
    return;
  /* Deleted: its page has nothing left to show. */
  adw_leaflet_set_visible_child_name (self->leaflet, "machines");
  cv_machine_page_set_connection (self->machine_page, NULL);
}

static void
on_machines_changed (CvWindow *self)
{
  cv_window_update_list_page (self);
  cv_window_check_shown_machine (self);
}

static void
on_search_changed (CvWindow *self, GtkSearchEntry *entry)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (entry));

  g_clear_pointer (&self->search_text, g_free);
  if (text != NULL && *text != '\0')
    self->search_text = g_utf8_casefold (text, -1);
  gtk_filter_changed (GTK_FILTER (self->filter), GTK_FILTER_CHANGE_DIFFERENT);
  cv_window_update_list_page (self);
}

/* Enter in the search goes to the first machine found, where Enter connects it. */
static void
on_search_activate (CvWindow *self, GtkSearchEntry *entry)
{
  GtkListBoxRow *first = gtk_list_box_get_row_at_index (self->list_box, 0);

  if (first != NULL)
    gtk_widget_grab_focus (GTK_WIDGET (first));
}

static void
on_row_activated (CvWindow *self, GtkListBoxRow *row, GtkListBox *list_box)
{
  CvMachineConnection *connection = cv_machine_row_get_connection (CV_MACHINE_ROW (row));

  cv_window_show_machine (self, cv_machine_get_id (cv_machine_connection_get_machine (connection)));
}

static GtkWidget *
create_machine_row (gpointer item, gpointer user_data)
{
  CvWindow *self = user_data;
  CvMachineConnection *connection = cv_application_get_connection (self->application,
                                                                   cv_machine_get_id (item));

  return GTK_WIDGET (cv_machine_row_new (connection));
}

/* A bar, not a toast: it stays until dismissed (it explains every password question that
 * follows), and a toast that stays would hold back every toast after it. */
static void
cv_window_show_keyring_error (CvWindow *self)
{
  gboolean missing = self->application != NULL
                     && cv_application_get_keyring_error (self->application) != NULL;

  gtk_revealer_set_reveal_child (self->keyring_revealer, missing && !self->keyring_dismissed);
}

static void
on_keyring_dismissed (CvWindow *self)
{
  self->keyring_dismissed = TRUE;
  cv_window_show_keyring_error (self);
}

static void
cv_window_add_machine (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CvWindow *self = CV_WINDOW (widget);

  gtk_window_present (
    GTK_WINDOW (cv_machine_editor_new (GTK_WINDOW (self), self->application, NULL)));
}

static void
cv_window_search (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CvWindow *self = CV_WINDOW (widget);
  gboolean searching = gtk_search_bar_get_search_mode (self->search_bar);

  if (!gtk_widget_get_sensitive (self->search_button))
    return;

  /* Search lives on the list: go there first. */
  adw_leaflet_set_visible_child_name (self->leaflet, "machines");
  adw_view_stack_set_visible_child_name (self->view_stack, "connect");
  gtk_search_bar_set_search_mode (self->search_bar, !searching);
  if (!searching)
    gtk_widget_grab_focus (GTK_WIDGET (self->search_entry));
}

static void
cv_window_show_machines (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CvWindow *self = CV_WINDOW (widget);

  adw_leaflet_set_visible_child_name (self->leaflet, "machines");
}

static void
cv_window_open_machine (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  cv_window_show_machine (CV_WINDOW (widget), g_variant_get_string (parameter, NULL));
}

static void
cv_window_connect_machine (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CvMachineConnection *connection = cv_window_lookup_connection (CV_WINDOW (widget), parameter);

  if (connection != NULL)
    cv_machine_connection_connect (connection);
}

static void
cv_window_disconnect_machine (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CvMachineConnection *connection = cv_window_lookup_connection (CV_WINDOW (widget), parameter);

  if (connection != NULL)
    cv_machine_connection_disconnect (connection);
}

static void
cv_window_edit_machine (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CvWindow *self = CV_WINDOW (widget);
  CvMachineConnection *connection = cv_window_lookup_connection (self, parameter);

  if (connection == NULL)
    return;
  gtk_window_present (
    GTK_WINDOW (cv_machine_editor_new (GTK_WINDOW (self), self->application,
                                       cv_machine_connection_get_machine (connection))));
}

static void
cv_window_reload_machines (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CvWindow *self = CV_WINDOW (widget);

  if (self->application != NULL)
    cv_application_reload_machines (self->application);
}

static void
cv_window_open_service (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CvWindow *self = CV_WINDOW (widget);
  g_autoptr (CvServiceLink) link = NULL;
  CvMachineConnection *connection;
  const char *id;
  guint position;

  g_variant_get (parameter, "(&su)", &id, &position);
  if (self->application == NULL)
    return;
  connection = cv_application_get_connection (self->application, id);
  if (connection == NULL)
    return;
  link = g_list_model_get_item (cv_machine_connection_get_services (connection), position);
  if (link != NULL)
    cv_window_launch_service (self, connection, link);
}

static void
cv_window_connect_code (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  gtk_window_present (cv_code_dialog_new (GTK_WINDOW (widget)));
}

static gboolean
cv_window_close_request (GtkWindow *window)
{
  if (cv_window_close_asks_first (CV_WINDOW (window)))
    return TRUE;
  cv_window_save_state (CV_WINDOW (window));

  return GTK_WINDOW_CLASS (cv_window_parent_class)->close_request (window);
}

static void
cv_window_dispose (GObject *object)
{
  CvWindow *self = CV_WINDOW (object);

  if (self->list_box != NULL)
    gtk_list_box_bind_model (self->list_box, NULL, NULL, NULL, NULL);
  if (self->application != NULL)
    g_object_remove_weak_pointer (G_OBJECT (self->application), (gpointer *) &self->application);
  self->application = NULL;
  g_clear_object (&self->filtered);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->connected_toasts, g_hash_table_unref);
  /* libadwaita 1.2's switchers let go of their stack only when they go, after the stack
   * (their box disposes them later) is gone: they would unparent buttons of pages that are
   * no more. */
  if (self->switcher_bar != NULL)
    adw_view_switcher_bar_set_stack (self->switcher_bar, NULL);
  if (self->switcher_title != NULL)
    adw_view_switcher_title_set_stack (self->switcher_title, NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), CV_TYPE_WINDOW);

  G_OBJECT_CLASS (cv_window_parent_class)->dispose (object);
}

static void
cv_window_finalize (GObject *object)
{
  CvWindow *self = CV_WINDOW (object);

  g_free (self->search_text);

  G_OBJECT_CLASS (cv_window_parent_class)->finalize (object);
}

static void
cv_window_class_init (CvWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = cv_window_dispose;
  object_class->finalize = cv_window_finalize;
  window_class->close_request = cv_window_close_request;

  g_type_ensure (CV_TYPE_MACHINE_PAGE);
  g_type_ensure (CV_TYPE_SHARE_PAGE);
  gtk_widget_class_set_template_from_resource (widget_class, "/org/culvert/Culvert/cv-window.ui");
  gtk_widget_class_bind_template_child (widget_class, CvWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, CvWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, CvWindow, primary_menu_button);
  gtk_widget_class_bind_template_child (widget_class, CvWindow, add_button);
  gtk_widget_class_bind_template_child (widget_class, CvWindow, search_button);
  gtk_widget_class_bind_template_child (widget_class, CvWindow, keyring_revealer);
  gtk_widget_class_bind_template_child (widget_class, CvWindow, search_bar);
  gtk_widget_class_bind_template_child (widget_class, CvWindow, search_entry);
  gtk_widget_class_bind_template_child (widget_class, CvWindow, list_stack);
  gtk_widget_class_bind_template_child (widget_class, CvWindow, list_box);
  gtk_widget_class_bind_template_child (widget_class, CvWindow, broken_page);
  gtk_widget_class_bind_template_child (widget_class, CvWindow, machine_page);
  gtk_widget_class_bind_template_child (widget_class, CvWindow, view_stack);
  gtk_widget_class_bind_template_child (widget_class, CvWindow, switcher_title);
  gtk_widget_class_bind_template_child (widget_class, CvWindow, switcher_bar);
  gtk_widget_class_bind_template_child (widget_class, CvWindow, share_page);
  gtk_widget_class_bind_template_child (widget_class, CvWindow, sharing_revealer);
  gtk_widget_class_bind_template_child (widget_class, CvWindow, sharing_label);
  gtk_widget_class_bind_template_child (widget_class, CvWindow, sharing_stop_button);
  gtk_widget_class_bind_template_callback (widget_class, on_search_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_search_activate);
  gtk_widget_class_bind_template_callback (widget_class, on_row_activated);
  gtk_widget_class_bind_template_callback (widget_class, on_keyring_dismissed);

  gtk_widget_class_install_action (widget_class, "win.add-machine", NULL, cv_window_add_machine);
  gtk_widget_class_install_action (widget_class, "win.search", NULL, cv_window_search);
  gtk_widget_class_install_action (widget_class, "win.show-machines", NULL,
                                   cv_window_show_machines);
  gtk_widget_class_install_action (widget_class, "win.reload-machines", NULL,
                                   cv_window_reload_machines);
  gtk_widget_class_install_action (widget_class, "win.open-machine", "s", cv_window_open_machine);
  gtk_widget_class_install_action (widget_class, "win.connect-machine", "s",
                                   cv_window_connect_machine);
  gtk_widget_class_install_action (widget_class, "win.disconnect-machine", "s",
                                   cv_window_disconnect_machine);
  gtk_widget_class_install_action (widget_class, "win.edit-machine", "s", cv_window_edit_machine);
  gtk_widget_class_install_action (widget_class, "win.export-machine", "s",
                                   cv_window_export_machine);
  gtk_widget_class_install_action (widget_class, "win.delete-machine", "s",
                                   cv_window_delete_machine);
  gtk_widget_class_install_action (widget_class, "win.connect-code", NULL, cv_window_connect_code);
  gtk_widget_class_install_action (widget_class, "win.open-service", "(su)",
                                   cv_window_open_service);
  gtk_widget_class_install_action (widget_class, "win.stop-sharing", NULL,
                                   cv_window_stop_sharing_action);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, GDK_CONTROL_MASK, "win.add-machine",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK, "win.search",
                                       NULL);
}

static void
cv_window_init (CvWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->connected_toasts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->settings = cv_settings_new ();
  cv_window_restore_state (self);
  gtk_search_bar_connect_entry (self->search_bar, GTK_EDITABLE (self->search_entry));
  /* Typing on the list starts a search, as in GNOME's other lists. */
  gtk_search_bar_set_key_capture_widget (self->search_bar, GTK_WIDGET (self->list_stack));
  cv_window_follow_sharing (self);
}

/* What the window shows comes from the application, which is only set after init. */
static void
cv_window_bind_application (CvWindow *self, CvApplication *application)
{
  GListModel *machines = cv_machine_store_get_machines (cv_application_get_store (application));

  self->application = application;
  g_object_add_weak_pointer (G_OBJECT (application), (gpointer *) &self->application);

  self->filter = gtk_custom_filter_new (machine_matches, self, NULL);
  self->filtered = gtk_filter_list_model_new (g_object_ref (machines), GTK_FILTER (self->filter));
  g_signal_connect_object (self->filtered, "items-changed", G_CALLBACK (on_machines_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (machines, "items-changed", G_CALLBACK (on_machines_changed), self,
                           G_CONNECT_SWAPPED);
  gtk_list_box_bind_model (self->list_box, G_LIST_MODEL (self->filtered), create_machine_row, self,
                           NULL);

  g_signal_connect_object (application, "notify::load-error",
                           G_CALLBACK (cv_window_update_list_page), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (application, "notify::keyring-error",
                           G_CALLBACK (cv_window_show_keyring_error), self, G_CONNECT_SWAPPED);
  cv_window_update_list_page (self);
  cv_window_show_keyring_error (self);
}

CvWindow *
cv_window_new (CvApplication *application)
{
  CvWindow *self;

  g_return_val_if_fail (CV_IS_APPLICATION (application), NULL);

  self = g_object_new (CV_TYPE_WINDOW, "application", application, NULL);
  cv_window_bind_application (self, application);
  return self;
}

void
cv_window_add_toast (CvWindow *self, AdwToast *toast)
{
  g_return_if_fail (CV_IS_WINDOW (self));
  g_return_if_fail (ADW_IS_TOAST (toast));

  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

void
cv_window_show_machine (CvWindow *self, const char *machine_id)
{
  CvMachineConnection *connection;

  g_return_if_fail (CV_IS_WINDOW (self));
  g_return_if_fail (machine_id != NULL);

  if (self->application == NULL)
    return;
  connection = cv_application_get_connection (self->application, machine_id);
  if (connection == NULL)
    return;
  cv_machine_page_set_connection (self->machine_page, connection);
  adw_leaflet_set_visible_child_name (self->leaflet, "machine");
}
