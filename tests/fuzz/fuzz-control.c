/* fuzz-control.c: libFuzzer target for the control messages (wire/cv-control), which the
 * gateway parses from strangers before any login.  The input is one message's JSON, as a
 * control frame carries it.  It goes through cv_control_parse_hello() as the gateway reads
 * a HELLO, and through cv_control_parse() and the typed getters for every field the
 * agents and the gateway read from the other messages.  Beyond "no memory error": a HELLO
 * that is accepted builds into one that parses back to the same fields, accepted values
 * keep their documented sizes and alphabets, and a refusal always says why.  The
 * session-code messages (0x26–0x2d, HELLO in code mode) go through their own parsers and
 * the gateway's form check.  The tunnel's own SERVICES, SERVICE_REQUEST and CONSENT
 * (wire/cv-services), which a share or connect agent reads from its peer, go through
 * their parsers too: what they accept keeps its documented form and builds back. */
#include "wire/cv-control.h"
#include "wire/cv-services.h"

#include "fuzz-check.h"
#include "fuzz-json.h"

typedef struct {
  const char *key;
  gsize max_len;
  gboolean required;
} Field;

/* The string fields as the readers fetch them (roles/: the agents' links, the share and
 * connect agents, the gateway's sessions). */
static const Field fields[] = {
  /* REFUSED */
  { "reason", 64, FALSE },
  { "message", 512, FALSE },
  /* TUNNEL_OFFER, to the share agent and to the connect agent */
  { "ticket", 64, TRUE },
  { "peer_fingerprint", 80, TRUE },
  { "tls_role", 16, TRUE },
  { "peer_name", 128, FALSE },
  { "peer_address", 64, FALSE },
  { "error", 64, FALSE },
  { "ticket", 64, FALSE },
  /* PRESENCE */
  { "share_name", 128, FALSE },
};

/* Refusals are logged and sent back to the peer: one line of UTF-8, whatever came. */
static void
check_error (const GError *error)
{
  check (error != NULL && error->message != NULL && error->message[0] != '\0');
  check (error->domain == CV_CONTROL_ERROR);
  check (fuzz_is_one_line_of_text (error->message));
}

static void
check_field (JsonObject *object, const Field *field)
{
  g_autoptr (GError) error = NULL;
  const char *value = cv_control_get_string (object, field->key, field->max_len, field->required,
                                             &error);

  if (value == NULL)
    {
      /* Absent and optional is the one silent NULL. */
      if (error == NULL)
        check (!field->required);
      else
        check_error (error);
      return;
    }
  check (error == NULL);
  check (strlen (value) <= field->max_len);
  check (!field->required || value[0] != '\0');
  check (g_utf8_validate (value, -1, NULL));
}

static void
check_reason (JsonObject *object)
{
  const char *reason = cv_control_get_string (object, "reason", 64, FALSE, NULL);
  CvRefusal refusal = cv_refusal_from_string (reason);

  check (refusal != CV_REFUSAL_NONE);
  if (refusal != CV_REFUSAL_UNKNOWN)
    check (g_strcmp0 (cv_refusal_to_string (refusal), reason) == 0);
}

/* What the gateway stores of an accepted HELLO ends up in logs and in the other agent's
 * UI, so its alphabet is part of the contract. */
