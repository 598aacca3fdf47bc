/* cv-ws-bridge.c: an upgraded WebSocket stream as one end of a local socket pair.
 *
 * Two directions, each a small state machine that reads only when what it read before
 * has been written, so a bridge never holds more than one buffer a direction:
 *
 *   peer → inner: read a gulp of the outer stream, parse the frames in it in place,
 *   unmask their payloads in place and write all of them to the inner socket with one
 *   writev; control frames are acted on (ping → pong, close → echo) as they go by.
 *   inner → peer: read what the inner socket has (up to a message's worth) behind
 *   room for a header, mask it in place (client), write header and payload as one
 *   write: one socket read is one binary message.
 *
 * The writer to the peer does one write at a time, control frames (close, pong, ping)
 * before the next data frame.  While the peer does not read, the data frame waits, the
 * inner socket is not read, and its writer blocks; while the inner end does not read,
 * the outer stream is not read and TCP pushes back on the peer.
 *
 * Reads are non-blocking: a direction tries to read, and only when nothing is there
 * does it wait for the stream to become readable, holding no buffer meanwhile, so an
 * idle bridge holds none (after a bulk transfer too).  A buffer is 4 KiB while a
 * direction carries little and 256 KiB once a read fills one, so bulk transfers run
 * in big gulps.  (An outer stream that cannot be polled is read with
 * g_input_stream_read_async() into a buffer held while it waits.)  A direction reads
 * at most TURN_READS times before it lets the main loop run, so that a flood of small
 * frames cannot starve the other connections on the thread.
 *
 * Every pending read, write, wait and close holds a reference; when both directions
 * have ended and both ends are closed, the last one frees the bridge.  Every wait in
 * the ending is bounded by CLOSE_LINGER_MS.
 */
#include "transport/cv-ws-bridge.h"

#include "base/cv-socket-util.h"
#include "wire/cv-ws-frame.h"

#include <errno.h>
#include <gio/gnetworking.h>
#include <sodium.h>
#include <string.h>

#ifndef G_OS_WIN32
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#define CV_WS_BRIDGE_SOCKETPAIR 1
#endif
/* Tests build the loopback pair on Unix too with -DCV_WS_BRIDGE_TCP_PAIR. */
#ifdef CV_WS_BRIDGE_TCP_PAIR
#undef CV_WS_BRIDGE_SOCKETPAIR
#endif

#define BIG_BUFFER (256 * 1024)
#define SMALL_BUFFER (4 * 1024)
/* A read this short means the stream carries little: back to the small buffer. */
#define SHRINK_BELOW 1024
/* Room in front of the inner socket's bytes for the frame header. */
#define HEADROOM CV_WS_MAX_HEADER_SIZE
/* Reads a direction does in one main-loop turn, at most. */
#define TURN_READS 4
/* Payload pieces one writev to the inner socket takes at most. */
#define MAX_VECTORS 64
/* How long the ending may take: the peer's Close after ours, the inner end's EOF after
 * it got ours, an outer close (a TLS close_notify). */
#define CLOSE_LINGER_MS 2000

typedef enum {
  WRITE_DATA,
  WRITE_PING,
  WRITE_PONG,
  WRITE_CLOSE,
} WriteKind;

