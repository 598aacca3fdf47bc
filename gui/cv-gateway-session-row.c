/* cv-gateway-session-row.c: a session of the gateway on this computer, live, its passwords
 * shown while they are known (right after it was added, until the window closes). */
#include "cv-version.h"

#include <glib/gi18n.h>

#include "auth/cv-password.h"
#include "cv-gateway-session-row.h"
#include "cv-note-row.h"
#include "cv-ui-util.h"

/* What the command for the shared computer lets its technician reach: its screen. */
#define SHARE_COMMAND_ALLOW "127.0.0.1:5900"

struct _CvGatewaySessionRow {
  AdwExpanderRow parent_instance;

  CvEmbeddedGateway *gateway;
  CvEmbeddedSession *session;
  CvSecret *command;

  /* template children */
  GtkImage *state_icon;
  GtkButton *remove_button;
  CvNoteRow *passwords_note;
  AdwActionRow *share_password_row;
  GtkButton *copy_share_password_button;
  AdwActionRow *connect_password_row;
  GtkButton *copy_connect_password_button;
  AdwActionRow *command_row;
  GtkButton *copy_command_button;
  AdwActionRow *add_to_machines_row;
  GtkButton *add_to_machines_button;
};

G_DEFINE_FINAL_TYPE (CvGatewaySessionRow, cv_gateway_session_row, ADW_TYPE_EXPANDER_ROW)

enum {
  PROP_0,
  PROP_GATEWAY,
  PROP_SESSION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_ADD_TO_MACHINES,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
set_monospace_subtitle (AdwActionRow *row, const char *text)
{
  g_autofree char *markup = g_markup_printf_escaped ("<tt>%s</tt>", text != NULL ? text : "");

  adw_action_row_set_subtitle (row, markup);
}

static void
cv_gateway_session_row_update_state (CvGatewaySessionRow *self)
{
  gboolean online = cv_embedded_session_get_share_online (self->session);
  guint n = cv_embedded_session_get_n_connect_agents (self->session);
  g_autofree char *subtitle = NULL;

  if (!online)
    subtitle = g_strdup (_ ("Waiting for the shared computer"));
  else if (n == 0)
    subtitle = g_strdup (_ ("The shared computer is online"));
  else
    subtitle = g_strdup_printf (ngettext ("The shared computer is online · reached from %u "
                                          "computer",
                                          "The shared computer is online · reached from %u "
                                          "computers",
                                          n),
                                n);
  adw_expander_row_set_subtitle (ADW_EXPANDER_ROW (self), subtitle);

  gtk_widget_remove_css_class (GTK_WIDGET (self->state_icon), online ? "dim-label" : "success");
  gtk_widget_add_css_class (GTK_WIDGET (self->state_icon), online ? "success" : "dim-label");
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->state_icon), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  online ? _ ("Online") : _ ("Offline"), -1);
}

static void
cv_gateway_session_row_update_command (CvGatewaySessionRow *self)
{
  g_clear_pointer (&self->command, cv_secret_free);
  /* It holds the share password, and it names the gateway's key, made at its load. */
  if (cv_embedded_session_get_share_password (self->session) == NULL
      || cv_embedded_gateway_get_fingerprint (self->gateway) == NULL)
    return;
  self->command = cv_embedded_gateway_dup_share_command (self->gateway, self->session,
                                                         SHARE_COMMAND_ALLOW);
  set_monospace_subtitle (self->command_row, self->command);
}

static void
cv_gateway_session_row_update_passwords (CvGatewaySessionRow *self)
{
  const char *share_password = cv_embedded_session_get_share_password (self->session);
  const char *connect_password = cv_embedded_session_get_connect_password (self->session);
  gboolean known = share_password != NULL && connect_password != NULL;

  gtk_widget_set_visible (GTK_WIDGET (self->share_password_row), known);
  gtk_widget_set_visible (GTK_WIDGET (self->connect_password_row), known);
  gtk_widget_set_visible (GTK_WIDGET (self->command_row), known);
  gtk_widget_set_visible (GTK_WIDGET (self->add_to_machines_row), known);
  if (!known)
    {
      cv_note_row_set_text (self->passwords_note,
                            _ ("Its passwords were shown when it was added. For new ones, "
                               "remove the machine and add it again."),
                            "dim-label");
      return;
    }
  cv_note_row_set_text (self->passwords_note,
                        _ ("Shown only while this window is open: copy what you need now. "
                           "The gateway keeps no password, only a hash."),
                        "warning");
  set_monospace_subtitle (self->share_password_row, share_password);
  set_monospace_subtitle (self->connect_password_row, connect_password);
  cv_gateway_session_row_update_command (self);
}

