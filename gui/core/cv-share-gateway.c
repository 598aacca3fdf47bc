/* cv-share-gateway.c: which gateway "Share this computer" uses — the preferences, else
 * the system-wide provisioning file a helpdesk's installer put in /etc — and the
 * "share_gateway" member of provisioning files.  Never a gateway without its key: the
 * person sharing cannot judge a fingerprint, so the share side never trusts on first use. */
#include "cv-share-gateway.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "config/cv-agent-config.h"
#include "config/cv-config.h"

#include "cv-app-error.h"
#include "cv-machine-store.h"
#include "cv-machine.h"

/* Where a helpdesk's installer puts its default gateway: /etc on Linux; on Windows,
 * which has no /etc, etc\\culvert beside the installed app (culvert.nsi's SHARE_GATEWAY),
 * so that the file goes and comes with the installation. */
#define SYSTEM_PROVISIONING_FILE "/etc/culvert/share-gateway.culvert"

void
cv_share_gateway_free (CvShareGateway *gateway)
{
  if (gateway == NULL)
    return;
  g_free (gateway->address);
  g_free (gateway->fingerprint);
  g_free (gateway->origin);
  g_free (gateway);
}

/* The address and key, checked; @where names the source in the errors ("Preferences",
 * a file name). */
static CvShareGateway *
gateway_new (const char *address,
             const char *fingerprint,
             const char *where,
             const char *origin,
             GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autofree char *host = NULL;
  g_autofree char *normalized = NULL;
  CvShareGateway *gateway;
  guint16 port = 0;

  if (!cv_machine_parse_gateway (address, &host, &port, &local_error))
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID, _ ("%s: %s"), where,
                   local_error->message);
      return NULL;
    }
  if (fingerprint == NULL || *fingerprint == '\0')
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_UNTRUSTED,
                   _ ("%s gives the gateway for sharing without its key (fingerprint), so "
                      "Culvert cannot check that it is the right one and does not use it. Ask "
                      "your helpdesk for the gateway’s fingerprint."),
                   where);
      return NULL;
    }
  if (!cv_agent_config_parse_fingerprint (fingerprint, "fingerprint", &normalized, &local_error))
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID,
                   _ ("%s: the gateway’s fingerprint is not valid (%s). Ask your helpdesk for "
                      "it again."),
                   where, local_error->message);
      return NULL;
    }
  gateway = g_new0 (CvShareGateway, 1);
  /* Written out whole, so that what the session dials is what was checked. */
  gateway->address = strchr (host, ':') != NULL ? g_strdup_printf ("[%s]:%u", host, port)
                                                : g_strdup_printf ("%s:%u", host, port);
  gateway->fingerprint = g_steal_pointer (&normalized);
  gateway->origin = g_strdup (origin);
  return gateway;
}

CvShareGateway *
cv_share_gateway_read_file (GFile *file, gboolean *has_machine, GError **error)
{
  const CvConfigKey gateway_keys[] = {
    { "address", CV_CONFIG_STRING, TRUE, CV_CONFIG_BY_CALLER },
    { "fingerprint", CV_CONFIG_STRING, FALSE, CV_CONFIG_BY_CALLER },
  };
  g_autofree char *name = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (JsonObject) root = NULL;
  JsonObject *object = NULL;
  const char *address = NULL;
  const char *fingerprint = NULL;

  g_return_val_if_fail (G_IS_FILE (file), NULL);

  if (has_machine != NULL)
    *has_machine = FALSE;
  /* The same reading as a machine's import: one format, one set of checks. */
  root = cv_machine_store_read_provisioning (file, error);
  if (root == NULL)
    return NULL;
  name = g_file_get_parse_name (file);
  if (!cv_config_get_object (root, "share_gateway", "", FALSE, &object, &local_error)
      || (object != NULL
          && (!cv_config_read_object (object, "share_gateway", gateway_keys,
                                      G_N_ELEMENTS (gateway_keys), NULL, &local_error)
              || !cv_config_get_string (object, "address", "share_gateway", TRUE, &address,
                                        &local_error)
              || !cv_config_get_string (object, "fingerprint", "share_gateway", FALSE, &fingerprint,
                                        &local_error))))
    {
      cv_config_prefix_error (&local_error, name);
      g_set_error_literal (error, CV_APP_ERROR, CV_APP_ERROR_INVALID, local_error->message);
      return NULL;
    }
  if (has_machine != NULL)
    *has_machine = json_object_has_member (root, "machine");
  if (object == NULL)
    return NULL;
  return gateway_new (address, fingerprint, name, _ ("set by your administrator"), error);
}

