/* test-code.c: which spellings of a session code are accepted, how they split into
 * nameplate and secret, how a code is written, and how each refusal reads. */
#include "wire/cv-code.h"

#include <gio/gio.h>
#include <string.h>

typedef struct {
  const char *text;
  const char *nameplate; /* NULL: refused */
  const char *secret;
  const char *error; /* a part of the expected message */
} Case;

static const Case cases[] = {
  { "482-913-557", "482", "913557" },
  { "482 913 557", "482", "913557" },
  { "482913557", "482", "913557" },
  { "  482 - 913-557 ", "482", "913557" },
  { "4821-913-557", "4821", "913557" },
  { "123456789-123-456", "123456789", "123456" },
  { "000-000-000", "000", "000000" },
  { "", NULL, NULL, "0 digits, at least 9" },
  { "48-913-557", NULL, NULL, "8 digits, at least 9" },
  { "913-557", NULL, NULL, "at least 9" },
  { "1234567890-123-456", NULL, NULL, "16 digits, at most 15" },
  { "482-913-55a", NULL, NULL, "only digits, “-” and spaces may appear (character 11)" },
  { "482_913_557", NULL, NULL, "character 4" },
  { "482.913.557", NULL, NULL, "character 4" },
  { "+482-913-557", NULL, NULL, "character 1" },
  { "482-913-557\n", NULL, NULL, "character 12" },
  { "४८२-९१३-५५७", NULL, NULL, "character 1" }, /* Devanagari digits are not ASCII */
  { "1111111111111111111111111111111111111111111111111111111111111111111", NULL, NULL,
    "longer than 64" },
};

static void
test_parse (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const Case *c = &cases[i];
      g_autoptr (GError) error = NULL;
      g_autofree char *nameplate = NULL;
      g_autofree char *secret = NULL;
      gboolean ok = cv_code_parse (c->text, &nameplate, &secret, &error);

      g_test_message ("“%s”", c->text);
      if (c->nameplate != NULL)
        {
          g_assert_no_error (error);
          g_assert_true (ok);
          g_assert_cmpstr (nameplate, ==, c->nameplate);
          g_assert_cmpstr (secret, ==, c->secret);
          g_assert_true (cv_code_nameplate_is_valid (nameplate));
          g_assert_true (cv_code_secret_is_valid (secret));
        }
      else
        {
          g_assert_false (ok);
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
          g_assert_true (g_str_has_prefix (error->message, "not a session code: "));
          g_assert_nonnull (strstr (error->message, c->error));
          g_assert_null (nameplate);
          g_assert_null (secret);
        }
    }
}

static void
test_format (void)
{
  g_autofree char *three = cv_code_format ("482", "913557");
  g_autofree char *five = cv_code_format ("10482", "000001");
  g_autofree char *nameplate = NULL;
  g_autofree char *secret = NULL;

  g_assert_cmpstr (three, ==, "482-913-557");
  g_assert_cmpstr (five, ==, "10482-000-001");
  /* What is written parses back to the same parts. */
  g_assert_true (cv_code_parse (five, &nameplate, &secret, NULL));
  g_assert_cmpstr (nameplate, ==, "10482");
  g_assert_cmpstr (secret, ==, "000001");
}

static void
test_validity (void)
{
  g_assert_true (cv_code_nameplate_is_valid ("100"));
  g_assert_true (cv_code_nameplate_is_valid ("123456789"));
  g_assert_false (cv_code_nameplate_is_valid ("12"));
  g_assert_false (cv_code_nameplate_is_valid ("1234567890"));
  g_assert_false (cv_code_nameplate_is_valid ("12a"));
  g_assert_false (cv_code_nameplate_is_valid (NULL));
  g_assert_true (cv_code_secret_is_valid ("000000"));
  g_assert_false (cv_code_secret_is_valid ("00000"));
  g_assert_false (cv_code_secret_is_valid ("0000000"));
  g_assert_false (cv_code_secret_is_valid ("00000x"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/code/parse", test_parse);
  g_test_add_func ("/code/format", test_format);
  g_test_add_func ("/code/validity", test_validity);
  return g_test_run ();
}
