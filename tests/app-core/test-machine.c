/* test-machine.c: machines and their services — defaults, copies, every check, JSON. */
#include <string.h>

#include "config/cv-config.h"

#include "cv-app-error.h"
#include "cv-app-test.h"
#include "cv-machine.h"

static char *test_dir;

#define FINGERPRINT "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static CvMachine *
full_machine (void)
{
  CvMachine *machine = cv_machine_new ();
  g_autoptr (CvMachineService) vnc = cv_machine_service_new (CV_SERVICE_PRESET_VNC);
  g_autoptr (CvMachineService) ssh = cv_machine_service_new (CV_SERVICE_PRESET_SSH);
  g_autoptr (CvMachineService) custom = cv_machine_service_new (CV_SERVICE_PRESET_CUSTOM);

  cv_machine_set_name (machine, "Front desk PC");
  cv_machine_set_gateway (machine, "relay.acme.example", 443);
  cv_machine_set_fingerprint (machine, FINGERPRINT);
  cv_machine_set_session (machine, "acme-office");
  cv_machine_set_last_used (machine, 1700000000);
  cv_machine_service_set_local_port (vnc, 5921);
  cv_machine_service_set_target_host (ssh, "fd00::7");
  cv_machine_service_set_target_host (custom, "printer.lan");
  cv_machine_service_set_target_port (custom, 9100);
  cv_machine_service_set_launcher (custom, CV_LAUNCHER_CUSTOM);
  cv_machine_service_set_custom_command (custom, "nc '{host}' {port} --title \"a b\"");
  cv_machine_add_service (machine, vnc);
  cv_machine_add_service (machine, ssh);
  cv_machine_add_service (machine, custom);
  return machine;
}

static char *
to_text (JsonObject *object)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);

  json_node_take_object (node, object);
  return json_to_string (node, FALSE);
}

static CvMachine *
from_text (const char *text, GError **error)
{
  g_autoptr (JsonObject) object = cv_config_load_data (text, strlen (text), "test.json", error);

  if (object == NULL)
    return NULL;
  return cv_machine_new_from_json (object, "test.json", error);
}

static void
test_defaults (void)
{
  g_autoptr (CvMachine) machine = cv_machine_new ();
  g_autoptr (CvMachine) other = cv_machine_new ();
  g_autoptr (CvMachineService) vnc = NULL;
  g_autoptr (CvMachineService) ssh = NULL;
  g_autoptr (CvMachineService) https = NULL;

  g_assert_true (g_uuid_string_is_valid (cv_machine_get_id (machine)));
  g_assert_cmpstr (cv_machine_get_id (machine), !=, cv_machine_get_id (other));
  g_assert_null (cv_machine_get_name (machine));
  g_assert_null (cv_machine_get_gateway_host (machine));
  g_assert_null (cv_machine_dup_gateway (machine));
  g_assert_cmpuint (cv_machine_get_gateway_port (machine), ==, CV_MACHINE_DEFAULT_GATEWAY_PORT);
  g_assert_null (cv_machine_get_fingerprint (machine));
  g_assert_null (cv_machine_get_session (machine));
  g_assert_cmpint (cv_machine_get_last_used (machine), ==, 0);
  g_assert_cmpuint (g_list_model_get_n_items (cv_machine_get_services (machine)), ==, 0);

  /* vncviewer is on PATH (main () put it there), no terminal and no browser is. */
  vnc = cv_machine_service_new (CV_SERVICE_PRESET_VNC);
  g_assert_cmpstr (cv_machine_service_get_target_host (vnc), ==, "127.0.0.1");
  g_assert_cmpuint (cv_machine_service_get_target_port (vnc), ==, 5900);
  g_assert_cmpuint (cv_machine_service_get_local_port (vnc), ==, 0);
  g_assert_cmpint (cv_machine_service_get_launcher (vnc), ==, CV_LAUNCHER_VNCVIEWER);
  g_assert_null (cv_machine_service_get_custom_command (vnc));
  ssh = cv_machine_service_new (CV_SERVICE_PRESET_SSH);
  g_assert_cmpuint (cv_machine_service_get_target_port (ssh), ==, 22);
  g_assert_cmpint (cv_machine_service_get_launcher (ssh), ==, CV_LAUNCHER_NONE);
  https = cv_machine_service_new (CV_SERVICE_PRESET_HTTPS);
  g_assert_cmpuint (cv_machine_service_get_target_port (https), ==, 443);

  g_assert_cmpuint (cv_service_preset_get_default_port (CV_SERVICE_PRESET_RDP), ==, 3389);
  g_assert_cmpuint (cv_service_preset_get_default_port (CV_SERVICE_PRESET_HTTP), ==, 80);
  g_assert_cmpuint (cv_service_preset_get_default_port (CV_SERVICE_PRESET_CUSTOM), ==, 0);
  for (guint i = 0; i < CV_N_SERVICE_PRESETS; i++)
    {
      CvServicePreset back;

      g_assert_true (cv_service_preset_from_string (cv_service_preset_to_string (i), &back));
      g_assert_cmpint (back, ==, i);
      g_assert_cmpstr (cv_service_preset_get_label (i), !=, "");
    }
  g_assert_cmpstr (cv_service_preset_get_label (CV_SERVICE_PRESET_VNC), ==, "Screen sharing (VNC)");
  g_assert_false (cv_service_preset_from_string ("VNC", &(CvServicePreset){ 0 }));
  {
    g_autoptr (GEnumClass) presets = g_type_class_ref (CV_TYPE_SERVICE_PRESET);

    g_assert_cmpstr (g_enum_get_value (presets, CV_SERVICE_PRESET_HTTPS)->value_nick, ==, "https");
  }
}

