/* ws-test-peer.c: what the WebSocket bridge's tests and benchmark share (see the
 * header). */
#include "ws-test-peer.h"

#include <gio/gnetworking.h>
#include <string.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define MAX_HEAD 16384

static gpointer
worker_main (gpointer data)
{
  WsWorker *worker = data;

  g_main_context_push_thread_default (worker->context);
  g_main_loop_run (worker->loop);
  g_main_context_pop_thread_default (worker->context);
  return NULL;
}

WsWorker *
ws_worker_new (const char *name)
{
  WsWorker *worker = g_new0 (WsWorker, 1);

  worker->context = g_main_context_new ();
  worker->loop = g_main_loop_new (worker->context, FALSE);
  worker->thread = g_thread_new (name, worker_main, worker);
  return worker;
}

gboolean
ws_wait_for_bridges_to_end (guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (cv_ws_bridge_count_running () > 0)
    {
      if (g_get_monotonic_time () > end)
        return FALSE;
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
  return TRUE;
}

static gboolean
tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

gboolean
ws_wait_for (gboolean (*condition) (gpointer), gpointer data, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  guint id = g_timeout_add (2, tick, NULL);
  gboolean ok;

  while (!(ok = condition (data)) && g_get_monotonic_time () < end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (id);
  return ok;
}

void
ws_worker_free (WsWorker *worker)
{
  g_assert_true (ws_wait_for_bridges_to_end (10000));
  g_main_loop_quit (worker->loop);
  g_thread_join (worker->thread);
  /* What the bridges left to dispatch (a cancelled operation's callback) runs here. */
  while (g_main_context_iteration (worker->context, FALSE))
    ;
  g_main_loop_unref (worker->loop);
  g_main_context_unref (worker->context);
  g_free (worker);
}

static GSocket *
listen_loopback (int rcvbuf, guint16 *port)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) local = NULL;
  GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                  &error);

  g_assert_no_error (error);
  /* Before listen(): accepted sockets inherit it, and the window scale follows it. */
  if (rcvbuf > 0)
    g_assert_true (g_socket_set_option (socket, SOL_SOCKET, SO_RCVBUF, rcvbuf, NULL));
  g_assert_true (g_socket_bind (socket, address, TRUE, &error));
  g_assert_true (g_socket_listen (socket, &error));
  local = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  return socket;
}

static GSocketConnection *
connect_loopback (guint16 port, int sndbuf)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, port);
  g_autoptr (GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                             G_SOCKET_PROTOCOL_TCP, &error);

  g_assert_no_error (error);
  if (sndbuf > 0)
    g_assert_true (g_socket_set_option (socket, SOL_SOCKET, SO_SNDBUF, sndbuf, NULL));
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  g_assert_true (g_socket_connect (socket, address, NULL, &error));
  return g_socket_connection_factory_create_connection (socket);
}

void
ws_tcp_pair (GSocketConnection **client,
             GSocketConnection **server,
             int client_sndbuf,
             int server_rcvbuf)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) listener = NULL;
  g_autoptr (GSocket) accepted = NULL;
  guint16 port;

  listener = listen_loopback (server_rcvbuf, &port);
  /* The connect completes in the backlog, before the accept. */
  *client = connect_loopback (port, client_sndbuf);
  accepted = g_socket_accept (listener, NULL, &error);
  g_assert_no_error (error);
  g_socket_set_option (accepted, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  *server = g_socket_connection_factory_create_connection (accepted);
}

char *
ws_accept_for_key (const char *key)
{
  g_autoptr (GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize len = sizeof digest;

  g_checksum_update (sha1, (const guchar *) key, -1);
  g_checksum_update (sha1, (const guchar *) WS_GUID, -1);
  g_checksum_get_digest (sha1, digest, &len);
  return g_base64_encode (digest, len);
}

char *
ws_read_http_head (GIOStream *stream, GBytes **leftover, GError **error)
{
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  GInputStream *in = g_io_stream_get_input_stream (stream);

  for (;;)
    {
      guint8 chunk[1024];
      gssize n = g_input_stream_read (in, chunk, sizeof chunk, NULL, error);
      const char *end;

      if (n < 0)
        return NULL;
      if (n == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT, "EOF inside an HTTP head");
          return NULL;
        }
      g_byte_array_append (bytes, chunk, n);
      end = g_strstr_len ((const char *) bytes->data, bytes->len, "\r\n\r\n");
      if (end != NULL)
        {
          gsize head_len = end + 4 - (const char *) bytes->data;

          *leftover = g_bytes_new (bytes->data + head_len, bytes->len - head_len);
          return g_strndup ((const char *) bytes->data, head_len);
        }
      if (bytes->len > MAX_HEAD)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE, "HTTP head too long");
          return NULL;
        }
    }
}

