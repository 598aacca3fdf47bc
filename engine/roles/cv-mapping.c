/* cv-mapping.c: one of the connect agent's mappings — a local listener for a target as the
 * share agent sees it — and its live state.
 *
 * The mapping listens and counts; what to do with a local connection is the connect
 * agent's business ("incoming").  Bytes are counted while channels are open
 * (cv-traffic-meter.c). */
#include "roles/cv-mapping.h"

#include "base/cv-acceptor.h"
#include "base/cv-listen.h"
#include "roles/cv-agent-context.h"
#include "roles/cv-traffic-meter.h"

/* GIO's default backlog of 10 resets bursts of connections (a browser opens many). */
#define LISTEN_BACKLOG 256

struct _CvMapping {
  GObject parent_instance;

  GMainContext *context;
  char *listen_host;
  guint16 listen_port;
  char *target_host; /* NULL: a service's, not known yet */
  guint16 target_port;
  char *service_name; /* mapped by the name of an offered service, or NULL */
  CvAcceptor *service;

  guint16 bound_port;
  gboolean listening;
  GError *error;
  guint n_channels;
  CvTrafficMeter *traffic;
};

enum {
  PROP_0,
  PROP_LISTEN_HOST,
  PROP_LISTEN_PORT,
  PROP_TARGET_HOST,
  PROP_TARGET_PORT,
  PROP_BOUND_PORT,
  PROP_LISTENING,
  PROP_ERROR,
  PROP_N_CHANNELS,
  PROP_BYTES_IN,
  PROP_BYTES_OUT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_INCOMING,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (CvMapping, cv_mapping, G_TYPE_OBJECT)

static void
cv_mapping_dispose (GObject *object)
{
  cv_mapping_stop (CV_MAPPING (object));
  G_OBJECT_CLASS (cv_mapping_parent_class)->dispose (object);
}

static void
cv_mapping_finalize (GObject *object)
{
  CvMapping *self = CV_MAPPING (object);

  g_clear_pointer (&self->traffic, cv_traffic_meter_free);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->listen_host);
  g_free (self->target_host);
  g_free (self->service_name);
  g_clear_error (&self->error);
  G_OBJECT_CLASS (cv_mapping_parent_class)->finalize (object);
}

