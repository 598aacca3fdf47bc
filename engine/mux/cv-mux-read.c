/* cv-mux-read.c: receiving.  A wake-up reads the carrier until it has nothing more
 * or the budget is spent, decodes every whole frame and acts on it; a frame that
 * breaks the protocol ends the carrier with the GOAWAY reason that names it
 * (PROTOCOL.md §5, §13). */
#include "mux/cv-mux-private.h"

#include "base/cv-trace.h"

#include <string.h>

#include "base/cv-source.h"

gboolean
cv_mux_fail (CvMux *self, CvGoawayReason code, const char *format, ...)
{
  va_list args;
  GError *error;

  va_start (args, format);
  error = g_error_new_valist (CV_MUX_ERROR, code, format, args);
  va_end (args);
  cv_mux_shutdown (self, error);
  return FALSE;
}

static gboolean
is_peer_id (CvMux *self, guint32 id)
{
  gboolean odd = (id & 1) != 0;

  return self->role == CV_MUX_ROLE_INITIATOR ? !odd : odd;
}

/* A frame for a channel that is not in the table: fine if the channel existed and is
 * now closed (frames cross in flight); a protocol error if it never existed. */
static CvChannel *
channel_for_frame (CvMux *self, const CvFrame *frame, gboolean *ok)
{
  CvChannel *channel = cv_mux_lookup_channel (self, frame->channel_id);
  gboolean existed;

  *ok = TRUE;
  if (channel != NULL)
    return channel;
  existed = is_peer_id (self, frame->channel_id) ? frame->channel_id <= self->highest_remote_id
                                                 : frame->channel_id < self->next_local_id;
  if (!existed)
    *ok = cv_mux_fail (self, CV_GOAWAY_REASON_CHANNEL_ID,
                       "%s frame for channel %u, which was never opened",
                       cv_frame_type_to_string (frame->type), frame->channel_id);
  return NULL;
}

static gboolean
handle_settings (CvMux *self, const CvFrame *frame)
{
  GHashTableIter iter;
  gpointer value;

  if (self->have_peer_settings)
    return cv_mux_fail (self, CV_GOAWAY_REASON_PROTOCOL_ERROR, "a second SETTINGS frame");
  /* Version 1 is the only one there is; a peer that speaks only later ones says so
   * by its version field, which an older peer could not read past. */
  if (frame->u.settings.version < CV_PROTOCOL_VERSION)
    return cv_mux_fail (self, CV_GOAWAY_REASON_VERSION_MISMATCH,
                        "the peer speaks protocol version %u; this side needs %u",
                        frame->u.settings.version, CV_PROTOCOL_VERSION);

  self->peer = frame->u.settings;
  self->have_peer_settings = TRUE;

  g_hash_table_iter_init (&iter, self->channels);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      CvChannel *channel = value;
      channel->send_credit += self->peer.initial_window;
    }
  /* Channels opened before the peer's SETTINGS had no credit until now. */
  {
    g_autoptr (GPtrArray) waiting = g_ptr_array_new_with_free_func (g_object_unref);

    g_hash_table_iter_init (&iter, self->channels);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      g_ptr_array_add (waiting, g_object_ref (value));
    for (guint i = 0; i < waiting->len && !self->closed; i++)
      {
        CvChannel *channel = waiting->pdata[i];

        cv_mux_channel_schedule (self, channel);
        if (cv_channel_get_send_space (channel) > 0)
          cv_channel_emit_writable (channel);
      }
  }
  return !self->closed;
}

static gboolean
handle_open (CvMux *self, const CvFrame *frame)
{
  g_autoptr (CvChannel) channel = NULL;
  guint32 id = frame->channel_id;

  if (!is_peer_id (self, id))
    return cv_mux_fail (self, CV_GOAWAY_REASON_CHANNEL_ID,
                        "OPEN for channel %u, an id only this side may use", id);
  if (id <= self->highest_remote_id)
    return cv_mux_fail (self, CV_GOAWAY_REASON_CHANNEL_ID,
                        "OPEN for channel %u, reused or out of order (last was %u)", id,
                        self->highest_remote_id);
  self->highest_remote_id = id;

  if (self->goaway_sent)
    {
      /* The peer learns it from our GOAWAY's last_channel_id anyway (§12.1). */
      if (cv_mux_is_answering (self))
        cv_mux_queue_close_frame (self, CV_FRAME_OPEN_FAIL, id, CV_CHANNEL_REASON_GOING_AWAY, 0,
                                  NULL);
      return TRUE;
    }
  if (self->n_remote_channels >= self->config.max_channels)
    {
      cv_mux_queue_close_frame (self, CV_FRAME_OPEN_FAIL, id, CV_CHANNEL_REASON_TOO_MANY_CHANNELS,
                                0, "channel limit reached");
      return TRUE;
    }

  channel = cv_channel_new (self, id, frame->u.open.host, frame->u.open.host_len,
                            frame->u.open.port, TRUE);
  cv_mux_add_channel (self, g_object_ref (channel));

  cv_mux_emit_incoming_channel (self, channel);
  return TRUE;
}

