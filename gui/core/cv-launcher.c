/* cv-launcher.c: finding the viewers, terminals and browsers of this system, and starting
 * one for a mapped service's host:port, without a shell in between. */
#include "cv-launcher.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "cv-app-error.h"

typedef struct {
  const char *name;    /* in JSON files */
  const char *label;   /* N_() */
  const char *program; /* what must be on PATH, or NULL */
} LauncherInfo;

static const LauncherInfo launchers[CV_N_LAUNCHERS] = {
  [CV_LAUNCHER_NONE] = { "none", N_ ("Do not open"), NULL },
  [CV_LAUNCHER_VNC_URI] = { "vnc-uri", N_ ("Default VNC viewer"), NULL },
  [CV_LAUNCHER_VNCVIEWER] = { "vncviewer", N_ ("TigerVNC viewer"), "vncviewer" },
  [CV_LAUNCHER_REMMINA] = { "remmina", N_ ("Remmina"), "remmina" },
  [CV_LAUNCHER_XFREERDP] = { "xfreerdp", N_ ("FreeRDP"), "xfreerdp" },
  [CV_LAUNCHER_MSTSC] = { "mstsc", N_ ("Remote Desktop Connection"), "mstsc" },
  [CV_LAUNCHER_SSH_TERMINAL] = { "ssh-terminal", N_ ("Terminal (SSH)"), "ssh" },
  [CV_LAUNCHER_BROWSER] = { "browser", N_ ("Web browser"), NULL },
  [CV_LAUNCHER_CUSTOM] = { "custom", N_ ("Custom command"), NULL },
};

/* Each preset's launchers, the usual first; NONE and CUSTOM close every list. */
static const CvLauncherKind vnc_kinds[] = {
  CV_LAUNCHER_VNCVIEWER, CV_LAUNCHER_VNC_URI, CV_LAUNCHER_REMMINA,
  CV_LAUNCHER_NONE,      CV_LAUNCHER_CUSTOM,
};
static const CvLauncherKind rdp_kinds[] = {
#ifdef G_OS_WIN32
  CV_LAUNCHER_MSTSC, CV_LAUNCHER_XFREERDP, CV_LAUNCHER_REMMINA,
#else
  CV_LAUNCHER_XFREERDP, CV_LAUNCHER_REMMINA, CV_LAUNCHER_MSTSC,
#endif
  CV_LAUNCHER_NONE,  CV_LAUNCHER_CUSTOM,
};
static const CvLauncherKind ssh_kinds[] = {
  CV_LAUNCHER_SSH_TERMINAL,
  CV_LAUNCHER_NONE,
  CV_LAUNCHER_CUSTOM,
};
static const CvLauncherKind web_kinds[] = {
  CV_LAUNCHER_BROWSER,
  CV_LAUNCHER_NONE,
  CV_LAUNCHER_CUSTOM,
};
static const CvLauncherKind custom_kinds[] = {
  CV_LAUNCHER_NONE,
  CV_LAUNCHER_CUSTOM,
};

/* The terminals tried for SSH after $TERMINAL, and how each is told which command to run;
 * Debian's x-terminal-emulator alternative must take -e. */
typedef struct {
  const char *program;
  const char *run_flag;
} TerminalInfo;

static const TerminalInfo terminals[] = {
  { "x-terminal-emulator", "-e" }, { "kgx", "--" },
  { "gnome-terminal", "--" },      { "konsole", "-e" },
  { "xfce4-terminal", "-x" },      { "xterm", "-e" },
};

/* Other terminals $TERMINAL may name, each with its own way. */
static const TerminalInfo other_terminals[] = {
  { "ptyxis", "--" },    { "tilix", "-e" },
  { "alacritty", "-e" }, { "foot", NULL }, /* foot and kitty take the command as it is */
  { "kitty", NULL },
};

