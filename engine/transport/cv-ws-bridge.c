/* cv-ws-bridge.c: an upgraded WebSocket stream as one end of a local socket pair.
 *
 * Two directions, each a small state machine that reads only when what it read before
 * has been written, so a bridge never holds more than one buffer a direction:
 *
 *   peer → inner: read a gulp of the outer stream, parse the frames in it in place,
 *   unmask their payloads in place and write all of them to the inner socket with one
 *   writev; control frames are acted on (ping → pong, close → echo) as they go by.
 *   inner → peer: read what the inner socket has (up to a message's worth) behind
 *   room for a header, mask it in place (client), write header and payload as one
 *   write: one socket read is one binary message.
 *
 * The writer to the peer does one write at a time, control frames (close, pong, ping)
 * before the next data frame.  While the peer does not read, the data frame waits, the
 * inner socket is not read, and its writer blocks; while the inner end does not read,
 * the outer stream is not read and TCP pushes back on the peer.
 *
 * Reads are non-blocking: a direction tries to read, and only when nothing is there
 * does it wait for the stream to become readable, holding no buffer meanwhile, so an
 * idle bridge holds none (after a bulk transfer too).  A buffer is 4 KiB while a
 * direction carries little and 256 KiB once a read fills one, so bulk transfers run
 * in big gulps.  (An outer stream that cannot be polled is read with
 * g_input_stream_read_async() into a buffer held while it waits.)  A direction reads
 * at most TURN_READS times before it lets the main loop run, so that a flood of small
 * frames cannot starve the other connections on the thread.
 *
 * Every pending read, write, wait and close holds a reference; when both directions
 * have ended and both ends are closed, the last one frees the bridge.  Every wait in
 * the ending is bounded by CLOSE_LINGER_MS.
 */
#include "transport/cv-ws-bridge-private.h"

#include "base/cv-socket-pair.h"
#include "base/cv-socket-util.h"

#include <sodium.h>
#include <string.h>

static gint running_bridges;
/* Bytes of the buffers all bridges hold, for cv_ws_bridge_count_buffer_bytes(). */
static gsize buffer_bytes;

void
cv_ws_bridge_options_init (CvWsBridgeOptions *options)
{
  memset (options, 0, sizeof *options);
  options->max_message_bytes = CV_WS_DEFAULT_MAX_MESSAGE;
  options->ping_interval_ms = CV_WS_DEFAULT_PING_INTERVAL_MS;
  options->pong_timeout_ms = CV_WS_DEFAULT_PONG_TIMEOUT_MS;
}

/* Every buffer is (re)sized here, so that buffer_bytes is what the bridges hold. */
void
cv_ws_bridge_resize_buffer (guint8 **buffer, gsize *allocated, gsize size)
{
  if (size == 0)
    g_clear_pointer (buffer, g_free);
  else
    *buffer = g_realloc (*buffer, size);
  g_atomic_pointer_add (&buffer_bytes, (gssize) size - (gssize) *allocated);
  *allocated = size;
}

CvWsBridge *
cv_ws_bridge_ref (CvWsBridge *self)
{
  self->ref_count++;
  return self;
}

void
cv_ws_bridge_clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

void
cv_ws_bridge_unref (CvWsBridge *self)
{
  if (--self->ref_count > 0)
    return;

  cv_ws_bridge_clear_source (&self->ping_timer);
  cv_ws_bridge_clear_source (&self->pong_timer);
  cv_ws_bridge_clear_source (&self->linger_timer);
  cv_ws_bridge_clear_source (&self->close_timer);
  /* Only reached with nothing pending; both ends are closed by then, but make sure. */
  if (!self->inner_closed)
    g_socket_close (self->inner_socket, NULL);
  if (!self->outer_closed && !g_io_stream_is_closed (self->outer))
    g_io_stream_close (self->outer, NULL, NULL);

  g_object_unref (self->outer);
  g_object_unref (self->outer_cancellable);
  g_object_unref (self->close_cancellable);
  g_object_unref (self->inner);
  g_object_unref (self->inner_write_cancellable);
  cv_ws_bridge_resize_buffer (&self->in_buf, &self->in_allocated, 0);
  cv_ws_bridge_resize_buffer (&self->out_buf, &self->out_allocated, 0);
  g_free (self->close_reason);
  g_free (self->peer_name);
  g_main_context_unref (self->context);
  g_free (self);
  g_atomic_int_dec_and_test (&running_bridges);
}

