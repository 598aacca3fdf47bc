/* cv-code.h: a session code as people read and type it, "482-913-557": the public
 * nameplate the gateway allocates, then the six secret digits the share agent draws. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The secret is always six digits; the nameplate is 3 to 9 digits (the gateway's
 * allocation starts at 3 and grows; HELLO carries at most 9, engine/SESSION-CODES.md §4). */
#define CV_CODE_SECRET_DIGITS 6
#define CV_CODE_NAMEPLATE_MIN_DIGITS 3
#define CV_CODE_NAMEPLATE_MAX_DIGITS 9

gboolean cv_code_parse (const char *text, char **nameplate, char **secret, GError **error);
gboolean cv_code_nameplate_is_valid (const char *nameplate);
gboolean cv_code_secret_is_valid (const char *secret);
char *cv_code_format (const char *nameplate, const char *secret);

G_END_DECLS
