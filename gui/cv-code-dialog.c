/* cv-code-dialog.c: "Connect with a Code" — a modal window over one CvCodeConnection: the
 * code typed (formatted as typed, paste tolerant), "Checking the code…", the numbers to
 * read out and the offered services to tick, "Waiting for them to accept…", then the
 * services as on a machine's page (live state, Open); a burned or expired code, or a
 * refusal, explains itself with Try Another Code.  Closing the window disconnects. */
#include "cv-version.h"

#include <glib/gi18n.h>

#include "cv-app-error.h"
#include "cv-code-connection.h"
#include "cv-code-dialog.h"
#include "cv-service-link-row.h"
#include "cv-settings.h"
#include "cv-ui-util.h"

struct _CvCodeDialog {
  AdwWindow parent_instance;

  GSettings *settings;
  CvCodeConnection *connection;
  gboolean formatting; /* the code row's text is being replaced by its formatted self */
  GStrv chosen;        /* the names asked for, in the order of the connection's services */

  /* template children */
  AdwToastOverlay *toast_overlay;
  GtkStack *stack;
  AdwEntryRow *code_row;
  GtkWidget *continue_button;
  AdwStatusPage *waiting_page;
  GtkSpinner *spinner;
  GtkLabel *verification_label;
  GtkLabel *confirmed_label;
  GtkListBox *offered_list;
  GtkWidget *connect_button;
  GtkLabel *connected_label;
  GtkListBox *services_list;
  GtkWidget *disconnect_button;
  AdwStatusPage *failed_page;
  GtkWidget *try_another_button;
  GtkWidget *preferences_button;
};

G_DEFINE_FINAL_TYPE (CvCodeDialog, cv_code_dialog, ADW_TYPE_WINDOW)

static void cv_code_dialog_update (CvCodeDialog *self);
static void cv_code_dialog_open_services (CvCodeDialog *self);

static void
show_toast (CvCodeDialog *self, const char *text)
{
  AdwToast *toast = cv_ui_plain_toast_new (text);

  adw_toast_set_timeout (toast, 10);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);
}

/* ---- the code ----------------------------------------------------------- */

static guint
count_digits (const char *text)
{
  guint n = 0;

  for (; *text != '\0'; text++)
    n += g_ascii_isdigit (*text) ? 1 : 0;
  return n;
}

static gboolean
cursor_to_end (gpointer data)
{
  CvCodeDialog *self = data;

  gtk_editable_set_position (GTK_EDITABLE (self->code_row), -1);
  return G_SOURCE_REMOVE;
}

/* As typed or pasted: digits only, hyphens where they belong, the cursor at the end (once
 * the insertion that changed the text has placed it, hence on an idle). */
static void
on_code_changed (CvCodeDialog *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->code_row));
  g_autofree char *formatted = NULL;

  if (self->formatting)
    return;
  formatted = cv_code_format_typed (text);
  gtk_widget_remove_css_class (GTK_WIDGET (self->code_row), "error");
  if (g_strcmp0 (formatted, text) != 0)
    {
      self->formatting = TRUE;
      gtk_editable_set_text (GTK_EDITABLE (self->code_row), formatted);
      gtk_editable_set_position (GTK_EDITABLE (self->code_row), -1);
      self->formatting = FALSE;
      g_idle_add_full (G_PRIORITY_HIGH_IDLE, cursor_to_end, g_object_ref (self), g_object_unref);
    }
  gtk_widget_set_sensitive (self->continue_button, count_digits (formatted) >= 9);
}

