/* cv-gui-e2e.c: the end-to-end GUI tests' real processes and services, bounded and reaped. */
#include "cv-version.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cv-gui-e2e.h"
#include "cv-gui-test-util.h"

static char *test_dir;
static char *system_path;
static GPtrArray *children; /* GSubprocess */

/* For the crash handler, which may not allocate: the children's log files. */
#define MAX_LOGS 8
static char crash_logs[MAX_LOGS][512];
static int n_crash_logs;

static void
at_exit (void)
{
  GPid stray;

  cv_e2e_kill_all ();
  /* What the app started (a viewer) is not in the list: any child left goes too. */
  while ((stray = cv_e2e_find_child (NULL, NULL)) != 0)
    {
      kill (stray, SIGKILL);
      waitpid (stray, NULL, 0);
    }
}

static void
write_all (int fd, const char *text, size_t len)
{
  while (len > 0)
    {
      ssize_t n = write (fd, text, len);

      if (n <= 0)
        return;
      text += n;
      len -= n;
    }
}

/* A failed assertion or g_error () aborts (SIGABRT, SIGTRAP) without running atexit ():
 * the children's logs go to stderr, where meson keeps them, and every child is killed.
 * The viewer the app started would otherwise keep meson's output pipe open, and meson
 * wait for it until the test's timeout.  Only async-signal-safe calls, but for the /proc
 * walk, which a dying test can afford. */
static void
on_crash (int signum)
{
  static const char banner[] = "\n==== the e2e children's logs ====\n";
  char buffer[4096];
  GPid stray;

  write_all (STDERR_FILENO, banner, sizeof banner - 1);
  for (int i = 0; i < n_crash_logs; i++)
    {
      int fd = open (crash_logs[i], O_RDONLY);
      off_t size;
      ssize_t n;

      if (fd < 0)
        continue;
      write_all (STDERR_FILENO, "---- ", 5);
      write_all (STDERR_FILENO, crash_logs[i], strlen (crash_logs[i]));
      write_all (STDERR_FILENO, "\n", 1);
      size = lseek (fd, 0, SEEK_END);
      lseek (fd, size > (off_t) sizeof buffer ? size - (off_t) sizeof buffer : 0, SEEK_SET);
      while ((n = read (fd, buffer, sizeof buffer)) > 0)
        write_all (STDERR_FILENO, buffer, n);
      close (fd);
    }
  while ((stray = cv_e2e_find_child (NULL, NULL)) != 0)
    {
      kill (stray, SIGKILL);
      waitpid (stray, NULL, 0);
    }
  signal (signum, SIG_DFL);
  raise (signum);
}

void
cv_e2e_init (const char *dir, const char *path)
{
  g_autofree char *runtime = g_build_filename (dir, "runtime", NULL);

  /* Under run-with-keyring.sh the bus and its keyring are the test's own.  Otherwise no
   * session bus: on a developer's desktop the app would reach the real keyring (and store a
   * test password there) through $XDG_RUNTIME_DIR/bus. */
  if (g_getenv ("CULVERT_TEST_KEYRING") == NULL)
    {
      g_unsetenv ("DBUS_SESSION_BUS_ADDRESS");
      g_assert_cmpint (g_mkdir_with_parents (runtime, 0700), ==, 0);
      g_setenv ("XDG_RUNTIME_DIR", runtime, TRUE);
    }
  test_dir = g_strdup (dir);
  system_path = g_strdup (path);
  children = g_ptr_array_new_with_free_func (g_object_unref);
  atexit (at_exit);
  signal (SIGABRT, on_crash);
  signal (SIGTRAP, on_crash);
  g_test_message ("children's logs in %s", dir);
}

