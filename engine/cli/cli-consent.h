/* cli-consent.h: how `culvert-cli share` answers consent requests — y/N on a terminal,
 * yes to all with --accept, and otherwise no, saying why. */
#pragma once

#include "roles/cv-share-agent.h"

typedef struct _CvCliConsent CvCliConsent;

CvCliConsent *cv_cli_consent_new (CvShareAgent *agent, gboolean accept_all);
void cv_cli_consent_free (CvCliConsent *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvCliConsent, cv_cli_consent_free)
