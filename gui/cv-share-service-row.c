/* cv-share-service-row.c: a service to share, as a check row whose subtitle follows the
 * service's probe. */
#include "cv-version.h"

#include <glib/gi18n.h>

#include "cv-share-service-row.h"

struct _CvShareServiceRow {
  AdwActionRow parent_instance;

  CvShareService *service;
  GtkCheckButton *check;
};

enum {
  PROP_0,
  PROP_SERVICE,
  PROP_ACTIVE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (CvShareServiceRow, cv_share_service_row, ADW_TYPE_ACTION_ROW)

static void
cv_share_service_row_show_availability (CvShareServiceRow *self)
{
  const char *subtitle = "";

  switch (cv_share_service_get_availability (self->service))
    {
    case CV_SHARE_AVAILABILITY_AVAILABLE:
      subtitle = _ ("available");
      break;
    case CV_SHARE_AVAILABILITY_MISSING:
      subtitle = _ ("not running on this computer");
      break;
    case CV_SHARE_AVAILABILITY_UNKNOWN:
      break;
    }
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self), subtitle);
}

static void
on_check_toggled (CvShareServiceRow *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACTIVE]);
}

static void
cv_share_service_row_constructed (GObject *object)
{
  CvShareServiceRow *self = CV_SHARE_SERVICE_ROW (object);

  G_OBJECT_CLASS (cv_share_service_row_parent_class)->constructed (object);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self),
                                 cv_share_service_get_title (self->service));
  g_signal_connect_object (self->service, "notify::availability",
                           G_CALLBACK (cv_share_service_row_show_availability), self,
                           G_CONNECT_SWAPPED);
  cv_share_service_row_show_availability (self);
}

static void
cv_share_service_row_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvShareServiceRow *self = CV_SHARE_SERVICE_ROW (object);

  switch (prop_id)
    {
    case PROP_SERVICE:
      g_value_set_object (value, self->service);
      break;
    case PROP_ACTIVE:
      g_value_set_boolean (value, cv_share_service_row_get_active (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_share_service_row_set_property (GObject *object,
                                   guint prop_id,
                                   const GValue *value,
                                   GParamSpec *pspec)
{
  CvShareServiceRow *self = CV_SHARE_SERVICE_ROW (object);

  switch (prop_id)
    {
    case PROP_SERVICE:
      self->service = g_value_dup_object (value);
      break;
    case PROP_ACTIVE:
      cv_share_service_row_set_active (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_share_service_row_dispose (GObject *object)
{
  CvShareServiceRow *self = CV_SHARE_SERVICE_ROW (object);

  g_clear_object (&self->service);

  G_OBJECT_CLASS (cv_share_service_row_parent_class)->dispose (object);
}

static void
cv_share_service_row_class_init (CvShareServiceRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = cv_share_service_row_constructed;
  object_class->get_property = cv_share_service_row_get_property;
  object_class->set_property = cv_share_service_row_set_property;
  object_class->dispose = cv_share_service_row_dispose;

  properties[PROP_SERVICE] = g_param_spec_object ("service", NULL, NULL, CV_TYPE_SHARE_SERVICE,
                                                  G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY
                                                    | G_PARAM_STATIC_STRINGS);
  properties[PROP_ACTIVE] = g_param_spec_boolean ("active", NULL, NULL, FALSE,
                                                  G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
                                                    | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cv_share_service_row_init (CvShareServiceRow *self)
{
  self->check = GTK_CHECK_BUTTON (gtk_check_button_new ());
  gtk_widget_set_valign (GTK_WIDGET (self->check), GTK_ALIGN_CENTER);
  adw_action_row_add_prefix (ADW_ACTION_ROW (self), GTK_WIDGET (self->check));
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (self), GTK_WIDGET (self->check));
  g_signal_connect_object (self->check, "toggled", G_CALLBACK (on_check_toggled), self,
                           G_CONNECT_SWAPPED);
}

GtkWidget *
cv_share_service_row_new (CvShareService *service)
{
  g_return_val_if_fail (CV_IS_SHARE_SERVICE (service), NULL);

  return g_object_new (CV_TYPE_SHARE_SERVICE_ROW, "service", service, NULL);
}

CvShareService *
cv_share_service_row_get_service (CvShareServiceRow *self)
{
  g_return_val_if_fail (CV_IS_SHARE_SERVICE_ROW (self), NULL);

  return self->service;
}

gboolean
cv_share_service_row_get_active (CvShareServiceRow *self)
{
  g_return_val_if_fail (CV_IS_SHARE_SERVICE_ROW (self), FALSE);

  return gtk_check_button_get_active (self->check);
}

void
cv_share_service_row_set_active (CvShareServiceRow *self, gboolean active)
{
  g_return_if_fail (CV_IS_SHARE_SERVICE_ROW (self));

  /* "toggled" notifies "active". */
  gtk_check_button_set_active (self->check, active);
}
