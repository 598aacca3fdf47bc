/* test-channel-pump.c: real TCP clients and targets on loopback, joined through a mux pair.
 *
 *   client thread ──TCP──▶ listener ═ mux A ═ socket pair ═ mux B ──TCP──▶ target thread
 *
 * The main thread runs both muxes; clients and targets are threads doing blocking I/O,
 * so nothing they do can be helped by the main loop.
 */
#include "mux/cv-mux.h"
#include "mux/cv-channel-pump.h"
#include "cv-test-util.h"

#include <gio/gnetworking.h>
#include <string.h>

#define POOL_SIZE (1024 * 1024)
static guint8 pool[POOL_SIZE];

/* ---- the tunnel: a listener on side A, dialling on side B -------------- */

typedef struct {
  CvMux *a;
  CvMux *b;
  GSocketService *service;
  guint16 listen_port;
  guint16 target_port;
  GPtrArray *channels_a; /* every channel opened from A, for inspection */
  GPtrArray *channels_b;
  GPtrArray *sockets; /* every socket handed to a splice */
  guint splices_done;
  guint splices_failed;
  guint splices_cancelled;
  GCancellable *cancellable; /* for the pumps on side A; NULL unless a test sets it */
} Tunnel;

static void
on_splice_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Tunnel *tunnel = user_data;
  g_autoptr (GError) error = NULL;

  if (!cv_channel_pump_finish (result, NULL, &error))
    {
      g_test_message ("splice ended: %s", error->message);
      tunnel->splices_failed++;
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        tunnel->splices_cancelled++;
    }
  tunnel->splices_done++;
}

static gboolean
on_client_connection (GSocketService *service,
                      GSocketConnection *connection,
                      GObject *source,
                      gpointer user_data)
{
  Tunnel *tunnel = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (CvChannel) channel = cv_mux_open_channel (tunnel->a, "127.0.0.1", tunnel->target_port,
                                                       &error);

  g_assert_no_error (error);
  g_ptr_array_add (tunnel->channels_a, g_object_ref (channel));
  g_ptr_array_add (tunnel->sockets, g_object_ref (g_socket_connection_get_socket (connection)));
  cv_channel_pump_async (connection, channel, tunnel->cancellable, on_splice_done, tunnel);
  return TRUE;
}

typedef struct {
  Tunnel *tunnel;
  CvChannel *channel;
} Dial;

static void
on_target_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Dial *dial = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) connection =
    g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);

  if (connection == NULL)
    {
      CvChannelReason reason = g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED)
                                 ? CV_CHANNEL_REASON_REFUSED
                                 : CV_CHANNEL_REASON_UNREACHABLE;
      cv_channel_refuse (dial->channel, reason, error->message);
    }
  else
    {
      g_ptr_array_add (dial->tunnel->sockets,
                       g_object_ref (g_socket_connection_get_socket (connection)));
      cv_channel_accept (dial->channel);
      cv_channel_pump_async (connection, dial->channel, NULL, on_splice_done, dial->tunnel);
    }
  g_object_unref (dial->channel);
  g_free (dial);
}

static void
on_incoming_channel (CvMux *mux, CvChannel *channel, Tunnel *tunnel)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  Dial *dial = g_new0 (Dial, 1);

  /* A share agent dials its targets directly, never through a desktop proxy. */
  g_socket_client_set_enable_proxy (client, FALSE);
  dial->tunnel = tunnel;
  dial->channel = g_object_ref (channel);
  g_ptr_array_add (tunnel->channels_b, g_object_ref (channel));
  g_socket_client_connect_to_host_async (client, cv_channel_get_host (channel),
                                         cv_channel_get_port (channel), NULL, on_target_connected,
                                         dial);
}

