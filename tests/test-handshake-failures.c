/* test-handshake-failures.c: a control link's TLS handshake failing in every way a dying or
 * hostile gateway can make it fail, against a real agent link on loopback.
 *
 * Each "gateway" here is a raw TCP server in a thread of its own (blocking sockets, so it
 * behaves the same whatever the agent's main loop does): it resets the connection at once,
 * resets it after the ClientHello, closes after the ClientHello, answers with half a TLS
 * record and resets, or accepts and says nothing.  The agent link must report the failure
 * in words, back off, retry, and stop and finalize cleanly at any point, with no critical
 * (the suite runs with G_DEBUG=fatal-criticals) and no leak (under ASan).
 *
 * glib-networking skips part of a client handshake in a GTest program (the session ID it
 * computes from the peer's address, see g_tls_client_connection_gnutls_compute_session_id
 * in 2.74), and that part is where a gateway that reset the connection before the
 * handshake made the agent log g_object_unref criticals.  So the "outside-gtest" tests
 * run the agent in a child process of this program that is not a GTest program.
 */
#include "roles/cv-agent-link.h"
#include "roles/cv-agent-tunnel.h"
#include "transport/cv-tls.h"

#include "cv-test-util.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define OUTSIDE_GTEST_ARG "--outside-gtest"
#define OUTSIDE_GTEST_ATTEMPTS 8

static const char *self_path; /* this program, for the outside-gtest children */

typedef enum {
  MODE_RESET_AT_ONCE,       /* RST before the agent writes: EPIPE/ECONNRESET on its first write */
  MODE_RESET_AFTER_CONNECT, /* RST 50 ms after accept: the agent's connect is complete by then */
  MODE_RESET_AFTER_HELLO,   /* read the ClientHello, then RST */
  MODE_CLOSE_AFTER_HELLO,   /* read the ClientHello, then FIN */
  MODE_HALF_RECORD_RESET,   /* read the ClientHello, send half a TLS record, then RST */
  MODE_STALL,               /* accept, read, never answer */
  MODE_DYING,               /* a dying process: never accepts, and after a while the kernel
                             * resets everything in the backlog (then: connection refused) */
} Mode;

typedef struct {
  Mode mode;
  GSocket *listener;
  guint16 port;
  GThread *thread;
  gint accepted;   /* atomic */
  gint stop;       /* atomic */
  GPtrArray *held; /* stalled connections, closed at teardown */
  GMutex lock;
} FakeGateway;

static void
reset_and_close (GSocket *socket)
{
  struct linger linger = { 1, 0 };

  setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
  g_socket_close (socket, NULL);
}

/* Reads what the client sends first (its ClientHello), waiting at most a second. */
static void
read_client_hello (GSocket *socket)
{
  char buffer[4096];

  g_socket_set_timeout (socket, 1);
  g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL);
}

static gpointer
fake_gateway_run (gpointer data)
{
  FakeGateway *gw = data;

  if (gw->mode == MODE_DYING)
    {
      /* Connections complete in the kernel's backlog; the agent writes its ClientHello
       * into them and waits; then the listener closes and each one is reset. */
      for (guint i = 0; i < 30 && !g_atomic_int_get (&gw->stop); i++)
        g_usleep (10 * 1000);
      g_atomic_int_inc (&gw->accepted);
      g_socket_shutdown (gw->listener, TRUE, TRUE, NULL);
      g_socket_close (gw->listener, NULL);
      return NULL;
    }
  while (!g_atomic_int_get (&gw->stop))
    {
      g_autoptr (GSocket) socket = NULL;
      g_autoptr (GError) error = NULL;
      static const char half_record[] = { 0x16, 0x03, 0x03, 0x10, 0x00, 0x02, 0x00 };

      if (!g_socket_condition_timed_wait (gw->listener, G_IO_IN, 50 * 1000, NULL, NULL))
        continue;
      socket = g_socket_accept (gw->listener, NULL, &error);
      if (socket == NULL)
        continue;
      g_socket_set_blocking (socket, TRUE);
      g_atomic_int_inc (&gw->accepted);
      switch (gw->mode)
        {
        case MODE_RESET_AT_ONCE:
          reset_and_close (socket);
          break;
        case MODE_RESET_AFTER_CONNECT:
          g_usleep (50 * 1000);
          reset_and_close (socket);
          break;
        case MODE_RESET_AFTER_HELLO:
          read_client_hello (socket);
          reset_and_close (socket);
          break;
        case MODE_CLOSE_AFTER_HELLO:
          read_client_hello (socket);
          g_socket_close (socket, NULL);
          break;
        case MODE_HALF_RECORD_RESET:
          read_client_hello (socket);
          g_socket_send (socket, half_record, sizeof half_record, NULL, NULL);
          reset_and_close (socket);
          break;
        case MODE_STALL:
          read_client_hello (socket);
          g_mutex_lock (&gw->lock);
          g_ptr_array_add (gw->held, g_steal_pointer (&socket));
          g_mutex_unlock (&gw->lock);
          break;
        case MODE_DYING: /* handled above */
          break;
        }
    }
  return NULL;
}

