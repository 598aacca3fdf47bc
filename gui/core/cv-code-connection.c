/* cv-code-connection.c: "Connect with a code" once, through the engine's connect agent in
 * code mode with its services first (engine/SESSION-CODES.md §6.2): the agent claims the
 * code, the PAKE confirms both keys, the tunnel opens and brings the offered services;
 * only when the technician has chosen is the person sharing asked, and once they accept
 * each chosen service is a CvServiceLink like a saved machine's, with its live state
 * and launcher.  The engine's states become this object's few, its failures sentences
 * (cv-code-connection-words.c).  Everything runs on the main context that was
 * thread-default when the object was made. */
#include "cv-code-connection-private.h"

#include "cv-app-error.h"
#include "cv-machine.h"
#include "cv-service-link.h"

#include "auth/cv-password.h"
#include "config/cv-agent-config.h"
#include "wire/cv-code.h"

#include <glib/gi18n.h>

G_DEFINE_ENUM_TYPE (CvCodeConnectionState,
                    cv_code_connection_state,
                    G_DEFINE_ENUM_VALUE (CV_CODE_CONNECTION_IDLE, "idle"),
                    G_DEFINE_ENUM_VALUE (CV_CODE_CONNECTION_CLAIMING, "claiming"),
                    G_DEFINE_ENUM_VALUE (CV_CODE_CONNECTION_CONFIRMED, "confirmed"),
                    G_DEFINE_ENUM_VALUE (CV_CODE_CONNECTION_ASKING, "asking"),
                    G_DEFINE_ENUM_VALUE (CV_CODE_CONNECTION_CONNECTED, "connected"),
                    G_DEFINE_ENUM_VALUE (CV_CODE_CONNECTION_FAILED, "failed"))

static GParamSpec *properties[N_PROPS];
static guint signal_connected;

G_DEFINE_FINAL_TYPE (CvCodeConnection, cv_code_connection, G_TYPE_OBJECT)

static void
cv_code_connection_dispose (GObject *object)
{
  CvCodeConnection *self = CV_CODE_CONNECTION (object);

  cv_code_connection_drop_agent (self);
  G_OBJECT_CLASS (cv_code_connection_parent_class)->dispose (object);
}

static void
cv_code_connection_finalize (GObject *object)
{
  CvCodeConnection *self = CV_CODE_CONNECTION (object);

  g_free (self->gateway);
  g_free (self->fingerprint);
  g_free (self->state_dir);
  g_free (self->verification);
  g_free (self->share_name);
  g_clear_error (&self->error);
  g_clear_object (&self->services);
  g_clear_pointer (&self->context, g_main_context_unref);
  G_OBJECT_CLASS (cv_code_connection_parent_class)->finalize (object);
}

