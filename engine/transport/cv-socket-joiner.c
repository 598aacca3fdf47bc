/* cv-socket-joiner.c: the gateway's join of a tunnel's two halves, byte for byte.
 *
 * Two directions, A→B and B→A, each a small state machine: read from one socket into
 * a holding place, write all of it to the other, and only then read again.  The
 * holding place is a kernel pipe in SPLICE mode (splice(2) moves the socket's pages in
 * and out, the bytes never enter user space) and a buffer in COPY mode.  Because a
 * direction reads only while its holding place is empty, it never holds more than
 * one pipe or buffer of bytes: while B does not take what A sends, A is not read, its
 * kernel buffers fill and TCP pushes back on A's sender.
 *
 * One GSocket source per socket waits for what the directions need of it (readable
 * for the one that reads it, writable for the one blocked writing to it, and at
 * least errors), re-created only when that changes.  Non-blocking throughout: no
 * thread, no GTask per chunk.  An end of stream is passed on as a half-close once the
 * bytes before it are written; a reset or error on one side closes both sides with
 * RST, so that neither agent mistakes an abort for a clean end.
 *
 * Memory per joined pair, in user space: this struct (248 bytes on x86-64), the GTask
 * (184) and two socket sources, under 1 KiB in all.  In SPLICE mode, in the kernel:
 * two pipes, four descriptors and about 2 KiB of slab each (measured), which pin at
 * most buffer_size bytes of socket pages each while bytes are in flight and none when
 * idle.  In COPY mode: a buffer per direction, allocated when the direction reads and
 * freed once it is drained and its socket has nothing more to give, so an idle tunnel
 * holds none.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* splice, pipe2, F_SETPIPE_SZ */
#endif

#include "transport/cv-socket-joiner.h"

#include "base/cv-socket-util.h"
#include "base/cv-source.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gnetworking.h>
#include <glib/gstdio.h>

#ifdef G_OS_WIN32
#include <io.h>
#else
#include <unistd.h>
#endif

#ifdef __linux__
#define CV_HAVE_SPLICE 1
#endif

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif
#ifndef O_BINARY
#define O_BINARY 0
#endif

/* One direction moves at most this many holding places' worth of bytes per main-loop
 * turn before it yields, so that one bulk transfer cannot starve the other tunnels
 * sharing the thread. */
#define TURN_FILLS 4

enum {
  SIDE_A,
  SIDE_B
};

typedef struct {
  gboolean splicing; /* through `pipe`, else through `buffer` */
  int pipe[2];       /* SPLICE: read end, write end */
  guint8 *buffer;    /* COPY: only while bytes are in flight */
  gsize offset;      /* COPY: the first byte of `buffer` not yet written */
  gsize buffered;    /* read from the source socket, not yet written to the other */
  gsize capacity;    /* the most `buffered` may reach */
  gboolean eof;      /* the source socket's stream ended */
  gboolean shut;     /* ... and the other socket was shut down for writing */
  guint64 bytes;     /* written to the other socket */
} Direction;

typedef struct {
  GSocketConnection *connection[2]; /* [SIDE_A], [SIDE_B] */
  GSocket *socket[2];
  GSource *watch[2];
  GIOCondition watching[2]; /* what watch[] waits for besides errors */
  Direction direction[2];   /* [SIDE_A] reads A and writes B; [SIDE_B] the reverse */
  GMainContext *context;
  GSource *cancel_source;
  GSource *idle_timer; /* while idle_timeout_ms > 0 */
  guint idle_timeout_ms;
  guint64 idle_seen_bytes; /* what had passed at the last check */
  gint64 idle_since_us;    /* when that count last changed */
  gsize buffer_size;
  int record_fd;
  gboolean own_record_fd;
  gboolean finished;
  CvJoinStats stats;
  CvJoinStats *live_stats; /* the caller's, or NULL */
} Join;

static void pump (GTask *task, gboolean run_a, gboolean run_b);

