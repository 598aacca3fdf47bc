/* cv-cpace.c: CPace over ristretto255 and SHA-512 on libsodium; only the encodings are ours. */
#include "auth/cv-cpace-private.h"

#include <sodium.h>
#include <string.h>

/* clang-format off */
G_DEFINE_QUARK (cv-cpace-error-quark, cv_cpace_error)
/* clang-format on */

/* G_Ristretto255.DSI, and SHA-512's input block size (H.s_in_bytes). */
#define DSI "CPaceRistretto255"
#define DSI_ISK DSI "_ISK"
#define HASH_BLOCK_SIZE 128

/* Our labels, distinct from each other and from the draft's. */
#define CONFIRM_LABEL_INITIATOR "culvert code confirm connect"
#define CONFIRM_LABEL_RESPONDER "culvert code confirm share"
#define VERIFICATION_LABEL "culvert-verification-v1"
#define VERIFICATION_MODULUS 1000000 /* six digits */

#define SCALAR_SIZE crypto_core_ristretto255_SCALARBYTES
#define POINT_SIZE crypto_core_ristretto255_BYTES

G_STATIC_ASSERT (POINT_SIZE == CV_CPACE_MESSAGE_SIZE);
G_STATIC_ASSERT (crypto_hash_sha512_BYTES == CV_CPACE_ISK_SIZE);
G_STATIC_ASSERT (crypto_core_ristretto255_HASHBYTES == crypto_hash_sha512_BYTES);
G_STATIC_ASSERT (crypto_generichash_KEYBYTES_MAX >= CV_CPACE_ISK_SIZE);

typedef enum {
  STATE_WAITING, /* our message is made; the peer's is awaited */
  STATE_KEYED,   /* the ISK is known */
  STATE_FAILED,  /* a refused input burnt the run; every secret is wiped */
} State;

struct _CvCpace {
  CvCpaceRole role;
  State state;
  guint8 scalar[SCALAR_SIZE];
  guint8 message[POINT_SIZE];
  guint8 peer_message[POINT_SIZE];
  GBytes *sid;
  GBytes *ad;
  GBytes *peer_ad;
  guint8 isk[CV_CPACE_ISK_SIZE];
};

/* Where an encoding goes: a buffer (public data, and the tests) or straight into a hash,
 * so that a string holding the PRS is never copied into memory we would have to wipe. */
typedef struct {
  GByteArray *bytes;
  crypto_hash_sha512_state *hash;
} Sink;

static void
sink_put (Sink *sink, const guint8 *data, gsize len)
{
  if (len == 0)
    return;
  if (sink->bytes != NULL)
    g_byte_array_append (sink->bytes, data, len);
  else
    crypto_hash_sha512_update (sink->hash, data, len);
}

static gsize
leb128_encode (gsize value, guint8 out[10])
{
  gsize n = 0;

  do
    {
      out[n] = value & 0x7f;
      value >>= 7;
      if (value != 0)
        out[n] |= 0x80;
      n++;
    }
  while (value != 0);
  return n;
}

static void
sink_prepend_len (Sink *sink, const guint8 *data, gsize len)
{
  guint8 length[10];

  sink_put (sink, length, leb128_encode (len, length));
  sink_put (sink, data, len);
}

static void
sink_prepend_len_bytes (Sink *sink, GBytes *bytes)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (bytes, &len);

  sink_prepend_len (sink, data, len);
}

void
cv_cpace_prepend_len (GByteArray *out, const guint8 *data, gsize len)
{
  Sink sink = { out, NULL };

  sink_prepend_len (&sink, data, len);
}

gboolean
cv_cpace_lexicographically_larger (const guint8 *a, gsize a_len, const guint8 *b, gsize b_len)
{
  for (gsize i = 0; i < MIN (a_len, b_len); i++)
    if (a[i] != b[i])
      return a[i] > b[i];
  return a_len > b_len;
}

void
cv_cpace_o_cat (GByteArray *out, const guint8 *a, gsize a_len, const guint8 *b, gsize b_len)
{
  gboolean a_first = cv_cpace_lexicographically_larger (a, a_len, b, b_len);

  g_byte_array_append (out, (const guint8 *) "oc", 2);
  g_byte_array_append (out, a_first ? a : b, a_first ? a_len : b_len);
  g_byte_array_append (out, a_first ? b : a, a_first ? b_len : a_len);
}

