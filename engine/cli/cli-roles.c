/* cli-roles.c: `culvert-cli gateway`, `share` and `connect` — the long-running roles.
 *
 * Exit codes: 0 after SIGTERM/SIGINT, 1 on a runtime failure (a port that cannot be
 * bound, a key that cannot be made), 2 for a bad command line or config, 3 when a
 * share agent was replaced by another one for its session.
 */
#include "cli/cli-roles.h"

#include "cli/cli-admin.h"
#include "cli/cli-link-log.h"
#include "cli/cli-log.h"
#include "cli/cli-options.h"
#include "config/cv-agent-config.h"
#include "roles/cv-connect-agent.h"
#include "config/cv-gateway-config.h"
#include "roles/cv-gateway.h"
#include "transport/cv-identity.h"
#include "roles/cv-refusal.h"
#include "roles/cv-share-agent.h"
#include "cli/cli-code.h"
#include "cli/cli-consent.h"

#include <glib-unix.h>
#include <glib/gstdio.h>
#include <string.h>

#define EXIT_REPLACED 3

typedef struct {
  GMainLoop *loop;
  int exit_code;
  CvGateway *gateway;
  CvCliOptions *options;
  guint shutdown_timer;
} Run;

static GLogLevelFlags
max_level_of (CvLogLevel level)
{
  switch (level)
    {
    case CV_LOG_LEVEL_ERROR:
      return G_LOG_LEVEL_CRITICAL;
    case CV_LOG_LEVEL_WARNING:
      return G_LOG_LEVEL_WARNING;
    case CV_LOG_LEVEL_DEBUG:
      return G_LOG_LEVEL_DEBUG;
    case CV_LOG_LEVEL_INFO:
    default:
      return G_LOG_LEVEL_INFO;
    }
}

/* The flags' errors (GOption's, or a flag's value) are the user's to fix: exit 2. */
static gboolean
parse_options (CvCliOptions *options, int *argc, char ***argv, const GOptionEntry *extra)
{
  g_autoptr (GError) error = NULL;

  if (cv_cli_options_parse (options, argc, argv, extra, &error))
    return TRUE;
  g_printerr ("%s: %s\n", g_get_prgname (), error->message);
  return FALSE;
}

static gboolean
on_quit_signal (gpointer user_data)
{
  Run *run = user_data;

  g_message ("stopping (signal)");
  run->exit_code = 0;
  g_main_loop_quit (run->loop);
  return G_SOURCE_CONTINUE;
}

/* Signals are caught from the first moment: a SIGHUP or SIGTERM that arrives while
 * the config loads or the port opens (systemd's ExecReload does not wait) must not
 * kill the process; it is acted on once the main loop runs. */
static void
run_init (Run *run, GSourceFunc on_term, GSourceFunc on_hup)
{
  run->loop = g_main_loop_new (NULL, FALSE);
  run->exit_code = 0;
  g_unix_signal_add (SIGTERM, on_term, run);
  g_unix_signal_add (SIGINT, on_term, run);
  if (on_hup != NULL)
    g_unix_signal_add (SIGHUP, on_hup, run);
}

/* ---- gateway ------------------------------------------------------------ */