void
cv_join_options_init (CvJoinOptions *options)
{
  g_return_if_fail (options != NULL);

  options->record_path = NULL;
  options->record_fd = -1;
  options->buffer_size = 0;
  options->idle_timeout_ms = 0;
  options->live_stats = NULL;
}

static void
update_live_stats (Join *join)
{
  if (join->live_stats == NULL)
    return;
  join->live_stats->bytes_a_to_b = join->direction[SIDE_A].bytes;
  join->live_stats->bytes_b_to_a = join->direction[SIDE_B].bytes;
}

static void
direction_release (Direction *d)
{
#ifdef CV_HAVE_SPLICE
  if (d->splicing)
    {
      g_close (d->pipe[0], NULL);
      g_close (d->pipe[1], NULL);
      d->pipe[0] = d->pipe[1] = -1;
      d->splicing = FALSE;
    }
#endif
  g_clear_pointer (&d->buffer, g_free);
}

static void
join_free (gpointer data)
{
  Join *join = data;

  for (guint i = 0; i < 2; i++)
    {
      direction_release (&join->direction[i]);
      g_clear_object (&join->connection[i]);
    }
  if (join->own_record_fd && join->record_fd >= 0)
    g_close (join->record_fd, NULL);
  g_clear_pointer (&join->context, g_main_context_unref);
  g_free (join);
}

static void
stop_sources (Join *join)
{
  for (guint s = 0; s < 2; s++)
    cv_source_clear (&join->watch[s]);
  cv_source_clear (&join->cancel_source);
  cv_source_clear (&join->idle_timer);
}

/* Both directions passed their end of stream on (@error NULL): close both sockets
 * cleanly.  Anything else: close both with RST, so that each agent sees an abort. */
static void
finish (GTask *task, GError *error)
{
  Join *join = g_task_get_task_data (task);

  if (join->finished)
    {
      g_clear_error (&error);
      return;
    }
  join->finished = TRUE;
  stop_sources (join);
  for (guint s = 0; s < 2; s++)
    {
      if (error != NULL)
        cv_socket_close_with_reset (join->socket[s]);
      else
        g_socket_close (join->socket[s], NULL);
      direction_release (&join->direction[s]);
    }
  join->stats.bytes_a_to_b = join->direction[SIDE_A].bytes;
  join->stats.bytes_b_to_a = join->direction[SIDE_B].bytes;
  g_debug ("join: ended after %" G_GUINT64_FORMAT " bytes from A to B, %" G_GUINT64_FORMAT
           " from B to A%s%s",
           join->stats.bytes_a_to_b, join->stats.bytes_b_to_a, error != NULL ? ": " : "",
           error != NULL ? error->message : "");

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

/* @side is the connection that failed, CV_JOIN_SIDE_NONE if neither did. */
static void
fail (GTask *task, CvJoinSide side, GError *error)
{
  Join *join = g_task_get_task_data (task);

  if (side != CV_JOIN_SIDE_NONE)
    g_prefix_error (&error, "connection %s: ", side == CV_JOIN_SIDE_A ? "A" : "B");
  if (!join->finished)
    join->stats.failed_side = side;
  finish (task, error);
}

static CvJoinSide
side_name (guint s)
{
  return s == SIDE_A ? CV_JOIN_SIDE_A : CV_JOIN_SIDE_B;
}

static void
set_error_from_errno (GError **error, int saved_errno, const char *what)
{
  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "%s: %s", what,
               g_strerror (saved_errno));
}

/* The error the kernel holds for @socket (a reset, a timeout), or NULL. */
static GError *
take_socket_error (GSocket *socket)
{
  gint value = 0;

  if (!g_socket_get_option (socket, SOL_SOCKET, SO_ERROR, &value, NULL) || value == 0)
    return NULL;
#ifdef G_OS_WIN32
  {
    g_autofree char *message = g_win32_error_message (value);
    return g_error_new (G_IO_ERROR, g_io_error_from_win32_error (value), "%s", message);
  }
#else
  return g_error_new_literal (G_IO_ERROR, g_io_error_from_errno (value), g_strerror (value));
#endif
}

