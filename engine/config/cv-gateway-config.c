/* cv-gateway-config.c: read the gateway's config and refuse anything doubtful in it. */
#include "config/cv-gateway-config.h"

#include "config/cv-config.h"
#include "wire/cv-host-port.h"
#include "auth/cv-password.h"

#include <string.h>

#define DEFAULT_LISTEN "0.0.0.0:8443"
#define DEFAULT_WEBSOCKET_PATH "/culvert"
/* nginx's default proxy_read_timeout: a proxied link quiet for this long is cut. */
#define NGINX_READ_TIMEOUT_MS 60000
#define MAX_SESSION_NAME_CHARS 128

/* The key table stores a choice as a guint. */
G_STATIC_ASSERT (sizeof (CvGatewayJoin) == sizeof (guint));

static const char *const join_choices[] = { "splice", "copy", NULL };

static const CvConfigKey top_keys[] = {
  { "listen", CV_CONFIG_ARRAY, FALSE, CV_CONFIG_BY_CALLER },
  { "certificate", CV_CONFIG_OBJECT, FALSE, CV_CONFIG_BY_CALLER },
  { "state_dir", CV_CONFIG_STRING, FALSE, G_STRUCT_OFFSET (CvGatewayConfig, state_dir) },
  { "admin_socket", CV_CONFIG_STRING, FALSE, CV_CONFIG_BY_CALLER },
  { "sessions", CV_CONFIG_ARRAY, FALSE, CV_CONFIG_BY_CALLER },
  { "sessions_file", CV_CONFIG_STRING, FALSE, G_STRUCT_OFFSET (CvGatewayConfig, sessions_file) },
  { "limits", CV_CONFIG_OBJECT, FALSE, CV_CONFIG_BY_CALLER },
  { "codes", CV_CONFIG_OBJECT, FALSE, CV_CONFIG_BY_CALLER },
  { "join", CV_CONFIG_CHOICE, FALSE, G_STRUCT_OFFSET (CvGatewayConfig, join),
    .choices = join_choices },
  { "log_level", CV_CONFIG_CHOICE, FALSE, G_STRUCT_OFFSET (CvGatewayConfig, log_level),
    .choices = cv_config_log_level_choices },
  { "websocket", CV_CONFIG_BOOLEAN, FALSE, G_STRUCT_OFFSET (CvGatewayConfig, websocket) },
  { "websocket_path", CV_CONFIG_STRING, FALSE, G_STRUCT_OFFSET (CvGatewayConfig, websocket_path),
    .max = 256 },
  { "websocket_listen", CV_CONFIG_ARRAY, FALSE, CV_CONFIG_BY_CALLER },
  { "websocket_trusted_proxies", CV_CONFIG_ARRAY, FALSE, CV_CONFIG_BY_CALLER },
};

/* The sessions file holds the same "sessions" array, and nothing else. */
static const CvConfigKey sessions_file_keys[] = {
  { "sessions", CV_CONFIG_ARRAY, TRUE, CV_CONFIG_BY_CALLER },
};

/* Far above any list of max_sessions (1,000,000) sessions; it bounds what a wrong path
 * (a log, a disk image) makes the gateway read. */
#define MAX_SESSIONS_FILE_BYTES (256 * 1024 * 1024)

G_STATIC_ASSERT (sizeof (CvCodeAllocate) == sizeof (guint));
G_STATIC_ASSERT (sizeof (CvCodeClaim) == sizeof (guint));

static const char *const allocate_choices[] = { "anyone", "share-password", NULL };
static const char *const claim_choices[] = { "anyone", "technicians", NULL };

/* Session codes (engine/SESSION-CODES.md): off unless the operator turns them on, since
 * a code login needs no password unless "allocate" and "claim" ask for one. */
static const CvConfigKey codes_keys[] = {
  { "enabled", CV_CONFIG_BOOLEAN, FALSE, G_STRUCT_OFFSET (CvGatewayConfig, codes_enabled) },
  { "allocate", CV_CONFIG_CHOICE, FALSE, G_STRUCT_OFFSET (CvGatewayConfig, code_allocate),
    .choices = allocate_choices },
  { "claim", CV_CONFIG_CHOICE, FALSE, G_STRUCT_OFFSET (CvGatewayConfig, code_claim),
    .choices = claim_choices },
  { "technicians", CV_CONFIG_ARRAY, FALSE, CV_CONFIG_BY_CALLER },
};

/* As long as the names agents show (wire/cv-control.h): it is shown as one. */
#define MAX_TECHNICIAN_NAME_CHARS 128

