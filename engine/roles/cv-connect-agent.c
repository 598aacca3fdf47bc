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
 */
#include "roles/cv-connect-agent.h"

#include "base/cv-log-escape.h"
#include "base/cv-source.h"
#include "mux/cv-channel-pump.h"
#include "roles/cv-agent-context.h"
#include "roles/cv-agent-tunnel.h"
#include "roles/cv-client-queue.h"
#include "roles/cv-refusal.h"
#include "roles/cv-service.h"
#include "transport/cv-known-peers.h"
#include "auth/cv-code-exchange.h"
#include "roles/cv-code-state.h"
#include "wire/cv-code.h"
#include "wire/cv-services.h"

#include <sodium.h>
#include <string.h>

#define MAX_WAITING 512
#define TUNNEL_TIMEOUT_MS 20000

struct _CvConnectAgent {
  GObject parent_instance;

  GMainContext *context;
  CvAgentLink *link;
  char *known_peers_path;
  GListStore *mappings;   /* of CvMapping */
  CvClientQueue *waiting; /* clients that arrived before the tunnel */
  guint offline_hold_ms;
  CvMux *tunnel;
  gboolean tunnel_requested;
  GSource *tunnel_timer;
  GCancellable *cancellable;
  gboolean stopped;

  CvAgentLinkState state;
  gboolean share_online;
  char *share_name;
  /* The last share agent the gateway announced online, kept while it is away: one that
   * comes back is no news, another one is. */
  char *last_share_name;
  char *last_share_fingerprint;
  guint n_channels;
  gint64 round_trip_us;

  /* Mapped by service name (cv_connect_agent_map_service()): then every tunnel first
   * learns the offered services, asks for the mapped ones, and carries nothing until the
   * sharer consents. */
  gboolean by_service;
  GListStore *services;       /* of CvService, from the last SERVICES */
  gboolean service_requested; /* on this tunnel */
  gboolean consented;         /* on this tunnel */
  char *declined_reason;      /* the sharer refused: final for this agent */

  /* Session codes (cv_connect_agent_set_code()): the secret typed, the PAKE with the
   * share agent the gateway names, and the share key it bound, which is the only one a
   * tunnel may present (instead of known_shares' pins). */
  char *nameplate;
  char *secret; /* wiped when dropped */
  CvCodeExchange *exchange;
  CvCodeState code_state;
  char *verification;
  char *bound_share_key;
};

enum {
  PROP_0,
  PROP_LINK,
  PROP_STATE,
  PROP_SHARE_ONLINE,
  PROP_SHARE_NAME,
  PROP_N_CHANNELS,
  PROP_ROUND_TRIP_US,
  PROP_MAPPINGS,
  PROP_SERVICES,
  PROP_CONSENTED,
  PROP_DECLINED_REASON,
  PROP_CODE_STATE,
  PROP_VERIFICATION,
  N_PROPS
};

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

static void
set_round_trip (CvConnectAgent *self, gint64 round_trip_us)
{
  if (round_trip_us == self->round_trip_us)
    return;
  self->round_trip_us = round_trip_us;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ROUND_TRIP_US]);
}

static void
set_share (CvConnectAgent *self, gboolean online, const char *name)
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

static void
set_code_state (CvConnectAgent *self, CvCodeState state)
{
  if (self->code_state == state)
    return;
  self->code_state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CODE_STATE]);
}

/* Refuse every waiting client: the tunnel will not come. */
static void
fail_waiting (CvConnectAgent *self, const char *why)
{
  g_autoptr (GError) error = g_error_new_literal (CV_AGENT_ERROR, CV_AGENT_ERROR_LOST, why);

  cv_source_clear (&self->tunnel_timer);
  self->tunnel_requested = FALSE;
  if (self->waiting != NULL)
    cv_client_queue_refuse_all (self->waiting, error);
}

/* Why a client cannot have a tunnel now; for a held client whose time is up. */
static GError *
why_no_tunnel (gpointer user_data)
{
  CvConnectAgent *self = user_data;

  if (!cv_agent_link_is_ready (self->link))
    return g_error_new (CV_AGENT_ERROR, CV_AGENT_ERROR_UNREACHABLE, "the gateway is not reachable");
  if (!self->share_online && cv_agent_link_get_code_mode (self->link))
    return g_error_new (CV_AGENT_ERROR, CV_AGENT_ERROR_LOST,
                        "the code is not confirmed with the share agent yet");
  if (!self->share_online)
    return g_error_new (CV_REFUSAL_ERROR, CV_REFUSAL_SHARE_OFFLINE,
                        "the share agent of session “%s” is offline",
                        cv_agent_link_get_session (self->link));
  if (self->tunnel != NULL && self->by_service)
    return g_error_new (CV_AGENT_ERROR, CV_AGENT_ERROR_LOST, "the sharer has not answered yet");
  return g_error_new (CV_AGENT_ERROR, CV_AGENT_ERROR_LOST, "no tunnel to the share agent yet");
}

