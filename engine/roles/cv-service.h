/* cv-service.h: one service a share agent offers, as its connect agent sees it (an item
 * of CvConnectAgent:services). */
#pragma once

#include <glib-object.h>

#include "wire/cv-services.h"

G_BEGIN_DECLS

#define CV_TYPE_SERVICE (cv_service_get_type ())
G_DECLARE_FINAL_TYPE (CvService, cv_service, CV, SERVICE, GObject)

CvService *cv_service_new (const CvServiceInfo *info);
const char *cv_service_get_name (CvService *self);
CvServiceKind cv_service_get_kind (CvService *self);
const char *cv_service_get_host (CvService *self);
guint16 cv_service_get_port (CvService *self);

G_END_DECLS