static FakeGateway *
fake_gateway_start (Mode mode)
{
  FakeGateway *gw = g_new0 (FakeGateway, 1);

  gw->mode = mode;
  gw->listener = cv_test_listen_loopback (&gw->port);
  gw->held = g_ptr_array_new_with_free_func (g_object_unref);
  g_mutex_init (&gw->lock);
  gw->thread = g_thread_new ("fake-gateway", fake_gateway_run, gw);
  return gw;
}

static void
fake_gateway_free (FakeGateway *gw)
{
  g_atomic_int_set (&gw->stop, 1);
  g_thread_join (gw->thread);
  g_socket_close (gw->listener, NULL);
  g_object_unref (gw->listener);
  g_ptr_array_unref (gw->held);
  g_mutex_clear (&gw->lock);
  g_free (gw);
}

/* ---- the agent side ----------------------------------------------------- */

typedef struct {
  GMainContext *context;
  CvIdentity *identity;
  char *state_dir;
  FakeGateway *gateway;
  CvAgentLink *link;
  guint backoffs; /* BACKING_OFF states seen */
} Fixture;

static void
on_state (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  Fixture *fixture = user_data;

  if (cv_agent_link_get_state (fixture->link) == CV_AGENT_LINK_STATE_BACKING_OFF)
    fixture->backoffs++;
}

static void
fixture_setup (Fixture *fixture, gconstpointer data)
{
  Mode mode = GPOINTER_TO_INT (data);
  g_autoptr (GError) error = NULL;
  /* A pin, so that no CA store is consulted: the handshake must fail before any check. */
  CvGatewayAddress address = {
    .host = (char *) "127.0.0.1",
    .fingerprint =
      (char *) "sha256:abababababababababababababababababababababababababababababababab",
  };

  fixture->context = g_main_context_new ();
  fixture->state_dir = g_dir_make_tmp ("culvert-handshake-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->identity = cv_identity_load_or_create (fixture->state_dir, "agent", "agent", NULL,
                                                  &error);
  g_assert_no_error (error);
  fixture->gateway = fake_gateway_start (mode);
  address.port = fixture->gateway->port;
  fixture->link = cv_agent_link_new (&address, fixture->identity, CV_AGENT_ROLE_CONNECT, "s1",
                                     "password", "agent", fixture->context);
  /* Short delays, so a test sees several attempts. */
  cv_agent_link_set_backoff (fixture->link, 50, 200, 50, 200);
  g_signal_connect (fixture->link, "notify::state", G_CALLBACK (on_state), fixture);
}

static void
fixture_teardown (Fixture *fixture, gconstpointer data)
{
  cv_agent_link_stop (fixture->link);
  /* Let the cancelled operations deliver their callbacks (they hold references). */
  cv_test_iterate_for (fixture->context, 200);
  g_assert_finalize_object (fixture->link);
  fake_gateway_free (fixture->gateway);
  g_assert_finalize_object (fixture->identity);
  cv_test_remove_tree (fixture->state_dir);
  g_free (fixture->state_dir);
  g_main_context_unref (fixture->context);
}

