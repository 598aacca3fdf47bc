/* cv-socket-pair.c: two connected stream sockets in this process: an AF_UNIX socket
 * pair, or where there is none (Windows) a TCP connection on loopback. */
#include "base/cv-socket-pair.h"

#include <errno.h>
#include <gio/gnetworking.h>

#ifndef G_OS_WIN32
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>
#define CV_SOCKET_PAIR_UNIX 1
#endif
/* Tests build the loopback pair on Unix too, with -DCV_SOCKET_PAIR_TCP. */
#ifdef CV_SOCKET_PAIR_TCP
#undef CV_SOCKET_PAIR_UNIX
#endif

#ifdef CV_SOCKET_PAIR_UNIX
gboolean
cv_socket_pair_new (GSocket **ours, GSocket **theirs, GError **error)
{
  int fds[2];
  int saved_errno;

#ifdef SOCK_CLOEXEC
  if (socketpair (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
#else
  if (socketpair (AF_UNIX, SOCK_STREAM, 0, fds) != 0)
#endif
    {
      saved_errno = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "Could not create a local socket pair: %s", g_strerror (saved_errno));
      return FALSE;
    }
#ifndef SOCK_CLOEXEC
  fcntl (fds[0], F_SETFD, FD_CLOEXEC);
  fcntl (fds[1], F_SETFD, FD_CLOEXEC);
#endif

  *ours = g_socket_new_from_fd (fds[0], error);
  if (*ours == NULL)
    {
      close (fds[0]);
      close (fds[1]);
      return FALSE;
    }
  *theirs = g_socket_new_from_fd (fds[1], error);
  if (*theirs == NULL)
    {
      g_clear_object (ours);
      close (fds[1]);
      return FALSE;
    }
  return TRUE;
}
#else
/* No AF_UNIX socketpair (Windows): two TCP sockets joined on loopback.  The listener
 * lives only for the one connect, and the accepted socket must be the one we
 * connected, not another local process that raced for the port. */
gboolean
cv_socket_pair_new (GSocket **ours, GSocket **theirs, GError **error)
{
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) listen_address = NULL;
  g_autoptr (GSocketAddress) client_address = NULL;
  g_autoptr (GSocketAddress) accepted_peer = NULL;
  g_autoptr (GSocket) listener = NULL;
  g_autoptr (GSocket) client = NULL;
  g_autoptr (GSocket) accepted = NULL;

  listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                           error);
  if (listener == NULL || !g_socket_bind (listener, any_port, FALSE, error)
      || !g_socket_listen (listener, error))
    return FALSE;
  listen_address = g_socket_get_local_address (listener, error);
  if (listen_address == NULL)
    return FALSE;
  client = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (client == NULL || !g_socket_connect (client, listen_address, NULL, error))
    return FALSE;
  client_address = g_socket_get_local_address (client, error);
  if (client_address == NULL)
    return FALSE;

  for (;;)
    {
      g_clear_object (&accepted);
      g_clear_object (&accepted_peer);
      accepted = g_socket_accept (listener, NULL, error);
      if (accepted == NULL)
        return FALSE;
      accepted_peer = g_socket_get_remote_address (accepted, error);
      if (accepted_peer == NULL)
        return FALSE;
      if (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (accepted_peer))
            == g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (client_address))
          && g_inet_address_equal (g_inet_socket_address_get_address (
                                     G_INET_SOCKET_ADDRESS (accepted_peer)),
                                   g_inet_socket_address_get_address (
                                     G_INET_SOCKET_ADDRESS (client_address))))
        break;
      g_socket_close (accepted, NULL);
    }
  g_socket_set_option (client, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  g_socket_set_option (accepted, IPPROTO_TCP, TCP_NODELAY, 1, NULL);

  *ours = g_steal_pointer (&accepted);
  *theirs = g_steal_pointer (&client);
  return TRUE;
}
#endif
