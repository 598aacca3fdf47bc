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

static JsonObject *
parse_text (const char *text)
{
  g_autoptr (GBytes) json = g_bytes_new (text, strlen (text));
  g_autoptr (GError) error = NULL;
  JsonObject *object = cv_control_parse (json, &error);

  g_assert_no_error (error);
  return object;
}

static gboolean
hello_parses (const char *text, CvHello *hello, GError **error)
{
  g_autoptr (GBytes) json = g_bytes_new (text, strlen (text));

  return cv_control_parse_hello (json, hello, error);
}

#define FP "\"fingerprint\":\"sha256:" FINGERPRINT_HEX "\""

/* Code mode (SESSION-CODES.md §4): no credential, a nameplate for connect agents only;
 * password mode stays as strict as before. */
static void
test_hello_code_mode (void)
{
  static const struct {
    const char *json;
    const char *error; /* NULL: accepted */
  } cases[] = {
    { "{\"version\":1,\"role\":\"share\",\"mode\":\"code\",\"name\":\"a\"," FP "}", NULL },
    { "{\"version\":1,\"role\":\"connect\",\"mode\":\"code\",\"nameplate\":\"482\"," FP "}", NULL },
    { "{\"version\":1,\"role\":\"connect\",\"mode\":\"code\",\"nameplate\":\"123456789\"," FP "}",
      NULL },
    { "{\"version\":1,\"role\":\"connect\",\"mode\":\"code\"," FP "}", "nameplate" },
    { "{\"version\":1,\"role\":\"connect\",\"mode\":\"code\",\"nameplate\":\"48\"," FP "}",
      "nameplate" },
    { "{\"version\":1,\"role\":\"connect\",\"mode\":\"code\",\"nameplate\":\"1234567890\"," FP "}",
      "nameplate" },
    { "{\"version\":1,\"role\":\"connect\",\"mode\":\"code\",\"nameplate\":\"48a\"," FP "}",
      "nameplate" },
    { "{\"version\":1,\"role\":\"connect\",\"mode\":\"code\",\"nameplate\":\"082\"," FP "}",
      "nameplate" },
    { "{\"version\":1,\"role\":\"connect\",\"mode\":\"code\",\"nameplate\":482," FP "}",
      "nameplate" },
    { "{\"version\":1,\"role\":\"share\",\"mode\":\"code\",\"nameplate\":\"482\"," FP "}",
      "nameplate" },
    /* The credential a gateway's policy may ask for (SESSION-CODES.md §4). */
    { "{\"version\":1,\"role\":\"share\",\"mode\":\"code\",\"session\":\"s\"," FP "}", "password" },
    { "{\"version\":1,\"role\":\"share\",\"mode\":\"code\",\"session\":\"s\",\"password\":"
      "\"p\"," FP "}",
      NULL },
    { "{\"version\":1,\"role\":\"connect\",\"mode\":\"code\",\"nameplate\":\"482\","
      "\"technician\":\"Ana Lima\",\"password\":\"p\"," FP "}",
      NULL },
    { "{\"version\":1,\"role\":\"connect\",\"mode\":\"code\",\"nameplate\":\"482\","
      "\"session\":\"s\",\"password\":\"p\"," FP "}",
      "“technician”, not a “session”" },
    { "{\"version\":1,\"role\":\"share\",\"mode\":\"code\",\"technician\":\"Ana\","
      "\"password\":\"p\"," FP "}",
      "“session”, not a “technician”" },
    { "{\"version\":1,\"role\":\"connect\",\"mode\":\"code\",\"nameplate\":\"482\","
      "\"technician\":\"Ana\",\"session\":\"s\",\"password\":\"p\"," FP "}",
      "one “session” or one “technician”" },
    { "{\"version\":1,\"role\":\"connect\",\"mode\":\"code\",\"nameplate\":\"482\","
      "\"technician\":\"Ana\"," FP "}",
      "password" },
    { "{\"version\":1,\"role\":\"connect\",\"mode\":\"code\",\"nameplate\":\"482\","
      "\"technician\":\"\",\"password\":\"p\"," FP "}",
      "technician" },
    { "{\"version\":1,\"role\":\"connect\",\"mode\":\"code\",\"nameplate\":\"482\","
      "\"technician\":\"A\\u001b[2J\",\"password\":\"p\"," FP "}",
      "control character" },
    { "{\"version\":1,\"role\":\"connect\",\"mode\":\"code\",\"nameplate\":\"482\","
      "\"technician\":7,\"password\":\"p\"," FP "}",
      "technician" },
    { "{\"version\":1,\"role\":\"connect\",\"session\":\"s\",\"password\":\"p\","
      "\"technician\":\"Ana\"," FP "}",
      "“technician” belongs to a code login" },
    { "{\"version\":1,\"role\":\"share\",\"mode\":\"code\",\"password\":\"p\"," FP "}",
      "one “session” or one “technician”" },
    { "{\"version\":1,\"role\":\"share\",\"mode\":\"wormhole\"," FP "}", "mode" },
    { "{\"version\":1,\"role\":\"share\",\"mode\":\"password\",\"session\":\"s\",\"password\":"
      "\"p\"," FP "}",
      NULL },
    { "{\"version\":1,\"role\":\"share\",\"session\":\"s\",\"password\":\"p\",\"nameplate\":"
      "\"482\"," FP "}",
      "nameplate" },
    { "{\"version\":1,\"role\":\"share\",\"password\":\"p\"," FP "}", "session" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto (CvHello) hello = { 0 };
      g_autoptr (GError) error = NULL;
      gboolean ok = hello_parses (cases[i].json, &hello, &error);

      if (cases[i].error == NULL)
        {
          g_assert_no_error (error);
          g_assert_true (ok);
          continue;
        }
      g_assert_false (ok);
      g_assert_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED);
      g_assert_nonnull (strstr (error->message, cases[i].error));
    }
}

