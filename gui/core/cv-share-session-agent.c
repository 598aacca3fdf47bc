/* cv-share-session-agent.c: the share session's engine side — the share agent built in
 * code (code mode, the offered services on 127.0.0.1, the gateway's key pinned), and what
 * it says, in the person's words: a code to read out, and why it stopped (a wrong or
 * expired code, the gateway away or changed).  The helper's request is followed in
 * cv-share-session-consent.c, what they opened in cv-share-session-activity.c. */
#include "cv-share-session-private.h"

#include "cv-app-error.h"

#include "roles/cv-refusal.h"
#include "transport/cv-gateway-probe.h"
#include "transport/cv-identity.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <errno.h>
#include <string.h>

/* ---- words ---------------------------------------------------------------- */

/* Why the link is down, as a sentence; the engine retries by itself. */
static GError *
word_link_error (CvShareSession *self, const GError *error)
{
  const char *why = error != NULL ? error->message : _ ("no reason given");

  if (g_error_matches (error, CV_AGENT_ERROR, CV_AGENT_ERROR_TLS))
    return g_error_new (CV_APP_ERROR, CV_APP_ERROR_FAILED,
                        _ ("The secure connection to the gateway at %s failed (%s). Culvert "
                           "tries again by itself."),
                        self->gateway.address, why);
  return g_error_new (CV_APP_ERROR, CV_APP_ERROR_FAILED,
                      _ ("The gateway at %s cannot be reached (%s). Culvert tries again by "
                         "itself; the code comes when it answers."),
                      self->gateway.address, why);
}

/* ---- following the agent ---------------------------------------------------- */

/* Whether @agent is still the session's own: a handler may have stopped or restarted. */
static gboolean
still_ours (CvShareSession *self, CvShareAgent *agent)
{
  return agent != NULL && self->agent == agent;
}

typedef struct {
  CvShareSession *self;
  CvShareAgent *agent;
} Probe;

static void
on_key_probed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Probe *probe = user_data;
  CvShareSession *self = probe->self;
  g_autoptr (GError) error = NULL;
  g_autofree char *presented = cv_gateway_probe_fingerprint_finish (result, &error);

  if (still_ours (self, probe->agent))
    self->probing = FALSE;
  if (still_ours (self, probe->agent) && presented != NULL
      && !cv_fingerprint_equal (presented, self->gateway.fingerprint))
    {
      cv_share_session_drop_agent (self);
      cv_share_session_set_code (self, NULL, 0);
      cv_share_session_fail (
        self, g_error_new (CV_APP_ERROR, CV_APP_ERROR_KEY_CHANGED,
                           _ ("The gateway at %s is not the one your helpdesk set up: it "
                              "presents the key %s instead of %s. Someone may be intercepting "
                              "the connection, so Culvert does not share through it. Ask your "
                              "helpdesk."),
                           self->gateway.address, presented, self->gateway.fingerprint));
    }
  g_object_unref (probe->agent);
  g_object_unref (probe->self);
  g_free (probe);
}

/* A failed TLS handshake: is it another key?  One probe at a time. */
static void
probe_key (CvShareSession *self)
{
  g_autoptr (GMainContextPusher) pusher = NULL;
  g_autofree char *host = NULL;
  guint16 port = 0;
  Probe *probe;

  if (self->probing || !cv_share_gateway_split (&self->gateway, &host, &port, NULL))
    return;
  self->probing = TRUE;
  probe = g_new0 (Probe, 1);
  probe->self = g_object_ref (self);
  probe->agent = g_object_ref (self->agent);
  pusher = g_main_context_pusher_new (self->context);
  cv_gateway_probe_fingerprint_async (host, port, 0, self->cancellable, on_key_probed, probe);
}

static gboolean
refusal_is_final (CvRefusal refusal)
{
  return refusal == CV_REFUSAL_BAD_PASSWORD || refusal == CV_REFUSAL_UNKNOWN_SESSION
         || refusal == CV_REFUSAL_VERSION_MISMATCH || refusal == CV_REFUSAL_BAD_REQUEST;
}

/* Whether the link's trouble is news: not to a connected helper (whose tunnel is its
 * own, and the session follows that), nor over a code's own end (burned, declined). */
static gboolean
link_matters (CvShareSession *self)
{
  switch (self->state)
    {
    case CV_SHARE_STATE_STARTING:
    case CV_SHARE_STATE_WAITING:
    case CV_SHARE_STATE_VERIFYING:
    case CV_SHARE_STATE_ASKING:
      return TRUE;
    case CV_SHARE_STATE_FAILED:
      return g_error_matches (self->error, CV_APP_ERROR, CV_APP_ERROR_FAILED);
    default:
      return FALSE;
    }
}

