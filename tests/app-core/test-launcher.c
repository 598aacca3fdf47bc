/* test-launcher.c: launchers — what is found on PATH and as URI handlers, the argv and URI
 * of every kind, the sentences when a program is missing, command templates, and real
 * launches of fake programs that write down their arguments. */
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "cv-app-error.h"
#include "cv-app-test.h"
#include "cv-launcher.h"

static char *test_dir;

/* A fresh, empty PATH for one test; programs are added with add_program (). */
static char *
fresh_path (void)
{
  g_autofree char *template = g_build_filename (test_dir, "path-XXXXXX", NULL);
  char *dir = g_mkdtemp (g_steal_pointer (&template));
  g_autofree char *bin = g_build_filename (dir, "bin", NULL);

  g_assert_cmpint (g_mkdir (bin, 0700), ==, 0);
  g_setenv ("PATH", bin, TRUE);
  g_unsetenv ("TERMINAL");
  return dir;
}

static void
add_programs (const char *dir, const char *const *names)
{
  for (guint i = 0; names[i] != NULL; i++)
    cv_app_test_add_program (dir, names[i], "exit 0");
}

static void
assert_argv (CvLauncherKind kind,
             CvServicePreset preset,
             const char *template,
             const char *host,
             guint16 port,
             const char *const *expected)
{
  g_auto (GStrv) argv = NULL;
  g_autofree char *uri = NULL;
  g_autoptr (GError) error = NULL;

  if (!cv_launcher_prepare (kind, preset, template, host, port, &argv, &uri, &error))
    g_error ("%s refused: %s", cv_launcher_kind_to_string (kind), error->message);
  g_assert_null (uri);
  g_assert_nonnull (argv);
  g_assert_cmpstrv (argv, expected);
}

static void
assert_uri (CvLauncherKind kind,
            CvServicePreset preset,
            const char *host,
            guint16 port,
            const char *expected)
{
  g_auto (GStrv) argv = NULL;
  g_autofree char *uri = NULL;
  g_autoptr (GError) error = NULL;

  if (!cv_launcher_prepare (kind, preset, NULL, host, port, &argv, &uri, &error))
    g_error ("%s refused: %s", cv_launcher_kind_to_string (kind), error->message);
  g_assert_null (argv);
  g_assert_cmpstr (uri, ==, expected);
}

static void
assert_not_installed (CvLauncherKind kind, CvServicePreset preset, const char *expected)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) argv = NULL;
  g_autofree char *uri = NULL;

  g_assert_false (cv_launcher_is_available (kind, preset, &error));
  g_assert_error (error, CV_APP_ERROR, CV_APP_ERROR_NOT_INSTALLED);
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);
  /* Preparing says the same, and gives nothing to start. */
  g_assert_false (cv_launcher_prepare (kind, preset, NULL, "127.0.0.1", 5900, &argv, &uri, &error));
  g_assert_error (error, CV_APP_ERROR, CV_APP_ERROR_NOT_INSTALLED);
  g_assert_cmpstr (error->message, ==, expected);
  g_assert_null (argv);
  g_assert_null (uri);
}

