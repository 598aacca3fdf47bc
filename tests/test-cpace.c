/* test-cpace.c: CPace against the draft's known answers, and the run's refusals and burns.
 *
 * White-box: it includes auth/cv-cpace-private.h to check each encoding and step (the
 * generator string, the transcripts, scalar_mult_vfy, fixed scalars) on its own.
 *
 * The vectors are copied from draft-irtf-cfrg-cpace, file testvectors.json (keys
 * "G_Coffee25519" and "G_Coffee25519_points", the ristretto255/SHA-512 suite) and the
 * appendix of draft-irtf-cfrg-cpace.md ("Definition and test vectors for string utility
 * functions"), at commit 8fb4056e1b9201927d9f651b9970d9d5660c7892 of
 * github.com/cfrg/draft-irtf-cfrg-cpace, which is the tag draft-irtf-cfrg-cpace-21.
 */
#include "auth/cv-cpace-private.h"

#include <sodium.h>
#include <string.h>

/* --- the draft's vectors (CPACE-RISTR255-SHA512) --- */
#define TV_PRS "50617373776f7264" /* b"Password" */
#define TV_CI "0b415f696e69746961746f720b425f726573706f6e646572"
#define TV_SID "7e4b4791d6a8ef019b936c79fb7f2c57"
#define TV_GENERATOR_STRING                                                                        \
  "11435061636552697374726574746f3235350850617373776f726464"                                       \
  "00000000000000000000000000000000000000000000000000000000"                                       \
  "00000000000000000000000000000000000000000000000000000000"                                       \
  "00000000000000000000000000000000000000000000000000000000"                                       \
  "00000000000000000000000000000000180b415f696e69746961746f"                                       \
  "720b425f726573706f6e646572107e4b4791d6a8ef019b936c79fb7f"                                       \
  "2c57"
#define TV_GENERATOR_HASH                                                                          \
  "da6d3ddc8802fca9058755ffd3ebde08a9c2c74945901a258482a288"                                       \
  "b6663af06bf645c93cd1c51512307199c80e84908916d983b34af772"                                       \
  "05f90851a657ee27"
#define TV_G "222b6b195fe84b1652badb6f6a3ae3d24341e7306967f0b8115b40d5698c7e56"
#define TV_ADA "414461" /* b"ADa" */
#define TV_YA_SCALAR "da3d23700a9e5699258aef94dc060dfda5ebb61f02a5ea77fad53f4ff0976d08"
#define TV_YA "d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0eec482b9157"
#define TV_ADB "414462" /* b"ADb" */
#define TV_YB_SCALAR "d2316b454718c35362d83d69df6320f38578ed5984651435e2949762d900b80d"
#define TV_YB "3ea7e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f7258"
#define TV_K "80b69a8a76457ab6a4d7f887a4bf6b55a2f80ac19c333f917a05fc9887c8b40f"
#define TV_TRANSCRIPT_IR                                                                           \
  "20d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0e"                                       \
  "ec482b915703414461203ea7e0b19560d7c0b0f5734f63b955286dfa"                                       \
  "8232b5ebe63324e2d9e7433f725803414462"
#define TV_ISK_INPUT_IR                                                                            \
  "15435061636552697374726574746f3235355f49534b107e4b4791d6"                                       \
  "a8ef019b936c79fb7f2c572080b69a8a76457ab6a4d7f887a4bf6b55"                                       \
  "a2f80ac19c333f917a05fc9887c8b40f20d6bac480f2c386c394efc7"                                       \
  "c47adb9925dcd2630b64f240c50f8d0eec482b915703414461203ea7"                                       \
  "e0b19560d7c0b0f5734f63b955286dfa8232b5ebe63324e2d9e7433f"                                       \
  "725803414462"
#define TV_ISK_IR                                                                                  \
  "b69effbf61b51d56401c0f65601abe428de8206feaaf0e32198896dcae7b35cd"                               \
  "2b38950a39dfd5d4a79164614c2984f7daa460b588c1e80c3fa2068af7900447"
#define TV_TRANSCRIPT_OC                                                                           \
  "6f6320d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f"                                       \
  "8d0eec482b915703414461203ea7e0b19560d7c0b0f5734f63b95528"                                       \
  "6dfa8232b5ebe63324e2d9e7433f725803414462"
#define TV_ISK_SY                                                                                  \
  "544199d71f62f8d9a1fee55727e24fe4a45844593c2b6013c4fa3969d0e5debb"                               \
  "2244675c0b43397cbb68d342b01fc0f98fc961469a25134de9f0f813c1a57476"
#define TV_SID_OUTPUT_IR                                                                           \
  "bb1c449b35f0ea79a65c209f329a693d475e0ce2387bed9fe4b78f60b2a27c21"                               \
  "9813fb2cfe175ef40d2222d9261e66da7d78f7c55a303b1b8611dcdfab880c47"
#define TV_SID_OUTPUT_OC                                                                           \
  "10d5941d4933497fe31b9188d690b84465e2a2d158332a7267284a071a8d0876"                               \
  "fc5c8c329dc735d59a9f8ef6623ee23924704a2f929dd631ca981227ee82fff2"
