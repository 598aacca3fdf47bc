/* cv-share-agent.h: the agent next to the services — it dials only the targets it allows. */
#pragma once

#include <gio/gio.h>

#include "config/cv-agent-config.h"
#include "roles/cv-agent-link.h"
#include "auth/cv-allow-list.h"
#include "roles/cv-code-state.h"

G_BEGIN_DECLS

#define CV_TYPE_SHARE_AGENT (cv_share_agent_get_type ())
G_DECLARE_FINAL_TYPE (CvShareAgent, cv_share_agent, CV, SHARE_AGENT, GObject)

CvShareAgent *cv_share_agent_new_from_config (const CvShareConfig *config,
                                              GMainContext *context,
                                              GError **error);
CvShareAgent *cv_share_agent_new (CvAgentLink *link, CvAllowList *allow);
void cv_share_agent_start (CvShareAgent *self);
void cv_share_agent_stop (CvShareAgent *self);
CvAgentLink *cv_share_agent_get_link (CvShareAgent *self);
CvAgentLinkState cv_share_agent_get_state (CvShareAgent *self);
guint cv_share_agent_get_n_tunnels (CvShareAgent *self);
guint cv_share_agent_get_n_channels (CvShareAgent *self);
guint64 cv_share_agent_get_bytes_in (CvShareAgent *self);
guint64 cv_share_agent_get_bytes_out (CvShareAgent *self);
CvAllowList *cv_share_agent_get_allow_list (CvShareAgent *self);
gboolean cv_share_agent_set_authorized_connect_keys (CvShareAgent *self,
                                                     const char *const *keys,
                                                     GError **error);
const char *const *cv_share_agent_get_authorized_connect_keys (CvShareAgent *self);
guint cv_share_agent_get_tunnel (CvShareAgent *self,
                                 guint index,
                                 const char **peer_name,
                                 const char **peer_address,
                                 const char **peer_fingerprint);

void cv_share_agent_add_service (CvShareAgent *self,
                                 const char *name,
                                 CvServiceKind kind,
                                 const char *host,
                                 guint16 port);
void cv_share_agent_set_consent_timeout_ms (CvShareAgent *self, guint timeout_ms);
gboolean cv_share_agent_get_consent_pending (CvShareAgent *self);
gboolean cv_share_agent_accept (CvShareAgent *self);
gboolean cv_share_agent_deny (CvShareAgent *self);

gboolean cv_share_agent_renew_code (CvShareAgent *self);
const char *cv_share_agent_get_code (CvShareAgent *self);
gint64 cv_share_agent_get_code_expires (CvShareAgent *self);
CvCodeState cv_share_agent_get_code_state (CvShareAgent *self);
const char *cv_share_agent_get_verification (CvShareAgent *self);

G_END_DECLS
