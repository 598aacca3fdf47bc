/* cv-mux-write.c: sending.  Control frames queue in control_out; channels with bytes
 * and credit wait in a round-robin queue.  At the start of a main-loop iteration
 * both are gathered into one batch, control first, then one DATA frame per channel
 * per turn, and the batch is written without blocking. */
#include "mux/cv-mux-private.h"

#include "base/cv-trace.h"

#include <string.h>

#include "base/cv-poller.h"
#include "base/cv-source.h"

/* What the mux holds to write: the control frames waiting for the next batch, and what is
 * left of the batch (or of the parting GOAWAY) being written, DATA included.  Bytes still
 * in channels' send buffers are not: the application put them there, at most
 * CV_CHANNEL_SEND_BUFFER per channel, and they leave only as the peer gives credit. */
gsize
cv_mux_get_output_held (CvMux *self)
{
  gsize held;

  g_return_val_if_fail (CV_IS_MUX (self), 0);

  held = self->control_out->len;
  if (self->out != NULL)
    held += self->out->len - self->out_offset;
  return held;
}

/* Raised by the gateway once a control link is logged in (a few KiB before, §17.2). */
void
cv_mux_set_max_output (CvMux *self, gsize max_output_bytes)
{
  g_return_if_fail (CV_IS_MUX (self));

  self->config.max_output_bytes = MAX (max_output_bytes, CV_MUX_MIN_OUTPUT);
}

static void
fail_output_overflow (CvMux *self, gsize held)
{
  cv_mux_shutdown (self, g_error_new (CV_MUX_ERROR, CV_GOAWAY_REASON_CONTROL_FLOOD,
                                      "the peer does not read what it is sent (%" G_GSIZE_FORMAT
                                      " bytes waiting to be written, limit %" G_GSIZE_FORMAT ")",
                                      held, self->config.max_output_bytes));
}

/* After something was queued: is the output still within max_output_bytes?  If not, the
 * carrier ends with control-flood, @now (the mux's own frames, queued where the code
 * expects the carrier to close under it) or at the start of the next main-loop
 * iteration (a send by the layer above, which is in the middle of its own work). */
gboolean
cv_mux_output_fits (CvMux *self, gboolean now)
{
  gsize held = cv_mux_get_output_held (self);

  if (self->output_overflow == 0 && held <= self->config.max_output_bytes)
    return TRUE;
  if (now)
    fail_output_overflow (self, MAX (held, self->output_overflow));
  else if (self->output_overflow == 0)
    self->output_overflow = held;
  return FALSE;
}

void
cv_mux_queue_control (CvMux *self, const CvFrame *frame)
{
  g_autoptr (GError) error = NULL;

  if (self->closed)
    return;
  if (!cv_frame_encode (frame, self->control_out, &error))
    {
      g_critical ("refusing to send an invalid %s frame: %s", cv_frame_type_to_string (frame->type),
                  error->message);
      return;
    }
  if (cv_mux_output_fits (self, TRUE))
    cv_mux_flush (self);
}

void
cv_mux_queue_simple (CvMux *self, CvFrameType type, guint32 channel_id)
{
  CvFrame frame = { .type = type, .channel_id = channel_id };

  cv_mux_queue_control (self, &frame);
}

void
cv_mux_queue_close_frame (CvMux *self,
                          CvFrameType type,
                          guint32 channel_id,
                          guint8 reason,
                          guint32 last_channel_id,
                          const char *message)
{
  CvFrame frame = { .type = type, .channel_id = channel_id };

  g_autofree char *valid = message != NULL ? g_utf8_make_valid (message, -1) : NULL;

  /* The message is for humans and may come from anywhere (an OS error string): make it
   * valid UTF-8 rather than lose the frame that carries the reason. */
  frame.u.close.reason = reason;
  frame.u.close.last_channel_id = last_channel_id;
  frame.u.close.message = valid;
  frame.u.close.message_len = valid != NULL ? strlen (valid) : 0;
  cv_mux_queue_control (self, &frame);
}

static gboolean
channel_is_sendable (CvMux *self, CvChannel *channel)
{
  gsize buffered = cv_byte_queue_length (&channel->send_queue);

  if (channel->state == CV_CHANNEL_STATE_CLOSED || channel->fin_sent)
    return FALSE;
  if (channel->incoming && channel->state == CV_CHANNEL_STATE_OPENING)
    return FALSE;
  if (buffered > 0)
    return channel->send_credit > 0;
  return channel->local_fin;
}

void
cv_mux_channel_schedule (CvMux *self, CvChannel *channel)
{
  if (!channel->in_send_queue && channel_is_sendable (self, channel))
    {
      channel->in_send_queue = TRUE;
      g_queue_push_tail_link (&self->send_queue, &channel->send_link);
    }
  cv_mux_flush (self);
}

