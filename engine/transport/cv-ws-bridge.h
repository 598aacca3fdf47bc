/* cv-ws-bridge.h: a WebSocket connection (RFC 6455, binary messages) as a local socket
 * that carries the same bytes, so that TLS, the gateway's intake and its joiner work on
 * it as on a TCP connection. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CV_WS_DEFAULT_MAX_MESSAGE (1024 * 1024)
/* Below nginx's default proxy_read_timeout (60 s), so an idle link is never cut. */
#define CV_WS_DEFAULT_PING_INTERVAL_MS 20000
#define CV_WS_DEFAULT_PONG_TIMEOUT_MS 15000

typedef struct {
  /* TRUE: masks every frame it sends and refuses masked frames; FALSE (the server):
   * requires masked frames. */
  gboolean is_client;
  /* A whole message, all its fragments; larger ones end the connection (1009).  0:
   * CV_WS_DEFAULT_MAX_MESSAGE. */
  gsize max_message_bytes;
  guint ping_interval_ms; /* 0: CV_WS_DEFAULT_PING_INTERVAL_MS */
  guint pong_timeout_ms;  /* 0: CV_WS_DEFAULT_PONG_TIMEOUT_MS */
  const char *peer_name;  /* in log lines: "the gateway", "127.0.0.1" */
} CvWsBridgeOptions;

void cv_ws_bridge_options_init (CvWsBridgeOptions *options);

/* Takes over @upgraded, the stream after the 101 response, which may already hold
 * bytes the HTTP layer read past it: pass them in @leftover (NULL if none).  Runs on
 * @context (NULL: the thread-default one; it may be called from any thread).  Returns
 * the inner end, one end of a local socket pair (loopback TCP where there is no
 * AF_UNIX), which carries the same byte stream; the caller owns it.
 *
 * Ends: EOF on the inner end → Close 1000 (1001 if it failed), the peer's Close awaited
 * (2 s at most), the stream closed.  The peer's Close → echoed (same code), the inner
 * end shut down for writing once the bytes before it are written (EOF), the stream
 * closed.  EOF from the peer → EOF on the inner end; an error (or EOF inside a frame)
 * → the inner end closed at once (a reset where the socket has one).  A protocol error
 * → Close with its code (1002, 1003 for text, 1009 too big) and a reason, the inner
 * end closed at once, one line logged (g_message).  No pong within pong_timeout_ms of
 * a ping → logged, the inner end closed at once.  Errors: the socket pair could not be
 * made. */
GSocketConnection *cv_ws_bridge_start (GIOStream *upgraded,
                                       GBytes *leftover,
                                       const CvWsBridgeOptions *options,
                                       GMainContext *context,
                                       GError **error);

/* How many bridges are running (started and not yet freed), in every thread: for the
 * tests, which check that every bridge ends, and for diagnostics. */
guint cv_ws_bridge_count_running (void);
/* Bytes of the buffers all running bridges hold: at most 2 × 256 KiB a bridge while
 * bytes flow, none while it waits for them. */
gsize cv_ws_bridge_count_buffer_bytes (void);

G_END_DECLS
