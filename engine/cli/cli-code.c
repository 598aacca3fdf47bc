/* cli-code.c: the code and its countdown on stdout (the log never holds the secret
 * digits), and each change of the code's state in words. */
#include "cli/cli-code.h"

#include <glib-unix.h>
#include <stdio.h>
#include <unistd.h>

struct _CvCliCode {
  GObject *agent;
  guint countdown;   /* a GSource id on the default context, while a code waits */
  guint renew_watch; /* stdin, while a burned or expired code waits for Enter */
  gboolean terminal;
};

static gint64
seconds_left (CvCliCode *self)
{
  gint64 expires = cv_share_agent_get_code_expires (CV_SHARE_AGENT (self->agent));

  return MAX (0, (expires - g_get_real_time ()) / G_USEC_PER_SEC);
}

static gboolean
on_tick (gpointer user_data)
{
  CvCliCode *self = user_data;
  gint64 left = seconds_left (self);

  g_print ("\rexpires in %" G_GINT64_FORMAT ":%02" G_GINT64_FORMAT " ", left / 60, left % 60);
  fflush (stdout);
  return G_SOURCE_CONTINUE;
}

static void
stop_countdown (CvCliCode *self)
{
  if (self->countdown == 0)
    return;
  g_source_remove (self->countdown);
  self->countdown = 0;
  g_print ("\n");
}

static void
on_share_code (CvShareAgent *agent, GParamSpec *pspec, CvCliCode *self)
{
  const char *code = cv_share_agent_get_code (agent);
  g_autoptr (GDateTime) until = NULL;
  g_autofree char *when = NULL;

  stop_countdown (self);
  if (code == NULL)
    return;
  until = g_date_time_new_from_unix_local (cv_share_agent_get_code_expires (agent)
                                           / G_USEC_PER_SEC);
  when = g_date_time_format (until, "%H:%M:%S");
  g_print ("\nSession code: %s\nRead it to the person who helps you; it works once, until %s.\n",
           code, when);
  if (self->terminal)
    self->countdown = g_timeout_add_seconds (1, on_tick, self);
  fflush (stdout);
}

/* Enter asks for a new code.  Read a byte at a time, so that nothing after the line is
 * taken from the consent prompt's reader. */
static gboolean
on_renew_input (int fd, GIOCondition condition, gpointer user_data)
{
  CvCliCode *self = user_data;
  char byte = 0;
  gssize n = read (fd, &byte, 1);

  if (n == 1 && byte != '\n')
    return G_SOURCE_CONTINUE;
  self->renew_watch = 0;
  if (n == 1)
    {
      g_print ("Asking the gateway for a new code...\n");
      cv_share_agent_renew_code (CV_SHARE_AGENT (self->agent));
    }
  return G_SOURCE_REMOVE;
}

/* One action for a new code, as a person at a terminal expects; without a terminal the
 * command is simply run again. */
static void
offer_renewal (CvCliCode *self, const char *what)
{
  if (!isatty (STDIN_FILENO))
    {
      g_print ("%s Run the command again for a new code.\n", what);
      return;
    }
  g_print ("%s Press Enter for a new code, or Ctrl-C to stop.\n", what);
  if (self->renew_watch == 0)
    self->renew_watch = g_unix_fd_add (STDIN_FILENO, G_IO_IN | G_IO_HUP, on_renew_input, self);
}

static void
on_share_state (CvShareAgent *agent, GParamSpec *pspec, CvCliCode *self)
{
  switch (cv_share_agent_get_code_state (agent))
    {
    case CV_CODE_STATE_CLAIMED:
      stop_countdown (self);
      g_print ("The code was typed; checking it...\n");
      break;
    case CV_CODE_STATE_CONFIRMED:
      g_print ("Code confirmed. Verification: %s (the other side sees the same)\n",
               cv_share_agent_get_verification (agent));
      break;
    case CV_CODE_STATE_BURNED:
      stop_countdown (self);
      offer_renewal (self, "The code was wrong or someone interfered; this code is burned.");
      break;
    case CV_CODE_STATE_EXPIRED:
      stop_countdown (self);
      offer_renewal (self, "The code expired unused.");
      break;
    default:
      break;
    }
  fflush (stdout);
}

static void
on_connect_state (CvConnectAgent *agent, GParamSpec *pspec, CvCliCode *self)
{
  switch (cv_connect_agent_get_code_state (agent))
    {
    case CV_CODE_STATE_CONFIRMED:
      g_print ("Code confirmed. Verification: %s (the other side sees the same)\n",
               cv_connect_agent_get_verification (agent));
      break;
    case CV_CODE_STATE_CONSENTED:
      g_print ("The sharer allowed the connection.\n");
      break;
    case CV_CODE_STATE_DECLINED:
      g_print ("The sharer declined (%s).\n", cv_connect_agent_get_declined_reason (agent));
      break;
    case CV_CODE_STATE_BURNED:
      g_print ("The code was wrong, used, or someone interfered; it is burned. Ask for a new "
               "one.\n");
      break;
    case CV_CODE_STATE_EXPIRED:
      g_print ("The code expired. Ask for a new one.\n");
      break;
    default:
      break;
    }
  fflush (stdout);
}

CvCliCode *
cv_cli_code_new_share (CvShareAgent *agent)
{
  CvCliCode *self = g_new0 (CvCliCode, 1);

  self->agent = g_object_ref (G_OBJECT (agent));
  self->terminal = isatty (STDOUT_FILENO);
  g_signal_connect (agent, "notify::code", G_CALLBACK (on_share_code), self);
  g_signal_connect (agent, "notify::code-state", G_CALLBACK (on_share_state), self);
  return self;
}

CvCliCode *
cv_cli_code_new_connect (CvConnectAgent *agent)
{
  CvCliCode *self = g_new0 (CvCliCode, 1);

  self->agent = g_object_ref (G_OBJECT (agent));
  g_signal_connect (agent, "notify::code-state", G_CALLBACK (on_connect_state), self);
  return self;
}

void
cv_cli_code_free (CvCliCode *self)
{
  if (self->countdown != 0)
    g_source_remove (self->countdown);
  if (self->renew_watch != 0)
    g_source_remove (self->renew_watch);
  g_signal_handlers_disconnect_by_data (self->agent, self);
  g_object_unref (self->agent);
  g_free (self);
}
