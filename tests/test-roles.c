/* test-roles.c: the share and connect agents in-process, as the app drives them — built from
 * config objects on a main context of their own, their state read from properties.
 *
 * The gateway and both agents run on one GMainContext that is neither the global default
 * nor the main thread's thread-default one, so anything of theirs that lands elsewhere
 * stalls the test.  The target is a real TCP echo service on 127.0.0.1:0, the clients are
 * real TCP clients; every property notification and channel signal of the gateway and of
 * every agent object is recorded, and the
 * sequences are compared whole.
 */
#include "auth/cv-password.h"
#include "roles/cv-agent-status.h"
#include "roles/cv-connect-agent.h"
#include "roles/cv-gateway-status.h"
#include "roles/cv-gateway.h"
#include "roles/cv-refusal.h"
#include "roles/cv-service.h"
#include "roles/cv-share-agent.h"
#include "cv-test-proxy.h"
#include "cv-test-util.h"
#include "cv-test-web.h"

#include <glib/gstdio.h>
#include <string.h>

#define SHARE_PASSWORD "share secret"
#define CONNECT_PASSWORD "connect secret"
#define WAIT_MS 10000
#define PAYLOAD_SIZE (256 * 1024)

/* Argon2id costs ~80 ms a hash: made once for every case. */
static char *share_hash;
static char *connect_hash;

/* ---- the gateway, on the agents' context -------------------------------- */

typedef struct {
  CvIdentity *identity;
  CvGateway *gateway;
  guint16 port;
} Gateway;

static CvGatewayConfig *
make_gateway_config (const char *dir)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *json = NULL;
  CvGatewayConfig *config;

  json = g_strdup_printf ("{\"listen\": [\"127.0.0.1:1\"], \"state_dir\": \"%s\", "
                          "\"sessions\": [{\"id\": \"s1\", \"name\": \"Session one\", "
                          "\"share_password_hash\": \"%s\", \"connect_password_hash\": \"%s\"}], "
                          "\"codes\": {\"enabled\": true}, "
                          "\"limits\": {\"auth_failures_before_backoff\": 1000}}",
                          dir, share_hash, connect_hash);
  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  config = cv_gateway_config_new_from_json (json_node_get_object (json_parser_get_root (parser)),
                                            NULL, &error);
  g_assert_no_error (error);
  /* A file may not ask for port 0; here it lets the kernel choose. */
  ((CvGatewayListener *) config->listeners->pdata[0])->port = 0;
  return config;
}

/* The gateway runs on @context, the agents' own: one GMainContext drives all three. */
static void
gateway_start (Gateway *gateway, const char *dir, GMainContext *context)
{
  g_autoptr (GError) error = NULL;

  gateway->identity = cv_identity_load_or_create (dir, "gateway", "culvert-gateway", NULL, &error);
  g_assert_no_error (error);
  gateway->gateway = cv_gateway_new_with_context (make_gateway_config (dir), gateway->identity,
                                                  context);
  g_assert_true (cv_gateway_start (gateway->gateway, &error));
  g_assert_no_error (error);
  gateway->port = g_array_index (cv_gateway_get_listen_ports (gateway->gateway), guint16, 0);
}

/* ---- the echo target ---------------------------------------------------- */

/* Each connection on its own thread: echo every byte until the end of the stream. */
static gboolean
on_echo_run (GThreadedSocketService *service,
             GSocketConnection *connection,
             GObject *source,
             gpointer data)
{
  GInputStream *input = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  GOutputStream *output = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  guint8 buffer[16384];
  gssize n;

  while ((n = g_input_stream_read (input, buffer, sizeof buffer, NULL, NULL)) > 0)
    if (!g_output_stream_write_all (output, buffer, n, NULL, NULL, NULL))
      break;
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  return TRUE;
}

static GSocketService *
echo_start (GMainContext *context, guint16 *port)
{
  g_autoptr (GMainContextPusher) pusher = g_main_context_pusher_new (context);
  g_autoptr (GError) error = NULL;
  GSocketService *service = g_threaded_socket_service_new (4);

  *port = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER (service), NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (service, "run", G_CALLBACK (on_echo_run), NULL);
  g_socket_service_start (service);
  return service;
}

/* ---- a local client, on its own thread (blocking I/O) ------------------- */

typedef struct {
  guint16 port;
  guint8 *sent;
  GByteArray *received;
  GError *error;
  gboolean hold; /* keep the connection open after the echo, until released */
  gint echoed;
  gint released;
  gint done;
} Client;

/* The whole echo back, the connection left open until the test releases it (or for
 * longer than any wait of the test, so that only live counting can pass it). */
static gboolean
client_read_echo (Client *client, GInputStream *input)
{
  guint8 buffer[16384];

  while (client->received->len < PAYLOAD_SIZE)
    {
      gssize n = g_input_stream_read (input, buffer, sizeof buffer, NULL, &client->error);

      if (n <= 0)
        return FALSE;
      g_byte_array_append (client->received, buffer, n);
    }
  g_atomic_int_set (&client->echoed, 1);
  for (guint waited_ms = 0; !g_atomic_int_get (&client->released) && waited_ms < 3 * WAIT_MS;
       waited_ms += 10)
    g_usleep (10 * 1000);
  return TRUE;
}

static gpointer
client_run (gpointer data)
{
  Client *client = data;
  g_autoptr (GSocketClient) socket_client = g_socket_client_new ();
  g_autoptr (GSocketConnection) connection = NULL;
  guint8 buffer[16384];
  gssize n;

  connection = g_socket_client_connect_to_host (socket_client, "127.0.0.1", client->port, NULL,
                                                &client->error);
  if (connection != NULL)
    {
      GOutputStream *output = g_io_stream_get_output_stream (G_IO_STREAM (connection));
      GInputStream *input = g_io_stream_get_input_stream (G_IO_STREAM (connection));

      g_socket_set_timeout (g_socket_connection_get_socket (connection), WAIT_MS / 1000);
      if (g_output_stream_write_all (output, client->sent, PAYLOAD_SIZE, NULL, NULL, &client->error)
          && (!client->hold || client_read_echo (client, input))
          && g_socket_shutdown (g_socket_connection_get_socket (connection), FALSE, TRUE,
                                &client->error))
        {
          while ((n = g_input_stream_read (input, buffer, sizeof buffer, NULL, &client->error)) > 0)
            g_byte_array_append (client->received, buffer, n);
        }
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
    }
  g_atomic_int_set (&client->done, 1);
  return NULL;
}

static gboolean
client_echoed (gpointer data)
{
  return g_atomic_int_get (&((Client *) data)->echoed);
}

static gboolean
client_done (gpointer data)
{
  return g_atomic_int_get (&((Client *) data)->done);
}

/* ---- recording ---------------------------------------------------------- */

/* Every notification and channel signal of one object, as "name=value" lines. */
typedef struct {
  GObject *object;
  GPtrArray *events;
  guint round_trips; /* round-trip-us notifications: their moment depends on timing */
} Recorder;

static char *
describe_error (const GError *error)
{
  if (error == NULL)
    return g_strdup ("none");
  return g_strdup_printf ("%s:%d", g_quark_to_string (error->domain), error->code);
}

static char *
describe (GObject *object, GParamSpec *pspec)
{
  g_auto (GValue) value = G_VALUE_INIT;

  g_value_init (&value, pspec->value_type);
  g_object_get_property (object, pspec->name, &value);
  if (G_VALUE_HOLDS_ENUM (&value))
    {
      GEnumClass *klass = g_type_class_peek (pspec->value_type);

      return g_strdup (g_enum_get_value (klass, g_value_get_enum (&value))->value_nick);
    }
  if (G_VALUE_HOLDS_BOOLEAN (&value))
    return g_strdup (g_value_get_boolean (&value) ? "true" : "false");
  if (G_VALUE_HOLDS_STRING (&value))
    return g_strdup (g_value_get_string (&value) != NULL ? g_value_get_string (&value) : "null");
  if (G_VALUE_HOLDS (&value, G_TYPE_ERROR))
    return describe_error (g_value_get_boxed (&value));
  if (g_str_equal (pspec->name, "next-retry-time"))
    {
      gint64 when = g_value_get_int64 (&value);

      return g_strdup (when == 0 ? "0" : when > g_get_real_time () ? "future" : "past");
    }
  if (g_str_equal (pspec->name, "bound-port"))
    return g_strdup (g_value_get_uint (&value) != 0 ? "bound" : "0");
  return g_strdup_value_contents (&value);
}

static void
on_notify (GObject *object, GParamSpec *pspec, Recorder *recorder)
{
  g_autofree char *value = NULL;

  if (g_str_equal (pspec->name, "round-trip-us"))
    {
      recorder->round_trips++;
      return;
    }
  value = describe (object, pspec);
  g_ptr_array_add (recorder->events, g_strdup_printf ("%s=%s", pspec->name, value));
}

static void
on_share_channel_opened (GObject *agent, const char *target, Recorder *recorder)
{
  g_ptr_array_add (recorder->events, g_strdup_printf ("channel-opened %s", target));
}

static void
on_share_channel_closed (GObject *agent,
                         const char *target,
                         const GError *error,
                         Recorder *recorder)
{
  g_autofree char *why = describe_error (error);

  g_ptr_array_add (recorder->events, g_strdup_printf ("channel-closed %s %s", target, why));
}

static void
on_connect_channel_opened (GObject *agent,
                           CvMapping *mapping,
                           const char *target,
                           Recorder *recorder)
{
  on_share_channel_opened (agent, target, recorder);
}

static void
on_connect_channel_closed (GObject *agent,
                           CvMapping *mapping,
                           const char *target,
                           const GError *error,
                           Recorder *recorder)
{
  on_share_channel_closed (agent, target, error, recorder);
}

static Recorder *
record (gpointer object)
{
  Recorder *recorder = g_new0 (Recorder, 1);

  recorder->object = g_object_ref (object);
  recorder->events = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (object, "notify", G_CALLBACK (on_notify), recorder);
  if (CV_IS_SHARE_AGENT (object))
    {
      g_signal_connect (object, "channel-opened", G_CALLBACK (on_share_channel_opened), recorder);
      g_signal_connect (object, "channel-closed", G_CALLBACK (on_share_channel_closed), recorder);
    }
  if (CV_IS_CONNECT_AGENT (object))
    {
      g_signal_connect (object, "channel-opened", G_CALLBACK (on_connect_channel_opened), recorder);
      g_signal_connect (object, "channel-closed", G_CALLBACK (on_connect_channel_closed), recorder);
    }
  return recorder;
}

