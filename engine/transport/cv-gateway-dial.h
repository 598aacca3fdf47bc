/* cv-gateway-dial.h: where the gateway is, how to know it, and a connection to it: TCP, or
 * a WebSocket bridged to a local socket, through a proxy or not. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Where the gateway is and how to know it. */
typedef struct {
  char *host;
  guint16 port;
  char *fingerprint;      /* the gateway's key (a control link's TLS): sha256:…, or NULL to
                           * trust the system's CAs */
  GTlsDatabase *database; /* NULL: the system's */
  /* The WebSocket transport, when the gateway was given as a ws:// or wss:// URL: the
   * same bytes as a raw connection, carried in binary messages (transport/cv-ws-bridge.h).
   * NULL @web_path: a raw connection to host:port. */
  char *web_path;             /* the URL's path, e.g. "/culvert" */
  gboolean web_tls;           /* wss:// (an outer TLS to nginx or the gateway's port), or ws:// */
  char *web_fingerprint;      /* the outer TLS's key pinned, or NULL: the system's CAs */
  GTlsDatabase *web_database; /* NULL: the system's */
  /* "http://[user:password@]host:port" for an HTTP CONNECT proxy, "direct" for none, or
   * NULL: the system's proxy settings (GProxyResolver).  Raw connections use it too. */
  char *proxy;
} CvGatewayAddress;

void cv_gateway_address_clear (CvGatewayAddress *address);
void cv_gateway_address_copy (CvGatewayAddress *dest, const CvGatewayAddress *src);
char *cv_gateway_address_to_string (const CvGatewayAddress *address);

void cv_gateway_dial_async (const CvGatewayAddress *gateway,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data);
GSocketConnection *cv_gateway_dial_finish (GAsyncResult *result, GError **error);

G_END_DECLS
