/* test-gateway-codes.c: session codes at the gateway (SESSION-CODES.md §5), with scripted
 * agents over real TLS: allocation, a claim and its relayed exchange, a second claim,
 * burns, expiry, renewal, the rate limits, and tunnels only after both CODE_DONE. */
#include "gateway-fixture.h"

#include <string.h>

#define MSG_A "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
#define MSG_B "4OHi4-Tl5ufo6err7O3u7_Dx8vP09fb3-Pn6-_z9_v8"

/* A code HELLO with a credential: @session (share) or @technician (connect). */
static void
code_hello_with (Agent *agent,
                 CvAgentRole role,
                 const char *nameplate,
                 const char *name,
                 const char *session,
                 const char *technician,
                 const char *password)
{
  CvHello hello = {
    .version = CV_PROTOCOL_VERSION,
    .role = role,
    .name = (char *) name,
    .fingerprint = (char *) cv_identity_get_fingerprint (agent->identity),
    .mode = CV_HELLO_MODE_CODE,
    .nameplate = (char *) nameplate,
    .session = (char *) session,
    .technician = (char *) technician,
    .password = (char *) password,
  };
  g_autofree char *json = cv_control_build_hello (&hello);

  agent_send (agent, CV_CONTROL_HELLO, json);
}

static void
code_hello (Agent *agent, CvAgentRole role, const char *nameplate, const char *name)
{
  code_hello_with (agent, role, nameplate, name, NULL, NULL, NULL);
}

/* A share agent with a code; its nameplate. */
static char *
share_code (Fixture *fixture, Agent **share)
{
  JsonObject *welcome;

  *share = agent_new (fixture, fixture->share_identity);
  code_hello (*share, CV_AGENT_ROLE_SHARE, NULL, "desk");
  welcome = agent_next (*share, CV_CONTROL_WELCOME);
  g_assert_true (cv_control_parse_code_nameplate (welcome, NULL, NULL, NULL));
  g_assert_cmpint (json_object_get_int_member (welcome, "expires_at_ms"), >,
                   g_get_real_time () / 1000);
  return g_strdup (member (welcome, "nameplate"));
}

static Agent *
claim (Fixture *fixture, const char *nameplate)
{
  Agent *connect = agent_new (fixture, fixture->connect_identity);

  code_hello (connect, CV_AGENT_ROLE_CONNECT, nameplate, "Ana");
  return connect;
}

/* Share and connect agents through the PAKE and CODE_DONE, as the agents will be. */
static void
claimed_pair (Fixture *fixture, Agent **share, Agent **connect, char **nameplate)
{
  JsonObject *claimed, *welcome;

  *nameplate = share_code (fixture, share);
  *connect = claim (fixture, *nameplate);
  welcome = agent_next (*connect, CV_CONTROL_WELCOME);
  claimed = agent_next (*share, CV_CONTROL_CODE_CLAIMED);
  g_assert_cmpstr (member (claimed, "claim_id"), ==, member (welcome, "claim_id"));
  g_assert_cmpstr (member (claimed, "peer_fingerprint"), ==,
                   cv_identity_get_fingerprint (fixture->connect_identity));
  g_assert_cmpstr (member (claimed, "peer_name"), ==, "Ana");
  g_assert_cmpstr (member (claimed, "peer_address"), ==, "127.0.0.1");
  g_assert_cmpstr (member (welcome, "peer_fingerprint"), ==,
                   cv_identity_get_fingerprint (fixture->share_identity));
  g_assert_true (cv_control_is_claim_id (member (welcome, "claim_id")));
}

static gboolean
confirmed (gpointer data)
{
  return count_log_lines ("confirmed by both agents") == 1;
}

