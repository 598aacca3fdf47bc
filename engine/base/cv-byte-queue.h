/* cv-byte-queue.h: a FIFO of bytes in chunks; it holds no memory while empty. */
#pragma once

#include <gio/gio.h> /* GOutputVector */

G_BEGIN_DECLS

/* Bytes live in a list of chunks, appended at the tail and consumed at the head, so
 * nothing is ever slid or reallocated; a drained chunk is freed at once, so an idle
 * channel costs no buffer at all. */
typedef struct {
  GQueue chunks;
  gsize length;
} CvByteQueue;

gsize cv_byte_queue_length (const CvByteQueue *queue);
void cv_byte_queue_push (CvByteQueue *queue, const void *data, gsize len);
const guint8 *cv_byte_queue_peek (const CvByteQueue *queue, gsize *len);
guint cv_byte_queue_peek_vectors (const CvByteQueue *queue, GOutputVector *vectors, guint max);
void cv_byte_queue_pop (CvByteQueue *queue, gsize len);
void cv_byte_queue_clear (CvByteQueue *queue);

G_END_DECLS
