/* cv-proxy-resolver.c: the system's proxy settings for dialling the gateway.
 *
 * GIO's default resolver is glib-networking's: its GNOME one (GSettings) where the
 * org.gnome.system.proxy schema is installed and the desktop is GNOME, else libproxy,
 * which on a server reads https_proxy, HTTPS_PROXY, http_proxy, HTTP_PROXY and no_proxy
 * (measured on Debian 12: glib-networking 2.74, libproxy 0.4.18; all_proxy is not read).
 * Two of its ways fail badly, so it is not asked as it is:
 *
 * - GIO tries the GNOME resolver first, and it aborts the process (g_settings_new) where
 *   that schema is not installed or no schema is found at all (a bundle without
 *   gsettings-desktop-schemas, a sandbox with XDG_DATA_DIRS of its own).  There the
 *   environment is read here instead, as libproxy reads it.
 * - libproxy hands a variable on as it is written, and one GIO cannot parse (without
 *   its scheme, "proxy:3128", or with "#" or "/" in its password) GIO logs whole,
 *   password included, on every dial, and dials nothing; one with "@" in its password
 *   GIO splits at the first "@", and the rest of the password is logged as a host.
 *   So wherever https_proxy, HTTPS_PROXY, http_proxy or HTTP_PROXY is set, the
 *   environment is read here, each value made a URL GIO parses as curl would (or the
 *   dial fails with the variable named); libproxy and GNOME's settings are asked only
 *   where none is set, their answers through CvProxyResolver, which puts "http://"
 *   before a bare one.
 */
#include "transport/cv-proxy-resolver.h"

#include <sodium.h>
#include <string.h>

#include "wire/cv-web-url.h"

#define GNOME_PROXY_SCHEMA "org.gnome.system.proxy"

struct _CvProxyResolver {
  GObject parent_instance;

  GProxyResolver *inner;
};

static void cv_proxy_resolver_iface_init (GProxyResolverInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CvProxyResolver,
                               cv_proxy_resolver,
                               G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_PROXY_RESOLVER,
                                                      cv_proxy_resolver_iface_init))

static char *
with_scheme (const char *proxy)
{
  return strstr (proxy, "://") != NULL ? g_strdup (proxy) : g_strconcat ("http://", proxy, NULL);
}

/* Takes @proxies; every entry a URI GIO can dial. */
static char **
fix_schemes (char **proxies)
{
  for (guint i = 0; proxies != NULL && proxies[i] != NULL; i++)
    if (strstr (proxies[i], "://") == NULL)
      {
        char *fixed = with_scheme (proxies[i]);

        g_free (proxies[i]);
        proxies[i] = fixed;
      }
  return proxies;
}

static gboolean
cv_proxy_resolver_is_supported (GProxyResolver *resolver)
{
  return TRUE;
}

static char **
cv_proxy_resolver_lookup (GProxyResolver *resolver,
                          const char *uri,
                          GCancellable *cancellable,
                          GError **error)
{
  CvProxyResolver *self = CV_PROXY_RESOLVER (resolver);

  return fix_schemes (g_proxy_resolver_lookup (self->inner, uri, cancellable, error));
}

static void
on_looked_up (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  char **proxies = g_proxy_resolver_lookup_finish (G_PROXY_RESOLVER (source), result, &error);

  if (proxies == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, fix_schemes (proxies), (GDestroyNotify) g_strfreev);
}

static void
cv_proxy_resolver_lookup_async (GProxyResolver *resolver,
                                const char *uri,
                                GCancellable *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer user_data)
{
  CvProxyResolver *self = CV_PROXY_RESOLVER (resolver);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, cv_proxy_resolver_lookup_async);
  g_proxy_resolver_lookup_async (self->inner, uri, cancellable, on_looked_up, task);
}

