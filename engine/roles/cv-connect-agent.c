/* cv-connect-agent.c: the technician's side — mappings listen locally and forward through
 * one tunnel to the share agent.
 *
 * The tunnel opens on first use, stays while the link lives, and reopens when it
 * breaks.  Listeners stay up whatever the gateway does; a client arriving while the
 * share agent is offline, or while its key does not match the pinned one, is closed
 * at once with the reason in the log, never left hanging.
 */
#include "roles/cv-connect-agent.h"

#include "roles/cv-agent-tunnel.h"
#include "transport/cv-known-peers.h"
#include "base/cv-listen.h"
#include "mux/cv-channel-pump.h"

#define MAX_WAITING 512
#define TUNNEL_TIMEOUT_MS 20000

typedef struct {
  CvConnectAgent *agent; /* not owned */
  char *listen_host;
  guint16 listen_port;
  char *target_host;
  guint16 target_port;
  GSocketService *service;
} Mapping;

typedef struct {
  GSocketConnection *connection;
  Mapping *mapping;
} Waiting;

struct _CvConnectAgent {
  GObject parent_instance;

  CvAgentLink *link;
  char *known_peers_path;
  GPtrArray *mappings;
  GQueue waiting; /* of Waiting: clients that arrived before the tunnel */
  CvMux *tunnel;
  gboolean tunnel_requested;
  guint tunnel_timer_id;
  gboolean share_online;
  char *share_name;
  GCancellable *cancellable;
};

G_DEFINE_FINAL_TYPE (CvConnectAgent, cv_connect_agent, G_TYPE_OBJECT)

static void
mapping_free (gpointer data)
{
  Mapping *mapping = data;

  if (mapping->service != NULL)
    {
      g_socket_service_stop (mapping->service);
      g_socket_listener_close (G_SOCKET_LISTENER (mapping->service));
      g_signal_handlers_disconnect_by_data (mapping->service, mapping);
      g_object_unref (mapping->service);
    }
  g_free (mapping->listen_host);
  g_free (mapping->target_host);
  g_free (mapping);
}

static void
waiting_free (Waiting *waiting)
{
  g_object_unref (waiting->connection);
  g_free (waiting);
}

/* Close every waiting client: the tunnel will not come (soon). */
static void
fail_waiting (CvConnectAgent *self, const char *why)
{
  Waiting *waiting;
  guint n = 0;

  g_clear_handle_id (&self->tunnel_timer_id, g_source_remove);
  self->tunnel_requested = FALSE;
  while ((waiting = g_queue_pop_head (&self->waiting)) != NULL)
    {
      g_io_stream_close (G_IO_STREAM (waiting->connection), NULL, NULL);
      waiting_free (waiting);
      n++;
    }
  if (n > 0)
    g_warning ("closed %u local connection%s: %s", n, n == 1 ? "" : "s", why);
}

static void
drop_tunnel (CvConnectAgent *self)
{
  if (self->tunnel != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->tunnel, self);
      cv_mux_close (self->tunnel);
      g_clear_object (&self->tunnel);
    }
}

static void
cv_connect_agent_dispose (GObject *object)
{
  CvConnectAgent *self = CV_CONNECT_AGENT (object);

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  fail_waiting (self, "the agent is stopping");
  drop_tunnel (self);
  if (self->link != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->link, self);
      cv_agent_link_stop (self->link);
      g_clear_object (&self->link);
    }
  g_clear_pointer (&self->mappings, g_ptr_array_unref);

  G_OBJECT_CLASS (cv_connect_agent_parent_class)->dispose (object);
}

static void
cv_connect_agent_finalize (GObject *object)
{
  CvConnectAgent *self = CV_CONNECT_AGENT (object);

  g_free (self->known_peers_path);
  g_free (self->share_name);
  g_clear_object (&self->cancellable);

  G_OBJECT_CLASS (cv_connect_agent_parent_class)->finalize (object);
}

static void
cv_connect_agent_class_init (CvConnectAgentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cv_connect_agent_dispose;
  object_class->finalize = cv_connect_agent_finalize;
}

static void
cv_connect_agent_init (CvConnectAgent *self)
{
  self->mappings = g_ptr_array_new_with_free_func (mapping_free);
  self->cancellable = g_cancellable_new ();
  g_queue_init (&self->waiting);
}

/* ---- forwarding --------------------------------------------------------- */

static void
on_pump_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree char *target = user_data;
  g_autoptr (GError) error = NULL;
  CvPumpStats stats = { 0 };

  if (!cv_channel_pump_finish (result, &stats, &error))
    g_message ("connection to %s closed: %s", target, error->message);
  else
    g_debug ("connection to %s closed: %" G_GUINT64_FORMAT " bytes out, %" G_GUINT64_FORMAT
             " bytes in", target, stats.bytes_to_channel, stats.bytes_from_channel);
}

