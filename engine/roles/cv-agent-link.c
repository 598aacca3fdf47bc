/* cv-agent-link.c: an agent's control link to the gateway, kept up forever.
 *
 * Connect, TLS (the gateway pinned or CA-checked; our key as client certificate),
 * HELLO, then WELCOME or REFUSED.  Whatever goes wrong, the link comes back: after
 * 250 ms doubling to 30 s with jitter, or 30 s doubling to 10 min after the gateway
 * refused our credentials (retrying a wrong password quickly only feeds its rate
 * limiter).  The one exception is a share agent replaced by another: it stops, so
 * two share agents never take the session from each other in turn.
 */
#include "roles/cv-agent-link.h"

#include "base/cv-backoff.h"
#include "transport/cv-tls.h"

#include <sodium.h>
#include <string.h>

#define WELCOME_TIMEOUT_MS 20000
/* A link that stayed up this long starts the next reconnect from the shortest delay. */
#define STABLE_LINK_US (10 * G_USEC_PER_SEC)

G_DEFINE_QUARK (cv-agent-error-quark, cv_agent_error)

struct _CvAgentLink {
  GObject parent_instance;

  CvGatewayAddress gateway;
  CvIdentity *identity;
  CvAgentRole role;
  char *session;
  char *password;
  char *name;

  CvBackoff backoff;
  CvBackoff auth_backoff;
  GCancellable *cancellable;
  CvMux *mux;
  guint retry_id;
  guint welcome_timer_id;
  gboolean running;
  gboolean ready;
  gint64 ready_since_us;
  guint next_delay_ms; /* set by a REFUSED with retry_after_ms, or an auth failure */
};

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

static void
drop_mux (CvAgentLink *self)
{
  g_clear_handle_id (&self->welcome_timer_id, g_source_remove);
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
  g_free (self->session);
  if (self->password != NULL)
    sodium_memzero (self->password, strlen (self->password));
  g_free (self->password);
  g_free (self->name);

  G_OBJECT_CLASS (cv_agent_link_parent_class)->finalize (object);
}

static void
cv_agent_link_class_init (CvAgentLinkClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cv_agent_link_dispose;
  object_class->finalize = cv_agent_link_finalize;

  /* WELCOME arrived; @welcome is its body. */
  signals[SIGNAL_READY] = g_signal_new ("ready", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                        NULL, NULL, NULL, G_TYPE_NONE, 1, JSON_TYPE_OBJECT);
  /* A control message after WELCOME (PRESENCE, TUNNEL_OFFER). */
  signals[SIGNAL_MESSAGE] = g_signal_new ("message", G_TYPE_FROM_CLASS (klass),
                                          G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 2,
                                          G_TYPE_UINT, JSON_TYPE_OBJECT);
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
  cv_backoff_init (&self->backoff, 250, 30000);
  cv_backoff_init (&self->auth_backoff, 30000, 600000);
}

CvAgentLink *
cv_agent_link_new (const CvGatewayAddress *gateway,
                   CvIdentity *identity,
                   CvAgentRole role,
                   const char *session,
                   const char *password,
                   const char *name)
{
  CvAgentLink *self = g_object_new (CV_TYPE_AGENT_LINK, NULL);

  cv_gateway_address_copy (&self->gateway, gateway);
  self->identity = g_object_ref (identity);
  self->role = role;
  self->session = g_strdup (session);
  self->password = g_strdup (password);
  self->name = g_strdup (name != NULL ? name : g_get_host_name ());
  return self;
}

void
cv_agent_link_set_backoff (CvAgentLink *self, guint initial_ms, guint max_ms,
                           guint auth_initial_ms, guint auth_max_ms)
{
  cv_backoff_init (&self->backoff, initial_ms, max_ms);
  cv_backoff_init (&self->auth_backoff, auth_initial_ms, auth_max_ms);
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

  self->retry_id = 0;
  connect_now (self);
  return G_SOURCE_REMOVE;
}

/* The link is down: say why, once, on one line, and come back later. */
static void
lose (CvAgentLink *self, GError *error)
{
  guint delay_ms;

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

  g_warning ("gateway %s:%u: %s; retrying in %.1f s", self->gateway.host, self->gateway.port,
             error->message, delay_ms / 1000.0);
  g_signal_emit (self, signals[SIGNAL_LOST], 0, error);
  g_clear_error (&error);
  if (self->running)
    self->retry_id = g_timeout_add (delay_ms, on_retry, self);
}

