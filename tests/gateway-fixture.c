/* gateway-fixture.c: the gateway tests' fixture — a gateway, the agents' keys, the
 * engine's log lines, the contexts, the test cases.  The scripted agents that drive
 * it are in gateway-agents.c.
 *
 * A scripted agent does on the wire what a real one does, one step at a time and
 * no more: TCP, TLS 1.3 with the gateway's key pinned and its own key as client
 * certificate, a mux, and the control messages the test chooses; it records every
 * control message it receives.  Raw connections (TCP, no TLS) play what comes
 * before TLS, and tunnel halves.  Everything runs on the main thread, on its
 * default context or, for gateway_test_add_on_context() cases, on two private ones
 * (gateway_wait_until()); every wait is bounded.
 */
#include "gateway-fixture.h"

#include "auth/cv-password.h"
#include "transport/cv-tls.h"

#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>

/* Argon2id costs ~80 ms a hash: made once, shared by every session of every test. */
static char *share_hash;
static char *connect_hash;
/* Session "slow" has a connect password that takes five times as long to check (t=10
 * instead of 2, the same 64 MiB), for the test that races HELLOs against checks. */
#define SLOW_PASSES 10
static char slow_hash[crypto_pwhash_STRBYTES];

/* The gateway logs (g_message) when it turns a connection or a tunnel away, which the
 * tests here make it do: those lines are recorded for them to count.  A warning from
 * the engine fails the test at tear-down: turning an agent away is an ordinary
 * network event, not something that should never happen.  (A handler of its own for
 * the domain, since the test framework's default one reports every fatal message as
 * "Bail out!" before the fatal handler is asked.) */
#define ENGINE_DOMAIN "culvert-engine"

GPtrArray *gateway_warnings;
GPtrArray *gateway_refusals;
GPtrArray *gateway_log;

static void
on_engine_log (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
  if ((level & G_LOG_LEVEL_WARNING) != 0)
    {
      g_test_message ("%s warning: %s", domain, message);
      g_ptr_array_add (gateway_warnings, g_strdup (message));
      return;
    }
  g_ptr_array_add (gateway_log, g_strdup (message));
  if (strstr (message, ": refused: ") != NULL || strstr (message, ": tunnel refused: ") != NULL)
    g_ptr_array_add (gateway_refusals, g_strdup (message));
  g_log_default_handler (domain, level, message, data);
}

static gboolean
on_fatal_log (const char *domain, GLogLevelFlags level, const char *message, gpointer data)
{
  return !(g_strcmp0 (domain, ENGINE_DOMAIN) == 0 && (level & G_LOG_LEVEL_WARNING) != 0);
}

static void
assert_warnings_expected (void)
{
  for (guint i = 0; i < gateway_warnings->len; i++)
    g_test_fail_printf ("the gateway warned: %s", (const char *) gateway_warnings->pdata[i]);
}

guint
count_log_lines (const char *part)
{
  guint n = 0;

  for (guint i = 0; i < gateway_log->len; i++)
    if (strstr (gateway_log->pdata[i], part) != NULL)
      n++;
  return n;
}

guint
count_refusals (const char *text)
{
  guint n = 0;

  for (guint i = 0; i < gateway_refusals->len; i++)
    if (g_str_equal (gateway_refusals->pdata[i], text))
      n++;
  return n;
}

/* ---- fixture: a running gateway and the agents' keys -------------------- */

static const char *const identity_names[] = { "gateway", "share", "share2", "connect" };

/* The gateway's config: 127.0.0.1, any port; sessions s1 (unless @with_s1 is FALSE),
 * s2 and slow; @limits, the members of "limits" as JSON text (NULL for none). */
CvGatewayConfig *
make_config (Fixture *fixture, const char *limits, gboolean with_s1)
{
  return make_config_with_codes (fixture, limits, with_s1, "\"enabled\": true");
}

const char *
fixture_hash (gboolean share)
{
  return share ? share_hash : connect_hash;
}

CvGatewayConfig *
make_config_with_codes (Fixture *fixture, const char *limits, gboolean with_s1, const char *codes)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *s1 = NULL;
  g_autofree char *s2 = NULL;
  g_autofree char *json = NULL;
  CvGatewayConfig *config;

  s1 = g_strdup_printf ("{\"id\": \"s1\", \"name\": \"Session one\", "
                        "\"share_password_hash\": \"%s\", \"connect_password_hash\": \"%s\"},",
                        share_hash, connect_hash);
  s2 = g_strdup_printf ("{\"id\": \"s2\", \"share_password_hash\": \"%s\", "
                        "\"connect_password_hash\": \"%s\"}, "
                        "{\"id\": \"slow\", \"share_password_hash\": \"%s\", "
                        "\"connect_password_hash\": \"%s\"}",
                        share_hash, connect_hash, share_hash, slow_hash);
  /* Session codes on: the tests of codes need them, and the others never send a code. */
  json = g_strdup_printf ("{\"listen\": [\"127.0.0.1:1\"], \"state_dir\": \"%s\", "
                          "\"codes\": {%s}, "
                          "\"sessions\": [%s%s], \"limits\": {%s}}",
                          fixture->dir, codes, with_s1 ? s1 : "", s2, limits != NULL ? limits : "");
  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  config = cv_gateway_config_new_from_json (json_node_get_object (json_parser_get_root (parser)),
                                            NULL, &error);
  g_assert_no_error (error);
  /* A config refuses port 0, which in a file would be a mistake; here it is what
   * lets the kernel choose a free port, read back from the gateway. */
  g_assert_cmpuint (config->listeners->len, ==, 1);
  ((CvGatewayListener *) config->listeners->pdata[0])->port = 0;
  return config;
}

