/* cv-agent-link.c: an agent's control link to the gateway, kept up forever.
 *
 * Connect, TLS (the gateway pinned or CA-checked; our key as client certificate),
 * HELLO, then WELCOME or REFUSED.  Whatever goes wrong, the link comes back: after
 * 250 ms doubling to 3 s with jitter, or 30 s doubling to 10 min after the gateway
 * refused our credentials (retrying a wrong password quickly only feeds its rate
 * limiter).  The network cap is short because a gateway that restarts is back in
 * seconds and its users wait for every second of the delay; a gateway that is down for
 * long sees one cheap connection attempt per agent every 1.5 to 3 s.  The one exception is a share
 * agent replaced by another: it stops, so two share agents never take the session from each other
 * in turn.
 *
 * Its state is properties ("state", "next-retry-time", "refusal", "last-error") that
 * change on its main context; the details are set before "state" is notified, so a
 * handler of notify::state reads them up to date.  The words of the network events are
 * the caller's to log (culvert-cli does, from these properties): here they are debug.
 */
#include "roles/cv-agent-link.h"

#include "base/cv-backoff.h"
#include "base/cv-log-escape.h"
#include "base/cv-source.h"
#include "roles/cv-agent-context.h"
#include "roles/cv-refusal.h"
#include "transport/cv-tls.h"

#include <sodium.h>
#include <string.h>

#define WELCOME_TIMEOUT_MS 20000
#define NETWORK_BACKOFF_INITIAL_MS 250
#define NETWORK_BACKOFF_MAX_MS 3000
/* A link that stayed up this long starts the next reconnect from the shortest delay. */
#define STABLE_LINK_US (10 * G_USEC_PER_SEC)

/* clang-format off */
G_DEFINE_QUARK (cv-agent-error-quark, cv_agent_error)
/* clang-format on */

G_DEFINE_ENUM_TYPE (CvAgentLinkState,
                    cv_agent_link_state,
                    G_DEFINE_ENUM_VALUE (CV_AGENT_LINK_STATE_STOPPED, "stopped"),
                    G_DEFINE_ENUM_VALUE (CV_AGENT_LINK_STATE_CONNECTING, "connecting"),
                    G_DEFINE_ENUM_VALUE (CV_AGENT_LINK_STATE_ONLINE, "online"),
                    G_DEFINE_ENUM_VALUE (CV_AGENT_LINK_STATE_BACKING_OFF, "backing-off"),
                    G_DEFINE_ENUM_VALUE (CV_AGENT_LINK_STATE_REFUSED, "refused"))

struct _CvAgentLink {
  GObject parent_instance;

  GMainContext *context;
  CvGatewayAddress gateway;
  CvIdentity *identity;
  CvAgentRole role;
  char *session;
  char *password;
  char *name;
  gboolean code_mode; /* HELLO mode "code": no session, no password */
  char *nameplate;    /* a connect agent's, in code mode */
  char *technician;   /* a connect agent's account, in code mode, if its config has one */

  CvBackoff backoff;
  CvBackoff auth_backoff;
  GCancellable *cancellable;
  CvMux *mux;
  GSource *retry_source;
  GSource *welcome_source;
  gboolean running;
  gboolean ready;
  gint64 ready_since_us;
  gint64 online_time;  /* g_get_real_time () µs of the last WELCOME, for status reports */
  gint64 started_time; /* ... of cv_agent_link_start() */
  guint next_delay_ms; /* set by a REFUSED with retry_after_ms, or an auth failure */

  CvAgentLinkState state;
  gint64 next_retry_time; /* g_get_real_time () µs; 0 when no retry is planned */
  CvRefusal refusal;
  char *refusal_message; /* the gateway's own words with the last refusal, escaped; or NULL */
  GError *last_error;
};