static void
test_preset_change (void)
{
  g_autoptr (CvMachineService) service = cv_machine_service_new (CV_SERVICE_PRESET_VNC);

  /* A port still at the old preset's usual one follows; a launcher that does not fit is
   * replaced. */
  cv_machine_service_set_preset (service, CV_SERVICE_PRESET_SSH);
  g_assert_cmpuint (cv_machine_service_get_target_port (service), ==, 22);
  g_assert_cmpint (cv_machine_service_get_launcher (service), ==, CV_LAUNCHER_NONE);
  /* A port of the person's own stays. */
  cv_machine_service_set_target_port (service, 2222);
  cv_machine_service_set_preset (service, CV_SERVICE_PRESET_VNC);
  g_assert_cmpuint (cv_machine_service_get_target_port (service), ==, 2222);
  g_assert_cmpint (cv_machine_service_get_launcher (service), ==, CV_LAUNCHER_VNCVIEWER);
  /* A custom command stays whatever the preset. */
  cv_machine_service_set_launcher (service, CV_LAUNCHER_CUSTOM);
  cv_machine_service_set_preset (service, CV_SERVICE_PRESET_RDP);
  g_assert_cmpint (cv_machine_service_get_launcher (service), ==, CV_LAUNCHER_CUSTOM);
}

typedef struct {
  GHashTable *counts; /* property name → times notified */
} NotifyLog;

static void
on_notify (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  NotifyLog *log = user_data;
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (log->counts, pspec->name));

  g_hash_table_insert (log->counts, (gpointer) pspec->name, GUINT_TO_POINTER (count + 1));
}

static guint
notified (NotifyLog *log, const char *name)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (log->counts, name));
}

static void
on_items_changed (GListModel *model, guint position, guint removed, guint added, gpointer data)
{
  (*(guint *) data)++;
}

