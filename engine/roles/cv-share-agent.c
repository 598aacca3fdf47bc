/* cv-share-agent.c: the agent next to the services — it dials only the targets it allows.
 *
 * It trusts no one: not the gateway (which only relays ciphertext and announces keys;
 * with authorized_connect_keys, an announced key must also be listed) and not the
 * connect agents (each OPEN is checked against the allow list before anything is
 * dialled).  The gateway cannot log channels, by design, so this agent
 * logs every one: who, which target, bytes, duration.
 *
 * Its state is properties on its main context (the link's): the link's "state", the open
 * tunnels and channels, and the bytes of the channels closed so far.
 *
 * This file is the object, its link's state and its public calls; the work is in
 * cv-share-agent-tunnels.c (tunnel offers, tunnels, channels), cv-share-agent-consent.c
 * (services and the sharer's consent) and cv-share-agent-codes.c (session codes).
 */
#include "roles/cv-share-agent-private.h"

#include "wire/cv-control.h"
#include "wire/cv-services.h"

static GParamSpec *properties[N_PROPS];

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (CvShareAgent, cv_share_agent, G_TYPE_OBJECT)

void
cv_share_agent_notify (CvShareAgent *self, guint prop)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

void
cv_share_agent_emit (CvShareAgent *self, guint signal, ...)
{
  va_list args;

  va_start (args, signal);
  g_signal_emit_valist (self, signals[signal], 0, args);
  va_end (args);
}

static void
cv_share_agent_dispose (GObject *object)
{
  CvShareAgent *self = CV_SHARE_AGENT (object);

  if (self->tunnels != NULL)
    cv_share_agent_stop (self);
  if (self->link != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->link, self);
      g_clear_object (&self->link);
    }
  g_clear_pointer (&self->tunnels, g_ptr_array_unref);

  G_OBJECT_CLASS (cv_share_agent_parent_class)->dispose (object);
}

static void
cv_share_agent_finalize (GObject *object)
{
  CvShareAgent *self = CV_SHARE_AGENT (object);

  g_clear_pointer (&self->allow, cv_allow_list_free);
  g_clear_pointer (&self->services, g_ptr_array_unref);
  g_clear_pointer (&self->authorized_connect_keys, g_strfreev);
  g_clear_pointer (&self->traffic, cv_traffic_meter_free);
  cv_share_agent_wipe_code (self);
  g_free (self->claim_name);
  g_free (self->claim_address);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (cv_share_agent_parent_class)->finalize (object);
}

