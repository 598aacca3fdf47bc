/* cv-acceptor.h: a GSocketListener that accepts on its own, and pauses rather than spins
 * when the process is out of file descriptors. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CV_TYPE_ACCEPTOR (cv_acceptor_get_type ())
G_DECLARE_FINAL_TYPE (CvAcceptor, cv_acceptor, CV, ACCEPTOR, GSocketListener)

/* The first pause after a failed accept, and the longest. */
#define CV_ACCEPTOR_FIRST_PAUSE_MS 50
#define CV_ACCEPTOR_MAX_PAUSE_MS 1000

CvAcceptor *cv_acceptor_new (void);
/* Until cv_acceptor_stop(), which must come before the last unref. */
void cv_acceptor_start (CvAcceptor *self);
void cv_acceptor_stop (CvAcceptor *self);
guint cv_acceptor_get_n_failures (CvAcceptor *self);

G_END_DECLS
