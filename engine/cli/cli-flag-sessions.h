/* cli-flag-sessions.h: the gateway's sessions given with --session: their passwords made
 * (or read from the environment or stdin), hashed, and the agents' commands printed. */
#pragma once

#include "config/cv-gateway-config.h"

G_BEGIN_DECLS

typedef enum {
  CV_CLI_PASSWORDS_GENERATE,
  CV_CLI_PASSWORDS_ENV,
  CV_CLI_PASSWORDS_STDIN,
} CvCliPasswords;

typedef struct _CvCliFlagSessions CvCliFlagSessions;

CvCliFlagSessions *cv_cli_flag_sessions_new (const char *const *ids,
                                             CvCliPasswords passwords,
                                             GError **error);
gboolean cv_cli_flag_sessions_apply (CvCliFlagSessions *sessions,
                                     CvGatewayConfig *config,
                                     GError **error);
void cv_cli_flag_sessions_print (CvCliFlagSessions *sessions,
                                 const CvGatewayConfig *config,
                                 const char *fingerprint);
void cv_cli_flag_sessions_free (CvCliFlagSessions *sessions);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvCliFlagSessions, cv_cli_flag_sessions_free)

G_END_DECLS
