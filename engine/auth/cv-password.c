/* cv-password.c: hash and verify passwords with libsodium's Argon2id; check stored hashes. */
#include "auth/cv-password.h"

#include <sodium.h>
#include <string.h>

/* libsodium's INTERACTIVE limits: Argon2id, t=2 passes over m=64 MiB.  The gateway
 * verifies a password at every agent login and at every failed guess (up to
 * CvAuthLimiter's global budget), so this cost is paid per connection.  One
 * verification took 65–95 ms here (best of 5, over several runs; AMD EPYC VPS,
 * 2 vCPUs, libsodium 1.0.18); MODERATE (t=3, 256 MiB) took 450–540 ms.  At the
 * limiter's default budget of 600 failures a minute INTERACTIVE keeps a guessing
 * attack under one core, where MODERATE would take five, and 256 MiB per login in
 * flight.  Offline, after a stolen config, 64 MiB × 2 passes is still well above
 * OWASP's minimum; session passwords are meant to be long and random anyway. */
#define HASH_OPSLIMIT crypto_pwhash_OPSLIMIT_INTERACTIVE
#define HASH_MEMLIMIT crypto_pwhash_MEMLIMIT_INTERACTIVE

#define PHC_PREFIX "$argon2id$"
#define PHC_EXAMPLE "$argon2id$v=19$m=…,t=…,p=…$salt$hash"
#define MAKE_ONE_HINT "make one with “culvert-cli hash-password”"

/* What a stored hash may ask of the gateway.  The floor is OWASP's weakest
 * recommended Argon2id setting (7 MiB × 5 passes, so m·t ≥ 35 MiB); the ceiling is
 * libsodium's SENSITIVE (1 GiB × 4 passes, seconds of CPU), past which one login
 * could exhaust a VPS. */
#define MIN_MEMORY_KIB 7168u
#define MIN_COST_KIB_PASSES 35840u
#define MAX_MEMORY_KIB (1024u * 1024u)
#define MAX_COST_KIB_PASSES (4u * 1024u * 1024u)
#define MAX_PASSES 16u
#define MAX_LANES 16u
#define MIN_SALT_BYTES 8  /* Argon2's minimum */
#define MIN_HASH_BYTES 16 /* libsodium's minimum output */

/* clang-format off */
G_DEFINE_QUARK (cv-auth-error-quark, cv_auth_error)
/* clang-format on */

static void
ensure_sodium (void)
{
  static gsize initialised = 0;

  if (g_once_init_enter (&initialised))
    {
      /* Fails only without a source of randomness, where no salt could be made. */
      if (sodium_init () < 0)
        g_error ("libsodium could not be initialised");
      g_once_init_leave (&initialised, 1);
    }
}

static gboolean
check_password_length (gsize len, GError **error)
{
  if (len == 0)
    {
      g_set_error_literal (error, CV_AUTH_ERROR, CV_AUTH_ERROR_EMPTY_PASSWORD,
                           "the password is empty");
      return FALSE;
    }
  if (len > CV_PASSWORD_MAX_LENGTH)
    {
      g_set_error (error, CV_AUTH_ERROR, CV_AUTH_ERROR_PASSWORD_TOO_LONG,
                   "the password is %" G_GSIZE_FORMAT " bytes long; at most %d are accepted", len,
                   CV_PASSWORD_MAX_LENGTH);
      return FALSE;
    }
  return TRUE;
}

