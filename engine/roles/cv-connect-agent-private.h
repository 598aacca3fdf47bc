/* cv-connect-agent-private.h: what the connect agent's files share — its state, and the
 * calls one of them makes in another (cv-connect-agent.c: the object and its public
 * calls; -tunnel.c: waiting clients, channels and the tunnel; -services.c: offered
 * services and consent; -codes.c: session codes). */
#pragma once

#include "roles/cv-connect-agent.h"

#include "auth/cv-code-exchange.h"
#include "auth/cv-password.h" /* cv_secret_free */
#include "mux/cv-mux.h"
#include "roles/cv-client-queue.h"
#include "roles/cv-service.h"

G_BEGIN_DECLS

#define MAX_WAITING 512

struct _CvConnectAgent {
  GObject parent_instance;

  GMainContext *context;
  CvAgentLink *link;
  char *known_peers_path;
  GListStore *mappings;   /* of CvMapping */
  CvClientQueue *waiting; /* clients that arrived before the tunnel */
  guint offline_hold_ms;
  CvMux *tunnel;
  gboolean tunnel_requested;
  GSource *tunnel_timer;
  GCancellable *cancellable;
  gboolean stopped;

  CvAgentLinkState state;
  gboolean share_online;
  char *share_name;
  /* The last share agent the gateway announced online, kept while it is away: one that
   * comes back is no news, another one is. */
  char *last_share_name;
  char *last_share_fingerprint;
  guint n_channels;
  gint64 round_trip_us;

  /* Mapped by service name (cv_connect_agent_map_service()): then every tunnel first
   * learns the offered services, asks for the mapped ones, and carries nothing until the
   * sharer consents. */
  gboolean by_service;
  /* Services first (cv_connect_agent_set_services_first()): the tunnel opens as soon as
   * the code is confirmed, and nothing is asked before cv_connect_agent_request_services()
   * says what (hold_request until then). */
  gboolean services_first;
  gboolean hold_request;
  GListStore *services;       /* of CvService, from the last SERVICES */
  gboolean service_requested; /* on this tunnel */
  gboolean consented;         /* on this tunnel */
  char *declined_reason;      /* the sharer refused: final for this agent */

  /* Session codes (cv_connect_agent_set_code()): the secret typed, the PAKE with the
   * share agent the gateway names, and the share key it bound, which is the only one a
   * tunnel may present (instead of known_shares' pins). */
  char *nameplate;
  char *secret; /* wiped when dropped */
  CvCodeExchange *exchange;
  CvCodeState code_state;
  char *verification;
  char *bound_share_key;
};

enum {
  PROP_0,
  PROP_LINK,
  PROP_STATE,
  PROP_SHARE_ONLINE,
  PROP_SHARE_NAME,
  PROP_N_CHANNELS,
  PROP_ROUND_TRIP_US,
  PROP_MAPPINGS,
  PROP_SERVICES,
  PROP_CONSENTED,
  PROP_DECLINED_REASON,
  PROP_CODE_STATE,
  PROP_VERIFICATION,
  N_PROPS
};

/* cv-connect-agent.c: notifying properties, emitting signals. */
void cv_connect_agent_notify (CvConnectAgent *self, guint prop_id);
void cv_connect_agent_emit_channel_opened (CvConnectAgent *self,
                                           CvMapping *mapping,
                                           const char *target);
void cv_connect_agent_emit_channel_closed (CvConnectAgent *self,
                                           CvMapping *mapping,
                                           const char *target,
                                           const GError *error);
void cv_connect_agent_set_round_trip (CvConnectAgent *self, gint64 round_trip_us);
void cv_connect_agent_set_share (CvConnectAgent *self, gboolean online, const char *name);
void cv_connect_agent_set_code_state (CvConnectAgent *self, CvCodeState state);

/* cv-connect-agent-tunnel.c: waiting clients, channels, the tunnel and presence. */
void cv_connect_agent_fail_waiting (CvConnectAgent *self, const char *why);
GError *cv_connect_agent_why_no_tunnel (gpointer user_data);
GError *cv_connect_agent_declined_error (CvConnectAgent *self);
void cv_connect_agent_hold_waiting (CvConnectAgent *self);
void cv_connect_agent_drop_tunnel (CvConnectAgent *self);
void cv_connect_agent_flush_waiting (CvConnectAgent *self);
void cv_connect_agent_request_tunnel (CvConnectAgent *self);
void cv_connect_agent_on_local_connection (CvMapping *mapping,
                                           GSocketConnection *connection,
                                           CvConnectAgent *self);
void cv_connect_agent_on_tunnel_offer (CvConnectAgent *self, JsonObject *body);
void cv_connect_agent_update_presence (CvConnectAgent *self, JsonObject *body);

/* cv-connect-agent-services.c: offered services and consent. */
void cv_connect_agent_on_tunnel_control (CvMux *mux,
                                         guint type,
                                         GBytes *json,
                                         CvConnectAgent *self);

/* cv-connect-agent-codes.c: session codes. */
void cv_connect_agent_on_code_welcome (CvConnectAgent *self, JsonObject *welcome);
gboolean cv_connect_agent_on_code_message (CvConnectAgent *self, guint type, JsonObject *body);

G_END_DECLS
