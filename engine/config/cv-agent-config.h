/* cv-agent-config.h: the share and connect agents' configs — from files, validated, with
 * every default filled in, or built in code (the app) — and reading their password. */
#pragma once

#include <json-glib/json-glib.h>

#include "config/cv-config.h" /* the errors are CV_CONFIG_ERROR */
#include "wire/cv-services.h"

G_BEGIN_DECLS

/* Where the agent's session password comes from: never the config itself. */
typedef enum {
  CV_PASSWORD_SOURCE_FILE,
  CV_PASSWORD_SOURCE_ENV,
  CV_PASSWORD_SOURCE_STDIN,
  CV_PASSWORD_SOURCE_GIVEN, /* in code, e.g. from the keyring: never from a file */
} CvPasswordSource;

/* What the share and connect configs have in common. */
typedef struct {
  char *gateway_host; /* an IP literal without brackets, or a host name */
  guint16 gateway_port;
  char *gateway_fingerprint; /* "sha256:" and 64 lower-case hex digits; NULL: system CAs */
  /* A gateway given as a ws:// or wss:// URL (the WebSocket transport): the URL's path,
   * "/culvert" when it has none; NULL for a host:port. */
  char *web_path;
  gboolean web_tls;      /* wss:// */
  char *web_fingerprint; /* the outer TLS's key pinned, as gateway_fingerprint; NULL: CAs */
  /* "http://[user:password@]host:port", "direct", or NULL: the system's proxy settings;
   * wiped when freed, never logged whole */
  char *proxy;
  char *session;
  CvPasswordSource password_source;
  char *password_file; /* absolute; set for CV_PASSWORD_SOURCE_FILE only */
  char *password_env;  /* a variable name; set for CV_PASSWORD_SOURCE_ENV only */
  char *password;      /* set for CV_PASSWORD_SOURCE_GIVEN only; wiped when freed */
  char *name;          /* the host name when the config gives none */
  char *state_dir;
  CvLogLevel log_level;      /* what culvert-cli logs; the engine does not read it */
  char *admin_socket;        /* absolute; NULL: STATE_DIR/share.sock or connect.sock, */
  gboolean admin_socket_off; /* unless "admin_socket": false */
  /* Session codes ("code"): no session and no password then.  A share agent is given a
   * code to read out; a connect agent is given the code it was told. */
  gboolean code_mode;
  char *code; /* a connect agent's code, as typed; wiped when freed */
  /* What a gateway's code policy may ask for (SESSION-CODES.md §4), with the password
   * source above: a share agent's session (its share password), a connect agent's
   * technician account.  NULL: no credential beside the code. */
  char *technician;
} CvAgentConfig;

/* A target the share agent will dial: a host and an inclusive port range. */
typedef struct {
  char *host;
  guint16 port_lo;
  guint16 port_hi;
} CvAllowedTarget;

typedef struct {
  char *listen_host;
  guint16 listen_port; /* 0: any free port (from code, or a service mapping's "HOST:0") */
  char *target_host;   /* NULL for a service mapping */
  guint16 target_port;
  char *service; /* the name of an offered service, instead of a target; or NULL */
} CvMappingConfig;

/* How long a consent request waits for the sharer before it counts as denied. */
#define CV_SHARE_DEFAULT_CONSENT_TIMEOUT_MS 60000
#define CV_SHARE_MAX_CONSENT_TIMEOUT_MS 600000

/* The most connect agents' keys a share config may list: far above any team of
 * technicians, and a bound on the work of each tunnel's check. */
#define CV_SHARE_MAX_AUTHORIZED_CONNECT_KEYS 1024

typedef struct {
  CvAgentConfig agent;
  GPtrArray *allow; /* of CvAllowedTarget; a loaded config has it or services, not both */
  /* Of CvServiceInfo: offered by name, with consent asked for every tunnel; then the
   * allow list is exactly their targets (engine/SESSION-CODES.md §6). */
  GPtrArray *services;
  guint consent_timeout_ms;
  /* "sha256:" and 64 lower-case hex digits each, no two alike (in a loaded config);
   * NULL: tunnels from any connect agent whose key the gateway announces */
  char **authorized_connect_keys;
} CvShareConfig;

/* How long a local client is held while the share agent or the gateway is away. */
#define CV_CONNECT_DEFAULT_OFFLINE_HOLD_MS 5000
#define CV_CONNECT_MAX_OFFLINE_HOLD_MS 60000

typedef struct {
  CvAgentConfig agent;
  GPtrArray *mappings;   /* of CvMappingConfig; never empty in a loaded config */
  guint offline_hold_ms; /* 0: refused at once */
} CvConnectConfig;

/* Built in code: the defaults of a file (name: the host name; state_dir: the default
 * one); fill in the rest with the setters or the fields. */
CvShareConfig *cv_share_config_new (void);
CvConnectConfig *cv_connect_config_new (void);
void cv_agent_config_set_gateway (CvAgentConfig *config,
                                  const char *host,
                                  guint16 port,
                                  const char *fingerprint);
void cv_agent_config_set_web (CvAgentConfig *config,
                              const char *path,
                              gboolean tls,
                              const char *web_fingerprint);
void cv_agent_config_set_proxy (CvAgentConfig *config, const char *proxy);
void cv_agent_config_set_session (CvAgentConfig *config, const char *session);
void cv_agent_config_set_password (CvAgentConfig *config, const char *password);
void cv_agent_config_set_name (CvAgentConfig *config, const char *name);
void cv_agent_config_set_state_dir (CvAgentConfig *config, const char *state_dir);
void cv_share_config_add_allowed (CvShareConfig *config,
                                  const char *host,
                                  guint16 port_lo,
                                  guint16 port_hi);
gboolean cv_share_config_add_service (CvShareConfig *config,
                                      const char *name,
                                      CvServiceKind kind,
                                      const char *target,
                                      GError **error);
void cv_share_config_add_authorized_connect_key (CvShareConfig *config, const char *fingerprint);
void cv_connect_config_add_mapping (CvConnectConfig *config,
                                    const char *listen_host,
                                    guint16 listen_port,
                                    const char *target_host,
                                    guint16 target_port);
gboolean cv_agent_config_check (const CvAgentConfig *config, GError **error);
gboolean cv_agent_config_parse_fingerprint (const char *text,
                                            const char *where,
                                            char **fingerprint,
                                            GError **error);
/* In cv-agent-gateway.c: the gateway key and the proxy key, also for the flags. */
gboolean cv_agent_config_parse_gateway (const char *text,
                                        const char *where,
                                        char **host,
                                        guint16 *port,
                                        char **web_path,
                                        gboolean *web_tls,
                                        GError **error);
gboolean cv_agent_config_parse_proxy (const char *text, const char *where, GError **error);

CvShareConfig *cv_share_config_load (const char *file, GError **error);
CvShareConfig *cv_share_config_new_from_json (JsonObject *root, const char *file, GError **error);
void cv_share_config_free (CvShareConfig *config);

CvConnectConfig *cv_connect_config_load (const char *file, GError **error);
CvConnectConfig *cv_connect_config_new_from_json (JsonObject *root,
                                                  const char *file,
                                                  GError **error);
void cv_connect_config_free (CvConnectConfig *config);

gboolean cv_agent_config_is_top_key (CvConfigKind kind, const char *key);

char *cv_agent_config_read_password (const CvAgentConfig *config, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvShareConfig, cv_share_config_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvConnectConfig, cv_connect_config_free)

G_END_DECLS