static void
test_kinds (void)
{
  guint n_kinds;
  const CvLauncherKind *kinds;

  for (guint i = 0; i < CV_N_LAUNCHERS; i++)
    {
      CvLauncherKind back;

      g_assert_true (cv_launcher_kind_from_string (cv_launcher_kind_to_string (i), &back));
      g_assert_cmpint (back, ==, i);
      g_assert_cmpstr (cv_launcher_kind_get_label (i), !=, "");
    }
  g_assert_false (cv_launcher_kind_from_string ("VNCVIEWER", &(CvLauncherKind){ 0 }));
  g_assert_cmpstr (cv_launcher_kind_get_label (CV_LAUNCHER_SSH_TERMINAL), ==, "Terminal (SSH)");

  for (guint preset = 0; preset < CV_N_SERVICE_PRESETS; preset++)
    {
      kinds = cv_launcher_kinds_for_preset (preset, &n_kinds);
      g_assert_cmpuint (n_kinds, >=, 2);
      g_assert_cmpint (kinds[n_kinds - 2], ==, CV_LAUNCHER_NONE);
      g_assert_cmpint (kinds[n_kinds - 1], ==, CV_LAUNCHER_CUSTOM);
    }
  kinds = cv_launcher_kinds_for_preset (CV_SERVICE_PRESET_VNC, &n_kinds);
  g_assert_cmpint (kinds[0], ==, CV_LAUNCHER_VNCVIEWER);
  kinds = cv_launcher_kinds_for_preset (CV_SERVICE_PRESET_RDP, &n_kinds);
  g_assert_cmpint (kinds[0], ==, CV_LAUNCHER_XFREERDP);
  kinds = cv_launcher_kinds_for_preset (CV_SERVICE_PRESET_SSH, &n_kinds);
  g_assert_cmpint (kinds[0], ==, CV_LAUNCHER_SSH_TERMINAL);
  kinds = cv_launcher_kinds_for_preset (CV_SERVICE_PRESET_HTTPS, &n_kinds);
  g_assert_cmpint (kinds[0], ==, CV_LAUNCHER_BROWSER);
  kinds = cv_launcher_kinds_for_preset (CV_SERVICE_PRESET_CUSTOM, &n_kinds);
  g_assert_cmpuint (n_kinds, ==, 2);
}

static void
test_not_installed (void)
{
  g_autofree char *dir = fresh_path ();
  static const char *const remmina[] = { "remmina", NULL };
  static const char *const terminal[] = { "x-terminal-emulator", NULL };

  assert_not_installed (CV_LAUNCHER_VNCVIEWER, CV_SERVICE_PRESET_VNC,
                        "TigerVNC viewer (vncviewer) is not installed. Install it, or open with "
                        "Default VNC viewer.");
  assert_not_installed (CV_LAUNCHER_XFREERDP, CV_SERVICE_PRESET_RDP,
                        "FreeRDP (xfreerdp) is not installed. Install it, or choose a custom "
                        "command.");
  assert_not_installed (CV_LAUNCHER_REMMINA, CV_SERVICE_PRESET_RDP,
                        "Remmina (remmina) is not installed. Install it, or choose a custom "
                        "command.");
  assert_not_installed (CV_LAUNCHER_MSTSC, CV_SERVICE_PRESET_RDP,
                        "Remote Desktop Connection (mstsc) exists on Windows only. Install "
                        "FreeRDP or Remmina, or choose a custom command.");
  assert_not_installed (CV_LAUNCHER_SSH_TERMINAL, CV_SERVICE_PRESET_SSH,
                        "No terminal was found on this computer. Install one (GNOME Console, for "
                        "example), or set the TERMINAL environment variable to yours.");

  /* The alternative named is one that is there. */
  add_programs (dir, remmina);
  assert_not_installed (CV_LAUNCHER_XFREERDP, CV_SERVICE_PRESET_RDP,
                        "FreeRDP (xfreerdp) is not installed. Install it, or open with Remmina.");
  assert_not_installed (CV_LAUNCHER_MSTSC, CV_SERVICE_PRESET_RDP,
                        "Remote Desktop Connection (mstsc) exists on Windows only. Open with "
                        "Remmina instead.");
  add_programs (dir, terminal);
  assert_not_installed (CV_LAUNCHER_SSH_TERMINAL, CV_SERVICE_PRESET_SSH,
                        "The SSH client (ssh) is not installed. Install it (the openssh-client "
                        "package), or choose a custom command.");

  g_assert_true (cv_launcher_is_available (CV_LAUNCHER_NONE, CV_SERVICE_PRESET_VNC, NULL));
  g_assert_true (cv_launcher_is_available (CV_LAUNCHER_CUSTOM, CV_SERVICE_PRESET_VNC, NULL));
  g_assert_true (cv_launcher_is_available (CV_LAUNCHER_REMMINA, CV_SERVICE_PRESET_VNC, NULL));
}

