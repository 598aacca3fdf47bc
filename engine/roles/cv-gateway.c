/* cv-gateway.c: the public rendezvous — control links, sessions, presence, and tunnels
 * joined byte for byte without being read.
 *
 * This file is the object and its public calls; the work is in cv-gateway-intake.c
 * (new connections), cv-gateway-login.c (HELLO and password), cv-gateway-sessions.c
 * (sessions, links, presence) and cv-gateway-rendezvous.c (tunnels).
 */
#include "roles/cv-gateway-private.h"

#include "auth/cv-password.h"
#include "base/cv-listen.h"
#include "wire/cv-control.h"

enum {
  PROP_0,
  PROP_MAIN_CONTEXT,
  PROP_RUNNING,
  PROP_N_LINKS,
  PROP_N_TUNNELS,
  PROP_N_SESSIONS,
  PROP_N_SESSIONS_ONLINE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (CvGateway, cv_gateway, G_TYPE_OBJECT)

/* How the summary line names each CvGatewayJunk. */
static const CvLogSummaryKind junk_kinds[CV_GATEWAY_N_JUNK] = {
  [CV_GATEWAY_JUNK_NOT_AGENT] = { "connection was not a Culvert agent",
                                  "connections were not Culvert agents" },
  [CV_GATEWAY_JUNK_SILENT] = { "connection said nothing useful within the handshake deadline",
                               "connections said nothing useful within the handshake deadline" },
  [CV_GATEWAY_JUNK_TLS_FAILED] = { "TLS handshake failed", "TLS handshakes failed" },
  [CV_GATEWAY_JUNK_BAD_PREFACE] = { "tunnel preface was bad", "tunnel prefaces were bad" },
  [CV_GATEWAY_JUNK_UNKNOWN_TICKET] = { "tunnel half had an unknown or used ticket",
                                       "tunnel halves had an unknown or used ticket" },
  [CV_GATEWAY_JUNK_NO_HELLO] = { "control link sent no HELLO in time",
                                 "control links sent no HELLO in time" },
  [CV_GATEWAY_JUNK_REFUSED] = { "connection was refused at accept",
                                "connections were refused at accept" },
  [CV_GATEWAY_JUNK_BUSY] = { "login was told to come back", "logins were told to come back" },
  [CV_GATEWAY_JUNK_BLOCKED] = { "login came from an address held back after failed logins",
                                "logins came from addresses held back after failed logins" },
  [CV_GATEWAY_JUNK_TUNNEL_REFUSED] = { "tunnel request was refused",
                                       "tunnel requests were refused" },
  [CV_GATEWAY_JUNK_NOT_UPGRADE] = { "HTTP request was no WebSocket upgrade",
                                    "HTTP requests were no WebSocket upgrades" },
};

static void
close_listener (CvGateway *self)
{
  if (self->service == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->service, self);
  cv_acceptor_stop (self->service);
  g_socket_listener_close (G_SOCKET_LISTENER (self->service));
  g_clear_object (&self->service);
}

static void
set_running (CvGateway *self, gboolean running)
{
  if (self->running == running)
    return;
  self->running = running;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

static void
cv_gateway_dispose (GObject *object)
{
  CvGateway *self = CV_GATEWAY (object);

  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->stop_cancellable);
  close_listener (self);
  cv_gateway_web_stop (self);
  g_clear_object (&self->web);
  g_clear_pointer (&self->web_pending, g_hash_table_unref);
  g_clear_pointer (&self->pending, g_hash_table_unref);
  cv_gateway_forget_rendezvous (self);
  if (self->links != NULL)
    {
      for (guint i = 0; i < self->links->len; i++)
        {
          g_signal_handlers_disconnect_by_data (self->links->pdata[i], self);
          cv_gateway_link_close (self->links->pdata[i]);
        }
      g_clear_pointer (&self->links, g_ptr_array_unref);
    }
  cv_gateway_codes_clear (self);
  g_clear_pointer (&self->sessions, g_hash_table_unref);

  G_OBJECT_CLASS (cv_gateway_parent_class)->dispose (object);
}

static void
cv_gateway_finalize (GObject *object)
{
  CvGateway *self = CV_GATEWAY (object);

  g_clear_pointer (&self->config, cv_gateway_config_free);
  g_clear_object (&self->identity);
  g_clear_object (&self->limiter);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->stop_cancellable);
  g_clear_pointer (&self->ports, g_array_unref);
  g_clear_pointer (&self->web_ports, g_array_unref);
  g_clear_pointer (&self->admission, cv_admission_unref);
  g_clear_pointer (&self->junk, cv_log_summary_free);
  g_clear_pointer (&self->joins, g_ptr_array_unref);
  g_clear_pointer (&self->tunnels_per_session, g_hash_table_unref);
  g_clear_pointer (&self->tunnels_per_key, g_hash_table_unref);
  g_clear_object (&self->checker);
  g_free (self->dummy_hash);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->record_path);
  g_clear_object (&self->impostor);

  G_OBJECT_CLASS (cv_gateway_parent_class)->finalize (object);
}

