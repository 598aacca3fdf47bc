/* test-gateway-logs.c: what peers can make the gateway log — their text escaped into
 * one line, names it cannot show refused at HELLO. */
#include "gateway-fixture.h"

#include <string.h>

static gboolean
has_logged_close (gpointer data)
{
  return count_log_lines ("control link closed") > 0;
}

static void
assert_log_is_lines (void)
{
  for (guint i = 0; i < gateway_log->len; i++)
    {
      const char *line = gateway_log->pdata[i];

      g_assert_null (strchr (line, '\n'));
      g_assert_null (strchr (line, '\r'));
      g_assert_null (strchr (line, '\x1b'));
      g_assert_true (g_utf8_validate (line, -1, NULL));
    }
}

/* The forged line and terminal escape of issue 8, in an agent's GOAWAY. */
static void
test_goaway_text_escaped (Fixture *fixture, gconstpointer data)
{
  Agent *share = agent_login (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s1",
                              "server");

  cv_mux_goaway (share->mux, CV_GOAWAY_REASON_PROTOCOL_ERROR,
                 "bye\n<3>session s2: share agent offline\x1b[2J");
  g_assert_true (gateway_wait_until (has_logged_close, NULL, WAIT_MS));
  g_assert_cmpuint (count_log_lines ("control link closed"), ==, 1);
  g_assert_cmpuint (count_log_lines ("<3>session s2: share agent offline\\x1b[2J"), ==, 1);
  g_assert_cmpuint (count_log_lines ("bye\\n<3>"), ==, 1);
  assert_log_is_lines ();
}

/* Names go to the other agents, which show at most CV_CONTROL_MAX_NAME_CHARS of
 * them: a longer one is refused, saying so, and one that fits is logged escaped. */
static void
test_name_limits (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GString) longest = g_string_new (NULL);
  Agent *agent;

  for (guint i = 0; i < CV_CONTROL_MAX_NAME_CHARS; i++)
    g_string_append (longest, "é");
  agent_login (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s1", longest->str);
  g_string_append (longest, "n");
  agent = attempt (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s1", SHARE_PASSWORD,
                   longest->str);
  assert_refused (agent, CV_REASON_BAD_REQUEST,
                  "HELLO: “name” must be at most 128 characters, the longest name agents show");

  /* A bidi override is no control character: let in, and logged as an escape. */
  agent_login (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1",
               "laptop\xe2\x80\xae"
               "exe.txt");
  g_assert_cmpuint (count_log_lines ("connect agent “laptop\\u{202e}exe.txt” online"), ==, 1);
  assert_log_is_lines ();
}

/* An agent's own name (a host name may be longer than a config allows) is cut to
 * what HELLO takes. */
static void
test_fit_name (void)
{
  g_autofree char *long_name = g_strnfill (300, 'h');
  g_autofree char *fitted = cv_control_fit_name (long_name);
  g_autofree char *kept = cv_control_fit_name ("Büro");

  g_assert_cmpuint (strlen (fitted), ==, CV_CONTROL_MAX_NAME_CHARS);
  g_assert_cmpstr (kept, ==, "Büro");
}

int
main (int argc, char **argv)
{
  gateway_test_init (&argc, &argv);
  g_test_add_func ("/gateway/logs/fit-name", test_fit_name);
  gateway_test_add ("/gateway/logs/goaway-text-escaped", NULL, test_goaway_text_escaped);
  gateway_test_add ("/gateway/logs/name-limits", NULL, test_name_limits);
  return gateway_test_run ();
}
