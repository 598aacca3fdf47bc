/* cv-embedded-gateway.h: "Run a gateway on this computer" — the engine's gateway in-process,
 * for one network with nothing else installed; its sessions and key kept in the user's data
 * dir, its passwords shown once. */
#pragma once

#include <gio/gio.h>

#include "cv-embedded-agent.h"
#include "cv-embedded-session.h"

G_BEGIN_DECLS

/* Properties (notified on the main context it was made on):
 *   "running"       gboolean
 *   "listen-host"   read-write; "0.0.0.0" by default (the LAN), "127.0.0.1" for this
 *                   computer only; takes effect at the next start
 *   "listen-port"   read-write, guint; 8443 by default; 0 picks a free one at start
 *   "bound-port"    guint: the port it listens on while running, else 0
 *   "fingerprint"   its key's fingerprint, to read out; made on first start
 *   "error"         GError (boxed): why it could not start (port taken…), or NULL
 *   "sessions"      GListModel of CvEmbeddedSession
 *   "n-links"       guint: agents connected now
 *   "agents"        a GListModel of CvEmbeddedAgent (role, name, address, session), the
 *                   connected agents, refreshed once a second while running
 */
#define CV_TYPE_EMBEDDED_GATEWAY (cv_embedded_gateway_get_type ())
G_DECLARE_FINAL_TYPE (CvEmbeddedGateway, cv_embedded_gateway, CV, EMBEDDED_GATEWAY, GObject)

/* @state_dir: its key and sessions file (NULL: user data dir/culvert/gateway). */
CvEmbeddedGateway *cv_embedded_gateway_new (const char *state_dir);
/* Loads the saved sessions (an error names the file); makes the key if there is none. */
gboolean cv_embedded_gateway_load (CvEmbeddedGateway *self, GError **error);
gboolean cv_embedded_gateway_start (CvEmbeddedGateway *self, GError **error);
/* Closes every link and tunnel. */
void cv_embedded_gateway_stop (CvEmbeddedGateway *self);
gboolean cv_embedded_gateway_get_running (CvEmbeddedGateway *self);
const char *cv_embedded_gateway_get_listen_host (CvEmbeddedGateway *self);
void cv_embedded_gateway_set_listen_host (CvEmbeddedGateway *self, const char *host);
guint16 cv_embedded_gateway_get_listen_port (CvEmbeddedGateway *self);
void cv_embedded_gateway_set_listen_port (CvEmbeddedGateway *self, guint16 port);
guint16 cv_embedded_gateway_get_bound_port (CvEmbeddedGateway *self);
const char *cv_embedded_gateway_get_fingerprint (CvEmbeddedGateway *self);
const GError *cv_embedded_gateway_get_error (CvEmbeddedGateway *self);
GListModel *cv_embedded_gateway_get_sessions (CvEmbeddedGateway *self);
GListModel *cv_embedded_gateway_get_agents (CvEmbeddedGateway *self);
guint cv_embedded_gateway_get_n_links (CvEmbeddedGateway *self);

/* A new session with fresh passwords (cv_password_generate ()), saved and, if running,
 * served at once (reload).  The id must be a valid session id and not taken.  Returns:
 * (transfer none) the session as "sessions" holds it. */
CvEmbeddedSession *cv_embedded_gateway_add_session (CvEmbeddedGateway *self,
                                                    const char *id,
                                                    GError **error);
/* The same with the hashing (a fraction of a second of Argon2id) on a worker thread, so
 * that the main loop goes on; what the app uses.  The result is (transfer full). */
void cv_embedded_gateway_add_session_async (CvEmbeddedGateway *self,
                                            const char *id,
                                            GCancellable *cancellable,
                                            GAsyncReadyCallback callback,
                                            gpointer user_data);
CvEmbeddedSession *cv_embedded_gateway_add_session_finish (CvEmbeddedGateway *self,
                                                           GAsyncResult *result,
                                                           GError **error);
/* Removes it, saved; its agents are disconnected. */
gboolean cv_embedded_gateway_remove_session (CvEmbeddedGateway *self,
                                             CvEmbeddedSession *session,
                                             GError **error);
/* The command a customer runs to share through this gateway on @session:
 * "CULVERT_PASSWORD='…' culvert-cli share --gateway HOST:PORT --fingerprint … --session ID
 *  --allow 127.0.0.1:5900", HOST the first non-loopback address of this computer. */
char *cv_embedded_gateway_dup_share_command (CvEmbeddedGateway *self,
                                             CvEmbeddedSession *session,
                                             const char *allow);

G_END_DECLS
