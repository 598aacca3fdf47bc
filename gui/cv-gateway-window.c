/* cv-gateway-window.c: the gateway on this computer — running switch, listen address (in
 * GSettings), its key to read out, its sessions with their passwords, its agents, live. */
#include "cv-version.h"

#include <glib/gi18n.h>

#include "cv-gateway-session-row.h"
#include "cv-gateway-window.h"
#include "cv-machine-editor.h"
#include "cv-machine.h"
#include "cv-note-row.h"
#include "cv-settings.h"
#include "cv-ui-util.h"

#define LOCAL_ONLY_ADDRESS "127.0.0.1"
#define ALL_NETWORKS_ADDRESS "0.0.0.0"

struct _CvGatewayWindow {
  AdwPreferencesWindow parent_instance;

  CvApplication *app;
  CvEmbeddedGateway *gateway;
  GSettings *settings;
  GError *start_error;
  gboolean filling;
  /* Sessions being added (their passwords hashed on a thread): cancelled on dispose, when
   * nobody is left to see the passwords, so that nothing is added then. */
  GCancellable *cancellable;
  /* The "Add Machine" question while it is open. */
  AdwMessageDialog *add_dialog;
  GtkEntry *add_entry;
  GtkLabel *add_error_label;

  /* template children */
  AdwActionRow *running_row;
  GtkSwitch *running_switch;
  CvNoteRow *running_note;
  AdwComboRow *listen_row;
  AdwActionRow *port_row;
  GtkSpinButton *port_spin;
  GtkLabel *fingerprint_label;
  GtkButton *copy_fingerprint_button;
  AdwPreferencesGroup *machines_group;
  GtkButton *add_machine_button;
  GtkListBox *sessions_list;
  GtkListBox *agents_list;
};

G_DEFINE_FINAL_TYPE (CvGatewayWindow, cv_gateway_window, ADW_TYPE_PREFERENCES_WINDOW)

static void
cv_gateway_window_update_running (CvGatewayWindow *self)
{
  gboolean running = cv_embedded_gateway_get_running (self->gateway);
  const GError *error = cv_embedded_gateway_get_error (self->gateway);
  g_autofree char *subtitle = NULL;

  if (error == NULL)
    error = self->start_error;
  if (running)
    {
      guint16 port = cv_embedded_gateway_get_bound_port (self->gateway);
      gboolean local = g_strcmp0 (cv_embedded_gateway_get_listen_host (self->gateway),
                                  LOCAL_ONLY_ADDRESS)
                       == 0;

      subtitle = local ? g_strdup_printf (_ ("Listening on port %u, for this computer only"), port)
                       : g_strdup_printf (_ ("Listening on port %u, on every network"), port);
    }
  else
    subtitle = g_strdup (_ ("Stopped"));
  adw_action_row_set_subtitle (self->running_row, subtitle);
  /* Why it could not start, right under the switch that tried. */
  cv_note_row_set_text (self->running_note, !running && error != NULL ? error->message : NULL,
                        "error");

  self->filling = TRUE;
  gtk_switch_set_active (self->running_switch, running);
  self->filling = FALSE;
  /* Address and port are read at start. */
  gtk_widget_set_sensitive (GTK_WIDGET (self->listen_row), !running);
  gtk_widget_set_sensitive (GTK_WIDGET (self->port_row), !running);
}

static void
cv_gateway_window_running_toggled (CvGatewayWindow *self)
{
  gboolean active = gtk_switch_get_active (self->running_switch);

  if (self->filling)
    return;
  if (active && !cv_embedded_gateway_get_running (self->gateway))
    {
      g_clear_error (&self->start_error);
      cv_embedded_gateway_start (self->gateway, &self->start_error);
    }
  else if (!active && cv_embedded_gateway_get_running (self->gateway))
    cv_embedded_gateway_stop (self->gateway);
  cv_gateway_window_update_running (self);
}

static void
cv_gateway_window_update_fingerprint (CvGatewayWindow *self)
{
  const char *fingerprint = cv_embedded_gateway_get_fingerprint (self->gateway);
  g_autofree char *grouped = cv_ui_format_fingerprint (fingerprint, 8);

  gtk_label_set_text (self->fingerprint_label,
                      grouped != NULL ? grouped : _ ("Made when the gateway first starts."));
  gtk_widget_set_sensitive (GTK_WIDGET (self->copy_fingerprint_button), fingerprint != NULL);
}

static void
cv_gateway_window_copy_fingerprint (CvGatewayWindow *self)
{
  const char *fingerprint = cv_embedded_gateway_get_fingerprint (self->gateway);

  if (fingerprint == NULL)
    return;
  /* The full form: what a machine's Fingerprint and culvert-cli's --fingerprint take. */
  cv_ui_copy_from_button (self->copy_fingerprint_button, fingerprint);
}