static void
test_defaults (void)
{
  g_autofree char *dir = fresh_path ();
  static const char *const remmina[] = { "remmina", NULL };
  static const char *const viewers[] = { "vncviewer", "xfreerdp", "ssh", "kgx", NULL };

  /* This test's process has a vnc:// and an http:// handler (main ()). */
  g_assert_cmpint (cv_launcher_default_for_preset (CV_SERVICE_PRESET_VNC), ==, CV_LAUNCHER_VNC_URI);
  g_assert_cmpint (cv_launcher_default_for_preset (CV_SERVICE_PRESET_RDP), ==, CV_LAUNCHER_NONE);
  g_assert_cmpint (cv_launcher_default_for_preset (CV_SERVICE_PRESET_SSH), ==, CV_LAUNCHER_NONE);
  g_assert_cmpint (cv_launcher_default_for_preset (CV_SERVICE_PRESET_HTTP), ==,
                   CV_LAUNCHER_BROWSER);
  g_assert_cmpint (cv_launcher_default_for_preset (CV_SERVICE_PRESET_CUSTOM), ==, CV_LAUNCHER_NONE);
  add_programs (dir, remmina);
  g_assert_cmpint (cv_launcher_default_for_preset (CV_SERVICE_PRESET_RDP), ==, CV_LAUNCHER_REMMINA);
  add_programs (dir, viewers);
  g_assert_cmpint (cv_launcher_default_for_preset (CV_SERVICE_PRESET_VNC), ==,
                   CV_LAUNCHER_VNCVIEWER);
  g_assert_cmpint (cv_launcher_default_for_preset (CV_SERVICE_PRESET_RDP), ==,
                   CV_LAUNCHER_XFREERDP);
  g_assert_cmpint (cv_launcher_default_for_preset (CV_SERVICE_PRESET_SSH), ==,
                   CV_LAUNCHER_SSH_TERMINAL);
}

static void
test_argv (void)
{
  g_autofree char *dir = fresh_path ();
  static const char *const programs[] = { "vncviewer", "xfreerdp", "remmina", "ssh", NULL };

  add_programs (dir, programs);
  assert_argv (CV_LAUNCHER_VNCVIEWER, CV_SERVICE_PRESET_VNC, NULL, "127.0.0.1", 5921,
               (const char *const[]){ "vncviewer", "127.0.0.1::5921", NULL });
  assert_argv (CV_LAUNCHER_VNCVIEWER, CV_SERVICE_PRESET_VNC, NULL, "::1", 5921,
               (const char *const[]){ "vncviewer", "[::1]::5921", NULL });
  assert_argv (CV_LAUNCHER_REMMINA, CV_SERVICE_PRESET_VNC, NULL, "127.0.0.1", 5921,
               (const char *const[]){ "remmina", "-c", "vnc://127.0.0.1:5921", NULL });
  assert_argv (CV_LAUNCHER_REMMINA, CV_SERVICE_PRESET_RDP, NULL, "127.0.0.1", 3390,
               (const char *const[]){ "remmina", "-c", "rdp://127.0.0.1:3390", NULL });
  assert_argv (CV_LAUNCHER_XFREERDP, CV_SERVICE_PRESET_RDP, NULL, "127.0.0.1", 3390,
               (const char *const[]){ "xfreerdp", "/v:127.0.0.1:3390", NULL });
  assert_argv (CV_LAUNCHER_XFREERDP, CV_SERVICE_PRESET_RDP, NULL, "::1", 3390,
               (const char *const[]){ "xfreerdp", "/v:[::1]:3390", NULL });

  assert_uri (CV_LAUNCHER_VNC_URI, CV_SERVICE_PRESET_VNC, "127.0.0.1", 5921,
              "vnc://127.0.0.1:5921");
  assert_uri (CV_LAUNCHER_BROWSER, CV_SERVICE_PRESET_HTTP, "127.0.0.1", 8080,
              "http://127.0.0.1:8080/");
  assert_uri (CV_LAUNCHER_BROWSER, CV_SERVICE_PRESET_HTTPS, "127.0.0.1", 8443,
              "https://127.0.0.1:8443/");
  assert_uri (CV_LAUNCHER_BROWSER, CV_SERVICE_PRESET_HTTP, "::1", 8080, "http://[::1]:8080/");

  {
    g_autoptr (GError) error = NULL;
    g_auto (GStrv) argv = NULL;
    g_autofree char *uri = NULL;

    g_assert_false (cv_launcher_prepare (CV_LAUNCHER_NONE, CV_SERVICE_PRESET_VNC, NULL, "127.0.0.1",
                                         5921, &argv, &uri, &error));
    g_assert_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID);
    g_assert_null (argv);
    g_assert_null (uri);
  }
}

