/* cv-code-connection.h: "Connect with a code" once — the code claimed at the code gateway,
 * the verification and the offered services shown before anything is asked, the chosen
 * ones asked of the person sharing, then live like a saved machine's services. */
#pragma once

#include <gio/gio.h>

#include "roles/cv-service.h"

G_BEGIN_DECLS

typedef enum {
  CV_CODE_CONNECTION_IDLE,      /* not claimed yet, or disconnected */
  CV_CODE_CONNECTION_CLAIMING,  /* "Checking the code…": the gateway, then the keys */
  CV_CODE_CONNECTION_CONFIRMED, /* "verification" and "offered" are set; choose, then
                                 * cv_code_connection_connect () */
  CV_CODE_CONNECTION_ASKING,    /* "Waiting for them to accept…" */
  CV_CODE_CONNECTION_CONNECTED, /* "services" listen on localhost */
  CV_CODE_CONNECTION_FAILED,    /* "error" (CV_APP_ERROR) says why and what to do */
} CvCodeConnectionState;

#define CV_TYPE_CODE_CONNECTION_STATE (cv_code_connection_state_get_type ())
GType cv_code_connection_state_get_type (void);

/* Properties (read-only, notified on the main context the object was made on):
 *   "state"         CvCodeConnectionState
 *   "verification"  the words to read out ("718 819") once the keys are confirmed
 *   "share-name"    the sharing computer's name, as the gateway says
 *   "offered"       GListModel of CvService (the engine's): what the sharer offers
 *   "services"      GListModel of CvServiceLink: the chosen ones, after connect ()
 *   "error"         GError (boxed) while FAILED
 *
 * Signals:
 *   "connected" ()  the person sharing accepted: open the services now */
#define CV_TYPE_CODE_CONNECTION (cv_code_connection_get_type ())
G_DECLARE_FINAL_TYPE (CvCodeConnection, cv_code_connection, CV, CODE_CONNECTION, GObject)

/* @gateway: "host:port" (the code-gateway setting; empty or NULL: none set);
 * @fingerprint: the key it must present ("sha256:…"; empty or NULL: the system's CAs);
 * @state_dir: the agent's key (NULL: user data dir/culvert). */
CvCodeConnection *cv_code_connection_new (const char *gateway,
                                          const char *fingerprint,
                                          const char *state_dir);

/* Claims @code (as typed: "482-913-557", spaces and dashes anywhere).  From IDLE or
 * FAILED.  FALSE at once with CV_APP_ERROR_NO_GATEWAY (none set, or a malformed address or
 * fingerprint: Preferences) or CV_APP_ERROR_INVALID (not a code). */
gboolean cv_code_connection_claim (CvCodeConnection *self, const char *code, GError **error);
/* From CONFIRMED: asks for the offered services named @names (CvService names); each
 * listens on a free localhost port.  FALSE with CV_APP_ERROR_INVALID for none or one not
 * offered. */
gboolean cv_code_connection_connect (CvCodeConnection *self,
                                     const char *const *names,
                                     GError **error);
/* Ends everything: channels, listeners, the link; back to IDLE.  Idempotent. */
void cv_code_connection_disconnect (CvCodeConnection *self);

CvCodeConnectionState cv_code_connection_get_state (CvCodeConnection *self);
const char *cv_code_connection_get_verification (CvCodeConnection *self);
const char *cv_code_connection_get_share_name (CvCodeConnection *self);
GListModel *cv_code_connection_get_offered (CvCodeConnection *self);
GListModel *cv_code_connection_get_services (CvCodeConnection *self);
const GError *cv_code_connection_get_error (CvCodeConnection *self);

/* An offered service in words: "Screen sharing (VNC)", "SSH", "Port 8080", or its name. */
char *cv_code_connection_describe_service (CvService *service);

/* A code as it is typed: its digits in groups of three from the left, joined by '-'
 * ("482913557" → "482-913-557"); other characters dropped, at most 15 digits kept. */
char *cv_code_format_typed (const char *text);

G_END_DECLS
