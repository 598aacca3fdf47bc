/* cv-agent-config.c: read the share and connect agents' configs (or build them in code),
 * and their password from a file, an environment variable, stdin or the caller. */
#include "config/cv-agent-config-private.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/cv-allow-list.h"
#include "wire/cv-code.h"
#include "config/cv-config.h"

#define MAX_NAME_CHARS 128
#define FINGERPRINT_PREFIX "sha256:"
#define FINGERPRINT_HEX_DIGITS 64
/* Far above any password a person types or a generator makes; a bigger "password
 * file" is some other file. */
#define MAX_PASSWORD_LEN 1024

/* The keys tables point into CvAgentConfig, which begins both kinds of config. */
G_STATIC_ASSERT (G_STRUCT_OFFSET (CvShareConfig, agent) == 0);
G_STATIC_ASSERT (G_STRUCT_OFFSET (CvConnectConfig, agent) == 0);

#define AGENT_KEYS                                                                                 \
  { "gateway", CV_CONFIG_STRING, TRUE, CV_CONFIG_BY_CALLER },                                      \
    { "gateway_fingerprint", CV_CONFIG_STRING, FALSE, CV_CONFIG_BY_CALLER },                       \
    { "web_fingerprint", CV_CONFIG_STRING, FALSE, CV_CONFIG_BY_CALLER },                           \
    { "proxy", CV_CONFIG_STRING, FALSE, CV_CONFIG_BY_CALLER },                                     \
    { "session", CV_CONFIG_STRING, FALSE, G_STRUCT_OFFSET (CvAgentConfig, session) },              \
    { "password_file", CV_CONFIG_STRING, FALSE, G_STRUCT_OFFSET (CvAgentConfig, password_file) },  \
    { "password_env", CV_CONFIG_STRING, FALSE, G_STRUCT_OFFSET (CvAgentConfig, password_env) },    \
    { "password_stdin", CV_CONFIG_BOOLEAN, FALSE, CV_CONFIG_BY_CALLER },                           \
    { "password", CV_CONFIG_REFUSED, FALSE, CV_CONFIG_BY_CALLER,                                   \
      .why = cleartext_password_refusal },                                                         \
    { "name", CV_CONFIG_STRING, FALSE, G_STRUCT_OFFSET (CvAgentConfig, name),                      \
      .max = MAX_NAME_CHARS },                                                                     \
    { "state_dir", CV_CONFIG_STRING, FALSE, G_STRUCT_OFFSET (CvAgentConfig, state_dir) },          \
    { "admin_socket", CV_CONFIG_STRING, FALSE, CV_CONFIG_BY_CALLER },                              \
  {                                                                                                \
    "log_level", CV_CONFIG_CHOICE, FALSE, G_STRUCT_OFFSET (CvAgentConfig, log_level),              \
      .choices = cv_config_log_level_choices                                                       \
  }

static const char cleartext_password_refusal[] =
  "expected no cleartext password in a config file (config files get copied, backed up "
  "and shown to others), got one: use password_file, password_env or password_stdin";

static const CvConfigKey share_keys[] = {
  AGENT_KEYS,
  { "code", CV_CONFIG_BOOLEAN, FALSE, CV_CONFIG_BY_CALLER },
  { "allow", CV_CONFIG_ARRAY, FALSE, CV_CONFIG_BY_CALLER },
  { "services", CV_CONFIG_ARRAY, FALSE, CV_CONFIG_BY_CALLER },
  { "consent_timeout_ms", CV_CONFIG_UINT, FALSE,
    G_STRUCT_OFFSET (CvShareConfig, consent_timeout_ms), .min = 1000,
    .max = CV_SHARE_MAX_CONSENT_TIMEOUT_MS },
  { "authorized_connect_keys", CV_CONFIG_ARRAY, FALSE, CV_CONFIG_BY_CALLER },
};

static const CvConfigKey service_keys[] = {
  { "name", CV_CONFIG_STRING, TRUE, CV_CONFIG_BY_CALLER },
  { "kind", CV_CONFIG_STRING, FALSE, CV_CONFIG_BY_CALLER },
  { "target", CV_CONFIG_STRING, TRUE, CV_CONFIG_BY_CALLER },
};

static const CvConfigKey connect_keys[] = {
  AGENT_KEYS,
  { "code", CV_CONFIG_STRING, FALSE, CV_CONFIG_BY_CALLER },
  { "technician", CV_CONFIG_STRING, FALSE, G_STRUCT_OFFSET (CvAgentConfig, technician),
    .max = MAX_NAME_CHARS },
  { "mappings", CV_CONFIG_ARRAY, TRUE, CV_CONFIG_BY_CALLER },
  { "offline_hold_ms", CV_CONFIG_UINT, FALSE, G_STRUCT_OFFSET (CvConnectConfig, offline_hold_ms),
    .min = 0, .max = CV_CONNECT_MAX_OFFLINE_HOLD_MS },
};

