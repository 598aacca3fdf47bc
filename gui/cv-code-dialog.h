/* cv-code-dialog.h: "Connect with a Code", a modal window over one CvCodeConnection. */
#pragma once

#include <adwaita.h>

#include "cv-code-connection.h"

G_BEGIN_DECLS

/* Template children for the tests: "code_row", "continue_button", "stack" (pages "entry",
 * "waiting", "confirmed", "connected", "failed"), "verification_label", "offered_list",
 * "connect_button", "services_list", "disconnect_button", "failed_page",
 * "try_another_button".  The code gateway and its fingerprint are the settings'
 * code-gateway and code-gateway-fingerprint, read at each Continue. */
#define CV_TYPE_CODE_DIALOG (cv_code_dialog_get_type ())
G_DECLARE_FINAL_TYPE (CvCodeDialog, cv_code_dialog, CV, CODE_DIALOG, AdwWindow)

GtkWindow *cv_code_dialog_new (GtkWindow *parent);
/* The connection of the last Continue, or NULL before one. */
CvCodeConnection *cv_code_dialog_get_connection (CvCodeDialog *self);

G_END_DECLS