GType
cv_launcher_kind_get_type (void)
{
  static gsize type_id = 0;

  if (g_once_init_enter (&type_id))
    {
      static const GEnumValue values[] = {
        { CV_LAUNCHER_NONE, "CV_LAUNCHER_NONE", "none" },
        { CV_LAUNCHER_VNC_URI, "CV_LAUNCHER_VNC_URI", "vnc-uri" },
        { CV_LAUNCHER_VNCVIEWER, "CV_LAUNCHER_VNCVIEWER", "vncviewer" },
        { CV_LAUNCHER_REMMINA, "CV_LAUNCHER_REMMINA", "remmina" },
        { CV_LAUNCHER_XFREERDP, "CV_LAUNCHER_XFREERDP", "xfreerdp" },
        { CV_LAUNCHER_MSTSC, "CV_LAUNCHER_MSTSC", "mstsc" },
        { CV_LAUNCHER_SSH_TERMINAL, "CV_LAUNCHER_SSH_TERMINAL", "ssh-terminal" },
        { CV_LAUNCHER_BROWSER, "CV_LAUNCHER_BROWSER", "browser" },
        { CV_LAUNCHER_CUSTOM, "CV_LAUNCHER_CUSTOM", "custom" },
        { 0, NULL, NULL },
      };
      GType type = g_enum_register_static (g_intern_static_string ("CvLauncherKind"), values);

      g_once_init_leave (&type_id, type);
    }
  return type_id;
}

static const LauncherInfo *
get_info (CvLauncherKind kind)
{
  g_return_val_if_fail ((guint) kind < CV_N_LAUNCHERS, &launchers[CV_LAUNCHER_NONE]);
  return &launchers[kind];
}

const char *
cv_launcher_kind_to_string (CvLauncherKind kind)
{
  return get_info (kind)->name;
}

gboolean
cv_launcher_kind_from_string (const char *text, CvLauncherKind *kind)
{
  g_return_val_if_fail (kind != NULL, FALSE);

  for (guint i = 0; text != NULL && i < CV_N_LAUNCHERS; i++)
    if (g_str_equal (text, launchers[i].name))
      {
        *kind = (CvLauncherKind) i;
        return TRUE;
      }
  return FALSE;
}

const char *
cv_launcher_kind_get_label (CvLauncherKind kind)
{
  return _ (get_info (kind)->label);
}

const CvLauncherKind *
cv_launcher_kinds_for_preset (CvServicePreset preset, guint *n_kinds)
{
  g_return_val_if_fail (n_kinds != NULL, NULL);

  switch (preset)
    {
    case CV_SERVICE_PRESET_VNC:
      *n_kinds = G_N_ELEMENTS (vnc_kinds);
      return vnc_kinds;
    case CV_SERVICE_PRESET_RDP:
      *n_kinds = G_N_ELEMENTS (rdp_kinds);
      return rdp_kinds;
    case CV_SERVICE_PRESET_SSH:
      *n_kinds = G_N_ELEMENTS (ssh_kinds);
      return ssh_kinds;
    case CV_SERVICE_PRESET_HTTP:
    case CV_SERVICE_PRESET_HTTPS:
      *n_kinds = G_N_ELEMENTS (web_kinds);
      return web_kinds;
    case CV_SERVICE_PRESET_CUSTOM:
    default:
      *n_kinds = G_N_ELEMENTS (custom_kinds);
      return custom_kinds;
    }
}

/* Terminals */

/* The flag before the command for @program; NULL: the command follows as it is. */
static const char *
run_flag_of (const char *program)
{
  g_autofree char *base = g_path_get_basename (program);

  for (gsize i = 0; i < G_N_ELEMENTS (terminals); i++)
    if (g_str_equal (base, terminals[i].program))
      return terminals[i].run_flag;
  for (gsize i = 0; i < G_N_ELEMENTS (other_terminals); i++)
    if (g_str_equal (base, other_terminals[i].program))
      return other_terminals[i].run_flag;
  /* Most terminals follow xterm. */
  return "-e";
}

/* The terminal to run ssh in: $TERMINAL if it is installed, else the first of terminals[]
 * that is; NULL when none is. */
