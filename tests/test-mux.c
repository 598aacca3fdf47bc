/* test-mux.c: the multiplexer over a real Unix socket pair. */
#include "mux/cv-channel-private.h"
#include "mux/cv-mux.h"
#include "cv-test-util.h"

#include <string.h>

#define POOL_SIZE (256 * 1024)
static guint8 pool[POOL_SIZE];

/* What one side of a channel sends (a slice of the pool) and what it received. */
typedef struct {
  CvChannel *channel;
  const guint8 *send_data;
  gsize send_len;
  gsize sent;
  gboolean shutdown_when_sent;
  gboolean read_enabled;
  GChecksum *received_sum;
  gsize received;
  gboolean eof;
  gboolean closed;
  gboolean opened;
  GError *error;
} Endpoint;

static Endpoint *
endpoint_new (CvChannel *channel, const guint8 *data, gsize len)
{
  Endpoint *e = g_new0 (Endpoint, 1);

  e->channel = g_object_ref (channel);
  e->send_data = data;
  e->send_len = len;
  e->shutdown_when_sent = TRUE;
  e->read_enabled = TRUE;
  e->received_sum = g_checksum_new (G_CHECKSUM_SHA256);
  return e;
}

static void
endpoint_free (Endpoint *e)
{
  g_signal_handlers_disconnect_by_data (e->channel, e);
  g_object_unref (e->channel);
  g_checksum_free (e->received_sum);
  g_clear_error (&e->error);
  g_free (e);
}

static void
endpoint_pump (Endpoint *e)
{
  while (e->sent < e->send_len)
    {
      gsize n = cv_channel_write (e->channel, e->send_data + e->sent, e->send_len - e->sent);
      if (n == 0)
        break;
      e->sent += n;
    }
  if (e->sent == e->send_len && e->shutdown_when_sent)
    cv_channel_shutdown_write (e->channel);
}

static void
endpoint_drain (Endpoint *e)
{
  gsize len;
  const guint8 *bytes;

  if (!e->read_enabled)
    return;
  while ((bytes = cv_channel_peek (e->channel, &len)) != NULL && len > 0)
    {
      g_checksum_update (e->received_sum, bytes, len);
      e->received += len;
      cv_channel_consume (e->channel, len);
    }
  if (cv_channel_is_eof (e->channel))
    e->eof = TRUE;
}

static void
on_writable (CvChannel *channel, Endpoint *e)
{
  endpoint_pump (e);
}

static void
on_readable (CvChannel *channel, Endpoint *e)
{
  endpoint_drain (e);
}

static void
on_opened (CvChannel *channel, Endpoint *e)
{
  e->opened = TRUE;
}

static void
on_closed (CvChannel *channel, const GError *error, Endpoint *e)
{
  e->closed = TRUE;
  if (error != NULL)
    e->error = g_error_copy (error);
  endpoint_drain (e);
}

static void
endpoint_connect (Endpoint *e)
{
  g_signal_connect (e->channel, "writable", G_CALLBACK (on_writable), e);
  g_signal_connect (e->channel, "readable", G_CALLBACK (on_readable), e);
  g_signal_connect (e->channel, "opened", G_CALLBACK (on_opened), e);
  g_signal_connect (e->channel, "closed", G_CALLBACK (on_closed), e);
  endpoint_pump (e);
}

static char *
checksum_of (const guint8 *data, gsize len)
{
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, data, len);
}

/* The slice of the pool that channel @id sends in one direction. */
static void
slice_for (guint32 id, gboolean from_opener, gsize max_len, const guint8 **data, gsize *len)
{
  guint32 h = id * 2654435761u ^ (from_opener ? 0x9e3779b9u : 0x7f4a7c15u);

  *len = (h >> 3) % (max_len + 1);
  *data = pool + ((h * 40503u) % (POOL_SIZE - *len + 1));
}

typedef struct {
  GPtrArray *endpoints; /* of Endpoint */
  gsize max_len;
  gboolean accept;
} Acceptor;

static void
on_incoming (CvMux *mux, CvChannel *channel, Acceptor *acceptor)
{
  const guint8 *data;
  gsize len;
  Endpoint *e;

  if (!acceptor->accept)
    {
      cv_channel_refuse (channel, CV_CHANNEL_REASON_NOT_ALLOWED, "not on the list");
      return;
    }
  slice_for (cv_channel_get_id (channel), FALSE, acceptor->max_len, &data, &len);
  e = endpoint_new (channel, data, len);
  g_ptr_array_add (acceptor->endpoints, e);
  cv_channel_accept (channel);
  endpoint_connect (e);
}

static Acceptor *
acceptor_new (CvMux *mux, gsize max_len)
{
  Acceptor *acceptor = g_new0 (Acceptor, 1);

  acceptor->endpoints = g_ptr_array_new_with_free_func ((GDestroyNotify) endpoint_free);
  acceptor->max_len = max_len;
  acceptor->accept = TRUE;
  if (mux != NULL)
    g_signal_connect (mux, "incoming-channel", G_CALLBACK (on_incoming), acceptor);
  return acceptor;
}

static void
acceptor_free (Acceptor *acceptor)
{
  g_ptr_array_unref (acceptor->endpoints);
  g_free (acceptor);
}

typedef struct {
  GPtrArray *a;
  Acceptor *b;
  guint expected;
} Transfer;

static gboolean
all_closed (gpointer user_data)
{
  Transfer *t = user_data;

  if (t->b->endpoints->len < t->expected)
    return FALSE;
  for (guint i = 0; i < t->a->len; i++)
    if (!((Endpoint *) t->a->pdata[i])->closed)
      return FALSE;
  for (guint i = 0; i < t->b->endpoints->len; i++)
    if (!((Endpoint *) t->b->endpoints->pdata[i])->closed)
      return FALSE;
  return TRUE;
}