static GError *
declined_error (CvConnectAgent *self)
{
  return g_error_new (CV_AGENT_ERROR, CV_AGENT_ERROR_LOST, "the sharer declined (%s)",
                      self->declined_reason);
}

/* The share agent or the gateway is away: the tunnel will not come soon, but they may be
 * back in a moment (a restart, a blink of the network).  Waiting clients are held. */
static void
hold_waiting (CvConnectAgent *self)
{
  cv_source_clear (&self->tunnel_timer);
  self->tunnel_requested = FALSE;
  if (self->waiting != NULL)
    cv_client_queue_hold (self->waiting, self->offline_hold_ms);
}

static void
drop_tunnel (CvConnectAgent *self)
{
  if (self->tunnel != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->tunnel, self);
      if (!cv_mux_is_closed (self->tunnel))
        cv_mux_close (self->tunnel);
      g_clear_object (&self->tunnel);
    }
  self->service_requested = FALSE;
  if (self->consented)
    {
      self->consented = FALSE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONSENTED]);
    }
  set_round_trip (self, -1);
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
  if (self->secret != NULL)
    sodium_memzero (self->secret, strlen (self->secret));
  g_free (self->secret);
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

/* ---- forwarding --------------------------------------------------------- */

typedef struct {
  CvConnectAgent *agent;
  CvMapping *mapping;
  CvChannel *channel;
  char *target;
  char *client; /* the local client's address, for the log */
  gint64 started_us;
} Forward;

/* "127.0.0.1:40312", or "?" for a socket that no longer knows its peer. */
static char *
describe_client (GSocketConnection *connection)
{
  g_autoptr (GSocketAddress) address = g_socket_connection_get_remote_address (connection, NULL);
  GInetAddress *inet;
  g_autofree char *host = NULL;

  if (!G_IS_INET_SOCKET_ADDRESS (address))
    return g_strdup ("?");
  inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
  host = g_inet_address_to_string (inet);
  return g_strdup_printf (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6 ? "[%s]:%u"
                                                                                   : "%s:%u",
                          host, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address)));
}

static void
set_n_channels (CvConnectAgent *self, guint n_channels)
{
  self->n_channels = n_channels;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_CHANNELS]);
}

static void
on_pump_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Forward *forward = user_data;
  CvConnectAgent *self = forward->agent;
  g_autoptr (GError) error = NULL;
  CvPumpStats stats = { 0 };

  gboolean ok = cv_channel_pump_finish (result, &stats, &error);

  /* One line per channel at each end, in the same words as the share agent's. */
  g_message ("channel %u from %s to %s closed after %.1f s: %" G_GUINT64_FORMAT
             " bytes out, %" G_GUINT64_FORMAT " bytes in%s%s",
             cv_channel_get_id (forward->channel), forward->client, forward->target,
             (g_get_monotonic_time () - forward->started_us) / 1e6, stats.bytes_to_channel,
             stats.bytes_from_channel, ok ? "" : ": ", ok ? "" : error->message);
  cv_mapping_channel_closed (forward->mapping, forward->channel, &stats, error);
  set_n_channels (self, self->n_channels - 1);
  g_signal_emit (self, signals[SIGNAL_CHANNEL_CLOSED], 0, forward->mapping, forward->target, error);
  g_object_unref (forward->agent);
  g_object_unref (forward->mapping);
  g_object_unref (forward->channel);
  g_free (forward->target);
  g_free (forward->client);
  g_free (forward);
}

/* A tunnel that may carry channels: open, and consented to when mapped by service. */
static gboolean
tunnel_usable (CvConnectAgent *self)
{
  return self->tunnel != NULL && (!self->by_service || self->consented);
}