static char *
find_terminal (const char **run_flag)
{
  const char *from_env = g_getenv ("TERMINAL");

  if (from_env != NULL && *from_env != '\0')
    {
      g_autofree char *path = g_find_program_in_path (from_env);

      if (path != NULL)
        {
          *run_flag = run_flag_of (from_env);
          return g_strdup (from_env);
        }
    }
  for (gsize i = 0; i < G_N_ELEMENTS (terminals); i++)
    {
      g_autofree char *path = g_find_program_in_path (terminals[i].program);

      if (path != NULL)
        {
          *run_flag = terminals[i].run_flag;
          return g_strdup (terminals[i].program);
        }
    }
  return NULL;
}

/* Availability */

static gboolean
has_program (const char *program)
{
  g_autofree char *path = g_find_program_in_path (program);

  return path != NULL;
}

static gboolean
has_uri_handler (const char *scheme)
{
  g_autoptr (GAppInfo) handler = g_app_info_get_default_for_uri_scheme (scheme);

  return handler != NULL;
}

static gboolean
kind_is_available (CvLauncherKind kind)
{
  const char *run_flag;
  g_autofree char *terminal = NULL;

  switch (kind)
    {
    case CV_LAUNCHER_NONE:
    case CV_LAUNCHER_CUSTOM: /* its template's program is checked by prepare () */
      return TRUE;
    case CV_LAUNCHER_VNC_URI:
      return has_uri_handler ("vnc");
    case CV_LAUNCHER_BROWSER:
      return has_uri_handler ("http");
    case CV_LAUNCHER_MSTSC:
#ifdef G_OS_WIN32
      return has_program ("mstsc");
#else
      return FALSE;
#endif
    case CV_LAUNCHER_VNCVIEWER:
    case CV_LAUNCHER_REMMINA:
    case CV_LAUNCHER_XFREERDP:
      return has_program (get_info (kind)->program);
    case CV_LAUNCHER_SSH_TERMINAL:
      terminal = find_terminal (&run_flag);
      return terminal != NULL && has_program ("ssh");
    default:
      return FALSE;
    }
}

/* Another launcher for @preset that would work here, for "…, or open with X." */
static CvLauncherKind
available_alternative (CvLauncherKind kind, CvServicePreset preset)
{
  guint n_kinds;
  const CvLauncherKind *kinds = cv_launcher_kinds_for_preset (preset, &n_kinds);

  for (guint i = 0; i < n_kinds; i++)
    if (kinds[i] != kind && kinds[i] != CV_LAUNCHER_NONE && kinds[i] != CV_LAUNCHER_CUSTOM
        && kind_is_available (kinds[i]))
      return kinds[i];
  return CV_LAUNCHER_NONE;
}

CvLauncherKind
cv_launcher_default_for_preset (CvServicePreset preset)
{
  guint n_kinds;
  const CvLauncherKind *kinds = cv_launcher_kinds_for_preset (preset, &n_kinds);

  for (guint i = 0; i < n_kinds; i++)
    if (kinds[i] != CV_LAUNCHER_NONE && kinds[i] != CV_LAUNCHER_CUSTOM
        && kind_is_available (kinds[i]))
      return kinds[i];
  return CV_LAUNCHER_NONE;
}

static gboolean
not_installed (GError **error, CvLauncherKind kind, CvServicePreset preset, const char *what)
{
  CvLauncherKind other = available_alternative (kind, preset);
  g_autofree char *next = NULL;

  if (other != CV_LAUNCHER_NONE)
    /* TRANSLATORS: the end of a sentence that says a viewer is missing. */
    next = g_strdup_printf (_ ("Install it, or open with %s."), cv_launcher_kind_get_label (other));
  else
    next = g_strdup (_ ("Install it, or choose a custom command."));
  /* TRANSLATORS: "TigerVNC viewer (vncviewer) is not installed. Install it, or …" */
  g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_NOT_INSTALLED, _ ("%s is not installed. %s"), what,
               next);
  return FALSE;
}