static Endpoint *
find_endpoint (GPtrArray *endpoints, guint32 id)
{
  for (guint i = 0; i < endpoints->len; i++)
    {
      Endpoint *e = endpoints->pdata[i];
      if (cv_channel_get_id (e->channel) == id)
        return e;
    }
  return NULL;
}

static void
run_transfer (guint n_channels, gsize max_len, const CvMuxConfig *config)
{
  g_autoptr (CvMux) a = NULL;
  g_autoptr (CvMux) b = NULL;
  g_autoptr (GPtrArray) opened = g_ptr_array_new_with_free_func ((GDestroyNotify) endpoint_free);
  Acceptor *acceptor;
  Transfer t;

  cv_test_mux_pair (config, config, &a, &b);
  acceptor = acceptor_new (b, max_len);

  for (guint i = 0; i < n_channels; i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (CvChannel) channel = cv_mux_open_channel (a, "127.0.0.1", 5900, &error);
      const guint8 *data;
      gsize len;
      Endpoint *e;

      g_assert_no_error (error);
      slice_for (cv_channel_get_id (channel), TRUE, max_len, &data, &len);
      e = endpoint_new (channel, data, len);
      g_ptr_array_add (opened, e);
      endpoint_connect (e);
    }

  t.a = opened;
  t.b = acceptor;
  t.expected = n_channels;
  g_assert_true (cv_test_wait_until (all_closed, &t, 60000));

  for (guint i = 0; i < opened->len; i++)
    {
      Endpoint *ea = opened->pdata[i];
      guint32 id = cv_channel_get_id (ea->channel);
      Endpoint *eb = find_endpoint (acceptor->endpoints, id);
      g_autofree char *a_to_b = checksum_of (ea->send_data, ea->send_len);
      g_autofree char *b_to_a = NULL;

      g_assert_nonnull (eb);
      b_to_a = checksum_of (eb->send_data, eb->send_len);
      g_assert_no_error (ea->error);
      g_assert_no_error (eb->error);
      g_assert_true (ea->eof && eb->eof);
      g_assert_cmpuint (eb->received, ==, ea->send_len);
      g_assert_cmpuint (ea->received, ==, eb->send_len);
      g_assert_cmpstr (g_checksum_get_string (eb->received_sum), ==, a_to_b);
      g_assert_cmpstr (g_checksum_get_string (ea->received_sum), ==, b_to_a);
    }
  g_assert_cmpuint (cv_mux_get_n_channels (a), ==, 0);
  g_assert_cmpuint (cv_mux_get_n_channels (b), ==, 0);
  g_assert_false (cv_mux_is_closed (a));
  g_assert_false (cv_mux_is_closed (b));

  cv_mux_close (a);
  cv_mux_close (b);
  acceptor_free (acceptor);
}

static void
test_one_channel (void)
{
  run_transfer (1, POOL_SIZE - 1, NULL);
}

/* 1,000 channels at once, random lengths both ways, every byte checksummed. */
static void
test_thousand_channels (void)
{
  run_transfer (1000, 64 * 1024, NULL);
}

/* Small windows force many WINDOW_UPDATEs and stalls along the way. */
static void
test_small_window (void)
{
  CvMuxConfig config;

  cv_mux_config_init_defaults (&config);
  config.initial_window = 1024;
  config.max_window = 1024;
  run_transfer (50, 64 * 1024, &config);
}

/* ---- half-close -------------------------------------------------------- */

typedef struct {
  Endpoint *e;
  gboolean replied;
} HalfCloseServer;

static void
on_server_readable (CvChannel *channel, HalfCloseServer *server)
{
  /* Reply only once the request is complete: after the client's FIN. */
  if (server->e->eof && !server->replied)
    {
      server->replied = TRUE;
      server->e->send_len = 100000;
      endpoint_pump (server->e);
    }
}

static void
on_half_close_incoming (CvMux *mux, CvChannel *channel, HalfCloseServer *server)
{
  server->e = endpoint_new (channel, pool, 0);
  server->e->shutdown_when_sent = FALSE;
  cv_channel_accept (channel);
  endpoint_connect (server->e);
  server->e->shutdown_when_sent = TRUE;
  g_signal_connect_after (channel, "readable", G_CALLBACK (on_server_readable), server);
}

static gboolean
endpoint_closed (gpointer user_data)
{
  return ((Endpoint *) user_data)->closed;
}

static void
test_half_close (void)
{
  g_autoptr (CvMux) a = NULL;
  g_autoptr (CvMux) b = NULL;
  g_autoptr (CvChannel) channel = NULL;
  g_autofree char *expected = checksum_of (pool, 100000);
  HalfCloseServer server = { 0 };
  Endpoint *client;

  cv_test_mux_pair (NULL, NULL, &a, &b);
  g_signal_connect (b, "incoming-channel", G_CALLBACK (on_half_close_incoming), &server);
  channel = cv_mux_open_channel (a, "localhost", 22, NULL);
  client = endpoint_new (channel, pool + 1000, 5000);
  endpoint_connect (client);

  g_assert_true (cv_test_wait_until (endpoint_closed, client, 10000));
  g_assert_no_error (client->error);
  g_assert_true (server.replied);
  g_assert_cmpuint (server.e->received, ==, 5000);
  g_assert_cmpuint (client->received, ==, 100000);
  g_assert_cmpstr (g_checksum_get_string (client->received_sum), ==, expected);
  g_assert_true (server.e->closed);
  g_assert_no_error (server.e->error);

  endpoint_free (client);
  endpoint_free (server.e);
  cv_mux_close (a);
  cv_mux_close (b);
}

/* ---- a reader that stops reading ---------------------------------------- */

