/* cv-tls-stream-handshake.c: CvTlsStream's TLS 1.3 handshake: the tunnels' (both keys
 * pinned), and the agents' outer TLS to a web server (the server's key pinned, or its
 * chain checked by CA and name).
 *
 * Half of CvTlsStream (cv-tls-stream.c has the stream): the peer's key is checked
 * when its certificate arrives, so a wrong key ends the handshake with an alert
 * before any application byte, and checked again on the finished session.
 *
 * By CA, the chain GnuTLS received is handed to GIO's GTlsDatabase (the system's
 * store, or the check's), as GTlsConnection does: the same store, the same
 * flags, the same words (cv-peer-check.c) as a control link's.
 */
#include "transport/cv-tls-stream-private.h"

#include "base/cv-socket-util.h"
#include "base/cv-source.h"
#include "transport/cv-peer-check.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>
#include <time.h>

static const char *
validity_problem (const gnutls_datum_t *der)
{
  gnutls_x509_crt_t crt;
  const char *problem = NULL;
  time_t now = time (NULL);

  if (gnutls_x509_crt_init (&crt) < 0)
    return "unreadable";
  if (gnutls_x509_crt_import (crt, der, GNUTLS_X509_FMT_DER) < 0)
    problem = "unreadable";
  else if (gnutls_x509_crt_get_expiration_time (crt) < now)
    problem = "expired";
  else if (gnutls_x509_crt_get_activation_time (crt) > now)
    problem = "not yet valid";
  gnutls_x509_crt_deinit (crt);
  return problem;
}

/* Whether ALPN chose the handshake's own protocol (an agent's, on the gateway's port);
 * known from the ClientHello on, so also when the client's certificate arrives. */
static gboolean
chose_own_alpn (CvTlsStream *self)
{
  gnutls_datum_t selected = { 0 };

  return self->alpn != NULL && gnutls_alpn_get_selected_protocol (self->session, &selected) >= 0
         && selected.size == strlen (self->alpn)
         && memcmp (selected.data, self->alpn, selected.size) == 0;
}

/* The peer's chain as GIO certificates, each the issuer of the one before, in the
 * order the peer sent them (as glib-networking gives a chain to its database). */
static GTlsCertificate *
chain_of_peer (const gnutls_datum_t *certs, unsigned int n_certs, GError **error)
{
  GType type = g_tls_backend_get_certificate_type (g_tls_backend_get_default ());
  GTlsCertificate *issuer = NULL;

  for (unsigned int i = n_certs; i > 0; i--)
    {
      gnutls_datum_t pem = { 0 };
      GTlsCertificate *certificate;

      if (gnutls_pem_base64_encode2 ("CERTIFICATE", &certs[i - 1], &pem) < 0)
        {
          g_set_error_literal (error, G_TLS_ERROR, G_TLS_ERROR_BAD_CERTIFICATE,
                               "could not encode it");
          g_clear_object (&issuer);
          return NULL;
        }
      certificate = g_initable_new (type, NULL, error, "certificate-pem", (const char *) pem.data,
                                    "issuer", issuer, NULL);
      gnutls_free (pem.data);
      g_clear_object (&issuer);
      if (certificate == NULL)
        return NULL;
      issuer = certificate;
    }
  return issuer;
}

/* A client's check by CA: the server's chain must validate against the database for
 * the server name. */
