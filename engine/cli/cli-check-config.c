/* cli-check-config.c: `culvert-cli check-config`: what start-up would check, without
 * starting anything.
 *
 * Exits 0 for a valid file and 2 otherwise, so that a script or a systemd
 * ExecStartPre= can use it; the error starts "FILE: " as a compiler's does. */
#include "cli/cli-check-config.h"

#include "config/cv-agent-config.h"
#include "config/cv-config.h"
#include "config/cv-gateway-config.h"
#include "roles/cv-agent-link.h"
#include "roles/cv-gateway.h"
#include "transport/cv-identity.h"
#include "wire/cv-web-url.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>

/* A certificate that ends sooner than this is warned about: time to renew it before the
 * agents refuse it. */
#define EXPIRY_WARNING_DAYS 14

static const char *
plural (guint n)
{
  return n == 1 ? "" : "s";
}

/* A problem the role would survive, or that may be different where it runs: on stderr,
 * "FILE: warning: …", and the file still passes. */
static void G_GNUC_PRINTF (2, 3) warn (const char *file, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("%s: warning: %s\n", file, message);
}

/* Puts "FILE: KEY: " before an error of start-up's own, which names only the path. */
static gboolean
fail_at (GError **error, const char *file, const char *key)
{
  g_prefix_error (error, "%s: %s: ", file, key);
  return FALSE;
}

static gboolean
check_expiry (CvIdentity *identity, const char *file, const char *key, GError **error)
{
  g_autoptr (GDateTime) expiry = cv_identity_get_expiry (identity);
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *when = NULL;

  if (expiry == NULL)
    return TRUE;
  when = g_date_time_format_iso8601 (expiry);
  if (g_date_time_compare (expiry, now) <= 0)
    {
      g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_BAD_VALUE,
                   "%s: %s: the certificate (or one that issued it) expired at %s; agents refuse "
                   "it: renew it",
                   file, key, when);
      return FALSE;
    }
  if (g_date_time_difference (expiry, now) < (GTimeSpan) EXPIRY_WARNING_DAYS * G_TIME_SPAN_DAY)
    warn (file,
          "%s: the certificate (or one that issued it) expires at %s, in less than %d days; "
          "renew it",
          key, when, EXPIRY_WARNING_DAYS);
  return TRUE;
}

/* The key and certificate start-up would load (made in state_dir, if there are none:
 * then that must be possible). */
static gboolean
check_gateway (const CvGatewayConfig *config, const char *file, GError **error)
{
  g_autoptr (CvIdentity) identity = NULL;
  const char *key = config->cert_file != NULL ? "certificate" : "state_dir";

  /* As the gateway warns at start: plain HTTP is for a proxy on the same host. */
  for (guint i = 0; i < config->websocket_listeners->len; i++)
    {
      const CvGatewayListener *listener = config->websocket_listeners->pdata[i];
      g_autoptr (GInetAddress) address = g_inet_address_new_from_string (listener->host);

      if (address != NULL && !g_inet_address_get_is_loopback (address))
        warn (file,
              "websocket_listen[%u]: %s is not a loopback address: it takes plain HTTP, meant "
              "for a reverse proxy on this host that terminates TLS; tunnel tickets would "
              "cross the network unencrypted",
              i, listener->host);
    }

  if (!cv_gateway_check_identity (config, &identity, error))
    return fail_at (error, file, key);
  return identity == NULL || check_expiry (identity, file, key, error);
}

/* The password is read as start-up reads it, and wiped at once: a file that is missing,
 * unreadable, readable by others or empty fails here rather than at start.  A variable
 * may be set only where the agent runs (a unit's Environment=), so its absence here is
 * a warning; stdin is not read. */
static gboolean
check_password (const CvAgentConfig *agent, const char *file, GError **error)
{
  char *password;

  if (agent->password_source == CV_PASSWORD_SOURCE_STDIN)
    return TRUE;
  if (agent->password_source == CV_PASSWORD_SOURCE_ENV && g_getenv (agent->password_env) == NULL)
    {
      warn (file,
            "password_env: the environment variable %s is not set here; the agent needs it "
            "where it runs",
            agent->password_env);
      return TRUE;
    }
  password = cv_agent_config_read_password (agent, error);
  if (password == NULL)
    return fail_at (error, file,
                    agent->password_source == CV_PASSWORD_SOURCE_ENV ? "password_env"
                                                                     : "password_file");
  sodium_memzero (password, strlen (password));
  g_free (password);
  return TRUE;
}

/* A proxy's password in a file that others may read: a warning, since the agent still
 * works, but the file then deserves a password file's mode. */