static void
forward (CvConnectAgent *self, GSocketConnection *connection, CvMapping *mapping)
{
  g_autoptr (GMainContextPusher) pusher = g_main_context_pusher_new (self->context);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvChannel) channel = NULL;
  Forward *forward;

  if (cv_mapping_get_target_host (mapping) == NULL)
    {
      g_autoptr (GError) why = g_error_new (CV_AGENT_ERROR, CV_AGENT_ERROR_LOST,
                                            "the share agent does not offer “%s”",
                                            cv_mapping_get_service_name (mapping));
      cv_client_refuse (connection, mapping, why);
      return;
    }
  channel = cv_mux_open_channel (self->tunnel, cv_mapping_get_target_host (mapping),
                                 cv_mapping_get_target_port (mapping), &error);
  if (channel == NULL)
    {
      g_message ("cannot forward to %s:%u: %s", cv_mapping_get_target_host (mapping),
                 cv_mapping_get_target_port (mapping), error->message);
      cv_mapping_set_error (mapping, error);
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      return;
    }
  forward = g_new0 (Forward, 1);
  forward->agent = g_object_ref (self);
  forward->mapping = g_object_ref (mapping);
  forward->channel = g_object_ref (channel);
  forward->target = cv_mapping_dup_target (mapping);
  forward->client = describe_client (connection);
  forward->started_us = g_get_monotonic_time ();
  g_message ("channel %u from %s to %s open", cv_channel_get_id (channel), forward->client,
             forward->target);
  cv_mapping_channel_opened (mapping, channel);
  set_n_channels (self, self->n_channels + 1);
  g_signal_emit (self, signals[SIGNAL_CHANNEL_OPENED], 0, mapping, forward->target);
  cv_channel_pump_async (connection, channel, self->cancellable, on_pump_done, forward);
}

static void
forward_waiting (GSocketConnection *connection, CvMapping *mapping, gpointer user_data)
{
  CvConnectAgent *self = user_data;

  if (tunnel_usable (self))
    forward (self, connection, mapping);
  else
    {
      g_autoptr (GError) error = why_no_tunnel (self);
      cv_client_refuse (connection, mapping, error);
    }
}

static void
flush_waiting (CvConnectAgent *self)
{
  cv_source_clear (&self->tunnel_timer);
  self->tunnel_requested = FALSE;
  cv_client_queue_forward_all (self->waiting, forward_waiting, self);
}

static gboolean
on_tunnel_timeout (gpointer user_data)
{
  CvConnectAgent *self = user_data;

  g_clear_pointer (&self->tunnel_timer, g_source_unref);
  fail_waiting (self, "no tunnel to the share agent within 20 s");
  return G_SOURCE_REMOVE;
}

static void
request_tunnel (CvConnectAgent *self)
{
  g_autoptr (JsonObject) body = json_object_new ();

  if (self->tunnel_requested)
    return;
  if (!cv_agent_link_send (self->link, CV_CONTROL_TUNNEL_REQUEST, body))
    {
      hold_waiting (self);
      return;
    }
  self->tunnel_requested = TRUE;
  /* The share agent is online: the tunnel's own timeout is the clients' deadline now. */
  cv_client_queue_clear_deadlines (self->waiting);
  self->tunnel_timer = cv_agent_timeout_add (self->context, TUNNEL_TIMEOUT_MS, on_tunnel_timeout,
                                             self, "[culvert] connect agent tunnel timeout");
}

static void
on_local_connection (CvMapping *mapping, GSocketConnection *connection, CvConnectAgent *self)
{
  if (self->declined_reason != NULL)
    {
      g_autoptr (GError) error = declined_error (self);
      cv_client_refuse (connection, mapping, error);
      return;
    }
  if (tunnel_usable (self))
    {
      forward (self, connection, mapping);
      return;
    }
  if (!cv_client_queue_push (self->waiting, connection, mapping))
    {
      g_autoptr (GError) error = g_error_new (CV_REFUSAL_ERROR, CV_REFUSAL_LIMIT_REACHED,
                                              "%u connections already wait for the tunnel",
                                              MAX_WAITING);
      cv_client_refuse (connection, mapping, error);
      return;
    }
  /* Open, waiting for the sharer's answer: the client waits with it. */
  if (self->tunnel != NULL)
    return;
  if (cv_agent_link_is_ready (self->link) && self->share_online)
    {
      request_tunnel (self);
      return;
    }
  if (self->offline_hold_ms > 0)
    {
      g_autoptr (GError) why = why_no_tunnel (self);
      g_autofree char *target = cv_mapping_dup_target (mapping);

      g_info ("connection to %s held up to %.1f s: %s", target, self->offline_hold_ms / 1000.0,
              why->message);
    }
  hold_waiting (self);
}

/* ---- the tunnel --------------------------------------------------------- */

/* ---- offered services and consent --------------------------------------- */