/* What an agent builds, the gateway parses to the same fields. */
static void
test_hello_code_round_trip (void)
{
  CvHello hello = { .version = 1,
                    .role = CV_AGENT_ROLE_CONNECT,
                    .name = (char *) "Ana",
                    .fingerprint = (char *) "sha256:" FINGERPRINT_HEX,
                    .mode = CV_HELLO_MODE_CODE,
                    .nameplate = (char *) "4821" };
  g_autofree char *json = cv_control_build_hello (&hello);
  g_auto (CvHello) back = { 0 };
  g_autoptr (GError) error = NULL;

  g_assert_null (strstr (json, "session"));
  g_assert_null (strstr (json, "password"));
  g_assert_true (hello_parses (json, &back, &error));
  g_assert_no_error (error);
  g_assert_cmpint (back.mode, ==, CV_HELLO_MODE_CODE);
  g_assert_cmpint (back.role, ==, CV_AGENT_ROLE_CONNECT);
  g_assert_cmpstr (back.nameplate, ==, "4821");
  g_assert_null (back.session);
  g_assert_null (back.password);
  g_assert_cmpstr (back.name, ==, "Ana");
  g_assert_null (back.technician);
}

/* A technician's claim: the account and its password round trip; a share agent's
 * session and share password likewise. */
