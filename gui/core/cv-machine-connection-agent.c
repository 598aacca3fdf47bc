/* cv-machine-connection-agent.c: the machine connection's engine side — the connect agent
 * built in code, one mapping per service (a taken saved port falls back to a free one),
 * and what its link's state means for the person: connected, reconnecting by itself,
 * or stopped for a reason only they can fix (a wrong password, a changed key). */
#include "cv-machine-connection-private.h"

#include "cv-app-error.h"
#include "cv-service-link.h"

#include "roles/cv-refusal.h"
#include "transport/cv-gateway-probe.h"
#include "transport/cv-identity.h"

#include <glib/gi18n.h>

/* ---- building the agent ------------------------------------------------- */

/**
 * cv_machine_connection_probe_key:
 *
 * What key the machine's gateway presents, asked the way the agent reaches it: by
 * host:port, or through its WebSocket (the outer TLS checked as the agent checks it).
 * On the thread-default main context; finish with cv_gateway_probe_fingerprint_finish ().
 */
void
cv_machine_connection_probe_key (CvMachineConnection *self,
                                 GAsyncReadyCallback callback,
                                 gpointer user_data)
{
  CvGatewayAddress address = {
    .host = (char *) cv_machine_get_gateway_host (self->machine),
    .port = cv_machine_get_gateway_port (self->machine),
    .web_path = (char *) cv_machine_get_gateway_web_path (self->machine),
    .web_tls = cv_machine_get_gateway_web_tls (self->machine),
    .web_fingerprint = (char *) cv_machine_get_web_fingerprint (self->machine),
  };

  /* The probe copies what it keeps of @address. */
  cv_gateway_probe_fingerprint_at_async (&address, 0, self->cancellable, callback, user_data);
}

/**
 * cv_machine_connection_make_agent:
 *
 * The engine's connect agent for the machine: its gateway with the trusted key pinned,
 * its session and @password, this computer's name, the connection's state dir (the
 * agent's key, the pinned share agents in known_shares); no mapping yet.
 *
 * Returns: (transfer full): the agent, not started, on the connection's main context
 */
CvConnectAgent *
cv_machine_connection_make_agent (CvMachineConnection *self, const char *password, GError **error)
{
  g_autoptr (CvConnectConfig) config = cv_connect_config_new ();
  g_autoptr (GError) local_error = NULL;
  g_autofree char *known_shares = NULL;
  CvAgentLink *link;
  CvConnectAgent *agent;

  cv_agent_config_set_gateway (&config->agent, cv_machine_get_gateway_host (self->machine),
                               cv_machine_get_gateway_port (self->machine),
                               cv_machine_get_fingerprint (self->machine));
  /* A ws:// or wss:// gateway: the same link inside a WebSocket; the system's proxy
   * settings apply (no proxy set here). */
  cv_agent_config_set_web (&config->agent, cv_machine_get_gateway_web_path (self->machine),
                           cv_machine_get_gateway_web_tls (self->machine),
                           cv_machine_get_web_fingerprint (self->machine));
  cv_agent_config_set_session (&config->agent, cv_machine_get_session (self->machine));
  cv_agent_config_set_password (&config->agent, password);
  cv_agent_config_set_name (&config->agent, g_get_host_name ());
  cv_agent_config_set_state_dir (&config->agent, self->state_dir);

  link = cv_agent_link_new_from_config (&config->agent, CV_AGENT_ROLE_CONNECT, self->context,
                                        &local_error);
  if (link == NULL)
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_FAILED,
                   _ ("Culvert could not prepare the connection: %s. Check the machine’s "
                      "settings and that %s can be written to."),
                   local_error->message, self->state_dir);
      return NULL;
    }
  known_shares = g_build_filename (self->state_dir, "known_shares", NULL);
  agent = cv_connect_agent_new (link, known_shares);
  cv_connect_agent_set_offline_hold_ms (agent, config->offline_hold_ms);
  return agent;
}

