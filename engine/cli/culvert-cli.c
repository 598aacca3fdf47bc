/* culvert-cli: the headless binary (gateway, share and connect agents). */
#include "cv-version.h"

#include "cli/cli-fingerprint.h"
#include "cli/cli-init.h"
#include "cli/cli-check-config.h"
#include "cli/cli-roles.h"
#include "cli/cli-status.h"
#include "transport/cv-tls.h"

#include <errno.h>
#include <glib.h>
#include <locale.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#ifdef G_OS_UNIX
#include <signal.h>
#include <termios.h>
#include <unistd.h>
#else
#include <io.h>
#include <windows.h>
#endif

#include "wire/cv-frame.h"
#include "auth/cv-password.h"

typedef struct {
  const char *name;
  const char *summary;
  int (*run) (int argc, char **argv); /* argv[0] is the command's name */
} Command;

static int run_version (int argc, char **argv);
static int run_hash_password (int argc, char **argv);

static const Command commands[] = {
  { "version", "Print the version and the wire protocol version", run_version },
  { "hash-password", "Read a password on stdin, print its hash for the gateway config",
    run_hash_password },
  { "check-config", "Check a gateway, share or connect config file", cv_cli_check_config },
  { "init", "Write a gateway, share and connect config that work together", cv_cli_init },
  { "fingerprint", "Print a gateway's or an agent's key fingerprint", cv_cli_fingerprint },
  { "gateway", "Run the gateway", cv_cli_gateway },
  { "share", "Run a share agent: offer this machine's services", cv_cli_share },
  { "connect", "Run a connect agent: reach a share agent's services", cv_cli_connect },
  { "status", "Show what a running gateway or agent is doing (its admin socket)", cv_cli_status },
};

static char *
describe_commands (void)
{
  GString *text = g_string_new ("Commands:\n");

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    g_string_append_printf (text, "  %-15s %s\n", commands[i].name, commands[i].summary);
  g_string_append (text, "\n“culvert-cli COMMAND --help” shows a command's options.  Passwords are "
                         "read from stdin,\na file or an environment variable, never from the "
                         "command line.  Every config key\nis in culvert-cli(1).");
  return g_string_free (text, FALSE);
}

/* For the commands that take no arguments: --help and -h answer with the usage and exit 0
 * (inside g_option_context_parse); anything else is an error.  The error never repeats
 * what was given: for hash-password it may be the password.  TRUE to go on, else *status
 * is the exit status. */
static gboolean
parse_no_arguments (int argc, char **argv, const char *what, const char *description, int *status)
{
  GOptionEntry entries[] = { { NULL } };
  g_autoptr (GOptionContext) context = g_option_context_new (what);
  const char *command = argv[0];

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context, description);
  if (!g_option_context_parse (context, &argc, &argv, NULL) || argc > 1)
    {
      g_printerr ("culvert-cli %s: takes no arguments other than --help%s\n", command,
                  g_str_equal (command, "hash-password")
                    ? "; the password is read from stdin, never from the command line"
                    : "");
      *status = 2;
      return FALSE;
    }
  return TRUE;
}

static int
print_version (void)
{
  g_print ("culvert-cli %s (wire protocol %u)\n", CV_VERSION, (unsigned) CV_PROTOCOL_VERSION);
  return 0;
}

static int
run_version (int argc, char **argv)
{
  int status;

  if (!parse_no_arguments (argc, argv, "— print the version and the wire protocol version", NULL,
                           &status))
    return status;
  return print_version ();
}

/* hash-password: the password comes from stdin only (argv is visible to every user
 * of the machine), lives in one stack buffer that is wiped, and is read without
 * stdio's buffer so that no other copy is left behind. */

#define PASSWORD_BUFFER_SIZE (CV_PASSWORD_MAX_LENGTH + 2) /* a '\r' and the NUL */

/* 0, or the exit status after saying what went wrong. */
static int
read_password_line (char *buffer, gsize size)
{
  gsize len = 0;
  int c;

  while ((c = getc (stdin)) != EOF && c != '\n')
    {
      if (c == '\0')
        {
          g_printerr ("culvert-cli hash-password: the password contains a NUL byte\n");
          return 2;
        }
      if (len + 1 >= size)
        {
          g_printerr ("culvert-cli hash-password: the password is longer than %d bytes\n",
                      CV_PASSWORD_MAX_LENGTH);
          return 2;
        }
      buffer[len++] = (char) c;
    }
  if (ferror (stdin))
    {
      g_printerr ("culvert-cli hash-password: cannot read stdin: %s\n", g_strerror (errno));
      return 1;
    }
  if (len > 0 && buffer[len - 1] == '\r')
    len--;
  buffer[len] = '\0';
  return 0;
}

#ifdef G_OS_UNIX
static struct termios saved_terminal;
static const int fatal_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

/* Ctrl-C at the prompt must not leave the shell without echo. */
static void
restore_terminal_and_die (int signum)
{
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved_terminal);
  signal (signum, SIG_DFL);
  raise (signum);
}

static gboolean
stdin_is_terminal (void)
{
  return isatty (STDIN_FILENO);
}

