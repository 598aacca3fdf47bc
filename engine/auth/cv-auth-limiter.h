/* cv-auth-limiter.h: how often failed logins may be tried, per source address and overall.
 *
 * The gateway asks cv_auth_limiter_check() before it verifies a credential, and
 * tells the limiter how that ended.  The policy, with the defaults of
 * cv_auth_limits_init_defaults():
 *
 * - A source is an IPv4 address, or an IPv6 /64, as for every per-address limit of
 *   the gateway (auth/cv-source-key.h); an IPv4-mapped IPv6 address counts as its
 *   IPv4 address.
 * - After max_failures (5) failures from one source, each less than
 *   failure_window_us (15 min) after the one before, the source must wait
 *   initial_backoff_us (1 s) before its next attempt; each further failure doubles
 *   the wait, up to max_backoff_us (5 min).  A success from the source forgets
 *   its failures; so do failure_window_us without a failure.
 * - Across all sources at most global_failures_per_minute (600) failures are
 *   allowed, refilled evenly (one every 100 ms, with a burst of a minute's worth).
 *   Past that, every source waits: this bounds the Argon2 work an attacker with
 *   many addresses can cause (600 × ~90 ms ≈ one core), at the price of locking
 *   out everyone while such an attack lasts.
 * - At most max_sources (65536) sources are remembered (about 120 bytes each,
 *   8 MB at the default); a new one evicts the one whose last failure is oldest.
 *   Since only failures add sources, the global budget also bounds how fast an
 *   attacker can push a blocked source out (65536 failures take the defaults 109
 *   minutes).
 *
 * Many users behind one NAT share a source: one of them guessing wrong makes the
 * others wait too.  A refused attempt (check() returning FALSE) costs nothing and
 * is not a failure; the caller should not verify it nor record it.
 *
 * Time is passed in (g_get_monotonic_time() in the gateway), so the policy can be
 * tested without sleeping.  A limiter is thread-safe: the gateway's workers share
 * one.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  guint max_failures;               /* failures from one source before it must wait */
  gint64 failure_window_us;         /* a source's failures are forgotten after this quiet */
  gint64 initial_backoff_us;        /* the first wait */
  gint64 max_backoff_us;            /* waits double up to this */
  guint global_failures_per_minute; /* failures allowed across all sources */
  guint max_sources;                /* sources remembered at once */
} CvAuthLimits;

void cv_auth_limits_init_defaults (CvAuthLimits *limits);

#define CV_TYPE_AUTH_LIMITER (cv_auth_limiter_get_type ())
G_DECLARE_FINAL_TYPE (CvAuthLimiter, cv_auth_limiter, CV, AUTH_LIMITER, GObject)

/* @limits: (nullable): NULL for the defaults */
CvAuthLimiter *cv_auth_limiter_new (const CvAuthLimits *limits);

/* May @source try to log in at @now_us?  If not, @retry_after_us (optional) says
 * how long it must wait; the longer of its own wait and the global one. */
gboolean cv_auth_limiter_check (CvAuthLimiter *self,
                                GInetAddress *source,
                                gint64 now_us,
                                gint64 *retry_after_us);

void cv_auth_limiter_record_failure (CvAuthLimiter *self, GInetAddress *source, gint64 now_us);
void cv_auth_limiter_record_success (CvAuthLimiter *self, GInetAddress *source);

/* How many sources are remembered now. */
guint cv_auth_limiter_get_n_sources (CvAuthLimiter *self);

G_END_DECLS
