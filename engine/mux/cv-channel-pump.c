/* cv-channel-pump.c: join a TCP connection and a channel, both ways, until both are done.
 *
 * Back-pressure both ways: the socket is read only while the channel has credit to
 * take the bytes, and the channel's bytes are consumed (returning credit to the peer)
 * only as the socket accepts them.  A TCP half-close becomes FIN and FIN becomes a
 * half-close; a reset on either side becomes a reset on the other.  The socket is
 * non-blocking and watched through the context's CvPoller (one GSource for every
 * pump, not one per socket): no thread, no GTask per chunk.
 */
#include "mux/cv-channel-pump.h"

#include "base/cv-poller.h"
#include "base/cv-socket-util.h"
#include "base/cv-trace.h"

#define READ_CHUNK (64 * 1024)

typedef struct {
  GSocketConnection *connection;
  GSocket *socket;
  CvChannel *channel;
  GMainContext *context;
  CvPollerWatch *watch;
  GIOCondition waiting; /* what the socket must become before the pump can go on */
  /* FALSE once the socket said it had nothing more (a short read, EAGAIN): the next
   * receive waits for the poller rather than make a system call that would only say
   * EAGAIN again, as it did once per echo.  Likewise for sending. */
  gboolean may_receive;
  gboolean may_send;
  gulong readable_id;
  gulong writable_id;
  gulong closed_id;
  gulong cancelled_id;
  gboolean tcp_read_done;  /* the TCP peer half-closed: FIN sent into the channel */
  gboolean tcp_write_done; /* the channel's FIN was passed on as a TCP half-close */
  gboolean finished;
  CvPumpStats stats;
} Pump;

static void run_pump (GTask *task);

static void
pump_free (gpointer data)
{
  Pump *pump = data;

  g_clear_object (&pump->connection);
  g_clear_object (&pump->channel);
  g_clear_pointer (&pump->context, g_main_context_unref);
  g_free (pump);
}

/* Close the socket; with @abort, by RST (linger 0), so the TCP peer sees the reset
 * the channel carried rather than a clean end of stream. */
static void
finish (GTask *task, gboolean abort, GError *error)
{
  Pump *pump = g_task_get_task_data (task);

  if (pump->finished)
    {
      g_clear_error (&error);
      return;
    }
  pump->finished = TRUE;
  /* Before the socket is closed, while its descriptor is still its own. */
  g_clear_pointer (&pump->watch, cv_poller_watch_remove);
  g_clear_signal_handler (&pump->readable_id, pump->channel);
  g_clear_signal_handler (&pump->writable_id, pump->channel);
  g_clear_signal_handler (&pump->closed_id, pump->channel);
  if (pump->cancelled_id != 0)
    {
      g_cancellable_disconnect (g_task_get_cancellable (task), pump->cancelled_id);
      pump->cancelled_id = 0;
    }

  if (abort)
    {
      CV_TRACE (pump->channel, "resetting its TCP connection: %s",
                error != NULL ? error->message : "no reason");
      cv_socket_close_with_reset (pump->socket);
    }
  else
    g_socket_close (pump->socket, NULL);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
fail_tcp (GTask *task, GError *error)
{
  Pump *pump = g_task_get_task_data (task);

  /* Our own reset must not come back to us as the channel's "closed". */
  g_clear_signal_handler (&pump->closed_id, pump->channel);
  cv_channel_reset (pump->channel, cv_socket_error_is_reset (error)
                                     ? CV_CHANNEL_REASON_CONNECTION_RESET
                                     : CV_CHANNEL_REASON_INTERNAL);
  g_prefix_error (&error, "TCP connection: ");
  finish (task, TRUE, error);
}

static void
on_socket_ready (CvPollerWatch *watch, GIOCondition condition, gpointer user_data)
{
  GTask *task = user_data;
  Pump *pump = g_task_get_task_data (task);

  /* A hang-up or an error is for whichever call comes next to report. */
  if (condition & (G_IO_IN | G_IO_HUP | G_IO_ERR))
    pump->may_receive = TRUE;
  if (condition & (G_IO_OUT | G_IO_HUP | G_IO_ERR))
    pump->may_send = TRUE;
  /* run_pump() works out again what it waits for and narrows the watch to that. */
  run_pump (task);
}

/* Channel → TCP.  Returns FALSE if the pump finished. */
static gboolean
pump_to_tcp (GTask *task)
{
  Pump *pump = g_task_get_task_data (task);

  while (!pump->tcp_write_done)
    {
      g_autoptr (GError) error = NULL;
      /* Several chunks per send: the mux hands a wake-up's worth of records over at
       * once (up to its 1 MiB read budget), which is up to 16 chunks of 64 KiB. */
      GOutputVector vectors[16];
      guint n = cv_channel_peek_vectors (pump->channel, vectors, G_N_ELEMENTS (vectors));
      gsize len = 0;
      gssize sent;

      for (guint i = 0; i < n; i++)
        len += vectors[i].size;
      if (len == 0)
        {
          if (!cv_channel_is_eof (pump->channel))
            return TRUE;
          if (!g_socket_shutdown (pump->socket, FALSE, TRUE, &error))
            {
              fail_tcp (task, g_steal_pointer (&error));
              return FALSE;
            }
          pump->tcp_write_done = TRUE;
          return TRUE;
        }
      if (!pump->may_send)
        {
          pump->waiting |= G_IO_OUT;
          return TRUE;
        }
      sent = g_socket_send_message (pump->socket, NULL, vectors, n, NULL, 0, 0, NULL, &error);
      if (sent < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              pump->may_send = FALSE;
              pump->waiting |= G_IO_OUT;
              return TRUE;
            }
          fail_tcp (task, g_steal_pointer (&error));
          return FALSE;
        }
      /* A short send filled the socket's buffer. */
      if ((gsize) sent < len)
        pump->may_send = FALSE;
      pump->stats.bytes_from_channel += sent;
      cv_channel_consume (pump->channel, sent);
      if (pump->finished)
        return FALSE;
    }
  return TRUE;
}

