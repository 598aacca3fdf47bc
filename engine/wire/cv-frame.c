/* cv-frame.c: encode and decode Culvert frames (see PROTOCOL.md); no I/O, no allocation
 * except into the caller's output array. */
#include "wire/cv-frame.h"

#include <string.h>

/* clang-format off */
G_DEFINE_QUARK (cv-mux-error-quark, cv_mux_error)
G_DEFINE_QUARK (cv-channel-error-quark, cv_channel_error)
/* clang-format on */

/* One frame type a line. */
/* clang-format off */
static const char *const frame_type_names[] = {
  [CV_FRAME_SETTINGS] = "SETTINGS",
  [CV_FRAME_OPEN] = "OPEN",
  [CV_FRAME_OPEN_OK] = "OPEN_OK",
  [CV_FRAME_OPEN_FAIL] = "OPEN_FAIL",
  [CV_FRAME_DATA] = "DATA",
  [CV_FRAME_FIN] = "FIN",
  [CV_FRAME_RESET] = "RESET",
  [CV_FRAME_WINDOW_UPDATE] = "WINDOW_UPDATE",
  [CV_FRAME_PING] = "PING",
  [CV_FRAME_PONG] = "PONG",
  [CV_FRAME_GOAWAY] = "GOAWAY",
};
/* clang-format on */

static const char *const channel_reason_names[] = {
  [CV_CHANNEL_REASON_CANCELLED] = "cancelled",
  [CV_CHANNEL_REASON_REFUSED] = "refused",
  [CV_CHANNEL_REASON_NOT_ALLOWED] = "not-allowed",
  [CV_CHANNEL_REASON_UNREACHABLE] = "unreachable",
  [CV_CHANNEL_REASON_TIMEOUT] = "timeout",
  [CV_CHANNEL_REASON_TOO_MANY_CHANNELS] = "too-many-channels",
  [CV_CHANNEL_REASON_CONNECTION_RESET] = "connection-reset",
  [CV_CHANNEL_REASON_GOING_AWAY] = "going-away",
  [CV_CHANNEL_REASON_STREAM_CLOSED] = "stream-closed",
  [CV_CHANNEL_REASON_INTERNAL] = "internal",
  [CV_CHANNEL_REASON_CARRIER_CLOSED] = "carrier-closed",
};

static const char *const link_reason_names[] = {
  [CV_GOAWAY_REASON_NORMAL] = "normal",
  [CV_GOAWAY_REASON_PROTOCOL_ERROR] = "protocol-error",
  [CV_GOAWAY_REASON_FRAME_TOO_LARGE] = "frame-too-large",
  [CV_GOAWAY_REASON_FLOW_CONTROL] = "flow-control",
  [CV_GOAWAY_REASON_CHANNEL_ID] = "bad-channel-id",
  [CV_GOAWAY_REASON_VERSION_MISMATCH] = "version-mismatch",
  [CV_GOAWAY_REASON_KEEPALIVE_TIMEOUT] = "keepalive-timeout",
  [CV_GOAWAY_REASON_TOO_MANY_CHANNELS] = "too-many-channels",
  [CV_GOAWAY_REASON_CONTROL_FLOOD] = "control-flood",
  [CV_GOAWAY_REASON_INTERNAL] = "internal",
  [CV_GOAWAY_REASON_SHUTTING_DOWN] = "shutting-down",
  [CV_GOAWAY_REASON_REPLACED] = "replaced",
  [CV_GOAWAY_REASON_CONNECTION_LOST] = "connection-lost",
  [CV_GOAWAY_REASON_CLOSE_TIMEOUT] = "close-timeout",
};

const char *
cv_frame_type_to_string (guint type)
{
  if (type < G_N_ELEMENTS (frame_type_names) && frame_type_names[type] != NULL)
    return frame_type_names[type];
  if (cv_frame_type_is_control_message (type))
    return "CONTROL";
  return "unknown";
}

const char *
cv_channel_reason_to_string (guint reason)
{
  if (reason < G_N_ELEMENTS (channel_reason_names))
    return channel_reason_names[reason];
  return "unknown";
}

const char *
cv_goaway_reason_to_string (guint reason)
{
  if (reason < G_N_ELEMENTS (link_reason_names))
    return link_reason_names[reason];
  return "unknown";
}

gboolean
cv_frame_type_is_control_message (guint type)
{
  return type >= CV_FRAME_CONTROL_FIRST && type <= CV_FRAME_CONTROL_LAST;
}

