/* cv-gateway-probe.c: what key a gateway presents, learned by a TLS handshake that trusts
 * nothing and sends nothing after it — for a person to compare before trusting it.
 *
 * The handshake is cv-tls.c's driver with the peer check off (any certificate is taken):
 * the same TLS 1.3 only and the same ALPN check as a control link, so a server that is
 * not a gateway fails here as it would there.  One deadline covers the dial and the
 * handshake.
 */
#include "transport/cv-gateway-probe.h"

#include "base/cv-source.h"
#include "transport/cv-gateway-dial.h"
#include "transport/cv-identity.h"
#include "transport/cv-tls-private.h"

#include <string.h>

#define DEFAULT_TIMEOUT_MS 15000

typedef struct {
  char *host;
  char *peer_name; /* "the gateway at host:port" (or its URL), in messages */
  guint timeout_ms;
  gint64 deadline_us;        /* monotonic */
  GCancellable *cancellable; /* cancelled by the caller's or by the deadline */
  gulong caller_cancelled_id;
  GSource *deadline;
  gboolean timed_out;
} Probe;

static void
probe_free (gpointer data)
{
  Probe *probe = data;

  g_free (probe->host);
  g_free (probe->peer_name);
  cv_source_clear (&probe->deadline);
  g_clear_object (&probe->cancellable);
  g_free (probe);
}

/* Ends @task: with @error (taken), or with @fingerprint (taken). */
static void
probe_return (GTask *task, GError *error, char *fingerprint)
{
  Probe *probe = g_task_get_task_data (task);
  GCancellable *caller = g_task_get_cancellable (task);

  cv_source_clear (&probe->deadline);
  if (probe->caller_cancelled_id != 0)
    {
      g_cancellable_disconnect (caller, probe->caller_cancelled_id);
      probe->caller_cancelled_id = 0;
    }
  if (error == NULL)
    {
      g_task_return_pointer (task, fingerprint, g_free);
      return;
    }
  g_free (fingerprint);
  /* The deadline shows as a cancellation below; say what it was. */
  if (probe->timed_out
      && (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED)
          || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT)))
    {
      g_clear_error (&error);
      if (probe->timeout_ms % 1000 == 0)
        error = g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                             "%s did not complete a TLS handshake within %u s", probe->peer_name,
                             probe->timeout_ms / 1000);
      else
        error = g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                             "%s did not complete a TLS handshake within %u ms", probe->peer_name,
                             probe->timeout_ms);
    }
  else if (g_error_matches (error, CV_TLS_ERROR, CV_TLS_ERROR_ALPN))
    {
      GError *worded = g_error_new (error->domain, error->code,
                                    "%s; it is probably not a Culvert gateway", error->message);

      g_error_free (error);
      error = worded;
    }
  g_task_return_error (task, error);
}

static void
on_closed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  /* Closing is a courtesy to the gateway; its failure changes nothing. */
  g_io_stream_close_finish (G_IO_STREAM (source), result, NULL);
}

static void
on_handshake_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;
  g_autoptr (GIOStream) tls = cv_tls_handshake_finish (result, cv_gateway_probe_fingerprint_async,
                                                       &error);
  GTlsCertificate *certificate;
  char *fingerprint;

  if (tls == NULL)
    {
      probe_return (task, error, NULL);
      return;
    }
  /* The driver refuses a peer without a certificate. */
  certificate = g_tls_connection_get_peer_certificate (G_TLS_CONNECTION (tls));
  fingerprint = cv_fingerprint_of_certificate (certificate);
  if (fingerprint == NULL)
    error = g_error_new (CV_TLS_ERROR, CV_TLS_ERROR_UNTRUSTED,
                         "the certificate of %s could not be read",
                         ((Probe *) g_task_get_task_data (task))->peer_name);
  /* No HELLO, and no certificate of ours: the gateway, which wants one, turns the
   * connection away once it has shown its own. */
  g_io_stream_close_async (tls, G_PRIORITY_DEFAULT, NULL, on_closed, NULL);
  probe_return (task, error, fingerprint);
}

