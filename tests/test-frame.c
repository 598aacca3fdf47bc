/* test-frame.c: the wire format — round trips, hand-written bytes and every refusal. */
#include "wire/cv-frame.h"

#include <string.h>

/* Frames are decoded from an exact-size heap copy, so AddressSanitizer sees any read
 * past the end; GByteArray rounds its allocation up and would hide one. */
typedef struct {
  guint8 *bytes;
  gsize len;
} Wire;

static void
wire_clear (Wire *wire)
{
  g_clear_pointer (&wire->bytes, g_free);
  wire->len = 0;
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Wire, wire_clear)

static void
wire_take (Wire *wire, GByteArray *array)
{
  wire->len = array->len;
  wire->bytes = g_memdup2 (array->data, array->len);
  g_byte_array_unref (array);
}

/* A frame as raw bytes, without going through the encoder: the only way to write
 * the malformed ones. */
static GByteArray *
raw_frame (guint type, guint8 flags, guint32 channel_id, const void *payload, gsize payload_len)
{
  GByteArray *array = g_byte_array_new ();
  guint8 header[CV_FRAME_HEADER_SIZE] = {
    (guint8) (payload_len >> 16),
    (guint8) (payload_len >> 8),
    (guint8) payload_len,
    (guint8) type,
    flags,
    (guint8) (channel_id >> 24),
    (guint8) (channel_id >> 16),
    (guint8) (channel_id >> 8),
    (guint8) channel_id,
  };

  g_byte_array_append (array, header, sizeof header);
  /* No payload bytes: a header announcing a payload that has not arrived. */
  if (payload != NULL && payload_len > 0)
    g_byte_array_append (array, payload, payload_len);
  return array;
}

static void
assert_frames_equal (const CvFrame *a, const CvFrame *b)
{
  g_assert_cmpuint (a->type, ==, b->type);
  g_assert_cmpuint (a->flags, ==, b->flags);
  g_assert_cmpuint (a->channel_id, ==, b->channel_id);

  switch (a->type)
    {
    case CV_FRAME_SETTINGS:
      g_assert_cmpuint (a->u.settings.version, ==, b->u.settings.version);
      g_assert_cmpuint (a->u.settings.initial_window, ==, b->u.settings.initial_window);
      g_assert_cmpuint (a->u.settings.max_payload, ==, b->u.settings.max_payload);
      g_assert_cmpuint (a->u.settings.max_channels, ==, b->u.settings.max_channels);
      break;
    case CV_FRAME_OPEN:
      g_assert_cmpuint (a->u.open.port, ==, b->u.open.port);
      g_assert_cmpmem (a->u.open.host, a->u.open.host_len, b->u.open.host, b->u.open.host_len);
      break;
    case CV_FRAME_OPEN_OK:
    case CV_FRAME_FIN:
      break;
    case CV_FRAME_GOAWAY:
      g_assert_cmpuint (a->u.close.last_channel_id, ==, b->u.close.last_channel_id);
      G_GNUC_FALLTHROUGH;
    case CV_FRAME_OPEN_FAIL:
    case CV_FRAME_RESET:
      g_assert_cmpuint (a->u.close.reason, ==, b->u.close.reason);
      g_assert_cmpmem (a->u.close.message, a->u.close.message_len, b->u.close.message,
                       b->u.close.message_len);
      break;
    case CV_FRAME_WINDOW_UPDATE:
      g_assert_cmpuint (a->u.window_increment, ==, b->u.window_increment);
      break;
    case CV_FRAME_PING:
    case CV_FRAME_PONG:
      g_assert_cmpuint (a->u.ping_opaque, ==, b->u.ping_opaque);
      break;
    case CV_FRAME_DATA:
    default:
      g_assert_cmpmem (a->u.data.bytes, a->u.data.len, b->u.data.bytes, b->u.data.len);
      break;
    }
}

/* Every proper prefix of a valid frame is "not yet", never an error and never a frame. */
static void
assert_prefixes_need_more (const guint8 *bytes, gsize len, gsize max_payload)
{
  for (gsize i = 0; i < len; i++)
    {
      /* Exact-size copies, so that a read past the end is caught; the long prefixes of
       * a 64 KiB frame only ever have their header read, and copying each of them
       * would make the test slow for nothing. */
      g_autofree guint8 *copy = i <= 1024 ? g_memdup2 (bytes, i) : NULL;
      g_autoptr (GError) error = NULL;
      CvFrame frame;
      gsize consumed = 12345;

      g_assert_cmpint (cv_frame_decode (copy != NULL ? copy : bytes, i, max_payload, &frame,
                                        &consumed, &error),
                       ==, CV_FRAME_DECODE_NEED_MORE);
      g_assert_no_error (error);
      g_assert_cmpuint (consumed, ==, 0);
    }
}

static void
decode_ok (const Wire *wire, gsize max_payload, CvFrame *frame)
{
  g_autoptr (GError) error = NULL;
  gsize consumed = 0;

  g_assert_cmpint (cv_frame_decode (wire->bytes, wire->len, max_payload, frame, &consumed, &error),
                   ==, CV_FRAME_DECODE_OK);
  g_assert_no_error (error);
  g_assert_cmpuint (consumed, ==, wire->len);
}

/* Encode, check the header's length field, decode, compare every field, then feed the
 * bytes one at a time. */
static void
assert_round_trip (const CvFrame *frame, gsize max_payload)
{
  g_autoptr (GError) error = NULL;
  g_auto (Wire) wire = { 0 };
  GByteArray *out = g_byte_array_new ();
  CvFrame decoded;

  g_assert_true (cv_frame_encode (frame, out, &error));
  g_assert_no_error (error);
  wire_take (&wire, out);

  g_assert_cmpuint (wire.len, >=, CV_FRAME_HEADER_SIZE);
  g_assert_cmpuint ((wire.bytes[0] << 16) | (wire.bytes[1] << 8) | wire.bytes[2], ==,
                    wire.len - CV_FRAME_HEADER_SIZE);

  decode_ok (&wire, max_payload, &decoded);
  assert_frames_equal (frame, &decoded);
  assert_prefixes_need_more (wire.bytes, wire.len, max_payload);
}

/* The decoder must refuse these bytes as a link error with @code, naming the cause. */
static void
assert_decode_error_full (GByteArray *array,
                          gsize max_payload,
                          CvGoawayReason code,
                          const char *cause)
{
  g_autoptr (GError) error = NULL;
  g_auto (Wire) wire = { 0 };
  CvFrame frame;
  gsize consumed = 12345;

  wire_take (&wire, array);
  g_assert_cmpint (cv_frame_decode (wire.bytes, wire.len, max_payload, &frame, &consumed, &error),
                   ==, CV_FRAME_DECODE_ERROR);
  g_assert_error (error, CV_MUX_ERROR, (gint) code);
  g_assert_cmpuint (consumed, ==, 0);
  if (strstr (error->message, cause) == NULL)
    g_error ("error “%s” does not say “%s”", error->message, cause);
}

static void
assert_decode_error (GByteArray *array, CvGoawayReason code, const char *cause)
{
  assert_decode_error_full (array, CV_FRAME_DEFAULT_MAX_PAYLOAD, code, cause);
}

/* The encoder must refuse @frame and leave what is already in the array alone. */
static void
assert_encode_error (const CvFrame *frame, CvGoawayReason code, const char *cause)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  static const guint8 before[] = { 0xde, 0xad, 0xbe, 0xef };

  g_byte_array_append (out, before, sizeof before);
  g_assert_false (cv_frame_encode (frame, out, &error));
  g_assert_error (error, CV_MUX_ERROR, (gint) code);
  if (strstr (error->message, cause) == NULL)
    g_error ("error “%s” does not say “%s”", error->message, cause);
  g_assert_cmpmem (out->data, out->len, before, sizeof before);
}

