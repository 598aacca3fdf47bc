/* cv-ws-bridge-write.c: the bridge's inner → peer direction (one socket read, one
 * binary message, behind room for its header), the writer to the peer (one write at a
 * time, control frames first) and the keepalive. */
#include "transport/cv-ws-bridge-private.h"

#include <sodium.h>
#include <string.h>

static gboolean
on_pong_timeout (gpointer user_data)
{
  CvWsBridge *self = user_data;

  g_clear_pointer (&self->pong_timer, g_source_unref);
  /* While the inner end holds up our reading, or the peer our writing, a pong could
   * not be seen or a ping not be taken: back-pressure, not a dead peer. */
  if (self->inner_writing || self->outer_writing)
    {
      self->pong_timer = cv_ws_bridge_add_timer (self, self->pong_timeout_ms, on_pong_timeout);
      return G_SOURCE_REMOVE;
    }
  g_message ("%s: no answer to a WebSocket ping within %u ms; closing", self->peer_name,
             self->pong_timeout_ms);
  cv_ws_bridge_ref (self);
  self->inner_reset = TRUE;
  self->hard_end = TRUE;
  cv_ws_bridge_check_end (self);
  cv_ws_bridge_unref (self);
  return G_SOURCE_REMOVE;
}

/* What a write that is done means; for data, the inner socket may be read again. */
static void
outer_write_done (CvWsBridge *self)
{
  switch (self->writing)
    {
    case WRITE_DATA:
      self->frame_ready = FALSE;
      break;
    case WRITE_CLOSE:
      self->close_sent = TRUE;
      break;
    case WRITE_PING: /* its pong's timer runs since it was queued */
    case WRITE_PONG:
      break;
    }
}

static void
on_outer_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CvWsBridge *self = user_data;
  g_autoptr (GError) error = NULL;

  self->outer_writing = FALSE;
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      if (self->writing == WRITE_DATA)
        self->frame_ready = FALSE;
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        cv_ws_bridge_outer_failed (self, error);
    }
  else
    {
      outer_write_done (self);
      if (self->writing == WRITE_DATA)
        cv_ws_bridge_read_inner (self);
      cv_ws_bridge_write_next (self);
    }

  cv_ws_bridge_check_end (self);
  cv_ws_bridge_unref (self);
}

static gsize
build_control (CvWsBridge *self, guint8 opcode, const guint8 *payload, gsize len)
{
  guint8 mask[CV_WS_MASK_SIZE];
  guint header_len;

  if (self->is_client)
    randombytes_buf (mask, sizeof mask);
  header_len = cv_ws_frame_write_header (self->control_out, TRUE, opcode, len,
                                         self->is_client ? mask : NULL);
  memmove (self->control_out + header_len, payload, len);
  if (self->is_client)
    cv_ws_mask (self->control_out + header_len, len, mask, 0);
  return header_len + len;
}

/* Writes what it can of a frame at once: the bytes written, or 0 (an error is left
 * to the async write, which reports it).  Most frames go whole, and then no GTask and
 * no main-loop turn is spent waiting for a write that is already done.  (A written
 * data frame does not read the inner socket from here: the caller's read loop, or
 * the cv_ws_bridge_check_end() after it, does.) */
static gsize
outer_write_now (CvWsBridge *self, const guint8 *bytes, gsize len)
{
  GPollableOutputStream *out = G_IS_POLLABLE_OUTPUT_STREAM (self->outer_out)
                                 ? G_POLLABLE_OUTPUT_STREAM (self->outer_out)
                                 : NULL;
  gssize n;

  if (out == NULL || !g_pollable_output_stream_can_poll (out))
    return 0;
  n = g_pollable_output_stream_write_nonblocking (out, bytes, len, NULL, NULL);
  return n > 0 ? n : 0;
}

/* One write at a time; a Close goes first and is the last, then pongs, pings, data. */
void
cv_ws_bridge_write_next (CvWsBridge *self)
{
  const guint8 *bytes;
  gsize len, done;

next:
  if (self->outer_writing || self->close_sent || self->outer_close_started || self->hard_end
      || self->outer_errored)
    return;

  if (self->close_wanted)
    {
      guint8 payload[CV_WS_MAX_CONTROL_PAYLOAD];
      gsize payload_len = cv_ws_close_build (payload, self->close_code, self->close_reason);

      self->writing = WRITE_CLOSE;
      len = build_control (self, CV_WS_OPCODE_CLOSE, payload, payload_len);
      bytes = self->control_out;
    }
  else if (self->pong_wanted)
    {
      self->pong_wanted = FALSE;
      self->writing = WRITE_PONG;
      len = build_control (self, CV_WS_OPCODE_PONG, self->pong_payload, self->pong_len);
      bytes = self->control_out;
    }
  else if (self->ping_wanted)
    {
      guint8 payload[8];

      self->ping_wanted = FALSE;
      self->pings_sent++;
      for (guint i = 0; i < 8; i++)
        payload[i] = self->pings_sent >> (56 - 8 * i);
      self->writing = WRITE_PING;
      len = build_control (self, CV_WS_OPCODE_PING, payload, sizeof payload);
      bytes = self->control_out;
      /* The pong's timer starts now, not when the write is reported done: a quick
       * peer's pong can be read before that report comes, and would then find no timer
       * to clear, leaving one that ends a link whose peer did answer. */
      if (self->pong_timer == NULL)
        self->pong_timer = cv_ws_bridge_add_timer (self, self->pong_timeout_ms, on_pong_timeout);
    }
  else if (self->frame_ready)
    {
      self->writing = WRITE_DATA;
      bytes = self->out_buf + HEADROOM - self->out_header_len;
      len = self->out_header_len + self->out_len;
    }
  else
    return;

  /* A Close stays async: its callback's cv_ws_bridge_check_end() closes the stream. */
  done = self->writing != WRITE_CLOSE ? outer_write_now (self, bytes, len) : 0;
  if (done == len)
    {
      outer_write_done (self);
      goto next;
    }
  self->outer_writing = TRUE;
  g_main_context_push_thread_default (self->context);
  g_output_stream_write_all_async (self->outer_out, bytes + done, len - done, G_PRIORITY_DEFAULT,
                                   self->outer_cancellable, on_outer_written,
                                   cv_ws_bridge_ref (self));
  g_main_context_pop_thread_default (self->context);
}