gboolean
ws_client_handshake (GIOStream *stream,
                     const char *host_port,
                     const char *path,
                     GBytes **leftover,
                     GError **error)
{
  g_autoptr (SoupMessageHeaders) headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  g_autofree char *key = NULL;
  g_autofree char *request = NULL;
  g_autofree char *head = NULL;
  g_autofree char *expected = NULL;
  guint8 nonce[16];
  guint status;
  const char *accept;

  for (guint i = 0; i < sizeof nonce; i++)
    nonce[i] = g_random_int_range (0, 256);
  key = g_base64_encode (nonce, sizeof nonce);
  request = g_strdup_printf ("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                             "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                             "Sec-WebSocket-Version: 13\r\n\r\n",
                             path, host_port, key);
  if (!g_output_stream_write_all (g_io_stream_get_output_stream (stream), request, strlen (request),
                                  NULL, NULL, error))
    return FALSE;
  head = ws_read_http_head (stream, leftover, error);
  if (head == NULL)
    return FALSE;
  if (!soup_headers_parse_response (head, strlen (head), headers, NULL, &status, NULL)
      || status != 101)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "no 101 in: %s", head);
      return FALSE;
    }
  expected = ws_accept_for_key (key);
  accept = soup_message_headers_get_one (headers, "Sec-WebSocket-Accept");
  if (g_strcmp0 (accept, expected) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "wrong Sec-WebSocket-Accept: %s", accept);
      return FALSE;
    }
  return TRUE;
}

gboolean
ws_server_handshake (GIOStream *stream, GBytes **leftover, GError **error)
{
  g_autoptr (SoupMessageHeaders) headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_REQUEST);
  g_autofree char *head = NULL;
  g_autofree char *method = NULL;
  g_autofree char *path = NULL;
  g_autofree char *accept = NULL;
  g_autofree char *response = NULL;
  const char *key;

  head = ws_read_http_head (stream, leftover, error);
  if (head == NULL)
    return FALSE;
  if (soup_headers_parse_request (head, strlen (head), headers, &method, &path, NULL)
      != SOUP_STATUS_OK)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "bad request: %s", head);
      return FALSE;
    }
  key = soup_message_headers_get_one (headers, "Sec-WebSocket-Key");
  if (key == NULL || !soup_message_headers_header_contains (headers, "Upgrade", "websocket"))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "not an upgrade: %s", head);
      return FALSE;
    }
  accept = ws_accept_for_key (key);
  response = g_strdup_printf ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
                              accept);
  return g_output_stream_write_all (g_io_stream_get_output_stream (stream), response,
                                    strlen (response), NULL, NULL, error);
}

/* The pairs with libsoup. */

typedef struct {
  WsSoupPair *pair;
  WsWorker *worker;
  const CvWsBridgeOptions *options;
  guint16 port;
  int sndbuf;
  GSocket *listener;
  gboolean done;
} PairSetup;

static void
on_soup_websocket (SoupServer *server,
                   SoupServerMessage *msg,
                   const char *path,
                   SoupWebsocketConnection *connection,
                   gpointer user_data)
{
  WsSoupPair *pair = user_data;

  g_assert_null (pair->soup);
  pair->soup = g_object_ref (connection);
  /* libsoup's default is 128 KiB; the bridge sends up to 256 KiB a message. */
  soup_websocket_connection_set_max_incoming_payload_size (connection, 0);
}

static gpointer
bridge_client_thread (gpointer data)
{
  PairSetup *setup = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) tcp = connect_loopback (setup->port, setup->sndbuf);
  g_autoptr (GBytes) leftover = NULL;
  g_autofree char *host_port = g_strdup_printf ("127.0.0.1:%u", setup->port);

  g_assert_true (ws_client_handshake (G_IO_STREAM (tcp), host_port, "/ws", &leftover, &error));
  g_assert_no_error (error);
  setup->pair->inner = cv_ws_bridge_start (G_IO_STREAM (tcp), leftover, setup->options,
                                           setup->worker->context, &error);
  g_assert_no_error (error);
  g_atomic_int_set (&setup->done, TRUE);
  return NULL;
}

