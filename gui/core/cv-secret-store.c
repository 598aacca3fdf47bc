/* cv-secret-store.c: machines' connect passwords in the Secret Service (libsecret, our own
 * schema), or in wiped memory for this run only; never in a file of ours.  Built without
 * libsecret (Windows, which has no Secret Service), every keyring call says there is none. */
#include "cv-secret-store.h"

#include <glib/gi18n-lib.h>
#ifdef CV_HAVE_LIBSECRET
#include <libsecret/secret.h>
#endif

#include "auth/cv-password.h"

#include "cv-app-error.h"

struct _CvSecretStore {
  GObject parent_instance;

  gboolean available;
  GHashTable *run_passwords; /* machine id → CvSecret */
};

enum {
  PROP_0,
  PROP_AVAILABLE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (CvSecretStore, cv_secret_store, G_TYPE_OBJECT)

#ifdef CV_HAVE_LIBSECRET
static const SecretSchema *
get_schema (void)
{
  static const SecretSchema schema = {
    CV_SECRET_SCHEMA_NAME,
    SECRET_SCHEMA_NONE,
    {
      { "machine", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    },
  };

  return &schema;
}
#endif

static void
set_available (CvSecretStore *self, gboolean available)
{
  if (self->available == available)
    return;
  self->available = available;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AVAILABLE]);
}

static void
cv_secret_store_finalize (GObject *object)
{
  CvSecretStore *self = CV_SECRET_STORE (object);

  g_hash_table_unref (self->run_passwords); /* wipes each */

  G_OBJECT_CLASS (cv_secret_store_parent_class)->finalize (object);
}