/* "Test case for scalar_mult with valid inputs" and "Invalid inputs for scalar_mult_vfy" */
#define TV_VALID_S "7cd0e075fa7955ba52c02759a6c90dbbfc10e6d40aea8d283e407d88cf538a05"
#define TV_VALID_X "2c3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c"
#define TV_VALID_SX "7c13645fe790a468f62c39beb7388e541d8405d1ade69d1778c5fe3e7f6b600e"
#define TV_INVALID_Y1 "2b3c6b8c4f3800e7aef6864025b4ed79bd599117e427c41bd47d93d654b4a51c"
#define TV_INVALID_Y2 "0000000000000000000000000000000000000000000000000000000000000000"

#define FP_A "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define FP_B "sha256:2222222222222222222222222222222222222222222222222222222222222222"

/* Hex to bytes (whitespace ignored); the caller frees. */
static guint8 *
unhex (const char *hex, gsize *len)
{
  gsize max = strlen (hex) / 2;
  guint8 *out = g_malloc (MAX (max, 1));
  size_t n = 0;

  g_assert_cmpint (sodium_hex2bin (out, max, hex, strlen (hex), " ", &n, NULL), ==, 0);
  if (len != NULL)
    *len = n;
  return out;
}

static void
assert_hex (const guint8 *data, gsize len, const char *expected)
{
  g_autofree char *hex = g_malloc (len * 2 + 1);

  sodium_bin2hex (hex, len * 2 + 1, data, len);
  g_assert_cmpstr (hex, ==, expected);
}

static void
assert_array_hex (GByteArray *array, const char *expected)
{
  assert_hex (array->data, array->len, expected);
}

/* The draft's setting: one party with its scalar and AD from the vectors. */
static CvCpace *
new_vector_party (CvCpaceRole role, const char *scalar_hex, const char *ad_hex)
{
  g_autoptr (GError) error = NULL;
  gsize prs_len, ci_len, sid_len, ad_len;
  g_autofree guint8 *prs = unhex (TV_PRS, &prs_len);
  g_autofree guint8 *ci = unhex (TV_CI, &ci_len);
  g_autofree guint8 *sid = unhex (TV_SID, &sid_len);
  g_autofree guint8 *ad = unhex (ad_hex, &ad_len);
  g_autofree guint8 *scalar = unhex (scalar_hex, NULL);
  CvCpace *party;

  party = cv_cpace_new_with_scalar (role, prs, prs_len, ci, ci_len, sid, sid_len, ad, ad_len,
                                    scalar, &error);
  g_assert_no_error (error);
  g_assert_nonnull (party);
  return party;
}

/* Each party takes the other's message and AD. */
static void
exchange (CvCpace *a,
          const guint8 *ad_a,
          gsize ad_a_len,
          CvCpace *b,
          const guint8 *ad_b,
          gsize ad_b_len)
{
  g_autoptr (GError) error = NULL;
  guint8 message_a[CV_CPACE_MESSAGE_SIZE], message_b[CV_CPACE_MESSAGE_SIZE];

  g_assert_true (cv_cpace_get_message (a, message_a));
  g_assert_true (cv_cpace_get_message (b, message_b));
  g_assert_true (cv_cpace_receive (b, message_a, sizeof message_a, ad_a, ad_a_len, &error));
  g_assert_no_error (error);
  g_assert_true (cv_cpace_receive (a, message_b, sizeof message_b, ad_b, ad_b_len, &error));
  g_assert_no_error (error);
}

static void
exchange_vector_ads (CvCpace *a, CvCpace *b)
{
  exchange (a, (const guint8 *) "ADa", 3, b, (const guint8 *) "ADb", 3);
}

static void
test_prepend_len (void)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  guint8 range[128];
  g_autofree char *expected_127 = NULL;
  g_autofree char *expected_128 = NULL;
  g_autoptr (GString) hex_range = g_string_new (NULL);
  g_autofree char *long_data = g_strnfill (300, 'x');

  for (guint i = 0; i < sizeof range; i++)
    {
      range[i] = i;
      g_string_append_printf (hex_range, "%02x", i);
    }

  cv_cpace_prepend_len (out, NULL, 0);
  assert_array_hex (out, "00");
  g_byte_array_set_size (out, 0);
  cv_cpace_prepend_len (out, (const guint8 *) "1234", 4);
  assert_array_hex (out, "0431323334");

  /* bytes(range(127)) takes one length byte, bytes(range(128)) two. */
  g_byte_array_set_size (out, 0);
  cv_cpace_prepend_len (out, range, 127);
  expected_127 = g_strdup_printf ("7f%.*s", 254, hex_range->str);
  assert_array_hex (out, expected_127);
  g_byte_array_set_size (out, 0);
  cv_cpace_prepend_len (out, range, 128);
  expected_128 = g_strdup_printf ("8001%s", hex_range->str);
  assert_array_hex (out, expected_128);

  /* Beyond the draft's vectors: LEB128 of 300 is ac 02. */
  g_byte_array_set_size (out, 0);
  cv_cpace_prepend_len (out, (const guint8 *) long_data, 300);
  g_assert_cmpuint (out->len, ==, 302);
  g_assert_cmpuint (out->data[0], ==, 0xac);
  g_assert_cmpuint (out->data[1], ==, 0x02);
}