typedef struct {
  gint ref_count;
  GMainContext *context;
  char *peer_name;
  gboolean is_client;
  guint64 max_message;
  guint ping_interval_ms;
  guint pong_timeout_ms;

  GIOStream *outer;
  GInputStream *outer_in;
  GOutputStream *outer_out;
  gboolean outer_pollable; /* read without blocking, wait on a source */
  GCancellable *outer_cancellable;
  GCancellable *close_cancellable; /* the outer close only, bounded by close_timer */

  GSocketConnection *inner; /* our end of the pair */
  GSocket *inner_socket;
  GOutputStream *inner_out;
  GCancellable *inner_write_cancellable;

  /* Peer → inner: [in_start, in_end) of in_buf is read and not yet parsed; no
   * in_buf while waiting with nothing left to parse. */
  guint8 *in_buf;
  gsize in_allocated;
  gsize in_cap; /* its size, or the size it will have */
  gsize in_start;
  gsize in_end;
  gsize in_last_read; /* what the last read gave, and the room it had */
  gsize in_last_room;
  gboolean in_frame;        /* between a frame's header and the end of its payload */
  CvWsFrameHeader frame;    /* that frame */
  guint64 frame_done;       /* its payload bytes seen so far */
  guint8 frame_message;     /* the opcode of the message it belongs to */
  CvWsMessageState message; /* fragmentation */
  guint8 control[CV_WS_MAX_CONTROL_PAYLOAD];
  gsize control_len;
  GOutputVector vectors[MAX_VECTORS]; /* payload pieces in in_buf for the inner socket */
  guint n_vectors;
  gboolean outer_reading; /* an async read (a stream that cannot be polled) */
  GSource *outer_source;  /* waiting for it to be readable */
  gboolean inner_writing;

  /* Inner → peer: a frame at out_buf + HEADROOM - out_header_len; no out_buf while
   * waiting. */
  guint8 *out_buf;
  gsize out_allocated;
  gsize out_cap; /* payload room behind HEADROOM */
  gsize out_len;
  gsize out_last_read; /* what the last read gave, and the room it had */
  gsize out_last_room;
  guint out_header_len;
  gboolean frame_ready;  /* out_buf holds a frame for the writer */
  GSource *inner_source; /* waiting for the inner socket to be readable */

  /* The writer to the peer. */
  gboolean outer_writing;
  WriteKind writing;
  guint8 control_out[CV_WS_MAX_HEADER_SIZE + CV_WS_MAX_CONTROL_PAYLOAD];
  gboolean pong_wanted;
  guint8 pong_payload[CV_WS_MAX_CONTROL_PAYLOAD];
  gsize pong_len;
  gboolean ping_wanted;
  guint64 pings_sent;
  gboolean close_wanted;
  guint16 close_code;
  char *close_reason;

  /* How far the ending is. */
  gboolean close_sent;     /* our Close is on the wire: no more data to the peer */
  gboolean close_received; /* the peer's Close: no more data from it */
  gboolean end_on_close;   /* an error or an echo: close the stream once it is sent */
  gboolean peer_done;      /* Close, EOF or error from the peer: read it no more */
  gboolean peer_eof;       /* EOF without a Close */
  gboolean outer_errored;
  gboolean inner_eof;   /* EOF or error reading the inner end: read it no more */
  gboolean inner_gone;  /* writing to the inner end failed: drop what the peer sends */
  gboolean inner_reset; /* close the inner end at once, with RST where there is one */
  gboolean inner_shut;  /* shut down for writing: the inner end saw EOF */
  gboolean inner_closed;
  gboolean hard_end; /* CLOSE_LINGER_MS ran out: cancel and close everything */
  gboolean outer_close_started;
  gboolean outer_closed;

  GSource *ping_timer;
  GSource *pong_timer;
  GSource *linger_timer;
  GSource *close_timer;
} CvWsBridge;

static gint running_bridges;
/* Bytes of the buffers all bridges hold, for cv_ws_bridge_count_buffer_bytes(). */
static gsize buffer_bytes;

static void bridge_check_end (CvWsBridge *self);
static void outer_write_next (CvWsBridge *self);
static void inner_read_next (CvWsBridge *self);
static void peer_to_inner_run (CvWsBridge *self);

void
cv_ws_bridge_options_init (CvWsBridgeOptions *options)
{
  memset (options, 0, sizeof *options);
  options->max_message_bytes = CV_WS_DEFAULT_MAX_MESSAGE;
  options->ping_interval_ms = CV_WS_DEFAULT_PING_INTERVAL_MS;
  options->pong_timeout_ms = CV_WS_DEFAULT_PONG_TIMEOUT_MS;
}

/* Every buffer is (re)sized here, so that buffer_bytes is what the bridges hold. */
static void
resize_buffer (guint8 **buffer, gsize *allocated, gsize size)
{
  if (size == 0)
    g_clear_pointer (buffer, g_free);
  else
    *buffer = g_realloc (*buffer, size);
  g_atomic_pointer_add (&buffer_bytes, (gssize) size - (gssize) *allocated);
  *allocated = size;
}

static CvWsBridge *
bridge_ref (CvWsBridge *self)
{
  self->ref_count++;
  return self;
}

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

static void
bridge_unref (CvWsBridge *self)
{
  if (--self->ref_count > 0)
    return;

  clear_source (&self->ping_timer);
  clear_source (&self->pong_timer);
  clear_source (&self->linger_timer);
  clear_source (&self->close_timer);
  /* Only reached with nothing pending; both ends are closed by then, but make sure. */
  if (!self->inner_closed)
    g_socket_close (self->inner_socket, NULL);
  if (!self->outer_closed && !g_io_stream_is_closed (self->outer))
    g_io_stream_close (self->outer, NULL, NULL);

  g_object_unref (self->outer);
  g_object_unref (self->outer_cancellable);
  g_object_unref (self->close_cancellable);
  g_object_unref (self->inner);
  g_object_unref (self->inner_write_cancellable);
  resize_buffer (&self->in_buf, &self->in_allocated, 0);
  resize_buffer (&self->out_buf, &self->out_allocated, 0);
  g_free (self->close_reason);
  g_free (self->peer_name);
  g_main_context_unref (self->context);
  g_free (self);
  g_atomic_int_dec_and_test (&running_bridges);
}

static GSource *
add_timer (CvWsBridge *self, guint ms, GSourceFunc func)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, func, self, NULL);
  g_source_attach (source, self->context);
  return source;
}

/* Buffer sizes: big after a read that filled the buffer, small after a short one. */
static gsize
next_capacity (gsize capacity, gsize last_read, gsize room)
{
  if (last_read >= room)
    return BIG_BUFFER;
  if (last_read < SHRINK_BELOW)
    return SMALL_BUFFER;
  return capacity;
}