/* "Add to My Machines": a machine that reaches the session through this gateway from
 * this computer, its key already trusted (it is our own), its password known. */
static void
cv_gateway_window_add_to_machines (CvGatewayWindow *self, CvGatewaySessionRow *row)
{
  CvEmbeddedSession *session = cv_gateway_session_row_get_session (row);
  g_autoptr (CvMachine) machine = cv_machine_new ();
  g_autoptr (CvMachineService) screen = cv_machine_service_new (CV_SERVICE_PRESET_VNC);
  guint16 port = cv_embedded_gateway_get_bound_port (self->gateway);
  GtkWindow *editor;

  if (port == 0)
    port = cv_embedded_gateway_get_listen_port (self->gateway);
  if (port == 0)
    port = CV_MACHINE_DEFAULT_GATEWAY_PORT;
  cv_machine_set_name (machine, cv_embedded_session_get_id (session));
  cv_machine_set_gateway (machine, LOCAL_ONLY_ADDRESS, port);
  cv_machine_set_fingerprint (machine, cv_embedded_gateway_get_fingerprint (self->gateway));
  cv_machine_set_session (machine, cv_embedded_session_get_id (session));
  cv_machine_add_service (machine, screen);

  editor = cv_machine_editor_new (GTK_WINDOW (self), self->app, machine);
  cv_machine_editor_set_password (CV_MACHINE_EDITOR (editor),
                                  cv_embedded_session_get_connect_password (session));
  gtk_window_present (editor);
}

static GtkWidget *
cv_gateway_window_create_session_row (gpointer item, gpointer user_data)
{
  CvGatewayWindow *self = CV_GATEWAY_WINDOW (user_data);
  GtkWidget *row = cv_gateway_session_row_new (self->gateway, CV_EMBEDDED_SESSION (item));

  g_signal_connect_object (row, "add-to-machines", G_CALLBACK (cv_gateway_window_add_to_machines),
                           self, G_CONNECT_SWAPPED);
  return row;
}

static GtkWidget *
cv_gateway_window_create_agent_row (gpointer item, gpointer user_data)
{
  CvEmbeddedAgent *agent = CV_EMBEDDED_AGENT (item);
  gboolean share = g_strcmp0 (cv_embedded_agent_get_role (agent), "share") == 0;
  const char *name = cv_embedded_agent_get_name (agent);
  GtkWidget *row = adw_action_row_new ();
  g_autofree char *subtitle = NULL;

  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row),
                                 name != NULL && name[0] != '\0' ? name : _ ("Unnamed"));
  /* Translators: who an agent is, where it connects from, and which machine it is for. */
  subtitle = g_strdup_printf (_ ("%s · %s · machine %s"),
                              share ? _ ("Shares a computer") : _ ("Connects to a machine"),
                              cv_embedded_agent_get_address (agent),
                              cv_embedded_agent_get_session (agent));
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row),
                             gtk_image_new_from_icon_name (share ? "computer-symbolic"
                                                                 : "network-workgroup-symbolic"));
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  return row;
}

static void
cv_gateway_window_bind_agents (CvGatewayWindow *self)
{
  gtk_list_box_bind_model (self->agents_list, cv_embedded_gateway_get_agents (self->gateway),
                           cv_gateway_window_create_agent_row, self, NULL);
}

static GtkWidget *
placeholder_new (const char *text)
{
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_widget_set_margin_top (label, 18);
  gtk_widget_set_margin_bottom (label, 18);
  gtk_widget_set_margin_start (label, 12);
  gtk_widget_set_margin_end (label, 12);
  gtk_widget_add_css_class (label, "dim-label");
  return label;
}

static gboolean
cv_gateway_window_session_exists (CvGatewayWindow *self, const char *id)
{
  GListModel *sessions = cv_embedded_gateway_get_sessions (self->gateway);

  for (guint i = 0; i < g_list_model_get_n_items (sessions); i++)
    {
      g_autoptr (CvEmbeddedSession) session = g_list_model_get_item (sessions, i);

      if (g_strcmp0 (cv_embedded_session_get_id (session), id) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
cv_gateway_window_add_entry_changed (CvGatewayWindow *self)
{
  const char *id = gtk_editable_get_text (GTK_EDITABLE (self->add_entry));
  g_autoptr (GError) error = NULL;
  gboolean valid = cv_machine_check_session (id, &error);

  if (valid && cv_gateway_window_session_exists (self, id))
    {
      valid = FALSE;
      g_set_error (&error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   _ ("This gateway already serves a machine called “%s”: choose another name."),
                   id);
    }
  /* Nothing typed yet is not worth an error. */
  gtk_label_set_text (self->add_error_label, error != NULL && id[0] != '\0' ? error->message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->add_error_label), error != NULL && id[0] != '\0');
  if (error != NULL && id[0] != '\0')
    gtk_widget_add_css_class (GTK_WIDGET (self->add_entry), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->add_entry), "error");
  adw_message_dialog_set_response_enabled (self->add_dialog, "add", valid);
}

static void
cv_gateway_window_session_added (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CvGatewayWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (CvEmbeddedSession) session =
    cv_embedded_gateway_add_session_finish (CV_EMBEDDED_GATEWAY (source), result, &error);

  if (session == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self),
                                      cv_ui_plain_toast_new (error->message));
}

