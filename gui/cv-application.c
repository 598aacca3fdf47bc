/* cv-application.c: the app's startup (the saved machines loaded, the keyring checked, the
 * gateway started if asked), its actions, and opening provisioning files. */
#include "cv-version.h"

#include <glib/gi18n.h>

#include "cv-app-error.h"
#include "cv-application-private.h"
#include "cv-gateway-window.h"
#include "cv-machine-editor.h"
#include "cv-preferences-window.h"
#include "cv-settings.h"
#include "cv-share-gateway.h"
#include "cv-window.h"

G_DEFINE_FINAL_TYPE (CvApplication, cv_application, ADW_TYPE_APPLICATION)

enum {
  PROP_0,
  PROP_STORE,
  PROP_LOAD_ERROR,
  PROP_SECRETS,
  PROP_KEYRING_ERROR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* The one main window: the active one, else any, else NULL. */
CvWindow *
cv_application_find_window (CvApplication *self)
{
  GtkWindow *active = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (CV_IS_WINDOW (active))
    return CV_WINDOW (active);
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l != NULL; l = l->next)
    if (CV_IS_WINDOW (l->data))
      return l->data;
  return NULL;
}

CvWindow *
cv_application_ensure_window (CvApplication *self)
{
  CvWindow *window = cv_application_find_window (self);

  if (window == NULL)
    window = cv_window_new (self);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

void
cv_application_toast (CvApplication *self, const char *title)
{
  CvWindow *window = cv_application_find_window (self);

  if (window == NULL)
    g_message ("%s", title);
  else
    cv_window_toast (window, title);
}

static void
on_save_failed (CvMachineStore *store, const GError *error, CvApplication *self)
{
  cv_application_toast (self, error->message);
}

static void
on_keyring_checked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CvApplication *self = user_data;
  g_autoptr (GError) error = NULL;

  if (!cv_secret_store_check_finish (CV_SECRET_STORE (source), result, &error)
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_clear_error (&self->keyring_error);
      self->keyring_error = g_steal_pointer (&error);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_KEYRING_ERROR]);
    }
  g_object_unref (self);
}

static void
cv_application_load_machines (CvApplication *self)
{
  g_autoptr (GError) error = NULL;

  if (!cv_machine_store_load (self->store, &error))
    {
      g_message ("%s", error->message);
      self->load_error = g_steal_pointer (&error);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOAD_ERROR]);
      return;
    }
  cv_application_follow_machines (self);
}

/* "Start the gateway when Culvert starts" (the preferences): before any window, so that a
 * failure can only be logged; the gateway window shows it too ("error"). */
static void
cv_application_autostart_gateway (CvApplication *self)
{
  g_autoptr (GError) error = NULL;

  if (!cv_embedded_gateway_start (cv_application_get_gateway (self), &error))
    g_message ("%s", error->message);
}

static GtkWindow *
active_window (CvApplication *self)
{
  return GTK_WINDOW (cv_application_find_window (self));
}

static void
cv_application_preferences (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  CvApplication *self = CV_APPLICATION (user_data);

  gtk_window_present (cv_preferences_window_new (active_window (self)));
}

static void
cv_application_gateway (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  CvApplication *self = CV_APPLICATION (user_data);

  gtk_window_present (cv_gateway_window_new (active_window (self), self));
}

static void
on_import_response (GtkNativeDialog *chooser, int response, gpointer user_data)
{
  CvApplication *self = CV_APPLICATION (user_data);

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));

      cv_application_import_file (self, file);
    }
  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
  g_object_unref (self);
}