static gboolean
wait_for_setup (PairSetup *setup)
{
  gint64 end = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!(g_atomic_int_get (&setup->done) && setup->pair->soup != NULL))
    {
      if (g_get_monotonic_time () > end)
        return FALSE;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (500);
    }
  return TRUE;
}

void
ws_soup_pair_bridge_client (WsSoupPair *pair,
                            WsWorker *worker,
                            const CvWsBridgeOptions *options,
                            int soup_rcvbuf,
                            int bridge_sndbuf)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) listener = NULL;
  PairSetup setup = { pair, worker, options, 0, bridge_sndbuf, NULL, FALSE };
  GThread *thread;

  memset (pair, 0, sizeof *pair);
  pair->server = soup_server_new (NULL, NULL);
  soup_server_add_websocket_handler (pair->server, "/ws", NULL, NULL, on_soup_websocket, pair,
                                     NULL);
  listener = listen_loopback (soup_rcvbuf, &setup.port);
  g_assert_true (soup_server_listen_socket (pair->server, listener, 0, &error));
  g_assert_no_error (error);

  thread = g_thread_new ("ws-client-handshake", bridge_client_thread, &setup);
  g_assert_true (wait_for_setup (&setup));
  g_thread_join (thread);
}

static gpointer
bridge_server_thread (gpointer data)
{
  PairSetup *setup = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) accepted = NULL;
  g_autoptr (GSocketConnection) tcp = NULL;
  g_autoptr (GBytes) leftover = NULL;

  g_socket_set_timeout (setup->listener, 10);
  accepted = g_socket_accept (setup->listener, NULL, &error);
  g_assert_no_error (error);
  g_socket_set_timeout (accepted, 0);
  g_socket_set_option (accepted, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  tcp = g_socket_connection_factory_create_connection (accepted);
  g_assert_true (ws_server_handshake (G_IO_STREAM (tcp), &leftover, &error));
  g_assert_no_error (error);
  setup->pair->inner = cv_ws_bridge_start (G_IO_STREAM (tcp), leftover, setup->options,
                                           setup->worker->context, &error);
  g_assert_no_error (error);
  g_atomic_int_set (&setup->done, TRUE);
  return NULL;
}

static void
on_soup_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  WsSoupPair *pair = user_data;
  g_autoptr (GError) error = NULL;

  pair->soup = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  g_assert_no_error (error);
  soup_websocket_connection_set_max_incoming_payload_size (pair->soup, 0);
}

void
ws_soup_pair_bridge_server (WsSoupPair *pair, WsWorker *worker, const CvWsBridgeOptions *options)
{
  g_autoptr (GSocket) listener = NULL;
  g_autoptr (SoupMessage) msg = NULL;
  g_autofree char *uri = NULL;
  PairSetup setup = { pair, worker, options, 0, 0, NULL, FALSE };
  GThread *thread;

  memset (pair, 0, sizeof *pair);
  listener = listen_loopback (0, &setup.port);
  setup.listener = listener;
  thread = g_thread_new ("ws-server-handshake", bridge_server_thread, &setup);

  pair->session = soup_session_new ();
  /* Loopback only, whatever the environment's proxy settings say. */
  soup_session_set_proxy_resolver (pair->session, NULL);
  uri = g_strdup_printf ("ws://127.0.0.1:%u/ws", setup.port);
  msg = soup_message_new ("GET", uri);
  soup_session_websocket_connect_async (pair->session, msg, NULL, NULL, G_PRIORITY_DEFAULT, NULL,
                                        on_soup_connected, pair);
  g_assert_true (wait_for_setup (&setup));
  g_thread_join (thread);
}