static void
cv_share_agent_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvShareAgent *self = CV_SHARE_AGENT (object);

  switch (prop_id)
    {
    case PROP_LINK:
      g_value_set_object (value, self->link);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_N_TUNNELS:
      g_value_set_uint (value, cv_share_agent_get_n_tunnels (self));
      break;
    case PROP_N_CHANNELS:
      g_value_set_uint (value, self->n_channels);
      break;
    case PROP_BYTES_IN:
      g_value_set_uint64 (value, cv_traffic_meter_get_bytes_in (self->traffic));
      break;
    case PROP_BYTES_OUT:
      g_value_set_uint64 (value, cv_traffic_meter_get_bytes_out (self->traffic));
      break;
    case PROP_CONSENT_PENDING:
      g_value_set_boolean (value, cv_share_agent_get_consent_pending (self));
      break;
    case PROP_AUTHORIZED_CONNECT_KEYS:
      g_value_set_boxed (value, self->authorized_connect_keys);
      break;
    case PROP_CODE:
      g_value_set_string (value, self->code);
      break;
    case PROP_CODE_EXPIRES:
      g_value_set_int64 (value, self->code_expires_us);
      break;
    case PROP_CODE_STATE:
      g_value_set_enum (value, self->code_state);
      break;
    case PROP_VERIFICATION:
      g_value_set_string (value, self->verification);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

#define READ_FLAGS (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY)

static void
cv_share_agent_class_init (CvShareAgentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cv_share_agent_dispose;
  object_class->finalize = cv_share_agent_finalize;
  object_class->get_property = cv_share_agent_get_property;

  /* The control link; its "next-retry-time", "refusal" and "last-error" say more. */
  properties[PROP_LINK] = g_param_spec_object ("link", NULL, NULL, CV_TYPE_AGENT_LINK, READ_FLAGS);
  /* The link's "state", notified after it. */
  properties[PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, CV_TYPE_AGENT_LINK_STATE,
                                              CV_AGENT_LINK_STATE_STOPPED, READ_FLAGS);
  /* Tunnels from connect agents, open now. */
  properties[PROP_N_TUNNELS] = g_param_spec_uint ("n-tunnels", NULL, NULL, 0, G_MAXUINT, 0,
                                                  READ_FLAGS);
  /* Channels to targets, open now, over every tunnel. */
  properties[PROP_N_CHANNELS] = g_param_spec_uint ("n-channels", NULL, NULL, 0, G_MAXUINT, 0,
                                                   READ_FLAGS);
  /* From connect agents to targets, over every channel, counted once a second while it is open. */
  properties[PROP_BYTES_IN] = g_param_spec_uint64 ("bytes-in", NULL, NULL, 0, G_MAXUINT64, 0,
                                                   READ_FLAGS);
  /* From targets to connect agents, over every channel, counted once a second while it is open. */
  properties[PROP_BYTES_OUT] = g_param_spec_uint64 ("bytes-out", NULL, NULL, 0, G_MAXUINT64, 0,
                                                    READ_FLAGS);
  /* A consent request waits for cv_share_agent_accept() or _deny(). */
  properties[PROP_CONSENT_PENDING] = g_param_spec_boolean ("consent-pending", NULL, NULL, FALSE,
                                                           READ_FLAGS);
  /* The connect agents' keys this agent accepts tunnels from, normalized; NULL: any key
   * the gateway announces. */
  properties[PROP_AUTHORIZED_CONNECT_KEYS] = g_param_spec_boxed ("authorized-connect-keys", NULL,
                                                                 NULL, G_TYPE_STRV, READ_FLAGS);
  /* Code mode: the code to read out ("482-913-557"), while one is valid; else NULL. */
  properties[PROP_CODE] = g_param_spec_string ("code", NULL, NULL, NULL, READ_FLAGS);
  /* When an unclaimed code expires, real time in µs; 0 without a code. */
  properties[PROP_CODE_EXPIRES] = g_param_spec_int64 ("code-expires", NULL, NULL, 0, G_MAXINT64, 0,
                                                      READ_FLAGS);
  properties[PROP_CODE_STATE] = g_param_spec_enum ("code-state", NULL, NULL, CV_TYPE_CODE_STATE,
                                                   CV_CODE_STATE_NONE, READ_FLAGS);
  /* Once both keys are confirmed: the string both people compare ("123 456"). */
  properties[PROP_VERIFICATION] = g_param_spec_string ("verification", NULL, NULL, NULL,
                                                       READ_FLAGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * CvShareAgent::channel-opened:
   * @target: "host:port", as the connect agent asked for it
   *
   * A connect agent's channel reached its target.
   */
  signals[SIGNAL_CHANNEL_OPENED] = g_signal_new ("channel-opened", G_TYPE_FROM_CLASS (klass),
                                                 G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                 G_TYPE_NONE, 1, G_TYPE_STRING);
  /**
   * CvShareAgent::channel-closed:
   * @target: "host:port"
   * @error: (nullable): why it ended; NULL after a clean close
   */
  signals[SIGNAL_CHANNEL_CLOSED] = g_signal_new ("channel-closed", G_TYPE_FROM_CLASS (klass),
                                                 G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                 G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_ERROR);
  /**
   * CvShareAgent::consent-requested:
   * @name: the connect agent's name, as the gateway attests it
   * @address: its address, as the gateway sees it
   * @fingerprint: its key, as the tunnel's TLS proved it
   * @services: (array zero-terminated=1): the names of the services it asks for
   * @verification: (nullable): the string both people compare (session codes only)
   *
   * Answer with cv_share_agent_accept() or cv_share_agent_deny(); without an answer
   * within the consent timeout the request is denied.  One request is asked at a time;
   * the next is emitted once this one is answered.
   */
  signals[SIGNAL_CONSENT_REQUESTED] = g_signal_new ("consent-requested", G_TYPE_FROM_CLASS (klass),
                                                    G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                    G_TYPE_NONE, 5, G_TYPE_STRING, G_TYPE_STRING,
                                                    G_TYPE_STRING, G_TYPE_STRV, G_TYPE_STRING);
  /**
   * CvShareAgent::connect-key-refused:
   * @fingerprint: the connect agent's key, proved in the tunnel's handshake
   * @peer_name: its name, as the gateway announced it
   * @peer_address: its address, as the gateway saw it
   *
   * A tunnel was refused before any channel: the key is not in
   * #CvShareAgent:authorized-connect-keys.
   */
  signals[SIGNAL_CONNECT_KEY_REFUSED] = g_signal_new ("connect-key-refused",
                                                      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                                      0, NULL, NULL, NULL, G_TYPE_NONE, 3,
                                                      G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
}

static void
cv_share_agent_init (CvShareAgent *self)
{
  self->tunnels = g_ptr_array_new_with_free_func (cv_share_agent_tunnel_free);
  self->cancellable = g_cancellable_new ();
  self->consent_timeout_ms = CV_SHARE_DEFAULT_CONSENT_TIMEOUT_MS;
  g_queue_init (&self->consent_queue);
}

static void
on_link_ready (CvAgentLink *link, JsonObject *welcome, CvShareAgent *self)
{
  JsonNode *node = json_object_get_member (welcome, "max_channels_per_tunnel");

  if (cv_agent_link_get_code_mode (link))
    cv_share_agent_new_code (self, welcome);
  if (node != NULL && JSON_NODE_HOLDS_VALUE (node)
      && json_node_get_value_type (node) == G_TYPE_INT64 && json_node_get_int (node) > 0)
    self->max_channels_per_tunnel = (guint) MIN (json_node_get_int (node), G_MAXUINT32);
}

/* Replaced by another share agent: nothing of this one may stay reachable. */
static void
on_link_stopped (CvAgentLink *link, const GError *error, CvShareAgent *self)
{
  cv_share_agent_close_tunnels (self);
  g_cancellable_cancel (self->cancellable);
}

static void
on_link_state (CvAgentLink *link, GParamSpec *pspec, CvShareAgent *self)
{
  /* The gateway forgets a code whose share link is gone; so do we (a burned or
   * expired one stays so, for the user to see). */
  if (cv_agent_link_get_state (link) != CV_AGENT_LINK_STATE_ONLINE && self->code != NULL)
    {
      cv_share_agent_drop_code (self);
      cv_share_agent_set_code_state (self, CV_CODE_STATE_NONE);
    }
  self->state = cv_agent_link_get_state (link);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

/**
 * cv_share_agent_new:
 * @link: (transfer full): a control link in the share role, not started; the agent runs on
 *   its main context
 * @allow: (transfer full): the targets this agent may dial
 */
CvShareAgent *
cv_share_agent_new (CvAgentLink *link, CvAllowList *allow)
{
  CvShareAgent *self = g_object_new (CV_TYPE_SHARE_AGENT, NULL);

  self->context = g_main_context_ref (cv_agent_link_get_main_context (link));
  self->traffic = cv_traffic_meter_new (self->context, G_OBJECT (self), properties[PROP_BYTES_IN],
                                        properties[PROP_BYTES_OUT]);
  self->link = link;
  self->allow = allow;
  self->state = cv_agent_link_get_state (link);
  g_signal_connect (link, "message", G_CALLBACK (cv_share_agent_on_link_message), self);
  g_signal_connect (link, "stopped", G_CALLBACK (on_link_stopped), self);
  g_signal_connect (link, "ready", G_CALLBACK (on_link_ready), self);
  g_signal_connect (link, "notify::state", G_CALLBACK (on_link_state), self);
  return self;
}

/**
 * cv_share_agent_new_from_config:
 * @context: (nullable): where the agent runs; NULL: the thread-default context
 *
 * The agent's key comes from the config's state_dir (made there on first use).
 *
 * Returns: (transfer full): the agent, not started; or NULL if the config lacks
 *   something (no allowed target, say) or the password or the key cannot be read
 */
CvShareAgent *
cv_share_agent_new_from_config (const CvShareConfig *config, GMainContext *context, GError **error)
{
  CvAllowList *allow;
  CvAgentLink *link;
  CvShareAgent *self;

  if (config->agent.code_mode && config->services->len == 0)
    {
      /* Whoever has the code must still be allowed by the sharer, and only to something
       * named: consent needs services. */
      g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_MISSING_KEY,
                   "services: expected at least one service to offer with a session code, "
                   "got none");
      return NULL;
    }
  if (config->allow->len == 0 && config->services->len == 0)
    {
      g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_MISSING_KEY,
                   "allow: expected at least one target to share, got none");
      return NULL;
    }
  if (config->allow->len > 0 && config->services->len > 0)
    {
      g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_BAD_VALUE,
                   "services: expected either allow or services, got both (the services' "
                   "targets are the allow list)");
      return NULL;
    }
  allow = cv_allow_list_new ();
  for (guint i = 0; i < config->allow->len; i++)
    {
      const CvAllowedTarget *target = config->allow->pdata[i];

      /* A config built in code was not checked by the loader: the list checks again. */
      if (!cv_allow_list_add (allow, target->host, target->port_lo, target->port_hi, error))
        {
          g_prefix_error (error, "allow[%u]: ", i);
          cv_allow_list_free (allow);
          return NULL;
        }
    }
  for (guint i = 0; i < config->services->len; i++)
    {
      const CvServiceInfo *info = config->services->pdata[i];

      if (!cv_allow_list_add (allow, info->host, info->port, info->port, error))
        {
          g_prefix_error (error, "services[%u]: ", i);
          cv_allow_list_free (allow);
          return NULL;
        }
    }
  link = cv_agent_link_new_from_config (&config->agent, CV_AGENT_ROLE_SHARE, context, error);
  if (link == NULL)
    {
      cv_allow_list_free (allow);
      return NULL;
    }
  self = cv_share_agent_new (link, allow);
  for (guint i = 0; i < config->services->len; i++)
    {
      const CvServiceInfo *info = config->services->pdata[i];
      cv_share_agent_add_service (self, info->name, info->kind, info->host, info->port);
    }
  cv_share_agent_set_consent_timeout_ms (self, config->consent_timeout_ms);
  /* A config built in code was not checked by the loader. */
  if (!cv_share_agent_set_authorized_connect_keys (self,
                                                   (const char *const *)
                                                     config->authorized_connect_keys,
                                                   error))
    {
      g_prefix_error (error, "authorized_connect_keys: ");
      g_object_unref (self);
      return NULL;
    }
  return self;
}

void
cv_share_agent_start (CvShareAgent *self)
{
  g_return_if_fail (!self->stopped);

  cv_agent_link_start (self->link);
}

/**
 * cv_share_agent_stop:
 *
 * Stops the link and closes every tunnel and channel; idempotent.  A stopped agent does
 * not start again.
 */
void
cv_share_agent_stop (CvShareAgent *self)
{
  if (self->stopped)
    return;
  self->stopped = TRUE;
  g_cancellable_cancel (self->cancellable);
  /* The link first: its GOAWAY tells the gateway who ends the tunnels that follow. */
  cv_agent_link_stop (self->link);
  cv_share_agent_close_tunnels (self);
}

CvAgentLink *
cv_share_agent_get_link (CvShareAgent *self)
{
  return self->link;
}

CvAgentLinkState
cv_share_agent_get_state (CvShareAgent *self)
{
  return self->state;
}

guint
cv_share_agent_get_n_tunnels (CvShareAgent *self)
{
  return self->tunnels->len;
}

guint
cv_share_agent_get_n_channels (CvShareAgent *self)
{
  return self->n_channels;
}

guint64
cv_share_agent_get_bytes_in (CvShareAgent *self)
{
  return cv_traffic_meter_get_bytes_in (self->traffic);
}

guint64
cv_share_agent_get_bytes_out (CvShareAgent *self)
{
  return cv_traffic_meter_get_bytes_out (self->traffic);
}

CvAllowList *
cv_share_agent_get_allow_list (CvShareAgent *self)
{
  return self->allow;
}

/**
 * cv_share_agent_set_authorized_connect_keys:
 * @keys: (nullable) (array zero-terminated=1): fingerprints ("sha256:…"), in any form
 *   cv_fingerprint_normalize() takes; %NULL or empty: any key the gateway announces
 *
 * Only connect agents whose key is one of @keys may open a tunnel from now on: the key
 * as proved in the tunnel's TLS handshake, whatever the gateway announces.  Tunnels
 * open now stay.
 *
 * Returns: %FALSE, changing nothing, if a fingerprint is malformed
 */
gboolean
cv_share_agent_set_authorized_connect_keys (CvShareAgent *self,
                                            const char *const *keys,
                                            GError **error)
{
  g_autoptr (GPtrArray) normalized = g_ptr_array_new_with_free_func (g_free);

  g_return_val_if_fail (CV_IS_SHARE_AGENT (self), FALSE);

  for (gsize i = 0; keys != NULL && keys[i] != NULL; i++)
    {
      char *key = cv_fingerprint_normalize (keys[i], error);

      if (key == NULL)
        return FALSE;
      g_ptr_array_add (normalized, key);
    }
  g_clear_pointer (&self->authorized_connect_keys, g_strfreev);
  if (normalized->len > 0)
    {
      g_ptr_array_add (normalized, NULL);
      g_ptr_array_set_free_func (normalized, NULL);
      self->authorized_connect_keys = (char **) g_ptr_array_free (g_steal_pointer (&normalized),
                                                                  FALSE);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AUTHORIZED_CONNECT_KEYS]);
  return TRUE;
}

