/* cv-frame.h: Culvert's wire format — pure encode/decode of frames, no I/O.
 *
 * engine/PROTOCOL.md is the specification; this file is its implementation.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CV_PROTOCOL_VERSION 1

/* Header: length (u24) · type (u8) · flags (u8) · channel id (u32), big-endian. */
#define CV_FRAME_HEADER_SIZE 9

/* Every peer accepts payloads up to the default; SETTINGS may raise it to the maximum. */
#define CV_FRAME_DEFAULT_MAX_PAYLOAD 16384
#define CV_FRAME_MAX_PAYLOAD 65536

#define CV_FRAME_MAX_CHANNEL_ID 0x7fffffffu
#define CV_FRAME_MAX_WINDOW 0x7fffffffu
#define CV_FRAME_MAX_HOST_LEN 255
#define CV_FRAME_MAX_MESSAGE_LEN 512
#define CV_FRAME_SETTINGS_MAGIC "CULV"
#define CV_FRAME_SETTINGS_SIZE 20
#define CV_FRAME_PING_SIZE 8

typedef enum {
  CV_FRAME_SETTINGS = 0x01,
  CV_FRAME_OPEN = 0x02,
  CV_FRAME_OPEN_OK = 0x03,
  CV_FRAME_OPEN_FAIL = 0x04,
  CV_FRAME_DATA = 0x05,
  CV_FRAME_FIN = 0x06,
  CV_FRAME_RESET = 0x07,
  CV_FRAME_WINDOW_UPDATE = 0x08,
  CV_FRAME_PING = 0x09,
  CV_FRAME_PONG = 0x0a,
  CV_FRAME_GOAWAY = 0x0b,
  /* 0x20–0x3f: control messages on channel 0 with a JSON object as payload
   * (HELLO, WELCOME, session codes…); their meaning belongs to the layers above. */
  CV_FRAME_CONTROL_FIRST = 0x20,
  CV_FRAME_CONTROL_LAST = 0x3f,
} CvFrameType;

/* Why a channel could not be opened (OPEN_FAIL) or was aborted (RESET). */
typedef enum {
  CV_CHANNEL_REASON_CANCELLED = 0,
  CV_CHANNEL_REASON_REFUSED = 1,
  CV_CHANNEL_REASON_NOT_ALLOWED = 2,
  CV_CHANNEL_REASON_UNREACHABLE = 3,
  CV_CHANNEL_REASON_TIMEOUT = 4,
  CV_CHANNEL_REASON_TOO_MANY_CHANNELS = 5,
  CV_CHANNEL_REASON_CONNECTION_RESET = 6,
  CV_CHANNEL_REASON_GOING_AWAY = 7,
  CV_CHANNEL_REASON_STREAM_CLOSED = 8,
  CV_CHANNEL_REASON_INTERNAL = 9,
  CV_CHANNEL_REASON_CARRIER_CLOSED = 10,
  CV_CHANNEL_REASON_LAST = CV_CHANNEL_REASON_CARRIER_CLOSED,
} CvChannelReason;

/* Why a link ends (GOAWAY); also the codes of CV_MUX_ERROR. */
typedef enum {
  CV_GOAWAY_REASON_NORMAL = 0,
  CV_GOAWAY_REASON_PROTOCOL_ERROR = 1,
  CV_GOAWAY_REASON_FRAME_TOO_LARGE = 2,
  CV_GOAWAY_REASON_FLOW_CONTROL = 3,
  CV_GOAWAY_REASON_CHANNEL_ID = 4,
  CV_GOAWAY_REASON_VERSION_MISMATCH = 5,
  CV_GOAWAY_REASON_KEEPALIVE_TIMEOUT = 6,
  CV_GOAWAY_REASON_TOO_MANY_CHANNELS = 7,
  CV_GOAWAY_REASON_CONTROL_FLOOD = 8,
  CV_GOAWAY_REASON_INTERNAL = 9,
  CV_GOAWAY_REASON_SHUTTING_DOWN = 10,
  CV_GOAWAY_REASON_REPLACED = 11,
  CV_GOAWAY_REASON_CONNECTION_LOST = 12,
  CV_GOAWAY_REASON_CLOSE_TIMEOUT = 13, /* local only: a GOAWAY's close took too long */
  CV_GOAWAY_REASON_LAST = CV_GOAWAY_REASON_CLOSE_TIMEOUT,
} CvGoawayReason;

#define CV_MUX_ERROR (cv_mux_error_quark ())
GQuark cv_mux_error_quark (void);

#define CV_CHANNEL_ERROR (cv_channel_error_quark ())
GQuark cv_channel_error_quark (void);

typedef struct {
  guint16 version;
  guint32 initial_window;
  guint32 max_payload;
  guint32 max_channels;
} CvFrameSettings;

/* A decoded frame.  Pointers point into the buffer given to cv_frame_decode() and
 * live as long as it does; strings are not NUL-terminated. */
typedef struct {
  CvFrameType type;
  guint8 flags;
  guint32 channel_id;
  union {
    CvFrameSettings settings;
    struct {
      const char *host;
      gsize host_len;
      guint16 port;
    } open;
    struct {
      const guint8 *bytes;
      gsize len;
    } data; /* DATA and control messages (JSON) */
    struct {
      guint8 reason;
      guint32 last_channel_id; /* GOAWAY only */
      const char *message;
      gsize message_len;
    } close; /* OPEN_FAIL, RESET, GOAWAY */
    guint32 window_increment;
    guint64 ping_opaque; /* PING, PONG */
  } u;
} CvFrame;

typedef enum {
  CV_FRAME_DECODE_OK,
  CV_FRAME_DECODE_NEED_MORE,
  CV_FRAME_DECODE_ERROR,
} CvFrameDecodeResult;

CvFrameDecodeResult cv_frame_decode (const guint8 *buf,
                                     gsize len,
                                     gsize max_payload,
                                     CvFrame *frame,
                                     gsize *consumed,
                                     GError **error);

gboolean cv_frame_encode (const CvFrame *frame, GByteArray *out, GError **error);

/* The hot path: a DATA header written in place, with no validation beyond asserts. */
void cv_frame_write_header (guint8 *dest,
                            gsize payload_len,
                            CvFrameType type,
                            guint8 flags,
                            guint32 channel_id);

gboolean cv_frame_type_is_control_message (guint type);
const char *cv_frame_type_to_string (guint type);
const char *cv_channel_reason_to_string (guint reason);
const char *cv_goaway_reason_to_string (guint reason);

G_END_DECLS