static gsize
prepended_length (gsize len)
{
  guint8 length[10];

  return leb128_encode (len, length) + len;
}

static void
sink_generator_string (Sink *sink,
                       const guint8 *prs,
                       gsize prs_len,
                       const guint8 *ci,
                       gsize ci_len,
                       const guint8 *sid,
                       gsize sid_len)
{
  static const guint8 zeros[HASH_BLOCK_SIZE] = { 0 };
  gsize used = prepended_length (prs_len) + prepended_length (strlen (DSI)) + 1;
  gsize zpad = used < HASH_BLOCK_SIZE ? HASH_BLOCK_SIZE - used : 0;

  sink_prepend_len (sink, (const guint8 *) DSI, strlen (DSI));
  sink_prepend_len (sink, prs, prs_len);
  sink_prepend_len (sink, zeros, zpad);
  sink_prepend_len (sink, ci, ci_len);
  sink_prepend_len (sink, sid, sid_len);
}

void
cv_cpace_generator_string (GByteArray *out,
                           const guint8 *prs,
                           gsize prs_len,
                           const guint8 *ci,
                           gsize ci_len,
                           const guint8 *sid,
                           gsize sid_len)
{
  Sink sink = { out, NULL };

  sink_generator_string (&sink, prs, prs_len, ci, ci_len, sid, sid_len);
}

void
cv_cpace_calculate_generator (const guint8 *prs,
                              gsize prs_len,
                              const guint8 *ci,
                              gsize ci_len,
                              const guint8 *sid,
                              gsize sid_len,
                              guint8 hash_out[64],
                              guint8 g_out[32])
{
  crypto_hash_sha512_state state;
  Sink sink = { NULL, &state };

  crypto_hash_sha512_init (&state);
  sink_generator_string (&sink, prs, prs_len, ci, ci_len, sid, sid_len);
  crypto_hash_sha512_final (&state, hash_out);
  sodium_memzero (&state, sizeof state);
  crypto_core_ristretto255_from_hash (g_out, hash_out);
}

static void
sink_transcript (Sink *sink,
                 gboolean ordered,
                 const guint8 ya[32],
                 const guint8 *ada,
                 gsize ada_len,
                 const guint8 yb[32],
                 const guint8 *adb,
                 gsize adb_len)
{
  g_autoptr (GByteArray) a = NULL;
  g_autoptr (GByteArray) b = NULL;
  g_autoptr (GByteArray) ordered_cat = NULL;

  if (!ordered)
    {
      sink_prepend_len (sink, ya, POINT_SIZE);
      sink_prepend_len (sink, ada, ada_len);
      sink_prepend_len (sink, yb, POINT_SIZE);
      sink_prepend_len (sink, adb, adb_len);
      return;
    }

  /* o_cat compares the two encoded halves, so they are built first (public data). */
  a = g_byte_array_new ();
  b = g_byte_array_new ();
  ordered_cat = g_byte_array_new ();
  cv_cpace_prepend_len (a, ya, POINT_SIZE);
  cv_cpace_prepend_len (a, ada, ada_len);
  cv_cpace_prepend_len (b, yb, POINT_SIZE);
  cv_cpace_prepend_len (b, adb, adb_len);
  cv_cpace_o_cat (ordered_cat, a->data, a->len, b->data, b->len);
  sink_put (sink, ordered_cat->data, ordered_cat->len);
}

void
cv_cpace_transcript (GByteArray *out,
                     gboolean ordered,
                     const guint8 ya[32],
                     const guint8 *ada,
                     gsize ada_len,
                     const guint8 yb[32],
                     const guint8 *adb,
                     gsize adb_len)
{
  Sink sink = { out, NULL };

  sink_transcript (&sink, ordered, ya, ada, ada_len, yb, adb, adb_len);
}

/* RFC 9496's decoding refuses an encoding with bit 255 set (a value of at least p).
 * libsodium 1.0.18, Debian 12's, masks that bit instead (later releases refuse it), so
 * it is checked here: one bit of the encoding, no arithmetic. */
