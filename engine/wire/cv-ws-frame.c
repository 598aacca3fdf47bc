/* cv-ws-frame.c: RFC 6455 frame headers, masking and close payloads; no I/O, no
 * allocation except an error. */
#include "wire/cv-ws-frame.h"

#include <string.h>

/* clang-format off */
G_DEFINE_QUARK (cv-ws-error-quark, cv_ws_error)
/* clang-format on */

static gboolean fail (GError **error, CvWsCloseCode code, const char *format, ...)
  G_GNUC_PRINTF (3, 4);

static gboolean
fail (GError **error, CvWsCloseCode code, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  if (error != NULL)
    *error = g_error_new_valist (CV_WS_ERROR, code, format, args);
  va_end (args);
  return FALSE;
}

static gboolean
opcode_is_known (guint opcode)
{
  switch (opcode)
    {
    case CV_WS_OPCODE_CONTINUATION:
    case CV_WS_OPCODE_TEXT:
    case CV_WS_OPCODE_BINARY:
    case CV_WS_OPCODE_CLOSE:
    case CV_WS_OPCODE_PING:
    case CV_WS_OPCODE_PONG:
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
opcode_is_control (guint opcode)
{
  return (opcode & 0x8) != 0;
}

/**
 * cv_ws_frame_parse_header:
 *
 * RFC 6455 §5.2.  No extension is ever negotiated, so a reserved bit is an error; the
 * length must be in its minimal encoding (§5.2: "the minimal number of bytes MUST be
 * used") and a 64-bit one must leave the top bit clear.
 */
CvWsFrameParseResult
cv_ws_frame_parse_header (const guint8 *buf,
                          gsize len,
                          gboolean from_client,
                          guint64 max_payload,
                          CvWsFrameHeader *header,
                          GError **error)
{
  guint opcode, len7, ext_len;
  guint64 payload_len;
  gboolean fin, masked;
  gsize at;

  if (len < 1)
    return CV_WS_FRAME_NEED_MORE;

  fin = (buf[0] & 0x80) != 0;
  opcode = buf[0] & 0x0f;
  if ((buf[0] & 0x70) != 0)
    {
      fail (error, CV_WS_CLOSE_PROTOCOL_ERROR, "reserved bits 0x%02x set without an extension",
            buf[0] & 0x70);
      return CV_WS_FRAME_ERROR;
    }
  if (!opcode_is_known (opcode))
    {
      fail (error, CV_WS_CLOSE_PROTOCOL_ERROR, "unknown opcode 0x%x", opcode);
      return CV_WS_FRAME_ERROR;
    }
  if (opcode_is_control (opcode) && !fin)
    {
      fail (error, CV_WS_CLOSE_PROTOCOL_ERROR, "fragmented control frame (opcode 0x%x)", opcode);
      return CV_WS_FRAME_ERROR;
    }

  if (len < 2)
    return CV_WS_FRAME_NEED_MORE;

  masked = (buf[1] & 0x80) != 0;
  if (masked != from_client)
    {
      fail (error, CV_WS_CLOSE_PROTOCOL_ERROR,
            from_client ? "unmasked frame from a client" : "masked frame from a server");
      return CV_WS_FRAME_ERROR;
    }

  len7 = buf[1] & 0x7f;
  ext_len = len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
  if (opcode_is_control (opcode) && len7 > CV_WS_MAX_CONTROL_PAYLOAD)
    {
      fail (error, CV_WS_CLOSE_PROTOCOL_ERROR,
            "control frame (opcode 0x%x) with more than %u bytes of payload", opcode,
            CV_WS_MAX_CONTROL_PAYLOAD);
      return CV_WS_FRAME_ERROR;
    }
  if (len < 2 + ext_len)
    return CV_WS_FRAME_NEED_MORE;

  payload_len = len7;
  if (ext_len == 2)
    {
      payload_len = ((guint64) buf[2] << 8) | buf[3];
      if (payload_len < 126)
        {
          fail (error, CV_WS_CLOSE_PROTOCOL_ERROR,
                "length %" G_GUINT64_FORMAT " not in its minimal encoding", payload_len);
          return CV_WS_FRAME_ERROR;
        }
    }
  else if (ext_len == 8)
    {
      payload_len = 0;
      for (guint i = 0; i < 8; i++)
        payload_len = (payload_len << 8) | buf[2 + i];
      if ((payload_len >> 63) != 0)
        {
          fail (error, CV_WS_CLOSE_PROTOCOL_ERROR, "64-bit length with the top bit set");
          return CV_WS_FRAME_ERROR;
        }
      if (payload_len <= 0xffff)
        {
          fail (error, CV_WS_CLOSE_PROTOCOL_ERROR,
                "length %" G_GUINT64_FORMAT " not in its minimal encoding", payload_len);
          return CV_WS_FRAME_ERROR;
        }
    }
  if (!opcode_is_control (opcode) && payload_len > max_payload)
    {
      fail (error, CV_WS_CLOSE_TOO_BIG,
            "frame of %" G_GUINT64_FORMAT " bytes, more than the %" G_GUINT64_FORMAT " allowed",
            payload_len, max_payload);
      return CV_WS_FRAME_ERROR;
    }

  at = 2 + ext_len;
  if (len < at + (masked ? CV_WS_MASK_SIZE : 0))
    return CV_WS_FRAME_NEED_MORE;

  header->fin = fin;
  header->opcode = opcode;
  header->masked = masked;
  header->payload_len = payload_len;
  if (masked)
    {
      memcpy (header->mask, buf + at, CV_WS_MASK_SIZE);
      at += CV_WS_MASK_SIZE;
    }
  else
    memset (header->mask, 0, CV_WS_MASK_SIZE);
  header->header_len = at;
  return CV_WS_FRAME_PARSED;
}

guint
cv_ws_frame_header_size (guint64 payload_len, gboolean masked)
{
  guint size = payload_len < 126 ? 2 : payload_len <= 0xffff ? 4 : 10;

  return size + (masked ? CV_WS_MASK_SIZE : 0);
}

guint
cv_ws_frame_write_header (guint8 *dest,
                          gboolean fin,
                          guint8 opcode,
                          guint64 payload_len,
                          const guint8 *mask)
{
  guint at;

  g_return_val_if_fail ((payload_len >> 63) == 0, 0);
  g_return_val_if_fail (opcode_is_known (opcode), 0);

  dest[0] = (fin ? 0x80 : 0) | opcode;
  if (payload_len < 126)
    {
      dest[1] = payload_len;
      at = 2;
    }
  else if (payload_len <= 0xffff)
    {
      dest[1] = 126;
      dest[2] = payload_len >> 8;
      dest[3] = payload_len;
      at = 4;
    }
  else
    {
      dest[1] = 127;
      for (guint i = 0; i < 8; i++)
        dest[2 + i] = payload_len >> (56 - 8 * i);
      at = 10;
    }
  if (mask != NULL)
    {
      dest[1] |= 0x80;
      memcpy (dest + at, mask, CV_WS_MASK_SIZE);
      at += CV_WS_MASK_SIZE;
    }
  return at;
}

/**
 * cv_ws_mask:
 *
 * Byte by byte up to an 8-byte boundary, then 32 bytes an iteration as four 64-bit XORs
 * (memcpy is how C says "unaligned load" without undefined behaviour; compilers emit
 * plain or vector loads for it), then the tail.  The key is rotated so that byte i of
 * @data is XORed with mask[(offset + i) % 4].
 */
void
cv_ws_mask (guint8 *data, gsize len, const guint8 mask[CV_WS_MASK_SIZE], guint64 offset)
{
  guint8 key[CV_WS_MASK_SIZE];
  gsize i = 0;

  for (guint j = 0; j < CV_WS_MASK_SIZE; j++)
    key[j] = mask[(offset + j) & 3];

  while (i < len && ((guintptr) (data + i) & 7) != 0)
    {
      data[i] ^= key[i & 3];
      i++;
    }

  if (len - i >= 8)
    {
      guint8 key8[8];
      guint64 k;

      /* 8 is a multiple of 4: every word starts at the same phase of the key. */
      for (guint j = 0; j < 8; j++)
        key8[j] = key[(i + j) & 3];
      memcpy (&k, key8, 8);

      for (; i + 32 <= len; i += 32)
        {
          guint64 w[4];

          memcpy (w, data + i, 32);
          w[0] ^= k;
          w[1] ^= k;
          w[2] ^= k;
          w[3] ^= k;
          memcpy (data + i, w, 32);
        }
      for (; i + 8 <= len; i += 8)
        {
          guint64 w;

          memcpy (&w, data + i, 8);
          w ^= k;
          memcpy (data + i, &w, 8);
        }
    }

  for (; i < len; i++)
    data[i] ^= key[i & 3];
}

gboolean
cv_ws_close_code_is_valid (guint code)
{
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011)
         || (code >= 3000 && code <= 4999);
}

gboolean
cv_ws_close_parse (const guint8 *payload,
                   gsize len,
                   guint16 *code,
                   const char **reason,
                   gsize *reason_len,
                   GError **error)
{
  guint value;

  *code = CV_WS_CLOSE_NO_STATUS;
  *reason = NULL;
  *reason_len = 0;
  if (len == 0)
    return TRUE;
  if (len == 1)
    return fail (error, CV_WS_CLOSE_PROTOCOL_ERROR, "close payload of 1 byte");
  if (len > CV_WS_MAX_CONTROL_PAYLOAD)
    return fail (error, CV_WS_CLOSE_PROTOCOL_ERROR, "close payload of %" G_GSIZE_FORMAT " bytes",
                 len);

  value = (payload[0] << 8) | payload[1];
  if (!cv_ws_close_code_is_valid (value))
    return fail (error, CV_WS_CLOSE_PROTOCOL_ERROR, "invalid close code %u", value);
  if (!g_utf8_validate ((const char *) payload + 2, len - 2, NULL))
    return fail (error, CV_WS_CLOSE_PROTOCOL_ERROR, "close reason not valid UTF-8");

  *code = value;
  *reason = (const char *) payload + 2;
  *reason_len = len - 2;
  return TRUE;
}

gsize
cv_ws_close_build (guint8 *dest, guint16 code, const char *reason)
{
  gsize reason_len = 0;

  if (code == CV_WS_CLOSE_NO_STATUS)
    return 0;
  g_return_val_if_fail (cv_ws_close_code_is_valid (code), 0);

  dest[0] = code >> 8;
  dest[1] = code;
  if (reason != NULL && g_utf8_validate (reason, -1, NULL))
    {
      const char *end = reason;

      /* Whole characters only, so the reason stays valid UTF-8 when cut. */
      while (*end != '\0')
        {
          const char *next = g_utf8_next_char (end);

          if ((gsize) (next - reason) > CV_WS_MAX_CLOSE_REASON)
            break;
          end = next;
        }
      reason_len = end - reason;
      memcpy (dest + 2, reason, reason_len);
    }
  return 2 + reason_len;
}

gboolean
cv_ws_message_state_add_frame (CvWsMessageState *state,
                               const CvWsFrameHeader *header,
                               guint64 max_message,
                               guint8 *message_opcode,
                               GError **error)
{
  if (opcode_is_control (header->opcode))
    {
      *message_opcode = header->opcode;
      return TRUE;
    }

  if (header->opcode == CV_WS_OPCODE_CONTINUATION)
    {
      if (state->opcode == 0)
        return fail (error, CV_WS_CLOSE_PROTOCOL_ERROR,
                     "continuation frame without a message to continue");
    }
  else
    {
      if (state->opcode != 0)
        return fail (error, CV_WS_CLOSE_PROTOCOL_ERROR,
                     "new message (opcode 0x%x) inside a fragmented one", header->opcode);
      state->opcode = header->opcode;
      state->len = 0;
    }

  /* state->len <= max_message holds between frames: the subtraction cannot wrap. */
  if (header->payload_len > max_message - state->len)
    return fail (error, CV_WS_CLOSE_TOO_BIG,
                 "message of more than %" G_GUINT64_FORMAT " bytes allowed", max_message);
  state->len += header->payload_len;

  *message_opcode = state->opcode;
  if (header->fin)
    {
      state->opcode = 0;
      state->len = 0;
    }
  return TRUE;
}
