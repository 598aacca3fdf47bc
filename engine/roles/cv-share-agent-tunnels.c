/* cv-share-agent-tunnels.c: the share agent's tunnels — a TUNNEL_OFFER from the gateway
 * is dialled and its end-to-end TLS checked (the pinned key, authorized_connect_keys, and
 * in code mode the key the PAKE bound); each tunnel's incoming channels are checked
 * against consent and the allow list, dialled, pumped and logged.
 *
 * Split from cv-share-agent.c, which holds the object and its public calls.
 */
#include "roles/cv-share-agent-private.h"

#include "base/cv-log-escape.h"
#include "base/cv-source.h"
#include "transport/cv-tls.h"

#include "roles/cv-agent-context.h"
#include "roles/cv-agent-tunnel.h"
#include "mux/cv-channel-pump.h"
#include "wire/cv-control.h"

#include <gio/gnetworking.h>

#define DIAL_TIMEOUT_S 10

void
cv_share_agent_tunnel_free (gpointer data)
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
  cv_share_agent_notify (self, PROP_N_TUNNELS);
}

/* Every tunnel closes (and with it, its channels). */
void
cv_share_agent_close_tunnels (CvShareAgent *self)
{
  if (self->tunnels->len == 0)
    return;
  g_message ("closing %u tunnel%s", self->tunnels->len, self->tunnels->len == 1 ? "" : "s");
  g_queue_clear (&self->consent_queue);
  g_ptr_array_set_size (self->tunnels, 0);
  notify_n_tunnels (self);
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
  cv_share_agent_notify (self, PROP_N_CHANNELS);
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
  cv_share_agent_emit (self, SIGNAL_CHANNEL_CLOSED, log->target, error);
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
  cv_share_agent_emit (log->agent, SIGNAL_CHANNEL_OPENED, log->target);
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

/* ---- tunnels ------------------------------------------------------------ */

static void
on_tunnel_closed (CvMux *mux, const GError *error, Tunnel *tunnel)
{
  CvShareAgent *self = tunnel->agent;

  g_message ("tunnel from “%s” (%s) closed%s%s", tunnel->peer_name, tunnel->peer_address,
             error != NULL ? ": " : "", error != NULL ? error->message : "");
  cv_share_agent_forget_consent (self, tunnel);
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
      cv_share_agent_emit (self, SIGNAL_CONNECT_KEY_REFUSED, offer->fingerprint, offer->peer_name,
                           offer->peer_address);
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
      g_signal_connect (tunnel->mux, "control-message",
                        G_CALLBACK (cv_share_agent_on_tunnel_control), tunnel);
      g_ptr_array_add (self->tunnels, tunnel);
      g_message ("tunnel from connect agent “%s” (%s) open, end-to-end TLS verified",
                 tunnel->peer_name, tunnel->peer_address);
      cv_mux_start (tunnel->mux);
      if (self->services != NULL)
        cv_share_agent_send_services (self, tunnel);
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

void
cv_share_agent_on_link_message (CvAgentLink *link, guint type, JsonObject *body, CvShareAgent *self)
{
  const char *ticket, *fingerprint, *role;
  g_autofree char *normalized = NULL;
  Offer *offer;

  if (cv_agent_link_get_code_mode (link) && cv_share_agent_code_message (self, type, body))
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
