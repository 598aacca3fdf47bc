/* cv-gateway-dial.h: where the gateway is, how to know it, and a TCP connection to it. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Where the gateway is and how to know it. */
typedef struct {
  char *host;
  guint16 port;
  char *fingerprint;      /* sha256:…, or NULL to trust the system's CAs */
  GTlsDatabase *database; /* NULL: the system's */
} CvGatewayAddress;

void cv_gateway_address_clear (CvGatewayAddress *address);
void cv_gateway_address_copy (CvGatewayAddress *dest, const CvGatewayAddress *src);

void cv_gateway_dial_async (const CvGatewayAddress *gateway,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data);
GSocketConnection *cv_gateway_dial_finish (GAsyncResult *result, GError **error);

G_END_DECLS
