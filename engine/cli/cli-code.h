/* cli-code.h: what `culvert-cli share --code` and `connect --code` tell their user: the
 * code to read out and its countdown, the verification string, a burn or an expiry. */
#pragma once

#include "roles/cv-connect-agent.h"
#include "roles/cv-share-agent.h"

typedef struct _CvCliCode CvCliCode;

CvCliCode *cv_cli_code_new_share (CvShareAgent *agent);
CvCliCode *cv_cli_code_new_connect (CvConnectAgent *agent);
void cv_cli_code_free (CvCliCode *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvCliCode, cv_cli_code_free)