static void
test_terminals (void)
{
  g_autofree char *dir = fresh_path ();
  static const char *const ssh[] = { "ssh", NULL };
  static const char *const others[] = { "kgx",   "gnome-terminal", "konsole", "xfce4-terminal",
                                        "xterm", "foot",           "my-term", NULL };
  static const char *const generic[] = { "x-terminal-emulator", NULL };
  static const struct {
    const char *terminal;
    const char *const argv[7];
  } cases[] = {
    { "kgx", { "kgx", "--", "ssh", "-p", "2222", "127.0.0.1", NULL } },
    { "gnome-terminal", { "gnome-terminal", "--", "ssh", "-p", "2222", "127.0.0.1", NULL } },
    { "konsole", { "konsole", "-e", "ssh", "-p", "2222", "127.0.0.1", NULL } },
    { "xfce4-terminal", { "xfce4-terminal", "-x", "ssh", "-p", "2222", "127.0.0.1", NULL } },
    { "xterm", { "xterm", "-e", "ssh", "-p", "2222", "127.0.0.1", NULL } },
    { "foot", { "foot", "ssh", "-p", "2222", "127.0.0.1", NULL } },
    /* One Culvert does not know is taken to follow xterm. */
    { "my-term", { "my-term", "-e", "ssh", "-p", "2222", "127.0.0.1", NULL } },
  };

  add_programs (dir, ssh);
  add_programs (dir, others);
  /* Without $TERMINAL and x-terminal-emulator: the first of the list that is there. */
  assert_argv (CV_LAUNCHER_SSH_TERMINAL, CV_SERVICE_PRESET_SSH, NULL, "127.0.0.1", 2222,
               (const char *const[]){ "kgx", "--", "ssh", "-p", "2222", "127.0.0.1", NULL });
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_setenv ("TERMINAL", cases[i].terminal, TRUE);
      assert_argv (CV_LAUNCHER_SSH_TERMINAL, CV_SERVICE_PRESET_SSH, NULL, "127.0.0.1", 2222,
                   cases[i].argv);
    }
  /* ssh takes an IPv6 literal without brackets. */
  g_setenv ("TERMINAL", "xterm", TRUE);
  assert_argv (CV_LAUNCHER_SSH_TERMINAL, CV_SERVICE_PRESET_SSH, NULL, "::1", 2222,
               (const char *const[]){ "xterm", "-e", "ssh", "-p", "2222", "::1", NULL });

  /* A $TERMINAL that is not installed is passed over; x-terminal-emulator comes first. */
  add_programs (dir, generic);
  g_setenv ("TERMINAL", "not-installed-term", TRUE);
  assert_argv (CV_LAUNCHER_SSH_TERMINAL, CV_SERVICE_PRESET_SSH, NULL, "127.0.0.1", 2222,
               (const char *const[]){ "x-terminal-emulator", "-e", "ssh", "-p", "2222", "127.0.0.1",
                                      NULL });
  g_unsetenv ("TERMINAL");
}

static void
assert_template_invalid (const char *template, const char *expected)
{
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) argv = NULL;
  g_autofree char *uri = NULL;

  g_assert_false (cv_launcher_check_template (template, &error));
  g_assert_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID);
  g_test_message ("%s", error->message);
  if (strstr (error->message, expected) == NULL)
    g_error ("“%s”: expected “%s” in “%s”", template, expected, error->message);
  g_clear_error (&error);
  g_assert_false (cv_launcher_prepare (CV_LAUNCHER_CUSTOM, CV_SERVICE_PRESET_CUSTOM, template,
                                       "127.0.0.1", 5921, &argv, &uri, &error));
  g_assert_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID);
}

