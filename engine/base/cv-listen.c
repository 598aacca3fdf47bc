/* cv-listen.c: add a listening TCP socket for "host:port" to a GSocketListener.
 *
 * g_socket_listener_add_address() leaves IPV6_V6ONLY to the system default, so on
 * Linux "[::]:8443" also takes IPv4 and a second listener on "0.0.0.0:8443" then
 * fails with "address in use".  IPv6 sockets here are IPv6 only; list both
 * addresses to serve both families. */
#include "base/cv-listen.h"

#include <gio/gnetworking.h>

gboolean
cv_listen_add (GSocketListener *listener,
               const char *host,
               guint16 port,
               int backlog,
               guint16 *bound_port,
               GError **error)
{
  g_autoptr (GInetAddress) address = g_inet_address_new_from_string (host);
  g_autoptr (GSocketAddress) socket_address = NULL;
  g_autoptr (GSocketAddress) local = NULL;
  g_autoptr (GSocket) socket = NULL;
  GSocketFamily family;

  if (address == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "cannot listen on “%s”: not an IP address", host);
      return FALSE;
    }
  family = g_inet_address_get_family (address);
  socket = g_socket_new (family, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return FALSE;
  if (family == G_SOCKET_FAMILY_IPV6)
    g_socket_set_option (socket, IPPROTO_IPV6, IPV6_V6ONLY, 1, NULL);
  socket_address = g_inet_socket_address_new (address, port);
  g_socket_set_listen_backlog (socket, backlog);
  if (!g_socket_bind (socket, socket_address, TRUE, error) || !g_socket_listen (socket, error)
      || !g_socket_listener_add_socket (listener, socket, NULL, error))
    {
      g_prefix_error (error, "cannot listen on %s%s%s port %u: ",
                      family == G_SOCKET_FAMILY_IPV6 ? "[" : "", host,
                      family == G_SOCKET_FAMILY_IPV6 ? "]" : "", port);
      return FALSE;
    }
  if (bound_port != NULL)
    {
      local = g_socket_get_local_address (socket, error);
      if (local == NULL)
        return FALSE;
      *bound_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
    }
  return TRUE;
}
