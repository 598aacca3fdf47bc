/* cv-service-link-row.c: a service's row on the machine page, bound to its CvServiceLink. */
#include "cv-version.h"

#include <glib/gi18n.h>

#include "cv-service-link-row.h"

struct _CvServiceLinkRow {
  AdwActionRow parent_instance;

  CvServiceLink *link;
  char *machine_id;
  guint position;
  char *name; /* the title instead of the preset's words, or NULL */
  GtkButton *open_button;
};

G_DEFINE_FINAL_TYPE (CvServiceLinkRow, cv_service_link_row, ADW_TYPE_ACTION_ROW)

enum {
  PROP_0,
  PROP_LINK,
  PROP_MACHINE_ID,
  PROP_POSITION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
cv_service_link_row_update (CvServiceLinkRow *self)
{
  CvMachineService *service = cv_service_link_get_service (self->link);
  CvServicePreset preset = cv_machine_service_get_preset (service);
  const char *status = cv_service_link_get_status (self->link);
  gboolean listening = cv_service_link_get_listening (self->link);
  g_autofree char *open_words = NULL;

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self),
                                 self->name != NULL ? self->name
                                                    : cv_service_preset_get_label (preset));
  /* Listening or failing, the link's own words; idle, what the service is ("not connected"
   * is the page's heading already). */
  if (status != NULL && *status != '\0'
      && (listening || cv_service_link_get_error (self->link) != NULL))
    adw_action_row_set_subtitle (ADW_ACTION_ROW (self), status);
  else
    {
      g_autofree char *target = NULL;

      /* Not connected: what it reaches, as the shared machine sees it. */
      /* Translators: the host and port a service reaches on the shared machine. */
      target = g_strdup_printf (_ ("%s:%u on the machine"),
                                cv_machine_service_get_target_host (service),
                                cv_machine_service_get_target_port (service));
      adw_action_row_set_subtitle (ADW_ACTION_ROW (self), target);
    }

  /* "Do not open" has nothing to open; before connecting there is no port to open it on. */
  gtk_widget_set_visible (GTK_WIDGET (self->open_button),
                          cv_machine_service_get_launcher (service) != CV_LAUNCHER_NONE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->open_button), listening);
  open_words = g_strdup_printf (listening ? _ ("Open %s") : _ ("Connect to open %s"),
                                self->name != NULL ? self->name
                                                   : cv_service_preset_get_label (preset));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->open_button), open_words);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->open_button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  open_words, -1);
}

/* Not an actionable button: the action is the window's for every row, its sensitivity this
 * row's own. */
static void
on_open_clicked (CvServiceLinkRow *self)
{
  gtk_widget_activate_action (GTK_WIDGET (self), "win.open-service", "(su)", self->machine_id,
                              self->position);
}

static void
cv_service_link_row_constructed (GObject *object)
{
  CvServiceLinkRow *self = CV_SERVICE_LINK_ROW (object);
  CvMachineService *service = cv_service_link_get_service (self->link);
  static const char *const link_properties[] = { "notify::status", "notify::listening",
                                                 "notify::error" };
  static const char *const service_properties[] = { "notify::preset", "notify::launcher",
                                                    "notify::target-host", "notify::target-port" };

  G_OBJECT_CLASS (cv_service_link_row_parent_class)->constructed (object);

  for (guint i = 0; i < G_N_ELEMENTS (link_properties); i++)
    g_signal_connect_object (self->link, link_properties[i],
                             G_CALLBACK (cv_service_link_row_update), self, G_CONNECT_SWAPPED);
  for (guint i = 0; i < G_N_ELEMENTS (service_properties); i++)
    g_signal_connect_object (service, service_properties[i],
                             G_CALLBACK (cv_service_link_row_update), self, G_CONNECT_SWAPPED);
  cv_service_link_row_update (self);
}

