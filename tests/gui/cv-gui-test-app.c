/* cv-gui-test-app.c: a private home, fake programs, the app, template children, dialogs. */
#include "cv-version.h"

#include <adwaita.h>
#include <glib/gstdio.h>

#include "cv-gui-test-app.h"
#include "cv-gui-test-util.h"
#include "cv-test-util.h"

char *
cv_gui_test_app_init (int *argc, char ***argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *bin = NULL;
  char *dir;
  static const char *const xdg[][2] = {
    { "XDG_CONFIG_HOME", "config" },
    { "XDG_DATA_HOME", "data" },
    { "XDG_CACHE_HOME", "cache" },
    { "XDG_STATE_HOME", "state" },
  };

  dir = g_dir_make_tmp ("culvert-gui-test-XXXXXX", &error);
  g_assert_no_error (error);
  /* Before GLib caches any of them (g_get_user_config_dir () does). */
  g_setenv ("HOME", dir, TRUE);
  for (gsize i = 0; i < G_N_ELEMENTS (xdg); i++)
    {
      g_autofree char *path = g_build_filename (dir, xdg[i][1], NULL);

      g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
      g_setenv (xdg[i][0], path, TRUE);
    }
  bin = g_build_filename (dir, "bin", NULL);
  g_assert_cmpint (g_mkdir_with_parents (bin, 0700), ==, 0);
  g_setenv ("PATH", bin, TRUE);
  g_unsetenv ("TERMINAL");

  gtk_test_init (argc, argv, NULL);
  adw_init ();
  /* Switches flip, expanders open and titles float at once: what a test sets is what the
   * next screenshot shows. */
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);
  return dir;
}

int
cv_gui_test_app_finish (char *dir, int status)
{
  cv_test_remove_tree (dir);
  g_free (dir);
  return status;
}

void
cv_gui_test_add_program (const char *dir, const char *name, const char *body)
{
  g_autofree char *path = g_build_filename (dir, "bin", name, NULL);
  g_autofree char *script = g_strconcat ("#!/bin/sh\n", body, "\n", NULL);
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, script, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, 0700), ==, 0);
}

CvApplication *
cv_gui_test_application_new (void)
{
  static guint n_apps = 0;
  g_autoptr (GError) error = NULL;
  g_autofree char *id = NULL;
  CvApplication *app;

  /* An id of its own each time: on a session bus (the keyring tests have one) an id stays
   * exported at its object path as long as anything holds the application. */
  id = g_strdup_printf ("%s.Test%u", CV_APPLICATION_ID, ++n_apps);
  /* The app's own resource path all the same: AdwApplication loads style.css from it and
   * GtkApplication adds its icons, so the windows look as they do in the app. */
  /* clang-format off */
  app = g_object_new (CV_TYPE_APPLICATION,
                      "application-id", id,
                      "resource-base-path", "/org/culvert/Culvert",
                      "flags", G_APPLICATION_NON_UNIQUE,
                      NULL);
  /* clang-format on */
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);
  return app;
}

gpointer
cv_gui_test_child (gpointer widget, GType template_type, const char *name)
{
  GObject *child = gtk_widget_get_template_child (GTK_WIDGET (widget), template_type, name);

  if (child == NULL)
    g_error ("%s has no template child “%s”", G_OBJECT_TYPE_NAME (widget), name);
  return child;
}

static gboolean
dialog_shown (gpointer data)
{
  return cv_gui_find_toplevel (ADW_TYPE_MESSAGE_DIALOG) != NULL;
}

GtkWindow *
cv_gui_test_wait_dialog (const char *what)
{
  GtkWindow *dialog;

  cv_gui_wait_until (dialog_shown, NULL, what);
  dialog = cv_gui_find_toplevel (ADW_TYPE_MESSAGE_DIALOG);
  cv_gui_wait_for_draw (GTK_WIDGET (dialog));
  return dialog;
}

static gboolean
gone (gpointer data)
{
  GtkWidget *dialog = *(GtkWidget **) data;

  return dialog == NULL || !gtk_widget_get_mapped (dialog);
}

void
cv_gui_test_respond (GtkWindow *dialog, const char *response)
{
  gpointer alive = dialog;
  const char *label = adw_message_dialog_get_response_label (ADW_MESSAGE_DIALOG (dialog), response);
  GtkWidget *button = cv_gui_find_widget (GTK_WIDGET (dialog), GTK_TYPE_BUTTON, label);

  g_assert_true (adw_message_dialog_get_response_enabled (ADW_MESSAGE_DIALOG (dialog), response));
  g_assert_nonnull (button);
  g_object_add_weak_pointer (G_OBJECT (dialog), &alive);
  /* Its button, as a click: the response and then the dialog's own closing. */
  g_signal_emit_by_name (button, "clicked");
  cv_gui_wait_until (gone, &alive, "the dialog to close after its response");
  if (alive != NULL)
    g_object_remove_weak_pointer (G_OBJECT (dialog), &alive);
}

gpointer *
cv_gui_test_watch (gpointer object)
{
  gpointer *alive = g_new (gpointer, 1);

  *alive = object;
  g_object_add_weak_pointer (G_OBJECT (object), alive);
  return alive;
}

void
cv_gui_test_wait_destroyed (gpointer *alive, const char *what)
{
  cv_gui_wait_finalized (alive, what);
  g_free (alive);
}

gboolean
cv_gui_test_has_shortcut (gpointer widget, const char *trigger, const char *action)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (GTK_WIDGET (widget));

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GObject) controller = g_list_model_get_item (controllers, i);

      if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
        continue;
      for (guint j = 0; j < g_list_model_get_n_items (G_LIST_MODEL (controller)); j++)
        {
          g_autoptr (GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), j);
          g_autofree char *text = gtk_shortcut_trigger_to_string (
            gtk_shortcut_get_trigger (shortcut));
          GtkShortcutAction *named = gtk_shortcut_get_action (shortcut);

          if (g_str_equal (text, trigger) && GTK_IS_NAMED_ACTION (named)
              && g_str_equal (gtk_named_action_get_action_name (GTK_NAMED_ACTION (named)), action))
            return TRUE;
        }
    }
  return FALSE;
}

void
cv_gui_test_scroll_to_end (GtkWindow *window)
{
  GtkWidget *scrolled = cv_gui_find_widget (GTK_WIDGET (window), GTK_TYPE_SCROLLED_WINDOW, NULL);
  GtkAdjustment *adjustment;

  g_assert_nonnull (scrolled);
  /* Laid out first, so that the adjustment knows how far the end is. */
  cv_gui_wait_for_draw (GTK_WIDGET (window));
  adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (scrolled));
  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_upper (adjustment)
                                          - gtk_adjustment_get_page_size (adjustment));
}
