/* test-ws-bridge.c: the WebSocket bridge against libsoup's SoupWebsocketConnection (a
 * SoupServer for the bridge as client, a SoupSession for the bridge as server) and
 * against a raw socket peer that sends what libsoup never would.  Real loopback TCP;
 * the bridges run in a thread of their own, libsoup in the main one. */
#include "cv-test-util.h"
#include "ws-test-peer.h"

#include <string.h>

#define MIB (1024 * 1024)
#define TRANSFER_BYTES (64 * MIB)
#define SOUP_MESSAGE_BYTES (64 * 1024)
/* What may be in flight from the inner writer to a peer that does not read: the pair's
 * buffers (an AF_UNIX pair's are about 200 KiB; the loopback TCP pair's autotune to
 * megabytes), the bridge's 256 KiB, the small TCP buffers of the test's connection. */
#ifdef WS_TEST_TCP_PAIR
#define INNER_IN_FLIGHT_BOUND (16 * MIB)
#else
#define INNER_IN_FLIGHT_BOUND (2 * MIB)
#endif
/* A bridge's two buffers, at most. */
#define BRIDGE_BUFFER_BOUND (2 * (256 * 1024 + 14))
/* libsoup queues whatever it is given: the sender keeps at most this much in flight. */
#define SOUP_WINDOW (4 * MIB)

/* g_message lines of the engine, for the tests that expect one. */
static GMutex log_lock;
static GPtrArray *log_lines;

static void
on_engine_log (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
  g_mutex_lock (&log_lock);
  g_ptr_array_add (log_lines, g_strdup (message));
  g_mutex_unlock (&log_lock);
  g_log_default_handler (domain, level, message, data);
}

static gboolean
log_has (const char *pattern)
{
  gboolean found = FALSE;

  g_mutex_lock (&log_lock);
  for (guint i = 0; i < log_lines->len && !found; i++)
    found = g_pattern_match_simple (pattern, g_ptr_array_index (log_lines, i));
  g_mutex_unlock (&log_lock);
  return found;
}

static void
log_clear (void)
{
  g_mutex_lock (&log_lock);
  g_ptr_array_set_size (log_lines, 0);
  g_mutex_unlock (&log_lock);
}

/* libsoup's end of a transfer: hashes what it receives, sends a stream of its own in
 * 64 KiB messages, no more than SOUP_WINDOW ahead of what the inner end has read. */
typedef struct {
  WsSoupPair pair;
  WsStream received;
  WsStream sent;
  guint64 total;
  WsReader inner_reader;
  WsWriter inner_writer;
  guint send_source;
  guint text_messages;
  guint8 *chunk;
} Transfer;

static void
on_soup_message (SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer user_data)
{
  Transfer *t = user_data;
  gsize len;
  const guint8 *data = g_bytes_get_data (message, &len);

  if (type != SOUP_WEBSOCKET_DATA_BINARY)
    t->text_messages++;
  ws_stream_hash (&t->received, data, len);
}

static gboolean
on_soup_send (gpointer user_data)
{
  Transfer *t = user_data;

  while (t->sent.bytes < t->total
         && t->sent.bytes - g_atomic_pointer_get (&t->inner_reader.read) < SOUP_WINDOW)
    {
      gsize n = MIN (SOUP_MESSAGE_BYTES, t->total - t->sent.bytes);

      ws_stream_fill (&t->sent, t->chunk, n);
      soup_websocket_connection_send_binary (t->pair.soup, t->chunk, n);
    }
  if (t->sent.bytes < t->total)
    return G_SOURCE_CONTINUE;
  t->send_source = 0;
  return G_SOURCE_REMOVE;
}

static gboolean
transfer_done (gpointer data)
{
  Transfer *t = data;

  return t->received.bytes == t->total && g_atomic_pointer_get (&t->inner_reader.read) == t->total;
}

static gboolean
no_buffers (gpointer data)
{
  return cv_ws_bridge_count_buffer_bytes () == 0;
}

static void
test_transfer (gconstpointer data)
{
  gboolean bridge_is_client = GPOINTER_TO_INT (data);
  WsWorker *worker = ws_worker_new ("bridges");
  CvWsBridgeOptions options;
  Transfer t = { 0 };

  cv_ws_bridge_options_init (&options);
  options.is_client = bridge_is_client;
  options.peer_name = "libsoup";
  if (bridge_is_client)
    ws_soup_pair_bridge_client (&t.pair, worker, &options, 0, 0);
  else
    ws_soup_pair_bridge_server (&t.pair, worker, &options);

  t.total = TRANSFER_BYTES;
  t.chunk = g_malloc (SOUP_MESSAGE_BYTES);
  ws_stream_init (&t.received, 0);
  ws_stream_init (&t.sent, 2);
  g_signal_connect (t.pair.soup, "message", G_CALLBACK (on_soup_message), &t);
  ws_reader_start (&t.inner_reader, t.pair.inner, t.total);
  ws_writer_start (&t.inner_writer, t.pair.inner, 1, t.total, FALSE);
  t.send_source = g_timeout_add (1, on_soup_send, &t);

  g_assert_true (ws_wait_for (transfer_done, &t, 120000));
  /* Idle again, after a bulk transfer: the bridge holds no buffer. */
  g_assert_true (ws_wait_for (no_buffers, NULL, 2000));
  ws_writer_join (&t.inner_writer);
  ws_reader_join (&t.inner_reader);
  g_assert_no_error (t.inner_reader.error);
  g_assert_cmpuint (t.text_messages, ==, 0);
  g_assert_cmpstr (ws_stream_digest (&t.received), ==, t.inner_writer.digest);
  g_assert_cmpstr (ws_stream_digest (&t.sent), ==, t.inner_reader.digest);
  g_assert_cmpint (soup_websocket_connection_get_state (t.pair.soup), ==,
                   SOUP_WEBSOCKET_STATE_OPEN);

  ws_soup_pair_clear (&t.pair);
  ws_worker_free (worker);
  g_free (t.inner_writer.digest);
  g_free (t.inner_reader.digest);
  ws_stream_clear (&t.received);
  ws_stream_clear (&t.sent);
  g_free (t.chunk);
}

