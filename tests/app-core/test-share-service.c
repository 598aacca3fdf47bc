/* test-share-service.c: what "Share this computer" offers and through which gateway —
 * the presets' words and ports (and CULVERT_SHARE_PRESET_PORTS), a real probe of a
 * listener and of a closed port, the gateway from the preferences, from a system
 * provisioning file, a malformed file, none; importing a file's "share_gateway". */
#define G_SETTINGS_ENABLE_BACKEND
#include <gio/gio.h>
#include <gio/gsettingsbackend.h>
#include <string.h>

#include "cv-app-error.h"
#include "cv-app-test-net.h"
#include "cv-app-test.h"
#include "cv-share-activity.h"
#include "cv-share-gateway.h"
#include "cv-share-service.h"

#define FINGERPRINT                                                                                \
  "sha256:"                                                                                        \
  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char *test_dir;

/* The app's schema, compiled by the build for these tests, on a memory backend. */
static GSettings *
new_settings (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSettingsSchemaSource) source =
    g_settings_schema_source_new_from_directory (CV_TEST_SCHEMA_DIR, NULL, TRUE, &error);
  g_autoptr (GSettingsSchema) schema = NULL;
  g_autoptr (GSettingsBackend) backend = g_memory_settings_backend_new ();

  g_assert_no_error (error);
  schema = g_settings_schema_source_lookup (source, "org.culvert.Culvert", FALSE);
  g_assert_nonnull (schema);
  return g_settings_new_full (schema, backend, NULL);
}

static char *
write_file (const char *name, const char *contents)
{
  char *path = g_build_filename (test_dir, name, NULL);
  g_autoptr (GError) error = NULL;

  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}

static void
test_presets (void)
{
  g_autoptr (GListStore) presets = NULL;
  g_autoptr (CvShareService) vnc = NULL, rdp = NULL, ssh = NULL, custom = NULL;

  g_unsetenv ("CULVERT_SHARE_PRESET_PORTS");
  presets = cv_share_service_list_presets ();
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (presets)), ==, 3);
  vnc = g_list_model_get_item (G_LIST_MODEL (presets), 0);
  rdp = g_list_model_get_item (G_LIST_MODEL (presets), 1);
  ssh = g_list_model_get_item (G_LIST_MODEL (presets), 2);

  g_assert_cmpint (cv_share_service_get_preset (vnc), ==, CV_SHARE_PRESET_VNC);
  g_assert_cmpuint (cv_share_service_get_port (vnc), ==, 5900);
  g_assert_cmpstr (cv_share_service_get_title (vnc), ==, "Screen sharing (VNC)");
  g_assert_cmpstr (cv_share_service_get_words (vnc), ==, "your screen");
  g_assert_cmpstr (cv_share_service_get_engine_name (vnc), ==, "vnc");
  g_assert_cmpint (cv_share_service_get_kind (vnc), ==, CV_SERVICE_KIND_VNC);

  g_assert_cmpuint (cv_share_service_get_port (rdp), ==, 3389);
  g_assert_cmpstr (cv_share_service_get_title (rdp), ==, "Remote desktop (RDP)");
  g_assert_cmpstr (cv_share_service_get_words (rdp), ==, "remote desktop");
  g_assert_cmpstr (cv_share_service_get_engine_name (rdp), ==, "rdp");
  g_assert_cmpint (cv_share_service_get_kind (rdp), ==, CV_SERVICE_KIND_RDP);

  g_assert_cmpuint (cv_share_service_get_port (ssh), ==, 22);
  g_assert_cmpstr (cv_share_service_get_title (ssh), ==, "SSH");
  g_assert_cmpstr (cv_share_service_get_words (ssh), ==, "a command line (SSH)");
  g_assert_cmpstr (cv_share_service_get_engine_name (ssh), ==, "ssh");

  custom = cv_share_service_new_custom (8080);
  g_assert_cmpint (cv_share_service_get_preset (custom), ==, CV_SHARE_PRESET_CUSTOM);
  g_assert_cmpuint (cv_share_service_get_port (custom), ==, 8080);
  g_assert_cmpstr (cv_share_service_get_title (custom), ==, "Port 8080");
  g_assert_cmpstr (cv_share_service_get_words (custom), ==, "port 8080");
  g_assert_cmpstr (cv_share_service_get_engine_name (custom), ==, "port-8080");
  g_assert_true (cv_service_name_is_valid (cv_share_service_get_engine_name (custom)));
  g_assert_cmpint (cv_share_service_get_kind (custom), ==, CV_SERVICE_KIND_CUSTOM);
  g_assert_cmpint (cv_share_service_get_availability (custom), ==, CV_SHARE_AVAILABILITY_UNKNOWN);
}

