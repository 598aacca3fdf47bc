/* cv-channel-pump.h: join a TCP connection and a channel, both ways, until both are done. */
#pragma once

#include <gio/gio.h>

#include "mux/cv-channel.h"

G_BEGIN_DECLS

typedef struct {
  guint64 bytes_to_channel;   /* read from the TCP peer, written into the channel */
  guint64 bytes_from_channel; /* read from the channel, written to the TCP peer */
} CvPumpStats;

void cv_channel_pump_async (GSocketConnection *connection,
                            CvChannel *channel,
                            GCancellable *cancellable,
                            GAsyncReadyCallback callback,
                            gpointer user_data);

gboolean cv_channel_pump_finish (GAsyncResult *result, CvPumpStats *stats, GError **error);

G_END_DECLS
