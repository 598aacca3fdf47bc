/* test-password.c: Argon2id hashes, the checks on stored ones, and `culvert-cli hash-password`. */
#define _GNU_SOURCE /* posix_openpt() and friends */
#include "auth/cv-password.h"

#include <gio/gio.h>
#include <string.h>

#ifdef G_OS_UNIX
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#endif

#define PASSWORD "correct horse battery staple"

/* Made once by cv_password_hash (PASSWORD): hashing costs ~100 ms a time. */
static char *reference_hash;

static const char *
get_reference_hash (void)
{
  if (reference_hash == NULL)
    {
      g_autoptr (GError) error = NULL;

      reference_hash = cv_password_hash (PASSWORD, &error);
      g_assert_no_error (error);
      g_assert_nonnull (reference_hash);
    }
  return reference_hash;
}

/* The reference hash with one piece replaced. */
static char *
edit_reference (const char *from, const char *to)
{
  const char *hash = get_reference_hash ();
  const char *at = strstr (hash, from);

  g_assert_nonnull (at);
  return g_strdup_printf ("%.*s%s%s", (int) (at - hash), hash, to, at + strlen (from));
}

static void
test_round_trip (void)
{
  const char *hash = get_reference_hash ();
  g_autoptr (GError) error = NULL;

  g_assert_true (g_str_has_prefix (hash, "$argon2id$v=19$m=65536,t=2,p=1$"));
  g_assert_true (cv_password_hash_is_valid (hash, &error));
  g_assert_no_error (error);
  g_assert_false (cv_password_hash_needs_rehash (hash));

  g_assert_true (cv_password_verify (hash, PASSWORD));
  g_assert_false (cv_password_verify (hash, PASSWORD " "));
  g_assert_false (cv_password_verify (hash, "correct horse battery stapl"));
  g_assert_false (cv_password_verify (hash, "Correct horse battery staple"));
  g_assert_false (cv_password_verify (hash, ""));
  g_assert_false (cv_password_verify (hash, NULL));
  g_assert_false (cv_password_verify (NULL, PASSWORD));
}

