/* cv-poller.c: many sockets watched through one GSource per main context.
 *
 * A GSource per socket costs every main-loop turn a prepare, a check and a pollfd for
 * each socket, ready or not: with 1,000 tunnelled connections an agent spent most of
 * its CPU in poll() and g_main_context_check() (tests/bench/CHAINS.md).  Here every
 * socket of a context is registered with one epoll instance, whose descriptor is the
 * only thing the main loop polls; a turn then costs O(ready sockets).  GLib has no such
 * source of its own (GSocket and GUnixFDSource are one fd per source), so it is written
 * by hand.
 *
 * Watches are level-triggered, registered only while their condition is not empty.
 * Not edge-triggered: a channel pump reads one chunk and then yields for fairness, leaving
 * bytes in the socket, and no new edge would ever report them.  Not EPOLLONESHOT: that
 * costs an epoll_ctl() to re-arm after every event, where level-triggered costs one
 * only when the set of wanted directions changes.  A watch with an empty condition is
 * taken out of the set, since epoll reports EPOLLHUP and EPOLLERR even to an empty
 * mask and a hung-up socket nobody reads would fire forever.
 *
 * Without epoll (Windows, the BSDs), or when no epoll instance could be made (out of
 * descriptors), each watch falls back to a GSocket source of its own, behind the same
 * API: slower with many sockets, never wrong.
 *
 * A poller and its watches belong to the thread that runs the poller's context.
 */
#include "base/cv-poller.h"

#include "base/cv-source.h"

#ifdef HAVE_EPOLL
#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

/* Events taken per dispatch.  More stay in the epoll set, which stays readable, so the
 * next turn takes them after the context's other sources had theirs. */
#define MAX_EVENTS 64
#endif

struct _CvPoller {
  gint ref_count; /* drops to zero only under registry_lock */
  GMainContext *context;
  guint n_watches;
#ifdef HAVE_EPOLL
  int epoll_fd;
  GSource *source;
  guint dispatch_depth;
  GPtrArray *removed;      /* watches removed during a dispatch: freed after it */
  GArray *at_batch_end;    /* BatchCall: what asked to run once this batch is done */
  gboolean running_at_end; /* ... and those are running now */
#endif
};

struct _CvPollerWatch {
  CvPoller *poller; /* a reference: a watch keeps its poller alive */
  GSocket *socket;
  GIOCondition condition;
  CvPollerFunc func;
  gpointer user_data;
  gboolean removed;
#ifdef HAVE_EPOLL
  gboolean registered; /* in the epoll set, which it is while condition != 0 */
#endif
  GSource *source; /* without epoll: this watch's own source, while condition != 0 */
};

/* GMainContext → CvPoller, so that everything on one context shares one poller. */
static GMutex registry_lock;
static GHashTable *registry;

#define REPORTED_ALWAYS (G_IO_HUP | G_IO_ERR)

/* ---- fallback: a GSocket source per watch ---------------------------------- */

static gboolean
on_socket_ready (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  CvPollerWatch *watch = user_data;

  /* The callback may free @watch: nothing may touch it afterwards. */
  watch->func (watch, condition & (watch->condition | REPORTED_ALWAYS), watch->user_data);
  return G_SOURCE_CONTINUE;
}

static void
fallback_apply_condition (CvPollerWatch *watch, GIOCondition condition)
{
  cv_source_clear (&watch->source);
  if (condition == 0)
    return;
  watch->source = g_socket_create_source (watch->socket, condition, NULL);
  g_source_set_callback (watch->source, G_SOURCE_FUNC (on_socket_ready), watch, NULL);
  cv_source_attach_io (watch->source, "[culvert] poller watch", watch->poller->context);
}

static void
watch_free (CvPollerWatch *watch)
{
  g_object_unref (watch->socket);
  cv_poller_unref (watch->poller);
  g_free (watch);
}

#ifdef HAVE_EPOLL

typedef struct {
  CvPollerBatchFunc func;
  gpointer user_data;
  GDestroyNotify notify;
} BatchCall;