static gboolean
record (Join *join, const guint8 *bytes, gsize len, GError **error)
{
  while (len > 0)
    {
      gssize n = write (join->record_fd, bytes, len);

      if (n < 0)
        {
          int saved_errno = errno;

          if (saved_errno == EINTR)
            continue;
          set_error_from_errno (error, saved_errno, "recording");
          return FALSE;
        }
      bytes += n;
      len -= n;
    }
  return TRUE;
}

/* ---- COPY ---------------------------------------------------------------- */

/* Bytes read (> 0), 0 at end of stream, or -1: failed if @error is set, else the
 * socket has nothing now. */
static gssize
copy_fill (Join *join, guint i, GError **error)
{
  Direction *d = &join->direction[i];
  GError *local_error = NULL;
  gssize n;

  if (d->buffer == NULL)
    {
      d->buffer = g_malloc (join->buffer_size);
      d->capacity = join->buffer_size;
    }
  n = g_socket_receive (join->socket[i], (char *) d->buffer, d->capacity, NULL, &local_error);
  if (n < 0)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        g_clear_error (&local_error);
      else
        g_propagate_error (error, local_error);
      return -1;
    }
  d->offset = 0;
  return n;
}

/* Bytes written (> 0), or -1: failed if @error is set, else the socket is full. */
static gssize
copy_drain (Join *join, guint i, GError **error)
{
  Direction *d = &join->direction[i];
  GError *local_error = NULL;
  gssize n = g_socket_send (join->socket[1 - i], (const char *) d->buffer + d->offset, d->buffered,
                            NULL, &local_error);

  if (n < 0)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        g_clear_error (&local_error);
      else
        g_propagate_error (error, local_error);
      return -1;
    }
  d->offset += n;
  return n;
}

/* ---- SPLICE -------------------------------------------------------------- */

#ifdef CV_HAVE_SPLICE
/* A pipe of @size bytes, or an error: also where the kernel gives a smaller one.  It
 * does that past fs.pipe-max-size (1 MiB) and, for an unprivileged gateway, once the
 * user's pipes hold fs.pipe-user-pages-soft pages (64 MiB: 512 joins of two 64 KiB
 * pipes), when new pipes get two pages.  Eight KiB at a time would cost far more
 * wake-ups per byte than COPY mode's buffer, so the caller copies instead. */
static gboolean
direction_open_pipe (Direction *d, gsize size, GError **error)
{
  int actual;

  if (pipe2 (d->pipe, O_NONBLOCK | O_CLOEXEC) != 0)
    {
      set_error_from_errno (error, errno, "pipe2");
      return FALSE;
    }
  d->splicing = TRUE;
  actual = fcntl (d->pipe[1], F_GETPIPE_SZ);
  if (actual >= 0 && (gsize) actual != size)
    {
      fcntl (d->pipe[1], F_SETPIPE_SZ, (int) MIN (size, G_MAXINT));
      actual = fcntl (d->pipe[1], F_GETPIPE_SZ);
    }
  if (actual < 0 || (gsize) actual < size)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE,
                   "the kernel gave a pipe of %d bytes, not %" G_GSIZE_FORMAT, actual, size);
      return FALSE;
    }
  /* A pipe counts pages, and a page spliced from a socket may hold less than a page of
   * bytes or, from a large fragment, more: splice is asked for bytes, never more than
   * @size at once, so that the bound is in bytes. */
  d->capacity = size;
  return TRUE;
}

/* Where splice cannot serve these descriptors (EINVAL: a socket type without splice
 * support; ENOSYS: a seccomp filter), the direction goes on in COPY mode, taking the
 * bytes already in its pipe along. */
static gboolean
splice_unsupported (int saved_errno)
{
  return saved_errno == EINVAL || saved_errno == ENOSYS || saved_errno == EOPNOTSUPP;
}

