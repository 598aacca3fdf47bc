/* cv-channel.h: one tunnelled TCP connection inside a CvMux carrier. */
#pragma once

#include <gio/gio.h>

#include "wire/cv-frame.h"

G_BEGIN_DECLS

#define CV_TYPE_CHANNEL (cv_channel_get_type ())
G_DECLARE_FINAL_TYPE (CvChannel, cv_channel, CV, CHANNEL, GObject)

typedef enum {
  CV_CHANNEL_STATE_OPENING, /* OPEN sent (or received), no answer yet */
  CV_CHANNEL_STATE_OPEN,    /* data may flow both ways */
  CV_CHANNEL_STATE_CLOSED,  /* both FINs exchanged, reset, refused or the carrier ended */
} CvChannelState;

guint32 cv_channel_get_id (CvChannel *self);
const char *cv_channel_get_host (CvChannel *self);
guint16 cv_channel_get_port (CvChannel *self);
CvChannelState cv_channel_get_state (CvChannel *self);
gboolean cv_channel_is_incoming (CvChannel *self);
const GError *cv_channel_get_error (CvChannel *self);

/* Accepting side: answer an incoming OPEN, now or later (after dialling the target). */
void cv_channel_accept (CvChannel *self);
void cv_channel_refuse (CvChannel *self, CvChannelReason reason, const char *message);

/* Sending.  A channel takes at most as many bytes as the peer's window has room for,
 * so the bytes it holds never exceed the window; "writable" says when room opens. */
gsize cv_channel_get_send_space (CvChannel *self);
gsize cv_channel_write (CvChannel *self, const void *data, gsize len);
gsize cv_channel_get_send_buffered (CvChannel *self);
void cv_channel_shutdown_write (CvChannel *self);
void cv_channel_reset (CvChannel *self, CvChannelReason reason);

/* Receiving.  Bytes stay in the channel until consumed; consuming returns credit to
 * the peer.  "readable" says when bytes or the end of the stream arrive. */
const guint8 *cv_channel_peek (CvChannel *self, gsize *len);
guint cv_channel_peek_vectors (CvChannel *self, GOutputVector *vectors, guint max);
void cv_channel_consume (CvChannel *self, gsize len);
gsize cv_channel_read (CvChannel *self, void *buffer, gsize len);
gsize cv_channel_get_recv_buffered (CvChannel *self);
gboolean cv_channel_is_eof (CvChannel *self);

guint64 cv_channel_get_bytes_sent (CvChannel *self);
guint64 cv_channel_get_bytes_received (CvChannel *self);

G_END_DECLS