static gboolean
handle_data (CvMux *self, CvChannel *channel, const CvFrame *frame)
{
  gsize len = frame->u.data.len;

  if ((gint64) len > channel->recv_credit)
    return cv_mux_fail (self, CV_GOAWAY_REASON_FLOW_CONTROL,
                        "channel %u: %" G_GSIZE_FORMAT " bytes of DATA with only %" G_GINT64_FORMAT
                        " bytes of window left",
                        channel->id, len, channel->recv_credit);
  channel->recv_credit -= len;

  if (channel->remote_fin)
    {
      /* Scoped to the channel: the carrier's framing is intact. */
      cv_mux_channel_reset (self, channel, CV_CHANNEL_REASON_STREAM_CLOSED);
      return TRUE;
    }
  if (!channel->incoming && channel->state == CV_CHANNEL_STATE_OPENING)
    return cv_mux_fail (self, CV_GOAWAY_REASON_PROTOCOL_ERROR, "DATA on channel %u before OPEN_OK",
                        channel->id);

  cv_byte_queue_push (&channel->recv_queue, frame->u.data.bytes, len);
  channel->bytes_received += len;
  /* One "readable" per read from the carrier, not per frame: a 256 KiB read carries
   * sixteen frames of a bulk channel. */
  if (!channel->readable_queued)
    {
      channel->readable_queued = TRUE;
      g_ptr_array_add (self->readable, g_object_ref (channel));
    }
  return TRUE;
}

static gboolean
handle_goaway (CvMux *self, const CvFrame *frame)
{
  g_autoptr (GPtrArray) unanswered = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  gpointer value;
  guint8 reason = frame->u.close.reason;

  self->goaway_received = TRUE;
  self->peer_goaway_reason = reason;
  g_free (self->peer_goaway_message);
  self->peer_goaway_message = g_strndup (frame->u.close.message, frame->u.close.message_len);

  if (reason != CV_GOAWAY_REASON_NORMAL && reason != CV_GOAWAY_REASON_SHUTTING_DOWN
      && reason != CV_GOAWAY_REASON_REPLACED)
    return cv_mux_fail (self, reason, "the peer closed the carrier: %s%s%s",
                        cv_goaway_reason_to_string (reason), *self->peer_goaway_message ? ": " : "",
                        self->peer_goaway_message);

  /* Channels we opened that the peer never saw will never be answered. */
  g_hash_table_iter_init (&iter, self->channels);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      CvChannel *channel = value;
      if (!channel->incoming && channel->id > frame->u.close.last_channel_id)
        g_ptr_array_add (unanswered, g_object_ref (channel));
    }
  for (guint i = 0; i < unanswered->len; i++)
    cv_mux_remove_channel (self, unanswered->pdata[i],
                           g_error_new (CV_CHANNEL_ERROR, CV_CHANNEL_REASON_GOING_AWAY,
                                        "the peer is going away (%s)",
                                        cv_goaway_reason_to_string (reason)));
  if (!self->goaway_sent)
    cv_mux_goaway (self, CV_GOAWAY_REASON_NORMAL, NULL);
  return TRUE;
}

