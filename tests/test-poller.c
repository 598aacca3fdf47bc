/* test-poller.c: CvPoller with real sockets (socket pairs): readiness, changes, removal
 * from callbacks, thousands of sockets, other contexts and threads, lifetime.
 *
 * Built twice (tests/meson.build): against the engine (epoll on Linux) and with the
 * GSource-per-socket fallback that builds without epoll use.
 */
#include "base/cv-poller.h"

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* Enough turns of a context for anything ready to have been dispatched. */
#define SETTLE_TURNS 10

typedef struct {
  GSocket *a;
  GSocket *b;
} Pair;

static void
pair_open (Pair *pair)
{
  int fds[2];
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  pair->a = g_socket_new_from_fd (fds[0], &error);
  g_assert_no_error (error);
  pair->b = g_socket_new_from_fd (fds[1], &error);
  g_assert_no_error (error);
  g_socket_set_blocking (pair->a, FALSE);
  g_socket_set_blocking (pair->b, FALSE);
}

static void
pair_close (Pair *pair)
{
  g_clear_object (&pair->a);
  g_clear_object (&pair->b);
}

static void
send_byte (GSocket *socket)
{
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_socket_send (socket, "x", 1, NULL, &error), ==, 1);
  g_assert_no_error (error);
}

static gsize
drain (GSocket *socket)
{
  char buffer[65536];
  gsize total = 0;

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      gssize n = g_socket_receive (socket, buffer, sizeof buffer, NULL, &error);

      if (n <= 0)
        {
          if (n < 0)
            g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
          return total;
        }
      total += n;
    }
}

/* Fill @socket's send buffer (and its peer's receive buffer) until it would block. */
static void
fill (GSocket *socket)
{
  static const char buffer[65536];

  for (;;)
    {
      g_autoptr (GError) error = NULL;

      if (g_socket_send (socket, buffer, sizeof buffer, NULL, &error) < 0)
        {
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
          return;
        }
    }
}

static void
settle (GMainContext *context)
{
  for (int i = 0; i < SETTLE_TURNS; i++)
    g_main_context_iteration (context, FALSE);
}

/* Nothing at all is dispatched: no callback, and no poller spinning without one (as an
 * epoll set would, reporting a hang-up to a watch that waits for nothing). */
static void
assert_quiet (GMainContext *context)
{
  for (int i = 0; i < SETTLE_TURNS; i++)
    g_assert_false (g_main_context_iteration (context, FALSE));
}

static gboolean
on_timeout (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterate @context until *@counter reaches @target; fails the test after 5 s. */
static void
run_until (GMainContext *context, const guint *counter, guint target)
{
  gboolean timed_out = FALSE;
  GSource *timer = g_timeout_source_new (5000);

  g_source_set_callback (timer, on_timeout, &timed_out, NULL);
  g_source_attach (timer, context);
  while (*counter < target && !timed_out)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timer);
  g_source_unref (timer);
  g_assert_false (timed_out);
  g_assert_cmpuint (*counter, ==, target);
}

/* ---- one watch, one record of its calls --------------------------------- */

typedef struct {
  CvPollerWatch *watch;
  guint calls;
  GIOCondition last;
  GThread *thread;           /* where the last call ran */
  gboolean drain_and_stop;   /* read what is there, then wait for nothing */
  CvPollerWatch **to_remove; /* another watch to remove from the callback */
  gboolean remove_self;
  GSocket *socket;
} Record;

static void
on_ready (CvPollerWatch *watch, GIOCondition condition, gpointer user_data)
{
  Record *record = user_data;

  g_assert_true (watch == record->watch);
  record->calls++;
  record->last = condition;
  record->thread = g_thread_self ();
  if (record->drain_and_stop)
    {
      drain (record->socket);
      cv_poller_watch_set_condition (watch, 0);
    }
  if (record->to_remove != NULL && *record->to_remove != NULL)
    g_clear_pointer (record->to_remove, cv_poller_watch_remove);
  if (record->remove_self)
    g_clear_pointer (&record->watch, cv_poller_watch_remove);
}

/* One socket pair on the default context's poller, and the record of one watch. */
typedef struct {
  CvPoller *poller;
  Pair pair;
  Record record;
} Fixture;

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  fixture->poller = cv_poller_get_for_context (NULL);
  pair_open (&fixture->pair);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_pointer (&fixture->record.watch, cv_poller_watch_remove);
  pair_close (&fixture->pair);
  g_clear_pointer (&fixture->poller, cv_poller_unref);
  g_assert_cmpuint (cv_poller_get_n_pollers (), ==, 0);
}

