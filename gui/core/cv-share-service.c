/* cv-share-service.c: one thing "Share this computer" can offer — its words for the
 * person sharing, its name for the engine, and whether something listens on it now. */
#include "cv-share-service.h"

#include <glib/gi18n-lib.h>

/* A probe gives up after this: a local port answers at once or not at all. */
#define PROBE_TIMEOUT_S 1

typedef struct {
  const char *engine_name; /* in SERVICES, and in CULVERT_SHARE_PRESET_PORTS */
  const char *title;       /* N_() */
  const char *words;       /* N_() */
  guint16 port;
  CvServiceKind kind;
} PresetInfo;

static const PresetInfo presets[] = {
  [CV_SHARE_PRESET_VNC] = { "vnc", N_ ("Screen sharing (VNC)"), N_ ("your screen"), 5900,
                            CV_SERVICE_KIND_VNC },
  [CV_SHARE_PRESET_RDP] = { "rdp", N_ ("Remote desktop (RDP)"), N_ ("remote desktop"), 3389,
                            CV_SERVICE_KIND_RDP },
  [CV_SHARE_PRESET_SSH] = { "ssh", N_ ("SSH"), N_ ("a command line (SSH)"), 22,
                            CV_SERVICE_KIND_SSH },
};

struct _CvShareService {
  GObject parent_instance;

  CvSharePreset preset;
  guint16 port;
  char *title;
  char *words;
  char *engine_name;
  CvServiceKind kind;
  CvShareAvailability availability;
  gboolean probing;
};

enum {
  PROP_0,
  PROP_PRESET,
  PROP_PORT,
  PROP_TITLE,
  PROP_WORDS,
  PROP_ENGINE_NAME,
  PROP_AVAILABILITY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (CvShareService, cv_share_service, G_TYPE_OBJECT)

GType
cv_share_preset_get_type (void)
{
  static gsize type_id = 0;

  if (g_once_init_enter (&type_id))
    {
      static const GEnumValue values[] = {
        { CV_SHARE_PRESET_VNC, "CV_SHARE_PRESET_VNC", "vnc" },
        { CV_SHARE_PRESET_RDP, "CV_SHARE_PRESET_RDP", "rdp" },
        { CV_SHARE_PRESET_SSH, "CV_SHARE_PRESET_SSH", "ssh" },
        { CV_SHARE_PRESET_CUSTOM, "CV_SHARE_PRESET_CUSTOM", "custom" },
        { 0, NULL, NULL },
      };
      GType type = g_enum_register_static (g_intern_static_string ("CvSharePreset"), values);

      g_once_init_leave (&type_id, type);
    }
  return type_id;
}

GType
cv_share_availability_get_type (void)
{
  static gsize type_id = 0;

  if (g_once_init_enter (&type_id))
    {
      static const GEnumValue values[] = {
        { CV_SHARE_AVAILABILITY_UNKNOWN, "CV_SHARE_AVAILABILITY_UNKNOWN", "unknown" },
        { CV_SHARE_AVAILABILITY_AVAILABLE, "CV_SHARE_AVAILABILITY_AVAILABLE", "available" },
        { CV_SHARE_AVAILABILITY_MISSING, "CV_SHARE_AVAILABILITY_MISSING", "missing" },
        { 0, NULL, NULL },
      };
      GType type = g_enum_register_static (g_intern_static_string ("CvShareAvailability"), values);

      g_once_init_leave (&type_id, type);
    }
  return type_id;
}

static void
cv_share_service_finalize (GObject *object)
{
  CvShareService *self = CV_SHARE_SERVICE (object);

  g_free (self->title);
  g_free (self->words);
  g_free (self->engine_name);
  G_OBJECT_CLASS (cv_share_service_parent_class)->finalize (object);
}

static void
cv_share_service_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvShareService *self = CV_SHARE_SERVICE (object);

