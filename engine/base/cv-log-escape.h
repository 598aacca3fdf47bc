/* cv-log-escape.h: text from peers made into one safe piece of a log line. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The most bytes of a peer's text that one log line quotes; the rest is counted. */
#define CV_LOG_ESCAPE_MAX_BYTES 256

char *cv_log_escape (const char *text, gssize length);
char *cv_log_escape_line (const char *message);

G_END_DECLS