static void
cv_gateway_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvGateway *self = CV_GATEWAY (object);

  switch (prop_id)
    {
    case PROP_MAIN_CONTEXT:
      g_value_set_boxed (value, self->context);
      break;
    case PROP_RUNNING:
      g_value_set_boolean (value, self->running);
      break;
    case PROP_N_LINKS:
      g_value_set_uint (value, cv_gateway_get_n_links (self));
      break;
    case PROP_N_TUNNELS:
      g_value_set_uint (value, self->n_tunnels);
      break;
    case PROP_N_SESSIONS:
      g_value_set_uint (value, cv_gateway_get_n_sessions (self));
      break;
    case PROP_N_SESSIONS_ONLINE:
      g_value_set_uint (value, cv_gateway_get_n_sessions_online (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_gateway_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  CvGateway *self = CV_GATEWAY (object);

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
cv_gateway_class_init (CvGatewayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->dispose = cv_gateway_dispose;
  object_class->finalize = cv_gateway_finalize;
  object_class->get_property = cv_gateway_get_property;
  object_class->set_property = cv_gateway_set_property;

  /* Where every source of the gateway's is attached and its async calls come back;
   * NULL: the thread-default context at construction. */
  properties[PROP_MAIN_CONTEXT] = g_param_spec_boxed ("main-context", NULL, NULL,
                                                      G_TYPE_MAIN_CONTEXT,
                                                      G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY
                                                        | G_PARAM_STATIC_STRINGS);
  /* Listening: from a successful cv_gateway_start() to cv_gateway_stop() or
   * cv_gateway_shutdown(). */
  properties[PROP_RUNNING] = g_param_spec_boolean ("running", NULL, NULL, FALSE, flags);
  /* Agents' control links, logged in or still in their HELLO. */
  properties[PROP_N_LINKS] = g_param_spec_uint ("n-links", NULL, NULL, 0, G_MAXUINT, 0, flags);
  properties[PROP_N_TUNNELS] = g_param_spec_uint ("n-tunnels", NULL, NULL, 0, G_MAXUINT, 0, flags);
  /* Sessions in the configuration. */
  properties[PROP_N_SESSIONS] = g_param_spec_uint ("n-sessions", NULL, NULL, 0, G_MAXUINT, 0,
                                                   flags);
  /* Sessions whose share agent is online. */
  properties[PROP_N_SESSIONS_ONLINE] = g_param_spec_uint ("n-sessions-online", NULL, NULL, 0,
                                                          G_MAXUINT, 0, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cv_gateway_init (CvGateway *self)
{
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                          cv_gateway_session_state_free);
  /* Each rendezvous is in the table twice; only the share-side entry frees it. */
  self->tickets = g_hash_table_new (g_str_hash, g_str_equal);
  self->joins = g_ptr_array_new ();
  self->tunnels_per_session = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->tunnels_per_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->links = g_ptr_array_new_with_free_func (g_object_unref);
  self->pending = g_hash_table_new_full (NULL, NULL, cv_gateway_pending_free, NULL);
  self->ports = g_array_new (FALSE, FALSE, sizeof (guint16));
  cv_gateway_web_init (self);
  self->cancellable = g_cancellable_new ();
  self->stop_cancellable = g_cancellable_new ();
}

/* One address may hold an eighth of the handshake slots (at least 16): an office
 * behind one NAT reconnecting after a restart gets in; one client cannot lock
 * everyone out. */
static guint
pending_per_address (const CvGatewayLimits *limits)
{
  return MAX (16, limits->max_pending_handshakes / 8);
}

/* A new control link may hold little unwritten output until WELCOME raises it
 * (cv_gateway_link_welcome()), and closes within close_timeout_ms of its GOAWAY: a peer
 * that does not read cannot hold memory or an admission slot. */
static void
apply_link_limits (CvGateway *self, const CvGatewayLimits *limits)
{
  self->mux_config.max_output_bytes = limits->max_output_before_welcome_bytes;
  self->mux_config.close_timeout_ms = limits->close_timeout_ms;
}

/**
 * cv_gateway_new_with_context:
 * @config: (transfer full): the configuration
 * @identity: the gateway's certificate and key
 * @context: (nullable): the main context it runs on; %NULL for the thread-default one
 */
CvGateway *
cv_gateway_new_with_context (CvGatewayConfig *config, CvIdentity *identity, GMainContext *context)
{
  CvGateway *self = g_object_new (CV_TYPE_GATEWAY, "main-context", context, NULL);
  CvAuthLimits limits;

  self->config = config;
  self->identity = g_object_ref (identity);
  cv_auth_limits_init_defaults (&limits);
  limits.max_failures = config->limits.auth_failures_before_backoff;
  limits.max_backoff_us = (gint64) config->limits.auth_backoff_max_ms * 1000;
  self->limiter = cv_auth_limiter_new (&limits);
  self->admission = cv_admission_new (config->limits.max_pending_handshakes,
                                      pending_per_address (&config->limits));
  self->checker = cv_password_checker_new (config->limits.password_check_workers,
                                           config->limits.max_queued_password_checks,
                                           config->limits.max_password_checks_per_address);
  self->dummy_hash = cv_password_dummy_hash ();
  self->junk = cv_log_summary_new (junk_kinds, CV_GATEWAY_N_JUNK,
                                   config->limits.junk_log_interval_ms, self->context);
  cv_mux_config_init_defaults (&self->mux_config);
  self->mux_config.keepalive_interval_ms = config->limits.keepalive_interval_ms;
  self->mux_config.dead_peer_timeout_ms = config->limits.dead_peer_timeout_ms;
  apply_link_limits (self, &config->limits);
  /* Control links carry a few small messages; no channel ever opens on them. */
  self->mux_config.max_channels = 1;
  self->mux_config.initial_window = 64 * 1024;
  self->mux_config.max_window = 64 * 1024;
  cv_gateway_load_sessions (self, config);
  cv_gateway_codes_init (self);
  return self;
}

/**
 * cv_gateway_new:
 * @config: (transfer full): the configuration
 * @identity: the gateway's certificate and key
 *
 * A gateway on the thread-default main context.
 */
CvGateway *
cv_gateway_new (CvGatewayConfig *config, CvIdentity *identity)
{
  return cv_gateway_new_with_context (config, identity, NULL);
}

/**
 * cv_gateway_load_identity:
 *
 * The gateway's key and certificate as @config says: its cert_file and key_file, or
 * else a self-signed pair kept in its state_dir, made on first use.
 *
 * Returns: (transfer full) (nullable): the identity, or %NULL with @error set
 */
CvIdentity *
cv_gateway_load_identity (const CvGatewayConfig *config, GError **error)
{
  CvIdentity *identity;
  gboolean created = FALSE;

  if (config->cert_file != NULL)
    return cv_identity_new_from_files (config->cert_file, config->key_file, error);
  identity = cv_identity_load_or_create (config->state_dir, CV_GATEWAY_IDENTITY_NAME,
                                         "culvert-gateway", &created, error);
  if (identity != NULL && created)
    g_message ("made a self-signed certificate in %s", config->state_dir);
  return identity;
}

/**
 * cv_gateway_find_identity:
 *
 * As cv_gateway_load_identity(), but never makes one.
 *
 * Returns: (transfer full) (nullable): the identity, or %NULL with @error set;
 *   G_FILE_ERROR_NOENT when the state_dir holds none yet
 */
CvIdentity *
cv_gateway_find_identity (const CvGatewayConfig *config, GError **error)
{
  if (config->cert_file != NULL)
    return cv_identity_new_from_files (config->cert_file, config->key_file, error);
  return cv_identity_load (config->state_dir, CV_GATEWAY_IDENTITY_NAME, error);
}

/**
 * cv_gateway_check_identity:
 * @identity: (out) (optional): the identity start-up would use, or %NULL if it would
 *   make one in state_dir
 *
 * What cv_gateway_load_identity() would do, without making anything.
 */
gboolean
cv_gateway_check_identity (const CvGatewayConfig *config, CvIdentity **identity, GError **error)
{
  g_autoptr (CvIdentity) loaded = NULL;

  if (config->cert_file == NULL)
    return cv_identity_check (config->state_dir, CV_GATEWAY_IDENTITY_NAME, identity, error);
  loaded = cv_identity_new_from_files (config->cert_file, config->key_file, error);
  if (loaded == NULL)
    return FALSE;
  if (identity != NULL)
    *identity = g_steal_pointer (&loaded);
  return TRUE;
}

/**
 * cv_gateway_new_from_file:
 * @config_file: the gateway's JSON config
 * @context: (nullable): the main context it runs on; %NULL for the thread-default one
 *
 * Loads the config and the identity it names (cv_gateway_load_identity()).
 *
 * Returns: (transfer full) (nullable): a gateway, not started yet, or %NULL with
 *   @error saying what is wrong with the file or the identity
 */
CvGateway *
cv_gateway_new_from_file (const char *config_file, GMainContext *context, GError **error)
{
  g_autoptr (CvGatewayConfig) config = cv_gateway_config_load (config_file, error);
  g_autoptr (CvIdentity) identity = NULL;

  if (config == NULL)
    return NULL;
  identity = cv_gateway_load_identity (config, error);
  if (identity == NULL)
    return NULL;
  return cv_gateway_new_with_context (g_steal_pointer (&config), identity, context);
}

gboolean
cv_gateway_start (CvGateway *self, GError **error)
{
  CV_GATEWAY_ON_ITS_CONTEXT (self);

  g_return_val_if_fail (self->service == NULL && !self->shutting_down, FALSE);

  /* Started with the gateway's context pushed: its accepts come back on it. */
  self->service = cv_acceptor_new ();
  for (guint i = 0; i < self->config->listeners->len; i++)
    {
      CvGatewayListener *listen = self->config->listeners->pdata[i];
      guint16 port = 0;

      if (!cv_listen_add (G_SOCKET_LISTENER (self->service), listen->host, listen->port, 1024,
                          &port, error))
        {
          close_listener (self);
          g_array_set_size (self->ports, 0);
          return FALSE;
        }
      g_array_append_val (self->ports, port);
      g_message ("listening on %s port %u", listen->host, port);
    }
  if (!cv_gateway_web_start (self, error))
    {
      close_listener (self);
      g_array_set_size (self->ports, 0);
      g_clear_object (&self->web);
      return FALSE;
    }
  g_signal_connect (self->service, "incoming", G_CALLBACK (cv_gateway_on_incoming), self);
  cv_acceptor_start (self->service);
  self->started_time = g_get_real_time ();
  set_running (self, TRUE);
  return TRUE;
}

GArray *
cv_gateway_get_listen_ports (CvGateway *self)
{
  return self->ports;
}

/* Returns: (transfer none) (element-type guint16): the ports bound for
 * websocket_listen, in its order */
GArray *
cv_gateway_get_websocket_ports (CvGateway *self)
{
  return self->web_ports;
}

/* Returns: (transfer none): the context the gateway runs on */
GMainContext *
cv_gateway_get_main_context (CvGateway *self)
{
  return self->context;
}

/* Returns: (transfer none): the gateway's key and certificate (its fingerprint is
 * what agents pin) */
CvIdentity *
cv_gateway_get_identity (CvGateway *self)
{
  return self->identity;
}

void
cv_gateway_set_record_path (CvGateway *self, const char *path)
{
  g_free (self->record_path);
  self->record_path = g_strdup (path);
}

void
cv_gateway_set_debug_swap_code_keys (CvGateway *self, CvIdentity *impostor)
{
  g_set_object (&self->impostor, impostor);
}

guint
cv_gateway_get_n_links (CvGateway *self)
{
  return self->links != NULL ? self->links->len : 0;
}

guint
cv_gateway_get_n_tunnels (CvGateway *self)
{
  return self->n_tunnels;
}

/* Connections holding an admission slot: not yet welcomed, and not yet closed. */
guint
cv_gateway_get_n_unauthenticated (CvGateway *self)
{
  g_return_val_if_fail (CV_IS_GATEWAY (self), 0);
  return cv_admission_get_n_pending (self->admission);
}

guint
cv_gateway_get_n_sessions (CvGateway *self)
{
  return self->sessions != NULL ? g_hash_table_size (self->sessions) : 0;
}

guint
cv_gateway_get_n_sessions_online (CvGateway *self)
{
  return cv_gateway_count_sessions_online (self);
}

/* Returns: (transfer none): the queue of password checks, for monitoring: how many
 * wait, run, and have run */
CvPasswordChecker *
cv_gateway_get_password_checker (CvGateway *self)
{
  return self->checker;
}

gboolean
cv_gateway_is_running (CvGateway *self)
{
  return self->running;
}

GSource *
cv_gateway_add_timeout (CvGateway *self, guint ms, GSourceFunc func, gpointer data)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, func, data, NULL);
  g_source_set_static_name (source, "[culvert] gateway deadline");
  g_source_attach (source, self->context);
  return source;
}

void
cv_gateway_counts_changed (CvGateway *self)
{
  guint n_links = cv_gateway_get_n_links (self);
  guint n_online = cv_gateway_count_sessions_online (self);

  g_object_freeze_notify (G_OBJECT (self));
  if (n_links != self->notified_links)
    {
      self->notified_links = n_links;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_LINKS]);
    }
  if (self->n_tunnels != self->notified_tunnels)
    {
      self->notified_tunnels = self->n_tunnels;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_TUNNELS]);
    }
  if (n_online != self->notified_sessions_online)
    {
      self->notified_sessions_online = n_online;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_SESSIONS_ONLINE]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

