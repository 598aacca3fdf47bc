/* test-gateway-api.c: the gateway as an app embeds it — on a main context of its own,
 * watched through its properties, stopped, finalized; and built from a config file. */
#include "gateway-fixture.h"

#include "wire/cv-ticket.h"

#include <glib/gstdio.h>

typedef struct {
  GPtrArray *notified; /* property names, in order */
} Watch;

static void
on_notify (GObject *object, GParamSpec *pspec, Watch *watch)
{
  g_ptr_array_add (watch->notified, g_strdup (pspec->name));
}

static guint
count_notified (Watch *watch, const char *name)
{
  guint n = 0;

  for (guint i = 0; i < watch->notified->len; i++)
    if (g_str_equal (watch->notified->pdata[i], name))
      n++;
  return n;
}

static guint
get_uint (CvGateway *gateway, const char *name)
{
  guint value = 0;

  g_object_get (gateway, name, &value, NULL);
  return value;
}

static gboolean
get_running (CvGateway *gateway)
{
  gboolean value = FALSE;

  g_object_get (gateway, "running", &value, NULL);
  return value;
}

static gboolean
has_one_tunnel (gpointer data)
{
  return get_uint (data, "n-tunnels") == 1;
}

static gboolean
has_one_link (gpointer data)
{
  return get_uint (data, "n-links") == 1;
}

static gboolean
has_no_link (gpointer data)
{
  return get_uint (data, "n-links") == 0;
}

static gboolean
is_quiet (gpointer data)
{
  CvGateway *gateway = data;

  /* Only the test's reference is left: the cut tunnels and closed links have let go. */
  return get_uint (gateway, "n-tunnels") == 0 && G_OBJECT (gateway)->ref_count == 1;
}

static void
test_on_private_context (Fixture *fixture, gconstpointer data)
{
  Watch watch = { g_ptr_array_new_with_free_func (g_free) };
  g_autoptr (GMainContext) context_property = NULL;
  CvGateway *gateway = fixture->gateway;
  Agent *share, *connect;
  JsonObject *to_share, *to_connect;
  Raw *share_half, *connect_half;
  g_autofree char *share_preface = NULL;
  g_autofree char *connect_preface = NULL;

  g_object_get (gateway, "main-context", &context_property, NULL);
  g_assert_true (context_property == gateway_test_get_context ());
  g_assert_true (context_property != g_main_context_default ());
  g_assert_true (cv_gateway_get_main_context (gateway) == gateway_test_get_context ());
  g_assert_true (get_running (gateway));
  g_assert_cmpuint (get_uint (gateway, "n-sessions"), ==, 3);
  g_assert_cmpuint (get_uint (gateway, "n-links"), ==, 0);
  g_assert_cmpuint (get_uint (gateway, "n-sessions-online"), ==, 0);
  g_signal_connect (gateway, "notify", G_CALLBACK (on_notify), &watch);

  /* Logins: TLS, HELLO, the Argon2 check on a worker thread, whose result comes
   * back on the gateway's context. */
  login_pair (fixture, &share, &connect);
  g_assert_cmpuint (get_uint (gateway, "n-links"), ==, 2);
  g_assert_cmpuint (count_notified (&watch, "n-links"), ==, 2);
  g_assert_cmpuint (get_uint (gateway, "n-sessions-online"), ==, 1);
  g_assert_cmpuint (count_notified (&watch, "n-sessions-online"), ==, 1);
  g_assert_cmpuint (count_notified (&watch, "running"), ==, 0);

  /* A tunnel: tickets, and the two halves joined. */
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  to_share = agent_next (share, CV_CONTROL_TUNNEL_OFFER);
  to_connect = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
  share_preface = tunnel_preface (member (to_share, "ticket"));
  connect_preface = tunnel_preface (member (to_connect, "ticket"));
  share_half = raw_connect (fixture);
  raw_write (share_half, share_preface, CV_TUNNEL_PREFACE_LENGTH);
  connect_half = raw_connect (fixture);
  raw_write (connect_half, connect_preface, CV_TUNNEL_PREFACE_LENGTH);
  g_assert_true (gateway_wait_until (has_one_tunnel, gateway, WAIT_MS));
  g_assert_cmpuint (count_notified (&watch, "n-tunnels"), ==, 1);

  /* A second tunnel is offered and left unused: stop must end its ticket too (its
   * deadline would otherwise hold a source on the context). */
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  agent_next (share, CV_CONTROL_TUNNEL_OFFER);

  /* Stop: listener, links, tunnels, tickets, now. */
  g_ptr_array_set_size (watch.notified, 0);
  cv_gateway_stop (gateway);
  g_assert_false (get_running (gateway));
  g_assert_cmpuint (count_notified (&watch, "running"), ==, 1);
  g_assert_cmpuint (get_uint (gateway, "n-links"), ==, 0);
  g_assert_cmpuint (count_notified (&watch, "n-links"), ==, 1);
  g_assert_cmpuint (get_uint (gateway, "n-sessions-online"), ==, 0);
  g_assert_cmpuint (count_notified (&watch, "n-sessions-online"), ==, 1);
  agent_wait_closed (share);
  agent_wait_closed (connect);
  g_assert_true (gateway_wait_until (raw_is_closed, share_half, WAIT_MS));
  g_assert_true (gateway_wait_until (raw_is_closed, connect_half, WAIT_MS));
  g_assert_true (gateway_wait_until (is_quiet, gateway, WAIT_MS));
  g_assert_cmpuint (count_notified (&watch, "n-tunnels"), ==, 1);

  /* Idempotent, and nothing more to say. */
  g_ptr_array_set_size (watch.notified, 0);
  cv_gateway_stop (gateway);
  g_assert_cmpuint (watch.notified->len, ==, 0);

  /* The port is closed. */
  {
    g_autoptr (GSocketClient) client = g_socket_client_new ();
    g_autoptr (GError) error = NULL;
    g_autoptr (GSocketConnection) refused = g_socket_client_connect_to_host (client, "127.0.0.1",
                                                                             fixture->port, NULL,
                                                                             &error);

    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  }

  assert_default_context_unused ();
  g_signal_handlers_disconnect_by_data (gateway, &watch);
  g_assert_finalize_object (g_steal_pointer (&fixture->gateway));
  g_ptr_array_unref (watch.notified);
}

