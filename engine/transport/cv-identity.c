/* cv-identity.c: the key pair and certificate a gateway or agent presents, made on first use.
 *
 * A generated identity lives in one PEM file, dir/basename.pem: the self-signed
 * certificate, then its private key (PKCS #8, unencrypted), mode 0600.  One file is
 * written in one atomic step, so a crash can never leave a certificate beside the
 * wrong key.  Operators with a CA-issued certificate (Let's Encrypt) give two files
 * instead: the full chain and the key, as certbot writes them.
 */
#include "transport/cv-identity.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#ifdef G_OS_UNIX
#include <unistd.h>
#else
#define W_OK 2
#define X_OK 0 /* Windows' access() knows no such mode */
#endif

#include <glib/gstdio.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif
#ifndef S_IRWXG
#define S_IRWXG 0070
#endif
#ifndef S_IRWXO
#define S_IRWXO 0007
#endif

#define KEY_ID_SIZE 32 /* SHA-256 */

G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_x509_crt_t, gnutls_x509_crt_deinit, NULL)
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (gnutls_x509_privkey_t, gnutls_x509_privkey_deinit, NULL)

static void
datum_clear (gnutls_datum_t *datum)
{
  g_clear_pointer (&datum->data, gnutls_free);
  datum->size = 0;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (gnutls_datum_t, datum_clear)

/* clang-format off */
G_DEFINE_QUARK (cv-identity-error-quark, cv_identity_error)
/* clang-format on */

struct _CvIdentity {
  GObject parent_instance;

  GTlsCertificate *certificate;
  char *fingerprint;
};

enum {
  PROP_0,
  PROP_CERTIFICATE,
  PROP_FINGERPRINT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (CvIdentity, cv_identity, G_TYPE_OBJECT)

static void
cv_identity_finalize (GObject *object)
{
  CvIdentity *self = CV_IDENTITY (object);

  g_clear_object (&self->certificate);
  g_free (self->fingerprint);

  G_OBJECT_CLASS (cv_identity_parent_class)->finalize (object);
}

static void
cv_identity_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvIdentity *self = CV_IDENTITY (object);

  switch (prop_id)
    {
    case PROP_CERTIFICATE:
      g_value_set_object (value, self->certificate);
      break;
    case PROP_FINGERPRINT:
      g_value_set_string (value, self->fingerprint);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_identity_class_init (CvIdentityClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = cv_identity_finalize;
  object_class->get_property = cv_identity_get_property;

  /**
   * CvIdentity:certificate:
   * The certificate with its private key (and, from files, its issuer chain).
   */
  properties[PROP_CERTIFICATE] = g_param_spec_object ("certificate", NULL, NULL,
                                                      G_TYPE_TLS_CERTIFICATE,
                                                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * CvIdentity:fingerprint:
   * What peers pin: sha256: and the hex SHA-256 of the public key.
   */
  properties[PROP_FINGERPRINT] = g_param_spec_string ("fingerprint", NULL, NULL, NULL,
                                                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cv_identity_init (CvIdentity *self)
{
}

/* ---- fingerprints ------------------------------------------------------- */

static char *
format_fingerprint (const guint8 *key_id)
{
  GString *text = g_string_sized_new (CV_FINGERPRINT_LENGTH + 1);

  g_string_append (text, CV_FINGERPRINT_PREFIX);
  for (gsize i = 0; i < KEY_ID_SIZE; i++)
    g_string_append_printf (text, "%02x", key_id[i]);
  return g_string_free (text, FALSE);
}

/* GnuTLS's SHA-256 key id is the hash of the DER SubjectPublicKeyInfo: the same
 * for every certificate issued for the key. */
static gboolean
crt_key_id (gnutls_x509_crt_t crt, guint8 *key_id)
{
  size_t size = KEY_ID_SIZE;

  return gnutls_x509_crt_get_key_id (crt, GNUTLS_KEYID_USE_SHA256, key_id, &size) == 0
         && size == KEY_ID_SIZE;
}

/**
 * cv_fingerprint_of_certificate:
 * @certificate: a peer's (or our own) certificate
 *
 * Returns: (transfer full) (nullable): its fingerprint, or %NULL if it is not an
 *   X.509 certificate GnuTLS can read
 */
char *
cv_fingerprint_of_certificate (GTlsCertificate *certificate)
{
  g_autoptr (GByteArray) der = NULL;

  g_return_val_if_fail (G_IS_TLS_CERTIFICATE (certificate), NULL);

  g_object_get (certificate, "certificate", &der, NULL);
  if (der == NULL)
    return NULL;
  return cv_fingerprint_of_der (der->data, der->len);
}

/**
 * cv_fingerprint_of_der:
 * @der: an X.509 certificate in DER, as a TLS peer sends it
 *
 * Returns: (transfer full) (nullable): its fingerprint, or %NULL if GnuTLS cannot
 *   read it
 */
char *
cv_fingerprint_of_der (const guint8 *der, gsize length)
{
  g_auto (gnutls_x509_crt_t) crt = NULL;
  gnutls_datum_t datum;
  guint8 key_id[KEY_ID_SIZE];

  if (der == NULL || length == 0 || length > G_MAXUINT || gnutls_x509_crt_init (&crt) < 0)
    return NULL;
  datum.data = (guint8 *) der;
  datum.size = length;
  if (gnutls_x509_crt_import (crt, &datum, GNUTLS_X509_FMT_DER) < 0 || !crt_key_id (crt, key_id))
    return NULL;
  return format_fingerprint (key_id);
}

static gboolean
bad_fingerprint (const char *text, GError **error)
{
  /* Quote what was given, cut short: it may be a whole pasted paragraph. */
  g_autofree char *shown = g_utf8_make_valid (text, MIN (strlen (text), 100));

  g_set_error (error, CV_IDENTITY_ERROR, CV_IDENTITY_ERROR_BAD_FINGERPRINT,
               "\"%s\" is not a fingerprint: expected \"sha256:\" and 64 hexadecimal digits",
               shown);
  return FALSE;
}

/**
 * cv_fingerprint_normalize:
 * @text: a fingerprint as a person may write it: "sha256:" (any case) and 64 hex
 *   digits in either case, optionally in colon-separated pairs
 *
 * Returns: (transfer full) (nullable): "sha256:" and 64 lowercase hex digits
 */
char *
cv_fingerprint_normalize (const char *text, GError **error)
{
  g_autofree char *trimmed = NULL;
  g_autoptr (GString) normal = NULL;
  gsize n_digits = 0;
  const char *p;

  g_return_val_if_fail (text != NULL, NULL);

  trimmed = g_strstrip (g_strdup (text));
  if (g_ascii_strncasecmp (trimmed, CV_FINGERPRINT_PREFIX, strlen (CV_FINGERPRINT_PREFIX)) != 0)
    {
      bad_fingerprint (text, error);
      return NULL;
    }
  normal = g_string_new (CV_FINGERPRINT_PREFIX);
  for (p = trimmed + strlen (CV_FINGERPRINT_PREFIX); *p != '\0'; p++)
    {
      if (g_ascii_isxdigit (*p))
        {
          g_string_append_c (normal, g_ascii_tolower (*p));
          n_digits++;
        }
      else if (*p == ':' && n_digits > 0 && n_digits % 2 == 0 && g_ascii_isxdigit (p[1]))
        continue; /* between two pairs, as "AB:CD:…" */
      else
        {
          bad_fingerprint (text, error);
          return NULL;
        }
    }
  if (n_digits != 2 * KEY_ID_SIZE)
    {
      bad_fingerprint (text, error);
      return NULL;
    }
  return g_string_free (g_steal_pointer (&normal), FALSE);
}

/**
 * cv_fingerprint_equal:
 *
 * Compares two fingerprints in any form cv_fingerprint_normalize() accepts, in
 * time that does not depend on where they differ.  Text that is not a fingerprint
 * equals nothing.
 */
gboolean
cv_fingerprint_equal (const char *a, const char *b)
{
  g_autofree char *normal_a = NULL;
  g_autofree char *normal_b = NULL;

  if (a == NULL || b == NULL)
    return FALSE;
  normal_a = cv_fingerprint_normalize (a, NULL);
  normal_b = cv_fingerprint_normalize (b, NULL);
  if (normal_a == NULL || normal_b == NULL)
    return FALSE;
  return sodium_memcmp (normal_a, normal_b, CV_FINGERPRINT_LENGTH) == 0;
}

/* ---- loading ------------------------------------------------------------ */

/* Reads a file that holds a private key, refusing it (as ssh does) when its mode
 * has any of @forbidden: the check is on the descriptor that is read, not a path
 * that could be swapped in between. */
static GBytes *
read_key_file (const char *path, guint forbidden, GError **error)
{
  g_autoptr (GMappedFile) mapped = NULL;
  int fd = g_open (path, O_RDONLY | O_CLOEXEC, 0);

  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "could not open \"%s\": %s", path, g_strerror (saved_errno));
      return NULL;
    }

#ifndef G_OS_WIN32
  {
    struct stat st;

    if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
      {
        g_set_error (error, CV_IDENTITY_ERROR, CV_IDENTITY_ERROR_INVALID,
                     "\"%s\" is not a regular file", path);
        g_close (fd, NULL);
        return NULL;
      }
    if ((st.st_mode & forbidden) != 0)
      {
        g_set_error (error, CV_IDENTITY_ERROR, CV_IDENTITY_ERROR_INSECURE_PERMISSIONS,
                     "permissions %04o for \"%s\" are too open: it holds a private key, "
                     "which must not be readable by other users; run chmod %s \"%s\"",
                     (guint) (st.st_mode & 07777), path,
                     (forbidden & S_IRWXG) != 0 ? "600" : "o-rwx", path);
        g_close (fd, NULL);
        return NULL;
      }
  }
#endif

  mapped = g_mapped_file_new_from_fd (fd, FALSE, error);
  g_close (fd, NULL);
  if (mapped == NULL)
    {
      g_prefix_error (error, "could not read \"%s\": ", path);
      return NULL;
    }
  return g_mapped_file_get_bytes (mapped);
}

static gboolean
import_datum (GBytes *bytes, gnutls_datum_t *datum, const char *path, GError **error)
{
  gsize size;

  datum->data = (unsigned char *) g_bytes_get_data (bytes, &size);
  datum->size = size;
  if (size == 0 || size > G_MAXUINT32)
    {
      g_set_error (error, CV_IDENTITY_ERROR, CV_IDENTITY_ERROR_INVALID, "\"%s\" is %s", path,
                   size == 0 ? "empty" : "too large");
      return FALSE;
    }
  return TRUE;
}

/* @cert_pem holds the certificate (then its issuers), @key_pem its private key; they
 * may be the same bytes.  GnuTLS reads both first so that a key that belongs to
 * another certificate is a clear error here, not a failed handshake later. */
static CvIdentity *
identity_new_from_pem (GBytes *cert_pem,
                       GBytes *key_pem,
                       const char *cert_path,
                       const char *key_path,
                       GError **error)
{
  g_auto (gnutls_x509_crt_t) crt = NULL;
  g_auto (gnutls_x509_privkey_t) key = NULL;
  gnutls_datum_t cert_datum;
  gnutls_datum_t key_datum;
  guint8 cert_key_id[KEY_ID_SIZE];
  guint8 key_key_id[KEY_ID_SIZE];
  size_t size = sizeof key_key_id;
  g_autoptr (GTlsCertificate) certificate = NULL;
  CvIdentity *self;
  int ret;

  if (!import_datum (cert_pem, &cert_datum, cert_path, error)
      || !import_datum (key_pem, &key_datum, key_path, error))
    return NULL;

  if (gnutls_x509_crt_init (&crt) < 0 || gnutls_x509_privkey_init (&key) < 0)
    {
      g_set_error_literal (error, CV_IDENTITY_ERROR, CV_IDENTITY_ERROR_FAILED, "out of memory");
      return NULL;
    }
  ret = gnutls_x509_crt_import (crt, &cert_datum, GNUTLS_X509_FMT_PEM);
  if (ret < 0 || !crt_key_id (crt, cert_key_id))
    {
      g_set_error (error, CV_IDENTITY_ERROR, CV_IDENTITY_ERROR_INVALID,
                   "\"%s\" holds no PEM certificate: %s", cert_path,
                   gnutls_strerror (ret < 0 ? ret : GNUTLS_E_CERTIFICATE_ERROR));
      return NULL;
    }
  ret = gnutls_x509_privkey_import2 (key, &key_datum, GNUTLS_X509_FMT_PEM, NULL, 0);
  if (ret < 0)
    {
      g_set_error (error, CV_IDENTITY_ERROR, CV_IDENTITY_ERROR_INVALID,
                   "\"%s\" holds no unencrypted PEM private key: %s", key_path,
                   gnutls_strerror (ret));
      return NULL;
    }
  if (gnutls_x509_privkey_get_key_id (key, GNUTLS_KEYID_USE_SHA256, key_key_id, &size) < 0
      || size != KEY_ID_SIZE || memcmp (cert_key_id, key_key_id, KEY_ID_SIZE) != 0)
    {
      g_set_error (error, CV_IDENTITY_ERROR, CV_IDENTITY_ERROR_INVALID,
                   "the private key in \"%s\" does not belong to the certificate in \"%s\"",
                   key_path, cert_path);
      return NULL;
    }

  if (cert_pem == key_pem)
    certificate = g_tls_certificate_new_from_pem ((const char *) cert_datum.data, cert_datum.size,
                                                  error);
  else
    {
      g_autoptr (GByteArray) both = g_byte_array_new ();

      g_byte_array_append (both, cert_datum.data, cert_datum.size);
      g_byte_array_append (both, (const guint8 *) "\n", 1);
      g_byte_array_append (both, key_datum.data, key_datum.size);
      certificate = g_tls_certificate_new_from_pem ((const char *) both->data, both->len, error);
    }
  if (certificate == NULL)
    {
      g_prefix_error (error, "could not load \"%s\": ", cert_path);
      return NULL;
    }

  self = g_object_new (CV_TYPE_IDENTITY, NULL);
  self->certificate = g_steal_pointer (&certificate);
  self->fingerprint = format_fingerprint (cert_key_id);
  return self;
}

/**
 * cv_identity_new_from_files:
 * @cert_file: the certificate, then its issuers (certbot's fullchain.pem)
 * @key_file: its private key, unencrypted (certbot's privkey.pem)
 *
 * The key file may be readable by its group, for a group only the gateway's user is
 * in (as Debian's ssl-cert group), but not by everyone.
 */
CvIdentity *
cv_identity_new_from_files (const char *cert_file, const char *key_file, GError **error)
{
  g_autoptr (GBytes) key_pem = NULL;
  g_autoptr (GBytes) cert_pem = NULL;
  char *contents;
  gsize length;

  g_return_val_if_fail (cert_file != NULL && key_file != NULL, NULL);

  key_pem = read_key_file (key_file, S_IRWXO, error);
  if (key_pem == NULL)
    return NULL;
  if (!g_file_get_contents (cert_file, &contents, &length, error))
    return NULL;
  cert_pem = g_bytes_new_take (contents, length);
  return identity_new_from_pem (cert_pem, key_pem, cert_file, key_file, error);
}

/* ---- making one --------------------------------------------------------- */

static gboolean
check (int ret, const char *what, GError **error)
{
  if (ret >= 0)
    return TRUE;
  g_set_error (error, CV_IDENTITY_ERROR, CV_IDENTITY_ERROR_FAILED,
               "could not make a key pair and certificate: %s: %s", what, gnutls_strerror (ret));
  return FALSE;
}

/* An ECDSA P-256 key: the one signature scheme every TLS 1.3 implementation must
 * support (RFC 8446, 9.1), so any peer can check it. */
static GBytes *
generate_pem (const char *common_name, GError **error)
{
  g_auto (gnutls_x509_privkey_t) key = NULL;
  g_auto (gnutls_x509_crt_t) crt = NULL;
  g_auto (gnutls_datum_t) cert_pem = { NULL, 0 };
  g_auto (gnutls_datum_t) key_pem = { NULL, 0 };
  guint8 serial[16];
  guint8 subject_key_id[20];
  size_t subject_key_id_size = sizeof subject_key_id;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gint64 expires = now + (gint64) CV_IDENTITY_VALIDITY_YEARS * 36525 * 24 * 3600 / 100;
  GByteArray *pem;

  /* A time_t of 32 bits ends in 2038. */
  if (sizeof (time_t) < 8)
    expires = MIN (expires, G_MAXINT32);

  if (!check (gnutls_x509_privkey_init (&key), "key", error)
      || !check (gnutls_x509_privkey_generate (key, GNUTLS_PK_ECDSA,
                                               GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1),
                                               0),
                 "ECDSA P-256 key", error)
      || !check (gnutls_x509_crt_init (&crt), "certificate", error)
      || !check (gnutls_x509_crt_set_version (crt, 3), "version", error)
      || !check (gnutls_rnd (GNUTLS_RND_NONCE, serial, sizeof serial), "serial", error))
    return NULL;

  /* Positive, and the full 16 bytes long. */
  serial[0] = (serial[0] & 0x7f) | 0x40;

  /* A day back, so that a peer whose clock is a little behind still takes a
   * certificate made a moment ago. */
  if (!check (gnutls_x509_crt_set_serial (crt, serial, sizeof serial), "serial", error)
      || !check (gnutls_x509_crt_set_activation_time (crt, (time_t) (now - 24 * 3600)),
                 "activation time", error)
      || !check (gnutls_x509_crt_set_expiration_time (crt, (time_t) expires), "expiration time",
                 error)
      || !check (gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, common_name,
                                                strlen (common_name)),
                 "common name", error)
      || !check (gnutls_x509_crt_set_key (crt, key), "public key", error)
      || !check (gnutls_x509_crt_set_basic_constraints (crt, 0, -1), "basic constraints", error)
      || !check (gnutls_x509_crt_set_key_usage (crt, GNUTLS_KEY_DIGITAL_SIGNATURE), "key usage",
                 error)
      /* One identity serves both ends: a share agent may be either inside a tunnel. */
      || !check (gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_SERVER, 0),
                 "key purpose", error)
      || !check (gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_CLIENT, 0),
                 "key purpose", error)
      || !check (gnutls_x509_crt_get_key_id (crt, 0, subject_key_id, &subject_key_id_size),
                 "key id", error)
      || !check (gnutls_x509_crt_set_subject_key_id (crt, subject_key_id, subject_key_id_size),
                 "key id", error)
      || !check (gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0), "signature", error)
      || !check (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &cert_pem), "export", error)
      || !check (gnutls_x509_privkey_export2_pkcs8 (key, GNUTLS_X509_FMT_PEM, NULL,
                                                    GNUTLS_PKCS_PLAIN, &key_pem),
                 "export", error))
    return NULL;

  pem = g_byte_array_sized_new (cert_pem.size + key_pem.size);
  g_byte_array_append (pem, cert_pem.data, cert_pem.size);
  g_byte_array_append (pem, key_pem.data, key_pem.size);
  return g_byte_array_free_to_bytes (pem);
}

