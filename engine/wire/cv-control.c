/* cv-control.c: build and parse control messages; every field is checked for type and size,
 * since they come from the network before anyone is authenticated. */
#include "wire/cv-control.h"

#include "wire/cv-json-watch.h"

#include "wire/cv-frame.h"

#include <sodium.h>
#include <string.h>

/* clang-format off */
G_DEFINE_QUARK (cv-control-error-quark, cv_control_error)
G_DEFINE_QUARK (cv-refusal-error-quark, cv_refusal_error)
/* clang-format on */

/* The nicks are the wire strings, which are the protocol. */
G_DEFINE_ENUM_TYPE (CvRefusal,
                    cv_refusal,
                    G_DEFINE_ENUM_VALUE (CV_REFUSAL_NONE, "none"),
                    G_DEFINE_ENUM_VALUE (CV_REFUSAL_UNKNOWN, "unknown"),
                    G_DEFINE_ENUM_VALUE (CV_REFUSAL_BAD_PASSWORD, CV_REASON_BAD_PASSWORD),
                    G_DEFINE_ENUM_VALUE (CV_REFUSAL_UNKNOWN_SESSION, CV_REASON_UNKNOWN_SESSION),
                    G_DEFINE_ENUM_VALUE (CV_REFUSAL_VERSION_MISMATCH, CV_REASON_VERSION_MISMATCH),
                    G_DEFINE_ENUM_VALUE (CV_REFUSAL_RATE_LIMITED, CV_REASON_RATE_LIMITED),
                    G_DEFINE_ENUM_VALUE (CV_REFUSAL_BAD_REQUEST, CV_REASON_BAD_REQUEST),
                    G_DEFINE_ENUM_VALUE (CV_REFUSAL_LIMIT_REACHED, CV_REASON_LIMIT_REACHED),
                    G_DEFINE_ENUM_VALUE (CV_REFUSAL_SHUTTING_DOWN, CV_REASON_SHUTTING_DOWN),
                    G_DEFINE_ENUM_VALUE (CV_REFUSAL_REPLACED, CV_REASON_REPLACED),
                    G_DEFINE_ENUM_VALUE (CV_REFUSAL_SHARE_OFFLINE, CV_REASON_SHARE_OFFLINE),
                    G_DEFINE_ENUM_VALUE (CV_REFUSAL_BAD_CODE, CV_REASON_BAD_CODE),
                    G_DEFINE_ENUM_VALUE (CV_REFUSAL_CODE_EXPIRED, CV_REASON_CODE_EXPIRED))

/* Held for the life of the process, as every enum class a property uses is. */
static GEnumClass *
refusal_class (void)
{
  static GEnumClass *klass;

  if (g_once_init_enter (&klass))
    g_once_init_leave (&klass, g_type_class_ref (CV_TYPE_REFUSAL));
  return klass;
}

/**
 * cv_refusal_from_string:
 * @reason: (nullable): a reason code from the wire
 *
 * Returns: its value; %CV_REFUSAL_UNKNOWN for a code this version does not know, or none
 */
CvRefusal
cv_refusal_from_string (const char *reason)
{
  GEnumValue *value = reason != NULL ? g_enum_get_value_by_nick (refusal_class (), reason) : NULL;

  if (value == NULL || value->value == CV_REFUSAL_NONE)
    return CV_REFUSAL_UNKNOWN;
  return value->value;
}

/* The wire string of @refusal ("none" and "unknown" are never sent). */
const char *
cv_refusal_to_string (CvRefusal refusal)
{
  GEnumValue *value = g_enum_get_value (refusal_class (), refusal);

  return value != NULL ? value->value_nick : "unknown";
}

#define MAX_SESSION_LEN 64
#define MAX_PASSWORD_LEN 1024
#define MAX_FINGERPRINT_LEN 80

const char *
cv_agent_role_to_string (CvAgentRole role)
{
  return role == CV_AGENT_ROLE_SHARE ? "share" : "connect";
}

