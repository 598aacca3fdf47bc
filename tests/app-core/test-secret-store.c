/* test-secret-store.c: passwords in a real gnome-keyring-daemon, and what happens without
 * a keyring or without a session bus; run by run-with-keyring.sh, which says which. */
#include <libsecret/secret.h>
#include <string.h>

#include "auth/cv-password.h"

#include "cv-app-error.h"
#include "cv-app-test.h"
#include "cv-secret-store.h"

static char *test_dir;

#define MACHINE_ID "5b7f3c1e-9d2a-4e6b-8f10-2c3d4e5f6a7b"
#define OTHER_ID "0e1d2c3b-4a59-4867-9564-738291a0b1c2"
#define UNKNOWN_ID "ffffffff-ffff-4fff-bfff-ffffffffffff"

typedef struct {
  gboolean done;
  gboolean ok;
  char *password;
  GError *error;
} Result;

static void
result_clear (Result *result)
{
  g_clear_pointer (&result->password, cv_secret_free);
  g_clear_error (&result->error);
  result->done = FALSE;
  result->ok = FALSE;
}

static gboolean
is_done (gpointer data)
{
  return ((Result *) data)->done;
}

static void
on_check (GObject *source, GAsyncResult *async_result, gpointer user_data)
{
  Result *result = user_data;

  result->ok = cv_secret_store_check_finish (CV_SECRET_STORE (source), async_result,
                                             &result->error);
  result->done = TRUE;
}

static void
on_store (GObject *source, GAsyncResult *async_result, gpointer user_data)
{
  Result *result = user_data;

  result->ok = cv_secret_store_store_finish (CV_SECRET_STORE (source), async_result,
                                             &result->error);
  result->done = TRUE;
}

static void
on_lookup (GObject *source, GAsyncResult *async_result, gpointer user_data)
{
  Result *result = user_data;

  result->password = cv_secret_store_lookup_finish (CV_SECRET_STORE (source), async_result,
                                                    &result->error);
  result->ok = result->error == NULL;
  result->done = TRUE;
}

static void
on_clear (GObject *source, GAsyncResult *async_result, gpointer user_data)
{
  Result *result = user_data;

  result->ok = cv_secret_store_clear_finish (CV_SECRET_STORE (source), async_result,
                                             &result->error);
  result->done = TRUE;
}

/* Each call, run to its end (bounded). */

static void
check (CvSecretStore *store, Result *result)
{
  result_clear (result);
  cv_secret_store_check_async (store, NULL, on_check, result);
  cv_app_test_wait (is_done, result, "the keyring check");
}

static void
store_password (CvSecretStore *store,
                const char *id,
                const char *name,
                const char *password,
                Result *result)
{
  result_clear (result);
  cv_secret_store_store_async (store, id, name, password, NULL, on_store, result);
  cv_app_test_wait (is_done, result, "storing a password");
}

static void
lookup (CvSecretStore *store, const char *id, Result *result)
{
  result_clear (result);
  cv_secret_store_lookup_async (store, id, NULL, on_lookup, result);
  cv_app_test_wait (is_done, result, "looking a password up");
}

static void
clear (CvSecretStore *store, const char *id, Result *result)
{
  result_clear (result);
  cv_secret_store_clear_async (store, id, NULL, on_clear, result);
  cv_app_test_wait (is_done, result, "clearing a password");
}

static void
on_available_notify (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  (*(guint *) user_data)++;
}

/* With a keyring */

static void
test_check_running (void)
{
  g_autoptr (CvSecretStore) store = cv_secret_store_new ();
  Result result = { 0 };
  guint n_notified = 0;

  g_assert_false (cv_secret_store_get_available (store));
  g_signal_connect (store, "notify::available", G_CALLBACK (on_available_notify), &n_notified);
  check (store, &result);
  g_assert_no_error (result.error);
  g_assert_true (result.ok);
  g_assert_true (cv_secret_store_get_available (store));
  g_assert_cmpuint (n_notified, ==, 1);
  result_clear (&result);
}