static void
test_claim_relay_done_tunnel (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect, *second;
  g_autofree char *nameplate = NULL;
  JsonObject *offer;

  claimed_pair (fixture, &share, &connect, &nameplate);
  g_assert_cmpuint (strlen (nameplate), ==, 3);

  /* One connect agent per nameplate. */
  second = claim (fixture, nameplate);
  assert_refused (second, CV_REASON_BAD_CODE, "no such code, or it was used");

  /* The exchange passes verbatim, each way. */
  agent_send (connect, CV_CONTROL_CODE_PAKE, "{\"msg\":\"" MSG_A "\"}");
  g_assert_cmpstr (member (agent_next (share, CV_CONTROL_CODE_PAKE), "msg"), ==, MSG_A);
  agent_send (share, CV_CONTROL_CODE_PAKE, "{\"msg\":\"" MSG_B "\"}");
  g_assert_cmpstr (member (agent_next (connect, CV_CONTROL_CODE_PAKE), "msg"), ==, MSG_B);
  agent_send (connect, CV_CONTROL_CODE_CONFIRM, "{\"mac\":\"" MSG_B "\"}");
  g_assert_cmpstr (member (agent_next (share, CV_CONTROL_CODE_CONFIRM), "mac"), ==, MSG_B);
  agent_send (share, CV_CONTROL_CODE_CONFIRM, "{\"mac\":\"" MSG_A "\"}");
  g_assert_cmpstr (member (agent_next (connect, CV_CONTROL_CODE_CONFIRM), "mac"), ==, MSG_A);

  /* No tunnel before both ends confirmed. */
  agent_send (connect, CV_CONTROL_CODE_DONE, "{}");
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  offer = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
  g_assert_cmpstr (member (offer, "error"), ==, CV_REASON_BAD_REQUEST);
  g_assert_cmpuint (agent_count (share, CV_CONTROL_TUNNEL_OFFER), ==, 0);

  agent_send (share, CV_CONTROL_CODE_DONE, "{}");
  g_assert_true (gateway_wait_until (confirmed, NULL, WAIT_MS));
  {
    Raw *share_half, *connect_half;

    join_tunnel (fixture, share, connect, &share_half, &connect_half);
    assert_relayed (share_half, connect_half, 4096, 9);
  }
  g_assert_false (share->closed);
  g_assert_false (connect->closed);
}

/* A second PAKE message in one direction ends the link, and the claim with it. */
static void
test_second_pake_burns (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect, *late;
  g_autofree char *nameplate = NULL;
  JsonObject *failed;

  claimed_pair (fixture, &share, &connect, &nameplate);
  agent_send (connect, CV_CONTROL_CODE_PAKE, "{\"msg\":\"" MSG_A "\"}");
  agent_send (connect, CV_CONTROL_CODE_PAKE, "{\"msg\":\"" MSG_A "\"}");
  agent_wait_closed (connect);
  g_assert_cmpint (cv_mux_get_peer_goaway (connect->mux, NULL), ==,
                   CV_GOAWAY_REASON_PROTOCOL_ERROR);
  failed = agent_next (share, CV_CONTROL_CODE_FAILED);
  g_assert_cmpstr (member (failed, "reason"), ==, CV_REASON_BAD_CODE);
  g_assert_cmpuint (agent_count (share, CV_CONTROL_CODE_PAKE), ==, 1);
  late = claim (fixture, nameplate);
  assert_refused (late, CV_REASON_BAD_CODE, "no such code, or it was used");
}

/* CODE_FAILED burns the code at the gateway: the right code fails after it, and the
 * share agent may ask for a new one. */
