/* cv-gateway-private.h: what the gateway's files share — its state, and the calls one
 * of them makes in another (intake → login → sessions → rendezvous). */
#pragma once

#include "roles/cv-gateway.h"

#include "auth/cv-admission.h"
#include "auth/cv-auth-limiter.h"
#include "mux/cv-mux.h"
#include "roles/cv-gateway-link.h"

G_BEGIN_DECLS

/* A session as the gateway runs it: its credentials from the config, and who is
 * online in it. */
typedef struct {
  char *id;
  char *name;
  char *share_hash;
  char *connect_hash;
  CvGatewayLink *share;  /* not owned: links own themselves through the gateway */
  GPtrArray *connects;   /* of CvGatewayLink, not owned */
  gboolean removed;
} CvGatewaySessionState;

struct _CvGateway {
  GObject parent_instance;

  CvGatewayConfig *config;
  CvIdentity *identity;
  CvAuthLimiter *limiter;
  GSocketService *service;
  GArray *ports;
  CvMuxConfig mux_config;

  GHashTable *sessions; /* id → CvGatewaySessionState */
  GHashTable *tickets;  /* ticket → rendezvous (two entries per rendezvous) */
  GPtrArray *links;     /* of CvGatewayLink, owned */
  GHashTable *pending;  /* set of connections not yet sniffed */
  CvAdmission *admission;
  GHashTable *verifying; /* address → password checks under way */
  guint n_rendezvous;
  guint n_tunnels;
  GCancellable *cancellable;
  char *record_path;
  gboolean shutting_down;
};

/* cv-gateway-sessions.c: sessions, the control links in them, presence. */
void cv_gateway_session_state_free (gpointer data);
void cv_gateway_load_sessions (CvGateway *self, CvGatewayConfig *config);
guint cv_gateway_drop_removed_sessions (CvGateway *self);
JsonObject *cv_gateway_presence_body (CvGatewaySessionState *session);
void cv_gateway_add_link (CvGateway *self, CvGatewayLink *link);
void cv_gateway_admit (CvGateway *self, CvGatewayLink *link, CvGatewaySessionState *session);

/* cv-gateway-login.c: HELLO checks and the password verification. */
void cv_gateway_on_link_hello (CvGatewayLink *link, CvGateway *self);

/* cv-gateway-rendezvous.c: tickets, and joining the two halves of a tunnel. */
void cv_gateway_offer_tunnel (CvGateway *self, CvGatewaySessionState *session,
                              CvGatewayLink *connect);
void cv_gateway_accept_tunnel_half (CvGateway *self, GSocketConnection *connection,
                                    const char *ticket, const char *remote);
void cv_gateway_forget_rendezvous (CvGateway *self);

/* cv-gateway-intake.c: new connections, told apart by their first bytes. */
void cv_gateway_pending_free (gpointer data);
gboolean cv_gateway_on_incoming (GSocketService *service, GSocketConnection *connection,
                                 GObject *source, gpointer user_data);

G_END_DECLS
