/* test-window.c: the main window on a real display: shown, drawn, About, saved, closed. */
#include "cv-version.h"

#include <adwaita.h>

#include "cv-application.h"
#include "cv-gui-test-app.h"
#include "cv-gui-test-util.h"
#include "cv-ui-util.h"
#include "cv-window.h"

static gboolean
about_window_shown (gpointer data)
{
  return cv_gui_find_toplevel (ADW_TYPE_ABOUT_WINDOW) != NULL;
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
  GtkWindow *about;
  GtkStack *stack;
  gpointer about_alive;

  reset_settings (settings);
  app = cv_gui_test_application_new ();

  /* What the desktop does at launch. */
  g_application_activate (G_APPLICATION (app));
  window = CV_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (app)));
  g_assert_nonnull (window);
  g_object_ref (window);

  cv_gui_wait_for_draw (GTK_WIDGET (window));
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "Culvert");
  /* No machines saved in a new home: the empty state. */
  stack = cv_gui_test_child (window, CV_TYPE_WINDOW, "list_stack");
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "empty");

  /* The app's accelerators. */
  {
    static const char *const expected[][2] = {
      { "app.quit", "<Control>q" },
      { "app.preferences", "<Control>comma" },
      { "app.import", "<Control>o" },
      { "app.shortcuts", "<Control>question" },
    };

    for (gsize i = 0; i < G_N_ELEMENTS (expected); i++)
      {
        g_auto (GStrv) accels = gtk_application_get_accels_for_action (GTK_APPLICATION (app),
                                                                       expected[i][0]);

        g_assert_true (g_strv_contains ((const char *const *) accels, expected[i][1]));
      }
  }

  /* About: a window over the main one, with the version. */
  g_action_group_activate_action (G_ACTION_GROUP (app), "about", NULL);
  cv_gui_wait_until (about_window_shown, NULL, "the About window");
  about = cv_gui_find_toplevel (ADW_TYPE_ABOUT_WINDOW);
  g_assert_cmpstr (adw_about_window_get_version (ADW_ABOUT_WINDOW (about)), ==, CV_VERSION);
  g_assert_true (gtk_window_get_transient_for (about) == GTK_WINDOW (window));

  about_alive = about;
  g_object_add_weak_pointer (G_OBJECT (about), &about_alive);
  gtk_window_close (about);
  cv_gui_wait_finalized (&about_alive, "the About window to go away");

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
  app = cv_gui_test_application_new ();

  window = g_object_ref (cv_window_new (app));
  gtk_window_get_default_size (GTK_WINDOW (window), &width, &height);
  g_assert_cmpint (width, ==, 640);
  g_assert_cmpint (height, ==, 400);

  gtk_window_present (GTK_WINDOW (window));
  cv_gui_wait_for_draw (GTK_WIDGET (window));

  gtk_window_close (GTK_WINDOW (window));
  g_assert_cmpint (g_settings_get_int (settings, "window-width"), ==, 640);
  g_assert_cmpint (g_settings_get_int (settings, "window-height"), ==, 400);
  g_assert_false (g_settings_get_boolean (settings, "window-maximized"));

  g_assert_finalize_object (window);
}

/* Sentences with "&" or "<" (a path, a peer's name) are shown as written, never as markup. */
static void
test_window_plain_toast (void)
{
  const char *sentence = "Culvert could not write /tmp/a & b/<machines>.json: no space left.";
  g_autoptr (AdwToast) toast = g_object_ref_sink (cv_ui_plain_toast_new (sentence));
  GtkWidget *title = adw_toast_get_custom_title (toast);

  g_assert_true (GTK_IS_LABEL (title));
  g_assert_false (gtk_label_get_use_markup (GTK_LABEL (title)));
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (title)), ==, sentence);
  g_assert_true (gtk_label_get_wrap (GTK_LABEL (title)));
}

int
main (int argc, char *argv[])
{
  cv_gui_test_init (&argc, &argv);

  g_test_add_func ("/gui/window/present-about-quit", test_window_present_about_quit);
  g_test_add_func ("/gui/window/restores-size", test_window_restores_size);
  g_test_add_func ("/gui/window/plain-toast", test_window_plain_toast);

  return g_test_run ();
}