  switch (prop_id)
    {
    case PROP_PRESET:
      g_value_set_enum (value, self->preset);
      break;
    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;
    case PROP_TITLE:
      g_value_set_string (value, self->title);
      break;
    case PROP_WORDS:
      g_value_set_string (value, self->words);
      break;
    case PROP_ENGINE_NAME:
      g_value_set_string (value, self->engine_name);
      break;
    case PROP_AVAILABILITY:
      g_value_set_enum (value, self->availability);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_share_service_class_init (CvShareServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = cv_share_service_finalize;
  object_class->get_property = cv_share_service_get_property;

  properties[PROP_PRESET] = g_param_spec_enum ("preset", NULL, NULL, CV_TYPE_SHARE_PRESET,
                                               CV_SHARE_PRESET_CUSTOM, flags);
  properties[PROP_PORT] = g_param_spec_uint ("port", NULL, NULL, 0, G_MAXUINT16, 0, flags);
  properties[PROP_TITLE] = g_param_spec_string ("title", NULL, NULL, NULL, flags);
  properties[PROP_WORDS] = g_param_spec_string ("words", NULL, NULL, NULL, flags);
  properties[PROP_ENGINE_NAME] = g_param_spec_string ("engine-name", NULL, NULL, NULL, flags);
  properties[PROP_AVAILABILITY] = g_param_spec_enum ("availability", NULL, NULL,
                                                     CV_TYPE_SHARE_AVAILABILITY,
                                                     CV_SHARE_AVAILABILITY_UNKNOWN, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cv_share_service_init (CvShareService *self)
{
}

/* CULVERT_SHARE_PRESET_PORTS="vnc=5901,ssh=2222": a preset somewhere else than usual (a
 * test's own listener, a VNC server on display :1).  Malformed entries are ignored. */
static guint16
preset_port (const PresetInfo *info)
{
  const char *moves = g_getenv ("CULVERT_SHARE_PRESET_PORTS");
  g_auto (GStrv) entries = NULL;

  if (moves == NULL)
    return info->port;
  entries = g_strsplit (moves, ",", -1);
  for (guint i = 0; entries[i] != NULL; i++)
    {
      g_auto (GStrv) pair = g_strsplit (g_strstrip (entries[i]), "=", 2);
      guint64 port = 0;

      if (pair[0] != NULL && pair[1] != NULL && g_str_equal (pair[0], info->engine_name)
          && g_ascii_string_to_unsigned (pair[1], 10, 1, G_MAXUINT16, &port, NULL))
        return (guint16) port;
    }
  return info->port;
}

/**
 * cv_share_service_new_preset:
 *
 * Returns: (transfer full): VNC, RDP or SSH on its usual port (or the one
 *   CULVERT_SHARE_PRESET_PORTS gives it); for CV_SHARE_PRESET_CUSTOM, use _new_custom ()
 */
CvShareService *
cv_share_service_new_preset (CvSharePreset preset)
{
  CvShareService *self;
  const PresetInfo *info;

  g_return_val_if_fail (preset < G_N_ELEMENTS (presets), NULL);

  info = &presets[preset];
  self = g_object_new (CV_TYPE_SHARE_SERVICE, NULL);
  self->preset = preset;
  self->port = preset_port (info);
  self->title = g_strdup (_ (info->title));
  self->words = g_strdup (_ (info->words));
  self->engine_name = g_strdup (info->engine_name);
  self->kind = info->kind;
  return self;
}

CvShareService *
cv_share_service_new_custom (guint16 port)
{
  CvShareService *self;

  g_return_val_if_fail (port > 0, NULL);

  self = g_object_new (CV_TYPE_SHARE_SERVICE, NULL);
  self->preset = CV_SHARE_PRESET_CUSTOM;
  self->port = port;
  /* TRANSLATORS: the row of a custom service to share, "Port 8080" */
  self->title = g_strdup_printf (_ ("Port %u"), port);
  /* TRANSLATORS: a custom service in a sentence, "Asks for: port 8080." */
  self->words = g_strdup_printf (_ ("port %u"), port);
  self->engine_name = g_strdup_printf ("port-%u", port);
  self->kind = CV_SERVICE_KIND_CUSTOM;
  return self;
}

/**
 * cv_share_service_list_presets:
 *
 * Returns: (transfer full): a new store of the three presets, VNC, RDP, SSH
 */
GListStore *
cv_share_service_list_presets (void)
{
  GListStore *store = g_list_store_new (CV_TYPE_SHARE_SERVICE);

  for (guint i = 0; i < G_N_ELEMENTS (presets); i++)
    {
      g_autoptr (CvShareService) service = cv_share_service_new_preset ((CvSharePreset) i);

      g_list_store_append (store, service);
    }
  return store;
}

CvSharePreset
cv_share_service_get_preset (CvShareService *self)
{
  g_return_val_if_fail (CV_IS_SHARE_SERVICE (self), CV_SHARE_PRESET_CUSTOM);
  return self->preset;
}

guint16
cv_share_service_get_port (CvShareService *self)
{
  g_return_val_if_fail (CV_IS_SHARE_SERVICE (self), 0);
  return self->port;
}

const char *
cv_share_service_get_title (CvShareService *self)
{
  g_return_val_if_fail (CV_IS_SHARE_SERVICE (self), NULL);
  return self->title;
}

const char *
cv_share_service_get_words (CvShareService *self)
{
  g_return_val_if_fail (CV_IS_SHARE_SERVICE (self), NULL);
  return self->words;
}

const char *
cv_share_service_get_engine_name (CvShareService *self)
{
  g_return_val_if_fail (CV_IS_SHARE_SERVICE (self), NULL);
  return self->engine_name;
}

CvServiceKind
cv_share_service_get_kind (CvShareService *self)
{
  g_return_val_if_fail (CV_IS_SHARE_SERVICE (self), CV_SERVICE_KIND_CUSTOM);
  return self->kind;
}

CvShareAvailability
cv_share_service_get_availability (CvShareService *self)
{
  g_return_val_if_fail (CV_IS_SHARE_SERVICE (self), CV_SHARE_AVAILABILITY_UNKNOWN);
  return self->availability;
}

static void
set_availability (CvShareService *self, CvShareAvailability availability)
{
  if (self->availability == availability)
    return;
  self->availability = availability;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AVAILABILITY]);
}

static void
on_probed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CvShareService) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) connection =
    g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source), result, &error);

  self->probing = FALSE;
  if (connection != NULL)
    g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  else
    g_debug ("nothing answers on 127.0.0.1 port %u: %s", self->port, error->message);
  set_availability (self, connection != NULL ? CV_SHARE_AVAILABILITY_AVAILABLE
                                             : CV_SHARE_AVAILABILITY_MISSING);
}

/**
 * cv_share_service_probe:
 *
 * Connects to 127.0.0.1 on the service's port (and closes again at once), on the
 * thread-default main context; "availability" says the answer within a second.  A probe
 * already under way is not doubled.  Holds a reference until it ends.
 */
void
cv_share_service_probe (CvShareService *self)
{
  g_autoptr (GSocketClient) client = NULL;

  g_return_if_fail (CV_IS_SHARE_SERVICE (self));

  if (self->probing)
    return;
  self->probing = TRUE;
  client = g_socket_client_new ();
  g_socket_client_set_timeout (client, PROBE_TIMEOUT_S);
  /* A port on this computer: no proxy has anything to say about it. */
  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_connect_to_host_async (client, "127.0.0.1", self->port, NULL, on_probed,
                                         g_object_ref (self));
}