/* A peer that stops reading: the bridge stops reading its inner end, whose writer
 * blocks with little in flight; once the peer reads again, every byte arrives. */
static gboolean
received_all (gpointer data)
{
  Transfer *t = data;

  return t->received.bytes == t->total;
}

static void
test_peer_stops_reading (void)
{
  WsWorker *worker = ws_worker_new ("bridges");
  CvWsBridgeOptions options;
  Transfer t = { 0 };
  gsize stalled_at;

  cv_ws_bridge_options_init (&options);
  options.is_client = TRUE;
  options.peer_name = "libsoup";
  /* Small TCP buffers, so what is in flight is mostly the bridge's and the socket
   * pair's. */
  ws_soup_pair_bridge_client (&t.pair, worker, &options, 16 * 1024, 16 * 1024);
  t.total = 32 * MIB;
  ws_stream_init (&t.received, 0);
  g_signal_connect (t.pair.soup, "message", G_CALLBACK (on_soup_message), &t);

  /* libsoup runs in this thread: while it sleeps, nothing reads the WebSocket. */
  ws_writer_start (&t.inner_writer, t.pair.inner, 3, t.total, FALSE);
  g_usleep (1500 * 1000);
  stalled_at = g_atomic_pointer_get (&t.inner_writer.written);
  g_usleep (500 * 1000);
  g_assert_cmpuint (g_atomic_pointer_get (&t.inner_writer.written), ==, stalled_at);
  g_test_message ("the inner writer stalled after %" G_GSIZE_FORMAT
                  " bytes, the bridge holding %" G_GSIZE_FORMAT " bytes of buffers",
                  stalled_at, cv_ws_bridge_count_buffer_bytes ());
  g_assert_cmpuint (stalled_at, <, INNER_IN_FLIGHT_BOUND);
  g_assert_cmpuint (cv_ws_bridge_count_buffer_bytes (), <=, BRIDGE_BUFFER_BOUND);

  g_assert_true (ws_wait_for (received_all, &t, 60000));
  ws_writer_join (&t.inner_writer);
  g_assert_cmpstr (ws_stream_digest (&t.received), ==, t.inner_writer.digest);

  ws_soup_pair_clear (&t.pair);
  ws_worker_free (worker);
  g_free (t.inner_writer.digest);
  ws_stream_clear (&t.received);
}

/* Keepalive with libsoup: its pings are answered, and it answers the bridge's. */
static void
on_pong (SoupWebsocketConnection *ws, GBytes *message, gpointer user_data)
{
  guint *pongs = user_data;

  (*pongs)++;
}

static gboolean
uint_is_nonzero (gpointer data)
{
  return *(guint *) data != 0;
}

static void
test_soup_ping (void)
{
  WsWorker *worker = ws_worker_new ("bridges");
  CvWsBridgeOptions options;
  WsSoupPair pair;
  guint pongs = 0;

  log_clear ();
  cv_ws_bridge_options_init (&options);
  options.is_client = FALSE;
  options.peer_name = "libsoup";
  /* The bridge's own pings every 100 ms, 300 ms for an answer: libsoup answers. */
  options.ping_interval_ms = 100;
  options.pong_timeout_ms = 300;
  ws_soup_pair_bridge_server (&pair, worker, &options);
  g_signal_connect (pair.soup, "pong", G_CALLBACK (on_pong), &pongs);
  soup_websocket_connection_set_keepalive_interval (pair.soup, 1);

  g_assert_true (ws_wait_for (uint_is_nonzero, &pongs, 5000));
  cv_test_iterate_for (NULL, 1000);
  g_assert_cmpint (soup_websocket_connection_get_state (pair.soup), ==, SOUP_WEBSOCKET_STATE_OPEN);
  g_assert_false (log_has ("*no answer*"));

  ws_soup_pair_clear (&pair);
  ws_worker_free (worker);
}

/* The close handshake with libsoup. */
typedef struct {
  WsSoupPair pair;
  GString *text;
  gboolean closed;
} Closing;