static inline guint32
read_u32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static inline guint16
read_u16 (const guint8 *p)
{
  return (guint16) ((p[0] << 8) | p[1]);
}

static inline void
write_u32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}

static inline void
write_u16 (guint8 *p, guint16 v)
{
  p[0] = v >> 8;
  p[1] = v;
}

/* Hostnames, IPv4 and IPv6 literals (bracketed or not, with a zone): nothing else,
 * so a target can be logged and compared without escaping. */
static gboolean
host_is_valid (const char *host, gsize len)
{
  if (len == 0 || len > CV_FRAME_MAX_HOST_LEN)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      char c = host[i];
      if (!(g_ascii_isalnum (c) || c == '.' || c == '-' || c == '_' || c == ':' || c == '%'
            || c == '[' || c == ']'))
        return FALSE;
    }
  return TRUE;
}

static gboolean fail (GError **error, CvGoawayReason code, const char *format, ...)
  G_GNUC_PRINTF (3, 4);

static gboolean
fail (GError **error, CvGoawayReason code, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  if (error != NULL)
    *error = g_error_new_valist (CV_MUX_ERROR, code, format, args);
  va_end (args);
  return FALSE;
}

static gboolean
check_channel (const CvFrame *f, gboolean on_link, GError **error)
{
  const char *name = cv_frame_type_to_string (f->type);

  if (on_link && f->channel_id != 0)
    return fail (error, CV_GOAWAY_REASON_PROTOCOL_ERROR, "%s frame on channel %u; it belongs on 0",
                 name, f->channel_id);
  if (!on_link && f->channel_id == 0)
    return fail (error, CV_GOAWAY_REASON_PROTOCOL_ERROR, "%s frame on channel 0", name);
  return TRUE;
}

static gboolean
check_length (const CvFrame *f, gsize len, gsize min, gsize max, GError **error)
{
  if (len < min || len > max)
    {
      const char *name = cv_frame_type_to_string (f->type);
      if (min == max)
        return fail (error, CV_GOAWAY_REASON_PROTOCOL_ERROR,
                     "%s frame with a %" G_GSIZE_FORMAT "-byte payload; expected %" G_GSIZE_FORMAT,
                     name, len, min);
      return fail (error, CV_GOAWAY_REASON_PROTOCOL_ERROR,
                   "%s frame with a %" G_GSIZE_FORMAT "-byte payload; expected %" G_GSIZE_FORMAT
                   " to %" G_GSIZE_FORMAT,
                   name, len, min, max);
    }
  return TRUE;
}

static gboolean
parse_message (CvFrame *f, const guint8 *p, gsize len, GError **error)
{
  if (len > CV_FRAME_MAX_MESSAGE_LEN)
    return fail (error, CV_GOAWAY_REASON_PROTOCOL_ERROR,
                 "%s message of %" G_GSIZE_FORMAT " bytes; at most %d allowed",
                 cv_frame_type_to_string (f->type), len, CV_FRAME_MAX_MESSAGE_LEN);
  if (!g_utf8_validate ((const char *) p, len, NULL))
    return fail (error, CV_GOAWAY_REASON_PROTOCOL_ERROR, "%s message is not valid UTF-8",
                 cv_frame_type_to_string (f->type));
  f->u.close.message = (const char *) p;
  f->u.close.message_len = len;
  return TRUE;
}

