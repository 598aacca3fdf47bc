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
 */
#include "roles/cv-share-agent.h"

#include "base/cv-log-escape.h"
#include "base/cv-source.h"
#include "transport/cv-tls.h"

#include "roles/cv-agent-context.h"
#include "roles/cv-agent-tunnel.h"
#include "roles/cv-traffic-meter.h"
#include "mux/cv-channel-pump.h"

#include "auth/cv-code-exchange.h"
#include "roles/cv-code-state.h"
#include "wire/cv-code.h"
#include "wire/cv-services.h"

#include <sodium.h>

#include <gio/gnetworking.h>

#define DIAL_TIMEOUT_S 10

struct _CvShareAgent {
  GObject parent_instance;

  GMainContext *context;
  CvAgentLink *link;
  CvAllowList *allow;
  char **authorized_connect_keys; /* normalized; NULL: any key the gateway announces */
  GPtrArray *tunnels;             /* of Tunnel */
  guint max_channels_per_tunnel;  /* from the gateway's WELCOME; 0: the mux default */
  GCancellable *cancellable;
  gboolean stopped;

  CvAgentLinkState state;
  guint n_channels;
  CvTrafficMeter *traffic; /* made with the context */

  /* Offered services (of CvServiceInfo), or NULL: then no consent is asked and the allow
   * list alone decides.  With services, every tunnel asks for consent and may reach only
   * the targets of the services its connect agent asked for and the sharer accepted. */
  GPtrArray *services;
  guint consent_timeout_ms;
  GQueue consent_queue; /* of Tunnel, asked and not answered yet; the head is the prompt */

  /* Session codes (the link in code mode): the nameplate from the gateway, the secret
   * drawn here and never sent, and the PAKE with the one connect agent that claimed it.
   * Its key, bound in the PAKE, is the only one a tunnel may come from. */
  char *nameplate;
  char *secret; /* wiped when dropped */
  char *code;   /* "nameplate-secret" as people read it, or NULL */
  gint64 code_expires_us;
  CvCodeState code_state;
  char *verification;
  CvCodeExchange *exchange;
  char *claim_name, *claim_address;
  char *bound_connect_key; /* confirmed: the connect agent's key the PAKE bound */
};

enum {
  PROP_0,
  PROP_LINK,
  PROP_STATE,
  PROP_N_TUNNELS,
  PROP_N_CHANNELS,
  PROP_BYTES_IN,
  PROP_BYTES_OUT,
  PROP_CONSENT_PENDING,
  PROP_AUTHORIZED_CONNECT_KEYS,
  PROP_CODE,
  PROP_CODE_EXPIRES,
  PROP_CODE_STATE,
  PROP_VERIFICATION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_CHANNEL_OPENED,
  SIGNAL_CHANNEL_CLOSED,
  SIGNAL_CONSENT_REQUESTED,
  SIGNAL_CONNECT_KEY_REFUSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

typedef enum {
  CONSENT_NOT_ASKED, /* no SERVICE_REQUEST yet */
  CONSENT_ASKED,     /* in the queue: the sharer has not answered */
  CONSENT_ACCEPTED,  /* allowed: the requested services' targets */
  CONSENT_REFUSED,   /* declined, timed out, or asked for what is not offered */
} ConsentState;

typedef struct {
  CvShareAgent *agent; /* not owned */
  CvMux *mux;
  char *peer_name;
  char *peer_address;
  char *peer_fingerprint; /* the key the tunnel's TLS proved */
  ConsentState consent;
  GStrv requested;    /* the service names asked for */
  CvAllowList *allow; /* once accepted: the requested services' targets */
  GSource *consent_timer;
} Tunnel;

G_DEFINE_FINAL_TYPE (CvShareAgent, cv_share_agent, G_TYPE_OBJECT)

static void wipe_code (CvShareAgent *self);

static void
tunnel_free (gpointer data)
{
  Tunnel *tunnel = data;

  if (tunnel->mux != NULL)
    {
      g_signal_handlers_disconnect_by_data (tunnel->mux, tunnel);
      cv_mux_close (tunnel->mux);
      g_object_unref (tunnel->mux);
    }
  cv_source_clear (&tunnel->consent_timer);
  g_free (tunnel->peer_name);
  g_free (tunnel->peer_address);
  g_free (tunnel->peer_fingerprint);
  g_strfreev (tunnel->requested);
  g_clear_pointer (&tunnel->allow, cv_allow_list_free);
  g_free (tunnel);
}

static void
notify_n_tunnels (CvShareAgent *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_TUNNELS]);
}