/**
 * cv_share_agent_get_authorized_connect_keys:
 *
 * Returns: (nullable) (transfer none): the normalized fingerprints; %NULL: any key
 */
const char *const *
cv_share_agent_get_authorized_connect_keys (CvShareAgent *self)
{
  return (const char *const *) self->authorized_connect_keys;
}

/**
 * cv_share_agent_get_tunnel:
 * @index: below cv_share_agent_get_n_tunnels()
 * @peer_name: (out) (optional): the connect agent's name, as the gateway announced it
 * @peer_address: (out) (optional): its address, as the gateway saw it
 * @peer_fingerprint: (out) (optional): its key, as the tunnel's handshake proved it
 *
 * Returns: the channels open in tunnel @index
 */
guint
cv_share_agent_get_tunnel (CvShareAgent *self,
                           guint index,
                           const char **peer_name,
                           const char **peer_address,
                           const char **peer_fingerprint)
{
  Tunnel *tunnel;

  g_return_val_if_fail (index < self->tunnels->len, 0);
  tunnel = self->tunnels->pdata[index];
  if (peer_name != NULL)
    *peer_name = tunnel->peer_name;
  if (peer_address != NULL)
    *peer_address = tunnel->peer_address;
  if (peer_fingerprint != NULL)
    *peer_fingerprint = tunnel->peer_fingerprint;
  return tunnel->mux != NULL ? cv_mux_get_n_channels (tunnel->mux) : 0;
}