static gboolean
iterate_until_quiet (gpointer user_data)
{
  CvMux **muxes = user_data;
  static guint64 last_a, last_b;
  static guint quiet_rounds;
  guint64 wa = cv_mux_get_bytes_written (muxes[0]);
  guint64 rb = cv_mux_get_bytes_read (muxes[1]);

  if (wa == last_a && rb == last_b)
    quiet_rounds++;
  else
    quiet_rounds = 0;
  last_a = wa;
  last_b = rb;
  return quiet_rounds > 50;
}

static gboolean
quiet_timeout (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

static void
test_stalled_reader_bounded (void)
{
  CvMuxConfig config;
  g_autoptr (CvMux) a = NULL;
  g_autoptr (CvMux) b = NULL;
  g_autoptr (CvChannel) channel = NULL;
  g_autofree guint8 *big = g_malloc (8 * 1024 * 1024);
  Acceptor *acceptor;
  Endpoint *sender, *reader;
  CvMux *muxes[2];
  guint tick;

  cv_mux_config_init_defaults (&config);
  config.initial_window = 64 * 1024;
  config.max_window = 64 * 1024;
  cv_test_mux_pair (&config, &config, &a, &b);
  acceptor = acceptor_new (b, 0);
  channel = cv_mux_open_channel (a, "127.0.0.1", 80, NULL);
  sender = endpoint_new (channel, big, 8 * 1024 * 1024);
  endpoint_connect (sender);

  /* The receiving side accepts but its application never reads. */
  while (acceptor->endpoints->len == 0)
    g_main_context_iteration (NULL, TRUE);
  reader = acceptor->endpoints->pdata[0];
  reader->read_enabled = FALSE;

  muxes[0] = a;
  muxes[1] = b;
  tick = g_timeout_add (1, quiet_timeout, NULL);
  g_assert_true (cv_test_wait_until (iterate_until_quiet, muxes, 10000));
  g_source_remove (tick);

  /* The receiver holds one window, less what it consumed and has not yet credited
   * back (credit returns in quarters of the window); the sender holds nothing more
   * than the credit it has.  Exact numbers, not timing. */
  {
    gsize held = cv_channel_get_recv_buffered (reader->channel);
    gsize uncredited = reader->channel->recv_unacked;

    g_assert_cmpuint (held + uncredited, ==, 64 * 1024);
    g_assert_cmpuint (uncredited, <, 64 * 1024 / 4);
    g_assert_cmpuint (cv_channel_get_send_buffered (channel), ==, 0);
    g_assert_cmpuint (cv_channel_get_send_space (channel), ==, 0);
    /* Every byte the sender's application handed over is accounted for: consumed
     * before reading stopped, or sitting in the receiver's window. */
    g_assert_cmpuint (sender->sent, ==, reader->received + held);
    g_test_message ("stalled reader: sender holds %" G_GSIZE_FORMAT " bytes, receiver %"
                    G_GSIZE_FORMAT " bytes (+%" G_GSIZE_FORMAT " uncredited), window 65536",
                    cv_channel_get_send_buffered (channel), held, uncredited);
  }
  g_assert_cmpuint (cv_channel_write (channel, big, 1), ==, 0);

  /* Reading again releases the rest, and every byte arrives. */
  reader->read_enabled = TRUE;
  endpoint_drain (reader);
  g_assert_true (cv_test_wait_until (endpoint_closed, sender, 20000));
  g_assert_true (cv_test_wait_until (endpoint_closed, reader, 20000));
  g_assert_true (reader->eof);
  g_assert_cmpuint (reader->received, ==, 8 * 1024 * 1024);

  endpoint_free (sender);
  acceptor_free (acceptor);
  cv_mux_close (a);
  cv_mux_close (b);
}

/* ---- misbehaving peers -------------------------------------------------- */

typedef struct {
  CvMux *mux;
  GSocket *raw;
  gboolean closed;
  GError *error;
} RawPeer;

static void
on_mux_closed (CvMux *mux, const GError *error, RawPeer *peer)
{
  peer->closed = TRUE;
  if (error != NULL)
    peer->error = g_error_copy (error);
}

static void
raw_peer_init (RawPeer *peer, const CvMuxConfig *config)
{
  g_autoptr (GSocketConnection) conn_a = NULL;
  g_autoptr (GSocketConnection) conn_b = NULL;

  memset (peer, 0, sizeof *peer);
  cv_test_socket_pair (&conn_a, &conn_b);
  peer->mux = cv_mux_new (G_IO_STREAM (conn_a), CV_MUX_ROLE_RESPONDER, config);
  peer->raw = g_object_ref (g_socket_connection_get_socket (conn_b));
  g_signal_connect (peer->mux, "closed", G_CALLBACK (on_mux_closed), peer);
  cv_mux_start (peer->mux);
}

static void
raw_peer_clear (RawPeer *peer)
{
  g_clear_error (&peer->error);
  g_clear_object (&peer->raw);
  g_clear_object (&peer->mux);
}

static void
raw_send (RawPeer *peer, const CvFrame *frame)
{
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  g_autoptr (GError) error = NULL;

  g_assert_true (cv_frame_encode (frame, bytes, &error));
  g_assert_cmpint (g_socket_send (peer->raw, (const char *) bytes->data, bytes->len, NULL, &error),
                   ==, bytes->len);
}

static void
raw_send_bytes (RawPeer *peer, const void *data, gsize len)
{
  g_assert_cmpint (g_socket_send (peer->raw, data, len, NULL, NULL), ==, len);
}

static void
raw_send_settings (RawPeer *peer, guint32 window)
{
  CvFrame settings = { .type = CV_FRAME_SETTINGS };

  settings.u.settings.version = CV_PROTOCOL_VERSION;
  settings.u.settings.initial_window = window;
  settings.u.settings.max_payload = CV_FRAME_DEFAULT_MAX_PAYLOAD;
  settings.u.settings.max_channels = 100;
  raw_send (peer, &settings);
}

static void
raw_send_open (RawPeer *peer, guint32 id)
{
  CvFrame open = { .type = CV_FRAME_OPEN, .channel_id = id };

  open.u.open.host = "localhost";
  open.u.open.host_len = 9;
  open.u.open.port = 5900;
  raw_send (peer, &open);
}

static void
raw_send_data (RawPeer *peer, guint32 id, gsize len)
{
  CvFrame data = { .type = CV_FRAME_DATA, .channel_id = id };

  data.u.data.bytes = pool;
  data.u.data.len = len;
  raw_send (peer, &data);
}

static gboolean
raw_peer_closed (gpointer user_data)
{
  return ((RawPeer *) user_data)->closed;
}

/* Read what the mux wrote until EOF; return the GOAWAY's reason, or -1 if none came. */
static int
raw_read_goaway_reason (RawPeer *peer)
{
  g_autoptr (GByteArray) all = g_byte_array_new ();
  char buffer[65536];
  gssize n = -1;
  gsize offset = 0;
  int reason = -1;

  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  /* The mux closes its end from the main loop: keep it turning while reading. */
  g_socket_set_blocking (peer->raw, FALSE);
  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr (GError) error = NULL;

      n = g_socket_receive (peer->raw, buffer, sizeof buffer, NULL, &error);
      if (n == 0 || (n < 0 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)))
        break;
      if (n > 0)
        g_byte_array_append (all, (const guint8 *) buffer, n);
      else
        g_main_context_iteration (NULL, FALSE);
    }
  g_assert_cmpint (n, ==, 0);
  for (;;)
    {
      CvFrame frame;
      gsize consumed;

      if (cv_frame_decode (all->data + offset, all->len - offset, CV_FRAME_MAX_PAYLOAD, &frame,
                           &consumed, NULL) != CV_FRAME_DECODE_OK)
        break;
      if (frame.type == CV_FRAME_GOAWAY)
        reason = frame.u.close.reason;
      offset += consumed;
    }
  return reason;
}

