/* cv-application.h: the Culvert desktop app (a GtkApplication). */
#pragma once

#include <gtk/gtk.h>

#include "cv-embedded-gateway.h"
#include "cv-machine-store.h"
#include "cv-secret-store.h"

G_BEGIN_DECLS

#define CV_TYPE_APPLICATION (cv_application_get_type ())

G_DECLARE_FINAL_TYPE (CvApplication, cv_application, CV, APPLICATION, GtkApplication)

CvApplication *cv_application_new (void);

/* What the windows share, made on first use: the saved machines (loaded from the user's
 * config dir), the keyring, and "Run a gateway on this computer" (its listen address and
 * port follow the GSettings keys gateway-listen-address and gateway-listen-port). */
CvMachineStore *cv_application_get_store (CvApplication *self);
CvSecretStore *cv_application_get_secrets (CvApplication *self);
CvEmbeddedGateway *cv_application_get_gateway (CvApplication *self);

G_END_DECLS
