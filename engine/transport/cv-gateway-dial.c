/* cv-gateway-dial.c: where the gateway is, how to know it, and a TCP connection to it,
 * for a control link or a tunnel half.  TLS is the caller's (with pinning). */
#include "transport/cv-gateway-dial.h"

#include <gio/gnetworking.h>

#define CONNECT_TIMEOUT_S 15

void
cv_gateway_address_clear (CvGatewayAddress *address)
{
  g_clear_pointer (&address->host, g_free);
  g_clear_pointer (&address->fingerprint, g_free);
  g_clear_object (&address->database);
  g_clear_pointer (&address->web_path, g_free);
  g_clear_pointer (&address->web_fingerprint, g_free);
  g_clear_object (&address->web_database);
  g_clear_pointer (&address->proxy, g_free);
}

void
cv_gateway_address_copy (CvGatewayAddress *dest, const CvGatewayAddress *src)
{
  dest->host = g_strdup (src->host);
  dest->port = src->port;
  dest->fingerprint = g_strdup (src->fingerprint);
  dest->database = src->database != NULL ? g_object_ref (src->database) : NULL;
  dest->web_path = g_strdup (src->web_path);
  dest->web_tls = src->web_tls;
  dest->web_fingerprint = g_strdup (src->web_fingerprint);
  dest->web_database = src->web_database != NULL ? g_object_ref (src->web_database) : NULL;
  dest->proxy = g_strdup (src->proxy);
}

static void
on_dialled (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  GSocketConnection *connection = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source),
                                                                          result, &error);

  if (connection == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* The connect timeout would otherwise stay on the socket and time out idle reads. */
  g_socket_set_timeout (g_socket_connection_get_socket (connection), 0);
  g_socket_set_option (g_socket_connection_get_socket (connection), IPPROTO_TCP, TCP_NODELAY, 1,
                       NULL);
  g_socket_set_keepalive (g_socket_connection_get_socket (connection), TRUE);
  g_task_return_pointer (task, connection, g_object_unref);
}

/* A TCP connection to the gateway, for a control link or a tunnel. */
void
cv_gateway_dial_async (const CvGatewayAddress *gateway,
                       GCancellable *cancellable,
                       GAsyncReadyCallback callback,
                       gpointer user_data)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, cv_gateway_dial_async);
  g_socket_client_set_timeout (client, CONNECT_TIMEOUT_S);
  /* TLS is ours to do (with pinning); proxies are not supported yet. */
  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_connect_to_host_async (client, gateway->host, gateway->port, cancellable,
                                         on_dialled, task);
}

GSocketConnection *
cv_gateway_dial_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
