/* cv-mux-channels.c: the channel table (ids, counts, the carrier's window budget),
 * opening a channel, and what a CvChannel asks of its mux: an answer to an OPEN, a
 * reset, credit for bytes consumed.  Control messages leave from here too. */
#include "mux/cv-mux-private.h"

#include "base/cv-trace.h"

#include <string.h>

void
cv_mux_unschedule (CvMux *self, CvChannel *channel)
{
  if (channel->in_send_queue)
    {
      g_queue_unlink (&self->send_queue, &channel->send_link);
      channel->in_send_queue = FALSE;
    }
}

/* Drop a channel from the carrier: nothing more is sent or expected for it. */
void
cv_mux_remove_channel (CvMux *self, CvChannel *channel, GError *error)
{
  g_autoptr (CvChannel) hold G_GNUC_UNUSED = g_object_ref (channel);

  cv_mux_unschedule (self, channel);
  if (g_hash_table_remove (self->channels, GUINT_TO_POINTER (channel->id)))
    {
      self->carrier_window_bytes -= channel->recv_window - self->config.initial_window;
      if (channel->incoming)
        self->n_remote_channels--;
      else
        self->n_local_channels--;
    }
  CV_TRACE (self, "channel %u to %s:%u done: %s", channel->id, channel->host, channel->port,
            error != NULL ? error->message : "both FINs");
  cv_channel_finish (channel, error);

  if (self->goaway_sent && g_hash_table_size (self->channels) == 0 && !self->closed)
    cv_mux_flush (self); /* the carrier closes once its last frames are out */
}

/* Both directions finished cleanly: the channel is done. */
void
cv_mux_maybe_finish_channel (CvMux *self, CvChannel *channel)
{
  if (channel->fin_sent && channel->remote_fin)
    cv_mux_remove_channel (self, channel, NULL);
}

CvChannel *
cv_mux_lookup_channel (CvMux *self, guint32 id)
{
  return g_hash_table_lookup (self->channels, GUINT_TO_POINTER (id));
}

void
cv_mux_add_channel (CvMux *self, CvChannel *channel)
{
  g_hash_table_insert (self->channels, GUINT_TO_POINTER (channel->id), channel);
  if (channel->incoming)
    self->n_remote_channels++;
  else
    self->n_local_channels++;

  channel->recv_window = channel->window_target = self->config.initial_window;
  channel->recv_credit = self->config.initial_window;
  channel->window_epoch_us = g_get_monotonic_time ();
  if (self->have_peer_settings)
    channel->send_credit = self->peer.initial_window;
}

/**
 * cv_mux_open_channel:
 * @host: the target, as the peer should dial it
 *
 * Sends OPEN at once; bytes written before the answer follow it as early data.
 * "opened" or "closed" on the channel tells the answer.
 *
 * Returns: (transfer full): the channel, or %NULL if the carrier cannot open one now
 */
