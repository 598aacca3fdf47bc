/* cv-known-peers.h: share agents' keys pinned on first use, per session (like known_hosts). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  CV_KNOWN_PEER_NEW, /* first sight: now pinned */
  CV_KNOWN_PEER_MATCH,
  CV_KNOWN_PEER_CHANGED, /* a different key than the pinned one: refuse */
} CvKnownPeerResult;

CvKnownPeerResult cv_known_peers_check (const char *path,
                                        const char *session,
                                        const char *fingerprint,
                                        char **pinned,
                                        GError **error);
CvKnownPeerResult cv_known_peers_lookup (const char *path,
                                         const char *session,
                                         const char *fingerprint,
                                         char **pinned,
                                         GError **error);

G_END_DECLS
