/* cv-share-agent-codes.c: session codes at the share agent (SESSION-CODES.md).  The
 * gateway gives a nameplate; the secret is drawn here and never sent; the one connect
 * agent that claims it runs the CPace exchange with us through the gateway, and its key,
 * bound in the PAKE, is the only one a tunnel may then come from.  A failure burns the
 * code.
 *
 * Split from cv-share-agent.c, which holds the object and its public calls.
 */
#include "roles/cv-share-agent-private.h"

#include "base/cv-log-escape.h"
#include "roles/cv-refusal.h"
#include "wire/cv-code.h"
#include "wire/cv-control.h"

#include <sodium.h>

void
cv_share_agent_set_code_state (CvShareAgent *self, CvCodeState state)
{
  if (self->code_state == state)
    return;
  self->code_state = state;
  cv_share_agent_notify (self, PROP_CODE_STATE);
}

/* The secret and everything made from it, wiped. */
void
cv_share_agent_wipe_code (CvShareAgent *self)
{
  g_clear_pointer (&self->secret, cv_secret_free);
  g_clear_pointer (&self->code, cv_secret_free);
  g_clear_pointer (&self->nameplate, g_free);
  g_clear_pointer (&self->exchange, cv_code_exchange_free);
  g_clear_pointer (&self->bound_connect_key, g_free);
  g_clear_pointer (&self->verification, g_free);
  self->code_expires_us = 0;
}

/* The code, its secret and its PAKE are gone (expired, burned, renewed, link lost). */
void
cv_share_agent_drop_code (CvShareAgent *self)
{
  gboolean had_code = self->code != NULL;
  gboolean had_expiry = self->code_expires_us != 0;
  gboolean had_verification = self->verification != NULL;

  cv_share_agent_wipe_code (self);
  if (had_code)
    cv_share_agent_notify (self, PROP_CODE);
  if (had_expiry)
    cv_share_agent_notify (self, PROP_CODE_EXPIRES);
  if (had_verification)
    cv_share_agent_notify (self, PROP_VERIFICATION);
}

/* A nameplate from the gateway (WELCOME, CODE_NAMEPLATE): the secret is drawn here, six
 * uniform digits, and never leaves this agent except through the person reading it. */
void
cv_share_agent_new_code (CvShareAgent *self, JsonObject *body)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *nameplate = NULL;
  gint64 expires_at_ms = 0;

  cv_share_agent_drop_code (self);
  if (!cv_control_parse_code_nameplate (body, &nameplate, &expires_at_ms, &error))
    {
      g_message ("the gateway sent no usable code: %s", error->message);
      cv_share_agent_set_code_state (self, CV_CODE_STATE_NONE);
      return;
    }
  self->nameplate = g_steal_pointer (&nameplate);
  self->secret = g_strdup_printf ("%06u", randombytes_uniform (1000000));
  self->code = cv_code_format (self->nameplate, self->secret);
  self->code_expires_us = expires_at_ms * 1000;
  /* The nameplate only: the secret never goes into a log. */
  g_message ("code with nameplate %s, valid for %.0f s", self->nameplate,
             MAX (0, self->code_expires_us - g_get_real_time ()) / 1e6);
  cv_share_agent_notify (self, PROP_CODE);
  cv_share_agent_notify (self, PROP_CODE_EXPIRES);
  cv_share_agent_set_code_state (self, CV_CODE_STATE_WAITING);
}

/* The PAKE failed here or at the gateway: nothing of this code works again. */
static void
burn (CvShareAgent *self, const char *why)
{
  g_message ("%s; this code is burned: ask for a new one", why);
  cv_share_agent_drop_code (self);
  cv_share_agent_set_code_state (self, CV_CODE_STATE_BURNED);
  cv_share_agent_close_tunnels (self);
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
  cv_share_agent_set_code_state (self, CV_CODE_STATE_CLAIMED);
}

static void
on_code_pake (CvShareAgent *self, JsonObject *body)
{
  guint8 ya[CV_CODE_EXCHANGE_MESSAGE_SIZE], yb[CV_CODE_EXCHANGE_MESSAGE_SIZE];
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) answer = NULL;

  if (self->code_state != CV_CODE_STATE_CLAIMED)
    return;
  if (!cv_control_parse_code_bytes (CV_CONTROL_CODE_PAKE, body, ya, &error)
      || !cv_code_exchange_receive_message (self->exchange, ya, &error))
    {
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
  cv_share_agent_notify (self, PROP_VERIFICATION);
  cv_share_agent_set_code_state (self, CV_CODE_STATE_CONFIRMED);
}

gboolean
cv_share_agent_code_message (CvShareAgent *self, guint type, JsonObject *body)
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
        g_autofree char *why = cv_refusal_describe_code_failed (body);

        burn (self, why);
      }
      return TRUE;
    case CV_CONTROL_CODE_EXPIRED:
      g_message ("code %s expired unclaimed", self->nameplate != NULL ? self->nameplate : "?");
      cv_share_agent_drop_code (self);
      cv_share_agent_set_code_state (self, CV_CODE_STATE_EXPIRED);
      return TRUE;
    case CV_CONTROL_CODE_NAMEPLATE:
      if (json_object_has_member (body, "error"))
        g_message ("the gateway gives no new code now (%s); ask again later",
                   cv_control_get_string (body, "error", 64, FALSE, NULL));
      else
        cv_share_agent_new_code (self, body);
      return TRUE;
    default:
      return FALSE;
    }
}
