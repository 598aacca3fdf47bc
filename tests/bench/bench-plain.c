/* bench-plain.c: the yardstick: two threads copy bytes through a Unix socket pair, no engine. */
#include "bench.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
  int fd;
  guint64 length;
  guint64 done; /* bytes written, or read and checked */
} PlainEnd;

static gpointer
plain_write (gpointer data)
{
  PlainEnd *end = data;

  while (end->done < end->length)
    {
      ssize_t n = write (end->fd, bench_stream_at (0, end->done),
                         MIN (end->length - end->done, CHUNK_SIZE));

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        bench_die ("plain copy: write: %s", g_strerror (errno));
      end->done += n;
    }
  shutdown (end->fd, SHUT_WR);
  return NULL;
}

static gpointer
plain_read (gpointer data)
{
  PlainEnd *end = data;
  g_autofree guint8 *buffer = g_malloc (CHUNK_SIZE);

  for (;;)
    {
      ssize_t n = read (end->fd, buffer, CHUNK_SIZE);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        bench_die ("plain copy: read: %s", g_strerror (errno));
      if (n == 0)
        break;
      if (end->done + n > end->length || !bench_stream_matches (0, end->done, buffer, n))
        bench_die ("plain copy: wrong bytes at offset %" G_GUINT64_FORMAT, end->done);
      end->done += n;
    }
  return NULL;
}

BenchMeasurement *
bench_run_plain_copy (guint64 bytes)
{
  int fds[2];
  PlainEnd writer = { 0 }, reader = { 0 };
  GThread *writing, *reading;
  BenchStamp start, end;

  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    bench_die ("socketpair: %s", g_strerror (errno));
  writer.fd = fds[0];
  writer.length = bytes;
  reader.fd = fds[1];
  reader.length = bytes;

  bench_stamp_now (&start);
  writing = g_thread_new ("plain-writer", plain_write, &writer);
  reading = g_thread_new ("plain-reader", plain_read, &reader);
  g_thread_join (writing);
  g_thread_join (reading);
  bench_stamp_now (&end);

  close (fds[0]);
  close (fds[1]);
  if (reader.done != bytes)
    bench_die ("plain copy: %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes arrived",
               reader.done, bytes);
  return bench_measurement_new ("plain copy (socketpair, 2 threads)", 0, bytes, &start, &end);
}
