/* cv-embedded-session.c: one session the embedded gateway serves — its id, its Argon2id
 * hashes, the passwords made with it (kept in memory until forgotten, wiped), and who is
 * online in it. */
#include "cv-embedded-session.h"

#include "auth/cv-password.h"

struct _CvEmbeddedSession {
  GObject parent_instance;

  char *id;
  char *share_password_hash;
  char *connect_password_hash;
  CvSecret *share_password; /* until forgotten */
  CvSecret *connect_password;
  gboolean share_online;
  guint n_connect_agents;
};

enum {
  PROP_0,
  PROP_ID,
  PROP_SHARE_ONLINE,
  PROP_N_CONNECT_AGENTS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (CvEmbeddedSession, cv_embedded_session, G_TYPE_OBJECT)

static void
cv_embedded_session_finalize (GObject *object)
{
  CvEmbeddedSession *self = CV_EMBEDDED_SESSION (object);

  g_free (self->id);
  g_free (self->share_password_hash);
  g_free (self->connect_password_hash);
  cv_embedded_session_forget_passwords (self);
  G_OBJECT_CLASS (cv_embedded_session_parent_class)->finalize (object);
}

static void
cv_embedded_session_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvEmbeddedSession *self = CV_EMBEDDED_SESSION (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;
    case PROP_SHARE_ONLINE:
      g_value_set_boolean (value, self->share_online);
      break;
    case PROP_N_CONNECT_AGENTS:
      g_value_set_uint (value, self->n_connect_agents);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_embedded_session_class_init (CvEmbeddedSessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = cv_embedded_session_finalize;
  object_class->get_property = cv_embedded_session_get_property;

  properties[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL, flags);
  properties[PROP_SHARE_ONLINE] = g_param_spec_boolean ("share-online", NULL, NULL, FALSE, flags);
  properties[PROP_N_CONNECT_AGENTS] = g_param_spec_uint ("n-connect-agents", NULL, NULL, 0,
                                                         G_MAXUINT, 0, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cv_embedded_session_init (CvEmbeddedSession *self)
{
}

/* @share_password_hash, @connect_password_hash: Argon2id PHC strings, checked by the
 * engine's config when the gateway takes them. */
CvEmbeddedSession *
cv_embedded_session_new (const char *id,
                         const char *share_password_hash,
                         const char *connect_password_hash)
{
  CvEmbeddedSession *self;

  g_return_val_if_fail (id != NULL, NULL);
  g_return_val_if_fail (share_password_hash != NULL && connect_password_hash != NULL, NULL);

  self = g_object_new (CV_TYPE_EMBEDDED_SESSION, NULL);
  self->id = g_strdup (id);
  self->share_password_hash = g_strdup (share_password_hash);
  self->connect_password_hash = g_strdup (connect_password_hash);
  return self;
}

/* Returns: (transfer full): a session with two fresh passwords, or NULL if hashing
 * failed (out of memory for Argon2) */
CvEmbeddedSession *
cv_embedded_session_new_generated (const char *id, GError **error)
{
  g_autoptr (CvSecret) share = cv_password_generate ();
  g_autoptr (CvSecret) connect = cv_password_generate ();
  g_autofree char *share_hash = cv_password_hash (share, error);
  g_autofree char *connect_hash = NULL;
  CvEmbeddedSession *self;

  if (share_hash == NULL)
    return NULL;
  connect_hash = cv_password_hash (connect, error);
  if (connect_hash == NULL)
    return NULL;
  self = cv_embedded_session_new (id, share_hash, connect_hash);
  self->share_password = g_steal_pointer (&share);
  self->connect_password = g_steal_pointer (&connect);
  return self;
}

const char *
cv_embedded_session_get_id (CvEmbeddedSession *self)
{
  g_return_val_if_fail (CV_IS_EMBEDDED_SESSION (self), NULL);
  return self->id;
}

const char *
cv_embedded_session_get_share_password (CvEmbeddedSession *self)
{
  g_return_val_if_fail (CV_IS_EMBEDDED_SESSION (self), NULL);
  return self->share_password;
}

const char *
cv_embedded_session_get_connect_password (CvEmbeddedSession *self)
{
  g_return_val_if_fail (CV_IS_EMBEDDED_SESSION (self), NULL);
  return self->connect_password;
}

/* The passwords are shown once; after that only the hashes remain, here and on disk. */
void
cv_embedded_session_forget_passwords (CvEmbeddedSession *self)
{
  g_return_if_fail (CV_IS_EMBEDDED_SESSION (self));
  g_clear_pointer (&self->share_password, cv_secret_free);
  g_clear_pointer (&self->connect_password, cv_secret_free);
}

gboolean
cv_embedded_session_get_share_online (CvEmbeddedSession *self)
{
  g_return_val_if_fail (CV_IS_EMBEDDED_SESSION (self), FALSE);
  return self->share_online;
}

guint
cv_embedded_session_get_n_connect_agents (CvEmbeddedSession *self)
{
  g_return_val_if_fail (CV_IS_EMBEDDED_SESSION (self), 0);
  return self->n_connect_agents;
}

const char *
cv_embedded_session_get_share_password_hash (CvEmbeddedSession *self)
{
  g_return_val_if_fail (CV_IS_EMBEDDED_SESSION (self), NULL);
  return self->share_password_hash;
}

const char *
cv_embedded_session_get_connect_password_hash (CvEmbeddedSession *self)
{
  g_return_val_if_fail (CV_IS_EMBEDDED_SESSION (self), NULL);
  return self->connect_password_hash;
}

void
cv_embedded_session_set_online (CvEmbeddedSession *self,
                                gboolean share_online,
                                guint n_connect_agents)
{
  g_return_if_fail (CV_IS_EMBEDDED_SESSION (self));

  share_online = !!share_online;
  if (self->share_online != share_online)
    {
      self->share_online = share_online;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SHARE_ONLINE]);
    }
  if (self->n_connect_agents != n_connect_agents)
    {
      self->n_connect_agents = n_connect_agents;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_CONNECT_AGENTS]);
    }
}
