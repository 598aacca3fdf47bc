/* cv-admin-socket.c: a local Unix socket, 0600, that hands every client one JSON
 * document and closes.
 *
 * Read-only and bounded: a client sends nothing, gets the document and a newline, and
 * is closed; at most CV_ADMIN_SOCKET_MAX_CLIENTS are served at once and each write
 * has a deadline, so a client that connects and never reads costs nothing for long.
 *
 * The socket is bound in a fresh 0700 directory next to its path, made 0600 there and
 * renamed into place: no moment exists where another user could connect, and the
 * process umask (shared with every thread) is left alone.  A socket file that nothing
 * answers on is a dead process's and is replaced; one that answers belongs to a live
 * process and is left to it.
 */
#include "roles/cv-admin-socket.h"

#include "base/cv-source.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <string.h>

#ifdef G_OS_UNIX
#include <gio/gunixsocketaddress.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

struct _CvAdminSocket {
  GSocketService parent_instance;

  CvAdminSocketReport report;
  gpointer user_data;
  GDestroyNotify destroy;
  char *path;            /* while listening */
  guint64 dev;           /* the socket file we made: removed at close only if it is */
  guint64 ino;           /* still that one */
  GCancellable *clients; /* cancelled at close: every write under way */
  guint n_clients;
};

G_DEFINE_FINAL_TYPE (CvAdminSocket, cv_admin_socket, G_TYPE_SOCKET_SERVICE)

typedef struct {
  CvAdminSocket *self; /* a reference */
  GSocketConnection *connection;
  GBytes *document;
  GCancellable *cancellable; /* the write's: the deadline or the close cancel it */
  gulong closed_handler;
  GSource *deadline;
} Client;

static void
client_free (Client *client)
{
  cv_source_clear (&client->deadline);
  g_cancellable_disconnect (client->self->clients, client->closed_handler);
  g_io_stream_close (G_IO_STREAM (client->connection), NULL, NULL);
  g_object_unref (client->connection);
  g_bytes_unref (client->document);
  g_object_unref (client->cancellable);
  client->self->n_clients--;
  g_object_unref (client->self);
  g_free (client);
}

static void
on_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Client *client = user_data;
  g_autoptr (GError) error = NULL;

  /* A client that went away or was too slow: nothing to tell anyone. */
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    g_debug ("admin socket: a client was not served: %s", error->message);
  client_free (client);
}

static gboolean
on_deadline (gpointer user_data)
{
  Client *client = user_data;

  g_clear_pointer (&client->deadline, g_source_unref);
  g_cancellable_cancel (client->cancellable);
  return G_SOURCE_REMOVE;
}

static void
on_closing (GCancellable *clients, gpointer user_data)
{
  g_cancellable_cancel (user_data);
}

static GBytes *
build_document (CvAdminSocket *self)
{
  g_autoptr (JsonNode) root = self->report (self->user_data);
  g_autofree char *text = json_to_string (root, TRUE);
  g_autofree char *line = g_strconcat (text, "\n", NULL);
  gsize len = strlen (line);

  return g_bytes_new_take (g_steal_pointer (&line), len);
}

static gboolean
cv_admin_socket_incoming (GSocketService *service, GSocketConnection *connection, GObject *source)
{
  CvAdminSocket *self = CV_ADMIN_SOCKET (service);
  Client *client;

  if (self->n_clients >= CV_ADMIN_SOCKET_MAX_CLIENTS || self->path == NULL)
    {
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      return TRUE;
    }
  client = g_new0 (Client, 1);
  client->self = g_object_ref (self);
  client->connection = g_object_ref (connection);
  client->document = build_document (self);
  client->cancellable = g_cancellable_new ();
  client->closed_handler = g_cancellable_connect (self->clients, G_CALLBACK (on_closing),
                                                  client->cancellable, NULL);
  self->n_clients++;
  client->deadline = g_timeout_source_new (CV_ADMIN_SOCKET_WRITE_TIMEOUT_MS);
  g_source_set_callback (client->deadline, on_deadline, client, NULL);
  g_source_set_static_name (client->deadline, "[culvert] admin socket write deadline");
  g_source_attach (client->deadline, g_main_context_get_thread_default ());
  g_output_stream_write_all_async (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                                   g_bytes_get_data (client->document, NULL),
                                   g_bytes_get_size (client->document), G_PRIORITY_DEFAULT,
                                   client->cancellable, on_written, client);
  return TRUE;
}

static void
cv_admin_socket_dispose (GObject *object)
{
  cv_admin_socket_close (CV_ADMIN_SOCKET (object));

  G_OBJECT_CLASS (cv_admin_socket_parent_class)->dispose (object);
}

static void
cv_admin_socket_finalize (GObject *object)
{
  g_clear_object (&CV_ADMIN_SOCKET (object)->clients);

  G_OBJECT_CLASS (cv_admin_socket_parent_class)->finalize (object);
}

static void
cv_admin_socket_class_init (CvAdminSocketClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = cv_admin_socket_dispose;
  G_OBJECT_CLASS (klass)->finalize = cv_admin_socket_finalize;
  G_SOCKET_SERVICE_CLASS (klass)->incoming = cv_admin_socket_incoming;
}

static void
cv_admin_socket_init (CvAdminSocket *self)
{
  self->clients = g_cancellable_new ();
}

