/* test-byte-queue.c: the chunked FIFO under the channels (base/cv-byte-queue): what goes
 * in comes out in order, whole or in vectors, and a drained queue holds nothing. */
#include "base/cv-byte-queue.h"

#include <string.h>

#define TOTAL (300 * 1000)

static guint8 *
pattern (gsize len)
{
  guint8 *bytes = g_malloc (len);

  for (gsize i = 0; i < len; i++)
    bytes[i] = (guint8) (i * 131 + (i >> 9));
  return bytes;
}

/* A bulk producer's pushes make several chunks; the vectors name them in order, at most
 * as many as asked for, and a send that took part of them pops exactly that part, in
 * the middle of a chunk too. */
static void
test_vectors (void)
{
  g_autofree guint8 *in = pattern (TOTAL);
  g_autofree guint8 *out = g_malloc (TOTAL);
  CvByteQueue queue = { G_QUEUE_INIT, 0 };
  GOutputVector vectors[3];
  gsize got = 0;
  guint n;

  for (gsize off = 0; off < TOTAL; off += 16375)
    cv_byte_queue_push (&queue, in + off, MIN (16375, TOTAL - off));
  g_assert_cmpuint (cv_byte_queue_length (&queue), ==, TOTAL);
  g_assert_cmpuint (g_queue_get_length (&queue.chunks), >, G_N_ELEMENTS (vectors));

  while ((n = cv_byte_queue_peek_vectors (&queue, vectors, G_N_ELEMENTS (vectors))) > 0)
    {
      gsize len = 0, take;

      g_assert_cmpuint (n, <=, G_N_ELEMENTS (vectors));
      for (guint i = 0; i < n; i++)
        {
          g_assert_cmpuint (vectors[i].size, >, 0);
          len += vectors[i].size;
        }
      /* A short send: all but the last 1,000 bytes of what was offered (or all of it,
       * once little is left), ending inside a chunk. */
      take = len > 2000 ? len - 1000 : len;
      for (guint i = 0, left = take; i < n && left > 0; i++)
        {
          gsize part = MIN (left, vectors[i].size);

          memcpy (out + got, vectors[i].buffer, part);
          got += part;
          left -= part;
        }
      cv_byte_queue_pop (&queue, take);
      g_assert_cmpuint (cv_byte_queue_length (&queue), ==, TOTAL - got);
    }
  g_assert_cmpuint (got, ==, TOTAL);
  g_assert_cmpmem (out, TOTAL, in, TOTAL);
  g_assert_true (g_queue_is_empty (&queue.chunks));
  g_assert_cmpuint (cv_byte_queue_peek_vectors (&queue, vectors, 3), ==, 0);
}

/* Peek and vectors agree on the head. */
static void
test_peek_is_first_vector (void)
{
  CvByteQueue queue = { G_QUEUE_INIT, 0 };
  GOutputVector vector;
  const guint8 *head;
  gsize len;

  cv_byte_queue_push (&queue, "hello, ", 7);
  cv_byte_queue_push (&queue, "world", 5);
  head = cv_byte_queue_peek (&queue, &len);
  g_assert_cmpuint (cv_byte_queue_peek_vectors (&queue, &vector, 1), ==, 1);
  g_assert_true (vector.buffer == head);
  g_assert_cmpuint (vector.size, ==, len);
  cv_byte_queue_clear (&queue);
  g_assert_cmpuint (cv_byte_queue_length (&queue), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/byte-queue/vectors", test_vectors);
  g_test_add_func ("/byte-queue/peek-is-first-vector", test_peek_is_first_vector);
  return g_test_run ();
}
