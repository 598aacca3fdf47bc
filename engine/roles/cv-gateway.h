/* cv-gateway.h: the public rendezvous — control links, sessions, presence, and tunnels
 * joined byte for byte without being read. */
#pragma once

#include <gio/gio.h>

#include "auth/cv-password-checker.h"
#include "config/cv-gateway-config.h"
#include "transport/cv-identity.h"

G_BEGIN_DECLS

/* Properties, notified on the gateway's "main-context" when they change: "running",
 * "n-links", "n-tunnels", "n-sessions", "n-sessions-online" (share agent online). */
#define CV_TYPE_GATEWAY (cv_gateway_get_type ())
G_DECLARE_FINAL_TYPE (CvGateway, cv_gateway, CV, GATEWAY, GObject)

CvGateway *cv_gateway_new (CvGatewayConfig *config, CvIdentity *identity);
CvGateway *cv_gateway_new_with_context (CvGatewayConfig *config,
                                        CvIdentity *identity,
                                        GMainContext *context);
CvGateway *cv_gateway_new_from_file (const char *config_file,
                                     GMainContext *context,
                                     GError **error);
/* The gateway's self-signed key is state_dir/gateway.pem. */
#define CV_GATEWAY_IDENTITY_NAME "gateway"

CvIdentity *cv_gateway_load_identity (const CvGatewayConfig *config, GError **error);
CvIdentity *cv_gateway_find_identity (const CvGatewayConfig *config, GError **error);
gboolean cv_gateway_check_identity (const CvGatewayConfig *config,
                                    CvIdentity **identity,
                                    GError **error);

gboolean cv_gateway_start (CvGateway *self, GError **error);
GArray *cv_gateway_get_listen_ports (CvGateway *self);
GArray *cv_gateway_get_websocket_ports (CvGateway *self);
GMainContext *cv_gateway_get_main_context (CvGateway *self);
CvIdentity *cv_gateway_get_identity (CvGateway *self);

gboolean cv_gateway_reload (CvGateway *self, CvGatewayConfig *config, GError **error);
void cv_gateway_shutdown (CvGateway *self);
void cv_gateway_stop (CvGateway *self);
gboolean cv_gateway_is_idle (CvGateway *self);
gboolean cv_gateway_is_running (CvGateway *self);

/* Debug: append every byte the gateway relays in tunnels to this file (to prove in
 * tests that what it relays is ciphertext). */
void cv_gateway_set_record_path (CvGateway *self, const char *path);
/* Debug: behave as a gateway that places itself in the middle of session codes would,
 * announcing @impostor's key to each agent as the other's (to prove in tests that the
 * agents' confirmation catches it).  NULL: the honest gateway again. */
void cv_gateway_set_debug_swap_code_keys (CvGateway *self, CvIdentity *impostor);

guint cv_gateway_get_n_links (CvGateway *self);
guint cv_gateway_get_n_tunnels (CvGateway *self);
guint cv_gateway_get_n_sessions (CvGateway *self);
guint cv_gateway_get_n_unauthenticated (CvGateway *self);
guint cv_gateway_get_n_sessions_online (CvGateway *self);
CvPasswordChecker *cv_gateway_get_password_checker (CvGateway *self);

G_END_DECLS
