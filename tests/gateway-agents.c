/* gateway-agents.c: the scripted agents and raw connections that drive the gateway in
 * its tests (see gateway-fixture.c for what they are and how they wait).
 */
#include "gateway-fixture.h"

#include "transport/cv-tls.h"
#include "wire/cv-ticket.h"

#include <string.h>

/* ---- raw connections: TCP without TLS ----------------------------------- */

void
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

/* Records what @raw's connection receives, and when the gateway closes it. */
void
raw_watch (Raw *raw)
{
  raw->source = g_socket_create_source (g_socket_connection_get_socket (raw->connection),
                                        G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (raw->source, G_SOURCE_FUNC (on_raw_readable), raw, NULL);
  g_source_attach (raw->source, g_main_context_get_thread_default ());
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
  raw_watch (raw);
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

void
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

/* An agent over @connection (transfer full), its TLS with @identity started; or, with
 * @connection NULL, one whose dial failed with @dial_error (transfer full). */
Agent *
agent_over (Fixture *fixture,
            CvIdentity *identity,
            GSocketConnection *connection,
            GError *dial_error)
{
  CvTlsPeerCheck check = {
    .mode = CV_TLS_PEER_CHECK_PINNED,
    .fingerprint = cv_identity_get_fingerprint (fixture->gateway_identity),
    .peer_name = "the gateway",
  };
  Agent *agent = g_new0 (Agent, 1);

  agent->identity = identity;
  agent->messages = g_ptr_array_new_with_free_func (message_free);
  agent->connection = connection;
  g_ptr_array_add (fixture->agents, agent);
  if (connection == NULL)
    {
      agent->tls_error = dial_error;
      agent->tls_done = TRUE;
      return agent;
    }
  cv_tls_client_handshake_async (G_IO_STREAM (agent->connection), "127.0.0.1", &check, identity,
                                 CV_TLS_ALPN, 0, NULL, on_agent_tls, agent);
  return agent;
}

/* Dials the gateway and starts TLS; the test waits for it before it lets go. */
Agent *
agent_dial (Fixture *fixture, CvIdentity *identity)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  GSocketConnection *connection;

  g_socket_client_set_enable_proxy (client, FALSE);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", fixture->port, NULL, &error);
  g_assert_no_error (error);
  return agent_over (fixture, identity, connection, NULL);
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
agent_hello (Agent *agent,
             CvAgentRole role,
             const char *session,
             const char *password,
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

/* @len random bytes written on @from arrive on @to unchanged, and nothing else. */
void
assert_relayed (Raw *from, Raw *to, gsize len, guint32 seed)
{
  g_autofree guint8 *sent = g_malloc (len);
  gsize before = to->received->len;

  cv_test_fill_random (sent, len, seed);
  raw_write (from, sent, len);
  raw_wait_received (to, before + len);
  g_assert_cmpmem (to->received->data + before, len, sent, len);
}

/* A tunnel @connect asks for, both tickets presented, bytes relayed each way. */
void
join_tunnel (Fixture *fixture, Agent *share, Agent *connect, Raw **share_half, Raw **connect_half)
{
  JsonObject *to_share, *to_connect;

  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  to_share = agent_next (share, CV_CONTROL_TUNNEL_OFFER);
  to_connect = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
  *share_half = present_ticket (fixture, member (to_share, "ticket"));
  *connect_half = present_ticket (fixture, member (to_connect, "ticket"));
  assert_relayed (*connect_half, *share_half, 4096, 1);
  assert_relayed (*share_half, *connect_half, 4096, 2);
}
