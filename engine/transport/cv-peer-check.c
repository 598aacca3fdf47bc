/* cv-peer-check.c: whom a TLS handshake trusts, and the words when it does not.
 *
 * Both TLS drivers, GIO's GTlsConnection for control links (cv-tls.c) and GnuTLS
 * driven directly for tunnels and the gateway (cv-tls-stream), pin keys the same way
 * and must refuse in the same words: a refused peer's error shows its fingerprint and
 * how to pin it, so nobody is tempted to turn checking off.  Each driver finds the
 * certificate and its problems in its own API; the decision and the words are here,
 * once.  So is the handshake deadline, which both attach to the task's context.
 */
#include "transport/cv-peer-check.h"

#include "transport/cv-identity.h"

/**
 * cv_peer_check_get_pin:
 * @check: a PINNED check
 * @peer_name: the peer in messages
 *
 * Returns: (transfer full): @check's fingerprint, normalized, or %NULL and why
 */
char *
cv_peer_check_get_pin (const CvTlsPeerCheck *check, const char *peer_name, GError **error)
{
  char *pinned;
  GError *local = NULL;

  g_return_val_if_fail (check != NULL && check->mode == CV_TLS_PEER_CHECK_PINNED, NULL);

  pinned = check->fingerprint != NULL ? cv_fingerprint_normalize (check->fingerprint, &local)
                                      : NULL;
  if (pinned == NULL)
    {
      if (local == NULL)
        local = g_error_new (CV_IDENTITY_ERROR, CV_IDENTITY_ERROR_BAD_FINGERPRINT,
                             "no fingerprint to pin %s to", peer_name);
      g_propagate_error (error, local);
    }
  return pinned;
}

/* How to trust @fingerprint from now on, in the words of the setting that pins it. */
char *
cv_peer_check_pin_hint (const char *pin_key, const char *fingerprint)
{
  if (pin_key != NULL)
    return g_strdup_printf ("set \"%s\": \"%s\"", pin_key, fingerprint);
  return g_strdup_printf ("pin %s", fingerprint);
}

/**
 * cv_peer_check_describe_problems:
 * @errors: what validating @certificate found
 * @server_name: (nullable): the name it was checked against
 *
 * Returns: (transfer full): @errors in words, e.g. "self-signed" or "not issued for
 *   \"127.0.0.1\", expired"
 */
char *
cv_peer_check_describe_problems (GTlsCertificate *certificate,
                                 GTlsCertificateFlags errors,
                                 const char *server_name)
{
  g_autoptr (GPtrArray) words = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *subject = g_tls_certificate_get_subject_name (certificate);
  g_autofree char *issuer = g_tls_certificate_get_issuer_name (certificate);
  gboolean self_signed = subject != NULL && g_strcmp0 (subject, issuer) == 0;

  if (errors & G_TLS_CERTIFICATE_UNKNOWN_CA)
    g_ptr_array_add (words,
                     g_strdup (self_signed ? "self-signed" : "issued by an unknown authority"));
  /* Only a pin can make a self-signed certificate trusted, and a pin needs no name:
   * the name would be noise next to the fingerprint. */
  if ((errors & G_TLS_CERTIFICATE_BAD_IDENTITY)
      && !(self_signed && (errors & G_TLS_CERTIFICATE_UNKNOWN_CA)))
    {
      if (server_name != NULL)
        g_ptr_array_add (words, g_strdup_printf ("not issued for \"%s\"", server_name));
      else
        g_ptr_array_add (words, g_strdup ("no server name to check it against"));
    }
  if (errors & G_TLS_CERTIFICATE_NOT_ACTIVATED)
    g_ptr_array_add (words, g_strdup ("not valid yet"));
  if (errors & G_TLS_CERTIFICATE_EXPIRED)
    g_ptr_array_add (words, g_strdup ("expired"));
  if (errors & G_TLS_CERTIFICATE_REVOKED)
    g_ptr_array_add (words, g_strdup ("revoked"));
  if (errors & G_TLS_CERTIFICATE_INSECURE)
    g_ptr_array_add (words, g_strdup ("signed with an insecure algorithm"));
  if (words->len == 0 || (errors & G_TLS_CERTIFICATE_GENERIC_ERROR))
    g_ptr_array_add (words, g_strdup ("invalid"));
  g_ptr_array_add (words, NULL);
  return g_strjoinv (", ", (char **) words->pdata);
}

