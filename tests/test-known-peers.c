/* test-known-peers.c: share agents' keys pinned on first use: pinning, matching,
 * refusing a changed key, and files that are missing, unreadable or corrupt. */
#include "transport/cv-known-peers.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FP_A "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define FP_B "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define FP_C "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

typedef struct {
  char *dir;
  char *path;
} Fixture;

static void
fixture_set_up (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  f->dir = g_dir_make_tmp ("culvert-known-peers-XXXXXX", &error);
  g_assert_no_error (error);
  f->path = g_build_filename (f->dir, "state", "known_shares", NULL);
}

static void
fixture_tear_down (Fixture *f, gconstpointer data)
{
  g_autofree char *state = g_path_get_dirname (f->path);

  /* Only what the cases here make: the file (or a directory in its place) in "state". */
  g_chmod (f->path, 0600);
  g_remove (f->path);
  g_rmdir (state);
  g_assert_cmpint (g_rmdir (f->dir), ==, 0);
  g_free (f->dir);
  g_free (f->path);
}

static char *
read_file (const char *path)
{
  g_autoptr (GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}

static void
write_file (Fixture *f, const char *contents, gssize len)
{
  g_autofree char *dir = g_path_get_dirname (f->path);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (f->path, contents, len, &error);
  g_assert_no_error (error);
}

static CvKnownPeerResult
check (Fixture *f, const char *session, const char *fingerprint, char **pinned)
{
  g_autoptr (GError) error = NULL;
  CvKnownPeerResult result = cv_known_peers_check (f->path, session, fingerprint, pinned, &error);

  g_assert_no_error (error);
  return result;
}

/* A refusal because of an error, leaving the file as it was. */
static void
assert_refused_with_error (Fixture *f,
                           const char *session,
                           const char *fingerprint,
                           const char *expected)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  g_autofree char *pinned = NULL;

  g_file_get_contents (f->path, &before, NULL, NULL);
  g_assert_cmpint (cv_known_peers_check (f->path, session, fingerprint, &pinned, &error), ==,
                   CV_KNOWN_PEER_CHANGED);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, expected));
  g_assert_null (pinned);
  g_file_get_contents (f->path, &after, NULL, NULL);
  g_assert_cmpstr (before, ==, after);
}