static void
test_salted (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *again = cv_password_hash (PASSWORD, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (again, !=, get_reference_hash ());
  g_assert_true (cv_password_verify (again, PASSWORD));
}

static void
test_unicode (void)
{
  const char *password = "pässwörd · 密码 · 🔑";
  g_autoptr (GError) error = NULL;
  g_autofree char *hash = cv_password_hash (password, &error);

  g_assert_no_error (error);
  g_assert_true (cv_password_verify (hash, password));
  g_assert_false (cv_password_verify (hash, "passwörd · 密码 · 🔑"));
}

static void
test_password_length (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *longest = g_strnfill (CV_PASSWORD_MAX_LENGTH, 'x');
  g_autofree char *too_long = g_strnfill (CV_PASSWORD_MAX_LENGTH + 1, 'x');
  g_autofree char *hash = NULL;

  g_assert_null (cv_password_hash ("", &error));
  g_assert_error (error, CV_AUTH_ERROR, CV_AUTH_ERROR_EMPTY_PASSWORD);
  g_assert_nonnull (strstr (error->message, "empty"));
  g_clear_error (&error);

  g_assert_null (cv_password_hash (too_long, &error));
  g_assert_error (error, CV_AUTH_ERROR, CV_AUTH_ERROR_PASSWORD_TOO_LONG);
  g_clear_error (&error);

  hash = cv_password_hash (longest, &error);
  g_assert_no_error (error);
  g_assert_true (cv_password_verify (hash, longest));
  g_assert_false (cv_password_verify (hash, too_long));
}

typedef struct {
  const char *name;
  const char *from; /* NULL: use `hash` as it is */
  const char *to;
  const char *hash;
  CvAuthError code;
  const char *message; /* a part of the error message */
} BadHash;

static const BadHash bad_hashes[] = {
  { "empty", NULL, NULL, "", CV_AUTH_ERROR_MALFORMED_HASH, "empty" },
  { "plain-password", NULL, NULL, PASSWORD, CV_AUTH_ERROR_MALFORMED_HASH, "password itself" },
  /* What bash leaves of "$argon2id$v=19$m=65536,t=2,p=1$…" in double quotes, and with
   * its first "$" escaped. */
  { "shell-ate-dollars", NULL, NULL, "=19=65536,t=2,p=1", CV_AUTH_ERROR_MALFORMED_HASH,
    "“$” signs the shell removed; quote it with single quotes" },
  { "shell-ate-most-dollars", NULL, NULL, "$argon2id=19=65536,t=2,p=1",
    CV_AUTH_ERROR_MALFORMED_HASH, "“$” signs the shell removed" },
  { "shell-ate-dollars-no-prefix", NULL, NULL, "argon2id=19=65536,t=2,p=1c2FsdA",
    CV_AUTH_ERROR_MALFORMED_HASH, "“$” signs the shell removed" },
  { "dollar", NULL, NULL, "$", CV_AUTH_ERROR_UNSUPPORTED_HASH, "$argon2id$" },
  { "dollars", NULL, NULL, "$$$$$", CV_AUTH_ERROR_UNSUPPORTED_HASH, "$argon2id$" },
  { "prefix-only", NULL, NULL, "$argon2id$", CV_AUTH_ERROR_MALFORMED_HASH, "six" },
  { "argon2i", "$argon2id$", "$argon2i$", NULL, CV_AUTH_ERROR_UNSUPPORTED_HASH, "Argon2i;" },
  { "argon2d", "$argon2id$", "$argon2d$", NULL, CV_AUTH_ERROR_UNSUPPORTED_HASH, "Argon2d" },
  { "bcrypt", NULL, NULL, "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
    CV_AUTH_ERROR_UNSUPPORTED_HASH, "bcrypt" },
  { "sha512-crypt", NULL, NULL, "$6$salt$IxDD3jeSOb5eB1CX5LBsqZFVkJdido3OUILO5Ifz5iwMuTS4XMS130",
    CV_AUTH_ERROR_UNSUPPORTED_HASH, "SHA-512-crypt" },
  { "unknown-scheme", "$argon2id$", "$pbkdf2-sha256$", NULL, CV_AUTH_ERROR_UNSUPPORTED_HASH,
    "not an Argon2id hash" },
  { "version-16", "$v=19$", "$v=16$", NULL, CV_AUTH_ERROR_UNSUPPORTED_HASH, "v=19" },
  { "no-version", "$v=19$", "$", NULL, CV_AUTH_ERROR_MALFORMED_HASH, "six" },
  { "memory-not-a-number", "m=65536", "m=lots", NULL, CV_AUTH_ERROR_MALFORMED_HASH, "“m=”" },
  { "memory-signed", "m=65536", "m=+65536", NULL, CV_AUTH_ERROR_MALFORMED_HASH, "“m=”" },
  { "memory-negative", "m=65536", "m=-65536", NULL, CV_AUTH_ERROR_MALFORMED_HASH, "“m=”" },
  { "memory-overflow", "m=65536", "m=99999999999", NULL, CV_AUTH_ERROR_MALFORMED_HASH, "“m=”" },
  { "passes-zero", "t=2", "t=0", NULL, CV_AUTH_ERROR_MALFORMED_HASH, "“t=”" },
  { "lanes-empty", "p=1", "p=", NULL, CV_AUTH_ERROR_MALFORMED_HASH, "“p=”" },
  { "parameters-reordered", "m=65536,t=2", "t=2,m=65536", NULL, CV_AUTH_ERROR_MALFORMED_HASH,
    "“m=”" },
  { "parameters-missing", "m=65536,t=2,p=1", "m=65536,t=2", NULL, CV_AUTH_ERROR_MALFORMED_HASH,
    "its parameters" },
  { "parameters-extra", "p=1", "p=1,x=2", NULL, CV_AUTH_ERROR_MALFORMED_HASH, "its parameters" },
  { "too-weak-memory", "m=65536,t=2", "m=4096,t=10", NULL, CV_AUTH_ERROR_UNSAFE_HASH, "too weak" },
  { "too-weak-cost", "m=65536,t=2", "m=8192,t=1", NULL, CV_AUTH_ERROR_UNSAFE_HASH, "too weak" },
  { "too-costly-memory", "m=65536", "m=4194304", NULL, CV_AUTH_ERROR_UNSAFE_HASH, "too costly" },
  { "too-costly-passes", "t=2", "t=1000", NULL, CV_AUTH_ERROR_UNSAFE_HASH, "too costly" },
  { "too-costly-product", "m=65536,t=2", "m=1048576,t=5", NULL, CV_AUTH_ERROR_UNSAFE_HASH,
    "too costly" },
  { "too-many-lanes", "p=1", "p=64", NULL, CV_AUTH_ERROR_UNSAFE_HASH, "too costly" },
  { "salt-short", NULL, NULL, "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$",
    CV_AUTH_ERROR_MALFORMED_HASH, "its salt" },
  { "salt-not-base64", "p=1$", "p=1$*", NULL, CV_AUTH_ERROR_MALFORMED_HASH, "its salt" },
  { "hash-missing", NULL, NULL, "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0$",
    CV_AUTH_ERROR_MALFORMED_HASH, "its hash" },
  { "hash-padded", NULL, NULL,
    "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g=",
    CV_AUTH_ERROR_MALFORMED_HASH, "its hash" },
  { "trailing-field", NULL, NULL,
    "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g$",
    CV_AUTH_ERROR_MALFORMED_HASH, "six" },
  { "too-long", NULL, NULL,
    "$argon2id$v=19$m=65536,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdHNhbHRzYWx0c2FsdHNhbHRzYWx0$"
    "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g",
    CV_AUTH_ERROR_MALFORMED_HASH, "too long" },
};

static void
test_bad_hash (gconstpointer data)
{
  const BadHash *bad = data;
  g_autofree char *hash = bad->from != NULL ? edit_reference (bad->from, bad->to)
                                            : g_strdup (bad->hash);
  g_autoptr (GError) error = NULL;

  g_assert_false (cv_password_hash_is_valid (hash, &error));
  g_assert_error (error, CV_AUTH_ERROR, (gint) bad->code);
  g_test_message ("%s: %s", hash, error->message);
  g_assert_nonnull (strstr (error->message, bad->message));
  /* A config line may hold the password by mistake: the message never repeats it. */
  if (strlen (hash) > strlen ("$argon2id$"))
    g_assert_null (strstr (error->message, hash));
  g_assert_false (cv_password_verify (hash, PASSWORD));
  g_assert_true (cv_password_hash_needs_rehash (hash));
}

static void
test_null_hash (void)
{
  g_autoptr (GError) error = NULL;

  g_assert_false (cv_password_hash_is_valid (NULL, &error));
  g_assert_error (error, CV_AUTH_ERROR, CV_AUTH_ERROR_MALFORMED_HASH);
  g_assert_true (cv_password_hash_needs_rehash (NULL));
}

/* Every truncation of a good hash is refused or at least never matches, and none
 * crashes (the sanitizer build watches the reads). */
static void
test_truncated (void)
{
  const char *hash = get_reference_hash ();
  gsize len = strlen (hash);

  for (gsize cut = 0; cut < len; cut++)
    {
      g_autofree char *prefix = g_strndup (hash, cut);
      g_autoptr (GError) error = NULL;

      if (cv_password_hash_is_valid (prefix, &error))
        g_assert_false (cv_password_verify (prefix, PASSWORD));
      else
        g_assert_true (error->domain == CV_AUTH_ERROR && error->message[0] != '\0');
    }
}

/* Other lanes and costs that libsodium can verify are accepted, but would be
 * rehashed. */
static void
test_other_parameters (void)
{
  g_autofree char *lanes = edit_reference ("p=1$", "p=4$");
  g_autofree char *passes = edit_reference ("t=2", "t=3");

  g_assert_true (cv_password_hash_is_valid (lanes, NULL));
  g_assert_true (cv_password_hash_needs_rehash (lanes));
  g_assert_true (cv_password_hash_is_valid (passes, NULL));
  g_assert_true (cv_password_hash_needs_rehash (passes));
  /* The parameters are part of the hash: changing them breaks it. */
  g_assert_false (cv_password_verify (passes, PASSWORD));
}

/* culvert-cli, as meson built it (CULVERT_CLI in tests/meson.build). */
static const char *
cli_path (void)
{
  const char *path = g_getenv ("CULVERT_CLI");

  if (path == NULL)
    g_test_skip ("CULVERT_CLI is not set; run the tests through meson");
  return path;
}

static char *
bytes_to_string (GBytes *bytes)
{
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);

  return len > 0 ? g_strndup (data, len) : g_strdup ("");
}

