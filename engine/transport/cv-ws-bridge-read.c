/* cv-ws-bridge-read.c: the bridge's peer → inner direction: the outer stream read in
 * gulps, its frames parsed in place, their payloads unmasked in place and written to
 * the inner socket with one writev, control frames acted on as they go by. */
#include "transport/cv-ws-bridge-private.h"

#include <string.h>

static void process_input (CvWsBridge *self);

/* What a read of the outer stream gave: bytes to parse, its end, or an error. */
static void
outer_read_done (CvWsBridge *self, gssize n, const GError *error)
{
  if (n < 0)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        cv_ws_bridge_outer_failed (self, error);
    }
  else if (n == 0)
    {
      g_debug ("%s: WebSocket connection ended without a Close", self->peer_name);
      self->peer_done = TRUE;
      self->peer_eof = TRUE;
      /* Cut off inside a frame: the stream is truncated, not ended. */
      if (self->in_frame || self->in_end > self->in_start)
        self->inner_reset = TRUE;
    }
  else
    {
      self->in_last_read = n;
      self->in_last_room = self->in_cap - self->in_end;
      self->in_end += n;
    }
}

static void
on_outer_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CvWsBridge *self = user_data;
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  self->outer_reading = FALSE;
  outer_read_done (self, n, error);
  cv_ws_bridge_run_peer_to_inner (self);
  cv_ws_bridge_check_end (self);
  cv_ws_bridge_unref (self);
}

static gboolean
on_outer_readable (GObject *stream, gpointer user_data)
{
  CvWsBridge *self = user_data;

  g_clear_pointer (&self->outer_source, g_source_unref);
  cv_ws_bridge_ref (self);
  cv_ws_bridge_run_peer_to_inner (self);
  cv_ws_bridge_check_end (self);
  cv_ws_bridge_unref (self);
  return G_SOURCE_REMOVE;
}

/* The yield after TURN_READS: an idle source calls its callback with the data alone. */
static gboolean
on_outer_turn (gpointer user_data)
{
  return on_outer_readable (NULL, user_data);
}

/* Room for a read: what is left unparsed (a partial header at most) moved to the
 * front, the buffer sized by what the last read gave. */
static void
outer_prepare_buffer (CvWsBridge *self)
{
  gsize keep = self->in_end - self->in_start;
  gsize capacity = cv_ws_bridge_next_capacity (self->in_cap, self->in_last_read,
                                               self->in_last_room);

  if (keep > 0 && self->in_start > 0)
    memmove (self->in_buf, self->in_buf + self->in_start, keep);
  self->in_start = 0;
  self->in_end = keep;
  capacity = MAX (capacity, keep);
  if (self->in_buf == NULL || capacity != self->in_cap)
    {
      cv_ws_bridge_resize_buffer (&self->in_buf, &self->in_allocated, capacity);
      self->in_cap = capacity;
    }
}

/* One read of the outer stream.  TRUE: bytes came at once, parse them; FALSE: the
 * read is pending (or the stream ended or failed). */
static gboolean
outer_read (CvWsBridge *self)
{
  g_autoptr (GError) error = NULL;
  gssize n;

  outer_prepare_buffer (self);
  if (!self->outer_pollable)
    {
      self->outer_reading = TRUE;
      g_main_context_push_thread_default (self->context);
      g_input_stream_read_async (self->outer_in, self->in_buf + self->in_end,
                                 self->in_cap - self->in_end, G_PRIORITY_DEFAULT,
                                 self->outer_cancellable, on_outer_read, cv_ws_bridge_ref (self));
      g_main_context_pop_thread_default (self->context);
      return FALSE;
    }

  n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (self->outer_in),
                                                self->in_buf + self->in_end,
                                                self->in_cap - self->in_end, NULL, &error);
  if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    {
      /* Nothing there: wait, holding no buffer unless a partial header is in it. */
      if (self->in_end == 0)
        cv_ws_bridge_resize_buffer (&self->in_buf, &self->in_allocated, 0);
      self->outer_source =
        g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (self->outer_in), NULL);
      g_source_set_callback (self->outer_source, G_SOURCE_FUNC (on_outer_readable),
                             cv_ws_bridge_ref (self), (GDestroyNotify) cv_ws_bridge_unref);
      g_source_attach (self->outer_source, self->context);
      return FALSE;
    }
  outer_read_done (self, n, error);
  return n > 0;
}

static void
on_inner_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CvWsBridge *self = user_data;
  g_autoptr (GError) error = NULL;

  self->inner_writing = FALSE;
  self->n_vectors = 0;
  if (!g_output_stream_writev_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_debug ("%s: writing to the local end: %s", self->peer_name, error->message);
          self->inner_gone = TRUE;
          cv_ws_bridge_inner_ended (self, CV_WS_CLOSE_GOING_AWAY);
        }
    }
  cv_ws_bridge_run_peer_to_inner (self);
  cv_ws_bridge_check_end (self);
  cv_ws_bridge_unref (self);
}

/* The payloads found, written to the inner socket at once if it takes them: TRUE if it
 * took all (or failed, which drops them), FALSE if some are left for an async write.
 * An async write costs a GTask and a main-loop turn before its callback, for every
 * gulp, where the socket almost always takes the whole gulp at once. */
