/* cv-embedded-gateway-sessions.c: the embedded gateway's config built in code, its
 * sessions file (the engine's "sessions_file" shape, read through the engine's checks),
 * adding and removing sessions while it runs, and the command a customer runs to share. */
#include "cv-embedded-gateway-private.h"

#include "cv-app-error.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#ifdef G_OS_UNIX
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#endif

CvEmbeddedSession *
cv_embedded_gateway_find_session (CvEmbeddedGateway *self, const char *id)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->sessions));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (CvEmbeddedSession) session = g_list_model_get_item (G_LIST_MODEL (self->sessions),
                                                                     i);

      if (g_str_equal (cv_embedded_session_get_id (session), id))
        {
          return session; /* the store keeps it */
        }
    }
  return NULL;
}

/* ---- the config and the sessions file ----------------------------------- */

static void
add_sessions_member (CvEmbeddedGateway *self, JsonBuilder *builder)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->sessions));

  json_builder_set_member_name (builder, "sessions");
  json_builder_begin_array (builder);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (CvEmbeddedSession) session = g_list_model_get_item (G_LIST_MODEL (self->sessions),
                                                                     i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "id");
      json_builder_add_string_value (builder, cv_embedded_session_get_id (session));
      json_builder_set_member_name (builder, "share_password_hash");
      json_builder_add_string_value (builder,
                                     cv_embedded_session_get_share_password_hash (session));
      json_builder_set_member_name (builder, "connect_password_hash");
      json_builder_add_string_value (builder,
                                     cv_embedded_session_get_connect_password_hash (session));
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}

CvGatewayConfig *
cv_embedded_gateway_make_config (CvEmbeddedGateway *self, gboolean from_file, GError **error)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autofree char *listen = NULL;
  CvGatewayConfig *config;

  /* A config refuses port 0, which in a file would be a mistake; here it means "any free
   * port", set on the listener after the check. */
  listen = g_strdup_printf (strchr (self->listen_host, ':') != NULL ? "[%s]:%u" : "%s:%u",
                            self->listen_host, self->listen_port != 0 ? self->listen_port : 1);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "listen");
  json_builder_begin_array (builder);
  json_builder_add_string_value (builder, listen);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "state_dir");
  json_builder_add_string_value (builder, self->state_dir);
  json_builder_set_member_name (builder, "admin_socket");
  json_builder_add_boolean_value (builder, FALSE);
  if (!from_file)
    add_sessions_member (self, builder);
  else if (g_file_test (self->sessions_path, G_FILE_TEST_EXISTS))
    {
      json_builder_set_member_name (builder, "sessions_file");
      json_builder_add_string_value (builder, self->sessions_path);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);

  config = cv_gateway_config_new_from_json (json_node_get_object (root), NULL, error);
  if (config != NULL && self->listen_port == 0)
    ((CvGatewayListener *) config->listeners->pdata[0])->port = 0;
  return config;
}

static gboolean
save_sessions (CvEmbeddedGateway *self, GError **error)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *text = NULL;
  gsize length;

  json_builder_begin_object (builder);
  add_sessions_member (self, builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  json_generator_set_pretty (generator, TRUE);
  text = json_generator_to_data (generator, &length);

  /* Hashes only, but still only the owner's to read: the engine refuses it otherwise. */
  if (g_mkdir_with_parents (self->state_dir, 0700) != 0
      || !g_file_set_contents_full (self->sessions_path, text, (gssize) length,
                                    G_FILE_SET_CONTENTS_CONSISTENT, 0600, &local_error))
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_FAILED,
                   _ ("The machines this gateway serves could not be saved in %s (%s). Check that "
                      "the "
                      "folder can be written to, then try again."),
                   self->sessions_path,
                   local_error != NULL ? local_error->message : g_strerror (errno));
      return FALSE;
    }
  return TRUE;
}

/**
 * cv_embedded_gateway_load:
 *
 * Reads the sessions file into "sessions" and loads the key, making one on first use.
 * While the gateway runs the sessions in memory are its own: nothing is read again.
 */
