/* cv-connect-agent.h: the technician's side — mappings listen locally and forward through
 * one tunnel to the share agent. */
#pragma once

#include <gio/gio.h>

#include "config/cv-agent-config.h"
#include "roles/cv-agent-link.h"
#include "roles/cv-code-state.h"
#include "roles/cv-mapping.h"

G_BEGIN_DECLS

#define CV_TYPE_CONNECT_AGENT (cv_connect_agent_get_type ())
G_DECLARE_FINAL_TYPE (CvConnectAgent, cv_connect_agent, CV, CONNECT_AGENT, GObject)

CvConnectAgent *cv_connect_agent_new_from_config (const CvConnectConfig *config,
                                                  GMainContext *context,
                                                  GError **error);
CvConnectAgent *cv_connect_agent_new (CvAgentLink *link, const char *known_peers_path);
gboolean cv_connect_agent_add_mapping (CvConnectAgent *self,
                                       const char *listen_host,
                                       guint16 listen_port,
                                       const char *target_host,
                                       guint16 target_port,
                                       GError **error);
void cv_connect_agent_remove_mapping (CvConnectAgent *self, CvMapping *mapping);
gboolean cv_connect_agent_map_service (CvConnectAgent *self,
                                       const char *name,
                                       guint16 listen_port,
                                       GError **error);
GListModel *cv_connect_agent_get_services (CvConnectAgent *self);
void cv_connect_agent_set_services_first (CvConnectAgent *self, gboolean services_first);
gboolean cv_connect_agent_request_services (CvConnectAgent *self,
                                            const char *const *names,
                                            GError **error);
gboolean cv_connect_agent_get_consented (CvConnectAgent *self);
const char *cv_connect_agent_get_declined_reason (CvConnectAgent *self);
gboolean cv_connect_agent_set_code (CvConnectAgent *self, const char *code, GError **error);
CvCodeState cv_connect_agent_get_code_state (CvConnectAgent *self);
const char *cv_connect_agent_get_verification (CvConnectAgent *self);
void cv_connect_agent_start (CvConnectAgent *self);
void cv_connect_agent_stop (CvConnectAgent *self);
CvAgentLink *cv_connect_agent_get_link (CvConnectAgent *self);
GListModel *cv_connect_agent_get_mappings (CvConnectAgent *self);
CvAgentLinkState cv_connect_agent_get_state (CvConnectAgent *self);
gboolean cv_connect_agent_get_share_online (CvConnectAgent *self);
const char *cv_connect_agent_get_share_name (CvConnectAgent *self);
const char *cv_connect_agent_get_share_fingerprint (CvConnectAgent *self);
gboolean cv_connect_agent_has_tunnel (CvConnectAgent *self);
guint cv_connect_agent_get_n_channels (CvConnectAgent *self);
gint64 cv_connect_agent_get_round_trip_us (CvConnectAgent *self);
void cv_connect_agent_set_offline_hold_ms (CvConnectAgent *self, guint hold_ms);

G_END_DECLS