/* Queue our Close.  @end_on_close: it reports an error or echoes the peer's, so the
 * stream is closed once it is sent; else we wait for the peer's (bounded). */
static void
queue_close (CvWsBridge *self, guint16 code, const char *reason, gboolean end_on_close)
{
  if (self->close_wanted || self->close_sent)
    return;
  self->close_wanted = TRUE;
  self->close_code = code;
  self->close_reason = g_strdup (reason);
  self->end_on_close = end_on_close;
  outer_write_next (self);
}

/* A protocol error of the peer's: tell it why, reset the inner end once the bytes
 * before the error are written, end. */
static void
bridge_fail (CvWsBridge *self, guint16 code, const char *cause)
{
  g_message ("%s: WebSocket protocol error: %s; closing (%u)", self->peer_name, cause, code);
  self->peer_done = TRUE;
  self->inner_reset = TRUE;
  queue_close (self, code, cause, TRUE);
}

/* The outer stream failed (read or write): nothing more goes over it. */
static void
outer_failed (CvWsBridge *self, const GError *error)
{
  g_debug ("%s: WebSocket connection failed: %s", self->peer_name, error->message);
  self->outer_errored = TRUE;
  self->peer_done = TRUE;
  if (!self->close_received)
    self->inner_reset = TRUE;
}

/* The inner end will take or give no more: close the WebSocket, and wait for the
 * peer's Close (bounded) so that what it sent before is delivered if it still can be. */
static void
inner_ended (CvWsBridge *self, guint16 code)
{
  self->inner_eof = TRUE;
  queue_close (self, code, NULL, FALSE);
}

/* Peer → inner. */

/* What a read of the outer stream gave: bytes to parse, its end, or an error. */
static void
outer_read_done (CvWsBridge *self, gssize n, const GError *error)
{
  if (n < 0)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        outer_failed (self, error);
    }
  else if (n == 0)
    {
      g_debug ("%s: WebSocket connection ended without a Close", self->peer_name);
      self->peer_done = TRUE;
      self->peer_eof = TRUE;
      /* Cut off inside a frame: the stream is truncated, not ended. */
      if (self->in_frame || self->in_end > self->in_start)
        self->inner_reset = TRUE;
    }
  else
    {
      self->in_last_read = n;
      self->in_last_room = self->in_cap - self->in_end;
      self->in_end += n;
    }
}

static void
on_outer_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CvWsBridge *self = user_data;
  g_autoptr (GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  self->outer_reading = FALSE;
  outer_read_done (self, n, error);
  peer_to_inner_run (self);
  bridge_check_end (self);
  bridge_unref (self);
}

static gboolean
on_outer_readable (GObject *stream, gpointer user_data)
{
  CvWsBridge *self = user_data;

  g_clear_pointer (&self->outer_source, g_source_unref);
  bridge_ref (self);
  peer_to_inner_run (self);
  bridge_check_end (self);
  bridge_unref (self);
  return G_SOURCE_REMOVE;
}

/* Room for a read: what is left unparsed (a partial header at most) moved to the
 * front, the buffer sized by what the last read gave. */
static void
outer_prepare_buffer (CvWsBridge *self)
{
  gsize keep = self->in_end - self->in_start;
  gsize capacity = next_capacity (self->in_cap, self->in_last_read, self->in_last_room);

  if (keep > 0 && self->in_start > 0)
    memmove (self->in_buf, self->in_buf + self->in_start, keep);
  self->in_start = 0;
  self->in_end = keep;
  capacity = MAX (capacity, keep);
  if (self->in_buf == NULL || capacity != self->in_cap)
    {
      resize_buffer (&self->in_buf, &self->in_allocated, capacity);
      self->in_cap = capacity;
    }
}

/* One read of the outer stream.  TRUE: bytes came at once, parse them; FALSE: the
 * read is pending (or the stream ended or failed). */
static gboolean
outer_read (CvWsBridge *self)
{
  g_autoptr (GError) error = NULL;
  gssize n;

  outer_prepare_buffer (self);
  if (!self->outer_pollable)
    {
      self->outer_reading = TRUE;
      g_main_context_push_thread_default (self->context);
      g_input_stream_read_async (self->outer_in, self->in_buf + self->in_end,
                                 self->in_cap - self->in_end, G_PRIORITY_DEFAULT,
                                 self->outer_cancellable, on_outer_read, bridge_ref (self));
      g_main_context_pop_thread_default (self->context);
      return FALSE;
    }

  n = g_pollable_input_stream_read_nonblocking (G_POLLABLE_INPUT_STREAM (self->outer_in),
                                                self->in_buf + self->in_end,
                                                self->in_cap - self->in_end, NULL, &error);
  if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    {
      /* Nothing there: wait, holding no buffer unless a partial header is in it. */
      if (self->in_end == 0)
        resize_buffer (&self->in_buf, &self->in_allocated, 0);
      self->outer_source =
        g_pollable_input_stream_create_source (G_POLLABLE_INPUT_STREAM (self->outer_in), NULL);
      g_source_set_callback (self->outer_source, G_SOURCE_FUNC (on_outer_readable),
                             bridge_ref (self), (GDestroyNotify) bridge_unref);
      g_source_attach (self->outer_source, self->context);
      return FALSE;
    }
  outer_read_done (self, n, error);
  return n > 0;
}