GSource *
cv_ws_bridge_add_timer (CvWsBridge *self, guint ms, GSourceFunc func)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, func, self, NULL);
  g_source_attach (source, self->context);
  return source;
}

/* Buffer sizes: big after a read that filled the buffer, small after a short one. */
gsize
cv_ws_bridge_next_capacity (gsize capacity, gsize last_read, gsize room)
{
  if (last_read >= room)
    return BIG_BUFFER;
  if (last_read < SHRINK_BELOW)
    return SMALL_BUFFER;
  return capacity;
}

/* Queue our Close.  @end_on_close: it reports an error or echoes the peer's, so the
 * stream is closed once it is sent; else we wait for the peer's (bounded). */
void
cv_ws_bridge_queue_close (CvWsBridge *self, guint16 code, const char *reason, gboolean end_on_close)
{
  if (self->close_wanted || self->close_sent)
    return;
  self->close_wanted = TRUE;
  self->close_code = code;
  self->close_reason = g_strdup (reason);
  self->end_on_close = end_on_close;
  cv_ws_bridge_write_next (self);
}

/* A protocol error of the peer's: tell it why, reset the inner end once the bytes
 * before the error are written, end. */
void
cv_ws_bridge_fail (CvWsBridge *self, guint16 code, const char *cause)
{
  g_message ("%s: WebSocket protocol error: %s; closing (%u)", self->peer_name, cause, code);
  self->peer_done = TRUE;
  self->inner_reset = TRUE;
  cv_ws_bridge_queue_close (self, code, cause, TRUE);
}

/* The outer stream failed (read or write): nothing more goes over it. */
void
cv_ws_bridge_outer_failed (CvWsBridge *self, const GError *error)
{
  g_debug ("%s: WebSocket connection failed: %s", self->peer_name, error->message);
  self->outer_errored = TRUE;
  self->peer_done = TRUE;
  if (!self->close_received)
    self->inner_reset = TRUE;
}

/* The inner end will take or give no more: close the WebSocket, and wait for the
 * peer's Close (bounded) so that what it sent before is delivered if it still can be. */
void
cv_ws_bridge_inner_ended (CvWsBridge *self, guint16 code)
{
  self->inner_eof = TRUE;
  cv_ws_bridge_queue_close (self, code, NULL, FALSE);
}

/* No more data may go to the peer: what the inner end sends is read and dropped, so
 * that it sees a clean EOF rather than a reset when it closes. */
gboolean
cv_ws_bridge_draining (CvWsBridge *self)
{
  return self->close_wanted || self->close_sent || self->peer_done;
}

/* The ending. */

static void
on_outer_closed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CvWsBridge *self = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_io_stream_close_finish (G_IO_STREAM (source), result, &error))
    g_debug ("%s: closing the WebSocket connection: %s", self->peer_name, error->message);
  self->outer_closed = TRUE;
  cv_ws_bridge_clear_source (&self->close_timer);
  cv_ws_bridge_check_end (self);
  cv_ws_bridge_unref (self);
}

static gboolean
on_close_timeout (gpointer user_data)
{
  CvWsBridge *self = user_data;

  g_clear_pointer (&self->close_timer, g_source_unref);
  g_cancellable_cancel (self->close_cancellable);
  return G_SOURCE_REMOVE;
}