/* The service listens on its saved port, or on any free one when that is taken. */
static void
map_service (CvMachineConnection *self, CvServiceLink *link)
{
  CvMachineService *service = cv_service_link_get_service (link);
  GListModel *mappings = cv_connect_agent_get_mappings (self->agent);
  guint16 saved_port = cv_machine_service_get_local_port (service);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvMapping) mapping = NULL;
  gboolean fell_back = FALSE;
  gboolean listening;

  listening = cv_connect_agent_add_mapping (self->agent, "127.0.0.1", saved_port,
                                            cv_machine_service_get_target_host (service),
                                            cv_machine_service_get_target_port (service), &error);
  mapping = g_list_model_get_item (mappings, g_list_model_get_n_items (mappings) - 1);
  if (!listening && saved_port != 0
      && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
    {
      /* The engine keeps a mapping that could not listen, with its error: this one is
       * replaced, not kept beside its replacement. */
      cv_connect_agent_remove_mapping (self->agent, mapping);
      g_clear_object (&mapping);
      g_clear_error (&error);
      fell_back = cv_connect_agent_add_mapping (self->agent, "127.0.0.1", 0,
                                                cv_machine_service_get_target_host (service),
                                                cv_machine_service_get_target_port (service),
                                                &error);
      mapping = g_list_model_get_item (mappings, g_list_model_get_n_items (mappings) - 1);
    }
  if (error != NULL)
    g_message ("%s: %s", cv_machine_get_name (self->machine), error->message);
  cv_service_link_set_mapping (link, mapping, fell_back);
}

/* ---- what the link says ------------------------------------------------- */

static gint64
retry_time_monotonic (CvAgentLink *link)
{
  gint64 real = cv_agent_link_get_next_retry_time (link);

  /* The link counts in wall-clock time, the connection in monotonic time. */
  if (real == 0)
    return 0;
  return g_get_monotonic_time () + MAX (0, real - g_get_real_time ());
}

/* Why the link is down, as a sentence; the engine retries by itself. */
static GError *
word_link_error (CvMachineConnection *self, const GError *error)
{
  g_autofree char *gateway = cv_machine_dup_gateway (self->machine);
  const char *why = error != NULL ? error->message : _ ("no reason given");
  GQuark domain = error != NULL ? error->domain : CV_AGENT_ERROR;
  int code = error != NULL ? error->code : CV_AGENT_ERROR_LOST;

  if (g_error_matches (error, CV_AGENT_ERROR, CV_AGENT_ERROR_UNREACHABLE))
    return g_error_new (domain, code,
                        _ ("The gateway at %s cannot be reached (%s). Culvert tries again by "
                           "itself."),
                        gateway, why);
  if (g_error_matches (error, CV_AGENT_ERROR, CV_AGENT_ERROR_TLS))
    return g_error_new (domain, code,
                        _ ("The secure connection to the gateway at %s failed (%s). Culvert "
                           "tries again by itself."),
                        gateway, why);
  if (domain == CV_REFUSAL_ERROR)
    return g_error_new (domain, code, _ ("%s. Culvert tries again by itself."), why);
  return g_error_new (domain, code,
                      _ ("The connection to the gateway at %s was lost (%s). Culvert reconnects "
                         "by itself."),
                      gateway, why);
}

/* Whether @agent is still the connection's own: a handler of any notification may have
 * disconnected (or connected again), and then nothing more is said for @agent. */
static gboolean
still_ours (CvMachineConnection *self, CvConnectAgent *agent)
{
  return agent != NULL && self->agent == agent;
}

