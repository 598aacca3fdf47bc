/* cv-agent-tunnel.h: an agent's half of a tunnel — dial, present the ticket, TLS end to end. */
#pragma once

#include <gio/gio.h>

#include "roles/cv-agent-link.h"

G_BEGIN_DECLS

void cv_agent_tunnel_open_async (const CvGatewayAddress *gateway,
                                 const char *ticket,
                                 gboolean tls_server,
                                 CvIdentity *identity,
                                 const char *peer_fingerprint,
                                 const char *const *authorized_keys,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data);
GIOStream *cv_agent_tunnel_open_finish (GAsyncResult *result, GError **error);

G_END_DECLS
