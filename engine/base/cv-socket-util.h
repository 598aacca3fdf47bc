/* cv-socket-util.h: small things every socket pump in the engine does the same way. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

void cv_socket_prepare_for_pump (GSocket *socket);
void cv_socket_close_with_reset (GSocket *socket);
gboolean cv_socket_error_is_reset (const GError *error);

G_END_DECLS