/* TCP → channel.  Returns FALSE if the pump finished. */
static gboolean
pump_to_channel (GTask *task)
{
  Pump *pump = g_task_get_task_data (task);
  guint8 buffer[READ_CHUNK];

  while (!pump->tcp_read_done)
    {
      g_autoptr (GError) error = NULL;
      gsize space = cv_channel_get_send_space (pump->channel);
      gsize wanted = MIN (space, sizeof buffer);
      gssize received;

      if (space == 0)
        return TRUE; /* "writable" resumes us */
      if (!pump->may_receive)
        {
          pump->waiting |= G_IO_IN;
          return TRUE;
        }
      received = g_socket_receive (pump->socket, (char *) buffer, wanted, NULL, &error);
      if (received < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              pump->may_receive = FALSE;
              pump->waiting |= G_IO_IN;
              return TRUE;
            }
          fail_tcp (task, g_steal_pointer (&error));
          return FALSE;
        }
      if (received == 0)
        {
          pump->tcp_read_done = TRUE;
          cv_channel_shutdown_write (pump->channel);
          return !pump->finished;
        }
      /* A short read emptied the socket. */
      if ((gsize) received < wanted)
        pump->may_receive = FALSE;
      pump->stats.bytes_to_channel += received;
      cv_channel_write (pump->channel, buffer, received);
      if (pump->finished)
        return FALSE;
      /* Yield to the main loop after one chunk so other channels get their turn; the
       * watch is level-triggered, so what is left in the socket brings us back. */
      pump->waiting |= G_IO_IN;
      return TRUE;
    }
  return TRUE;
}

static void
run_pump (GTask *task)
{
  Pump *pump = g_task_get_task_data (task);
  g_autoptr (GTask) hold G_GNUC_UNUSED = g_object_ref (task);

  if (pump->finished)
    return;
  /* Worked out afresh on every turn: a level-triggered watch left asking for input
   * while the channel has no credit would call back on every main-loop turn. */
  pump->waiting = 0;
  if (!pump_to_tcp (task) || !pump_to_channel (task) || pump->finished)
    return;
  if (pump->tcp_read_done && pump->tcp_write_done)
    {
      finish (task, FALSE, NULL);
      return;
    }
  cv_poller_watch_set_condition (pump->watch, pump->waiting);
}

static void
on_channel_event (CvChannel *channel, gpointer user_data)
{
  run_pump (user_data);
}