static void
tunnel_init (Tunnel *tunnel, guint16 target_port, const CvMuxConfig *config)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;

  memset (tunnel, 0, sizeof *tunnel);
  tunnel->target_port = target_port;
  tunnel->channels_a = g_ptr_array_new_with_free_func (g_object_unref);
  tunnel->channels_b = g_ptr_array_new_with_free_func (g_object_unref);
  tunnel->sockets = g_ptr_array_new_with_free_func (g_object_unref);
  cv_test_mux_pair (config, config, &tunnel->a, &tunnel->b);
  g_signal_connect (tunnel->b, "incoming-channel", G_CALLBACK (on_incoming_channel), tunnel);

  tunnel->service = g_socket_service_new ();
  g_socket_listener_set_backlog (G_SOCKET_LISTENER (tunnel->service), 256);
  g_socket_listener_add_address (G_SOCKET_LISTENER (tunnel->service), address, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error);
  g_assert_no_error (error);
  tunnel->listen_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_signal_connect (tunnel->service, "incoming", G_CALLBACK (on_client_connection), tunnel);
  g_socket_service_start (tunnel->service);
}

static void
tunnel_clear (Tunnel *tunnel)
{
  g_socket_service_stop (tunnel->service);
  g_socket_listener_close (G_SOCKET_LISTENER (tunnel->service));
  g_clear_object (&tunnel->service);
  g_clear_object (&tunnel->cancellable);
  cv_mux_close (tunnel->a);
  cv_mux_close (tunnel->b);
  g_clear_object (&tunnel->a);
  g_clear_object (&tunnel->b);
  g_ptr_array_unref (tunnel->channels_a);
  g_ptr_array_unref (tunnel->channels_b);
  g_ptr_array_unref (tunnel->sockets);
}

/* ---- blocking peers on threads ----------------------------------------- */

static GSocket *
try_connect_loopback (guint16 port, GError **error)
{
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, port);
  g_autoptr (GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                             G_SOCKET_PROTOCOL_TCP, error);

  g_assert_nonnull (socket);
  g_socket_set_timeout (socket, 30);
  if (!g_socket_connect (socket, address, NULL, error))
    return NULL;
  return g_steal_pointer (&socket);
}

static GSocket *
connect_loopback (guint16 port)
{
  g_autoptr (GError) error = NULL;
  GSocket *socket = try_connect_loopback (port, &error);

  g_assert_no_error (error);
  return socket;
}

static void
send_all (GSocket *socket, const guint8 *data, gsize len)
{
  while (len > 0)
    {
      g_autoptr (GError) error = NULL;
      gssize n = g_socket_send (socket, (const char *) data, MIN (len, 65536), NULL, &error);

      g_assert_no_error (error);
      data += n;
      len -= n;
    }
}

/* Read until EOF; the checksum of what came, or NULL and @error on a failed read. */
static char *
receive_all (GSocket *socket, gsize *total, GError **error)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  char buffer[65536];
  gssize n;

  *total = 0;
  while ((n = g_socket_receive (socket, buffer, sizeof buffer, NULL, error)) > 0)
    {
      g_checksum_update (sum, (const guint8 *) buffer, n);
      *total += n;
    }
  if (n < 0)
    return NULL;
  return g_strdup (g_checksum_get_string (sum));
}

/* A stream of @len bytes starting at a seed-dependent place in the pool, wrapping. */
static void
send_pattern (GSocket *socket, guint32 seed, gsize len)
{
  gsize offset = (seed * 7919u) % POOL_SIZE;

  while (len > 0)
    {
      gsize n = MIN (len, POOL_SIZE - offset);
      send_all (socket, pool + offset, n);
      len -= n;
      offset = 0;
    }
}