/* Runs culvert-cli hash-password [extra] with @input (@len bytes, -1 for all of
 * it) on stdin. */
static int
run_hash_password (const char *input, gssize len, const char *extra, char **out, char **err)
{
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GBytes) in_bytes = NULL;
  g_autoptr (GBytes) out_bytes = NULL;
  g_autoptr (GBytes) err_bytes = NULL;
  g_autoptr (GError) error = NULL;

  in_bytes = g_bytes_new (input, len >= 0 ? (gsize) len : strlen (input));
  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                              &error, cli_path (), "hash-password", extra, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate (process, in_bytes, NULL, &out_bytes, &err_bytes, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  *out = bytes_to_string (out_bytes);
  *err = bytes_to_string (err_bytes);
  return g_subprocess_get_exit_status (process);
}

static void
test_cli_hash_password (void)
{
  static const struct {
    const char *input;
    const char *password;
  } cases[] = {
    { PASSWORD "\n", PASSWORD },
    { "no newline at the end", "no newline at the end" },
    { "windows\r\n", "windows" },
    { "  spaces are kept  \n", "  spaces are kept  " },
    { "only the first line\nsecond line\n", "only the first line" },
  };

  if (cli_path () == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *out = NULL;
      g_autofree char *err = NULL;

      g_assert_cmpint (run_hash_password (cases[i].input, -1, NULL, &out, &err), ==, 0);
      g_assert_cmpstr (err, ==, "");
      g_assert_true (g_str_has_suffix (out, "\n"));
      out[strlen (out) - 1] = '\0';
      g_assert_true (cv_password_hash_is_valid (out, NULL));
      g_assert_true (cv_password_verify (out, cases[i].password));
      if (!g_str_equal (cases[i].input, cases[i].password))
        g_assert_false (cv_password_verify (out, cases[i].input));
    }
}

