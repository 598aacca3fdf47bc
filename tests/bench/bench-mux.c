/* bench-mux.c: the multiplexer's throughput, CPU cost and idle memory next to a plain socket copy.
 *
 * A program to run by hand (./run bench), not a timed test; README.md says what each
 * case measures and how to read the tables.
 */
#include "bench.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

/* "2G", "256M", "64KiB", "1048576": sizes in bytes; suffixes are powers of 1024. */
static gboolean
parse_size (const char *text, guint64 *size)
{
  char *end;
  guint64 value, unit = 1;

  errno = 0;
  value = g_ascii_strtoull (text, &end, 10);
  if (end == text || errno != 0)
    return FALSE;
  switch (g_ascii_toupper (*end))
    {
    case 'K':
      unit = KIB;
      break;
    case 'M':
      unit = MIB;
      break;
    case 'G':
      unit = (guint64) 1024 * MIB;
      break;
    case 'T':
      unit = (guint64) 1024 * 1024 * MIB;
      break;
    default:
      break;
    }
  if (unit > 1)
    end++;
  if (unit > 1 && g_ascii_toupper (*end) == 'I')
    end++;
  if (g_ascii_toupper (*end) == 'B')
    end++;
  if (*end != '\0' || value > G_MAXUINT64 / unit)
    return FALSE;
  *size = value * unit;
  return TRUE;
}

static GArray *
parse_list (const char *option, const char *text, guint64 min, guint64 max)
{
  g_auto (GStrv) items = g_strsplit (text, ",", -1);
  GArray *values = g_array_new (FALSE, FALSE, sizeof (guint64));

  for (guint i = 0; items[i] != NULL; i++)
    {
      guint64 value;

      if (!parse_size (g_strstrip (items[i]), &value) || value < min || value > max)
        bench_die ("%s: \"%s\" is not a number from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT,
                   option, items[i], min, max);
      g_array_append_val (values, value);
    }
  if (values->len == 0)
    bench_die ("%s: empty list", option);
  return values;
}

static char *
format_window (guint64 size)
{
  if (size % MIB == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " MiB", size / MIB);
  if (size % KIB == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " KiB", size / KIB);
  return g_strdup_printf ("%" G_GUINT64_FORMAT " B", size);
}

static char *
cpu_model (void)
{
  g_autofree char *cpuinfo = NULL;
  g_auto (GStrv) lines = NULL;

  if (!g_file_get_contents ("/proc/cpuinfo", &cpuinfo, NULL, NULL))
    return g_strdup ("unknown");
  lines = g_strsplit (cpuinfo, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *colon = strchr (lines[i], ':');

      if (g_str_has_prefix (lines[i], "model name") && colon != NULL)
        return g_strstrip (g_strdup (colon + 1));
    }
  return g_strdup ("unknown");
}

static void
print_machine (guint64 bytes, gint rounds)
{
  struct utsname uts;
  g_autofree char *model = cpu_model ();
  g_autofree char *load = NULL;

  if (uname (&uts) != 0)
    memset (&uts, 0, sizeof uts);
  g_print ("# Culvert multiplexer benchmark\n\n");
  g_print ("- machine: %u CPUs (nproc), %s, %s %s %s\n", g_get_num_processors (), model,
           uts.sysname, uts.release, uts.machine);
  g_print ("- GLib %u.%u.%u; bytes per case: %" G_GUINT64_FORMAT " (%.3f GB); "
           "MB = 10^6 bytes, GB = 10^9 bytes\n",
           glib_major_version, glib_minor_version, glib_micro_version, bytes, bytes / 1e9);
  if (g_file_get_contents ("/proc/loadavg", &load, NULL, NULL))
    g_print ("- load average before the run (others' work skews a 2-core machine): %s", load);
  g_print ("- CPU s/GB: getrusage(RUSAGE_SELF) user+sys of the whole process over the case, "
           "per GB moved; every byte is checked against the sent pattern\n");
  g_print ("- every case ran %d times, interleaved; MB/s and CPU s/GB are medians\n\n", rounds);
}

/* One row of a table, measured once per round. */
typedef enum {
  TABLE_THROUGHPUT,
  TABLE_ONE_THREAD,
  TABLE_SWEEP,
} Table;

