/* cv-status-json.h: what the gateway's and the agents' status reports share — their
 * header and the way they write times, round trips and key fingerprints. */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* The version of the status document's layout (culvert-cli(1), STATUS JSON): members may
 * be added without a change; one removed or changing meaning bumps it. */
#define CV_STATUS_FORMAT 1

/* Opens the top-level object: format, role, version, started, uptime_s. */
void cv_status_begin (JsonBuilder *builder, const char *role, gint64 started_time);
/* @member: an ISO 8601 UTC time from g_get_real_time () µs, or null for 0. */
void cv_status_add_count (JsonBuilder *builder, const char *member, guint64 count);
void cv_status_add_time (JsonBuilder *builder, const char *member, gint64 real_time_us);
/* @member: an integer, or null for a negative value (not known). */
void cv_status_add_int_or_null (JsonBuilder *builder, const char *member, gint64 value);
/* @member: a string, or null. */
void cv_status_add_string_or_null (JsonBuilder *builder, const char *member, const char *value);

G_END_DECLS
