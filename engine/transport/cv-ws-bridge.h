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

GSocketConnection *cv_ws_bridge_start (GIOStream *upgraded,
                                       GBytes *leftover,
                                       const CvWsBridgeOptions *options,
                                       GMainContext *context,
                                       GError **error);

G_END_DECLS
