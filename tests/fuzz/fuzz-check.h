/* fuzz-check.h: what the fuzz targets share: an assertion that aborts in every build, so
 * a broken invariant is a crash to libFuzzer and a failed test to the corpus replay. */
#pragma once

#include <glib.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

#define check(condition)                                                                           \
  ((condition) ? (void) 0 : fuzz_check_failed (#condition, __FILE__, __LINE__))

static inline G_NORETURN void
fuzz_check_failed (const char *condition, const char *file, int line)
{
  fprintf (stderr, "%s:%d: check failed: %s\n", file, line, condition);
  abort ();
}

/* Valid UTF-8 without control characters: safe in a log line and on a terminal. */
static inline gboolean
fuzz_is_one_line_of_text (const char *text)
{
  if (!g_utf8_validate (text, -1, NULL))
    return FALSE;
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      return FALSE;
  return TRUE;
}

static inline gboolean
fuzz_same_bytes (const void *a, gsize a_len, const void *b, gsize b_len)
{
  return a_len == b_len && (a_len == 0 || memcmp (a, b, a_len) == 0);
}
