/* cv-gateway-config.h: the gateway's config file, validated, with every default filled in. */
#pragma once

#include <json-glib/json-glib.h>

#include "config/cv-config.h" /* the errors are CV_CONFIG_ERROR */

G_BEGIN_DECLS

/* How the gateway joins the two halves of a tunnel. */
typedef enum {
  CV_GATEWAY_JOIN_SPLICE, /* splice(2) through a pipe, on Linux */
  CV_GATEWAY_JOIN_COPY,   /* a plain read/write copy, anywhere */
} CvGatewayJoin;

typedef struct {
  guint max_sessions;
  guint max_links;
  guint max_tunnels;
  guint max_pending_handshakes;
  guint handshake_timeout_ms;
  guint ticket_timeout_ms;
  guint max_channels_per_tunnel;
  guint keepalive_interval_ms;
  guint dead_peer_timeout_ms;
  guint auth_failures_before_backoff;
  guint auth_backoff_max_ms;
  guint tunnel_buffer_bytes;    /* bytes in flight per tunnel direction inside the gateway */
  guint tunnel_idle_timeout_ms; /* a joined tunnel no byte passed for this long is closed */
  guint max_output_before_welcome_bytes; /* a control link's unwritten output until WELCOME */
  guint max_control_output_bytes;        /* the same after WELCOME */
  guint close_timeout_ms;                /* from a GOAWAY to the link's close, at most */
  guint max_links_per_session;           /* logged-in agents in one session */
  guint max_links_per_key;               /* logged-in agents with one key, in all sessions */
  guint max_tunnels_per_session;         /* offered and joined tunnels of one session */
  guint max_tunnels_per_key;             /* ... asked for by one connect agent's key */
  guint tunnel_requests_per_second;      /* per control link, with twice that as a burst */
  guint password_check_workers;          /* Argon2 checks that run at once */
  guint max_queued_password_checks;      /* checks that may wait for a worker */
  guint max_password_checks_per_address; /* waiting or running, per source */
  guint junk_log_interval_ms;            /* one summary line of junk connections this often */
  /* Session codes (SESSION-CODES.md §5): */
  guint code_ttl_ms;                             /* an unclaimed nameplate expires */
  guint code_pake_timeout_ms;                    /* from a claim to both CODE_DONE */
  guint code_session_max_ms;                     /* a confirmed code session, then GOAWAY */
  guint code_cooldown_ms;                        /* a nameplate let go is not reused */
  guint code_allocations_per_minute_per_address; /* share logins in code mode */
  guint code_claims_per_minute_per_address;      /* connect logins in code mode */
  guint code_allocations_per_minute;             /* ... from all addresses */
  guint code_claims_per_minute;
  guint max_codes; /* nameplates open at once */
  /* WebSocket connections (the bridge, transport/cv-ws-bridge.h): */
  guint max_websocket_message_bytes; /* a larger message ends the connection (1009) */
  guint websocket_ping_interval_ms;  /* below nginx's proxy_read_timeout (60 s by default) */
  guint websocket_pong_timeout_ms;   /* no pong within it: the connection ends */
} CvGatewayLimits;

void cv_gateway_limits_init_defaults (CvGatewayLimits *limits);

typedef struct {
  char *host; /* an IP address, IPv6 without brackets */
  guint16 port;
} CvGatewayListener;

typedef struct {
  char *id;
  char *name; /* the id when the config gives none */
  char *share_password_hash;
  char *connect_password_hash;
} CvGatewaySession;

/* Who may allocate a session code (SESSION-CODES.md §4). */
typedef enum {
  CV_CODE_ALLOCATE_ANYONE,
  CV_CODE_ALLOCATE_SHARE_PASSWORD, /* a configured session's share password */
} CvCodeAllocate;

/* Who may claim one. */
typedef enum {
  CV_CODE_CLAIM_ANYONE,
  CV_CODE_CLAIM_TECHNICIANS, /* a technician account of the config */
} CvCodeClaim;

/* A technician account: who may claim codes when "claim" is "technicians". */
typedef struct {
  char *name; /* what the share agent's consent prompt shows, as the gateway attests it */
  char *password_hash;
} CvGatewayTechnician;

typedef struct {
  GPtrArray *listeners; /* of CvGatewayListener; never empty */
  char *cert_file;      /* NULL: a self-signed certificate kept in state_dir */
  char *key_file;       /* set exactly when cert_file is */
  char *state_dir;
  char *admin_socket;        /* absolute; NULL: STATE_DIR/gateway.sock, unless turned off */
  gboolean admin_socket_off; /* "admin_socket": false */
  GPtrArray *sessions;       /* of CvGatewaySession; may be empty (session codes only) */
  char *sessions_file;       /* absolute; where the sessions came from, if not the config */
  CvGatewayLimits limits;
  CvGatewayJoin join;
  CvLogLevel log_level;
  gboolean codes_enabled; /* "codes": {"enabled": true}; FALSE by default */
  CvCodeAllocate code_allocate;
  CvCodeClaim code_claim;
  GPtrArray *technicians; /* of CvGatewayTechnician; not empty when claim is "technicians" */
  /* WebSocket (cv-gateway-web.c): */
  gboolean websocket;                   /* every TLS listener also takes HTTPS upgrades; TRUE */
  char *websocket_path;                 /* where upgrades are served; "/culvert" */
  GPtrArray *websocket_listeners;       /* of CvGatewayListener: plain HTTP, for a reverse proxy */
  GPtrArray *websocket_trusted_proxies; /* of char *, IP addresses as GInetAddress prints them */
} CvGatewayConfig;

/* The technician of that name, or NULL. */
const CvGatewayTechnician *cv_gateway_config_find_technician (const CvGatewayConfig *config,
                                                              const char *name);

CvGatewayConfig *cv_gateway_config_load (const char *file, GError **error);
CvGatewayConfig *cv_gateway_config_new_from_json (JsonObject *root,
                                                  const char *file,
                                                  GError **error);
void cv_gateway_config_free (CvGatewayConfig *config);
gboolean cv_gateway_config_add_session (CvGatewayConfig *config,
                                        const char *id,
                                        const char *share_password_hash,
                                        const char *connect_password_hash,
                                        const char *where,
                                        GError **error);
gboolean cv_gateway_config_is_top_key (const char *key);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvGatewayConfig, cv_gateway_config_free)

G_END_DECLS
