/* test-socket-joiner.c: two loopback TCP connections joined by the gateway's joiner.
 *
 *   peer A ──TCP──▶ listener ┐                ┌ listener ◀──TCP── peer B
 *                            └─ joined A ═ joiner ═ joined B ─┘
 *
 * Every test runs in SPLICE and in COPY mode.  The main thread runs the joiner; the
 * peers are threads doing blocking I/O, so nothing they do can be helped by the main
 * loop.
 */
#include "transport/cv-socket-joiner.h"
#include "base/cv-socket-util.h"
#include "cv-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gnetworking.h>
#include <glib/gstdio.h>
#include <string.h>

#ifdef G_OS_UNIX
#include <sys/resource.h>
#include <unistd.h>
#endif
#ifdef __linux__
#include <linux/sockios.h>
#include <sys/ioctl.h>
#endif

#define KIB 1024
#define MIB (1024 * 1024)
#define POOL_SIZE MIB
#define SEND_CHUNK (16 * KIB)

static guint8 pool[POOL_SIZE];

/* ---- byte streams: @len bytes of the pool from a seed-dependent offset ---- */

static gsize
stream_start (guint32 seed)
{
  return (seed * 7919u) % POOL_SIZE;
}

static void
stream_walk (guint32 seed, gsize len, void (*func) (const guint8 *, gsize, gpointer), gpointer data)
{
  gsize offset = stream_start (seed);

  while (len > 0)
    {
      gsize n = MIN (len, POOL_SIZE - offset);

      func (pool + offset, n, data);
      len -= n;
      offset = 0;
    }
}

static void
checksum_piece (const guint8 *bytes, gsize len, gpointer data)
{
  g_checksum_update (data, bytes, len);
}

static char *
stream_checksum (guint32 seed, gsize len)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);

  stream_walk (seed, len, checksum_piece, sum);
  return g_strdup (g_checksum_get_string (sum));
}

static void
append_piece (const guint8 *bytes, gsize len, gpointer data)
{
  g_byte_array_append (data, bytes, len);
}

static void
stream_append (GByteArray *array, guint32 seed, gsize len)
{
  stream_walk (seed, len, append_piece, array);
}

/* ---- sockets ------------------------------------------------------------- */

/* The agents' ends, and the gateway's ends of the same two connections. */
typedef struct {
  GSocket *peer[2];
  GSocketConnection *joined[2];
} Pair;

static void
pair_connect (Pair *pair, GSocket *listener, guint16 port)
{
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, port);

  for (guint s = 0; s < 2; s++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (GSocket) accepted = NULL;

      pair->peer[s] = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                    G_SOCKET_PROTOCOL_TCP, &error);
      g_assert_no_error (error);
      g_socket_set_timeout (pair->peer[s], 60);
      g_socket_connect (pair->peer[s], address, NULL, &error);
      g_assert_no_error (error);
      /* Accepted right after its connect, so the accepted socket is this one's. */
      accepted = g_socket_accept (listener, NULL, &error);
      g_assert_no_error (error);
      pair->joined[s] = g_socket_connection_factory_create_connection (accepted);
    }
}

static void
pair_clear (Pair *pair)
{
  for (guint s = 0; s < 2; s++)
    {
      g_clear_object (&pair->peer[s]);
      g_clear_object (&pair->joined[s]);
    }
}

static gboolean
pair_joined_closed (Pair *pair)
{
  return g_socket_is_closed (g_socket_connection_get_socket (pair->joined[0]))
         && g_socket_is_closed (g_socket_connection_get_socket (pair->joined[1]));
}

/* ---- the joiner ---------------------------------------------------------- */

typedef struct {
  gboolean done;
  gboolean ok;
  GError *error;
  CvJoinStats stats;
} JoinResult;

static void
on_joined (GObject *source, GAsyncResult *result, gpointer user_data)
{
  JoinResult *r = user_data;

  r->ok = cv_socket_join_finish (result, &r->stats, &r->error);
  r->done = TRUE;
}

