/* cli-status.c: `culvert-cli status` — reads a running gateway's or agent's admin socket
 * and prints its state as a table, or the JSON itself with --json.
 *
 * Exit codes: 0 when every socket asked answered, 1 when nothing runs there (or a
 * socket did not answer), 2 for a bad command line or config.
 */
#include "cli/cli-status.h"

#include "base/cv-log-escape.h"
#include "cli/cli-admin.h"
#include "config/cv-agent-config.h"
#include "config/cv-gateway-config.h"

#include <stdio.h>
#include <string.h>

#ifdef G_OS_UNIX
#include <gio/gunixsocketaddress.h>
#endif

/* A status document is a few hundred bytes per agent; this bounds a wrong socket. */
#define MAX_DOCUMENT_BYTES (64 * 1024 * 1024)
#define READ_TIMEOUT_S 10

static const char *const all_roles[] = { "gateway", "share", "connect", NULL };

/* ---- reading the socket ---------------------------------------------------- */

/* Reads the socket's document.  NULL with @error set; %G_IO_ERROR_NOT_FOUND or
 * %G_IO_ERROR_CONNECTION_REFUSED when nothing runs there. */
static GBytes *
read_socket (const char *path, GError **error)
{
#ifdef G_OS_UNIX
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (path);
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GByteArray) document = g_byte_array_new ();
  GInputStream *input;
  guint8 buffer[16 * 1024];
  gssize n;

  g_socket_client_set_timeout (client, READ_TIMEOUT_S);
  connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, error);
  if (connection == NULL)
    return NULL;
  input = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  /* Stopped as soon as it is too long: whatever listens there cannot make us hold more. */
  while ((n = g_input_stream_read (input, buffer, sizeof buffer, NULL, error)) > 0)
    {
      if (document->len + (gsize) n > MAX_DOCUMENT_BYTES)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                       "it sent more than %d bytes; is it a Culvert admin socket?",
                       MAX_DOCUMENT_BYTES);
          return NULL;
        }
      g_byte_array_append (document, buffer, (guint) n);
    }
  if (n < 0)
    return NULL;
  return g_byte_array_free_to_bytes (g_steal_pointer (&document));
#else
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
               "status needs Unix sockets, which this system does not have");
  return NULL;
#endif
}

/* ---- the table --------------------------------------------------------------- */

static const char *
member_string (JsonObject *object, const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static gint64
member_int (JsonObject *object, const char *name, gint64 otherwise)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_INT64)
    return otherwise;
  return json_node_get_int (node);
}

static gboolean
member_boolean (JsonObject *object, const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && json_node_get_value_type (node) == G_TYPE_BOOLEAN
         && json_node_get_boolean (node);
}

