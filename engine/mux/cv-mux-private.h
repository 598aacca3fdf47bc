/* cv-mux-private.h: the mux's state and the functions its files call in one another.
 *
 * CvMux is one object over five files, each with one job:
 *   cv-mux.c           the object: construction, properties, signals, start, GOAWAY, close
 *   cv-mux-write.c     sending: control frames, the round-robin DATA batch, writing it out
 *   cv-mux-read.c      receiving: reading the carrier, decoding and acting on each frame
 *   cv-mux-channels.c  the channel table, and what a CvChannel asks of its mux
 *   cv-mux-keepalive.c PING, PONG and the dead-peer deadline
 *   cv-mux-close.c     the end of a carrier: the parting GOAWAY, closing the stream
 * Nothing outside mux/ includes this header. */
#pragma once

#include "mux/cv-channel-private.h"
#include "mux/cv-mux.h"

G_BEGIN_DECLS

#define CV_MUX_READ_BUFFER_SIZE (256 * 1024)
#define CV_MUX_TLS_RECORD_PAYLOAD 16384
/* What waits to be written piles up only if the peer does not read: past
 * max_output_bytes (1 MiB by default, never less than this), the carrier goes. */
#define CV_MUX_DEFAULT_MAX_OUTPUT (1024 * 1024)
#define CV_MUX_MIN_OUTPUT 1024
/* Bytes read in one wake-up before other sources get their turn. */
#define CV_MUX_READ_BUDGET (1024 * 1024)

struct _CvMux {
  GObject parent_instance;

  GIOStream *stream;
  GInputStream *input;
  GOutputStream *output;
  GSource *read_source;        /* the carrier is readable; attached for the mux's life */
  gboolean read_more;          /* the read budget ran out with bytes left */
  GSource *write_source;       /* one-shot: armed while the carrier cannot take more */
  GSource *flush_source;       /* dispatches while flush_wanted or read_more */
  gboolean flush_wanted;       /* frames wait to be batched and written */
  gboolean flush_at_batch_end; /* ... by the poller's batch now being dispatched */
  GSource *final_write_timer;  /* how long a broken peer gets to read our GOAWAY */
  GSource *close_timer;        /* after our graceful GOAWAY: config.close_timeout_ms */
  gsize output_overflow;       /* a send passed max_output_bytes with this much held: fail at
                                * the next dispatch; 0 while none did */
  GByteArray *out;             /* what is being written: the batch or the GOAWAY */
  gsize out_offset;
  GByteArray *final_goaway; /* owed to a peer that broke the protocol */
  GPtrArray *readable;      /* channels with new bytes from this read */
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
  guint64 ping_opaque;          /* random, so a PING reveals nothing about this host */
  guint64 carrier_window_bytes; /* sum of receive windows beyond the initial ones */
  gint64 rtt_us;

  guint64 bytes_read;
  guint64 bytes_written;
};

/* cv-mux.c: what the other files tell the object's users. */
void cv_mux_emit_incoming_channel (CvMux *self, CvChannel *channel);
void cv_mux_emit_control_message (CvMux *self, guint type, GBytes *json);
void cv_mux_emit_closed (CvMux *self);
void cv_mux_set_round_trip (CvMux *self, gint64 rtt_us);

/* cv-mux-write.c */
void cv_mux_start_flushing (CvMux *self);
void cv_mux_queue_control (CvMux *self, const CvFrame *frame);
void cv_mux_queue_simple (CvMux *self, CvFrameType type, guint32 channel_id);
void cv_mux_queue_close_frame (CvMux *self,
                               CvFrameType type,
                               guint32 channel_id,
                               guint8 reason,
                               guint32 last_channel_id,
                               const char *message);
void cv_mux_flush (CvMux *self);
void cv_mux_flush_now (CvMux *self);
void cv_mux_write_out (CvMux *self);
gboolean cv_mux_output_fits (CvMux *self, gboolean now);

/* cv-mux-read.c */
void cv_mux_start_reading (CvMux *self);
void cv_mux_read_from_carrier (CvMux *self);
gboolean cv_mux_fail (CvMux *self, CvGoawayReason code, const char *format, ...)
  G_GNUC_PRINTF (3, 4);

/* cv-mux-channels.c */
CvChannel *cv_mux_lookup_channel (CvMux *self, guint32 id);
void cv_mux_add_channel (CvMux *self, CvChannel *channel);
void cv_mux_remove_channel (CvMux *self, CvChannel *channel, GError *error);
void cv_mux_maybe_finish_channel (CvMux *self, CvChannel *channel);
void cv_mux_unschedule (CvMux *self, CvChannel *channel);

/* cv-mux-keepalive.c */
void cv_mux_start_keepalive (CvMux *self);
void cv_mux_stop_keepalive (CvMux *self);
void cv_mux_pong_received (CvMux *self, guint64 opaque);

/* cv-mux-close.c */
void cv_mux_shutdown (CvMux *self, GError *error);
gboolean cv_mux_goodbyes_done (CvMux *self);
void cv_mux_write_final_goaway (CvMux *self);
void cv_mux_abandon_write (CvMux *self);
void cv_mux_maybe_close_stream (CvMux *self);
void cv_mux_start_close_deadline (CvMux *self);
gboolean cv_mux_is_answering (CvMux *self);

G_END_DECLS