static gboolean
parse_payload (CvFrame *f, const guint8 *p, gsize len, GError **error)
{
  switch (f->type)
    {
    case CV_FRAME_SETTINGS:
      if (!check_channel (f, TRUE, error)
          || !check_length (f, len, CV_FRAME_SETTINGS_SIZE, CV_FRAME_MAX_PAYLOAD, error))
        return FALSE;
      if (memcmp (p, CV_FRAME_SETTINGS_MAGIC, 4) != 0)
        return fail (error, CV_GOAWAY_REASON_PROTOCOL_ERROR,
                     "SETTINGS without the Culvert magic: the peer does not speak this protocol");
      f->u.settings.version = read_u16 (p + 4);
      f->u.settings.initial_window = read_u32 (p + 8);
      f->u.settings.max_payload = read_u32 (p + 12);
      f->u.settings.max_channels = read_u32 (p + 16);
      if (f->u.settings.version == 0)
        return fail (error, CV_GOAWAY_REASON_VERSION_MISMATCH, "SETTINGS with protocol version 0");
      if (f->u.settings.initial_window == 0 || f->u.settings.initial_window > CV_FRAME_MAX_WINDOW)
        return fail (error, CV_GOAWAY_REASON_FLOW_CONTROL,
                     "SETTINGS initial window %u out of range", f->u.settings.initial_window);
      if (f->u.settings.max_payload < CV_FRAME_DEFAULT_MAX_PAYLOAD
          || f->u.settings.max_payload > CV_FRAME_MAX_PAYLOAD)
        return fail (error, CV_GOAWAY_REASON_PROTOCOL_ERROR,
                     "SETTINGS maximum payload %u outside %d to %d", f->u.settings.max_payload,
                     CV_FRAME_DEFAULT_MAX_PAYLOAD, CV_FRAME_MAX_PAYLOAD);
      /* Bytes past the known fields are settings of a later version: ignored. */
      return TRUE;

    case CV_FRAME_OPEN:
      if (!check_channel (f, FALSE, error)
          || !check_length (f, len, 4, 3 + CV_FRAME_MAX_HOST_LEN, error))
        return FALSE;
      f->u.open.port = read_u16 (p);
      f->u.open.host_len = p[2];
      f->u.open.host = (const char *) p + 3;
      if (f->u.open.port == 0)
        return fail (error, CV_GOAWAY_REASON_PROTOCOL_ERROR, "OPEN for port 0");
      if (f->u.open.host_len != len - 3)
        return fail (error, CV_GOAWAY_REASON_PROTOCOL_ERROR,
                     "OPEN host length %" G_GSIZE_FORMAT " does not match the payload",
                     f->u.open.host_len);
      if (!host_is_valid (f->u.open.host, f->u.open.host_len))
        return fail (error, CV_GOAWAY_REASON_PROTOCOL_ERROR,
                     "OPEN host has characters no host name or address has");
      return TRUE;

    case CV_FRAME_OPEN_OK:
    case CV_FRAME_FIN:
      return check_channel (f, FALSE, error) && check_length (f, len, 0, 0, error);

    case CV_FRAME_OPEN_FAIL:
    case CV_FRAME_RESET:
      if (!check_channel (f, FALSE, error)
          || !check_length (f, len, 1, 1 + CV_FRAME_MAX_MESSAGE_LEN, error))
        return FALSE;
      f->u.close.reason = p[0];
      f->u.close.last_channel_id = 0;
      return parse_message (f, p + 1, len - 1, error);

    case CV_FRAME_GOAWAY:
      if (!check_channel (f, TRUE, error)
          || !check_length (f, len, 5, 5 + CV_FRAME_MAX_MESSAGE_LEN, error))
        return FALSE;
      f->u.close.reason = p[0];
      f->u.close.last_channel_id = read_u32 (p + 1);
      if (f->u.close.last_channel_id > CV_FRAME_MAX_CHANNEL_ID)
        return fail (error, CV_GOAWAY_REASON_CHANNEL_ID, "GOAWAY names channel id %u, out of range",
                     f->u.close.last_channel_id);
      return parse_message (f, p + 5, len - 5, error);

    case CV_FRAME_DATA:
      if (!check_channel (f, FALSE, error) || !check_length (f, len, 1, G_MAXSIZE, error))
        return FALSE;
      f->u.data.bytes = p;
      f->u.data.len = len;
      return TRUE;

    case CV_FRAME_WINDOW_UPDATE:
      if (!check_channel (f, FALSE, error) || !check_length (f, len, 4, 4, error))
        return FALSE;
      f->u.window_increment = read_u32 (p);
      if (f->u.window_increment == 0 || f->u.window_increment > CV_FRAME_MAX_WINDOW)
        return fail (error, CV_GOAWAY_REASON_FLOW_CONTROL, "WINDOW_UPDATE by %u, out of range",
                     f->u.window_increment);
      return TRUE;

    case CV_FRAME_PING:
    case CV_FRAME_PONG:
      if (!check_channel (f, TRUE, error)
          || !check_length (f, len, CV_FRAME_PING_SIZE, CV_FRAME_PING_SIZE, error))
        return FALSE;
      f->u.ping_opaque = ((guint64) read_u32 (p) << 32) | read_u32 (p + 4);
      return TRUE;

    default:
      if (!cv_frame_type_is_control_message (f->type))
        return fail (error, CV_GOAWAY_REASON_PROTOCOL_ERROR, "unknown frame type 0x%02x",
                     (guint) f->type);
      if (!check_channel (f, TRUE, error) || !check_length (f, len, 2, G_MAXSIZE, error))
        return FALSE;
      if (p[0] != '{' || !g_utf8_validate ((const char *) p, len, NULL))
        return fail (error, CV_GOAWAY_REASON_PROTOCOL_ERROR,
                     "control message 0x%02x is not a UTF-8 JSON object", (guint) f->type);
      f->u.data.bytes = p;
      f->u.data.len = len;
      return TRUE;
    }
}

