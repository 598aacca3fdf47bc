/* test-gateway-login.c: agents logging in to the gateway, welcomed or refused. */
#include "gateway-fixture.h"

#include "auth/cv-password.h"

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
  share = agent_login (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s1", long_name->str);
  welcome = agent_next (share, CV_CONTROL_WELCOME);
  g_assert_cmpstr (member (welcome, "session"), ==, "s1");
  g_assert_cmpstr (member (welcome, "role"), ==, "share");
  g_assert_false (json_object_has_member (welcome, "share_online"));

  connect = agent_login (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1", "laptop");
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

/* One answer for a wrong session id and a wrong password, so that session ids cannot
 * be listed. */
#define WRONG_CREDENTIALS "wrong session or password"

static guint64
n_checks_run (Fixture *fixture)
{
  return cv_password_checker_get_n_run (cv_gateway_get_password_checker (fixture->gateway));
}

static void
test_bad_password (Fixture *fixture, gconstpointer data)
{
  Agent *agent = attempt (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s1",
                          CONNECT_PASSWORD, "wrong side");

  assert_refused (agent, CV_REASON_BAD_PASSWORD, WRONG_CREDENTIALS);
  g_assert_false (json_object_has_member (agent_refusal (agent), "retry_after_ms"));
  g_assert_cmpuint (count_log_lines ("share agent for session s1: wrong password"), ==, 1);
}

/* An unknown session looks to the client exactly like a wrong password: the same
 * REFUSED, after a real Argon2 check (against a dummy hash of the default cost) that
 * takes as long.  Only the gateway's log tells them apart.  (Their timings side by
 * side: tests/bench/bench-login.) */
static void
test_unknown_session (Fixture *fixture, gconstpointer data)
{
  Agent *unknown, *wrong;
  guint64 runs = n_checks_run (fixture);
  g_autofree char *unknown_body = NULL;
  g_autofree char *wrong_body = NULL;

  unknown = attempt (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s3", SHARE_PASSWORD,
                     "lost");
  assert_refused (unknown, CV_REASON_BAD_PASSWORD, WRONG_CREDENTIALS);
  g_assert_cmpuint (n_checks_run (fixture), ==, runs + 1);
  wrong = attempt (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s1", WRONG_PASSWORD,
                   "lost");
  assert_refused (wrong, CV_REASON_BAD_PASSWORD, WRONG_CREDENTIALS);
  g_assert_cmpuint (n_checks_run (fixture), ==, runs + 2);

  /* Byte for byte the same answer. */
  unknown_body = cv_control_to_string (agent_refusal (unknown));
  wrong_body = cv_control_to_string (agent_refusal (wrong));
  g_assert_cmpstr (unknown_body, ==, wrong_body);

  g_assert_cmpuint (count_log_lines ("127.0.0.1: unknown session “s3”"), ==, 1);
  g_assert_cmpuint (count_log_lines ("share agent for session s1: wrong password"), ==, 1);
}

/* A password that opens both sides of its session (two hashes of one password, which
 * the config cannot tell apart) is refused, and the operator told; the second check runs
 * only after the first matched, so a wrong password still costs one. */
static void
test_same_password (Fixture *fixture, gconstpointer data)
{
  CvGatewayConfig *config = make_config (fixture, NULL, TRUE);
  CvGatewaySession *same = g_new0 (CvGatewaySession, 1);
  g_autoptr (GError) error = NULL;
  guint64 runs;
  Agent *agent;

  same->id = g_strdup ("same");
  same->name = g_strdup ("same");
  same->share_password_hash = cv_password_hash (SHARE_PASSWORD, &error);
  g_assert_no_error (error);
  same->connect_password_hash = cv_password_hash (SHARE_PASSWORD, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (same->share_password_hash, !=, same->connect_password_hash);
  g_ptr_array_add (config->sessions, same);
  g_assert_true (cv_gateway_reload (fixture->gateway, config, &error));
  g_assert_no_error (error);

  for (guint role = CV_AGENT_ROLE_SHARE; role <= CV_AGENT_ROLE_CONNECT; role++)
    {
      runs = n_checks_run (fixture);
      agent = attempt (fixture,
                       role == CV_AGENT_ROLE_SHARE ? fixture->share_identity
                                                   : fixture->connect_identity,
                       role, "same", SHARE_PASSWORD, "one password");
      assert_refused (agent, CV_REASON_BAD_PASSWORD,
                      "this session's share and connect passwords are the same, so the gateway "
                      "refuses both until its operator makes them differ");
      g_assert_cmpuint (n_checks_run (fixture), ==, runs + 2);
    }
  g_assert_cmpuint (count_log_lines ("session same: the share and connect passwords are the same; "
                                     "make them differ"),
                    ==, 2);

  runs = n_checks_run (fixture);
  agent = attempt (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, "same", WRONG_PASSWORD,
                   "wrong");
  assert_refused (agent, CV_REASON_BAD_PASSWORD, WRONG_CREDENTIALS);
  g_assert_cmpuint (n_checks_run (fixture), ==, runs + 1);

  /* Two passwords: welcomed, after both checks. */
  runs = n_checks_run (fixture);
  agent = agent_login (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s1", "right");
  agent_next (agent, CV_CONTROL_WELCOME);
  g_assert_cmpuint (n_checks_run (fixture), ==, runs + 2);
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
      Agent *agent = attempt (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, sessions[i],
                              SHARE_PASSWORD, "host");

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

  connect = agent_login (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1", "laptop");
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

int
main (int argc, char **argv)
{
  gateway_test_init (&argc, &argv);
  gateway_test_add ("/gateway/login", NULL, test_login);
  gateway_test_add ("/gateway/refused/bad-password", NULL, test_bad_password);
  gateway_test_add ("/gateway/refused/unknown-session", NULL, test_unknown_session);
  gateway_test_add ("/gateway/refused/same-password", NULL, test_same_password);
  gateway_test_add ("/gateway/refused/fingerprint-mismatch", NULL, test_fingerprint_mismatch);
  gateway_test_add ("/gateway/refused/control-character-in-name", NULL,
                    test_control_character_in_name);
  gateway_test_add ("/gateway/refused/bad-session-id", NULL, test_bad_session_id);
  gateway_test_add ("/gateway/refused/second-hello", NULL, test_second_hello);
  gateway_test_add ("/gateway/refused/message-before-welcome", NULL, test_message_before_welcome);
  gateway_test_add ("/gateway/refused/first-message-not-hello", NULL, test_first_message_not_hello);
  return gateway_test_run ();
}
