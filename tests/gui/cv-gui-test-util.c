/* cv-gui-test-util.c: bounded waits, real drawing and screenshots for the GUI tests. */
#include "cv-version.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <locale.h>

#include "cv-gui-test-util.h"

static gboolean
set_flag (gpointer user_data)
{
  gboolean *flag = user_data;

  *flag = TRUE;
  return G_SOURCE_REMOVE;
}

void
cv_gui_wait_until (CvGuiCondition condition, gpointer data, const char *what)
{
  gboolean timed_out = FALSE;
  guint timeout_id = g_timeout_add_seconds (CV_GUI_WAIT_SECONDS, set_flag, &timed_out);

  while (!condition (data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);

  if (timed_out)
    g_error ("gave up after %d s waiting for %s", CV_GUI_WAIT_SECONDS, what);
  g_source_remove (timeout_id);
}

void
cv_gui_spin (guint ms)
{
  gboolean done = FALSE;

  g_timeout_add (ms, set_flag, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
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

void
cv_gui_wait_for_draw (GtkWidget *widget)
{
  GdkFrameClock *clock;
  gboolean painted = FALSE;
  gulong handler;

  cv_gui_wait_until (is_mapped, widget, "the window to be mapped");

  clock = gtk_widget_get_frame_clock (widget);
  g_assert_nonnull (clock);
  handler = g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint), &painted);
  gtk_widget_queue_draw (widget);
  cv_gui_wait_until (is_true, &painted, "the window to be drawn");
  g_signal_handler_disconnect (clock, handler);
}

static gboolean
is_null (gpointer data)
{
  return *(gpointer *) data == NULL;
}

void
cv_gui_wait_finalized (gpointer *pointer, const char *what)
{
  cv_gui_wait_until (is_null, pointer, what);
}

char *
cv_gui_screenshot (GtkWidget *window, const char *name)
{
  const char *dir = g_getenv ("CULVERT_SCREENSHOT_DIR");
  g_autofree char *file = g_strconcat (name, ".png", NULL);
  g_autofree char *path = NULL;
  g_autoptr (GdkPaintable) paintable = NULL;
  g_autoptr (GtkSnapshot) snapshot = NULL;
  g_autoptr (GskRenderNode) node = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  GskRenderer *renderer;
  int width;
  int height;

  /* A frame first, so that what is saved is what a person would see now. */
  cv_gui_wait_for_draw (window);
  if (dir == NULL)
    dir = g_get_tmp_dir ();
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  path = g_build_filename (dir, file, NULL);

  width = gtk_widget_get_width (window);
  height = gtk_widget_get_height (window);
  g_assert_cmpint (width, >, 0);
  g_assert_cmpint (height, >, 0);
  /* The window's last frame, as a GtkWidgetPaintable keeps it; anything that asked for a
   * redraw since (a switch settling, a spinner) drops that frame, so then the window is
   * drawn again here as its own snapshot () would for the next one. */
  paintable = gtk_widget_paintable_new (window);
  snapshot = gtk_snapshot_new ();
  gdk_paintable_snapshot (paintable, GDK_SNAPSHOT (snapshot), width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  if (node == NULL)
    {
      snapshot = gtk_snapshot_new ();
      GTK_WIDGET_GET_CLASS (window)->snapshot (window, snapshot);
      node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
    }
  g_assert_nonnull (node);
  renderer = gtk_native_get_renderer (GTK_NATIVE (window));
  g_assert_nonnull (renderer);
  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("screenshot: %s", path);
  return g_steal_pointer (&path);
}

GtkWindow *
cv_gui_find_toplevel (GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GtkWindow) window = g_list_model_get_item (toplevels, i);

      if (G_TYPE_CHECK_INSTANCE_TYPE (window, type) && gtk_widget_get_mapped (GTK_WIDGET (window)))
        return window;
    }
  return NULL;
}

static const char *
widget_text (GtkWidget *widget)
{
  if (GTK_IS_LABEL (widget))
    return gtk_label_get_label (GTK_LABEL (widget));
  if (GTK_IS_BUTTON (widget))
    return gtk_button_get_label (GTK_BUTTON (widget));
  if (ADW_IS_PREFERENCES_ROW (widget))
    return adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget));
  if (ADW_IS_STATUS_PAGE (widget))
    return adw_status_page_get_title (ADW_STATUS_PAGE (widget));
  return NULL;
}

GtkWidget *
cv_gui_find_widget (GtkWidget *root, GType type, const char *text)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type)
      && (text == NULL || g_strcmp0 (widget_text (root), text) == 0))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = cv_gui_find_widget (child, type, text);

      if (found != NULL)
        return found;
    }
  return NULL;
}

void
cv_gui_test_init (int *argc, char ***argv)
{
  /* The system's MIME database, fixed before the isolation hides it (as GIO's docs of this
   * call advise): gdk-pixbuf asks it what an SVG icon is. */
  g_content_type_set_mime_dirs (NULL);
  g_test_init (argc, argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* As gtk_test_init (): the same locale whatever the machine's. */
  gtk_disable_setlocale ();
  setlocale (LC_ALL, "C.UTF-8");
  gtk_init ();

  /* Each case's own XDG_DATA_DIRS would hide /usr/share: the icon theme's search path and
   * the schemas are read once, now, and kept. */
  gtk_icon_theme_get_for_display (gdk_display_get_default ());
  g_settings_schema_source_get_default ();

  /* A screenshot shows where a page slides to, not half of it. */
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);
}