/* The variable moves the named presets only; a malformed entry changes nothing. */
static void
test_preset_ports (void)
{
  g_autoptr (CvShareService) vnc = NULL, rdp = NULL, ssh = NULL;

  g_setenv ("CULVERT_SHARE_PRESET_PORTS", "vnc=5901, ssh=2222,rdp=nope,=7", TRUE);
  vnc = cv_share_service_new_preset (CV_SHARE_PRESET_VNC);
  rdp = cv_share_service_new_preset (CV_SHARE_PRESET_RDP);
  ssh = cv_share_service_new_preset (CV_SHARE_PRESET_SSH);
  g_unsetenv ("CULVERT_SHARE_PRESET_PORTS");
  g_assert_cmpuint (cv_share_service_get_port (vnc), ==, 5901);
  g_assert_cmpuint (cv_share_service_get_port (rdp), ==, 3389);
  g_assert_cmpuint (cv_share_service_get_port (ssh), ==, 2222);
}

static gboolean
probed (gpointer data)
{
  return cv_share_service_get_availability (data) != CV_SHARE_AVAILABILITY_UNKNOWN;
}

static gboolean
missing (gpointer data)
{
  return cv_share_service_get_availability (data) == CV_SHARE_AVAILABILITY_MISSING;
}

static void
count (GObject *object, GParamSpec *pspec, guint *n)
{
  (*n)++;
}

/* A real listener is available; the same port once closed is missing. */
static void
test_probe (void)
{
  guint16 port = 0;
  g_autoptr (GSocket) listener = cv_app_test_hold_port (&port);
  g_autofree char *moved = NULL;
  g_autoptr (CvShareService) open = NULL;
  g_autoptr (CvShareService) closed = NULL;
  guint notified = 0;

  moved = g_strdup_printf ("ssh=%u", port);
  g_setenv ("CULVERT_SHARE_PRESET_PORTS", moved, TRUE);
  open = cv_share_service_new_preset (CV_SHARE_PRESET_SSH);
  g_unsetenv ("CULVERT_SHARE_PRESET_PORTS");
  g_assert_cmpuint (cv_share_service_get_port (open), ==, port);
  g_signal_connect (open, "notify::availability", G_CALLBACK (count), &notified);
  cv_share_service_probe (open);
  cv_app_test_wait (probed, open, "the probe of a listener");
  g_assert_cmpint (cv_share_service_get_availability (open), ==, CV_SHARE_AVAILABILITY_AVAILABLE);
  g_assert_cmpuint (notified, ==, 1);

  g_socket_close (listener, NULL);
  g_assert_true (cv_app_test_port_refuses (port));
  closed = cv_share_service_new_custom (port);
  cv_share_service_probe (closed);
  cv_app_test_wait (probed, closed, "the probe of a closed port");
  g_assert_cmpint (cv_share_service_get_availability (closed), ==, CV_SHARE_AVAILABILITY_MISSING);

  /* Probing again notices the change. */
  cv_share_service_probe (open);
  cv_app_test_wait (missing, open, "a second probe to find the port closed");
  g_assert_cmpuint (notified, ==, 2);
}

static void
test_activity_summary (void)
{
  g_autoptr (CvShareService) service = cv_share_service_new_preset (CV_SHARE_PRESET_VNC);
  g_autoptr (CvShareActivity) activity = cv_share_activity_new (service);
  g_autofree char *in = g_format_size (40000);
  g_autofree char *out = g_format_size (1200000);
  g_autofree char *down = g_strconcat ("↓ ", in, NULL);
  g_autofree char *up = g_strconcat ("↑ ", out, NULL);
  const char *summary;

  g_assert_true (g_str_has_prefix (in, "40.0"));
  g_assert_true (g_str_has_prefix (out, "1.2"));
  g_assert_true (cv_share_activity_get_service (activity) == service);
  g_assert_cmpint (cv_share_activity_get_since (activity), <=, g_get_real_time ());
  g_assert_cmpint (cv_share_activity_get_since (activity), >, g_get_real_time () - G_USEC_PER_SEC);
  cv_share_activity_opened (activity);
  cv_share_activity_opened (activity);
  cv_share_activity_add_bytes (activity, 40000, 1200000);
  summary = cv_share_activity_get_summary (activity);
  g_test_message ("summary: %s", summary);
  g_assert_nonnull (strstr (summary, "2 connections"));
  /* g_format_size () puts a no-break space before the unit. */
  g_assert_nonnull (strstr (summary, down));
  g_assert_nonnull (strstr (summary, up));
  g_assert_true (g_str_has_prefix (summary, "since "));
  cv_share_activity_closed (activity);
  g_assert_nonnull (strstr (cv_share_activity_get_summary (activity), "1 connection ·"));
  cv_share_activity_closed (activity);
  g_assert_nonnull (strstr (cv_share_activity_get_summary (activity), "closed"));
  g_assert_cmpuint (cv_share_activity_get_bytes_in (activity), ==, 40000);
  g_assert_cmpuint (cv_share_activity_get_bytes_out (activity), ==, 1200000);
}

