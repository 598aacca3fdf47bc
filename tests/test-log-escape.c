/* test-log-escape.c: peer text as it appears in a log line — one line, visible
 * escapes, a bounded length. */
#include "base/cv-log-escape.h"

#include <string.h>

typedef struct {
  const char *text;
  gssize length;
  const char *escaped;
} Case;

static const Case cases[] = {
  { "reception", -1, "reception" },
  { "Büro — Empfang “2”", -1, "Büro — Empfang “2”" },
  { "", -1, "" },
  /* The forged line and terminal escape of issue 8. */
  { "bye\n<3>session s2: share agent offline\x1b[2J", -1,
    "bye\\n<3>session s2: share agent offline\\x1b[2J" },
  { "a\r\tb\x7f", -1, "a\\r\\tb\\x7f" },
  { "back\\slash", -1, "back\\\\slash" },
  /* Not UTF-8: each stray byte; a sequence cut short too. */
  { "x\xff\xfey", -1, "x\\xff\\xfey" },
  { "cut \xe2\x80", -1, "cut \\xe2\\x80" },
  /* C1 controls, line separator, bidi override, zero-width joiner. */
  { "a\xc2\x85"
    "b\xe2\x80\xa8"
    "c\xe2\x80\xae"
    "d\xe2\x80\x8d",
    -1, "a\\u{0085}b\\u{2028}c\\u{202e}d\\u{200d}" },
  /* A NUL inside the given length. */
  { "a\0b", 3, "a\\x00b" },
};

static void
test_cases (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *escaped = cv_log_escape (cases[i].text, cases[i].length);

      g_assert_cmpstr (escaped, ==, cases[i].escaped);
    }
}

static void
test_null (void)
{
  g_autofree char *escaped = cv_log_escape (NULL, -1);

  g_assert_cmpstr (escaped, ==, "(none)");
}

static void
test_length_capped (void)
{
  g_autofree char *long_text = g_strnfill (10000, '\n');
  g_autofree char *escaped = cv_log_escape (long_text, -1);
  g_autofree char *expected_tail = g_strdup_printf ("…(%u more bytes)",
                                                    10000 - CV_LOG_ESCAPE_MAX_BYTES);

  g_assert_cmpuint (strlen (escaped), ==, 2 * CV_LOG_ESCAPE_MAX_BYTES + strlen (expected_tail));
  g_assert_true (g_str_has_suffix (escaped, expected_tail));
  g_assert_null (strchr (escaped, '\n'));
}

/* The log writer's pass: safe messages untouched (NULL), others one line, and what
 * cv_log_escape() made goes through unchanged. */
static void
test_line (void)
{
  g_autofree char *quoted = cv_log_escape ("x\ny\\z", -1);
  g_autofree char *forged = cv_log_escape_line ("closed: bye\n<3>forged\x1b");

  g_assert_null (cv_log_escape_line ("session s1: share agent “server” online"));
  g_assert_null (cv_log_escape_line (quoted));
  g_assert_cmpstr (forged, ==, "closed: bye\\n<3>forged\\x1b");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/log-escape/cases", test_cases);
  g_test_add_func ("/log-escape/null", test_null);
  g_test_add_func ("/log-escape/length-capped", test_length_capped);
  g_test_add_func ("/log-escape/line", test_line);
  return g_test_run ();
}
