/* cv-machine-row.c: a saved machine's row — a dot for its presence (a spinner while it
 * connects), its gateway and live state in words, and the button for what to do next. */
#include "cv-version.h"

#include <glib/gi18n.h>

#include "cv-format.h"
#include "cv-machine-row.h"

struct _CvMachineRow {
  AdwActionRow parent_instance;

  CvMachineConnection *connection;

  /* template children */
  GtkStack *state_stack;
  GtkWidget *presence_dot;
  GtkSpinner *spinner;
  GtkButton *action_button;
};

G_DEFINE_FINAL_TYPE (CvMachineRow, cv_machine_row, ADW_TYPE_ACTION_ROW)

enum {
  PROP_0,
  PROP_CONNECTION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
cv_machine_row_update_prefix (CvMachineRow *self)
{
  CvConnectionState state = cv_machine_connection_get_state (self->connection);
  const char *presence_class;
  const char *presence_words;
  gboolean busy = state == CV_CONNECTION_STATE_PREPARING || state == CV_CONNECTION_STATE_CONNECTING
                  || state == CV_CONNECTION_STATE_RECONNECTING;

  switch (cv_machine_connection_get_presence (self->connection))
    {
    case CV_PRESENCE_ONLINE:
      presence_class = "online";
      presence_words = _ ("Online");
      break;
    case CV_PRESENCE_OFFLINE:
      presence_class = "offline";
      presence_words = _ ("Offline");
      break;
    case CV_PRESENCE_UNKNOWN:
    default:
      presence_class = "unknown";
      presence_words = _ ("Not known whether it is online");
      break;
    }
  gtk_widget_set_css_classes (self->presence_dot,
                              (const char *[]){ "presence-dot", presence_class, NULL });
  gtk_widget_set_tooltip_text (self->presence_dot, presence_words);

  /* A spinner that is not shown must not spin: it would keep the frame clock busy. */
  gtk_spinner_set_spinning (self->spinner, busy);
  if (busy)
    gtk_stack_set_visible_child_name (self->state_stack, "spinner");
  else if (state == CV_CONNECTION_STATE_FAILED)
    gtk_stack_set_visible_child_name (self->state_stack, "failed");
  else
    gtk_stack_set_visible_child_name (self->state_stack, "dot");
}

static void
cv_machine_row_update_text (CvMachineRow *self)
{
  CvMachine *machine = cv_machine_connection_get_machine (self->connection);
  const char *status = cv_machine_connection_get_status (self->connection);
  g_autofree char *gateway = NULL;
  g_autofree char *last_used = NULL;
  g_autofree char *subtitle = NULL;
  GString *state_line = g_string_new (status);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self), cv_machine_get_name (machine));

  /* The port only when it is not the usual one: the name is what people recognise.  A
   * URL stays whole (it leaves out the scheme's port itself). */
  if (cv_machine_get_gateway_port (machine) == CV_MACHINE_DEFAULT_GATEWAY_PORT
      && cv_machine_get_gateway_web_path (machine) == NULL)
    gateway = g_strdup (cv_machine_get_gateway_host (machine));
  else
    gateway = cv_machine_dup_gateway (machine);

  if (cv_machine_connection_get_state (self->connection) == CV_CONNECTION_STATE_IDLE)
    last_used = cv_format_last_used (cv_machine_get_last_used (machine),
                                     g_get_real_time () / G_USEC_PER_SEC);
  if (last_used != NULL)
    {
      if (state_line->len > 0)
        g_string_append (state_line, " · ");
      g_string_append (state_line, last_used);
    }

  /* Translators: a machine's gateway and its session there. */
  subtitle = g_strdup_printf (_ ("%s · %s"), gateway, cv_machine_get_session (machine));
  if (state_line->len > 0)
    {
      char *both = g_strconcat (subtitle, "\n", state_line->str, NULL);

      g_free (subtitle);
      subtitle = both;
    }
  g_string_free (state_line, TRUE);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (self), subtitle);
}

static void
cv_machine_row_update_button (CvMachineRow *self)
{
  CvMachine *machine = cv_machine_connection_get_machine (self->connection);
  g_autofree char *description = NULL;
  const char *label;
  const char *action;

  action = cv_format_state_action (cv_machine_connection_get_state (self->connection),
                                   cv_machine_get_name (machine), &label, &description);
  gtk_button_set_label (self->action_button, label);
  /* The target first: the action takes the machine's id and must never see none. */
  gtk_actionable_set_action_target (GTK_ACTIONABLE (self->action_button), "s",
                                    cv_machine_get_id (machine));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (self->action_button), action);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->action_button), description);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->action_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, description, -1);
}

