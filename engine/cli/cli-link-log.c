/* cli-link-log.c: the agents' log lines about their link to the gateway.
 *
 * A link that fails retries every few seconds, and the reason can be a long sentence (a
 * changed gateway key explains itself in 400 characters).  Written at every retry it
 * buries everything else, so a failure is written once in full; the same failure again
 * is counted, and summarised in one short line a minute, and when something else
 * happens.  A refusal of the agent's credentials names where the password came from:
 * that file or variable is what the user must fix, and the agent will not try again for
 * a while.
 */
#include "cli/cli-link-log.h"

#include "roles/cv-refusal.h"

#define SUMMARY_INTERVAL_US (60 * G_USEC_PER_SEC)

struct _CvCliLinkLog {
  CvAgentLink *link;
  char *password_origin; /* "the file /etc/culvert/share.password (password_file)" or NULL */
  char *last_failure;    /* the last failure written in full, without its retry delay */
  guint repeats;         /* the same failure again, since it or the last summary was written */
  gint64 repeats_since_us;
};

static char *
describe_password_origin (const CvAgentConfig *config)
{
  switch (config->password_source)
    {
    case CV_PASSWORD_SOURCE_FILE:
      return g_strdup_printf ("the file %s (password_file)", config->password_file);
    case CV_PASSWORD_SOURCE_ENV:
      return g_strdup_printf ("the variable %s (password_env)", config->password_env);
    case CV_PASSWORD_SOURCE_STDIN:
      return g_strdup ("the line read from stdin (password_stdin)");
    case CV_PASSWORD_SOURCE_GIVEN:
    default:
      return NULL;
    }
}

/* What the user can do about a refusal that retrying will not cure. */
static char *
describe_fix (CvCliLinkLog *self, CvRefusal refusal)
{
  const char *role = cv_agent_role_to_string (cv_agent_link_get_role (self->link));

  /* A code login refused its credential: the gateway's policy asked for one. */
  if (refusal == CV_REFUSAL_BAD_PASSWORD && cv_agent_link_get_code_mode (self->link))
    return g_strdup_printf ("this gateway asks code logins for %s and its password%s%s; "
                            "then restart this agent",
                            cv_agent_link_get_role (self->link) == CV_AGENT_ROLE_SHARE
                              ? "a session (--session)"
                              : "a technician account (--technician)",
                            self->password_origin != NULL ? ": check " : "",
                            self->password_origin != NULL ? self->password_origin : "");
  switch (refusal)
    {
    case CV_REFUSAL_BAD_PASSWORD:
    case CV_REFUSAL_UNKNOWN_SESSION:
      if (self->password_origin == NULL)
        return g_strdup_printf ("check the session id and the %s password", role);
      return g_strdup_printf ("check that the gateway has session “%s” and that %s holds its "
                              "%s password, then restart this agent",
                              cv_agent_link_get_session (self->link), self->password_origin, role);
    case CV_REFUSAL_VERSION_MISMATCH:
      return g_strdup ("update this agent or the gateway");
    default:
      return NULL;
    }
}

/* The failure without its delay, so that two attempts that failed alike compare equal. */
static char *
describe_failure (CvCliLinkLog *self)
{
  const GError *error = cv_agent_link_get_last_error (self->link);
  CvRefusal refusal = cv_agent_link_get_refusal (self->link);

  if (cv_agent_link_get_state (self->link) == CV_AGENT_LINK_STATE_REFUSED)
    {
      g_autofree char *sentence =
        refusal == CV_REFUSAL_BAD_PASSWORD && cv_agent_link_get_code_mode (self->link)
          ? g_strdup ("The gateway did not take this code login's credential")
          : cv_refusal_describe (refusal, cv_agent_link_get_session (self->link));
      g_autofree char *fix = describe_fix (self, refusal);

      const char *said = cv_agent_link_get_refusal_message (self->link);

      /* The gateway's words may say more than the reason (e.g. that the share and
       * connect passwords are the same); they are escaped already. */
      return g_strdup_printf ("refused: %s (%s%s%s%s)%s%s", sentence,
                              cv_refusal_to_string (refusal),
                              said != NULL ? "; the gateway says “" : "", said != NULL ? said : "",
                              said != NULL ? "”" : "", fix != NULL ? "; " : "",
                              fix != NULL ? fix : "");
    }
  return g_strdup (error != NULL ? error->message : "link down");
}