char *
cv_e2e_find_program (const char *name)
{
  g_auto (GStrv) dirs = g_strsplit (system_path != NULL ? system_path : "", ":", -1);

  for (gsize i = 0; dirs[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (dirs[i], name, NULL);

      if (dirs[i][0] != '\0' && g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
        return g_steal_pointer (&path);
    }
  return NULL;
}

static char *
need_program (const char *name)
{
  char *path = cv_e2e_find_program (name);

  if (path == NULL)
    g_error ("%s is not installed (not on %s)", name, system_path);
  return path;
}

const char *
cv_e2e_dir (void)
{
  g_assert_nonnull (test_dir);
  return test_dir;
}

guint16
cv_e2e_free_port (void)
{
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (socket, any, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static char *
log_path (const char *name)
{
  g_autofree char *file = g_strconcat (name, ".log", NULL);

  return g_build_filename (cv_e2e_dir (), file, NULL);
}

/* The child dies with the test even when the test is killed (meson's timeout) or aborts. */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
}

/* @pass_fd, when not -1, becomes the child's descriptor 3 (and is closed here). */
static GSubprocess *
spawn_full (const char *name, const char *const *env_extra, const char *const *argv, int pass_fd)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *path = log_path (name);
  g_autofree char *args = g_strjoinv (" ", (char **) argv);
  GSubprocess *process;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_set_stdout_file_path (launcher, path);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  if (pass_fd != -1)
    g_subprocess_launcher_take_fd (launcher, pass_fd, 3);
  for (gsize i = 0; env_extra != NULL && env_extra[i] != NULL; i++)
    {
      g_auto (GStrv) pair = g_strsplit (env_extra[i], "=", 2);

      g_subprocess_launcher_setenv (launcher, pair[0], pair[1], TRUE);
    }
  if (n_crash_logs < MAX_LOGS && strlen (path) < sizeof crash_logs[0])
    strcpy (crash_logs[n_crash_logs++], path);
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  if (process == NULL)
    g_error ("could not start %s (%s): %s", name, args, error->message);
  g_test_message ("started %s (pid %s): %s", name, g_subprocess_get_identifier (process), args);
  g_ptr_array_add (children, g_object_ref (process));
  return process;
}

GSubprocess *
cv_e2e_spawn (const char *name, const char *const *env_extra, const char *const *argv)
{
  return spawn_full (name, env_extra, argv, -1);
}

static gboolean
tick (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

void
cv_e2e_poll_until (CvGuiCondition condition, gpointer data, const char *what)
{
  /* Files, /proc and threads send no event to the main context: wake it to look again. */
  guint ticker = g_timeout_add (20, tick, NULL);

  cv_gui_wait_until (condition, data, what);
  g_source_remove (ticker);
}

char *
cv_e2e_read_log (const char *name)
{
  g_autofree char *path = log_path (name);
  char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return g_strdup ("");
  return contents;
}

typedef struct {
  const char *name;
  const char *needle;
  char *line;
} LogWait;

static gboolean
log_has (gpointer data)
{
  LogWait *wait = data;
  g_autofree char *text = cv_e2e_read_log (wait->name);
  const char *found = strstr (text, wait->needle);
  const char *start;
  const char *end;

  if (found == NULL)
    return FALSE;
  for (start = found; start > text && start[-1] != '\n'; start--)
    ;
  end = strchr (found, '\n');
  wait->line = end != NULL ? g_strndup (start, end - start) : g_strdup (start);
  return TRUE;
}

char *
cv_e2e_wait_for_log (const char *name, const char *needle)
{
  LogWait wait = { name, needle, NULL };
  g_autofree char *what = g_strdup_printf ("“%s” in %s's log", needle, name);

  cv_e2e_poll_until (log_has, &wait, what);
  return wait.line;
}

static gboolean
has_exited (gpointer data)
{
  return g_subprocess_get_if_exited (data) || g_subprocess_get_if_signaled (data);
}

static void
exited_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *(gboolean *) user_data = TRUE;
}

static gboolean
flag_set (gpointer data)
{
  return *(gboolean *) data;
}

void
cv_e2e_stop (GSubprocess *process)
{
  gboolean done = FALSE;
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  if (g_subprocess_get_identifier (process) == NULL)
    return;
  g_subprocess_send_signal (process, SIGTERM);
  g_subprocess_wait_async (process, NULL, exited_cb, &done);
  while (!done && g_get_monotonic_time () < deadline)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (10000);
    }
  if (!done)
    g_subprocess_force_exit (process);
  cv_gui_wait_until (flag_set, &done, "a child to exit after SIGKILL");
  g_assert_true (has_exited (process));
}

void
cv_e2e_kill_all (void)
{
  gint64 deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;
  gboolean running = TRUE;

  if (children == NULL)
    return;
  /* SIGTERM first: an X server that gets it removes its socket and lock file, which a
   * SIGKILL leaves behind in /tmp. */
  for (guint i = 0; i < children->len; i++)
    if (g_subprocess_get_identifier (children->pdata[i]) != NULL)
      g_subprocess_send_signal (children->pdata[i], SIGTERM);
  while (running && g_get_monotonic_time () < deadline)
    {
      running = FALSE;
      /* GLib's worker thread reaps them; the identifier goes when it has. */
      for (guint i = 0; i < children->len; i++)
        running |= g_subprocess_get_identifier (children->pdata[i]) != NULL;
      if (running)
        g_usleep (10000);
    }
  for (guint i = 0; i < children->len; i++)
    if (g_subprocess_get_identifier (children->pdata[i]) != NULL)
      g_subprocess_force_exit (children->pdata[i]);
  g_ptr_array_set_size (children, 0);
}

const char *
cv_e2e_culvert_cli (void)
{
  const char *cli = g_getenv ("CULVERT_CLI");

  if (cli == NULL)
    g_error ("CULVERT_CLI is not set: run this test with meson test");
  return cli;
}

static char *
match_group (const char *pattern, const char *text, int group)
{
  g_autoptr (GRegex) regex = g_regex_new (pattern, G_REGEX_MULTILINE, 0, NULL);
  g_autoptr (GMatchInfo) match = NULL;

  g_assert_nonnull (regex);
  if (!g_regex_match (regex, text, 0, &match))
    return NULL;
  return g_match_info_fetch (match, group);
}

static gboolean
gateway_printed (gpointer data)
{
  g_autofree char *text = cv_e2e_read_log (data);

  return strstr (text, "Connect agent") != NULL && strstr (text, "-L LOCAL_PORT") != NULL;
}

CvE2eGateway *
cv_e2e_start_gateway (const char *session)
{
  CvE2eGateway *gateway = g_new0 (CvE2eGateway, 1);
  g_autofree char *state = g_build_filename (cv_e2e_dir (), "gateway-state", NULL);
  g_autofree char *state_env = g_strconcat ("XDG_STATE_HOME=", state, NULL);
  const char *env[] = { state_env, NULL };
  g_autofree char *text = NULL;

  gateway->port = cv_e2e_free_port ();
  gateway->address = g_strdup_printf ("127.0.0.1:%u", gateway->port);
  gateway->session = g_strdup (session);
  gateway->process = cv_e2e_spawn ("gateway", env,
                                   (const char *const[]){ cv_e2e_culvert_cli (), "gateway",
                                                          "--listen", gateway->address, "--session",
                                                          session, NULL });
  cv_e2e_poll_until (gateway_printed, (gpointer) "gateway", "the gateway to print its commands");
  cv_e2e_wait_for_log ("gateway", "listening on 127.0.0.1");
  text = cv_e2e_read_log ("gateway");
  gateway->share_password = match_group ("CULVERT_PASSWORD='([^']+)' culvert-cli share", text, 1);
  gateway->connect_password = match_group ("CULVERT_PASSWORD='([^']+)' culvert-cli connect", text,
                                           1);
  gateway->fingerprint = match_group ("--fingerprint (sha256:[0-9a-f]{64})", text, 1);
  if (gateway->share_password == NULL || gateway->connect_password == NULL
      || gateway->fingerprint == NULL)
    g_error ("the gateway did not print two passwords and a fingerprint:\n%s", text);
  return gateway;
}

void
cv_e2e_gateway_free (CvE2eGateway *gateway)
{
  g_clear_object (&gateway->process);
  g_free (gateway->address);
  g_free (gateway->session);
  g_free (gateway->share_password);
  g_free (gateway->connect_password);
  g_free (gateway->fingerprint);
  g_free (gateway);
}

static GSubprocess *
spawn_share (const char *password, GPtrArray *args)
{
  g_autofree char *state = g_build_filename (cv_e2e_dir (), "share-state", NULL);
  g_autofree char *state_env = g_strconcat ("XDG_STATE_HOME=", state, NULL);
  g_autofree char *password_env = g_strconcat ("CULVERT_PASSWORD=", password, NULL);
  const char *env[] = { state_env, password_env, NULL };
  GSubprocess *process;

  g_ptr_array_add (args, NULL);
  process = cv_e2e_spawn ("share", env, (const char *const *) args->pdata);
  g_free (cv_e2e_wait_for_log ("share", "share agent online"));
  return process;
}

GSubprocess *
cv_e2e_start_share (const char *gateway,
                    const char *fingerprint,
                    const char *session,
                    const char *password,
                    const char *const *allow)
{
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  const char *const head[] = { cv_e2e_culvert_cli (), "share",     "--gateway", gateway,
                               "--fingerprint",       fingerprint, "--session", session };

  for (gsize i = 0; i < G_N_ELEMENTS (head); i++)
    g_ptr_array_add (args, (gpointer) head[i]);
  for (gsize i = 0; allow[i] != NULL; i++)
    {
      g_ptr_array_add (args, (gpointer) "--allow");
      g_ptr_array_add (args, (gpointer) allow[i]);
    }
  return spawn_share (password, args);
}

GSubprocess *
cv_e2e_start_share_command (const char *command_line)
{
  g_auto (GStrv) words = NULL;
  g_autoptr (GPtrArray) args = g_ptr_array_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *password = NULL;
  gsize i = 0;

  g_shell_parse_argv (command_line, NULL, &words, &error);
  g_assert_no_error (error);
  if (g_str_has_prefix (words[i], "CULVERT_PASSWORD="))
    password = g_strdup (words[i++] + strlen ("CULVERT_PASSWORD="));
  g_assert_nonnull (password);
  g_assert_cmpstr (words[i], ==, "culvert-cli");
  g_ptr_array_add (args, (gpointer) cv_e2e_culvert_cli ());
  for (i++; words[i] != NULL; i++)
    g_ptr_array_add (args, words[i]);
  return spawn_share (password, args);
}

/* What -displayfd writes: the display number and a newline. */
static char *
read_display (int fd)
{
  char number[16] = "";
  gsize length = 0;
  gint64 deadline = g_get_monotonic_time () + CV_GUI_WAIT_SECONDS * G_USEC_PER_SEC;

  while (length == 0 || number[length - 1] != '\n')
    {
      struct pollfd poll_fd = { fd, POLLIN, 0 };
      gint64 left = deadline - g_get_monotonic_time ();
      ssize_t n;

      if (left <= 0 || poll (&poll_fd, 1, left / 1000) <= 0)
        g_error ("gave up after %d s waiting for Xtigervnc to say its display",
                 CV_GUI_WAIT_SECONDS);
      n = read (fd, number + length, sizeof number - 1 - length);
      if (n <= 0)
        g_error ("Xtigervnc ended before it said its display:\n%s", cv_e2e_read_log ("xtigervnc"));
      length += n;
      g_assert_cmpuint (length, <, sizeof number - 1);
    }
  number[length - 1] = '\0';
  return g_strdup_printf (":%s", number);
}

guint16
cv_e2e_start_vnc_server (void)
{
  guint16 port = cv_e2e_free_port ();
  g_autofree char *port_text = g_strdup_printf ("%u", port);
  g_autofree char *display = NULL;
  g_autofree char *xtigervnc = need_program ("Xtigervnc");
  g_autofree char *xmessage = NULL;
  int fds[2];

  /* The server picks a free display itself and writes its number to descriptor 3: no
   * guessing, and stale locks of killed servers are its business. */
  g_assert_cmpint (pipe (fds), ==, 0);
  spawn_full ("xtigervnc", NULL,
              (const char *const[]){ xtigervnc, "-displayfd", "3", "-rfbport", port_text,
                                     "-localhost", "-SecurityTypes", "None", "-desktop", "test",
                                     "-geometry", "640x400", NULL },
              fds[1]);
  display = read_display (fds[0]);
  close (fds[0]);
  g_free (cv_e2e_wait_for_log ("xtigervnc", "Listening for VNC connections"));
  /* Something on the shared screen, for the viewer's screenshot to show. */
  xmessage = cv_e2e_find_program ("xmessage");
  if (xmessage != NULL)
    cv_e2e_spawn ("xmessage", NULL,
                  (const char *const[]){ xmessage, "-display", display, "-center",
                                         "The shared computer's screen, through Culvert", NULL });
  return port;
}

typedef struct {
  GBytes *data;
} DataService;

static gboolean
data_service_run (GThreadedSocketService *service,
                  GSocketConnection *connection,
                  GObject *source_object,
                  gpointer user_data)
{
  DataService *self = user_data;
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  gsize size;
  gconstpointer data = g_bytes_get_data (self->data, &size);

  /* A client that goes away early is its own business: no error here. */
  g_output_stream_write_all (out, data, size, NULL, NULL, NULL);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  return TRUE;
}

guint16
cv_e2e_start_data_service (gsize size, char **sha256)
{
  DataService *self = g_new0 (DataService, 1);
  GSocketService *service = g_threaded_socket_service_new (4);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GRand) rand = g_rand_new ();
  g_autoptr (GError) error = NULL;
  guint32 *words = g_new (guint32, size / 4 + 1);

  for (gsize i = 0; i < size / 4 + 1; i++)
    words[i] = g_rand_int (rand);
  self->data = g_bytes_new_take (words, size);
  *sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, self->data);

  g_socket_listener_add_address (G_SOCKET_LISTENER (service), any, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error);
  g_assert_no_error (error);
  g_signal_connect (service, "run", G_CALLBACK (data_service_run), self);
  g_socket_service_start (service);
  /* Both live until the test process ends. */
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

