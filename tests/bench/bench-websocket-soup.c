/* bench-websocket-soup.c: why Culvert frames RFC 6455 itself.  One direction over
 * loopback TCP, no TLS, until a byte count or a time is reached (tests/bench/
 * WEBSOCKET.md has the results):
 *
 *   soup    libsoup's SoupWebsocketConnection sending 64 KiB binary messages to another
 *           one (each in a thread of its own); libsoup has no back-pressure signal, so
 *           the sender keeps at most SOUP_WINDOW bytes ahead of what was received;
 *   bridge  bytes written into a client bridge's inner socket, read out of a server
 *           bridge's (each bridge in a thread of its own, writer and reader too);
 *   plain   the same bytes copied over a TCP connection by two threads: the ceiling.
 *
 * Every byte received is compared with what was sent.  MB/s is 10^6 bytes a second of
 * wall time; CPU is user + system of the whole process, per 10^9 bytes. */
#include "ws-test-peer.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define KIB 1024u
#define MIB (1024u * 1024u)
#define CHUNK (256 * KIB)
#define SOUP_MESSAGE (64 * KIB)
#define SOUP_WINDOW (4 * MIB)

/* A pattern period, then CHUNK bytes more of it, so that CHUNK bytes from any offset are
 * contiguous.  The odd period keeps it out of step with the chunks and messages. */
#define PERIOD (64 * KIB + 13)
static guint8 pattern[PERIOD + CHUNK];

static const guint8 *
pattern_at (guint64 position)
{
  return pattern + position % PERIOD;
}

static void G_GNUC_NORETURN
die (const char *what, guint64 position)
{
  g_printerr ("bench-websocket-soup: %s: wrong bytes at offset %" G_GUINT64_FORMAT "\n", what,
              position);
  exit (EXIT_FAILURE);
}

static void
check_bytes (const char *what, guint64 position, const guint8 *bytes, gsize len)
{
  while (len > 0)
    {
      gsize n = MIN (len, CHUNK);

      if (memcmp (bytes, pattern_at (position), n) != 0)
        die (what, position);
      bytes += n;
      len -= n;
      position += n;
    }
}

static gdouble
cpu_seconds (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec
         + usage.ru_stime.tv_usec / 1e6;
}

/* What every case shares: the limits, and the sender's total once it stopped. */
typedef struct {
  guint64 max_bytes;
  gint64 deadline_us;
  gsize sent;     /* atomic */
  gsize received; /* atomic */
  gint finished;  /* atomic: the sender stopped; `sent` is final */
} Run;

static gboolean
sender_may_go_on (Run *run, guint64 sent)
{
  return sent < run->max_bytes && g_get_monotonic_time () < run->deadline_us;
}

/* soup: two SoupWebsocketConnections, a thread and a main context each. */
typedef struct {
  Run *run;
  GSocketConnection *tcp;
  GMainContext *context;
  GMainContext *peer_context; /* woken when a message arrived */
  gboolean is_sender;
} SoupEnd;

static void
on_soup_message (SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer user_data)
{
  SoupEnd *end = user_data;
  gsize len;
  const guint8 *data = g_bytes_get_data (message, &len);
  gsize at = g_atomic_pointer_get (&end->run->received);

  check_bytes ("libsoup", at, data, len);
  g_atomic_pointer_add (&end->run->received, len);
  g_main_context_wakeup (end->peer_context);
}

static gboolean
soup_receiver_done (SoupEnd *end)
{
  return g_atomic_int_get (&end->run->finished)
         && g_atomic_pointer_get (&end->run->received) == g_atomic_pointer_get (&end->run->sent);
}

static gpointer
soup_end_main (gpointer data)
{
  SoupEnd *end = data;
  g_autoptr (GUri) uri = g_uri_parse ("ws://127.0.0.1/bench", G_URI_FLAGS_NONE, NULL);
  g_autoptr (SoupWebsocketConnection) ws = NULL;
  gint64 close_deadline;

  g_main_context_push_thread_default (end->context);
  ws = soup_websocket_connection_new (G_IO_STREAM (end->tcp), uri,
                                      end->is_sender ? SOUP_WEBSOCKET_CONNECTION_CLIENT
                                                     : SOUP_WEBSOCKET_CONNECTION_SERVER,
                                      NULL, NULL, NULL);
  if (end->is_sender)
    {
      guint64 sent = 0;

      while (sender_may_go_on (end->run, sent))
        {
          if (sent - g_atomic_pointer_get (&end->run->received) < SOUP_WINDOW)
            {
              gsize n = MIN (SOUP_MESSAGE, end->run->max_bytes - sent);

              soup_websocket_connection_send_binary (ws, pattern_at (sent), n);
              sent += n;
              g_atomic_pointer_set (&end->run->sent, sent);
            }
          else
            g_main_context_iteration (end->context, TRUE);
        }
      g_atomic_int_set (&end->run->finished, TRUE);
      while (g_atomic_pointer_get (&end->run->received) < sent)
        g_main_context_iteration (end->context, TRUE);
      soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
    }
  else
    {
      g_signal_connect (ws, "message", G_CALLBACK (on_soup_message), end);
      while (!soup_receiver_done (end))
        g_main_context_iteration (end->context, TRUE);
    }

  close_deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (soup_websocket_connection_get_state (ws) != SOUP_WEBSOCKET_STATE_CLOSED
         && g_get_monotonic_time () < close_deadline)
    if (!g_main_context_iteration (end->context, FALSE))
      g_usleep (1000);
  g_clear_object (&ws);
  while (g_main_context_iteration (end->context, FALSE))
    ;
  g_main_context_pop_thread_default (end->context);
  return NULL;
}