/* What a read of the inner socket gave: a frame for the writer, its end, or bytes
 * to drop. */
static void
inner_read_done (CvWsBridge *self, gssize n, const GError *error)
{
  if (n < 0)
    {
      g_debug ("%s: reading the local end: %s", self->peer_name, error->message);
      cv_ws_bridge_inner_ended (self, CV_WS_CLOSE_GOING_AWAY);
    }
  else if (n == 0)
    cv_ws_bridge_inner_ended (self, CV_WS_CLOSE_NORMAL);
  else if (!cv_ws_bridge_draining (self))
    {
      guint8 mask[CV_WS_MASK_SIZE];
      guint8 *payload = self->out_buf + HEADROOM;

      self->out_len = n;
      if (self->is_client)
        {
          /* A fresh key a frame, from a strong source, as RFC 6455 §5.3 asks. */
          randombytes_buf (mask, sizeof mask);
          cv_ws_mask (payload, n, mask, 0);
        }
      self->out_header_len = cv_ws_frame_header_size (n, self->is_client);
      cv_ws_frame_write_header (payload - self->out_header_len, TRUE, CV_WS_OPCODE_BINARY, n,
                                self->is_client ? mask : NULL);
      self->frame_ready = TRUE;
      cv_ws_bridge_write_next (self);
    }
}

static gboolean
on_inner_readable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  CvWsBridge *self = user_data;

  g_clear_pointer (&self->inner_source, g_source_unref);
  cv_ws_bridge_ref (self);
  cv_ws_bridge_read_inner (self);
  cv_ws_bridge_check_end (self);
  cv_ws_bridge_unref (self);
  return G_SOURCE_REMOVE;
}

/* The yield after TURN_READS: an idle source calls its callback with the data alone. */
static gboolean
on_inner_turn (gpointer user_data)
{
  return on_inner_readable (NULL, 0, user_data);
}

static void
inner_wait (CvWsBridge *self, GSource *source, GSourceFunc func)
{
  self->inner_source = source;
  g_source_set_callback (source, func, cv_ws_bridge_ref (self),
                         (GDestroyNotify) cv_ws_bridge_unref);
  g_source_attach (source, self->context);
}

/* Reads the inner socket while there is room for a frame: at once if it has bytes,
 * else once it is readable, holding no buffer meanwhile; TURN_READS at most a turn. */
void
cv_ws_bridge_read_inner (CvWsBridge *self)
{
  for (guint reads = 0;; reads++)
    {
      g_autoptr (GError) error = NULL;
      gssize n;

      if (self->inner_source != NULL || self->frame_ready || self->inner_eof || self->inner_closed
          || self->inner_reset || self->hard_end)
        return;
      if (reads == TURN_READS)
        {
          inner_wait (self, g_idle_source_new (), on_inner_turn);
          return;
        }

      /* Sized before every read, not only when the buffer comes back: a stream that
       * keeps the socket busy never gives it back, and would stay at the small size
       * (4 KiB frames: a getrandom, a TLS write and a main-loop turn each). */
      {
        gsize capacity = MIN (cv_ws_bridge_next_capacity (self->out_cap, self->out_last_read,
                                                          self->out_last_room),
                              self->max_message);

        if (self->out_buf == NULL || capacity != self->out_cap)
          {
            self->out_cap = capacity;
            cv_ws_bridge_resize_buffer (&self->out_buf, &self->out_allocated,
                                        HEADROOM + self->out_cap);
          }
      }
      n = g_socket_receive_with_blocking (self->inner_socket, (char *) self->out_buf + HEADROOM,
                                          self->out_cap, FALSE, NULL, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          cv_ws_bridge_resize_buffer (&self->out_buf, &self->out_allocated, 0);
          inner_wait (self, g_socket_create_source (self->inner_socket, G_IO_IN, NULL),
                      G_SOURCE_FUNC (on_inner_readable));
          return;
        }
      if (n > 0)
        {
          self->out_last_read = n;
          self->out_last_room = self->out_cap;
        }
      inner_read_done (self, n, error);
    }
}

static gboolean
on_ping_tick (gpointer user_data)
{
  CvWsBridge *self = user_data;

  /* One ping unanswered at a time: its pong timer runs. */
  if (self->pong_timer == NULL && !self->ping_wanted)
    {
      self->ping_wanted = TRUE;
      cv_ws_bridge_write_next (self);
    }
  return G_SOURCE_CONTINUE;
}

void
cv_ws_bridge_start_keepalive (CvWsBridge *self)
{
  if (self->ping_interval_ms > 0)
    self->ping_timer = cv_ws_bridge_add_timer (self, self->ping_interval_ms, on_ping_tick);
}
