/* cv-app-test.c: a private home for each test run, bounded waits, fake programs. */
#include "cv-app-test.h"

#include <glib/gstdio.h>

#include "cv-test-util.h"

char *
cv_app_test_init (int *argc, char ***argv)
{
  g_autoptr (GError) error = NULL;
  char *dir;
  static const char *const xdg[][2] = {
    { "XDG_CONFIG_HOME", "config" }, { "XDG_DATA_HOME", "data" },  { "XDG_CACHE_HOME", "cache" },
    { "XDG_STATE_HOME", "state" },   { "XDG_RUNTIME_DIR", "run" },
  };

  g_test_init (argc, argv, NULL);

  dir = g_dir_make_tmp ("culvert-app-test-XXXXXX", &error);
  g_assert_no_error (error);
  /* Before GLib caches any of them (g_get_user_config_dir () does). */
  g_setenv ("HOME", dir, TRUE);
  for (gsize i = 0; i < G_N_ELEMENTS (xdg); i++)
    {
      g_autofree char *path = g_build_filename (dir, xdg[i][1], NULL);

      g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
      g_setenv (xdg[i][0], path, TRUE);
    }
  {
    g_autofree char *bin = g_build_filename (dir, "bin", NULL);
    g_autofree char *shared = g_build_filename (dir, "share", NULL);

    g_assert_cmpint (g_mkdir_with_parents (bin, 0700), ==, 0);
    g_assert_cmpint (g_mkdir_with_parents (shared, 0700), ==, 0);
    g_setenv ("PATH", bin, TRUE);
    /* No desktop files of the system: no vnc:// or http:// handler unless a test adds one. */
    g_setenv ("XDG_DATA_DIRS", shared, TRUE);
  }
  g_unsetenv ("TERMINAL");
  return dir;
}

int
cv_app_test_finish (char *dir, int status)
{
  cv_test_remove_tree (dir);
  g_free (dir);
  return status;
}

static gboolean
set_flag (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
keep_polling (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

void
cv_app_test_wait (gboolean (*condition) (gpointer), gpointer data, const char *what)
{
  gboolean timed_out = FALSE;
  guint timeout_id = g_timeout_add_seconds (CV_APP_TEST_WAIT_SECONDS, set_flag, &timed_out);
  /* Some conditions are outside the main loop (a file another process writes): look again
   * every few milliseconds rather than only when a source fires. */
  guint poll_id = g_timeout_add (10, keep_polling, NULL);

  while (!condition (data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (timed_out)
    g_error ("gave up after %d s waiting for %s", CV_APP_TEST_WAIT_SECONDS, what);
  g_source_remove (poll_id);
  g_source_remove (timeout_id);
}

void
cv_app_test_add_program (const char *dir, const char *name, const char *body)
{
  g_autofree char *path = g_build_filename (dir, "bin", name, NULL);
  g_autofree char *script = g_strconcat ("#!/bin/sh\n", body, "\n", NULL);
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, script, -1, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, 0700), ==, 0);
}