static void
run_soup (Run *run)
{
  g_autoptr (GSocketConnection) client = NULL;
  g_autoptr (GSocketConnection) server = NULL;
  SoupEnd sender = { run }, receiver = { run };
  GThread *threads[2];

  ws_tcp_pair (&client, &server, 0, 0);
  sender.tcp = client;
  sender.is_sender = TRUE;
  sender.context = g_main_context_new ();
  receiver.tcp = server;
  receiver.context = g_main_context_new ();
  sender.peer_context = receiver.context;
  receiver.peer_context = sender.context;
  threads[0] = g_thread_new ("soup-receiver", soup_end_main, &receiver);
  threads[1] = g_thread_new ("soup-sender", soup_end_main, &sender);
  g_thread_join (threads[1]);
  /* The receiver may wait on a wakeup that came before it looked. */
  g_main_context_wakeup (receiver.context);
  g_thread_join (threads[0]);
  g_main_context_unref (sender.context);
  g_main_context_unref (receiver.context);
}

/* bridge and plain: a writer thread and a reader thread on two sockets. */
typedef struct {
  Run *run;
  GSocket *socket;
  const char *what;
} SocketEnd;

static gpointer
socket_writer_main (gpointer data)
{
  SocketEnd *end = data;
  guint64 sent = 0;

  while (sender_may_go_on (end->run, sent))
    {
      g_autoptr (GError) error = NULL;
      gssize n = g_socket_send_with_blocking (end->socket, (const char *) pattern_at (sent),
                                              MIN (CHUNK, end->run->max_bytes - sent), TRUE, NULL,
                                              &error);

      if (n < 0)
        g_error ("%s: writing: %s", end->what, error->message);
      sent += n;
    }
  g_atomic_pointer_set (&end->run->sent, sent);
  g_atomic_int_set (&end->run->finished, TRUE);
  g_socket_shutdown (end->socket, FALSE, TRUE, NULL);
  return NULL;
}

static gpointer
socket_reader_main (gpointer data)
{
  SocketEnd *end = data;
  g_autofree guint8 *buffer = g_malloc (CHUNK);
  guint64 received = 0;

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      gssize n = g_socket_receive_with_blocking (end->socket, (char *) buffer, CHUNK, TRUE, NULL,
                                                 &error);

      if (n < 0)
        g_error ("%s: reading: %s", end->what, error->message);
      if (n == 0)
        break;
      check_bytes (end->what, received, buffer, n);
      received += n;
      g_atomic_pointer_set (&end->run->received, received);
    }
  return NULL;
}

static void
run_sockets (Run *run, GSocket *write_to, GSocket *read_from, const char *what)
{
  SocketEnd writer = { run, write_to, what };
  SocketEnd reader = { run, read_from, what };
  GThread *threads[2];

  threads[0] = g_thread_new ("reader", socket_reader_main, &reader);
  threads[1] = g_thread_new ("writer", socket_writer_main, &writer);
  g_thread_join (threads[1]);
  g_thread_join (threads[0]);
  if (run->received != run->sent)
    g_error ("%s: %" G_GSIZE_FORMAT " bytes sent, %" G_GSIZE_FORMAT " received", what, run->sent,
             run->received);
}

static void
run_plain (Run *run)
{
  g_autoptr (GSocketConnection) client = NULL;
  g_autoptr (GSocketConnection) server = NULL;

  ws_tcp_pair (&client, &server, 0, 0);
  run_sockets (run, g_socket_connection_get_socket (client),
               g_socket_connection_get_socket (server), "plain copy");
}

