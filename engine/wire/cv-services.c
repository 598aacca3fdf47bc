/* cv-services.c: building and checking the tunnel's SERVICES, SERVICE_REQUEST and
 * CONSENT messages.  Each parser refuses anything but the exact form, since what it
 * reads reaches a consent prompt and an allow list. */
#include "wire/cv-services.h"

#include "wire/cv-control.h"
#include "wire/cv-host-port.h"

#include <string.h>

static const char *const kind_names[] = { "rdp", "vnc", "ssh", "http", "custom" };

const char *
cv_service_kind_to_string (CvServiceKind kind)
{
  g_return_val_if_fail (kind <= CV_SERVICE_KIND_CUSTOM, "custom");
  return kind_names[kind];
}

gboolean
cv_service_kind_from_string (const char *text, CvServiceKind *kind)
{
  for (guint i = 0; i < G_N_ELEMENTS (kind_names); i++)
    if (g_strcmp0 (text, kind_names[i]) == 0)
      {
        *kind = (CvServiceKind) i;
        return TRUE;
      }
  return FALSE;
}

/* "--offer vnc=…" means a VNC service; "--offer files=…" is custom. */
CvServiceKind
cv_service_kind_guess (const char *name)
{
  CvServiceKind kind;

  return cv_service_kind_from_string (name, &kind) ? kind : CV_SERVICE_KIND_CUSTOM;
}

gboolean
cv_service_name_is_valid (const char *name)
{
  gsize len = name != NULL ? strlen (name) : 0;

  if (len == 0 || len > CV_SERVICE_MAX_NAME_LEN || name[0] == '-' || name[0] == '_')
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!(g_ascii_islower (name[i]) || g_ascii_isdigit (name[i]) || name[i] == '-'
          || name[i] == '_'))
      return FALSE;
  return TRUE;
}

CvServiceInfo *
cv_service_info_new (const char *name, CvServiceKind kind, const char *host, guint16 port)
{
  CvServiceInfo *info = g_new0 (CvServiceInfo, 1);

  info->name = g_strdup (name);
  info->kind = kind;
  info->host = g_strdup (host);
  info->port = port;
  return info;
}

void
cv_service_info_free (CvServiceInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->name);
  g_free (info->host);
  g_free (info);
}

/* NULL, with a "malformed" error: what every parser here returns on a refusal. */
static gpointer
malformed (GError **error, const char *message)
{
  g_set_error_literal (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED, message);
  return NULL;
}

static JsonArray *
get_array (JsonObject *object, const char *key, guint max, GError **error)
{
  JsonNode *node = json_object_get_member (object, key);
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "control message: “%s” must be an array", key);
      return NULL;
    }
  array = json_node_get_array (node);
  if (json_array_get_length (array) > max)
    {
      g_set_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED,
                   "control message: “%s” has more than %u elements", key, max);
      return NULL;
    }
  return array;
}

/**
 * cv_services_build:
 * @services: (element-type CvServiceInfo): what the share agent offers
 *
 * Returns: SERVICES `{"services":[{"name","kind","target"}]}`
 */
char *
cv_services_build (GPtrArray *services)
{
  g_autoptr (JsonObject) root = json_object_new ();
  JsonArray *array = json_array_new ();

  for (guint i = 0; i < services->len; i++)
    {
      const CvServiceInfo *info = services->pdata[i];
      JsonObject *item = json_object_new ();
      g_autofree char *target = cv_host_port_format (info->host, info->port);

      json_object_set_string_member (item, "name", info->name);
      json_object_set_string_member (item, "kind", cv_service_kind_to_string (info->kind));
      json_object_set_string_member (item, "target", target);
      json_array_add_object_element (array, item);
    }
  json_object_set_array_member (root, "services", array);
  return cv_control_to_string (root);
}

/**
 * cv_services_parse:
 *
 * Returns: (transfer full) (element-type CvServiceInfo): the offered services, each with a
 *   valid name (unique), a known kind and a "host:port" target; or NULL and an error
 */
