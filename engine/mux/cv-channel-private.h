/* cv-channel-private.h: the channel's state, shared by CvChannel and the CvMux that carries it. */
#pragma once

#include "base/cv-byte-queue.h"
#include "mux/cv-channel.h"
#include "mux/cv-mux.h"

G_BEGIN_DECLS

/* The most a channel holds for sending, whatever the peer's credit; "writable" comes
 * again when it drains below half of this. */
#define CV_CHANNEL_SEND_BUFFER (128 * 1024)

struct _CvChannel {
  GObject parent_instance;

  CvMux *mux; /* not owned; NULL once the channel is closed */
  guint32 id;
  guint16 port;
  char *host;
  CvChannelState state;
  GError *error;

  guint incoming : 1;
  guint local_fin : 1; /* the application shut down writing */
  guint fin_sent : 1;
  guint remote_fin : 1;
  guint in_send_queue : 1;
  guint readable_queued : 1; /* in the mux's list of channels to tell after this read */

  /* sending: the peer's credit, and bytes taken from the application but not yet framed */
  gint64 send_credit;
  CvByteQueue send_queue;
  GList send_link; /* node in the mux's round-robin queue */

  /* receiving: our window, what the peer may still send, what was read but not credited */
  guint32 recv_window;
  gint64 recv_credit;
  guint32 recv_unacked;
  guint32 window_target; /* below recv_window: a shrink under way, by withholding credit */
  gint64 window_epoch_us;
  guint64 window_epoch_bytes;
  CvByteQueue recv_queue;

  guint64 bytes_sent;
  guint64 bytes_received;
};

CvChannel *cv_channel_new (CvMux *mux,
                           guint32 id,
                           const char *host,
                           gsize host_len,
                           guint16 port,
                           gboolean incoming);

/* Called by the mux as frames arrive or the carrier ends. */
void cv_channel_emit_opened (CvChannel *self);
void cv_channel_emit_readable (CvChannel *self);
void cv_channel_emit_writable (CvChannel *self);
void cv_channel_finish (CvChannel *self, GError *error);

/* Called by the channel; implemented in cv-mux.c. */
void cv_mux_channel_schedule (CvMux *self, CvChannel *channel);
void cv_mux_channel_answer (CvMux *self,
                            CvChannel *channel,
                            gboolean accept,
                            CvChannelReason reason,
                            const char *message);
void cv_mux_channel_reset (CvMux *self, CvChannel *channel, CvChannelReason reason);
void cv_mux_channel_consumed (CvMux *self, CvChannel *channel, gsize len);

G_END_DECLS