static char *
pattern_checksum (guint32 seed, gsize len)
{
  g_autoptr (GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  gsize offset = (seed * 7919u) % POOL_SIZE;

  while (len > 0)
    {
      gsize n = MIN (len, POOL_SIZE - offset);
      g_checksum_update (sum, pool + offset, n);
      len -= n;
      offset = 0;
    }
  return g_strdup (g_checksum_get_string (sum));
}

/* One exchange: the client sends a request and half-closes; the target reads to EOF,
 * then answers and closes; each checks what it got. */
typedef struct {
  guint32 seed;
  gsize request_len;
  gsize reply_len;
  guint16 port;
  GSocket *listener; /* target side */
  char *received_sum;
  gsize received;
  GError *error;
  gint pause_ms;  /* the target sleeps before reading (back-pressure) */
  gboolean reset; /* the target resets instead of answering */
} Exchange;

static gpointer
target_thread (gpointer data)
{
  Exchange *x = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) socket = g_socket_accept (x->listener, NULL, &error);

  g_assert_no_error (error);
  g_socket_set_timeout (socket, 30);
  if (x->pause_ms > 0)
    g_usleep (x->pause_ms * 1000);
  if (x->reset)
    {
      struct linger linger = { .l_onoff = 1, .l_linger = 0 };
      char buffer[16];

      g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL);
      setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
      g_socket_close (socket, NULL);
      return NULL;
    }
  x->received_sum = receive_all (socket, &x->received, &x->error);
  send_pattern (socket, x->seed + 1, x->reply_len);
  g_socket_close (socket, NULL);
  return NULL;
}

typedef struct {
  guint32 seed;
  gsize request_len;
  guint16 port;
  char *received_sum;
  gsize received;
  GError *error;
  gint64 done_at;
  gboolean done;
  gboolean may_be_reset; /* the tunnel may reset us before we have even sent */
} Client;

static gpointer
client_thread (gpointer data)
{
  Client *c = data;
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GError) error = NULL;

  if (c->may_be_reset)
    {
      /* Connect, send and shut down may each meet the reset; any of them ends it. */
      socket = try_connect_loopback (c->port, &c->error);
      if (socket != NULL
          && g_socket_send (socket, (const char *) pool, c->request_len, NULL, &c->error) >= 0
          && g_socket_shutdown (socket, FALSE, TRUE, &c->error))
        c->received_sum = receive_all (socket, &c->received, &c->error);
      c->done_at = g_get_monotonic_time ();
      g_atomic_int_set (&c->done, TRUE);
      return NULL;
    }
  socket = connect_loopback (c->port);
  send_pattern (socket, c->seed, c->request_len);
  g_socket_shutdown (socket, FALSE, TRUE, &error);
  g_assert_no_error (error);
  c->received_sum = receive_all (socket, &c->received, &c->error);
  c->done_at = g_get_monotonic_time ();
  g_atomic_int_set (&c->done, TRUE);
  return NULL;
}

static gboolean
client_done (gpointer data)
{
  return g_atomic_int_get (&((Client *) data)->done);
}

/* ---- tests ------------------------------------------------------------- */

