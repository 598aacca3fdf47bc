/* cv-ws-upgrade.h: a client's HTTP/1.1 upgrade to WebSocket (RFC 6455 §4.1) on a
 * connected stream (TCP for ws://, the outer TLS for wss://), before the bridge takes it. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CV_WS_UPGRADE_ERROR (cv_ws_upgrade_error_quark ())
GQuark cv_ws_upgrade_error_quark (void);

typedef enum {
  CV_WS_UPGRADE_ERROR_NOT_FOUND,     /* HTTP 404: nothing at that path */
  CV_WS_UPGRADE_ERROR_NOT_SWITCHED,  /* another HTTP status than 101 */
  CV_WS_UPGRADE_ERROR_BAD_RESPONSE,  /* not HTTP, a head too long, or closed before its end */
  CV_WS_UPGRADE_ERROR_BAD_HANDSHAKE, /* 101, but not RFC 6455's answer to our request */
} CvWsUpgradeError;

/* The most bytes of a response head (status line and headers) we read. */
#define CV_WS_UPGRADE_MAX_HEAD_BYTES 8192
/* The deadline a caller's 0 means. */
#define CV_WS_UPGRADE_DEFAULT_TIMEOUT_MS 15000

void cv_ws_upgrade_client_async (GIOStream *stream,
                                 const char *host,
                                 guint16 port,
                                 gboolean tls,
                                 const char *path,
                                 guint timeout_ms,
                                 GCancellable *cancellable,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data);
GBytes *cv_ws_upgrade_client_finish (GAsyncResult *result, GError **error);

G_END_DECLS