static gboolean
wait_backoffs (Fixture *fixture, guint count, guint timeout_ms)
{
  gint64 end = g_get_monotonic_time () + timeout_ms * 1000;

  while (fixture->backoffs < count && g_get_monotonic_time () < end)
    {
      if (!g_main_context_iteration (fixture->context, FALSE))
        g_usleep (1000);
    }
  return fixture->backoffs >= count;
}

/* The link fails, says why as a TLS error, backs off and tries again, three times. */
static void
test_fails_and_retries (Fixture *fixture, gconstpointer data)
{
  const GError *error;

  cv_agent_link_start (fixture->link);
  g_assert_true (wait_backoffs (fixture, 3, 20000));
  /* A dying gateway is reached once; after that its port refuses. */
  g_assert_cmpint (g_atomic_int_get (&fixture->gateway->accepted), >=,
                   fixture->gateway->mode == MODE_DYING ? 1 : 3);
  error = cv_agent_link_get_last_error (fixture->link);
  g_assert_nonnull (error);
  g_assert_true (
    g_error_matches (error, CV_AGENT_ERROR, CV_AGENT_ERROR_TLS)
    || g_error_matches (error, CV_AGENT_ERROR, CV_AGENT_ERROR_LOST)
    /* Refused by a dead port, or reset before the connect was handed
     * over (as in client-alone): the same failure one step earlier. */
    || ((fixture->gateway->mode == MODE_DYING || fixture->gateway->mode == MODE_RESET_AT_ONCE)
        && g_error_matches (error, CV_AGENT_ERROR, CV_AGENT_ERROR_UNREACHABLE)));
  if (error->code == CV_AGENT_ERROR_TLS)
    g_assert_nonnull (strstr (error->message, "the gateway"));
  g_assert_cmpstr (error->message, !=, "");
  g_test_message ("%s", error->message);
}

/* Stopped while its handshake waits on a silent gateway: nothing fires afterwards. */
static void
test_stop_during_handshake (Fixture *fixture, gconstpointer data)
{
  cv_agent_link_start (fixture->link);
  while (g_atomic_int_get (&fixture->gateway->accepted) == 0)
    g_main_context_iteration (fixture->context, TRUE);
  cv_test_iterate_for (fixture->context, 100);
  g_assert_cmpint (cv_agent_link_get_state (fixture->link), ==, CV_AGENT_LINK_STATE_CONNECTING);
  cv_agent_link_stop (fixture->link);
  g_assert_cmpint (cv_agent_link_get_state (fixture->link), ==, CV_AGENT_LINK_STATE_STOPPED);
  cv_test_iterate_for (fixture->context, 200);
  g_assert_cmpuint (fixture->backoffs, ==, 0);
}

/* Stopped at every moment of a failing reconnect loop: at once, while dialling, after
 * the failure, during the backoff. */
static void
test_stop_anywhere (Fixture *fixture, gconstpointer data)
{
  static const guint delays_ms[] = { 0, 1, 3, 10, 30, 60, 120 };

  for (guint i = 0; i < G_N_ELEMENTS (delays_ms); i++)
    {
      cv_agent_link_start (fixture->link);
      cv_test_iterate_for (fixture->context, delays_ms[i]);
      cv_agent_link_stop (fixture->link);
      cv_test_iterate_for (fixture->context, 20);
    }
}

/* The TLS client by itself, against the same gateways: one error, no stream, the base
 * stream left to the caller. */
typedef struct {
  GMainContext *context;
  GSocketConnection *connection; /* the outside-gtest client's */
  GIOStream *tls;
  GError *error;
  gboolean done;
} Handshake;

static void
on_handshake (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Handshake *hs = user_data;

  hs->tls = cv_tls_client_handshake_finish (result, &hs->error);
  hs->done = TRUE;
}