static const CvConfigKey mapping_keys[] = {
  { "listen", CV_CONFIG_STRING, TRUE, CV_CONFIG_BY_CALLER },
  { "target", CV_CONFIG_STRING, FALSE, CV_CONFIG_BY_CALLER },
  { "service", CV_CONFIG_STRING, FALSE, CV_CONFIG_BY_CALLER },
};

static void
agent_config_clear (CvAgentConfig *agent)
{
  g_clear_pointer (&agent->gateway_host, g_free);
  g_clear_pointer (&agent->gateway_fingerprint, g_free);
  g_clear_pointer (&agent->web_path, g_free);
  g_clear_pointer (&agent->web_fingerprint, g_free);
  if (agent->proxy != NULL)
    sodium_memzero (agent->proxy, strlen (agent->proxy));
  g_clear_pointer (&agent->proxy, g_free);
  g_clear_pointer (&agent->session, g_free);
  g_clear_pointer (&agent->password_file, g_free);
  g_clear_pointer (&agent->password_env, g_free);
  if (agent->password != NULL)
    sodium_memzero (agent->password, strlen (agent->password));
  g_clear_pointer (&agent->password, g_free);
  g_clear_pointer (&agent->name, g_free);
  g_clear_pointer (&agent->state_dir, g_free);
  g_clear_pointer (&agent->admin_socket, g_free);
  if (agent->code != NULL)
    sodium_memzero (agent->code, strlen (agent->code));
  g_clear_pointer (&agent->code, g_free);
  g_clear_pointer (&agent->technician, g_free);
}

static void
allowed_target_free (gpointer data)
{
  CvAllowedTarget *target = data;

  g_free (target->host);
  g_free (target);
}

static void
mapping_free (gpointer data)
{
  CvMappingConfig *mapping = data;

  g_free (mapping->listen_host);
  g_free (mapping->target_host);
  g_free (mapping->service);
  g_free (mapping);
}

void
cv_share_config_free (CvShareConfig *config)
{
  agent_config_clear (&config->agent);
  g_clear_pointer (&config->allow, g_ptr_array_unref);
  g_clear_pointer (&config->services, g_ptr_array_unref);
  g_clear_pointer (&config->authorized_connect_keys, g_strfreev);
  g_free (config);
}

void
cv_connect_config_free (CvConnectConfig *config)
{
  agent_config_clear (&config->agent);
  g_clear_pointer (&config->mappings, g_ptr_array_unref);
  g_free (config);
}

/* "sha256:" and 64 hex digits, bare or in colon-separated pairs as openssl and browsers
 * print them; stored bare and in lower case, as g_compute_checksum_for_data() writes.
 * @where names the key (or the flag) in the error. */
gboolean
cv_agent_config_parse_fingerprint (const char *text,
                                   const char *where,
                                   char **fingerprint,
                                   GError **error)
{
  gsize prefix_len = strlen (FINGERPRINT_PREFIX);
  gboolean valid = g_ascii_strncasecmp (text, FINGERPRINT_PREFIX, prefix_len) == 0;
  const char *hex = valid ? text + prefix_len : "";
  gsize len = strlen (hex);
  gboolean pairs = strchr (hex, ':') != NULL;
  g_autoptr (GString) digits = g_string_new (FINGERPRINT_PREFIX);

  valid = valid && len == (pairs ? FINGERPRINT_HEX_DIGITS / 2 * 3 - 1 : FINGERPRINT_HEX_DIGITS);

  for (gsize i = 0; valid && i < len; i++)
    {
      if (pairs && i % 3 == 2)
        valid = hex[i] == ':';
      else if ((valid = g_ascii_isxdigit (hex[i])))
        g_string_append_c (digits, g_ascii_tolower (hex[i]));
    }
  if (!valid)
    {
      g_autofree char *got = cv_config_describe_string (text);

      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, where,
                           "expected \"" FINGERPRINT_PREFIX "\" and %u hex digits (pairs may be "
                           "separated by colons), got %s",
                           FINGERPRINT_HEX_DIGITS, got);
      return FALSE;
    }
  *fingerprint = g_string_free (g_steal_pointer (&digits), FALSE);
  return TRUE;
}

static gboolean
check_env_name (const char *name, const char *where, GError **error)
{
  gboolean valid = g_ascii_isalpha (name[0]) || name[0] == '_';

  for (const char *p = name; valid && *p != '\0'; p++)
    valid = g_ascii_isalnum (*p) || *p == '_';
  if (!valid)
    {
      g_autofree char *got = cv_config_describe_string (name);

      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, where,
                           "expected an environment variable name (letters, digits and '_'), "
                           "got %s",
                           got);
    }
  return valid;
}