gboolean
cv_embedded_gateway_load (CvEmbeddedGateway *self, GError **error)
{
  g_autoptr (CvGatewayConfig) config = NULL;
  g_autoptr (CvIdentity) identity = NULL;
  g_autoptr (GPtrArray) sessions = NULL;
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (CV_IS_EMBEDDED_GATEWAY (self), FALSE);

  if (self->gateway != NULL)
    return TRUE;
  if (g_mkdir_with_parents (self->state_dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   _ ("The gateway’s folder %s could not be made (%s). Check that it can be "
                      "written to, then try again."),
                   self->state_dir, g_strerror (saved_errno));
      return FALSE;
    }
  config = cv_embedded_gateway_make_config (self, TRUE, &local_error);
  if (config == NULL)
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID,
                   _ ("The machines this gateway serves could not be read: %s. Correct the file "
                      "or move it away (they are then forgotten), then try again."),
                   local_error->message);
      return FALSE;
    }
  identity = cv_gateway_load_identity (config, &local_error);
  if (identity == NULL)
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_FAILED,
                   _ ("The gateway’s key in %s could not be loaded or made: %s."), self->state_dir,
                   local_error->message);
      return FALSE;
    }

  sessions = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < config->sessions->len; i++)
    {
      const CvGatewaySession *saved = config->sessions->pdata[i];

      g_ptr_array_add (sessions, cv_embedded_session_new (saved->id, saved->share_password_hash,
                                                          saved->connect_password_hash));
    }
  g_list_store_splice (self->sessions, 0, g_list_model_get_n_items (G_LIST_MODEL (self->sessions)),
                       sessions->pdata, sessions->len);

  if (self->identity == NULL
      || !g_str_equal (cv_identity_get_fingerprint (self->identity),
                       cv_identity_get_fingerprint (identity)))
    {
      g_set_object (&self->identity, identity);
      cv_embedded_gateway_notify (self, PROP_FINGERPRINT);
    }
  self->loaded = TRUE;
  return TRUE;
}

/* ---- sessions ----------------------------------------------------------- */

/* Serves the sessions in memory now, if running: the engine drops the removed ones'
 * links and keeps everyone else's. */
static gboolean
serve_sessions (CvEmbeddedGateway *self, GError **error)
{
  g_autoptr (GMainContextPusher) pusher = NULL;
  g_autoptr (GError) local_error = NULL;
  CvGatewayConfig *config;

  if (self->gateway == NULL)
    return TRUE;
  config = cv_embedded_gateway_make_config (self, FALSE, &local_error);
  pusher = g_main_context_pusher_new (self->context);
  if (config == NULL || !cv_gateway_reload (self->gateway, config, &local_error))
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_FAILED,
                   _ ("The running gateway could not take the change: %s. Stop and start it "
                      "again."),
                   local_error->message);
      return FALSE;
    }
  cv_embedded_gateway_refresh (self);
  return TRUE;
}

/* Before the passwords are made: the file was read (saving before would lose what it
 * holds), the id is one and is free. */
static gboolean
check_new_session (CvEmbeddedGateway *self, const char *id, GError **error)
{
  if (!self->loaded && !cv_embedded_gateway_load (self, error))
    return FALSE;
  if (!cv_config_check_session_id (id, "id", NULL))
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID,
                   _ ("“%s” cannot be a session name: use 1 to 64 letters, digits, “.”, “_” or "
                      "“-”."),
                   id);
      return FALSE;
    }
  if (cv_embedded_gateway_find_session (self, id) != NULL)
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID,
                   _ ("This gateway already serves a machine with the session name “%s”. Choose "
                      "another name."),
                   id);
      return FALSE;
    }
  return TRUE;
}

static CvEmbeddedSession *
generate_session (const char *id, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  CvEmbeddedSession *session = cv_embedded_session_new_generated (id, &local_error);

  if (session == NULL)
    g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_FAILED,
                 _ ("The passwords for “%s” could not be made: %s."), id, local_error->message);
  return session;
}

/* After the passwords are made: into "sessions", saved, served. */
static gboolean
keep_session (CvEmbeddedGateway *self, CvEmbeddedSession *session, GError **error)
{
  guint position;

  g_list_store_append (self->sessions, session);
  position = g_list_model_get_n_items (G_LIST_MODEL (self->sessions)) - 1;
  if (!save_sessions (self, error))
    {
      g_list_store_remove (self->sessions, position);
      return FALSE;
    }
  return serve_sessions (self, error);
}

/**
 * cv_embedded_gateway_add_session:
 * @id: a session id: 1 to 64 letters, digits, '.', '_' or '-'; not taken
 *
 * Makes the session's two passwords, saves it and, if running, serves it at once.  Argon2id
 * hashes both here, which blocks for a fraction of a second: the app calls
 * cv_embedded_gateway_add_session_async () instead.
 *
 * Returns: (transfer none): the session, as "sessions" holds it, with its passwords until
 *   cv_embedded_session_forget_passwords (); or NULL with @error set
 */
