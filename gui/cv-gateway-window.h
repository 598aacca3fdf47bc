/* cv-gateway-window.h: "Run a gateway on this computer" — start and stop the embedded
 * gateway, its address and key, the machines it serves and the agents connected now. */
#pragma once

#include <adwaita.h>

#include "cv-application.h"

G_BEGIN_DECLS

#define CV_TYPE_GATEWAY_WINDOW (cv_gateway_window_get_type ())
G_DECLARE_FINAL_TYPE (CvGatewayWindow, cv_gateway_window, CV, GATEWAY_WINDOW, AdwPreferencesWindow)

/* The gateway is the application's (cv_application_get_gateway ()): it keeps running when
 * the window closes. */
GtkWindow *cv_gateway_window_new (GtkWindow *parent, CvApplication *app);

G_END_DECLS
