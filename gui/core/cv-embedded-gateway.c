/* cv-embedded-gateway.c: "Run a gateway on this computer" — the engine's CvGateway
 * in-process, its key and sessions kept in a state dir.
 *
 * The config is built in code as the JSON a gateway's file would hold, so the engine
 * checks it as it checks a file: one listener, no admin socket, the sessions with their
 * Argon2id hashes.  The sessions file (state_dir/sessions.json, 0600, written atomically)
 * has the shape of the engine's "sessions_file" and is read through it, with the same
 * checks and errors that name the file; `culvert-cli gateway` could serve it too.
 *
 * A CvGateway cannot start again once stopped: each start makes a new one on the same
 * key.  While it runs, a change of sessions is a reload, and the agents list is rebuilt
 * from cv_gateway_build_status () once a second and whenever its counts change.
 *
 * This file holds the object, start and stop and the agents list; the config, the
 * sessions file and the share command are in cv-embedded-gateway-sessions.c.
 */
#include "cv-embedded-gateway-private.h"

#include "cv-app-error.h"

#include "roles/cv-gateway-status.h"

#include <glib/gi18n.h>

#define DEFAULT_LISTEN_HOST "0.0.0.0"
#define DEFAULT_LISTEN_PORT 8443
#define SESSIONS_FILE_NAME "sessions.json"
#define REFRESH_INTERVAL_S 1

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (CvEmbeddedGateway, cv_embedded_gateway, G_TYPE_OBJECT)

void
cv_embedded_gateway_notify (CvEmbeddedGateway *self, guint prop_id)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
}

static void
cv_embedded_gateway_dispose (GObject *object)
{
  CvEmbeddedGateway *self = CV_EMBEDDED_GATEWAY (object);

  cv_embedded_gateway_stop (self);
  G_OBJECT_CLASS (cv_embedded_gateway_parent_class)->dispose (object);
}

static void
cv_embedded_gateway_finalize (GObject *object)
{
  CvEmbeddedGateway *self = CV_EMBEDDED_GATEWAY (object);

  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->state_dir);
  g_free (self->sessions_path);
  g_free (self->listen_host);
  g_clear_object (&self->identity);
  g_clear_error (&self->error);
  g_clear_object (&self->sessions);
  g_clear_object (&self->agents);
  G_OBJECT_CLASS (cv_embedded_gateway_parent_class)->finalize (object);
}

