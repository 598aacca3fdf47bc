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

CvKnownPeerResult
cv_known_peers_check (const char *path,
                      const char *session,
                      const char *fingerprint,
                      char **pinned,
                      GError **error)
{
  g_autofree char *contents = NULL;
  g_autoptr (GError) local_error = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GString) updated = NULL;
  g_autofree char *dir = NULL;

  if (pinned != NULL)
    *pinned = NULL;
  if (!g_file_get_contents (path, &contents, NULL, &local_error))
    {
      if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return CV_KNOWN_PEER_CHANGED;
        }
      contents = g_strdup ("");
    }

  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto (GStrv) fields = g_strsplit (g_strstrip (lines[i]), " ", 2);

      if (fields[0] == NULL || fields[1] == NULL || !g_str_equal (fields[0], session))
        continue;
      if (pinned != NULL)
        *pinned = g_strdup (fields[1]);
      return cv_fingerprint_equal (fields[1], fingerprint) ? CV_KNOWN_PEER_MATCH
                                                            : CV_KNOWN_PEER_CHANGED;
    }

  updated = g_string_new (contents);
  if (updated->len > 0 && updated->str[updated->len - 1] != '\n')
    g_string_append_c (updated, '\n');
  g_string_append_printf (updated, "%s %s\n", session, fingerprint);
  dir = g_path_get_dirname (path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "cannot create %s: %s",
                   dir, g_strerror (saved));
      return CV_KNOWN_PEER_CHANGED;
    }
  if (!g_file_set_contents_full (path, updated->str, updated->len,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0600, error))
    return CV_KNOWN_PEER_CHANGED;
  return CV_KNOWN_PEER_NEW;
}
