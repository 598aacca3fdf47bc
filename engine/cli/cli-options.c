/* cli-options.c: the flags of gateway, share and connect.  Each flag sets one config key,
 * so that the flags are turned into the file's JSON (its keys replaced) and read by the
 * same code that reads a file: one meaning, one validation, for both.  Lists given as
 * flags (--listen, --websocket-listen, --allow, --authorized-connect-key, -L) replace the file's
 * list; --session adds to the file's sessions (or replaces one of the same id).  Each flag's value
 * is also checked as it is parsed, so that an error names the flag rather than the file. */
#include "cli/cli-options.h"

#include "cli/cli-flag-sessions.h"
#include "wire/cv-code.h"
#include "wire/cv-host-port.h"
#include "wire/cv-services.h"
#include "wire/cv-web-url.h"

#include <string.h>

#define DEFAULT_PASSWORD_ENV "CULVERT_PASSWORD"

struct _CvCliOptions {
  CvConfigKind kind;
  char *config_file;
  char *log_level;
  char *state_dir;
  /* the agents' */
  char *gateway;
  char *fingerprint;
  char *web_fingerprint;
  char *proxy;
  char *session;
  char *name;
  char *password_file;
  char *password_env;
  gboolean password_stdin;
  char **targets;         /* --allow or -L */
  char **offers;          /* --offer NAME=HOST:PORT (share) or --map [HOST:]PORT:NAME (connect) */
  gboolean share_by_code; /* share --code */
  char *code;             /* connect --code CODE */
  char *technician;       /* connect --code CODE --technician NAME */
  char **authorized_connect_keys;
  /* the gateway's */
  char **listen;
  char **websocket_listen;
  char **sessions;
  char *cert_file;
  char *key_file;
  char *session_passwords;
  CvCliFlagSessions *flag_sessions; /* made once, at the first load */
};

CvCliOptions *
cv_cli_options_new (CvConfigKind kind)
{
  CvCliOptions *options = g_new0 (CvCliOptions, 1);

  options->kind = kind;
  return options;
}

void
cv_cli_options_free (CvCliOptions *options)
{
  g_free (options->config_file);
  g_free (options->log_level);
  g_free (options->state_dir);
  g_free (options->gateway);
  g_free (options->fingerprint);
  g_free (options->web_fingerprint);
  g_free (options->proxy);
  g_free (options->session);
  g_free (options->name);
  g_free (options->password_file);
  g_free (options->password_env);
  g_strfreev (options->targets);
  g_strfreev (options->offers);
  g_free (options->code);
  g_free (options->technician);
  g_strfreev (options->authorized_connect_keys);
  g_strfreev (options->listen);
  g_strfreev (options->websocket_listen);
  g_strfreev (options->sessions);
  g_free (options->cert_file);
  g_free (options->key_file);
  g_free (options->session_passwords);
  g_clear_pointer (&options->flag_sessions, cv_cli_flag_sessions_free);
  g_free (options);
}

/* ---- the flag tables ---------------------------------------------------- */

#define ENTRY(long_name, short_name, arg, field, text, arg_text)                                   \
  {                                                                                                \
    long_name, short_name, 0, arg, &options->field, text, arg_text                                 \
  }

