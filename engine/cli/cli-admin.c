/* cli-admin.c: the running roles' admin sockets, where `culvert-cli status` reads them. */
#include "cli/cli-admin.h"

#include "roles/cv-agent-status.h"
#include "roles/cv-gateway-status.h"

#include <glib/gstdio.h>

char *
cv_cli_admin_socket_path (const char *state_dir,
                          const char *admin_socket,
                          gboolean off,
                          const char *role)
{
  g_autofree char *name = NULL;

  if (off)
    return NULL;
  if (admin_socket != NULL)
    return g_strdup (admin_socket);
  name = g_strconcat (role, ".sock", NULL);
  return g_build_filename (state_dir, name, NULL);
}

static CvAdminSocket *
start (const char *path, CvAdminSocketReport report, gpointer object)
{
  g_autoptr (CvAdminSocket) admin = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *dir = NULL;

  if (path == NULL)
    {
      g_info ("status: off (admin_socket is false)");
      return NULL;
    }
  dir = g_path_get_dirname (path);
  g_mkdir_with_parents (dir, 0700); /* a gateway with its own certificate may have none */
  admin = cv_admin_socket_new (report, g_object_ref (object), g_object_unref);
  if (!cv_admin_socket_listen (admin, path, &error))
    {
      /* Status is a convenience: the role itself runs on without it. */
      g_message ("status is off for this process: %s", error->message);
      return NULL;
    }
  g_info ("status: culvert-cli status --socket %s", path);
  return g_steal_pointer (&admin);
}

static JsonNode *
report_gateway (gpointer gateway)
{
  return cv_gateway_build_status (gateway);
}

static JsonNode *
report_share (gpointer agent)
{
  return cv_share_agent_build_status (agent);
}

static JsonNode *
report_connect (gpointer agent)
{
  return cv_connect_agent_build_status (agent);
}

CvAdminSocket *
cv_cli_admin_start_gateway (CvGateway *gateway, const CvGatewayConfig *config)
{
  g_autofree char *path = cv_cli_admin_socket_path (config->state_dir, config->admin_socket,
                                                    config->admin_socket_off, "gateway");

  return start (path, report_gateway, gateway);
}

CvAdminSocket *
cv_cli_admin_start_share (CvShareAgent *agent, const CvShareConfig *config)
{
  g_autofree char *path = cv_cli_admin_socket_path (config->agent.state_dir,
                                                    config->agent.admin_socket,
                                                    config->agent.admin_socket_off, "share");

  return start (path, report_share, agent);
}

CvAdminSocket *
cv_cli_admin_start_connect (CvConnectAgent *agent, const CvConnectConfig *config)
{
  g_autofree char *path = cv_cli_admin_socket_path (config->agent.state_dir,
                                                    config->agent.admin_socket,
                                                    config->agent.admin_socket_off, "connect");

  return start (path, report_connect, agent);
}

void
cv_cli_admin_stop (CvAdminSocket *admin)
{
  if (admin != NULL)
    cv_admin_socket_close (admin);
}
