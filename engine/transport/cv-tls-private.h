/* cv-tls-private.h: the GTlsConnection driver's one entry for either end, for
 * transport/cv-tls.c, the gateway probe (transport/cv-gateway-probe.c: a client that takes
 * any certificate) and the GIO TLS server that the tests check the client against
 * (tests/cv-test-tls-server.c: a white-box test peer, the one user outside transport/). */
#pragma once

#include "transport/cv-tls.h"

G_BEGIN_DECLS

typedef struct {
  gboolean is_server;
  gboolean require_peer_certificate;
  gboolean check_peer;     /* FALSE: any peer certificate is taken (a server's choice) */
  const char *server_name; /* a client's: SNI and the name the certificate must carry */
} CvTlsHandshakeSide;

void cv_tls_handshake_start (GIOStream *connection,
                             GError *error,
                             const CvTlsHandshakeSide *side,
                             const CvTlsPeerCheck *check,
                             const char *alpn,
                             guint timeout_ms,
                             GCancellable *cancellable,
                             gpointer source_tag,
                             GAsyncReadyCallback callback,
                             gpointer user_data);
GIOStream *cv_tls_client_connection_new (GIOStream *base,
                                         const char *server_name,
                                         const CvTlsPeerCheck *check,
                                         GError **error);
GIOStream *cv_tls_handshake_finish (GAsyncResult *result, gpointer source_tag, GError **error);

G_END_DECLS