static void
test_copy_update (void)
{
  g_autoptr (CvMachine) machine = full_machine ();
  g_autoptr (CvMachine) copy = cv_machine_copy (machine);
  g_autoptr (CvMachineService) first = NULL;
  g_autoptr (CvMachineService) first_after = NULL;
  g_autoptr (CvMachineService) copied_first = NULL;
  g_autoptr (CvMachineService) extra = cv_machine_service_new (CV_SERVICE_PRESET_HTTP);
  g_autoptr (CvMachineService) last = NULL;
  g_autofree char *before = to_text (cv_machine_to_json (machine, FALSE));
  g_autofree char *copied = to_text (cv_machine_to_json (copy, FALSE));
  g_autofree char *after = NULL;
  NotifyLog log = { g_hash_table_new (g_str_hash, g_str_equal) };
  NotifyLog service_log = { g_hash_table_new (g_str_hash, g_str_equal) };
  guint services_changed = 0;
  GListModel *services = cv_machine_get_services (machine);

  g_assert_cmpstr (cv_machine_get_id (copy), ==, cv_machine_get_id (machine));
  g_assert_cmpstr (before, ==, copied);

  /* The copy is deep: changing it leaves the machine as it was. */
  copied_first = g_list_model_get_item (cv_machine_get_services (copy), 0);
  first = g_list_model_get_item (services, 0);
  g_assert_true (copied_first != first);
  cv_machine_set_name (copy, "Reception");
  cv_machine_service_set_local_port (copied_first, 6000);
  cv_machine_remove_service (copy, copied_first);
  cv_machine_add_service (copy, copied_first);
  cv_machine_add_service (copy, extra);
  after = to_text (cv_machine_to_json (machine, FALSE));
  g_assert_cmpstr (after, ==, before);
  g_assert_cmpuint (cv_machine_service_get_local_port (first), ==, 5921);

  g_signal_connect (machine, "notify", G_CALLBACK (on_notify), &log);
  g_signal_connect (first, "notify", G_CALLBACK (on_notify), &service_log);
  g_signal_connect (services, "items-changed", G_CALLBACK (on_items_changed), &services_changed);
  cv_machine_update_from (machine, copy);

  /* Only what changed is notified, once; the service objects stay, updated in place. */
  g_assert_cmpuint (notified (&log, "name"), ==, 1);
  g_assert_cmpuint (notified (&log, "gateway-host"), ==, 0);
  g_assert_cmpuint (notified (&log, "session"), ==, 0);
  g_assert_cmpuint (notified (&log, "fingerprint"), ==, 0);
  g_assert_cmpuint (g_hash_table_size (log.counts), ==, 1);
  g_assert_cmpstr (cv_machine_get_name (machine), ==, "Reception");
  g_assert_cmpuint (g_list_model_get_n_items (services), ==, 4);
  first_after = g_list_model_get_item (services, 0);
  g_assert_true (first_after == first);
  /* The copy's order is now ssh, custom, vnc (6000), http. */
  g_assert_cmpint (cv_machine_service_get_preset (first), ==, CV_SERVICE_PRESET_SSH);
  g_assert_cmpuint (notified (&service_log, "preset"), ==, 1);
  g_assert_cmpuint (notified (&service_log, "local-port"), ==, 1);
  g_assert_cmpuint (services_changed, ==, 1);
  last = g_list_model_get_item (services, 3);
  g_assert_true (last != extra);
  g_assert_cmpint (cv_machine_service_get_preset (last), ==, CV_SERVICE_PRESET_HTTP);

  g_free (after);
  after = to_text (cv_machine_to_json (machine, FALSE));
  g_free (copied);
  copied = to_text (cv_machine_to_json (copy, FALSE));
  g_assert_cmpstr (after, ==, copied);

  /* Shrinking removes the extra services. */
  g_clear_object (&copy);
  copy = cv_machine_copy (machine);
  g_clear_object (&last);
  last = g_list_model_get_item (cv_machine_get_services (copy), 3);
  cv_machine_remove_service (copy, last);
  g_assert_cmpuint (g_list_model_get_n_items (cv_machine_get_services (copy)), ==, 3);
  cv_machine_update_from (machine, copy);
  g_assert_cmpuint (g_list_model_get_n_items (services), ==, 3);

  g_signal_handlers_disconnect_by_data (machine, &log);
  g_signal_handlers_disconnect_by_data (first, &service_log);
  g_signal_handlers_disconnect_by_data (services, &services_changed);
  g_hash_table_unref (log.counts);
  g_hash_table_unref (service_log.counts);
}

/* @error is read here, after @ok was computed (an argument list has no order). */
static void
assert_invalid (gboolean ok, GError **error, const char *fragment)
{
  g_assert_false (ok);
  g_assert_error (*error, CV_APP_ERROR, CV_APP_ERROR_INVALID);
  if (strstr ((*error)->message, fragment) == NULL)
    g_error ("expected “%s” in the error “%s”", fragment, (*error)->message);
}