static void
cv_gateway_session_row_copy_share_password (CvGatewaySessionRow *self)
{
  const char *password = cv_embedded_session_get_share_password (self->session);

  if (password != NULL)
    cv_ui_copy_from_button (self->copy_share_password_button, password);
}

static void
cv_gateway_session_row_copy_connect_password (CvGatewaySessionRow *self)
{
  const char *password = cv_embedded_session_get_connect_password (self->session);

  if (password != NULL)
    cv_ui_copy_from_button (self->copy_connect_password_button, password);
}

static void
cv_gateway_session_row_copy_command (CvGatewaySessionRow *self)
{
  if (self->command != NULL)
    cv_ui_copy_from_button (self->copy_command_button, self->command);
}

static void
cv_gateway_session_row_add_to_machines_clicked (CvGatewaySessionRow *self)
{
  g_signal_emit (self, signals[SIGNAL_ADD_TO_MACHINES], 0);
}

static void
cv_gateway_session_row_remove_response (AdwMessageDialog *dialog,
                                        const char *response,
                                        gpointer user_data)
{
  CvGatewaySessionRow *self = CV_GATEWAY_SESSION_ROW (user_data);
  g_autoptr (GError) error = NULL;
  GtkRoot *root;

  if (g_strcmp0 (response, "remove") != 0)
    return;
  /* The row itself goes away with the session, from the gateway's list. */
  root = gtk_widget_get_root (GTK_WIDGET (self));
  if (!cv_embedded_gateway_remove_session (self->gateway, self->session, &error)
      && ADW_IS_PREFERENCES_WINDOW (root))
    adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (root),
                                      cv_ui_plain_toast_new (error->message));
}