enum {
  PROP_0,
  PROP_MAIN_CONTEXT,
  PROP_STATE,
  PROP_NEXT_RETRY_TIME,
  PROP_REFUSAL,
  PROP_LAST_ERROR,
  PROP_SESSION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_READY,
  SIGNAL_MESSAGE,
  SIGNAL_LOST,
  SIGNAL_STOPPED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (CvAgentLink, cv_agent_link, G_TYPE_OBJECT)

static void connect_now (CvAgentLink *self);

/* The details first, "state" last (see the top of the file). */
static void
set_state (CvAgentLink *self,
           CvAgentLinkState state,
           gint64 next_retry_time,
           CvRefusal refusal,
           const GError *error,
           gboolean set_error)
{
  if (set_error && (self->last_error != NULL || error != NULL))
    {
      g_clear_error (&self->last_error);
      self->last_error = error != NULL ? g_error_copy (error) : NULL;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_ERROR]);
    }
  if (refusal != self->refusal)
    {
      self->refusal = refusal;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_REFUSAL]);
    }
  if (next_retry_time != self->next_retry_time)
    {
      self->next_retry_time = next_retry_time;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NEXT_RETRY_TIME]);
    }
  if (state != self->state)
    {
      self->state = state;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
    }
}

static void
drop_mux (CvAgentLink *self)
{
  cv_source_clear (&self->welcome_source);
  if (self->mux != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->mux, self);
      cv_mux_close (self->mux);
      g_clear_object (&self->mux);
    }
  self->ready = FALSE;
}

static void
cv_agent_link_dispose (GObject *object)
{
  CvAgentLink *self = CV_AGENT_LINK (object);

  cv_agent_link_stop (self);
  G_OBJECT_CLASS (cv_agent_link_parent_class)->dispose (object);
}

static void
cv_agent_link_finalize (GObject *object)
{
  CvAgentLink *self = CV_AGENT_LINK (object);

  cv_gateway_address_clear (&self->gateway);
  g_clear_object (&self->identity);
  g_clear_object (&self->cancellable);
  g_clear_error (&self->last_error);
  g_free (self->refusal_message);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->session);
  g_free (self->nameplate);
  g_free (self->technician);
  if (self->password != NULL)
    sodium_memzero (self->password, strlen (self->password));
  g_free (self->password);
  g_free (self->name);

  G_OBJECT_CLASS (cv_agent_link_parent_class)->finalize (object);
}