gboolean
cv_launcher_is_available (CvLauncherKind kind, CvServicePreset preset, GError **error)
{
  const LauncherInfo *info = get_info (kind);
  g_autofree char *what = NULL;
  const char *run_flag;
  g_autofree char *terminal = NULL;

  if (kind_is_available (kind))
    return TRUE;

  switch (kind)
    {
    case CV_LAUNCHER_VNC_URI:
      what = g_strdup (_ ("An application that opens vnc:// addresses"));
      break;
    case CV_LAUNCHER_BROWSER:
      what = g_strdup (_ ("A web browser"));
      break;
    case CV_LAUNCHER_MSTSC:
      {
        CvLauncherKind other = available_alternative (kind, preset);

        if (other != CV_LAUNCHER_NONE)
          g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_NOT_INSTALLED,
                       _ ("Remote Desktop Connection (mstsc) exists on Windows only. Open with %s "
                          "instead."),
                       cv_launcher_kind_get_label (other));
        else
          g_set_error_literal (error, CV_APP_ERROR, CV_APP_ERROR_NOT_INSTALLED,
                               _ ("Remote Desktop Connection (mstsc) exists on Windows only. "
                                  "Install FreeRDP or Remmina, or choose a custom command."));
        return FALSE;
      }
    case CV_LAUNCHER_SSH_TERMINAL:
      terminal = find_terminal (&run_flag);
      if (terminal == NULL)
        {
          g_set_error_literal (error, CV_APP_ERROR, CV_APP_ERROR_NOT_INSTALLED,
                               _ ("No terminal was found on this computer. Install one (GNOME "
                                  "Console, for example), or set the TERMINAL environment "
                                  "variable to yours."));
          return FALSE;
        }
      g_set_error_literal (error, CV_APP_ERROR, CV_APP_ERROR_NOT_INSTALLED,
                           _ ("The SSH client (ssh) is not installed. Install it (the "
                              "openssh-client package), or choose a custom command."));
      return FALSE;
    default:
      /* TRANSLATORS: a viewer's name and its program: "TigerVNC viewer (vncviewer)" */
      what = g_strdup_printf (_ ("%s (%s)"), cv_launcher_kind_get_label (kind), info->program);
      break;
    }
  return not_installed (error, kind, preset, what);
}

/* Templates */

static gboolean
template_error (GError **error, const char *message)
{
  g_set_error_literal (error, CV_APP_ERROR, CV_APP_ERROR_INVALID, message);
  return FALSE;
}

static gboolean
is_blank (const char *text)
{
  for (const char *p = text; p != NULL && *p != '\0'; p++)
    if (!g_ascii_isspace (*p))
      return FALSE;
  return TRUE;
}

static gboolean
parse_template (const char *template, char ***words, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_auto (GStrv) parsed = NULL;
  gboolean has_port = FALSE;

  if (is_blank (template))
    return template_error (error, _ ("Write the command that opens the service, with {port} "
                                     "where the port goes."));
  if (!g_shell_parse_argv (template, NULL, &parsed, &local_error))
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID,
                   _ ("The command cannot be read: %s. Check its quotes."), local_error->message);
      return FALSE;
    }
  for (guint i = 0; parsed[i] != NULL; i++)
    if (strstr (parsed[i], "{port}") != NULL)
      has_port = TRUE;
  if (!has_port)
    return template_error (error, _ ("The command must contain {port}, where the local port "
                                     "goes, as in: vncviewer {host}::{port}"));
  if (words != NULL)
    *words = g_steal_pointer (&parsed);
  return TRUE;
}

gboolean
cv_launcher_check_template (const char *template, GError **error)
{
  return parse_template (template, NULL, error);
}

/* @word with every {host} and {port} replaced. */
static char *
fill_word (const char *word, const char *host, const char *port)
{
  GString *filled = g_string_new (NULL);

  for (const char *p = word; *p != '\0';)
    {
      if (g_str_has_prefix (p, "{host}"))
        {
          g_string_append (filled, host);
          p += strlen ("{host}");
        }
      else if (g_str_has_prefix (p, "{port}"))
        {
          g_string_append (filled, port);
          p += strlen ("{port}");
        }
      else
        g_string_append_c (filled, *p++);
    }
  return g_string_free (filled, FALSE);
}