static void
cv_application_import (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  CvApplication *self = CV_APPLICATION (user_data);
  g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();
  GtkFileChooserNative *chooser;

  gtk_file_filter_set_name (filter, _ ("Culvert machines"));
  gtk_file_filter_add_pattern (filter, "*" CV_PROVISIONING_FILE_SUFFIX);
  chooser = gtk_file_chooser_native_new (_ ("Import a Machine"), active_window (self),
                                         GTK_FILE_CHOOSER_ACTION_OPEN, _ ("_Import"), NULL);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (on_import_response), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

/* GTK 4.8's shortcuts window has a search toggle with only an icon and no name for a
 * screen reader: it gets the one GTK's later versions give it. */
static void
cv_application_name_shortcuts_search (GtkWindow *shortcuts)
{
  GtkWidget *titlebar = gtk_window_get_titlebar (shortcuts);

  if (titlebar == NULL)
    return;
  for (GtkWidget *child = gtk_widget_get_first_child (titlebar); child != NULL;)
    {
      if (GTK_IS_TOGGLE_BUTTON (child))
        {
          if (gtk_widget_get_tooltip_text (child) == NULL)
            gtk_widget_set_tooltip_text (child, _ ("Search Shortcuts"));
          return;
        }
      /* Depth first through the header bar's boxes. */
      if (gtk_widget_get_first_child (child) != NULL)
        child = gtk_widget_get_first_child (child);
      else
        {
          while (child != titlebar && gtk_widget_get_next_sibling (child) == NULL)
            child = gtk_widget_get_parent (child);
          child = child == titlebar ? NULL : gtk_widget_get_next_sibling (child);
        }
    }
}

static void
cv_application_shortcuts (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  CvApplication *self = CV_APPLICATION (user_data);
  g_autoptr (GtkBuilder) builder = NULL;
  GtkWindow *shortcuts;

  builder = gtk_builder_new_from_resource ("/org/culvert/Culvert/cv-shortcuts-window.ui");
  shortcuts = GTK_WINDOW (gtk_builder_get_object (builder, "shortcuts_window"));
  gtk_window_set_transient_for (shortcuts, active_window (self));
  cv_application_name_shortcuts_search (shortcuts);
  gtk_window_present (shortcuts);
}

static void
cv_application_about (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  CvApplication *self = CV_APPLICATION (user_data);
  static const char *const developers[] = { "Culvert developers", NULL };
  GtkWidget *about;

  /* clang-format off */
  about = g_object_new (ADW_TYPE_ABOUT_WINDOW,
                        "transient-for", active_window (self),
                        "modal", TRUE,
                        "application-name", _ ("Culvert"),
                        "application-icon", CV_APPLICATION_ID,
                        "version", CV_VERSION,
                        "developer-name", _ ("Culvert developers"),
                        "comments", _ ("Reach the computers you look after through firewalls "
                                       "and NAT: both sides dial out to a gateway, and only "
                                       "encrypted traffic passes it."),
                        "copyright", _ ("© 2026 Culvert developers"),
                        "license-type", GTK_LICENSE_GPL_3_0,
                        "developers", developers,
                        "translator-credits", _ ("translator-credits"),
                        NULL);
  /* clang-format on */
  gtk_window_present (GTK_WINDOW (about));
}

static void
cv_application_show_machine (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  CvApplication *self = CV_APPLICATION (user_data);

  cv_window_show_machine (cv_application_ensure_window (self),
                          g_variant_get_string (parameter, NULL));
}

/* The sharing notification's button: the window holds what is shared. */
static void
cv_application_stop_sharing (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  CvWindow *window = cv_application_find_window (CV_APPLICATION (user_data));

  if (window != NULL)
    cv_window_stop_sharing (window);
}

static void
cv_application_quit (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  CvApplication *self = CV_APPLICATION (user_data);
  g_autoptr (GPtrArray) windows = g_ptr_array_new ();

  /* Close rather than destroy, so every window saves its state on the way out;
   * the application ends when its last window is gone.  Closing one window can
   * destroy another, hence the references. */
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l != NULL; l = l->next)
    g_ptr_array_add (windows, g_object_ref (l->data));
  for (guint i = 0; i < windows->len; i++)
    gtk_window_close (windows->pdata[i]);
  /* Our references are the last ones now.  A window over another one (the gateway window,
   * an editor) lets go of its parent when it is finalized, so it must go first: GTK 4.8
   * would otherwise disconnect from a parent that is gone already. */
  for (guint i = 0; i < windows->len; i++)
    if (gtk_window_get_transient_for (windows->pdata[i]) != NULL)
      g_clear_object (&windows->pdata[i]);
  for (guint i = 0; i < windows->len; i++)
    g_clear_object (&windows->pdata[i]);
}

static const GActionEntry app_actions[] = {
  { .name = "preferences", .activate = cv_application_preferences },
  { .name = "gateway", .activate = cv_application_gateway },
  { .name = "import", .activate = cv_application_import },
  { .name = "shortcuts", .activate = cv_application_shortcuts },
  { .name = "about", .activate = cv_application_about },
  { .name = "show-machine", .activate = cv_application_show_machine, .parameter_type = "s" },
  { .name = "stop-sharing", .activate = cv_application_stop_sharing },
  { .name = "quit", .activate = cv_application_quit },
};

