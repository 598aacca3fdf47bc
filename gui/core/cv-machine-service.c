/* cv-machine-service.c: one service of a saved machine, its checks and its JSON. */
#include "cv-machine-service.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "config/cv-config.h"
#include "wire/cv-host-port.h"

#include "cv-app-error.h"

#define DEFAULT_TARGET_HOST "127.0.0.1"

struct _CvMachineService {
  GObject parent_instance;

  CvServicePreset preset;
  char *target_host;
  guint16 target_port;
  guint16 local_port;
  CvLauncherKind launcher;
  char *custom_command;
};

enum {
  PROP_0,
  PROP_PRESET,
  PROP_TARGET_HOST,
  PROP_TARGET_PORT,
  PROP_LOCAL_PORT,
  PROP_LAUNCHER,
  PROP_CUSTOM_COMMAND,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (CvMachineService, cv_machine_service, G_TYPE_OBJECT)

static void
cv_machine_service_finalize (GObject *object)
{
  CvMachineService *self = CV_MACHINE_SERVICE (object);

  g_free (self->target_host);
  g_free (self->custom_command);

  G_OBJECT_CLASS (cv_machine_service_parent_class)->finalize (object);
}

static void
cv_machine_service_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvMachineService *self = CV_MACHINE_SERVICE (object);