static gboolean
join_done (gpointer data)
{
  return ((JoinResult *) data)->done;
}

static void
join_pair (Pair *pair,
           CvJoinMode mode,
           const CvJoinOptions *options,
           GCancellable *cancellable,
           JoinResult *result)
{
  memset (result, 0, sizeof *result);
  cv_socket_join_async (pair->joined[0], pair->joined[1], mode, options, cancellable, on_joined,
                        result);
  g_assert_false (result->done); /* never before returning */
}

static CvJoinMode
mode_that_runs (CvJoinMode mode)
{
#ifdef __linux__
  return mode;
#else
  return CV_JOIN_MODE_COPY;
#endif
}

/* ---- peers: threads with blocking sockets --------------------------------- */

typedef enum {
  ROLE_DUPLEX,          /* send and receive at once (two threads), half-closing after sending */
  ROLE_REQUEST,         /* send, half-close, receive to the end */
  ROLE_REPLY,           /* receive to the end, then send and half-close */
  ROLE_RESET,           /* receive reset_after bytes, then close with RST */
  ROLE_WAIT,            /* only receive, until the end or an error */
  ROLE_SEND_THEN_RESET, /* send, half-close, and a little later close with RST */
  ROLE_WAIT_FOR_RESET,  /* receive to the end, then wait for the connection to break */
} Role;

typedef struct {
  GSocket *socket;
  Role role;
  guint32 seed;
  gsize send_len;
  gsize reset_after;
  gint pause_ms;   /* before the first receive */
  gint trickle_ms; /* send 100 bytes at a time, this far apart */

  guintptr sent; /* atomic: what send() took so far */
  GError *send_error;
  char *received_sum;
  gsize received;
  GError *receive_error;

  GThread *threads[2];
  guint n_threads;
  gint threads_done; /* atomic */
} Peer;

static void
peer_send (Peer *p)
{
  gsize offset = stream_start (p->seed);
  gsize left = p->send_len;
  gsize total = 0;

  while (left > 0)
    {
      gsize n = MIN (left, MIN (p->trickle_ms > 0 ? 100 : SEND_CHUNK, POOL_SIZE - offset));
      gssize sent = g_socket_send (p->socket, (const char *) pool + offset, n, NULL,
                                   &p->send_error);

      if (sent < 0)
        return;
      offset = (offset + sent) % POOL_SIZE;
      left -= sent;
      total += sent;
      g_atomic_pointer_set (&p->sent, total);
      if (p->trickle_ms > 0)
        g_usleep (p->trickle_ms * 1000);
    }
  g_socket_shutdown (p->socket, FALSE, TRUE, &p->send_error);
}

static void
peer_receive (Peer *p)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  char buffer[64 * KIB];
  gssize n;

  if (p->pause_ms > 0)
    g_usleep (p->pause_ms * 1000);
  while ((n = g_socket_receive (p->socket, buffer, sizeof buffer, NULL, &p->receive_error)) > 0)
    {
      g_checksum_update (sum, (const guint8 *) buffer, n);
      p->received += n;
    }
  if (n == 0)
    p->received_sum = g_strdup (g_checksum_get_string (sum));
}

static void
peer_reset (Peer *p)
{
  char buffer[4096];

  while (p->received < p->reset_after)
    {
      gssize n = g_socket_receive (p->socket, buffer,
                                   MIN (sizeof buffer, p->reset_after - p->received), NULL,
                                   &p->receive_error);
      if (n <= 0)
        return;
      p->received += n;
    }
  cv_socket_close_with_reset (p->socket);
}

/* After the end of stream a receive keeps returning 0 even once a reset came, so wait
 * for the socket to report it, and take the error it holds. */