static gboolean
peer_is_trusted_by_ca (CvTlsStream *self,
                       const gnutls_datum_t *certs,
                       unsigned int n_certs,
                       const char *fingerprint,
                       GError **error)
{
  g_autoptr (GError) local = NULL;
  g_autoptr (GTlsCertificate) chain = chain_of_peer (certs, n_certs, &local);
  g_autoptr (GSocketConnectable) identity = NULL;
  g_autofree char *problems = NULL;
  GTlsCertificateFlags errors;

  if (chain == NULL)
    {
      g_set_error (error, CV_TLS_ERROR, CV_TLS_ERROR_UNTRUSTED,
                   "%s's certificate could not be read: %s", self->peer_name, local->message);
      return FALSE;
    }
  if (self->server_name != NULL)
    identity = g_network_address_new (self->server_name, 0);
  errors = g_tls_database_verify_chain (self->database, chain,
                                        G_TLS_DATABASE_PURPOSE_AUTHENTICATE_SERVER, identity, NULL,
                                        G_TLS_DATABASE_VERIFY_NONE, NULL, &local);
  if (local != NULL)
    {
      g_set_error (error, CV_TLS_ERROR, CV_TLS_ERROR_UNTRUSTED,
                   "%s's certificate could not be checked: %s", self->peer_name, local->message);
      return FALSE;
    }
  /* As GTlsConnection: with no name to check, the identity is not vouched for. */
  if (identity == NULL)
    errors |= G_TLS_CERTIFICATE_BAD_IDENTITY;
  if (errors == 0)
    {
      self->peer_verified = TRUE;
      return TRUE;
    }
  problems = cv_peer_check_describe_problems (chain, errors, self->server_name);
  g_propagate_error (error, cv_peer_check_untrusted_error_new (self->peer_name, self->pin_key,
                                                               fingerprint, problems));
  return FALSE;
}

/* Runs when the peer's certificate arrives, so a wrong key ends the handshake with
 * an alert before any application byte. */
static gboolean
peer_matches_pin (CvTlsStream *self, GError **error)
{
  unsigned int n_certs = 0;
  const gnutls_datum_t *certs = gnutls_certificate_get_peers (self->session, &n_certs);
  g_autofree char *fingerprint = NULL;
  const char *problem = NULL;

  if (certs == NULL || n_certs == 0)
    {
      /* An HTTPS client need not have one; an agent must, as without also_http. */
      if (self->also_http && !chose_own_alpn (self))
        return TRUE;
      g_set_error (error, CV_TLS_ERROR, CV_TLS_ERROR_NO_CERTIFICATE, "%s presented no certificate",
                   self->peer_name);
      return FALSE;
    }
  fingerprint = cv_fingerprint_of_der (certs[0].data, certs[0].size);
  if (fingerprint == NULL)
    {
      g_set_error (error, CV_TLS_ERROR, CV_TLS_ERROR_UNTRUSTED,
                   "%s's certificate could not be read", self->peer_name);
      return FALSE;
    }
  g_free (self->peer_fingerprint);
  self->peer_fingerprint = g_strdup (fingerprint);
  if (self->mode == CV_TLS_PEER_CHECK_SYSTEM_CA && !self->is_server)
    return self->peer_verified || peer_is_trusted_by_ca (self, certs, n_certs, fingerprint, error);
  /* No pin: any key will do (the gateway only records an agent's key; its password
   * authenticates it).  A pin makes CAs and names moot, not the validity period. */
  if (self->pinned != NULL)
    problem = validity_problem (&certs[0]);
  return cv_peer_check_key (self->peer_name, self->pin_key, self->pinned, fingerprint, problem,
                            error)
         && cv_peer_check_authorized (self->peer_name, (const char *const *) self->authorized,
                                      self->authorized_key, fingerprint, error);
}

static int
verify_peer (gnutls_session_t session)
{
  CvTlsStream *self = gnutls_session_get_ptr (session);

  g_clear_error (&self->refusal);
  return peer_matches_pin (self, &self->refusal) ? 0 : GNUTLS_E_CERTIFICATE_ERROR;
}

/* What the finished handshake settled on, checked whatever it did. */
/* The outer TLS of a wss:// connection (agents' side): it asks for HTTP/1.1. */
static gboolean
web_client (CvTlsStream *self)
{
  return !self->is_server && g_strcmp0 (self->alpn, CV_TLS_ALPN_HTTP) == 0;
}

