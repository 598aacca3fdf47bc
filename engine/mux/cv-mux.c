/* cv-mux.c: the multiplexer — channels, credit windows, keepalive and GOAWAY over one link.
 *
 * Everything runs on the GMainContext that was thread-default when the mux was made.
 * The link is a pollable stream, read and written without blocking: a wake-up reads
 * until the stream has nothing more (or a budget is spent), and frames queued while
 * the main loop dispatches are gathered into one batch at the start of the next
 * iteration, then written.  No GTask per read or write: on a busy link those cost
 * more than the bytes (tests/bench/CHAINS.md).  A batch carries control frames first
 * (credit, pings, answers), then DATA taken round-robin, one frame per channel per
 * turn, so a bulk channel cannot starve an interactive one.
 */
#include "mux/cv-channel-private.h"
#include "mux/cv-mux.h"
#include "base/cv-source.h"

#include <string.h>

#define READ_BUFFER_SIZE (256 * 1024)
#define TLS_RECORD_PAYLOAD 16384
/* Frames we owe the peer (PONGs, refusals) pile up only if it floods us without
 * reading; past this, the link goes. */
#define MAX_PENDING_CONTROL (1024 * 1024)
/* Bytes read in one wake-up before other sources get their turn. */
#define READ_BUDGET (1024 * 1024)

struct _CvMux {
  GObject parent_instance;

  GIOStream *stream;
  GInputStream *input;
  GOutputStream *output;
  GSource *read_source;            /* the link is readable; attached for the mux's life */
  gboolean read_more;              /* the read budget ran out with bytes left */
  GSource *write_source;           /* one-shot: armed while the link cannot take more */
  GSource *flush_source;           /* dispatches while flush_wanted or read_more */
  gboolean flush_wanted;           /* frames wait to be batched and written */
  GSource *final_write_timer;      /* how long a broken peer gets to read our GOAWAY */
  GByteArray *out;                 /* what is being written: the batch or the GOAWAY */
  gsize out_offset;
  GByteArray *final_goaway;        /* owed to a peer that broke the protocol */
  GPtrArray *readable;             /* channels with new bytes from this read */
  GMainContext *context;
  CvMuxRole role;
  CvMuxConfig config;

  GHashTable *channels; /* id → CvChannel, owned */
  guint32 next_local_id;
  guint32 highest_remote_id;
  guint n_remote_channels;
  guint n_local_channels;

  gboolean have_peer_settings;
  CvFrameSettings peer;

  guint8 *read_buffer;
  gsize read_length;

  GByteArray *control_out;
  GQueue send_queue;
  GByteArray *write_batch;
  gboolean writing;
  gboolean flushing;
  gboolean stream_closed;

  gboolean started;
  gboolean closed;
  gboolean goaway_sent;
  gboolean goaway_received;
  guint8 peer_goaway_reason;
  char *peer_goaway_message;
  GError *error;

  GSource *keepalive_source; /* attached to the mux's own context */
  gint64 last_receive_us;
  gint64 ping_sent_us;
  guint64 ping_opaque; /* random, so a PING reveals nothing about this host */
  guint64 link_window_bytes; /* sum of receive windows beyond the initial ones */
  gint64 rtt_us;

  guint64 bytes_read;
  guint64 bytes_written;
};

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

static void shutdown_link (CvMux *self, GError *error);

static void
stop_keepalive (CvMux *self)
{
  cv_source_clear (&self->keepalive_source);
}
static void flush (CvMux *self);
static void read_from_link (CvMux *self);

void
cv_mux_config_init_defaults (CvMuxConfig *config)
{
  /* Measured in tests/bench/README.md: a fixed 256 KiB window reaches about 55 % of a
   * plain socket copy on loopback and 4 MiB about 90 %, so the window starts at
   * 256 KiB (what a stalled reader can make the peer hold) and grows while it is the
   * bottleneck; 16 MiB covers ~160 MB/s at 100 ms of round trip. */
  config->initial_window = 256 * 1024;
  config->max_window = 16 * 1024 * 1024;
  config->max_payload = CV_FRAME_DEFAULT_MAX_PAYLOAD;
  config->max_channels = 4096;
  config->keepalive_interval_ms = 15000;
  config->dead_peer_timeout_ms = 45000;
  config->max_write_batch = 128 * 1024;
  config->max_carrier_window_growth = 64 * 1024 * 1024;
}

static void
cv_mux_dispose (GObject *object)
{
  CvMux *self = CV_MUX (object);

  if (self->started && !self->closed)
    shutdown_link (self, NULL);

  G_OBJECT_CLASS (cv_mux_parent_class)->dispose (object);
}