static CvService *
find_service (CvConnectAgent *self, const char *name)
{
  GListModel *model = G_LIST_MODEL (self->services);

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr (CvService) service = g_list_model_get_item (model, i);

      if (g_str_equal (cv_service_get_name (service), name))
        return service; /* the store holds it */
    }
  return NULL;
}

static void
set_declined (CvConnectAgent *self, const char *reason)
{
  g_autofree char *why = NULL;

  g_free (self->declined_reason);
  self->declined_reason = g_strdup (reason);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DECLINED_REASON]);
  if (self->code_state != CV_CODE_STATE_NONE)
    set_code_state (self, CV_CODE_STATE_DECLINED);
  why = g_strdup_printf ("the sharer declined (%s)", reason);
  g_message ("%s", why);
  fail_waiting (self, why);
  drop_tunnel (self);
}

/* SERVICES: learn what is offered, point each service mapping at its target, and ask
 * for the mapped ones. */
static void
on_services (CvConnectAgent *self, GBytes *json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) infos = cv_services_parse (json, &error);
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GStrvBuilder) names = g_strv_builder_new ();
  g_auto (GStrv) request = NULL;
  g_autofree char *body = NULL;
  GListModel *mappings = G_LIST_MODEL (self->mappings);
  guint n_asked = 0;

  if (infos == NULL)
    {
      g_message ("the share agent's service list is malformed: %s", error->message);
      fail_waiting (self, "the share agent's service list is malformed");
      drop_tunnel (self);
      return;
    }
  if (self->service_requested)
    return;
  for (guint i = 0; i < infos->len; i++)
    g_ptr_array_add (items, cv_service_new (infos->pdata[i]));
  g_list_store_splice (self->services, 0, g_list_model_get_n_items (G_LIST_MODEL (self->services)),
                       items->pdata, items->len);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SERVICES]);
  for (guint i = 0; i < g_list_model_get_n_items (mappings); i++)
    {
      g_autoptr (CvMapping) mapping = g_list_model_get_item (mappings, i);
      const char *name = cv_mapping_get_service_name (mapping);
      CvService *service = name != NULL ? find_service (self, name) : NULL;

      if (name == NULL)
        continue;
      if (service == NULL)
        {
          g_autoptr (GError) missing = g_error_new (CV_AGENT_ERROR, CV_AGENT_ERROR_LOST,
                                                    "the share agent does not offer “%s”", name);
          g_message ("%s", missing->message);
          cv_mapping_set_error (mapping, missing);
          continue;
        }
      cv_mapping_set_target (mapping, cv_service_get_host (service), cv_service_get_port (service));
      g_strv_builder_add (names, name);
      n_asked++;
    }
  if (n_asked == 0)
    {
      set_declined (self, CV_CONSENT_REASON_NOT_OFFERED);
      return;
    }
  request = g_strv_builder_end (names);
  body = cv_service_request_build ((const char *const *) request);
  if (!cv_mux_send_control (self->tunnel, CV_TUNNEL_CONTROL_SERVICE_REQUEST, body, &error))
    {
      g_message ("the service request could not be sent: %s", error->message);
      return;
    }
  self->service_requested = TRUE;
  g_message ("asked the sharer for %u service%s; waiting for their answer", n_asked,
             n_asked == 1 ? "" : "s");
}

static void
on_consent (CvConnectAgent *self, GBytes *json)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *reason = NULL;
  gboolean accepted = FALSE;

  if (!self->service_requested || self->consented)
    return;
  if (!cv_consent_parse (json, &accepted, &reason, &error))
    {
      g_message ("the sharer's answer is malformed: %s", error->message);
      fail_waiting (self, "the sharer's answer is malformed");
      drop_tunnel (self);
      return;
    }
  if (!accepted)
    {
      set_declined (self, reason);
      return;
    }
  self->consented = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONSENTED]);
  if (self->code_state == CV_CODE_STATE_CONFIRMED)
    set_code_state (self, CV_CODE_STATE_CONSENTED);
  g_message ("the sharer allowed the requested services");
  flush_waiting (self);
}

/* An agent that maps by address ignores SERVICES: its channels go straight to OPEN, and
 * a share agent that offers services refuses them (not-allowed) until consent, which
 * only a service request asks for. */
static void
on_tunnel_control (CvMux *mux, guint type, GBytes *json, CvConnectAgent *self)
{
  if (!self->by_service)
    g_debug ("tunnel control message 0x%02x ignored: no mapping by service name", type);
  else if (type == CV_TUNNEL_CONTROL_SERVICES)
    on_services (self, json);
  else if (type == CV_TUNNEL_CONTROL_CONSENT)
    on_consent (self, json);
  else
    g_debug ("tunnel control message 0x%02x ignored", type);
}