static void
test_lv_cat (void)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();

  /* lv_cat(b"1234", b"5", b"", b"678") */
  cv_cpace_prepend_len (out, (const guint8 *) "1234", 4);
  cv_cpace_prepend_len (out, (const guint8 *) "5", 1);
  cv_cpace_prepend_len (out, (const guint8 *) "", 0);
  cv_cpace_prepend_len (out, (const guint8 *) "678", 3);
  assert_array_hex (out, "043132333401350003363738");
}

static void
test_o_cat (void)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
#define LARGER(a, b)                                                                               \
  cv_cpace_lexicographically_larger ((const guint8 *) a, sizeof a - 1, (const guint8 *) b,         \
                                     sizeof b - 1)

  g_assert_false (LARGER ("\0", "\0\0"));
  g_assert_true (LARGER ("\1", "\0\0"));
  g_assert_true (LARGER ("\0\0", "\0"));
  g_assert_false (LARGER ("\0\0", "\1"));
  g_assert_false (LARGER ("\0\1", "\1"));
  g_assert_false (LARGER ("ABCD", "BCD"));
#undef LARGER

  cv_cpace_o_cat (out, (const guint8 *) "ABCD", 4, (const guint8 *) "BCD", 3);
  assert_array_hex (out, "6f6342434441424344");
  g_byte_array_set_size (out, 0);
  cv_cpace_o_cat (out, (const guint8 *) "BCD", 3, (const guint8 *) "ABCDE", 5);
  assert_array_hex (out, "6f634243444142434445");
}

/* transcript_ir and transcript_oc take 32-byte messages here; the draft's string vectors
 * use short ones, so those are checked through the same lv_cat/o_cat steps. */
static void
test_transcript_strings (void)
{
  g_autoptr (GByteArray) a = g_byte_array_new ();
  g_autoptr (GByteArray) b = g_byte_array_new ();
  g_autoptr (GByteArray) ir = g_byte_array_new ();
  g_autoptr (GByteArray) oc = g_byte_array_new ();

  cv_cpace_prepend_len (a, (const guint8 *) "123", 3);
  cv_cpace_prepend_len (a, (const guint8 *) "PartyA", 6);
  cv_cpace_prepend_len (b, (const guint8 *) "234", 3);
  cv_cpace_prepend_len (b, (const guint8 *) "PartyB", 6);
  g_byte_array_append (ir, a->data, a->len);
  g_byte_array_append (ir, b->data, b->len);
  assert_array_hex (ir, "03313233065061727479410332333406506172747942");
  cv_cpace_o_cat (oc, a->data, a->len, b->data, b->len);
  assert_array_hex (oc, "6f6303323334065061727479420331323306506172747941");

  g_byte_array_set_size (a, 0);
  g_byte_array_set_size (b, 0);
  g_byte_array_set_size (oc, 0);
  cv_cpace_prepend_len (a, (const guint8 *) "3456", 4);
  cv_cpace_prepend_len (a, (const guint8 *) "PartyA", 6);
  cv_cpace_prepend_len (b, (const guint8 *) "2345", 4);
  cv_cpace_prepend_len (b, (const guint8 *) "PartyB", 6);
  cv_cpace_o_cat (oc, a->data, a->len, b->data, b->len);
  assert_array_hex (oc, "6f63043334353606506172747941043233343506506172747942");
}

static void
test_generator (void)
{
  g_autoptr (GByteArray) gen_str = g_byte_array_new ();
  gsize prs_len, ci_len, sid_len;
  g_autofree guint8 *prs = unhex (TV_PRS, &prs_len);
  g_autofree guint8 *ci = unhex (TV_CI, &ci_len);
  g_autofree guint8 *sid = unhex (TV_SID, &sid_len);
  guint8 hash[64], g[32];

  cv_cpace_generator_string (gen_str, prs, prs_len, ci, ci_len, sid, sid_len);
  g_assert_cmpuint (gen_str->len, ==, 170);
  assert_array_hex (gen_str, TV_GENERATOR_STRING);

  cv_cpace_calculate_generator (prs, prs_len, ci, ci_len, sid, sid_len, hash, g);
  assert_hex (hash, sizeof hash, TV_GENERATOR_HASH);
  assert_hex (g, sizeof g, TV_G);
}

