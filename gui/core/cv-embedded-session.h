/* cv-embedded-session.h: one session the embedded gateway serves — its id, its Argon2id
 * hashes, the passwords made with it (shown once), and who is online in it. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Share and connect passwords are generated when it is added and only their Argon2id
 * hashes are kept.
 *
 * Properties (read-only, notified on the embedded gateway's main context):
 *   "id"                the session id
 *   "share-online"      gboolean: its share agent is online
 *   "n-connect-agents"  guint: connect agents online in it */
#define CV_TYPE_EMBEDDED_SESSION (cv_embedded_session_get_type ())
G_DECLARE_FINAL_TYPE (CvEmbeddedSession, cv_embedded_session, CV, EMBEDDED_SESSION, GObject)

const char *cv_embedded_session_get_id (CvEmbeddedSession *self);
/* Only right after cv_embedded_gateway_add_session (); NULL once forgotten (shown once). */
const char *cv_embedded_session_get_share_password (CvEmbeddedSession *self);
const char *cv_embedded_session_get_connect_password (CvEmbeddedSession *self);
void cv_embedded_session_forget_passwords (CvEmbeddedSession *self);
gboolean cv_embedded_session_get_share_online (CvEmbeddedSession *self);
guint cv_embedded_session_get_n_connect_agents (CvEmbeddedSession *self);

/* For the embedded gateway that owns the session. */
CvEmbeddedSession *cv_embedded_session_new (const char *id,
                                            const char *share_password_hash,
                                            const char *connect_password_hash);
/* Makes two fresh passwords (cv_password_generate ()) and their hashes. */
CvEmbeddedSession *cv_embedded_session_new_generated (const char *id, GError **error);
const char *cv_embedded_session_get_share_password_hash (CvEmbeddedSession *self);
const char *cv_embedded_session_get_connect_password_hash (CvEmbeddedSession *self);
void cv_embedded_session_set_online (CvEmbeddedSession *self,
                                     gboolean share_online,
                                     guint n_connect_agents);

G_END_DECLS
