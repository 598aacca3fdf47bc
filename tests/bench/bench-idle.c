/* bench-idle.c: heap growth per idle channel, on each end of a mux pair. */
#include "bench.h"
#include "cv-test-util.h"

#include <malloc.h>

/* Opened before the baseline, so that one-time type and class set-up is not counted. */
#define IDLE_WARMUP 64

/* Bytes the process has allocated: small chunks from every arena, plus mmapped ones. */
static gint64
heap_in_use (void)
{
  struct mallinfo2 info = mallinfo2 ();

  return (gint64) info.uordblks + (gint64) info.hblkhd;
}

/* One end of the idle pair, on a main context of its own so that each end's heap growth
 * can be measured around its own turns. */
typedef struct {
  GMainContext *context;
  GIOStream *link;
  CvMux *mux;
  gint64 heap_growth;
  guint n_accepted;
} IdleSide;

static void
idle_side_turn (IdleSide *side)
{
  gint64 before = heap_in_use ();

  g_main_context_push_thread_default (side->context);
  g_main_context_iteration (side->context, FALSE);
  g_main_context_pop_thread_default (side->context);
  side->heap_growth += heap_in_use () - before;
}

static void
on_idle_incoming (CvMux *mux, CvChannel *channel, IdleSide *side)
{
  side->n_accepted++;
  cv_channel_accept (channel);
}

static void
idle_side_init (IdleSide *side, GIOStream *link, CvMuxRole role, const CvMuxConfig *config)
{
  side->context = g_main_context_new ();
  side->link = link;
  g_main_context_push_thread_default (side->context);
  side->mux = cv_mux_new (link, role, config);
  if (role == CV_MUX_ROLE_RESPONDER)
    g_signal_connect (side->mux, "incoming-channel", G_CALLBACK (on_idle_incoming), side);
  cv_mux_start (side->mux);
  g_main_context_pop_thread_default (side->context);
}

static void
idle_side_clear (IdleSide *side)
{
  g_signal_handlers_disconnect_by_data (side->mux, side);
  g_object_unref (side->mux);
  g_main_context_unref (side->context);
}

/* Opens @n channels from @opener, then turns both ends until the peer has accepted
 * them all, the answers are back and neither end has anything left to do. */
static void
idle_open_and_settle (IdleSide *opener, IdleSide *acceptor, GPtrArray *channels, guint n)
{
  guint first = channels->len;
  gint64 before = heap_in_use ();
  gboolean all_open = FALSE;

  g_main_context_push_thread_default (opener->context);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (GError) error = NULL;
      CvChannel *channel = cv_mux_open_channel (opener->mux, "idle.invalid", 9, &error);

      if (channel == NULL)
        bench_die ("opening idle channel %u: %s", channels->len, error->message);
      g_ptr_array_add (channels, channel);
    }
  g_main_context_pop_thread_default (opener->context);
  opener->heap_growth += heap_in_use () - before;

  while (!all_open)
    {
      idle_side_turn (opener);
      idle_side_turn (acceptor);
      if (acceptor->n_accepted < channels->len)
        continue;
      all_open = TRUE;
      for (guint i = first; i < channels->len && all_open; i++)
        all_open = cv_channel_get_state (channels->pdata[i]) == CV_CHANNEL_STATE_OPEN;
    }
  while (g_main_context_pending (opener->context) || g_main_context_pending (acceptor->context))
    {
      idle_side_turn (opener);
      idle_side_turn (acceptor);
    }
}

void
bench_run_idle_memory (guint n_channels, BenchIdleResult *result)
{
  g_autoptr (GSocketConnection) link_a = NULL;
  g_autoptr (GSocketConnection) link_b = NULL;
  g_autoptr (GPtrArray) channels = NULL;
  IdleSide a = { 0 }, b = { 0 };
  CvMuxConfig config;
  GTypeQuery query;
  gint64 baseline;

  cv_mux_config_init_defaults (&config);
  config.max_channels = n_channels + IDLE_WARMUP;
  cv_test_socket_pair (&link_a, &link_b);
  idle_side_init (&a, G_IO_STREAM (link_a), CV_MUX_ROLE_INITIATOR, &config);
  idle_side_init (&b, G_IO_STREAM (link_b), CV_MUX_ROLE_RESPONDER, &config);
  /* Sized up front: the bench's own references must not count as the engine's memory. */
  channels = g_ptr_array_new_full (n_channels + IDLE_WARMUP, g_object_unref);

  idle_open_and_settle (&a, &b, channels, IDLE_WARMUP);
  a.heap_growth = b.heap_growth = 0;
  baseline = heap_in_use ();
  for (guint opened = 0; opened < n_channels; opened += BENCH_IDLE_BATCH)
    idle_open_and_settle (&a, &b, channels, MIN (BENCH_IDLE_BATCH, n_channels - opened));

  result->n_channels = n_channels;
  result->opener_bytes = a.heap_growth;
  result->acceptor_bytes = b.heap_growth;
  result->total_bytes = heap_in_use () - baseline;
  result->measured = baseline > 0;
  g_type_query (CV_TYPE_CHANNEL, &query);
  result->channel_instance_size = query.instance_size;

  g_ptr_array_set_size (channels, 0);
  g_main_context_push_thread_default (a.context);
  cv_mux_close (a.mux);
  g_main_context_pop_thread_default (a.context);
  g_main_context_push_thread_default (b.context);
  cv_mux_close (b.mux);
  g_main_context_pop_thread_default (b.context);
  while (!g_io_stream_is_closed (a.link) || !g_io_stream_is_closed (b.link))
    {
      idle_side_turn (&a);
      idle_side_turn (&b);
    }
  idle_side_clear (&a);
  idle_side_clear (&b);
}
