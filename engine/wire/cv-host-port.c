/* cv-host-port.c: the one parser of "host:port" text, so that gateway listeners, the
 * gateway address, mappings and allowed targets accept and refuse the same things. */
#include "wire/cv-host-port.h"

#include <gio/gio.h>
#include <string.h>

/* Longest DNS label (RFC 1035). */
#define MAX_LABEL_LEN 63

static gboolean invalid (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
invalid (GError **error, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  if (error != NULL)
    *error = g_error_new_valist (G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, format, args);
  va_end (args);
  return FALSE;
}

/* At most 64 bytes of @text (@len bytes, or to its NUL) as an error may repeat them:
 * a valid host or port is printable ASCII, so anything else becomes '?', and no control
 * character or cut UTF-8 sequence reaches a log or a terminal. */
static char *
shown (const char *text, gssize len)
{
  gsize n = len < 0 ? strlen (text) : (gsize) len;
  char *copy = g_strndup (text, MIN (n, 64));

  for (char *p = copy; *p != '\0'; p++)
    if (*p < 0x20 || *p > 0x7e)
      *p = '?';
  return copy;
}

static gboolean
is_all_digits (const char *text, gsize len)
{
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isdigit (text[i]))
      return FALSE;
  return len > 0;
}

/* Decimal digits only: no sign, no spaces, no hex, so "0x50" or " 80" never pass as 80. */
static gboolean
parse_port (const char *text, gsize len, guint16 *port, GError **error)
{
  guint value = 0;

  if (len == 0)
    return invalid (error, "a port number is missing");
  if (!is_all_digits (text, len))
    {
      g_autofree char *port_text = shown (text, (gssize) len);
      return invalid (error, "“%s” is not a port number", port_text);
    }
  if (len > 5)
    {
      g_autofree char *port_text = shown (text, (gssize) len);
      return invalid (error, "port %s is outside 1–65535", port_text);
    }
  for (gsize i = 0; i < len; i++)
    value = value * 10 + (guint) (text[i] - '0');
  if (value == 0 || value > G_MAXUINT16)
    return invalid (error, "port %u is outside 1–65535", value);
  *port = (guint16) value;
  return TRUE;
}

/* Dot-separated labels of 1 to 63 letters, digits, '-' and '_' ('_' because internal
 * names use it), no label starting or ending with '-'. */
static gboolean
hostname_is_valid (const char *host)
{
  const char *label = host;
  gsize len = strlen (host);

  if (len == 0 || len > CV_HOST_PORT_MAX_HOST_LEN)
    return FALSE;
  for (const char *p = host;; p++)
    {
      if (*p == '.' || *p == '\0')
        {
          gsize label_len = (gsize) (p - label);

          if (label_len == 0 || label_len > MAX_LABEL_LEN || label[0] == '-' || p[-1] == '-')
            return FALSE;
          if (*p == '\0')
            return TRUE;
          label = p + 1;
        }
      else if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
        return FALSE;
    }
}

static gboolean
check_host (const char *host, GError **error)
{
  const char *last_label;

  if (*host == '\0')
    return invalid (error, "a host is missing before “:”");
  if (g_hostname_is_ip_address (host))
    return TRUE;
  if (!hostname_is_valid (host))
    {
      g_autofree char *host_text = shown (host, -1);
      return invalid (error, "“%s” is not a valid host name", host_text);
    }
  /* No top-level domain is all digits, so "1.2.3" or "300.1.1.1" is a mistyped IPv4
   * address that a resolver might still turn into something unexpected. */
  last_label = strrchr (host, '.');
  last_label = last_label != NULL ? last_label + 1 : host;
  if (is_all_digits (last_label, strlen (last_label)))
    {
      g_autofree char *host_text = shown (host, -1);
      return invalid (error, "“%s” is not a valid IPv4 address", host_text);
    }
  return TRUE;
}

/* One spelling per address, so that allowed targets compare as strings: IP literals
 * as GInetAddress prints them, host names in lower case. */
static char *
canonical_host (const char *host)
{
  g_autoptr (GInetAddress) address = g_inet_address_new_from_string (host);

  if (address != NULL)
    return g_inet_address_to_string (address);
  /* An IPv6 literal with a zone ("fe80::1%eth0"), which GInetAddress does not parse:
   * interface names are case-sensitive, so it stays as written. */
  if (strchr (host, ':') != NULL)
    return g_strdup (host);
  return g_ascii_strdown (host, -1);
}

/**
 * cv_host_port_parse:
 * @text: "host:port", "[ipv6]:port", or just "port" when @default_host is given; with
 *   @port_hi, also "host:low-high"
 * @default_host: (nullable): the host a bare port means, or %NULL to require a host
 * @host: (out): the host, without brackets, in its canonical spelling
 * @port_lo: (out): the port, or the low end of the range
 * @port_hi: (out) (optional): the high end of the range (@port_lo for a single port);
 *   %NULL to refuse ranges
 * @error: a %G_IO_ERROR_INVALID_ARGUMENT that says what is wrong, without repeating @text
 *
 * Ports are 1 to 65535; IPv6 literals need brackets, since "::1:22" could be read two
 * ways.
 *
 * Returns: %TRUE if @text is valid
 */