static gboolean
direction_stop_splicing (Join *join, Direction *d, GError **error)
{
  gsize got = 0;

  g_debug ("join: splice unsupported here (%s), copying instead", g_strerror (errno));
  d->buffer = g_malloc (MAX (join->buffer_size, d->buffered));
  d->capacity = MAX (join->buffer_size, d->buffered);
  d->offset = 0;
  while (got < d->buffered)
    {
      gssize n = read (d->pipe[0], d->buffer + got, d->buffered - got);

      if (n <= 0 && errno != EINTR)
        {
          set_error_from_errno (error, n == 0 ? EIO : errno, "emptying the pipe");
          return FALSE;
        }
      if (n > 0)
        got += n;
    }
  g_close (d->pipe[0], NULL);
  g_close (d->pipe[1], NULL);
  d->pipe[0] = d->pipe[1] = -1;
  d->splicing = FALSE;
  join->stats.mode = CV_JOIN_MODE_COPY;
  return TRUE;
}

/* One splice(2) for direction @i: its fill (socket to empty pipe) or its drain (pipe to
 * socket).  Returns as copy_fill() and copy_drain() do. */
static gssize
splice_once (Join *join, guint i, gboolean fill, GError **error)
{
  Direction *d = &join->direction[i];
  int in = fill ? g_socket_get_fd (join->socket[i]) : d->pipe[0];
  int out = fill ? d->pipe[1] : g_socket_get_fd (join->socket[1 - i]);

  for (;;)
    {
      gssize n = splice (in, NULL, out, NULL, fill ? d->capacity : d->buffered,
                         SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
      int saved_errno = errno;

      if (n > 0 || (n == 0 && fill))
        return n;
      if (n == 0)
        {
          /* The pipe holds d->buffered bytes and its write end is open: cannot be. */
          g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED, "splice wrote nothing");
          return -1;
        }
      if (saved_errno == EINTR)
        continue;
      /* Filling, the pipe is empty, so it is the socket that has nothing now. */
      if (saved_errno == EAGAIN)
        return -1;
      if (splice_unsupported (saved_errno))
        {
          if (!direction_stop_splicing (join, d, error))
            return -1;
          return fill ? copy_fill (join, i, error) : copy_drain (join, i, error);
        }
      /* SIGPIPE is ignored (GSocket does that for the process), so a vanished peer
       * shows as EPIPE here rather than killing the gateway. */
      set_error_from_errno (error, saved_errno, "splice");
      return -1;
    }
}
#endif

/* Fill direction @i's holding place from its socket, or drain it into the other one;
 * returns as copy_fill() and copy_drain() do. */
static gssize
direction_move (Join *join, guint i, gboolean fill, GError **error)
{
#ifdef CV_HAVE_SPLICE
  if (join->direction[i].splicing)
    return splice_once (join, i, fill, error);
#endif
  return fill ? copy_fill (join, i, error) : copy_drain (join, i, error);
}

/* ---- the pump ------------------------------------------------------------ */

/* Direction @i (reading socket i, writing the other) moves bytes until a socket would
 * block, its end of stream is passed on, or its turn is used up.  FALSE if the join
 * finished. */