static void
reconnecting (CvMachineConnection *self, const GError *link_error)
{
  CvConnectAgent *agent = self->agent;
  g_autoptr (GError) why = word_link_error (self, link_error);
  gboolean was_connected = self->state == CV_CONNECTION_STATE_CONNECTED;
  gint64 retry_time = retry_time_monotonic (cv_connect_agent_get_link (agent));

  /* Read before any notification: a handler may disconnect. */
  cv_machine_connection_set_presence (self, CV_PRESENCE_UNKNOWN);
  if (!still_ours (self, agent))
    return;
  cv_machine_connection_set_next_retry_time (self, retry_time);
  if (!still_ours (self, agent))
    return;
  cv_machine_connection_take_error (self, g_error_copy (why));
  if (!still_ours (self, agent))
    return;
  cv_machine_connection_set_state (self, CV_CONNECTION_STATE_RECONNECTING);
  if (was_connected && !self->dropped && still_ours (self, agent))
    {
      self->dropped = TRUE;
      cv_machine_connection_update_status (self);
      cv_machine_connection_emit (self, SIGNAL_DROPPED, why);
    }
}

/* A refusal that retrying cannot mend stops the connection. */
static gboolean
refusal_is_final (CvRefusal refusal)
{
  return refusal == CV_REFUSAL_BAD_PASSWORD || refusal == CV_REFUSAL_UNKNOWN_SESSION
         || refusal == CV_REFUSAL_VERSION_MISMATCH || refusal == CV_REFUSAL_BAD_REQUEST;
}

static void
refused (CvMachineConnection *self, CvAgentLink *link)
{
  CvRefusal refusal = cv_agent_link_get_refusal (link);
  g_autofree char *sentence = NULL;
  const char *what_to_do;

  if (!refusal_is_final (refusal))
    {
      reconnecting (self, cv_agent_link_get_last_error (link));
      return;
    }
  /* The engine's words for the reason, then what to do about it. */
  sentence = cv_refusal_describe (refusal, cv_machine_get_session (self->machine));
  if (refusal == CV_REFUSAL_BAD_PASSWORD)
    what_to_do = _ ("Edit the machine and check its password.");
  else if (refusal == CV_REFUSAL_UNKNOWN_SESSION)
    what_to_do = _ ("Edit the machine and check its Session field.");
  else
    what_to_do = _ ("Update Culvert, or ask the gateway’s administrator.");
  cv_machine_connection_fail (self, g_error_new (CV_REFUSAL_ERROR, refusal, "%s. %s", sentence,
                                                 what_to_do));
}

typedef struct {
  CvMachineConnection *self;
  CvConnectAgent *agent; /* the attempt it was asked for */
} Probe;

static void
on_key_probed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Probe *probe = user_data;
  CvMachineConnection *self = probe->self;
  g_autoptr (GError) error = NULL;
  g_autofree char *presented = cv_gateway_probe_fingerprint_finish (result, &error);
  const char *trusted = cv_machine_get_fingerprint (self->machine);

  if (self->agent == probe->agent)
    self->probing = FALSE;
  /* A key that is the trusted one (or no answer) leaves the link to its retries. */
  if (self->agent == probe->agent && presented != NULL && trusted != NULL
      && !cv_fingerprint_equal (presented, trusted))
    {
      cv_machine_connection_set_changed_fingerprint (self, presented);
      cv_machine_connection_fail (
        self, g_error_new (CV_APP_ERROR, CV_APP_ERROR_KEY_CHANGED,
                           _ ("The gateway’s identity has changed: it now presents %s instead of "
                              "the trusted %s. This can mean someone is intercepting the "
                              "connection, or the gateway was reinstalled. Ask its "
                              "administrator; to trust the new key on purpose, edit the machine "
                              "and forget the trusted key."),
                           presented, trusted));
    }
  g_object_unref (probe->agent);
  g_object_unref (probe->self);
  g_free (probe);
}

/* A failed TLS handshake: is it another key?  Asked once at a time. */
static void
probe_key (CvMachineConnection *self)
{
  g_autoptr (GMainContextPusher) pusher = NULL;
  Probe *probe;

  if (self->probing)
    return;
  self->probing = TRUE;
  probe = g_new0 (Probe, 1);
  probe->self = g_object_ref (self);
  probe->agent = g_object_ref (self->agent);
  pusher = g_main_context_pusher_new (self->context);
  cv_machine_connection_probe_key (self, on_key_probed, probe);
}

