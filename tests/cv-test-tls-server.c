/* cv-test-tls-server.c: a GIO TLS server, the peer the tests check the engine's GIO TLS
 * client against.  Production servers (the gateway, a share agent's tunnel) use
 * CvTlsStream, so this lives with the tests; it drives the same handshake code as the
 * client (transport/cv-tls-private.h), so the checks it makes are the engine's own. */
#include "cv-test-tls-server.h"

#include "transport/cv-tls-private.h"

/**
 * cv_test_tls_server_handshake_async:
 * @base: a connected stream, usually a #GSocketConnection
 * @identity: the certificate and key to present
 * @require_client_cert: whether a client without a certificate is refused
 * @check: (nullable): how to trust a client's certificate; %NULL takes any
 *   certificate, whatever its issuer or dates, for a caller that identifies clients
 *   by cv_fingerprint_of_certificate() (and, with @require_client_cert FALSE, asks
 *   for none)
 * @alpn: (nullable): the application protocol both sides must agree on
 * @timeout_ms: the handshake's deadline; 0 is %CV_TLS_DEFAULT_HANDSHAKE_TIMEOUT_MS
 *
 * Runs a TLS 1.3 handshake as the server, on the thread-default main context.  On
 * failure @base is left as it is; the caller closes it.
 */
void
cv_test_tls_server_handshake_async (GIOStream *base,
                                    CvIdentity *identity,
                                    gboolean require_client_cert,
                                    const CvTlsPeerCheck *check,
                                    const char *alpn,
                                    guint timeout_ms,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  GError *error = NULL;
  GTlsAuthenticationMode mode;
  GIOStream *connection;
  CvTlsHandshakeSide side = { TRUE, require_client_cert, check != NULL, NULL };

  g_return_if_fail (G_IS_IO_STREAM (base));
  g_return_if_fail (CV_IS_IDENTITY (identity));

  if (require_client_cert)
    mode = G_TLS_AUTHENTICATION_REQUIRED;
  else if (check != NULL)
    mode = G_TLS_AUTHENTICATION_REQUESTED;
  else
    mode = G_TLS_AUTHENTICATION_NONE;
  connection = g_tls_server_connection_new (base, cv_identity_get_certificate (identity), &error);
  if (connection != NULL)
    g_object_set (connection, "authentication-mode", mode, NULL);
  cv_tls_handshake_start (connection, error, &side, check, alpn, timeout_ms, cancellable,
                          cv_test_tls_server_handshake_async, callback, user_data);
}

/**
 * cv_test_tls_server_handshake_finish:
 *
 * Returns: (transfer full): the #GTlsConnection, ready for data
 */
GIOStream *
cv_test_tls_server_handshake_finish (GAsyncResult *result, GError **error)
{
  return cv_tls_handshake_finish (result, cv_test_tls_server_handshake_async, error);
}
