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
#define CV_CPACE_CONFIRMATION_SIZE 32 /* BLAKE2b-256 tag */
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

/* Explicit key confirmation, as engine/SESSION-CODES.md specifies it: a tag is
 * BLAKE2b-256 keyed with the ISK over "culvert code confirm connect" (the initiator's, i.e.
 * the connect agent's) or "culvert code confirm share" (the responder's), then
 * transcript_ir; the peer's is checked in constant time.  A wrong tag burns the run (ISK
 * wiped).  Initiator-responder runs only: a symmetric run has no confirmation. */
gboolean cv_cpace_get_confirmation (CvCpace *self, guint8 out[CV_CPACE_CONFIRMATION_SIZE]);
gboolean cv_cpace_check_confirmation (CvCpace *self,
                                      const guint8 *tag,
                                      gsize tag_len,
                                      GError **error);

/* Six digits as "123 456", the same at both ends exactly when the ISKs are equal, for two
 * people to compare on the phone.  NULL without an ISK. */
char *cv_cpace_get_verification_string (CvCpace *self);

/* The draft's optional public session id: SHA-512(b"CPaceSidOutput" || transcript). */
gboolean cv_cpace_get_sid_output (CvCpace *self, guint8 out[CV_CPACE_SID_OUTPUT_SIZE]);

/* The channel identifier of a session code's run: lv_cat(nameplate, share_fingerprint,
 * connect_fingerprint).  The nameplate is its decimal digits;
 * the fingerprints are in canonical form ("sha256:" and 64 lowercase hex digits, as
 * cv_fingerprint_normalize() gives).  NULL and an INVALID_INPUT error otherwise. */
GBytes *cv_cpace_build_ci (const char *nameplate,
                           const char *share_fingerprint,
                           const char *connect_fingerprint,
                           GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvCpace, cv_cpace_free)

G_END_DECLS