static void
cv_code_connection_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvCodeConnection *self = CV_CODE_CONNECTION (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_VERIFICATION:
      g_value_set_string (value, self->verification);
      break;
    case PROP_SHARE_NAME:
      g_value_set_string (value, self->share_name);
      break;
    case PROP_OFFERED:
      g_value_set_object (value, cv_code_connection_get_offered (self));
      break;
    case PROP_SERVICES:
      g_value_set_object (value, self->services);
      break;
    case PROP_ERROR:
      g_value_set_boxed (value, self->error);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_code_connection_class_init (CvCodeConnectionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->dispose = cv_code_connection_dispose;
  object_class->finalize = cv_code_connection_finalize;
  object_class->get_property = cv_code_connection_get_property;

  properties[PROP_STATE] = g_param_spec_enum ("state", NULL, NULL, CV_TYPE_CODE_CONNECTION_STATE,
                                              CV_CODE_CONNECTION_IDLE, flags);
  properties[PROP_VERIFICATION] = g_param_spec_string ("verification", NULL, NULL, NULL, flags);
  properties[PROP_SHARE_NAME] = g_param_spec_string ("share-name", NULL, NULL, NULL, flags);
  properties[PROP_OFFERED] = g_param_spec_object ("offered", NULL, NULL, G_TYPE_LIST_MODEL, flags);
  properties[PROP_SERVICES] = g_param_spec_object ("services", NULL, NULL, G_TYPE_LIST_MODEL,
                                                   flags);
  properties[PROP_ERROR] = g_param_spec_boxed ("error", NULL, NULL, G_TYPE_ERROR, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signal_connected = g_signal_new ("connected", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
cv_code_connection_init (CvCodeConnection *self)
{
  self->services = g_list_store_new (CV_TYPE_SERVICE_LINK);
  self->no_offer = g_list_store_new (CV_TYPE_SERVICE);
}

/* ---- for the other files ------------------------------------------------ */

void
cv_code_connection_notify (CvCodeConnection *self, guint prop_id)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

void
cv_code_connection_set_state (CvCodeConnection *self, CvCodeConnectionState state)
{
  if (self->state == state)
    return;
  self->state = state;
  cv_code_connection_notify (self, PROP_STATE);
  if (state == CV_CODE_CONNECTION_CONNECTED)
    g_signal_emit (self, signal_connected, 0);
}

void
cv_code_connection_set_string (CvCodeConnection *self, guint prop_id, const char *value)
{
  char **field = prop_id == PROP_VERIFICATION ? &self->verification : &self->share_name;

  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  cv_code_connection_notify (self, prop_id);
}

void
cv_code_connection_fail (CvCodeConnection *self, GError *error)
{
  g_autoptr (GObject) alive = g_object_ref (G_OBJECT (self));

  g_message ("connect with a code: %s", error->message);
  cv_code_connection_drop_agent (self);
  g_clear_error (&self->error);
  self->error = error;
  cv_code_connection_notify (self, PROP_ERROR);
  cv_code_connection_set_state (self, CV_CODE_CONNECTION_FAILED);
}

/* ---- public ------------------------------------------------------------- */

CvCodeConnection *
cv_code_connection_new (const char *gateway, const char *fingerprint, const char *state_dir)
{
  CvCodeConnection *self = g_object_new (CV_TYPE_CODE_CONNECTION, NULL);

  self->context = g_main_context_ref_thread_default ();
  self->gateway = g_strstrip (g_strdup (gateway != NULL ? gateway : ""));
  self->fingerprint = g_strstrip (g_strdup (fingerprint != NULL ? fingerprint : ""));
  self->state_dir = state_dir != NULL ? g_strdup (state_dir)
                                      : g_build_filename (g_get_user_data_dir (), "culvert", NULL);
  return self;
}

/* The code gateway's address and key, checked; NULL with a sentence. */
static CvConnectConfig *
make_config (CvCodeConnection *self, GError **error)
{
  g_autoptr (CvConnectConfig) config = cv_connect_config_new ();
  g_autoptr (GError) local_error = NULL;
  g_autofree char *host = NULL;
  g_autofree char *fingerprint = NULL;
  guint16 port = 0;

  if (*self->gateway == '\0')
    {
      g_set_error_literal (error, CV_APP_ERROR, CV_APP_ERROR_NO_GATEWAY,
                           _ ("No gateway is set for connecting with a code. Set one in "
                              "Preferences, under Connect with a Code."));
      return NULL;
    }
  if (!cv_machine_parse_gateway (self->gateway, &host, &port, &local_error))
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_NO_GATEWAY, _ ("%s Fix it in Preferences."),
                   local_error->message);
      return NULL;
    }
  if (*self->fingerprint != '\0'
      && !cv_agent_config_parse_fingerprint (self->fingerprint, "fingerprint", &fingerprint,
                                             &local_error))
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_NO_GATEWAY,
                   _ ("The fingerprint of the gateway for codes is not valid (%s). Fix it in "
                      "Preferences."),
                   local_error->message);
      return NULL;
    }
  cv_agent_config_set_gateway (&config->agent, host, port, fingerprint);
  cv_agent_config_set_name (&config->agent, g_get_host_name ());
  cv_agent_config_set_state_dir (&config->agent, self->state_dir);
  config->agent.code_mode = TRUE;
  return g_steal_pointer (&config);
}

/**
 * cv_code_connection_claim:
 *
 * Starts the engine's connect agent for @code: CLAIMING, then CONFIRMED with the
 * verification and the offered services, or FAILED (a burned or expired code, the
 * gateway unreachable…).
 */