static gboolean
handle_frame (CvMux *self, const CvFrame *frame)
{
  CvChannel *channel;
  gboolean ok;

  if (!self->have_peer_settings && frame->type != CV_FRAME_SETTINGS)
    return cv_mux_fail (self, CV_GOAWAY_REASON_PROTOCOL_ERROR,
                        "%s frame before SETTINGS; is the peer a Culvert agent?",
                        cv_frame_type_to_string (frame->type));

  switch (frame->type)
    {
    case CV_FRAME_SETTINGS:
      return handle_settings (self, frame);
    case CV_FRAME_OPEN:
      return handle_open (self, frame);
    case CV_FRAME_PING:
      {
        CvFrame pong = { .type = CV_FRAME_PONG };

        if (!cv_mux_is_answering (self))
          return TRUE;
        pong.u.ping_opaque = frame->u.ping_opaque;
        cv_mux_queue_control (self, &pong);
        return !self->closed;
      }
    case CV_FRAME_PONG:
      cv_mux_pong_received (self, frame->u.ping_opaque);
      return !self->closed;
    case CV_FRAME_GOAWAY:
      return handle_goaway (self, frame);
    default:
      break;
    }

  if (cv_frame_type_is_control_message (frame->type))
    {
      g_autoptr (GBytes) json = NULL;

      if (!cv_mux_is_answering (self))
        return TRUE;
      json = g_bytes_new (frame->u.data.bytes, frame->u.data.len);
      cv_mux_emit_control_message (self, frame->type, json);
      return !self->closed;
    }

  channel = channel_for_frame (self, frame, &ok);
  if (channel == NULL)
    return ok;

  switch (frame->type)
    {
    case CV_FRAME_OPEN_OK:
      if (channel->incoming || channel->state != CV_CHANNEL_STATE_OPENING)
        return cv_mux_fail (self, CV_GOAWAY_REASON_PROTOCOL_ERROR,
                            "unexpected OPEN_OK for channel %u", channel->id);
      channel->state = CV_CHANNEL_STATE_OPEN;
      cv_channel_emit_opened (channel);
      return TRUE;
    case CV_FRAME_OPEN_FAIL:
      if (channel->incoming || channel->state != CV_CHANNEL_STATE_OPENING)
        return cv_mux_fail (self, CV_GOAWAY_REASON_PROTOCOL_ERROR,
                            "unexpected OPEN_FAIL for channel %u", channel->id);
      cv_mux_remove_channel (self, channel,
                             g_error_new (CV_CHANNEL_ERROR, frame->u.close.reason,
                                          "the peer refused %s:%u: %s%s%.*s", channel->host,
                                          channel->port,
                                          cv_channel_reason_to_string (frame->u.close.reason),
                                          frame->u.close.message_len ? ": " : "",
                                          (int) frame->u.close.message_len,
                                          frame->u.close.message));
      return TRUE;
    case CV_FRAME_DATA:
      return handle_data (self, channel, frame);
    case CV_FRAME_FIN:
      if (!channel->incoming && channel->state == CV_CHANNEL_STATE_OPENING)
        return cv_mux_fail (self, CV_GOAWAY_REASON_PROTOCOL_ERROR,
                            "FIN on channel %u before OPEN_OK", channel->id);
      if (channel->remote_fin)
        {
          /* Like DATA after FIN: the channel's state is broken, the carrier's framing is not. */
          cv_mux_channel_reset (self, channel, CV_CHANNEL_REASON_STREAM_CLOSED);
          return TRUE;
        }
      channel->remote_fin = TRUE;
      if (channel->readable_queued)
        {
          /* Its bytes come first: one "readable" then tells of bytes and end alike. */
          channel->readable_queued = FALSE;
          g_ptr_array_remove (self->readable, channel);
        }
      cv_channel_emit_readable (channel);
      if (cv_mux_lookup_channel (self, frame->channel_id) == channel)
        cv_mux_maybe_finish_channel (self, channel);
      return TRUE;
    case CV_FRAME_RESET:
      cv_mux_remove_channel (self, channel,
                             g_error_new (CV_CHANNEL_ERROR, frame->u.close.reason,
                                          "the peer reset the channel: %s",
                                          cv_channel_reason_to_string (frame->u.close.reason)));
      return TRUE;
    case CV_FRAME_WINDOW_UPDATE:
      channel->send_credit += frame->u.window_increment;
      if (channel->send_credit > CV_FRAME_MAX_WINDOW)
        return cv_mux_fail (self, CV_GOAWAY_REASON_FLOW_CONTROL,
                            "channel %u: WINDOW_UPDATE takes the window past 2^31-1", channel->id);
      cv_mux_channel_schedule (self, channel);
      if (cv_channel_get_send_space (channel) > 0)
        cv_channel_emit_writable (channel);
      return TRUE;
    default:
      return cv_mux_fail (self, CV_GOAWAY_REASON_PROTOCOL_ERROR, "unexpected %s frame",
                          cv_frame_type_to_string (frame->type));
    }
}

static void
emit_readable (CvMux *self)
{
  g_autoptr (GPtrArray) channels = self->readable;

  self->readable = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < channels->len; i++)
    {
      CvChannel *channel = channels->pdata[i];

      channel->readable_queued = FALSE;
      cv_channel_emit_readable (channel);
    }
}

static void process_frames (CvMux *self);
static gboolean handle_read (CvMux *self, gssize n, const GError *error);

