/* cv-allow-list.c: the targets a share agent may dial; nothing else is reachable.
 *
 * The share agent dials the very host text an OPEN carries, so the check must read it
 * as the resolver will.  Text that resolvers read in more than one way is refused, in
 * the list and in an OPEN alike, rather than guessed at: numbers other than a dotted
 * quad ("127.1", "2130706433", "0x7f000001", "0177.0.0.1": getaddrinfo(3) turns them
 * into 127.0.0.1 on glibc, GLib's resolver does not), a port inside the host
 * ("127.0.0.1:22": GNetworkAddress would take that port over the one asked for), a
 * trailing dot, and the any address (0.0.0.0, ::: connect(2) takes it to this machine,
 * so it would reach every local service).
 *
 * What is left compares as addresses when both sides are IP literals (an IPv4-mapped
 * IPv6 address as its IPv4 address, which is where connect(2) goes; a zone id as
 * written, since interface names are case-sensitive), otherwise as case-insensitive
 * names.  "localhost", 127.0.0.1 and ::1 stand for one another, so an entry for one
 * allows the others. */
#include "auth/cv-allow-list.h"

#include <string.h>

#include "wire/cv-host-port.h"

/* IFNAMSIZ less the terminating NUL. */
#define MAX_ZONE_LEN 15

typedef struct {
  char *name;            /* a host name, in lower case; NULL for an IP literal */
  GInetAddress *address; /* an IP literal */
  char *zone;            /* an IPv6 literal's zone id ("eth0", "2"), or NULL */
  gboolean loopback;     /* localhost, 127.0.0.1 or ::1 */
} Host;

typedef struct {
  Host host;
  guint16 port_lo;
  guint16 port_hi;
  char *text; /* "host:port" or "host:lo-hi", as a status report shows it */
} Rule;

struct _CvAllowList {
  GPtrArray *rules;
};

/* Sets @error and is FALSE, for "return INVALID (error, …);". */
#define INVALID(error, ...)                                                                        \
  (g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, __VA_ARGS__), FALSE)

static void
host_clear (Host *host)
{
  g_clear_pointer (&host->name, g_free);
  g_clear_object (&host->address);
  g_clear_pointer (&host->zone, g_free);
}

static void
rule_free (gpointer data)
{
  Rule *rule = data;

  host_clear (&rule->host);
  g_free (rule->text);
  g_free (rule);
}

/* What inet_aton(3) reads as an IPv4 address: one to four dot-separated numbers, each
 * decimal, octal (leading 0) or hex (leading 0x). */
static gboolean
is_numeric_alias (const char *host)
{
  g_auto (GStrv) parts = g_strsplit (host, ".", -1);

  for (guint i = 0; parts[i] != NULL; i++)
    {
      const char *p = parts[i];
      gboolean hex = p[0] == '0' && (p[1] == 'x' || p[1] == 'X');

      if (*p == '\0')
        return FALSE;
      for (p += hex ? 2 : 0; *p != '\0'; p++)
        if (hex ? !g_ascii_isxdigit (*p) : !g_ascii_isdigit (*p))
          return FALSE;
    }
  return TRUE;
}

static gboolean
zone_is_valid (const char *zone)
{
  gsize len = strlen (zone);

  if (len == 0 || len > MAX_ZONE_LEN)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (zone[i]) && zone[i] != '-' && zone[i] != '_' && zone[i] != '.')
      return FALSE;
  return TRUE;
}

/* ::ffff:a.b.c.d is a.b.c.d to connect(2). */
static GInetAddress *
unmap_ipv4 (GInetAddress *address)
{
  static const guint8 mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
  const guint8 *bytes = g_inet_address_to_bytes (address);

  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV6
      && memcmp (bytes, mapped_prefix, sizeof mapped_prefix) == 0)
    return g_inet_address_new_from_bytes (bytes + sizeof mapped_prefix, G_SOCKET_FAMILY_IPV4);
  return g_object_ref (address);
}

static gboolean
set_address (Host *host, const char *literal, GInetAddress *address, GError **error)
{
  g_autoptr (GInetAddress) v4_loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GInetAddress) v6_loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6);

  host->address = unmap_ipv4 (address);
  /* 0.0.0.0/8 is "this network": connect(2) takes 0.0.0.0 to a local address. */
  if (g_inet_address_get_is_any (host->address)
      || (g_inet_address_get_family (host->address) == G_SOCKET_FAMILY_IPV4
          && g_inet_address_to_bytes (host->address)[0] == 0))
    return INVALID (error,
                    "“%s” stands for any address of this machine, not for one target: name "
                    "the target's own address, such as 127.0.0.1",
                    literal);
  host->loopback = host->zone == NULL
                   && (g_inet_address_equal (host->address, v4_loopback)
                       || g_inet_address_equal (host->address, v6_loopback));
  return TRUE;
}

/* An IPv6 literal without brackets, with or without a zone id. */
static gboolean
parse_ipv6 (Host *host, const char *literal, GError **error)
{
  const char *percent = strchr (literal, '%');
  g_autofree char *bare = g_strndup (literal, percent != NULL ? (gsize) (percent - literal)
                                                              : strlen (literal));
  g_autoptr (GInetAddress) address = g_inet_address_new_from_string (bare);

  if (address == NULL || g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV6)
    return INVALID (error,
                    "“%.64s” is not an IPv6 address (a port is given apart from the host, "
                    "not as in 127.0.0.1:22)",
                    literal);
  if (percent != NULL && !zone_is_valid (percent + 1))
    return INVALID (error, "“%.64s” is not a zone id (an interface name or number)", percent + 1);
  host->zone = percent != NULL ? g_strdup (percent + 1) : NULL;
  return set_address (host, literal, address, error);
}

