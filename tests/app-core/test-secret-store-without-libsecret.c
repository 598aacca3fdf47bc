/* test-secret-store-without-libsecret.c: the secret store built as on Windows, with no
 * keyring library: every keyring call says so in a sentence at once, and passwords for this
 * run still work. */
#include <string.h>

#include "auth/cv-password.h"

#include "cv-app-error.h"
#include "cv-secret-store.h"

#define MACHINE_ID "5b7f3c1e-9d2a-4e6b-8f10-2c3d4e5f6a7b"

typedef struct {
  gboolean done;
  gboolean ok;
  char *password;
  GError *error;
} Result;

static void
on_check (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Result *r = user_data;

  r->ok = cv_secret_store_check_finish (CV_SECRET_STORE (source), result, &r->error);
  r->done = TRUE;
}

static void
on_store (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Result *r = user_data;

  r->ok = cv_secret_store_store_finish (CV_SECRET_STORE (source), result, &r->error);
  r->done = TRUE;
}

static void
on_lookup (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Result *r = user_data;

  r->password = cv_secret_store_lookup_finish (CV_SECRET_STORE (source), result, &r->error);
  r->done = TRUE;
}

static void
on_clear (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Result *r = user_data;

  r->ok = cv_secret_store_clear_finish (CV_SECRET_STORE (source), result, &r->error);
  r->done = TRUE;
}

/* At most a few iterations: without a keyring nothing waits on anything. */
static void
wait_done (Result *r)
{
  for (guint i = 0; i < 100 && !r->done; i++)
    g_main_context_iteration (NULL, FALSE);
  g_assert_true (r->done);
}

static void
assert_no_keyring (Result *r)
{
  g_assert_error (r->error, CV_APP_ERROR, CV_APP_ERROR_NO_KEYRING);
  g_assert_nonnull (strstr (r->error->message, "has no keyring"));
  g_assert_nonnull (strstr (r->error->message, "for this run only"));
  g_clear_error (&r->error);
  g_clear_pointer (&r->password, cv_secret_free);
  r->done = FALSE;
  r->ok = FALSE;
}

static void
test_no_keyring (void)
{
  g_autoptr (CvSecretStore) store = cv_secret_store_new ();
  Result r = { 0 };

  cv_secret_store_check_async (store, NULL, on_check, &r);
  wait_done (&r);
  g_assert_false (r.ok);
  assert_no_keyring (&r);
  g_assert_false (cv_secret_store_get_available (store));

  cv_secret_store_store_async (store, MACHINE_ID, "Front desk PC", "pw-1", NULL, on_store, &r);
  wait_done (&r);
  g_assert_false (r.ok);
  assert_no_keyring (&r);

  cv_secret_store_lookup_async (store, MACHINE_ID, NULL, on_lookup, &r);
  wait_done (&r);
  g_assert_null (r.password);
  assert_no_keyring (&r);

  /* "Remember for This Run Only" is what is left, and it works. */
  cv_secret_store_remember_for_run (store, MACHINE_ID, "pw-2");
  g_assert_true (cv_secret_store_has_run_password (store, MACHINE_ID));
  cv_secret_store_lookup_async (store, MACHINE_ID, NULL, on_lookup, &r);
  wait_done (&r);
  g_assert_no_error (r.error);
  g_assert_cmpstr (r.password, ==, "pw-2");
  g_clear_pointer (&r.password, cv_secret_free);
  r.done = FALSE;

  cv_secret_store_clear_async (store, MACHINE_ID, NULL, on_clear, &r);
  wait_done (&r);
  assert_no_keyring (&r);
  g_assert_false (cv_secret_store_has_run_password (store, MACHINE_ID));
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/secret-store/without-libsecret", test_no_keyring);
  return g_test_run ();
}
