/* cv-backoff.c: reconnect delays — exponential, capped, with jitter.
 *
 * Each delay is drawn uniformly from [base/2, base] where base doubles from the
 * initial delay up to the cap ("equal jitter"): agents that lost the same gateway at
 * the same moment do not all return at the same moment, and none waits less than
 * half the nominal delay. */
#include "base/cv-backoff.h"

void
cv_backoff_init (CvBackoff *backoff, guint initial_ms, guint max_ms)
{
  backoff->initial_ms = MAX (initial_ms, 1);
  backoff->max_ms = MAX (max_ms, backoff->initial_ms);
  backoff->attempt = 0;
  backoff->rand = NULL;
}

guint
cv_backoff_next_delay_ms (CvBackoff *backoff)
{
  guint64 base = backoff->initial_ms;
  guint half;

  for (guint i = 0; i < backoff->attempt && base < backoff->max_ms; i++)
    base *= 2;
  base = MIN (base, backoff->max_ms);
  if (backoff->attempt < 64)
    backoff->attempt++;

  half = base / 2;
  if (backoff->rand != NULL)
    return half + g_rand_int_range (backoff->rand, 0, base - half + 1);
  return half + g_random_int_range (0, base - half + 1);
}

void
cv_backoff_reset (CvBackoff *backoff)
{
  backoff->attempt = 0;
}
