/* cv-machine-json.c: a machine as JSON, for the store and for provisioning files, read
 * strictly (unknown members refused with their name) with the engine's config reader. */
#include "cv-machine.h"

#include <glib/gi18n-lib.h>

#include "config/cv-config.h"
#include "transport/cv-identity.h"

#include "cv-app-error.h"

/* Only what is set is written, so that every machine reads back as it was, even one the
 * editor has not finished (the checks are cv_machine_check ()'s business). */
JsonObject *
cv_machine_to_json (CvMachine *self, gboolean for_export)
{
  JsonObject *object;
  JsonArray *services;
  GListModel *model;
  g_autofree char *gateway = NULL;

  g_return_val_if_fail (CV_IS_MACHINE (self), NULL);

  object = json_object_new ();
  if (!for_export)
    json_object_set_string_member (object, "id", cv_machine_get_id (self));
  if (cv_machine_get_name (self) != NULL)
    json_object_set_string_member (object, "name", cv_machine_get_name (self));
  gateway = cv_machine_dup_gateway (self);
  if (gateway != NULL)
    json_object_set_string_member (object, "gateway", gateway);
  if (cv_machine_get_web_fingerprint (self) != NULL)
    json_object_set_string_member (object, "web_fingerprint",
                                   cv_machine_get_web_fingerprint (self));
  /* Exported too: a helpdesk that hands out the key spares its customers the question. */
  if (cv_machine_get_fingerprint (self) != NULL)
    json_object_set_string_member (object, "gateway_fingerprint",
                                   cv_machine_get_fingerprint (self));
  if (cv_machine_get_session (self) != NULL)
    json_object_set_string_member (object, "session", cv_machine_get_session (self));
  if (!for_export && cv_machine_get_last_used (self) != 0)
    json_object_set_int_member (object, "last_used", cv_machine_get_last_used (self));

  services = json_array_new ();
  model = cv_machine_get_services (self);
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr (CvMachineService) service = g_list_model_get_item (model, i);

      json_array_add_object_element (services, cv_machine_service_to_json (service));
    }
  json_object_set_array_member (object, "services", services);
  return object;
}

/* A value's sentence, placed after its member's path as config errors are written. */
static gboolean
member_failed (GError **error, const char *key)
{
  g_prefix_error (error, "%s: ", key);
  return FALSE;
}

static gboolean
bad_key (GError **error, const char *key)
{
  g_set_error_literal (error, CV_APP_ERROR, CV_APP_ERROR_INVALID,
                       _ ("This is not a gateway key: write “sha256:” and 64 hexadecimal "
                          "digits, as the gateway’s administrator gave it."));
  return member_failed (error, key);
}

static gboolean
read_fields (CvMachine *self, JsonObject *object, GError **error)
{
  const char *name = NULL, *gateway = NULL, *fingerprint = NULL, *session = NULL;
  const char *web_fingerprint = NULL;
  guint last_used = 0;

  if (!cv_config_get_string (object, "name", "", FALSE, &name, error)
      || !cv_config_get_string (object, "gateway", "", FALSE, &gateway, error)
      || !cv_config_get_string (object, "gateway_fingerprint", "", FALSE, &fingerprint, error)
      || !cv_config_get_string (object, "web_fingerprint", "", FALSE, &web_fingerprint, error)
      || !cv_config_get_string (object, "session", "", FALSE, &session, error)
      || !cv_config_get_uint (object, "last_used", "", FALSE, 0, G_MAXUINT, &last_used, error))
    return FALSE;

  if (name != NULL && !cv_machine_check_name (name, error))
    return member_failed (error, "name");
  cv_machine_set_name (self, name);
  if (gateway != NULL)
    {
      g_autofree char *host = NULL;
      g_autofree char *web_path = NULL;
      gboolean web_tls;
      guint16 port;

      if (!cv_machine_parse_gateway_url (gateway, &host, &port, &web_path, &web_tls, error))
        return member_failed (error, "gateway");
      cv_machine_set_gateway (self, host, port);
      cv_machine_set_gateway_web (self, web_path, web_tls);
    }
  if (fingerprint != NULL)
    {
      g_autofree char *normal = cv_fingerprint_normalize (fingerprint, NULL);

      if (normal == NULL)
        return bad_key (error, "gateway_fingerprint");
      cv_machine_set_fingerprint (self, normal);
    }
  if (web_fingerprint != NULL)
    {
      g_autofree char *normal = cv_fingerprint_normalize (web_fingerprint, NULL);

      if (normal == NULL)
        return bad_key (error, "web_fingerprint");
      /* Only a wss:// URL has an outer TLS to pin. */
      if (!cv_machine_get_gateway_web_tls (self))
        {
          g_set_error_literal (error, CV_APP_ERROR, CV_APP_ERROR_INVALID,
                               _ ("A web server’s key goes only with a wss:// gateway. Remove it, "
                                  "or give the gateway as wss://…."));
          return member_failed (error, "web_fingerprint");
        }
      cv_machine_set_web_fingerprint (self, normal);
    }
  if (session != NULL && !cv_machine_check_session (session, error))
    return member_failed (error, "session");
  cv_machine_set_session (self, session);
  cv_machine_set_last_used (self, last_used);
  return TRUE;
}