void
cv_hello_clear (CvHello *hello)
{
  g_clear_pointer (&hello->session, g_free);
  if (hello->password != NULL)
    {
      sodium_memzero (hello->password, strlen (hello->password));
      g_clear_pointer (&hello->password, g_free);
    }
  g_clear_pointer (&hello->name, g_free);
  g_clear_pointer (&hello->fingerprint, g_free);
  g_clear_pointer (&hello->nameplate, g_free);
  g_clear_pointer (&hello->technician, g_free);
  hello->mode = CV_HELLO_MODE_PASSWORD;
}

/**
 * cv_json_is_utf8:
 * @node: parsed JSON
 *
 * json-glib's scanner (GScanner's) takes octal escapes in strings: "\374" is the byte
 * 0xfc, so valid UTF-8 text parses into strings that are not.  Their readers walk them
 * as UTF-8 (g_utf8_next_char() past a lone 0xfc skips the NUL), log them, and send
 * them on to agents whose frame decoder refuses them.
 *
 * Returns: whether every string under @node, member names included, is UTF-8
 */
gboolean
cv_json_is_utf8 (JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;

        json_object_iter_init (&iter, json_node_get_object (node));
        while (json_object_iter_next (&iter, &name, &member))
          if (!g_utf8_validate (name, -1, NULL) || !cv_json_is_utf8 (member))
            return FALSE;
        return TRUE;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        for (guint i = 0; i < json_array_get_length (array); i++)
          if (!cv_json_is_utf8 (json_array_get_element (array, i)))
            return FALSE;
        return TRUE;
      }
    case JSON_NODE_VALUE:
      return json_node_get_value_type (node) != G_TYPE_STRING
             || g_utf8_validate (json_node_get_string (node), -1, NULL);
    case JSON_NODE_NULL:
    default:
      return TRUE;
    }
}

JsonObject *
cv_control_parse (GBytes *json, GError **error)
{
  g_auto (CvJsonWatch) watch = { 0 };
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GError) local_error = NULL;
  gsize len;
  const char *data = g_bytes_get_data (json, &len);
  JsonNode *root;

  cv_json_watch_init (&watch);
  parser = cv_json_watch_parser_new (&watch, TRUE);

  /* json-glib refuses empty data with a critical and no error at all, which would leave
   * every caller's error->message a NULL dereference.  (The frame layer passes no empty
   * message today; this function takes any bytes.) */
  if (len == 0)
    {
      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "control message is empty, expected a JSON object");
      return NULL;
    }
  if (!json_parser_load_from_data (parser, data, len, &local_error))
    {
      /* json-glib may repeat a string of the message, unescaped ("\033" as ESC, "\374"
       * as 0xfc): the peer's text, on its way to logs and back to the peer. */
      g_autofree char *escaped = g_strescape (local_error->message, "\"");

      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "control message is not JSON: %s", escaped);
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "control message is not a JSON object");
      return NULL;
    }
  /* One object, each member once (§17.3): json-glib would keep the last of two equal
   * members and ignore what follows the first value, so two readers of one message
   * could differ as soon as one of them is not json-glib. */
  if (watch.n_documents > 1)
    {
      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "control message holds a second JSON value after its object");
      return NULL;
    }
  if (watch.duplicate_key != NULL)
    {
      g_autofree char *key = g_strescape (watch.duplicate_key, NULL);

      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "control message gives the member \"%.64s\" twice", key);
      return NULL;
    }
  if (!cv_json_is_utf8 (root))
    {
      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "control message holds a string that is not UTF-8 (an octal escape?)");
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

char *
cv_control_to_string (JsonObject *object)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), object);

  return json_to_string (node, FALSE);
}

const char *
cv_control_get_string (JsonObject *object,
                       const char *key,
                       gsize max_len,
                       gboolean required,
                       GError **error)
{
  JsonNode *node = json_object_get_member (object, key);
  const char *value;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      if (required)
        g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                     "control message lacks “%s”", key);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING)
    {
      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "control message: “%s” must be a string", key);
      return NULL;
    }
  value = json_node_get_string (node);
  if (strlen (value) > max_len || (required && *value == '\0'))
    {
      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "control message: “%s” must be 1 to %" G_GSIZE_FORMAT " bytes", key, max_len);
      return NULL;
    }
  return value;
}

