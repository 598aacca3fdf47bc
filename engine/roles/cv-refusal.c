/* cv-refusal.c: the words for a gateway's refusal, as the CLI and the app show them.
 *
 * One translated sentence a reason, written for the person at the screen, not for the
 * protocol: the reason code itself stays in the GError's code. */
#include "roles/cv-refusal.h"

#include <glib/gi18n-lib.h>

/**
 * cv_refusal_describe:
 * @session: (nullable): the session the agent asked for; NULL for a session code, which
 *   names none
 *
 * Returns: (transfer full): one sentence, translated, without a final full stop so that
 *   a caller may go on ("…; retrying in 30 s")
 */
char *
cv_refusal_describe (CvRefusal refusal, const char *session)
{
  switch (refusal)
    {
    case CV_REFUSAL_NONE:
      return g_strdup_printf (_ ("Session “%s” was not refused"), session);
    case CV_REFUSAL_BAD_PASSWORD:
      /* The gateway gives one answer for both, so that session ids cannot be listed. */
      return g_strdup_printf (_ ("The gateway knows no session “%s” with this password: the "
                                 "session id or the password is wrong"),
                              session);
    case CV_REFUSAL_UNKNOWN_SESSION:
      return g_strdup_printf (_ ("The gateway does not know session “%s”"), session);
    case CV_REFUSAL_VERSION_MISMATCH:
      return g_strdup (_ ("This version of Culvert cannot talk to the gateway; one of the two "
                          "needs an update"));
    case CV_REFUSAL_RATE_LIMITED:
      if (session == NULL)
        return g_strdup (_ ("Too many attempts from this address: the gateway asks to wait "
                            "before the next one"));
      return g_strdup_printf (_ ("Too many attempts for session “%s”: the gateway asks to wait "
                                 "before the next one"),
                              session);
    case CV_REFUSAL_BAD_REQUEST:
      return g_strdup (_ ("The gateway did not understand this agent's request"));
    case CV_REFUSAL_LIMIT_REACHED:
      return g_strdup (_ ("The gateway has reached its limit and takes no more connections"));
    case CV_REFUSAL_SHUTTING_DOWN:
      return g_strdup (_ ("The gateway is shutting down"));
    case CV_REFUSAL_REPLACED:
      return g_strdup_printf (_ ("Another computer now shares session “%s”"), session);
    case CV_REFUSAL_SHARE_OFFLINE:
      return g_strdup_printf (_ ("The computer shared in session “%s” is not online"), session);
    case CV_REFUSAL_BAD_CODE:
      /* One answer for every reason, so that nameplates cannot be probed. */
      return g_strdup (_ ("The gateway knows no such code, or it was used, or it is burned: "
                          "ask for a new one"));
    case CV_REFUSAL_CODE_EXPIRED:
      return g_strdup (_ ("The code expired: ask for a new one"));
    case CV_REFUSAL_UNKNOWN:
    default:
      if (session == NULL)
        return g_strdup (_ ("The gateway turned this agent away for a reason this version of "
                            "Culvert does not know"));
      return g_strdup_printf (_ ("The gateway turned session “%s” away for a reason this version "
                                 "of Culvert does not know"),
                              session);
    }
}

/* A GError whose domain and code are the reason, and whose message is its sentence. */
GError *
cv_refusal_error_new (CvRefusal refusal, const char *session)
{
  g_autofree char *sentence = cv_refusal_describe (refusal, session);

  return g_error_new_literal (CV_REFUSAL_ERROR, refusal, sentence);
}

/**
 * cv_refusal_describe_code_failed:
 * @body: a CODE_FAILED from the gateway
 *
 * Returns: (transfer full): why an agent's code exchange ended, for its log; both
 *   agents burn their code with it
 */
char *
cv_refusal_describe_code_failed (JsonObject *body)
{
  const char *reason = cv_control_parse_code_failed (body, NULL);

  return g_strdup_printf ("the gateway ended the code's exchange (%s)",
                          reason != NULL ? reason : "?");
}
