/* fuzz-config.c: libFuzzer target for the config files (config/), built once per kind
 * with FUZZ_CONFIG_KIND set to gateway, share or connect.  The input is a file's bytes; it
 * is read as culvert-cli reads a file (cv_config_load_data(): one JSON object, no key
 * twice) and then as a config of that kind.  Beyond "no memory error": every refusal is a
 * CV_CONFIG_ERROR that names the file, an accepted config holds what its header promises,
 * and the same JSON printed by json-glib and read again gets the same answer. */
#include "config/cv-agent-config.h"
#include "config/cv-gateway-config.h"
#include "auth/cv-allow-list.h"
#include "auth/cv-password.h"

#include "fuzz-check.h"
#include "fuzz-json.h"

#include <glib/gstdio.h>

#ifndef FUZZ_CONFIG_KIND
#error "FUZZ_CONFIG_KIND must be CV_CONFIG_KIND_GATEWAY, _SHARE or _CONNECT"
#endif

/* Absolute, so that relative paths in the config resolve the same everywhere. */
#define FILE_NAME "/fuzz/culvert.json"

static void
check_error (const GError *error)
{
  check (error != NULL && error->domain == CV_CONFIG_ERROR);
  check (g_str_has_prefix (error->message, FILE_NAME ": ")
         || g_str_has_prefix (error->message, FILE_NAME ":"));
  check (fuzz_is_one_line_of_text (error->message));
}

static void
check_gateway (const CvGatewayConfig *config)
{
  const CvGatewayLimits *limits = &config->limits;
  g_autoptr (GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);

  check (config->listeners->len > 0);
  for (guint i = 0; i < config->listeners->len; i++)
    {
      const CvGatewayListener *listener = g_ptr_array_index (config->listeners, i);

      check (g_hostname_is_ip_address (listener->host) && listener->port != 0);
    }
  check ((config->cert_file == NULL) == (config->key_file == NULL));
  check (config->cert_file == NULL || g_path_is_absolute (config->cert_file));
  check (config->state_dir != NULL && config->state_dir[0] != '\0');
  check (config->sessions->len <= limits->max_sessions);
  for (guint i = 0; i < config->sessions->len; i++)
    {
      const CvGatewaySession *session = g_ptr_array_index (config->sessions, i);

      check (session->name != NULL && g_utf8_validate (session->name, -1, NULL));
      check (g_hash_table_add (ids, session->id));
      check (cv_password_hash_is_valid (session->share_password_hash, NULL));
      check (cv_password_hash_is_valid (session->connect_password_hash, NULL));
      check (!g_str_equal (session->share_password_hash, session->connect_password_hash));
    }
  check (limits->max_links >= 1 && limits->max_tunnels >= 1 && limits->max_sessions >= 1);
  check (limits->dead_peer_timeout_ms > limits->keepalive_interval_ms);
  check (limits->tunnel_buffer_bytes >= 4096 && limits->tunnel_buffer_bytes <= 1048576);
  check (config->join == CV_GATEWAY_JOIN_SPLICE || config->join == CV_GATEWAY_JOIN_COPY);
  check (config->log_level <= CV_LOG_LEVEL_DEBUG);
}

/* cv_agent_config_check() is what a config built in code must pass; its comment says a
 * loaded one always does. */
static void
check_agent (const CvAgentConfig *agent)
{
  g_autoptr (GError) error = NULL;

  check (cv_agent_config_check (agent, &error));
  check (agent->password_source != CV_PASSWORD_SOURCE_GIVEN && agent->password == NULL);
  check ((agent->password_source == CV_PASSWORD_SOURCE_FILE) == (agent->password_file != NULL));
  check ((agent->password_source == CV_PASSWORD_SOURCE_ENV) == (agent->password_env != NULL));
  check (agent->password_file == NULL || g_path_is_absolute (agent->password_file));
  check (agent->gateway_fingerprint == NULL
         || (g_str_has_prefix (agent->gateway_fingerprint, "sha256:")
             && strlen (agent->gateway_fingerprint) == 71));
  check (agent->name != NULL && agent->state_dir != NULL);
}

static void
check_share (const CvShareConfig *config)
{
  check_agent (&config->agent);
  check (config->allow->len > 0);
  for (guint i = 0; i < config->allow->len; i++)
    {
      const CvAllowedTarget *target = g_ptr_array_index (config->allow, i);

      check (target->port_lo >= 1 && target->port_lo <= target->port_hi);
      check (cv_allow_list_check_host (target->host, NULL));
    }
}