gboolean
cv_control_get_bool (JsonObject *object, const char *key, gboolean *value, GError **error)
{
  JsonNode *node = json_object_get_member (object, key);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    {
      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "control message: “%s” must be true or false", key);
      return FALSE;
    }
  *value = json_node_get_boolean (node);
  return TRUE;
}

char *
cv_control_build_hello (const CvHello *hello)
{
  g_autoptr (JsonObject) object = json_object_new ();

  json_object_set_int_member (object, "version", hello->version);
  json_object_set_string_member (object, "role", cv_agent_role_to_string (hello->role));
  if (hello->mode == CV_HELLO_MODE_CODE)
    {
      json_object_set_string_member (object, "mode", "code");
      if (hello->role == CV_AGENT_ROLE_CONNECT)
        json_object_set_string_member (object, "nameplate", hello->nameplate);
      /* What the gateway's policy may ask for: a share password, a technician account. */
      if (hello->role == CV_AGENT_ROLE_SHARE && hello->session != NULL)
        json_object_set_string_member (object, "session", hello->session);
      if (hello->role == CV_AGENT_ROLE_CONNECT && hello->technician != NULL)
        json_object_set_string_member (object, "technician", hello->technician);
      if (hello->password != NULL)
        json_object_set_string_member (object, "password", hello->password);
    }
  else
    {
      json_object_set_string_member (object, "session", hello->session);
      json_object_set_string_member (object, "password", hello->password);
    }
  json_object_set_string_member (object, "name", hello->name != NULL ? hello->name : "");
  json_object_set_string_member (object, "fingerprint", hello->fingerprint);
  return cv_control_to_string (object);
}

/**
 * cv_control_fit_name:
 * @name: an agent's name, valid UTF-8 (its config's, or the host name)
 *
 * Returns: (transfer full): @name cut to CV_CONTROL_MAX_NAME_CHARS characters, so
 *   that a HELLO carries it
 */
char *
cv_control_fit_name (const char *name)
{
  return g_utf8_substring (name, 0, MIN (g_utf8_strlen (name, -1), CV_CONTROL_MAX_NAME_CHARS));
}

/* @object's "nameplate", or NULL with an error that names @what. */
static const char *
get_nameplate (JsonObject *object, const char *what, GError **error)
{
  const char *nameplate = cv_control_get_string (object, "nameplate",
                                                 CV_CONTROL_NAMEPLATE_MAX_DIGITS, TRUE, error);

  if (nameplate == NULL)
    return NULL;
  if (!cv_control_is_nameplate (nameplate))
    {
      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "%s: “nameplate” must be %d to %d digits", what, CV_CONTROL_NAMEPLATE_MIN_DIGITS,
                   CV_CONTROL_NAMEPLATE_MAX_DIGITS);
      return NULL;
    }
  return nameplate;
}

/* A code login's credential, which the gateway's policy may ask for (SESSION-CODES.md
 * §4): none, or a password with exactly one of "session" (a share password) and
 * "technician" (a technician account).  Which role may send which is the caller's. */
static gboolean
parse_code_credential (JsonObject *object,
                       const char **session,
                       const char **technician,
                       const char **password,
                       GError **error)
{
  gboolean has_session = json_object_has_member (object, "session");
  gboolean has_technician = json_object_has_member (object, "technician");

  *session = *technician = *password = NULL;
  if (!has_session && !has_technician && !json_object_has_member (object, "password"))
    return TRUE;
  if (has_session == has_technician)
    {
      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "HELLO: a code login's “password” goes with one “session” or one "
                   "“technician”");
      return FALSE;
    }
  if (has_session
      && (*session = cv_control_get_string (object, "session", MAX_SESSION_LEN, TRUE, error))
           == NULL)
    return FALSE;
  if (has_technician
      && (*technician = cv_control_get_string (object, "technician", CV_CONTROL_MAX_NAME_BYTES,
                                               TRUE, error))
           == NULL)
    return FALSE;
  if (has_technician
      && (!g_utf8_validate (*technician, -1, NULL)
          || g_utf8_strlen (*technician, -1) > CV_CONTROL_MAX_NAME_CHARS))
    {
      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "HELLO: “technician” must be at most %u characters", CV_CONTROL_MAX_NAME_CHARS);
      return FALSE;
    }
  for (const char *p = *technician != NULL ? *technician : ""; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      {
        g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                     "HELLO: “technician” holds a control character");
        return FALSE;
      }
  return (*password = cv_control_get_string (object, "password", MAX_PASSWORD_LEN, TRUE, error))
         != NULL;
}

