/* cv-share-page.c: "Share this computer" — the services to offer (the presets with whether
 * they run here, a custom port), the gateway the codes come from or how to set one, and
 * Get a Code.  What follows the code is in cv-share-page-session.c. */
#include "cv-version.h"

#include <glib/gi18n.h>

#include "cv-app-error.h"
#include "cv-settings.h"
#include "cv-share-page-private.h"
#include "cv-share-service-row.h"

G_DEFINE_FINAL_TYPE (CvSharePage, cv_share_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_SESSION,
  PROP_HELPER_NAME,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

void
cv_share_page_notify_helper_name (CvSharePage *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HELPER_NAME]);
}

void
cv_share_page_notify_session (CvSharePage *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SESSION]);
}

/* The services ticked now, in the order shown; NULL when a ticked custom port is not
 * valid yet. */
static GListStore *
cv_share_page_ticked (CvSharePage *self)
{
  g_autoptr (GListStore) ticked = g_list_store_new (CV_TYPE_SHARE_SERVICE);

  for (guint i = 0; i < self->preset_rows->len; i++)
    {
      CvShareServiceRow *row = self->preset_rows->pdata[i];

      if (cv_share_service_row_get_active (row))
        g_list_store_append (ticked, cv_share_service_row_get_service (row));
    }
  if (gtk_check_button_get_active (self->custom_check))
    {
      if (self->custom_service == NULL)
        return NULL;
      g_list_store_append (ticked, self->custom_service);
    }
  return g_steal_pointer (&ticked);
}

static void
cv_share_page_update_get_code (CvSharePage *self)
{
  g_autoptr (GListStore) ticked = cv_share_page_ticked (self);

  gtk_widget_set_sensitive (self->get_code_button,
                            self->gateway != NULL && ticked != NULL
                              && g_list_model_get_n_items (G_LIST_MODEL (ticked)) > 0);
}

/* The gateway from the preferences or the administrator's file, looked up again whenever
 * the preferences change (an import fills them). */
static void
cv_share_page_lookup_gateway (CvSharePage *self)
{
  gboolean found;

  g_clear_pointer (&self->gateway, cv_share_gateway_free);
  g_clear_error (&self->gateway_error);
  self->gateway = cv_share_gateway_lookup (self->settings, &self->gateway_error);
  found = self->gateway != NULL;

  if (found)
    {
      g_autofree char *subtitle = NULL;

      /* Translators: a gateway's address, then where it was set ("from your preferences"). */
      subtitle = g_strdup_printf (_ ("%s · %s"), self->gateway->address,
                                  self->gateway->origin != NULL ? self->gateway->origin : "");
      adw_action_row_set_subtitle (self->gateway_row, subtitle);
    }
  else
    adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->no_gateway_row),
                                   self->gateway_error != NULL
                                     ? self->gateway_error->message
                                     : _ ("No gateway is set for sharing."));
  gtk_widget_set_visible (GTK_WIDGET (self->gateway_row), found);
  gtk_widget_set_visible (GTK_WIDGET (self->no_gateway_row), !found);
  gtk_widget_set_visible (self->import_row, !found);
  gtk_widget_set_visible (self->preferences_row, !found);
  cv_share_page_update_get_code (self);
}

static void
on_custom_availability (CvSharePage *self)
{
  const char *text = NULL;

  if (self->custom_service == NULL)
    return;
  switch (cv_share_service_get_availability (self->custom_service))
    {
    case CV_SHARE_AVAILABILITY_AVAILABLE:
      text = _ ("available");
      break;
    case CV_SHARE_AVAILABILITY_MISSING:
      text = _ ("not running on this computer");
      break;
    case CV_SHARE_AVAILABILITY_UNKNOWN:
      break;
    }
  cv_note_row_set_text (self->custom_note, text, "dim-label");
}

/* Digits only, 1–65535; the sentence shows once something is typed. */
static void
on_custom_port_changed (CvSharePage *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->custom_port_row));
  guint64 port = 0;
  gboolean valid;

  if (self->custom_service != NULL)
    g_signal_handlers_disconnect_by_data (self->custom_service, self);
  g_clear_object (&self->custom_service);
  valid = g_ascii_string_to_unsigned (text, 10, 1, 65535, &port, NULL);
  if (valid)
    {
      cv_note_row_show_error (self->custom_note, GTK_WIDGET (self->custom_port_row), NULL);
      self->custom_service = cv_share_service_new_custom ((guint16) port);
      g_signal_connect_object (self->custom_service, "notify::availability",
                               G_CALLBACK (on_custom_availability), self, G_CONNECT_SWAPPED);
      cv_share_service_probe (self->custom_service);
    }
  else if (text[0] != '\0')
    {
      g_autoptr (GError) error = g_error_new_literal (CV_APP_ERROR, CV_APP_ERROR_INVALID,
                                                      _ ("A port is a number from 1 to 65535."));

      cv_note_row_show_error (self->custom_note, GTK_WIDGET (self->custom_port_row), error);
    }
  else
    cv_note_row_show_error (self->custom_note, GTK_WIDGET (self->custom_port_row), NULL);
  cv_share_page_update_get_code (self);
}

