/* cv-refusal.h: the words for a gateway's refusal, as the CLI and the app show them. */
#pragma once

#include <glib.h>

#include "wire/cv-control.h"

G_BEGIN_DECLS

char *cv_refusal_describe (CvRefusal refusal, const char *session);
GError *cv_refusal_error_new (CvRefusal refusal, const char *session);
char *cv_refusal_describe_code_failed (JsonObject *body);

G_END_DECLS