gboolean
cv_control_parse_hello (GBytes *json, CvHello *hello, GError **error)
{
  g_autoptr (JsonObject) object = cv_control_parse (json, error);
  const char *role, *session, *password, *name, *fingerprint, *mode, *nameplate = NULL;
  const char *technician;
  gboolean code;
  JsonNode *version;

  if (object == NULL)
    return FALSE;
  version = json_object_get_member (object, "version");
  if (version == NULL || !JSON_NODE_HOLDS_VALUE (version)
      || json_node_get_value_type (version) != G_TYPE_INT64 || json_node_get_int (version) < 1
      || json_node_get_int (version) > G_MAXUINT16)
    {
      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "HELLO: “version” must be a positive integer");
      return FALSE;
    }
  mode = cv_control_get_string (object, "mode", 16, FALSE, error);
  if (mode == NULL && error != NULL && *error != NULL)
    return FALSE;
  if (mode != NULL && !g_str_equal (mode, "code") && !g_str_equal (mode, "password"))
    {
      g_autofree char *shown = g_strescape (mode, NULL);

      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "HELLO: “mode” must be “password” or “code”, not “%s”", shown);
      return FALSE;
    }
  code = mode != NULL && g_str_equal (mode, "code");
  technician = NULL;
  if (code)
    {
      if (!parse_code_credential (object, &session, &technician, &password, error))
        return FALSE;
    }
  else if ((session = cv_control_get_string (object, "session", MAX_SESSION_LEN, TRUE, error))
             == NULL
           || (password = cv_control_get_string (object, "password", MAX_PASSWORD_LEN, TRUE, error))
                == NULL)
    return FALSE;
  if (!code && json_object_has_member (object, "technician"))
    {
      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "HELLO: “technician” belongs to a code login");
      return FALSE;
    }
  if (!code && json_object_has_member (object, "nameplate"))
    {
      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "HELLO: “nameplate” belongs to a code login");
      return FALSE;
    }
  if ((role = cv_control_get_string (object, "role", 16, TRUE, error)) == NULL
      || (fingerprint = cv_control_get_string (object, "fingerprint", MAX_FINGERPRINT_LEN, TRUE,
                                               error))
           == NULL)
    return FALSE;
  name = cv_control_get_string (object, "name", G_MAXSIZE, FALSE, error);
  if (name == NULL && error != NULL && *error != NULL)
    return FALSE;
  /* A longer name would reach the other agent as none at all. */
  if (name != NULL
      && (strlen (name) > CV_CONTROL_MAX_NAME_BYTES || !g_utf8_validate (name, -1, NULL)
          || g_utf8_strlen (name, -1) > CV_CONTROL_MAX_NAME_CHARS))
    {
      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "HELLO: “name” must be at most %u characters, the longest name agents show",
                   CV_CONTROL_MAX_NAME_CHARS);
      return FALSE;
    }
  /* These end up in the gateway's logs and in the other agent's UI: no line breaks,
   * no escape sequences, and session ids in the same alphabet as the config's. */
  for (const char *p = session != NULL ? session : ""; *p != '\0'; p++)
    if (!(g_ascii_isalnum (*p) || *p == '.' || *p == '_' || *p == '-'))
      {
        g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                     "HELLO: “session” may hold only letters, digits, “.”, “_” and “-”");
        return FALSE;
      }
  if (name != NULL)
    for (const char *p = name; *p != '\0'; p = g_utf8_next_char (p))
      if (g_unichar_iscntrl (g_utf8_get_char (p)))
        {
          g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                       "HELLO: “name” holds a control character");
          return FALSE;
        }
  if (!g_str_has_prefix (fingerprint, "sha256:") || strlen (fingerprint) != 7 + 64
      || strspn (fingerprint + 7, "0123456789abcdefABCDEF") != 64)
    {
      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "HELLO: “fingerprint” must be sha256: and 64 hexadecimal digits");
      return FALSE;
    }
  if (!g_str_equal (role, "share") && !g_str_equal (role, "connect"))
    {
      /* Escaped: the peer's 16 bytes go to the log and back to it. */
      g_autofree char *shown = g_strescape (role, NULL);

      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "HELLO: “role” must be “share” or “connect”, not “%s”", shown);
      return FALSE;
    }
  if (code && g_str_equal (role, "connect"))
    {
      if ((nameplate = get_nameplate (object, "HELLO", error)) == NULL)
        return FALSE;
      if (session != NULL)
        {
          g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                       "HELLO: a connect agent's code login names a “technician”, not a "
                       "“session”");
          return FALSE;
        }
    }
  else if (code && technician != NULL)
    {
      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "HELLO: a share agent's code login names a “session”, not a “technician”");
      return FALSE;
    }
  else if (code && json_object_has_member (object, "nameplate"))
    {
      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "HELLO: a share agent does not send a “nameplate”: the gateway allocates it");
      return FALSE;
    }

  hello->version = json_node_get_int (version);
  hello->role = g_str_equal (role, "share") ? CV_AGENT_ROLE_SHARE : CV_AGENT_ROLE_CONNECT;
  hello->session = g_strdup (session);
  hello->password = g_strdup (password);
  hello->name = g_strdup (name != NULL ? name : "");
  hello->fingerprint = g_strdup (fingerprint);
  hello->mode = code ? CV_HELLO_MODE_CODE : CV_HELLO_MODE_PASSWORD;
  hello->nameplate = g_strdup (nameplate);
  hello->technician = g_strdup (technician);
  return TRUE;
}

