/* cv-mux.c: the multiplexer — channels, credit windows, keepalive and GOAWAY over one carrier.
 *
 * Everything runs on the GMainContext that was thread-default when the mux was made.
 * The carrier is a pollable stream, read and written without blocking: a wake-up reads
 * until the stream has nothing more (or a budget is spent), and frames queued while
 * the main loop dispatches are gathered into one batch at the start of the next
 * iteration, then written.  No GTask per read or write: on a busy carrier those cost
 * more than the bytes (tests/bench/CHAINS.md).  A batch carries control frames first
 * (credit, pings, answers), then DATA taken round-robin, one frame per channel per
 * turn, so a bulk channel cannot starve an interactive one.
 *
 * This file is the object; cv-mux-private.h says which file does the rest.
 */
#include "mux/cv-mux-private.h"

#include "base/cv-source.h"

enum {
  SIGNAL_INCOMING_CHANNEL,
  SIGNAL_CONTROL_MESSAGE,
  SIGNAL_CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

enum {
  PROP_0,
  PROP_ROUND_TRIP_US,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];
G_DEFINE_FINAL_TYPE (CvMux, cv_mux, G_TYPE_OBJECT)

void
cv_mux_config_init_defaults (CvMuxConfig *config)
{
  /* Measured in tests/bench/README.md: a fixed 256 KiB window reaches about 55 % of a
   * plain socket copy on loopback and 4 MiB about 90 %, so the window starts at
   * 256 KiB (what a stalled reader can make the peer hold) and grows while it is the
   * bottleneck, shrinking back when it is not (cv-mux-channels.c).  64 MiB covers
   * ~600 MB/s at 100 ms of round trip: 16 MiB held one stream to 125 MB/s where plain
   * TCP reached 443 (bench-lfn.py, CHAINS.md).  The carrier's budget lets one such
   * window grow, or several smaller ones, and bounds what all of them can hold. */
  config->initial_window = 256 * 1024;
  config->max_window = 64 * 1024 * 1024;
  config->max_payload = CV_FRAME_DEFAULT_MAX_PAYLOAD;
  config->max_channels = 4096;
  config->keepalive_interval_ms = 15000;
  config->dead_peer_timeout_ms = 45000;
  config->max_write_batch = 128 * 1024;
  config->max_carrier_window_growth = 128 * 1024 * 1024;
  /* Eight batches of DATA with control frames beside them: a peer that merely reads
   * slowly never comes near it, one that does not read at all does at once. */
  config->max_output_bytes = CV_MUX_DEFAULT_MAX_OUTPUT;
  /* Channels may take as long as they need to finish after a GOAWAY; the gateway sets a
   * deadline on its links, whose peers it does not trust. */
  config->close_timeout_ms = 0;
}

static void
cv_mux_dispose (GObject *object)
{
  CvMux *self = CV_MUX (object);

  if (self->started && !self->closed)
    cv_mux_shutdown (self, NULL);

  G_OBJECT_CLASS (cv_mux_parent_class)->dispose (object);
}

static void
cv_mux_finalize (GObject *object)
{
  CvMux *self = CV_MUX (object);

  cv_mux_stop_keepalive (self);
  cv_source_clear (&self->read_source);
  cv_source_clear (&self->write_source);
  cv_source_clear (&self->flush_source);
  cv_source_clear (&self->final_write_timer);
  cv_source_clear (&self->close_timer);
  g_hash_table_unref (self->channels);
  g_clear_pointer (&self->readable, g_ptr_array_unref);
  g_clear_pointer (&self->final_goaway, g_byte_array_unref);
  g_clear_object (&self->stream);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->read_buffer);
  g_byte_array_unref (self->control_out);
  g_byte_array_unref (self->write_batch);
  g_free (self->peer_goaway_message);
  g_clear_error (&self->error);

  G_OBJECT_CLASS (cv_mux_parent_class)->finalize (object);
}

