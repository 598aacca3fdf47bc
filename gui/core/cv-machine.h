/* cv-machine.h: a saved customer machine — its name, gateway, session and services.  The
 * connect password is never here: it lives in the keyring (cv-secret-store). */
#pragma once

#include <json-glib/json-glib.h>

#include "cv-machine-service.h"

G_BEGIN_DECLS

/* Properties (notified when they change):
 *   "id"            a random UUID, made once; read-only
 *   "name"          "Front desk PC"
 *   "gateway-host"  an IP literal without brackets, or a host name
 *   "gateway-port"  guint; CV_MACHINE_DEFAULT_GATEWAY_PORT unless given
 *   "gateway-web-path"  the path of a ws:// or wss:// gateway URL ("/culvert"), or NULL
 *                   for a raw connection to host:port (PROTOCOL.md §22)
 *   "gateway-web-tls"   wss:// rather than ws:// (only with a path)
 *   "web-fingerprint"   the outer TLS's key pinned for a wss:// gateway, or NULL: the
 *                   system's CAs and the URL's host name check it.  No editor row: it
 *                   comes from a provisioning file, for a wss:// port without a CA's
 *                   certificate (a gateway's own port takes its key as host:port anyway)
 *   "fingerprint"   the trusted gateway key ("sha256:" + 64 hex digits), or NULL before the
 *                   first connection; filled by trusting, cleared by "Forget Trusted Key"
 *   "session"       the session id at the gateway
 *   "last-used"     gint64, Unix seconds of the last successful connection; 0: never
 *   "services"      a GListModel of CvMachineService (a GListStore the machine owns)
 */
#define CV_MACHINE_DEFAULT_GATEWAY_PORT 8443

#define CV_TYPE_MACHINE (cv_machine_get_type ())
G_DECLARE_FINAL_TYPE (CvMachine, cv_machine, CV, MACHINE, GObject)

CvMachine *cv_machine_new (void);
/* A deep copy with the same id: what the editor changes until Save. */
CvMachine *cv_machine_copy (CvMachine *self);
/* Takes every field of @from (the same id) into @self, notifying what changed. */
void cv_machine_update_from (CvMachine *self, CvMachine *from);

const char *cv_machine_get_id (CvMachine *self);
const char *cv_machine_get_name (CvMachine *self);
void cv_machine_set_name (CvMachine *self, const char *name);
const char *cv_machine_get_gateway_host (CvMachine *self);
guint16 cv_machine_get_gateway_port (CvMachine *self);
void cv_machine_set_gateway (CvMachine *self, const char *host, guint16 port);
const char *cv_machine_get_gateway_web_path (CvMachine *self);
gboolean cv_machine_get_gateway_web_tls (CvMachine *self);
/* @path NULL: a raw host:port gateway (and @tls is ignored). */
void cv_machine_set_gateway_web (CvMachine *self, const char *path, gboolean tls);
const char *cv_machine_get_web_fingerprint (CvMachine *self);
void cv_machine_set_web_fingerprint (CvMachine *self, const char *fingerprint);
/* "relay.example:8443", brackets around an IPv6 literal; or the URL
 * "wss://relay.example/culvert" (its port only when not the scheme's). */
char *cv_machine_dup_gateway (CvMachine *self);
const char *cv_machine_get_fingerprint (CvMachine *self);
void cv_machine_set_fingerprint (CvMachine *self, const char *fingerprint);
const char *cv_machine_get_session (CvMachine *self);
void cv_machine_set_session (CvMachine *self, const char *session);
gint64 cv_machine_get_last_used (CvMachine *self);
void cv_machine_set_last_used (CvMachine *self, gint64 unix_seconds);
GListModel *cv_machine_get_services (CvMachine *self);
void cv_machine_add_service (CvMachine *self, CvMachineService *service);
void cv_machine_remove_service (CvMachine *self, CvMachineService *service);

/* Validation as the editor uses it, field by field: each returns FALSE with a sentence
 * (CV_APP_ERROR_INVALID) that says what is wrong and how it should look. */
gboolean cv_machine_check_name (const char *name, GError **error);
/* "host", "host:port", "[v6]:port"; fills @host and @port (the default port when none). */
gboolean cv_machine_parse_gateway (const char *text, char **host, guint16 *port, GError **error);
/* The same, or a "wss://host[:port][/path]" / "ws://…" URL: then @web_path is its path
 * (CV_WEB_URL_DEFAULT_PATH when none is written), else NULL. */
gboolean cv_machine_parse_gateway_url (const char *text,
                                       char **host,
                                       guint16 *port,
                                       char **web_path,
                                       gboolean *web_tls,
                                       GError **error);
gboolean cv_machine_check_session (const char *session, GError **error);
/* Every field and every service; at least one service. */
gboolean cv_machine_check (CvMachine *self, GError **error);

/* The machine as the store keeps it.  @for_export: without "id" and "last_used", for a
 * provisioning file that a helpdesk hands out (it never holds a password anyway). */
JsonObject *cv_machine_to_json (CvMachine *self, gboolean for_export);
/* A machine from the store's JSON or from a provisioning file; a missing "id" gets a new
 * one.  Unknown members are refused with their name; @where names the file. */
CvMachine *cv_machine_new_from_json (JsonObject *object, const char *where, GError **error);

G_END_DECLS