static const CvConfigKey technician_keys[] = {
  { "name", CV_CONFIG_STRING, TRUE, G_STRUCT_OFFSET (CvGatewayTechnician, name),
    .max = MAX_TECHNICIAN_NAME_CHARS },
  { "password_hash", CV_CONFIG_STRING, TRUE, G_STRUCT_OFFSET (CvGatewayTechnician, password_hash) },
};

static const CvConfigKey certificate_keys[] = {
  { "cert_file", CV_CONFIG_STRING, TRUE, G_STRUCT_OFFSET (CvGatewayConfig, cert_file) },
  { "key_file", CV_CONFIG_STRING, TRUE, G_STRUCT_OFFSET (CvGatewayConfig, key_file) },
};

static const CvConfigKey session_keys[] = {
  { "id", CV_CONFIG_STRING, TRUE, G_STRUCT_OFFSET (CvGatewaySession, id) },
  { "name", CV_CONFIG_STRING, FALSE, G_STRUCT_OFFSET (CvGatewaySession, name),
    .max = MAX_SESSION_NAME_CHARS },
  { "share_password_hash", CV_CONFIG_STRING, TRUE,
    G_STRUCT_OFFSET (CvGatewaySession, share_password_hash) },
  { "connect_password_hash", CV_CONFIG_STRING, TRUE,
    G_STRUCT_OFFSET (CvGatewaySession, connect_password_hash) },
};

/* Every limit is at least 1; the upper bounds only catch a slipped finger (an extra
 * zero or three), far above what one gateway process can serve. */
#define LIMIT(field, most)                                                                         \
  {                                                                                                \
#field, CV_CONFIG_UINT, FALSE, G_STRUCT_OFFSET(CvGatewayLimits, field), 1, most                \
  }

static const CvConfigKey limit_keys[] = {
  LIMIT (max_sessions, 1000000),
  LIMIT (max_links, 1000000),
  LIMIT (max_tunnels, 1000000),
  LIMIT (max_pending_handshakes, 100000),
  LIMIT (handshake_timeout_ms, 600000),
  LIMIT (ticket_timeout_ms, 600000),
  LIMIT (max_channels_per_tunnel, 1000000),
  LIMIT (keepalive_interval_ms, 3600000),
  LIMIT (dead_peer_timeout_ms, 3600000),
  LIMIT (auth_failures_before_backoff, 1000),
  LIMIT (auth_backoff_max_ms, 86400000),
  /* Each worker holds a hash's Argon2 memory while it runs (64 MiB by default). */
  LIMIT (password_check_workers, 64),
  LIMIT (max_queued_password_checks, 100000),
  LIMIT (max_password_checks_per_address, 1000),
  /* At least a page; at most the pipe size Linux lets anyone have (pipe-max-size). */
  { "tunnel_buffer_bytes", CV_CONFIG_UINT, FALSE,
    G_STRUCT_OFFSET (CvGatewayLimits, tunnel_buffer_bytes), 4096, 1048576 },
  /* The agents' tunnel PINGs every 15 s when quiet, so a live tunnel is never idle for
   * long; less than twice that would cut live ones. */
  { "tunnel_idle_timeout_ms", CV_CONFIG_UINT, FALSE,
    G_STRUCT_OFFSET (CvGatewayLimits, tunnel_idle_timeout_ms), 30000, 86400000 },
  /* At least room for a REFUSED; at most what no one needs before logging in. */
  { "max_output_before_welcome_bytes", CV_CONFIG_UINT, FALSE,
    G_STRUCT_OFFSET (CvGatewayLimits, max_output_before_welcome_bytes), 1024, 1048576 },
  { "max_control_output_bytes", CV_CONFIG_UINT, FALSE,
    G_STRUCT_OFFSET (CvGatewayLimits, max_control_output_bytes), 4096, 67108864 },
  LIMIT (close_timeout_ms, 600000),
  LIMIT (max_links_per_session, 1000000),
  LIMIT (max_links_per_key, 1000000),
  LIMIT (max_tunnels_per_session, 1000000),
  LIMIT (max_tunnels_per_key, 1000000),
  LIMIT (tunnel_requests_per_second, 10000),
  /* At least a second: a summary a second is as much as anyone reads. */
  { "junk_log_interval_ms", CV_CONFIG_UINT, FALSE,
    G_STRUCT_OFFSET (CvGatewayLimits, junk_log_interval_ms), 1000, 86400000 },
  /* Session codes: a code lives at most a day, a code session at most a week. */
  LIMIT (code_ttl_ms, 86400000),
  LIMIT (code_pake_timeout_ms, 600000),
  LIMIT (code_session_max_ms, 604800000),
  LIMIT (code_cooldown_ms, 86400000),
  LIMIT (code_allocations_per_minute_per_address, 100000),
  LIMIT (code_claims_per_minute_per_address, 100000),
  LIMIT (code_allocations_per_minute, 1000000),
  LIMIT (code_claims_per_minute, 1000000),
  /* Half of the 9-digit nameplates is the most there can be. */
  LIMIT (max_codes, 1000000),
  /* At least 256 KiB: an agent's bridge sends what it read at once, up to 256 KiB, as one
   * message (fewer frames, TLS writes and main-loop turns per MB), and cannot know a
   * gateway's lower limit. */
  { "max_websocket_message_bytes", CV_CONFIG_UINT, FALSE,
    G_STRUCT_OFFSET (CvGatewayLimits, max_websocket_message_bytes), 262144, 67108864 },
  /* Below nginx's proxy_read_timeout: checked in read_limits(), with the reason. */
  LIMIT (websocket_ping_interval_ms, 3600000),
  LIMIT (websocket_pong_timeout_ms, 600000),
};