static void
on_closing_message (SoupWebsocketConnection *ws, gint type, GBytes *message, gpointer user_data)
{
  Closing *c = user_data;
  gsize len;
  const char *data = g_bytes_get_data (message, &len);

  g_string_append_len (c->text, data, len);
}

static void
on_closed (SoupWebsocketConnection *ws, gpointer user_data)
{
  Closing *c = user_data;

  c->closed = TRUE;
}

static gboolean
is_closed (gpointer data)
{
  return ((Closing *) data)->closed;
}

static gboolean
reader_done (gpointer data)
{
  WsReader *reader = data;

  return reader->eof || reader->error != NULL;
}

static void
test_close_inner_eof (void)
{
  WsWorker *worker = ws_worker_new ("bridges");
  g_autoptr (GError) error = NULL;
  CvWsBridgeOptions options;
  Closing c = { .text = g_string_new (NULL) };
  WsReader reader;

  cv_ws_bridge_options_init (&options);
  options.is_client = TRUE;
  options.peer_name = "libsoup";
  ws_soup_pair_bridge_client (&c.pair, worker, &options, 0, 0);
  g_signal_connect (c.pair.soup, "message", G_CALLBACK (on_closing_message), &c);
  g_signal_connect (c.pair.soup, "closed", G_CALLBACK (on_closed), &c);

  ws_reader_start (&reader, c.pair.inner, 0);
  g_assert_true (
    g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (c.pair.inner)), "bye", 3,
                               NULL, NULL, &error));
  g_assert_true (
    g_socket_shutdown (g_socket_connection_get_socket (c.pair.inner), FALSE, TRUE, &error));

  g_assert_true (ws_wait_for (is_closed, &c, 5000));
  g_assert_cmpstr (c.text->str, ==, "bye");
  g_assert_cmpuint (soup_websocket_connection_get_close_code (c.pair.soup), ==, 1000);
  /* The bridge closes its inner end too, once libsoup's Close came back. */
  g_assert_true (ws_wait_for (reader_done, &reader, 5000));
  ws_reader_join (&reader);
  g_assert_no_error (reader.error);
  g_assert_cmpuint (reader.read, ==, 0);

  ws_soup_pair_clear (&c.pair);
  ws_worker_free (worker);
  g_free (reader.digest);
  g_string_free (c.text, TRUE);
}

static void
test_close_by_soup (void)
{
  WsWorker *worker = ws_worker_new ("bridges");
  CvWsBridgeOptions options;
  Closing c = { .text = g_string_new (NULL) };
  WsReader reader;
  g_autofree char *got = NULL;

  cv_ws_bridge_options_init (&options);
  options.is_client = FALSE;
  options.peer_name = "libsoup";
  ws_soup_pair_bridge_server (&c.pair, worker, &options);
  g_signal_connect (c.pair.soup, "closed", G_CALLBACK (on_closed), &c);

  ws_reader_start (&reader, c.pair.inner, 0);
  soup_websocket_connection_send_binary (c.pair.soup, "last words", 10);
  soup_websocket_connection_close (c.pair.soup, 4000, "done");

  /* The bytes before the Close, then EOF; the Close echoed with its code. */
  g_assert_true (ws_wait_for (reader_done, &reader, 5000));
  ws_reader_join (&reader);
  g_assert_no_error (reader.error);
  g_assert_true (reader.eof);
  g_assert_cmpuint (reader.read, ==, 10);
  g_assert_true (ws_wait_for (is_closed, &c, 5000));
  g_assert_cmpuint (soup_websocket_connection_get_close_code (c.pair.soup), ==, 4000);

  ws_soup_pair_clear (&c.pair);
  ws_worker_free (worker);
  g_free (reader.digest);
  g_string_free (c.text, TRUE);
}

/* An outer stream that cannot be polled (a GBufferedInputStream, as an HTTP layer may
 * hand over) is read with async reads instead; two bridges, 8 MiB each way. */
typedef struct {
  WsReader *a;
  WsReader *b;
  guint64 total;
} TwoReaders;

static gboolean
both_read (gpointer data)
{
  TwoReaders *readers = data;

  return g_atomic_pointer_get (&readers->a->read) == readers->total
         && g_atomic_pointer_get (&readers->b->read) == readers->total;
}

