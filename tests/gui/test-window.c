/* test-window.c: the main window on a real display: shown, drawn, About, saved, closed. */
#include "cv-version.h"

#include <gtk/gtk.h>

#include "cv-application.h"
#include "cv-window.h"

/* How long any one wait may take before the test fails instead of hanging. */
#define WAIT_SECONDS 15

typedef gboolean (*Condition) (gpointer data);

static gboolean
set_flag (gpointer user_data)
{
  gboolean *flag = user_data;

  *flag = TRUE;
  return G_SOURCE_REMOVE;
}

static void
wait_until (Condition condition, gpointer data, const char *what)
{
  gboolean timed_out = FALSE;
  guint timeout_id = g_timeout_add_seconds (WAIT_SECONDS, set_flag, &timed_out);

  while (!condition (data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);

  if (timed_out)
    g_error ("gave up after %d s waiting for %s", WAIT_SECONDS, what);
  g_source_remove (timeout_id);
}

static gboolean
is_mapped (gpointer data)
{
  return gtk_widget_get_mapped (GTK_WIDGET (data));
}

static gboolean
is_true (gpointer data)
{
  return *(gboolean *) data;
}

static void
after_paint (GdkFrameClock *clock, gpointer user_data)
{
  gboolean *painted = user_data;

  *painted = TRUE;
}

/* Map @widget's window and wait for a frame to be painted after asking for one. */
static void
wait_for_draw (GtkWidget *widget)
{
  GdkFrameClock *clock;
  gboolean painted = FALSE;
  gulong handler;

  wait_until (is_mapped, widget, "the window to be mapped");

  clock = gtk_widget_get_frame_clock (widget);
  g_assert_nonnull (clock);
  handler = g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint), &painted);
  gtk_widget_queue_draw (widget);
  wait_until (is_true, &painted, "the window to be drawn");
  g_signal_handler_disconnect (clock, handler);
}

static gboolean
is_finalized (gpointer data)
{
  return *(gpointer *) data == NULL;
}

static GtkAboutDialog *
find_about_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GtkWindow) window = g_list_model_get_item (toplevels, i);

      if (GTK_IS_ABOUT_DIALOG (window) && gtk_widget_get_mapped (GTK_WIDGET (window)))
        return GTK_ABOUT_DIALOG (window);
    }

  return NULL;
}

static gboolean
about_dialog_shown (gpointer data)
{
  return find_about_dialog () != NULL;
}

static CvApplication *
registered_application (void)
{
  g_autoptr (GError) error = NULL;
  CvApplication *app;

  /* Non-unique: a running Culvert on the same session bus must not take the test's place. */
  /* clang-format off */
  app = g_object_new (CV_TYPE_APPLICATION,
                      "application-id", CV_APPLICATION_ID,
                      "flags", G_APPLICATION_NON_UNIQUE,
                      NULL);
  /* clang-format on */
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);

  return app;
}

static void
reset_settings (GSettings *settings)
{
  g_settings_reset (settings, "window-width");
  g_settings_reset (settings, "window-height");
  g_settings_reset (settings, "window-maximized");
}

static void
test_window_present_about_quit (void)
{
  g_autoptr (CvApplication) app = NULL;
  g_autoptr (GSettings) settings = g_settings_new (CV_APPLICATION_ID);
  CvWindow *window;
  GtkAboutDialog *about;
  GtkStack *stack;
  gpointer about_alive;

  reset_settings (settings);
  app = registered_application ();

  /* What the desktop does at launch. */
  g_application_activate (G_APPLICATION (app));
  window = CV_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  g_assert_nonnull (window);
  g_object_ref (window);

  wait_for_draw (GTK_WIDGET (window));
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "Culvert");
  stack = GTK_STACK (gtk_widget_get_template_child (GTK_WIDGET (window), CV_TYPE_WINDOW, "stack"));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "welcome");

  /* Ctrl+Q is bound to quit. */
  {
    g_auto (GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app),
                                                                   "app.quit");
    g_assert_true (g_strv_contains ((const char *const *) accels, "<Control>q"));
  }

  /* About: a dialog over the window, with the version. */
  g_action_group_activate_action (G_ACTION_GROUP (app), "about", NULL);
  wait_until (about_dialog_shown, NULL, "the About dialog");
  about = find_about_dialog ();
  g_assert_cmpstr (gtk_about_dialog_get_version (about), ==, CV_VERSION);
  g_assert_true (gtk_window_get_transient_for (GTK_WINDOW (about)) == GTK_WINDOW (window));

  about_alive = about;
  g_object_add_weak_pointer (G_OBJECT (about), &about_alive);
  gtk_window_close (GTK_WINDOW (about));
  wait_until (is_finalized, &about_alive, "the About dialog to go away");

  /* Quit closes the window, which saves its size on the way out. */
  gtk_window_set_default_size (GTK_WINDOW (window), 700, 500);
  g_action_group_activate_action (G_ACTION_GROUP (app), "quit", NULL);
  g_assert_null (gtk_application_get_windows (GTK_APPLICATION (app)));
  g_assert_cmpint (g_settings_get_int (settings, "window-width"), ==, 700);
  g_assert_cmpint (g_settings_get_int (settings, "window-height"), ==, 500);

  g_assert_finalize_object (window);
}

static void
test_window_restores_size (void)
{
  g_autoptr (CvApplication) app = NULL;
  g_autoptr (GSettings) settings = g_settings_new (CV_APPLICATION_ID);
  CvWindow *window;
  int width;
  int height;

  reset_settings (settings);
  g_settings_set_int (settings, "window-width", 640);
  g_settings_set_int (settings, "window-height", 400);
  app = registered_application ();

  window = g_object_ref (cv_window_new (app));
  gtk_window_get_default_size (GTK_WINDOW (window), &width, &height);
  g_assert_cmpint (width, ==, 640);
  g_assert_cmpint (height, ==, 400);

  gtk_window_present (GTK_WINDOW (window));
  wait_for_draw (GTK_WIDGET (window));

  gtk_window_close (GTK_WINDOW (window));
  g_assert_cmpint (g_settings_get_int (settings, "window-width"), ==, 640);
  g_assert_cmpint (g_settings_get_int (settings, "window-height"), ==, 400);
  g_assert_false (g_settings_get_boolean (settings, "window-maximized"));

  g_assert_finalize_object (window);
}

int
main (int argc, char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);

  g_test_add_func ("/gui/window/present-about-quit", test_window_present_about_quit);
  g_test_add_func ("/gui/window/restores-size", test_window_restores_size);

  return g_test_run ();
}