static void
append_data_frames (CvMux *self, GByteArray *batch, GPtrArray *drained)
{
  /* A DATA frame and its header fill one 16 KiB TLS record exactly: a frame split
   * across two records makes the receiver keep and move the partial frame after
   * every read (measured in tests/bench/CHAINS.md). */
  gsize max_payload = MIN (self->have_peer_settings
                             ? MIN (self->peer.max_payload, self->config.max_payload)
                             : CV_FRAME_DEFAULT_MAX_PAYLOAD,
                           CV_MUX_TLS_RECORD_PAYLOAD - CV_FRAME_HEADER_SIZE);
  GList *link;

  while (batch->len < self->config.max_write_batch
         && (link = g_queue_pop_head_link (&self->send_queue)) != NULL)
    {
      CvChannel *channel = link->data;
      gsize peeked;
      const guint8 *bytes = cv_byte_queue_peek (&channel->send_queue, &peeked);
      gsize buffered = cv_byte_queue_length (&channel->send_queue);
      gsize n = MIN (peeked, max_payload);

      channel->in_send_queue = FALSE;
      n = MIN (n, (gsize) MAX (channel->send_credit, 0));
      if (n > 0)
        {
          guint start = batch->len;

          g_byte_array_set_size (batch, start + CV_FRAME_HEADER_SIZE + n);
          cv_frame_write_header (batch->data + start, n, CV_FRAME_DATA, 0, channel->id);
          memcpy (batch->data + start + CV_FRAME_HEADER_SIZE, bytes, n);
          cv_byte_queue_pop (&channel->send_queue, n);
          channel->send_credit -= n;
          channel->bytes_sent += n;
          /* Crossing half the send buffer downwards: the application may write more
           * (told after the batch is built, never in the middle of it). */
          if (buffered >= CV_CHANNEL_SEND_BUFFER / 2 && buffered - n < CV_CHANNEL_SEND_BUFFER / 2
              && channel->send_credit > 0)
            g_ptr_array_add (drained, g_object_ref (channel));
        }
      if (channel->local_fin && !channel->fin_sent
          && cv_byte_queue_length (&channel->send_queue) == 0)
        {
          guint start = batch->len;

          g_byte_array_set_size (batch, start + CV_FRAME_HEADER_SIZE);
          cv_frame_write_header (batch->data + start, 0, CV_FRAME_FIN, 0, channel->id);
          channel->fin_sent = TRUE;
          cv_mux_maybe_finish_channel (self, channel);
          continue;
        }
      if (channel_is_sendable (self, channel))
        {
          channel->in_send_queue = TRUE;
          g_queue_push_tail_link (&self->send_queue, &channel->send_link);
        }
    }
}

static void
flush_at_batch_end (gpointer user_data)
{
  CvMux *self = user_data;

  self->flush_at_batch_end = FALSE;
  if (!self->closed && self->flush_wanted && !self->writing)
    cv_mux_flush_now (self);
}

/* Frames are waiting: batch and write them once this dispatch is done, so that
 * everything queued meanwhile goes together.  Inside a poller batch (a channel pump
 * read its socket), that is at the batch's end, still in this main-loop iteration:
 * the flush source would have waited for the next one, one poll() more per message
 * (measured in tests/bench/CHAINS.md).  Elsewhere the flush source does it. */
void
cv_mux_flush (CvMux *self)
{
  self->flush_wanted = TRUE;
  if (!self->flush_at_batch_end && !self->writing
      && cv_poller_call_at_batch_end (self->context, flush_at_batch_end, g_object_ref (self),
                                      g_object_unref))
    self->flush_at_batch_end = TRUE;
}

void
cv_mux_flush_now (CvMux *self)
{
  GByteArray *batch = self->write_batch;
  g_autoptr (GPtrArray) drained = NULL;

  if (self->writing || self->flushing || self->closed || !self->started)
    return;

  self->flush_wanted = FALSE;
  self->flushing = TRUE;
  g_byte_array_set_size (batch, 0);
  if (self->control_out->len > 0)
    {
      /* Swap rather than copy: control frames are the first thing in the batch. */
      self->write_batch = self->control_out;
      self->control_out = batch;
      batch = self->write_batch;
    }
  drained = g_ptr_array_new_with_free_func (g_object_unref);
  append_data_frames (self, batch, drained);
  self->flushing = FALSE;

  if (batch->len == 0)
    {
      if (self->goaway_sent && g_hash_table_size (self->channels) == 0)
        cv_mux_shutdown (self, NULL);
      return;
    }

  CV_TRACE (self, "batch of %u bytes", batch->len);
  self->writing = TRUE;
  self->out = batch;
  self->out_offset = 0;
  cv_mux_write_out (self);
  for (guint i = 0; i < drained->len && !self->closed; i++)
    if (cv_channel_get_send_space (drained->pdata[i]) > 0)
      cv_channel_emit_writable (drained->pdata[i]);
}

