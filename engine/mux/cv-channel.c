/* cv-channel.c: one tunnelled TCP connection inside a CvMux carrier; the mux does the wire work. */
#include "mux/cv-channel-private.h"

#include <string.h>

enum {
  SIGNAL_OPENED,
  SIGNAL_READABLE,
  SIGNAL_WRITABLE,
  SIGNAL_CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (CvChannel, cv_channel, G_TYPE_OBJECT)

static void
cv_channel_finalize (GObject *object)
{
  CvChannel *self = CV_CHANNEL (object);

  g_free (self->host);
  g_clear_error (&self->error);
  cv_byte_queue_clear (&self->send_queue);
  cv_byte_queue_clear (&self->recv_queue);

  G_OBJECT_CLASS (cv_channel_parent_class)->finalize (object);
}

static void
cv_channel_class_init (CvChannelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = cv_channel_finalize;

  /**
   * CvChannel::opened:
   * The peer accepted a channel this side opened.
   */
  signals[SIGNAL_OPENED] = g_signal_new ("opened", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                         NULL, NULL, NULL, G_TYPE_NONE, 0);
  /**
   * CvChannel::readable:
   * Bytes arrived, or the peer finished sending (cv_channel_is_eof()).
   */
  signals[SIGNAL_READABLE] = g_signal_new ("readable", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /**
   * CvChannel::writable:
   * The peer returned credit: cv_channel_get_send_space() is above zero.
   */
  signals[SIGNAL_WRITABLE] = g_signal_new ("writable", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /**
   * CvChannel::closed:
   * @error: (nullable): why, or %NULL when both sides finished cleanly
   *
   * Nothing more goes over the wire for this channel.  Bytes already received stay
   * readable.
   */
  signals[SIGNAL_CLOSED] = g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                         NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
cv_channel_init (CvChannel *self)
{
  self->send_link.data = self;
}

CvChannel *
cv_channel_new (CvMux *mux,
                guint32 id,
                const char *host,
                gsize host_len,
                guint16 port,
                gboolean incoming)
{
  CvChannel *self = g_object_new (CV_TYPE_CHANNEL, NULL);

  self->mux = mux;
  self->id = id;
  self->host = g_strndup (host, host_len);
  self->port = port;
  self->incoming = incoming;
  self->state = CV_CHANNEL_STATE_OPENING;
  return self;
}

guint32
cv_channel_get_id (CvChannel *self)
{
  g_return_val_if_fail (CV_IS_CHANNEL (self), 0);
  return self->id;
}

const char *
cv_channel_get_host (CvChannel *self)
{
  g_return_val_if_fail (CV_IS_CHANNEL (self), NULL);
  return self->host;
}

guint16
cv_channel_get_port (CvChannel *self)
{
  g_return_val_if_fail (CV_IS_CHANNEL (self), 0);
  return self->port;
}

CvChannelState
cv_channel_get_state (CvChannel *self)
{
  g_return_val_if_fail (CV_IS_CHANNEL (self), CV_CHANNEL_STATE_CLOSED);
  return self->state;
}

gboolean
cv_channel_is_incoming (CvChannel *self)
{
  g_return_val_if_fail (CV_IS_CHANNEL (self), FALSE);
  return self->incoming;
}

/**
 * cv_channel_get_error:
 * Returns: (nullable): why the channel closed, once it has closed with an error
 */
const GError *
cv_channel_get_error (CvChannel *self)
{
  g_return_val_if_fail (CV_IS_CHANNEL (self), NULL);
  return self->error;
}

void
cv_channel_accept (CvChannel *self)
{
  g_return_if_fail (CV_IS_CHANNEL (self));
  g_return_if_fail (self->incoming);

  if (self->mux == NULL || self->state != CV_CHANNEL_STATE_OPENING)
    return;
  cv_mux_channel_answer (self->mux, self, TRUE, 0, NULL);
}

void
cv_channel_refuse (CvChannel *self, CvChannelReason reason, const char *message)
{
  g_return_if_fail (CV_IS_CHANNEL (self));
  g_return_if_fail (self->incoming);

  if (self->mux == NULL || self->state != CV_CHANNEL_STATE_OPENING)
    return;
  cv_mux_channel_answer (self->mux, self, FALSE, reason, message);
}

/* An incoming channel may not send before it accepts; an outgoing one may send early
 * data right behind its OPEN (saving a round trip for protocols where the client
 * speaks first), which the peer discards if it refuses. */
static gboolean
can_send (CvChannel *self)
{
  if (self->mux == NULL || self->local_fin || self->state == CV_CHANNEL_STATE_CLOSED)
    return FALSE;
  return !(self->incoming && self->state == CV_CHANNEL_STATE_OPENING);
}

gsize
cv_channel_get_send_space (CvChannel *self)
{
  gint64 space;

  g_return_val_if_fail (CV_IS_CHANNEL (self), 0);

  if (!can_send (self))
    return 0;
  /* The peer's credit may be megabytes once the window grew; what the channel holds
   * is capped lower, since the mux frames it as fast as the carrier takes it. */
  space = MIN (self->send_credit, CV_CHANNEL_SEND_BUFFER)
          - (gint64) cv_byte_queue_length (&self->send_queue);
  return space > 0 ? (gsize) space : 0;
}

/**
 * cv_channel_write:
 * Returns: how many bytes of @data the channel took: at most the send space
 */
gsize
cv_channel_write (CvChannel *self, const void *data, gsize len)
{
  gsize n;

  g_return_val_if_fail (CV_IS_CHANNEL (self), 0);

  n = MIN (len, cv_channel_get_send_space (self));
  if (n == 0)
    return 0;
  cv_byte_queue_push (&self->send_queue, data, n);
  cv_mux_channel_schedule (self->mux, self);
  return n;
}

gsize
cv_channel_get_send_buffered (CvChannel *self)
{
  g_return_val_if_fail (CV_IS_CHANNEL (self), 0);
  return cv_byte_queue_length (&self->send_queue);
}

/* Half-close: FIN goes out after the bytes already written; receiving goes on. */
void
cv_channel_shutdown_write (CvChannel *self)
{
  g_return_if_fail (CV_IS_CHANNEL (self));

  if (self->mux == NULL || self->local_fin)
    return;
  self->local_fin = TRUE;
  cv_mux_channel_schedule (self->mux, self);
}

void
cv_channel_reset (CvChannel *self, CvChannelReason reason)
{
  g_return_if_fail (CV_IS_CHANNEL (self));

  if (self->mux == NULL)
    return;
  cv_mux_channel_reset (self->mux, self, reason);
}

/**
 * cv_channel_peek:
 * @len: (out): how many bytes are readable at the returned address
 *
 * The bytes may be split in several pieces: consume what was used and peek again
 * until @len is 0 (cv_channel_get_recv_buffered() has the total).
 *
 * Returns: (nullable): the readable bytes, valid until the next consume or main loop turn
 */
const guint8 *
cv_channel_peek (CvChannel *self, gsize *len)
{
  g_return_val_if_fail (CV_IS_CHANNEL (self), NULL);
  return cv_byte_queue_peek (&self->recv_queue, len);
}

/**
 * cv_channel_peek_vectors:
 * @vectors: (out caller-allocates) (array length=max): filled with the readable pieces
 * @max: the length of @vectors
 *
 * The readable bytes as up to @max pieces, in order, for one vectored write; consume
 * what was written.  Valid until the next consume or main loop turn.
 *
 * Returns: how many of @vectors were filled; 0 when nothing is buffered
 */
guint
cv_channel_peek_vectors (CvChannel *self, GOutputVector *vectors, guint max)
{
  g_return_val_if_fail (CV_IS_CHANNEL (self), 0);
  return cv_byte_queue_peek_vectors (&self->recv_queue, vectors, max);
}

void
cv_channel_consume (CvChannel *self, gsize len)
{
  g_return_if_fail (CV_IS_CHANNEL (self));

  cv_byte_queue_pop (&self->recv_queue, len);
  if (self->mux != NULL)
    cv_mux_channel_consumed (self->mux, self, len);
}

gsize
cv_channel_read (CvChannel *self, void *buffer, gsize len)
{
  gsize done = 0;

  while (done < len)
    {
      gsize available;
      const guint8 *bytes = cv_channel_peek (self, &available);
      gsize n = MIN (len - done, available);

      if (n == 0)
        break;
      memcpy ((guint8 *) buffer + done, bytes, n);
      cv_channel_consume (self, n);
      done += n;
    }
  return done;
}

gsize
cv_channel_get_recv_buffered (CvChannel *self)
{
  g_return_val_if_fail (CV_IS_CHANNEL (self), 0);
  return cv_byte_queue_length (&self->recv_queue);
}

/* TRUE once the peer finished sending and every byte it sent has been consumed. */
gboolean
cv_channel_is_eof (CvChannel *self)
{
  g_return_val_if_fail (CV_IS_CHANNEL (self), TRUE);

  if (cv_byte_queue_length (&self->recv_queue) > 0)
    return FALSE;
  return self->remote_fin || self->state == CV_CHANNEL_STATE_CLOSED;
}

guint64
cv_channel_get_bytes_sent (CvChannel *self)
{
  g_return_val_if_fail (CV_IS_CHANNEL (self), 0);
  return self->bytes_sent;
}

guint64
cv_channel_get_bytes_received (CvChannel *self)
{
  g_return_val_if_fail (CV_IS_CHANNEL (self), 0);
  return self->bytes_received;
}

void
cv_channel_emit_opened (CvChannel *self)
{
  g_signal_emit (self, signals[SIGNAL_OPENED], 0);
}

void
cv_channel_emit_readable (CvChannel *self)
{
  g_signal_emit (self, signals[SIGNAL_READABLE], 0);
}

void
cv_channel_emit_writable (CvChannel *self)
{
  g_signal_emit (self, signals[SIGNAL_WRITABLE], 0);
}

/* The mux is done with this channel (it already dropped it from its table). */
void
cv_channel_finish (CvChannel *self, GError *error)
{
  g_autoptr (CvChannel) hold G_GNUC_UNUSED = g_object_ref (self);

  if (self->state == CV_CHANNEL_STATE_CLOSED)
    {
      g_clear_error (&error);
      return;
    }
  self->state = CV_CHANNEL_STATE_CLOSED;
  self->mux = NULL;
  self->error = error;
  cv_byte_queue_clear (&self->send_queue);
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0, self->error);
}
