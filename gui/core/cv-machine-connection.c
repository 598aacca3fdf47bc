/* cv-machine-connection.c: one saved machine, driven through the engine in-process — its
 * presence while idle, and on Connect the control link, the mappings and their state.
 *
 * connect () reads the password (keyring or this run's), learns the gateway's key when
 * none is trusted yet and asks the person about it, then builds the engine's connect
 * agent in code and follows its link: the engine retries what can be retried (a lost
 * machine, a gateway restart) and this object says so in words; what cannot be retried
 * (a wrong password, a changed key) stops everything and says what to do.
 *
 * Everything runs on the main context that was thread-default when the object was made.
 * This file holds the object, its state and the public calls; its words ("status") are in
 * cv-machine-connection-status.c, the engine's agent is driven in
 * cv-machine-connection-agent.c, and presence while idle in cv-machine-connection-presence.c.
 */
#include "cv-machine-connection-private.h"

#include "cv-app-error.h"
#include "cv-service-link.h"

#include "transport/cv-gateway-probe.h"
#include "transport/cv-identity.h"

#include <glib/gi18n.h>

G_DEFINE_ENUM_TYPE (CvConnectionState,
                    cv_connection_state,
                    G_DEFINE_ENUM_VALUE (CV_CONNECTION_STATE_IDLE, "idle"),
                    G_DEFINE_ENUM_VALUE (CV_CONNECTION_STATE_PREPARING, "preparing"),
                    G_DEFINE_ENUM_VALUE (CV_CONNECTION_STATE_NEEDS_TRUST, "needs-trust"),
                    G_DEFINE_ENUM_VALUE (CV_CONNECTION_STATE_CONNECTING, "connecting"),
                    G_DEFINE_ENUM_VALUE (CV_CONNECTION_STATE_CONNECTED, "connected"),
                    G_DEFINE_ENUM_VALUE (CV_CONNECTION_STATE_RECONNECTING, "reconnecting"),
                    G_DEFINE_ENUM_VALUE (CV_CONNECTION_STATE_FAILED, "failed"))

G_DEFINE_ENUM_TYPE (CvPresence,
                    cv_presence,
                    G_DEFINE_ENUM_VALUE (CV_PRESENCE_UNKNOWN, "unknown"),
                    G_DEFINE_ENUM_VALUE (CV_PRESENCE_ONLINE, "online"),
                    G_DEFINE_ENUM_VALUE (CV_PRESENCE_OFFLINE, "offline"))

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (CvMachineConnection, cv_machine_connection, G_TYPE_OBJECT)

static void rebuild_services (CvMachineConnection *self);

void
cv_machine_connection_notify (CvMachineConnection *self, guint prop_id)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

void
cv_machine_connection_emit (CvMachineConnection *self, guint signal_id, ...)
{
  va_list args;

  va_start (args, signal_id);
  g_signal_emit_valist (self, signals[signal_id], 0, args);
  va_end (args);
}

static void
cv_machine_connection_dispose (GObject *object)
{
  CvMachineConnection *self = CV_MACHINE_CONNECTION (object);

  g_cancellable_cancel (self->cancellable);
  cv_machine_connection_stop_presence (self);
  cv_machine_connection_drop_agent (self);
  if (self->tick != NULL)
    {
      g_source_destroy (self->tick);
      g_clear_pointer (&self->tick, g_source_unref);
    }
  if (self->machine != NULL)
    {
      g_signal_handlers_disconnect_by_data (cv_machine_get_services (self->machine), self);
      g_signal_handlers_disconnect_by_data (self->machine, self);
    }
  G_OBJECT_CLASS (cv_machine_connection_parent_class)->dispose (object);
}

static void
cv_machine_connection_finalize (GObject *object)
{
  CvMachineConnection *self = CV_MACHINE_CONNECTION (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->password, cv_secret_free);
  g_clear_object (&self->machine);
  g_clear_object (&self->secrets);
  g_clear_object (&self->services);
  g_clear_error (&self->error);
  g_free (self->state_dir);
  g_free (self->status);
  g_free (self->changed_fingerprint);
  g_free (self->offered_fingerprint);
  g_clear_pointer (&self->context, g_main_context_unref);
  G_OBJECT_CLASS (cv_machine_connection_parent_class)->finalize (object);
}