static void
test_unpollable_stream (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) client_tcp = NULL;
  g_autoptr (GSocketConnection) server_tcp = NULL;
  g_autoptr (GInputStream) buffered = NULL;
  g_autoptr (GIOStream) server_stream = NULL;
  g_autoptr (GSocketConnection) client_inner = NULL;
  g_autoptr (GSocketConnection) server_inner = NULL;
  WsWorker *worker = ws_worker_new ("bridges");
  CvWsBridgeOptions options;
  WsWriter client_writer, server_writer;
  WsReader client_reader, server_reader;
  TwoReaders readers = { &client_reader, &server_reader, 8 * MIB };

  ws_tcp_pair (&client_tcp, &server_tcp, 0, 0);
  buffered = g_buffered_input_stream_new (g_io_stream_get_input_stream (G_IO_STREAM (server_tcp)));
  g_assert_false (G_IS_POLLABLE_INPUT_STREAM (buffered));
  server_stream = g_simple_io_stream_new (buffered,
                                          g_io_stream_get_output_stream (G_IO_STREAM (server_tcp)));

  cv_ws_bridge_options_init (&options);
  options.is_client = TRUE;
  client_inner = cv_ws_bridge_start (G_IO_STREAM (client_tcp), NULL, &options, worker->context,
                                     &error);
  g_assert_no_error (error);
  options.is_client = FALSE;
  server_inner = cv_ws_bridge_start (server_stream, NULL, &options, worker->context, &error);
  g_assert_no_error (error);

  ws_writer_start (&client_writer, client_inner, 7, readers.total, FALSE);
  ws_writer_start (&server_writer, server_inner, 8, readers.total, FALSE);
  ws_reader_start (&server_reader, server_inner, 0);
  ws_reader_start (&client_reader, client_inner, 0);
  g_assert_true (ws_wait_for (both_read, &readers, 60000));
  ws_writer_join (&client_writer);
  ws_writer_join (&server_writer);
  g_assert_true (
    g_socket_shutdown (g_socket_connection_get_socket (server_inner), FALSE, TRUE, &error));
  ws_reader_join (&server_reader);
  ws_reader_join (&client_reader);
  g_assert_true (server_reader.eof && client_reader.eof);
  g_assert_cmpstr (server_reader.digest, ==, client_writer.digest);
  g_assert_cmpstr (client_reader.digest, ==, server_writer.digest);

  g_clear_object (&client_inner);
  g_clear_object (&server_inner);
  ws_worker_free (worker);
  g_assert_true (g_io_stream_is_closed (server_stream));
  g_free (client_writer.digest);
  g_free (server_writer.digest);
  g_free (client_reader.digest);
  g_free (server_reader.digest);
}

/* The raw peer: a TCP connection whose other end the test writes by hand.  (The bridge
 * starts after the HTTP upgrade, so the upgrade itself plays no part here.) */
typedef struct {
  WsWorker *worker;
  GSocketConnection *raw;   /* the peer's end */
  GSocketConnection *inner; /* the bridge's inner end */
  gboolean bridge_is_client;
} Raw;

static void
raw_start (Raw *r, const CvWsBridgeOptions *options, GBytes *leftover)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) bridge_end = NULL;

  r->worker = ws_worker_new ("bridges");
  r->bridge_is_client = options->is_client;
  ws_tcp_pair (&r->raw, &bridge_end, 0, 0);
  r->inner = cv_ws_bridge_start (G_IO_STREAM (bridge_end), leftover, options, r->worker->context,
                                 &error);
  g_assert_no_error (error);
  g_assert_nonnull (r->inner);
  /* Every read below fails the test rather than hang it. */
  g_socket_set_timeout (g_socket_connection_get_socket (r->raw), 5);
  g_socket_set_timeout (g_socket_connection_get_socket (r->inner), 5);
}

static void
raw_finish (Raw *r)
{
  g_clear_object (&r->raw);
  g_clear_object (&r->inner);
  ws_worker_free (r->worker);
}

/* A frame laid out by hand from RFC 6455 §5.2, independently of wire/cv-ws-frame.c. */
static void
put_frame (GByteArray *out, guint8 first, const void *payload, gsize len, gboolean masked)
{
  static const guint8 key[4] = { 0x37, 0xfa, 0x21, 0x3d };
  guint8 head[10];
  gsize n = 0;
  guint8 mask_bit = masked ? 0x80 : 0;

  head[n++] = first;
  if (len < 126)
    head[n++] = mask_bit | len;
  else if (len < 65536)
    {
      head[n++] = mask_bit | 126;
      head[n++] = len >> 8;
      head[n++] = len;
    }
  else
    {
      head[n++] = mask_bit | 127;
      for (int i = 7; i >= 0; i--)
        head[n++] = (guint64) len >> (8 * i);
    }
  g_byte_array_append (out, head, n);
  if (masked)
    g_byte_array_append (out, key, 4);
  for (gsize i = 0; i < len; i++)
    {
      guint8 b = ((const guint8 *) payload)[i] ^ (masked ? key[i % 4] : 0);

      g_byte_array_append (out, &b, 1);
    }
}

/* What a peer of @r's bridge must send: masked to a server, unmasked to a client. */
static void
put_peer_frame (Raw *r, GByteArray *out, guint8 first, const void *payload, gsize len)
{
  put_frame (out, first, payload, len, !r->bridge_is_client);
}

static void
raw_send (Raw *r, const GByteArray *bytes)
{
  g_autoptr (GError) error = NULL;

  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (r->raw)),
                                            bytes->data, bytes->len, NULL, NULL, &error));
  g_assert_no_error (error);
}