static void
write_repeats (CvCliLinkLog *self, const char *still)
{
  g_autofree char *gateway = cv_gateway_address_to_string (cv_agent_link_get_gateway (self->link));
  double seconds = (g_get_monotonic_time () - self->repeats_since_us) / 1e6;

  if (self->repeats == 0)
    return;
  g_message ("gateway %s: the same failure %u more time%s in %.0f s%s", gateway, self->repeats,
             self->repeats == 1 ? "" : "s", seconds, still);
  self->repeats = 0;
  self->repeats_since_us = g_get_monotonic_time ();
}

static void
on_failure (CvCliLinkLog *self)
{
  g_autofree char *gateway = cv_gateway_address_to_string (cv_agent_link_get_gateway (self->link));
  g_autofree char *failure = describe_failure (self);
  gint64 delay_us = cv_agent_link_get_next_retry_time (self->link) - g_get_real_time ();
  double delay_s = MAX (delay_us, 0) / 1e6;

  if (g_strcmp0 (failure, self->last_failure) == 0)
    {
      self->repeats++;
      if (g_get_monotonic_time () - self->repeats_since_us >= SUMMARY_INTERVAL_US)
        {
          g_autofree char *still = g_strdup_printf ("; still retrying, next in %.1f s", delay_s);
          write_repeats (self, still);
        }
      return;
    }
  write_repeats (self, "");
  g_message ("gateway %s: %s; retrying in %.1f s", gateway, failure, delay_s);
  g_free (self->last_failure);
  self->last_failure = g_steal_pointer (&failure);
  self->repeats_since_us = g_get_monotonic_time ();
}

static void
on_state (CvAgentLink *link, GParamSpec *pspec, CvCliLinkLog *self)
{
  g_autofree char *gateway = cv_gateway_address_to_string (cv_agent_link_get_gateway (link));

  switch (cv_agent_link_get_state (link))
    {
    case CV_AGENT_LINK_STATE_ONLINE:
      write_repeats (self, " before this success");
      g_clear_pointer (&self->last_failure, g_free);
      if (cv_agent_link_get_code_mode (link))
        g_message ("gateway %s: %s agent online with a session code", gateway,
                   cv_agent_role_to_string (cv_agent_link_get_role (link)));
      else
        g_message ("gateway %s: %s agent online in session “%s”", gateway,
                   cv_agent_role_to_string (cv_agent_link_get_role (link)),
                   cv_agent_link_get_session (link));
      break;
    case CV_AGENT_LINK_STATE_REFUSED:
    case CV_AGENT_LINK_STATE_BACKING_OFF:
      on_failure (self);
      break;
    case CV_AGENT_LINK_STATE_STOPPED:
      write_repeats (self, "");
      break;
    case CV_AGENT_LINK_STATE_CONNECTING:
    default:
      break;
    }
}

/* @config: where the agent's password came from; it need not outlive the log. */
CvCliLinkLog *
cv_cli_link_log_new (CvAgentLink *link, const CvAgentConfig *config)
{
  CvCliLinkLog *self = g_new0 (CvCliLinkLog, 1);

  self->link = g_object_ref (link);
  self->password_origin = describe_password_origin (config);
  g_signal_connect (link, "notify::state", G_CALLBACK (on_state), self);
  return self;
}

void
cv_cli_link_log_free (CvCliLinkLog *self)
{
  if (self == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->link, self);
  g_object_unref (self->link);
  g_free (self->password_origin);
  g_free (self->last_failure);
  g_free (self);
}
