/* cli-init.c: `culvert-cli init` — a gateway, share and connect config that work together,
 * written in one go: fresh passwords and their hashes, the password files, and the
 * gateway's key made now so that the agents' configs can pin its fingerprint.
 *
 * Everything is checked before anything is written: the flags (as the configs read them)
 * and that none of the files exists; it never overwrites.  Exit codes: 0 when all is
 * written, 1 when something could not be made or written, 2 for a bad command line or
 * a file that exists already.
 */
#include "cli/cli-init.h"

#include "auth/cv-password.h"
#include "cli/cli-log.h"
#include "config/cv-agent-config.h"
#include "config/cv-gateway-config.h"
#include "roles/cv-agent-context.h"
#include "roles/cv-gateway.h"
#include "transport/cv-identity.h"
#include "wire/cv-host-port.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>

#ifdef G_OS_UNIX
#include <unistd.h>
#else
#include <io.h>
#endif

#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

#define EXIT_FAILED 1
#define EXIT_USAGE 2

#define DEFAULT_DIR "culvert"
#define DEFAULT_GATEWAY "127.0.0.1:8443"
#define DEFAULT_SESSION "demo"
#define DEFAULT_ALLOW "localhost:8000"
#define DEFAULT_MAPPING "8080:localhost:8000"

/* The names init writes in its directory; the configs name the others relatively, so the
 * directory may be moved as a whole. */
enum {
  GATEWAY_JSON,
  SHARE_JSON,
  CONNECT_JSON,
  SHARE_PASSWORD,
  CONNECT_PASSWORD,
  N_FILES
};

static const char *const file_names[N_FILES] = {
  "gateway.json", "share.json", "connect.json", "share.password", "connect.password",
};

/* The state dirs are init's too: a gateway key left from another run would not be the
 * one it pins. */
static const char *const state_dir_names[] = { "gateway-state", "share-state", "connect-state" };

typedef struct {
  char *dir;
  char *paths[N_FILES];
  char *gateway_host; /* as the agents dial it */
  guint16 gateway_port;
  char *listen; /* as the gateway listens */
  char *texts[N_FILES];
  char *fingerprint;
} Init;

static void
init_clear (Init *init)
{
  g_free (init->dir);
  for (guint i = 0; i < N_FILES; i++)
    {
      g_free (init->paths[i]);
      if (init->texts[i] != NULL)
        sodium_memzero (init->texts[i], strlen (init->texts[i]));
      g_free (init->texts[i]);
    }
  g_free (init->gateway_host);
  g_free (init->listen);
  g_free (init->fingerprint);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Init, init_clear)

/* ssh's -L: split as `connect -L` does; a bare local port is spelt out as the loopback
 * address it means in the config, so that the summary says it. */
static gboolean
split_mapping (const char *text, char **listen, char **target, GError **error)
{
  if (!cv_host_port_split_forward (text, listen, target, error))
    return FALSE;
  if (strchr (*listen, ':') == NULL)
    {
      char *port = *listen;

      *listen = g_strconcat ("127.0.0.1:", port, NULL);
      g_free (port);
    }
  return TRUE;
}

static char *
to_json (JsonBuilder *builder)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = json_builder_get_root (builder);
  g_autofree char *text = NULL;

  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 2);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  return g_strconcat (text, "\n", NULL);
}

static void
add_string (JsonBuilder *builder, const char *key, const char *value)
{
  json_builder_set_member_name (builder, key);
  json_builder_add_string_value (builder, value);
}

static char *
gateway_json (Init *init, const char *session, const char *share_hash, const char *connect_hash)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "listen");
  json_builder_begin_array (builder);
  json_builder_add_string_value (builder, init->listen);
  json_builder_end_array (builder);
  add_string (builder, "state_dir", state_dir_names[0]);
  json_builder_set_member_name (builder, "sessions");
  json_builder_begin_array (builder);
  json_builder_begin_object (builder);
  add_string (builder, "id", session);
  add_string (builder, "share_password_hash", share_hash);
  add_string (builder, "connect_password_hash", connect_hash);
  json_builder_end_object (builder);
  json_builder_end_array (builder);
  add_string (builder, "log_level", "info");
  json_builder_end_object (builder);
  return to_json (builder);
}

/* What the share and connect configs share; the caller adds its own list and closes the
 * object. */
