/* cv-machine-connection-status.c: the machine connection's state in words, for the
 * machine's row: "online", "offline since 10:42", "connecting… next try in 4 s" (counted
 * down once a second while there is something to count), "connected · 2 connections". */
#include "cv-machine-connection-private.h"

#include <glib/gi18n.h>

static char *
describe_presence_since (CvMachineConnection *self)
{
  g_autoptr (GDateTime) since = g_date_time_new_from_unix_local (self->presence_since
                                                                 / G_USEC_PER_SEC);

  /* Translators: the time of day in "offline since 10:42"; see g_date_time_format (). */
  return since != NULL ? g_date_time_format (since, C_ ("time of day", "%H:%M")) : g_strdup ("?");
}

static char *
build_status (CvMachineConnection *self)
{
  g_autofree char *since = NULL;
  gint64 wait_s;

  switch (self->state)
    {
    case CV_CONNECTION_STATE_IDLE:
      if (self->presence == CV_PRESENCE_ONLINE)
        return g_strdup (_ ("online"));
      if (self->presence == CV_PRESENCE_OFFLINE)
        {
          since = describe_presence_since (self);
          return g_strdup_printf (_ ("offline since %s"), since);
        }
      return g_strdup (_ ("not connected"));
    case CV_CONNECTION_STATE_PREPARING:
      return g_strdup (_ ("preparing…"));
    case CV_CONNECTION_STATE_NEEDS_TRUST:
      return g_strdup (_ ("waiting for you to trust the gateway"));
    case CV_CONNECTION_STATE_CONNECTING:
      return g_strdup (_ ("connecting…"));
    case CV_CONNECTION_STATE_CONNECTED:
      if (self->presence != CV_PRESENCE_ONLINE)
        return g_strdup (self->dropped ? _ ("the machine went offline")
                                       : _ ("connected · the machine is not online"));
      if (self->n_channels == 0)
        return g_strdup (_ ("connected"));
      return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "connected · %u connection",
                                           "connected · %u connections", self->n_channels),
                              self->n_channels);
    case CV_CONNECTION_STATE_RECONNECTING:
      wait_s = (self->next_retry_time - g_get_monotonic_time () + G_USEC_PER_SEC - 1)
               / G_USEC_PER_SEC;
      if (self->next_retry_time == 0 || wait_s <= 0)
        return g_strdup (_ ("connecting…"));
      return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "connecting… next try in %u s",
                                           "connecting… next try in %u s", (gulong) wait_s),
                              (guint) wait_s);
    case CV_CONNECTION_STATE_FAILED:
    default:
      return g_strdup (self->error != NULL ? self->error->message : _ ("failed"));
    }
}

static gboolean
on_tick (gpointer user_data)
{
  cv_machine_connection_update_status (CV_MACHINE_CONNECTION (user_data));
  return G_SOURCE_CONTINUE;
}

void
cv_machine_connection_update_status (CvMachineConnection *self)
{
  g_autofree char *status = build_status (self);
  gboolean counting_down = self->state == CV_CONNECTION_STATE_RECONNECTING
                           && self->next_retry_time > g_get_monotonic_time ();

  /* "next try in 4 s" counts down while there is something to count. */
  if (counting_down && self->tick == NULL)
    {
      self->tick = g_timeout_source_new_seconds (1);
      g_source_set_callback (self->tick, on_tick, self, NULL);
      g_source_set_static_name (self->tick, "[culvert] machine connection count-down");
      g_source_attach (self->tick, self->context);
    }
  else if (!counting_down && self->tick != NULL)
    {
      g_source_destroy (self->tick);
      g_clear_pointer (&self->tick, g_source_unref);
    }
  if (g_strcmp0 (status, self->status) == 0)
    return;
  g_free (self->status);
  self->status = g_steal_pointer (&status);
  cv_machine_connection_notify (self, PROP_STATUS);
}
