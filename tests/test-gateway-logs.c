/* test-gateway-logs.c: what peers can make the gateway log — their text escaped into
 * one line, names it cannot show refused at HELLO, junk connections summarised. */
#include "gateway-fixture.h"

#include "wire/cv-ticket.h"

#include <stdlib.h>
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

/* ---- junk connections: one line per kind, then one summary an interval ---- */

/* Every connection of a kind is made N_JUNK times; with max_pending_handshakes 160,
 * one address holds 2 * N_JUNK slots, and N_JUNK more are refused at accept.  The interval is
 * longer than any pause in the flood, so that it is one burst. */
#define JUNK_LIMITS                                                                                \
  "\"junk_log_interval_ms\": 3000, \"handshake_timeout_ms\": 1500, "                               \
  "\"max_pending_handshakes\": 160"
#define JUNK_INTERVAL "3 s"
#define N_JUNK 10

typedef struct {
  const char *full;    /* in the line each one would have */
  const char *summary; /* how the summary names them */
} JunkKind;

static const JunkKind junk_kinds[] = {
  { "not a Culvert agent (first byte 0x47)", "connections were not Culvert agents" },
  { "nothing useful within the handshake deadline; closing",
    "connections said nothing useful within the handshake deadline" },
  { "TLS handshake failed", "TLS handshakes failed" },
  { "tunnel preface with", "tunnel prefaces were bad" },
  { "tunnel with an unknown or used ticket", "tunnel halves had an unknown or used ticket" },
  { "no HELLO within 1500 ms", "control links sent no HELLO in time" },
  { "refused: 20 unauthenticated connections from this address",
    "connections were refused at accept" },
};

#define SUMMARY_START "in the last " JUNK_INTERVAL ": "

/* What the summary lines so far say of @kind. */
static guint
summarised (const JunkKind *kind)
{
  guint n = 0;

  for (guint i = 0; i < gateway_log->len; i++)
    {
      const char *line = gateway_log->pdata[i];
      const char *at;

      if (!g_str_has_prefix (line, SUMMARY_START))
        continue;
      at = strstr (line, kind->summary);
      /* "…: 9 TLS handshakes failed, …": the number ends one space before the phrase. */
      while (at != NULL && at > line + 1 && g_ascii_isdigit (at[-2]))
        {
          const char *digits = at - 2;

          while (digits > line && g_ascii_isdigit (digits[-1]))
            digits--;
          n += (guint) strtoul (digits, NULL, 10);
          break;
        }
    }
  return n;
}

static gboolean
all_summarised (gpointer data)
{
  for (guint k = 0; k < G_N_ELEMENTS (junk_kinds); k++)
    if (summarised (&junk_kinds[k]) < N_JUNK - 1)
      return FALSE;
  return TRUE;
}

static gboolean
nothing (gpointer data)
{
  return FALSE;
}

static void
test_junk_summarised (Fixture *fixture, gconstpointer data)
{
  static const char bad_client_hello[] = { 0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00 };
  g_autofree char *unknown_ticket = cv_ticket_new ();
  g_autofree char *unknown_preface = tunnel_preface (unknown_ticket);
  g_autofree char *bad_preface = g_strdup (unknown_preface);
  Raw *holding[N_JUNK];
  Agent *silent[N_JUNK];
  guint n_summaries;

  bad_preface[sizeof CV_TUNNEL_PREFACE_PREFIX] = '!';
  /* First what waits for the deadline, taking the address's 20 slots: TLS then
   * silence, and silence from the first byte on; the next ones are refused. */
  for (guint i = 0; i < N_JUNK; i++)
    silent[i] = agent_dial (fixture, fixture->connect_identity);
  for (guint i = 0; i < N_JUNK; i++)
    agent_start_mux (silent[i]);
  for (guint i = 0; i < N_JUNK; i++)
    holding[i] = raw_connect (fixture);
  for (guint i = 0; i < N_JUNK; i++)
    raw_assert_closed_within (raw_connect (fixture), WAIT_MS);
  for (guint i = 0; i < N_JUNK; i++)
    {
      g_assert_true (gateway_wait_until (raw_is_closed, holding[i], WAIT_MS));
      agent_wait_closed (silent[i]);
    }
  /* Then junk that is closed on arrival. */
  for (guint i = 0; i < N_JUNK; i++)
    {
      raw_probe (fixture, "GET / HTTP/1.1\r\n\r\n", 18);
      raw_probe (fixture, bad_preface, CV_TUNNEL_PREFACE_LENGTH);
      raw_probe (fixture, unknown_preface, CV_TUNNEL_PREFACE_LENGTH);
      raw_probe (fixture, bad_client_hello, sizeof bad_client_hello);
    }

  g_assert_true (gateway_wait_until (all_summarised, NULL, WAIT_MS));
  for (guint k = 0; k < G_N_ELEMENTS (junk_kinds); k++)
    {
      g_test_message ("%s: %u lines, %u summarised", junk_kinds[k].full,
                      count_log_lines (junk_kinds[k].full), summarised (&junk_kinds[k]));
      /* The first one in full, every other one in a summary, and none twice. */
      g_assert_cmpuint (count_log_lines (junk_kinds[k].full), ==, 1);
      g_assert_cmpuint (summarised (&junk_kinds[k]), ==, N_JUNK - 1);
    }
  /* One line an interval: the flood took a few of them. */
  n_summaries = count_log_lines (SUMMARY_START);
  g_assert_cmpuint (n_summaries, >=, 1);
  g_assert_cmpuint (n_summaries, <=, 4);
  assert_log_is_lines ();

  /* Nothing happens, nothing is said. */
  gateway_wait_until (nothing, NULL, 2 * 3000 + 500);
  g_assert_cmpuint (count_log_lines (SUMMARY_START), ==, n_summaries);
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
  gateway_test_add ("/gateway/logs/junk-summarised", JUNK_LIMITS, test_junk_summarised);
  return gateway_test_run ();
}
