/* cv-log-escape.c: text from peers made into one safe piece of a log line.
 *
 * Whatever a peer sends (a GOAWAY message, a name, a host in an OPEN) may hold line
 * breaks that forge log lines (under journald a forged "<3>" even sets a priority),
 * terminal escapes, bidirectional overrides that reorder what the operator reads, or
 * bytes that are not UTF-8.  Escaped, each becomes visible text on the same line. */
#include "base/cv-log-escape.h"

#include <string.h>

/* Characters that change how a line reads rather than what it says: C0 and C1
 * controls, DEL, line and paragraph separators, and format characters (bidi
 * overrides and isolates, zero-width joiners, the BOM). */
static gboolean
is_unsafe (gunichar c)
{
  switch (g_unichar_type (c))
    {
    case G_UNICODE_CONTROL:
    case G_UNICODE_FORMAT:
    case G_UNICODE_LINE_SEPARATOR:
    case G_UNICODE_PARAGRAPH_SEPARATOR:
    case G_UNICODE_UNASSIGNED:
    case G_UNICODE_SURROGATE:
    case G_UNICODE_PRIVATE_USE:
      return TRUE;
    default:
      return FALSE;
    }
}

static void
append_escaped_char (GString *out, gunichar c)
{
  switch (c)
    {
    case '\n':
      g_string_append (out, "\\n");
      break;
    case '\r':
      g_string_append (out, "\\r");
      break;
    case '\t':
      g_string_append (out, "\\t");
      break;
    default:
      if (c < 0x80)
        g_string_append_printf (out, "\\x%02x", c);
      else
        g_string_append_printf (out, "\\u{%04x}", c);
    }
}

/* @quote_backslash: also write "\" as "\\", so that the result reads back
 * unambiguously; @max_bytes: how much of @text to keep (0: all). */
static GString *
escape (const char *text, gsize length, gboolean quote_backslash, gsize max_bytes)
{
  GString *out = g_string_sized_new (MIN (length, 1024) + 16);
  const char *p = text;
  const char *end = text + length;

  while (p < end)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);
      gsize size;

      if (max_bytes > 0 && (gsize) (p - text) >= max_bytes)
        {
          g_string_append_printf (out, "…(%" G_GSIZE_FORMAT " more bytes)", (gsize) (end - p));
          break;
        }
      if (c == (gunichar) -1 || c == (gunichar) -2)
        {
          /* Not UTF-8 (or cut off): the byte itself, visibly. */
          g_string_append_printf (out, "\\x%02x", (guint8) *p);
          p++;
          continue;
        }
      size = g_utf8_next_char (p) - p;
      if (c == 0)
        size = 1; /* an embedded NUL, when @length says there is more */
      if (c == '\\' && quote_backslash)
        g_string_append (out, "\\\\");
      else if (c == 0 || is_unsafe (c))
        append_escaped_char (out, c);
      else
        g_string_append_len (out, p, size);
      p += size;
    }
  return out;
}

/**
 * cv_log_escape:
 * @text: (nullable): what a peer sent; %NULL is logged as "(none)"
 * @length: its length in bytes, or -1 if it ends with a NUL
 *
 * Text safe to put in a log line: newlines, tabs and carriage returns become "\n",
 * "\t", "\r"; other control and format characters "\x1b" or "\u{202e}"; bytes that
 * are not UTF-8 "\xff"; "\" becomes "\\".  Past CV_LOG_ESCAPE_MAX_BYTES bytes of
 * @text the rest is cut and counted.
 *
 * Returns: (transfer full): the escaped text, one line
 */
char *
cv_log_escape (const char *text, gssize length)
{
  if (text == NULL)
    return g_strdup ("(none)");
  return g_string_free (escape (text, length < 0 ? strlen (text) : (gsize) length, TRUE,
                                CV_LOG_ESCAPE_MAX_BYTES),
                        FALSE);
}

/**
 * cv_log_escape_line:
 * @message: a whole log message, as the log writer gets it
 *
 * The log writer's last line of defence: a message that still holds a line break,
 * a control character or bytes that are not UTF-8 (peer text a caller did not pass
 * through cv_log_escape()) is written as one line all the same.  Backslashes and
 * length are left alone, so text cv_log_escape() made is unchanged.
 *
 * Returns: (transfer full) (nullable): the message made safe, or %NULL if it was
 */
char *
cv_log_escape_line (const char *message)
{
  gsize length = strlen (message);
  const char *p;

  if (g_utf8_validate_len (message, length, NULL))
    {
      for (p = message; *p != '\0'; p = g_utf8_next_char (p))
        if (is_unsafe (g_utf8_get_char (p)))
          break;
      if (*p == '\0')
        return NULL;
    }
  return g_string_free (escape (message, length, FALSE, 0), FALSE);
}