/* Exactly one source, so that nobody wonders which of two passwords is in use. */
static gboolean
read_password_source (CvAgentConfig *agent, JsonObject *root, const char *file, GError **error)
{
  gboolean from_stdin = FALSE;
  const char *given[3];
  guint n_given = 0;

  if (!cv_config_get_boolean (root, "password_stdin", "", FALSE, &from_stdin, error))
    return FALSE;
  if (agent->password_file != NULL)
    given[n_given++] = "password_file";
  if (agent->password_env != NULL)
    given[n_given++] = "password_env";
  if (from_stdin)
    given[n_given++] = "password_stdin";

  if (n_given == 0)
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_MISSING_KEY, "password_file",
                           "required key missing, expected one of password_file, password_env "
                           "or \"password_stdin\": true");
      return FALSE;
    }
  if (n_given > 1)
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, given[1],
                           "expected one password source, got both %s and %s", given[0], given[1]);
      return FALSE;
    }
  agent->password_source = from_stdin                    ? CV_PASSWORD_SOURCE_STDIN
                           : agent->password_env != NULL ? CV_PASSWORD_SOURCE_ENV
                                                         : CV_PASSWORD_SOURCE_FILE;
  if (agent->password_env != NULL && !check_env_name (agent->password_env, "password_env", error))
    return FALSE;
  cv_config_resolve_path (&agent->password_file, file);
  return TRUE;
}

/* "code" (true for a share agent, the code for a connect agent), or a session and its
 * password: one way to log in, never both. */
static gboolean
read_login (CvAgentConfig *agent,
            JsonObject *root,
            const char *file,
            CvConfigKind kind,
            GError **error)
{
  JsonNode *code = json_object_get_member (root, "code");

  if (code != NULL && kind == CV_CONFIG_KIND_SHARE)
    {
      if (!cv_config_get_boolean (root, "code", "", FALSE, &agent->code_mode, error))
        return FALSE;
    }
  else if (code != NULL)
    {
      const char *text = NULL;
      g_autoptr (GError) code_error = NULL;

      if (!cv_config_get_string (root, "code", "", FALSE, &text, error))
        return FALSE;
      if (!cv_code_parse (text, NULL, NULL, &code_error))
        {
          cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, "code", "%s", code_error->message);
          return FALSE;
        }
      agent->code_mode = TRUE;
      agent->code = g_strdup (text);
    }
  if (!agent->code_mode && agent->technician != NULL)
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, "technician",
                           "expected technician only with a session code, got one with a "
                           "session");
      return FALSE;
    }
  if (!agent->code_mode)
    {
      if (agent->session == NULL)
        {
          cv_config_set_error (error, CV_CONFIG_ERROR_MISSING_KEY, "session",
                               "required key missing%s",
                               kind == CV_CONFIG_KIND_SHARE
                                 ? " (or \"code\": true, to share by a session code)"
                                 : " (or code, to connect by a session code)");
          return FALSE;
        }
      return cv_config_check_session_id (agent->session, "session", error)
             && read_password_source (agent, root, file, error);
    }
  if (kind == CV_CONFIG_KIND_SHARE && agent->session != NULL)
    /* A gateway may give codes only to holders of a share password. */
    return cv_config_check_session_id (agent->session, "session", error)
           && read_password_source (agent, root, file, error);
  if (agent->technician != NULL && agent->session != NULL)
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, "session",
                           "expected no session with a session code and a technician, got one");
      return FALSE;
    }
  if (agent->technician != NULL)
    /* A gateway may let only its technicians claim codes. */
    return read_password_source (agent, root, file, error);
  /* Else the code is the only credential: a password would be for nothing. */
  for (guint i = 0; i < 4; i++)
    {
      static const char *const others[] = { "session", "password_file", "password_env",
                                            "password_stdin" };

      if (json_object_has_member (root, others[i]))
        {
          cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, others[i],
                               "expected no %s with a session code, got one%s", others[i],
                               kind == CV_CONFIG_KIND_SHARE
                                 ? " without a session (give session too, if the gateway asks "
                                   "for a share password)"
                                 : " without a technician (give technician too, if the gateway "
                                   "asks for a technician account)");
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
read_agent (CvAgentConfig *agent,
            JsonObject *root,
            const char *file,
            CvConfigKind kind,
            const CvConfigKey *keys,
            gsize n_keys,
            GError **error)
{
  agent->log_level = CV_LOG_LEVEL_INFO;
  if (!cv_config_check_kind (root, kind, error)
      || !cv_config_read_object (root, "", keys, n_keys, agent, error)
      || !cv_agent_config_read_gateway (agent, root, error)
      || !read_login (agent, root, file, kind, error)
      || !cv_config_get_admin_socket (root, file, &agent->admin_socket, &agent->admin_socket_off,
                                      error))
    return FALSE;

  if (agent->name == NULL)
    agent->name = g_strdup (g_get_host_name ());
  cv_config_resolve_path (&agent->state_dir, file);
  if (agent->state_dir == NULL)
    agent->state_dir = cv_config_default_state_dir ();
  return TRUE;
}

/* A required array with at least one element: an agent with nothing to allow or map
 * has nothing to do, which is surely not what was meant. */
static JsonArray *
get_elements (JsonObject *root, const char *key, GError **error)
{
  JsonArray *array = NULL;

  if (!cv_config_get_array (root, key, "", TRUE, &array, error))
    return NULL;
  if (json_array_get_length (array) == 0)
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, key,
                           "expected at least one entry, got an empty array");
      return NULL;
    }
  return array;
}

