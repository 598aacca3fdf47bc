/* cv-service-link-row.h: one service of a machine on its page — what it is, its state in words
 * and an Open button for its launcher. */
#pragma once

#include <adwaita.h>

#include "cv-service-link.h"

G_BEGIN_DECLS

/* Properties (construct-only): "link" (CvServiceLink), "machine-id" and "position" (the
 * link's in its machine's services): the Open button activates win.open-service with
 * those two. */
#define CV_TYPE_SERVICE_LINK_ROW (cv_service_link_row_get_type ())

G_DECLARE_FINAL_TYPE (CvServiceLinkRow, cv_service_link_row, CV, SERVICE_LINK_ROW, AdwActionRow)

CvServiceLinkRow *cv_service_link_row_new (CvServiceLink *link,
                                           const char *machine_id,
                                           guint position);
CvServiceLink *cv_service_link_row_get_link (CvServiceLinkRow *self);
void cv_service_link_row_set_name (CvServiceLinkRow *self, const char *name);

G_END_DECLS
