/* cv-share-session.h: "Share this computer" once — a code from the gateway, the offered
 * services, the helper's request and the person's answer, what the helper opened, and
 * Stop, which ends every channel and the tunnel and kills the code at the gateway.  Drives
 * a CvShareAgent in code mode in-process; GTK-free. */
#pragma once

#include <gio/gio.h>

#include "cv-share-activity.h"
#include "cv-share-gateway.h"
#include "cv-share-service.h"

G_BEGIN_DECLS

typedef enum {
  CV_SHARE_STATE_IDLE,      /* not started, or stopped */
  CV_SHARE_STATE_STARTING,  /* reaching the gateway for a code */
  CV_SHARE_STATE_WAITING,   /* "code" is set: read it to the helper ("code-expires") */
  CV_SHARE_STATE_VERIFYING, /* the helper typed it; the keys are being confirmed, then
                             * "verification" is set.  The request comes when the helper
                             * first opens something (the engine's connect agent asks for
                             * its tunnel on its first local connection), so VERIFYING
                             * may last until then */
  CV_SHARE_STATE_ASKING,    /* "consent-requested" was emitted; waiting for allow/deny */
  CV_SHARE_STATE_CONNECTED, /* a helper is connected: "helper-name" is set; when the
                             * helper's tunnel ends: "helper-left", then IDLE */
  CV_SHARE_STATE_FAILED,    /* "error" says why (wrong code — someone may have tried to
                             * guess it —, expired, declined or unanswered, gateway
                             * unreachable or its key changed); cv_share_session_renew_code ()
                             * offers a new one.  An unreachable gateway is retried by
                             * itself (CV_APP_ERROR_FAILED): WAITING again once it answers */
} CvShareState;

#define CV_TYPE_SHARE_STATE (cv_share_state_get_type ())
GType cv_share_state_get_type (void);

/* Properties (read-only, notified on the main context the session was made on):
 *   "state"         CvShareState
 *   "code"          "482-913-557" from WAITING while it can still be used (it stays through
 *                   VERIFYING…CONNECTED); NULL once it is dead (burned, expired, stopped)
 *   "code-expires"  gint64, g_get_real_time () µs when an unclaimed code dies; 0: none
 *   "error"         GError (boxed, CV_APP_ERROR): a sentence for the person; NULL if none
 *   "helper-name"   the technician's name as the gateway attests it, from ASKING on
 *   "helper-address"
 *   "verification"  the words both people compare, once the keys are confirmed (VERIFYING)
 *   "activity"      GListModel of CvShareActivity
 *   "n-channels"    guint, open now
 *
 * Signals:
 *   "consent-requested" (const char *name, const char *address, const char *fingerprint,
 *                        const char *services_words, const char *verification)
 *       services_words: the requested services in words, joined ("your screen and SSH").
 *       Answer with cv_share_session_allow () / _deny (); the engine denies by itself
 *       after the consent timeout (60 s, cv_share_session_set_consent_timeout_ms ()).
 *   "helper-connected" ()   consent given: show the bar, the notification, the title
 *   "helper-left" ()        the helper's tunnel ended: the agent stops (the code was used
 *                          once and is dead), then IDLE; start () shares again
 *   "stopped" ()            after cv_share_session_stop (): every channel is closed */
#define CV_TYPE_SHARE_SESSION (cv_share_session_get_type ())
G_DECLARE_FINAL_TYPE (CvShareSession, cv_share_session, CV, SHARE_SESSION, GObject)

/* @services: the CvShareService items the person ticked (at least one); @state_dir: the
 * share agent's key (NULL: user data dir/culvert/share). */
CvShareSession *cv_share_session_new (const CvShareGateway *gateway,
                                      GListModel *services,
                                      const char *state_dir);

void cv_share_session_start (CvShareSession *self);
void cv_share_session_stop (CvShareSession *self);
/* After FAILED (wrong, expired or declined code, no gateway) or while WAITING: a new
 * code, same services (STARTING, then WAITING). */
void cv_share_session_renew_code (CvShareSession *self);
/* While ASKING.  allow: CONNECTED and "helper-connected"; deny: FAILED with
 * CV_APP_ERROR_DECLINED.  FALSE when no request waits (timed out, the helper gave up). */
gboolean cv_share_session_allow (CvShareSession *self);
gboolean cv_share_session_deny (CvShareSession *self);
void cv_share_session_set_consent_timeout_ms (CvShareSession *self, guint timeout_ms);

CvShareState cv_share_session_get_state (CvShareSession *self);
const char *cv_share_session_get_code (CvShareSession *self);
gint64 cv_share_session_get_code_expires (CvShareSession *self);
const GError *cv_share_session_get_error (CvShareSession *self);
const char *cv_share_session_get_helper_name (CvShareSession *self);
const char *cv_share_session_get_helper_address (CvShareSession *self);
const char *cv_share_session_get_verification (CvShareSession *self);
GListModel *cv_share_session_get_activity (CvShareSession *self);
guint cv_share_session_get_n_channels (CvShareSession *self);
GListModel *cv_share_session_get_services (CvShareSession *self);

G_END_DECLS