static JsonBuilder *
agent_json_begin (Init *init, const char *session, const char *password_file, const char *state)
{
  JsonBuilder *builder = json_builder_new ();
  g_autofree char *gateway = cv_agent_format_target (init->gateway_host, init->gateway_port);

  json_builder_begin_object (builder);
  add_string (builder, "gateway", gateway);
  add_string (builder, "gateway_fingerprint", init->fingerprint);
  add_string (builder, "session", session);
  add_string (builder, "password_file", password_file);
  add_string (builder, "state_dir", state);
  return builder;
}

static char *
share_json (Init *init, const char *session, char **allow)
{
  g_autoptr (JsonBuilder) builder = agent_json_begin (init, session, file_names[SHARE_PASSWORD],
                                                      state_dir_names[1]);

  json_builder_set_member_name (builder, "allow");
  json_builder_begin_array (builder);
  for (guint i = 0; allow[i] != NULL; i++)
    json_builder_add_string_value (builder, allow[i]);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  return to_json (builder);
}

static char *
connect_json (Init *init, const char *session, GPtrArray *listens, GPtrArray *targets)
{
  g_autoptr (JsonBuilder) builder = agent_json_begin (init, session, file_names[CONNECT_PASSWORD],
                                                      state_dir_names[2]);

  json_builder_set_member_name (builder, "mappings");
  json_builder_begin_array (builder);
  for (guint i = 0; i < listens->len; i++)
    {
      json_builder_begin_object (builder);
      add_string (builder, "listen", listens->pdata[i]);
      add_string (builder, "target", targets->pdata[i]);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  return to_json (builder);
}

/* The text of @index read as culvert-cli will read that file: what check-config and the
 * roles say about it, said now, before anything is written. */
static gboolean
check_config (Init *init, guint index, GError **error)
{
  const char *path = init->paths[index];
  g_autoptr (JsonObject) root = cv_config_load_data (init->texts[index],
                                                     strlen (init->texts[index]), path, error);

  if (root == NULL)
    return FALSE;
  switch (index)
    {
    case GATEWAY_JSON:
      {
        g_autoptr (CvGatewayConfig) config = cv_gateway_config_new_from_json (root, path, error);
        return config != NULL;
      }
    case SHARE_JSON:
      {
        g_autoptr (CvShareConfig) config = cv_share_config_new_from_json (root, path, error);
        return config != NULL;
      }
    default:
      {
        g_autoptr (CvConnectConfig) config = cv_connect_config_new_from_json (root, path, error);
        return config != NULL;
      }
    }
}

/* Made with its mode from the start (never chmod afterwards, when another user could
 * already have opened it), and never over a file that exists. */
static gboolean
write_new_file (const char *path, const char *text, GError **error)
{
  gsize len = strlen (text);
  gsize done = 0;
  int fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

  if (fd < 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   "could not create %s: %s", path, g_strerror (saved_errno));
      return FALSE;
    }
  while (done < len)
    {
      gssize n = write (fd, text + done, len - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved_errno = errno;

          g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                       "could not write %s: %s", path, g_strerror (saved_errno));
          close (fd);
          return FALSE;
        }
      done += n;
    }
  return g_close (fd, error);
}

/* The gateway's key, made in its state dir now as its first start would make it. */
static gboolean
make_gateway_key (Init *init, GError **error)
{
  g_autoptr (JsonObject) root = cv_config_load_data (init->texts[GATEWAY_JSON],
                                                     strlen (init->texts[GATEWAY_JSON]),
                                                     init->paths[GATEWAY_JSON], error);
  g_autoptr (CvGatewayConfig) config = NULL;
  g_autoptr (CvIdentity) identity = NULL;

  if (root == NULL
      || (config = cv_gateway_config_new_from_json (root, init->paths[GATEWAY_JSON], error)) == NULL
      || (identity = cv_gateway_load_identity (config, error)) == NULL)
    return FALSE;
  init->fingerprint = g_strdup (cv_identity_get_fingerprint (identity));
  return TRUE;
}