/* ---- readiness ---------------------------------------------------------- */

static void
test_readable (Fixture *fixture, gconstpointer data)
{
  Record *record = &fixture->record;

  record->watch = cv_poller_watch (fixture->poller, fixture->pair.b, G_IO_IN, on_ready, record);
  assert_quiet (NULL);
  g_assert_cmpuint (record->calls, ==, 0);

  send_byte (fixture->pair.a);
  run_until (NULL, &record->calls, 1);
  g_assert_cmphex (record->last, ==, G_IO_IN);

  /* Level-triggered: unread bytes call back again on the next turns. */
  settle (NULL);
  g_assert_cmpuint (record->calls, >, 1);

  g_assert_cmpuint (drain (fixture->pair.b), ==, 1);
  record->calls = 0;
  assert_quiet (NULL);
  g_assert_cmpuint (record->calls, ==, 0);
}

static void
test_writable (Fixture *fixture, gconstpointer data)
{
  Record *record = &fixture->record;

  record->watch = cv_poller_watch (fixture->poller, fixture->pair.a, G_IO_OUT, on_ready, record);
  run_until (NULL, &record->calls, 1);
  g_assert_cmphex (record->last, ==, G_IO_OUT);

  /* A full socket is not writable until its peer reads. */
  cv_poller_watch_set_condition (record->watch, 0);
  fill (fixture->pair.a);
  cv_poller_watch_set_condition (record->watch, G_IO_OUT);
  record->calls = 0;
  assert_quiet (NULL);
  g_assert_cmpuint (record->calls, ==, 0);

  drain (fixture->pair.b);
  run_until (NULL, &record->calls, 1);
  g_assert_cmphex (record->last, ==, G_IO_OUT);
}

static void
test_modify (Fixture *fixture, gconstpointer data)
{
  Record *record = &fixture->record;

  /* Writable at once, but only reading is asked for. */
  record->watch = cv_poller_watch (fixture->poller, fixture->pair.b, G_IO_IN, on_ready, record);
  assert_quiet (NULL);
  g_assert_cmpuint (record->calls, ==, 0);

  cv_poller_watch_set_condition (record->watch, G_IO_OUT);
  g_assert_cmphex (cv_poller_watch_get_condition (record->watch), ==, G_IO_OUT);
  run_until (NULL, &record->calls, 1);
  g_assert_cmphex (record->last, ==, G_IO_OUT);

  /* Waiting for nothing: neither readable nor writable calls back. */
  send_byte (fixture->pair.a);
  cv_poller_watch_set_condition (record->watch, 0);
  record->calls = 0;
  assert_quiet (NULL);
  g_assert_cmpuint (record->calls, ==, 0);

  cv_poller_watch_set_condition (record->watch, G_IO_IN);
  run_until (NULL, &record->calls, 1);
  g_assert_cmphex (record->last, ==, G_IO_IN);

  cv_poller_watch_set_condition (record->watch, G_IO_IN | G_IO_OUT);
  record->calls = 0;
  run_until (NULL, &record->calls, 1);
  g_assert_cmphex (record->last, ==, G_IO_IN | G_IO_OUT);
}

/* A hung-up socket that nobody waits on must stay quiet (epoll reports EPOLLHUP even to
 * an empty mask); once waited on, the hang-up is reported. */
static void
test_hangup (Fixture *fixture, gconstpointer data)
{
  Record *record = &fixture->record;

  record->watch = cv_poller_watch (fixture->poller, fixture->pair.b, G_IO_IN, on_ready, record);
  cv_poller_watch_set_condition (record->watch, 0);
  g_socket_close (fixture->pair.a, NULL);
  assert_quiet (NULL);
  g_assert_cmpuint (record->calls, ==, 0);

  cv_poller_watch_set_condition (record->watch, G_IO_IN);
  run_until (NULL, &record->calls, 1);
  g_assert_true (record->last & G_IO_HUP);
}

/* ---- removal from callbacks --------------------------------------------- */

static void
test_remove_self (Fixture *fixture, gconstpointer data)
{
  Record *record = &fixture->record;

  record->remove_self = TRUE;
  record->watch = cv_poller_watch (fixture->poller, fixture->pair.b, G_IO_IN, on_ready, record);
  send_byte (fixture->pair.a);
  run_until (NULL, &record->calls, 1);
  g_assert_null (record->watch);
  g_assert_cmpuint (cv_poller_get_n_watches (fixture->poller), ==, 0);

  /* Still readable, but nobody is called any more. */
  assert_quiet (NULL);
  g_assert_cmpuint (record->calls, ==, 1);
}