static void
test_cli_refuses (void)
{
  static const struct {
    const char *input;
    gssize len;
    const char *message;
  } cases[] = {
    { "", 0, "empty" },
    { "\n", 1, "empty" },
    { "\r\n", 2, "empty" },
    { "x\0y\n", 4, "NUL" },
  };
  g_autofree char *too_long = g_strnfill (CV_PASSWORD_MAX_LENGTH * 3, 'x');
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  if (cli_path () == NULL)
    return;
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_assert_cmpint (run_hash_password (cases[i].input, cases[i].len, NULL, &out, &err), ==, 2);
      g_assert_cmpstr (out, ==, "");
      g_assert_nonnull (strstr (err, cases[i].message));
      g_clear_pointer (&out, g_free);
      g_clear_pointer (&err, g_free);
    }

  g_assert_cmpint (run_hash_password (too_long, -1, NULL, &out, &err), ==, 2);
  g_assert_cmpstr (out, ==, "");
  g_assert_nonnull (strstr (err, "long"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Never from argv, where other users can read it; and the error does not repeat it. */
  g_assert_cmpint (run_hash_password ("", -1, PASSWORD, &out, &err), ==, 2);
  g_assert_cmpstr (out, ==, "");
  g_assert_nonnull (strstr (err, "never from the command line"));
  g_assert_null (strstr (err, PASSWORD));
}

static void
test_cli_help_lists_commands (void)
{
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL;

  if (cli_path () == NULL)
    return;
  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, cli_path (), "--help", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_successful (process));
  g_assert_nonnull (strstr (out, "hash-password"));
  g_assert_nonnull (strstr (out, "version"));
}

#ifdef G_OS_UNIX
/* Reads what the terminal shows until @expected appears (or 10 s pass). */
static void
read_terminal_until (int master, GString *shown, const char *expected)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (strstr (shown->str, expected) == NULL)
    {
      GPollFD poll_fd = { master, G_IO_IN, 0 };
      char buffer[256];
      gssize n;

      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      if (g_poll (&poll_fd, 1, 100) <= 0)
        continue;
      n = read (master, buffer, sizeof buffer);
      g_assert_cmpint (n, >, 0);
      g_string_append_len (shown, buffer, n);
    }
}

/* On a terminal: two prompts on stderr, nothing echoed, the hash on stdout. */
static void
run_on_terminal (const char *first,
                 const char *second,
                 int expected_status,
                 char **out,
                 GString *shown)
{
  g_autoptr (GSubprocessLauncher) launcher = NULL;
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  int master, slave;

  master = posix_openpt (O_RDWR | O_NOCTTY);
  g_assert_cmpint (master, >=, 0);
  g_assert_cmpint (grantpt (master), ==, 0);
  g_assert_cmpint (unlockpt (master), ==, 0);
  slave = open (ptsname (master), O_RDWR | O_NOCTTY);
  g_assert_cmpint (slave, >=, 0);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_take_stdin_fd (launcher, slave);
  g_subprocess_launcher_take_stderr_fd (launcher, dup (slave));
  process = g_subprocess_launcher_spawn (launcher, &error, cli_path (), "hash-password", NULL);
  g_assert_no_error (error);
  g_clear_object (&launcher); /* closes our copies of the slave */

  /* The prompt comes after echo is off: typing before it would be shown (and
   * flushed). */
  read_terminal_until (master, shown, "Password: ");
  g_assert_cmpint (write (master, first, strlen (first)), ==, (gssize) strlen (first));
  if (second != NULL)
    {
      read_terminal_until (master, shown, "again: ");
      g_assert_cmpint (write (master, second, strlen (second)), ==, (gssize) strlen (second));
    }

  g_subprocess_communicate_utf8 (process, NULL, NULL, out, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, expected_status);
  /* Whatever is still on its way to the terminal. */
  {
    GPollFD poll_fd = { master, G_IO_IN, 0 };
    char buffer[256];
    gssize n;

    while (g_poll (&poll_fd, 1, 100) > 0 && (n = read (master, buffer, sizeof buffer)) > 0)
      g_string_append_len (shown, buffer, n);
  }
  close (master);
}

