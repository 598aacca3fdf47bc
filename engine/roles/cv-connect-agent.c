/* cv-connect-agent.c: the technician's side — mappings listen locally and forward through
 * one tunnel to the share agent.
 *
 * The tunnel opens on first use, stays while the link lives, and reopens when it
 * breaks.  Listeners stay up whatever the gateway does.  A client arriving while the
 * share agent or the gateway is away is held a few seconds ("offline-hold-ms") in case
 * they come back, then refused by a reset with the reason in the log (roles/
 * cv-client-queue.c); one arriving while the share agent's key does not match the pinned
 * one is refused at once.  Never an empty reply, never left hanging.
 *
 * Its state is properties on its main context (the link's): the link's "state", whether
 * the share agent is online and its name, the open channels, the tunnel's round trip,
 * and the mappings as a GListModel of CvMapping.
 *
 * This file holds the object (properties, signals, start and stop), its control link's
 * signals and the public calls; the rest is split by topic, sharing
 * cv-connect-agent-private.h: cv-connect-agent-tunnel.c (waiting clients, channels, the
 * tunnel), cv-connect-agent-services.c (offered services and consent) and
 * cv-connect-agent-codes.c (session codes).
 */
#include "roles/cv-connect-agent-private.h"

#include "roles/cv-refusal.h"
#include "wire/cv-code.h"

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_CHANNEL_OPENED,
  SIGNAL_CHANNEL_CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (CvConnectAgent, cv_connect_agent, G_TYPE_OBJECT)

static gboolean map_service (CvConnectAgent *self,
                             const char *listen_host,
                             guint16 listen_port,
                             const char *name,
                             GError **error);

void
cv_connect_agent_notify (CvConnectAgent *self, guint prop_id)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

void
cv_connect_agent_emit_channel_opened (CvConnectAgent *self, CvMapping *mapping, const char *target)
{
  g_signal_emit (self, signals[SIGNAL_CHANNEL_OPENED], 0, mapping, target);
}

void
cv_connect_agent_emit_channel_closed (CvConnectAgent *self,
                                      CvMapping *mapping,
                                      const char *target,
                                      const GError *error)
{
  g_signal_emit (self, signals[SIGNAL_CHANNEL_CLOSED], 0, mapping, target, error);
}

void
cv_connect_agent_set_round_trip (CvConnectAgent *self, gint64 round_trip_us)
{
  if (round_trip_us == self->round_trip_us)
    return;
  self->round_trip_us = round_trip_us;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ROUND_TRIP_US]);
}

void
cv_connect_agent_set_share (CvConnectAgent *self, gboolean online, const char *name)
{
  if (g_strcmp0 (name, self->share_name) != 0)
    {
      g_free (self->share_name);
      self->share_name = g_strdup (name);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHARE_NAME]);
    }
  if (online != self->share_online)
    {
      self->share_online = online;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHARE_ONLINE]);
    }
}

void
cv_connect_agent_set_code_state (CvConnectAgent *self, CvCodeState state)
{
  if (self->code_state == state)
    return;
  self->code_state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CODE_STATE]);
}

static void
cv_connect_agent_dispose (GObject *object)
{
  CvConnectAgent *self = CV_CONNECT_AGENT (object);

  cv_connect_agent_stop (self);
  if (self->link != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->link, self);
      g_clear_object (&self->link);
    }
  g_clear_object (&self->mappings);
  g_clear_object (&self->services);

  G_OBJECT_CLASS (cv_connect_agent_parent_class)->dispose (object);
}

static void
cv_connect_agent_finalize (GObject *object)
{
  CvConnectAgent *self = CV_CONNECT_AGENT (object);

  g_free (self->known_peers_path);
  g_free (self->share_name);
  g_free (self->last_share_name);
  g_free (self->last_share_fingerprint);
  g_free (self->declined_reason);
  cv_secret_free (self->secret);
  g_free (self->nameplate);
  g_clear_pointer (&self->exchange, cv_code_exchange_free);
  g_free (self->verification);
  g_free (self->bound_share_key);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->waiting, cv_client_queue_free);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (cv_connect_agent_parent_class)->finalize (object);
}