/* Every tunnel closes (and with it, its channels). */
static void
close_tunnels (CvShareAgent *self)
{
  if (self->tunnels->len == 0)
    return;
  g_message ("closing %u tunnel%s", self->tunnels->len, self->tunnels->len == 1 ? "" : "s");
  g_queue_clear (&self->consent_queue);
  g_ptr_array_set_size (self->tunnels, 0);
  notify_n_tunnels (self);
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
  wipe_code (self);
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
  self->tunnels = g_ptr_array_new_with_free_func (tunnel_free);
  self->cancellable = g_cancellable_new ();
  self->consent_timeout_ms = CV_SHARE_DEFAULT_CONSENT_TIMEOUT_MS;
  g_queue_init (&self->consent_queue);
}

/* ---- channels ----------------------------------------------------------- */

typedef struct {
  CvShareAgent *agent;
  CvChannel *channel;
  char *peer_name;
  char *target;
  gint64 started_us;
} ChannelLog;

static void
channel_log_free (ChannelLog *log)
{
  g_object_unref (log->agent);
  g_object_unref (log->channel);
  g_free (log->peer_name);
  g_free (log->target);
  g_free (log);
}

static void
set_n_channels (CvShareAgent *self, guint n_channels)
{
  self->n_channels = n_channels;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_CHANNELS]);
}

static void
on_pump_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ChannelLog *log = user_data;
  g_autoptr (GError) error = NULL;
  CvPumpStats stats = { 0 };
  gboolean ok = cv_channel_pump_finish (result, &stats, &error);

  CvShareAgent *self = log->agent;

  g_message ("channel %u from “%s” to %s:%u closed after %.1f s: %" G_GUINT64_FORMAT
             " bytes in, %" G_GUINT64_FORMAT " bytes out%s%s",
             cv_channel_get_id (log->channel), log->peer_name, cv_channel_get_host (log->channel),
             cv_channel_get_port (log->channel), (g_get_monotonic_time () - log->started_us) / 1e6,
             stats.bytes_from_channel, stats.bytes_to_channel, ok ? "" : ": ",
             ok ? "" : error->message);
  cv_traffic_meter_remove (self->traffic, log->channel, &stats);
  set_n_channels (self, self->n_channels - 1);
  g_signal_emit (self, signals[SIGNAL_CHANNEL_CLOSED], 0, log->target, error);
  channel_log_free (log);
}

static CvChannelReason
reason_for_dial_error (const GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    return CV_CHANNEL_REASON_REFUSED;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT))
    return CV_CHANNEL_REASON_TIMEOUT;
  return CV_CHANNEL_REASON_UNREACHABLE;
}

static void
on_target_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ChannelLog *log = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) connection =
    g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source), result, &error);
  CvChannel *channel = log->channel;

  if (connection == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      cv_channel_reset (channel, CV_CHANNEL_REASON_CANCELLED);
      channel_log_free (log);
      return;
    }
  if (connection == NULL)
    {
      CvChannelReason reason = reason_for_dial_error (error);

      g_message ("channel %u from “%s” to %s:%u: %s: %s", cv_channel_get_id (channel),
                 log->peer_name, cv_channel_get_host (channel), cv_channel_get_port (channel),
                 cv_channel_reason_to_string (reason), error->message);
      cv_channel_refuse (channel, reason, error->message);
      channel_log_free (log);
      return;
    }
  if (cv_channel_get_state (channel) == CV_CHANNEL_STATE_CLOSED)
    {
      /* The connect side gave up while we dialled. */
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      channel_log_free (log);
      return;
    }
  g_socket_set_timeout (g_socket_connection_get_socket (connection), 0);
  cv_channel_accept (channel);
  log->started_us = g_get_monotonic_time ();
  g_message ("channel %u from “%s” to %s:%u open", cv_channel_get_id (channel), log->peer_name,
             cv_channel_get_host (channel), cv_channel_get_port (channel));
  cv_traffic_meter_add (log->agent->traffic, channel);
  set_n_channels (log->agent, log->agent->n_channels + 1);
  g_signal_emit (log->agent, signals[SIGNAL_CHANNEL_OPENED], 0, log->target);
  {
    g_autoptr (GMainContextPusher) pusher = g_main_context_pusher_new (log->agent->context);
    cv_channel_pump_async (connection, channel, log->agent->cancellable, on_pump_done, log);
  }
}