/* The item as another Secret Service client sees it: our schema, the label, the secret. */
static void
assert_item_in_keyring (const char *id, const char *label, const char *password)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) attributes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                             g_free);
  g_autoptr (SecretService) service = secret_service_get_sync (SECRET_SERVICE_NONE, NULL, &error);
  g_autofree char *item_label = NULL;
  GList *items;
  SecretValue *value;

  g_assert_no_error (error);
  g_hash_table_insert (attributes, g_strdup ("xdg:schema"), g_strdup (CV_SECRET_SCHEMA_NAME));
  g_hash_table_insert (attributes, g_strdup ("machine"), g_strdup (id));
  items = secret_service_search_sync (service, NULL, attributes,
                                      SECRET_SEARCH_ALL | SECRET_SEARCH_UNLOCK
                                        | SECRET_SEARCH_LOAD_SECRETS,
                                      NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_length (items), ==, 1);
  item_label = secret_item_get_label (items->data); /* a copy */
  g_assert_cmpstr (item_label, ==, label);
  value = secret_item_get_secret (items->data);
  g_assert_nonnull (value);
  g_assert_cmpstr (secret_value_get_text (value), ==, password);
  secret_value_unref (value);
  g_list_free_full (items, g_object_unref);
}

static void
test_store_lookup_clear (void)
{
  g_autoptr (CvSecretStore) store = cv_secret_store_new ();
  g_autoptr (CvSecretStore) other_store = NULL;
  Result result = { 0 };

  store_password (store, MACHINE_ID, "Front desk PC", "correct horse battery", &result);
  g_assert_no_error (result.error);
  g_assert_true (result.ok);
  g_assert_true (cv_secret_store_get_available (store));
  store_password (store, OTHER_ID, "Lab VNC", "another one", &result);
  g_assert_no_error (result.error);
  assert_item_in_keyring (MACHINE_ID, "Culvert: Front desk PC", "correct horse battery");

  /* In the daemon, not in this object: a new store finds it. */
  other_store = cv_secret_store_new ();
  lookup (other_store, MACHINE_ID, &result);
  g_assert_no_error (result.error);
  g_assert_cmpstr (result.password, ==, "correct horse battery");

  /* Replacing keeps one item. */
  store_password (store, MACHINE_ID, "Front desk PC", "new password", &result);
  g_assert_no_error (result.error);
  lookup (store, MACHINE_ID, &result);
  g_assert_cmpstr (result.password, ==, "new password");
  assert_item_in_keyring (MACHINE_ID, "Culvert: Front desk PC", "new password");

  /* Unknown: NULL, and no error. */
  lookup (store, UNKNOWN_ID, &result);
  g_assert_no_error (result.error);
  g_assert_true (result.ok);
  g_assert_null (result.password);

  clear (store, MACHINE_ID, &result);
  g_assert_no_error (result.error);
  g_assert_true (result.ok);
  lookup (store, MACHINE_ID, &result);
  g_assert_no_error (result.error);
  g_assert_null (result.password);
  /* Clearing what is not there is no error either; the other machine's stays. */
  clear (store, MACHINE_ID, &result);
  g_assert_no_error (result.error);
  lookup (store, OTHER_ID, &result);
  g_assert_cmpstr (result.password, ==, "another one");
  clear (store, OTHER_ID, &result);
  result_clear (&result);
}

static void
test_run_password_with_keyring (void)
{
  g_autoptr (CvSecretStore) store = cv_secret_store_new ();
  Result result = { 0 };

  store_password (store, MACHINE_ID, "Front desk PC", "from the keyring", &result);
  g_assert_no_error (result.error);

  /* For this run, the given one comes first. */
  cv_secret_store_remember_for_run (store, MACHINE_ID, "for this run");
  g_assert_true (cv_secret_store_has_run_password (store, MACHINE_ID));
  lookup (store, MACHINE_ID, &result);
  g_assert_cmpstr (result.password, ==, "for this run");

  /* Storing it in the keyring ends the run-only one. */
  store_password (store, MACHINE_ID, "Front desk PC", "stored later", &result);
  g_assert_no_error (result.error);
  g_assert_false (cv_secret_store_has_run_password (store, MACHINE_ID));
  lookup (store, MACHINE_ID, &result);
  g_assert_cmpstr (result.password, ==, "stored later");

  /* Clearing forgets both. */
  cv_secret_store_remember_for_run (store, MACHINE_ID, "for this run");
  clear (store, MACHINE_ID, &result);
  g_assert_no_error (result.error);
  g_assert_false (cv_secret_store_has_run_password (store, MACHINE_ID));
  lookup (store, MACHINE_ID, &result);
  g_assert_no_error (result.error);
  g_assert_null (result.password);
  result_clear (&result);
}

/* Without a keyring (no daemon on the bus, or no bus) */

