/* test-control.c: the control messages' parser (wire/cv-control) on the edges its
 * callers rely on: every refusal comes with an error to show. */
#include "wire/cv-control.h"

#include <string.h>

#define FINGERPRINT_HEX "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

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

/* json-glib reads "\374" as the byte 0xfc: before the fix, a HELLO whose name ended in
 * it was accepted after g_utf8_next_char() had read past the string's end (ASan:
 * heap-buffer-overflow in cv_control_parse_hello).  Found by fuzz-control
 * (corpus/control/crash-hello-name-octal-escape). */
static void
test_parse_octal_escape (void)
{
  static const char *const texts[] = {
    "{\"version\":1,\"role\":\"share\",\"session\":\"s\",\"password\":\"pw\","
    "\"name\":\"ab\\374\",\"fingerprint\":\"sha256:" FINGERPRINT_HEX "\"}",
    "{\"version\":1,\"role\":\"share\",\"session\":\"s\",\"password\":\"p\\256w\","
    "\"fingerprint\":\"sha256:" FINGERPRINT_HEX "\"}",
    "{\"reason\":\"x\",\"k\\374\":1}",
    "{\"a\":[{\"b\":\"\\377\"}]}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr (GBytes) json = g_bytes_new_static (texts[i], strlen (texts[i]));
      g_autoptr (GError) error = NULL;
      g_autoptr (GError) hello_error = NULL;
      g_autoptr (JsonObject) object = cv_control_parse (json, &error);
      g_auto (CvHello) hello = { 0 };

      g_test_message ("%s", texts[i]);
      g_assert_null (object);
      g_assert_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED);
      g_assert_nonnull (strstr (error->message, "UTF-8"));
      g_assert_false (cv_control_parse_hello (json, &hello, &hello_error));
      g_assert_error (hello_error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED);
    }
}

/* A refusal's message is logged and sent back: json-glib's own repeats the string it
 * choked on, unescaped, so "\033" and "\n" in the JSON were an ESC and a line break
 * in the gateway's log. */
static void
test_parse_error_is_one_line (void)
{
  static const char text[] = "{\"\\033[2J\\n<3>session s2: share agent offline\\374\" \"a\"}";
  g_autoptr (GBytes) json = g_bytes_new_static (text, strlen (text));
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) object = cv_control_parse (json, &error);

  g_assert_null (object);
  g_assert_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED);
  g_test_message ("%s", error->message);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  for (const char *p = error->message; *p != '\0'; p++)
    g_assert_cmpint ((guchar) *p, >=, 0x20);
  g_assert_nonnull (strstr (error->message, "\\033[2J\\n<3>session s2"));
}

/* The one value a HELLO's refusal repeats: escaped, since it is the peer's. */
static void
test_hello_role_escaped (void)
{
  static const char text[] = "{\"version\":1,\"role\":\"x\\n<3>forged\",\"session\":\"s\","
                             "\"password\":\"pw\",\"fingerprint\":\"sha256:" FINGERPRINT_HEX "\"}";
  g_autoptr (GBytes) json = g_bytes_new_static (text, strlen (text));
  g_autoptr (GError) error = NULL;
  g_auto (CvHello) hello = { 0 };

  g_assert_false (cv_control_parse_hello (json, &hello, &error));
  g_assert_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED);
  g_assert_cmpstr (error->message, ==,
                   "HELLO: “role” must be “share” or “connect”, not “x\\n<3>forged”");
}

/* One object, each member once (PROTOCOL.md §17.3): json-glib would keep the second
 * "password" of a HELLO and ignore a value after the object. */
static void
test_parse_one_object (void)
{
  static const struct {
    const char *text;
    const char *error; /* NULL: accepted */
  } cases[] = {
    { "{\"a\": 1, \"a\": 2}", "control message gives the member \"a\" twice" },
    { "{\"a\": {\"b\": 1, \"c\": 2, \"b\": 3}}", "gives the member \"b\" twice" },
    { "{\"a\": 1} {\"a\": 2}", "a second JSON value after its object" },
    { "{\"a\": 1} [2]", "a second JSON value after its object" },
    /* The same key in two objects is two members. */
    { "{\"a\": {\"b\": 1}, \"c\": {\"b\": 2}}", NULL },
    { "{\"a\": [{\"b\": 1}, {\"b\": 2}]}", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GBytes) json = g_bytes_new_static (cases[i].text, strlen (cases[i].text));
      g_autoptr (GError) error = NULL;
      g_autoptr (JsonObject) object = cv_control_parse (json, &error);

      g_test_message ("%s", cases[i].text);
      if (cases[i].error == NULL)
        {
          g_assert_no_error (error);
          g_assert_nonnull (object);
          continue;
        }
      g_assert_null (object);
      g_assert_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED);
      g_assert_nonnull (strstr (error->message, cases[i].error));
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/control/parse/empty", test_parse_empty);
  g_test_add_func ("/control/parse/not-object", test_parse_not_object);
  g_test_add_func ("/control/parse/octal-escape", test_parse_octal_escape);
  g_test_add_func ("/control/parse/error-is-one-line", test_parse_error_is_one_line);
  g_test_add_func ("/control/parse/one-object", test_parse_one_object);
  g_test_add_func ("/control/hello/role-escaped", test_hello_role_escaped);
  return g_test_run ();
}
