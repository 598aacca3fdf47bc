/* cv-gui-test-app.h: what the app's window tests need besides drawing — a private home,
 * fake programs on PATH, the application registered, template children by name. */
#pragma once

#include <gtk/gtk.h>

#include "cv-application.h"

G_BEGIN_DECLS

/* gtk_test_init () and adw_init () (animations off), after pointing HOME and the XDG config, data,
 * cache and state dirs into a new temporary directory (returned), and PATH to its empty bin/, so
 * that no test touches the user's files or finds the system's viewers. */
char *cv_gui_test_app_init (int *argc, char ***argv);
/* Removes the directory and returns @status. */
int cv_gui_test_app_finish (char *dir, int status);
/* An executable script DIR/bin/@name: "#!/bin/sh" then @body. */
void cv_gui_test_add_program (const char *dir, const char *name, const char *body);

/* A registered, non-unique CvApplication (a running Culvert does not take its place), with
 * an application id of its own ("org.culvert.Culvert.TestN"); its settings are still the
 * app's. */
CvApplication *cv_gui_test_application_new (void);

/* gtk_widget_get_template_child (), failing the test when @name is not there. */
gpointer cv_gui_test_child (gpointer widget, GType template_type, const char *name);

/* Waits for a mapped AdwMessageDialog and returns it. */
GtkWindow *cv_gui_test_wait_dialog (const char *what);
/* Answers @dialog with @response, as its button would, and waits until it is gone. */
void cv_gui_test_respond (GtkWindow *dialog, const char *response);

/* A weak pointer to @object (freed by cv_gui_test_wait_destroyed ()), taken before anything
 * may destroy it. */
gpointer *cv_gui_test_watch (gpointer object);
/* Waits until the object cv_gui_test_watch () returned @alive for is finalized. */
void cv_gui_test_wait_destroyed (gpointer *alive, const char *what);

/* Whether @widget's shortcuts (its class's among them) bind @trigger ("<Control>s") to
 * the action @action. */
gboolean cv_gui_test_has_shortcut (gpointer widget, const char *trigger, const char *action);
/* Scrolls the first scrolled window in @window to its end, for a screenshot of it. */
void cv_gui_test_scroll_to_end (GtkWindow *window);

G_END_DECLS
