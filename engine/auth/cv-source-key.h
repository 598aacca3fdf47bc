/* cv-source-key.h: the one key under which every per-address limit counts a client.
 *
 * A source is an IPv4 address, or the /64 of an IPv6 one: a single host is usually
 * given a whole /64 and can rotate through it, so counting full IPv6 addresses would
 * give it 2^64 shares of each limit.  An IPv4-mapped IPv6 address (::ffff:a.b.c.d, as
 * a dual-stack listener sees IPv4 clients) is its IPv4 address; as a /64 all of IPv4
 * would be one source.  Admission, the password checks under way and the failed-login
 * limiter all key on this, so that they agree on who "one address" is.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  guint8 family; /* G_SOCKET_FAMILY_IPV4 or _IPV6 */
  guint8 prefix[8];
} CvSourceKey;

void cv_source_key_init (CvSourceKey *key, GInetAddress *address);
/* For logs: "192.0.2.1", or "2001:db8:1:2::/64". */
char *cv_source_key_to_string (const CvSourceKey *key);

/* For GHashTable: keyed with a secret of the process's, because clients choose their
 * addresses and could otherwise aim many sources at one bucket. */
guint cv_source_key_hash (gconstpointer key);
gboolean cv_source_key_equal (gconstpointer a, gconstpointer b);
/* A table from CvSourceKey (copied in, owned) to @value_destroy'd values. */
GHashTable *cv_source_key_table_new (GDestroyNotify value_destroy);

G_END_DECLS