#undef LIMIT

void
cv_gateway_limits_init_defaults (CvGatewayLimits *limits)
{
  limits->max_sessions = 1000;
  limits->max_links = 10000;
  limits->max_tunnels = 10000;
  limits->max_pending_handshakes = 256;
  limits->handshake_timeout_ms = 10000;
  limits->ticket_timeout_ms = 10000;
  limits->max_channels_per_tunnel = 4096;
  /* The mux's own defaults (cv_mux_config_init_defaults): three missed PINGs. */
  limits->keepalive_interval_ms = 15000;
  limits->dead_peer_timeout_ms = 45000;
  limits->auth_failures_before_backoff = 5;
  limits->auth_backoff_max_ms = 300000;
  /* Measured (tests/bench/CHAINS.md): a 256 KiB pipe costs the gateway 20 % less CPU
   * per GB than 64 KiB now that agents send whole batches; it is only held while a
   * direction's receiver is behind. */
  limits->tunnel_buffer_bytes = 256 * 1024;
  limits->tunnel_idle_timeout_ms = 90000;
  /* Before WELCOME a link is owed SETTINGS, PONGs and one answer, a few hundred bytes;
   * after it, presence and offers, a few hundred bytes each.  A peer that does not
   * read them is closed well before it costs the gateway much (PROTOCOL.md §19.3). */
  limits->max_output_before_welcome_bytes = 4096;
  limits->max_control_output_bytes = 1024 * 1024;
  limits->close_timeout_ms = 2000;
  /* One agent, or one session, must not take what the gateway has for everyone: a
   * session is one share agent and its technicians, and a connect agent needs one
   * tunnel (a few while an old one closes). */
  limits->max_links_per_session = 64;
  limits->max_links_per_key = 8;
  limits->max_tunnels_per_session = 64;
  limits->max_tunnels_per_key = 8;
  limits->tunnel_requests_per_second = 5;
  /* Session codes (SESSION-CODES.md §5): ten minutes to read a code out and type it,
   * and as long again before its nameplate is reused; half a minute for the PAKE. */
  limits->code_ttl_ms = 600000;
  limits->code_pake_timeout_ms = 30000;
  limits->code_session_max_ms = 28800000;
  limits->code_cooldown_ms = 600000;
  limits->code_allocations_per_minute_per_address = 10;
  limits->code_claims_per_minute_per_address = 10;
  limits->code_allocations_per_minute = 600;
  limits->code_claims_per_minute = 600;
  limits->max_codes = 10000;
  /* The bridge's own defaults (transport/cv-ws-bridge.h). */
  limits->max_websocket_message_bytes = 1024 * 1024;
  limits->websocket_ping_interval_ms = 20000;
  limits->websocket_pong_timeout_ms = 15000;
  /* Two checks at once are 128 MiB of Argon2 memory with hashes of the default cost,
   * and keep a login's wait at one check (~75 ms) on a 2-core VPS; the queue holds
   * what 2 workers get through in about a second. */
  limits->password_check_workers = 2;
  limits->max_queued_password_checks = 32;
  limits->max_password_checks_per_address = 2;
  /* A connection that is not an agent costs one line a minute, whatever their number. */
  limits->junk_log_interval_ms = 60000;
}

