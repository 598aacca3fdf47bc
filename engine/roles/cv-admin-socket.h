/* cv-admin-socket.h: a local Unix socket, 0600, that hands every client one JSON
 * document (a role's status) and closes: how `culvert-cli status` asks a running
 * gateway or agent what it is doing. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Returns: (transfer full): the document to send, built when a client connects. */
typedef JsonNode *(*CvAdminSocketReport) (gpointer user_data);

#define CV_TYPE_ADMIN_SOCKET (cv_admin_socket_get_type ())
G_DECLARE_FINAL_TYPE (CvAdminSocket, cv_admin_socket, CV, ADMIN_SOCKET, GSocketService)

/* Clients served at once; more are closed at once.  And how long one may take to read
 * its document before it is dropped. */
#define CV_ADMIN_SOCKET_MAX_CLIENTS 8
#define CV_ADMIN_SOCKET_WRITE_TIMEOUT_MS 5000

CvAdminSocket *cv_admin_socket_new (CvAdminSocketReport report,
                                    gpointer user_data,
                                    GDestroyNotify destroy);
gboolean cv_admin_socket_listen (CvAdminSocket *self, const char *path, GError **error);
const char *cv_admin_socket_get_path (CvAdminSocket *self);
void cv_admin_socket_close (CvAdminSocket *self);

G_END_DECLS