/* The sequence so far, as @expected (NULL-terminated), and forget it. */
static void
assert_events (Recorder *recorder, const char *const *expected)
{
  g_autofree char *got = NULL;
  g_autofree char *want = g_strjoinv ("\n  ", (char **) expected);

  g_ptr_array_add (recorder->events, NULL);
  got = g_strjoinv ("\n  ", (char **) recorder->events->pdata);
  g_ptr_array_set_size (recorder->events, 0);
  if (!g_str_equal (got, want))
    g_error ("%s: got\n  %s\nexpected\n  %s", G_OBJECT_TYPE_NAME (recorder->object), got, want);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

/* The same events, in any order: for what happens on two sockets at once. */
static void
assert_events_unordered (Recorder *recorder, const char *const *expected)
{
  g_autoptr (GPtrArray) sorted = g_ptr_array_new ();

  for (guint i = 0; expected[i] != NULL; i++)
    g_ptr_array_add (sorted, (gpointer) expected[i]);
  g_ptr_array_sort (sorted, compare_strings);
  g_ptr_array_sort (recorder->events, compare_strings);
  g_ptr_array_add (sorted, NULL);
  assert_events (recorder, (const char *const *) sorted->pdata);
}

/* Takes the notifications of the counter @name ("bytes-in") out of the sequence: how
 * many there are depends on timing (a count is read once a second while a channel is
 * open), but each must be larger than the one before.  Returns the last value, or 0. */
static guint64
take_counts (Recorder *recorder, const char *name)
{
  g_autofree char *prefix = g_strconcat (name, "=", NULL);
  guint64 last = 0;

  for (guint i = 0; i < recorder->events->len;)
    {
      const char *event = recorder->events->pdata[i];
      guint64 value;

      if (!g_str_has_prefix (event, prefix))
        {
          i++;
          continue;
        }
      value = g_ascii_strtoull (event + strlen (prefix), NULL, 10);
      g_assert_cmpuint (value, >, last);
      last = value;
      g_ptr_array_remove_index (recorder->events, i);
    }
  return last;
}

/* Both counters, which the echo makes equal, ended at @bytes. */
static void
assert_counted (Recorder *recorder, guint64 bytes)
{
  g_assert_cmpuint (take_counts (recorder, "bytes-in"), ==, bytes);
  g_assert_cmpuint (take_counts (recorder, "bytes-out"), ==, bytes);
}

/* Drops the recorder's reference: what it watched must be finalized later by its owner. */
static void
recorder_free (Recorder *recorder)
{
  g_signal_handlers_disconnect_by_data (recorder->object, recorder);
  g_object_unref (recorder->object);
  g_ptr_array_unref (recorder->events);
  g_free (recorder);
}

/* ---- the agents' context ------------------------------------------------ */

typedef struct {
  GMainContext *context;
  char *dir;
  Gateway gateway;
} Fixture;

static gboolean
on_deadline (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the agents' context (only that one) until @condition holds. */
static gboolean
wait_until (Fixture *fixture, gboolean (*condition) (gpointer), gpointer data)
{
  gboolean late = FALSE;
  g_autoptr (GSource) deadline = g_timeout_source_new (WAIT_MS);

  g_source_set_callback (deadline, on_deadline, &late, NULL);
  g_source_attach (deadline, fixture->context);
  while (!condition (data) && !late)
    g_main_context_iteration (fixture->context, TRUE);
  g_source_destroy (deadline);
  return !late;
}

/* Runs what is pending on the context for a moment: callbacks of what was stopped. */
static void
drain (Fixture *fixture)
{
  gint64 until = g_get_monotonic_time () + 100 * 1000;

  while (g_get_monotonic_time () < until)
    if (!g_main_context_iteration (fixture->context, FALSE))
      g_usleep (5000);
  /* Everything ran on the fixture's context: nothing waits on the global one. */
  g_assert_false (g_main_context_pending (g_main_context_default ()));
}

typedef struct {
  GObject *object;
  const char *property;
  guint value;
} Wanted;

static gboolean
has_value (gpointer data)
{
  Wanted *wanted = data;
  g_auto (GValue) value = G_VALUE_INIT;
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (wanted->object),
                                                    wanted->property);

  g_value_init (&value, pspec->value_type);
  g_object_get_property (wanted->object, wanted->property, &value);
  if (G_VALUE_HOLDS_ENUM (&value))
    return (guint) g_value_get_enum (&value) == wanted->value;
  if (G_VALUE_HOLDS_BOOLEAN (&value))
    return (guint) g_value_get_boolean (&value) == wanted->value;
  if (G_VALUE_HOLDS_UINT64 (&value))
    return g_value_get_uint64 (&value) == wanted->value;
  return g_value_get_uint (&value) == wanted->value;
}

static void
wait_for (Fixture *fixture, gpointer object, const char *property, guint value)
{
  Wanted wanted = { object, property, value };

  if (!wait_until (fixture, has_value, &wanted))
    g_error ("%s: %s did not become %u within %d ms", G_OBJECT_TYPE_NAME (object), property, value,
             WAIT_MS);
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("culvert-roles-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->context = g_main_context_new ();
  gateway_start (&fixture->gateway, fixture->dir, fixture->context);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  cv_gateway_stop (fixture->gateway.gateway);
  cv_gateway_stop (fixture->gateway.gateway);
  drain (fixture);
  g_assert_false (cv_gateway_is_running (fixture->gateway.gateway));
  g_assert_finalize_object (fixture->gateway.gateway);
  g_assert_finalize_object (fixture->gateway.identity);
  g_main_context_unref (fixture->context);
  cv_test_remove_tree (fixture->dir);
  g_free (fixture->dir);
}

static void
fill_agent_config (Fixture *fixture,
                   CvAgentConfig *agent,
                   const char *name,
                   const char *password,
                   guint16 port)
{
  g_autofree char *state_dir = g_build_filename (fixture->dir, name, NULL);

  cv_agent_config_set_gateway (agent, "127.0.0.1", port,
                               cv_identity_get_fingerprint (fixture->gateway.identity));
  cv_agent_config_set_session (agent, "s1");
  cv_agent_config_set_password (agent, password);
  cv_agent_config_set_name (agent, name);
  cv_agent_config_set_state_dir (agent, state_dir);
}

/* A share agent called @name, with a key of its own for each name. */
static CvShareAgent *
make_share_agent_named (Fixture *fixture,
                        const char *name,
                        const char *password,
                        guint16 gateway_port,
                        guint16 target_port)
{
  g_autoptr (CvShareConfig) config = cv_share_config_new ();
  g_autoptr (GError) error = NULL;
  CvShareAgent *agent;

  fill_agent_config (fixture, &config->agent, name, password, gateway_port);
  cv_share_config_add_allowed (config, "127.0.0.1", target_port, target_port);
  agent = cv_share_agent_new_from_config (config, fixture->context, &error);
  g_assert_no_error (error);
  g_assert_true (g_main_context_get_thread_default () != fixture->context);
  return agent;
}

static CvShareAgent *
make_share_agent (Fixture *fixture, const char *password, guint16 gateway_port, guint16 target_port)
{
  return make_share_agent_named (fixture, "test-share", password, gateway_port, target_port);
}

/* A connect agent with one mapping, from any free local port to @target_port. */
static CvConnectAgent *
make_connect_agent (Fixture *fixture, guint16 target_port)
{
  g_autoptr (CvConnectConfig) config = cv_connect_config_new ();
  g_autoptr (GError) error = NULL;
  CvConnectAgent *agent;

  fill_agent_config (fixture, &config->agent, "test-connect", CONNECT_PASSWORD,
                     fixture->gateway.port);
  cv_connect_config_add_mapping (config, "127.0.0.1", 0, "127.0.0.1", target_port);
  agent = cv_connect_agent_new_from_config (config, fixture->context, &error);
  g_assert_no_error (error);
  return agent;
}

/* The client's thread ends with the whole payload echoed, and both agents' channels close. */
static void
client_finish (Fixture *fixture,
               GThread *thread,
               Client *client,
               CvConnectAgent *connect,
               CvShareAgent *share)
{
  g_assert_true (wait_until (fixture, client_done, client));
  g_thread_join (thread);
  g_assert_no_error (client->error);
  g_assert_cmpmem (client->received->data, client->received->len, client->sent, PAYLOAD_SIZE);
  wait_for (fixture, connect, "n-channels", 0);
  wait_for (fixture, share, "n-channels", 0);
}

/* ---- the cases ---------------------------------------------------------- */

/* online → tunnel → channel → data → stop, every notification in order. */
static void
test_tunnel (Fixture *fixture, gconstpointer data)
{
  guint16 target_port = 0;
  g_autoptr (GSocketService) echo = echo_start (fixture->context, &target_port);
  CvShareAgent *share = make_share_agent (fixture, SHARE_PASSWORD, fixture->gateway.port,
                                          target_port);
  CvConnectAgent *connect = make_connect_agent (fixture, target_port);
  CvAgentLink *share_link = g_object_ref (cv_share_agent_get_link (share));
  CvAgentLink *connect_link;
  CvMapping *mapping;
  g_autofree char *target = g_strdup_printf ("127.0.0.1:%u", target_port);
  g_autofree char *opened = g_strdup_printf ("channel-opened %s", target);
  g_autofree char *closed = g_strdup_printf ("channel-closed %s none", target);
  Recorder *r_share, *r_share_link, *r_connect, *r_connect_link, *r_mapping, *r_gateway;
  Client client = { 0 };
  GThread *client_thread;

  connect_link = g_object_ref (cv_connect_agent_get_link (connect));
  g_assert_cmpuint (g_list_model_get_n_items (cv_connect_agent_get_mappings (connect)), ==, 1);
  mapping = g_list_model_get_item (cv_connect_agent_get_mappings (connect), 0);
  g_assert_true (cv_mapping_get_listening (mapping));
  g_assert_cmpuint (cv_mapping_get_bound_port (mapping), !=, 0);
  g_assert_null (cv_mapping_get_error (mapping));
  g_assert_cmpint (cv_connect_agent_get_round_trip_us (connect), ==, -1);

  r_share = record (share);
  r_share_link = record (share_link);
  r_connect = record (connect);
  r_connect_link = record (connect_link);
  r_mapping = record (mapping);
  r_gateway = record (fixture->gateway.gateway);

  /* Online, the share agent first, so that the connect agent's WELCOME names it. */
  cv_share_agent_start (share);
  wait_for (fixture, share_link, "state", CV_AGENT_LINK_STATE_ONLINE);
  assert_events (r_share_link, (const char *[]){ "state=connecting", "state=online", NULL });
  assert_events (r_share, (const char *[]){ "state=connecting", "state=online", NULL });
  assert_events (r_gateway, (const char *[]){ "n-links=1", "n-sessions-online=1", NULL });
  cv_connect_agent_start (connect);
  wait_for (fixture, connect, "share-online", TRUE);
  assert_events (r_connect_link, (const char *[]){ "state=connecting", "state=online", NULL });
  assert_events (r_connect, (const char *[]){ "state=connecting", "state=online",
                                              "share-name=test-share", "share-online=true", NULL });
  assert_events (r_gateway, (const char *[]){ "n-links=2", NULL });

  /* A client: the tunnel opens, a channel, the payload there and back. */
  client.port = cv_mapping_get_bound_port (mapping);
  client.sent = g_malloc (PAYLOAD_SIZE);
  cv_test_fill_random (client.sent, PAYLOAD_SIZE, 42);
  client.received = g_byte_array_new ();
  client_thread = g_thread_new ("client", client_run, &client);
  client_finish (fixture, client_thread, &client, connect, share);
  g_assert_cmpuint (r_connect->round_trips, ==, 1);
  g_assert_cmpint (cv_connect_agent_get_round_trip_us (connect), >, 0);
  assert_events (r_connect,
                 (const char *[]){ "n-channels=1", opened, "n-channels=0", closed, NULL });
  assert_counted (r_mapping, PAYLOAD_SIZE);
  assert_events (r_mapping, (const char *[]){ "n-channels=1", "n-channels=0", NULL });
  assert_counted (r_share, PAYLOAD_SIZE);
  assert_events (r_share, (const char *[]){ "n-tunnels=1", "n-channels=1", opened, "n-channels=0",
                                            closed, NULL });
  g_assert_cmpuint (cv_share_agent_get_bytes_in (share), ==, PAYLOAD_SIZE);
  g_assert_cmpuint (cv_share_agent_get_n_tunnels (share), ==, 1);
  assert_events (r_share_link, (const char *[]){ NULL });
  assert_events (r_connect_link, (const char *[]){ NULL });
  assert_events (r_gateway, (const char *[]){ "n-tunnels=1", NULL });

  /* A second client keeps its connection open after the echo: the counters show its
   * bytes while the channel is open, not only once it closes. */
  g_byte_array_set_size (client.received, 0);
  client.done = 0;
  client.hold = TRUE;
  client_thread = g_thread_new ("held client", client_run, &client);
  g_assert_true (wait_until (fixture, client_echoed, &client));
  wait_for (fixture, mapping, "bytes-in", 2 * PAYLOAD_SIZE);
  wait_for (fixture, mapping, "bytes-out", 2 * PAYLOAD_SIZE);
  wait_for (fixture, share, "bytes-in", 2 * PAYLOAD_SIZE);
  wait_for (fixture, share, "bytes-out", 2 * PAYLOAD_SIZE);
  g_assert_cmpuint (cv_mapping_get_n_channels (mapping), ==, 1);
  g_assert_cmpuint (cv_share_agent_get_n_channels (share), ==, 1);
  g_atomic_int_set (&client.released, 1);
  client_finish (fixture, client_thread, &client, connect, share);
  assert_counted (r_mapping, 2 * PAYLOAD_SIZE);
  assert_events (r_mapping, (const char *[]){ "n-channels=1", "n-channels=0", NULL });
  assert_counted (r_share, 2 * PAYLOAD_SIZE);
  assert_events (r_share, (const char *[]){ "n-channels=1", opened, "n-channels=0", closed, NULL });
  assert_events (r_connect,
                 (const char *[]){ "n-channels=1", opened, "n-channels=0", closed, NULL });
  assert_events (r_gateway, (const char *[]){ NULL });

  /* Stop: the connect agent first; its tunnel closes on the share side too. */
  cv_connect_agent_stop (connect);
  cv_connect_agent_stop (connect);
  wait_for (fixture, share, "n-tunnels", 0);
  cv_share_agent_stop (share);
  cv_share_agent_stop (share);
  assert_events (r_connect_link, (const char *[]){ "state=stopped", NULL });
  assert_events (r_connect, (const char *[]){ "state=stopped", NULL });
  g_assert_cmpuint (r_connect->round_trips, ==, 2);
  g_assert_cmpint (cv_connect_agent_get_round_trip_us (connect), ==, -1);
  assert_events (r_mapping, (const char *[]){ "listening=false", NULL });
  assert_events (r_share, (const char *[]){ "n-tunnels=0", "state=stopped", NULL });
  assert_events (r_share_link, (const char *[]){ "state=stopped", NULL });
  wait_for (fixture, fixture->gateway.gateway, "n-links", 0);
  wait_for (fixture, fixture->gateway.gateway, "n-tunnels", 0);
  /* The connect agent's link, then the share agent's; the tunnel's two halves close
   * meanwhile, and the join ends when both have. */
  assert_events_unordered (r_gateway, (const char *[]){ "n-links=1", "n-sessions-online=0",
                                                        "n-links=0", "n-tunnels=0", NULL });

  drain (fixture);
  assert_events (r_connect, (const char *[]){ NULL });
  assert_events (r_share, (const char *[]){ NULL });
  recorder_free (r_share);
  recorder_free (r_share_link);
  recorder_free (r_connect);
  recorder_free (r_connect_link);
  recorder_free (r_mapping);
  recorder_free (r_gateway);
  g_socket_service_stop (echo);
  g_socket_listener_close (G_SOCKET_LISTENER (echo));
  g_assert_finalize_object (connect);
  g_assert_finalize_object (connect_link);
  g_assert_finalize_object (mapping);
  g_assert_finalize_object (share);
  g_assert_finalize_object (share_link);
  g_free (client.sent);
  g_byte_array_unref (client.received);
}

/* ---- offered services and consent --------------------------------------- */

typedef struct {
  guint n_requests;
  char *name;
  char *fingerprint;
  char *services;
  gboolean answer; /* what to answer, at once */
  gboolean silent; /* answer nothing: the consent timeout decides */
  char *verification;
} Prompt;

static void
on_consent_requested (CvShareAgent *share,
                      const char *name,
                      const char *address,
                      const char *fingerprint,
                      const char *const *services,
                      const char *verification,
                      Prompt *prompt)
{
  prompt->n_requests++;
  g_free (prompt->name);
  prompt->name = g_strdup (name);
  g_free (prompt->fingerprint);
  prompt->fingerprint = g_strdup (fingerprint);
  g_free (prompt->services);
  prompt->services = g_strjoinv (",", (char **) services);
  g_free (prompt->verification);
  prompt->verification = g_strdup (verification);
  g_assert_true (cv_share_agent_get_consent_pending (share));
  if (prompt->silent)
    return;
  if (prompt->answer)
    g_assert_true (cv_share_agent_accept (share));
  else
    g_assert_true (cv_share_agent_deny (share));
  g_assert_false (cv_share_agent_get_consent_pending (share));
  g_assert_false (cv_share_agent_accept (share)); /* nothing left to answer */
}

/* A share agent offering "echo" (the echo target) and "web" (a port nothing listens on). */
static CvShareAgent *
make_offering_share_agent (Fixture *fixture, guint16 target_port, Prompt *prompt)
{
  g_autoptr (CvShareConfig) config = cv_share_config_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *echo = g_strdup_printf ("127.0.0.1:%u", target_port);
  CvShareAgent *agent;

  fill_agent_config (fixture, &config->agent, "test-share", SHARE_PASSWORD, fixture->gateway.port);
  g_assert_true (
    cv_share_config_add_service (config, "echo", CV_SERVICE_KIND_CUSTOM, echo, &error));
  g_assert_true (
    cv_share_config_add_service (config, "web", CV_SERVICE_KIND_HTTP, "127.0.0.1:1", &error));
  g_assert_no_error (error);
  /* Names are unique. */
  g_assert_false (
    cv_share_config_add_service (config, "echo", CV_SERVICE_KIND_CUSTOM, echo, &error));
  g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_BAD_VALUE);
  g_clear_error (&error);
  agent = cv_share_agent_new_from_config (config, fixture->context, &error);
  g_assert_no_error (error);
  g_signal_connect (agent, "consent-requested", G_CALLBACK (on_consent_requested), prompt);
  return agent;
}

/* @service: (nullable): mapped by name on a free port; NULL: none */
static CvConnectAgent *
make_service_connect_agent (Fixture *fixture, const char *service)
{
  g_autoptr (CvConnectConfig) config = cv_connect_config_new ();
  g_autoptr (GError) error = NULL;
  CvConnectAgent *agent;

  fill_agent_config (fixture, &config->agent, "test-connect", CONNECT_PASSWORD,
                     fixture->gateway.port);
  /* A config needs a mapping; this one's target is not offered. */
  cv_connect_config_add_mapping (config, "127.0.0.1", 0, "127.0.0.1", 1);
  agent = cv_connect_agent_new_from_config (config, fixture->context, &error);
  g_assert_no_error (error);
  if (service == NULL)
    return agent;
  g_assert_true (cv_connect_agent_map_service (agent, service, 0, &error));
  g_assert_no_error (error);
  return agent;
}

static void
start_both (Fixture *fixture, CvShareAgent *share, CvConnectAgent *connect)
{
  cv_share_agent_start (share);
  wait_for (fixture, share, "state", CV_AGENT_LINK_STATE_ONLINE);
  cv_connect_agent_start (connect);
  wait_for (fixture, connect, "share-online", TRUE);
}

/* A client on its thread, sending a random payload (from @seed) to @port. */
static GThread *
client_begin (Client *client, guint16 port, guint32 seed)
{
  client->port = port;
  client->sent = g_malloc (PAYLOAD_SIZE);
  cv_test_fill_random (client->sent, PAYLOAD_SIZE, seed);
  client->received = g_byte_array_new ();
  return g_thread_new ("client", client_run, client);
}

/* Both agents stop, and everything of the case is freed and finalized. */
static void
consent_case_end (Fixture *fixture,
                  GSocketService *echo,
                  CvShareAgent *share,
                  CvConnectAgent *connect,
                  CvMapping **mapping,
                  Client *client,
                  Prompt *prompt)
{
  cv_connect_agent_stop (connect);
  cv_share_agent_stop (share);
  wait_for (fixture, fixture->gateway.gateway, "n-links", 0);
  drain (fixture);
  g_socket_service_stop (echo);
  g_socket_listener_close (G_SOCKET_LISTENER (echo));
  g_clear_object (mapping);
  g_assert_finalize_object (connect);
  g_assert_finalize_object (share);
  g_clear_error (&client->error);
  g_free (client->sent);
  g_byte_array_unref (client->received);
  g_free (prompt->name);
  g_free (prompt->fingerprint);
  g_free (prompt->services);
  g_free (prompt->verification);
}

static gboolean
service_listed (gpointer data)
{
  return g_list_model_get_n_items (cv_connect_agent_get_services (data)) == 2;
}

static gboolean
declined (gpointer data)
{
  return cv_connect_agent_get_declined_reason (data) != NULL;
}

/* The connect agent learns the offered services, maps one by name on a free port, asks,
 * and once the sharer accepts, the echo service's bytes come back whole; the sharer saw
 * the connect agent's name, its key as the tunnel proved it, and what it asked for. */
static gboolean
has_upgrades (gpointer data)
{
  return cv_test_web_get_upgrades (data) >= 2;
}

/* The same agents by WebSocket, each to a web server (SoupServer) that relays to the
 * gateway's raw port, as nginx does: the share agent by wss:// (the web server's key
 * pinned), the connect agent by ws:// through an HTTP proxy (tinyproxy, where it is
 * installed).  The control links, HELLO, the tunnel halves and their end-to-end TLS run
 * unchanged inside; the bytes come back whole. */
static void
test_tunnel_over_websocket (Fixture *fixture, gconstpointer data)
{
  guint16 target_port = 0;
  g_autoptr (GSocketService) echo = echo_start (fixture->context, &target_port);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvIdentity) web_identity = cv_identity_load_or_create (fixture->dir, "web", "web",
                                                                    NULL, &error);
  g_autofree char *tinyproxy = g_find_program_in_path ("tinyproxy");
  g_autoptr (CvTestProxy) proxy = tinyproxy != NULL ? cv_test_proxy_start (0) : NULL;
  g_autoptr (CvShareConfig) share_config = cv_share_config_new ();
  g_autoptr (CvConnectConfig) connect_config = cv_connect_config_new ();
  g_autofree char *share_state = g_build_filename (fixture->dir, "ws-share", NULL);
  g_autofree char *connect_state = g_build_filename (fixture->dir, "ws-connect", NULL);
  const char *gateway_pin = cv_identity_get_fingerprint (fixture->gateway.identity);
  CvTestWeb *wss;
  CvTestWeb *ws;
  CvShareAgent *share;
  CvConnectAgent *connect;
  CvMapping *mapping;
  Client client = { 0 };
  GThread *client_thread;
  GMainContextPusher *pusher;

  g_assert_no_error (error);
  /* The web servers run on the agents' context too: libsoup attaches its sources to the
   * thread-default context whenever it makes one, so that is the agents' for the case. */
  pusher = g_main_context_pusher_new (fixture->context);
  wss = cv_test_web_new (cv_identity_get_certificate (web_identity));
  ws = cv_test_web_new (NULL);
  cv_test_web_relay_to (wss, fixture->gateway.port);
  cv_test_web_relay_to (ws, fixture->gateway.port);

  cv_agent_config_set_gateway (&share_config->agent, "127.0.0.1", cv_test_web_get_port (wss),
                               gateway_pin);
  cv_agent_config_set_web (&share_config->agent, CV_TEST_WEB_PATH, TRUE,
                           cv_identity_get_fingerprint (web_identity));
  cv_agent_config_set_proxy (&share_config->agent, "direct");
  cv_agent_config_set_session (&share_config->agent, "s1");
  cv_agent_config_set_password (&share_config->agent, SHARE_PASSWORD);
  cv_agent_config_set_name (&share_config->agent, "ws-share");
  cv_agent_config_set_state_dir (&share_config->agent, share_state);
  cv_share_config_add_allowed (share_config, "127.0.0.1", target_port, target_port);
  share = cv_share_agent_new_from_config (share_config, fixture->context, &error);
  g_assert_no_error (error);

  cv_agent_config_set_gateway (&connect_config->agent, "127.0.0.1", cv_test_web_get_port (ws),
                               gateway_pin);
  cv_agent_config_set_web (&connect_config->agent, CV_TEST_WEB_PATH, FALSE, NULL);
  cv_agent_config_set_proxy (&connect_config->agent, proxy != NULL ? proxy->url : "direct");
  cv_agent_config_set_session (&connect_config->agent, "s1");
  cv_agent_config_set_password (&connect_config->agent, CONNECT_PASSWORD);
  cv_agent_config_set_name (&connect_config->agent, "ws-connect");
  cv_agent_config_set_state_dir (&connect_config->agent, connect_state);
  cv_connect_config_add_mapping (connect_config, "127.0.0.1", 0, "127.0.0.1", target_port);
  connect = cv_connect_agent_new_from_config (connect_config, fixture->context, &error);
  g_assert_no_error (error);
  mapping = g_list_model_get_item (cv_connect_agent_get_mappings (connect), 0);

  cv_share_agent_start (share);
  wait_for (fixture, cv_share_agent_get_link (share), "state", CV_AGENT_LINK_STATE_ONLINE);
  cv_connect_agent_start (connect);
  wait_for (fixture, connect, "share-online", TRUE);

  client.port = cv_mapping_get_bound_port (mapping);
  client.sent = g_malloc (PAYLOAD_SIZE);
  cv_test_fill_random (client.sent, PAYLOAD_SIZE, 43);
  client.received = g_byte_array_new ();
  client_thread = g_thread_new ("client", client_run, &client);
  client_finish (fixture, client_thread, &client, connect, share);
  g_assert_cmpuint (cv_share_agent_get_bytes_in (share), ==, PAYLOAD_SIZE);
  {
    /* The status names the URL the gateway is dialled by. */
    g_autoptr (JsonNode) status = cv_share_agent_build_status (share);
    JsonObject *gateway = json_object_get_object_member (json_node_get_object (status), "gateway");
    g_autofree char *url = g_strdup_printf ("wss://127.0.0.1:%u" CV_TEST_WEB_PATH,
                                            cv_test_web_get_port (wss));

    g_assert_cmpstr (json_object_get_string_member (gateway, "url"), ==, url);
    g_assert_cmpstr (json_object_get_string_member (gateway, "fingerprint"), ==, gateway_pin);
  }
  /* Each agent's control link and its tunnel half came by WebSocket. */
  g_assert_true (wait_until (fixture, has_upgrades, wss));
  g_assert_true (wait_until (fixture, has_upgrades, ws));
  if (proxy != NULL)
    {
      g_autofree char *log = cv_test_proxy_log (proxy);
      g_autofree char *asked = g_strdup_printf ("CONNECT 127.0.0.1:%u", cv_test_web_get_port (ws));

      g_assert_nonnull (strstr (log, asked));
    }

  cv_connect_agent_stop (connect);
  wait_for (fixture, share, "n-tunnels", 0);
  cv_share_agent_stop (share);
  wait_for (fixture, fixture->gateway.gateway, "n-links", 0);
  wait_for (fixture, fixture->gateway.gateway, "n-tunnels", 0);
  drain (fixture);
  g_socket_service_stop (echo);
  g_socket_listener_close (G_SOCKET_LISTENER (echo));
  g_object_unref (mapping);
  g_assert_finalize_object (connect);
  g_assert_finalize_object (share);
  cv_test_web_free (wss);
  cv_test_web_free (ws);
  g_main_context_pusher_free (pusher);
  g_free (client.sent);
  g_byte_array_unref (client.received);
}

