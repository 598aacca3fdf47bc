/* test-embedded-gateway.c: "Run a gateway on this computer" — the engine's gateway in-process
 * on 127.0.0.1, serving a session it made, to a real share agent and a real connect agent
 * of the engine that log in with its generated passwords; its sessions and key kept across
 * restarts, hashes only on disk; a taken port and a broken file in words. */
#include "cv-app-error.h"
#include "cv-app-test.h"
#include "cv-app-test-net.h"
#include "cv-embedded-gateway.h"

#include "auth/cv-password.h"
#include "roles/cv-connect-agent.h"
#include "transport/cv-tls.h"

#include <glib/gstdio.h>
#include <string.h>

#define PAYLOAD_SIZE (1024 * 1024)

typedef struct {
  char *dir;
  CvEmbeddedGateway *gateway;
} Fixture;

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("culvert-embedded-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->gateway = cv_embedded_gateway_new (fixture->dir);
  cv_embedded_gateway_set_listen_host (fixture->gateway, "127.0.0.1");
  cv_embedded_gateway_set_listen_port (fixture->gateway, 0);
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  if (fixture->gateway != NULL)
    {
      cv_embedded_gateway_stop (fixture->gateway);
      g_assert_finalize_object (g_steal_pointer (&fixture->gateway));
    }
  remove_tree (fixture->dir);
  g_free (fixture->dir);
}

/* ---- the agents ---------------------------------------------------------- */

static CvShareAgent *
make_share_agent (Fixture *fixture,
                  CvEmbeddedSession *session,
                  const char *password,
                  guint16 target)
{
  return cv_app_test_share_agent_new (fixture->dir,
                                      cv_embedded_gateway_get_fingerprint (fixture->gateway),
                                      cv_embedded_gateway_get_bound_port (fixture->gateway),
                                      cv_embedded_session_get_id (session), password, target);
}

static CvConnectAgent *
make_connect_agent (Fixture *fixture, CvEmbeddedSession *session, guint16 target)
{
  g_autoptr (CvConnectConfig) config = cv_connect_config_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *state_dir = g_build_filename (fixture->dir, "connect-agent", NULL);
  CvConnectAgent *agent;

  cv_agent_config_set_gateway (&config->agent, "127.0.0.1",
                               cv_embedded_gateway_get_bound_port (fixture->gateway),
                               cv_embedded_gateway_get_fingerprint (fixture->gateway));
  cv_agent_config_set_session (&config->agent, cv_embedded_session_get_id (session));
  cv_agent_config_set_password (&config->agent, cv_embedded_session_get_connect_password (session));
  cv_agent_config_set_name (&config->agent, "test-connect");
  cv_agent_config_set_state_dir (&config->agent, state_dir);
  cv_connect_config_add_mapping (config, "127.0.0.1", 0, "127.0.0.1", target);
  agent = cv_connect_agent_new_from_config (config, NULL, &error);
  g_assert_no_error (error);
  return agent;
}

static guint16
mapped_port (CvConnectAgent *agent)
{
  g_autoptr (CvMapping) mapping = g_list_model_get_item (cv_connect_agent_get_mappings (agent), 0);

  return cv_mapping_get_bound_port (mapping);
}

static gboolean
share_is_online (gpointer data)
{
  return cv_connect_agent_get_share_online (CV_CONNECT_AGENT (data));
}

static gboolean
agent_is_online (gpointer data)
{
  return cv_agent_link_get_state (CV_AGENT_LINK (data)) == CV_AGENT_LINK_STATE_ONLINE;
}

static gboolean
agent_is_refused (gpointer data)
{
  return cv_agent_link_get_state (CV_AGENT_LINK (data)) == CV_AGENT_LINK_STATE_REFUSED;
}

typedef struct {
  CvEmbeddedGateway *gateway;
  guint n;
} AgentsWanted;

static gboolean
has_n_agents (gpointer data)
{
  AgentsWanted *wanted = data;

  return g_list_model_get_n_items (cv_embedded_gateway_get_agents (wanted->gateway)) == wanted->n;
}

