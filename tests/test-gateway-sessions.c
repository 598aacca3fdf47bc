/* test-gateway-sessions.c: a session's share agent replaced, a session removed by reload. */
#include "gateway-fixture.h"

/* ---- sessions: replacement and reload ----------------------------------- */

static gboolean
has_two_links (gpointer data)
{
  return cv_gateway_get_n_links (data) == 2;
}

static void
test_share_replaced (Fixture *fixture, gconstpointer data)
{
  Agent *first = agent_login (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s1",
                              "old host");
  Agent *connect = agent_login (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1",
                                "laptop");
  Agent *second;
  JsonObject *presence, *to_second, *to_connect;
  const char *message = NULL;

  g_assert_cmpstr (member (agent_next (connect, CV_CONTROL_WELCOME), "share_fingerprint"), ==,
                   cv_identity_get_fingerprint (fixture->share_identity));

  second = agent_login (fixture, fixture->share2_identity, CV_AGENT_ROLE_SHARE, "s1", "new host");
  agent_wait_closed (first);
  g_assert_cmpint (cv_mux_get_peer_goaway (first->mux, &message), ==, CV_GOAWAY_REASON_REPLACED);
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
  other = agent_login (fixture, fixture->share2_identity, CV_AGENT_ROLE_SHARE, "s2", "other");
  g_assert_true (cv_gateway_reload (fixture->gateway, make_config (fixture, NULL, FALSE), &error));
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (removed); i++)
    {
      const char *message = NULL;

      agent_wait_closed (removed[i]);
      g_assert_cmpint (cv_mux_get_peer_goaway (removed[i]->mux, &message), ==,
                       CV_GOAWAY_REASON_SHUTTING_DOWN);
      g_assert_cmpstr (message, ==, "the session was removed from the gateway");
    }

  /* s2 is as it was: its share agent is up and still its session's. */
  connect = agent_login (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s2", "laptop");
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
  gateway_test_init (&argc, &argv);
  gateway_test_add ("/gateway/share-replaced", NULL, test_share_replaced);
  gateway_test_add ("/gateway/reload-removes-session", NULL, test_reload_removes_session);
  return gateway_test_run ();
}