/**
 * cv_share_agent_add_service:
 *
 * Offers a service, before the agent starts.  Once one is offered, every tunnel is sent
 * the list, must ask by name, and waits for the sharer's consent; the targets of the
 * services it was allowed are then all it may reach (the agent's allow list must hold
 * them too: cv_share_agent_new_from_config() makes it from the services).
 */
void
cv_share_agent_add_service (CvShareAgent *self,
                            const char *name,
                            CvServiceKind kind,
                            const char *host,
                            guint16 port)
{
  g_return_if_fail (cv_service_name_is_valid (name));

  if (self->services == NULL)
    self->services = g_ptr_array_new_with_free_func ((GDestroyNotify) cv_service_info_free);
  g_ptr_array_add (self->services, cv_service_info_new (name, kind, host, port));
}

/* How long a request waits for an answer before it is denied ("timeout"). */
void
cv_share_agent_set_consent_timeout_ms (CvShareAgent *self, guint timeout_ms)
{
  self->consent_timeout_ms = MAX (timeout_ms, 1);
}

gboolean
cv_share_agent_get_consent_pending (CvShareAgent *self)
{
  return !g_queue_is_empty (&self->consent_queue);
}

/**
 * cv_share_agent_accept:
 *
 * The sharer allows the request that "consent-requested" showed last: its tunnel may
 * now reach the services it asked for.
 *
 * Returns: FALSE when no request waits
 */