static void
test_failed_burns_then_renew (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect, *again;
  g_autofree char *nameplate = NULL;
  JsonObject *renewed;

  claimed_pair (fixture, &share, &connect, &nameplate);
  agent_send (share, CV_CONTROL_CODE_FAILED, "{\"reason\":\"bad-code\"}");
  g_assert_cmpstr (member (agent_next (connect, CV_CONTROL_CODE_FAILED), "reason"), ==,
                   CV_REASON_BAD_CODE);
  agent_wait_closed (connect);
  again = claim (fixture, nameplate);
  assert_refused (again, CV_REASON_BAD_CODE, "no such code, or it was used");
  g_assert_cmpuint (count_log_lines ("burned"), ==, 1);

  agent_send (share, CV_CONTROL_CODE_RENEW, "{}");
  renewed = agent_next (share, CV_CONTROL_CODE_NAMEPLATE);
  g_assert_true (cv_control_check_code_message (CV_CONTROL_CODE_NAMEPLATE, renewed, NULL));
  /* The burned nameplate cools: it is not handed out again. */
  g_assert_cmpstr (member (renewed, "nameplate"), !=, nameplate);
  g_assert_false (share->closed);
}

static void
test_unknown_nameplate (Fixture *fixture, gconstpointer data)
{
  Agent *connect = claim (fixture, "999999999");

  assert_refused (connect, CV_REASON_BAD_CODE, "no such code, or it was used");
}

static void
test_expiry (Fixture *fixture, gconstpointer data)
{
  Agent *share, *late;
  g_autofree char *nameplate = share_code (fixture, &share);

  agent_next (share, CV_CONTROL_CODE_EXPIRED);
  g_assert_false (share->closed);
  late = claim (fixture, nameplate);
  assert_refused (late, CV_REASON_BAD_CODE, "no such code, or it was used");
}

static void
test_pake_timeout (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect;
  g_autofree char *nameplate = NULL;

  claimed_pair (fixture, &share, &connect, &nameplate);
  g_assert_cmpstr (member (agent_next (share, CV_CONTROL_CODE_FAILED), "reason"), ==,
                   CV_REASON_TIMEOUT);
  g_assert_cmpstr (member (agent_next (connect, CV_CONTROL_CODE_FAILED), "reason"), ==,
                   CV_REASON_TIMEOUT);
}

static void
test_allocation_rate (Fixture *fixture, gconstpointer data)
{
  Agent *share;
  g_autofree char *first = share_code (fixture, &share);
  JsonObject *refusal;
  Agent *third;

  g_free (share_code (fixture, &share));
  third = agent_new (fixture, fixture->share_identity);
  code_hello (third, CV_AGENT_ROLE_SHARE, NULL, "desk");
  refusal = agent_next (third, CV_CONTROL_REFUSED);
  g_assert_cmpstr (member (refusal, "reason"), ==, CV_REASON_RATE_LIMITED);
  g_assert_cmpint (json_object_get_int_member (refusal, "retry_after_ms"), >, 0);
}

/* A restart revives no code: a new gateway on the same state_dir refuses the nameplate,
 * and does not hand it out while it cools. */
static void
test_restart (Fixture *fixture, gconstpointer data)
{
  Agent *share;
  g_autofree char *nameplate = share_code (fixture, &share);
  g_autofree char *file = g_build_filename (fixture->dir, "nameplates.json", NULL);
  g_autofree char *text = NULL;

  g_assert_true (g_file_get_contents (file, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, nameplate));
}

/* A gateway whose config does not turn codes on refuses a code login, saying so; the
 * fixture's turns them on, so this one reloads without "codes". */
static void
test_disabled (Fixture *fixture, gconstpointer data)
{
  g_autofree char *json = g_strdup_printf ("{\"listen\": [\"127.0.0.1:1\"], "
                                           "\"state_dir\": \"%s\"}",
                                           fixture->dir);
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  CvGatewayConfig *config;
  Agent *share;
  JsonObject *refusal;

  g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
  config = cv_gateway_config_new_from_json (json_node_get_object (json_parser_get_root (parser)),
                                            NULL, &error);
  g_assert_no_error (error);
  g_assert_false (config->codes_enabled);
  cv_gateway_reload (fixture->gateway, config, NULL);
  share = agent_new (fixture, fixture->share_identity);
  code_hello (share, CV_AGENT_ROLE_SHARE, NULL, "desk");
  refusal = agent_next (share, CV_CONTROL_REFUSED);
  g_assert_cmpstr (member (refusal, "reason"), ==, "bad-request");
  g_assert_nonnull (strstr (member (refusal, "message"), "does not take session codes"));
}

