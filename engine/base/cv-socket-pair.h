/* cv-socket-pair.h: two connected stream sockets in this process. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* An AF_UNIX SOCK_STREAM socket pair, close-on-exec; where there is no AF_UNIX
 * (Windows), a TCP connection on loopback (TCP_NODELAY on both ends).  Blocking, as
 * GIO makes sockets; the caller sets what it needs. */
gboolean cv_socket_pair_new (GSocket **ours, GSocket **theirs, GError **error);

G_END_DECLS
