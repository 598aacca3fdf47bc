/* cv-gateway-private.h: what the gateway's files share — its state, and the calls one
 * of them makes in another (intake → login → sessions → rendezvous). */
#pragma once

#include "roles/cv-gateway.h"

#include "auth/cv-admission.h"
#include "base/cv-acceptor.h"
#include "base/cv-log-summary.h"
#include "auth/cv-auth-limiter.h"
#include "auth/cv-password-checker.h"
#include "mux/cv-mux.h"
#include "roles/cv-gateway-link.h"
#include "roles/cv-nameplates.h"

#include <libsoup/soup.h>

G_BEGIN_DECLS

/* Connections that came to nothing, which anyone can make by the thousand: logged in
 * full the first time, then summarised (base/cv-log-summary, junk_log_interval_ms). */
/* The first byte of a TLS handshake record: how the intake tells a control link from a
 * tunnel preface, and websocket_listen a misdirected agent from HTTP. */
#define CV_GATEWAY_TLS_RECORD_HANDSHAKE 0x16

typedef enum {
  CV_GATEWAY_JUNK_NOT_AGENT,      /* its first byte opened neither TLS nor a tunnel */
  CV_GATEWAY_JUNK_SILENT,         /* nothing useful within the handshake deadline */
  CV_GATEWAY_JUNK_TLS_FAILED,     /* the TLS handshake failed */
  CV_GATEWAY_JUNK_BAD_PREFACE,    /* a tunnel preface that is not one */
  CV_GATEWAY_JUNK_UNKNOWN_TICKET, /* a tunnel half with an unknown or used ticket */
  CV_GATEWAY_JUNK_NO_HELLO,       /* TLS, then no HELLO within the deadline */
  CV_GATEWAY_JUNK_REFUSED,        /* turned away at accept: admission, max_links */
  CV_GATEWAY_JUNK_BUSY,           /* a login told to come back: the check queue was full */
  CV_GATEWAY_JUNK_BLOCKED,        /* a login from an address the limiter holds back */
  /* Not strangers, but as many: a logged-in agent can ask for refusals as fast as it
   * sends (bench-attacks: 143,968 lines in 3.9 s before this). */
  CV_GATEWAY_JUNK_TUNNEL_REFUSED, /* a tunnel request refused: a limit or the rate */
  CV_GATEWAY_JUNK_NOT_UPGRADE,    /* an HTTP request that is no WebSocket upgrade of ours */
  CV_GATEWAY_N_JUNK
} CvGatewayJunk;

/* A session as the gateway runs it: its credentials from the config, and who is
 * online in it. */
typedef struct {
  char *id;
  char *name;
  char *share_hash;
  char *connect_hash;
  CvGatewayLink *share; /* not owned: links own themselves through the gateway */
  GPtrArray *connects;  /* of CvGatewayLink, not owned */
  gboolean removed;
  gpointer code; /* a session code's (cv-gateway-codes.c), or NULL for a configured session */
} CvGatewaySessionState;

struct _CvGateway {
  GObject parent_instance;

  CvGatewayConfig *config;
  CvIdentity *identity;
  CvAuthLimiter *limiter;
  GMainContext *context; /* every source and async call of the gateway's is on it */
  CvAcceptor *service;   /* the listening sockets */
  GArray *ports;
  CvMuxConfig mux_config;

  GHashTable *sessions; /* id → CvGatewaySessionState */
  CvNameplates *nameplates;
  GHashTable *codes;          /* share link → its code (cv-gateway-codes.c), owned */
  GHashTable *codes_by_plate; /* nameplate → the code that holds it, not owned */
  GHashTable *code_rates;     /* CvSourceKey → the address's allocations and claims */
  gint64 code_window_us;      /* the global counts' minute */
  guint code_allocations;
  guint code_claims;
  GHashTable *tickets; /* ticket → rendezvous (two entries per rendezvous) */
  GPtrArray *joins;    /* the joined tunnels, not owned: each frees itself when it ends */
  GHashTable *tunnels_per_session; /* session id → offered and joined tunnels */
  GHashTable *tunnels_per_key;     /* connect agent's fingerprint → the same */
  GPtrArray *links;                /* of CvGatewayLink, owned */
  GHashTable *pending;             /* set of connections not yet sniffed */
  /* The web side (cv-gateway-web.c): HTTP until the WebSocket upgrade. */
  SoupServer *web;
  CvAcceptor *web_service; /* websocket_listen's sockets, or NULL */
  GArray *web_ports;       /* of guint16, as websocket_listen's */
  GHashTable *web_pending; /* the address given to the SoupServer → its WebPending */
  CvAdmission *admission;
  CvLogSummary *junk;         /* of CvGatewayJunk */
  CvPasswordChecker *checker; /* the gateway's own queue of Argon2 checks */
  char *dummy_hash;           /* what an unknown session's password is checked against */
  guint n_rendezvous;
  guint n_tunnels;
  GCancellable *cancellable;      /* cancelled by shutdown and stop: accepts, joins, checks */
  GCancellable *stop_cancellable; /* cancelled by stop only: TLS handshakes under way */
  char *record_path;
  CvIdentity *impostor; /* debug: announced in place of each code agent's key, or NULL */
  gboolean shutting_down;
  gboolean running;
  gint64 started_time; /* g_get_real_time () µs at cv_gateway_start(); 0 before */

