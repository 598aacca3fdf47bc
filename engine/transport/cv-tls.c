/* cv-tls.c: TLS 1.3 handshakes over a connected stream, with the peer checked by CA or by pin.
 *
 * GIO's GTlsConnection does the TLS (glib-networking's GnuTLS backend); this file
 * decides whom to trust and says so in words when it does not: a refused peer's
 * error shows its fingerprint and how to pin it, so nobody is tempted to turn
 * checking off.
 *
 * Every check that matters is made again after the handshake, on what the finished
 * connection reports: the protocol version (TLS 1.3 only), the pinned key (a
 * certificate GIO validated, or a resumed session, never reaches accept-certificate)
 * and the application protocol (ALPN).
 */
#include "transport/cv-tls-private.h"

#include "base/cv-source.h"
#include "transport/cv-peer-check.h"

#include <string.h>

/* glib-networking's GnuTLS backend reads its priority string from here (2.74). */
#define GNUTLS_PRIORITY_VARIABLE "G_TLS_GNUTLS_PRIORITY"
#define TLS13_ONLY_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3"

/* Errors that a pin makes moot: a pinned key needs no CA and no name. */
#define PIN_OVERRIDES (G_TLS_CERTIFICATE_UNKNOWN_CA | G_TLS_CERTIFICATE_BAD_IDENTITY)

/* clang-format off */
G_DEFINE_QUARK (cv-tls-error-quark, cv_tls_error)
/* clang-format on */

/* With no check given: a server takes any client certificate, a client validates
 * the server's against the system's CA store. */
static const CvTlsPeerCheck default_check = { CV_TLS_PEER_CHECK_SYSTEM_CA };

typedef struct {
  GTlsConnection *connection;
  gboolean is_server;
  gboolean require_peer_certificate;
  gboolean check_peer; /* FALSE for a server that takes any client certificate */
  CvTlsPeerCheckMode mode;
  char *pinned; /* PINNED: normalized */
  char *peer_name;
  char *pin_key;
  char *server_name;
  char *alpn;
  guint timeout_ms;
  GCancellable *handshake_cancellable; /* cancelled by the caller's or by the deadline */
  gulong caller_cancelled_id;
  GSource *timeout_source;
  gboolean timed_out;
  gulong accept_id;
  GError *refusal; /* why accept-certificate refused the peer */
} Handshake;

static void
handshake_free (gpointer data)
{
  Handshake *hs = data;

  g_clear_object (&hs->connection);
  g_free (hs->pinned);
  g_free (hs->peer_name);
  g_free (hs->pin_key);
  g_free (hs->server_name);
  g_free (hs->alpn);
  g_clear_object (&hs->handshake_cancellable);
  g_clear_error (&hs->refusal);
  g_free (hs);
}

/* ---- words ------------------------------------------------------------- */

/* Whether @certificate, with the @errors GIO found validating it, is the peer we
 * want; if not, why, in words that show its fingerprint and how to pin it. */
static gboolean
peer_is_trusted (Handshake *hs,
                 GTlsCertificate *certificate,
                 GTlsCertificateFlags errors,
                 GError **error)
{
  g_autofree char *fingerprint = cv_fingerprint_of_certificate (certificate);
  g_autofree char *problems = NULL;

  if (fingerprint == NULL)
    {
      g_set_error (error, CV_TLS_ERROR, CV_TLS_ERROR_UNTRUSTED,
                   "%s's certificate could not be read", hs->peer_name);
      return FALSE;
    }
  if (hs->mode == CV_TLS_PEER_CHECK_PINNED)
    {
      errors &= ~PIN_OVERRIDES;
      if (errors != 0)
        problems = cv_peer_check_describe_problems (certificate, errors, hs->server_name);
      return cv_peer_check_key (hs->peer_name, hs->pin_key, hs->pinned, fingerprint, problems,
                                error);
    }

  if (errors == 0)
    return TRUE;
  problems = cv_peer_check_describe_problems (certificate, errors, hs->server_name);
  g_propagate_error (error, cv_peer_check_untrusted_error_new (hs->peer_name, hs->pin_key,
                                                               fingerprint, problems));
  return FALSE;
}

