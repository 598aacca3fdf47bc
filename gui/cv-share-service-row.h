/* cv-share-service-row.h: one thing "Share this computer" can offer, as a row with a check
 * box — its title and whether it runs on this computer now ("available", "not running on
 * this computer"). */
#pragma once

#include <adwaita.h>

#include "cv-share-service.h"

G_BEGIN_DECLS

/* Properties: "service" (CvShareService, construct-only), "active" (the check box). */
#define CV_TYPE_SHARE_SERVICE_ROW (cv_share_service_row_get_type ())
G_DECLARE_FINAL_TYPE (CvShareServiceRow, cv_share_service_row, CV, SHARE_SERVICE_ROW, AdwActionRow)

GtkWidget *cv_share_service_row_new (CvShareService *service);

CvShareService *cv_share_service_row_get_service (CvShareServiceRow *self);
gboolean cv_share_service_row_get_active (CvShareServiceRow *self);
void cv_share_service_row_set_active (CvShareServiceRow *self, gboolean active);

G_END_DECLS
