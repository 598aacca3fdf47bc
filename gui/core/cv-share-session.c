/* cv-share-session.c: "Share this computer" once — the object, its state as the person
 * sees it, and the calls the window makes (start, renew, stop; allow and deny are in
 * cv-share-session-consent.c).  What the engine's share agent says, and how it is built,
 * is in cv-share-session-agent.c. */
#include "cv-share-session-private.h"

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (CvShareSession, cv_share_session, G_TYPE_OBJECT)

GType
cv_share_state_get_type (void)
{
  static gsize type_id = 0;

  if (g_once_init_enter (&type_id))
    {
      static const GEnumValue values[] = {
        { CV_SHARE_STATE_IDLE, "CV_SHARE_STATE_IDLE", "idle" },
        { CV_SHARE_STATE_STARTING, "CV_SHARE_STATE_STARTING", "starting" },
        { CV_SHARE_STATE_WAITING, "CV_SHARE_STATE_WAITING", "waiting" },
        { CV_SHARE_STATE_VERIFYING, "CV_SHARE_STATE_VERIFYING", "verifying" },
        { CV_SHARE_STATE_ASKING, "CV_SHARE_STATE_ASKING", "asking" },
        { CV_SHARE_STATE_CONNECTED, "CV_SHARE_STATE_CONNECTED", "connected" },
        { CV_SHARE_STATE_FAILED, "CV_SHARE_STATE_FAILED", "failed" },
        { 0, NULL, NULL },
      };
      GType type = g_enum_register_static (g_intern_static_string ("CvShareState"), values);

      g_once_init_leave (&type_id, type);
    }
  return type_id;
}

static void
cv_share_session_dispose (GObject *object)
{
  CvShareSession *self = CV_SHARE_SESSION (object);

  cv_share_session_drop_agent (self);
  G_OBJECT_CLASS (cv_share_session_parent_class)->dispose (object);
}

static void
cv_share_session_finalize (GObject *object)
{
  CvShareSession *self = CV_SHARE_SESSION (object);

  g_free (self->gateway.address);
  g_free (self->gateway.fingerprint);
  g_free (self->gateway.origin);
  g_clear_object (&self->services);
  g_free (self->state_dir);
  g_free (self->code);
  g_clear_error (&self->error);
  g_free (self->helper_name);
  g_free (self->helper_address);
  g_free (self->verification);
  g_clear_object (&self->activity);
  g_clear_pointer (&self->context, g_main_context_unref);
  G_OBJECT_CLASS (cv_share_session_parent_class)->finalize (object);
}