static void
cv_embedded_gateway_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  CvEmbeddedGateway *self = CV_EMBEDDED_GATEWAY (object);

  switch (prop_id)
    {
    case PROP_RUNNING:
      g_value_set_boolean (value, self->gateway != NULL);
      break;
    case PROP_LISTEN_HOST:
      g_value_set_string (value, self->listen_host);
      break;
    case PROP_LISTEN_PORT:
      g_value_set_uint (value, self->listen_port);
      break;
    case PROP_BOUND_PORT:
      g_value_set_uint (value, self->bound_port);
      break;
    case PROP_FINGERPRINT:
      g_value_set_string (value, cv_embedded_gateway_get_fingerprint (self));
      break;
    case PROP_ERROR:
      g_value_set_boxed (value, self->error);
      break;
    case PROP_SESSIONS:
      g_value_set_object (value, self->sessions);
      break;
    case PROP_N_LINKS:
      g_value_set_uint (value, self->n_links);
      break;
    case PROP_AGENTS:
      g_value_set_object (value, self->agents);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_embedded_gateway_set_property (GObject *object,
                                  guint prop_id,
                                  const GValue *value,
                                  GParamSpec *pspec)
{
  CvEmbeddedGateway *self = CV_EMBEDDED_GATEWAY (object);

  switch (prop_id)
    {
    case PROP_LISTEN_HOST:
      cv_embedded_gateway_set_listen_host (self, g_value_get_string (value));
      break;
    case PROP_LISTEN_PORT:
      cv_embedded_gateway_set_listen_port (self, (guint16) g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cv_embedded_gateway_class_init (CvEmbeddedGatewayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GParamFlags flags = G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;
  GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY;

  object_class->dispose = cv_embedded_gateway_dispose;
  object_class->finalize = cv_embedded_gateway_finalize;
  object_class->get_property = cv_embedded_gateway_get_property;
  object_class->set_property = cv_embedded_gateway_set_property;

  properties[PROP_RUNNING] = g_param_spec_boolean ("running", NULL, NULL, FALSE, flags);
  properties[PROP_LISTEN_HOST] = g_param_spec_string ("listen-host", NULL, NULL,
                                                      DEFAULT_LISTEN_HOST, rw);
  properties[PROP_LISTEN_PORT] = g_param_spec_uint ("listen-port", NULL, NULL, 0, G_MAXUINT16,
                                                    DEFAULT_LISTEN_PORT, rw);
  properties[PROP_BOUND_PORT] = g_param_spec_uint ("bound-port", NULL, NULL, 0, G_MAXUINT16, 0,
                                                   flags);
  properties[PROP_FINGERPRINT] = g_param_spec_string ("fingerprint", NULL, NULL, NULL, flags);
  properties[PROP_ERROR] = g_param_spec_boxed ("error", NULL, NULL, G_TYPE_ERROR, flags);
  properties[PROP_SESSIONS] = g_param_spec_object ("sessions", NULL, NULL, G_TYPE_LIST_MODEL,
                                                   flags);
  properties[PROP_N_LINKS] = g_param_spec_uint ("n-links", NULL, NULL, 0, G_MAXUINT, 0, flags);
  properties[PROP_AGENTS] = g_param_spec_object ("agents", NULL, NULL, G_TYPE_LIST_MODEL, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cv_embedded_gateway_init (CvEmbeddedGateway *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->listen_host = g_strdup (DEFAULT_LISTEN_HOST);
  self->listen_port = DEFAULT_LISTEN_PORT;
  self->sessions = g_list_store_new (CV_TYPE_EMBEDDED_SESSION);
  self->agents = g_list_store_new (CV_TYPE_EMBEDDED_AGENT);
}

/* @state_dir: (nullable): where its key and sessions file are; NULL for
 * g_get_user_data_dir ()/culvert/gateway */
CvEmbeddedGateway *
cv_embedded_gateway_new (const char *state_dir)
{
  CvEmbeddedGateway *self = g_object_new (CV_TYPE_EMBEDDED_GATEWAY, NULL);

  if (state_dir != NULL)
    self->state_dir = g_canonicalize_filename (state_dir, NULL);
  else
    self->state_dir = g_build_filename (g_get_user_data_dir (), "culvert", "gateway", NULL);
  self->sessions_path = g_build_filename (self->state_dir, SESSIONS_FILE_NAME, NULL);
  return self;
}

/* ---- state -------------------------------------------------------------- */

static void
set_error (CvEmbeddedGateway *self, const GError *error)
{
  if (self->error == NULL && error == NULL)
    return;
  g_clear_error (&self->error);
  if (error != NULL)
    self->error = g_error_copy (error);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR]);
}

static void
set_bound_port (CvEmbeddedGateway *self, guint16 port)
{
  if (self->bound_port == port)
    return;
  self->bound_port = port;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BOUND_PORT]);
}

static void
set_n_links (CvEmbeddedGateway *self, guint n_links)
{
  if (self->n_links == n_links)
    return;
  self->n_links = n_links;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_LINKS]);
}

/* ---- the agents list ---------------------------------------------------- */

static const char *
string_member (JsonObject *object, const char *name)
{
  JsonNode *node = json_object_get_member (object, name);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node)
      || json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static void
add_agent (GPtrArray *agents, JsonNode *node, const char *session)
{
  JsonObject *agent;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return;
  agent = json_node_get_object (node);
  g_ptr_array_add (agents, cv_embedded_agent_new (string_member (agent, "role"),
                                                  string_member (agent, "name"),
                                                  string_member (agent, "address"), session));
}

static gboolean
agents_equal (GListModel *model, GPtrArray *agents)
{
  if (g_list_model_get_n_items (model) != agents->len)
    return FALSE;
  for (guint i = 0; i < agents->len; i++)
    {
      g_autoptr (CvEmbeddedAgent) agent = g_list_model_get_item (model, i);

      if (!cv_embedded_agent_equal (agent, agents->pdata[i]))
        return FALSE;
    }
  return TRUE;
}

