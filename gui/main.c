/* main.c: start the Culvert desktop app. */
#include "cv-version.h"

#include <glib/gi18n.h>

#include "cv-application.h"

int
main (int argc, char *argv[])
{
  g_autoptr (CvApplication) app = NULL;
#ifdef G_OS_WIN32
  /* Installed anywhere on Windows: find the translations next to the binary. */
  g_autofree char *base = g_win32_get_package_installation_directory_of_module (NULL);
  g_autofree char *localedir = g_build_filename (base, "share", "locale", NULL);
#else
  const char *localedir = LOCALEDIR;
#endif

  bindtextdomain (GETTEXT_PACKAGE, localedir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_set_application_name (_ ("Culvert"));

  app = cv_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
