/* cv-gui-test-app.h: what the app's window tests need besides drawing — a private home,
 * fake programs on PATH, the application registered, template children by name. */
#pragma once

#include <gtk/gtk.h>

#include "cv-application.h"

G_BEGIN_DECLS

/* gtk_test_init () and adw_init () (animations off), after pointing HOME and the XDG config, data, cache
 * and state dirs into a new temporary directory (returned), and PATH to its empty bin/, so
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

G_END_DECLS