static void
run_exchanges (guint n, gsize request_len, gsize reply_len)
{
  Tunnel tunnel;
  g_autofree Exchange *targets = g_new0 (Exchange, n);
  g_autofree Client *clients = g_new0 (Client, n);
  g_autofree GThread **target_threads = g_new0 (GThread *, n);
  g_autofree GThread **client_threads = g_new0 (GThread *, n);
  guint16 target_port;
  g_autoptr (GSocket) listener = cv_test_listen_loopback (&target_port);

  tunnel_init (&tunnel, target_port, NULL);
  for (guint i = 0; i < n; i++)
    {
      targets[i].listener = listener;
      targets[i].reply_len = reply_len;
      target_threads[i] = g_thread_new ("target", target_thread, &targets[i]);
      clients[i].seed = i;
      clients[i].request_len = request_len;
      clients[i].port = tunnel.listen_port;
      client_threads[i] = g_thread_new ("client", client_thread, &clients[i]);
    }
  for (guint i = 0; i < n; i++)
    g_assert_true (cv_test_wait_until (client_done, &clients[i], 60000));

  /* Targets accept in any order, so match requests by checksum, not by index. */
  {
    g_autoptr (GHashTable) requests = g_hash_table_new (g_str_hash, g_str_equal);

    for (guint i = 0; i < n; i++)
      {
        g_thread_join (target_threads[i]);
        g_thread_join (client_threads[i]);
        g_assert_no_error (targets[i].error);
        g_assert_no_error (clients[i].error);
        g_assert_cmpuint (targets[i].received, ==, request_len);
        g_hash_table_add (requests, targets[i].received_sum);
      }
    for (guint i = 0; i < n; i++)
      {
        g_autofree char *request = pattern_checksum (clients[i].seed, request_len);
        /* Every target answers with the same stream (its seed is 0, the reply seed 1). */
        g_autofree char *reply = pattern_checksum (1, reply_len);

        g_assert_true (g_hash_table_contains (requests, request));
        g_assert_cmpuint (clients[i].received, ==, reply_len);
        g_assert_cmpstr (clients[i].received_sum, ==, reply);
      }
  }
  for (guint i = 0; i < n; i++)
    {
      g_free (clients[i].received_sum);
      g_free (targets[i].received_sum);
    }

  while (tunnel.splices_done < 2 * n)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (tunnel.splices_failed, ==, 0);
  g_assert_cmpuint (cv_mux_get_n_channels (tunnel.a), ==, 0);
  g_assert_cmpuint (cv_mux_get_n_channels (tunnel.b), ==, 0);

  /* Every tunnelled TCP socket had Nagle turned off. */
  for (guint i = 0; i < tunnel.sockets->len; i++)
    {
      gint nodelay = 0;
      GSocket *socket = tunnel.sockets->pdata[i];

      if (g_socket_is_closed (socket))
        continue;
      g_socket_get_option (socket, IPPROTO_TCP, TCP_NODELAY, &nodelay, NULL);
      g_assert_cmpint (nodelay, !=, 0);
    }
  tunnel_clear (&tunnel);
}

/* 32 MiB each way through one tunnelled connection, with half-close in the middle. */
static void
test_bulk_both_ways (void)
{
  run_exchanges (1, 32 * 1024 * 1024, 32 * 1024 * 1024);
}

static void
test_many_connections (void)
{
  run_exchanges (64, 256 * 1024, 128 * 1024);
}

static void
test_empty_request (void)
{
  run_exchanges (1, 0, 1000);
}

/* Interactive use: small messages one at a time, each echoed before the next is sent.
 * Every read on the tunnelled sockets is short and the next bytes come only after the
 * socket had nothing: they must still be picked up, and without delay. */
#define ECHO_ROUNDS 200
#define ECHO_SIZE 64

typedef struct {
  GSocket *listener;
  guint echoed;
} EchoTarget;

static gpointer
echo_target_thread (gpointer data)
{
  EchoTarget *target = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) socket = g_socket_accept (target->listener, NULL, &error);
  char buffer[ECHO_SIZE];
  gssize n;

  g_assert_no_error (error);
  g_socket_set_timeout (socket, 30);
  while ((n = g_socket_receive (socket, buffer, sizeof buffer, NULL, &error)) > 0)
    {
      send_all (socket, (const guint8 *) buffer, n);
      target->echoed += n;
    }
  g_assert_no_error (error);
  g_socket_close (socket, NULL);
  return NULL;
}

typedef struct {
  guint16 port;
  guint rounds;
  gint64 slowest_us;
  gboolean done;
} EchoClient;

static gpointer
echo_client_thread (gpointer data)
{
  EchoClient *client = data;
  g_autoptr (GSocket) socket = connect_loopback (client->port);
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < ECHO_ROUNDS; i++)
    {
      const guint8 *message = pool + i * ECHO_SIZE;
      guint8 echo[ECHO_SIZE];
      gsize got = 0;
      gint64 start = g_get_monotonic_time ();

      send_all (socket, message, ECHO_SIZE);
      while (got < ECHO_SIZE)
        {
          gssize n = g_socket_receive (socket, (char *) echo + got, ECHO_SIZE - got, NULL, &error);

          g_assert_no_error (error);
          g_assert_cmpint (n, >, 0);
          got += n;
        }
      g_assert_cmpmem (echo, ECHO_SIZE, message, ECHO_SIZE);
      client->slowest_us = MAX (client->slowest_us, g_get_monotonic_time () - start);
      client->rounds++;
    }
  g_socket_shutdown (socket, FALSE, TRUE, &error);
  g_assert_no_error (error);
  g_atomic_int_set (&client->done, TRUE);
  return NULL;
}