static void
cv_application_startup (GApplication *application)
{
  CvApplication *self = CV_APPLICATION (application);
  static const struct {
    const char *action;
    const char *accels[2];
  } accels[] = {
    { "app.preferences", { "<Control>comma", NULL } },
    { "app.import", { "<Control>o", NULL } },
    { "app.shortcuts", { "<Control>question", NULL } },
    { "app.quit", { "<Control>q", NULL } },
  };

  G_APPLICATION_CLASS (cv_application_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (application), app_actions,
                                   G_N_ELEMENTS (app_actions), application);
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (GTK_APPLICATION (application), accels[i].action,
                                           accels[i].accels);

  self->cancellable = g_cancellable_new ();
  self->settings = cv_settings_new ();
  self->store = cv_machine_store_new (NULL);
  g_signal_connect_object (self->store, "save-failed", G_CALLBACK (on_save_failed), self, 0);
  self->secrets = cv_secret_store_new ();
  cv_application_load_machines (self);
  if (g_settings_get_boolean (self->settings, "gateway-autostart"))
    cv_application_autostart_gateway (self);
  cv_secret_store_check_async (self->secrets, self->cancellable, on_keyring_checked,
                               g_object_ref (self));
}

static void
cv_application_shutdown (GApplication *application)
{
  CvApplication *self = CV_APPLICATION (application);

  g_cancellable_cancel (self->cancellable);
  /* Every tunnel and listener ends with the app, not whenever the last reference goes. */
  g_hash_table_remove_all (self->connections);
  if (self->gateway != NULL)
    cv_embedded_gateway_stop (self->gateway);

  G_APPLICATION_CLASS (cv_application_parent_class)->shutdown (application);
}

static void
cv_application_activate (GApplication *application)
{
  cv_application_ensure_window (CV_APPLICATION (application));
}

static void
cv_application_open (GApplication *application, GFile **files, int n_files, const char *hint)
{
  CvApplication *self = CV_APPLICATION (application);

  cv_application_ensure_window (self);
  for (int i = 0; i < n_files; i++)
    cv_application_import_file (self, files[i]);
}

static void
cv_application_constructed (GObject *object)
{
  G_OBJECT_CLASS (cv_application_parent_class)->constructed (object);

  /* The templates, style.css and icons are there whatever the id (a test runs the app under
   * an id of its own); GApplication would derive the path from the id. */
  g_application_set_resource_base_path (G_APPLICATION (object), "/org/culvert/Culvert");
}

static void
cv_application_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvApplication *self = CV_APPLICATION (object);

  switch (prop_id)
    {
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    case PROP_LOAD_ERROR:
      g_value_set_boxed (value, self->load_error);
      break;
    case PROP_SECRETS:
      g_value_set_object (value, self->secrets);
      break;
    case PROP_KEYRING_ERROR:
      g_value_set_boxed (value, self->keyring_error);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_application_dispose (GObject *object)
{
  CvApplication *self = CV_APPLICATION (object);

  g_clear_pointer (&self->connections, g_hash_table_unref);
  g_clear_pointer (&self->notifications, g_hash_table_unref);
  g_clear_object (&self->gateway);
  g_clear_object (&self->store);
  g_clear_object (&self->secrets);
  g_clear_object (&self->settings);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (cv_application_parent_class)->dispose (object);
}

static void
cv_application_finalize (GObject *object)
{
  CvApplication *self = CV_APPLICATION (object);

  g_clear_error (&self->load_error);
  g_clear_error (&self->keyring_error);

  G_OBJECT_CLASS (cv_application_parent_class)->finalize (object);
}

static void
cv_application_class_init (CvApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->constructed = cv_application_constructed;
  object_class->get_property = cv_application_get_property;
  object_class->dispose = cv_application_dispose;
  object_class->finalize = cv_application_finalize;
  app_class->startup = cv_application_startup;
  app_class->shutdown = cv_application_shutdown;
  app_class->activate = cv_application_activate;
  app_class->open = cv_application_open;

  properties[PROP_STORE] = g_param_spec_object ("store", NULL, NULL, CV_TYPE_MACHINE_STORE,
                                                G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                                                  | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_LOAD_ERROR] = g_param_spec_boxed ("load-error", NULL, NULL, G_TYPE_ERROR,
                                                    G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                                                      | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_SECRETS] = g_param_spec_object ("secrets", NULL, NULL, CV_TYPE_SECRET_STORE,
                                                  G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                                                    | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_KEYRING_ERROR] = g_param_spec_boxed ("keyring-error", NULL, NULL, G_TYPE_ERROR,
                                                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                                                         | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cv_application_init (CvApplication *self)
{
  self->connections = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             cv_application_end_connection);
  self->notifications = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
}

CvApplication *
cv_application_new (void)
{
  /* clang-format off */
  return g_object_new (CV_TYPE_APPLICATION,
                       "application-id", CV_APPLICATION_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       NULL);
  /* clang-format on */
}

CvMachineStore *
cv_application_get_store (CvApplication *self)
{
  g_return_val_if_fail (CV_IS_APPLICATION (self), NULL);

  return self->store;
}

const GError *
cv_application_get_load_error (CvApplication *self)
{
  g_return_val_if_fail (CV_IS_APPLICATION (self), NULL);

  return self->load_error;
}

gboolean
cv_application_reload_machines (CvApplication *self)
{
  g_return_val_if_fail (CV_IS_APPLICATION (self), FALSE);

  if (self->load_error == NULL)
    return TRUE;
  g_clear_error (&self->load_error);
  cv_application_load_machines (self);
  if (self->load_error == NULL)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOAD_ERROR]);
  return self->load_error == NULL;
}