static void
forward (CvConnectAgent *self, GSocketConnection *connection, Mapping *mapping)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CvChannel) channel = cv_mux_open_channel (self->tunnel, mapping->target_host,
                                                       mapping->target_port, &error);

  if (channel == NULL)
    {
      g_warning ("cannot forward to %s:%u: %s", mapping->target_host, mapping->target_port,
                 error->message);
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      return;
    }
  cv_channel_pump_async (connection, channel, NULL, on_pump_done,
                       g_strdup_printf ("%s:%u", mapping->target_host, mapping->target_port));
}

static void
flush_waiting (CvConnectAgent *self)
{
  Waiting *waiting;

  g_clear_handle_id (&self->tunnel_timer_id, g_source_remove);
  self->tunnel_requested = FALSE;
  while (self->tunnel != NULL && (waiting = g_queue_pop_head (&self->waiting)) != NULL)
    {
      forward (self, waiting->connection, waiting->mapping);
      waiting_free (waiting);
    }
}

static gboolean
on_tunnel_timeout (gpointer user_data)
{
  CvConnectAgent *self = user_data;

  self->tunnel_timer_id = 0;
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
      fail_waiting (self, "the gateway is not reachable");
      return;
    }
  self->tunnel_requested = TRUE;
  self->tunnel_timer_id = g_timeout_add (TUNNEL_TIMEOUT_MS, on_tunnel_timeout, self);
}

static gboolean
on_local_connection (GSocketService *service, GSocketConnection *connection, GObject *source,
                     gpointer user_data)
{
  Mapping *mapping = user_data;
  CvConnectAgent *self = mapping->agent;
  Waiting *waiting;

  if (self->tunnel != NULL)
    {
      forward (self, connection, mapping);
      return TRUE;
    }
  if (!cv_agent_link_is_ready (self->link))
    {
      g_warning ("connection to %s:%u closed: the gateway is not reachable yet",
                 mapping->target_host, mapping->target_port);
      return TRUE; /* dropping our reference closes it */
    }
  if (!self->share_online)
    {
      g_warning ("connection to %s:%u closed: the share agent of session “%s” is offline",
                 mapping->target_host, mapping->target_port,
                 cv_agent_link_get_session (self->link));
      return TRUE;
    }
  if (g_queue_get_length (&self->waiting) >= MAX_WAITING)
    {
      g_warning ("connection to %s:%u closed: %u connections already wait for the tunnel",
                 mapping->target_host, mapping->target_port, MAX_WAITING);
      return TRUE;
    }
  waiting = g_new0 (Waiting, 1);
  waiting->connection = g_object_ref (connection);
  waiting->mapping = mapping;
  g_queue_push_tail (&self->waiting, waiting);
  request_tunnel (self);
  return TRUE;
}

/* ---- the tunnel --------------------------------------------------------- */

static void
on_tunnel_closed (CvMux *mux, const GError *error, CvConnectAgent *self)
{
  g_message ("tunnel to the share agent closed%s%s; the next connection reopens it",
             error != NULL ? ": " : "", error != NULL ? error->message : "");
  g_signal_handlers_disconnect_by_data (mux, self);
  g_clear_object (&self->tunnel);
}

static void
on_tunnel_open (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CvConnectAgent) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GIOStream) stream = cv_agent_tunnel_open_finish (result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  if (stream == NULL)
    {
      g_warning ("%s", error->message);
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
  self->tunnel = cv_mux_new (stream, CV_MUX_ROLE_INITIATOR, NULL);
  g_signal_connect (self->tunnel, "closed", G_CALLBACK (on_tunnel_closed), self);
  cv_mux_start (self->tunnel);
  g_message ("tunnel to share agent “%s” open, end-to-end TLS verified",
             self->share_name != NULL ? self->share_name : "?");
  flush_waiting (self);
}

/* The gateway announces the share agent's key; it must be the one pinned for this
 * session (or is pinned now, on first use). */
static gboolean
check_share_key (CvConnectAgent *self, const char *fingerprint)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *pinned = NULL;
  const char *session = cv_agent_link_get_session (self->link);

  switch (cv_known_peers_check (self->known_peers_path, session, fingerprint, &pinned, &error))
    {
    case CV_KNOWN_PEER_NEW:
      g_message ("session “%s”: share agent key %s pinned on first use (in %s)", session,
                 fingerprint, self->known_peers_path);
      return TRUE;
    case CV_KNOWN_PEER_MATCH:
      return TRUE;
    case CV_KNOWN_PEER_CHANGED:
    default:
      if (error != NULL)
        g_warning ("session “%s”: cannot check the share agent's key: %s", session,
                   error->message);
      else
        g_warning ("WARNING: session “%s”: the share agent's key CHANGED from %s to %s; "
                   "refusing to connect. If the share agent was reinstalled, delete the line "
                   "for “%s” in %s",
                   session, pinned, fingerprint, session, self->known_peers_path);
      return FALSE;
    }
}

