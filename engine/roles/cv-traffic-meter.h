/* cv-traffic-meter.h: bytes in and out over a changing set of open channels, counted
 * while they are open, for the "bytes-in"/"bytes-out" properties a UI shows. */
#pragma once

#include "mux/cv-channel-pump.h"
#include "mux/cv-channel.h"

G_BEGIN_DECLS

/* How often the counts of open channels are read, while any is open. */
#define CV_TRAFFIC_METER_INTERVAL_MS 1000

typedef struct _CvTrafficMeter CvTrafficMeter;

/* @owner (not referenced: it owns the meter) is notified of @bytes_in and @bytes_out,
 * its properties that read the counts, when they grow. */
CvTrafficMeter *cv_traffic_meter_new (GMainContext *context,
                                      GObject *owner,
                                      GParamSpec *bytes_in,
                                      GParamSpec *bytes_out);
void cv_traffic_meter_free (CvTrafficMeter *meter);
void cv_traffic_meter_add (CvTrafficMeter *meter, CvChannel *channel);
void cv_traffic_meter_remove (CvTrafficMeter *meter, CvChannel *channel, const CvPumpStats *stats);
guint64 cv_traffic_meter_get_bytes_in (const CvTrafficMeter *meter);
guint64 cv_traffic_meter_get_bytes_out (const CvTrafficMeter *meter);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvTrafficMeter, cv_traffic_meter_free)

G_END_DECLS
