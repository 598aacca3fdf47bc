/* cv-service-row.c: a machine's service in the editor, each field checked as it is typed. */
#include "cv-version.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cv-app-error.h"
#include "cv-note-row.h"
#include "cv-service-row.h"
#include "wire/cv-host-port.h"

struct _CvServiceRow {
  AdwExpanderRow parent_instance;

  CvMachineService *service;
  /* The launchers the "Open with" row lists, for the service's preset. */
  const CvLauncherKind *launchers;
  guint n_launchers;
  gboolean target_valid;
  gboolean command_valid;
  gboolean valid;
  /* Set while the row writes its own fields, so their handlers do not write back. */
  gboolean filling;

  /* template children */
  AdwComboRow *preset_row;
  AdwEntryRow *target_row;
  CvNoteRow *target_note;
  AdwActionRow *local_port_row;
  GtkSpinButton *local_port_spin;
  GtkSwitch *automatic_switch;
  AdwComboRow *launcher_row;
  CvNoteRow *launcher_note;
  AdwEntryRow *command_row;
  CvNoteRow *command_note;
  CvNoteRow *service_note;
  GtkButton *remove_button;
};

G_DEFINE_FINAL_TYPE (CvServiceRow, cv_service_row, ADW_TYPE_EXPANDER_ROW)

enum {
  PROP_0,
  PROP_SERVICE,
  PROP_VALID,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_REMOVE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* A fixed local port to offer when "Automatic" is turned off: the service's usual port
 * where an unprivileged program may listen, else the same number above 10000. */
static guint16
suggested_local_port (CvMachineService *service)
{
  guint16 port = cv_service_preset_get_default_port (cv_machine_service_get_preset (service));

  if (port == 0)
    port = cv_machine_service_get_target_port (service);
  if (port == 0)
    return 10000;
  return port >= 1024 ? port : port + 10000;
}

static char *
format_target (CvMachineService *service)
{
  const char *host = cv_machine_service_get_target_host (service);
  guint16 port = cv_machine_service_get_target_port (service);

  if (host == NULL)
    host = "";
  if (port == 0)
    return g_strdup (host);
  if (strchr (host, ':') != NULL)
    return g_strdup_printf ("[%s]:%u", host, port);
  return g_strdup_printf ("%s:%u", host, port);
}

static void
cv_service_row_update_header (CvServiceRow *self)
{
  g_autofree char *target = format_target (self->service);
  CvServicePreset preset = cv_machine_service_get_preset (self->service);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (self), cv_service_preset_get_label (preset));
  adw_expander_row_set_subtitle (ADW_EXPANDER_ROW (self), target);
}

static void
cv_service_row_update_valid (CvServiceRow *self)
{
  g_autoptr (GError) error = NULL;
  gboolean valid = self->target_valid;

  if (cv_machine_service_get_launcher (self->service) == CV_LAUNCHER_CUSTOM)
    valid = valid && self->command_valid;
  /* The model's own check, for anything the fields above do not cover; shown only when
   * they are all fine, so that one mistake is not told twice. */
  if (valid && !cv_machine_service_check (self->service, &error))
    valid = FALSE;
  cv_note_row_set_text (self->service_note, error != NULL ? error->message : NULL, "error");

  if (valid == self->valid)
    return;
  self->valid = valid;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VALID]);
}

static void
cv_service_row_check_target (CvServiceRow *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->target_row));
  g_autoptr (GError) parse_error = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *host = NULL;
  guint16 port = 0;

  self->target_valid = cv_host_port_parse (text, NULL, &host, &port, NULL, &parse_error);
  if (self->target_valid)
    {
      cv_machine_service_set_target_host (self->service, host);
      cv_machine_service_set_target_port (self->service, port);
    }
  else
    {
      /* The engine says what is wrong in a few words; the sentence says how it should
       * look. */
      error = g_error_new (CV_APP_ERROR, CV_APP_ERROR_INVALID,
                           _ ("Write the target as the shared machine sees it, an address and a "
                              "port such as 127.0.0.1:5900 (%s)."),
                           parse_error->message);
    }
  cv_note_row_show_error (self->target_note, GTK_WIDGET (self->target_row), error);
  cv_service_row_update_header (self);
}

