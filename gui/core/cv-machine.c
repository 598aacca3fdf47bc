/* cv-machine.c: a saved customer machine — its fields, their checks in sentences, and its
 * JSON for the store and for provisioning files. */
#include "cv-machine.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "config/cv-config.h"
#include "transport/cv-identity.h"
#include "wire/cv-host-port.h"
#include "wire/cv-web-url.h"

#include "cv-app-error.h"

/* Longer names do not fit a row, and are most likely pasted by mistake. */
#define MAX_NAME_CHARS 100

struct _CvMachine {
  GObject parent_instance;

  char *id;
  char *name;
  char *gateway_host;
  guint16 gateway_port;
  char *gateway_web_path;
  gboolean gateway_web_tls;
  char *web_fingerprint;
  char *fingerprint;
  char *session;
  gint64 last_used;
  GListStore *services; /* of CvMachineService */
};

enum {
  PROP_0,
  PROP_ID,
  PROP_NAME,
  PROP_GATEWAY_HOST,
  PROP_GATEWAY_PORT,
  PROP_GATEWAY_WEB_PATH,
  PROP_GATEWAY_WEB_TLS,
  PROP_WEB_FINGERPRINT,
  PROP_FINGERPRINT,
  PROP_SESSION,
  PROP_LAST_USED,
  PROP_SERVICES,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (CvMachine, cv_machine, G_TYPE_OBJECT)

static void
cv_machine_dispose (GObject *object)
{
  CvMachine *self = CV_MACHINE (object);

  g_clear_object (&self->services);

  G_OBJECT_CLASS (cv_machine_parent_class)->dispose (object);
}

static void
cv_machine_finalize (GObject *object)
{
  CvMachine *self = CV_MACHINE (object);

  g_free (self->id);
  g_free (self->name);
  g_free (self->gateway_host);
  g_free (self->gateway_web_path);
  g_free (self->web_fingerprint);
  g_free (self->fingerprint);
  g_free (self->session);

  G_OBJECT_CLASS (cv_machine_parent_class)->finalize (object);
}

static void
cv_machine_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvMachine *self = CV_MACHINE (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_GATEWAY_HOST:
      g_value_set_string (value, self->gateway_host);
      break;
    case PROP_GATEWAY_PORT:
      g_value_set_uint (value, self->gateway_port);
      break;
    case PROP_GATEWAY_WEB_PATH:
      g_value_set_string (value, self->gateway_web_path);
      break;
    case PROP_GATEWAY_WEB_TLS:
      g_value_set_boolean (value, self->gateway_web_tls);
      break;
    case PROP_WEB_FINGERPRINT:
      g_value_set_string (value, self->web_fingerprint);
      break;
    case PROP_FINGERPRINT:
      g_value_set_string (value, self->fingerprint);
      break;
    case PROP_SESSION:
      g_value_set_string (value, self->session);
      break;
    case PROP_LAST_USED:
      g_value_set_int64 (value, self->last_used);
      break;
    case PROP_SERVICES:
      g_value_set_object (value, self->services);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_machine_set_property (GObject *object, guint prop_id, const GValue *value, GParamSpec *pspec)
{
  CvMachine *self = CV_MACHINE (object);

  switch (prop_id)
    {
    case PROP_ID:
      /* Construct-only: a copy or a saved machine keeps its id, a new one gets one. */
      g_assert (self->id == NULL);
      self->id = g_value_get_string (value) != NULL ? g_value_dup_string (value)
                                                    : g_uuid_string_random ();
      break;
    case PROP_NAME:
      cv_machine_set_name (self, g_value_get_string (value));
      break;
    case PROP_GATEWAY_HOST:
      cv_machine_set_gateway (self, g_value_get_string (value), self->gateway_port);
      break;
    case PROP_GATEWAY_PORT:
      cv_machine_set_gateway (self, self->gateway_host, (guint16) g_value_get_uint (value));
      break;
    case PROP_GATEWAY_WEB_PATH:
      cv_machine_set_gateway_web (self, g_value_get_string (value), self->gateway_web_tls);
      break;
    case PROP_GATEWAY_WEB_TLS:
      cv_machine_set_gateway_web (self, self->gateway_web_path, g_value_get_boolean (value));
      break;
    case PROP_WEB_FINGERPRINT:
      cv_machine_set_web_fingerprint (self, g_value_get_string (value));
      break;
    case PROP_FINGERPRINT:
      cv_machine_set_fingerprint (self, g_value_get_string (value));
      break;
    case PROP_SESSION:
      cv_machine_set_session (self, g_value_get_string (value));
      break;
    case PROP_LAST_USED:
      cv_machine_set_last_used (self, g_value_get_int64 (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

#define RW_FLAGS (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY)

static void
cv_machine_class_init (CvMachineClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cv_machine_dispose;
  object_class->finalize = cv_machine_finalize;
  object_class->get_property = cv_machine_get_property;
  object_class->set_property = cv_machine_set_property;

  properties[PROP_ID] = g_param_spec_string ("id", NULL, NULL, NULL,
                                             G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY
                                               | G_PARAM_STATIC_STRINGS);
  properties[PROP_NAME] = g_param_spec_string ("name", NULL, NULL, NULL, RW_FLAGS);
  properties[PROP_GATEWAY_HOST] = g_param_spec_string ("gateway-host", NULL, NULL, NULL, RW_FLAGS);
  properties[PROP_GATEWAY_PORT] = g_param_spec_uint ("gateway-port", NULL, NULL, 1, G_MAXUINT16,
                                                     CV_MACHINE_DEFAULT_GATEWAY_PORT, RW_FLAGS);
  properties[PROP_GATEWAY_WEB_PATH] = g_param_spec_string ("gateway-web-path", NULL, NULL, NULL,
                                                           RW_FLAGS);
  properties[PROP_GATEWAY_WEB_TLS] = g_param_spec_boolean ("gateway-web-tls", NULL, NULL, FALSE,
                                                           RW_FLAGS);
  properties[PROP_WEB_FINGERPRINT] = g_param_spec_string ("web-fingerprint", NULL, NULL, NULL,
                                                          RW_FLAGS);
  properties[PROP_FINGERPRINT] = g_param_spec_string ("fingerprint", NULL, NULL, NULL, RW_FLAGS);
  properties[PROP_SESSION] = g_param_spec_string ("session", NULL, NULL, NULL, RW_FLAGS);
  properties[PROP_LAST_USED] = g_param_spec_int64 ("last-used", NULL, NULL, 0, G_MAXINT64, 0,
                                                   RW_FLAGS);
  properties[PROP_SERVICES] = g_param_spec_object ("services", NULL, NULL, G_TYPE_LIST_MODEL,
                                                   G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cv_machine_init (CvMachine *self)
{
  self->gateway_port = CV_MACHINE_DEFAULT_GATEWAY_PORT;
  self->services = g_list_store_new (CV_TYPE_MACHINE_SERVICE);
}

CvMachine *
cv_machine_new (void)
{
  return g_object_new (CV_TYPE_MACHINE, NULL);
}

CvMachine *
cv_machine_copy (CvMachine *self)
{
  CvMachine *copy;

  g_return_val_if_fail (CV_IS_MACHINE (self), NULL);

  copy = g_object_new (CV_TYPE_MACHINE, "id", self->id, NULL);
  cv_machine_update_from (copy, self);
  return copy;
}

/* Field by field through the setters, so that each change is notified and a service
 * keeps its object (rows and links bound to it stay valid). */
static void
update_service (CvMachineService *service, CvMachineService *from)
{
  g_object_freeze_notify (G_OBJECT (service));
  /* The preset first: setting it may move the port and the launcher, set next. */
  cv_machine_service_set_preset (service, cv_machine_service_get_preset (from));
  cv_machine_service_set_target_host (service, cv_machine_service_get_target_host (from));
  cv_machine_service_set_target_port (service, cv_machine_service_get_target_port (from));
  cv_machine_service_set_local_port (service, cv_machine_service_get_local_port (from));
  cv_machine_service_set_launcher (service, cv_machine_service_get_launcher (from));
  cv_machine_service_set_custom_command (service, cv_machine_service_get_custom_command (from));
  g_object_thaw_notify (G_OBJECT (service));
}

void
cv_machine_update_from (CvMachine *self, CvMachine *from)
{
  guint n_own, n_from;

  g_return_if_fail (CV_IS_MACHINE (self) && CV_IS_MACHINE (from));
  g_return_if_fail (g_str_equal (self->id, from->id));

  if (self == from)
    return;
  g_object_freeze_notify (G_OBJECT (self));
  cv_machine_set_name (self, from->name);
  cv_machine_set_gateway (self, from->gateway_host, from->gateway_port);
  cv_machine_set_gateway_web (self, from->gateway_web_path, from->gateway_web_tls);
  cv_machine_set_web_fingerprint (self, from->web_fingerprint);
  cv_machine_set_fingerprint (self, from->fingerprint);
  cv_machine_set_session (self, from->session);
  cv_machine_set_last_used (self, from->last_used);

  n_own = g_list_model_get_n_items (G_LIST_MODEL (self->services));
  n_from = g_list_model_get_n_items (G_LIST_MODEL (from->services));
  for (guint i = 0; i < MIN (n_own, n_from); i++)
    {
      g_autoptr (CvMachineService) service = g_list_model_get_item (G_LIST_MODEL (self->services),
                                                                    i);
      g_autoptr (CvMachineService) other = g_list_model_get_item (G_LIST_MODEL (from->services), i);

      update_service (service, other);
    }
  if (n_own > n_from)
    g_list_store_splice (self->services, n_from, n_own - n_from, NULL, 0);
  for (guint i = n_own; i < n_from; i++)
    {
      g_autoptr (CvMachineService) other = g_list_model_get_item (G_LIST_MODEL (from->services), i);
      g_autoptr (CvMachineService) service = cv_machine_service_copy (other);

      g_list_store_append (self->services, service);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

const char *
cv_machine_get_id (CvMachine *self)
{
  g_return_val_if_fail (CV_IS_MACHINE (self), NULL);
  return self->id;
}

/* Sets *@field to a copy of @value (NULL for "") and notifies when it changed. */
static void
set_string (CvMachine *self, char **field, const char *value, guint prop_id)
{
  if (value != NULL && *value == '\0')
    value = NULL;
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

const char *
cv_machine_get_name (CvMachine *self)
{
  g_return_val_if_fail (CV_IS_MACHINE (self), NULL);
  return self->name;
}

void
cv_machine_set_name (CvMachine *self, const char *name)
{
  g_return_if_fail (CV_IS_MACHINE (self));
  set_string (self, &self->name, name, PROP_NAME);
}

const char *
cv_machine_get_gateway_host (CvMachine *self)
{
  g_return_val_if_fail (CV_IS_MACHINE (self), NULL);
  return self->gateway_host;
}

guint16
cv_machine_get_gateway_port (CvMachine *self)
{
  g_return_val_if_fail (CV_IS_MACHINE (self), 0);
  return self->gateway_port;
}

/**
 * cv_machine_set_gateway:
 * @host: (nullable): an IP literal without brackets, or a host name
 * @port: 0 for %CV_MACHINE_DEFAULT_GATEWAY_PORT
 */
void
cv_machine_set_gateway (CvMachine *self, const char *host, guint16 port)
{
  g_return_if_fail (CV_IS_MACHINE (self));

  g_object_freeze_notify (G_OBJECT (self));
  set_string (self, &self->gateway_host, host, PROP_GATEWAY_HOST);
  if (port == 0)
    port = CV_MACHINE_DEFAULT_GATEWAY_PORT;
  if (self->gateway_port != port)
    {
      self->gateway_port = port;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_GATEWAY_PORT]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

const char *
cv_machine_get_gateway_web_path (CvMachine *self)
{
  g_return_val_if_fail (CV_IS_MACHINE (self), NULL);
  return self->gateway_web_path;
}

gboolean
cv_machine_get_gateway_web_tls (CvMachine *self)
{
  g_return_val_if_fail (CV_IS_MACHINE (self), FALSE);
  return self->gateway_web_tls;
}

/**
 * cv_machine_set_gateway_web:
 * @path: (nullable): the URL's path, "/culvert"; %NULL for a raw host:port gateway
 * @tls: wss:// rather than ws://
 *
 * With cv_machine_set_gateway () for the URL's host and port.
 */
void
cv_machine_set_gateway_web (CvMachine *self, const char *path, gboolean tls)
{
  g_return_if_fail (CV_IS_MACHINE (self));

  g_object_freeze_notify (G_OBJECT (self));
  set_string (self, &self->gateway_web_path, path, PROP_GATEWAY_WEB_PATH);
  tls = self->gateway_web_path != NULL && tls;
  if (self->gateway_web_tls != tls)
    {
      self->gateway_web_tls = tls;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_GATEWAY_WEB_TLS]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

const char *
cv_machine_get_web_fingerprint (CvMachine *self)
{
  g_return_val_if_fail (CV_IS_MACHINE (self), NULL);
  return self->web_fingerprint;
}

void
cv_machine_set_web_fingerprint (CvMachine *self, const char *fingerprint)
{
  g_return_if_fail (CV_IS_MACHINE (self));
  set_string (self, &self->web_fingerprint, fingerprint, PROP_WEB_FINGERPRINT);
}

static char *
join_host_port (const char *host, guint16 port)
{
  if (strchr (host, ':') != NULL)
    return g_strdup_printf ("[%s]:%u", host, port);
  return g_strdup_printf ("%s:%u", host, port);
}

/* As a person writes it: the port only when it is not the scheme's. */
static char *
join_url (CvMachine *self)
{
  guint16 scheme_port = self->gateway_web_tls ? CV_WEB_URL_WSS_PORT : CV_WEB_URL_WS_PORT;
  g_autofree char *host_port = NULL;

  if (self->gateway_port != scheme_port)
    host_port = join_host_port (self->gateway_host, self->gateway_port);
  else if (strchr (self->gateway_host, ':') != NULL)
    host_port = g_strdup_printf ("[%s]", self->gateway_host);
  else
    host_port = g_strdup (self->gateway_host);
  return g_strdup_printf ("%s://%s%s", self->gateway_web_tls ? "wss" : "ws", host_port,
                          self->gateway_web_path);
}

/**
 * cv_machine_dup_gateway:
 *
 * Returns: (transfer full) (nullable): "host:port", or the ws:// or wss:// URL, or %NULL
 *   while no gateway is set
 */
char *
cv_machine_dup_gateway (CvMachine *self)
{
  g_return_val_if_fail (CV_IS_MACHINE (self), NULL);

  if (self->gateway_host == NULL)
    return NULL;
  if (self->gateway_web_path != NULL)
    return join_url (self);
  return join_host_port (self->gateway_host, self->gateway_port);
}

const char *
cv_machine_get_fingerprint (CvMachine *self)
{
  g_return_val_if_fail (CV_IS_MACHINE (self), NULL);
  return self->fingerprint;
}

void
cv_machine_set_fingerprint (CvMachine *self, const char *fingerprint)
{
  g_return_if_fail (CV_IS_MACHINE (self));
  set_string (self, &self->fingerprint, fingerprint, PROP_FINGERPRINT);
}

const char *
cv_machine_get_session (CvMachine *self)
{
  g_return_val_if_fail (CV_IS_MACHINE (self), NULL);
  return self->session;
}

void
cv_machine_set_session (CvMachine *self, const char *session)
{
  g_return_if_fail (CV_IS_MACHINE (self));
  set_string (self, &self->session, session, PROP_SESSION);
}

gint64
cv_machine_get_last_used (CvMachine *self)
{
  g_return_val_if_fail (CV_IS_MACHINE (self), 0);
  return self->last_used;
}

void
cv_machine_set_last_used (CvMachine *self, gint64 unix_seconds)
{
  g_return_if_fail (CV_IS_MACHINE (self));
  g_return_if_fail (unix_seconds >= 0);

  if (self->last_used == unix_seconds)
    return;
  self->last_used = unix_seconds;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_USED]);
}

GListModel *
cv_machine_get_services (CvMachine *self)
{
  g_return_val_if_fail (CV_IS_MACHINE (self), NULL);
  return G_LIST_MODEL (self->services);
}

void
cv_machine_add_service (CvMachine *self, CvMachineService *service)
{
  g_return_if_fail (CV_IS_MACHINE (self));
  g_return_if_fail (CV_IS_MACHINE_SERVICE (service));

  g_list_store_append (self->services, service);
}

void
cv_machine_remove_service (CvMachine *self, CvMachineService *service)
{
  guint position;

  g_return_if_fail (CV_IS_MACHINE (self));
  g_return_if_fail (CV_IS_MACHINE_SERVICE (service));

  if (g_list_store_find (self->services, service, &position))
    g_list_store_remove (self->services, position);
}

/* Checks */

static gboolean invalid (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
invalid (GError **error, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  if (error != NULL)
    *error = g_error_new_valist (CV_APP_ERROR, CV_APP_ERROR_INVALID, format, args);
  va_end (args);
  return FALSE;
}

gboolean
cv_machine_check_name (const char *name, GError **error)
{
  g_autofree char *trimmed = NULL;

  if (name == NULL || !g_utf8_validate (name, -1, NULL))
    return invalid (error, _ ("Give the machine a name, such as “Front desk PC”."));
  trimmed = g_strstrip (g_strdup (name));
  if (*trimmed == '\0')
    return invalid (error, _ ("Give the machine a name, such as “Front desk PC”."));
  if (g_utf8_strlen (name, -1) > MAX_NAME_CHARS)
    return invalid (error, _ ("The name is too long. Keep it under %u characters."),
                    MAX_NAME_CHARS);
  for (const char *p = name; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_iscntrl (g_utf8_get_char (p)))
      return invalid (error, _ ("The name holds a line break or a control character. Write it "
                                "on one line."));
  return TRUE;
}

/**
 * cv_machine_parse_gateway:
 * @text: "host", "host:port", "[v6]:port", or a bare IPv6 literal
 * @host: (out): the host, without brackets
 * @port: (out): the port, %CV_MACHINE_DEFAULT_GATEWAY_PORT when none is written
 */
gboolean
cv_machine_parse_gateway (const char *text, char **host, guint16 *port, GError **error)
{
  g_autofree char *trimmed = NULL;
  g_autofree char *full = NULL;
  g_autoptr (GError) local_error = NULL;
  gsize len;

  g_return_val_if_fail (host != NULL && port != NULL, FALSE);

  trimmed = g_strstrip (g_strdup (text != NULL ? text : ""));
  len = strlen (trimmed);
  if (len == 0)
    return invalid (error, _ ("Give the gateway’s address, such as relay.example.com or "
                              "relay.example.com:8443."));
  /* Without a port: a host name, an IPv4 address, a bare IPv6 address, or one in brackets. */
  if (strchr (trimmed, ':') == NULL || (g_hostname_is_ip_address (trimmed) && trimmed[0] != '['))
    full = strchr (trimmed, ':') != NULL
             ? g_strdup_printf ("[%s]:%u", trimmed, CV_MACHINE_DEFAULT_GATEWAY_PORT)
             : g_strdup_printf ("%s:%u", trimmed, CV_MACHINE_DEFAULT_GATEWAY_PORT);
  else if (trimmed[0] == '[' && trimmed[len - 1] == ']')
    full = g_strdup_printf ("%s:%u", trimmed, CV_MACHINE_DEFAULT_GATEWAY_PORT);
  else
    full = g_strdup (trimmed);

  /* The engine's parser: what it refuses here, the connect agent would refuse too. */
  if (!cv_host_port_parse (full, NULL, host, port, NULL, &local_error))
    return invalid (error,
                    _ ("“%s” is not a gateway address (%s). Write it as relay.example.com, "
                       "relay.example.com:8443 or [2001:db8::1]:8443."),
                    trimmed, local_error->message);
  return TRUE;
}

/**
 * cv_machine_parse_gateway_url:
 * @text: what cv_machine_parse_gateway () takes, or "wss://host[:port][/path]" or
 *   "ws://host[:port][/path]"
 * @web_path: (out): the URL's path, or %NULL for a host:port
 * @web_tls: (out): wss://
 */
gboolean
cv_machine_parse_gateway_url (const char *text,
                              char **host,
                              guint16 *port,
                              char **web_path,
                              gboolean *web_tls,
                              GError **error)
{
  g_autofree char *trimmed = NULL;
  g_autofree char *shown = NULL;
  g_autoptr (GError) local_error = NULL;
  CvWebUrl url = { 0 };

  g_return_val_if_fail (host != NULL && port != NULL && web_path != NULL && web_tls != NULL, FALSE);

  trimmed = g_strstrip (g_strdup (text != NULL ? text : ""));
  if (!cv_web_url_has_scheme (trimmed))
    {
      *web_path = NULL;
      *web_tls = FALSE;
      return cv_machine_parse_gateway (trimmed, host, port, error);
    }
  /* The engine's parser of the agents' "gateway" URLs: what it refuses here, the agent
   * would refuse too.  Its reason alone, and the URL without a password in it. */
  if (cv_web_url_parse_gateway (trimmed, &url, &local_error))
    {
      *host = g_steal_pointer (&url.host);
      *port = url.port;
      *web_path = g_steal_pointer (&url.path);
      *web_tls = url.tls;
      return TRUE;
    }
  shown = cv_web_url_redact (trimmed);
  return invalid (error,
                  _ ("“%s” is not a gateway URL (%s). Write it as "
                     "wss://relay.example.com/culvert, or as relay.example.com:8443 for the "
                     "gateway’s own port."),
                  shown, local_error->message);
}

gboolean
cv_machine_check_session (const char *session, GError **error)
{
  if (session == NULL || *session == '\0')
    return invalid (error, _ ("Give the session of this machine at the gateway, as the "
                              "gateway’s administrator wrote it."));
  /* The rule of the engine's configs, so that the gateway takes what is saved here. */
  if (!g_utf8_validate (session, -1, NULL) || !cv_config_check_session_id (session, "", NULL))
    return invalid (error, _ ("A session is 1 to 64 letters, digits, “.”, “_” or “-”, without "
                              "spaces. Check it with the gateway’s administrator."));
  return TRUE;
}

static gboolean
check_fingerprint (const char *fingerprint, GError **error)
{
  g_autofree char *normal = NULL;

  if (fingerprint == NULL)
    return TRUE;
  normal = cv_fingerprint_normalize (fingerprint, NULL);
  if (normal == NULL)
    return invalid (error, _ ("The gateway’s trusted key is not a SHA-256 fingerprint. Forget "
                              "it (Edit → Forget Trusted Key) and connect again to be asked."));
  return TRUE;
}

gboolean
cv_machine_check (CvMachine *self, GError **error)
{
  GListModel *services;
  guint n_services;
  g_autofree char *gateway = NULL;
  g_autofree char *host = NULL;
  g_autofree char *web_path = NULL;
  gboolean web_tls;
  guint16 port;

  g_return_val_if_fail (CV_IS_MACHINE (self), FALSE);

  if (!cv_machine_check_name (self->name, error))
    return FALSE;
  gateway = cv_machine_dup_gateway (self);
  if (!cv_machine_parse_gateway_url (gateway, &host, &port, &web_path, &web_tls, error)
      || !cv_machine_check_session (self->session, error)
      || !check_fingerprint (self->fingerprint, error))
    return FALSE;
  if (self->web_fingerprint != NULL && !self->gateway_web_tls)
    return invalid (error, _ ("A web server’s key is pinned, but the gateway is not a wss:// "
                              "URL. Remove the web key, or give the gateway as wss://…."));

  services = G_LIST_MODEL (self->services);
  n_services = g_list_model_get_n_items (services);
  if (n_services == 0)
    return invalid (error, _ ("Add at least one service, such as screen sharing, to reach on "
                              "this machine."));
  for (guint i = 0; i < n_services; i++)
    {
      g_autoptr (CvMachineService) service = g_list_model_get_item (services, i);
      guint16 local_port = cv_machine_service_get_local_port (service);

      if (!cv_machine_service_check (service, error))
        {
          /* TRANSLATORS: a service's name, then what is wrong with it */
          g_prefix_error (error, _ ("%s: "),
                          cv_service_preset_get_label (cv_machine_service_get_preset (service)));
          return FALSE;
        }
      for (guint j = 0; local_port != 0 && j < i; j++)
        {
          g_autoptr (CvMachineService) other = g_list_model_get_item (services, j);

          if (cv_machine_service_get_local_port (other) == local_port)
            return invalid (error,
                            _ ("Two services use the local port %u. Give each its own, or "
                               "leave them automatic."),
                            local_port);
        }
    }
  return TRUE;
}