/* "host:port" or "host:low-high", with a host the allow list can hold: one that a dial
 * reaches as the check reads it (no "127.1", "0x7f000001" or 0.0.0.0). */
static gboolean
parse_allowed_target (const char *text, const char *where, CvAllowedTarget *target, GError **error)
{
  g_autoptr (GError) host_error = NULL;
  g_autofree char *got = NULL;

  if (!cv_config_parse_host_port (text, where, NULL, &target->host, &target->port_lo,
                                  &target->port_hi, error))
    return FALSE;
  if (cv_allow_list_check_host (target->host, &host_error))
    return TRUE;
  got = cv_config_describe_string (text);
  cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, where,
                       "expected a target to allow, got %s (%s)", got, host_error->message);
  return FALSE;
}

static gboolean
read_allow (CvShareConfig *config, JsonObject *root, GError **error)
{
  JsonArray *allow = get_elements (root, "allow", error);

  if (allow == NULL)
    return FALSE;
  for (guint i = 0; i < json_array_get_length (allow); i++)
    {
      g_autofree char *where = cv_config_path_element ("allow", i);
      CvAllowedTarget *target = g_new0 (CvAllowedTarget, 1);
      const char *text = NULL;

      g_ptr_array_add (config->allow, target);
      if (!cv_config_node_get_string (json_array_get_element (allow, i), where, &text, error)
          || !parse_allowed_target (text, where, target, error))
        return FALSE;
    }
  return TRUE;
}

/* A service's target is one exact host and port, as the allow list will hold it. */
static gboolean
parse_service_target (const char *text,
                      const char *where,
                      char **host,
                      guint16 *port,
                      GError **error)
{
  g_autoptr (GError) host_error = NULL;
  g_autofree char *got = NULL;

  if (!cv_config_parse_host_port (text, where, NULL, host, port, NULL, error))
    return FALSE;
  if (cv_allow_list_check_host (*host, &host_error))
    return TRUE;
  got = cv_config_describe_string (text);
  cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, where,
                       "expected a target to offer, got %s (%s)", got, host_error->message);
  return FALSE;
}

/* Adds what a config or the command line offers; names are unique and valid. */
gboolean
cv_share_config_add_service (CvShareConfig *config,
                             const char *name,
                             CvServiceKind kind,
                             const char *target,
                             GError **error)
{
  g_autofree char *host = NULL;
  guint16 port = 0;
  g_autofree char *where = cv_config_path_element ("services", config->services->len);

  if (!cv_service_name_is_valid (name))
    {
      g_autofree char *got = cv_config_describe_string (name);
      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, where,
                           "expected a service name of 1 to %d lower-case letters, digits, "
                           "“-” and “_”, got %s",
                           CV_SERVICE_MAX_NAME_LEN, got);
      return FALSE;
    }
  for (guint i = 0; i < config->services->len; i++)
    if (g_str_equal (((CvServiceInfo *) config->services->pdata[i])->name, name))
      {
        cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, where,
                             "expected a name no other service has, got “%s” twice", name);
        return FALSE;
      }
  if (!parse_service_target (target, where, &host, &port, error))
    return FALSE;
  g_ptr_array_add (config->services, cv_service_info_new (name, kind, host, port));
  return TRUE;
}

static gboolean
read_services (CvShareConfig *config, JsonObject *root, GError **error)
{
  JsonArray *services = NULL;

  if (json_object_get_member (root, "services") == NULL)
    return TRUE;
  if ((services = get_elements (root, "services", error)) == NULL)
    return FALSE;
  for (guint i = 0; i < json_array_get_length (services); i++)
    {
      g_autofree char *where = cv_config_path_element ("services", i);
      JsonObject *object = NULL;
      const char *name = NULL, *kind_text = NULL, *target = NULL;
      CvServiceKind kind;

      if (!cv_config_node_get_object (json_array_get_element (services, i), where, &object, error)
          || !cv_config_read_object (object, where, service_keys, G_N_ELEMENTS (service_keys), NULL,
                                     error)
          || !cv_config_get_string (object, "name", where, TRUE, &name, error)
          || !cv_config_get_string (object, "kind", where, FALSE, &kind_text, error)
          || !cv_config_get_string (object, "target", where, TRUE, &target, error))
        return FALSE;
      if (kind_text == NULL)
        kind = cv_service_kind_guess (name);
      else if (!cv_service_kind_from_string (kind_text, &kind))
        {
          g_autofree char *kind_where = cv_config_path_member (where, "kind");
          g_autofree char *got = cv_config_describe_string (kind_text);
          cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, kind_where,
                               "expected rdp, vnc, ssh, http or custom, got %s", got);
          return FALSE;
        }
      if (!cv_share_config_add_service (config, name, kind, target, error))
        return FALSE;
    }
  return TRUE;
}

