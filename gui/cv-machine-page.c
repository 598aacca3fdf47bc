/* cv-machine-page.c: the page of one saved machine, bound to its CvMachineConnection; a
 * blocking failure (a changed gateway key, a refused password) is shown on top of it with
 * the next thing to do. */
#include "cv-version.h"

#include <glib/gi18n.h>

#include "cv-app-error.h"
#include "cv-format.h"
#include "cv-ui-util.h"
#include "cv-machine-page.h"
#include "cv-service-link-row.h"
#include "wire/cv-control.h"

struct _CvMachinePage {
  AdwBin parent_instance;

  CvMachineConnection *connection;
  GSignalGroup *connection_signals;
  GSignalGroup *machine_signals;
  GSignalGroup *services_signals;

  /* template children */
  AdwWindowTitle *window_title;
  GtkWidget *failure_box;
  GtkLabel *failure_title;
  GtkLabel *failure_body;
  GtkLabel *failure_key;
  GtkButton *failure_primary;
  GtkButton *failure_secondary;
  GtkLabel *state_label;
  GtkButton *connect_button;
  GtkListBox *services_list;
  AdwActionRow *address_row;
  AdwActionRow *session_row;
  AdwActionRow *key_row;
  GtkWidget *copy_key_button;
  AdwActionRow *round_trip_row;
  GtkWidget *edit_button;
  GtkWidget *export_button;
  GtkWidget *delete_button;
};

G_DEFINE_FINAL_TYPE (CvMachinePage, cv_machine_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_CONNECTION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static CvMachine *
cv_machine_page_get_machine (CvMachinePage *self)
{
  return cv_machine_connection_get_machine (self->connection);
}

/* The target first: an action that takes the machine's id must never see none. */
static void
set_action (GtkWidget *button, const char *action, const char *machine_id)
{
  gtk_actionable_set_action_target (GTK_ACTIONABLE (button), "s", machine_id);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), action);
}

static void
set_button (GtkButton *button, const char *label, const char *action, const char *machine_id)
{
  gtk_button_set_label (button, label);
  gtk_button_set_use_underline (button, TRUE);
  set_action (GTK_WIDGET (button), action, machine_id);
}

/* Which failures are fixed in the editor rather than by trying again. */
static gboolean
is_fixed_by_editing (const GError *error)
{
  if (error->domain == CV_APP_ERROR)
    return error->code == CV_APP_ERROR_NO_PASSWORD || error->code == CV_APP_ERROR_INVALID
           || error->code == CV_APP_ERROR_KEY_CHANGED;
  if (error->domain == CV_REFUSAL_ERROR)
    return error->code == CV_REFUSAL_BAD_PASSWORD || error->code == CV_REFUSAL_UNKNOWN_SESSION;
  return FALSE;
}

