/* cv-control.h: the control messages agents and the gateway exchange on a control link
 * (JSON objects in frames 0x20–0x3f; see PROTOCOL.md, "Control link"). */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum {
  CV_CONTROL_HELLO = 0x20,          /* agent → gateway: who I am, which session, credential */
  CV_CONTROL_WELCOME = 0x21,        /* gateway → agent: accepted */
  CV_CONTROL_REFUSED = 0x22,        /* gateway → agent: not accepted, with a stable reason */
  CV_CONTROL_PRESENCE = 0x23,       /* gateway → connect agents: the share agent came or went */
  CV_CONTROL_TUNNEL_REQUEST = 0x24, /* connect agent → gateway: I need a tunnel */
  CV_CONTROL_TUNNEL_OFFER = 0x25,   /* gateway → both agents: a ticket and the peer's key */
} CvControlType;

typedef enum {
  CV_AGENT_ROLE_SHARE,
  CV_AGENT_ROLE_CONNECT,
} CvAgentRole;

char *cv_control_fit_name (const char *name);

/* The longest agent name that agents show of each other (PRESENCE's share_name, an
 * offer's peer_name), as an agent config allows it: HELLO refuses a longer one, and
 * agents cut theirs to fit.  In bytes, that is at most four per character. */
#define CV_CONTROL_MAX_NAME_CHARS 128
#define CV_CONTROL_MAX_NAME_BYTES (4 * CV_CONTROL_MAX_NAME_CHARS)

/* Stable reason codes of REFUSED (and of agents' errors): the UI translates these. */
#define CV_REASON_BAD_PASSWORD "bad-password"
#define CV_REASON_UNKNOWN_SESSION "unknown-session"
#define CV_REASON_VERSION_MISMATCH "version-mismatch"
#define CV_REASON_RATE_LIMITED "rate-limited"
#define CV_REASON_BAD_REQUEST "bad-request"
#define CV_REASON_LIMIT_REACHED "limit-reached"
#define CV_REASON_SHUTTING_DOWN "shutting-down"
#define CV_REASON_REPLACED "replaced"
#define CV_REASON_SHARE_OFFLINE "share-offline"

/* The same reasons as values: what a REFUSED (or a tunnel offer's "error") said.  A
 * refused login reaches the agents' users as a GError of CV_REFUSAL_ERROR whose code is
 * one of these (never CV_REFUSAL_NONE). */
typedef enum {
  CV_REFUSAL_NONE,    /* not refused */
  CV_REFUSAL_UNKNOWN, /* a reason this version does not know */
  CV_REFUSAL_BAD_PASSWORD,
  CV_REFUSAL_UNKNOWN_SESSION,
  CV_REFUSAL_VERSION_MISMATCH,
  CV_REFUSAL_RATE_LIMITED,
  CV_REFUSAL_BAD_REQUEST,
  CV_REFUSAL_LIMIT_REACHED,
  CV_REFUSAL_SHUTTING_DOWN,
  CV_REFUSAL_REPLACED,
  CV_REFUSAL_SHARE_OFFLINE,
} CvRefusal;

#define CV_TYPE_REFUSAL (cv_refusal_get_type ())
GType cv_refusal_get_type (void);

#define CV_REFUSAL_ERROR (cv_refusal_error_quark ())
GQuark cv_refusal_error_quark (void);

CvRefusal cv_refusal_from_string (const char *reason);
const char *cv_refusal_to_string (CvRefusal refusal);

#define CV_CONTROL_ERROR (cv_control_error_quark ())
GQuark cv_control_error_quark (void);

typedef enum {
  CV_CONTROL_ERROR_MALFORMED,
  CV_CONTROL_ERROR_UNEXPECTED,
} CvControlError;

typedef struct {
  guint version;
  CvAgentRole role;
  char *session;
  char *password;
  char *name;
  char *fingerprint;
} CvHello;

void cv_hello_clear (CvHello *hello);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CvHello, cv_hello_clear)

char *cv_control_build_hello (const CvHello *hello);
gboolean cv_control_parse_hello (GBytes *json, CvHello *hello, GError **error);

JsonObject *cv_control_parse (GBytes *json, GError **error);
gboolean cv_json_is_utf8 (JsonNode *node);
char *cv_control_to_string (JsonObject *object);

/* Typed getters that name the key in their errors. */
const char *cv_control_get_string (JsonObject *object,
                                   const char *key,
                                   gsize max_len,
                                   gboolean required,
                                   GError **error);
gboolean cv_control_get_bool (JsonObject *object, const char *key, gboolean *value, GError **error);

const char *cv_agent_role_to_string (CvAgentRole role);

G_END_DECLS
