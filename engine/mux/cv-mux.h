/* cv-mux.h: many channels with per-channel flow control over one carrier (any GIOStream). */
#pragma once

#include <gio/gio.h>

#include "mux/cv-channel.h"

G_BEGIN_DECLS

#define CV_TYPE_MUX (cv_mux_get_type ())
G_DECLARE_FINAL_TYPE (CvMux, cv_mux, CV, MUX, GObject)

/* Which end of the carrier this is: the initiator opens odd channel ids, the responder
 * even ones, so both may open channels without colliding. */
typedef enum {
  CV_MUX_ROLE_INITIATOR,
  CV_MUX_ROLE_RESPONDER,
} CvMuxRole;

typedef struct {
  guint32 initial_window;      /* bytes a peer may send on a new channel before credit returns */
  guint32 max_window;          /* the window may grow to this when it limits throughput */
  guint32 max_payload;         /* largest frame payload we accept and send */
  guint32 max_channels;        /* open channels the peer may have with us at once */
  guint keepalive_interval_ms; /* PING when the carrier has been quiet this long */
  guint dead_peer_timeout_ms;  /* close the carrier after this long without a frame */
  gsize max_write_batch;       /* bytes gathered into one write to the carrier */
  guint64 max_carrier_window_growth; /* all channels' window growth together, per carrier */
  gsize max_output_bytes; /* all that waits to be written (control frames and the batch under
                           * way); past it the peer is not reading: control-flood */
  guint close_timeout_ms; /* after this end's GOAWAY, the carrier is closed by then; 0: no limit */
} CvMuxConfig;

void cv_mux_config_init_defaults (CvMuxConfig *config);

CvMux *cv_mux_new (GIOStream *stream, CvMuxRole role, const CvMuxConfig *config);
void cv_mux_start (CvMux *self);

CvChannel *cv_mux_open_channel (CvMux *self, const char *host, guint16 port, GError **error);

gboolean cv_mux_send_control (CvMux *self, guint type, const char *json, GError **error);

void cv_mux_goaway (CvMux *self, CvGoawayReason reason, const char *message);
void cv_mux_set_max_output (CvMux *self, gsize max_output_bytes);
gsize cv_mux_get_output_held (CvMux *self);
void cv_mux_close (CvMux *self);

gboolean cv_mux_is_closed (CvMux *self);
const GError *cv_mux_get_error (CvMux *self);
guint cv_mux_get_n_channels (CvMux *self);
gint64 cv_mux_get_rtt_us (CvMux *self);
gint64 cv_mux_get_round_trip_us (CvMux *self);
const CvMuxConfig *cv_mux_get_config (CvMux *self);
int cv_mux_get_peer_goaway (CvMux *self, const char **message);
guint64 cv_mux_get_bytes_written (CvMux *self);
guint64 cv_mux_get_bytes_read (CvMux *self);

G_END_DECLS
