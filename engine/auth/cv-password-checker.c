/* cv-password-checker.c: the gateway's bounded queue of password checks (policy in the
 * header).
 *
 * Its own threads and its own queue rather than a GThreadPool: a pool cannot take back
 * an item it has queued, and a check whose agent has gone must give its place back at
 * once, or a flood of HELLO-then-close fills the queue with dead checks and real
 * logins are turned away behind them.
 *
 * A check is in one of three hands: the queue's (waiting, under the mutex), a
 * worker's (running), or the owner context's (an idle that delivers the result and
 * frees it).  Workers hold no reference: the tasks do (each has the checker as its
 * source object), and finalize, which comes only after the last task is delivered,
 * stops and joins the workers.
 */
#include "auth/cv-password-checker.h"

#include "auth/cv-password.h"
#include "auth/cv-source-key.h"

#include <sodium.h>
#include <string.h>

typedef enum {
  CHECK_WAITING,
  CHECK_RUNNING,
  CHECK_DONE,
} CheckState;

typedef struct {
  CvPasswordChecker *checker; /* not owned: the task holds it */
  GTask *task;
  GList link; /* in the queue while waiting; data points back here */
  CvSourceKey source;
  char *hash;
  char *password;
  GCancellable *cancellable;
  gulong cancelled_id;
  CheckState state; /* under the checker's mutex */
  gboolean ran;
  gboolean matched;
} Check;

struct _CvPasswordChecker {
  GObject parent_instance;

  GMutex mutex;
  GCond wake;
  GQueue waiting; /* of Check.link, under the mutex */
  guint n_running;
  guint64 n_run;
  gboolean stopping;
  gboolean holding; /* tests: a finished check stays running until released */
  GCond released;
  GPtrArray *workers; /* of GThread */

  /* Only from the owner's thread. */
  guint max_waiting;
  guint max_per_source;
  GHashTable *per_source; /* CvSourceKey → checks waiting or running */
};

G_DEFINE_FINAL_TYPE (CvPasswordChecker, cv_password_checker, G_TYPE_OBJECT)

static void
check_free (Check *check)
{
  if (check->password != NULL)
    {
      sodium_memzero (check->password, strlen (check->password));
      g_free (check->password);
    }
  g_free (check->hash);
  g_clear_object (&check->cancellable);
  g_clear_object (&check->task);
  g_free (check);
}

static guint
per_source_count (CvPasswordChecker *self, const CvSourceKey *source)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (self->per_source, source));
}

static void
per_source_add (CvPasswordChecker *self, const CvSourceKey *source, int delta)
{
  guint count = per_source_count (self, source) + delta;

  if (count == 0)
    g_hash_table_remove (self->per_source, source);
  else
    g_hash_table_insert (self->per_source, g_memdup2 (source, sizeof *source),
                         GUINT_TO_POINTER (count));
}

/* On the owner's context, from an idle: whatever became of the check. */
static gboolean
deliver (gpointer data)
{
  Check *check = data;
  CvPasswordChecker *self = check->checker;

  if (check->cancelled_id != 0)
    g_cancellable_disconnect (check->cancellable, check->cancelled_id);
  per_source_add (self, &check->source, -1);
  if (check->ran)
    g_task_return_boolean (check->task, check->matched);
  else
    g_task_return_new_error (check->task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                             "the password check was cancelled before it ran");
  check_free (check);
  return G_SOURCE_REMOVE;
}

static void
schedule_delivery (Check *check)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, deliver, check, NULL);
  g_source_set_static_name (source, "[culvert] password check result");
  g_source_attach (source, g_task_get_context (check->task));
  g_source_unref (source);
}

static gpointer
worker_main (gpointer data)
{
  CvPasswordChecker *self = data;

  g_mutex_lock (&self->mutex);
  for (;;)
    {
      Check *check;
      gboolean matched;

      while (!self->stopping && g_queue_is_empty (&self->waiting))
        g_cond_wait (&self->wake, &self->mutex);
      if (self->stopping)
        break;
      check = g_queue_pop_head_link (&self->waiting)->data;
      check->state = CHECK_RUNNING;
      self->n_running++;
      g_mutex_unlock (&self->mutex);

      matched = cv_password_verify (check->hash, check->password);

      g_mutex_lock (&self->mutex);
      while (self->holding && !self->stopping)
        g_cond_wait (&self->released, &self->mutex);
      check->state = CHECK_DONE;
      check->ran = TRUE;
      check->matched = matched;
      self->n_running--;
      self->n_run++;
      schedule_delivery (check);
    }
  g_mutex_unlock (&self->mutex);
  return NULL;
}

/* On the thread that cancels (the owner's): a waiting check leaves the queue now. */
static void
on_cancelled (GCancellable *cancellable, gpointer data)
{
  Check *check = data;
  CvPasswordChecker *self = check->checker;
  gboolean withdrawn = FALSE;

  g_mutex_lock (&self->mutex);
  if (check->state == CHECK_WAITING)
    {
      g_queue_unlink (&self->waiting, &check->link);
      check->state = CHECK_DONE;
      withdrawn = TRUE;
    }
  g_mutex_unlock (&self->mutex);
  if (withdrawn)
    schedule_delivery (check);
}