static void
read_exactly (GSocketConnection *connection, void *buffer, gsize len)
{
  g_autoptr (GError) error = NULL;
  gsize got = 0;

  g_assert_true (g_input_stream_read_all (g_io_stream_get_input_stream (G_IO_STREAM (connection)),
                                          buffer, len, &got, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (got, ==, len);
}

/* Reads one frame the bridge sent, checks its masking, returns its payload unmasked. */
static GBytes *
raw_read_frame (Raw *r, guint8 *first)
{
  guint8 head[2], ext[8], key[4] = { 0 };
  guint64 len;
  guint8 *payload;

  read_exactly (r->raw, head, 2);
  *first = head[0];
  g_assert_cmpint ((head[1] & 0x80) != 0, ==, r->bridge_is_client);
  len = head[1] & 0x7f;
  if (len == 126)
    {
      read_exactly (r->raw, ext, 2);
      len = (ext[0] << 8) | ext[1];
    }
  else if (len == 127)
    {
      read_exactly (r->raw, ext, 8);
      len = 0;
      for (int i = 0; i < 8; i++)
        len = (len << 8) | ext[i];
    }
  g_assert_cmpuint (len, <=, 1024 * 1024);
  if (r->bridge_is_client)
    read_exactly (r->raw, key, 4);
  payload = g_malloc (len + 1);
  read_exactly (r->raw, payload, len);
  for (guint64 i = 0; i < len; i++)
    payload[i] ^= key[i % 4];
  return g_bytes_new_take (payload, len);
}

/* The next frame is a Close with @code; then the bridge closes the connection. */
static void
raw_expect_close (Raw *r, guint code)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) payload = NULL;
  const guint8 *p;
  gsize len;
  guint8 first, byte;

  payload = raw_read_frame (r, &first);
  g_assert_cmphex (first, ==, 0x88);
  p = g_bytes_get_data (payload, &len);
  g_assert_cmpuint (len, >=, 2);
  g_assert_cmpuint ((p[0] << 8) | p[1], ==, code);
  g_assert_true (g_utf8_validate ((const char *) p + 2, len - 2, NULL));
  /* Then the end: EOF, or a reset where the bridge closed with our bytes unread. */
  if (g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (r->raw)), &byte, 1, NULL,
                           &error)
      != 0)
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
}

/* The inner end gives @expected, then ends: EOF, or a reset (on AF_UNIX a close with
 * unread bytes is a reset). */
static void
inner_expect (Raw *r, const char *expected, gboolean reset_allowed)
{
  g_autoptr (GError) error = NULL;
  gsize len = strlen (expected);
  g_autofree char *got = g_malloc0 (len + 1);
  char byte;
  gssize n;

  read_exactly (r->inner, got, len);
  g_assert_cmpstr (got, ==, expected);
  n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (r->inner)), &byte, 1, NULL,
                           &error);
  if (reset_allowed && n < 0)
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  else
    {
      g_assert_no_error (error);
      g_assert_cmpint (n, ==, 0);
    }
}

typedef struct {
  const char *name;
  gboolean bridge_is_client;
  gsize max_message;
  guint code;
  void (*put) (Raw *r, GByteArray *out);
  /* Payload bytes of the bad frames that pass before the error shows: a message's
   * first fragments are passed on before a later one turns out to break a rule. */
  gsize passed;
} BadFrame;

static void
put_unmasked (Raw *r, GByteArray *out)
{
  put_frame (out, 0x82, "x", 1, FALSE);
}

static void
put_masked (Raw *r, GByteArray *out)
{
  put_frame (out, 0x82, "x", 1, TRUE);
}

static void
put_length_2_63 (Raw *r, GByteArray *out)
{
  static const guint8 bytes[] = { 0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4 };

  g_byte_array_append (out, bytes, sizeof bytes);
}

static void
put_opcode_3 (Raw *r, GByteArray *out)
{
  put_peer_frame (r, out, 0x83, "x", 1);
}

static void
put_continuation_first (Raw *r, GByteArray *out)
{
  put_peer_frame (r, out, 0x80, "x", 1);
}

static void
put_text (Raw *r, GByteArray *out)
{
  put_peer_frame (r, out, 0x81, "hi", 2);
}

static void
put_oversized (Raw *r, GByteArray *out)
{
  g_autofree guint8 *payload = g_malloc0 (2000);

  put_peer_frame (r, out, 0x82, payload, 2000);
}

static void
put_oversized_fragments (Raw *r, GByteArray *out)
{
  g_autofree guint8 *payload = g_malloc0 (600);

  put_peer_frame (r, out, 0x02, payload, 600);
  put_peer_frame (r, out, 0x80, payload, 600);
}

static void
put_fragmented_ping (Raw *r, GByteArray *out)
{
  put_peer_frame (r, out, 0x09, "p", 1);
}

static void
put_rsv1 (Raw *r, GByteArray *out)
{
  put_peer_frame (r, out, 0xc2, "x", 1);
}

static void
put_non_minimal_16 (Raw *r, GByteArray *out)
{
  static const guint8 bytes[] = { 0x82, 0xfe, 0x00, 0x05, 1, 2, 3, 4 };

  g_byte_array_append (out, bytes, sizeof bytes);
}

static void
put_non_minimal_64 (Raw *r, GByteArray *out)
{
  static const guint8 bytes[] = { 0x82, 0xff, 0, 0, 0, 0, 0, 0, 0x01, 0x00, 1, 2, 3, 4 };

  g_byte_array_append (out, bytes, sizeof bytes);
}