static void
cv_mux_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  switch (prop_id)
    {
    case PROP_ROUND_TRIP_US:
      g_value_set_int64 (value, cv_mux_get_round_trip_us (CV_MUX (object)));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_mux_class_init (CvMuxClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cv_mux_dispose;
  object_class->finalize = cv_mux_finalize;
  object_class->get_property = cv_mux_get_property;

  /**
   * CvMux:round-trip-us:
   *
   * The round trip of our last PING that the peer answered, in µs; -1 until then.
   */
  properties[PROP_ROUND_TRIP_US] = g_param_spec_int64 ("round-trip-us", NULL, NULL, -1, G_MAXINT64,
                                                       -1,
                                                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                                                         | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * CvMux::incoming-channel:
   * @channel: a channel the peer opened
   *
   * Answer with cv_channel_accept() or cv_channel_refuse(), now or later.  With no
   * handler connected, every channel is refused.
   */
  signals[SIGNAL_INCOMING_CHANNEL] = g_signal_new ("incoming-channel", G_TYPE_FROM_CLASS (klass),
                                                   G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                   G_TYPE_NONE, 1, CV_TYPE_CHANNEL);
  /**
   * CvMux::control-message:
   * @type: the frame type, 0x20 to 0x3f
   * @json: the payload, a JSON object
   */
  signals[SIGNAL_CONTROL_MESSAGE] = g_signal_new ("control-message", G_TYPE_FROM_CLASS (klass),
                                                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                  G_TYPE_NONE, 2, G_TYPE_UINT, G_TYPE_BYTES);
  /**
   * CvMux::closed:
   * @error: (nullable): why the carrier ended; %NULL after a clean GOAWAY
   */
  signals[SIGNAL_CLOSED] = g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                         NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
cv_mux_init (CvMux *self)
{
  self->channels = g_hash_table_new_full (NULL, NULL, NULL, g_object_unref);
  self->control_out = g_byte_array_new ();
  self->write_batch = g_byte_array_new ();
  self->readable = g_ptr_array_new_with_free_func (g_object_unref);
  g_queue_init (&self->send_queue);
}

/**
 * cv_mux_new:
 * @stream: the carrier, whose input and output streams are pollable (sockets and TLS
 *   connections are); the mux owns it once started and closes it at the end
 * @config: (nullable): limits and windows, or %NULL for the defaults
 */
CvMux *
cv_mux_new (GIOStream *stream, CvMuxRole role, const CvMuxConfig *config)
{
  CvMux *self;

  g_return_val_if_fail (G_IS_IO_STREAM (stream), NULL);
  g_return_val_if_fail (G_IS_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream (stream)), NULL);
  g_return_val_if_fail (G_IS_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (stream)), NULL);

  self = g_object_new (CV_TYPE_MUX, NULL);
  self->stream = g_object_ref (stream);
  self->input = g_io_stream_get_input_stream (stream);
  self->output = g_io_stream_get_output_stream (stream);
  self->context = g_main_context_ref_thread_default ();
  self->role = role;
  if (config != NULL)
    self->config = *config;
  else
    cv_mux_config_init_defaults (&self->config);

  self->config.max_payload = CLAMP (self->config.max_payload, CV_FRAME_DEFAULT_MAX_PAYLOAD,
                                    CV_FRAME_MAX_PAYLOAD);
  self->config.initial_window = CLAMP (self->config.initial_window, 1, CV_FRAME_MAX_WINDOW);
  self->config.max_window = CLAMP (self->config.max_window, self->config.initial_window,
                                   CV_FRAME_MAX_WINDOW);
  self->config.max_write_batch = MAX (self->config.max_write_batch,
                                      CV_FRAME_HEADER_SIZE + CV_FRAME_MAX_PAYLOAD);
  self->config.max_output_bytes = MAX (self->config.max_output_bytes, CV_MUX_MIN_OUTPUT);
  self->next_local_id = role == CV_MUX_ROLE_INITIATOR ? 1 : 2;
  self->read_buffer = g_malloc (CV_MUX_READ_BUFFER_SIZE);
  return self;
}

const CvMuxConfig *
cv_mux_get_config (CvMux *self)
{
  g_return_val_if_fail (CV_IS_MUX (self), NULL);
  return &self->config;
}

gboolean
cv_mux_is_closed (CvMux *self)
{
  g_return_val_if_fail (CV_IS_MUX (self), TRUE);
  return self->closed;
}

const GError *
cv_mux_get_error (CvMux *self)
{
  g_return_val_if_fail (CV_IS_MUX (self), NULL);
  return self->error;
}

guint
cv_mux_get_n_channels (CvMux *self)
{
  g_return_val_if_fail (CV_IS_MUX (self), 0);
  return g_hash_table_size (self->channels);
}

/* The last measured round trip of a PING, or -1 before the first PONG. */
gint64
cv_mux_get_rtt_us (CvMux *self)
{
  g_return_val_if_fail (CV_IS_MUX (self), -1);
  return self->rtt_us > 0 ? self->rtt_us : -1;
}

/* The same, as the "round-trip-us" property reads it. */
gint64
cv_mux_get_round_trip_us (CvMux *self)
{
  return cv_mux_get_rtt_us (self);
}

/**
 * cv_mux_get_peer_goaway:
 * @message: (out) (optional): the peer's words, if it sent a GOAWAY
 *
 * Returns: the reason of the peer's GOAWAY, or -1 if it sent none
 */
int
cv_mux_get_peer_goaway (CvMux *self, const char **message)
{
  g_return_val_if_fail (CV_IS_MUX (self), -1);

  if (message != NULL)
    *message = self->peer_goaway_message;
  return self->goaway_received ? self->peer_goaway_reason : -1;
}

guint64
cv_mux_get_bytes_written (CvMux *self)
{
  return self->bytes_written;
}

guint64
cv_mux_get_bytes_read (CvMux *self)
{
  return self->bytes_read;
}

/* ---- what the other files tell the object's users ------------------------ */

void
cv_mux_emit_incoming_channel (CvMux *self, CvChannel *channel)
{
  if (!g_signal_has_handler_pending (self, signals[SIGNAL_INCOMING_CHANNEL], 0, FALSE))
    {
      cv_channel_refuse (channel, CV_CHANNEL_REASON_REFUSED, "this side accepts no channels");
      return;
    }
  g_signal_emit (self, signals[SIGNAL_INCOMING_CHANNEL], 0, channel);
}

void
cv_mux_emit_control_message (CvMux *self, guint type, GBytes *json)
{
  g_signal_emit (self, signals[SIGNAL_CONTROL_MESSAGE], 0, type, json);
}

void
cv_mux_emit_closed (CvMux *self)
{
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0, self->error);
}

