/* test-log-summary.c: events logged in full the first time, then one summary line an
 * interval, nothing when there were none; a quiet interval ends the burst. */
#include "base/cv-log-summary.h"

#include "cv-test-util.h"

#include <string.h>

#define INTERVAL_MS 20

static const CvLogSummaryKind kinds[] = {
  { "apple fell", "apples fell" },
  { "pear was eaten", "pears were eaten" },
};

static GPtrArray *messages;

static GLogWriterOutput
on_log (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer data)
{
  const char *message = NULL;

  for (gsize i = 0; i < n_fields; i++)
    if (g_str_equal (fields[i].key, "MESSAGE"))
      message = fields[i].value;
  if ((level & G_LOG_LEVEL_MESSAGE) != 0 && message != NULL)
    g_ptr_array_add (messages, g_strdup (message));
  return G_LOG_WRITER_HANDLED;
}

static gboolean
n_messages_at_least (gpointer data)
{
  return messages->len >= GPOINTER_TO_UINT (data);
}

static void
run_for (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static void
test_summary (void)
{
  g_autoptr (CvLogSummary) summary = cv_log_summary_new (kinds, G_N_ELEMENTS (kinds), INTERVAL_MS,
                                                         NULL);

  g_ptr_array_set_size (messages, 0);
  cv_log_summary_note (summary, 0, "apple %u fell", 1);
  for (guint i = 2; i <= 5; i++)
    cv_log_summary_note (summary, 0, "apple %u fell", i);
  cv_log_summary_note (summary, 1, "pear %u was eaten", 1);
  cv_log_summary_note (summary, 1, "pear %u was eaten", 2);
  /* The first of each in full, at once. */
  g_assert_cmpuint (messages->len, ==, 2);
  g_assert_cmpstr (messages->pdata[0], ==, "apple 1 fell");
  g_assert_cmpstr (messages->pdata[1], ==, "pear 1 was eaten");

  g_assert_true (cv_test_wait_until (n_messages_at_least, GUINT_TO_POINTER (3), 5000));
  g_assert_cmpstr (messages->pdata[2], ==,
                   "in the last 20 ms: 4 apples fell, 1 pear was eaten (each logged at debug "
                   "level only)");

  /* Quiet intervals: no line, and the burst ends… */
  run_for (25 * INTERVAL_MS);
  g_assert_cmpuint (messages->len, ==, 3);
  /* …so the next one is logged in full again. */
  cv_log_summary_note (summary, 1, "pear %u was eaten", 3);
  g_assert_cmpuint (messages->len, ==, 4);
  g_assert_cmpstr (messages->pdata[3], ==, "pear 3 was eaten");
  run_for (25 * INTERVAL_MS);
  g_assert_cmpuint (messages->len, ==, 4);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  messages = g_ptr_array_new_with_free_func (g_free);
  g_log_set_writer_func (on_log, NULL, NULL);
  g_test_add_func ("/log-summary/summary", test_summary);
  return g_test_run ();
}