static void
cv_machine_page_update_failure (CvMachinePage *self)
{
  const char *id = cv_machine_get_id (cv_machine_page_get_machine (self));
  const GError *error = cv_machine_connection_get_error (self->connection);
  const char *changed = cv_machine_connection_get_changed_fingerprint (self->connection);
  gboolean failed = cv_machine_connection_get_state (self->connection)
                    == CV_CONNECTION_STATE_FAILED;

  gtk_widget_set_visible (self->failure_box, failed);
  gtk_widget_set_visible (GTK_WIDGET (self->state_label), !failed);
  if (!failed)
    return;

  /* The error's sentence says what happened and what to do.  A changed key's names both
   * keys in full, once more than the page needs: the page says what it can mean and where
   * trust is reset, and the keys are shown once, below, in groups of four. */
  if (error != NULL && g_error_matches (error, CV_APP_ERROR, CV_APP_ERROR_KEY_CHANGED))
    {
      gtk_label_set_label (self->failure_title, _ ("The Gateway's Identity Has Changed"));
      gtk_label_set_label (self->failure_body,
                           _ ("The gateway presents another key than the one trusted for this "
                              "machine. This can mean someone is intercepting the connection, "
                              "or the gateway was reinstalled. Ask its administrator; to trust "
                              "the new key on purpose, edit the machine and forget the trusted "
                              "key."));
    }
  else
    {
      gtk_label_set_label (self->failure_title, _ ("Could Not Connect"));
      gtk_label_set_label (self->failure_body,
                           error != NULL ? error->message
                                         : _ ("The connection failed. Try again, or check the "
                                              "machine's gateway and password."));
    }

  gtk_widget_set_visible (GTK_WIDGET (self->failure_key), changed != NULL);
  if (changed != NULL)
    {
      const char *trusted = cv_machine_get_fingerprint (cv_machine_page_get_machine (self));
      g_autofree char *grouped_trusted = cv_ui_format_fingerprint (trusted, 8);
      g_autofree char *grouped_changed = cv_ui_format_fingerprint (changed, 8);
      g_autofree char *text = NULL;

      /* Translators: the two SHA-256 keys, each in groups of four on two lines. */
      text = trusted != NULL ? g_strdup_printf (_ ("Trusted key:\n%s\n\nKey it presents now:\n%s"),
                                                grouped_trusted, grouped_changed)
                             : g_strdup_printf (_ ("Key it presents now:\n%s"), grouped_changed);
      gtk_label_set_label (self->failure_key, text);
    }

  if (error != NULL && g_error_matches (error, CV_APP_ERROR, CV_APP_ERROR_KEY_CHANGED))
    {
      set_button (self->failure_primary, _ ("_Edit Machine"), "win.edit-machine", id);
      gtk_widget_set_visible (GTK_WIDGET (self->failure_secondary), FALSE);
    }
  else if (error != NULL && is_fixed_by_editing (error))
    {
      set_button (self->failure_primary, _ ("_Edit Machine"), "win.edit-machine", id);
      set_button (self->failure_secondary, _ ("_Try Again"), "win.connect-machine", id);
      gtk_widget_set_visible (GTK_WIDGET (self->failure_secondary), TRUE);
    }
  else
    {
      set_button (self->failure_primary, _ ("_Try Again"), "win.connect-machine", id);
      set_button (self->failure_secondary, _ ("_Edit Machine"), "win.edit-machine", id);
      gtk_widget_set_visible (GTK_WIDGET (self->failure_secondary), TRUE);
    }
}

/* The row's sentence ("connected · 2 connections") as the page's heading: a capital first. */
static void
cv_machine_page_set_state_text (CvMachinePage *self, const char *status)
{
  g_autofree char *first = NULL;
  g_autofree char *text = NULL;
  const char *rest;

  if (status == NULL || *status == '\0')
    {
      gtk_label_set_label (self->state_label, "");
      return;
    }
  rest = g_utf8_next_char (status);
  first = g_utf8_strup (status, rest - status);
  text = g_strconcat (first, rest, NULL);
  gtk_label_set_label (self->state_label, text);
}

static void
cv_machine_page_update_state (CvMachinePage *self)
{
  CvMachine *machine = cv_machine_page_get_machine (self);
  CvConnectionState state = cv_machine_connection_get_state (self->connection);
  gint64 round_trip = cv_machine_connection_get_round_trip_us (self->connection);
  g_autofree char *description = NULL;
  const char *label;
  const char *action;

  cv_machine_page_set_state_text (self, cv_machine_connection_get_status (self->connection));
  action = cv_format_state_action (state, cv_machine_get_name (machine), &label, &description);
  set_button (self->connect_button, label, action, cv_machine_get_id (machine));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->connect_button), description);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->connect_button),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, description, -1);
  /* Connect is what this page is for; stopping is not to be invited in the same colour. */
  if (g_str_equal (action, "win.connect-machine"))
    gtk_widget_add_css_class (GTK_WIDGET (self->connect_button), "suggested-action");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->connect_button), "suggested-action");
  /* In a failure its own buttons say what to do. */
  gtk_widget_set_visible (GTK_WIDGET (self->connect_button), state != CV_CONNECTION_STATE_FAILED);

  gtk_widget_set_visible (GTK_WIDGET (self->round_trip_row), round_trip >= 0);
  if (round_trip >= 0)
    {
      g_autofree char *words = cv_format_round_trip (round_trip);

      adw_action_row_set_subtitle (self->round_trip_row, words);
    }

  cv_machine_page_update_failure (self);
}

