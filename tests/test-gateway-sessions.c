/* test-gateway-sessions.c: a session's share agent replaced, a session removed by reload,
 * a password changed by reload while it was being checked. */
#include "gateway-fixture.h"

#include "auth/cv-password.h"

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
  assert_refused (agent, CV_REASON_BAD_PASSWORD, "wrong session or password");
  g_assert_cmpuint (count_messages_with ("unknown session “s1”"), ==, 1);
}

#define NEW_CONNECT_PASSWORD "the new connect secret"

/* The config again, with new hashes for s1 and slow: connect ones of
 * NEW_CONNECT_PASSWORD, share ones of another. */
static CvGatewayConfig *
config_with_new_passwords (Fixture *fixture)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autofree char *connect_hash = cv_password_hash (NEW_CONNECT_PASSWORD, &error);
  g_autofree char *share_hash = cv_password_hash ("the new share secret", &error);
  g_autofree char *json = NULL;
  CvGatewayConfig *config;

  g_assert_no_error (error);
  json = g_strdup_printf ("{\"listen\": [\"127.0.0.1:1\"], \"state_dir\": \"%s\", "
                          "\"limits\": {\"password_check_workers\": 1}, \"sessions\": ["
                          "{\"id\": \"s1\", \"share_password_hash\": \"%s\", "
                          "\"connect_password_hash\": \"%s\"}, "
                          "{\"id\": \"slow\", \"share_password_hash\": \"%s\", "
                          "\"connect_password_hash\": \"%s\"}]}",
                          fixture->dir, share_hash, connect_hash, share_hash, connect_hash);
  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  config = cv_gateway_config_new_from_json (json_node_get_object (json_parser_get_root (parser)),
                                            NULL, &error);
  g_assert_no_error (error);
  return config;
}

/* One worker: a check of the (old, right) password of session slow runs, one of
 * session s1 waits behind it, and then a reload changes both hashes.  Neither may
 * admit with the old hash: both are checked again against the new one. */
static void
test_reload_changes_hash_during_check (Fixture *fixture, gconstpointer data)
{
  Agent *running = agent_new (fixture, fixture->connect_identity);
  Agent *waiting = agent_new (fixture, fixture->connect_identity);
  g_autoptr (GError) error = NULL;
  Agent *agent;

  agent_hello (running, CV_AGENT_ROLE_CONNECT, "slow", CONNECT_PASSWORD, "running");
  wait_checks (fixture, 0, 1);
  agent_hello (waiting, CV_AGENT_ROLE_CONNECT, "s1", CONNECT_PASSWORD, "waiting");
  wait_checks (fixture, 1, 1);
  g_assert_true (cv_gateway_reload (fixture->gateway, config_with_new_passwords (fixture), &error));
  g_assert_no_error (error);

  assert_refused (running, CV_REASON_BAD_PASSWORD, "wrong session or password");
  assert_refused (waiting, CV_REASON_BAD_PASSWORD, "wrong session or password");
  g_assert_cmpuint (count_messages_with ("the password changed while it was being checked"), ==, 2);

  /* The new password is the one that logs in now. */
  agent = attempt (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1",
                   NEW_CONNECT_PASSWORD, "new");
  g_assert_cmpstr (agent_answer (agent), ==, "welcome");
}

int
main (int argc, char **argv)
{
  gateway_test_init (&argc, &argv);
  gateway_test_add ("/gateway/share-replaced", NULL, test_share_replaced);
  gateway_test_add ("/gateway/reload-removes-session", NULL, test_reload_removes_session);
  gateway_test_add ("/gateway/reload-changes-hash-during-check", "\"password_check_workers\": 1",
                    test_reload_changes_hash_during_check);
  return gateway_test_run ();
}
