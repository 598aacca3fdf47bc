/* cli-flag-sessions.c: `culvert-cli gateway --session ID`.  A session needs two password
 * hashes; on the command line there is no room for them, so the gateway makes the two
 * passwords itself and prints them once, or reads them where it is told to (never argv).
 * The hashes are kept for the process's life: a reload (SIGHUP) keeps the sessions. */
#include "cli/cli-flag-sessions.h"

#include "auth/cv-password.h"
#include "config/cv-agent-config.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

/* 160 random bits: far beyond guessing, even against a stolen hash. */

#define SHARE_PASSWORD_ENV "CULVERT_SHARE_PASSWORD"
#define CONNECT_PASSWORD_ENV "CULVERT_CONNECT_PASSWORD"

typedef struct {
  char *id;
  char *share_hash;
  char *connect_hash;
  char *share_password; /* made here: kept until printed, then wiped */
  char *connect_password;
} FlagSession;

struct _CvCliFlagSessions {
  GPtrArray *sessions; /* of FlagSession */
};

static void
flag_session_free (gpointer data)
{
  FlagSession *session = data;

  g_free (session->id);
  g_free (session->share_hash);
  g_free (session->connect_hash);
  g_clear_pointer (&session->share_password, cv_secret_free);
  g_clear_pointer (&session->connect_password, cv_secret_free);
  g_free (session);
}

void
cv_cli_flag_sessions_free (CvCliFlagSessions *sessions)
{
  g_ptr_array_unref (sessions->sessions);
  g_free (sessions);
}

/* Read as an agent reads its own password, with the same checks. */
static char *
read_password (CvPasswordSource source, const char *env, GError **error)
{
  CvAgentConfig from = { .password_source = source, .password_env = (char *) env };

  return cv_agent_config_read_password (&from, error);
}

static gboolean
hash_passwords (FlagSession *session, const char *share, const char *connect, GError **error)
{
  if (g_str_equal (share, connect))
    {
      g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_BAD_VALUE,
                   "--session %s: the share and connect passwords are the same, so whoever "
                   "shares could also connect; give two different passwords",
                   session->id);
      return FALSE;
    }
  session->share_hash = cv_password_hash (share, error);
  if (session->share_hash == NULL)
    return FALSE;
  session->connect_hash = cv_password_hash (connect, error);
  return session->connect_hash != NULL;
}

static gboolean
get_passwords (FlagSession *session, CvCliPasswords passwords, GError **error)
{
  g_autofree char *share = NULL;
  g_autofree char *connect = NULL;
  gboolean ok;

  switch (passwords)
    {
    case CV_CLI_PASSWORDS_GENERATE:
      session->share_password = cv_password_generate ();
      session->connect_password = cv_password_generate ();
      return hash_passwords (session, session->share_password, session->connect_password, error);
    case CV_CLI_PASSWORDS_ENV:
      share = read_password (CV_PASSWORD_SOURCE_ENV, SHARE_PASSWORD_ENV, error);
      if (share != NULL)
        connect = read_password (CV_PASSWORD_SOURCE_ENV, CONNECT_PASSWORD_ENV, error);
      break;
    case CV_CLI_PASSWORDS_STDIN:
    default:
      share = read_password (CV_PASSWORD_SOURCE_STDIN, NULL, error);
      if (share != NULL)
        connect = read_password (CV_PASSWORD_SOURCE_STDIN, NULL, error);
      break;
    }
  ok = share != NULL && connect != NULL && hash_passwords (session, share, connect, error);
  g_clear_pointer (&share, cv_secret_free);
  g_clear_pointer (&connect, cv_secret_free);
  return ok;
}

/**
 * cv_cli_flag_sessions_new:
 * @ids: the --session ids, checked already
 * @passwords: where their passwords come from; from the environment for one session only
 *   (two variables cannot tell sessions apart), from stdin two lines per session
 *
 * Returns: (transfer full): the sessions with their hashes, or %NULL with @error set
 */
