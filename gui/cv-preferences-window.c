/* cv-preferences-window.c: the preferences window; its switches are the GSettings keys. */
#include "cv-version.h"

#include "cv-preferences-window.h"
#include "cv-settings.h"

struct _CvPreferencesWindow {
  AdwPreferencesWindow parent_instance;

  GSettings *settings;

  /* template children */
  AdwActionRow *open_services_row;
  AdwActionRow *notify_on_drop_row;
  AdwActionRow *gateway_autostart_row;
  GtkSwitch *open_services_switch;
  GtkSwitch *notify_on_drop_switch;
  GtkSwitch *gateway_autostart_switch;
  AdwEntryRow *code_gateway_row;
  AdwEntryRow *code_fingerprint_row;
  AdwEntryRow *share_gateway_row;
  AdwEntryRow *share_fingerprint_row;
};

G_DEFINE_FINAL_TYPE (CvPreferencesWindow, cv_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static void
cv_preferences_window_dispose (GObject *object)
{
  CvPreferencesWindow *self = CV_PREFERENCES_WINDOW (object);

  g_clear_object (&self->settings);

  G_OBJECT_CLASS (cv_preferences_window_parent_class)->dispose (object);
}

static void
cv_preferences_window_class_init (CvPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cv_preferences_window_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/culvert/Culvert/cv-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, CvPreferencesWindow, open_services_row);
  gtk_widget_class_bind_template_child (widget_class, CvPreferencesWindow, notify_on_drop_row);
  gtk_widget_class_bind_template_child (widget_class, CvPreferencesWindow, gateway_autostart_row);
  gtk_widget_class_bind_template_child (widget_class, CvPreferencesWindow, open_services_switch);
  gtk_widget_class_bind_template_child (widget_class, CvPreferencesWindow, notify_on_drop_switch);
  gtk_widget_class_bind_template_child (widget_class, CvPreferencesWindow,
                                        gateway_autostart_switch);
  gtk_widget_class_bind_template_child (widget_class, CvPreferencesWindow, code_gateway_row);
  gtk_widget_class_bind_template_child (widget_class, CvPreferencesWindow, code_fingerprint_row);
  gtk_widget_class_bind_template_child (widget_class, CvPreferencesWindow, share_gateway_row);
  gtk_widget_class_bind_template_child (widget_class, CvPreferencesWindow, share_fingerprint_row);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_w, GDK_CONTROL_MASK, "window.close",
                                       NULL);
}

static void
cv_preferences_window_init (CvPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = cv_settings_new ();
  g_settings_bind (self->settings, "open-services-on-connect", self->open_services_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "notify-on-drop", self->notify_on_drop_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "gateway-autostart", self->gateway_autostart_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  /* Checked when a code is claimed, where the error can say what is wrong. */
  g_settings_bind (self->settings, "code-gateway", self->code_gateway_row, "text",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "code-gateway-fingerprint", self->code_fingerprint_row, "text",
                   G_SETTINGS_BIND_DEFAULT);
  /* The share page checks them (and says what is wrong) each time they change. */
  g_settings_bind (self->settings, "share-gateway-address", self->share_gateway_row, "text",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "share-gateway-fingerprint", self->share_fingerprint_row, "text",
                   G_SETTINGS_BIND_DEFAULT);
}

GtkWindow *
cv_preferences_window_new (GtkWindow *parent)
{
  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);

  return g_object_new (CV_TYPE_PREFERENCES_WINDOW, "transient-for", parent, NULL);
}