static void
on_dialled (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  Probe *probe = g_task_get_task_data (task);
  GError *error = NULL;
  g_autoptr (GSocketConnection) connection = cv_gateway_dial_finish (result, &error);
  CvTlsPeerCheck check = { .mode = CV_TLS_PEER_CHECK_SYSTEM_CA, .peer_name = probe->peer_name };
  CvTlsHandshakeSide side = { FALSE, TRUE, FALSE, probe->host };
  GIOStream *tls = NULL;
  gint64 left_ms;

  if (connection == NULL)
    {
      probe_return (task, error, NULL);
      g_object_unref (task);
      return;
    }
  tls = cv_tls_client_connection_new (G_IO_STREAM (connection), probe->host, &check, &error);
  left_ms = MAX (1, (probe->deadline_us - g_get_monotonic_time ()) / 1000);
  /* The task's reference goes on to on_handshake_done(). */
  cv_tls_handshake_start (tls, error, &side, &check, CV_TLS_ALPN, (guint) left_ms,
                          probe->cancellable, cv_gateway_probe_fingerprint_async, on_handshake_done,
                          task);
}

static gboolean
on_deadline (gpointer user_data)
{
  Probe *probe = user_data;

  probe->timed_out = TRUE;
  g_clear_pointer (&probe->deadline, g_source_unref);
  g_cancellable_cancel (probe->cancellable);
  return G_SOURCE_REMOVE;
}

static void
on_caller_cancelled (GCancellable *cancellable, gpointer user_data)
{
  /* May run in another thread; cancelling is thread-safe. */
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

/**
 * cv_gateway_probe_fingerprint_async:
 * @timeout_ms: for the dial and the handshake together; 0 is 15 s
 *
 * Runs on the thread-default main context.
 */
void
cv_gateway_probe_fingerprint_async (const char *host,
                                    guint16 port,
                                    guint timeout_ms,
                                    GCancellable *cancellable,
                                    GAsyncReadyCallback callback,
                                    gpointer user_data)
{
  CvGatewayAddress address = { .host = (char *) host, .port = port };

  g_return_if_fail (host != NULL);

  cv_gateway_probe_fingerprint_at_async (&address, timeout_ms, cancellable, callback, user_data);
}

/**
 * cv_gateway_probe_fingerprint_at_async:
 * @address: where the gateway is and how it is dialled (a WebSocket URL's path, the web
 *   server's pin, the proxy); its own pin (@address->fingerprint) is not consulted
 * @timeout_ms: for the dial (with its outer TLS and upgrade) and the handshake
 *   together; 0 is 15 s
 *
 * As cv_gateway_probe_fingerprint_async(), the key of the gateway behind a web server
 * too: the outer TLS is checked as a dial checks it, by web_fingerprint or the CAs.
 * Runs on the thread-default main context.
 */
void
cv_gateway_probe_fingerprint_at_async (const CvGatewayAddress *address,
                                       guint timeout_ms,
                                       GCancellable *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer user_data)
{
  GTask *task;
  Probe *probe;
  g_autofree char *shown = NULL;

  g_return_if_fail (address != NULL && address->host != NULL);

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, cv_gateway_probe_fingerprint_async);
  g_task_set_name (task, "[culvert] gateway probe");
  probe = g_new0 (Probe, 1);
  g_task_set_task_data (task, probe, probe_free);
  probe->host = g_strdup (address->host);
  shown = cv_gateway_address_to_string (address);
  probe->peer_name = g_strdup_printf ("the gateway at %s", shown);
  probe->timeout_ms = timeout_ms != 0 ? timeout_ms : DEFAULT_TIMEOUT_MS;
  probe->deadline_us = g_get_monotonic_time () + (gint64) probe->timeout_ms * 1000;
  probe->cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    probe->caller_cancelled_id = g_cancellable_connect (cancellable,
                                                        G_CALLBACK (on_caller_cancelled),
                                                        g_object_ref (probe->cancellable),
                                                        g_object_unref);
  probe->deadline = g_timeout_source_new (probe->timeout_ms);
  g_source_set_callback (probe->deadline, on_deadline, probe, NULL);
  g_source_set_static_name (probe->deadline, "[culvert] gateway probe deadline");
  g_source_attach (probe->deadline, g_task_get_context (task));

  cv_gateway_dial_async (address, probe->cancellable, on_dialled, task);
}

char *
cv_gateway_probe_fingerprint_finish (GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                          == cv_gateway_probe_fingerprint_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