static void
cv_password_checker_finalize (GObject *object)
{
  CvPasswordChecker *self = CV_PASSWORD_CHECKER (object);

  /* Every check has been delivered (each task held a reference): the queue is empty
   * and the workers are idle or about to be. */
  g_mutex_lock (&self->mutex);
  self->stopping = TRUE;
  g_cond_broadcast (&self->wake);
  g_cond_broadcast (&self->released);
  g_mutex_unlock (&self->mutex);
  for (guint i = 0; i < self->workers->len; i++)
    g_thread_join (self->workers->pdata[i]);
  g_ptr_array_unref (self->workers);
  g_hash_table_unref (self->per_source);
  g_cond_clear (&self->wake);
  g_cond_clear (&self->released);
  g_mutex_clear (&self->mutex);

  G_OBJECT_CLASS (cv_password_checker_parent_class)->finalize (object);
}

static void
cv_password_checker_class_init (CvPasswordCheckerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cv_password_checker_finalize;
}

static void
cv_password_checker_init (CvPasswordChecker *self)
{
  g_mutex_init (&self->mutex);
  g_cond_init (&self->wake);
  g_cond_init (&self->released);
  g_queue_init (&self->waiting);
  self->workers = g_ptr_array_new ();
  self->per_source = cv_source_key_table_new (NULL);
}

/**
 * cv_password_checker_new:
 * @n_workers: checks that run at once (threads, made now); at least 1
 * @max_waiting: checks that may wait for a worker; at least 1
 * @max_per_source: checks one source may have waiting or running; at least 1
 */
CvPasswordChecker *
cv_password_checker_new (guint n_workers, guint max_waiting, guint max_per_source)
{
  CvPasswordChecker *self = g_object_new (CV_TYPE_PASSWORD_CHECKER, NULL);

  cv_password_checker_set_limits (self, max_waiting, max_per_source);
  for (guint i = 0; i < MAX (n_workers, 1); i++)
    g_ptr_array_add (self->workers, g_thread_new ("culvert-password", worker_main, self));
  return self;
}

void
cv_password_checker_set_limits (CvPasswordChecker *self, guint max_waiting, guint max_per_source)
{
  g_return_if_fail (CV_IS_PASSWORD_CHECKER (self));

  self->max_waiting = MAX (max_waiting, 1);
  self->max_per_source = MAX (max_per_source, 1);
}

void
cv_password_checker_check_async (CvPasswordChecker *self,
                                 GInetAddress *source,
                                 const char *hash,
                                 const char *password,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  g_autoptr (GTask) task = NULL;
  CvSourceKey key;
  guint n_waiting;
  Check *check;

  g_return_if_fail (CV_IS_PASSWORD_CHECKER (self));
  g_return_if_fail (G_IS_INET_ADDRESS (source));
  g_return_if_fail (hash != NULL && password != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cv_password_checker_check_async);
  /* A check that ran is reported as it ended, cancelled or not. */
  g_task_set_check_cancellable (task, FALSE);
  if (g_task_return_error_if_cancelled (task))
    return;

  cv_source_key_init (&key, source);
  if (per_source_count (self, &key) >= self->max_per_source)
    {
      g_task_return_new_error (task, CV_AUTH_ERROR, CV_AUTH_ERROR_SOURCE_BUSY,
                               "%u password checks from this address are under way (limit %u)",
                               per_source_count (self, &key), self->max_per_source);
      return;
    }
  g_mutex_lock (&self->mutex);
  n_waiting = self->waiting.length;
  g_mutex_unlock (&self->mutex);
  if (n_waiting >= self->max_waiting)
    {
      g_task_return_new_error (task, CV_AUTH_ERROR, CV_AUTH_ERROR_QUEUE_FULL,
                               "%u password checks are waiting (limit %u)", n_waiting,
                               self->max_waiting);
      return;
    }

  check = g_new0 (Check, 1);
  check->checker = self;
  check->task = g_steal_pointer (&task);
  check->link.data = check;
  check->source = key;
  check->hash = g_strdup (hash);
  check->password = g_strdup (password);
  check->state = CHECK_WAITING;
  per_source_add (self, &key, +1);

  g_mutex_lock (&self->mutex);
  g_queue_push_tail_link (&self->waiting, &check->link);
  g_cond_signal (&self->wake);
  g_mutex_unlock (&self->mutex);

  /* Connected last, without the mutex: it calls on_cancelled() at once if the
   * cancellable was cancelled meanwhile. */
  if (cancellable != NULL)
    {
      check->cancellable = g_object_ref (cancellable);
      check->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled), check,
                                                   NULL);
    }
}

gboolean
cv_password_checker_check_finish (CvPasswordChecker *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cv_password_checker_check_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

guint
cv_password_checker_get_n_workers (CvPasswordChecker *self)
{
  return self->workers->len;
}

guint
cv_password_checker_get_n_waiting (CvPasswordChecker *self)
{
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&self->mutex);

  return self->waiting.length;
}

guint
cv_password_checker_get_n_running (CvPasswordChecker *self)
{
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&self->mutex);

  return self->n_running;
}

guint64
cv_password_checker_get_n_run (CvPasswordChecker *self)
{
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&self->mutex);

  return self->n_run;
}

/**
 * cv_password_checker_hold:
 * @hold: %TRUE: a check that finishes stays running, its result kept, until
 *   this is called again with %FALSE
 *
 * For tests, which need a check to be running, whatever the machine's speed, while
 * they look at what happens around it.
 */
void
cv_password_checker_hold (CvPasswordChecker *self, gboolean hold)
{
  g_mutex_lock (&self->mutex);
  self->holding = hold;
  g_cond_broadcast (&self->released);
  g_mutex_unlock (&self->mutex);
}