static const char *
protocol_version_name (GTlsProtocolVersion version)
{
  switch (version)
    {
    case G_TLS_PROTOCOL_VERSION_SSL_3_0:
      return "SSL 3.0";
    case G_TLS_PROTOCOL_VERSION_TLS_1_0:
      return "TLS 1.0";
    case G_TLS_PROTOCOL_VERSION_TLS_1_1:
      return "TLS 1.1";
    case G_TLS_PROTOCOL_VERSION_TLS_1_2:
      return "TLS 1.2";
    case G_TLS_PROTOCOL_VERSION_TLS_1_3:
      return "TLS 1.3";
    case G_TLS_PROTOCOL_VERSION_DTLS_1_0:
      return "DTLS 1.0";
    case G_TLS_PROTOCOL_VERSION_DTLS_1_2:
      return "DTLS 1.2";
    case G_TLS_PROTOCOL_VERSION_UNKNOWN:
    default:
      return "an unknown protocol version";
    }
}

/* ---- the handshake ------------------------------------------------------ */

static gboolean
on_accept_certificate (GTlsConnection *connection,
                       GTlsCertificate *peer_certificate,
                       GTlsCertificateFlags errors,
                       gpointer user_data)
{
  GTask *task = user_data;
  Handshake *hs = g_task_get_task_data (task);

  /* Emitted on the context that started the handshake, while its thread waits. */
  if (!hs->check_peer)
    return TRUE;
  g_clear_error (&hs->refusal);
  return peer_is_trusted (hs, peer_certificate, errors, &hs->refusal);
}

/* What the finished connection reports, checked whatever the handshake did. */
static gboolean
check_connection (Handshake *hs, GError **error)
{
  GTlsProtocolVersion version = g_tls_connection_get_protocol_version (hs->connection);
  GTlsCertificate *peer_certificate = g_tls_connection_get_peer_certificate (hs->connection);

  if (version != G_TLS_PROTOCOL_VERSION_TLS_1_3)
    {
      g_set_error (error, CV_TLS_ERROR, CV_TLS_ERROR_PROTOCOL_VERSION,
                   "the TLS connection with %s uses %s; Culvert requires TLS 1.3", hs->peer_name,
                   protocol_version_name (version));
      return FALSE;
    }

  if (peer_certificate == NULL)
    {
      if (hs->require_peer_certificate)
        {
          g_set_error (error, CV_TLS_ERROR, CV_TLS_ERROR_NO_CERTIFICATE,
                       "%s presented no certificate", hs->peer_name);
          return FALSE;
        }
    }
  /* GIO validated the chain (or accept-certificate took it); the pin is ours. */
  else if (hs->check_peer && hs->mode == CV_TLS_PEER_CHECK_PINNED
           && !peer_is_trusted (hs, peer_certificate, 0, error))
    return FALSE;

  if (hs->alpn != NULL)
    {
      const char *negotiated = g_tls_connection_get_negotiated_protocol (hs->connection);

      if (g_strcmp0 (negotiated, hs->alpn) != 0)
        {
          g_autofree char *chosen = negotiated != NULL ? g_strdup_printf ("\"%s\"", negotiated)
                                                       : g_strdup ("none");

          g_set_error (error, CV_TLS_ERROR, CV_TLS_ERROR_ALPN,
                       "%s did not agree on the application protocol \"%s\" (ALPN: it chose %s)",
                       hs->peer_name, hs->alpn, chosen);
          return FALSE;
        }
    }
  return TRUE;
}

static void
stop_watching (GTask *task)
{
  Handshake *hs = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);

  cv_source_clear (&hs->timeout_source);
  if (hs->caller_cancelled_id != 0)
    {
      g_cancellable_disconnect (cancellable, hs->caller_cancelled_id);
      hs->caller_cancelled_id = 0;
    }
  /* The connection goes to the caller and outlives the task. */
  g_clear_signal_handler (&hs->accept_id, hs->connection);
}