  /* The counts last notified, so that a notify means a change. */
  guint notified_links;
  guint notified_tunnels;
  guint notified_sessions_online;
};

/* Entry points (callbacks, public calls) run with the gateway's context pushed as
 * thread-default, so that what they start (GTasks, mux and TLS sources, closes)
 * comes back on it too. */
#define CV_GATEWAY_ON_ITS_CONTEXT(self)                                                            \
  g_autoptr (GMainContextPusher) G_PASTE (pusher_, __LINE__)                                       \
    G_GNUC_UNUSED = g_main_context_pusher_new ((self)->context)

GSource *cv_gateway_add_timeout (CvGateway *self, guint ms, GSourceFunc func, gpointer data);
/* Notifies the counts ("n-links", "n-tunnels", "n-sessions-online") that changed. */
void cv_gateway_counts_changed (CvGateway *self);

/* cv-gateway-sessions.c: sessions, the control links in them, presence. */
void cv_gateway_session_state_free (gpointer data);
void cv_gateway_load_sessions (CvGateway *self, CvGatewayConfig *config);
guint cv_gateway_drop_removed_sessions (CvGateway *self);
JsonObject *cv_gateway_presence_body (CvGatewaySessionState *session);
void cv_gateway_add_link (CvGateway *self, CvGatewayLink *link);
void cv_gateway_admit (CvGateway *self, CvGatewayLink *link, CvGatewaySessionState *session);
/* The password hash @link logged in with; NULL before it was admitted. */
const char *cv_gateway_link_admitted_hash (CvGatewayLink *link);
/* Reload: links admitted with a hash their session no longer has are told so and go. */
guint cv_gateway_revoke_links (CvGateway *self);
void cv_gateway_drop_links (CvGateway *self);
guint cv_gateway_count_sessions_online (CvGateway *self);

/* A configured session by id, or a session code's ("code NNN"); NULL if none. */
CvGatewaySessionState *cv_gateway_find_session (CvGateway *self, const char *id);

/* cv-gateway-codes.c: session codes (SESSION-CODES.md §5). */
void cv_gateway_codes_init (CvGateway *self);
void cv_gateway_codes_clear (CvGateway *self);
void cv_gateway_code_hello (CvGateway *self, CvGatewayLink *link);
void cv_gateway_code_message (CvGateway *self, CvGatewayLink *link, guint type, JsonObject *body);
void cv_gateway_code_forget_link (CvGateway *self, CvGatewayLink *link);
/* The open codes as the status document lists them. */
void cv_gateway_codes_add_status (CvGateway *self, JsonBuilder *builder);

/* cv-gateway-login.c: HELLO checks and the password check. */
void cv_gateway_on_link_hello (CvGatewayLink *link, CvGateway *self);

/* cv-gateway-rendezvous.c: tickets, and joining the two halves of a tunnel. */
void cv_gateway_offer_tunnel (CvGateway *self,
                              CvGatewaySessionState *session,
                              CvGatewayLink *connect);
void cv_gateway_accept_tunnel_half (CvGateway *self,
                                    GSocketConnection *connection,
                                    const char *ticket,
                                    const char *remote);
void cv_gateway_forget_rendezvous (CvGateway *self);
/* Reload: tunnels and offers whose session is gone, or whose agents logged in with a
 * hash it no longer has, end now.  Returns: how many */
guint cv_gateway_revoke_tunnels (CvGateway *self);

/* A joined tunnel as the status report shows it; the strings are the tunnel's own,
 * valid until the gateway's context runs again. */
typedef struct {
  const char *session_id;
  const char *connect_key; /* the connect agent's fingerprint */
  gint64 joined_time;      /* g_get_real_time () µs */
  guint64 bytes_share_to_connect;
  guint64 bytes_connect_to_share;
} CvGatewayTunnelInfo;

/* Returns: (transfer full) (element-type CvGatewayTunnelInfo): the joined tunnels */
GArray *cv_gateway_list_tunnels (CvGateway *self);

/* cv-gateway-intake.c: new connections, told apart by their first bytes. */
void cv_gateway_take_connection (CvGateway *self,
                                 GSocketConnection *connection,
                                 GInetAddress *address,
                                 gboolean in_websocket);
GInetAddress *cv_gateway_remote_address_of (GSocketConnection *connection);
void cv_gateway_pending_free (gpointer data);
void cv_gateway_on_incoming (CvAcceptor *acceptor,
                             GSocketConnection *connection,
                             gpointer user_data);
void cv_gateway_drop_pending (CvGateway *self);

/* cv-gateway-web.c: HTTP up to the WebSocket upgrade, on the TLS port and on
 * websocket_listen; the upgraded connection goes back to the intake. */
void cv_gateway_web_init (CvGateway *self);
gboolean cv_gateway_web_start (CvGateway *self, GError **error);
/* No new connections on websocket_listen; upgrades under way go on (shutdown). */
void cv_gateway_web_close_listeners (CvGateway *self);
/* Everything not upgraded yet is closed (stop, dispose). */
void cv_gateway_web_stop (CvGateway *self);
void cv_gateway_web_take (CvGateway *self,
                          GIOStream *stream,
                          GSocket *socket,
                          GInetAddress *address,
                          CvAdmissionSlot *slot,
                          gint64 deadline_us);

G_END_DECLS