CvSecretStore *
cv_application_get_secrets (CvApplication *self)
{
  g_return_val_if_fail (CV_IS_APPLICATION (self), NULL);

  return self->secrets;
}

const GError *
cv_application_get_keyring_error (CvApplication *self)
{
  g_return_val_if_fail (CV_IS_APPLICATION (self), NULL);

  return self->keyring_error;
}

CvEmbeddedGateway *
cv_application_get_gateway (CvApplication *self)
{
  g_autoptr (GError) error = NULL;

  g_return_val_if_fail (CV_IS_APPLICATION (self), NULL);

  if (self->gateway != NULL)
    return self->gateway;
  self->gateway = cv_embedded_gateway_new (NULL);
  if (!cv_embedded_gateway_load (self->gateway, &error))
    {
      g_message ("%s", error->message);
      cv_application_toast (self, error->message);
    }
  /* The settings are the one place the listen address lives; the gateway reads them at
   * its next start. */
  g_settings_bind (self->settings, "gateway-listen-address", self->gateway, "listen-host",
                   G_SETTINGS_BIND_GET);
  g_settings_bind (self->settings, "gateway-listen-port", self->gateway, "listen-port",
                   G_SETTINGS_BIND_GET);
  return self->gateway;
}

void
cv_application_import_file (CvApplication *self, GFile *file)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CvMachine) machine = NULL;
  g_autoptr (CvShareGateway) share_gateway = NULL;
  g_autofree char *notice = NULL;
  gboolean has_machine = TRUE;
  CvWindow *window;
  GtkWindow *editor;

  g_return_if_fail (CV_IS_APPLICATION (self));
  g_return_if_fail (G_IS_FILE (file));

  window = cv_application_ensure_window (self);
  /* A helpdesk's file may say which gateway "Share this computer" uses, beside or instead
   * of a machine: the preferences take it at once (the share page follows them). */
  if (!cv_share_gateway_import (file, self->settings, &share_gateway, &has_machine, &error))
    {
      cv_application_toast (self, error->message);
      return;
    }
  if (share_gateway != NULL)
    {
      g_autofree char *text = NULL;

      text = g_strdup_printf (_ ("Sharing this computer now goes through the gateway at %s."),
                              share_gateway->address);
      cv_application_toast (self, text);
      if (!has_machine)
        {
          cv_window_show_share (window);
          return;
        }
    }
  if (self->load_error != NULL)
    {
      /* Saving it would mean writing over the file that could not be read. */
      cv_application_toast (self, _ ("Machines cannot be imported until the saved machines "
                                     "can be read again."));
      return;
    }
  machine = cv_machine_store_import (file, &notice, &error);
  if (machine == NULL)
    {
      cv_application_toast (self, error->message);
      return;
    }
  editor = cv_machine_editor_new (GTK_WINDOW (window), self, machine);
  gtk_window_present (editor);
  /* Over the editor, where the services it speaks of are: a toast on the window behind
   * would go unseen. */
  if (notice != NULL)
    {
      GtkWidget *dialog = adw_message_dialog_new (editor, _ ("Commands Not Imported"), notice);

      adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _ ("_Close"));
      gtk_window_present (GTK_WINDOW (dialog));
    }
}