static GArray *
make_entries (CvCliOptions *options, const GOptionEntry *extra)
{
  GArray *entries = g_array_new (TRUE, TRUE, sizeof (GOptionEntry));
  const GOptionEntry common[] = {
    ENTRY ("config", 'c', G_OPTION_ARG_FILENAME, config_file,
           "The JSON config; the flags below replace its keys", "FILE"),
    ENTRY ("state-dir", 0, G_OPTION_ARG_FILENAME, state_dir, "Where the key is kept (state_dir)",
           "DIR"),
    ENTRY ("log-level", 0, G_OPTION_ARG_STRING, log_level,
           "error, warning, info or debug (log_level)", "LEVEL"),
  };
  const GOptionEntry agent[] = {
    ENTRY ("gateway", 'g', G_OPTION_ARG_STRING, gateway,
           "The gateway: its own port, or by WebSocket, behind a web server (gateway)",
           "HOST:PORT|wss://HOST[:PORT][/PATH]"),
    ENTRY ("fingerprint", 'f', G_OPTION_ARG_STRING, fingerprint,
           "The gateway's key, as it prints it (gateway_fingerprint)", "sha256:…"),
    ENTRY ("web-fingerprint", 0, G_OPTION_ARG_STRING, web_fingerprint,
           "With a wss:// gateway: the web server's key, instead of the system's CAs "
           "(web_fingerprint)",
           "sha256:…"),
    ENTRY ("proxy", 0, G_OPTION_ARG_STRING, proxy,
           "Dial the gateway through this HTTP proxy, or \"direct\" for none; without it, the "
           "system's proxy settings (proxy)",
           "http://HOST:PORT|direct"),
    ENTRY ("session", 's', G_OPTION_ARG_STRING, session, "The session id (session)", "ID"),
    ENTRY ("name", 'n', G_OPTION_ARG_STRING, name, "This agent's name (name)", "NAME"),
    ENTRY ("password-file", 0, G_OPTION_ARG_FILENAME, password_file,
           "Read the password from FILE, mode 0600 (password_file)", "FILE"),
    ENTRY ("password-env", 0, G_OPTION_ARG_STRING, password_env,
           "Read the password from the variable VAR (password_env)", "VAR"),
    ENTRY ("password-stdin", 0, G_OPTION_ARG_NONE, password_stdin,
           "Read the password from the first line of stdin (password_stdin)", NULL),
  };
  const GOptionEntry share[] = {
    ENTRY ("allow", 'a', G_OPTION_ARG_STRING_ARRAY, targets,
           "A target this agent may dial; repeat for more (allow)", "HOST:PORT[-PORT]"),
    ENTRY ("code", 0, G_OPTION_ARG_NONE, share_by_code,
           "Share by a session code to read out, instead of a session and its password; "
           "with --offer (code)",
           NULL),
    ENTRY ("offer", 'o', G_OPTION_ARG_STRING_ARRAY, offers,
           "Offer a service by name, with consent asked for each tunnel; the kind is the name "
           "when it is rdp, vnc, ssh or http, else custom; repeat for more (services)",
           "NAME=HOST:PORT"),
    ENTRY ("authorized-connect-key", 0, G_OPTION_ARG_STRING_ARRAY, authorized_connect_keys,
           "Only this connect agent's key may open tunnels; repeat for more "
           "(authorized_connect_keys)",
           "sha256:…"),
  };
  const GOptionEntry connect[] = {
    ENTRY ("local", 'L', G_OPTION_ARG_STRING_ARRAY, targets,
           "Listen on [HOST:]PORT, reach TARGET_HOST:PORT as the share agent sees it; repeat "
           "for more (mappings)",
           "[HOST:]PORT:TARGET_HOST:PORT"),
    ENTRY ("code", 0, G_OPTION_ARG_STRING, code,
           "Reach the share agent by the session code its user read out, instead of a "
           "session and its password; with --map (code)",
           "CODE"),
    ENTRY ("technician", 0, G_OPTION_ARG_STRING, technician,
           "With --code: claim it as this technician account of the gateway, with its "
           "password (technician)",
           "NAME"),
    ENTRY ("map", 'm', G_OPTION_ARG_STRING_ARRAY, offers,
           "Listen on [HOST:]PORT (0: any free port) for the service the share agent offers "
           "as NAME; repeat for more (mappings[].service)",
           "[HOST:]PORT:NAME"),
  };
  const GOptionEntry gateway[] = {
    ENTRY ("listen", 'l', G_OPTION_ARG_STRING_ARRAY, listen,
           "An address to listen on; repeat for more (listen)", "IP:PORT"),
    ENTRY ("websocket-listen", 0, G_OPTION_ARG_STRING_ARRAY, websocket_listen,
           "An address for plain-HTTP WebSocket upgrades from a reverse proxy such as nginx; "
           "repeat for more (websocket_listen)",
           "IP:PORT"),
    ENTRY ("session", 's', G_OPTION_ARG_STRING_ARRAY, sessions,
           "Add a session; repeat for more (sessions[].id)", "ID"),
    ENTRY ("session-passwords", 0, G_OPTION_ARG_STRING, session_passwords,
           "generate (the default), env or stdin: see below", "FROM"),
    ENTRY ("cert", 0, G_OPTION_ARG_FILENAME, cert_file,
           "The certificate chain, PEM (certificate.cert_file)", "FILE"),
    ENTRY ("key", 0, G_OPTION_ARG_FILENAME, key_file, "Its private key, PEM (certificate.key_file)",
           "FILE"),
  };

  g_array_append_vals (entries, common, G_N_ELEMENTS (common));
  if (options->kind == CV_CONFIG_KIND_GATEWAY)
    g_array_append_vals (entries, gateway, G_N_ELEMENTS (gateway));
  else
    {
      g_array_append_vals (entries, agent, G_N_ELEMENTS (agent));
      if (options->kind == CV_CONFIG_KIND_SHARE)
        g_array_append_vals (entries, share, G_N_ELEMENTS (share));
      else
        g_array_append_vals (entries, connect, G_N_ELEMENTS (connect));
    }
  for (; extra != NULL && extra->long_name != NULL; extra++)
    g_array_append_val (entries, *extra);
  return entries;
}