static void
on_inner_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CvWsBridge *self = user_data;
  g_autoptr (GError) error = NULL;

  self->inner_writing = FALSE;
  self->n_vectors = 0;
  if (!g_output_stream_writev_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_debug ("%s: writing to the local end: %s", self->peer_name, error->message);
          self->inner_gone = TRUE;
          inner_ended (self, CV_WS_CLOSE_GOING_AWAY);
        }
    }
  peer_to_inner_run (self);
  bridge_check_end (self);
  bridge_unref (self);
}

static void process_input (CvWsBridge *self);

/* Drives peer → inner: parse what is there, write the payloads it found to the inner
 * socket and wait for that, or read more; TURN_READS reads at most, then yield. */
static void
peer_to_inner_run (CvWsBridge *self)
{
  for (guint reads = 0;;)
    {
      if (self->inner_writing || self->outer_reading || self->outer_source != NULL
          || self->hard_end)
        return;
      process_input (self);
      if (self->n_vectors > 0)
        {
          self->inner_writing = TRUE;
          g_main_context_push_thread_default (self->context);
          g_output_stream_writev_all_async (self->inner_out, self->vectors, self->n_vectors,
                                            G_PRIORITY_DEFAULT, self->inner_write_cancellable,
                                            on_inner_written, bridge_ref (self));
          g_main_context_pop_thread_default (self->context);
          return;
        }
      if (self->peer_done)
        return;
      if (reads++ == TURN_READS)
        {
          /* Readable or not, the source lets the main loop run first. */
          self->outer_source = g_idle_source_new ();
          g_source_set_callback (self->outer_source, G_SOURCE_FUNC (on_outer_readable),
                                 bridge_ref (self), (GDestroyNotify) bridge_unref);
          g_source_attach (self->outer_source, self->context);
          return;
        }
      if (!outer_read (self))
        return;
    }
}

static gboolean
on_pong_timeout (gpointer user_data)
{
  CvWsBridge *self = user_data;

  g_clear_pointer (&self->pong_timer, g_source_unref);
  /* While the inner end holds up our reading, or the peer our writing, a pong could
   * not be seen or a ping not be taken: back-pressure, not a dead peer. */
  if (self->inner_writing || self->outer_writing)
    {
      self->pong_timer = add_timer (self, self->pong_timeout_ms, on_pong_timeout);
      return G_SOURCE_REMOVE;
    }
  g_message ("%s: no answer to a WebSocket ping within %u ms; closing", self->peer_name,
             self->pong_timeout_ms);
  bridge_ref (self);
  self->inner_reset = TRUE;
  self->hard_end = TRUE;
  bridge_check_end (self);
  bridge_unref (self);
  return G_SOURCE_REMOVE;
}

static void
frame_finished (CvWsBridge *self)
{
  g_autoptr (GError) error = NULL;
  const char *reason;
  gsize reason_len;
  guint16 code;

  self->in_frame = FALSE;
  switch (self->frame.opcode)
    {
    case CV_WS_OPCODE_CLOSE:
      if (!cv_ws_close_parse (self->control, self->control_len, &code, &reason, &reason_len,
                              &error))
        {
          bridge_fail (self, error->code, error->message);
          return;
        }
      g_debug ("%s: WebSocket Close %u from the peer", self->peer_name, code);
      self->close_received = TRUE;
      self->peer_done = TRUE;
      /* Echo the code; a Close without one is answered by one without. */
      queue_close (self, code, NULL, TRUE);
      break;
    case CV_WS_OPCODE_PING:
      /* Only the latest ping needs an answer (RFC 6455 §5.5.3). */
      memcpy (self->pong_payload, self->control, self->control_len);
      self->pong_len = self->control_len;
      self->pong_wanted = TRUE;
      outer_write_next (self);
      break;
    case CV_WS_OPCODE_PONG:
      clear_source (&self->pong_timer);
      break;
    default:
      break;
    }
}

/* Parses what [in_start, in_end) holds: frame headers, payloads unmasked in place and
 * gathered for one writev, control frames copied out and acted on. */