static void
cv_machine_row_update (CvMachineRow *self)
{
  cv_machine_row_update_prefix (self);
  cv_machine_row_update_text (self);
  cv_machine_row_update_button (self);
}

/* Enter on the row connects; a click (or Space) opens the machine's page. */
static gboolean
cv_machine_row_enter (GtkWidget *widget, GVariant *args, gpointer user_data)
{
  CvMachineRow *self = CV_MACHINE_ROW (widget);
  CvMachine *machine = cv_machine_connection_get_machine (self->connection);
  CvConnectionState state = cv_machine_connection_get_state (self->connection);
  const char *action = state == CV_CONNECTION_STATE_IDLE || state == CV_CONNECTION_STATE_FAILED
                         ? "win.connect-machine"
                         : "win.open-machine";

  return gtk_widget_activate_action (widget, action, "s", cv_machine_get_id (machine));
}

static void
cv_machine_row_constructed (GObject *object)
{
  CvMachineRow *self = CV_MACHINE_ROW (object);
  CvMachine *machine = cv_machine_connection_get_machine (self->connection);
  static const char *const connection_properties[] = { "notify::state", "notify::presence",
                                                       "notify::status" };
  static const char *const machine_properties[] = { "notify::name",
                                                    "notify::gateway-host",
                                                    "notify::gateway-port",
                                                    "notify::gateway-web-path",
                                                    "notify::gateway-web-tls",
                                                    "notify::session",
                                                    "notify::last-used" };

  G_OBJECT_CLASS (cv_machine_row_parent_class)->constructed (object);

  for (guint i = 0; i < G_N_ELEMENTS (connection_properties); i++)
    g_signal_connect_object (self->connection, connection_properties[i],
                             G_CALLBACK (cv_machine_row_update), self, G_CONNECT_SWAPPED);
  for (guint i = 0; i < G_N_ELEMENTS (machine_properties); i++)
    g_signal_connect_object (machine, machine_properties[i], G_CALLBACK (cv_machine_row_update),
                             self, G_CONNECT_SWAPPED);
  cv_machine_row_update (self);
}

static void
cv_machine_row_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  CvMachineRow *self = CV_MACHINE_ROW (object);

  switch (prop_id)
    {
    case PROP_CONNECTION:
      self->connection = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_machine_row_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvMachineRow *self = CV_MACHINE_ROW (object);

  switch (prop_id)
    {
    case PROP_CONNECTION:
      g_value_set_object (value, self->connection);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_machine_row_dispose (GObject *object)
{
  CvMachineRow *self = CV_MACHINE_ROW (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), CV_TYPE_MACHINE_ROW);
  /* Before the reference goes, which may be the connection's last. */
  if (self->connection != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->connection, self);
      g_signal_handlers_disconnect_by_data (cv_machine_connection_get_machine (self->connection),
                                            self);
    }
  g_clear_object (&self->connection);

  G_OBJECT_CLASS (cv_machine_row_parent_class)->dispose (object);
}

static void
cv_machine_row_class_init (CvMachineRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  static const guint enter_keys[] = { GDK_KEY_Return, GDK_KEY_ISO_Enter, GDK_KEY_KP_Enter };

  object_class->constructed = cv_machine_row_constructed;
  object_class->set_property = cv_machine_row_set_property;
  object_class->get_property = cv_machine_row_get_property;
  object_class->dispose = cv_machine_row_dispose;

  properties[PROP_CONNECTION] = g_param_spec_object ("connection", NULL, NULL,
                                                     CV_TYPE_MACHINE_CONNECTION,
                                                     G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY
                                                       | G_PARAM_STATIC_STRINGS
                                                       | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/culvert/Culvert/cv-machine-row.ui");
  gtk_widget_class_bind_template_child (widget_class, CvMachineRow, state_stack);
  gtk_widget_class_bind_template_child (widget_class, CvMachineRow, presence_dot);
  gtk_widget_class_bind_template_child (widget_class, CvMachineRow, spinner);
  gtk_widget_class_bind_template_child (widget_class, CvMachineRow, action_button);

  for (guint i = 0; i < G_N_ELEMENTS (enter_keys); i++)
    gtk_widget_class_add_binding (widget_class, enter_keys[i], 0, cv_machine_row_enter, NULL);
}

static void
cv_machine_row_init (CvMachineRow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

CvMachineRow *
cv_machine_row_new (CvMachineConnection *connection)
{
  g_return_val_if_fail (CV_IS_MACHINE_CONNECTION (connection), NULL);

  return g_object_new (CV_TYPE_MACHINE_ROW, "connection", connection, NULL);
}

CvMachineConnection *
cv_machine_row_get_connection (CvMachineRow *self)
{
  g_return_val_if_fail (CV_IS_MACHINE_ROW (self), NULL);

  return self->connection;
}
