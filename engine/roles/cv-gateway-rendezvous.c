/* cv-gateway-rendezvous.c: tunnels — a pair of one-time tickets handed to the two agents
 * of a session, and the two connections that present them joined byte for byte
 * (transport/cv-socket-joiner) without the gateway reading them. */
#include "roles/cv-gateway-private.h"

#include "base/cv-source.h"
#include "transport/cv-socket-joiner.h"
#include "wire/cv-control.h"
#include "wire/cv-ticket.h"

/* Two one-time tickets, one per side, and the halves that presented them. */
typedef struct {
  CvGateway *gateway;
  char *session_id;
  char *ticket[2]; /* [0] share side, [1] connect side */
  GSocketConnection *half[2];
  GSource *timer;
  CvGatewayLink *requester; /* not owned; NULL once it closed */
} Rendezvous;

static void
rendezvous_free (Rendezvous *rendezvous)
{
  CvGateway *self = rendezvous->gateway;

  cv_source_clear (&rendezvous->timer);
  self->n_rendezvous--;
  if (rendezvous->requester != NULL)
    g_object_remove_weak_pointer (G_OBJECT (rendezvous->requester),
                                  (gpointer *) &rendezvous->requester);
  for (guint i = 0; i < 2; i++)
    {
      if (self->tickets != NULL)
        g_hash_table_remove (self->tickets, rendezvous->ticket[i]);
      g_free (rendezvous->ticket[i]);
      if (rendezvous->half[i] != NULL)
        g_io_stream_close (G_IO_STREAM (rendezvous->half[i]), NULL, NULL);
      g_clear_object (&rendezvous->half[i]);
    }
  g_free (rendezvous->session_id);
  g_free (rendezvous);
}

static gboolean
on_rendezvous_timeout (gpointer user_data)
{
  Rendezvous *rendezvous = user_data;
  CV_GATEWAY_ON_ITS_CONTEXT (rendezvous->gateway);

  g_clear_pointer (&rendezvous->timer, g_source_unref);
  g_message ("session %s: a tunnel ticket expired before both agents presented it",
             rendezvous->session_id);
  rendezvous_free (rendezvous);
  return G_SOURCE_REMOVE;
}

typedef struct {
  CvGateway *gateway;
  char *session_id;
  gint64 started_us;
} Join;

static void
on_joined (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Join *join = user_data;
  CV_GATEWAY_ON_ITS_CONTEXT (join->gateway);
  g_autoptr (GError) error = NULL;
  CvJoinStats stats = { 0 };
  gboolean ok = cv_socket_join_finish (result, &stats, &error);
  double seconds = (g_get_monotonic_time () - join->started_us) / 1e6;

  join->gateway->n_tunnels--;
  cv_gateway_counts_changed (join->gateway);
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_message ("session %s: tunnel closed after %.1f s, %" G_GUINT64_FORMAT
                 " bytes share→connect, %" G_GUINT64_FORMAT " bytes connect→share%s%s",
                 join->session_id, seconds, stats.bytes_a_to_b, stats.bytes_b_to_a, ok ? "" : ": ",
                 ok ? "" : error->message);
    }
  g_object_unref (join->gateway);
  g_free (join->session_id);
  g_free (join);
}

static void
join_halves (CvGateway *self, Rendezvous *rendezvous)
{
  Join *join = g_new0 (Join, 1);
  CvJoinOptions options;

  cv_join_options_init (&options);
  join->gateway = g_object_ref (self);
  join->session_id = g_strdup (rendezvous->session_id);
  join->started_us = g_get_monotonic_time ();
  options.record_path = self->record_path;
  options.buffer_size = self->config->limits.tunnel_buffer_bytes;
  options.idle_timeout_ms = self->config->limits.tunnel_idle_timeout_ms;
  self->n_tunnels++;
  g_message ("session %s: tunnel joined", rendezvous->session_id);
  cv_gateway_counts_changed (self);
  cv_socket_join_async (rendezvous->half[0], rendezvous->half[1],
                        self->config->join == CV_GATEWAY_JOIN_SPLICE ? CV_JOIN_MODE_SPLICE
                                                                     : CV_JOIN_MODE_COPY,
                        &options, self->cancellable, on_joined, join);
  g_clear_object (&rendezvous->half[0]);
  g_clear_object (&rendezvous->half[1]);
  rendezvous_free (rendezvous);
}

/* Tickets handed to one connect agent and not yet used: each costs the gateway a
 * rendezvous until it expires. */
#define MAX_OFFERS_PER_LINK 4

static guint
count_offers (CvGateway *self, CvGatewayLink *link)
{
  GHashTableIter iter;
  gpointer key, value;
  guint n = 0;

  g_hash_table_iter_init (&iter, self->tickets);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      Rendezvous *rendezvous = value;
      /* Each rendezvous is in the table under its connect-side ticket once. */
      if (rendezvous->requester == link && g_str_equal (key, rendezvous->ticket[1]))
        n++;
    }
  return n;
}

