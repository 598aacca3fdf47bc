/* cv-share-activity.c: one line of "what the helper opened" — a service, since when,
 * its connections open now and the bytes both ways, with the sentence that says so. */
#include "cv-share-activity.h"

#include <glib/gi18n-lib.h>

struct _CvShareActivity {
  GObject parent_instance;

  CvShareService *service;
  gint64 since;
  guint n_open;
  guint64 bytes_in;
  guint64 bytes_out;
  char *summary;
};

enum {
  PROP_0,
  PROP_SERVICE,
  PROP_SINCE,
  PROP_N_OPEN,
  PROP_BYTES_IN,
  PROP_BYTES_OUT,
  PROP_SUMMARY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (CvShareActivity, cv_share_activity, G_TYPE_OBJECT)

static void
cv_share_activity_finalize (GObject *object)
{
  CvShareActivity *self = CV_SHARE_ACTIVITY (object);

  g_clear_object (&self->service);
  g_free (self->summary);
  G_OBJECT_CLASS (cv_share_activity_parent_class)->finalize (object);
}

static void
cv_share_activity_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvShareActivity *self = CV_SHARE_ACTIVITY (object);

  switch (prop_id)
    {
    case PROP_SERVICE:
      g_value_set_object (value, self->service);
      break;
    case PROP_SINCE:
      g_value_set_int64 (value, self->since);
      break;
    case PROP_N_OPEN:
      g_value_set_uint (value, self->n_open);
      break;
    case PROP_BYTES_IN:
      g_value_set_uint64 (value, self->bytes_in);
      break;
    case PROP_BYTES_OUT:
      g_value_set_uint64 (value, self->bytes_out);
      break;
    case PROP_SUMMARY:
      g_value_set_string (value, self->summary);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_share_activity_class_init (CvShareActivityClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->finalize = cv_share_activity_finalize;
  object_class->get_property = cv_share_activity_get_property;

  properties[PROP_SERVICE] = g_param_spec_object ("service", NULL, NULL, CV_TYPE_SHARE_SERVICE,
                                                  flags);
  properties[PROP_SINCE] = g_param_spec_int64 ("since", NULL, NULL, 0, G_MAXINT64, 0, flags);
  properties[PROP_N_OPEN] = g_param_spec_uint ("n-open", NULL, NULL, 0, G_MAXUINT, 0, flags);
  properties[PROP_BYTES_IN] = g_param_spec_uint64 ("bytes-in", NULL, NULL, 0, G_MAXUINT64, 0,
                                                   flags);
  properties[PROP_BYTES_OUT] = g_param_spec_uint64 ("bytes-out", NULL, NULL, 0, G_MAXUINT64, 0,
                                                    flags);
  properties[PROP_SUMMARY] = g_param_spec_string ("summary", NULL, NULL, NULL, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cv_share_activity_init (CvShareActivity *self)
{
}

/* "since 10:42 · 2 connections · ↓ 1.2 MB ↑ 40 kB" */
static void
update_summary (CvShareActivity *self)
{
  g_autoptr (GDateTime) since = g_date_time_new_from_unix_local (self->since / G_USEC_PER_SEC);
  g_autofree char *when = g_date_time_format (since, "%H:%M");
  g_autofree char *in = g_format_size (self->bytes_in);
  g_autofree char *out = g_format_size (self->bytes_out);
  g_autofree char *open = NULL;
  g_autofree char *summary = NULL;

  if (self->n_open == 0)
    /* TRANSLATORS: the helper's connections to a service have all ended */
    open = g_strdup (_ ("closed"));
  else
    open = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u connection", "%u connections",
                                         self->n_open),
                            self->n_open);
  /* TRANSLATORS: what the helper opened: since a time, the connections open now, the bytes
   * received from the helper (↓) and sent to them (↑): "since 10:42 · 2 connections ·
   * ↓ 1.2 MB ↑ 40 kB" */
  summary = g_strdup_printf (_ ("since %s · %s · ↓ %s ↑ %s"), when, open, in, out);
  if (g_strcmp0 (summary, self->summary) == 0)
    return;
  g_free (self->summary);
  self->summary = g_steal_pointer (&summary);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SUMMARY]);
}

CvShareActivity *
cv_share_activity_new (CvShareService *service)
{
  CvShareActivity *self;

  g_return_val_if_fail (CV_IS_SHARE_SERVICE (service), NULL);

  self = g_object_new (CV_TYPE_SHARE_ACTIVITY, NULL);
  self->service = g_object_ref (service);
  self->since = g_get_real_time ();
  update_summary (self);
  return self;
}

/* A connection to the service opened. */
void
cv_share_activity_opened (CvShareActivity *self)
{
  g_return_if_fail (CV_IS_SHARE_ACTIVITY (self));

  self->n_open++;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_OPEN]);
  update_summary (self);
}

void
cv_share_activity_closed (CvShareActivity *self)
{
  g_return_if_fail (CV_IS_SHARE_ACTIVITY (self));
  g_return_if_fail (self->n_open > 0);

  self->n_open--;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_OPEN]);
  update_summary (self);
}

void
cv_share_activity_add_bytes (CvShareActivity *self, guint64 bytes_in, guint64 bytes_out)
{
  g_return_if_fail (CV_IS_SHARE_ACTIVITY (self));

  if (bytes_in > 0)
    {
      self->bytes_in += bytes_in;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BYTES_IN]);
    }
  if (bytes_out > 0)
    {
      self->bytes_out += bytes_out;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BYTES_OUT]);
    }
  update_summary (self);
}

CvShareService *
cv_share_activity_get_service (CvShareActivity *self)
{
  g_return_val_if_fail (CV_IS_SHARE_ACTIVITY (self), NULL);
  return self->service;
}

gint64
cv_share_activity_get_since (CvShareActivity *self)
{
  g_return_val_if_fail (CV_IS_SHARE_ACTIVITY (self), 0);
  return self->since;
}

guint
cv_share_activity_get_n_open (CvShareActivity *self)
{
  g_return_val_if_fail (CV_IS_SHARE_ACTIVITY (self), 0);
  return self->n_open;
}

guint64
cv_share_activity_get_bytes_in (CvShareActivity *self)
{
  g_return_val_if_fail (CV_IS_SHARE_ACTIVITY (self), 0);
  return self->bytes_in;
}

guint64
cv_share_activity_get_bytes_out (CvShareActivity *self)
{
  g_return_val_if_fail (CV_IS_SHARE_ACTIVITY (self), 0);
  return self->bytes_out;
}

const char *
cv_share_activity_get_summary (CvShareActivity *self)
{
  g_return_val_if_fail (CV_IS_SHARE_ACTIVITY (self), NULL);
  return self->summary;
}
