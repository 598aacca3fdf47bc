/* cv-service-link.c: one service of a machine while it is connected — it follows the
 * engine's CvMapping behind it (its notifications, on the app's main context) and says
 * its state in words for the service's row. */
#include "cv-service-link.h"

#include "cv-app-error.h"

#include <glib/gi18n.h>
#ifdef G_OS_UNIX
#include <signal.h>
#endif

struct _CvServiceLink {
  GObject parent_instance;

  CvMachineService *service;
  CvMapping *mapping;
  gboolean fell_back;
  guint16 port;
  gboolean listening;
  guint n_channels;
  guint64 bytes_in;
  guint64 bytes_out;
  GError *own_error; /* set by the machine connection; wins over the mapping's */
  GError *error;
  char *status;
  GPtrArray *launched; /* GSubprocess: what launch () started and is still running */
};

enum {
  PROP_0,
  PROP_SERVICE,
  PROP_MAPPING,
  PROP_PORT,
  PROP_LISTENING,
  PROP_FELL_BACK,
  PROP_N_CHANNELS,
  PROP_BYTES_IN,
  PROP_BYTES_OUT,
  PROP_ERROR,
  PROP_STATUS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (CvServiceLink, cv_service_link, G_TYPE_OBJECT)

static void
cv_service_link_dispose (GObject *object)
{
  CvServiceLink *self = CV_SERVICE_LINK (object);

  if (self->mapping != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->mapping, self);
      g_clear_object (&self->mapping);
    }
  G_OBJECT_CLASS (cv_service_link_parent_class)->dispose (object);
}

static void
cv_service_link_finalize (GObject *object)
{
  CvServiceLink *self = CV_SERVICE_LINK (object);

  g_clear_object (&self->service);
  g_clear_pointer (&self->launched, g_ptr_array_unref);
  g_clear_error (&self->own_error);
  g_clear_error (&self->error);
  g_free (self->status);
  G_OBJECT_CLASS (cv_service_link_parent_class)->finalize (object);
}

