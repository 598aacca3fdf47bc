/* cv-window.c: the main window; built from cv-window.ui, its size kept in GSettings. */
#include "cv-version.h"

#include "cv-settings.h"
#include "cv-window.h"

struct _CvWindow {
  GtkApplicationWindow parent_instance;

  GSettings *settings;

  /* template children */
  GtkMenuButton *primary_menu_button;
  GtkStack *stack;
};

G_DEFINE_FINAL_TYPE (CvWindow, cv_window, GTK_TYPE_APPLICATION_WINDOW)

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

static gboolean
cv_window_close_request (GtkWindow *window)
{
  cv_window_save_state (CV_WINDOW (window));

  return GTK_WINDOW_CLASS (cv_window_parent_class)->close_request (window);
}

static void
cv_window_dispose (GObject *object)
{
  CvWindow *self = CV_WINDOW (object);

  /* No gtk_widget_dispose_template (): GtkWindow unparents its own child. */
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (cv_window_parent_class)->dispose (object);
}

static void
cv_window_class_init (CvWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = cv_window_dispose;
  window_class->close_request = cv_window_close_request;

  gtk_widget_class_set_template_from_resource (widget_class, "/org/culvert/Culvert/cv-window.ui");
  gtk_widget_class_bind_template_child (widget_class, CvWindow, primary_menu_button);
  gtk_widget_class_bind_template_child (widget_class, CvWindow, stack);
}

static void
cv_window_init (CvWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = cv_settings_new ();
  cv_window_restore_state (self);
}

CvWindow *
cv_window_new (CvApplication *application)
{
  g_return_val_if_fail (CV_IS_APPLICATION (application), NULL);

  return g_object_new (CV_TYPE_WINDOW, "application", application, NULL);
}
