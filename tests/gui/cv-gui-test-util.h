/* cv-gui-test-util.h: what every GUI test needs — bounded waits on the main loop, a window
 * drawn for real, a PNG screenshot of each screen, the application registered. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* How long any one wait may take before the test fails instead of hanging. */
#define CV_GUI_WAIT_SECONDS 20

typedef gboolean (*CvGuiCondition) (gpointer data);

/* Iterates the default main context until @condition holds; g_error () naming @what after
 * CV_GUI_WAIT_SECONDS. */
void cv_gui_wait_until (CvGuiCondition condition, gpointer data, const char *what);
/* Iterates the main context for @ms milliseconds (to let a state settle, never to wait for
 * one: use cv_gui_wait_until for that). */
void cv_gui_spin (guint ms);
/* Maps @widget's window, asks for a frame and waits until one was painted. */
void cv_gui_wait_for_draw (GtkWidget *widget);
/* Waits until *@pointer (a weak pointer) is NULL. */
void cv_gui_wait_finalized (gpointer *pointer, const char *what);

/* Draws @window as it is on screen into CULVERT_SCREENSHOT_DIR/@name.png (the test log
 * dir, set by meson) and returns the path; the test fails if nothing could be drawn. */
char *cv_gui_screenshot (GtkWidget *window, const char *name);

/* The first mapped toplevel of @type (e.g. ADW_TYPE_MESSAGE_DIALOG), or NULL. */
GtkWindow *cv_gui_find_toplevel (GType type);
/* The first descendant of @root (itself included) of @type whose accessible label or
 * GtkLabel/GtkButton/AdwPreferencesRow text is @text (NULL: any), or NULL. */
GtkWidget *cv_gui_find_widget (GtkWidget *root, GType type, const char *text);

/* g_test_init () with a private HOME and XDG directories for each test case (the machines
 * file, the agent's key, the embedded gateway's state), then GTK.  The icon theme and the
 * settings schemas are looked up first, while the system's data dirs are still visible.
 * Animations are off, so that each screenshot shows a state, not a transition. */
void cv_gui_test_init (int *argc, char ***argv);

G_END_DECLS