typedef struct {
  guint16 port;
  GChecksum *checksum;
  guint64 n_bytes;
  GError *error;
  int done;
} Fetch;

static gpointer
fetch_thread (gpointer data)
{
  Fetch *fetch = data;
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) connection = NULL;
  guint8 buffer[65536];
  gssize n;

  g_socket_client_set_timeout (client, CV_GUI_WAIT_SECONDS);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", fetch->port, NULL,
                                                &fetch->error);
  if (connection != NULL)
    {
      GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (connection));

      while ((n = g_input_stream_read (in, buffer, sizeof buffer, NULL, &fetch->error)) > 0)
        {
          g_checksum_update (fetch->checksum, buffer, n);
          fetch->n_bytes += n;
        }
    }
  g_atomic_int_set (&fetch->done, 1);
  return NULL;
}

static gboolean
fetch_done (gpointer data)
{
  return g_atomic_int_get (&((Fetch *) data)->done);
}

char *
cv_e2e_fetch_sha256 (guint16 port, guint64 *n_bytes)
{
  Fetch fetch = { port, g_checksum_new (G_CHECKSUM_SHA256), 0, NULL, 0 };
  g_autofree char *what = g_strdup_printf ("the bytes from 127.0.0.1:%u to end", port);
  GThread *thread = g_thread_new ("fetch", fetch_thread, &fetch);
  char *sha256;

  cv_e2e_poll_until (fetch_done, &fetch, what);
  g_thread_join (thread);
  if (fetch.error != NULL)
    g_error ("reading from 127.0.0.1:%u failed after %" G_GUINT64_FORMAT " bytes: %s", port,
             fetch.n_bytes, fetch.error->message);
  sha256 = g_strdup (g_checksum_get_string (fetch.checksum));
  g_checksum_free (fetch.checksum);
  *n_bytes = fetch.n_bytes;
  return sha256;
}

