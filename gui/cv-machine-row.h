/* cv-machine-row.h: one saved machine in the window's list — its presence, its live state
 * in words, and Connect / Disconnect / Cancel. */
#pragma once

#include <adwaita.h>

#include "cv-machine-connection.h"

G_BEGIN_DECLS

/* Properties: "connection" (CvMachineConnection, construct-only). */
#define CV_TYPE_MACHINE_ROW (cv_machine_row_get_type ())

G_DECLARE_FINAL_TYPE (CvMachineRow, cv_machine_row, CV, MACHINE_ROW, AdwActionRow)

CvMachineRow *cv_machine_row_new (CvMachineConnection *connection);
CvMachineConnection *cv_machine_row_get_connection (CvMachineRow *self);

G_END_DECLS