static void
cv_mapping_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvMapping *self = CV_MAPPING (object);

  switch (prop_id)
    {
    case PROP_LISTEN_HOST:
      g_value_set_string (value, self->listen_host);
      break;
    case PROP_LISTEN_PORT:
      g_value_set_uint (value, self->listen_port);
      break;
    case PROP_TARGET_HOST:
      g_value_set_string (value, self->target_host);
      break;
    case PROP_TARGET_PORT:
      g_value_set_uint (value, self->target_port);
      break;
    case PROP_BOUND_PORT:
      g_value_set_uint (value, self->bound_port);
      break;
    case PROP_LISTENING:
      g_value_set_boolean (value, self->listening);
      break;
    case PROP_ERROR:
      g_value_set_boxed (value, self->error);
      break;
    case PROP_N_CHANNELS:
      g_value_set_uint (value, self->n_channels);
      break;
    case PROP_BYTES_IN:
      g_value_set_uint64 (value, cv_traffic_meter_get_bytes_in (self->traffic));
      break;
    case PROP_BYTES_OUT:
      g_value_set_uint64 (value, cv_traffic_meter_get_bytes_out (self->traffic));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

#define READ_FLAGS (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY)

static void
cv_mapping_class_init (CvMappingClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cv_mapping_dispose;
  object_class->finalize = cv_mapping_finalize;
  object_class->get_property = cv_mapping_get_property;

  properties[PROP_LISTEN_HOST] = g_param_spec_string ("listen-host", NULL, NULL, NULL, READ_FLAGS);
  /* As configured: 0 asks for any free port (see "bound-port"). */
  properties[PROP_LISTEN_PORT] = g_param_spec_uint ("listen-port", NULL, NULL, 0, G_MAXUINT16, 0,
                                                    READ_FLAGS);
  properties[PROP_TARGET_HOST] = g_param_spec_string ("target-host", NULL, NULL, NULL, READ_FLAGS);
  properties[PROP_TARGET_PORT] = g_param_spec_uint ("target-port", NULL, NULL, 0, G_MAXUINT16, 0,
                                                    READ_FLAGS);
  /* The port actually listened on; 0 until then. */
  properties[PROP_BOUND_PORT] = g_param_spec_uint ("bound-port", NULL, NULL, 0, G_MAXUINT16, 0,
                                                   READ_FLAGS);
  properties[PROP_LISTENING] = g_param_spec_boolean ("listening", NULL, NULL, FALSE, READ_FLAGS);
  /* Why it could not listen, or why its last local connection failed; NULL after one that
   * went well. */
  properties[PROP_ERROR] = g_param_spec_boxed ("error", NULL, NULL, G_TYPE_ERROR, READ_FLAGS);
  properties[PROP_N_CHANNELS] = g_param_spec_uint ("n-channels", NULL, NULL, 0, G_MAXUINT, 0,
                                                   READ_FLAGS);
  /* From the target to local clients, over every channel, counted once a second while it is open.
   */
  properties[PROP_BYTES_IN] = g_param_spec_uint64 ("bytes-in", NULL, NULL, 0, G_MAXUINT64, 0,
                                                   READ_FLAGS);
  /* From local clients to the target, over every channel, counted once a second while it is open.
   */
  properties[PROP_BYTES_OUT] = g_param_spec_uint64 ("bytes-out", NULL, NULL, 0, G_MAXUINT64, 0,
                                                    READ_FLAGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * CvMapping::incoming:
   * @connection: a local client; the handler takes a reference if it keeps it
   *
   * For the connect agent: a local client arrived.
   */
  signals[SIGNAL_INCOMING] = g_signal_new ("incoming", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 1,
                                           G_TYPE_SOCKET_CONNECTION);
}

static void
cv_mapping_init (CvMapping *self)
{
}

/**
 * cv_mapping_new:
 * @context: (nullable): where its listener accepts; NULL: the thread-default context
 *
 * Returns: (transfer full): a mapping not listening yet
 */
/* The target for a log line: "host:port", or the service it will be. */
static char *
describe_target (CvMapping *self)
{
  if (self->target_host == NULL)
    return g_strdup_printf ("service “%s”", self->service_name);
  return cv_agent_format_target (self->target_host, self->target_port);
}

/**
 * cv_mapping_new_for_service:
 * @service_name: an offered service's name; its target comes with the share agent's
 *   SERVICES (cv_mapping_set_target())
 */
CvMapping *
cv_mapping_new_for_service (const char *listen_host,
                            guint16 listen_port,
                            const char *service_name,
                            GMainContext *context)
{
  CvMapping *self = cv_mapping_new (listen_host, listen_port, NULL, 0, context);

  self->service_name = g_strdup (service_name);
  return self;
}

const char *
cv_mapping_get_service_name (CvMapping *self)
{
  return self->service_name;
}

/* The target of a service mapping, as the share agent's SERVICES names it. */
void
cv_mapping_set_target (CvMapping *self, const char *host, guint16 port)
{
  if (g_strcmp0 (host, self->target_host) != 0)
    {
      g_free (self->target_host);
      self->target_host = g_strdup (host);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TARGET_HOST]);
    }
  if (port != self->target_port)
    {
      self->target_port = port;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TARGET_PORT]);
    }
}

CvMapping *
cv_mapping_new (const char *listen_host,
                guint16 listen_port,
                const char *target_host,
                guint16 target_port,
                GMainContext *context)
{
  CvMapping *self = g_object_new (CV_TYPE_MAPPING, NULL);

  self->context = context != NULL ? g_main_context_ref (context)
                                  : g_main_context_ref_thread_default ();
  self->listen_host = g_strdup (listen_host);
  self->listen_port = listen_port;
  self->target_host = g_strdup (target_host);
  self->target_port = target_port;
  self->traffic = cv_traffic_meter_new (self->context, G_OBJECT (self), properties[PROP_BYTES_IN],
                                        properties[PROP_BYTES_OUT]);
  return self;
}

