/* cv-web-url.c: the gateway as a ws:// or wss:// URL, and the HTTP proxy URL.
 *
 * GUri splits; what each part may hold is decided here, with the host checked by
 * cv_host_port_parse() so that a URL's host is accepted and spelled as a host:port's.
 * Errors never repeat a URL's user information: a proxy's password is in it.  GUri's
 * own words quote what it could not parse, so they are passed on only where the text
 * it was given holds no user information.
 *
 * A proxy's user information is split off here, at the last "@" (a proxy URL has no
 * path that could hold one), as curl takes it: "http://user:p@ss@proxy:3128" is the
 * password "p@ss", and "/", "?", "#", "@" and ":" inside a user name or password are
 * %-encoded before GIO sees them (cv_web_url_proxy_for_gio()).
 */
#include "wire/cv-web-url.h"

#include <gio/gio.h>
#include <sodium.h>
#include <string.h>

#include "wire/cv-host-port.h"

/* Far longer than any path a reverse proxy routes on; a longer one is a mistake. */
#define MAX_PATH_LEN 1024

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

/* Whether @text is a URL ("scheme://…") rather than a host:port. */
gboolean
cv_web_url_has_scheme (const char *text)
{
  return strstr (text, "://") != NULL;
}

/* A URL is printable ASCII: a space or a control character would be a mistake, and
 * would be %-encoded by GUri behind the writer's back. */
static gboolean
check_printable (const char *text, GError **error)
{
  for (const char *p = text; *p != '\0'; p++)
    if ((guchar) *p <= 0x20 || (guchar) *p >= 0x7f)
      return invalid (error, "a URL is printable ASCII without spaces (write other characters "
                             "%%-encoded)");
  return TRUE;
}

typedef struct {
  char *scheme;
  char *user;
  char *password;
  char *host;
  int port;
  char *path;
  char *query;
  char *fragment;
} Parts;

/* What an error says where the text holds user information and GUri's words could
 * repeat it. */
#define USERINFO_INVALID "not a valid URL; %-encode / ? # @ in the user name and password"

static void
free_secret (char *secret)
{
  if (secret != NULL)
    sodium_memzero (secret, strlen (secret));
  g_free (secret);
}

static void
parts_clear (Parts *parts)
{
  g_free (parts->scheme);
  free_secret (parts->user);
  free_secret (parts->password);
  g_free (parts->host);
  g_free (parts->path);
  g_free (parts->query);
  g_free (parts->fragment);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Parts, parts_clear)

/* @len bytes of @text with the characters that would end or split user information
 * %-encoded; sized once, so that no copy of a password is left behind by a realloc. */
static char *
encode_credential (const char *text, gsize len)
{
  char *encoded = g_malloc (3 * len + 1);
  char *out = encoded;

  for (gsize i = 0; i < len; i++)
    if (strchr ("/?#@:", text[i]) != NULL)
      out += g_snprintf (out, 4, "%%%02X", (guchar) text[i]);
    else
      *out++ = text[i];
  *out = '\0';
  return encoded;
}

/* The last "@" after "://": where user information would end. */
static const char *
find_userinfo_end (const char *text, const char **authority)
{
  const char *scheme_end = strstr (text, "://");

  *authority = scheme_end != NULL ? scheme_end + 3 : NULL;
  return scheme_end != NULL ? strrchr (scheme_end + 3, '@') : NULL;
}

/* @userinfo_to_last_at: the user information is split off at the last "@" (a proxy's),
 * and GUri sees the URL without it; else GUri splits it all, and its words are not
 * passed on when there is an "@" that could end user information. */
static gboolean
split (const char *text, gboolean userinfo_to_last_at, Parts *parts, GError **error)
{
  g_autoptr (GError) uri_error = NULL;
  g_autofree char *without_userinfo = NULL;
  const char *authority;
  const char *at = find_userinfo_end (text, &authority);
  char *user = NULL;
  char *password = NULL;

  if (!check_printable (text, error))
    return FALSE;
  if (userinfo_to_last_at && at != NULL)
    {
      const char *colon = memchr (authority, ':', at - authority);

      parts->user = encode_credential (authority, (colon != NULL ? colon : at) - authority);
      if (colon != NULL)
        parts->password = encode_credential (colon + 1, at - colon - 1);
      without_userinfo = g_strdup_printf ("%.*s%s", (int) (authority - text), text, at + 1);
      text = without_userinfo;
    }
  /* Encoded: the path goes on the request line as written. */
  if (!g_uri_split_with_user (text, G_URI_FLAGS_ENCODED | G_URI_FLAGS_HAS_PASSWORD, &parts->scheme,
                              &user, &password, NULL, &parts->host, &parts->port, &parts->path,
                              &parts->query, &parts->fragment, &uri_error))
    return invalid (error, "%s",
                    at != NULL && !userinfo_to_last_at ? USERINFO_INVALID : uri_error->message);
  if (without_userinfo != NULL)
    {
      /* GUri saw no "@": it found no user information. */
      g_assert (user == NULL && password == NULL);
      return TRUE;
    }
  parts->user = user;
  parts->password = password;
  return TRUE;
}