static gboolean
terminal_echo_off (void)
{
  struct termios quiet;
  struct sigaction action;

  if (tcgetattr (STDIN_FILENO, &saved_terminal) != 0)
    return FALSE;
  memset (&action, 0, sizeof action);
  action.sa_handler = restore_terminal_and_die;
  sigemptyset (&action.sa_mask);
  for (guint i = 0; i < G_N_ELEMENTS (fatal_signals); i++)
    sigaction (fatal_signals[i], &action, NULL);

  quiet = saved_terminal;
  quiet.c_lflag &= ~ECHO;
  return tcsetattr (STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
}

static void
terminal_echo_restore (void)
{
  tcsetattr (STDIN_FILENO, TCSAFLUSH, &saved_terminal);
  for (guint i = 0; i < G_N_ELEMENTS (fatal_signals); i++)
    signal (fatal_signals[i], SIG_DFL);
}
#else
static DWORD saved_console_mode;

static gboolean
stdin_is_terminal (void)
{
  return _isatty (_fileno (stdin));
}

static gboolean
terminal_echo_off (void)
{
  HANDLE console = GetStdHandle (STD_INPUT_HANDLE);

  if (!GetConsoleMode (console, &saved_console_mode))
    return FALSE;
  return SetConsoleMode (console, saved_console_mode & ~ENABLE_ECHO_INPUT);
}

static void
terminal_echo_restore (void)
{
  SetConsoleMode (GetStdHandle (STD_INPUT_HANDLE), saved_console_mode);
}
#endif

/* Asks twice with echo off; the prompts go to stderr so that stdout holds only
 * the hash. */
static int
prompt_password (char *password, gsize size)
{
  char again[PASSWORD_BUFFER_SIZE];
  int status;

  if (!terminal_echo_off ())
    {
      g_printerr ("culvert-cli hash-password: cannot turn off the terminal's echo\n");
      return 1;
    }
  g_printerr ("Password: ");
  status = read_password_line (password, size);
  g_printerr ("\n");
  if (status == 0 && password[0] != '\0')
    {
      g_printerr ("Password again: ");
      status = read_password_line (again, sizeof again);
      g_printerr ("\n");
      if (status == 0 && strcmp (password, again) != 0)
        {
          g_printerr ("culvert-cli hash-password: the passwords do not match\n");
          status = 2;
        }
      sodium_memzero (again, sizeof again);
    }
  terminal_echo_restore ();
  return status;
}

static int
run_hash_password (int argc, char **argv)
{
  char password[PASSWORD_BUFFER_SIZE];
  g_autofree char *phc = NULL;
  g_autoptr (GError) error = NULL;
  int status;

  if (!parse_no_arguments (argc, argv, "— print a password's hash for the gateway config",
                           "The password is read from stdin, never from the command line: "
                           "at a terminal it is asked\nfor twice with echo off; otherwise the "
                           "first line is read.  The hash (an Argon2id\nPHC string) goes to "
                           "stdout, for share_password_hash or connect_password_hash.",
                           &status))
    return status;

  setvbuf (stdin, NULL, _IONBF, 0);
  if (stdin_is_terminal ())
    status = prompt_password (password, sizeof password);
  else
    status = read_password_line (password, sizeof password);
  if (status == 0)
    phc = cv_password_hash (password, &error);
  sodium_memzero (password, sizeof password);
  if (status != 0)
    return status;

  if (phc == NULL)
    {
      g_printerr ("culvert-cli hash-password: %s\n", error->message);
      return error->code == CV_AUTH_ERROR_HASH_FAILED ? 1 : 2;
    }
  g_print ("%s\n", phc);
  return 0;
}

int
main (int argc, char **argv)
{
  gboolean version = FALSE;
  GOptionEntry entries[] = { { "version", 'V', 0, G_OPTION_ARG_NONE, &version,
                               "Print the version and exit", NULL },
                             { NULL } };
  g_autoptr (GOptionContext) context = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *commands_help = describe_commands ();
  g_autofree char *prgname = NULL;

  setlocale (LC_ALL, "");
  /* Set once, before any option parsing, so that a command's --help says
   * "culvert-cli COMMAND [OPTION…]"; the log writer does not use it. */
  for (guint i = 0; argc > 1 && i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (argv[1], commands[i].name))
      prgname = g_strconcat ("culvert-cli ", commands[i].name, NULL);
  g_set_prgname (prgname != NULL ? prgname : "culvert-cli");
  /* Before any thread or TLS connection exists: TLS 1.3 only, in the handshake itself. */
  cv_tls_restrict_process_to_tls13 ();
  context = g_option_context_new (
    "COMMAND [ARGS…] — carry TCP connections under firewalls and NAT");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_description (context, commands_help);
  /* Stop at the command: what follows it are the command's own options. */
  g_option_context_set_strict_posix (context, TRUE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("culvert-cli: %s\n", error->message);
      return 2;
    }

  if (version)
    return print_version ();
  if (argc < 2)
    {
      g_autofree char *help = g_option_context_get_help (context, TRUE, NULL);
      g_printerr ("%s", help);
      return 2;
    }
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (argv[1], commands[i].name))
      return commands[i].run (argc - 1, argv + 1);

  g_printerr ("culvert-cli: unknown command “%s”; see culvert-cli --help\n", argv[1]);
  return 2;
}