static void
test_consent_accepted (Fixture *fixture, gconstpointer data)
{
  guint16 target_port = 0;
  g_autoptr (GSocketService) echo = echo_start (fixture->context, &target_port);
  Prompt prompt = { .answer = TRUE };
  CvShareAgent *share = make_offering_share_agent (fixture, target_port, &prompt);
  CvConnectAgent *connect = make_service_connect_agent (fixture, "echo");
  g_autoptr (CvMapping) mapping = g_list_model_get_item (cv_connect_agent_get_mappings (connect),
                                                         1);
  g_autoptr (CvService) service = NULL;
  Client client = { 0 };
  GThread *client_thread;

  g_assert_cmpstr (cv_mapping_get_service_name (mapping), ==, "echo");
  g_assert_null (cv_mapping_get_target_host (mapping));
  start_both (fixture, share, connect);

  client_thread = client_begin (&client, cv_mapping_get_bound_port (mapping), 7);
  client_finish (fixture, client_thread, &client, connect, share);

  g_assert_cmpuint (prompt.n_requests, ==, 1);
  g_assert_cmpstr (prompt.name, ==, "test-connect");
  g_assert_cmpstr (prompt.services, ==, "echo");
  g_assert_cmpstr (prompt.fingerprint, ==,
                   cv_identity_get_fingerprint (
                     cv_agent_link_get_identity (cv_connect_agent_get_link (connect))));
  g_assert_true (cv_connect_agent_get_consented (connect));
  g_assert_null (cv_connect_agent_get_declined_reason (connect));
  g_assert_true (service_listed (connect));
  service = g_list_model_get_item (cv_connect_agent_get_services (connect), 1);
  g_assert_cmpstr (cv_service_get_name (service), ==, "web");
  g_assert_cmpint (cv_service_get_kind (service), ==, CV_SERVICE_KIND_HTTP);
  g_assert_cmpuint (cv_mapping_get_target_port (mapping), ==, target_port);

  g_clear_object (&service);
  consent_case_end (fixture, echo, share, connect, &mapping, &client, &prompt);
}

