/* bench-util.c: the benchmark's byte pattern, its clock and its way of giving up. */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define PATTERN_PERIOD CHUNK_SIZE

/* The period is stored twice so that CHUNK_SIZE bytes from any offset are contiguous. */
static guint8 pattern[PATTERN_PERIOD + CHUNK_SIZE];

void
bench_die (const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("bench-mux: %s\n", message);
  exit (EXIT_FAILURE);
}

void
bench_pattern_init (void)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (0xc0ffee);

  for (gsize i = 0; i < PATTERN_PERIOD; i++)
    pattern[i] = g_rand_int (rand) & 0xff;
  memcpy (pattern + PATTERN_PERIOD, pattern, CHUNK_SIZE);
}

/* The next CHUNK_SIZE bytes of stream @index from @position. */
const guint8 *
bench_stream_at (guint index, guint64 position)
{
  gsize shift = ((gsize) index * 7919u) % PATTERN_PERIOD;

  return pattern + (position + shift) % PATTERN_PERIOD;
}

gboolean
bench_stream_matches (guint index, guint64 position, const guint8 *bytes, gsize len)
{
  while (len > 0)
    {
      gsize n = MIN (len, CHUNK_SIZE);

      if (memcmp (bytes, bench_stream_at (index, position), n) != 0)
        return FALSE;
      bytes += n;
      len -= n;
      position += n;
    }
  return TRUE;
}

void
bench_stamp_now (BenchStamp *stamp)
{
  struct rusage usage;

  if (getrusage (RUSAGE_SELF, &usage) != 0)
    bench_die ("getrusage: %s", g_strerror (errno));
  stamp->wall_us = g_get_monotonic_time ();
  stamp->cpu_s = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec
                 + usage.ru_stime.tv_usec / 1e6;
}

BenchMeasurement *
bench_measurement_new (const char *label,
                       guint n_channels,
                       guint64 bytes,
                       const BenchStamp *start,
                       const BenchStamp *end)
{
  BenchMeasurement *m = g_new0 (BenchMeasurement, 1);

  m->label = g_strdup (label);
  m->n_channels = n_channels;
  m->bytes = bytes;
  m->wall_s = (end->wall_us - start->wall_us) / 1e6;
  m->cpu_s = end->cpu_s - start->cpu_s;
  return m;
}

void
bench_measurement_free (BenchMeasurement *m)
{
  g_free (m->label);
  g_free (m);
}

/* MB = 10^6 bytes, GB = 10^9 bytes. */
gdouble
bench_measurement_mb_per_s (const BenchMeasurement *m)
{
  return m->bytes / 1e6 / m->wall_s;
}

gdouble
bench_measurement_cpu_per_gb (const BenchMeasurement *m)
{
  return m->cpu_s / (m->bytes / 1e9);
}
