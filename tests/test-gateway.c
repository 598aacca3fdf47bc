/* test-gateway.c: the gateway in-process on 127.0.0.1, driven by scripted agents.
 *
 * A scripted agent does on the wire what a real one does, one step at a time and
 * no more: TCP, TLS 1.3 with the gateway's key pinned and its own key as client
 * certificate, a mux, and the control messages the test chooses; it records every
 * control message it receives.  Raw connections (TCP, no TLS) play what comes
 * before TLS, and tunnel halves.  Everything runs on the main thread's context,
 * and every wait is bounded.
 */
#include "cv-control.h"
#include "cv-gateway.h"
#include "cv-identity.h"
#include "cv-mux.h"
#include "cv-password.h"
#include "cv-test-util.h"
#include "cv-ticket.h"
#include "cv-tls.h"

#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>

#define SHARE_PASSWORD "share secret"
#define CONNECT_PASSWORD "connect secret"
#define WRONG_PASSWORD "a wrong guess"

/* The bound of every wait for something that must happen. */
#define WAIT_MS 10000

/* Argon2id costs ~80 ms a hash: made once, shared by every session of every test. */
static char *share_hash;
static char *connect_hash;
/* Session "slow" has a connect password that takes five times as long to check (t=10
 * instead of 2, the same 64 MiB), for the test that races HELLOs against checks. */
#define SLOW_PASSES 10
static char slow_hash[crypto_pwhash_STRBYTES];

/* The gateway warns when it turns a connection or a tunnel away, which the tests
 * here make it do: its warnings are recorded for them to count instead of being
 * fatal, and at tear-down any other warning fails the test.  (A handler of its own
 * for the domain, since the test framework's default one reports every fatal
 * message as "Bail out!" before the fatal handler is asked.) */
#define ENGINE_DOMAIN "culvert-engine"

static GPtrArray *gateway_warnings;

static void
on_engine_warning (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
  g_test_message ("%s warning: %s", domain, message);
  g_ptr_array_add (gateway_warnings, g_strdup (message));
}

static gboolean
on_fatal_log (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
  return !(g_strcmp0 (domain, ENGINE_DOMAIN) == 0 && (level & G_LOG_LEVEL_WARNING) != 0);
}

static void
assert_warnings_expected (void)
{
  for (guint i = 0; i < gateway_warnings->len; i++)
    {
      const char *message = gateway_warnings->pdata[i];

      if (strstr (message, ": refused: ") == NULL && strstr (message, ": tunnel refused: ") == NULL)
        g_test_fail_printf ("the gateway warned: %s", message);
    }
}

static guint
count_warnings (const char *text)
{
  guint n = 0;

  for (guint i = 0; i < gateway_warnings->len; i++)
    if (g_str_equal (gateway_warnings->pdata[i], text))
      n++;
  return n;
}

/* ---- fixture: a running gateway and the agents' keys -------------------- */

typedef struct {
  char *dir;
  CvIdentity *gateway_identity;
  CvIdentity *share_identity;
  CvIdentity *share2_identity;
  CvIdentity *connect_identity;
  CvGateway *gateway;
  guint16 port;
  GPtrArray *agents; /* of Agent, closed at tear-down */
  GPtrArray *raws;   /* of Raw, closed at tear-down */
} Fixture;

static const char *const identity_names[] = { "gateway", "share", "share2", "connect" };

/* The gateway's config: 127.0.0.1, any port; sessions s1 (unless @with_s1 is FALSE),
 * s2 and slow; @limits, the members of "limits" as JSON text (NULL for none). */
static CvGatewayConfig *
make_config (Fixture *fixture, const char *limits, gboolean with_s1)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *s1 = NULL;
  g_autofree char *s2 = NULL;
  g_autofree char *json = NULL;
  CvGatewayConfig *config;

  s1 = g_strdup_printf ("{\"id\": \"s1\", \"name\": \"Session one\", "
                        "\"share_password_hash\": \"%s\", \"connect_password_hash\": \"%s\"},",
                        share_hash, connect_hash);
  s2 = g_strdup_printf ("{\"id\": \"s2\", \"share_password_hash\": \"%s\", "
                        "\"connect_password_hash\": \"%s\"}, "
                        "{\"id\": \"slow\", \"share_password_hash\": \"%s\", "
                        "\"connect_password_hash\": \"%s\"}",
                        share_hash, connect_hash, share_hash, slow_hash);
  json = g_strdup_printf ("{\"listen\": [\"127.0.0.1:1\"], \"state_dir\": \"%s\", "
                          "\"sessions\": [%s%s], \"limits\": {%s}}",
                          fixture->dir, with_s1 ? s1 : "", s2, limits != NULL ? limits : "");
  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  config = cv_gateway_config_new_from_json (json_node_get_object (json_parser_get_root (parser)),
                                            NULL, &error);
  g_assert_no_error (error);
  /* A config refuses port 0, which in a file would be a mistake; here it is what
   * lets the kernel choose a free port, read back from the gateway. */
  g_assert_cmpuint (config->listeners->len, ==, 1);
  ((CvGatewayListener *) config->listeners->pdata[0])->port = 0;
  return config;
}

static CvIdentity *
make_identity (Fixture *fixture, const char *name)
{
  g_autoptr (GError) error = NULL;
  CvIdentity *identity = cv_identity_load_or_create (fixture->dir, name, name, NULL, &error);

  g_assert_no_error (error);
  return identity;
}

static void agent_free (gpointer data);
static void raw_free (gpointer data);