static void
cv_gateway_window_add_response (AdwMessageDialog *dialog, const char *response, gpointer user_data)
{
  CvGatewayWindow *self = CV_GATEWAY_WINDOW (user_data);
  g_autofree char *id = g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->add_entry)));

  self->add_dialog = NULL;
  self->add_entry = NULL;
  self->add_error_label = NULL;
  if (g_strcmp0 (response, "add") != 0)
    return;
  /* The new row comes from the gateway's list, open on its passwords. */
  cv_embedded_gateway_add_session_async (self->gateway, id, self->cancellable,
                                         cv_gateway_window_session_added, g_object_ref (self));
}

static void
cv_gateway_window_add_machine_clicked (CvGatewayWindow *self)
{
  AdwMessageDialog *dialog;
  GtkWidget *box;
  GtkWidget *entry;
  GtkWidget *error_label;

  dialog = ADW_MESSAGE_DIALOG (
    adw_message_dialog_new (GTK_WINDOW (self), _ ("Add a Machine"), NULL));
  adw_message_dialog_set_body (dialog, _ ("Name the computer that will share through this gateway, "
                                          "such as front-desk. "
                                          "The gateway makes its passwords, shown once."));

  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  entry = gtk_entry_new ();
  gtk_entry_set_activates_default (GTK_ENTRY (entry), TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (entry), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _ ("Session"), -1);
  gtk_entry_set_placeholder_text (GTK_ENTRY (entry), _ ("Session"));
  error_label = gtk_label_new (NULL);
  gtk_label_set_wrap (GTK_LABEL (error_label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (error_label), 0.0);
  gtk_widget_add_css_class (error_label, "error");
  gtk_widget_add_css_class (error_label, "caption");
  gtk_widget_set_visible (error_label, FALSE);
  gtk_box_append (GTK_BOX (box), entry);
  gtk_box_append (GTK_BOX (box), error_label);
  adw_message_dialog_set_extra_child (dialog, box);

  adw_message_dialog_add_responses (dialog, "cancel", _ ("_Cancel"), "add", _ ("_Add"), NULL);
  adw_message_dialog_set_response_appearance (dialog, "add", ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (dialog, "add");
  adw_message_dialog_set_close_response (dialog, "cancel");

  self->add_dialog = dialog;
  self->add_entry = GTK_ENTRY (entry);
  self->add_error_label = GTK_LABEL (error_label);
  g_signal_connect_object (entry, "changed", G_CALLBACK (cv_gateway_window_add_entry_changed), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (dialog, "response", G_CALLBACK (cv_gateway_window_add_response), self,
                           0);
  cv_gateway_window_add_entry_changed (self);
  gtk_window_present (GTK_WINDOW (dialog));
  gtk_widget_grab_focus (entry);
}

static gboolean
listen_address_to_selected (GValue *value, GVariant *variant, gpointer user_data)
{
  const char *address = g_variant_get_string (variant, NULL);

  g_value_set_uint (value, g_strcmp0 (address, LOCAL_ONLY_ADDRESS) == 0 ? 1 : 0);
  return TRUE;
}

static GVariant *
selected_to_listen_address (const GValue *value, const GVariantType *type, gpointer user_data)
{
  return g_variant_new_string (g_value_get_uint (value) == 1 ? LOCAL_ONLY_ADDRESS
                                                             : ALL_NETWORKS_ADDRESS);
}

static void
cv_gateway_window_dispose (GObject *object)
{
  CvGatewayWindow *self = CV_GATEWAY_WINDOW (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  /* Shown once: whoever needed them has copied them while the window was open. */
  if (self->gateway != NULL)
    {
      GListModel *sessions = cv_embedded_gateway_get_sessions (self->gateway);

      for (guint i = 0; i < g_list_model_get_n_items (sessions); i++)
        {
          g_autoptr (CvEmbeddedSession) session = g_list_model_get_item (sessions, i);
          cv_embedded_session_forget_passwords (session);
        }
      /* Before the reference goes, which may be the gateway's last (see the session row). */
      g_signal_handlers_disconnect_by_data (self->gateway, self);
    }
  g_clear_error (&self->start_error);
  g_clear_object (&self->settings);
  g_clear_object (&self->gateway);
  g_clear_object (&self->app);

  G_OBJECT_CLASS (cv_gateway_window_parent_class)->dispose (object);
}

static void
cv_gateway_window_class_init (CvGatewayWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = cv_gateway_window_dispose;

  g_type_ensure (CV_TYPE_NOTE_ROW);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/culvert/Culvert/cv-gateway-window.ui");
  gtk_widget_class_bind_template_child (widget_class, CvGatewayWindow, running_row);
  gtk_widget_class_bind_template_child (widget_class, CvGatewayWindow, running_switch);
  gtk_widget_class_bind_template_child (widget_class, CvGatewayWindow, running_note);
  gtk_widget_class_bind_template_child (widget_class, CvGatewayWindow, listen_row);
  gtk_widget_class_bind_template_child (widget_class, CvGatewayWindow, port_row);
  gtk_widget_class_bind_template_child (widget_class, CvGatewayWindow, port_spin);
  gtk_widget_class_bind_template_child (widget_class, CvGatewayWindow, fingerprint_label);
  gtk_widget_class_bind_template_child (widget_class, CvGatewayWindow, copy_fingerprint_button);
  gtk_widget_class_bind_template_child (widget_class, CvGatewayWindow, machines_group);
  gtk_widget_class_bind_template_child (widget_class, CvGatewayWindow, add_machine_button);
  gtk_widget_class_bind_template_child (widget_class, CvGatewayWindow, sessions_list);
  gtk_widget_class_bind_template_child (widget_class, CvGatewayWindow, agents_list);
  gtk_widget_class_bind_template_callback (widget_class, cv_gateway_window_running_toggled);
  gtk_widget_class_bind_template_callback (widget_class, cv_gateway_window_copy_fingerprint);
  gtk_widget_class_bind_template_callback (widget_class, cv_gateway_window_add_machine_clicked);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_w, GDK_CONTROL_MASK, "window.close",
                                       NULL);
}

static void
cv_gateway_window_init (CvGatewayWindow *self)
{
  /* The switch's handler runs while the template is built; there is no gateway yet. */
  self->cancellable = g_cancellable_new ();
  self->filling = TRUE;
  gtk_widget_init_template (GTK_WIDGET (self));
  self->filling = FALSE;

  gtk_list_box_set_placeholder (self->sessions_list,
                                placeholder_new (_ ("No machines yet. Add one for each computer "
                                                    "that will share through this gateway.")));
  gtk_list_box_set_placeholder (self->agents_list, placeholder_new (_ ("Nothing is connected.")));

  self->settings = cv_settings_new ();
  g_settings_bind_with_mapping (self->settings, "gateway-listen-address", self->listen_row,
                                "selected", G_SETTINGS_BIND_DEFAULT, listen_address_to_selected,
                                selected_to_listen_address, NULL, NULL);
  g_settings_bind (self->settings, "gateway-listen-port", self->port_spin, "value",
                   G_SETTINGS_BIND_DEFAULT);
}

GtkWindow *
cv_gateway_window_new (GtkWindow *parent, CvApplication *app)
{
  CvGatewayWindow *self;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (CV_IS_APPLICATION (app), NULL);

  self = g_object_new (CV_TYPE_GATEWAY_WINDOW, "transient-for", parent, "application", app, NULL);
  self->app = g_object_ref (app);
  self->gateway = g_object_ref (cv_application_get_gateway (app));

  g_signal_connect_object (self->gateway, "notify::running",
                           G_CALLBACK (cv_gateway_window_update_running), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->gateway, "notify::bound-port",
                           G_CALLBACK (cv_gateway_window_update_running), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->gateway, "notify::error",
                           G_CALLBACK (cv_gateway_window_update_running), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->gateway, "notify::fingerprint",
                           G_CALLBACK (cv_gateway_window_update_fingerprint), self,
                           G_CONNECT_SWAPPED);
  /* Should the gateway hand out a new list rather than change the one it has. */
  g_signal_connect_object (self->gateway, "notify::agents",
                           G_CALLBACK (cv_gateway_window_bind_agents), self, G_CONNECT_SWAPPED);
  gtk_list_box_bind_model (self->sessions_list, cv_embedded_gateway_get_sessions (self->gateway),
                           cv_gateway_window_create_session_row, self, NULL);
  cv_gateway_window_bind_agents (self);
  cv_gateway_window_update_running (self);
  cv_gateway_window_update_fingerprint (self);
  return GTK_WINDOW (self);
}