static CvIdentity *
make_identity (Fixture *fixture, const char *name)
{
  g_autoptr (GError) error = NULL;
  CvIdentity *identity = cv_identity_load_or_create (fixture->dir, name, name, NULL, &error);

  g_assert_no_error (error);
  return identity;
}

static void fixture_tear_down (Fixture *fixture, gconstpointer data);

/* For the cases added with gateway_test_add_on_context(): the gateway runs on
 * gateway_context and the agents on agent_context, pushed as thread-default for the
 * whole case; neither is the global default context, which nothing iterates. */
static GMainContext *gateway_context;
static GMainContext *agent_context;

gboolean
gateway_wait_until (gboolean (*condition) (gpointer), gpointer data, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  if (gateway_context == NULL)
    return cv_test_wait_until (condition, data, timeout_ms);
  while (!condition (data))
    {
      gboolean busy;

      if (g_get_monotonic_time () > deadline)
        return FALSE;
      busy = g_main_context_iteration (agent_context, FALSE);
      /* The gateway's context is iterated with the agents' popped: anything the
       * gateway starts on the thread-default context instead of its own lands on the
       * global default one. */
      g_main_context_pop_thread_default (agent_context);
      busy |= g_main_context_iteration (gateway_context, FALSE);
      g_main_context_push_thread_default (agent_context);
      assert_default_context_unused ();
      if (!busy)
        g_usleep (1000);
    }
  return TRUE;
}

/* Nothing is attached to the global default context: each source gets the next id
 * of its context, so a probe's id bounds every id given out there. */
void
assert_default_context_unused (void)
{
  GMainContext *global = g_main_context_default ();
  GSource *probe = g_idle_source_new ();
  guint last = g_source_attach (probe, global);

  g_source_destroy (probe);
  g_source_unref (probe);
  for (guint id = 1; id < last; id++)
    {
      GSource *source = g_main_context_find_source_by_id (global, id);

      if (source != NULL)
        g_error ("a source is attached to the global default context: %s",
                 g_source_get_name (source) != NULL ? g_source_get_name (source) : "(unnamed)");
    }
}

