/* test-connect-mappings.c: a connect agent's mappings as the app changes them — one whose
 * port is taken stays in "mappings" with its error until removed, and another on a free
 * port takes its place; a removed mapping's port is closed at once. */
#include "roles/cv-connect-agent.h"
#include "cv-test-util.h"

#include <string.h>

typedef struct {
  char *dir;
  CvConnectAgent *agent;
} Fixture;

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CvConnectConfig) config = cv_connect_config_new ();
  g_autoptr (GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("culvert-mappings-XXXXXX", &error);
  g_assert_no_error (error);
  /* Nothing listens at the gateway's port: the agent is never started here. */
  cv_agent_config_set_gateway (&config->agent, "127.0.0.1", 1,
                               "sha256:"
                               "0000000000000000000000000000000000000000000000000000000000000000");
  cv_agent_config_set_session (&config->agent, "s1");
  cv_agent_config_set_password (&config->agent, "connect secret");
  cv_agent_config_set_state_dir (&config->agent, fixture->dir);
  cv_connect_config_add_mapping (config, "127.0.0.1", 0, "127.0.0.1", 5900);
  fixture->agent = cv_connect_agent_new_from_config (config, NULL, &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  cv_connect_agent_stop (fixture->agent);
  g_assert_finalize_object (g_steal_pointer (&fixture->agent));
  cv_test_remove_tree (fixture->dir);
  g_free (fixture->dir);
}

static CvMapping *
mapping_at (Fixture *fixture, guint position)
{
  g_autoptr (CvMapping) mapping =
    g_list_model_get_item (cv_connect_agent_get_mappings (fixture->agent), position);

  g_assert_nonnull (mapping);
  return mapping; /* the agent keeps it */
}

static guint
n_mappings (Fixture *fixture)
{
  return g_list_model_get_n_items (cv_connect_agent_get_mappings (fixture->agent));
}

static gboolean
port_refuses (guint16 port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GError) error = NULL;

  g_socket_client_set_enable_proxy (client, FALSE);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  return connection == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
}

/* A taken port: the mapping stays in the list, not listening, with the reason; removed,
 * it is gone and the holder of the port is not disturbed; one on any port then works. */
static void
test_taken_port (Fixture *fixture, gconstpointer data)
{
  guint16 port;
  g_autoptr (GSocket) holder = cv_test_listen_loopback (&port);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvMapping) failed = NULL;
  CvMapping *replacement;

  g_assert_false (
    cv_connect_agent_add_mapping (fixture->agent, "127.0.0.1", port, "127.0.0.1", 22, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
  g_assert_cmpuint (n_mappings (fixture), ==, 2);
  failed = g_object_ref (mapping_at (fixture, 1));
  g_assert_false (cv_mapping_get_listening (failed));
  g_assert_error ((GError *) cv_mapping_get_error (failed), G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);

  cv_connect_agent_remove_mapping (fixture->agent, failed);
  g_assert_cmpuint (n_mappings (fixture), ==, 1);
  g_assert_true (mapping_at (fixture, 0) != failed);
  /* Removing what is not there changes nothing. */
  cv_connect_agent_remove_mapping (fixture->agent, failed);
  g_assert_cmpuint (n_mappings (fixture), ==, 1);
  /* The port's holder still has it. */
  g_assert_false (port_refuses (port));

  g_clear_error (&error);
  g_assert_true (
    cv_connect_agent_add_mapping (fixture->agent, "127.0.0.1", 0, "127.0.0.1", 22, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (n_mappings (fixture), ==, 2);
  replacement = mapping_at (fixture, 1);
  g_assert_true (cv_mapping_get_listening (replacement));
  g_assert_cmpuint (cv_mapping_get_bound_port (replacement), !=, 0);
  g_assert_cmpuint (cv_mapping_get_bound_port (replacement), !=, port);
  g_assert_finalize_object (g_steal_pointer (&failed));
}

/* A listening mapping removed: its port refuses connections at once, the others stay. */
static void
test_remove_listening (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CvMapping) first = g_object_ref (mapping_at (fixture, 0));
  g_autoptr (GError) error = NULL;
  guint16 first_port = cv_mapping_get_bound_port (first);
  guint16 second_port;

  g_assert_true (cv_mapping_get_listening (first));
  g_assert_true (
    cv_connect_agent_add_mapping (fixture->agent, "127.0.0.1", 0, "127.0.0.1", 80, &error));
  second_port = cv_mapping_get_bound_port (mapping_at (fixture, 1));
  g_assert_false (port_refuses (first_port));

  cv_connect_agent_remove_mapping (fixture->agent, first);
  g_assert_false (cv_mapping_get_listening (first));
  g_assert_true (port_refuses (first_port));
  g_assert_cmpuint (n_mappings (fixture), ==, 1);
  g_assert_cmpuint (cv_mapping_get_bound_port (mapping_at (fixture, 0)), ==, second_port);
  g_assert_false (port_refuses (second_port));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add ("/connect-mappings/taken-port", Fixture, NULL, fixture_set_up, test_taken_port,
              fixture_tear_down);
  g_test_add ("/connect-mappings/remove-listening", Fixture, NULL, fixture_set_up,
              test_remove_listening, fixture_tear_down);
  return g_test_run ();
}
