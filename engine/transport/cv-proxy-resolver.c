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
 * - libproxy hands a variable on as it is written, and a proxy written without its
 *   scheme ("proxy:3128", "user:password@proxy:3128", which curl takes) is an invalid URI
 *   to GIO, which then logs it whole, password included, and dials nothing.  So every
 *   answer passes through CvProxyResolver, which puts "http://" before a bare one.
 */
#include "transport/cv-proxy-resolver.h"

#include <string.h>

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

/* The first of @names that is set and not empty, with its scheme. */
static char *
getenv_first (const char *const *names)
{
  for (; *names != NULL; names++)
    {
      const char *value = g_getenv (*names);

      if (value != NULL && value[0] != '\0')
        return with_scheme (value);
    }
  return NULL;
}

/**
 * cv_proxy_resolver_new_from_environment:
 *
 * The environment as libproxy reads it: https_proxy (or HTTPS_PROXY) for https://
 * destinations, http_proxy (or HTTP_PROXY) for the others and where the former is not
 * set; the hosts in no_proxy (or NO_PROXY), comma separated, are reached directly, as
 * GSimpleProxyResolver's ignore-hosts take them (names, "*.domain", addresses, CIDR
 * ranges).
 *
 * Returns: (transfer full): a GSimpleProxyResolver
 */
GProxyResolver *
cv_proxy_resolver_new_from_environment (void)
{
  static const char *const https_names[] = { "https_proxy", "HTTPS_PROXY", NULL };
  static const char *const http_names[] = { "http_proxy", "HTTP_PROXY", NULL };
  g_autofree char *https = getenv_first (https_names);
  g_autofree char *http = getenv_first (http_names);
  const char *no_proxy = g_getenv ("no_proxy") != NULL ? g_getenv ("no_proxy")
                                                       : g_getenv ("NO_PROXY");
  g_auto (GStrv) entries = no_proxy != NULL ? g_strsplit (no_proxy, ",", -1) : NULL;
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) ignore = NULL;
  GProxyResolver *resolver;

  for (guint i = 0; entries != NULL && entries[i] != NULL; i++)
    if (g_strstrip (entries[i])[0] != '\0')
      g_strv_builder_add (builder, entries[i]);
  ignore = g_strv_builder_end (builder);
  resolver = g_simple_proxy_resolver_new (http != NULL ? http : "direct://", ignore);
  if (https != NULL)
    g_simple_proxy_resolver_set_uri_proxy (G_SIMPLE_PROXY_RESOLVER (resolver), "https", https);
  return resolver;
}

/**
 * cv_proxy_resolver_get_system:
 *
 * The system's proxy settings (see the top of the file): GIO's default resolver where
 * asking it cannot abort the process, else the environment's.
 *
 * Returns: (transfer full): a resolver to give a GSocketClient
 */
GProxyResolver *
cv_proxy_resolver_get_system (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = NULL;
  CvProxyResolver *self;

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, GNOME_PROXY_SCHEMA, TRUE);
  if (schema == NULL)
    return cv_proxy_resolver_new_from_environment ();
  self = g_object_new (CV_TYPE_PROXY_RESOLVER, NULL);
  self->inner = g_object_ref (g_proxy_resolver_get_default ());
  return G_PROXY_RESOLVER (self);
}