static void
cv_agent_link_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvAgentLink *self = CV_AGENT_LINK (object);

  switch (prop_id)
    {
    case PROP_MAIN_CONTEXT:
      g_value_set_boxed (value, self->context);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_NEXT_RETRY_TIME:
      g_value_set_int64 (value, self->next_retry_time);
      break;
    case PROP_REFUSAL:
      g_value_set_enum (value, self->refusal);
      break;
    case PROP_LAST_ERROR:
      g_value_set_boxed (value, self->last_error);
      break;
    case PROP_SESSION:
      g_value_set_string (value, self->session);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_agent_link_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  CvAgentLink *self = CV_AGENT_LINK (object);

  switch (prop_id)
    {
    case PROP_MAIN_CONTEXT:
      self->context = g_value_dup_boxed (value);
      if (self->context == NULL)
        self->context = g_main_context_ref_thread_default ();
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_agent_link_class_init (CvAgentLinkClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cv_agent_link_dispose;
  object_class->finalize = cv_agent_link_finalize;
  object_class->get_property = cv_agent_link_get_property;
  object_class->set_property = cv_agent_link_set_property;

  /* Every source and callback of the link runs here; NULL: the thread-default one. */
  properties[PROP_MAIN_CONTEXT] = g_param_spec_boxed ("main-context", NULL, NULL,
                                                      G_TYPE_MAIN_CONTEXT,
                                                      G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY
                                                        | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, CV_TYPE_AGENT_LINK_STATE,
                                              CV_AGENT_LINK_STATE_STOPPED,
                                              G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                                                | G_PARAM_EXPLICIT_NOTIFY);
  /* When a link backing off or refused tries again, in g_get_real_time() µs; 0 otherwise. */
  properties[PROP_NEXT_RETRY_TIME] = g_param_spec_int64 ("next-retry-time", NULL, NULL, 0,
                                                         G_MAXINT64, 0,
                                                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                                                           | G_PARAM_EXPLICIT_NOTIFY);
  /* The reason of the last refusal; none once the link is online again. */
  properties[PROP_REFUSAL] = g_param_spec_enum ("refusal", NULL, NULL, CV_TYPE_REFUSAL,
                                                CV_REFUSAL_NONE,
                                                G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                                                  | G_PARAM_EXPLICIT_NOTIFY);
  /* Why the link last went down (a CV_REFUSAL_ERROR when refused); NULL once online. */
  properties[PROP_LAST_ERROR] = g_param_spec_boxed ("last-error", NULL, NULL, G_TYPE_ERROR,
                                                    G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                                                      | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_SESSION] = g_param_spec_string ("session", NULL, NULL, NULL,
                                                  G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                                                    | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* WELCOME arrived; @welcome is its body. */
  signals[SIGNAL_READY] = g_signal_new ("ready", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                        NULL, NULL, NULL, G_TYPE_NONE, 1, JSON_TYPE_OBJECT);
  /* A control message after WELCOME (PRESENCE, TUNNEL_OFFER). */
  signals[SIGNAL_MESSAGE] = g_signal_new ("message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT,
                                          JSON_TYPE_OBJECT);
  /* The link is down (or could not come up); it retries on its own. */
  signals[SIGNAL_LOST] = g_signal_new ("lost", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                       NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
  /* The link gave up for good (replaced by another share agent). */
  signals[SIGNAL_STOPPED] = g_signal_new ("stopped", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
cv_agent_link_init (CvAgentLink *self)
{
  cv_backoff_init (&self->backoff, NETWORK_BACKOFF_INITIAL_MS, NETWORK_BACKOFF_MAX_MS);
  cv_backoff_init (&self->auth_backoff, 30000, 600000);
}

CvAgentLink *
cv_agent_link_new (const CvGatewayAddress *gateway,
                   CvIdentity *identity,
                   CvAgentRole role,
                   const char *session,
                   const char *password,
                   const char *name,
                   GMainContext *context)
{
  CvAgentLink *self = g_object_new (CV_TYPE_AGENT_LINK, "main-context", context, NULL);

  cv_gateway_address_copy (&self->gateway, gateway);
  self->identity = g_object_ref (identity);
  self->role = role;
  self->session = g_strdup (session);
  self->password = g_strdup (password);
  self->name = g_strdup (name != NULL ? name : g_get_host_name ());
  return self;
}

/**
 * cv_agent_link_check_identity:
 * @identity: (out) (optional): the agent's key as it is now, or %NULL if the agent
 *   would make one in its state_dir
 *
 * What cv_agent_link_new_from_config() does with the agent's key, without making it.
 */
gboolean
cv_agent_link_check_identity (const CvAgentConfig *config, CvIdentity **identity, GError **error)
{
  return cv_identity_check (config->state_dir, CV_AGENT_IDENTITY_NAME, identity, error);
}

/**
 * cv_agent_link_new_from_config:
 * @context: (nullable): the link's main context; NULL: the thread-default one
 *
 * Reads the password from where @config says, and loads the agent's key from its
 * state_dir (made there on first use).
 *
 * Returns: (transfer full): a link not started, or NULL with a CV_CONFIG_ERROR (the
 *   password, the config) or a CV_IDENTITY_ERROR (the key)
 */
CvAgentLink *
cv_agent_link_new_from_config (const CvAgentConfig *config,
                               CvAgentRole role,
                               GMainContext *context,
                               GError **error)
{
  g_autofree char *password = NULL;
  g_autoptr (CvIdentity) identity = NULL;
  CvGatewayAddress gateway = { 0 };
  CvAgentLink *link;
  gboolean created = FALSE;

  if (!cv_agent_config_check (config, error))
    return NULL;
  /* A code replaces the session's password; a connect agent's code is its own to set. */
  /* In code mode, a password only beside the credential a gateway's policy asks for. */
  if ((!config->code_mode || config->session != NULL || config->technician != NULL)
      && (password = cv_agent_config_read_password (config, error)) == NULL)
    return NULL;
  identity = cv_identity_load_or_create (config->state_dir, CV_AGENT_IDENTITY_NAME, config->name,
                                         &created, error);
  if (identity == NULL)
    {
      if (password != NULL)
        sodium_memzero (password, strlen (password));
      return NULL;
    }
  g_message ("%s agent key %s%s", cv_agent_role_to_string (role),
             cv_identity_get_fingerprint (identity), created ? " (new)" : "");
  gateway.host = config->gateway_host;
  gateway.port = config->gateway_port;
  gateway.fingerprint = config->gateway_fingerprint;
  gateway.web_path = config->web_path;
  gateway.web_tls = config->web_tls;
  gateway.web_fingerprint = config->web_fingerprint;
  gateway.proxy = config->proxy;
  link = cv_agent_link_new (&gateway, identity, role, config->session, password, config->name,
                            context);
  if (password != NULL)
    sodium_memzero (password, strlen (password));
  if (config->code_mode && role == CV_AGENT_ROLE_SHARE)
    cv_agent_link_set_code_mode (link, NULL);
  if (config->code_mode && role == CV_AGENT_ROLE_CONNECT)
    link->technician = g_strdup (config->technician);
  return link;
}

void
cv_agent_link_set_backoff (CvAgentLink *self,
                           guint initial_ms,
                           guint max_ms,
                           guint auth_initial_ms,
                           guint auth_max_ms)
{
  cv_backoff_init (&self->backoff, initial_ms, max_ms);
  cv_backoff_init (&self->auth_backoff, auth_initial_ms, auth_max_ms);
}

/* The name the agent gives in its HELLO. */
const char *
cv_agent_link_get_name (CvAgentLink *self)
{
  return self->name;
}

/* When the link was started, and when it last came online (g_get_real_time () µs; 0
 * before). */
gint64
cv_agent_link_get_started_time (CvAgentLink *self)
{
  return self->started_time;
}

gint64
cv_agent_link_get_online_time (CvAgentLink *self)
{
  return self->ready ? self->online_time : 0;
}

/* The control link's last measured PING round trip, or -1 while it is down or before
 * the first. */
gint64
cv_agent_link_get_round_trip_us (CvAgentLink *self)
{
  return self->ready && self->mux != NULL ? cv_mux_get_rtt_us (self->mux) : -1;
}

const CvGatewayAddress *
cv_agent_link_get_gateway (CvAgentLink *self)
{
  return &self->gateway;
}

CvIdentity *
cv_agent_link_get_identity (CvAgentLink *self)
{
  return self->identity;
}

const char *
cv_agent_link_get_session (CvAgentLink *self)
{
  return self->session;
}

gboolean
cv_agent_link_is_ready (CvAgentLink *self)
{
  return self->ready;
}

CvAgentRole
cv_agent_link_get_role (CvAgentLink *self)
{
  return self->role;
}

GMainContext *
cv_agent_link_get_main_context (CvAgentLink *self)
{
  return self->context;
}

CvAgentLinkState
cv_agent_link_get_state (CvAgentLink *self)
{
  return self->state;
}

gint64
cv_agent_link_get_next_retry_time (CvAgentLink *self)
{
  return self->next_retry_time;
}

CvRefusal
cv_agent_link_get_refusal (CvAgentLink *self)
{
  return self->refusal;
}

/* What the gateway said with its last refusal, besides the reason (escaped for a log),
 * or NULL. */
const char *
cv_agent_link_get_refusal_message (CvAgentLink *self)
{
  return self->refusal_message;
}

const GError *
cv_agent_link_get_last_error (CvAgentLink *self)
{
  return self->last_error;
}

gboolean
cv_agent_link_send (CvAgentLink *self, CvControlType type, JsonObject *body)
{
  g_autofree char *json = NULL;

  if (!self->ready)
    return FALSE;
  json = cv_control_to_string (body);
  return cv_mux_send_control (self->mux, type, json, NULL);
}

/* ---- retrying ----------------------------------------------------------- */

static gboolean
on_retry (gpointer user_data)
{
  CvAgentLink *self = user_data;

  g_clear_pointer (&self->retry_source, g_source_unref);
  connect_now (self);
  return G_SOURCE_REMOVE;
}

/* The link is down: say why, once, on one line, and come back later. */
static void
lose (CvAgentLink *self, GError *error)
{
  guint delay_ms;
  CvRefusal refusal = CV_REFUSAL_NONE;

  if (self->ready && g_get_monotonic_time () - self->ready_since_us >= STABLE_LINK_US)
    cv_backoff_reset (&self->backoff);
  drop_mux (self);
  if (!self->running)
    {
      g_clear_error (&error);
      return;
    }
  if (self->next_delay_ms > 0)
    {
      delay_ms = self->next_delay_ms;
      self->next_delay_ms = 0;
    }
  else
    delay_ms = cv_backoff_next_delay_ms (&self->backoff);

  g_debug ("gateway %s:%u: %s; retrying in %.1f s", self->gateway.host, self->gateway.port,
           error->message, delay_ms / 1000.0);
  self->retry_source = cv_agent_timeout_add (self->context, delay_ms, on_retry, self,
                                             "[culvert] agent link retry");
  if (error->domain == CV_REFUSAL_ERROR)
    refusal = error->code;
  set_state (self,
             refusal != CV_REFUSAL_NONE ? CV_AGENT_LINK_STATE_REFUSED
                                        : CV_AGENT_LINK_STATE_BACKING_OFF,
             g_get_real_time () + (gint64) delay_ms * 1000,
             refusal != CV_REFUSAL_NONE ? refusal : self->refusal, error, TRUE);
  g_signal_emit (self, signals[SIGNAL_LOST], 0, error);
  g_clear_error (&error);
}

static void
stop_for_good (CvAgentLink *self, GError *error)
{
  g_debug ("gateway %s:%u: %s; not retrying", self->gateway.host, self->gateway.port,
           error->message);
  self->running = FALSE;
  drop_mux (self);
  set_state (self, CV_AGENT_LINK_STATE_STOPPED, 0, self->refusal, error, TRUE);
  g_signal_emit (self, signals[SIGNAL_STOPPED], 0, error);
  g_clear_error (&error);
}

/* ---- the link ----------------------------------------------------------- */

static void
on_refused (CvAgentLink *self, JsonObject *body)
{
  const char *reason = cv_control_get_string (body, "reason", 64, FALSE, NULL);
  const char *message = cv_control_get_string (body, "message", 512, FALSE, NULL);
  JsonNode *retry = json_object_get_member (body, "retry_after_ms");
  CvRefusal refusal = cv_refusal_from_string (reason);
  g_autofree char *said = cv_log_escape (reason != NULL ? reason : "(no reason)", -1);
  g_autofree char *why = message != NULL ? cv_log_escape (message, -1) : NULL;

  g_debug ("gateway %s:%u: session “%s” refused: %s%s%s", self->gateway.host, self->gateway.port,
           self->session, said, why != NULL ? ": " : "", why != NULL ? why : "");
  /* Read with "refusal" (set before "state" is notified): it may say what to fix. */
  g_free (self->refusal_message);
  self->refusal_message = g_steal_pointer (&why);
  if (refusal == CV_REFUSAL_RATE_LIMITED && retry != NULL && JSON_NODE_HOLDS_VALUE (retry)
      && json_node_get_value_type (retry) == G_TYPE_INT64)
    self->next_delay_ms = (guint) CLAMP (json_node_get_int (retry), 1000, 3600 * 1000);
  else if (refusal == CV_REFUSAL_BAD_PASSWORD || refusal == CV_REFUSAL_UNKNOWN_SESSION
           || refusal == CV_REFUSAL_VERSION_MISMATCH)
    self->next_delay_ms = cv_backoff_next_delay_ms (&self->auth_backoff);

  /* A connect agent's code is claimed once: refused, it never works again. */
  if (self->code_mode && self->role == CV_AGENT_ROLE_CONNECT
      && (refusal == CV_REFUSAL_BAD_CODE || refusal == CV_REFUSAL_CODE_EXPIRED))
    {
      stop_for_good (self, cv_refusal_error_new (refusal, self->session));
      return;
    }
  lose (self, cv_refusal_error_new (refusal, self->session));
}

static void
on_control_message (CvMux *mux, guint type, GBytes *json, CvAgentLink *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) body = cv_control_parse (json, &error);

  if (body == NULL)
    {
      lose (self, g_error_new (CV_AGENT_ERROR, CV_AGENT_ERROR_LOST,
                               "the gateway sent a malformed message: %s", error->message));
      return;
    }
  if (type == CV_CONTROL_REFUSED)
    {
      on_refused (self, body);
      return;
    }
  if (!self->ready)
    {
      if (type != CV_CONTROL_WELCOME)
        {
          lose (self, g_error_new (CV_AGENT_ERROR, CV_AGENT_ERROR_LOST,
                                   "the gateway sent message 0x%02x before WELCOME", type));
          return;
        }
      cv_source_clear (&self->welcome_source);
      self->ready = TRUE;
      self->ready_since_us = g_get_monotonic_time ();
      self->online_time = g_get_real_time ();
      cv_backoff_reset (&self->auth_backoff);
      g_debug ("gateway %s:%u: %s agent online in session “%s”", self->gateway.host,
               self->gateway.port, cv_agent_role_to_string (self->role), self->session);
      set_state (self, CV_AGENT_LINK_STATE_ONLINE, 0, CV_REFUSAL_NONE, NULL, TRUE);
      g_signal_emit (self, signals[SIGNAL_READY], 0, body);
      return;
    }
  g_signal_emit (self, signals[SIGNAL_MESSAGE], 0, type, body);
}

static void
on_mux_closed (CvMux *mux, const GError *error, CvAgentLink *self)
{
  const char *message = NULL;
  int reason = cv_mux_get_peer_goaway (mux, &message);

  if (reason == CV_GOAWAY_REASON_REPLACED && self->role == CV_AGENT_ROLE_SHARE)
    {
      stop_for_good (self,
                     g_error_new (CV_AGENT_ERROR, CV_AGENT_ERROR_REPLACED,
                                  "this share agent was %s",
                                  message != NULL && *message ? message : "replaced by another"));
      return;
    }
  if (reason >= 0)
    lose (self,
          g_error_new (CV_AGENT_ERROR, CV_AGENT_ERROR_LOST, "the gateway closed the link: %s%s%s",
                       cv_goaway_reason_to_string (reason), message && *message ? ": " : "",
                       message ? message : ""));
  else
    lose (self, g_error_new (CV_AGENT_ERROR, CV_AGENT_ERROR_LOST, "link lost: %s",
                             error != NULL ? error->message : "closed"));
}

static gboolean
on_welcome_timeout (gpointer user_data)
{
  CvAgentLink *self = user_data;

  g_clear_pointer (&self->welcome_source, g_source_unref);
  lose (self, g_error_new (CV_AGENT_ERROR, CV_AGENT_ERROR_TIMEOUT, "no answer to HELLO within %d s",
                           WELCOME_TIMEOUT_MS / 1000));
  return G_SOURCE_REMOVE;
}

static void
on_tls_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CvAgentLink) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GIOStream) tls = cv_tls_client_handshake_finish (result, &error);
  CvHello hello = { 0 };
  g_autofree char *json = NULL;
  g_autofree char *fitted_name = NULL;
  CvMuxConfig config;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || !self->running)
    return;
  if (tls == NULL)
    {
      lose (self, g_error_new (CV_AGENT_ERROR, CV_AGENT_ERROR_TLS, "%s", error->message));
      return;
    }

  cv_mux_config_init_defaults (&config);
  config.max_channels = 1;
  config.initial_window = 64 * 1024;
  config.max_window = 64 * 1024;
  {
    g_autoptr (GMainContextPusher) pusher = g_main_context_pusher_new (self->context);
    self->mux = cv_mux_new (tls, CV_MUX_ROLE_INITIATOR, &config);
  }
  g_signal_connect (self->mux, "control-message", G_CALLBACK (on_control_message), self);
  g_signal_connect (self->mux, "closed", G_CALLBACK (on_mux_closed), self);
  cv_mux_start (self->mux);

  hello.version = CV_PROTOCOL_VERSION;
  hello.role = self->role;
  hello.mode = self->code_mode ? CV_HELLO_MODE_CODE : CV_HELLO_MODE_PASSWORD;
  /* In code mode, the session (a share agent's) or technician (a connect agent's) and
   * its password go only where the config has them: a gateway's policy may ask. */
  if (!self->code_mode
      || (self->role == CV_AGENT_ROLE_SHARE ? self->session : self->technician) != NULL)
    {
      hello.session = self->role == CV_AGENT_ROLE_SHARE || !self->code_mode ? self->session : NULL;
      hello.technician = self->code_mode ? self->technician : NULL;
      hello.password = self->password;
    }
  hello.nameplate = self->nameplate;
  hello.name = fitted_name = self->name != NULL ? cv_control_fit_name (self->name) : NULL;
  hello.fingerprint = (char *) cv_identity_get_fingerprint (self->identity);
  json = cv_control_build_hello (&hello);
  cv_mux_send_control (self->mux, CV_CONTROL_HELLO, json, NULL);
  sodium_memzero (json, strlen (json));
  self->welcome_source = cv_agent_timeout_add (self->context, WELCOME_TIMEOUT_MS,
                                               on_welcome_timeout, self,
                                               "[culvert] agent link welcome");
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CvAgentLink) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) connection = cv_gateway_dial_finish (result, &error);
  CvTlsPeerCheck check = { 0 };

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || !self->running)
    return;
  if (connection == NULL)
    {
      lose (self, g_error_new (CV_AGENT_ERROR, CV_AGENT_ERROR_UNREACHABLE, "%s", error->message));
      return;
    }
  check.mode = self->gateway.fingerprint != NULL ? CV_TLS_PEER_CHECK_PINNED
                                                 : CV_TLS_PEER_CHECK_SYSTEM_CA;
  check.fingerprint = self->gateway.fingerprint;
  check.database = self->gateway.database;
  check.peer_name = "the gateway";
  check.pin_key = "gateway_fingerprint";
  {
    g_autoptr (GMainContextPusher) pusher = g_main_context_pusher_new (self->context);
    cv_tls_client_handshake_async (G_IO_STREAM (connection), self->gateway.host, &check,
                                   self->identity, CV_TLS_ALPN, 0, self->cancellable, on_tls_done,
                                   g_object_ref (self));
  }
}

