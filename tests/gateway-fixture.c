/* gateway-fixture.c: the gateway tests' fixture and the scripted agents that drive it.
 *
 * A scripted agent does on the wire what a real one does, one step at a time and
 * no more: TCP, TLS 1.3 with the gateway's key pinned and its own key as client
 * certificate, a mux, and the control messages the test chooses; it records every
 * control message it receives.  Raw connections (TCP, no TLS) play what comes
 * before TLS, and tunnel halves.  Everything runs on the main thread's context,
 * and every wait is bounded.
 */
#include "gateway-fixture.h"

#include "auth/cv-password.h"
#include "wire/cv-ticket.h"
#include "transport/cv-tls.h"

#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>

/* Argon2id costs ~80 ms a hash: made once, shared by every session of every test. */
static char *share_hash;
static char *connect_hash;
/* Session "slow" has a connect password that takes five times as long to check (t=10
 * instead of 2, the same 64 MiB), for the test that races HELLOs against checks. */
#define SLOW_PASSES 10
static char slow_hash[crypto_pwhash_STRBYTES];

/* The gateway logs (g_message) when it turns a connection or a tunnel away, which the
 * tests here make it do: those lines are recorded for them to count.  A warning from
 * the engine fails the test at tear-down: turning an agent away is an ordinary
 * network event, not something that should never happen.  (A handler of its own for
 * the domain, since the test framework's default one reports every fatal message as
 * "Bail out!" before the fatal handler is asked.) */
#define ENGINE_DOMAIN "culvert-engine"

GPtrArray *gateway_warnings;
GPtrArray *gateway_refusals;

static void
on_engine_log (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
  if ((level & G_LOG_LEVEL_WARNING) != 0)
    {
      g_test_message ("%s warning: %s", domain, message);
      g_ptr_array_add (gateway_warnings, g_strdup (message));
      return;
    }
  if (strstr (message, ": refused: ") != NULL || strstr (message, ": tunnel refused: ") != NULL)
    g_ptr_array_add (gateway_refusals, g_strdup (message));
  g_log_default_handler (domain, level, message, data);
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
    g_test_fail_printf ("the gateway warned: %s", (const char *) gateway_warnings->pdata[i]);
}

guint
count_refusals (const char *text)
{
  guint n = 0;

  for (guint i = 0; i < gateway_refusals->len; i++)
    if (g_str_equal (gateway_refusals->pdata[i], text))
      n++;
  return n;
}

/* ---- fixture: a running gateway and the agents' keys -------------------- */

static const char *const identity_names[] = { "gateway", "share", "share2", "connect" };

/* The gateway's config: 127.0.0.1, any port; sessions s1 (unless @with_s1 is FALSE),
 * s2 and slow; @limits, the members of "limits" as JSON text (NULL for none). */
CvGatewayConfig *
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
static void fixture_tear_down (Fixture *fixture, gconstpointer data);

/* For the cases added with gateway_test_add_on_context(): the gateway runs on
 * gateway_context and the agents on agent_context, pushed as thread-default for the
 * whole case; neither is the global default context, which nothing iterates. */
static GMainContext *gateway_context;
static GMainContext *agent_context;

gboolean
gateway_wait_until (gboolean (*condition) (gpointer), gpointer data, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  if (gateway_context == NULL)
    return cv_test_wait_until (condition, data, timeout_ms);
  while (!condition (data))
    {
      gboolean busy;

      if (g_get_monotonic_time () > deadline)
        return FALSE;
      busy = g_main_context_iteration (agent_context, FALSE);
      /* The gateway's context is iterated with the agents' popped: anything the
       * gateway starts on the thread-default context instead of its own lands on the
       * global default one. */
      g_main_context_pop_thread_default (agent_context);
      busy |= g_main_context_iteration (gateway_context, FALSE);
      g_main_context_push_thread_default (agent_context);
      assert_default_context_unused ();
      if (!busy)
        g_usleep (1000);
    }
  return TRUE;
}

/* Nothing is attached to the global default context: each source gets the next id
 * of its context, so a probe's id bounds every id given out there. */
void
assert_default_context_unused (void)
{
  GMainContext *global = g_main_context_default ();
  GSource *probe = g_idle_source_new ();
  guint last = g_source_attach (probe, global);

  g_source_destroy (probe);
  g_source_unref (probe);
  for (guint id = 1; id < last; id++)
    {
      GSource *source = g_main_context_find_source_by_id (global, id);

      if (source != NULL)
        g_error ("a source is attached to the global default context: %s",
                 g_source_get_name (source) != NULL ? g_source_get_name (source) : "(unnamed)");
    }
}