static void
test_templates (void)
{
  g_autofree char *dir = fresh_path ();
  static const char *const programs[] = { "my-viewer", "echo", NULL };
  g_autoptr (GError) error = NULL;
  g_auto (GStrv) argv = NULL;
  g_autofree char *uri = NULL;

  add_programs (dir, programs);
  /* Quotes group words, spaces stay inside them, {host} and {port} are replaced inside
   * words, and the values are never split or read by a shell. */
  assert_argv (CV_LAUNCHER_CUSTOM, CV_SERVICE_PRESET_CUSTOM,
               "my-viewer --title 'Front desk {host}' \"{host}::{port}\" -p{port} {port}{port}",
               "127.0.0.1", 5921,
               (const char *const[]){ "my-viewer", "--title", "Front desk 127.0.0.1",
                                      "127.0.0.1::5921", "-p5921", "59215921", NULL });
  assert_argv (CV_LAUNCHER_CUSTOM, CV_SERVICE_PRESET_CUSTOM, "echo {port}; touch '{host}' $HOME",
               "127.0.0.1", 80,
               (const char *const[]){ "echo", "80;", "touch", "127.0.0.1", "$HOME", NULL });
  assert_argv (CV_LAUNCHER_CUSTOM, CV_SERVICE_PRESET_CUSTOM, "my-viewer {host}:{port} {hostname}",
               "::1", 5921, (const char *const[]){ "my-viewer", "::1:5921", "{hostname}", NULL });

  g_assert_true (cv_launcher_check_template ("my-viewer {port}", NULL));
  assert_template_invalid ("my-viewer {host}", "must contain {port}");
  assert_template_invalid ("my-viewer {PORT}", "must contain {port}");
  assert_template_invalid ("", "Write the command");
  assert_template_invalid ("   ", "Write the command");
  assert_template_invalid (NULL, "Write the command");
  assert_template_invalid ("my-viewer '{port}", "Check its quotes");
  assert_template_invalid ("my-viewer \"{port}", "Check its quotes");

  /* A program that is not there is named. */
  g_assert_false (cv_launcher_prepare (CV_LAUNCHER_CUSTOM, CV_SERVICE_PRESET_CUSTOM,
                                       "not-installed-viewer {port}", "127.0.0.1", 5921, &argv,
                                       &uri, &error));
  g_assert_error (error, CV_APP_ERROR, CV_APP_ERROR_NOT_INSTALLED);
  g_assert_cmpstr (error->message, ==,
                   "The program “not-installed-viewer” of the custom command is not installed. "
                   "Install it, or correct the command.");
}

/* What is put into arguments is an address, never an option or shell code: a host that
 * is neither an IP literal nor a host name is refused by every launcher. */
static void
test_unsafe_host (void)
{
  g_autofree char *dir = fresh_path ();
  static const char *const programs[] = { "vncviewer", "xfreerdp", "remmina", "ssh",
                                          "xterm",     "sh",       NULL };
  static const char *const hosts[] = {
    "-oProxyCommand=touch /tmp/owned",
    "--help",
    "127.0.0.1;touch x",
    "$(touch x)",
    "a b",
    "`id`",
    "",
    ".hidden",
  };
  static const CvLauncherKind kinds[] = {
    CV_LAUNCHER_VNCVIEWER,    CV_LAUNCHER_REMMINA, CV_LAUNCHER_XFREERDP,
    CV_LAUNCHER_SSH_TERMINAL, CV_LAUNCHER_CUSTOM,  CV_LAUNCHER_VNC_URI,
  };

  add_programs (dir, programs);
  g_setenv ("TERMINAL", "xterm", TRUE);
  for (gsize i = 0; i < G_N_ELEMENTS (hosts); i++)
    for (gsize k = 0; k < G_N_ELEMENTS (kinds); k++)
      {
        g_autoptr (GError) error = NULL;
        g_auto (GStrv) argv = NULL;
        g_autofree char *uri = NULL;

        /* An empty host is the caller's mistake, and says so. */
        if (hosts[i][0] == '\0')
          continue;
        g_assert_false (cv_launcher_prepare (kinds[k], CV_SERVICE_PRESET_VNC,
                                             "sh -c 'echo {host} {port}'", hosts[i], 5900, &argv,
                                             &uri, &error));
        g_assert_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID);
        g_assert_null (argv);
        g_assert_null (uri);
      }
  /* Names and literals are fine. */
  assert_argv (CV_LAUNCHER_SSH_TERMINAL, CV_SERVICE_PRESET_SSH, NULL, "build-01.lan", 22,
               (const char *const[]){ "xterm", "-e", "ssh", "-p", "22", "build-01.lan", NULL });
  assert_argv (CV_LAUNCHER_VNCVIEWER, CV_SERVICE_PRESET_VNC, NULL, "fe80::1", 5900,
               (const char *const[]){ "vncviewer", "[fe80::1]::5900", NULL });
  g_unsetenv ("TERMINAL");
}