static gboolean
decodes (const guint8 x[POINT_SIZE])
{
  return (x[POINT_SIZE - 1] & 0x80) == 0 && crypto_core_ristretto255_is_valid_point (x);
}

gboolean
cv_cpace_scalar_mult_vfy (const guint8 y[32], const guint8 x[32], guint8 out[32])
{
  /* libsodium fails both for an encoding that does not decode and for a product that is
   * the identity: exactly the draft's two abort conditions. */
  if (!decodes (x) || crypto_scalarmult_ristretto255 (out, y, x) != 0)
    {
      memset (out, 0, POINT_SIZE);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_input (const char *what, const guint8 *data, gsize len, GError **error)
{
  g_return_val_if_fail (data != NULL || len == 0, FALSE);

  if (len > CV_CPACE_MAX_INPUT_LENGTH)
    {
      g_set_error (error, CV_CPACE_ERROR, CV_CPACE_ERROR_INVALID_INPUT,
                   "the %s is %" G_GSIZE_FORMAT " bytes long, more than %d", what, len,
                   CV_CPACE_MAX_INPUT_LENGTH);
      return FALSE;
    }
  return TRUE;
}

/* Wipes every secret and makes every later call fail. */
static void
burn (CvCpace *self)
{
  self->state = STATE_FAILED;
  sodium_memzero (self->scalar, sizeof self->scalar);
  sodium_memzero (self->isk, sizeof self->isk);
}

static gboolean
fail (CvCpace *self, GError **error, CvCpaceError code, const char *message)
{
  burn (self);
  g_set_error_literal (error, CV_CPACE_ERROR, code, message);
  return FALSE;
}

CvCpace *
cv_cpace_new_with_scalar (CvCpaceRole role,
                          const guint8 *prs,
                          gsize prs_len,
                          const guint8 *ci,
                          gsize ci_len,
                          const guint8 *sid,
                          gsize sid_len,
                          const guint8 *ad,
                          gsize ad_len,
                          const guint8 scalar[32],
                          GError **error)
{
  g_autoptr (CvCpace) self = NULL;
  guint8 hash[crypto_hash_sha512_BYTES];
  guint8 generator[POINT_SIZE];
  gboolean made;

  g_return_val_if_fail (role == CV_CPACE_INITIATOR || role == CV_CPACE_RESPONDER
                          || role == CV_CPACE_SYMMETRIC,
                        NULL);
  g_return_val_if_fail (scalar != NULL, NULL);

  if (!check_input ("password-related string", prs, prs_len, error)
      || !check_input ("channel identifier", ci, ci_len, error)
      || !check_input ("session id", sid, sid_len, error)
      || !check_input ("associated data", ad, ad_len, error))
    return NULL;
  if (prs_len == 0)
    {
      g_set_error_literal (error, CV_CPACE_ERROR, CV_CPACE_ERROR_INVALID_INPUT,
                           "the password-related string is empty");
      return NULL;
    }
  if (sodium_init () < 0)
    g_error ("libsodium could not be initialised");

  self = g_new0 (CvCpace, 1);
  self->role = role;
  self->state = STATE_WAITING;
  memcpy (self->scalar, scalar, SCALAR_SIZE);
  self->sid = g_bytes_new (sid, sid_len);
  self->ad = g_bytes_new (ad, ad_len);

  /* The generator is as secret as the PRS: it is wiped at once. */
  cv_cpace_calculate_generator (prs, prs_len, ci, ci_len, sid, sid_len, hash, generator);
  made = crypto_scalarmult_ristretto255 (self->message, self->scalar, generator) == 0;
  sodium_memzero (hash, sizeof hash);
  sodium_memzero (generator, sizeof generator);
  if (!made)
    {
      /* Only a zero scalar (mod the group order) gets here: never a random one. */
      g_set_error_literal (error, CV_CPACE_ERROR, CV_CPACE_ERROR_IDENTITY,
                           "our own message would be the identity element");
      return NULL;
    }
  return g_steal_pointer (&self);
}

/**
 * cv_cpace_new:
 * @role: which party we are, which sets the order of the transcript
 * @prs: (array length=prs_len): the password-related string, never empty
 * @ci: (array length=ci_len): the channel identifier, the same at both ends (cv_cpace_build_ci())
 * @sid: (array length=sid_len): a public session id, the same at both ends; may be empty
 * @ad: (array length=ad_len): our associated data, sent in clear with our message
 *
 * Returns: (transfer full) (nullable): a run with a fresh random scalar, or %NULL with an
 *   %CV_CPACE_ERROR_INVALID_INPUT error
 */
CvCpace *
cv_cpace_new (CvCpaceRole role,
              const guint8 *prs,
              gsize prs_len,
              const guint8 *ci,
              gsize ci_len,
              const guint8 *sid,
              gsize sid_len,
              const guint8 *ad,
              gsize ad_len,
              GError **error)
{
  guint8 scalar[SCALAR_SIZE];
  CvCpace *self;

  if (sodium_init () < 0)
    g_error ("libsodium could not be initialised");
  /* Uniform in [1, group order): the draft's alternative to masked random bytes. */
  crypto_core_ristretto255_scalar_random (scalar);
  self = cv_cpace_new_with_scalar (role, prs, prs_len, ci, ci_len, sid, sid_len, ad, ad_len, scalar,
                                   error);
  sodium_memzero (scalar, sizeof scalar);
  return self;
}

void
cv_cpace_free (CvCpace *self)
{
  if (self == NULL)
    return;
  burn (self);
  g_clear_pointer (&self->sid, g_bytes_unref);
  g_clear_pointer (&self->ad, g_bytes_unref);
  g_clear_pointer (&self->peer_ad, g_bytes_unref);
  g_free (self);
}

gboolean
cv_cpace_get_message (CvCpace *self, guint8 out[CV_CPACE_MESSAGE_SIZE])
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (self->state == STATE_FAILED)
    return FALSE;
  memcpy (out, self->message, POINT_SIZE);
  return TRUE;
}

/* The transcript in the draft's order: the initiator's message first, or the ordered
 * concatenation when neither is first. */
static void
sink_our_transcript (CvCpace *self, Sink *sink)
{
  gboolean we_are_a = self->role != CV_CPACE_RESPONDER;
  gsize ad_len, peer_ad_len;
  const guint8 *ad = g_bytes_get_data (self->ad, &ad_len);
  const guint8 *peer_ad = g_bytes_get_data (self->peer_ad, &peer_ad_len);

  if (we_are_a)
    sink_transcript (sink, self->role == CV_CPACE_SYMMETRIC, self->message, ad, ad_len,
                     self->peer_message, peer_ad, peer_ad_len);
  else
    sink_transcript (sink, FALSE, self->peer_message, peer_ad, peer_ad_len, self->message, ad,
                     ad_len);
}

gboolean
cv_cpace_receive (CvCpace *self,
                  const guint8 *message,
                  gsize message_len,
                  const guint8 *peer_ad,
                  gsize peer_ad_len,
                  GError **error)
{
  crypto_hash_sha512_state state;
  Sink sink = { NULL, &state };
  guint8 k[POINT_SIZE];

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (message != NULL || message_len == 0, FALSE);
  g_return_val_if_fail (peer_ad != NULL || peer_ad_len == 0, FALSE);

  if (self->state != STATE_WAITING)
    return fail (self, error, CV_CPACE_ERROR_STATE,
                 self->state == STATE_KEYED ? "the peer's message came a second time"
                                            : "this exchange has already failed");
  if (!check_input ("peer's associated data", peer_ad, peer_ad_len, error))
    {
      burn (self);
      return FALSE;
    }
  if (message_len != POINT_SIZE)
    return fail (self, error, CV_CPACE_ERROR_BAD_MESSAGE,
                 "the peer's message is not 32 bytes long");
  /* The identity has one encoding, all zeros, which decodes: it is named apart. */
  if (sodium_is_zero (message, POINT_SIZE))
    return fail (self, error, CV_CPACE_ERROR_IDENTITY,
                 "the peer's message is the identity element");
  if (!decodes (message))
    return fail (self, error, CV_CPACE_ERROR_BAD_MESSAGE,
                 "the peer's message is not a canonical ristretto255 encoding");
  if (!cv_cpace_scalar_mult_vfy (self->scalar, message, k))
    return fail (self, error, CV_CPACE_ERROR_IDENTITY, "the shared point is the identity element");

  memcpy (self->peer_message, message, POINT_SIZE);
  self->peer_ad = g_bytes_new (peer_ad, peer_ad_len);

  /* ISK = H(lv_cat(DSI || "_ISK", sid, K) || transcript) */
  crypto_hash_sha512_init (&state);
  sink_prepend_len (&sink, (const guint8 *) DSI_ISK, strlen (DSI_ISK));
  sink_prepend_len_bytes (&sink, self->sid);
  sink_prepend_len (&sink, k, sizeof k);
  sink_our_transcript (self, &sink);
  crypto_hash_sha512_final (&state, self->isk);
  sodium_memzero (&state, sizeof state);
  sodium_memzero (k, sizeof k);
  /* The scalar has done its one job. */
  sodium_memzero (self->scalar, sizeof self->scalar);
  self->state = STATE_KEYED;
  return TRUE;
}

const guint8 *
cv_cpace_get_isk (CvCpace *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->state == STATE_KEYED ? self->isk : NULL;
}

/* BLAKE2b-256 keyed with the ISK over a label naming the tagging side, then the
 * transcript: the initiator (the connect agent) tags with "culvert code confirm connect",
 * the responder (the share agent) with "... share", so a tag sent back is refused. */
static void
confirmation_tag (CvCpace *self, gboolean initiator_tags, guint8 out[CV_CPACE_CONFIRMATION_SIZE])
{
  crypto_generichash_state state;
  g_autoptr (GByteArray) transcript = g_byte_array_new ();
  Sink sink = { transcript, NULL };
  const char *label = initiator_tags ? CONFIRM_LABEL_INITIATOR : CONFIRM_LABEL_RESPONDER;

  sink_our_transcript (self, &sink);
  crypto_generichash_init (&state, self->isk, sizeof self->isk, CV_CPACE_CONFIRMATION_SIZE);
  crypto_generichash_update (&state, (const guint8 *) label, strlen (label));
  crypto_generichash_update (&state, transcript->data, transcript->len);
  crypto_generichash_final (&state, out, CV_CPACE_CONFIRMATION_SIZE);
  sodium_memzero (&state, sizeof state);
}

gboolean
cv_cpace_get_confirmation (CvCpace *self, guint8 out[CV_CPACE_CONFIRMATION_SIZE])
{
  g_return_val_if_fail (self != NULL, FALSE);

  if (self->state != STATE_KEYED || self->role == CV_CPACE_SYMMETRIC)
    return FALSE;
  confirmation_tag (self, self->role == CV_CPACE_INITIATOR, out);
  return TRUE;
}

gboolean
cv_cpace_check_confirmation (CvCpace *self, const guint8 *tag, gsize tag_len, GError **error)
{
  guint8 expected[CV_CPACE_CONFIRMATION_SIZE];
  gboolean equal;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (tag != NULL || tag_len == 0, FALSE);

  if (self->state != STATE_KEYED || self->role == CV_CPACE_SYMMETRIC)
    return fail (self, error, CV_CPACE_ERROR_STATE,
                 self->state == STATE_WAITING
                   ? "no key to confirm yet: the peer's message is awaited"
                 : self->state == STATE_FAILED ? "this exchange has already failed"
                                               : "a symmetric run has no confirmation");
  confirmation_tag (self, self->role != CV_CPACE_INITIATOR, expected);
  equal = tag_len == sizeof expected && sodium_memcmp (expected, tag, sizeof expected) == 0;
  sodium_memzero (expected, sizeof expected);
  if (!equal)
    return fail (self, error, CV_CPACE_ERROR_CONFIRMATION_FAILED,
                 "the peer's key confirmation does not match: a wrong code, or someone in "
                 "between");
  return TRUE;
}

char *
cv_cpace_get_verification_string (CvCpace *self)
{
  crypto_hash_sha512_state state;
  Sink sink = { NULL, &state };
  guint8 hash[crypto_hash_sha512_BYTES];
  guint64 value = 0;

  g_return_val_if_fail (self != NULL, NULL);

  if (self->state != STATE_KEYED)
    return NULL;

  /* SHA-512(lv_cat(b"culvert-verification-v1", sid, ISK)); its first 8 bytes as a
   * little-endian number, modulo 10^6 (a bias of 10^6 / 2^64, nothing). */
  crypto_hash_sha512_init (&state);
  sink_prepend_len (&sink, (const guint8 *) VERIFICATION_LABEL, strlen (VERIFICATION_LABEL));
  sink_prepend_len_bytes (&sink, self->sid);
  sink_prepend_len (&sink, self->isk, sizeof self->isk);
  crypto_hash_sha512_final (&state, hash);
  for (int i = 7; i >= 0; i--)
    value = (value << 8) | hash[i];
  value %= VERIFICATION_MODULUS;
  sodium_memzero (&state, sizeof state);
  sodium_memzero (hash, sizeof hash);
  return g_strdup_printf ("%03u %03u", (guint) (value / 1000), (guint) (value % 1000));
}

gboolean
cv_cpace_get_sid_output (CvCpace *self, guint8 out[CV_CPACE_SID_OUTPUT_SIZE])
{
  static const char label[] = "CPaceSidOutput";
  crypto_hash_sha512_state state;
  Sink sink = { NULL, &state };

  g_return_val_if_fail (self != NULL, FALSE);

  if (self->state != STATE_KEYED)
    return FALSE;
  crypto_hash_sha512_init (&state);
  sink_put (&sink, (const guint8 *) label, strlen (label));
  sink_our_transcript (self, &sink);
  crypto_hash_sha512_final (&state, out);
  return TRUE;
}

static gboolean
is_canonical_fingerprint (const char *text)
{
  static const char prefix[] = "sha256:";

  if (text == NULL || !g_str_has_prefix (text, prefix) || strlen (text) != strlen (prefix) + 64)
    return FALSE;
  for (const char *p = text + strlen (prefix); *p != '\0'; p++)
    if (!g_ascii_isdigit (*p) && !(*p >= 'a' && *p <= 'f'))
      return FALSE;
  return TRUE;
}

static gboolean
is_nameplate (const char *text)
{
  if (text == NULL || *text == '\0' || strlen (text) > 32)
    return FALSE;
  for (const char *p = text; *p != '\0'; p++)
    if (!g_ascii_isdigit (*p))
      return FALSE;
  return TRUE;
}

/**
 * cv_cpace_build_ci:
 * @nameplate: the code's public part, decimal digits without separators
 * @share_fingerprint: the share agent's TLS key, canonical `sha256:…`
 * @connect_fingerprint: the connect agent's TLS key, likewise
 *
 * Both keys go into CI, so the two ends derive the same ISK (and the confirmation
 * passes) only if each saw the same two keys: a relay that swaps one in is caught.
 *
 * Returns: (transfer full) (nullable): lv_cat(nameplate, share_fingerprint,
 *   connect_fingerprint), or %NULL if a part is malformed
 */
GBytes *
cv_cpace_build_ci (const char *nameplate,
                   const char *share_fingerprint,
                   const char *connect_fingerprint,
                   GError **error)
{
  GByteArray *ci;

  if (!is_nameplate (nameplate))
    {
      g_set_error_literal (error, CV_CPACE_ERROR, CV_CPACE_ERROR_INVALID_INPUT,
                           "a nameplate is 1 to 32 decimal digits");
      return NULL;
    }
  if (!is_canonical_fingerprint (share_fingerprint)
      || !is_canonical_fingerprint (connect_fingerprint))
    {
      g_set_error_literal (error, CV_CPACE_ERROR, CV_CPACE_ERROR_INVALID_INPUT,
                           "a fingerprint in a channel identifier is \"sha256:\" and 64 "
                           "lowercase hexadecimal digits");
      return NULL;
    }

  ci = g_byte_array_new ();
  cv_cpace_prepend_len (ci, (const guint8 *) nameplate, strlen (nameplate));
  cv_cpace_prepend_len (ci, (const guint8 *) share_fingerprint, strlen (share_fingerprint));
  cv_cpace_prepend_len (ci, (const guint8 *) connect_fingerprint, strlen (connect_fingerprint));
  return g_byte_array_free_to_bytes (ci);
}