static void
test_messages_and_k (void)
{
  g_autoptr (CvCpace) a = new_vector_party (CV_CPACE_INITIATOR, TV_YA_SCALAR, TV_ADA);
  g_autoptr (CvCpace) b = new_vector_party (CV_CPACE_RESPONDER, TV_YB_SCALAR, TV_ADB);
  g_autofree guint8 *ya = unhex (TV_YA_SCALAR, NULL);
  g_autofree guint8 *yb = unhex (TV_YB_SCALAR, NULL);
  g_autofree guint8 *ya_point = unhex (TV_YA, NULL);
  g_autofree guint8 *yb_point = unhex (TV_YB, NULL);
  guint8 message[CV_CPACE_MESSAGE_SIZE], k[32];

  g_assert_true (cv_cpace_get_message (a, message));
  assert_hex (message, sizeof message, TV_YA);
  g_assert_true (cv_cpace_get_message (b, message));
  assert_hex (message, sizeof message, TV_YB);

  g_assert_true (cv_cpace_scalar_mult_vfy (ya, yb_point, k));
  assert_hex (k, sizeof k, TV_K);
  g_assert_true (cv_cpace_scalar_mult_vfy (yb, ya_point, k));
  assert_hex (k, sizeof k, TV_K);
}

static void
test_isk_initiator_responder (void)
{
  g_autoptr (CvCpace) a = new_vector_party (CV_CPACE_INITIATOR, TV_YA_SCALAR, TV_ADA);
  g_autoptr (CvCpace) b = new_vector_party (CV_CPACE_RESPONDER, TV_YB_SCALAR, TV_ADB);
  g_autoptr (GByteArray) transcript = g_byte_array_new ();
  g_autoptr (GByteArray) isk_input = g_byte_array_new ();
  g_autofree guint8 *ya_point = unhex (TV_YA, NULL);
  g_autofree guint8 *yb_point = unhex (TV_YB, NULL);
  g_autofree guint8 *sid = unhex (TV_SID, NULL);
  g_autofree guint8 *k = unhex (TV_K, NULL);
  guint8 sid_output[CV_CPACE_SID_OUTPUT_SIZE];

  cv_cpace_transcript (transcript, FALSE, ya_point, (const guint8 *) "ADa", 3, yb_point,
                       (const guint8 *) "ADb", 3);
  assert_array_hex (transcript, TV_TRANSCRIPT_IR);

  /* lv_cat(DSI_ISK, sid, K) || transcript_ir: the string the ISK hashes. */
  cv_cpace_prepend_len (isk_input, (const guint8 *) "CPaceRistretto255_ISK", 21);
  cv_cpace_prepend_len (isk_input, sid, 16);
  cv_cpace_prepend_len (isk_input, k, 32);
  g_byte_array_append (isk_input, transcript->data, transcript->len);
  assert_array_hex (isk_input, TV_ISK_INPUT_IR);

  g_assert_null (cv_cpace_get_isk (a));
  exchange_vector_ads (a, b);
  assert_hex (cv_cpace_get_isk (a), CV_CPACE_ISK_SIZE, TV_ISK_IR);
  assert_hex (cv_cpace_get_isk (b), CV_CPACE_ISK_SIZE, TV_ISK_IR);

  g_assert_true (cv_cpace_get_sid_output (a, sid_output));
  assert_hex (sid_output, sizeof sid_output, TV_SID_OUTPUT_IR);
  g_assert_true (cv_cpace_get_sid_output (b, sid_output));
  assert_hex (sid_output, sizeof sid_output, TV_SID_OUTPUT_IR);
}

static void
test_isk_symmetric (void)
{
  g_autoptr (CvCpace) a = new_vector_party (CV_CPACE_SYMMETRIC, TV_YA_SCALAR, TV_ADA);
  g_autoptr (CvCpace) b = new_vector_party (CV_CPACE_SYMMETRIC, TV_YB_SCALAR, TV_ADB);
  g_autoptr (GByteArray) transcript = g_byte_array_new ();
  g_autofree guint8 *ya_point = unhex (TV_YA, NULL);
  g_autofree guint8 *yb_point = unhex (TV_YB, NULL);
  guint8 sid_output[CV_CPACE_SID_OUTPUT_SIZE];

  cv_cpace_transcript (transcript, TRUE, ya_point, (const guint8 *) "ADa", 3, yb_point,
                       (const guint8 *) "ADb", 3);
  assert_array_hex (transcript, TV_TRANSCRIPT_OC);
  /* Ordered concatenation does not care which message is named first. */
  g_byte_array_set_size (transcript, 0);
  cv_cpace_transcript (transcript, TRUE, yb_point, (const guint8 *) "ADb", 3, ya_point,
                       (const guint8 *) "ADa", 3);
  assert_array_hex (transcript, TV_TRANSCRIPT_OC);

  exchange_vector_ads (a, b);
  assert_hex (cv_cpace_get_isk (a), CV_CPACE_ISK_SIZE, TV_ISK_SY);
  assert_hex (cv_cpace_get_isk (b), CV_CPACE_ISK_SIZE, TV_ISK_SY);
  g_assert_true (cv_cpace_get_sid_output (b, sid_output));
  assert_hex (sid_output, sizeof sid_output, TV_SID_OUTPUT_OC);
}