static void
show_failed (CvCodeDialog *self, const GError *error)
{
  gboolean no_gateway = g_error_matches (error, CV_APP_ERROR, CV_APP_ERROR_NO_GATEWAY);
  const char *title;

  if (g_error_matches (error, CV_APP_ERROR, CV_APP_ERROR_CODE_BURNED))
    title = _ ("Code Not Accepted");
  else if (g_error_matches (error, CV_APP_ERROR, CV_APP_ERROR_CODE_EXPIRED))
    title = _ ("Code Expired");
  else if (g_error_matches (error, CV_APP_ERROR, CV_APP_ERROR_DECLINED))
    title = _ ("Not Accepted");
  else if (no_gateway)
    title = _ ("No Gateway Set");
  else if (g_strcmp0 (gtk_stack_get_visible_child_name (self->stack), "connected") == 0)
    title = _ ("Connection Ended");
  else
    title = _ ("Could Not Connect");
  adw_status_page_set_title (self->failed_page, title);
  adw_status_page_set_description (self->failed_page, error->message);
  /* What only Preferences can mend: that is the way on, not another code. */
  gtk_widget_set_visible (self->preferences_button, no_gateway);
  gtk_button_set_label (GTK_BUTTON (self->try_another_button),
                        no_gateway ? _ ("_Back") : _ ("_Try Another Code"));
  if (no_gateway)
    {
      gtk_widget_remove_css_class (self->try_another_button, "suggested-action");
      gtk_widget_add_css_class (self->preferences_button, "suggested-action");
    }
  else
    {
      gtk_widget_add_css_class (self->try_another_button, "suggested-action");
      gtk_widget_remove_css_class (self->preferences_button, "suggested-action");
    }
  gtk_stack_set_visible_child_name (self->stack, "failed");
  gtk_widget_grab_focus (no_gateway ? self->preferences_button : self->try_another_button);
}

static void
on_continue (CvCodeDialog *self)
{
  const char *code = gtk_editable_get_text (GTK_EDITABLE (self->code_row));
  g_autoptr (GError) error = NULL;
  g_autofree char *gateway = NULL;
  g_autofree char *fingerprint = NULL;

  if (!gtk_widget_get_sensitive (self->continue_button))
    return;
  /* The preferences as they are now: they may have changed since the last code. */
  gateway = g_settings_get_string (self->settings, "code-gateway");
  fingerprint = g_settings_get_string (self->settings, "code-gateway-fingerprint");
  if (self->connection != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->connection, self);
      g_clear_object (&self->connection);
    }
  self->connection = cv_code_connection_new (gateway, fingerprint, NULL);
  g_signal_connect_swapped (self->connection, "notify::state", G_CALLBACK (cv_code_dialog_update),
                            self);
  g_signal_connect_swapped (self->connection, "connected",
                            G_CALLBACK (cv_code_dialog_open_services), self);
  if (cv_code_connection_claim (self->connection, code, &error))
    return;
  if (g_error_matches (error, CV_APP_ERROR, CV_APP_ERROR_INVALID))
    {
      /* Not a code: the row says so, and stays to be corrected. */
      gtk_widget_add_css_class (GTK_WIDGET (self->code_row), "error");
      show_toast (self, error->message);
      return;
    }
  show_failed (self, error);
}

static void
on_try_another (CvCodeDialog *self)
{
  if (self->connection != NULL)
    cv_code_connection_disconnect (self->connection);
  gtk_editable_set_text (GTK_EDITABLE (self->code_row), "");
  gtk_stack_set_visible_child_name (self->stack, "entry");
  gtk_widget_grab_focus (GTK_WIDGET (self->code_row));
}

/* ---- the offered services ----------------------------------------------- */

static void
fill_offered (CvCodeDialog *self)
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

static void
on_connect (CvCodeDialog *self)
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
      show_toast (self, error->message);
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

static void
fill_services (CvCodeDialog *self)
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
  show_toast (self, error->message);
  return FALSE;
}

static void
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
static void
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

/* ---- the state ---------------------------------------------------------- */

static void
show_waiting (CvCodeDialog *self, const char *title, const char *description)
{
  adw_status_page_set_title (self->waiting_page, title);
  adw_status_page_set_description (self->waiting_page, description);
  gtk_stack_set_visible_child_name (self->stack, "waiting");
}