static void
assert_no_keyring (Result *result)
{
  g_assert_false (result->ok);
  g_assert_error (result->error, CV_APP_ERROR, CV_APP_ERROR_NO_KEYRING);
  g_assert_cmpstr (result->error->message, ==,
                   "No keyring is running, so Culvert cannot keep this password. You can use "
                   "it for this run only.");
}

/* Every regular file under @dir, relative to it. */
static void
list_files (const char *dir, const char *relative, GPtrArray *files)
{
  g_autoptr (GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;

  while (listing != NULL && (name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *child = relative != NULL ? g_build_filename (relative, name, NULL)
                                                : g_strdup (name);

      if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        list_files (path, child, files);
      else
        g_ptr_array_add (files, g_steal_pointer (&child));
    }
}

static void
assert_no_files (const char *dir)
{
  g_autoptr (GPtrArray) files = g_ptr_array_new_with_free_func (g_free);

  list_files (dir, NULL, files);
  for (guint i = 0; i < files->len; i++)
    g_test_message ("written under %s: %s", dir, (char *) g_ptr_array_index (files, i));
  g_assert_cmpuint (files->len, ==, 0);
}

static void
test_without_keyring (void)
{
  g_autoptr (CvSecretStore) store = cv_secret_store_new ();
  Result result = { 0 };
  gint64 start = g_get_monotonic_time ();
  guint n_notified = 0;
  const char *outer_home = g_getenv ("CULVERT_TEST_KEYRING_HOME");

  g_signal_connect (store, "notify::available", G_CALLBACK (on_available_notify), &n_notified);
  check (store, &result);
  assert_no_keyring (&result);
  g_assert_false (cv_secret_store_get_available (store));
  /* It says so at once: nothing waits for a D-Bus timeout. */
  g_assert_cmpint (g_get_monotonic_time () - start, <, 5 * G_USEC_PER_SEC);

  lookup (store, MACHINE_ID, &result);
  assert_no_keyring (&result);
  g_assert_null (result.password);
  store_password (store, MACHINE_ID, "Front desk PC", "must not be written", &result);
  assert_no_keyring (&result);
  g_assert_false (cv_secret_store_get_available (store));
  g_assert_cmpuint (n_notified, ==, 0);

  /* For this run only: found, replaced, and forgotten on clear. */
  g_assert_false (cv_secret_store_has_run_password (store, MACHINE_ID));
  cv_secret_store_remember_for_run (store, MACHINE_ID, "first for this run");
  cv_secret_store_remember_for_run (store, MACHINE_ID, "for this run");
  g_assert_true (cv_secret_store_has_run_password (store, MACHINE_ID));
  g_assert_false (cv_secret_store_has_run_password (store, OTHER_ID));
  lookup (store, MACHINE_ID, &result);
  g_assert_no_error (result.error);
  g_assert_cmpstr (result.password, ==, "for this run");
  lookup (store, OTHER_ID, &result);
  assert_no_keyring (&result);
  clear (store, MACHINE_ID, &result);
  assert_no_keyring (&result);
  g_assert_false (cv_secret_store_has_run_password (store, MACHINE_ID));
  lookup (store, MACHINE_ID, &result);
  assert_no_keyring (&result);
  result_clear (&result);

  /* Nothing fell back to a file. */
  g_assert_nonnull (outer_home);
  assert_no_files (test_dir);
  assert_no_files (outer_home);
}

int
main (int argc, char *argv[])
{
  const char *mode = g_getenv ("CULVERT_TEST_KEYRING");

  test_dir = cv_app_test_init (&argc, &argv);

  if (g_strcmp0 (mode, "running") == 0)
    {
      g_test_add_func ("/secret-store/running/check", test_check_running);
      g_test_add_func ("/secret-store/running/store-lookup-clear", test_store_lookup_clear);
      g_test_add_func ("/secret-store/running/run-password", test_run_password_with_keyring);
    }
  else if (g_strcmp0 (mode, "absent") == 0 || g_strcmp0 (mode, "no-bus") == 0)
    {
      g_autofree char *name = g_strdup_printf ("/secret-store/%s/no-keyring", mode);

      g_test_add_func (name, test_without_keyring);
    }
  else
    g_error ("run this test with run-with-keyring.sh (CULVERT_TEST_KEYRING is “%s”)",
             mode != NULL ? mode : "");

  return cv_app_test_finish (test_dir, g_test_run ());
}