static void
online (CvMachineConnection *self)
{
  CvConnectAgent *agent = self->agent;
  gboolean share = cv_connect_agent_get_share_online (agent);

  /* After each notification: a handler may have disconnected, and then the connection
   * stays as that left it. */
  cv_machine_connection_set_next_retry_time (self, 0);
  if (!still_ours (self, agent))
    return;
  cv_machine_connection_take_error (self, NULL);
  if (!still_ours (self, agent))
    return;
  cv_machine_connection_set_presence (self, share ? CV_PRESENCE_ONLINE : CV_PRESENCE_OFFLINE);
  if (!still_ours (self, agent))
    return;
  cv_machine_connection_set_state (self, CV_CONNECTION_STATE_CONNECTED);
  if (!still_ours (self, agent))
    return;
  if (!self->connected_once)
    {
      self->connected_once = TRUE;
      cv_machine_set_last_used (self->machine, g_get_real_time () / G_USEC_PER_SEC);
      if (!still_ours (self, agent))
        return;
      cv_machine_connection_emit (self, SIGNAL_CONNECTED);
      if (!still_ours (self, agent))
        return;
    }
  if (share && self->dropped)
    {
      self->dropped = FALSE;
      cv_machine_connection_update_status (self);
      if (!still_ours (self, agent))
        return;
      cv_machine_connection_emit (self, SIGNAL_RESTORED);
    }
  else if (!share && !self->dropped && self->share_seen)
    {
      g_autoptr (GError) why =
        g_error_new_literal (CV_APP_ERROR, CV_APP_ERROR_FAILED,
                             _ (
                               "The machine went offline. Culvert goes on as soon as it is back."));

      self->dropped = TRUE;
      cv_machine_connection_update_status (self);
      if (!still_ours (self, agent))
        return;
      cv_machine_connection_emit (self, SIGNAL_DROPPED, why);
    }
  if (share && still_ours (self, agent))
    self->share_seen = TRUE;
}

static void
follow_link (CvMachineConnection *self)
{
  CvAgentLink *link = cv_connect_agent_get_link (self->agent);
  const GError *error = cv_agent_link_get_last_error (link);

  switch (cv_connect_agent_get_state (self->agent))
    {
    case CV_AGENT_LINK_STATE_ONLINE:
      online (self);
      break;
    case CV_AGENT_LINK_STATE_CONNECTING:
      /* Dialling again: the count-down is over. */
      if (self->state == CV_CONNECTION_STATE_RECONNECTING)
        cv_machine_connection_set_next_retry_time (self, 0);
      break;
    case CV_AGENT_LINK_STATE_BACKING_OFF:
      if (g_error_matches (error, CV_AGENT_ERROR, CV_AGENT_ERROR_TLS))
        probe_key (self);
      reconnecting (self, error);
      break;
    case CV_AGENT_LINK_STATE_REFUSED:
      refused (self, link);
      break;
    case CV_AGENT_LINK_STATE_STOPPED:
    default:
      /* Not by us (we drop the agent first): the engine gave up. */
      cv_machine_connection_fail (self, word_link_error (self, error));
      break;
    }
}

static void
on_agent_state (CvConnectAgent *agent, GParamSpec *pspec, CvMachineConnection *self)
{
  g_autoptr (CvMachineConnection) alive = g_object_ref (self);

  self->in_agent_signal++;
  follow_link (self);
  self->in_agent_signal--;
}

static void
on_share_online (CvConnectAgent *agent, GParamSpec *pspec, CvMachineConnection *self)
{
  g_autoptr (CvMachineConnection) alive = g_object_ref (self);

  self->in_agent_signal++;
  if (cv_connect_agent_get_state (agent) == CV_AGENT_LINK_STATE_ONLINE)
    online (self);
  self->in_agent_signal--;
}