/* Services name the allow list themselves: a second list beside them would be a second
 * meaning of "what may be reached". */
static gboolean
read_allow_or_services (CvShareConfig *config, JsonObject *root, GError **error)
{
  gboolean has_allow = json_object_get_member (root, "allow") != NULL;
  gboolean has_services = json_object_get_member (root, "services") != NULL;

  if (has_allow && has_services)
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, "services",
                           "expected either allow or services, got both (the services' "
                           "targets are the allow list)");
      return FALSE;
    }
  if (has_services)
    return read_services (config, root, error);
  return read_allow (config, root, error);
}

/* A service mapping may listen on port 0, any free one: its port is told by the agent
 * (the mapping's bound port), not agreed with anyone beforehand. */
static gboolean
parse_service_listen (const char *text, const char *where, CvMappingConfig *mapping, GError **error)
{
  gsize len = strlen (text);

  if (g_str_equal (text, "0") || (len > 2 && g_str_has_suffix (text, ":0")))
    {
      g_autofree char *with_port = g_strconcat (text, "1", NULL); /* "…:01": parses as 1 */
      gboolean ok = cv_config_parse_host_port (with_port, where, "127.0.0.1", &mapping->listen_host,
                                               &mapping->listen_port, NULL, error);
      mapping->listen_port = 0;
      return ok;
    }
  return cv_config_parse_host_port (text, where, "127.0.0.1", &mapping->listen_host,
                                    &mapping->listen_port, NULL, error);
}

/* Like SSH's authorized_keys: when present, a connect agent's key must be listed,
 * whatever the gateway announces.  An empty array is the same as none. */
static gboolean
read_authorized_connect_keys (CvShareConfig *config, JsonObject *root, GError **error)
{
  JsonArray *keys = NULL;
  g_autoptr (GPtrArray) fingerprints = NULL;
  guint n;

  if (!cv_config_get_array (root, "authorized_connect_keys", "", FALSE, &keys, error))
    return FALSE;
  if (keys == NULL || (n = json_array_get_length (keys)) == 0)
    return TRUE;
  if (n > CV_SHARE_MAX_AUTHORIZED_CONNECT_KEYS)
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, "authorized_connect_keys",
                           "expected at most %u keys, got %u", CV_SHARE_MAX_AUTHORIZED_CONNECT_KEYS,
                           n);
      return FALSE;
    }
  fingerprints = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *where = cv_config_path_element ("authorized_connect_keys", i);
      const char *text = NULL;
      char *fingerprint = NULL;

      if (!cv_config_node_get_string (json_array_get_element (keys, i), where, &text, error)
          || !cv_agent_config_parse_fingerprint (text, where, &fingerprint, error))
        return FALSE;
      for (guint j = 0; j < fingerprints->len; j++)
        if (g_str_equal (fingerprints->pdata[j], fingerprint))
          {
            cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, where,
                                 "expected a key not listed before, got the one of "
                                 "authorized_connect_keys[%u]",
                                 j);
            g_free (fingerprint);
            return FALSE;
          }
      g_ptr_array_add (fingerprints, fingerprint);
    }
  g_ptr_array_add (fingerprints, NULL);
  g_ptr_array_set_free_func (fingerprints, NULL);
  config->authorized_connect_keys = (char **) g_ptr_array_free (g_steal_pointer (&fingerprints),
                                                                FALSE);
  return TRUE;
}

static gboolean
read_mapping (JsonNode *node, const char *where, CvMappingConfig *mapping, GError **error)
{
  g_autofree char *listen_where = cv_config_path_member (where, "listen");
  g_autofree char *target_where = cv_config_path_member (where, "target");
  g_autofree char *service_where = cv_config_path_member (where, "service");
  JsonObject *object = NULL;
  const char *listen = NULL;
  const char *target = NULL;
  const char *service = NULL;

  /* A bare port listens on loopback: a mapping open to the whole network must be
   * asked for by writing its address. */
  if (!cv_config_node_get_object (node, where, &object, error)
      || !cv_config_read_object (object, where, mapping_keys, G_N_ELEMENTS (mapping_keys), NULL,
                                 error)
      || !cv_config_get_string (object, "listen", where, TRUE, &listen, error)
      || !cv_config_get_string (object, "target", where, FALSE, &target, error)
      || !cv_config_get_string (object, "service", where, FALSE, &service, error))
    return FALSE;
  if ((target == NULL) == (service == NULL))
    {
      cv_config_set_error (error,
                           target == NULL ? CV_CONFIG_ERROR_MISSING_KEY : CV_CONFIG_ERROR_BAD_VALUE,
                           target_where, "expected a target or a service, got %s",
                           target == NULL ? "neither" : "both");
      return FALSE;
    }
  if (service != NULL)
    {
      if (!cv_service_name_is_valid (service))
        {
          g_autofree char *got = cv_config_describe_string (service);
          cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, service_where,
                               "expected a service name (lower-case letters, digits, “-” and "
                               "“_”), got %s",
                               got);
          return FALSE;
        }
      mapping->service = g_strdup (service);
      return parse_service_listen (listen, listen_where, mapping, error);
    }
  return cv_config_parse_host_port (listen, listen_where, "127.0.0.1", &mapping->listen_host,
                                    &mapping->listen_port, NULL, error)
         && cv_config_parse_host_port (target, target_where, NULL, &mapping->target_host,
                                       &mapping->target_port, NULL, error);
}