static void
test_first_use_pins (Fixture *f, gconstpointer data)
{
  g_autofree char *pinned = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *dir = g_path_get_dirname (f->path);
  GStatBuf st;

  /* Neither the file nor its directory exist yet. */
  g_assert_false (g_file_test (dir, G_FILE_TEST_EXISTS));
  g_assert_cmpint (check (f, "s1", FP_A, &pinned), ==, CV_KNOWN_PEER_NEW);
  g_assert_null (pinned);
  contents = read_file (f->path);
  g_assert_cmpstr (contents, ==, "s1 " FP_A "\n");

  g_assert_cmpint (g_stat (f->path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  g_assert_cmpint (g_stat (dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
}

static void
test_match_and_changed (Fixture *f, gconstpointer data)
{
  g_autofree char *pinned = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  g_assert_cmpint (check (f, "s1", FP_A, NULL), ==, CV_KNOWN_PEER_NEW);
  g_assert_cmpint (check (f, "s1", FP_A, &pinned), ==, CV_KNOWN_PEER_MATCH);
  g_assert_cmpstr (pinned, ==, FP_A);
  g_clear_pointer (&pinned, g_free);

  before = read_file (f->path);
  g_assert_cmpint (check (f, "s1", FP_B, &pinned), ==, CV_KNOWN_PEER_CHANGED);
  g_assert_cmpstr (pinned, ==, FP_A);
  /* Refused, not re-pinned: still refused the next time, and the old key still matches. */
  g_assert_cmpint (check (f, "s1", FP_B, NULL), ==, CV_KNOWN_PEER_CHANGED);
  g_assert_cmpint (check (f, "s1", FP_A, NULL), ==, CV_KNOWN_PEER_MATCH);
  after = read_file (f->path);
  g_assert_cmpstr (before, ==, after);
}

/* The fingerprint forms cv_fingerprint_normalize() accepts, announced or in the file. */
static void
test_fingerprint_forms (Fixture *f, gconstpointer data)
{
  g_autoptr (GString) pairs = g_string_new ("SHA256:");
  g_autofree char *upper = g_ascii_strup (FP_C, -1);
  g_autofree char *contents = NULL;
  g_autofree char *file = NULL;
  const char *hex = FP_C + strlen ("sha256:");

  for (gsize i = 0; hex[i] != '\0'; i += 2)
    g_string_append_printf (pairs, "%s%c%c", i > 0 ? ":" : "", g_ascii_toupper (hex[i]),
                            g_ascii_toupper (hex[i + 1]));

  /* Pinned as announced in upper case: stored in the one normal form. */
  g_assert_cmpint (check (f, "s1", upper, NULL), ==, CV_KNOWN_PEER_NEW);
  contents = read_file (f->path);
  g_assert_cmpstr (contents, ==, "s1 " FP_C "\n");
  g_assert_cmpint (check (f, "s1", FP_C, NULL), ==, CV_KNOWN_PEER_MATCH);
  g_assert_cmpint (check (f, "s1", pairs->str, NULL), ==, CV_KNOWN_PEER_MATCH);
  g_assert_cmpint (check (f, "s1", upper, NULL), ==, CV_KNOWN_PEER_MATCH);

  /* A file a person edited: colon pairs, a tab, trailing spaces, CRLF. */
  file = g_strdup_printf ("s2\t%s  \r\ns3   %s\r\n", pairs->str, upper);
  write_file (f, file, -1);
  g_assert_cmpint (check (f, "s2", FP_C, NULL), ==, CV_KNOWN_PEER_MATCH);
  g_assert_cmpint (check (f, "s3", FP_C, NULL), ==, CV_KNOWN_PEER_MATCH);
  g_assert_cmpint (check (f, "s2", FP_A, NULL), ==, CV_KNOWN_PEER_CHANGED);
  g_assert_cmpint (check (f, "s3", FP_A, NULL), ==, CV_KNOWN_PEER_CHANGED);

  /* What is not a fingerprint is never written. */
  assert_refused_with_error (f, "s4", "sha256:abc", "is not a fingerprint");
  assert_refused_with_error (f, "s4", FP_A "\ns5 " FP_B, "is not a fingerprint");
  assert_refused_with_error (f, "s4", FP_A " x", "is not a fingerprint");
  assert_refused_with_error (f, "s4", "", "is not a fingerprint");
}

static void
test_several_sessions (Fixture *f, gconstpointer data)
{
  g_autofree char *contents = NULL;

  /* Two writes in a row (and a third): each adds its line and keeps the others. */
  g_assert_cmpint (check (f, "s1", FP_A, NULL), ==, CV_KNOWN_PEER_NEW);
  g_assert_cmpint (check (f, "s2", FP_B, NULL), ==, CV_KNOWN_PEER_NEW);
  g_assert_cmpint (check (f, "s1-2", FP_C, NULL), ==, CV_KNOWN_PEER_NEW);
  contents = read_file (f->path);
  g_assert_cmpstr (contents, ==, "s1 " FP_A "\ns2 " FP_B "\ns1-2 " FP_C "\n");

  g_assert_cmpint (check (f, "s1", FP_A, NULL), ==, CV_KNOWN_PEER_MATCH);
  g_assert_cmpint (check (f, "s2", FP_B, NULL), ==, CV_KNOWN_PEER_MATCH);
  g_assert_cmpint (check (f, "s1-2", FP_C, NULL), ==, CV_KNOWN_PEER_MATCH);
  /* Another session's key is not this one's, nor is a prefix of the name this name. */
  g_assert_cmpint (check (f, "s1", FP_B, NULL), ==, CV_KNOWN_PEER_CHANGED);
  g_assert_cmpint (check (f, "s1-2", FP_A, NULL), ==, CV_KNOWN_PEER_CHANGED);
  g_assert_cmpint (check (f, "s", FP_A, NULL), ==, CV_KNOWN_PEER_NEW);
}

static void
test_corrupt_file (Fixture *f, gconstpointer data)
{
  g_autofree char *overlong = g_strnfill (100000, 'x');
  g_autofree char *garbage = g_strdup_printf ("# a comment\n"
                                              "\n"
                                              "   \n"
                                              "%s\n"
                                              "s1\n" /* a session without a key */
                                              "s1x " FP_B
                                              "\n" /* another session that starts alike */
                                              "\xff\xfe binary\n"
                                              "s2 " FP_B "\n"
                                              "s3 not-a-fingerprint\n"
                                              "s4 " FP_A "", /* no newline at the end */
                                              overlong);
  g_autofree char *contents = NULL;

  write_file (f, garbage, -1);
  /* Garbage lines are skipped, good lines are still read. */
  g_assert_cmpint (check (f, "s2", FP_B, NULL), ==, CV_KNOWN_PEER_MATCH);
  g_assert_cmpint (check (f, "s4", FP_A, NULL), ==, CV_KNOWN_PEER_MATCH);
  g_assert_cmpint (check (f, "s4", FP_B, NULL), ==, CV_KNOWN_PEER_CHANGED);
  /* A pinned line that is not a fingerprint matches nothing: refused until fixed. */
  g_assert_cmpint (check (f, "s3", FP_A, NULL), ==, CV_KNOWN_PEER_CHANGED);
  /* Pinning adds a line and keeps every other byte. */
  g_assert_cmpint (check (f, "s5", FP_C, NULL), ==, CV_KNOWN_PEER_NEW);
  contents = read_file (f->path);
  g_assert_true (g_str_has_prefix (contents, garbage));
  g_assert_cmpstr (contents + strlen (garbage), ==, "\ns5 " FP_C "\n");
  g_assert_cmpint (check (f, "s5", FP_C, NULL), ==, CV_KNOWN_PEER_MATCH);
  g_assert_cmpint (check (f, "s4", FP_A, NULL), ==, CV_KNOWN_PEER_MATCH);
}

/* Lines after a NUL would be invisible, and gone after a rewrite. */
static void
test_nul_byte (Fixture *f, gconstpointer data)
{
  static const char contents[] = "s1 " FP_A "\n\0s2 " FP_B "\n";

  write_file (f, contents, sizeof contents - 1);
  assert_refused_with_error (f, "s2", FP_A, "holds a NUL byte");
  assert_refused_with_error (f, "s3", FP_A, "holds a NUL byte");
}

/* Session names that would make their line read as another's, or as two lines. */
static void
test_bad_session (Fixture *f, gconstpointer data)
{
  g_autofree char *contents = NULL;

  g_assert_cmpint (check (f, "s1", FP_A, NULL), ==, CV_KNOWN_PEER_NEW);
  assert_refused_with_error (f, "s1 x", FP_B, "a session id is letters");
  assert_refused_with_error (f, "s2\ns1", FP_B, "a session id is letters");
  assert_refused_with_error (f, "s2\ts1", FP_B, "a session id is letters");
  assert_refused_with_error (f, "\"s2\"", FP_B, "a session id is letters");
  assert_refused_with_error (f, "s2'", FP_B, "a session id is letters");
  assert_refused_with_error (f, "", FP_B, "a session id is letters");
  assert_refused_with_error (f, " s1", FP_B, "a session id is letters");
  contents = read_file (f->path);
  g_assert_cmpstr (contents, ==, "s1 " FP_A "\n");
  g_assert_cmpint (check (f, "s1", FP_A, NULL), ==, CV_KNOWN_PEER_MATCH);
}

/* A file that cannot be read refuses every key: nothing pinned can be checked. */
static void
test_unreadable (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  /* A directory where the file should be. */
  g_assert_cmpint (g_mkdir_with_parents (f->path, 0700), ==, 0);
  g_assert_cmpint (cv_known_peers_check (f->path, "s1", FP_A, NULL, &error), ==,
                   CV_KNOWN_PEER_CHANGED);
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_assert_cmpint (g_rmdir (f->path), ==, 0);

  /* A file without read permission; root reads it anyway. */
  write_file (f, "s1 " FP_A "\n", -1);
  g_assert_cmpint (g_chmod (f->path, 0), ==, 0);
  if (geteuid () == 0)
    {
      g_test_message ("running as root: permissions do not stop reading");
      g_assert_cmpint (check (f, "s1", FP_A, NULL), ==, CV_KNOWN_PEER_MATCH);
    }
  else
    {
      g_assert_cmpint (cv_known_peers_check (f->path, "s1", FP_A, NULL, &error), ==,
                       CV_KNOWN_PEER_CHANGED);
      g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_ACCES);
    }
}

typedef struct {
  const char *path;
  char session[16];
} Writer;

static gpointer
write_pin (gpointer data)
{
  Writer *w = data;
  g_autoptr (GError) error = NULL;
  CvKnownPeerResult result = cv_known_peers_check (w->path, w->session, FP_A, NULL, &error);

  g_assert_no_error (error);
  return GINT_TO_POINTER (result);
}

/* Writers at the same time replace the file whole (rename), so whichever wins, it is a
 * file of good lines: none torn, none interleaved. */
static void
test_concurrent_writers (Fixture *f, gconstpointer data)
{
  Writer writers[8];
  GThread *threads[G_N_ELEMENTS (writers)];
  g_autofree char *contents = NULL;
  g_auto (GStrv) lines = NULL;

  g_assert_cmpint (check (f, "first", FP_B, NULL), ==, CV_KNOWN_PEER_NEW);
  for (guint i = 0; i < G_N_ELEMENTS (writers); i++)
    {
      writers[i].path = f->path;
      g_snprintf (writers[i].session, sizeof writers[i].session, "w%u", i);
      threads[i] = g_thread_new ("writer", write_pin, &writers[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (writers); i++)
    g_assert_cmpint (GPOINTER_TO_INT (g_thread_join (threads[i])), ==, CV_KNOWN_PEER_NEW);

  contents = read_file (f->path);
  g_assert_true (g_str_has_suffix (contents, "\n"));
  lines = g_strsplit (contents, "\n", -1);
  g_assert_cmpstr (lines[0], ==, "first " FP_B);
  for (guint i = 1; lines[i + 1] != NULL; i++)
    {
      g_assert_true (g_str_has_prefix (lines[i], "w"));
      g_assert_true (g_str_has_suffix (lines[i], " " FP_A));
      g_assert_cmpuint (strlen (lines[i]), ==, strlen ("w0 " FP_A));
    }
  g_assert_cmpint (check (f, "first", FP_B, NULL), ==, CV_KNOWN_PEER_MATCH);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

#define ADD(name, fn)                                                                              \
  g_test_add ("/known-peers/" name, Fixture, NULL, fixture_set_up, fn, fixture_tear_down)
  ADD ("first-use-pins", test_first_use_pins);
  ADD ("match-and-changed", test_match_and_changed);
  ADD ("fingerprint-forms", test_fingerprint_forms);
  ADD ("several-sessions", test_several_sessions);
  ADD ("corrupt-file", test_corrupt_file);
  ADD ("nul-byte", test_nul_byte);
  ADD ("bad-session", test_bad_session);
  ADD ("unreadable", test_unreadable);
  ADD ("concurrent-writers", test_concurrent_writers);
#undef ADD
  return g_test_run ();
}
