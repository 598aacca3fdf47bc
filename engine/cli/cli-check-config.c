/* cli-check-config.c: `culvert-cli check-config`: what start-up would check, without
 * starting anything.
 *
 * Exits 0 for a valid file and 2 otherwise, so that a script or a systemd
 * ExecStartPre= can use it; the error starts "FILE: " as a compiler's does. */
#include "cli/cli-check-config.h"

#include "config/cv-agent-config.h"
#include "config/cv-config.h"
#include "config/cv-gateway-config.h"

#include <glib.h>

static const char *
plural (guint n)
{
  return n == 1 ? "" : "s";
}

static char *
summarize_config (CvConfigKind kind, JsonObject *root, const char *file, GError **error)
{
  switch (kind)
    {
    case CV_CONFIG_KIND_GATEWAY:
      {
        g_autoptr (CvGatewayConfig) config = cv_gateway_config_new_from_json (root, file, error);

        if (config == NULL)
          return NULL;
        return g_strdup_printf ("gateway: %u session%s, %u listener%s", config->sessions->len,
                                plural (config->sessions->len), config->listeners->len,
                                plural (config->listeners->len));
      }
    case CV_CONFIG_KIND_SHARE:
      {
        g_autoptr (CvShareConfig) config = cv_share_config_new_from_json (root, file, error);

        if (config == NULL)
          return NULL;
        return g_strdup_printf ("share: session %s, %u allowed target%s", config->agent.session,
                                config->allow->len, plural (config->allow->len));
      }
    case CV_CONFIG_KIND_CONNECT:
      {
        g_autoptr (CvConnectConfig) config = cv_connect_config_new_from_json (root, file, error);

        if (config == NULL)
          return NULL;
        return g_strdup_printf ("connect: session %s, %u mapping%s", config->agent.session,
                                config->mappings->len, plural (config->mappings->len));
      }
    case CV_CONFIG_KIND_UNKNOWN:
    default:
      g_return_val_if_reached (NULL);
    }
}

int
cv_cli_check_config (int argc, char **argv)
{
  g_autofree char *kind_name = NULL;
  GOptionEntry entries[] = { { "kind", 'k', 0, G_OPTION_ARG_STRING, &kind_name,
                               "gateway, share or connect (default: guessed from the keys)",
                               "KIND" },
                             { NULL } };
  g_autoptr (GOptionContext) context = g_option_context_new ("FILE — check a config file");
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) root = NULL;
  g_autofree char *summary = NULL;
  CvConfigKind kind = CV_CONFIG_KIND_UNKNOWN;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context,
                                "Prints “FILE: OK (…)” and exits 0, or the first problem and "
                                "exits 2.");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("culvert-cli check-config: %s\n", error->message);
      return 2;
    }
  if (argc != 2)
    {
      g_printerr ("culvert-cli check-config: expected one FILE; usage: culvert-cli check-config "
                  "[--kind KIND] FILE\n");
      return 2;
    }
  if (kind_name != NULL
      && (kind = cv_config_kind_from_string (kind_name)) == CV_CONFIG_KIND_UNKNOWN)
    {
      g_printerr ("culvert-cli check-config: unknown kind “%s”; expected gateway, share or "
                  "connect\n",
                  kind_name);
      return 2;
    }

  root = cv_config_load_file (argv[1], &error);
  if (root != NULL && kind == CV_CONFIG_KIND_UNKNOWN
      && (kind = cv_config_guess_kind (root)) == CV_CONFIG_KIND_UNKNOWN)
    {
      g_printerr ("%s: cannot tell which kind of config this is (a gateway's has sessions or "
                  "listen, a share agent's allow, a connect agent's mappings); give --kind\n",
                  argv[1]);
      return 2;
    }
  if (root != NULL)
    summary = summarize_config (kind, root, argv[1], &error);
  if (summary == NULL)
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  g_print ("%s: OK (%s)\n", argv[1], summary);
  return 0;
}