static void
cv_mux_finalize (GObject *object)
{
  CvMux *self = CV_MUX (object);

  stop_keepalive (self);
  cv_source_clear (&self->read_source);
  cv_source_clear (&self->write_source);
  cv_source_clear (&self->flush_source);
  cv_source_clear (&self->final_write_timer);
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
  properties[PROP_ROUND_TRIP_US] =
    g_param_spec_int64 ("round-trip-us", NULL, NULL, -1, G_MAXINT64, -1,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
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
   * @error: (nullable): why the link ended; %NULL after a clean GOAWAY
   */
  signals[SIGNAL_CLOSED] = g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                         0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
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
 * @stream: the link, whose input and output streams are pollable (sockets and TLS
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
  self->next_local_id = role == CV_MUX_ROLE_INITIATOR ? 1 : 2;
  self->read_buffer = g_malloc (READ_BUFFER_SIZE);
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

/* ---- sending ------------------------------------------------------------ */

static void
queue_control (CvMux *self, const CvFrame *frame)
{
  g_autoptr (GError) error = NULL;

  if (self->closed)
    return;
  if (!cv_frame_encode (frame, self->control_out, &error))
    {
      g_critical ("refusing to send an invalid %s frame: %s",
                  cv_frame_type_to_string (frame->type), error->message);
      return;
    }
  if (self->control_out->len > MAX_PENDING_CONTROL)
    {
      shutdown_link (self, g_error_new (CV_MUX_ERROR, CV_GOAWAY_REASON_CONTROL_FLOOD,
                                        "the peer sends control frames but does not read the "
                                        "answers (%u bytes owed)",
                                        self->control_out->len));
      return;
    }
  flush (self);
}

static void
queue_simple (CvMux *self, CvFrameType type, guint32 channel_id)
{
  CvFrame frame = { .type = type, .channel_id = channel_id };

  queue_control (self, &frame);
}

static void
queue_close_frame (CvMux *self, CvFrameType type, guint32 channel_id, guint8 reason,
                   guint32 last_channel_id, const char *message)
{
  CvFrame frame = { .type = type, .channel_id = channel_id };

  g_autofree char *valid = message != NULL ? g_utf8_make_valid (message, -1) : NULL;

  /* The message is for humans and may come from anywhere (an OS error string): make it
   * valid UTF-8 rather than lose the frame that carries the reason. */
  frame.u.close.reason = reason;
  frame.u.close.last_channel_id = last_channel_id;
  frame.u.close.message = valid;
  frame.u.close.message_len = valid != NULL ? strlen (valid) : 0;
  queue_control (self, &frame);
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
  flush (self);
}

static void
unschedule (CvMux *self, CvChannel *channel)
{
  if (channel->in_send_queue)
    {
      g_queue_unlink (&self->send_queue, &channel->send_link);
      channel->in_send_queue = FALSE;
    }
}

/* Drop a channel from the link: nothing more is sent or expected for it. */
static void
remove_channel (CvMux *self, CvChannel *channel, GError *error)
{
  g_autoptr (CvChannel) hold G_GNUC_UNUSED = g_object_ref (channel);

  unschedule (self, channel);
  if (g_hash_table_remove (self->channels, GUINT_TO_POINTER (channel->id)))
    {
      self->link_window_bytes -= channel->recv_window - self->config.initial_window;
      if (channel->incoming)
        self->n_remote_channels--;
      else
        self->n_local_channels--;
    }
  cv_channel_finish (channel, error);

  if (self->goaway_sent && g_hash_table_size (self->channels) == 0 && !self->closed)
    flush (self); /* the link closes once its last frames are out */
}

/* Both directions finished cleanly: the channel is done. */
static void
maybe_finish_channel (CvMux *self, CvChannel *channel)
{
  if (channel->fin_sent && channel->remote_fin)
    remove_channel (self, channel, NULL);
}

static void
append_data_frames (CvMux *self, GByteArray *batch, GPtrArray *drained)
{
  /* A DATA frame and its header fill one 16 KiB TLS record exactly: a frame split
   * across two records makes the receiver keep and move the partial frame after
   * every read (measured in tests/bench/CHAINS.md). */
  gsize max_payload = MIN (self->have_peer_settings ? MIN (self->peer.max_payload,
                                                           self->config.max_payload)
                                                    : CV_FRAME_DEFAULT_MAX_PAYLOAD,
                           TLS_RECORD_PAYLOAD - CV_FRAME_HEADER_SIZE);
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
          if (buffered >= CV_CHANNEL_SEND_BUFFER / 2
              && buffered - n < CV_CHANNEL_SEND_BUFFER / 2 && channel->send_credit > 0)
            g_ptr_array_add (drained, g_object_ref (channel));
        }
      if (channel->local_fin && !channel->fin_sent
          && cv_byte_queue_length (&channel->send_queue) == 0)
        {
          guint start = batch->len;

          g_byte_array_set_size (batch, start + CV_FRAME_HEADER_SIZE);
          cv_frame_write_header (batch->data + start, 0, CV_FRAME_FIN, 0, channel->id);
          channel->fin_sent = TRUE;
          maybe_finish_channel (self, channel);
          continue;
        }
      if (channel_is_sendable (self, channel))
        {
          channel->in_send_queue = TRUE;
          g_queue_push_tail_link (&self->send_queue, &channel->send_link);
        }
    }
}

static void write_out (CvMux *self);

/* Both ends said GOAWAY and no channel is left: whoever closes the socket first, the
 * other's last write or read may fail (EPIPE, ECONNRESET), and that is still a clean
 * end, not a lost link. */
static gboolean
goodbyes_done (CvMux *self)
{
  return self->goaway_received && self->goaway_sent && g_hash_table_size (self->channels) == 0;
}
static void write_final_goaway (CvMux *self);

static void
close_stream_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
}