static JsonObject *
member_object (JsonObject *object, const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

static JsonArray *
member_array (JsonObject *object, const char *name)
{
  JsonNode *node = object != NULL ? json_object_get_member (object, name) : NULL;

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

static JsonObject *
element_object (JsonArray *array, guint i)
{
  JsonNode *node = json_array_get_element (array, i);

  return JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* Text from the document, some of it from remote agents (their names): one safe
 * piece of a line, "-" when absent. */
static char *
text (JsonObject *object, const char *name)
{
  const char *value = member_string (object, name);

  return value != NULL ? cv_log_escape (value, -1) : g_strdup ("-");
}

static char *
format_duration (gint64 seconds)
{
  if (seconds < 0)
    return g_strdup ("-");
  if (seconds < 60)
    return g_strdup_printf ("%" G_GINT64_FORMAT " s", seconds);
  if (seconds < 3600)
    return g_strdup_printf ("%" G_GINT64_FORMAT " min %" G_GINT64_FORMAT " s", seconds / 60,
                            seconds % 60);
  if (seconds < 86400)
    return g_strdup_printf ("%" G_GINT64_FORMAT " h %" G_GINT64_FORMAT " min", seconds / 3600,
                            seconds % 3600 / 60);
  return g_strdup_printf ("%" G_GINT64_FORMAT " d %" G_GINT64_FORMAT " h", seconds / 86400,
                          seconds % 86400 / 3600);
}

/* How long ago the ISO 8601 time in @name was. */
static char *
format_age (JsonObject *object, const char *name)
{
  const char *value = member_string (object, name);
  g_autoptr (GDateTime) then = value != NULL ? g_date_time_new_from_iso8601 (value, NULL) : NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  GTimeSpan since;

  if (then == NULL)
    return g_strdup ("-");
  since = g_date_time_difference (now, then);
  return format_duration (MAX (since, 0) / G_TIME_SPAN_SECOND);
}

static char *
format_bytes (gint64 bytes)
{
  if (bytes < 0)
    return g_strdup ("-");
  return g_format_size_full (bytes, G_FORMAT_SIZE_IEC_UNITS);
}

static char *
format_round_trip (JsonObject *object, const char *name)
{
  gint64 us = member_int (object, name, -1);

  if (us < 0)
    return g_strdup ("-");
  return g_strdup_printf ("%.1f ms", us / 1000.0);
}

static void
print_header (JsonObject *root, const char *what)
{
  g_autofree char *up = format_duration (member_int (root, "uptime_s", -1));
  g_autofree char *version = text (root, "version");

  g_print ("%s, culvert %s, up %s\n", what, version, up);
}

static void
print_agent_row (const char *session, JsonObject *agent)
{
  g_autofree char *role = text (agent, "role");
  g_autofree char *name = text (agent, "name");
  g_autofree char *address = text (agent, "address");
  g_autofree char *since = format_age (agent, "since");
  g_autofree char *rtt = format_round_trip (agent, "round_trip_us");
  g_autofree char *key = text (agent, "fingerprint");

  g_print ("  %-16s %-8s %-20s %-16s %-12s %-9s %s\n", session, role, name, address, since, rtt,
           key);
}

static void
print_gateway (JsonObject *root)
{
  JsonArray *listeners = member_array (root, "listeners");
  JsonArray *web_listeners = member_array (root, "websocket_listeners");
  JsonArray *sessions = member_array (root, "sessions");
  JsonArray *tunnels = member_array (root, "tunnels");
  JsonObject *totals = member_object (root, "totals");
  g_autofree char *own_key = text (root, "fingerprint");

  print_header (root, "gateway");
  g_print ("key: %s\n", own_key);
  for (guint i = 0; listeners != NULL && i < json_array_get_length (listeners); i++)
    {
      g_autofree char *host = text (element_object (listeners, i), "host");

      g_print ("listening on %s port %" G_GINT64_FORMAT "\n", host,
               member_int (element_object (listeners, i), "port", 0));
    }
  for (guint i = 0; web_listeners != NULL && i < json_array_get_length (web_listeners); i++)
    {
      g_autofree char *host = text (element_object (web_listeners, i), "host");

      g_print ("plain-HTTP WebSocket upgrades on %s port %" G_GINT64_FORMAT "\n", host,
               member_int (element_object (web_listeners, i), "port", 0));
    }
  g_print ("%" G_GINT64_FORMAT " sessions (%" G_GINT64_FORMAT
           " with the share agent online), %" G_GINT64_FORMAT " agents connected (%" G_GINT64_FORMAT
           " not logged in), %" G_GINT64_FORMAT " tunnels\n",
           member_int (totals, "sessions", 0), member_int (totals, "sessions_online", 0),
           member_int (totals, "links", 0), member_int (totals, "unauthenticated", 0),
           member_int (totals, "tunnels", 0));

  g_print ("\nSessions\n  %-16s %-8s %-20s %-16s %-12s %-9s %s\n", "SESSION", "ROLE", "AGENT",
           "ADDRESS", "ONLINE FOR", "RTT", "KEY");
  for (guint i = 0; sessions != NULL && i < json_array_get_length (sessions); i++)
    {
      JsonObject *session = element_object (sessions, i);
      g_autofree char *id = text (session, "id");
      JsonArray *connects = member_array (session, "connects");
      guint n_connects = connects != NULL ? json_array_get_length (connects) : 0;
      JsonObject *share = member_object (session, "share");

      if (share != NULL)
        print_agent_row (id, share);
      for (guint j = 0; j < n_connects; j++)
        print_agent_row (share != NULL || j > 0 ? "" : id, element_object (connects, j));
      if (share == NULL && n_connects == 0)
        g_print ("  %-16s (no agent online)\n", id);
    }

  g_print ("\nTunnels\n");
  if (tunnels == NULL || json_array_get_length (tunnels) == 0)
    g_print ("  (none)\n");
  else
    g_print ("  %-16s %-12s %-14s %-14s %s\n", "SESSION", "OPEN FOR", "SHARE→CONNECT",
             "CONNECT→SHARE", "CONNECT AGENT'S KEY");
  for (guint i = 0; tunnels != NULL && i < json_array_get_length (tunnels); i++)
    {
      JsonObject *tunnel = element_object (tunnels, i);
      g_autofree char *session = text (tunnel, "session");
      g_autofree char *since = format_age (tunnel, "since");
      g_autofree char *down = format_bytes (member_int (tunnel, "bytes_share_to_connect", -1));
      g_autofree char *up = format_bytes (member_int (tunnel, "bytes_connect_to_share", -1));
      g_autofree char *key = text (tunnel, "connect_fingerprint");

      g_print ("  %-16s %-12s %-14s %-14s %s\n", session, since, down, up, key);
    }
}

/* The lines both agents have: who they are and their control link. */
static void
print_agent_link (JsonObject *root, const char *what)
{
  JsonObject *gateway = member_object (root, "gateway");
  JsonObject *link = member_object (root, "link");
  g_autofree char *name = text (root, "name");
  g_autofree char *session = text (root, "session");
  g_autofree char *key = text (root, "fingerprint");
  g_autofree char *address = text (gateway, "address");
  g_autofree char *pinned = text (gateway, "fingerprint");
  g_autofree char *state = text (link, "state");
  g_autofree char *header = g_strdup_printf ("%s agent “%s” in session %s", what, name, session);

  print_header (root, header);
  g_print ("key: %s\n", key);
  g_print ("gateway: %s (key %s)\n", address,
           member_string (gateway, "fingerprint") != NULL ? pinned : "checked by the system's CAs");
  if (g_strcmp0 (member_string (link, "state"), "online") == 0)
    {
      g_autofree char *since = format_age (link, "online_since");
      g_autofree char *rtt = format_round_trip (link, "round_trip_us");

      g_print ("link: online for %s, round trip %s\n", since, rtt);
    }
  else
    {
      g_autofree char *refusal = text (link, "refusal");
      g_autofree char *error = text (link, "last_error");
      const char *retry = member_string (link, "next_retry");
      g_autoptr (GDateTime) then = retry != NULL ? g_date_time_new_from_iso8601 (retry, NULL)
                                                 : NULL;
      g_autoptr (GDateTime) now = g_date_time_new_now_utc ();

      g_print ("link: %s", state);
      if (member_string (link, "refusal") != NULL)
        g_print (", refused: %s", refusal);
      if (member_string (link, "last_error") != NULL)
        g_print (", last error: %s", error);
      if (then != NULL)
        {
          GTimeSpan until = g_date_time_difference (then, now);

          g_print (", next try in %.0f s", MAX (until, 0) / (double) G_TIME_SPAN_SECOND);
        }
      g_print ("\n");
    }
}

static void
print_share (JsonObject *root)
{
  JsonArray *allow = member_array (root, "allow");
  JsonArray *tunnels = member_array (root, "tunnels");
  JsonArray *authorized = member_array (root, "authorized_connect_keys");
  g_autofree char *in = format_bytes (member_int (root, "bytes_in", -1));
  g_autofree char *out = format_bytes (member_int (root, "bytes_out", -1));

  print_agent_link (root, "share");
  g_print ("allows:");
  for (guint i = 0; allow != NULL && i < json_array_get_length (allow); i++)
    {
      JsonNode *node = json_array_get_element (allow, i);
      g_autofree char *entry = cv_log_escape (json_node_get_value_type (node) == G_TYPE_STRING
                                                ? json_node_get_string (node)
                                                : "?",
                                              -1);

      g_print ("%s %s", i > 0 ? "," : "", entry);
    }
  if (authorized != NULL)
    g_print ("\ntunnels only from the %u connect agent key%s in authorized_connect_keys",
             json_array_get_length (authorized),
             json_array_get_length (authorized) == 1 ? "" : "s");
  g_print ("\n%" G_GINT64_FORMAT " channels open; bytes from the targets %s, to them %s\n",
           member_int (root, "channels", 0), out, in);

  g_print ("\nTunnels\n");
  if (tunnels == NULL || json_array_get_length (tunnels) == 0)
    g_print ("  (none)\n");
  else
    g_print ("  %-20s %-20s %s\n", "CONNECT AGENT", "ADDRESS", "CHANNELS");
  for (guint i = 0; tunnels != NULL && i < json_array_get_length (tunnels); i++)
    {
      JsonObject *tunnel = element_object (tunnels, i);
      g_autofree char *peer = text (tunnel, "peer_name");
      g_autofree char *address = text (tunnel, "peer_address");

      g_print ("  %-20s %-20s %" G_GINT64_FORMAT "\n", peer, address,
               member_int (tunnel, "channels", 0));
    }
}

static void
print_connect (JsonObject *root)
{
  JsonObject *share = member_object (root, "share");
  JsonObject *tunnel = member_object (root, "tunnel");
  JsonArray *mappings = member_array (root, "mappings");

  print_agent_link (root, "connect");
  if (member_boolean (share, "online"))
    {
      g_autofree char *name = text (share, "name");
      g_autofree char *key = text (share, "fingerprint");

      g_print ("share agent: “%s” online, key %s\n", name, key);
    }
  else
    g_print ("share agent: offline\n");
  if (member_boolean (tunnel, "open"))
    {
      g_autofree char *rtt = format_round_trip (tunnel, "round_trip_us");

      g_print ("tunnel: open, round trip %s, %" G_GINT64_FORMAT " channels\n", rtt,
               member_int (root, "channels", 0));
    }
  else
    g_print ("tunnel: not open\n");

  g_print ("\nMappings\n  %-22s %-22s %-8s %-12s %-12s %s\n", "LISTEN", "TARGET", "CHANNELS", "IN",
           "OUT", "STATE");
  for (guint i = 0; mappings != NULL && i < json_array_get_length (mappings); i++)
    {
      JsonObject *mapping = element_object (mappings, i);
      g_autofree char *listen = text (mapping, "listen");
      g_autofree char *target = text (mapping, "target");
      g_autofree char *in = format_bytes (member_int (mapping, "bytes_in", -1));
      g_autofree char *out = format_bytes (member_int (mapping, "bytes_out", -1));
      g_autofree char *error = text (mapping, "error");
      g_autofree char *state = NULL;

      if (member_boolean (mapping, "listening"))
        state = g_strdup_printf ("listening on port %" G_GINT64_FORMAT,
                                 member_int (mapping, "bound_port", 0));
      else
        state = g_strdup_printf ("not listening: %s", error);
      g_print ("  %-22s %-22s %-8" G_GINT64_FORMAT " %-12s %-12s %s\n", listen, target,
               member_int (mapping, "channels", 0), in, out, state);
    }
}

/* ---- the command --------------------------------------------------------------- */

static void
print_document (JsonObject *root)
{
  const char *role = member_string (root, "role");

  if (g_strcmp0 (role, "gateway") == 0)
    print_gateway (root);
  else if (g_strcmp0 (role, "share") == 0)
    print_share (root);
  else if (g_strcmp0 (role, "connect") == 0)
    print_connect (root);
  else
    g_print ("(a status document of an unknown role; see --json)\n");
}

/* One socket: 0 after printing, else 1 after saying why. */
static int
show (const char *path, const char *role, const char *state_dir, gboolean as_json, gboolean first)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) document = read_socket (path, &error);
  g_autoptr (JsonParser) parser = json_parser_new ();
  gsize len = 0;
  const char *data;

  if (document == NULL)
    {
      gboolean absent = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
      gboolean refused = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);

      if ((absent || refused) && state_dir != NULL)
        g_printerr ("culvert-cli status: no %s is running with state dir %s (%s at %s)\n",
                    role != NULL ? role : "gateway or agent", state_dir,
                    absent ? "no socket" : "nothing answers on the socket", path);
      else if (absent || refused)
        g_printerr ("culvert-cli status: nothing is running at %s (%s)\n", path,
                    absent ? "no such socket" : "nothing answers on it");
      else
        g_printerr ("culvert-cli status: %s: %s\n", path, error->message);
      return 1;
    }
  data = g_bytes_get_data (document, &len);
  if (as_json)
    {
      fwrite (data, 1, len, stdout);
      return 0;
    }
  if (!json_parser_load_from_data (parser, data, len, &error)
      || !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_printerr ("culvert-cli status: %s did not send a status document%s%s\n", path,
                  error != NULL ? ": " : "", error != NULL ? error->message : "");
      return 1;
    }
  if (!first)
    g_print ("\n");
  print_document (json_node_get_object (json_parser_get_root (parser)));
  return 0;
}

