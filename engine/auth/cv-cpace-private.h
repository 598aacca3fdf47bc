/* cv-cpace-private.h: the draft's encodings and steps one by one, for the known-answer
 * tests (tests/test-cpace.c includes this to check each against the draft's vectors). */
#pragma once

#include "auth/cv-cpace.h"

G_BEGIN_DECLS

/* A run with a fixed scalar instead of a random one: the vectors fix ya and yb.  Never
 * for real use, where a scalar must never be used twice. */
CvCpace *cv_cpace_new_with_scalar (CvCpaceRole role,
                                   const guint8 *prs,
                                   gsize prs_len,
                                   const guint8 *ci,
                                   gsize ci_len,
                                   const guint8 *sid,
                                   gsize sid_len,
                                   const guint8 *ad,
                                   gsize ad_len,
                                   const guint8 scalar[32],
                                   GError **error);

/* prepend_len: the LEB128 length of @data, then @data. */
void cv_cpace_prepend_len (GByteArray *out, const guint8 *data, gsize len);

gboolean cv_cpace_lexicographically_larger (const guint8 *a,
                                            gsize a_len,
                                            const guint8 *b,
                                            gsize b_len);
void cv_cpace_o_cat (GByteArray *out, const guint8 *a, gsize a_len, const guint8 *b, gsize b_len);

/* generator_string(G.DSI, PRS, CI, sid, 128) for ristretto255 and SHA-512. */
void cv_cpace_generator_string (GByteArray *out,
                                const guint8 *prs,
                                gsize prs_len,
                                const guint8 *ci,
                                gsize ci_len,
                                const guint8 *sid,
                                gsize sid_len);

/* The hash of the generator string and the encoded generator g made from it. */
void cv_cpace_calculate_generator (const guint8 *prs,
                                   gsize prs_len,
                                   const guint8 *ci,
                                   gsize ci_len,
                                   const guint8 *sid,
                                   gsize sid_len,
                                   guint8 hash_out[64],
                                   guint8 g_out[32]);

/* transcript_ir (ordered FALSE) or transcript_oc (ordered TRUE). */
void cv_cpace_transcript (GByteArray *out,
                          gboolean ordered,
                          const guint8 ya[32],
                          const guint8 *ada,
                          gsize ada_len,
                          const guint8 yb[32],
                          const guint8 *adb,
                          gsize adb_len);

/* G.scalar_mult_vfy: FALSE, and @out the identity G.I, if @x does not decode or the
 * product is the identity. */
gboolean cv_cpace_scalar_mult_vfy (const guint8 y[32], const guint8 x[32], guint8 out[32]);

G_END_DECLS
