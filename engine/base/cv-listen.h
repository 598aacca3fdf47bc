/* cv-listen.h: add a listening TCP socket for "host:port" to a GSocketListener. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

gboolean cv_listen_add (GSocketListener *listener,
                        const char *host,
                        guint16 port,
                        int backlog,
                        guint16 *bound_port,
                        GError **error);

G_END_DECLS
