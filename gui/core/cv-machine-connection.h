/* cv-machine-connection.h: one saved machine, driven through the engine in-process — its
 * presence while idle, and on Connect the control link, the mappings and their state. */
#pragma once

#include <gio/gio.h>

#include "cv-machine.h"
#include "cv-secret-store.h"

G_BEGIN_DECLS

typedef enum {
  CV_CONNECTION_STATE_IDLE,         /* not connected ("presence" may still be watched) */
  CV_CONNECTION_STATE_PREPARING,    /* reading the password, learning the gateway's key */
  CV_CONNECTION_STATE_NEEDS_TRUST,  /* "trust-requested" was emitted; waiting for trust () */
  CV_CONNECTION_STATE_CONNECTING,   /* mappings listen; the link is dialling or logging in */
  CV_CONNECTION_STATE_CONNECTED,    /* the link is online; "share-online" says if the
                                     * machine is there */
  CV_CONNECTION_STATE_RECONNECTING, /* the link dropped or was refused; the engine retries at
                                     * "next-retry-time" (a lost machine, a gateway restart) */
  CV_CONNECTION_STATE_FAILED,       /* blocking, nothing retried: "error" says why and what to
                                     * do (key changed, no password, wrong password…) */
} CvConnectionState;

#define CV_TYPE_CONNECTION_STATE (cv_connection_state_get_type ())
GType cv_connection_state_get_type (void);

typedef enum {
  CV_PRESENCE_UNKNOWN, /* not watched: no password or no trusted key yet, or no answer */
  CV_PRESENCE_ONLINE,  /* the machine's share agent is online at the gateway */
  CV_PRESENCE_OFFLINE,
} CvPresence;

#define CV_TYPE_PRESENCE (cv_presence_get_type ())
GType cv_presence_get_type (void);

/* Properties (read-only, notified on the main context the connection was made on):
 *   "machine"          CvMachine
 *   "state"            CvConnectionState
 *   "presence"         CvPresence, live (from the connected link, or while idle from a
 *                      presence-only link that opens no tunnel and no port)
 *   "presence-since"   gint64, g_get_real_time () µs when "presence" last changed
 *   "error"            GError (boxed): why the last attempt failed or the link is down, a
 *                      sentence with what to do next; NULL when all is well
 *   "next-retry-time"  gint64, g_get_monotonic_time () µs of the engine's next try; 0: none
 *   "round-trip-us"    gint64, the tunnel's round trip; -1 without one
 *   "n-channels"       guint, over every service
 *   "services"         GListModel of CvServiceLink, one per machine service, in order
 *   "status"           a sentence for the machine's row subtitle: "online", "offline since
 *                      10:42", "connecting… next try in 4 s", "connected · 2 connections"
 *
 * Signals:
 *   "trust-requested" (const char *fingerprint, const char *old_fingerprint)
 *       The gateway's key must be confirmed by the person: first contact (old NULL).  The
 *       answer is cv_machine_connection_trust () or _disconnect ().  A changed key does
 *       not ask: it goes FAILED with CV_APP_ERROR_KEY_CHANGED, "changed-fingerprint" set.
 *   "connected" ()   the first time the link is online after connect (): launch clients now
 *   "dropped" (const GError *why)   the link or the machine went away while connected; the
 *       engine reconnects by itself (for a GNotification)
 *   "restored" ()    online again after "dropped"
 */
#define CV_TYPE_MACHINE_CONNECTION (cv_machine_connection_get_type ())
G_DECLARE_FINAL_TYPE (CvMachineConnection, cv_machine_connection, CV, MACHINE_CONNECTION, GObject)

/* @state_dir: the agent's key and pinned share agents (NULL: user data dir/culvert). */
CvMachineConnection *cv_machine_connection_new (CvMachine *machine,
                                                CvSecretStore *secrets,
                                                const char *state_dir);

CvMachine *cv_machine_connection_get_machine (CvMachineConnection *self);
CvConnectionState cv_machine_connection_get_state (CvMachineConnection *self);
CvPresence cv_machine_connection_get_presence (CvMachineConnection *self);
gint64 cv_machine_connection_get_presence_since (CvMachineConnection *self);
const GError *cv_machine_connection_get_error (CvMachineConnection *self);
gint64 cv_machine_connection_get_next_retry_time (CvMachineConnection *self);
gint64 cv_machine_connection_get_round_trip_us (CvMachineConnection *self);
guint cv_machine_connection_get_n_channels (CvMachineConnection *self);
GListModel *cv_machine_connection_get_services (CvMachineConnection *self);
const char *cv_machine_connection_get_status (CvMachineConnection *self);
/* The key the gateway presented when it differs from the trusted one, else NULL. */
const char *cv_machine_connection_get_changed_fingerprint (CvMachineConnection *self);

/* Keep a presence-only link up while idle (no port opened, no tunnel).  Does nothing until
 * the machine has a trusted key and a password is found. */
void cv_machine_connection_watch_presence (CvMachineConnection *self, gboolean watch);

/* Connect: password from the store, trust, then every service listens (a taken saved port
 * falls back to an automatic one, "fell-back") and the link comes up.  From IDLE or
 * FAILED; otherwise ignored. */
void cv_machine_connection_connect (CvMachineConnection *self);
/* The person trusted @fingerprint: it becomes the machine's, and connecting goes on. */
void cv_machine_connection_trust (CvMachineConnection *self, const char *fingerprint);
/* Ends everything: tunnel, channels, listeners, link; back to IDLE.  Idempotent. */
void cv_machine_connection_disconnect (CvMachineConnection *self);

G_END_DECLS