static void
on_tunnel_closed (CvMux *mux, const GError *error, CvConnectAgent *self)
{
  g_message ("tunnel to the share agent closed%s%s; the next connection reopens it",
             error != NULL ? ": " : "", error != NULL ? error->message : "");
  drop_tunnel (self);
}

static void
on_tunnel_round_trip (CvMux *mux, GParamSpec *pspec, CvConnectAgent *self)
{
  set_round_trip (self, cv_mux_get_round_trip_us (mux));
}

/* The gateway announces the share agent's key; it must be the one pinned for this
 * session, or, on first use (*@first_use), it is pinned once the tunnel's TLS
 * handshake has proved the share agent holds it (@pin: TRUE then).  A key that changed
 * is no network accident (a reinstalled share agent, or someone in the middle): a
 * warning. */
static gboolean
check_share_key (CvConnectAgent *self, const char *fingerprint, gboolean pin, gboolean *first_use)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *pinned = NULL;
  const char *session = cv_agent_link_get_session (self->link);
  CvKnownPeerResult result;

  /* With a code, the key is the one the PAKE confirmed, or none: nothing is pinned. */
  if (cv_agent_link_get_code_mode (self->link))
    {
      if (first_use != NULL)
        *first_use = FALSE;
      if (self->bound_share_key != NULL && g_str_equal (fingerprint, self->bound_share_key))
        return TRUE;
      g_message ("WARNING: the gateway offered a tunnel to key %s, not the one the code "
                 "confirmed (%s); refused",
                 fingerprint, self->bound_share_key != NULL ? self->bound_share_key : "none");
      return FALSE;
    }
  result = pin
             ? cv_known_peers_check (self->known_peers_path, session, fingerprint, &pinned, &error)
             : cv_known_peers_lookup (self->known_peers_path, session, fingerprint, &pinned,
                                      &error);

  if (first_use != NULL)
    *first_use = result == CV_KNOWN_PEER_NEW;
  switch (result)
    {
    case CV_KNOWN_PEER_NEW:
      if (pin)
        g_message ("session “%s”: share agent key %s pinned on first use, the tunnel's TLS "
                   "handshake having proved it (in %s)",
                   session, fingerprint, self->known_peers_path);
      return TRUE;
    case CV_KNOWN_PEER_MATCH:
      return TRUE;
    case CV_KNOWN_PEER_CHANGED:
    default:
      /* A message, not a g_warning: refusing is the defence working, and the words
       * (with "WARNING:" in them) carry the alarm to whoever reads the log. */
      if (error != NULL)
        g_message ("session “%s”: cannot check the share agent's key: %s", session, error->message);
      else
        g_message ("WARNING: session “%s”: the share agent's key CHANGED from %s to %s; "
                   "refusing to connect. If the share agent was reinstalled, delete the line "
                   "for “%s” in %s",
                   session, pinned, fingerprint, session, self->known_peers_path);
      return FALSE;
    }
}

/* A tunnel being opened for an offer: the key it must prove, and whether it is to be
 * pinned once proved. */
typedef struct {
  CvConnectAgent *agent;
  char *fingerprint;
  gboolean first_use;
} TunnelOpen;

