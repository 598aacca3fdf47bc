/* cv-trace.c: the flag and the log line behind CV_TRACE (cv-trace.h). */
#include "base/cv-trace.h"

static gsize trace_state; /* 0: not read yet; 1: off; 2: on */

gboolean
cv_trace_enabled (void)
{
  if (g_once_init_enter (&trace_state))
    g_once_init_leave (&trace_state,
                       g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, CV_TRACE_DOMAIN) ? 1
                                                                                            : 2);
  return trace_state == 2;
}

void
cv_trace_log (gpointer object, const char *function, const char *format, ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_log (CV_TRACE_DOMAIN, G_LOG_LEVEL_DEBUG, "%s %p %s: %s",
         G_IS_OBJECT (object) ? G_OBJECT_TYPE_NAME (object) : "-", object, function, text);
}
