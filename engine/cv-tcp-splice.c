/* cv-tcp-splice.c: join a TCP connection and a channel, both ways, until both are done.
 *
 * Back-pressure both ways: the socket is read only while the channel has credit to
 * take the bytes, and the channel's bytes are consumed (returning credit to the peer)
 * only as the socket accepts them.  A TCP half-close becomes FIN and FIN becomes a
 * half-close; a reset on either side becomes a reset on the other.  The socket is
 * non-blocking and watched through the context's CvPoller (one GSource for every
 * splice, not one per socket): no thread, no GTask per chunk.
 */
#include "cv-tcp-splice.h"

#include "cv-poller.h"
#include "cv-socket-util.h"

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
  CvSpliceStats stats;
} Splice;

static void pump (GTask *task);

static void
splice_free (gpointer data)
{
  Splice *splice = data;

  g_clear_object (&splice->connection);
  g_clear_object (&splice->channel);
  g_clear_pointer (&splice->context, g_main_context_unref);
  g_free (splice);
}

/* Close the socket; with @abort, by RST (linger 0), so the TCP peer sees the reset
 * the channel carried rather than a clean end of stream. */
static void
finish (GTask *task, gboolean abort, GError *error)
{
  Splice *splice = g_task_get_task_data (task);

  if (splice->finished)
    {
      g_clear_error (&error);
      return;
    }
  splice->finished = TRUE;
  /* Before the socket is closed, while its descriptor is still its own. */
  g_clear_pointer (&splice->watch, cv_poller_watch_remove);
  g_clear_signal_handler (&splice->readable_id, splice->channel);
  g_clear_signal_handler (&splice->writable_id, splice->channel);
  g_clear_signal_handler (&splice->closed_id, splice->channel);
  if (splice->cancelled_id != 0)
    {
      g_cancellable_disconnect (g_task_get_cancellable (task), splice->cancelled_id);
      splice->cancelled_id = 0;
    }

  if (abort)
    {
      g_debug ("channel %u: resetting its TCP connection: %s", cv_channel_get_id (splice->channel),
               error != NULL ? error->message : "no reason");
      cv_socket_close_with_reset (splice->socket);
    }
  else
    g_socket_close (splice->socket, NULL);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void
fail_tcp (GTask *task, GError *error)
{
  Splice *splice = g_task_get_task_data (task);

  /* Our own reset must not come back to us as the channel's "closed". */
  g_clear_signal_handler (&splice->closed_id, splice->channel);
  cv_channel_reset (splice->channel, cv_socket_error_is_reset (error)
                                       ? CV_CHANNEL_REASON_CONNECTION_RESET
                                       : CV_CHANNEL_REASON_INTERNAL);
  g_prefix_error (&error, "TCP connection: ");
  finish (task, TRUE, error);
}

static void
on_socket_ready (CvPollerWatch *watch, GIOCondition condition, gpointer user_data)
{
  GTask *task = user_data;
  Splice *splice = g_task_get_task_data (task);

  /* A hang-up or an error is for whichever call comes next to report. */
  if (condition & (G_IO_IN | G_IO_HUP | G_IO_ERR))
    splice->may_receive = TRUE;
  if (condition & (G_IO_OUT | G_IO_HUP | G_IO_ERR))
    splice->may_send = TRUE;
  /* pump() works out again what it waits for and narrows the watch to that. */
  pump (task);
}

/* Channel → TCP.  Returns FALSE if the splice finished. */
static gboolean
pump_to_tcp (GTask *task)
{
  Splice *splice = g_task_get_task_data (task);

  while (!splice->tcp_write_done)
    {
      g_autoptr (GError) error = NULL;
      gsize len;
      const guint8 *bytes = cv_channel_peek (splice->channel, &len);
      gssize sent;

      if (len == 0)
        {
          if (!cv_channel_is_eof (splice->channel))
            return TRUE;
          if (!g_socket_shutdown (splice->socket, FALSE, TRUE, &error))
            {
              fail_tcp (task, g_steal_pointer (&error));
              return FALSE;
            }
          splice->tcp_write_done = TRUE;
          return TRUE;
        }
      if (!splice->may_send)
        {
          splice->waiting |= G_IO_OUT;
          return TRUE;
        }
      sent = g_socket_send (splice->socket, (const char *) bytes, len, NULL, &error);
      if (sent < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              splice->may_send = FALSE;
              splice->waiting |= G_IO_OUT;
              return TRUE;
            }
          fail_tcp (task, g_steal_pointer (&error));
          return FALSE;
        }
      /* A short send filled the socket's buffer. */
      if ((gsize) sent < len)
        splice->may_send = FALSE;
      splice->stats.bytes_from_channel += sent;
      cv_channel_consume (splice->channel, sent);
      if (splice->finished)
        return FALSE;
    }
  return TRUE;
}

