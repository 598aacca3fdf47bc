/* cv-share-session-consent.c: the helper's request and the person's answer — asked
 * with the services in words, allowed or denied, or withdrawn (the agent's time-out, the
 * helper gone).  Split from cv-share-session.c (the object) and cv-share-session-agent.c
 * (the engine side). */
#include "cv-share-session-private.h"

#include "cv-app-error.h"

#include <glib/gi18n-lib.h>

void
cv_share_session_on_consent_requested (CvShareAgent *agent,
                                       const char *name,
                                       const char *address,
                                       const char *fingerprint,
                                       const char *const *names,
                                       const char *verification,
                                       CvShareSession *self)
{
  g_autoptr (CvShareSession) alive = g_object_ref (self);
  g_autofree char *words = cv_share_session_describe_services (self, names);

  self->in_agent_signal++;
  self->asked_us = g_get_monotonic_time ();
  cv_share_session_set_helper (self, name, address, verification);
  if (self->agent == agent)
    cv_share_session_set_state (self, CV_SHARE_STATE_ASKING);
  if (self->agent == agent)
    cv_share_session_emit (self, SIGNAL_CONSENT_REQUESTED, name, address, fingerprint, words,
                           verification);
  self->in_agent_signal--;
}

/* The request went away without the person's answer: the agent's timeout, or the helper
 * gave up. */
void
cv_share_session_consent_withdrawn (CvShareSession *self)
{
  gint64 waited_ms = (g_get_monotonic_time () - self->asked_us) / 1000;

  if (waited_ms + 100 >= self->consent_timeout_ms)
    cv_share_session_fail (
      self, g_error_new_literal (CV_APP_ERROR, CV_APP_ERROR_DECLINED,
                                 _ ("Nobody answered the request in time, so the helper was "
                                    "not let in. Get a new code to try again.")));
  else
    cv_share_session_fail (self, g_error_new_literal (CV_APP_ERROR, CV_APP_ERROR_DECLINED,
                                                      _ ("Your helper went away before you "
                                                         "answered. Get a new "
                                                         "code to try again.")));
}

/* The person's answer to the request "consent-requested" showed. */
static gboolean
answer (CvShareSession *self, gboolean allowed)
{
  g_autoptr (CvShareSession) alive = g_object_ref (self);
  gboolean answered;

  if (self->state != CV_SHARE_STATE_ASKING || self->agent == NULL)
    return FALSE;
  /* The agent's "consent-pending" changes inside: not a time-out. */
  self->answering = TRUE;
  answered = allowed ? cv_share_agent_accept (self->agent) : cv_share_agent_deny (self->agent);
  self->answering = FALSE;
  if (!answered)
    return FALSE;
  if (!allowed)
    {
      cv_share_session_fail (self, g_error_new_literal (CV_APP_ERROR, CV_APP_ERROR_DECLINED,
                                                        _ ("You did not let the helper in, so "
                                                           "they reached nothing. Get a new "
                                                           "code when you want help.")));
      return TRUE;
    }
  cv_share_session_set_state (self, CV_SHARE_STATE_CONNECTED);
  cv_share_session_emit (self, SIGNAL_HELPER_CONNECTED);
  return TRUE;
}

/**
 * cv_share_session_allow:
 *
 * The person allows the request "consent-requested" showed: CONNECTED, "helper-connected".
 *
 * Returns: FALSE when no request waits (it timed out, or the helper gave up)
 */
gboolean
cv_share_session_allow (CvShareSession *self)
{
  g_return_val_if_fail (CV_IS_SHARE_SESSION (self), FALSE);
  return answer (self, TRUE);
}

/**
 * cv_share_session_deny:
 *
 * The person refuses: the helper is told "declined" and reaches nothing; FAILED with
 * CV_APP_ERROR_DECLINED, from where cv_share_session_renew_code () gives a new code.
 *
 * Returns: FALSE when no request waits
 */
gboolean
cv_share_session_deny (CvShareSession *self)
{
  g_return_val_if_fail (CV_IS_SHARE_SESSION (self), FALSE);
  return answer (self, FALSE);
}

/* From the next start or renewal on (the agent is made with it). */
void
cv_share_session_set_consent_timeout_ms (CvShareSession *self, guint timeout_ms)
{
  g_return_if_fail (CV_IS_SHARE_SESSION (self));

  self->consent_timeout_ms = CLAMP (timeout_ms, 1, CV_SHARE_MAX_CONSENT_TIMEOUT_MS);
  if (self->agent != NULL)
    cv_share_agent_set_consent_timeout_ms (self->agent, self->consent_timeout_ms);
}
