/* cv-client-queue.c: local clients waiting for the connect agent's tunnel.
 *
 * A client that arrives while the share agent or the gateway is away is held for a few
 * seconds (the share agent's network blinked, the gateway restarts): often the tunnel
 * comes in time and the client never notices.  When it does not, the client is reset,
 * not closed: a FIN would look like an empty reply ("curl: (52) Empty reply from
 * server"), a reset says the connection failed ("Connection reset by peer"), and the
 * connect agent's log says why.  Clients that wait for a tunnel already asked for have
 * no deadline of their own: the tunnel request's timeout covers them.
 */
#include "roles/cv-client-queue.h"

#include "base/cv-socket-util.h"
#include "base/cv-source.h"
#include "roles/cv-agent-context.h"

typedef struct {
  GSocketConnection *connection;
  CvMapping *mapping;
  gint64 arrived_us;
  gint64 deadline_us; /* monotonic; 0: none */
} Client;

struct _CvClientQueue {
  GMainContext *context;
  guint max_clients;
  CvClientQueueWhy why;
  gpointer user_data;
  GQueue clients; /* of Client, oldest first */
  GSource *timer; /* at the earliest deadline */
};

static void
client_free (Client *client)
{
  g_object_unref (client->connection);
  g_object_unref (client->mapping);
  g_free (client);
}

CvClientQueue *
cv_client_queue_new (GMainContext *context,
                     guint max_clients,
                     CvClientQueueWhy why,
                     gpointer user_data)
{
  CvClientQueue *self = g_new0 (CvClientQueue, 1);

  self->context = g_main_context_ref (context);
  self->max_clients = max_clients;
  self->why = why;
  self->user_data = user_data;
  g_queue_init (&self->clients);
  return self;
}

void
cv_client_queue_free (CvClientQueue *self)
{
  if (self == NULL)
    return;
  cv_source_clear (&self->timer);
  g_queue_clear_full (&self->clients, (GDestroyNotify) client_free);
  g_main_context_unref (self->context);
  g_free (self);
}

guint
cv_client_queue_get_length (CvClientQueue *self)
{
  return g_queue_get_length (&self->clients);
}

/**
 * cv_client_refuse:
 *
 * Resets @connection and says why, in the log and on @mapping.
 */
void
cv_client_refuse (GSocketConnection *connection, CvMapping *mapping, const GError *why)
{
  g_autofree char *target = cv_mapping_dup_target (mapping);

  g_message ("connection to %s refused: %s", target, why->message);
  cv_mapping_set_error (mapping, why);
  cv_socket_close_with_reset (g_socket_connection_get_socket (connection));
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
}

static void
refuse_client (Client *client, const GError *why, gint64 now_us)
{
  g_autoptr (GError) error = g_error_copy (why);

  if (now_us - client->arrived_us >= G_USEC_PER_SEC / 10)
    g_prefix_error (&error, "held %.1f s: ", (now_us - client->arrived_us) / 1e6);
  cv_client_refuse (client->connection, client->mapping, error);
  client_free (client);
}

static void arm_timer (CvClientQueue *self);

static gboolean
on_deadline (gpointer user_data)
{
  CvClientQueue *self = user_data;
  gint64 now_us = g_get_monotonic_time ();
  g_autoptr (GError) why = NULL;
  GList *next;

  /* Destroyed, not only unreferenced: hold (0) calls this directly, with the timer
   * still attached. */
  cv_source_clear (&self->timer);
  for (GList *l = self->clients.head; l != NULL; l = next)
    {
      Client *client = l->data;

      next = l->next;
      if (client->deadline_us == 0 || client->deadline_us > now_us)
        continue;
      if (why == NULL)
        why = self->why (self->user_data);
      g_queue_delete_link (&self->clients, l);
      refuse_client (client, why, now_us);
    }
  arm_timer (self);
  return G_SOURCE_REMOVE;
}

static void
arm_timer (CvClientQueue *self)
{
  gint64 earliest = 0;
  gint64 delay_ms;

  for (GList *l = self->clients.head; l != NULL; l = l->next)
    {
      Client *client = l->data;

      if (client->deadline_us != 0 && (earliest == 0 || client->deadline_us < earliest))
        earliest = client->deadline_us;
    }
  cv_source_clear (&self->timer);
  if (earliest == 0)
    return;
  /* Rounded up: a timer that fires a little early would find nothing due. */
  delay_ms = (earliest - g_get_monotonic_time () + 999) / 1000;
  delay_ms = MAX (delay_ms, 0);
  self->timer = cv_agent_timeout_add (self->context, (guint) delay_ms, on_deadline, self,
                                      "[culvert] held local clients");
}

/* FALSE when the queue is full: the caller refuses @connection. */
gboolean
cv_client_queue_push (CvClientQueue *self, GSocketConnection *connection, CvMapping *mapping)
{
  Client *client;

  if (g_queue_get_length (&self->clients) >= self->max_clients)
    return FALSE;
  client = g_new0 (Client, 1);
  client->connection = g_object_ref (connection);
  client->mapping = g_object_ref (mapping);
  client->arrived_us = g_get_monotonic_time ();
  g_queue_push_tail (&self->clients, client);
  return TRUE;
}

/**
 * cv_client_queue_hold:
 * @hold_ms: how much longer clients without a deadline may wait; 0 refuses them now
 *
 * The tunnel will not come soon (the share agent or the gateway is away): every waiting
 * client without a deadline gets one, @hold_ms from now.  Deadlines already set stay.
 */
void
cv_client_queue_hold (CvClientQueue *self, guint hold_ms)
{
  gint64 deadline_us = g_get_monotonic_time () + (gint64) hold_ms * 1000;

  for (GList *l = self->clients.head; l != NULL; l = l->next)
    {
      Client *client = l->data;

      if (client->deadline_us == 0)
        client->deadline_us = MAX (deadline_us, 1);
    }
  if (hold_ms == 0)
    on_deadline (self);
  else
    arm_timer (self);
}

/* The share agent is online and the tunnel asked for: its own timeout covers the clients. */
void
cv_client_queue_clear_deadlines (CvClientQueue *self)
{
  for (GList *l = self->clients.head; l != NULL; l = l->next)
    ((Client *) l->data)->deadline_us = 0;
  arm_timer (self);
}

/* The tunnel is here: every client goes to @forward, oldest first. */
void
cv_client_queue_forward_all (CvClientQueue *self, CvClientQueueForward forward, gpointer user_data)
{
  Client *client;

  while ((client = g_queue_pop_head (&self->clients)) != NULL)
    {
      forward (client->connection, client->mapping, user_data);
      client_free (client);
    }
  arm_timer (self);
}

/* The tunnel will not come at all (it failed, the agent stops): every client is refused. */
void
cv_client_queue_refuse_all (CvClientQueue *self, const GError *why)
{
  gint64 now_us = g_get_monotonic_time ();
  Client *client;

  while ((client = g_queue_pop_head (&self->clients)) != NULL)
    refuse_client (client, why, now_us);
  arm_timer (self);
}
