/* test-mux.c: the multiplexer over a real Unix socket pair (one case over TCP), each case
 * on a fixture of two started muxes (or a mux and a raw socket peer). */
#include "mux/cv-channel-private.h"
#include "mux/cv-mux-private.h"
#include "mux/cv-mux.h"
#include "cv-test-util.h"

#include <string.h>
#include <sys/socket.h>

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
  /* The half-close server's: its reply began, after the request's FIN. */
  gboolean replied;
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

/* @incoming: @mux's "incoming-channel" handler, given the acceptor; NULL for on_incoming */
static Acceptor *
acceptor_new (CvMux *mux, GCallback incoming, gsize max_len)
{
  Acceptor *acceptor = g_new0 (Acceptor, 1);

  acceptor->endpoints = g_ptr_array_new_with_free_func ((GDestroyNotify) endpoint_free);
  acceptor->max_len = max_len;
  acceptor->accept = TRUE;
  g_signal_connect (mux, "incoming-channel", incoming != NULL ? incoming : G_CALLBACK (on_incoming),
                    acceptor);
  return acceptor;
}

static void
acceptor_free (Acceptor *acceptor)
{
  g_ptr_array_unref (acceptor->endpoints);
  g_free (acceptor);
}

/* Iterates until @acceptor has @n endpoints; returns the @n-th. */
static Endpoint *
acceptor_wait (Acceptor *acceptor, guint n)
{
  while (acceptor->endpoints->len < n)
    g_main_context_iteration (NULL, TRUE);
  return acceptor->endpoints->pdata[n - 1];
}

static gboolean
endpoint_closed (gpointer user_data)
{
  return ((Endpoint *) user_data)->closed;
}

/* ---- the fixture: muxes a and b, an acceptor on b ----------------------- */

/* A case's departures from the defaults (0 keeps a default), passed as g_test_add()'s
 * data, NULL for none.  The config's fields are both muxes', or the raw peer's mux's. */
typedef struct {
  guint32 initial_window;
  guint32 max_window;
  guint keepalive_interval_ms;
  guint dead_peer_timeout_ms;
  guint32 b_max_channels; /* b's alone: how many channels a may have open with it */
  gsize max_len;          /* the longest slice the acceptor's endpoints send back */
  guint n_channels;       /* test_transfer()'s channels from a */
  gboolean tcp;           /* loopback TCP, which can cork and Nagle, not a Unix socket pair */
  gboolean own_context;   /* the muxes on a new context, pushed as the thread-default one */
  GCallback incoming;     /* b's "incoming-channel" handler (NULL: on_incoming) */
  gsize max_output_bytes;
  guint close_timeout_ms;
  gboolean small_buffer; /* the raw peer's mux gets a tiny socket send buffer */
} MuxParams;

static const MuxParams default_params = { 0 };

static void
config_from_params (CvMuxConfig *config, const MuxParams *params)
{
  cv_mux_config_init_defaults (config);
  if (params->initial_window != 0)
    config->initial_window = params->initial_window;
  if (params->max_window != 0)
    config->max_window = params->max_window;
  if (params->keepalive_interval_ms != 0)
    config->keepalive_interval_ms = params->keepalive_interval_ms;
  if (params->dead_peer_timeout_ms != 0)
    config->dead_peer_timeout_ms = params->dead_peer_timeout_ms;
  if (params->max_output_bytes != 0)
    config->max_output_bytes = params->max_output_bytes;
  config->close_timeout_ms = params->close_timeout_ms;
}

/* Whatever a handler on a, b or their channels points to lives here, not on a case's
 * stack: the teardown's close still emits signals after the case has returned. */
typedef struct {
  GMainContext *context; /* the muxes'; NULL for the global default */
  CvMux *a;              /* the initiator */
  CvMux *b;              /* the responder */
  Acceptor *acceptor;    /* b's ends of the channels */
  GPtrArray *opened;     /* of Endpoint: a's ends */
  guint8 *big;           /* a case's large send buffer, freed after the endpoints */
  gboolean a_closed;     /* for on_closed_flag() */
  gboolean b_closed;
} MuxFixture;

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

static void
mux_fixture_set_up (MuxFixture *fixture, gconstpointer data)
{
  const MuxParams *params = data != NULL ? data : &default_params;
  g_autoptr (GSocketConnection) conn_a = NULL;
  g_autoptr (GSocketConnection) conn_b = NULL;
  CvMuxConfig config_a, config_b;

  config_from_params (&config_a, params);
  config_b = config_a;
  if (params->b_max_channels != 0)
    config_b.max_channels = params->b_max_channels;
  /* A mux takes the thread-default context when it is made. */
  if (params->own_context)
    {
      fixture->context = g_main_context_new ();
      g_main_context_push_thread_default (fixture->context);
    }
  if (params->tcp)
    tcp_pair (&conn_a, &conn_b);
  else
    cv_test_socket_pair (&conn_a, &conn_b);
  fixture->a = cv_mux_new (G_IO_STREAM (conn_a), CV_MUX_ROLE_INITIATOR, &config_a);
  fixture->b = cv_mux_new (G_IO_STREAM (conn_b), CV_MUX_ROLE_RESPONDER, &config_b);
  fixture->acceptor = acceptor_new (fixture->b, params->incoming, params->max_len);
  fixture->opened = g_ptr_array_new_with_free_func ((GDestroyNotify) endpoint_free);
  cv_mux_start (fixture->a);
  cv_mux_start (fixture->b);
}

/* Runs what is ready on @context (NULL: the global default) until nothing is. */
static void
drain (GMainContext *context)
{
  while (g_main_context_iteration (context, FALSE))
    ;
}