typedef void (*Misbehaviour) (RawPeer *peer);

static void
misbehave_past_window (RawPeer *peer)
{
  raw_send_settings (peer, 65536);
  raw_send_open (peer, 1);
  /* The mux's window is 16 KiB (see the test's config): the second frame overruns it. */
  raw_send_data (peer, 1, 16384);
  raw_send_data (peer, 1, 1);
}

static void
misbehave_reused_id (RawPeer *peer)
{
  raw_send_settings (peer, 65536);
  raw_send_open (peer, 1);
  raw_send_open (peer, 3);
  raw_send_open (peer, 3);
}

static void
misbehave_wrong_parity (RawPeer *peer)
{
  raw_send_settings (peer, 65536);
  raw_send_open (peer, 2);
}

static void
misbehave_garbage (RawPeer *peer)
{
  static const char garbage[] = "GET / HTTP/1.1\r\nHost: example\r\n\r\n";
  raw_send_bytes (peer, garbage, sizeof garbage - 1);
}

static void
misbehave_garbage_after_settings (RawPeer *peer)
{
  static const guint8 unknown_type[] = { 0, 0, 0, 0x77, 0, 0, 0, 0, 0 };

  raw_send_settings (peer, 65536);
  raw_send_bytes (peer, unknown_type, sizeof unknown_type);
}

static void
misbehave_oversized (RawPeer *peer)
{
  static const guint8 huge_header[] = { 0xff, 0xff, 0xff, CV_FRAME_DATA, 0, 0, 0, 0, 1 };

  raw_send_settings (peer, 65536);
  raw_send_open (peer, 1);
  raw_send_bytes (peer, huge_header, sizeof huge_header);
}

static void
misbehave_data_unopened (RawPeer *peer)
{
  raw_send_settings (peer, 65536);
  raw_send_data (peer, 7, 10);
}

static void
misbehave_fin_before_open_ok (RawPeer *peer)
{
  CvFrame fin = { .type = CV_FRAME_FIN, .channel_id = 2 };
  g_autoptr (CvChannel) channel = NULL;

  raw_send_settings (peer, 65536);
  /* The mux (responder) opens channel 2; the raw peer ends it before answering. */
  channel = cv_mux_open_channel (peer->mux, "localhost", 80, NULL);
  g_assert_cmpuint (cv_channel_get_id (channel), ==, 2);
  raw_send (peer, &fin);
}

/* A second FIN breaks one channel's state, not the link's framing: that channel is
 * reset and the link goes on. */
static void
test_second_fin_resets_channel (void)
{
  RawPeer peer;
  CvFrame fin = { .type = CV_FRAME_FIN, .channel_id = 1 };
  g_autoptr (CvChannel) channel = NULL;
  Endpoint *e;
  Acceptor *acceptor;

  raw_peer_init (&peer, NULL);
  acceptor = acceptor_new (peer.mux, 0);
  raw_send_settings (&peer, 65536);
  raw_send_open (&peer, 1);
  raw_send (&peer, &fin);
  raw_send (&peer, &fin);
  while (acceptor->endpoints->len < 1)
    g_main_context_iteration (NULL, TRUE);
  e = acceptor->endpoints->pdata[0];
  g_assert_true (cv_test_wait_until (endpoint_closed, e, 5000));
  g_assert_error (e->error, CV_CHANNEL_ERROR, CV_CHANNEL_REASON_STREAM_CLOSED);
  g_assert_false (peer.closed);
  (void) channel;
  acceptor_free (acceptor);
  cv_mux_close (peer.mux);
  raw_peer_clear (&peer);
}

static void
on_refuse_badly (CvMux *mux, CvChannel *channel, gpointer user_data)
{
  /* An OS error string in a legacy encoding: not UTF-8. */
  cv_channel_refuse (channel, CV_CHANNEL_REASON_UNREACHABLE, "r\xe9seau inaccessible");
}