static void
connect_now (CvAgentLink *self)
{
  g_autoptr (GMainContextPusher) pusher = g_main_context_pusher_new (self->context);

  drop_mux (self);
  set_state (self, CV_AGENT_LINK_STATE_CONNECTING, 0, self->refusal, NULL, FALSE);
  cv_gateway_dial_async (&self->gateway, self->cancellable, on_connected, g_object_ref (self));
}

void
cv_agent_link_start (CvAgentLink *self)
{
  g_return_if_fail (!self->running);

  self->running = TRUE;
  self->started_time = g_get_real_time ();
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  set_state (self, self->state, 0, CV_REFUSAL_NONE, NULL, TRUE);
  connect_now (self);
}

/* Idempotent; a stopped link may be started again. */
void
cv_agent_link_stop (CvAgentLink *self)
{
  self->running = FALSE;
  cv_source_clear (&self->retry_source);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  drop_mux (self);
  set_state (self, CV_AGENT_LINK_STATE_STOPPED, 0, self->refusal, NULL, FALSE);
}

/**
 * cv_agent_link_set_code_mode:
 * @nameplate: (nullable): a connect agent's nameplate; NULL for a share agent
 *
 * Before the link starts: log in with a session code (HELLO mode "code"), not a session
 * and its password.  A share agent is given a nameplate in WELCOME; a connect agent
 * claims @nameplate, and a refusal of it ("bad-code", "code-expired") stops the link
 * for good, since a code is claimed once.
 */
void
cv_agent_link_set_code_mode (CvAgentLink *self, const char *nameplate)
{
  g_return_if_fail (!self->running);
  g_return_if_fail ((self->role == CV_AGENT_ROLE_CONNECT) == (nameplate != NULL));

  self->code_mode = TRUE;
  g_free (self->nameplate);
  self->nameplate = g_strdup (nameplate);
}

gboolean
cv_agent_link_get_code_mode (CvAgentLink *self)
{
  return self->code_mode;
}