static char *
identity_path (const char *dir, const char *basename)
{
  g_autofree char *filename = g_strconcat (basename, ".pem", NULL);

  return g_build_filename (dir, filename, NULL);
}

/**
 * cv_identity_load:
 * @dir: the state directory
 * @basename: the file's name without ".pem", e.g. "gateway" or "agent"
 *
 * Loads dir/basename.pem as cv_identity_load_or_create() does, but never makes one:
 * to show a key (culvert-cli fingerprint) without changing anything.
 *
 * Returns: (transfer full) (nullable): the identity, or %NULL with @error set;
 *   G_FILE_ERROR_NOENT when there is none yet
 */
CvIdentity *
cv_identity_load (const char *dir, const char *basename, GError **error)
{
  g_autofree char *path = NULL;
  g_autoptr (GBytes) pem = NULL;

  g_return_val_if_fail (dir != NULL && basename != NULL, NULL);

  path = identity_path (dir, basename);
  pem = read_key_file (path, S_IRWXG | S_IRWXO, error);
  if (pem == NULL)
    return NULL;
  return identity_new_from_pem (pem, pem, path, path, error);
}

/**
 * cv_identity_check_can_create:
 * @dir: a state directory that may not exist yet
 *
 * Whether cv_identity_load_or_create() could make its file in @dir: @dir is a
 * directory this process may write, or the nearest of its parents that exists is
 * (the directories between are made, as g_mkdir_with_parents() would).  Nothing is
 * made: it is for checking a config before the role runs.
 */