static void
cv_machine_connection_get_property (GObject *object,
                                    guint prop_id,
                                    GValue *value,
                                    GParamSpec *pspec)
{
  CvMachineConnection *self = CV_MACHINE_CONNECTION (object);

  switch (prop_id)
    {
    case PROP_MACHINE:
      g_value_set_object (value, self->machine);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_PRESENCE:
      g_value_set_enum (value, self->presence);
      break;
    case PROP_PRESENCE_SINCE:
      g_value_set_int64 (value, self->presence_since);
      break;
    case PROP_ERROR:
      g_value_set_boxed (value, self->error);
      break;
    case PROP_NEXT_RETRY_TIME:
      g_value_set_int64 (value, self->next_retry_time);
      break;
    case PROP_ROUND_TRIP_US:
      g_value_set_int64 (value, self->round_trip_us);
      break;
    case PROP_N_CHANNELS:
      g_value_set_uint (value, self->n_channels);
      break;
    case PROP_SERVICES:
      g_value_set_object (value, self->services);
      break;
    case PROP_STATUS:
      g_value_set_string (value, self->status);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_machine_connection_class_init (CvMachineConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->dispose = cv_machine_connection_dispose;
  object_class->finalize = cv_machine_connection_finalize;
  object_class->get_property = cv_machine_connection_get_property;

  properties[PROP_MACHINE] = g_param_spec_object ("machine", NULL, NULL, CV_TYPE_MACHINE, flags);
  properties[PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, CV_TYPE_CONNECTION_STATE,
                                              CV_CONNECTION_STATE_IDLE, flags);
  properties[PROP_PRESENCE] = g_param_spec_enum ("presence", NULL, NULL, CV_TYPE_PRESENCE,
                                                 CV_PRESENCE_UNKNOWN, flags);
  properties[PROP_PRESENCE_SINCE] = g_param_spec_int64 ("presence-since", NULL, NULL, 0, G_MAXINT64,
                                                        0, flags);
  properties[PROP_ERROR] = g_param_spec_boxed ("error", NULL, NULL, G_TYPE_ERROR, flags);
  properties[PROP_NEXT_RETRY_TIME] = g_param_spec_int64 ("next-retry-time", NULL, NULL, 0,
                                                         G_MAXINT64, 0, flags);
  properties[PROP_ROUND_TRIP_US] = g_param_spec_int64 ("round-trip-us", NULL, NULL, -1, G_MAXINT64,
                                                       -1, flags);
  properties[PROP_N_CHANNELS] = g_param_spec_uint ("n-channels", NULL, NULL, 0, G_MAXUINT, 0,
                                                   flags);
  properties[PROP_SERVICES] = g_param_spec_object ("services", NULL, NULL, G_TYPE_LIST_MODEL,
                                                   flags);
  properties[PROP_STATUS] = g_param_spec_string ("status", NULL, NULL, NULL, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_TRUST_REQUESTED] = g_signal_new ("trust-requested", G_TYPE_FROM_CLASS (klass),
                                                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                  G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_CONNECTED] = g_signal_new ("connected", G_TYPE_FROM_CLASS (klass),
                                            G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  signals[SIGNAL_DROPPED] = g_signal_new ("dropped", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
  signals[SIGNAL_RESTORED] = g_signal_new ("restored", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
cv_machine_connection_init (CvMachineConnection *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->services = g_list_store_new (CV_TYPE_SERVICE_LINK);
  self->round_trip_us = -1;
  self->cancellable = g_cancellable_new ();
}

static void
on_services_changed (GListModel *services,
                     guint position,
                     guint removed,
                     guint added,
                     CvMachineConnection *self)
{
  /* The links of a connection that runs stay as they are until it ends. */
  if (self->agent != NULL)
    self->services_stale = TRUE;
  else
    rebuild_services (self);
}

static void
on_machine_changed (CvMachine *machine, GParamSpec *pspec, CvMachineConnection *self)
{
  /* Another gateway, session or key: the presence link asks the new one. */
  cv_machine_connection_update_presence_watch (self);
}

static void
on_gateway_changed (CvMachine *machine, GParamSpec *pspec, CvMachineConnection *self)
{
  /* The key being learned or asked about is the old address's: trusting it now would pin
   * it for an address the person was not shown.  The attempt ends; Connect asks anew. */
  if (self->state == CV_CONNECTION_STATE_PREPARING
      || self->state == CV_CONNECTION_STATE_NEEDS_TRUST)
    cv_machine_connection_disconnect (self);
  else
    cv_machine_connection_update_presence_watch (self);
}

/**
 * cv_machine_connection_new:
 * @state_dir: (nullable): the agent's key and pinned share agents; NULL for
 *   g_get_user_data_dir ()/culvert
 */
CvMachineConnection *
cv_machine_connection_new (CvMachine *machine, CvSecretStore *secrets, const char *state_dir)
{
  CvMachineConnection *self;

  g_return_val_if_fail (CV_IS_MACHINE (machine), NULL);
  g_return_val_if_fail (CV_IS_SECRET_STORE (secrets), NULL);

  self = g_object_new (CV_TYPE_MACHINE_CONNECTION, NULL);
  self->machine = g_object_ref (machine);
  self->secrets = g_object_ref (secrets);
  self->state_dir = state_dir != NULL ? g_strdup (state_dir)
                                      : g_build_filename (g_get_user_data_dir (), "culvert", NULL);
  g_signal_connect (cv_machine_get_services (machine), "items-changed",
                    G_CALLBACK (on_services_changed), self);
  g_signal_connect_object (machine, "notify::fingerprint", G_CALLBACK (on_machine_changed), self,
                           0);
  g_signal_connect_object (machine, "notify::gateway-host", G_CALLBACK (on_gateway_changed), self,
                           0);
  g_signal_connect_object (machine, "notify::gateway-port", G_CALLBACK (on_gateway_changed), self,
                           0);
  g_signal_connect_object (machine, "notify::session", G_CALLBACK (on_machine_changed), self, 0);
  rebuild_services (self);
  cv_machine_connection_update_status (self);
  return self;
}

/* ---- state -------------------------------------------------------------- */

static void
rebuild_services (CvMachineConnection *self)
{
  GListModel *services = cv_machine_get_services (self->machine);
  g_autoptr (GPtrArray) links = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < g_list_model_get_n_items (services); i++)
    {
      g_autoptr (CvMachineService) service = g_list_model_get_item (services, i);

      g_ptr_array_add (links, cv_service_link_new (service));
    }
  self->services_stale = FALSE;
  g_list_store_splice (self->services, 0, g_list_model_get_n_items (G_LIST_MODEL (self->services)),
                       links->pdata, links->len);
}

void
cv_machine_connection_set_state (CvMachineConnection *self, CvConnectionState state)
{
  if (self->state == state)
    return;
  self->state = state;
  cv_machine_connection_notify (self, PROP_STATE);
  cv_machine_connection_update_status (self);
}

void
cv_machine_connection_take_error (CvMachineConnection *self, GError *error)
{
  if (self->error == NULL && error == NULL)
    return;
  if (self->error != NULL && error != NULL && self->error->domain == error->domain
      && self->error->code == error->code && g_str_equal (self->error->message, error->message))
    {
      g_error_free (error);
      return;
    }
  g_clear_error (&self->error);
  self->error = error;
  cv_machine_connection_notify (self, PROP_ERROR);
  cv_machine_connection_update_status (self);
}

void
cv_machine_connection_set_presence (CvMachineConnection *self, CvPresence presence)
{
  if (self->presence == presence)
    return;
  self->presence = presence;
  self->presence_since = g_get_real_time ();
  cv_machine_connection_notify (self, PROP_PRESENCE);
  cv_machine_connection_notify (self, PROP_PRESENCE_SINCE);
  cv_machine_connection_update_status (self);
}

void
cv_machine_connection_set_next_retry_time (CvMachineConnection *self, gint64 monotonic_us)
{
  if (self->next_retry_time == monotonic_us)
    return;
  self->next_retry_time = monotonic_us;
  cv_machine_connection_notify (self, PROP_NEXT_RETRY_TIME);
  cv_machine_connection_update_status (self);
}

void
cv_machine_connection_set_traffic (CvMachineConnection *self,
                                   guint n_channels,
                                   gint64 round_trip_us)
{
  if (self->n_channels != n_channels)
    {
      self->n_channels = n_channels;
      cv_machine_connection_notify (self, PROP_N_CHANNELS);
      cv_machine_connection_update_status (self);
    }
  if (self->round_trip_us != round_trip_us)
    {
      self->round_trip_us = round_trip_us;
      cv_machine_connection_notify (self, PROP_ROUND_TRIP_US);
    }
}

void
cv_machine_connection_set_changed_fingerprint (CvMachineConnection *self, const char *fingerprint)
{
  g_free (self->changed_fingerprint);
  self->changed_fingerprint = g_strdup (fingerprint);
}

void
cv_machine_connection_fail (CvMachineConnection *self, GError *error)
{
  g_clear_pointer (&self->password, cv_secret_free);
  cv_machine_connection_drop_agent (self);
  cv_machine_connection_set_next_retry_time (self, 0);
  cv_machine_connection_take_error (self, error);
  cv_machine_connection_set_state (self, CV_CONNECTION_STATE_FAILED);
}

/* ---- connecting --------------------------------------------------------- */

static void
on_first_probe (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CvMachineConnection) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *fingerprint = cv_gateway_probe_fingerprint_finish (result, &error);
  g_autofree char *gateway = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      || self->state != CV_CONNECTION_STATE_PREPARING)
    return;
  if (fingerprint == NULL)
    {
      gateway = cv_machine_dup_gateway (self->machine);
      cv_machine_connection_fail (
        self, g_error_new (CV_APP_ERROR, CV_APP_ERROR_UNTRUSTED,
                           _ ("Culvert could not learn the key of the gateway at %s: %s. Check "
                              "the address and that the gateway runs, then connect again."),
                           gateway, error->message));
      return;
    }
  g_free (self->offered_fingerprint);
  self->offered_fingerprint = g_strdup (fingerprint);
  cv_machine_connection_set_state (self, CV_CONNECTION_STATE_NEEDS_TRUST);
  /* A handler of "state" may have disconnected: then nobody is to be asked. */
  if (self->state == CV_CONNECTION_STATE_NEEDS_TRUST)
    cv_machine_connection_emit (self, SIGNAL_TRUST_REQUESTED, fingerprint, NULL);
}

static void
on_password (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CvMachineConnection) self = user_data;
  g_autoptr (GError) error = NULL;
  CvSecret *password = cv_secret_store_lookup_finish (CV_SECRET_STORE (source), result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
      || self->state != CV_CONNECTION_STATE_PREPARING)
    {
      cv_secret_free (password);
      return;
    }
  if (g_error_matches (error, CV_APP_ERROR, CV_APP_ERROR_NO_KEYRING))
    {
      cv_machine_connection_fail (
        self, g_error_new_literal (CV_APP_ERROR, CV_APP_ERROR_NO_KEYRING,
                                   _ ("No keyring is running, so Culvert cannot read this "
                                      "machine’s password. Edit the machine and enter the "
                                      "session’s connect password for this run.")));
      return;
    }
  if (error != NULL)
    {
      /* The store's own sentence (a locked keyring…). */
      cv_machine_connection_fail (self, g_steal_pointer (&error));
      return;
    }
  if (password == NULL)
    {
      cv_machine_connection_fail (
        self, g_error_new_literal (CV_APP_ERROR, CV_APP_ERROR_NO_PASSWORD,
                                   _ ("No password is stored for this machine. Edit it and enter "
                                      "the session’s connect password.")));
      return;
    }
  g_clear_pointer (&self->password, cv_secret_free);
  self->password = password;

  if (cv_machine_get_fingerprint (self->machine) == NULL)
    {
      g_autoptr (GMainContextPusher) pusher = g_main_context_pusher_new (self->context);

      cv_machine_connection_probe_key (self, on_first_probe, g_object_ref (self));
      return;
    }
  cv_machine_connection_start_agent (self);
}

/* From IDLE or FAILED; otherwise ignored. */
void
cv_machine_connection_connect (CvMachineConnection *self)
{
  g_autoptr (GMainContextPusher) pusher = NULL;
  g_autoptr (GError) invalid = NULL;

  g_return_if_fail (CV_IS_MACHINE_CONNECTION (self));

  if (self->state != CV_CONNECTION_STATE_IDLE && self->state != CV_CONNECTION_STATE_FAILED)
    return;
  /* A machine the editor would not save (one hand-written in machines.json) has nothing to
   * dial, or no session to log in to: said as the editor says it. */
  if (!cv_machine_check (self->machine, &invalid))
    {
      cv_machine_connection_stop_presence (self);
      cv_machine_connection_drop_agent (self);
      cv_machine_connection_fail (self, g_steal_pointer (&invalid));
      return;
    }
  cv_machine_connection_stop_presence (self);
  cv_machine_connection_drop_agent (self);
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->connected_once = FALSE;
  self->dropped = FALSE;
  cv_machine_connection_set_changed_fingerprint (self, NULL);
  if (self->services_stale)
    rebuild_services (self);
  cv_machine_connection_take_error (self, NULL);
  cv_machine_connection_set_state (self, CV_CONNECTION_STATE_PREPARING);

  pusher = g_main_context_pusher_new (self->context);
  cv_secret_store_lookup_async (self->secrets, cv_machine_get_id (self->machine), self->cancellable,
                                on_password, g_object_ref (self));
}

/* @fingerprint: the key "trust-requested" showed, as the person accepted it.  Only that
 * key is pinned: any other (a stale dialog's, a caller's mistake) pins nothing and stops
 * the attempt, so that what is trusted is always what the person was shown. */
void
cv_machine_connection_trust (CvMachineConnection *self, const char *fingerprint)
{
  g_autofree char *normalized = NULL;

  g_return_if_fail (CV_IS_MACHINE_CONNECTION (self));
  g_return_if_fail (fingerprint != NULL);

  if (self->state != CV_CONNECTION_STATE_NEEDS_TRUST)
    return;
  normalized = cv_fingerprint_normalize (fingerprint, NULL);
  if (normalized == NULL || self->offered_fingerprint == NULL
      || !cv_fingerprint_equal (normalized, self->offered_fingerprint))
    {
      g_clear_pointer (&self->offered_fingerprint, g_free);
      cv_machine_connection_fail (
        self, g_error_new_literal (CV_APP_ERROR, CV_APP_ERROR_UNTRUSTED,
                                   _ ("The key that was trusted is not the one the gateway "
                                      "presented, so Culvert trusted nothing and did not "
                                      "connect. Connect again to see the gateway’s key.")));
      return;
    }

  g_clear_pointer (&self->offered_fingerprint, g_free);
  cv_machine_set_fingerprint (self->machine, normalized);
  cv_machine_connection_start_agent (self);
}

/* Ends everything: tunnel, channels, listeners, link; back to IDLE.  Idempotent. */
void
cv_machine_connection_disconnect (CvMachineConnection *self)
{
  g_return_if_fail (CV_IS_MACHINE_CONNECTION (self));

  if (self->state == CV_CONNECTION_STATE_IDLE)
    return;
  g_cancellable_cancel (self->cancellable);
  g_clear_pointer (&self->password, cv_secret_free);
  g_clear_pointer (&self->offered_fingerprint, g_free);
  cv_machine_connection_drop_agent (self);
  self->dropped = FALSE;
  cv_machine_connection_set_next_retry_time (self, 0);
  cv_machine_connection_take_error (self, NULL);
  cv_machine_connection_set_state (self, CV_CONNECTION_STATE_IDLE);
  if (self->services_stale)
    rebuild_services (self);
  cv_machine_connection_update_presence_watch (self);
}

void
cv_machine_connection_watch_presence (CvMachineConnection *self, gboolean watch)
{
  g_return_if_fail (CV_IS_MACHINE_CONNECTION (self));

  watch = !!watch;
  if (self->watch_presence == watch)
    return;
  self->watch_presence = watch;
  cv_machine_connection_update_presence_watch (self);
}

/* ---- getters ------------------------------------------------------------ */

CvMachine *
cv_machine_connection_get_machine (CvMachineConnection *self)
{
  g_return_val_if_fail (CV_IS_MACHINE_CONNECTION (self), NULL);
  return self->machine;
}

CvConnectionState
cv_machine_connection_get_state (CvMachineConnection *self)
{
  g_return_val_if_fail (CV_IS_MACHINE_CONNECTION (self), CV_CONNECTION_STATE_IDLE);
  return self->state;
}

CvPresence
cv_machine_connection_get_presence (CvMachineConnection *self)
{
  g_return_val_if_fail (CV_IS_MACHINE_CONNECTION (self), CV_PRESENCE_UNKNOWN);
  return self->presence;
}

gint64
cv_machine_connection_get_presence_since (CvMachineConnection *self)
{
  g_return_val_if_fail (CV_IS_MACHINE_CONNECTION (self), 0);
  return self->presence_since;
}

const GError *
cv_machine_connection_get_error (CvMachineConnection *self)
{
  g_return_val_if_fail (CV_IS_MACHINE_CONNECTION (self), NULL);
  return self->error;
}

gint64
cv_machine_connection_get_next_retry_time (CvMachineConnection *self)
{
  g_return_val_if_fail (CV_IS_MACHINE_CONNECTION (self), 0);
  return self->next_retry_time;
}

gint64
cv_machine_connection_get_round_trip_us (CvMachineConnection *self)
{
  g_return_val_if_fail (CV_IS_MACHINE_CONNECTION (self), -1);
  return self->round_trip_us;
}

guint
cv_machine_connection_get_n_channels (CvMachineConnection *self)
{
  g_return_val_if_fail (CV_IS_MACHINE_CONNECTION (self), 0);
  return self->n_channels;
}

GListModel *
cv_machine_connection_get_services (CvMachineConnection *self)
{
  g_return_val_if_fail (CV_IS_MACHINE_CONNECTION (self), NULL);
  return G_LIST_MODEL (self->services);
}

const char *
cv_machine_connection_get_status (CvMachineConnection *self)
{
  g_return_val_if_fail (CV_IS_MACHINE_CONNECTION (self), NULL);
  return self->status;
}

const char *
cv_machine_connection_get_changed_fingerprint (CvMachineConnection *self)
{
  g_return_val_if_fail (CV_IS_MACHINE_CONNECTION (self), NULL);
  return self->changed_fingerprint;
}
