/* test-client-queue.c: the connect agent's held clients (roles/cv-client-queue.c) over
 * real TCP on loopback: held until their deadline and then reset, forwarded in order,
 * deadlines cleared, and a hold of 0 that refuses at once without leaving its timer
 * behind (a use-after-free under ASan before the fix). */
#include "cv-test-util.h"

#include "roles/cv-client-queue.h"

#include <errno.h>
#include <string.h>

typedef struct {
  GMainContext *context;
  GSocket *listener;
  guint16 port;
  CvMapping *mapping;
  CvClientQueue *queue;
  GPtrArray *clients;   /* of GSocket: our ends, that see what the queue does */
  GPtrArray *forwarded; /* of GSocketConnection, in the order forward_all gave them */
} Fixture;

static GError *
why_offline (gpointer user_data)
{
  return g_error_new_literal (G_IO_ERROR, G_IO_ERROR_NOT_CONNECTED, "the test says offline");
}

static void
fixture_setup (Fixture *fixture, gconstpointer data)
{
  fixture->context = g_main_context_new ();
  g_main_context_push_thread_default (fixture->context);
  fixture->listener = cv_test_listen_loopback (&fixture->port);
  fixture->mapping = cv_mapping_new ("127.0.0.1", 0, "localhost", 5900, fixture->context);
  fixture->queue = cv_client_queue_new (fixture->context, 3, why_offline, fixture);
  fixture->clients = g_ptr_array_new_with_free_func (g_object_unref);
  fixture->forwarded = g_ptr_array_new_with_free_func (g_object_unref);
}

static void
fixture_teardown (Fixture *fixture, gconstpointer data)
{
  g_clear_pointer (&fixture->queue, cv_client_queue_free);
  cv_test_iterate_for (fixture->context, 10);
  g_ptr_array_unref (fixture->forwarded);
  g_ptr_array_unref (fixture->clients);
  g_assert_finalize_object (fixture->mapping);
  g_object_unref (fixture->listener);
  g_main_context_pop_thread_default (fixture->context);
  g_main_context_unref (fixture->context);
}

/* A client connects; the accepted end goes into the queue (@pushed: whether it took it). */
static GSocketConnection *
arrive (Fixture *fixture, gboolean *pushed)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) client = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                             G_SOCKET_PROTOCOL_TCP, &error);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, fixture->port);
  g_autoptr (GSocket) accepted = NULL;
  GSocketConnection *connection;

  g_assert_no_error (error);
  g_assert_true (g_socket_connect (client, address, NULL, &error));
  g_assert_no_error (error);
  accepted = g_socket_accept (fixture->listener, NULL, &error);
  g_assert_no_error (error);
  connection = g_socket_connection_factory_create_connection (accepted);
  *pushed = cv_client_queue_push (fixture->queue, connection, fixture->mapping);
  g_socket_set_blocking (client, FALSE);
  g_ptr_array_add (fixture->clients, g_steal_pointer (&client));
  return connection;
}

/* What client @i sees now: 0 nothing yet, ECONNRESET a reset, -1 an end of stream. */
static int
client_sees (Fixture *fixture, guint i)
{
  g_autoptr (GError) error = NULL;
  char byte;
  gssize n = g_socket_receive (fixture->clients->pdata[i], &byte, 1, NULL, &error);

  if (n == 0)
    return -1;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return 0;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED))
    return ECONNRESET;
  g_assert_no_error (error);
  return 1;
}

static void
test_held_then_reset (Fixture *fixture, gconstpointer data)
{
  gboolean pushed;
  g_autoptr (GSocketConnection) connection = arrive (fixture, &pushed);

  g_assert_true (pushed);
  cv_client_queue_hold (fixture->queue, 100);
  cv_test_iterate_for (fixture->context, 30);
  g_assert_cmpint (client_sees (fixture, 0), ==, 0); /* still held */
  g_assert_cmpuint (cv_client_queue_get_length (fixture->queue), ==, 1);
  cv_test_iterate_for (fixture->context, 200);
  g_assert_cmpuint (cv_client_queue_get_length (fixture->queue), ==, 0);
  g_assert_cmpint (client_sees (fixture, 0), ==, ECONNRESET); /* a reset, not a FIN */
  g_assert_nonnull (cv_mapping_get_error (fixture->mapping));
  g_assert_nonnull (
    strstr (cv_mapping_get_error (fixture->mapping)->message, "the test says offline"));
}

static void
on_forward (GSocketConnection *connection, CvMapping *mapping, gpointer user_data)
{
  Fixture *fixture = user_data;

  g_ptr_array_add (fixture->forwarded, g_object_ref (connection));
}

static void
test_forward_in_order_and_full (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GSocketConnection) c0 = NULL, c1 = NULL, c2 = NULL, c3 = NULL;
  gboolean pushed;

  c0 = arrive (fixture, &pushed);
  g_assert_true (pushed);
  c1 = arrive (fixture, &pushed);
  g_assert_true (pushed);
  c2 = arrive (fixture, &pushed);
  g_assert_true (pushed);
  c3 = arrive (fixture, &pushed);
  g_assert_false (pushed); /* at most 3 */
  cv_client_queue_hold (fixture->queue, 50);
  cv_client_queue_clear_deadlines (fixture->queue); /* the tunnel is asked for */
  cv_test_iterate_for (fixture->context, 150);
  g_assert_cmpint (client_sees (fixture, 0), ==, 0);
  cv_client_queue_forward_all (fixture->queue, on_forward, fixture);
  g_assert_cmpuint (fixture->forwarded->len, ==, 3);
  g_assert_true (fixture->forwarded->pdata[0] == c0);
  g_assert_true (fixture->forwarded->pdata[1] == c1);
  g_assert_true (fixture->forwarded->pdata[2] == c2);
  g_assert_cmpuint (cv_client_queue_get_length (fixture->queue), ==, 0);
}

/* A hold of 0 while a timer waits refuses now and leaves no timer to fire on a freed
 * queue. */
static void
test_hold_zero_after_hold (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GSocketConnection) c0 = NULL, c1 = NULL;
  gboolean pushed;

  c0 = arrive (fixture, &pushed);
  cv_client_queue_hold (fixture->queue, 80);
  c1 = arrive (fixture, &pushed);
  cv_client_queue_hold (fixture->queue, 0);
  /* c0 keeps its deadline; c1 is refused now. */
  g_assert_cmpuint (cv_client_queue_get_length (fixture->queue), ==, 1);
  cv_test_iterate_for (fixture->context, 10);
  g_assert_cmpint (client_sees (fixture, 1), ==, ECONNRESET);
  /* Past c0's deadline, with the queue gone: the old timer of the first hold must not
   * fire into it (ASan saw a use-after-free here). */
  g_clear_pointer (&fixture->queue, cv_client_queue_free);
  cv_test_iterate_for (fixture->context, 150);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/client-queue/held-then-reset", Fixture, NULL, fixture_setup, test_held_then_reset,
              fixture_teardown);
  g_test_add ("/client-queue/forward-in-order-and-full", Fixture, NULL, fixture_setup,
              test_forward_in_order_and_full, fixture_teardown);
  g_test_add ("/client-queue/hold-zero-after-hold", Fixture, NULL, fixture_setup,
              test_hold_zero_after_hold, fixture_teardown);
  return g_test_run ();
}
