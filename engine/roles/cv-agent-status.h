/* cv-agent-status.h: a running share or connect agent's state as one JSON document —
 * what the admin socket serves, `culvert-cli status` shows and the app can read. */
#pragma once

#include <json-glib/json-glib.h>

#include "roles/cv-connect-agent.h"
#include "roles/cv-share-agent.h"

G_BEGIN_DECLS

JsonNode *cv_share_agent_build_status (CvShareAgent *agent);
JsonNode *cv_connect_agent_build_status (CvConnectAgent *agent);

G_END_DECLS
