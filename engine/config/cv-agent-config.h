/* cv-agent-config.h: the share and connect agents' config files, validated, with every
 * default filled in; and reading the password they point to. */
#pragma once

#include <json-glib/json-glib.h>

#include "config/cv-config.h" /* the errors are CV_CONFIG_ERROR */

G_BEGIN_DECLS

/* Where the agent's session password comes from: never the config itself. */
typedef enum {
  CV_PASSWORD_SOURCE_FILE,
  CV_PASSWORD_SOURCE_ENV,
  CV_PASSWORD_SOURCE_STDIN,
} CvPasswordSource;

/* What the share and connect configs have in common. */
typedef struct {
  char *gateway_host; /* an IP literal without brackets, or a host name */
  guint16 gateway_port;
  char *gateway_fingerprint; /* "sha256:" and 64 lower-case hex digits; NULL: system CAs */
  char *session;
  CvPasswordSource password_source;
  char *password_file; /* absolute; set for CV_PASSWORD_SOURCE_FILE only */
  char *password_env;  /* a variable name; set for CV_PASSWORD_SOURCE_ENV only */
  char *name;          /* the host name when the config gives none */
  char *state_dir;
} CvAgentConfig;

/* A target the share agent will dial: a host and an inclusive port range. */
typedef struct {
  char *host;
  guint16 port_lo;
  guint16 port_hi;
} CvAllowedTarget;

typedef struct {
  char *listen_host;
  guint16 listen_port;
  char *target_host;
  guint16 target_port;
} CvMapping;

typedef struct {
  CvAgentConfig agent;
  GPtrArray *allow; /* of CvAllowedTarget; never empty */
} CvShareConfig;

typedef struct {
  CvAgentConfig agent;
  GPtrArray *mappings; /* of CvMapping; never empty */
} CvConnectConfig;

CvShareConfig *cv_share_config_load (const char *file, GError **error);
CvShareConfig *cv_share_config_new_from_json (JsonObject *root, const char *file, GError **error);
void cv_share_config_free (CvShareConfig *config);

CvConnectConfig *cv_connect_config_load (const char *file, GError **error);
CvConnectConfig *cv_connect_config_new_from_json (JsonObject *root,
                                                  const char *file,
                                                  GError **error);
void cv_connect_config_free (CvConnectConfig *config);

char *cv_agent_config_read_password (const CvAgentConfig *config, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvShareConfig, cv_share_config_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvConnectConfig, cv_connect_config_free)

G_END_DECLS
