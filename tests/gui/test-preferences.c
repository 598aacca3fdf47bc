/* test-preferences.c: every row of the preferences window turns its GSettings key on and
 * off, and follows the key when it changes elsewhere. */
#include "cv-version.h"

#include <adwaita.h>

#include "cv-gui-test-app.h"
#include "cv-gui-test-util.h"
#include "cv-preferences-window.h"

typedef struct {
  const char *row;
  const char *toggle;
  const char *key;
  gboolean default_value;
} BoundRow;

static const BoundRow bound_rows[] = {
  { "open_services_row", "open_services_switch", "open-services-on-connect", TRUE },
  { "notify_on_drop_row", "notify_on_drop_switch", "notify-on-drop", TRUE },
  { "gateway_autostart_row", "gateway_autostart_switch", "gateway-autostart", FALSE },
};

typedef struct {
  GSettings *settings;
  const char *key;
  gboolean value;
} KeyValue;

static gboolean
key_has_value (gpointer data)
{
  KeyValue *kv = data;

  return g_settings_get_boolean (kv->settings, kv->key) == kv->value;
}

/* Activates @row as a click or Enter does; the switch animates before it flips. */
static void
activate_and_wait (AdwActionRow *row, GSettings *settings, const char *key, gboolean value)
{
  KeyValue kv = { settings, key, value };

  g_assert_true (gtk_widget_activate (GTK_WIDGET (row)));
  cv_gui_wait_until (key_has_value, &kv, "the key to follow its switch");
}

static void
test_preferences_rows_toggle_keys (void)
{
  g_autoptr (GSettings) settings = g_settings_new (CV_APPLICATION_ID);
  GtkWindow *window;
  g_autofree char *shot = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (bound_rows); i++)
    g_settings_reset (settings, bound_rows[i].key);

  window = g_object_ref (cv_preferences_window_new (NULL));
  gtk_window_present (window);
  cv_gui_wait_for_draw (GTK_WIDGET (window));
  shot = cv_gui_screenshot (GTK_WIDGET (window), "preferences");

  for (gsize i = 0; i < G_N_ELEMENTS (bound_rows); i++)
    {
      const BoundRow *b = &bound_rows[i];
      AdwActionRow *row = cv_gui_test_child (window, CV_TYPE_PREFERENCES_WINDOW, b->row);
      GtkSwitch *toggle = cv_gui_test_child (window, CV_TYPE_PREFERENCES_WINDOW, b->toggle);

      g_test_message ("row %s, key %s", b->row, b->key);
      g_assert_cmpint (g_settings_get_boolean (settings, b->key), ==, b->default_value);
      g_assert_cmpint (gtk_switch_get_active (toggle), ==, b->default_value);

      /* Activating the row, as a click or Enter on it does, flips the key. */
      activate_and_wait (row, settings, b->key, !b->default_value);
      g_assert_cmpint (gtk_switch_get_active (toggle), ==, !b->default_value);
      activate_and_wait (row, settings, b->key, b->default_value);
      g_assert_cmpint (gtk_switch_get_active (toggle), ==, b->default_value);

      /* And the other way: a change of the key shows in the switch. */
      g_settings_set_boolean (settings, b->key, !b->default_value);
      g_assert_cmpint (gtk_switch_get_active (toggle), ==, !b->default_value);
      g_settings_reset (settings, b->key);
      g_assert_cmpint (gtk_switch_get_active (toggle), ==, b->default_value);
    }

  gtk_window_destroy (window);
  g_assert_finalize_object (window);
}

int
main (int argc, char *argv[])
{
  char *home = cv_gui_test_app_init (&argc, &argv);

  g_test_add_func ("/gui/preferences/rows-toggle-keys", test_preferences_rows_toggle_keys);

  return cv_gui_test_app_finish (home, g_test_run ());
}