static void
test_client_alone (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  CvTlsPeerCheck check = { CV_TLS_PEER_CHECK_PINNED };
  Handshake hs = { 0 };
  g_autoptr (GMainContextPusher) pusher = g_main_context_pusher_new (fixture->context);

  if (fixture->gateway->mode == MODE_DYING)
    {
      g_test_skip ("a dying gateway is reached once only; the link's tests cover it");
      return;
    }
  check.fingerprint = "sha256:abababababababababababababababababababababababababababababababab";
  check.peer_name = "the gateway";
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr (GSocketConnection) connection =
        g_socket_client_connect_to_host (client, "127.0.0.1", fixture->gateway->port, NULL, &error);

      /* A reset that comes before the connection is handed over fails the connect
       * itself; that is the same failure, one step earlier. */
      if (connection == NULL && fixture->gateway->mode == MODE_RESET_AT_ONCE)
        {
          g_clear_error (&error);
          continue;
        }
      g_assert_no_error (error);
      memset (&hs, 0, sizeof hs);
      cv_tls_client_handshake_async (G_IO_STREAM (connection), "127.0.0.1", &check, NULL,
                                     CV_TLS_ALPN, 1000, NULL, on_handshake, &hs);
      while (!hs.done)
        g_main_context_iteration (fixture->context, TRUE);
      g_assert_null (hs.tls);
      g_assert_nonnull (hs.error);
      g_clear_error (&hs.error);
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
    }
}

/* An agent's tunnel half against the same gateways, as the TLS client (connect side) and
 * as the server (share side): the preface or the handshake fails, once, with an error. */
static void
on_tunnel (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Handshake *hs = user_data;

  hs->tls = cv_agent_tunnel_open_finish (result, &hs->error);
  hs->done = TRUE;
}

static void
test_tunnel_half (Fixture *fixture, gconstpointer data)
{
  CvGatewayAddress address = { .host = (char *) "127.0.0.1", .port = fixture->gateway->port };
  g_autoptr (GMainContextPusher) pusher = g_main_context_pusher_new (fixture->context);

  for (guint i = 0; i < 6; i++)
    {
      Handshake hs = { 0 };
      g_autoptr (GCancellable) cancellable = g_cancellable_new ();

      cv_agent_tunnel_open_async (
        &address, "0123456789abcdef0123456789abcdef", i % 2 == 0, fixture->identity,
        "sha256:abababababababababababababababababababababababababababababababab", NULL,
        cancellable, on_tunnel, &hs);
      /* Every third try is cancelled while under way, the way a stopping agent does. */
      if (i % 3 == 2)
        {
          cv_test_iterate_for (fixture->context, 5);
          g_cancellable_cancel (cancellable);
        }
      while (!hs.done)
        g_main_context_iteration (fixture->context, TRUE);
      g_assert_null (hs.tls);
      g_assert_nonnull (hs.error);
      g_clear_error (&hs.error);
    }
}

/* ---- outside GTest: the agent in a child process ------------------------ */

static void
on_child_dialled (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Handshake *step = user_data;

  step->connection = cv_gateway_dial_finish (result, &step->error);
  step->done = TRUE;
}

static gboolean
on_child_timeout (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Blocks in the context (no sleeping: the connect must complete before the reset comes). */
static gboolean
child_wait (Handshake *step, GMainContext *context, guint timeout_ms)
{
  gboolean timed_out = FALSE;
  GSource *timeout = g_timeout_source_new (timeout_ms);

  g_source_set_callback (timeout, on_child_timeout, &timed_out, NULL);
  g_source_attach (timeout, context);
  while (!step->done && !timed_out)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timeout);
  g_source_unref (timeout);
  return step->done;
}

/* The cv-tls.c client on a connection the gateway reset after the (asynchronous) connect
 * and before the handshake: each attempt must fail with an error, nothing else. */