gboolean
cv_share_agent_accept (CvShareAgent *self)
{
  return cv_share_agent_answer (self, TRUE, NULL);
}

/* The sharer refuses it ("declined"); its tunnel can reach nothing. */
gboolean
cv_share_agent_deny (CvShareAgent *self)
{
  return cv_share_agent_answer (self, FALSE, CV_CONSENT_REASON_DECLINED);
}

/**
 * cv_share_agent_renew_code:
 *
 * After an expiry or a burn: asks the gateway for a new nameplate; "code" changes when
 * it comes.  Returns FALSE when not in code mode, not online, or while a code is in use.
 */
gboolean
cv_share_agent_renew_code (CvShareAgent *self)
{
  g_autoptr (JsonObject) body = json_object_new ();

  if (!cv_agent_link_get_code_mode (self->link) || self->code_state == CV_CODE_STATE_CLAIMED
      || self->code_state == CV_CODE_STATE_CONFIRMED || self->code_state == CV_CODE_STATE_CONSENTED)
    return FALSE;
  cv_share_agent_drop_code (self);
  return cv_agent_link_send (self->link, CV_CONTROL_CODE_RENEW, body);
}

const char *
cv_share_agent_get_code (CvShareAgent *self)
{
  return self->code;
}

gint64
cv_share_agent_get_code_expires (CvShareAgent *self)
{
  return self->code_expires_us;
}

CvCodeState
cv_share_agent_get_code_state (CvShareAgent *self)
{
  return self->code_state;
}

const char *
cv_share_agent_get_verification (CvShareAgent *self)
{
  return self->verification;
}
