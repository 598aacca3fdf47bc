/* test-config.c: the gateway, share and connect configs — the examples load, every bad
 * file is refused with the right code and a message naming the file and the key, the
 * password sources work, and `culvert-cli check-config` says the same. */
#include "auth/cv-password.h"
#include "config/cv-agent-config.h"
#include "config/cv-gateway-config.h"
#include "wire/cv-web-url.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  const char *file; /* in tests/files/config */
  CvConfigKind kind;
  CvConfigError code;
  const char *where; /* what follows the file name: ": KEY: " or ":LINE:COLUMN: " */
  const char *also;  /* another part of the message, or NULL */
  const char *never; /* what the message must not repeat (a password), or NULL */
} BadCase;

static const BadCase bad_cases[] = {
  /* Not one JSON object */
  { "gateway-invalid-json.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_PARSE,
    ":2:30: ", "Parse error" },
  { "gateway-duplicate-key.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_PARSE,
    ":4:28: ", "the key \"listen\" is given twice" },
  { "gateway-two-documents.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_PARSE,
    ":2:1: ", "a second JSON value" },
  { "empty.json", CV_CONFIG_KIND_SHARE, CV_CONFIG_ERROR_PARSE, ": ", "the file is empty" },
  { "gateway-not-object.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_WRONG_TYPE,
    ": top level: ", "expected an object, got an array" },
  { "no-such-file.json", CV_CONFIG_KIND_CONNECT, CV_CONFIG_ERROR_READ, ": ",
    "No such file or directory" },

  /* Gateway */
  { "gateway-missing-hash.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_MISSING_KEY,
    ": sessions[2].connect_password_hash: ", "required key missing, expected a string" },
  { "gateway-limit-wrong-type.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_WRONG_TYPE,
    ": limits.max_sessions: ", "expected an integer from 1 to 1000000, got \"1000\"" },
  { "gateway-limit-float.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_WRONG_TYPE,
    ": limits.ticket_timeout_ms: ", "got 1.5" },
  { "gateway-limit-zero.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": limits.max_tunnels: ", "expected an integer from 1 to 1000000, got 0" },
  { "gateway-tunnel-buffer-small.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": limits.tunnel_buffer_bytes: ", "expected an integer from 4096 to 1048576, got 1000" },
  { "gateway-tunnel-idle-short.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": limits.tunnel_idle_timeout_ms: ", "expected an integer from 30000 to 86400000, got 15000" },
  { "gateway-junk-interval-short.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": limits.junk_log_interval_ms: ", "expected an integer from 1000 to 86400000, got 500" },
  { "gateway-password-workers-many.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": limits.password_check_workers: ", "expected an integer from 1 to 64, got 65" },
  { "gateway-dead-peer.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": limits.dead_peer_timeout_ms: ", "expected more than keepalive_interval_ms (30000)" },
  { "gateway-unknown-key.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_UNKNOWN_KEY,
    ": listne: ", "unknown key, did you mean listen?" },
  { "gateway-unknown-nested.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_UNKNOWN_KEY,
    ": limits.max_sesions: ", "did you mean max_sessions?" },
  { "gateway-unknown-in-session.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_UNKNOWN_KEY,
    ": sessions[1].share_password: ", "expected one of id, name, share_password_hash" },
  { "gateway-port-zero.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": listen[1]: ", "expected host:port, got \"0.0.0.0:0\" (port 0 is outside 1–65535)" },
  { "gateway-port-too-big.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": listen[0]: ", "port 65536 is outside 1–65535" },
  { "gateway-port-not-number.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": listen[0]: ", "“abc” is not a port number" },
  { "gateway-listen-hostname.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": listen[0]: ", "expected an IP address and a port" },
  { "gateway-listen-twice.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": listen[1]: ", "as listen[0] already" },
  { "gateway-listen-empty.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": listen: ", "expected at least one address" },
  { "gateway-too-many-sessions.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": limits.max_sessions: ", "expected at least the 2 sessions configured, got 1" },
  { "gateway-duplicate-session.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": sessions[2].id: ", "expected a unique session id, got \"alpha\", as sessions[0].id" },
  { "gateway-bad-session-id.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": sessions[0].id: ", "got \"acme office\"" },
  { "gateway-cleartext-hash.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": sessions[1].share_password_hash: ", "is it the password itself?", "hunter2" },
  { "gateway-weak-hash.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": sessions[0].connect_password_hash: ", "the password hash is too weak" },
  { "gateway-same-hash.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": sessions[0].connect_password_hash: ", "got the same hash: in session “alpha”, whoever" },
  { "gateway-codes-no-technicians.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_MISSING_KEY,
    ": codes.technicians: ", "when \"claim\" is \"technicians\", got none" },
  { "gateway-codes-weak-technician-hash.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": codes.technicians[0].password_hash: ", "the password hash is too weak" },
  { "gateway-codes-technician-twice.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": codes.technicians[1].name: ", "as codes.technicians[0] already" },
  { "gateway-codes-technicians-unasked.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": codes.technicians: ", "unless \"claim\" is \"technicians\"" },
  { "gateway-codes-bad-allocate.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": codes.allocate: ", NULL },
  { "gateway-hash-dollars-eaten.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": sessions[0].share_password_hash: ",
    "looks like an Argon2id hash whose “$” signs the shell removed; quote it with single "
    "quotes, or paste the output of “culvert-cli hash-password”" },
  { "gateway-lisen-typo.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_UNKNOWN_KEY,
    ": lisen: ", "unknown key, did you mean listen?" },
  { "gateway-websocket-path-relative.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": websocket_path: ", "expected a path that starts with \"/\"" },
  { "gateway-websocket-path-query.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": websocket_path: ", "got \"/culvert?x=1\"" },
  { "gateway-websocket-listen-hostname.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": websocket_listen[0]: ", "expected an IP address and a port" },
  { "gateway-websocket-listen-twice.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": websocket_listen[1]: ", "as websocket_listen[0] already" },
  { "gateway-websocket-proxy-range.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": websocket_trusted_proxies[1]: ", "expected an IP address, as \"127.0.0.1\"" },
  { "gateway-websocket-not-bool.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_WRONG_TYPE,
    ": websocket: ", NULL },
  { "gateway-websocket-ping-slow.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": limits.websocket_ping_interval_ms: ", "nginx's default proxy_read_timeout is 60 s" },
  { "gateway-websocket-message-small.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": limits.max_websocket_message_bytes: ",
    "expected an integer from 262144 to 67108864, got 131072" },
  { "share-as-connect.json", CV_CONFIG_KIND_CONNECT, CV_CONFIG_ERROR_WRONG_KIND, ": ",
    "this is a share agent's config (it has allow), not a connect agent's; use culvert-cli "
    "share" },
  { "connect-as-gateway.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_WRONG_KIND, ": ",
    "this is a connect agent's config (it has mappings), not a gateway's; use culvert-cli "
    "connect" },
  { "gateway-as-share.json", CV_CONFIG_KIND_SHARE, CV_CONFIG_ERROR_WRONG_KIND, ": ",
    "this is a gateway's config (it has listen), not a share agent's; use culvert-cli "
    "gateway" },
  { "gateway-bad-join.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_BAD_VALUE,
    ": join: ", "expected one of \"splice\", \"copy\", got \"zerocopy\"" },
  { "gateway-certificate-incomplete.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_MISSING_KEY,
    ": certificate.key_file: " },
  { "gateway-sessions-not-array.json", CV_CONFIG_KIND_GATEWAY, CV_CONFIG_ERROR_WRONG_TYPE,
    ": sessions: ", "expected an array, got an object" },

  /* Share agent */
  { "share-bad-range.json", CV_CONFIG_KIND_SHARE, CV_CONFIG_ERROR_BAD_VALUE, ": allow[2]: ",
    "expected host:port or host:low-high, got \"192.168.1.10:9000-8000\" (the port range "
    "9000-8000 runs backwards)" },
  { "share-allow-not-array.json", CV_CONFIG_KIND_SHARE, CV_CONFIG_ERROR_WRONG_TYPE,
    ": allow: ", "expected an array, got \"localhost:5900\"" },
  { "share-allow-number.json", CV_CONFIG_KIND_SHARE, CV_CONFIG_ERROR_WRONG_TYPE,
    ": allow[1]: ", "expected a string, got 5901" },
  { "share-bad-fingerprint.json", CV_CONFIG_KIND_SHARE, CV_CONFIG_ERROR_BAD_VALUE,
    ": gateway_fingerprint: ", "expected \"sha256:\" and 64 hex digits" },
  { "share-fingerprint-colons-bad.json", CV_CONFIG_KIND_SHARE, CV_CONFIG_ERROR_BAD_VALUE,
    ": gateway_fingerprint: " },
  { "share-cleartext-password.json", CV_CONFIG_KIND_SHARE, CV_CONFIG_ERROR_BAD_VALUE,
    ": password: ", "use password_file, password_env or password_stdin", "hunter2" },
  { "share-two-sources.json", CV_CONFIG_KIND_SHARE, CV_CONFIG_ERROR_BAD_VALUE,
    ": password_env: ", "got both password_file and password_env" },
  { "share-no-source.json", CV_CONFIG_KIND_SHARE, CV_CONFIG_ERROR_MISSING_KEY,
    ": password_file: ", "expected one of password_file, password_env" },
  { "share-missing-gateway.json", CV_CONFIG_KIND_SHARE, CV_CONFIG_ERROR_MISSING_KEY,
    ": gateway: " },
  { "share-gateway-no-port.json", CV_CONFIG_KIND_SHARE, CV_CONFIG_ERROR_BAD_VALUE,
    ": gateway: ", "a port is missing" },
  { "share-bad-env-name.json", CV_CONFIG_KIND_SHARE, CV_CONFIG_ERROR_BAD_VALUE,
    ": password_env: ", "expected an environment variable name" },
  { "share-unknown-key.json", CV_CONFIG_KIND_SHARE, CV_CONFIG_ERROR_UNKNOWN_KEY,
    ": alow: ", "did you mean allow?" },
  { "share-alow-typo.json", CV_CONFIG_KIND_SHARE, CV_CONFIG_ERROR_UNKNOWN_KEY,
    ": alow: ", "unknown key, did you mean allow?" },

  /* Connect agent */
  { "connect-listen-port-too-big.json", CV_CONFIG_KIND_CONNECT, CV_CONFIG_ERROR_BAD_VALUE,
    ": mappings[1].listen: ", "expected host:port or port, got \"70000\"" },
  { "connect-unknown-mapping-key.json", CV_CONFIG_KIND_CONNECT, CV_CONFIG_ERROR_UNKNOWN_KEY,
    ": mappings[0].taget: ", "did you mean target?" },
  { "connect-mapping-missing-target.json", CV_CONFIG_KIND_CONNECT, CV_CONFIG_ERROR_MISSING_KEY,
    ": mappings[1].target: " },
  { "connect-target-range.json", CV_CONFIG_KIND_CONNECT, CV_CONFIG_ERROR_BAD_VALUE,
    ": mappings[0].target: ", "a single port is expected here" },
  { "connect-target-no-host.json", CV_CONFIG_KIND_CONNECT, CV_CONFIG_ERROR_BAD_VALUE,
    ": mappings[1].target: ", "a host is missing" },
  { "connect-ipv6-no-brackets.json", CV_CONFIG_KIND_CONNECT, CV_CONFIG_ERROR_BAD_VALUE,
    ": mappings[0].target: ", "needs brackets" },
  { "connect-duplicate-listen.json", CV_CONFIG_KIND_CONNECT, CV_CONFIG_ERROR_BAD_VALUE,
    ": mappings[1].listen: ", "the one of mappings[0]" },
  { "connect-stdin-and-env.json", CV_CONFIG_KIND_CONNECT, CV_CONFIG_ERROR_BAD_VALUE,
    ": password_stdin: ", "got both password_env and password_stdin" },
  { "connect-mappings-empty.json", CV_CONFIG_KIND_CONNECT, CV_CONFIG_ERROR_BAD_VALUE,
    ": mappings: ", "expected at least one entry" },
  { "connect-mapings-typo.json", CV_CONFIG_KIND_CONNECT, CV_CONFIG_ERROR_UNKNOWN_KEY,
    ": mapings: ", "unknown key, did you mean mappings?" },
};

static char *
config_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "files", "config", name, NULL);
}

static char *
example_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "..", "data", "examples", name, NULL);
}

/* Loads @path as @kind and throws the config away: TRUE if it was valid. */
static gboolean
load_as (CvConfigKind kind, const char *path, GError **error)
{
  switch (kind)
    {
    case CV_CONFIG_KIND_GATEWAY:
      {
        g_autoptr (CvGatewayConfig) config = cv_gateway_config_load (path, error);
        return config != NULL;
      }
    case CV_CONFIG_KIND_SHARE:
      {
        g_autoptr (CvShareConfig) config = cv_share_config_load (path, error);
        return config != NULL;
      }
    case CV_CONFIG_KIND_CONNECT:
      {
        g_autoptr (CvConnectConfig) config = cv_connect_config_load (path, error);
        return config != NULL;
      }
    case CV_CONFIG_KIND_UNKNOWN:
    default:
      g_assert_not_reached ();
    }
}

static void
assert_names_file_and_key (const char *message, const char *path, const BadCase *c)
{
  g_autofree char *start = g_strconcat (path, c->where, NULL);

  if (!g_str_has_prefix (message, start))
    g_error ("“%s” does not start with “%s”", message, start);
  if (c->also != NULL && strstr (message, c->also) == NULL)
    g_error ("“%s” does not say “%s”", message, c->also);
  if (c->never != NULL && strstr (message, c->never) != NULL)
    g_error ("“%s” repeats “%s”", message, c->never);
}

/* Examples */

static void
test_example_gateway (void)
{
  g_autofree char *path = example_path ("production/gateway.json");
  g_autoptr (GError) error = NULL;
  g_autoptr (CvGatewayConfig) config = cv_gateway_config_load (path, &error);
  const CvGatewayListener *listener;
  const CvGatewaySession *session;
  CvGatewayLimits defaults;

  g_assert_no_error (error);
  g_assert_cmpuint (config->listeners->len, ==, 2);
  listener = g_ptr_array_index (config->listeners, 0);
  g_assert_cmpstr (listener->host, ==, "0.0.0.0");
  g_assert_cmpuint (listener->port, ==, 8443);
  listener = g_ptr_array_index (config->listeners, 1);
  g_assert_cmpstr (listener->host, ==, "::");
  g_assert_cmpuint (listener->port, ==, 8443);
  g_assert_cmpstr (config->cert_file, ==, "/etc/letsencrypt/live/relay.example.com/fullchain.pem");
  g_assert_cmpstr (config->key_file, ==, "/etc/letsencrypt/live/relay.example.com/privkey.pem");
  g_assert_cmpstr (config->state_dir, ==, "/var/lib/culvert");

  g_assert_cmpuint (config->sessions->len, ==, 2);
  session = g_ptr_array_index (config->sessions, 0);
  g_assert_cmpstr (session->id, ==, "acme-office");
  g_assert_cmpstr (session->name, ==, "ACME front desk");
  g_assert_true (g_str_has_prefix (session->share_password_hash, "$argon2id$v=19$"));
  g_assert_true (g_str_has_prefix (session->connect_password_hash, "$argon2id$v=19$"));
  session = g_ptr_array_index (config->sessions, 1);
  g_assert_cmpstr (session->id, ==, "globex-lab.build-01");

  /* The example spells out every default. */
  cv_gateway_limits_init_defaults (&defaults);
  g_assert_cmpmem (&config->limits, sizeof config->limits, &defaults, sizeof defaults);
  g_assert_cmpint (config->join, ==, CV_GATEWAY_JOIN_SPLICE);
  g_assert_cmpint (config->log_level, ==, CV_LOG_LEVEL_INFO);
}

static void
test_example_share (void)
{
  g_autofree char *path = example_path ("production/share.json");
  g_autoptr (GError) error = NULL;
  g_autoptr (CvShareConfig) config = cv_share_config_load (path, &error);
  const CvAllowedTarget *target;

  g_assert_no_error (error);
  g_assert_cmpstr (config->agent.gateway_host, ==, "relay.example.com");
  g_assert_cmpuint (config->agent.gateway_port, ==, 8443);
  g_assert_cmpstr (config->agent.gateway_fingerprint, ==,
                   "sha256:3f9a1c7e5b2d8046e1a9c3b7d5f20864ac1e9b3d7f5a2c8e0b4d6f1a3c5e7b90");
  g_assert_cmpstr (config->agent.session, ==, "acme-office");
  g_assert_cmpint (config->agent.password_source, ==, CV_PASSWORD_SOURCE_FILE);
  g_assert_cmpstr (config->agent.password_file, ==, "/etc/culvert/share.password");
  g_assert_null (config->agent.password_env);
  g_assert_cmpstr (config->agent.name, ==, "Front desk PC");
  g_assert_cmpstr (config->agent.state_dir, ==, "/var/lib/culvert-share");

  g_assert_cmpuint (config->allow->len, ==, 4);
  target = g_ptr_array_index (config->allow, 0);
  g_assert_cmpstr (target->host, ==, "localhost");
  g_assert_cmpuint (target->port_lo, ==, 5900);
  g_assert_cmpuint (target->port_hi, ==, 5900);
  target = g_ptr_array_index (config->allow, 2);
  g_assert_cmpstr (target->host, ==, "192.168.1.10");
  g_assert_cmpuint (target->port_lo, ==, 8000);
  g_assert_cmpuint (target->port_hi, ==, 8010);
  target = g_ptr_array_index (config->allow, 3);
  g_assert_cmpstr (target->host, ==, "::1");
  g_assert_cmpuint (target->port_lo, ==, 22);
}

static void
test_example_connect (void)
{
  g_autofree char *path = example_path ("production/connect.json");
  g_autoptr (GError) error = NULL;
  g_autoptr (CvConnectConfig) config = cv_connect_config_load (path, &error);
  const CvMappingConfig *mapping;

  g_assert_no_error (error);
  /* Written in colon-separated upper-case pairs; stored as the share example has it. */
  g_assert_cmpstr (config->agent.gateway_fingerprint, ==,
                   "sha256:3f9a1c7e5b2d8046e1a9c3b7d5f20864ac1e9b3d7f5a2c8e0b4d6f1a3c5e7b90");
  g_assert_cmpint (config->agent.password_source, ==, CV_PASSWORD_SOURCE_ENV);
  g_assert_cmpstr (config->agent.password_env, ==, "CULVERT_PASSWORD");
  g_assert_null (config->agent.password_file);

  g_assert_cmpuint (config->mappings->len, ==, 3);
  mapping = g_ptr_array_index (config->mappings, 0);
  g_assert_cmpstr (mapping->listen_host, ==, "127.0.0.1");
  g_assert_cmpuint (mapping->listen_port, ==, 5920);
  g_assert_cmpstr (mapping->target_host, ==, "localhost");
  g_assert_cmpuint (mapping->target_port, ==, 5900);
  /* A bare port listens on loopback. */
  mapping = g_ptr_array_index (config->mappings, 1);
  g_assert_cmpstr (mapping->listen_host, ==, "127.0.0.1");
  g_assert_cmpuint (mapping->listen_port, ==, 5922);
  g_assert_cmpstr (mapping->target_host, ==, "::1");
  g_assert_cmpuint (mapping->target_port, ==, 22);
  mapping = g_ptr_array_index (config->mappings, 2);
  g_assert_cmpstr (mapping->listen_host, ==, "::1");
  g_assert_cmpuint (mapping->listen_port, ==, 3390);
}

/* The loopback templates run as they are: the gateway's hashes are of the passwords their
 * comments name, and the connect agent's mapping is one the share agent allows. */
static void
test_example_loopback (void)
{
  g_autofree char *gateway_path = example_path ("gateway.json");
  g_autofree char *share_path = example_path ("share.json");
  g_autofree char *connect_path = example_path ("connect.json");
  g_autofree char *examples = g_path_get_dirname (gateway_path);
  g_autofree char *dir = g_canonicalize_filename (examples, NULL);
  g_autofree char *gateway_state = g_build_filename (dir, "gateway-state", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvGatewayConfig) gateway = cv_gateway_config_load (gateway_path, &error);
  g_autoptr (CvShareConfig) share = cv_share_config_load (share_path, &error);
  g_autoptr (CvConnectConfig) connect = cv_connect_config_load (connect_path, &error);
  const CvGatewayListener *listener;
  const CvGatewaySession *session;
  const CvAllowedTarget *allowed;
  const CvMappingConfig *mapping;

  g_assert_no_error (error);
  g_assert_cmpuint (gateway->listeners->len, ==, 1);
  listener = g_ptr_array_index (gateway->listeners, 0);
  g_assert_cmpstr (listener->host, ==, "127.0.0.1");
  g_assert_null (gateway->cert_file);
  g_assert_cmpstr (gateway->state_dir, ==, gateway_state);
  g_assert_cmpuint (gateway->sessions->len, ==, 1);
  session = g_ptr_array_index (gateway->sessions, 0);
  g_assert_cmpstr (session->id, ==, "demo");
  g_assert_true (cv_password_verify (session->share_password_hash, "demo-share-password"));
  g_assert_true (cv_password_verify (session->connect_password_hash, "demo-connect-password"));
  g_assert_false (cv_password_verify (session->share_password_hash, "demo-connect-password"));

  for (guint i = 0; i < 2; i++)
    {
      const CvAgentConfig *agent = i == 0 ? &share->agent : &connect->agent;

      g_assert_cmpstr (agent->gateway_host, ==, listener->host);
      g_assert_cmpuint (agent->gateway_port, ==, listener->port);
      g_assert_cmpstr (agent->session, ==, session->id);
      g_assert_cmpint (agent->password_source, ==, CV_PASSWORD_SOURCE_ENV);
      g_assert_true (g_str_has_prefix (agent->state_dir, dir));
    }
  g_assert_cmpstr (share->agent.state_dir, !=, connect->agent.state_dir);
  g_assert_cmpuint (share->allow->len, ==, 1);
  g_assert_cmpuint (connect->mappings->len, ==, 1);
  allowed = g_ptr_array_index (share->allow, 0);
  mapping = g_ptr_array_index (connect->mappings, 0);
  g_assert_cmpstr (mapping->listen_host, ==, "127.0.0.1");
  g_assert_cmpstr (mapping->target_host, ==, allowed->host);
  g_assert_cmpuint (mapping->target_port, >=, allowed->port_lo);
  g_assert_cmpuint (mapping->target_port, <=, allowed->port_hi);
}

static void
test_guess_kind (void)
{
  static const struct {
    const char *file;
    gboolean example;
    CvConfigKind kind;
  } cases[] = {
    { "gateway.json", TRUE, CV_CONFIG_KIND_GATEWAY },
    { "share.json", TRUE, CV_CONFIG_KIND_SHARE },
    { "connect.json", TRUE, CV_CONFIG_KIND_CONNECT },
    { "gateway-minimal.json", FALSE, CV_CONFIG_KIND_GATEWAY },
    { "ambiguous.json", FALSE, CV_CONFIG_KIND_UNKNOWN },
    /* A typo in the key that decides the kind still decides it, so that the loader
     * names the typo; a key of another table ("session") is no typo of "sessions". */
    { "share-alow-typo.json", FALSE, CV_CONFIG_KIND_SHARE },
    { "connect-mapings-typo.json", FALSE, CV_CONFIG_KIND_CONNECT },
    { "gateway-lisen-typo.json", FALSE, CV_CONFIG_KIND_GATEWAY },
    { "share-as-connect.json", FALSE, CV_CONFIG_KIND_SHARE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = cases[i].example ? example_path (cases[i].file)
                                               : config_path (cases[i].file);
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonObject) root = cv_config_load_file (path, &error);

      g_assert_no_error (error);
      g_assert_cmpint (cv_config_guess_kind (root), ==, cases[i].kind);
    }
  g_assert_cmpint (cv_config_kind_from_string ("share"), ==, CV_CONFIG_KIND_SHARE);
  g_assert_cmpint (cv_config_kind_from_string ("unknown"), ==, CV_CONFIG_KIND_UNKNOWN);
  g_assert_cmpint (cv_config_kind_from_string ("Gateway"), ==, CV_CONFIG_KIND_UNKNOWN);
  g_assert_cmpstr (cv_config_kind_to_string (CV_CONFIG_KIND_CONNECT), ==, "connect");
}

/* Defaults */

static void
test_gateway_defaults (void)
{
  g_autofree char *path = config_path ("gateway-minimal.json");
  g_autofree char *xdg_state_dir = g_build_filename (g_get_user_state_dir (), "culvert", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvGatewayConfig) config = NULL;
  g_autoptr (CvGatewayConfig) under_systemd = NULL;
  const CvGatewayListener *listener;
  CvGatewayLimits defaults;

  g_unsetenv ("STATE_DIRECTORY");
  config = cv_gateway_config_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (config->listeners->len, ==, 1);
  listener = g_ptr_array_index (config->listeners, 0);
  g_assert_cmpstr (listener->host, ==, "0.0.0.0");
  g_assert_cmpuint (listener->port, ==, 8443);
  g_assert_null (config->cert_file);
  g_assert_null (config->key_file);
  g_assert_cmpstr (config->state_dir, ==, xdg_state_dir);
  g_assert_cmpuint (config->sessions->len, ==, 0);
  cv_gateway_limits_init_defaults (&defaults);
  g_assert_cmpmem (&config->limits, sizeof config->limits, &defaults, sizeof defaults);
  g_assert_cmpuint (config->limits.max_sessions, ==, 1000);
  g_assert_cmpuint (config->limits.auth_backoff_max_ms, ==, 300000);
  g_assert_cmpuint (config->limits.tunnel_buffer_bytes, ==, 256 * 1024);
  g_assert_cmpuint (config->limits.password_check_workers, ==, 2);
  g_assert_cmpuint (config->limits.max_queued_password_checks, ==, 32);
  g_assert_cmpuint (config->limits.max_password_checks_per_address, ==, 2);
  g_assert_cmpuint (config->limits.junk_log_interval_ms, ==, 60000);
  g_assert_cmpint (config->log_level, ==, CV_LOG_LEVEL_INFO);
  /* WebSocket upgrades on the TLS port, no plain listener, a proxy on this host trusted. */
  g_assert_true (config->websocket);
  g_assert_cmpstr (config->websocket_path, ==, "/culvert");
  g_assert_cmpuint (config->websocket_listeners->len, ==, 0);
  g_assert_cmpuint (config->websocket_trusted_proxies->len, ==, 2);
  g_assert_cmpstr (config->websocket_trusted_proxies->pdata[0], ==, "127.0.0.1");
  g_assert_cmpstr (config->websocket_trusted_proxies->pdata[1], ==, "::1");
  g_assert_cmpuint (config->limits.max_websocket_message_bytes, ==, 1024 * 1024);
  g_assert_cmpuint (config->limits.websocket_ping_interval_ms, ==, 20000);
  g_assert_cmpuint (config->limits.websocket_pong_timeout_ms, ==, 15000);

  /* systemd's StateDirectory= may name several directories; the first is ours. */
  g_setenv ("STATE_DIRECTORY", "/var/lib/culvert:/var/lib/other", TRUE);
  under_systemd = cv_gateway_config_load (path, &error);
  g_unsetenv ("STATE_DIRECTORY");
  g_assert_no_error (error);
  g_assert_cmpstr (under_systemd->state_dir, ==, "/var/lib/culvert");
}

/* Relative paths are relative to the config file, wherever the process started. */
/* Every WebSocket key given: read as written, the addresses as GIO prints them. */
static void
test_gateway_websocket (void)
{
  g_autofree char *path = config_path ("gateway-websocket.json");
  g_autoptr (GError) error = NULL;
  g_autoptr (CvGatewayConfig) config = cv_gateway_config_load (path, &error);
  const CvGatewayListener *listener;

  g_assert_no_error (error);
  g_assert_false (config->websocket);
  g_assert_cmpstr (config->websocket_path, ==, "/tunnel/ws");
  g_assert_cmpuint (config->websocket_listeners->len, ==, 2);
  listener = config->websocket_listeners->pdata[0];
  g_assert_cmpstr (listener->host, ==, "127.0.0.1");
  g_assert_cmpuint (listener->port, ==, 8080);
  listener = config->websocket_listeners->pdata[1];
  g_assert_cmpstr (listener->host, ==, "::1");
  g_assert_cmpuint (listener->port, ==, 8080);
  g_assert_cmpuint (config->websocket_trusted_proxies->len, ==, 2);
  g_assert_cmpstr (config->websocket_trusted_proxies->pdata[0], ==, "10.1.2.3");
  g_assert_cmpstr (config->websocket_trusted_proxies->pdata[1], ==, "::1");
  g_assert_cmpuint (config->limits.max_websocket_message_bytes, ==, 524288);
  g_assert_cmpuint (config->limits.websocket_ping_interval_ms, ==, 30000);
  g_assert_cmpuint (config->limits.websocket_pong_timeout_ms, ==, 5000);
}

static void
test_relative_paths (void)
{
  g_autofree char *path = config_path ("share-relative.json");
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *expected = g_build_filename (dir, "share.password", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvShareConfig) config = cv_share_config_load (path, &error);

  g_assert_no_error (error);
  g_assert_true (g_path_is_absolute (config->agent.password_file));
  g_assert_cmpstr (config->agent.password_file, ==, expected);
  /* No name given: the machine's. */
  g_assert_cmpstr (config->agent.name, ==, g_get_host_name ());
  g_assert_nonnull (config->agent.state_dir);
}

static void
test_connect_stdin (void)
{
  g_autofree char *path = config_path ("connect-stdin.json");
  g_autoptr (GError) error = NULL;
  g_autoptr (CvConnectConfig) config = cv_connect_config_load (path, &error);

  g_assert_no_error (error);
  g_assert_cmpint (config->agent.password_source, ==, CV_PASSWORD_SOURCE_STDIN);
  g_assert_cmpstr (config->agent.gateway_host, ==, "2001:db8::7");
  g_assert_cmpuint (config->agent.gateway_port, ==, 443);
  /* "SHA256:" in capitals and colons, as some tools print it. */
  g_assert_cmpstr (config->agent.gateway_fingerprint, ==,
                   "sha256:3f9a1c7e5b2d8046e1a9c3b7d5f20864ac1e9b3d7f5a2c8e0b4d6f1a3c5e7b90");
}

/* Offered services: kinds given or guessed from the name, targets parsed, names unique,
 * and never beside allow (the services' targets are the allow list). */
static void
test_share_services (void)
{
  const char *base = "{\"gateway\": \"gw.example:8443\", \"session\": \"s1\", "
                     "\"password_env\": \"PW\", ";
  const struct {
    const char *rest;
    const char *error; /* NULL: accepted */
  } cases[] = {
    { "\"services\": [{\"name\": \"vnc\", \"target\": \"localhost:5900\"}, "
      "{\"name\": \"files\", \"kind\": \"http\", \"target\": \"[::1]:8080\"}], "
      "\"consent_timeout_ms\": 30000}",
      NULL },
    { "\"services\": [{\"name\": \"vnc\", \"target\": \"localhost:5900\"}], "
      "\"allow\": [\"localhost:22\"]}",
      "share.json: services: expected either allow or services, got both" },
    { "\"services\": [{\"name\": \"vnc\", \"kind\": \"telnet\", \"target\": \"h:1\"}]}",
      "share.json: services[0].kind: expected rdp, vnc, ssh, http or custom, got \"telnet\"" },
    { "\"services\": [{\"name\": \"a\", \"target\": \"h:1\"}, "
      "{\"name\": \"a\", \"target\": \"h:2\"}]}",
      "share.json: services[1]: expected a name no other service has, got “a” twice" },
    { "\"services\": [{\"name\": \"Big Name\", \"target\": \"h:1\"}]}",
      "share.json: services[0]: expected a service name of 1 to 32" },
    { "\"services\": [{\"name\": \"a\", \"target\": \"h:1-9\"}]}", "share.json: services[0]: " },
    { "\"services\": [{\"name\": \"a\", \"target\": \"h:1\", \"port\": 2}]}",
      "share.json: services[0].port: " },
    { "\"services\": []}", "share.json: services: expected at least one entry" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = g_strconcat (base, cases[i].rest, NULL);
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonObject) root = cv_config_load_data (text, strlen (text), "share.json", &error);
      g_autoptr (CvShareConfig) config = NULL;

      g_test_message ("%s", text);
      g_assert_no_error (error);
      config = cv_share_config_new_from_json (root, "share.json", &error);
      if (cases[i].error != NULL)
        {
          g_assert_nonnull (error);
          if (!g_str_has_prefix (error->message, cases[i].error))
            g_error ("“%s” does not start with “%s”", error->message, cases[i].error);
          g_assert_null (config);
          continue;
        }
      g_assert_no_error (error);
      g_assert_cmpuint (config->allow->len, ==, 0);
      g_assert_cmpuint (config->services->len, ==, 2);
      g_assert_cmpuint (config->consent_timeout_ms, ==, 30000);
      {
        const CvServiceInfo *vnc = config->services->pdata[0];
        const CvServiceInfo *files = config->services->pdata[1];

        g_assert_cmpstr (vnc->name, ==, "vnc");
        g_assert_cmpint (vnc->kind, ==, CV_SERVICE_KIND_VNC);
        g_assert_cmpstr (vnc->host, ==, "localhost");
        g_assert_cmpuint (vnc->port, ==, 5900);
        g_assert_cmpint (files->kind, ==, CV_SERVICE_KIND_HTTP);
        g_assert_cmpstr (files->host, ==, "::1");
      }
    }
}

/* A small share config in "share.json": @base, then @extra, then the closing brace. */
static CvShareConfig *
share_config_from_text (const char *base, const char *extra, GError **error)
{
  g_autofree char *text = g_strconcat (base, extra, "}", NULL);
  g_autoptr (JsonObject) root = cv_config_load_data (text, strlen (text), "share.json", error);

  g_assert_no_error (*error);
  return cv_share_config_new_from_json (root, "share.json", error);
}

/* Agents have log_level too, with the gateway's values and default. */
static void
test_agent_log_level (void)
{
  const char *base = "{\"gateway\": \"gw.example:8443\", \"session\": \"s1\", "
                     "\"password_env\": \"PW\", \"allow\": [\"localhost:22\"]";
  const struct {
    const char *extra;
    int level; /* -1: refused */
  } cases[] = {
    { "", CV_LOG_LEVEL_INFO },
    { ", \"log_level\": \"debug\"", CV_LOG_LEVEL_DEBUG },
    { ", \"log_level\": \"warning\"", CV_LOG_LEVEL_WARNING },
    { ", \"log_level\": \"error\"", CV_LOG_LEVEL_ERROR },
    { ", \"log_level\": \"verbose\"", -1 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (CvShareConfig) config = share_config_from_text (base, cases[i].extra, &error);

      if (cases[i].level < 0)
        {
          g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_BAD_VALUE);
          g_assert_true (g_str_has_prefix (error->message, "share.json: log_level: "));
          g_assert_null (config);
        }
      else
        {
          g_assert_no_error (error);
          g_assert_cmpint (config->agent.log_level, ==, cases[i].level);
        }
    }
}

/* authorized_connect_keys: each a fingerprint (stored normalized, as pins are), no key
 * twice in any spelling, at most CV_SHARE_MAX_AUTHORIZED_CONNECT_KEYS; absent or empty:
 * NULL, any announced key. */
static void
test_authorized_connect_keys (void)
{
#define KEY_A "sha256:3f9a1c7e5b2d8046e1a9c3b7d5f20864ac1e9b3d7f5a2c8e0b4d6f1a3c5e7b90"
#define KEY_A_PAIRS                                                                                \
  "SHA256:3F:9A:1C:7E:5B:2D:80:46:E1:A9:C3:B7:D5:F2:08:64:AC:1E:9B:3D:7F:5A:2C:8E:0B:4D:6F:1A:3C:" \
  "5E:7B:90"
#define KEY_B "sha256:0000000000000000000000000000000000000000000000000000000000000001"
  const char *base = "{\"gateway\": \"gw.example:8443\", \"session\": \"s1\", "
                     "\"password_env\": \"PW\", \"allow\": [\"localhost:22\"]";
  const struct {
    const char *extra;
    const char *first; /* the first key stored; NULL: none */
    guint n;
    gboolean refused;
    const char *error; /* the message, when it matters */
  } cases[] = {
    { "", NULL, 0, FALSE, NULL },
    { ", \"authorized_connect_keys\": []", NULL, 0, FALSE, NULL },
    { ", \"authorized_connect_keys\": [\"" KEY_A "\"]", KEY_A, 1, FALSE, NULL },
    { ", \"authorized_connect_keys\": [\"" KEY_A_PAIRS "\", \"" KEY_B "\"]", KEY_A, 2, FALSE,
      NULL },
    { ", \"authorized_connect_keys\": [\"" KEY_B "\", \"sha256:abc\"]", NULL, 0, TRUE,
      "share.json: authorized_connect_keys[1]: expected \"sha256:\" and 64 hex digits (pairs may "
      "be separated by colons), got \"sha256:abc\"" },
    { ", \"authorized_connect_keys\": [\"" KEY_A "\", \"" KEY_B "\", \"" KEY_A_PAIRS "\"]", NULL, 0,
      TRUE,
      "share.json: authorized_connect_keys[2]: expected a key not listed before, got the one of "
      "authorized_connect_keys[0]" },
    { ", \"authorized_connect_keys\": [42]", NULL, 0, TRUE, NULL },
    { ", \"authorized_connect_keys\": \"" KEY_A "\"", NULL, 0, TRUE, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (CvShareConfig) config = share_config_from_text (base, cases[i].extra, &error);

      if (cases[i].refused)
        {
          g_test_message ("%s", error != NULL ? error->message : "(accepted)");
          g_assert_nonnull (error);
          g_assert_true (error->domain == CV_CONFIG_ERROR);
          g_assert_true (g_str_has_prefix (error->message, "share.json: authorized_connect_keys"));
          if (cases[i].error != NULL)
            g_assert_cmpstr (error->message, ==, cases[i].error);
          g_assert_null (config);
          continue;
        }
      g_assert_no_error (error);
      if (cases[i].n == 0)
        g_assert_null (config->authorized_connect_keys);
      else
        {
          g_assert_cmpuint (g_strv_length (config->authorized_connect_keys), ==, cases[i].n);
          g_assert_cmpstr (config->authorized_connect_keys[0], ==, cases[i].first);
        }
    }

  /* One more than the most. */
  {
    g_autoptr (GString) text = g_string_new (", \"authorized_connect_keys\": [");
    g_autoptr (GError) error = NULL;
    g_autoptr (CvShareConfig) config = NULL;

    for (guint i = 0; i <= CV_SHARE_MAX_AUTHORIZED_CONNECT_KEYS; i++)
      g_string_append_printf (text, "%s\"sha256:%064x\"", i > 0 ? ", " : "", i);
    g_string_append (text, "]");
    config = share_config_from_text (base, text->str, &error);
    g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_BAD_VALUE);
    g_assert_cmpstr (error->message, ==,
                     "share.json: authorized_connect_keys: expected at most 1024 keys, got 1025");
    g_assert_null (config);
  }
#undef KEY_A
#undef KEY_A_PAIRS
#undef KEY_B
}

static void
test_gateway_relative_paths (void)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (CvGatewayConfig) config = NULL;

  json_parser_load_from_data (parser,
                              "{\"certificate\": {\"cert_file\": \"certs/../tls/fullchain.pem\","
                              " \"key_file\": \"/srv/key.pem\"}, \"state_dir\": \"state\"}",
                              -1, &error);
  g_assert_no_error (error);
  config = cv_gateway_config_new_from_json (json_node_get_object (json_parser_get_root (parser)),
                                            "/etc/culvert/gateway.json", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (config->cert_file, ==, "/etc/culvert/tls/fullchain.pem");
  g_assert_cmpstr (config->key_file, ==, "/srv/key.pem");
  g_assert_cmpstr (config->state_dir, ==, "/etc/culvert/state");
}

/* Every bad file */

static void
test_bad_configs (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      const BadCase *c = &bad_cases[i];
      g_autofree char *path = config_path (c->file);
      g_autoptr (GError) error = NULL;

      g_test_message ("%s", c->file);
      g_assert_false (load_as (c->kind, path, &error));
      g_assert_error (error, CV_CONFIG_ERROR, (gint) c->code);
      assert_names_file_and_key (error->message, path, c);
    }
}

/* The bytes of a file, loaded from memory, get the answer the file gets. */
static void
test_load_data (void)
{
  static const char *const files[] = { "gateway-invalid-json.json",  "gateway-duplicate-key.json",
                                       "gateway-two-documents.json", "empty.json",
                                       "gateway-not-object.json",    "gateway-minimal.json" };

  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = config_path (files[i]);
      g_autofree char *contents = NULL;
      g_autoptr (GError) file_error = NULL;
      g_autoptr (GError) data_error = NULL;
      g_autoptr (JsonObject) from_file = cv_config_load_file (path, &file_error);
      g_autoptr (JsonObject) from_data = NULL;
      gsize len;

      g_test_message ("%s", files[i]);
      g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
      from_data = cv_config_load_data (contents, len, path, &data_error);
      g_assert_true ((from_file == NULL) == (from_data == NULL));
      if (from_file == NULL)
        {
          g_assert_error (data_error, CV_CONFIG_ERROR, file_error->code);
          g_assert_cmpstr (data_error->message, ==, file_error->message);
        }
    }
}

/* "//" comments, as the examples have them: blanked outside strings, so that a parse
 * error's line and column are still the file's. */
static void
test_load_comments (void)
{
  static const char text[] = "// a gateway\n"
                             "{\n"
                             "  \"listen\": [\"127.0.0.1:1\"], // loopback\n"
                             "  \"state_dir\": \"/x//y\", \"name\": \"a\\\"//b\\\\\" //\n"
                             "} // the end, without a newline";
  static const char missing_comma[] = "// one\n{\n  \"a\": 1 // c \" d\n  \"b\": 2\n}\n";
  static const char blanked[] = "      \n{\n  \"a\": 1         \n  \"b\": 2\n}\n";
  /* json-glib's own block comments; a "//" inside one does not eat its end. */
  static const char block[] = "{ /* \" // */ \"a\": 1 /* */ }";
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) root = cv_config_load_data (text, strlen (text), "/etc/g.json", &error);
  g_autoptr (JsonObject) bad = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (root, "state_dir"), ==, "/x//y");
  g_assert_cmpstr (json_object_get_string_member (root, "name"), ==, "a\"//b\\");
  g_assert_cmpuint (json_object_get_size (root), ==, 3);

  /* The same error, at the same line and column, as with the comments made spaces. */
  bad = cv_config_load_data (missing_comma, strlen (missing_comma), "/etc/g.json", &error);
  g_assert_null (bad);
  g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_PARSE);
  {
    g_autoptr (GError) expected = NULL;
    g_autoptr (JsonObject) also_bad = cv_config_load_data (blanked, strlen (blanked), "/etc/g.json",
                                                           &expected);

    g_assert_null (also_bad);
    g_assert_nonnull (expected);
    g_assert_cmpstr (error->message, ==, expected->message);
  }
  g_clear_error (&error);

  g_clear_pointer (&root, json_object_unref);
  root = cv_config_load_data (block, strlen (block), "/etc/g.json", &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int_member (root, "a"), ==, 1);
}

/* json-glib reads "\374" as the byte 0xfc; a string of it reached g_utf8_strlen(),
 * which runs past a lone 0xfc's NUL. */
static void
test_load_octal_escape (void)
{
  static const char text[] = "{\"listen\": [\"127.0.0.1:1\"], \"state_dir\": \"/x\\374\"}";
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) root = cv_config_load_data (text, strlen (text), "/etc/g.json", &error);

  g_assert_null (root);
  g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_PARSE);
  g_assert_true (g_str_has_prefix (error->message, "/etc/g.json: Parse error: "));
  g_assert_nonnull (strstr (error->message, "not UTF-8"));
}

/* json-glib's parse errors repeat the string they choked on, unescaped: "\033" was an
 * ESC on the operator's terminal. */
static void
test_load_parse_error_is_one_line (void)
{
  static const char text[] = "{\"\\033[2J\\n\\374\" \"listen\"}";
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) root = cv_config_load_data (text, strlen (text), "/etc/g.json", &error);

  g_assert_null (root);
  g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_PARSE);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "/etc/g.json:1:"));
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  for (const char *p = error->message; *p != '\0'; p++)
    g_assert_cmpint ((guchar) *p, >=, 0x20);
}

/* json-glib names the token it stopped at ("1:136: unexpected character ']'"); the
 * error names the bracket or string left open, where it was opened. */
static void
test_load_unclosed (void)
{
  static const struct {
    const char *json;
    const char *message;
  } cases[] = {
    { "{\n  \"sessions\": [\n    { \"id\": \"a\"\n  ]\n}\n",
      "g.json:3:5: Parse error: this { is not closed: a ] at 4:3 comes before its }" },
    { "{\n  \"listen\": [\"127.0.0.1:1\",\n  \"state_dir\": \"x\"\n}",
      "g.json:2:13: Parse error: this [ is not closed: a } at 4:1 comes before its ]" },
    { "{\n  \"listen\": [\"127.0.0.1:1\"]\n", "g.json:1:1: Parse error: this { is not closed: "
                                              "the file ends before its }" },
    { "{\"listen\": [\"127.0.0.1:1\"]]}", "g.json:1:27: Parse error: this ] closes nothing "
                                          "that is open (one too many, or its [ is missing)" },
    { "{\"state_dir\": \"x}\n", "g.json:1:15: Parse error: this string is not closed (a \" is "
                                "missing)" },
    /* Brackets inside strings, escaped quotes and characters of two bytes count right. */
    { "{\"name\": \"é]\\\"[\", \"x\": [{]}", "g.json:1:25: Parse error: this { is not closed: "
                                             "a ] at 1:26 comes before its }" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonObject) root = cv_config_load_data (cases[i].json, strlen (cases[i].json),
                                                         "g.json", &error);
      guint line = 0, column = 0;

      g_assert_null (root);
      g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_PARSE);
      g_assert_cmpstr (error->message, ==, cases[i].message);
      g_assert_true (cv_config_error_get_location (error, "g.json", &line, &column));
      g_assert_null (cv_config_quote_line (cases[i].json, strlen (cases[i].json), 99, 1));
    }
}

/* The line of an error, with a caret under its column: tabs kept so that it lines up,
 * control characters not sent to the terminal, long lines cut around the column. */
static void
test_quote_line (void)
{
  static const char text[] = "{\n\t\"listen\": [\"é\"]]\n}\n";
  g_autofree char *quoted = cv_config_quote_line (text, strlen (text), 2, 17);
  g_autofree char *long_line = g_strnfill (500, 'x');
  g_autofree char *long_quoted = cv_config_quote_line (long_line, 500, 1, 400);
  g_autofree char *escape = cv_config_quote_line ("a\033[2Jb", 6, 1, 2);

  g_assert_cmpstr (quoted, ==, "    \t\"listen\": [\"é\"]]\n    \t               ^\n");
  g_assert_true (g_str_has_prefix (long_quoted, "    …x"));
  g_assert_cmpuint (strlen (strchr (long_quoted, '\n') + 1), <, 140);
  g_assert_true (g_str_has_suffix (long_quoted, "^\n"));
  g_assert_cmpstr (escape, ==, "    a?[2Jb\n     ^\n");
}

/* The systemd unit's limits are sized for the default limits (the arithmetic is in its
 * comments): raising a default without the unit fails here. */
static guint64
unit_value (const char *unit, const char *key)
{
  g_autofree char *prefix = g_strconcat ("\n", key, "=", NULL);
  const char *line = strstr (unit, prefix);
  char *end = NULL;
  guint64 value;

  if (line == NULL)
    g_error ("the unit has no %s=", key);
  value = g_ascii_strtoull (line + strlen (prefix), &end, 10);
  if (*end == 'K' || *end == 'M' || *end == 'G')
    value <<= *end == 'K' ? 10 : *end == 'M' ? 20 : 30;
  return value;
}

static void
test_unit_fits_defaults (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "data",
                                                 "culvert-gateway.service.in", NULL);
  g_autofree char *unit = NULL;
  CvGatewayLimits limits;
  /* Measured by tests/bench/bench-gateway-memory.py; the joiner's own comment. */
  const guint64 idle_bytes = 10 << 20, link_bytes = 65 << 10, tunnel_bytes = 5 << 10;
  /* A hash from hash-password costs 64 MiB to check. */
  const guint64 argon2_bytes = 64 << 20;
  const guint64 idle_fds = 6, fds_per_tunnel = 6;
  guint64 fds, memory;

  g_assert_true (g_file_get_contents (path, &unit, NULL, NULL));
  cv_gateway_limits_init_defaults (&limits);
  fds = limits.max_links + limits.max_pending_handshakes + fds_per_tunnel * limits.max_tunnels
        + idle_fds;
  memory = idle_bytes + (guint64) limits.password_check_workers * argon2_bytes
           + (guint64) (limits.max_links + limits.max_pending_handshakes) * link_bytes
           + (guint64) limits.max_tunnels * tunnel_bytes;
  g_test_message ("descriptors %" G_GUINT64_FORMAT ", memory %" G_GUINT64_FORMAT " MiB", fds,
                  memory >> 20);
  g_assert_cmpuint (unit_value (unit, "LimitNOFILE"), >=, fds);
  g_assert_cmpuint (unit_value (unit, "MemoryHigh"), >=, memory);
  g_assert_cmpuint (unit_value (unit, "MemoryMax"), >, unit_value (unit, "MemoryHigh"));
  g_assert_nonnull (strstr (unit, "\nProtectProc=invisible\n"));
  g_assert_nonnull (strstr (unit, "\nProcSubset=pid\n"));
}

/* A config's JSON need not come from a file: then errors start with the key. */
static void
test_from_json_without_file (void)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (CvGatewayConfig) config = NULL;

  json_parser_load_from_data (parser, "{\"limits\": {\"max_links\": -1}}", -1, &error);
  g_assert_no_error (error);
  config = cv_gateway_config_new_from_json (json_node_get_object (json_parser_get_root (parser)),
                                            NULL, &error);
  g_assert_null (config);
  g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_BAD_VALUE);
  g_assert_cmpstr (error->message, ==,
                   "limits.max_links: expected an integer from 1 to 1000000, got -1");
}

static void
test_unknown_key_suggestions (void)
{
  static const struct {
    const char *json;
    const char *message;
  } cases[] = {
    { "{\"jion\": \"copy\"}", "jion: unknown key, did you mean join?" },
    { "{\"limits\": {\"max-links\": 5}}",
      "limits.max-links: unknown key, did you mean max_links?" },
    { "{\"limits\": {\"maxlinks\": 5}}", "limits.maxlinks: unknown key, did you mean max_links?" },
    { "{\"sessions\": [{\"x\": 1}]}",
      "sessions[0].x: unknown key, expected one of id, name, share_password_hash, "
      "connect_password_hash" },
    { "{\"sessions\": [{\"di\": 1}]}", "sessions[0].di: unknown key, did you mean id?" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_autoptr (GError) error = NULL;
      g_autoptr (CvGatewayConfig) config = NULL;

      json_parser_load_from_data (parser, cases[i].json, -1, &error);
      g_assert_no_error (error);
      config = cv_gateway_config_new_from_json (json_node_get_object (
                                                  json_parser_get_root (parser)),
                                                NULL, &error);
      g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_UNKNOWN_KEY);
      g_assert_cmpstr (error->message, ==, cases[i].message);
    }
}

/* Keys that are not identifiers are quoted in the path, so that it stays readable and
 * the terminal safe; long values are cut short. */
static void
test_paths_and_values (void)
{
  g_autofree char *plain = cv_config_path_member ("sessions[0]", "id");
  g_autofree char *top = cv_config_path_member ("", "listen");
  g_autofree char *odd = cv_config_path_member ("limits", "max.links \x1b[31m");
  g_autofree char *controls = cv_config_describe_string ("a\x1f"
                                                         "b\x7f"
                                                         "c\xc2\x9b"
                                                         "d\n");
  g_autofree char *element = cv_config_path_element ("allow", 12);
  g_autofree char *long_text = g_strnfill (200, 'x');
  g_autofree char *shown = cv_config_describe_string (long_text);

  g_assert_cmpstr (plain, ==, "sessions[0].id");
  g_assert_cmpstr (top, ==, "listen");
  g_assert_cmpstr (odd, ==, "limits[\"max.links \\u001b[31m\"]");
  /* What json-glib leaves as it is. */
  g_assert_cmpstr (controls, ==, "\"a\\u001fb\\u007fc\\u009bd\\n\"");
  g_assert_cmpstr (element, ==, "allow[12]");
  g_assert_true (g_str_has_suffix (shown, "\"…"));
  g_assert_cmpuint (g_utf8_strlen (shown, -1), ==, 60 + 3);
}

/* The gateway as a URL, the web server's pin and the proxy */

/* A share config with @gateway and, if @key is given, @key: @value (a string). */
static CvShareConfig *
share_with (const char *gateway, const char *key, const char *value, GError **error)
{
  g_autoptr (JsonObject) root = json_object_new ();
  JsonArray *allow = json_array_new ();

  json_array_add_string_element (allow, "localhost:1");
  json_object_set_string_member (root, "session", "s");
  json_object_set_string_member (root, "password_env", "CULVERT_PASSWORD");
  json_object_set_array_member (root, "allow", allow);
  json_object_set_string_member (root, "gateway", gateway);
  if (key != NULL)
    json_object_set_string_member (root, key, value);
  return cv_share_config_new_from_json (root, NULL, error);
}

static void
test_gateway_urls (void)
{
  static const struct {
    const char *text;
    const char *host;
    guint16 port;
    const char *path; /* NULL: host:port */
    gboolean tls;
  } cases[] = {
    { "wss://relay.example.com/culvert", "relay.example.com", 443, "/culvert", TRUE },
    /* No path: the gateway's default websocket_path; "/" is a path of its own. */
    { "wss://relay.example.com", "relay.example.com", 443, "/culvert", TRUE },
    { "wss://relay.example.com/", "relay.example.com", 443, "/", TRUE },
    { "WSS://Relay.Example.COM:8443/a/b%20c;v=1", "relay.example.com", 8443, "/a/b%20c;v=1", TRUE },
    { "ws://10.0.0.1/ws", "10.0.0.1", 80, "/ws", FALSE },
    { "ws://gw.internal:8080", "gw.internal", 8080, "/culvert", FALSE },
    { "wss://[2001:DB8::7]:9443/x", "2001:db8::7", 9443, "/x", TRUE },
    { "wss://[::1]/", "::1", 443, "/", TRUE },
    { "relay.example.com:8443", "relay.example.com", 8443, NULL, FALSE },
    { "[::1]:8443", "::1", 8443, NULL, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (CvShareConfig) config = share_with (cases[i].text, NULL, NULL, &error);

      g_test_message ("%s", cases[i].text);
      g_assert_no_error (error);
      g_assert_cmpstr (config->agent.gateway_host, ==, cases[i].host);
      g_assert_cmpuint (config->agent.gateway_port, ==, cases[i].port);
      g_assert_cmpstr (config->agent.web_path, ==, cases[i].path);
      g_assert_cmpint (config->agent.web_tls, ==, cases[i].tls);
      g_assert_null (config->agent.web_fingerprint);
      g_assert_null (config->agent.proxy);
    }
}

typedef struct {
  const char *key; /* NULL: the gateway alone */
  const char *value;
  const char *where; /* the error's start: "KEY: " */
  const char *says;
  const char *gateway; /* NULL: a wss:// one */
} BadWebCase;

/* Every way to get a URL, a pin or a proxy wrong: an error that names the key and the
 * cause, and never repeats a password. */
static void
test_gateway_urls_bad (void)
{
  static const BadWebCase cases[] = {
    { NULL, NULL, "gateway: ", "“https://” is not a way to reach a gateway: give wss://",
      "https://relay.example.com/culvert" },
    { NULL, NULL, "gateway: ", "“http://” is not a way", "http://relay.example.com/" },
    { NULL, NULL, "gateway: ", "“tcp://” is not a way", "tcp://relay.example.com:8443" },
    { NULL, NULL, "gateway: ",
      "got \"wss://…@relay.example.com/culvert\" (a gateway's URL takes no user name or password",
      "wss://admin:hunter2@relay.example.com/culvert" },
    { NULL, NULL, "gateway: ", "takes no user name or password",
      "wss://hunter2@relay.example.com" },
    /* Whatever GUri makes of user information, its words are not repeated. */
    { NULL, NULL, "gateway: ",
      "got \"wss://…@relay.example.com/culvert\" (not a valid URL; %-encode / ? # @ in the user "
      "name and password)",
      "wss://user:hunter2#x@relay.example.com/culvert" },
    { NULL, NULL, "gateway: ", "(not a valid URL; %-encode",
      "wss://user:hunter/ss@relay.example.com:8443" },
    { NULL, NULL, "gateway: ", "got \"wss://…@relay.example.com\" (",
      "wss://user:hunter@ss@relay.example.com" },
    { NULL, NULL,
      "gateway: ", "got \"…@relay.example.com:8443\" (a gateway takes no user name or password)",
      "user:hunter2@relay.example.com:8443" },
    { NULL, NULL, "gateway: ", "a gateway takes no user name or password",
      "user:hunter2#x@relay.example.com:8443" },
    { NULL, NULL, "gateway: ", "a gateway's URL takes no query (“?…”)", "wss://h.example/x?k=1" },
    { NULL, NULL, "gateway: ", "a gateway's URL takes no query", "wss://h.example/x?" },
    { NULL, NULL, "gateway: ", "a gateway's URL takes no fragment (“#…”)", "wss://h.example/x#y" },
    { NULL, NULL, "gateway: ", "a host is missing after “wss://”", "wss:///culvert" },
    { NULL, NULL, "gateway: ", "a host is missing after “ws://”", "ws://:8080/culvert" },
    { NULL, NULL, "gateway: ", "port 0 is outside 1–65535", "wss://h.example:0/x" },
    { NULL, NULL, "gateway: ", "70000", "wss://h.example:70000/x" },
    { NULL, NULL, "gateway: ", "abc", "wss://h.example:abc/x" },
    { NULL, NULL, "gateway: ", "IPv6", "wss://[::1/x" },
    { NULL, NULL, "gateway: ", "“1.2.3” is not a valid IPv4 address", "wss://1.2.3/x" },
    { NULL, NULL, "gateway: ", "is not a valid host name", "wss://bad!host/x" },
    { NULL, NULL, "gateway: ", "a URL is printable ASCII without spaces", "wss://h.example/a b" },
    { NULL, NULL, "gateway: ", "a URL is printable ASCII", "wss://h.example/caf\xc3\xa9" },
    { NULL, NULL, "gateway: ", "“\\” may not be in a URL's path (write it %-encoded)",
      "wss://h.example/a\\b" },
    { NULL, NULL, "gateway: ", "%-encoding", "wss://h.example/a%zz" },
    { NULL, NULL, "gateway: ",
      "expected host:port, or a URL wss://HOST[:PORT][/PATH], got "
      "\"relay.example.com\" (a port is missing after the host)",
      "relay.example.com" },
    /* The web server's pin */
    { "web_fingerprint", "sha256:12", "web_fingerprint: ", "expected \"sha256:\" and 64 hex" },
    { "web_fingerprint", "sha256:3f9a1c7e5b2d8046e1a9c3b7d5f20864ac1e9b3d7f5a2c8e0b4d6f1a3c5e7b90",
      "web_fingerprint: ",
      "expected a web server's key only with a wss:// gateway, got one with a ws:// gateway",
      "ws://h.example/culvert" },
    { "web_fingerprint", "sha256:3f9a1c7e5b2d8046e1a9c3b7d5f20864ac1e9b3d7f5a2c8e0b4d6f1a3c5e7b90",
      "web_fingerprint: ",
      "got one with a host:port gateway (pin its key with "
      "gateway_fingerprint)",
      "h.example:8443" },
    /* The proxy */
    { "proxy", "socks5://127.0.0.1:1080", "proxy: ",
      "only an HTTP proxy (http://…, which tunnels with CONNECT) is supported, not “socks5://”" },
    { "proxy", "https://proxy.example:3128", "proxy: ", "not “https://”" },
    { "proxy", "proxy.example:3128", "proxy: ",
      "expected http://[USER:PASSWORD@]HOST:PORT or \"direct\", got \"proxy.example:3128\" (not "
      "a URL: “http://” is missing)" },
    { "proxy", "none", "proxy: ", "got \"none\" (not a URL" },
    { "proxy", "http://proxy.example", "proxy: ", "a port is missing after the host" },
    { "proxy", "http://proxy.example:0", "proxy: ", "port 0 is outside" },
    { "proxy", "http://:3128", "proxy: ", "a host is missing after “http://”" },
    { "proxy", "http://user@proxy.example:3128",
      "proxy: ", "the proxy has a user name without a password" },
    { "proxy", "http://:hunter2@proxy.example:3128", "proxy: ", "the proxy's user name is empty" },
    { "proxy", "http://a%3Ab:hunter2@proxy.example:3128", "proxy: ", "may not hold “:”" },
    { "proxy", "http://u:hunter2%00@proxy.example:3128",
      "proxy: ", "the proxy's password has a %-escape that does not decode" },
    { "proxy", "http://u:hunter2@proxy.example:3128/path", "proxy: ",
      "got \"http://…@proxy.example:3128/path\" (a proxy's URL has no path, query or fragment" },
    { "proxy", "http://u:hunter2@proxy.example:3128?x", "proxy: ", "no path, query or fragment" },
    { "proxy", "http://u:hunter2@bad!host:3128", "proxy: ", "is not a valid host name" },
    { "proxy", "http://u:hunter 2@proxy.example:3128", "proxy: ", "printable ASCII" },
    { "proxy", "http://u:hunter2\x01@proxy.example:3128", "proxy: ", "printable ASCII" },
    { "proxy", "http://u:hunter2@proxy.example:99999", "proxy: ", "99999" },
    /* User information is split off at the last "@": what is left is no secret. */
    { "proxy", "http://user:hunter2#x@proxy.example:abc",
      "proxy: ", "got \"http://…@proxy.example:abc\" (" },
    { "proxy", "http://user:hunter2@x@proxy.example", "proxy: ", "a port is missing" },
    { "proxy", "http://user:hunter2%zz@proxy.example:3128",
      "proxy: ", "password has a %-escape that does not decode" },
    { "proxy", "user:hunter2@proxy.example:3128",
      "proxy: ", "got \"…@proxy.example:3128\" (not a URL: “http://” is missing)" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const BadWebCase *c = &cases[i];
      g_autoptr (GError) error = NULL;
      g_autoptr (CvShareConfig) config = share_with (c->gateway != NULL
                                                       ? c->gateway
                                                       : "wss://relay.example.com/culvert",
                                                     c->key, c->value, &error);

      g_test_message ("%s %s", c->key != NULL ? c->key : "gateway",
                      c->value != NULL ? c->value : c->gateway);
      g_assert_null (config);
      g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_BAD_VALUE);
      g_test_message ("  %s", error->message);
      g_assert_true (g_str_has_prefix (error->message, c->where));
      g_assert_nonnull (strstr (error->message, c->says));
      g_assert_null (strstr (error->message, "hunter"));
    }
}

/* A proxy's password with "#", "/" or "@" in it, as curl takes it: the user information
 * ends at the last "@", and GIO is given it %-encoded, to decode as written. */
static void
test_proxy_userinfo (void)
{
  static const struct {
    const char *text;
    const char *password;
    const char *for_gio;
  } cases[] = {
    { "http://user:hunter2#x@proxy.example:3128", "hunter2#x",
      "http://user:hunter2%23x@proxy.example:3128" },
    { "http://user:pa/ss@proxy.example:3128", "pa/ss", "http://user:pa%2Fss@proxy.example:3128" },
    { "http://user:p@ss@proxy.example:3128", "p@ss", "http://user:p%40ss@proxy.example:3128" },
    { "http://user:a:b?c@[::1]:3128/", "a:b?c", "http://user:a%3Ab%3Fc@[::1]:3128" },
    { "http://us%20er:p%40ss@Proxy.Example:3128", "p@ss",
      "http://us%20er:p%40ss@proxy.example:3128" },
    { "http://proxy.example:3128", NULL, "http://proxy.example:3128" },
    { "direct", NULL, "direct://" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (CvShareConfig) config = share_with ("wss://relay.example.com", "proxy",
                                                     cases[i].text, &error);
      g_autofree char *for_gio = NULL;
      g_autofree char *password = NULL;

      g_test_message ("%s", cases[i].text);
      g_assert_no_error (error);
      g_assert_cmpstr (config->agent.proxy, ==, cases[i].text);
      for_gio = cv_web_url_proxy_for_gio (cases[i].text, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (for_gio, ==, cases[i].for_gio);
      /* As GProxyAddressEnumerator reads it. */
      g_assert_true (g_uri_split_with_user (for_gio, G_URI_FLAGS_HAS_PASSWORD, NULL, NULL,
                                            &password, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
      g_assert_cmpstr (password, ==, cases[i].password);
    }
}

static void
test_web_keys (void)
{
  static const char *const good_proxies[] = {
    "direct",
    "http://proxy.example:3128",
    "http://proxy.example:3128/",
    "http://u%40corp:p%3Ass@proxy.example:8080",
    "http://user:@proxy.example:8080",
    "http://[::1]:3128",
  };
  g_autoptr (GError) error = NULL;
  g_autoptr (CvShareConfig) pinned = share_with ("wss://relay.example.com/culvert",
                                                 "web_fingerprint",
                                                 "SHA256:3F:9A:1C:7E:5B:2D:80:46:E1:A9:C3:B7:D5:F2:"
                                                 "08:64:AC:1E:9B:3D:7F:5A:2C:8E:0B:4D:6F:1A:3C:"
                                                 "5E:7B:90",
                                                 &error);

  g_assert_no_error (error);
  g_assert_cmpstr (pinned->agent.web_fingerprint, ==,
                   "sha256:3f9a1c7e5b2d8046e1a9c3b7d5f20864ac1e9b3d7f5a2c8e0b4d6f1a3c5e7b90");
  for (guint i = 0; i < G_N_ELEMENTS (good_proxies); i++)
    {
      g_autoptr (CvShareConfig) config = share_with ("relay.example.com:8443", "proxy",
                                                     good_proxies[i], &error);

      g_test_message ("%s", good_proxies[i]);
      g_assert_no_error (error);
      /* As given: GIO reads it (and decodes the credentials) when dialling. */
      g_assert_cmpstr (config->agent.proxy, ==, good_proxies[i]);
    }
  {
    /* A proxy of another type than a string: the usual error, which shows no string. */
    g_autoptr (JsonObject) root = json_object_new ();
    g_autoptr (CvConnectConfig) config = NULL;

    json_object_set_string_member (root, "gateway", "relay.example.com:8443");
    json_object_set_int_member (root, "proxy", 3128);
    config = cv_connect_config_new_from_json (root, "/etc/culvert/connect.json", &error);
    g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_WRONG_TYPE);
    g_assert_cmpstr (error->message, ==,
                     "/etc/culvert/connect.json: proxy: expected a string, got 3128");
    g_clear_error (&error);
  }
  {
    /* A config built in code is checked as a file is. */
    g_autoptr (CvShareConfig) config = cv_share_config_new ();

    cv_agent_config_set_gateway (&config->agent, "relay.example.com", 443, NULL);
    cv_agent_config_set_session (&config->agent, "s");
    cv_agent_config_set_password (&config->agent, "pw");
    cv_agent_config_set_web (&config->agent, "/culvert", TRUE, NULL);
    cv_agent_config_set_proxy (&config->agent, "http://u:hunter2@proxy.example");
    g_assert_false (cv_agent_config_check (&config->agent, &error));
    g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_BAD_VALUE);
    g_assert_true (g_str_has_prefix (error->message, "proxy: "));
    g_assert_null (strstr (error->message, "hunter2"));
    g_clear_error (&error);
    cv_agent_config_set_proxy (&config->agent, "direct");
    g_assert_true (cv_agent_config_check (&config->agent, &error));
    g_assert_no_error (error);
    cv_agent_config_set_web (&config->agent, "/culvert", FALSE,
                             "sha256:"
                             "3f9a1c7e5b2d8046e1a9c3b7d5f20864ac1e9b3d7f5a2c8e0b4d6f1a3c5e7b90");
    g_assert_false (cv_agent_config_check (&config->agent, &error));
    g_assert_true (g_str_has_prefix (error->message, "web_fingerprint: "));
  }
}

/* Passwords */

typedef struct {
  char *dir;
} PasswordFixture;

static void
password_setup (PasswordFixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("culvert-config-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
password_teardown (PasswordFixture *fixture, gconstpointer data)
{
  g_autoptr (GDir) dir = g_dir_open (fixture->dir, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (fixture->dir, name, NULL);
      g_assert_cmpint (g_unlink (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (fixture->dir), ==, 0);
  g_free (fixture->dir);
}

static char *
write_password_file (PasswordFixture *fixture,
                     const char *name,
                     const char *contents,
                     gssize len,
                     int mode)
{
  g_autofree char *path = g_build_filename (fixture->dir, name, NULL);
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, contents, len, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (path, mode), ==, 0);
  return g_steal_pointer (&path);
}

static char *
read_password_file (const char *path, GError **error)
{
  CvAgentConfig agent = { .password_source = CV_PASSWORD_SOURCE_FILE };

  agent.password_file = (char *) path;
  return cv_agent_config_read_password (&agent, error);
}

static void
test_password_file (PasswordFixture *fixture, gconstpointer data)
{
  static const struct {
    const char *contents;
    const char *password;
  } cases[] = {
    { "s3cret\n", "s3cret" },
    { "s3cret", "s3cret" },
    { "s3cret\r\n", "s3cret" },
    /* Only one newline is the editor's; spaces are the password's. */
    { "s3cret\n\n", "s3cret\n" },
    { " two words \n", " two words " },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = write_password_file (fixture, "password", cases[i].contents, -1,
                                                   0600);
      g_autoptr (GError) error = NULL;
      g_autofree char *password = read_password_file (path, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (password, ==, cases[i].password);
    }
}

static void
test_password_file_refused (PasswordFixture *fixture, gconstpointer data)
{
  static const int loose_modes[] = { 0644, 0640, 0604, 0620, 0602 };
  g_autofree char *long_password = g_strnfill (1025, 'p');
  g_autofree char *missing = g_build_filename (fixture->dir, "missing", NULL);
  g_autofree char *path = NULL;
  g_autofree char *password = NULL;
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (loose_modes); i++)
    {
      g_autofree char *expected = g_strdup_printf ("got permissions %04o", loose_modes[i]);

      g_free (path);
      path = write_password_file (fixture, "password", "s3cret\n", -1, loose_modes[i]);
      g_assert_null (read_password_file (path, &error));
      g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_INSECURE_FILE);
      g_assert_true (g_str_has_prefix (error->message, path));
      g_assert_nonnull (strstr (error->message, expected));
      g_assert_nonnull (strstr (error->message, "chmod 600"));
      g_clear_error (&error);
    }

  g_assert_null (read_password_file (missing, &error));
  g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_READ);
  g_assert_true (g_str_has_prefix (error->message, missing));
  g_clear_error (&error);

  g_free (path);
  path = write_password_file (fixture, "password", "\n", -1, 0600);
  g_assert_null (read_password_file (path, &error));
  g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_BAD_VALUE);
  g_clear_error (&error);

  g_free (path);
  path = write_password_file (fixture, "password", "s3c\0ret\n", 8, 0600);
  g_assert_null (read_password_file (path, &error));
  g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_BAD_VALUE);
  g_assert_nonnull (strstr (error->message, "NUL"));
  g_clear_error (&error);

  g_free (path);
  path = write_password_file (fixture, "password", long_password, -1, 0600);
  g_assert_null (read_password_file (path, &error));
  g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_BAD_VALUE);
  g_assert_nonnull (strstr (error->message, "at most 1024 bytes"));
  g_clear_error (&error);

  /* The longest there may be, with its newline. */
  long_password[1024] = '\n';
  g_free (path);
  path = write_password_file (fixture, "password", long_password, -1, 0600);
  password = read_password_file (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (password), ==, 1024);
}

/* Sessions from a file of their own */

#define HASH_A                                                                                     \
  "$argon2id$v=19$m=65536,t=2,p=1$RQMXAHiNzXw14WYfpkd6eg$sMbjxa3QnTQMilTsV1cq8gGMrpSEGXF/"         \
  "v1OYXEnxt/o"
#define HASH_B                                                                                     \
  "$argon2id$v=19$m=65536,t=2,p=1$OGvtKs9vlZq12Z+UDLSrwA$5u4FsKcgViCheuFtOeoOkMtf+0fMWL1c2hI++"    \
  "EBfN1Q"
#define SESSIONS_JSON                                                                              \
  "{\"sessions\": [{\"id\": \"acme\", \"share_password_hash\": \"" HASH_A "\", "                   \
  "\"connect_password_hash\": \"" HASH_B "\"}]}"

/* Loads {"sessions_file": @sessions_file} (and @more members) as DIR/gateway.json. */
static CvGatewayConfig *
load_with_sessions_file (PasswordFixture *fixture,
                         const char *sessions_file,
                         const char *more,
                         GError **error)
{
  g_autofree char *text = g_strdup_printf ("{\"sessions_file\": \"%s\"%s}", sessions_file,
                                           more != NULL ? more : "");
  g_autofree char *config = write_password_file (fixture, "gateway.json", text, -1, 0644);

  return cv_gateway_config_load (config, error);
}

static void
test_sessions_file (PasswordFixture *fixture, gconstpointer data)
{
  g_autofree char *path = write_password_file (fixture, "sessions.json", SESSIONS_JSON, -1, 0600);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvGatewayConfig) config = NULL;
  g_autoptr (CvGatewayConfig) relative = NULL;
  const CvGatewaySession *session;

  config = load_with_sessions_file (fixture, path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (config->sessions_file, ==, path);
  g_assert_cmpuint (config->sessions->len, ==, 1);
  session = g_ptr_array_index (config->sessions, 0);
  g_assert_cmpstr (session->id, ==, "acme");
  g_assert_cmpstr (session->name, ==, "acme");
  g_assert_cmpstr (session->share_password_hash, ==, HASH_A);
  g_assert_cmpstr (session->connect_password_hash, ==, HASH_B);

  /* Relative to the config's folder, as every path in it. */
  relative = load_with_sessions_file (fixture, "sessions.json", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (relative->sessions_file, ==, path);
  g_assert_cmpuint (relative->sessions->len, ==, 1);
}

static void
test_sessions_file_refused (PasswordFixture *fixture, gconstpointer data)
{
  static const struct {
    const char *contents;
    int mode;
    const char *more; /* members of the config besides sessions_file */
    CvConfigError code;
    const char *message; /* after "DIR/gateway.json: sessions_file: " */
  } cases[] = {
    /* The hashes must stay the owner's. */
    { SESSIONS_JSON, 0644, NULL, CV_CONFIG_ERROR_INSECURE_FILE,
      "DIR/sessions.json: expected a sessions file only its owner can read, got permissions "
      "0644 (run: chmod 600 DIR/sessions.json)" },
    { SESSIONS_JSON, 0640, NULL, CV_CONFIG_ERROR_INSECURE_FILE,
      "DIR/sessions.json: expected a sessions file only its owner can read, got permissions "
      "0640 (run: chmod 600 DIR/sessions.json)" },
    { "{\"sessions\": [{\"id\": \"a b\", \"share_password_hash\": \"" HASH_A "\", "
      "\"connect_password_hash\": \"" HASH_B "\"}]}",
      0600, NULL, CV_CONFIG_ERROR_BAD_VALUE,
      "DIR/sessions.json: sessions[0].id: expected a session id of 1 to 64 letters, digits, "
      "'.', '_' or '-', got \"a b\"" },
    { "{\"listen\": []}", 0600, NULL, CV_CONFIG_ERROR_UNKNOWN_KEY, NULL },
    { "{}", 0600, NULL, CV_CONFIG_ERROR_MISSING_KEY,
      "DIR/sessions.json: sessions: required key missing, expected an array" },
    { "", 0600, NULL, CV_CONFIG_ERROR_PARSE,
      "DIR/sessions.json: the file is empty, expected a JSON object" },
    { "{\"sessions\": [], \"sessions\": []}", 0600, NULL, CV_CONFIG_ERROR_PARSE, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = write_password_file (fixture, "sessions.json", cases[i].contents, -1,
                                                   cases[i].mode);
      g_autofree char *config_path = g_build_filename (fixture->dir, "gateway.json", NULL);
      g_autoptr (GError) error = NULL;
      g_autoptr (CvGatewayConfig) config = NULL;
      g_autofree char *start = g_strdup_printf ("%s: sessions_file: ", config_path);

      g_test_message ("case %u", i);
      config = load_with_sessions_file (fixture, path, cases[i].more, &error);
      g_assert_null (config);
      g_assert_error (error, CV_CONFIG_ERROR, (gint) cases[i].code);
      g_assert_true (g_str_has_prefix (error->message, start));
      if (cases[i].message != NULL)
        {
          g_auto (GStrv) parts = g_strsplit (cases[i].message, "DIR", -1);
          g_autofree char *expected = g_strjoinv (fixture->dir, parts);

          g_assert_cmpstr (error->message + strlen (start), ==, expected);
        }
    }

  /* Both places at once would leave a reader wondering which counts. */
  {
    g_autofree char *path = write_password_file (fixture, "sessions.json", SESSIONS_JSON, -1, 0600);
    g_autoptr (GError) error = NULL;
    g_autoptr (CvGatewayConfig) config = load_with_sessions_file (fixture, path,
                                                                  ", \"sessions\": []", &error);

    g_assert_null (config);
    g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_BAD_VALUE);
    g_assert_nonnull (strstr (error->message, ": sessions_file: expected either \"sessions\" or "
                                              "\"sessions_file\", got both"));
  }
  /* A device would be read for ever. */
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (CvGatewayConfig) config = load_with_sessions_file (fixture, "/dev/zero", NULL,
                                                                  &error);

    g_assert_null (config);
    g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_READ);
    g_assert_nonnull (strstr (error->message, "/dev/zero: expected a sessions file, got "
                                              "something that is not a regular file"));
  }
  /* A missing file names itself. */
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (CvGatewayConfig) config = load_with_sessions_file (fixture, "/nonexistent/s.json",
                                                                  NULL, &error);

    g_assert_null (config);
    g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_READ);
    g_assert_nonnull (strstr (error->message, ": sessions_file: /nonexistent/s.json: "));
  }
}

