/* bench-transfer.c: bytes through a pair of muxes, both ends in two threads or in one. */
#include "bench.h"
#include "cv-test-util.h"

static guint64
plan_channel_length (const BenchMuxPlan *plan, guint index)
{
  return plan->bytes / plan->n_channels + (index < plan->bytes % plan->n_channels ? 1 : 0);
}

static gboolean
on_watchdog (gpointer user_data)
{
  bench_die ("a mux case made no end within %u s; the link is stuck", GPOINTER_TO_UINT (user_data));
}

/* A stuck link ends the program rather than hang it; no run here should take long. */
static GSource *
watchdog_attach (GMainContext *context, guint64 bytes)
{
  guint seconds = MAX (120, bytes / (5 * 1000 * 1000));
  GSource *source = g_timeout_source_new_seconds (seconds);

  g_source_set_callback (source, on_watchdog, GUINT_TO_POINTER (seconds), NULL);
  g_source_attach (source, context);
  return source;
}

/* The sending end: opens every channel and writes its share as fast as credit allows. */
typedef struct _Sender Sender;

typedef struct {
  Sender *sender;
  CvChannel *channel;
  guint index;
  guint64 length;
  guint64 sent;
} Outgoing;

struct _Sender {
  const BenchMuxPlan *plan;
  GIOStream *link;
  CvMux *mux;
  GPtrArray *outgoing; /* of Outgoing */
  guint n_closed;
  gboolean link_closed;
};

static void
outgoing_free (Outgoing *o)
{
  g_signal_handlers_disconnect_by_data (o->channel, o);
  g_object_unref (o->channel);
  g_free (o);
}

static void
outgoing_pump (Outgoing *o)
{
  while (o->sent < o->length)
    {
      gsize n = cv_channel_write (o->channel, bench_stream_at (o->index, o->sent),
                                  MIN (o->length - o->sent, CHUNK_SIZE));

      if (n == 0)
        return;
      o->sent += n;
    }
  cv_channel_shutdown_write (o->channel);
}

static void
on_outgoing_writable (CvChannel *channel, Outgoing *o)
{
  outgoing_pump (o);
}

static void
on_outgoing_closed (CvChannel *channel, const GError *error, Outgoing *o)
{
  Sender *sender = o->sender;

  if (error != NULL)
    bench_die ("sending channel %u closed: %s", o->index, error->message);
  if (o->sent != o->length)
    bench_die ("sending channel %u closed after %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
               " bytes",
               o->index, o->sent, o->length);
  if (++sender->n_closed == sender->outgoing->len)
    cv_mux_goaway (sender->mux, CV_GOAWAY_REASON_NORMAL, NULL);
}

/* How many links ended with an error after every channel had finished cleanly. */
static guint late_link_errors;

guint
bench_get_late_link_errors (void)
{
  return g_atomic_int_get (&late_link_errors);
}

static void
note_link_closed (const char *side, guint n_closed, guint n_channels, const GError *error)
{
  if (error == NULL)
    return;
  if (n_closed < n_channels)
    bench_die ("the %s's link closed with %u of %u channels still open: %s", side,
               n_channels - n_closed, n_channels, error->message);
  g_atomic_int_inc (&late_link_errors);
  g_printerr ("note: after all channels finished, the %s's link ended with: %s\n", side,
              error->message);
}

static void
on_sender_link_closed (CvMux *mux, const GError *error, Sender *sender)
{
  sender->link_closed = TRUE;
  note_link_closed ("sender", sender->n_closed, sender->outgoing->len, error);
}

static Sender *
sender_new (const BenchMuxPlan *plan, GIOStream *link)
{
  Sender *sender = g_new0 (Sender, 1);

  sender->plan = plan;
  sender->link = link;
  sender->mux = cv_mux_new (link, CV_MUX_ROLE_INITIATOR, &plan->config);
  sender->outgoing = g_ptr_array_new_with_free_func ((GDestroyNotify) outgoing_free);
  g_signal_connect (sender->mux, "closed", G_CALLBACK (on_sender_link_closed), sender);
  cv_mux_start (sender->mux);

  for (guint i = 0; i < plan->n_channels; i++)
    {
      g_autoptr (GError) error = NULL;
      Outgoing *o = g_new0 (Outgoing, 1);

      /* The port names the stream (port 0 is not allowed), so the receiver knows which
       * pattern to expect. */
      o->channel = cv_mux_open_channel (sender->mux, "bench.invalid", i + 1, &error);
      if (o->channel == NULL)
        bench_die ("opening channel %u: %s", i, error->message);
      o->sender = sender;
      o->index = i;
      o->length = plan_channel_length (plan, i);
      g_ptr_array_add (sender->outgoing, o);
      g_signal_connect (o->channel, "writable", G_CALLBACK (on_outgoing_writable), o);
      g_signal_connect (o->channel, "closed", G_CALLBACK (on_outgoing_closed), o);
      outgoing_pump (o);
    }
  return sender;
}