static void
test_hello_code_credentials_round_trip (void)
{
  CvHello connect = { .version = 1,
                      .role = CV_AGENT_ROLE_CONNECT,
                      .name = (char *) "laptop",
                      .fingerprint = (char *) "sha256:" FINGERPRINT_HEX,
                      .mode = CV_HELLO_MODE_CODE,
                      .nameplate = (char *) "4821",
                      .technician = (char *) "Ana Lima",
                      .password = (char *) "pw" };
  CvHello share = { .version = 1,
                    .role = CV_AGENT_ROLE_SHARE,
                    .name = (char *) "desk",
                    .fingerprint = (char *) "sha256:" FINGERPRINT_HEX,
                    .mode = CV_HELLO_MODE_CODE,
                    .session = (char *) "s1",
                    .password = (char *) "share pw" };
  g_autofree char *connect_json = cv_control_build_hello (&connect);
  g_autofree char *share_json = cv_control_build_hello (&share);
  g_auto (CvHello) back = { 0 };
  g_auto (CvHello) share_back = { 0 };

  g_assert_true (hello_parses (connect_json, &back, NULL));
  g_assert_cmpint (back.mode, ==, CV_HELLO_MODE_CODE);
  g_assert_cmpstr (back.technician, ==, "Ana Lima");
  g_assert_cmpstr (back.password, ==, "pw");
  g_assert_null (back.session);
  g_assert_true (hello_parses (share_json, &share_back, NULL));
  g_assert_cmpstr (share_back.session, ==, "s1");
  g_assert_cmpstr (share_back.password, ==, "share pw");
  g_assert_null (share_back.technician);
}

static void
test_code_bytes (void)
{
  guint8 msg[CV_CONTROL_CODE_BYTES], back[CV_CONTROL_CODE_BYTES];
  g_autoptr (JsonObject) body = NULL;
  const char *text;

  for (guint i = 0; i < sizeof msg; i++)
    msg[i] = 0xf0 + i; /* bytes whose base64 uses '-' and '_' */
  body = cv_control_build_code_bytes (CV_CONTROL_CODE_PAKE, msg);
  text = json_object_get_string_member (body, "msg");
  g_assert_cmpuint (strlen (text), ==, 43);
  g_assert_true (strchr (text, '-') != NULL || strchr (text, '_') != NULL);
  g_assert_true (cv_control_parse_code_bytes (CV_CONTROL_CODE_PAKE, body, back, NULL));
  g_assert_cmpmem (msg, sizeof msg, back, sizeof back);
  g_assert_true (cv_control_check_code_message (CV_CONTROL_CODE_PAKE, body, NULL));
  /* The same bytes under CONFIRM's member name are not a CONFIRM. */
  g_assert_false (cv_control_check_code_message (CV_CONTROL_CODE_CONFIRM, body, NULL));

  {
    static const char *const bad[] = {
      "{}",
      "{\"msg\":1}",
      "{\"msg\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",   /* 42 */
      "{\"msg\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", /* 44 */
      "{\"msg\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}",  /* padded */
      "{\"msg\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+\"}",  /* not url-safe */
      "{\"msg\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB\"}",  /* unused bits set */
    };

    for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        g_autoptr (JsonObject) object = parse_text (bad[i]);
        g_autoptr (GError) error = NULL;

        g_assert_false (cv_control_check_code_message (CV_CONTROL_CODE_PAKE, object, &error));
        g_assert_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED);
      }
  }
  {
    g_autoptr (JsonObject) ok = parse_text (
      "{\"mac\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}");

    g_assert_true (cv_control_check_code_message (CV_CONTROL_CODE_CONFIRM, ok, NULL));
  }
}

