/* cv-test-web.c: a libsoup SoupServer on 127.0.0.1 with a WebSocket that echoes every
 * message (binary or text) back, or relays its binary messages to a TCP port and that
 * port's bytes back as binary messages (a gateway's port behind a web server): the
 * real peer the agents' upgrade and bridge are tested against. */
#include "cv-test-web.h"

#include <libsoup/soup.h>

struct _CvTestWeb {
  SoupServer *server;
  guint16 port;
  GPtrArray *connections; /* the SoupWebsocketConnections, kept alive here */
  guint upgrades;
  guint16 relay_port; /* 0: echo */
  GPtrArray *relays;  /* of Relay */
};

/* One WebSocket relayed to one TCP connection, both ways. */
typedef struct {
  SoupWebsocketConnection *websocket;
  GSocketConnection *tcp;
  GCancellable *cancellable;
  GQueue pending; /* of GBytes, for the TCP side */
  gboolean writing;
  guint8 buffer[16384];
} Relay;

static void
relay_free (gpointer data)
{
  Relay *relay = data;

  g_cancellable_cancel (relay->cancellable);
  g_signal_handlers_disconnect_by_data (relay->websocket, relay);
  if (soup_websocket_connection_get_state (relay->websocket) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (relay->websocket, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
  g_object_unref (relay->websocket);
  g_io_stream_close (G_IO_STREAM (relay->tcp), NULL, NULL);
  g_object_unref (relay->tcp);
  g_object_unref (relay->cancellable);
  g_queue_clear_full (&relay->pending, (GDestroyNotify) g_bytes_unref);
  g_free (relay);
}

static void relay_write_next (Relay *relay);

static void
on_relay_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Relay *relay = user_data;
  g_autoptr (GError) error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    return; /* cancelled, or the TCP side is gone: its read ends the relay */
  g_bytes_unref (g_queue_pop_head (&relay->pending));
  relay->writing = FALSE;
  relay_write_next (relay);
}

static void
relay_write_next (Relay *relay)
{
  GBytes *next = g_queue_peek_head (&relay->pending);

  if (relay->writing || next == NULL)
    return;
  relay->writing = TRUE;
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (relay->tcp)),
                                   g_bytes_get_data (next, NULL), g_bytes_get_size (next),
                                   G_PRIORITY_DEFAULT, relay->cancellable, on_relay_written, relay);
}

static void
on_relay_message (SoupWebsocketConnection *websocket,
                  gint type,
                  GBytes *message,
                  gpointer user_data)
{
  Relay *relay = user_data;

  g_queue_push_tail (&relay->pending, g_bytes_ref (message));
  relay_write_next (relay);
}

static void
on_relay_closed (SoupWebsocketConnection *websocket, gpointer user_data)
{
  Relay *relay = user_data;

  /* As a reverse proxy does: the upstream connection ends with the WebSocket. */
  g_socket_shutdown (g_socket_connection_get_socket (relay->tcp), FALSE, TRUE, NULL);
}

static void
on_relay_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Relay *relay = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, NULL);

  if (n < 0 && g_cancellable_is_cancelled (relay->cancellable))
    return;
  if (n <= 0)
    {
      if (soup_websocket_connection_get_state (relay->websocket) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (relay->websocket, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      return;
    }
  {
    g_autoptr (GBytes) bytes = g_bytes_new (relay->buffer, (gsize) n);

    if (soup_websocket_connection_get_state (relay->websocket) == SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_send_message (relay->websocket, SOUP_WEBSOCKET_DATA_BINARY, bytes);
  }
  g_input_stream_read_async (G_INPUT_STREAM (source), relay->buffer, sizeof relay->buffer,
                             G_PRIORITY_DEFAULT, relay->cancellable, on_relay_read, relay);
}

static void
relay_start (CvTestWeb *web, SoupWebsocketConnection *websocket)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  Relay *relay = g_new0 (Relay, 1);

  relay->websocket = g_object_ref (websocket);
  relay->cancellable = g_cancellable_new ();
  relay->tcp = g_socket_client_connect_to_host (client, "127.0.0.1", web->relay_port, NULL, &error);
  g_assert_no_error (error);
  g_queue_init (&relay->pending);
  g_ptr_array_add (web->relays, relay);
  g_signal_connect (websocket, "message", G_CALLBACK (on_relay_message), relay);
  g_signal_connect (websocket, "closed", G_CALLBACK (on_relay_closed), relay);
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (relay->tcp)), relay->buffer,
                             sizeof relay->buffer, G_PRIORITY_DEFAULT, relay->cancellable,
                             on_relay_read, relay);
}

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
  /* No pings of its own: the bridge's are what keeps a link up. */
  soup_websocket_connection_set_keepalive_interval (connection, 0);
  if (web->relay_port != 0)
    {
      relay_start (web, connection);
      return;
    }
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
  web->relays = g_ptr_array_new_with_free_func (relay_free);
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

/* From now on, WebSocket upgrades at CV_TEST_WEB_PATH are relayed to 127.0.0.1:@port (a
 * gateway's raw port), not echoed. */
void
cv_test_web_relay_to (CvTestWeb *web, guint16 port)
{
  web->relay_port = port;
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
  g_ptr_array_unref (web->relays);
  soup_server_disconnect (web->server);
  g_object_unref (web->server);
  g_free (web);
}
