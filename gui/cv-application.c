/* cv-application.c: app-wide actions (about, quit) and the main window. */
#include "cv-version.h"

#include <glib/gi18n.h>

#include "cv-application.h"
#include "cv-settings.h"
#include "cv-window.h"

struct _CvApplication {
  GtkApplication parent_instance;

  CvMachineStore *store;
  CvSecretStore *secrets;
  CvEmbeddedGateway *gateway;
  GSettings *settings;
};

G_DEFINE_FINAL_TYPE (CvApplication, cv_application, GTK_TYPE_APPLICATION)

static void
cv_application_about (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  CvApplication *self = CV_APPLICATION (user_data);
  static const char *const developers[] = { "Culvert developers", NULL };
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  GtkWidget *about;

  /* clang-format off */
  about = g_object_new (GTK_TYPE_ABOUT_DIALOG,
                        "transient-for", parent,
                        "modal", TRUE,
                        "destroy-with-parent", TRUE,
                        "program-name", _ ("Culvert"),
                        "logo-icon-name", CV_APPLICATION_ID,
                        "version", CV_VERSION,
                        "comments", _ ("Carry TCP connections under firewalls and NAT"),
                        "copyright", _ ("© 2026 Culvert developers"),
                        "license-type", GTK_LICENSE_GPL_3_0,
                        "authors", developers,
                        "translator-credits", _ ("translator-credits"),
                        NULL);
  /* clang-format on */
  gtk_window_present (GTK_WINDOW (about));
}

static void
cv_application_quit (GSimpleAction *action, GVariant *parameter, gpointer user_data)
{
  CvApplication *self = CV_APPLICATION (user_data);
  g_autolist (GtkWindow) windows = NULL;

  /* Close rather than destroy, so every window saves its state on the way out;
   * the application ends when its last window is gone.  Closing one window can
   * destroy another, hence the references. */
  for (GList *l = gtk_application_get_windows (GTK_APPLICATION (self)); l != NULL; l = l->next)
    windows = g_list_prepend (windows, g_object_ref (l->data));
  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (l->data);
}

static const GActionEntry app_actions[] = {
  { .name = "about", .activate = cv_application_about },
  { .name = "quit", .activate = cv_application_quit },
};

static void
cv_application_startup (GApplication *application)
{
  static const char *const quit_accels[] = { "<Control>q", NULL };

  G_APPLICATION_CLASS (cv_application_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (application), app_actions,
                                   G_N_ELEMENTS (app_actions), application);
  gtk_application_set_accels_for_action (GTK_APPLICATION (application), "app.quit", quit_accels);
}

static void
cv_application_activate (GApplication *application)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (application));

  if (window == NULL)
    window = GTK_WINDOW (cv_window_new (CV_APPLICATION (application)));

  gtk_window_present (window);
}

static void
cv_application_dispose (GObject *object)
{
  CvApplication *self = CV_APPLICATION (object);

  if (self->gateway != NULL)
    cv_embedded_gateway_stop (self->gateway);
  g_clear_object (&self->gateway);
  g_clear_object (&self->secrets);
  g_clear_object (&self->store);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (cv_application_parent_class)->dispose (object);
}

static void
cv_application_class_init (CvApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = cv_application_dispose;

  app_class->startup = cv_application_startup;
  app_class->activate = cv_application_activate;
}

static void
cv_application_init (CvApplication *self)
{
}

CvApplication *
cv_application_new (void)
{
  /* clang-format off */
  return g_object_new (CV_TYPE_APPLICATION,
                       "application-id", CV_APPLICATION_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       NULL);
  /* clang-format on */
}

CvMachineStore *
cv_application_get_store (CvApplication *self)
{
  g_return_val_if_fail (CV_IS_APPLICATION (self), NULL);

  if (self->store == NULL)
    {
      g_autoptr (GError) error = NULL;

      self->store = cv_machine_store_new (NULL);
      /* A broken file is left alone by the store and never overwritten; the list starts
       * empty and the reason is in the log. */
      if (!cv_machine_store_load (self->store, &error))
        g_message ("%s", error->message);
    }
  return self->store;
}

CvSecretStore *
cv_application_get_secrets (CvApplication *self)
{
  g_return_val_if_fail (CV_IS_APPLICATION (self), NULL);

  if (self->secrets == NULL)
    self->secrets = cv_secret_store_new ();
  return self->secrets;
}

CvEmbeddedGateway *
cv_application_get_gateway (CvApplication *self)
{
  g_return_val_if_fail (CV_IS_APPLICATION (self), NULL);

  if (self->gateway == NULL)
    {
      g_autoptr (GError) error = NULL;

      self->gateway = cv_embedded_gateway_new (NULL);
      if (!cv_embedded_gateway_load (self->gateway, &error))
        g_message ("%s", error->message);
      if (self->settings == NULL)
        self->settings = cv_settings_new ();
      /* The settings are the one place the listen address lives; the gateway reads them
       * at its next start. */
      g_settings_bind (self->settings, "gateway-listen-address", self->gateway, "listen-host",
                       G_SETTINGS_BIND_GET);
      g_settings_bind (self->settings, "gateway-listen-port", self->gateway, "listen-port",
                       G_SETTINGS_BIND_GET);
    }
  return self->gateway;
}