static void
test_scalar_mult_points (void)
{
  g_autofree guint8 *s = unhex (TV_VALID_S, NULL);
  g_autofree guint8 *x = unhex (TV_VALID_X, NULL);
  g_autofree guint8 *y1 = unhex (TV_INVALID_Y1, NULL);
  g_autofree guint8 *y2 = unhex (TV_INVALID_Y2, NULL);
  guint8 out[32];

  g_assert_true (cv_cpace_scalar_mult_vfy (s, x, out));
  assert_hex (out, sizeof out, TV_VALID_SX);

  memset (out, 0xaa, sizeof out);
  g_assert_false (cv_cpace_scalar_mult_vfy (s, y1, out));
  assert_hex (out, sizeof out, TV_INVALID_Y2); /* G.I */
  memset (out, 0xaa, sizeof out);
  g_assert_false (cv_cpace_scalar_mult_vfy (s, y2, out));
  assert_hex (out, sizeof out, TV_INVALID_Y2);
}

/* After a refusal the run is burnt: no key, no message, no second try. */
static void
assert_burnt (CvCpace *party)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *yb = unhex (TV_YB, NULL);
  guint8 out[64];

  g_assert_null (cv_cpace_get_isk (party));
  g_assert_false (cv_cpace_get_message (party, out));
  g_assert_false (cv_cpace_get_confirmation (party, out));
  g_assert_false (cv_cpace_get_sid_output (party, out));
  g_assert_null (cv_cpace_get_verification_string (party));
  g_assert_false (cv_cpace_receive (party, yb, 32, NULL, 0, &error));
  g_assert_error (error, CV_CPACE_ERROR, CV_CPACE_ERROR_STATE);
}

static void
assert_refused (const char *message_hex, gsize len, int code)
{
  g_autoptr (CvCpace) a = new_vector_party (CV_CPACE_INITIATOR, TV_YA_SCALAR, TV_ADA);
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *message = unhex (message_hex, NULL);

  g_assert_false (cv_cpace_receive (a, message, len, (const guint8 *) "ADb", 3, &error));
  g_assert_error (error, CV_CPACE_ERROR, code);
  assert_burnt (a);
}

static void
test_invalid_messages (void)
{
  /* The draft's two: a non-canonical encoding and the identity. */
  assert_refused (TV_INVALID_Y1, 32, CV_CPACE_ERROR_BAD_MESSAGE);
  assert_refused (TV_INVALID_Y2, 32, CV_CPACE_ERROR_IDENTITY);
  /* More encodings that RFC 9496 decoding refuses: the top bit set, a value of at least
   * p = 2^255 - 19, and an odd (negative) one. */
  assert_refused ("d6bac480f2c386c394efc7c47adb9925dcd2630b64f240c50f8d0eec482b91d7", 32,
                  CV_CPACE_ERROR_BAD_MESSAGE);
  assert_refused ("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", 32,
                  CV_CPACE_ERROR_BAD_MESSAGE);
  assert_refused ("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", 32,
                  CV_CPACE_ERROR_BAD_MESSAGE); /* p + 1, even */
  assert_refused ("0100000000000000000000000000000000000000000000000000000000000000", 32,
                  CV_CPACE_ERROR_BAD_MESSAGE);
  /* A valid point with a byte missing or one too many. */
  assert_refused (TV_YB, 31, CV_CPACE_ERROR_BAD_MESSAGE);
  assert_refused (TV_YB "00", 33, CV_CPACE_ERROR_BAD_MESSAGE);
  assert_refused ("", 0, CV_CPACE_ERROR_BAD_MESSAGE);
}

/* The confirmation and the verification string, recomputed here from what the header
 * and PROTOCOL.md say they are, over the draft's ISK_IR. */
