/* cli-options.h: the flags of gateway, share and connect, each the twin of a config key,
 * and the config they make, alone or over a config file whose keys they replace. */
#pragma once

#include "config/cv-agent-config.h"
#include "config/cv-gateway-config.h"

G_BEGIN_DECLS

typedef struct _CvCliOptions CvCliOptions;

CvCliOptions *cv_cli_options_new (CvConfigKind kind);
void cv_cli_options_free (CvCliOptions *options);

gboolean cv_cli_options_parse (CvCliOptions *options,
                               int *argc,
                               char ***argv,
                               const GOptionEntry *extra,
                               GError **error);

CvShareConfig *cv_cli_options_load_share (CvCliOptions *options, GError **error);
CvConnectConfig *cv_cli_options_load_connect (CvCliOptions *options, GError **error);
CvGatewayConfig *cv_cli_options_load_gateway (CvCliOptions *options, GError **error);
void cv_cli_options_print_sessions (CvCliOptions *options,
                                    const CvGatewayConfig *config,
                                    const char *fingerprint);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvCliOptions, cv_cli_options_free)

G_END_DECLS
