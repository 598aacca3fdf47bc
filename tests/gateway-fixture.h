/* gateway-fixture.h: a gateway in-process on 127.0.0.1 and scripted agents, for its tests. */
#pragma once

#include "wire/cv-control.h"
#include "roles/cv-gateway.h"
#include "transport/cv-identity.h"
#include "mux/cv-mux.h"
#include "cv-test-util.h"

G_BEGIN_DECLS

#define SHARE_PASSWORD "share secret"
#define CONNECT_PASSWORD "connect secret"
#define WRONG_PASSWORD "a wrong guess"

/* The bound of every wait for something that must happen. */
#define WAIT_MS 10000

/* A running gateway and the agents' keys. */
typedef struct {
  char *dir;
  CvIdentity *gateway_identity;
  CvIdentity *share_identity;
  CvIdentity *share2_identity;
  CvIdentity *connect_identity;
  CvGateway *gateway;
  guint16 port;
  GPtrArray *agents; /* of Agent, closed at tear-down */
  GPtrArray *raws;   /* of Raw, closed at tear-down */
} Fixture;

/* A TCP connection without TLS: what comes before TLS, or a tunnel half. */
typedef struct {
  GSocketConnection *connection;
  GSource *source;
  GByteArray *received;
  gint64 opened_us;
  gint64 closed_us; /* when the gateway closed it (end of stream or reset); 0 while open */
  gboolean written;
} Raw;

/* A scripted agent: TLS with its own key, a mux, and the messages it received. */
typedef struct {
  CvIdentity *identity; /* NULL: it presents no certificate */
  GSocketConnection *connection;
  GIOStream *tls;
  GError *tls_error;
  gboolean tls_done;
  CvMux *mux;
  GPtrArray *messages; /* of Message, in the order they came */
  gboolean closed;
} Agent;

typedef void (*GatewayTestFunc) (Fixture *fixture, gconstpointer data);

/* g_test_init, then the password hashes every session of every case shares. */
void gateway_test_init (int *argc, char ***argv);
/* A case on a fresh gateway whose config has @limits (JSON members, or NULL). */
void gateway_test_add (const char *path, const char *limits, GatewayTestFunc func);
/* The same on a gateway that runs on a private context (gateway_test_get_context()). */
void gateway_test_add_on_context (const char *path, const char *limits, GatewayTestFunc func);
GMainContext *gateway_test_get_context (void);
int gateway_test_run (void);
/* Runs the agents' and the gateway's contexts until @condition holds, at most
 * @timeout_ms; FALSE if it did not. */
gboolean gateway_wait_until (gboolean (*condition) (gpointer), gpointer data, guint timeout_ms);
/* Aborts if any source is attached to the global default context. */
void assert_default_context_unused (void);

/* The gateway's warnings in this case (any fails it at tear-down), and the
 * connections and tunnels it logged as refused, in order. */
extern GPtrArray *gateway_warnings;
extern GPtrArray *gateway_refusals;
guint count_refusals (const char *text);
/* Every message the engine logged in this case, in order, and how many hold @part. */
extern GPtrArray *gateway_log;
guint count_log_lines (const char *part);

void wait_checks (Fixture *fixture, guint n_waiting, guint n_running);
/* Finished checks stay running (@hold TRUE) until released (FALSE). */
void hold_checks (Fixture *fixture, gboolean hold);

CvGatewayConfig *make_config (Fixture *fixture, const char *limits, gboolean with_s1);
/* The same with "codes": {@codes} (JSON members) instead of {"enabled": true}. */
CvGatewayConfig *make_config_with_codes (Fixture *fixture,
                                         const char *limits,
                                         gboolean with_s1,
                                         const char *codes);
/* The hash of SHARE_PASSWORD (@share) or of CONNECT_PASSWORD the sessions have. */
const char *fixture_hash (gboolean share);
void dispose_gateway (Fixture *fixture);

/* gateway-agents.c */
void raw_free (gpointer data);
void agent_free (gpointer data);
Raw *raw_connect (Fixture *fixture);
void raw_watch (Raw *raw);
void raw_write (Raw *raw, const void *data, gsize len);
gboolean raw_is_closed (gpointer data);
void raw_assert_closed_within (Raw *raw, guint within_ms);
void raw_probe (Fixture *fixture, const char *data, gsize len);
void raw_wait_received (Raw *raw, gsize len);

const char *member (JsonObject *object, const char *key);

Agent *agent_dial (Fixture *fixture, CvIdentity *identity);
gboolean agent_tls_done (gpointer data);
Agent *agent_over (Fixture *fixture,
                   CvIdentity *identity,
                   GSocketConnection *connection,
                   GError *dial_error);
void agent_start_mux (Agent *agent);
Agent *agent_new (Fixture *fixture, CvIdentity *identity);
void agent_send (Agent *agent, guint type, const char *json);
void agent_hello_as (Agent *agent,
                     CvAgentRole role,
                     const char *session,
                     const char *password,
                     const char *name,
                     const char *fingerprint);
void agent_hello (Agent *agent,
                  CvAgentRole role,
                  const char *session,
                  const char *password,
                  const char *name);
guint agent_count (Agent *agent, guint type);
const char *agent_answer (Agent *agent);
JsonObject *agent_refusal (Agent *agent);
JsonObject *agent_next (Agent *agent, guint type);
void agent_wait_closed (Agent *agent);
void agent_close (Agent *agent);
Agent *attempt (Fixture *fixture,
                CvIdentity *identity,
                CvAgentRole role,
                const char *session,
                const char *password,
                const char *name);
Agent *agent_login (Fixture *fixture,
                    CvIdentity *identity,
                    CvAgentRole role,
                    const char *session,
                    const char *name);
void login_pair (Fixture *fixture, Agent **share, Agent **connect);
void assert_refused (Agent *agent, const char *reason, const char *message);

char *tunnel_preface (const char *ticket);
Raw *present_ticket (Fixture *fixture, const char *ticket);
void assert_relayed (Raw *from, Raw *to, gsize len, guint32 seed);
void join_tunnel (Fixture *fixture,
                  Agent *share,
                  Agent *connect,
                  Raw **share_half,
                  Raw **connect_half);

G_END_DECLS