static void
cv_connect_agent_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvConnectAgent *self = CV_CONNECT_AGENT (object);

  switch (prop_id)
    {
    case PROP_LINK:
      g_value_set_object (value, self->link);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_SHARE_ONLINE:
      g_value_set_boolean (value, self->share_online);
      break;
    case PROP_SHARE_NAME:
      g_value_set_string (value, self->share_name);
      break;
    case PROP_N_CHANNELS:
      g_value_set_uint (value, self->n_channels);
      break;
    case PROP_ROUND_TRIP_US:
      g_value_set_int64 (value, self->round_trip_us);
      break;
    case PROP_MAPPINGS:
      g_value_set_object (value, self->mappings);
      break;
    case PROP_SERVICES:
      g_value_set_object (value, self->services);
      break;
    case PROP_CONSENTED:
      g_value_set_boolean (value, self->consented);
      break;
    case PROP_DECLINED_REASON:
      g_value_set_string (value, self->declined_reason);
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
cv_connect_agent_class_init (CvConnectAgentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cv_connect_agent_dispose;
  object_class->finalize = cv_connect_agent_finalize;
  object_class->get_property = cv_connect_agent_get_property;

  /* The control link; its "next-retry-time", "refusal" and "last-error" say more. */
  properties[PROP_LINK] = g_param_spec_object ("link", NULL, NULL, CV_TYPE_AGENT_LINK, READ_FLAGS);
  /* The link's "state", notified after it. */
  properties[PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, CV_TYPE_AGENT_LINK_STATE,
                                              CV_AGENT_LINK_STATE_STOPPED, READ_FLAGS);
  /* Whether the share agent of the session is online, as the gateway says (PRESENCE). */
  properties[PROP_SHARE_ONLINE] = g_param_spec_boolean ("share-online", NULL, NULL, FALSE,
                                                        READ_FLAGS);
  properties[PROP_SHARE_NAME] = g_param_spec_string ("share-name", NULL, NULL, NULL, READ_FLAGS);
  /* Channels started through the tunnel and not closed yet, over every mapping. */
  properties[PROP_N_CHANNELS] = g_param_spec_uint ("n-channels", NULL, NULL, 0, G_MAXUINT, 0,
                                                   READ_FLAGS);
  /* The tunnel's round trip from its last PING, in µs; -1 without a tunnel or a PONG yet. */
  properties[PROP_ROUND_TRIP_US] = g_param_spec_int64 ("round-trip-us", NULL, NULL, -1, G_MAXINT64,
                                                       -1, READ_FLAGS);
  /* A GListModel of CvMapping, in the order they were added. */
  properties[PROP_MAPPINGS] = g_param_spec_object ("mappings", NULL, NULL, G_TYPE_LIST_MODEL,
                                                   READ_FLAGS);
  /* A GListModel of CvService: what the share agent offers, as its last SERVICES said. */
  properties[PROP_SERVICES] = g_param_spec_object ("services", NULL, NULL, G_TYPE_LIST_MODEL,
                                                   READ_FLAGS);
  /* The sharer allowed this tunnel the mapped services (service mappings only). */
  properties[PROP_CONSENTED] = g_param_spec_boolean ("consented", NULL, NULL, FALSE, READ_FLAGS);
  /* "declined", "timeout" or "not-offered" once the sharer refused; NULL before. */
  properties[PROP_DECLINED_REASON] = g_param_spec_string ("declined-reason", NULL, NULL, NULL,
                                                          READ_FLAGS);
  properties[PROP_CODE_STATE] = g_param_spec_enum ("code-state", NULL, NULL, CV_TYPE_CODE_STATE,
                                                   CV_CODE_STATE_NONE, READ_FLAGS);
  /* Once both keys are confirmed: the string both people compare ("123 456"). */
  properties[PROP_VERIFICATION] = g_param_spec_string ("verification", NULL, NULL, NULL,
                                                       READ_FLAGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * CvConnectAgent::channel-opened:
   * @mapping: the mapping a local client came to
   * @target: "host:port" as the share agent sees it
   *
   * A local client's channel was started through the tunnel.
   */
  signals[SIGNAL_CHANNEL_OPENED] = g_signal_new ("channel-opened", G_TYPE_FROM_CLASS (klass),
                                                 G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                 G_TYPE_NONE, 2, CV_TYPE_MAPPING, G_TYPE_STRING);
  /**
   * CvConnectAgent::channel-closed:
   * @mapping: the mapping
   * @target: "host:port"
   * @error: (nullable): why it ended (the share agent refused, the tunnel broke…); NULL
   *   after a clean close
   */
  signals[SIGNAL_CHANNEL_CLOSED] = g_signal_new ("channel-closed", G_TYPE_FROM_CLASS (klass),
                                                 G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                 G_TYPE_NONE, 3, CV_TYPE_MAPPING, G_TYPE_STRING,
                                                 G_TYPE_ERROR);
}

static void
cv_connect_agent_init (CvConnectAgent *self)
{
  self->mappings = g_list_store_new (CV_TYPE_MAPPING);
  self->services = g_list_store_new (CV_TYPE_SERVICE);
  self->cancellable = g_cancellable_new ();
  self->round_trip_us = -1;
  self->offline_hold_ms = CV_CONNECT_DEFAULT_OFFLINE_HOLD_MS;
}

/* ---- the control link --------------------------------------------------- */

/* A refused claim (bad-code, code-expired) stops the link for good. */
static void
on_link_stopped (CvAgentLink *link, const GError *error, CvConnectAgent *self)
{
  if (!cv_agent_link_get_code_mode (link) || self->code_state == CV_CODE_STATE_BURNED)
    return;
  cv_connect_agent_set_code_state (self, g_error_matches (error, CV_REFUSAL_ERROR,
                                                          CV_REFUSAL_CODE_EXPIRED)
                                           ? CV_CODE_STATE_EXPIRED
                                           : CV_CODE_STATE_BURNED);
  cv_connect_agent_fail_waiting (self, error->message);
}

static void
on_link_ready (CvAgentLink *link, JsonObject *welcome, CvConnectAgent *self)
{
  if (cv_agent_link_get_code_mode (link))
    cv_connect_agent_on_code_welcome (self, welcome);
  else
    cv_connect_agent_update_presence (self, welcome);
}

static void
on_link_message (CvAgentLink *link, guint type, JsonObject *body, CvConnectAgent *self)
{
  if (cv_agent_link_get_code_mode (link) && cv_connect_agent_on_code_message (self, type, body))
    return;
  if (type == CV_CONTROL_PRESENCE)
    cv_connect_agent_update_presence (self, body);
  else if (type == CV_CONTROL_TUNNEL_OFFER)
    cv_connect_agent_on_tunnel_offer (self, body);
}

static void
on_link_lost (CvAgentLink *link, const GError *error, CvConnectAgent *self)
{
  cv_connect_agent_set_share (self, FALSE, self->share_name);
  cv_connect_agent_hold_waiting (self);
}

static void
on_link_state (CvAgentLink *link, GParamSpec *pspec, CvConnectAgent *self)
{
  self->state = cv_agent_link_get_state (link);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

/* ---- public ------------------------------------------------------------- */

/**
 * cv_connect_agent_new:
 * @link: (transfer full): a control link in the connect role, not started; the agent runs
 *   on its main context
 * @known_peers_path: where share agents' keys are pinned
 */
CvConnectAgent *
cv_connect_agent_new (CvAgentLink *link, const char *known_peers_path)
{
  CvConnectAgent *self = g_object_new (CV_TYPE_CONNECT_AGENT, NULL);

  self->context = g_main_context_ref (cv_agent_link_get_main_context (link));
  self->link = link;
  self->state = cv_agent_link_get_state (link);
  self->known_peers_path = g_strdup (known_peers_path);
  self->waiting = cv_client_queue_new (self->context, MAX_WAITING, cv_connect_agent_why_no_tunnel,
                                       self);
  g_signal_connect (link, "ready", G_CALLBACK (on_link_ready), self);
  g_signal_connect (link, "message", G_CALLBACK (on_link_message), self);
  g_signal_connect (link, "lost", G_CALLBACK (on_link_lost), self);
  g_signal_connect (link, "stopped", G_CALLBACK (on_link_stopped), self);
  g_signal_connect (link, "notify::state", G_CALLBACK (on_link_state), self);
  return self;
}

/**
 * cv_connect_agent_new_from_config:
 * @context: (nullable): where the agent runs; NULL: the thread-default context
 *
 * The agent's key comes from the config's state_dir, the pinned share agents' keys are
 * in "known_shares" there; every mapping listens at once.
 *
 * Returns: (transfer full): the agent, not started; or NULL if the config lacks
 *   something, the password or the key cannot be read, or a mapping cannot listen
 */
CvConnectAgent *
cv_connect_agent_new_from_config (const CvConnectConfig *config,
                                  GMainContext *context,
                                  GError **error)
{
  g_autoptr (CvConnectAgent) self = NULL;
  g_autofree char *known = NULL;
  CvAgentLink *link;

  link = cv_agent_link_new_from_config (&config->agent, CV_AGENT_ROLE_CONNECT, context, error);
  if (link == NULL)
    return NULL;
  known = g_build_filename (config->agent.state_dir, "known_shares", NULL);
  self = cv_connect_agent_new (link, known);
  self->offline_hold_ms = config->offline_hold_ms;
  if (config->agent.code_mode && !cv_connect_agent_set_code (self, config->agent.code, error))
    return NULL;
  for (guint i = 0; i < config->mappings->len; i++)
    {
      const CvMappingConfig *mapping = config->mappings->pdata[i];

      if (mapping->service != NULL
            ? !map_service (self, mapping->listen_host, mapping->listen_port, mapping->service,
                            error)
            : !cv_connect_agent_add_mapping (self, mapping->listen_host, mapping->listen_port,
                                             mapping->target_host, mapping->target_port, error))
        return NULL;
    }
  return g_steal_pointer (&self);
}

/**
 * cv_connect_agent_add_mapping:
 * @listen_port: 0 for any free port ("bound-port" of the mapping says which)
 *
 * Starts listening at once, whatever the state of the gateway.  The mapping joins
 * "mappings" even when it cannot listen, with the reason in its "error".
 */
gboolean
cv_connect_agent_add_mapping (CvConnectAgent *self,
                              const char *listen_host,
                              guint16 listen_port,
                              const char *target_host,
                              guint16 target_port,
                              GError **error)
{
  g_autoptr (CvMapping) mapping = cv_mapping_new (listen_host, listen_port, target_host,
                                                  target_port, self->context);
  gboolean listening;

  g_return_val_if_fail (!self->stopped, FALSE);

  g_signal_connect (mapping, "incoming", G_CALLBACK (cv_connect_agent_on_local_connection), self);
  listening = cv_mapping_listen (mapping, error);
  g_list_store_append (self->mappings, mapping);
  return listening;
}

/**
 * cv_connect_agent_remove_mapping:
 *
 * Closes @mapping's listener and drops it from "mappings": for one that could not listen
 * (its port was taken) and is added again on another port.  Channels it opened, and its
 * clients waiting for the tunnel, go on to their end.  Nothing happens if @mapping is not
 * one of this agent's.
 */
void
cv_connect_agent_remove_mapping (CvConnectAgent *self, CvMapping *mapping)
{
  guint position;

  g_return_if_fail (CV_IS_CONNECT_AGENT (self));
  g_return_if_fail (CV_IS_MAPPING (mapping));

  if (!g_list_store_find (self->mappings, mapping, &position))
    return;
  g_signal_handlers_disconnect_by_data (mapping, self);
  cv_mapping_stop (mapping);
  g_list_store_remove (self->mappings, position);
}

static gboolean
map_service (CvConnectAgent *self,
             const char *listen_host,
             guint16 listen_port,
             const char *name,
             GError **error)
{
  g_autoptr (CvMapping) mapping = cv_mapping_new_for_service (listen_host, listen_port, name,
                                                              self->context);
  gboolean listening;

  g_return_val_if_fail (!self->stopped, FALSE);
  g_return_val_if_fail (cv_service_name_is_valid (name), FALSE);

  self->by_service = TRUE;
  g_signal_connect (mapping, "incoming", G_CALLBACK (cv_connect_agent_on_local_connection), self);
  listening = cv_mapping_listen (mapping, error);
  g_list_store_append (self->mappings, mapping);
  return listening;
}

/**
 * cv_connect_agent_map_service:
 * @name: the name of a service the share agent offers
 * @listen_port: on 127.0.0.1; 0 for any free port ("bound-port" of the mapping says which)
 *
 * Like cv_connect_agent_add_mapping(), for a service by name: its target comes from the
 * share agent's SERVICES, and no channel goes through before the sharer consents.
 */
gboolean
cv_connect_agent_map_service (CvConnectAgent *self,
                              const char *name,
                              guint16 listen_port,
                              GError **error)
{
  return map_service (self, "127.0.0.1", listen_port, name, error);
}

GListModel *
cv_connect_agent_get_services (CvConnectAgent *self)
{
  return G_LIST_MODEL (self->services);
}

gboolean
cv_connect_agent_get_consented (CvConnectAgent *self)
{
  return self->consented;
}

const char *
cv_connect_agent_get_declined_reason (CvConnectAgent *self)
{
  return self->declined_reason;
}

void
cv_connect_agent_start (CvConnectAgent *self)
{
  g_return_if_fail (!self->stopped);

  cv_agent_link_start (self->link);
}

/**
 * cv_connect_agent_stop:
 *
 * Stops the link, closes the tunnel, every channel and every listener; idempotent.  A
 * stopped agent does not start again.
 */
void
cv_connect_agent_stop (CvConnectAgent *self)
{
  if (self->stopped)
    return;
  self->stopped = TRUE;
  g_cancellable_cancel (self->cancellable);
  cv_connect_agent_fail_waiting (self, "the agent is stopping");
  /* The link first: its GOAWAY tells the gateway who ends the tunnel that follows. */
  if (self->link != NULL)
    cv_agent_link_stop (self->link);
  cv_connect_agent_drop_tunnel (self);
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->mappings)); i++)
    {
      g_autoptr (CvMapping) mapping = g_list_model_get_item (G_LIST_MODEL (self->mappings), i);

      g_signal_handlers_disconnect_by_data (mapping, self);
      cv_mapping_stop (mapping);
    }
}

