/* cv-byte-queue.c: a FIFO of bytes that holds no memory while empty. */
#include "cv-byte-queue.h"

#include <string.h>

gsize
cv_byte_queue_length (const CvByteQueue *queue)
{
  return queue->bytes != NULL ? queue->bytes->len - queue->off : 0;
}

void
cv_byte_queue_push (CvByteQueue *queue, const void *data, gsize len)
{
  if (len == 0)
    return;
  if (queue->bytes == NULL)
    {
      queue->bytes = g_byte_array_sized_new (len);
      queue->off = 0;
    }
  else if (queue->off > 0 && queue->off >= queue->bytes->len / 2)
    {
      /* Slide the live bytes down rather than let the array creep upwards forever. */
      gsize live = queue->bytes->len - queue->off;
      memmove (queue->bytes->data, queue->bytes->data + queue->off, live);
      g_byte_array_set_size (queue->bytes, live);
      queue->off = 0;
    }
  g_byte_array_append (queue->bytes, data, len);
}

const guint8 *
cv_byte_queue_peek (const CvByteQueue *queue, gsize *len)
{
  *len = cv_byte_queue_length (queue);
  return *len > 0 ? queue->bytes->data + queue->off : NULL;
}

void
cv_byte_queue_pop (CvByteQueue *queue, gsize len)
{
  g_return_if_fail (len <= cv_byte_queue_length (queue));
  if (len == 0)
    return;
  queue->off += len;
  if (queue->off == queue->bytes->len)
    cv_byte_queue_clear (queue);
}

void
cv_byte_queue_clear (CvByteQueue *queue)
{
  g_clear_pointer (&queue->bytes, g_byte_array_unref);
  queue->off = 0;
}