static void
test_confirmation_and_verification_formulas (void)
{
  g_autoptr (CvCpace) a = new_vector_party (CV_CPACE_INITIATOR, TV_YA_SCALAR, TV_ADA);
  g_autoptr (CvCpace) b = new_vector_party (CV_CPACE_RESPONDER, TV_YB_SCALAR, TV_ADB);
  g_autoptr (GByteArray) key_input = g_byte_array_new ();
  g_autoptr (GByteArray) verify_input = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *isk = unhex (TV_ISK_IR, NULL);
  g_autofree guint8 *sid = unhex (TV_SID, NULL);
  g_autofree guint8 *ya_point = unhex (TV_YA, NULL);
  g_autofree char *verification_a = NULL;
  g_autofree char *verification_b = NULL;
  g_autofree char *expected_verification = NULL;
  g_autoptr (GByteArray) transcript = g_byte_array_new ();
  g_autofree guint8 *yb_point = unhex (TV_YB, NULL);
  guint8 expected[CV_CPACE_CONFIRMATION_SIZE], tag[CV_CPACE_CONFIRMATION_SIZE], hash[64];
  guint64 value = 0;

  exchange_vector_ads (a, b);
  cv_cpace_transcript (transcript, FALSE, ya_point, (const guint8 *) "ADa", 3, yb_point,
                       (const guint8 *) "ADb", 3);

  /* The initiator's (connect agent's) tag: BLAKE2b-256, key ISK, over the label and
   * transcript_ir. */
  g_byte_array_append (key_input, (const guint8 *) "culvert code confirm connect", 28);
  g_byte_array_append (key_input, transcript->data, transcript->len);
  crypto_generichash (expected, sizeof expected, key_input->data, key_input->len, isk, 64);
  g_assert_true (cv_cpace_get_confirmation (a, tag));
  g_assert_cmpmem (tag, sizeof tag, expected, sizeof expected);
  g_assert_true (cv_cpace_check_confirmation (b, tag, sizeof tag, &error));
  g_assert_no_error (error);
  g_assert_true (cv_cpace_get_confirmation (b, tag));
  g_assert_true (cv_cpace_check_confirmation (a, tag, sizeof tag, &error));
  g_assert_no_error (error);
  /* Each side's tag names its side, so the two differ: a reflected tag fails. */
  g_assert_true (memcmp (tag, expected, sizeof tag) != 0);

  cv_cpace_prepend_len (verify_input, (const guint8 *) "culvert-verification-v1", 23);
  cv_cpace_prepend_len (verify_input, sid, 16);
  cv_cpace_prepend_len (verify_input, isk, 64);
  crypto_hash_sha512 (hash, verify_input->data, verify_input->len);
  for (int i = 7; i >= 0; i--)
    value = (value << 8) | hash[i];
  value %= 1000000;
  expected_verification = g_strdup_printf ("%03u %03u", (guint) (value / 1000),
                                           (guint) (value % 1000));
  verification_a = cv_cpace_get_verification_string (a);
  verification_b = cv_cpace_get_verification_string (b);
  g_assert_cmpstr (verification_a, ==, expected_verification);
  g_assert_cmpstr (verification_a, ==, "718 819"); /* PROTOCOL.md's worked example */
  g_assert_cmpstr (verification_b, ==, expected_verification);
  g_assert_true (g_regex_match_simple ("^[0-9]{3} [0-9]{3}$", verification_a, 0, 0));
}

static void
test_reflected_confirmation_refused (void)
{
  g_autoptr (CvCpace) a = new_vector_party (CV_CPACE_INITIATOR, TV_YA_SCALAR, TV_ADA);
  g_autoptr (CvCpace) b = new_vector_party (CV_CPACE_RESPONDER, TV_YB_SCALAR, TV_ADB);
  g_autoptr (GError) error = NULL;
  guint8 tag[CV_CPACE_CONFIRMATION_SIZE];

  exchange_vector_ads (a, b);
  g_assert_true (cv_cpace_get_confirmation (a, tag));
  g_assert_false (cv_cpace_check_confirmation (a, tag, sizeof tag, &error));
  g_assert_error (error, CV_CPACE_ERROR, CV_CPACE_ERROR_CONFIRMATION_FAILED);
  assert_burnt (a);
}

static CvCpace *
new_random_party (CvCpaceRole role, const char *prs, GBytes *ci, const char *ad)
{
  g_autoptr (GError) error = NULL;
  CvCpace *party;

  party = cv_cpace_new (role, (const guint8 *) prs, strlen (prs), g_bytes_get_data (ci, NULL),
                        g_bytes_get_size (ci), (const guint8 *) "sid-0001", 8, (const guint8 *) ad,
                        strlen (ad), &error);
  g_assert_no_error (error);
  g_assert_nonnull (party);
  return party;
}

static GBytes *
build_ci (const char *nameplate, const char *initiator, const char *responder)
{
  g_autoptr (GError) error = NULL;
  GBytes *ci = cv_cpace_build_ci (nameplate, initiator, responder, &error);

  g_assert_no_error (error);
  g_assert_nonnull (ci);
  return ci;
}

/* Two runs with random scalars: what the share and connect agents will do. */
static void
run_pair (const char *prs_a, GBytes *ci_a, const char *prs_b, GBytes *ci_b, gboolean same)
{
  g_autoptr (CvCpace) a = new_random_party (CV_CPACE_INITIATOR, prs_a, ci_a, "share");
  g_autoptr (CvCpace) b = new_random_party (CV_CPACE_RESPONDER, prs_b, ci_b, "connect");
  g_autoptr (GError) error = NULL;
  g_autofree char *verification_a = NULL;
  g_autofree char *verification_b = NULL;
  guint8 tag_a[CV_CPACE_CONFIRMATION_SIZE], tag_b[CV_CPACE_CONFIRMATION_SIZE];

  exchange (a, (const guint8 *) "share", 5, b, (const guint8 *) "connect", 7);
  g_assert_nonnull (cv_cpace_get_isk (a));
  g_assert_nonnull (cv_cpace_get_isk (b));
  g_assert_cmpint (memcmp (cv_cpace_get_isk (a), cv_cpace_get_isk (b), CV_CPACE_ISK_SIZE) == 0, ==,
                   same);
  verification_a = cv_cpace_get_verification_string (a);
  verification_b = cv_cpace_get_verification_string (b);
  if (same)
    g_assert_cmpstr (verification_a, ==, verification_b);

  g_assert_true (cv_cpace_get_confirmation (a, tag_a));
  g_assert_true (cv_cpace_get_confirmation (b, tag_b));
  g_assert_cmpint (cv_cpace_check_confirmation (b, tag_a, sizeof tag_a, &error), ==, same);
  if (same)
    {
      g_assert_no_error (error);
      g_assert_true (cv_cpace_check_confirmation (a, tag_b, sizeof tag_b, &error));
      g_assert_no_error (error);
      g_assert_nonnull (cv_cpace_get_isk (a));
      return;
    }
  g_assert_error (error, CV_CPACE_ERROR, CV_CPACE_ERROR_CONFIRMATION_FAILED);
  assert_burnt (b);
}

