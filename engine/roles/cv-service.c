/* cv-service.c: one offered service as a GObject, so that a list of them is a GListModel
 * the GUI can bind. */
#include "roles/cv-service.h"

struct _CvService {
  GObject parent_instance;

  char *name;
  CvServiceKind kind;
  char *host;
  guint16 port;
};

enum {
  PROP_0,
  PROP_NAME,
  PROP_KIND,
  PROP_HOST,
  PROP_PORT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (CvService, cv_service, G_TYPE_OBJECT)

static void
cv_service_finalize (GObject *object)
{
  CvService *self = CV_SERVICE (object);

  g_free (self->name);
  g_free (self->host);
  G_OBJECT_CLASS (cv_service_parent_class)->finalize (object);
}

static void
cv_service_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvService *self = CV_SERVICE (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_KIND:
      g_value_set_string (value, cv_service_kind_to_string (self->kind));
      break;
    case PROP_HOST:
      g_value_set_string (value, self->host);
      break;
    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

#define READ_FLAGS (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)

static void
cv_service_class_init (CvServiceClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = cv_service_finalize;
  object_class->get_property = cv_service_get_property;

  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, READ_FLAGS);
  /* "rdp", "vnc", "ssh", "http" or "custom". */
  properties[PROP_KIND] = g_param_spec_string ("kind", NULL, NULL, NULL, READ_FLAGS);
  /* The target, as the share agent dials it. */
  properties[PROP_HOST] = g_param_spec_string ("host", NULL, NULL, NULL, READ_FLAGS);
  properties[PROP_PORT] = g_param_spec_uint ("port", NULL, NULL, 0, G_MAXUINT16, 0, READ_FLAGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cv_service_init (CvService *self)
{
}

CvService *
cv_service_new (const CvServiceInfo *info)
{
  CvService *self = g_object_new (CV_TYPE_SERVICE, NULL);

  self->name = g_strdup (info->name);
  self->kind = info->kind;
  self->host = g_strdup (info->host);
  self->port = info->port;
  return self;
}

const char *
cv_service_get_name (CvService *self)
{
  return self->name;
}

CvServiceKind
cv_service_get_kind (CvService *self)
{
  return self->kind;
}

const char *
cv_service_get_host (CvService *self)
{
  return self->host;
}

guint16
cv_service_get_port (CvService *self)
{
  return self->port;
}