static gboolean
echo_client_done (gpointer data)
{
  return g_atomic_int_get (&((EchoClient *) data)->done);
}

static void
test_echo_round_trips (void)
{
  Tunnel tunnel;
  guint16 target_port;
  g_autoptr (GSocket) listener = cv_test_listen_loopback (&target_port);
  EchoTarget target = { .listener = listener };
  EchoClient client = { 0 };
  GThread *target_thread_handle, *client_thread_handle;

  tunnel_init (&tunnel, target_port, NULL);
  client.port = tunnel.listen_port;
  target_thread_handle = g_thread_new ("echo-target", echo_target_thread, &target);
  client_thread_handle = g_thread_new ("echo-client", echo_client_thread, &client);
  g_assert_true (cv_test_wait_until (echo_client_done, &client, 20000));
  g_thread_join (client_thread_handle);
  /* The client's FIN reaches the target only through the main loop. */
  while (tunnel.splices_done < 2)
    g_main_context_iteration (NULL, TRUE);
  g_thread_join (target_thread_handle);

  g_assert_cmpuint (client.rounds, ==, ECHO_ROUNDS);
  g_assert_cmpuint (target.echoed, ==, ECHO_ROUNDS * ECHO_SIZE);
  /* Nothing waits for a timer: a round trip that stalled would take seconds. */
  g_test_message ("slowest round trip: %" G_GINT64_FORMAT " us", client.slowest_us);
  g_assert_cmpint (client.slowest_us, <, 2 * G_USEC_PER_SEC);
  g_assert_cmpuint (tunnel.splices_failed, ==, 0);
  tunnel_clear (&tunnel);
}

/* The target stops reading for a while: the tunnel holds at most one window on each
 * side, and once the target reads again every byte arrives intact. */
static void
test_back_pressure (void)
{
  CvMuxConfig config;
  Tunnel tunnel;
  Exchange target = { .reply_len = 10 };
  Client client = { .seed = 3, .request_len = 64 * 1024 * 1024 };
  guint16 target_port;
  g_autoptr (GSocket) listener = cv_test_listen_loopback (&target_port);
  g_autofree char *expected = pattern_checksum (3, client.request_len);
  GThread *target_thread_handle, *client_thread_handle;
  gsize max_send_buffered = 0, max_recv_buffered = 0;
  gint64 until;

  cv_mux_config_init_defaults (&config);
  config.initial_window = 128 * 1024;
  config.max_window = 128 * 1024;
  tunnel_init (&tunnel, target_port, &config);
  target.listener = listener;
  target.pause_ms = 1500;
  client.port = tunnel.listen_port;
  target_thread_handle = g_thread_new ("target", target_thread, &target);
  client_thread_handle = g_thread_new ("client", client_thread, &client);

  /* While the target sleeps, watch the channel buffers on both sides. */
  until = g_get_monotonic_time () + 1200 * 1000;
  while (g_get_monotonic_time () < until)
    {
      g_main_context_iteration (NULL, FALSE);
      for (guint i = 0; i < tunnel.channels_a->len; i++)
        max_send_buffered = MAX (max_send_buffered,
                                 cv_channel_get_send_buffered (tunnel.channels_a->pdata[i]));
      for (guint i = 0; i < tunnel.channels_b->len; i++)
        max_recv_buffered = MAX (max_recv_buffered,
                                 cv_channel_get_recv_buffered (tunnel.channels_b->pdata[i]));
      g_usleep (1000);
    }
  g_test_message ("target asleep: connect side held at most %" G_GSIZE_FORMAT
                  " bytes, share side %" G_GSIZE_FORMAT " (window 131072)",
                  max_send_buffered, max_recv_buffered);
  g_assert_cmpuint (max_send_buffered, <=, 128 * 1024);
  g_assert_cmpuint (max_recv_buffered, <=, 128 * 1024);
  g_assert_false (client.done);

  g_assert_true (cv_test_wait_until (client_done, &client, 60000));
  g_thread_join (target_thread_handle);
  g_thread_join (client_thread_handle);
  g_assert_no_error (target.error);
  g_assert_no_error (client.error);
  g_assert_cmpuint (target.received, ==, client.request_len);
  g_assert_cmpstr (target.received_sum, ==, expected);
  g_free (target.received_sum);
  g_free (client.received_sum);
  tunnel_clear (&tunnel);
}