CvEmbeddedSession *
cv_embedded_gateway_add_session (CvEmbeddedGateway *self, const char *id, GError **error)
{
  g_autoptr (CvEmbeddedSession) session = NULL;

  g_return_val_if_fail (CV_IS_EMBEDDED_GATEWAY (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  if (!check_new_session (self, id, error))
    return NULL;
  session = generate_session (id, error);
  if (session == NULL || !keep_session (self, session, error))
    return NULL;
  return session;
}

static void
generate_in_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  GError *error = NULL;
  CvEmbeddedSession *session = generate_session (task_data, &error);

  if (session == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, session, g_object_unref);
}

static void
on_session_generated (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  CvEmbeddedGateway *self = g_task_get_source_object (task);
  g_autoptr (CvEmbeddedSession) session = NULL;
  GError *error = NULL;

  session = g_task_propagate_pointer (G_TASK (result), &error);
  /* Cancelled while hashing: nothing is added. */
  if (session == NULL || g_task_return_error_if_cancelled (task))
    {
      if (error != NULL)
        g_task_return_error (task, error);
      return;
    }
  /* Another add of the same name may have finished meanwhile. */
  if (!check_new_session (self, cv_embedded_session_get_id (session), &error)
      || !keep_session (self, session, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, g_steal_pointer (&session), g_object_unref);
}

/**
 * cv_embedded_gateway_add_session_async:
 * @id: as for cv_embedded_gateway_add_session ()
 *
 * The same, with the passwords hashed on a worker thread so that the main loop goes on;
 * the rest (the list, the file, the reload) happens on the gateway's main context when
 * they are made.  Cancelled, nothing is added.
 */
void
cv_embedded_gateway_add_session_async (CvEmbeddedGateway *self,
                                       const char *id,
                                       GCancellable *cancellable,
                                       GAsyncReadyCallback callback,
                                       gpointer user_data)
{
  g_autoptr (GMainContextPusher) pusher = NULL;
  g_autoptr (GTask) generating = NULL;
  GError *error = NULL;
  GTask *task;

  g_return_if_fail (CV_IS_EMBEDDED_GATEWAY (self));
  g_return_if_fail (id != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cv_embedded_gateway_add_session_async);
  if (!check_new_session (self, id, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  /* The thread's result comes back to the gateway's context, where its lists live. */
  pusher = g_main_context_pusher_new (self->context);
  /* No source object: the worker may drop the last reference to this task, and the
   * gateway must never be finalized there. */
  generating = g_task_new (NULL, cancellable, on_session_generated, task);
  g_task_set_source_tag (generating, cv_embedded_gateway_add_session_async);
  g_task_set_name (generating, "[culvert] embedded gateway session passwords");
  g_task_set_task_data (generating, g_strdup (id), g_free);
  /* Its own result is checked in on_session_generated (), not dropped by GTask. */
  g_task_set_check_cancellable (generating, FALSE);
  g_task_run_in_thread (generating, generate_in_thread);
}

/* Returns: (transfer full): the session, as "sessions" holds it; NULL with @error set */
CvEmbeddedSession *
cv_embedded_gateway_add_session_finish (CvEmbeddedGateway *self,
                                        GAsyncResult *result,
                                        GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result))
                          == cv_embedded_gateway_add_session_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Removes it, saved; if running, its agents are disconnected. */
gboolean
cv_embedded_gateway_remove_session (CvEmbeddedGateway *self,
                                    CvEmbeddedSession *session,
                                    GError **error)
{
  g_autoptr (CvEmbeddedSession) kept = NULL;
  guint position;

  g_return_val_if_fail (CV_IS_EMBEDDED_GATEWAY (self), FALSE);
  g_return_val_if_fail (CV_IS_EMBEDDED_SESSION (session), FALSE);

  if (!g_list_store_find (self->sessions, session, &position))
    return TRUE;
  kept = g_object_ref (session);
  g_list_store_remove (self->sessions, position);
  if (!save_sessions (self, error))
    {
      g_list_store_insert (self->sessions, position, session);
      return FALSE;
    }
  cv_embedded_session_set_online (session, FALSE, 0);
  return serve_sessions (self, error);
}

/* ---- the share agent's command line ------------------------------------- */

/* Where agents on the network reach this computer: its first address that is not
 * loopback (IPv4 first, then a global IPv6 one), else its host name. */
static char *
dup_network_address (void)
{
#ifdef G_OS_UNIX
  struct ifaddrs *addresses = NULL;
  g_autofree char *ipv6 = NULL;
  char *ipv4 = NULL;

  if (getifaddrs (&addresses) == 0)
    {
      for (struct ifaddrs *at = addresses; at != NULL && ipv4 == NULL; at = at->ifa_next)
        {
          g_autoptr (GSocketAddress) socket_address = NULL;
          GInetAddress *address;
          gsize size;

          if (at->ifa_addr == NULL || (at->ifa_flags & IFF_UP) == 0
              || (at->ifa_flags & IFF_LOOPBACK) != 0)
            continue;
          if (at->ifa_addr->sa_family == AF_INET)
            size = sizeof (struct sockaddr_in);
          else if (at->ifa_addr->sa_family == AF_INET6)
            size = sizeof (struct sockaddr_in6);
          else
            continue;
          socket_address = g_socket_address_new_from_native (at->ifa_addr, size);
          if (socket_address == NULL || !G_IS_INET_SOCKET_ADDRESS (socket_address))
            continue;
          address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (socket_address));
          if (g_inet_address_get_is_loopback (address)
              || g_inet_address_get_is_link_local (address))
            continue;
          if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV4)
            ipv4 = g_inet_address_to_string (address);
          else if (ipv6 == NULL)
            ipv6 = g_inet_address_to_string (address);
        }
      freeifaddrs (addresses);
    }
  if (ipv4 != NULL)
    return ipv4;
  if (ipv6 != NULL)
    return g_strdup_printf ("[%s]", ipv6);
#endif
  return g_strdup (g_get_host_name ());
}

/* @word as the shell reads it: as it is when it holds nothing the shell would change. */
static char *
shell_word (const char *word)
{
  for (const char *c = word; *c != '\0'; c++)
    if (!g_ascii_isalnum (*c) && strchr ("-_.:[]@/,=", *c) == NULL)
      return g_shell_quote (word);
  return g_strdup (word);
}

/**
 * cv_embedded_gateway_dup_share_command:
 * @allow: (nullable): the service the share agent may reach, "HOST:PORT"; NULL for
 *   127.0.0.1:5900 (a VNC server on the shared machine)
 *
 * The command a customer runs to share through this gateway on @session, as
 * `culvert-cli gateway --session` prints it.  While the session's share password is
 * known it is in the command (CULVERT_PASSWORD, never an argument); once forgotten the
 * command reads it from stdin.  The gateway must be loaded (it needs the fingerprint).
 *
 * Returns: (transfer full) (nullable): the command line; wipe it with cv_secret_free ()
 */
char *
cv_embedded_gateway_dup_share_command (CvEmbeddedGateway *self,
                                       CvEmbeddedSession *session,
                                       const char *allow)
{
  g_autofree char *host = NULL;
  g_autofree char *gateway = NULL;
  g_autofree char *quoted_allow = NULL;
  g_autofree char *quoted_session = NULL;
  const char *password;
  guint16 port;

  g_return_val_if_fail (CV_IS_EMBEDDED_GATEWAY (self), NULL);
  g_return_val_if_fail (CV_IS_EMBEDDED_SESSION (session), NULL);
  g_return_val_if_fail (self->identity != NULL, NULL);

  if (g_str_equal (self->listen_host, "0.0.0.0") || g_str_equal (self->listen_host, "::"))
    host = dup_network_address ();
  else if (strchr (self->listen_host, ':') != NULL)
    host = g_strdup_printf ("[%s]", self->listen_host);
  else
    host = g_strdup (self->listen_host);
  port = self->bound_port != 0 ? self->bound_port : self->listen_port;
  gateway = g_strdup_printf ("%s:%u", host, port);
  quoted_allow = shell_word (allow != NULL ? allow : "127.0.0.1:5900");
  quoted_session = shell_word (cv_embedded_session_get_id (session));
  password = cv_embedded_session_get_share_password (session);

  if (password == NULL)
    return g_strdup_printf ("culvert-cli share --gateway %s --fingerprint %s --session %s "
                            "--allow %s --password-stdin",
                            gateway, cv_identity_get_fingerprint (self->identity), quoted_session,
                            quoted_allow);
  /* Generated passwords are base32 in groups: safe inside single quotes. */
  return g_strdup_printf ("CULVERT_PASSWORD='%s' culvert-cli share --gateway %s --fingerprint %s "
                          "--session %s --allow %s",
                          password, gateway, cv_identity_get_fingerprint (self->identity),
                          quoted_session, quoted_allow);
}
