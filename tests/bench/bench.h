/* bench.h: what the benchmark's cases share: the byte pattern, measurements, the cases. */
#pragma once

#include "mux/cv-mux.h"

G_BEGIN_DECLS

#define KIB 1024u
#define MIB (1024u * 1024u)
/* Writes and reads go in pieces of this size, as the brief for every case says. */
#define CHUNK_SIZE (64 * KIB)

void bench_die (const char *format, ...) G_GNUC_PRINTF (1, 2) G_GNUC_NORETURN;

/* Stream @index is a fixed pseudo-random pattern from an offset of its own.  Senders
 * write straight from it; receivers compare every byte with it, so a lost, duplicated,
 * reordered or misrouted byte fails the run. */
void bench_pattern_init (void);
const guint8 *bench_stream_at (guint index, guint64 position);
gboolean bench_stream_matches (guint index, guint64 position, const guint8 *bytes, gsize len);

typedef struct {
  gint64 wall_us;
  gdouble cpu_s; /* user + system, every thread of the process */
} BenchStamp;

typedef struct {
  char *label;
  guint n_channels; /* 0 for the plain copy */
  guint64 bytes;
  gdouble wall_s;
  gdouble cpu_s;
} BenchMeasurement;

void bench_stamp_now (BenchStamp *stamp);
BenchMeasurement *bench_measurement_new (const char *label,
                                         guint n_channels,
                                         guint64 bytes,
                                         const BenchStamp *start,
                                         const BenchStamp *end);
void bench_measurement_free (BenchMeasurement *m);
gdouble bench_measurement_mb_per_s (const BenchMeasurement *m);
gdouble bench_measurement_cpu_per_gb (const BenchMeasurement *m);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (BenchMeasurement, bench_measurement_free)

/* bench-plain.c */
BenchMeasurement *bench_run_plain_copy (guint64 bytes);

/* bench-transfer.c */
typedef struct {
  guint n_channels;
  guint64 bytes; /* over all channels */
  CvMuxConfig config;
} BenchMuxPlan;

BenchMeasurement *bench_run_mux (const char *label, const BenchMuxPlan *plan, gboolean one_thread);
guint bench_get_late_link_errors (void);

/* bench-idle.c.  Channels open in rounds, as an application opens them; one burst of
 * 10,000 OPENs would also measure the frame buffers that burst needs. */
#define BENCH_IDLE_BATCH 100

typedef struct {
  guint n_channels;
  gint64 opener_bytes;   /* heap growth while the opening end ran */
  gint64 acceptor_bytes; /* heap growth while the accepting end ran */
  gint64 total_bytes;    /* from the baseline to the end, whoever ran */
  gboolean measured;     /* FALSE when malloc is not glibc's (ASan, for one) */
  gsize channel_instance_size;
} BenchIdleResult;

void bench_run_idle_memory (guint n_channels, BenchIdleResult *result);

G_END_DECLS