/* Session codes (SESSION-CODES.md §4). */

#define CODE_BYTES_CHARS 43 /* 32 bytes in base64url without padding */

static gboolean
is_base64url (const char *text, gsize len)
{
  if (strlen (text) != len)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!(g_ascii_isalnum (text[i]) || text[i] == '-' || text[i] == '_'))
      return FALSE;
  return TRUE;
}

/* Exactly @len bytes from @text, base64url without padding; canonical only, so that one
 * value has one spelling (the last character's unused bits are zero). */
static gboolean
decode_base64url (const char *text, guint8 *out, gsize len)
{
  gsize got = 0;
  const char *end = NULL;

  if (!is_base64url (text,
                     sodium_base64_ENCODED_LEN (len, sodium_base64_VARIANT_URLSAFE_NO_PADDING) - 1))
    return FALSE;
  if (sodium_base642bin (out, len, text, strlen (text), NULL, &got, &end,
                         sodium_base64_VARIANT_URLSAFE_NO_PADDING)
        != 0
      || got != len || *end != '\0')
    return FALSE;
  return TRUE;
}

static char *
encode_base64url (const guint8 *bytes, gsize len)
{
  gsize size = sodium_base64_ENCODED_LEN (len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  char *text = g_malloc (size);

  sodium_bin2base64 (text, size, bytes, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return text;
}

/* Whether @text is a nameplate: 3 to 9 ASCII digits, the first not 0. */
gboolean
cv_control_is_nameplate (const char *text)
{
  gsize len = text != NULL ? strlen (text) : 0;

  if (len < CV_CONTROL_NAMEPLATE_MIN_DIGITS || len > CV_CONTROL_NAMEPLATE_MAX_DIGITS
      || text[0] == '0')
    return FALSE;
  return strspn (text, "0123456789") == len;
}

gboolean
cv_control_is_claim_id (const char *text)
{
  guint8 sid[CV_CONTROL_CLAIM_ID_BYTES];

  return text != NULL && decode_base64url (text, sid, sizeof sid);
}

/* Returns: (transfer full): 16 random bytes as 22 base64url characters */
char *
cv_control_new_claim_id (void)
{
  guint8 sid[CV_CONTROL_CLAIM_ID_BYTES];

  randombytes_buf (sid, sizeof sid);
  return encode_base64url (sid, sizeof sid);
}

/* The CPace sid: the bytes of a claim_id. */
gboolean
cv_control_decode_claim_id (const char *claim_id,
                            guint8 sid[CV_CONTROL_CLAIM_ID_BYTES],
                            GError **error)
{
  if (claim_id == NULL || !decode_base64url (claim_id, sid, CV_CONTROL_CLAIM_ID_BYTES))
    {
      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "control message: “claim_id” must be %d base64url characters",
                   CV_CONTROL_CLAIM_ID_CHARS);
      return FALSE;
    }
  return TRUE;
}

static const char *
code_bytes_key (CvControlType type)
{
  return type == CV_CONTROL_CODE_PAKE ? "msg" : "mac";
}

JsonObject *
cv_control_build_code_bytes (CvControlType type, const guint8 bytes[CV_CONTROL_CODE_BYTES])
{
  JsonObject *body = json_object_new ();
  g_autofree char *text = encode_base64url (bytes, CV_CONTROL_CODE_BYTES);

  g_return_val_if_fail (type == CV_CONTROL_CODE_PAKE || type == CV_CONTROL_CODE_CONFIRM, body);
  json_object_set_string_member (body, code_bytes_key (type), text);
  return body;
}

gboolean
cv_control_parse_code_bytes (CvControlType type,
                             JsonObject *body,
                             guint8 bytes[CV_CONTROL_CODE_BYTES],
                             GError **error)
{
  const char *key = code_bytes_key (type);
  const char *text = cv_control_get_string (body, key, CODE_BYTES_CHARS, TRUE, error);

  if (text == NULL)
    return FALSE;
  if (!decode_base64url (text, bytes, CV_CONTROL_CODE_BYTES))
    {
      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "control message: “%s” must be %d base64url characters", key, CODE_BYTES_CHARS);
      return FALSE;
    }
  return TRUE;
}

