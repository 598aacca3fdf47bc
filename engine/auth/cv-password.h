/* cv-password.h: password hashes as the gateway stores them — Argon2id PHC strings.
 *
 * A hash looks like `$argon2id$v=19$m=65536,t=2,p=1$<salt>$<hash>` (m in KiB, t
 * passes, p lanes; salt and hash in unpadded base64).  Passwords are bytes: no
 * Unicode normalisation is done, so hash and verify must see the same encoding
 * (UTF-8 everywhere in Culvert).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Longer passwords are refused when hashing and never match when verifying: a
 * passphrase fits, and nothing larger reaches the KDF. */
#define CV_PASSWORD_MAX_LENGTH 1024

typedef enum {
  CV_AUTH_ERROR_EMPTY_PASSWORD,
  CV_AUTH_ERROR_PASSWORD_TOO_LONG,
  CV_AUTH_ERROR_HASH_FAILED,      /* the KDF could not run (out of memory) */
  CV_AUTH_ERROR_MALFORMED_HASH,   /* not a PHC string we can parse */
  CV_AUTH_ERROR_UNSUPPORTED_HASH, /* a PHC string, but not Argon2id v=19 */
  CV_AUTH_ERROR_UNSAFE_HASH,      /* Argon2id with parameters too weak or too costly */
  CV_AUTH_ERROR_QUEUE_FULL,       /* CvPasswordChecker: as many checks wait as it may hold */
  CV_AUTH_ERROR_SOURCE_BUSY,      /* CvPasswordChecker: the source has its checks under way */
} CvAuthError;

#define CV_AUTH_ERROR (cv_auth_error_quark ())
GQuark cv_auth_error_quark (void);

char *cv_password_hash (const char *password, GError **error);

/* Constant-time; FALSE for a wrong password and for any hash that
 * cv_password_hash_is_valid() refuses, so a bad config line cannot make the
 * gateway allocate gigabytes at a login. */
gboolean cv_password_verify (const char *phc, const char *password);

/* A valid hash that no password matches, as costly to verify as one cv_password_hash()
 * makes: what an unknown session is checked against, so that it takes as long. */
char *cv_password_dummy_hash (void);

/* For config checking: the error names what is wrong with the string. */
gboolean cv_password_hash_is_valid (const char *phc, GError **error);

/* TRUE when @phc was made with other parameters than cv_password_hash() uses now
 * (or is not valid): the gateway may offer to replace it. */
gboolean cv_password_hash_needs_rehash (const char *phc);

/* A fresh session password: 160 random bits in base32 (a-z, 2-7), in groups of four
 * ("pcfd-iotk-47pm-…"): easy to read out, and safe inside a shell's single quotes. */
char *cv_password_generate (void);

/* A string that held a secret: wiped before it is freed. */
typedef char CvSecret;
void cv_secret_free (CvSecret *secret);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvSecret, cv_secret_free)

G_END_DECLS