static int
child_client (const CvGatewayAddress *address, CvIdentity *identity, GMainContext *context)
{
  CvTlsPeerCheck check = { CV_TLS_PEER_CHECK_PINNED };

  check.fingerprint = address->fingerprint;
  check.peer_name = "the gateway";
  check.pin_key = "gateway_fingerprint";

  for (guint i = 0; i < OUTSIDE_GTEST_ATTEMPTS; i++)
    {
      Handshake step = { 0 };
      GSocket *socket;

      cv_gateway_dial_async (address, NULL, on_child_dialled, &step);
      if (!child_wait (&step, context, 5000))
        {
          g_printerr ("child: dial %u did not finish\n", i);
          return 2;
        }
      if (step.connection == NULL)
        {
          g_printerr ("child: dial %u failed: %s\n", i, step.error->message);
          return 2;
        }
      /* Wait for the reset to arrive, without reading (that would take the error). */
      socket = g_socket_connection_get_socket (step.connection);
      g_socket_condition_timed_wait (socket, G_IO_HUP | G_IO_ERR, 2 * G_USEC_PER_SEC, NULL, NULL);
      step.done = FALSE;
      cv_tls_client_handshake_async (G_IO_STREAM (step.connection), address->host, &check, identity,
                                     CV_TLS_ALPN, 2000, NULL, on_handshake, &step);
      if (!child_wait (&step, context, 5000))
        {
          g_printerr ("child: handshake %u did not finish\n", i);
          return 2;
        }
      if (step.tls != NULL || step.error == NULL
          || strstr (step.error->message, "the gateway") == NULL)
        {
          g_printerr ("child: handshake %u: expected an error naming the gateway, got %s\n", i,
                      step.error != NULL ? step.error->message : "a connection");
          return 3;
        }
      g_print ("child: handshake %u: %s\n", i, step.error->message);
      g_clear_error (&step.error);
      g_clear_object (&step.connection);
    }
  return 0;
}

static void
on_child_link_state (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  guint *backoffs = user_data;

  if (cv_agent_link_get_state (CV_AGENT_LINK (object)) == CV_AGENT_LINK_STATE_BACKING_OFF)
    (*backoffs)++;
}

/* A real agent link reconnecting to a gateway that resets every connection. */
static int
child_link (const CvGatewayAddress *address, CvIdentity *identity, GMainContext *context)
{
  g_autoptr (CvAgentLink) link = cv_agent_link_new (address, identity, CV_AGENT_ROLE_CONNECT, "s1",
                                                    "password", "agent", context);
  gint64 end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  guint backoffs = 0;

  cv_agent_link_set_backoff (link, 10, 20, 10, 20);
  g_signal_connect (link, "notify::state", G_CALLBACK (on_child_link_state), &backoffs);
  cv_agent_link_start (link);
  while (backoffs < 4 * OUTSIDE_GTEST_ATTEMPTS && g_get_monotonic_time () < end)
    {
      if (!g_main_context_iteration (context, FALSE))
        g_usleep (1000);
    }
  cv_agent_link_stop (link);
  if (backoffs < 4 * OUTSIDE_GTEST_ATTEMPTS)
    {
      g_printerr ("child: the link backed off %u times only\n", backoffs);
      return 2;
    }
  g_print ("child: %u failed reconnects, the last: %s\n", backoffs,
           cv_agent_link_get_last_error (link)->message);
  end = g_get_monotonic_time () + 200 * 1000;
  while (g_get_monotonic_time () < end)
    {
      if (!g_main_context_iteration (context, FALSE))
        g_usleep (1000);
    }
  return 0;
}

/* argv: OUTSIDE_GTEST_ARG client|link PORT */
static int
child_main (int argc, char **argv)
{
  g_autoptr (GMainContext) context = g_main_context_new ();
  g_autoptr (GMainContextPusher) pusher = g_main_context_pusher_new (context);
  g_autoptr (GError) error = NULL;
  g_autofree char *state_dir = g_dir_make_tmp ("culvert-handshake-XXXXXX", &error);
  g_autoptr (CvIdentity) identity = NULL;
  CvGatewayAddress address = {
    .host = (char *) "127.0.0.1",
    .fingerprint =
      (char *) "sha256:abababababababababababababababababababababababababababababababab",
  };
  int status;

  if (argc != 4 || state_dir == NULL)
    return 2;
  address.port = (guint16) g_ascii_strtoull (argv[3], NULL, 10);
  identity = cv_identity_load_or_create (state_dir, "agent", "agent", NULL, &error);
  if (identity == NULL)
    {
      g_printerr ("child: %s\n", error->message);
      return 2;
    }
  cv_tls_restrict_process_to_tls13 ();
  if (g_str_equal (argv[2], "client"))
    status = child_client (&address, identity, context);
  else
    status = child_link (&address, identity, context);
  g_clear_object (&identity);
  cv_test_remove_tree (state_dir);
  return status;
}

/* Runs child_main() in a new process of this program, with fatal criticals, against
 * the fixture's gateway: a critical there kills it. */