/* Denied: the connect agent says "declined", its waiting client is refused, nothing
 * reaches the target, and a later client is refused at once.  Its address mapping to an
 * offered target is refused too, though it names an allowed host: without consent the
 * share agent opens nothing. */
static void
test_consent_denied (Fixture *fixture, gconstpointer data)
{
  guint16 target_port = 0;
  g_autoptr (GSocketService) echo = echo_start (fixture->context, &target_port);
  Prompt prompt = { .answer = FALSE };
  CvShareAgent *share = make_offering_share_agent (fixture, target_port, &prompt);
  CvConnectAgent *connect = make_service_connect_agent (fixture, "echo");
  g_autoptr (CvMapping) mapping = g_list_model_get_item (cv_connect_agent_get_mappings (connect),
                                                         1);
  Client client = { 0 };
  GThread *client_thread;

  start_both (fixture, share, connect);

  client_thread = client_begin (&client, cv_mapping_get_bound_port (mapping), 8);
  g_assert_true (wait_until (fixture, declined, connect));
  g_assert_true (wait_until (fixture, client_done, &client));
  g_thread_join (client_thread);
  g_assert_cmpuint (client.received->len, ==, 0);
  g_assert_cmpstr (cv_connect_agent_get_declined_reason (connect), ==, "declined");
  g_assert_false (cv_connect_agent_get_consented (connect));
  g_assert_cmpuint (prompt.n_requests, ==, 1);
  g_assert_cmpuint (cv_share_agent_get_bytes_in (share), ==, 0);
  g_assert_cmpuint (cv_connect_agent_get_n_channels (connect), ==, 0);

  consent_case_end (fixture, echo, share, connect, &mapping, &client, &prompt);
}

