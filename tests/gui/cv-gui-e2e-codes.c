/* cv-gui-e2e-codes.c: a code gateway and culvert-cli's two code commands for the GUI tests. */
#include "cv-gui-e2e-codes.h"

#include <json-glib/json-glib.h>

static char *
first_group (const char *pattern, const char *text)
{
  g_autoptr (GRegex) regex = g_regex_new (pattern, G_REGEX_MULTILINE, 0, NULL);
  g_autoptr (GMatchInfo) match = NULL;

  g_assert_nonnull (regex);
  if (!g_regex_match (regex, text, 0, &match))
    return NULL;
  return g_match_info_fetch (match, 1);
}

typedef struct {
  const char *name;
  const char *pattern;
  char *group;
} MatchWait;

static gboolean
log_matches (gpointer data)
{
  MatchWait *wait = data;
  g_autofree char *text = cv_e2e_read_log (wait->name);

  wait->group = first_group (wait->pattern, text);
  return wait->group != NULL;
}

char *
cv_e2e_wait_for_log_match (const char *name, const char *pattern)
{
  MatchWait wait = { name, pattern, NULL };
  g_autofree char *what = g_strdup_printf ("/%s/ in %s's log", pattern, name);

  cv_e2e_poll_until (log_matches, &wait, what);
  return wait.group;
}

static char *
write_gateway_config (guint16 port, guint code_ttl_ms)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *listen = g_strdup_printf ("127.0.0.1:%u", port);
  g_autofree char *state = g_build_filename (cv_e2e_dir (), "code-gateway-state", NULL);
  char *path = g_build_filename (cv_e2e_dir (), "code-gateway.json", NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "listen");
  json_builder_begin_array (builder);
  json_builder_add_string_value (builder, listen);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "state_dir");
  json_builder_add_string_value (builder, state);
  json_builder_set_member_name (builder, "sessions");
  json_builder_begin_array (builder);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "log_level");
  json_builder_add_string_value (builder, "debug");
  json_builder_set_member_name (builder, "codes");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "enabled");
  json_builder_add_boolean_value (builder, TRUE);
  json_builder_end_object (builder);
  if (code_ttl_ms > 0)
    {
      json_builder_set_member_name (builder, "limits");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "code_ttl_ms");
      json_builder_add_int_value (builder, code_ttl_ms);
      json_builder_end_object (builder);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_to_file (generator, path, &error);
  g_assert_no_error (error);
  return path;
}

CvE2eGateway *
cv_e2e_start_code_gateway (guint code_ttl_ms)
{
  CvE2eGateway *gateway = g_new0 (CvE2eGateway, 1);
  g_autofree char *config = NULL;

  gateway->port = cv_e2e_free_port ();
  gateway->address = g_strdup_printf ("127.0.0.1:%u", gateway->port);
  config = write_gateway_config (gateway->port, code_ttl_ms);
  gateway->process = cv_e2e_spawn ("code-gateway", NULL,
                                   (const char *const[]){ cv_e2e_culvert_cli (), "gateway",
                                                          "--config", config, NULL });
  gateway->fingerprint = cv_e2e_wait_for_log_match ("code-gateway",
                                                    "gateway key fingerprint: (sha256:[0-9a-f]+)");
  g_free (cv_e2e_wait_for_log ("code-gateway", "listening on 127.0.0.1"));
  return gateway;
}

/* --gateway, --fingerprint, --name and a state directory of @name's own. */
static void
add_common (GPtrArray *args, const CvE2eGateway *gateway, const char *name)
{
  g_ptr_array_add (args, g_strdup ("--gateway"));
  g_ptr_array_add (args, g_strdup (gateway->address));
  g_ptr_array_add (args, g_strdup ("--fingerprint"));
  g_ptr_array_add (args, g_strdup (gateway->fingerprint));
  g_ptr_array_add (args, g_strdup ("--name"));
  g_ptr_array_add (args, g_strdup (name));
  g_ptr_array_add (args, g_strdup ("--state-dir"));
  g_ptr_array_add (args, g_strdup_printf ("%s/%s-state", cv_e2e_dir (), name));
}

GSubprocess *
cv_e2e_start_code_share (const CvE2eGateway *gateway,
                         const char *name,
                         const char *offer,
                         gboolean accept,
                         char **code)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  GSubprocess *process;

  g_ptr_array_add (args, g_strdup (cv_e2e_culvert_cli ()));
  g_ptr_array_add (args, g_strdup ("share"));
  g_ptr_array_add (args, g_strdup ("--code"));
  add_common (args, gateway, name);
  g_ptr_array_add (args, g_strdup ("--offer"));
  g_ptr_array_add (args, g_strdup (offer));
  if (accept)
    g_ptr_array_add (args, g_strdup ("--accept"));
  g_ptr_array_add (args, NULL);
  process = cv_e2e_spawn (name, NULL, (const char *const *) args->pdata);
  *code = cv_e2e_wait_for_log_match (name, "^Session code: ([0-9]{3,9}-[0-9]{3}-[0-9]{3})$");
  return process;
}

GSubprocess *
cv_e2e_start_code_connect (const CvE2eGateway *gateway,
                           const char *name,
                           const char *code,
                           const char *service,
                           guint16 *port)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *pattern = NULL;
  g_autofree char *listening = NULL;
  GSubprocess *process;

  g_ptr_array_add (args, g_strdup (cv_e2e_culvert_cli ()));
  g_ptr_array_add (args, g_strdup ("connect"));
  add_common (args, gateway, name);
  g_ptr_array_add (args, g_strdup ("--code"));
  g_ptr_array_add (args, g_strdup (code));
  g_ptr_array_add (args, g_strdup ("--map"));
  g_ptr_array_add (args, g_strdup_printf ("0:%s", service));
  g_ptr_array_add (args, NULL);
  process = cv_e2e_spawn (name, NULL, (const char *const *) args->pdata);
  pattern = g_strdup_printf ("mapping 127\\.0\\.0\\.1:([0-9]+) . service .%s.", service);
  listening = cv_e2e_wait_for_log_match (name, pattern);
  *port = (guint16) g_ascii_strtoull (listening, NULL, 10);
  g_assert_cmpuint (*port, >, 0);
  return process;
}