typedef struct {
  char *label;
  Table table;
  gboolean one_thread;
  BenchMuxPlan plan; /* n_channels 0: the plain copy */
  GArray *mb_per_s;  /* of gdouble, one per round */
  GArray *cpu_per_gb;
} BenchCase;

static BenchCase *
bench_case_new (Table table, guint n_channels, guint64 bytes, gboolean one_thread)
{
  BenchCase *c = g_new0 (BenchCase, 1);
  const char *plural = n_channels == 1 ? "" : "s";

  c->table = table;
  c->one_thread = one_thread;
  c->plan.n_channels = n_channels;
  c->plan.bytes = bytes;
  cv_mux_config_init_defaults (&c->plan.config);
  c->mb_per_s = g_array_new (FALSE, FALSE, sizeof (gdouble));
  c->cpu_per_gb = g_array_new (FALSE, FALSE, sizeof (gdouble));
  if (n_channels == 0)
    c->label = g_strdup ("plain copy (socketpair, 2 threads)");
  else if (one_thread)
    c->label = g_strdup_printf ("extra: mux, %u channel%s, both ends in ONE thread", n_channels,
                                plural);
  else
    c->label = g_strdup_printf ("mux, %u channel%s (2 threads)", n_channels, plural);
  return c;
}

static BenchCase *
bench_case_new_window (guint64 window, guint64 bytes)
{
  BenchCase *c = bench_case_new (TABLE_SWEEP, 1, bytes, FALSE);
  g_autofree char *size = format_window (window);

  c->plan.config.initial_window = window;
  c->plan.config.max_window = window;
  g_free (c->label);
  c->label = g_strdup_printf ("mux, 1 channel, window %s (2 threads)", size);
  return c;
}

static void
bench_case_free (BenchCase *c)
{
  g_free (c->label);
  g_array_unref (c->mb_per_s);
  g_array_unref (c->cpu_per_gb);
  g_free (c);
}

static void
bench_case_run (BenchCase *c)
{
  g_autoptr (BenchMeasurement) m = NULL;
  gdouble mb_per_s, cpu_per_gb;

  g_printerr ("running: %s\n", c->label);
  if (c->plan.n_channels == 0)
    m = bench_run_plain_copy (c->plan.bytes);
  else
    m = bench_run_mux (c->label, &c->plan, c->one_thread);
  mb_per_s = bench_measurement_mb_per_s (m);
  cpu_per_gb = bench_measurement_cpu_per_gb (m);
  g_array_append_val (c->mb_per_s, mb_per_s);
  g_array_append_val (c->cpu_per_gb, cpu_per_gb);
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;

  return x < y ? -1 : x > y;
}

static gdouble
median (GArray *values)
{
  g_autoptr (GArray) sorted = g_array_copy (values);
  guint n = sorted->len;

  g_array_sort (sorted, compare_doubles);
  if (n % 2 == 1)
    return g_array_index (sorted, gdouble, n / 2);
  return (g_array_index (sorted, gdouble, n / 2 - 1) + g_array_index (sorted, gdouble, n / 2)) / 2;
}

static void
print_table (const char *title, GPtrArray *cases, Table table, gdouble plain_mb_per_s)
{
  g_print ("%s\n\n", title);
  g_print ("| case | MB/s | CPU s/GB | ratio to plain copy | MB/s of each round |\n");
  g_print ("|---|---:|---:|---:|---|\n");
  for (guint i = 0; i < cases->len; i++)
    {
      const BenchCase *c = cases->pdata[i];
      g_autoptr (GString) rounds = g_string_new (NULL);
      gdouble mb_per_s;

      if (c->table != table)
        continue;
      mb_per_s = median (c->mb_per_s);
      for (guint r = 0; r < c->mb_per_s->len; r++)
        g_string_append_printf (rounds, "%s%.0f", r > 0 ? ", " : "",
                                g_array_index (c->mb_per_s, gdouble, r));
      g_print ("| %s | %.0f | %.3f | %.0f %% | %s |\n", c->label, mb_per_s, median (c->cpu_per_gb),
               100.0 * mb_per_s / plain_mb_per_s, rounds->str);
    }
  g_print ("\n");
}

static void
print_goal (const char *goal, gboolean met, const char *measured)
{
  g_print ("- %s: **%s** (%s)\n", goal, met ? "met" : "NOT met", measured);
}

