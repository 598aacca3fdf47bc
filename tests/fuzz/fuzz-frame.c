/* fuzz-frame.c: libFuzzer target for the frame codec.  Whatever the decoder accepts must
 * re-encode to the same bytes and decode again to the same frame, so a disagreement
 * between encoder and decoder is a crash like any memory error. */
#include "wire/cv-frame.h"

#include "fuzz-check.h"

static gboolean
frames_equal (const CvFrame *a, const CvFrame *b)
{
  if (a->type != b->type || a->flags != b->flags || a->channel_id != b->channel_id)
    return FALSE;

  switch (a->type)
    {
    case CV_FRAME_SETTINGS:
      return a->u.settings.version == b->u.settings.version
             && a->u.settings.initial_window == b->u.settings.initial_window
             && a->u.settings.max_payload == b->u.settings.max_payload
             && a->u.settings.max_channels == b->u.settings.max_channels;
    case CV_FRAME_OPEN:
      return a->u.open.port == b->u.open.port
             && fuzz_same_bytes (a->u.open.host, a->u.open.host_len, b->u.open.host,
                                 b->u.open.host_len);
    case CV_FRAME_OPEN_OK:
    case CV_FRAME_FIN:
      return TRUE;
    case CV_FRAME_OPEN_FAIL:
    case CV_FRAME_RESET:
    case CV_FRAME_GOAWAY:
      return a->u.close.reason == b->u.close.reason
             && a->u.close.last_channel_id == b->u.close.last_channel_id
             && fuzz_same_bytes (a->u.close.message, a->u.close.message_len, b->u.close.message,
                                 b->u.close.message_len);
    case CV_FRAME_WINDOW_UPDATE:
      return a->u.window_increment == b->u.window_increment;
    case CV_FRAME_PING:
    case CV_FRAME_PONG:
      return a->u.ping_opaque == b->u.ping_opaque;
    case CV_FRAME_DATA:
    default:
      return fuzz_same_bytes (a->u.data.bytes, a->u.data.len, b->u.data.bytes, b->u.data.len);
    }
}

/* What every accepted frame must satisfy beyond "no memory error". */
static void
check_accepted_frame (const CvFrame *frame, const guint8 *bytes, gsize len, gsize max_payload)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autoptr (GError) error = NULL;
  static const guint8 marker = 0xa5;
  CvFrame again;
  gsize consumed = 0;

  check (len >= CV_FRAME_HEADER_SIZE && len - CV_FRAME_HEADER_SIZE <= max_payload);
  check (frame->flags == 0 && frame->channel_id <= CV_FRAME_MAX_CHANNEL_ID);
  check (strcmp (cv_frame_type_to_string (frame->type), "unknown") != 0);

  /* One byte short is "not yet", whatever the frame. */
  check (cv_frame_decode (bytes, len - 1, max_payload, &again, &consumed, &error)
         == CV_FRAME_DECODE_NEED_MORE);
  check (consumed == 0 && error == NULL);

  /* A frame within the smaller limit is the same frame under the larger one. */
  check (cv_frame_decode (bytes, len, CV_FRAME_MAX_PAYLOAD, &again, &consumed, &error)
         == CV_FRAME_DECODE_OK);
  check (error == NULL && consumed == len && frames_equal (frame, &again));

  /* Re-encode after a byte already in the array: the encoder must append, not overwrite. */
  g_byte_array_append (out, &marker, 1);
  if (!cv_frame_encode (frame, out, &error))
    {
      fprintf (stderr, "fuzz-frame: the encoder refused a frame the decoder accepted: %s\n",
               error->message);
      abort ();
    }
  check (out->data[0] == marker);

  /* The encoding is canonical: the same bytes, except that SETTINGS drops a later
   * version's extra fields and zeroes the reserved ones. */
  if (frame->type == CV_FRAME_SETTINGS)
    check (out->len - 1 == CV_FRAME_HEADER_SIZE + CV_FRAME_SETTINGS_SIZE && len >= out->len - 1);
  else
    check (fuzz_same_bytes (out->data + 1, out->len - 1, bytes, len));

  check (cv_frame_decode (out->data + 1, out->len - 1, max_payload, &again, &consumed, &error)
         == CV_FRAME_DECODE_OK);
  check (error == NULL && consumed == out->len - 1);
  check (frames_equal (frame, &again));
}

/* The first byte picks the receiver's limit; the rest is a stream of frames, decoded
 * until one is incomplete or refused, as a link would. */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  gsize max_payload;

  if (size == 0)
    return 0;
  max_payload = (data[0] & 1) ? CV_FRAME_MAX_PAYLOAD : CV_FRAME_DEFAULT_MAX_PAYLOAD;
  data++;
  size--;

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      CvFrameDecodeResult result;
      CvFrame frame;
      gsize consumed = 1;

      result = cv_frame_decode (data, size, max_payload, &frame, &consumed, &error);
      if (result == CV_FRAME_DECODE_NEED_MORE)
        {
          check (consumed == 0 && error == NULL);
          break;
        }
      if (result == CV_FRAME_DECODE_ERROR)
        {
          check (consumed == 0 && error != NULL);
          check (error->domain == CV_MUX_ERROR && error->code <= CV_GOAWAY_REASON_LAST);
          check (error->message != NULL && error->message[0] != '\0');
          break;
        }

      check (result == CV_FRAME_DECODE_OK && error == NULL);
      check (consumed >= CV_FRAME_HEADER_SIZE && consumed <= size);
      check_accepted_frame (&frame, data, consumed, max_payload);
      data += consumed;
      size -= consumed;
    }

  return 0;
}
