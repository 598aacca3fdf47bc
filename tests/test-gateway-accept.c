/* test-gateway-accept.c: the gateway out of file descriptors.  Its accepts fail with
 * EMFILE while connections wait in the backlog; it must neither spin nor die (a
 * GSocketService logs a warning per failed accept, fatal here, and accepts again at
 * once), and must serve the waiting connections once descriptors are free. */
#include "gateway-fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sys/resource.h>

#define N_WAITING 3

static void
test_out_of_descriptors (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GArray) fds = g_array_new (FALSE, FALSE, sizeof (int));
  struct rlimit saved, low;
  Raw *waiting[N_WAITING];
  int fd;

  /* A soft limit a little above what is open, every descriptor under it taken but the
   * clients' own: the gateway has none left for what it accepts. */
  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  fd = g_open ("/dev/null", O_RDONLY | O_CLOEXEC, 0);
  g_assert_cmpint (fd, >=, 0);
  low = saved;
  low.rlim_cur = fd + 16;
  g_close (fd, NULL);
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &low), ==, 0);
  while ((fd = g_open ("/dev/null", O_RDONLY | O_CLOEXEC, 0)) >= 0)
    g_array_append_val (fds, fd);
  g_assert_cmpint (errno, ==, EMFILE);
  /* As many free as the clients take. */
  for (guint i = 0; i < N_WAITING; i++)
    {
      g_close (g_array_index (fds, int, fds->len - 1), NULL);
      g_array_set_size (fds, fds->len - 1);
    }
  for (guint i = 0; i < N_WAITING; i++)
    waiting[i] = raw_connect (fixture);

  /* A second at EMFILE: accepts fail, and nothing else happens. */
  cv_test_iterate_for (NULL, 1000);
  for (guint i = 0; i < N_WAITING; i++)
    g_assert_false (raw_is_closed (waiting[i]));

  /* Descriptors back: each waiting connection is accepted and read; as it is not
   * TLS, the gateway closes it (within its first bytes, not its handshake deadline). */
  for (guint i = 0; i < fds->len; i++)
    g_close (g_array_index (fds, int, i), NULL);
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  for (guint i = 0; i < N_WAITING; i++)
    {
      raw_write (waiting[i], "GET / HTTP/1.0\r\n\r\n", 18);
      g_assert_true (gateway_wait_until (raw_is_closed, waiting[i], WAIT_MS));
    }
  /* And it still takes new ones. */
  raw_probe (fixture, "not tls", 7);
}

int
main (int argc, char *argv[])
{
  gateway_test_init (&argc, &argv);
  gateway_test_add ("/gateway/accept/out-of-descriptors", NULL, test_out_of_descriptors);
  return gateway_test_run ();
}