static void
put_long_ping (Raw *r, GByteArray *out)
{
  guint8 payload[126] = { 0 };

  put_peer_frame (r, out, 0x89, payload, sizeof payload);
}

static void
put_close_1_byte (Raw *r, GByteArray *out)
{
  put_peer_frame (r, out, 0x88, "\x03", 1);
}

static void
put_close_1005 (Raw *r, GByteArray *out)
{
  put_peer_frame (r, out, 0x88, "\x03\xed", 2);
}

static void
put_close_5000 (Raw *r, GByteArray *out)
{
  put_peer_frame (r, out, 0x88, "\x13\x88", 2);
}

static void
put_close_bad_utf8 (Raw *r, GByteArray *out)
{
  put_peer_frame (r, out, 0x88, "\x03\xe8\xc3(", 4);
}

static void
put_message_inside_message (Raw *r, GByteArray *out)
{
  put_peer_frame (r, out, 0x02, "ab", 2);
  put_peer_frame (r, out, 0x82, "cd", 2);
}

static const BadFrame bad_frames[] = {
  { "unmasked-client-frame", FALSE, 0, 1002, put_unmasked },
  { "masked-server-frame", TRUE, 0, 1002, put_masked },
  { "length-2^63", FALSE, 0, 1002, put_length_2_63 },
  { "opcode-3", FALSE, 0, 1002, put_opcode_3 },
  { "continuation-without-start", FALSE, 0, 1002, put_continuation_first },
  { "continuation-without-start-to-client", TRUE, 0, 1002, put_continuation_first },
  { "text", FALSE, 0, 1003, put_text },
  { "text-to-client", TRUE, 0, 1003, put_text },
  { "oversized", FALSE, 1000, 1009, put_oversized },
  { "oversized-in-fragments", FALSE, 1000, 1009, put_oversized_fragments, 600 },
  { "fragmented-ping", FALSE, 0, 1002, put_fragmented_ping },
  { "rsv1", FALSE, 0, 1002, put_rsv1 },
  { "non-minimal-16-bit-length", FALSE, 0, 1002, put_non_minimal_16 },
  { "non-minimal-64-bit-length", FALSE, 0, 1002, put_non_minimal_64 },
  { "ping-of-126-bytes", FALSE, 0, 1002, put_long_ping },
  { "close-of-1-byte", FALSE, 0, 1002, put_close_1_byte },
  { "close-code-1005", FALSE, 0, 1002, put_close_1005 },
  { "close-code-5000", TRUE, 0, 1002, put_close_5000 },
  { "close-reason-bad-utf8", FALSE, 0, 1002, put_close_bad_utf8 },
  { "message-inside-fragmented-message", FALSE, 0, 1002, put_message_inside_message, 2 },
};

static void
test_bad_frame (gconstpointer data)
{
  const BadFrame *bad = data;
  g_autoptr (GByteArray) out = g_byte_array_new ();
  CvWsBridgeOptions options;
  Raw r;

  log_clear ();
  cv_ws_bridge_options_init (&options);
  options.is_client = bad->bridge_is_client;
  options.max_message_bytes = bad->max_message;
  options.peer_name = "raw peer";
  raw_start (&r, &options, NULL);

  /* A good frame first: its bytes reach the inner end, nothing after them does. */
  put_peer_frame (&r, out, 0x82, "hello", 5);
  bad->put (&r, out);
  put_peer_frame (&r, out, 0x82, "never", 5);
  raw_send (&r, out);

  raw_expect_close (&r, bad->code);
  if (bad->passed > 0)
    {
      g_autofree char *passed = g_malloc (MAX (bad->passed, 5));

      read_exactly (r.inner, passed, 5);
      g_assert_cmpmem (passed, 5, "hello", 5);
      read_exactly (r.inner, passed, bad->passed);
      inner_expect (&r, "", TRUE);
    }
  else
    inner_expect (&r, "hello", TRUE);
  g_assert_true (log_has ("raw peer: WebSocket protocol error: *"));
  raw_finish (&r);
}

/* Pings from the peer come back as pongs with the same payload, between the fragments
 * of a message too, and the message arrives whole. */
static void
test_raw_ping_in_fragments (gconstpointer data)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (GBytes) pong = NULL;
  CvWsBridgeOptions options;
  guint8 first;
  Raw r;

  cv_ws_bridge_options_init (&options);
  options.is_client = GPOINTER_TO_INT (data);
  raw_start (&r, &options, NULL);

  put_peer_frame (&r, out, 0x02, "abc", 3);
  put_peer_frame (&r, out, 0x89, "xyz123", 6);
  put_peer_frame (&r, out, 0x00, "def", 3);
  put_peer_frame (&r, out, 0x8a, "unsolicited", 11);
  put_peer_frame (&r, out, 0x80, "ghi", 3);
  raw_send (&r, out);

  pong = raw_read_frame (&r, &first);
  g_assert_cmphex (first, ==, 0x8a);
  g_assert_cmpmem (g_bytes_get_data (pong, NULL), g_bytes_get_size (pong), "xyz123", 6);
  {
    char got[10] = { 0 };

    read_exactly (r.inner, got, 9);
    g_assert_cmpstr (got, ==, "abcdefghi");
  }

  /* What the inner end writes goes out as binary messages, masked by a client. */
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (GBytes) frame = NULL;

    g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (r.inner)),
                                              "hello world", 11, NULL, NULL, &error));
    frame = raw_read_frame (&r, &first);
    g_assert_cmphex (first, ==, 0x82);
    g_assert_cmpmem (g_bytes_get_data (frame, NULL), g_bytes_get_size (frame), "hello world", 11);
  }

  /* A Close without a code is echoed without one. */
  g_byte_array_set_size (out, 0);
  put_peer_frame (&r, out, 0x88, NULL, 0);
  raw_send (&r, out);
  {
    g_autoptr (GBytes) close = raw_read_frame (&r, &first);

    g_assert_cmphex (first, ==, 0x88);
    g_assert_cmpuint (g_bytes_get_size (close), ==, 0);
  }
  inner_expect (&r, "", FALSE);
  raw_finish (&r);
}

