/* cv-format.c: the window's wording of times, durations and what a button does. */
#include "cv-version.h"

#include <glib/gi18n.h>

#include "cv-format.h"

char *
cv_format_last_used (gint64 unix_seconds, gint64 now_unix)
{
  g_autoptr (GDateTime) then = NULL;
  g_autoptr (GDateTime) now = NULL;
  GDate then_day;
  GDate now_day;
  int days;

  if (unix_seconds <= 0)
    return NULL;
  then = g_date_time_new_from_unix_local (unix_seconds);
  now = g_date_time_new_from_unix_local (now_unix);
  if (then == NULL || now == NULL)
    return NULL;

  /* Calendar days, not 24-hour spans: 23:50 yesterday was "yesterday" at 00:10. */
  g_date_clear (&then_day, 1);
  g_date_clear (&now_day, 1);
  g_date_set_dmy (&then_day, g_date_time_get_day_of_month (then), g_date_time_get_month (then),
                  g_date_time_get_year (then));
  g_date_set_dmy (&now_day, g_date_time_get_day_of_month (now), g_date_time_get_month (now),
                  g_date_time_get_year (now));
  days = g_date_days_between (&then_day, &now_day);

  if (days <= 0)
    return g_strdup (_ ("last used today"));
  if (days == 1)
    return g_strdup (_ ("last used yesterday"));
  if (g_date_time_get_year (then) == g_date_time_get_year (now))
    /* Translators: a g_date_time_format () format: "last used on 3 March". */
    return g_date_time_format (then, _ ("last used on %-d %B"));
  /* Translators: a g_date_time_format () format: "last used on 3 March 2025". */
  return g_date_time_format (then, _ ("last used on %-d %B %Y"));
}

char *
cv_format_round_trip (gint64 microseconds)
{
  if (microseconds < 1000)
    return g_strdup (_ ("less than 1 ms"));
  if (microseconds < 1000 * 1000)
    /* Translators: a round trip in milliseconds. */
    return g_strdup_printf (_ ("%d ms"), (int) ((microseconds + 500) / 1000));
  /* Translators: a round trip in seconds. */
  return g_strdup_printf (_ ("%.1f s"), microseconds / 1e6);
}

const char *
cv_format_state_action (CvConnectionState state,
                        const char *machine_name,
                        const char **label,
                        char **description)
{
  switch (state)
    {
    case CV_CONNECTION_STATE_IDLE:
    case CV_CONNECTION_STATE_FAILED:
      *label = _ ("Connect");
      *description = g_strdup_printf (_ ("Connect to %s"), machine_name);
      return "win.connect-machine";
    case CV_CONNECTION_STATE_PREPARING:
    case CV_CONNECTION_STATE_NEEDS_TRUST:
    case CV_CONNECTION_STATE_CONNECTING:
      *label = _ ("Cancel");
      *description = g_strdup_printf (_ ("Stop connecting to %s"), machine_name);
      return "win.disconnect-machine";
    case CV_CONNECTION_STATE_CONNECTED:
    case CV_CONNECTION_STATE_RECONNECTING:
    default:
      *label = _ ("Disconnect");
      *description = g_strdup_printf (_ ("Disconnect from %s"), machine_name);
      return "win.disconnect-machine";
    }
}