/* @data: the members of the config's "limits", as JSON text, or NULL */
static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  /* The test framework resets the fatal handler before each test. */
  g_test_log_set_fatal_handler (on_fatal_log, NULL);
  g_ptr_array_set_size (gateway_warnings, 0);
  fixture->dir = g_dir_make_tmp ("culvert-gateway-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->gateway_identity = make_identity (fixture, identity_names[0]);
  fixture->share_identity = make_identity (fixture, identity_names[1]);
  fixture->share2_identity = make_identity (fixture, identity_names[2]);
  fixture->connect_identity = make_identity (fixture, identity_names[3]);
  fixture->agents = g_ptr_array_new_with_free_func (agent_free);
  fixture->raws = g_ptr_array_new_with_free_func (raw_free);

  fixture->gateway = cv_gateway_new (make_config (fixture, data, TRUE), fixture->gateway_identity);
  cv_gateway_start (fixture->gateway, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (cv_gateway_get_listen_ports (fixture->gateway)->len, ==, 1);
  fixture->port = g_array_index (cv_gateway_get_listen_ports (fixture->gateway), guint16, 0);
  g_assert_cmpuint (fixture->port, !=, 0);
}

static void
on_gateway_disposed (gpointer data, GObject *where_the_object_was)
{
  GThread **thread = data;

  *thread = g_thread_self ();
}

static gboolean
is_set (gpointer data)
{
  return *(gpointer *) data != NULL;
}

/* Shuts the gateway down and waits until it is gone: whatever it still holds
 * (password checks, joined tunnels, handshakes) must let go of it in bounded time,
 * and it must go on the main thread, where its sockets and links live. */
static void
dispose_gateway (Fixture *fixture)
{
  CvGateway *gateway = g_steal_pointer (&fixture->gateway);
  GThread *disposed_on = NULL;

  cv_gateway_shutdown (gateway);
  g_object_weak_ref (G_OBJECT (gateway), on_gateway_disposed, &disposed_on);
  g_object_unref (gateway);
  g_assert_true (cv_test_wait_until (is_set, &disposed_on, WAIT_MS));
  g_assert_true (disposed_on == g_thread_self ());
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_pointer (&fixture->agents, g_ptr_array_unref);
  g_clear_pointer (&fixture->raws, g_ptr_array_unref);
  if (fixture->gateway != NULL)
    dispose_gateway (fixture);
  assert_warnings_expected ();
  g_clear_object (&fixture->gateway_identity);
  g_clear_object (&fixture->share_identity);
  g_clear_object (&fixture->share2_identity);
  g_clear_object (&fixture->connect_identity);
  /* The gateway writes nothing to state_dir itself: only the keys are there. */
  for (guint i = 0; i < G_N_ELEMENTS (identity_names); i++)
    {
      g_autofree char *name = g_strconcat (identity_names[i], ".pem", NULL);
      g_autofree char *path = g_build_filename (fixture->dir, name, NULL);

      g_assert_cmpint (g_unlink (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (fixture->dir), ==, 0);
  g_free (fixture->dir);
}

/* ---- raw connections: TCP without TLS ----------------------------------- */

typedef struct {
  GSocketConnection *connection;
  GSource *source;
  GByteArray *received;
  gint64 opened_us;
  gint64 closed_us; /* when the gateway closed it (end of stream or reset); 0 while open */
  gboolean written;
} Raw;

static void
raw_free (gpointer data)
{
  Raw *raw = data;

  if (raw->source != NULL)
    {
      g_source_destroy (raw->source);
      g_source_unref (raw->source);
    }
  g_io_stream_close (G_IO_STREAM (raw->connection), NULL, NULL);
  g_object_unref (raw->connection);
  g_byte_array_unref (raw->received);
  g_free (raw);
}

static gboolean
on_raw_readable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  Raw *raw = user_data;
  g_autoptr (GError) error = NULL;
  char buffer[16384];
  gssize n = g_socket_receive_with_blocking (socket, buffer, sizeof buffer, FALSE, NULL, &error);

  if (n > 0)
    {
      g_byte_array_append (raw->received, (const guint8 *) buffer, n);
      return G_SOURCE_CONTINUE;
    }
  if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return G_SOURCE_CONTINUE;
  raw->closed_us = g_get_monotonic_time ();
  g_clear_pointer (&raw->source, g_source_unref);
  return G_SOURCE_REMOVE;
}

/* Connected before the gateway accepts it: the kernel completes the handshake. */
static Raw *
raw_connect (Fixture *fixture)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  Raw *raw = g_new0 (Raw, 1);

  g_socket_client_set_enable_proxy (client, FALSE);
  raw->opened_us = g_get_monotonic_time ();
  raw->connection = g_socket_client_connect_to_host (client, "127.0.0.1", fixture->port, NULL,
                                                     &error);
  g_assert_no_error (error);
  raw->received = g_byte_array_new ();
  raw->source = g_socket_create_source (g_socket_connection_get_socket (raw->connection),
                                        G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (raw->source, G_SOURCE_FUNC (on_raw_readable), raw, NULL);
  g_source_attach (raw->source, NULL);
  g_ptr_array_add (fixture->raws, raw);
  return raw;
}

static void
on_raw_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Raw *raw = user_data;
  g_autoptr (GError) error = NULL;

  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error);
  g_assert_no_error (error);
  raw->written = TRUE;
}

static gboolean
raw_is_written (gpointer data)
{
  return ((Raw *) data)->written;
}

/* Writes from the main loop, so that a gateway reading the other end keeps turning. */
static void
raw_write (Raw *raw, const void *data, gsize len)
{
  raw->written = FALSE;
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (raw->connection)),
                                   data, len, G_PRIORITY_DEFAULT, NULL, on_raw_written, raw);
  g_assert_true (cv_test_wait_until (raw_is_written, raw, WAIT_MS));
}

/* The gateway may have closed it already: that is no error here. */
static void
raw_half_close (Raw *raw)
{
  g_socket_shutdown (g_socket_connection_get_socket (raw->connection), FALSE, TRUE, NULL);
}

static gboolean
raw_is_closed (gpointer data)
{
  return ((Raw *) data)->closed_us != 0;
}

/* Asserts the gateway closes @raw within @within_ms of its opening, having written
 * nothing. */
static void
raw_assert_closed_within (Raw *raw, guint within_ms)
{
  g_assert_true (cv_test_wait_until (raw_is_closed, raw, WAIT_MS));
  g_assert_cmpint ((raw->closed_us - raw->opened_us) / 1000, <, within_ms);
  g_assert_cmpuint (raw->received->len, ==, 0);
}

/* A raw connection that sends @data (NULL: nothing), ends its side, and must be
 * closed by the gateway. */
static void
raw_probe (Fixture *fixture, const char *data, gsize len)
{
  Raw *raw = raw_connect (fixture);

  if (data != NULL)
    raw_write (raw, data, len);
  raw_half_close (raw);
  raw_assert_closed_within (raw, WAIT_MS);
}

typedef struct {
  Raw *raw;
  gsize len;
} Expect;

static gboolean
raw_has_received (gpointer data)
{
  Expect *expect = data;

  return expect->raw->received->len >= expect->len || expect->raw->closed_us != 0;
}

static void
raw_wait_received (Raw *raw, gsize len)
{
  Expect expect = { raw, len };

  g_assert_true (cv_test_wait_until (raw_has_received, &expect, WAIT_MS));
  g_assert_cmpuint (raw->received->len, ==, len);
}

/* ---- scripted agents ---------------------------------------------------- */

/* A string member that must be there. */
static const char *
member (JsonObject *object, const char *key)
{
  g_assert_true (json_object_has_member (object, key));
  return json_object_get_string_member (object, key);
}

typedef struct {
  guint type;
  JsonObject *body;
  gboolean taken;
} Message;

typedef struct {
  CvIdentity *identity; /* NULL: it presents no certificate */
  GSocketConnection *connection;
  GIOStream *tls;
  GError *tls_error;
  gboolean tls_done;
  CvMux *mux;
  GPtrArray *messages; /* of Message, in the order they came */
  gboolean closed;
} Agent;

static void
message_free (gpointer data)
{
  Message *message = data;

  json_object_unref (message->body);
  g_free (message);
}

static void
agent_free (gpointer data)
{
  Agent *agent = data;

  if (agent->mux != NULL)
    {
      g_signal_handlers_disconnect_by_data (agent->mux, agent);
      cv_mux_close (agent->mux);
      g_object_unref (agent->mux);
    }
  g_clear_object (&agent->tls);
  g_io_stream_close (G_IO_STREAM (agent->connection), NULL, NULL);
  g_object_unref (agent->connection);
  g_clear_error (&agent->tls_error);
  g_ptr_array_unref (agent->messages);
  g_free (agent);
}