static gboolean
pump_direction (GTask *task, guint i)
{
  Join *join = g_task_get_task_data (task);
  Direction *d = &join->direction[i];
  guint fills = 0;
  gboolean drained_socket = FALSE;

  while (!d->shut)
    {
      GError *error = NULL;
      gssize n;

      if (d->buffered > 0)
        {
          n = direction_move (join, i, FALSE, &error);
          if (n < 0)
            {
              if (error == NULL)
                return TRUE; /* the other socket is full: its watch brings us back */
              fail (task, side_name (1 - i), error);
              return FALSE;
            }
          /* Recording runs in COPY mode only: the bytes just sent end at offset. */
          if (join->record_fd >= 0 && !record (join, d->buffer + d->offset - n, n, &error))
            {
              fail (task, CV_JOIN_SIDE_NONE, error);
              return FALSE;
            }
          d->buffered -= n;
          d->bytes += n;
          update_live_stats (join);
          continue;
        }
      if (d->eof)
        {
          if (!g_socket_shutdown (join->socket[1 - i], FALSE, TRUE, &error))
            {
              /* ENOTCONN from a connection that was reset: report the reset. */
              GError *cause = take_socket_error (join->socket[1 - i]);

              if (cause != NULL)
                {
                  g_clear_error (&error);
                  error = cause;
                }
              fail (task, side_name (1 - i), error);
              return FALSE;
            }
          d->shut = TRUE;
          return TRUE;
        }
      if (fills == TURN_FILLS)
        return TRUE; /* the readable watch brings us back on the next turn */
      /* A short read took all the socket had: another one would only say EAGAIN (a
       * fifth of the gateway's system calls, measured).  The watch is level-triggered
       * and brings us back when more arrives. */
      if (drained_socket)
        return TRUE;
      n = direction_move (join, i, TRUE, &error);
      if (n < 0)
        {
          if (error != NULL)
            {
              fail (task, side_name (i), error);
              return FALSE;
            }
          /* Idle: an idle tunnel holds no buffer. */
          if (!d->splicing)
            g_clear_pointer (&d->buffer, g_free);
          return TRUE;
        }
      if (n == 0)
        {
          d->eof = TRUE;
          /* Who hung up first: the other side's reset that often follows is its answer. */
          if (join->stats.first_eof_side == CV_JOIN_SIDE_NONE)
            join->stats.first_eof_side = side_name (i);
        }
      drained_socket = (gsize) n < d->capacity;
      d->buffered = n;
      fills++;
    }
  return TRUE;
}

static gboolean on_socket_ready (GSocket *socket, GIOCondition condition, gpointer user_data);

/* Socket @s is read by direction s and written by the other one. */
static void
update_watch (GTask *task, guint s)
{
  Join *join = g_task_get_task_data (task);
  const Direction *reading = &join->direction[s];
  const Direction *writing = &join->direction[1 - s];
  GIOCondition want = 0;
  gboolean needed;

  if (!reading->eof && reading->buffered == 0)
    want |= G_IO_IN;
  if (writing->buffered > 0)
    want |= G_IO_OUT;
  /* With nothing to wait for, still watch for errors, so that a reset on this side
   * reaches the other even while both directions stand still.  Not once this socket
   * is shut down for writing: then a FIN from its peer makes it report HUP for good,
   * while we may still have its bytes to read later. */
  needed = want != 0 || !writing->shut;

  if (!needed || join->watching[s] != want)
    cv_source_clear (&join->watch[s]);
  if (needed && join->watch[s] == NULL)
    {
      join->watch[s] = g_socket_create_source (join->socket[s], want, NULL);
      join->watching[s] = want;
      g_source_set_callback (join->watch[s], G_SOURCE_FUNC (on_socket_ready), task, NULL);
      cv_source_attach_io (join->watch[s], "[culvert] socket join", join->context);
    }
}

/* Runs the directions the event concerns: the other one has nothing new, and trying it
 * anyway cost a splice that said EAGAIN on every message of an interactive tunnel. */
static void
pump (GTask *task, gboolean run_a, gboolean run_b)
{
  Join *join = g_task_get_task_data (task);

  /* Nothing here touches the task after finish() may have dropped the last reference. */
  if (join->finished)
    return;
  if ((run_a && !pump_direction (task, SIDE_A)) || (run_b && !pump_direction (task, SIDE_B)))
    return;
  if (join->direction[SIDE_A].shut && join->direction[SIDE_B].shut)
    {
      finish (task, NULL);
      return;
    }
  update_watch (task, SIDE_A);
  update_watch (task, SIDE_B);
}