static gboolean
check_session (CvTlsStream *self, GError **error)
{
  gnutls_datum_t selected = { 0 };

  if (gnutls_protocol_get_version (self->session) != GNUTLS_TLS1_3)
    {
      g_set_error (error, CV_TLS_ERROR, CV_TLS_ERROR_PROTOCOL_VERSION,
                   "the TLS connection with %s uses %s; Culvert requires TLS 1.3", self->peer_name,
                   gnutls_protocol_get_name (gnutls_protocol_get_version (self->session)));
      return FALSE;
    }
  g_clear_pointer (&self->negotiated, g_free);
  if (gnutls_alpn_get_selected_protocol (self->session, &selected) >= 0)
    self->negotiated = g_strndup ((const char *) selected.data, selected.size);
  /* An HTTPS client: whatever certificate it sent is nobody's business here. */
  if (self->also_http && !chose_own_alpn (self))
    return TRUE;
  if (!peer_matches_pin (self, error))
    return FALSE;
  /* HTTP/1.1 needs no ALPN (RFC 7301 is optional to it), and TLS terminators and
   * inspecting proxies often negotiate none: a web client refuses only another one. */
  if (self->alpn != NULL && !chose_own_alpn (self)
      && !(web_client (self) && self->negotiated == NULL))
    {
      g_set_error (error, CV_TLS_ERROR, CV_TLS_ERROR_ALPN,
                   "%s did not agree on the application protocol \"%s\" (ALPN)", self->peer_name,
                   self->alpn);
      return FALSE;
    }
  return TRUE;
}

typedef struct {
  GSource *readable;
  GSource *deadline;
  gulong cancelled_id;
  guint timeout_ms;
} Handshake;

static void
handshake_stop (GTask *task)
{
  Handshake *hs = g_task_get_task_data (task);

  cv_source_clear (&hs->readable);
  cv_source_clear (&hs->deadline);
  if (hs->cancelled_id != 0)
    {
      g_cancellable_disconnect (g_task_get_cancellable (task), hs->cancelled_id);
      hs->cancelled_id = 0;
    }
}

static void
handshake_free (gpointer data)
{
  g_free (data);
}

/* Ends the handshake task, which holds its own reference until here. */
static void
handshake_return (GTask *task, GError *error)
{
  handshake_stop (task);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

static void handshake_step (GTask *task);

static gboolean
on_handshake_readable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  GTask *task = user_data;
  Handshake *hs = g_task_get_task_data (task);

  g_clear_pointer (&hs->readable, g_source_unref);
  handshake_step (task);
  return G_SOURCE_REMOVE;
}

static gboolean
on_handshake_deadline (gpointer user_data)
{
  GTask *task = user_data;
  CvTlsStream *self = g_task_get_source_object (task);
  Handshake *hs = g_task_get_task_data (task);

  g_clear_pointer (&hs->deadline, g_source_unref);
  handshake_return (task, cv_handshake_timed_out_error_new (self->peer_name, hs->timeout_ms));
  return G_SOURCE_REMOVE;
}

static gboolean
on_handshake_cancelled_idle (gpointer user_data)
{
  GTask *task = user_data;
  Handshake *hs = g_task_get_task_data (task);

  /* The deadline may have ended the handshake in the meantime. */
  if (hs->readable != NULL)
    handshake_return (task, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                 "the TLS handshake was cancelled"));
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

static void
on_handshake_cancelled (GCancellable *cancellable, gpointer user_data)
{
  GTask *task = user_data;

  /* Possibly on another thread, and inside g_cancellable_cancel() (where
   * disconnecting would deadlock): end it from the handshake's own context, later. */
  GSource *idle = g_idle_source_new ();

  g_source_set_callback (idle, on_handshake_cancelled_idle, g_object_ref (task), NULL);
  g_source_set_static_name (idle, "[culvert] TLS handshake cancelled");
  g_source_attach (idle, g_task_get_context (task));
  g_source_unref (idle);
}

/* A server whose client said hello, got our certificate in reply and hung up (a reset,
 * or a close without an alert): what a client does that checks our key against a pin
 * and finds another (GIO's TLS client sends no alert then).  Told apart from a client
 * that never spoke TLS, which hangs up before any hello. */
static gboolean
hung_up_on_certificate (CvTlsStream *self, int ret)
{
  gboolean hung_up = (self->socket_error != NULL && cv_socket_error_is_reset (self->socket_error))
                     || ret == GNUTLS_E_PREMATURE_TERMINATION
                     || ret == GNUTLS_E_UNEXPECTED_PACKET_LENGTH;

  return self->is_server && hung_up
         && gnutls_handshake_get_last_in (self->session) == GNUTLS_HANDSHAKE_CLIENT_HELLO;
}

