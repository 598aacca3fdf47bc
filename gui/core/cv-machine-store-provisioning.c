/* cv-machine-store-provisioning.c: provisioning files (.culvert) — a machine a helpdesk
 * hands out, without id, last use or password — read strictly and written. */
#include "cv-machine-store.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "config/cv-config.h"

#include "cv-app-error.h"
#include "cv-bounded-read.h"

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

/* A custom command is a program and its arguments, chosen by whoever wrote the file and run
 * on Connect: importing a file someone handed out must not run their code.  The services
 * stay, opening nothing until the person chooses how; the notice says which and what the
 * file wanted, so that whoever trusts it can type the command in themselves. */
static void
drop_custom_commands (CvMachine *machine, char **notice)
{
  GListModel *services = cv_machine_get_services (machine);
  g_autoptr (GString) dropped = g_string_new (NULL);
  guint n_dropped = 0;

  for (guint i = 0; i < g_list_model_get_n_items (services); i++)
    {
      g_autoptr (CvMachineService) service = g_list_model_get_item (services, i);
      const char *command = cv_machine_service_get_custom_command (service);

      if (command == NULL && cv_machine_service_get_launcher (service) != CV_LAUNCHER_CUSTOM)
        continue;
      if (command != NULL)
        {
          /* TRANSLATORS: one dropped command in a list: "Remote desktop: “xfreerdp …”" */
          g_string_append_printf (dropped, n_dropped == 0 ? _ ("%s: “%s”") : _ ("; %s: “%s”"),
                                  cv_service_preset_get_label (
                                    cv_machine_service_get_preset (service)),
                                  command);
          n_dropped++;
        }
      if (cv_machine_service_get_launcher (service) == CV_LAUNCHER_CUSTOM)
        cv_machine_service_set_launcher (service, CV_LAUNCHER_NONE);
      cv_machine_service_set_custom_command (service, NULL);
    }
  if (n_dropped == 0 || notice == NULL)
    return;
  *notice = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                          "The file asked to open a service with a command of "
                                          "its own (%s). Culvert runs no command from a file "
                                          "someone handed out: the service opens nothing until "
                                          "you choose how in “Open with”.",
                                          "The file asked to open services with commands of "
                                          "its own (%s). Culvert runs no command from a file "
                                          "someone handed out: those services open nothing "
                                          "until you choose how in “Open with”.",
                                          n_dropped),
                             dropped->str);
}

JsonObject *
cv_machine_store_read_provisioning (GFile *file, GError **error)
{
  const CvConfigKey keys[] = {
    { "culvert_provisioning", CV_CONFIG_UINT, TRUE, CV_CONFIG_BY_CALLER },
    { "machine", CV_CONFIG_OBJECT, FALSE, CV_CONFIG_BY_CALLER },
    /* A helpdesk's default gateway for sharing, read by cv_share_gateway_read_file (). */
    { "share_gateway", CV_CONFIG_OBJECT, FALSE, CV_CONFIG_BY_CALLER },
    { "password", CV_CONFIG_REFUSED, FALSE, CV_CONFIG_BY_CALLER, 0, 0, NULL, _ (password_refused) },
  };
  g_autofree char *name = NULL;
  g_autofree char *contents = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (JsonObject) root = NULL;
  guint version = 0;
  gsize len = 0;

  g_return_val_if_fail (G_IS_FILE (file), NULL);

  name = g_file_get_parse_name (file);
  if (!cv_read_bounded (file, CV_PROVISIONING_FILE_MAX_SIZE, &contents, &len, &local_error))
    {
      g_autofree char *limit = g_format_size_full (CV_PROVISIONING_FILE_MAX_SIZE,
                                                   G_FORMAT_SIZE_IEC_UNITS);

      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE))
        g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID,
                     _ ("%s is larger than a provisioning file can be (%s), so Culvert did not "
                        "read it. Choose the .culvert file your helpdesk gave you."),
                     name, limit);
      else
        g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_FAILED,
                     _ ("Culvert cannot read %s: %s. Check that the file is there and "
                        "readable."),
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
                              &local_error))
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
  return g_steal_pointer (&root);
}

CvMachine *
cv_machine_store_import (GFile *file, char **notice, GError **error)
{
  g_autofree char *name = NULL;
  g_autofree char *where = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (JsonObject) root = NULL;
  g_autoptr (CvMachine) machine = NULL;
  JsonObject *object = NULL;

  g_return_val_if_fail (G_IS_FILE (file), NULL);

  if (notice != NULL)
    *notice = NULL;
  root = cv_machine_store_read_provisioning (file, error);
  if (root == NULL)
    return NULL;
  name = g_file_get_parse_name (file);
  if (!cv_config_get_object (root, "machine", "", TRUE, &object, &local_error))
    {
      cv_config_prefix_error (&local_error, name);
      set_invalid (error, local_error);
      return NULL;
    }

  /* Whatever id the file may carry, an imported machine is a new one here. */
  json_object_remove_member (object, "id");
  json_object_remove_member (object, "last_used");
  where = g_strdup_printf ("%s: machine", name);
  machine = cv_machine_new_from_json (object, where, &local_error);
  if (machine == NULL)
    {
      set_invalid (error, local_error);
      return NULL;
    }
  drop_custom_commands (machine, notice);
  return g_steal_pointer (&machine);
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