/* New sessions and credentials take effect for the next login.  What a reload takes
 * away goes now: the links and tunnels of a removed session, and those of agents that
 * logged in with a password hash their session no longer has. */
gboolean
cv_gateway_reload (CvGateway *self, CvGatewayConfig *config, GError **error)
{
  CV_GATEWAY_ON_ITS_CONTEXT (self);
  GHashTableIter iter;
  gpointer value;
  guint n_sessions = cv_gateway_get_n_sessions (self);
  guint removed, revoked_links, revoked_tunnels;

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    ((CvGatewaySessionState *) value)->removed = TRUE;
  cv_gateway_load_sessions (self, config);
  removed = cv_gateway_drop_removed_sessions (self);
  revoked_links = cv_gateway_revoke_links (self);
  revoked_tunnels = cv_gateway_revoke_tunnels (self);
  g_message ("configuration reloaded: %u sessions, %u removed, %u links logged out by changed "
             "passwords, %u tunnels ended",
             config->sessions->len, removed, revoked_links, revoked_tunnels);
  cv_admission_set_limits (self->admission, config->limits.max_pending_handshakes,
                           pending_per_address (&config->limits));
  /* The workers are threads made at start; the queue's bounds change now. */
  cv_password_checker_set_limits (self->checker, config->limits.max_queued_password_checks,
                                  config->limits.max_password_checks_per_address);
  /* New links get the new keepalive; the failed-login limiter keeps its state and its
   * policy until a restart (a reload must not forgive an attacker). */
  self->mux_config.keepalive_interval_ms = config->limits.keepalive_interval_ms;
  self->mux_config.dead_peer_timeout_ms = config->limits.dead_peer_timeout_ms;
  apply_link_limits (self, &config->limits);
  cv_gateway_config_free (self->config);
  self->config = config;
  if (cv_gateway_get_n_sessions (self) != n_sessions)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_SESSIONS]);
  cv_gateway_counts_changed (self);
  return TRUE;
}