static void
process_frames (CvMux *self)
{
  gsize offset = 0;
  gsize max_payload = self->config.max_payload;

  while (!self->closed)
    {
      g_autoptr (GError) error = NULL;
      CvFrame frame;
      gsize consumed;
      CvFrameDecodeResult result = cv_frame_decode (self->read_buffer + offset,
                                                    self->read_length - offset, max_payload, &frame,
                                                    &consumed, &error);

      /* Say so plainly when the peer is not Culvert at all (an HTTP client, a
       * TLS record, …) rather than report its first bytes as a huge frame. */
      if (!self->have_peer_settings && self->read_length - offset >= CV_FRAME_HEADER_SIZE
          && self->read_buffer[offset + 3] != CV_FRAME_SETTINGS)
        {
          cv_mux_fail (self, CV_GOAWAY_REASON_PROTOCOL_ERROR,
                       "the peer does not speak the Culvert protocol (its first frame is not "
                       "SETTINGS)");
          return;
        }
      if (result == CV_FRAME_DECODE_NEED_MORE)
        break;
      if (result == CV_FRAME_DECODE_ERROR)
        {
          cv_mux_shutdown (self, g_steal_pointer (&error));
          return;
        }
      offset += consumed;
      /* Liveness counts whole frames: a peer trickling bytes does not look alive. */
      self->last_receive_us = g_get_monotonic_time ();
      CV_TRACE (self, "%s channel %u, %" G_GSIZE_FORMAT " bytes",
                cv_frame_type_to_string (frame.type), frame.channel_id, consumed);
      if (!handle_frame (self, &frame))
        return;
    }
  if (self->closed)
    return;
  memmove (self->read_buffer, self->read_buffer + offset, self->read_length - offset);
  self->read_length -= offset;
}

/* Attached once, not re-armed per wake-up: in GLib, attaching or destroying a source
 * with a file descriptor writes the context's eventfd (and the next poll returns to
 * read it), three system calls and a loop iteration per read. */
static gboolean
on_carrier_readable (GObject *stream, gpointer user_data)
{
  CvMux *self = user_data;

  /* A stream with bytes already buffered makes its source ready at once; that
   * readiness is spent now, the socket's is what counts from here on. */
  if (g_source_get_ready_time (self->read_source) == 0)
    g_source_set_ready_time (self->read_source, -1);
  cv_mux_read_from_carrier (self);
  return G_SOURCE_CONTINUE;
}

/* Reads and handles what the carrier has, until it has no more or the budget is spent
 * (then the flush source reads on at the start of the next iteration). */
void
cv_mux_read_from_carrier (CvMux *self)
{
  g_autoptr (CvMux) hold G_GNUC_UNUSED = g_object_ref (self);
  gsize budget = CV_MUX_READ_BUDGET;

  while (!self->closed)
    {
      g_autoptr (GError) error = NULL;
      gssize n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (self->input),
                                                           self->read_buffer + self->read_length,
                                                           CV_MUX_READ_BUFFER_SIZE
                                                             - self->read_length,
                                                           NULL, &error);

      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      if (!handle_read (self, n, error))
        break;
      if ((gsize) n >= budget)
        {
          self->read_more = TRUE; /* the flush source reads on, next iteration */
          break;
        }
      budget -= n;
    }
  /* Channels hear of their bytes once per wake-up, not once per read: a read returns
   * one TLS record (16 KiB), and a pump told after each sent each record to its socket
   * with a send of its own (63,000 sends per GB in the share agent at 8 streams). */
  emit_readable (self);
  /* Whatever the frames just read asked for goes out in this wake-up's batch. */
  if (!self->closed && !self->writing && self->flush_wanted)
    cv_mux_flush_now (self);
}

/* Returns TRUE if reading should go on. */
static gboolean
handle_read (CvMux *self, gssize n, const GError *error)
{
  if (n < 0)
    {
      if (cv_mux_goodbyes_done (self))
        cv_mux_shutdown (self, NULL);
      else
        cv_mux_shutdown (self, g_error_new (CV_MUX_ERROR, CV_GOAWAY_REASON_CONNECTION_LOST,
                                            "reading from the carrier failed: %s", error->message));
      return FALSE;
    }
  if (n == 0)
    {
      if (self->goaway_received && g_hash_table_size (self->channels) == 0)
        cv_mux_shutdown (self, NULL);
      else
        cv_mux_shutdown (self,
                         g_error_new (CV_MUX_ERROR, CV_GOAWAY_REASON_CONNECTION_LOST,
                                      self->goaway_received
                                        ? "the peer closed the carrier with %u channels still open"
                                        : "the peer closed the carrier without GOAWAY",
                                      g_hash_table_size (self->channels)));
      return FALSE;
    }

  self->bytes_read += n;
  self->read_length += n;
  process_frames (self);
  return !self->closed;
}

/* Attached once for the mux's life, from cv_mux_start(). */
void
cv_mux_start_reading (CvMux *self)
{
  GPollableInputStream *input = G_POLLABLE_INPUT_STREAM (self->input);

  self->read_source = g_pollable_input_stream_create_source (input, NULL);
  g_source_set_callback (self->read_source, G_SOURCE_FUNC (on_carrier_readable), self, NULL);
  cv_source_attach_io (self->read_source, "[culvert] mux read", self->context);
}