static void
wait_agents (CvEmbeddedGateway *gateway, guint n)
{
  AgentsWanted wanted = { gateway, n };
  g_autofree char *what = g_strdup_printf ("%u agents in the embedded gateway's list", n);

  cv_app_test_net_wait (has_n_agents, &wanted, CV_APP_TEST_NET_WAIT_MS, what);
}

static CvEmbeddedAgent *
find_agent (CvEmbeddedGateway *gateway, const char *role)
{
  GListModel *agents = cv_embedded_gateway_get_agents (gateway);

  for (guint i = 0; i < g_list_model_get_n_items (agents); i++)
    {
      g_autoptr (CvEmbeddedAgent) agent = g_list_model_get_item (agents, i);

      if (g_str_equal (cv_embedded_agent_get_role (agent), role))
        return agent; /* the list keeps it */
    }
  return NULL;
}

static char *
read_sessions_file (Fixture *fixture)
{
  g_autofree char *path = g_build_filename (fixture->dir, "sessions.json", NULL);
  g_autoptr (GError) error = NULL;
  char *contents = NULL;
  GStatBuf buf;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_stat (path, &buf), ==, 0);
  g_assert_cmpint (buf.st_mode & 0777, ==, 0600);
  return contents;
}

/* ---- the cases ----------------------------------------------------------- */

/* Started, a session added while running, both agents through it, data both ways; the
 * agents list and the session's presence; removing the session disconnects them. */