static void
cv_code_dialog_update (CvCodeDialog *self)
{
  CvCodeConnection *connection = self->connection;
  const char *name = cv_code_connection_get_share_name (connection);
  CvCodeConnectionState state = cv_code_connection_get_state (connection);
  g_autofree char *text = NULL;

  gtk_spinner_set_spinning (self->spinner, state == CV_CODE_CONNECTION_CLAIMING
                                             || state == CV_CODE_CONNECTION_ASKING);
  switch (state)
    {
    case CV_CODE_CONNECTION_CLAIMING:
      show_waiting (self, _ ("Checking the Code…"), NULL);
      break;
    case CV_CODE_CONNECTION_CONFIRMED:
      gtk_label_set_text (self->verification_label,
                          cv_code_connection_get_verification (connection));
      text = g_strdup_printf (_ ("“%s” should show the same numbers. If they differ, do not "
                                 "connect: ask for a new code."),
                              name != NULL && *name != '\0' ? name : _ ("The other computer"));
      gtk_label_set_text (self->confirmed_label, text);
      fill_offered (self);
      gtk_stack_set_visible_child_name (self->stack, "confirmed");
      gtk_widget_grab_focus (self->connect_button);
      break;
    case CV_CODE_CONNECTION_ASKING:
      show_waiting (self, _ ("Waiting for Them to Accept…"),
                    _ ("They see your name, what you asked for and the same numbers."));
      break;
    case CV_CODE_CONNECTION_CONNECTED:
      text = g_strdup_printf (_ ("Connected to “%s”"), name != NULL ? name : "");
      gtk_label_set_text (self->connected_label, text);
      fill_services (self);
      gtk_stack_set_visible_child_name (self->stack, "connected");
      gtk_widget_grab_focus (self->disconnect_button);
      break;
    case CV_CODE_CONNECTION_FAILED:
      show_failed (self, cv_code_connection_get_error (connection));
      break;
    case CV_CODE_CONNECTION_IDLE:
    default:
      break;
    }
}

/* ---- the object --------------------------------------------------------- */

static void
cv_code_dialog_dispose (GObject *object)
{
  CvCodeDialog *self = CV_CODE_DIALOG (object);

  if (self->connection != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->connection, self);
      cv_code_connection_disconnect (self->connection);
      g_clear_object (&self->connection);
    }
  g_clear_object (&self->settings);
  g_clear_pointer (&self->chosen, g_strfreev);
  gtk_widget_dispose_template (GTK_WIDGET (self), CV_TYPE_CODE_DIALOG);
  G_OBJECT_CLASS (cv_code_dialog_parent_class)->dispose (object);
}

static void
cv_code_dialog_class_init (CvCodeDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cv_code_dialog_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/culvert/Culvert/cv-code-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, CvCodeDialog, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, CvCodeDialog, stack);
  gtk_widget_class_bind_template_child (widget_class, CvCodeDialog, code_row);
  gtk_widget_class_bind_template_child (widget_class, CvCodeDialog, continue_button);
  gtk_widget_class_bind_template_child (widget_class, CvCodeDialog, waiting_page);
  gtk_widget_class_bind_template_child (widget_class, CvCodeDialog, spinner);
  gtk_widget_class_bind_template_child (widget_class, CvCodeDialog, verification_label);
  gtk_widget_class_bind_template_child (widget_class, CvCodeDialog, confirmed_label);
  gtk_widget_class_bind_template_child (widget_class, CvCodeDialog, offered_list);
  gtk_widget_class_bind_template_child (widget_class, CvCodeDialog, connect_button);
  gtk_widget_class_bind_template_child (widget_class, CvCodeDialog, connected_label);
  gtk_widget_class_bind_template_child (widget_class, CvCodeDialog, services_list);
  gtk_widget_class_bind_template_child (widget_class, CvCodeDialog, disconnect_button);
  gtk_widget_class_bind_template_child (widget_class, CvCodeDialog, failed_page);
  gtk_widget_class_bind_template_child (widget_class, CvCodeDialog, try_another_button);
  gtk_widget_class_bind_template_child (widget_class, CvCodeDialog, preferences_button);
  gtk_widget_class_bind_template_callback (widget_class, on_code_changed);
  gtk_widget_class_bind_template_callback (widget_class, on_continue);
  gtk_widget_class_bind_template_callback (widget_class, on_try_another);
  gtk_widget_class_bind_template_callback (widget_class, on_connect);
  /* The rows' Open buttons ask the window they are in, as on the machine page. */
  gtk_widget_class_install_action (widget_class, "win.open-service", "(su)",
                                   cv_code_dialog_open_service);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
cv_code_dialog_init (CvCodeDialog *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->settings = cv_settings_new ();
}

/* @parent: (nullable): the main window; the dialog joins its application, whose actions
 * (app.preferences) its buttons use. */
GtkWindow *
cv_code_dialog_new (GtkWindow *parent)
{
  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);

  return g_object_new (CV_TYPE_CODE_DIALOG, "transient-for", parent, "application",
                       parent != NULL ? gtk_window_get_application (parent) : NULL, NULL);
}

CvCodeConnection *
cv_code_dialog_get_connection (CvCodeDialog *self)
{
  g_return_val_if_fail (CV_IS_CODE_DIALOG (self), NULL);
  return self->connection;
}