static void
print_goals (GPtrArray *cases, gdouble plain_mb_per_s, const BenchIdleResult *idle)
{
  g_print ("Goals (medians)\n\n");
  for (guint i = 0; i < cases->len; i++)
    {
      const BenchCase *c = cases->pdata[i];
      gdouble ratio = median (c->mb_per_s) / plain_mb_per_s;
      g_autofree char *measured = g_strdup_printf ("%.0f %%", 100.0 * ratio);

      /* The goals are stated for the two-thread rows with 1 and 64 channels. */
      if (c->table != TABLE_THROUGHPUT)
        continue;
      if (c->plan.n_channels == 1)
        print_goal ("1 channel >= 70 % of plain copy's MB/s", ratio >= 0.70, measured);
      else if (c->plan.n_channels == 64)
        print_goal ("64 channels >= 60 % of plain copy's MB/s", ratio >= 0.60, measured);
    }
  if (idle != NULL && !idle->measured)
    g_print ("- idle memory <= 2 KiB per channel: not measured (mallinfo2() reports nothing: "
             "this malloc is not glibc's)\n");
  else if (idle != NULL)
    {
      gdouble per_channel = (gdouble) idle->total_bytes / idle->n_channels;
      g_autofree char *measured = g_strdup_printf ("%.0f B per channel, both ends", per_channel);

      print_goal ("idle memory <= 2 KiB per channel", per_channel <= 2048, measured);
    }
}

static void
print_idle (const BenchIdleResult *idle)
{
  g_print ("Idle memory: %u channels opened in rounds of %u, each accepted by the peer, no "
           "data; heap = mallinfo2() uordblks + hblkhd; both ends in one thread, each on its "
           "own main context so each end's growth is measured around its own turns\n\n",
           idle->n_channels, BENCH_IDLE_BATCH);
  g_print ("| end | heap growth | per channel |\n");
  g_print ("|---|---:|---:|\n");
  g_print ("| opening end (initiator) | %" G_GINT64_FORMAT " B | %.0f B |\n", idle->opener_bytes,
           (gdouble) idle->opener_bytes / idle->n_channels);
  g_print ("| accepting end (responder) | %" G_GINT64_FORMAT " B | %.0f B |\n",
           idle->acceptor_bytes, (gdouble) idle->acceptor_bytes / idle->n_channels);
  g_print ("| both ends, baseline to end | %" G_GINT64_FORMAT " B | %.0f B |\n", idle->total_bytes,
           (gdouble) idle->total_bytes / idle->n_channels);
  g_print ("\n(sizeof the CvChannel instance: %" G_GSIZE_FORMAT " B)\n\n",
           idle->channel_instance_size);
}

static gboolean
is_skipped (GStrv skip, const char *name)
{
  return skip != NULL && g_strv_contains ((const char *const *) skip, name);
}