/* No answer within the consent timeout is a refusal, "timeout"; and a connect agent that
 * skips the services and opens a channel to an offered target straight away is refused
 * by the share agent (not-allowed): nothing reaches the target. */
static void
test_consent_timeout (Fixture *fixture, gconstpointer data)
{
  guint16 target_port = 0;
  g_autoptr (GSocketService) echo = echo_start (fixture->context, &target_port);
  Prompt prompt = { .silent = TRUE };
  CvShareAgent *share = make_offering_share_agent (fixture, target_port, &prompt);
  CvConnectAgent *connect = make_service_connect_agent (fixture, "echo");
  CvConnectAgent *direct = make_connect_agent (fixture, target_port);
  g_autoptr (CvMapping) mapping = g_list_model_get_item (cv_connect_agent_get_mappings (connect),
                                                         1);
  g_autoptr (CvMapping) direct_mapping =
    g_list_model_get_item (cv_connect_agent_get_mappings (direct), 0);
  Client client = { 0 };
  GThread *client_thread;

  cv_share_agent_set_consent_timeout_ms (share, 200);
  cv_share_agent_start (share);
  wait_for (fixture, share, "state", CV_AGENT_LINK_STATE_ONLINE);

  /* Straight to the target, without asking. */
  cv_connect_agent_start (direct);
  wait_for (fixture, direct, "share-online", TRUE);
  client_thread = client_begin (&client, cv_mapping_get_bound_port (direct_mapping), 9);
  g_assert_true (wait_until (fixture, client_done, &client));
  g_thread_join (client_thread);
  g_assert_cmpuint (client.received->len, ==, 0);
  g_assert_cmpuint (prompt.n_requests, ==, 0);
  g_assert_cmpuint (cv_share_agent_get_n_channels (share), ==, 0);
  g_assert_cmpuint (cv_share_agent_get_bytes_in (share), ==, 0);
  cv_connect_agent_stop (direct);
  wait_for (fixture, share, "n-tunnels", 0);

  /* Asking, and nobody answers. */
  cv_connect_agent_start (connect);
  wait_for (fixture, connect, "share-online", TRUE);
  g_clear_error (&client.error);
  g_clear_pointer (&client.sent, g_free);
  g_clear_pointer (&client.received, g_byte_array_unref);
  client.done = 0;
  client_thread = client_begin (&client, cv_mapping_get_bound_port (mapping), 10);
  g_assert_true (wait_until (fixture, declined, connect));
  g_assert_true (wait_until (fixture, client_done, &client));
  g_thread_join (client_thread);
  g_assert_cmpstr (cv_connect_agent_get_declined_reason (connect), ==, "timeout");
  g_assert_cmpuint (prompt.n_requests, ==, 1);
  g_assert_false (cv_share_agent_get_consent_pending (share));
  g_assert_false (cv_share_agent_accept (share)); /* too late */
  g_assert_cmpuint (client.received->len, ==, 0);
  g_assert_cmpuint (cv_share_agent_get_bytes_in (share), ==, 0);

  g_clear_object (&direct_mapping);
  g_assert_finalize_object (direct);
  consent_case_end (fixture, echo, share, connect, &mapping, &client, &prompt);
}

/* ---- session codes ------------------------------------------------------ */

static gboolean
share_has_code (gpointer data)
{
  return cv_share_agent_get_code (data) != NULL;
}

/* A share agent in code mode, online with a code to read out. */
static CvShareAgent *
start_code_share (Fixture *fixture, guint16 target_port, Prompt *prompt)
{
  CvShareAgent *share = make_offering_share_agent (fixture, target_port, prompt);

  cv_agent_link_set_code_mode (cv_share_agent_get_link (share), NULL);
  cv_share_agent_start (share);
  g_assert_true (wait_until (fixture, share_has_code, share));
  g_assert_cmpint (cv_share_agent_get_code_state (share), ==, CV_CODE_STATE_WAITING);
  g_assert_cmpint (cv_share_agent_get_code_expires (share), >, g_get_real_time ());
  return share;
}

static CvConnectAgent *
make_code_connect_agent (Fixture *fixture, const char *code)
{
  CvConnectAgent *connect = make_service_connect_agent (fixture, "echo");
  g_autoptr (GError) error = NULL;

  g_assert_true (cv_connect_agent_set_code (connect, code, &error));
  g_assert_no_error (error);
  return connect;
}

/* The right code: the PAKE confirms both keys, the verification strings are equal, the
 * sharer is asked with it and accepts, and the echo service's bytes come back whole
 * through a tunnel pinned to the keys the PAKE bound. */
static void
test_code_accepted (Fixture *fixture, gconstpointer data)
{
  guint16 target_port = 0;
  g_autoptr (GSocketService) echo = echo_start (fixture->context, &target_port);
  Prompt prompt = { .answer = TRUE };
  CvShareAgent *share = start_code_share (fixture, target_port, &prompt);
  g_autofree char *code = g_strdup (cv_share_agent_get_code (share));
  CvConnectAgent *connect = make_code_connect_agent (fixture, code);
  g_autoptr (CvMapping) mapping = g_list_model_get_item (cv_connect_agent_get_mappings (connect),
                                                         1);
  Client client = { 0 };
  GThread *client_thread;

  g_assert_true (g_regex_match_simple ("^[0-9]{3}-[0-9]{3}-[0-9]{3}$", code, 0, 0));
  cv_connect_agent_start (connect);
  wait_for (fixture, connect, "code-state", CV_CODE_STATE_CONFIRMED);
  client_thread = client_begin (&client, cv_mapping_get_bound_port (mapping), 11);
  client_finish (fixture, client_thread, &client, connect, share);

  g_assert_cmpint (cv_share_agent_get_code_state (share), ==, CV_CODE_STATE_CONSENTED);
  g_assert_cmpint (cv_connect_agent_get_code_state (connect), ==, CV_CODE_STATE_CONSENTED);
  g_assert_nonnull (cv_share_agent_get_verification (share));
  g_assert_cmpstr (cv_share_agent_get_verification (share), ==,
                   cv_connect_agent_get_verification (connect));
  g_assert_cmpstr (prompt.verification, ==, cv_share_agent_get_verification (share));
  g_assert_cmpuint (prompt.n_requests, ==, 1);
  g_assert_cmpstr (prompt.services, ==, "echo");
  /* Nothing was pinned on first use: the code's PAKE decided the key. */
  {
    g_autofree char *known = g_build_filename (fixture->dir, "test-connect", "known_shares", NULL);
    g_assert_false (g_file_test (known, G_FILE_TEST_EXISTS));
  }
  consent_case_end (fixture, echo, share, connect, &mapping, &client, &prompt);
}

static gboolean
share_burned (gpointer data)
{
  return cv_share_agent_get_code_state (data) == CV_CODE_STATE_BURNED;
}

static gboolean
connect_burned (gpointer data)
{
  return cv_connect_agent_get_code_state (data) == CV_CODE_STATE_BURNED;
}

/* A wrong secret burns the code at both agents (and the gateway): the sharer is told,
 * nothing is asked, and the right code then fails too; a renewed code is another. */
static void
test_code_wrong (Fixture *fixture, gconstpointer data)
{
  guint16 target_port = 0;
  g_autoptr (GSocketService) echo = echo_start (fixture->context, &target_port);
  Prompt prompt = { .answer = TRUE };
  CvShareAgent *share = start_code_share (fixture, target_port, &prompt);
  g_autofree char *code = g_strdup (cv_share_agent_get_code (share));
  g_autofree char *wrong = g_strdup (code);
  CvConnectAgent *guesser, *late;
  g_autoptr (CvMapping) mapping = NULL;
  Client client = { 0 };

  /* The last digit off by one. */
  wrong[strlen (wrong) - 1] = wrong[strlen (wrong) - 1] == '9' ? '0'
                                                               : wrong[strlen (wrong) - 1] + 1;
  guesser = make_code_connect_agent (fixture, wrong);
  cv_connect_agent_start (guesser);
  g_assert_true (wait_until (fixture, share_burned, share));
  g_assert_true (wait_until (fixture, connect_burned, guesser));
  g_assert_null (cv_share_agent_get_code (share));
  g_assert_null (cv_share_agent_get_verification (share));
  g_assert_null (cv_connect_agent_get_verification (guesser));
  cv_connect_agent_stop (guesser);
  g_assert_finalize_object (guesser);

  /* The right code, too late: the gateway says bad-code. */
  late = make_code_connect_agent (fixture, code);
  cv_connect_agent_start (late);
  g_assert_true (wait_until (fixture, connect_burned, late));
  g_assert_error (cv_agent_link_get_last_error (cv_connect_agent_get_link (late)), CV_REFUSAL_ERROR,
                  CV_REFUSAL_BAD_CODE);
  g_assert_cmpuint (prompt.n_requests, ==, 0);

  /* One action for a new code. */
  g_assert_true (cv_share_agent_renew_code (share));
  g_assert_true (wait_until (fixture, share_has_code, share));
  g_assert_cmpstr (cv_share_agent_get_code (share), !=, code);
  g_assert_cmpint (cv_share_agent_get_code_state (share), ==, CV_CODE_STATE_WAITING);

  mapping = g_list_model_get_item (cv_connect_agent_get_mappings (late), 1);
  client.sent = g_malloc (1);
  client.received = g_byte_array_new ();
  consent_case_end (fixture, echo, share, late, &mapping, &client, &prompt);
}