static void
on_traffic (CvConnectAgent *agent, GParamSpec *pspec, CvMachineConnection *self)
{
  g_autoptr (CvMachineConnection) alive = g_object_ref (self);
  guint n_channels = cv_connect_agent_get_n_channels (agent);
  gint64 round_trip_us = cv_connect_agent_get_round_trip_us (agent);

  /* A handler of "n-channels" may disconnect: inside the agent's own notification, which
   * comes from deep in its tunnel, so the agent is then stopped on an idle. */
  self->in_agent_signal++;
  /* One notification at a time, nothing more once a handler disconnected. */
  cv_machine_connection_set_traffic (self, n_channels, self->round_trip_us);
  if (still_ours (self, agent))
    cv_machine_connection_set_traffic (self, n_channels, round_trip_us);
  self->in_agent_signal--;
}

/* ---- start and stop ----------------------------------------------------- */

void
cv_machine_connection_start_agent (CvMachineConnection *self)
{
  g_autoptr (GMainContextPusher) pusher = g_main_context_pusher_new (self->context);
  g_autoptr (CvSecret) password = g_steal_pointer (&self->password);
  GError *error = NULL;
  guint n;

  g_return_if_fail (self->agent == NULL);

  self->agent = cv_machine_connection_make_agent (self, password, &error);
  if (self->agent == NULL)
    {
      cv_machine_connection_fail (self, error);
      return;
    }
  self->share_seen = FALSE;
  n = g_list_model_get_n_items (G_LIST_MODEL (self->services));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (CvServiceLink) link = g_list_model_get_item (G_LIST_MODEL (self->services), i);

      map_service (self, link);
    }
  g_signal_connect (self->agent, "notify::state", G_CALLBACK (on_agent_state), self);
  g_signal_connect (self->agent, "notify::share-online", G_CALLBACK (on_share_online), self);
  g_signal_connect (self->agent, "notify::n-channels", G_CALLBACK (on_traffic), self);
  g_signal_connect (self->agent, "notify::round-trip-us", G_CALLBACK (on_traffic), self);
  cv_machine_connection_set_state (self, CV_CONNECTION_STATE_CONNECTING);
  cv_connect_agent_start (self->agent);
}

static gboolean
stop_agent (gpointer data)
{
  CvConnectAgent *agent = data;

  cv_connect_agent_stop (agent);
  return G_SOURCE_REMOVE;
}

void
cv_machine_connection_retire_agent (CvMachineConnection *self, CvConnectAgent *agent)
{
  g_autoptr (GMainContextPusher) pusher = g_main_context_pusher_new (self->context);
  GListModel *mappings = cv_connect_agent_get_mappings (agent);
  GSource *idle;

  g_signal_handlers_disconnect_by_data (agent, self);
  if (self->in_agent_signal == 0)
    {
      cv_connect_agent_stop (agent);
      g_object_unref (agent);
      return;
    }
  /* The engine is telling us something from deep inside the agent's link: stopping it
   * there would finalize the link under its own feet.  The ports close now all the same. */
  for (guint i = 0; i < g_list_model_get_n_items (mappings); i++)
    {
      g_autoptr (CvMapping) mapping = g_list_model_get_item (mappings, i);

      cv_mapping_stop (mapping);
    }
  idle = g_idle_source_new ();
  g_source_set_callback (idle, stop_agent, agent, g_object_unref);
  g_source_set_static_name (idle, "[culvert] stop a machine's agent");
  g_source_attach (idle, self->context);
  g_source_unref (idle);
}

void
cv_machine_connection_drop_agent (CvMachineConnection *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->services));

  if (self->agent != NULL)
    cv_machine_connection_retire_agent (self, g_steal_pointer (&self->agent));
  self->probing = FALSE;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (CvServiceLink) link = g_list_model_get_item (G_LIST_MODEL (self->services), i);

      cv_service_link_set_mapping (link, NULL, FALSE);
    }
  cv_machine_connection_set_traffic (self, 0, -1);
  cv_machine_connection_set_presence (self, CV_PRESENCE_UNKNOWN);
}