static void
cv_share_session_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvShareSession *self = CV_SHARE_SESSION (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_CODE:
      g_value_set_string (value, self->code);
      break;
    case PROP_CODE_EXPIRES:
      g_value_set_int64 (value, self->code_expires);
      break;
    case PROP_ERROR:
      g_value_set_boxed (value, self->error);
      break;
    case PROP_HELPER_NAME:
      g_value_set_string (value, self->helper_name);
      break;
    case PROP_HELPER_ADDRESS:
      g_value_set_string (value, self->helper_address);
      break;
    case PROP_VERIFICATION:
      g_value_set_string (value, self->verification);
      break;
    case PROP_ACTIVITY:
      g_value_set_object (value, self->activity);
      break;
    case PROP_N_CHANNELS:
      g_value_set_uint (value, self->n_channels);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_share_session_class_init (CvShareSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->dispose = cv_share_session_dispose;
  object_class->finalize = cv_share_session_finalize;
  object_class->get_property = cv_share_session_get_property;

  properties[PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, CV_TYPE_SHARE_STATE,
                                              CV_SHARE_STATE_IDLE, flags);
  properties[PROP_CODE] = g_param_spec_string ("code", NULL, NULL, NULL, flags);
  properties[PROP_CODE_EXPIRES] = g_param_spec_int64 ("code-expires", NULL, NULL, 0, G_MAXINT64, 0,
                                                      flags);
  properties[PROP_ERROR] = g_param_spec_boxed ("error", NULL, NULL, G_TYPE_ERROR, flags);
  properties[PROP_HELPER_NAME] = g_param_spec_string ("helper-name", NULL, NULL, NULL, flags);
  properties[PROP_HELPER_ADDRESS] = g_param_spec_string ("helper-address", NULL, NULL, NULL, flags);
  properties[PROP_VERIFICATION] = g_param_spec_string ("verification", NULL, NULL, NULL, flags);
  properties[PROP_ACTIVITY] = g_param_spec_object ("activity", NULL, NULL, G_TYPE_LIST_MODEL,
                                                   flags);
  properties[PROP_N_CHANNELS] = g_param_spec_uint ("n-channels", NULL, NULL, 0, G_MAXUINT, 0,
                                                   flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_CONSENT_REQUESTED] = g_signal_new ("consent-requested", G_TYPE_FROM_CLASS (klass),
                                                    G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                    G_TYPE_NONE, 5, G_TYPE_STRING, G_TYPE_STRING,
                                                    G_TYPE_STRING, G_TYPE_STRING, G_TYPE_STRING);
  signals[SIGNAL_HELPER_CONNECTED] = g_signal_new ("helper-connected", G_TYPE_FROM_CLASS (klass),
                                                   G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                   G_TYPE_NONE, 0);
  signals[SIGNAL_HELPER_LEFT] = g_signal_new ("helper-left", G_TYPE_FROM_CLASS (klass),
                                              G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                                              0);
  signals[SIGNAL_STOPPED] = g_signal_new ("stopped", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
cv_share_session_init (CvShareSession *self)
{
  self->services = g_list_store_new (CV_TYPE_SHARE_SERVICE);
  self->activity = g_list_store_new (CV_TYPE_SHARE_ACTIVITY);
}

/**
 * cv_share_session_new:
 * @gateway: where to share through, its key pinned (copied)
 * @services: the CvShareService items to offer (copied: later changes to the model are
 *   not seen)
 * @state_dir: (nullable): where the share agent keeps its key; NULL: the user data dir
 *
 * Returns: (transfer full): a session in IDLE, on the thread-default main context
 */
CvShareSession *
cv_share_session_new (const CvShareGateway *gateway, GListModel *services, const char *state_dir)
{
  CvShareSession *self;

  g_return_val_if_fail (gateway != NULL && gateway->address != NULL, NULL);
  g_return_val_if_fail (G_IS_LIST_MODEL (services), NULL);

  self = g_object_new (CV_TYPE_SHARE_SESSION, NULL);
  self->context = g_main_context_ref_thread_default ();
  self->gateway.address = g_strdup (gateway->address);
  self->gateway.fingerprint = g_strdup (gateway->fingerprint);
  self->gateway.origin = g_strdup (gateway->origin);
  for (guint i = 0; i < g_list_model_get_n_items (services); i++)
    {
      g_autoptr (CvShareService) service = g_list_model_get_item (services, i);

      g_list_store_append (self->services, service);
    }
  self->state_dir = state_dir != NULL
                      ? g_strdup (state_dir)
                      : g_build_filename (g_get_user_data_dir (), "culvert", "share", NULL);
  self->consent_timeout_ms = CV_SHARE_DEFAULT_CONSENT_TIMEOUT_MS;
  return self;
}

/* ---- setters ------------------------------------------------------------- */

void
cv_share_session_set_state (CvShareSession *self, CvShareState state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

void
cv_share_session_take_error (CvShareSession *self, GError *error)
{
  if (error == NULL && self->error == NULL)
    return;
  if (error != NULL && self->error != NULL
      && g_error_matches (error, self->error->domain, self->error->code)
      && g_str_equal (error->message, self->error->message))
    {
      g_error_free (error);
      return;
    }
  g_clear_error (&self->error);
  self->error = error;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR]);
}

void
cv_share_session_set_code (CvShareSession *self, const char *code, gint64 expires)
{
  if (g_strcmp0 (self->code, code) != 0)
    {
      g_free (self->code);
      self->code = g_strdup (code);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CODE]);
    }
  if (self->code_expires != expires)
    {
      self->code_expires = expires;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CODE_EXPIRES]);
    }
}

static void
set_string (CvShareSession *self, char **field, const char *value, guint prop)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

void
cv_share_session_set_helper (CvShareSession *self,
                             const char *name,
                             const char *address,
                             const char *verification)
{
  set_string (self, &self->helper_name, name, PROP_HELPER_NAME);
  set_string (self, &self->helper_address, address, PROP_HELPER_ADDRESS);
  set_string (self, &self->verification, verification, PROP_VERIFICATION);
}

void
cv_share_session_set_n_channels (CvShareSession *self, guint n_channels)
{
  if (self->n_channels == n_channels)
    return;
  self->n_channels = n_channels;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_CHANNELS]);
}

void
cv_share_session_emit (CvShareSession *self, guint signal, ...)
{
  va_list args;

  va_start (args, signal);
  g_signal_emit_valist (self, signals[signal], 0, args);
  va_end (args);
}

void
cv_share_session_fail (CvShareSession *self, GError *error)
{
  cv_share_session_take_error (self, error);
  cv_share_session_set_state (self, CV_SHARE_STATE_FAILED);
}

/* ---- the window's calls --------------------------------------------------- */

/* What a new attempt starts from: no code, no helper, no error, nothing opened. */
static void
reset (CvShareSession *self)
{
  cv_share_session_set_code (self, NULL, 0);
  cv_share_session_set_helper (self, NULL, NULL, NULL);
  cv_share_session_take_error (self, NULL);
  cv_share_session_set_n_channels (self, 0);
}