static void
test_cli_terminal (void)
{
  g_autoptr (GString) shown = g_string_new (NULL);
  g_autofree char *out = NULL;

  if (cli_path () == NULL)
    return;
  run_on_terminal ("typed secret\n", "typed secret\n", 0, &out, shown);
  g_test_message ("the terminal showed: %s", shown->str);
  g_assert_null (strstr (shown->str, "typed secret"));
  g_assert_true (g_str_has_suffix (out, "\n"));
  out[strlen (out) - 1] = '\0';
  g_assert_true (cv_password_verify (out, "typed secret"));
}

static void
test_cli_terminal_mismatch (void)
{
  g_autoptr (GString) shown = g_string_new (NULL);
  g_autofree char *out = NULL;

  if (cli_path () == NULL)
    return;
  run_on_terminal ("one secret\n", "another secret\n", 2, &out, shown);
  g_assert_cmpstr (out, ==, "");
  g_assert_nonnull (strstr (shown->str, "do not match"));
  g_assert_null (strstr (shown->str, "secret"));
}
#endif

/* The hash an unknown session is checked against: valid, of today's cost (so it takes
 * what a real check takes), matched by nothing, and different every time. */
static void
test_dummy_hash (void)
{
  g_autofree char *dummy = cv_password_dummy_hash ();
  g_autofree char *other = cv_password_dummy_hash ();

  g_assert_true (cv_password_hash_is_valid (dummy, NULL));
  g_assert_false (cv_password_hash_needs_rehash (dummy));
  g_assert_true (g_str_has_prefix (dummy, "$argon2id$v=19$m=65536,t=2,p=1$"));
  g_assert_cmpstr (dummy, !=, other);
  g_assert_false (cv_password_verify (dummy, "password"));
}

/* The generated passwords: 8 groups of 4 base32 characters (160 bits), each new, and
 * each a valid password (it hashes and verifies). */
static void
test_generate (void)
{
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                       (GDestroyNotify) cv_secret_free, NULL);
  g_autoptr (GRegex) form = g_regex_new ("^[a-z2-7]{4}(-[a-z2-7]{4}){7}$", 0, 0, NULL);

  for (guint i = 0; i < 200; i++)
    {
      CvSecret *password = cv_password_generate ();

      g_assert_true (g_regex_match (form, password, 0, NULL));
      g_assert_false (g_hash_table_contains (seen, password));
      g_hash_table_add (seen, password);
    }
  {
    g_autoptr (CvSecret) password = cv_password_generate ();
    g_autoptr (GError) error = NULL;
    g_autofree char *phc = cv_password_hash (password, &error);

    g_assert_no_error (error);
    g_assert_true (cv_password_verify (phc, password));
  }
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/password/dummy-hash", test_dummy_hash);
  g_test_add_func ("/password/round-trip", test_round_trip);
  g_test_add_func ("/password/salted", test_salted);
  g_test_add_func ("/password/unicode", test_unicode);
  g_test_add_func ("/password/length", test_password_length);
  g_test_add_func ("/password/null-hash", test_null_hash);
  g_test_add_func ("/password/truncated", test_truncated);
  g_test_add_func ("/password/other-parameters", test_other_parameters);
  for (guint i = 0; i < G_N_ELEMENTS (bad_hashes); i++)
    {
      g_autofree char *path = g_strdup_printf ("/password/bad-hash/%s", bad_hashes[i].name);
      g_test_add_data_func (path, &bad_hashes[i], test_bad_hash);
    }
  g_test_add_func ("/cli/hash-password/stdin", test_cli_hash_password);
  g_test_add_func ("/cli/hash-password/refuses", test_cli_refuses);
  g_test_add_func ("/password/generate", test_generate);
  g_test_add_func ("/cli/help-lists-commands", test_cli_help_lists_commands);
#ifdef G_OS_UNIX
  g_test_add_func ("/cli/hash-password/terminal", test_cli_terminal);
  g_test_add_func ("/cli/hash-password/terminal-mismatch", test_cli_terminal_mismatch);
#endif

  status = g_test_run ();
  g_free (reference_hash);
  return status;
}