/**
 * cv_frame_decode:
 * @buf: received bytes, starting at a frame boundary
 * @max_payload: the largest payload this side accepts (at most %CV_FRAME_MAX_PAYLOAD)
 * @frame: (out): the frame, pointing into @buf
 * @consumed: (out): the frame's size in bytes, when the result is OK
 *
 * A frame whose header announces more than @max_payload is refused as soon as the
 * header is in, without waiting for the payload.
 */
CvFrameDecodeResult
cv_frame_decode (const guint8 *buf,
                 gsize len,
                 gsize max_payload,
                 CvFrame *frame,
                 gsize *consumed,
                 GError **error)
{
  gsize payload_len;
  guint32 raw_channel;

  g_return_val_if_fail (frame != NULL && consumed != NULL, CV_FRAME_DECODE_ERROR);
  g_return_val_if_fail (max_payload <= CV_FRAME_MAX_PAYLOAD, CV_FRAME_DECODE_ERROR);

  *consumed = 0;
  if (len < CV_FRAME_HEADER_SIZE)
    return CV_FRAME_DECODE_NEED_MORE;

  memset (frame, 0, sizeof *frame);
  payload_len = ((gsize) buf[0] << 16) | ((gsize) buf[1] << 8) | buf[2];
  frame->type = buf[3];
  frame->flags = buf[4];
  raw_channel = read_u32 (buf + 5);
  frame->channel_id = raw_channel & CV_FRAME_MAX_CHANNEL_ID;

  if (payload_len > max_payload)
    {
      fail (error, CV_GOAWAY_REASON_FRAME_TOO_LARGE,
            "%s frame of %" G_GSIZE_FORMAT " bytes; at most %" G_GSIZE_FORMAT " allowed",
            cv_frame_type_to_string (frame->type), payload_len, max_payload);
      return CV_FRAME_DECODE_ERROR;
    }
  if (raw_channel != frame->channel_id)
    {
      fail (error, CV_GOAWAY_REASON_PROTOCOL_ERROR, "reserved bit set in the channel id");
      return CV_FRAME_DECODE_ERROR;
    }
  if (frame->flags != 0)
    {
      fail (error, CV_GOAWAY_REASON_PROTOCOL_ERROR, "%s frame with unknown flags 0x%02x",
            cv_frame_type_to_string (frame->type), frame->flags);
      return CV_FRAME_DECODE_ERROR;
    }
  if (len - CV_FRAME_HEADER_SIZE < payload_len)
    return CV_FRAME_DECODE_NEED_MORE;

  if (!parse_payload (frame, buf + CV_FRAME_HEADER_SIZE, payload_len, error))
    return CV_FRAME_DECODE_ERROR;

  *consumed = CV_FRAME_HEADER_SIZE + payload_len;
  return CV_FRAME_DECODE_OK;
}

void
cv_frame_write_header (guint8 *dest,
                       gsize payload_len,
                       CvFrameType type,
                       guint8 flags,
                       guint32 channel_id)
{
  g_assert (payload_len <= CV_FRAME_MAX_PAYLOAD);
  g_assert (channel_id <= CV_FRAME_MAX_CHANNEL_ID);
  dest[0] = payload_len >> 16;
  dest[1] = payload_len >> 8;
  dest[2] = payload_len;
  dest[3] = type;
  dest[4] = flags;
  write_u32 (dest + 5, channel_id);
}

static guint8 *
append_frame (GByteArray *out, const CvFrame *f, gsize payload_len)
{
  guint start = out->len;

  g_byte_array_set_size (out, out->len + CV_FRAME_HEADER_SIZE + payload_len);
  cv_frame_write_header (out->data + start, payload_len, f->type, f->flags, f->channel_id);
  return out->data + start + CV_FRAME_HEADER_SIZE;
}

/**
 * cv_frame_encode:
 * @frame: the frame to append; its fields are checked by the rules the decoder applies
 * @out: the array to append to
 *
 * Returns: %FALSE, with @error set and @out untouched, if the frame is not valid.
 */
