/* cv-allow-list.c: the targets a share agent may dial; nothing else is reachable.
 *
 * Hosts compare as addresses when both sides are IP literals (so "::1" and
 * "0:0:0:0:0:0:0:1" match), otherwise as case-insensitive names; "localhost" stands
 * for itself, 127.0.0.1 and ::1 alike, so an entry for one allows the others. */
#include "auth/cv-allow-list.h"

#include <string.h>

typedef struct {
  char *host;
  GInetAddress *address; /* when host is an IP literal */
  gboolean loopback;     /* localhost, 127.0.0.1 or ::1 */
  guint16 port_lo;
  guint16 port_hi;
} Rule;

struct _CvAllowList {
  GPtrArray *rules;
};

static void
rule_free (gpointer data)
{
  Rule *rule = data;

  g_free (rule->host);
  g_clear_object (&rule->address);
  g_free (rule);
}

/* An IP literal with or without brackets, or NULL for a name. */
static GInetAddress *
parse_address (const char *host)
{
  gsize len = strlen (host);

  if (len > 2 && host[0] == '[' && host[len - 1] == ']')
    {
      g_autofree char *inner = g_strndup (host + 1, len - 2);
      return g_inet_address_new_from_string (inner);
    }
  return g_inet_address_new_from_string (host);
}

static gboolean
is_loopback (const char *host, GInetAddress *address)
{
  if (address != NULL)
    {
      g_autoptr (GInetAddress) v4 = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
      g_autoptr (GInetAddress) v6 = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6);
      return g_inet_address_equal (address, v4) || g_inet_address_equal (address, v6);
    }
  return g_ascii_strcasecmp (host, "localhost") == 0;
}

CvAllowList *
cv_allow_list_new (void)
{
  CvAllowList *list = g_new0 (CvAllowList, 1);

  list->rules = g_ptr_array_new_with_free_func (rule_free);
  return list;
}

void
cv_allow_list_free (CvAllowList *list)
{
  g_ptr_array_unref (list->rules);
  g_free (list);
}

void
cv_allow_list_add (CvAllowList *list, const char *host, guint16 port_lo, guint16 port_hi)
{
  Rule *rule = g_new0 (Rule, 1);

  rule->host = g_strdup (host);
  rule->address = parse_address (host);
  rule->loopback = is_loopback (host, rule->address);
  rule->port_lo = port_lo;
  rule->port_hi = MAX (port_lo, port_hi);
  g_ptr_array_add (list->rules, rule);
}

guint
cv_allow_list_get_length (const CvAllowList *list)
{
  return list->rules->len;
}

gboolean
cv_allow_list_permits (const CvAllowList *list, const char *host, guint16 port)
{
  g_autoptr (GInetAddress) address = parse_address (host);
  gboolean loopback = is_loopback (host, address);

  for (guint i = 0; i < list->rules->len; i++)
    {
      Rule *rule = list->rules->pdata[i];
      gboolean host_matches;

      if (port < rule->port_lo || port > rule->port_hi)
        continue;
      if (rule->loopback && loopback)
        host_matches = TRUE;
      else if (rule->address != NULL && address != NULL)
        host_matches = g_inet_address_equal (rule->address, address);
      else if (rule->address == NULL && address == NULL)
        host_matches = g_ascii_strcasecmp (rule->host, host) == 0;
      else
        host_matches = FALSE;
      if (host_matches)
        return TRUE;
    }
  return FALSE;
}