GPtrArray *
cv_services_parse (GBytes *json, GError **error)
{
  g_autoptr (JsonObject) root = cv_control_parse (json, error);
  g_autoptr (GPtrArray) services = NULL;
  JsonArray *array;

  if (root == NULL || (array = get_array (root, "services", CV_SERVICES_MAX, error)) == NULL)
    return NULL;
  services = g_ptr_array_new_with_free_func ((GDestroyNotify) cv_service_info_free);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      JsonObject *item;
      const char *name, *kind_text, *target;
      CvServiceKind kind;
      g_autofree char *host = NULL;
      guint16 port;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        return malformed (error, "SERVICES: every service must be an object");
      item = json_node_get_object (node);
      if ((name = cv_control_get_string (item, "name", CV_SERVICE_MAX_NAME_LEN, TRUE, error))
            == NULL
          || (kind_text = cv_control_get_string (item, "kind", 16, TRUE, error)) == NULL
          || (target = cv_control_get_string (item, "target", 300, TRUE, error)) == NULL)
        return NULL;
      if (!cv_service_name_is_valid (name))
        return malformed (error, "SERVICES: a service name is not valid");
      if (!cv_service_kind_from_string (kind_text, &kind))
        return malformed (error,
                          "SERVICES: a service kind is not one of rdp, vnc, ssh, http, custom");
      if (!cv_host_port_parse (target, NULL, &host, &port, NULL, NULL))
        return malformed (error, "SERVICES: a service target is not host:port");
      for (guint j = 0; j < services->len; j++)
        if (g_str_equal (((CvServiceInfo *) services->pdata[j])->name, name))
          return malformed (error, "SERVICES: two services have the same name");
      g_ptr_array_add (services, cv_service_info_new (name, kind, host, port));
    }
  return g_steal_pointer (&services);
}

char *
cv_service_request_build (const char *const *names)
{
  g_autoptr (JsonObject) root = json_object_new ();
  JsonArray *array = json_array_new ();

  for (guint i = 0; names[i] != NULL; i++)
    json_array_add_string_element (array, names[i]);
  json_object_set_array_member (root, "names", array);
  return cv_control_to_string (root);
}

/**
 * cv_service_request_parse:
 *
 * Returns: (transfer full): the names asked for (valid, no repeats, at least one); or
 *   NULL and an error.  Whether they are offered is the share agent's check.
 */
GStrv
cv_service_request_parse (GBytes *json, GError **error)
{
  g_autoptr (JsonObject) root = cv_control_parse (json, error);
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  JsonArray *array;
  guint n;

  if (root == NULL || (array = get_array (root, "names", CV_SERVICES_MAX, error)) == NULL)
    return NULL;
  n = json_array_get_length (array);
  if (n == 0)
    return malformed (error, "SERVICE_REQUEST: no service named");
  for (guint i = 0; i < n; i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      const char *name;

      if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING
          || !cv_service_name_is_valid (name = json_node_get_string (node)))
        return malformed (error, "SERVICE_REQUEST: a name is not a valid service name");
      for (guint j = 0; j < i; j++)
        if (g_str_equal (json_array_get_string_element (array, j), name))
          return malformed (error, "SERVICE_REQUEST: a name is repeated");
      g_strv_builder_add (builder, name);
    }
  return g_strv_builder_end (builder);
}

char *
cv_consent_build (gboolean accepted, const char *reason)
{
  g_autoptr (JsonObject) root = json_object_new ();

  json_object_set_boolean_member (root, "accepted", accepted);
  if (!accepted)
    json_object_set_string_member (root, "reason",
                                   reason != NULL ? reason : CV_CONSENT_REASON_DECLINED);
  return cv_control_to_string (root);
}

/* @reason: (out) (optional): the reason of a refusal, "declined" when it names none */
gboolean
cv_consent_parse (GBytes *json, gboolean *accepted, char **reason, GError **error)
{
  g_autoptr (JsonObject) root = cv_control_parse (json, error);
  const char *why = NULL;
  g_autoptr (GError) local_error = NULL;

  if (root == NULL || !cv_control_get_bool (root, "accepted", accepted, error))
    return FALSE;
  if (!*accepted)
    {
      why = cv_control_get_string (root, "reason", 32, FALSE, &local_error);
      if (local_error != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }
  if (reason != NULL)
    *reason = *accepted ? NULL : g_strdup (why != NULL ? why : CV_CONSENT_REASON_DECLINED);
  return TRUE;
}
