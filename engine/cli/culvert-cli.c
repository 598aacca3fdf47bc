/* culvert-cli: the headless binary (gateway, share and connect agents). */
#include "cv-version.h"

#include <glib.h>
#include <locale.h>
#include <stdio.h>

#include "cv-frame.h"

static const char *const commands_help =
  "Commands:\n"
  "  version      Print the version and the wire protocol version\n"
  "\n"
  "The gateway, share and connect roles are not built yet.";

static int
print_version (void)
{
  g_print ("culvert-cli %s (wire protocol %u)\n", CV_VERSION, (unsigned) CV_PROTOCOL_VERSION);
  return 0;
}

int
main (int argc, char **argv)
{
  gboolean version = FALSE;
  GOptionEntry entries[] = {
    { "version", 'V', 0, G_OPTION_ARG_NONE, &version, "Print the version and exit", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;

  setlocale (LC_ALL, "");
  context = g_option_context_new ("COMMAND [ARGS…] — carry TCP connections under firewalls and NAT");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context, commands_help);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("culvert-cli: %s\n", error->message);
      return 2;
    }

  if (version)
    return print_version ();
  if (argc < 2)
    {
      g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);
      g_printerr ("%s", help);
      return 2;
    }
  if (g_str_equal (argv[1], "version"))
    return print_version ();

  g_printerr ("culvert-cli: unknown command “%s”; see culvert-cli --help\n", argv[1]);
  return 2;
}