  switch (prop_id)
    {
    case PROP_PRESET:
      g_value_set_enum (value, self->preset);
      break;
    case PROP_TARGET_HOST:
      g_value_set_string (value, self->target_host);
      break;
    case PROP_TARGET_PORT:
      g_value_set_uint (value, self->target_port);
      break;
    case PROP_LOCAL_PORT:
      g_value_set_uint (value, self->local_port);
      break;
    case PROP_LAUNCHER:
      g_value_set_enum (value, self->launcher);
      break;
    case PROP_CUSTOM_COMMAND:
      g_value_set_string (value, self->custom_command);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_machine_service_set_property (GObject *object,
                                 guint prop_id,
                                 const GValue *value,
                                 GParamSpec *pspec)
{
  CvMachineService *self = CV_MACHINE_SERVICE (object);

  switch (prop_id)
    {
    case PROP_PRESET:
      cv_machine_service_set_preset (self, g_value_get_enum (value));
      break;
    case PROP_TARGET_HOST:
      cv_machine_service_set_target_host (self, g_value_get_string (value));
      break;
    case PROP_TARGET_PORT:
      cv_machine_service_set_target_port (self, (guint16) g_value_get_uint (value));
      break;
    case PROP_LOCAL_PORT:
      cv_machine_service_set_local_port (self, (guint16) g_value_get_uint (value));
      break;
    case PROP_LAUNCHER:
      cv_machine_service_set_launcher (self, g_value_get_enum (value));
      break;
    case PROP_CUSTOM_COMMAND:
      cv_machine_service_set_custom_command (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

#define RW_FLAGS (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY)

static void
cv_machine_service_class_init (CvMachineServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = cv_machine_service_finalize;
  object_class->get_property = cv_machine_service_get_property;
  object_class->set_property = cv_machine_service_set_property;

  properties[PROP_PRESET] = g_param_spec_enum ("preset", NULL, NULL, CV_TYPE_SERVICE_PRESET,
                                               CV_SERVICE_PRESET_CUSTOM, RW_FLAGS);
  properties[PROP_TARGET_HOST] = g_param_spec_string ("target-host", NULL, NULL,
                                                      DEFAULT_TARGET_HOST, RW_FLAGS);
  properties[PROP_TARGET_PORT] = g_param_spec_uint ("target-port", NULL, NULL, 0, G_MAXUINT16, 0,
                                                    RW_FLAGS);
  /* 0: any free port, chosen when connecting. */
  properties[PROP_LOCAL_PORT] = g_param_spec_uint ("local-port", NULL, NULL, 0, G_MAXUINT16, 0,
                                                   RW_FLAGS);
  properties[PROP_LAUNCHER] = g_param_spec_enum ("launcher", NULL, NULL, CV_TYPE_LAUNCHER_KIND,
                                                 CV_LAUNCHER_NONE, RW_FLAGS);
  properties[PROP_CUSTOM_COMMAND] = g_param_spec_string ("custom-command", NULL, NULL, NULL,
                                                         RW_FLAGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cv_machine_service_init (CvMachineService *self)
{
  self->preset = CV_SERVICE_PRESET_CUSTOM;
  self->target_host = g_strdup (DEFAULT_TARGET_HOST);
  self->launcher = CV_LAUNCHER_NONE;
}

/**
 * cv_machine_service_new:
 *
 * Returns: (transfer full): a service of @preset on 127.0.0.1 at the preset's port, on an
 *   automatic local port, opened by the first of the preset's launchers found here
 */
CvMachineService *
cv_machine_service_new (CvServicePreset preset)
{
  CvMachineService *self = g_object_new (CV_TYPE_MACHINE_SERVICE, NULL);

  g_return_val_if_fail ((guint) preset < CV_N_SERVICE_PRESETS, self);

  self->preset = preset;
  self->target_port = cv_service_preset_get_default_port (preset);
  self->launcher = cv_launcher_default_for_preset (preset);
  return self;
}

CvMachineService *
cv_machine_service_copy (CvMachineService *self)
{
  CvMachineService *copy;

  g_return_val_if_fail (CV_IS_MACHINE_SERVICE (self), NULL);

  copy = g_object_new (CV_TYPE_MACHINE_SERVICE, NULL);
  copy->preset = self->preset;
  g_free (copy->target_host);
  copy->target_host = g_strdup (self->target_host);
  copy->target_port = self->target_port;
  copy->local_port = self->local_port;
  copy->launcher = self->launcher;
  copy->custom_command = g_strdup (self->custom_command);
  return copy;
}

CvServicePreset
cv_machine_service_get_preset (CvMachineService *self)
{
  g_return_val_if_fail (CV_IS_MACHINE_SERVICE (self), CV_SERVICE_PRESET_CUSTOM);
  return self->preset;
}

static gboolean
launcher_fits (CvLauncherKind launcher, CvServicePreset preset)
{
  guint n_kinds;
  const CvLauncherKind *kinds = cv_launcher_kinds_for_preset (preset, &n_kinds);

  for (guint i = 0; i < n_kinds; i++)
    if (kinds[i] == launcher)
      return TRUE;
  return FALSE;
}

/**
 * cv_machine_service_set_preset:
 *
 * As the editor's preset row wants it: a port still at the old preset's usual one moves
 * to the new preset's, and a launcher that does not fit the new preset (or opens nothing)
 * becomes the new preset's first available one; a custom command is kept.
 */
void
cv_machine_service_set_preset (CvMachineService *self, CvServicePreset preset)
{
  CvServicePreset old;

  g_return_if_fail (CV_IS_MACHINE_SERVICE (self));
  g_return_if_fail ((guint) preset < CV_N_SERVICE_PRESETS);

  if (self->preset == preset)
    return;
  g_object_freeze_notify (G_OBJECT (self));
  old = self->preset;
  self->preset = preset;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PRESET]);
  if (self->target_port == 0 || self->target_port == cv_service_preset_get_default_port (old))
    cv_machine_service_set_target_port (self, cv_service_preset_get_default_port (preset));
  if (self->launcher != CV_LAUNCHER_CUSTOM
      && (self->launcher == CV_LAUNCHER_NONE || !launcher_fits (self->launcher, preset)))
    cv_machine_service_set_launcher (self, cv_launcher_default_for_preset (preset));
  g_object_thaw_notify (G_OBJECT (self));
}

const char *
cv_machine_service_get_target_host (CvMachineService *self)
{
  g_return_val_if_fail (CV_IS_MACHINE_SERVICE (self), NULL);
  return self->target_host;
}

void
cv_machine_service_set_target_host (CvMachineService *self, const char *host)
{
  g_return_if_fail (CV_IS_MACHINE_SERVICE (self));

  if (host == NULL)
    host = DEFAULT_TARGET_HOST;
  if (g_strcmp0 (self->target_host, host) == 0)
    return;
  g_free (self->target_host);
  self->target_host = g_strdup (host);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TARGET_HOST]);
}

guint16
cv_machine_service_get_target_port (CvMachineService *self)
{
  g_return_val_if_fail (CV_IS_MACHINE_SERVICE (self), 0);
  return self->target_port;
}

void
cv_machine_service_set_target_port (CvMachineService *self, guint16 port)
{
  g_return_if_fail (CV_IS_MACHINE_SERVICE (self));

  if (self->target_port == port)
    return;
  self->target_port = port;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TARGET_PORT]);
}

guint16
cv_machine_service_get_local_port (CvMachineService *self)
{
  g_return_val_if_fail (CV_IS_MACHINE_SERVICE (self), 0);
  return self->local_port;
}

void
cv_machine_service_set_local_port (CvMachineService *self, guint16 port)
{
  g_return_if_fail (CV_IS_MACHINE_SERVICE (self));

  if (self->local_port == port)
    return;
  self->local_port = port;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOCAL_PORT]);
}

