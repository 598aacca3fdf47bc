/* cv-share-agent-consent.c: offered services and the sharer's consent.  With services,
 * a tunnel is sent the list, asks by name (SERVICE_REQUEST), and waits in a queue for
 * the sharer's answer, one prompt at a time, denied at the consent timeout; once
 * accepted, the requested services' targets are all it may reach.
 *
 * Split from cv-share-agent.c, which holds the object and its public calls.
 */
#include "roles/cv-share-agent-private.h"

#include "base/cv-source.h"
#include "roles/cv-agent-context.h"
#include "wire/cv-services.h"

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
  cv_share_agent_notify (self, PROP_CONSENT_PENDING);
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
  cv_share_agent_emit (self, SIGNAL_CONSENT_REQUESTED, tunnel->peer_name, tunnel->peer_address,
                       tunnel->peer_fingerprint, tunnel->requested, self->verification);
}

void
cv_share_agent_forget_consent (CvShareAgent *self, Tunnel *tunnel)
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
gboolean
cv_share_agent_answer (CvShareAgent *self, gboolean accepted, const char *reason)
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
          cv_share_agent_notify (self, PROP_CODE_STATE);
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
  cv_share_agent_answer (self, FALSE, CV_CONSENT_REASON_TIMEOUT);
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

void
cv_share_agent_on_tunnel_control (CvMux *mux, guint type, GBytes *json, Tunnel *tunnel)
{
  if (type == CV_TUNNEL_CONTROL_SERVICE_REQUEST && tunnel->agent->services != NULL)
    on_service_request (tunnel, json);
  else
    g_debug ("tunnel from “%s”: control message 0x%02x ignored", tunnel->peer_name, type);
}

void
cv_share_agent_send_services (CvShareAgent *self, Tunnel *tunnel)
{
  g_autofree char *json = cv_services_build (self->services);
  g_autoptr (GError) error = NULL;

  if (!cv_mux_send_control (tunnel->mux, CV_TUNNEL_CONTROL_SERVICES, json, &error))
    g_message ("tunnel from “%s”: the offered services could not be sent: %s", tunnel->peer_name,
               error->message);
}
