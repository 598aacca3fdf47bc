/* cv-tls.h: TLS 1.3 handshakes over a connected stream, with the peer checked by CA or by pin. */
#pragma once

#include <gio/gio.h>

#include "transport/cv-identity.h"

G_BEGIN_DECLS

#define CV_TLS_ERROR (cv_tls_error_quark ())
GQuark cv_tls_error_quark (void);

typedef enum {
  CV_TLS_ERROR_UNTRUSTED,              /* the peer's certificate failed validation */
  CV_TLS_ERROR_FINGERPRINT_MISMATCH,   /* the peer's key is not the pinned one */
  CV_TLS_ERROR_NO_CERTIFICATE,         /* the peer presented no certificate */
  CV_TLS_ERROR_PROTOCOL_VERSION,       /* the handshake settled on a version before TLS 1.3 */
  CV_TLS_ERROR_ALPN,                   /* the peer did not agree on our application protocol */
  CV_TLS_ERROR_HUNG_UP_ON_CERTIFICATE, /* a client left once it had our certificate */
  CV_TLS_ERROR_NOT_AUTHORIZED,         /* the peer's key is pinned, but not among the
                                        * authorized ones (the alert: access_denied) */
  CV_TLS_ERROR_REFUSED_BY_PEER,        /* the peer said our key is not one it authorizes */
} CvTlsError;

/* The application protocol our control links and tunnels announce (ALPN). */
#define CV_TLS_ALPN "culvert/1"

/* The deadline a handshake gets when the caller passes 0. */
#define CV_TLS_DEFAULT_HANDSHAKE_TIMEOUT_MS 15000

typedef enum {
  /* The peer's chain must validate against @database (NULL: the system's CA store)
   * and, when it is a server, be issued for the server name. */
  CV_TLS_PEER_CHECK_SYSTEM_CA,
  /* The peer's public key must match @fingerprint; CAs and names are not consulted. */
  CV_TLS_PEER_CHECK_PINNED,
} CvTlsPeerCheckMode;

/* How to trust the peer.  All zero is "system CA"; every pointer is borrowed for the
 * duration of the call that takes it. */
typedef struct {
  CvTlsPeerCheckMode mode;
  const char *fingerprint; /* PINNED: the expected fingerprint, in any form
                            * cv_fingerprint_normalize() takes */
  GTlsDatabase *database;  /* SYSTEM_CA: a private CA instead of the system's store */
  const char *peer_name;   /* the peer in messages, e.g. "the gateway"; NULL: "the peer" */
  const char *pin_key;     /* the setting that pins it, for the hint in messages,
                            * e.g. "gateway_fingerprint"; NULL: no setting is named */
  /* PINNED, tunnels only (cv-tls-stream): the pinned key must also be one of these
   * normalized fingerprints, which someone other than whoever chose the pin decided
   * on (a share agent's authorized_connect_keys, while the gateway announces the pin).
   * NULL: the pin alone. */
  const char *const *authorized;
  const char *authorized_key; /* the setting that lists them, for messages */
} CvTlsPeerCheck;

gboolean cv_tls_restrict_process_to_tls13 (void);

void cv_tls_client_handshake_async (GIOStream *base,
                                    const char *server_name,
                                    const CvTlsPeerCheck *check,
                                    CvIdentity *client_identity,
                                    const char *alpn,
                                    guint timeout_ms,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data);
GIOStream *cv_tls_client_handshake_finish (GAsyncResult *result, GError **error);

G_END_DECLS