void
cv_embedded_gateway_refresh (CvEmbeddedGateway *self)
{
  g_autoptr (JsonNode) status = NULL;
  g_autoptr (GPtrArray) agents = g_ptr_array_new_with_free_func (g_object_unref);
  JsonObject *root;
  JsonArray *sessions;

  if (self->gateway == NULL)
    return;
  set_n_links (self, cv_gateway_get_n_links (self->gateway));
  status = cv_gateway_build_status (self->gateway);
  root = json_node_get_object (status);
  sessions = json_object_get_array_member (root, "sessions");
  for (guint i = 0; i < json_array_get_length (sessions); i++)
    {
      JsonObject *entry = json_array_get_object_element (sessions, i);
      const char *id = string_member (entry, "id");
      JsonNode *share = json_object_get_member (entry, "share");
      JsonArray *connects = json_object_get_array_member (entry, "connects");
      CvEmbeddedSession *session = id != NULL ? cv_embedded_gateway_find_session (self, id) : NULL;

      add_agent (agents, share, id);
      for (guint j = 0; j < json_array_get_length (connects); j++)
        add_agent (agents, json_array_get_element (connects, j), id);
      if (session != NULL)
        cv_embedded_session_set_online (session, share != NULL && JSON_NODE_HOLDS_OBJECT (share),
                                        json_array_get_length (connects));
    }
  if (!agents_equal (G_LIST_MODEL (self->agents), agents))
    g_list_store_splice (self->agents, 0, g_list_model_get_n_items (G_LIST_MODEL (self->agents)),
                         agents->pdata, agents->len);
}

static gboolean
on_refresh (gpointer user_data)
{
  cv_embedded_gateway_refresh (CV_EMBEDDED_GATEWAY (user_data));
  return G_SOURCE_CONTINUE;
}

static void
on_gateway_counts (GObject *gateway, GParamSpec *pspec, gpointer user_data)
{
  cv_embedded_gateway_refresh (CV_EMBEDDED_GATEWAY (user_data));
}

/* ---- start and stop ----------------------------------------------------- */

/* Why it could not listen, as a sentence with what to do. */
static GError *
word_start_error (CvEmbeddedGateway *self, const GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE))
    return g_error_new (G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
                        _ ("Port %u is already in use on this computer, perhaps by another "
                           "gateway. Choose another port, or stop the program that uses it."),
                        self->listen_port);
  if (error->domain == CV_CONFIG_ERROR)
    return g_error_new (CV_APP_ERROR, CV_APP_ERROR_INVALID,
                        _ ("The gateway cannot listen on “%s”: %s. Give an IP address of this "
                           "computer, 0.0.0.0 for every network or 127.0.0.1 for this computer "
                           "only."),
                        self->listen_host, error->message);
  return g_error_new (error->domain, error->code,
                      _ ("The gateway could not start: %s. Check the address and port, then try "
                         "again."),
                      error->message);
}

static gboolean
fail_start (CvEmbeddedGateway *self, GError *local_error, GError **error)
{
  g_autoptr (GError) worded = word_start_error (self, local_error);

  g_error_free (local_error);
  set_error (self, worded);
  g_propagate_error (error, g_steal_pointer (&worded));
  return FALSE;
}