static void
process_input (CvWsBridge *self)
{
  if (self->in_buf == NULL)
    return;
  while (self->in_start < self->in_end && self->n_vectors < MAX_VECTORS && !self->peer_done)
    {
      guint8 *p = self->in_buf + self->in_start;
      gsize available = self->in_end - self->in_start;
      gsize n;

      if (!self->in_frame)
        {
          g_autoptr (GError) error = NULL;
          CvWsFrameParseResult parsed;

          parsed = cv_ws_frame_parse_header (p, available, !self->is_client, self->max_message,
                                             &self->frame, &error);
          if (parsed == CV_WS_FRAME_NEED_MORE)
            break;
          if (parsed == CV_WS_FRAME_ERROR
              || !cv_ws_message_state_add_frame (&self->message, &self->frame, self->max_message,
                                                 &self->frame_message, &error))
            {
              bridge_fail (self, error->code, error->message);
              break;
            }
          if (self->frame_message == CV_WS_OPCODE_TEXT)
            {
              bridge_fail (self, CV_WS_CLOSE_UNSUPPORTED_DATA,
                           "text message; only binary messages are carried");
              break;
            }
          self->in_start += self->frame.header_len;
          self->in_frame = TRUE;
          self->frame_done = 0;
          self->control_len = 0;
          if (self->frame.payload_len == 0)
            frame_finished (self);
          continue;
        }

      n = MIN (available, self->frame.payload_len - self->frame_done);
      if (self->frame.masked)
        cv_ws_mask (p, n, self->frame.mask, self->frame_done);
      if (self->frame.opcode & 0x8)
        {
          memcpy (self->control + self->control_len, p, n);
          self->control_len += n;
        }
      else if (!self->inner_gone)
        {
          self->vectors[self->n_vectors].buffer = p;
          self->vectors[self->n_vectors].size = n;
          self->n_vectors++;
        }
      self->frame_done += n;
      self->in_start += n;
      if (self->frame_done == self->frame.payload_len)
        frame_finished (self);
    }
}

/* The writer to the peer. */

static void
on_outer_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CvWsBridge *self = user_data;
  g_autoptr (GError) error = NULL;

  self->outer_writing = FALSE;
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      if (self->writing == WRITE_DATA)
        self->frame_ready = FALSE;
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        outer_failed (self, error);
    }
  else
    {
      switch (self->writing)
        {
        case WRITE_DATA:
          self->frame_ready = FALSE;
          inner_read_next (self);
          break;
        case WRITE_PING:
          if (self->pong_timer == NULL)
            self->pong_timer = add_timer (self, self->pong_timeout_ms, on_pong_timeout);
          break;
        case WRITE_CLOSE:
          self->close_sent = TRUE;
          break;
        case WRITE_PONG:
          break;
        }
      outer_write_next (self);
    }

  bridge_check_end (self);
  bridge_unref (self);
}

static gsize
build_control (CvWsBridge *self, guint8 opcode, const guint8 *payload, gsize len)
{
  guint8 mask[CV_WS_MASK_SIZE];
  guint header_len;

  if (self->is_client)
    randombytes_buf (mask, sizeof mask);
  header_len = cv_ws_frame_write_header (self->control_out, TRUE, opcode, len,
                                         self->is_client ? mask : NULL);
  memmove (self->control_out + header_len, payload, len);
  if (self->is_client)
    cv_ws_mask (self->control_out + header_len, len, mask, 0);
  return header_len + len;
}

/* One write at a time; a Close goes first and is the last, then pongs, pings, data. */
static void
outer_write_next (CvWsBridge *self)
{
  const guint8 *bytes;
  gsize len;

  if (self->outer_writing || self->close_sent || self->outer_close_started || self->hard_end
      || self->outer_errored)
    return;

  if (self->close_wanted)
    {
      guint8 payload[CV_WS_MAX_CONTROL_PAYLOAD];
      gsize payload_len = cv_ws_close_build (payload, self->close_code, self->close_reason);

      self->writing = WRITE_CLOSE;
      len = build_control (self, CV_WS_OPCODE_CLOSE, payload, payload_len);
      bytes = self->control_out;
    }
  else if (self->pong_wanted)
    {
      self->pong_wanted = FALSE;
      self->writing = WRITE_PONG;
      len = build_control (self, CV_WS_OPCODE_PONG, self->pong_payload, self->pong_len);
      bytes = self->control_out;
    }
  else if (self->ping_wanted)
    {
      guint8 payload[8];

      self->ping_wanted = FALSE;
      self->pings_sent++;
      for (guint i = 0; i < 8; i++)
        payload[i] = self->pings_sent >> (56 - 8 * i);
      self->writing = WRITE_PING;
      len = build_control (self, CV_WS_OPCODE_PING, payload, sizeof payload);
      bytes = self->control_out;
    }
  else if (self->frame_ready)
    {
      self->writing = WRITE_DATA;
      bytes = self->out_buf + HEADROOM - self->out_header_len;
      len = self->out_header_len + self->out_len;
    }
  else
    return;

  self->outer_writing = TRUE;
  g_main_context_push_thread_default (self->context);
  g_output_stream_write_all_async (self->outer_out, bytes, len, G_PRIORITY_DEFAULT,
                                   self->outer_cancellable, on_outer_written, bridge_ref (self));
  g_main_context_pop_thread_default (self->context);
}

/* Inner → peer. */

/* No more data may go to the peer: what the inner end sends is read and dropped, so
 * that it sees a clean EOF rather than a reset when it closes. */
static gboolean
draining (CvWsBridge *self)
{
  return self->close_wanted || self->close_sent || self->peer_done;
}

/* What a read of the inner socket gave: a frame for the writer, its end, or bytes
 * to drop. */