static gboolean
on_gateway_drained (gpointer user_data)
{
  Run *run = user_data;

  if (!cv_gateway_is_idle (run->gateway) && run->shutdown_timer++ < 40)
    return G_SOURCE_CONTINUE;
  g_main_loop_quit (run->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
on_gateway_term (gpointer user_data)
{
  Run *run = user_data;

  g_message ("shutting down: telling every agent (GOAWAY)");
  cv_gateway_shutdown (run->gateway);
  run->exit_code = 0;
  /* Agents close their side on GOAWAY; give them up to two seconds. */
  g_timeout_add (50, on_gateway_drained, run);
  return G_SOURCE_REMOVE;
}

static gboolean
on_gateway_hup (gpointer user_data)
{
  Run *run = user_data;
  g_autoptr (GError) error = NULL;
  CvGatewayConfig *config = cv_cli_options_load_gateway (run->options, &error);

  if (config == NULL)
    {
      g_message ("reload failed, keeping the running configuration: %s", error->message);
      return G_SOURCE_CONTINUE;
    }
  cv_gateway_reload (run->gateway, config, NULL);
  return G_SOURCE_CONTINUE;
}

/* A fresh key for --debug-swap-code-keys, kept in memory only: its file is made in a
 * directory of its own and removed at once. */
static CvIdentity *
new_impostor (GError **error)
{
  g_autofree char *dir = g_dir_make_tmp ("culvert-impostor-XXXXXX", error);
  g_autofree char *file = NULL;
  CvIdentity *impostor;

  if (dir == NULL)
    return NULL;
  impostor = cv_identity_load_or_create (dir, "impostor", "culvert debug impostor", NULL, error);
  file = g_build_filename (dir, "impostor.pem", NULL);
  g_unlink (file);
  g_rmdir (dir);
  return impostor;
}

int
cv_cli_gateway (int argc, char **argv)
{
  g_autofree char *record = NULL; /* GOption's copy */
  gboolean swap_code_keys = FALSE;
  GOptionEntry extra[] = { { "debug-record-tunnels", 0, 0, G_OPTION_ARG_FILENAME, &record,
                             "Debug: append every byte relayed in tunnels to FILE", "FILE" },
                           { "debug-swap-code-keys", 0, 0, G_OPTION_ARG_NONE, &swap_code_keys,
                             "Debug: act as a malicious gateway, announcing a key of its own "
                             "to session code agents",
                             NULL },
                           { NULL } };
  g_autoptr (CvCliOptions) options = cv_cli_options_new (CV_CONFIG_KIND_GATEWAY);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvIdentity) identity = NULL;
  g_autoptr (CvGateway) gateway = NULL;
  g_autoptr (CvAdminSocket) admin = NULL; /* freed first: the socket file goes before the rest */
  CvGatewayConfig *config;
  Run run = { 0 };
  g_autoptr (GMainLoop) loop = NULL;

  cv_cli_log_init ("gateway", G_LOG_LEVEL_INFO);
  run_init (&run, on_gateway_term, on_gateway_hup);
  loop = run.loop; /* unref'd on every return */
  if (!parse_options (options, &argc, &argv, extra))
    return 2;
  config = cv_cli_options_load_gateway (options, &error);
  if (config == NULL)
    {
      g_printerr ("culvert-cli: %s\n", error->message);
      return 2;
    }
  cv_cli_log_set_max_level (max_level_of (config->log_level));

  identity = cv_gateway_load_identity (config, &error);
  if (identity == NULL)
    {
      g_printerr ("culvert-cli: %s\n", error->message);
      cv_gateway_config_free (config);
      return 1;
    }
  /* Agents pin this; print it on every start, where operators look for it. */
  g_message ("gateway key fingerprint: %s", cv_identity_get_fingerprint (identity));

  gateway = cv_gateway_new (config, identity);
  if (record != NULL)
    {
      g_message ("DEBUG: recording every tunnelled byte to %s", record);
      cv_gateway_set_record_path (gateway, record);
    }
  if (swap_code_keys)
    {
      g_autoptr (CvIdentity) impostor = new_impostor (&error);

      if (impostor == NULL)
        {
          g_printerr ("culvert-cli: %s\n", error->message);
          return 1;
        }
      g_message ("DEBUG: --debug-swap-code-keys: this gateway ATTACKS session codes: it "
                 "announces its own key %s to both agents (they must detect it); never use "
                 "this outside tests",
                 cv_identity_get_fingerprint (impostor));
      cv_gateway_set_debug_swap_code_keys (gateway, impostor);
    }
  if (!cv_gateway_start (gateway, &error))
    {
      g_printerr ("culvert-cli: %s\n", error->message);
      return 1;
    }
  /* Only now that they work: the agents' commands for the sessions given as flags.  The
   * gateway owns @config, which no reload has replaced yet. */
  cv_cli_options_print_sessions (options, config, cv_identity_get_fingerprint (identity));
  admin = cv_cli_admin_start_gateway (gateway, config);

  run.gateway = gateway;
  run.options = options;
  g_main_loop_run (run.loop);
  cv_cli_admin_stop (admin);
  g_message ("stopped");
  return run.exit_code;
}

/* ---- agents ------------------------------------------------------------- */

/* The agents are built from their config by the engine's constructors, as the app builds
 * them; what is logged here comes from their properties and signals. */

/* The link gave up for good: a share agent replaced by another. */
static void
on_link_stopped (CvAgentLink *link, const GError *error, Run *run)
{
  g_autofree char *gateway = cv_gateway_address_to_string (cv_agent_link_get_gateway (link));

  g_message ("gateway %s: %s; not retrying", gateway, error->message);
  run->exit_code = g_error_matches (error, CV_AGENT_ERROR, CV_AGENT_ERROR_REPLACED) ? EXIT_REPLACED
                                                                                    : 1;
  g_main_loop_quit (run->loop);
}

static void
on_share_online (CvConnectAgent *agent, GParamSpec *pspec, Run *run)
{
  g_message ("session “%s”: share agent %s",
             cv_agent_link_get_session (cv_connect_agent_get_link (agent)),
             cv_connect_agent_get_share_online (agent) ? "online" : "offline");
}

/* A code burned or expired during its exchange can never work again: the command ends
 * with an error, as when the gateway refuses the claim (on_link_stopped). */
static void
on_connect_code_state (CvConnectAgent *agent, GParamSpec *pspec, Run *run)
{
  CvCodeState state = cv_connect_agent_get_code_state (agent);

  if (state != CV_CODE_STATE_BURNED && state != CV_CODE_STATE_EXPIRED)
    return;
  run->exit_code = 1;
  g_main_loop_quit (run->loop);
}

static void
watch_link (Run *run, CvAgentLink *link)
{
  g_signal_connect (link, "stopped", G_CALLBACK (on_link_stopped), run);
}

/* A config error (the password's file or variable, say) is the user's to fix: 2; a key
 * that cannot be read or made, or a port that cannot be bound: 1. */
static int
agent_failed (const GError *error)
{
  g_printerr ("culvert-cli: %s\n", error->message);
  return error->domain == CV_CONFIG_ERROR ? 2 : 1;
}

static int
run_agent (Run *run)
{
  g_main_loop_run (run->loop);
  return run->exit_code;
}

int
cv_cli_share (int argc, char **argv)
{
  g_autoptr (CvCliOptions) options = cv_cli_options_new (CV_CONFIG_KIND_SHARE);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvShareConfig) config = NULL;
  g_autoptr (CvShareAgent) agent = NULL;
  g_autoptr (CvAdminSocket) admin = NULL;
  g_autoptr (CvCliLinkLog) link_log = NULL;
  g_autoptr (CvCliConsent) consent = NULL;
  g_autoptr (CvCliCode) code = NULL;
  Run run = { 0 };
  g_autoptr (GMainLoop) loop = NULL;
  gboolean accept_all = FALSE;
  GOptionEntry extra[] = { { "accept", 0, 0, G_OPTION_ARG_NONE, &accept_all,
                             "Allow every consent request without asking (for use without a "
                             "terminal; with --offer)",
                             NULL },
                           { NULL } };
  int exit_code;

  cv_cli_log_init ("share", G_LOG_LEVEL_INFO);
  run_init (&run, on_quit_signal, NULL);
  loop = run.loop; /* unref'd on every return */
  if (!parse_options (options, &argc, &argv, extra))
    return 2;
  config = cv_cli_options_load_share (options, &error);
  if (config == NULL)
    {
      g_printerr ("culvert-cli: %s\n", error->message);
      return 2;
    }
  cv_cli_log_set_max_level (max_level_of (config->agent.log_level));
  agent = cv_share_agent_new_from_config (config, NULL, &error);
  if (agent == NULL)
    return agent_failed (error);
  watch_link (&run, cv_share_agent_get_link (agent));
  link_log = cv_cli_link_log_new (cv_share_agent_get_link (agent), &config->agent);
  consent = cv_cli_consent_new (agent, accept_all);
  if (config->agent.code_mode)
    code = cv_cli_code_new_share (agent);
  cv_share_agent_start (agent);
  admin = cv_cli_admin_start_share (agent, config);
  exit_code = run_agent (&run);
  cv_cli_admin_stop (admin);
  g_clear_pointer (&consent, cv_cli_consent_free);
  g_clear_pointer (&code, cv_cli_code_free);
  cv_share_agent_stop (agent);
  return exit_code;
}