int
main (int argc, char **argv)
{
  g_autofree char *bytes_text = NULL;
  g_autofree char *channels_text = NULL;
  g_autofree char *windows_text = NULL;
  g_autofree char *skip_text = NULL;
  gboolean quick = FALSE;
  gint rounds = 3;
  gint idle_channels = 10000;
  GOptionEntry entries[] = {
    { "bytes", 'b', 0, G_OPTION_ARG_STRING, &bytes_text,
      "Bytes per case (default 2G; K, M, G are powers of 1024)", "SIZE" },
    { "channels-list", 'c', 0, G_OPTION_ARG_STRING, &channels_text,
      "Channel counts for the mux cases (default 1,64)", "N,N,..." },
    { "windows", 'w', 0, G_OPTION_ARG_STRING, &windows_text,
      "Windows for the 1-channel sweep (default 64K,256K,1M,4M)", "SIZE,..." },
    { "rounds", 'r', 0, G_OPTION_ARG_INT, &rounds,
      "Run every case this many times, interleaved; tables show medians (default 3)", "N" },
    { "idle-channels", 0, 0, G_OPTION_ARG_INT, &idle_channels,
      "Channels for the idle memory case (default 10000)", "N" },
    { "skip", 0, 0, G_OPTION_ARG_STRING, &skip_text,
      "Leave out cases, e.g. to profile one: mux, one-thread, sweep, idle", "CASE,..." },
    { "quick", 'q', 0, G_OPTION_ARG_NONE, &quick, "256M per case unless --bytes is given", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr (GOptionContext) options = g_option_context_new ("- the multiplexer benchmark");
  g_autoptr (GError) error = NULL;
  g_autoptr (GArray) channel_counts = NULL;
  g_autoptr (GArray) windows = NULL;
  g_auto (GStrv) skip = NULL;
  g_autoptr (GPtrArray) cases = NULL;
  BenchIdleResult idle;
  gdouble plain_mb_per_s;
  guint64 bytes;

  g_option_context_add_main_entries (options, entries, NULL);
  g_option_context_set_summary (options,
                                "Compares a plain socket copy with the multiplexer (1 and many "
                                "channels, window sweep) and measures idle memory per channel.");
  if (!g_option_context_parse (options, &argc, &argv, &error))
    bench_die ("%s", error->message);
  bytes = quick ? 256 * MIB : (guint64) 2048 * MIB;
  if (bytes_text != NULL && (!parse_size (bytes_text, &bytes) || bytes == 0))
    bench_die ("--bytes: \"%s\" is not a size such as 256M or 2G", bytes_text);
  channel_counts = parse_list ("--channels-list", channels_text ? channels_text : "1,64", 1,
                               G_MAXUINT16 - 1);
  windows = parse_list ("--windows", windows_text ? windows_text : "64K,256K,1M,4M", 1,
                        CV_FRAME_MAX_WINDOW);
  if (rounds < 1)
    bench_die ("--rounds: must be at least 1");
  if (idle_channels < 1)
    bench_die ("--idle-channels: must be at least 1");
  skip = skip_text != NULL ? g_strsplit (skip_text, ",", -1) : NULL;

  /* The plain copy always runs: every ratio is to it. */
  cases = g_ptr_array_new_with_free_func ((GDestroyNotify) bench_case_free);
  g_ptr_array_add (cases, bench_case_new (TABLE_THROUGHPUT, 0, bytes, FALSE));
  for (guint i = 0; i < channel_counts->len && !is_skipped (skip, "mux"); i++)
    g_ptr_array_add (cases,
                     bench_case_new (TABLE_THROUGHPUT, g_array_index (channel_counts, guint64, i),
                                     bytes, FALSE));
  for (guint i = 0; i < channel_counts->len && !is_skipped (skip, "one-thread"); i++)
    g_ptr_array_add (cases,
                     bench_case_new (TABLE_ONE_THREAD, g_array_index (channel_counts, guint64, i),
                                     bytes, TRUE));
  for (guint i = 0; i < windows->len && !is_skipped (skip, "sweep"); i++)
    g_ptr_array_add (cases, bench_case_new_window (g_array_index (windows, guint64, i), bytes));

  bench_pattern_init ();
  print_machine (bytes, rounds);
  /* Rounds go over every case in turn, so a noisy spell on a shared machine hits all
   * cases alike rather than one. */
  for (gint r = 0; r < rounds; r++)
    for (guint i = 0; i < cases->len; i++)
      bench_case_run (cases->pdata[i]);
  if (!is_skipped (skip, "idle"))
    {
      g_printerr ("running: idle memory, %d channels\n", idle_channels);
      bench_run_idle_memory (idle_channels, &idle);
    }

  plain_mb_per_s = median (((BenchCase *) cases->pdata[0])->mb_per_s);
  print_table ("Throughput (default CvMuxConfig: 256 KiB initial window, may grow to 16 MiB; "
               "64 KiB writes)",
               cases, TABLE_THROUGHPUT, plain_mb_per_s);
  if (!is_skipped (skip, "one-thread"))
    print_table ("Extra: both mux ends on one main context in one thread (not comparable with "
                 "the two-thread rows: one core does all the work)",
                 cases, TABLE_ONE_THREAD, plain_mb_per_s);
  if (!is_skipped (skip, "sweep"))
    print_table ("Window sweep: 1 channel, initial window = max window", cases, TABLE_SWEEP,
                 plain_mb_per_s);
  if (!is_skipped (skip, "idle"))
    print_idle (&idle);
  print_goals (cases, plain_mb_per_s, is_skipped (skip, "idle") ? NULL : &idle);
  if (bench_get_late_link_errors () > 0)
    g_print ("\nNote: %u link(s) ended with an error after all their channels had finished "
             "cleanly (see stderr).\n",
             bench_get_late_link_errors ());
  return EXIT_SUCCESS;
}