static void
stop_for_good (CvAgentLink *self, GError *error)
{
  g_warning ("gateway %s:%u: %s; not retrying", self->gateway.host, self->gateway.port,
             error->message);
  self->running = FALSE;
  drop_mux (self);
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

  if (reason == NULL)
    reason = "unknown";
  if (g_str_equal (reason, CV_REASON_RATE_LIMITED) && retry != NULL
      && JSON_NODE_HOLDS_VALUE (retry) && json_node_get_value_type (retry) == G_TYPE_INT64)
    self->next_delay_ms = (guint) CLAMP (json_node_get_int (retry), 1000, 3600 * 1000);
  else if (g_str_equal (reason, CV_REASON_BAD_PASSWORD)
           || g_str_equal (reason, CV_REASON_UNKNOWN_SESSION)
           || g_str_equal (reason, CV_REASON_VERSION_MISMATCH))
    self->next_delay_ms = cv_backoff_next_delay_ms (&self->auth_backoff);

  lose (self, g_error_new (CV_AGENT_ERROR, CV_AGENT_ERROR_REFUSED,
                           "the gateway refused session “%s”: %s%s%s", self->session, reason,
                           message != NULL ? ": " : "", message != NULL ? message : ""));
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
      g_clear_handle_id (&self->welcome_timer_id, g_source_remove);
      self->ready = TRUE;
      self->ready_since_us = g_get_monotonic_time ();
      cv_backoff_reset (&self->auth_backoff);
      g_message ("gateway %s:%u: %s agent online in session “%s”", self->gateway.host,
                 self->gateway.port, cv_agent_role_to_string (self->role), self->session);
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
      stop_for_good (self, g_error_new (CV_AGENT_ERROR, CV_AGENT_ERROR_REPLACED,
                                        "this share agent was %s",
                                        message != NULL && *message ? message
                                                                    : "replaced by another"));
      return;
    }
  if (reason >= 0)
    lose (self, g_error_new (CV_AGENT_ERROR, CV_AGENT_ERROR_LOST, "the gateway closed the link: %s%s%s",
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

  self->welcome_timer_id = 0;
  lose (self, g_error_new (CV_AGENT_ERROR, CV_AGENT_ERROR_TIMEOUT,
                           "no answer to HELLO within %d s", WELCOME_TIMEOUT_MS / 1000));
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
  self->mux = cv_mux_new (tls, CV_MUX_ROLE_INITIATOR, &config);
  g_signal_connect (self->mux, "control-message", G_CALLBACK (on_control_message), self);
  g_signal_connect (self->mux, "closed", G_CALLBACK (on_mux_closed), self);
  cv_mux_start (self->mux);

  hello.version = CV_PROTOCOL_VERSION;
  hello.role = self->role;
  hello.session = self->session;
  hello.password = self->password;
  hello.name = self->name;
  hello.fingerprint = (char *) cv_identity_get_fingerprint (self->identity);
  json = cv_control_build_hello (&hello);
  cv_mux_send_control (self->mux, CV_CONTROL_HELLO, json, NULL);
  sodium_memzero (json, strlen (json));
  self->welcome_timer_id = g_timeout_add (WELCOME_TIMEOUT_MS, on_welcome_timeout, self);
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
  cv_tls_client_handshake_async (G_IO_STREAM (connection), self->gateway.host, &check,
                                 self->identity, CV_TLS_ALPN, 0, self->cancellable, on_tls_done,
                                 g_object_ref (self));
}

static void
connect_now (CvAgentLink *self)
{
  drop_mux (self);
  cv_gateway_dial_async (&self->gateway, self->cancellable, on_connected,
                               g_object_ref (self));
}

void
cv_agent_link_start (CvAgentLink *self)
{
  g_return_if_fail (!self->running);

  self->running = TRUE;
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  connect_now (self);
}

void
cv_agent_link_stop (CvAgentLink *self)
{
  self->running = FALSE;
  g_clear_handle_id (&self->retry_id, g_source_remove);
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  drop_mux (self);
}
