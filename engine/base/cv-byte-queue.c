/* cv-byte-queue.c: a FIFO of bytes in chunks; it holds no memory while empty. */
#include "base/cv-byte-queue.h"

#include <string.h>

/* Four DATA payloads of 16375 bytes: a bulk sender's chunks cut into whole frames. */
#define CHUNK_MAX 65500
/* Small writes (keystrokes) get small chunks, so a channel with a few unread bytes
 * does not hold 64 KiB. */
#define CHUNK_MIN 2048

typedef struct {
  GList link;
  gsize start;
  gsize end;
  gsize capacity;
  guint8 data[];
} Chunk;

gsize
cv_byte_queue_length (const CvByteQueue *queue)
{
  return queue->length;
}

void
cv_byte_queue_push (CvByteQueue *queue, const void *data, gsize len)
{
  const guint8 *bytes = data;
  /* A queue that already holds bytes has a consumer behind a producer (a bulk
   * transfer): big chunks then, so that the consumer peeks, and sends, in big
   * pieces.  An empty one gets a chunk the size of the write. */
  gsize wanted = MAX (len, queue->length);

  queue->length += len;
  while (len > 0)
    {
      Chunk *tail = queue->chunks.tail != NULL ? queue->chunks.tail->data : NULL;
      gsize n;

      if (tail == NULL || tail->end == tail->capacity)
        {
          gsize capacity = CLAMP (wanted, CHUNK_MIN, CHUNK_MAX);

          tail = g_malloc (sizeof (Chunk) + capacity);
          tail->link.data = tail;
          tail->link.prev = tail->link.next = NULL;
          tail->start = tail->end = 0;
          tail->capacity = capacity;
          g_queue_push_tail_link (&queue->chunks, &tail->link);
        }
      n = MIN (len, tail->capacity - tail->end);
      memcpy (tail->data + tail->end, bytes, n);
      tail->end += n;
      bytes += n;
      len -= n;
    }
}

/* The bytes at the head, up to the end of the first chunk: callers loop (peek,
 * consume) until the length is 0. */
const guint8 *
cv_byte_queue_peek (const CvByteQueue *queue, gsize *len)
{
  Chunk *head = queue->chunks.head != NULL ? queue->chunks.head->data : NULL;

  if (head == NULL)
    {
      *len = 0;
      return NULL;
    }
  *len = head->end - head->start;
  return head->data + head->start;
}

/* The bytes at the head as up to @max pieces, one per chunk, for one vectored send
 * (g_socket_send_message()); returns how many it filled, 0 when the queue is empty. */
guint
cv_byte_queue_peek_vectors (const CvByteQueue *queue, GOutputVector *vectors, guint max)
{
  guint n = 0;

  for (GList *link = queue->chunks.head; link != NULL && n < max; link = link->next, n++)
    {
      Chunk *chunk = link->data;

      vectors[n].buffer = chunk->data + chunk->start;
      vectors[n].size = chunk->end - chunk->start;
    }
  return n;
}

void
cv_byte_queue_pop (CvByteQueue *queue, gsize len)
{
  g_return_if_fail (len <= queue->length);

  queue->length -= len;
  while (len > 0)
    {
      Chunk *head = queue->chunks.head->data;
      gsize n = MIN (len, head->end - head->start);

      head->start += n;
      len -= n;
      if (head->start == head->end)
        {
          g_queue_unlink (&queue->chunks, &head->link);
          g_free (head);
        }
    }
}

void
cv_byte_queue_clear (CvByteQueue *queue)
{
  GList *link;

  while ((link = g_queue_pop_head_link (&queue->chunks)) != NULL)
    g_free (link->data);
  queue->length = 0;
}
