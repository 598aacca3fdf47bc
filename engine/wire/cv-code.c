/* cv-code.c: the one parser and formatter of session codes, so that the CLI, the engine
 * and (later) the GUI accept exactly the same spellings. */
#include "wire/cv-code.h"

#include <gio/gio.h>
#include <sodium.h>
#include <string.h>

/* Longest text looked at: nine nameplate digits, six secret digits and generous
 * grouping; longer input is refused before it is scanned. */
#define MAX_TEXT_LEN 64

static gboolean
all_digits (const char *text, gsize min_len, gsize max_len)
{
  gsize len;

  if (text == NULL)
    return FALSE;
  len = strlen (text);
  if (len < min_len || len > max_len)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isdigit (text[i]))
      return FALSE;
  return TRUE;
}

gboolean
cv_code_nameplate_is_valid (const char *nameplate)
{
  return all_digits (nameplate, CV_CODE_NAMEPLATE_MIN_DIGITS, CV_CODE_NAMEPLATE_MAX_DIGITS);
}

gboolean
cv_code_secret_is_valid (const char *secret)
{
  return all_digits (secret, CV_CODE_SECRET_DIGITS, CV_CODE_SECRET_DIGITS);
}

/* Digits with any grouping by '-' or spaces (a code read over the phone is typed in
 * many ways), but nothing else: a letter or another sign is a typo that must not be
 * silently dropped.  The last six digits are the secret, the rest the nameplate.  The
 * digits gathered on the stack are wiped: they hold the secret. */
gboolean
cv_code_parse (const char *text, char **nameplate, char **secret, GError **error)
{
  char digits[MAX_TEXT_LEN + 1];
  gsize n = 0;
  gsize len;

  g_return_val_if_fail (text != NULL, FALSE);

  len = strlen (text);
  if (len > MAX_TEXT_LEN)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "not a session code: longer than %d characters", MAX_TEXT_LEN);
      return FALSE;
    }
  for (gsize i = 0; i < len; i++)
    {
      char c = text[i];

      if (g_ascii_isdigit (c))
        digits[n++] = c;
      else if (c != '-' && c != ' ')
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                       "not a session code: only digits, “-” and spaces may appear "
                       "(character %" G_GSIZE_FORMAT ")",
                       i + 1);
          return FALSE;
        }
    }
  digits[n] = '\0';
  if (n < CV_CODE_NAMEPLATE_MIN_DIGITS + CV_CODE_SECRET_DIGITS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "not a session code: %" G_GSIZE_FORMAT " digits, at least %d expected "
                   "(like 482-913-557)",
                   n, CV_CODE_NAMEPLATE_MIN_DIGITS + CV_CODE_SECRET_DIGITS);
      sodium_memzero (digits, sizeof digits);
      return FALSE;
    }
  if (n > CV_CODE_NAMEPLATE_MAX_DIGITS + CV_CODE_SECRET_DIGITS)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "not a session code: %" G_GSIZE_FORMAT " digits, at most %d expected", n,
                   CV_CODE_NAMEPLATE_MAX_DIGITS + CV_CODE_SECRET_DIGITS);
      sodium_memzero (digits, sizeof digits);
      return FALSE;
    }
  if (nameplate != NULL)
    *nameplate = g_strndup (digits, n - CV_CODE_SECRET_DIGITS);
  if (secret != NULL)
    *secret = g_strdup (digits + n - CV_CODE_SECRET_DIGITS);
  sodium_memzero (digits, sizeof digits);
  return TRUE;
}

/* "482-913-557": the nameplate, then the secret in two groups of three, so that it
 * reads aloud in threes whatever the nameplate's length. */
char *
cv_code_format (const char *nameplate, const char *secret)
{
  g_return_val_if_fail (cv_code_nameplate_is_valid (nameplate), NULL);
  g_return_val_if_fail (cv_code_secret_is_valid (secret), NULL);

  return g_strdup_printf ("%s-%.3s-%.3s", nameplate, secret, secret + 3);
}