/* A refusal whose message is not UTF-8 still reaches the opener with its reason. */
static void
test_refusal_with_bad_message (void)
{
  g_autoptr (CvMux) a = NULL;
  g_autoptr (CvMux) b = NULL;
  g_autoptr (CvChannel) channel = NULL;
  Endpoint *e;

  cv_test_mux_pair (NULL, NULL, &a, &b);
  g_signal_connect (b, "incoming-channel", G_CALLBACK (on_refuse_badly), NULL);
  channel = cv_mux_open_channel (a, "localhost", 80, NULL);
  e = endpoint_new (channel, pool, 0);
  endpoint_connect (e);
  g_assert_true (cv_test_wait_until (endpoint_closed, e, 5000));
  g_assert_error (e->error, CV_CHANNEL_ERROR, CV_CHANNEL_REASON_UNREACHABLE);
  endpoint_free (e);
  cv_mux_close (a);
  cv_mux_close (b);
}

static void
test_control_message_too_large (void)
{
  g_autoptr (CvMux) a = NULL;
  g_autoptr (CvMux) b = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) json = g_string_new ("{\"x\":\"");
  gboolean ok;

  cv_test_mux_pair (NULL, NULL, &a, &b);
  while (cv_mux_get_rtt_us (a) < 0)
    g_main_context_iteration (NULL, TRUE);
  for (guint i = 0; i < 20000; i++)
    g_string_append_c (json, 'a');
  g_string_append (json, "\"}");
  ok = cv_mux_send_control (a, 0x20, json->str, &error);
  g_assert_false (ok);
  g_assert_error (error, CV_MUX_ERROR, CV_GOAWAY_REASON_FRAME_TOO_LARGE);
  g_assert_false (cv_mux_is_closed (a));
  g_assert_true (cv_mux_send_control (a, 0x20, "{\"ok\":true}", NULL));
  cv_mux_close (a);
  cv_mux_close (b);
}

typedef struct {
  Misbehaviour misbehave;
  int expected; /* a CvGoawayReason */
} MisbehaviourCase;

static void
on_raw_incoming (CvMux *mux, CvChannel *channel, gpointer user_data)
{
  cv_channel_accept (channel);
}

/* The bad link closes with the documented reason (and says so in a GOAWAY) while a
 * healthy link in the same process moves all its bytes intact. */
static void
test_misbehaving_peer (gconstpointer data)
{
  const MisbehaviourCase *c = data;
  CvMuxConfig config;
  g_autoptr (CvMux) a = NULL;
  g_autoptr (CvMux) b = NULL;
  g_autoptr (CvChannel) channel = NULL;
  g_autofree char *expected = checksum_of (pool, POOL_SIZE);
  Acceptor *acceptor;
  Endpoint *healthy;
  RawPeer peer;

  cv_test_mux_pair (NULL, NULL, &a, &b);
  acceptor = acceptor_new (b, 0);
  channel = cv_mux_open_channel (a, "127.0.0.1", 80, NULL);
  healthy = endpoint_new (channel, pool, POOL_SIZE);
  endpoint_connect (healthy);

  cv_mux_config_init_defaults (&config);
  config.initial_window = 16384;
  raw_peer_init (&peer, &config);
  g_signal_connect (peer.mux, "incoming-channel", G_CALLBACK (on_raw_incoming), NULL);
  c->misbehave (&peer);

  g_assert_true (cv_test_wait_until (raw_peer_closed, &peer, 5000));
  g_assert_error (peer.error, CV_MUX_ERROR, c->expected);
  g_test_message ("bad link closed: %s", peer.error->message);
  g_assert_cmpint (raw_read_goaway_reason (&peer), ==, c->expected);

  g_assert_true (cv_test_wait_until (endpoint_closed, healthy, 10000));
  g_assert_no_error (healthy->error);
  g_assert_true (cv_test_wait_until (endpoint_closed, acceptor->endpoints->pdata[0], 10000));
  g_assert_false (cv_mux_is_closed (a));
  g_assert_cmpuint (((Endpoint *) acceptor->endpoints->pdata[0])->received, ==, POOL_SIZE);
  g_assert_cmpstr (g_checksum_get_string (((Endpoint *) acceptor->endpoints->pdata[0])->received_sum),
                   ==, expected);

  endpoint_free (healthy);
  acceptor_free (acceptor);
  raw_peer_clear (&peer);
  cv_mux_close (a);
  cv_mux_close (b);
}

/* A peer that completes SETTINGS and then says nothing, not even PONG. */
static void
test_dead_peer (void)
{
  CvMuxConfig config;
  RawPeer peer;
  gint64 start, elapsed_ms;

  cv_mux_config_init_defaults (&config);
  config.keepalive_interval_ms = 100;
  config.dead_peer_timeout_ms = 400;
  raw_peer_init (&peer, &config);
  raw_send_settings (&peer, 65536);
  start = g_get_monotonic_time ();

  g_assert_true (cv_test_wait_until (raw_peer_closed, &peer, 5000));
  elapsed_ms = (g_get_monotonic_time () - start) / 1000;
  g_assert_error (peer.error, CV_MUX_ERROR, CV_GOAWAY_REASON_KEEPALIVE_TIMEOUT);
  g_test_message ("dead peer noticed after %" G_GINT64_FORMAT " ms (timeout 400 ms, tick 25 ms)",
                  elapsed_ms);
  g_assert_cmpint (elapsed_ms, >=, 390);
  /* Detection lags the deadline by at most one keepalive tick (timeout / 4). */
  g_assert_cmpint (elapsed_ms, <, 400 + 100 + 400);
  raw_peer_clear (&peer);
}

