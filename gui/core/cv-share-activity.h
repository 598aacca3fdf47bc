/* cv-share-activity.h: one line of "what the helper opened": a service, since when, how
 * many bytes, and whether its connections are still open.  Items of
 * CvShareSession:activity, one per service the helper used. */
#pragma once

#include <glib-object.h>

#include "cv-share-service.h"

G_BEGIN_DECLS

/* Properties (read-only, notified on the session's main context): "service"
 * (CvShareService), "since" (gint64, g_get_real_time () µs of its first connection),
 * "n-open" (guint, connections open now), "bytes-in" / "bytes-out" (guint64, from and to
 * the helper, as the engine's share agent counts them: "in" comes from the helper),
 * "summary" (a translated sentence: "since 10:42 · 2 connections · ↓ 1.2 MB
 * ↑ 40 kB", or "since 10:42 · closed · …"). */
#define CV_TYPE_SHARE_ACTIVITY (cv_share_activity_get_type ())
G_DECLARE_FINAL_TYPE (CvShareActivity, cv_share_activity, CV, SHARE_ACTIVITY, GObject)

CvShareService *cv_share_activity_get_service (CvShareActivity *self);
gint64 cv_share_activity_get_since (CvShareActivity *self);
guint cv_share_activity_get_n_open (CvShareActivity *self);
guint64 cv_share_activity_get_bytes_in (CvShareActivity *self);
guint64 cv_share_activity_get_bytes_out (CvShareActivity *self);
const char *cv_share_activity_get_summary (CvShareActivity *self);

/* For the session, which keeps the list from the share agent's channels.  Bytes come in
 * the engine's totals, not per channel: while connections to two services are open at
 * once, a second's bytes are split between them by their open connections. */
CvShareActivity *cv_share_activity_new (CvShareService *service);
void cv_share_activity_opened (CvShareActivity *self);
void cv_share_activity_closed (CvShareActivity *self);
void cv_share_activity_add_bytes (CvShareActivity *self, guint64 bytes_in, guint64 bytes_out);

G_END_DECLS