static void
mux_fixture_tear_down (MuxFixture *fixture, gconstpointer data)
{
  cv_mux_close (fixture->a);
  cv_mux_close (fixture->b);
  g_ptr_array_unref (fixture->opened);
  acceptor_free (fixture->acceptor);
  g_free (fixture->big);
  /* The streams' closes complete on the muxes' context; then nothing may hold a mux. */
  drain (fixture->context);
  g_assert_finalize_object (fixture->a);
  g_assert_finalize_object (fixture->b);
  if (fixture->context != NULL)
    {
      g_main_context_pop_thread_default (fixture->context);
      g_main_context_unref (fixture->context);
    }
}

static void
mux_test_add (const char *path, const MuxParams *params, void (*func) (MuxFixture *, gconstpointer))
{
  g_test_add (path, MuxFixture, params, mux_fixture_set_up, func, mux_fixture_tear_down);
}

/* A channel from a whose endpoint sends @len bytes of @data, or with @data NULL its
 * slice of the pool of at most @len, then its FIN; the fixture frees it. */
static Endpoint *
mux_fixture_open (MuxFixture *fixture,
                  const char *host,
                  guint16 port,
                  const guint8 *data,
                  gsize len)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CvChannel) channel = cv_mux_open_channel (fixture->a, host, port, &error);
  Endpoint *e;

  g_assert_no_error (error);
  if (data == NULL)
    slice_for (cv_channel_get_id (channel), TRUE, len, &data, &len);
  e = endpoint_new (channel, data, len);
  g_ptr_array_add (fixture->opened, e);
  endpoint_connect (e);
  return e;
}

/* ---- transfers ---------------------------------------------------------- */