static CvFrame
settings_frame (guint16 version, guint32 initial_window, guint32 max_payload, guint32 max_channels)
{
  CvFrame frame = { .type = CV_FRAME_SETTINGS, .channel_id = 0 };

  frame.u.settings.version = version;
  frame.u.settings.initial_window = initial_window;
  frame.u.settings.max_payload = max_payload;
  frame.u.settings.max_channels = max_channels;
  return frame;
}

static CvFrame
open_frame (guint32 channel_id, const char *host, gsize host_len, guint16 port)
{
  CvFrame frame = { .type = CV_FRAME_OPEN, .channel_id = channel_id };

  frame.u.open.host = host;
  frame.u.open.host_len = host_len;
  frame.u.open.port = port;
  return frame;
}

static CvFrame
close_frame (CvFrameType type,
             guint32 channel_id,
             guint8 reason,
             guint32 last_channel_id,
             const char *message,
             gsize message_len)
{
  CvFrame frame = { .type = type, .channel_id = channel_id };

  frame.u.close.reason = reason;
  frame.u.close.last_channel_id = last_channel_id;
  frame.u.close.message = message;
  frame.u.close.message_len = message_len;
  return frame;
}

static CvFrame
data_frame (guint type, guint32 channel_id, const void *bytes, gsize len)
{
  CvFrame frame = { .type = type, .channel_id = channel_id };

  frame.u.data.bytes = bytes;
  frame.u.data.len = len;
  return frame;
}

/* The SETTINGS payload as the specification lays it out, field by field. */
static GByteArray *
raw_settings (const char *magic,
              guint16 version,
              guint32 initial_window,
              guint32 max_payload,
              guint32 max_channels)
{
  guint8 payload[CV_FRAME_SETTINGS_SIZE] = { 0 };

  memcpy (payload, magic, 4);
  payload[4] = version >> 8;
  payload[5] = version;
  for (int i = 0; i < 4; i++)
    {
      payload[8 + i] = initial_window >> (24 - 8 * i);
      payload[12 + i] = max_payload >> (24 - 8 * i);
      payload[16 + i] = max_channels >> (24 - 8 * i);
    }
  return raw_frame (CV_FRAME_SETTINGS, 0, 0, payload, sizeof payload);
}

static GByteArray *
raw_open (guint16 port, guint host_len_byte, const char *host, gsize host_len)
{
  g_autofree guint8 *payload = g_malloc (3 + host_len);

  payload[0] = port >> 8;
  payload[1] = port;
  payload[2] = host_len_byte;
  memcpy (payload + 3, host, host_len);
  return raw_frame (CV_FRAME_OPEN, 0, 1, payload, 3 + host_len);
}

/* Round trips. */

static void
test_round_trip_settings (void)
{
  CvFrame frames[] = {
    settings_frame (CV_PROTOCOL_VERSION, 256 * 1024, CV_FRAME_DEFAULT_MAX_PAYLOAD, 256),
    settings_frame (1, 1, CV_FRAME_DEFAULT_MAX_PAYLOAD, 0),
    settings_frame (G_MAXUINT16, CV_FRAME_MAX_WINDOW, CV_FRAME_MAX_PAYLOAD, G_MAXUINT32),
  };

  for (gsize i = 0; i < G_N_ELEMENTS (frames); i++)
    assert_round_trip (&frames[i], CV_FRAME_DEFAULT_MAX_PAYLOAD);
}

static void
test_round_trip_open (void)
{
  const char *hosts[] = {
    "example.com",        "a",           "sub-domain_1.example.org",
    "localhost",          "192.0.2.1",   "255.255.255.255",
    "[2001:db8::1]",      "2001:db8::1", "[fe80::1%eth0]",
    "[::ffff:192.0.2.1]",
  };
  const guint16 ports[] = { 1, 22, 443, 65535 };
  char longest[CV_FRAME_MAX_HOST_LEN];
  CvFrame frame;

  for (gsize i = 0; i < G_N_ELEMENTS (hosts); i++)
    for (gsize j = 0; j < G_N_ELEMENTS (ports); j++)
      {
        frame = open_frame (1 + i, hosts[i], strlen (hosts[i]), ports[j]);
        assert_round_trip (&frame, CV_FRAME_DEFAULT_MAX_PAYLOAD);
      }

  /* 255 bytes: the longest a one-byte length can say, labels of 63 as DNS has them. */
  memset (longest, 'x', sizeof longest);
  for (gsize i = 63; i < sizeof longest; i += 64)
    longest[i] = '.';
  frame = open_frame (CV_FRAME_MAX_CHANNEL_ID, longest, sizeof longest, 8080);
  assert_round_trip (&frame, CV_FRAME_DEFAULT_MAX_PAYLOAD);
}

static void
test_round_trip_open_ok_fin (void)
{
  const guint32 channels[] = { 1, 2, 0x12345678, CV_FRAME_MAX_CHANNEL_ID };

  for (gsize i = 0; i < G_N_ELEMENTS (channels); i++)
    {
      CvFrame open_ok = { .type = CV_FRAME_OPEN_OK, .channel_id = channels[i] };
      CvFrame fin = { .type = CV_FRAME_FIN, .channel_id = channels[i] };

      assert_round_trip (&open_ok, CV_FRAME_DEFAULT_MAX_PAYLOAD);
      assert_round_trip (&fin, CV_FRAME_DEFAULT_MAX_PAYLOAD);
    }
}

static void
test_round_trip_open_fail_reset (void)
{
  static const char message[] = "connect: Connection refused — “db.internal”";
  const CvFrameType types[] = { CV_FRAME_OPEN_FAIL, CV_FRAME_RESET };
  char longest[CV_FRAME_MAX_MESSAGE_LEN];

  memset (longest, 'm', sizeof longest);
  for (gsize t = 0; t < G_N_ELEMENTS (types); t++)
    {
      CvFrame frame;

      /* Every reason, and one this version does not know: the decoder passes it on. */
      for (guint reason = 0; reason <= CV_CHANNEL_REASON_LAST + 1; reason++)
        {
          frame = close_frame (types[t], 7, reason, 0, NULL, 0);
          assert_round_trip (&frame, CV_FRAME_DEFAULT_MAX_PAYLOAD);
          frame = close_frame (types[t], 7, reason, 0, message, strlen (message));
          assert_round_trip (&frame, CV_FRAME_DEFAULT_MAX_PAYLOAD);
        }
      frame = close_frame (types[t], 9, 255, 0, longest, sizeof longest);
      assert_round_trip (&frame, CV_FRAME_DEFAULT_MAX_PAYLOAD);
    }
}

static void
test_round_trip_data (void)
{
  const gsize sizes[] = { 1, 2, 1000, 16 * 1024, 16 * 1024 + 1, 64 * 1024 };
  g_autofree guint8 *bytes = g_malloc (64 * 1024);

  for (gsize i = 0; i < 64 * 1024; i++)
    bytes[i] = (guint8) (i * 31 + (i >> 8));

  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      CvFrame frame = data_frame (CV_FRAME_DATA, 3, bytes, sizes[i]);
      gsize max = sizes[i] <= CV_FRAME_DEFAULT_MAX_PAYLOAD ? CV_FRAME_DEFAULT_MAX_PAYLOAD
                                                           : CV_FRAME_MAX_PAYLOAD;

      assert_round_trip (&frame, max);
    }
}

