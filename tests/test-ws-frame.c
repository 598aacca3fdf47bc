/* test-ws-frame.c: the RFC 6455 codec (wire/cv-ws-frame): headers parsed and written,
 * every error with its close code, masking in pieces, close payloads, fragmentation. */
#include "wire/cv-ws-frame.h"

#include <string.h>

#define FROM_CLIENT TRUE
#define FROM_SERVER FALSE
#define NO_LIMIT G_MAXUINT64

static CvWsFrameParseResult
parse (const guint8 *bytes,
       gsize len,
       gboolean from_client,
       guint64 max,
       CvWsFrameHeader *header,
       GError **error)
{
  return cv_ws_frame_parse_header (bytes, len, from_client, max, header, error);
}

/* Every proper prefix of a valid header is "need more", with no error. */
static void
assert_prefixes_need_more (const guint8 *bytes, gsize header_len, gboolean from_client)
{
  for (gsize i = 0; i < header_len; i++)
    {
      g_autoptr (GError) error = NULL;
      CvWsFrameHeader header;

      g_assert_cmpint (parse (bytes, i, from_client, NO_LIMIT, &header, &error), ==,
                       CV_WS_FRAME_NEED_MORE);
      g_assert_no_error (error);
    }
}

static void
test_parse_lengths (void)
{
  static const struct {
    guint8 bytes[14];
    gsize len;
    gboolean from_client;
    guint64 payload_len;
    guint header_len;
  } cases[] = {
    { { 0x82, 0x00 }, 2, FROM_SERVER, 0, 2 },
    { { 0x82, 0x7d }, 2, FROM_SERVER, 125, 2 },
    { { 0x82, 0x7e, 0x00, 0x7e }, 4, FROM_SERVER, 126, 4 },
    { { 0x82, 0x7e, 0xff, 0xff }, 4, FROM_SERVER, 65535, 4 },
    { { 0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0 }, 10, FROM_SERVER, 65536, 10 },
    { { 0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
      10,
      FROM_SERVER,
      G_MAXINT64,
      10 },
    { { 0x82, 0x85, 1, 2, 3, 4 }, 6, FROM_CLIENT, 5, 6 },
    { { 0x82, 0xfe, 0x01, 0x00, 1, 2, 3, 4 }, 8, FROM_CLIENT, 256, 8 },
    { { 0x82, 0xff, 0, 0, 0, 0x01, 0, 0, 0, 0, 9, 8, 7, 6 }, 14, FROM_CLIENT, 1ull << 32, 14 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      CvWsFrameHeader header;

      g_assert_cmpint (parse (cases[i].bytes, cases[i].len, cases[i].from_client, NO_LIMIT, &header,
                              &error),
                       ==, CV_WS_FRAME_PARSED);
      g_assert_no_error (error);
      g_assert_true (header.fin);
      g_assert_cmpuint (header.opcode, ==, CV_WS_OPCODE_BINARY);
      g_assert_cmpuint (header.payload_len, ==, cases[i].payload_len);
      g_assert_cmpuint (header.header_len, ==, cases[i].header_len);
      g_assert_cmpint (header.masked, ==, cases[i].from_client);
      if (header.masked)
        g_assert_cmpmem (header.mask, 4, cases[i].bytes + cases[i].len - 4, 4);
      assert_prefixes_need_more (cases[i].bytes, cases[i].len, cases[i].from_client);
      /* Bytes after the header (the payload) change nothing. */
      {
        guint8 more[32] = { 0 };
        CvWsFrameHeader again;

        memcpy (more, cases[i].bytes, cases[i].len);
        g_assert_cmpint (parse (more, sizeof more, cases[i].from_client, NO_LIMIT, &again, NULL),
                         ==, CV_WS_FRAME_PARSED);
        g_assert_cmpuint (again.header_len, ==, header.header_len);
        g_assert_cmpuint (again.payload_len, ==, header.payload_len);
      }
    }
}

static void
test_parse_opcodes (void)
{
  static const guint8 good[] = { 0x0, 0x1, 0x2, 0x8, 0x9, 0xa };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      guint8 bytes[2] = { 0x80 | good[i], 0x00 };
      CvWsFrameHeader header;

      g_assert_cmpint (parse (bytes, 2, FROM_SERVER, NO_LIMIT, &header, NULL), ==,
                       CV_WS_FRAME_PARSED);
      g_assert_cmpuint (header.opcode, ==, good[i]);
      g_assert_true (header.fin);
    }
  /* Data frames may leave FIN clear (a fragment). */
  {
    guint8 bytes[2] = { 0x02, 0x01 };
    CvWsFrameHeader header;

    g_assert_cmpint (parse (bytes, 2, FROM_SERVER, NO_LIMIT, &header, NULL), ==,
                     CV_WS_FRAME_PARSED);
    g_assert_false (header.fin);
  }
}

/* A header that is wrong: the error, its code, and the shortest prefix that shows it. */
static void
assert_error (const guint8 *bytes,
              gsize len,
              gsize shows_at,
              gboolean from_client,
              guint64 max,
              gint code,
              const char *message_part)
{
  for (gsize i = 0; i <= len; i++)
    {
      g_autoptr (GError) error = NULL;
      CvWsFrameHeader header;
      CvWsFrameParseResult result = parse (bytes, i, from_client, max, &header, &error);

      if (i < shows_at)
        {
          g_assert_cmpint (result, ==, CV_WS_FRAME_NEED_MORE);
          g_assert_no_error (error);
          continue;
        }
      g_assert_cmpint (result, ==, CV_WS_FRAME_ERROR);
      g_assert_error (error, CV_WS_ERROR, code);
      g_assert_nonnull (strstr (error->message, message_part));
    }
  /* No GError asked for: the result alone. */
  {
    CvWsFrameHeader header;

    g_assert_cmpint (parse (bytes, len, from_client, max, &header, NULL), ==, CV_WS_FRAME_ERROR);
  }
}

static void
test_parse_errors (void)
{
  static const guint8 rsv1[] = { 0xc2, 0x00 };
  static const guint8 rsv2[] = { 0xa2, 0x00 };
  static const guint8 rsv3[] = { 0x92, 0x00 };
  static const guint8 unmasked_from_client[] = { 0x82, 0x01, 'x' };
  static const guint8 masked_from_server[] = { 0x82, 0x81, 1, 2, 3, 4, 'x' };
  static const guint8 ping_126[] = { 0x89, 0x7e, 0x00, 0x7e };
  static const guint8 close_127[] = { 0x88, 0x7f, 0, 0, 0, 0, 0, 0, 0, 1 };
  static const guint8 non_minimal_16[] = { 0x82, 0x7e, 0x00, 0x7d };
  static const guint8 non_minimal_16_zero[] = { 0x82, 0x7e, 0x00, 0x00 };
  static const guint8 non_minimal_64[] = { 0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  static const guint8 non_minimal_64_small[] = { 0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0, 0x05 };
  static const guint8 top_bit[] = { 0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0 };
  static const guint8 all_ones[] = { 0x82, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
  static const guint8 too_big[] = { 0x82, 0x7e, 0x03, 0xe9 };
  static const guint8 too_big_fragment[] = { 0x00, 0x7e, 0x03, 0xe9 };

  assert_error (rsv1, 2, 1, FROM_SERVER, NO_LIMIT, CV_WS_CLOSE_PROTOCOL_ERROR, "reserved bits");
  assert_error (rsv2, 2, 1, FROM_SERVER, NO_LIMIT, CV_WS_CLOSE_PROTOCOL_ERROR, "reserved bits");
  assert_error (rsv3, 2, 1, FROM_SERVER, NO_LIMIT, CV_WS_CLOSE_PROTOCOL_ERROR, "reserved bits");
  for (guint opcode = 0; opcode < 16; opcode++)
    {
      guint8 bytes[2] = { 0x80 | opcode, 0x00 };

      if (opcode <= 2 || (opcode >= 8 && opcode <= 0xa))
        continue;
      assert_error (bytes, 2, 1, FROM_SERVER, NO_LIMIT, CV_WS_CLOSE_PROTOCOL_ERROR,
                    "unknown opcode");
    }
  for (guint opcode = 0x8; opcode <= 0xa; opcode++)
    {
      guint8 bytes[2] = { opcode, 0x00 };

      assert_error (bytes, 2, 1, FROM_SERVER, NO_LIMIT, CV_WS_CLOSE_PROTOCOL_ERROR,
                    "fragmented control frame");
    }
  assert_error (unmasked_from_client, 3, 2, FROM_CLIENT, NO_LIMIT, CV_WS_CLOSE_PROTOCOL_ERROR,
                "unmasked frame from a client");
  assert_error (masked_from_server, 7, 2, FROM_SERVER, NO_LIMIT, CV_WS_CLOSE_PROTOCOL_ERROR,
                "masked frame from a server");
  assert_error (ping_126, 4, 2, FROM_SERVER, NO_LIMIT, CV_WS_CLOSE_PROTOCOL_ERROR, "control frame");
  assert_error (close_127, 10, 2, FROM_SERVER, NO_LIMIT, CV_WS_CLOSE_PROTOCOL_ERROR,
                "control frame");
  assert_error (non_minimal_16, 4, 4, FROM_SERVER, NO_LIMIT, CV_WS_CLOSE_PROTOCOL_ERROR,
                "minimal encoding");
  assert_error (non_minimal_16_zero, 4, 4, FROM_SERVER, NO_LIMIT, CV_WS_CLOSE_PROTOCOL_ERROR,
                "minimal encoding");
  assert_error (non_minimal_64, 10, 10, FROM_SERVER, NO_LIMIT, CV_WS_CLOSE_PROTOCOL_ERROR,
                "minimal encoding");
  assert_error (non_minimal_64_small, 10, 10, FROM_SERVER, NO_LIMIT, CV_WS_CLOSE_PROTOCOL_ERROR,
                "minimal encoding");
  assert_error (top_bit, 10, 10, FROM_SERVER, NO_LIMIT, CV_WS_CLOSE_PROTOCOL_ERROR, "top bit");
  assert_error (all_ones, 10, 10, FROM_SERVER, NO_LIMIT, CV_WS_CLOSE_PROTOCOL_ERROR, "top bit");
  assert_error (too_big, 4, 4, FROM_SERVER, 1000, CV_WS_CLOSE_TOO_BIG, "1001 bytes");
  assert_error (too_big_fragment, 4, 4, FROM_SERVER, 1000, CV_WS_CLOSE_TOO_BIG, "1001 bytes");
}

static void
test_parse_limit (void)
{
  static const guint8 at_limit[] = { 0x82, 0x7e, 0x03, 0xe8 };
  static const guint8 ping_125[] = { 0x89, 0x7d };
  CvWsFrameHeader header;

  /* The limit is inclusive, and control frames are not held to it. */
  g_assert_cmpint (parse (at_limit, 4, FROM_SERVER, 1000, &header, NULL), ==, CV_WS_FRAME_PARSED);
  g_assert_cmpuint (header.payload_len, ==, 1000);
  g_assert_cmpint (parse (ping_125, 2, FROM_SERVER, 10, &header, NULL), ==, CV_WS_FRAME_PARSED);
  g_assert_cmpuint (header.payload_len, ==, 125);
}

static void
test_write_header (void)
{
  static const guint64 lengths[] = { 0, 1, 125, 126, 127, 65535, 65536, 1ull << 40, G_MAXINT64 };
  static const guint8 mask[4] = { 0xde, 0xad, 0xbe, 0xef };
  static const guint8 expected_126[] = { 0x82, 0x7e, 0x00, 0x7e };
  static const guint8 expected_masked_5[] = { 0x09, 0x85, 0xde, 0xad, 0xbe, 0xef };
  guint8 dest[CV_WS_MAX_HEADER_SIZE + 1];

  for (guint i = 0; i < G_N_ELEMENTS (lengths); i++)
    for (guint masked = 0; masked <= 1; masked++)
      {
        g_autoptr (GError) error = NULL;
        CvWsFrameHeader header;
        guint size;

        memset (dest, 0xa5, sizeof dest);
        size = cv_ws_frame_write_header (dest, TRUE, CV_WS_OPCODE_BINARY, lengths[i],
                                         masked ? mask : NULL);
        g_assert_cmpuint (size, ==, cv_ws_frame_header_size (lengths[i], masked));
        g_assert_cmpuint (size, <=, CV_WS_MAX_HEADER_SIZE);
        g_assert_cmphex (dest[size], ==, 0xa5);
        /* What is written parses back: the length is minimal, so no error. */
        g_assert_cmpint (parse (dest, size, masked, NO_LIMIT, &header, &error), ==,
                         CV_WS_FRAME_PARSED);
        g_assert_no_error (error);
        g_assert_cmpuint (header.payload_len, ==, lengths[i]);
        g_assert_cmpuint (header.header_len, ==, size);
        if (masked)
          g_assert_cmpmem (header.mask, 4, mask, 4);
      }

  g_assert_cmpuint (cv_ws_frame_write_header (dest, TRUE, CV_WS_OPCODE_BINARY, 126, NULL), ==, 4);
  g_assert_cmpmem (dest, 4, expected_126, 4);
  g_assert_cmpuint (cv_ws_frame_write_header (dest, FALSE, CV_WS_OPCODE_PING, 5, mask), ==, 6);
  g_assert_cmpmem (dest, 6, expected_masked_5, 6);
}

static void
mask_bytewise (guint8 *data, gsize len, const guint8 mask[4], guint64 offset)
{
  for (gsize i = 0; i < len; i++)
    data[i] ^= mask[(offset + i) % 4];
}

static void
test_mask (void)
{
  static const guint8 mask[4] = { 0x12, 0x34, 0x56, 0x78 };
  g_autoptr (GRand) rand = g_rand_new_with_seed (6455);
  const gsize size = 4096 + 64;
  g_autofree guint8 *original = g_malloc (size);
  g_autofree guint8 *word = g_malloc (size + 8);
  g_autofree guint8 *byte = g_malloc (size);

  for (gsize i = 0; i < size; i++)
    original[i] = g_rand_int (rand);

  /* Every alignment, every phase of the key, short and long runs. */
  for (gsize align = 0; align < 8; align++)
    for (guint64 offset = 0; offset < 8; offset++)
      for (gsize len = 0; len <= size; len = len < 80 ? len + 1 : len * 2 + 13)
        {
          gsize n = MIN (len, size);

          memcpy (word + align, original, n);
          memcpy (byte, original, n);
          cv_ws_mask (word + align, n, mask, offset);
          mask_bytewise (byte, n, mask, offset);
          g_assert_cmpmem (word + align, n, byte, n);
          /* Masking twice gives the original back. */
          cv_ws_mask (word + align, n, mask, offset);
          g_assert_cmpmem (word + align, n, original, n);
        }

  /* In pieces of any size, each at its offset, the same as in one go. */
  memcpy (byte, original, size);
  mask_bytewise (byte, size, mask, 0);
  memcpy (word, original, size);
  for (gsize at = 0, piece = 1; at < size; at += piece, piece = piece * 3 % 97 + 1)
    {
      gsize n = MIN (piece, size - at);

      cv_ws_mask (word + at, n, mask, at);
    }
  g_assert_cmpmem (word, size, byte, size);
}

static void
test_close_codes (void)
{
  static const guint valid[] = { 1000, 1001, 1002, 1003, 1007, 1008,
                                 1009, 1010, 1011, 3000, 4000, 4999 };
  static const guint invalid[] = { 0,    1,    999,  1004, 1005, 1006, 1012, 1013,
                                   1014, 1015, 1016, 2000, 2999, 5000, 65535 };

  for (guint i = 0; i < G_N_ELEMENTS (valid); i++)
    g_assert_true (cv_ws_close_code_is_valid (valid[i]));
  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    g_assert_false (cv_ws_close_code_is_valid (invalid[i]));
}

static void
assert_close_refused (const char *payload, gsize len, const char *message_part)
{
  g_autoptr (GError) error = NULL;
  const char *reason = "unset";
  gsize reason_len = 99;
  guint16 code = 0;

  g_assert_false (
    cv_ws_close_parse ((const guint8 *) payload, len, &code, &reason, &reason_len, &error));
  g_assert_error (error, CV_WS_ERROR, CV_WS_CLOSE_PROTOCOL_ERROR);
  g_assert_nonnull (strstr (error->message, message_part));
}

static void
test_close_parse (void)
{
  g_autoptr (GError) error = NULL;
  const char *reason;
  gsize reason_len;
  guint16 code;
  char long_payload[126];

  g_assert_true (cv_ws_close_parse (NULL, 0, &code, &reason, &reason_len, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (code, ==, CV_WS_CLOSE_NO_STATUS);
  g_assert_null (reason);
  g_assert_cmpuint (reason_len, ==, 0);

  g_assert_true (
    cv_ws_close_parse ((const guint8 *) "\x0f\xa0", 2, &code, &reason, &reason_len, &error));
  g_assert_cmpuint (code, ==, 4000);
  g_assert_cmpuint (reason_len, ==, 0);

  g_assert_true (cv_ws_close_parse ((const guint8 *) "\x03\xe8gr\xc3\xbc\xc3\x9f", 8, &code,
                                    &reason, &reason_len, &error));
  g_assert_cmpuint (code, ==, 1000);
  g_assert_cmpmem (reason, reason_len, "gr\xc3\xbc\xc3\x9f", 6);

  assert_close_refused ("\x03", 1, "1 byte");
  assert_close_refused ("\x03\xed", 2, "invalid close code 1005");
  assert_close_refused ("\x03\xee", 2, "invalid close code 1006");
  assert_close_refused ("\x03\xf7", 2, "invalid close code 1015");
  assert_close_refused ("\x03\xe7", 2, "invalid close code 999");
  assert_close_refused ("\x13\x88", 2, "invalid close code 5000");
  assert_close_refused ("\x03\xe8\xc3(", 4, "UTF-8");
  assert_close_refused ("\x03\xe8\xe2\x82", 4, "UTF-8");
  assert_close_refused ("\x03\xe8\xed\xa0\x80", 5, "UTF-8"); /* a surrogate */
  /* NUL is refused too, as GLib's validator does; no reason needs one. */
  assert_close_refused ("\x03\xe8"
                        "a\0b",
                        5, "UTF-8");
  memset (long_payload, 'x', sizeof long_payload);
  long_payload[0] = 0x03;
  long_payload[1] = 0xe8;
  assert_close_refused (long_payload, sizeof long_payload, "126 bytes");
}

static void
test_close_build (void)
{
  guint8 dest[CV_WS_MAX_CONTROL_PAYLOAD];
  g_autoptr (GString) long_reason = g_string_new (NULL);
  const char *reason;
  gsize len, reason_len;
  guint16 code;

  g_assert_cmpuint (cv_ws_close_build (dest, CV_WS_CLOSE_NO_STATUS, "ignored"), ==, 0);

  len = cv_ws_close_build (dest, CV_WS_CLOSE_PROTOCOL_ERROR, "unmasked frame");
  g_assert_cmpuint (len, ==, 2 + 14);
  g_assert_cmpmem (dest, len,
                   "\x03\xea"
                   "unmasked frame",
                   len);

  len = cv_ws_close_build (dest, 4000, NULL);
  g_assert_cmpmem (dest, len, "\x0f\xa0", 2);

  /* Cut at a character: 100 two-byte characters leave 61 of them (122 bytes). */
  for (guint i = 0; i < 100; i++)
    g_string_append (long_reason, "\xc3\xa9");
  len = cv_ws_close_build (dest, CV_WS_CLOSE_NORMAL, long_reason->str);
  g_assert_cmpuint (len, ==, 2 + 122);
  g_assert_true (cv_ws_close_parse (dest, len, &code, &reason, &reason_len, NULL));
  g_assert_cmpuint (code, ==, CV_WS_CLOSE_NORMAL);
  g_assert_cmpuint (reason_len, ==, 122);

  /* ASCII fills all 123 bytes. */
  g_string_assign (long_reason, "");
  for (guint i = 0; i < 200; i++)
    g_string_append_c (long_reason, 'r');
  len = cv_ws_close_build (dest, CV_WS_CLOSE_NORMAL, long_reason->str);
  g_assert_cmpuint (len, ==, CV_WS_MAX_CONTROL_PAYLOAD);

  /* A reason that is not UTF-8 is left out, not sent broken. */
  len = cv_ws_close_build (dest, CV_WS_CLOSE_TOO_BIG, "bad \xc3(");
  g_assert_cmpuint (len, ==, 2);
  g_assert_true (cv_ws_close_parse (dest, len, &code, &reason, &reason_len, NULL));
  g_assert_cmpuint (code, ==, CV_WS_CLOSE_TOO_BIG);
}

static CvWsFrameHeader
header_of (gboolean fin, guint8 opcode, guint64 len)
{
  CvWsFrameHeader header = { .fin = fin, .opcode = opcode, .payload_len = len };

  return header;
}

static void
add_ok (CvWsMessageState *state,
        gboolean fin,
        guint8 opcode,
        guint64 len,
        guint64 max,
        guint8 expected_message)
{
  g_autoptr (GError) error = NULL;
  CvWsFrameHeader header = header_of (fin, opcode, len);
  guint8 message = 0xff;

  g_assert_true (cv_ws_message_state_add_frame (state, &header, max, &message, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (message, ==, expected_message);
}

static void
add_refused (CvWsMessageState *state,
             gboolean fin,
             guint8 opcode,
             guint64 len,
             guint64 max,
             gint code,
             const char *message_part)
{
  g_autoptr (GError) error = NULL;
  CvWsFrameHeader header = header_of (fin, opcode, len);
  guint8 message;

  g_assert_false (cv_ws_message_state_add_frame (state, &header, max, &message, &error));
  g_assert_error (error, CV_WS_ERROR, code);
  g_assert_nonnull (strstr (error->message, message_part));
}

static void
test_fragmentation (void)
{
  CvWsMessageState state = { 0 };

  /* Whole messages, then one in three fragments with control frames between. */
  add_ok (&state, TRUE, CV_WS_OPCODE_BINARY, 10, 100, CV_WS_OPCODE_BINARY);
  add_ok (&state, TRUE, CV_WS_OPCODE_BINARY, 100, 100, CV_WS_OPCODE_BINARY);
  add_ok (&state, FALSE, CV_WS_OPCODE_TEXT, 40, 100, CV_WS_OPCODE_TEXT);
  add_ok (&state, TRUE, CV_WS_OPCODE_PING, 5, 100, CV_WS_OPCODE_PING);
  add_ok (&state, FALSE, CV_WS_OPCODE_CONTINUATION, 40, 100, CV_WS_OPCODE_TEXT);
  add_ok (&state, TRUE, CV_WS_OPCODE_PONG, 0, 100, CV_WS_OPCODE_PONG);
  add_ok (&state, TRUE, CV_WS_OPCODE_CONTINUATION, 20, 100, CV_WS_OPCODE_TEXT);
  g_assert_cmpuint (state.opcode, ==, 0);
  add_ok (&state, TRUE, CV_WS_OPCODE_CLOSE, 2, 100, CV_WS_OPCODE_CLOSE);

  memset (&state, 0, sizeof state);
  add_refused (&state, TRUE, CV_WS_OPCODE_CONTINUATION, 1, 100, CV_WS_CLOSE_PROTOCOL_ERROR,
               "without a message");
  memset (&state, 0, sizeof state);
  add_ok (&state, TRUE, CV_WS_OPCODE_BINARY, 1, 100, CV_WS_OPCODE_BINARY);
  add_refused (&state, FALSE, CV_WS_OPCODE_CONTINUATION, 1, 100, CV_WS_CLOSE_PROTOCOL_ERROR,
               "without a message");

  memset (&state, 0, sizeof state);
  add_ok (&state, FALSE, CV_WS_OPCODE_BINARY, 1, 100, CV_WS_OPCODE_BINARY);
  add_refused (&state, TRUE, CV_WS_OPCODE_BINARY, 1, 100, CV_WS_CLOSE_PROTOCOL_ERROR,
               "inside a fragmented one");
  memset (&state, 0, sizeof state);
  add_ok (&state, FALSE, CV_WS_OPCODE_BINARY, 1, 100, CV_WS_OPCODE_BINARY);
  add_refused (&state, FALSE, CV_WS_OPCODE_TEXT, 1, 100, CV_WS_CLOSE_PROTOCOL_ERROR,
               "inside a fragmented one");

  /* The limit is on the message, all fragments together, and inclusive. */
  memset (&state, 0, sizeof state);
  add_ok (&state, FALSE, CV_WS_OPCODE_BINARY, 60, 100, CV_WS_OPCODE_BINARY);
  add_ok (&state, FALSE, CV_WS_OPCODE_CONTINUATION, 40, 100, CV_WS_OPCODE_BINARY);
  add_ok (&state, TRUE, CV_WS_OPCODE_CONTINUATION, 0, 100, CV_WS_OPCODE_BINARY);
  add_ok (&state, FALSE, CV_WS_OPCODE_BINARY, 60, 100, CV_WS_OPCODE_BINARY);
  add_refused (&state, TRUE, CV_WS_OPCODE_CONTINUATION, 41, 100, CV_WS_CLOSE_TOO_BIG, "100 bytes");
  memset (&state, 0, sizeof state);
  add_refused (&state, TRUE, CV_WS_OPCODE_BINARY, 101, 100, CV_WS_CLOSE_TOO_BIG, "100 bytes");
  /* Lengths near 2^63 do not wrap the sum. */
  memset (&state, 0, sizeof state);
  add_ok (&state, FALSE, CV_WS_OPCODE_BINARY, G_MAXINT64, G_MAXUINT64, CV_WS_OPCODE_BINARY);
  add_ok (&state, FALSE, CV_WS_OPCODE_CONTINUATION, G_MAXINT64, G_MAXUINT64, CV_WS_OPCODE_BINARY);
  add_refused (&state, TRUE, CV_WS_OPCODE_CONTINUATION, 2, G_MAXUINT64, CV_WS_CLOSE_TOO_BIG,
               "allowed");
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/ws-frame/parse/lengths", test_parse_lengths);
  g_test_add_func ("/ws-frame/parse/opcodes", test_parse_opcodes);
  g_test_add_func ("/ws-frame/parse/errors", test_parse_errors);
  g_test_add_func ("/ws-frame/parse/limit", test_parse_limit);
  g_test_add_func ("/ws-frame/write-header", test_write_header);
  g_test_add_func ("/ws-frame/mask", test_mask);
  g_test_add_func ("/ws-frame/close/codes", test_close_codes);
  g_test_add_func ("/ws-frame/close/parse", test_close_parse);
  g_test_add_func ("/ws-frame/close/build", test_close_build);
  g_test_add_func ("/ws-frame/fragmentation", test_fragmentation);
  return g_test_run ();
}