static void
peer_wait_for_reset (Peer *p)
{
  gint value = 0;

  peer_receive (p);
  if (p->receive_error != NULL)
    return;
  if (!g_socket_condition_timed_wait (p->socket, G_IO_ERR | G_IO_HUP, 10 * G_USEC_PER_SEC, NULL,
                                      &p->receive_error))
    return;
  g_socket_get_option (p->socket, SOL_SOCKET, SO_ERROR, &value, NULL);
  if (value != 0)
    p->receive_error = g_error_new_literal (G_IO_ERROR, g_io_error_from_errno (value),
                                            g_strerror (value));
}

/* The main thread may be asleep in its loop, waiting for this. */
static void
peer_thread_done (Peer *p)
{
  g_atomic_int_inc (&p->threads_done);
  g_main_context_wakeup (NULL);
}

static gpointer
peer_main (gpointer data)
{
  Peer *p = data;

  switch (p->role)
    {
    case ROLE_DUPLEX:
      peer_send (p);
      break;
    case ROLE_REQUEST:
      peer_send (p);
      peer_receive (p);
      break;
    case ROLE_REPLY:
      peer_receive (p);
      peer_send (p);
      break;
    case ROLE_RESET:
      peer_reset (p);
      break;
    case ROLE_WAIT:
      peer_receive (p);
      break;
    case ROLE_SEND_THEN_RESET:
      peer_send (p);
      g_usleep (300 * 1000);
      cv_socket_close_with_reset (p->socket);
      break;
    case ROLE_WAIT_FOR_RESET:
      peer_wait_for_reset (p);
      break;
    }
  peer_thread_done (p);
  return NULL;
}

static gpointer
peer_receiver_main (gpointer data)
{
  Peer *p = data;

  peer_receive (p);
  peer_thread_done (p);
  return NULL;
}

static void
peer_start (Peer *p, GSocket *socket, Role role, guint32 seed, gsize send_len)
{
  p->socket = socket;
  p->role = role;
  p->seed = seed;
  p->send_len = send_len;
  p->threads[p->n_threads++] = g_thread_new ("peer", peer_main, p);
  if (role == ROLE_DUPLEX)
    p->threads[p->n_threads++] = g_thread_new ("peer receiver", peer_receiver_main, p);
}

static gboolean
peer_done (gpointer data)
{
  Peer *p = data;

  return (guint) g_atomic_int_get (&p->threads_done) == p->n_threads;
}

static void
peer_join (Peer *p)
{
  g_assert_true (cv_test_wait_until (peer_done, p, 90000));
  for (guint i = 0; i < p->n_threads; i++)
    g_thread_join (p->threads[i]);
  p->n_threads = 0;
}

static void
peer_clear (Peer *p)
{
  g_clear_error (&p->send_error);
  g_clear_error (&p->receive_error);
  g_clear_pointer (&p->received_sum, g_free);
}

/* @p received, complete and intact, what @from sent. */
static void
assert_received (const Peer *p, const Peer *from)
{
  g_autofree char *expected = stream_checksum (from->seed, from->send_len);

  g_assert_no_error (p->receive_error);
  g_assert_no_error (from->send_error);
  g_assert_cmpuint (p->received, ==, from->send_len);
  g_assert_cmpstr (p->received_sum, ==, expected);
}

/* ---- tests --------------------------------------------------------------- */

static const char *
mode_name (CvJoinMode mode)
{
  return mode == CV_JOIN_MODE_SPLICE ? "splice" : "copy";
}

