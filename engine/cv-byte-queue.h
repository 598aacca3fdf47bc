/* cv-byte-queue.h: a FIFO of bytes that holds no memory while empty. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Live bytes are bytes->data[off .. bytes->len).  The array is freed as soon as the
 * queue drains, so an idle channel costs no buffer at all. */
typedef struct {
  GByteArray *bytes;
  gsize off;
} CvByteQueue;

gsize cv_byte_queue_length (const CvByteQueue *queue);
void cv_byte_queue_push (CvByteQueue *queue, const void *data, gsize len);
const guint8 *cv_byte_queue_peek (const CvByteQueue *queue, gsize *len);
void cv_byte_queue_pop (CvByteQueue *queue, gsize len);
void cv_byte_queue_clear (CvByteQueue *queue);

G_END_DECLS