/* Two sockets ready in the same batch: whichever is called first removes the other,
 * which must then not be called, although its event was already taken. */
static void
test_remove_other_in_batch (void)
{
  g_autoptr (CvPoller) poller = cv_poller_get_for_context (NULL);
  Pair pairs[2];
  Record records[2] = { { 0 } };

  for (int i = 0; i < 2; i++)
    {
      pair_open (&pairs[i]);
      records[i].watch = cv_poller_watch (poller, pairs[i].b, G_IO_IN, on_ready, &records[i]);
    }
  records[0].to_remove = &records[1].watch;
  records[1].to_remove = &records[0].watch;
  send_byte (pairs[0].a);
  send_byte (pairs[1].a);

  /* One turn sees both ready; only one is called in it. */
  g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (records[0].calls + records[1].calls, ==, 1);
  settle (NULL);
  g_assert_true ((records[0].watch == NULL) != (records[1].watch == NULL));
  for (int i = 0; i < 2; i++)
    {
      if (records[i].watch != NULL)
        {
          /* The survivor keeps working, and was called once per turn. */
          g_assert_cmpuint (records[i].calls, ==, 1 + SETTLE_TURNS);
          cv_poller_watch_remove (records[i].watch);
        }
      else
        g_assert_cmpuint (records[i].calls, ==, 0);
      pair_close (&pairs[i]);
    }
  g_assert_cmpuint (cv_poller_get_n_watches (poller), ==, 0);
}

/* ---- work once per batch --------------------------------------------------- */

typedef struct {
  Record records[2];
  guint calls_seen;   /* watch calls made when the batch-end call ran */
  guint batch_calls;  /* batch-end calls run */
  guint notified;     /* notify calls */
  gboolean nested_ok; /* what asking again from a batch-end call returned */
} Batch;

static void
on_batch_notify (gpointer user_data)
{
  Batch *batch = user_data;

  batch->notified++;
}

static void
on_batch_end (gpointer user_data)
{
  Batch *batch = user_data;

  batch->batch_calls++;
  batch->calls_seen = batch->records[0].calls + batch->records[1].calls;
  /* Refused while the batch's calls run: it would never end otherwise. */
  batch->nested_ok = cv_poller_call_at_batch_end (NULL, on_batch_end, batch, on_batch_notify);
}

static void
on_ready_then_batch (CvPollerWatch *watch, GIOCondition condition, gpointer user_data)
{
  Batch *batch = user_data;
  Record *record = &batch->records[watch == batch->records[0].watch ? 0 : 1];

  gboolean queued;

  record->calls++;
  drain (record->socket);
  queued = cv_poller_call_at_batch_end (NULL, on_batch_end, batch, on_batch_notify);
#if defined(__linux__) && !defined(CV_POLLER_FALLBACK_ONLY)
  g_assert_true (queued);
#else
  g_assert_false (queued);
#endif
}

/* A call asked for by two watches of one batch runs twice, after both, in the same
 * main-loop iteration; outside a batch nothing is queued and the notify runs at once. */
static void
test_batch_end (void)
{
  g_autoptr (CvPoller) poller = cv_poller_get_for_context (NULL);
  Batch batch = { 0 };
  Pair pairs[2];

  g_assert_false (cv_poller_call_at_batch_end (NULL, on_batch_end, &batch, on_batch_notify));
  g_assert_cmpuint (batch.notified, ==, 1);
  g_assert_cmpuint (batch.batch_calls, ==, 0);

  for (int i = 0; i < 2; i++)
    {
      pair_open (&pairs[i]);
      batch.records[i].socket = pairs[i].b;
      batch.records[i].watch = cv_poller_watch (poller, pairs[i].b, G_IO_IN, on_ready_then_batch,
                                                &batch);
      send_byte (pairs[i].a);
    }
  g_main_context_iteration (NULL, TRUE);
#if defined(__linux__) && !defined(CV_POLLER_FALLBACK_ONLY)
  g_assert_cmpuint (batch.records[0].calls + batch.records[1].calls, ==, 2);
  g_assert_cmpuint (batch.batch_calls, ==, 2);
  g_assert_cmpuint (batch.calls_seen, ==, 2);
  g_assert_false (batch.nested_ok);
  /* Each queued call's notify, and each refused one's. */
  g_assert_cmpuint (batch.notified, ==, 1 + 2 + 2);
#else
  /* One source per socket, no batch: every request is refused, and the caller's own
   * scheduling does the work. */
  settle (NULL);
  g_assert_cmpuint (batch.batch_calls, ==, 0);
  g_assert_cmpuint (batch.notified, ==, 1 + 2);
#endif
  for (int i = 0; i < 2; i++)
    {
      cv_poller_watch_remove (batch.records[i].watch);
      pair_close (&pairs[i]);
    }
}

