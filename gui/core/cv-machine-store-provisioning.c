/* cv-machine-store-provisioning.c: provisioning files (.culvert) — a machine a helpdesk
 * hands out, without id, last use or password — read strictly and written. */
#include "cv-machine-store.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "config/cv-config.h"

#include "cv-app-error.h"

#define PROVISIONING_VERSION 1

static const char password_refused[] = N_ (
  "a provisioning file never holds a password. Remove it from the file: Culvert asks for "
  "the password when you connect and keeps it in your keyring.");

/* Errors from reading are about the file's contents, whatever layer found them. */
static void
set_invalid (GError **error, GError *cause)
{
  g_set_error_literal (error, CV_APP_ERROR, CV_APP_ERROR_INVALID, cause->message);
}

CvMachine *
cv_machine_store_import (GFile *file, GError **error)
{
  const CvConfigKey keys[] = {
    { "culvert_provisioning", CV_CONFIG_UINT, TRUE, CV_CONFIG_BY_CALLER },
    { "machine", CV_CONFIG_OBJECT, TRUE, CV_CONFIG_BY_CALLER },
    { "password", CV_CONFIG_REFUSED, FALSE, CV_CONFIG_BY_CALLER, 0, 0, NULL, _ (password_refused) },
  };
  g_autofree char *name = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *where = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (JsonObject) root = NULL;
  JsonObject *object = NULL;
  guint version = 0;
  gsize len = 0;

  g_return_val_if_fail (G_IS_FILE (file), NULL);

  name = g_file_get_parse_name (file);
  if (!g_file_load_contents (file, NULL, &contents, &len, NULL, &local_error))
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_FAILED,
                   _ ("Culvert cannot read %s: %s. Check that the file is there and readable."),
                   name, local_error->message);
      return NULL;
    }
  root = cv_config_load_data (contents, len, name, &local_error);
  if (root == NULL)
    {
      set_invalid (error, local_error);
      return NULL;
    }
  if (!cv_config_read_object (root, "", keys, G_N_ELEMENTS (keys), NULL, &local_error)
      || !cv_config_get_uint (root, "culvert_provisioning", "", TRUE, 0, G_MAXUINT, &version,
                              &local_error)
      || !cv_config_get_object (root, "machine", "", TRUE, &object, &local_error))
    {
      cv_config_prefix_error (&local_error, name);
      set_invalid (error, local_error);
      return NULL;
    }
  if (version != PROVISIONING_VERSION)
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID,
                   _ ("%s was made for another version of Culvert (provisioning format %u). Ask "
                      "for a file made for this one, or update Culvert."),
                   name, version);
      return NULL;
    }

  /* Whatever id the file may carry, an imported machine is a new one here. */
  json_object_remove_member (object, "id");
  json_object_remove_member (object, "last_used");
  where = g_strdup_printf ("%s: machine", name);
  {
    CvMachine *machine = cv_machine_new_from_json (object, where, &local_error);

    if (machine == NULL)
      set_invalid (error, local_error);
    return machine;
  }
}

gboolean
cv_machine_store_export (CvMachine *machine, GFile *file, GError **error)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autoptr (GError) local_error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *data = NULL;
  JsonObject *root;

  g_return_val_if_fail (CV_IS_MACHINE (machine), FALSE);
  g_return_val_if_fail (G_IS_FILE (file), FALSE);

  root = json_object_new ();
  json_object_set_int_member (root, "culvert_provisioning", PROVISIONING_VERSION);
  json_object_set_object_member (root, "machine", cv_machine_to_json (machine, TRUE));
  json_node_take_object (node, root);
  json_generator_set_root (generator, node);
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 2);
  text = json_generator_to_data (generator, NULL);
  data = g_strconcat (text, "\n", NULL);

  if (!g_file_replace_contents (file, data, strlen (data), NULL, FALSE, G_FILE_CREATE_NONE, NULL,
                                NULL, &local_error))
    {
      g_autofree char *name = g_file_get_parse_name (file);

      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_FAILED,
                   _ ("Culvert could not write %s: %s. Choose another folder, or free some "
                      "space."),
                   name, local_error->message);
      return FALSE;
    }
  return TRUE;
}