/* @data: the members of the config's "limits", as JSON text, or NULL */
static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  /* The test framework resets the fatal handler before each test. */
  g_test_log_set_fatal_handler (on_fatal_log, NULL);
  g_ptr_array_set_size (gateway_warnings, 0);
  g_ptr_array_set_size (gateway_refusals, 0);
  fixture->dir = g_dir_make_tmp ("culvert-gateway-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->gateway_identity = make_identity (fixture, identity_names[0]);
  fixture->share_identity = make_identity (fixture, identity_names[1]);
  fixture->share2_identity = make_identity (fixture, identity_names[2]);
  fixture->connect_identity = make_identity (fixture, identity_names[3]);
  fixture->agents = g_ptr_array_new_with_free_func (agent_free);
  fixture->raws = g_ptr_array_new_with_free_func (raw_free);

  fixture->gateway = cv_gateway_new_with_context (make_config (fixture, data, TRUE),
                                                  fixture->gateway_identity, gateway_context);
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
void
dispose_gateway (Fixture *fixture)
{
  CvGateway *gateway = g_steal_pointer (&fixture->gateway);
  GThread *disposed_on = NULL;

  cv_gateway_shutdown (gateway);
  g_object_weak_ref (G_OBJECT (gateway), on_gateway_disposed, &disposed_on);
  g_object_unref (gateway);
  g_assert_true (gateway_wait_until (is_set, &disposed_on, WAIT_MS));
  g_assert_true (disposed_on == g_thread_self ());
}

static void
fixture_set_up_on_context (Fixture *fixture, gconstpointer data)
{
  agent_context = g_main_context_new ();
  gateway_context = g_main_context_new ();
  /* The gateway is made and started with no context pushed: what it would wrongly
   * put on the thread-default one lands on the global default context. */
  fixture_set_up (fixture, data);
  g_main_context_push_thread_default (agent_context);
}

static void
fixture_tear_down_on_context (Fixture *fixture, gconstpointer data)
{
  /* The case itself stops and finalizes its gateway. */
  g_assert_null (fixture->gateway);
  fixture_tear_down (fixture, data);
  assert_default_context_unused ();
  g_main_context_pop_thread_default (agent_context);
  while (g_main_context_iteration (agent_context, FALSE))
    ;
  g_clear_pointer (&agent_context, g_main_context_unref);
  g_clear_pointer (&gateway_context, g_main_context_unref);
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
Raw *
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
  g_source_attach (raw->source, g_main_context_get_thread_default ());
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
void
raw_write (Raw *raw, const void *data, gsize len)
{
  raw->written = FALSE;
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (raw->connection)),
                                   data, len, G_PRIORITY_DEFAULT, NULL, on_raw_written, raw);
  g_assert_true (gateway_wait_until (raw_is_written, raw, WAIT_MS));
}

/* The gateway may have closed it already: that is no error here. */
static void
raw_half_close (Raw *raw)
{
  g_socket_shutdown (g_socket_connection_get_socket (raw->connection), FALSE, TRUE, NULL);
}

gboolean
raw_is_closed (gpointer data)
{
  return ((Raw *) data)->closed_us != 0;
}

/* Asserts the gateway closes @raw within @within_ms of its opening, having written
 * nothing, or, to a TLS attempt it refuses, one fatal alert and nothing else. */
void
raw_assert_closed_within (Raw *raw, guint within_ms)
{
  const guint8 *bytes;

  g_assert_true (gateway_wait_until (raw_is_closed, raw, WAIT_MS));
  g_assert_cmpint ((raw->closed_us - raw->opened_us) / 1000, <, within_ms);
  if (raw->received->len == 0)
    return;
  bytes = raw->received->data;
  /* An alert record: content type 21, a legacy version, length 2, level fatal. */
  g_assert_cmpuint (raw->received->len, ==, 7);
  g_assert_cmpuint (bytes[0], ==, 21);
  g_assert_cmpuint (bytes[1], ==, 3);
  g_assert_cmpuint (bytes[3], ==, 0);
  g_assert_cmpuint (bytes[4], ==, 2);
  g_assert_cmpuint (bytes[5], ==, 2);
}

/* A raw connection that sends @data (NULL: nothing), ends its side, and must be
 * closed by the gateway. */
void
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

void
raw_wait_received (Raw *raw, gsize len)
{
  Expect expect = { raw, len };

  g_assert_true (gateway_wait_until (raw_has_received, &expect, WAIT_MS));
  g_assert_cmpuint (raw->received->len, ==, len);
}

/* ---- scripted agents ---------------------------------------------------- */

/* A string member that must be there. */
const char *
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
Agent *
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

