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

static inline gboolean
fuzz_same_bytes (const void *a, gsize a_len, const void *b, gsize b_len)
{
  return a_len == b_len && (a_len == 0 || memcmp (a, b, a_len) == 0);
}
