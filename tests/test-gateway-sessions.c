/* test-gateway-sessions.c: a session's share agent replaced; reloads that remove a
 * session or change its passwords (also while one is being checked), and what they end. */
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
  {
    g_autofree char *warning = g_strdup_printf (
      "WARNING: session s1: share agent “old host” from 127.0.0.1 (key %s) replaced by share "
      "agent “new host” from 127.0.0.1 (key %s)",
      cv_identity_get_fingerprint (fixture->share_identity),
      cv_identity_get_fingerprint (fixture->share2_identity));

    g_assert_cmpuint (count_log_lines (warning), ==, 1);
  }

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
  g_assert_cmpuint (count_log_lines ("unknown session “s1”"), ==, 1);
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

  /* Held: the first check is still running when the second arrives, however slow the
   * machine (its TLS handshake may take longer than an Argon2 run). */
  hold_checks (fixture, TRUE);
  agent_hello (running, CV_AGENT_ROLE_CONNECT, "slow", CONNECT_PASSWORD, "running");
  wait_checks (fixture, 0, 1);
  agent_hello (waiting, CV_AGENT_ROLE_CONNECT, "s1", CONNECT_PASSWORD, "waiting");
  wait_checks (fixture, 1, 1);
  g_assert_true (cv_gateway_reload (fixture->gateway, config_with_new_passwords (fixture), &error));
  g_assert_no_error (error);
  hold_checks (fixture, FALSE);

  assert_refused (running, CV_REASON_BAD_PASSWORD, "wrong session or password");
  assert_refused (waiting, CV_REASON_BAD_PASSWORD, "wrong session or password");
  g_assert_cmpuint (count_log_lines ("the password changed while it was being checked"), ==, 2);

  /* The new password is the one that logs in now. */
  agent = attempt (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1",
                   NEW_CONNECT_PASSWORD, "new");
  g_assert_cmpstr (agent_answer (agent), ==, "welcome");
}

static gboolean
has_tunnels (gpointer data)
{
  return cv_gateway_get_n_tunnels (((Fixture *) data)->gateway) == 2;
}

/* @raw is closed by the gateway within a second of @since_us. */
static void
assert_cut_since (Raw *raw, gint64 since_us)
{
  g_assert_true (gateway_wait_until (raw_is_closed, raw, WAIT_MS));
  g_assert_cmpint ((raw->closed_us - since_us) / 1000, <, 1000);
}

/* The tunnels of a removed session end with its links, while they carry data; an
 * offer of it half presented is withdrawn; another session's tunnel carries on. */
static void
test_reload_ends_tunnels (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect, *share2, *connect2;
  Raw *removed[3], *kept[2];
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *bulk = g_malloc (256 * 1024);
  gint64 reloaded_us;

  login_pair (fixture, &share, &connect);
  share2 = agent_login (fixture, fixture->share2_identity, CV_AGENT_ROLE_SHARE, "s2", "other");
  connect2 = agent_login (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s2", "desk");
  join_tunnel (fixture, share, connect, &removed[0], &removed[1]);
  join_tunnel (fixture, share2, connect2, &kept[0], &kept[1]);
  g_assert_true (gateway_wait_until (has_tunnels, fixture, WAIT_MS));
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
  removed[2] = present_ticket (fixture,
                               member (agent_next (share, CV_CONTROL_TUNNEL_OFFER), "ticket"));

  /* Bytes in flight both ways as the reload lands. */
  cv_test_fill_random (bulk, 256 * 1024, 7);
  raw_write (removed[0], bulk, 256 * 1024);
  raw_write (removed[1], bulk, 256 * 1024);
  reloaded_us = g_get_monotonic_time ();
  g_assert_true (cv_gateway_reload (fixture->gateway, make_config (fixture, NULL, FALSE), &error));
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (removed); i++)
    assert_cut_since (removed[i], reloaded_us);
  agent_wait_closed (share);
  agent_wait_closed (connect);

  g_assert_cmpuint (cv_gateway_get_n_tunnels (fixture->gateway), ==, 1);
  assert_relayed (kept[0], kept[1], 64 * 1024, 8);
  assert_relayed (kept[1], kept[0], 64 * 1024, 9);
  g_assert_false (share2->closed);
  g_assert_false (connect2->closed);
}

