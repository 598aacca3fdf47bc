/* cli-fingerprint.c: `culvert-cli fingerprint` — the key fingerprint a gateway or an agent
 * presents, as one line on stdout for $(culvert-cli fingerprint …).
 *
 * It only reads: a key that does not exist yet is reported, never made, so that looking
 * at a gateway's fingerprint cannot change what its agents have pinned.  Exit codes: 0
 * with the fingerprint printed, 1 when there is no key or it cannot be read, 2 for a bad
 * command line or config.
 */
#include "cli/cli-fingerprint.h"

#include "config/cv-agent-config.h"
#include "config/cv-gateway-config.h"
#include "roles/cv-agent-link.h"
#include "roles/cv-gateway.h"
#include "transport/cv-identity.h"

#define EXIT_NO_KEY 1
#define EXIT_USAGE 2

/* The key @kind's config in @file names (*kind is guessed when unknown), or %NULL with @error set
 * (then *state_dir is where it would be made, if it is one the role makes); FALSE for a bad config.
 */
static gboolean
find_in_config (const char *file,
                CvConfigKind *kind,
                CvIdentity **identity,
                char **state_dir,
                GError **error)
{
  g_autoptr (JsonObject) root = cv_config_load_file (file, error);
  g_autoptr (CvShareConfig) share = NULL;
  g_autoptr (CvConnectConfig) connect = NULL;
  const CvAgentConfig *agent;

  if (root == NULL)
    return FALSE;
  if (*kind == CV_CONFIG_KIND_UNKNOWN
      && (*kind = cv_config_guess_kind (root)) == CV_CONFIG_KIND_UNKNOWN)
    {
      g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_BAD_VALUE,
                   "%s: cannot tell which kind of config this is (a gateway's has sessions or "
                   "listen, a share agent's allow, a connect agent's mappings); give --kind",
                   file);
      return FALSE;
    }
  if (*kind == CV_CONFIG_KIND_GATEWAY)
    {
      g_autoptr (CvGatewayConfig) config = cv_gateway_config_new_from_json (root, file, error);

      if (config == NULL)
        return FALSE;
      /* A missing cert_file is a plain error, not a key yet to be made. */
      *state_dir = config->cert_file != NULL ? NULL : g_strdup (config->state_dir);
      *identity = cv_gateway_find_identity (config, error);
      return TRUE;
    }
  if (*kind == CV_CONFIG_KIND_SHARE)
    share = cv_share_config_new_from_json (root, file, error);
  else
    connect = cv_connect_config_new_from_json (root, file, error);
  agent = share != NULL ? &share->agent : connect != NULL ? &connect->agent : NULL;
  if (agent == NULL)
    return FALSE;
  *state_dir = g_strdup (agent->state_dir);
  *identity = cv_identity_load (agent->state_dir, CV_AGENT_IDENTITY_NAME, error);
  return TRUE;
}

int
cv_cli_fingerprint (int argc, char **argv)
{
  g_autofree char *config_file = NULL;
  g_autofree char *kind_name = NULL;
  g_autofree char *state_dir = NULL;
  g_autofree char *role_name = NULL;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file,
      "A gateway, share or connect config: the key it uses", "FILE" },
    { "kind", 'k', 0, G_OPTION_ARG_STRING, &kind_name,
      "The config's kind: gateway, share or connect (default: guessed from the keys)", "KIND" },
    { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
      "Or: the state directory that holds the key (with --role)", "DIR" },
    { "role", 0, 0, G_OPTION_ARG_STRING, &role_name, "With --state-dir: gateway, share or connect",
      "ROLE" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("— print a key's fingerprint");
  g_autoptr (GError) error = NULL;
  g_autoptr (CvIdentity) identity = NULL;
  g_autofree char *where = NULL;
  CvConfigKind kind = CV_CONFIG_KIND_UNKNOWN;
  const char *made_by;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (
    context, "Prints the sha256: fingerprint of the key a gateway or an agent presents, the "
             "one agents pin\nas gateway_fingerprint.  It never makes a key: one that does "
             "not exist yet is an error.");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("culvert-cli fingerprint: %s\n", error->message);
      return EXIT_USAGE;
    }
  if (argc != 1 || (config_file == NULL) == (state_dir == NULL)
      || (state_dir != NULL) != (role_name != NULL) || (kind_name != NULL && config_file == NULL))
    {
      g_printerr ("culvert-cli fingerprint: expected --config FILE [--kind KIND], or "
                  "--state-dir DIR --role ROLE\n");
      return EXIT_USAGE;
    }
  if ((kind_name != NULL || role_name != NULL)
      && (kind = cv_config_kind_from_string (kind_name != NULL ? kind_name : role_name))
           == CV_CONFIG_KIND_UNKNOWN)
    {
      g_printerr ("culvert-cli fingerprint: unknown %s “%s”; expected gateway, share or "
                  "connect\n",
                  kind_name != NULL ? "kind" : "role", kind_name != NULL ? kind_name : role_name);
      return EXIT_USAGE;
    }

  if (config_file != NULL)
    {
      if (!find_in_config (config_file, &kind, &identity, &where, &error))
        {
          g_printerr ("%s\n", error->message);
          return EXIT_USAGE;
        }
    }
  else
    {
      where = g_strdup (state_dir);
      identity = cv_identity_load (state_dir,
                                   kind == CV_CONFIG_KIND_GATEWAY ? CV_GATEWAY_IDENTITY_NAME
                                                                  : CV_AGENT_IDENTITY_NAME,
                                   &error);
    }

  if (identity == NULL)
    {
      made_by = kind == CV_CONFIG_KIND_GATEWAY ? "the gateway makes it on its first start, or "
                                                 "culvert-cli init does"
                                               : "the agent makes it on its first start";
      if (where != NULL && g_error_matches (error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_printerr ("culvert-cli fingerprint: %s holds no key yet (%s); %s\n", where,
                    error->message, made_by);
      else
        g_printerr ("culvert-cli fingerprint: %s\n", error->message);
      return EXIT_NO_KEY;
    }
  g_print ("%s\n", cv_identity_get_fingerprint (identity));
  return 0;
}