/* The target resets its connection: the client sees a reset, not a clean end. */
static void
test_reset_propagates (void)
{
  Tunnel tunnel;
  Exchange target = { .reset = TRUE };
  Client client = { .seed = 5, .request_len = 1000 };
  guint16 target_port;
  g_autoptr (GSocket) listener = cv_test_listen_loopback (&target_port);
  GThread *t, *c;

  tunnel_init (&tunnel, target_port, NULL);
  target.listener = listener;
  client.port = tunnel.listen_port;
  t = g_thread_new ("target", target_thread, &target);
  c = g_thread_new ("client", client_thread, &client);
  g_assert_true (cv_test_wait_until (client_done, &client, 10000));
  g_thread_join (t);
  g_thread_join (c);
  g_assert_error (client.error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);
  g_clear_error (&client.error);
  g_assert_true (tunnel.channels_b->len == 1);
  tunnel_clear (&tunnel);
}

/* Nothing listens at the target: the client's connection ends at once, and the
 * connect side knows why. */
static void
test_target_refused (void)
{
  Tunnel tunnel;
  Client client = { .seed = 6, .request_len = 10, .may_be_reset = TRUE };
  guint16 dead_port;
  GThread *c;
  const GError *why;

  /* A port that was just free: bind, note it, close. */
  {
    g_autoptr (GSocket) probe = cv_test_listen_loopback (&dead_port);
    g_socket_close (probe, NULL);
  }
  tunnel_init (&tunnel, dead_port, NULL);
  client.port = tunnel.listen_port;
  c = g_thread_new ("client", client_thread, &client);
  g_assert_true (cv_test_wait_until (client_done, &client, 10000));
  g_thread_join (c);
  g_assert_cmpuint (client.received, ==, 0);
  g_clear_error (&client.error);
  g_free (client.received_sum);

  g_assert_cmpuint (tunnel.channels_a->len, ==, 1);
  why = cv_channel_get_error (tunnel.channels_a->pdata[0]);
  g_assert_error (why, CV_CHANNEL_ERROR, CV_CHANNEL_REASON_REFUSED);
  g_test_message ("connect side: %s", why->message);
  tunnel_clear (&tunnel);
}

static gboolean
both_pumps_running (gpointer data)
{
  return ((Tunnel *) data)->sockets->len == 2;
}

static gboolean
both_pumps_done (gpointer data)
{
  return ((Tunnel *) data)->splices_done == 2;
}

/* Cancelling a running pump, as a connect agent's stop does for every open channel,
 * resets its channel and completes it with G_IO_ERROR_CANCELLED; the other side's pump
 * ends with the reset.  The pump's handler runs inside the cancellable's own emission, so
 * it must not wait for itself (g_cancellable_disconnect () there deadlocks: this test then
 * hangs until meson's timeout). */
