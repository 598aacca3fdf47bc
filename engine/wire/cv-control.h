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
  /* Session codes (SESSION-CODES.md §4): */
  CV_CONTROL_CODE_CLAIMED = 0x26,   /* gateway → share: a connect agent claimed the nameplate */
  CV_CONTROL_CODE_PAKE = 0x27,      /* both ways, relayed: a CPace message */
  CV_CONTROL_CODE_CONFIRM = 0x28,   /* both ways, relayed: a key confirmation MAC */
  CV_CONTROL_CODE_DONE = 0x29,      /* agent → gateway: this side confirmed the other */
  CV_CONTROL_CODE_FAILED = 0x2a,    /* agent ↔ gateway: the confirmation failed, or timed out */
  CV_CONTROL_CODE_EXPIRED = 0x2b,   /* gateway → share: unclaimed for code_ttl_ms */
  CV_CONTROL_CODE_RENEW = 0x2c,     /* share → gateway: a new nameplate please */
  CV_CONTROL_CODE_NAMEPLATE = 0x2d, /* gateway → share: the answer to CODE_RENEW */
} CvControlType;

/* How an agent logs in: with a configured session and its password, or with a code. */
typedef enum {
  CV_HELLO_MODE_PASSWORD,
  CV_HELLO_MODE_CODE,
} CvHelloMode;

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
/* Session codes: no such nameplate, already claimed, burned or cooling (one answer for
 * all, so that nameplates cannot be probed), or a confirmation that failed. */
#define CV_REASON_BAD_CODE "bad-code"
#define CV_REASON_CODE_EXPIRED "code-expired"
/* CODE_FAILED only: the exchange did not finish within code_pake_timeout_ms. */
#define CV_REASON_TIMEOUT "timeout"

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
  CV_REFUSAL_BAD_CODE,
  CV_REFUSAL_CODE_EXPIRED,
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
  /* Password mode: the session and its password.  Code mode, where the gateway's policy
   * asks for them (SESSION-CODES.md §4): a share agent's session and its share
   * password, or a connect agent's technician account and its password; else NULL. */
  char *session;
  char *password;
  char *name;
  char *fingerprint;
  CvHelloMode mode;
  char *nameplate;  /* code mode, connect agents only: 3–9 ASCII digits */
  char *technician; /* code mode, connect agents only, with password; or NULL */
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

/* Session codes (SESSION-CODES.md §4).  The gateway checks the relayed messages for
 * form only; the agents read their bytes. */
#define CV_CONTROL_NAMEPLATE_MIN_DIGITS 3
#define CV_CONTROL_NAMEPLATE_MAX_DIGITS 9
#define CV_CONTROL_CODE_BYTES 32 /* CODE_PAKE's msg, CODE_CONFIRM's mac */
#define CV_CONTROL_CLAIM_ID_BYTES 16
#define CV_CONTROL_CLAIM_ID_CHARS 22 /* base64url, no padding */

gboolean cv_control_is_nameplate (const char *text);
gboolean cv_control_is_claim_id (const char *text);
char *cv_control_new_claim_id (void);
gboolean cv_control_decode_claim_id (const char *claim_id,
                                     guint8 sid[CV_CONTROL_CLAIM_ID_BYTES],
                                     GError **error);

/* CODE_PAKE {msg} and CODE_CONFIRM {mac}: 32 bytes as 43 base64url characters. */
JsonObject *cv_control_build_code_bytes (CvControlType type,
                                         const guint8 bytes[CV_CONTROL_CODE_BYTES]);
gboolean cv_control_parse_code_bytes (CvControlType type,
                                      JsonObject *body,
                                      guint8 bytes[CV_CONTROL_CODE_BYTES],
                                      GError **error);

/* Who claimed or was claimed: CODE_CLAIMED, and a connect agent's WELCOME in code mode
 * (which has no peer_address). */
typedef struct {
  char *peer_fingerprint;
  char *peer_name;
  char *peer_address; /* CODE_CLAIMED only */
  char *claim_id;
} CvCodePeer;

void cv_code_peer_clear (CvCodePeer *peer);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CvCodePeer, cv_code_peer_clear)

JsonObject *cv_control_build_code_peer (const CvCodePeer *peer);
gboolean cv_control_parse_code_peer (JsonObject *body,
                                     gboolean with_address,
                                     CvCodePeer *peer,
                                     GError **error);

/* A share agent's WELCOME in code mode, and CODE_NAMEPLATE: {nameplate, expires_at_ms}. */
JsonObject *cv_control_build_code_nameplate (const char *nameplate, gint64 expires_at_ms);
gboolean cv_control_parse_code_nameplate (JsonObject *body,
                                          char **nameplate,
                                          gint64 *expires_at_ms,
                                          GError **error);

/* CODE_FAILED {reason}: "bad-code" or "timeout". */
JsonObject *cv_control_build_code_failed (const char *reason);
const char *cv_control_parse_code_failed (JsonObject *body, GError **error);

/* The form of a message 0x26–0x2d's body (what the gateway checks before relaying or
 * acting on it); FALSE with a reason for anything else. */
gboolean cv_control_check_code_message (guint type, JsonObject *body, GError **error);

G_END_DECLS