static void
cv_service_link_row_set_property (GObject *object,
                                  guint prop_id,
                                  const GValue *value,
                                  GParamSpec *pspec)
{
  CvServiceLinkRow *self = CV_SERVICE_LINK_ROW (object);

  switch (prop_id)
    {
    case PROP_LINK:
      self->link = g_value_dup_object (value);
      break;
    case PROP_MACHINE_ID:
      self->machine_id = g_value_dup_string (value);
      break;
    case PROP_POSITION:
      self->position = g_value_get_uint (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_service_link_row_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvServiceLinkRow *self = CV_SERVICE_LINK_ROW (object);

  switch (prop_id)
    {
    case PROP_LINK:
      g_value_set_object (value, self->link);
      break;
    case PROP_MACHINE_ID:
      g_value_set_string (value, self->machine_id);
      break;
    case PROP_POSITION:
      g_value_set_uint (value, self->position);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_service_link_row_dispose (GObject *object)
{
  CvServiceLinkRow *self = CV_SERVICE_LINK_ROW (object);

  /* Before the reference goes, which may be the link's last. */
  if (self->link != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->link, self);
      g_signal_handlers_disconnect_by_data (cv_service_link_get_service (self->link), self);
    }
  g_clear_object (&self->link);

  G_OBJECT_CLASS (cv_service_link_row_parent_class)->dispose (object);
}

static void
cv_service_link_row_finalize (GObject *object)
{
  CvServiceLinkRow *self = CV_SERVICE_LINK_ROW (object);

  g_free (self->machine_id);
  g_free (self->name);

  G_OBJECT_CLASS (cv_service_link_row_parent_class)->finalize (object);
}

static void
cv_service_link_row_class_init (CvServiceLinkRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS
                            | G_PARAM_EXPLICIT_NOTIFY;

  object_class->constructed = cv_service_link_row_constructed;
  object_class->set_property = cv_service_link_row_set_property;
  object_class->get_property = cv_service_link_row_get_property;
  object_class->dispose = cv_service_link_row_dispose;
  object_class->finalize = cv_service_link_row_finalize;

  properties[PROP_LINK] = g_param_spec_object ("link", NULL, NULL, CV_TYPE_SERVICE_LINK, flags);
  properties[PROP_MACHINE_ID] = g_param_spec_string ("machine-id", NULL, NULL, NULL, flags);
  properties[PROP_POSITION] = g_param_spec_uint ("position", NULL, NULL, 0, G_MAXUINT, 0, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cv_service_link_row_init (CvServiceLinkRow *self)
{
  /* Small enough not to need a template. */
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (self), FALSE);
  self->open_button = GTK_BUTTON (gtk_button_new_with_label (_ ("Open")));
  gtk_widget_set_valign (GTK_WIDGET (self->open_button), GTK_ALIGN_CENTER);
  adw_action_row_add_suffix (ADW_ACTION_ROW (self), GTK_WIDGET (self->open_button));
  g_signal_connect_swapped (self->open_button, "clicked", G_CALLBACK (on_open_clicked), self);
}

CvServiceLinkRow *
cv_service_link_row_new (CvServiceLink *link, const char *machine_id, guint position)
{
  g_return_val_if_fail (CV_IS_SERVICE_LINK (link), NULL);
  g_return_val_if_fail (machine_id != NULL, NULL);

  /* clang-format off */
  return g_object_new (CV_TYPE_SERVICE_LINK_ROW,
                       "link", link,
                       "machine-id", machine_id,
                       "position", position,
                       NULL);
  /* clang-format on */
}

CvServiceLink *
cv_service_link_row_get_link (CvServiceLinkRow *self)
{
  g_return_val_if_fail (CV_IS_SERVICE_LINK_ROW (self), NULL);

  return self->link;
}

/* @name: (nullable): the row's title instead of the preset's words (a service offered with
 * a code has a name of its own); NULL: the preset's. */
void
cv_service_link_row_set_name (CvServiceLinkRow *self, const char *name)
{
  g_return_if_fail (CV_IS_SERVICE_LINK_ROW (self));

  g_free (self->name);
  self->name = g_strdup (name);
  cv_service_link_row_update (self);
}
