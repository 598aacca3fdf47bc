/* cv-log-summary.h: events that may come by the thousand, logged as one line an interval. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* How a summary line names @n events of one kind: "1 TLS handshake failed",
 * "40 TLS handshakes failed". */
typedef struct {
  const char *one;
  const char *many;
} CvLogSummaryKind;

typedef struct _CvLogSummary CvLogSummary;

CvLogSummary *cv_log_summary_new (const CvLogSummaryKind *kinds,
                                  guint n_kinds,
                                  guint interval_ms,
                                  GMainContext *context);
void cv_log_summary_note (CvLogSummary *self, guint kind, const char *format, ...)
  G_GNUC_PRINTF (3, 4);
guint cv_log_summary_get_interval_ms (CvLogSummary *self);
void cv_log_summary_free (CvLogSummary *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvLogSummary, cv_log_summary_free)

G_END_DECLS