/* A live peer that answers PINGs keeps an otherwise idle link up. */
static gboolean
set_flag (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
flag_is_set (gpointer user_data)
{
  return *(gboolean *) user_data;
}

static void
test_idle_link_stays_up (void)
{
  CvMuxConfig config;
  g_autoptr (CvMux) a = NULL;
  g_autoptr (CvMux) b = NULL;
  gboolean done = FALSE;

  cv_mux_config_init_defaults (&config);
  config.keepalive_interval_ms = 50;
  config.dead_peer_timeout_ms = 200;
  cv_test_mux_pair (&config, &config, &a, &b);
  g_timeout_add (1000, set_flag, &done);
  g_assert_true (cv_test_wait_until (flag_is_set, &done, 5000));
  g_assert_false (cv_mux_is_closed (a));
  g_assert_false (cv_mux_is_closed (b));
  g_assert_cmpint (cv_mux_get_rtt_us (a), >, 0);
  cv_mux_close (a);
  cv_mux_close (b);
}

/* ---- refusals, limits, resets, GOAWAY ----------------------------------- */

static void
test_refused (void)
{
  g_autoptr (CvMux) a = NULL;
  g_autoptr (CvMux) b = NULL;
  g_autoptr (CvChannel) channel = NULL;
  Acceptor *acceptor;
  Endpoint *e;

  cv_test_mux_pair (NULL, NULL, &a, &b);
  acceptor = acceptor_new (b, 0);
  acceptor->accept = FALSE;
  channel = cv_mux_open_channel (a, "10.0.0.1", 3389, NULL);
  e = endpoint_new (channel, pool, 1000); /* early data, discarded by the refusal */
  endpoint_connect (e);
  g_assert_true (cv_test_wait_until (endpoint_closed, e, 5000));
  g_assert_false (e->opened);
  g_assert_error (e->error, CV_CHANNEL_ERROR, CV_CHANNEL_REASON_NOT_ALLOWED);
  g_assert_nonnull (strstr (e->error->message, "not on the list"));
  g_assert_nonnull (strstr (e->error->message, "10.0.0.1:3389"));
  g_assert_false (cv_mux_is_closed (a));
  endpoint_free (e);
  acceptor_free (acceptor);
  cv_mux_close (a);
  cv_mux_close (b);
}

static void
test_max_channels (void)
{
  CvMuxConfig config;
  g_autoptr (CvMux) a = NULL;
  g_autoptr (CvMux) b = NULL;
  g_autoptr (GPtrArray) channels = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GError) error = NULL;
  Acceptor *acceptor;
  CvChannel *extra;

  cv_mux_config_init_defaults (&config);
  config.max_channels = 10;
  cv_test_mux_pair (NULL, &config, &a, &b);
  acceptor = acceptor_new (b, 0);
  for (guint i = 0; i < 10; i++)
    {
      CvChannel *channel = cv_mux_open_channel (a, "localhost", 80, &error);
      g_assert_no_error (error);
      g_ptr_array_add (channels, channel);
    }
  while (acceptor->endpoints->len < 10)
    g_main_context_iteration (NULL, TRUE);

  /* The peer announced its limit, so the 11th fails here, at once. */
  extra = cv_mux_open_channel (a, "localhost", 80, &error);
  g_assert_null (extra);
  g_assert_error (error, CV_CHANNEL_ERROR, CV_CHANNEL_REASON_TOO_MANY_CHANNELS);

  acceptor_free (acceptor);
  cv_mux_close (a);
  cv_mux_close (b);
}

static void
test_reset (void)
{
  g_autoptr (CvMux) a = NULL;
  g_autoptr (CvMux) b = NULL;
  g_autoptr (CvChannel) channel = NULL;
  Acceptor *acceptor;
  Endpoint *e;

  cv_test_mux_pair (NULL, NULL, &a, &b);
  acceptor = acceptor_new (b, 0);
  channel = cv_mux_open_channel (a, "localhost", 80, NULL);
  e = endpoint_new (channel, pool, 0);
  e->shutdown_when_sent = FALSE;
  endpoint_connect (e);
  while (acceptor->endpoints->len < 1)
    g_main_context_iteration (NULL, TRUE);
  ((Endpoint *) acceptor->endpoints->pdata[0])->shutdown_when_sent = FALSE;
  cv_channel_reset (channel, CV_CHANNEL_REASON_CONNECTION_RESET);
  g_assert_true (cv_test_wait_until (endpoint_closed, acceptor->endpoints->pdata[0], 5000));
  g_assert_error (((Endpoint *) acceptor->endpoints->pdata[0])->error, CV_CHANNEL_ERROR,
                  CV_CHANNEL_REASON_CONNECTION_RESET);
  g_assert_cmpuint (cv_mux_get_n_channels (a), ==, 0);
  g_assert_cmpuint (cv_mux_get_n_channels (b), ==, 0);
  endpoint_free (e);
  acceptor_free (acceptor);
  cv_mux_close (a);
  cv_mux_close (b);
}

static void
on_closed_flag (CvMux *mux, const GError *error, gboolean *flag)
{
  g_assert_no_error (error);
  *flag = TRUE;
}

