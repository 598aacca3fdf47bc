/* cv-app-test.h: what the app core's tests share — a private home for each test run,
 * bounded waits, and fake programs on PATH. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* How long any one wait may take before the test fails instead of hanging. */
#define CV_APP_TEST_WAIT_SECONDS 15

/* g_test_init (), then HOME, the XDG directories and PATH pointed into a new temporary
 * directory (returned; removed by cv_app_test_finish ()), so that no test reads or writes
 * the user's files or finds the system's viewers.  PATH is DIR/bin, empty at first. */
char *cv_app_test_init (int *argc, char ***argv);
int cv_app_test_finish (char *dir, int status);

/* Iterates the default main context until @condition holds; g_error ()s naming @what
 * after CV_APP_TEST_WAIT_SECONDS. */
void cv_app_test_wait (gboolean (*condition) (gpointer), gpointer data, const char *what);

/* Writes an executable shell script DIR/bin/@name with @body after "#!/bin/sh". */
void cv_app_test_add_program (const char *dir, const char *name, const char *body);

G_END_DECLS