CvChannel *
cv_mux_open_channel (CvMux *self, const char *host, guint16 port, GError **error)
{
  CvFrame frame = { .type = CV_FRAME_OPEN };
  CvChannel *channel;
  gsize host_len;
  guint queued;

  g_return_val_if_fail (CV_IS_MUX (self), NULL);
  g_return_val_if_fail (host != NULL, NULL);

  host_len = strlen (host);
  if (self->closed)
    {
      g_set_error (error, CV_CHANNEL_ERROR, CV_CHANNEL_REASON_CARRIER_CLOSED,
                   "the carrier is closed");
      return NULL;
    }
  if (self->goaway_sent || self->goaway_received)
    {
      g_set_error (error, CV_CHANNEL_ERROR, CV_CHANNEL_REASON_GOING_AWAY,
                   "the carrier is going away; no new channels");
      return NULL;
    }
  if (self->have_peer_settings && self->n_local_channels >= self->peer.max_channels)
    {
      g_set_error (error, CV_CHANNEL_ERROR, CV_CHANNEL_REASON_TOO_MANY_CHANNELS,
                   "the peer allows %u open channels on this carrier", self->peer.max_channels);
      return NULL;
    }
  if (self->next_local_id > CV_FRAME_MAX_CHANNEL_ID)
    {
      g_set_error (error, CV_CHANNEL_ERROR, CV_CHANNEL_REASON_TOO_MANY_CHANNELS,
                   "channel ids on this carrier are used up; open a new carrier");
      return NULL;
    }

  frame.channel_id = self->next_local_id;
  frame.u.open.host = host;
  frame.u.open.host_len = host_len;
  frame.u.open.port = port;
  queued = self->control_out->len;
  if (!cv_frame_encode (&frame, self->control_out, error))
    return NULL;
  if (!cv_mux_output_fits (self, FALSE))
    {
      g_byte_array_set_size (self->control_out, queued);
      g_set_error (error, CV_CHANNEL_ERROR, CV_CHANNEL_REASON_CARRIER_CLOSED,
                   "the peer does not read what it is sent; the carrier closes");
      return NULL;
    }

  channel = cv_channel_new (self, self->next_local_id, host, host_len, port, FALSE);
  self->next_local_id += 2;
  cv_mux_add_channel (self, g_object_ref (channel));
  cv_mux_flush (self);
  return channel;
}

void
cv_mux_channel_answer (CvMux *self,
                       CvChannel *channel,
                       gboolean accept,
                       CvChannelReason reason,
                       const char *message)
{
  if (accept)
    {
      cv_mux_queue_simple (self, CV_FRAME_OPEN_OK, channel->id);
      channel->state = CV_CHANNEL_STATE_OPEN;
      cv_mux_channel_schedule (self, channel);
      if (cv_channel_get_send_space (channel) > 0)
        cv_channel_emit_writable (channel);
      return;
    }

  cv_mux_queue_close_frame (self, CV_FRAME_OPEN_FAIL, channel->id, reason, 0, message);
  cv_mux_remove_channel (self, channel,
                         g_error_new (CV_CHANNEL_ERROR, reason, "refused here: %s%s%s",
                                      cv_channel_reason_to_string (reason), message ? ": " : "",
                                      message ? message : ""));
}

void
cv_mux_channel_reset (CvMux *self, CvChannel *channel, CvChannelReason reason)
{
  cv_mux_queue_close_frame (self, CV_FRAME_RESET, channel->id, reason, 0, NULL);
  cv_mux_remove_channel (self, channel,
                         g_error_new (CV_CHANNEL_ERROR, reason, "reset here: %s",
                                      cv_channel_reason_to_string (reason)));
}

/* A window that went by in under this many round trips was what limited the channel:
 * it doubles.  One that took more than SHRINK_RTTS was not (the application, the
 * source or the path was): it halves, back towards the initial window, so the budget
 * and the memory a stalled reader can be made to hold follow what the channel uses.
 * The gap between the two keeps a steady transfer from see-sawing: a window settles
 * between 4 and 16 times the bandwidth-delay product. */
#define GROW_RTTS 4
#define SHRINK_RTTS 16

/* At the end of an epoch (a whole window consumed, or too long spent on it), judges
 * the window.  Growth comes out of one budget per carrier, so many busy channels cannot
 * make the carrier hold max_channels × max_window; shrinking is done by not crediting
 * bytes consumed (cv_mux_channel_consumed()), since credit once given cannot be taken
 * back, and each byte withheld goes back to the budget. */