/* GOAWAY: a channel in flight finishes, new ones are refused, both ends close cleanly. */
static void
test_goaway (void)
{
  g_autoptr (CvMux) a = NULL;
  g_autoptr (CvMux) b = NULL;
  g_autoptr (CvChannel) channel = NULL;
  g_autoptr (GError) error = NULL;
  gboolean a_closed = FALSE, b_closed = FALSE;
  Acceptor *acceptor;
  Endpoint *e;

  cv_test_mux_pair (NULL, NULL, &a, &b);
  acceptor = acceptor_new (b, 100000);
  g_signal_connect (a, "closed", G_CALLBACK (on_closed_flag), &a_closed);
  g_signal_connect (b, "closed", G_CALLBACK (on_closed_flag), &b_closed);
  channel = cv_mux_open_channel (a, "localhost", 80, NULL);
  e = endpoint_new (channel, pool, POOL_SIZE);
  endpoint_connect (e);
  while (acceptor->endpoints->len < 1)
    g_main_context_iteration (NULL, TRUE);

  cv_mux_goaway (b, CV_GOAWAY_REASON_SHUTTING_DOWN, "maintenance");
  g_assert_null (cv_mux_open_channel (b, "localhost", 80, &error));
  g_assert_error (error, CV_CHANNEL_ERROR, CV_CHANNEL_REASON_GOING_AWAY);

  g_assert_true (cv_test_wait_until (endpoint_closed, e, 10000));
  g_assert_no_error (e->error);
  /* The opener is done once both FINs crossed; its last bytes may still be on their
   * way to the acceptor. */
  g_assert_true (cv_test_wait_until (endpoint_closed, acceptor->endpoints->pdata[0], 10000));
  g_assert_cmpuint (((Endpoint *) acceptor->endpoints->pdata[0])->received, ==, POOL_SIZE);
  g_assert_true (cv_test_wait_until (flag_is_set, &a_closed, 5000));
  g_assert_true (cv_test_wait_until (flag_is_set, &b_closed, 5000));
  endpoint_free (e);
  acceptor_free (acceptor);
}

/* ---- fairness ----------------------------------------------------------- */

typedef struct {
  CvChannel *channel;
  guint8 message[64];
  gsize got;
  gint64 sent_at;
  GArray *rtts;
  guint rounds;
} PingPong;

static void
ping_send (PingPong *p)
{
  p->got = 0;
  p->sent_at = g_get_monotonic_time ();
  g_assert_cmpuint (cv_channel_write (p->channel, p->message, sizeof p->message), ==, 64);
}

static void
on_ping_readable (CvChannel *channel, PingPong *p)
{
  guint8 buffer[64];

  p->got += cv_channel_read (channel, buffer, sizeof buffer - p->got);
  if (p->got < 64)
    return;
  {
    gint64 rtt = g_get_monotonic_time () - p->sent_at;
    g_array_append_val (p->rtts, rtt);
  }
  if (p->rtts->len < p->rounds)
    ping_send (p);
}

static void
on_echo_readable (CvChannel *channel, gpointer user_data)
{
  guint8 buffer[64];
  gsize n = cv_channel_read (channel, buffer, sizeof buffer);

  if (n > 0)
    g_assert_cmpuint (cv_channel_write (channel, buffer, n), ==, n);
}

typedef struct {
  Acceptor *bulk;
} FairServer;

static void
on_fair_incoming (CvMux *mux, CvChannel *channel, FairServer *server)
{
  if (cv_channel_get_port (channel) == 7)
    {
      cv_channel_accept (channel);
      g_signal_connect (channel, "readable", G_CALLBACK (on_echo_readable), NULL);
      g_object_set_data_full (G_OBJECT (mux), "echo", g_object_ref (channel), g_object_unref);
      return;
    }
  on_incoming (mux, channel, server->bulk);
}

static gboolean
pings_done (gpointer user_data)
{
  PingPong *p = user_data;
  return p->rtts->len >= p->rounds;
}

static int
compare_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

/* An interactive channel's round trip while a bulk channel saturates the link.  The
 * bound is loose (a busy CI core must not make it flaky); without fair scheduling a
 * round trip would wait behind the bulk channel's whole backlog.  The precise numbers
 * are in tests/bench/. */
static void
test_fairness (void)
{
  g_autoptr (CvMux) a = NULL;
  g_autoptr (CvMux) b = NULL;
  g_autoptr (CvChannel) bulk_channel = NULL;
  g_autoptr (CvChannel) ping_channel = NULL;
  g_autofree guint8 *big = g_malloc0 (1024 * 1024 * 1024);
  FairServer server = { acceptor_new (NULL, 0) };
  PingPong p = { 0 };
  Endpoint *bulk;
  gint64 p50, p99;

  cv_test_mux_pair (NULL, NULL, &a, &b);
  g_signal_connect (b, "incoming-channel", G_CALLBACK (on_fair_incoming), &server);

  bulk_channel = cv_mux_open_channel (a, "localhost", 9, NULL);
  bulk = endpoint_new (bulk_channel, big, 1024 * 1024 * 1024);
  endpoint_connect (bulk);
  while (server.bulk->endpoints->len < 1 || bulk->sent < 16 * 1024 * 1024)
    g_main_context_iteration (NULL, TRUE);

  ping_channel = cv_mux_open_channel (a, "localhost", 7, NULL);
  p.channel = ping_channel;
  p.rtts = g_array_new (FALSE, FALSE, sizeof (gint64));
  p.rounds = 200;
  g_signal_connect (ping_channel, "readable", G_CALLBACK (on_ping_readable), &p);
  while (cv_channel_get_send_space (ping_channel) == 0)
    g_main_context_iteration (NULL, TRUE);
  ping_send (&p);
  g_assert_true (cv_test_wait_until (pings_done, &p, 30000));

  /* The bulk channel was still moving when the last ping came back. */
  g_assert_false (bulk->closed);
  g_array_sort (p.rtts, compare_gint64);
  p50 = g_array_index (p.rtts, gint64, p.rtts->len / 2);
  p99 = g_array_index (p.rtts, gint64, p.rtts->len * 99 / 100);
  g_test_message ("interactive round trip beside a bulk channel: p50 %" G_GINT64_FORMAT
                  " us, p99 %" G_GINT64_FORMAT " us; bulk moved %" G_GSIZE_FORMAT " MiB",
                  p50, p99, bulk->sent >> 20);
  g_assert_cmpint (p50, <, 50000);

  g_array_unref (p.rtts);
  endpoint_free (bulk);
  acceptor_free (server.bulk);
  cv_mux_close (a);
  cv_mux_close (b);
}

