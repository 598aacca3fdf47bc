/* cli-consent.c: the share command's consent prompt.  Deny is the default: an empty
 * line, anything but "y" or "yes", the end of stdin, no terminal without --accept, and
 * the agent's consent timeout all deny. */
#include "cli/cli-consent.h"

#include "base/cv-log-escape.h"

#include <gio/gunixinputstream.h>
#include <stdio.h>
#include <unistd.h>

struct _CvCliConsent {
  CvShareAgent *agent;
  gboolean accept_all;
  GDataInputStream *input; /* stdin, made on the first prompt */
  GCancellable *reading;   /* the read of the prompt's answer, or NULL */
};

static void on_answer (GObject *source, GAsyncResult *result, gpointer user_data);

static void
on_consent_requested (CvShareAgent *agent,
                      const char *name,
                      const char *address,
                      const char *fingerprint,
                      const char *const *services,
                      const char *verification,
                      CvCliConsent *self)
{
  g_autofree char *asked = g_strjoinv (", ", (char **) services);
  g_autofree char *check = verification != NULL
                             ? g_strdup_printf (" Verification %s.", verification)
                             : g_strdup ("");
  /* The gateway's words (and the connect agent's, for services) reach a terminal here:
   * escaped, so that none can move the cursor or rewrite the prompt. */
  g_autofree char *shown_name = cv_log_escape (name != NULL ? name : "", -1);
  g_autofree char *shown_address = cv_log_escape (address != NULL ? address : "", -1);
  g_autofree char *shown_asked = cv_log_escape (asked, -1);

  name = shown_name;
  address = shown_address;
  if (self->accept_all)
    {
      g_autofree char *noted = verification != NULL
                                 ? g_strdup_printf (" (verification %s)", verification)
                                 : g_strdup ("");

      g_message ("“%s” (%s, key %s) asks for: %s%s; allowed (--accept)", name, address, fingerprint,
                 shown_asked, noted);
      cv_share_agent_accept (agent);
      return;
    }
  if (!isatty (STDIN_FILENO))
    {
      g_message ("“%s” (%s, key %s) asks for: %s; denied: there is no terminal to ask on "
                 "(pass --accept to allow every request)",
                 name, address, fingerprint, shown_asked);
      cv_share_agent_deny (agent);
      return;
    }
  if (self->input == NULL)
    {
      g_autoptr (GInputStream) stdin_stream = g_unix_input_stream_new (STDIN_FILENO, FALSE);
      self->input = g_data_input_stream_new (stdin_stream);
    }
  g_print ("\n“%s” (%s, key %s) asks for: %s.%s Allow? [y/N] ", name, address, fingerprint,
           shown_asked, check);
  fflush (stdout);
  self->reading = g_cancellable_new ();
  g_data_input_stream_read_line_async (self->input, G_PRIORITY_DEFAULT, self->reading, on_answer,
                                       self);
}

static void
on_answer (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source),
                                                                result, NULL, &error);
  CvCliConsent *self;
  g_autofree char *answer = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return; /* timed out or stopped: the agent has answered already */
  self = user_data;
  g_clear_object (&self->reading);
  answer = line != NULL ? g_ascii_strdown (g_strstrip (line), -1) : NULL;
  if (answer != NULL && (g_str_equal (answer, "y") || g_str_equal (answer, "yes")))
    {
      g_print ("allowed\n");
      cv_share_agent_accept (self->agent);
    }
  else
    {
      g_print ("denied\n");
      cv_share_agent_deny (self->agent);
    }
}

/* The agent answered without us (its consent timeout): the prompt is void. */
static void
on_consent_pending (CvShareAgent *agent, GParamSpec *pspec, CvCliConsent *self)
{
  if (self->reading == NULL || cv_share_agent_get_consent_pending (agent))
    return;
  g_print ("\nno answer in time: denied\n");
  g_cancellable_cancel (self->reading);
  g_clear_object (&self->reading);
}

CvCliConsent *
cv_cli_consent_new (CvShareAgent *agent, gboolean accept_all)
{
  CvCliConsent *self = g_new0 (CvCliConsent, 1);

  self->agent = g_object_ref (agent);
  self->accept_all = accept_all;
  g_signal_connect (agent, "consent-requested", G_CALLBACK (on_consent_requested), self);
  g_signal_connect (agent, "notify::consent-pending", G_CALLBACK (on_consent_pending), self);
  return self;
}

void
cv_cli_consent_free (CvCliConsent *self)
{
  if (self->reading != NULL)
    g_cancellable_cancel (self->reading);
  g_clear_object (&self->reading);
  g_signal_handlers_disconnect_by_data (self->agent, self);
  g_clear_object (&self->agent);
  g_clear_object (&self->input);
  g_free (self);
}