static void
test_check_name_session (void)
{
  g_autofree char *long_name = g_strnfill (101, 'x');
  g_autofree char *long_session = g_strnfill (65, 's');
  static const char *const bad_sessions[] = { "a b", "tab\t", "ümlaut", "x/y" };
  GError *error = NULL;

  g_assert_true (cv_machine_check_name ("Front desk PC", &error));
  g_assert_no_error (error);
  g_assert_true (cv_machine_check_name ("Büro Köln", &error));
  assert_invalid (cv_machine_check_name (NULL, &error), &error, "name");
  g_clear_error (&error);
  assert_invalid (cv_machine_check_name ("", &error), &error, "Give the machine a name");
  g_clear_error (&error);
  assert_invalid (cv_machine_check_name ("   ", &error), &error, "Give the machine a name");
  g_clear_error (&error);
  assert_invalid (cv_machine_check_name (long_name, &error), &error, "too long");
  g_clear_error (&error);
  long_name[100] = '\0';
  g_assert_true (cv_machine_check_name (long_name, NULL));
  assert_invalid (cv_machine_check_name ("a\nb", &error), &error, "one line");
  g_clear_error (&error);

  g_assert_true (cv_machine_check_session ("acme-office_2.x", &error));
  g_assert_no_error (error);
  assert_invalid (cv_machine_check_session (NULL, &error), &error, "Give the session");
  g_clear_error (&error);
  assert_invalid (cv_machine_check_session ("", &error), &error, "Give the session");
  g_clear_error (&error);
  assert_invalid (cv_machine_check_session (long_session, &error), &error, "1 to 64");
  g_clear_error (&error);
  long_session[64] = '\0';
  g_assert_true (cv_machine_check_session (long_session, NULL));
  for (gsize i = 0; i < G_N_ELEMENTS (bad_sessions); i++)
    {
      assert_invalid (cv_machine_check_session (bad_sessions[i], &error), &error, "1 to 64");
      g_clear_error (&error);
    }
}

static void
test_parse_gateway (void)
{
  static const struct {
    const char *text, *host;
    guint16 port;
  } good[] = {
    { "relay.example.com", "relay.example.com", CV_MACHINE_DEFAULT_GATEWAY_PORT },
    { "Relay.Example.com:443", "relay.example.com", 443 },
    { "  relay.example.com:1  ", "relay.example.com", 1 },
    { "203.0.113.5", "203.0.113.5", CV_MACHINE_DEFAULT_GATEWAY_PORT },
    { "203.0.113.5:65535", "203.0.113.5", 65535 },
    { "[2001:db8::1]:9000", "2001:db8::1", 9000 },
    { "[2001:db8::1]", "2001:db8::1", CV_MACHINE_DEFAULT_GATEWAY_PORT },
    { "2001:db8::1", "2001:db8::1", CV_MACHINE_DEFAULT_GATEWAY_PORT },
    { "[::1]:8443", "::1", 8443 },
  };
  static const char *const bad[] = {
    "",
    "   ",
    "relay:0",
    "relay:65536",
    "relay:",
    "relay:http",
    "[2001:db8::1",
    "[relay]:80",
    "bad host",
    "relay.example.com:80:90",
    "300.1.1.1",
    "-relay.example",
    "relay:+80",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autofree char *host = NULL;
      g_autoptr (GError) error = NULL;
      guint16 port = 0;

      if (!cv_machine_parse_gateway (good[i].text, &host, &port, &error))
        g_error ("“%s” refused: %s", good[i].text, error->message);
      g_assert_cmpstr (host, ==, good[i].host);
      g_assert_cmpuint (port, ==, good[i].port);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *host = NULL;
      GError *error = NULL;
      guint16 port = 0;

      if (cv_machine_parse_gateway (bad[i], &host, &port, &error))
        g_error ("“%s” accepted as %s port %u", bad[i], host, port);
      assert_invalid (FALSE, &error, "relay.example.com");
      g_assert_null (host);
      g_clear_error (&error);
    }

  {
    g_autoptr (CvMachine) machine = cv_machine_new ();
    g_autofree char *text = NULL;

    cv_machine_set_gateway (machine, "2001:db8::1", 443);
    text = cv_machine_dup_gateway (machine);
    g_assert_cmpstr (text, ==, "[2001:db8::1]:443");
  }
}

