/* cv-machine-connection-presence.c: whether the machine is online while nobody is connected
 * to it — a connect agent of the engine with no mapping, so it listens on no port and asks
 * for no tunnel (a tunnel is only requested for a local client); its link only hears the
 * gateway's presence of the share agent.  It needs a trusted key (it never asks for trust)
 * and a stored password, and gives way to the real agent on connect (). */
#include "cv-machine-connection-private.h"

#include "roles/cv-refusal.h"

typedef struct {
  CvMachineConnection *self;
  GCancellable *cancellable; /* the watch it was asked for */
} Lookup;

static void
follow_presence (CvMachineConnection *self)
{
  CvConnectAgent *agent = self->presence_agent;
  CvAgentLink *link = cv_connect_agent_get_link (agent);
  CvRefusal refusal = cv_agent_link_get_refusal (link);

  switch (cv_connect_agent_get_state (agent))
    {
    case CV_AGENT_LINK_STATE_ONLINE:
      cv_machine_connection_set_presence (self, cv_connect_agent_get_share_online (agent)
                                                  ? CV_PRESENCE_ONLINE
                                                  : CV_PRESENCE_OFFLINE);
      break;
    case CV_AGENT_LINK_STATE_REFUSED:
      /* A wrong password is not tried again and again in the background: connect ()
       * tells the person. */
      if (refusal == CV_REFUSAL_BAD_PASSWORD || refusal == CV_REFUSAL_UNKNOWN_SESSION
          || refusal == CV_REFUSAL_VERSION_MISMATCH || refusal == CV_REFUSAL_BAD_REQUEST)
        {
          g_message ("%s: presence not watched: %s", cv_machine_get_name (self->machine),
                     cv_agent_link_get_last_error (link)->message);
          cv_machine_connection_stop_presence (self);
        }
      cv_machine_connection_set_presence (self, CV_PRESENCE_UNKNOWN);
      break;
    case CV_AGENT_LINK_STATE_CONNECTING:
      /* Nothing new until it is online or down. */
      break;
    case CV_AGENT_LINK_STATE_BACKING_OFF:
    case CV_AGENT_LINK_STATE_STOPPED:
    default:
      cv_machine_connection_set_presence (self, CV_PRESENCE_UNKNOWN);
      break;
    }
}

static void
on_presence_changed (CvConnectAgent *agent, GParamSpec *pspec, CvMachineConnection *self)
{
  g_autoptr (CvMachineConnection) alive = g_object_ref (self);

  self->in_agent_signal++;
  follow_presence (self);
  self->in_agent_signal--;
}

static void
on_presence_password (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Lookup *lookup = user_data;
  CvMachineConnection *self = lookup->self;
  g_autoptr (GError) error = NULL;
  g_autoptr (CvSecret) password = cv_secret_store_lookup_finish (CV_SECRET_STORE (source), result,
                                                                 &error);
  g_autoptr (GMainContextPusher) pusher = NULL;

  if (g_cancellable_is_cancelled (lookup->cancellable)
      || self->presence_cancellable != lookup->cancellable
      || self->state != CV_CONNECTION_STATE_IDLE)
    goto out;
  /* No keyring or no password: nothing to log in with, presence stays unknown. */
  if (password == NULL)
    goto out;
  self->presence_agent = cv_machine_connection_make_agent (self, password, &error);
  if (self->presence_agent == NULL)
    {
      g_message ("%s: presence not watched: %s", cv_machine_get_name (self->machine),
                 error->message);
      goto out;
    }
  g_signal_connect (self->presence_agent, "notify::state", G_CALLBACK (on_presence_changed), self);
  g_signal_connect (self->presence_agent, "notify::share-online", G_CALLBACK (on_presence_changed),
                    self);
  pusher = g_main_context_pusher_new (self->context);
  cv_connect_agent_start (self->presence_agent);

out:
  g_object_unref (lookup->cancellable);
  g_object_unref (lookup->self);
  g_free (lookup);
}

void
cv_machine_connection_stop_presence (CvMachineConnection *self)
{
  if (self->presence_cancellable != NULL)
    {
      g_cancellable_cancel (self->presence_cancellable);
      g_clear_object (&self->presence_cancellable);
    }
  if (self->presence_agent != NULL)
    cv_machine_connection_retire_agent (self, g_steal_pointer (&self->presence_agent));
}

/* Called when the watch, the state or the machine's gateway, session or key change: the
 * presence agent starts again for what is true now, or stops. */
void
cv_machine_connection_update_presence_watch (CvMachineConnection *self)
{
  g_autoptr (GMainContextPusher) pusher = NULL;
  Lookup *lookup;

  cv_machine_connection_stop_presence (self);
  /* While connecting or connected, the real agent says it. */
  if (self->state != CV_CONNECTION_STATE_IDLE)
    return;
  cv_machine_connection_set_presence (self, CV_PRESENCE_UNKNOWN);
  if (!self->watch_presence || cv_machine_get_fingerprint (self->machine) == NULL
      || !cv_machine_check (self->machine, NULL))
    return;

  self->presence_cancellable = g_cancellable_new ();
  lookup = g_new0 (Lookup, 1);
  lookup->self = g_object_ref (self);
  lookup->cancellable = g_object_ref (self->presence_cancellable);
  pusher = g_main_context_pusher_new (self->context);
  cv_secret_store_lookup_async (self->secrets, cv_machine_get_id (self->machine),
                                self->presence_cancellable, on_presence_password, lookup);
}