static gboolean
read_services (CvMachine *self, JsonObject *object, GError **error)
{
  JsonArray *services = NULL;

  if (!cv_config_get_array (object, "services", "", FALSE, &services, error))
    return FALSE;
  for (guint i = 0; services != NULL && i < json_array_get_length (services); i++)
    {
      g_autofree char *path = cv_config_path_element ("services", i);
      g_autoptr (CvMachineService) service = NULL;
      JsonObject *member;

      if (!cv_config_node_get_object (json_array_get_element (services, i), path, &member, error))
        return FALSE;
      service = cv_machine_service_new_from_json (member, path, error);
      if (service == NULL)
        return FALSE;
      cv_machine_add_service (self, service);
    }
  return TRUE;
}

/**
 * cv_machine_new_from_json:
 * @where: (nullable): what every error starts with: the file, or the file and the
 *   machine's place in it ("machines.json: machines[2]")
 *
 * Structure errors (an unknown member, a wrong type) are %CV_CONFIG_ERROR and value
 * errors %CV_APP_ERROR_INVALID; both name the member.  A "password" member is refused.
 */
CvMachine *
cv_machine_new_from_json (JsonObject *object, const char *where, GError **error)
{
  const CvConfigKey keys[] = {
    { "id", CV_CONFIG_STRING, FALSE, CV_CONFIG_BY_CALLER },
    { "name", CV_CONFIG_STRING, FALSE, CV_CONFIG_BY_CALLER },
    { "gateway", CV_CONFIG_STRING, FALSE, CV_CONFIG_BY_CALLER },
    { "gateway_fingerprint", CV_CONFIG_STRING, FALSE, CV_CONFIG_BY_CALLER },
    { "web_fingerprint", CV_CONFIG_STRING, FALSE, CV_CONFIG_BY_CALLER },
    { "session", CV_CONFIG_STRING, FALSE, CV_CONFIG_BY_CALLER },
    { "last_used", CV_CONFIG_UINT, FALSE, CV_CONFIG_BY_CALLER },
    { "services", CV_CONFIG_ARRAY, FALSE, CV_CONFIG_BY_CALLER },
    { "password", CV_CONFIG_REFUSED, FALSE, CV_CONFIG_BY_CALLER, 0, 0, NULL,
      _ ("a provisioning file never holds a password. Remove it from the file: Culvert asks "
         "for the password when you connect and keeps it in your keyring.") },
  };
  g_autoptr (CvMachine) self = NULL;
  const char *id = NULL;

  g_return_val_if_fail (object != NULL, NULL);

  if (!cv_config_read_object (object, "", keys, G_N_ELEMENTS (keys), NULL, error)
      || !cv_config_get_string (object, "id", "", FALSE, &id, error))
    goto failed;
  if (id != NULL && !g_uuid_string_is_valid (id))
    {
      g_set_error_literal (error, CV_APP_ERROR, CV_APP_ERROR_INVALID,
                           _ ("This is not a machine id that Culvert made. Remove the member "
                              "to give the machine a new one."));
      member_failed (error, "id");
      goto failed;
    }
  self = g_object_new (CV_TYPE_MACHINE, "id", id, NULL);
  if (!read_fields (self, object, error) || !read_services (self, object, error))
    goto failed;
  return g_steal_pointer (&self);

failed:
  if (where != NULL && *where != '\0')
    g_prefix_error (error, "%s: ", where);
  return NULL;
}
