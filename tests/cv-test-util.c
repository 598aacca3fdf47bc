/* cv-test-util.c: shared helpers for the engine's tests. */
#include "cv-test-util.h"

#include <glib/gstdio.h>
#include <sys/socket.h>

/* Two connected Unix stream sockets, as GIO connections. */
void
cv_test_socket_pair (GSocketConnection **a, GSocketConnection **b)
{
  int fds[2];
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) socket_a = NULL;
  g_autoptr (GSocket) socket_b = NULL;

  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), ==, 0);
  socket_a = g_socket_new_from_fd (fds[0], &error);
  g_assert_no_error (error);
  socket_b = g_socket_new_from_fd (fds[1], &error);
  g_assert_no_error (error);
  *a = g_socket_connection_factory_create_connection (socket_a);
  *b = g_socket_connection_factory_create_connection (socket_b);
}

void
cv_test_mux_pair (const CvMuxConfig *config_a, const CvMuxConfig *config_b, CvMux **a, CvMux **b)
{
  g_autoptr (GSocketConnection) conn_a = NULL;
  g_autoptr (GSocketConnection) conn_b = NULL;

  cv_test_socket_pair (&conn_a, &conn_b);
  *a = cv_mux_new (G_IO_STREAM (conn_a), CV_MUX_ROLE_INITIATOR, config_a);
  *b = cv_mux_new (G_IO_STREAM (conn_b), CV_MUX_ROLE_RESPONDER, config_b);
  cv_mux_start (*a);
  cv_mux_start (*b);
}

static gboolean
on_timeout (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterate the default main context until @condition holds; FALSE on timeout. */
gboolean
cv_test_wait_until (gboolean (*condition) (gpointer), gpointer data, guint timeout_ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (timeout_ms, on_timeout, &timed_out);

  while (!condition (data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return !timed_out;
}

void
cv_test_fill_random (guint8 *buffer, gsize len, guint32 seed)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);

  for (gsize i = 0; i < len; i++)
    buffer[i] = g_rand_int (rand) & 0xff;
}

/* A TCP listener on 127.0.0.1 and a free port.  The backlog is 256: GIO's default of
 * 10 makes the kernel reset connections that arrive in a burst. */
GSocket *
cv_test_listen_loopback (guint16 *port)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) local = NULL;
  GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                  &error);

  g_assert_no_error (error);
  g_socket_bind (socket, address, TRUE, &error);
  g_assert_no_error (error);
  /* GIO's default backlog of 10 resets connections under a burst. */
  g_socket_set_listen_backlog (socket, 256);
  g_socket_listen (socket, &error);
  g_assert_no_error (error);
  local = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
  return socket;
}

/* Deletes @path and everything under it (a test's temporary directory). */
void
cv_test_remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        cv_test_remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

/* Runs @context (NULL: the global default) for @ms, whatever happens meanwhile. */
void
cv_test_iterate_for (GMainContext *context, guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < end)
    if (!g_main_context_iteration (context, FALSE))
      g_usleep (1000);
}