static void
inner_read_done (CvWsBridge *self, gssize n, const GError *error)
{
  if (n < 0)
    {
      g_debug ("%s: reading the local end: %s", self->peer_name, error->message);
      inner_ended (self, CV_WS_CLOSE_GOING_AWAY);
    }
  else if (n == 0)
    inner_ended (self, CV_WS_CLOSE_NORMAL);
  else if (!draining (self))
    {
      guint8 mask[CV_WS_MASK_SIZE];
      guint8 *payload = self->out_buf + HEADROOM;

      self->out_len = n;
      if (self->is_client)
        {
          /* A fresh key a frame, from a strong source, as RFC 6455 §5.3 asks. */
          randombytes_buf (mask, sizeof mask);
          cv_ws_mask (payload, n, mask, 0);
        }
      self->out_header_len = cv_ws_frame_header_size (n, self->is_client);
      cv_ws_frame_write_header (payload - self->out_header_len, TRUE, CV_WS_OPCODE_BINARY, n,
                                self->is_client ? mask : NULL);
      self->frame_ready = TRUE;
      outer_write_next (self);
    }
}

static gboolean
on_inner_readable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  CvWsBridge *self = user_data;

  g_clear_pointer (&self->inner_source, g_source_unref);
  bridge_ref (self);
  inner_read_next (self);
  bridge_check_end (self);
  bridge_unref (self);
  return G_SOURCE_REMOVE;
}

static void
inner_wait (CvWsBridge *self, GSource *source)
{
  self->inner_source = source;
  g_source_set_callback (source, G_SOURCE_FUNC (on_inner_readable), bridge_ref (self),
                         (GDestroyNotify) bridge_unref);
  g_source_attach (source, self->context);
}

/* Reads the inner socket while there is room for a frame: at once if it has bytes,
 * else once it is readable, holding no buffer meanwhile; TURN_READS at most a turn. */
static void
inner_read_next (CvWsBridge *self)
{
  for (guint reads = 0;; reads++)
    {
      g_autoptr (GError) error = NULL;
      gssize n;

      if (self->inner_source != NULL || self->frame_ready || self->inner_eof || self->inner_closed
          || self->inner_reset || self->hard_end)
        return;
      if (reads == TURN_READS)
        {
          inner_wait (self, g_idle_source_new ());
          return;
        }

      if (self->out_buf == NULL)
        {
          self->out_cap = next_capacity (self->out_cap, self->out_last_read, self->out_last_room);
          self->out_cap = MIN (self->out_cap, self->max_message);
          resize_buffer (&self->out_buf, &self->out_allocated, HEADROOM + self->out_cap);
        }
      n = g_socket_receive_with_blocking (self->inner_socket, (char *) self->out_buf + HEADROOM,
                                          self->out_cap, FALSE, NULL, &error);
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          resize_buffer (&self->out_buf, &self->out_allocated, 0);
          inner_wait (self, g_socket_create_source (self->inner_socket, G_IO_IN, NULL));
          return;
        }
      if (n > 0)
        {
          self->out_last_read = n;
          self->out_last_room = self->out_cap;
        }
      inner_read_done (self, n, error);
    }
}

/* Keepalive. */

static gboolean
on_ping_tick (gpointer user_data)
{
  CvWsBridge *self = user_data;

  /* One ping unanswered at a time: its pong timer runs. */
  if (self->pong_timer == NULL && !self->ping_wanted)
    {
      self->ping_wanted = TRUE;
      outer_write_next (self);
    }
  return G_SOURCE_CONTINUE;
}

/* The ending. */

static void
on_outer_closed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CvWsBridge *self = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_io_stream_close_finish (G_IO_STREAM (source), result, &error))
    g_debug ("%s: closing the WebSocket connection: %s", self->peer_name, error->message);
  self->outer_closed = TRUE;
  clear_source (&self->close_timer);
  bridge_check_end (self);
  bridge_unref (self);
}

static gboolean
on_close_timeout (gpointer user_data)
{
  CvWsBridge *self = user_data;

  g_clear_pointer (&self->close_timer, g_source_unref);
  g_cancellable_cancel (self->close_cancellable);
  return G_SOURCE_REMOVE;
}

static gboolean
on_linger_timeout (gpointer user_data)
{
  CvWsBridge *self = user_data;

  g_clear_pointer (&self->linger_timer, g_source_unref);
  g_debug ("%s: the WebSocket's ending took over %u ms; cutting it short", self->peer_name,
           CLOSE_LINGER_MS);
  bridge_ref (self);
  self->hard_end = TRUE;
  bridge_check_end (self);
  bridge_unref (self);
  return G_SOURCE_REMOVE;
}

