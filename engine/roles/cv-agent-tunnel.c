/* cv-agent-tunnel.c: an agent's half of a tunnel — dial, present the ticket, TLS end to end.
 *
 * The gateway joins this connection to the other agent's once both presented their
 * tickets; from then on it relays bytes it cannot read.  The share agent is the TLS
 * server, the connect agent the client, and each pins the other's key as the gateway
 * announced it: a gateway that lies about a key cannot complete the handshake.  A
 * share agent may also list the connect agents it authorizes: then a key the gateway
 * announces truthfully, its own say, is refused unless it is listed. */
#include "roles/cv-agent-tunnel.h"

#include "wire/cv-ticket.h"
#include "transport/cv-tls-stream.h"

#include <string.h>

typedef struct {
  CvGatewayAddress gateway;
  char *ticket;
  gboolean tls_server;
  CvIdentity *identity;
  char *peer_fingerprint;
  char **authorized_keys; /* NULL: the announced key alone */
  GSocketConnection *connection;
  char *preface;
} Open;

static void
open_free (Open *open)
{
  cv_gateway_address_clear (&open->gateway);
  g_free (open->ticket);
  g_clear_object (&open->identity);
  g_free (open->peer_fingerprint);
  g_strfreev (open->authorized_keys);
  g_clear_object (&open->connection);
  g_free (open->preface);
  g_free (open);
}

static void
on_tls_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CvTlsStream *tls = CV_TLS_STREAM (source);
  GError *error = NULL;

  if (!cv_tls_stream_handshake_finish (tls, result, &error))
    {
      g_prefix_error (&error, "tunnel: ");
      g_task_return_error (task, error);
      return;
    }
  g_debug ("tunnel: TLS 1.3 with %s", cv_tls_stream_get_cipher_suite (tls));
  g_task_return_pointer (task, g_object_ref (tls), g_object_unref);
}

static void
on_preface_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Open *open = g_task_get_task_data (task);
  GError *error = NULL;
  CvTlsPeerCheck check = { 0 };
  g_autoptr (CvTlsStream) tls = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  /* GnuTLS driven directly, not GTlsConnection: the tunnel carries the bulk bytes
   * (why, in cv-tls-stream.c). */
  tls = cv_tls_stream_new (open->connection, open->tls_server, open->identity, &error);
  if (tls == NULL)
    {
      g_prefix_error (&error, "tunnel: ");
      g_task_return_error (task, error);
      return;
    }
  check.mode = CV_TLS_PEER_CHECK_PINNED;
  check.fingerprint = open->peer_fingerprint;
  check.peer_name = open->tls_server ? "the connect agent" : "the share agent";
  /* Checked in the handshake, on the key the peer proves, so that a refused connect
   * agent never reaches the mux, and is told why by the alert (access_denied). */
  check.authorized = (const char *const *) open->authorized_keys;
  check.authorized_key = "authorized_connect_keys";
  cv_tls_stream_handshake_async (tls, &check, CV_TLS_ALPN, 0, g_task_get_cancellable (task),
                                 on_tls_done, g_object_ref (task));
}

static void
on_dialled (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Open *open = g_task_get_task_data (task);
  GError *error = NULL;
  GOutputStream *output;

  open->connection = cv_gateway_dial_finish (result, &error);
  if (open->connection == NULL)
    {
      g_prefix_error (&error, "tunnel: ");
      g_task_return_error (task, error);
      return;
    }
  open->preface = cv_tunnel_preface_build (open->ticket);
  output = g_io_stream_get_output_stream (G_IO_STREAM (open->connection));
  g_output_stream_write_all_async (output, open->preface, strlen (open->preface),
                                   G_PRIORITY_DEFAULT, g_task_get_cancellable (task),
                                   on_preface_written, g_object_ref (task));
}

/**
 * cv_agent_tunnel_open_async:
 * @tls_server: TRUE on the share side
 * @peer_fingerprint: the other agent's key, as the gateway announced it
 * @authorized_keys: (nullable): on the share side, normalized fingerprints of the
 *   connect agents its config authorizes: the announced key must also be one of them,
 *   or the handshake fails with %CV_TLS_ERROR_NOT_AUTHORIZED; %NULL: any announced key
 *
 * Completes with the TLS stream the tunnel's multiplexer runs on.
 */
void
cv_agent_tunnel_open_async (const CvGatewayAddress *gateway,
                            const char *ticket,
                            gboolean tls_server,
                            CvIdentity *identity,
                            const char *peer_fingerprint,
                            const char *const *authorized_keys,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Open *open = g_new0 (Open, 1);

  g_task_set_source_tag (task, cv_agent_tunnel_open_async);
  cv_gateway_address_copy (&open->gateway, gateway);
  open->ticket = g_strdup (ticket);
  open->tls_server = tls_server;
  open->identity = g_object_ref (identity);
  open->peer_fingerprint = g_strdup (peer_fingerprint);
  open->authorized_keys = g_strdupv ((char **) authorized_keys);
  g_task_set_task_data (task, open, (GDestroyNotify) open_free);
  cv_gateway_dial_async (&open->gateway, cancellable, on_dialled, task);
}

GIOStream *
cv_agent_tunnel_open_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