/* ---- the gateway's code policy: who may allocate and claim ------------------ */

/* The fixture's gateway with "codes" set to @policy (members after "enabled"); the
 * technician "Ana Lima" has CONNECT_PASSWORD. */
static void
set_policy (Fixture *fixture, const char *limits, const char *policy)
{
  g_autofree char *codes = NULL;

  if (strstr (policy, "technicians") != NULL)
    codes = g_strdup_printf ("\"enabled\": true, %s, \"technicians\": [{\"name\": "
                             "\"Ana Lima\", \"password_hash\": \"%s\"}]",
                             policy, fixture_hash (FALSE));
  else
    codes = g_strdup_printf ("\"enabled\": true, %s", policy);
  g_assert_true (cv_gateway_reload (fixture->gateway,
                                    make_config_with_codes (fixture, limits, TRUE, codes), NULL));
}

static Agent *
technician_claim (Fixture *fixture,
                  const char *nameplate,
                  const char *name,
                  const char *technician,
                  const char *password)
{
  Agent *connect = agent_new (fixture, fixture->connect_identity);

  code_hello_with (connect, CV_AGENT_ROLE_CONNECT, nameplate, name, NULL, technician, password);
  return connect;
}

static void
test_allocate_share_password (Fixture *fixture, gconstpointer data)
{
  Agent *share;
  JsonObject *welcome;

  set_policy (fixture, data, "\"allocate\": \"share-password\"");

  share = agent_new (fixture, fixture->share_identity);
  code_hello (share, CV_AGENT_ROLE_SHARE, NULL, "desk");
  assert_refused (share, CV_REASON_BAD_PASSWORD,
                  "this gateway gives session codes only to holders of a share password: give "
                  "the session and its share password");

  share = agent_new (fixture, fixture->share_identity);
  code_hello_with (share, CV_AGENT_ROLE_SHARE, NULL, "desk", "s1", NULL, WRONG_PASSWORD);
  assert_refused (share, CV_REASON_BAD_PASSWORD, "wrong session or password");

  /* The connect password opens no code, nor does an unknown session. */
  share = agent_new (fixture, fixture->share_identity);
  code_hello_with (share, CV_AGENT_ROLE_SHARE, NULL, "desk", "s1", NULL, CONNECT_PASSWORD);
  assert_refused (share, CV_REASON_BAD_PASSWORD, "wrong session or password");
  share = agent_new (fixture, fixture->share_identity);
  code_hello_with (share, CV_AGENT_ROLE_SHARE, NULL, "desk", "nosuch", NULL, SHARE_PASSWORD);
  assert_refused (share, CV_REASON_BAD_PASSWORD, "wrong session or password");

  share = agent_new (fixture, fixture->share_identity);
  code_hello_with (share, CV_AGENT_ROLE_SHARE, NULL, "desk", "s1", NULL, SHARE_PASSWORD);
  welcome = agent_next (share, CV_CONTROL_WELCOME);
  g_assert_true (cv_control_is_nameplate (member (welcome, "nameplate")));

  /* Claims are still anyone's. */
  {
    Agent *connect = claim (fixture, member (welcome, "nameplate"));

    agent_next (connect, CV_CONTROL_WELCOME);
    g_assert_cmpstr (member (agent_next (share, CV_CONTROL_CODE_CLAIMED), "peer_name"), ==, "Ana");
  }
}

/* Without a credential nothing is guessed, and nothing counted; a wrong password is a
 * failed login like a session's (auth_failures_before_backoff is 1 here). */