static void
follow_link (CvShareSession *self, CvShareAgent *agent)
{
  CvAgentLink *link = cv_share_agent_get_link (agent);
  const GError *error = cv_agent_link_get_last_error (link);
  CvRefusal refusal;
  g_autofree char *sentence = NULL;

  switch (cv_share_agent_get_state (agent))
    {
    case CV_AGENT_LINK_STATE_BACKING_OFF:
      if (g_error_matches (error, CV_AGENT_ERROR, CV_AGENT_ERROR_TLS))
        probe_key (self);
      if (still_ours (self, agent) && link_matters (self))
        cv_share_session_fail (self, word_link_error (self, error));
      break;
    case CV_AGENT_LINK_STATE_REFUSED:
      refusal = cv_agent_link_get_refusal (link);
      if (!refusal_is_final (refusal))
        {
          if (link_matters (self))
            cv_share_session_fail (self, word_link_error (self, error));
          break;
        }
      sentence = cv_refusal_describe (refusal, NULL);
      cv_share_session_drop_agent (self);
      cv_share_session_fail (self, g_error_new (CV_APP_ERROR, CV_APP_ERROR_FAILED,
                                                _ ("The gateway at %s refused to give a code: %s. "
                                                   "Ask your helpdesk."),
                                                self->gateway.address, sentence));
      break;
    case CV_AGENT_LINK_STATE_STOPPED:
      /* Not by us (we drop the agent first): the engine gave up. */
      cv_share_session_drop_agent (self);
      cv_share_session_fail (self, word_link_error (self, error));
      break;
    case CV_AGENT_LINK_STATE_ONLINE:
    case CV_AGENT_LINK_STATE_CONNECTING:
    default:
      break;
    }
}

/* @state_changed: "code-state" was notified (a new code comes before its WAITING, while
 * the state still says the old one was burned). */
static void
follow_code (CvShareSession *self, CvShareAgent *agent, gboolean state_changed)
{
  const char *code = cv_share_agent_get_code (agent);

  cv_share_session_set_code (self, code, cv_share_agent_get_code_expires (agent));
  if (!still_ours (self, agent))
    return;
  switch (cv_share_agent_get_code_state (agent))
    {
    case CV_CODE_STATE_WAITING:
      if (code == NULL)
        break;
      cv_share_session_take_error (self, NULL);
      if (still_ours (self, agent))
        cv_share_session_set_state (self, CV_SHARE_STATE_WAITING);
      break;
    case CV_CODE_STATE_CLAIMED:
      cv_share_session_set_state (self, CV_SHARE_STATE_VERIFYING);
      break;
    case CV_CODE_STATE_CONFIRMED:
      cv_share_session_set_helper (self, self->helper_name, self->helper_address,
                                   cv_share_agent_get_verification (agent));
      break;
    case CV_CODE_STATE_BURNED:
      if (!state_changed)
        break;
      cv_share_session_fail (
        self, g_error_new_literal (CV_APP_ERROR, CV_APP_ERROR_CODE_BURNED,
                                   _ ("Someone typed a wrong code, so it no longer works. If "
                                      "you were not expecting that, be careful. Get a new "
                                      "code to go on.")));
      break;
    case CV_CODE_STATE_EXPIRED:
      if (!state_changed)
        break;
      cv_share_session_fail (
        self, g_error_new_literal (CV_APP_ERROR, CV_APP_ERROR_CODE_EXPIRED,
                                   _ ("Nobody used the code in time, so it no longer works. "
                                      "Get a new code when your helper is ready.")));
      break;
    default:
      break;
    }
}

/* The helper's tunnel ended: nothing of this code works again, so the agent goes too. */
static void
helper_left (CvShareSession *self)
{
  cv_share_session_emit (self, SIGNAL_HELPER_LEFT);
  if (self->state != CV_SHARE_STATE_CONNECTED)
    return; /* a handler stopped or started again */
  cv_share_session_drop_agent (self);
  cv_share_session_close_activity (self);
  cv_share_session_set_code (self, NULL, 0);
  cv_share_session_set_n_channels (self, 0);
  cv_share_session_set_state (self, CV_SHARE_STATE_IDLE);
}

/* One entry point for the agent's notifications: each says little, and reading the agent
 * again is cheaper than keeping track of what changed. */
static void
on_agent_notify (CvShareAgent *agent, GParamSpec *pspec, CvShareSession *self)
{
  g_autoptr (CvShareSession) alive = g_object_ref (self);
  const char *name = g_param_spec_get_name (pspec);

  self->in_agent_signal++;
  if (g_str_equal (name, "state"))
    follow_link (self, agent);
  else if (g_str_equal (name, "code") || g_str_equal (name, "code-state")
           || g_str_equal (name, "verification"))
    follow_code (self, agent, g_str_equal (name, "code-state"));
  else if (g_str_equal (name, "consent-pending"))
    {
      if (!cv_share_agent_get_consent_pending (agent) && !self->answering
          && self->state == CV_SHARE_STATE_ASKING)
        cv_share_session_consent_withdrawn (self);
    }
  else if (g_str_equal (name, "n-tunnels"))
    {
      if (cv_share_agent_get_n_tunnels (agent) == 0 && self->state == CV_SHARE_STATE_CONNECTED)
        helper_left (self);
    }
  else if (g_str_equal (name, "n-channels"))
    cv_share_session_set_n_channels (self, cv_share_agent_get_n_channels (agent));
  else if (g_str_equal (name, "bytes-in") || g_str_equal (name, "bytes-out"))
    cv_share_session_share_bytes (self, agent);
  self->in_agent_signal--;
}