/* The socket a config file names, and the role it is for; FALSE after saying why not. */
static gboolean
socket_of_config (const char *file,
                  char **path,
                  char **role,
                  char **state_dir,
                  gboolean *status_off)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) root = cv_config_load_file (file, &error);
  CvConfigKind kind = root != NULL ? cv_config_guess_kind (root) : CV_CONFIG_KIND_UNKNOWN;

  if (root != NULL && kind == CV_CONFIG_KIND_UNKNOWN)
    {
      g_printerr ("culvert-cli status: %s: cannot tell whether this is a gateway's, a share "
                  "agent's or a connect agent's config; use --socket PATH\n",
                  file);
      return FALSE;
    }
  *role = g_strdup (cv_config_kind_to_string (kind));
  if (kind == CV_CONFIG_KIND_GATEWAY)
    {
      g_autoptr (CvGatewayConfig) config = cv_gateway_config_new_from_json (root, file, &error);

      if (config != NULL)
        {
          *state_dir = g_strdup (config->state_dir);
          *path = cv_cli_admin_socket_path (config->state_dir, config->admin_socket,
                                            config->admin_socket_off, *role);
        }
    }
  else if (root != NULL)
    {
      g_autoptr (CvShareConfig) share = NULL;
      g_autoptr (CvConnectConfig) connect = NULL;
      CvAgentConfig *agent = NULL;

      if (kind == CV_CONFIG_KIND_SHARE)
        share = cv_share_config_new_from_json (root, file, &error);
      else
        connect = cv_connect_config_new_from_json (root, file, &error);
      agent = share != NULL ? &share->agent : connect != NULL ? &connect->agent : NULL;
      if (agent != NULL)
        {
          *state_dir = g_strdup (agent->state_dir);
          *path = cv_cli_admin_socket_path (agent->state_dir, agent->admin_socket,
                                            agent->admin_socket_off, *role);
        }
    }
  if (error != NULL)
    {
      g_printerr ("culvert-cli status: %s\n", error->message);
      return FALSE;
    }
  if (*path == NULL)
    {
      /* A valid config: nothing runs there to ask, which is 1, not a bad config's 2. */
      g_printerr ("culvert-cli status: %s turns status off (\"admin_socket\": false)\n", file);
      *status_off = TRUE;
      return FALSE;
    }
  return TRUE;
}