static gboolean
on_socket_ready (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  GTask *task = user_data;
  Join *join = g_task_get_task_data (task);
  guint s = socket == join->socket[SIDE_A] ? SIDE_A : SIDE_B;

  if ((condition & (G_IO_ERR | G_IO_HUP)) && join->watching[s] == 0)
    {
      /* Only errors were watched, so no read or write of ours will report this one. */
      GError *error = take_socket_error (socket);

      if (error == NULL)
        error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED,
                                     "the connection was closed");
      fail (task, side_name (s), error);
      return G_SOURCE_CONTINUE; /* fail() destroyed this source */
    }
  /* Socket s is read by direction s and written by the other; a hang-up or an error is
   * for whichever of them touches it next. */
  {
    gboolean reads = (condition & (G_IO_IN | G_IO_HUP | G_IO_ERR)) != 0;
    gboolean writes = (condition & (G_IO_OUT | G_IO_HUP | G_IO_ERR)) != 0;
    gboolean run[2];

    run[s] = reads;
    run[1 - s] = writes;
    pump (task, run[SIDE_A], run[SIDE_B]);
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_cancelled (GCancellable *cancellable, gpointer user_data)
{
  fail (user_data, CV_JOIN_SIDE_NONE,
        g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "join cancelled"));
  return G_SOURCE_REMOVE;
}

/* Counting bytes on each check rather than re-arming a timer on each byte: a busy
 * tunnel then costs nothing, and 10,000 idle ones a few wake-ups a second. */
static gboolean
on_idle_check (gpointer user_data)
{
  GTask *task = user_data;
  Join *join = g_task_get_task_data (task);
  guint64 passed = join->direction[SIDE_A].bytes + join->direction[SIDE_B].bytes;
  gint64 now = g_get_monotonic_time ();

  if (passed != join->idle_seen_bytes)
    {
      join->idle_seen_bytes = passed;
      join->idle_since_us = now;
      return G_SOURCE_CONTINUE;
    }
  if (now - join->idle_since_us < (gint64) join->idle_timeout_ms * 1000)
    return G_SOURCE_CONTINUE;
  fail (task, CV_JOIN_SIDE_NONE,
        g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "no byte passed either way for %u ms",
                     join->idle_timeout_ms));
  return G_SOURCE_CONTINUE; /* fail() destroyed this source */
}

static void
start_idle_timer (GTask *task)
{
  Join *join = g_task_get_task_data (task);

  join->idle_since_us = g_get_monotonic_time ();
  join->idle_timer = g_timeout_source_new (MAX (join->idle_timeout_ms / 4, 1));
  g_source_set_callback (join->idle_timer, on_idle_check, task, NULL);
  g_source_set_static_name (join->idle_timer, "[culvert] socket join idle");
  g_source_attach (join->idle_timer, join->context);
}

static gboolean
open_record (Join *join, const CvJoinOptions *options, GError **error)
{
  if (options->record_path != NULL)
    {
      join->record_fd = g_open (options->record_path,
                                O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_BINARY, 0600);
      if (join->record_fd < 0)
        {
          int saved_errno = errno;

          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                       "recording to %s: %s", options->record_path, g_strerror (saved_errno));
          return FALSE;
        }
      join->own_record_fd = TRUE;
    }
  else
    join->record_fd = options->record_fd;
  return TRUE;
}

/**
 * cv_socket_join_async:
 * @a: a connected stream socket; the join closes it when done
 * @b: another; bytes read from one are written to the other
 * @mode: SPLICE where it can run (Linux, no recording), else COPY
 * @options: (nullable): recording, buffer size, idle timeout
 *
 * Completes when both directions reached their end of stream and passed it on (a
 * half-close of the other side), or with the first error, whose message names the
 * connection that failed.  Cancelling resets both connections.  Runs on the
 * thread-default main context.
 *
 * The caller must not hold bytes read from either connection past its own exchange:
 * the join reads the sockets themselves, not a GInputStream buffering over them.
 */