static void
check_proxy_secret (const CvAgentConfig *agent, const char *file)
{
  gboolean has_credentials = FALSE;
  GStatBuf info;

  if (agent->proxy == NULL
      || !cv_web_url_parse_proxy (agent->proxy, NULL, NULL, &has_credentials, NULL)
      || !has_credentials || g_stat (file, &info) != 0 || (info.st_mode & 0077) == 0)
    return;
  warn (file,
        "proxy: it holds the proxy's password, and others may read this file (mode %04o); "
        "give it mode 0600, as a password file",
        (guint) (info.st_mode & 07777));
}

static gboolean
check_agent (const CvAgentConfig *agent, const char *file, GError **error)
{
  if (!check_password (agent, file, error))
    return FALSE;
  if (!cv_agent_link_check_identity (agent, NULL, error))
    return fail_at (error, file, "state_dir");
  if (agent->gateway_fingerprint == NULL)
    warn (file, "no gateway_fingerprint: the gateway's certificate will be trusted if the system's "
                "CAs trust it for its host name; to pin the gateway's key instead, add "
                "\"gateway_fingerprint\": \"sha256:…\" with what “culvert-cli fingerprint” prints "
                "on the gateway (its log says it too, as “gateway key fingerprint: …”)");
  check_proxy_secret (agent, file);
  return TRUE;
}

/* The config read as the role reads it, then what start-up would open; a summary of it,
 * or NULL with @error set. */
static char *
check_config (CvConfigKind kind, JsonObject *root, const char *file, GError **error)
{
  switch (kind)
    {
    case CV_CONFIG_KIND_GATEWAY:
      {
        g_autoptr (CvGatewayConfig) config = cv_gateway_config_new_from_json (root, file, error);

        g_autofree char *web = NULL;
        guint n_web;

        if (config == NULL || !check_gateway (config, file, error))
          return NULL;
        n_web = config->websocket_listeners->len;
        if (!config->websocket && n_web == 0)
          web = g_strdup ("no WebSocket");
        else if (n_web == 0)
          web = g_strdup_printf ("WebSocket on %s", config->websocket_path);
        else
          web = g_strdup_printf ("WebSocket on %s%s, %u plain-HTTP WebSocket listener%s",
                                 config->websocket_path,
                                 config->websocket ? "" : " (not on the TLS port)", n_web,
                                 plural (n_web));
        return g_strdup_printf ("gateway: %u session%s, %u listener%s, %s", config->sessions->len,
                                plural (config->sessions->len), config->listeners->len,
                                plural (config->listeners->len), web);
      }
    case CV_CONFIG_KIND_SHARE:
      {
        g_autoptr (CvShareConfig) config = cv_share_config_new_from_json (root, file, error);
        guint n_keys;

        if (config == NULL || !check_agent (&config->agent, file, error))
          return NULL;
        n_keys = config->authorized_connect_keys != NULL
                   ? g_strv_length (config->authorized_connect_keys)
                   : 0;
        if (n_keys == 0)
          return g_strdup_printf ("share: session %s, %u allowed target%s, any connect agent "
                                  "the gateway announces",
                                  config->agent.session, config->allow->len,
                                  plural (config->allow->len));
        return g_strdup_printf ("share: session %s, %u allowed target%s, %u authorized connect "
                                "key%s",
                                config->agent.session, config->allow->len,
                                plural (config->allow->len), n_keys, plural (n_keys));
      }
    case CV_CONFIG_KIND_CONNECT:
      {
        g_autoptr (CvConnectConfig) config = cv_connect_config_new_from_json (root, file, error);

        if (config == NULL || !check_agent (&config->agent, file, error))
          return NULL;
        return g_strdup_printf ("connect: session %s, %u mapping%s", config->agent.session,
                                config->mappings->len, plural (config->mappings->len));
      }
    case CV_CONFIG_KIND_UNKNOWN:
    default:
      g_return_val_if_reached (NULL);
    }
}

/* Under a syntax error, the line it is on and a caret under the column, as compilers
 * show them. */
static void
print_location (const GError *error, const char *file)
{
  g_autofree char *data = NULL;
  g_autofree char *quoted = NULL;
  guint line, column;
  gsize len;

  if (cv_config_error_get_location (error, file, &line, &column)
      && g_file_get_contents (file, &data, &len, NULL)
      && (quoted = cv_config_quote_line (data, len, line, column)) != NULL)
    g_printerr ("%s", quoted);
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
                                "Checks what the role would check at start: the file's keys, and "
                                "the files it names\n(password file, certificate and key, "
                                "sessions file, state directory).  Prints\n“FILE: OK (…)” and "
                                "exits 0, or the first problem and exits 2; warnings\n(“FILE: "
                                "warning: …”, on stderr) do not fail the check.");
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
    summary = check_config (kind, root, argv[1], &error);
  if (summary == NULL)
    {
      g_printerr ("%s\n", error->message);
      print_location (error, argv[1]);
      return 2;
    }
  g_print ("%s: OK (%s)\n", argv[1], summary);
  return 0;
}
