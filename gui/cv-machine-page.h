/* cv-machine-page.h: a saved machine's page — its state, its services with Open, the
 * gateway and its trusted key, the round trip, and Connect, Edit, Export, Delete. */
#pragma once

#include <adwaita.h>

#include "cv-machine-connection.h"

G_BEGIN_DECLS

/* Properties: "connection" (CvMachineConnection, or NULL: nothing shown). */
#define CV_TYPE_MACHINE_PAGE (cv_machine_page_get_type ())

G_DECLARE_FINAL_TYPE (CvMachinePage, cv_machine_page, CV, MACHINE_PAGE, AdwBin)

CvMachinePage *cv_machine_page_new (void);
CvMachineConnection *cv_machine_page_get_connection (CvMachinePage *self);
void cv_machine_page_set_connection (CvMachinePage *self, CvMachineConnection *connection);

G_END_DECLS