static void
on_custom_toggled (CvSharePage *self)
{
  gboolean active = gtk_check_button_get_active (self->custom_check);

  gtk_widget_set_visible (GTK_WIDGET (self->custom_port_row), active);
  gtk_widget_set_visible (GTK_WIDGET (self->custom_note), active);
  if (active)
    gtk_widget_grab_focus (GTK_WIDGET (self->custom_port_row));
  cv_share_page_update_get_code (self);
}

static void
cv_share_page_add_services (CvSharePage *self)
{
  g_autoptr (GListStore) presets = cv_share_service_list_presets ();
  GtkWidget *custom_row;

  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (presets)); i++)
    {
      g_autoptr (CvShareService) service = g_list_model_get_item (G_LIST_MODEL (presets), i);
      GtkWidget *row = cv_share_service_row_new (service);

      g_signal_connect_object (row, "notify::active", G_CALLBACK (cv_share_page_update_get_code),
                               self, G_CONNECT_SWAPPED);
      g_ptr_array_add (self->preset_rows, row);
      adw_preferences_group_add (self->services_group, row);
    }

  custom_row = adw_action_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (custom_row), _ ("Custom service…"));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (custom_row), _ ("Any port on this computer"));
  self->custom_check = GTK_CHECK_BUTTON (gtk_check_button_new ());
  gtk_widget_set_valign (GTK_WIDGET (self->custom_check), GTK_ALIGN_CENTER);
  adw_action_row_add_prefix (ADW_ACTION_ROW (custom_row), GTK_WIDGET (self->custom_check));
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (custom_row),
                                         GTK_WIDGET (self->custom_check));
  g_signal_connect_object (self->custom_check, "toggled", G_CALLBACK (on_custom_toggled), self,
                           G_CONNECT_SWAPPED);
  adw_preferences_group_add (self->services_group, custom_row);

  self->custom_port_row = ADW_ENTRY_ROW (adw_entry_row_new ());
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self->custom_port_row), _ ("Port number"));
  gtk_editable_set_max_width_chars (GTK_EDITABLE (self->custom_port_row), 5);
  gtk_widget_set_visible (GTK_WIDGET (self->custom_port_row), FALSE);
  g_signal_connect_object (self->custom_port_row, "changed", G_CALLBACK (on_custom_port_changed),
                           self, G_CONNECT_SWAPPED);
  adw_preferences_group_add (self->services_group, GTK_WIDGET (self->custom_port_row));

  self->custom_note = CV_NOTE_ROW (cv_note_row_new ());
  gtk_widget_set_visible (GTK_WIDGET (self->custom_note), FALSE);
  adw_preferences_group_add (self->services_group, GTK_WIDGET (self->custom_note));
}

void
cv_share_page_probe (CvSharePage *self)
{
  g_return_if_fail (CV_IS_SHARE_PAGE (self));

  for (guint i = 0; i < self->preset_rows->len; i++)
    cv_share_service_probe (cv_share_service_row_get_service (self->preset_rows->pdata[i]));
  if (self->custom_service != NULL)
    cv_share_service_probe (self->custom_service);
}

static void
on_get_code_clicked (CvSharePage *self)
{
  g_autoptr (GListStore) ticked = cv_share_page_ticked (self);
  g_autoptr (CvShareSession) session = NULL;

  if (self->gateway == NULL || ticked == NULL
      || g_list_model_get_n_items (G_LIST_MODEL (ticked)) == 0 || self->session != NULL)
    return;
  session = cv_share_session_new (self->gateway, G_LIST_MODEL (ticked), NULL);
  /* Started first: a session still IDLE is one that was stopped, which the page lets go. */
  cv_share_session_start (session);
  cv_share_page_follow (self, session);
}

static void
on_stop_clicked (CvSharePage *self)
{
  cv_share_page_stop (self);
}

static void
cv_share_page_map (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (cv_share_page_parent_class)->map (widget);

  /* What runs here changes while the app is open: asked each time the page shows. */
  cv_share_page_probe (CV_SHARE_PAGE (widget));
}

static void
cv_share_page_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvSharePage *self = CV_SHARE_PAGE (object);

  switch (prop_id)
    {
    case PROP_SESSION:
      g_value_set_object (value, self->session);
      break;
    case PROP_HELPER_NAME:
      g_value_set_string (value, self->helper_name);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_share_page_dispose (GObject *object)
{
  CvSharePage *self = CV_SHARE_PAGE (object);

  /* The window is going: nothing may stay shared without the bar that says so. */
  cv_share_page_stop (self);
  self->stack = NULL;
  if (self->custom_service != NULL)
    g_signal_handlers_disconnect_by_data (self->custom_service, self);
  g_clear_object (&self->custom_service);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->preset_rows, g_ptr_array_unref);
  gtk_widget_dispose_template (GTK_WIDGET (self), CV_TYPE_SHARE_PAGE);

  G_OBJECT_CLASS (cv_share_page_parent_class)->dispose (object);
}