/**
 * cv_connect_agent_set_offline_hold_ms:
 * @hold_ms: how long a local client that arrives while the share agent or the gateway is
 *   away waits for them before it is refused; 0: refused at once
 */
void
cv_connect_agent_set_offline_hold_ms (CvConnectAgent *self, guint hold_ms)
{
  self->offline_hold_ms = hold_ms;
}

CvAgentLink *
cv_connect_agent_get_link (CvConnectAgent *self)
{
  return self->link;
}

GListModel *
cv_connect_agent_get_mappings (CvConnectAgent *self)
{
  return G_LIST_MODEL (self->mappings);
}

CvAgentLinkState
cv_connect_agent_get_state (CvConnectAgent *self)
{
  return self->state;
}

gboolean
cv_connect_agent_get_share_online (CvConnectAgent *self)
{
  return self->share_online;
}

const char *
cv_connect_agent_get_share_name (CvConnectAgent *self)
{
  return self->share_name;
}

guint
cv_connect_agent_get_n_channels (CvConnectAgent *self)
{
  return self->n_channels;
}

/* The online share agent's key fingerprint, or NULL while none is online. */
const char *
cv_connect_agent_get_share_fingerprint (CvConnectAgent *self)
{
  return self->share_online ? self->last_share_fingerprint : NULL;
}