static void
test_outside_gtest (Fixture *fixture, gconstpointer data)
{
  const char *what = g_str_has_suffix (g_test_get_path (), "/client") ? "client" : "link";
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (
    G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_autoptr (GSubprocess) child = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *port = g_strdup_printf ("%u", fixture->gateway->port);
  g_autofree char *output = NULL;

  g_subprocess_launcher_setenv (launcher, "G_DEBUG", "fatal-warnings,fatal-criticals", TRUE);
  child = g_subprocess_launcher_spawn (launcher, &error, self_path, OUTSIDE_GTEST_ARG, what, port,
                                       NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (child, NULL, NULL, &output, NULL, &error);
  g_assert_no_error (error);
  g_test_message ("%s", output);
  if (g_subprocess_get_if_signaled (child))
    {
      g_test_fail_printf ("the agent died of signal %d (a critical, under fatal-criticals?)",
                          g_subprocess_get_term_sig (child));
      return;
    }
  g_assert_cmpint (g_subprocess_get_exit_status (child), ==, 0);
  g_assert_cmpint (g_atomic_int_get (&fixture->gateway->accepted), >=, OUTSIDE_GTEST_ATTEMPTS);
}

int
main (int argc, char **argv)
{
  static const struct {
    const char *name;
    Mode mode;
  } modes[] = {
    { "reset-at-once", MODE_RESET_AT_ONCE },
    { "reset-after-hello", MODE_RESET_AFTER_HELLO },
    { "close-after-hello", MODE_CLOSE_AFTER_HELLO },
    { "half-record-reset", MODE_HALF_RECORD_RESET },
    { "dying", MODE_DYING },
  };

  self_path = argv[0];
  if (argc > 1 && g_str_equal (argv[1], OUTSIDE_GTEST_ARG))
    return child_main (argc, argv);

  g_test_init (&argc, &argv, NULL);
  cv_tls_restrict_process_to_tls13 ();

  for (guint i = 0; i < G_N_ELEMENTS (modes); i++)
    {
      g_autofree char *retries = g_strdup_printf ("/handshake-failure/%s/retries", modes[i].name);
      g_autofree char *stop = g_strdup_printf ("/handshake-failure/%s/stop-anywhere",
                                               modes[i].name);
      g_autofree char *alone = g_strdup_printf ("/handshake-failure/%s/client-alone",
                                                modes[i].name);
      g_autofree char *tunnel = g_strdup_printf ("/handshake-failure/%s/tunnel-half",
                                                 modes[i].name);

      g_test_add (retries, Fixture, GINT_TO_POINTER (modes[i].mode), fixture_setup,
                  test_fails_and_retries, fixture_teardown);
      g_test_add (stop, Fixture, GINT_TO_POINTER (modes[i].mode), fixture_setup, test_stop_anywhere,
                  fixture_teardown);
      g_test_add (alone, Fixture, GINT_TO_POINTER (modes[i].mode), fixture_setup, test_client_alone,
                  fixture_teardown);
      g_test_add (tunnel, Fixture, GINT_TO_POINTER (modes[i].mode), fixture_setup, test_tunnel_half,
                  fixture_teardown);
    }
  g_test_add ("/handshake-failure/stall/stop-during-handshake", Fixture,
              GINT_TO_POINTER (MODE_STALL), fixture_setup, test_stop_during_handshake,
              fixture_teardown);
  g_test_add ("/handshake-failure/stall/client-alone-deadline", Fixture,
              GINT_TO_POINTER (MODE_STALL), fixture_setup, test_client_alone, fixture_teardown);
  g_test_add ("/handshake-failure/stall/stop-anywhere", Fixture, GINT_TO_POINTER (MODE_STALL),
              fixture_setup, test_stop_anywhere, fixture_teardown);
  g_test_add ("/handshake-failure/reset-before-handshake/outside-gtest/client", Fixture,
              GINT_TO_POINTER (MODE_RESET_AFTER_CONNECT), fixture_setup, test_outside_gtest,
              fixture_teardown);
  g_test_add ("/handshake-failure/reset-at-once/outside-gtest/link", Fixture,
              GINT_TO_POINTER (MODE_RESET_AT_ONCE), fixture_setup, test_outside_gtest,
              fixture_teardown);
  return g_test_run ();
}