/* How many roles have a socket in @state_dir. */
static guint
count_sockets (const char *state_dir)
{
  guint n = 0;

  for (guint i = 0; all_roles[i] != NULL; i++)
    {
      g_autofree char *path = cv_cli_admin_socket_path (state_dir, NULL, FALSE, all_roles[i]);

      n += g_file_test (path, G_FILE_TEST_EXISTS);
    }
  return n;
}

static gboolean
known_role (const char *role)
{
  return role != NULL && g_strv_contains (all_roles, role);
}

int
cv_cli_status (int argc, char **argv)
{
  g_autofree char *config_file = NULL;
  g_autofree char *socket_path = NULL;
  g_autofree char *state_dir = NULL;
  g_autofree char *role = NULL;
  gboolean as_json = FALSE;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_file,
      "The running role's config: its state_dir or admin_socket says where to ask", "FILE" },
    { "socket", 's', 0, G_OPTION_ARG_FILENAME, &socket_path, "Ask the admin socket at PATH",
      "PATH" },
    { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
      "Ask the roles running with state dir DIR (default: the default state dir)", "DIR" },
    { "role", 'r', 0, G_OPTION_ARG_STRING, &role,
      "With --state-dir: only this role (gateway, share or connect)", "ROLE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &as_json, "Print the status document, JSON, as it came",
      NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("— show what a running gateway or "
                                                             "agent is doing");
  g_autoptr (GError) error = NULL;
  int status = 0;
  guint asked = 0;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (
    context, "Without --config or --socket, every role running with the state dir (--state-dir, "
             "or the default one)\nis shown: STATE_DIR/gateway.sock, share.sock and connect.sock.  "
             "Exits 0, or 1 when nothing\nanswers.  The JSON's members are in culvert-cli(1), "
             "STATUS JSON.");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("culvert-cli status: %s\n", error->message);
      return 2;
    }
  if (argc > 1 || (config_file != NULL) + (socket_path != NULL) + (state_dir != NULL) > 1)
    {
      g_printerr ("culvert-cli status: give one of --config FILE, --socket PATH or --state-dir "
                  "DIR [--role ROLE]\n");
      return 2;
    }
  if (role != NULL && !known_role (role))
    {
      g_printerr ("culvert-cli status: unknown role “%s”; expected gateway, share or connect\n",
                  role);
      return 2;
    }

  if (role != NULL && state_dir == NULL && (socket_path != NULL || config_file != NULL))
    {
      g_printerr ("culvert-cli status: --role goes with --state-dir (a socket or a config names "
                  "its role already)\n");
      return 2;
    }
  if (socket_path != NULL)
    return show (socket_path, role, NULL, as_json, TRUE);
  if (config_file != NULL)
    {
      g_autofree char *path = NULL;
      g_autofree char *config_role = NULL;
      g_autofree char *config_state_dir = NULL;
      gboolean status_off = FALSE;

      if (!socket_of_config (config_file, &path, &config_role, &config_state_dir, &status_off))
        return status_off ? 1 : 2;
      return show (path, config_role, config_state_dir, as_json, TRUE);
    }

  if (state_dir == NULL)
    state_dir = cv_config_default_state_dir ();
  if (as_json && role == NULL && count_sockets (state_dir) > 1)
    {
      /* One document is what --json promises: two in a row would be no JSON at all. */
      g_printerr ("culvert-cli status: several roles run with state dir %s; give --role with "
                  "--json\n",
                  state_dir);
      return 2;
    }
  for (guint i = 0; all_roles[i] != NULL; i++)
    {
      g_autofree char *path = NULL;
      int shown;

      if (role != NULL ? !g_str_equal (role, all_roles[i]) : FALSE)
        continue;
      path = cv_cli_admin_socket_path (state_dir, NULL, FALSE, all_roles[i]);
      /* Asking for every role: those with no socket are simply not running. */
      if (role == NULL && !g_file_test (path, G_FILE_TEST_EXISTS))
        continue;
      /* Not inside MAX (): it would ask (and print) twice. */
      shown = show (path, all_roles[i], state_dir, as_json, asked == 0);
      status = MAX (status, shown);
      asked++;
    }
  if (asked == 0)
    {
      g_printerr ("culvert-cli status: no gateway or agent is running with state dir %s (no "
                  "gateway.sock, share.sock or connect.sock in it)\n",
                  state_dir);
      return 1;
    }
  return status;
}