gboolean
cv_code_connection_claim (CvCodeConnection *self, const char *code, GError **error)
{
  g_autoptr (CvConnectConfig) config = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *nameplate = NULL;
  char *secret = NULL;

  g_return_val_if_fail (CV_IS_CODE_CONNECTION (self), FALSE);
  g_return_val_if_fail (self->agent == NULL, FALSE);

  if ((config = make_config (self, error)) == NULL)
    return FALSE;
  if (!cv_code_parse (code != NULL ? code : "", &nameplate, &secret, NULL))
    {
      g_set_error_literal (error, CV_APP_ERROR, CV_APP_ERROR_INVALID,
                           _ ("That is not a code. A code has nine digits or more, like "
                              "482-913-557: ask the person sharing to read it again."));
      return FALSE;
    }
  cv_secret_free (secret);
  g_clear_error (&self->error);
  cv_code_connection_notify (self, PROP_ERROR);
  cv_code_connection_set_string (self, PROP_VERIFICATION, NULL);
  cv_code_connection_set_string (self, PROP_SHARE_NAME, NULL);
  g_list_store_remove_all (self->services);
  if (!cv_code_connection_start_agent (self, config, code, &local_error))
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_FAILED,
                   _ ("Culvert could not prepare the connection: %s. Check that %s can be "
                      "written to."),
                   local_error->message, self->state_dir);
      return FALSE;
    }
  cv_code_connection_set_state (self, CV_CODE_CONNECTION_CLAIMING);
  cv_code_connection_notify (self, PROP_OFFERED);
  return TRUE;
}

void
cv_code_connection_disconnect (CvCodeConnection *self)
{
  g_return_if_fail (CV_IS_CODE_CONNECTION (self));

  cv_code_connection_drop_agent (self);
  cv_code_connection_set_state (self, CV_CODE_CONNECTION_IDLE);
}

CvCodeConnectionState
cv_code_connection_get_state (CvCodeConnection *self)
{
  g_return_val_if_fail (CV_IS_CODE_CONNECTION (self), CV_CODE_CONNECTION_IDLE);
  return self->state;
}

const char *
cv_code_connection_get_verification (CvCodeConnection *self)
{
  g_return_val_if_fail (CV_IS_CODE_CONNECTION (self), NULL);
  return self->verification;
}

const char *
cv_code_connection_get_share_name (CvCodeConnection *self)
{
  g_return_val_if_fail (CV_IS_CODE_CONNECTION (self), NULL);
  return self->share_name;
}

/* The agent's own model while there is one, else an empty one. */
GListModel *
cv_code_connection_get_offered (CvCodeConnection *self)
{
  g_return_val_if_fail (CV_IS_CODE_CONNECTION (self), NULL);
  return self->agent != NULL ? cv_connect_agent_get_services (self->agent)
                             : G_LIST_MODEL (self->no_offer);
}

GListModel *
cv_code_connection_get_services (CvCodeConnection *self)
{
  g_return_val_if_fail (CV_IS_CODE_CONNECTION (self), NULL);
  return G_LIST_MODEL (self->services);
}

const GError *
cv_code_connection_get_error (CvCodeConnection *self)
{
  g_return_val_if_fail (CV_IS_CODE_CONNECTION (self), NULL);
  return self->error;
}

char *
cv_code_format_typed (const char *text)
{
  g_autoptr (GString) digits = g_string_new (NULL);
  GString *formatted = g_string_new (NULL);
  gsize nameplate;

  for (const char *p = text != NULL ? text : ""; *p != '\0' && digits->len < 15; p++)
    if (g_ascii_isdigit (*p))
      g_string_append_c (digits, *p);
  /* Up to nine digits in threes as they come; a longer code has a longer nameplate
   * before its six secret digits (SESSION-CODES.md §2). */
  nameplate = digits->len > 9 ? digits->len - 6 : 3;
  for (gsize i = 0; i < digits->len; i++)
    {
      if (i > 0 && (i == nameplate || (i > nameplate && (i - nameplate) % 3 == 0)))
        g_string_append_c (formatted, '-');
      g_string_append_c (formatted, digits->str[i]);
    }
  return g_string_free (formatted, FALSE);
}
