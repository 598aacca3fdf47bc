/* test-gateway-probe.c: learning a gateway's key before trusting it — from a real gateway
 * in-process, and the errors from what is not one: a port nobody listens on, a server that
 * never speaks, a TLS server without the culvert ALPN, and a caller who gives up. */
#include "gateway-fixture.h"

#include "cv-test-tls-server.h"
#include "transport/cv-gateway-probe.h"

#include <string.h>

typedef struct {
  gboolean done;
  char *fingerprint;
  GError *error;
} Result;

static void
on_probed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Result *outcome = user_data;

  outcome->fingerprint = cv_gateway_probe_fingerprint_finish (result, &outcome->error);
  outcome->done = TRUE;
}

static gboolean
is_done (gpointer data)
{
  return ((Result *) data)->done;
}

/* Probes 127.0.0.1:@port and waits for the answer, at most @wait_ms. */
static void
probe (guint16 port, guint timeout_ms, GCancellable *cancellable, Result *outcome, guint wait_ms)
{
  cv_gateway_probe_fingerprint_async ("127.0.0.1", port, timeout_ms, cancellable, on_probed,
                                      outcome);
  if (!gateway_wait_until (is_done, outcome, wait_ms))
    g_error ("the probe of port %u did not finish within %u ms", port, wait_ms);
  /* An answer and an error never come together. */
  g_assert_true ((outcome->fingerprint == NULL) != (outcome->error == NULL));
}

static void
result_clear (Result *outcome)
{
  g_clear_pointer (&outcome->fingerprint, g_free);
  g_clear_error (&outcome->error);
  outcome->done = FALSE;
}

static gboolean
has_no_links (gpointer data)
{
  Fixture *fixture = data;

  return cv_gateway_get_n_links (fixture->gateway) == 0
         && cv_gateway_get_n_unauthenticated (fixture->gateway) == 0;
}

static void
test_gateway (Fixture *fixture, gconstpointer data)
{
  Result outcome = { 0 };

  probe (fixture->port, 0, NULL, &outcome, WAIT_MS);
  g_assert_no_error (outcome.error);
  g_assert_cmpstr (outcome.fingerprint, ==,
                   cv_identity_get_fingerprint (fixture->gateway_identity));
  g_assert_cmpuint (strlen (outcome.fingerprint), ==, CV_FINGERPRINT_LENGTH);
  result_clear (&outcome);

  /* It presented no certificate and said nothing: the gateway let go of it, no agent
   * logged in. */
  g_assert_true (gateway_wait_until (has_no_links, fixture, WAIT_MS));
  g_assert_cmpuint (cv_gateway_get_n_sessions_online (fixture->gateway), ==, 0);

  /* Twice the same key. */
  probe (fixture->port, 2000, NULL, &outcome, WAIT_MS);
  g_assert_cmpstr (outcome.fingerprint, ==,
                   cv_identity_get_fingerprint (fixture->gateway_identity));
  result_clear (&outcome);
}

