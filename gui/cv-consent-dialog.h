/* cv-consent-dialog.h: "NAME wants to reach this computer" — who asks, from where, for
 * what, the words to compare with the helper's, and a plain warning; Deny unless the
 * person says Allow. */
#pragma once

#include <adwaita.h>

#include "cv-share-session.h"

G_BEGIN_DECLS

/* Responses "deny" (default and close response) and "allow", answered on @session; the
 * dialog closes itself when the session leaves ASKING (the session's own consent timeout
 * denies, or the helper gave up). */
#define CV_TYPE_CONSENT_DIALOG (cv_consent_dialog_get_type ())
G_DECLARE_FINAL_TYPE (CvConsentDialog, cv_consent_dialog, CV, CONSENT_DIALOG, AdwMessageDialog)

GtkWindow *cv_consent_dialog_new (GtkWindow *parent,
                                  CvShareSession *session,
                                  const char *name,
                                  const char *address,
                                  const char *services_words,
                                  const char *verification);

G_END_DECLS