/* Real launches */

typedef struct {
  const char *path;
  const char *expected;
} Written;

static gboolean
file_is (gpointer data)
{
  Written *written = data;
  g_autofree char *contents = NULL;

  if (!g_file_get_contents (written->path, &contents, NULL, NULL))
    return FALSE;
  return g_str_equal (contents, written->expected);
}

static void
wait_for_file (const char *path, const char *expected)
{
  Written written = { path, expected };
  g_autofree char *what = g_strdup_printf ("%s to hold “%s”", path, expected);

  cv_app_test_wait (file_is, &written, what);
}

/* A script that writes one argument a line to DIR/NAME.args, complete only once renamed. */
static char *
add_recording_program (const char *dir, const char *name)
{
  char *out = g_strdup_printf ("%s/%s.args", dir, name);
  g_autofree char *body = g_strdup_printf ("PATH=/usr/bin:/bin\n"
                                           "printf '%%s\\n' \"$@\" > '%s.tmp' && mv '%s.tmp' '%s'",
                                           out, out, out);

  cv_app_test_add_program (dir, name, body);
  return out;
}

static gboolean
no_children (gpointer data)
{
  g_autofree char *path = g_strdup_printf ("/proc/self/task/%d/children", (int) getpid ());
  g_autofree char *children = NULL;

  if (!g_file_get_contents (path, &children, NULL, NULL))
    return TRUE; /* no such file on this kernel: nothing to check */
  return *g_strstrip (children) == '\0';
}

static void
test_launch (void)
{
  g_autofree char *dir = fresh_path ();
  g_autofree char *viewer_out = add_recording_program (dir, "vncviewer");
  g_autofree char *custom_out = add_recording_program (dir, "my-viewer");
  g_autoptr (GError) error = NULL;

  g_assert_true (cv_launcher_launch (CV_LAUNCHER_VNCVIEWER, CV_SERVICE_PRESET_VNC, NULL,
                                     "127.0.0.1", 5921, NULL, &error));
  g_assert_no_error (error);
  wait_for_file (viewer_out, "127.0.0.1::5921\n");

  g_assert_true (cv_launcher_launch (CV_LAUNCHER_CUSTOM, CV_SERVICE_PRESET_CUSTOM,
                                     "my-viewer --title 'Front desk {host}' \"{host}::{port}\" "
                                     "'; rm -rf $HOME'",
                                     "127.0.0.1", 5922, NULL, &error));
  g_assert_no_error (error);
  wait_for_file (custom_out, "--title\nFront desk 127.0.0.1\n127.0.0.1::5922\n; rm -rf $HOME\n");

  /* Both were waited for: no zombie is left. */
  cv_app_test_wait (no_children, NULL, "the launched programs to be reaped");

  /* A launch that cannot start says so. */
  g_assert_false (cv_launcher_launch (CV_LAUNCHER_XFREERDP, CV_SERVICE_PRESET_RDP, NULL,
                                      "127.0.0.1", 3390, NULL, &error));
  g_assert_error (error, CV_APP_ERROR, CV_APP_ERROR_NOT_INSTALLED);
}

static void
test_launch_uri (void)
{
  g_autofree char *out = g_build_filename (test_dir, "vnc-handler.args", NULL);
  g_autofree char *browser_out = g_build_filename (test_dir, "browser.args", NULL);
  g_autoptr (GError) error = NULL;

  g_assert_true (cv_launcher_launch (CV_LAUNCHER_VNC_URI, CV_SERVICE_PRESET_VNC, NULL, "127.0.0.1",
                                     5921, NULL, &error));
  g_assert_no_error (error);
  wait_for_file (out, "vnc://127.0.0.1:5921\n");
  g_assert_true (cv_launcher_launch (CV_LAUNCHER_BROWSER, CV_SERVICE_PRESET_HTTPS, NULL,
                                     "127.0.0.1", 8443, NULL, &error));
  g_assert_no_error (error);
  wait_for_file (browser_out, "https://127.0.0.1:8443/\n");
}

