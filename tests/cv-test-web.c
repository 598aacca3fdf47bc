/* cv-test-web.c: a libsoup SoupServer on 127.0.0.1 with a WebSocket that echoes every
 * message (binary or text) back, the real peer the agents' upgrade and bridge are
 * tested against. */
#include "cv-test-web.h"

#include <libsoup/soup.h>

struct _CvTestWeb {
  SoupServer *server;
  guint16 port;
  GPtrArray *connections; /* the SoupWebsocketConnections, kept alive here */
  guint upgrades;
};

static void
on_message (SoupWebsocketConnection *connection, gint type, GBytes *message, gpointer user_data)
{
  soup_websocket_connection_send_message (connection, type, message);
}

static void
on_websocket (SoupServer *server,
              SoupServerMessage *message,
              const char *path,
              SoupWebsocketConnection *connection,
              gpointer user_data)
{
  CvTestWeb *web = user_data;

  web->upgrades++;
  /* Above the bridge's biggest message, so that only the bridge's own bound applies. */
  soup_websocket_connection_set_max_incoming_payload_size (connection, 4 * 1024 * 1024);
  g_signal_connect (connection, "message", G_CALLBACK (on_message), NULL);
  g_ptr_array_add (web->connections, g_object_ref (connection));
}

static void
on_plain (SoupServer *server,
          SoupServerMessage *message,
          const char *path,
          GHashTable *query,
          gpointer user_data)
{
  static const char page[] = "<html>not a gateway</html>";

  soup_server_message_set_status (message, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (message, "text/html", SOUP_MEMORY_STATIC, page,
                                    sizeof page - 1);
}

/* @certificate: (nullable): HTTPS with this certificate (and its key); NULL: HTTP */
CvTestWeb *
cv_test_web_new (GTlsCertificate *certificate)
{
  CvTestWeb *web = g_new0 (CvTestWeb, 1);
  g_autoptr (GError) error = NULL;
  GSList *uris;

  web->connections = g_ptr_array_new_with_free_func (g_object_unref);
  web->server = soup_server_new ("tls-certificate", certificate, NULL);
  soup_server_add_websocket_handler (web->server, CV_TEST_WEB_PATH, NULL, NULL, on_websocket, web,
                                     NULL);
  soup_server_add_handler (web->server, CV_TEST_WEB_PLAIN_PATH, on_plain, web, NULL);
  soup_server_listen_local (web->server, 0,
                            SOUP_SERVER_LISTEN_IPV4_ONLY
                              | (certificate != NULL ? SOUP_SERVER_LISTEN_HTTPS : 0),
                            &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (web->server);
  g_assert_nonnull (uris);
  web->port = (guint16) g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return web;
}

guint16
cv_test_web_get_port (CvTestWeb *web)
{
  return web->port;
}

/* How many WebSocket upgrades the server has taken. */
guint
cv_test_web_get_upgrades (CvTestWeb *web)
{
  return web->upgrades;
}

void
cv_test_web_free (CvTestWeb *web)
{
  for (guint i = 0; i < web->connections->len; i++)
    {
      SoupWebsocketConnection *connection = g_ptr_array_index (web->connections, i);

      g_signal_handlers_disconnect_by_func (connection, on_message, NULL);
      if (soup_websocket_connection_get_state (connection) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
    }
  g_ptr_array_unref (web->connections);
  soup_server_disconnect (web->server);
  g_object_unref (web->server);
  g_free (web);
}