/* A flood of pings (answered, the latest at least) holds up neither the data behind it
 * nor, since a direction yields to the main loop every few reads, the thread. */
static void
test_raw_ping_flood (void)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (GBytes) pong = NULL;
  CvWsBridgeOptions options;
  char got[6] = { 0 };
  guint8 first;
  Raw r;

  cv_ws_bridge_options_init (&options);
  raw_start (&r, &options, NULL);
  for (guint i = 0; i < 20000; i++)
    put_peer_frame (&r, out, 0x89, "ping", 4);
  put_peer_frame (&r, out, 0x82, "after", 5);
  raw_send (&r, out);
  read_exactly (r.inner, got, 5);
  g_assert_cmpstr (got, ==, "after");
  pong = raw_read_frame (&r, &first);
  g_assert_cmphex (first, ==, 0x8a);
  g_assert_cmpmem (g_bytes_get_data (pong, NULL), g_bytes_get_size (pong), "ping", 4);
  raw_finish (&r);
}

/* Bytes the HTTP layer read past the upgrade come first, a frame split between them
 * and the socket included. */
static void
test_leftover (void)
{
  g_autoptr (GByteArray) frames = g_byte_array_new ();
  g_autoptr (GByteArray) rest = g_byte_array_new ();
  g_autoptr (GBytes) leftover = NULL;
  CvWsBridgeOptions options;
  Raw r = { .bridge_is_client = FALSE };
  char got[8] = { 0 };

  put_frame (frames, 0x82, "abc", 3, TRUE);
  put_frame (frames, 0x82, "defg", 4, TRUE);
  leftover = g_bytes_new (frames->data, 9 + 3);
  g_byte_array_append (rest, frames->data + 12, frames->len - 12);

  cv_ws_bridge_options_init (&options);
  raw_start (&r, &options, leftover);
  raw_send (&r, rest);
  read_exactly (r.inner, got, 7);
  g_assert_cmpstr (got, ==, "abcdefg");
  raw_finish (&r);
}

/* A peer that never answers pings: the inner end is closed within the timeout. */
static void
test_pong_timeout (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) ping = NULL;
  CvWsBridgeOptions options;
  gint64 start, elapsed_ms;
  guint8 first, byte;
  gssize n;
  Raw r;

  log_clear ();
  cv_ws_bridge_options_init (&options);
  options.ping_interval_ms = 100;
  options.pong_timeout_ms = 300;
  options.peer_name = "silent peer";
  start = g_get_monotonic_time ();
  raw_start (&r, &options, NULL);

  ping = raw_read_frame (&r, &first);
  g_assert_cmphex (first, ==, 0x89);
  n = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (r.inner)), &byte, 1, NULL,
                           &error);
  elapsed_ms = (g_get_monotonic_time () - start) / 1000;
  g_assert_cmpint (n, <=, 0);
  g_test_message ("inner end closed after %" G_GINT64_FORMAT " ms", elapsed_ms);
  g_assert_cmpint (elapsed_ms, >=, 300);
  g_assert_cmpint (elapsed_ms, <, 1500);
  g_assert_true (log_has ("silent peer: no answer to a WebSocket ping within 300 ms; closing"));
  raw_finish (&r);
}

/* EOF on the inner end: Close 1000; a peer that never answers it is cut off after the
 * bounded wait. */
static void
test_close_unanswered (void)
{
  g_autoptr (GError) error = NULL;
  CvWsBridgeOptions options;
  gint64 start, elapsed_ms;
  guint8 byte;
  Raw r;

  cv_ws_bridge_options_init (&options);
  options.is_client = TRUE;
  raw_start (&r, &options, NULL);
  g_assert_true (g_socket_shutdown (g_socket_connection_get_socket (r.inner), FALSE, TRUE, &error));
  start = g_get_monotonic_time ();
  raw_expect_close (&r, 1000);
  elapsed_ms = (g_get_monotonic_time () - start) / 1000;
  g_test_message ("connection closed after %" G_GINT64_FORMAT " ms", elapsed_ms);
  g_assert_cmpint (elapsed_ms, >=, 1500);
  g_assert_cmpint (elapsed_ms, <, 4000);
  g_assert_cmpint (g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (r.inner)), &byte,
                                        1, NULL, &error),
                   <=, 0);
  raw_finish (&r);
}