static void
tunnel_open_free (TunnelOpen *open)
{
  g_object_unref (open->agent);
  g_free (open->fingerprint);
  g_free (open);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (TunnelOpen, tunnel_open_free)

static void
on_tunnel_open (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (TunnelOpen) open = user_data;
  CvConnectAgent *self = open->agent;
  g_autoptr (GError) error = NULL;
  g_autoptr (GIOStream) stream = cv_agent_tunnel_open_finish (result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->stopped)
    return;
  if (stream == NULL)
    {
      g_message ("%s", error->message);
      fail_waiting (self, "the tunnel could not be opened");
      return;
    }
  if (self->tunnel != NULL)
    {
      /* Two offers crossed; keep the tunnel that already carries channels. */
      g_io_stream_close (stream, NULL, NULL);
      flush_waiting (self);
      return;
    }
  /* The handshake verified the key: now it may be pinned (unless, meanwhile, another
   * one was). */
  if (open->first_use && !check_share_key (self, open->fingerprint, TRUE, NULL))
    {
      g_io_stream_close (stream, NULL, NULL);
      fail_waiting (self, "the share agent's key is not the pinned one");
      return;
    }
  {
    g_autoptr (GMainContextPusher) pusher = g_main_context_pusher_new (self->context);
    self->tunnel = cv_mux_new (stream, CV_MUX_ROLE_INITIATOR, NULL);
  }
  g_signal_connect (self->tunnel, "closed", G_CALLBACK (on_tunnel_closed), self);
  g_signal_connect (self->tunnel, "notify::round-trip-us", G_CALLBACK (on_tunnel_round_trip), self);
  g_signal_connect (self->tunnel, "control-message", G_CALLBACK (on_tunnel_control), self);
  cv_mux_start (self->tunnel);
  g_message ("tunnel to share agent “%s” open, end-to-end TLS verified",
             self->share_name != NULL ? self->share_name : "?");
  if (self->by_service)
    {
      /* The clients wait for the sharer, who is a person: the tunnel's 20 s are over,
       * and the share agent's consent timeout bounds the wait. */
      cv_source_clear (&self->tunnel_timer);
      self->tunnel_requested = FALSE;
      return;
    }
  flush_waiting (self);
}

static void
on_tunnel_offer (CvConnectAgent *self, JsonObject *body)
{
  const char *error_reason = cv_control_get_string (body, "error", 64, FALSE, NULL);
  const char *ticket = cv_control_get_string (body, "ticket", 64, FALSE, NULL);
  const char *fingerprint = cv_control_get_string (body, "peer_fingerprint", 80, FALSE, NULL);
  TunnelOpen *open;

  if (error_reason != NULL)
    {
      g_autofree char *sentence = cv_refusal_describe (cv_refusal_from_string (error_reason),
                                                       cv_agent_link_get_session (self->link));
      g_autofree char *why = g_strdup_printf ("the gateway could not offer a tunnel: %s (%s)",
                                              sentence, error_reason);
      fail_waiting (self, why);
      return;
    }
  if (ticket == NULL || fingerprint == NULL)
    {
      fail_waiting (self, "the gateway sent a malformed tunnel offer");
      return;
    }
  if (self->tunnel != NULL)
    {
      /* An offer we no longer need (or did not ask for): the tunnel we have carries
       * live channels and stays. */
      g_debug ("ignoring a tunnel offer: a tunnel is already open");
      return;
    }
  open = g_new0 (TunnelOpen, 1);
  if (!check_share_key (self, fingerprint, FALSE, &open->first_use))
    {
      g_free (open);
      fail_waiting (self, "the share agent's key is not the pinned one");
      return;
    }
  open->agent = g_object_ref (self);
  open->fingerprint = g_strdup (fingerprint);
  {
    g_autoptr (GMainContextPusher) pusher = g_main_context_pusher_new (self->context);
    cv_agent_tunnel_open_async (cv_agent_link_get_gateway (self->link), ticket, FALSE,
                                cv_agent_link_get_identity (self->link), fingerprint, NULL,
                                self->cancellable, on_tunnel_open, open);
  }
}

/* The gateway names another share agent than the last one online (PRESENCE, WELCOME):
 * the session's share agent was replaced, or reinstalled, or someone else logged in
 * with its password.  Said once, naming both, so that whoever reads the log can tell
 * which; whether the new key is trusted is decided by the pin when a tunnel opens. */
static void
note_share_agent (CvConnectAgent *self, const char *name, const char *fingerprint)
{
  const char *session = cv_agent_link_get_session (self->link);

  if (fingerprint == NULL)
    return;
  if (self->last_share_fingerprint != NULL
      && (g_ascii_strcasecmp (fingerprint, self->last_share_fingerprint) != 0
          || g_strcmp0 (name, self->last_share_name) != 0))
    {
      /* The gateway's text: escaped. */
      g_autofree char *old_name = cv_log_escape (self->last_share_name ? self->last_share_name : "",
                                                 -1);
      g_autofree char *new_name = cv_log_escape (name != NULL ? name : "", -1);
      g_autofree char *old_key = cv_log_escape (self->last_share_fingerprint, -1);
      g_autofree char *new_key = cv_log_escape (fingerprint, -1);

      /* A message, not a g_warning: a share agent may be replaced at any time. */
      if (g_ascii_strcasecmp (fingerprint, self->last_share_fingerprint) != 0)
        g_message ("WARNING: session “%s”: the gateway announces another share agent: “%s” "
                   "(key %s) replaced by “%s” (key %s)",
                   session, old_name, old_key, new_name, new_key);
      else
        g_message ("session “%s”: share agent “%s” (key %s) now calls itself “%s”", session,
                   old_name, new_key, new_name);
    }
  g_free (self->last_share_name);
  self->last_share_name = g_strdup (name);
  g_free (self->last_share_fingerprint);
  self->last_share_fingerprint = g_strdup (fingerprint);
}

static void
update_presence (CvConnectAgent *self, JsonObject *body)
{
  gboolean online = FALSE;
  const char *name = cv_control_get_string (body, "share_name", CV_CONTROL_MAX_NAME_BYTES, FALSE,
                                            NULL);

  cv_control_get_bool (body, "share_online", &online, NULL);
  if (online != self->share_online)
    g_debug ("session “%s”: share agent %s", cv_agent_link_get_session (self->link),
             online ? "online" : "offline");
  if (online)
    note_share_agent (self, name,
                      cv_control_get_string (body, "share_fingerprint", CV_CONTROL_MAX_NAME_BYTES,
                                             FALSE, NULL));
  set_share (self, online, name);
  if (!online)
    hold_waiting (self);
  else if (self->tunnel == NULL && cv_client_queue_get_length (self->waiting) > 0)
    request_tunnel (self);
}

/* ---- session codes ------------------------------------------------------ */

static void
burn (CvConnectAgent *self, const char *why)
{
  g_autofree char *sentence = g_strdup_printf ("%s; this code is burned: ask for a new one", why);

  g_message ("%s", sentence);
  g_clear_pointer (&self->exchange, cv_code_exchange_free);
  if (self->secret != NULL)
    sodium_memzero (self->secret, strlen (self->secret));
  g_clear_pointer (&self->secret, g_free);
  set_code_state (self, CV_CODE_STATE_BURNED);
  fail_waiting (self, sentence);
  drop_tunnel (self);
  cv_agent_link_stop (self->link);
}

static void
send_code_failed (CvConnectAgent *self)
{
  g_autoptr (JsonObject) failed = cv_control_build_code_failed (CV_REASON_BAD_CODE);

  cv_agent_link_send (self->link, CV_CONTROL_CODE_FAILED, failed);
}

/* WELCOME names the share agent that holds the nameplate: the PAKE starts, we speak
 * first. */
static void
on_code_welcome (CvConnectAgent *self, JsonObject *welcome)
{
  g_auto (CvCodePeer) peer = { 0 };
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) pake = NULL;
  guint8 ya[CV_CODE_EXCHANGE_MESSAGE_SIZE];
  g_autofree char *name = NULL;

  if (self->secret == NULL)
    return; /* a second login with a code already used: the gateway refuses it anyway */
  if (!cv_control_parse_code_peer (welcome, FALSE, &peer, &error)
      || (self->exchange = cv_code_exchange_new (CV_CODE_EXCHANGE_CONNECT, self->secret,
                                                 self->nameplate,
                                                 cv_identity_get_fingerprint (
                                                   cv_agent_link_get_identity (self->link)),
                                                 peer.peer_fingerprint, peer.claim_id, &error))
           == NULL)
    {
      burn (self, error->message);
      return;
    }
  /* One run per code: the secret is not needed again. */
  sodium_memzero (self->secret, strlen (self->secret));
  g_clear_pointer (&self->secret, g_free);
  name = cv_log_escape (peer.peer_name != NULL ? peer.peer_name : "", -1);
  set_share (self, FALSE, name);
  g_message ("code %s: share agent “%s” (key %s); checking the code with it", self->nameplate, name,
             peer.peer_fingerprint);
  cv_code_exchange_get_message (self->exchange, ya);
  pake = cv_control_build_code_bytes (CV_CONTROL_CODE_PAKE, ya);
  cv_agent_link_send (self->link, CV_CONTROL_CODE_PAKE, pake);
  set_code_state (self, CV_CODE_STATE_CLAIMED);
}