/* The stream closes once the cancelled read and write have come back: closing it
 * under a pending operation would fail. */
static void
maybe_close_stream (CvMux *self)
{
  if (!self->closed || self->writing || self->stream_closed)
    return;
  self->stream_closed = TRUE;
  cv_source_clear (&self->final_write_timer);
  g_io_stream_close_async (self->stream, G_PRIORITY_DEFAULT, NULL, close_stream_done, NULL);
}

/* Frames are waiting: batch and write them at the start of the next main-loop
 * iteration, so that everything queued while this one dispatches goes together. */
static void
flush (CvMux *self)
{
  self->flush_wanted = TRUE;
}

static void
flush_now (CvMux *self)
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
        shutdown_link (self, NULL);
      return;
    }

  self->writing = TRUE;
  self->out = batch;
  self->out_offset = 0;
  write_out (self);
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

  return (self->flush_wanted && !self->writing) || self->read_more;
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

  if (self->read_more)
    {
      self->read_more = FALSE;
      read_from_link (self);
    }
  if (!self->closed && self->flush_wanted && !self->writing)
    flush_now (self);
  return G_SOURCE_CONTINUE;
}

static void write_done (CvMux *self, GError *error);

static gboolean
on_link_writable (GObject *stream, gpointer user_data)
{
  CvMux *self = user_data;
  g_autoptr (CvMux) hold G_GNUC_UNUSED = g_object_ref (self);

  g_clear_pointer (&self->write_source, g_source_unref);
  write_out (self);
  return G_SOURCE_REMOVE;
}

/* Writes what is left of self->out; when the link takes no more, waits for it. */
static void
write_out (CvMux *self)
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
              g_source_set_callback (self->write_source, G_SOURCE_FUNC (on_link_writable), self,
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
        write_final_goaway (self);
      else
        g_clear_pointer (&self->final_goaway, g_byte_array_unref);
      g_clear_error (&error);
      maybe_close_stream (self);
      return;
    }
  if (error != NULL)
    {
      if (goodbyes_done (self))
        shutdown_link (self, NULL);
      else
        shutdown_link (self, g_error_new (CV_MUX_ERROR, CV_GOAWAY_REASON_CONNECTION_LOST,
                                          "writing to the link failed: %s", error->message));
      g_error_free (error);
      return;
    }
  flush (self);
}

/* ---- channels from the application ------------------------------------- */

static CvChannel *
lookup_channel (CvMux *self, guint32 id)
{
  return g_hash_table_lookup (self->channels, GUINT_TO_POINTER (id));
}