static void
check_accepted_hello (const CvHello *hello)
{
  check (hello->version >= 1 && hello->version <= G_MAXUINT16);
  check (hello->role == CV_AGENT_ROLE_SHARE || hello->role == CV_AGENT_ROLE_CONNECT);
  if (hello->mode == CV_HELLO_MODE_CODE)
    {
      /* No credential in code mode; a nameplate exactly for connect agents. */
      check (hello->session == NULL && hello->password == NULL);
      if (hello->role == CV_AGENT_ROLE_CONNECT)
        check (cv_control_is_nameplate (hello->nameplate)
               && strspn (hello->nameplate, "0123456789") == strlen (hello->nameplate)
               && strlen (hello->nameplate) >= 3 && strlen (hello->nameplate) <= 9);
      else
        check (hello->nameplate == NULL);
    }
  else
    {
      check (hello->mode == CV_HELLO_MODE_PASSWORD && hello->nameplate == NULL);
      check (hello->session != NULL && hello->session[0] != '\0' && strlen (hello->session) <= 64);
      for (const char *p = hello->session; *p != '\0'; p++)
        check (g_ascii_isalnum (*p) || *p == '.' || *p == '_' || *p == '-');
      check (hello->password != NULL && hello->password[0] != '\0');
      check (strlen (hello->password) <= 1024);
    }
  check (hello->name != NULL && strlen (hello->name) <= 512);
  check (g_utf8_validate (hello->name, -1, NULL));
  for (const char *p = hello->name; *p != '\0'; p = g_utf8_next_char (p))
    check (!g_unichar_iscntrl (g_utf8_get_char (p)));
  check (g_str_has_prefix (hello->fingerprint, "sha256:") && strlen (hello->fingerprint) == 71);
}

static void
check_hello (GBytes *json)
{
  g_auto (CvHello) hello = { 0 };
  g_auto (CvHello) again = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) rebuilt_bytes = NULL;
  g_autofree char *rebuilt = NULL;

  if (!cv_control_parse_hello (json, &hello, &error))
    {
      check_error (error);
      return;
    }
  check (error == NULL);
  check_accepted_hello (&hello);

  /* The agents build what the gateway parses: the two must agree. */
  rebuilt = cv_control_build_hello (&hello);
  rebuilt_bytes = g_bytes_new (rebuilt, strlen (rebuilt));
  if (!cv_control_parse_hello (rebuilt_bytes, &again, &error))
    {
      fprintf (stderr, "fuzz-control: a rebuilt HELLO was refused: %s\n", error->message);
      abort ();
    }
  check (again.version == hello.version && again.role == hello.role);
  check (again.mode == hello.mode);
  check (g_strcmp0 (again.session, hello.session) == 0);
  check (g_strcmp0 (again.password, hello.password) == 0);
  check (g_strcmp0 (again.nameplate, hello.nameplate) == 0);
  check (g_str_equal (again.name, hello.name));
  check (g_str_equal (again.fingerprint, hello.fingerprint));
}

/* The session-code messages (0x26–0x2d) as the gateway checks them before relaying, and
 * as the agents read them: what is accepted builds back into the same message. */
static void
check_code_messages (JsonObject *object)
{
  for (guint type = CV_CONTROL_CODE_CLAIMED; type <= CV_CONTROL_CODE_NAMEPLATE; type++)
    {
      g_autoptr (GError) error = NULL;

      if (!cv_control_check_code_message (type, object, &error))
        {
          check_error (error);
          continue;
        }
      check (error == NULL);
      if (type == CV_CONTROL_CODE_PAKE || type == CV_CONTROL_CODE_CONFIRM)
        {
          guint8 bytes[CV_CONTROL_CODE_BYTES], again[CV_CONTROL_CODE_BYTES];
          g_autoptr (JsonObject) rebuilt = NULL;
          const char *key = type == CV_CONTROL_CODE_PAKE ? "msg" : "mac";

          check (cv_control_parse_code_bytes (type, object, bytes, NULL));
          rebuilt = cv_control_build_code_bytes (type, bytes);
          /* One spelling per value: the text is the one the builder writes. */
          check (g_str_equal (json_object_get_string_member (rebuilt, key),
                              json_object_get_string_member (object, key)));
          check (cv_control_parse_code_bytes (type, rebuilt, again, NULL));
          check (memcmp (bytes, again, sizeof bytes) == 0);
        }
      else if (type == CV_CONTROL_CODE_CLAIMED)
        {
          g_auto (CvCodePeer) peer = { 0 };
          g_auto (CvCodePeer) again = { 0 };
          g_autoptr (JsonObject) rebuilt = NULL;
          guint8 sid[CV_CONTROL_CLAIM_ID_BYTES];

          check (cv_control_parse_code_peer (object, TRUE, &peer, NULL));
          check (cv_control_decode_claim_id (peer.claim_id, sid, NULL));
          check (strlen (peer.claim_id) == CV_CONTROL_CLAIM_ID_CHARS);
          check (g_utf8_validate (peer.peer_name, -1, NULL));
          rebuilt = cv_control_build_code_peer (&peer);
          check (cv_control_parse_code_peer (rebuilt, TRUE, &again, NULL));
          check (g_str_equal (again.claim_id, peer.claim_id));
          check (g_str_equal (again.peer_name, peer.peer_name));
          check (g_str_equal (again.peer_address, peer.peer_address));
        }
      else if (type == CV_CONTROL_CODE_NAMEPLATE)
        {
          g_autofree char *nameplate = NULL;
          gint64 expires = -1;

          check (cv_control_parse_code_nameplate (object, &nameplate, &expires, NULL));
          check (cv_control_is_nameplate (nameplate) && expires >= 0);
        }
      else if (type == CV_CONTROL_CODE_FAILED)
        {
          const char *reason = cv_control_parse_code_failed (object, NULL);

          check (g_strcmp0 (reason, CV_REASON_BAD_CODE) == 0
                 || g_strcmp0 (reason, CV_REASON_TIMEOUT) == 0);
        }
    }
}

