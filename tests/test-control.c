/* test-control.c: the control messages' parser (wire/cv-control) on the edges its
 * callers rely on: every refusal comes with an error to show. */
#include "wire/cv-control.h"

#include <string.h>

/* json-glib refuses empty data with a critical and no GError; the callers print
 * error->message.  Found by fuzz-control (corpus/control/bad-empty). */
static void
test_parse_empty (void)
{
  g_autoptr (GBytes) empty = g_bytes_new (NULL, 0);
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) object = cv_control_parse (empty, &error);
  g_auto (CvHello) hello = { 0 };

  g_assert_null (object);
  g_assert_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED);
  g_assert_nonnull (strstr (error->message, "empty"));
  g_clear_error (&error);

  g_assert_false (cv_control_parse_hello (empty, &hello, &error));
  g_assert_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED);
}

static void
test_parse_not_object (void)
{
  static const char *const texts[] = { "[]", "1", "\"x\"", "null", "{", "{\"a\":" };

  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr (GBytes) json = g_bytes_new_static (texts[i], strlen (texts[i]));
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonObject) object = cv_control_parse (json, &error);

      g_assert_null (object);
      g_assert_nonnull (error);
      g_assert_cmpstr (error->message, !=, "");
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/control/parse/empty", test_parse_empty);
  g_test_add_func ("/control/parse/not-object", test_parse_not_object);
  return g_test_run ();
}