#undef ENTRY

static const char agent_help[] =
  "Each flag sets the config key named after it (see culvert-cli(1)).  With --config, the\n"
  "flags replace the file's keys, and %s replaces the file's whole list.  Without\n"
  "--config, --gateway, --session and %s are required.\n"
  "\n"
  "The session password is read from --password-file, --password-env or --password-stdin;\n"
  "with none of them and no --config, from the environment variable " DEFAULT_PASSWORD_ENV ".\n"
  "It is never taken from the command line, where every user of the machine sees it.";

static const char gateway_help[] =
  "Each flag sets the config key named after it (see culvert-cli(1)).  With --config, the\n"
  "flags replace the file's keys (--listen and --websocket-listen their whole list);\n"
  "--session adds a session, or\n"
  "replaces the file's session of that id.  Without --config, --session is required.\n"
  "\n"
  "A --session needs a share password and a connect password; --session-passwords says\n"
  "where they come from:\n"
  "  generate  the gateway makes two random ones and prints them once on stdout, with\n"
  "            the share and connect commands that use them (not stored: a restart\n"
  "            makes new ones)\n"
  "  env       from CULVERT_SHARE_PASSWORD and CULVERT_CONNECT_PASSWORD (one --session)\n"
  "  stdin     two lines per --session, in order: the share password, then the connect\n"
  "            password\n"
  "Passwords are never taken from the command line, where every user of the machine\n"
  "sees them.";

/* ---- checks as the flags are read ------------------------------------- */

