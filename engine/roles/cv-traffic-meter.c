/* cv-traffic-meter.c: bytes in and out over a changing set of open channels.
 *
 * "In" is what came out of the channels (DATA from the peer), "out" what went into
 * them.  A closed channel adds what its pump counted; an open one is read once a
 * second from its own counters, so a long session (VNC, RDP) shows its traffic while
 * it runs, not only at its end, and a busy channel costs nothing per chunk.  The two
 * ways of counting can differ by bytes a reset dropped, so the counts shown never go
 * back: each is the largest value seen. */
#include "roles/cv-traffic-meter.h"

#include "base/cv-source.h"

struct _CvTrafficMeter {
  GMainContext *context;
  GObject *owner;
  GParamSpec *bytes_in_pspec;
  GParamSpec *bytes_out_pspec;
  GPtrArray *open; /* of CvChannel */
  guint64 closed_in;
  guint64 closed_out;
  guint64 bytes_in;
  guint64 bytes_out;
  GSource *timer; /* while a channel is open */
};

CvTrafficMeter *
cv_traffic_meter_new (GMainContext *context,
                      GObject *owner,
                      GParamSpec *bytes_in,
                      GParamSpec *bytes_out)
{
  CvTrafficMeter *meter = g_new0 (CvTrafficMeter, 1);

  meter->context = g_main_context_ref (context);
  meter->owner = owner;
  meter->bytes_in_pspec = bytes_in;
  meter->bytes_out_pspec = bytes_out;
  meter->open = g_ptr_array_new_with_free_func (g_object_unref);
  return meter;
}

void
cv_traffic_meter_free (CvTrafficMeter *meter)
{
  cv_source_clear (&meter->timer);
  g_ptr_array_unref (meter->open);
  g_main_context_unref (meter->context);
  g_free (meter);
}

/* Reads the open channels; notifies the owner's counts that grew. */
static void
update (CvTrafficMeter *meter)
{
  guint64 in = meter->closed_in;
  guint64 out = meter->closed_out;
  gboolean in_grew, out_grew;

  for (guint i = 0; i < meter->open->len; i++)
    {
      in += cv_channel_get_bytes_received (meter->open->pdata[i]);
      out += cv_channel_get_bytes_sent (meter->open->pdata[i]);
    }
  in_grew = in > meter->bytes_in;
  out_grew = out > meter->bytes_out;
  meter->bytes_in = MAX (in, meter->bytes_in);
  meter->bytes_out = MAX (out, meter->bytes_out);
  if (in_grew)
    g_object_notify_by_pspec (meter->owner, meter->bytes_in_pspec);
  if (out_grew)
    g_object_notify_by_pspec (meter->owner, meter->bytes_out_pspec);
}

static gboolean
on_tick (gpointer user_data)
{
  update (user_data);
  return G_SOURCE_CONTINUE;
}

void
cv_traffic_meter_add (CvTrafficMeter *meter, CvChannel *channel)
{
  g_ptr_array_add (meter->open, g_object_ref (channel));
  if (meter->timer == NULL)
    {
      meter->timer = g_timeout_source_new (CV_TRAFFIC_METER_INTERVAL_MS);
      g_source_set_callback (meter->timer, on_tick, meter, NULL);
      g_source_set_static_name (meter->timer, "[culvert] traffic meter");
      g_source_attach (meter->timer, meter->context);
    }
}

/* @stats: what the channel's pump counted, from its end */
void
cv_traffic_meter_remove (CvTrafficMeter *meter, CvChannel *channel, const CvPumpStats *stats)
{
  g_return_if_fail (g_ptr_array_find (meter->open, channel, NULL));

  meter->closed_in += stats->bytes_from_channel;
  meter->closed_out += stats->bytes_to_channel;
  g_ptr_array_remove (meter->open, channel);
  if (meter->open->len == 0)
    cv_source_clear (&meter->timer);
  update (meter);
}

guint64
cv_traffic_meter_get_bytes_in (const CvTrafficMeter *meter)
{
  return meter->bytes_in;
}

guint64
cv_traffic_meter_get_bytes_out (const CvTrafficMeter *meter)
{
  return meter->bytes_out;
}