/* 64 MiB each way at the same time. */
static void
test_bulk_both_ways (gconstpointer data)
{
  CvJoinMode mode = GPOINTER_TO_INT (data);
  guint16 port;
  g_autoptr (GSocket) listener = cv_test_listen_loopback (&port);
  Pair pair = { 0 };
  Peer a = { 0 }, b = { 0 };
  JoinResult r;
  gint64 start;

  pair_connect (&pair, listener, port);
  start = g_get_monotonic_time ();
  join_pair (&pair, mode, NULL, NULL, &r);
  peer_start (&a, pair.peer[0], ROLE_DUPLEX, 1, 64 * MIB);
  peer_start (&b, pair.peer[1], ROLE_DUPLEX, 2, 64 * MIB);
  peer_join (&a);
  peer_join (&b);
  g_assert_true (cv_test_wait_until (join_done, &r, 10000));
  g_test_message ("%s: 2 x 64 MiB in %.2f s", mode_name (mode),
                  (g_get_monotonic_time () - start) / 1e6);

  g_assert_no_error (r.error);
  g_assert_true (r.ok);
  g_assert_cmpint (r.stats.mode, ==, mode_that_runs (mode));
  g_assert_cmpuint (r.stats.bytes_a_to_b, ==, 64 * MIB);
  g_assert_cmpuint (r.stats.bytes_b_to_a, ==, 64 * MIB);
  g_assert_cmpint (r.stats.failed_side, ==, CV_JOIN_SIDE_NONE);
  assert_received (&a, &b);
  assert_received (&b, &a);
  g_assert_true (pair_joined_closed (&pair));
  peer_clear (&a);
  peer_clear (&b);
  pair_clear (&pair);
}

/* A sends a request and half-closes; B reads to the end, then answers; A gets all of
 * the answer.  Once with an empty request. */
static void
test_half_close (gconstpointer data)
{
  CvJoinMode mode = GPOINTER_TO_INT (data);
  const gsize request_lens[] = { 1 * MIB, 0 };
  guint16 port;
  g_autoptr (GSocket) listener = cv_test_listen_loopback (&port);

  for (guint i = 0; i < G_N_ELEMENTS (request_lens); i++)
    {
      Pair pair = { 0 };
      Peer a = { 0 }, b = { 0 };
      JoinResult r;

      pair_connect (&pair, listener, port);
      join_pair (&pair, mode, NULL, NULL, &r);
      peer_start (&a, pair.peer[0], ROLE_REQUEST, 3, request_lens[i]);
      peer_start (&b, pair.peer[1], ROLE_REPLY, 4, 3 * MIB);
      peer_join (&a);
      peer_join (&b);
      g_assert_true (cv_test_wait_until (join_done, &r, 10000));

      g_assert_no_error (r.error);
      g_assert_cmpuint (r.stats.bytes_a_to_b, ==, request_lens[i]);
      g_assert_cmpuint (r.stats.bytes_b_to_a, ==, 3 * MIB);
      assert_received (&b, &a);
      assert_received (&a, &b);
      g_assert_true (pair_joined_closed (&pair));
      peer_clear (&a);
      peer_clear (&b);
      pair_clear (&pair);
    }
}

#ifdef __linux__
/* Bytes a socket holds in the kernel: unread ones, or unsent and unacknowledged ones. */
static gsize
socket_queued (GSocket *socket, unsigned long request)
{
  int queued = 0;

  g_assert_cmpint (ioctl (g_socket_get_fd (socket), request, &queued), ==, 0);
  return queued;
}
#endif

/* B stops reading for a second and a half.  A's sending must stall once the kernel's
 * socket buffers and one pipe or buffer are full, and every byte must arrive once B
 * reads again. */
static void
test_slow_reader (gconstpointer data)
{
  CvJoinMode mode = GPOINTER_TO_INT (data);
  guint16 port;
  g_autoptr (GSocket) listener = cv_test_listen_loopback (&port);
  Pair pair = { 0 };
  Peer a = { 0 }, b = { 0 };
  JoinResult r;
  gsize sent_early, sent_late;
  gint64 start, until;

  pair_connect (&pair, listener, port);
  join_pair (&pair, mode, NULL, NULL, &r);
  b.pause_ms = 1500;
  peer_start (&a, pair.peer[0], ROLE_DUPLEX, 5, 64 * MIB);
  peer_start (&b, pair.peer[1], ROLE_DUPLEX, 6, 0);

  start = g_get_monotonic_time ();
  until = start + 500 * 1000;
  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE);
  sent_early = (gsize) g_atomic_pointer_get (&a.sent);
  until = start + 1000 * 1000;
  while (g_get_monotonic_time () < until)
    g_main_context_iteration (NULL, FALSE);
  /* Let the joiner do whatever it still could, then look while nothing moves. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
  sent_late = (gsize) g_atomic_pointer_get (&a.sent);

  g_test_message ("%s: with B asleep, A pushed %" G_GSIZE_FORMAT " bytes (%.1f MiB)",
                  mode_name (mode), sent_late, sent_late / (double) MIB);
  g_assert_false (peer_done (&a));
  g_assert_cmpuint (sent_late, ==, sent_early); /* A is blocked */
  g_assert_cmpuint (sent_late, <, 16 * MIB);