static void
test_serve (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CvIdentity) key = NULL;
  g_autoptr (CvEmbeddedSession) session = NULL;
  g_autofree char *share_password = NULL;
  g_autofree char *contents = NULL;
  guint16 target = 0;
  GSocketService *service = cv_app_test_checksum_service_new (&target);
  CvShareAgent *share;
  CvConnectAgent *connect;
  CvEmbeddedAgent *agent;

  g_assert_true (cv_embedded_gateway_start (fixture->gateway, &error));
  g_assert_no_error (error);
  g_assert_true (cv_embedded_gateway_get_running (fixture->gateway));
  g_assert_cmpuint (cv_embedded_gateway_get_bound_port (fixture->gateway), !=, 0);
  g_assert_null (cv_embedded_gateway_get_error (fixture->gateway));
  /* The key it shows is the one in its state dir. */
  key = cv_identity_load (fixture->dir, "gateway", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cv_embedded_gateway_get_fingerprint (fixture->gateway), ==,
                   cv_identity_get_fingerprint (key));

  session = g_object_ref (cv_embedded_gateway_add_session (fixture->gateway, "office", &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (cv_embedded_gateway_get_sessions (fixture->gateway)),
                    ==, 1);
  g_assert_nonnull (cv_embedded_session_get_share_password (session));
  g_assert_nonnull (cv_embedded_session_get_connect_password (session));
  g_assert_cmpstr (cv_embedded_session_get_share_password (session), !=,
                   cv_embedded_session_get_connect_password (session));
  share_password = g_strdup (cv_embedded_session_get_share_password (session));

  /* The file holds the hashes, never the passwords. */
  contents = read_sessions_file (fixture);
  g_assert_nonnull (strstr (contents, "\"office\""));
  g_assert_nonnull (strstr (contents, "$argon2id$"));
  g_assert_null (strstr (contents, share_password));
  g_assert_null (strstr (contents, cv_embedded_session_get_connect_password (session)));

  share = make_share_agent (fixture, session, share_password, target);
  connect = make_connect_agent (fixture, session, target);
  cv_share_agent_start (share);
  cv_connect_agent_start (connect);
  cv_app_test_net_wait (share_is_online, connect, CV_APP_TEST_NET_WAIT_MS,
                        "the connect agent to see the share agent online");
  g_assert_true (cv_app_test_transfer_finish (cv_app_test_transfer_start (mapped_port (connect),
                                                                          PAYLOAD_SIZE, 7),
                                              &error));
  g_assert_no_error (error);

  /* The agents list: both, with their names and session; the session's presence. */
  wait_agents (fixture->gateway, 2);
  agent = find_agent (fixture->gateway, "share");
  g_assert_nonnull (agent);
  g_assert_cmpstr (cv_embedded_agent_get_name (agent), ==, "test-share");
  g_assert_cmpstr (cv_embedded_agent_get_session (agent), ==, "office");
  g_assert_nonnull (strstr (cv_embedded_agent_get_address (agent), "127.0.0.1"));
  agent = find_agent (fixture->gateway, "connect");
  g_assert_nonnull (agent);
  g_assert_cmpstr (cv_embedded_agent_get_name (agent), ==, "test-connect");
  g_assert_cmpstr (cv_embedded_agent_get_session (agent), ==, "office");
  g_assert_cmpuint (cv_embedded_gateway_get_n_links (fixture->gateway), ==, 2);
  g_assert_true (cv_embedded_session_get_share_online (session));
  g_assert_cmpuint (cv_embedded_session_get_n_connect_agents (session), ==, 1);

  /* Removed: both are logged out and cannot come back in. */
  g_assert_true (cv_embedded_gateway_remove_session (fixture->gateway, session, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (g_list_model_get_n_items (cv_embedded_gateway_get_sessions (fixture->gateway)),
                    ==, 0);
  cv_app_test_net_wait (agent_is_refused, cv_share_agent_get_link (share), CV_APP_TEST_NET_WAIT_MS,
                        "the share agent to be refused");
  cv_app_test_net_wait (agent_is_refused, cv_connect_agent_get_link (connect),
                        CV_APP_TEST_NET_WAIT_MS, "the connect agent to be refused");
  wait_agents (fixture->gateway, 0);
  g_assert_false (cv_embedded_session_get_share_online (session));
  g_clear_pointer (&contents, g_free);
  contents = read_sessions_file (fixture);
  g_assert_null (strstr (contents, "office"));

  cv_connect_agent_stop (connect);
  cv_share_agent_stop (share);
  g_object_unref (connect);
  g_object_unref (share);
  cv_app_test_checksum_service_free (service);
}

/* A new object on the same state dir: the same key, the same sessions (their hashes still
 * take the passwords given out before), no password kept anywhere. */
static void
test_restart (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CvEmbeddedGateway) again = NULL;
  g_autoptr (CvEmbeddedSession) loaded = NULL;
  g_autofree char *fingerprint = NULL;
  g_autofree char *share_password = NULL;
  CvEmbeddedSession *session;
  CvShareAgent *share;

  g_assert_true (cv_embedded_gateway_start (fixture->gateway, &error));
  g_assert_no_error (error);
  fingerprint = g_strdup (cv_embedded_gateway_get_fingerprint (fixture->gateway));
  g_assert_nonnull (fingerprint);
  session = cv_embedded_gateway_add_session (fixture->gateway, "lab", &error);
  g_assert_no_error (error);
  g_assert_nonnull (cv_embedded_gateway_add_session (fixture->gateway, "desk", &error));
  g_assert_no_error (error);
  share_password = g_strdup (cv_embedded_session_get_share_password (session));
  cv_embedded_session_forget_passwords (session);
  g_assert_null (cv_embedded_session_get_share_password (session));
  g_assert_null (cv_embedded_session_get_connect_password (session));
  cv_embedded_gateway_stop (fixture->gateway);
  g_assert_false (cv_embedded_gateway_get_running (fixture->gateway));
  g_assert_cmpuint (cv_embedded_gateway_get_bound_port (fixture->gateway), ==, 0);
  g_assert_finalize_object (g_steal_pointer (&fixture->gateway));

  again = cv_embedded_gateway_new (fixture->dir);
  g_assert_null (cv_embedded_gateway_get_fingerprint (again));
  g_assert_true (cv_embedded_gateway_load (again, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (cv_embedded_gateway_get_fingerprint (again), ==, fingerprint);
  g_assert_cmpuint (g_list_model_get_n_items (cv_embedded_gateway_get_sessions (again)), ==, 2);
  loaded = g_list_model_get_item (cv_embedded_gateway_get_sessions (again), 0);
  g_assert_cmpstr (cv_embedded_session_get_id (loaded), ==, "lab");
  g_assert_null (cv_embedded_session_get_share_password (loaded));

  /* Served again: the old share password still logs in. */
  cv_embedded_gateway_set_listen_host (again, "127.0.0.1");
  cv_embedded_gateway_set_listen_port (again, 0);
  g_assert_true (cv_embedded_gateway_start (again, &error));
  g_assert_no_error (error);
  fixture->gateway = g_steal_pointer (&again);
  share = make_share_agent (fixture, loaded, share_password, 1);
  cv_share_agent_start (share);
  cv_app_test_net_wait (agent_is_online, cv_share_agent_get_link (share), CV_APP_TEST_NET_WAIT_MS,
                        "the share agent to log in to the restarted gateway");
  wait_agents (fixture->gateway, 1);
  cv_share_agent_stop (share);
  g_object_unref (share);
}

/* A port that is taken: a sentence naming it, in "error"; a free one then works. */
static void
test_port_taken (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  guint16 port;
  g_autoptr (GSocket) holder = cv_app_test_hold_port (&port);
  g_autofree char *port_text = g_strdup_printf ("%u", port);

  cv_embedded_gateway_set_listen_port (fixture->gateway, port);
  g_assert_false (cv_embedded_gateway_start (fixture->gateway, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE);
  g_test_message ("port taken: %s", error->message);
  g_assert_nonnull (strstr (error->message, port_text));
  g_assert_nonnull (strstr (error->message, "Choose another port"));
  g_assert_nonnull (cv_embedded_gateway_get_error (fixture->gateway));
  g_assert_cmpstr (cv_embedded_gateway_get_error (fixture->gateway)->message, ==, error->message);
  g_assert_false (cv_embedded_gateway_get_running (fixture->gateway));
  g_assert_cmpuint (cv_embedded_gateway_get_bound_port (fixture->gateway), ==, 0);
  /* The key was made all the same: it can be read out before the port is sorted out. */
  g_assert_nonnull (cv_embedded_gateway_get_fingerprint (fixture->gateway));

  g_clear_error (&error);
  cv_embedded_gateway_set_listen_port (fixture->gateway, 0);
  g_assert_true (cv_embedded_gateway_start (fixture->gateway, &error));
  g_assert_no_error (error);
  g_assert_null (cv_embedded_gateway_get_error (fixture->gateway));
}

/* A sessions file others may read, or one that is broken: an error that names it. */
static void
test_bad_file (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *path = g_build_filename (fixture->dir, "sessions.json", NULL);

  g_assert_true (g_file_set_contents_full (path, "{\"sessions\": [{\"id\": \"x\"}]}", -1,
                                           G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error));
  g_assert_false (cv_embedded_gateway_load (fixture->gateway, &error));
  g_assert_nonnull (error);
  g_test_message ("broken file: %s", error->message);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, "share_password_hash"));
  /* Adding a session does not overwrite what could not be read. */
  g_clear_error (&error);
  g_assert_null (cv_embedded_gateway_add_session (fixture->gateway, "y", &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  g_assert_true (g_file_set_contents_full (path, "{\"sessions\": []}", -1,
                                           G_FILE_SET_CONTENTS_CONSISTENT, 0644, &error));
  g_assert_false (cv_embedded_gateway_load (fixture->gateway, &error));
  g_test_message ("readable file: %s", error->message);
  g_assert_nonnull (strstr (error->message, "chmod 600"));
}

/* Ids are checked; the share command is the CLI's, with the password until forgotten. */
static void
test_share_command (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *command = NULL;
  g_autofree char *expected = NULL;
  CvEmbeddedSession *session;

  g_assert_null (cv_embedded_gateway_add_session (fixture->gateway, "two words", &error));
  g_assert_nonnull (error);
  g_test_message ("bad id: %s", error->message);
  g_clear_error (&error);
  session = cv_embedded_gateway_add_session (fixture->gateway, "front-desk", &error);
  g_assert_no_error (error);
  g_assert_null (cv_embedded_gateway_add_session (fixture->gateway, "front-desk", &error));
  g_assert_nonnull (strstr (error->message, "already"));
  g_clear_error (&error);

  g_assert_true (cv_embedded_gateway_start (fixture->gateway, &error));
  command = cv_embedded_gateway_dup_share_command (fixture->gateway, session, "127.0.0.1:5901");
  expected = g_strdup_printf ("CULVERT_PASSWORD='%s' culvert-cli share --gateway 127.0.0.1:%u "
                              "--fingerprint %s --session front-desk --allow 127.0.0.1:5901",
                              cv_embedded_session_get_share_password (session),
                              cv_embedded_gateway_get_bound_port (fixture->gateway),
                              cv_embedded_gateway_get_fingerprint (fixture->gateway));
  g_assert_cmpstr (command, ==, expected);
  cv_secret_free (g_steal_pointer (&command));
  g_free (g_steal_pointer (&expected));

  cv_embedded_session_forget_passwords (session);
  command = cv_embedded_gateway_dup_share_command (fixture->gateway, session, NULL);
  g_assert_null (strstr (command, "CULVERT_PASSWORD"));
  g_assert_nonnull (strstr (command, "--allow 127.0.0.1:5900 --password-stdin"));
  cv_secret_free (g_steal_pointer (&command));

  /* Listening on every network: the command names an address others can dial. */
  cv_embedded_gateway_stop (fixture->gateway);
  cv_embedded_gateway_set_listen_host (fixture->gateway, "0.0.0.0");
  cv_embedded_gateway_set_listen_port (fixture->gateway, 8443);
  command = cv_embedded_gateway_dup_share_command (fixture->gateway, session, NULL);
  g_test_message ("on every network: %s", command);
  g_assert_null (strstr (command, "0.0.0.0"));
  g_assert_null (strstr (command, "--gateway 127."));
  g_assert_nonnull (strstr (command, ":8443 --fingerprint"));
  cv_secret_free (g_steal_pointer (&command));
}

typedef struct {
  CvEmbeddedSession *session;
  GError *error;
  gboolean done;
  guint ticks_when_done;
} Added;

static void
on_added (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Added *added = user_data;

  added->session = cv_embedded_gateway_add_session_finish (CV_EMBEDDED_GATEWAY (source), result,
                                                           &added->error);
  added->done = TRUE;
}

static gboolean
is_added (gpointer data)
{
  return ((Added *) data)->done;
}

static gboolean
count_tick (gpointer data)
{
  (*(guint *) data)++;
  return G_SOURCE_CONTINUE;
}

/* The passwords are hashed on a thread: the main loop goes on meanwhile (a 5 ms timer keeps
 * firing), and the session comes back added, saved and served.  Cancelled, nothing is
 * added; two adds of one name, one wins. */
static void
test_add_session_async (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autofree char *path = g_build_filename (fixture->dir, "sessions.json", NULL);
  g_autofree char *contents = NULL;
  Added added = { 0 }, cancelled = { 0 }, first = { 0 }, second = { 0 };
  guint ticks = 0;
  guint timer;

  g_assert_true (cv_embedded_gateway_start (fixture->gateway, &error));
  g_assert_no_error (error);
  timer = g_timeout_add (5, count_tick, &ticks);
  cv_embedded_gateway_add_session_async (fixture->gateway, "lab", NULL, on_added, &added);
  /* Nothing yet: the hashing has only started. */
  g_assert_false (added.done);
  g_assert_cmpuint (g_list_model_get_n_items (cv_embedded_gateway_get_sessions (fixture->gateway)),
                    ==, 0);
  cv_app_test_wait (is_added, &added, "the session to be added");
  g_source_remove (timer);
  g_test_message ("the timer fired %u times while hashing", ticks);
  g_assert_cmpuint (ticks, >=, 3);
  g_assert_no_error (added.error);
  g_assert_nonnull (added.session);
  g_assert_cmpstr (cv_embedded_session_get_id (added.session), ==, "lab");
  g_assert_nonnull (cv_embedded_session_get_share_password (added.session));
  g_assert_cmpuint (g_list_model_get_n_items (cv_embedded_gateway_get_sessions (fixture->gateway)),
                    ==, 1);
  g_assert_true (g_file_get_contents (path, &contents, NULL, &error));
  g_assert_nonnull (strstr (contents, "\"lab\""));
  g_assert_null (strstr (contents, cv_embedded_session_get_share_password (added.session)));
  g_clear_object (&added.session);

  /* Cancelled while hashing: not added, not saved. */
  cv_embedded_gateway_add_session_async (fixture->gateway, "gone", cancellable, on_added,
                                         &cancelled);
  g_cancellable_cancel (cancellable);
  cv_app_test_wait (is_added, &cancelled, "the cancelled add to finish");
  g_assert_error (cancelled.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_null (cancelled.session);
  g_clear_error (&cancelled.error);
  g_assert_cmpuint (g_list_model_get_n_items (cv_embedded_gateway_get_sessions (fixture->gateway)),
                    ==, 1);
  g_clear_pointer (&contents, g_free);
  g_assert_true (g_file_get_contents (path, &contents, NULL, &error));
  g_assert_null (strstr (contents, "gone"));

  /* A name taken at the start is refused at once; one taken while hashing, at the end. */
  cv_embedded_gateway_add_session_async (fixture->gateway, "front", NULL, on_added, &first);
  cv_embedded_gateway_add_session_async (fixture->gateway, "front", NULL, on_added, &second);
  cv_app_test_wait (is_added, &first, "the first add");
  cv_app_test_wait (is_added, &second, "the second add");
  {
    /* Both hash on worker threads: either may finish first (under ASan the second often
     * does), and exactly one gets the name. */
    Added *won = first.session != NULL ? &first : &second;
    Added *lost = won == &first ? &second : &first;

    g_assert_no_error (won->error);
    g_assert_nonnull (won->session);
    g_assert_null (lost->session);
    g_assert_error (lost->error, CV_APP_ERROR, CV_APP_ERROR_INVALID);
    g_assert_nonnull (strstr (lost->error->message, "already serves"));
    g_clear_error (&lost->error);
    g_clear_object (&won->session);
  }
  g_assert_cmpuint (g_list_model_get_n_items (cv_embedded_gateway_get_sessions (fixture->gateway)),
                    ==, 2);
  second.done = FALSE;
  cv_embedded_gateway_add_session_async (fixture->gateway, "front", NULL, on_added, &second);
  g_assert_false (second.done); /* not called back from inside the call */
  cv_app_test_wait (is_added, &second, "the add of a taken name");
  g_assert_error (second.error, CV_APP_ERROR, CV_APP_ERROR_INVALID);
  g_clear_error (&second.error);
}

int
main (int argc, char *argv[])
{
  char *dir = cv_app_test_init (&argc, &argv);

  cv_tls_restrict_process_to_tls13 ();
  g_test_add ("/embedded-gateway/serve", Fixture, NULL, fixture_set_up, test_serve,
              fixture_tear_down);
  g_test_add ("/embedded-gateway/restart", Fixture, NULL, fixture_set_up, test_restart,
              fixture_tear_down);
  g_test_add ("/embedded-gateway/port-taken", Fixture, NULL, fixture_set_up, test_port_taken,
              fixture_tear_down);
  g_test_add ("/embedded-gateway/bad-file", Fixture, NULL, fixture_set_up, test_bad_file,
              fixture_tear_down);
  g_test_add ("/embedded-gateway/share-command", Fixture, NULL, fixture_set_up, test_share_command,
              fixture_tear_down);
  g_test_add ("/embedded-gateway/add-session-async", Fixture, NULL, fixture_set_up,
              test_add_session_async, fixture_tear_down);
  return cv_app_test_finish (dir, g_test_run ());
}