static void
listener_free (gpointer data)
{
  CvGatewayListener *listener = data;

  g_free (listener->host);
  g_free (listener);
}

static void
session_free (gpointer data)
{
  CvGatewaySession *session = data;

  g_free (session->id);
  g_free (session->name);
  g_free (session->share_password_hash);
  g_free (session->connect_password_hash);
  g_free (session);
}

static void
technician_free (gpointer data)
{
  CvGatewayTechnician *technician = data;

  g_free (technician->name);
  g_free (technician->password_hash);
  g_free (technician);
}

void
cv_gateway_config_free (CvGatewayConfig *config)
{
  g_clear_pointer (&config->technicians, g_ptr_array_unref);
  g_clear_pointer (&config->listeners, g_ptr_array_unref);
  g_clear_pointer (&config->sessions, g_ptr_array_unref);
  g_clear_pointer (&config->websocket_listeners, g_ptr_array_unref);
  g_clear_pointer (&config->websocket_trusted_proxies, g_ptr_array_unref);
  g_free (config->websocket_path);
  g_free (config->cert_file);
  g_free (config->key_file);
  g_free (config->state_dir);
  g_free (config->admin_socket);
  g_free (config->sessions_file);
  g_free (config);
}

/* The one place that decides which stored password hashes the config accepts: those
 * the auth layer can verify at a bearable cost.  Its messages never repeat the value,
 * which by mistake may be a cleartext password. */
static gboolean
validate_password_hash (const char *hash, const char *where, GError **error)
{
  g_autoptr (GError) local_error = NULL;

  if (cv_password_hash_is_valid (hash, &local_error))
    return TRUE;
  cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, where,
                       "expected an Argon2id password hash, but %s", local_error->message);
  return FALSE;
}

/* The addresses of @key (listen, websocket_listen) into @listeners: IP addresses and
 * ports, each once. */
static gboolean
read_addresses (JsonArray *array, const char *key, GPtrArray *listeners, GError **error)
{
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      g_autofree char *where = cv_config_path_element (key, i);
      g_autofree char *host = NULL;
      const char *text = NULL;
      guint16 port;
      CvGatewayListener *listener;

      if (!cv_config_node_get_string (json_array_get_element (array, i), where, &text, error)
          || !cv_config_parse_host_port (text, where, NULL, &host, &port, NULL, error))
        return FALSE;
      /* A listener binds an address; a host name could resolve to several, or to
       * none on the day the gateway restarts. */
      if (!g_hostname_is_ip_address (host))
        {
          g_autofree char *got = cv_config_describe_string (text);

          cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, where,
                               "expected an IP address and a port, as \"0.0.0.0:8443\" or "
                               "\"[::]:8443\", got %s",
                               got);
          return FALSE;
        }
      for (guint j = 0; j < listeners->len; j++)
        {
          const CvGatewayListener *earlier = g_ptr_array_index (listeners, j);

          if (earlier->port == port && g_str_equal (earlier->host, host))
            {
              g_autofree char *got = cv_config_describe_string (text);

              cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, where,
                                   "expected each address once, got %s, as %s[%u] already", got,
                                   key, j);
              return FALSE;
            }
        }
      listener = g_new0 (CvGatewayListener, 1);
      listener->host = g_steal_pointer (&host);
      listener->port = port;
      g_ptr_array_add (listeners, listener);
    }
  return TRUE;
}

static gboolean
read_listen (CvGatewayConfig *config, JsonObject *root, GError **error)
{
  JsonArray *listen = NULL;

  if (!cv_config_get_array (root, "listen", "", FALSE, &listen, error))
    return FALSE;
  if (listen == NULL)
    {
      CvGatewayListener *listener = g_new0 (CvGatewayListener, 1);

      if (!cv_host_port_parse (DEFAULT_LISTEN, NULL, &listener->host, &listener->port, NULL, NULL))
        g_assert_not_reached ();
      g_ptr_array_add (config->listeners, listener);
      return TRUE;
    }
  if (json_array_get_length (listen) == 0)
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, "listen",
                           "expected at least one address, got an empty array");
      return FALSE;
    }
  return read_addresses (listen, "listen", config->listeners, error);
}

/* websocket_path, websocket_listen and websocket_trusted_proxies; "websocket" itself is
 * read by the table. */