gboolean
cv_identity_check_can_create (const char *dir, GError **error)
{
  g_autofree char *canonical = g_canonicalize_filename (dir, NULL);
  g_autofree char *existing = g_strdup (canonical);

  while (!g_file_test (existing, G_FILE_TEST_EXISTS))
    {
      char *parent = g_path_get_dirname (existing);

      g_free (existing);
      existing = parent;
    }
  if (!g_file_test (existing, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_NOTDIR,
                   "cannot make the directory \"%s\": \"%s\" is not a directory", dir, existing);
      return FALSE;
    }
  if (g_access (existing, W_OK | X_OK) != 0)
    {
      int saved_errno = errno;

      if (g_str_equal (existing, canonical))
        g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                     "cannot write in the directory \"%s\": %s", dir, g_strerror (saved_errno));
      else
        g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                     "cannot make the directory \"%s\": cannot write in \"%s\": %s", dir, existing,
                     g_strerror (saved_errno));
      return FALSE;
    }
  return TRUE;
}

/**
 * cv_identity_check:
 * @identity: (out) (optional): the identity there is now, or %NULL if one would be made
 *
 * What cv_identity_load_or_create() would do, without making anything: load
 * dir/basename.pem if there is one, else check that it could be made.
 */
gboolean
cv_identity_check (const char *dir, const char *basename, CvIdentity **identity, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (CvIdentity) found = cv_identity_load (dir, basename, &local_error);

  if (found == NULL && !g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (found == NULL && !cv_identity_check_can_create (dir, error))
    return FALSE;
  if (identity != NULL)
    *identity = g_steal_pointer (&found);
  return TRUE;
}

/**
 * cv_identity_load_or_create:
 * @dir: the state directory; made, mode 0700, if missing
 * @basename: the file's name without ".pem", e.g. "gateway" or "agent"
 * @common_name: the certificate's subject CN when one is made
 * @created: (out) (optional): set to whether the identity was made just now
 *
 * Loads dir/basename.pem, or makes and stores a new key pair and self-signed
 * certificate if there is no such file.  A file that exists but cannot be read, is
 * not an identity, or that other users may read is an error: it is never replaced.
 */
CvIdentity *
cv_identity_load_or_create (const char *dir,
                            const char *basename,
                            const char *common_name,
                            gboolean *created,
                            GError **error)
{
  g_autofree char *path = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (GBytes) pem = NULL;
  CvIdentity *self;

  g_return_val_if_fail (dir != NULL && basename != NULL && common_name != NULL, NULL);

  if (created != NULL)
    *created = FALSE;
  self = cv_identity_load (dir, basename, &local_error);
  if (self != NULL)
    return self;
  if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  path = identity_path (dir, basename);

  pem = generate_pem (common_name, error);
  if (pem == NULL)
    return NULL;
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "could not make the directory \"%s\": %s", dir, g_strerror (saved_errno));
      return NULL;
    }
  /* Written to a temporary file with mode 0600 from the start, then renamed. */
  if (!g_file_set_contents_full (path, g_bytes_get_data (pem, NULL), g_bytes_get_size (pem),
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600,
                                 error))
    return NULL;

  self = identity_new_from_pem (pem, pem, path, path, error);
  if (self != NULL && created != NULL)
    *created = TRUE;
  return self;
}

/**
 * cv_identity_get_expiry:
 *
 * Returns: when the first certificate of the identity's chain (its own, or an issuer
 *   the file holds) stops being valid, or %NULL if none says
 */
GDateTime *
cv_identity_get_expiry (CvIdentity *self)
{
  GDateTime *first = NULL;

  g_return_val_if_fail (CV_IS_IDENTITY (self), NULL);

  for (GTlsCertificate *c = self->certificate; c != NULL; c = g_tls_certificate_get_issuer (c))
    {
      g_autoptr (GDateTime) after = g_tls_certificate_get_not_valid_after (c);

      if (after != NULL && (first == NULL || g_date_time_compare (after, first) < 0))
        {
          g_clear_pointer (&first, g_date_time_unref);
          first = g_steal_pointer (&after);
        }
    }
  return first;
}

GTlsCertificate *
cv_identity_get_certificate (CvIdentity *self)
{
  g_return_val_if_fail (CV_IS_IDENTITY (self), NULL);

  return self->certificate;
}

const char *
cv_identity_get_fingerprint (CvIdentity *self)
{
  g_return_val_if_fail (CV_IS_IDENTITY (self), NULL);

  return self->fingerprint;
}
