/* cv-gateway.c: the public rendezvous — control links, sessions, presence, and tunnels
 * joined byte for byte without being read.
 *
 * This file is the object and its public calls; the work is in cv-gateway-intake.c
 * (new connections), cv-gateway-login.c (HELLO and password), cv-gateway-sessions.c
 * (sessions, links, presence) and cv-gateway-rendezvous.c (tunnels).
 */
#include "roles/cv-gateway-private.h"

#include "base/cv-listen.h"
#include "wire/cv-control.h"

G_DEFINE_FINAL_TYPE (CvGateway, cv_gateway, G_TYPE_OBJECT)

static void
cv_gateway_dispose (GObject *object)
{
  CvGateway *self = CV_GATEWAY (object);

  g_cancellable_cancel (self->cancellable);
  if (self->service != NULL)
    {
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
      g_clear_object (&self->service);
    }
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
  g_clear_pointer (&self->ports, g_array_unref);
  g_clear_pointer (&self->admission, cv_admission_unref);
  g_clear_pointer (&self->verifying, g_hash_table_unref);
  g_free (self->record_path);

  G_OBJECT_CLASS (cv_gateway_parent_class)->finalize (object);
}

static void
cv_gateway_class_init (CvGatewayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cv_gateway_dispose;
  object_class->finalize = cv_gateway_finalize;
}

static void
cv_gateway_init (CvGateway *self)
{
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                          cv_gateway_session_state_free);
  /* Each rendezvous is in the table twice; only the share-side entry frees it. */
  self->tickets = g_hash_table_new (g_str_hash, g_str_equal);
  self->links = g_ptr_array_new_with_free_func (g_object_unref);
  self->pending = g_hash_table_new_full (NULL, NULL, cv_gateway_pending_free, NULL);
  self->ports = g_array_new (FALSE, FALSE, sizeof (guint16));
  self->cancellable = g_cancellable_new ();
  self->verifying = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/* One address may hold an eighth of the handshake slots (at least 16): an office
 * behind one NAT reconnecting after a restart gets in; one client cannot lock
 * everyone out. */
static guint
pending_per_address (const CvGatewayLimits *limits)
{
  return MAX (16, limits->max_pending_handshakes / 8);
}

/**
 * cv_gateway_new:
 * @config: (transfer full): the configuration
 * @identity: the gateway's certificate and key
 */
CvGateway *
cv_gateway_new (CvGatewayConfig *config, CvIdentity *identity)
{
  CvGateway *self = g_object_new (CV_TYPE_GATEWAY, NULL);
  CvAuthLimits limits;

  self->config = config;
  self->identity = g_object_ref (identity);
  cv_auth_limits_init_defaults (&limits);
  limits.max_failures = config->limits.auth_failures_before_backoff;
  limits.max_backoff_us = (gint64) config->limits.auth_backoff_max_ms * 1000;
  self->limiter = cv_auth_limiter_new (&limits);
  self->admission = cv_admission_new (config->limits.max_pending_handshakes,
                                      pending_per_address (&config->limits));
  cv_mux_config_init_defaults (&self->mux_config);
  self->mux_config.keepalive_interval_ms = config->limits.keepalive_interval_ms;
  self->mux_config.dead_peer_timeout_ms = config->limits.dead_peer_timeout_ms;
  /* Control links carry a few small messages; no channel ever opens on them. */
  self->mux_config.max_channels = 1;
  self->mux_config.initial_window = 64 * 1024;
  self->mux_config.max_window = 64 * 1024;
  cv_gateway_load_sessions (self, config);
  return self;
}

gboolean
cv_gateway_start (CvGateway *self, GError **error)
{
  self->service = g_socket_service_new ();
  for (guint i = 0; i < self->config->listeners->len; i++)
    {
      CvGatewayListener *listen = self->config->listeners->pdata[i];
      guint16 port = 0;

      if (!cv_listen_add (G_SOCKET_LISTENER (self->service), listen->host, listen->port, 1024,
                          &port, error))
        return FALSE;
      g_array_append_val (self->ports, port);
      g_message ("listening on %s port %u", listen->host, port);
    }
  g_signal_connect (self->service, "incoming", G_CALLBACK (cv_gateway_on_incoming), self);
  g_socket_service_start (self->service);
  return TRUE;
}

GArray *
cv_gateway_get_listen_ports (CvGateway *self)
{
  return self->ports;
}

void
cv_gateway_set_record_path (CvGateway *self, const char *path)
{
  g_free (self->record_path);
  self->record_path = g_strdup (path);
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

/* New sessions and credentials take effect for the next login; links and tunnels that
 * are up stay up, except those of sessions that no longer exist. */
gboolean
cv_gateway_reload (CvGateway *self, CvGatewayConfig *config, GError **error)
{
  GHashTableIter iter;
  gpointer value;
  guint removed;

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    ((CvGatewaySessionState *) value)->removed = TRUE;
  cv_gateway_load_sessions (self, config);
  removed = cv_gateway_drop_removed_sessions (self);
  g_message ("configuration reloaded: %u sessions, %u removed", config->sessions->len, removed);
  cv_admission_set_limits (self->admission, config->limits.max_pending_handshakes,
                           pending_per_address (&config->limits));
  /* New links get the new keepalive; the failed-login limiter keeps its state and its
   * policy until a restart (a reload must not forgive an attacker). */
  self->mux_config.keepalive_interval_ms = config->limits.keepalive_interval_ms;
  self->mux_config.dead_peer_timeout_ms = config->limits.dead_peer_timeout_ms;
  cv_gateway_config_free (self->config);
  self->config = config;
  return TRUE;
}

/* Graceful: GOAWAY to every agent, no new connections; tunnels are cut. */
void
cv_gateway_shutdown (CvGateway *self)
{
  if (self->shutting_down)
    return;
  self->shutting_down = TRUE;
  if (self->service != NULL)
    {
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
    }
  for (guint i = 0; i < self->links->len; i++)
    cv_gateway_link_goaway (self->links->pdata[i], CV_GOAWAY_REASON_SHUTTING_DOWN,
                            "the gateway is shutting down");
  g_cancellable_cancel (self->cancellable);
}

gboolean
cv_gateway_is_idle (CvGateway *self)
{
  return self->links->len == 0;
}