static void
cv_machine_page_update_machine (CvMachinePage *self)
{
  CvMachine *machine = cv_machine_page_get_machine (self);
  const char *fingerprint = cv_machine_get_fingerprint (machine);
  g_autofree char *gateway = cv_machine_dup_gateway (machine);
  const char *id = cv_machine_get_id (machine);

  adw_window_title_set_title (self->window_title, cv_machine_get_name (machine));
  adw_action_row_set_subtitle (self->address_row, gateway);
  adw_action_row_set_subtitle (self->session_row, cv_machine_get_session (machine));
  if (fingerprint != NULL)
    {
      g_autofree char *grouped = cv_ui_format_fingerprint (fingerprint, 8);
      g_autofree char *markup = g_markup_printf_escaped ("<tt>%s</tt>", grouped);

      adw_action_row_set_subtitle (self->key_row, markup);
    }
  else
    adw_action_row_set_subtitle (self->key_row, _ ("None yet: you are asked to compare it on the "
                                                   "first connection."));
  gtk_widget_set_visible (self->copy_key_button, fingerprint != NULL);

  set_action (self->edit_button, "win.edit-machine", id);
  set_action (self->export_button, "win.export-machine", id);
  set_action (self->delete_button, "win.delete-machine", id);
}

static GtkWidget *
create_service_row (gpointer item, gpointer user_data)
{
  CvMachinePage *self = user_data;
  GListModel *services = cv_machine_connection_get_services (self->connection);
  guint position = 0;

  while (position < g_list_model_get_n_items (services))
    {
      g_autoptr (GObject) other = g_list_model_get_item (services, position);

      if (other == item)
        break;
      position++;
    }
  return GTK_WIDGET (
    cv_service_link_row_new (item, cv_machine_get_id (cv_machine_page_get_machine (self)),
                             position));
}

static void
cv_machine_page_bind_services (CvMachinePage *self)
{
  GListModel *services = NULL;

  if (self->connection != NULL)
    services = cv_machine_connection_get_services (self->connection);
  /* Every row again: each knows its position, which a change before it moves. */
  gtk_list_box_bind_model (self->services_list, NULL, NULL, NULL, NULL);
  if (services != NULL)
    gtk_list_box_bind_model (self->services_list, services, create_service_row, self, NULL);
}

static void
on_copy_key (CvMachinePage *self)
{
  const char *fingerprint;

  if (self->connection == NULL)
    return;
  fingerprint = cv_machine_get_fingerprint (cv_machine_page_get_machine (self));
  if (fingerprint != NULL)
    cv_ui_copy_text (GTK_WIDGET (self), fingerprint);
}