static gboolean flag_error (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
flag_error (GError **error, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_propagate_error (error,
                     g_error_new_valist (CV_CONFIG_ERROR, CV_CONFIG_ERROR_BAD_VALUE, format, args));
  va_end (args);
  return FALSE;
}

/* An option whose name ends in "password" ("--password=…", "--share-password …") is a
 * password on the command line: refused before GOption could repeat it in an error. */
static gboolean
refuse_password_arguments (int argc, char **argv, const char *instead, GError **error)
{
  for (int i = 1; i < argc && !g_str_equal (argv[i], "--"); i++)
    {
      const char *name = argv[i];
      const char *equals = strchr (name, '=');
      gsize len = equals != NULL ? (gsize) (equals - name) : strlen (name);

      if (name[0] != '-' || len < strlen ("password"))
        continue;
      if (g_ascii_strncasecmp (name + len - strlen ("password"), "password", strlen ("password"))
          == 0)
        return flag_error (error,
                           "a password is never taken from the command line, where every user "
                           "of the machine can see it (ps); %s",
                           instead);
    }
  return TRUE;
}

static gboolean
check_host_port (const char *text,
                 const char *flag,
                 const char *default_host,
                 gboolean ranges,
                 GError **error)
{
  g_autofree char *host = NULL;
  guint16 lo, hi;

  return cv_config_parse_host_port (text, flag, default_host, &host, &lo, ranges ? &hi : NULL,
                                    error);
}

static gboolean
check_log_level (const char *level, GError **error)
{
  for (guint i = 0; cv_config_log_level_choices[i] != NULL; i++)
    if (g_str_equal (level, cv_config_log_level_choices[i]))
      return TRUE;
  return flag_error (error, "--log-level: expected error, warning, info or debug, got “%s”", level);
}

static gboolean
check_forward (const char *text, char **listen, char **target, GError **error)
{
  g_autoptr (GError) split_error = NULL;
  g_autofree char *shown = cv_config_describe_string (text);

  if (!cv_host_port_split_forward (text, listen, target, &split_error))
    return flag_error (error,
                       "-L: expected [HOST:]PORT:TARGET_HOST:TARGET_PORT, as ssh's -L, "
                       "with IPv6 addresses in brackets, got %s (%s)",
                       shown, split_error->message);
  return check_host_port (*listen, "-L", "127.0.0.1", FALSE, error)
         && check_host_port (*target, "-L", NULL, FALSE, error);
}

/* "vnc=localhost:5900": a service name, then its target. */
static gboolean
split_offer (const char *text, char **name, char **target, GError **error)
{
  const char *equals = strchr (text, '=');
  g_autofree char *shown = cv_config_describe_string (text);

  if (equals == NULL || equals == text)
    return flag_error (error, "--offer: expected NAME=HOST:PORT, got %s", shown);
  *name = g_strndup (text, equals - text);
  *target = g_strdup (equals + 1);
  if (!cv_service_name_is_valid (*name))
    return flag_error (error,
                       "--offer: expected a service name of 1 to %d lower-case letters, "
                       "digits, “-” and “_” before “=”, got %s",
                       CV_SERVICE_MAX_NAME_LEN, shown);
  return check_host_port (*target, "--offer", NULL, FALSE, error);
}

/* "5920:vnc", "0:ssh", "[::1]:5920:vnc": where to listen, then the service's name (the
 * last ':' separates them: a name has none). */
static gboolean
split_map (const char *text, char **listen, char **name, GError **error)
{
  const char *colon = strrchr (text, ':');
  g_autofree char *shown = cv_config_describe_string (text);
  g_autofree char *host = NULL;
  guint16 port = 0;

  if (colon == NULL || colon == text)
    return flag_error (error, "--map: expected [HOST:]PORT:NAME, got %s", shown);
  *listen = g_strndup (text, colon - text);
  *name = g_strdup (colon + 1);
  if (!cv_service_name_is_valid (*name))
    return flag_error (error,
                       "--map: expected a service name after the last “:”, got %s "
                       "(names are lower-case letters, digits, “-” and “_”)",
                       shown);
  /* Port 0 (any free one) is what --map adds to [HOST:]PORT. */
  if (g_str_equal (*listen, "0") || g_str_has_suffix (*listen, ":0"))
    return TRUE;
  return cv_config_parse_host_port (*listen, "--map", "127.0.0.1", &host, &port, NULL, error);
}

static gboolean
check_gateway (const char *text, GError **error)
{
  g_autofree char *host = NULL;
  g_autofree char *web_path = NULL;
  guint16 port;
  gboolean web_tls;

  return cv_agent_config_parse_gateway (text, "--gateway", &host, &port, &web_path, &web_tls,
                                        error);
}

/* A proxy's password, like every other, is never taken from the command line. */
static gboolean
check_proxy (const char *text, GError **error)
{
  gboolean has_credentials = FALSE;

  if (!cv_agent_config_parse_proxy (text, "--proxy", error))
    return FALSE;
  if (cv_web_url_parse_proxy (text, NULL, NULL, &has_credentials, NULL) && has_credentials)
    return flag_error (error,
                       "--proxy: a proxy's password is never taken from the command line, where "
                       "every user of the machine can see it (ps); give it in the config's proxy "
                       "key, or in the environment's https_proxy");
  return TRUE;
}

static gboolean
check_agent_flags (CvCliOptions *options, GError **error)
{
  g_autofree char *fingerprint = NULL;
  g_autofree char *web_fingerprint = NULL;
  guint n_sources = (options->password_file != NULL) + (options->password_env != NULL)
                    + (options->password_stdin != FALSE);

  if (options->gateway != NULL && !check_gateway (options->gateway, error))
    return FALSE;
  if (options->fingerprint != NULL
      && !cv_agent_config_parse_fingerprint (options->fingerprint, "--fingerprint", &fingerprint,
                                             error))
    return FALSE;
  if (options->web_fingerprint != NULL
      && !cv_agent_config_parse_fingerprint (options->web_fingerprint, "--web-fingerprint",
                                             &web_fingerprint, error))
    return FALSE;
  if (options->proxy != NULL && !check_proxy (options->proxy, error))
    return FALSE;
  if (options->session != NULL
      && !cv_config_check_session_id (options->session, "--session", error))
    return FALSE;
  if (n_sources > 1)
    return flag_error (error,
                       "expected one of --password-file, --password-env and "
                       "--password-stdin, got %u of them",
                       n_sources);
  for (guint i = 0; options->targets != NULL && options->targets[i] != NULL; i++)
    {
      g_autofree char *listen = NULL;
      g_autofree char *target = NULL;

      if (options->kind == CV_CONFIG_KIND_SHARE
            ? !check_host_port (options->targets[i], "--allow", NULL, TRUE, error)
            : !check_forward (options->targets[i], &listen, &target, error))
        return FALSE;
    }
  for (guint i = 0; options->offers != NULL && options->offers[i] != NULL; i++)
    {
      g_autofree char *first = NULL;
      g_autofree char *second = NULL;

      if (options->kind == CV_CONFIG_KIND_SHARE
            ? !split_offer (options->offers[i], &first, &second, error)
            : !split_map (options->offers[i], &first, &second, error))
        return FALSE;
    }
  if (options->kind == CV_CONFIG_KIND_SHARE && options->targets != NULL && options->offers != NULL)
    return flag_error (error, "expected --allow or --offer, got both (the offered services' "
                              "targets are the allow list)");
  for (guint i = 0;
       options->authorized_connect_keys != NULL && options->authorized_connect_keys[i] != NULL; i++)
    {
      g_autofree char *key = NULL;

      if (!cv_agent_config_parse_fingerprint (options->authorized_connect_keys[i],
                                              "--authorized-connect-key", &key, error))
        return FALSE;
    }
  if (options->code != NULL)
    {
      g_autoptr (GError) code_error = NULL;

      /* The error says where it fails, never the digits themselves. */
      if (!cv_code_parse (options->code, NULL, NULL, &code_error))
        return flag_error (error, "--code: %s", code_error->message);
    }
  if (options->technician != NULL && options->code == NULL)
    return flag_error (error, "--technician goes with --code (a technician claims a code)");
  if (options->code != NULL && options->session != NULL)
    return flag_error (error, "--code replaces --session: expected one of them, got both (a "
                              "gateway that lets only technicians claim asks for --technician)");
  /* A code's credential is the code, unless the gateway's policy asks for a share
   * password (share --session) or a technician account (connect --technician). */
  if ((options->share_by_code || options->code != NULL) && n_sources > 0 && options->session == NULL
      && options->technician == NULL)
    return flag_error (error,
                       "--code replaces the password: expected one of them, got both "
                       "(a password goes with --code only beside %s)",
                       options->share_by_code ? "--session" : "--technician");
  if (options->config_file != NULL)
    return TRUE;
  if (options->gateway == NULL)
    return flag_error (error, "--gateway HOST:PORT is required (or --config FILE)");
  if (options->share_by_code && options->offers == NULL)
    return flag_error (error, "--code needs at least one --offer NAME=HOST:PORT: the "
                              "technician asks for services by name");
  if (options->code != NULL && options->offers == NULL)
    return flag_error (error, "--code needs at least one --map [HOST:]PORT:NAME: the share "
                              "agent's services are reached by name");
  if (options->share_by_code || options->code != NULL)
    return TRUE;
  if (options->session == NULL)
    return flag_error (error, "--session ID is required (or --config FILE)");
  if (options->targets == NULL && options->offers == NULL)
    return flag_error (error, "%s is required (or --config FILE)",
                       options->kind == CV_CONFIG_KIND_SHARE
                         ? "--allow HOST:PORT or --offer NAME=HOST:PORT"
                         : "-L [HOST:]PORT:TARGET_HOST:PORT or --map [HOST:]PORT:NAME");
  return TRUE;
}

static gboolean
check_gateway_flags (CvCliOptions *options, GError **error)
{
  for (guint i = 0; options->listen != NULL && options->listen[i] != NULL; i++)
    if (!check_host_port (options->listen[i], "--listen", NULL, FALSE, error))
      return FALSE;
  for (guint i = 0; options->websocket_listen != NULL && options->websocket_listen[i] != NULL; i++)
    if (!check_host_port (options->websocket_listen[i], "--websocket-listen", NULL, FALSE, error))
      return FALSE;
  for (guint i = 0; options->sessions != NULL && options->sessions[i] != NULL; i++)
    if (!cv_config_check_session_id (options->sessions[i], "--session", error))
      return FALSE;
  if ((options->cert_file == NULL) != (options->key_file == NULL))
    return flag_error (error, "--cert FILE and --key FILE go together: give both, or neither "
                              "for a self-signed certificate");
  if (options->session_passwords != NULL && !g_str_equal (options->session_passwords, "generate")
      && !g_str_equal (options->session_passwords, "env")
      && !g_str_equal (options->session_passwords, "stdin"))
    /* Not repeated: given this flag's name, what was typed may be a password. */
    return flag_error (error, "--session-passwords: expected generate, env or stdin (the "
                              "passwords themselves are never given on the command line)");
  if (options->config_file == NULL && options->sessions == NULL)
    return flag_error (error, "--session ID is required (or --config FILE)");
  return TRUE;
}

/**
 * cv_cli_options_parse:
 * @extra: (nullable): more entries, ending with an empty one
 *
 * Reads and checks the flags; --help prints the usage and exits 0 (GOption's way).
 *
 * Returns: %FALSE with @error set for a bad command line (exit status 2)
 */
gboolean
cv_cli_options_parse (CvCliOptions *options,
                      int *argc,
                      char ***argv,
                      const GOptionEntry *extra,
                      GError **error)
{
  gboolean gateway = options->kind == CV_CONFIG_KIND_GATEWAY;
  g_autoptr (GOptionContext) context = g_option_context_new (
    gateway                                 ? "— run the gateway"
    : options->kind == CV_CONFIG_KIND_SHARE ? "— share this machine's services"
                                            : "— reach a shared machine's services");
  g_autoptr (GArray) entries = make_entries (options, extra);
  g_autofree char *description = NULL;

  if (!refuse_password_arguments (*argc, *argv,
                                  gateway ? "see --session-passwords in --help"
                                          : "use --password-file FILE, --password-env VAR or "
                                            "--password-stdin",
                                  error))
    return FALSE;
  if (gateway)
    description = g_strdup (gateway_help);
  else if (options->kind == CV_CONFIG_KIND_SHARE)
    description = g_strdup_printf (agent_help, "--allow", "--allow");
  else
    description = g_strdup_printf (agent_help, "-L", "-L");
  g_option_context_add_main_entries (context, (GOptionEntry *) entries->data, NULL);
  g_option_context_set_description (context, description);
  if (!g_option_context_parse (context, argc, argv, error))
    return FALSE;
  if (*argc > 1)
    return flag_error (error, "takes options only, got an argument; see --help");
  if (options->log_level != NULL && !check_log_level (options->log_level, error))
    return FALSE;
  return gateway ? check_gateway_flags (options, error) : check_agent_flags (options, error);
}

/* ---- the config they make ---------------------------------------------- */

/* A path on the command line is relative to where the command runs, not to the file. */
static void
set_path (JsonObject *object, const char *key, const char *path)
{
  g_autofree char *absolute = path != NULL ? g_canonicalize_filename (path, NULL) : NULL;

  if (absolute != NULL)
    json_object_set_string_member (object, key, absolute);
}

static void
set_string (JsonObject *object, const char *key, const char *value)
{
  if (value != NULL)
    json_object_set_string_member (object, key, value);
}

static void
set_string_list (JsonObject *object, const char *key, char **values)
{
  JsonArray *array;

  if (values == NULL)
    return;
  array = json_array_new ();
  for (guint i = 0; values[i] != NULL; i++)
    json_array_add_string_element (array, values[i]);
  json_object_set_array_member (object, key, array);
}

static void
set_services (JsonObject *root, char **offers)
{
  JsonArray *services;

  if (offers == NULL)
    return;
  services = json_array_new ();
  for (guint i = 0; offers[i] != NULL; i++)
    {
      JsonObject *service = json_object_new ();
      g_autofree char *name = NULL;
      g_autofree char *target = NULL;

      if (!split_offer (offers[i], &name, &target, NULL))
        g_assert_not_reached (); /* checked in cv_cli_options_parse() */
      json_object_set_string_member (service, "name", name);
      json_object_set_string_member (service, "target", target);
      json_array_add_object_element (services, service);
    }
  /* The offered services replace the file's, and its allow list: they are one. */
  json_object_remove_member (root, "allow");
  json_object_set_array_member (root, "services", services);
}

static void
set_mappings (JsonObject *root, char **forwards, char **maps)
{
  JsonArray *mappings;

  if (forwards == NULL && maps == NULL)
    return;
  mappings = json_array_new ();
  for (guint i = 0; maps != NULL && maps[i] != NULL; i++)
    {
      JsonObject *mapping = json_object_new ();
      g_autofree char *listen = NULL;
      g_autofree char *name = NULL;

      if (!split_map (maps[i], &listen, &name, NULL))
        g_assert_not_reached (); /* checked in cv_cli_options_parse() */
      json_object_set_string_member (mapping, "listen", listen);
      json_object_set_string_member (mapping, "service", name);
      json_array_add_object_element (mappings, mapping);
    }
  for (guint i = 0; forwards != NULL && forwards[i] != NULL; i++)
    {
      JsonObject *mapping = json_object_new ();
      char *listen = NULL;
      char *target = NULL;

      if (!cv_host_port_split_forward (forwards[i], &listen, &target, NULL))
        g_assert_not_reached (); /* checked in cv_cli_options_parse() */
      json_object_set_string_member (mapping, "listen", listen);
      json_object_set_string_member (mapping, "target", target);
      g_free (listen);
      g_free (target);
      json_array_add_object_element (mappings, mapping);
    }
  json_object_set_array_member (root, "mappings", mappings);
}

static void
set_password_source (CvCliOptions *options, JsonObject *root)
{
  if (options->share_by_code || options->code != NULL)
    {
      gboolean credential = options->session != NULL || options->technician != NULL;

      if (options->share_by_code)
        json_object_set_boolean_member (root, "code", TRUE);
      else
        json_object_set_string_member (root, "code", options->code);
      /* The code is the credential, with the flags' session or technician if given:
       * the file's own session, technician and password do not apply. */
      if (!credential)
        {
          json_object_remove_member (root, "session");
          json_object_remove_member (root, "technician");
          json_object_remove_member (root, "password_file");
          json_object_remove_member (root, "password_env");
          json_object_remove_member (root, "password_stdin");
          return;
        }
      set_string (root, "technician", options->technician);
    }

  if (options->password_file == NULL && options->password_env == NULL && !options->password_stdin)
    {
      if (options->config_file == NULL)
        json_object_set_string_member (root, "password_env", DEFAULT_PASSWORD_ENV);
      return;
    }
  /* One source on the command line replaces the file's, whichever it was. */
  json_object_remove_member (root, "password_file");
  json_object_remove_member (root, "password_env");
  json_object_remove_member (root, "password_stdin");
  set_path (root, "password_file", options->password_file);
  set_string (root, "password_env", options->password_env);
  if (options->password_stdin)
    json_object_set_boolean_member (root, "password_stdin", TRUE);
}

/* The file's JSON (or an empty object) with the flags' keys put in. */
static JsonObject *
make_root (CvCliOptions *options, GError **error)
{
  JsonObject *root = options->config_file != NULL
                       ? cv_config_load_file (options->config_file, error)
                       : json_object_new ();

  if (root == NULL)
    return NULL;
  set_path (root, "state_dir", options->state_dir);
  set_string (root, "log_level", options->log_level);
  if (options->kind == CV_CONFIG_KIND_GATEWAY)
    {
      set_string_list (root, "listen", options->listen);
      set_string_list (root, "websocket_listen", options->websocket_listen);
      if (options->cert_file != NULL)
        {
          JsonObject *certificate = json_object_new ();

          set_path (certificate, "cert_file", options->cert_file);
          set_path (certificate, "key_file", options->key_file);
          json_object_set_object_member (root, "certificate", certificate);
        }
      return root;
    }
  set_string (root, "gateway", options->gateway);
  set_string (root, "gateway_fingerprint", options->fingerprint);
  set_string (root, "web_fingerprint", options->web_fingerprint);
  set_string (root, "proxy", options->proxy);
  set_string (root, "session", options->session);
  set_string (root, "name", options->name);
  set_password_source (options, root);
  if (options->kind == CV_CONFIG_KIND_SHARE)
    {
      set_string_list (root, "allow", options->targets);
      if (options->targets != NULL)
        json_object_remove_member (root, "services");
      set_services (root, options->offers);
      set_string_list (root, "authorized_connect_keys", options->authorized_connect_keys);
    }
  else
    set_mappings (root, options->targets, options->offers);
  return root;
}

CvShareConfig *
cv_cli_options_load_share (CvCliOptions *options, GError **error)
{
  g_autoptr (JsonObject) root = make_root (options, error);

  if (root == NULL)
    return NULL;
  return cv_share_config_new_from_json (root, options->config_file, error);
}

CvConnectConfig *
cv_cli_options_load_connect (CvCliOptions *options, GError **error)
{
  g_autoptr (JsonObject) root = make_root (options, error);

  if (root == NULL)
    return NULL;
  return cv_connect_config_new_from_json (root, options->config_file, error);
}

static CvCliPasswords
passwords_from (const char *name)
{
  if (g_strcmp0 (name, "env") == 0)
    return CV_CLI_PASSWORDS_ENV;
  if (g_strcmp0 (name, "stdin") == 0)
    return CV_CLI_PASSWORDS_STDIN;
  return CV_CLI_PASSWORDS_GENERATE;
}

/**
 * cv_cli_options_load_gateway:
 *
 * The gateway's config from the file and the flags; called again on SIGHUP, it reads the
 * file again, and the --session passwords made or read the first time stay.
 */
CvGatewayConfig *
cv_cli_options_load_gateway (CvCliOptions *options, GError **error)
{
  g_autoptr (JsonObject) root = make_root (options, error);
  g_autoptr (CvGatewayConfig) config = NULL;

  if (root == NULL)
    return NULL;
  config = cv_gateway_config_new_from_json (root, options->config_file, error);
  if (config == NULL)
    return NULL;
  if (options->flag_sessions == NULL)
    options->flag_sessions = cv_cli_flag_sessions_new ((const char *const *) options->sessions,
                                                       passwords_from (options->session_passwords),
                                                       error);
  if (options->flag_sessions == NULL
      || !cv_cli_flag_sessions_apply (options->flag_sessions, config, error))
    return NULL;
  return g_steal_pointer (&config);
}

/* The passwords the gateway made, with the agents' commands: once, on stdout. */
void
cv_cli_options_print_sessions (CvCliOptions *options,
                               const CvGatewayConfig *config,
                               const char *fingerprint)
{
  if (options->flag_sessions != NULL)
    cv_cli_flag_sessions_print (options->flag_sessions, config, fingerprint);
}