static void
test_cancel_running (void)
{
  Tunnel tunnel;
  Exchange target = { .reset = TRUE, .pause_ms = 1500 };
  Client client = { .seed = 7, .request_len = 1000, .may_be_reset = TRUE };
  guint16 target_port;
  g_autoptr (GSocket) listener = cv_test_listen_loopback (&target_port);
  GThread *t, *c;

  tunnel_init (&tunnel, target_port, NULL);
  tunnel.cancellable = g_cancellable_new ();
  target.listener = listener;
  client.port = tunnel.listen_port;
  t = g_thread_new ("target", target_thread, &target);
  c = g_thread_new ("client", client_thread, &client);
  g_assert_true (cv_test_wait_until (both_pumps_running, &tunnel, 10000));

  g_cancellable_cancel (tunnel.cancellable);
  g_assert_true (cv_test_wait_until (both_pumps_done, &tunnel, 10000));
  g_assert_cmpuint (tunnel.splices_cancelled, ==, 1);
  g_assert_cmpuint (tunnel.splices_failed, ==, 2);
  g_assert_true (cv_test_wait_until (client_done, &client, 10000));
  g_thread_join (t);
  g_thread_join (c);
  g_assert_nonnull (client.error);
  g_clear_error (&client.error);
  g_free (client.received_sum);
  tunnel_clear (&tunnel);
}

static void
on_incoming_accept (CvMux *mux, CvChannel *channel, gpointer user_data)
{
  cv_channel_accept (channel);
}

static gboolean
channel_is_open (gpointer data)
{
  return cv_channel_get_state (data) == CV_CHANNEL_STATE_OPEN;
}

/* What a pump reads from its socket goes into the carrier in the same main-loop
 * iteration, at the end of the poller's batch: waiting for the next iteration's flush
 * cost a poll() per message, a tenth of a round trip through two agents
 * (tests/bench/CHAINS.md). */
static void
test_written_in_same_iteration (void)
{
  g_autoptr (CvMux) a = NULL;
  g_autoptr (CvMux) b = NULL;
  g_autoptr (GSocketConnection) app = NULL;
  g_autoptr (GSocketConnection) local = NULL;
  g_autoptr (CvChannel) channel = NULL;
  g_autoptr (GError) error = NULL;
  guint64 before;

  cv_test_mux_pair (NULL, NULL, &a, &b);
  g_signal_connect (b, "incoming-channel", G_CALLBACK (on_incoming_accept), NULL);
  channel = cv_mux_open_channel (a, "127.0.0.1", 9, &error);
  g_assert_no_error (error);
  cv_test_socket_pair (&app, &local);
  cv_channel_pump_async (local, channel, NULL, NULL, NULL);
  g_assert_true (cv_test_wait_until (channel_is_open, channel, 5000));
  cv_test_iterate_for (NULL, 50);

  for (int round = 0; round < 3; round++)
    {
      before = cv_mux_get_bytes_written (a);
      g_assert_cmpint (g_socket_send (g_socket_connection_get_socket (app), "ping", 4, NULL,
                                      &error),
                       ==, 4);
      g_assert_no_error (error);
      /* One iteration: the poller reports the socket, the pump reads it, the batch's
       * end writes the frame. */
      g_main_context_iteration (NULL, TRUE);
      g_assert_cmpuint (cv_mux_get_bytes_written (a), >=, before + 4);
      cv_test_iterate_for (NULL, 20);
    }
  cv_mux_close (a);
  cv_test_iterate_for (NULL, 50);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  cv_test_fill_random (pool, sizeof pool, 7);

  g_test_add_func ("/channel-pump/bulk-both-ways", test_bulk_both_ways);
  g_test_add_func ("/channel-pump/many-connections", test_many_connections);
  g_test_add_func ("/channel-pump/empty-request", test_empty_request);
  g_test_add_func ("/channel-pump/echo-round-trips", test_echo_round_trips);
  g_test_add_func ("/channel-pump/back-pressure", test_back_pressure);
  g_test_add_func ("/channel-pump/reset-propagates", test_reset_propagates);
  g_test_add_func ("/channel-pump/target-refused", test_target_refused);
  g_test_add_func ("/channel-pump/cancel-running", test_cancel_running);
  g_test_add_func ("/channel-pump/written-in-same-iteration", test_written_in_same_iteration);
  return g_test_run ();
}