/* A host as an OPEN or a config names it: a name, an IPv4 dotted quad, or an IPv6
 * literal with or without brackets. */
static gboolean
host_parse (Host *host, const char *text, GError **error)
{
  g_autofree char *unbracketed = NULL;
  g_autofree char *with_port = NULL;
  g_autoptr (GInetAddress) address = NULL;
  const char *bare = text;
  gsize len;
  guint16 port;

  if (text == NULL || *text == '\0')
    return INVALID (error, "the host is empty");
  len = strlen (text);
  if (len > CV_HOST_PORT_MAX_HOST_LEN)
    return INVALID (error, "a host of %" G_GSIZE_FORMAT " characters; at most %d make sense", len,
                    CV_HOST_PORT_MAX_HOST_LEN);
  if (text[0] == '[')
    {
      if (len < 3 || text[len - 1] != ']')
        return INVALID (error,
                        "“%.64s” is not an IPv6 address in brackets (a port is given apart "
                        "from the host, not as in [::1]:22)",
                        text);
      bare = unbracketed = g_strndup (text + 1, len - 2);
      if (strchr (bare, ':') == NULL)
        return INVALID (error, "only an IPv6 address goes in brackets, not “%.64s”", bare);
    }
  if (strchr (bare, ':') != NULL)
    return parse_ipv6 (host, bare, error);

  address = g_inet_address_new_from_string (bare);
  if (address != NULL)
    return set_address (host, bare, address, error);
  if (is_numeric_alias (bare))
    return INVALID (error,
                    "“%.64s” is a number that resolvers read in different ways: write an "
                    "IPv4 address as four decimal numbers, such as 127.0.0.1",
                    bare);
  /* The grammar every other host in Culvert follows (labels, length, characters, no
   * trailing dot), and its spelling: lower case. */
  with_port = g_strconcat (bare, ":1", NULL);
  if (!cv_host_port_parse (with_port, NULL, &host->name, &port, NULL, error))
    return FALSE;
  host->loopback = g_str_equal (host->name, "localhost");
  return TRUE;
}

static gboolean
host_matches (const Host *rule, const Host *host)
{
  if (rule->loopback && host->loopback)
    return TRUE;
  if (rule->address != NULL && host->address != NULL)
    return g_inet_address_equal (rule->address, host->address)
           && g_strcmp0 (rule->zone, host->zone) == 0;
  return rule->name != NULL && host->name != NULL && g_str_equal (rule->name, host->name);
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

/**
 * cv_allow_list_check_host:
 * @host: a target's host, without a port
 * @error: a %G_IO_ERROR_INVALID_ARGUMENT that says why @host cannot be allowed
 *
 * Returns: %TRUE if an allow list can hold @host: it names one target, and a dial of
 *   it reaches what a check of it means
 */
gboolean
cv_allow_list_check_host (const char *host, GError **error)
{
  Host parsed = { 0 };
  gboolean valid = host_parse (&parsed, host, error);

  host_clear (&parsed);
  return valid;
}

/**
 * cv_allow_list_add:
 * @list: the list
 * @host: a host name, an IPv4 address or an IPv6 address (brackets optional)
 * @port_lo: the lowest port allowed, 1 or more
 * @port_hi: the highest, @port_lo or more
 * @error: a %G_IO_ERROR_INVALID_ARGUMENT naming what is wrong
 *
 * Returns: %TRUE if the entry was added; %FALSE leaves @list as it was
 */
gboolean
cv_allow_list_add (CvAllowList *list,
                   const char *host,
                   guint16 port_lo,
                   guint16 port_hi,
                   GError **error)
{
  g_autofree Rule *rule = g_new0 (Rule, 1);

  if (port_lo == 0)
    return INVALID (error, "port 0 cannot be dialled; ports are 1–65535");
  if (port_lo > port_hi)
    return INVALID (error, "the port range %u-%u runs backwards", port_lo, port_hi);
  if (!host_parse (&rule->host, host, error))
    {
      host_clear (&rule->host);
      return FALSE;
    }
  rule->port_lo = port_lo;
  rule->port_hi = port_hi;
  rule->text = g_strdup_printf (strchr (host, ':') != NULL ? "[%s]:%u" : "%s:%u", host, port_lo);
  if (port_hi != port_lo)
    {
      g_autofree char *single = g_steal_pointer (&rule->text);
      rule->text = g_strdup_printf ("%s-%u", single, port_hi);
    }
  g_ptr_array_add (list->rules, g_steal_pointer (&rule));
  return TRUE;
}

guint
cv_allow_list_get_length (const CvAllowList *list)
{
  return list->rules->len;
}

/* Entry @index as it was added: "host:port" or "host:low-high", IPv6 in brackets. */
const char *
cv_allow_list_get_entry (const CvAllowList *list, guint index)
{
  g_return_val_if_fail (index < list->rules->len, NULL);
  return ((Rule *) list->rules->pdata[index])->text;
}

/**
 * cv_allow_list_permits:
 * @list: the list
 * @host: the host an OPEN names, as it will be dialled
 * @port: the port it names
 *
 * Returns: %TRUE if an entry allows @host and @port; never for a host that
 *   cv_allow_list_check_host() refuses
 */
gboolean
cv_allow_list_permits (const CvAllowList *list, const char *host, guint16 port)
{
  Host parsed = { 0 };
  gboolean permitted = FALSE;

  if (host_parse (&parsed, host, NULL))
    for (guint i = 0; i < list->rules->len && !permitted; i++)
      {
        const Rule *rule = list->rules->pdata[i];

        permitted = port >= rule->port_lo && port <= rule->port_hi
                    && host_matches (&rule->host, &parsed);
      }
  host_clear (&parsed);
  return permitted;
}