static gboolean
read_websocket (CvGatewayConfig *config, JsonObject *root, GError **error)
{
  const char *path = config->websocket_path;
  JsonArray *listen = NULL;
  JsonArray *proxies = NULL;

  /* A path as a request line carries it: from the root, and no query or fragment. */
  if (path[0] != '/' || strpbrk (path, "?# ") != NULL)
    {
      g_autofree char *got = cv_config_describe_string (path);

      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, "websocket_path",
                           "expected a path that starts with \"/\", as \"/culvert\", without "
                           "spaces, \"?\" or \"#\", got %s",
                           got);
      return FALSE;
    }
  if (!cv_config_get_array (root, "websocket_listen", "", FALSE, &listen, error)
      || (listen != NULL
          && !read_addresses (listen, "websocket_listen", config->websocket_listeners, error))
      || !cv_config_get_array (root, "websocket_trusted_proxies", "", FALSE, &proxies, error))
    return FALSE;
  if (proxies == NULL)
    return TRUE;
  g_ptr_array_set_size (config->websocket_trusted_proxies, 0);
  for (guint i = 0; i < json_array_get_length (proxies); i++)
    {
      g_autofree char *where = cv_config_path_element ("websocket_trusted_proxies", i);
      g_autoptr (GInetAddress) address = NULL;
      const char *text = NULL;

      if (!cv_config_node_get_string (json_array_get_element (proxies, i), where, &text, error))
        return FALSE;
      address = g_inet_address_new_from_string (text);
      if (address == NULL)
        {
          g_autofree char *got = cv_config_describe_string (text);

          /* One proxy is one address: a range would trust whoever else is in it. */
          cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, where,
                               "expected an IP address, as \"127.0.0.1\" or \"::1\", got %s", got);
          return FALSE;
        }
      g_ptr_array_add (config->websocket_trusted_proxies, g_inet_address_to_string (address));
    }
  return TRUE;
}

static gboolean
read_certificate (CvGatewayConfig *config, JsonObject *root, const char *file, GError **error)
{
  JsonObject *certificate = NULL;

  if (!cv_config_get_object (root, "certificate", "", FALSE, &certificate, error))
    return FALSE;
  if (certificate == NULL)
    return TRUE;
  if (!cv_config_read_object (certificate, "certificate", certificate_keys,
                              G_N_ELEMENTS (certificate_keys), config, error))
    return FALSE;

  cv_config_resolve_path (&config->cert_file, file);
  cv_config_resolve_path (&config->key_file, file);
  return TRUE;
}

static gboolean
read_technicians (CvGatewayConfig *config, JsonObject *codes, GError **error)
{
  JsonArray *technicians = NULL;

  if (!cv_config_get_array (codes, "technicians", "codes", FALSE, &technicians, error))
    return FALSE;
  for (guint i = 0; technicians != NULL && i < json_array_get_length (technicians); i++)
    {
      g_autofree char *where = cv_config_path_element ("codes.technicians", i);
      g_autofree char *hash_where = cv_config_path_member (where, "password_hash");
      g_autofree char *name_where = cv_config_path_member (where, "name");
      CvGatewayTechnician *technician = g_new0 (CvGatewayTechnician, 1);
      JsonObject *object = NULL;

      g_ptr_array_add (config->technicians, technician);
      if (!cv_config_node_get_object (json_array_get_element (technicians, i), where, &object,
                                      error)
          || !cv_config_read_object (object, where, technician_keys, G_N_ELEMENTS (technician_keys),
                                     technician, error)
          || !validate_password_hash (technician->password_hash, hash_where, error))
        return FALSE;
      /* The name is who the sharer is told asks: two alike could not be told apart. */
      for (guint j = 0; j < i; j++)
        if (g_str_equal (((CvGatewayTechnician *) config->technicians->pdata[j])->name,
                         technician->name))
          {
            cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, name_where,
                                 "expected each technician's name once, got “%s” as "
                                 "codes.technicians[%u] already",
                                 technician->name, j);
            return FALSE;
          }
    }
  if (config->code_claim == CV_CODE_CLAIM_TECHNICIANS && config->technicians->len == 0)
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_MISSING_KEY, "codes.technicians",
                           "expected at least one technician ({\"name\", \"password_hash\"}) "
                           "when \"claim\" is \"technicians\", got none: nobody could claim a "
                           "code");
      return FALSE;
    }
  if (config->code_claim != CV_CODE_CLAIM_TECHNICIANS && config->technicians->len > 0)
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, "codes.technicians",
                           "expected no technicians unless \"claim\" is \"technicians\", got "
                           "%u: with \"claim\": \"anyone\" they would not be asked for",
                           config->technicians->len);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_codes (CvGatewayConfig *config, JsonObject *root, GError **error)
{
  JsonObject *codes = NULL;

  if (!cv_config_get_object (root, "codes", "", FALSE, &codes, error))
    return FALSE;
  return codes == NULL
         || (cv_config_read_object (codes, "codes", codes_keys, G_N_ELEMENTS (codes_keys), config,
                                    error)
             && read_technicians (config, codes, error));
}

