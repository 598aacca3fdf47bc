/* bench-joiner.c: the gateway's joiner over loopback, SPLICE against COPY mode.
 *
 *   writer thread ──TCP──▶ A ═ joiner (main thread) ═ B ──TCP──▶ reader thread
 *
 * For each mode and size of pipe or buffer: MB/s through the joiner, and the joiner's
 * own CPU time per GB relayed (getrusage RUSAGE_THREAD of the main thread, which runs
 * nothing else).  On loopback the kernel delivers a segment to the receiving socket in
 * the sender's context, so the joiner's system time includes the receive processing of
 * the bytes it sends; on a real NIC part of that moves to interrupts.  A plain copy,
 * writer straight to reader, gives the machine's loopback ceiling.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* RUSAGE_THREAD */
#endif

#include "transport/cv-socket-joiner.h"

#include <gio/gio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define MIB (1024 * 1024)
#define CHUNK (256 * 1024)

static guint8 pattern[CHUNK];

typedef struct {
  GSocket *socket;
  guint64 bytes;             /* writer: to send; reader: received */
  gboolean half_close_first; /* reader: send nothing, and say so at once */
  gint done;                 /* atomic */
} Peer;

static gpointer
writer_main (gpointer data)
{
  Peer *p = data;
  guint64 left = p->bytes;

  while (left > 0)
    {
      g_autoptr (GError) error = NULL;
      gssize n = g_socket_send (p->socket, (const char *) pattern, MIN (left, CHUNK), NULL, &error);

      if (n < 0)
        g_error ("writer: %s", error->message);
      left -= n;
    }
  g_socket_shutdown (p->socket, FALSE, TRUE, NULL);
  g_atomic_int_set (&p->done, TRUE);
  g_main_context_wakeup (NULL);
  return NULL;
}

static gpointer
reader_main (gpointer data)
{
  Peer *p = data;
  g_autofree char *buffer = g_malloc (CHUNK);
  gssize n;

  if (p->half_close_first)
    g_socket_shutdown (p->socket, FALSE, TRUE, NULL);
  for (;;)
    {
      g_autoptr (GError) error = NULL;

      n = g_socket_receive (p->socket, buffer, CHUNK, NULL, &error);
      if (n < 0)
        g_error ("reader: %s", error->message);
      if (n == 0)
        break;
      p->bytes += n;
    }
  g_atomic_int_set (&p->done, TRUE);
  g_main_context_wakeup (NULL);
  return NULL;
}

static void
connected_pair (GSocket *listener, GSocketAddress *address, GSocket **peer, GSocket **accepted)
{
  g_autoptr (GError) error = NULL;

  *peer = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  if (*peer == NULL || !g_socket_connect (*peer, address, NULL, &error))
    g_error ("connect: %s", error->message);
  *accepted = g_socket_accept (listener, NULL, &error);
  if (*accepted == NULL)
    g_error ("accept: %s", error->message);
}

static GSocket *
listen_loopback (GSocketAddress **address)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  GSocket *listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                    G_SOCKET_PROTOCOL_TCP, &error);

  g_socket_set_listen_backlog (listener, 256);
  if (!g_socket_bind (listener, any_port, TRUE, &error) || !g_socket_listen (listener, &error))
    g_error ("listen: %s", error->message);
  *address = g_socket_get_local_address (listener, &error);
  return listener;
}

/* The calling thread's user and system CPU seconds. */
static void
thread_cpu (double *user_s, double *system_s)
{
  struct rusage usage;

  getrusage (RUSAGE_THREAD, &usage);
  *user_s = usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6;
  *system_s = usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

typedef struct {
  gboolean done;
  GError *error;
  CvJoinStats stats;
} JoinResult;

static void
on_joined (GObject *source, GAsyncResult *result, gpointer user_data)
{
  JoinResult *r = user_data;

  cv_socket_join_finish (result, &r->stats, &r->error);
  r->done = TRUE;
}

/* @bytes from A to B (and as many from B to A with @both_ways) through the joiner. */
static void
run_join (const char *label, CvJoinMode mode, gsize buffer_size, guint64 bytes, gboolean both_ways)
{
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GSocket) listener = listen_loopback (&address);
  g_autoptr (GSocket) peer_a = NULL, joined_a = NULL, peer_b = NULL, joined_b = NULL;
  g_autoptr (GSocketConnection) connection_a = NULL, connection_b = NULL;
  Peer writer_a = { 0 }, reader_b = { 0 }, writer_b = { 0 }, reader_a = { 0 };
  GThread *threads[4];
  guint n_threads = 0;
  CvJoinOptions options;
  JoinResult result = { 0 };
  gint64 start_us;
  double start_user, start_system, end_user, end_system, wall_s, cpu_s, relayed_gb;

  connected_pair (listener, address, &peer_a, &joined_a);
  connected_pair (listener, address, &peer_b, &joined_b);
  connection_a = g_socket_connection_factory_create_connection (joined_a);
  connection_b = g_socket_connection_factory_create_connection (joined_b);
  cv_join_options_init (&options);
  options.buffer_size = buffer_size;

  writer_a = (Peer){ .socket = peer_a, .bytes = bytes };
  reader_b = (Peer){ .socket = peer_b, .half_close_first = !both_ways };
  writer_b = (Peer){ .socket = peer_b, .bytes = bytes };
  reader_a = (Peer){ .socket = peer_a };

  start_us = g_get_monotonic_time ();
  thread_cpu (&start_user, &start_system);
  cv_socket_join_async (connection_a, connection_b, mode, &options, NULL, on_joined, &result);
  threads[n_threads++] = g_thread_new ("writer A", writer_main, &writer_a);
  threads[n_threads++] = g_thread_new ("reader B", reader_main, &reader_b);
  if (both_ways)
    {
      threads[n_threads++] = g_thread_new ("writer B", writer_main, &writer_b);
      threads[n_threads++] = g_thread_new ("reader A", reader_main, &reader_a);
    }
  while (!result.done)
    g_main_context_iteration (NULL, TRUE);
  thread_cpu (&end_user, &end_system);
  cpu_s = end_user - start_user + end_system - start_system;
  for (guint i = 0; i < n_threads; i++)
    g_thread_join (threads[i]);
  wall_s = (g_get_monotonic_time () - start_us) / 1e6;

  if (result.error != NULL)
    g_error ("%s: %s", label, result.error->message);
  if (reader_b.bytes != bytes || (both_ways && reader_a.bytes != bytes))
    g_error ("%s: bytes lost", label);
  if (result.stats.mode != mode)
    g_error ("%s: ran in the other mode", label);
  relayed_gb = (result.stats.bytes_a_to_b + result.stats.bytes_b_to_a) / 1e9;
  g_print ("%-22s %6.0f MB/s   joiner %5.3f CPU s/GB (user %5.3f, system %5.3f)\n", label,
           relayed_gb * 1e3 / wall_s, cpu_s / relayed_gb, (end_user - start_user) / relayed_gb,
           (end_system - start_system) / relayed_gb);
}