gboolean
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
void
agent_start_mux (Agent *agent)
{
  CvMuxConfig config;

  g_assert_true (gateway_wait_until (agent_tls_done, agent, WAIT_MS));
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

Agent *
agent_new (Fixture *fixture, CvIdentity *identity)
{
  Agent *agent = agent_dial (fixture, identity);

  agent_start_mux (agent);
  return agent;
}

void
agent_send (Agent *agent, guint type, const char *json)
{
  g_autoptr (GError) error = NULL;

  cv_mux_send_control (agent->mux, type, json, &error);
  g_assert_no_error (error);
}

/* A HELLO with @fingerprint, or the agent's own key's when NULL. */
void
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

void
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

guint
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
const char *
agent_answer (Agent *agent)
{
  g_assert_true (gateway_wait_until (agent_is_answered, agent, WAIT_MS));
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

JsonObject *
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
JsonObject *
agent_next (Agent *agent, guint type)
{
  Want want = { agent, type };
  Message *message;

  g_assert_true (gateway_wait_until (agent_has_untaken, &want, WAIT_MS));
  message = agent_find (agent, type, TRUE);
  message->taken = TRUE;
  return message->body;
}

static gboolean
agent_is_closed (gpointer data)
{
  return ((Agent *) data)->closed;
}

void
agent_wait_closed (Agent *agent)
{
  g_assert_true (gateway_wait_until (agent_is_closed, agent, WAIT_MS));
}

/* Our side goes away at once, as a crashed agent's would. */
void
agent_close (Agent *agent)
{
  cv_mux_close (agent->mux);
  agent_wait_closed (agent);
}

/* Dials, says HELLO and waits for the answer. */
Agent *
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

Agent *
agent_login (Fixture *fixture,
             CvIdentity *identity,
             CvAgentRole role,
             const char *session,
             const char *name)
{
  Agent *agent = attempt (fixture, identity, role, session,
                          role == CV_AGENT_ROLE_SHARE ? SHARE_PASSWORD : CONNECT_PASSWORD, name);

  g_assert_cmpstr (agent_answer (agent), ==, "welcome");
  return agent;
}

/* Share agent "server" and connect agent "laptop" of session s1, both welcomed. */
void
login_pair (Fixture *fixture, Agent **share, Agent **connect)
{
  *share = agent_login (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s1", "server");
  *connect = agent_login (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1",
                          "laptop");
}

/* REFUSED with @reason and @message, then the gateway's graceful close. */
void
assert_refused (Agent *agent, const char *reason, const char *message)
{
  JsonObject *body;
  const char *goaway_message = NULL;

  g_assert_cmpstr (agent_answer (agent), ==, reason);
  body = agent_refusal (agent);
  g_assert_cmpstr (member (body, "message"), ==, message);
  agent_wait_closed (agent);
  g_assert_cmpint (cv_mux_get_peer_goaway (agent->mux, &goaway_message), ==,
                   CV_GOAWAY_REASON_NORMAL);
  g_assert_cmpstr (goaway_message, ==, reason);
  g_assert_cmpuint (agent_count (agent, CV_CONTROL_WELCOME), ==, 0);
}

char *
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
Raw *
present_ticket (Fixture *fixture, const char *ticket)
{
  g_autofree char *preface = tunnel_preface (ticket);
  Raw *pair[2];

  pair[0] = raw_connect (fixture);
  pair[1] = raw_connect (fixture);
  raw_write (pair[0], preface, CV_TUNNEL_PREFACE_LENGTH);
  raw_write (pair[1], preface, CV_TUNNEL_PREFACE_LENGTH);
  g_assert_true (gateway_wait_until (either_is_closed, pair, WAIT_MS));
  g_assert_true (raw_is_closed (pair[0]) != raw_is_closed (pair[1]));
  return raw_is_closed (pair[0]) ? pair[1] : pair[0];
}

void
gateway_test_init (int *argc, char ***argv)
{
  g_autoptr (GError) error = NULL;

  g_test_init (argc, argv, NULL);
  cv_tls_restrict_process_to_tls13 ();
  gateway_warnings = g_ptr_array_new_with_free_func (g_free);
  gateway_refusals = g_ptr_array_new_with_free_func (g_free);
  g_log_set_handler (ENGINE_DOMAIN, G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_FLAG_FATAL,
                     on_engine_log, NULL);

  share_hash = cv_password_hash (SHARE_PASSWORD, &error);
  g_assert_no_error (error);
  connect_hash = cv_password_hash (CONNECT_PASSWORD, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sodium_init (), >=, 0);
  g_assert_cmpint (crypto_pwhash_str (slow_hash, CONNECT_PASSWORD, strlen (CONNECT_PASSWORD),
                                      SLOW_PASSES, crypto_pwhash_MEMLIMIT_INTERACTIVE),
                   ==, 0);
  g_assert_true (cv_password_hash_is_valid (slow_hash, NULL));
}

/* @limits: the members of the config's "limits" for this case, as JSON text, or NULL */
void
gateway_test_add (const char *path, const char *limits, GatewayTestFunc func)
{
  g_test_add (path, Fixture, limits, fixture_set_up, func, fixture_tear_down);
}

/* A case whose gateway runs on a context of its own, not the thread-default one:
 * see gateway_wait_until(). */
void
gateway_test_add_on_context (const char *path, const char *limits, GatewayTestFunc func)
{
  g_test_add (path, Fixture, limits, fixture_set_up_on_context, func,
              fixture_tear_down_on_context);
}

GMainContext *
gateway_test_get_context (void)
{
  return gateway_context;
}

int
gateway_test_run (void)
{
  int status = g_test_run ();

  g_ptr_array_unref (gateway_warnings);
  g_ptr_array_unref (gateway_refusals);
  g_free (share_hash);
  g_free (connect_hash);
  return status;
}