static void
on_tunnel_offer (CvConnectAgent *self, JsonObject *body)
{
  const char *error_reason = cv_control_get_string (body, "error", 64, FALSE, NULL);
  const char *ticket = cv_control_get_string (body, "ticket", 64, FALSE, NULL);
  const char *fingerprint = cv_control_get_string (body, "peer_fingerprint", 80, FALSE, NULL);

  if (error_reason != NULL)
    {
      g_autofree char *why = g_strdup_printf ("the gateway could not offer a tunnel: %s",
                                              error_reason);
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
  if (!check_share_key (self, fingerprint))
    {
      fail_waiting (self, "the share agent's key is not the pinned one");
      return;
    }
  cv_agent_tunnel_open_async (cv_agent_link_get_gateway (self->link), ticket, FALSE,
                              cv_agent_link_get_identity (self->link), fingerprint,
                              self->cancellable, on_tunnel_open, g_object_ref (self));
}

static void
update_presence (CvConnectAgent *self, JsonObject *body)
{
  gboolean online = FALSE;

  cv_control_get_bool (body, "share_online", &online, NULL);
  if (online != self->share_online)
    g_message ("session “%s”: share agent %s", cv_agent_link_get_session (self->link),
               online ? "online" : "offline");
  self->share_online = online;
  g_free (self->share_name);
  self->share_name = g_strdup (cv_control_get_string (body, "share_name", 128, FALSE, NULL));
  if (!online)
    fail_waiting (self, "the share agent went offline");
}

static void
on_link_ready (CvAgentLink *link, JsonObject *welcome, CvConnectAgent *self)
{
  update_presence (self, welcome);
}

static void
on_link_message (CvAgentLink *link, guint type, JsonObject *body, CvConnectAgent *self)
{
  if (type == CV_CONTROL_PRESENCE)
    update_presence (self, body);
  else if (type == CV_CONTROL_TUNNEL_OFFER)
    on_tunnel_offer (self, body);
}

static void
on_link_lost (CvAgentLink *link, const GError *error, CvConnectAgent *self)
{
  self->share_online = FALSE;
  fail_waiting (self, "the link to the gateway went down");
}

/* ---- public ------------------------------------------------------------- */

/**
 * cv_connect_agent_new:
 * @link: (transfer full): a control link in the connect role, not started
 * @known_peers_path: where share agents' keys are pinned
 */
CvConnectAgent *
cv_connect_agent_new (CvAgentLink *link, const char *known_peers_path)
{
  CvConnectAgent *self = g_object_new (CV_TYPE_CONNECT_AGENT, NULL);

  self->link = link;
  self->known_peers_path = g_strdup (known_peers_path);
  g_signal_connect (link, "ready", G_CALLBACK (on_link_ready), self);
  g_signal_connect (link, "message", G_CALLBACK (on_link_message), self);
  g_signal_connect (link, "lost", G_CALLBACK (on_link_lost), self);
  return self;
}

/**
 * cv_connect_agent_add_mapping:
 * @bound_port: (out) (optional): the port actually bound (for port 0)
 *
 * Starts listening at once, whatever the state of the gateway.
 */
gboolean
cv_connect_agent_add_mapping (CvConnectAgent *self,
                              const char *listen_host,
                              guint16 listen_port,
                              const char *target_host,
                              guint16 target_port,
                              guint16 *bound_port,
                              GError **error)
{
  Mapping *mapping = g_new0 (Mapping, 1);

  mapping->agent = self;
  mapping->listen_host = g_strdup (listen_host);
  mapping->target_host = g_strdup (target_host);
  mapping->target_port = target_port;
  mapping->service = g_socket_service_new ();
  /* GIO's default backlog of 10 resets bursts of connections (a browser opens many). */
  if (!cv_listen_add (G_SOCKET_LISTENER (mapping->service), listen_host, listen_port, 256,
                      &mapping->listen_port, error))
    {
      g_prefix_error (error, "mapping %s:%u → %s:%u: ", listen_host, listen_port, target_host,
                      target_port);
      mapping_free (mapping);
      return FALSE;
    }
  if (bound_port != NULL)
    *bound_port = mapping->listen_port;
  g_signal_connect (mapping->service, "incoming", G_CALLBACK (on_local_connection), mapping);
  g_socket_service_start (mapping->service);
  g_ptr_array_add (self->mappings, mapping);
  g_message ("mapping %s:%u → %s:%u (as the share agent sees it)", listen_host,
             mapping->listen_port, target_host, target_port);
  return TRUE;
}

void
cv_connect_agent_start (CvConnectAgent *self)
{
  cv_agent_link_start (self->link);
}

CvAgentLink *
cv_connect_agent_get_link (CvConnectAgent *self)
{
  return self->link;
}