void
cv_code_peer_clear (CvCodePeer *peer)
{
  g_clear_pointer (&peer->peer_fingerprint, g_free);
  g_clear_pointer (&peer->peer_name, g_free);
  g_clear_pointer (&peer->peer_address, g_free);
  g_clear_pointer (&peer->claim_id, g_free);
}

JsonObject *
cv_control_build_code_peer (const CvCodePeer *peer)
{
  JsonObject *body = json_object_new ();

  json_object_set_string_member (body, "peer_fingerprint", peer->peer_fingerprint);
  json_object_set_string_member (body, "peer_name", peer->peer_name != NULL ? peer->peer_name : "");
  if (peer->peer_address != NULL)
    json_object_set_string_member (body, "peer_address", peer->peer_address);
  json_object_set_string_member (body, "claim_id", peer->claim_id);
  return body;
}

static gboolean
is_fingerprint (const char *text)
{
  return g_str_has_prefix (text, "sha256:") && strlen (text) == 7 + 64
         && strspn (text + 7, "0123456789abcdefABCDEF") == 64;
}

gboolean
cv_control_parse_code_peer (JsonObject *body,
                            gboolean with_address,
                            CvCodePeer *peer,
                            GError **error)
{
  const char *fingerprint, *name, *address = NULL, *claim_id;

  if ((fingerprint = cv_control_get_string (body, "peer_fingerprint", MAX_FINGERPRINT_LEN, TRUE,
                                            error))
        == NULL
      || (claim_id = cv_control_get_string (body, "claim_id", CV_CONTROL_CLAIM_ID_CHARS, TRUE,
                                            error))
           == NULL)
    return FALSE;
  name = cv_control_get_string (body, "peer_name", CV_CONTROL_MAX_NAME_BYTES, FALSE, error);
  if (name == NULL && error != NULL && *error != NULL)
    return FALSE;
  if (with_address
      && (address = cv_control_get_string (body, "peer_address", 64, TRUE, error)) == NULL)
    return FALSE;
  if (!is_fingerprint (fingerprint))
    {
      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "control message: “peer_fingerprint” must be sha256: and 64 hexadecimal "
                   "digits");
      return FALSE;
    }
  if (!cv_control_is_claim_id (claim_id))
    return cv_control_decode_claim_id (NULL, NULL, error);
  if (name != NULL)
    for (const char *p = name; *p != '\0'; p = g_utf8_next_char (p))
      if (g_unichar_iscntrl (g_utf8_get_char (p)))
        {
          g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                       "control message: “peer_name” holds a control character");
          return FALSE;
        }
  if (peer != NULL)
    {
      peer->peer_fingerprint = g_strdup (fingerprint);
      peer->peer_name = g_strdup (name != NULL ? name : "");
      peer->peer_address = g_strdup (address);
      peer->claim_id = g_strdup (claim_id);
    }
  return TRUE;
}

