/* cv-auth-limiter.c: failed-login backoff per source address and a global budget (policy in
 * the header).
 *
 * Sources live in a hash table for lookup and in a queue ordered by last failure,
 * so that expiry and eviction take the head.  The global budget is a GCRA (the
 * token bucket written as one "theoretical arrival time"), exact in integers.
 */
#include "auth/cv-auth-limiter.h"

#include "auth/cv-source-key.h"

#define GLOBAL_PERIOD_US (60 * G_USEC_PER_SEC)

typedef struct {
  CvSourceKey key;
  GList link; /* in by_last_failure; data points back here */
  guint failures;
  gint64 last_failure_us;
  gint64 blocked_until_us;
} Source;

struct _CvAuthLimiter {
  GObject parent_instance;

  GMutex mutex;
  CvAuthLimits limits;
  GHashTable *sources;    /* &Source.key → Source, owned */
  GQueue by_last_failure; /* of Source.link, oldest first */

  gint64 global_interval_us; /* one failure's share of the global budget */
  gint64 global_tat_us;      /* when the budget would be whole again */
};

G_DEFINE_FINAL_TYPE (CvAuthLimiter, cv_auth_limiter, G_TYPE_OBJECT)

void
cv_auth_limits_init_defaults (CvAuthLimits *limits)
{
  limits->max_failures = 5;
  limits->failure_window_us = 15 * 60 * G_USEC_PER_SEC;
  limits->initial_backoff_us = G_USEC_PER_SEC;
  limits->max_backoff_us = 5 * 60 * G_USEC_PER_SEC;
  limits->global_failures_per_minute = 600;
  limits->max_sources = 65536;
}

static void
cv_auth_limiter_finalize (GObject *object)
{
  CvAuthLimiter *self = CV_AUTH_LIMITER (object);

  /* The queue's links live inside the sources the table frees. */
  g_hash_table_unref (self->sources);
  g_mutex_clear (&self->mutex);

  G_OBJECT_CLASS (cv_auth_limiter_parent_class)->finalize (object);
}

static void
cv_auth_limiter_class_init (CvAuthLimiterClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = cv_auth_limiter_finalize;
}

static void
cv_auth_limiter_init (CvAuthLimiter *self)
{
  g_mutex_init (&self->mutex);
  self->sources = g_hash_table_new_full (cv_source_key_hash, cv_source_key_equal, NULL, g_free);
  g_queue_init (&self->by_last_failure);
  self->global_tat_us = G_MININT64;
}

CvAuthLimiter *
cv_auth_limiter_new (const CvAuthLimits *limits)
{
  CvAuthLimiter *self;
  CvAuthLimits defaults;

  if (limits == NULL)
    {
      cv_auth_limits_init_defaults (&defaults);
      limits = &defaults;
    }
  g_return_val_if_fail (limits->max_failures >= 1, NULL);
  g_return_val_if_fail (limits->failure_window_us > 0, NULL);
  g_return_val_if_fail (limits->initial_backoff_us > 0, NULL);
  g_return_val_if_fail (limits->max_backoff_us >= limits->initial_backoff_us, NULL);
  g_return_val_if_fail (limits->global_failures_per_minute >= 1, NULL);
  g_return_val_if_fail (limits->max_sources >= 1, NULL);

  self = g_object_new (CV_TYPE_AUTH_LIMITER, NULL);
  self->limits = *limits;
  self->global_interval_us = MAX (GLOBAL_PERIOD_US / limits->global_failures_per_minute, 1);
  return self;
}

static gboolean
source_is_expired (CvAuthLimiter *self, const Source *source, gint64 now_us)
{
  return now_us - source->last_failure_us >= self->limits.failure_window_us
         && now_us >= source->blocked_until_us;
}

static void
forget_source (CvAuthLimiter *self, Source *source)
{
  g_queue_unlink (&self->by_last_failure, &source->link);
  g_hash_table_remove (self->sources, &source->key);
}

/* Sources are queued by last failure, so the expired ones are at the head (give
 * or take a long backoff, which only keeps one a little longer). */
static void
forget_expired_sources (CvAuthLimiter *self, gint64 now_us)
{
  Source *oldest;

  while ((oldest = g_queue_peek_head (&self->by_last_failure)) != NULL
         && source_is_expired (self, oldest, now_us))
    forget_source (self, oldest);
}

