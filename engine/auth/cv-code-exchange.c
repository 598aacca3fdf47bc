/* cv-code-exchange.c: a session code's CPace run with Culvert's inputs (PROTOCOL.md §20):
 * PRS the six secret digits, CI = cv_cpace_build_ci (nameplate, the connect agent's key,
 * the share agent's key), sid the 16 bytes of the gateway's claim_id, no associated
 * data (CI already names both parties).  Each agent takes its own key from its identity
 * and the peer's as the gateway announced it: if the gateway announced another key to
 * either side, the CIs differ and so does every confirmation. */
#include "auth/cv-code-exchange.h"

#include "wire/cv-control.h"

#include <sodium.h>
#include <string.h>

struct _CvCodeExchange {
  CvCpace *cpace;
  char *peer_fingerprint;
  gboolean confirmed;
};

/**
 * cv_code_exchange_new:
 * @secret: the code's six secret digits
 * @nameplate: its nameplate's digits
 * @own_fingerprint: this agent's key, canonical ("sha256:" and 64 lower-case hex digits)
 * @peer_fingerprint: the other agent's, as the gateway announced it
 * @claim_id: the gateway's claim_id (22 base64url characters)
 *
 * Returns: (transfer full): the run, or NULL with an error for malformed inputs
 */
CvCodeExchange *
cv_code_exchange_new (CvCodeExchangeSide side,
                      const char *secret,
                      const char *nameplate,
                      const char *own_fingerprint,
                      const char *peer_fingerprint,
                      const char *claim_id,
                      GError **error)
{
  gboolean connect = side == CV_CODE_EXCHANGE_CONNECT;
  guint8 sid[CV_CONTROL_CLAIM_ID_BYTES];
  g_autoptr (GBytes) ci = NULL;
  CvCodeExchange *self;
  CvCpace *cpace;

  if (!cv_control_decode_claim_id (claim_id, sid, error))
    return NULL;
  ci = cv_cpace_build_ci (nameplate, connect ? own_fingerprint : peer_fingerprint,
                          connect ? peer_fingerprint : own_fingerprint, error);
  if (ci == NULL)
    return NULL;
  cpace = cv_cpace_new (connect ? CV_CPACE_INITIATOR : CV_CPACE_RESPONDER, (const guint8 *) secret,
                        strlen (secret), g_bytes_get_data (ci, NULL), g_bytes_get_size (ci), sid,
                        sizeof sid, NULL, 0, error);
  if (cpace == NULL)
    return NULL;
  self = g_new0 (CvCodeExchange, 1);
  self->cpace = cpace;
  self->peer_fingerprint = g_strdup (peer_fingerprint);
  return self;
}

void
cv_code_exchange_free (CvCodeExchange *self)
{
  if (self == NULL)
    return;
  cv_cpace_free (self->cpace);
  g_free (self->peer_fingerprint);
  g_free (self);
}

/* Our CODE_PAKE msg (the connect agent's Ya, the share agent's Yb). */
void
cv_code_exchange_get_message (CvCodeExchange *self, guint8 out[CV_CODE_EXCHANGE_MESSAGE_SIZE])
{
  cv_cpace_get_message (self->cpace, out);
}

/* The peer's CODE_PAKE msg; a refusal burns the run. */
gboolean
cv_code_exchange_receive_message (CvCodeExchange *self,
                                  const guint8 message[CV_CODE_EXCHANGE_MESSAGE_SIZE],
                                  GError **error)
{
  return cv_cpace_receive (self->cpace, message, CV_CODE_EXCHANGE_MESSAGE_SIZE, NULL, 0, error);
}

/* Our CODE_CONFIRM mac (CPace's confirmation tag).  FALSE without a key. */
gboolean
cv_code_exchange_get_mac (CvCodeExchange *self, guint8 out[CV_CODE_EXCHANGE_MAC_SIZE])
{
  return cv_cpace_get_confirmation (self->cpace, out);
}

/* The peer's CODE_CONFIRM mac, in constant time; a mismatch burns the run: one guess. */
gboolean
cv_code_exchange_check_mac (CvCodeExchange *self,
                            const guint8 mac[CV_CODE_EXCHANGE_MAC_SIZE],
                            GError **error)
{
  self->confirmed = cv_cpace_check_confirmation (self->cpace, mac, CV_CODE_EXCHANGE_MAC_SIZE,
                                                 error);
  return self->confirmed;
}

gboolean
cv_code_exchange_is_confirmed (CvCodeExchange *self)
{
  return self->confirmed;
}

/* "123 456", once the peer's mac checked; NULL before. */
char *
cv_code_exchange_get_verification (CvCodeExchange *self)
{
  return self->confirmed ? cv_cpace_get_verification_string (self->cpace) : NULL;
}

/* The key the run bound the peer to: the only one its tunnel may present. */
const char *
cv_code_exchange_get_peer_fingerprint (CvCodeExchange *self)
{
  return self->peer_fingerprint;
}