/* A mux on a context of its own (a worker thread's) keeps its timers there, and
 * closing it removes them from there, not from the global default context. */
static void
test_own_context (void)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (CvMux) a = NULL;
  g_autoptr (CvMux) b = NULL;

  g_main_context_push_thread_default (context);
  cv_test_mux_pair (NULL, NULL, &a, &b);
  while (cv_mux_get_rtt_us (a) < 0)
    g_main_context_iteration (context, TRUE);
  cv_mux_close (a);
  cv_mux_close (b);
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
}

static void
tcp_pair (GSocketConnection **a, GSocketConnection **b)
{
  g_autoptr (GError) error = NULL;
  guint16 port;
  g_autoptr (GSocket) listener = cv_test_listen_loopback (&port);
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocket) accepted = NULL;

  g_socket_client_set_enable_proxy (client, FALSE);
  *a = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  g_assert_no_error (error);
  accepted = g_socket_accept (listener, NULL, &error);
  g_assert_no_error (error);
  *b = g_socket_connection_factory_create_connection (accepted);
}

/* Over TCP, a lone small message leaves in the batch of the main-loop turn that
 * queued it: nothing waits for more data (a cork, Nagle, a batch that never fills). */
static void
test_small_messages_not_delayed (void)
{
  g_autoptr (GSocketConnection) conn_a = NULL;
  g_autoptr (GSocketConnection) conn_b = NULL;
  g_autoptr (CvMux) a = NULL;
  g_autoptr (CvMux) b = NULL;
  g_autoptr (CvChannel) channel = NULL;
  PingPong p = { 0 };
  gint64 worst;

  tcp_pair (&conn_a, &conn_b);
  a = cv_mux_new (G_IO_STREAM (conn_a), CV_MUX_ROLE_INITIATOR, NULL);
  b = cv_mux_new (G_IO_STREAM (conn_b), CV_MUX_ROLE_RESPONDER, NULL);
  g_signal_connect (b, "incoming-channel", G_CALLBACK (on_fair_incoming), NULL);
  cv_mux_start (a);
  cv_mux_start (b);

  channel = cv_mux_open_channel (a, "localhost", 7, NULL);
  p.channel = channel;
  p.rtts = g_array_new (FALSE, FALSE, sizeof (gint64));
  p.rounds = 20;
  g_signal_connect (channel, "readable", G_CALLBACK (on_ping_readable), &p);
  while (cv_channel_get_send_space (channel) == 0)
    g_main_context_iteration (NULL, TRUE);
  ping_send (&p);
  g_assert_true (cv_test_wait_until (pings_done, &p, 20000));
  g_array_sort (p.rtts, compare_gint64);
  worst = g_array_index (p.rtts, gint64, p.rtts->len - 1);
  g_test_message ("TCP link: worst of 20 round trips %" G_GINT64_FORMAT " us", worst);
  /* A held batch or a cork costs 40–200 ms a message; a prompt one under a millisecond. */
  g_assert_cmpint (worst, <, 100000);
  g_array_unref (p.rtts);
  cv_mux_close (a);
  cv_mux_close (b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cv_test_fill_random (pool, sizeof pool, 42);

  g_test_add_func ("/mux/one-channel", test_one_channel);
  g_test_add_func ("/mux/small-messages-not-delayed", test_small_messages_not_delayed);
  g_test_add_func ("/mux/thousand-channels", test_thousand_channels);
  g_test_add_func ("/mux/small-window", test_small_window);
  g_test_add_func ("/mux/half-close", test_half_close);
  g_test_add_func ("/mux/stalled-reader-bounded", test_stalled_reader_bounded);
  g_test_add_func ("/mux/dead-peer", test_dead_peer);
  g_test_add_func ("/mux/idle-link-stays-up", test_idle_link_stays_up);
  g_test_add_func ("/mux/refused", test_refused);
  g_test_add_func ("/mux/max-channels", test_max_channels);
  g_test_add_func ("/mux/reset", test_reset);
  g_test_add_func ("/mux/goaway", test_goaway);
  g_test_add_func ("/mux/fairness", test_fairness);
  g_test_add_func ("/mux/second-fin-resets-channel", test_second_fin_resets_channel);
  g_test_add_func ("/mux/refusal-with-bad-message", test_refusal_with_bad_message);
  g_test_add_func ("/mux/control-message-too-large", test_control_message_too_large);
  g_test_add_func ("/mux/own-context", test_own_context);
  {
    static const MisbehaviourCase cases[] = {
      { misbehave_past_window, CV_GOAWAY_REASON_FLOW_CONTROL },
      { misbehave_reused_id, CV_GOAWAY_REASON_CHANNEL_ID },
      { misbehave_wrong_parity, CV_GOAWAY_REASON_CHANNEL_ID },
      { misbehave_garbage, CV_GOAWAY_REASON_PROTOCOL_ERROR },
      { misbehave_garbage_after_settings, CV_GOAWAY_REASON_PROTOCOL_ERROR },
      { misbehave_oversized, CV_GOAWAY_REASON_FRAME_TOO_LARGE },
      { misbehave_data_unopened, CV_GOAWAY_REASON_CHANNEL_ID },
      { misbehave_fin_before_open_ok, CV_GOAWAY_REASON_PROTOCOL_ERROR },
    };
    static const char *const names[] = {
      "past-window", "reused-id", "wrong-parity", "garbage", "unknown-type", "oversized",
      "data-unopened", "fin-before-open-ok",
    };
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autofree char *path = g_strdup_printf ("/mux/misbehaving-peer/%s", names[i]);
        g_test_add_data_func (path, &cases[i], test_misbehaving_peer);
      }
  }
  return g_test_run ();
}