static void
on_incoming_channel (CvMux *mux, CvChannel *channel, Tunnel *tunnel)
{
  CvShareAgent *self = tunnel->agent;
  const char *host = cv_channel_get_host (channel);
  guint16 port = cv_channel_get_port (channel);
  g_autoptr (GSocketClient) client = NULL;
  ChannelLog *log;

  if (self->services != NULL && tunnel->consent != CONSENT_ACCEPTED)
    {
      g_message ("channel %u from “%s” to %s:%u: not-allowed (the sharer has not consented)",
                 cv_channel_get_id (channel), tunnel->peer_name, host, port);
      cv_channel_refuse (channel, CV_CHANNEL_REASON_NOT_ALLOWED,
                         "the sharer has not consented to this connection");
      return;
    }
  if (!cv_allow_list_permits (tunnel->allow != NULL ? tunnel->allow : self->allow, host, port))
    {
      g_message ("channel %u from “%s” to %s:%u: not-allowed (not in this agent's allow list)",
                 cv_channel_get_id (channel), tunnel->peer_name, host, port);
      cv_channel_refuse (channel, CV_CHANNEL_REASON_NOT_ALLOWED,
                         "the share agent does not allow this target");
      return;
    }

  log = g_new0 (ChannelLog, 1);
  log->agent = g_object_ref (self);
  log->channel = g_object_ref (channel);
  log->peer_name = g_strdup (tunnel->peer_name);
  log->target = cv_agent_format_target (host, port);
  client = g_socket_client_new ();
  g_socket_client_set_timeout (client, DIAL_TIMEOUT_S);
  /* Targets are on this machine's network: never through a desktop proxy. */
  g_socket_client_set_enable_proxy (client, FALSE);
  {
    g_autoptr (GMainContextPusher) pusher = g_main_context_pusher_new (self->context);
    g_socket_client_connect_to_host_async (client, host, port, self->cancellable,
                                           on_target_connected, log);
  }
}

/* ---- consent ------------------------------------------------------------ */

static const CvServiceInfo *
find_service (CvShareAgent *self, const char *name)
{
  for (guint i = 0; i < self->services->len; i++)
    {
      const CvServiceInfo *info = self->services->pdata[i];

      if (g_str_equal (info->name, name))
        return info;
    }
  return NULL;
}

static void
send_consent (Tunnel *tunnel, gboolean accepted, const char *reason)
{
  g_autofree char *json = cv_consent_build (accepted, reason);
  g_autoptr (GError) error = NULL;

  if (!cv_mux_send_control (tunnel->mux, CV_TUNNEL_CONTROL_CONSENT, json, &error))
    g_message ("tunnel from “%s”: the answer could not be sent: %s", tunnel->peer_name,
               error->message);
}

static void
notify_consent_pending (CvShareAgent *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONSENT_PENDING]);
}

static gboolean on_consent_timeout (gpointer user_data);

/* The head of the queue is the request the sharer sees now. */
static void
ask_next (CvShareAgent *self)
{
  Tunnel *tunnel = g_queue_peek_head (&self->consent_queue);

  if (tunnel == NULL || tunnel->consent_timer != NULL)
    return;
  tunnel->consent_timer = cv_agent_timeout_add (self->context, self->consent_timeout_ms,
                                                on_consent_timeout, tunnel,
                                                "[culvert] share agent consent timeout");
  notify_consent_pending (self);
  g_signal_emit (self, signals[SIGNAL_CONSENT_REQUESTED], 0, tunnel->peer_name,
                 tunnel->peer_address, tunnel->peer_fingerprint, tunnel->requested,
                 self->verification);
}

