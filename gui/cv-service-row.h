/* cv-service-row.h: one service of a machine in the editor — preset, target, local port and
 * what opens it — editing the CvMachineService it is given as the person types. */
#pragma once

#include <adwaita.h>

#include "cv-machine-service.h"

G_BEGIN_DECLS

/* Properties:
 *   "service"  the CvMachineService it edits (construct-only)
 *   "valid"    gboolean, read-only: every field holds (notified)
 * Signals:
 *   "remove" ()  the person asked to remove this service */
#define CV_TYPE_SERVICE_ROW (cv_service_row_get_type ())
G_DECLARE_FINAL_TYPE (CvServiceRow, cv_service_row, CV, SERVICE_ROW, AdwExpanderRow)

GtkWidget *cv_service_row_new (CvMachineService *service);
CvMachineService *cv_service_row_get_service (CvServiceRow *self);
gboolean cv_service_row_get_valid (CvServiceRow *self);

G_END_DECLS
