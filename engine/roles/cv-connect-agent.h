/* cv-connect-agent.h: the technician's side — mappings listen locally and forward through
 * one tunnel to the share agent. */
#pragma once

#include <gio/gio.h>

#include "roles/cv-agent-link.h"

G_BEGIN_DECLS

#define CV_TYPE_CONNECT_AGENT (cv_connect_agent_get_type ())
G_DECLARE_FINAL_TYPE (CvConnectAgent, cv_connect_agent, CV, CONNECT_AGENT, GObject)

CvConnectAgent *cv_connect_agent_new (CvAgentLink *link, const char *known_peers_path);
gboolean cv_connect_agent_add_mapping (CvConnectAgent *self,
                                       const char *listen_host,
                                       guint16 listen_port,
                                       const char *target_host,
                                       guint16 target_port,
                                       guint16 *bound_port,
                                       GError **error);
void cv_connect_agent_start (CvConnectAgent *self);
CvAgentLink *cv_connect_agent_get_link (CvConnectAgent *self);

G_END_DECLS
