/* cv-embedded-gateway-private.h: the embedded gateway's state, shared by the two files of
 * the class: cv-embedded-gateway.c (the object, start and stop, the agents list) and
 * cv-embedded-gateway-sessions.c (the config, the sessions file, sessions, the share
 * command). */
#pragma once

#include "cv-embedded-gateway.h"

#include "config/cv-gateway-config.h"
#include "roles/cv-gateway.h"

G_BEGIN_DECLS

struct _CvEmbeddedGateway {
  GObject parent_instance;

  GMainContext *context;
  char *state_dir;
  char *sessions_path;
  char *listen_host;
  guint16 listen_port;
  guint16 bound_port;
  gboolean loaded;
  CvIdentity *identity;
  GError *error;
  GListStore *sessions; /* of CvEmbeddedSession */
  GListStore *agents;   /* of CvEmbeddedAgent */
  guint n_links;
  CvGateway *gateway; /* while running */
  GSource *refresh;
};

enum {
  PROP_0,
  PROP_RUNNING,
  PROP_LISTEN_HOST,
  PROP_LISTEN_PORT,
  PROP_BOUND_PORT,
  PROP_FINGERPRINT,
  PROP_ERROR,
  PROP_SESSIONS,
  PROP_N_LINKS,
  PROP_AGENTS,
  N_PROPS
};

void cv_embedded_gateway_notify (CvEmbeddedGateway *self, guint prop_id);
/* The agents list and each session's presence, from the running gateway's status. */
void cv_embedded_gateway_refresh (CvEmbeddedGateway *self);

/* cv-embedded-gateway-sessions.c */
/* The gateway's config as its file would say it.  @from_file: the sessions from the
 * sessions file (if there is one) rather than from memory. */
CvGatewayConfig *cv_embedded_gateway_make_config (CvEmbeddedGateway *self,
                                                  gboolean from_file,
                                                  GError **error);
CvEmbeddedSession *cv_embedded_gateway_find_session (CvEmbeddedGateway *self, const char *id);

G_END_DECLS