/* Fills @key for @address and returns its source, if it is remembered. */
static Source *
find_source (CvAuthLimiter *self, GInetAddress *address, CvSourceKey *key)
{
  cv_source_key_init (key, address);
  return g_hash_table_lookup (self->sources, key);
}

static gint64
backoff_after (const CvAuthLimits *limits, guint failures)
{
  gint64 backoff = limits->initial_backoff_us;

  for (guint i = limits->max_failures; i < failures; i++)
    {
      if (backoff > limits->max_backoff_us - backoff)
        return limits->max_backoff_us;
      backoff *= 2;
    }
  return backoff;
}

gboolean
cv_auth_limiter_check (CvAuthLimiter *self,
                       GInetAddress *source_address,
                       gint64 now_us,
                       gint64 *retry_after_us)
{
  g_autoptr (GMutexLocker) locker = NULL;
  CvSourceKey key;
  Source *source;
  gint64 wait_us = 0;
  gint64 global_wait_us;

  g_return_val_if_fail (CV_IS_AUTH_LIMITER (self), FALSE);
  g_return_val_if_fail (G_IS_INET_ADDRESS (source_address), FALSE);

  locker = g_mutex_locker_new (&self->mutex);
  source = find_source (self, source_address, &key);
  if (source != NULL && source_is_expired (self, source, now_us))
    forget_source (self, source);
  else if (source != NULL && source->blocked_until_us > now_us)
    wait_us = source->blocked_until_us - now_us;

  /* One more failure must fit in the budget: MAX (tat, now) + interval ≤ now + period. */
  global_wait_us = MAX (self->global_tat_us, now_us) + self->global_interval_us - GLOBAL_PERIOD_US
                   - now_us;
  wait_us = MAX (wait_us, global_wait_us);

  if (retry_after_us != NULL)
    *retry_after_us = MAX (wait_us, 0);
  return wait_us <= 0;
}

void
cv_auth_limiter_record_failure (CvAuthLimiter *self, GInetAddress *source_address, gint64 now_us)
{
  g_autoptr (GMutexLocker) locker = NULL;
  CvSourceKey key;
  Source *source;

  g_return_if_fail (CV_IS_AUTH_LIMITER (self));
  g_return_if_fail (G_IS_INET_ADDRESS (source_address));

  locker = g_mutex_locker_new (&self->mutex);
  self->global_tat_us = MAX (self->global_tat_us, now_us) + self->global_interval_us;

  source = find_source (self, source_address, &key);
  if (source != NULL)
    {
      g_queue_unlink (&self->by_last_failure, &source->link);
      if (source_is_expired (self, source, now_us))
        {
          source->failures = 0;
          source->blocked_until_us = 0;
        }
    }
  else
    {
      forget_expired_sources (self, now_us);
      if (g_hash_table_size (self->sources) >= self->limits.max_sources)
        forget_source (self, g_queue_peek_head (&self->by_last_failure));

      source = g_new0 (Source, 1);
      source->key = key;
      source->link.data = source;
      g_hash_table_insert (self->sources, &source->key, source);
    }
  g_queue_push_tail_link (&self->by_last_failure, &source->link);

  if (source->failures < G_MAXUINT)
    source->failures++;
  source->last_failure_us = now_us;
  if (source->failures >= self->limits.max_failures)
    source->blocked_until_us = MAX (source->blocked_until_us,
                                    now_us + backoff_after (&self->limits, source->failures));
}

void
cv_auth_limiter_record_success (CvAuthLimiter *self, GInetAddress *source_address)
{
  g_autoptr (GMutexLocker) locker = NULL;
  CvSourceKey key;
  Source *source;

  g_return_if_fail (CV_IS_AUTH_LIMITER (self));
  g_return_if_fail (G_IS_INET_ADDRESS (source_address));

  locker = g_mutex_locker_new (&self->mutex);
  source = find_source (self, source_address, &key);
  if (source != NULL)
    forget_source (self, source);
}

guint
cv_auth_limiter_get_n_sources (CvAuthLimiter *self)
{
  g_autoptr (GMutexLocker) locker = NULL;

  g_return_val_if_fail (CV_IS_AUTH_LIMITER (self), 0);

  locker = g_mutex_locker_new (&self->mutex);
  return g_hash_table_size (self->sources);
}
