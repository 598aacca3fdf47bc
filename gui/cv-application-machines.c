/* cv-application-machines.c: one CvMachineConnection for each saved machine, made and ended
 * as the store's list changes, and what they tell the person: the trust question, the
 * window's "connected", the desktop notification when a connected machine drops. */
#include "cv-version.h"

#include <glib/gi18n.h>

#include "cv-application-private.h"

static char *
dropped_notification_id (CvMachineConnection *connection)
{
  return g_strconcat ("dropped-",
                      cv_machine_get_id (cv_machine_connection_get_machine (connection)), NULL);
}

static void
on_trust_requested (CvMachineConnection *connection,
                    const char *fingerprint,
                    const char *old_fingerprint,
                    CvApplication *self)
{
  cv_window_ask_trust (cv_application_ensure_window (self), connection, fingerprint);
}

static void
on_connected (CvMachineConnection *connection, CvApplication *self)
{
  CvWindow *window = cv_application_find_window (self);

  if (window != NULL)
    cv_window_machine_connected (window, connection);
}

static void
on_dropped (CvMachineConnection *connection, const GError *why, CvApplication *self)
{
  CvMachine *machine = cv_machine_connection_get_machine (connection);
  g_autofree char *id = dropped_notification_id (connection);
  g_autofree char *title = g_strdup_printf (_ ("%s was disconnected"),
                                            cv_machine_get_name (machine));
  g_autoptr (GNotification) notification = NULL;

  if (!g_settings_get_boolean (self->settings, "notify-on-drop"))
    return;
  notification = g_notification_new (title);
  g_notification_set_body (notification, _ ("Culvert reconnects by itself."));
  g_notification_set_default_action_and_target (notification, "app.show-machine", "s",
                                                cv_machine_get_id (machine));
  cv_application_send_notification (self, id, notification);
}

static void
on_restored (CvMachineConnection *connection, CvApplication *self)
{
  g_autofree char *id = dropped_notification_id (connection);

  cv_application_withdraw_notification (self, id);
}

static void
on_connection_state (CvMachineConnection *connection, GParamSpec *pspec, CvApplication *self)
{
  g_autofree char *id = NULL;
  CvWindow *window = cv_application_find_window (self);

  /* Down, for whatever reason: the window no longer says it is connected. */
  if (window != NULL
      && cv_machine_connection_get_state (connection) != CV_CONNECTION_STATE_CONNECTED)
    cv_window_machine_not_connected (window, connection);
  /* Ended by the person: nothing to be told about any more. */
  if (cv_machine_connection_get_state (connection) != CV_CONNECTION_STATE_IDLE)
    return;
  id = dropped_notification_id (connection);
  cv_application_withdraw_notification (self, id);
}

static CvMachineConnection *
cv_application_add_connection (CvApplication *self, CvMachine *machine)
{
  CvMachineConnection *connection = cv_machine_connection_new (machine, self->secrets, NULL);

  g_signal_connect_object (connection, "trust-requested", G_CALLBACK (on_trust_requested), self, 0);
  g_signal_connect_object (connection, "connected", G_CALLBACK (on_connected), self, 0);
  g_signal_connect_object (connection, "dropped", G_CALLBACK (on_dropped), self, 0);
  g_signal_connect_object (connection, "restored", G_CALLBACK (on_restored), self, 0);
  g_signal_connect_object (connection, "notify::state", G_CALLBACK (on_connection_state), self, 0);
  g_hash_table_insert (self->connections, g_strdup (cv_machine_get_id (machine)), connection);
  cv_machine_connection_watch_presence (connection, TRUE);
  return connection;
}

void
cv_application_end_connection (gpointer data)
{
  CvMachineConnection *connection = data;

  cv_machine_connection_watch_presence (connection, FALSE);
  cv_machine_connection_disconnect (connection);
  g_object_unref (connection);
}

/* One connection per saved machine: made for the new ones, ended for the removed ones. */
static void
cv_application_sync_connections (CvApplication *self)
{
  GListModel *machines = cv_machine_store_get_machines (self->store);
  g_autoptr (GHashTable) present = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter;
  gpointer key;
  gpointer value;

  for (guint i = 0; i < g_list_model_get_n_items (machines); i++)
    {
      g_autoptr (CvMachine) machine = g_list_model_get_item (machines, i);
      const char *id = cv_machine_get_id (machine);

      g_hash_table_add (present, (gpointer) id);
      if (!g_hash_table_contains (self->connections, id))
        cv_application_add_connection (self, machine);
    }

  g_hash_table_iter_init (&iter, self->connections);
  while (g_hash_table_iter_next (&iter, &key, &value))
    if (!g_hash_table_contains (present, key))
      {
        g_autofree char *id = dropped_notification_id (value);

        g_signal_handlers_disconnect_by_data (value, self);
        cv_application_withdraw_notification (self, id);
        g_hash_table_iter_remove (&iter);
      }
}

static void
on_machines_changed (GListModel *model,
                     guint position,
                     guint removed,
                     guint added,
                     CvApplication *self)
{
  cv_application_sync_connections (self);
}

void
cv_application_follow_machines (CvApplication *self)
{
  g_signal_connect_object (cv_machine_store_get_machines (self->store), "items-changed",
                           G_CALLBACK (on_machines_changed), self, 0);
  cv_application_sync_connections (self);
}

CvMachineConnection *
cv_application_get_connection (CvApplication *self, const char *machine_id)
{
  CvMachineConnection *connection;
  CvMachine *machine;

  g_return_val_if_fail (CV_IS_APPLICATION (self), NULL);
  g_return_val_if_fail (machine_id != NULL, NULL);

  connection = g_hash_table_lookup (self->connections, machine_id);
  if (connection != NULL || self->store == NULL)
    return connection;
  /* Asked before the store's "items-changed" reached us (a handler connected earlier). */
  machine = cv_machine_store_find (self->store, machine_id);
  if (machine == NULL)
    return NULL;
  return cv_application_add_connection (self, machine);
}

void
cv_application_send_notification (CvApplication *self, const char *id, GNotification *notification)
{
  g_return_if_fail (CV_IS_APPLICATION (self));
  g_return_if_fail (id != NULL);
  g_return_if_fail (G_IS_NOTIFICATION (notification));

  g_hash_table_replace (self->notifications, g_strdup (id), g_object_ref (notification));
  /* Without a session bus no desktop shell can show it (GLib would complain). */
  if (g_application_get_dbus_connection (G_APPLICATION (self)) != NULL)
    g_application_send_notification (G_APPLICATION (self), id, notification);
}

void
cv_application_withdraw_notification (CvApplication *self, const char *id)
{
  g_return_if_fail (CV_IS_APPLICATION (self));
  g_return_if_fail (id != NULL);

  if (!g_hash_table_remove (self->notifications, id))
    return;
  if (g_application_get_dbus_connection (G_APPLICATION (self)) != NULL)
    g_application_withdraw_notification (G_APPLICATION (self), id);
}

GNotification *
cv_application_lookup_notification (CvApplication *self, const char *id)
{
  g_return_val_if_fail (CV_IS_APPLICATION (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  return g_hash_table_lookup (self->notifications, id);
}