static void
cv_share_page_finalize (GObject *object)
{
  CvSharePage *self = CV_SHARE_PAGE (object);

  g_clear_pointer (&self->gateway, cv_share_gateway_free);
  g_clear_error (&self->gateway_error);
  g_free (self->helper_name);

  G_OBJECT_CLASS (cv_share_page_parent_class)->finalize (object);
}

static void
cv_share_page_class_init (CvSharePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = cv_share_page_get_property;
  object_class->dispose = cv_share_page_dispose;
  object_class->finalize = cv_share_page_finalize;
  widget_class->map = cv_share_page_map;

  properties[PROP_SESSION] = g_param_spec_object ("session", NULL, NULL, CV_TYPE_SHARE_SESSION,
                                                  G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                                                    | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_HELPER_NAME] = g_param_spec_string ("helper-name", NULL, NULL, NULL,
                                                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                                                        | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/culvert/Culvert/cv-share-page.ui");
  gtk_widget_class_bind_template_child (widget_class, CvSharePage, services_group);
  gtk_widget_class_bind_template_child (widget_class, CvSharePage, gateway_row);
  gtk_widget_class_bind_template_child (widget_class, CvSharePage, no_gateway_row);
  gtk_widget_class_bind_template_child (widget_class, CvSharePage, import_row);
  gtk_widget_class_bind_template_child (widget_class, CvSharePage, preferences_row);
  gtk_widget_class_bind_template_child (widget_class, CvSharePage, get_code_button);
  gtk_widget_class_bind_template_child (widget_class, CvSharePage, code_heading);
  gtk_widget_class_bind_template_child (widget_class, CvSharePage, code_label);
  gtk_widget_class_bind_template_child (widget_class, CvSharePage, copy_button);
  gtk_widget_class_bind_template_child (widget_class, CvSharePage, expires_label);
  gtk_widget_class_bind_template_child (widget_class, CvSharePage, status_box);
  gtk_widget_class_bind_template_child (widget_class, CvSharePage, spinner);
  gtk_widget_class_bind_template_child (widget_class, CvSharePage, status_label);
  gtk_widget_class_bind_template_child (widget_class, CvSharePage, error_box);
  gtk_widget_class_bind_template_child (widget_class, CvSharePage, error_label);
  gtk_widget_class_bind_template_child (widget_class, CvSharePage, renew_button);
  gtk_widget_class_bind_template_child (widget_class, CvSharePage, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, CvSharePage, connected_label);
  gtk_widget_class_bind_template_child (widget_class, CvSharePage, activity_list);
  gtk_widget_class_bind_template_child (widget_class, CvSharePage, stop_button);
  gtk_widget_class_bind_template_callback (widget_class, on_get_code_clicked);
  gtk_widget_class_bind_template_callback (widget_class, on_stop_clicked);
  gtk_widget_class_bind_template_callback_full (widget_class, "on_copy_clicked",
                                                G_CALLBACK (cv_share_page_on_copy_clicked));
  gtk_widget_class_bind_template_callback_full (widget_class, "on_renew_clicked",
                                                G_CALLBACK (cv_share_page_on_renew_clicked));
}

static void
cv_share_page_init (CvSharePage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  /* Not a template child: those that are the widget's own children are unparented by
   * gtk_widget_dispose_template (), and AdwBin would then unparent it a second time. */
  self->stack = GTK_STACK (adw_bin_get_child (ADW_BIN (self)));

  self->preset_rows = g_ptr_array_new ();
  self->settings = cv_settings_new ();
  cv_share_page_add_services (self);
  g_signal_connect_object (self->settings, "changed::share-gateway-address",
                           G_CALLBACK (cv_share_page_lookup_gateway), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->settings, "changed::share-gateway-fingerprint",
                           G_CALLBACK (cv_share_page_lookup_gateway), self, G_CONNECT_SWAPPED);
  cv_share_page_lookup_gateway (self);
}

CvShareSession *
cv_share_page_get_session (CvSharePage *self)
{
  g_return_val_if_fail (CV_IS_SHARE_PAGE (self), NULL);

  return self->session;
}

const char *
cv_share_page_get_helper_name (CvSharePage *self)
{
  g_return_val_if_fail (CV_IS_SHARE_PAGE (self), NULL);

  return self->helper_name;
}

void
cv_share_page_stop (CvSharePage *self)
{
  g_autoptr (CvShareSession) session = NULL;

  g_return_if_fail (CV_IS_SHARE_PAGE (self));

  if (self->session == NULL)
    return;
  session = g_object_ref (self->session);
  /* Let go first: the bar and the title go at the click, whatever the session says on
   * its way down. */
  cv_share_page_unfollow (self);
  cv_share_session_stop (session);
}
