/* cv-ws-upgrade.c: a client's HTTP/1.1 upgrade to WebSocket on a connected stream.
 *
 * One request, one response head: libsoup's SoupSession would own the connection and
 * its TLS, and ours are made (and checked) below it, so the request is written here and
 * the answer parsed by libsoup's soup_headers_parse_response().  The head is read with
 * a bound on its size and a deadline; the bytes read past its blank line are the
 * WebSocket's first, handed on to the bridge.  The answer must be exactly RFC 6455's: 101,
 * Upgrade: websocket, Connection: upgrade, our key's Sec-WebSocket-Accept, and no
 * extension or subprotocol, since we offer none.
 */
#include "transport/cv-ws-upgrade.h"

#include <libsoup/soup.h>
#include <sodium.h>
#include <string.h>

#include "base/cv-log-escape.h"
#include "base/cv-source.h"
#include "cv-version.h"
#include "wire/cv-host-port.h"

#define KEY_BYTES 16
#define ACCEPT_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define END_OF_HEAD "\r\n\r\n"

/* clang-format off */
G_DEFINE_QUARK (cv-ws-upgrade-error-quark, cv_ws_upgrade_error)
/* clang-format on */

typedef struct {
  GIOStream *stream;
  char *server; /* "the web server at HOST:PORT", in messages */
  char *path;
  char *key; /* Sec-WebSocket-Key, base64 */
  char *request;
  guint8 *head;   /* what was read: the head, and maybe the first bytes after it */
  gsize head_len; /* bytes in @head */
  guint timeout_ms;
  GCancellable *cancellable; /* cancelled by the caller's or by the deadline */
  gulong caller_cancelled_id;
  GSource *deadline;
  gboolean timed_out;
} Upgrade;

static void
upgrade_free (gpointer data)
{
  Upgrade *upgrade = data;

  g_clear_object (&upgrade->stream);
  g_free (upgrade->server);
  g_free (upgrade->path);
  g_free (upgrade->key);
  g_free (upgrade->request);
  g_free (upgrade->head);
  cv_source_clear (&upgrade->deadline);
  g_clear_object (&upgrade->cancellable);
  g_free (upgrade);
}

/* Ends @task with @error (taken), or with @leftover (taken) when @error is NULL. */
static void
upgrade_return (GTask *task, GError *error, GBytes *leftover)
{
  Upgrade *upgrade = g_task_get_task_data (task);

  cv_source_clear (&upgrade->deadline);
  if (upgrade->caller_cancelled_id != 0)
    {
      g_cancellable_disconnect (g_task_get_cancellable (task), upgrade->caller_cancelled_id);
      upgrade->caller_cancelled_id = 0;
    }
  if (error == NULL)
    {
      g_task_return_pointer (task, leftover, (GDestroyNotify) g_bytes_unref);
      return;
    }
  /* The deadline shows as a cancellation below; say what it was. */
  if (upgrade->timed_out && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_clear_error (&error);
      if (upgrade->timeout_ms % 1000 == 0)
        error = g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                             "%s did not answer the WebSocket upgrade within %u s", upgrade->server,
                             upgrade->timeout_ms / 1000);
      else
        error = g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                             "%s did not answer the WebSocket upgrade within %u ms",
                             upgrade->server, upgrade->timeout_ms);
    }
  else if (error->domain != CV_WS_UPGRADE_ERROR
           && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_prefix_error (&error, "the WebSocket upgrade with %s failed: ", upgrade->server);
  g_debug ("WebSocket upgrade: %s", error->message);
  g_task_return_error (task, error);
}

/* What may go on the request line or in Host as it is: no space, no line break. */
static gboolean
is_token_text (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if ((guchar) *p <= 0x20 || (guchar) *p >= 0x7f)
      return FALSE;
  return text[0] != '\0';
}

/* Where "\r\n\r\n" starts in @data, or NULL. */
static const guint8 *
find_end_of_head (const guint8 *data, gsize len)
{
  gsize marker = strlen (END_OF_HEAD);

  for (gsize i = 0; i + marker <= len; i++)
    if (memcmp (data + i, END_OF_HEAD, marker) == 0)
      return data + i;
  return NULL;
}

