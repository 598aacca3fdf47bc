/* cv-gateway-status.h: a running gateway's state as one JSON document — what the admin
 * socket serves, `culvert-cli status` shows and the app's embedded gateway reads. */
#pragma once

#include <json-glib/json-glib.h>

#include "roles/cv-gateway.h"

G_BEGIN_DECLS

JsonNode *cv_gateway_build_status (CvGateway *gateway);

G_END_DECLS