static void
on_code_pake (CvConnectAgent *self, JsonObject *body)
{
  guint8 yb[CV_CODE_EXCHANGE_MESSAGE_SIZE], mac[CV_CODE_EXCHANGE_MAC_SIZE];
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) confirm = NULL;

  if (self->code_state != CV_CODE_STATE_CLAIMED)
    return;
  if (!cv_control_parse_code_bytes (CV_CONTROL_CODE_PAKE, body, yb, &error)
      || !cv_code_exchange_receive_message (self->exchange, yb, &error)
      || !cv_code_exchange_get_mac (self->exchange, mac))
    {
      send_code_failed (self);
      burn (self, error != NULL ? error->message : "the PAKE failed");
      return;
    }
  confirm = cv_control_build_code_bytes (CV_CONTROL_CODE_CONFIRM, mac);
  cv_agent_link_send (self->link, CV_CONTROL_CODE_CONFIRM, confirm);
}

static void
on_code_confirm (CvConnectAgent *self, JsonObject *body)
{
  guint8 mac[CV_CODE_EXCHANGE_MAC_SIZE];
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) done = json_object_new ();

  if (self->code_state != CV_CODE_STATE_CLAIMED)
    return;
  if (!cv_control_parse_code_bytes (CV_CONTROL_CODE_CONFIRM, body, mac, &error)
      || !cv_code_exchange_check_mac (self->exchange, mac, &error))
    {
      send_code_failed (self);
      burn (self, "the code was wrong or someone interfered");
      return;
    }
  cv_agent_link_send (self->link, CV_CONTROL_CODE_DONE, done);
  self->bound_share_key = g_strdup (cv_code_exchange_get_peer_fingerprint (self->exchange));
  self->verification = cv_code_exchange_get_verification (self->exchange);
  g_message ("code %s: the share agent's key %s is confirmed; verification %s", self->nameplate,
             self->bound_share_key, self->verification);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VERIFICATION]);
  set_code_state (self, CV_CODE_STATE_CONFIRMED);
  /* The share agent is there for us now: waiting clients may have their tunnel. */
  set_share (self, TRUE, self->share_name);
  if (cv_client_queue_get_length (self->waiting) > 0)
    request_tunnel (self);
}

