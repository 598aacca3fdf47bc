/* cv-ws-frame.h: RFC 6455 (WebSocket) framing as pure encode/decode on byte buffers, no
 * I/O: frame headers, masking, close payloads, and the fragmentation rules a stream of
 * frames must keep.  transport/cv-ws-bridge.c moves the bytes. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* 2 bytes, up to 8 of extended length, 4 of mask. */
#define CV_WS_MAX_HEADER_SIZE 14
#define CV_WS_MASK_SIZE 4
#define CV_WS_MAX_CONTROL_PAYLOAD 125
/* A close payload is a 2-byte code and a reason: 123 bytes of UTF-8 at most. */
#define CV_WS_MAX_CLOSE_REASON (CV_WS_MAX_CONTROL_PAYLOAD - 2)

typedef enum {
  CV_WS_OPCODE_CONTINUATION = 0x0,
  CV_WS_OPCODE_TEXT = 0x1,
  CV_WS_OPCODE_BINARY = 0x2,
  CV_WS_OPCODE_CLOSE = 0x8,
  CV_WS_OPCODE_PING = 0x9,
  CV_WS_OPCODE_PONG = 0xa,
} CvWsOpcode;

/* RFC 6455 §7.4.1.  1005, 1006 and 1015 are for reporting only: never on the wire. */
typedef enum {
  CV_WS_CLOSE_NORMAL = 1000,
  CV_WS_CLOSE_GOING_AWAY = 1001,
  CV_WS_CLOSE_PROTOCOL_ERROR = 1002,
  CV_WS_CLOSE_UNSUPPORTED_DATA = 1003,
  CV_WS_CLOSE_NO_STATUS = 1005,
  CV_WS_CLOSE_ABNORMAL = 1006,
  CV_WS_CLOSE_BAD_DATA = 1007,
  CV_WS_CLOSE_POLICY_VIOLATION = 1008,
  CV_WS_CLOSE_TOO_BIG = 1009,
  CV_WS_CLOSE_MISSING_EXTENSION = 1010,
  CV_WS_CLOSE_SERVER_ERROR = 1011,
  CV_WS_CLOSE_TLS_HANDSHAKE = 1015,
} CvWsCloseCode;

/* Errors of this file: the code is the close code the receiver answers with
 * (CV_WS_CLOSE_PROTOCOL_ERROR, CV_WS_CLOSE_TOO_BIG). */
#define CV_WS_ERROR (cv_ws_error_quark ())
GQuark cv_ws_error_quark (void);

typedef struct {
  gboolean fin;
  guint8 opcode; /* CvWsOpcode */
  gboolean masked;
  guint8 mask[CV_WS_MASK_SIZE];
  guint64 payload_len;
  guint header_len; /* bytes before the payload, 2 to 14 */
} CvWsFrameHeader;

typedef enum {
  CV_WS_FRAME_NEED_MORE,
  CV_WS_FRAME_PARSED,
  CV_WS_FRAME_ERROR,
} CvWsFrameParseResult;

/* Parses the header at @buf.  @from_client: the frame comes from a client, so it must be
 * masked (a server's view); FALSE: it must not be.  A data frame's payload above
 * @max_payload is CV_WS_CLOSE_TOO_BIG.  Errors are reported as soon as the bytes that
 * show them are there, so a bad first byte fails without waiting for the rest. */
CvWsFrameParseResult cv_ws_frame_parse_header (const guint8 *buf,
                                               gsize len,
                                               gboolean from_client,
                                               guint64 max_payload,
                                               CvWsFrameHeader *header,
                                               GError **error);

/* The header's size for a payload of @payload_len: the minimal length encoding. */
guint cv_ws_frame_header_size (guint64 payload_len, gboolean masked);

/* Writes a header (minimal length encoding) into @dest, which has room for
 * CV_WS_MAX_HEADER_SIZE bytes; @mask NULL: unmasked.  Returns its size. */
guint cv_ws_frame_write_header (guint8 *dest,
                                gboolean fin,
                                guint8 opcode,
                                guint64 payload_len,
                                const guint8 *mask);

/* XORs @data with @mask as bytes @offset… of a payload, so that a payload can be
 * (un)masked in pieces; word-wise, any alignment. */
void cv_ws_mask (guint8 *data, gsize len, const guint8 mask[CV_WS_MASK_SIZE], guint64 offset);

/* Which close codes may be sent on the wire (RFC 6455 §7.4): 1000–1003, 1007–1011,
 * 3000–4999. */
gboolean cv_ws_close_code_is_valid (guint code);

/* Parses a Close frame's (unmasked) payload: empty (@code CV_WS_CLOSE_NO_STATUS, no
 * reason) or a valid code and a UTF-8 reason, which is not NUL-terminated and points
 * into @payload.  Anything else is CV_WS_CLOSE_PROTOCOL_ERROR. */
gboolean cv_ws_close_parse (const guint8 *payload,
                            gsize len,
                            guint16 *code,
                            const char **reason,
                            gsize *reason_len,
                            GError **error);

/* Writes a Close payload into @dest (room for CV_WS_MAX_CONTROL_PAYLOAD bytes) and
 * returns its length: nothing for CV_WS_CLOSE_NO_STATUS, else @code (valid) and @reason
 * (NULL for none), cut at a character boundary to fit; invalid UTF-8 is left out. */
gsize cv_ws_close_build (guint8 *dest, guint16 code, const char *reason);

/* Where a stream of frames is in its messages (RFC 6455 §5.4): control frames may come
 * between the fragments of one message, data frames may not start another. */
typedef struct {
  guint8 opcode; /* of the message in progress (TEXT or BINARY), 0 between messages */
  guint64 len;   /* its payload so far */
} CvWsMessageState;

/* Accounts for the frame @header in @state.  Sets @message_opcode to the opcode of the
 * message a data frame belongs to (TEXT or BINARY), to the frame's own for a control
 * frame.  Errors: a continuation with no message to continue or a new message inside
 * a fragmented one (CV_WS_CLOSE_PROTOCOL_ERROR), a message above @max_message
 * (CV_WS_CLOSE_TOO_BIG). */
gboolean cv_ws_message_state_add_frame (CvWsMessageState *state,
                                        const CvWsFrameHeader *header,
                                        guint64 max_message,
                                        guint8 *message_opcode,
                                        GError **error);

G_END_DECLS