static void
run_bridge (Run *run)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) client = NULL;
  g_autoptr (GSocketConnection) server = NULL;
  g_autoptr (GSocketConnection) client_inner = NULL;
  g_autoptr (GSocketConnection) server_inner = NULL;
  WsWorker *client_worker = ws_worker_new ("bridge-client");
  WsWorker *server_worker = ws_worker_new ("bridge-server");
  CvWsBridgeOptions options;

  ws_tcp_pair (&client, &server, 0, 0);
  cv_ws_bridge_options_init (&options);
  options.is_client = TRUE;
  options.peer_name = "the bench's server";
  client_inner = cv_ws_bridge_start (G_IO_STREAM (client), NULL, &options, client_worker->context,
                                     &error);
  g_assert_no_error (error);
  options.is_client = FALSE;
  options.peer_name = "the bench's client";
  server_inner = cv_ws_bridge_start (G_IO_STREAM (server), NULL, &options, server_worker->context,
                                     &error);
  g_assert_no_error (error);
  g_clear_object (&client);
  g_clear_object (&server);

  run_sockets (run, g_socket_connection_get_socket (client_inner),
               g_socket_connection_get_socket (server_inner), "bridge");
  g_clear_object (&client_inner);
  g_clear_object (&server_inner);
  ws_worker_free (client_worker);
  ws_worker_free (server_worker);
}

typedef struct {
  const char *name;
  const char *label;
  void (*run) (Run *run);
} Case;

static const Case cases[] = {
  { "soup", "(a) libsoup → libsoup, 64 KiB messages", run_soup },
  { "bridge", "(b) bridge → bridge, inner socket to inner socket", run_bridge },
  { "plain", "(c) plain TCP copy, the ceiling", run_plain },
};

typedef struct {
  gdouble mb_per_s;
  gdouble cpu_per_gb;
  gdouble mb;
} Result;

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;

  return x < y ? -1 : x > y;
}

static gdouble
median (gdouble *values, guint n)
{
  qsort (values, n, sizeof *values, (int (*) (const void *, const void *)) compare_doubles);
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

int
main (int argc, char *argv[])
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GOptionContext) context = NULL;
  gint64 mib = 1024;
  gint seconds = 10;
  gint rounds = 3;
  g_auto (GStrv) only = NULL;
  GOptionEntry entries[] = {
    { "mib", 0, 0, G_OPTION_ARG_INT64, &mib, "Stop after this many MiB (1024)", "N" },
    { "seconds", 0, 0, G_OPTION_ARG_INT, &seconds, "…or after this many seconds (10)", "S" },
    { "rounds", 0, 0, G_OPTION_ARG_INT, &rounds, "Rounds of every case, interleaved (3)", "N" },
    { "case", 0, 0, G_OPTION_ARG_STRING_ARRAY, &only, "Only this case: soup, bridge, plain",
      "NAME" },
    { NULL },
  };
  Result results[G_N_ELEMENTS (cases)][16];

  setlocale (LC_ALL, "");
  context = g_option_context_new ("- WebSocket throughput: libsoup, the bridge, plain TCP");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("bench-websocket-soup: %s\n", error->message);
      return 2;
    }
  rounds = CLAMP (rounds, 1, 16);
  for (gsize i = 0; i < PERIOD; i++)
    pattern[i] = g_random_int () & 0xff;
  for (gsize i = PERIOD; i < sizeof pattern; i++)
    pattern[i] = pattern[i - PERIOD];

  /* Rounds interleaved (soup, bridge, plain, then again), so that a busy spell on a
   * shared machine hits every case rather than one. */
  for (gint r = 0; r < rounds; r++)
    for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
      {
        Run run = { .max_bytes = (guint64) mib * MIB };
        gint64 start_us;
        gdouble start_cpu, wall, cpu;

        if (only != NULL && !g_strv_contains ((const char *const *) only, cases[c].name))
          continue;
        start_us = g_get_monotonic_time ();
        start_cpu = cpu_seconds ();
        run.deadline_us = start_us + (gint64) seconds * G_USEC_PER_SEC;
        cases[c].run (&run);
        wall = (g_get_monotonic_time () - start_us) / 1e6;
        cpu = cpu_seconds () - start_cpu;
        results[c][r].mb_per_s = run.received / 1e6 / wall;
        results[c][r].cpu_per_gb = cpu / (run.received / 1e9);
        results[c][r].mb = run.received / 1e6;
      }

  g_print ("| case | MB/s (median) | CPU s/GB (median) | MB moved | MB/s of each round |\n");
  g_print ("|---|---:|---:|---:|---|\n");
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr (GString) each = g_string_new (NULL);
      gdouble mbs[16], cpus[16];

      if (only != NULL && !g_strv_contains ((const char *const *) only, cases[c].name))
        continue;
      for (gint r = 0; r < rounds; r++)
        {
          mbs[r] = results[c][r].mb_per_s;
          cpus[r] = results[c][r].cpu_per_gb;
          g_string_append_printf (each, "%s%.0f", r ? ", " : "", results[c][r].mb_per_s);
        }
      g_print ("| %s | %.0f | %.2f | %.0f | %s |\n", cases[c].label, median (mbs, rounds),
               median (cpus, rounds), results[c][0].mb, each->str);
    }
  return 0;
}