static gboolean
has_tunnel (gpointer data)
{
  return cv_connect_agent_has_tunnel (data);
}

/* A code connect agent with no service mapping, whose services come first. */
static CvConnectAgent *
make_services_first_agent (Fixture *fixture, const char *code)
{
  CvConnectAgent *agent = make_service_connect_agent (fixture, NULL);
  g_autoptr (GError) error = NULL;

  g_assert_true (cv_connect_agent_set_code (agent, code, &error));
  g_assert_no_error (error);
  cv_connect_agent_set_services_first (agent, TRUE);
  return agent;
}

/* Services first (the app's way): once the code is confirmed the tunnel opens by itself,
 * the offered services and the verification are there before anything is asked; asking
 * for a service not offered changes nothing; asking for "echo" maps it, the sharer is
 * asked for exactly that, and its bytes come back whole. */
static void
test_code_services_first (Fixture *fixture, gconstpointer data)
{
  guint16 target_port = 0;
  g_autoptr (GSocketService) echo = echo_start (fixture->context, &target_port);
  Prompt prompt = { .answer = TRUE };
  CvShareAgent *share = start_code_share (fixture, target_port, &prompt);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvMapping) mapping = NULL;
  g_autoptr (CvService) first = NULL;
  const char *const wrong[] = { "nope", NULL };
  const char *const chosen[] = { "echo", NULL };
  CvConnectAgent *connect;
  Client client = { 0 };
  GThread *client_thread;

  connect = make_services_first_agent (fixture, cv_share_agent_get_code (share));
  cv_connect_agent_start (connect);

  wait_for (fixture, connect, "code-state", CV_CODE_STATE_CONFIRMED);
  g_assert_cmpstr (cv_connect_agent_get_verification (connect), ==,
                   cv_share_agent_get_verification (share));
  g_assert_true (wait_until (fixture, service_listed, connect));
  g_assert_true (has_tunnel (connect));
  first = g_list_model_get_item (cv_connect_agent_get_services (connect), 0);
  g_assert_cmpstr (cv_service_get_name (first), ==, "echo");
  /* Nothing asked yet, and nothing is while the person chooses. */
  drain (fixture);
  g_assert_cmpuint (prompt.n_requests, ==, 0);
  g_assert_cmpint (cv_connect_agent_get_code_state (connect), ==, CV_CODE_STATE_CONFIRMED);

  g_assert_false (cv_connect_agent_request_services (connect, wrong, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (g_list_model_get_n_items (cv_connect_agent_get_mappings (connect)), ==, 1);

  g_assert_true (cv_connect_agent_request_services (connect, chosen, &error));
  g_assert_no_error (error);
  g_assert_false (cv_connect_agent_request_services (connect, chosen, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
  g_clear_error (&error);
  wait_for (fixture, connect, "code-state", CV_CODE_STATE_CONSENTED);
  g_assert_cmpuint (prompt.n_requests, ==, 1);
  g_assert_cmpstr (prompt.services, ==, "echo");
  g_assert_cmpstr (prompt.verification, ==, cv_connect_agent_get_verification (connect));

  mapping = g_list_model_get_item (cv_connect_agent_get_mappings (connect), 1);
  g_assert_cmpstr (cv_mapping_get_service_name (mapping), ==, "echo");
  g_assert_true (cv_mapping_get_listening (mapping));
  client_thread = client_begin (&client, cv_mapping_get_bound_port (mapping), 12);
  client_finish (fixture, client_thread, &client, connect, share);
  consent_case_end (fixture, echo, share, connect, &mapping, &client, &prompt);
}

/* Services first, and the sharer says no: declined, with the reason. */
static void
test_code_services_first_denied (Fixture *fixture, gconstpointer data)
{
  guint16 target_port = 0;
  g_autoptr (GSocketService) echo = echo_start (fixture->context, &target_port);
  Prompt prompt = { .answer = FALSE };
  CvShareAgent *share = start_code_share (fixture, target_port, &prompt);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvMapping) mapping = NULL;
  const char *const chosen[] = { "echo", "web", NULL };
  CvConnectAgent *connect;
  Client client = { 0 };

  connect = make_services_first_agent (fixture, cv_share_agent_get_code (share));
  cv_connect_agent_start (connect);
  g_assert_true (wait_until (fixture, service_listed, connect));
  g_assert_true (cv_connect_agent_request_services (connect, chosen, &error));
  g_assert_no_error (error);
  g_assert_true (wait_until (fixture, declined, connect));
  g_assert_cmpstr (cv_connect_agent_get_declined_reason (connect), ==, "declined");
  g_assert_cmpint (cv_connect_agent_get_code_state (connect), ==, CV_CODE_STATE_DECLINED);
  g_assert_cmpstr (prompt.services, ==, "echo,web");
  g_assert_cmpuint (cv_share_agent_get_bytes_in (share), ==, 0);

  mapping = g_list_model_get_item (cv_connect_agent_get_mappings (connect), 1);
  client.sent = g_malloc (1);
  client.received = g_byte_array_new ();
  consent_case_end (fixture, echo, share, connect, &mapping, &client, &prompt);
}

/* The engine's messages, for the cases that count what they log. */
static GPtrArray *engine_messages;

static void
on_engine_message (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
  g_ptr_array_add (engine_messages, g_strdup (message));
  g_log_default_handler (domain, level, message, data);
}

static guint
count_messages (const char *part)
{
  guint n = 0;

  for (guint i = 0; i < engine_messages->len; i++)
    if (strstr (engine_messages->pdata[i], part) != NULL)
      n++;
  return n;
}

static const char *
share_key (CvShareAgent *share)
{
  return cv_identity_get_fingerprint (cv_agent_link_get_identity (cv_share_agent_get_link (share)));
}

/* Starts @share, and waits for the connect agent to hear of it. */
static void
share_online (Fixture *fixture, CvShareAgent *share, CvConnectAgent *connect)
{
  cv_share_agent_start (share);
  wait_for (fixture, cv_share_agent_get_link (share), "state", CV_AGENT_LINK_STATE_ONLINE);
  wait_for (fixture, connect, "share-online", TRUE);
}

static void
share_offline (Fixture *fixture, CvShareAgent *share, CvConnectAgent *connect)
{
  cv_share_agent_stop (share);
  wait_for (fixture, connect, "share-online", FALSE);
  drain (fixture);
  g_assert_finalize_object (share);
}

/* Another share agent in the session: the connect agent says so once, naming both names
 * and keys; the same one coming back is no news. */
static void
test_share_replaced (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CvConnectConfig) connect_config = cv_connect_config_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *first_key = NULL;
  g_autofree char *replaced = NULL;
  CvShareAgent *share = make_share_agent_named (fixture, "first-share", SHARE_PASSWORD,
                                                fixture->gateway.port, 1);
  CvConnectAgent *connect;
  guint id = g_log_set_handler ("culvert-engine", G_LOG_LEVEL_MESSAGE, on_engine_message, NULL);

  engine_messages = g_ptr_array_new_with_free_func (g_free);
  first_key = g_strdup (share_key (share));
  fill_agent_config (fixture, &connect_config->agent, "test-connect", CONNECT_PASSWORD,
                     fixture->gateway.port);
  cv_connect_config_add_mapping (connect_config, "127.0.0.1", 0, "127.0.0.1", 1);
  connect = cv_connect_agent_new_from_config (connect_config, fixture->context, &error);
  g_assert_no_error (error);
  cv_share_agent_start (share);
  wait_for (fixture, cv_share_agent_get_link (share), "state", CV_AGENT_LINK_STATE_ONLINE);
  /* The first one it hears of (in WELCOME) is no change. */
  cv_connect_agent_start (connect);
  wait_for (fixture, connect, "share-online", TRUE);
  share_offline (fixture, share, connect);
  /* The same agent again (same name, same key), in a PRESENCE. */
  share = make_share_agent_named (fixture, "first-share", SHARE_PASSWORD, fixture->gateway.port, 1);
  share_online (fixture, share, connect);
  g_assert_cmpuint (count_messages ("another share agent"), ==, 0);
  share_offline (fixture, share, connect);

  /* Another one: another name, another key. */
  share = make_share_agent_named (fixture, "second-share", SHARE_PASSWORD, fixture->gateway.port,
                                  1);
  g_assert_cmpstr (share_key (share), !=, first_key);
  share_online (fixture, share, connect);
  g_assert_cmpstr (cv_connect_agent_get_share_name (connect), ==, "second-share");
  replaced = g_strdup_printf ("WARNING: session “s1”: the gateway announces another share agent: "
                              "“first-share” (key %s) replaced by “second-share” (key %s)",
                              first_key, share_key (share));
  g_assert_cmpuint (count_messages ("another share agent"), ==, 1);
  g_assert_cmpuint (count_messages (replaced), ==, 1);

  share_offline (fixture, share, connect);
  cv_connect_agent_stop (connect);
  drain (fixture);
  g_assert_finalize_object (connect);
  g_log_remove_handler ("culvert-engine", id);
  g_clear_pointer (&engine_messages, g_ptr_array_unref);
}

/* A share agent whose link waits to retry: stopped, it plans no retry, and goes away. */
static void
stop_retrying_share (Fixture *fixture, CvShareAgent *share, CvAgentLink *link, Recorder *r_link)
{
  cv_share_agent_stop (share);
  assert_events (r_link, (const char *[]){ "next-retry-time=0", "state=stopped", NULL });
  drain (fixture);
  recorder_free (r_link);
  g_assert_finalize_object (share);
  g_assert_finalize_object (link);
}

/* A wrong password: refused, the reason as a value and as a sentence, retried later. */
static void
test_refused (Fixture *fixture, gconstpointer data)
{
  CvShareAgent *share = make_share_agent (fixture, "not the password", fixture->gateway.port, 1);
  CvAgentLink *link = g_object_ref (cv_share_agent_get_link (share));
  Recorder *r_link = record (link);
  g_autofree char *sentence = NULL;
  g_autofree char *expected_error = g_strdup_printf ("last-error=%s:%d",
                                                     g_quark_to_string (CV_REFUSAL_ERROR),
                                                     CV_REFUSAL_BAD_PASSWORD);
  const GError *error;

  cv_share_agent_start (share);
  wait_for (fixture, link, "state", CV_AGENT_LINK_STATE_REFUSED);
  assert_events (r_link,
                 (const char *[]){ "state=connecting", expected_error, "refusal=bad-password",
                                   "next-retry-time=future", "state=refused", NULL });
  g_assert_cmpint (cv_agent_link_get_refusal (link), ==, CV_REFUSAL_BAD_PASSWORD);
  error = cv_agent_link_get_last_error (link);
  g_assert_error (error, CV_REFUSAL_ERROR, CV_REFUSAL_BAD_PASSWORD);
  sentence = cv_refusal_describe (CV_REFUSAL_BAD_PASSWORD, "s1");
  g_assert_cmpstr (sentence, ==,
                   "The gateway knows no session “s1” with this password: the session id or the "
                   "password is wrong");
  g_assert_cmpstr (error->message, ==, sentence);
  /* After a refused login the next try is slow: 30 s doubling, jitter no less than half. */
  g_assert_cmpint (cv_agent_link_get_next_retry_time (link), >,
                   g_get_real_time () + 10 * G_USEC_PER_SEC);
  g_assert_cmpstr (cv_refusal_to_string (CV_REFUSAL_BAD_PASSWORD), ==, CV_REASON_BAD_PASSWORD);
  g_assert_cmpint (cv_refusal_from_string ("no-such-reason"), ==, CV_REFUSAL_UNKNOWN);

  stop_retrying_share (fixture, share, link, r_link);
}

/* No gateway at the address: backing off, with the next try in the future. */
static void
test_backing_off (Fixture *fixture, gconstpointer data)
{
  guint16 port = 0;
  CvShareAgent *share;
  CvAgentLink *link;
  Recorder *r_link;
  g_autofree char *expected_error = g_strdup_printf ("last-error=%s:%d",
                                                     g_quark_to_string (CV_AGENT_ERROR),
                                                     CV_AGENT_ERROR_UNREACHABLE);
  gint64 next;

  /* A port nobody listens on: bound, then closed. */
  g_object_unref (cv_test_listen_loopback (&port));
  share = make_share_agent (fixture, SHARE_PASSWORD, port, 1);
  link = g_object_ref (cv_share_agent_get_link (share));
  r_link = record (link);
  cv_agent_link_set_backoff (link, 5000, 10000, 30000, 600000);
  cv_share_agent_start (share);
  wait_for (fixture, link, "state", CV_AGENT_LINK_STATE_BACKING_OFF);
  next = cv_agent_link_get_next_retry_time (link);
  g_assert_cmpint (next, >, g_get_real_time () + G_USEC_PER_SEC);
  g_assert_cmpint (next, <=, g_get_real_time () + 5 * G_USEC_PER_SEC);
  g_assert_cmpint (cv_agent_link_get_refusal (link), ==, CV_REFUSAL_NONE);
  assert_events (r_link, (const char *[]){ "state=connecting", expected_error,
                                           "next-retry-time=future", "state=backing-off", NULL });
  stop_retrying_share (fixture, share, link, r_link);
}

/* ---- authorized connect keys -------------------------------------------- */

typedef struct {
  guint n;
  char *fingerprint;
} Refused;

static void
on_connect_key_refused (CvShareAgent *share,
                        const char *fingerprint,
                        const char *peer_name,
                        const char *peer_address,
                        Refused *refused)
{
  refused->n++;
  g_free (refused->fingerprint);
  refused->fingerprint = g_strdup (fingerprint);
  g_assert_cmpstr (peer_name, ==, "test-connect");
  g_assert_cmpstr (peer_address, ==, "127.0.0.1");
}

static void
count_notify (guint *n)
{
  (*n)++;
}

static gboolean
key_refused (gpointer data)
{
  return ((Refused *) data)->n > 0;
}

/* A client of the connect agent's mapping, run to its end; TRUE if its payload came
 * back whole. */
static gboolean
client_echo (Fixture *fixture, Client *client, guint16 port)
{
  GThread *thread;

  g_clear_error (&client->error);
  g_byte_array_set_size (client->received, 0);
  client->done = 0;
  client->port = port;
  thread = g_thread_new ("client", client_run, client);
  g_assert_true (wait_until (fixture, client_done, client));
  g_thread_join (thread);
  return client->error == NULL && client->received->len == PAYLOAD_SIZE
         && memcmp (client->received->data, client->sent, PAYLOAD_SIZE) == 0;
}

/* The share agent lists the connect agents it takes: the gateway announces this one
 * (it logged in with the session's password), but while its key is not listed it is
 * refused in the tunnel's handshake, with connect-key-refused and no tunnel; once it is
 * listed, its channels flow.  A bad key changes nothing. */
static void
test_connect_key_refused (Fixture *fixture, gconstpointer data)
{
  guint16 target_port = 0;
  g_autoptr (GSocketService) echo = echo_start (fixture->context, &target_port);
  CvShareAgent *share = make_share_agent (fixture, SHARE_PASSWORD, fixture->gateway.port,
                                          target_port);
  CvConnectAgent *connect = make_connect_agent (fixture, target_port);
  const char *connect_key = cv_identity_get_fingerprint (
    cv_agent_link_get_identity (cv_connect_agent_get_link (connect)));
  const char *others[] = { "sha256:" /* 64 digits */
                           "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a",
                           NULL };
  const char *bad[] = { "sha256:5a", NULL };
  g_autoptr (CvMapping) mapping = g_list_model_get_item (cv_connect_agent_get_mappings (connect),
                                                         0);
  g_auto (GStrv) listed = NULL;
  g_autoptr (GError) error = NULL;
  Refused refused = { 0 };
  Client client = { 0 };
  guint n_notified = 0;

  g_assert_null (cv_share_agent_get_authorized_connect_keys (share));
  g_signal_connect_swapped (share, "notify::authorized-connect-keys", G_CALLBACK (count_notify),
                            &n_notified);
  g_signal_connect (share, "connect-key-refused", G_CALLBACK (on_connect_key_refused), &refused);
  g_assert_true (cv_share_agent_set_authorized_connect_keys (share, others, &error));
  g_assert_no_error (error);
  g_object_get (share, "authorized-connect-keys", &listed, NULL);
  g_assert_cmpstrv (listed, others);
  g_assert_cmpuint (n_notified, ==, 1);

  client.sent = g_malloc (PAYLOAD_SIZE);
  cv_test_fill_random (client.sent, PAYLOAD_SIZE, 7);
  client.received = g_byte_array_new ();
  cv_connect_agent_start (connect);
  share_online (fixture, share, connect);
  g_assert_false (client_echo (fixture, &client, cv_mapping_get_bound_port (mapping)));
  g_assert_true (wait_until (fixture, key_refused, &refused));
  g_assert_cmpuint (refused.n, ==, 1);
  g_assert_cmpstr (refused.fingerprint, ==, connect_key);
  g_assert_cmpuint (cv_share_agent_get_n_tunnels (share), ==, 0);
  g_assert_cmpuint (cv_share_agent_get_n_channels (share), ==, 0);
  g_assert_cmpuint (cv_share_agent_get_bytes_in (share), ==, 0);

  /* A malformed key: refused, the list unchanged. */
  g_assert_false (cv_share_agent_set_authorized_connect_keys (share, bad, &error));
  g_assert_error (error, CV_IDENTITY_ERROR, CV_IDENTITY_ERROR_BAD_FINGERPRINT);
  g_clear_error (&error);
  g_assert_cmpstrv (cv_share_agent_get_authorized_connect_keys (share), others);
  g_assert_cmpuint (n_notified, ==, 1);

  /* Listed (in capitals): the next tunnel opens and the payload comes back. */
  {
    g_autofree char *upper = g_ascii_strup (connect_key, -1);
    const char *both[] = { others[0], upper, NULL };

    g_assert_true (cv_share_agent_set_authorized_connect_keys (share, both, &error));
    g_assert_cmpstr (cv_share_agent_get_authorized_connect_keys (share)[1], ==, connect_key);
  }
  wait_for (fixture, connect, "n-channels", 0);
  g_assert_true (client_echo (fixture, &client, cv_mapping_get_bound_port (mapping)));
  g_assert_cmpuint (refused.n, ==, 1);
  g_assert_cmpuint (cv_share_agent_get_n_tunnels (share), ==, 1);

  /* None: any announced key again. */
  g_assert_true (cv_share_agent_set_authorized_connect_keys (share, NULL, &error));
  g_assert_null (cv_share_agent_get_authorized_connect_keys (share));

  cv_connect_agent_stop (connect);
  wait_for (fixture, share, "n-tunnels", 0);
  cv_share_agent_stop (share);
  drain (fixture);
  g_socket_service_stop (echo);
  g_socket_listener_close (G_SOCKET_LISTENER (echo));
  g_clear_object (&mapping);
  g_assert_finalize_object (connect);
  g_assert_finalize_object (share);
  g_free (refused.fingerprint);
  g_free (client.sent);
  g_byte_array_unref (client.received);
  g_clear_error (&client.error);
}

/* A config built in code names what it lacks. */
static void
test_config_checked (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CvShareConfig) config = cv_share_config_new ();
  g_autoptr (GError) error = NULL;

  cv_share_config_add_allowed (config, "127.0.0.1", 1, 1);
  g_assert_null (cv_share_agent_new_from_config (config, fixture->context, &error));
  g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_MISSING_KEY);
  g_assert_nonnull (strstr (error->message, "gateway"));
  g_clear_error (&error);
  cv_agent_config_set_gateway (&config->agent, "127.0.0.1", 1, NULL);
  cv_agent_config_set_session (&config->agent, "s1");
  g_assert_null (cv_share_agent_new_from_config (config, fixture->context, &error));
  g_assert_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_MISSING_KEY);
  g_assert_nonnull (strstr (error->message, "password"));
}