/**
 * cv_share_session_start:
 *
 * From IDLE or FAILED: dials the gateway for a code (STARTING, then WAITING with "code").
 * The activity of an earlier start is cleared.
 */
void
cv_share_session_start (CvShareSession *self)
{
  g_autoptr (CvShareSession) alive = g_object_ref (self);
  GError *error = NULL;

  g_return_if_fail (CV_IS_SHARE_SESSION (self));
  g_return_if_fail (self->state == CV_SHARE_STATE_IDLE || self->state == CV_SHARE_STATE_FAILED);

  cv_share_session_drop_agent (self);
  reset (self);
  g_list_store_remove_all (self->activity);
  cv_share_session_set_state (self, CV_SHARE_STATE_STARTING);
  if (!cv_share_session_start_agent (self, &error))
    cv_share_session_fail (self, error);
}

/**
 * cv_share_session_stop:
 *
 * Ends every channel and the tunnel, and the code at the gateway (the share agent's link
 * ends, and with it its nameplate); then "stopped", in IDLE.  The activity stays for the
 * person to read, all of it closed.
 */
void
cv_share_session_stop (CvShareSession *self)
{
  g_autoptr (CvShareSession) alive = g_object_ref (self);

  g_return_if_fail (CV_IS_SHARE_SESSION (self));

  if (self->agent == NULL && self->state == CV_SHARE_STATE_IDLE)
    return;
  cv_share_session_drop_agent (self);
  cv_share_session_close_activity (self);
  cv_share_session_set_code (self, NULL, 0);
  cv_share_session_set_n_channels (self, 0);
  cv_share_session_take_error (self, NULL);
  cv_share_session_set_state (self, CV_SHARE_STATE_IDLE);
  cv_share_session_emit (self, SIGNAL_STOPPED);
}

/**
 * cv_share_session_renew_code:
 *
 * After FAILED (a wrong, expired or declined code, the gateway away) or while WAITING:
 * a new code for the same services (STARTING, then WAITING).  The agent asks its
 * gateway for a new one on the same link when it can; else a new agent dials again.
 */
void
cv_share_session_renew_code (CvShareSession *self)
{
  g_autoptr (CvShareSession) alive = g_object_ref (self);

  g_return_if_fail (CV_IS_SHARE_SESSION (self));
  g_return_if_fail (self->state == CV_SHARE_STATE_FAILED || self->state == CV_SHARE_STATE_WAITING);

  if (self->agent != NULL && cv_share_agent_get_consent_pending (self->agent) == FALSE
      && cv_share_agent_get_n_tunnels (self->agent) == 0 && cv_share_agent_renew_code (self->agent))
    {
      reset (self);
      cv_share_session_set_state (self, CV_SHARE_STATE_STARTING);
      return;
    }
  cv_share_session_set_state (self, CV_SHARE_STATE_FAILED); /* start () takes it from there */
  cv_share_session_start (self);
}

/* ---- getters -------------------------------------------------------------- */

CvShareState
cv_share_session_get_state (CvShareSession *self)
{
  g_return_val_if_fail (CV_IS_SHARE_SESSION (self), CV_SHARE_STATE_IDLE);
  return self->state;
}

const char *
cv_share_session_get_code (CvShareSession *self)
{
  g_return_val_if_fail (CV_IS_SHARE_SESSION (self), NULL);
  return self->code;
}

gint64
cv_share_session_get_code_expires (CvShareSession *self)
{
  g_return_val_if_fail (CV_IS_SHARE_SESSION (self), 0);
  return self->code_expires;
}

const GError *
cv_share_session_get_error (CvShareSession *self)
{
  g_return_val_if_fail (CV_IS_SHARE_SESSION (self), NULL);
  return self->error;
}

const char *
cv_share_session_get_helper_name (CvShareSession *self)
{
  g_return_val_if_fail (CV_IS_SHARE_SESSION (self), NULL);
  return self->helper_name;
}

const char *
cv_share_session_get_helper_address (CvShareSession *self)
{
  g_return_val_if_fail (CV_IS_SHARE_SESSION (self), NULL);
  return self->helper_address;
}

const char *
cv_share_session_get_verification (CvShareSession *self)
{
  g_return_val_if_fail (CV_IS_SHARE_SESSION (self), NULL);
  return self->verification;
}

GListModel *
cv_share_session_get_activity (CvShareSession *self)
{
  g_return_val_if_fail (CV_IS_SHARE_SESSION (self), NULL);
  return G_LIST_MODEL (self->activity);
}

guint
cv_share_session_get_n_channels (CvShareSession *self)
{
  g_return_val_if_fail (CV_IS_SHARE_SESSION (self), 0);
  return self->n_channels;
}

GListModel *
cv_share_session_get_services (CvShareSession *self)
{
  g_return_val_if_fail (CV_IS_SHARE_SESSION (self), NULL);
  return G_LIST_MODEL (self->services);
}
