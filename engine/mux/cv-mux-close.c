/* cv-mux-close.c: the end of a carrier.  A clean end is both GOAWAYs and no channel
 * left; any other end fails every channel with carrier-closed, writes a parting
 * GOAWAY that names the reason where PROTOCOL.md §12.4 says so (one second at most
 * for a peer that does not read), then closes the stream. */
#include "mux/cv-mux-private.h"

#include "base/cv-trace.h"

#include <string.h>

#include "base/cv-source.h"

/* Both ends said GOAWAY and no channel is left: whoever closes the socket first, the
 * other's last write or read may fail (EPIPE, ECONNRESET), and that is still a clean
 * end, not a lost carrier. */
gboolean
cv_mux_goodbyes_done (CvMux *self)
{
  return self->goaway_received && self->goaway_sent && g_hash_table_size (self->channels) == 0;
}
/* After this end's GOAWAY, once no channel is left, the carrier only waits to be
 * written out and closed: what the peer sends then gets no answer (no PONG, no
 * OPEN_FAIL) and its control messages go nowhere, so that a peer cannot keep a
 * closing carrier busy, or alive. */
gboolean
cv_mux_is_answering (CvMux *self)
{
  return !self->goaway_sent || g_hash_table_size (self->channels) > 0;
}

/* The peer did not let the carrier close in time: it does not read what is left, or
 * keeps a channel open.  No parting GOAWAY: one was sent, or is stuck in the queue. */
static gboolean
on_close_timeout (gpointer user_data)
{
  CvMux *self = user_data;
  g_autoptr (CvMux) hold G_GNUC_UNUSED = g_object_ref (self);

  g_clear_pointer (&self->close_timer, g_source_unref);
  cv_mux_fail (self, CV_GOAWAY_REASON_CLOSE_TIMEOUT,
               "the carrier did not close within %u ms of GOAWAY (%u channels open, "
               "%" G_GSIZE_FORMAT " bytes not written)",
               self->config.close_timeout_ms, g_hash_table_size (self->channels),
               cv_mux_get_output_held (self));
  return G_SOURCE_REMOVE;
}

/* From this end's graceful GOAWAY: the carrier is closed by config.close_timeout_ms. */
void
cv_mux_start_close_deadline (CvMux *self)
{
  if (self->config.close_timeout_ms == 0 || self->close_timer != NULL || self->closed)
    return;
  self->close_timer = g_timeout_source_new (self->config.close_timeout_ms);
  g_source_set_callback (self->close_timer, on_close_timeout, self, NULL);
  g_source_set_static_name (self->close_timer, "[culvert] mux close deadline");
  g_source_attach (self->close_timer, self->context);
}

static void
close_stream_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
}

/* The stream closes once the cancelled read and write have come back: closing it
 * under a pending operation would fail. */
void
cv_mux_maybe_close_stream (CvMux *self)
{
  if (!self->closed || self->writing || self->stream_closed)
    return;
  self->stream_closed = TRUE;
  cv_source_clear (&self->final_write_timer);
  /* An async close completes on the thread-default context: make that the mux's own,
   * so that a mux on an application's context leaves nothing on the global one. */
  g_main_context_push_thread_default (self->context);
  g_io_stream_close_async (self->stream, G_PRIORITY_DEFAULT, NULL, close_stream_done, NULL);
  g_main_context_pop_thread_default (self->context);
}

/* The batch being written is dropped where it stands: the carrier is closing. */
void
cv_mux_abandon_write (CvMux *self)
{
  cv_source_clear (&self->write_source);
  self->writing = FALSE;
  self->out = NULL;
}

/* The peer did not read our parting GOAWAY in time: give up on it. */
static gboolean
on_final_write_timeout (gpointer user_data)
{
  CvMux *self = user_data;
  g_autoptr (CvMux) hold G_GNUC_UNUSED = g_object_ref (self);

  g_clear_pointer (&self->final_write_timer, g_source_unref);
  g_clear_pointer (&self->final_goaway, g_byte_array_unref);
  cv_mux_abandon_write (self);
  cv_mux_maybe_close_stream (self);
  return G_SOURCE_REMOVE;
}

/* The last bytes on a carrier the peer broke: a GOAWAY naming why, so its logs say it. */
void
cv_mux_write_final_goaway (CvMux *self)
{
  GByteArray *goaway = g_steal_pointer (&self->final_goaway);

  self->writing = TRUE;
  g_object_set_data_full (G_OBJECT (self), "cv-final-goaway", goaway,
                          (GDestroyNotify) g_byte_array_unref);
  self->out = goaway;
  self->out_offset = 0;
  cv_mux_write_out (self);
}

static void
prepare_final_goaway (CvMux *self, const GError *error)
{
  CvFrame frame = { .type = CV_FRAME_GOAWAY };

  self->final_goaway = g_byte_array_new ();
  frame.u.close.reason = error->code;
  frame.u.close.last_channel_id = self->highest_remote_id;
  frame.u.close.message = error->message;
  frame.u.close.message_len = strlen (error->message);
  if (!cv_frame_encode (&frame, self->final_goaway, NULL))
    g_clear_pointer (&self->final_goaway, g_byte_array_unref);
}

void
cv_mux_shutdown (CvMux *self, GError *error)
{
  g_autoptr (CvMux) hold G_GNUC_UNUSED = g_object_ref (self);
  g_autoptr (GPtrArray) channels = NULL;

  if (self->closed)
    {
      g_clear_error (&error);
      return;
    }
  if (error != NULL && error->domain == CV_MUX_ERROR
      && error->code != CV_GOAWAY_REASON_CONNECTION_LOST
      && error->code != CV_GOAWAY_REASON_KEEPALIVE_TIMEOUT
      && error->code != CV_GOAWAY_REASON_CLOSE_TIMEOUT && !self->goaway_received && self->started)
    prepare_final_goaway (self, error);

  self->closed = TRUE;
  self->error = error;
  CV_TRACE (self, "carrier closed: %s", error != NULL ? error->message : "both GOAWAYs");
  cv_mux_stop_keepalive (self);
  cv_source_clear (&self->close_timer);
  /* What was queued will never be written: give its memory back now. */
  g_byte_array_unref (self->control_out);
  self->control_out = g_byte_array_new ();
  cv_source_clear (&self->read_source);
  cv_source_clear (&self->flush_source);
  if (self->final_goaway != NULL)
    {
      /* Let the batch being written end on a frame boundary, then say GOAWAY; a
       * peer that does not read gets one second for both. */
      self->final_write_timer = g_timeout_source_new (1000);
      g_source_set_callback (self->final_write_timer, on_final_write_timeout, self, NULL);
      g_source_set_static_name (self->final_write_timer, "[culvert] mux final goaway");
      g_source_attach (self->final_write_timer, self->context);
      if (!self->writing)
        cv_mux_write_final_goaway (self);
    }
  else
    cv_mux_abandon_write (self);

  channels = g_ptr_array_new_with_free_func (g_object_unref);
  {
    GHashTableIter iter;
    gpointer value;

    g_hash_table_iter_init (&iter, self->channels);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      g_ptr_array_add (channels, g_object_ref (value));
  }
  for (guint i = 0; i < channels->len; i++)
    cv_mux_remove_channel (self, channels->pdata[i],
                           g_error_new (CV_CHANNEL_ERROR, CV_CHANNEL_REASON_CARRIER_CLOSED,
                                        "the carrier closed: %s",
                                        error != NULL ? error->message : "normal close"));

  cv_mux_maybe_close_stream (self);
  cv_mux_emit_closed (self);
}