/* Graceful: GOAWAY to every agent, no new connections; tunnels are cut. */
void
cv_gateway_shutdown (CvGateway *self)
{
  CV_GATEWAY_ON_ITS_CONTEXT (self);

  if (self->shutting_down)
    return;
  self->shutting_down = TRUE;
  close_listener (self);
  cv_gateway_web_close_listeners (self);
  for (guint i = 0; i < self->links->len; i++)
    cv_gateway_link_goaway (self->links->pdata[i], CV_GOAWAY_REASON_SHUTTING_DOWN,
                            "the gateway is shutting down");
  g_cancellable_cancel (self->cancellable);
  set_running (self, FALSE);
}

/**
 * cv_gateway_stop:
 *
 * Ends everything now: the listener, connections not yet sniffed, every control link
 * (closed, no GOAWAY), every tunnel and ticket, the password checks.  Idempotent.
 * Callbacks already queued still run on the gateway's context; once they have, the
 * last reference finalizes it.
 */
void
cv_gateway_stop (CvGateway *self)
{
  CV_GATEWAY_ON_ITS_CONTEXT (self);

  self->shutting_down = TRUE;
  close_listener (self);
  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->stop_cancellable);
  cv_gateway_drop_pending (self);
  cv_gateway_web_stop (self);
  cv_gateway_forget_rendezvous (self);
  /* Forgotten, not only freed: a rendezvous made from now on has nowhere to go. */
  self->tickets = g_hash_table_new (g_str_hash, g_str_equal);
  cv_gateway_drop_links (self);
  set_running (self, FALSE);
  cv_gateway_counts_changed (self);
}

gboolean
cv_gateway_is_idle (CvGateway *self)
{
  return self->links->len == 0;
}