void
cv_mux_set_round_trip (CvMux *self, gint64 rtt_us)
{
  if (rtt_us == self->rtt_us)
    return;
  self->rtt_us = rtt_us;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ROUND_TRIP_US]);
}

/* ---- lifecycle ---------------------------------------------------------- */

/**
 * cv_mux_start:
 * Sends SETTINGS and starts reading; frames are exchanged from here on.
 */
void
cv_mux_start (CvMux *self)
{
  CvFrame settings = { .type = CV_FRAME_SETTINGS };

  g_return_if_fail (CV_IS_MUX (self));
  g_return_if_fail (!self->started);

  self->started = TRUE;
  settings.u.settings.version = CV_PROTOCOL_VERSION;
  settings.u.settings.initial_window = self->config.initial_window;
  settings.u.settings.max_payload = self->config.max_payload;
  settings.u.settings.max_channels = self->config.max_channels;
  /* SETTINGS leads every batch; anything queued before start follows it. */
  {
    g_autoptr (GByteArray) rest = self->control_out;
    self->control_out = g_byte_array_new ();
    cv_frame_encode (&settings, self->control_out, NULL);
    g_byte_array_append (self->control_out, rest->data, rest->len);
  }

  cv_mux_start_keepalive (self);
  cv_mux_start_flushing (self);
  cv_mux_start_reading (self);

  cv_mux_read_from_carrier (self);
  cv_mux_flush_now (self);
}

/**
 * cv_mux_goaway:
 * Graceful close: no new channels either way; the carrier closes when the last open
 * channel finishes and what was queued is written, or at config.close_timeout_ms,
 * whichever comes first.  Once no channel is left, the peer's frames get no answer.
 */
void
cv_mux_goaway (CvMux *self, CvGoawayReason reason, const char *message)
{
  g_return_if_fail (CV_IS_MUX (self));

  if (self->closed || self->goaway_sent)
    return;
  if (reason != CV_GOAWAY_REASON_NORMAL && reason != CV_GOAWAY_REASON_SHUTTING_DOWN
      && reason != CV_GOAWAY_REASON_REPLACED)
    {
      /* An error is not a goodbye: the carrier closes now, with a parting GOAWAY. */
      cv_mux_shutdown (self, g_error_new (CV_MUX_ERROR, reason, "%s",
                                          message != NULL ? message
                                                          : cv_goaway_reason_to_string (reason)));
      return;
    }
  self->goaway_sent = TRUE;
  cv_mux_start_close_deadline (self);
  cv_mux_queue_close_frame (self, CV_FRAME_GOAWAY, 0, reason, self->highest_remote_id, message);
  cv_mux_flush (self);
}

/* Hard close: every channel fails with carrier-closed. */
void
cv_mux_close (CvMux *self)
{
  g_return_if_fail (CV_IS_MUX (self));

  if (!self->closed)
    cv_mux_shutdown (self, g_error_new (CV_MUX_ERROR, CV_GOAWAY_REASON_SHUTTING_DOWN,
                                        "the carrier was closed on this side"));
}