static void
on_handshake_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  Handshake *hs = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;
  g_autofree char *ciphersuite = NULL;

  stop_watching (task);

  if (!g_tls_connection_handshake_finish (hs->connection, result, &error))
    {
      if (hs->timed_out)
        {
          g_clear_error (&error);
          error = cv_handshake_timed_out_error_new (hs->peer_name, hs->timeout_ms);
        }
      else if (hs->refusal != NULL)
        {
          g_clear_error (&error);
          error = g_steal_pointer (&hs->refusal);
        }
      else if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_prefix_error (&error, "TLS handshake with %s failed: ", hs->peer_name);
      g_debug ("TLS handshake with %s: %s", hs->peer_name, error->message);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (!check_connection (hs, &error))
    {
      g_debug ("TLS handshake with %s: %s", hs->peer_name, error->message);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  ciphersuite = g_tls_connection_get_ciphersuite_name (hs->connection);
  g_debug ("TLS handshake with %s: %s, %s", hs->peer_name, ciphersuite,
           hs->alpn != NULL ? hs->alpn : "no ALPN");
  g_task_return_pointer (task, g_object_ref (hs->connection), g_object_unref);
}

static gboolean
on_deadline (gpointer user_data)
{
  Handshake *hs = user_data;

  hs->timed_out = TRUE;
  g_cancellable_cancel (hs->handshake_cancellable);
  g_clear_pointer (&hs->timeout_source, g_source_unref);
  return G_SOURCE_REMOVE;
}

static void
on_caller_cancelled (GCancellable *cancellable, gpointer user_data)
{
  /* May run in another thread; cancelling is thread-safe. */
  g_cancellable_cancel (G_CANCELLABLE (user_data));
}

/* Takes over @connection (a new client or server connection, or %NULL and why
 * there is none) and starts; the task's own reference goes to on_handshake_done(). */
static void
start_handshake (GTask *task,
                 GIOStream *connection,
                 GError *error,
                 const CvTlsPeerCheck *check,
                 const char *alpn,
                 guint timeout_ms)
{
  Handshake *hs = g_task_get_task_data (task);
  GCancellable *cancellable = g_task_get_cancellable (task);

  if (connection == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  hs->connection = G_TLS_CONNECTION (connection);
  if (check == NULL)
    check = &default_check;
  /* Only tunnels list authorized keys, and they use cv-tls-stream. */
  g_return_if_fail (check->authorized == NULL);
  hs->mode = check->mode;
  hs->peer_name = g_strdup (check->peer_name != NULL ? check->peer_name : "the peer");
  hs->pin_key = g_strdup (check->pin_key);
  hs->alpn = g_strdup (alpn);
  hs->timeout_ms = timeout_ms != 0 ? timeout_ms : CV_TLS_DEFAULT_HANDSHAKE_TIMEOUT_MS;

  if (check->mode == CV_TLS_PEER_CHECK_PINNED)
    {
      hs->pinned = cv_peer_check_get_pin (check, hs->peer_name, &error);
      if (hs->pinned == NULL)
        {
          g_task_return_error (task, error);
          g_object_unref (task);
          return;
        }
      /* Without a database every certificate comes to accept-certificate, and no
       * CA can vouch for a key other than the pinned one. */
      g_tls_connection_set_database (hs->connection, NULL);
    }
  else if (!hs->check_peer)
    g_tls_connection_set_database (hs->connection, NULL); /* nothing to validate against */
  else if (check->database != NULL)
    g_tls_connection_set_database (hs->connection, check->database);

  if (alpn != NULL)
    {
      const char *protocols[] = { alpn, NULL };

      g_tls_connection_set_advertised_protocols (hs->connection, protocols);
    }

  hs->accept_id = g_signal_connect (hs->connection, "accept-certificate",
                                    G_CALLBACK (on_accept_certificate), task);

  /* The deadline and the caller's cancellable both cancel this one. */
  hs->handshake_cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    hs->caller_cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (on_caller_cancelled),
                                                     g_object_ref (hs->handshake_cancellable),
                                                     g_object_unref);
  hs->timeout_source = cv_handshake_deadline_new (hs->timeout_ms, on_deadline, hs,
                                                  g_task_get_context (task));

  g_tls_connection_handshake_async (hs->connection, G_PRIORITY_DEFAULT, hs->handshake_cancellable,
                                    on_handshake_done, task);
}

/* Whether the peer of @base, if it is a socket, has not reset the connection yet.
 *
 * A GSocket connected asynchronously keeps its connect "pending" until its remote address
 * is asked for, and asking then reads SO_ERROR again.  glib-networking (2.74) asks when
 * its client handshake starts, to name the TLS session, and if the peer has reset the
 * connection by then (a dying or overloaded gateway), it gets no address and unrefs NULL
 * (a critical), and the reset's error is gone, so the ClientHello fails with "Broken
 * pipe".  Asked here first, the address is settled and kept by the socket, so the
 * handshake never asks SO_ERROR again; a reset before that is an error of ours. */
static gboolean
peer_still_connected (GIOStream *base, const CvTlsPeerCheck *check, GError **error)
{
  g_autoptr (GSocketAddress) address = NULL;
  g_autoptr (GError) local = NULL;

  if (!G_IS_SOCKET_CONNECTION (base))
    return TRUE;
  address = g_socket_connection_get_remote_address (G_SOCKET_CONNECTION (base), &local);
  if (address != NULL)
    return TRUE;
  g_set_error (error, local->domain, local->code,
               "TLS handshake with %s failed: the connection was lost before it started (%s)",
               check != NULL && check->peer_name != NULL ? check->peer_name : "the peer",
               local->message);
  return FALSE;
}

/* A GIO TLS client connection over @base for cv_tls_handshake_start(), with @server_name
 * (nullable) as SNI and the name to check; NULL and why if the peer is already gone. */
GIOStream *
cv_tls_client_connection_new (GIOStream *base,
                              const char *server_name,
                              const CvTlsPeerCheck *check,
                              GError **error)
{
  g_autoptr (GSocketConnectable) identity = NULL;

  if (server_name != NULL)
    identity = g_network_address_new (server_name, 0);
  if (!peer_still_connected (base, check, error))
    return NULL;
  return g_tls_client_connection_new (base, identity, error);
}

/* The driver's one entry for both ends: the client below, and the GIO server that tests
 * check the client against (tests/cv-test-tls-server.c).  Takes over @connection (a new
 * GTlsConnection, or %NULL and @error saying why there is none). */
void
cv_tls_handshake_start (GIOStream *connection,
                        GError *error,
                        const CvTlsHandshakeSide *side,
                        const CvTlsPeerCheck *check,
                        const char *alpn,
                        guint timeout_ms,
                        GCancellable *cancellable,
                        gpointer source_tag,
                        GAsyncReadyCallback callback,
                        gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Handshake *hs = g_new0 (Handshake, 1);

  g_task_set_source_tag (task, source_tag);
  g_task_set_name (task, side->is_server ? "[culvert] TLS server handshake"
                                         : "[culvert] TLS client handshake");
  g_task_set_task_data (task, hs, handshake_free);
  hs->is_server = side->is_server;
  hs->require_peer_certificate = side->require_peer_certificate;
  hs->check_peer = side->check_peer;
  hs->server_name = g_strdup (side->server_name);
  start_handshake (task, connection, error, check, alpn, timeout_ms);
}

GIOStream *
cv_tls_handshake_finish (GAsyncResult *result, gpointer source_tag, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * cv_tls_client_handshake_async:
 * @base: a connected stream, usually a #GSocketConnection
 * @server_name: (nullable): the name the server's certificate must be issued for
 *   (and SNI); needed in system-CA mode, ignored for the check when pinned
 * @check: (nullable): how to trust the server; %NULL is the system CA store
 * @client_identity: (nullable): the certificate to present if the server asks
 * @alpn: (nullable): the application protocol both sides must agree on
 * @timeout_ms: the handshake's deadline; 0 is %CV_TLS_DEFAULT_HANDSHAKE_TIMEOUT_MS
 *
 * Runs a TLS 1.3 handshake as the client, on the thread-default main context.  On
 * failure @base is left as it is; the caller closes it.
 */
void
cv_tls_client_handshake_async (GIOStream *base,
                               const char *server_name,
                               const CvTlsPeerCheck *check,
                               CvIdentity *client_identity,
                               const char *alpn,
                               guint timeout_ms,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  GError *error = NULL;
  GIOStream *connection;
  CvTlsHandshakeSide side = { FALSE, TRUE, TRUE, server_name };

  g_return_if_fail (G_IS_IO_STREAM (base));
  g_return_if_fail (client_identity == NULL || CV_IS_IDENTITY (client_identity));

  connection = cv_tls_client_connection_new (base, server_name, check, &error);
  if (connection != NULL && client_identity != NULL)
    g_tls_connection_set_certificate (G_TLS_CONNECTION (connection),
                                      cv_identity_get_certificate (client_identity));
  cv_tls_handshake_start (connection, error, &side, check, alpn, timeout_ms, cancellable,
                          cv_tls_client_handshake_async, callback, user_data);
}

/**
 * cv_tls_client_handshake_finish:
 *
 * Returns: (transfer full): the #GTlsConnection, ready for data
 */
GIOStream *
cv_tls_client_handshake_finish (GAsyncResult *result, GError **error)
{
  return cv_tls_handshake_finish (result, cv_tls_client_handshake_async, error);
}

/* ---- TLS 1.3 in the handshake itself ------------------------------------ */

/**
 * cv_tls_restrict_process_to_tls13:
 *
 * Makes glib-networking's GnuTLS backend offer and accept nothing but TLS 1.3 in
 * this process, so that an older peer fails in the handshake rather than in the
 * check after it.  GIO 2.74 has no API for the protocol version: the backend reads
 * its GnuTLS priority string once, from G_TLS_GNUTLS_PRIORITY, when its connection
 * class is first made.  So this sets the variable, makes the class, and removes the
 * variable again, so that programs we start (a VNC viewer, a browser) do not
 * inherit it.
 *
 * Call it at the start of main(), before any thread starts (setenv() is not
 * thread-safe) and before any TLS connection exists.  It leaves things alone if
 * the variable is already set (an operator's choice), if the backend is not GnuTLS,
 * or if it is too late; the check after every handshake refuses anything but TLS
 * 1.3 regardless: that check is the guarantee, this only makes it fail sooner.
 *
 * Returns: whether handshakes now refuse versions before TLS 1.3
 */
gboolean
cv_tls_restrict_process_to_tls13 (void)
{
  static gboolean restricted = FALSE;
  GTlsBackend *backend;
  GType client_type;
  GType server_type;

  if (restricted)
    return TRUE;

  backend = g_tls_backend_get_default ();
  if (!g_tls_backend_supports_tls (backend)
      || g_strcmp0 (G_OBJECT_TYPE_NAME (backend), "GTlsBackendGnutls") != 0)
    {
      g_debug ("TLS backend %s: TLS 1.3 is enforced after each handshake only",
               G_OBJECT_TYPE_NAME (backend));
      return FALSE;
    }
  if (g_getenv (GNUTLS_PRIORITY_VARIABLE) != NULL)
    {
      g_debug ("%s is set: TLS 1.3 is enforced after each handshake only",
               GNUTLS_PRIORITY_VARIABLE);
      return FALSE;
    }
  client_type = g_tls_backend_get_client_connection_type (backend);
  server_type = g_tls_backend_get_server_connection_type (backend);
  if (g_type_class_peek (g_type_parent (client_type)) != NULL)
    {
      g_debug ("a TLS connection was made before: TLS 1.3 is enforced after each handshake only");
      return FALSE;
    }

  g_setenv (GNUTLS_PRIORITY_VARIABLE, TLS13_ONLY_PRIORITY, TRUE);
  /* Kept for good: a class of the module's (dynamic) types that lost its last
   * reference would be made again, and read the variable again. */
  g_type_class_ref (client_type);
  g_type_class_ref (server_type);
  g_unsetenv (GNUTLS_PRIORITY_VARIABLE);

  restricted = TRUE;
  return TRUE;
}