JsonObject *
cv_control_build_code_nameplate (const char *nameplate, gint64 expires_at_ms)
{
  JsonObject *body = json_object_new ();

  json_object_set_string_member (body, "nameplate", nameplate);
  json_object_set_int_member (body, "expires_at_ms", expires_at_ms);
  return body;
}

gboolean
cv_control_parse_code_nameplate (JsonObject *body,
                                 char **nameplate,
                                 gint64 *expires_at_ms,
                                 GError **error)
{
  const char *text = get_nameplate (body, "control message", error);
  JsonNode *expires = json_object_get_member (body, "expires_at_ms");

  if (text == NULL)
    return FALSE;
  if (expires == NULL || !JSON_NODE_HOLDS_VALUE (expires)
      || json_node_get_value_type (expires) != G_TYPE_INT64 || json_node_get_int (expires) < 0)
    {
      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "control message: “expires_at_ms” must be a time in milliseconds");
      return FALSE;
    }
  if (nameplate != NULL)
    *nameplate = g_strdup (text);
  if (expires_at_ms != NULL)
    *expires_at_ms = json_node_get_int (expires);
  return TRUE;
}

JsonObject *
cv_control_build_code_failed (const char *reason)
{
  JsonObject *body = json_object_new ();

  json_object_set_string_member (body, "reason", reason);
  return body;
}

/* Returns: CV_REASON_BAD_CODE or CV_REASON_TIMEOUT (static strings), or NULL */
const char *
cv_control_parse_code_failed (JsonObject *body, GError **error)
{
  const char *reason = cv_control_get_string (body, "reason", 16, TRUE, error);

  if (reason == NULL && error != NULL && *error != NULL)
    return NULL;
  if (g_strcmp0 (reason, CV_REASON_BAD_CODE) == 0)
    return CV_REASON_BAD_CODE;
  if (g_strcmp0 (reason, CV_REASON_TIMEOUT) == 0)
    return CV_REASON_TIMEOUT;
  g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
               "CODE_FAILED: “reason” must be “bad-code” or “timeout”");
  return NULL;
}

gboolean
cv_control_check_code_message (guint type, JsonObject *body, GError **error)
{
  guint8 bytes[CV_CONTROL_CODE_BYTES];

  switch (type)
    {
    case CV_CONTROL_CODE_CLAIMED:
      return cv_control_parse_code_peer (body, TRUE, NULL, error);
    case CV_CONTROL_CODE_PAKE:
    case CV_CONTROL_CODE_CONFIRM:
      return cv_control_parse_code_bytes (type, body, bytes, error);
    case CV_CONTROL_CODE_FAILED:
      return cv_control_parse_code_failed (body, error) != NULL;
    case CV_CONTROL_CODE_NAMEPLATE:
      return cv_control_parse_code_nameplate (body, NULL, NULL, error);
    case CV_CONTROL_CODE_DONE:
    case CV_CONTROL_CODE_EXPIRED:
    case CV_CONTROL_CODE_RENEW:
      return TRUE; /* {}: members a later version adds are ignored */
    default:
      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_UNEXPECTED,
                   "control message 0x%02x is not a session-code message", type);
      return FALSE;
    }
}
