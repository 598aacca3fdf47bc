/* cv-cpace.h: CPace (draft-irtf-cfrg-cpace-21), suite CPACE-RISTR255-SHA512, the PAKE that a
 * session code's secret feeds, with key confirmation and a verification string.
 *
 * One CvCpace is one party's single run: it is made with the inputs, gives the message
 * to send, takes the peer's message once, and then holds the intermediate session key
 * (ISK).  Any refused input burns it: every later call fails, so a run can never be
 * retried with a second guess.  All group and hash work is libsodium's; this file does
 * only the draft's byte encodings (engine/PROTOCOL.md, "CPace (for session codes)").
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CV_CPACE_ERROR (cv_cpace_error_quark ())
GQuark cv_cpace_error_quark (void);

typedef enum {
  CV_CPACE_ERROR_INVALID_INPUT,       /* an empty PRS, an input too long, a bad CI part */
  CV_CPACE_ERROR_BAD_MESSAGE,         /* not 32 bytes, or not a canonical ristretto255 encoding */
  CV_CPACE_ERROR_IDENTITY,            /* the identity element, or a shared point that is it */
  CV_CPACE_ERROR_STATE,               /* called out of order, twice, or after a failure */
  CV_CPACE_ERROR_CONFIRMATION_FAILED, /* the peer's confirmation tag does not match */
} CvCpaceError;

typedef enum {
  CV_CPACE_INITIATOR, /* party A: our message is Ya, our AD is ADa; transcript_ir */
  CV_CPACE_RESPONDER, /* party B: our message is Yb, our AD is ADb; transcript_ir */
  CV_CPACE_SYMMETRIC, /* no fixed order: either may speak first; transcript_oc */
} CvCpaceRole;

#define CV_CPACE_MESSAGE_SIZE 32      /* Ya or Yb: an encoded ristretto255 element */
#define CV_CPACE_ISK_SIZE 64          /* SHA-512 output */
#define CV_CPACE_CONFIRMATION_SIZE 64 /* HMAC-SHA-512 tag */
/* The tag as session codes send it: its first half (a truncated HMAC, RFC 2104 §5, at
 * 256 bits), because CODE_CONFIRM carries 32 bytes. */
#define CV_CPACE_SHORT_CONFIRMATION_SIZE 32
#define CV_CPACE_SID_OUTPUT_SIZE 64

/* Each of PRS, CI, sid and the ADs is at most this long: ours are tens of bytes, and a
 * peer cannot make us hash a megabyte. */
#define CV_CPACE_MAX_INPUT_LENGTH 1024

typedef struct _CvCpace CvCpace;

CvCpace *cv_cpace_new (CvCpaceRole role,
                       const guint8 *prs,
                       gsize prs_len,
                       const guint8 *ci,
                       gsize ci_len,
                       const guint8 *sid,
                       gsize sid_len,
                       const guint8 *ad,
                       gsize ad_len,
                       GError **error);
void cv_cpace_free (CvCpace *self);

/* Our message (Ya for the initiator, Yb for the responder); it goes out with our AD.
 * FALSE once the run has failed. */
gboolean cv_cpace_get_message (CvCpace *self, guint8 out[CV_CPACE_MESSAGE_SIZE]);

/* The peer's message and AD, taken once.  Refused with a GError for anything that is not
 * 32 bytes, not a canonical encoding, or the identity; a refusal burns the run. */
gboolean cv_cpace_receive (CvCpace *self,
                           const guint8 *message,
                           gsize message_len,
                           const guint8 *peer_ad,
                           gsize peer_ad_len,
                           GError **error);

/* The ISK, once cv_cpace_receive() succeeded and while no confirmation failed; else NULL. */
const guint8 *cv_cpace_get_isk (CvCpace *self);

/* Explicit key confirmation as the draft's section "Key confirmation" suggests:
 * mac_key = SHA-512(b"CPaceMac" || sid || ISK); our tag is
 * HMAC-SHA-512(mac_key, lv_cat(our message, our AD)), and the peer's is checked over its
 * message the same way, in constant time.  A wrong tag burns the run (ISK wiped). */
gboolean cv_cpace_get_confirmation (CvCpace *self, guint8 out[CV_CPACE_CONFIRMATION_SIZE]);
gboolean cv_cpace_check_confirmation (CvCpace *self,
                                      const guint8 *tag,
                                      gsize tag_len,
                                      GError **error);

/* cv_cpace_check_confirmation() takes the whole tag or its first
 * CV_CPACE_SHORT_CONFIRMATION_SIZE bytes; any other length is a mismatch. */

/* Six digits as "123 456", the same at both ends exactly when the ISKs are equal, for two
 * people to compare on the phone.  NULL without an ISK. */
char *cv_cpace_get_verification_string (CvCpace *self);

/* The draft's optional public session id: SHA-512(b"CPaceSidOutput" || transcript). */
gboolean cv_cpace_get_sid_output (CvCpace *self, guint8 out[CV_CPACE_SID_OUTPUT_SIZE]);

/* The channel identifier of a session code's run: lv_cat(b"culvert-code-v1", nameplate,
 * initiator_fingerprint, responder_fingerprint).  The nameplate is its decimal digits;
 * the fingerprints are in canonical form ("sha256:" and 64 lowercase hex digits, as
 * cv_fingerprint_normalize() gives).  NULL and an INVALID_INPUT error otherwise. */
GBytes *cv_cpace_build_ci (const char *nameplate,
                           const char *initiator_fingerprint,
                           const char *responder_fingerprint,
                           GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvCpace, cv_cpace_free)

G_END_DECLS
