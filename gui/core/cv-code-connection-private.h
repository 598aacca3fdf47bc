/* cv-code-connection-private.h: what the code connection's files share — its state, and
 * the calls one makes in another (cv-code-connection.c: the object and its public calls;
 * -agent.c: the engine's connect agent and what it says, in words). */
#pragma once

#include "cv-code-connection.h"

#include "config/cv-agent-config.h"
#include "roles/cv-connect-agent.h"

G_BEGIN_DECLS

struct _CvCodeConnection {
  GObject parent_instance;

  GMainContext *context; /* the thread-default one when made: everything runs there */
  char *gateway;         /* as set, trimmed; "" for none */
  char *fingerprint;     /* as set, trimmed; "" for none */
  char *state_dir;

  CvCodeConnectionState state;
  char *verification;
  char *share_name;
  GError *error;
  GListStore *services; /* of CvServiceLink, the chosen ones */
  GListStore *no_offer; /* of CvService, always empty: "offered" without an agent */

  CvConnectAgent *agent; /* from claim () until disconnect () or a failure */
  GSource *timeout;      /* CLAIMING: the bound of the wait for the offered services */
};

enum {
  PROP_0,
  PROP_STATE,
  PROP_VERIFICATION,
  PROP_SHARE_NAME,
  PROP_OFFERED,
  PROP_SERVICES,
  PROP_ERROR,
  N_PROPS
};

/* cv-code-connection.c */
void cv_code_connection_notify (CvCodeConnection *self, guint prop_id);
void cv_code_connection_set_state (CvCodeConnection *self, CvCodeConnectionState state);
/* PROP_VERIFICATION or PROP_SHARE_NAME. */
void cv_code_connection_set_string (CvCodeConnection *self, guint prop_id, const char *value);
/* FAILED with @error (taken): the agent stops. */
void cv_code_connection_fail (CvCodeConnection *self, GError *error);

/* cv-code-connection-agent.c */
gboolean cv_code_connection_start_agent (CvCodeConnection *self,
                                         const CvConnectConfig *config,
                                         const char *code,
                                         GError **error);
/* Stops the agent (on an idle: it may be telling us something) and clears the services'
 * mappings. */
void cv_code_connection_drop_agent (CvCodeConnection *self);

G_END_DECLS