static void
handshake_step (GTask *task)
{
  CvTlsStream *self = g_task_get_source_object (task);
  Handshake *hs = g_task_get_task_data (task);
  int ret;

  self->socket_drained = FALSE; /* woken by readiness: ask the socket */
  do
    ret = gnutls_handshake (self->session);
  while (ret == GNUTLS_E_INTERRUPTED
         || (ret < 0 && ret != GNUTLS_E_AGAIN && !gnutls_error_is_fatal (ret)));
  cv_tls_stream_send_pending (self);

  cv_tls_stream_release_idle_input (self);
  if (ret == GNUTLS_E_AGAIN && self->socket_error == NULL)
    {
      hs->readable = g_socket_create_source (self->socket, G_IO_IN, NULL);
      g_source_set_callback (hs->readable, G_SOURCE_FUNC (on_handshake_readable), task, NULL);
      cv_source_attach_io (hs->readable, "[culvert] TLS handshake", g_task_get_context (task));
      return;
    }
  if (ret == 0)
    {
      GError *error = NULL;

      self->handshake_done = TRUE;
      if (!check_session (self, &error))
        {
          self->handshake_done = FALSE;
          handshake_return (task, error);
          return;
        }
      handshake_return (task, NULL);
      return;
    }
  /* Tell the peer why (bad_certificate, protocol_version, …) rather than just
   * hanging up: its own error then names the cause. */
  if (ret != GNUTLS_E_FATAL_ALERT_RECEIVED && self->socket_error == NULL)
    {
      /* A key that is the pinned one but not authorized: RFC 8446's access_denied ("a
       * valid certificate was received, but when access control was applied, the
       * sender decided not to proceed"), so the peer can tell it from a wrong key. */
      if (g_error_matches (self->refusal, CV_TLS_ERROR, CV_TLS_ERROR_NOT_AUTHORIZED))
        gnutls_alert_send (self->session, GNUTLS_AL_FATAL, GNUTLS_A_ACCESS_DENIED);
      else
        gnutls_alert_send_appropriate (self->session, ret);
      cv_tls_stream_send_pending (self);
    }
  if (self->refusal != NULL)
    {
      handshake_return (task, g_steal_pointer (&self->refusal));
      return;
    }
  if (hung_up_on_certificate (self, ret))
    {
      handshake_return (task,
                        g_error_new (CV_TLS_ERROR, CV_TLS_ERROR_HUNG_UP_ON_CERTIFICATE,
                                     "%s hung up once it had our certificate, without a word: "
                                     "most likely it does not trust this key",
                                     self->peer_name));
      return;
    }
  {
    GError *error = NULL;

    cv_tls_stream_set_tls_error (self, ret, &error);
    if (error->domain != CV_TLS_ERROR)
      g_prefix_error (&error, "TLS handshake with %s failed: ", self->peer_name);
    handshake_return (task, error);
  }
}

/**
 * cv_tls_stream_handshake_async:
 * @check: (nullable): how to trust the peer: %CV_TLS_PEER_CHECK_PINNED, or on a
 *   client %CV_TLS_PEER_CHECK_SYSTEM_CA (the chain against the check's database or the
 *   system's, for the name cv_tls_stream_set_server_name() gave).  %NULL, on a server:
 *   any client certificate, which must be there (cv_tls_stream_get_peer_fingerprint()
 *   then says whose it is), unless an HTTPS client chose another protocol
 *   (cv_tls_stream_set_also_http())
 * @alpn: (nullable): the application protocol both ends must agree on
 * @timeout_ms: the deadline, 0 for %CV_TLS_DEFAULT_HANDSHAKE_TIMEOUT_MS
 */