/* Preparing and launching */

/* An IP literal or a host name: what goes into a viewer's arguments (or a custom command)
 * can then be neither an option ("-oProxyCommand=…", taken by ssh as one) nor anything a
 * shell in a custom command would read as code. */
static gboolean
host_is_safe (const char *host)
{
  if (g_hostname_is_ip_address (host))
    return TRUE;
  if (host[0] == '-' || host[0] == '.' || strlen (host) > 253)
    return FALSE;
  for (const char *p = host; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '.' && *p != '_')
      return FALSE;
  return TRUE;
}

static char **make_argv (const char *first, ...) G_GNUC_NULL_TERMINATED;

static char **
make_argv (const char *first, ...)
{
  GPtrArray *argv = g_ptr_array_new ();
  va_list args;

  va_start (args, first);
  for (const char *word = first; word != NULL; word = va_arg (args, const char *))
    g_ptr_array_add (argv, g_strdup (word));
  va_end (args);
  g_ptr_array_add (argv, NULL);
  return (char **) g_ptr_array_free (argv, FALSE);
}

static gboolean
prepare_custom (const char *template,
                const char *host,
                const char *port,
                char ***argv,
                GError **error)
{
  g_auto (GStrv) words = NULL;
  g_autofree char *program = NULL;

  if (!parse_template (template, &words, error))
    return FALSE;
  program = g_find_program_in_path (words[0]);
  if (program == NULL)
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_NOT_INSTALLED,
                   _ ("The program “%s” of the custom command is not installed. Install it, or "
                      "correct the command."),
                   words[0]);
      return FALSE;
    }
  for (guint i = 0; words[i] != NULL; i++)
    {
      char *filled = fill_word (words[i], host, port);

      g_free (words[i]);
      words[i] = filled;
    }
  *argv = g_steal_pointer (&words);
  return TRUE;
}

static char **
ssh_in_terminal (const char *host, const char *port)
{
  const char *run_flag = NULL;
  g_autofree char *terminal = find_terminal (&run_flag);

  if (run_flag == NULL)
    return make_argv (terminal, "ssh", "-p", port, host, NULL);
  return make_argv (terminal, run_flag, "ssh", "-p", port, host, NULL);
}