/* What the state asks for once a step is done: shutting down and closing the ends. */
static void
bridge_check_end (CvWsBridge *self)
{
  gboolean ending = self->close_wanted || self->peer_done || self->inner_eof || self->inner_reset
                    || self->hard_end;
  gboolean close_outer, close_inner;

  if (!ending)
    return;

  clear_source (&self->ping_timer);
  clear_source (&self->pong_timer);
  if (self->linger_timer == NULL && !self->hard_end && !(self->outer_closed && self->inner_closed))
    self->linger_timer = add_timer (self, CLOSE_LINGER_MS, on_linger_timeout);
  if (self->hard_end)
    {
      self->peer_done = TRUE;
      g_cancellable_cancel (self->outer_cancellable);
      g_cancellable_cancel (self->inner_write_cancellable);
    }

  /* The outer stream: once the Closes are exchanged (or ours reports an error), the
   * peer is gone, or time is up. */
  close_outer = self->hard_end || self->outer_errored || self->peer_eof
                || (self->close_sent && (self->close_received || self->end_on_close));
  if (close_outer && !self->outer_close_started)
    {
      clear_source (&self->outer_source);
      if (self->outer_reading || self->outer_writing)
        g_cancellable_cancel (self->outer_cancellable);
      else
        {
          self->outer_close_started = TRUE;
          self->close_timer = add_timer (self, CLOSE_LINGER_MS, on_close_timeout);
          g_main_context_push_thread_default (self->context);
          g_io_stream_close_async (self->outer, G_PRIORITY_DEFAULT, self->close_cancellable,
                                   on_outer_closed, bridge_ref (self));
          g_main_context_pop_thread_default (self->context);
        }
    }

  /* The inner end: EOF once what the peer sent before its end is written. */
  if (self->peer_done && !self->inner_shut && !self->inner_closed && !self->inner_reset
      && !self->inner_writing && self->n_vectors == 0)
    {
      g_autoptr (GError) error = NULL;

      self->inner_shut = TRUE;
      if (!g_socket_shutdown (self->inner_socket, FALSE, TRUE, &error))
        g_debug ("%s: shutting the local end down: %s", self->peer_name, error->message);
    }
  /* A frame that will not be sent no longer holds up the inner reader's draining. */
  if (draining (self) && self->frame_ready && !(self->outer_writing && self->writing == WRITE_DATA))
    self->frame_ready = FALSE;
  inner_read_next (self);

  close_inner = self->inner_reset || self->hard_end || (self->inner_shut && self->inner_eof);
  if (close_inner && !self->inner_closed)
    {
      clear_source (&self->inner_source);
      /* A write in progress finishes first (hard_end cancelled it above). */
      if (!self->inner_writing && self->n_vectors == 0)
        {
          self->inner_closed = TRUE;
          if (self->inner_reset)
            cv_socket_close_with_reset (self->inner_socket);
          else
            g_socket_close (self->inner_socket, NULL);
        }
    }

  if (self->outer_closed && self->inner_closed)
    clear_source (&self->linger_timer);
}

/* The pair. */

#ifdef CV_WS_BRIDGE_SOCKETPAIR
static gboolean
make_pair (GSocket **ours, GSocket **theirs, GError **error)
{
  int fds[2];
  int saved_errno;

#ifdef SOCK_CLOEXEC
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
#else
  if (socketpair (AF_UNIX, SOCK_STREAM, 0, fds) != 0)
#endif
    {
      saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Could not create a local socket pair: %s", g_strerror (saved_errno));
      return FALSE;
    }
#ifndef SOCK_CLOEXEC
  fcntl (fds[0], F_SETFD, FD_CLOEXEC);
  fcntl (fds[1], F_SETFD, FD_CLOEXEC);
#endif

  *ours = g_socket_new_from_fd (fds[0], error);
  if (*ours == NULL)
    {
      close (fds[0]);
      close (fds[1]);
      return FALSE;
    }
  *theirs = g_socket_new_from_fd (fds[1], error);
  if (*theirs == NULL)
    {
      g_clear_object (ours);
      close (fds[1]);
      return FALSE;
    }
  return TRUE;
}
#else
/* No AF_UNIX socketpair (Windows): two TCP sockets joined on loopback.  The listener
 * lives only for the one connect, and the accepted socket must be the one we
 * connected, not another local process that raced for the port. */
static gboolean
make_pair (GSocket **ours, GSocket **theirs, GError **error)
{
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) listen_address = NULL;
  g_autoptr (GSocketAddress) client_address = NULL;
  g_autoptr (GSocketAddress) accepted_peer = NULL;
  g_autoptr (GSocket) listener = NULL;
  g_autoptr (GSocket) client = NULL;
  g_autoptr (GSocket) accepted = NULL;

  listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                           error);
  if (listener == NULL || !g_socket_bind (listener, any_port, FALSE, error)
      || !g_socket_listen (listener, error))
    return FALSE;
  listen_address = g_socket_get_local_address (listener, error);
  if (listen_address == NULL)
    return FALSE;
  client = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (client == NULL || !g_socket_connect (client, listen_address, NULL, error))
    return FALSE;
  client_address = g_socket_get_local_address (client, error);
  if (client_address == NULL)
    return FALSE;

  for (;;)
    {
      g_clear_object (&accepted);
      g_clear_object (&accepted_peer);
      accepted = g_socket_accept (listener, NULL, error);
      if (accepted == NULL)
        return FALSE;
      accepted_peer = g_socket_get_remote_address (accepted, error);
      if (accepted_peer == NULL)
        return FALSE;
      if (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (accepted_peer))
            == g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (client_address))
          && g_inet_address_equal (g_inet_socket_address_get_address (
                                     G_INET_SOCKET_ADDRESS (accepted_peer)),
                                   g_inet_socket_address_get_address (
                                     G_INET_SOCKET_ADDRESS (client_address))))
        break;
      g_socket_close (accepted, NULL);
    }
  g_socket_set_option (client, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  g_socket_set_option (accepted, IPPROTO_TCP, TCP_NODELAY, 1, NULL);

  *ours = g_steal_pointer (&accepted);
  *theirs = g_steal_pointer (&client);
  return TRUE;
}
#endif