/* Writer straight to reader over one loopback connection: the ceiling. */
static void
run_plain (guint64 bytes)
{
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GSocket) listener = listen_loopback (&address);
  g_autoptr (GSocket) writer_socket = NULL, reader_socket = NULL;
  Peer writer = { 0 }, reader = { 0 };
  GThread *threads[2];
  gint64 start_us;
  double wall_s;

  connected_pair (listener, address, &writer_socket, &reader_socket);
  writer = (Peer){ .socket = writer_socket, .bytes = bytes };
  reader = (Peer){ .socket = reader_socket };
  start_us = g_get_monotonic_time ();
  threads[0] = g_thread_new ("writer", writer_main, &writer);
  threads[1] = g_thread_new ("reader", reader_main, &reader);
  g_thread_join (threads[0]);
  g_thread_join (threads[1]);
  wall_s = (g_get_monotonic_time () - start_us) / 1e6;
  g_print ("%-22s %6.0f MB/s   (no joiner)\n", "plain loopback", bytes / 1e6 / wall_s);
}

int
main (int argc, char **argv)
{
  gint gib = 2;
  gboolean both_ways = FALSE;
  gint repeat = 1;
  g_autofree char *only = NULL;
  const GOptionEntry entries[] = {
    { "gib", 'g', 0, G_OPTION_ARG_INT, &gib, "GiB to relay per run (default 2)", "N" },
    { "both-ways", 'b', 0, G_OPTION_ARG_NONE, &both_ways,
      "Relay half of it each way at the same time", NULL },
    { "repeat", 'r', 0, G_OPTION_ARG_INT, &repeat, "Run every case this many times", "N" },
    { "only", 'o', 0, G_OPTION_ARG_STRING, &only,
      "Run only the cases whose label starts with this (\"splice\", \"copy, 64\")", "LABEL" },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- the socket joiner's cost");
  g_autoptr (GError) error = NULL;
  guint64 bytes;
  const struct {
    const char *label;
    CvJoinMode mode;
    gsize buffer_size;
  } runs[] = {
    { "splice, 64 KiB pipe", CV_JOIN_MODE_SPLICE, 64 * 1024 },
    { "splice, 256 KiB pipe", CV_JOIN_MODE_SPLICE, 256 * 1024 },
    { "splice, 1 MiB pipe", CV_JOIN_MODE_SPLICE, 1024 * 1024 },
    { "copy, 16 KiB buffer", CV_JOIN_MODE_COPY, 16 * 1024 },
    { "copy, 64 KiB buffer", CV_JOIN_MODE_COPY, 64 * 1024 },
    { "copy, 256 KiB buffer", CV_JOIN_MODE_COPY, 256 * 1024 },
  };

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return EXIT_FAILURE;
    }
  for (gsize i = 0; i < sizeof pattern; i++)
    pattern[i] = (guint8) (i * 2654435761u >> 24);

  bytes = (guint64) gib * 1024 * MIB;
  g_print ("%d GiB relayed per run%s; MB and GB are 10^6 and 10^9 bytes\n", gib,
           both_ways ? ", half each way at once" : ", A to B");
  for (gint r = 0; r < repeat; r++)
    {
      if (only == NULL)
        run_plain (bytes);
      for (gsize i = 0; i < G_N_ELEMENTS (runs); i++)
        if (only == NULL || g_str_has_prefix (runs[i].label, only))
          run_join (runs[i].label, runs[i].mode, runs[i].buffer_size, both_ways ? bytes / 2 : bytes,
                    both_ways);
    }
  return EXIT_SUCCESS;
}
