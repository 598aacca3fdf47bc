/* cli-admin.h: the running roles' admin sockets, where `culvert-cli status` reads them. */
#pragma once

#include "roles/cv-admin-socket.h"
#include "roles/cv-connect-agent.h"
#include "roles/cv-gateway.h"
#include "roles/cv-share-agent.h"

/* Where @role ("gateway", "share", "connect") serves its status: @admin_socket, or
 * STATE_DIR/ROLE.sock when that is NULL; NULL when @off. */
char *cv_cli_admin_socket_path (const char *state_dir,
                                const char *admin_socket,
                                gboolean off,
                                const char *role);

/* Each serves its role's status until unreffed, or returns NULL after one log line
 * saying why status is off for this process (the role runs on without it). */
CvAdminSocket *cv_cli_admin_start_gateway (CvGateway *gateway, const CvGatewayConfig *config);
CvAdminSocket *cv_cli_admin_start_share (CvShareAgent *agent, const CvShareConfig *config);
CvAdminSocket *cv_cli_admin_start_connect (CvConnectAgent *agent, const CvConnectConfig *config);
/* On a clean exit: the socket file goes (a pending accept holds a reference, so the
 * last unref alone would not close it).  @admin may be NULL. */
void cv_cli_admin_stop (CvAdminSocket *admin);
