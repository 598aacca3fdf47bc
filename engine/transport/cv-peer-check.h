/* cv-peer-check.h: whom a TLS handshake trusts, and the words when it does not — one
 * decision about a peer's key for both TLS drivers (cv-tls.c, cv-tls-stream). */
#pragma once

#include <gio/gio.h>

#include "transport/cv-tls.h"

G_BEGIN_DECLS

char *cv_peer_check_get_pin (const CvTlsPeerCheck *check, const char *peer_name, GError **error);
gboolean cv_peer_check_key (const char *peer_name,
                            const char *pin_key,
                            const char *pinned,
                            const char *fingerprint,
                            const char *certificate_problem,
                            GError **error);
gboolean cv_peer_check_authorized (const char *peer_name,
                                   const char *const *authorized,
                                   const char *authorized_key,
                                   const char *fingerprint,
                                   GError **error);
char *cv_peer_check_pin_hint (const char *pin_key, const char *fingerprint);
char *cv_peer_check_describe_problems (GTlsCertificate *certificate,
                                       GTlsCertificateFlags errors,
                                       const char *server_name);
GError *cv_peer_check_untrusted_error_new (const char *peer_name,
                                           const char *pin_key,
                                           const char *fingerprint,
                                           const char *problems);

GSource *cv_handshake_deadline_new (guint timeout_ms,
                                    GSourceFunc callback,
                                    gpointer user_data,
                                    GMainContext *context);
GError *cv_handshake_timed_out_error_new (const char *peer_name, guint timeout_ms);

G_END_DECLS
