/* test-acceptor.c: accepting when the process is out of file descriptors — paused, not
 * spinning (GSocketService warns and accepts again at once, thousands of times a
 * second), and every waiting connection taken once descriptors are free. */
#include "base/cv-acceptor.h"
#include "base/cv-listen.h"
#include "cv-test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/resource.h>

#define N_CLIENTS 3

typedef struct {
  GPtrArray *accepted; /* of GSocketConnection */
} Accepted;

static void
on_incoming (CvAcceptor *acceptor, GSocketConnection *connection, Accepted *accepted)
{
  g_ptr_array_add (accepted->accepted, g_object_ref (connection));
}

static gboolean
all_accepted (gpointer data)
{
  return ((Accepted *) data)->accepted->len == N_CLIENTS;
}

/* Descriptors up to the soft limit, all taken: returns them, to be closed. */
static GArray *
use_up_descriptors (void)
{
  GArray *fds = g_array_new (FALSE, FALSE, sizeof (int));
  int fd;

  while ((fd = g_open ("/dev/null", O_RDONLY | O_CLOEXEC, 0)) >= 0)
    g_array_append_val (fds, fd);
  g_assert_cmpint (errno, ==, EMFILE);
  return fds;
}

static void
test_out_of_descriptors (void)
{
  g_autoptr (CvAcceptor) acceptor = cv_acceptor_new ();
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  Accepted accepted = { g_ptr_array_new_with_free_func (g_object_unref) };
  struct rlimit saved, low;
  g_autoptr (GArray) fds = NULL;
  guint16 port = 0;
  guint failures;

  g_assert_true (cv_listen_add (G_SOCKET_LISTENER (acceptor), "127.0.0.1", 0, 16, &port, &error));
  g_assert_no_error (error);
  g_signal_connect (acceptor, "incoming", G_CALLBACK (on_incoming), &accepted);
  /* Clients connected before the descriptors run out: they wait in the backlog. */
  for (guint i = 0; i < N_CLIENTS; i++)
    {
      g_autoptr (GSocketClient) client = g_socket_client_new ();
      GSocketConnection *connection = g_socket_client_connect_to_host (client, "127.0.0.1", port,
                                                                       NULL, &error);

      g_assert_no_error (error);
      g_ptr_array_add (clients, connection);
    }

  /* A soft limit just above what is open, then every descriptor under it taken. */
  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  low = saved;
  {
    int probe = g_open ("/dev/null", O_RDONLY | O_CLOEXEC, 0);

    g_assert_cmpint (probe, >=, 0);
    low.rlim_cur = probe + 8;
    g_close (probe, NULL);
  }
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &low), ==, 0);
  fds = use_up_descriptors ();

  cv_acceptor_start (acceptor);
  cv_test_iterate_for (NULL, 1000);
  failures = cv_acceptor_get_n_failures (acceptor);
  g_test_message ("%u failed accepts in 1 s", failures);
  /* 50, 100, 200, 400 ms pauses: a handful of tries, not a spin. */
  g_assert_cmpuint (failures, >=, 2);
  g_assert_cmpuint (failures, <=, 10);
  g_assert_cmpuint (accepted.accepted->len, ==, 0);

  /* Descriptors free again: the waiting clients are taken, within the longest pause. */
  for (guint i = 0; i < fds->len; i++)
    g_close (g_array_index (fds, int, i), NULL);
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  g_assert_true (cv_test_wait_until (all_accepted, &accepted, 10000));

  cv_acceptor_stop (acceptor);
  g_socket_listener_close (G_SOCKET_LISTENER (acceptor));
  g_ptr_array_unref (accepted.accepted);
}

/* Stopped, it accepts nothing more, and a pending accept's reference goes. */
static void
test_stop (void)
{
  CvAcceptor *acceptor = cv_acceptor_new ();
  g_autoptr (GError) error = NULL;
  guint16 port = 0;

  g_assert_true (cv_listen_add (G_SOCKET_LISTENER (acceptor), "127.0.0.1", 0, 16, &port, &error));
  cv_acceptor_start (acceptor);
  cv_test_iterate_for (NULL, 20);
  cv_acceptor_stop (acceptor);
  cv_acceptor_stop (acceptor);
  cv_test_iterate_for (NULL, 50);
  g_socket_listener_close (G_SOCKET_LISTENER (acceptor));
  g_assert_finalize_object (acceptor);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/acceptor/out-of-descriptors", test_out_of_descriptors);
  g_test_add_func ("/acceptor/stop", test_stop);
  return g_test_run ();
}