static gboolean
read_mappings (CvConnectConfig *config, JsonObject *root, GError **error)
{
  JsonArray *mappings = get_elements (root, "mappings", error);

  if (mappings == NULL)
    return FALSE;
  for (guint i = 0; i < json_array_get_length (mappings); i++)
    {
      g_autofree char *where = cv_config_path_element ("mappings", i);
      CvMappingConfig *mapping = g_new0 (CvMappingConfig, 1);

      g_ptr_array_add (config->mappings, mapping);
      if (!read_mapping (json_array_get_element (mappings, i), where, mapping, error))
        return FALSE;
      for (guint j = 0; j < i; j++)
        {
          const CvMappingConfig *earlier = g_ptr_array_index (config->mappings, j);

          if (mapping->listen_port != 0 && earlier->listen_port == mapping->listen_port
              && g_str_equal (earlier->listen_host, mapping->listen_host))
            {
              g_autofree char *listen_where = cv_config_path_member (where, "listen");

              cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, listen_where,
                                   "expected an address no other mapping listens on, got the "
                                   "one of mappings[%u]",
                                   j);
              return FALSE;
            }
        }
    }
  return TRUE;
}

/* Whether the config of an agent of @kind (share or connect) may have @key at its top
 * level. */
gboolean
cv_agent_config_is_top_key (CvConfigKind kind, const char *key)
{
  const CvConfigKey *keys = kind == CV_CONFIG_KIND_SHARE ? share_keys : connect_keys;
  gsize n_keys = kind == CV_CONFIG_KIND_SHARE ? G_N_ELEMENTS (share_keys)
                                              : G_N_ELEMENTS (connect_keys);

  g_return_val_if_fail (kind == CV_CONFIG_KIND_SHARE || kind == CV_CONFIG_KIND_CONNECT, FALSE);

  for (gsize i = 0; i < n_keys; i++)
    if (g_str_equal (key, keys[i].key))
      return TRUE;
  return FALSE;
}

/**
 * cv_share_config_new_from_json:
 * @root: the config's top-level object
 * @file: (nullable): where it came from: named in errors, and the base of relative paths
 *
 * Returns: (transfer full): the config with every default filled in, or %NULL with a
 *   %CV_CONFIG_ERROR that starts "FILE: KEY: "
 */
CvShareConfig *
cv_share_config_new_from_json (JsonObject *root, const char *file, GError **error)
{
  g_autoptr (CvShareConfig) config = g_new0 (CvShareConfig, 1);

  config->allow = g_ptr_array_new_with_free_func (allowed_target_free);
  config->services = g_ptr_array_new_with_free_func ((GDestroyNotify) cv_service_info_free);
  config->consent_timeout_ms = CV_SHARE_DEFAULT_CONSENT_TIMEOUT_MS;
  if (!read_agent (&config->agent, root, file, CV_CONFIG_KIND_SHARE, share_keys,
                   G_N_ELEMENTS (share_keys), error)
      || !read_allow_or_services (config, root, error)
      || !read_authorized_connect_keys (config, root, error))
    {
      cv_config_prefix_error (error, file);
      return NULL;
    }
  return g_steal_pointer (&config);
}

CvShareConfig *
cv_share_config_load (const char *file, GError **error)
{
  g_autoptr (JsonObject) root = cv_config_load_file (file, error);

  if (root == NULL)
    return NULL;
  return cv_share_config_new_from_json (root, file, error);
}

/**
 * cv_connect_config_new_from_json:
 * @root: the config's top-level object
 * @file: (nullable): where it came from: named in errors, and the base of relative paths
 *
 * Returns: (transfer full): the config with every default filled in, or %NULL with a
 *   %CV_CONFIG_ERROR that starts "FILE: KEY: "
 */
CvConnectConfig *
cv_connect_config_new_from_json (JsonObject *root, const char *file, GError **error)
{
  g_autoptr (CvConnectConfig) config = g_new0 (CvConnectConfig, 1);

  config->offline_hold_ms = CV_CONNECT_DEFAULT_OFFLINE_HOLD_MS;
  config->mappings = g_ptr_array_new_with_free_func (mapping_free);
  if (!read_agent (&config->agent, root, file, CV_CONFIG_KIND_CONNECT, connect_keys,
                   G_N_ELEMENTS (connect_keys), error)
      || !read_mappings (config, root, error))
    {
      cv_config_prefix_error (error, file);
      return NULL;
    }
  return g_steal_pointer (&config);
}