/* TCP → channel.  Returns FALSE if the splice finished. */
static gboolean
pump_to_channel (GTask *task)
{
  Splice *splice = g_task_get_task_data (task);
  guint8 buffer[READ_CHUNK];

  while (!splice->tcp_read_done)
    {
      g_autoptr (GError) error = NULL;
      gsize space = cv_channel_get_send_space (splice->channel);
      gsize wanted = MIN (space, sizeof buffer);
      gssize received;

      if (space == 0)
        return TRUE; /* "writable" resumes us */
      if (!splice->may_receive)
        {
          splice->waiting |= G_IO_IN;
          return TRUE;
        }
      received = g_socket_receive (splice->socket, (char *) buffer, wanted, NULL, &error);
      if (received < 0)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            {
              splice->may_receive = FALSE;
              splice->waiting |= G_IO_IN;
              return TRUE;
            }
          fail_tcp (task, g_steal_pointer (&error));
          return FALSE;
        }
      if (received == 0)
        {
          splice->tcp_read_done = TRUE;
          cv_channel_shutdown_write (splice->channel);
          return !splice->finished;
        }
      /* A short read emptied the socket. */
      if ((gsize) received < wanted)
        splice->may_receive = FALSE;
      splice->stats.bytes_to_channel += received;
      cv_channel_write (splice->channel, buffer, received);
      if (splice->finished)
        return FALSE;
      /* Yield to the main loop after one chunk so other channels get their turn; the
       * watch is level-triggered, so what is left in the socket brings us back. */
      splice->waiting |= G_IO_IN;
      return TRUE;
    }
  return TRUE;
}

static void
pump (GTask *task)
{
  Splice *splice = g_task_get_task_data (task);
  g_autoptr (GTask) hold G_GNUC_UNUSED = g_object_ref (task);

  if (splice->finished)
    return;
  /* Worked out afresh on every turn: a level-triggered watch left asking for input
   * while the channel has no credit would call back on every main-loop turn. */
  splice->waiting = 0;
  if (!pump_to_tcp (task) || !pump_to_channel (task) || splice->finished)
    return;
  if (splice->tcp_read_done && splice->tcp_write_done)
    {
      finish (task, FALSE, NULL);
      return;
    }
  cv_poller_watch_set_condition (splice->watch, splice->waiting);
}

static void
on_channel_event (CvChannel *channel, gpointer user_data)
{
  pump (user_data);
}

static void
on_channel_closed (CvChannel *channel, const GError *error, gpointer user_data)
{
  GTask *task = user_data;
  Splice *splice = g_task_get_task_data (task);

  if (error == NULL)
    {
      /* Both FINs crossed; bytes still buffered in the channel go out first. */
      pump (task);
      return;
    }
  if (!splice->finished)
    finish (task, TRUE, g_error_copy (error));
}

static void
on_cancelled (GCancellable *cancellable, gpointer user_data)
{
  GTask *task = user_data;
  Splice *splice = g_task_get_task_data (task);

  g_clear_signal_handler (&splice->closed_id, splice->channel);
  cv_channel_reset (splice->channel, CV_CHANNEL_REASON_CANCELLED);
  finish (task, TRUE, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "splice cancelled"));
}

static gboolean
start_in_idle (gpointer user_data)
{
  pump (user_data);
  return G_SOURCE_REMOVE;
}

/**
 * cv_tcp_splice_async:
 * @connection: a connected TCP (or Unix) socket; the splice closes it when done
 * @channel: an open channel (or an outgoing one still opening)
 *
 * Completes when both directions ended cleanly, or with the first error; a cancelled
 * splice resets the channel.  Runs on the thread-default main context.
 */
void
cv_tcp_splice_async (GSocketConnection *connection,
                     CvChannel *channel,
                     GCancellable *cancellable,
                     GAsyncReadyCallback callback,
                     gpointer user_data)
{
  GTask *task;
  Splice *splice;

  g_return_if_fail (G_IS_SOCKET_CONNECTION (connection));
  g_return_if_fail (CV_IS_CHANNEL (channel));

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, cv_tcp_splice_async);
  g_task_set_name (task, "[culvert] tcp splice");
  splice = g_new0 (Splice, 1);
  splice->connection = g_object_ref (connection);
  splice->socket = g_socket_connection_get_socket (connection);
  splice->channel = g_object_ref (channel);
  splice->context = g_main_context_ref_thread_default ();
  splice->may_receive = TRUE;
  splice->may_send = TRUE;
  g_task_set_task_data (task, splice, splice_free);

  cv_socket_prepare_for_pump (splice->socket);
  {
    g_autoptr (CvPoller) poller = cv_poller_get_for_context (splice->context);
    /* Waits for nothing until the first pump says what it needs. */
    splice->watch = cv_poller_watch (poller, splice->socket, 0, on_socket_ready, task);
  }

  /* The task's own reference is dropped by finish(). */
  splice->readable_id = g_signal_connect (channel, "readable", G_CALLBACK (on_channel_event), task);
  splice->writable_id = g_signal_connect (channel, "writable", G_CALLBACK (on_channel_event), task);
  splice->closed_id = g_signal_connect (channel, "closed", G_CALLBACK (on_channel_closed), task);
  if (cancellable != NULL)
    splice->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled), task, NULL);

  if (cv_channel_get_state (channel) == CV_CHANNEL_STATE_CLOSED)
    {
      const GError *why = cv_channel_get_error (channel);
      finish (task, TRUE, why != NULL ? g_error_copy (why)
                                      : g_error_new_literal (CV_CHANNEL_ERROR,
                                                             CV_CHANNEL_REASON_LINK_CLOSED,
                                                             "the channel is already closed"));
      return;
    }

  /* Never call back before returning. */
  {
    GSource *idle = g_idle_source_new ();
    g_source_set_callback (idle, start_in_idle, g_object_ref (task), g_object_unref);
    g_source_set_static_name (idle, "[culvert] tcp splice start");
    g_source_attach (idle, splice->context);
    g_source_unref (idle);
  }
}

gboolean
cv_tcp_splice_finish (GAsyncResult *result, CvSpliceStats *stats, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cv_tcp_splice_async, FALSE);

  if (stats != NULL)
    {
      Splice *splice = g_task_get_task_data (G_TASK (result));
      *stats = splice->stats;
    }
  return g_task_propagate_boolean (G_TASK (result), error);
}