static void
test_random_runs (void)
{
  g_autoptr (GBytes) ci = build_ci ("482", FP_A, FP_B);
  g_autoptr (GBytes) swapped = build_ci ("482", FP_B, FP_A);
  g_autoptr (GBytes) other_nameplate = build_ci ("483", FP_A, FP_B);

  run_pair ("913557", ci, "913557", ci, TRUE);
  /* A wrong secret, or a different view of the nameplate or the keys, gives other keys
   * and a failed confirmation. */
  run_pair ("913557", ci, "913558", ci, FALSE);
  run_pair ("913557", ci, "913557", swapped, FALSE);
  run_pair ("913557", ci, "913557", other_nameplate, FALSE);
}

static void
test_build_ci (void)
{
  g_autoptr (GBytes) ci = build_ci ("482", FP_A, FP_B);
  g_autoptr (GByteArray) expected = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  const char *bad_fingerprints[] = {
    "sha256:111111111111111111111111111111111111111111111111111111111111111",   /* 63 */
    "sha256:11111111111111111111111111111111111111111111111111111111111111111", /* 65 */
    "sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  /* upper case */
    "sha256:111111111111111111111111111111111111111111111111111111111111111g",
    "sha1:1111111111111111111111111111111111111111111111111111111111111111",
    "",
    NULL,
  };
  const char *bad_nameplates[] = {
    "", "48a", "482-913", " 482", "123456789012345678901234567890123", NULL
  };

  /* 03 "482" 47 FP_A 47 FP_B */
  cv_cpace_prepend_len (expected, (const guint8 *) "482", 3);
  cv_cpace_prepend_len (expected, (const guint8 *) FP_A, 71);
  cv_cpace_prepend_len (expected, (const guint8 *) FP_B, 71);
  g_assert_cmpmem (g_bytes_get_data (ci, NULL), g_bytes_get_size (ci), expected->data,
                   expected->len);
  g_assert_cmpuint (expected->len, ==, 148);
  g_assert_cmpuint (expected->data[0], ==, 0x03);
  g_assert_cmpuint (expected->data[4], ==, 71);
  g_assert_cmpuint (expected->data[76], ==, 71);

  for (gsize i = 0; i < G_N_ELEMENTS (bad_fingerprints); i++)
    {
      g_assert_null (cv_cpace_build_ci ("482", bad_fingerprints[i], FP_B, &error));
      g_assert_error (error, CV_CPACE_ERROR, CV_CPACE_ERROR_INVALID_INPUT);
      g_clear_error (&error);
      g_assert_null (cv_cpace_build_ci ("482", FP_A, bad_fingerprints[i], &error));
      g_assert_error (error, CV_CPACE_ERROR, CV_CPACE_ERROR_INVALID_INPUT);
      g_clear_error (&error);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad_nameplates); i++)
    {
      g_assert_null (cv_cpace_build_ci (bad_nameplates[i], FP_A, FP_B, &error));
      g_assert_error (error, CV_CPACE_ERROR, CV_CPACE_ERROR_INVALID_INPUT);
      g_clear_error (&error);
    }
}