static void
cv_service_row_check_command (CvServiceRow *self)
{
  g_autoptr (GError) error = NULL;
  gboolean custom = cv_machine_service_get_launcher (self->service) == CV_LAUNCHER_CUSTOM;

  gtk_widget_set_visible (GTK_WIDGET (self->command_row), custom);
  if (!custom)
    {
      self->command_valid = TRUE;
      cv_note_row_show_error (self->command_note, GTK_WIDGET (self->command_row), NULL);
      return;
    }
  self->command_valid =
    cv_launcher_check_template (gtk_editable_get_text (GTK_EDITABLE (self->command_row)), &error);
  cv_note_row_show_error (self->command_note, GTK_WIDGET (self->command_row), error);
}

/* Whether the chosen launcher can run here; when not, the sentence names one that can. */
static void
cv_service_row_check_launcher (CvServiceRow *self)
{
  g_autoptr (GError) error = NULL;
  CvLauncherKind kind = cv_machine_service_get_launcher (self->service);

  if (cv_launcher_is_available (kind, cv_machine_service_get_preset (self->service), &error))
    g_clear_error (&error);
  cv_note_row_set_text (self->launcher_note, error != NULL ? error->message : NULL, "warning");
}

/* The "Open with" list for the service's preset: each launcher by name, those whose
 * program is missing marked, and the service's own selected (the preset's default when
 * the list lacks it). */
static void
cv_service_row_fill_launchers (CvServiceRow *self)
{
  CvServicePreset preset = cv_machine_service_get_preset (self->service);
  CvLauncherKind current = cv_machine_service_get_launcher (self->service);
  g_autoptr (GtkStringList) labels = gtk_string_list_new (NULL);
  guint selected = GTK_INVALID_LIST_POSITION;

  self->launchers = cv_launcher_kinds_for_preset (preset, &self->n_launchers);
  for (guint i = 0; i < self->n_launchers; i++)
    {
      const char *label = cv_launcher_kind_get_label (self->launchers[i]);

      if (cv_launcher_is_available (self->launchers[i], preset, NULL))
        gtk_string_list_append (labels, label);
      else
        {
          g_autofree char *marked = g_strdup_printf (_ ("%s (not installed)"), label);
          gtk_string_list_append (labels, marked);
        }
      if (self->launchers[i] == current)
        selected = i;
    }
  if (selected == GTK_INVALID_LIST_POSITION)
    {
      current = cv_launcher_default_for_preset (preset);
      cv_machine_service_set_launcher (self->service, current);
      for (guint i = 0; i < self->n_launchers; i++)
        if (self->launchers[i] == current)
          selected = i;
    }

  self->filling = TRUE;
  adw_combo_row_set_model (self->launcher_row, G_LIST_MODEL (labels));
  adw_combo_row_set_selected (self->launcher_row, selected);
  self->filling = FALSE;
  cv_service_row_check_launcher (self);
  cv_service_row_check_command (self);
}

static void
cv_service_row_fill_local_port (CvServiceRow *self)
{
  guint16 port = cv_machine_service_get_local_port (self->service);

  self->filling = TRUE;
  gtk_switch_set_active (self->automatic_switch, port == 0);
  /* Automatic keeps the number last chosen, for when the switch is turned off again. */
  if (port != 0)
    gtk_spin_button_set_value (self->local_port_spin, port);
  gtk_widget_set_sensitive (GTK_WIDGET (self->local_port_spin), port != 0);
  adw_action_row_set_subtitle (self->local_port_row,
                               port == 0 ? _ ("Any free port on this computer")
                                         : _ ("Always the same port on this computer"));
  self->filling = FALSE;
}