/* A ws:// or wss:// gateway URL: the engine's parser, shown back as it was written. */
static void
test_parse_gateway_url (void)
{
  static const struct {
    const char *text, *host;
    guint16 port;
    const char *path; /* NULL: host:port */
    gboolean tls;
    const char *shown; /* cv_machine_dup_gateway () of the machine set from it */
  } good[] = {
    { "wss://relay.example.com/culvert", "relay.example.com", 443, "/culvert", TRUE,
      "wss://relay.example.com/culvert" },
    { "  wss://relay.example.com  ", "relay.example.com", 443, "/culvert", TRUE,
      "wss://relay.example.com/culvert" },
    { "wss://127.0.0.1:9443/culvert", "127.0.0.1", 9443, "/culvert", TRUE,
      "wss://127.0.0.1:9443/culvert" },
    { "ws://[2001:db8::1]:8080/a/b", "2001:db8::1", 8080, "/a/b", FALSE,
      "ws://[2001:db8::1]:8080/a/b" },
    { "ws://[2001:db8::1]/x", "2001:db8::1", 80, "/x", FALSE, "ws://[2001:db8::1]/x" },
    { "relay.example.com:8443", "relay.example.com", 8443, NULL, FALSE, "relay.example.com:8443" },
  };
  static const struct {
    const char *text, *fragment;
  } bad[] = {
    { "wss://", "not a gateway URL" },
    { "wss://relay.example.com:0/culvert", "“wss://relay.example.com:0/culvert” is not a" },
    { "https://relay.example.com/culvert", "not a gateway URL" },
    { "wss://bad host/culvert", "not a gateway URL" },
    /* A URL with a password: never repeated. */
    { "wss://user:hunter2@relay.example.com/culvert", "not a gateway URL" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr (CvMachine) machine = cv_machine_new ();
      g_autofree char *host = NULL;
      g_autofree char *path = NULL;
      g_autofree char *shown = NULL;
      g_autoptr (GError) error = NULL;
      gboolean tls = !good[i].tls;
      guint16 port = 0;

      if (!cv_machine_parse_gateway_url (good[i].text, &host, &port, &path, &tls, &error))
        g_error ("“%s” refused: %s", good[i].text, error->message);
      g_assert_cmpstr (host, ==, good[i].host);
      g_assert_cmpuint (port, ==, good[i].port);
      g_assert_cmpstr (path, ==, good[i].path);
      g_assert_cmpint (tls, ==, good[i].tls);
      cv_machine_set_gateway (machine, host, port);
      cv_machine_set_gateway_web (machine, path, tls);
      shown = cv_machine_dup_gateway (machine);
      g_assert_cmpstr (shown, ==, good[i].shown);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autofree char *host = NULL;
      g_autofree char *path = NULL;
      GError *error = NULL;
      gboolean tls = FALSE;
      guint16 port = 0;

      if (cv_machine_parse_gateway_url (bad[i].text, &host, &port, &path, &tls, &error))
        g_error ("“%s” accepted as %s port %u", bad[i].text, host, port);
      g_test_message ("%s: %s", bad[i].text, error->message);
      g_assert_null (strstr (error->message, "hunter2"));
      assert_invalid (FALSE, &error, bad[i].fragment);
      g_clear_error (&error);
    }
  /* Those that do not know URLs say so as before. */
  {
    g_autofree char *host = NULL;
    g_autoptr (GError) error = NULL;
    guint16 port = 0;

    g_assert_false (
      cv_machine_parse_gateway ("wss://relay.example.com/culvert", &host, &port, &error));
    g_assert_nonnull (error);
  }
}

static void
test_check_machine (void)
{
  g_autoptr (CvMachine) machine = full_machine ();
  g_autoptr (CvMachine) empty = cv_machine_new ();
  g_autoptr (CvMachineService) custom = NULL;
  g_autoptr (CvMachineService) vnc = NULL;
  GError *error = NULL;

  g_assert_true (cv_machine_check (machine, &error));
  g_assert_no_error (error);

  assert_invalid (cv_machine_check (empty, &error), &error, "name");
  g_clear_error (&error);
  cv_machine_set_name (empty, "Lab");
  assert_invalid (cv_machine_check (empty, &error), &error, "gateway");
  g_clear_error (&error);
  cv_machine_set_gateway (empty, "relay.example.com", 0);
  g_assert_cmpuint (cv_machine_get_gateway_port (empty), ==, CV_MACHINE_DEFAULT_GATEWAY_PORT);
  assert_invalid (cv_machine_check (empty, &error), &error, "session");
  g_clear_error (&error);
  cv_machine_set_session (empty, "lab");
  assert_invalid (cv_machine_check (empty, &error), &error, "at least one service");
  g_clear_error (&error);

  cv_machine_set_fingerprint (machine, "sha256:1234");
  assert_invalid (cv_machine_check (machine, &error), &error, "SHA-256");
  g_clear_error (&error);
  cv_machine_set_fingerprint (machine, NULL);

  custom = g_list_model_get_item (cv_machine_get_services (machine), 2);
  cv_machine_service_set_custom_command (custom, "nc {host}");
  assert_invalid (cv_machine_check (machine, &error), &error, "{port}");
  g_assert_true (g_str_has_prefix (error->message, "Custom: "));
  g_clear_error (&error);
  cv_machine_service_set_custom_command (custom, "nc {host} {port}");
  cv_machine_service_set_target_port (custom, 0);
  assert_invalid (cv_machine_check (machine, &error), &error, "1 to 65535");
  g_clear_error (&error);
  cv_machine_service_set_target_port (custom, 9100);
  cv_machine_service_set_target_host (custom, "bad host");
  assert_invalid (cv_machine_check (machine, &error), &error, "not a valid address");
  g_clear_error (&error);
  cv_machine_service_set_target_host (custom, "");
  assert_invalid (cv_machine_check (machine, &error), &error, "127.0.0.1");
  g_clear_error (&error);
  cv_machine_service_set_target_host (custom, "printer.lan");
  cv_machine_service_set_launcher (custom, CV_LAUNCHER_XFREERDP);
  assert_invalid (cv_machine_check (machine, &error), &error, "cannot open");
  g_clear_error (&error);
  cv_machine_service_set_launcher (custom, CV_LAUNCHER_NONE);
  g_assert_true (cv_machine_check (machine, NULL));

  vnc = g_list_model_get_item (cv_machine_get_services (machine), 0);
  cv_machine_service_set_local_port (custom, cv_machine_service_get_local_port (vnc));
  assert_invalid (cv_machine_check (machine, &error), &error, "5921");
  g_clear_error (&error);
  cv_machine_service_set_local_port (custom, 0);
  g_assert_true (cv_machine_check (machine, NULL));
}

static void
test_json_round_trip (void)
{
  g_autoptr (CvMachine) machine = full_machine ();
  g_autofree char *text = to_text (cv_machine_to_json (machine, FALSE));
  g_autoptr (GError) error = NULL;
  g_autoptr (CvMachine) back = from_text (text, &error);
  g_autofree char *again = NULL;
  g_autoptr (CvMachineService) ssh = NULL;
  g_autoptr (CvMachine) blank = cv_machine_new ();
  g_autoptr (CvMachine) blank_back = NULL;
  g_autoptr (CvMachineService) unfinished = cv_machine_service_new (CV_SERVICE_PRESET_CUSTOM);

  g_assert_no_error (error);
  again = to_text (cv_machine_to_json (back, FALSE));
  g_assert_cmpstr (again, ==, text);
  g_assert_cmpstr (cv_machine_get_id (back), ==, cv_machine_get_id (machine));
  g_assert_cmpint (cv_machine_get_last_used (back), ==, 1700000000);
  g_assert_cmpstr (cv_machine_get_fingerprint (back), ==, FINGERPRINT);
  ssh = g_list_model_get_item (cv_machine_get_services (back), 1);
  g_assert_cmpstr (cv_machine_service_get_target_host (ssh), ==, "fd00::7");
  g_assert_nonnull (strstr (text, "\"target\":\"[fd00::7]:22\""));
  g_assert_nonnull (strstr (text, "\"launcher\":\"vncviewer\""));

  /* A machine the editor has not finished reads back too. */
  cv_machine_add_service (blank, unfinished);
  g_free (text);
  text = to_text (cv_machine_to_json (blank, FALSE));
  blank_back = from_text (text, &error);
  g_assert_no_error (error);
  g_free (again);
  again = to_text (cv_machine_to_json (blank_back, FALSE));
  g_assert_cmpstr (again, ==, text);
}

/* A wss:// gateway and its web pin are saved as written and load back; a machine saved
 * before URLs (host:port, no web members) loads as it always did. */
static void
test_json_url_round_trip (void)
{
  g_autoptr (CvMachine) machine = full_machine ();
  g_autoptr (CvMachine) back = NULL;
  g_autoptr (CvMachine) old = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *again = NULL;

  cv_machine_set_gateway (machine, "relay.acme.example", 443);
  cv_machine_set_gateway_web (machine, "/culvert", TRUE);
  cv_machine_set_web_fingerprint (machine, FINGERPRINT);
  g_assert_true (cv_machine_check (machine, NULL));
  text = to_text (cv_machine_to_json (machine, FALSE));
  g_assert_nonnull (strstr (text, "\"gateway\":\"wss://relay.acme.example/culvert\""));
  g_assert_nonnull (strstr (text, "\"web_fingerprint\":\"" FINGERPRINT "\""));
  back = from_text (text, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cv_machine_get_gateway_host (back), ==, "relay.acme.example");
  g_assert_cmpuint (cv_machine_get_gateway_port (back), ==, 443);
  g_assert_cmpstr (cv_machine_get_gateway_web_path (back), ==, "/culvert");
  g_assert_true (cv_machine_get_gateway_web_tls (back));
  g_assert_cmpstr (cv_machine_get_web_fingerprint (back), ==, FINGERPRINT);
  again = to_text (cv_machine_to_json (back, FALSE));
  g_assert_cmpstr (again, ==, text);

  /* The copy the editor changes keeps the URL; going back to host:port drops it. */
  {
    g_autoptr (CvMachine) copy = cv_machine_copy (back);
    g_autofree char *shown = cv_machine_dup_gateway (copy);

    g_assert_cmpstr (shown, ==, "wss://relay.acme.example/culvert");
    cv_machine_set_gateway_web (copy, NULL, TRUE);
    g_assert_false (cv_machine_get_gateway_web_tls (copy));
    g_free (shown);
    shown = cv_machine_dup_gateway (copy);
    g_assert_cmpstr (shown, ==, "relay.acme.example:443");
    /* A web pin without wss:// is refused with what to do. */
    assert_invalid (cv_machine_check (copy, &error), &error, "wss://");
    g_clear_error (&error);
  }

  old = from_text ("{\"name\": \"Old\", \"gateway\": \"relay.acme.example:8443\", "
                   "\"session\": \"s\", \"services\": [{\"preset\": \"vnc\"}]}",
                   &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cv_machine_get_gateway_host (old), ==, "relay.acme.example");
  g_assert_cmpuint (cv_machine_get_gateway_port (old), ==, 8443);
  g_assert_null (cv_machine_get_gateway_web_path (old));
  g_assert_false (cv_machine_get_gateway_web_tls (old));
  g_assert_null (cv_machine_get_web_fingerprint (old));
  g_free (text);
  text = to_text (cv_machine_to_json (old, FALSE));
  g_assert_nonnull (strstr (text, "\"gateway\":\"relay.acme.example:8443\""));
  g_assert_null (strstr (text, "web_fingerprint"));
}

static void
test_json_export (void)
{
  g_autoptr (CvMachine) machine = full_machine ();
  g_autofree char *text = to_text (cv_machine_to_json (machine, TRUE));
  g_autoptr (GError) error = NULL;
  g_autoptr (CvMachine) back = NULL;

  g_assert_null (strstr (text, "\"id\""));
  g_assert_null (strstr (text, "last_used"));
  g_assert_null (strstr (text, cv_machine_get_id (machine)));
  g_assert_nonnull (strstr (text, "\"gateway_fingerprint\""));
  back = from_text (text, &error);
  g_assert_no_error (error);
  g_assert_true (g_uuid_string_is_valid (cv_machine_get_id (back)));
  g_assert_cmpstr (cv_machine_get_id (back), !=, cv_machine_get_id (machine));
  g_assert_cmpint (cv_machine_get_last_used (back), ==, 0);
  g_assert_true (cv_machine_check (back, NULL));
}

static void
test_json_refused (void)
{
  static const struct {
    const char *json;
    const char *fragment; /* the error must name it */
  } cases[] = {
    { "{\"nmae\": \"x\"}", "nmae: unknown key, did you mean name?" },
    { "{\"colour\": \"x\"}", "colour: unknown key" },
    { "{\"name\": \"a\", \"name\": \"b\"}", "the key \"name\" is given twice" },
    { "{\"services\": [{\"preset\": \"vnc\", \"target\": \"h:1\", \"target\": \"h:2\"}]}",
      "\"target\" is given twice" },
    { "{\"services\": [{\"preset\": \"vnc\", \"targte\": \"h:1\"}]}",
      "services[0].targte: unknown key, did you mean target?" },
    { "{\"services\": [{\"preset\": \"vnc\"}, {\"preset\": \"vnx\"}]}", "services[1].preset" },
    { "{\"services\": [{}]}", "services[0].preset: required key missing" },
    { "{\"services\": [{\"preset\": \"vnc\", \"target\": \"h:0\"}]}", "services[0].target" },
    { "{\"services\": [{\"preset\": \"vnc\", \"target\": \"h:65536\"}]}", "services[0].target" },
    { "{\"services\": [{\"preset\": \"vnc\", \"local_port\": 65536}]}", "services[0].local_port" },
    { "{\"services\": [{\"preset\": \"vnc\", \"launcher\": \"ssh-terminal\"}]}",
      "services[0].launcher: Terminal (SSH) cannot open" },
    { "{\"services\": [{\"preset\": \"vnc\", \"launcher\": \"custom\"}]}",
      "services[0].custom_command: Write the command" },
    { "{\"services\": [{\"preset\": \"vnc\", \"launcher\": \"custom\", \"custom_command\": "
      "\"vncviewer {host}\"}]}",
      "services[0].custom_command: The command must contain {port}" },
    { "{\"services\": {}}", "services: expected an array" },
    { "{\"services\": [3]}", "services[0]: expected an object" },
    { "{\"gateway\": \"relay:0\"}", "gateway: “relay:0” is not a gateway address" },
    { "{\"gateway\": 8443}", "gateway: expected a string" },
    { "{\"gateway\": \"wss://relay.example.com:0/culvert\"}",
      "gateway: “wss://relay.example.com:0/culvert” is not a gateway URL (port 0" },
    { "{\"gateway\": \"wss://relay.example.com\", \"web_fingerprint\": \"md5:00\"}",
      "web_fingerprint: This is not a gateway key" },
    { "{\"gateway\": \"relay.example.com\", \"web_fingerprint\": \"" FINGERPRINT "\"}",
      "web_fingerprint: A web server’s key goes only with a wss:// gateway" },
    { "{\"session\": \"a b\"}", "session: A session is" },
    { "{\"name\": \"\"}", "name: expected a non-empty string" },
    { "{\"gateway_fingerprint\": \"md5:00\"}", "gateway_fingerprint: This is not a gateway key" },
    { "{\"id\": \"42\"}", "id: This is not a machine id" },
    { "{\"last_used\": -1}", "last_used" },
    { "{\"password\": \"hunter2\"}", "password: a provisioning file never holds a password" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autoptr (CvMachine) machine = from_text (cases[i].json, &error);

      if (machine != NULL)
        g_error ("accepted: %s", cases[i].json);
      g_assert_nonnull (error);
      g_test_message ("%s", error->message);
      g_assert_true (g_str_has_prefix (error->message, "test.json"));
      if (strstr (error->message, cases[i].fragment) == NULL)
        g_error ("%s: expected “%s” in the error “%s”", cases[i].json, cases[i].fragment,
                 error->message);
    }
}

static void
test_describe (void)
{
  g_autoptr (CvMachineService) vnc = cv_machine_service_new (CV_SERVICE_PRESET_VNC);
  g_autofree char *text = cv_machine_service_describe (vnc);
  g_autofree char *v6 = NULL;

  g_assert_cmpstr (text, ==, "Screen sharing (VNC) · 127.0.0.1:5900");
  cv_machine_service_set_target_host (vnc, "::1");
  v6 = cv_machine_service_describe (vnc);
  g_assert_cmpstr (v6, ==, "Screen sharing (VNC) · [::1]:5900");
}

int
main (int argc, char *argv[])
{
  test_dir = cv_app_test_init (&argc, &argv);
  cv_app_test_add_program (test_dir, "vncviewer", "exit 0");

  g_test_add_func ("/machine/defaults", test_defaults);
  g_test_add_func ("/machine/preset-change", test_preset_change);
  g_test_add_func ("/machine/copy-update", test_copy_update);
  g_test_add_func ("/machine/check-name-session", test_check_name_session);
  g_test_add_func ("/machine/parse-gateway", test_parse_gateway);
  g_test_add_func ("/machine/parse-gateway-url", test_parse_gateway_url);
  g_test_add_func ("/machine/check", test_check_machine);
  g_test_add_func ("/machine/json-round-trip", test_json_round_trip);
  g_test_add_func ("/machine/json-url-round-trip", test_json_url_round_trip);
  g_test_add_func ("/machine/json-export", test_json_export);
  g_test_add_func ("/machine/json-refused", test_json_refused);
  g_test_add_func ("/machine/describe", test_describe);

  return cv_app_test_finish (test_dir, g_test_run ());
}