/* ---- the gateway ------------------------------------------------------------- */

static void
test_gateway_from_settings (void)
{
  g_autoptr (GSettings) settings = new_settings ();
  g_autofree char *nowhere = g_build_filename (test_dir, "no-such.culvert", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvShareGateway) gateway = NULL;

  g_setenv ("CULVERT_SYSTEM_PROVISIONING", nowhere, TRUE);
  g_settings_set_string (settings, "share-gateway-address", " relay.example.com:8443 ");
  g_settings_set_string (settings, "share-gateway-fingerprint", FINGERPRINT);
  gateway = cv_share_gateway_lookup (settings, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (gateway->address, ==, "relay.example.com:8443");
  g_assert_cmpstr (gateway->fingerprint, ==, FINGERPRINT);
  g_assert_cmpstr (gateway->origin, ==, "from your preferences");
  g_clear_pointer (&gateway, cv_share_gateway_free);

  /* Without a port, the usual one; a fingerprint in pairs, as openssl prints it. */
  g_settings_set_string (settings, "share-gateway-address", "relay.example.com");
  g_settings_set_string (settings, "share-gateway-fingerprint",
                         "SHA256:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:"
                         "CD:EF:01:23:45:67:89:AB:CD:EF");
  gateway = cv_share_gateway_lookup (settings, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (gateway->address, "relay.example.com:"));
  g_assert_cmpstr (gateway->fingerprint, ==, FINGERPRINT);
  g_clear_pointer (&gateway, cv_share_gateway_free);

  /* No key: never trusted on first use. */
  g_settings_set_string (settings, "share-gateway-fingerprint", "");
  gateway = cv_share_gateway_lookup (settings, &error);
  g_assert_null (gateway);
  g_assert_error (error, CV_APP_ERROR, CV_APP_ERROR_UNTRUSTED);
  g_assert_nonnull (strstr (error->message, "fingerprint"));
  g_clear_error (&error);

  g_settings_set_string (settings, "share-gateway-fingerprint", "sha256:beef");
  gateway = cv_share_gateway_lookup (settings, &error);
  g_assert_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID);
  g_clear_error (&error);

  /* Nothing anywhere. */
  g_settings_reset (settings, "share-gateway-address");
  g_settings_reset (settings, "share-gateway-fingerprint");
  gateway = cv_share_gateway_lookup (settings, &error);
  g_assert_null (gateway);
  g_assert_error (error, CV_APP_ERROR, CV_APP_ERROR_NO_GATEWAY);
  g_assert_cmpstr (error->message, ==,
                   "No gateway is set for sharing. Open the file your helpdesk gave you, or set "
                   "one in Preferences.");
  g_unsetenv ("CULVERT_SYSTEM_PROVISIONING");
}

