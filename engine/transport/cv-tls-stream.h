/* cv-tls-stream.h: TLS 1.3 driven through GnuTLS directly over a non-blocking socket,
 * for the bulk paths: the tunnels (both keys pinned) and the agents' outer TLS to a web
 * server (pinned, or checked by CA and name, no client certificate). */
#pragma once

#include <gio/gio.h>

#include "transport/cv-identity.h"
#include "transport/cv-tls.h"

G_BEGIN_DECLS

#define CV_TYPE_TLS_STREAM (cv_tls_stream_get_type ())
G_DECLARE_FINAL_TYPE (CvTlsStream, cv_tls_stream, CV, TLS_STREAM, GIOStream)

CvTlsStream *cv_tls_stream_new (GSocketConnection *base,
                                gboolean is_server,
                                CvIdentity *identity,
                                GError **error);

/* What an HTTPS client asks for by ALPN, besides the agents' CV_TLS_ALPN. */
#define CV_TLS_ALPN_HTTP "http/1.1"

void cv_tls_stream_set_also_http (CvTlsStream *self, gboolean also_http);
void cv_tls_stream_set_server_name (CvTlsStream *self, const char *server_name);

void cv_tls_stream_handshake_async (CvTlsStream *self,
                                    const CvTlsPeerCheck *check,
                                    const char *alpn,
                                    guint timeout_ms,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);
gboolean cv_tls_stream_handshake_finish (CvTlsStream *self, GAsyncResult *result, GError **error);

const char *cv_tls_stream_get_cipher_suite (CvTlsStream *self);
const char *cv_tls_stream_get_peer_fingerprint (CvTlsStream *self);
const char *cv_tls_stream_get_negotiated_protocol (CvTlsStream *self);

G_END_DECLS