static void
cv_service_row_preset_selected (CvServiceRow *self)
{
  guint selected = adw_combo_row_get_selected (self->preset_row);
  guint16 port;

  if (self->filling || selected >= CV_N_SERVICE_PRESETS
      || selected == (guint) cv_machine_service_get_preset (self->service))
    return;

  cv_machine_service_set_preset (self->service, (CvServicePreset) selected);
  /* A new kind of service is usually on its own port; custom keeps the one typed. */
  port = cv_service_preset_get_default_port ((CvServicePreset) selected);
  if (port != 0)
    {
      g_autofree char *target = NULL;

      cv_machine_service_set_target_port (self->service, port);
      if (cv_machine_service_get_target_host (self->service) == NULL)
        cv_machine_service_set_target_host (self->service, "127.0.0.1");
      target = format_target (self->service);
      /* Through the entry, so that it is checked like typing. */
      gtk_editable_set_text (GTK_EDITABLE (self->target_row), target);
    }
  cv_service_row_fill_launchers (self);
  cv_service_row_fill_local_port (self);
  cv_service_row_update_header (self);
  cv_service_row_update_valid (self);
}

static void
cv_service_row_target_changed (CvServiceRow *self)
{
  /* The template is built before the service is set. */
  if (self->service == NULL)
    return;
  cv_service_row_check_target (self);
  cv_service_row_update_valid (self);
}

static guint16
spin_port (CvServiceRow *self)
{
  return (guint16) gtk_spin_button_get_value_as_int (self->local_port_spin);
}

static void
cv_service_row_automatic_toggled (CvServiceRow *self)
{
  gboolean automatic = gtk_switch_get_active (self->automatic_switch);

  if (self->filling)
    return;
  cv_machine_service_set_local_port (self->service, automatic ? 0 : spin_port (self));
  cv_service_row_fill_local_port (self);
  cv_service_row_update_valid (self);
}

static void
cv_service_row_local_port_changed (CvServiceRow *self)
{
  if (self->filling || gtk_switch_get_active (self->automatic_switch))
    return;
  cv_machine_service_set_local_port (self->service, spin_port (self));
  cv_service_row_update_valid (self);
}

static void
cv_service_row_launcher_selected (CvServiceRow *self)
{
  guint selected = adw_combo_row_get_selected (self->launcher_row);

  if (self->filling || selected >= self->n_launchers)
    return;
  cv_machine_service_set_launcher (self->service, self->launchers[selected]);
  cv_service_row_check_launcher (self);
  cv_service_row_check_command (self);
  cv_service_row_update_valid (self);
}

static void
cv_service_row_command_changed (CvServiceRow *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->command_row));

  if (self->filling)
    return;
  cv_machine_service_set_custom_command (self->service, text[0] != '\0' ? text : NULL);
  cv_service_row_check_command (self);
  cv_service_row_update_valid (self);
}

static void
cv_service_row_remove_clicked (CvServiceRow *self)
{
  g_signal_emit (self, signals[SIGNAL_REMOVE], 0);
}

/* Every field from the service, then every check, so that a service that came in wrong
 * (an imported file) shows what to fix at once. */
static void
cv_service_row_fill (CvServiceRow *self)
{
  g_autoptr (GtkStringList) presets = gtk_string_list_new (NULL);
  g_autofree char *target = format_target (self->service);
  const char *command = cv_machine_service_get_custom_command (self->service);

  for (guint i = 0; i < CV_N_SERVICE_PRESETS; i++)
    gtk_string_list_append (presets, cv_service_preset_get_label ((CvServicePreset) i));

  self->filling = TRUE;
  adw_combo_row_set_model (self->preset_row, G_LIST_MODEL (presets));
  adw_combo_row_set_selected (self->preset_row,
                              (guint) cv_machine_service_get_preset (self->service));
  gtk_editable_set_text (GTK_EDITABLE (self->command_row), command != NULL ? command : "");
  gtk_spin_button_set_value (self->local_port_spin, suggested_local_port (self->service));
  self->filling = FALSE;

  cv_service_row_fill_local_port (self);
  cv_service_row_fill_launchers (self);
  gtk_editable_set_text (GTK_EDITABLE (self->target_row), target);
  /* set_text does not emit "changed" when the text is already the same. */
  cv_service_row_check_target (self);
  cv_service_row_update_valid (self);
}

static void
cv_service_row_constructed (GObject *object)
{
  CvServiceRow *self = CV_SERVICE_ROW (object);

  G_OBJECT_CLASS (cv_service_row_parent_class)->constructed (object);

  g_assert (self->service != NULL);
  cv_service_row_fill (self);
}