gboolean
cv_frame_encode (const CvFrame *frame, GByteArray *out, GError **error)
{
  g_autoptr (GByteArray) scratch = g_byte_array_sized_new (CV_FRAME_HEADER_SIZE + 64);
  guint8 *p;
  CvFrame check;
  gsize consumed;

  g_return_val_if_fail (frame != NULL && out != NULL, FALSE);

  /* Refused before the header is written: cv_frame_write_header() asserts on the
   * channel id, and a type past one byte would wrap around to another type. */
  if ((guint) frame->type > 0xff)
    return fail (error, CV_GOAWAY_REASON_PROTOCOL_ERROR, "unknown frame type 0x%x",
                 (guint) frame->type);
  if (frame->channel_id > CV_FRAME_MAX_CHANNEL_ID)
    return fail (error, CV_GOAWAY_REASON_PROTOCOL_ERROR, "reserved bit set in the channel id");

  switch (frame->type)
    {
    case CV_FRAME_SETTINGS:
      p = append_frame (scratch, frame, CV_FRAME_SETTINGS_SIZE);
      memcpy (p, CV_FRAME_SETTINGS_MAGIC, 4);
      write_u16 (p + 4, frame->u.settings.version);
      write_u16 (p + 6, 0);
      write_u32 (p + 8, frame->u.settings.initial_window);
      write_u32 (p + 12, frame->u.settings.max_payload);
      write_u32 (p + 16, frame->u.settings.max_channels);
      break;
    case CV_FRAME_OPEN:
      if (frame->u.open.host_len > CV_FRAME_MAX_HOST_LEN)
        return fail (error, CV_GOAWAY_REASON_PROTOCOL_ERROR, "target host longer than %d bytes",
                     CV_FRAME_MAX_HOST_LEN);
      p = append_frame (scratch, frame, 3 + frame->u.open.host_len);
      write_u16 (p, frame->u.open.port);
      p[2] = frame->u.open.host_len;
      memcpy (p + 3, frame->u.open.host, frame->u.open.host_len);
      break;
    case CV_FRAME_OPEN_OK:
    case CV_FRAME_FIN:
      append_frame (scratch, frame, 0);
      break;
    case CV_FRAME_OPEN_FAIL:
    case CV_FRAME_RESET:
    case CV_FRAME_GOAWAY:
      {
        gsize head = frame->type == CV_FRAME_GOAWAY ? 5 : 1;
        gsize msg_len = MIN (frame->u.close.message_len, CV_FRAME_MAX_MESSAGE_LEN);

        /* A long message is cut at the limit, on a character boundary.  A long invalid
         * one is refused here, not cut down to a valid start; a short one is left to
         * the decoder's check below. */
        if (msg_len < frame->u.close.message_len)
          {
            if (!g_utf8_validate_len (frame->u.close.message, frame->u.close.message_len, NULL))
              return fail (error, CV_GOAWAY_REASON_PROTOCOL_ERROR, "%s message is not valid UTF-8",
                           cv_frame_type_to_string (frame->type));
            while ((frame->u.close.message[msg_len] & 0xc0) == 0x80)
              msg_len--;
          }

        p = append_frame (scratch, frame, head + msg_len);
        p[0] = frame->u.close.reason;
        if (frame->type == CV_FRAME_GOAWAY)
          write_u32 (p + 1, frame->u.close.last_channel_id);
        if (msg_len > 0)
          memcpy (p + head, frame->u.close.message, msg_len);
        break;
      }
    case CV_FRAME_WINDOW_UPDATE:
      p = append_frame (scratch, frame, 4);
      write_u32 (p, frame->u.window_increment);
      break;
    case CV_FRAME_PING:
    case CV_FRAME_PONG:
      p = append_frame (scratch, frame, CV_FRAME_PING_SIZE);
      write_u32 (p, frame->u.ping_opaque >> 32);
      write_u32 (p + 4, (guint32) frame->u.ping_opaque);
      break;
    case CV_FRAME_DATA:
    default:
      if (frame->u.data.len > CV_FRAME_MAX_PAYLOAD)
        return fail (error, CV_GOAWAY_REASON_FRAME_TOO_LARGE,
                     "%s payload of %" G_GSIZE_FORMAT " bytes; at most %d allowed",
                     cv_frame_type_to_string (frame->type), frame->u.data.len,
                     CV_FRAME_MAX_PAYLOAD);
      p = append_frame (scratch, frame, frame->u.data.len);
      if (frame->u.data.len > 0)
        memcpy (p, frame->u.data.bytes, frame->u.data.len);
      break;
    }

  /* One set of rules: what we send must be what we would accept. */
  if (cv_frame_decode (scratch->data, scratch->len, CV_FRAME_MAX_PAYLOAD, &check, &consumed, error)
      != CV_FRAME_DECODE_OK)
    return FALSE;

  g_byte_array_append (out, scratch->data, scratch->len);
  return TRUE;
}
