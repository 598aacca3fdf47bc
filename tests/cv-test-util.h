/* cv-test-util.h: shared helpers for the engine's tests. */
#pragma once

#include <gio/gio.h>

#include "mux/cv-mux.h"

G_BEGIN_DECLS

void cv_test_socket_pair (GSocketConnection **a, GSocketConnection **b);
void cv_test_mux_pair (const CvMuxConfig *config_a,
                       const CvMuxConfig *config_b,
                       CvMux **a,
                       CvMux **b);
gboolean cv_test_wait_until (gboolean (*condition) (gpointer), gpointer data, guint timeout_ms);
void cv_test_iterate_for (GMainContext *context, guint ms);
GSocket *cv_test_listen_loopback (guint16 *port);
void cv_test_fill_random (guint8 *buffer, gsize len, guint32 seed);
void cv_test_remove_tree (const char *path);

G_END_DECLS
