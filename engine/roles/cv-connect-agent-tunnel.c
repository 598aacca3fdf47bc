/* cv-connect-agent-tunnel.c: the connect agent's clients, channels and tunnel.  A local
 * client is forwarded at once when the tunnel is usable, else held in the queue (roles/
 * cv-client-queue.c) until a TUNNEL_REQUEST's offer brings a tunnel, or refused; the
 * tunnel is opened for an offer once the share agent's key is the pinned (or the
 * code-confirmed) one, and PRESENCE says when to ask for it.  Split from
 * cv-connect-agent.c, which keeps the object and its public calls. */
#include "roles/cv-connect-agent-private.h"

#include "base/cv-log-escape.h"
#include "base/cv-source.h"
#include "mux/cv-channel-pump.h"
#include "roles/cv-agent-context.h"
#include "roles/cv-agent-tunnel.h"
#include "roles/cv-refusal.h"
#include "transport/cv-known-peers.h"
#include "wire/cv-control.h"

#define TUNNEL_TIMEOUT_MS 20000

/* ---- waiting clients ---------------------------------------------------- */

/* Refuse every waiting client: the tunnel will not come. */
void
cv_connect_agent_fail_waiting (CvConnectAgent *self, const char *why)
{
  g_autoptr (GError) error = g_error_new_literal (CV_AGENT_ERROR, CV_AGENT_ERROR_LOST, why);

  cv_source_clear (&self->tunnel_timer);
  self->tunnel_requested = FALSE;
  if (self->waiting != NULL)
    cv_client_queue_refuse_all (self->waiting, error);
}

/* Why a client cannot have a tunnel now; for a held client whose time is up. */
GError *
cv_connect_agent_why_no_tunnel (gpointer user_data)
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

GError *
cv_connect_agent_declined_error (CvConnectAgent *self)
{
  return g_error_new (CV_AGENT_ERROR, CV_AGENT_ERROR_LOST, "the sharer declined (%s)",
                      self->declined_reason);
}

/* The share agent or the gateway is away: the tunnel will not come soon, but they may be
 * back in a moment (a restart, a blink of the network).  Waiting clients are held. */
void
cv_connect_agent_hold_waiting (CvConnectAgent *self)
{
  cv_source_clear (&self->tunnel_timer);
  self->tunnel_requested = FALSE;
  if (self->waiting != NULL)
    cv_client_queue_hold (self->waiting, self->offline_hold_ms);
}

void
cv_connect_agent_drop_tunnel (CvConnectAgent *self)
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
      cv_connect_agent_notify (self, PROP_CONSENTED);
    }
  cv_connect_agent_set_round_trip (self, -1);
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
  cv_connect_agent_notify (self, PROP_N_CHANNELS);
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
  cv_connect_agent_emit_channel_closed (self, forward->mapping, forward->target, error);
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
  cv_connect_agent_emit_channel_opened (self, mapping, forward->target);
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
      g_autoptr (GError) error = cv_connect_agent_why_no_tunnel (self);
      cv_client_refuse (connection, mapping, error);
    }
}

void
cv_connect_agent_flush_waiting (CvConnectAgent *self)
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
  cv_connect_agent_fail_waiting (self, "no tunnel to the share agent within 20 s");
  return G_SOURCE_REMOVE;
}

void
cv_connect_agent_request_tunnel (CvConnectAgent *self)
{
  g_autoptr (JsonObject) body = json_object_new ();

  if (self->tunnel_requested)
    return;
  if (!cv_agent_link_send (self->link, CV_CONTROL_TUNNEL_REQUEST, body))
    {
      cv_connect_agent_hold_waiting (self);
      return;
    }
  self->tunnel_requested = TRUE;
  /* The share agent is online: the tunnel's own timeout is the clients' deadline now. */
  cv_client_queue_clear_deadlines (self->waiting);
  self->tunnel_timer = cv_agent_timeout_add (self->context, TUNNEL_TIMEOUT_MS, on_tunnel_timeout,
                                             self, "[culvert] connect agent tunnel timeout");
}

void
cv_connect_agent_on_local_connection (CvMapping *mapping,
                                      GSocketConnection *connection,
                                      CvConnectAgent *self)
{
  if (self->declined_reason != NULL)
    {
      g_autoptr (GError) error = cv_connect_agent_declined_error (self);
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
      cv_connect_agent_request_tunnel (self);
      return;
    }
  if (self->offline_hold_ms > 0)
    {
      g_autoptr (GError) why = cv_connect_agent_why_no_tunnel (self);
      g_autofree char *target = cv_mapping_dup_target (mapping);

      g_info ("connection to %s held up to %.1f s: %s", target, self->offline_hold_ms / 1000.0,
              why->message);
    }
  cv_connect_agent_hold_waiting (self);
}

/* ---- the tunnel --------------------------------------------------------- */

static void
on_tunnel_closed (CvMux *mux, const GError *error, CvConnectAgent *self)
{
  g_message ("tunnel to the share agent closed%s%s; the next connection reopens it",
             error != NULL ? ": " : "", error != NULL ? error->message : "");
  cv_connect_agent_drop_tunnel (self);
  /* Services first, nothing chosen yet: no connection will come to reopen it. */
  if (self->hold_request && cv_agent_link_is_ready (self->link) && self->share_online)
    cv_connect_agent_request_tunnel (self);
}

static void
on_tunnel_round_trip (CvMux *mux, GParamSpec *pspec, CvConnectAgent *self)
{
  cv_connect_agent_set_round_trip (self, cv_mux_get_round_trip_us (mux));
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
      cv_connect_agent_fail_waiting (self, "the tunnel could not be opened");
      return;
    }
  if (self->tunnel != NULL)
    {
      /* Two offers crossed; keep the tunnel that already carries channels. */
      g_io_stream_close (stream, NULL, NULL);
      cv_connect_agent_flush_waiting (self);
      return;
    }
  /* The handshake verified the key: now it may be pinned (unless, meanwhile, another
   * one was). */
  if (open->first_use && !check_share_key (self, open->fingerprint, TRUE, NULL))
    {
      g_io_stream_close (stream, NULL, NULL);
      cv_connect_agent_fail_waiting (self, "the share agent's key is not the pinned one");
      return;
    }
  {
    g_autoptr (GMainContextPusher) pusher = g_main_context_pusher_new (self->context);
    self->tunnel = cv_mux_new (stream, CV_MUX_ROLE_INITIATOR, NULL);
  }
  g_signal_connect (self->tunnel, "closed", G_CALLBACK (on_tunnel_closed), self);
  g_signal_connect (self->tunnel, "notify::round-trip-us", G_CALLBACK (on_tunnel_round_trip), self);
  g_signal_connect (self->tunnel, "control-message",
                    G_CALLBACK (cv_connect_agent_on_tunnel_control), self);
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
  cv_connect_agent_flush_waiting (self);
}

void
cv_connect_agent_on_tunnel_offer (CvConnectAgent *self, JsonObject *body)
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
      cv_connect_agent_fail_waiting (self, why);
      return;
    }
  if (ticket == NULL || fingerprint == NULL)
    {
      cv_connect_agent_fail_waiting (self, "the gateway sent a malformed tunnel offer");
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
      cv_connect_agent_fail_waiting (self, "the share agent's key is not the pinned one");
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

void
cv_connect_agent_update_presence (CvConnectAgent *self, JsonObject *body)
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
  cv_connect_agent_set_share (self, online, name);
  if (!online)
    cv_connect_agent_hold_waiting (self);
  else if (self->tunnel == NULL && cv_client_queue_get_length (self->waiting) > 0)
    cv_connect_agent_request_tunnel (self);
}