static guint32
judge_window (CvMux *self, CvChannel *channel, gint64 now)
{
  gint64 elapsed = now - channel->window_epoch_us;
  guint32 growth = 0;

  if (self->rtt_us <= 0)
    return 0;
  if (channel->window_epoch_bytes >= channel->recv_window && elapsed < GROW_RTTS * self->rtt_us)
    {
      guint32 grown = MIN ((guint64) channel->recv_window * 2, self->config.max_window);

      channel->window_target = channel->recv_window; /* busy again: no shrinking under way */
      growth = grown - channel->recv_window;
      if (growth > 0
          && self->carrier_window_bytes + growth <= self->config.max_carrier_window_growth)
        {
          self->carrier_window_bytes += growth;
          channel->recv_window = channel->window_target = grown;
          CV_TRACE (self, "channel %u: window grows to %u bytes", channel->id, grown);
        }
      else
        growth = 0;
    }
  else if (elapsed > SHRINK_RTTS * self->rtt_us
           && channel->recv_window > self->config.initial_window)
    {
      channel->window_target = MAX (channel->recv_window / 2, self->config.initial_window);
      CV_TRACE (self, "channel %u: window shrinks to %u bytes", channel->id,
                channel->window_target);
    }
  else if (channel->window_epoch_bytes < channel->recv_window)
    return 0; /* the epoch goes on */
  channel->window_epoch_us = now;
  channel->window_epoch_bytes = 0;
  return growth;
}

/* The application consumed @len bytes: return credit once a quarter of the window is
 * owed, the window judged on the way (judge_window()). */
void
cv_mux_channel_consumed (CvMux *self, CvChannel *channel, gsize len)
{
  guint32 increment;

  if (channel->remote_fin || channel->state == CV_CHANNEL_STATE_CLOSED)
    return;

  channel->window_epoch_bytes += len;
  if (channel->recv_window > channel->window_target)
    {
      guint32 withheld = MIN (len, channel->recv_window - channel->window_target);

      channel->recv_window -= withheld;
      self->carrier_window_bytes -= withheld;
      len -= withheld;
    }
  channel->recv_unacked += len;
  if (channel->recv_unacked == 0 || channel->recv_unacked < channel->recv_window / 4)
    return;

  increment = channel->recv_unacked + judge_window (self, channel, g_get_monotonic_time ());
  {
    CvFrame frame = { .type = CV_FRAME_WINDOW_UPDATE, .channel_id = channel->id };

    frame.u.window_increment = increment;
    channel->recv_credit += increment;
    channel->recv_unacked = 0;
    cv_mux_queue_control (self, &frame);
  }
}

gboolean
cv_mux_send_control (CvMux *self, guint type, const char *json, GError **error)
{
  CvFrame frame = { .type = type };
  gsize len = strlen (json);
  guint queued;

  g_return_val_if_fail (CV_IS_MUX (self), FALSE);
  g_return_val_if_fail (cv_frame_type_is_control_message (type), FALSE);

  if (self->closed)
    {
      g_set_error (error, CV_MUX_ERROR, CV_GOAWAY_REASON_CONNECTION_LOST, "the carrier is closed");
      return FALSE;
    }
  if (len > (self->have_peer_settings ? self->peer.max_payload : CV_FRAME_DEFAULT_MAX_PAYLOAD))
    {
      g_set_error (error, CV_MUX_ERROR, CV_GOAWAY_REASON_FRAME_TOO_LARGE,
                   "control message of %" G_GSIZE_FORMAT " bytes is larger than the peer accepts",
                   len);
      return FALSE;
    }
  frame.u.data.bytes = (const guint8 *) json;
  frame.u.data.len = len;
  queued = self->control_out->len;
  if (!cv_frame_encode (&frame, self->control_out, error))
    return FALSE;
  if (!cv_mux_output_fits (self, FALSE))
    {
      /* Not queued: the carrier ends with control-flood at the next dispatch. */
      g_byte_array_set_size (self->control_out, queued);
      g_set_error (error, CV_MUX_ERROR, CV_GOAWAY_REASON_CONTROL_FLOOD,
                   "the peer does not read what it is sent; the carrier closes");
      return FALSE;
    }
  cv_mux_flush (self);
  return TRUE;
}