CvCliFlagSessions *
cv_cli_flag_sessions_new (const char *const *ids, CvCliPasswords passwords, GError **error)
{
  CvCliFlagSessions *sessions = g_new0 (CvCliFlagSessions, 1);
  guint n_ids = ids != NULL ? g_strv_length ((char **) ids) : 0;

  sessions->sessions = g_ptr_array_new_with_free_func (flag_session_free);
  if (passwords == CV_CLI_PASSWORDS_ENV && n_ids > 1)
    {
      g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_BAD_VALUE,
                   "--session-passwords env reads one session's passwords (%s and %s), got %u "
                   "sessions; give them in a config file, or use stdin or generate",
                   SHARE_PASSWORD_ENV, CONNECT_PASSWORD_ENV, n_ids);
      cv_cli_flag_sessions_free (sessions);
      return NULL;
    }
  for (guint i = 0; i < n_ids; i++)
    {
      FlagSession *session = g_new0 (FlagSession, 1);

      session->id = g_strdup (ids[i]);
      g_ptr_array_add (sessions->sessions, session);
      if (!get_passwords (session, passwords, error))
        {
          cv_cli_flag_sessions_free (sessions);
          return NULL;
        }
    }
  return sessions;
}

/* Adds each session to @config, in place of the file's session of the same id. */
gboolean
cv_cli_flag_sessions_apply (CvCliFlagSessions *sessions, CvGatewayConfig *config, GError **error)
{
  for (guint i = 0; i < sessions->sessions->len; i++)
    {
      FlagSession *session = g_ptr_array_index (sessions->sessions, i);
      g_autofree char *where = g_strdup_printf ("--session %s", session->id);

      if (!cv_gateway_config_add_session (config, session->id, session->share_hash,
                                          session->connect_hash, where, error))
        return FALSE;
    }
  return TRUE;
}

/* Where agents reach the first listener: a wildcard address is no place to dial. */
static char *
describe_gateway (const CvGatewayConfig *config)
{
  const CvGatewayListener *listener = g_ptr_array_index (config->listeners, 0);
  const char *host = listener->host;

  if (g_str_equal (host, "0.0.0.0") || g_str_equal (host, "::"))
    host = g_get_host_name ();
  if (strchr (host, ':') != NULL)
    return g_strdup_printf ("[%s]:%u", host, listener->port);
  return g_strdup_printf ("%s:%u", host, listener->port);
}

/**
 * cv_cli_flag_sessions_print:
 *
 * On stdout, once: for each session whose passwords were made here, the two agents'
 * command lines, ready to paste; then those passwords are wiped.
 */
void
cv_cli_flag_sessions_print (CvCliFlagSessions *sessions,
                            const CvGatewayConfig *config,
                            const char *fingerprint)
{
  g_autofree char *gateway = describe_gateway (config);

  for (guint i = 0; i < sessions->sessions->len; i++)
    {
      FlagSession *session = g_ptr_array_index (sessions->sessions, i);
      g_autofree char *common = NULL;
      char *text;

      if (session->share_password == NULL)
        continue;
      common = g_strdup_printf ("--gateway %s --fingerprint %s --session %s", gateway, fingerprint,
                                session->id);
      /* Written from a buffer that is wiped afterwards: g_print's own copy would not be. */
      text = g_strdup_printf ("Session “%s”: its passwords were made for this run and are not "
                              "stored (a restart makes new ones).\n"
                              "Share agent (put the service it may reach in place of HOST:PORT):\n"
                              "  CULVERT_PASSWORD='%s' culvert-cli share %s --allow HOST:PORT\n"
                              "Connect agent (put a free local port in place of LOCAL_PORT):\n"
                              "  CULVERT_PASSWORD='%s' culvert-cli connect %s -L "
                              "LOCAL_PORT:HOST:PORT\n",
                              session->id, session->share_password, common,
                              session->connect_password, common);
      fputs (text, stdout);
      g_clear_pointer (&text, cv_secret_free);
      g_clear_pointer (&session->share_password, cv_secret_free);
      g_clear_pointer (&session->connect_password, cv_secret_free);
    }
  fflush (stdout);
}
