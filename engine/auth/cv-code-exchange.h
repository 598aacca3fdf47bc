/* cv-code-exchange.h: one agent's side of a session code's PAKE (engine/SESSION-CODES.md
 * §3): CPace with the code's secret, bound to the nameplate and both agents' keys, its
 * key confirmation as CODE_CONFIRM sends it, and the verification string. */
#pragma once

#include <glib.h>

#include "auth/cv-cpace.h"

G_BEGIN_DECLS

typedef struct _CvCodeExchange CvCodeExchange;

/* The connect agent speaks first (CPace's initiator); the share agent answers. */
typedef enum {
  CV_CODE_EXCHANGE_CONNECT,
  CV_CODE_EXCHANGE_SHARE,
} CvCodeExchangeSide;

#define CV_CODE_EXCHANGE_MESSAGE_SIZE CV_CPACE_MESSAGE_SIZE
#define CV_CODE_EXCHANGE_MAC_SIZE CV_CPACE_CONFIRMATION_SIZE

CvCodeExchange *cv_code_exchange_new (CvCodeExchangeSide side,
                                      const char *secret,
                                      const char *nameplate,
                                      const char *own_fingerprint,
                                      const char *peer_fingerprint,
                                      const char *claim_id,
                                      GError **error);
void cv_code_exchange_free (CvCodeExchange *self);

void cv_code_exchange_get_message (CvCodeExchange *self, guint8 out[CV_CODE_EXCHANGE_MESSAGE_SIZE]);
gboolean cv_code_exchange_receive_message (CvCodeExchange *self,
                                           const guint8 message[CV_CODE_EXCHANGE_MESSAGE_SIZE],
                                           GError **error);
gboolean cv_code_exchange_get_mac (CvCodeExchange *self, guint8 out[CV_CODE_EXCHANGE_MAC_SIZE]);
gboolean cv_code_exchange_check_mac (CvCodeExchange *self,
                                     const guint8 mac[CV_CODE_EXCHANGE_MAC_SIZE],
                                     GError **error);
gboolean cv_code_exchange_is_confirmed (CvCodeExchange *self);
char *cv_code_exchange_get_verification (CvCodeExchange *self);
const char *cv_code_exchange_get_peer_fingerprint (CvCodeExchange *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvCodeExchange, cv_code_exchange_free)

G_END_DECLS