gboolean
cv_host_port_parse (const char *text,
                    const char *default_host,
                    char **host,
                    guint16 *port_lo,
                    guint16 *port_hi,
                    GError **error)
{
  g_autofree char *parsed_host = NULL;
  const char *ports;
  const char *dash;
  guint16 lo, hi;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (host != NULL && port_lo != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (*text == '\0')
    return invalid (error, "the address is empty");

  if (text[0] == '[')
    {
      const char *close = strchr (text, ']');
      g_autofree char *literal = NULL;

      if (close == NULL)
        return invalid (error, "“[” without a closing “]”");
      literal = g_strndup (text + 1, (gsize) (close - text - 1));
      if (strchr (literal, ':') == NULL || !g_hostname_is_ip_address (literal))
        {
          g_autofree char *literal_text = shown (literal, -1);
          return invalid (error, "“%s” is not an IPv6 address", literal_text);
        }
      if (close[1] != ':')
        return invalid (error, "expected “:port” after “]”");
      parsed_host = canonical_host (literal);
      ports = close + 2;
    }
  else
    {
      const char *colon = strchr (text, ':');

      if (colon == NULL && default_host != NULL)
        {
          parsed_host = g_strdup (default_host);
          ports = text;
        }
      else if (colon == NULL && is_all_digits (text, strlen (text)))
        return invalid (error, "a host is missing before the port");
      else if (colon == NULL)
        return invalid (error, "a port is missing after the host");
      else if (strchr (colon + 1, ':') != NULL)
        return invalid (error, "an IPv6 address needs brackets, as in [::1]:22");
      else
        {
          g_autofree char *written = g_strndup (text, (gsize) (colon - text));

          if (!check_host (written, error))
            return FALSE;
          parsed_host = canonical_host (written);
          ports = colon + 1;
        }
    }

  dash = strchr (ports, '-');
  if (dash == NULL)
    {
      if (!parse_port (ports, strlen (ports), &lo, error))
        return FALSE;
      hi = lo;
    }
  else
    {
      if (!parse_port (ports, (gsize) (dash - ports), &lo, error)
          || !parse_port (dash + 1, strlen (dash + 1), &hi, error))
        return FALSE;
      if (port_hi == NULL)
        return invalid (error, "a single port is expected here, not the range %u-%u", lo, hi);
      if (lo > hi)
        return invalid (error, "the port range %u-%u runs backwards", lo, hi);
    }

  *host = g_steal_pointer (&parsed_host);
  *port_lo = lo;
  if (port_hi != NULL)
    *port_hi = hi;
  return TRUE;
}

/**
 * cv_host_port_split_forward:
 * @text: ssh's -L syntax, "[LISTEN_HOST:]LISTEN_PORT:TARGET_HOST:TARGET_PORT", IPv6
 *   hosts in brackets
 * @listen: (out): "LISTEN_PORT" or "LISTEN_HOST:LISTEN_PORT", as written
 * @target: (out): "TARGET_HOST:TARGET_PORT", as written
 * @error: a %G_IO_ERROR_INVALID_ARGUMENT, without repeating @text
 *
 * Only splits: each part is then parsed by cv_host_port_parse(), as the same address
 * in a config file would be.  The target is found from the end, since only the listen
 * part may lack a host.
 *
 * Returns: %TRUE if @text has the two parts
 */
gboolean
cv_host_port_split_forward (const char *text, char **listen, char **target, GError **error)
{
  const char *port_colon;
  const char *target_start;

  g_return_val_if_fail (text != NULL && listen != NULL && target != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  port_colon = strrchr (text, ':');
  if (port_colon == NULL || port_colon == text)
    return invalid (error, "a target host and port are missing");
  if (port_colon[-1] == ']')
    {
      target_start = port_colon - 1;
      while (target_start > text && *target_start != '[')
        target_start--;
      if (*target_start != '[')
        return invalid (error, "“]” without an opening “[”");
    }
  else
    {
      target_start = port_colon;
      while (target_start > text && target_start[-1] != ':')
        target_start--;
    }
  if (target_start - text < 2 || target_start[-1] != ':')
    return invalid (error, "a local port is missing before the target");
  *listen = g_strndup (text, (gsize) (target_start - 1 - text));
  *target = g_strdup (target_start);
  return TRUE;
}

char *
cv_host_port_format (const char *host, guint16 port)
{
  if (strchr (host, ':') != NULL)
    return g_strdup_printf ("[%s]:%u", host, port);
  return g_strdup_printf ("%s:%u", host, port);
}
