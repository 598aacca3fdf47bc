/* cv-socket-util.c: small things every socket pump in the engine does the same way. */
#include "base/cv-socket-util.h"

#include <gio/gnetworking.h>

/**
 * cv_socket_prepare_for_pump:
 *
 * Non-blocking, for a pump driven by GSources, and for TCP without Nagle's delay: a
 * pump forwards whatever arrived at once, and an interactive session (a keystroke, a
 * screen update) must not wait for an ACK of the previous segment.
 */
void
cv_socket_prepare_for_pump (GSocket *socket)
{
  GSocketFamily family = g_socket_get_family (socket);

  g_socket_set_blocking (socket, FALSE);
  if (family == G_SOCKET_FAMILY_IPV4 || family == G_SOCKET_FAMILY_IPV6)
    g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
}

/**
 * cv_socket_close_with_reset:
 *
 * Close by RST (SO_LINGER 0) rather than FIN, so that the peer sees the abort that
 * happened on the far side instead of a clean end of stream it could take for a
 * complete one.  Bytes still queued for sending are dropped.
 */
void
cv_socket_close_with_reset (GSocket *socket)
{
  struct linger linger = { .l_onoff = 1, .l_linger = 0 };

  if (g_socket_is_closed (socket))
    return;
  /* g_socket_set_option() takes an int; SO_LINGER takes a struct. */
  setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_LINGER, (const void *) &linger,
              sizeof linger);
  g_socket_close (socket, NULL);
}

/* How GIO reports ECONNRESET and EPIPE: the peer reset or is gone. */
gboolean
cv_socket_error_is_reset (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_BROKEN_PIPE);
}