static char *
expected_accept (const char *key)
{
  g_autoptr (GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize digest_len = sizeof digest;

  g_checksum_update (sha1, (const guchar *) key, -1);
  g_checksum_update (sha1, (const guchar *) ACCEPT_GUID, -1);
  g_checksum_get_digest (sha1, digest, &digest_len);
  return g_base64_encode (digest, digest_len);
}

/* A header's value as a message may show it: escaped, and short. */
static char *
shown_header (SoupMessageHeaders *headers, const char *name)
{
  const char *value = soup_message_headers_get_list (headers, name);

  return cv_log_escape (value != NULL ? value : "", -1);
}

static GError *
refusal_error (Upgrade *upgrade, guint status, const char *reason, SoupMessageHeaders *headers)
{
  g_autofree char *shown_reason = cv_log_escape (reason != NULL ? reason : "", -1);
  const char *hint = "";

  if (status == SOUP_STATUS_NOT_FOUND)
    return g_error_new (CV_WS_UPGRADE_ERROR, CV_WS_UPGRADE_ERROR_NOT_FOUND,
                        "%s has no Culvert gateway at %s (HTTP 404)", upgrade->server,
                        upgrade->path);
  if (SOUP_STATUS_IS_SUCCESSFUL (status))
    return g_error_new (CV_WS_UPGRADE_ERROR, CV_WS_UPGRADE_ERROR_NOT_SWITCHED,
                        "%s answered HTTP %u instead of switching to WebSocket: is it a Culvert "
                        "gateway?",
                        upgrade->server, status);
  if (SOUP_STATUS_IS_REDIRECTION (status)
      && soup_message_headers_get_one (headers, "Location") != NULL)
    {
      g_autofree char *location = shown_header (headers, "Location");

      return g_error_new (CV_WS_UPGRADE_ERROR, CV_WS_UPGRADE_ERROR_NOT_SWITCHED,
                          "%s redirects %s to %s (HTTP %u); a WebSocket does not follow "
                          "redirects: give the gateway's URL as it is there",
                          upgrade->server, upgrade->path, location, status);
    }
  if (status == SOUP_STATUS_BAD_GATEWAY || status == SOUP_STATUS_SERVICE_UNAVAILABLE
      || status == SOUP_STATUS_GATEWAY_TIMEOUT)
    hint = ": it may not reach the Culvert gateway behind it";
  else if (status == SOUP_STATUS_UNAUTHORIZED || status == SOUP_STATUS_FORBIDDEN)
    hint = ": it refused the upgrade";
  else if (status == SOUP_STATUS_BAD_REQUEST || status == 426)
    hint = ": is it a Culvert gateway, at that path?";
  return g_error_new (CV_WS_UPGRADE_ERROR, CV_WS_UPGRADE_ERROR_NOT_SWITCHED,
                      "%s answered HTTP %u%s%s instead of switching to WebSocket%s",
                      upgrade->server, status, shown_reason[0] != '\0' ? " " : "", shown_reason,
                      hint);
}

static GError *
check_head (Upgrade *upgrade, gsize head_len)
{
  g_autoptr (SoupMessageHeaders) headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  g_autofree char *reason = NULL;
  g_autofree char *accept = NULL;
  SoupHTTPVersion version;
  guint status = 0;
  const char *given_accept;

  if (!soup_headers_parse_response ((const char *) upgrade->head, (int) head_len, headers, &version,
                                    &status, &reason))
    return g_error_new (CV_WS_UPGRADE_ERROR, CV_WS_UPGRADE_ERROR_BAD_RESPONSE,
                        "%s did not answer the WebSocket upgrade in HTTP/1.1", upgrade->server);
  if (status != SOUP_STATUS_SWITCHING_PROTOCOLS)
    return refusal_error (upgrade, status, reason, headers);
  if (!soup_message_headers_header_contains (headers, "Upgrade", "websocket")
      || !soup_message_headers_header_contains (headers, "Connection", "upgrade"))
    {
      g_autofree char *upgrade_header = shown_header (headers, "Upgrade");

      return g_error_new (CV_WS_UPGRADE_ERROR, CV_WS_UPGRADE_ERROR_BAD_HANDSHAKE,
                          "%s switched protocols, but not to WebSocket (Upgrade: “%s”)",
                          upgrade->server, upgrade_header);
    }
  accept = expected_accept (upgrade->key);
  given_accept = soup_message_headers_get_one (headers, "Sec-WebSocket-Accept");
  if (g_strcmp0 (given_accept, accept) != 0)
    return g_error_new (CV_WS_UPGRADE_ERROR, CV_WS_UPGRADE_ERROR_BAD_HANDSHAKE,
                        "%s switched to WebSocket with a %s Sec-WebSocket-Accept: it did not "
                        "answer our key (is a proxy between us replaying answers?)",
                        upgrade->server, given_accept != NULL ? "bad" : "missing");
  if (soup_message_headers_get_one (headers, "Sec-WebSocket-Extensions") != NULL)
    {
      g_autofree char *extensions = shown_header (headers, "Sec-WebSocket-Extensions");

      return g_error_new (CV_WS_UPGRADE_ERROR, CV_WS_UPGRADE_ERROR_BAD_HANDSHAKE,
                          "%s switched to WebSocket with an extension we did not offer (%s)",
                          upgrade->server, extensions);
    }
  if (soup_message_headers_get_one (headers, "Sec-WebSocket-Protocol") != NULL)
    {
      g_autofree char *protocol = shown_header (headers, "Sec-WebSocket-Protocol");

      return g_error_new (CV_WS_UPGRADE_ERROR, CV_WS_UPGRADE_ERROR_BAD_HANDSHAKE,
                          "%s switched to WebSocket with a subprotocol we did not offer (%s)",
                          upgrade->server, protocol);
    }
  return NULL;
}

static void read_more (GTask *task);

static void
on_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  Upgrade *upgrade = g_task_get_task_data (task);
  GError *error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);
  gsize searched_from = upgrade->head_len >= 3 ? upgrade->head_len - 3 : 0;
  const guint8 *end;

  if (n < 0)
    {
      upgrade_return (task, error, NULL);
      g_object_unref (task);
      return;
    }
  if (n == 0)
    {
      upgrade_return (task,
                      g_error_new (CV_WS_UPGRADE_ERROR, CV_WS_UPGRADE_ERROR_BAD_RESPONSE,
                                   "%s closed the connection %s", upgrade->server,
                                   upgrade->head_len == 0
                                     ? "without answering the WebSocket upgrade"
                                     : "in the middle of its answer to the WebSocket upgrade"),
                      NULL);
      g_object_unref (task);
      return;
    }
  upgrade->head_len += (gsize) n;
  end = find_end_of_head (upgrade->head + searched_from, upgrade->head_len - searched_from);
  if (end == NULL)
    {
      if (upgrade->head_len < CV_WS_UPGRADE_MAX_HEAD_BYTES)
        {
          read_more (task);
          return;
        }
      upgrade_return (task,
                      g_error_new (CV_WS_UPGRADE_ERROR, CV_WS_UPGRADE_ERROR_BAD_RESPONSE,
                                   "%s answered the WebSocket upgrade with a head longer than "
                                   "%u bytes",
                                   upgrade->server, CV_WS_UPGRADE_MAX_HEAD_BYTES),
                      NULL);
      g_object_unref (task);
      return;
    }
  {
    gsize head_len = (gsize) (end - upgrade->head) + strlen (END_OF_HEAD);

    error = check_head (upgrade, head_len);
    upgrade_return (task, error,
                    error == NULL
                      ? g_bytes_new (upgrade->head + head_len, upgrade->head_len - head_len)
                      : NULL);
  }
  g_object_unref (task);
}