/* Whether the tunnel to the share agent is up. */
gboolean
cv_connect_agent_has_tunnel (CvConnectAgent *self)
{
  return self->tunnel != NULL && !cv_mux_is_closed (self->tunnel);
}

gint64
cv_connect_agent_get_round_trip_us (CvConnectAgent *self)
{
  return self->round_trip_us;
}

/**
 * cv_connect_agent_set_code:
 * @code: a session code as typed ("482-913-557"; spaces or dashes)
 *
 * Before the agent starts: reach the share agent by a code instead of a session and its
 * password.  Map its services with cv_connect_agent_map_service().
 *
 * Returns: FALSE with an error when @code is not a code
 */
gboolean
cv_connect_agent_set_code (CvConnectAgent *self, const char *code, GError **error)
{
  g_autofree char *nameplate = NULL;
  char *secret = NULL;

  g_return_val_if_fail (!self->stopped, FALSE);

  if (!cv_code_parse (code, &nameplate, &secret, error))
    return FALSE;
  cv_agent_link_set_code_mode (self->link, nameplate);
  g_free (self->nameplate);
  self->nameplate = g_steal_pointer (&nameplate);
  cv_secret_free (self->secret);
  self->secret = secret;
  cv_connect_agent_set_code_state (self, CV_CODE_STATE_WAITING);
  return TRUE;
}

CvCodeState
cv_connect_agent_get_code_state (CvConnectAgent *self)
{
  return self->code_state;
}

const char *
cv_connect_agent_get_verification (CvConnectAgent *self)
{
  return self->verification;
}