#ifdef __linux__
  {
    /* Whatever the kernel queues do not hold, the joiner holds.  A's thread may be
     * inside a send() whose first bytes are queued but not yet counted in a.sent. */
    gsize in_kernel = socket_queued (pair.peer[0], SIOCOUTQ)
                      + socket_queued (g_socket_connection_get_socket (pair.joined[0]), SIOCINQ)
                      + socket_queued (g_socket_connection_get_socket (pair.joined[1]), SIOCOUTQ)
                      + socket_queued (pair.peer[1], SIOCINQ);
    gssize in_joiner = (gssize) sent_late - (gssize) in_kernel;

    g_test_message ("%s: %" G_GSIZE_FORMAT " bytes in socket buffers, %" G_GSSIZE_FORMAT
                    " in the joiner",
                    mode_name (mode), in_kernel, in_joiner);
    g_assert_cmpint (in_joiner, >=, -SEND_CHUNK);
    g_assert_cmpint (in_joiner, <=, CV_JOIN_DEFAULT_BUFFER_SIZE);
  }
#endif

  peer_join (&a);
  peer_join (&b);
  g_assert_true (cv_test_wait_until (join_done, &r, 10000));
  g_assert_no_error (r.error);
  assert_received (&b, &a);
  assert_received (&a, &b);
  peer_clear (&a);
  peer_clear (&b);
  pair_clear (&pair);
}

/* One side resets: the other sees a reset, not a clean end, and the join names the
 * side that failed. */