CvLauncherKind
cv_machine_service_get_launcher (CvMachineService *self)
{
  g_return_val_if_fail (CV_IS_MACHINE_SERVICE (self), CV_LAUNCHER_NONE);
  return self->launcher;
}

void
cv_machine_service_set_launcher (CvMachineService *self, CvLauncherKind launcher)
{
  g_return_if_fail (CV_IS_MACHINE_SERVICE (self));
  g_return_if_fail ((guint) launcher < CV_N_LAUNCHERS);

  if (self->launcher == launcher)
    return;
  self->launcher = launcher;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAUNCHER]);
}

const char *
cv_machine_service_get_custom_command (CvMachineService *self)
{
  g_return_val_if_fail (CV_IS_MACHINE_SERVICE (self), NULL);
  return self->custom_command;
}

void
cv_machine_service_set_custom_command (CvMachineService *self, const char *command)
{
  g_return_if_fail (CV_IS_MACHINE_SERVICE (self));

  if (command != NULL && *command == '\0')
    command = NULL;
  if (g_strcmp0 (self->custom_command, command) == 0)
    return;
  g_free (self->custom_command);
  self->custom_command = g_strdup (command);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CUSTOM_COMMAND]);
}

/* "host:port", with brackets around an IPv6 literal. */
static char *
join_host_port (const char *host, guint16 port)
{
  if (strchr (host, ':') != NULL)
    return g_strdup_printf ("[%s]:%u", host, port);
  return g_strdup_printf ("%s:%u", host, port);
}

char *
cv_machine_service_describe (CvMachineService *self)
{
  g_autofree char *target = NULL;

  g_return_val_if_fail (CV_IS_MACHINE_SERVICE (self), NULL);

  target = join_host_port (self->target_host, self->target_port);
  /* TRANSLATORS: a service and where it is: "Screen sharing (VNC) · 127.0.0.1:5900" */
  return g_strdup_printf (_ ("%s · %s"), cv_service_preset_get_label (self->preset), target);
}

static gboolean
check_target_host (const char *host, GError **error)
{
  g_autofree char *text = NULL;
  g_autofree char *parsed = NULL;
  guint16 port;

  if (host == NULL || *host == '\0')
    {
      g_set_error_literal (error, CV_APP_ERROR, CV_APP_ERROR_INVALID,
                           _ ("Give the address of the service as the shared machine sees it, "
                              "such as 127.0.0.1."));
      return FALSE;
    }
  /* The engine's own parser, so that the share agent will accept what is saved here. */
  text = join_host_port (host, 1);
  if (!cv_host_port_parse (text, NULL, &parsed, &port, NULL, NULL))
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID,
                   _ ("“%s” is not a valid address for the service. Write a host name or an IP "
                      "address as the shared machine sees it, such as 127.0.0.1."),
                   host);
      return FALSE;
    }
  return TRUE;
}

gboolean
cv_machine_service_check (CvMachineService *self, GError **error)
{
  g_return_val_if_fail (CV_IS_MACHINE_SERVICE (self), FALSE);

  if (!check_target_host (self->target_host, error))
    return FALSE;
  if (self->target_port == 0)
    {
      g_set_error_literal (error, CV_APP_ERROR, CV_APP_ERROR_INVALID,
                           _ ("Give the port of the service on the shared machine, a number "
                              "from 1 to 65535."));
      return FALSE;
    }
  if (!launcher_fits (self->launcher, self->preset))
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID,
                   _ ("%s cannot open %s. Choose another application in “Open with”."),
                   cv_launcher_kind_get_label (self->launcher),
                   cv_service_preset_get_label (self->preset));
      return FALSE;
    }
  if (self->launcher == CV_LAUNCHER_CUSTOM
      && !cv_launcher_check_template (self->custom_command, error))
    return FALSE;
  return TRUE;
}

/* Every state a service can be in is written so that new_from_json () reads it back: a
 * port not given yet (0) leaves "target" out, since "host:0" is no address. */
JsonObject *
cv_machine_service_to_json (CvMachineService *self)
{
  JsonObject *object;

  g_return_val_if_fail (CV_IS_MACHINE_SERVICE (self), NULL);

  object = json_object_new ();
  json_object_set_string_member (object, "preset", cv_service_preset_to_string (self->preset));
  if (self->target_port != 0)
    {
      g_autofree char *target = join_host_port (self->target_host, self->target_port);

      json_object_set_string_member (object, "target", target);
    }
  json_object_set_int_member (object, "local_port", self->local_port);
  json_object_set_string_member (object, "launcher", cv_launcher_kind_to_string (self->launcher));
  if (self->custom_command != NULL)
    json_object_set_string_member (object, "custom_command", self->custom_command);
  return object;
}