void
cv_socket_join_async (GSocketConnection *a,
                      GSocketConnection *b,
                      CvJoinMode mode,
                      const CvJoinOptions *options,
                      GCancellable *cancellable,
                      GAsyncReadyCallback callback,
                      gpointer user_data)
{
  CvJoinOptions defaults;
  GTask *task;
  Join *join;
  GError *error = NULL;

  g_return_if_fail (G_IS_SOCKET_CONNECTION (a));
  g_return_if_fail (G_IS_SOCKET_CONNECTION (b));
  g_return_if_fail (a != b);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  if (options == NULL)
    {
      cv_join_options_init (&defaults);
      options = &defaults;
    }

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, cv_socket_join_async);
  g_task_set_name (task, "[culvert] socket join");
  join = g_new0 (Join, 1);
  join->connection[SIDE_A] = g_object_ref (a);
  join->connection[SIDE_B] = g_object_ref (b);
  join->context = g_main_context_ref_thread_default ();
  join->buffer_size = options->buffer_size > 0 ? options->buffer_size : CV_JOIN_DEFAULT_BUFFER_SIZE;
  join->record_fd = -1;
  join->idle_timeout_ms = options->idle_timeout_ms;
  join->live_stats = options->live_stats;
  join->stats.mode = CV_JOIN_MODE_COPY;
  for (guint s = 0; s < 2; s++)
    {
      join->socket[s] = g_socket_connection_get_socket (join->connection[s]);
      join->direction[s].pipe[0] = join->direction[s].pipe[1] = -1;
    }
  g_task_set_task_data (task, join, join_free);

  /* The task's own reference is dropped by finish(). */
  if (g_socket_is_closed (join->socket[SIDE_A]) || g_socket_is_closed (join->socket[SIDE_B]))
    {
      fail (task, CV_JOIN_SIDE_NONE,
            g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CLOSED, "a connection is already closed"));
      return;
    }
  if (!open_record (join, options, &error))
    {
      fail (task, CV_JOIN_SIDE_NONE, error);
      return;
    }

#ifdef CV_HAVE_SPLICE
  /* Recording needs the bytes in user space, so it runs in COPY mode.  tee(2) could
   * duplicate each fill of the (then empty) pipe into a second pipe for the recorder,
   * but splice(2) refuses to write into a file opened O_APPEND, as a recording is, so
   * those bytes would come up to user space all the same, through two more descriptors
   * per direction: for an option only tests use, that buys nothing.  What the test
   * checks is which bytes the gateway forwards, and COPY mode forwards the same ones. */
  if (mode == CV_JOIN_MODE_SPLICE && join->record_fd < 0)
    {
      gboolean ok = TRUE;

      for (guint s = 0; s < 2 && ok; s++)
        ok = direction_open_pipe (&join->direction[s], join->buffer_size, &error);
      if (ok)
        join->stats.mode = CV_JOIN_MODE_SPLICE;
      else
        {
          /* Out of descriptors, or short of pipe pages: COPY needs neither. */
          g_debug ("join: %s; copying instead", error->message);
          g_clear_error (&error);
          for (guint s = 0; s < 2; s++)
            direction_release (&join->direction[s]);
        }
    }
#endif

  for (guint s = 0; s < 2; s++)
    cv_socket_prepare_for_pump (join->socket[s]);
  if (cancellable != NULL)
    {
      join->cancel_source = g_cancellable_source_new (cancellable);
      g_source_set_callback (join->cancel_source, G_SOURCE_FUNC (on_cancelled), task, NULL);
      g_source_set_static_name (join->cancel_source, "[culvert] socket join cancelled");
      g_source_attach (join->cancel_source, join->context);
    }
  if (join->idle_timeout_ms > 0)
    start_idle_timer (task);
  g_debug ("join: %s mode, up to %" G_GSIZE_FORMAT " bytes in flight each way",
           join->stats.mode == CV_JOIN_MODE_SPLICE ? "splice" : "copy",
           join->stats.mode == CV_JOIN_MODE_SPLICE ? join->direction[SIDE_A].capacity
                                                   : join->buffer_size);

  /* Sources only: nothing calls back before we return. */
  update_watch (task, SIDE_A);
  update_watch (task, SIDE_B);
}

gboolean
cv_socket_join_finish (GAsyncResult *result, CvJoinStats *stats, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cv_socket_join_async, FALSE);

  if (stats != NULL)
    {
      Join *join = g_task_get_task_data (G_TASK (result));
      *stats = join->stats;
    }
  return g_task_propagate_boolean (G_TASK (result), error);
}