static void
test_round_trip_window_update (void)
{
  const guint32 increments[] = { 1, 16 * 1024, 0x7ffffffe, CV_FRAME_MAX_WINDOW };

  for (gsize i = 0; i < G_N_ELEMENTS (increments); i++)
    {
      CvFrame frame = { .type = CV_FRAME_WINDOW_UPDATE, .channel_id = 5 };

      frame.u.window_increment = increments[i];
      assert_round_trip (&frame, CV_FRAME_DEFAULT_MAX_PAYLOAD);
    }
}

static void
test_round_trip_ping_pong (void)
{
  const guint64 opaques[] = { 0, 1, G_GUINT64_CONSTANT (0x0123456789abcdef), G_MAXUINT64 };

  for (gsize i = 0; i < G_N_ELEMENTS (opaques); i++)
    {
      CvFrame ping = { .type = CV_FRAME_PING, .channel_id = 0 };
      CvFrame pong = { .type = CV_FRAME_PONG, .channel_id = 0 };

      ping.u.ping_opaque = opaques[i];
      pong.u.ping_opaque = opaques[i];
      assert_round_trip (&ping, CV_FRAME_DEFAULT_MAX_PAYLOAD);
      assert_round_trip (&pong, CV_FRAME_DEFAULT_MAX_PAYLOAD);
    }
}

static void
test_round_trip_goaway (void)
{
  static const char message[] = "gateway restarting for an upgrade";
  CvFrame frame;

  for (guint reason = 0; reason <= CV_GOAWAY_REASON_LAST; reason++)
    {
      frame = close_frame (CV_FRAME_GOAWAY, 0, reason, 41, message, strlen (message));
      assert_round_trip (&frame, CV_FRAME_DEFAULT_MAX_PAYLOAD);
    }
  frame = close_frame (CV_FRAME_GOAWAY, 0, CV_GOAWAY_REASON_NORMAL, 0, NULL, 0);
  assert_round_trip (&frame, CV_FRAME_DEFAULT_MAX_PAYLOAD);
  frame = close_frame (CV_FRAME_GOAWAY, 0, CV_GOAWAY_REASON_SHUTTING_DOWN, CV_FRAME_MAX_CHANNEL_ID,
                       "ünïcødé ✓", strlen ("ünïcødé ✓"));
  assert_round_trip (&frame, CV_FRAME_DEFAULT_MAX_PAYLOAD);
}

static void
test_round_trip_control (void)
{
  static const char hello[] = "{\"type\":\"hello\",\"name\":\"laptöp\",\"caps\":[1,2]}";
  static const char empty[] = "{}";
  const guint types[] = { CV_FRAME_CONTROL_FIRST, 0x21, 0x30, CV_FRAME_CONTROL_LAST };

  for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
    {
      CvFrame frame = data_frame (types[i], 0, hello, strlen (hello));

      assert_round_trip (&frame, CV_FRAME_DEFAULT_MAX_PAYLOAD);
      frame = data_frame (types[i], 0, empty, strlen (empty));
      assert_round_trip (&frame, CV_FRAME_DEFAULT_MAX_PAYLOAD);
    }
}

/* Several frames in one buffer: each decode takes exactly one. */
static void
test_stream (void)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  CvFrame frames[] = {
    settings_frame (1, 65536, CV_FRAME_MAX_PAYLOAD, 100),
    open_frame (1, "example.com", 11, 443),
    { .type = CV_FRAME_OPEN_OK, .channel_id = 1 },
    data_frame (CV_FRAME_DATA, 1, "hello", 5),
    { .type = CV_FRAME_FIN, .channel_id = 1 },
  };
  gsize offset = 0;

  for (gsize i = 0; i < G_N_ELEMENTS (frames); i++)
    g_assert_true (cv_frame_encode (&frames[i], out, &error));
  g_assert_no_error (error);

  for (gsize i = 0; i < G_N_ELEMENTS (frames); i++)
    {
      CvFrame decoded;
      gsize consumed = 0;

      g_assert_cmpint (cv_frame_decode (out->data + offset, out->len - offset,
                                        CV_FRAME_DEFAULT_MAX_PAYLOAD, &decoded, &consumed, &error),
                       ==, CV_FRAME_DECODE_OK);
      g_assert_no_error (error);
      assert_frames_equal (&frames[i], &decoded);
      offset += consumed;
    }
  g_assert_cmpuint (offset, ==, out->len);
}

/* Hand-written bytes: an encoder and decoder that agree with each other but not with
 * the specification fail here. */

static void
test_bytes_header (void)
{
  guint8 header[CV_FRAME_HEADER_SIZE];

  cv_frame_write_header (header, 0xabcd, CV_FRAME_DATA, 0, 0x7fedcba9);
  g_assert_cmpmem (header, sizeof header,
                   ((const guint8[]){ 0x00, 0xab, 0xcd, 0x05, 0x00, 0x7f, 0xed, 0xcb, 0xa9 }),
                   CV_FRAME_HEADER_SIZE);

  /* The top byte of the 24-bit length is used too. */
  cv_frame_write_header (header, CV_FRAME_MAX_PAYLOAD, CV_FRAME_WINDOW_UPDATE, 0, 1);
  g_assert_cmpmem (header, sizeof header,
                   ((const guint8[]){ 0x01, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x01 }),
                   CV_FRAME_HEADER_SIZE);
}

