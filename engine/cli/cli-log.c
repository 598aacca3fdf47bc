/* cli-log.c: log lines on stderr, with levels, readable by people and by journald.
 *
 * Under systemd (JOURNAL_STREAM is set) each line starts with a syslog priority
 * prefix such as "<4>", which journald turns into the entry's priority; elsewhere the
 * level is spelled out.  Debug lines appear when the configured level asks for them
 * or G_MESSAGES_DEBUG names the domain. */
#include "cli/cli-log.h"

#include "base/cv-log-escape.h"

#include <stdio.h>
#include <string.h>

static const char *log_role = "culvert";
static GLogLevelFlags log_max_level = G_LOG_LEVEL_INFO;
static gboolean log_journald;

static int
priority_of (GLogLevelFlags level)
{
  if (level & G_LOG_LEVEL_ERROR)
    return 3;
  if (level & G_LOG_LEVEL_CRITICAL)
    return 3;
  if (level & G_LOG_LEVEL_WARNING)
    return 4;
  if (level & G_LOG_LEVEL_MESSAGE)
    return 5;
  if (level & G_LOG_LEVEL_INFO)
    return 6;
  return 7;
}

static const char *
name_of (GLogLevelFlags level)
{
  switch (priority_of (level))
    {
    case 3:
      return "error";
    case 4:
      return "warning";
    case 5:
    case 6:
      return "info";
    default:
      return "debug";
    }
}

static GLogWriterOutput
write_log (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  const char *message = NULL;
  const char *domain = NULL;
  g_autofree char *one_line = NULL;

  for (gsize i = 0; i < n_fields; i++)
    {
      if (g_str_equal (fields[i].key, "MESSAGE"))
        message = fields[i].value;
      else if (g_str_equal (fields[i].key, "GLIB_DOMAIN"))
        domain = fields[i].value;
    }
  if (message == NULL)
    return G_LOG_WRITER_HANDLED;
  /* G_LOG_LEVEL_MESSAGE is what g_message() logs: treat it as info. */
  if (priority_of (level) > priority_of (log_max_level)
      && !(priority_of (level) == 7 && g_log_writer_default_would_drop (level, domain) == FALSE))
    return G_LOG_WRITER_HANDLED;

  /* One message, one line, whatever a caller let through: a peer cannot forge a
   * line (or, under journald, its priority) nor send the terminal escapes. */
  one_line = cv_log_escape_line (message);
  if (one_line != NULL)
    message = one_line;

  if (log_journald)
    fprintf (stderr, "<%d>%s\n", priority_of (level), message);
  else
    {
      g_autoptr (GDateTime) now = g_date_time_new_now_local ();
      g_autofree char *stamp = g_date_time_format (now, "%H:%M:%S.%f");

      stamp[12] = '\0'; /* milliseconds are enough */
      fprintf (stderr, "%s %s %s: %s\n", stamp, log_role, name_of (level), message);
    }
  fflush (stderr);
  return G_LOG_WRITER_HANDLED;
}

void
cv_cli_log_init (const char *role, GLogLevelFlags max_level)
{
  log_role = role;
  log_max_level = max_level;
  log_journald = g_getenv ("JOURNAL_STREAM") != NULL;
  g_log_set_writer_func (write_log, NULL, NULL);
}

void
cv_cli_log_set_max_level (GLogLevelFlags max_level)
{
  log_max_level = max_level;
}