const CvGatewayTechnician *
cv_gateway_config_find_technician (const CvGatewayConfig *config, const char *name)
{
  for (guint i = 0; name != NULL && i < config->technicians->len; i++)
    {
      const CvGatewayTechnician *technician = config->technicians->pdata[i];

      if (g_str_equal (technician->name, name))
        return technician;
    }
  return NULL;
}

static gboolean
read_session (JsonNode *node, const char *where, CvGatewaySession *session, GError **error)
{
  JsonObject *object = NULL;
  g_autofree char *id_where = cv_config_path_member (where, "id");
  g_autofree char *share_where = cv_config_path_member (where, "share_password_hash");
  g_autofree char *connect_where = cv_config_path_member (where, "connect_password_hash");

  if (!cv_config_node_get_object (node, where, &object, error)
      || !cv_config_read_object (object, where, session_keys, G_N_ELEMENTS (session_keys), session,
                                 error)
      || !cv_config_check_session_id (session->id, id_where, error)
      || !validate_password_hash (session->share_password_hash, share_where, error)
      || !validate_password_hash (session->connect_password_hash, connect_where, error))
    return FALSE;

  /* Two equal strings mean one hash pasted twice: the same password on both sides,
   * which would let whoever shares also connect, and the other way round. */
  if (g_str_equal (session->share_password_hash, session->connect_password_hash))
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, connect_where,
                           "expected the hash of a different password than "
                           "share_password_hash, got the same hash: in session “%s”, whoever "
                           "shares could also connect; hash another password for one of them "
                           "(culvert-cli hash-password)",
                           session->id);
      return FALSE;
    }
  if (session->name == NULL)
    session->name = g_strdup (session->id);
  return TRUE;
}

static gboolean
read_sessions (CvGatewayConfig *config, JsonObject *root, GError **error)
{
  g_autoptr (GHashTable) index_of_id = g_hash_table_new (g_str_hash, g_str_equal);
  JsonArray *sessions = NULL;

  if (!cv_config_get_array (root, "sessions", "", FALSE, &sessions, error))
    return FALSE;
  if (sessions == NULL)
    return TRUE;

  for (guint i = 0; i < json_array_get_length (sessions); i++)
    {
      g_autofree char *where = cv_config_path_element ("sessions", i);
      CvGatewaySession *session = g_new0 (CvGatewaySession, 1);
      gpointer earlier;

      g_ptr_array_add (config->sessions, session);
      if (!read_session (json_array_get_element (sessions, i), where, session, error))
        return FALSE;
      if (g_hash_table_lookup_extended (index_of_id, session->id, NULL, &earlier))
        {
          g_autofree char *id_where = cv_config_path_member (where, "id");

          cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, id_where,
                               "expected a unique session id, got \"%s\", as sessions[%u].id "
                               "already",
                               session->id, GPOINTER_TO_UINT (earlier));
          return FALSE;
        }
      g_hash_table_insert (index_of_id, session->id, GUINT_TO_POINTER (i));
    }
  return TRUE;
}

/* The whole of @stream, or an error if it holds more than MAX_SESSIONS_FILE_BYTES. */
static GBytes *
read_bounded (GInputStream *stream, const char *path, GError **error)
{
  g_autoptr (GByteArray) contents = g_byte_array_new ();
  guint8 chunk[64 * 1024];

  for (;;)
    {
      g_autoptr (GError) local_error = NULL;
      gssize n = g_input_stream_read (stream, chunk, sizeof chunk, NULL, &local_error);

      if (n < 0)
        {
          g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_READ, "%s: %s", path,
                       local_error->message);
          return NULL;
        }
      if (n == 0)
        return g_byte_array_free_to_bytes (g_steal_pointer (&contents));
      if (contents->len + (gsize) n > MAX_SESSIONS_FILE_BYTES)
        {
          g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_READ,
                       "%s: expected at most %u MiB of sessions, got more", path,
                       MAX_SESSIONS_FILE_BYTES / (1024 * 1024));
          return NULL;
        }
      g_byte_array_append (contents, chunk, (guint) n);
    }
}