static void
forget_consent (CvShareAgent *self, Tunnel *tunnel)
{
  gboolean was_head = g_queue_peek_head (&self->consent_queue) == tunnel;

  if (!g_queue_remove (&self->consent_queue, tunnel))
    return;
  cv_source_clear (&tunnel->consent_timer);
  if (was_head)
    {
      notify_consent_pending (self);
      ask_next (self);
    }
}

/* The sharer's answer to the request at the head of the queue. */
static gboolean
answer (CvShareAgent *self, gboolean accepted, const char *reason)
{
  Tunnel *tunnel = g_queue_pop_head (&self->consent_queue);
  g_autofree char *names = NULL;

  if (tunnel == NULL)
    return FALSE;
  cv_source_clear (&tunnel->consent_timer);
  names = g_strjoinv (", ", tunnel->requested);
  if (accepted)
    {
      tunnel->allow = cv_allow_list_new ();
      for (guint i = 0; tunnel->requested[i] != NULL; i++)
        {
          const CvServiceInfo *info = find_service (self, tunnel->requested[i]);

          /* Checked when asked; the list was made from valid targets. */
          cv_allow_list_add (tunnel->allow, info->host, info->port, info->port, NULL);
        }
      tunnel->consent = CONSENT_ACCEPTED;
      if (self->code_state == CV_CODE_STATE_CONFIRMED)
        {
          self->code_state = CV_CODE_STATE_CONSENTED;
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CODE_STATE]);
        }
      g_message ("the sharer allowed “%s” (%s, key %s): %s", tunnel->peer_name,
                 tunnel->peer_address, tunnel->peer_fingerprint, names);
    }
  else
    {
      tunnel->consent = CONSENT_REFUSED;
      g_message ("“%s” (%s) was refused %s: %s", tunnel->peer_name, tunnel->peer_address, names,
                 reason);
    }
  send_consent (tunnel, accepted, reason);
  notify_consent_pending (self);
  ask_next (self);
  return TRUE;
}

static gboolean
on_consent_timeout (gpointer user_data)
{
  Tunnel *tunnel = user_data;
  CvShareAgent *self = tunnel->agent;

  g_clear_pointer (&tunnel->consent_timer, g_source_unref);
  g_message ("no answer from the sharer within %.0f s: denied", self->consent_timeout_ms / 1e3);
  /* The timed-out request is the head: only the head has a timer. */
  answer (self, FALSE, CV_CONSENT_REASON_TIMEOUT);
  return G_SOURCE_REMOVE;
}

static void
on_service_request (Tunnel *tunnel, GBytes *json)
{
  CvShareAgent *self = tunnel->agent;
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) names = cv_service_request_parse (json, &error);

  if (names == NULL || tunnel->consent != CONSENT_NOT_ASKED)
    {
      /* One request a tunnel, well formed: anything else is not a connect agent of ours. */
      g_message ("tunnel from “%s”: %s; closing it", tunnel->peer_name,
                 names == NULL ? error->message : "a second service request");
      cv_mux_goaway (tunnel->mux, CV_GOAWAY_REASON_PROTOCOL_ERROR, "bad service request");
      return;
    }
  for (guint i = 0; names[i] != NULL; i++)
    if (find_service (self, names[i]) == NULL)
      {
        g_message ("tunnel from “%s” asks for a service not offered here; refused",
                   tunnel->peer_name);
        tunnel->consent = CONSENT_REFUSED;
        send_consent (tunnel, FALSE, CV_CONSENT_REASON_NOT_OFFERED);
        return;
      }
  tunnel->requested = g_steal_pointer (&names);
  tunnel->consent = CONSENT_ASKED;
  g_queue_push_tail (&self->consent_queue, tunnel);
  ask_next (self);
}

static void
on_tunnel_control (CvMux *mux, guint type, GBytes *json, Tunnel *tunnel)
{
  if (type == CV_TUNNEL_CONTROL_SERVICE_REQUEST && tunnel->agent->services != NULL)
    on_service_request (tunnel, json);
  else
    g_debug ("tunnel from “%s”: control message 0x%02x ignored", tunnel->peer_name, type);
}

