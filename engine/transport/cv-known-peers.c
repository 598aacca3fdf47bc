/* cv-known-peers.c: share agents' keys pinned on first use, per session (like known_hosts).
 *
 * The file has one line per session: "SESSION sha256:…".  A changed key is refused
 * until the user deletes the line, as ssh does: the gateway announces keys, and a
 * compromised gateway announcing its own key is exactly what pinning catches. */
#include "transport/cv-known-peers.h"

#include "transport/cv-identity.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

/* A session id as configs allow it: its line cannot hold a space or a newline that
 * would make it read as another session's, or as two lines. */
static gboolean
session_is_valid (const char *session)
{
  if (*session == '\0')
    return FALSE;
  for (const char *p = session; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '.' && *p != '_' && *p != '-')
      return FALSE;
  return TRUE;
}

/* @pin_new: write a key seen for the first time (NEW), or only say it would be */
static CvKnownPeerResult
check (const char *path,
       const char *session,
       const char *fingerprint,
       gboolean pin_new,
       char **pinned,
       GError **error)
{
  g_autofree char *contents = NULL;
  g_autoptr (GError) local_error = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GString) updated = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *normal = NULL;
  gsize length = 0;

  if (pinned != NULL)
    *pinned = NULL;
  if (!session_is_valid (session))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   "cannot pin a key for session “%.64s”: a session id is letters, digits, "
                   "'.', '_' and '-'",
                   session);
      return CV_KNOWN_PEER_CHANGED;
    }
  /* What the gateway announced is written as one normal line, or not at all. */
  normal = cv_fingerprint_normalize (fingerprint, error);
  if (normal == NULL)
    return CV_KNOWN_PEER_CHANGED;
  if (!g_file_get_contents (path, &contents, &length, &local_error))
    {
      if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return CV_KNOWN_PEER_CHANGED;
        }
      contents = g_strdup ("");
      length = 0;
    }
  /* Lines past a NUL would be invisible here and lost on the rewrite below. */
  if (memchr (contents, '\0', length) != NULL)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   "%s holds a NUL byte: it is not a file of pinned keys; move it away", path);
      return CV_KNOWN_PEER_CHANGED;
    }

  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      /* "SESSION FINGERPRINT", separated by spaces or tabs as a person may type them. */
      char *line = g_strstrip (lines[i]);
      gsize session_len = strcspn (line, " \t");

      if (session_len != strlen (session) || strncmp (line, session, session_len) != 0
          || line[session_len] == '\0')
        continue;
      line = g_strchug (line + session_len);
      if (pinned != NULL)
        *pinned = g_strdup (line);
      return cv_fingerprint_equal (line, normal) ? CV_KNOWN_PEER_MATCH : CV_KNOWN_PEER_CHANGED;
    }

  if (!pin_new)
    return CV_KNOWN_PEER_NEW;
  updated = g_string_new (contents);
  if (updated->len > 0 && updated->str[updated->len - 1] != '\n')
    g_string_append_c (updated, '\n');
  g_string_append_printf (updated, "%s %s\n", session, normal);
  dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "cannot create %s: %s",
                   dir, g_strerror (saved));
      return CV_KNOWN_PEER_CHANGED;
    }
  if (!g_file_set_contents_full (path, updated->str, updated->len, G_FILE_SET_CONTENTS_CONSISTENT,
                                 0600, error))
    return CV_KNOWN_PEER_CHANGED;
  return CV_KNOWN_PEER_NEW;
}

/* Compares @fingerprint with the key pinned for @session, and pins it if there is
 * none (NEW).  Any error is CHANGED with @error set: refuse. */
CvKnownPeerResult
cv_known_peers_check (const char *path,
                      const char *session,
                      const char *fingerprint,
                      char **pinned,
                      GError **error)
{
  return check (path, session, fingerprint, TRUE, pinned, error);
}

/* The same, but a key seen for the first time is not written: NEW says it would be.
 * The connect agent pins only once the tunnel's TLS handshake proved the key. */
CvKnownPeerResult
cv_known_peers_lookup (const char *path,
                       const char *session,
                       const char *fingerprint,
                       char **pinned,
                       GError **error)
{
  return check (path, session, fingerprint, FALSE, pinned, error);
}