static void
check_connect (const CvConnectConfig *config)
{
  check_agent (&config->agent);
  check (config->mappings->len > 0);
  for (guint i = 0; i < config->mappings->len; i++)
    {
      const CvMappingConfig *mapping = g_ptr_array_index (config->mappings, i);

      check (mapping->listen_host != NULL && mapping->listen_port != 0);
      check (mapping->target_host != NULL && mapping->target_port != 0);
    }
}

/* Returns: whether @root is a valid config of the kind; the error, if not */
static gboolean
read_config (JsonObject *root, GError **error)
{
  switch (FUZZ_CONFIG_KIND)
    {
    case CV_CONFIG_KIND_GATEWAY:
      {
        g_autoptr (CvGatewayConfig) config = cv_gateway_config_new_from_json (root, FILE_NAME,
                                                                              error);
        if (config != NULL)
          check_gateway (config);
        return config != NULL;
      }
    case CV_CONFIG_KIND_SHARE:
      {
        g_autoptr (CvShareConfig) config = cv_share_config_new_from_json (root, FILE_NAME, error);

        if (config != NULL)
          check_share (config);
        return config != NULL;
      }
    case CV_CONFIG_KIND_CONNECT:
    default:
      {
        g_autoptr (CvConnectConfig) config = cv_connect_config_new_from_json (root, FILE_NAME,
                                                                              error);
        if (config != NULL)
          check_connect (config);
        return config != NULL;
      }
    }
}

/* A "sessions_file" the input names would be read from the disk (any file, a device):
 * it is pointed at one real sessions file of mode 0600 instead, so that its code runs
 * and nothing else is read.  Its contents go through the same loader as the input. */
static char *sessions_path;

static void
remove_sessions_file (void)
{
  g_autofree char *dir = g_path_get_dirname (sessions_path);

  g_unlink (sessions_path);
  g_rmdir (dir);
}

static void
redirect_sessions_file (JsonObject *root)
{
  char *path = sessions_path;
  JsonNode *member = json_object_get_member (root, "sessions_file");

  if (member == NULL || !JSON_NODE_HOLDS_VALUE (member)
      || json_node_get_value_type (member) != G_TYPE_STRING)
    return;
  if (path == NULL)
    {
      static const char sessions[] =
        "{\"sessions\": [{\"id\": \"s\", \"share_password_hash\": "
        "\"$argon2id$v=19$m=65536,t=2,p=1$RQMXAHiNzXw14WYfpkd6eg$"
        "sMbjxa3QnTQMilTsV1cq8gGMrpSEGXF/v1OYXEnxt/o\", \"connect_password_hash\": "
        "\"$argon2id$v=19$m=65536,t=2,p=1$OGvtKs9vlZq12Z+UDLSrwA$"
        "5u4FsKcgViCheuFtOeoOkMtf+0fMWL1c2hI++EBfN1Q\"}]}";
      g_autofree char *dir = g_dir_make_tmp ("culvert-fuzz-XXXXXX", NULL);

      check (dir != NULL);
      path = g_build_filename (dir, "sessions.json", NULL);
      check (g_file_set_contents_full (path, sessions, -1, G_FILE_SET_CONTENTS_NONE, 0600, NULL));
      sessions_path = path;
      atexit (remove_sessions_file);
    }
  json_object_set_string_member (root, "sessions_file", path);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GError) error_again = NULL;
  g_autoptr (JsonObject) root = cv_config_load_data ((const char *) data, size, FILE_NAME, &error);
  g_autoptr (JsonObject) root_again = NULL;
  g_autoptr (JsonNode) node = NULL;
  g_autofree char *printed = NULL;
  gboolean valid;

  if (root == NULL)
    {
      check_error (error);
      return 0;
    }
  check (error == NULL);
  cv_config_guess_kind (root);
  redirect_sessions_file (root);

  valid = read_config (root, &error);
  check (valid == (error == NULL));
  if (!valid)
    check_error (error);

  /* json-glib printing what it parsed changes nothing the config reads. */
  if (fuzz_json_object_holds_double (root))
    return 0;
  node = json_node_init_object (json_node_alloc (), root);
  printed = json_to_string (node, FALSE);
  root_again = cv_config_load_data (printed, strlen (printed), FILE_NAME, &error_again);
  if (root_again == NULL)
    {
      fprintf (stderr, "fuzz-config: printed JSON does not load again: %s\n", error_again->message);
      abort ();
    }
  check (read_config (root_again, &error_again) == valid);
  if (!valid)
    check (error_again->code == error->code && g_str_equal (error_again->message, error->message));
  return 0;
}