/* The sessions, with their password hashes, from a file of their own: one that only its
 * owner may read, so that the config itself may be readable by all (systemd's
 * LoadCredential= hands such a file to the service; see culvert-gateway.service). */
static gboolean
read_sessions_file (CvGatewayConfig *config, JsonObject *root, GError **error)
{
  g_autoptr (GFileInputStream) stream = NULL;
  g_autoptr (JsonObject) sessions_root = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GBytes) contents = NULL;
  const char *path = config->sessions_file;
  JsonArray *sessions = NULL;
  gsize len;
  const char *data;

  if (path == NULL)
    return TRUE;
  if (json_object_has_member (root, "sessions"))
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, "sessions_file",
                           "expected either \"sessions\" or \"sessions_file\", got both");
      return FALSE;
    }

  stream = cv_config_open_private_file (path, "a sessions file", &local_error);
  if (stream != NULL)
    contents = read_bounded (G_INPUT_STREAM (stream), path, &local_error);
  if (contents != NULL)
    {
      data = g_bytes_get_data (contents, &len);
      sessions_root = cv_config_load_data (data != NULL ? data : "", len, path, &local_error);
    }
  if (sessions_root != NULL
      && (!cv_config_read_object (sessions_root, "", sessions_file_keys,
                                  G_N_ELEMENTS (sessions_file_keys), NULL, &local_error)
          || !cv_config_get_array (sessions_root, "sessions", "", TRUE, &sessions, &local_error)
          || !read_sessions (config, sessions_root, &local_error)))
    cv_config_prefix_error (&local_error, path);
  if (local_error != NULL)
    {
      /* "sessions_file: FILE: sessions[0].id: …": which key led there, then where in
       * that file.  The code is the sessions file's own. */
      g_set_error (error, CV_CONFIG_ERROR,
                   local_error->domain == CV_CONFIG_ERROR ? local_error->code
                                                          : CV_CONFIG_ERROR_READ,
                   "sessions_file: %s", local_error->message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_limits (CvGatewayConfig *config, JsonObject *root, GError **error)
{
  CvGatewayLimits *limits = &config->limits;
  JsonObject *object = NULL;

  if (!cv_config_get_object (root, "limits", "", FALSE, &object, error))
    return FALSE;
  if (object == NULL)
    return TRUE;
  if (!cv_config_read_object (object, "limits", limit_keys, G_N_ELEMENTS (limit_keys), limits,
                              error))
    return FALSE;

  /* A peer is declared dead after this long without a frame; if that came before the
   * next PING was even due, every quiet link would be cut. */
  if (limits->dead_peer_timeout_ms <= limits->keepalive_interval_ms)
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, "limits.dead_peer_timeout_ms",
                           "expected more than keepalive_interval_ms (%u), got %u",
                           limits->keepalive_interval_ms, limits->dead_peer_timeout_ms);
      return FALSE;
    }
  /* A proxied WebSocket link carries nothing else while it is idle: the pings must come
   * before the proxy gives up on it. */
  if (limits->websocket_ping_interval_ms >= NGINX_READ_TIMEOUT_MS)
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, "limits.websocket_ping_interval_ms",
                           "expected less than %u, got %u: nginx's default proxy_read_timeout is "
                           "60 s, and a proxy cuts a WebSocket that is quiet for longer",
                           NGINX_READ_TIMEOUT_MS, limits->websocket_ping_interval_ms);
      return FALSE;
    }
  /* WELCOME raises the bound; it must not lower it. */
  if (limits->max_output_before_welcome_bytes > limits->max_control_output_bytes)
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE,
                           "limits.max_output_before_welcome_bytes",
                           "expected at most max_control_output_bytes (%u), got %u",
                           limits->max_control_output_bytes,
                           limits->max_output_before_welcome_bytes);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_config (CvGatewayConfig *config, JsonObject *root, const char *file, GError **error)
{
  if (!cv_config_check_kind (root, CV_CONFIG_KIND_GATEWAY, error)
      || !cv_config_read_object (root, "", top_keys, G_N_ELEMENTS (top_keys), config, error)
      || !read_listen (config, root, error) || !read_certificate (config, root, file, error)
      || !read_codes (config, root, error) || !read_websocket (config, root, error)
      || !cv_config_get_admin_socket (root, file, &config->admin_socket, &config->admin_socket_off,
                                      error)
      || !read_sessions (config, root, error))
    return FALSE;
  cv_config_resolve_path (&config->sessions_file, file);
  if (!read_sessions_file (config, root, error) || !read_limits (config, root, error))
    return FALSE;
  if (config->sessions->len > config->limits.max_sessions)
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, "limits.max_sessions",
                           "expected at least the %u sessions configured, got %u",
                           config->sessions->len, config->limits.max_sessions);
      return FALSE;
    }

  cv_config_resolve_path (&config->state_dir, file);
  if (config->state_dir == NULL)
    config->state_dir = cv_config_default_state_dir ();
  return TRUE;
}