static void
test_password_env (void)
{
  CvAgentConfig agent = { .password_source = CV_PASSWORD_SOURCE_ENV };
  g_autoptr (GError) error = NULL;
  g_autofree char *password = NULL;

  agent.password_env = (char *) "CULVERT_TEST_PASSWORD";
  g_setenv ("CULVERT_TEST_PASSWORD", "from the environment", TRUE);
  password = cv_agent_config_read_password (&agent, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (password, ==, "from the environment");

  g_setenv ("CULVERT_TEST_PASSWORD", "", TRUE);
  g_assert_null (cv_agent_config_read_password (&agent, &error));
  g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_BAD_VALUE);
  g_clear_error (&error);

  g_unsetenv ("CULVERT_TEST_PASSWORD");
  g_assert_null (cv_agent_config_read_password (&agent, &error));
  g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_READ);
  g_assert_cmpstr (error->message, ==,
                   "environment variable CULVERT_TEST_PASSWORD: expected a password, but it is "
                   "not set");
}

/* Puts @input on stdin (or an empty, closed pipe) and reads a password from it. */
static char *
read_password_from_stdin (const char *input, GError **error)
{
  CvAgentConfig agent = { .password_source = CV_PASSWORD_SOURCE_STDIN };
  int saved_stdin = dup (STDIN_FILENO);
  int fds[2];
  char *password;

  g_assert_cmpint (pipe (fds), ==, 0);
  g_assert_cmpint (write (fds[1], input, strlen (input)), ==, (gssize) strlen (input));
  close (fds[1]);
  g_assert_cmpint (dup2 (fds[0], STDIN_FILENO), ==, STDIN_FILENO);
  close (fds[0]);
  clearerr (stdin);

  password = cv_agent_config_read_password (&agent, error);

  g_assert_cmpint (dup2 (saved_stdin, STDIN_FILENO), ==, STDIN_FILENO);
  close (saved_stdin);
  clearerr (stdin);
  return password;
}