static gboolean
all_closed (gpointer user_data)
{
  MuxFixture *fixture = user_data;
  GPtrArray *accepted = fixture->acceptor->endpoints;

  if (accepted->len < fixture->opened->len)
    return FALSE;
  for (guint i = 0; i < fixture->opened->len; i++)
    if (!((Endpoint *) fixture->opened->pdata[i])->closed)
      return FALSE;
  for (guint i = 0; i < accepted->len; i++)
    if (!((Endpoint *) accepted->pdata[i])->closed)
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

static const MuxParams one_channel = { .n_channels = 1, .max_len = POOL_SIZE - 1 };

/* 1,000 channels at once, random lengths both ways, every byte checksummed. */
static const MuxParams thousand_channels = { .n_channels = 1000, .max_len = 64 * 1024 };

/* Small windows force many WINDOW_UPDATEs and stalls along the way. */
static const MuxParams small_window = { .initial_window = 1024,
                                        .max_window = 1024,
                                        .n_channels = 50,
                                        .max_len = 64 * 1024 };

static void
test_transfer (MuxFixture *fixture, gconstpointer data)
{
  const MuxParams *params = data;

  for (guint i = 0; i < params->n_channels; i++)
    mux_fixture_open (fixture, "127.0.0.1", 5900, NULL, params->max_len);
  g_assert_true (cv_test_wait_until (all_closed, fixture, 60000));

  for (guint i = 0; i < fixture->opened->len; i++)
    {
      Endpoint *ea = fixture->opened->pdata[i];
      guint32 id = cv_channel_get_id (ea->channel);
      Endpoint *eb = find_endpoint (fixture->acceptor->endpoints, id);
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
  g_assert_cmpuint (cv_mux_get_n_channels (fixture->a), ==, 0);
  g_assert_cmpuint (cv_mux_get_n_channels (fixture->b), ==, 0);
  g_assert_false (cv_mux_is_closed (fixture->a));
  g_assert_false (cv_mux_is_closed (fixture->b));
}

/* ---- half-close -------------------------------------------------------- */

static void
on_server_readable (CvChannel *channel, Endpoint *server)
{
  /* Reply only once the request is complete: after the client's FIN. */
  if (server->eof && !server->replied)
    {
      server->replied = TRUE;
      server->send_len = 100000;
      endpoint_pump (server);
    }
}

/* The server is one of the acceptor's endpoints, so that freeing it disconnects this
 * handler too. */
static void
on_half_close_incoming (CvMux *mux, CvChannel *channel, Acceptor *acceptor)
{
  Endpoint *server = endpoint_new (channel, pool, 0);

  g_ptr_array_add (acceptor->endpoints, server);
  server->shutdown_when_sent = FALSE;
  cv_channel_accept (channel);
  endpoint_connect (server);
  server->shutdown_when_sent = TRUE;
  g_signal_connect_after (channel, "readable", G_CALLBACK (on_server_readable), server);
}

static const MuxParams half_close = { .incoming = G_CALLBACK (on_half_close_incoming) };

static void
test_half_close (MuxFixture *fixture, gconstpointer data)
{
  g_autofree char *expected = checksum_of (pool, 100000);
  Endpoint *client = mux_fixture_open (fixture, "localhost", 22, pool + 1000, 5000);
  Endpoint *server;

  g_assert_true (cv_test_wait_until (endpoint_closed, client, 10000));
  g_assert_no_error (client->error);
  g_assert_cmpuint (fixture->acceptor->endpoints->len, ==, 1);
  server = fixture->acceptor->endpoints->pdata[0];
  g_assert_true (server->replied);
  g_assert_cmpuint (server->received, ==, 5000);
  g_assert_cmpuint (client->received, ==, 100000);
  g_assert_cmpstr (g_checksum_get_string (client->received_sum), ==, expected);
  g_assert_true (server->closed);
  g_assert_no_error (server->error);
}

/* ---- a reader that stops reading ---------------------------------------- */

static gboolean
iterate_until_quiet (gpointer user_data)
{
  MuxFixture *fixture = user_data;
  static guint64 last_a, last_b;
  static guint quiet_rounds;
  guint64 wa = cv_mux_get_bytes_written (fixture->a);
  guint64 rb = cv_mux_get_bytes_read (fixture->b);

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

static const MuxParams stalled_reader = { .initial_window = 64 * 1024, .max_window = 64 * 1024 };

static void
test_stalled_reader_bounded (MuxFixture *fixture, gconstpointer data)
{
  CvChannel *channel;
  Endpoint *sender, *reader;
  guint tick;

  fixture->big = g_malloc (8 * 1024 * 1024);
  sender = mux_fixture_open (fixture, "127.0.0.1", 80, fixture->big, 8 * 1024 * 1024);
  channel = sender->channel;

  /* The receiving side accepts but its application never reads. */
  reader = acceptor_wait (fixture->acceptor, 1);
  reader->read_enabled = FALSE;

  tick = g_timeout_add (1, quiet_timeout, NULL);
  g_assert_true (cv_test_wait_until (iterate_until_quiet, fixture, 10000));
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
    g_test_message ("stalled reader: sender holds %" G_GSIZE_FORMAT
                    " bytes, receiver %" G_GSIZE_FORMAT " bytes (+%" G_GSIZE_FORMAT
                    " uncredited), window 65536",
                    cv_channel_get_send_buffered (channel), held, uncredited);
  }
  g_assert_cmpuint (cv_channel_write (channel, fixture->big, 1), ==, 0);

  /* Reading again releases the rest, and every byte arrives. */
  reader->read_enabled = TRUE;
  endpoint_drain (reader);
  g_assert_true (cv_test_wait_until (endpoint_closed, sender, 20000));
  g_assert_true (cv_test_wait_until (endpoint_closed, reader, 20000));
  g_assert_true (reader->eof);
  g_assert_cmpuint (reader->received, ==, 8 * 1024 * 1024);
}

/* ---- the window's growth and shrinking ---------------------------------- */

static const MuxParams growing_window = { .initial_window = 64 * 1024, .max_window = 1024 * 1024 };

typedef struct {
  MuxFixture *fixture;
  guint32 peak;        /* the receiver's largest window */
  guint32 last;        /* its window at the last read before the FIN */
  guint64 peak_growth; /* the carrier's window budget in use, at most */
  guint64 last_growth;
  gboolean slowed; /* the round trip was made short: the window no longer limits */
} WindowWatch;

static gboolean
rtt_known (gpointer user_data)
{
  return cv_mux_get_rtt_us (user_data) > 0;
}

static void
on_watched_readable (CvChannel *channel, WindowWatch *watch)
{
  CvMux *b = watch->fixture->b;
  Endpoint *reader = watch->fixture->acceptor->endpoints->pdata[0];

  if (channel->remote_fin)
    return;
  watch->peak = MAX (watch->peak, channel->recv_window);
  watch->last = channel->recv_window;
  watch->peak_growth = MAX (watch->peak_growth, b->carrier_window_bytes);
  watch->last_growth = b->carrier_window_bytes;
  /* Halfway, every window goes by in far more than 16 "round trips" of 1 µs. */
  if (!watch->slowed && reader->received >= 4 * 1024 * 1024)
    {
      g_assert_cmpuint (watch->peak, ==, 1024 * 1024);
      cv_mux_set_round_trip (b, 1);
      watch->slowed = TRUE;
    }
}

/* A window that limits the channel (each one gone by in less than four round trips: the
 * round trip is set to a minute) doubles up to max_window; once it does not (a round
 * trip of 1 µs) it halves back to the initial window by withholding credit, and the
 * carrier's budget comes back with it.  Every byte arrives, checksummed. */
static void
test_window_grows_and_shrinks (MuxFixture *fixture, gconstpointer data)
{
  static WindowWatch watch;
  Endpoint *sender, *reader;
  g_autofree char *expected = NULL;

  watch = (WindowWatch){ .fixture = fixture };
  g_assert_true (cv_test_wait_until (rtt_known, fixture->b, 10000));
  cv_mux_set_round_trip (fixture->b, 60 * G_USEC_PER_SEC);

  fixture->big = g_malloc (8 * 1024 * 1024);
  for (gsize i = 0; i < 8 * 1024 * 1024; i++)
    fixture->big[i] = pool[(i * 7) % POOL_SIZE] ^ (guint8) (i >> 16);
  expected = checksum_of (fixture->big, 8 * 1024 * 1024);
  sender = mux_fixture_open (fixture, "127.0.0.1", 80, fixture->big, 8 * 1024 * 1024);
  reader = acceptor_wait (fixture->acceptor, 1);
  g_signal_connect_after (reader->channel, "readable", G_CALLBACK (on_watched_readable), &watch);

  g_assert_true (cv_test_wait_until (endpoint_closed, sender, 20000));
  g_assert_true (cv_test_wait_until (endpoint_closed, reader, 20000));
  g_assert_no_error (reader->error);
  g_assert_cmpuint (reader->received, ==, 8 * 1024 * 1024);
  g_assert_cmpstr (g_checksum_get_string (reader->received_sum), ==, expected);

  g_test_message ("window: peak %u, last %u; carrier growth: peak %" G_GUINT64_FORMAT
                  ", last %" G_GUINT64_FORMAT,
                  watch.peak, watch.last, watch.peak_growth, watch.last_growth);
  g_assert_true (watch.slowed);
  g_assert_cmpuint (watch.peak_growth, ==, 1024 * 1024 - 64 * 1024);
  g_assert_cmpuint (watch.last, ==, 64 * 1024);
  g_assert_cmpuint (watch.last_growth, ==, 0);
  /* The channel is gone: nothing of the budget is left in use. */
  g_assert_cmpuint (fixture->b->carrier_window_bytes, ==, 0);
}

/* ---- misbehaving peers -------------------------------------------------- */

/* The fixture of a mux whose peer is a raw socket, written to frame by frame. */
typedef struct {
  CvMux *mux;
  GSocket *raw;
  Acceptor *acceptor; /* the mux's ends of the channels the raw peer opens */
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
raw_peer_set_up (RawPeer *peer, gconstpointer data)
{
  const MuxParams *params = data != NULL ? data : &default_params;
  g_autoptr (GSocketConnection) conn_a = NULL;
  g_autoptr (GSocketConnection) conn_b = NULL;
  CvMuxConfig config;

  config_from_params (&config, params);
  cv_test_socket_pair (&conn_a, &conn_b);
  /* So that the mux's writes stall after a few KiB the raw peer does not read. */
  if (params->small_buffer)
    g_assert_true (g_socket_set_option (g_socket_connection_get_socket (conn_a), SOL_SOCKET,
                                        SO_SNDBUF, 4096, NULL));
  peer->mux = cv_mux_new (G_IO_STREAM (conn_a), CV_MUX_ROLE_RESPONDER, &config);
  peer->raw = g_object_ref (g_socket_connection_get_socket (conn_b));
  peer->acceptor = acceptor_new (peer->mux, params->incoming, params->max_len);
  g_signal_connect (peer->mux, "closed", G_CALLBACK (on_mux_closed), peer);
  cv_mux_start (peer->mux);
}

static void
raw_peer_tear_down (RawPeer *peer, gconstpointer data)
{
  cv_mux_close (peer->mux);
  acceptor_free (peer->acceptor);
  drain (NULL);
  g_clear_error (&peer->error);
  g_clear_object (&peer->raw);
  g_assert_finalize_object (peer->mux);
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
                           &consumed, NULL)
          != CV_FRAME_DECODE_OK)
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
  /* The mux's window is 16 KiB (see misbehaving_set_up()): the second frame overruns it. */
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
test_second_fin_resets_channel (RawPeer *peer, gconstpointer data)
{
  CvFrame fin = { .type = CV_FRAME_FIN, .channel_id = 1 };
  Endpoint *e;

  raw_send_settings (peer, 65536);
  raw_send_open (peer, 1);
  raw_send (peer, &fin);
  raw_send (peer, &fin);
  e = acceptor_wait (peer->acceptor, 1);
  g_assert_true (cv_test_wait_until (endpoint_closed, e, 5000));
  g_assert_error (e->error, CV_CHANNEL_ERROR, CV_CHANNEL_REASON_STREAM_CLOSED);
  g_assert_false (peer->closed);
}

static void
on_refuse_badly (CvMux *mux, CvChannel *channel, gpointer user_data)
{
  /* An OS error string in a legacy encoding: not UTF-8. */
  cv_channel_refuse (channel, CV_CHANNEL_REASON_UNREACHABLE, "r\xe9seau inaccessible");
}

static const MuxParams refuse_badly = { .incoming = G_CALLBACK (on_refuse_badly) };

/* A refusal whose message is not UTF-8 still reaches the opener with its reason. */
static void
test_refusal_with_bad_message (MuxFixture *fixture, gconstpointer data)
{
  Endpoint *e = mux_fixture_open (fixture, "localhost", 80, pool, 0);

  g_assert_true (cv_test_wait_until (endpoint_closed, e, 5000));
  g_assert_error (e->error, CV_CHANNEL_ERROR, CV_CHANNEL_REASON_UNREACHABLE);
}

static void
test_control_message_too_large (MuxFixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GString) json = g_string_new ("{\"x\":\"");
  gboolean ok;

  while (cv_mux_get_rtt_us (fixture->a) < 0)
    g_main_context_iteration (NULL, TRUE);
  for (guint i = 0; i < 20000; i++)
    g_string_append_c (json, 'a');
  g_string_append (json, "\"}");
  ok = cv_mux_send_control (fixture->a, 0x20, json->str, &error);
  g_assert_false (ok);
  g_assert_error (error, CV_MUX_ERROR, CV_GOAWAY_REASON_FRAME_TOO_LARGE);
  g_assert_false (cv_mux_is_closed (fixture->a));
  g_assert_true (cv_mux_send_control (fixture->a, 0x20, "{\"ok\":true}", NULL));
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

/* A healthy link, and a bad one beside it in the same process. */
typedef struct {
  MuxFixture healthy;
  RawPeer peer;
} MisbehavingFixture;

static void
misbehaving_set_up (MisbehavingFixture *fixture, gconstpointer data)
{
  /* The bad link's window is 16 KiB: misbehave_past_window() overruns it. */
  static const MuxParams bad_link = { .initial_window = 16384,
                                      .incoming = G_CALLBACK (on_raw_incoming) };

  mux_fixture_set_up (&fixture->healthy, NULL);
  raw_peer_set_up (&fixture->peer, &bad_link);
}

static void
misbehaving_tear_down (MisbehavingFixture *fixture, gconstpointer data)
{
  raw_peer_tear_down (&fixture->peer, NULL);
  mux_fixture_tear_down (&fixture->healthy, NULL);
}

/* The bad link closes with the documented reason (and says so in a GOAWAY) while a
 * healthy link in the same process moves all its bytes intact. */
static void
test_misbehaving_peer (MisbehavingFixture *fixture, gconstpointer data)
{
  const MisbehaviourCase *c = data;
  RawPeer *peer = &fixture->peer;
  Acceptor *acceptor = fixture->healthy.acceptor;
  g_autofree char *expected = checksum_of (pool, POOL_SIZE);
  Endpoint *healthy = mux_fixture_open (&fixture->healthy, "127.0.0.1", 80, pool, POOL_SIZE);
  Endpoint *accepted;

  c->misbehave (peer);

  g_assert_true (cv_test_wait_until (raw_peer_closed, peer, 5000));
  g_assert_error (peer->error, CV_MUX_ERROR, c->expected);
  g_test_message ("bad link closed: %s", peer->error->message);
  g_assert_cmpint (raw_read_goaway_reason (peer), ==, c->expected);

  g_assert_true (cv_test_wait_until (endpoint_closed, healthy, 10000));
  g_assert_no_error (healthy->error);
  g_assert_cmpuint (acceptor->endpoints->len, ==, 1);
  accepted = acceptor->endpoints->pdata[0];
  g_assert_true (cv_test_wait_until (endpoint_closed, accepted, 10000));
  g_assert_false (cv_mux_is_closed (fixture->healthy.a));
  g_assert_cmpuint (accepted->received, ==, POOL_SIZE);
  g_assert_cmpstr (g_checksum_get_string (accepted->received_sum), ==, expected);
}

static const MuxParams dead_peer = { .keepalive_interval_ms = 100, .dead_peer_timeout_ms = 400 };

/* A peer that completes SETTINGS and then says nothing, not even PONG. */
static void
test_dead_peer (RawPeer *peer, gconstpointer data)
{
  gint64 start, elapsed_ms;

  raw_send_settings (peer, 65536);
  start = g_get_monotonic_time ();

  g_assert_true (cv_test_wait_until (raw_peer_closed, peer, 5000));
  elapsed_ms = (g_get_monotonic_time () - start) / 1000;
  g_assert_error (peer->error, CV_MUX_ERROR, CV_GOAWAY_REASON_KEEPALIVE_TIMEOUT);
  g_test_message ("dead peer noticed after %" G_GINT64_FORMAT " ms (timeout 400 ms, tick 25 ms)",
                  elapsed_ms);
  g_assert_cmpint (elapsed_ms, >=, 390);
  /* Detection lags the deadline by at most one keepalive tick (timeout / 4). */
  g_assert_cmpint (elapsed_ms, <, 400 + 100 + 400);
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

static const MuxParams idle_link = { .keepalive_interval_ms = 50, .dead_peer_timeout_ms = 200 };

static void
test_idle_link_stays_up (MuxFixture *fixture, gconstpointer data)
{
  gboolean done = FALSE;

  g_timeout_add (1000, set_flag, &done);
  g_assert_true (cv_test_wait_until (flag_is_set, &done, 5000));
  g_assert_false (cv_mux_is_closed (fixture->a));
  g_assert_false (cv_mux_is_closed (fixture->b));
  g_assert_cmpint (cv_mux_get_rtt_us (fixture->a), >, 0);
}

/* ---- a peer that does not read: the output bound and the close deadline -- */

/* Sends @bytes without blocking: the mux reads them on this main loop.  Stops early
 * once the mux has closed. */
static void
raw_send_all (RawPeer *peer, GByteArray *bytes)
{
  gsize sent = 0;

  while (sent < bytes->len && !peer->closed)
    {
      g_autoptr (GError) error = NULL;
      gssize n = g_socket_send_with_blocking (peer->raw, (const char *) bytes->data + sent,
                                              bytes->len - sent, FALSE, NULL, &error);

      if (n > 0)
        sent += n;
      else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        g_main_context_iteration (NULL, TRUE);
      else
        break; /* the mux closed its end */
    }
  drain (NULL);
}

/* @n PINGs, and with @messages as many control messages, in one write. */
static void
raw_send_pings (RawPeer *peer, guint n, gboolean messages)
{
  g_autoptr (GByteArray) bytes = g_byte_array_new ();

  for (guint i = 0; i < n; i++)
    {
      CvFrame ping = { .type = CV_FRAME_PING };
      CvFrame message = { .type = 0x20 };

      ping.u.ping_opaque = i;
      g_assert_true (cv_frame_encode (&ping, bytes, NULL));
      message.u.data.bytes = (const guint8 *) "{}";
      message.u.data.len = 2;
      if (messages)
        g_assert_true (cv_frame_encode (&message, bytes, NULL));
    }
  raw_send_all (peer, bytes);
}

/* SETTINGS, then PINGs whose PONGs the raw peer never reads, until the mux's writes
 * stall: it holds output it cannot write. */
static void
raw_peer_stall (RawPeer *peer)
{
  raw_send_settings (peer, 65536);
  for (guint round = 0; round < 10000 && !peer->closed; round++)
    {
      if (cv_mux_get_output_held (peer->mux) > 0)
        break;
      raw_send_pings (peer, 64, FALSE);
    }
  g_assert_false (peer->closed);
  g_assert_cmpuint (cv_mux_get_output_held (peer->mux), >, 0);
}

static const MuxParams output_bound = { .max_output_bytes = 4096, .small_buffer = TRUE };

/* A PING flood from a peer that reads nothing: closed with control-flood once the
 * PONGs it is owed pass the bound. */
static void
test_output_bound_ping_flood (RawPeer *peer, gconstpointer data)
{
  guint round;

  raw_send_settings (peer, 65536);
  for (round = 0; round < 10000 && !peer->closed; round++)
    raw_send_pings (peer, 64, FALSE);
  g_assert_true (peer->closed);
  g_assert_error (peer->error, CV_MUX_ERROR, CV_GOAWAY_REASON_CONTROL_FLOOD);
  g_test_message ("closed after %u PINGs: %s", round * 64, peer->error->message);
  /* The socket takes ~8 KiB, the bound 4 KiB: 17-byte PONGs for 12 KiB, far from the
   * 60,000 that a 1 MiB bound would take. */
  g_assert_cmpuint (round * 64, <, 20000);
}

static const MuxParams output_bound_sends = { .max_output_bytes = 65536, .small_buffer = TRUE };

/* The layer above sends control messages (answers to requests, say) to a peer that
 * reads none: past the bound a send fails, nothing more is queued, and the carrier
 * ends with control-flood at the next dispatch. */
static void
test_output_bound_local_sends (RawPeer *peer, gconstpointer data)
{
  static const char message[] = "{\"ticket\":\"0123456789abcdef0123456789abcdef\","
                                "\"fingerprint\":\"sha256:0123456789abcdef\"}";
  g_autoptr (GError) error = NULL;
  guint sent = 0;

  raw_peer_stall (peer);
  /* 10,000 of them would be 800 KiB. */
  while (sent < 10000 && cv_mux_send_control (peer->mux, 0x20, message, &error))
    sent++;
  g_assert_error (error, CV_MUX_ERROR, CV_GOAWAY_REASON_CONTROL_FLOOD);
  g_assert_cmpuint (cv_mux_get_output_held (peer->mux), <=, 65536);
  g_assert_cmpuint (sent, <, 65536 / (sizeof message - 1));
  g_assert_false (cv_mux_send_control (peer->mux, 0x20, message, NULL));
  g_assert_true (cv_test_wait_until (raw_peer_closed, peer, 5000));
  g_assert_error (peer->error, CV_MUX_ERROR, CV_GOAWAY_REASON_CONTROL_FLOOD);
}

static guint n_control_messages;

static void
count_control_message (CvMux *mux, guint type, GBytes *json, gpointer user_data)
{
  n_control_messages++;
}

static const MuxParams after_goaway = { .small_buffer = TRUE };

/* After its GOAWAY, with no channel left, the mux only waits to close: PINGs get no
 * PONG, control messages are dropped, so what it holds does not grow. */
static void
test_after_goaway_nothing_answered (RawPeer *peer, gconstpointer data)
{
  gsize held;

  n_control_messages = 0;
  g_signal_connect (peer->mux, "control-message", G_CALLBACK (count_control_message), NULL);
  raw_peer_stall (peer);
  cv_mux_goaway (peer->mux, CV_GOAWAY_REASON_NORMAL, "refused");
  drain (NULL);
  held = cv_mux_get_output_held (peer->mux);
  raw_send_pings (peer, 500, TRUE);
  g_assert_false (peer->closed);
  g_assert_cmpuint (cv_mux_get_output_held (peer->mux), ==, held);
  g_assert_cmpuint (n_control_messages, ==, 0);
}

static const MuxParams close_deadline = { .close_timeout_ms = 300, .small_buffer = TRUE };

typedef struct {
  RawPeer *peer;
  GSource *source;
} Trickle;

/* Every 50 ms, a PING and a PONG: a peer that looks alive. */
static gboolean
on_trickle (gpointer user_data)
{
  Trickle *trickle = user_data;
  g_autoptr (GByteArray) bytes = g_byte_array_new ();
  CvFrame ping = { .type = CV_FRAME_PING };
  CvFrame pong = { .type = CV_FRAME_PONG };

  g_assert_true (cv_frame_encode (&ping, bytes, NULL));
  g_assert_true (cv_frame_encode (&pong, bytes, NULL));
  g_socket_send_with_blocking (trickle->peer->raw, (const char *) bytes->data, bytes->len, FALSE,
                               NULL, NULL);
  return G_SOURCE_CONTINUE;
}

static void
trickle_start (Trickle *trickle, RawPeer *peer)
{
  trickle->peer = peer;
  trickle->source = g_timeout_source_new (50);
  g_source_set_callback (trickle->source, on_trickle, trickle, NULL);
  g_source_attach (trickle->source, NULL);
}

static void
trickle_stop (Trickle *trickle)
{
  g_source_destroy (trickle->source);
  g_source_unref (trickle->source);
}

/* A GOAWAY to a peer that never reads what is left and keeps the carrier alive with
 * PINGs and PONGs: closed at close_timeout_ms, without a parting GOAWAY. */
static void
test_close_deadline_unread (RawPeer *peer, gconstpointer data)
{
  Trickle trickle;

  raw_peer_stall (peer);
  cv_mux_goaway (peer->mux, CV_GOAWAY_REASON_NORMAL, "refused");
  trickle_start (&trickle, peer);
  g_assert_true (cv_test_wait_until (raw_peer_closed, peer, 5000));
  trickle_stop (&trickle);
  g_assert_error (peer->error, CV_MUX_ERROR, CV_GOAWAY_REASON_CLOSE_TIMEOUT);
  g_test_message ("closed: %s", peer->error->message);
}

/* A GOAWAY while the peer keeps a channel open (reading everything, alive): at the
 * deadline the carrier closes and the channel fails. */
static void
test_close_deadline_open_channel (RawPeer *peer, gconstpointer data)
{
  Trickle trickle;
  Endpoint *e;

  raw_send_settings (peer, 65536);
  raw_send_open (peer, 1);
  e = acceptor_wait (peer->acceptor, 1);
  e->shutdown_when_sent = FALSE;
  cv_mux_goaway (peer->mux, CV_GOAWAY_REASON_NORMAL, "going");
  trickle_start (&trickle, peer);
  g_assert_true (cv_test_wait_until (raw_peer_closed, peer, 5000));
  trickle_stop (&trickle);
  g_assert_error (peer->error, CV_MUX_ERROR, CV_GOAWAY_REASON_CLOSE_TIMEOUT);
  g_assert_true (e->closed);
  g_assert_error (e->error, CV_CHANNEL_ERROR, CV_CHANNEL_REASON_CARRIER_CLOSED);
}

/* ---- refusals, limits, resets, GOAWAY ----------------------------------- */

static void
test_refused (MuxFixture *fixture, gconstpointer data)
{
  Endpoint *e;

  fixture->acceptor->accept = FALSE;
  /* With early data, which the refusal discards. */
  e = mux_fixture_open (fixture, "10.0.0.1", 3389, pool, 1000);
  g_assert_true (cv_test_wait_until (endpoint_closed, e, 5000));
  g_assert_false (e->opened);
  g_assert_error (e->error, CV_CHANNEL_ERROR, CV_CHANNEL_REASON_NOT_ALLOWED);
  g_assert_nonnull (strstr (e->error->message, "not on the list"));
  g_assert_nonnull (strstr (e->error->message, "10.0.0.1:3389"));
  g_assert_false (cv_mux_is_closed (fixture->a));
}

static const MuxParams max_channels = { .b_max_channels = 10 };

static void
test_max_channels (MuxFixture *fixture, gconstpointer data)
{
  g_autoptr (GPtrArray) channels = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GError) error = NULL;
  CvChannel *extra;

  for (guint i = 0; i < 10; i++)
    {
      CvChannel *channel = cv_mux_open_channel (fixture->a, "localhost", 80, &error);
      g_assert_no_error (error);
      g_ptr_array_add (channels, channel);
    }
  acceptor_wait (fixture->acceptor, 10);

  /* The peer announced its limit, so the 11th fails here, at once. */
  extra = cv_mux_open_channel (fixture->a, "localhost", 80, &error);
  g_assert_null (extra);
  g_assert_error (error, CV_CHANNEL_ERROR, CV_CHANNEL_REASON_TOO_MANY_CHANNELS);
}

static void
test_reset (MuxFixture *fixture, gconstpointer data)
{
  g_autoptr (CvChannel) channel = cv_mux_open_channel (fixture->a, "localhost", 80, NULL);
  Endpoint *e = endpoint_new (channel, pool, 0);
  Endpoint *accepted;

  /* No FIN from a: the reset is what ends the channel. */
  e->shutdown_when_sent = FALSE;
  g_ptr_array_add (fixture->opened, e);
  endpoint_connect (e);
  accepted = acceptor_wait (fixture->acceptor, 1);
  accepted->shutdown_when_sent = FALSE;
  cv_channel_reset (channel, CV_CHANNEL_REASON_CONNECTION_RESET);
  g_assert_true (cv_test_wait_until (endpoint_closed, accepted, 5000));
  g_assert_error (accepted->error, CV_CHANNEL_ERROR, CV_CHANNEL_REASON_CONNECTION_RESET);
  g_assert_cmpuint (cv_mux_get_n_channels (fixture->a), ==, 0);
  g_assert_cmpuint (cv_mux_get_n_channels (fixture->b), ==, 0);
}

static void
on_closed_flag (CvMux *mux, const GError *error, gboolean *flag)
{
  g_assert_no_error (error);
  *flag = TRUE;
}

static const MuxParams goaway = { .max_len = 100000 };

/* GOAWAY: a channel in flight finishes, new ones are refused, both ends close cleanly. */
static void
test_goaway (MuxFixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  Endpoint *e, *accepted;

  g_signal_connect (fixture->a, "closed", G_CALLBACK (on_closed_flag), &fixture->a_closed);
  g_signal_connect (fixture->b, "closed", G_CALLBACK (on_closed_flag), &fixture->b_closed);
  e = mux_fixture_open (fixture, "localhost", 80, pool, POOL_SIZE);
  accepted = acceptor_wait (fixture->acceptor, 1);

  cv_mux_goaway (fixture->b, CV_GOAWAY_REASON_SHUTTING_DOWN, "maintenance");
  g_assert_null (cv_mux_open_channel (fixture->b, "localhost", 80, &error));
  g_assert_error (error, CV_CHANNEL_ERROR, CV_CHANNEL_REASON_GOING_AWAY);

  g_assert_true (cv_test_wait_until (endpoint_closed, e, 10000));
  g_assert_no_error (e->error);
  /* The opener is done once both FINs crossed; its last bytes may still be on their
   * way to the acceptor. */
  g_assert_true (cv_test_wait_until (endpoint_closed, accepted, 10000));
  g_assert_cmpuint (accepted->received, ==, POOL_SIZE);
  g_assert_true (cv_test_wait_until (flag_is_set, &fixture->a_closed, 5000));
  g_assert_true (cv_test_wait_until (flag_is_set, &fixture->b_closed, 5000));
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

/* The case's ping handler points into its stack: it goes before the case returns. */
static void
ping_clear (PingPong *p)
{
  g_signal_handlers_disconnect_by_data (p->channel, p);
  g_array_unref (p->rtts);
}

/* Port 7 echoes; other channels go to the acceptor. */
static void
on_fair_incoming (CvMux *mux, CvChannel *channel, Acceptor *bulk)
{
  if (cv_channel_get_port (channel) == 7)
    {
      cv_channel_accept (channel);
      g_signal_connect (channel, "readable", G_CALLBACK (on_echo_readable), NULL);
      g_object_set_data_full (G_OBJECT (mux), "echo", g_object_ref (channel), g_object_unref);
      return;
    }
  on_incoming (mux, channel, bulk);
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

static const MuxParams echo = { .incoming = G_CALLBACK (on_fair_incoming) };

/* An interactive channel's round trip while a bulk channel saturates the link.  The
 * bound is loose (a busy CI core must not make it flaky); without fair scheduling a
 * round trip would wait behind the bulk channel's whole backlog.  The precise numbers
 * are in tests/bench/. */
static void
test_fairness (MuxFixture *fixture, gconstpointer data)
{
  g_autoptr (CvChannel) ping_channel = NULL;
  PingPong p = { 0 };
  Endpoint *bulk;
  gint64 p50, p99;

  fixture->big = g_malloc0 (1024 * 1024 * 1024);
  bulk = mux_fixture_open (fixture, "localhost", 9, fixture->big, 1024 * 1024 * 1024);
  while (fixture->acceptor->endpoints->len < 1 || bulk->sent < 16 * 1024 * 1024)
    g_main_context_iteration (NULL, TRUE);

  ping_channel = cv_mux_open_channel (fixture->a, "localhost", 7, NULL);
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

  ping_clear (&p);
}

static const MuxParams own_context = { .own_context = TRUE };

/* A mux on a context of its own (a worker thread's) keeps its timers there, and
 * closing it removes them from there, not from the global default context.  The
 * teardown runs that context until it is idle. */
static void
test_own_context (MuxFixture *fixture, gconstpointer data)
{
  while (cv_mux_get_rtt_us (fixture->a) < 0)
    g_main_context_iteration (fixture->context, TRUE);
  cv_mux_close (fixture->a);
  cv_mux_close (fixture->b);
}

static const MuxParams tcp_echo = { .tcp = TRUE, .incoming = G_CALLBACK (on_fair_incoming) };

/* Over TCP, a lone small message leaves in the batch of the main-loop turn that
 * queued it: nothing waits for more data (a cork, Nagle, a batch that never fills). */
static void
test_small_messages_not_delayed (MuxFixture *fixture, gconstpointer data)
{
  g_autoptr (CvChannel) channel = cv_mux_open_channel (fixture->a, "localhost", 7, NULL);
  PingPong p = { 0 };
  gint64 worst;

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
  ping_clear (&p);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cv_test_fill_random (pool, sizeof pool, 42);

  mux_test_add ("/mux/one-channel", &one_channel, test_transfer);
  mux_test_add ("/mux/small-messages-not-delayed", &tcp_echo, test_small_messages_not_delayed);
  mux_test_add ("/mux/thousand-channels", &thousand_channels, test_transfer);
  mux_test_add ("/mux/small-window", &small_window, test_transfer);
  mux_test_add ("/mux/half-close", &half_close, test_half_close);
  mux_test_add ("/mux/stalled-reader-bounded", &stalled_reader, test_stalled_reader_bounded);
  mux_test_add ("/mux/window-grows-and-shrinks", &growing_window, test_window_grows_and_shrinks);
  g_test_add ("/mux/dead-peer", RawPeer, &dead_peer, raw_peer_set_up, test_dead_peer,
              raw_peer_tear_down);
  mux_test_add ("/mux/idle-link-stays-up", &idle_link, test_idle_link_stays_up);
  g_test_add ("/mux/output-bound/ping-flood", RawPeer, &output_bound, raw_peer_set_up,
              test_output_bound_ping_flood, raw_peer_tear_down);
  g_test_add ("/mux/output-bound/local-sends", RawPeer, &output_bound_sends, raw_peer_set_up,
              test_output_bound_local_sends, raw_peer_tear_down);
  g_test_add ("/mux/after-goaway/nothing-answered", RawPeer, &after_goaway, raw_peer_set_up,
              test_after_goaway_nothing_answered, raw_peer_tear_down);
  g_test_add ("/mux/close-deadline/unread", RawPeer, &close_deadline, raw_peer_set_up,
              test_close_deadline_unread, raw_peer_tear_down);
  g_test_add ("/mux/close-deadline/open-channel", RawPeer, &close_deadline, raw_peer_set_up,
              test_close_deadline_open_channel, raw_peer_tear_down);
  mux_test_add ("/mux/refused", NULL, test_refused);
  mux_test_add ("/mux/max-channels", &max_channels, test_max_channels);
  mux_test_add ("/mux/reset", NULL, test_reset);
  mux_test_add ("/mux/goaway", &goaway, test_goaway);
  mux_test_add ("/mux/fairness", &echo, test_fairness);
  g_test_add ("/mux/second-fin-resets-channel", RawPeer, NULL, raw_peer_set_up,
              test_second_fin_resets_channel, raw_peer_tear_down);
  mux_test_add ("/mux/refusal-with-bad-message", &refuse_badly, test_refusal_with_bad_message);
  mux_test_add ("/mux/control-message-too-large", NULL, test_control_message_too_large);
  mux_test_add ("/mux/own-context", &own_context, test_own_context);
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
      "past-window",  "reused-id", "wrong-parity",  "garbage",
      "unknown-type", "oversized", "data-unopened", "fin-before-open-ok",
    };
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autofree char *path = g_strdup_printf ("/mux/misbehaving-peer/%s", names[i]);
        g_test_add (path, MisbehavingFixture, &cases[i], misbehaving_set_up, test_misbehaving_peer,
                    misbehaving_tear_down);
      }
  }
  return g_test_run ();
}