static gboolean
on_code_message (CvConnectAgent *self, guint type, JsonObject *body)
{
  switch (type)
    {
    case CV_CONTROL_CODE_PAKE:
      on_code_pake (self, body);
      return TRUE;
    case CV_CONTROL_CODE_CONFIRM:
      on_code_confirm (self, body);
      return TRUE;
    case CV_CONTROL_CODE_FAILED:
      {
        const char *reason = cv_control_parse_code_failed (body, NULL);
        g_autofree char *why = g_strdup_printf ("the gateway ended the code's exchange (%s)",
                                                reason != NULL ? reason : "?");
        burn (self, why);
      }
      return TRUE;
    default:
      return FALSE;
    }
}

/* A refused claim (bad-code, code-expired) stops the link for good. */
static void
on_link_stopped (CvAgentLink *link, const GError *error, CvConnectAgent *self)
{
  if (!cv_agent_link_get_code_mode (link) || self->code_state == CV_CODE_STATE_BURNED)
    return;
  set_code_state (self, g_error_matches (error, CV_REFUSAL_ERROR, CV_REFUSAL_CODE_EXPIRED)
                          ? CV_CODE_STATE_EXPIRED
                          : CV_CODE_STATE_BURNED);
  fail_waiting (self, error->message);
}

static void
on_link_ready (CvAgentLink *link, JsonObject *welcome, CvConnectAgent *self)
{
  if (cv_agent_link_get_code_mode (link))
    on_code_welcome (self, welcome);
  else
    update_presence (self, welcome);
}

static void
on_link_message (CvAgentLink *link, guint type, JsonObject *body, CvConnectAgent *self)
{
  if (cv_agent_link_get_code_mode (link) && on_code_message (self, type, body))
    return;
  if (type == CV_CONTROL_PRESENCE)
    update_presence (self, body);
  else if (type == CV_CONTROL_TUNNEL_OFFER)
    on_tunnel_offer (self, body);
}

static void
on_link_lost (CvAgentLink *link, const GError *error, CvConnectAgent *self)
{
  set_share (self, FALSE, self->share_name);
  hold_waiting (self);
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
  self->waiting = cv_client_queue_new (self->context, MAX_WAITING, why_no_tunnel, self);
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

  g_signal_connect (mapping, "incoming", G_CALLBACK (on_local_connection), self);
  listening = cv_mapping_listen (mapping, error);
  g_list_store_append (self->mappings, mapping);
  return listening;
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
  g_signal_connect (mapping, "incoming", G_CALLBACK (on_local_connection), self);
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
  fail_waiting (self, "the agent is stopping");
  /* The link first: its GOAWAY tells the gateway who ends the tunnel that follows. */
  if (self->link != NULL)
    cv_agent_link_stop (self->link);
  drop_tunnel (self);
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
  if (self->secret != NULL)
    sodium_memzero (self->secret, strlen (self->secret));
  g_free (self->secret);
  self->secret = secret;
  set_code_state (self, CV_CODE_STATE_WAITING);
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
