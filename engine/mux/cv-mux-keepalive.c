/* cv-mux-keepalive.c: PING when the carrier is quiet, the round trip from its PONG,
 * and the dead-peer deadline that ends a carrier nothing arrives on. */
#include "mux/cv-mux-private.h"

#include "base/cv-source.h"

static void
send_ping (CvMux *self, gint64 now)
{
  CvFrame ping = { .type = CV_FRAME_PING };

  self->ping_sent_us = now;
  /* Random, so a PING reveals nothing about this host. */
  self->ping_opaque = ((guint64) g_random_int () << 32) | g_random_int ();
  ping.u.ping_opaque = self->ping_opaque;
  cv_mux_queue_control (self, &ping);
}

static gboolean
on_keepalive_tick (gpointer user_data)
{
  CvMux *self = user_data;
  gint64 now = g_get_monotonic_time ();
  gint64 silent_ms = (now - self->last_receive_us) / 1000;

  if (silent_ms >= self->config.dead_peer_timeout_ms)
    {
      cv_mux_fail (self, CV_GOAWAY_REASON_KEEPALIVE_TIMEOUT,
                   "no frame from the peer for %" G_GINT64_FORMAT " ms (dead-peer timeout %u ms)",
                   silent_ms, self->config.dead_peer_timeout_ms);
      return G_SOURCE_REMOVE;
    }
  if (self->ping_sent_us == 0
      && (silent_ms >= self->config.keepalive_interval_ms || self->rtt_us == 0))
    send_ping (self, now);
  else if (self->ping_sent_us != 0
           && (now - self->ping_sent_us) / 1000 >= self->config.keepalive_interval_ms)
    {
      /* The PONG may have been lost with a broken carrier; the deadline above decides. */
      self->ping_sent_us = 0;
    }
  return G_SOURCE_CONTINUE;
}

/* Ticks at a quarter of the shorter interval.  A first PING goes into the opening
 * batch, after SETTINGS: its round trip is what window growth is judged by. */
void
cv_mux_start_keepalive (CvMux *self)
{
  g_autoptr (GSource) tick = NULL;
  guint period_ms = MAX (MIN (self->config.keepalive_interval_ms, self->config.dead_peer_timeout_ms)
                           / 4,
                         10);

  self->last_receive_us = g_get_monotonic_time ();
  tick = g_timeout_source_new (period_ms);
  g_source_set_callback (tick, on_keepalive_tick, self, NULL);
  g_source_set_static_name (tick, "[culvert] mux keepalive");
  g_source_attach (tick, self->context);
  self->keepalive_source = g_source_ref (tick);
  send_ping (self, self->last_receive_us);
}

void
cv_mux_stop_keepalive (CvMux *self)
{
  cv_source_clear (&self->keepalive_source);
}

/* A PONG that answers our outstanding PING gives the round trip. */
void
cv_mux_pong_received (CvMux *self, guint64 opaque)
{
  if (self->ping_sent_us == 0 || opaque != self->ping_opaque)
    return;
  cv_mux_set_round_trip (self, MAX (g_get_monotonic_time () - self->ping_sent_us, 1));
  self->ping_sent_us = 0;
}
