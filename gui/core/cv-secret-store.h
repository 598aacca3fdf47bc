/* cv-secret-store.h: machines' connect passwords in the OS keyring (libsecret, a schema of
 * our own), or for this run only when the user chose that — never in a file. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Schema "org.culvert.Culvert.Password", attribute "machine" (the machine's id). */
#define CV_SECRET_SCHEMA_NAME "org.culvert.Culvert.Password"

/* Properties: "available" (gboolean, notified): the keyring answered the last check or
 * call; FALSE before the first check and after a call found no keyring. */
#define CV_TYPE_SECRET_STORE (cv_secret_store_get_type ())
G_DECLARE_FINAL_TYPE (CvSecretStore, cv_secret_store, CV, SECRET_STORE, GObject)

CvSecretStore *cv_secret_store_new (void);
gboolean cv_secret_store_get_available (CvSecretStore *self);

/* Whether a Secret Service answers; the error (CV_APP_ERROR_NO_KEYRING) says so in words. */
void cv_secret_store_check_async (CvSecretStore *self,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);
gboolean cv_secret_store_check_finish (CvSecretStore *self, GAsyncResult *result, GError **error);

/* Stores @password for @machine_id under the label "Culvert: @machine_name". */
void cv_secret_store_store_async (CvSecretStore *self,
                                  const char *machine_id,
                                  const char *machine_name,
                                  const char *password,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);
gboolean cv_secret_store_store_finish (CvSecretStore *self, GAsyncResult *result, GError **error);

/* The password given for this run, else the keyring's.  Returns NULL without an error when
 * none is stored; with CV_APP_ERROR_NO_KEYRING when there is no keyring.  Free the result
 * with cv_secret_free () (auth/cv-password.h): it is wiped. */
void cv_secret_store_lookup_async (CvSecretStore *self,
                                   const char *machine_id,
                                   GCancellable *cancellable,
                                   GAsyncReadyCallback callback,
                                   gpointer user_data);
char *cv_secret_store_lookup_finish (CvSecretStore *self, GAsyncResult *result, GError **error);

/* Forgets the machine's password, in the keyring and for this run. */
void cv_secret_store_clear_async (CvSecretStore *self,
                                  const char *machine_id,
                                  GCancellable *cancellable,
                                  GAsyncReadyCallback callback,
                                  gpointer user_data);
gboolean cv_secret_store_clear_finish (CvSecretStore *self, GAsyncResult *result, GError **error);

/* "Remember for this run only": kept in memory (wiped when replaced or finalized). */
void cv_secret_store_remember_for_run (CvSecretStore *self,
                                       const char *machine_id,
                                       const char *password);
gboolean cv_secret_store_has_run_password (CvSecretStore *self, const char *machine_id);

G_END_DECLS