static void
cv_gateway_session_row_remove_clicked (CvGatewaySessionRow *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  AdwMessageDialog *dialog;

  dialog = ADW_MESSAGE_DIALOG (
    adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, NULL, NULL));
  adw_message_dialog_format_heading (dialog, _ ("Remove “%s”?"),
                                     cv_embedded_session_get_id (self->session));
  adw_message_dialog_set_body (dialog, _ ("Its passwords stop working at once, and the computer "
                                          "it shares is disconnected from this gateway."));
  adw_message_dialog_add_responses (dialog, "cancel", _ ("_Cancel"), "remove", _ ("_Remove"), NULL);
  adw_message_dialog_set_response_appearance (dialog, "remove", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (dialog, "cancel");
  adw_message_dialog_set_close_response (dialog, "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (cv_gateway_session_row_remove_response),
                           self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
cv_gateway_session_row_constructed (GObject *object)
{
  CvGatewaySessionRow *self = CV_GATEWAY_SESSION_ROW (object);

  G_OBJECT_CLASS (cv_gateway_session_row_parent_class)->constructed (object);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self),
                                 cv_embedded_session_get_id (self->session));
  g_signal_connect_object (self->session, "notify::share-online",
                           G_CALLBACK (cv_gateway_session_row_update_state), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->session, "notify::n-connect-agents",
                           G_CALLBACK (cv_gateway_session_row_update_state), self,
                           G_CONNECT_SWAPPED);
  /* The command names the gateway's address, port and key, which change as it starts. */
  g_signal_connect_object (self->gateway, "notify::bound-port",
                           G_CALLBACK (cv_gateway_session_row_update_command), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->gateway, "notify::fingerprint",
                           G_CALLBACK (cv_gateway_session_row_update_command), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->gateway, "notify::listen-host",
                           G_CALLBACK (cv_gateway_session_row_update_command), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (self->gateway, "notify::listen-port",
                           G_CALLBACK (cv_gateway_session_row_update_command), self,
                           G_CONNECT_SWAPPED);
  cv_gateway_session_row_update_state (self);
  cv_gateway_session_row_update_passwords (self);
  /* A machine just added opens on what must be copied now. */
  adw_expander_row_set_expanded (ADW_EXPANDER_ROW (self),
                                 cv_embedded_session_get_share_password (self->session) != NULL);
}

static void
cv_gateway_session_row_dispose (GObject *object)
{
  CvGatewaySessionRow *self = CV_GATEWAY_SESSION_ROW (object);

  /* Now, not when this row is finalized: the reference dropped here may be the gateway's
   * last, and a handler left on a finalized gateway is a use after free. */
  if (self->gateway != NULL)
    g_signal_handlers_disconnect_by_data (self->gateway, self);
  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_clear_object (&self->gateway);
  g_clear_object (&self->session);
  g_clear_pointer (&self->command, cv_secret_free);

  G_OBJECT_CLASS (cv_gateway_session_row_parent_class)->dispose (object);
}

static void
cv_gateway_session_row_get_property (GObject *object,
                                     guint prop_id,
                                     GValue *value,
                                     GParamSpec *pspec)
{
  CvGatewaySessionRow *self = CV_GATEWAY_SESSION_ROW (object);

  switch (prop_id)
    {
    case PROP_GATEWAY:
      g_value_set_object (value, self->gateway);
      break;
    case PROP_SESSION:
      g_value_set_object (value, self->session);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_gateway_session_row_set_property (GObject *object,
                                     guint prop_id,
                                     const GValue *value,
                                     GParamSpec *pspec)
{
  CvGatewaySessionRow *self = CV_GATEWAY_SESSION_ROW (object);

  switch (prop_id)
    {
    case PROP_GATEWAY:
      self->gateway = g_value_dup_object (value);
      break;
    case PROP_SESSION:
      self->session = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_gateway_session_row_class_init (CvGatewaySessionRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = cv_gateway_session_row_constructed;
  object_class->dispose = cv_gateway_session_row_dispose;
  object_class->get_property = cv_gateway_session_row_get_property;
  object_class->set_property = cv_gateway_session_row_set_property;

  properties[PROP_GATEWAY] = g_param_spec_object ("gateway", NULL, NULL, CV_TYPE_EMBEDDED_GATEWAY,
                                                  G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY
                                                    | G_PARAM_STATIC_STRINGS);
  properties[PROP_SESSION] = g_param_spec_object ("session", NULL, NULL, CV_TYPE_EMBEDDED_SESSION,
                                                  G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY
                                                    | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_ADD_TO_MACHINES] = g_signal_new ("add-to-machines", G_TYPE_FROM_CLASS (klass),
                                                  G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                                  G_TYPE_NONE, 0);

  g_type_ensure (CV_TYPE_NOTE_ROW);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/culvert/Culvert/cv-gateway-session-row.ui");
  gtk_widget_class_bind_template_child (widget_class, CvGatewaySessionRow, state_icon);
  gtk_widget_class_bind_template_child (widget_class, CvGatewaySessionRow, remove_button);
  gtk_widget_class_bind_template_child (widget_class, CvGatewaySessionRow, passwords_note);
  gtk_widget_class_bind_template_child (widget_class, CvGatewaySessionRow, share_password_row);
  gtk_widget_class_bind_template_child (widget_class, CvGatewaySessionRow, connect_password_row);
  gtk_widget_class_bind_template_child (widget_class, CvGatewaySessionRow, command_row);
  gtk_widget_class_bind_template_child (widget_class, CvGatewaySessionRow,
                                        copy_share_password_button);
  gtk_widget_class_bind_template_child (widget_class, CvGatewaySessionRow,
                                        copy_connect_password_button);
  gtk_widget_class_bind_template_child (widget_class, CvGatewaySessionRow, copy_command_button);
  gtk_widget_class_bind_template_child (widget_class, CvGatewaySessionRow, add_to_machines_row);
  gtk_widget_class_bind_template_child (widget_class, CvGatewaySessionRow, add_to_machines_button);
  gtk_widget_class_bind_template_callback (widget_class, cv_gateway_session_row_remove_clicked);
  gtk_widget_class_bind_template_callback (widget_class,
                                           cv_gateway_session_row_copy_share_password);
  gtk_widget_class_bind_template_callback (widget_class,
                                           cv_gateway_session_row_copy_connect_password);
  gtk_widget_class_bind_template_callback (widget_class, cv_gateway_session_row_copy_command);
  gtk_widget_class_bind_template_callback (widget_class,
                                           cv_gateway_session_row_add_to_machines_clicked);
}

static void
cv_gateway_session_row_init (CvGatewaySessionRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

GtkWidget *
cv_gateway_session_row_new (CvEmbeddedGateway *gateway, CvEmbeddedSession *session)
{
  g_return_val_if_fail (CV_IS_EMBEDDED_GATEWAY (gateway), NULL);
  g_return_val_if_fail (CV_IS_EMBEDDED_SESSION (session), NULL);

  return g_object_new (CV_TYPE_GATEWAY_SESSION_ROW, "gateway", gateway, "session", session, NULL);
}

CvEmbeddedSession *
cv_gateway_session_row_get_session (CvGatewaySessionRow *self)
{
  g_return_val_if_fail (CV_IS_GATEWAY_SESSION_ROW (self), NULL);

  return self->session;
}