static void
add_channel (CvMux *self, CvChannel *channel)
{
  g_hash_table_insert (self->channels, GUINT_TO_POINTER (channel->id), channel);
  if (channel->incoming)
    self->n_remote_channels++;
  else
    self->n_local_channels++;

  channel->recv_window = self->config.initial_window;
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
 * Returns: (transfer full): the channel, or %NULL if the link cannot open one now
 */
CvChannel *
cv_mux_open_channel (CvMux *self, const char *host, guint16 port, GError **error)
{
  CvFrame frame = { .type = CV_FRAME_OPEN };
  CvChannel *channel;
  gsize host_len;

  g_return_val_if_fail (CV_IS_MUX (self), NULL);
  g_return_val_if_fail (host != NULL, NULL);

  host_len = strlen (host);
  if (self->closed)
    {
      g_set_error (error, CV_CHANNEL_ERROR, CV_CHANNEL_REASON_CARRIER_CLOSED, "the link is closed");
      return NULL;
    }
  if (self->goaway_sent || self->goaway_received)
    {
      g_set_error (error, CV_CHANNEL_ERROR, CV_CHANNEL_REASON_GOING_AWAY,
                   "the link is going away; no new channels");
      return NULL;
    }
  if (self->have_peer_settings && self->n_local_channels >= self->peer.max_channels)
    {
      g_set_error (error, CV_CHANNEL_ERROR, CV_CHANNEL_REASON_TOO_MANY_CHANNELS,
                   "the peer allows %u open channels on this link", self->peer.max_channels);
      return NULL;
    }
  if (self->next_local_id > CV_FRAME_MAX_CHANNEL_ID)
    {
      g_set_error (error, CV_CHANNEL_ERROR, CV_CHANNEL_REASON_TOO_MANY_CHANNELS,
                   "channel ids on this link are used up; open a new link");
      return NULL;
    }

  frame.channel_id = self->next_local_id;
  frame.u.open.host = host;
  frame.u.open.host_len = host_len;
  frame.u.open.port = port;
  if (!cv_frame_encode (&frame, self->control_out, error))
    return NULL;

  channel = cv_channel_new (self, self->next_local_id, host, host_len, port, FALSE);
  self->next_local_id += 2;
  add_channel (self, g_object_ref (channel));
  flush (self);
  return channel;
}

void
cv_mux_channel_answer (CvMux *self, CvChannel *channel, gboolean accept,
                       CvChannelReason reason, const char *message)
{
  if (accept)
    {
      queue_simple (self, CV_FRAME_OPEN_OK, channel->id);
      channel->state = CV_CHANNEL_STATE_OPEN;
      cv_mux_channel_schedule (self, channel);
      if (cv_channel_get_send_space (channel) > 0)
        cv_channel_emit_writable (channel);
      return;
    }

  queue_close_frame (self, CV_FRAME_OPEN_FAIL, channel->id, reason, 0, message);
  remove_channel (self, channel,
                  g_error_new (CV_CHANNEL_ERROR, reason, "refused here: %s%s%s",
                               cv_channel_reason_to_string (reason), message ? ": " : "",
                               message ? message : ""));
}

void
cv_mux_channel_reset (CvMux *self, CvChannel *channel, CvChannelReason reason)
{
  queue_close_frame (self, CV_FRAME_RESET, channel->id, reason, 0, NULL);
  remove_channel (self, channel,
                  g_error_new (CV_CHANNEL_ERROR, reason, "reset here: %s",
                               cv_channel_reason_to_string (reason)));
}

/* The application consumed @len bytes: return credit once a quarter of the window is
 * owed, and grow the window when a whole window went by in under a few round trips
 * (the window, not the application, was what limited the channel). */
void
cv_mux_channel_consumed (CvMux *self, CvChannel *channel, gsize len)
{
  guint32 increment;

  if (channel->remote_fin || channel->state == CV_CHANNEL_STATE_CLOSED)
    return;

  channel->recv_unacked += len;
  channel->window_epoch_bytes += len;
  if (channel->recv_unacked < channel->recv_window / 4)
    return;

  increment = channel->recv_unacked;
  if (channel->window_epoch_bytes >= channel->recv_window)
    {
      gint64 now = g_get_monotonic_time ();

      if (self->rtt_us > 0 && channel->recv_window < self->config.max_window
          && now - channel->window_epoch_us < 4 * self->rtt_us)
        {
          guint32 grown = MIN ((guint64) channel->recv_window * 2, self->config.max_window);
          guint32 growth = grown - channel->recv_window;

          /* Growth comes out of one budget per link, so many busy channels cannot make
           * the link hold max_channels × max_window. */
          if (self->link_window_bytes + growth <= self->config.max_carrier_window_growth)
            {
              self->link_window_bytes += growth;
              increment += growth;
              channel->recv_window = grown;
            }
        }
      channel->window_epoch_us = now;
      channel->window_epoch_bytes = 0;
    }

  {
    CvFrame frame = { .type = CV_FRAME_WINDOW_UPDATE, .channel_id = channel->id };

    frame.u.window_increment = increment;
    channel->recv_credit += increment;
    channel->recv_unacked = 0;
    queue_control (self, &frame);
  }
}

gboolean
cv_mux_send_control (CvMux *self, guint type, const char *json, GError **error)
{
  CvFrame frame = { .type = type };
  gsize len = strlen (json);

  g_return_val_if_fail (CV_IS_MUX (self), FALSE);
  g_return_val_if_fail (cv_frame_type_is_control_message (type), FALSE);

  if (self->closed)
    {
      g_set_error (error, CV_MUX_ERROR, CV_GOAWAY_REASON_CONNECTION_LOST, "the link is closed");
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
  if (!cv_frame_encode (&frame, self->control_out, error))
    return FALSE;
  flush (self);
  return TRUE;
}

/* ---- receiving ---------------------------------------------------------- */

static gboolean
link_error (CvMux *self, CvGoawayReason code, const char *format, ...) G_GNUC_PRINTF (3, 4);

static gboolean
link_error (CvMux *self, CvGoawayReason code, const char *format, ...)
{
  va_list args;
  GError *error;

  va_start (args, format);
  error = g_error_new_valist (CV_MUX_ERROR, code, format, args);
  va_end (args);
  shutdown_link (self, error);
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
  CvChannel *channel = lookup_channel (self, frame->channel_id);
  gboolean existed;

  *ok = TRUE;
  if (channel != NULL)
    return channel;
  existed = is_peer_id (self, frame->channel_id) ? frame->channel_id <= self->highest_remote_id
                                                 : frame->channel_id < self->next_local_id;
  if (!existed)
    *ok = link_error (self, CV_GOAWAY_REASON_CHANNEL_ID, "%s frame for channel %u, which was never opened",
                      cv_frame_type_to_string (frame->type), frame->channel_id);
  return NULL;
}

static gboolean
handle_settings (CvMux *self, const CvFrame *frame)
{
  GHashTableIter iter;
  gpointer value;

  if (self->have_peer_settings)
    return link_error (self, CV_GOAWAY_REASON_PROTOCOL_ERROR, "a second SETTINGS frame");
  /* Version 1 is the only one there is; a peer that speaks only later ones says so
   * by its version field, which an older peer could not read past. */
  if (frame->u.settings.version < CV_PROTOCOL_VERSION)
    return link_error (self, CV_GOAWAY_REASON_VERSION_MISMATCH,
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
    return link_error (self, CV_GOAWAY_REASON_CHANNEL_ID,
                       "OPEN for channel %u, an id only this side may use", id);
  if (id <= self->highest_remote_id)
    return link_error (self, CV_GOAWAY_REASON_CHANNEL_ID,
                       "OPEN for channel %u, reused or out of order (last was %u)", id,
                       self->highest_remote_id);
  self->highest_remote_id = id;

  if (self->goaway_sent)
    {
      queue_close_frame (self, CV_FRAME_OPEN_FAIL, id, CV_CHANNEL_REASON_GOING_AWAY, 0, NULL);
      return TRUE;
    }
  if (self->n_remote_channels >= self->config.max_channels)
    {
      queue_close_frame (self, CV_FRAME_OPEN_FAIL, id, CV_CHANNEL_REASON_TOO_MANY_CHANNELS, 0,
                         "channel limit reached");
      return TRUE;
    }

  channel = cv_channel_new (self, id, frame->u.open.host, frame->u.open.host_len,
                            frame->u.open.port, TRUE);
  add_channel (self, g_object_ref (channel));

  if (!g_signal_has_handler_pending (self, signals[SIGNAL_INCOMING_CHANNEL], 0, FALSE))
    {
      cv_channel_refuse (channel, CV_CHANNEL_REASON_REFUSED, "this side accepts no channels");
      return TRUE;
    }
  g_signal_emit (self, signals[SIGNAL_INCOMING_CHANNEL], 0, channel);
  return TRUE;
}

static gboolean
handle_data (CvMux *self, CvChannel *channel, const CvFrame *frame)
{
  gsize len = frame->u.data.len;

  if ((gint64) len > channel->recv_credit)
    return link_error (self, CV_GOAWAY_REASON_FLOW_CONTROL,
                       "channel %u: %" G_GSIZE_FORMAT " bytes of DATA with only %" G_GINT64_FORMAT
                       " bytes of window left",
                       channel->id, len, channel->recv_credit);
  channel->recv_credit -= len;

  if (channel->remote_fin)
    {
      /* Scoped to the channel: the link's framing is intact. */
      cv_mux_channel_reset (self, channel, CV_CHANNEL_REASON_STREAM_CLOSED);
      return TRUE;
    }
  if (!channel->incoming && channel->state == CV_CHANNEL_STATE_OPENING)
    return link_error (self, CV_GOAWAY_REASON_PROTOCOL_ERROR,
                       "DATA on channel %u before OPEN_OK", channel->id);

  cv_byte_queue_push (&channel->recv_queue, frame->u.data.bytes, len);
  channel->bytes_received += len;
  /* One "readable" per read from the link, not per frame: a 256 KiB read carries
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
    return link_error (self, reason, "the peer closed the link: %s%s%s",
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
    remove_channel (self, unanswered->pdata[i],
                    g_error_new (CV_CHANNEL_ERROR, CV_CHANNEL_REASON_GOING_AWAY,
                                 "the peer is going away (%s)", cv_goaway_reason_to_string (reason)));
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
    return link_error (self, CV_GOAWAY_REASON_PROTOCOL_ERROR,
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
        pong.u.ping_opaque = frame->u.ping_opaque;
        queue_control (self, &pong);
        return !self->closed;
      }
    case CV_FRAME_PONG:
      if (self->ping_sent_us != 0 && frame->u.ping_opaque == self->ping_opaque)
        {
          gint64 rtt_us = MAX (g_get_monotonic_time () - self->ping_sent_us, 1);

          self->ping_sent_us = 0;
          if (rtt_us != self->rtt_us)
            {
              self->rtt_us = rtt_us;
              g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ROUND_TRIP_US]);
            }
        }
      return !self->closed;
    case CV_FRAME_GOAWAY:
      return handle_goaway (self, frame);
    default:
      break;
    }

  if (cv_frame_type_is_control_message (frame->type))
    {
      g_autoptr (GBytes) json = g_bytes_new (frame->u.data.bytes, frame->u.data.len);
      g_signal_emit (self, signals[SIGNAL_CONTROL_MESSAGE], 0, (guint) frame->type, json);
      return !self->closed;
    }

  channel = channel_for_frame (self, frame, &ok);
  if (channel == NULL)
    return ok;

  switch (frame->type)
    {
    case CV_FRAME_OPEN_OK:
      if (channel->incoming || channel->state != CV_CHANNEL_STATE_OPENING)
        return link_error (self, CV_GOAWAY_REASON_PROTOCOL_ERROR,
                           "unexpected OPEN_OK for channel %u", channel->id);
      channel->state = CV_CHANNEL_STATE_OPEN;
      cv_channel_emit_opened (channel);
      return TRUE;
    case CV_FRAME_OPEN_FAIL:
      if (channel->incoming || channel->state != CV_CHANNEL_STATE_OPENING)
        return link_error (self, CV_GOAWAY_REASON_PROTOCOL_ERROR,
                           "unexpected OPEN_FAIL for channel %u", channel->id);
      remove_channel (self, channel,
                      g_error_new (CV_CHANNEL_ERROR, frame->u.close.reason,
                                   "the peer refused %s:%u: %s%s%.*s", channel->host,
                                   channel->port,
                                   cv_channel_reason_to_string (frame->u.close.reason),
                                   frame->u.close.message_len ? ": " : "",
                                   (int) frame->u.close.message_len, frame->u.close.message));
      return TRUE;
    case CV_FRAME_DATA:
      return handle_data (self, channel, frame);
    case CV_FRAME_FIN:
      if (!channel->incoming && channel->state == CV_CHANNEL_STATE_OPENING)
        return link_error (self, CV_GOAWAY_REASON_PROTOCOL_ERROR,
                           "FIN on channel %u before OPEN_OK", channel->id);
      if (channel->remote_fin)
        {
          /* Like DATA after FIN: the channel's state is broken, the link's framing is not. */
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
      if (lookup_channel (self, frame->channel_id) == channel)
        maybe_finish_channel (self, channel);
      return TRUE;
    case CV_FRAME_RESET:
      remove_channel (self, channel,
                      g_error_new (CV_CHANNEL_ERROR, frame->u.close.reason,
                                   "the peer reset the channel: %s",
                                   cv_channel_reason_to_string (frame->u.close.reason)));
      return TRUE;
    case CV_FRAME_WINDOW_UPDATE:
      channel->send_credit += frame->u.window_increment;
      if (channel->send_credit > CV_FRAME_MAX_WINDOW)
        return link_error (self, CV_GOAWAY_REASON_FLOW_CONTROL,
                           "channel %u: WINDOW_UPDATE takes the window past 2^31-1", channel->id);
      cv_mux_channel_schedule (self, channel);
      if (cv_channel_get_send_space (channel) > 0)
        cv_channel_emit_writable (channel);
      return TRUE;
    default:
      return link_error (self, CV_GOAWAY_REASON_PROTOCOL_ERROR, "unexpected %s frame",
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
process_input (CvMux *self)
{
  g_autoptr (CvMux) hold G_GNUC_UNUSED = g_object_ref (self);

  process_frames (self);
  emit_readable (self);
}

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
                                                    self->read_length - offset, max_payload,
                                                    &frame, &consumed, &error);

      /* Say so plainly when the peer is not Culvert at all (an HTTP client, a
       * TLS record, …) rather than report its first bytes as a huge frame. */
      if (!self->have_peer_settings && self->read_length - offset >= CV_FRAME_HEADER_SIZE
          && self->read_buffer[offset + 3] != CV_FRAME_SETTINGS)
        {
          link_error (self, CV_GOAWAY_REASON_PROTOCOL_ERROR,
                      "the peer does not speak the Culvert protocol (its first frame is not "
                      "SETTINGS)");
          return;
        }
      if (result == CV_FRAME_DECODE_NEED_MORE)
        break;
      if (result == CV_FRAME_DECODE_ERROR)
        {
          shutdown_link (self, g_steal_pointer (&error));
          return;
        }
      offset += consumed;
      /* Liveness counts whole frames: a peer trickling bytes does not look alive. */
      self->last_receive_us = g_get_monotonic_time ();
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
on_link_readable (GObject *stream, gpointer user_data)
{
  CvMux *self = user_data;

  /* A stream with bytes already buffered makes its source ready at once; that
   * readiness is spent now, the socket's is what counts from here on. */
  if (g_source_get_ready_time (self->read_source) == 0)
    g_source_set_ready_time (self->read_source, -1);
  read_from_link (self);
  return G_SOURCE_CONTINUE;
}

/* Reads and handles what the link has, until it has no more or the budget is spent
 * (then the flush source reads on at the start of the next iteration). */
static void
read_from_link (CvMux *self)
{
  g_autoptr (CvMux) hold G_GNUC_UNUSED = g_object_ref (self);
  gsize budget = READ_BUDGET;

  while (!self->closed)
    {
      g_autoptr (GError) error = NULL;
      gssize n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (self->input),
                                                           self->read_buffer + self->read_length,
                                                           READ_BUFFER_SIZE - self->read_length,
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
  /* Whatever the frames just read asked for goes out in this wake-up's batch. */
  if (!self->closed && !self->writing && self->flush_wanted)
    flush_now (self);
}

/* Returns TRUE if reading should go on. */
static gboolean
handle_read (CvMux *self, gssize n, const GError *error)
{
  if (n < 0)
    {
      if (goodbyes_done (self))
        shutdown_link (self, NULL);
      else
        shutdown_link (self, g_error_new (CV_MUX_ERROR, CV_GOAWAY_REASON_CONNECTION_LOST,
                                          "reading from the link failed: %s", error->message));
      return FALSE;
    }
  if (n == 0)
    {
      if (self->goaway_received && g_hash_table_size (self->channels) == 0)
        shutdown_link (self, NULL);
      else
        shutdown_link (self, g_error_new (CV_MUX_ERROR, CV_GOAWAY_REASON_CONNECTION_LOST,
                                          self->goaway_received
                                            ? "the peer closed the link with %u channels still open"
                                            : "the peer closed the link without GOAWAY",
                                          g_hash_table_size (self->channels)));
      return FALSE;
    }

  self->bytes_read += n;
  self->read_length += n;
  process_input (self);
  return !self->closed;
}

/* ---- keepalive ---------------------------------------------------------- */

static gboolean
on_keepalive_tick (gpointer user_data)
{
  CvMux *self = user_data;
  gint64 now = g_get_monotonic_time ();
  gint64 silent_ms = (now - self->last_receive_us) / 1000;

  if (silent_ms >= self->config.dead_peer_timeout_ms)
    {
      link_error (self, CV_GOAWAY_REASON_KEEPALIVE_TIMEOUT,
                  "no frame from the peer for %" G_GINT64_FORMAT " ms (dead-peer timeout %u ms)",
                  silent_ms, self->config.dead_peer_timeout_ms);
      return G_SOURCE_REMOVE;
    }
  if (self->ping_sent_us == 0
      && (silent_ms >= self->config.keepalive_interval_ms || self->rtt_us == 0))
    {
      CvFrame ping = { .type = CV_FRAME_PING };

      self->ping_sent_us = now;
      self->ping_opaque = ((guint64) g_random_int () << 32) | g_random_int ();
      ping.u.ping_opaque = self->ping_opaque;
      queue_control (self, &ping);
    }
  else if (self->ping_sent_us != 0
           && (now - self->ping_sent_us) / 1000 >= self->config.keepalive_interval_ms)
    {
      /* The PONG may have been lost with a broken link; the deadline above decides. */
      self->ping_sent_us = 0;
    }
  return G_SOURCE_CONTINUE;
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
  g_autoptr (GSource) tick = NULL;
  guint period_ms;

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

  self->last_receive_us = g_get_monotonic_time ();
  period_ms = MAX (MIN (self->config.keepalive_interval_ms, self->config.dead_peer_timeout_ms) / 4, 10);
  tick = g_timeout_source_new (period_ms);
  g_source_set_callback (tick, on_keepalive_tick, self, NULL);
  g_source_set_static_name (tick, "[culvert] mux keepalive");
  g_source_attach (tick, self->context);
  self->keepalive_source = g_source_ref (tick);

  /* A first PING measures the round trip that window growth is judged by. */
  {
    CvFrame ping = { .type = CV_FRAME_PING };
    self->ping_sent_us = self->last_receive_us;
    self->ping_opaque = ((guint64) g_random_int () << 32) | g_random_int ();
    ping.u.ping_opaque = self->ping_opaque;
    cv_frame_encode (&ping, self->control_out, NULL);
  }

  self->flush_source = g_source_new (&flush_source_funcs, sizeof (FlushSource));
  ((FlushSource *) self->flush_source)->mux = self;
  g_source_set_callback (self->flush_source, on_flush_ready, self, NULL);
  g_source_set_static_name (self->flush_source, "[culvert] mux flush");
  g_source_attach (self->flush_source, self->context);

  self->read_source = g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (self->input),
                                                             NULL);
  g_source_set_callback (self->read_source, G_SOURCE_FUNC (on_link_readable), self, NULL);
  cv_source_attach_io (self->read_source, "[culvert] mux read", self->context);

  read_from_link (self);
  flush_now (self);
}

/**
 * cv_mux_goaway:
 * Graceful close: no new channels either way; the link closes when the last open
 * channel finishes.
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
      /* An error is not a goodbye: the link closes now, with a parting GOAWAY. */
      shutdown_link (self, g_error_new (CV_MUX_ERROR, reason, "%s",
                                        message != NULL ? message
                                                        : cv_goaway_reason_to_string (reason)));
      return;
    }
  self->goaway_sent = TRUE;
  queue_close_frame (self, CV_FRAME_GOAWAY, 0, reason, self->highest_remote_id, message);
  flush (self);
}

/* Hard close: every channel fails with link-closed. */
void
cv_mux_close (CvMux *self)
{
  g_return_if_fail (CV_IS_MUX (self));

  if (!self->closed)
    shutdown_link (self, g_error_new (CV_MUX_ERROR, CV_GOAWAY_REASON_SHUTTING_DOWN,
                                      "the link was closed on this side"));
}

/* The batch being written is dropped where it stands: the link is closing. */
static void
abandon_write (CvMux *self)
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
  abandon_write (self);
  maybe_close_stream (self);
  return G_SOURCE_REMOVE;
}

/* The last bytes on a link the peer broke: a GOAWAY naming why, so its logs say it. */
static void
write_final_goaway (CvMux *self)
{
  GByteArray *goaway = g_steal_pointer (&self->final_goaway);

  self->writing = TRUE;
  g_object_set_data_full (G_OBJECT (self), "cv-final-goaway", goaway,
                          (GDestroyNotify) g_byte_array_unref);
  self->out = goaway;
  self->out_offset = 0;
  write_out (self);
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

static void
shutdown_link (CvMux *self, GError *error)
{
  g_autoptr (CvMux) hold G_GNUC_UNUSED = g_object_ref (self);
  g_autoptr (GPtrArray) channels = NULL;

  if (self->closed)
    {
      g_clear_error (&error);
      return;
    }
  if (error != NULL && error->domain == CV_MUX_ERROR && error->code != CV_GOAWAY_REASON_CONNECTION_LOST
      && error->code != CV_GOAWAY_REASON_KEEPALIVE_TIMEOUT && !self->goaway_received && self->started)
    prepare_final_goaway (self, error);

  self->closed = TRUE;
  self->error = error;
  if (error != NULL)
    g_debug ("link closed: %s", error->message);
  stop_keepalive (self);
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
        write_final_goaway (self);
    }
  else
    abandon_write (self);

  channels = g_ptr_array_new_with_free_func (g_object_unref);
  {
    GHashTableIter iter;
    gpointer value;

    g_hash_table_iter_init (&iter, self->channels);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      g_ptr_array_add (channels, g_object_ref (value));
  }
  for (guint i = 0; i < channels->len; i++)
    remove_channel (self, channels->pdata[i],
                    g_error_new (CV_CHANNEL_ERROR, CV_CHANNEL_REASON_CARRIER_CLOSED,
                                 "the link closed: %s",
                                 error != NULL ? error->message : "normal close"));

  maybe_close_stream (self);
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0, self->error);
}