/* ---- many sockets --------------------------------------------------------- */

#define MANY 2000

static gboolean
raise_fd_limit (guint needed)
{
  struct rlimit limit;

  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &limit), ==, 0);
  if (limit.rlim_cur >= needed)
    return TRUE;
  if (limit.rlim_max < needed)
    return FALSE;
  limit.rlim_cur = needed;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &limit), ==, 0);
  return TRUE;
}

static void
test_many (void)
{
  static const guint ready[] = { 0, 7, 999, 1000, MANY - 1 };
  g_autoptr (CvPoller) poller = cv_poller_get_for_context (NULL);
  Pair *pairs;
  Record *records;
  guint total = 0;

  if (!raise_fd_limit (2 * MANY + 100))
    {
      g_test_skip ("RLIMIT_NOFILE is too low for this test");
      return;
    }
  pairs = g_new0 (Pair, MANY);
  records = g_new0 (Record, MANY);
  for (guint i = 0; i < MANY; i++)
    {
      pair_open (&pairs[i]);
      records[i].drain_and_stop = TRUE;
      records[i].socket = pairs[i].b;
      records[i].watch = cv_poller_watch (poller, pairs[i].b, G_IO_IN, on_ready, &records[i]);
    }
  g_assert_cmpuint (cv_poller_get_n_watches (poller), ==, MANY);
  settle (NULL);

  for (guint k = 0; k < G_N_ELEMENTS (ready); k++)
    send_byte (pairs[ready[k]].a);
  while (total < G_N_ELEMENTS (ready))
    {
      g_main_context_iteration (NULL, TRUE);
      total = 0;
      for (guint i = 0; i < MANY; i++)
        total += records[i].calls;
    }
  assert_quiet (NULL);

  for (guint i = 0, k = 0; i < MANY; i++)
    {
      gboolean was_ready = k < G_N_ELEMENTS (ready) && ready[k] == i;

      g_assert_cmpuint (records[i].calls, ==, was_ready ? 1 : 0);
      if (was_ready)
        {
          g_assert_cmphex (records[i].last, ==, G_IO_IN);
          k++;
        }
      cv_poller_watch_remove (records[i].watch);
      pair_close (&pairs[i]);
    }
  g_free (records);
  g_free (pairs);
}

/* ---- another context, in a thread --------------------------------------- */

typedef struct {
  GSocket *socket;
  Record record;
  CvPoller *poller;
  GMutex lock;
  GCond cond;
  gboolean watching;
} ThreadData;

static gpointer
thread_main (gpointer user_data)
{
  ThreadData *data = user_data;
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (CvPoller) poller = NULL;

  g_main_context_push_thread_default (context);
  poller = cv_poller_get_for_context (context);
  data->poller = poller;
  data->record.watch = cv_poller_watch (poller, data->socket, G_IO_IN, on_ready, &data->record);
  data->record.drain_and_stop = TRUE;
  data->record.socket = data->socket;
  g_mutex_lock (&data->lock);
  data->watching = TRUE;
  g_cond_signal (&data->cond);
  g_mutex_unlock (&data->lock);

  run_until (context, &data->record.calls, 1);
  cv_poller_watch_remove (data->record.watch);
  g_main_context_pop_thread_default (context);
  return NULL;
}

static void
test_thread_context (void)
{
  g_autoptr (CvPoller) main_poller = cv_poller_get_for_context (NULL);
  ThreadData data = { 0 };
  Pair pair;
  GThread *thread;

  pair_open (&pair);
  data.socket = pair.b;
  g_mutex_init (&data.lock);
  g_cond_init (&data.cond);
  thread = g_thread_new ("poller-test", thread_main, &data);
  g_mutex_lock (&data.lock);
  while (!data.watching)
    g_cond_wait (&data.cond, &data.lock);
  g_mutex_unlock (&data.lock);
  g_assert_true (data.poller != main_poller);

  /* The default context never sees the other context's socket. */
  send_byte (pair.a);
  settle (NULL);
  g_thread_join (thread);
  g_assert_cmpuint (data.record.calls, ==, 1);
  g_assert_true (data.record.thread == thread);
  g_assert_cmpuint (cv_poller_get_n_pollers (), ==, 1);

  g_mutex_clear (&data.lock);
  g_cond_clear (&data.cond);
  pair_close (&pair);
}

/* ---- lifetime ----------------------------------------------------------- */