/* @data: the members of the config's "limits", as JSON text, or NULL */
static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  /* The test framework resets the fatal handler before each test. */
  g_test_log_set_fatal_handler (on_fatal_log, NULL);
  g_ptr_array_set_size (gateway_warnings, 0);
  g_ptr_array_set_size (gateway_refusals, 0);
  g_ptr_array_set_size (gateway_log, 0);
  fixture->dir = g_dir_make_tmp ("culvert-gateway-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->gateway_identity = make_identity (fixture, identity_names[0]);
  fixture->share_identity = make_identity (fixture, identity_names[1]);
  fixture->share2_identity = make_identity (fixture, identity_names[2]);
  fixture->connect_identity = make_identity (fixture, identity_names[3]);
  fixture->agents = g_ptr_array_new_with_free_func (agent_free);
  fixture->raws = g_ptr_array_new_with_free_func (raw_free);

  fixture->gateway = cv_gateway_new_with_context (make_config (fixture, data, TRUE),
                                                  fixture->gateway_identity, gateway_context);
  cv_gateway_start (fixture->gateway, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (cv_gateway_get_listen_ports (fixture->gateway)->len, ==, 1);
  fixture->port = g_array_index (cv_gateway_get_listen_ports (fixture->gateway), guint16, 0);
  g_assert_cmpuint (fixture->port, !=, 0);
}

static void
on_gateway_disposed (gpointer data, GObject *where_the_object_was)
{
  GThread **thread = data;

  *thread = g_thread_self ();
}

static gboolean
is_set (gpointer data)
{
  return *(gpointer *) data != NULL;
}

/* Shuts the gateway down and waits until it is gone: whatever it still holds
 * (password checks, joined tunnels, handshakes) must let go of it in bounded time,
 * and it must go on the main thread, where its sockets and links live. */
void
dispose_gateway (Fixture *fixture)
{
  CvGateway *gateway = g_steal_pointer (&fixture->gateway);
  GThread *disposed_on = NULL;

  cv_gateway_shutdown (gateway);
  g_object_weak_ref (G_OBJECT (gateway), on_gateway_disposed, &disposed_on);
  g_object_unref (gateway);
  g_assert_true (gateway_wait_until (is_set, &disposed_on, WAIT_MS));
  g_assert_true (disposed_on == g_thread_self ());
}

static void
fixture_set_up_on_context (Fixture *fixture, gconstpointer data)
{
  agent_context = g_main_context_new ();
  gateway_context = g_main_context_new ();
  /* The gateway is made and started with no context pushed: what it would wrongly
   * put on the thread-default one lands on the global default context. */
  fixture_set_up (fixture, data);
  g_main_context_push_thread_default (agent_context);
}

static void
fixture_tear_down_on_context (Fixture *fixture, gconstpointer data)
{
  /* The case itself stops and finalizes its gateway. */
  g_assert_null (fixture->gateway);
  fixture_tear_down (fixture, data);
  assert_default_context_unused ();
  g_main_context_pop_thread_default (agent_context);
  while (g_main_context_iteration (agent_context, FALSE))
    ;
  g_clear_pointer (&agent_context, g_main_context_unref);
  g_clear_pointer (&gateway_context, g_main_context_unref);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_pointer (&fixture->agents, g_ptr_array_unref);
  g_clear_pointer (&fixture->raws, g_ptr_array_unref);
  if (fixture->gateway != NULL)
    dispose_gateway (fixture);
  assert_warnings_expected ();
  g_clear_object (&fixture->gateway_identity);
  g_clear_object (&fixture->share_identity);
  g_clear_object (&fixture->share2_identity);
  g_clear_object (&fixture->connect_identity);
  /* The gateway writes one file to state_dir itself, its nameplates, once it gave out a
   * session code; else only the keys are there. */
  {
    g_autofree char *nameplates = g_build_filename (fixture->dir, "nameplates.json", NULL);

    g_unlink (nameplates);
  }
  for (guint i = 0; i < G_N_ELEMENTS (identity_names); i++)
    {
      g_autofree char *name = g_strconcat (identity_names[i], ".pem", NULL);
      g_autofree char *path = g_build_filename (fixture->dir, name, NULL);

      g_assert_cmpint (g_unlink (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (fixture->dir), ==, 0);
  g_free (fixture->dir);
}

void
gateway_test_init (int *argc, char ***argv)
{
  g_autoptr (GError) error = NULL;

  g_test_init (argc, argv, NULL);
  cv_tls_restrict_process_to_tls13 ();
  gateway_warnings = g_ptr_array_new_with_free_func (g_free);
  gateway_refusals = g_ptr_array_new_with_free_func (g_free);
  gateway_log = g_ptr_array_new_with_free_func (g_free);
  g_log_set_handler (ENGINE_DOMAIN, G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_FLAG_FATAL,
                     on_engine_log, NULL);

  share_hash = cv_password_hash (SHARE_PASSWORD, &error);
  g_assert_no_error (error);
  connect_hash = cv_password_hash (CONNECT_PASSWORD, &error);
  g_assert_no_error (error);
  g_assert_cmpint (sodium_init (), >=, 0);
  g_assert_cmpint (crypto_pwhash_str (slow_hash, CONNECT_PASSWORD, strlen (CONNECT_PASSWORD),
                                      SLOW_PASSES, crypto_pwhash_MEMLIMIT_INTERACTIVE),
                   ==, 0);
  g_assert_true (cv_password_hash_is_valid (slow_hash, NULL));
}

typedef struct {
  CvPasswordChecker *checker;
  guint n_waiting;
  guint n_running;
} ChecksWanted;

static gboolean
checks_are (gpointer data)
{
  ChecksWanted *wanted = data;

  return cv_password_checker_get_n_waiting (wanted->checker) == wanted->n_waiting
         && cv_password_checker_get_n_running (wanted->checker) == wanted->n_running;
}

/* Waits until the gateway's password checks are @n_waiting waiting and @n_running
 * running. */
void
wait_checks (Fixture *fixture, guint n_waiting, guint n_running)
{
  ChecksWanted wanted = { cv_gateway_get_password_checker (fixture->gateway), n_waiting,
                          n_running };

  g_assert_true (gateway_wait_until (checks_are, &wanted, WAIT_MS));
}

void
hold_checks (Fixture *fixture, gboolean hold)
{
  cv_password_checker_hold (cv_gateway_get_password_checker (fixture->gateway), hold);
}

/* @limits: the members of the config's "limits" for this case, as JSON text, or NULL */
void
gateway_test_add (const char *path, const char *limits, GatewayTestFunc func)
{
  g_test_add (path, Fixture, limits, fixture_set_up, func, fixture_tear_down);
}

/* A case whose gateway runs on a context of its own, not the thread-default one:
 * see gateway_wait_until(). */
void
gateway_test_add_on_context (const char *path, const char *limits, GatewayTestFunc func)
{
  g_test_add (path, Fixture, limits, fixture_set_up_on_context, func, fixture_tear_down_on_context);
}

GMainContext *
gateway_test_get_context (void)
{
  return gateway_context;
}

int
gateway_test_run (void)
{
  int status = g_test_run ();

  g_ptr_array_unref (gateway_warnings);
  g_ptr_array_unref (gateway_refusals);
  g_ptr_array_unref (gateway_log);
  g_free (share_hash);
  g_free (connect_hash);
  return status;
}