char *
cv_password_hash (const char *password, GError **error)
{
  char phc[crypto_pwhash_STRBYTES];
  gsize len;

  g_return_val_if_fail (password != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  len = strlen (password);
  if (!check_password_length (len, error))
    return NULL;

  ensure_sodium ();
  if (crypto_pwhash_str_alg (phc, password, len, HASH_OPSLIMIT, HASH_MEMLIMIT,
                             crypto_pwhash_ALG_ARGON2ID13)
      != 0)
    {
      g_set_error (error, CV_AUTH_ERROR, CV_AUTH_ERROR_HASH_FAILED,
                   "could not hash the password: Argon2id needs %" G_GSIZE_FORMAT " MiB of memory",
                   (gsize) HASH_MEMLIMIT / (1024 * 1024));
      return NULL;
    }
  return g_strdup (phc);
}

/* A hash of no password at all: random salt and random output, with the parameters
 * cv_password_hash() uses.  Verifying against it costs what verifying against a real
 * hash of those parameters costs, and nothing matches it; it takes no Argon2 run to
 * make. */
char *
cv_password_dummy_hash (void)
{
  guint8 salt[crypto_pwhash_SALTBYTES];
  guint8 output[32];
  char salt_b64[sodium_base64_ENCODED_LEN (sizeof salt, sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];
  char output_b64[sodium_base64_ENCODED_LEN (sizeof output,
                                             sodium_base64_VARIANT_ORIGINAL_NO_PADDING)];

  ensure_sodium ();
  randombytes_buf (salt, sizeof salt);
  randombytes_buf (output, sizeof output);
  sodium_bin2base64 (salt_b64, sizeof salt_b64, salt, sizeof salt,
                     sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
  sodium_bin2base64 (output_b64, sizeof output_b64, output, sizeof output,
                     sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
  return g_strdup_printf (PHC_PREFIX "v=19$m=%u,t=%u,p=1$%s$%s", (guint) (HASH_MEMLIMIT / 1024),
                          (guint) HASH_OPSLIMIT, salt_b64, output_b64);
}

gboolean
cv_password_verify (const char *phc, const char *password)
{
  gsize len;

  if (phc == NULL || password == NULL || !cv_password_hash_is_valid (phc, NULL))
    return FALSE;
  len = strlen (password);
  if (len == 0 || len > CV_PASSWORD_MAX_LENGTH)
    return FALSE;

  ensure_sodium ();
  /* libsodium recomputes the hash and compares it with sodium_memcmp(), in constant
   * time. */
  return crypto_pwhash_str_verify (phc, password, len) == 0;
}

static gboolean
malformed (GError **error, const char *what)
{
  g_set_error (error, CV_AUTH_ERROR, CV_AUTH_ERROR_MALFORMED_HASH,
               "the password hash is malformed: %s (expected %s; " MAKE_ONE_HINT ")", what,
               PHC_EXAMPLE);
  return FALSE;
}

static gboolean
parse_parameter (const char *field, const char *name, guint max, guint *value, GError **error)
{
  guint64 parsed;
  g_autofree char *what = NULL;

  if (!g_str_has_prefix (field, name)
      || !g_ascii_string_to_unsigned (field + strlen (name), 10, 1, max, &parsed, NULL))
    {
      what = g_strdup_printf ("the parameter “%s” must be a number from 1 to %u", name, max);
      return malformed (error, what);
    }
  *value = (guint) parsed;
  return TRUE;
}

/* The number of bytes in unpadded base64 text, or -1 if it is not base64. */
static gssize
base64_decoded_length (const char *text)
{
  gsize len = strlen (text);

  if (len % 4 == 1)
    return -1;
  for (gsize i = 0; i < len; i++)
    if (!(g_ascii_isalnum (text[i]) || text[i] == '+' || text[i] == '/'))
      return -1;
  return (gssize) (len * 3 / 4);
}

/* Names a foreign scheme without echoing the string: a config line that should
 * have held a hash may hold the password itself. */
static const char *
describe_scheme (const char *scheme)
{
  static const struct {
    const char *id;
    const char *name;
  } schemes[] = {
    { "argon2i", "Argon2i" }, { "argon2d", "Argon2d" }, { "2a", "bcrypt" },
    { "2b", "bcrypt" },       { "2y", "bcrypt" },       { "7", "scrypt" },
    { "scrypt", "scrypt" },   { "1", "MD5-crypt" },     { "5", "SHA-256-crypt" },
    { "6", "SHA-512-crypt" }, { "y", "yescrypt" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (schemes); i++)
    if (g_str_equal (scheme, schemes[i].id))
      return schemes[i].name;
  return NULL;
}

static gboolean
check_scheme (char **fields, GError **error)
{
  const char *name;

  if (g_str_equal (fields[1], "argon2id"))
    return TRUE;
  name = describe_scheme (fields[1]);
  if (name != NULL)
    g_set_error (error, CV_AUTH_ERROR, CV_AUTH_ERROR_UNSUPPORTED_HASH,
                 "the password hash is %s; Culvert accepts only Argon2id (" MAKE_ONE_HINT ")",
                 name);
  else
    g_set_error_literal (error, CV_AUTH_ERROR, CV_AUTH_ERROR_UNSUPPORTED_HASH,
                         "the password hash is not an Argon2id hash; it must start with "
                         "“" PHC_PREFIX "” (" MAKE_ONE_HINT ")");
  return FALSE;
}

static gboolean
check_cost (guint memory_kib, guint passes, guint lanes, GError **error)
{
  if (memory_kib < MIN_MEMORY_KIB || (guint64) memory_kib * passes < MIN_COST_KIB_PASSES)
    {
      g_set_error (error, CV_AUTH_ERROR, CV_AUTH_ERROR_UNSAFE_HASH,
                   "the password hash is too weak (m=%u KiB, t=%u): Culvert needs at least "
                   "m=%u KiB and m·t ≥ %u (" MAKE_ONE_HINT ")",
                   memory_kib, passes, MIN_MEMORY_KIB, MIN_COST_KIB_PASSES);
      return FALSE;
    }
  if (memory_kib > MAX_MEMORY_KIB || passes > MAX_PASSES || lanes > MAX_LANES
      || (guint64) memory_kib * passes > MAX_COST_KIB_PASSES)
    {
      g_set_error (error, CV_AUTH_ERROR, CV_AUTH_ERROR_UNSAFE_HASH,
                   "the password hash is too costly to verify at every login (m=%u KiB, t=%u, "
                   "p=%u): Culvert accepts at most m=%u KiB, t=%u, p=%u and m·t ≤ %u "
                   "(" MAKE_ONE_HINT ")",
                   memory_kib, passes, lanes, MAX_MEMORY_KIB, MAX_PASSES, MAX_LANES,
                   MAX_COST_KIB_PASSES);
      return FALSE;
    }
  return TRUE;
}

typedef struct {
  guint memory_kib;
  guint passes;
  guint lanes;
} Argon2Parameters;

/* "$argon2id$v=19$m=65536,t=2,p=1$salt$hash" pasted in double quotes (or an unquoted
 * here-document): the shell expands $argon2id, $v, $m and the rest, most often to
 * nothing, and leaves "=19=65536,t=2,p=1", or "argon2id=19…" when one "$" was escaped.
 * A whole hash has five "$"; what is left of one still has its parameters. */
static gboolean
looks_like_dollars_eaten (const char *phc)
{
  guint n_dollars = 0;

  for (const char *p = phc; *p != '\0'; p++)
    n_dollars += *p == '$';
  return n_dollars < 5 && strstr (phc, "=19") != NULL && strstr (phc, ",t=") != NULL
         && strstr (phc, ",p=") != NULL;
}

static gboolean
parse_hash (const char *phc, Argon2Parameters *parameters, GError **error)
{
  g_auto (GStrv) fields = NULL;
  g_auto (GStrv) values = NULL;
  gssize salt_len, hash_len;
  gsize len;

  len = phc != NULL ? strlen (phc) : 0;
  if (len == 0)
    {
      g_set_error_literal (error, CV_AUTH_ERROR, CV_AUTH_ERROR_MALFORMED_HASH,
                           "the password hash is empty (" MAKE_ONE_HINT ")");
      return FALSE;
    }
  if (looks_like_dollars_eaten (phc))
    {
      g_set_error_literal (error, CV_AUTH_ERROR, CV_AUTH_ERROR_MALFORMED_HASH,
                           "it looks like an Argon2id hash whose “$” signs the shell removed; "
                           "quote it with single quotes, or paste the output of "
                           "“culvert-cli hash-password” as it is");
      return FALSE;
    }
  if (phc[0] != '$')
    {
      g_set_error_literal (error, CV_AUTH_ERROR, CV_AUTH_ERROR_MALFORMED_HASH,
                           "the password hash is not a PHC string (“" PHC_PREFIX "…”); is it "
                           "the password itself? (" MAKE_ONE_HINT ")");
      return FALSE;
    }

  fields = g_strsplit (phc, "$", 0);
  if (g_strv_length (fields) < 2 || !check_scheme (fields, error))
    return FALSE;
  /* libsodium reads the string from a buffer of crypto_pwhash_STRBYTES. */
  if (len >= crypto_pwhash_STRBYTES)
    return malformed (error, "it is too long");
  if (g_strv_length (fields) != 6)
    return malformed (error, "it does not have six “$”-separated fields");
  if (!g_str_equal (fields[2], "v=19"))
    {
      g_set_error_literal (error, CV_AUTH_ERROR, CV_AUTH_ERROR_UNSUPPORTED_HASH,
                           "the password hash is not Argon2 version 19 (“v=19”), the only one "
                           "supported (" MAKE_ONE_HINT ")");
      return FALSE;
    }

  values = g_strsplit (fields[3], ",", 0);
  if (g_strv_length (values) != 3)
    return malformed (error, "its parameters are not “m=…,t=…,p=…”");
  if (!parse_parameter (values[0], "m=", G_MAXUINT32, &parameters->memory_kib, error)
      || !parse_parameter (values[1], "t=", G_MAXUINT32, &parameters->passes, error)
      || !parse_parameter (values[2], "p=", 255, &parameters->lanes, error))
    return FALSE;
  if (!check_cost (parameters->memory_kib, parameters->passes, parameters->lanes, error))
    return FALSE;

  salt_len = base64_decoded_length (fields[4]);
  hash_len = base64_decoded_length (fields[5]);
  if (salt_len < MIN_SALT_BYTES)
    return malformed (error, "its salt is not base64 of at least 8 bytes");
  if (hash_len < MIN_HASH_BYTES)
    return malformed (error, "its hash is not base64 of at least 16 bytes");

  /* The last word is libsodium's own parser, which is what verification uses
   * (non-canonical base64, for one, only it catches). */
  if (crypto_pwhash_argon2id_str_needs_rehash (phc, HASH_OPSLIMIT, HASH_MEMLIMIT) < 0)
    return malformed (error, "libsodium cannot parse it");
  return TRUE;
}

gboolean
cv_password_hash_is_valid (const char *phc, GError **error)
{
  Argon2Parameters parameters;

  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  return parse_hash (phc, &parameters, error);
}

gboolean
cv_password_hash_needs_rehash (const char *phc)
{
  Argon2Parameters parameters;

  if (!parse_hash (phc, &parameters, NULL))
    return TRUE;
  return parameters.memory_kib != HASH_MEMLIMIT / 1024 || parameters.passes != HASH_OPSLIMIT
         || parameters.lanes != 1;
}

#define GENERATED_RANDOM_BYTES 20 /* 160 bits: 32 base32 characters */
#define GENERATED_GROUP 4

/**
 * cv_password_generate:
 *
 * Base32 (RFC 4648's alphabet, lower case) in groups of four: no look-alike letters to
 * mistype, nothing a shell quote or a URL would mangle.
 *
 * Returns: (transfer full): a new password; free it with cv_secret_free()
 */
char *
cv_password_generate (void)
{
  static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  const guint n_chars = GENERATED_RANDOM_BYTES * 8 / 5;
  /* One allocation of the final size, so that no partial copy is left unwiped. */
  char *text = g_malloc (n_chars + n_chars / GENERATED_GROUP);
  guint8 random[GENERATED_RANDOM_BYTES];
  guint32 buffer = 0;
  guint bits = 0, written = 0, out = 0;

  randombytes_buf (random, sizeof random);
  for (guint i = 0; i < sizeof random; i++)
    {
      buffer = (buffer << 8) | random[i];
      bits += 8;
      while (bits >= 5)
        {
          if (written > 0 && written % GENERATED_GROUP == 0)
            text[out++] = '-';
          text[out++] = alphabet[(buffer >> (bits - 5)) & 31];
          bits -= 5;
          written++;
        }
    }
  text[out] = '\0';
  sodium_memzero (random, sizeof random);
  sodium_memzero (&buffer, sizeof buffer);
  return text;
}

/**
 * cv_secret_free:
 * @secret: (nullable): a NUL-terminated string that held a secret
 */
void
cv_secret_free (CvSecret *secret)
{
  if (secret == NULL)
    return;
  sodium_memzero (secret, strlen (secret));
  g_free (secret);
}