static void
send_services (CvShareAgent *self, Tunnel *tunnel)
{
  g_autofree char *json = cv_services_build (self->services);
  g_autoptr (GError) error = NULL;

  if (!cv_mux_send_control (tunnel->mux, CV_TUNNEL_CONTROL_SERVICES, json, &error))
    g_message ("tunnel from “%s”: the offered services could not be sent: %s", tunnel->peer_name,
               error->message);
}

/* ---- tunnels ------------------------------------------------------------ */

static void
on_tunnel_closed (CvMux *mux, const GError *error, Tunnel *tunnel)
{
  CvShareAgent *self = tunnel->agent;

  g_message ("tunnel from “%s” (%s) closed%s%s", tunnel->peer_name, tunnel->peer_address,
             error != NULL ? ": " : "", error != NULL ? error->message : "");
  forget_consent (self, tunnel);
  g_ptr_array_remove (self->tunnels, tunnel);
  notify_n_tunnels (self);
}

typedef struct {
  CvShareAgent *agent;
  char *peer_name;
  char *peer_address;
  char *fingerprint; /* announced; the pin, so the key proved if the handshake gets far */
} Offer;

static void
on_tunnel_open (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Offer *offer = user_data;
  CvShareAgent *self = offer->agent;
  g_autoptr (GError) error = NULL;
  g_autoptr (GIOStream) stream = cv_agent_tunnel_open_finish (result, &error);

  if (g_error_matches (error, CV_TLS_ERROR, CV_TLS_ERROR_NOT_AUTHORIZED) && !self->stopped)
    {
      /* The key passed the pin, so it is the announced one: the connect agent that
       * logged in with the session's password, or whoever the gateway let pose as one. */
      g_message ("tunnel from “%s” (%s) refused: its key %s is not in authorized_connect_keys; "
                 "add \"%s\" to authorized_connect_keys if this technician is trusted",
                 offer->peer_name, offer->peer_address, offer->fingerprint, offer->fingerprint);
      g_signal_emit (self, signals[SIGNAL_CONNECT_KEY_REFUSED], 0, offer->fingerprint,
                     offer->peer_name, offer->peer_address);
    }
  else if (stream == NULL || self->stopped)
    {
      if (stream == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_message ("tunnel from “%s” (%s) failed: %s", offer->peer_name, offer->peer_address,
                   error->message);
    }
  else
    {
      Tunnel *tunnel = g_new0 (Tunnel, 1);
      CvMuxConfig config;

      tunnel->agent = self;
      tunnel->peer_name = g_steal_pointer (&offer->peer_name);
      tunnel->peer_address = g_steal_pointer (&offer->peer_address);
      tunnel->peer_fingerprint = g_steal_pointer (&offer->fingerprint);
      cv_mux_config_init_defaults (&config);
      if (self->max_channels_per_tunnel > 0)
        config.max_channels = self->max_channels_per_tunnel;
      {
        g_autoptr (GMainContextPusher) pusher = g_main_context_pusher_new (self->context);
        tunnel->mux = cv_mux_new (stream, CV_MUX_ROLE_RESPONDER, &config);
      }
      g_signal_connect (tunnel->mux, "incoming-channel", G_CALLBACK (on_incoming_channel), tunnel);
      g_signal_connect (tunnel->mux, "closed", G_CALLBACK (on_tunnel_closed), tunnel);
      g_signal_connect (tunnel->mux, "control-message", G_CALLBACK (on_tunnel_control), tunnel);
      g_ptr_array_add (self->tunnels, tunnel);
      g_message ("tunnel from connect agent “%s” (%s) open, end-to-end TLS verified",
                 tunnel->peer_name, tunnel->peer_address);
      cv_mux_start (tunnel->mux);
      if (self->services != NULL)
        send_services (self, tunnel);
      notify_n_tunnels (self);
    }
  g_object_unref (offer->agent);
  g_free (offer->peer_name);
  g_free (offer->peer_address);
  g_free (offer->fingerprint);
  g_free (offer);
}

/* What the gateway says of the peer, made fit for a log line. */
static char *
log_text (const char *text, const char *fallback)
{
  return text != NULL ? cv_log_escape (text, -1) : g_strdup (fallback);
}

/* ---- session codes ------------------------------------------------------ */

static void
notify (CvShareAgent *self, guint prop)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

static void
set_code_state (CvShareAgent *self, CvCodeState state)
{
  if (self->code_state == state)
    return;
  self->code_state = state;
  notify (self, PROP_CODE_STATE);
}

/* The secret and everything made from it, wiped. */
static void
wipe_code (CvShareAgent *self)
{
  if (self->secret != NULL)
    sodium_memzero (self->secret, strlen (self->secret));
  g_clear_pointer (&self->secret, g_free);
  if (self->code != NULL)
    sodium_memzero (self->code, strlen (self->code));
  g_clear_pointer (&self->code, g_free);
  g_clear_pointer (&self->nameplate, g_free);
  g_clear_pointer (&self->exchange, cv_code_exchange_free);
  g_clear_pointer (&self->bound_connect_key, g_free);
  g_clear_pointer (&self->verification, g_free);
  self->code_expires_us = 0;
}

/* The code, its secret and its PAKE are gone (expired, burned, renewed, link lost). */
static void
drop_code (CvShareAgent *self)
{
  gboolean had_code = self->code != NULL;
  gboolean had_expiry = self->code_expires_us != 0;
  gboolean had_verification = self->verification != NULL;

  wipe_code (self);
  if (had_code)
    notify (self, PROP_CODE);
  if (had_expiry)
    notify (self, PROP_CODE_EXPIRES);
  if (had_verification)
    notify (self, PROP_VERIFICATION);
}

/* A nameplate from the gateway (WELCOME, CODE_NAMEPLATE): the secret is drawn here, six
 * uniform digits, and never leaves this agent except through the person reading it. */
static void
new_code (CvShareAgent *self, JsonObject *body)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *nameplate = NULL;
  gint64 expires_at_ms = 0;

  drop_code (self);
  if (!cv_control_parse_code_nameplate (body, &nameplate, &expires_at_ms, &error))
    {
      g_message ("the gateway sent no usable code: %s", error->message);
      set_code_state (self, CV_CODE_STATE_NONE);
      return;
    }
  self->nameplate = g_steal_pointer (&nameplate);
  self->secret = g_strdup_printf ("%06u", randombytes_uniform (1000000));
  self->code = cv_code_format (self->nameplate, self->secret);
  self->code_expires_us = expires_at_ms * 1000;
  /* The nameplate only: the secret never goes into a log. */
  g_message ("code with nameplate %s, valid for %.0f s", self->nameplate,
             MAX (0, self->code_expires_us - g_get_real_time ()) / 1e6);
  notify (self, PROP_CODE);
  notify (self, PROP_CODE_EXPIRES);
  set_code_state (self, CV_CODE_STATE_WAITING);
}