/* Run with --no-handlers: no desktop file handles vnc:// or http://. */
static void
test_uri_not_installed (void)
{
  g_autofree char *dir = fresh_path ();
  static const char *const remmina[] = { "remmina", NULL };

  assert_not_installed (CV_LAUNCHER_VNC_URI, CV_SERVICE_PRESET_VNC,
                        "An application that opens vnc:// addresses is not installed. Install "
                        "it, or choose a custom command.");
  assert_not_installed (CV_LAUNCHER_BROWSER, CV_SERVICE_PRESET_HTTP,
                        "A web browser is not installed. Install it, or choose a custom "
                        "command.");
  add_programs (dir, remmina);
  assert_not_installed (CV_LAUNCHER_VNC_URI, CV_SERVICE_PRESET_VNC,
                        "An application that opens vnc:// addresses is not installed. Install "
                        "it, or open with Remmina.");
  g_assert_cmpint (cv_launcher_default_for_preset (CV_SERVICE_PRESET_HTTPS), ==, CV_LAUNCHER_NONE);
}

/* Desktop files for vnc:// and http(s)://, before GIO reads the application dirs. */
static void
add_uri_handlers (void)
{
  g_autofree char *apps = g_build_filename (g_getenv ("XDG_DATA_HOME"), "applications", NULL);
  static const struct {
    const char *name, *types;
  } handlers[] = {
    { "vnc-handler", "x-scheme-handler/vnc;" },
    { "browser", "x-scheme-handler/http;x-scheme-handler/https;" },
  };
  g_autoptr (GString) defaults = g_string_new ("[Default Applications]\n");
  g_autofree char *mimeapps = g_build_filename (g_getenv ("XDG_CONFIG_HOME"), "mimeapps.list",
                                                NULL);

  g_assert_cmpint (g_mkdir_with_parents (apps, 0700), ==, 0);
  for (gsize i = 0; i < G_N_ELEMENTS (handlers); i++)
    {
      g_autofree char *script = add_recording_program (test_dir, handlers[i].name);
      g_autofree char *program = g_build_filename (test_dir, "bin", handlers[i].name, NULL);
      g_autofree char *file = g_strdup_printf ("%s/culvert-test-%s.desktop", apps,
                                               handlers[i].name);
      g_autofree char *desktop = g_strdup_printf ("[Desktop Entry]\nType=Application\n"
                                                  "Name=Test %s\nExec=%s %%u\nMimeType=%s\n",
                                                  handlers[i].name, program, handlers[i].types);
      g_auto (GStrv) types = g_strsplit (handlers[i].types, ";", -1);

      g_assert_true (g_file_set_contents (file, desktop, -1, NULL));
      for (guint j = 0; types[j] != NULL && *types[j] != '\0'; j++)
        g_string_append_printf (defaults, "%s=culvert-test-%s.desktop\n", types[j],
                                handlers[i].name);
    }
  g_assert_true (g_file_set_contents (mimeapps, defaults->str, -1, NULL));
}

int
main (int argc, char *argv[])
{
  gboolean no_handlers = FALSE;

  for (int i = 1; i < argc; i++)
    if (g_str_equal (argv[i], "--no-handlers"))
      {
        no_handlers = TRUE;
        memmove (&argv[i], &argv[i + 1], (gsize) (argc - i) * sizeof *argv);
        argc--;
        break;
      }
  test_dir = cv_app_test_init (&argc, &argv);

  if (no_handlers)
    g_test_add_func ("/launcher/uri-not-installed", test_uri_not_installed);
  else
    {
      add_uri_handlers ();
      g_test_add_func ("/launcher/kinds", test_kinds);
      g_test_add_func ("/launcher/not-installed", test_not_installed);
      g_test_add_func ("/launcher/defaults", test_defaults);
      g_test_add_func ("/launcher/argv", test_argv);
      g_test_add_func ("/launcher/terminals", test_terminals);
      g_test_add_func ("/launcher/templates", test_templates);
      g_test_add_func ("/launcher/unsafe-host", test_unsafe_host);
      g_test_add_func ("/launcher/launch", test_launch);
      g_test_add_func ("/launcher/launch-uri", test_launch_uri);
    }

  return cv_app_test_finish (test_dir, g_test_run ());
}