static void
on_agent_tls (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Agent *agent = user_data;

  agent->tls = cv_tls_client_handshake_finish (result, &agent->tls_error);
  agent->tls_done = TRUE;
}

/* Dials the gateway and starts TLS; the test waits for it before it lets go. */
static Agent *
agent_dial (Fixture *fixture, CvIdentity *identity)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  CvTlsPeerCheck check = {
    .mode = CV_TLS_PEER_CHECK_PINNED,
    .fingerprint = cv_identity_get_fingerprint (fixture->gateway_identity),
    .peer_name = "the gateway",
  };
  Agent *agent = g_new0 (Agent, 1);

  agent->identity = identity;
  agent->messages = g_ptr_array_new_with_free_func (message_free);
  g_socket_client_set_enable_proxy (client, FALSE);
  agent->connection = g_socket_client_connect_to_host (client, "127.0.0.1", fixture->port, NULL,
                                                       &error);
  g_assert_no_error (error);
  g_ptr_array_add (fixture->agents, agent);
  cv_tls_client_handshake_async (G_IO_STREAM (agent->connection), "127.0.0.1", &check, identity,
                                 CV_TLS_ALPN, 0, NULL, on_agent_tls, agent);
  return agent;
}

static gboolean
agent_tls_done (gpointer data)
{
  return ((Agent *) data)->tls_done;
}

static void
on_agent_message (CvMux *mux, guint type, GBytes *json, Agent *agent)
{
  g_autoptr (GError) error = NULL;
  Message *message = g_new0 (Message, 1);

  message->type = type;
  message->body = cv_control_parse (json, &error);
  g_assert_no_error (error);
  g_ptr_array_add (agent->messages, message);
}

static void
on_agent_closed (CvMux *mux, const GError *error, Agent *agent)
{
  agent->closed = TRUE;
}

/* Waits for TLS, then starts a mux as the agents' control links have it. */
static void
agent_start_mux (Agent *agent)
{
  CvMuxConfig config;

  g_assert_true (cv_test_wait_until (agent_tls_done, agent, WAIT_MS));
  g_assert_no_error (agent->tls_error);
  cv_mux_config_init_defaults (&config);
  config.max_channels = 1;
  config.initial_window = 64 * 1024;
  config.max_window = 64 * 1024;
  agent->mux = cv_mux_new (agent->tls, CV_MUX_ROLE_INITIATOR, &config);
  g_signal_connect (agent->mux, "control-message", G_CALLBACK (on_agent_message), agent);
  g_signal_connect (agent->mux, "closed", G_CALLBACK (on_agent_closed), agent);
  cv_mux_start (agent->mux);
}

static Agent *
agent_new (Fixture *fixture, CvIdentity *identity)
{
  Agent *agent = agent_dial (fixture, identity);

  agent_start_mux (agent);
  return agent;
}

static void
agent_send (Agent *agent, guint type, const char *json)
{
  g_autoptr (GError) error = NULL;

  cv_mux_send_control (agent->mux, type, json, &error);
  g_assert_no_error (error);
}

/* A HELLO with @fingerprint, or the agent's own key's when NULL. */
static void
agent_hello_as (Agent *agent,
                CvAgentRole role,
                const char *session,
                const char *password,
                const char *name,
                const char *fingerprint)
{
  CvHello hello = {
    .version = CV_PROTOCOL_VERSION,
    .role = role,
    .session = (char *) session,
    .password = (char *) password,
    .name = (char *) name,
    .fingerprint = (char *) (fingerprint != NULL ? fingerprint
                                                 : cv_identity_get_fingerprint (agent->identity)),
  };
  g_autofree char *json = cv_control_build_hello (&hello);

  agent_send (agent, CV_CONTROL_HELLO, json);
}

static void
agent_hello (Agent *agent, CvAgentRole role, const char *session, const char *password,
             const char *name)
{
  agent_hello_as (agent, role, session, password, name, NULL);
}

static Message *
agent_find (Agent *agent, guint type, gboolean untaken)
{
  for (guint i = 0; i < agent->messages->len; i++)
    {
      Message *message = agent->messages->pdata[i];

      if (message->type == type && !(untaken && message->taken))
        return message;
    }
  return NULL;
}

static guint
agent_count (Agent *agent, guint type)
{
  guint n = 0;

  for (guint i = 0; i < agent->messages->len; i++)
    if (((Message *) agent->messages->pdata[i])->type == type)
      n++;
  return n;
}

static gboolean
agent_is_answered (gpointer data)
{
  Agent *agent = data;

  return agent->closed || agent_find (agent, CV_CONTROL_WELCOME, FALSE) != NULL
         || agent_find (agent, CV_CONTROL_REFUSED, FALSE) != NULL;
}

/* Returns: "welcome", the reason of REFUSED, or "closed" (without either) */
static const char *
agent_answer (Agent *agent)
{
  g_assert_true (cv_test_wait_until (agent_is_answered, agent, WAIT_MS));
  for (guint i = 0; i < agent->messages->len; i++)
    {
      Message *message = agent->messages->pdata[i];

      if (message->type == CV_CONTROL_WELCOME)
        return "welcome";
      if (message->type == CV_CONTROL_REFUSED)
        return member (message->body, "reason");
    }
  return "closed";
}

static JsonObject *
agent_refusal (Agent *agent)
{
  Message *message = agent_find (agent, CV_CONTROL_REFUSED, FALSE);

  g_assert_nonnull (message);
  return message->body;
}

typedef struct {
  Agent *agent;
  guint type;
} Want;

static gboolean
agent_has_untaken (gpointer data)
{
  Want *want = data;

  return agent_find (want->agent, want->type, TRUE) != NULL;
}

/* The next control message of @type not taken yet, waited for. */
static JsonObject *
agent_next (Agent *agent, guint type)
{
  Want want = { agent, type };
  Message *message;

  g_assert_true (cv_test_wait_until (agent_has_untaken, &want, WAIT_MS));
  message = agent_find (agent, type, TRUE);
  message->taken = TRUE;
  return message->body;
}

static gboolean
agent_is_closed (gpointer data)
{
  return ((Agent *) data)->closed;
}

static void
agent_wait_closed (Agent *agent)
{
  g_assert_true (cv_test_wait_until (agent_is_closed, agent, WAIT_MS));
}

/* Our side goes away at once, as a crashed agent's would. */
static void
agent_close (Agent *agent)
{
  cv_mux_close (agent->mux);
  agent_wait_closed (agent);
}

/* Dials, says HELLO and waits for the answer. */
static Agent *
attempt (Fixture *fixture,
         CvIdentity *identity,
         CvAgentRole role,
         const char *session,
         const char *password,
         const char *name)
{
  Agent *agent = agent_new (fixture, identity);

  agent_hello (agent, role, session, password, name);
  agent_answer (agent);
  return agent;
}

static Agent *
login (Fixture *fixture, CvIdentity *identity, CvAgentRole role, const char *session,
       const char *name)
{
  Agent *agent = attempt (fixture, identity, role, session,
                          role == CV_AGENT_ROLE_SHARE ? SHARE_PASSWORD : CONNECT_PASSWORD, name);

  g_assert_cmpstr (agent_answer (agent), ==, "welcome");
  return agent;
}