static void
test_bad_inputs (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *long_input = g_malloc0 (CV_CPACE_MAX_INPUT_LENGTH + 1);
  CvCpace *party;

  party = cv_cpace_new (CV_CPACE_INITIATOR, (const guint8 *) "", 0, NULL, 0, NULL, 0, NULL, 0,
                        &error);
  g_assert_null (party);
  g_assert_error (error, CV_CPACE_ERROR, CV_CPACE_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  party = cv_cpace_new (CV_CPACE_INITIATOR, long_input, CV_CPACE_MAX_INPUT_LENGTH + 1, NULL, 0,
                        NULL, 0, NULL, 0, &error);
  g_assert_null (party);
  g_assert_error (error, CV_CPACE_ERROR, CV_CPACE_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  party = cv_cpace_new (CV_CPACE_INITIATOR, (const guint8 *) "1", 1, NULL, 0, NULL, 0, long_input,
                        CV_CPACE_MAX_INPUT_LENGTH + 1, &error);
  g_assert_null (party);
  g_assert_error (error, CV_CPACE_ERROR, CV_CPACE_ERROR_INVALID_INPUT);
  g_clear_error (&error);

  /* Empty CI, sid and AD are the draft's defaults, and work. */
  party = cv_cpace_new (CV_CPACE_SYMMETRIC, (const guint8 *) "1", 1, NULL, 0, NULL, 0, NULL, 0,
                        &error);
  g_assert_no_error (error);
  g_assert_nonnull (party);
  cv_cpace_free (party);

  /* A peer's AD is bounded too, and an overlong one burns the run. */
  {
    g_autoptr (CvCpace) a = new_vector_party (CV_CPACE_INITIATOR, TV_YA_SCALAR, TV_ADA);
    g_autofree guint8 *yb = unhex (TV_YB, NULL);

    g_assert_false (
      cv_cpace_receive (a, yb, 32, long_input, CV_CPACE_MAX_INPUT_LENGTH + 1, &error));
    g_assert_error (error, CV_CPACE_ERROR, CV_CPACE_ERROR_INVALID_INPUT);
    g_clear_error (&error);
    assert_burnt (a);
  }
}

static void
test_out_of_order (void)
{
  g_autoptr (CvCpace) a = new_vector_party (CV_CPACE_INITIATOR, TV_YA_SCALAR, TV_ADA);
  g_autoptr (CvCpace) b = new_vector_party (CV_CPACE_RESPONDER, TV_YB_SCALAR, TV_ADB);
  g_autoptr (CvCpace) c = new_vector_party (CV_CPACE_INITIATOR, TV_YA_SCALAR, TV_ADA);
  g_autoptr (GError) error = NULL;
  g_autofree guint8 *yb = unhex (TV_YB, NULL);
  guint8 tag[CV_CPACE_CONFIRMATION_SIZE] = { 0 };

  /* Nothing to confirm before the peer's message; asking to check burns the run. */
  g_assert_false (cv_cpace_get_confirmation (c, tag));
  g_assert_null (cv_cpace_get_verification_string (c));
  g_assert_false (cv_cpace_check_confirmation (c, tag, sizeof tag, &error));
  g_assert_error (error, CV_CPACE_ERROR, CV_CPACE_ERROR_STATE);
  g_clear_error (&error);
  assert_burnt (c);

  /* The peer's message is taken once. */
  exchange_vector_ads (a, b);
  g_assert_false (cv_cpace_receive (a, yb, 32, (const guint8 *) "ADb", 3, &error));
  g_assert_error (error, CV_CPACE_ERROR, CV_CPACE_ERROR_STATE);
  assert_burnt (a);
}

/* cv_cpace_receive on any 0..64 bytes: refused or taken, never a crash or a key from a
 * refused message.  Random bytes decode about one time in eight. */
static void
test_random_messages (void)
{
  guint accepted = 0;

  for (guint round = 0; round < 2000; round++)
    {
      g_autoptr (CvCpace) a = new_vector_party (CV_CPACE_INITIATOR, TV_YA_SCALAR, TV_ADA);
      g_autoptr (GError) error = NULL;
      guint8 message[64];
      gsize len = round < 1000 ? CV_CPACE_MESSAGE_SIZE : (gsize) g_test_rand_int_range (0, 65);
      gsize ad_len = g_test_rand_int_range (0, 65);

      for (gsize i = 0; i < sizeof message; i++)
        message[i] = g_test_rand_int_range (0, 256);
      if (cv_cpace_receive (a, message, len, message, ad_len, &error))
        {
          g_assert_no_error (error);
          g_assert_cmpuint (len, ==, CV_CPACE_MESSAGE_SIZE);
          g_assert_nonnull (cv_cpace_get_isk (a));
          accepted++;
        }
      else
        {
          g_assert_nonnull (error);
          g_assert_true (error->domain == CV_CPACE_ERROR);
          assert_burnt (a);
        }
    }
  /* Some random encodings are valid points, so both paths ran. */
  g_assert_cmpuint (accepted, >, 0);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_assert_cmpint (sodium_init (), >=, 0);

  g_test_add_func ("/cpace/draft/prepend-len", test_prepend_len);
  g_test_add_func ("/cpace/draft/lv-cat", test_lv_cat);
  g_test_add_func ("/cpace/draft/o-cat", test_o_cat);
  g_test_add_func ("/cpace/draft/transcript-strings", test_transcript_strings);
  g_test_add_func ("/cpace/draft/generator", test_generator);
  g_test_add_func ("/cpace/draft/messages-and-k", test_messages_and_k);
  g_test_add_func ("/cpace/draft/isk-initiator-responder", test_isk_initiator_responder);
  g_test_add_func ("/cpace/draft/isk-symmetric", test_isk_symmetric);
  g_test_add_func ("/cpace/draft/scalar-mult-points", test_scalar_mult_points);
  g_test_add_func ("/cpace/draft/invalid-messages", test_invalid_messages);
  g_test_add_func ("/cpace/confirmation-and-verification",
                   test_confirmation_and_verification_formulas);
  g_test_add_func ("/cpace/reflected-confirmation", test_reflected_confirmation_refused);
  g_test_add_func ("/cpace/random-runs", test_random_runs);
  g_test_add_func ("/cpace/build-ci", test_build_ci);
  g_test_add_func ("/cpace/bad-inputs", test_bad_inputs);
  g_test_add_func ("/cpace/out-of-order", test_out_of_order);
  g_test_add_func ("/cpace/random-messages", test_random_messages);

  return g_test_run ();
}