static void
test_claim_technician_refused (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect;
  g_autofree char *nameplate = NULL;

  set_policy (fixture, data, "\"claim\": \"technicians\"");
  nameplate = share_code (fixture, &share);

  connect = claim (fixture, nameplate);
  assert_refused (connect, CV_REASON_BAD_PASSWORD,
                  "this gateway lets only its technicians claim session codes: give a "
                  "technician name and its password");
  connect = technician_claim (fixture, nameplate, "Ana", "Ana Lima", WRONG_PASSWORD);
  assert_refused (connect, CV_REASON_BAD_PASSWORD, "wrong technician or password");
  g_assert_cmpuint (count_log_lines ("code claim refused: wrong password for technician"), ==, 1);
  g_assert_cmpuint (agent_count (share, CV_CONTROL_CODE_CLAIMED), ==, 0);

  /* That failure blocks the address now, even with the right password. */
  connect = technician_claim (fixture, nameplate, "Ana", "Ana Lima", CONNECT_PASSWORD);
  assert_refused (connect, CV_REASON_RATE_LIMITED, "too many failed attempts from this address");
  g_assert_cmpuint (agent_count (share, CV_CONTROL_CODE_CLAIMED), ==, 0);
}

/* An unknown technician gets the same answer as a wrong password. */
static void
test_claim_unknown_technician (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect;
  g_autofree char *nameplate = NULL;

  set_policy (fixture, data, "\"claim\": \"technicians\"");
  nameplate = share_code (fixture, &share);
  connect = agent_new (fixture, fixture->connect_identity);
  code_hello_with (connect, CV_AGENT_ROLE_CONNECT, nameplate, "Ana", NULL, "Bob", CONNECT_PASSWORD);
  assert_refused (connect, CV_REASON_BAD_PASSWORD, "wrong technician or password");
  g_assert_cmpuint (count_log_lines ("code claim refused: unknown technician"), ==, 1);
}

/* The right password claims, and the sharer is shown the account's name, not the
 * name the connect agent gave itself. */
static void
test_claim_technician_attested (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect;
  g_autofree char *nameplate = NULL;
  JsonObject *claimed;

  set_policy (fixture, data, "\"claim\": \"technicians\"");
  nameplate = share_code (fixture, &share);
  connect = agent_new (fixture, fixture->connect_identity);
  code_hello_with (connect, CV_AGENT_ROLE_CONNECT, nameplate, "Totally the Bank", NULL, "Ana Lima",
                   CONNECT_PASSWORD);
  agent_next (connect, CV_CONTROL_WELCOME);
  claimed = agent_next (share, CV_CONTROL_CODE_CLAIMED);
  g_assert_cmpstr (member (claimed, "peer_name"), ==, "Ana Lima");
  g_assert_cmpstr (member (claimed, "peer_fingerprint"), ==,
                   cv_identity_get_fingerprint (fixture->connect_identity));
}

/* Both agents through the exchange (contents relayed, not read) and CODE_DONE. */
static void
confirm_pair (Fixture *fixture, Agent **share, Agent **connect)
{
  g_autofree char *nameplate = NULL;

  claimed_pair (fixture, share, connect, &nameplate);
  agent_send (*connect, CV_CONTROL_CODE_PAKE, "{\"msg\":\"" MSG_A "\"}");
  agent_next (*share, CV_CONTROL_CODE_PAKE);
  agent_send (*share, CV_CONTROL_CODE_PAKE, "{\"msg\":\"" MSG_B "\"}");
  agent_next (*connect, CV_CONTROL_CODE_PAKE);
  agent_send (*connect, CV_CONTROL_CODE_CONFIRM, "{\"mac\":\"" MSG_B "\"}");
  agent_next (*share, CV_CONTROL_CODE_CONFIRM);
  agent_send (*share, CV_CONTROL_CODE_CONFIRM, "{\"mac\":\"" MSG_A "\"}");
  agent_next (*connect, CV_CONTROL_CODE_CONFIRM);
  agent_send (*connect, CV_CONTROL_CODE_DONE, "{}");
  agent_send (*share, CV_CONTROL_CODE_DONE, "{}");
  g_assert_true (gateway_wait_until (confirmed, NULL, WAIT_MS));
}