/* The PAKE failed here or at the gateway: nothing of this code works again. */
static void
burn (CvShareAgent *self, const char *why)
{
  g_message ("%s; this code is burned: ask for a new one", why);
  drop_code (self);
  set_code_state (self, CV_CODE_STATE_BURNED);
  close_tunnels (self);
}

static void
send_code_failed (CvShareAgent *self, const char *reason)
{
  g_autoptr (JsonObject) failed = cv_control_build_code_failed (reason);

  cv_agent_link_send (self->link, CV_CONTROL_CODE_FAILED, failed);
}

static void
on_code_claimed (CvShareAgent *self, JsonObject *body)
{
  g_auto (CvCodePeer) peer = { 0 };
  g_autoptr (GError) error = NULL;
  CvIdentity *identity = cv_agent_link_get_identity (self->link);

  if (self->code_state != CV_CODE_STATE_WAITING
      || !cv_control_parse_code_peer (body, TRUE, &peer, &error))
    {
      g_message ("ignoring a claim: %s", error != NULL ? error->message : "no open code");
      return;
    }
  self->exchange = cv_code_exchange_new (CV_CODE_EXCHANGE_SHARE, self->secret, self->nameplate,
                                         cv_identity_get_fingerprint (identity),
                                         peer.peer_fingerprint, peer.claim_id, &error);
  if (self->exchange == NULL)
    {
      send_code_failed (self, CV_REASON_BAD_CODE);
      burn (self, error->message);
      return;
    }
  g_free (self->claim_name);
  self->claim_name = cv_log_escape (peer.peer_name != NULL ? peer.peer_name : "", -1);
  g_free (self->claim_address);
  self->claim_address = cv_log_escape (peer.peer_address != NULL ? peer.peer_address : "", -1);
  g_message ("code %s claimed by “%s” (%s, key %s)", self->nameplate, self->claim_name,
             self->claim_address, peer.peer_fingerprint);
  set_code_state (self, CV_CODE_STATE_CLAIMED);
}

