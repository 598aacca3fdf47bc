/* test-services.c: the tunnel's SERVICES, SERVICE_REQUEST and CONSENT messages: what
 * is built, what parses back, and what is refused (it reaches a prompt and an allow
 * list). */
#include "wire/cv-control.h"
#include "wire/cv-services.h"

#include <string.h>

static GBytes *
text (const char *json)
{
  return g_bytes_new_static (json, strlen (json));
}

static void
test_services_round_trip (void)
{
  g_autoptr (GPtrArray) services = g_ptr_array_new_with_free_func (
    (GDestroyNotify) cv_service_info_free);
  g_autofree char *json = NULL;
  g_autoptr (GBytes) bytes = NULL;
  g_autoptr (GPtrArray) parsed = NULL;
  g_autoptr (GError) error = NULL;
  const CvServiceInfo *info;

  g_ptr_array_add (services, cv_service_info_new ("vnc", CV_SERVICE_KIND_VNC, "localhost", 5900));
  g_ptr_array_add (services, cv_service_info_new ("files", CV_SERVICE_KIND_CUSTOM, "::1", 8080));
  json = cv_services_build (services);
  g_assert_cmpstr (json, ==,
                   "{\"services\":[{\"name\":\"vnc\",\"kind\":\"vnc\",\"target\":\"localhost:"
                   "5900\"},"
                   "{\"name\":\"files\",\"kind\":\"custom\",\"target\":\"[::1]:8080\"}]}");
  bytes = g_bytes_new (json, strlen (json));
  parsed = cv_services_parse (bytes, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (parsed->len, ==, 2);
  info = parsed->pdata[1];
  g_assert_cmpstr (info->name, ==, "files");
  g_assert_cmpint (info->kind, ==, CV_SERVICE_KIND_CUSTOM);
  g_assert_cmpstr (info->host, ==, "::1");
  g_assert_cmpuint (info->port, ==, 8080);
}

static void
test_services_refused (void)
{
  static const char *const refused[] = {
    "{}",
    "{\"services\":{}}",
    "{\"services\":[1]}",
    "{\"services\":[{\"name\":\"vnc\",\"kind\":\"vnc\"}]}",
    "{\"services\":[{\"name\":\"VNC\",\"kind\":\"vnc\",\"target\":\"h:1\"}]}",
    "{\"services\":[{\"name\":\"-x\",\"kind\":\"vnc\",\"target\":\"h:1\"}]}",
    "{\"services\":[{\"name\":\"a b\",\"kind\":\"vnc\",\"target\":\"h:1\"}]}",
    "{\"services\":[{\"name\":\"vnc\",\"kind\":\"telnet\",\"target\":\"h:1\"}]}",
    "{\"services\":[{\"name\":\"vnc\",\"kind\":\"vnc\",\"target\":\"h\"}]}",
    "{\"services\":[{\"name\":\"vnc\",\"kind\":\"vnc\",\"target\":\"h:0\"}]}",
    "{\"services\":[{\"name\":\"a\",\"kind\":\"vnc\",\"target\":\"h:1\"},"
    "{\"name\":\"a\",\"kind\":\"ssh\",\"target\":\"h:2\"}]}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr (GBytes) bytes = text (refused[i]);
      g_autoptr (GError) error = NULL;
      g_autoptr (GPtrArray) parsed = cv_services_parse (bytes, &error);

      g_test_message ("%s", refused[i]);
      g_assert_null (parsed);
      g_assert_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED);
    }
}

static void
test_request (void)
{
  static const char *const names[] = { "vnc", "ssh", NULL };
  static const char *const refused[] = {
    "{}",
    "{\"names\":[]}",
    "{\"names\":[\"vnc\",\"vnc\"]}",
    "{\"names\":[1]}",
    "{\"names\":[\"Vnc\"]}",
    "{\"names\":\"vnc\"}",
  };
  g_autofree char *json = cv_service_request_build (names);
  g_autoptr (GBytes) bytes = g_bytes_new (json, strlen (json));
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) parsed = cv_service_request_parse (bytes, &error);

  g_assert_cmpstr (json, ==, "{\"names\":[\"vnc\",\"ssh\"]}");
  g_assert_no_error (error);
  g_assert_cmpstrv (parsed, names);
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr (GBytes) bad = text (refused[i]);
      g_autoptr (GError) bad_error = NULL;
      g_auto (GStrv) none = cv_service_request_parse (bad, &bad_error);

      g_assert_null (none);
      g_assert_error (bad_error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED);
    }
}

static void
test_consent (void)
{
  g_autofree char *yes = cv_consent_build (TRUE, NULL);
  g_autofree char *no = cv_consent_build (FALSE, CV_CONSENT_REASON_TIMEOUT);
  g_autoptr (GBytes) yes_bytes = g_bytes_new (yes, strlen (yes));
  g_autoptr (GBytes) no_bytes = g_bytes_new (no, strlen (no));
  g_autoptr (GBytes) bare = text ("{\"accepted\":false}");
  g_autoptr (GBytes) bad = text ("{\"accepted\":\"yes\"}");
  g_autoptr (GError) error = NULL;
  g_autofree char *reason = NULL;
  gboolean accepted = FALSE;

  g_assert_cmpstr (yes, ==, "{\"accepted\":true}");
  g_assert_cmpstr (no, ==, "{\"accepted\":false,\"reason\":\"timeout\"}");
  g_assert_true (cv_consent_parse (yes_bytes, &accepted, &reason, &error));
  g_assert_true (accepted);
  g_assert_null (reason);
  g_assert_true (cv_consent_parse (no_bytes, &accepted, &reason, &error));
  g_assert_false (accepted);
  g_assert_cmpstr (reason, ==, "timeout");
  g_clear_pointer (&reason, g_free);
  g_assert_true (cv_consent_parse (bare, &accepted, &reason, &error));
  g_assert_cmpstr (reason, ==, "declined");
  g_assert_false (cv_consent_parse (bad, &accepted, NULL, &error));
  g_assert_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED);
}

static void
test_kinds (void)
{
  g_assert_cmpint (cv_service_kind_guess ("rdp"), ==, CV_SERVICE_KIND_RDP);
  g_assert_cmpint (cv_service_kind_guess ("ssh"), ==, CV_SERVICE_KIND_SSH);
  g_assert_cmpint (cv_service_kind_guess ("http"), ==, CV_SERVICE_KIND_HTTP);
  g_assert_cmpint (cv_service_kind_guess ("files"), ==, CV_SERVICE_KIND_CUSTOM);
  g_assert_cmpstr (cv_service_kind_to_string (CV_SERVICE_KIND_VNC), ==, "vnc");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/services/round-trip", test_services_round_trip);
  g_test_add_func ("/services/refused", test_services_refused);
  g_test_add_func ("/services/request", test_request);
  g_test_add_func ("/services/consent", test_consent);
  g_test_add_func ("/services/kinds", test_kinds);
  return g_test_run ();
}