static gboolean
on_start (gpointer user_data)
{
  CvWsBridge *self = user_data;

  if (self->ping_interval_ms > 0)
    self->ping_timer = add_timer (self, self->ping_interval_ms, on_ping_tick);
  inner_read_next (self);
  /* What the HTTP layer read past the upgrade is parsed first. */
  peer_to_inner_run (self);
  bridge_check_end (self);
  return G_SOURCE_REMOVE;
}

/**
 * cv_ws_bridge_start:
 *
 * The bridge starts on @context (from an idle callback there, so that this may be
 * called from any thread) and keeps itself alive until both directions are done.
 * Nothing is read from @upgraded after this; the caller may drop its reference.
 */
GSocketConnection *
cv_ws_bridge_start (GIOStream *upgraded,
                    GBytes *leftover,
                    const CvWsBridgeOptions *options,
                    GMainContext *context,
                    GError **error)
{
  g_autoptr (GSocket) ours = NULL;
  g_autoptr (GSocket) theirs = NULL;
  CvWsBridge *self;
  GSource *idle;
  gsize leftover_len = leftover != NULL ? g_bytes_get_size (leftover) : 0;

  g_return_val_if_fail (G_IS_IO_STREAM (upgraded), NULL);
  g_return_val_if_fail (options != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (sodium_init () < 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "libsodium could not be initialised");
      return NULL;
    }
  if (!make_pair (&ours, &theirs, error))
    return NULL;
  g_socket_set_blocking (ours, FALSE);

  self = g_new0 (CvWsBridge, 1);
  self->ref_count = 1;
  g_atomic_int_inc (&running_bridges);
  self->context = context != NULL ? g_main_context_ref (context)
                                  : g_main_context_ref_thread_default ();
  self->peer_name = g_strdup (options->peer_name != NULL ? options->peer_name : "the peer");
  self->is_client = options->is_client;
  self->max_message = options->max_message_bytes != 0 ? options->max_message_bytes
                                                      : CV_WS_DEFAULT_MAX_MESSAGE;
  self->ping_interval_ms = options->ping_interval_ms != 0 ? options->ping_interval_ms
                                                          : CV_WS_DEFAULT_PING_INTERVAL_MS;
  self->pong_timeout_ms = options->pong_timeout_ms != 0 ? options->pong_timeout_ms
                                                        : CV_WS_DEFAULT_PONG_TIMEOUT_MS;

  self->outer = g_object_ref (upgraded);
  self->outer_in = g_io_stream_get_input_stream (upgraded);
  self->outer_out = g_io_stream_get_output_stream (upgraded);
  self->outer_pollable = G_IS_POLLABLE_INPUT_STREAM (self->outer_in)
                         && g_pollable_input_stream_can_poll (
                           G_POLLABLE_INPUT_STREAM (self->outer_in));
  self->outer_cancellable = g_cancellable_new ();
  self->close_cancellable = g_cancellable_new ();

  self->inner = g_socket_connection_factory_create_connection (ours);
  self->inner_socket = g_socket_connection_get_socket (self->inner);
  self->inner_out = g_io_stream_get_output_stream (G_IO_STREAM (self->inner));
  self->inner_write_cancellable = g_cancellable_new ();

  /* Buffers start small, as if the last read had been short. */
  self->in_cap = SMALL_BUFFER;
  self->out_cap = SMALL_BUFFER;
  if (leftover_len > 0)
    {
      resize_buffer (&self->in_buf, &self->in_allocated, leftover_len);
      memcpy (self->in_buf, g_bytes_get_data (leftover, NULL), leftover_len);
      self->in_cap = self->in_end = leftover_len;
    }

  idle = g_idle_source_new ();
  g_source_set_callback (idle, on_start, self, (GDestroyNotify) bridge_unref);
  g_source_attach (idle, self->context);
  g_source_unref (idle);

  return g_socket_connection_factory_create_connection (theirs);
}

guint
cv_ws_bridge_count_running (void)
{
  return g_atomic_int_get (&running_bridges);
}

gsize
cv_ws_bridge_count_buffer_bytes (void)
{
  return g_atomic_pointer_get (&buffer_bytes);
}