/* The poller whose batch this thread is dispatching, for cv_poller_call_at_batch_end(). */
static GPrivate dispatching;

typedef struct {
  GSource source;
  CvPoller *poller; /* not a reference: the poller destroys the source before it goes */
} PollerSource;

static guint32
condition_to_epoll (GIOCondition condition)
{
  guint32 events = 0;

  if (condition & G_IO_IN)
    events |= EPOLLIN;
  if (condition & G_IO_OUT)
    events |= EPOLLOUT;
  if (condition & G_IO_PRI)
    events |= EPOLLPRI;
  return events;
}

static GIOCondition
epoll_to_condition (guint32 events)
{
  GIOCondition condition = 0;

  if (events & EPOLLIN)
    condition |= G_IO_IN;
  if (events & EPOLLOUT)
    condition |= G_IO_OUT;
  if (events & EPOLLPRI)
    condition |= G_IO_PRI;
  if (events & EPOLLHUP)
    condition |= G_IO_HUP;
  if (events & EPOLLERR)
    condition |= G_IO_ERR;
  return condition;
}

/* Once per batch, not per event: a mux asks here to write what the batch's pumps gave
 * it, so that it goes out in this main-loop iteration, all of it in one write, rather
 * than in the next one after another poll().  What the calls themselves ask for runs
 * in the next iteration (cv_poller_call_at_batch_end() says no meanwhile), so that a
 * flush that lets a pump read more cannot keep this dispatch from ever ending. */
static void
run_at_batch_end (CvPoller *self)
{
  if (self->at_batch_end->len == 0)
    return;
  self->running_at_end = TRUE;
  for (guint i = 0; i < self->at_batch_end->len; i++)
    {
      BatchCall *call = &g_array_index (self->at_batch_end, BatchCall, i);

      call->func (call->user_data);
      if (call->notify != NULL)
        call->notify (call->user_data);
    }
  g_array_set_size (self->at_batch_end, 0);
  self->running_at_end = FALSE;
}

static gboolean
poller_source_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  CvPoller *self = ((PollerSource *) source)->poller;
  struct epoll_event events[MAX_EVENTS];
  CvPoller *outer;
  int n;

  n = epoll_wait (self->epoll_fd, events, G_N_ELEMENTS (events), 0);
  if (n < 0)
    {
      if (errno != EINTR)
        g_warning ("epoll_wait: %s", g_strerror (errno));
      return G_SOURCE_CONTINUE;
    }

  /* A callback may drop the last reference to the poller and remove any watch: the
   * poller stays until the batch is done, and so does every removed watch (in
   * self->removed), so that a later event of this batch never points to freed memory. */
  cv_poller_ref (self);
  self->dispatch_depth++;
  outer = g_private_get (&dispatching);
  g_private_set (&dispatching, self);
  for (int i = 0; i < n; i++)
    {
      CvPollerWatch *watch = events[i].data.ptr;
      GIOCondition ready;

      if (watch->removed || watch->condition == 0)
        continue;
      /* An earlier callback of this batch may have narrowed the condition. */
      ready = epoll_to_condition (events[i].events) & (watch->condition | REPORTED_ALWAYS);
      if (ready != 0)
        watch->func (watch, ready, watch->user_data);
    }
  run_at_batch_end (self);
  if (--self->dispatch_depth == 0 && self->removed->len > 0)
    g_ptr_array_set_size (self->removed, 0);
  g_private_set (&dispatching, outer);
  cv_poller_unref (self);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs poller_source_funcs = {
  .dispatch = poller_source_dispatch,
};

static void
poller_init (CvPoller *self)
{
  PollerSource *source;

  self->removed = g_ptr_array_new_with_free_func ((GDestroyNotify) watch_free);
  self->at_batch_end = g_array_new (FALSE, FALSE, sizeof (BatchCall));
  self->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  if (self->epoll_fd < 0)
    {
      g_warning ("cannot make an epoll instance (%s): sockets are watched one source each",
                 g_strerror (errno));
      return;
    }

  source = (PollerSource *) g_source_new (&poller_source_funcs, sizeof (PollerSource));
  source->poller = self;
  g_source_add_unix_fd (&source->source, self->epoll_fd, G_IO_IN);
  cv_source_attach_io (&source->source, "[culvert] poller", self->context);
  self->source = &source->source;
}