static void
test_refused (Fixture *fixture, gconstpointer data)
{
  Result outcome = { 0 };
  guint16 port;
  GSocket *listener = cv_test_listen_loopback (&port);

  /* A port that was free a moment ago, closed now: nobody listens there. */
  g_socket_close (listener, NULL);
  g_object_unref (listener);
  probe (port, 5000, NULL, &outcome, WAIT_MS);
  g_assert_error (outcome.error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
  result_clear (&outcome);
}

static void
test_silent (Fixture *fixture, gconstpointer data)
{
  Result outcome = { 0 };
  guint16 port;
  /* Listening, never accepting: the kernel completes the TCP handshake, nobody speaks. */
  g_autoptr (GSocket) listener = cv_test_listen_loopback (&port);
  gint64 start = g_get_monotonic_time ();
  gint64 took_ms;

  probe (port, 700, NULL, &outcome, WAIT_MS);
  took_ms = (g_get_monotonic_time () - start) / 1000;
  g_assert_error (outcome.error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_nonnull (strstr (outcome.error->message, "127.0.0.1"));
  g_test_message ("silent server: %s (%" G_GINT64_FORMAT " ms)", outcome.error->message, took_ms);
  g_assert_cmpint (took_ms, >=, 600);
  g_assert_cmpint (took_ms, <, 3000);
  result_clear (&outcome);
}

typedef struct {
  CvIdentity *identity;
  GSocketConnection *connection;
  GIOStream *tls;
  GError *error;
  gboolean done;
} OtherServer;

static void
on_other_handshake (GObject *source, GAsyncResult *result, gpointer user_data)
{
  OtherServer *server = user_data;

  server->tls = cv_test_tls_server_handshake_finish (result, &server->error);
  server->done = TRUE;
}

static void
on_other_accepted (GObject *source, GAsyncResult *result, gpointer user_data)
{
  OtherServer *server = user_data;
  g_autoptr (GError) error = NULL;

  server->connection = g_socket_listener_accept_finish (G_SOCKET_LISTENER (source), result, NULL,
                                                        &error);
  g_assert_no_error (error);
  /* TLS 1.3 with a certificate, but no application protocol: not a gateway. */
  cv_test_tls_server_handshake_async (G_IO_STREAM (server->connection), server->identity, FALSE,
                                      NULL, NULL, 5000, NULL, on_other_handshake, server);
}

static gboolean
other_is_done (gpointer data)
{
  return ((OtherServer *) data)->done;
}

static void
test_not_a_gateway (Fixture *fixture, gconstpointer data)
{
  Result outcome = { 0 };
  OtherServer server = { fixture->share_identity };
  g_autoptr (GSocketListener) listener = g_socket_listener_new ();
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;
  guint16 port;

  g_socket_listener_add_address (listener, address, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                 NULL, &bound, &error);
  g_assert_no_error (error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_listener_accept_async (listener, NULL, on_other_accepted, &server);

  probe (port, 5000, NULL, &outcome, WAIT_MS);
  g_assert_error (outcome.error, CV_TLS_ERROR, CV_TLS_ERROR_ALPN);
  g_test_message ("not a gateway: %s", outcome.error->message);
  g_assert_nonnull (strstr (outcome.error->message, "probably not a Culvert gateway"));
  g_assert_nonnull (strstr (outcome.error->message, CV_TLS_ALPN));
  result_clear (&outcome);

  g_assert_true (gateway_wait_until (other_is_done, &server, WAIT_MS));
  g_clear_error (&server.error);
  g_clear_object (&server.tls);
  g_clear_object (&server.connection);
  g_socket_listener_close (listener);
}

static void
cancel_now (gpointer data)
{
  g_cancellable_cancel (G_CANCELLABLE (data));
}

static void
test_cancelled (Fixture *fixture, gconstpointer data)
{
  Result outcome = { 0 };
  guint16 port;
  g_autoptr (GSocket) listener = cv_test_listen_loopback (&port);
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  gint64 start = g_get_monotonic_time ();

  g_timeout_add_once (200, cancel_now, cancellable);
  probe (port, 10000, cancellable, &outcome, WAIT_MS);
  g_assert_error (outcome.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 3 * G_USEC_PER_SEC);
  result_clear (&outcome);
}

int
main (int argc, char *argv[])
{
  gateway_test_init (&argc, &argv);
  gateway_test_add ("/gateway-probe/gateway", NULL, test_gateway);
  gateway_test_add ("/gateway-probe/refused", NULL, test_refused);
  gateway_test_add ("/gateway-probe/silent", NULL, test_silent);
  gateway_test_add ("/gateway-probe/not-a-gateway", NULL, test_not_a_gateway);
  gateway_test_add ("/gateway-probe/cancelled", NULL, test_cancelled);
  return gateway_test_run ();
}