static gboolean
sender_finished (Sender *sender)
{
  return sender->link_closed && g_io_stream_is_closed (sender->link);
}

static void
sender_free (Sender *sender)
{
  g_signal_handlers_disconnect_by_data (sender->mux, sender);
  g_ptr_array_unref (sender->outgoing);
  g_object_unref (sender->mux);
  g_free (sender);
}

/* The receiving end: accepts every channel, checks and consumes every byte. */
typedef struct _Receiver Receiver;

typedef struct {
  Receiver *receiver;
  CvChannel *channel;
  guint index;
  guint64 expected;
  guint64 received;
  gboolean fin_sent;
} Incoming;

struct _Receiver {
  const BenchMuxPlan *plan;
  GIOStream *link;
  CvMux *mux;
  GPtrArray *incoming; /* of Incoming, by stream index */
  guint64 received;
  guint n_accepted;
  guint n_closed;
  gboolean link_closed;
};

static void
incoming_free (Incoming *in)
{
  if (in == NULL)
    return;
  g_signal_handlers_disconnect_by_data (in->channel, in);
  g_object_unref (in->channel);
  g_free (in);
}

static void
on_incoming_readable (CvChannel *channel, Incoming *in)
{
  gsize len;
  const guint8 *bytes;

  /* Peek may return only part of what is buffered. */
  while ((bytes = cv_channel_peek (channel, &len)) != NULL && len > 0)
    {
      if (in->received + len > in->expected
          || !bench_stream_matches (in->index, in->received, bytes, len))
        bench_die ("channel %u: wrong bytes at offset %" G_GUINT64_FORMAT, in->index, in->received);
      in->received += len;
      in->receiver->received += len;
      cv_channel_consume (channel, len);
    }
  if (cv_channel_is_eof (channel) && !in->fin_sent)
    {
      if (in->received != in->expected)
        bench_die ("channel %u ended after %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " bytes",
                   in->index, in->received, in->expected);
      in->fin_sent = TRUE;
      cv_channel_shutdown_write (channel);
    }
}

static void
on_incoming_closed (CvChannel *channel, const GError *error, Incoming *in)
{
  if (error != NULL)
    bench_die ("receiving channel %u closed: %s", in->index, error->message);
  in->receiver->n_closed++;
}

static void
on_incoming_channel (CvMux *mux, CvChannel *channel, Receiver *receiver)
{
  guint index = cv_channel_get_port (channel) - 1u;
  Incoming *in;

  if (index >= receiver->plan->n_channels || receiver->incoming->pdata[index] != NULL)
    bench_die ("an unexpected channel (port %u) arrived", index);
  in = g_new0 (Incoming, 1);
  in->receiver = receiver;
  in->channel = g_object_ref (channel);
  in->index = index;
  in->expected = plan_channel_length (receiver->plan, index);
  receiver->incoming->pdata[index] = in;
  receiver->n_accepted++;
  g_signal_connect (channel, "readable", G_CALLBACK (on_incoming_readable), in);
  g_signal_connect (channel, "closed", G_CALLBACK (on_incoming_closed), in);
  cv_channel_accept (channel);
}

static void
on_receiver_link_closed (CvMux *mux, const GError *error, Receiver *receiver)
{
  receiver->link_closed = TRUE;
  note_link_closed ("receiver", receiver->n_closed, receiver->plan->n_channels, error);
}