/* A source that dispatches while its mux wants a flush.  Not a ready time: setting
 * one writes to the context's eventfd, and polling reads it back, two system calls
 * per batch.  flush() is only ever called on the mux's own thread, during a dispatch,
 * so the next prepare sees the flag without a wake-up. */
typedef struct {
  GSource source;
  CvMux *mux;
} FlushSource;

static gboolean
flush_source_check (GSource *source)
{
  CvMux *self = ((FlushSource *) source)->mux;

  return (self->flush_wanted && !self->writing) || self->read_more || self->output_overflow > 0;
}

static gboolean
flush_source_prepare (GSource *source, int *timeout)
{
  gboolean ready = flush_source_check (source);

  *timeout = ready ? 0 : -1;
  return ready;
}

static gboolean
flush_source_dispatch (GSource *source, GSourceFunc callback, gpointer user_data)
{
  return callback (user_data);
}

static GSourceFuncs flush_source_funcs = {
  .prepare = flush_source_prepare,
  .check = flush_source_check,
  .dispatch = flush_source_dispatch,
};

static gboolean
on_flush_ready (gpointer user_data)
{
  CvMux *self = user_data;
  g_autoptr (CvMux) hold G_GNUC_UNUSED = g_object_ref (self);

  if (self->output_overflow > 0)
    {
      fail_output_overflow (self, self->output_overflow);
      return G_SOURCE_CONTINUE; /* the shutdown destroyed this source */
    }
  if (self->read_more)
    {
      self->read_more = FALSE;
      cv_mux_read_from_carrier (self);
    }
  if (!self->closed && self->flush_wanted && !self->writing)
    cv_mux_flush_now (self);
  return G_SOURCE_CONTINUE;
}

static void write_done (CvMux *self, GError *error);

static gboolean
on_carrier_writable (GObject *stream, gpointer user_data)
{
  CvMux *self = user_data;
  g_autoptr (CvMux) hold G_GNUC_UNUSED = g_object_ref (self);

  g_clear_pointer (&self->write_source, g_source_unref);
  cv_mux_write_out (self);
  return G_SOURCE_REMOVE;
}

/* Writes what is left of self->out; when the carrier takes no more, waits for it. */
void
cv_mux_write_out (CvMux *self)
{
  GPollableOutputStream *output = G_POLLABLE_OUTPUT_STREAM (self->output);

  while (self->out_offset < self->out->len)
    {
      GError *error = NULL;
      gssize n = g_pollable_output_stream_write_nonblocking (output,
                                                             self->out->data + self->out_offset,
                                                             self->out->len - self->out_offset,
                                                             NULL, &error);

      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_error_free (error);
          if (self->write_source == NULL)
            {
              self->write_source = g_pollable_output_stream_create_source (output, NULL);
              g_source_set_callback (self->write_source, G_SOURCE_FUNC (on_carrier_writable), self,
                                     NULL);
              cv_source_attach_io (self->write_source, "[culvert] mux write", self->context);
            }
          return;
        }
      if (n < 0)
        {
          write_done (self, error);
          return;
        }
      self->out_offset += n;
      self->bytes_written += n;
    }
  write_done (self, NULL);
}

static void
write_done (CvMux *self, GError *error)
{
  self->writing = FALSE;
  self->out = NULL;
  if (self->closed)
    {
      if (self->final_goaway != NULL && error == NULL)
        cv_mux_write_final_goaway (self);
      else
        g_clear_pointer (&self->final_goaway, g_byte_array_unref);
      g_clear_error (&error);
      cv_mux_maybe_close_stream (self);
      return;
    }
  if (error != NULL)
    {
      if (cv_mux_goodbyes_done (self))
        cv_mux_shutdown (self, NULL);
      else
        cv_mux_shutdown (self, g_error_new (CV_MUX_ERROR, CV_GOAWAY_REASON_CONNECTION_LOST,
                                            "writing to the carrier failed: %s", error->message));
      g_error_free (error);
      return;
    }
  /* Only if something is left to send: an empty flush cost a main-loop iteration (a
   * poll()) after every write. */
  if (self->send_queue.length > 0 || self->control_out->len > 0
      || (self->goaway_sent && g_hash_table_size (self->channels) == 0))
    cv_mux_flush (self);
}

/* Attached for the mux's life, from cv_mux_start(). */
void
cv_mux_start_flushing (CvMux *self)
{
  self->flush_source = g_source_new (&flush_source_funcs, sizeof (FlushSource));
  ((FlushSource *) self->flush_source)->mux = self;
  g_source_set_callback (self->flush_source, on_flush_ready, self, NULL);
  g_source_set_static_name (self->flush_source, "[culvert] mux flush");
  g_source_attach (self->flush_source, self->context);
}
