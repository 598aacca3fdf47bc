/* cv-status-json.c: what the gateway's and the agents' status reports share. */
#include "roles/cv-status-json.h"

#include "cv-version.h"

void
cv_status_begin (JsonBuilder *builder, const char *role, gint64 started_time)
{
  gint64 now = g_get_real_time ();

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "format");
  json_builder_add_int_value (builder, CV_STATUS_FORMAT);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, role);
  json_builder_set_member_name (builder, "version");
  json_builder_add_string_value (builder, CV_VERSION);
  cv_status_add_time (builder, "started", started_time);
  cv_status_add_int_or_null (builder, "uptime_s",
                             started_time > 0 ? MAX (now - started_time, 0) / G_USEC_PER_SEC : -1);
}

void
cv_status_add_count (JsonBuilder *builder, const char *member, guint64 count)
{
  json_builder_set_member_name (builder, member);
  json_builder_add_int_value (builder, (gint64) MIN (count, (guint64) G_MAXINT64));
}

void
cv_status_add_time (JsonBuilder *builder, const char *member, gint64 real_time_us)
{
  g_autoptr (GDateTime) time = NULL;
  g_autofree char *text = NULL;

  json_builder_set_member_name (builder, member);
  if (real_time_us > 0)
    time = g_date_time_new_from_unix_utc (real_time_us / G_USEC_PER_SEC);
  if (time != NULL)
    text = g_date_time_format_iso8601 (time);
  if (text != NULL)
    json_builder_add_string_value (builder, text);
  else
    json_builder_add_null_value (builder);
}

void
cv_status_add_int_or_null (JsonBuilder *builder, const char *member, gint64 value)
{
  json_builder_set_member_name (builder, member);
  if (value >= 0)
    json_builder_add_int_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

void
cv_status_add_string_or_null (JsonBuilder *builder, const char *member, const char *value)
{
  json_builder_set_member_name (builder, member);
  if (value != NULL)
    json_builder_add_string_value (builder, value);
  else
    json_builder_add_null_value (builder);
}