static void
test_password_stdin (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *password = read_password_from_stdin ("typed in\n", &error);

  g_assert_no_error (error);
  g_assert_cmpstr (password, ==, "typed in");

  g_assert_null (read_password_from_stdin ("", &error));
  g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_READ);
  g_assert_nonnull (strstr (error->message, "standard input"));
}

/* culvert-cli check-config */

typedef struct {
  int status;
  char *out;
  char *err;
} CliResult;

static void
cli_result_clear (CliResult *result)
{
  g_clear_pointer (&result->out, g_free);
  g_clear_pointer (&result->err, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CliResult, cli_result_clear)

static gboolean
have_cli (void)
{
  if (g_getenv ("CULVERT_CLI") != NULL)
    return TRUE;
  g_test_skip ("CULVERT_CLI is not set (run through meson test)");
  return FALSE;
}

static void
run_cli (CliResult *result, const char *first_arg, ...)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  va_list args;

  g_ptr_array_add (argv, (gpointer) g_getenv ("CULVERT_CLI"));
  va_start (args, first_arg);
  for (const char *arg = first_arg; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_newv ((const char *const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                               &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &result->out, &result->err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  result->status = g_subprocess_get_exit_status (process);
}

/* check-config reads the examples as the roles would, then opens what they name, as
 * start-up would: the loopback templates pass (with the warnings a template earns: no
 * password in the environment here, no pin until init or the user adds one); the
 * production ones name paths that are not on this machine, and it says so. */
static void
test_cli_examples (void)
{
  static const struct {
    const char *file;
    int status;
    const char *out; /* the summary, for those that pass */
    const char *err; /* a part of stderr */
  } cases[] = {
    { "gateway.json", 0, "gateway: 1 session, 1 listener, WebSocket on /culvert", "" },
    { "share.json", 0,
      "share: session demo, 1 allowed target, any connect agent the gateway announces",
      ": warning: password_env: the environment variable CULVERT_PASSWORD is not set here" },
    { "connect.json", 0, "connect: session demo, 1 mapping",
      ": warning: no gateway_fingerprint: " },
    { "production/gateway.json", 2, NULL,
      ": certificate: could not open \"/etc/letsencrypt/live/relay.example.com/privkey.pem\"" },
    { "production/share.json", 2, NULL, ": password_file: /etc/culvert/share.password: " },
    { "production/connect.json", 0, "connect: session acme-office, 3 mappings",
      ": warning: password_env: the environment variable CULVERT_PASSWORD is not set here" },
  };

  if (!have_cli ())
    return;
  g_unsetenv ("CULVERT_PASSWORD");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *path = example_path (cases[i].file);
      g_autofree char *expected_err = g_strconcat (path, cases[i].err, NULL);
      g_auto (CliResult) result = { 0 };

      run_cli (&result, "check-config", path, NULL);
      g_test_message ("%s", result.err);
      g_assert_cmpint (result.status, ==, cases[i].status);
      if (*cases[i].err == '\0')
        g_assert_cmpstr (result.err, ==, "");
      else
        g_assert_nonnull (strstr (result.err, expected_err));
      if (cases[i].out != NULL)
        {
          g_autofree char *expected = g_strdup_printf ("%s: OK (%s)\n", path, cases[i].out);

          g_assert_cmpstr (result.out, ==, expected);
        }
      else
        g_assert_cmpstr (result.out, ==, "");
    }
}

static void
test_cli_singular (void)
{
  g_autofree char *path = config_path ("gateway-minimal.json");
  g_autofree char *expected =
    g_strdup_printf ("%s: OK (gateway: 0 sessions, 1 listener, WebSocket on /culvert)\n", path);
  g_auto (CliResult) result = { 0 };

  if (!have_cli ())
    return;
  run_cli (&result, "check-config", "--kind", "gateway", path, NULL);
  g_assert_cmpint (result.status, ==, 0);
  g_assert_cmpstr (result.out, ==, expected);
}

static void
test_cli_websocket (void)
{
  g_autofree char *path = config_path ("gateway-websocket.json");
  g_autofree char *public = config_path ("gateway-websocket-public.json");
  g_autofree char *expected = g_strdup_printf ("%s: OK (gateway: 0 sessions, 1 listener, WebSocket "
                                               "on /tunnel/ws (not on the TLS port), 2 "
                                               "plain-HTTP WebSocket listeners)\n",
                                               path);
  g_autofree char *warning =
    g_strdup_printf ("%s: warning: websocket_listen[0]: 0.0.0.0 is not a loopback address", public);

  if (!have_cli ())
    return;
  {
    g_auto (CliResult) result = { 0 };

    run_cli (&result, "check-config", "--kind", "gateway", path, NULL);
    g_assert_cmpint (result.status, ==, 0);
    g_assert_cmpstr (result.out, ==, expected);
    g_assert_cmpstr (result.err, ==, "");
  }
  {
    g_auto (CliResult) result = { 0 };

    run_cli (&result, "check-config", "--kind", "gateway", public, NULL);
    g_assert_cmpint (result.status, ==, 0);
    g_assert_true (
      g_str_has_suffix (result.out, "WebSocket on /culvert, 1 plain-HTTP WebSocket listener)\n"));
    g_assert_true (g_str_has_prefix (result.err, warning));
  }
}

static void
test_cli_bad_configs (void)
{
  if (!have_cli ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      const BadCase *c = &bad_cases[i];
      g_autofree char *path = config_path (c->file);
      g_auto (CliResult) result = { 0 };

      g_test_message ("%s", c->file);
      run_cli (&result, "check-config", "--kind", cv_config_kind_to_string (c->kind), path, NULL);
      g_assert_cmpint (result.status, ==, 2);
      g_assert_cmpstr (result.out, ==, "");
      assert_names_file_and_key (result.err, path, c);
      g_assert_true (g_str_has_suffix (result.err, "\n"));
    }
}

static void
test_cli_usage (void)
{
  g_autofree char *ambiguous = config_path ("ambiguous.json");
  g_autofree char *example = example_path ("share.json");

  if (!have_cli ())
    return;
  {
    g_auto (CliResult) result = { 0 };

    run_cli (&result, "check-config", ambiguous, NULL);
    g_assert_cmpint (result.status, ==, 2);
    g_assert_true (g_str_has_prefix (result.err, ambiguous));
    g_assert_nonnull (strstr (result.err, "--kind"));
  }
  {
    /* Told the kind, the share agent's key is unknown to a gateway. */
    g_auto (CliResult) result = { 0 };

    run_cli (&result, "check-config", "--kind=gateway", ambiguous, NULL);
    g_assert_cmpint (result.status, ==, 2);
    g_assert_nonnull (strstr (result.err, ": allow: unknown key"));
  }
  {
    g_auto (CliResult) result = { 0 };

    run_cli (&result, "check-config", "--kind", "relay", example, NULL);
    g_assert_cmpint (result.status, ==, 2);
    g_assert_nonnull (strstr (result.err, "“relay”"));
  }
  {
    g_auto (CliResult) result = { 0 };

    run_cli (&result, "check-config", NULL);
    g_assert_cmpint (result.status, ==, 2);
    g_assert_nonnull (strstr (result.err, "FILE"));
  }
  {
    g_auto (CliResult) result = { 0 };

    run_cli (&result, "check-config", example, example, NULL);
    g_assert_cmpint (result.status, ==, 2);
  }
}

/* The WebSocket flags: each checked as it is parsed, naming the flag; a proxy's
 * password refused on the command line, and never repeated. */
static void
test_cli_web_flags (void)
{
  static const struct {
    const char *flag;
    const char *value;
    const char *says;
  } cases[] = {
    { "--gateway", "https://relay.example.com/culvert",
      "--gateway: expected host:port, or a URL wss://HOST[:PORT][/PATH], got "
      "\"https://relay.example.com/culvert\" (“https://” is not a way to reach a gateway" },
    { "--gateway", "wss://u:hunter2@relay.example.com/", "--gateway: expected host:port" },
    { "--proxy", "socks5://127.0.0.1:1080", "--proxy: expected http://[USER:PASSWORD@]HOST:PORT" },
    { "--proxy", "http://u:hunter2@127.0.0.1:3128",
      "--proxy: a proxy's password is never taken from the command line" },
    { "--proxy", "http://u:hunter2@127.0.0.1", "--proxy: expected http://" },
    { "--web-fingerprint", "sha256:12", "--web-fingerprint: expected \"sha256:\" and 64 hex" },
    /* Checked with the rest of the config the flags make. */
    { "--web-fingerprint",
      "sha256:3f9a1c7e5b2d8046e1a9c3b7d5f20864ac1e9b3d7f5a2c8e0b4d6f1a3c5e7b90",
      "web_fingerprint: expected a web server's key only with a wss:// gateway, got one with a "
      "ws:// gateway" },
  };

  if (!have_cli ())
    return;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto (CliResult) result = { 0 };
      gboolean gateway_flag = g_str_equal (cases[i].flag, "--gateway");

      g_test_message ("%s %s", cases[i].flag, cases[i].value);
      run_cli (&result, "share", "--gateway",
               gateway_flag ? cases[i].value : "ws://relay.example.com/culvert", "--session", "s",
               "--allow", "localhost:22", "--password-env", "CULVERT_TEST_NO_SUCH_VARIABLE",
               gateway_flag ? "--name" : cases[i].flag, gateway_flag ? "n" : cases[i].value, NULL);
      g_test_message ("%s", result.err);
      g_assert_cmpint (result.status, ==, 2);
      g_assert_nonnull (strstr (result.err, cases[i].says));
      g_assert_null (strstr (result.err, "hunter2"));
    }
}

/* check-config warns of a proxy's password in a file others may read, without
 * repeating it. */
static void
test_cli_proxy_secret (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *state = NULL;
  g_autofree char *json = NULL;

  if (!have_cli ())
    return;
  dir = g_dir_make_tmp ("culvert-config-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (dir, "share.json", NULL);
  state = g_build_filename (dir, "state", NULL);
  json = g_strdup_printf ("{\"gateway\": \"wss://relay.example.com/culvert\", \"proxy\": "
                          "\"http://u:hunter2@proxy.example:3128\", \"session\": \"s\", "
                          "\"password_stdin\": true, \"allow\": [\"localhost:22\"], "
                          "\"state_dir\": \"%s\"}",
                          state);
  for (guint mode = 0600; mode <= 0644; mode += 044)
    {
      g_auto (CliResult) result = { 0 };

      g_file_set_contents_full (path, json, -1, G_FILE_SET_CONTENTS_NONE, (int) mode, &error);
      g_assert_no_error (error);
      g_assert_cmpint (g_chmod (path, (int) mode), ==, 0);
      run_cli (&result, "check-config", path, NULL);
      g_test_message ("%04o: %s", mode, result.err);
      g_assert_cmpint (result.status, ==, 0);
      g_assert_null (strstr (result.err, "hunter2"));
      g_assert_true ((strstr (result.err, ": warning: proxy: it holds the proxy's password, and "
                                          "others may read this file (mode 0644)")
                      != NULL)
                     == (mode == 0644));
    }
  g_unlink (path);
  g_rmdir (dir);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/config/example/loopback", test_example_loopback);
  g_test_add_func ("/config/example/production-gateway", test_example_gateway);
  g_test_add_func ("/config/example/production-share", test_example_share);
  g_test_add_func ("/config/example/production-connect", test_example_connect);
  g_test_add_func ("/config/guess-kind", test_guess_kind);
  g_test_add_func ("/config/gateway-defaults", test_gateway_defaults);
  g_test_add_func ("/config/gateway-websocket", test_gateway_websocket);
  g_test_add_func ("/config/relative-paths", test_relative_paths);
  g_test_add_func ("/config/connect-stdin", test_connect_stdin);
  g_test_add_func ("/config/agent-log-level", test_agent_log_level);
  g_test_add_func ("/config/share-services", test_share_services);
  g_test_add_func ("/config/authorized-connect-keys", test_authorized_connect_keys);
  g_test_add_func ("/config/gateway-relative-paths", test_gateway_relative_paths);
  g_test_add_func ("/config/bad", test_bad_configs);
  g_test_add_func ("/config/load-data", test_load_data);
  g_test_add_func ("/config/load-comments", test_load_comments);
  g_test_add_func ("/config/unit-fits-defaults", test_unit_fits_defaults);
  g_test_add_func ("/config/load-octal-escape", test_load_octal_escape);
  g_test_add_func ("/config/load-unclosed", test_load_unclosed);
  g_test_add_func ("/config/quote-line", test_quote_line);
  g_test_add_func ("/config/load-parse-error-is-one-line", test_load_parse_error_is_one_line);
  g_test_add_func ("/config/from-json-without-file", test_from_json_without_file);
  g_test_add_func ("/config/unknown-key-suggestions", test_unknown_key_suggestions);
  g_test_add_func ("/config/paths-and-values", test_paths_and_values);
  g_test_add_func ("/config/gateway-urls", test_gateway_urls);
  g_test_add_func ("/config/gateway-urls-bad", test_gateway_urls_bad);
  g_test_add_func ("/config/proxy-userinfo", test_proxy_userinfo);
  g_test_add_func ("/config/web-keys", test_web_keys);
  g_test_add ("/config/password/file", PasswordFixture, NULL, password_setup, test_password_file,
              password_teardown);
  g_test_add ("/config/password/file-refused", PasswordFixture, NULL, password_setup,
              test_password_file_refused, password_teardown);
  g_test_add ("/config/sessions-file/load", PasswordFixture, NULL, password_setup,
              test_sessions_file, password_teardown);
  g_test_add ("/config/sessions-file/refused", PasswordFixture, NULL, password_setup,
              test_sessions_file_refused, password_teardown);
  g_test_add_func ("/config/password/env", test_password_env);
  g_test_add_func ("/config/password/stdin", test_password_stdin);
  g_test_add_func ("/config/cli/examples", test_cli_examples);
  g_test_add_func ("/config/cli/singular", test_cli_singular);
  g_test_add_func ("/config/cli/websocket", test_cli_websocket);
  g_test_add_func ("/config/cli/bad", test_cli_bad_configs);
  g_test_add_func ("/config/cli/usage", test_cli_usage);
  g_test_add_func ("/config/cli/web-flags", test_cli_web_flags);
  g_test_add_func ("/config/cli/proxy-secret", test_cli_proxy_secret);

  return g_test_run ();
}