static char *
system_file_path (void)
{
  const char *path = g_getenv ("CULVERT_SYSTEM_PROVISIONING");

  if (path != NULL && *path != '\0')
    return g_strdup (path);
#ifdef G_OS_WIN32
  {
    g_autofree char *top = g_win32_get_package_installation_directory_of_module (NULL);

    return g_build_filename (top, "etc", "culvert", "share-gateway.culvert", NULL);
  }
#else
  return g_strdup (SYSTEM_PROVISIONING_FILE);
#endif
}

/**
 * cv_share_gateway_lookup:
 * @settings: the app's settings (org.culvert.Culvert)
 *
 * Returns: (transfer full): the gateway, or NULL with CV_APP_ERROR_NO_GATEWAY (none set
 *   anywhere), _UNTRUSTED (no fingerprint) or _INVALID (a malformed value or file)
 */
CvShareGateway *
cv_share_gateway_lookup (GSettings *settings, GError **error)
{
  g_autofree char *address = NULL;
  g_autofree char *fingerprint = NULL;
  g_autofree char *path = NULL;
  g_autoptr (GFile) file = NULL;
  g_autoptr (GError) local_error = NULL;
  CvShareGateway *gateway;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  address = g_strstrip (g_settings_get_string (settings, "share-gateway-address"));
  fingerprint = g_strstrip (g_settings_get_string (settings, "share-gateway-fingerprint"));
  if (*address != '\0')
    return gateway_new (address, fingerprint, _ ("Preferences"), _ ("from your preferences"),
                        error);

  path = system_file_path ();
  file = g_file_new_for_path (path);
  if (!g_file_query_exists (file, NULL))
    {
      g_set_error_literal (error, CV_APP_ERROR, CV_APP_ERROR_NO_GATEWAY,
                           _ ("No gateway is set for sharing. Open the file your helpdesk gave "
                              "you, or set one in Preferences."));
      return NULL;
    }
  gateway = cv_share_gateway_read_file (file, NULL, &local_error);
  if (gateway == NULL && local_error == NULL)
    g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID,
                 _ ("%s, the file your administrator set up for sharing, names no gateway "
                    "(“share_gateway”). Ask your administrator, or set a gateway in "
                    "Preferences."),
                 path);
  else if (gateway == NULL)
    g_propagate_error (error, g_steal_pointer (&local_error));
  return gateway;
}

void
cv_share_gateway_save (const CvShareGateway *gateway, GSettings *settings)
{
  g_return_if_fail (gateway != NULL && G_IS_SETTINGS (settings));

  /* Both at once: a reader never sees the new address with the old key. */
  g_settings_delay (settings);
  g_settings_set_string (settings, "share-gateway-address", gateway->address);
  g_settings_set_string (settings, "share-gateway-fingerprint", gateway->fingerprint);
  g_settings_apply (settings);
}

gboolean
cv_share_gateway_import (GFile *file,
                         GSettings *settings,
                         CvShareGateway **imported,
                         gboolean *has_machine,
                         GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autoptr (CvShareGateway) gateway = NULL;

  g_return_val_if_fail (G_IS_FILE (file) && G_IS_SETTINGS (settings), FALSE);

  if (imported != NULL)
    *imported = NULL;
  gateway = cv_share_gateway_read_file (file, has_machine, &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if (gateway == NULL)
    return TRUE;
  cv_share_gateway_save (gateway, settings);
  g_free (gateway->origin);
  gateway->origin = g_strdup (_ ("from your preferences"));
  if (imported != NULL)
    *imported = g_steal_pointer (&gateway);
  return TRUE;
}

gboolean
cv_share_gateway_split (const CvShareGateway *gateway, char **host, guint16 *port, GError **error)
{
  g_return_val_if_fail (gateway != NULL, FALSE);
  return cv_machine_parse_gateway (gateway->address, host, port, error);
}