int
cv_cli_connect (int argc, char **argv)
{
  g_autoptr (CvCliOptions) options = cv_cli_options_new (CV_CONFIG_KIND_CONNECT);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvConnectConfig) config = NULL;
  g_autoptr (CvConnectAgent) agent = NULL;
  g_autoptr (CvAdminSocket) admin = NULL;
  g_autoptr (CvCliLinkLog) link_log = NULL;
  g_autoptr (CvCliCode) code = NULL;
  Run run = { 0 };
  g_autoptr (GMainLoop) loop = NULL;
  int exit_code;

  cv_cli_log_init ("connect", G_LOG_LEVEL_INFO);
  run_init (&run, on_quit_signal, NULL);
  loop = run.loop; /* unref'd on every return */
  if (!parse_options (options, &argc, &argv, NULL))
    return 2;
  config = cv_cli_options_load_connect (options, &error);
  if (config == NULL)
    {
      g_printerr ("culvert-cli: %s\n", error->message);
      return 2;
    }
  cv_cli_log_set_max_level (max_level_of (config->agent.log_level));
  agent = cv_connect_agent_new_from_config (config, NULL, &error);
  if (agent == NULL)
    return agent_failed (error);
  watch_link (&run, cv_connect_agent_get_link (agent));
  link_log = cv_cli_link_log_new (cv_connect_agent_get_link (agent), &config->agent);
  if (config->agent.code_mode)
    {
      code = cv_cli_code_new_connect (agent); /* first: it tells the user why */
      g_signal_connect (agent, "notify::code-state", G_CALLBACK (on_connect_code_state), &run);
    }
  else
    g_signal_connect (agent, "notify::share-online", G_CALLBACK (on_share_online), &run);
  cv_connect_agent_start (agent);
  admin = cv_cli_admin_start_connect (agent, config);
  exit_code = run_agent (&run);
  cv_cli_admin_stop (admin);
  g_clear_pointer (&code, cv_cli_code_free);
  cv_connect_agent_stop (agent);
  return exit_code;
}