static gboolean
on_linger_timeout (gpointer user_data)
{
  CvWsBridge *self = user_data;

  g_clear_pointer (&self->linger_timer, g_source_unref);
  g_debug ("%s: the WebSocket's ending took over %u ms; cutting it short", self->peer_name,
           CLOSE_LINGER_MS);
  cv_ws_bridge_ref (self);
  self->hard_end = TRUE;
  cv_ws_bridge_check_end (self);
  cv_ws_bridge_unref (self);
  return G_SOURCE_REMOVE;
}

/* What the state asks for once a step is done: shutting down and closing the ends. */
void
cv_ws_bridge_check_end (CvWsBridge *self)
{
  gboolean ending = self->close_wanted || self->peer_done || self->inner_eof || self->inner_reset
                    || self->hard_end;
  gboolean close_outer, close_inner;

  if (!ending)
    return;

  cv_ws_bridge_clear_source (&self->ping_timer);
  cv_ws_bridge_clear_source (&self->pong_timer);
  if (self->linger_timer == NULL && !self->hard_end && !(self->outer_closed && self->inner_closed))
    self->linger_timer = cv_ws_bridge_add_timer (self, CLOSE_LINGER_MS, on_linger_timeout);
  if (self->hard_end)
    {
      self->peer_done = TRUE;
      g_cancellable_cancel (self->outer_cancellable);
      g_cancellable_cancel (self->inner_write_cancellable);
    }

  /* The outer stream: once the Closes are exchanged (or ours reports an error), the
   * peer is gone, or time is up. */
  close_outer = self->hard_end || self->outer_errored || self->peer_eof
                || (self->close_sent && (self->close_received || self->end_on_close));
  if (close_outer && !self->outer_close_started)
    {
      cv_ws_bridge_clear_source (&self->outer_source);
      if (self->outer_reading || self->outer_writing)
        g_cancellable_cancel (self->outer_cancellable);
      else
        {
          self->outer_close_started = TRUE;
          self->close_timer = cv_ws_bridge_add_timer (self, CLOSE_LINGER_MS, on_close_timeout);
          g_main_context_push_thread_default (self->context);
          g_io_stream_close_async (self->outer, G_PRIORITY_DEFAULT, self->close_cancellable,
                                   on_outer_closed, cv_ws_bridge_ref (self));
          g_main_context_pop_thread_default (self->context);
        }
    }

  /* The inner end: EOF once what the peer sent before its end is written. */
  if (self->peer_done && !self->inner_shut && !self->inner_closed && !self->inner_reset
      && !self->inner_writing && self->n_vectors == 0)
    {
      g_autoptr (GError) error = NULL;

      self->inner_shut = TRUE;
      if (!g_socket_shutdown (self->inner_socket, FALSE, TRUE, &error))
        g_debug ("%s: shutting the local end down: %s", self->peer_name, error->message);
    }
  /* A frame that will not be sent no longer holds up the inner reader's cv_ws_bridge_draining. */
  if (cv_ws_bridge_draining (self) && self->frame_ready
      && !(self->outer_writing && self->writing == WRITE_DATA))
    self->frame_ready = FALSE;
  cv_ws_bridge_read_inner (self);

  close_inner = self->inner_reset || self->hard_end || (self->inner_shut && self->inner_eof);
  if (close_inner && !self->inner_closed)
    {
      cv_ws_bridge_clear_source (&self->inner_source);
      /* A write in progress finishes first (hard_end cancelled it above). */
      if (!self->inner_writing && self->n_vectors == 0)
        {
          self->inner_closed = TRUE;
          if (self->inner_reset)
            cv_socket_close_with_reset (self->inner_socket);
          else
            g_socket_close (self->inner_socket, NULL);
        }
    }

  if (self->outer_closed && self->inner_closed)
    cv_ws_bridge_clear_source (&self->linger_timer);
}

static gboolean
on_start (gpointer user_data)
{
  CvWsBridge *self = user_data;

  cv_ws_bridge_start_keepalive (self);
  cv_ws_bridge_read_inner (self);
  /* What the HTTP layer read past the upgrade is parsed first. */
  cv_ws_bridge_run_peer_to_inner (self);
  cv_ws_bridge_check_end (self);
  return G_SOURCE_REMOVE;
}