static void
on_channel_closed (CvChannel *channel, const GError *error, gpointer user_data)
{
  GTask *task = user_data;
  Pump *pump = g_task_get_task_data (task);

  if (error == NULL)
    {
      /* Both FINs crossed; bytes still buffered in the channel go out first. */
      run_pump (task);
      return;
    }
  if (!pump->finished)
    finish (task, TRUE, g_error_copy (error));
}

static void
on_cancelled (GCancellable *cancellable, gpointer user_data)
{
  GTask *task = user_data;
  Pump *pump = g_task_get_task_data (task);

  /* This runs inside the cancellable's emission, where g_cancellable_disconnect () (in
   * finish ()) would wait for this very handler to return: a deadlock.  A plain signal
   * disconnect is safe here, and leaves finish () nothing to disconnect. */
  g_clear_signal_handler (&pump->cancelled_id, cancellable);
  g_clear_signal_handler (&pump->closed_id, pump->channel);
  cv_channel_reset (pump->channel, CV_CHANNEL_REASON_CANCELLED);
  finish (task, TRUE, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "pump cancelled"));
}

static gboolean
start_in_idle (gpointer user_data)
{
  run_pump (user_data);
  return G_SOURCE_REMOVE;
}

/**
 * cv_channel_pump_async:
 * @connection: a connected TCP (or Unix) socket; the pump closes it when done
 * @channel: an open channel (or an outgoing one still opening)
 *
 * Completes when both directions ended cleanly, or with the first error; a cancelled
 * pump resets the channel.  Runs on the thread-default main context.
 */
void
cv_channel_pump_async (GSocketConnection *connection,
                       CvChannel *channel,
                       GCancellable *cancellable,
                       GAsyncReadyCallback callback,
                       gpointer user_data)
{
  GTask *task;
  Pump *pump;

  g_return_if_fail (G_IS_SOCKET_CONNECTION (connection));
  g_return_if_fail (CV_IS_CHANNEL (channel));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, cv_channel_pump_async);
  g_task_set_name (task, "[culvert] tcp pump");
  pump = g_new0 (Pump, 1);
  pump->connection = g_object_ref (connection);
  pump->socket = g_socket_connection_get_socket (connection);
  pump->channel = g_object_ref (channel);
  pump->context = g_main_context_ref_thread_default ();
  pump->may_receive = TRUE;
  pump->may_send = TRUE;
  g_task_set_task_data (task, pump, pump_free);

  cv_socket_prepare_for_pump (pump->socket);
  {
    g_autoptr (CvPoller) poller = cv_poller_get_for_context (pump->context);
    /* Waits for nothing until the first pump says what it needs. */
    pump->watch = cv_poller_watch (poller, pump->socket, 0, on_socket_ready, task);
  }

  /* The task's own reference is dropped by finish(). */
  pump->readable_id = g_signal_connect (channel, "readable", G_CALLBACK (on_channel_event), task);
  pump->writable_id = g_signal_connect (channel, "writable", G_CALLBACK (on_channel_event), task);
  pump->closed_id = g_signal_connect (channel, "closed", G_CALLBACK (on_channel_closed), task);
  if (cancellable != NULL)
    pump->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled), task, NULL);

  if (cv_channel_get_state (channel) == CV_CHANNEL_STATE_CLOSED)
    {
      const GError *why = cv_channel_get_error (channel);
      finish (task, TRUE,
              why != NULL ? g_error_copy (why)
                          : g_error_new_literal (CV_CHANNEL_ERROR, CV_CHANNEL_REASON_CARRIER_CLOSED,
                                                 "the channel is already closed"));
      return;
    }

  /* Never call back before returning. */
  {
    GSource *idle = g_idle_source_new ();
    g_source_set_callback (idle, start_in_idle, g_object_ref (task), g_object_unref);
    g_source_set_static_name (idle, "[culvert] tcp pump start");
    g_source_attach (idle, pump->context);
    g_source_unref (idle);
  }
}

gboolean
cv_channel_pump_finish (GAsyncResult *result, CvPumpStats *stats, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cv_channel_pump_async, FALSE);

  if (stats != NULL)
    {
      Pump *pump = g_task_get_task_data (G_TASK (result));
      *stats = pump->stats;
    }
  return g_task_propagate_boolean (G_TASK (result), error);
}
