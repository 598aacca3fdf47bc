/* cv-gui-e2e.h: real processes and services for the end-to-end GUI tests — a culvert-cli
 * gateway and share agent, a TigerVNC server, a TCP service of random bytes — each wait
 * bounded, every child killed when the test ends, however it ends. */
#pragma once

#include <gio/gio.h>

#include "cv-gui-test-util.h"

G_BEGIN_DECLS

/* After cv_gui_test_app_init (): @dir is its private directory (the children's logs go
 * there), @path the PATH from before it emptied PATH (where Xtigervnc and vncviewer are
 * looked for).  Unless run-with-keyring.sh gave the test a bus and keyring of its own,
 * it leaves the test without a session bus, hence without a keyring.  Children die with the test
 * (PR_SET_PDEATHSIG), and at exit every child left, the app's too, is killed. */
void cv_e2e_init (const char *dir, const char *path);
const char *cv_e2e_dir (void);
/* @name's full path in the PATH given to cv_e2e_init (), or NULL. */
char *cv_e2e_find_program (const char *name);
/* The culvert-cli that meson built ($CULVERT_CLI). */
const char *cv_e2e_culvert_cli (void);
/* A TCP port free on 127.0.0.1 now. */
guint16 cv_e2e_free_port (void);

/* Starts @argv with @env_extra ("NAME=value", NULL-terminated, may be NULL) added to the
 * test's environment, stdout and stderr into <dir>/@name.log; registered to be killed. */
GSubprocess *cv_e2e_spawn (const char *name, const char *const *env_extra, const char *const *argv);
/* cv_gui_wait_until () for a condition that no event of the main context announces (a
 * file, /proc, another thread): it is looked at every 20 ms. */
void cv_e2e_poll_until (CvGuiCondition condition, gpointer data, const char *what);
/* What @name's log holds now. */
char *cv_e2e_read_log (const char *name);
/* Iterates the main context until @name's log contains @needle; the matching line. */
char *cv_e2e_wait_for_log (const char *name, const char *needle);
/* SIGTERM, then SIGKILL after 5 s; waits (bounded) until it has exited. */
void cv_e2e_stop (GSubprocess *process);
void cv_e2e_kill_all (void);

typedef struct {
  GSubprocess *process;
  guint16 port;
  char *address; /* "127.0.0.1:PORT" */
  char *session;
  char *share_password;
  char *connect_password;
  char *fingerprint; /* "sha256:…", as the gateway printed it */
} CvE2eGateway;

/* culvert-cli gateway --listen 127.0.0.1:PORT --session @session: the passwords and the
 * fingerprint read from what it prints. */
CvE2eGateway *cv_e2e_start_gateway (const char *session);
void cv_e2e_gateway_free (CvE2eGateway *gateway);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvE2eGateway, cv_e2e_gateway_free)

/* culvert-cli share with the password in CULVERT_PASSWORD, allowed @allow ("host:port",
 * NULL-terminated); waits until it is online at the gateway. */
GSubprocess *cv_e2e_start_share (const char *gateway,
                                 const char *fingerprint,
                                 const char *session,
                                 const char *password,
                                 const char *const *allow);
/* The same from a whole command line as the app prints it for a customer
 * ("CULVERT_PASSWORD='…' culvert-cli share …"), culvert-cli replaced by the built one. */
GSubprocess *cv_e2e_start_share_command (const char *command_line);

/* Xtigervnc on a free display, -localhost -SecurityTypes None, its log "xtigervnc";
 * returns its RFB port once it listens. */
guint16 cv_e2e_start_vnc_server (void);

/* A TCP service on 127.0.0.1 that sends every client the same @size random bytes and
 * closes; their SHA-256 in *@sha256 (hex, to free).  It runs in threads of its own. */
guint16 cv_e2e_start_data_service (gsize size, char **sha256);
/* Connects to 127.0.0.1:@port, reads to EOF (in a thread, the main context iterating
 * meanwhile: the app's engine runs on it) and returns the SHA-256 of what came. */
char *cv_e2e_fetch_sha256 (guint16 port, guint64 *n_bytes);
/* Whether a TCP connect to 127.0.0.1:@port is refused. */
gboolean cv_e2e_connect_refused (guint16 port);

/* A live child of this process whose command is @comm (as in /proc/PID/comm; NULL: any) and whose
 * command line has @arg_part in one of its words (NULL: any); 0 if none. */
GPid cv_e2e_find_child (const char *comm, const char *arg_part);
gboolean cv_e2e_pid_alive (GPid pid);

G_END_DECLS