static void
test_shared_and_freed (void)
{
  CvPoller *poller;
  CvPoller *again;
  CvPollerWatch *watch;
  Pair pair;
  Record record = { 0 };

  g_assert_cmpuint (cv_poller_get_n_pollers (), ==, 0);
  poller = cv_poller_get_for_context (NULL);
  again = cv_poller_get_for_context (g_main_context_default ());
  g_assert_true (poller == again);
  cv_poller_unref (again);
  g_assert_cmpuint (cv_poller_get_n_pollers (), ==, 1);

  /* A watch keeps its poller. */
  pair_open (&pair);
  watch = cv_poller_watch (poller, pair.b, G_IO_IN, on_ready, &record);
  cv_poller_unref (poller);
  g_assert_cmpuint (cv_poller_get_n_pollers (), ==, 1);
  cv_poller_watch_remove (watch);
  g_assert_cmpuint (cv_poller_get_n_pollers (), ==, 0);

  /* The last user may go inside a callback: the poller is freed during its own
   * dispatch (AddressSanitizer would see it used afterwards). */
  poller = cv_poller_get_for_context (NULL);
  record.remove_self = TRUE;
  record.watch = cv_poller_watch (poller, pair.b, G_IO_IN, on_ready, &record);
  g_clear_pointer (&poller, cv_poller_unref);
  send_byte (pair.a);
  run_until (NULL, &record.calls, 1);
  g_assert_cmpuint (cv_poller_get_n_pollers (), ==, 0);
  settle (NULL);

  /* And a new one comes up afresh. */
  poller = cv_poller_get_for_context (NULL);
  record.calls = 0;
  record.remove_self = FALSE;
  record.watch = cv_poller_watch (poller, pair.b, G_IO_IN, on_ready, &record);
  run_until (NULL, &record.calls, 1);
  cv_poller_watch_remove (record.watch);
  cv_poller_unref (poller);
  g_assert_cmpuint (cv_poller_get_n_pollers (), ==, 0);
  pair_close (&pair);
}

/* Out of descriptors when the poller is made: no epoll instance, so every watch gets
 * a source of its own, and a socket still reports readiness.  (In a subprocess: the
 * descriptor limit is lowered for good.) */
static void
test_no_epoll_instance (void)
{
  if (g_test_subprocess ())
    {
      g_autoptr (GMainContext) context = g_main_context_new ();
      struct rlimit limit;
      Record record = { 0 };
      Pair pair;
      CvPoller *poller;
      int probe;

      pair_open (&pair);
      /* The lowest free descriptor becomes the limit: nothing new can be opened. */
      probe = dup (0);
      g_assert_cmpint (probe, >=, 0);
      close (probe);
      g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &limit), ==, 0);
      limit.rlim_cur = probe;
      g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &limit), ==, 0);

      g_test_expect_message ("culvert-engine", G_LOG_LEVEL_WARNING,
                             "cannot make an epoll instance (Too many open files)*");
      poller = cv_poller_get_for_context (context);
      g_test_assert_expected_messages ();
      record.watch = cv_poller_watch (poller, pair.b, G_IO_IN, on_ready, &record);
      send_byte (pair.a);
      run_until (context, &record.calls, 1);
      g_assert_cmphex (record.last, ==, G_IO_IN);
      cv_poller_watch_remove (record.watch);
      cv_poller_unref (poller);
      pair_close (&pair);
      return;
    }
#if defined(__linux__) && !defined(CV_POLLER_FALLBACK_ONLY)
  g_test_trap_subprocess (NULL, 10 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
#else
  g_test_skip ("built without epoll: the fallback is all there is");
#endif
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/poller/shared-and-freed", test_shared_and_freed);
  g_test_add ("/poller/readable", Fixture, NULL, fixture_set_up, test_readable, fixture_tear_down);
  g_test_add ("/poller/writable", Fixture, NULL, fixture_set_up, test_writable, fixture_tear_down);
  g_test_add ("/poller/modify", Fixture, NULL, fixture_set_up, test_modify, fixture_tear_down);
  g_test_add ("/poller/hangup", Fixture, NULL, fixture_set_up, test_hangup, fixture_tear_down);
  g_test_add ("/poller/remove-self", Fixture, NULL, fixture_set_up, test_remove_self,
              fixture_tear_down);
  g_test_add_func ("/poller/remove-other-in-batch", test_remove_other_in_batch);
  g_test_add_func ("/poller/batch-end", test_batch_end);
  g_test_add_func ("/poller/many", test_many);
  g_test_add_func ("/poller/no-epoll-instance", test_no_epoll_instance);
  g_test_add_func ("/poller/thread-context", test_thread_context);
  return g_test_run ();
}
