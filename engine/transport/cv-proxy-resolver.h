/* cv-proxy-resolver.h: the system's proxy settings for dialling the gateway, asked in a
 * way that cannot abort the process or leak a proxy's password into the log. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CV_TYPE_PROXY_RESOLVER (cv_proxy_resolver_get_type ())
G_DECLARE_FINAL_TYPE (CvProxyResolver, cv_proxy_resolver, CV, PROXY_RESOLVER, GObject)

GProxyResolver *cv_proxy_resolver_get_system (GError **error);
GProxyResolver *cv_proxy_resolver_new_from_environment (GError **error);

G_END_DECLS