/* The host, checked and spelled as in a host:port, and the port (@default_port when
 * the URL has none; 0: required). */
static gboolean
check_authority (const Parts *parts,
                 const char *scheme,
                 guint16 default_port,
                 char **host,
                 guint16 *port,
                 GError **error)
{
  g_autofree char *host_port = NULL;
  g_autoptr (GError) host_error = NULL;
  guint16 parsed_port;

  if (parts->host == NULL || parts->host[0] == '\0')
    return invalid (error, "a host is missing after “%s://”", scheme);
  if (parts->port == 0)
    return invalid (error, "port 0 is outside 1–65535");
  if (parts->port < 0 && default_port == 0)
    return invalid (error, "a port is missing after the host");
  /* GUri takes the brackets off an IPv6 literal. */
  host_port = g_strdup_printf (strchr (parts->host, ':') != NULL ? "[%s]:%d" : "%s:%d", parts->host,
                               parts->port > 0 ? parts->port : default_port);
  if (!cv_host_port_parse (host_port, NULL, host, &parsed_port, NULL, &host_error))
    return invalid (error, "%s", host_error->message);
  *port = parsed_port;
  return TRUE;
}

/* RFC 3986 pchar and "/": unreserved, sub-delims, ":", "@" and %-escapes (which GUri
 * has checked). */
static gboolean
check_path (const char *path, GError **error)
{
  static const char allowed[] = "-._~!$&'()*+,;=:@/%";

  if (path[0] != '/')
    return invalid (error, "the path must start with “/”");
  if (strlen (path) > MAX_PATH_LEN)
    return invalid (error, "the path is longer than %u characters", MAX_PATH_LEN);
  for (const char *p = path; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && strchr (allowed, *p) == NULL)
      return invalid (error, "“%c” may not be in a URL's path (write it %%-encoded)", *p);
  return TRUE;
}

/**
 * cv_web_url_parse_gateway:
 * @text: "wss://host[:port][/path]" or "ws://host[:port][/path]"; IPv6 hosts in brackets
 * @url: (out caller-allocates): the parts, to cv_web_url_clear()
 * @error: a %G_IO_ERROR_INVALID_ARGUMENT that says what is wrong, without repeating @text
 *
 * Without a path the URL means CV_WEB_URL_DEFAULT_PATH, the gateway's default; a path
 * of its own, "/" too, is taken as written.  User information, a query and a fragment
 * are refused: a gateway takes none.
 *
 * Returns: %TRUE if @text is such a URL
 */