static void
poller_clear (CvPoller *self)
{
  cv_source_clear (&self->source);
  g_clear_pointer (&self->removed, g_ptr_array_unref);
  /* Empty: a batch runs its calls before it ends, and the poller outlives its batch. */
  g_clear_pointer (&self->at_batch_end, g_array_unref);
  if (self->epoll_fd >= 0)
    close (self->epoll_fd);
}

static void
watch_apply_condition (CvPollerWatch *watch, GIOCondition condition)
{
  struct epoll_event event = { .events = condition_to_epoll (condition), .data.ptr = watch };
  int fd = g_socket_get_fd (watch->socket);
  int op;

  if (watch->poller->epoll_fd < 0)
    {
      fallback_apply_condition (watch, condition);
      return;
    }
  if (condition == 0)
    {
      if (!watch->registered)
        return;
      watch->registered = FALSE;
      /* Closing the socket took it out of the set already, and its number may now be
       * another socket's: leave that one alone. */
      if (g_socket_is_closed (watch->socket))
        return;
      op = EPOLL_CTL_DEL;
    }
  else
    op = watch->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;

  if (epoll_ctl (watch->poller->epoll_fd, op, fd, &event) < 0)
    {
      if (op != EPOLL_CTL_DEL)
        g_warning ("cannot watch socket %d: epoll_ctl: %s", fd, g_strerror (errno));
      return;
    }
  if (op == EPOLL_CTL_ADD)
    watch->registered = TRUE;
}

static void
watch_release (CvPollerWatch *watch)
{
  CvPoller *poller = watch->poller;

  /* A fallback source is destroyed: GLib never calls back with it again. */
  if (poller->dispatch_depth > 0 && poller->epoll_fd >= 0)
    g_ptr_array_add (poller->removed, watch);
  else
    watch_free (watch);
}

#else /* !HAVE_EPOLL: a GSocket source per watch */

static void
poller_init (CvPoller *self)
{
}

static void
poller_clear (CvPoller *self)
{
}

static void
watch_apply_condition (CvPollerWatch *watch, GIOCondition condition)
{
  fallback_apply_condition (watch, condition);
}

static void
watch_release (CvPollerWatch *watch)
{
  /* The source is destroyed: GLib never calls back with this watch again. */
  watch_free (watch);
}

#endif

/**
 * cv_poller_get_for_context:
 * @context: (nullable): a main context; %NULL for the global default one
 *
 * The poller of @context, made and attached on first use.  Every caller on one context
 * shares it; it goes when the last reference and the last watch are gone.
 *
 * Returns: (transfer full): the poller
 */
CvPoller *
cv_poller_get_for_context (GMainContext *context)
{
  CvPoller *self;

  if (context == NULL)
    context = g_main_context_default ();

  g_mutex_lock (&registry_lock);
  if (registry == NULL)
    registry = g_hash_table_new (NULL, NULL);
  self = g_hash_table_lookup (registry, context);
  if (self != NULL)
    g_atomic_int_inc (&self->ref_count);
  else
    {
      self = g_new0 (CvPoller, 1);
      self->ref_count = 1;
      self->context = g_main_context_ref (context);
      poller_init (self);
      g_hash_table_insert (registry, context, self);
    }
  g_mutex_unlock (&registry_lock);
  return self;
}