static void
on_code_pake (CvShareAgent *self, JsonObject *body)
{
  guint8 ya[CV_CODE_EXCHANGE_MESSAGE_SIZE], yb[CV_CODE_EXCHANGE_MESSAGE_SIZE];
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) answer = NULL;

  if (self->code_state != CV_CODE_STATE_CLAIMED
      || !cv_control_parse_code_bytes (CV_CONTROL_CODE_PAKE, body, ya, &error)
      || !cv_code_exchange_receive_message (self->exchange, ya, &error))
    {
      if (self->code_state != CV_CODE_STATE_CLAIMED)
        return;
      send_code_failed (self, CV_REASON_BAD_CODE);
      burn (self, error->message);
      return;
    }
  cv_code_exchange_get_message (self->exchange, yb);
  answer = cv_control_build_code_bytes (CV_CONTROL_CODE_PAKE, yb);
  cv_agent_link_send (self->link, CV_CONTROL_CODE_PAKE, answer);
}

/* The connect agent's mac: checked here first, since this is the side the code guards. */
static void
on_code_confirm (CvShareAgent *self, JsonObject *body)
{
  guint8 mac[CV_CODE_EXCHANGE_MAC_SIZE];
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) ours = NULL;
  g_autoptr (JsonObject) done = json_object_new ();

  if (self->code_state != CV_CODE_STATE_CLAIMED)
    return;
  if (!cv_control_parse_code_bytes (CV_CONTROL_CODE_CONFIRM, body, mac, &error)
      || !cv_code_exchange_check_mac (self->exchange, mac, &error))
    {
      send_code_failed (self, CV_REASON_BAD_CODE);
      burn (self, "the code was wrong or someone interfered");
      return;
    }
  cv_code_exchange_get_mac (self->exchange, mac);
  ours = cv_control_build_code_bytes (CV_CONTROL_CODE_CONFIRM, mac);
  cv_agent_link_send (self->link, CV_CONTROL_CODE_CONFIRM, ours);
  cv_agent_link_send (self->link, CV_CONTROL_CODE_DONE, done);
  self->bound_connect_key = g_strdup (cv_code_exchange_get_peer_fingerprint (self->exchange));
  self->verification = cv_code_exchange_get_verification (self->exchange);
  g_message ("code %s: the connect agent's key %s is confirmed; verification %s", self->nameplate,
             self->bound_connect_key, self->verification);
  notify (self, PROP_VERIFICATION);
  set_code_state (self, CV_CODE_STATE_CONFIRMED);
}

static gboolean
on_code_message (CvShareAgent *self, guint type, JsonObject *body)
{
  switch (type)
    {
    case CV_CONTROL_CODE_CLAIMED:
      on_code_claimed (self, body);
      return TRUE;
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
    case CV_CONTROL_CODE_EXPIRED:
      g_message ("code %s expired unclaimed", self->nameplate != NULL ? self->nameplate : "?");
      drop_code (self);
      set_code_state (self, CV_CODE_STATE_EXPIRED);
      return TRUE;
    case CV_CONTROL_CODE_NAMEPLATE:
      if (json_object_has_member (body, "error"))
        g_message ("the gateway gives no new code now (%s); ask again later",
                   cv_control_get_string (body, "error", 64, FALSE, NULL));
      else
        new_code (self, body);
      return TRUE;
    default:
      return FALSE;
    }
}

