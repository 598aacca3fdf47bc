/* cv-launcher.h: what opens a mapped service — a VNC or RDP viewer, SSH in a terminal, the
 * browser, or a command template — found on this system and started for host:port. */
#pragma once

#include <gio/gio.h>

#include "cv-service-preset.h"

G_BEGIN_DECLS

typedef enum {
  CV_LAUNCHER_NONE,         /* "Do not open" */
  CV_LAUNCHER_VNC_URI,      /* the vnc:// handler of the desktop */
  CV_LAUNCHER_VNCVIEWER,    /* TigerVNC's vncviewer (or any "vncviewer" on PATH) */
  CV_LAUNCHER_REMMINA,      /* remmina -c vnc://… or rdp://… */
  CV_LAUNCHER_XFREERDP,     /* xfreerdp /v:host:port */
  CV_LAUNCHER_MSTSC,        /* mstsc /v:host:port, on Windows */
  CV_LAUNCHER_SSH_TERMINAL, /* ssh -p PORT HOST in the user's terminal */
  CV_LAUNCHER_BROWSER,      /* http(s)://host:port/ in the default browser */
  CV_LAUNCHER_CUSTOM,       /* a command template with {host} and {port} */
} CvLauncherKind;

#define CV_N_LAUNCHERS (CV_LAUNCHER_CUSTOM + 1)

#define CV_TYPE_LAUNCHER_KIND (cv_launcher_kind_get_type ())
GType cv_launcher_kind_get_type (void);

/* "none", "vnc-uri", "vncviewer", "remmina", "xfreerdp", "mstsc", "ssh-terminal",
 * "browser", "custom". */
const char *cv_launcher_kind_to_string (CvLauncherKind kind);
gboolean cv_launcher_kind_from_string (const char *text, CvLauncherKind *kind);
/* Translated: "TigerVNC viewer", "Remmina", "Terminal (SSH)", "Web browser", … */
const char *cv_launcher_kind_get_label (CvLauncherKind kind);

/* The launchers that fit @preset, the usual first, then NONE and CUSTOM; the array is
 * static, @n_kinds is set. */
const CvLauncherKind *cv_launcher_kinds_for_preset (CvServicePreset preset, guint *n_kinds);
/* The first of those that is available here, else CV_LAUNCHER_NONE. */
CvLauncherKind cv_launcher_default_for_preset (CvServicePreset preset);

/* Whether @kind can run here: its program is on PATH, or a handler is registered for its
 * URI scheme.  The error (CV_APP_ERROR_NOT_INSTALLED) names what is missing and suggests
 * another launcher that is available. */
gboolean cv_launcher_is_available (CvLauncherKind kind, CvServicePreset preset, GError **error);

/* Whether @template is a command whose words parse (g_shell_parse_argv) and that uses
 * {port}; the error (CV_APP_ERROR_INVALID) says why not. */
gboolean cv_launcher_check_template (const char *template, GError **error);

/* What would be started for host:port: an argv (NULL-terminated, {host} and {port}
 * replaced inside words, never through a shell), or for the URI launchers a URI. Exactly
 * one of *argv and *uri is set on success. */
gboolean cv_launcher_prepare (CvLauncherKind kind,
                              CvServicePreset preset,
                              const char *custom_template,
                              const char *host,
                              guint16 port,
                              char ***argv,
                              char **uri,
                              GError **error);

/* Starts it, detached (a GSubprocess that is not waited for; its output is left alone), or
 * opens the URI through @launch_context (NULL: none). */
gboolean cv_launcher_launch (CvLauncherKind kind,
                             CvServicePreset preset,
                             const char *custom_template,
                             const char *host,
                             guint16 port,
                             GAppLaunchContext *launch_context,
                             GError **error);
/* The same; *@started (nullable) is set to the program started, for its caller to end it
 * when what it shows goes away, or to NULL for a URI (another application opened it). */
gboolean cv_launcher_launch_full (CvLauncherKind kind,
                                  CvServicePreset preset,
                                  const char *custom_template,
                                  const char *host,
                                  guint16 port,
                                  GAppLaunchContext *launch_context,
                                  GSubprocess **started,
                                  GError **error);

G_END_DECLS