gboolean
cv_launcher_prepare (CvLauncherKind kind,
                     CvServicePreset preset,
                     const char *custom_template,
                     const char *host,
                     guint16 port,
                     char ***argv,
                     char **uri,
                     GError **error)
{
  g_autofree char *port_text = NULL;
  g_autofree char *address = NULL;
  const char *scheme;

  g_return_val_if_fail (host != NULL && *host != '\0', FALSE);
  g_return_val_if_fail (argv != NULL && uri != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  *argv = NULL;
  *uri = NULL;
  if (!host_is_safe (host))
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID,
                   _ ("“%s” is not an address Culvert opens a service on: it takes an IP address "
                      "or a host name only. Connect to the machine, then open the service "
                      "from its page."),
                   host);
      return FALSE;
    }
  if (kind == CV_LAUNCHER_NONE)
    return template_error (error, _ ("This service is set to open nothing. Choose a viewer in "
                                     "“Open with” to open it from here."));
  if (kind == CV_LAUNCHER_CUSTOM)
    {
      port_text = g_strdup_printf ("%u", port);
      return prepare_custom (custom_template, host, port_text, argv, error);
    }
  if (!cv_launcher_is_available (kind, preset, error))
    return FALSE;

  port_text = g_strdup_printf ("%u", port);
  /* URIs and "host:port" arguments put an IPv6 literal in brackets; ssh takes it bare. */
  address = strchr (host, ':') != NULL ? g_strdup_printf ("[%s]:%u", host, port)
                                       : g_strdup_printf ("%s:%u", host, port);
  switch (kind)
    {
    case CV_LAUNCHER_VNC_URI:
      *uri = g_strconcat ("vnc://", address, NULL);
      return TRUE;
    case CV_LAUNCHER_BROWSER:
      scheme = preset == CV_SERVICE_PRESET_HTTPS ? "https" : "http";
      *uri = g_strconcat (scheme, "://", address, "/", NULL);
      return TRUE;
    case CV_LAUNCHER_VNCVIEWER:
      {
        /* TigerVNC reads "host:N" as display N (port 5900 + N) and "host::N" as port N. */
        g_autofree char *target = strchr (host, ':') != NULL
                                    ? g_strdup_printf ("[%s]::%u", host, port)
                                    : g_strdup_printf ("%s::%u", host, port);

        *argv = make_argv ("vncviewer", target, NULL);
        return TRUE;
      }
    case CV_LAUNCHER_REMMINA:
      {
        g_autofree char *target = g_strconcat (preset == CV_SERVICE_PRESET_RDP ? "rdp://"
                                                                               : "vnc://",
                                               address, NULL);

        *argv = make_argv ("remmina", "-c", target, NULL);
        return TRUE;
      }
    case CV_LAUNCHER_XFREERDP:
    case CV_LAUNCHER_MSTSC:
      {
        g_autofree char *target = g_strconcat ("/v:", address, NULL);

        *argv = make_argv (get_info (kind)->program, target, NULL);
        return TRUE;
      }
    case CV_LAUNCHER_SSH_TERMINAL:
      *argv = ssh_in_terminal (host, port_text);
      return TRUE;
    case CV_LAUNCHER_NONE:
    case CV_LAUNCHER_CUSTOM:
    default:
      g_assert_not_reached ();
    }
}

/* Keeps the subprocess until it exits, so that it is reaped and never left a zombie. */
static void
on_subprocess_exited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GSubprocess) subprocess = user_data;

  g_subprocess_wait_finish (subprocess, result, NULL);
}

gboolean
cv_launcher_launch (CvLauncherKind kind,
                    CvServicePreset preset,
                    const char *custom_template,
                    const char *host,
                    guint16 port,
                    GAppLaunchContext *launch_context,
                    GError **error)
{
  return cv_launcher_launch_full (kind, preset, custom_template, host, port, launch_context, NULL,
                                  error);
}

gboolean
cv_launcher_launch_full (CvLauncherKind kind,
                         CvServicePreset preset,
                         const char *custom_template,
                         const char *host,
                         guint16 port,
                         GAppLaunchContext *launch_context,
                         GSubprocess **started,
                         GError **error)
{
  g_auto (GStrv) argv = NULL;
  g_autofree char *uri = NULL;
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) subprocess = NULL;
  g_autoptr (GError) local_error = NULL;

  if (started != NULL)
    *started = NULL;
  if (!cv_launcher_prepare (kind, preset, custom_template, host, port, &argv, &uri, error))
    return FALSE;

  if (uri != NULL)
    {
      if (g_app_info_launch_default_for_uri (uri, launch_context, &local_error))
        return TRUE;
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_FAILED,
                   _ ("Culvert could not open %s: %s. Check the application set to open such "
                      "addresses, or choose another in “Open with”."),
                   uri, local_error->message);
      return FALSE;
    }

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
  if (launch_context != NULL)
    {
      g_auto (GStrv) environment = g_app_launch_context_get_environment (launch_context);

      g_subprocess_launcher_set_environ (launcher, environment);
    }
  subprocess = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv, &local_error);
  if (subprocess == NULL)
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_FAILED,
                   _ ("Culvert could not start %s: %s. Check that it is installed and works."),
                   argv[0], local_error->message);
      return FALSE;
    }
  g_subprocess_wait_async (subprocess, NULL, on_subprocess_exited, g_object_ref (subprocess));
  if (started != NULL)
    *started = g_steal_pointer (&subprocess);
  return TRUE;
}
