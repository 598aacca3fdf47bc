/* cv-dial-target.c: the gateway's host and port for GSocketClient, with the proxy
 * resolver it is to be asked with.
 *
 * GNetworkAddress makes a GProxyAddressEnumerator without a resolver, which then takes
 * g_proxy_resolver_get_default () at construction, before GSocketClient sets its own on
 * it; and making GIO's default resolver can abort the process (see
 * transport/cv-proxy-resolver.c).  This connectable makes the enumerator with ours, and
 * names the destination by a URI of the scheme dialled (https or http), which is what a
 * resolver decides by.  Everything else is the GNetworkAddress's.
 */
#include "transport/cv-dial-target.h"

#include "wire/cv-host-port.h"

struct _CvDialTarget {
  GObject parent_instance;

  GSocketConnectable *address; /* a GNetworkAddress */
  char *uri;                   /* "https://host:port", IPv6 in brackets */
  guint16 port;
  GProxyResolver *resolver;
};

static void cv_dial_target_connectable_init (GSocketConnectableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CvDialTarget,
                               cv_dial_target,
                               G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_SOCKET_CONNECTABLE,
                                                      cv_dial_target_connectable_init))

static GSocketAddressEnumerator *
cv_dial_target_enumerate (GSocketConnectable *connectable)
{
  return g_socket_connectable_enumerate (CV_DIAL_TARGET (connectable)->address);
}

static GSocketAddressEnumerator *
cv_dial_target_proxy_enumerate (GSocketConnectable *connectable)
{
  CvDialTarget *self = CV_DIAL_TARGET (connectable);

  return g_object_new (G_TYPE_PROXY_ADDRESS_ENUMERATOR, "connectable", self->address, "uri",
                       self->uri, "default-port", (guint) self->port, "proxy-resolver",
                       self->resolver, NULL);
}

static char *
cv_dial_target_to_string (GSocketConnectable *connectable)
{
  return g_socket_connectable_to_string (CV_DIAL_TARGET (connectable)->address);
}

static void
cv_dial_target_connectable_init (GSocketConnectableIface *iface)
{
  iface->enumerate = cv_dial_target_enumerate;
  iface->proxy_enumerate = cv_dial_target_proxy_enumerate;
  iface->to_string = cv_dial_target_to_string;
}

static void
cv_dial_target_finalize (GObject *object)
{
  CvDialTarget *self = CV_DIAL_TARGET (object);

  g_clear_object (&self->address);
  g_free (self->uri);
  g_clear_object (&self->resolver);
  G_OBJECT_CLASS (cv_dial_target_parent_class)->finalize (object);
}

static void
cv_dial_target_class_init (CvDialTargetClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cv_dial_target_finalize;
}

static void
cv_dial_target_init (CvDialTarget *self)
{
}

/**
 * cv_dial_target_new:
 * @host: a host name, or an IP literal without brackets
 * @scheme: what the resolver is told is dialled: "https" (TLS) or "http"
 * @resolver: the proxy resolver GSocketClient's proxy enumeration is to ask
 *
 * Returns: (transfer full): the connectable to give g_socket_client_connect_async ()
 */
GSocketConnectable *
cv_dial_target_new (const char *host, guint16 port, const char *scheme, GProxyResolver *resolver)
{
  CvDialTarget *self = g_object_new (CV_TYPE_DIAL_TARGET, NULL);
  g_autofree char *authority = cv_host_port_format (host, port);

  self->address = g_network_address_new (host, port);
  self->uri = g_strdup_printf ("%s://%s", scheme, authority);
  self->port = port;
  self->resolver = g_object_ref (resolver);
  return G_SOCKET_CONNECTABLE (self);
}
