/* cv-code-dialog-services.c: the code dialog's services — those offered, ticked before
 * Connect, and the chosen ones once connected: the machine page's rows (live state, Open)
 * and their launchers, opened by themselves when "Open services when connected" is on. */
#include "cv-version.h"

#include "cv-code-dialog-private.h"
#include "cv-service-link-row.h"

/* ---- the offered services ----------------------------------------------- */

void
cv_code_dialog_fill_offered (CvCodeDialog *self)
{
  GListModel *offered = cv_code_connection_get_offered (self->connection);
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->offered_list))) != NULL)
    gtk_list_box_remove (self->offered_list, child);
  for (guint i = 0; i < g_list_model_get_n_items (offered); i++)
    {
      g_autoptr (CvService) service = g_list_model_get_item (offered, i);
      g_autofree char *words = cv_code_connection_describe_service (service);
      GtkWidget *row = adw_action_row_new ();
      GtkWidget *check = gtk_check_button_new ();

      adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), words);
      gtk_check_button_set_active (GTK_CHECK_BUTTON (check), TRUE);
      gtk_widget_set_valign (check, GTK_ALIGN_CENTER);
      gtk_accessible_update_property (GTK_ACCESSIBLE (check), GTK_ACCESSIBLE_PROPERTY_LABEL, words,
                                      -1);
      adw_action_row_add_prefix (ADW_ACTION_ROW (row), check);
      adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), check);
      g_object_set_data_full (G_OBJECT (row), "cv-service-name",
                              g_strdup (cv_service_get_name (service)), g_free);
      g_object_set_data (G_OBJECT (row), "cv-check", check);
      gtk_list_box_append (self->offered_list, row);
    }
}

void
cv_code_dialog_connect (CvCodeDialog *self)
{
  g_autoptr (GStrvBuilder) builder = g_strv_builder_new ();
  g_auto (GStrv) names = NULL;
  g_autoptr (GError) error = NULL;

  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->offered_list)); row != NULL;
       row = gtk_widget_get_next_sibling (row))
    if (gtk_check_button_get_active (g_object_get_data (G_OBJECT (row), "cv-check")))
      g_strv_builder_add (builder, g_object_get_data (G_OBJECT (row), "cv-service-name"));
  names = g_strv_builder_end (builder);
  if (!cv_code_connection_connect (self->connection, (const char *const *) names, &error))
    {
      cv_code_dialog_toast (self, error->message);
      return;
    }
  g_strfreev (self->chosen);
  self->chosen = g_steal_pointer (&names);
}

/* ---- the chosen services, connected ------------------------------------- */

/* The offered service @name in words, as it was listed; or @name. */
static char *
describe_offered (CvCodeDialog *self, const char *name)
{
  GListModel *offered = cv_code_connection_get_offered (self->connection);

  for (guint i = 0; i < g_list_model_get_n_items (offered); i++)
    {
      g_autoptr (CvService) service = g_list_model_get_item (offered, i);

      if (g_strcmp0 (cv_service_get_name (service), name) == 0)
        return cv_code_connection_describe_service (service);
    }
  return g_strdup (name);
}

void
cv_code_dialog_fill_services (CvCodeDialog *self)
{
  GListModel *services = cv_code_connection_get_services (self->connection);
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->services_list))) != NULL)
    gtk_list_box_remove (self->services_list, child);
  /* The machine page's rows: their Open button is this window's win.open-service. */
  for (guint i = 0; i < g_list_model_get_n_items (services); i++)
    {
      g_autoptr (CvServiceLink) link = g_list_model_get_item (services, i);
      CvServiceLinkRow *row = cv_service_link_row_new (link, "code", i);
      g_autofree char *words = describe_offered (self, self->chosen[i]);

      cv_service_link_row_set_name (row, words);
      gtk_list_box_append (self->services_list, GTK_WIDGET (row));
    }
}

static gboolean
launch (CvCodeDialog *self, CvServiceLink *link)
{
  g_autoptr (GdkAppLaunchContext) context = NULL;
  g_autoptr (GError) error = NULL;

  context = gdk_display_get_app_launch_context (gtk_widget_get_display (GTK_WIDGET (self)));
  if (cv_service_link_launch (link, G_APP_LAUNCH_CONTEXT (context), &error))
    return TRUE;
  cv_code_dialog_toast (self, error->message);
  return FALSE;
}

void
cv_code_dialog_open_service (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  CvCodeDialog *self = CV_CODE_DIALOG (widget);
  g_autoptr (CvServiceLink) link = NULL;
  const char *id = NULL;
  guint position = 0;

  g_variant_get (parameter, "(&su)", &id, &position);
  if (self->connection == NULL)
    return;
  link = g_list_model_get_item (cv_code_connection_get_services (self->connection), position);
  if (link != NULL)
    launch (self, link);
}

/* The person sharing accepted: each service with a launcher opens, as a machine's do. */
void
cv_code_dialog_open_services (CvCodeDialog *self)
{
  GListModel *services = cv_code_connection_get_services (self->connection);

  if (!g_settings_get_boolean (self->settings, "open-services-on-connect"))
    return;
  for (guint i = 0; i < g_list_model_get_n_items (services); i++)
    {
      g_autoptr (CvServiceLink) link = g_list_model_get_item (services, i);

      if (cv_machine_service_get_launcher (cv_service_link_get_service (link)) != CV_LAUNCHER_NONE)
        launch (self, link);
    }
}
