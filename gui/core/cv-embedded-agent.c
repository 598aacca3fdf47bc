/* cv-embedded-agent.c: an agent connected to the embedded gateway now — a value object
 * made from one entry of the engine's status document. */
#include "cv-embedded-agent.h"

struct _CvEmbeddedAgent {
  GObject parent_instance;

  char *role;
  char *name;
  char *address;
  char *session;
};

enum {
  PROP_0,
  PROP_ROLE,
  PROP_NAME,
  PROP_ADDRESS,
  PROP_SESSION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (CvEmbeddedAgent, cv_embedded_agent, G_TYPE_OBJECT)

static void
cv_embedded_agent_finalize (GObject *object)
{
  CvEmbeddedAgent *self = CV_EMBEDDED_AGENT (object);

  g_free (self->role);
  g_free (self->name);
  g_free (self->address);
  g_free (self->session);
  G_OBJECT_CLASS (cv_embedded_agent_parent_class)->finalize (object);
}

static void
cv_embedded_agent_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvEmbeddedAgent *self = CV_EMBEDDED_AGENT (object);

  switch (prop_id)
    {
    case PROP_ROLE:
      g_value_set_string (value, self->role);
      break;
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_ADDRESS:
      g_value_set_string (value, self->address);
      break;
    case PROP_SESSION:
      g_value_set_string (value, self->session);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_embedded_agent_class_init (CvEmbeddedAgentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = cv_embedded_agent_finalize;
  object_class->get_property = cv_embedded_agent_get_property;

  properties[PROP_ROLE] = g_param_spec_string ("role", NULL, NULL, NULL, flags);
  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, flags);
  properties[PROP_ADDRESS] = g_param_spec_string ("address", NULL, NULL, NULL, flags);
  properties[PROP_SESSION] = g_param_spec_string ("session", NULL, NULL, NULL, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cv_embedded_agent_init (CvEmbeddedAgent *self)
{
}

CvEmbeddedAgent *
cv_embedded_agent_new (const char *role, const char *name, const char *address, const char *session)
{
  CvEmbeddedAgent *self = g_object_new (CV_TYPE_EMBEDDED_AGENT, NULL);

  self->role = g_strdup (role);
  self->name = g_strdup (name);
  self->address = g_strdup (address);
  self->session = g_strdup (session);
  return self;
}

const char *
cv_embedded_agent_get_role (CvEmbeddedAgent *self)
{
  g_return_val_if_fail (CV_IS_EMBEDDED_AGENT (self), NULL);
  return self->role;
}

const char *
cv_embedded_agent_get_name (CvEmbeddedAgent *self)
{
  g_return_val_if_fail (CV_IS_EMBEDDED_AGENT (self), NULL);
  return self->name;
}

const char *
cv_embedded_agent_get_address (CvEmbeddedAgent *self)
{
  g_return_val_if_fail (CV_IS_EMBEDDED_AGENT (self), NULL);
  return self->address;
}

const char *
cv_embedded_agent_get_session (CvEmbeddedAgent *self)
{
  g_return_val_if_fail (CV_IS_EMBEDDED_AGENT (self), NULL);
  return self->session;
}

/* Whether the two describe the same agent: the list is only replaced when one differs. */
gboolean
cv_embedded_agent_equal (CvEmbeddedAgent *a, CvEmbeddedAgent *b)
{
  g_return_val_if_fail (CV_IS_EMBEDDED_AGENT (a) && CV_IS_EMBEDDED_AGENT (b), FALSE);
  return g_strcmp0 (a->role, b->role) == 0 && g_strcmp0 (a->name, b->name) == 0
         && g_strcmp0 (a->address, b->address) == 0 && g_strcmp0 (a->session, b->session) == 0;
}