/* A confirmed code session ends at code_session_max_ms: both links are closed. */
static void
test_session_max (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect;

  confirm_pair (fixture, &share, &connect);
  agent_wait_closed (share);
  agent_wait_closed (connect);
}

/* max_codes open at once: the next share agent is refused limit-reached, saying so. */
static void
test_max_codes (Fixture *fixture, gconstpointer data)
{
  Agent *share, *second;

  g_free (share_code (fixture, &share));
  second = agent_new (fixture, fixture->share2_identity);
  code_hello (second, CV_AGENT_ROLE_SHARE, NULL, "desk 2");
  assert_refused (second, CV_REASON_LIMIT_REACHED, "the gateway has no code to give");
}

/* The global claim limit holds when the per-address one would not: the second claim in
 * the minute is refused rate-limited, and the code is not burned by it. */
static void
test_global_claim_rate (Fixture *fixture, gconstpointer data)
{
  Agent *share, *first, *second;
  g_autofree char *nameplate = share_code (fixture, &share);
  JsonObject *refusal;

  first = claim (fixture, "999999998");
  assert_refused (first, CV_REASON_BAD_CODE, "no such code, or it was used");
  second = claim (fixture, nameplate);
  refusal = agent_next (second, CV_CONTROL_REFUSED);
  g_assert_cmpstr (member (refusal, "reason"), ==, CV_REASON_RATE_LIMITED);
  g_assert_cmpint (json_object_get_int_member (refusal, "retry_after_ms"), >, 0);
  g_assert_cmpuint (agent_count (share, CV_CONTROL_CODE_CLAIMED), ==, 0);
  g_assert_cmpuint (agent_count (share, CV_CONTROL_CODE_FAILED), ==, 0);
}

int
main (int argc, char **argv)
{
  gateway_test_init (&argc, &argv);
  gateway_test_add ("/gateway/codes/claim-relay-done-tunnel", NULL, test_claim_relay_done_tunnel);
  gateway_test_add ("/gateway/codes/second-pake-burns", NULL, test_second_pake_burns);
  gateway_test_add ("/gateway/codes/failed-burns-then-renew", NULL, test_failed_burns_then_renew);
  gateway_test_add ("/gateway/codes/unknown-nameplate", NULL, test_unknown_nameplate);
  gateway_test_add ("/gateway/codes/expiry", "\"code_ttl_ms\": 200", test_expiry);
  gateway_test_add ("/gateway/codes/pake-timeout", "\"code_pake_timeout_ms\": 200",
                    test_pake_timeout);
  gateway_test_add ("/gateway/codes/allocation-rate",
                    "\"code_allocations_per_minute_per_address\": 2", test_allocation_rate);
  gateway_test_add ("/gateway/codes/state-file", NULL, test_restart);
  gateway_test_add ("/gateway/codes/disabled", NULL, test_disabled);
  gateway_test_add ("/gateway/codes/session-max", "\"code_session_max_ms\": 300", test_session_max);
  gateway_test_add ("/gateway/codes/max-codes", "\"max_codes\": 1", test_max_codes);
  gateway_test_add ("/gateway/codes/global-claim-rate",
                    "\"code_claims_per_minute\": 1, \"code_claims_per_minute_per_address\": 100",
                    test_global_claim_rate);
  gateway_test_add ("/gateway/codes/allocate-share-password", NULL, test_allocate_share_password);
  gateway_test_add ("/gateway/codes/claim-technician-refused",
                    "\"auth_failures_before_backoff\": 1", test_claim_technician_refused);
  gateway_test_add ("/gateway/codes/claim-unknown-technician", NULL, test_claim_unknown_technician);
  gateway_test_add ("/gateway/codes/claim-technician-attested", NULL,
                    test_claim_technician_attested);
  return gateway_test_run ();
}
