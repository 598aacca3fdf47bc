/* cv-agent-config-private.h: what the agents' config files share between
 * cv-agent-config.c and cv-agent-gateway.c (the gateway, its pins and the proxy). */
#pragma once

#include "config/cv-agent-config.h"

G_BEGIN_DECLS

gboolean cv_agent_config_read_gateway (CvAgentConfig *agent, JsonObject *root, GError **error);
gboolean cv_agent_config_check_web (const CvAgentConfig *agent, GError **error);

G_END_DECLS