/* Reloads s1 as make_config() has it but with @role's password changed; then @agent,
 * of that role, goes, told why. */
static void
reload_with_new_password (Fixture *fixture, CvAgentRole role, const char *password, Agent *agent)
{
  CvGatewayConfig *config = make_config (fixture, NULL, TRUE);
  g_autoptr (GError) error = NULL;
  g_autofree char *why = NULL;
  const char *message = NULL;

  for (guint i = 0; i < config->sessions->len; i++)
    {
      CvGatewaySession *session = config->sessions->pdata[i];
      char **hash = role == CV_AGENT_ROLE_SHARE ? &session->share_password_hash
                                                : &session->connect_password_hash;

      if (!g_str_equal (session->id, "s1"))
        continue;
      g_free (*hash);
      *hash = cv_password_hash (password, &error);
      g_assert_no_error (error);
    }
  g_assert_true (cv_gateway_reload (fixture->gateway, config, &error));
  g_assert_no_error (error);

  agent_wait_closed (agent);
  g_assert_cmpint (cv_mux_get_peer_goaway (agent->mux, &message), ==,
                   CV_GOAWAY_REASON_SHUTTING_DOWN);
  why = g_strdup_printf ("the %s password of this session was changed on the gateway",
                         cv_agent_role_to_string (role));
  g_assert_cmpstr (message, ==, why);
}

/* A changed connect password logs out the connect agents that logged in with the old
 * one, told why, and ends their tunnels; the share agent stays.  The old password no
 * longer works, the new one does. */
static void
test_connect_password_changed (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect, *agent;
  Raw *halves[2];
  gint64 reloaded_us;

  login_pair (fixture, &share, &connect);
  join_tunnel (fixture, share, connect, &halves[0], &halves[1]);
  reloaded_us = g_get_monotonic_time ();
  reload_with_new_password (fixture, CV_AGENT_ROLE_CONNECT, "new secret", connect);
  assert_cut_since (halves[0], reloaded_us);
  assert_cut_since (halves[1], reloaded_us);

  agent = attempt (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1",
                   CONNECT_PASSWORD, "laptop");
  assert_refused (agent, CV_REASON_BAD_PASSWORD, "wrong session or password");
  agent = attempt (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1", "new secret",
                   "laptop");
  g_assert_cmpstr (agent_answer (agent), ==, "welcome");
  g_assert_true (
    json_object_get_boolean_member (agent_next (agent, CV_CONTROL_WELCOME), "share_online"));
  g_assert_false (share->closed);
  g_assert_null (cv_mux_get_error (share->mux));
}

/* A changed share password logs out the share agent, and its connect agents are told
 * it is offline; they stay. */
static void
test_share_password_changed (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect;
  JsonObject *presence;

  login_pair (fixture, &share, &connect);
  reload_with_new_password (fixture, CV_AGENT_ROLE_SHARE, "new secret", share);
  presence = agent_next (connect, CV_CONTROL_PRESENCE);
  g_assert_false (json_object_get_boolean_member (presence, "share_online"));
  g_assert_false (connect->closed);
}

int
main (int argc, char **argv)
{
  gateway_test_init (&argc, &argv);
  gateway_test_add ("/gateway/share-replaced", NULL, test_share_replaced);
  gateway_test_add ("/gateway/reload-removes-session", NULL, test_reload_removes_session);
  gateway_test_add ("/gateway/reload-ends-tunnels", NULL, test_reload_ends_tunnels);
  gateway_test_add ("/gateway/connect-password-changed", NULL, test_connect_password_changed);
  gateway_test_add ("/gateway/share-password-changed", NULL, test_share_password_changed);
  gateway_test_add ("/gateway/reload-changes-hash-during-check", "\"password_check_workers\": 1",
                    test_reload_changes_hash_during_check);
  return gateway_test_run ();
}