/* Share agent "server" and connect agent "laptop" of session s1, both welcomed. */
static void
login_pair (Fixture *fixture, Agent **share, Agent **connect)
{
  *share = login (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s1", "server");
  *connect = login (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1", "laptop");
}

/* REFUSED with @reason and @message, then the gateway's graceful close. */
static void
assert_refused (Agent *agent, const char *reason, const char *message)
{
  JsonObject *body;
  const char *goaway_message = NULL;

  g_assert_cmpstr (agent_answer (agent), ==, reason);
  body = agent_refusal (agent);
  g_assert_cmpstr (member (body, "message"), ==, message);
  agent_wait_closed (agent);
  g_assert_cmpint (cv_mux_get_peer_goaway (agent->mux, &goaway_message), ==,
                   CV_LINK_REASON_NORMAL);
  g_assert_cmpstr (goaway_message, ==, reason);
  g_assert_cmpuint (agent_count (agent, CV_CONTROL_WELCOME), ==, 0);
}

/* ---- logging in --------------------------------------------------------- */

static void
test_login (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GString) long_name = g_string_new (NULL);
  Agent *share, *connect;
  JsonObject *welcome;

  /* 128 characters of a non-Latin name are 256 bytes, and fit. */
  for (guint i = 0; i < 128; i++)
    g_string_append (long_name, "é");
  share = login (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s1", long_name->str);
  welcome = agent_next (share, CV_CONTROL_WELCOME);
  g_assert_cmpstr (member (welcome, "session"), ==, "s1");
  g_assert_cmpstr (member (welcome, "role"), ==, "share");
  g_assert_false (json_object_has_member (welcome, "share_online"));

  connect = login (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1", "laptop");
  welcome = agent_next (connect, CV_CONTROL_WELCOME);
  g_assert_cmpstr (member (welcome, "session"), ==, "s1");
  g_assert_cmpstr (member (welcome, "role"), ==, "connect");
  g_assert_true (json_object_get_boolean_member (welcome, "share_online"));
  g_assert_cmpstr (member (welcome, "share_name"), ==, long_name->str);
  g_assert_cmpstr (member (welcome, "share_fingerprint"), ==,
                   cv_identity_get_fingerprint (fixture->share_identity));
  g_assert_cmpuint (cv_gateway_get_n_links (fixture->gateway), ==, 2);

  /* The share agent goes: its connect agents hear of it. */
  agent_close (share);
  welcome = agent_next (connect, CV_CONTROL_PRESENCE);
  g_assert_false (json_object_get_boolean_member (welcome, "share_online"));
  g_assert_false (json_object_has_member (welcome, "share_fingerprint"));
  g_assert_false (connect->closed);
}

static void
test_bad_password (Fixture *fixture, gconstpointer data)
{
  Agent *agent = attempt (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s1",
                          CONNECT_PASSWORD, "wrong side");

  assert_refused (agent, CV_REASON_BAD_PASSWORD, "wrong password for this session");
  g_assert_false (json_object_has_member (agent_refusal (agent), "retry_after_ms"));
}

static void
test_unknown_session (Fixture *fixture, gconstpointer data)
{
  Agent *agent = attempt (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s3",
                          SHARE_PASSWORD, "lost");

  assert_refused (agent, CV_REASON_UNKNOWN_SESSION, "no such session on this gateway");
}

/* The key an agent names must be the key it proved it holds. */
static void
test_fingerprint_mismatch (Fixture *fixture, gconstpointer data)
{
  Agent *agent = agent_new (fixture, fixture->share_identity);

  agent_hello_as (agent, CV_AGENT_ROLE_SHARE, "s1", SHARE_PASSWORD, "impostor",
                  cv_identity_get_fingerprint (fixture->share2_identity));
  assert_refused (agent, CV_REASON_BAD_REQUEST,
                  "the key in HELLO is not the key of the TLS connection");
}

/* Names travel into logs and other agents' screens: no line breaks, no escapes.  The
 * password is right, so only the check on the name stands between these and WELCOME. */
static void
test_control_character_in_name (Fixture *fixture, gconstpointer data)
{
  const char *names[] = {
    "host\ngateway error: session s1: share agent offline",
    "host\r",
    "\x1b[2Jhost",
    "host\x7f",
    "host\xc2\x85", /* U+0085, a C1 control */
  };

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      Agent *agent = attempt (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s1",
                              SHARE_PASSWORD, names[i]);

      assert_refused (agent, CV_REASON_BAD_REQUEST, "HELLO: “name” holds a control character");
    }
}

/* Session ids in HELLO have the config's alphabet; without the check these would be
 * "unknown-session", logged as they are. */
static void
test_bad_session_id (Fixture *fixture, gconstpointer data)
{
  const char *sessions[] = { "s 1", "s1\n", "s/1", "s1\x1b[0m", "sé" };

  for (gsize i = 0; i < G_N_ELEMENTS (sessions); i++)
    {
      Agent *agent = attempt (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE,
                              sessions[i], SHARE_PASSWORD, "host");

      assert_refused (agent, CV_REASON_BAD_REQUEST,
                      "HELLO: “session” may hold only letters, digits, “.”, “_” and “-”");
    }
}

/* Whatever else comes before WELCOME is refused, and the HELLO before it, whose
 * password was right and is still being checked, admits nothing afterwards. */
static void
assert_refused_before_welcome (Fixture *fixture, guint second_type, const char *second_json)
{
  Agent *share = agent_new (fixture, fixture->share_identity);
  Agent *connect;
  JsonObject *welcome;

  agent_hello (share, CV_AGENT_ROLE_SHARE, "s1", SHARE_PASSWORD, "eager");
  agent_send (share, second_type, second_json);
  assert_refused (share, CV_REASON_BAD_REQUEST, "a message before WELCOME");

  connect = login (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1", "laptop");
  welcome = agent_next (connect, CV_CONTROL_WELCOME);
  g_assert_false (json_object_get_boolean_member (welcome, "share_online"));
}

static void
test_second_hello (Fixture *fixture, gconstpointer data)
{
  CvHello hello = {
    .version = CV_PROTOCOL_VERSION,
    .role = CV_AGENT_ROLE_SHARE,
    .session = (char *) "s1",
    .password = (char *) SHARE_PASSWORD,
    .name = (char *) "again",
    .fingerprint = (char *) cv_identity_get_fingerprint (fixture->share_identity),
  };
  g_autofree char *json = cv_control_build_hello (&hello);

  assert_refused_before_welcome (fixture, CV_CONTROL_HELLO, json);
}

static void
test_message_before_welcome (Fixture *fixture, gconstpointer data)
{
  assert_refused_before_welcome (fixture, CV_CONTROL_TUNNEL_REQUEST, "{}");
}

static void
test_first_message_not_hello (Fixture *fixture, gconstpointer data)
{
  Agent *agent = agent_new (fixture, fixture->connect_identity);

  agent_send (agent, CV_CONTROL_TUNNEL_REQUEST, "{}");
  assert_refused (agent, CV_REASON_BAD_REQUEST, "the first message must be HELLO");
}

/* ---- the failed-login limiter ------------------------------------------- */

/* Ten guesses at once from one address.  All ten HELLOs are on the wire before the
 * gateway has read any, and it reads them all within far less than one check of
 * session slow's password (~400 ms): the first two start checks, the other eight
 * find two checks under way for their address and are told to come back
 * (MAX_VERIFYING_PER_ADDRESS).  The two checks fail: two failures, fewer than the
 * five that block the address.  Without that cap all ten would be checked and
 * answered bad-password. */
#define N_GUESSERS 10

static void
test_concurrent_wrong_passwords (Fixture *fixture, gconstpointer data)
{
  Agent *agents[N_GUESSERS];
  guint n_bad_password = 0;
  guint n_rate_limited = 0;

  for (guint i = 0; i < N_GUESSERS; i++)
    agents[i] = agent_dial (fixture, fixture->connect_identity);
  for (guint i = 0; i < N_GUESSERS; i++)
    agent_start_mux (agents[i]);
  for (guint i = 0; i < N_GUESSERS; i++)
    agent_hello (agents[i], CV_AGENT_ROLE_CONNECT, "slow", WRONG_PASSWORD, "guesser");

  for (guint i = 0; i < N_GUESSERS; i++)
    {
      const char *answer = agent_answer (agents[i]);

      if (g_str_equal (answer, CV_REASON_BAD_PASSWORD))
        n_bad_password++;
      else
        {
          JsonObject *body = agent_refusal (agents[i]);

          g_assert_cmpstr (answer, ==, CV_REASON_RATE_LIMITED);
          g_assert_cmpstr (member (body, "message"), ==,
                           "a login from this address is already being checked");
          g_assert_cmpint (json_object_get_int_member (body, "retry_after_ms"), ==, 1000);
          n_rate_limited++;
        }
    }
  g_assert_cmpuint (n_bad_password, ==, 2);
  g_assert_cmpuint (n_rate_limited, ==, N_GUESSERS - 2);

  /* Two failures do not block the address: the right password gets in. */
  login (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "slow", "owner");
}

/* The limiter blocks an address after five failures (auth_failures_before_backoff),
 * each within 15 minutes of the one before, for 1 s at first; a success must not
 * forget the failures before it, or a holder of one valid password could guess
 * another session's without ever waiting. */
static void
test_success_keeps_failures (Fixture *fixture, gconstpointer data)
{
  Agent *agent;
  JsonObject *body;

  for (guint i = 0; i < 4; i++)
    {
      agent = attempt (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1",
                       WRONG_PASSWORD, "guesser");
      g_assert_cmpstr (agent_answer (agent), ==, CV_REASON_BAD_PASSWORD);
    }
  login (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s2", "insider");
  agent = attempt (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1",
                   WRONG_PASSWORD, "guesser");
  g_assert_cmpstr (agent_answer (agent), ==, CV_REASON_BAD_PASSWORD);

  /* The fifth failure blocked the address for 1 s; this comes well within it. */
  agent = attempt (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1",
                   CONNECT_PASSWORD, "owner");
  g_assert_cmpstr (agent_answer (agent), ==, CV_REASON_RATE_LIMITED);
  body = agent_refusal (agent);
  g_assert_cmpstr (member (body, "message"), ==,
                   "too many failed attempts from this address");
  g_assert_cmpint (json_object_get_int_member (body, "retry_after_ms"), >=, 1);
  g_assert_cmpint (json_object_get_int_member (body, "retry_after_ms"), <=, 1000);
}

/* ---- admission before authentication ------------------------------------ */

/* With max_pending_handshakes 160, one address may hold 160 / 8 = 20 slots. */
#define ADMISSION_LIMITS "\"max_pending_handshakes\": 160, \"handshake_timeout_ms\": 1500"
#define PER_ADDRESS 20
#define N_IDLE 40

static gboolean
raws_all_closed (gpointer data)
{
  Fixture *fixture = data;

  for (guint i = 0; i < fixture->raws->len; i++)
    if (!raw_is_closed (fixture->raws->pdata[i]))
      return FALSE;
  return TRUE;
}

/* Forty idle connections from one address: the first twenty hold their slots until
 * the handshake deadline, the rest are closed on arrival; the slots come back. */
static void
test_admission_per_address (Fixture *fixture, gconstpointer data)
{
  Raw *raws[N_IDLE];
  gint64 started_us = g_get_monotonic_time ();

  /* The kernel queues them in this order, and the gateway accepts them in it. */
  for (guint i = 0; i < N_IDLE; i++)
    raws[i] = raw_connect (fixture);
  g_assert_true (cv_test_wait_until (raws_all_closed, fixture, WAIT_MS));

  for (guint i = 0; i < N_IDLE; i++)
    {
      gint64 closed_ms = (raws[i]->closed_us - started_us) / 1000;

      g_assert_cmpuint (raws[i]->received->len, ==, 0);
      if (i < PER_ADDRESS)
        {
          /* Closed by the 1.5 s deadline, counted from accept. */
          g_assert_cmpint (closed_ms, >=, 1000);
          g_assert_cmpint (closed_ms, <, 4000);
        }
      else
        g_assert_cmpint (closed_ms, <, 1000);
    }
  g_assert_cmpuint (gateway_warnings->len, ==, N_IDLE - PER_ADDRESS);
  g_assert_cmpuint (count_warnings ("127.0.0.1: refused: 20 unauthenticated connections from "
                                    "this address (limit 20)"),
                    ==, N_IDLE - PER_ADDRESS);

  /* Every slot was given back. */
  login (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s1", "share");
  g_assert_cmpuint (gateway_warnings->len, ==, N_IDLE - PER_ADDRESS);
}

static char *
tunnel_preface (const char *ticket)
{
  char *preface = cv_tunnel_preface_build (ticket);

  g_assert_cmpuint (strlen (preface), ==, CV_TUNNEL_PREFACE_LENGTH);
  return preface;
}

static gboolean
either_is_closed (gpointer data)
{
  Raw **pair = data;

  return raw_is_closed (pair[0]) || raw_is_closed (pair[1]);
}

/* Presents @ticket as a tunnel half.  It is sent twice, on two connections: the
 * gateway closes the one it reads second, so once one is closed the ticket is used
 * up, and the other one, returned, holds the half. */
static Raw *
present_ticket (Fixture *fixture, const char *ticket)
{
  g_autofree char *preface = tunnel_preface (ticket);
  Raw *pair[2];

  pair[0] = raw_connect (fixture);
  pair[1] = raw_connect (fixture);
  raw_write (pair[0], preface, CV_TUNNEL_PREFACE_LENGTH);
  raw_write (pair[1], preface, CV_TUNNEL_PREFACE_LENGTH);
  g_assert_true (cv_test_wait_until (either_is_closed, pair, WAIT_MS));
  g_assert_true (raw_is_closed (pair[0]) != raw_is_closed (pair[1]));
  return raw_is_closed (pair[0]) ? pair[1] : pair[0];
}

/* Every way a connection can end before WELCOME gives its slot back, and so does
 * WELCOME: each is done one more time than the cap, so that one slot kept by any
 * of them would lock the address out.  With max_pending_handshakes 16 the cap is 16
 * overall and per address. */
#define SLOTS_LIMITS "\"max_pending_handshakes\": 16, \"handshake_timeout_ms\": 1000"
#define SLOTS_CAP 16
#define SILENT_BATCH 4

static void
test_admission_slots_return (Fixture *fixture, gconstpointer data)
{
  static const char bad_client_hello[] = { 0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00 };
  g_autofree char *unknown_ticket = cv_ticket_new ();
  g_autofree char *unknown_preface = tunnel_preface (unknown_ticket);
  g_autofree char *malformed_preface = g_strdup (unknown_preface);
  Agent *share, *connect;
  Agent *silent[SILENT_BATCH];

  login_pair (fixture, &share, &connect);
  malformed_preface[sizeof CV_TUNNEL_PREFACE_PREFIX] = '!';
  for (guint round = 0; round <= SLOTS_CAP; round++)
    {
      Agent *agent;
      JsonObject *share_offer, *connect_offer;
      Raw *halves[2];

      /* Before the first byte, and at it. */
      raw_probe (fixture, NULL, 0);
      raw_probe (fixture, "GET / HTTP/1.1\r\n\r\n", 18);
      /* A tunnel preface that is not one, or names no ticket. */
      raw_probe (fixture, malformed_preface, CV_TUNNEL_PREFACE_LENGTH);
      raw_probe (fixture, unknown_preface, CV_TUNNEL_PREFACE_LENGTH);
      /* The TLS handshake fails: a broken ClientHello; no client certificate. */
      raw_probe (fixture, bad_client_hello, sizeof bad_client_hello);
      agent = agent_dial (fixture, NULL);
      g_assert_true (cv_test_wait_until (agent_tls_done, agent, WAIT_MS));
      if (agent->tls_error == NULL)
        {
          /* TLS 1.3: the client is done before the server has seen its certificate. */
          agent_start_mux (agent);
          agent_wait_closed (agent);
        }
      /* TLS, then a HELLO that is refused. */
      agent = attempt (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1",
                       CONNECT_PASSWORD, "bad\nname");
      assert_refused (agent, CV_REASON_BAD_REQUEST, "HELLO: “name” holds a control character");
      /* Welcomed: the slot goes at WELCOME, not at the close; these stay up. */
      login (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1", "visitor");
      /* A tunnel half, from its preface on. */
      agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
      share_offer = agent_next (share, CV_CONTROL_TUNNEL_OFFER);
      connect_offer = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
      halves[0] = present_ticket (fixture, member (share_offer, "ticket"));
      halves[1] = present_ticket (fixture,
                                  member (connect_offer, "ticket"));
      raw_write (halves[0], "ping", 4);
      raw_wait_received (halves[1], 4);
      g_ptr_array_remove (fixture->raws, halves[0]);
      g_ptr_array_remove (fixture->raws, halves[1]);
    }

  /* No HELLO before the deadline, in batches: each TLS handshake, both ends of it
   * in this process, takes a thread of GLib's task pool while it runs. */
  for (guint done = 0; done <= SLOTS_CAP; done += SILENT_BATCH)
    {
      guint n = MIN (SILENT_BATCH, SLOTS_CAP + 1 - done);

      for (guint i = 0; i < n; i++)
        silent[i] = agent_dial (fixture, fixture->connect_identity);
      for (guint i = 0; i < n; i++)
        agent_start_mux (silent[i]);
      for (guint i = 0; i < n; i++)
        {
          agent_wait_closed (silent[i]);
          g_assert_cmpint (cv_mux_get_peer_goaway (silent[i]->mux, NULL), ==,
                           CV_LINK_REASON_SHUTTING_DOWN);
          g_assert_cmpuint (silent[i]->messages->len, ==, 0);
        }
    }

  login (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1", "last");
  /* Nothing was turned away on the way. */
  g_assert_cmpuint (gateway_warnings->len, ==, 0);
}

/* Not TLS, not a tunnel: closed at once, long before the 10 s deadline. */
static void
test_not_culvert (Fixture *fixture, gconstpointer data)
{
  static const char request[] = "GET / HTTP/1.1\r\nHost: gateway.example\r\n\r\n";
  Raw *raw = raw_connect (fixture);

  raw_write (raw, request, sizeof request - 1);
  raw_assert_closed_within (raw, 1000);
}

/* ---- tunnels ------------------------------------------------------------ */

static void
test_unknown_ticket (Fixture *fixture, gconstpointer data)
{
  g_autofree char *ticket = cv_ticket_new ();
  g_autofree char *preface = tunnel_preface (ticket);
  Raw *raw = raw_connect (fixture);

  raw_write (raw, preface, CV_TUNNEL_PREFACE_LENGTH);
  raw_assert_closed_within (raw, 1000);
}

static gboolean
has_one_tunnel (gpointer data)
{
  return cv_gateway_get_n_tunnels (data) == 1;
}

static gboolean
has_no_tunnel (gpointer data)
{
  return cv_gateway_get_n_tunnels (data) == 0;
}

/* @len random bytes written on @from arrive on @to unchanged, and nothing else. */
static void
assert_relayed (Raw *from, Raw *to, gsize len, guint32 seed)
{
  g_autofree guint8 *sent = g_malloc (len);
  gsize before = to->received->len;

  cv_test_fill_random (sent, len, seed);
  raw_write (from, sent, len);
  raw_wait_received (to, before + len);
  g_assert_cmpmem (to->received->data + before, len, sent, len);
}

static void
test_tunnel (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect;
  guint8 first_bytes[CV_TUNNEL_PREFACE_LENGTH + 517];
  JsonObject *to_share, *to_connect;
  const char *share_ticket, *connect_ticket;
  g_autofree char *share_preface = NULL;
  g_autofree char *connect_preface = NULL;
  Raw *share_half, *connect_half, *again;

  login_pair (fixture, &share, &connect);
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  to_share = agent_next (share, CV_CONTROL_TUNNEL_OFFER);
  to_connect = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);

  share_ticket = member (to_share, "ticket");
  connect_ticket = member (to_connect, "ticket");
  g_assert_cmpuint (strlen (share_ticket), ==, CV_TICKET_LENGTH);
  g_assert_cmpuint (strlen (connect_ticket), ==, CV_TICKET_LENGTH);
  g_assert_cmpstr (share_ticket, !=, connect_ticket);
  g_assert_cmpstr (member (to_share, "tls_role"), ==, "server");
  g_assert_cmpstr (member (to_share, "peer_fingerprint"), ==,
                   cv_identity_get_fingerprint (fixture->connect_identity));
  g_assert_cmpstr (member (to_share, "peer_name"), ==, "laptop");
  g_assert_cmpstr (member (to_share, "peer_address"), ==, "127.0.0.1");
  g_assert_cmpstr (member (to_connect, "tls_role"), ==, "client");
  g_assert_cmpstr (member (to_connect, "peer_fingerprint"), ==,
                   cv_identity_get_fingerprint (fixture->share_identity));
  g_assert_cmpstr (member (to_connect, "peer_name"), ==, "server");
  g_assert_false (json_object_has_member (to_connect, "error"));

  /* The connect half comes first, with bytes right behind its preface as a
   * ClientHello would be: they wait, unread, until the share half is there. */
  share_preface = tunnel_preface (share_ticket);
  connect_preface = tunnel_preface (connect_ticket);
  memcpy (first_bytes, connect_preface, CV_TUNNEL_PREFACE_LENGTH);
  cv_test_fill_random (first_bytes + CV_TUNNEL_PREFACE_LENGTH,
                       sizeof first_bytes - CV_TUNNEL_PREFACE_LENGTH, 1);
  connect_half = raw_connect (fixture);
  raw_write (connect_half, first_bytes, sizeof first_bytes);
  share_half = raw_connect (fixture);
  raw_write (share_half, share_preface, CV_TUNNEL_PREFACE_LENGTH);
  g_assert_true (cv_test_wait_until (has_one_tunnel, fixture->gateway, WAIT_MS));
  /* The gateway read the preface and not a byte more, and wrote nothing of its own. */
  raw_wait_received (share_half, sizeof first_bytes - CV_TUNNEL_PREFACE_LENGTH);
  g_assert_cmpmem (share_half->received->data, share_half->received->len,
                   first_bytes + CV_TUNNEL_PREFACE_LENGTH,
                   sizeof first_bytes - CV_TUNNEL_PREFACE_LENGTH);
  g_assert_cmpuint (connect_half->received->len, ==, 0);

  /* Then bytes both ways, unchanged. */
  assert_relayed (connect_half, share_half, 256 * 1024, 2);
  assert_relayed (share_half, connect_half, 64 * 1024, 3);
  g_assert_false (raw_is_closed (share_half));
  g_assert_false (raw_is_closed (connect_half));

  /* A ticket is good once. */
  again = raw_connect (fixture);
  raw_write (again, connect_preface, CV_TUNNEL_PREFACE_LENGTH);
  raw_assert_closed_within (again, 1000);
  again = raw_connect (fixture);
  raw_write (again, share_preface, CV_TUNNEL_PREFACE_LENGTH);
  raw_assert_closed_within (again, 1000);

  /* One half ends: the other reads the end, and once it is gone too the tunnel is. */
  g_ptr_array_remove (fixture->raws, connect_half);
  g_assert_true (cv_test_wait_until (raw_is_closed, share_half, WAIT_MS));
  g_ptr_array_remove (fixture->raws, share_half);
  g_assert_true (cv_test_wait_until (has_no_tunnel, fixture->gateway, WAIT_MS));
}

/* A rendezvous counts against max_tunnels from its offer until it ends, however
 * many of its tickets have been presented. */
static void
test_max_tunnels (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect;
  JsonObject *to_share, *to_connect, *refusal;
  Raw *share_half, *connect_half;

  login_pair (fixture, &share, &connect);
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  to_share = agent_next (share, CV_CONTROL_TUNNEL_OFFER);
  to_connect = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
  g_assert_true (json_object_has_member (to_connect, "ticket"));

  /* Half presented: one ticket of the two is left, still one rendezvous. */
  share_half = present_ticket (fixture, member (to_share, "ticket"));
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  refusal = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
  g_assert_cmpstr (member (refusal, "error"), ==,
                   CV_REASON_LIMIT_REACHED);
  g_assert_false (json_object_has_member (refusal, "ticket"));

  /* Joined, it is a tunnel, which counts the same. */
  connect_half = present_ticket (fixture, member (to_connect, "ticket"));
  g_assert_true (cv_test_wait_until (has_one_tunnel, fixture->gateway, WAIT_MS));
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  refusal = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
  g_assert_cmpstr (member (refusal, "error"), ==,
                   CV_REASON_LIMIT_REACHED);
  g_assert_cmpuint (count_warnings ("session s1: tunnel refused: the gateway carries its "
                                    "maximum of 1 tunnels"),
                    ==, 2);

  /* Ended, it is not counted any more. */
  g_ptr_array_remove (fixture->raws, connect_half);
  g_ptr_array_remove (fixture->raws, share_half);
  g_assert_true (cv_test_wait_until (has_no_tunnel, fixture->gateway, WAIT_MS));
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  to_connect = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
  g_assert_true (json_object_has_member (to_connect, "ticket"));
  /* The share agent's offer travels on its own link: it may come a moment later. */
  g_assert_true (json_object_has_member (agent_next (share, CV_CONTROL_TUNNEL_OFFER), "ticket"));
  g_assert_cmpuint (agent_count (share, CV_CONTROL_TUNNEL_OFFER), ==, 2);
}

/* A connect agent may hold four offers it has not used; the fifth request is
 * refused, and using one makes room for one more. */
static void
test_unused_offers (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect;
  JsonObject *offers[5];

  login_pair (fixture, &share, &connect);
  for (guint i = 0; i < G_N_ELEMENTS (offers); i++)
    agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  for (guint i = 0; i < G_N_ELEMENTS (offers); i++)
    offers[i] = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
  for (guint i = 0; i < 4; i++)
    {
      g_assert_true (json_object_has_member (offers[i], "ticket"));
      g_assert_false (json_object_has_member (offers[i], "error"));
    }
  g_assert_cmpstr (member (offers[4], "error"), ==,
                   CV_REASON_RATE_LIMITED);
  g_assert_false (json_object_has_member (offers[4], "ticket"));

  /* The connect agent uses one of its tickets: it has three unused, and may get one
   * more.  (The share agent was offered only the four.) */
  present_ticket (fixture, member (offers[0], "ticket"));
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  offers[0] = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
  g_assert_true (json_object_has_member (offers[0], "ticket"));
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  offers[0] = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
  g_assert_cmpstr (member (offers[0], "error"), ==,
                   CV_REASON_RATE_LIMITED);
  g_assert_cmpuint (agent_count (share, CV_CONTROL_TUNNEL_OFFER), ==, 5);

  /* Another connect agent has its own four. */
  connect = login (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1", "desktop");
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  g_assert_true (json_object_has_member (agent_next (connect, CV_CONTROL_TUNNEL_OFFER),
                                         "ticket"));
}

/* A gateway that goes away with offers outstanding forgets them at once: a half
 * already presented is closed, and no ticket timer is left to fire. */
static void
test_dispose_with_rendezvous (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect;
  JsonObject *to_share;
  Raw *half;
  gint64 disposed_us;

  login_pair (fixture, &share, &connect);
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  to_share = agent_next (share, CV_CONTROL_TUNNEL_OFFER);
  agent_next (share, CV_CONTROL_TUNNEL_OFFER);
  agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
  agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
  half = present_ticket (fixture, member (to_share, "ticket"));

  disposed_us = g_get_monotonic_time ();
  dispose_gateway (fixture);
  g_assert_true (cv_test_wait_until (raw_is_closed, half, WAIT_MS));
  g_assert_cmpint ((half->closed_us - disposed_us) / 1000, <, 1000);
  /* Past the tickets' 1.5 s: a timer left behind would fire now, into freed memory. */
  g_usleep (1600 * 1000);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* ---- sessions: replacement and reload ----------------------------------- */

static gboolean
has_two_links (gpointer data)
{
  return cv_gateway_get_n_links (data) == 2;
}

static void
test_share_replaced (Fixture *fixture, gconstpointer data)
{
  Agent *first = login (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s1", "old host");
  Agent *connect = login (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1",
                          "laptop");
  Agent *second;
  JsonObject *presence, *to_second, *to_connect;
  const char *message = NULL;

  g_assert_cmpstr (member (agent_next (connect, CV_CONTROL_WELCOME),
                                                  "share_fingerprint"),
                   ==, cv_identity_get_fingerprint (fixture->share_identity));

  second = login (fixture, fixture->share2_identity, CV_AGENT_ROLE_SHARE, "s1", "new host");
  agent_wait_closed (first);
  g_assert_cmpint (cv_mux_get_peer_goaway (first->mux, &message), ==, CV_LINK_REASON_REPLACED);
  g_assert_cmpstr (message, ==, "replaced by share agent “new host” from 127.0.0.1");

  presence = agent_next (connect, CV_CONTROL_PRESENCE);
  g_assert_true (json_object_get_boolean_member (presence, "share_online"));
  g_assert_cmpstr (member (presence, "share_name"), ==, "new host");
  g_assert_cmpstr (member (presence, "share_fingerprint"), ==,
                   cv_identity_get_fingerprint (fixture->share2_identity));

  /* The old link is gone for the gateway too, without a word to the connect agent;
   * tunnels go to the new share agent. */
  g_assert_true (cv_test_wait_until (has_two_links, fixture->gateway, WAIT_MS));
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  to_second = agent_next (second, CV_CONTROL_TUNNEL_OFFER);
  to_connect = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
  g_assert_cmpstr (member (to_second, "peer_fingerprint"), ==,
                   cv_identity_get_fingerprint (fixture->connect_identity));
  g_assert_cmpstr (member (to_connect, "peer_fingerprint"), ==,
                   cv_identity_get_fingerprint (fixture->share2_identity));
  g_assert_cmpuint (agent_count (connect, CV_CONTROL_PRESENCE), ==, 1);
  g_assert_cmpuint (agent_count (first, CV_CONTROL_TUNNEL_OFFER), ==, 0);
  g_assert_false (second->closed);
  g_assert_false (connect->closed);
}

static void
test_reload_removes_session (Fixture *fixture, gconstpointer data)
{
  Agent *removed[2];
  Agent *other, *connect, *agent;
  g_autoptr (GError) error = NULL;
  JsonObject *welcome;

  login_pair (fixture, &removed[0], &removed[1]);
  other = login (fixture, fixture->share2_identity, CV_AGENT_ROLE_SHARE, "s2", "other");
  g_assert_true (cv_gateway_reload (fixture->gateway, make_config (fixture, NULL, FALSE), &error));
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (removed); i++)
    {
      const char *message = NULL;

      agent_wait_closed (removed[i]);
      g_assert_cmpint (cv_mux_get_peer_goaway (removed[i]->mux, &message), ==,
                       CV_LINK_REASON_SHUTTING_DOWN);
      g_assert_cmpstr (message, ==, "the session was removed from the gateway");
    }

  /* s2 is as it was: its share agent is up and still its session's. */
  connect = login (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s2", "laptop");
  welcome = agent_next (connect, CV_CONTROL_WELCOME);
  g_assert_true (json_object_get_boolean_member (welcome, "share_online"));
  g_assert_cmpstr (member (welcome, "share_fingerprint"), ==,
                   cv_identity_get_fingerprint (fixture->share2_identity));
  g_assert_false (other->closed);
  g_assert_null (cv_mux_get_error (other->mux));

  agent = attempt (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s1", SHARE_PASSWORD,
                   "server");
  assert_refused (agent, CV_REASON_UNKNOWN_SESSION, "no such session on this gateway");
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  cv_tls_restrict_process_to_tls13 ();
  gateway_warnings = g_ptr_array_new_with_free_func (g_free);
  g_log_set_handler (ENGINE_DOMAIN, G_LOG_LEVEL_WARNING | G_LOG_FLAG_FATAL, on_engine_warning,
                     NULL);

  share_hash = cv_password_hash (SHARE_PASSWORD, &error);
  g_assert_no_error (error);
  connect_hash = cv_password_hash (CONNECT_PASSWORD, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sodium_init (), >=, 0);
  g_assert_cmpint (crypto_pwhash_str (slow_hash, CONNECT_PASSWORD, strlen (CONNECT_PASSWORD),
                                      SLOW_PASSES, crypto_pwhash_MEMLIMIT_INTERACTIVE),
                   ==, 0);
  g_assert_true (cv_password_hash_is_valid (slow_hash, NULL));

#define ADD(path, limits, func)                                                                \
  g_test_add (path, Fixture, limits, fixture_set_up, func, fixture_tear_down)
  ADD ("/gateway/login", NULL, test_login);
  ADD ("/gateway/refused/bad-password", NULL, test_bad_password);
  ADD ("/gateway/refused/unknown-session", NULL, test_unknown_session);
  ADD ("/gateway/refused/fingerprint-mismatch", NULL, test_fingerprint_mismatch);
  ADD ("/gateway/refused/control-character-in-name", NULL, test_control_character_in_name);
  ADD ("/gateway/refused/bad-session-id", NULL, test_bad_session_id);
  ADD ("/gateway/refused/second-hello", NULL, test_second_hello);
  ADD ("/gateway/refused/message-before-welcome", NULL, test_message_before_welcome);
  ADD ("/gateway/refused/first-message-not-hello", NULL, test_first_message_not_hello);
  ADD ("/gateway/limiter/concurrent-wrong-passwords", NULL, test_concurrent_wrong_passwords);
  ADD ("/gateway/limiter/success-keeps-failures", "\"auth_failures_before_backoff\": 5",
       test_success_keeps_failures);
  ADD ("/gateway/admission/per-address", ADMISSION_LIMITS, test_admission_per_address);
  ADD ("/gateway/admission/slots-return", SLOTS_LIMITS, test_admission_slots_return);
  ADD ("/gateway/admission/not-culvert", NULL, test_not_culvert);
  ADD ("/gateway/tunnel/unknown-ticket", NULL, test_unknown_ticket);
  ADD ("/gateway/tunnel/end-to-end", NULL, test_tunnel);
  ADD ("/gateway/tunnel/max-tunnels", "\"max_tunnels\": 1", test_max_tunnels);
  ADD ("/gateway/tunnel/unused-offers", NULL, test_unused_offers);
  ADD ("/gateway/tunnel/dispose-with-rendezvous", "\"ticket_timeout_ms\": 1500",
       test_dispose_with_rendezvous);
  ADD ("/gateway/share-replaced", NULL, test_share_replaced);
  ADD ("/gateway/reload-removes-session", NULL, test_reload_removes_session);
#undef ADD

  status = g_test_run ();
  g_ptr_array_unref (gateway_warnings);
  g_free (share_hash);
  g_free (connect_hash);
  return status;
}