/* ---- start and stop ----------------------------------------------------------- */

static CvShareAgent *
make_agent (CvShareSession *self, GError **error)
{
  g_autoptr (CvShareConfig) config = cv_share_config_new ();
  g_autoptr (GError) local_error = NULL;
  g_autofree char *host = NULL;
  GListModel *services = G_LIST_MODEL (self->services);
  CvShareAgent *agent;
  guint16 port = 0;

  if (!cv_share_gateway_split (&self->gateway, &host, &port, error))
    return NULL;
  cv_agent_config_set_gateway (&config->agent, host, port, self->gateway.fingerprint);
  config->agent.code_mode = TRUE;
  cv_agent_config_set_name (&config->agent, g_get_host_name ());
  cv_agent_config_set_state_dir (&config->agent, self->state_dir);
  config->consent_timeout_ms = self->consent_timeout_ms;
  for (guint i = 0; i < g_list_model_get_n_items (services); i++)
    {
      g_autoptr (CvShareService) service = g_list_model_get_item (services, i);
      g_autofree char *target = g_strdup_printf ("127.0.0.1:%u",
                                                 cv_share_service_get_port (service));

      if (!cv_share_config_add_service (config, cv_share_service_get_engine_name (service),
                                        cv_share_service_get_kind (service), target, &local_error))
        break;
    }
  if (local_error == NULL && g_mkdir_with_parents (self->state_dir, 0700) != 0)
    g_set_error (&local_error, G_FILE_ERROR, g_file_error_from_errno (errno), "%s",
                 g_strerror (errno));
  agent = local_error == NULL ? cv_share_agent_new_from_config (config, self->context, &local_error)
                              : NULL;
  if (agent == NULL)
    g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_FAILED,
                 _ ("Culvert could not prepare sharing: %s. Check that %s can be written to."),
                 local_error->message, self->state_dir);
  return agent;
}

gboolean
cv_share_session_start_agent (CvShareSession *self, GError **error)
{
  g_autoptr (GMainContextPusher) pusher = g_main_context_pusher_new (self->context);
  static const char *const followed[] = {
    "notify::state",           "notify::code",      "notify::code-state",
    "notify::verification",    "notify::n-tunnels", "notify::n-channels",
    "notify::consent-pending", "notify::bytes-in",  "notify::bytes-out",
  };

  g_return_val_if_fail (self->agent == NULL, FALSE);

  if (g_list_model_get_n_items (G_LIST_MODEL (self->services)) == 0)
    {
      g_set_error_literal (error, CV_APP_ERROR, CV_APP_ERROR_INVALID,
                           _ ("Choose at least one thing to share."));
      return FALSE;
    }
  self->agent = make_agent (self, error);
  if (self->agent == NULL)
    return FALSE;
  self->cancellable = g_cancellable_new ();
  self->seen_in = self->seen_out = 0;
  for (guint i = 0; i < G_N_ELEMENTS (followed); i++)
    g_signal_connect (self->agent, followed[i], G_CALLBACK (on_agent_notify), self);
  g_signal_connect (self->agent, "consent-requested",
                    G_CALLBACK (cv_share_session_on_consent_requested), self);
  g_signal_connect (self->agent, "channel-opened", G_CALLBACK (cv_share_session_on_channel_opened),
                    self);
  g_signal_connect (self->agent, "channel-closed", G_CALLBACK (cv_share_session_on_channel_closed),
                    self);
  cv_share_agent_start (self->agent);
  return TRUE;
}

static gboolean
stop_agent (gpointer data)
{
  cv_share_agent_stop (CV_SHARE_AGENT (data));
  return G_SOURCE_REMOVE;
}

void
cv_share_session_drop_agent (CvShareSession *self)
{
  g_autoptr (GMainContextPusher) pusher = NULL;
  CvShareAgent *agent = g_steal_pointer (&self->agent);
  GSource *idle;

  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->probing = FALSE;
  if (agent == NULL)
    return;
  pusher = g_main_context_pusher_new (self->context);
  g_signal_handlers_disconnect_by_data (agent, self);
  if (self->in_agent_signal == 0)
    {
      cv_share_agent_stop (agent);
      g_object_unref (agent);
      return;
    }
  /* Inside the agent's own emission, stopping it would finalize its link under its feet:
   * on an idle, with nothing of it followed any more. */
  idle = g_idle_source_new ();
  g_source_set_callback (idle, stop_agent, agent, g_object_unref);
  g_source_set_static_name (idle, "[culvert] stop the share agent");
  g_source_attach (idle, self->context);
  g_source_unref (idle);
}