void
cv_gateway_offer_tunnel (CvGateway *self, CvGatewaySessionState *session, CvGatewayLink *connect)
{
  Rendezvous *rendezvous;
  g_autoptr (JsonObject) to_share = json_object_new ();
  g_autoptr (JsonObject) to_connect = json_object_new ();

  if (session->share == NULL)
    {
      g_autoptr (JsonObject) body = cv_gateway_presence_body (session);
      cv_gateway_link_send (connect, CV_CONTROL_PRESENCE, body);
      return;
    }
  if (self->n_tunnels + self->n_rendezvous >= self->config->limits.max_tunnels)
    {
      g_message ("session %s: tunnel refused: the gateway carries its maximum of %u tunnels",
                 session->id, self->config->limits.max_tunnels);
      json_object_set_string_member (to_connect, "error", CV_REASON_LIMIT_REACHED);
      cv_gateway_link_send (connect, CV_CONTROL_TUNNEL_OFFER, to_connect);
      return;
    }

  if (count_offers (self, connect) >= MAX_OFFERS_PER_LINK)
    {
      g_message ("session %s: connect agent “%s” asks for tunnels faster than it uses them",
                 session->id, cv_gateway_link_get_hello (connect)->name);
      json_object_set_string_member (to_connect, "error", CV_REASON_RATE_LIMITED);
      cv_gateway_link_send (connect, CV_CONTROL_TUNNEL_OFFER, to_connect);
      return;
    }

  rendezvous = g_new0 (Rendezvous, 1);
  self->n_rendezvous++;
  rendezvous->requester = connect;
  g_object_add_weak_pointer (G_OBJECT (connect), (gpointer *) &rendezvous->requester);
  rendezvous->gateway = self;
  rendezvous->session_id = g_strdup (session->id);
  rendezvous->ticket[0] = cv_ticket_new ();
  rendezvous->ticket[1] = cv_ticket_new ();
  g_hash_table_insert (self->tickets, rendezvous->ticket[0], rendezvous);
  g_hash_table_insert (self->tickets, rendezvous->ticket[1], rendezvous);
  rendezvous->timer = cv_gateway_add_timeout (self, self->config->limits.ticket_timeout_ms,
                                              on_rendezvous_timeout, rendezvous);

  json_object_set_string_member (to_share, "ticket", rendezvous->ticket[0]);
  json_object_set_string_member (to_share, "tls_role", "server");
  json_object_set_string_member (to_share, "peer_fingerprint",
                                 cv_gateway_link_get_fingerprint (connect));
  json_object_set_string_member (to_share, "peer_name", cv_gateway_link_get_hello (connect)->name);
  json_object_set_string_member (to_share, "peer_address",
                                 cv_gateway_link_get_remote_string (connect));
  cv_gateway_link_send (session->share, CV_CONTROL_TUNNEL_OFFER, to_share);

  json_object_set_string_member (to_connect, "ticket", rendezvous->ticket[1]);
  json_object_set_string_member (to_connect, "tls_role", "client");
  json_object_set_string_member (to_connect, "peer_fingerprint",
                                 cv_gateway_link_get_fingerprint (session->share));
  json_object_set_string_member (to_connect, "peer_name",
                                 cv_gateway_link_get_hello (session->share)->name);
  cv_gateway_link_send (connect, CV_CONTROL_TUNNEL_OFFER, to_connect);
}

void
cv_gateway_accept_tunnel_half (CvGateway *self,
                               GSocketConnection *connection,
                               const char *ticket,
                               const char *remote)
{
  Rendezvous *rendezvous = g_hash_table_lookup (self->tickets, ticket);
  guint side;

  if (rendezvous == NULL)
    {
      g_message ("%s: tunnel with an unknown or used ticket; closing", remote);
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      return;
    }
  side = g_str_equal (rendezvous->ticket[0], ticket) ? 0 : 1;
  /* One use: the ticket is gone the moment it is presented. */
  g_hash_table_remove (self->tickets, ticket);
  rendezvous->half[side] = g_object_ref (connection);
  if (rendezvous->half[0] != NULL && rendezvous->half[1] != NULL)
    join_halves (self, rendezvous);
}

/* Rendezvous hold no reference to the gateway, and their timers would fire into a
 * finalized one: they go with it, and a half already presented is closed. */
void
cv_gateway_forget_rendezvous (CvGateway *self)
{
  g_autoptr (GHashTable) tickets = g_steal_pointer (&self->tickets);
  g_autoptr (GHashTable) each = g_hash_table_new (NULL, NULL);
  GHashTableIter iter;
  gpointer rendezvous;

  if (tickets == NULL)
    return;
  /* A rendezvous is in the table under one or two tickets: free it once, with the
   * table already out of rendezvous_free()'s reach. */
  g_hash_table_iter_init (&iter, tickets);
  while (g_hash_table_iter_next (&iter, NULL, &rendezvous))
    g_hash_table_add (each, rendezvous);
  g_hash_table_iter_init (&iter, each);
  while (g_hash_table_iter_next (&iter, &rendezvous, NULL))
    rendezvous_free (rendezvous);
}
