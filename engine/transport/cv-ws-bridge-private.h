/* cv-ws-bridge-private.h: what the files of the WebSocket bridge share (cv-ws-bridge.c:
 * its life and its ending; -read.c: peer → inner; -write.c: inner → peer, the writer
 * to the peer, keepalive).  Nothing outside transport/ includes it. */
#pragma once

#include "transport/cv-ws-bridge.h"
#include "wire/cv-ws-frame.h"

G_BEGIN_DECLS

#define BIG_BUFFER (256 * 1024)
#define SMALL_BUFFER (4 * 1024)
/* A read this short means the stream carries little: back to the small buffer. */
#define SHRINK_BELOW 1024
/* Room in front of the inner socket's bytes for the frame header. */
#define HEADROOM CV_WS_MAX_HEADER_SIZE
/* Reads a direction does in one main-loop turn, at most. */
#define TURN_READS 4
/* Payload pieces one writev to the inner socket takes at most. */
#define MAX_VECTORS 64
/* How long the ending may take: the peer's Close after ours, the inner end's EOF after
 * it got ours, an outer close (a TLS close_notify). */
#define CLOSE_LINGER_MS 2000

typedef enum {
  WRITE_DATA,
  WRITE_PING,
  WRITE_PONG,
  WRITE_CLOSE,
} WriteKind;

typedef struct {
  gint ref_count;
  GMainContext *context;
  char *peer_name;
  gboolean is_client;
  guint64 max_message;
  guint ping_interval_ms;
  guint pong_timeout_ms;

  GIOStream *outer;
  GInputStream *outer_in;
  GOutputStream *outer_out;
  gboolean outer_pollable; /* read without blocking, wait on a source */
  GCancellable *outer_cancellable;
  GCancellable *close_cancellable; /* the outer close only, bounded by close_timer */

  GSocketConnection *inner; /* our end of the pair */
  GSocket *inner_socket;
  GOutputStream *inner_out;
  GCancellable *inner_write_cancellable;

  /* Peer → inner: [in_start, in_end) of in_buf is read and not yet parsed; no
   * in_buf while waiting with nothing left to parse. */
  guint8 *in_buf;
  gsize in_allocated;
  gsize in_cap; /* its size, or the size it will have */
  gsize in_start;
  gsize in_end;
  gsize in_last_read; /* what the last read gave, and the room it had */
  gsize in_last_room;
  gboolean in_frame;        /* between a frame's header and the end of its payload */
  CvWsFrameHeader frame;    /* that frame */
  guint64 frame_done;       /* its payload bytes seen so far */
  guint8 frame_message;     /* the opcode of the message it belongs to */
  CvWsMessageState message; /* fragmentation */
  guint8 control[CV_WS_MAX_CONTROL_PAYLOAD];
  gsize control_len;
  GOutputVector vectors[MAX_VECTORS]; /* payload pieces in in_buf for the inner socket */
  guint n_vectors;
  gboolean outer_reading; /* an async read (a stream that cannot be polled) */
  GSource *outer_source;  /* waiting for it to be readable */
  gboolean inner_writing;

  /* Inner → peer: a frame at out_buf + HEADROOM - out_header_len; no out_buf while
   * waiting. */
  guint8 *out_buf;
  gsize out_allocated;
  gsize out_cap; /* payload room behind HEADROOM */
  gsize out_len;
  gsize out_last_read; /* what the last read gave, and the room it had */
  gsize out_last_room;
  guint out_header_len;
  gboolean frame_ready;  /* out_buf holds a frame for the writer */
  GSource *inner_source; /* waiting for the inner socket to be readable */

  /* The writer to the peer. */
  gboolean outer_writing;
  WriteKind writing;
  guint8 control_out[CV_WS_MAX_HEADER_SIZE + CV_WS_MAX_CONTROL_PAYLOAD];
  gboolean pong_wanted;
  guint8 pong_payload[CV_WS_MAX_CONTROL_PAYLOAD];
  gsize pong_len;
  gboolean ping_wanted;
  guint64 pings_sent;
  gboolean close_wanted;
  guint16 close_code;
  char *close_reason;

  /* How far the ending is. */
  gboolean close_sent;     /* our Close is on the wire: no more data to the peer */
  gboolean close_received; /* the peer's Close: no more data from it */
  gboolean end_on_close;   /* an error or an echo: close the stream once it is sent */
  gboolean peer_done;      /* Close, EOF or error from the peer: read it no more */
  gboolean peer_eof;       /* EOF without a Close */
  gboolean outer_errored;
  gboolean inner_eof;   /* EOF or error reading the inner end: read it no more */
  gboolean inner_gone;  /* writing to the inner end failed: drop what the peer sends */
  gboolean inner_reset; /* close the inner end at once, with RST where there is one */
  gboolean inner_shut;  /* shut down for writing: the inner end saw EOF */
  gboolean inner_closed;
  gboolean hard_end; /* CLOSE_LINGER_MS ran out: cancel and close everything */
  gboolean outer_close_started;
  gboolean outer_closed;

  GSource *ping_timer;
  GSource *pong_timer;
  GSource *linger_timer;
  GSource *close_timer;
} CvWsBridge;

/* cv-ws-bridge.c */
CvWsBridge *cv_ws_bridge_ref (CvWsBridge *self);
void cv_ws_bridge_unref (CvWsBridge *self);
void cv_ws_bridge_clear_source (GSource **source);
GSource *cv_ws_bridge_add_timer (CvWsBridge *self, guint ms, GSourceFunc func);
void cv_ws_bridge_resize_buffer (guint8 **buffer, gsize *allocated, gsize size);
gsize cv_ws_bridge_next_capacity (gsize capacity, gsize last_read, gsize room);
void cv_ws_bridge_queue_close (CvWsBridge *self,
                               guint16 code,
                               const char *reason,
                               gboolean end_on_close);
void cv_ws_bridge_fail (CvWsBridge *self, guint16 code, const char *cause);
void cv_ws_bridge_outer_failed (CvWsBridge *self, const GError *error);
void cv_ws_bridge_inner_ended (CvWsBridge *self, guint16 code);
gboolean cv_ws_bridge_draining (CvWsBridge *self);
void cv_ws_bridge_check_end (CvWsBridge *self);

/* cv-ws-bridge-read.c */
void cv_ws_bridge_run_peer_to_inner (CvWsBridge *self);

/* cv-ws-bridge-write.c */
void cv_ws_bridge_write_next (CvWsBridge *self);
void cv_ws_bridge_read_inner (CvWsBridge *self);
void cv_ws_bridge_start_keepalive (CvWsBridge *self);

G_END_DECLS