static void
test_code_peer (void)
{
  g_autofree char *claim_id = cv_control_new_claim_id ();
  CvCodePeer peer = { .peer_fingerprint = (char *) "sha256:" FINGERPRINT_HEX,
                      .peer_name = (char *) "Ana",
                      .peer_address = (char *) "203.0.113.7",
                      .claim_id = claim_id };
  g_autoptr (JsonObject) body = cv_control_build_code_peer (&peer);
  g_auto (CvCodePeer) back = { 0 };
  guint8 sid[CV_CONTROL_CLAIM_ID_BYTES];
  g_autoptr (GError) error = NULL;

  g_assert_cmpuint (strlen (claim_id), ==, CV_CONTROL_CLAIM_ID_CHARS);
  g_assert_true (cv_control_decode_claim_id (claim_id, sid, NULL));
  g_assert_true (cv_control_parse_code_peer (body, TRUE, &back, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (back.peer_fingerprint, ==, peer.peer_fingerprint);
  g_assert_cmpstr (back.peer_name, ==, "Ana");
  g_assert_cmpstr (back.peer_address, ==, "203.0.113.7");
  g_assert_cmpstr (back.claim_id, ==, claim_id);
  g_assert_true (cv_control_check_code_message (CV_CONTROL_CODE_CLAIMED, body, NULL));

  json_object_set_string_member (body, "claim_id", "short");
  g_assert_false (cv_control_check_code_message (CV_CONTROL_CODE_CLAIMED, body, &error));
  g_assert_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED);
  g_clear_error (&error);
  json_object_set_string_member (body, "claim_id", claim_id);
  json_object_set_string_member (body, "peer_name", "A\nna");
  g_assert_false (cv_control_check_code_message (CV_CONTROL_CODE_CLAIMED, body, &error));
  g_clear_error (&error);
  json_object_set_string_member (body, "peer_name", "Ana");
  json_object_remove_member (body, "peer_address");
  g_assert_false (cv_control_check_code_message (CV_CONTROL_CODE_CLAIMED, body, &error));
  g_clear_error (&error);
  /* A connect agent's WELCOME has no address. */
  g_assert_true (cv_control_parse_code_peer (body, FALSE, NULL, &error));
  g_assert_no_error (error);
}

static void
test_code_nameplate_and_failed (void)
{
  g_autoptr (JsonObject) body = cv_control_build_code_nameplate ("482", 1700000000000);
  g_autofree char *nameplate = NULL;
  gint64 expires = 0;
  g_autoptr (GError) error = NULL;

  g_assert_true (cv_control_parse_code_nameplate (body, &nameplate, &expires, &error));
  g_assert_cmpstr (nameplate, ==, "482");
  g_assert_cmpint (expires, ==, 1700000000000);
  json_object_set_string_member (body, "nameplate", "48");
  g_assert_false (cv_control_check_code_message (CV_CONTROL_CODE_NAMEPLATE, body, &error));
  g_clear_error (&error);
  json_object_set_string_member (body, "nameplate", "482");
  json_object_set_string_member (body, "expires_at_ms", "soon");
  g_assert_false (cv_control_check_code_message (CV_CONTROL_CODE_NAMEPLATE, body, &error));
  g_clear_error (&error);

  {
    g_autoptr (JsonObject) failed = cv_control_build_code_failed (CV_REASON_BAD_CODE);
    g_autoptr (JsonObject) other = parse_text ("{\"reason\":\"tired\"}");
    g_autoptr (JsonObject) empty = parse_text ("{}");

    g_assert_cmpstr (cv_control_parse_code_failed (failed, NULL), ==, CV_REASON_BAD_CODE);
    g_assert_false (cv_control_check_code_message (CV_CONTROL_CODE_FAILED, other, NULL));
    g_assert_true (cv_control_check_code_message (CV_CONTROL_CODE_DONE, empty, NULL));
    g_assert_true (cv_control_check_code_message (CV_CONTROL_CODE_RENEW, empty, NULL));
    g_assert_false (cv_control_check_code_message (CV_CONTROL_TUNNEL_REQUEST, empty, NULL));
  }
  g_assert_cmpint (cv_refusal_from_string ("bad-code"), ==, CV_REFUSAL_BAD_CODE);
  g_assert_cmpint (cv_refusal_from_string ("code-expired"), ==, CV_REFUSAL_CODE_EXPIRED);
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
  g_test_add_func ("/control/hello/code-mode", test_hello_code_mode);
  g_test_add_func ("/control/hello/code-round-trip", test_hello_code_round_trip);
  g_test_add_func ("/control/hello/code-round-trip-credentials",
                   test_hello_code_credentials_round_trip);
  g_test_add_func ("/control/code/bytes", test_code_bytes);
  g_test_add_func ("/control/code/peer", test_code_peer);
  g_test_add_func ("/control/code/nameplate-and-failed", test_code_nameplate_and_failed);
  return g_test_run ();
}
