/* main.c: start the Culvert desktop app. */
#include "cv-version.h"

#include <glib/gi18n.h>
#ifdef G_OS_UNIX
#include <glib-unix.h>
#endif

#include "cv-application.h"

#ifdef G_OS_UNIX
/* SIGTERM (a session logging out, kill, a test) and SIGINT (Ctrl+C in the terminal that
 * ran ./run) quit as the menu's Quit does: the windows close, save their state, and the
 * app exits with 0 instead of dying in the middle of a write.  Should Quit wait for an
 * answer (a question before closing), a second signal quits without it. */
static gboolean
quit_on_signal (gpointer user_data)
{
  static gboolean asked;
  GApplication *app = G_APPLICATION (user_data);

  if (!asked && g_action_group_has_action (G_ACTION_GROUP (app), "quit"))
    {
      asked = TRUE;
      g_action_group_activate_action (G_ACTION_GROUP (app), "quit", NULL);
    }
  else
    g_application_quit (app);
  return G_SOURCE_CONTINUE;
}
#endif

int
main (int argc, char *argv[])
{
  g_autoptr (CvApplication) app = NULL;
  /* Set by build-aux/run-app: the translations of an uninstalled build. */
  const char *uninstalled_localedir = g_getenv ("CULVERT_LOCALEDIR");
#ifdef G_OS_WIN32
  /* Installed anywhere on Windows: find the translations next to the binary. */
  g_autofree char *base = g_win32_get_package_installation_directory_of_module (NULL);
  g_autofree char *localedir = g_build_filename (base, "share", "locale", NULL);
#else
  const char *localedir = LOCALEDIR;
#endif

  bindtextdomain (GETTEXT_PACKAGE,
                  uninstalled_localedir != NULL ? uninstalled_localedir : localedir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_set_application_name (_ ("Culvert"));

  app = cv_application_new ();
#ifdef G_OS_UNIX
  g_unix_signal_add (SIGTERM, quit_on_signal, app);
  g_unix_signal_add (SIGINT, quit_on_signal, app);
#endif
  return g_application_run (G_APPLICATION (app), argc, argv);
}