static void
test_gateway_from_system_file (void)
{
  g_autoptr (GSettings) settings = new_settings ();
  g_autofree char *path = write_file ("system.culvert",
                                      "{\"culvert_provisioning\": 1, \"share_gateway\": "
                                      "{\"address\": \"gw.helpdesk.example:9443\", "
                                      "\"fingerprint\": \"" FINGERPRINT "\"}}\n");
  g_autoptr (GError) error = NULL;
  g_autoptr (CvShareGateway) gateway = NULL;

  g_setenv ("CULVERT_SYSTEM_PROVISIONING", path, TRUE);
  gateway = cv_share_gateway_lookup (settings, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (gateway->address, ==, "gw.helpdesk.example:9443");
  g_assert_cmpstr (gateway->fingerprint, ==, FINGERPRINT);
  g_assert_cmpstr (gateway->origin, ==, "set by your administrator");
  g_clear_pointer (&gateway, cv_share_gateway_free);

  /* The preferences come first. */
  g_settings_set_string (settings, "share-gateway-address", "127.0.0.1:7000");
  g_settings_set_string (settings, "share-gateway-fingerprint", FINGERPRINT);
  gateway = cv_share_gateway_lookup (settings, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (gateway->address, ==, "127.0.0.1:7000");
  g_unsetenv ("CULVERT_SYSTEM_PROVISIONING");
}

/* Each malformed system file is an error that names the file. */
static void
test_gateway_malformed_file (void)
{
  const char *const bad[] = {
    "{\"culvert_provisioning\": 1, \"share_gateway\": {\"address\": \"gw:9443\"}}",
    "{\"culvert_provisioning\": 1, \"share_gateway\": {\"address\": \"gw:99999\", "
    "\"fingerprint\": \"" FINGERPRINT "\"}}",
    "{\"culvert_provisioning\": 1, \"share_gateway\": {\"adress\": \"gw:9443\"}}",
    "{\"culvert_provisioning\": 1, \"share_gateway\": \"gw:9443\"}",
    "{\"culvert_provisioning\": 2, \"share_gateway\": {\"address\": \"gw:9443\", "
    "\"fingerprint\": \"" FINGERPRINT "\"}}",
    "{\"culvert_provisioning\": 1, \"share_gateway\": ",
    "{\"culvert_provisioning\": 1}",
    "{\"share_gateway\": {\"address\": \"gw:9443\", \"fingerprint\": \"" FINGERPRINT "\"}}",
  };
  g_autoptr (GSettings) settings = new_settings ();

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *name = g_strdup_printf ("bad-%u.culvert", i);
      g_autofree char *path = write_file (name, bad[i]);
      g_autoptr (GError) error = NULL;
      g_autoptr (CvShareGateway) gateway = NULL;

      g_setenv ("CULVERT_SYSTEM_PROVISIONING", path, TRUE);
      gateway = cv_share_gateway_lookup (settings, &error);
      g_test_message ("%s: %s", bad[i], error != NULL ? error->message : "(none)");
      g_assert_null (gateway);
      g_assert_nonnull (error);
      g_assert_true (error->domain == CV_APP_ERROR);
      g_assert_true (error->code == CV_APP_ERROR_INVALID || error->code == CV_APP_ERROR_UNTRUSTED);
      g_assert_nonnull (strstr (error->message, name));
    }
  g_unsetenv ("CULVERT_SYSTEM_PROVISIONING");
}

/* A helpdesk's file with a machine and a share gateway: the gateway fills the
 * preferences, and the machine import still reads the file. */
static void
test_gateway_import (void)
{
  g_autoptr (GSettings) settings = new_settings ();
  g_autofree char *path = write_file ("helpdesk.culvert",
                                      "{\"culvert_provisioning\": 1, \"share_gateway\": "
                                      "{\"address\": \"gw.helpdesk.example:9443\", "
                                      "\"fingerprint\": \"" FINGERPRINT "\"}}\n");
  g_autofree char *plain = write_file ("plain.culvert",
                                       "{\"culvert_provisioning\": 1, \"machine\": {}}\n");
  g_autofree char *broken = write_file ("broken.culvert", "{\"culvert_provisioning\": 1, "
                                                          "\"share_gateway\": {}}\n");
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFile) plain_file = g_file_new_for_path (plain);
  g_autoptr (GFile) broken_file = g_file_new_for_path (broken);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvShareGateway) imported = NULL;
  g_autofree char *address = NULL;
  gboolean has_machine = TRUE;

  g_assert_true (cv_share_gateway_import (file, settings, &imported, &has_machine, &error));
  g_assert_no_error (error);
  g_assert_false (has_machine);
  g_assert_nonnull (imported);
  g_assert_cmpstr (imported->address, ==, "gw.helpdesk.example:9443");
  g_assert_cmpstr (imported->origin, ==, "from your preferences");
  address = g_settings_get_string (settings, "share-gateway-address");
  g_assert_cmpstr (address, ==, "gw.helpdesk.example:9443");
  g_clear_pointer (&imported, cv_share_gateway_free);

  /* A machine's file without one: nothing changes. */
  g_assert_true (cv_share_gateway_import (plain_file, settings, &imported, &has_machine, &error));
  g_assert_no_error (error);
  g_assert_null (imported);
  g_assert_true (has_machine);

  g_assert_false (cv_share_gateway_import (broken_file, settings, &imported, NULL, &error));
  g_assert_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "broken.culvert"));
  g_clear_pointer (&address, g_free);
  address = g_settings_get_string (settings, "share-gateway-address");
  g_assert_cmpstr (address, ==, "gw.helpdesk.example:9443");
}

int
main (int argc, char **argv)
{
  int status;

  test_dir = cv_app_test_init (&argc, &argv);
  g_test_add_func ("/share-service/presets", test_presets);
  g_test_add_func ("/share-service/preset-ports", test_preset_ports);
  g_test_add_func ("/share-service/probe", test_probe);
  g_test_add_func ("/share-service/activity-summary", test_activity_summary);
  g_test_add_func ("/share-gateway/settings", test_gateway_from_settings);
  g_test_add_func ("/share-gateway/system-file", test_gateway_from_system_file);
  g_test_add_func ("/share-gateway/malformed-file", test_gateway_malformed_file);
  g_test_add_func ("/share-gateway/import", test_gateway_import);
  status = g_test_run ();
  return cv_app_test_finish (test_dir, status);
}