CvConnectConfig *
cv_connect_config_load (const char *file, GError **error)
{
  g_autoptr (JsonObject) root = cv_config_load_file (file, error);

  if (root == NULL)
    return NULL;
  return cv_connect_config_new_from_json (root, file, error);
}

/* Built in code */

static void
agent_config_init_defaults (CvAgentConfig *agent)
{
  agent->password_source = CV_PASSWORD_SOURCE_GIVEN;
  agent->log_level = CV_LOG_LEVEL_INFO;
  agent->name = g_strdup (g_get_host_name ());
  agent->state_dir = cv_config_default_state_dir ();
}

CvShareConfig *
cv_share_config_new (void)
{
  CvShareConfig *config = g_new0 (CvShareConfig, 1);

  agent_config_init_defaults (&config->agent);
  config->allow = g_ptr_array_new_with_free_func (allowed_target_free);
  config->services = g_ptr_array_new_with_free_func ((GDestroyNotify) cv_service_info_free);
  config->consent_timeout_ms = CV_SHARE_DEFAULT_CONSENT_TIMEOUT_MS;
  return config;
}

CvConnectConfig *
cv_connect_config_new (void)
{
  CvConnectConfig *config = g_new0 (CvConnectConfig, 1);

  agent_config_init_defaults (&config->agent);
  config->offline_hold_ms = CV_CONNECT_DEFAULT_OFFLINE_HOLD_MS;
  config->mappings = g_ptr_array_new_with_free_func (mapping_free);
  return config;
}

/* @fingerprint: (nullable): "sha256:…" to pin the gateway's key; NULL: the system's CAs */
void
cv_agent_config_set_gateway (CvAgentConfig *config,
                             const char *host,
                             guint16 port,
                             const char *fingerprint)
{
  g_free (config->gateway_host);
  config->gateway_host = g_strdup (host);
  config->gateway_port = port;
  g_free (config->gateway_fingerprint);
  config->gateway_fingerprint = g_strdup (fingerprint);
}

void
cv_agent_config_set_session (CvAgentConfig *config, const char *session)
{
  g_free (config->session);
  config->session = g_strdup (session);
}

/* The password itself (from the keyring, say), instead of a source to read it from. */
void
cv_agent_config_set_password (CvAgentConfig *config, const char *password)
{
  g_clear_pointer (&config->password_file, g_free);
  g_clear_pointer (&config->password_env, g_free);
  if (config->password != NULL)
    sodium_memzero (config->password, strlen (config->password));
  g_free (config->password);
  config->password = g_strdup (password);
  config->password_source = CV_PASSWORD_SOURCE_GIVEN;
}

void
cv_agent_config_set_name (CvAgentConfig *config, const char *name)
{
  g_free (config->name);
  config->name = g_strdup (name);
}

/* Where the agent keeps its key (and the connect agent the share agents' keys). */
void
cv_agent_config_set_state_dir (CvAgentConfig *config, const char *state_dir)
{
  g_free (config->state_dir);
  config->state_dir = g_strdup (state_dir);
}

void
cv_share_config_add_allowed (CvShareConfig *config,
                             const char *host,
                             guint16 port_lo,
                             guint16 port_hi)
{
  CvAllowedTarget *target = g_new0 (CvAllowedTarget, 1);

  target->host = g_strdup (host);
  target->port_lo = port_lo;
  target->port_hi = port_hi;
  g_ptr_array_add (config->allow, target);
}

/* @fingerprint: "sha256:…"; checked when the agent is made of the config */
void
cv_share_config_add_authorized_connect_key (CvShareConfig *config, const char *fingerprint)
{
  guint n = config->authorized_connect_keys != NULL
              ? g_strv_length (config->authorized_connect_keys)
              : 0;

  config->authorized_connect_keys = g_renew (char *, config->authorized_connect_keys, n + 2);
  config->authorized_connect_keys[n] = g_strdup (fingerprint);
  config->authorized_connect_keys[n + 1] = NULL;
}

void
cv_connect_config_add_mapping (CvConnectConfig *config,
                               const char *listen_host,
                               guint16 listen_port,
                               const char *target_host,
                               guint16 target_port)
{
  CvMappingConfig *mapping = g_new0 (CvMappingConfig, 1);

  mapping->listen_host = g_strdup (listen_host);
  mapping->listen_port = listen_port;
  mapping->target_host = g_strdup (target_host);
  mapping->target_port = target_port;
  g_ptr_array_add (config->mappings, mapping);
}

/**
 * cv_agent_config_check:
 *
 * What a config built in code must hold before an agent is made of it (a loaded one
 * always does): a gateway, a session id and a password source.
 */