/* What the key table reads into. */
typedef struct {
  guint preset;
  guint launcher; /* G_MAXUINT: not given */
  guint local_port;
  char *custom_command;
} ServiceFields;

/* A value error of a member, as the config errors write it: "PATH.KEY: sentence". */
static void
member_error (GError **error, const char *path, const char *key)
{
  g_autofree char *where = cv_config_path_member (path, key);

  g_prefix_error (error, "%s: ", where);
}

/**
 * cv_machine_service_new_from_json:
 * @where: (nullable): the object's JSON path ("services[0]"), which every error starts
 *   with; %NULL or "" at the top level
 *
 * Unknown members are refused with their name (and the key they may be a typo of),
 * values are checked as cv_machine_service_check () does, except that a port not given
 * yet is allowed.  Structure errors are %CV_CONFIG_ERROR, value errors %CV_APP_ERROR.
 */
CvMachineService *
cv_machine_service_new_from_json (JsonObject *object, const char *where, GError **error)
{
  const char *preset_names[CV_N_SERVICE_PRESETS + 1];
  const char *launcher_names[CV_N_LAUNCHERS + 1];
  const char *path = where != NULL ? where : "";
  ServiceFields fields = { .launcher = G_MAXUINT };
  const CvConfigKey keys[] = {
    { "preset", CV_CONFIG_CHOICE, TRUE, G_STRUCT_OFFSET (ServiceFields, preset), 0, 0,
      preset_names },
    { "target", CV_CONFIG_STRING, FALSE, CV_CONFIG_BY_CALLER },
    { "local_port", CV_CONFIG_UINT, FALSE, G_STRUCT_OFFSET (ServiceFields, local_port), 0,
      G_MAXUINT16 },
    { "launcher", CV_CONFIG_CHOICE, FALSE, G_STRUCT_OFFSET (ServiceFields, launcher), 0, 0,
      launcher_names },
    { "custom_command", CV_CONFIG_STRING, FALSE, G_STRUCT_OFFSET (ServiceFields, custom_command) },
  };
  g_autoptr (CvMachineService) self = NULL;
  const char *target = NULL;

  g_return_val_if_fail (object != NULL, NULL);

  for (guint i = 0; i < CV_N_SERVICE_PRESETS; i++)
    preset_names[i] = cv_service_preset_to_string ((CvServicePreset) i);
  preset_names[CV_N_SERVICE_PRESETS] = NULL;
  for (guint i = 0; i < CV_N_LAUNCHERS; i++)
    launcher_names[i] = cv_launcher_kind_to_string ((CvLauncherKind) i);
  launcher_names[CV_N_LAUNCHERS] = NULL;

  if (!cv_config_read_object (object, path, keys, G_N_ELEMENTS (keys), &fields, error)
      || !cv_config_get_string (object, "target", path, FALSE, &target, error))
    {
      g_free (fields.custom_command);
      return NULL;
    }

  self = g_object_new (CV_TYPE_MACHINE_SERVICE, NULL);
  self->preset = (CvServicePreset) fields.preset;
  self->target_port = cv_service_preset_get_default_port (self->preset);
  self->local_port = (guint16) fields.local_port;
  self->custom_command = g_steal_pointer (&fields.custom_command);
  /* A provisioning file may leave the viewer to whatever this computer has. */
  self->launcher = fields.launcher != G_MAXUINT ? (CvLauncherKind) fields.launcher
                                                : cv_launcher_default_for_preset (self->preset);
  if (target != NULL)
    {
      g_autofree char *target_where = cv_config_path_member (path, "target");
      g_autofree char *host = NULL;
      guint16 port;

      if (!cv_config_parse_host_port (target, target_where, NULL, &host, &port, NULL, error))
        return NULL;
      g_free (self->target_host);
      self->target_host = g_steal_pointer (&host);
      self->target_port = port;
    }

  if (!launcher_fits (self->launcher, self->preset))
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID,
                   _ ("%s cannot open %s. Choose another application in “Open with”."),
                   cv_launcher_kind_get_label (self->launcher),
                   cv_service_preset_get_label (self->preset));
      member_error (error, path, "launcher");
      return NULL;
    }
  if (self->launcher == CV_LAUNCHER_CUSTOM
      && !cv_launcher_check_template (self->custom_command, error))
    {
      member_error (error, path, "custom_command");
      return NULL;
    }
  return g_steal_pointer (&self);
}