static void
on_link_message (CvAgentLink *link, guint type, JsonObject *body, CvShareAgent *self)
{
  const char *ticket, *fingerprint, *role;
  g_autofree char *normalized = NULL;
  Offer *offer;

  if (cv_agent_link_get_code_mode (link) && on_code_message (self, type, body))
    return;
  if (type != CV_CONTROL_TUNNEL_OFFER)
    return;
  ticket = cv_control_get_string (body, "ticket", 64, TRUE, NULL);
  fingerprint = cv_control_get_string (body, "peer_fingerprint", 80, TRUE, NULL);
  role = cv_control_get_string (body, "tls_role", 16, TRUE, NULL);
  if (ticket == NULL || fingerprint == NULL || role == NULL || !g_str_equal (role, "server"))
    {
      g_message ("the gateway sent a malformed tunnel offer; ignored");
      return;
    }
  normalized = cv_fingerprint_normalize (fingerprint, NULL);
  if (normalized == NULL)
    {
      g_message ("the gateway sent a tunnel offer with a malformed key; ignored");
      return;
    }
  /* With a code, the tunnel pins the key the PAKE bound, and only once it is confirmed:
   * the gateway cannot bring anyone else. */
  if (cv_agent_link_get_code_mode (link)
      && (self->bound_connect_key == NULL || !g_str_equal (normalized, self->bound_connect_key)))
    {
      g_message ("the gateway offered a tunnel from key %s, not the one the code confirmed "
                 "(%s); refused",
                 normalized, self->bound_connect_key != NULL ? self->bound_connect_key : "none");
      return;
    }
  offer = g_new0 (Offer, 1);
  offer->agent = g_object_ref (self);
  offer->fingerprint = g_steal_pointer (&normalized);
  /* Both only go into log lines. */
  offer->peer_name = log_text (cv_control_get_string (body, "peer_name", CV_CONTROL_MAX_NAME_BYTES,
                                                      FALSE, NULL),
                               "(unnamed)");
  offer->peer_address = log_text (cv_control_get_string (body, "peer_address", 64, FALSE, NULL),
                                  "unknown address");
  {
    g_autoptr (GMainContextPusher) pusher = g_main_context_pusher_new (self->context);
    cv_agent_tunnel_open_async (cv_agent_link_get_gateway (link), ticket, TRUE,
                                cv_agent_link_get_identity (link), offer->fingerprint,
                                (const char *const *) self->authorized_connect_keys,
                                self->cancellable, on_tunnel_open, offer);
  }
}

static void
on_link_ready (CvAgentLink *link, JsonObject *welcome, CvShareAgent *self)
{
  JsonNode *node = json_object_get_member (welcome, "max_channels_per_tunnel");

  if (cv_agent_link_get_code_mode (link))
    new_code (self, welcome);
  if (node != NULL && JSON_NODE_HOLDS_VALUE (node)
      && json_node_get_value_type (node) == G_TYPE_INT64 && json_node_get_int (node) > 0)
    self->max_channels_per_tunnel = (guint) MIN (json_node_get_int (node), G_MAXUINT32);
}

/* Replaced by another share agent: nothing of this one may stay reachable. */
static void
on_link_stopped (CvAgentLink *link, const GError *error, CvShareAgent *self)
{
  close_tunnels (self);
  g_cancellable_cancel (self->cancellable);
}

static void
on_link_state (CvAgentLink *link, GParamSpec *pspec, CvShareAgent *self)
{
  /* The gateway forgets a code whose share link is gone; so do we (a burned or
   * expired one stays so, for the user to see). */
  if (cv_agent_link_get_state (link) != CV_AGENT_LINK_STATE_ONLINE && self->code != NULL)
    {
      drop_code (self);
      set_code_state (self, CV_CODE_STATE_NONE);
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
  g_signal_connect (link, "message", G_CALLBACK (on_link_message), self);
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
  close_tunnels (self);
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
  return answer (self, TRUE, NULL);
}

/* The sharer refuses it ("declined"); its tunnel can reach nothing. */
gboolean
cv_share_agent_deny (CvShareAgent *self)
{
  return answer (self, FALSE, CV_CONSENT_REASON_DECLINED);
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
  drop_code (self);
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