static void
cv_service_link_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvServiceLink *self = CV_SERVICE_LINK (object);

  switch (prop_id)
    {
    case PROP_SERVICE:
      g_value_set_object (value, self->service);
      break;
    case PROP_MAPPING:
      g_value_set_object (value, self->mapping);
      break;
    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;
    case PROP_LISTENING:
      g_value_set_boolean (value, self->listening);
      break;
    case PROP_FELL_BACK:
      g_value_set_boolean (value, self->fell_back);
      break;
    case PROP_N_CHANNELS:
      g_value_set_uint (value, self->n_channels);
      break;
    case PROP_BYTES_IN:
      g_value_set_uint64 (value, self->bytes_in);
      break;
    case PROP_BYTES_OUT:
      g_value_set_uint64 (value, self->bytes_out);
      break;
    case PROP_ERROR:
      g_value_set_boxed (value, self->error);
      break;
    case PROP_STATUS:
      g_value_set_string (value, self->status);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_service_link_class_init (CvServiceLinkClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->dispose = cv_service_link_dispose;
  object_class->finalize = cv_service_link_finalize;
  object_class->get_property = cv_service_link_get_property;

  properties[PROP_SERVICE] = g_param_spec_object ("service", NULL, NULL, CV_TYPE_MACHINE_SERVICE,
                                                  flags);
  properties[PROP_MAPPING] = g_param_spec_object ("mapping", NULL, NULL, CV_TYPE_MAPPING, flags);
  properties[PROP_PORT] = g_param_spec_uint ("port", NULL, NULL, 0, G_MAXUINT16, 0, flags);
  properties[PROP_LISTENING] = g_param_spec_boolean ("listening", NULL, NULL, FALSE, flags);
  properties[PROP_FELL_BACK] = g_param_spec_boolean ("fell-back", NULL, NULL, FALSE, flags);
  properties[PROP_N_CHANNELS] = g_param_spec_uint ("n-channels", NULL, NULL, 0, G_MAXUINT, 0,
                                                   flags);
  properties[PROP_BYTES_IN] = g_param_spec_uint64 ("bytes-in", NULL, NULL, 0, G_MAXUINT64, 0,
                                                   flags);
  properties[PROP_BYTES_OUT] = g_param_spec_uint64 ("bytes-out", NULL, NULL, 0, G_MAXUINT64, 0,
                                                    flags);
  properties[PROP_ERROR] = g_param_spec_boxed ("error", NULL, NULL, G_TYPE_ERROR, flags);
  properties[PROP_STATUS] = g_param_spec_string ("status", NULL, NULL, NULL, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cv_service_link_init (CvServiceLink *self)
{
}

/* ---- words -------------------------------------------------------------- */

/* Why it does not listen, or why its last connection failed, in a few words. */
static char *
describe_reason (CvServiceLink *self)
{
  if (g_error_matches (self->error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
    return g_strdup_printf (_ ("port %u is taken by another program"),
                            cv_machine_service_get_local_port (self->service));
  return g_strdup (self->error->message);
}

static char *
build_status (CvServiceLink *self)
{
  g_autoptr (GString) text = g_string_new (NULL);
  g_autofree char *reason = NULL;

  if (!self->listening)
    {
      if (self->error == NULL)
        return g_strdup (self->mapping == NULL ? _ ("not connected") : _ ("not listening"));
      reason = describe_reason (self);
      return g_strdup_printf (_ ("not listening: %s"), reason);
    }

  if (self->fell_back)
    g_string_append_printf (text, _ ("the saved port %u was taken, using %u instead"),
                            cv_machine_service_get_local_port (self->service), self->port);
  else
    g_string_append_printf (text, _ ("listening on localhost:%u"), self->port);
  if (self->n_channels > 0)
    {
      g_string_append (text, " · ");
      g_string_append_printf (text,
                              g_dngettext (GETTEXT_PACKAGE, "%u connection", "%u connections",
                                           self->n_channels),
                              self->n_channels);
    }
  if (self->bytes_in > 0 || self->bytes_out > 0)
    {
      g_autofree char *in = g_format_size (self->bytes_in);
      g_autofree char *out = g_format_size (self->bytes_out);

      g_string_append (text, " · ");
      /* Translators: ↓ from the machine, ↑ to it, e.g. "↓ 1.2 MB ↑ 40 kB". */
      g_string_append_printf (text, _ ("↓ %s ↑ %s"), in, out);
    }
  if (self->error != NULL)
    {
      reason = describe_reason (self);
      g_string_append (text, " · ");
      g_string_append_printf (text, _ ("the last connection failed: %s"), reason);
    }
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* ---- following the mapping ---------------------------------------------- */

static gboolean
errors_equal (const GError *a, const GError *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return a->domain == b->domain && a->code == b->code && g_strcmp0 (a->message, b->message) == 0;
}

#define UPDATE(field, value, prop)                                                                 \
  G_STMT_START                                                                                     \
  {                                                                                                \
    if (self->field != (value))                                                                    \
      {                                                                                            \
        self->field = (value);                                                                     \
        g_ptr_array_add (changed, properties[prop]);                                               \
      }                                                                                            \
  }                                                                                                \
  G_STMT_END

/* Takes every value from the mapping (or none) and notifies what changed, the status last. */
static void
update (CvServiceLink *self)
{
  g_autoptr (GPtrArray) changed = g_ptr_array_new ();
  CvMapping *mapping = self->mapping;
  const GError *error = self->own_error;
  gboolean listening = mapping != NULL && cv_mapping_get_listening (mapping);
  g_autofree char *status = NULL;

  if (error == NULL && mapping != NULL)
    error = cv_mapping_get_error (mapping);

  UPDATE (listening, listening, PROP_LISTENING);
  UPDATE (port, listening ? cv_mapping_get_bound_port (mapping) : 0, PROP_PORT);
  UPDATE (n_channels, mapping != NULL ? cv_mapping_get_n_channels (mapping) : 0, PROP_N_CHANNELS);
  /* The counts of the last connection stay until the next one starts. */
  if (mapping != NULL)
    {
      UPDATE (bytes_in, cv_mapping_get_bytes_in (mapping), PROP_BYTES_IN);
      UPDATE (bytes_out, cv_mapping_get_bytes_out (mapping), PROP_BYTES_OUT);
    }
  if (!errors_equal (self->error, error))
    {
      g_clear_error (&self->error);
      self->error = error != NULL ? g_error_copy (error) : NULL;
      g_ptr_array_add (changed, properties[PROP_ERROR]);
    }
  status = build_status (self);
  if (g_strcmp0 (status, self->status) != 0)
    {
      g_free (self->status);
      self->status = g_steal_pointer (&status);
      g_ptr_array_add (changed, properties[PROP_STATUS]);
    }

  g_object_freeze_notify (G_OBJECT (self));
  for (guint i = 0; i < changed->len; i++)
    g_object_notify_by_pspec (G_OBJECT (self), changed->pdata[i]);
  g_object_thaw_notify (G_OBJECT (self));
}

#undef UPDATE

static void
on_mapping_notify (CvMapping *mapping, GParamSpec *pspec, CvServiceLink *self)
{
  update (self);
}

static void
on_service_notify (CvMachineService *service, GParamSpec *pspec, CvServiceLink *self)
{
  update (self);
}

/* ---- public ------------------------------------------------------------- */

CvServiceLink *
cv_service_link_new (CvMachineService *service)
{
  CvServiceLink *self;

  g_return_val_if_fail (CV_IS_MACHINE_SERVICE (service), NULL);

  self = g_object_new (CV_TYPE_SERVICE_LINK, NULL);
  self->service = g_object_ref (service);
  /* The saved port is part of the words. */
  g_signal_connect_object (service, "notify::local-port", G_CALLBACK (on_service_notify), self, 0);
  self->status = build_status (self);
  return self;
}

/* Disconnected: the viewers this link opened would only show a connection error now (and
 * TigerVNC's, for one, would offer to reconnect to a port that is closed), so they end
 * with it. */
static void
cv_service_link_end_launched (CvServiceLink *self)
{
  g_autoptr (GPtrArray) launched = g_steal_pointer (&self->launched);

  for (guint i = 0; launched != NULL && i < launched->len; i++)
    {
      GSubprocess *subprocess = launched->pdata[i];

      if (g_subprocess_get_identifier (subprocess) == NULL)
        continue;
#ifdef G_OS_UNIX
      g_subprocess_send_signal (subprocess, SIGTERM);
#else
      g_subprocess_force_exit (subprocess);
#endif
    }
}

static void
on_launched_exited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (CvServiceLink) self = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  if (self->launched != NULL)
    g_ptr_array_remove (self->launched, source);
}

/**
 * cv_service_link_set_mapping:
 * @mapping: (nullable): the engine's mapping for the service, or NULL when disconnected
 * @fell_back: the saved local port was taken and @mapping listens on another
 *
 * The counts start again with a new mapping; the last ones stay when it is cleared.
 */
void
cv_service_link_set_mapping (CvServiceLink *self, CvMapping *mapping, gboolean fell_back)
{
  g_return_if_fail (CV_IS_SERVICE_LINK (self));
  g_return_if_fail (mapping == NULL || CV_IS_MAPPING (mapping));

  fell_back = mapping != NULL && fell_back;
  if (self->mapping != NULL && mapping == NULL)
    cv_service_link_end_launched (self);
  if (self->mapping != mapping)
    {
      if (self->mapping != NULL)
        g_signal_handlers_disconnect_by_data (self->mapping, self);
      g_set_object (&self->mapping, mapping);
      if (mapping != NULL)
        g_signal_connect (mapping, "notify", G_CALLBACK (on_mapping_notify), self);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAPPING]);
    }
  if (self->fell_back != fell_back)
    {
      self->fell_back = fell_back;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FELL_BACK]);
    }
  if (mapping != NULL)
    g_clear_error (&self->own_error);
  update (self);
}

/* @error: (nullable): why the service is not there, from the machine connection; NULL
 * to follow the mapping's own again. */
void
cv_service_link_set_error (CvServiceLink *self, const GError *error)
{
  g_return_if_fail (CV_IS_SERVICE_LINK (self));

  g_clear_error (&self->own_error);
  if (error != NULL)
    self->own_error = g_error_copy (error);
  update (self);
}

CvMachineService *
cv_service_link_get_service (CvServiceLink *self)
{
  g_return_val_if_fail (CV_IS_SERVICE_LINK (self), NULL);
  return self->service;
}

CvMapping *
cv_service_link_get_mapping (CvServiceLink *self)
{
  g_return_val_if_fail (CV_IS_SERVICE_LINK (self), NULL);
  return self->mapping;
}

guint16
cv_service_link_get_port (CvServiceLink *self)
{
  g_return_val_if_fail (CV_IS_SERVICE_LINK (self), 0);
  return self->port;
}

gboolean
cv_service_link_get_listening (CvServiceLink *self)
{
  g_return_val_if_fail (CV_IS_SERVICE_LINK (self), FALSE);
  return self->listening;
}

gboolean
cv_service_link_get_fell_back (CvServiceLink *self)
{
  g_return_val_if_fail (CV_IS_SERVICE_LINK (self), FALSE);
  return self->fell_back;
}

guint
cv_service_link_get_n_channels (CvServiceLink *self)
{
  g_return_val_if_fail (CV_IS_SERVICE_LINK (self), 0);
  return self->n_channels;
}

guint64
cv_service_link_get_bytes_in (CvServiceLink *self)
{
  g_return_val_if_fail (CV_IS_SERVICE_LINK (self), 0);
  return self->bytes_in;
}

guint64
cv_service_link_get_bytes_out (CvServiceLink *self)
{
  g_return_val_if_fail (CV_IS_SERVICE_LINK (self), 0);
  return self->bytes_out;
}

const GError *
cv_service_link_get_error (CvServiceLink *self)
{
  g_return_val_if_fail (CV_IS_SERVICE_LINK (self), NULL);
  return self->error;
}

const char *
cv_service_link_get_status (CvServiceLink *self)
{
  g_return_val_if_fail (CV_IS_SERVICE_LINK (self), NULL);
  return self->status;
}

/**
 * cv_service_link_launch:
 *
 * Opens the service with its launcher on 127.0.0.1 and the port it listens on.  A program
 * it starts (not a URI handed to another application) is ended when the service stops
 * listening for good (disconnected: the mapping cleared).
 *
 * Returns: FALSE with a sentence when it does not listen, or the launcher failed
 */
gboolean
cv_service_link_launch (CvServiceLink *self, GAppLaunchContext *launch_context, GError **error)
{
  g_autoptr (GSubprocess) started = NULL;

  g_return_val_if_fail (CV_IS_SERVICE_LINK (self), FALSE);

  if (!self->listening)
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_FAILED,
                   _ ("%s is not reachable here yet. Connect to the machine first."),
                   cv_service_preset_get_label (cv_machine_service_get_preset (self->service)));
      return FALSE;
    }
  if (!cv_launcher_launch_full (cv_machine_service_get_launcher (self->service),
                                cv_machine_service_get_preset (self->service),
                                cv_machine_service_get_custom_command (self->service), "127.0.0.1",
                                self->port, launch_context, &started, error))
    return FALSE;
  if (started != NULL)
    {
      if (self->launched == NULL)
        self->launched = g_ptr_array_new_with_free_func (g_object_unref);
      g_ptr_array_add (self->launched, g_object_ref (started));
      g_subprocess_wait_async (started, NULL, on_launched_exited, g_object_ref (self));
    }
  return TRUE;
}