static void
cv_secret_store_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvSecretStore *self = CV_SECRET_STORE (object);

  switch (prop_id)
    {
    case PROP_AVAILABLE:
      g_value_set_boolean (value, self->available);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_secret_store_class_init (CvSecretStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = cv_secret_store_finalize;
  object_class->get_property = cv_secret_store_get_property;

  properties[PROP_AVAILABLE] = g_param_spec_boolean ("available", NULL, NULL, FALSE,
                                                     G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                                                       | G_PARAM_EXPLICIT_NOTIFY);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cv_secret_store_init (CvSecretStore *self)
{
  self->run_passwords = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                               (GDestroyNotify) cv_secret_free);
}

CvSecretStore *
cv_secret_store_new (void)
{
  return g_object_new (CV_TYPE_SECRET_STORE, NULL);
}

gboolean
cv_secret_store_get_available (CvSecretStore *self)
{
  g_return_val_if_fail (CV_IS_SECRET_STORE (self), FALSE);
  return self->available;
}

/* Errors */

static void
set_no_keyring (GError **error)
{
#ifdef CV_HAVE_LIBSECRET
  g_set_error_literal (error, CV_APP_ERROR, CV_APP_ERROR_NO_KEYRING,
                       _ ("No keyring is running, so Culvert cannot keep this password. You can "
                          "use it for this run only."));
#else
  g_set_error_literal (error, CV_APP_ERROR, CV_APP_ERROR_NO_KEYRING,
                       _ ("This build of Culvert has no keyring, so it cannot keep this "
                          "password. You can use it for this run only."));
#endif
}

#ifndef CV_HAVE_LIBSECRET
/* Ends @task (the caller's reference) with the error above. */
static void
return_no_keyring (GTask *task)
{
  GError *error = NULL;

  set_no_keyring (&error);
  g_task_return_error (task, error);
  g_object_unref (task);
}
#endif

#ifdef CV_HAVE_LIBSECRET
/* A libsecret or D-Bus error in words, and "available" as it shows.  No session bus, no
 * org.freedesktop.secrets on it, or a bus that went away all mean there is no keyring to
 * talk to; the keyring's own refusals (locked, …) mean it is there. */
static GError *
map_error (CvSecretStore *self, GError *error)
{
  GError *mapped = NULL;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return g_error_copy (error);
  g_debug ("keyring: %s", error->message);
  if (error->domain == G_IO_ERROR || error->domain == G_DBUS_ERROR)
    {
      set_available (self, FALSE);
      set_no_keyring (&mapped);
      return mapped;
    }
  set_available (self, TRUE);
  if (g_error_matches (error, SECRET_ERROR, SECRET_ERROR_IS_LOCKED))
    return g_error_new_literal (CV_APP_ERROR, CV_APP_ERROR_FAILED,
                                _ ("The keyring is locked. Unlock it (log out and in again, or "
                                   "open Passwords and Keys), then try again."));
  return g_error_new (CV_APP_ERROR, CV_APP_ERROR_FAILED,
                      _ ("The keyring did not answer as expected (%s). Try again, or use the "
                         "password for this run only."),
                      error->message);
}

static void
return_mapped_error (GTask *task, GError *error)
{
  CvSecretStore *self = g_task_get_source_object (task);

  g_task_return_error (task, map_error (self, error));
}

/* Checking */

static void
on_service (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CvSecretStore *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  g_autoptr (SecretService) service = secret_service_get_finish (result, &error);
  g_autofree char *owner = NULL;

  if (service == NULL)
    {
      return_mapped_error (task, error);
      return;
    }
  /* The proxy is made whether or not anyone owns the name (GDBusProxy lets a failed
   * activation pass, in case the owner comes later): ask who does. */
  owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (service));
  if (owner == NULL)
    {
      set_available (self, FALSE);
      set_no_keyring (&error);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  set_available (self, TRUE);
  g_task_return_boolean (task, TRUE);
}
#endif

void
cv_secret_store_check_async (CvSecretStore *self,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data)
{
  GTask *task;

  g_return_if_fail (CV_IS_SECRET_STORE (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cv_secret_store_check_async);
#ifdef CV_HAVE_LIBSECRET
  secret_service_get (SECRET_SERVICE_NONE, cancellable, on_service, task);
#else
  return_no_keyring (task);
#endif
}

gboolean
cv_secret_store_check_finish (CvSecretStore *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Storing */

#ifdef CV_HAVE_LIBSECRET
static void
on_stored (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CvSecretStore *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;

  if (!secret_password_store_finish (result, &error))
    {
      return_mapped_error (task, error);
      return;
    }
  set_available (self, TRUE);
  /* The keyring holds it now; a password for this run only would hide it. */
  g_hash_table_remove (self->run_passwords, g_task_get_task_data (task));
  g_task_return_boolean (task, TRUE);
}
#endif

void
cv_secret_store_store_async (CvSecretStore *self,
                             const char *machine_id,
                             const char *machine_name,
                             const char *password,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data)
{
  g_autofree char *label = NULL;
  GTask *task;

  g_return_if_fail (CV_IS_SECRET_STORE (self));
  g_return_if_fail (machine_id != NULL && password != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cv_secret_store_store_async);
  g_task_set_task_data (task, g_strdup (machine_id), g_free);
  /* TRANSLATORS: the keyring's label of a machine's password: "Culvert: Front desk PC" */
  label = g_strdup_printf (_ ("Culvert: %s"), machine_name != NULL ? machine_name : machine_id);
#ifdef CV_HAVE_LIBSECRET
  secret_password_store (get_schema (), SECRET_COLLECTION_DEFAULT, label, password, cancellable,
                         on_stored, task, "machine", machine_id, NULL);
#else
  return_no_keyring (task);
#endif
}

gboolean
cv_secret_store_store_finish (CvSecretStore *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Looking up */

#ifdef CV_HAVE_LIBSECRET
static void
on_looked_up (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CvSecretStore *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;
  char *password = secret_password_lookup_finish (result, &error);
  CvSecret *copy;

  if (error != NULL)
    {
      return_mapped_error (task, error);
      return;
    }
  set_available (self, TRUE);
  /* libsecret's string wants its own free; the caller's wants cv_secret_free (). */
  copy = g_strdup (password);
  if (password != NULL)
    secret_password_free (password);
  g_task_return_pointer (task, copy, (GDestroyNotify) cv_secret_free);
}
#endif

void
cv_secret_store_lookup_async (CvSecretStore *self,
                              const char *machine_id,
                              GCancellable *cancellable,
                              GAsyncReadyCallback callback,
                              gpointer user_data)
{
  const char *run_password;
  GTask *task;

  g_return_if_fail (CV_IS_SECRET_STORE (self));
  g_return_if_fail (machine_id != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cv_secret_store_lookup_async);
  run_password = g_hash_table_lookup (self->run_passwords, machine_id);
  if (run_password != NULL)
    {
      g_task_return_pointer (task, g_strdup (run_password), (GDestroyNotify) cv_secret_free);
      g_object_unref (task);
      return;
    }
#ifdef CV_HAVE_LIBSECRET
  secret_password_lookup (get_schema (), cancellable, on_looked_up, task, "machine", machine_id,
                          NULL);
#else
  return_no_keyring (task);
#endif
}

char *
cv_secret_store_lookup_finish (CvSecretStore *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Clearing */

#ifdef CV_HAVE_LIBSECRET
static void
on_cleared (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CvSecretStore *self = g_task_get_source_object (task);
  g_autoptr (GError) error = NULL;

  /* FALSE without an error: there was none to forget. */
  if (!secret_password_clear_finish (result, &error) && error != NULL)
    {
      return_mapped_error (task, error);
      return;
    }
  set_available (self, TRUE);
  g_task_return_boolean (task, TRUE);
}
#endif

/**
 * cv_secret_store_clear_async:
 *
 * The password for this run is forgotten at once; the error, if any, is about the keyring's.
 */
void
cv_secret_store_clear_async (CvSecretStore *self,
                             const char *machine_id,
                             GCancellable *cancellable,
                             GAsyncReadyCallback callback,
                             gpointer user_data)
{
  GTask *task;

  g_return_if_fail (CV_IS_SECRET_STORE (self));
  g_return_if_fail (machine_id != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cv_secret_store_clear_async);
  g_hash_table_remove (self->run_passwords, machine_id);
#ifdef CV_HAVE_LIBSECRET
  secret_password_clear (get_schema (), cancellable, on_cleared, task, "machine", machine_id, NULL);
#else
  return_no_keyring (task);
#endif
}

gboolean
cv_secret_store_clear_finish (CvSecretStore *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* For this run only */

void
cv_secret_store_remember_for_run (CvSecretStore *self, const char *machine_id, const char *password)
{
  g_return_if_fail (CV_IS_SECRET_STORE (self));
  g_return_if_fail (machine_id != NULL && password != NULL);

  /* Replacing wipes the old one (the table's value destroy). */
  g_hash_table_replace (self->run_passwords, g_strdup (machine_id), g_strdup (password));
}

gboolean
cv_secret_store_has_run_password (CvSecretStore *self, const char *machine_id)
{
  g_return_val_if_fail (CV_IS_SECRET_STORE (self), FALSE);
  g_return_val_if_fail (machine_id != NULL, FALSE);

  return g_hash_table_contains (self->run_passwords, machine_id);
}