/* EOF from the peer without a Close, at a frame boundary: EOF on the inner end after
 * the bytes before it. */
static void
test_peer_eof (void)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  CvWsBridgeOptions options;
  guint8 byte;
  Raw r;

  cv_ws_bridge_options_init (&options);
  raw_start (&r, &options, NULL);
  put_peer_frame (&r, out, 0x82, "tail", 4);
  raw_send (&r, out);
  g_assert_true (g_socket_shutdown (g_socket_connection_get_socket (r.raw), FALSE, TRUE, &error));
  inner_expect (&r, "tail", FALSE);
  /* No Close to a peer that left: the connection just ends. */
  g_assert_cmpint (g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (r.raw)), &byte,
                                        1, NULL, &error),
                   ==, 0);
  g_assert_no_error (error);
  raw_finish (&r);
}

/* A busy inner end makes big messages: the buffer grows after a read that filled it,
 * also while the inner socket never runs dry (it once stayed at the small size then,
 * after a link's first few bytes: a TLS write, a mask and a main-loop turn per 4 KiB). */
static void
test_busy_stream_big_frames (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) hello = NULL;
  CvWsBridgeOptions options;
  gsize total = 128 * 1024, received = 0, largest = 0;
  g_autofree guint8 *data = g_malloc (total);
  guint frames = 0;
  guint8 first;
  Raw r;

  cv_ws_bridge_options_init (&options);
  options.is_client = TRUE;
  raw_start (&r, &options, NULL);
  /* A few bytes first, as a link starts: the bridge's next buffer is the small one. */
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (r.inner)), "hello", 5,
                             NULL, NULL, &error);
  g_assert_no_error (error);
  hello = raw_read_frame (&r, &first);
  g_assert_cmpuint (g_bytes_get_size (hello), ==, 5);

  /* Then 128 KiB at once, which the socket pair holds: read in a few big messages. */
  for (gsize i = 0; i < total; i++)
    data[i] = (guint8) (i * 7 + i / 251);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (r.inner)), data, total,
                             NULL, NULL, &error);
  g_assert_no_error (error);
  while (received < total)
    {
      g_autoptr (GBytes) payload = raw_read_frame (&r, &first);
      gsize len;
      const guint8 *got = g_bytes_get_data (payload, &len);

      g_assert_cmphex (first, ==, 0x82);
      g_assert_cmpuint (received + len, <=, total);
      g_assert_cmpmem (got, len, data + received, len);
      received += len;
      largest = MAX (largest, len);
      frames++;
    }
  g_test_message ("%u messages, the largest %" G_GSIZE_FORMAT " bytes", frames, largest);
  g_assert_cmpuint (frames, <=, 8);
  raw_finish (&r);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  log_lines = g_ptr_array_new_with_free_func (g_free);
  g_log_set_handler ("culvert-engine", G_LOG_LEVEL_MESSAGE, on_engine_log, NULL);

  g_test_add_data_func ("/ws-bridge/soup/transfer/bridge-client", GINT_TO_POINTER (TRUE),
                        test_transfer);
  g_test_add_data_func ("/ws-bridge/soup/transfer/bridge-server", GINT_TO_POINTER (FALSE),
                        test_transfer);
  g_test_add_func ("/ws-bridge/soup/peer-stops-reading", test_peer_stops_reading);
  g_test_add_func ("/ws-bridge/soup/ping", test_soup_ping);
  g_test_add_func ("/ws-bridge/soup/close/inner-eof", test_close_inner_eof);
  g_test_add_func ("/ws-bridge/soup/close/soup-4000", test_close_by_soup);
  g_test_add_data_func ("/ws-bridge/raw/ping-in-fragments/bridge-server", GINT_TO_POINTER (FALSE),
                        test_raw_ping_in_fragments);
  g_test_add_data_func ("/ws-bridge/raw/ping-in-fragments/bridge-client", GINT_TO_POINTER (TRUE),
                        test_raw_ping_in_fragments);
  g_test_add_func ("/ws-bridge/unpollable-stream", test_unpollable_stream);
  g_test_add_func ("/ws-bridge/raw/ping-flood", test_raw_ping_flood);
  g_test_add_func ("/ws-bridge/raw/leftover", test_leftover);
  g_test_add_func ("/ws-bridge/raw/pong-timeout", test_pong_timeout);
  g_test_add_func ("/ws-bridge/raw/close-unanswered", test_close_unanswered);
  g_test_add_func ("/ws-bridge/raw/peer-eof", test_peer_eof);
  g_test_add_func ("/ws-bridge/raw/busy-stream-big-frames", test_busy_stream_big_frames);
  for (guint i = 0; i < G_N_ELEMENTS (bad_frames); i++)
    {
      g_autofree char *path = g_strdup_printf ("/ws-bridge/raw/bad-frame/%s", bad_frames[i].name);

      g_test_add_data_func (path, &bad_frames[i], test_bad_frame);
    }

  return g_test_run ();
}