/* ---- status ------------------------------------------------------------- */

static JsonObject *
member_object (JsonObject *object, const char *name)
{
  g_assert_true (json_object_has_member (object, name));
  return json_object_get_object_member (object, name);
}

static JsonObject *
element_object (JsonObject *object, const char *array, guint index)
{
  JsonArray *elements = json_object_get_array_member (object, array);

  g_assert_cmpuint (json_array_get_length (elements), >, index);
  return json_array_get_object_element (elements, index);
}

/* The status reports of the gateway and both agents while a channel is open, with the
 * bytes it carried so far (the gateway's and the agents' counts are live). */
static void
test_status (Fixture *fixture, gconstpointer data)
{
  guint16 target_port = 0;
  g_autoptr (GSocketService) echo = echo_start (fixture->context, &target_port);
  CvShareAgent *share = make_share_agent (fixture, SHARE_PASSWORD, fixture->gateway.port,
                                          target_port);
  CvConnectAgent *connect = make_connect_agent (fixture, target_port);
  g_autofree char *target = g_strdup_printf ("127.0.0.1:%u", target_port);
  g_autoptr (CvMapping) mapping = NULL;
  g_autoptr (JsonNode) gateway_node = NULL;
  g_autoptr (JsonNode) share_node = NULL;
  g_autoptr (JsonNode) connect_node = NULL;
  JsonObject *status, *session, *agent, *tunnel;
  Client client = { 0 };
  GThread *client_thread;

  mapping = g_list_model_get_item (cv_connect_agent_get_mappings (connect), 0);

  /* Not started yet: the link is stopped, nothing is known of the share agent. */
  connect_node = cv_connect_agent_build_status (connect);
  status = json_node_get_object (connect_node);
  g_assert_cmpstr (json_object_get_string_member (member_object (status, "link"), "state"), ==,
                   "stopped");
  g_assert_false (json_object_get_boolean_member (member_object (status, "share"), "online"));
  g_assert_true (json_object_get_null_member (status, "started"));
  g_clear_pointer (&connect_node, json_node_unref);

  start_both (fixture, share, connect);
  client.port = cv_mapping_get_bound_port (mapping);
  client.sent = g_malloc (PAYLOAD_SIZE);
  cv_test_fill_random (client.sent, PAYLOAD_SIZE, 7);
  client.received = g_byte_array_new ();
  client.hold = TRUE;
  client_thread = g_thread_new ("held client", client_run, &client);
  g_assert_true (wait_until (fixture, client_echoed, &client));
  wait_for (fixture, mapping, "bytes-in", PAYLOAD_SIZE);
  wait_for (fixture, share, "bytes-out", PAYLOAD_SIZE);

  /* The gateway: the session, both agents with names and keys, the tunnel's bytes. */
  gateway_node = cv_gateway_build_status (fixture->gateway.gateway);
  status = json_node_get_object (gateway_node);
  g_assert_cmpstr (json_object_get_string_member (status, "role"), ==, "gateway");
  g_assert_cmpstr (json_object_get_string_member (status, "fingerprint"), ==,
                   cv_identity_get_fingerprint (fixture->gateway.identity));
  g_assert_cmpint (json_object_get_int_member (element_object (status, "listeners", 0), "port"), ==,
                   fixture->gateway.port);
  session = element_object (status, "sessions", 0);
  g_assert_cmpstr (json_object_get_string_member (session, "id"), ==, "s1");
  g_assert_cmpstr (json_object_get_string_member (session, "name"), ==, "Session one");
  agent = member_object (session, "share");
  g_assert_cmpstr (json_object_get_string_member (agent, "name"), ==, "test-share");
  g_assert_cmpstr (json_object_get_string_member (agent, "address"), ==, "127.0.0.1");
  g_assert_cmpstr (json_object_get_string_member (agent, "fingerprint"), ==, share_key (share));
  g_assert_nonnull (json_object_get_string_member (agent, "since"));
  agent = element_object (session, "connects", 0);
  g_assert_cmpstr (json_object_get_string_member (agent, "role"), ==, "connect");
  g_assert_cmpstr (json_object_get_string_member (agent, "name"), ==, "test-connect");
  g_assert_cmpstr (json_object_get_string_member (agent, "fingerprint"), ==,
                   cv_identity_get_fingerprint (
                     cv_agent_link_get_identity (cv_connect_agent_get_link (connect))));
  tunnel = element_object (status, "tunnels", 0);
  g_assert_cmpstr (json_object_get_string_member (tunnel, "session"), ==, "s1");
  /* TLS records and the mux's frames around the payload: a little more. */
  g_assert_cmpint (json_object_get_int_member (tunnel, "bytes_connect_to_share"), >, PAYLOAD_SIZE);
  g_assert_cmpint (json_object_get_int_member (tunnel, "bytes_share_to_connect"), >, PAYLOAD_SIZE);
  g_assert_cmpint (json_object_get_int_member (member_object (status, "totals"), "tunnels"), ==, 1);

  /* The share agent: online, its allow list, the tunnel from the connect agent. */
  share_node = cv_share_agent_build_status (share);
  status = json_node_get_object (share_node);
  g_assert_cmpstr (json_object_get_string_member (status, "role"), ==, "share");
  g_assert_cmpstr (json_object_get_string_member (member_object (status, "link"), "state"), ==,
                   "online");
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (status, "allow"),
                                                  0),
                   ==, target);
  g_assert_cmpstr (json_object_get_string_member (element_object (status, "tunnels", 0),
                                                  "peer_name"),
                   ==, "test-connect");
  g_assert_cmpint (json_object_get_int_member (status, "channels"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (status, "bytes_out"), >=, PAYLOAD_SIZE);

  /* The connect agent: the share agent by name and key, the mapping's live bytes. */
  connect_node = cv_connect_agent_build_status (connect);
  status = json_node_get_object (connect_node);
  g_assert_cmpstr (json_object_get_string_member (member_object (status, "share"), "fingerprint"),
                   ==, share_key (share));
  g_assert_true (json_object_get_boolean_member (member_object (status, "tunnel"), "open"));
  agent = element_object (status, "mappings", 0);
  g_assert_cmpstr (json_object_get_string_member (agent, "target"), ==, target);
  g_assert_cmpint (json_object_get_int_member (agent, "bound_port"), ==, client.port);
  g_assert_cmpint (json_object_get_int_member (agent, "channels"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (agent, "bytes_in"), >=, PAYLOAD_SIZE);
  g_assert_cmpint (json_object_get_int_member (agent, "bytes_out"), >=, PAYLOAD_SIZE);

  g_atomic_int_set (&client.released, 1);
  client_finish (fixture, client_thread, &client, connect, share);
  cv_connect_agent_stop (connect);
  wait_for (fixture, share, "n-tunnels", 0);
  cv_share_agent_stop (share);
  wait_for (fixture, fixture->gateway.gateway, "n-links", 0);
  drain (fixture);
  g_socket_service_stop (echo);
  g_socket_listener_close (G_SOCKET_LISTENER (echo));
  g_clear_object (&mapping);
  g_assert_finalize_object (connect);
  g_assert_finalize_object (share);
  g_free (client.sent);
  g_byte_array_unref (client.received);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  share_hash = cv_password_hash (SHARE_PASSWORD, &error);
  g_assert_no_error (error);
  connect_hash = cv_password_hash (CONNECT_PASSWORD, &error);
  g_assert_no_error (error);

  g_test_add ("/roles/tunnel", Fixture, NULL, fixture_set_up, test_tunnel, fixture_tear_down);
  g_test_add ("/roles/tunnel-over-websocket", Fixture, NULL, fixture_set_up,
              test_tunnel_over_websocket, fixture_tear_down);
  g_test_add ("/roles/status", Fixture, NULL, fixture_set_up, test_status, fixture_tear_down);
  g_test_add ("/roles/refused", Fixture, NULL, fixture_set_up, test_refused, fixture_tear_down);
  g_test_add ("/roles/share-replaced", Fixture, NULL, fixture_set_up, test_share_replaced,
              fixture_tear_down);
  g_test_add ("/roles/backing-off", Fixture, NULL, fixture_set_up, test_backing_off,
              fixture_tear_down);
  g_test_add ("/roles/consent-accepted", Fixture, NULL, fixture_set_up, test_consent_accepted,
              fixture_tear_down);
  g_test_add ("/roles/consent-denied", Fixture, NULL, fixture_set_up, test_consent_denied,
              fixture_tear_down);
  g_test_add ("/roles/consent-timeout", Fixture, NULL, fixture_set_up, test_consent_timeout,
              fixture_tear_down);
  g_test_add ("/roles/code-accepted", Fixture, NULL, fixture_set_up, test_code_accepted,
              fixture_tear_down);
  g_test_add ("/roles/code-wrong", Fixture, NULL, fixture_set_up, test_code_wrong,
              fixture_tear_down);
  g_test_add ("/roles/code-services-first", Fixture, NULL, fixture_set_up, test_code_services_first,
              fixture_tear_down);
  g_test_add ("/roles/code-services-first-denied", Fixture, NULL, fixture_set_up,
              test_code_services_first_denied, fixture_tear_down);
  g_test_add ("/roles/connect-key-refused", Fixture, NULL, fixture_set_up, test_connect_key_refused,
              fixture_tear_down);
  g_test_add ("/roles/config-checked", Fixture, NULL, fixture_set_up, test_config_checked,
              fixture_tear_down);
  status = g_test_run ();
  g_free (share_hash);
  g_free (connect_hash);
  return status;
}