CvPoller *
cv_poller_ref (CvPoller *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
cv_poller_unref (CvPoller *self)
{
  gboolean last;

  g_return_if_fail (self != NULL);

  /* Under the lock, so that cv_poller_get_for_context() never revives a poller that is
   * on its way out. */
  g_mutex_lock (&registry_lock);
  last = g_atomic_int_dec_and_test (&self->ref_count);
  if (last)
    g_hash_table_remove (registry, self->context);
  g_mutex_unlock (&registry_lock);
  if (!last)
    return;

  g_assert (self->n_watches == 0);
  poller_clear (self);
  g_main_context_unref (self->context);
  g_free (self);
}

/**
 * cv_poller_watch:
 * @socket: a non-blocking socket; remove the watch before closing it
 * @condition: what to wait for (%G_IO_IN, %G_IO_OUT); 0 to wait for nothing yet
 * @func: called, on the poller's context, while the socket is ready
 *
 * Returns: (transfer full): the watch, until cv_poller_watch_remove()
 */
CvPollerWatch *
cv_poller_watch (CvPoller *self,
                 GSocket *socket,
                 GIOCondition condition,
                 CvPollerFunc func,
                 gpointer user_data)
{
  CvPollerWatch *watch;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (G_IS_SOCKET (socket), NULL);
  g_return_val_if_fail (func != NULL, NULL);

  watch = g_new0 (CvPollerWatch, 1);
  watch->poller = cv_poller_ref (self);
  watch->socket = g_object_ref (socket);
  watch->func = func;
  watch->user_data = user_data;
  self->n_watches++;
  cv_poller_watch_set_condition (watch, condition);
  return watch;
}

/**
 * cv_poller_watch_set_condition:
 *
 * Costs a system call only when @condition differs from the current one, so a pump may
 * call it after every turn with whatever it waits for now.
 */
void
cv_poller_watch_set_condition (CvPollerWatch *watch, GIOCondition condition)
{
  g_return_if_fail (watch != NULL && !watch->removed);

  condition &= G_IO_IN | G_IO_OUT | G_IO_PRI;
  if (condition == watch->condition)
    return;
  watch_apply_condition (watch, condition);
  watch->condition = condition;
}

GIOCondition
cv_poller_watch_get_condition (CvPollerWatch *watch)
{
  g_return_val_if_fail (watch != NULL, 0);

  return watch->condition;
}

/**
 * cv_poller_watch_remove:
 *
 * The watch's callback is not called again, even for an event already taken from the
 * kernel in the batch being dispatched; @watch is invalid afterwards.
 */
void
cv_poller_watch_remove (CvPollerWatch *watch)
{
  g_return_if_fail (watch != NULL && !watch->removed);

  watch_apply_condition (watch, 0);
  watch->condition = 0;
  watch->removed = TRUE;
  watch->poller->n_watches--;
  watch_release (watch);
}

/**
 * cv_poller_call_at_batch_end:
 * @context: the main context the caller runs on
 * @func: called once, when the poller of @context has dispatched its current batch
 * @notify: (nullable): called with @user_data after @func, or at once if this fails
 *
 * For work that events of one batch pile up and that is best done once for all of
 * them, before the main loop polls again.
 *
 * Returns: %FALSE (and @func is not called) when no batch of @context's poller is
 * being dispatched on this thread: the caller then schedules the work its own way
 */
gboolean
cv_poller_call_at_batch_end (GMainContext *context,
                             CvPollerBatchFunc func,
                             gpointer user_data,
                             GDestroyNotify notify)
{
#ifdef HAVE_EPOLL
  CvPoller *self = g_private_get (&dispatching);
  BatchCall call = { func, user_data, notify };

  g_return_val_if_fail (func != NULL, FALSE);

  if (context == NULL)
    context = g_main_context_default ();
  if (self != NULL && self->context == context && !self->running_at_end)
    {
      g_array_append_val (self->at_batch_end, call);
      return TRUE;
    }
#endif
  if (notify != NULL)
    notify (user_data);
  return FALSE;
}

guint
cv_poller_get_n_pollers (void)
{
  guint n;

  g_mutex_lock (&registry_lock);
  n = registry != NULL ? g_hash_table_size (registry) : 0;
  g_mutex_unlock (&registry_lock);
  return n;
}

guint
cv_poller_get_n_watches (CvPoller *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->n_watches;
}