static void
cv_machine_page_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvMachinePage *self = CV_MACHINE_PAGE (object);

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
cv_machine_page_set_property (GObject *object,
                              guint prop_id,
                              const GValue *value,
                              GParamSpec *pspec)
{
  CvMachinePage *self = CV_MACHINE_PAGE (object);

  switch (prop_id)
    {
    case PROP_CONNECTION:
      cv_machine_page_set_connection (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_machine_page_dispose (GObject *object)
{
  CvMachinePage *self = CV_MACHINE_PAGE (object);

  if (self->services_list != NULL)
    gtk_list_box_bind_model (self->services_list, NULL, NULL, NULL, NULL);
  g_clear_object (&self->connection_signals);
  g_clear_object (&self->machine_signals);
  g_clear_object (&self->services_signals);
  g_clear_object (&self->connection);
  gtk_widget_dispose_template (GTK_WIDGET (self), CV_TYPE_MACHINE_PAGE);

  G_OBJECT_CLASS (cv_machine_page_parent_class)->dispose (object);
}

static void
cv_machine_page_class_init (CvMachinePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = cv_machine_page_get_property;
  object_class->set_property = cv_machine_page_set_property;
  object_class->dispose = cv_machine_page_dispose;

  properties[PROP_CONNECTION] = g_param_spec_object ("connection", NULL, NULL,
                                                     CV_TYPE_MACHINE_CONNECTION,
                                                     G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS
                                                       | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/culvert/Culvert/cv-machine-page.ui");
  gtk_widget_class_bind_template_child (widget_class, CvMachinePage, window_title);
  gtk_widget_class_bind_template_child (widget_class, CvMachinePage, failure_box);
  gtk_widget_class_bind_template_child (widget_class, CvMachinePage, failure_title);
  gtk_widget_class_bind_template_child (widget_class, CvMachinePage, failure_body);
  gtk_widget_class_bind_template_child (widget_class, CvMachinePage, failure_key);
  gtk_widget_class_bind_template_child (widget_class, CvMachinePage, failure_primary);
  gtk_widget_class_bind_template_child (widget_class, CvMachinePage, failure_secondary);
  gtk_widget_class_bind_template_child (widget_class, CvMachinePage, state_label);
  gtk_widget_class_bind_template_child (widget_class, CvMachinePage, connect_button);
  gtk_widget_class_bind_template_child (widget_class, CvMachinePage, services_list);
  gtk_widget_class_bind_template_child (widget_class, CvMachinePage, address_row);
  gtk_widget_class_bind_template_child (widget_class, CvMachinePage, session_row);
  gtk_widget_class_bind_template_child (widget_class, CvMachinePage, key_row);
  gtk_widget_class_bind_template_child (widget_class, CvMachinePage, copy_key_button);
  gtk_widget_class_bind_template_child (widget_class, CvMachinePage, round_trip_row);
  gtk_widget_class_bind_template_child (widget_class, CvMachinePage, edit_button);
  gtk_widget_class_bind_template_child (widget_class, CvMachinePage, export_button);
  gtk_widget_class_bind_template_child (widget_class, CvMachinePage, delete_button);
}

static void
cv_machine_page_init (CvMachinePage *self)
{
  static const char *const connection_properties[] = { "notify::state", "notify::status",
                                                       "notify::error", "notify::round-trip-us" };
  static const char *const machine_properties[] = { "notify::name",
                                                    "notify::gateway-host",
                                                    "notify::gateway-port",
                                                    "notify::gateway-web-path",
                                                    "notify::gateway-web-tls",
                                                    "notify::session",
                                                    "notify::fingerprint" };

  gtk_widget_init_template (GTK_WIDGET (self));

  self->connection_signals = g_signal_group_new (CV_TYPE_MACHINE_CONNECTION);
  for (guint i = 0; i < G_N_ELEMENTS (connection_properties); i++)
    g_signal_group_connect_swapped (self->connection_signals, connection_properties[i],
                                    G_CALLBACK (cv_machine_page_update_state), self);
  self->machine_signals = g_signal_group_new (CV_TYPE_MACHINE);
  for (guint i = 0; i < G_N_ELEMENTS (machine_properties); i++)
    g_signal_group_connect_swapped (self->machine_signals, machine_properties[i],
                                    G_CALLBACK (cv_machine_page_update_machine), self);
  /* The name is in the state's sentences and the buttons' words too. */
  g_signal_group_connect_swapped (self->machine_signals, "notify::name",
                                  G_CALLBACK (cv_machine_page_update_state), self);
  self->services_signals = g_signal_group_new (G_TYPE_LIST_MODEL);
  g_signal_group_connect_swapped (self->services_signals, "items-changed",
                                  G_CALLBACK (cv_machine_page_bind_services), self);

  g_signal_connect_swapped (self->copy_key_button, "clicked", G_CALLBACK (on_copy_key), self);
}

CvMachinePage *
cv_machine_page_new (void)
{
  return g_object_new (CV_TYPE_MACHINE_PAGE, NULL);
}

CvMachineConnection *
cv_machine_page_get_connection (CvMachinePage *self)
{
  g_return_val_if_fail (CV_IS_MACHINE_PAGE (self), NULL);

  return self->connection;
}

void
cv_machine_page_set_connection (CvMachinePage *self, CvMachineConnection *connection)
{
  g_return_if_fail (CV_IS_MACHINE_PAGE (self));
  g_return_if_fail (connection == NULL || CV_IS_MACHINE_CONNECTION (connection));

  if (!g_set_object (&self->connection, connection))
    return;

  g_signal_group_set_target (self->connection_signals, connection);
  g_signal_group_set_target (self->machine_signals,
                             connection != NULL ? cv_machine_connection_get_machine (connection)
                                                : NULL);
  g_signal_group_set_target (self->services_signals,
                             connection != NULL ? cv_machine_connection_get_services (connection)
                                                : NULL);
  cv_machine_page_bind_services (self);
  if (connection != NULL)
    {
      cv_machine_page_update_machine (self);
      cv_machine_page_update_state (self);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONNECTION]);
}