gboolean
cv_embedded_gateway_start (CvEmbeddedGateway *self, GError **error)
{
  g_autoptr (GMainContextPusher) pusher = NULL;
  g_autoptr (GError) local_error = NULL;
  CvGatewayConfig *config;
  CvGateway *gateway;

  g_return_val_if_fail (CV_IS_EMBEDDED_GATEWAY (self), FALSE);

  if (self->gateway != NULL)
    return TRUE;
  if (!self->loaded && !cv_embedded_gateway_load (self, &local_error))
    {
      set_error (self, local_error);
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  config = cv_embedded_gateway_make_config (self, FALSE, &local_error);
  if (config == NULL)
    return fail_start (self, g_steal_pointer (&local_error), error);

  pusher = g_main_context_pusher_new (self->context);
  gateway = cv_gateway_new_with_context (config, self->identity, self->context);
  if (!cv_gateway_start (gateway, &local_error))
    {
      cv_gateway_stop (gateway);
      g_object_unref (gateway);
      return fail_start (self, g_steal_pointer (&local_error), error);
    }
  self->gateway = gateway;
  g_signal_connect_object (gateway, "notify::n-links", G_CALLBACK (on_gateway_counts), self, 0);
  g_signal_connect_object (gateway, "notify::n-sessions-online", G_CALLBACK (on_gateway_counts),
                           self, 0);
  self->refresh = g_timeout_source_new_seconds (REFRESH_INTERVAL_S);
  g_source_set_callback (self->refresh, on_refresh, self, NULL);
  g_source_set_static_name (self->refresh, "[culvert] embedded gateway agents");
  g_source_attach (self->refresh, self->context);

  set_error (self, NULL);
  set_bound_port (self, g_array_index (cv_gateway_get_listen_ports (gateway), guint16, 0));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
  cv_embedded_gateway_refresh (self);
  return TRUE;
}

void
cv_embedded_gateway_stop (CvEmbeddedGateway *self)
{
  g_autoptr (GMainContextPusher) pusher = NULL;
  guint n;

  g_return_if_fail (CV_IS_EMBEDDED_GATEWAY (self));

  if (self->gateway == NULL)
    return;
  pusher = g_main_context_pusher_new (self->context);
  if (self->refresh != NULL)
    {
      g_source_destroy (self->refresh);
      g_clear_pointer (&self->refresh, g_source_unref);
    }
  g_signal_handlers_disconnect_by_data (self->gateway, self);
  cv_gateway_stop (self->gateway);
  g_clear_object (&self->gateway);

  g_list_store_remove_all (self->agents);
  n = g_list_model_get_n_items (G_LIST_MODEL (self->sessions));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (CvEmbeddedSession) session = g_list_model_get_item (G_LIST_MODEL (self->sessions),
                                                                     i);

      cv_embedded_session_set_online (session, FALSE, 0);
    }
  set_n_links (self, 0);
  set_bound_port (self, 0);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

/* ---- getters and setters ------------------------------------------------ */

gboolean
cv_embedded_gateway_get_running (CvEmbeddedGateway *self)
{
  g_return_val_if_fail (CV_IS_EMBEDDED_GATEWAY (self), FALSE);
  return self->gateway != NULL;
}

const char *
cv_embedded_gateway_get_listen_host (CvEmbeddedGateway *self)
{
  g_return_val_if_fail (CV_IS_EMBEDDED_GATEWAY (self), NULL);
  return self->listen_host;
}

/* Checked at the next start (the engine's config check and the bind). */
void
cv_embedded_gateway_set_listen_host (CvEmbeddedGateway *self, const char *host)
{
  g_return_if_fail (CV_IS_EMBEDDED_GATEWAY (self));

  if (host == NULL)
    host = DEFAULT_LISTEN_HOST;
  if (g_str_equal (host, self->listen_host))
    return;
  g_free (self->listen_host);
  self->listen_host = g_strdup (host);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LISTEN_HOST]);
}

guint16
cv_embedded_gateway_get_listen_port (CvEmbeddedGateway *self)
{
  g_return_val_if_fail (CV_IS_EMBEDDED_GATEWAY (self), 0);
  return self->listen_port;
}

void
cv_embedded_gateway_set_listen_port (CvEmbeddedGateway *self, guint16 port)
{
  g_return_if_fail (CV_IS_EMBEDDED_GATEWAY (self));

  if (self->listen_port == port)
    return;
  self->listen_port = port;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LISTEN_PORT]);
}

guint16
cv_embedded_gateway_get_bound_port (CvEmbeddedGateway *self)
{
  g_return_val_if_fail (CV_IS_EMBEDDED_GATEWAY (self), 0);
  return self->bound_port;
}

/* NULL until loaded (or started). */
const char *
cv_embedded_gateway_get_fingerprint (CvEmbeddedGateway *self)
{
  g_return_val_if_fail (CV_IS_EMBEDDED_GATEWAY (self), NULL);
  return self->identity != NULL ? cv_identity_get_fingerprint (self->identity) : NULL;
}

const GError *
cv_embedded_gateway_get_error (CvEmbeddedGateway *self)
{
  g_return_val_if_fail (CV_IS_EMBEDDED_GATEWAY (self), NULL);
  return self->error;
}

GListModel *
cv_embedded_gateway_get_sessions (CvEmbeddedGateway *self)
{
  g_return_val_if_fail (CV_IS_EMBEDDED_GATEWAY (self), NULL);
  return G_LIST_MODEL (self->sessions);
}

GListModel *
cv_embedded_gateway_get_agents (CvEmbeddedGateway *self)
{
  g_return_val_if_fail (CV_IS_EMBEDDED_GATEWAY (self), NULL);
  return G_LIST_MODEL (self->agents);
}

guint
cv_embedded_gateway_get_n_links (CvEmbeddedGateway *self)
{
  g_return_val_if_fail (CV_IS_EMBEDDED_GATEWAY (self), 0);
  return self->n_links;
}
