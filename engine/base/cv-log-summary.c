/* cv-log-summary.c: events that may come by the thousand, logged as one line an interval.
 *
 * A peer that can make us log a line per connection can fill the journal, and hide the
 * lines that matter in it.  So the first event of each kind is logged as it comes
 * (g_message), with whatever detail it has; the next ones of that kind only at debug
 * level, and counted.  Every interval from that first event, one line says how many
 * of each kind there were ("in the last 60 s: 950 connections were not Culvert agents,
 * 40 TLS handshakes failed"), and nothing when there were none.  An interval without
 * any ends the burst: the next event is logged in full again, so a quiet service still
 * logs each one.
 */
#include "base/cv-log-summary.h"

#include "base/cv-source.h"

#include <string.h>

struct _CvLogSummary {
  const CvLogSummaryKind *kinds;
  guint n_kinds;
  guint interval_ms;
  GMainContext *context;
  GSource *timer;   /* set while a burst lasts */
  gboolean active;  /* an event since the last tick */
  gboolean *logged; /* per kind: its first event of this burst was logged in full */
  guint *counts;    /* per kind: events since the last summary, not logged in full */
};

/**
 * cv_log_summary_new:
 * @kinds: (array length=n_kinds): how a summary names each kind; must outlive it
 * @interval_ms: at most one summary line this often
 * @context: (nullable): where its timer runs; %NULL for the thread-default context
 */
CvLogSummary *
cv_log_summary_new (const CvLogSummaryKind *kinds,
                    guint n_kinds,
                    guint interval_ms,
                    GMainContext *context)
{
  CvLogSummary *self = g_new0 (CvLogSummary, 1);

  g_return_val_if_fail (interval_ms > 0, NULL);
  self->kinds = kinds;
  self->n_kinds = n_kinds;
  self->interval_ms = interval_ms;
  self->context = context != NULL ? g_main_context_ref (context)
                                  : g_main_context_ref_thread_default ();
  self->logged = g_new0 (gboolean, n_kinds);
  self->counts = g_new0 (guint, n_kinds);
  return self;
}

void
cv_log_summary_free (CvLogSummary *self)
{
  if (self == NULL)
    return;
  cv_source_clear (&self->timer);
  g_main_context_unref (self->context);
  g_free (self->logged);
  g_free (self->counts);
  g_free (self);
}

guint
cv_log_summary_get_interval_ms (CvLogSummary *self)
{
  return self->interval_ms;
}

static char *
interval_text (guint ms)
{
  if (ms % 1000 == 0)
    return g_strdup_printf ("%u s", ms / 1000);
  return g_strdup_printf ("%u ms", ms);
}

static gboolean
on_interval (gpointer user_data)
{
  CvLogSummary *self = user_data;
  g_autoptr (GString) line = NULL;
  g_autofree char *interval = NULL;

  for (guint kind = 0; kind < self->n_kinds; kind++)
    {
      guint n = self->counts[kind];

      if (n == 0)
        continue;
      if (line == NULL)
        line = g_string_new (NULL);
      else
        g_string_append (line, ", ");
      g_string_append_printf (line, "%u %s", n,
                              n == 1 ? self->kinds[kind].one : self->kinds[kind].many);
      self->counts[kind] = 0;
    }
  if (line == NULL && !self->active)
    {
      /* A quiet interval: the burst is over. */
      memset (self->logged, 0, self->n_kinds * sizeof *self->logged);
      g_clear_pointer (&self->timer, g_source_unref);
      return G_SOURCE_REMOVE;
    }
  self->active = FALSE;
  if (line == NULL)
    return G_SOURCE_CONTINUE; /* only first events, each logged already */
  interval = interval_text (self->interval_ms);
  g_message ("in the last %s: %s (each logged at debug level only)", interval, line->str);
  return G_SOURCE_CONTINUE;
}

/* One event of @kind, described by @format as its own log line would be. */
void
cv_log_summary_note (CvLogSummary *self, guint kind, const char *format, ...)
{
  g_autofree char *text = NULL;
  va_list args;

  g_return_if_fail (kind < self->n_kinds);
  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);

  if (self->timer == NULL)
    {
      self->timer = g_timeout_source_new (self->interval_ms);
      g_source_set_callback (self->timer, on_interval, self, NULL);
      g_source_set_static_name (self->timer, "[culvert] log summary");
      g_source_attach (self->timer, self->context);
    }
  self->active = TRUE;
  if (!self->logged[kind])
    {
      self->logged[kind] = TRUE;
      g_message ("%s", text);
      return;
    }
  self->counts[kind]++;
  g_debug ("%s", text);
}
