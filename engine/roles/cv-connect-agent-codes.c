/* cv-connect-agent-codes.c: the connect agent's side of a session code (SESSION-CODES.md).
 * The gateway's WELCOME names the share agent holding the nameplate; the agents run CPace
 * through it (CODE_PAKE, CODE_CONFIRM, CODE_DONE), and the key it binds is the only one a
 * tunnel may present.  Anything wrong burns the code and stops the link.  Split from
 * cv-connect-agent.c, which keeps the object and its public calls. */
#include "roles/cv-connect-agent-private.h"

#include "base/cv-log-escape.h"
#include "roles/cv-refusal.h"
#include "wire/cv-control.h"

/* ---- session codes ------------------------------------------------------ */

static void
burn (CvConnectAgent *self, const char *why)
{
  g_autofree char *sentence = g_strdup_printf ("%s; this code is burned: ask for a new one", why);

  g_message ("%s", sentence);
  g_clear_pointer (&self->exchange, cv_code_exchange_free);
  g_clear_pointer (&self->secret, cv_secret_free);
  cv_connect_agent_set_code_state (self, CV_CODE_STATE_BURNED);
  cv_connect_agent_fail_waiting (self, sentence);
  cv_connect_agent_drop_tunnel (self);
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
void
cv_connect_agent_on_code_welcome (CvConnectAgent *self, JsonObject *welcome)
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
  g_clear_pointer (&self->secret, cv_secret_free);
  name = cv_log_escape (peer.peer_name != NULL ? peer.peer_name : "", -1);
  cv_connect_agent_set_share (self, FALSE, name);
  g_message ("code %s: share agent “%s” (key %s); checking the code with it", self->nameplate, name,
             peer.peer_fingerprint);
  cv_code_exchange_get_message (self->exchange, ya);
  pake = cv_control_build_code_bytes (CV_CONTROL_CODE_PAKE, ya);
  cv_agent_link_send (self->link, CV_CONTROL_CODE_PAKE, pake);
  cv_connect_agent_set_code_state (self, CV_CODE_STATE_CLAIMED);
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
  cv_connect_agent_notify (self, PROP_VERIFICATION);
  cv_connect_agent_set_code_state (self, CV_CODE_STATE_CONFIRMED);
  /* The share agent is there for us now: waiting clients may have their tunnel. */
  cv_connect_agent_set_share (self, TRUE, self->share_name);
  /* Services first: the tunnel now, for the offered services to show. */
  if (self->services_first || cv_client_queue_get_length (self->waiting) > 0)
    cv_connect_agent_request_tunnel (self);
}

gboolean
cv_connect_agent_on_code_message (CvConnectAgent *self, guint type, JsonObject *body)
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
        g_autofree char *why = cv_refusal_describe_code_failed (body);

        burn (self, why);
      }
      return TRUE;
    default:
      return FALSE;
    }
}