static void
check_tunnel_messages (GBytes *json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) services = cv_services_parse (json, &error);
  g_auto (GStrv) names = NULL;
  g_autofree char *reason = NULL;
  gboolean accepted = FALSE;

  if (services == NULL)
    check_error (error);
  else
    {
      g_autofree char *built = cv_services_build (services);
      g_autoptr (GBytes) built_bytes = g_bytes_new (built, strlen (built));
      g_autoptr (GPtrArray) again = cv_services_parse (built_bytes, NULL);

      check (services->len <= CV_SERVICES_MAX);
      for (guint i = 0; i < services->len; i++)
        {
          const CvServiceInfo *info = services->pdata[i];

          check (cv_service_name_is_valid (info->name) && info->port > 0);
          check (info->kind <= CV_SERVICE_KIND_CUSTOM);
        }
      check (again != NULL && again->len == services->len);
    }
  g_clear_error (&error);
  names = cv_service_request_parse (json, &error);
  if (names == NULL)
    check_error (error);
  else
    {
      check (names[0] != NULL && g_strv_length (names) <= CV_SERVICES_MAX);
      for (guint i = 0; names[i] != NULL; i++)
        check (cv_service_name_is_valid (names[i]));
    }
  g_clear_error (&error);
  if (!cv_consent_parse (json, &accepted, &reason, &error))
    check_error (error);
  else
    check (accepted ? reason == NULL : reason != NULL && g_utf8_validate (reason, -1, NULL));
}

static void
check_message (GBytes *json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) object = cv_control_parse (json, &error);
  g_autoptr (JsonObject) reparsed = NULL;
  g_autoptr (GBytes) text_bytes = NULL;
  g_autofree char *text = NULL;
  g_autofree char *text_again = NULL;
  gboolean online = FALSE;

  if (object == NULL)
    {
      check_error (error);
      return;
    }
  check (error == NULL);

  for (gsize i = 0; i < G_N_ELEMENTS (fields); i++)
    check_field (object, &fields[i]);
  check_reason (object);
  check_code_messages (object);
  if (!cv_control_get_bool (object, "share_online", &online, &error))
    check_error (error);
  else
    check (online == TRUE || online == FALSE);
  g_clear_error (&error);

  /* What the gateway and the agents send is cv_control_to_string() of an object: it must
   * parse back, and print the same once printed. */
  if (fuzz_json_object_holds_double (object))
    return;
  text = cv_control_to_string (object);
  text_bytes = g_bytes_new (text, strlen (text));
  reparsed = cv_control_parse (text_bytes, &error);
  if (reparsed == NULL)
    {
      fprintf (stderr, "fuzz-control: a printed message does not parse: %s\n", error->message);
      abort ();
    }
  text_again = cv_control_to_string (reparsed);
  check (g_str_equal (text, text_again));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GBytes) json = g_bytes_new (data, size);

  check_hello (json);
  check_message (json);
  check_tunnel_messages (json);
  return 0;
}
