/* cli-link-log.h: what `culvert-cli share` and `connect` say about their control link —
 * each change once, a failure that repeats summarised, and a refusal with what to fix. */
#pragma once

#include "config/cv-agent-config.h"
#include "roles/cv-agent-link.h"

typedef struct _CvCliLinkLog CvCliLinkLog;

CvCliLinkLog *cv_cli_link_log_new (CvAgentLink *link, const CvAgentConfig *config);
void cv_cli_link_log_free (CvCliLinkLog *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvCliLinkLog, cv_cli_link_log_free)
