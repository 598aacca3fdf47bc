/* cv-agent-link.h: an agent's control link to the gateway, kept up forever. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "config/cv-agent-config.h"
#include "wire/cv-control.h"
#include "transport/cv-identity.h"
#include "mux/cv-mux.h"
#include "transport/cv-gateway-dial.h"

G_BEGIN_DECLS

/* Why a link is down; a refused login is a CV_REFUSAL_ERROR instead, its code the reason. */
#define CV_AGENT_ERROR (cv_agent_error_quark ())
GQuark cv_agent_error_quark (void);

typedef enum {
  CV_AGENT_ERROR_REPLACED,    /* another share agent took over the session */
  CV_AGENT_ERROR_UNREACHABLE, /* no TCP connection to the gateway */
  CV_AGENT_ERROR_TLS,         /* the gateway's certificate or the handshake failed */
  CV_AGENT_ERROR_LOST,        /* the link went down */
  CV_AGENT_ERROR_TIMEOUT,
} CvAgentError;

typedef enum {
  CV_AGENT_LINK_STATE_STOPPED,     /* not started, stopped, or given up ("last-error" says why) */
  CV_AGENT_LINK_STATE_CONNECTING,  /* dialling, TLS, HELLO sent */
  CV_AGENT_LINK_STATE_ONLINE,      /* WELCOME came */
  CV_AGENT_LINK_STATE_BACKING_OFF, /* down; the next try is at "next-retry-time" */
  CV_AGENT_LINK_STATE_REFUSED,     /* the gateway said "refusal"; retried at "next-retry-time" */
} CvAgentLinkState;

#define CV_TYPE_AGENT_LINK_STATE (cv_agent_link_state_get_type ())
GType cv_agent_link_state_get_type (void);

#define CV_TYPE_AGENT_LINK (cv_agent_link_get_type ())
G_DECLARE_FINAL_TYPE (CvAgentLink, cv_agent_link, CV, AGENT_LINK, GObject)

CvAgentLink *cv_agent_link_new (const CvGatewayAddress *gateway,
                                CvIdentity *identity,
                                CvAgentRole role,
                                const char *session,
                                const char *password,
                                const char *name,
                                GMainContext *context);
/* An agent's key is state_dir/agent.pem, made on its first start. */
#define CV_AGENT_IDENTITY_NAME "agent"

CvAgentLink *cv_agent_link_new_from_config (const CvAgentConfig *config,
                                            CvAgentRole role,
                                            GMainContext *context,
                                            GError **error);
gboolean cv_agent_link_check_identity (const CvAgentConfig *config,
                                       CvIdentity **identity,
                                       GError **error);
void cv_agent_link_start (CvAgentLink *self);
void cv_agent_link_stop (CvAgentLink *self);
gboolean cv_agent_link_is_ready (CvAgentLink *self);
gboolean cv_agent_link_send (CvAgentLink *self, CvControlType type, JsonObject *body);
const CvGatewayAddress *cv_agent_link_get_gateway (CvAgentLink *self);
CvIdentity *cv_agent_link_get_identity (CvAgentLink *self);
const char *cv_agent_link_get_session (CvAgentLink *self);
CvAgentRole cv_agent_link_get_role (CvAgentLink *self);
GMainContext *cv_agent_link_get_main_context (CvAgentLink *self);
CvAgentLinkState cv_agent_link_get_state (CvAgentLink *self);
gint64 cv_agent_link_get_next_retry_time (CvAgentLink *self);
CvRefusal cv_agent_link_get_refusal (CvAgentLink *self);
const char *cv_agent_link_get_refusal_message (CvAgentLink *self);
const GError *cv_agent_link_get_last_error (CvAgentLink *self);
const char *cv_agent_link_get_name (CvAgentLink *self);
gint64 cv_agent_link_get_started_time (CvAgentLink *self);
gint64 cv_agent_link_get_online_time (CvAgentLink *self);
gint64 cv_agent_link_get_round_trip_us (CvAgentLink *self);
void cv_agent_link_set_backoff (CvAgentLink *self,
                                guint initial_ms,
                                guint max_ms,
                                guint auth_initial_ms,
                                guint auth_max_ms);

void cv_agent_link_set_code_mode (CvAgentLink *self, const char *nameplate);
gboolean cv_agent_link_get_code_mode (CvAgentLink *self);

G_END_DECLS
