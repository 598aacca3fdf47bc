/* cv-source-key.c: the key of a client's address for per-address limits (rules in the
 * header). */
#include "auth/cv-source-key.h"

#include <sodium.h>
#include <string.h>

G_STATIC_ASSERT (sizeof (CvSourceKey) == 9); /* no padding: hashed and compared as bytes */

static const guint8 *
hash_key (void)
{
  static guint8 key[crypto_shorthash_KEYBYTES];
  static gsize initialised = 0;

  if (g_once_init_enter (&initialised))
    {
      /* GLib seeds its generator from the system's; the key only has to stay unknown
       * to clients, which never see the generator's output. */
      for (gsize i = 0; i < sizeof key; i += sizeof (guint32))
        {
          guint32 r = g_random_int ();

          memcpy (key + i, &r, MIN (sizeof r, sizeof key - i));
        }
      g_once_init_leave (&initialised, 1);
    }
  return key;
}

void
cv_source_key_init (CvSourceKey *key, GInetAddress *address)
{
  static const guint8 v4_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  const guint8 *bytes = g_inet_address_to_bytes (address);

  memset (key, 0, sizeof *key);
  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV4)
    {
      key->family = G_SOCKET_FAMILY_IPV4;
      memcpy (key->prefix, bytes, 4);
    }
  else if (memcmp (bytes, v4_mapped_prefix, sizeof v4_mapped_prefix) == 0)
    {
      key->family = G_SOCKET_FAMILY_IPV4;
      memcpy (key->prefix, bytes + 12, 4);
    }
  else
    {
      key->family = G_SOCKET_FAMILY_IPV6;
      memcpy (key->prefix, bytes, 8);
    }
}

char *
cv_source_key_to_string (const CvSourceKey *key)
{
  guint8 bytes[16] = { 0 };
  g_autoptr (GInetAddress) address = NULL;
  g_autofree char *text = NULL;

  if (key->family == G_SOCKET_FAMILY_IPV4)
    {
      address = g_inet_address_new_from_bytes (key->prefix, G_SOCKET_FAMILY_IPV4);
      return g_inet_address_to_string (address);
    }
  memcpy (bytes, key->prefix, 8);
  address = g_inet_address_new_from_bytes (bytes, G_SOCKET_FAMILY_IPV6);
  text = g_inet_address_to_string (address);
  return g_strconcat (text, "/64", NULL);
}

guint
cv_source_key_hash (gconstpointer key)
{
  guint8 out[crypto_shorthash_BYTES];
  guint hash;

  crypto_shorthash (out, key, sizeof (CvSourceKey), hash_key ());
  memcpy (&hash, out, sizeof hash);
  return hash;
}

gboolean
cv_source_key_equal (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, sizeof (CvSourceKey)) == 0;
}

GHashTable *
cv_source_key_table_new (GDestroyNotify value_destroy)
{
  return g_hash_table_new_full (cv_source_key_hash, cv_source_key_equal, g_free, value_destroy);
}
