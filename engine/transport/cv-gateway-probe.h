/* cv-gateway-probe.h: what key a gateway presents, learned by a TLS handshake that trusts
 * nothing and sends nothing after it — for a person to compare before trusting it. */
#pragma once

#include <gio/gio.h>

#include "transport/cv-gateway-dial.h"

G_BEGIN_DECLS

/* Dials @host:@port (a CvGatewayAddress without pin), completes a TLS 1.3 handshake with
 * the culvert ALPN whatever the certificate, reads the certificate's key fingerprint and
 * closes.  No HELLO and no client certificate are sent: the gateway, which wants one, turns
 * the connection away once it has shown its own.
 * Errors: the dial's (G_IO_ERROR_*), CV_TLS_ERROR_* for a peer that is not a gateway. */
void cv_gateway_probe_fingerprint_async (const char *host,
                                         guint16 port,
                                         guint timeout_ms,
                                         GCancellable *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer user_data);
void cv_gateway_probe_fingerprint_at_async (const CvGatewayAddress *address,
                                            guint timeout_ms,
                                            GCancellable *cancellable,
                                            GAsyncReadyCallback callback,
                                            gpointer user_data);
/* Returns: (transfer full): "sha256:" and 64 lower-case hex digits, or NULL */
char *cv_gateway_probe_fingerprint_finish (GAsyncResult *result, GError **error);

G_END_DECLS
