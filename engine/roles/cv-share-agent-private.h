/* cv-share-agent-private.h: what the share agent's files share — its state, and the calls
 * one of them makes in another (tunnels and channels, consent and services, session codes). */
#pragma once

#include "roles/cv-share-agent.h"

#include "auth/cv-code-exchange.h"
#include "auth/cv-password.h" /* cv_secret_free */
#include "mux/cv-mux.h"
#include "roles/cv-traffic-meter.h"

G_BEGIN_DECLS

struct _CvShareAgent {
  GObject parent_instance;

  GMainContext *context;
  CvAgentLink *link;
  CvAllowList *allow;
  char **authorized_connect_keys; /* normalized; NULL: any key the gateway announces */
  GPtrArray *tunnels;             /* of Tunnel */
  guint max_channels_per_tunnel;  /* from the gateway's WELCOME; 0: the mux default */
  GCancellable *cancellable;
  gboolean stopped;

  CvAgentLinkState state;
  guint n_channels;
  CvTrafficMeter *traffic; /* made with the context */

  /* Offered services (of CvServiceInfo), or NULL: then no consent is asked and the allow
   * list alone decides.  With services, every tunnel asks for consent and may reach only
   * the targets of the services its connect agent asked for and the sharer accepted. */
  GPtrArray *services;
  guint consent_timeout_ms;
  GQueue consent_queue; /* of Tunnel, asked and not answered yet; the head is the prompt */

  /* Session codes (the link in code mode): the nameplate from the gateway, the secret
   * drawn here and never sent, and the PAKE with the one connect agent that claimed it.
   * Its key, bound in the PAKE, is the only one a tunnel may come from. */
  char *nameplate;
  char *secret; /* wiped when dropped */
  char *code;   /* "nameplate-secret" as people read it, or NULL */
  gint64 code_expires_us;
  CvCodeState code_state;
  char *verification;
  CvCodeExchange *exchange;
  char *claim_name, *claim_address;
  char *bound_connect_key; /* confirmed: the connect agent's key the PAKE bound */
};

enum {
  PROP_0,
  PROP_LINK,
  PROP_STATE,
  PROP_N_TUNNELS,
  PROP_N_CHANNELS,
  PROP_BYTES_IN,
  PROP_BYTES_OUT,
  PROP_CONSENT_PENDING,
  PROP_AUTHORIZED_CONNECT_KEYS,
  PROP_CODE,
  PROP_CODE_EXPIRES,
  PROP_CODE_STATE,
  PROP_VERIFICATION,
  N_PROPS
};

enum {
  SIGNAL_CHANNEL_OPENED,
  SIGNAL_CHANNEL_CLOSED,
  SIGNAL_CONSENT_REQUESTED,
  SIGNAL_CONNECT_KEY_REFUSED,
  N_SIGNALS
};

typedef enum {
  CONSENT_NOT_ASKED, /* no SERVICE_REQUEST yet */
  CONSENT_ASKED,     /* in the queue: the sharer has not answered */
  CONSENT_ACCEPTED,  /* allowed: the requested services' targets */
  CONSENT_REFUSED,   /* declined, timed out, or asked for what is not offered */
} ConsentState;

typedef struct {
  CvShareAgent *agent; /* not owned */
  CvMux *mux;
  char *peer_name;
  char *peer_address;
  char *peer_fingerprint; /* the key the tunnel's TLS proved */
  ConsentState consent;
  GStrv requested;    /* the service names asked for */
  CvAllowList *allow; /* once accepted: the requested services' targets */
  GSource *consent_timer;
} Tunnel;

/* cv-share-agent.c: the object. */
void cv_share_agent_notify (CvShareAgent *self, guint prop);
/* Emits signal @signal (SIGNAL_*) with its arguments. */
void cv_share_agent_emit (CvShareAgent *self, guint signal, ...);

/* cv-share-agent-tunnels.c: tunnel offers, tunnels, and the channels dialled over them. */
void cv_share_agent_tunnel_free (gpointer data);
/* Every tunnel closes (and with it, its channels). */
void cv_share_agent_close_tunnels (CvShareAgent *self);
void cv_share_agent_on_link_message (CvAgentLink *link,
                                     guint type,
                                     JsonObject *body,
                                     CvShareAgent *self);

/* cv-share-agent-consent.c: offered services and the sharer's consent. */
void cv_share_agent_forget_consent (CvShareAgent *self, Tunnel *tunnel);
/* The sharer's answer to the request at the head of the queue. */
gboolean cv_share_agent_answer (CvShareAgent *self, gboolean accepted, const char *reason);
void cv_share_agent_on_tunnel_control (CvMux *mux, guint type, GBytes *json, Tunnel *tunnel);
void cv_share_agent_send_services (CvShareAgent *self, Tunnel *tunnel);

/* cv-share-agent-codes.c: session codes (SESSION-CODES.md), the share side's PAKE. */
void cv_share_agent_set_code_state (CvShareAgent *self, CvCodeState state);
/* The secret and everything made from it, wiped. */
void cv_share_agent_wipe_code (CvShareAgent *self);
/* The code, its secret and its PAKE are gone (expired, burned, renewed, link lost). */
void cv_share_agent_drop_code (CvShareAgent *self);
/* A nameplate from the gateway (WELCOME, CODE_NAMEPLATE). */
void cv_share_agent_new_code (CvShareAgent *self, JsonObject *body);
/* Returns: TRUE if @type was a code message, handled */
gboolean cv_share_agent_code_message (CvShareAgent *self, guint type, JsonObject *body);

G_END_DECLS