/* A peer whose certificate failed validation: why, its fingerprint, and how to pin it. */
GError *
cv_peer_check_untrusted_error_new (const char *peer_name,
                                   const char *pin_key,
                                   const char *fingerprint,
                                   const char *problems)
{
  g_autofree char *hint = cv_peer_check_pin_hint (pin_key, fingerprint);

  return g_error_new (CV_TLS_ERROR, CV_TLS_ERROR_UNTRUSTED,
                      "%s's certificate is not trusted (%s); its fingerprint is %s; if that is "
                      "right, %s",
                      peer_name, problems, fingerprint, hint);
}

/**
 * cv_peer_check_key:
 * @peer_name: the peer in messages, e.g. "the gateway"
 * @pin_key: (nullable): the setting that pins it, for the hint
 * @pinned: (nullable): the normalized pin; %NULL takes any key
 * @fingerprint: the key the peer presented
 * @certificate_problem: (nullable): what is wrong with the peer's certificate
 *   besides its issuer and name (which a pin makes moot), e.g. "expired"
 *
 * Returns: whether the peer is the pinned one with a usable certificate
 */
gboolean
cv_peer_check_key (const char *peer_name,
                   const char *pin_key,
                   const char *pinned,
                   const char *fingerprint,
                   const char *certificate_problem,
                   GError **error)
{
  if (pinned == NULL)
    return TRUE;
  if (!cv_fingerprint_equal (fingerprint, pinned))
    {
      g_autofree char *hint = cv_peer_check_pin_hint (pin_key, fingerprint);

      g_set_error (error, CV_TLS_ERROR, CV_TLS_ERROR_FINGERPRINT_MISMATCH,
                   "%s's key has changed: it is %s, but the pinned fingerprint is %s. "
                   "Someone may be intercepting the connection, or the key was replaced; "
                   "only if you know it was replaced, %s",
                   peer_name, fingerprint, pinned, hint);
      return FALSE;
    }
  if (certificate_problem != NULL)
    {
      g_set_error (error, CV_TLS_ERROR, CV_TLS_ERROR_UNTRUSTED,
                   "%s's key matches the pinned fingerprint %s, but its certificate is "
                   "refused (%s)",
                   peer_name, fingerprint, certificate_problem);
      return FALSE;
    }
  return TRUE;
}

/**
 * cv_peer_check_authorized:
 * @authorized: (nullable): normalized fingerprints; %NULL takes any key
 * @authorized_key: (nullable): the setting that lists them, for the message
 * @fingerprint: the key the peer presented (and proved, once the handshake is done)
 *
 * Returns: whether @fingerprint is one of @authorized
 */
gboolean
cv_peer_check_authorized (const char *peer_name,
                          const char *const *authorized,
                          const char *authorized_key,
                          const char *fingerprint,
                          GError **error)
{
  if (authorized == NULL)
    return TRUE;
  for (gsize i = 0; authorized[i] != NULL; i++)
    if (cv_fingerprint_equal (fingerprint, authorized[i]))
      return TRUE;
  g_set_error (error, CV_TLS_ERROR, CV_TLS_ERROR_NOT_AUTHORIZED, "%s's key %s is not in %s",
               peer_name, fingerprint,
               authorized_key != NULL ? authorized_key : "the authorized keys");
  return FALSE;
}

/**
 * cv_handshake_deadline_new:
 *
 * Returns: (transfer full): a timeout source for a handshake's deadline, attached to
 *   @context (the handshake task's)
 */
GSource *
cv_handshake_deadline_new (guint timeout_ms,
                           GSourceFunc callback,
                           gpointer user_data,
                           GMainContext *context)
{
  GSource *source = g_timeout_source_new (timeout_ms);

  g_source_set_callback (source, callback, user_data, NULL);
  g_source_set_static_name (source, "[culvert] TLS handshake deadline");
  g_source_attach (source, context);
  return source;
}

GError *
cv_handshake_timed_out_error_new (const char *peer_name, guint timeout_ms)
{
  if (timeout_ms % 1000 == 0)
    return g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                        "the TLS handshake with %s took longer than %u s", peer_name,
                        timeout_ms / 1000);
  return g_error_new (G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                      "the TLS handshake with %s took longer than %u ms", peer_name, timeout_ms);
}
