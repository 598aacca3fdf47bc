/* cv-acceptor.c: a GSocketListener that accepts on its own, and pauses rather than spins
 * when the process is out of file descriptors.
 *
 * GSocketService logs a warning for a failed accept and accepts again at once.  Out of
 * descriptors (EMFILE, ENFILE) or of socket buffers, the listening socket stays
 * readable and every accept fails the same way: the service spins on the CPU and
 * floods the log, while the gateway most needs both to close what it holds.  Here a
 * failed accept pauses accepting, 50 ms doubling to 1 s; the connections wait in the
 * kernel's backlog meanwhile and are taken once descriptors are free.  The first
 * failure of a run and the recovery are logged, once each.
 *
 * "incoming" is emitted on the main context that was thread-default at
 * cv_acceptor_start(). */
#include "base/cv-acceptor.h"

#include "base/cv-source.h"

struct _CvAcceptor {
  GSocketListener parent_instance;

  GMainContext *context;
  GCancellable *cancellable; /* the accept under way; NULL while stopped */
  GSource *pause;
  guint pause_ms; /* the next pause; 0 while accepts succeed */
  guint n_failures;
  guint n_failures_in_run;
};

enum {
  SIGNAL_INCOMING,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (CvAcceptor, cv_acceptor, G_TYPE_SOCKET_LISTENER)

static void accept_next (CvAcceptor *self);

static void
cv_acceptor_dispose (GObject *object)
{
  cv_acceptor_stop (CV_ACCEPTOR (object));
  G_OBJECT_CLASS (cv_acceptor_parent_class)->dispose (object);
}

static void
cv_acceptor_finalize (GObject *object)
{
  g_clear_pointer (&CV_ACCEPTOR (object)->context, g_main_context_unref);
  G_OBJECT_CLASS (cv_acceptor_parent_class)->finalize (object);
}

static void
cv_acceptor_class_init (CvAcceptorClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = cv_acceptor_dispose;
  G_OBJECT_CLASS (klass)->finalize = cv_acceptor_finalize;

  /**
   * CvAcceptor::incoming:
   * @connection: the accepted connection; keep a reference to keep it open
   */
  signals[SIGNAL_INCOMING] = g_signal_new ("incoming", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 1,
                                           G_TYPE_SOCKET_CONNECTION);
}

static void
cv_acceptor_init (CvAcceptor *self)
{
}

CvAcceptor *
cv_acceptor_new (void)
{
  return g_object_new (CV_TYPE_ACCEPTOR, NULL);
}

static gboolean
on_pause_over (gpointer user_data)
{
  CvAcceptor *self = user_data;

  g_clear_pointer (&self->pause, g_source_unref);
  accept_next (self);
  return G_SOURCE_REMOVE;
}

/* Errors that the next accept would meet again at once: wait for resources. */
static gboolean
is_exhaustion (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_OPEN_FILES)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
}

static void
pause_accepting (CvAcceptor *self, const GError *error)
{
  self->n_failures++;
  if (self->n_failures_in_run++ == 0)
    g_message ("cannot accept connections: %s; pausing, from %u ms up to %u ms at a time, "
               "until it passes",
               error->message, CV_ACCEPTOR_FIRST_PAUSE_MS, CV_ACCEPTOR_MAX_PAUSE_MS);
  self->pause_ms = self->pause_ms == 0 ? CV_ACCEPTOR_FIRST_PAUSE_MS
                                       : MIN (self->pause_ms * 2, CV_ACCEPTOR_MAX_PAUSE_MS);
  self->pause = g_timeout_source_new (self->pause_ms);
  g_source_set_callback (self->pause, on_pause_over, self, NULL);
  g_source_set_static_name (self->pause, "[culvert] accept pause");
  g_source_attach (self->pause, self->context);
}

static void
on_accepted (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CvAcceptor) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) connection =
    g_socket_listener_accept_finish (G_SOCKET_LISTENER (source), result, NULL, &error);

  if (self->cancellable == NULL || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* stopped */
  if (connection == NULL && is_exhaustion (error))
    {
      pause_accepting (self, error);
      return;
    }
  if (connection == NULL)
    g_debug ("accept: %s", error->message); /* one connection's problem (ECONNABORTED) */
  else
    {
      if (self->n_failures_in_run > 0)
        g_message ("accepting connections again, after %u failed tries", self->n_failures_in_run);
      self->n_failures_in_run = 0;
      self->pause_ms = 0;
      g_signal_emit (self, signals[SIGNAL_INCOMING], 0, connection);
    }
  if (self->cancellable != NULL)
    accept_next (self);
}

static void
accept_next (CvAcceptor *self)
{
  g_autoptr (GMainContextPusher) pusher = g_main_context_pusher_new (self->context);

  g_socket_listener_accept_async (G_SOCKET_LISTENER (self), self->cancellable, on_accepted,
                                  g_object_ref (self));
}

/* Accepts from every socket added, one connection at a time, until stopped.  The
 * accept under way holds a reference: stop the acceptor before dropping yours. */
void
cv_acceptor_start (CvAcceptor *self)
{
  g_return_if_fail (CV_IS_ACCEPTOR (self));
  g_return_if_fail (self->cancellable == NULL);

  g_clear_pointer (&self->context, g_main_context_unref);
  self->context = g_main_context_ref_thread_default ();
  self->cancellable = g_cancellable_new ();
  accept_next (self);
}

/* Idempotent; the sockets stay open until g_socket_listener_close(). */
void
cv_acceptor_stop (CvAcceptor *self)
{
  g_return_if_fail (CV_IS_ACCEPTOR (self));

  cv_source_clear (&self->pause);
  if (self->cancellable != NULL)
    {
      g_cancellable_cancel (self->cancellable);
      g_clear_object (&self->cancellable);
    }
}

/* Accepts that failed for want of resources, since the start. */
guint
cv_acceptor_get_n_failures (CvAcceptor *self)
{
  return self->n_failures;
}
