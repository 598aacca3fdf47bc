/* cv-identity.h: a key pair and its certificate, as the gateway and each agent present it. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CV_IDENTITY_ERROR (cv_identity_error_quark ())
GQuark cv_identity_error_quark (void);

typedef enum {
  CV_IDENTITY_ERROR_INSECURE_PERMISSIONS, /* other users may read the private key */
  CV_IDENTITY_ERROR_INVALID,              /* not a certificate and its private key */
  CV_IDENTITY_ERROR_BAD_FINGERPRINT,      /* text that is not a sha256: fingerprint */
  CV_IDENTITY_ERROR_FAILED,               /* GnuTLS could not make a key or certificate */
} CvIdentityError;

/* Self-signed certificates are pinned by their key, never validated by a CA, so
 * their lifetime only has to outlast the installation. */
#define CV_IDENTITY_VALIDITY_YEARS 20

#define CV_TYPE_IDENTITY (cv_identity_get_type ())
G_DECLARE_FINAL_TYPE (CvIdentity, cv_identity, CV, IDENTITY, GObject)

CvIdentity *cv_identity_load (const char *dir, const char *basename, GError **error);
CvIdentity *cv_identity_load_or_create (const char *dir,
                                        const char *basename,
                                        const char *common_name,
                                        gboolean *created,
                                        GError **error);
CvIdentity *cv_identity_new_from_files (const char *cert_file,
                                        const char *key_file,
                                        GError **error);
gboolean cv_identity_check_can_create (const char *dir, GError **error);
gboolean cv_identity_check (const char *dir,
                            const char *basename,
                            CvIdentity **identity,
                            GError **error);
GDateTime *cv_identity_get_expiry (CvIdentity *self);

GTlsCertificate *cv_identity_get_certificate (CvIdentity *self);
const char *cv_identity_get_fingerprint (CvIdentity *self);

/* Fingerprints: "sha256:" and 64 lowercase hex digits, the SHA-256 of the
 * certificate's SubjectPublicKeyInfo.  They pin the key, not the certificate. */
#define CV_FINGERPRINT_PREFIX "sha256:"
#define CV_FINGERPRINT_LENGTH (sizeof CV_FINGERPRINT_PREFIX - 1 + 64)

char *cv_fingerprint_of_certificate (GTlsCertificate *certificate);
char *cv_fingerprint_of_der (const guint8 *der, gsize length);
char *cv_fingerprint_normalize (const char *text, GError **error);
gboolean cv_fingerprint_equal (const char *a, const char *b);

G_END_DECLS