/* Whether the gateway's config may have @key at its top level. */
gboolean
cv_gateway_config_is_top_key (const char *key)
{
  for (guint i = 0; i < G_N_ELEMENTS (top_keys); i++)
    if (g_str_equal (key, top_keys[i].key))
      return TRUE;
  return FALSE;
}

/**
 * cv_gateway_config_new_from_json:
 * @root: the config's top-level object
 * @file: (nullable): where it came from: named in errors, and the base of relative paths
 *
 * Returns: (transfer full): the config with every default filled in, or %NULL with a
 *   %CV_CONFIG_ERROR that starts "FILE: KEY: "
 */
CvGatewayConfig *
cv_gateway_config_new_from_json (JsonObject *root, const char *file, GError **error)
{
  g_autoptr (CvGatewayConfig) config = g_new0 (CvGatewayConfig, 1);

  config->listeners = g_ptr_array_new_with_free_func (listener_free);
  config->sessions = g_ptr_array_new_with_free_func (session_free);
  config->technicians = g_ptr_array_new_with_free_func (technician_free);
  config->websocket = TRUE;
  config->websocket_path = g_strdup (DEFAULT_WEBSOCKET_PATH);
  config->websocket_listeners = g_ptr_array_new_with_free_func (listener_free);
  /* A reverse proxy on the gateway's own host, as the nginx example has it. */
  config->websocket_trusted_proxies = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (config->websocket_trusted_proxies, g_strdup ("127.0.0.1"));
  g_ptr_array_add (config->websocket_trusted_proxies, g_strdup ("::1"));
  cv_gateway_limits_init_defaults (&config->limits);
#ifdef __linux__
  config->join = CV_GATEWAY_JOIN_SPLICE;
#else
  config->join = CV_GATEWAY_JOIN_COPY;
#endif
  config->log_level = CV_LOG_LEVEL_INFO;

  if (!read_config (config, root, file, error))
    {
      cv_config_prefix_error (error, file);
      return NULL;
    }
  return g_steal_pointer (&config);
}

CvGatewayConfig *
cv_gateway_config_load (const char *file, GError **error)
{
  g_autoptr (JsonObject) root = cv_config_load_file (file, error);

  if (root == NULL)
    return NULL;
  return cv_gateway_config_new_from_json (root, file, error);
}

/**
 * cv_gateway_config_add_session:
 * @id: the session id
 * @where: what the error names instead of a key, e.g. "--session demo"
 *
 * A session from elsewhere than the file (the command line): checked as one in the
 * file is, and put in place of the file's session of the same id, if any.
 */
gboolean
cv_gateway_config_add_session (CvGatewayConfig *config,
                               const char *id,
                               const char *share_password_hash,
                               const char *connect_password_hash,
                               const char *where,
                               GError **error)
{
  CvGatewaySession *session;
  guint i;

  if (!cv_config_check_session_id (id, where, error)
      || !validate_password_hash (share_password_hash, where, error)
      || !validate_password_hash (connect_password_hash, where, error))
    return FALSE;
  if (g_str_equal (share_password_hash, connect_password_hash))
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, where,
                           "expected the hashes of two different passwords, got the same hash");
      return FALSE;
    }
  for (i = 0; i < config->sessions->len; i++)
    if (g_str_equal (((CvGatewaySession *) g_ptr_array_index (config->sessions, i))->id, id))
      break;
  if (i == config->sessions->len && config->sessions->len >= config->limits.max_sessions)
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, where,
                           "expected at most limits.max_sessions (%u) sessions, got more",
                           config->limits.max_sessions);
      return FALSE;
    }

  session = g_new0 (CvGatewaySession, 1);
  session->id = g_strdup (id);
  session->name = g_strdup (id);
  session->share_password_hash = g_strdup (share_password_hash);
  session->connect_password_hash = g_strdup (connect_password_hash);
  if (i < config->sessions->len)
    {
      session_free (config->sessions->pdata[i]);
      config->sessions->pdata[i] = session;
    }
  else
    g_ptr_array_add (config->sessions, session);
  return TRUE;
}
