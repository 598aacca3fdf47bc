/* test-gateway-hello-text.c: HELLOs whose JSON is valid UTF-8 on the wire but not once
 * json-glib has unescaped it (octal escapes: "\374" is the byte 0xfc), or whose refusal
 * would repeat the peer's text, sent by a real TLS client to a real gateway.  Each is
 * refused as bad-request with a message of one line, and the gateway serves on.  Found
 * by the fuzz targets (tests/fuzz/corpus/control/). */
#include "gateway-fixture.h"

#include <string.h>

/* A HELLO of the share agent of s1 with the right password and key, but @name_json
 * (raw JSON text) as its name. */
static char *
hello_with_name (Agent *agent, const char *name_json)
{
  return g_strdup_printf ("{\"version\":%u,\"role\":\"share\",\"session\":\"s1\","
                          "\"password\":\"" SHARE_PASSWORD "\",\"name\":%s,"
                          "\"fingerprint\":\"%s\"}",
                          CV_PROTOCOL_VERSION, name_json,
                          cv_identity_get_fingerprint (agent->identity));
}

static void
assert_one_line (const char *text)
{
  g_assert_true (g_utf8_validate (text, -1, NULL));
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    g_assert_false (g_unichar_iscntrl (g_utf8_get_char (p)));
}

/* Refused with bad-request, whatever the message; returns it. */
static const char *
refusal_message (Agent *agent)
{
  const char *message;

  g_assert_cmpstr (agent_answer (agent), ==, CV_REASON_BAD_REQUEST);
  message = member (agent_refusal (agent), "message");
  g_assert_nonnull (message);
  assert_one_line (message);
  agent_wait_closed (agent);
  g_assert_cmpuint (agent_count (agent, CV_CONTROL_WELCOME), ==, 0);
  return message;
}

/* Before the fix a name ending in "\374" was read past its end (ASan:
 * heap-buffer-overflow in cv_control_parse_hello) and others were welcomed with a name
 * that is not UTF-8, which the connect agents' frame decoder refuses. */
static void
test_octal_escapes (Fixture *fixture, gconstpointer data)
{
  const char *names[] = { "\"ab\\374\"", "\"\\200\"", "\"caf\\303\\251\\377\"" };
  Agent *share;

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      Agent *agent = agent_new (fixture, fixture->share_identity);
      g_autofree char *hello = hello_with_name (agent, names[i]);

      g_test_message ("name %s", names[i]);
      agent_send (agent, CV_CONTROL_HELLO, hello);
      g_assert_nonnull (strstr (refusal_message (agent), "not UTF-8"));
    }

  /* A member name counts too. */
  {
    Agent *agent = agent_new (fixture, fixture->share_identity);
    g_autofree char *hello = hello_with_name (agent, "\"host\",\"\\374\":1");

    agent_send (agent, CV_CONTROL_HELLO, hello);
    g_assert_nonnull (strstr (refusal_message (agent), "not UTF-8"));
  }

  share = agent_login (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s1", "server");
  g_assert_nonnull (agent_next (share, CV_CONTROL_WELCOME));
}

/* The refusals that repeat what the peer sent: json-glib's parse error (it quotes the
 * string it choked on, unescaped) and an unknown role. */
static void
test_refusal_repeats_no_control_character (Fixture *fixture, gconstpointer data)
{
  const char *hellos[] = {
    "{\"\\033[2J\\n<3>session s2: share agent offline\" \"x\"}",
    "{\"version\":1,\"role\":\"x\\n<3>forged\",\"session\":\"s1\",\"password\":\"p\","
    "\"fingerprint\":\"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (hellos); i++)
    {
      Agent *agent = agent_new (fixture, fixture->share_identity);
      const char *message;

      agent_send (agent, CV_CONTROL_HELLO, hellos[i]);
      message = refusal_message (agent);
      g_test_message ("refused: %s", message);
      g_assert_nonnull (strstr (message, "\\n<3>"));
    }
}

int
main (int argc, char **argv)
{
  gateway_test_init (&argc, &argv);
  gateway_test_add ("/gateway/hello-text/octal-escapes", NULL, test_octal_escapes);
  gateway_test_add ("/gateway/hello-text/refusal-repeats-no-control-character", NULL,
                    test_refusal_repeats_no_control_character);
  return gateway_test_run ();
}