/**
 * cv_ws_bridge_start:
 *
 * The bridge starts on @context (from an idle callback there, so that this may be
 * called from any thread) and keeps itself alive until both directions are done.
 * Nothing is read from @upgraded after this; the caller may drop its reference.
 */
GSocketConnection *
cv_ws_bridge_start (GIOStream *upgraded,
                    GBytes *leftover,
                    const CvWsBridgeOptions *options,
                    GMainContext *context,
                    GError **error)
{
  g_autoptr (GSocket) ours = NULL;
  g_autoptr (GSocket) theirs = NULL;
  CvWsBridge *self;
  GSource *idle;
  gsize leftover_len = leftover != NULL ? g_bytes_get_size (leftover) : 0;

  g_return_val_if_fail (G_IS_IO_STREAM (upgraded), NULL);
  g_return_val_if_fail (options != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (sodium_init () < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "libsodium could not be initialised");
      return NULL;
    }
  if (!cv_socket_pair_new (&ours, &theirs, error))
    return NULL;
  g_socket_set_blocking (ours, FALSE);

  self = g_new0 (CvWsBridge, 1);
  self->ref_count = 1;
  g_atomic_int_inc (&running_bridges);
  self->context = context != NULL ? g_main_context_ref (context)
                                  : g_main_context_ref_thread_default ();
  self->peer_name = g_strdup (options->peer_name != NULL ? options->peer_name : "the peer");
  self->is_client = options->is_client;
  self->max_message = options->max_message_bytes != 0 ? options->max_message_bytes
                                                      : CV_WS_DEFAULT_MAX_MESSAGE;
  self->ping_interval_ms = options->ping_interval_ms != 0 ? options->ping_interval_ms
                                                          : CV_WS_DEFAULT_PING_INTERVAL_MS;
  self->pong_timeout_ms = options->pong_timeout_ms != 0 ? options->pong_timeout_ms
                                                        : CV_WS_DEFAULT_PONG_TIMEOUT_MS;

  self->outer = g_object_ref (upgraded);
  self->outer_in = g_io_stream_get_input_stream (upgraded);
  self->outer_out = g_io_stream_get_output_stream (upgraded);
  self->outer_pollable = G_IS_POLLABLE_INPUT_STREAM (self->outer_in)
                         && g_pollable_input_stream_can_poll (
                           G_POLLABLE_INPUT_STREAM (self->outer_in));
  self->outer_cancellable = g_cancellable_new ();
  self->close_cancellable = g_cancellable_new ();

  self->inner = g_socket_connection_factory_create_connection (ours);
  self->inner_socket = g_socket_connection_get_socket (self->inner);
  self->inner_out = g_io_stream_get_output_stream (G_IO_STREAM (self->inner));
  self->inner_write_cancellable = g_cancellable_new ();

  /* Buffers start small, as if the last read had been short. */
  self->in_cap = SMALL_BUFFER;
  self->out_cap = SMALL_BUFFER;
  if (leftover_len > 0)
    {
      cv_ws_bridge_resize_buffer (&self->in_buf, &self->in_allocated, leftover_len);
      memcpy (self->in_buf, g_bytes_get_data (leftover, NULL), leftover_len);
      self->in_cap = self->in_end = leftover_len;
    }

  idle = g_idle_source_new ();
  g_source_set_callback (idle, on_start, self, (GDestroyNotify) cv_ws_bridge_unref);
  g_source_attach (idle, self->context);
  g_source_unref (idle);

  return g_socket_connection_factory_create_connection (theirs);
}

guint
cv_ws_bridge_count_running (void)
{
  return g_atomic_int_get (&running_bridges);
}

gsize
cv_ws_bridge_count_buffer_bytes (void)
{
  return g_atomic_pointer_get (&buffer_bytes);
}