static gboolean
inner_write_now (CvWsBridge *self)
{
  g_autoptr (GError) error = NULL;
  gssize n = g_socket_send_message (self->inner_socket, NULL, self->vectors, self->n_vectors, NULL,
                                    0, 0, NULL, &error);
  guint done = 0;

  if (n < 0)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        return FALSE;
      g_debug ("%s: writing to the local end: %s", self->peer_name, error->message);
      self->n_vectors = 0;
      self->inner_gone = TRUE;
      cv_ws_bridge_inner_ended (self, CV_WS_CLOSE_GOING_AWAY);
      return TRUE;
    }
  while (done < self->n_vectors && (gsize) n >= self->vectors[done].size)
    n -= self->vectors[done++].size;
  memmove (self->vectors, self->vectors + done, (self->n_vectors - done) * sizeof (GOutputVector));
  self->n_vectors -= done;
  if (self->n_vectors == 0)
    return TRUE;
  self->vectors[0].buffer = (const guint8 *) self->vectors[0].buffer + n;
  self->vectors[0].size -= n;
  return FALSE;
}

/* Drives peer → inner: parse what is there, write the payloads it found to the inner
 * socket (waiting for that if it does not take them at once), or read more;
 * TURN_READS reads at most, then yield. */
void
cv_ws_bridge_run_peer_to_inner (CvWsBridge *self)
{
  for (guint reads = 0;;)
    {
      if (self->inner_writing || self->outer_reading || self->outer_source != NULL
          || self->hard_end)
        return;
      process_input (self);
      if (self->n_vectors > 0 && inner_write_now (self))
        continue;
      if (self->n_vectors > 0)
        {
          self->inner_writing = TRUE;
          g_main_context_push_thread_default (self->context);
          g_output_stream_writev_all_async (self->inner_out, self->vectors, self->n_vectors,
                                            G_PRIORITY_DEFAULT, self->inner_write_cancellable,
                                            on_inner_written, cv_ws_bridge_ref (self));
          g_main_context_pop_thread_default (self->context);
          return;
        }
      if (self->peer_done)
        return;
      if (reads++ == TURN_READS)
        {
          /* Readable or not, the source lets the main loop run first. */
          self->outer_source = g_idle_source_new ();
          g_source_set_callback (self->outer_source, on_outer_turn, cv_ws_bridge_ref (self),
                                 (GDestroyNotify) cv_ws_bridge_unref);
          g_source_attach (self->outer_source, self->context);
          return;
        }
      if (!outer_read (self))
        return;
    }
}

static void
frame_finished (CvWsBridge *self)
{
  g_autoptr (GError) error = NULL;
  const char *reason;
  gsize reason_len;
  guint16 code;

  self->in_frame = FALSE;
  switch (self->frame.opcode)
    {
    case CV_WS_OPCODE_CLOSE:
      if (!cv_ws_close_parse (self->control, self->control_len, &code, &reason, &reason_len,
                              &error))
        {
          cv_ws_bridge_fail (self, error->code, error->message);
          return;
        }
      g_debug ("%s: WebSocket Close %u from the peer", self->peer_name, code);
      self->close_received = TRUE;
      self->peer_done = TRUE;
      /* Echo the code; a Close without one is answered by one without. */
      cv_ws_bridge_queue_close (self, code, NULL, TRUE);
      break;
    case CV_WS_OPCODE_PING:
      /* Only the latest ping needs an answer (RFC 6455 §5.5.3). */
      memcpy (self->pong_payload, self->control, self->control_len);
      self->pong_len = self->control_len;
      self->pong_wanted = TRUE;
      cv_ws_bridge_write_next (self);
      break;
    case CV_WS_OPCODE_PONG:
      cv_ws_bridge_clear_source (&self->pong_timer);
      break;
    default:
      break;
    }
}

/* Parses what [in_start, in_end) holds: frame headers, payloads unmasked in place and
 * gathered for one writev, control frames copied out and acted on. */
static void
process_input (CvWsBridge *self)
{
  if (self->in_buf == NULL)
    return;
  while (self->in_start < self->in_end && self->n_vectors < MAX_VECTORS && !self->peer_done)
    {
      guint8 *p = self->in_buf + self->in_start;
      gsize available = self->in_end - self->in_start;
      gsize n;

      if (!self->in_frame)
        {
          g_autoptr (GError) error = NULL;
          CvWsFrameParseResult parsed;

          parsed = cv_ws_frame_parse_header (p, available, !self->is_client, self->max_message,
                                             &self->frame, &error);
          if (parsed == CV_WS_FRAME_NEED_MORE)
            break;
          if (parsed == CV_WS_FRAME_ERROR
              || !cv_ws_message_state_add_frame (&self->message, &self->frame, self->max_message,
                                                 &self->frame_message, &error))
            {
              cv_ws_bridge_fail (self, error->code, error->message);
              break;
            }
          if (self->frame_message == CV_WS_OPCODE_TEXT)
            {
              cv_ws_bridge_fail (self, CV_WS_CLOSE_UNSUPPORTED_DATA,
                                 "text message; only binary messages are carried");
              break;
            }
          self->in_start += self->frame.header_len;
          self->in_frame = TRUE;
          self->frame_done = 0;
          self->control_len = 0;
          if (self->frame.payload_len == 0)
            frame_finished (self);
          continue;
        }

      n = MIN (available, self->frame.payload_len - self->frame_done);
      if (self->frame.masked)
        cv_ws_mask (p, n, self->frame.mask, self->frame_done);
      if (self->frame.opcode & 0x8)
        {
          memcpy (self->control + self->control_len, p, n);
          self->control_len += n;
        }
      else if (!self->inner_gone)
        {
          self->vectors[self->n_vectors].buffer = p;
          self->vectors[self->n_vectors].size = n;
          self->n_vectors++;
        }
      self->frame_done += n;
      self->in_start += n;
      if (self->frame_done == self->frame.payload_len)
        frame_finished (self);
    }
}