gboolean
cv_agent_config_check (const CvAgentConfig *config, GError **error)
{
  if (config->gateway_host == NULL || *config->gateway_host == '\0' || config->gateway_port == 0)
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_MISSING_KEY, "gateway",
                           "expected a host and a port, got %s",
                           config->gateway_host == NULL ? "none" : "port 0");
      return FALSE;
    }
  if (!cv_agent_config_check_web (config, error))
    return FALSE;
  if (!config->code_mode
      && !cv_config_check_session_id (config->session != NULL ? config->session : "", "session",
                                      error))
    return FALSE;
  if (!config->code_mode && config->password_source == CV_PASSWORD_SOURCE_GIVEN
      && (config->password == NULL || *config->password == '\0'))
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_MISSING_KEY, "password",
                           "expected the session's password, got none");
      return FALSE;
    }
  if (config->state_dir == NULL)
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_MISSING_KEY, "state_dir",
                           "expected a folder for the agent's key, got none");
      return FALSE;
    }
  return TRUE;
}

/* Passwords */

/* Room for the longest password, a "\r\n", one byte more to tell a longer one, and
 * the NUL. */
#define PASSWORD_BUFFER_SIZE (MAX_PASSWORD_LEN + 4)

static void
wipe_and_free (char *buffer, gsize size)
{
  sodium_memzero (buffer, size);
  g_free (buffer);
}

/* @buffer holds the @len bytes read from @source: one trailing newline (as editors and
 * `echo` leave) is not part of the password; a NUL byte would silently cut it short. */
static char *
finish_password (char *buffer, gsize len, const char *source, GError **error)
{
  gsize read_len = len;

  if (len > 0 && buffer[len - 1] == '\n')
    len--;
  if (len > 0 && buffer[len - 1] == '\r')
    len--;
  buffer[len] = '\0';

  if (len == 0)
    g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_BAD_VALUE,
                 "%s: expected a password, got nothing", source);
  else if (len > MAX_PASSWORD_LEN)
    g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_BAD_VALUE,
                 "%s: expected a password of at most %u bytes, got more", source, MAX_PASSWORD_LEN);
  else if (memchr (buffer, '\0', len) != NULL)
    g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_BAD_VALUE,
                 "%s: expected a password, got text with a NUL byte in it", source);
  else
    return buffer;
  wipe_and_free (buffer, read_len);
  return NULL;
}

static char *
read_password_file (const char *path, GError **error)
{
  g_autoptr (GFileInputStream) stream = cv_config_open_private_file (path, "a password file",
                                                                     error);
  g_autoptr (GError) local_error = NULL;
  char *buffer;
  gsize len = 0;

  if (stream == NULL)
    return NULL;
  buffer = g_malloc (PASSWORD_BUFFER_SIZE);
  if (!g_input_stream_read_all (G_INPUT_STREAM (stream), buffer, PASSWORD_BUFFER_SIZE - 1, &len,
                                NULL, &local_error))
    {
      g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_READ, "%s: %s", path,
                   local_error->message);
      wipe_and_free (buffer, PASSWORD_BUFFER_SIZE);
      return NULL;
    }
  return finish_password (buffer, len, path, error);
}

static char *
read_password_env (const char *name, GError **error)
{
  g_autofree char *source = g_strdup_printf ("environment variable %s", name);
  const char *value = g_getenv (name);

  if (value == NULL)
    {
      g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_READ,
                   "%s: expected a password, but it is not set", source);
      return NULL;
    }
  return finish_password (g_strdup (value), strlen (value), source, error);
}

/* One line: what follows it on stdin is not the password. */
static char *
read_password_stdin (GError **error)
{
  char *buffer = g_malloc (PASSWORD_BUFFER_SIZE);
  gsize len = 0;
  int c = EOF;

  while (len < PASSWORD_BUFFER_SIZE - 1 && (c = getc (stdin)) != EOF)
    {
      buffer[len++] = (char) c;
      if (c == '\n')
        break;
    }
  if (len == 0)
    {
      g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_READ,
                   "standard input: expected a password, got the end of the input");
      g_free (buffer);
      return NULL;
    }
  return finish_password (buffer, len, "standard input", error);
}

/**
 * cv_agent_config_read_password:
 * @config: an agent's config
 *
 * Reads the session password from where @config says.  A password file must be
 * readable by its owner only, or it is refused (%CV_CONFIG_ERROR_INSECURE_FILE).
 *
 * Returns: (transfer full): the password; wipe it (sodium_memzero()) before g_free()
 */
char *
cv_agent_config_read_password (const CvAgentConfig *config, GError **error)
{
  switch (config->password_source)
    {
    case CV_PASSWORD_SOURCE_FILE:
      return read_password_file (config->password_file, error);
    case CV_PASSWORD_SOURCE_ENV:
      return read_password_env (config->password_env, error);
    case CV_PASSWORD_SOURCE_STDIN:
      return read_password_stdin (error);
    case CV_PASSWORD_SOURCE_GIVEN:
      return finish_password (g_strdup (config->password != NULL ? config->password : ""),
                              config->password != NULL ? strlen (config->password) : 0,
                              "the password given", error);
    default:
      g_return_val_if_reached (NULL);
    }
}