static void
on_incoming (CvAcceptor *acceptor, GSocketConnection *connection, gpointer user_data)
{
  /* Dropping the last reference closes it. */
  g_signal_emit (user_data, signals[SIGNAL_INCOMING], 0, connection);
}

/**
 * cv_mapping_listen:
 *
 * Starts listening; on failure "error" holds the reason as well.
 */
gboolean
cv_mapping_listen (CvMapping *self, GError **error)
{
  g_autoptr (GMainContextPusher) pusher = g_main_context_pusher_new (self->context);
  g_autoptr (GError) local_error = NULL;
  guint16 bound_port = 0;

  g_return_val_if_fail (self->service == NULL, FALSE);

  /* Accepts on the context pushed here, the mapping's. */
  self->service = cv_acceptor_new ();
  if (!cv_listen_add (G_SOCKET_LISTENER (self->service), self->listen_host, self->listen_port,
                      LISTEN_BACKLOG, &bound_port, &local_error))
    {
      g_autofree char *target = describe_target (self);

      g_prefix_error (&local_error, "mapping %s:%u → %s: ", self->listen_host, self->listen_port,
                      target);
      cv_mapping_stop (self);
      cv_mapping_set_error (self, local_error);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  g_signal_connect (self->service, "incoming", G_CALLBACK (on_incoming), self);
  cv_acceptor_start (self->service);
  self->bound_port = bound_port;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BOUND_PORT]);
  self->listening = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LISTENING]);
  {
    g_autofree char *target = describe_target (self);
    g_message ("mapping %s:%u → %s (as the share agent sees it)", self->listen_host,
               self->bound_port, target);
  }
  return TRUE;
}

/* Closes the listener; idempotent. */
void
cv_mapping_stop (CvMapping *self)
{
  if (self->service != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->service, self);
      cv_acceptor_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
      g_clear_object (&self->service);
    }
  if (self->listening)
    {
      self->listening = FALSE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LISTENING]);
    }
}

void
cv_mapping_set_error (CvMapping *self, const GError *error)
{
  if (self->error == NULL && error == NULL)
    return;
  g_clear_error (&self->error);
  self->error = error != NULL ? g_error_copy (error) : NULL;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR]);
}

void
cv_mapping_channel_opened (CvMapping *self, CvChannel *channel)
{
  cv_traffic_meter_add (self->traffic, channel);
  self->n_channels++;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_CHANNELS]);
}

/* @error: (nullable): why the channel ended, NULL for a clean close */
void
cv_mapping_channel_closed (CvMapping *self,
                           CvChannel *channel,
                           const CvPumpStats *stats,
                           const GError *error)
{
  g_return_if_fail (self->n_channels > 0);

  cv_traffic_meter_remove (self->traffic, channel, stats);
  cv_mapping_set_error (self, error);
  self->n_channels--;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_CHANNELS]);
}

const char *
cv_mapping_get_listen_host (CvMapping *self)
{
  return self->listen_host;
}

guint16
cv_mapping_get_listen_port (CvMapping *self)
{
  return self->listen_port;
}

guint16
cv_mapping_get_bound_port (CvMapping *self)
{
  return self->bound_port;
}

const char *
cv_mapping_get_target_host (CvMapping *self)
{
  return self->target_host;
}

guint16
cv_mapping_get_target_port (CvMapping *self)
{
  return self->target_port;
}

/* "host:port", with brackets around an IPv6 address. */
char *
cv_mapping_dup_target (CvMapping *self)
{
  return describe_target (self);
}

gboolean
cv_mapping_get_listening (CvMapping *self)
{
  return self->listening;
}

const GError *
cv_mapping_get_error (CvMapping *self)
{
  return self->error;
}

guint
cv_mapping_get_n_channels (CvMapping *self)
{
  return self->n_channels;
}

guint64
cv_mapping_get_bytes_in (CvMapping *self)
{
  return cv_traffic_meter_get_bytes_in (self->traffic);
}

guint64
cv_mapping_get_bytes_out (CvMapping *self)
{
  return cv_traffic_meter_get_bytes_out (self->traffic);
}