static void
test_bytes_settings (void)
{
  static const guint8 expected[] = {
    0x00, 0x00, 0x14,       /* length 20 */
    0x01,                   /* SETTINGS */
    0x00,                   /* flags */
    0x00, 0x00, 0x00, 0x00, /* channel 0 */
    'C',  'U',  'L',  'V',  /* magic */
    0x00, 0x01,             /* version 1 */
    0x00, 0x00,             /* reserved */
    0x00, 0x04, 0x00, 0x00, /* initial window 262144 */
    0x00, 0x01, 0x00, 0x00, /* max payload 65536 */
    0x00, 0x00, 0x01, 0x00, /* max channels 256 */
  };
  CvFrame frame = settings_frame (1, 262144, 65536, 256);
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  g_auto (Wire) wire = { g_memdup2 (expected, sizeof expected), sizeof expected };
  CvFrame decoded;

  g_assert_true (cv_frame_encode (&frame, out, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (out->data, out->len, expected, sizeof expected);

  decode_ok (&wire, CV_FRAME_DEFAULT_MAX_PAYLOAD, &decoded);
  assert_frames_equal (&frame, &decoded);
}

/* The worked example of PROTOCOL.md §15, byte for byte. */
static void
test_bytes_worked_example (void)
{
  static const guint8 settings_bytes[] = {
    0x00, 0x00, 0x14, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, /* header */
    0x43, 0x55, 0x4c, 0x56,                               /* "CULV" */
    0x00, 0x01, 0x00, 0x00,                               /* version 1, reserved */
    0x00, 0x04, 0x00, 0x00,                               /* initial_window 262144 */
    0x00, 0x00, 0x40, 0x00,                               /* max_payload 16384 */
    0x00, 0x00, 0x10, 0x00,                               /* max_channels 4096 */
  };
  static const guint8 open_bytes[] = {
    0x00, 0x00, 0x0c, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, /* header */
    0x17, 0x0c, 0x09,                                     /* port 5900, host_len 9 */
    0x6c, 0x6f, 0x63, 0x61, 0x6c, 0x68, 0x6f, 0x73, 0x74, /* "localhost" */
  };
  static const guint8 data_bytes[] = {
    0x00, 0x00, 0x02, 0x05, 0x00, 0x00, 0x00, 0x00, 0x01, 0x68, 0x69,
  };
  CvFrame frames[] = {
    settings_frame (1, 262144, 16384, 4096),
    open_frame (1, "localhost", 9, 5900),
    data_frame (CV_FRAME_DATA, 1, "hi", 2),
  };
  const struct {
    const guint8 *bytes;
    gsize len;
  } expected[] = {
    { settings_bytes, sizeof settings_bytes },
    { open_bytes, sizeof open_bytes },
    { data_bytes, sizeof data_bytes },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (frames); i++)
    {
      g_autoptr (GByteArray) out = g_byte_array_new ();
      g_autoptr (GError) error = NULL;
      g_auto (Wire) wire = { g_memdup2 (expected[i].bytes, expected[i].len), expected[i].len };
      CvFrame decoded;

      g_assert_true (cv_frame_encode (&frames[i], out, &error));
      g_assert_no_error (error);
      g_assert_cmpmem (out->data, out->len, expected[i].bytes, expected[i].len);

      decode_ok (&wire, CV_FRAME_DEFAULT_MAX_PAYLOAD, &decoded);
      assert_frames_equal (&frames[i], &decoded);
    }
}

static void
test_bytes_decode (void)
{
  /* OPEN channel 0x0102, port 8443, "db.lan" */
  static const guint8 open_bytes[] = {
    0x00, 0x00, 0x09, 0x02, 0x00, 0x00, 0x00, 0x01, 0x02,
    0x20, 0xfb, 0x06, 'd',  'b',  '.',  'l',  'a',  'n',
  };
  /* GOAWAY, reason 10, last channel 0x01020304, "bye" */
  static const guint8 goaway_bytes[] = {
    0x00, 0x00, 0x08, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x0a, 0x01, 0x02, 0x03, 0x04, 'b',  'y',  'e',
  };
  /* PING 0x0102030405060708 */
  static const guint8 ping_bytes[] = {
    0x00, 0x00, 0x08, 0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 1, 2, 3, 4, 5, 6, 7, 8,
  };
  /* WINDOW_UPDATE channel 3 by 0x00010000 */
  static const guint8 window_bytes[] = {
    0x00, 0x00, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x01, 0x00, 0x00,
  };
  CvFrame frame;

  {
    g_auto (Wire) wire = { g_memdup2 (open_bytes, sizeof open_bytes), sizeof open_bytes };
    decode_ok (&wire, CV_FRAME_DEFAULT_MAX_PAYLOAD, &frame);
    g_assert_cmpuint (frame.type, ==, CV_FRAME_OPEN);
    g_assert_cmpuint (frame.channel_id, ==, 0x0102);
    g_assert_cmpuint (frame.u.open.port, ==, 8443);
    g_assert_cmpmem (frame.u.open.host, frame.u.open.host_len, "db.lan", 6);
  }
  {
    g_auto (Wire) wire = { g_memdup2 (goaway_bytes, sizeof goaway_bytes), sizeof goaway_bytes };
    decode_ok (&wire, CV_FRAME_DEFAULT_MAX_PAYLOAD, &frame);
    g_assert_cmpuint (frame.type, ==, CV_FRAME_GOAWAY);
    g_assert_cmpuint (frame.u.close.reason, ==, CV_GOAWAY_REASON_SHUTTING_DOWN);
    g_assert_cmpuint (frame.u.close.last_channel_id, ==, 0x01020304);
    g_assert_cmpmem (frame.u.close.message, frame.u.close.message_len, "bye", 3);
  }
  {
    g_auto (Wire) wire = { g_memdup2 (ping_bytes, sizeof ping_bytes), sizeof ping_bytes };
    decode_ok (&wire, CV_FRAME_DEFAULT_MAX_PAYLOAD, &frame);
    g_assert_cmpuint (frame.type, ==, CV_FRAME_PING);
    g_assert_cmpuint (frame.u.ping_opaque, ==, G_GUINT64_CONSTANT (0x0102030405060708));
  }
  {
    g_auto (Wire) wire = { g_memdup2 (window_bytes, sizeof window_bytes), sizeof window_bytes };
    decode_ok (&wire, CV_FRAME_DEFAULT_MAX_PAYLOAD, &frame);
    g_assert_cmpuint (frame.type, ==, CV_FRAME_WINDOW_UPDATE);
    g_assert_cmpuint (frame.channel_id, ==, 3);
    g_assert_cmpuint (frame.u.window_increment, ==, 0x10000);
  }
}

/* Refusals by the decoder. */

static void
test_decode_too_large (void)
{
  /* Only the header: the decoder must not wait for 16 KiB it will refuse anyway. */
  assert_decode_error (raw_frame (CV_FRAME_DATA, 0, 1, NULL, CV_FRAME_DEFAULT_MAX_PAYLOAD + 1),
                       CV_GOAWAY_REASON_FRAME_TOO_LARGE, "16385 bytes");
  assert_decode_error_full (raw_frame (CV_FRAME_DATA, 0, 1, NULL, CV_FRAME_MAX_PAYLOAD + 1),
                            CV_FRAME_MAX_PAYLOAD, CV_GOAWAY_REASON_FRAME_TOO_LARGE, "65537 bytes");
  assert_decode_error_full (raw_frame (CV_FRAME_DATA, 0, 1, NULL, 0xffffff), CV_FRAME_MAX_PAYLOAD,
                            CV_GOAWAY_REASON_FRAME_TOO_LARGE, "at most 65536");
  /* Before anything else is checked: a huge frame of an unknown type is still too large. */
  assert_decode_error (raw_frame (0x77, 0, 0, NULL, 0x100000), CV_GOAWAY_REASON_FRAME_TOO_LARGE,
                       "at most 16384");

  /* With the payload present too: the same answer. */
  {
    g_autofree guint8 *payload = g_malloc0 (CV_FRAME_DEFAULT_MAX_PAYLOAD + 1);
    assert_decode_error (raw_frame (CV_FRAME_DATA, 0, 1, payload, CV_FRAME_DEFAULT_MAX_PAYLOAD + 1),
                         CV_GOAWAY_REASON_FRAME_TOO_LARGE, "DATA frame of 16385 bytes");
  }
}

static void
test_decode_unknown_type (void)
{
  const guint types[] = { 0x00, 0x0c, 0x1f, 0x40, 0xff };

  for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
    {
      g_autofree char *cause = g_strdup_printf ("unknown frame type 0x%02x", types[i]);

      assert_decode_error (raw_frame (types[i], 0, 0, "{}", 2), CV_GOAWAY_REASON_PROTOCOL_ERROR,
                           cause);
      assert_decode_error (raw_frame (types[i], 0, 1, "x", 1), CV_GOAWAY_REASON_PROTOCOL_ERROR,
                           cause);
      assert_decode_error (raw_frame (types[i], 0, 1, NULL, 0), CV_GOAWAY_REASON_PROTOCOL_ERROR,
                           cause);
    }
}

static void
test_decode_flags (void)
{
  for (guint bit = 0; bit < 8; bit++)
    {
      assert_decode_error (raw_frame (CV_FRAME_FIN, 1 << bit, 1, NULL, 0),
                           CV_GOAWAY_REASON_PROTOCOL_ERROR, "flags");
      assert_decode_error (raw_frame (CV_FRAME_DATA, 1 << bit, 1, "x", 1),
                           CV_GOAWAY_REASON_PROTOCOL_ERROR, "flags");
    }
  {
    GByteArray *settings = raw_settings ("CULV", 1, 65536, 16384, 1);

    settings->data[4] = 0x80;
    assert_decode_error (settings, CV_GOAWAY_REASON_PROTOCOL_ERROR,
                         "SETTINGS frame with unknown flags 0x80");
  }
}

static void
test_decode_reserved_bit (void)
{
  assert_decode_error (raw_frame (CV_FRAME_FIN, 0, 0x80000001, NULL, 0),
                       CV_GOAWAY_REASON_PROTOCOL_ERROR, "reserved bit");
  assert_decode_error (raw_frame (CV_FRAME_PING, 0, 0x80000000, "12345678", 8),
                       CV_GOAWAY_REASON_PROTOCOL_ERROR, "reserved bit");
  assert_decode_error (raw_frame (CV_FRAME_DATA, 0, 0xffffffff, "x", 1),
                       CV_GOAWAY_REASON_PROTOCOL_ERROR, "reserved bit");
}

static void
test_decode_wrong_channel (void)
{
  static const guint8 settings[CV_FRAME_SETTINGS_SIZE] = {
    'C', 'U', 'L', 'V', 0, 1, 0, 0, 0, 0, 0x40, 0, 0, 0, 0x40, 0, 0, 0, 0, 1,
  };
  static const guint8 goaway_bytes[] = { 0, 0, 0, 0, 0 };
  struct {
    guint type;
    const void *payload;
    gsize len;
  } link_frames[] = {
    { CV_FRAME_SETTINGS, settings, sizeof settings },
    { CV_FRAME_PING, "12345678", 8 },
    { CV_FRAME_PONG, "12345678", 8 },
    { CV_FRAME_GOAWAY, goaway_bytes, sizeof goaway_bytes },
    { CV_FRAME_CONTROL_FIRST, "{}", 2 },
    { CV_FRAME_CONTROL_LAST, "{}", 2 },
  }, channel_frames[] = {
    { CV_FRAME_OPEN, "\x00\x50\x01x", 4 },
    { CV_FRAME_OPEN_OK, NULL, 0 },
    { CV_FRAME_OPEN_FAIL, "\x01", 1 },
    { CV_FRAME_DATA, "x", 1 },
    { CV_FRAME_FIN, NULL, 0 },
    { CV_FRAME_RESET, "\x01", 1 },
    { CV_FRAME_WINDOW_UPDATE, "\x00\x00\x00\x01", 4 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (link_frames); i++)
    {
      /* The same bytes on channel 0 are fine: only the channel is wrong. */
      g_auto (Wire) wire = { 0 };
      CvFrame frame;

      wire_take (&wire,
                 raw_frame (link_frames[i].type, 0, 0, link_frames[i].payload, link_frames[i].len));
      decode_ok (&wire, CV_FRAME_DEFAULT_MAX_PAYLOAD, &frame);

      assert_decode_error (raw_frame (link_frames[i].type, 0, 1, link_frames[i].payload,
                                      link_frames[i].len),
                           CV_GOAWAY_REASON_PROTOCOL_ERROR, "on channel 1; it belongs on 0");
      assert_decode_error (raw_frame (link_frames[i].type, 0, CV_FRAME_MAX_CHANNEL_ID,
                                      link_frames[i].payload, link_frames[i].len),
                           CV_GOAWAY_REASON_PROTOCOL_ERROR, "it belongs on 0");
    }

  for (gsize i = 0; i < G_N_ELEMENTS (channel_frames); i++)
    {
      g_autofree char *cause = g_strdup_printf ("%s frame on channel 0",
                                                cv_frame_type_to_string (channel_frames[i].type));
      g_auto (Wire) wire = { 0 };
      CvFrame frame;

      wire_take (&wire, raw_frame (channel_frames[i].type, 0, 1, channel_frames[i].payload,
                                   channel_frames[i].len));
      decode_ok (&wire, CV_FRAME_DEFAULT_MAX_PAYLOAD, &frame);

      assert_decode_error (raw_frame (channel_frames[i].type, 0, 0, channel_frames[i].payload,
                                      channel_frames[i].len),
                           CV_GOAWAY_REASON_PROTOCOL_ERROR, cause);
    }
}

static void
test_decode_payload_size (void)
{
  g_autofree guint8 *zeros = g_malloc0 (CV_FRAME_DEFAULT_MAX_PAYLOAD);
  struct {
    guint type;
    guint32 channel_id;
    gsize len;
    const char *cause;
  } cases[] = {
    { CV_FRAME_SETTINGS, 0, 0, "SETTINGS frame with a 0-byte payload" },
    { CV_FRAME_SETTINGS, 0, 19, "SETTINGS frame with a 19-byte payload" },
    { CV_FRAME_OPEN, 1, 0, "OPEN frame with a 0-byte payload" },
    { CV_FRAME_OPEN, 1, 3, "OPEN frame with a 3-byte payload" },
    { CV_FRAME_OPEN, 1, 3 + CV_FRAME_MAX_HOST_LEN + 1, "OPEN frame with a 259-byte payload" },
    { CV_FRAME_OPEN_OK, 1, 1, "OPEN_OK frame with a 1-byte payload; expected 0" },
    { CV_FRAME_OPEN_FAIL, 1, 0, "OPEN_FAIL frame with a 0-byte payload" },
    { CV_FRAME_FIN, 1, 1, "FIN frame with a 1-byte payload; expected 0" },
    { CV_FRAME_FIN, 1, 100, "FIN frame with a 100-byte payload; expected 0" },
    { CV_FRAME_RESET, 1, 0, "RESET frame with a 0-byte payload" },
    { CV_FRAME_WINDOW_UPDATE, 1, 0, "WINDOW_UPDATE frame with a 0-byte payload; expected 4" },
    { CV_FRAME_WINDOW_UPDATE, 1, 3, "WINDOW_UPDATE frame with a 3-byte payload; expected 4" },
    { CV_FRAME_WINDOW_UPDATE, 1, 5, "WINDOW_UPDATE frame with a 5-byte payload; expected 4" },
    { CV_FRAME_PING, 0, 0, "PING frame with a 0-byte payload; expected 8" },
    { CV_FRAME_PING, 0, 7, "PING frame with a 7-byte payload; expected 8" },
    { CV_FRAME_PING, 0, 9, "PING frame with a 9-byte payload; expected 8" },
    { CV_FRAME_PONG, 0, 7, "PONG frame with a 7-byte payload; expected 8" },
    { CV_FRAME_PONG, 0, 16, "PONG frame with a 16-byte payload; expected 8" },
    { CV_FRAME_GOAWAY, 0, 0, "GOAWAY frame with a 0-byte payload" },
    { CV_FRAME_GOAWAY, 0, 4, "GOAWAY frame with a 4-byte payload" },
    { CV_FRAME_DATA, 1, 0, "DATA frame with a 0-byte payload" },
    { CV_FRAME_CONTROL_FIRST, 0, 0, "CONTROL frame with a 0-byte payload" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    assert_decode_error (raw_frame (cases[i].type, 0, cases[i].channel_id, zeros, cases[i].len),
                         CV_GOAWAY_REASON_PROTOCOL_ERROR, cases[i].cause);
}

static void
test_decode_open (void)
{
  g_autofree char *too_long = g_malloc (CV_FRAME_MAX_HOST_LEN + 1);
  const char *bad_hosts[] = {
    "exa mple.com",   "a\tb", "a\nb", "\x01",     "a\x7f", "b\xc3\xa9",
    "caf\xc3\xa9.fr", "a/b",  "a@b",  "host:80/", "\xff",
  };

  memset (too_long, 'a', CV_FRAME_MAX_HOST_LEN + 1);

  assert_decode_error (raw_open (0, 11, "example.com", 11), CV_GOAWAY_REASON_PROTOCOL_ERROR,
                       "OPEN for port 0");
  assert_decode_error (raw_open (80, 12, "example.com", 11), CV_GOAWAY_REASON_PROTOCOL_ERROR,
                       "host length 12 does not match");
  assert_decode_error (raw_open (80, 10, "example.com", 11), CV_GOAWAY_REASON_PROTOCOL_ERROR,
                       "host length 10 does not match");
  assert_decode_error (raw_open (80, 0, "x", 1), CV_GOAWAY_REASON_PROTOCOL_ERROR,
                       "host length 0 does not match");
  /* The one-byte length wraps: 256 bytes announced as 0. */
  assert_decode_error (raw_open (80, 0, too_long, 256), CV_GOAWAY_REASON_PROTOCOL_ERROR,
                       "OPEN frame with a 259-byte payload");
  /* Empty host: the payload is only port and length. */
  assert_decode_error (raw_open (80, 0, "", 0), CV_GOAWAY_REASON_PROTOCOL_ERROR,
                       "OPEN frame with a 3-byte payload");

  assert_decode_error (raw_open (80, 1, "\0", 1), CV_GOAWAY_REASON_PROTOCOL_ERROR,
                       "OPEN host has characters");
  assert_decode_error (raw_open (80, 3, "a\0b", 3), CV_GOAWAY_REASON_PROTOCOL_ERROR,
                       "OPEN host has characters");
  for (gsize i = 0; i < G_N_ELEMENTS (bad_hosts); i++)
    assert_decode_error (raw_open (80, strlen (bad_hosts[i]), bad_hosts[i], strlen (bad_hosts[i])),
                         CV_GOAWAY_REASON_PROTOCOL_ERROR, "OPEN host has characters");
}

static void
test_decode_settings (void)
{
  assert_decode_error (raw_settings ("CULW", 1, 65536, 16384, 100), CV_GOAWAY_REASON_PROTOCOL_ERROR,
                       "magic");
  assert_decode_error (raw_settings ("HTTP", 1, 65536, 16384, 100), CV_GOAWAY_REASON_PROTOCOL_ERROR,
                       "magic");
  assert_decode_error (raw_settings ("CULV", 0, 65536, 16384, 100),
                       CV_GOAWAY_REASON_VERSION_MISMATCH, "version 0");
  assert_decode_error (raw_settings ("CULV", 1, 0, 16384, 100), CV_GOAWAY_REASON_FLOW_CONTROL,
                       "initial window 0 out of range");
  assert_decode_error (raw_settings ("CULV", 1, 0x80000000, 16384, 100),
                       CV_GOAWAY_REASON_FLOW_CONTROL, "initial window 2147483648 out of range");
  assert_decode_error (raw_settings ("CULV", 1, G_MAXUINT32, 16384, 100),
                       CV_GOAWAY_REASON_FLOW_CONTROL, "initial window");
  assert_decode_error (raw_settings ("CULV", 1, 65536, 16383, 100), CV_GOAWAY_REASON_PROTOCOL_ERROR,
                       "maximum payload 16383 outside");
  assert_decode_error (raw_settings ("CULV", 1, 65536, 0, 100), CV_GOAWAY_REASON_PROTOCOL_ERROR,
                       "maximum payload 0 outside");
  assert_decode_error (raw_settings ("CULV", 1, 65536, 65537, 100), CV_GOAWAY_REASON_PROTOCOL_ERROR,
                       "maximum payload 65537 outside");
  assert_decode_error (raw_settings ("CULV", 1, 65536, G_MAXUINT32, 100),
                       CV_GOAWAY_REASON_PROTOCOL_ERROR, "maximum payload");

  /* Bytes past the known fields belong to a later version and are skipped. */
  {
    g_autoptr (GByteArray) array = raw_settings ("CULV", 2, 65536, 16384, 100);
    g_auto (Wire) wire = { 0 };
    CvFrame frame;

    g_byte_array_append (array, (const guint8 *) "future", 6);
    array->data[2] += 6;
    wire.len = array->len;
    wire.bytes = g_memdup2 (array->data, array->len);
    decode_ok (&wire, CV_FRAME_DEFAULT_MAX_PAYLOAD, &frame);
    g_assert_cmpuint (frame.u.settings.version, ==, 2);
    g_assert_cmpuint (frame.u.settings.max_channels, ==, 100);
  }
}

static void
test_decode_window_update (void)
{
  assert_decode_error (raw_frame (CV_FRAME_WINDOW_UPDATE, 0, 1, "\x00\x00\x00\x00", 4),
                       CV_GOAWAY_REASON_FLOW_CONTROL, "WINDOW_UPDATE by 0, out of range");
  assert_decode_error (raw_frame (CV_FRAME_WINDOW_UPDATE, 0, 1, "\x80\x00\x00\x00", 4),
                       CV_GOAWAY_REASON_FLOW_CONTROL, "WINDOW_UPDATE by 2147483648, out of range");
  assert_decode_error (raw_frame (CV_FRAME_WINDOW_UPDATE, 0, 1, "\xff\xff\xff\xff", 4),
                       CV_GOAWAY_REASON_FLOW_CONTROL, "out of range");
}

static void
test_decode_messages (void)
{
  const char *invalid[] = {
    "\xff", "abc\xc3", "\xc0\xaf", "\xed\xa0\x80" /* a surrogate */, "a\0b",
  };
  const gsize invalid_len[] = { 1, 4, 2, 3, 3 };
  guint8 payload[5 + CV_FRAME_MAX_MESSAGE_LEN + 1];

  for (gsize i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      payload[0] = CV_CHANNEL_REASON_REFUSED;
      memcpy (payload + 1, invalid[i], invalid_len[i]);
      assert_decode_error (raw_frame (CV_FRAME_OPEN_FAIL, 0, 1, payload, 1 + invalid_len[i]),
                           CV_GOAWAY_REASON_PROTOCOL_ERROR, "OPEN_FAIL message is not valid UTF-8");
      assert_decode_error (raw_frame (CV_FRAME_RESET, 0, 1, payload, 1 + invalid_len[i]),
                           CV_GOAWAY_REASON_PROTOCOL_ERROR, "RESET message is not valid UTF-8");

      memset (payload, 0, 5);
      memcpy (payload + 5, invalid[i], invalid_len[i]);
      assert_decode_error (raw_frame (CV_FRAME_GOAWAY, 0, 0, payload, 5 + invalid_len[i]),
                           CV_GOAWAY_REASON_PROTOCOL_ERROR, "GOAWAY message is not valid UTF-8");
    }

  /* 513 message bytes, one more than allowed. */
  memset (payload, 'm', sizeof payload);
  payload[0] = 1;
  assert_decode_error (raw_frame (CV_FRAME_OPEN_FAIL, 0, 1, payload, 1 + 513),
                       CV_GOAWAY_REASON_PROTOCOL_ERROR, "OPEN_FAIL frame with a 514-byte payload");
  assert_decode_error (raw_frame (CV_FRAME_RESET, 0, 1, payload, 1 + 513),
                       CV_GOAWAY_REASON_PROTOCOL_ERROR, "RESET frame with a 514-byte payload");
  memset (payload, 0, 5);
  assert_decode_error (raw_frame (CV_FRAME_GOAWAY, 0, 0, payload, 5 + 513),
                       CV_GOAWAY_REASON_PROTOCOL_ERROR, "GOAWAY frame with a 518-byte payload");

  /* GOAWAY naming a channel id with the reserved bit. */
  assert_decode_error (raw_frame (CV_FRAME_GOAWAY, 0, 0, "\x00\x80\x00\x00\x00", 5),
                       CV_GOAWAY_REASON_CHANNEL_ID, "GOAWAY names channel id 2147483648");
}

static void
test_decode_control (void)
{
  const char *not_objects[] = { "[]", " {}", "\"{}\"", "xx", "12", "\xef\xbb\xbf{}" /* BOM */ };

  for (gsize i = 0; i < G_N_ELEMENTS (not_objects); i++)
    assert_decode_error (raw_frame (0x20, 0, 0, not_objects[i], strlen (not_objects[i])),
                         CV_GOAWAY_REASON_PROTOCOL_ERROR,
                         "control message 0x20 is not a UTF-8 JSON object");

  assert_decode_error (raw_frame (0x3f, 0, 0, "{\"a\":\"\xff\"}", 9),
                       CV_GOAWAY_REASON_PROTOCOL_ERROR,
                       "control message 0x3f is not a UTF-8 JSON object");
  assert_decode_error (raw_frame (0x3f, 0, 0, "{\0}", 3), CV_GOAWAY_REASON_PROTOCOL_ERROR,
                       "control message 0x3f is not a UTF-8 JSON object");
  assert_decode_error (raw_frame (0x21, 0, 0, "{", 1), CV_GOAWAY_REASON_PROTOCOL_ERROR,
                       "CONTROL frame with a 1-byte payload");
}

/* Refusals by the encoder. */

static void
test_encode_refuses (void)
{
  g_autofree char *long_host = g_malloc (CV_FRAME_MAX_HOST_LEN + 1);
  g_autofree guint8 *big = g_malloc0 (CV_FRAME_MAX_PAYLOAD + 1);
  CvFrame frame;

  memset (long_host, 'h', CV_FRAME_MAX_HOST_LEN + 1);

  frame = settings_frame (0, 65536, 16384, 1);
  assert_encode_error (&frame, CV_GOAWAY_REASON_VERSION_MISMATCH, "version 0");
  frame = settings_frame (1, 0, 16384, 1);
  assert_encode_error (&frame, CV_GOAWAY_REASON_FLOW_CONTROL, "initial window");
  frame = settings_frame (1, 65536, 65537, 1);
  assert_encode_error (&frame, CV_GOAWAY_REASON_PROTOCOL_ERROR, "maximum payload");
  frame = settings_frame (1, 65536, 16384, 1);
  frame.channel_id = 3;
  assert_encode_error (&frame, CV_GOAWAY_REASON_PROTOCOL_ERROR, "it belongs on 0");

  frame = open_frame (1, "example.com", 11, 0);
  assert_encode_error (&frame, CV_GOAWAY_REASON_PROTOCOL_ERROR, "port 0");
  frame = open_frame (1, "", 0, 80);
  assert_encode_error (&frame, CV_GOAWAY_REASON_PROTOCOL_ERROR, "3-byte payload");
  frame = open_frame (1, long_host, CV_FRAME_MAX_HOST_LEN + 1, 80);
  assert_encode_error (&frame, CV_GOAWAY_REASON_PROTOCOL_ERROR, "longer than 255");
  frame = open_frame (1, "a b", 3, 80);
  assert_encode_error (&frame, CV_GOAWAY_REASON_PROTOCOL_ERROR, "characters");
  frame = open_frame (0, "example.com", 11, 80);
  assert_encode_error (&frame, CV_GOAWAY_REASON_PROTOCOL_ERROR, "on channel 0");

  frame = data_frame (CV_FRAME_DATA, 1, NULL, 0);
  assert_encode_error (&frame, CV_GOAWAY_REASON_PROTOCOL_ERROR, "0-byte payload");
  frame = data_frame (CV_FRAME_DATA, 1, big, CV_FRAME_MAX_PAYLOAD + 1);
  assert_encode_error (&frame, CV_GOAWAY_REASON_FRAME_TOO_LARGE, "65537 bytes");
  frame = data_frame (CV_FRAME_DATA, 0, "x", 1);
  assert_encode_error (&frame, CV_GOAWAY_REASON_PROTOCOL_ERROR, "on channel 0");
  frame = data_frame (CV_FRAME_DATA, 1, "x", 1);
  frame.flags = 0x01;
  assert_encode_error (&frame, CV_GOAWAY_REASON_PROTOCOL_ERROR, "flags");
  /* The reserved bit must be refused, not asserted on or silently dropped. */
  frame = data_frame (CV_FRAME_DATA, 0x80000001, "x", 1);
  assert_encode_error (&frame, CV_GOAWAY_REASON_PROTOCOL_ERROR, "reserved bit");

  frame = data_frame (0x0c, 0, "{}", 2);
  assert_encode_error (&frame, CV_GOAWAY_REASON_PROTOCOL_ERROR, "unknown frame type 0x0c");
  /* A type past one byte must not wrap around to a known one (0x105 → DATA). */
  frame = data_frame (0x105, 1, "x", 1);
  assert_encode_error (&frame, CV_GOAWAY_REASON_PROTOCOL_ERROR, "unknown frame type");
  frame = data_frame (0x20, 0, "[1]", 3);
  assert_encode_error (&frame, CV_GOAWAY_REASON_PROTOCOL_ERROR, "JSON object");

  frame = (CvFrame){ .type = CV_FRAME_WINDOW_UPDATE, .channel_id = 1 };
  assert_encode_error (&frame, CV_GOAWAY_REASON_FLOW_CONTROL, "WINDOW_UPDATE by 0");
  frame.u.window_increment = 0x80000000;
  assert_encode_error (&frame, CV_GOAWAY_REASON_FLOW_CONTROL, "WINDOW_UPDATE by 2147483648");

  frame = (CvFrame){ .type = CV_FRAME_PING, .channel_id = 1 };
  assert_encode_error (&frame, CV_GOAWAY_REASON_PROTOCOL_ERROR, "it belongs on 0");

  frame = close_frame (CV_FRAME_OPEN_FAIL, 1, 1, 0, "\xff", 1);
  assert_encode_error (&frame, CV_GOAWAY_REASON_PROTOCOL_ERROR, "not valid UTF-8");
  frame = close_frame (CV_FRAME_GOAWAY, 0, 1, 0x80000000, "", 0);
  assert_encode_error (&frame, CV_GOAWAY_REASON_CHANNEL_ID, "GOAWAY names channel id");
  frame = close_frame (CV_FRAME_GOAWAY, 5, 1, 0, "", 0);
  assert_encode_error (&frame, CV_GOAWAY_REASON_PROTOCOL_ERROR, "it belongs on 0");
}

/* An over-long message is cut to the limit on a character boundary; an invalid one is
 * refused whatever its length, never cut down to its valid start. */
static void
test_encode_truncates_message (void)
{
  const struct {
    const char *tail; /* placed so that it straddles the 512-byte limit */
    gsize before;     /* bytes of 'a' before it */
    gsize expect_len; /* message bytes that are sent */
  } cases[] = {
    { "é", 511, 511 }, /* 2-byte character cut after its first byte */
    { "€", 510, 510 }, /* 3-byte, cut after 2 */
    { "€", 511, 511 }, /* 3-byte, cut after 1 */
    { "😀", 509, 509 }, /* 4-byte, cut after 3 */
    { "😀", 510, 510 }, /* cut after 2 */
    { "😀", 511, 511 }, /* cut after 1 */
    { "é", 510, 512 }, /* ends exactly at the limit: nothing lost but what follows */
    { "😀", 508, 512 },
  };
  const CvFrameType types[] = { CV_FRAME_GOAWAY, CV_FRAME_OPEN_FAIL, CV_FRAME_RESET };

  for (gsize t = 0; t < G_N_ELEMENTS (types); t++)
    for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        g_autoptr (GString) message = g_string_new (NULL);
        g_autoptr (GError) error = NULL;
        g_auto (Wire) wire = { 0 };
        GByteArray *out = g_byte_array_new ();
        guint32 channel_id = types[t] == CV_FRAME_GOAWAY ? 0 : 1;
        CvFrame frame, decoded;

        for (gsize j = 0; j < cases[i].before; j++)
          g_string_append_c (message, 'a');
        g_string_append (message, cases[i].tail);
        g_string_append (message, " and some more after the limit");

        frame = close_frame (types[t], channel_id, CV_GOAWAY_REASON_SHUTTING_DOWN,
                             types[t] == CV_FRAME_GOAWAY ? 77 : 0, message->str, message->len);
        g_assert_true (cv_frame_encode (&frame, out, &error));
        g_assert_no_error (error);
        wire_take (&wire, out);
        decode_ok (&wire, CV_FRAME_DEFAULT_MAX_PAYLOAD, &decoded);

        g_assert_cmpuint (decoded.type, ==, types[t]);
        g_assert_cmpuint (decoded.u.close.reason, ==, CV_GOAWAY_REASON_SHUTTING_DOWN);
        if (types[t] == CV_FRAME_GOAWAY)
          g_assert_cmpuint (decoded.u.close.last_channel_id, ==, 77);
        g_assert_cmpmem (decoded.u.close.message, decoded.u.close.message_len, message->str,
                         cases[i].expect_len);
        g_assert_true (
          g_utf8_validate (decoded.u.close.message, decoded.u.close.message_len, NULL));
      }

  /* Long and all ASCII: exactly the first 512 bytes. */
  {
    g_autofree char *message = g_malloc (2000);
    g_autoptr (GByteArray) out = g_byte_array_new ();
    g_autoptr (GError) error = NULL;
    CvFrame frame;

    memset (message, 'z', 2000);
    frame = close_frame (CV_FRAME_GOAWAY, 0, 0, 1, message, 2000);
    g_assert_true (cv_frame_encode (&frame, out, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (out->len, ==, CV_FRAME_HEADER_SIZE + 5 + CV_FRAME_MAX_MESSAGE_LEN);
  }

  /* An invalid message is refused whatever its length; never cut down to a valid part
   * (here "bbb"). */
  {
    g_autofree char *message = g_malloc (600);
    CvFrame frame;

    memset (message, 'b', 600);
    message[3] = '\xff';
    frame = close_frame (CV_FRAME_GOAWAY, 0, 0, 1, message, 600);
    assert_encode_error (&frame, CV_GOAWAY_REASON_PROTOCOL_ERROR, "not valid UTF-8");

    /* …and invalid only in the last byte before the limit: refused too. */
    memset (message, 'b', 600);
    message[511] = '\xff';
    frame = close_frame (CV_FRAME_RESET, 1, 0, 0, message, 600);
    assert_encode_error (&frame, CV_GOAWAY_REASON_PROTOCOL_ERROR, "not valid UTF-8");

    /* …and invalid only past the limit, in the part that would be cut off: refused. */
    memset (message, 'b', 600);
    message[550] = '\xff';
    frame = close_frame (CV_FRAME_OPEN_FAIL, 1, 0, 0, message, 600);
    assert_encode_error (&frame, CV_GOAWAY_REASON_PROTOCOL_ERROR, "not valid UTF-8");
  }
}

static void
test_to_string (void)
{
  const guint unknown_types[] = { 0x00, 0x0c, 0x1f, 0x40, 0xff, 0x100, G_MAXUINT };

  g_assert_cmpstr (cv_frame_type_to_string (CV_FRAME_SETTINGS), ==, "SETTINGS");
  g_assert_cmpstr (cv_frame_type_to_string (CV_FRAME_WINDOW_UPDATE), ==, "WINDOW_UPDATE");
  g_assert_cmpstr (cv_frame_type_to_string (CV_FRAME_GOAWAY), ==, "GOAWAY");
  g_assert_cmpstr (cv_frame_type_to_string (CV_FRAME_CONTROL_FIRST), ==, "CONTROL");
  g_assert_cmpstr (cv_frame_type_to_string (CV_FRAME_CONTROL_LAST), ==, "CONTROL");
  for (gsize i = 0; i < G_N_ELEMENTS (unknown_types); i++)
    g_assert_cmpstr (cv_frame_type_to_string (unknown_types[i]), ==, "unknown");

  for (guint reason = 0; reason <= CV_CHANNEL_REASON_LAST; reason++)
    {
      g_assert_nonnull (cv_channel_reason_to_string (reason));
      g_assert_cmpstr (cv_channel_reason_to_string (reason), !=, "unknown");
    }
  g_assert_cmpstr (cv_channel_reason_to_string (CV_CHANNEL_REASON_REFUSED), ==, "refused");
  g_assert_cmpstr (cv_channel_reason_to_string (CV_CHANNEL_REASON_LAST + 1), ==, "unknown");
  g_assert_cmpstr (cv_channel_reason_to_string (255), ==, "unknown");
  g_assert_cmpstr (cv_channel_reason_to_string (G_MAXUINT), ==, "unknown");

  for (guint reason = 0; reason <= CV_GOAWAY_REASON_LAST; reason++)
    {
      g_assert_nonnull (cv_goaway_reason_to_string (reason));
      g_assert_cmpstr (cv_goaway_reason_to_string (reason), !=, "unknown");
    }
  g_assert_cmpstr (cv_goaway_reason_to_string (CV_GOAWAY_REASON_FRAME_TOO_LARGE), ==,
                   "frame-too-large");
  g_assert_cmpstr (cv_goaway_reason_to_string (CV_GOAWAY_REASON_LAST + 1), ==, "unknown");
  g_assert_cmpstr (cv_goaway_reason_to_string (255), ==, "unknown");
  g_assert_cmpstr (cv_goaway_reason_to_string (G_MAXUINT), ==, "unknown");

  g_assert_false (cv_frame_type_is_control_message (0x1f));
  g_assert_true (cv_frame_type_is_control_message (0x20));
  g_assert_true (cv_frame_type_is_control_message (0x3f));
  g_assert_false (cv_frame_type_is_control_message (0x40));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/frame/round-trip/settings", test_round_trip_settings);
  g_test_add_func ("/frame/round-trip/open", test_round_trip_open);
  g_test_add_func ("/frame/round-trip/open-ok-fin", test_round_trip_open_ok_fin);
  g_test_add_func ("/frame/round-trip/open-fail-reset", test_round_trip_open_fail_reset);
  g_test_add_func ("/frame/round-trip/data", test_round_trip_data);
  g_test_add_func ("/frame/round-trip/window-update", test_round_trip_window_update);
  g_test_add_func ("/frame/round-trip/ping-pong", test_round_trip_ping_pong);
  g_test_add_func ("/frame/round-trip/goaway", test_round_trip_goaway);
  g_test_add_func ("/frame/round-trip/control", test_round_trip_control);
  g_test_add_func ("/frame/stream", test_stream);
  g_test_add_func ("/frame/bytes/header", test_bytes_header);
  g_test_add_func ("/frame/bytes/settings", test_bytes_settings);
  g_test_add_func ("/frame/bytes/worked-example", test_bytes_worked_example);
  g_test_add_func ("/frame/bytes/decode", test_bytes_decode);
  g_test_add_func ("/frame/decode/too-large", test_decode_too_large);
  g_test_add_func ("/frame/decode/unknown-type", test_decode_unknown_type);
  g_test_add_func ("/frame/decode/flags", test_decode_flags);
  g_test_add_func ("/frame/decode/reserved-bit", test_decode_reserved_bit);
  g_test_add_func ("/frame/decode/wrong-channel", test_decode_wrong_channel);
  g_test_add_func ("/frame/decode/payload-size", test_decode_payload_size);
  g_test_add_func ("/frame/decode/open", test_decode_open);
  g_test_add_func ("/frame/decode/settings", test_decode_settings);
  g_test_add_func ("/frame/decode/window-update", test_decode_window_update);
  g_test_add_func ("/frame/decode/messages", test_decode_messages);
  g_test_add_func ("/frame/decode/control", test_decode_control);
  g_test_add_func ("/frame/encode/refuses", test_encode_refuses);
  g_test_add_func ("/frame/encode/truncates-message", test_encode_truncates_message);
  g_test_add_func ("/frame/to-string", test_to_string);

  return g_test_run ();
}