/* Into what is left of the bounded buffer: the head is never read past its bound. */
static void
read_more (GTask *task)
{
  Upgrade *upgrade = g_task_get_task_data (task);

  g_input_stream_read_async (g_io_stream_get_input_stream (upgrade->stream),
                             upgrade->head + upgrade->head_len,
                             CV_WS_UPGRADE_MAX_HEAD_BYTES - upgrade->head_len, G_PRIORITY_DEFAULT,
                             upgrade->cancellable, on_read, task);
}

static void
on_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  GError *error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      upgrade_return (task, error, NULL);
      g_object_unref (task);
      return;
    }
  read_more (task);
}

static gboolean
on_deadline (gpointer user_data)
{
  Upgrade *upgrade = user_data;

  upgrade->timed_out = TRUE;
  g_clear_pointer (&upgrade->deadline, g_source_unref);
  g_cancellable_cancel (upgrade->cancellable);
  return G_SOURCE_REMOVE;
}

static void
on_caller_cancelled (GCancellable *cancellable, gpointer user_data)
{
  /* May run in another thread; cancelling is thread-safe. */
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

static char *
make_key (void)
{
  guint8 nonce[KEY_BYTES];

  randombytes_buf (nonce, sizeof nonce);
  return g_base64_encode (nonce, sizeof nonce);
}

/**
 * cv_ws_upgrade_client_async:
 * @stream: connected to the web server (TCP, or the outer TLS of wss://); borrowed until
 *   the upgrade ends, then the caller's again, upgraded (or to be closed)
 * @host: the URL's host (an IPv6 literal without brackets), for Host and the messages
 * @port: the URL's port; Host names it unless it is the scheme's default
 * @tls: wss:// (443 by default) rather than ws:// (80)
 * @path: the URL's path, as it goes on the request line
 * @timeout_ms: from the request to the end of the answer's head; 0 is
 *   CV_WS_UPGRADE_DEFAULT_TIMEOUT_MS
 *
 * Runs on the thread-default main context.
 */
void
cv_ws_upgrade_client_async (GIOStream *stream,
                            const char *host,
                            guint16 port,
                            gboolean tls,
                            const char *path,
                            guint timeout_ms,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Upgrade *upgrade = g_new0 (Upgrade, 1);
  gboolean bracketed = strchr (host, ':') != NULL;
  g_autofree char *authority = cv_host_port_format (host, port);
  g_autofree char *host_header = port != (tls ? 443 : 80)
                                   ? g_strdup (authority)
                                   : g_strdup_printf (bracketed ? "[%s]" : "%s", host);

  g_return_if_fail (G_IS_IO_STREAM (stream) && host != NULL && path != NULL);

  g_task_set_source_tag (task, cv_ws_upgrade_client_async);
  g_task_set_name (task, "[culvert] WebSocket upgrade");
  g_task_set_task_data (task, upgrade, upgrade_free);
  upgrade->stream = g_object_ref (stream);
  upgrade->server = g_strdup_printf ("the web server at %s", authority);
  upgrade->path = g_strdup (path);
  upgrade->key = make_key ();
  upgrade->head = g_malloc (CV_WS_UPGRADE_MAX_HEAD_BYTES);
  upgrade->timeout_ms = timeout_ms != 0 ? timeout_ms : CV_WS_UPGRADE_DEFAULT_TIMEOUT_MS;
  upgrade->request = g_strdup_printf ("GET %s HTTP/1.1\r\n"
                                      "Host: %s\r\n"
                                      "Upgrade: websocket\r\n"
                                      "Connection: Upgrade\r\n"
                                      "Sec-WebSocket-Key: %s\r\n"
                                      "Sec-WebSocket-Version: 13\r\n"
                                      "User-Agent: Culvert/%s\r\n"
                                      "\r\n",
                                      path, host_header, upgrade->key, CV_VERSION);
  if (!is_token_text (host) || !is_token_text (path))
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                               "a WebSocket URL's host and path are printable ASCII without "
                               "spaces");
      g_object_unref (task);
      return;
    }
  upgrade->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    upgrade->caller_cancelled_id = g_cancellable_connect (cancellable,
                                                          G_CALLBACK (on_caller_cancelled),
                                                          g_object_ref (upgrade->cancellable),
                                                          g_object_unref);
  upgrade->deadline = g_timeout_source_new (upgrade->timeout_ms);
  g_source_set_callback (upgrade->deadline, on_deadline, upgrade, NULL);
  g_source_set_static_name (upgrade->deadline, "[culvert] WebSocket upgrade deadline");
  g_source_attach (upgrade->deadline, g_task_get_context (task));

  g_output_stream_write_all_async (g_io_stream_get_output_stream (stream), upgrade->request,
                                   strlen (upgrade->request), G_PRIORITY_DEFAULT,
                                   upgrade->cancellable, on_written, task);
}

/* Returns: (transfer full): the bytes that came after the 101's head (often none), or
 * %NULL with the error */
GBytes *
cv_ws_upgrade_client_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cv_ws_upgrade_client_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