gboolean
cv_e2e_connect_refused (guint16 port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocketConnection) connection = NULL;
  g_autoptr (GError) error = NULL;

  g_socket_client_set_timeout (client, 5);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  return connection == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED);
}

/* /proc/PID/stat: "PID (comm) STATE PPID …"; comm may hold spaces and parentheses. */
static gboolean
read_stat (GPid pid, char **comm, char *state, GPid *ppid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *text = NULL;
  const char *open;
  const char *close;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return FALSE;
  open = strchr (text, '(');
  close = strrchr (text, ')');
  if (open == NULL || close == NULL || close[1] == '\0')
    return FALSE;
  if (comm != NULL)
    *comm = g_strndup (open + 1, close - open - 1);
  return sscanf (close + 2, "%c %d", state, ppid) == 2;
}

gboolean
cv_e2e_pid_alive (GPid pid)
{
  char state;
  GPid ppid;

  return read_stat (pid, NULL, &state, &ppid) && state != 'Z' && state != 'X';
}

static gboolean
cmdline_has (GPid pid, const char *part)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/cmdline", pid);
  g_autofree char *text = NULL;
  gsize length;

  if (!g_file_get_contents (path, &text, &length, NULL))
    return FALSE;
  for (gsize at = 0; at < length; at += strlen (text + at) + 1)
    if (strstr (text + at, part) != NULL)
      return TRUE;
  return FALSE;
}

GPid
cv_e2e_find_child (const char *comm, const char *arg_part)
{
  g_autoptr (GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *name;

  g_assert_nonnull (proc);
  while ((name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *its_comm = NULL;
      GPid pid = atoi (name);
      GPid ppid;
      char state;

      if (pid <= 0 || !read_stat (pid, &its_comm, &state, &ppid))
        continue;
      if (ppid == getpid () && state != 'Z' && (comm == NULL || g_strcmp0 (its_comm, comm) == 0)
          && (arg_part == NULL || cmdline_has (pid, arg_part)))
        return pid;
    }
  return 0;
}