static gboolean
refuse_existing (Init *init)
{
  for (guint i = 0; i < N_FILES + G_N_ELEMENTS (state_dir_names); i++)
    {
      g_autofree char *path = i < N_FILES
                                ? g_strdup (init->paths[i])
                                : g_build_filename (init->dir, state_dir_names[i - N_FILES], NULL);

      if (g_file_test (path, G_FILE_TEST_EXISTS) || g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        {
          g_printerr ("culvert-cli init: %s exists already; init never overwrites: give another "
                      "--dir, or move the old files away\n",
                      path);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
parse_gateway (Init *init, const char *text, GError **error)
{
  g_autofree char *host = NULL;
  guint16 port = 0;

  if (!cv_config_parse_host_port (text, "--gateway", NULL, &host, &port, NULL, error))
    return FALSE;
  /* A host name is where the agents find the gateway; the gateway itself then listens on
   * every IPv4 address. */
  init->listen = g_hostname_is_ip_address (host) ? cv_agent_format_target (host, port)
                                                 : g_strdup_printf ("0.0.0.0:%u", port);
  init->gateway_host = g_steal_pointer (&host);
  init->gateway_port = port;
  return TRUE;
}

static gboolean
is_loopback (const char *host)
{
  g_autoptr (GInetAddress) address = g_inet_address_new_from_string (host);

  if (address == NULL)
    return g_ascii_strcasecmp (host, "localhost") == 0;
  return g_inet_address_get_is_loopback (address);
}

static void
print_summary (Init *init,
               const char *session,
               char **allow,
               GPtrArray *listens,
               GPtrArray *targets)
{
  g_autofree char *allowed = g_strjoinv (", ", allow);

  g_print ("Wrote, in %s:\n", init->dir);
  g_print ("  %-17s the gateway: listens on %s, session %s, key %s (in %s/)\n",
           file_names[GATEWAY_JSON], init->listen, session, init->fingerprint, state_dir_names[0]);
  g_print ("  %-17s the share agent: allows %s\n", file_names[SHARE_JSON], allowed);
  g_print ("  %-17s the connect agent:", file_names[CONNECT_JSON]);
  for (guint i = 0; i < listens->len; i++)
    g_print ("%s %s → %s", i > 0 ? "," : "", (char *) listens->pdata[i],
             (char *) targets->pdata[i]);
  g_print ("\n  %-17s the agents' passwords (mode 0600)\n", "*.password");
  g_print ("\nNext, each in its own terminal:\n");
  g_print ("  culvert-cli gateway --config %s\n", init->paths[GATEWAY_JSON]);
  g_print ("  culvert-cli share --config %s\n", init->paths[SHARE_JSON]);
  g_print ("  culvert-cli connect --config %s\n", init->paths[CONNECT_JSON]);
  if (!is_loopback (init->gateway_host))
    g_print ("The share agent runs next to the services, the connect agent on the other "
             "side: copy each its .json and .password, and keep the passwords private.\n");
}

int
cv_cli_init (int argc, char **argv)
{
  g_autofree char *dir = NULL;
  g_autofree char *gateway = NULL;
  g_autofree char *session = NULL;
  g_auto (GStrv) allow = NULL;
  g_auto (GStrv) mappings = NULL;
  GOptionEntry entries[] = {
    { "dir", 'd', 0, G_OPTION_ARG_FILENAME, &dir,
      "Where to write the files (default: ./" DEFAULT_DIR "); made if missing", "DIR" },
    { "gateway", 'g', 0, G_OPTION_ARG_STRING, &gateway,
      "Where the agents find the gateway (default: " DEFAULT_GATEWAY ")", "HOST:PORT" },
    { "session", 's', 0, G_OPTION_ARG_STRING, &session,
      "The session's id (default: " DEFAULT_SESSION ")", "ID" },
    { "allow", 'a', 0, G_OPTION_ARG_STRING_ARRAY, &allow,
      "A target the share agent may dial, host:port or host:low-high; repeatable "
      "(default: " DEFAULT_ALLOW ")",
      "TARGET" },
    { "local", 'L', 0, G_OPTION_ARG_STRING_ARRAY, &mappings,
      "A connect agent mapping, as ssh -L: [BIND:]PORT:HOST:HOSTPORT; repeatable "
      "(default: " DEFAULT_MAPPING ")",
      "MAPPING" },
    { NULL }
  };
  static const char *const default_allow[] = { DEFAULT_ALLOW, NULL };
  static const char *const default_mappings[] = { DEFAULT_MAPPING, NULL };
  g_autoptr (GOptionContext) context = g_option_context_new ("— write a gateway, share and "
                                                             "connect config that work together");
  g_autoptr (GError) error = NULL;
  g_auto (Init) init = { 0 };
  g_autoptr (GPtrArray) listens = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GPtrArray) targets = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (CvSecret) share_password = NULL;
  g_autoptr (CvSecret) connect_password = NULL;
  g_autofree char *share_hash = NULL;
  g_autofree char *connect_hash = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (
    context, "Writes gateway.json, share.json, connect.json and the agents' password files "
             "(mode 0600)\ninto DIR, with fresh random passwords, their hashes and the "
             "gateway's key fingerprint\npinned.  The defaults are a demo on loopback: "
             "127.0.0.1:8080 on the connect side\nreaches localhost:8000 on the share side.  "
             "It never overwrites a file.");
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("culvert-cli init: %s\n", error->message);
      return EXIT_USAGE;
    }
  if (argc != 1)
    {
      g_printerr ("culvert-cli init: takes no arguments other than its options; see "
                  "culvert-cli init --help\n");
      return EXIT_USAGE;
    }

  init.dir = g_strdup (dir != NULL ? dir : DEFAULT_DIR);
  for (guint i = 0; i < N_FILES; i++)
    init.paths[i] = g_build_filename (init.dir, file_names[i], NULL);
  if (session == NULL)
    session = g_strdup (DEFAULT_SESSION);
  if (allow == NULL)
    allow = g_strdupv ((char **) default_allow);
  if (mappings == NULL)
    mappings = g_strdupv ((char **) default_mappings);
  for (guint i = 0; mappings[i] != NULL; i++)
    {
      char *listen = NULL;
      char *target = NULL;
      g_autoptr (GError) split_error = NULL;

      if (!split_mapping (mappings[i], &listen, &target, &split_error))
        {
          g_printerr ("culvert-cli init: -L “%s”: %s; expected [BIND:]PORT:HOST:HOSTPORT, as "
                      "ssh -L\n",
                      mappings[i], split_error->message);
          return EXIT_USAGE;
        }
      g_ptr_array_add (listens, listen);
      g_ptr_array_add (targets, target);
    }
  if (!parse_gateway (&init, gateway != NULL ? gateway : DEFAULT_GATEWAY, &error))
    {
      g_printerr ("culvert-cli init: %s\n", error->message);
      return EXIT_USAGE;
    }
  if (!refuse_existing (&init))
    return EXIT_USAGE;

  /* The agents' configs are checked with a placeholder fingerprint first, so that a bad
   * --allow or -L is refused before any key or file is made. */
  share_password = cv_password_generate ();
  connect_password = cv_password_generate ();
  if ((share_hash = cv_password_hash (share_password, &error)) == NULL
      || (connect_hash = cv_password_hash (connect_password, &error)) == NULL)
    {
      g_printerr ("culvert-cli init: %s\n", error->message);
      return EXIT_FAILED;
    }
  init.texts[GATEWAY_JSON] = gateway_json (&init, session, share_hash, connect_hash);
  {
    g_autofree char *zeros = g_strnfill (CV_FINGERPRINT_LENGTH - strlen (CV_FINGERPRINT_PREFIX),
                                         '0');

    init.fingerprint = g_strconcat (CV_FINGERPRINT_PREFIX, zeros, NULL);
  }
  init.texts[SHARE_JSON] = share_json (&init, session, allow);
  init.texts[CONNECT_JSON] = connect_json (&init, session, listens, targets);
  for (guint i = GATEWAY_JSON; i <= CONNECT_JSON; i++)
    if (!check_config (&init, i, &error))
      {
        g_printerr ("culvert-cli init: the options make an invalid config: %s\n", error->message);
        return EXIT_USAGE;
      }

  if (g_mkdir_with_parents (init.dir, 0700) != 0)
    {
      g_printerr ("culvert-cli init: could not make the directory %s: %s\n", init.dir,
                  g_strerror (errno));
      return EXIT_FAILED;
    }
  /* The key is made quietly: the summary names it. */
  cv_cli_log_init ("init", G_LOG_LEVEL_WARNING);
  g_clear_pointer (&init.fingerprint, g_free);
  if (!make_gateway_key (&init, &error))
    {
      g_printerr ("culvert-cli init: %s\n", error->message);
      return EXIT_FAILED;
    }
  g_clear_pointer (&init.texts[SHARE_JSON], g_free);
  g_clear_pointer (&init.texts[CONNECT_JSON], g_free);
  init.texts[SHARE_JSON] = share_json (&init, session, allow);
  init.texts[CONNECT_JSON] = connect_json (&init, session, listens, targets);
  init.texts[SHARE_PASSWORD] = g_strconcat (share_password, "\n", NULL);
  init.texts[CONNECT_PASSWORD] = g_strconcat (connect_password, "\n", NULL);

  for (guint i = 0; i < N_FILES; i++)
    if (!write_new_file (init.paths[i], init.texts[i], &error))
      {
        /* What is written stays (init never removes files); a new run refuses them. */
        g_printerr ("culvert-cli init: %s; nothing in %s is complete: remove it and run init "
                    "again\n",
                    error->message, init.dir);
        return EXIT_FAILED;
      }
  print_summary (&init, session, allow, listens, targets);
  return 0;
}