static void
cv_service_row_dispose (GObject *object)
{
  CvServiceRow *self = CV_SERVICE_ROW (object);

  g_clear_object (&self->service);

  G_OBJECT_CLASS (cv_service_row_parent_class)->dispose (object);
}

static void
cv_service_row_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvServiceRow *self = CV_SERVICE_ROW (object);

  switch (prop_id)
    {
    case PROP_SERVICE:
      g_value_set_object (value, self->service);
      break;
    case PROP_VALID:
      g_value_set_boolean (value, self->valid);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_service_row_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  CvServiceRow *self = CV_SERVICE_ROW (object);

  switch (prop_id)
    {
    case PROP_SERVICE:
      self->service = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_service_row_class_init (CvServiceRowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->constructed = cv_service_row_constructed;
  object_class->dispose = cv_service_row_dispose;
  object_class->get_property = cv_service_row_get_property;
  object_class->set_property = cv_service_row_set_property;

  properties[PROP_SERVICE] = g_param_spec_object ("service", NULL, NULL, CV_TYPE_MACHINE_SERVICE,
                                                  G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY
                                                    | G_PARAM_STATIC_STRINGS);
  properties[PROP_VALID] = g_param_spec_boolean ("valid", NULL, NULL, FALSE,
                                                 G_PARAM_READABLE | G_PARAM_STATIC_STRINGS
                                                   | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_REMOVE] = g_signal_new ("remove", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                         NULL, NULL, NULL, G_TYPE_NONE, 0);

  g_type_ensure (CV_TYPE_NOTE_ROW);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/culvert/Culvert/cv-service-row.ui");
  gtk_widget_class_bind_template_child (widget_class, CvServiceRow, preset_row);
  gtk_widget_class_bind_template_child (widget_class, CvServiceRow, target_row);
  gtk_widget_class_bind_template_child (widget_class, CvServiceRow, target_note);
  gtk_widget_class_bind_template_child (widget_class, CvServiceRow, local_port_row);
  gtk_widget_class_bind_template_child (widget_class, CvServiceRow, local_port_spin);
  gtk_widget_class_bind_template_child (widget_class, CvServiceRow, automatic_switch);
  gtk_widget_class_bind_template_child (widget_class, CvServiceRow, launcher_row);
  gtk_widget_class_bind_template_child (widget_class, CvServiceRow, launcher_note);
  gtk_widget_class_bind_template_child (widget_class, CvServiceRow, command_row);
  gtk_widget_class_bind_template_child (widget_class, CvServiceRow, command_note);
  gtk_widget_class_bind_template_child (widget_class, CvServiceRow, service_note);
  gtk_widget_class_bind_template_child (widget_class, CvServiceRow, remove_button);
  gtk_widget_class_bind_template_callback (widget_class, cv_service_row_preset_selected);
  gtk_widget_class_bind_template_callback (widget_class, cv_service_row_target_changed);
  gtk_widget_class_bind_template_callback (widget_class, cv_service_row_automatic_toggled);
  gtk_widget_class_bind_template_callback (widget_class, cv_service_row_local_port_changed);
  gtk_widget_class_bind_template_callback (widget_class, cv_service_row_launcher_selected);
  gtk_widget_class_bind_template_callback (widget_class, cv_service_row_command_changed);
  gtk_widget_class_bind_template_callback (widget_class, cv_service_row_remove_clicked);
}

static void
cv_service_row_init (CvServiceRow *self)
{
  self->filling = TRUE;
  gtk_widget_init_template (GTK_WIDGET (self));
  self->filling = FALSE;
}

GtkWidget *
cv_service_row_new (CvMachineService *service)
{
  g_return_val_if_fail (CV_IS_MACHINE_SERVICE (service), NULL);

  return g_object_new (CV_TYPE_SERVICE_ROW, "service", service, NULL);
}

CvMachineService *
cv_service_row_get_service (CvServiceRow *self)
{
  g_return_val_if_fail (CV_IS_SERVICE_ROW (self), NULL);

  return self->service;
}

gboolean
cv_service_row_get_valid (CvServiceRow *self)
{
  g_return_val_if_fail (CV_IS_SERVICE_ROW (self), FALSE);

  return self->valid;
}
