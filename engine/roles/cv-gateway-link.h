/* cv-gateway-link.h: the gateway's end of one agent's control link. */
#pragma once

#include <gio/gio.h>

#include "wire/cv-control.h"
#include "mux/cv-mux.h"

G_BEGIN_DECLS

#define CV_TYPE_GATEWAY_LINK (cv_gateway_link_get_type ())
G_DECLARE_FINAL_TYPE (CvGatewayLink, cv_gateway_link, CV, GATEWAY_LINK, GObject)

CvGatewayLink *cv_gateway_link_new (GIOStream *tls_stream,
                                    GInetAddress *remote,
                                    const char *tls_fingerprint,
                                    const CvMuxConfig *mux_config,
                                    guint hello_timeout_ms,
                                    gsize max_output_after_welcome);
void cv_gateway_link_start (CvGatewayLink *self);

GInetAddress *cv_gateway_link_get_remote (CvGatewayLink *self);
const char *cv_gateway_link_get_remote_string (CvGatewayLink *self);
const char *cv_gateway_link_get_fingerprint (CvGatewayLink *self);
const CvHello *cv_gateway_link_get_hello (CvGatewayLink *self);
void cv_gateway_link_attest_name (CvGatewayLink *self, const char *name);
gboolean cv_gateway_link_is_welcomed (CvGatewayLink *self);
gint64 cv_gateway_link_get_welcomed_time (CvGatewayLink *self);
gint64 cv_gateway_link_get_round_trip_us (CvGatewayLink *self);
guint cv_gateway_link_get_hello_timeout_ms (CvGatewayLink *self);
gboolean cv_gateway_link_take_request (CvGatewayLink *self, guint per_second, gint64 now_us);
gboolean cv_gateway_link_is_leaving (CvGatewayLink *self);
gboolean cv_gateway_link_agent_said_goodbye (CvGatewayLink *self);
gpointer cv_gateway_link_get_session (CvGatewayLink *self);
void cv_gateway_link_set_session (CvGatewayLink *self, gpointer session);

void cv_gateway_link_welcome (CvGatewayLink *self, JsonObject *extra);
void cv_gateway_link_refuse (CvGatewayLink *self,
                             const char *reason,
                             const char *message,
                             guint retry_after_ms);
void cv_gateway_link_send (CvGatewayLink *self, CvControlType type, JsonObject *body);
void cv_gateway_link_goaway (CvGatewayLink *self, CvGoawayReason reason, const char *message);
void cv_gateway_link_close (CvGatewayLink *self);

G_END_DECLS