void
ws_soup_pair_clear (WsSoupPair *pair)
{
  if (pair->soup != NULL
      && soup_websocket_connection_get_state (pair->soup) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (pair->soup, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_clear_object (&pair->inner);
  if (pair->soup != NULL)
    {
      gint64 end = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

      while (soup_websocket_connection_get_state (pair->soup) != SOUP_WEBSOCKET_STATE_CLOSED
             && g_get_monotonic_time () < end)
        if (!g_main_context_iteration (NULL, FALSE))
          g_usleep (1000);
    }
  g_clear_object (&pair->soup);
  if (pair->server != NULL)
    soup_server_disconnect (pair->server);
  g_clear_object (&pair->server);
  g_clear_object (&pair->session);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* The byte stream: xorshift64*, eight bytes a step. */

void
ws_stream_init (WsStream *stream, guint64 seed)
{
  stream->state = seed * 0x9e3779b97f4a7c15ull + 1;
  stream->sha256 = g_checksum_new (G_CHECKSUM_SHA256);
  stream->bytes = 0;
  stream->partial = FALSE;
}

void
ws_stream_clear (WsStream *stream)
{
  g_clear_pointer (&stream->sha256, g_checksum_free);
}

static guint64
next_word (WsStream *stream)
{
  guint64 x = stream->state;

  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  stream->state = x;
  return x * 0x2545f4914f6cdd1dull;
}

/* Byte i of the stream is byte i % 8 of word i / 8, whatever the pieces asked for. */
void
ws_stream_fill (WsStream *stream, guint8 *buffer, gsize len)
{
  static const gsize word = sizeof (guint64);
  gsize i = 0;

  g_assert_false (stream->partial);
  for (; i + word <= len; i += word)
    {
      guint64 w = next_word (stream);

      memcpy (buffer + i, &w, word);
    }
  if (i < len)
    {
      guint64 w = next_word (stream);

      memcpy (buffer + i, &w, len - i);
      /* Only the last piece may be short: the next would not continue the stream. */
      stream->partial = TRUE;
    }
  ws_stream_hash (stream, buffer, len);
}

void
ws_stream_hash (WsStream *stream, const guint8 *buffer, gsize len)
{
  g_checksum_update (stream->sha256, buffer, len);
  stream->bytes += len;
}

const char *
ws_stream_digest (WsStream *stream)
{
  return g_checksum_get_string (stream->sha256);
}

/* Writer and reader threads. */

static gpointer
writer_main (gpointer data)
{
  WsWriter *writer = data;
  g_autoptr (GError) error = NULL;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (writer->connection));
  const gsize chunk = 64 * 1024;
  g_autofree guint8 *buffer = g_malloc (chunk);
  WsStream stream;

  ws_stream_init (&stream, writer->seed);
  for (guint64 written = 0; written < writer->total;)
    {
      gsize n = MIN (chunk, writer->total - written);

      ws_stream_fill (&stream, buffer, n);
      if (!g_output_stream_write_all (out, buffer, n, NULL, NULL, &error))
        g_error ("writing the test stream: %s", error->message);
      written += n;
      g_atomic_pointer_add (&writer->written, n);
    }
  if (writer->shutdown)
    g_socket_shutdown (g_socket_connection_get_socket (writer->connection), FALSE, TRUE, NULL);
  writer->digest = g_strdup (ws_stream_digest (&stream));
  ws_stream_clear (&stream);
  return NULL;
}

void
ws_writer_start (WsWriter *writer,
                 GSocketConnection *connection,
                 guint64 seed,
                 guint64 total,
                 gboolean shutdown)
{
  memset (writer, 0, sizeof *writer);
  writer->connection = g_object_ref (connection);
  writer->seed = seed;
  writer->total = total;
  writer->shutdown = shutdown;
  writer->thread = g_thread_new ("ws-test-writer", writer_main, writer);
}

void
ws_writer_join (WsWriter *writer)
{
  g_thread_join (writer->thread);
  g_clear_object (&writer->connection);
}

static gpointer
reader_main (gpointer data)
{
  WsReader *reader = data;
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (reader->connection));
  const gsize chunk = 256 * 1024;
  g_autofree guint8 *buffer = g_malloc (chunk);
  WsStream stream;

  ws_stream_init (&stream, 0);
  for (guint64 done = 0; reader->total == 0 || done < reader->total;)
    {
      gsize want = reader->total == 0 ? chunk : MIN (chunk, reader->total - done);
      gssize n = g_input_stream_read (in, buffer, want, NULL, &reader->error);

      if (n < 0)
        break;
      if (n == 0)
        {
          reader->eof = TRUE;
          break;
        }
      ws_stream_hash (&stream, buffer, n);
      done += n;
      g_atomic_pointer_add (&reader->read, n);
    }
  reader->digest = g_strdup (ws_stream_digest (&stream));
  ws_stream_clear (&stream);
  return NULL;
}

void
ws_reader_start (WsReader *reader, GSocketConnection *connection, guint64 total)
{
  memset (reader, 0, sizeof *reader);
  reader->connection = g_object_ref (connection);
  reader->total = total;
  reader->thread = g_thread_new ("ws-test-reader", reader_main, reader);
}

void
ws_reader_join (WsReader *reader)
{
  g_thread_join (reader->thread);
  g_clear_object (&reader->connection);
}