void
cv_tls_stream_handshake_async (CvTlsStream *self,
                               const CvTlsPeerCheck *check,
                               const char *alpn,
                               guint timeout_ms,
                               GCancellable *cancellable,
                               GAsyncReadyCallback callback,
                               gpointer user_data)
{
  GTask *task;
  Handshake *hs;
  GError *error = NULL;

  g_return_if_fail (CV_IS_TLS_STREAM (self));
  /* A server checks clients by pin only: CAs and names are for servers. */
  g_return_if_fail (check == NULL || check->mode == CV_TLS_PEER_CHECK_PINNED || !self->is_server);
  g_return_if_fail (check != NULL || self->is_server);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cv_tls_stream_handshake_async);
  hs = g_new0 (Handshake, 1);
  hs->timeout_ms = timeout_ms != 0 ? timeout_ms : CV_TLS_DEFAULT_HANDSHAKE_TIMEOUT_MS;
  g_task_set_task_data (task, hs, handshake_free);

  g_free (self->peer_name);
  self->peer_name = g_strdup (check != NULL && check->peer_name != NULL ? check->peer_name
                                                                        : "the peer");
  g_free (self->pin_key);
  self->pin_key = g_strdup (check != NULL ? check->pin_key : NULL);
  g_strfreev (self->authorized);
  self->authorized = check != NULL ? g_strdupv ((char **) check->authorized) : NULL;
  g_free (self->authorized_key);
  self->authorized_key = g_strdup (check != NULL ? check->authorized_key : NULL);
  g_free (self->alpn);
  self->alpn = g_strdup (alpn);
  g_free (self->pinned);
  self->pinned = NULL;
  self->mode = check != NULL ? check->mode : CV_TLS_PEER_CHECK_PINNED;
  self->peer_verified = FALSE;
  g_clear_object (&self->database);
  if (self->mode == CV_TLS_PEER_CHECK_SYSTEM_CA)
    self->database = check->database != NULL
                       ? g_object_ref (check->database)
                       : g_tls_backend_get_default_database (g_tls_backend_get_default ());
  else if (check != NULL)
    {
      self->pinned = cv_peer_check_get_pin (check, self->peer_name, &error);
      if (self->pinned == NULL)
        {
          handshake_return (task, error);
          return;
        }
    }
  if (self->mode == CV_TLS_PEER_CHECK_SYSTEM_CA && self->database == NULL)
    {
      handshake_return (task, g_error_new (CV_TLS_ERROR, CV_TLS_ERROR_UNTRUSTED,
                                           "there is no CA store to check %s's certificate "
                                           "against: pin its key instead",
                                           self->peer_name));
      return;
    }
  gnutls_session_set_verify_function (self->session, verify_peer);
  if (alpn != NULL || self->also_http)
    {
      gnutls_datum_t protocols[2];
      guint n = 0;

      if (alpn != NULL)
        protocols[n++] = (gnutls_datum_t){ (guint8 *) self->alpn, strlen (self->alpn) };
      if (self->also_http)
        protocols[n++] = (gnutls_datum_t){ (guint8 *) CV_TLS_ALPN_HTTP, strlen (CV_TLS_ALPN_HTTP) };
      /* Mandatory only between Culvert's own ends: an HTTPS client may offer no ALPN at
       * all, and a web server may choose none (check_session()). */
      if (!cv_tls_stream_gnutls_ok (gnutls_alpn_set_protocols (self->session, protocols, n,
                                                               self->also_http
                                                                 ? GNUTLS_ALPN_SERVER_PRECEDENCE
                                                               : web_client (self)
                                                                 ? 0
                                                                 : GNUTLS_ALPN_MANDATORY),
                                    "ALPN", &error))
        {
          handshake_return (task, error);
          return;
        }
    }
  if (!self->is_server)
    {
      /* RFC 6066: SNI names a host, never an address. */
      const char *sni = self->server_name == NULL                      ? "culvert-share-agent"
                        : g_hostname_is_ip_address (self->server_name) ? NULL
                                                                       : self->server_name;

      if (sni != NULL)
        gnutls_server_name_set (self->session, GNUTLS_NAME_DNS, sni, strlen (sni));
    }

  hs->deadline = cv_handshake_deadline_new (hs->timeout_ms, on_handshake_deadline, task,
                                            g_task_get_context (task));
  if (cancellable != NULL)
    hs->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (on_handshake_cancelled),
                                              task, NULL);
  if (g_task_return_error_if_cancelled (task))
    {
      handshake_stop (task);
      g_object_unref (task);
      return;
    }
  handshake_step (task);
}

gboolean
cv_tls_stream_handshake_finish (CvTlsStream *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * cv_tls_stream_get_peer_fingerprint:
 *
 * Returns: (nullable): the key of the peer's certificate, once the handshake is done
 */
const char *
cv_tls_stream_get_peer_fingerprint (CvTlsStream *self)
{
  g_return_val_if_fail (CV_IS_TLS_STREAM (self), NULL);

  return self->handshake_done ? self->peer_fingerprint : NULL;
}