static void
test_reset (gconstpointer data)
{
  CvJoinMode mode = GPOINTER_TO_INT (data);
  guint16 port;
  g_autoptr (GSocket) listener = cv_test_listen_loopback (&port);

  for (guint resetter = 0; resetter < 2; resetter++)
    {
      Pair pair = { 0 };
      Peer peers[2] = { { 0 } };
      Peer *victim = &peers[1 - resetter];
      JoinResult r;

      pair_connect (&pair, listener, port);
      join_pair (&pair, mode, NULL, NULL, &r);
      peers[resetter].reset_after = 1000;
      peer_start (&peers[resetter], pair.peer[resetter], ROLE_RESET, 7, 0);
      peer_start (victim, pair.peer[1 - resetter], ROLE_REQUEST, 8, 1000);
      peer_join (&peers[0]);
      peer_join (&peers[1]);
      g_assert_true (cv_test_wait_until (join_done, &r, 10000));

      /* The reset may come before the victim's half-close, which then fails. */
      if (victim->send_error != NULL)
        g_assert_true (
          cv_socket_error_is_reset (victim->send_error)
          || g_error_matches (victim->send_error, G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED));
      g_assert_error (victim->receive_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
      g_assert_null (victim->received_sum);
      g_test_message ("%s: %s", mode_name (mode), r.error->message);
      g_assert_true (cv_socket_error_is_reset (r.error));
      g_assert_true (
        g_str_has_prefix (r.error->message, resetter == 0 ? "connection A: " : "connection B: "));
      g_assert_cmpint (r.stats.failed_side, ==, resetter == 0 ? CV_JOIN_SIDE_A : CV_JOIN_SIDE_B);
      g_assert_true (pair_joined_closed (&pair));
      g_clear_error (&r.error);
      peer_clear (&peers[0]);
      peer_clear (&peers[1]);
      pair_clear (&pair);
    }
}

/* A half-closes and B, its request read, stays quiet: nothing is read or written on
 * either side when A resets, and still B sees a reset. */
static void
test_reset_while_idle (gconstpointer data)
{
  CvJoinMode mode = GPOINTER_TO_INT (data);
  guint16 port;
  g_autoptr (GSocket) listener = cv_test_listen_loopback (&port);
  Pair pair = { 0 };
  Peer a = { 0 }, b = { 0 };
  JoinResult r;

  pair_connect (&pair, listener, port);
  join_pair (&pair, mode, NULL, NULL, &r);
  peer_start (&a, pair.peer[0], ROLE_SEND_THEN_RESET, 9, 5000);
  peer_start (&b, pair.peer[1], ROLE_WAIT_FOR_RESET, 10, 0);
  peer_join (&a);
  peer_join (&b);
  g_assert_true (cv_test_wait_until (join_done, &r, 10000));

  g_assert_no_error (a.send_error);
  g_assert_cmpuint (b.received, ==, 5000);
  g_assert_error (b.receive_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_test_message ("%s: %s", mode_name (mode), r.error->message);
  g_assert_true (cv_socket_error_is_reset (r.error));
  g_assert_cmpint (r.stats.failed_side, ==, CV_JOIN_SIDE_A);
  g_assert_true (pair_joined_closed (&pair));
  g_clear_error (&r.error);
  peer_clear (&a);
  peer_clear (&b);
  pair_clear (&pair);
}

static void
join_with_idle_timeout (Pair *pair,
                        GSocket *listener,
                        guint16 port,
                        CvJoinMode mode,
                        guint idle_timeout_ms,
                        JoinResult *result)
{
  CvJoinOptions options;

  cv_join_options_init (&options);
  options.idle_timeout_ms = idle_timeout_ms;
  pair_connect (pair, listener, port);
  join_pair (pair, mode, &options, NULL, result);
}

/* A tunnel whose two sides went quiet, one half-closed and the other silent (an agent
 * gone without a word): the idle timeout ends it, and both peers see a reset. */
static void
test_idle_timeout (gconstpointer data)
{
  CvJoinMode mode = GPOINTER_TO_INT (data);
  guint16 port;
  g_autoptr (GSocket) listener = cv_test_listen_loopback (&port);
  Pair pair = { 0 };
  Peer a = { 0 }, b = { 0 };
  JoinResult r;

  join_with_idle_timeout (&pair, listener, port, mode, 300, &r);
  peer_start (&a, pair.peer[0], ROLE_REQUEST, 11, 5000);
  peer_start (&b, pair.peer[1], ROLE_WAIT_FOR_RESET, 12, 0);
  g_assert_true (cv_test_wait_until (join_done, &r, 10000));
  g_test_message ("%s: %s", mode_name (mode), r.error->message);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpint (r.stats.failed_side, ==, CV_JOIN_SIDE_NONE);
  g_assert_cmpuint (r.stats.bytes_a_to_b, ==, 5000);
  g_assert_true (pair_joined_closed (&pair));
  peer_join (&a);
  peer_join (&b);
  g_assert_error (a.receive_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_assert_cmpuint (b.received, ==, 5000);
  g_assert_error (b.receive_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_clear_error (&r.error);
  peer_clear (&a);
  peer_clear (&b);
  pair_clear (&pair);
}

/* A tunnel that carries a few bytes now and then, for longer than its idle timeout in
 * all, is not idle: it ends as its peers end it. */
static void
test_idle_timeout_busy (gconstpointer data)
{
  CvJoinMode mode = GPOINTER_TO_INT (data);
  guint16 port;
  g_autoptr (GSocket) listener = cv_test_listen_loopback (&port);
  Pair pair = { 0 };
  Peer a = { 0 }, b = { 0 };
  JoinResult r;

  join_with_idle_timeout (&pair, listener, port, mode, 1000, &r);
  a.trickle_ms = 50; /* 30 × 100 bytes over 1.5 s */
  peer_start (&a, pair.peer[0], ROLE_REQUEST, 13, 3000);
  peer_start (&b, pair.peer[1], ROLE_REPLY, 14, 20000);
  peer_join (&a);
  peer_join (&b);
  g_assert_true (cv_test_wait_until (join_done, &r, 10000));
  g_assert_no_error (r.error);
  g_assert_true (r.ok);
  assert_received (&b, &a);
  assert_received (&a, &b);
  peer_clear (&a);
  peer_clear (&b);
  pair_clear (&pair);
}

#define N_PAIRS 200

/* 200 tunnels at once, each a request and a reply, each checked. */
static void
test_many_pairs (gconstpointer data)
{
  CvJoinMode mode = GPOINTER_TO_INT (data);
  guint16 port;
  g_autoptr (GSocket) listener = cv_test_listen_loopback (&port);
  g_autofree Pair *pairs = g_new0 (Pair, N_PAIRS);
  g_autofree Peer *peers = g_new0 (Peer, 2 * N_PAIRS);
  g_autofree JoinResult *results = g_new0 (JoinResult, N_PAIRS);

  for (guint i = 0; i < N_PAIRS; i++)
    {
      pair_connect (&pairs[i], listener, port);
      join_pair (&pairs[i], mode, NULL, NULL, &results[i]);
    }
  for (guint i = 0; i < N_PAIRS; i++)
    {
      peer_start (&peers[2 * i], pairs[i].peer[0], ROLE_REQUEST, 100 + i, 256 * KIB + i);
      peer_start (&peers[2 * i + 1], pairs[i].peer[1], ROLE_REPLY, 1000 + i, 128 * KIB + i);
    }
  for (guint i = 0; i < 2 * N_PAIRS; i++)
    peer_join (&peers[i]);
  for (guint i = 0; i < N_PAIRS; i++)
    {
      g_assert_true (cv_test_wait_until (join_done, &results[i], 10000));
      g_assert_no_error (results[i].error);
      g_assert_cmpint (results[i].stats.mode, ==, mode_that_runs (mode));
      assert_received (&peers[2 * i + 1], &peers[2 * i]);
      assert_received (&peers[2 * i], &peers[2 * i + 1]);
      g_assert_true (pair_joined_closed (&pairs[i]));
      peer_clear (&peers[2 * i]);
      peer_clear (&peers[2 * i + 1]);
      pair_clear (&pairs[i]);
    }
}

/* The recording holds exactly the bytes forwarded: the request, then the reply (B
 * answers only after the whole request, so the two cannot interleave).  Once to a
 * path, once to a descriptor. */
static void
test_record (gconstpointer data)
{
  CvJoinMode mode = GPOINTER_TO_INT (data);
  guint16 port;
  g_autoptr (GSocket) listener = cv_test_listen_loopback (&port);
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("culvert-join-XXXXXX", &error);
  g_autoptr (GByteArray) expected = g_byte_array_new ();

  g_assert_no_error (error);
  stream_append (expected, 11, 300 * KIB + 7);
  stream_append (expected, 12, 200 * KIB + 3);

  for (guint use_fd = 0; use_fd < 2; use_fd++)
    {
      g_autofree char *path = g_build_filename (dir, use_fd ? "by-fd" : "by-path", NULL);
      g_autofree char *contents = NULL;
      gsize len;
      CvJoinOptions options;
      Pair pair = { 0 };
      Peer a = { 0 }, b = { 0 };
      JoinResult r;

      cv_join_options_init (&options);
      if (use_fd)
        {
          options.record_fd = g_open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
          g_assert_cmpint (options.record_fd, >=, 0);
        }
      else
        options.record_path = path;

      pair_connect (&pair, listener, port);
      join_pair (&pair, mode, &options, NULL, &r);
      peer_start (&a, pair.peer[0], ROLE_REQUEST, 11, 300 * KIB + 7);
      peer_start (&b, pair.peer[1], ROLE_REPLY, 12, 200 * KIB + 3);
      peer_join (&a);
      peer_join (&b);
      g_assert_true (cv_test_wait_until (join_done, &r, 10000));
      g_assert_no_error (r.error);
      /* Recording needs the bytes in user space. */
      g_assert_cmpint (r.stats.mode, ==, CV_JOIN_MODE_COPY);
      assert_received (&b, &a);
      assert_received (&a, &b);
      if (use_fd)
        g_close (options.record_fd, NULL);

      g_file_get_contents (path, &contents, &len, &error);
      g_assert_no_error (error);
      g_assert_cmpmem (contents, len, expected->data, expected->len);
      g_assert_cmpint (g_unlink (path), ==, 0);
      peer_clear (&a);
      peer_clear (&b);
      pair_clear (&pair);
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

static void
on_cancel_timeout (gpointer data)
{
  g_cancellable_cancel (data);
}

/* Cancelling closes both sockets, by RST: both peers see a reset.  Once while the
 * join runs, once with a cancellable cancelled before it starts. */
static void
test_cancel (gconstpointer data)
{
  CvJoinMode mode = GPOINTER_TO_INT (data);
  guint16 port;
  g_autoptr (GSocket) listener = cv_test_listen_loopback (&port);

  for (guint early = 0; early < 2; early++)
    {
      g_autoptr (GCancellable) cancellable = g_cancellable_new ();
      Pair pair = { 0 };
      Peer a = { 0 }, b = { 0 };
      JoinResult r;

      pair_connect (&pair, listener, port);
      if (early)
        g_cancellable_cancel (cancellable);
      else
        g_timeout_add_once (100, on_cancel_timeout, cancellable);
      join_pair (&pair, mode, NULL, cancellable, &r);
      peer_start (&a, pair.peer[0], ROLE_WAIT, 0, 0);
      peer_start (&b, pair.peer[1], ROLE_WAIT, 0, 0);
      g_assert_true (cv_test_wait_until (join_done, &r, 10000));
      g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
      g_assert_true (pair_joined_closed (&pair));
      peer_join (&a);
      peer_join (&b);
      g_assert_error (a.receive_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
      g_assert_error (b.receive_error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
      g_clear_error (&r.error);
      peer_clear (&a);
      peer_clear (&b);
      pair_clear (&pair);
    }
}

static void
add_test (const char *name, GTestDataFunc func)
{
  const CvJoinMode modes[] = { CV_JOIN_MODE_SPLICE, CV_JOIN_MODE_COPY };

  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autofree char *path = g_strdup_printf ("/socket-joiner/%s/%s", mode_name (modes[i]), name);

      g_test_add_data_func (path, GINT_TO_POINTER (modes[i]), func);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cv_test_fill_random (pool, sizeof pool, 7);

#ifdef G_OS_UNIX
  {
    /* 200 pairs take 1,600 descriptors in SPLICE mode: the peers' sockets, the joined
     * ones and two pipes per pair. */
    struct rlimit limit;

    if (getrlimit (RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < 4096)
      {
        limit.rlim_cur = MIN (4096, limit.rlim_max);
        setrlimit (RLIMIT_NOFILE, &limit);
      }
  }
#endif

  add_test ("bulk-both-ways", test_bulk_both_ways);
  add_test ("half-close", test_half_close);
  add_test ("slow-reader", test_slow_reader);
  add_test ("reset", test_reset);
  add_test ("reset-while-idle", test_reset_while_idle);
  add_test ("many-pairs", test_many_pairs);
  add_test ("record", test_record);
  add_test ("cancel", test_cancel);
  add_test ("idle-timeout", test_idle_timeout);
  add_test ("idle-timeout-busy", test_idle_timeout_busy);
  return g_test_run ();
}