/**
 * cv_admin_socket_new:
 * @report: builds the document, on the thread-default context of cv_admin_socket_listen()
 * @destroy: (nullable): frees @user_data with the socket
 */
CvAdminSocket *
cv_admin_socket_new (CvAdminSocketReport report, gpointer user_data, GDestroyNotify destroy)
{
  CvAdminSocket *self = g_object_new (CV_TYPE_ADMIN_SOCKET, NULL);

  self->report = report;
  self->user_data = user_data;
  self->destroy = destroy;
  return self;
}

const char *
cv_admin_socket_get_path (CvAdminSocket *self)
{
  return self->path;
}

#ifdef G_OS_UNIX
/* TRUE if a process answers on the socket at @path.  Non-blocking: a live process
 * whose queue is full answers EAGAIN, and counts as alive. */
static gboolean
someone_listens (const char *path)
{
  g_autoptr (GSocket) socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM,
                                             G_SOCKET_PROTOCOL_DEFAULT, NULL);
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (path);
  g_autoptr (GError) error = NULL;

  if (socket == NULL)
    return FALSE;
  g_socket_set_blocking (socket, FALSE);
  if (g_socket_connect (socket, address, NULL, &error))
    return TRUE;
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PENDING)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
}

/* Whether @path may be taken: absent, or a socket nothing answers on. */
static gboolean
check_free (const char *path, GError **error)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return TRUE;
  if (!S_ISSOCK (st.st_mode))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                   "%s exists and is not a socket; remove it or set admin_socket to another "
                   "path",
                   path);
      return FALSE;
    }
  if (someone_listens (path))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_ADDRESS_IN_USE,
                   "another running process answers on %s (another instance with the same "
                   "state dir?)",
                   path);
      return FALSE;
    }
  return TRUE;
}

/* Binds @tmp_path, 0600, and renames it to @path. */
static gboolean
bind_private (CvAdminSocket *self, const char *tmp_path, const char *path, GError **error)
{
  g_autoptr (GSocketAddress) address = g_unix_socket_address_new (tmp_path);
  g_autoptr (GSocketAddress) effective = NULL;
  GStatBuf st;
  int saved_errno;

  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (self), address, G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_DEFAULT, NULL, &effective, error))
    return FALSE;
  if (g_chmod (tmp_path, 0600) != 0 || g_rename (tmp_path, path) != 0 || g_stat (path, &st) != 0)
    {
      saved_errno = errno;
      g_socket_listener_close (G_SOCKET_LISTENER (self));
      g_unlink (tmp_path);
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno), "%s: %s", path,
                   g_strerror (saved_errno));
      return FALSE;
    }
  self->dev = st.st_dev;
  self->ino = st.st_ino;
  return TRUE;
}
#endif

/**
 * cv_admin_socket_listen:
 * @path: where the socket goes; its directory must exist
 *
 * Starts serving on the thread-default main context.  Fails with
 * %G_IO_ERROR_ADDRESS_IN_USE if a live process serves @path already, and with
 * %G_IO_ERROR_NOT_SUPPORTED where there are no Unix sockets.
 */
gboolean
cv_admin_socket_listen (CvAdminSocket *self, const char *path, GError **error)
{
#ifdef G_OS_UNIX
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *tmp_dir = g_build_filename (dir, ".cvXXXXXX", NULL);
  g_autofree char *tmp_path = NULL;
  gboolean ok;

  g_return_val_if_fail (self->path == NULL, FALSE);

  /* sun_path holds 108 bytes on Linux, 104 on the BSDs. */
  if (strlen (path) >= 104)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FILENAME_TOO_LONG,
                   "%s: a Unix socket's path must be shorter than 104 bytes; set admin_socket "
                   "to a shorter one",
                   path);
      return FALSE;
    }
  if (!check_free (path, error))
    return FALSE;
  if (g_mkdtemp_full (tmp_dir, 0700) == NULL)
    {
      int saved_errno = errno;

      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
                   "cannot make a directory in %s: %s", dir, g_strerror (saved_errno));
      return FALSE;
    }
  tmp_path = g_build_filename (tmp_dir, "s", NULL);
  ok = bind_private (self, tmp_path, path, error);
  g_rmdir (tmp_dir);
  if (!ok)
    return FALSE;
  self->path = g_strdup (path);
  g_socket_service_start (G_SOCKET_SERVICE (self));
  return TRUE;
#else
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
               "status over an admin socket needs Unix sockets");
  return FALSE;
#endif
}

/* Stops serving for good, drops every client, and removes the socket file if it is
 * still ours.  Idempotent. */
void
cv_admin_socket_close (CvAdminSocket *self)
{
  g_autofree char *path = g_steal_pointer (&self->path);

  g_cancellable_cancel (self->clients);
  /* What @user_data holds (a gateway, an agent) goes now, not whenever a pending
   * accept lets go of the socket. */
  if (self->destroy != NULL)
    self->destroy (self->user_data);
  self->destroy = NULL;
  self->user_data = NULL;
  if (path == NULL)
    return;
  g_socket_service_stop (G_SOCKET_SERVICE (self));
  g_socket_listener_close (G_SOCKET_LISTENER (self));
#ifdef G_OS_UNIX
  {
    GStatBuf st;

    if (g_lstat (path, &st) == 0 && (guint64) st.st_dev == self->dev
        && (guint64) st.st_ino == self->ino)
      g_unlink (path);
  }
#endif
}