gboolean
cv_web_url_parse_gateway (const char *text, CvWebUrl *url, GError **error)
{
  g_auto (Parts) parts = { 0 };
  gboolean tls;

  g_return_val_if_fail (text != NULL && url != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  memset (url, 0, sizeof *url);
  /* A path may hold "@": GUri finds the user information here. */
  if (!split (text, FALSE, &parts, error))
    return FALSE;
  if (g_strcmp0 (parts.scheme, "wss") != 0 && g_strcmp0 (parts.scheme, "ws") != 0)
    return invalid (error,
                    "“%s://” is not a way to reach a gateway: give wss:// (or ws://) for a "
                    "gateway behind a web server, host:port for its own port",
                    parts.scheme);
  tls = g_str_equal (parts.scheme, "wss");
  if (parts.user != NULL || parts.password != NULL)
    return invalid (error, "a gateway's URL takes no user name or password (the agent logs in "
                           "with its session and password)");
  if (parts.query != NULL)
    return invalid (error, "a gateway's URL takes no query (“?…”)");
  if (parts.fragment != NULL)
    return invalid (error, "a gateway's URL takes no fragment (“#…”)");
  if (!check_authority (&parts, parts.scheme, tls ? CV_WEB_URL_WSS_PORT : CV_WEB_URL_WS_PORT,
                        &url->host, &url->port, error))
    return FALSE;
  if (parts.path[0] != '\0' && !check_path (parts.path, error))
    {
      g_clear_pointer (&url->host, g_free);
      return FALSE;
    }
  url->path = g_strdup (parts.path[0] != '\0' ? parts.path : CV_WEB_URL_DEFAULT_PATH);
  url->tls = tls;
  return TRUE;
}

void
cv_web_url_clear (CvWebUrl *url)
{
  g_clear_pointer (&url->host, g_free);
  g_clear_pointer (&url->path, g_free);
}

/* A user name or password, %-decoded as GIO will decode it for the proxy's Basic
 * credentials: it must decode, and a user name may not hold the ':' that ends it. */
static gboolean
check_credential (const char *encoded, gboolean is_user, GError **error)
{
  g_autofree char *decoded = g_uri_unescape_string (encoded, NULL);

  if (decoded == NULL)
    return invalid (error,
                    "the proxy's %s has a %%-escape that does not decode (or decodes to "
                    "NUL)",
                    is_user ? "user name" : "password");
  if (is_user && decoded[0] == '\0')
    return invalid (error, "the proxy's user name is empty");
  if (is_user && strchr (decoded, ':') != NULL)
    return invalid (error, "the proxy's user name may not hold “:” (it ends the user name in "
                           "HTTP Basic credentials)");
  return TRUE;
}

/**
 * cv_web_url_parse_proxy:
 * @text: "direct", or "http://[user:password@]host:port", optionally with a final "/"
 * @host: (out) (optional): the proxy's host (cv_host_port_parse()'s spelling), or %NULL
 *   for "direct"
 * @port: (out) (optional): its port
 * @has_credentials: (out) (optional): whether @text holds a user name and password
 * @error: a %G_IO_ERROR_INVALID_ARGUMENT, never repeating the user information
 *
 * The port is required: proxies listen on many (3128, 8080…), none is a safe guess.
 *
 * Returns: %TRUE if @text is valid
 */
static gboolean
parse_proxy (const char *text,
             char **host,
             guint16 *port,
             gboolean *has_credentials,
             char **for_gio,
             GError **error)
{
  g_auto (Parts) parts = { 0 };
  g_autofree char *parsed_host = NULL;
  guint16 parsed_port = 0;

  g_return_val_if_fail (text != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (g_str_equal (text, CV_WEB_URL_PROXY_DIRECT))
    {
      if (host != NULL)
        *host = NULL;
      if (port != NULL)
        *port = 0;
      if (has_credentials != NULL)
        *has_credentials = FALSE;
      if (for_gio != NULL)
        *for_gio = g_strdup ("direct://");
      return TRUE;
    }
  if (!cv_web_url_has_scheme (text))
    return invalid (error, "not a URL: “http://” is missing");
  if (!split (text, TRUE, &parts, error))
    return FALSE;
  if (!g_str_equal (parts.scheme, "http"))
    return invalid (error,
                    "only an HTTP proxy (http://…, which tunnels with CONNECT) is "
                    "supported, not “%s://”",
                    parts.scheme);
  if (parts.user != NULL && parts.password == NULL)
    return invalid (error, "the proxy has a user name without a password "
                           "(http://USER:PASSWORD@HOST:PORT)");
  if ((parts.user != NULL && !check_credential (parts.user, TRUE, error))
      || (parts.password != NULL && !check_credential (parts.password, FALSE, error)))
    return FALSE;
  if (parts.query != NULL || parts.fragment != NULL
      || (parts.path[0] != '\0' && !g_str_equal (parts.path, "/")))
    return invalid (error, "a proxy's URL has no path, query or fragment, only "
                           "http://[user:password@]host:port");
  if (!check_authority (&parts, "http", 0, &parsed_host, &parsed_port, error))
    return FALSE;
  if (for_gio != NULL)
    {
      g_autofree char *described = cv_web_url_describe_proxy (parsed_host, parsed_port);

      /* The description is "http://HOST:PORT": the credentials go after its scheme. */
      *for_gio = parts.user == NULL
                   ? g_steal_pointer (&described)
                   : g_strdup_printf ("http://%s:%s@%s", parts.user, parts.password,
                                      described + strlen ("http://"));
    }
  if (host != NULL)
    *host = g_steal_pointer (&parsed_host);
  if (port != NULL)
    *port = parsed_port;
  if (has_credentials != NULL)
    *has_credentials = parts.user != NULL;
  return TRUE;
}

gboolean
cv_web_url_parse_proxy (const char *text,
                        char **host,
                        guint16 *port,
                        gboolean *has_credentials,
                        GError **error)
{
  return parse_proxy (text, host, port, has_credentials, NULL, error);
}

/**
 * cv_web_url_proxy_for_gio:
 * @text: a proxy as cv_web_url_parse_proxy() takes it
 * @error: as cv_web_url_parse_proxy()'s
 *
 * Returns: (transfer full) (nullable): @text as GIO parses it the way it is meant
 *   ("http://USER:PASSWORD@HOST:PORT", the credentials %-encoded; "direct://" for
 *   "direct"), for a GSimpleProxyResolver; it may hold a password: wipe it
 */
char *
cv_web_url_proxy_for_gio (const char *text, GError **error)
{
  char *for_gio = NULL;

  g_return_val_if_fail (text != NULL, NULL);
  if (!parse_proxy (text, NULL, NULL, NULL, &for_gio, error))
    return NULL;
  return for_gio;
}

/* "http://HOST:PORT", IPv6 in brackets: how errors and logs name a proxy, never with
 * its credentials. */
char *
cv_web_url_describe_proxy (const char *host, guint16 port)
{
  return g_strdup_printf (strchr (host, ':') != NULL ? "http://[%s]:%u" : "http://%s:%u", host,
                          port);
}

/* @text with whatever may be user information (up to the last "@" after "://", or
 * from the start where there is no "://": "user:password@proxy:3128" as a variable may
 * be written) replaced by "…", so that it can be shown. */
char *
cv_web_url_redact (const char *text)
{
  const char *authority;
  const char *at = find_userinfo_end (text, &authority);

  if (authority == NULL)
    at = strrchr (text, '@');
  if (at == NULL)
    return g_strdup (text);
  return g_strdup_printf ("%.*s…%s", authority != NULL ? (int) (authority - text) : 0, text, at);
}
