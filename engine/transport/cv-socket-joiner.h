/* cv-socket-joiner.h: the gateway's join of a tunnel's two halves, byte for byte. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum {
  CV_JOIN_MODE_SPLICE, /* splice(2) through a kernel pipe: Linux; elsewhere COPY runs */
  CV_JOIN_MODE_COPY,   /* receive into a buffer and send from it: everywhere */
} CvJoinMode;

typedef enum {
  CV_JOIN_SIDE_NONE,
  CV_JOIN_SIDE_A,
  CV_JOIN_SIDE_B,
} CvJoinSide;

typedef struct {
  /* Debug and test use only: append every byte forwarded, both directions as they
   * are forwarded, to the file at @record_path (created 0600) or to @record_fd (left
   * open; -1 for none).  Recording forces COPY mode. */
  const char *record_path;
  int record_fd;
  /* Bytes in flight inside the joiner per direction: the pipe's size in SPLICE mode,
   * the buffer's in COPY mode.  0 for the default (CV_JOIN_DEFAULT_BUFFER_SIZE). */
  gsize buffer_size;
  /* End the join (a reset to both sides, G_IO_ERROR_TIMED_OUT) once no byte has passed
   * either way for this long; 0 for never.  Checked a few times per period, so the end
   * comes between 1 and 1.25 periods after the last byte. */
  guint idle_timeout_ms;
  /* (nullable) Kept up to date with the bytes forwarded each way while the join runs,
   * for a status report; it must outlive the join.  The other members are left alone. */
  struct _CvJoinStats *live_stats;
} CvJoinOptions;

#define CV_JOIN_DEFAULT_BUFFER_SIZE (64 * 1024)

typedef struct _CvJoinStats {
  guint64 bytes_a_to_b; /* read from A and written to B */
  guint64 bytes_b_to_a;
  CvJoinMode mode;           /* what ran: COPY where SPLICE was asked for but could not be used */
  CvJoinSide failed_side;    /* whose connection failed (reset, error), or NONE */
  CvJoinSide first_eof_side; /* whose stream ended first (a FIN), or NONE */
} CvJoinStats;

void cv_join_options_init (CvJoinOptions *options);

void cv_socket_join_async (GSocketConnection *a,
                           GSocketConnection *b,
                           CvJoinMode mode,
                           const CvJoinOptions *options,
                           GCancellable *cancellable,
                           GAsyncReadyCallback callback,
                           gpointer user_data);

gboolean cv_socket_join_finish (GAsyncResult *result, CvJoinStats *stats, GError **error);

G_END_DECLS