static char **
cv_proxy_resolver_lookup_finish (GProxyResolver *resolver, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
cv_proxy_resolver_iface_init (GProxyResolverInterface *iface)
{
  iface->is_supported = cv_proxy_resolver_is_supported;
  iface->lookup = cv_proxy_resolver_lookup;
  iface->lookup_async = cv_proxy_resolver_lookup_async;
  iface->lookup_finish = cv_proxy_resolver_lookup_finish;
}

static void
cv_proxy_resolver_finalize (GObject *object)
{
  CvProxyResolver *self = CV_PROXY_RESOLVER (object);

  g_clear_object (&self->inner);
  G_OBJECT_CLASS (cv_proxy_resolver_parent_class)->finalize (object);
}

static void
cv_proxy_resolver_class_init (CvProxyResolverClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cv_proxy_resolver_finalize;
}

static void
cv_proxy_resolver_init (CvProxyResolver *self)
{
}

static const char *const https_names[] = { "https_proxy", "HTTPS_PROXY", NULL };
static const char *const http_names[] = { "http_proxy", "HTTP_PROXY", NULL };

/* The first of @names that is set and not empty, or NULL; @name: which it is. */
static const char *
getenv_first (const char *const *names, const char **name)
{
  for (; *names != NULL; names++)
    {
      const char *value = g_getenv (*names);

      if (value != NULL && value[0] != '\0')
        {
          *name = *names;
          return value;
        }
    }
  return NULL;
}

static void
free_secret (char *secret)
{
  if (secret != NULL)
    sodium_memzero (secret, strlen (secret));
  g_free (secret);
}

/* The proxy @names give, as GIO must be given it (cv_web_url_proxy_for_gio(): the user
 * information split at the last "@" and %-encoded, as curl takes it); NULL with no
 * @error where none is set.  A value that is no proxy URL is an error naming the
 * variable, its value redacted: the dial fails rather than going direct. */
static char *
proxy_from (const char *const *names, GError **error)
{
  const char *name = NULL;
  const char *value = getenv_first (names, &name);
  g_autoptr (GError) url_error = NULL;
  g_autofree char *url = NULL;
  g_autofree char *redacted = NULL;
  char *for_gio;

  if (value == NULL)
    return NULL;
  url = with_scheme (value);
  for_gio = cv_web_url_proxy_for_gio (url, &url_error);
  sodium_memzero (url, strlen (url));
  if (for_gio != NULL)
    return for_gio;
  redacted = cv_web_url_redact (value);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
               "the proxy in the environment is not valid: %s=%s (%s)", name, redacted,
               url_error->message);
  return NULL;
}

/**
 * cv_proxy_resolver_new_from_environment:
 * @error: where a variable is set to something that is not a proxy's URL
 *
 * The environment as libproxy reads it: https_proxy (or HTTPS_PROXY) for https://
 * destinations, http_proxy (or HTTP_PROXY) for the others and where the former is not
 * set; the hosts in no_proxy (or NO_PROXY), comma separated, are reached directly, as
 * GSimpleProxyResolver's ignore-hosts take them (names, "*.domain", addresses, CIDR
 * ranges).  Every variable that is set must be valid, whichever the dial needs: a
 * mistake is told at once, not on the day the other scheme is dialled.
 *
 * Returns: (transfer full) (nullable): a GSimpleProxyResolver
 */
GProxyResolver *
cv_proxy_resolver_new_from_environment (GError **error)
{
  g_autoptr (GError) local_error = NULL;
  char *https = proxy_from (https_names, &local_error);
  char *http = local_error == NULL ? proxy_from (http_names, &local_error) : NULL;
  const char *no_proxy = g_getenv ("no_proxy") != NULL ? g_getenv ("no_proxy")
                                                       : g_getenv ("NO_PROXY");
  g_auto (GStrv) entries = NULL;
  g_autoptr (GStrvBuilder) builder = NULL;
  g_auto (GStrv) ignore = NULL;
  GProxyResolver *resolver;

  if (local_error != NULL)
    {
      free_secret (https);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  entries = no_proxy != NULL ? g_strsplit (no_proxy, ",", -1) : NULL;
  builder = g_strv_builder_new ();
  for (guint i = 0; entries != NULL && entries[i] != NULL; i++)
    if (g_strstrip (entries[i])[0] != '\0')
      g_strv_builder_add (builder, entries[i]);
  ignore = g_strv_builder_end (builder);
  resolver = g_simple_proxy_resolver_new (http != NULL ? http : "direct://", ignore);
  if (https != NULL)
    g_simple_proxy_resolver_set_uri_proxy (G_SIMPLE_PROXY_RESOLVER (resolver), "https", https);
  /* The resolver keeps copies of its own. */
  free_secret (https);
  free_secret (http);
  return resolver;
}

/**
 * cv_proxy_resolver_get_system:
 * @error: as cv_proxy_resolver_new_from_environment()'s
 *
 * The system's proxy settings (see the top of the file): the environment's wherever a
 * proxy variable is set, else GIO's default resolver where asking it cannot abort the
 * process.
 *
 * Returns: (transfer full) (nullable): a resolver to give a GSocketClient
 */
GProxyResolver *
cv_proxy_resolver_get_system (GError **error)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = NULL;
  const char *name;
  CvProxyResolver *self;

  if (getenv_first (https_names, &name) != NULL || getenv_first (http_names, &name) != NULL)
    return cv_proxy_resolver_new_from_environment (error);
  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, GNOME_PROXY_SCHEMA, TRUE);
  if (schema == NULL)
    return cv_proxy_resolver_new_from_environment (error);
  self = g_object_new (CV_TYPE_PROXY_RESOLVER, NULL);
  self->inner = g_object_ref (g_proxy_resolver_get_default ());
  return G_PROXY_RESOLVER (self);
}
