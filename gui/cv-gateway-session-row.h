/* cv-gateway-session-row.h: one machine (session) the gateway on this computer serves — is
 * its shared computer online, and right after it was added its passwords and the command
 * that shares a computer through it, each with Copy. */
#pragma once

#include <adwaita.h>

#include "cv-embedded-gateway.h"

G_BEGIN_DECLS

/* Signals:
 *   "add-to-machines" ()  the person wants this session among their own machines */
#define CV_TYPE_GATEWAY_SESSION_ROW (cv_gateway_session_row_get_type ())
G_DECLARE_FINAL_TYPE (CvGatewaySessionRow,
                      cv_gateway_session_row,
                      CV,
                      GATEWAY_SESSION_ROW,
                      AdwExpanderRow)

GtkWidget *cv_gateway_session_row_new (CvEmbeddedGateway *gateway, CvEmbeddedSession *session);
CvEmbeddedSession *cv_gateway_session_row_get_session (CvGatewaySessionRow *self);

G_END_DECLS
