/* cv-test-tls-server.h: a GIO (GTlsServerConnection) TLS server, the peer the tests check
 * the engine's GIO TLS client against; production servers use CvTlsStream. */
#pragma once

#include "transport/cv-tls.h"

G_BEGIN_DECLS

void cv_test_tls_server_handshake_async (GIOStream *base,
                                         CvIdentity *identity,
                                         gboolean require_client_cert,
                                         const CvTlsPeerCheck *check,
                                         const char *alpn,
                                         guint timeout_ms,
                                         GCancellable *cancellable,
                                         GAsyncReadyCallback callback,
                                         gpointer user_data);
GIOStream *cv_test_tls_server_handshake_finish (GAsyncResult *result, GError **error);

G_END_DECLS
