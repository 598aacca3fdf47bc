/* cv-backoff.h: reconnect delays — exponential, capped, with jitter. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint initial_ms;
  guint max_ms;
  guint attempt;
  GRand *rand; /* NULL: g_random */
} CvBackoff;

void cv_backoff_init (CvBackoff *backoff, guint initial_ms, guint max_ms);
guint cv_backoff_next_delay_ms (CvBackoff *backoff);
void cv_backoff_reset (CvBackoff *backoff);

G_END_DECLS