static Receiver *
receiver_new (const BenchMuxPlan *plan, GIOStream *link)
{
  Receiver *receiver = g_new0 (Receiver, 1);

  receiver->plan = plan;
  receiver->link = link;
  receiver->mux = cv_mux_new (link, CV_MUX_ROLE_RESPONDER, &plan->config);
  receiver->incoming = g_ptr_array_new_with_free_func ((GDestroyNotify) incoming_free);
  g_ptr_array_set_size (receiver->incoming, plan->n_channels);
  g_signal_connect (receiver->mux, "incoming-channel", G_CALLBACK (on_incoming_channel), receiver);
  g_signal_connect (receiver->mux, "closed", G_CALLBACK (on_receiver_link_closed), receiver);
  cv_mux_start (receiver->mux);
  return receiver;
}

static gboolean
receiver_finished (Receiver *receiver)
{
  return receiver->link_closed && g_io_stream_is_closed (receiver->link);
}

static void
receiver_free (Receiver *receiver)
{
  g_signal_handlers_disconnect_by_data (receiver->mux, receiver);
  g_ptr_array_unref (receiver->incoming);
  g_object_unref (receiver->mux);
  g_free (receiver);
}

typedef struct {
  const BenchMuxPlan *plan;
  GIOStream *sender_link;
  GIOStream *receiver_link;
  guint64 received; /* checked bytes, when the receiver is done */
  guint n_accepted;
} MuxJob;

static gpointer
run_sender_thread (gpointer data)
{
  MuxJob *job = data;
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (GSource) watchdog = NULL;
  Sender *sender;

  g_main_context_push_thread_default (context);
  watchdog = watchdog_attach (context, job->plan->bytes);
  sender = sender_new (job->plan, job->sender_link);
  while (!sender_finished (sender))
    g_main_context_iteration (context, TRUE);
  sender_free (sender);
  g_source_destroy (watchdog);
  g_main_context_pop_thread_default (context);
  return NULL;
}

static gpointer
run_receiver_thread (gpointer data)
{
  MuxJob *job = data;
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (GSource) watchdog = NULL;
  Receiver *receiver;

  g_main_context_push_thread_default (context);
  watchdog = watchdog_attach (context, job->plan->bytes);
  receiver = receiver_new (job->plan, job->receiver_link);
  while (!receiver_finished (receiver))
    g_main_context_iteration (context, TRUE);
  job->received = receiver->received;
  job->n_accepted = receiver->n_accepted;
  receiver_free (receiver);
  g_source_destroy (watchdog);
  g_main_context_pop_thread_default (context);
  return NULL;
}

/* Both ends on one main context: what a single-threaded process pays for both sides. */
static gpointer
run_pair_thread (gpointer data)
{
  MuxJob *job = data;
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (GSource) watchdog = NULL;
  Receiver *receiver;
  Sender *sender;

  g_main_context_push_thread_default (context);
  watchdog = watchdog_attach (context, job->plan->bytes);
  receiver = receiver_new (job->plan, job->receiver_link);
  sender = sender_new (job->plan, job->sender_link);
  while (!sender_finished (sender) || !receiver_finished (receiver))
    g_main_context_iteration (context, TRUE);
  job->received = receiver->received;
  job->n_accepted = receiver->n_accepted;
  sender_free (sender);
  receiver_free (receiver);
  g_source_destroy (watchdog);
  g_main_context_pop_thread_default (context);
  return NULL;
}

BenchMeasurement *
bench_run_mux (const char *label, const BenchMuxPlan *plan, gboolean one_thread)
{
  g_autoptr (GSocketConnection) sender_link = NULL;
  g_autoptr (GSocketConnection) receiver_link = NULL;
  MuxJob job = { .plan = plan };
  BenchStamp start, end;

  cv_test_socket_pair (&sender_link, &receiver_link);
  job.sender_link = G_IO_STREAM (sender_link);
  job.receiver_link = G_IO_STREAM (receiver_link);

  bench_stamp_now (&start);
  if (one_thread)
    {
      g_thread_join (g_thread_new ("mux-pair", run_pair_thread, &job));
    }
  else
    {
      GThread *sending = g_thread_new ("mux-sender", run_sender_thread, &job);
      GThread *receiving = g_thread_new ("mux-receiver", run_receiver_thread, &job);

      g_thread_join (sending);
      g_thread_join (receiving);
    }
  bench_stamp_now (&end);

  if (job.n_accepted != plan->n_channels || job.received != plan->bytes)
    bench_die ("%s: %u of %u channels, %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT
               " bytes arrived",
               label, job.n_accepted, plan->n_channels, job.received, plan->bytes);
  return bench_measurement_new (label, plan->n_channels, plan->bytes, &start, &end);
}
