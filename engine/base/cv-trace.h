/* cv-trace.h: one macro for hot-path debugging.
 *
 * CV_TRACE (object, format, …) logs a debug line in the "culvert-trace" log domain,
 * prefixed with the object's type and address, so that the lines of one mux or pump
 * among thousands can be followed (glib-networking's g_tls_log_debug does the same).
 * It is on only when G_MESSAGES_DEBUG names culvert-trace (or is "all"), read once;
 * off, it costs one branch on a cached flag and its arguments are not evaluated, so
 * it may sit on paths that run per frame.  An ordinary event worth a line in an
 * operator's log is g_debug() or g_message(), not this. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

#define CV_TRACE_DOMAIN "culvert-trace"

gboolean cv_trace_enabled (void);
void cv_trace_log (gpointer object, const char *function, const char *format, ...)
  G_GNUC_PRINTF (3, 4);

#define CV_TRACE(object, ...)                                                                      \
  G_STMT_START                                                                                     \
  {                                                                                                \
    if (G_UNLIKELY (cv_trace_enabled ()))                                                          \
      cv_trace_log ((object), G_STRFUNC, __VA_ARGS__);                                             \
  }                                                                                                \
  G_STMT_END

G_END_DECLS