static void
stop_and_finalize (Fixture *fixture)
{
  cv_gateway_stop (fixture->gateway);
  g_assert_true (gateway_wait_until (is_quiet, fixture->gateway, WAIT_MS));
  g_assert_finalize_object (g_steal_pointer (&fixture->gateway));
}

/* Agents going away by themselves: the gateway's side of each link closes on the
 * gateway's context too (CvMux once closed a lost carrier on the thread-default
 * context, so the close landed on the global default one). */
static void
test_peer_closes (Fixture *fixture, gconstpointer data)
{
  CvGateway *gateway = fixture->gateway;
  Agent *share, *connect;

  login_pair (fixture, &share, &connect);
  agent_close (connect);
  g_assert_true (gateway_wait_until (has_one_link, gateway, WAIT_MS));
  g_assert_cmpuint (get_uint (gateway, "n-sessions-online"), ==, 1);
  agent_close (share);
  g_assert_true (gateway_wait_until (has_no_link, gateway, WAIT_MS));
  g_assert_cmpuint (get_uint (gateway, "n-sessions-online"), ==, 0);
  assert_default_context_unused ();
  stop_and_finalize (fixture);
}

/* The way the app starts one: a config file, the identity it names. */
static void
test_new_from_file (Fixture *fixture, gconstpointer data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "gateway.json", NULL);
  g_autofree char *missing = g_build_filename (fixture->dir, "missing.json", NULL);
  g_autofree char *json = g_strdup_printf ("{\"listen\": [\"127.0.0.1:1\"], \"state_dir\": \"%s\", "
                                           "\"sessions\": []}",
                                           fixture->dir);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvGateway) from_file = NULL;
  CvGateway *none;

  g_assert_true (g_file_set_contents (path, json, -1, &error));
  /* The identity is the one the fixture made in state_dir as "gateway". */
  from_file = cv_gateway_new_from_file (path, gateway_test_get_context (), &error);
  g_assert_no_error (error);
  g_assert_nonnull (from_file);
  g_assert_cmpstr (cv_identity_get_fingerprint (cv_gateway_get_identity (from_file)), ==,
                   cv_identity_get_fingerprint (fixture->gateway_identity));
  g_assert_true (cv_gateway_get_main_context (from_file) == gateway_test_get_context ());
  g_assert_false (cv_gateway_is_running (from_file));
  cv_gateway_stop (from_file);
  g_assert_finalize_object (g_steal_pointer (&from_file));
  g_assert_cmpint (g_unlink (path), ==, 0);

  none = cv_gateway_new_from_file (missing, NULL, &error);
  g_assert_null (none);
  g_assert_nonnull (error);
  g_test_message ("missing file: %s", error->message);

  stop_and_finalize (fixture);
}

int
main (int argc, char **argv)
{
  gateway_test_init (&argc, &argv);
  gateway_test_add_on_context ("/gateway/api/private-context", NULL, test_on_private_context);
  gateway_test_add_on_context ("/gateway/api/peer-closes", NULL, test_peer_closes);
  gateway_test_add_on_context ("/gateway/api/new-from-file", NULL, test_new_from_file);
  return gateway_test_run ();
}
