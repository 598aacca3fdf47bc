/* fuzz-ws-frame.c: libFuzzer target for the RFC 6455 codec (wire/cv-ws-frame).  A
 * stream of frames is taken apart as the bridge takes it apart; whatever the parser
 * accepts must be written back to the same header bytes by the encoder, masking must
 * agree in pieces and whole, and a close payload accepted must build back to itself, so
 * that a disagreement is a crash like any memory error. */
#include "wire/cv-ws-frame.h"

#include "fuzz-check.h"

static const guint64 limits[] = { 125, 1000, 65536, 1024 * 1024 };

static void
check_error (const GError *error)
{
  check (error != NULL && error->domain == CV_WS_ERROR);
  check (error->code == CV_WS_CLOSE_PROTOCOL_ERROR || error->code == CV_WS_CLOSE_TOO_BIG);
  check (error->message != NULL && error->message[0] != '\0');
  check (fuzz_is_one_line_of_text (error->message));
}

/* The header at @bytes was accepted: it is canonical, and needs every one of its bytes. */
static void
check_header (const CvWsFrameHeader *header,
              const guint8 *bytes,
              gboolean from_client,
              guint64 max_message)
{
  guint8 written[CV_WS_MAX_HEADER_SIZE];
  CvWsFrameHeader again;
  guint len;

  check (header->header_len >= 2 && header->header_len <= CV_WS_MAX_HEADER_SIZE);
  check (header->masked == from_client);
  check ((header->payload_len >> 63) == 0);
  if (header->opcode & 0x8)
    check (header->fin && header->payload_len <= CV_WS_MAX_CONTROL_PAYLOAD);
  else
    check (header->payload_len <= max_message);
  check (cv_ws_frame_header_size (header->payload_len, header->masked) == header->header_len);

  len = cv_ws_frame_write_header (written, header->fin, header->opcode, header->payload_len,
                                  header->masked ? header->mask : NULL);
  check (fuzz_same_bytes (written, len, bytes, header->header_len));

  check (
    cv_ws_frame_parse_header (bytes, header->header_len - 1, from_client, max_message, &again, NULL)
    == CV_WS_FRAME_NEED_MORE);
}

/* Unmasking in two pieces at @split is unmasking in one go, and masking undoes it. */
static void
check_mask (const CvWsFrameHeader *header, const guint8 *payload, gsize len, gsize split)
{
  g_autofree guint8 *whole = NULL;
  g_autofree guint8 *pieces = NULL;

  if (len == 0)
    return;
  whole = g_memdup2 (payload, len);
  pieces = g_memdup2 (payload, len);
  split %= len + 1;
  cv_ws_mask (whole, len, header->mask, 0);
  cv_ws_mask (pieces, split, header->mask, 0);
  cv_ws_mask (pieces + split, len - split, header->mask, split);
  check (fuzz_same_bytes (whole, len, pieces, len));
  cv_ws_mask (whole, len, header->mask, 0);
  check (fuzz_same_bytes (whole, len, payload, len));
}

static void
check_close (const guint8 *payload, gsize len)
{
  g_autoptr (GError) error = NULL;
  const char *reason;
  gsize reason_len;
  guint16 code;

  if (!cv_ws_close_parse (payload, len, &code, &reason, &reason_len, &error))
    {
      check_error (error);
      check (error->code == CV_WS_CLOSE_PROTOCOL_ERROR);
      return;
    }
  check (len == 0 ? code == CV_WS_CLOSE_NO_STATUS : cv_ws_close_code_is_valid (code));
  check (reason_len <= CV_WS_MAX_CLOSE_REASON);

  /* The reason was validated: no NUL, so it survives as a C string. */
  {
    g_autofree char *text = g_strndup (reason != NULL ? reason : "", reason_len);
    guint8 built[CV_WS_MAX_CONTROL_PAYLOAD];
    gsize built_len = cv_ws_close_build (built, code, text);

    check (strlen (text) == reason_len);
    check (fuzz_same_bytes (built, built_len, payload, len));
  }
}

/* The first byte picks the receiver: bit 0, a server (frames from a client must be
 * masked) or a client; bits 1–2, its message limit; bits 3–7 where masking splits.  The
 * rest is a stream of frames, taken apart until one is incomplete or refused. */
int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  CvWsMessageState state = { 0 };
  gboolean from_client;
  guint64 max_message;
  gsize split;

  if (size == 0)
    return 0;
  from_client = data[0] & 1;
  max_message = limits[(data[0] >> 1) & 3];
  split = data[0] >> 3;
  data++;
  size--;

  for (;;)
    {
      g_autoptr (GError) error = NULL;
      CvWsFrameHeader header;
      CvWsFrameParseResult result;
      guint8 message_opcode;
      const guint8 *payload;
      gsize available;

      result = cv_ws_frame_parse_header (data, size, from_client, max_message, &header, &error);
      if (result == CV_WS_FRAME_NEED_MORE)
        {
          check (error == NULL);
          break;
        }
      if (result == CV_WS_FRAME_ERROR)
        {
          check_error (error);
          /* Decided by the bytes seen: one byte less is not yet, or the same error. */
          if (size > 0)
            {
              g_autoptr (GError) shorter = NULL;
              CvWsFrameParseResult again = cv_ws_frame_parse_header (data, size - 1, from_client,
                                                                     max_message, &header,
                                                                     &shorter);

              check (again == CV_WS_FRAME_NEED_MORE
                     || (again == CV_WS_FRAME_ERROR && shorter->code == error->code));
            }
          break;
        }

      check (result == CV_WS_FRAME_PARSED && error == NULL && header.header_len <= size);
      check_header (&header, data, from_client, max_message);

      if (!cv_ws_message_state_add_frame (&state, &header, max_message, &message_opcode, &error))
        {
          check_error (error);
          break;
        }
      check (state.len <= max_message);
      if (header.opcode & 0x8)
        check (message_opcode == header.opcode);
      else
        check (message_opcode == CV_WS_OPCODE_TEXT || message_opcode == CV_WS_OPCODE_BINARY);

      payload = data + header.header_len;
      available = MIN (header.payload_len, size - header.header_len);
      check_mask (&header, payload, available, split);
      if (available < header.payload_len)
        break;

      if (header.opcode == CV_WS_OPCODE_CLOSE)
        {
          g_autofree guint8 *unmasked = g_memdup2 (payload, available);

          cv_ws_mask (unmasked, available, header.mask, 0);
          check_close (unmasked, available);
        }
      data += header.header_len + available;
      size -= header.header_len + available;
    }

  return 0;
}
