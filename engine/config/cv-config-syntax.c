/* cv-config-syntax.c: where a config's JSON really went wrong, once json-glib has said it
 * did.  json-glib names the token it stopped at, often far from the cause: a missing "}"
 * comes out as "unexpected character ']'" lines later.  A small scan of brackets and
 * strings finds the bracket left open instead; it runs only on a file that failed. */
#include "config/cv-config.h"

#include <string.h>

typedef struct {
  char bracket;
  guint line;
  guint column;
} Opened;

static char
closer_of (char opener)
{
  return opener == '{' ? '}' : ']';
}

/* Whether @closer belongs to a bracket under the top of @stack: then the top one is the
 * bracket left open, not @closer one too many. */
static gboolean
closes_one_below (GArray *stack, char closer)
{
  for (guint i = stack->len - 1; i-- > 0;)
    if (closer_of (g_array_index (stack, Opened, i).bracket) == closer)
      return TRUE;
  return FALSE;
}

/**
 * cv_config_find_unclosed:
 * @data: JSON text that json-glib refused
 * @line: (out): where the cause is: the bracket or string left open
 * @column: (out): its column, in characters, from 1
 *
 * Returns: (transfer full) (nullable): what is wrong there, in a few words ("this { is
 *   not closed: a ] at 5:3 comes before its }"), or %NULL if the brackets and strings
 *   are balanced and json-glib's message stands
 */
char *
cv_config_find_unclosed (const char *data, gsize len, guint *line, guint *column)
{
  g_autoptr (GArray) stack = g_array_new (FALSE, FALSE, sizeof (Opened));
  Opened string = { 0 };
  gboolean in_string = FALSE;
  gboolean escaped = FALSE;
  guint at_line = 1;
  guint at_column = 1;
  const char *end = data + len;

  for (const char *p = data; p < end;)
    {
      gunichar c = g_utf8_get_char_validated (p, end - p);
      gsize size = 1;

      /* Invalid UTF-8 counts one column a byte: json-glib has refused it anyway. */
      if (c != (gunichar) -1 && c != (gunichar) -2)
        size = g_utf8_next_char (p) - p;
      else
        c = (guchar) *p;

      if (in_string)
        {
          if (escaped)
            escaped = FALSE;
          else if (c == '\\')
            escaped = TRUE;
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        {
          in_string = TRUE;
          string.line = at_line;
          string.column = at_column;
        }
      else if (c == '{' || c == '[')
        {
          Opened opened = { (char) c, at_line, at_column };

          g_array_append_val (stack, opened);
        }
      else if (c == '}' || c == ']')
        {
          Opened *top = stack->len > 0 ? &g_array_index (stack, Opened, stack->len - 1) : NULL;

          if (top == NULL)
            {
              *line = at_line;
              *column = at_column;
              return g_strdup_printf ("this %c closes nothing that is open", (char) c);
            }
          if (closer_of (top->bracket) != (char) c && !closes_one_below (stack, (char) c))
            {
              *line = at_line;
              *column = at_column;
              return g_strdup_printf ("this %c closes nothing that is open (one too many, or "
                                      "its %c is missing)",
                                      (char) c, c == '}' ? '{' : '[');
            }
          if (closer_of (top->bracket) != (char) c)
            {
              *line = top->line;
              *column = top->column;
              return g_strdup_printf ("this %c is not closed: a %c at %u:%u comes before its %c",
                                      top->bracket, (char) c, at_line, at_column,
                                      closer_of (top->bracket));
            }
          g_array_set_size (stack, stack->len - 1);
        }

      if (c == '\n')
        {
          at_line++;
          at_column = 1;
        }
      else
        at_column++;
      p += size;
    }

  if (in_string)
    {
      *line = string.line;
      *column = string.column;
      /* json-glib takes a line break in a string: it runs to the end of the file. */
      return g_strdup ("this string is not closed (a \" is missing)");
    }
  if (stack->len > 0)
    {
      Opened *top = &g_array_index (stack, Opened, stack->len - 1);

      *line = top->line;
      *column = top->column;
      return g_strdup_printf ("this %c is not closed: the file ends before its %c", top->bracket,
                              closer_of (top->bracket));
    }
  return NULL;
}

/* The longest part of a line that is shown, around the column. */
#define MAX_SHOWN_LINE_CHARS 120

/**
 * cv_config_quote_line:
 * @data: the config's text
 * @line: a line of it, from 1
 * @column: a column of that line, in characters, from 1
 *
 * Returns: (transfer full) (nullable): two lines, each indented and ending in "\n": the
 *   line (control characters shown as "?", cut to about MAX_SHOWN_LINE_CHARS around
 *   @column) and a caret under @column; %NULL if @data has no such line
 */
char *
cv_config_quote_line (const char *data, gsize len, guint line, guint column)
{
  const char *start = data;
  const char *end = data + len;
  const char *stop;
  g_autofree char *valid = NULL;
  g_autoptr (GString) text = g_string_new ("    ");
  g_autoptr (GString) caret = g_string_new ("    ");
  glong n_chars, first = 0, i = 0;

  for (guint l = 1; l < line; l++)
    {
      start = memchr (start, '\n', end - start);
      if (start == NULL)
        return NULL;
      start++;
    }
  stop = memchr (start, '\n', end - start);
  if (stop == NULL)
    stop = end;
  valid = g_utf8_make_valid (start, stop - start);
  n_chars = g_utf8_strlen (valid, -1);
  if (column > n_chars + 1)
    return NULL;
  if (n_chars > MAX_SHOWN_LINE_CHARS && column > MAX_SHOWN_LINE_CHARS / 2)
    first = MIN ((glong) column - MAX_SHOWN_LINE_CHARS / 2, n_chars - MAX_SHOWN_LINE_CHARS);
  if (first > 0)
    g_string_append (text, "…");
  for (const char *p = g_utf8_offset_to_pointer (valid, first);
       *p != '\0' && i < MAX_SHOWN_LINE_CHARS; p = g_utf8_next_char (p), i++)
    {
      gunichar c = g_utf8_get_char (p);

      /* A tab stays a tab in both lines, so that the caret lines up. */
      if (c == '\t')
        g_string_append_c (text, '\t');
      else if (g_unichar_iscntrl (c))
        g_string_append_c (text, '?');
      else
        g_string_append_unichar (text, c);
      if (first + i + 1 < (glong) column)
        g_string_append_c (caret, c == '\t' ? '\t' : ' ');
    }
  if (first > 0)
    g_string_append (caret, " ");
  g_string_append (caret, "^\n");
  g_string_append_c (text, '\n');
  g_string_append (text, caret->str);
  return g_string_free (g_steal_pointer (&text), FALSE);
}
