/* cv-gateway-rendezvous.c: tunnels — a pair of one-time tickets handed to the two agents
 * of a session, and the two connections that present them joined byte for byte
 * (transport/cv-socket-joiner) without the gateway reading them. */
#include "roles/cv-gateway-private.h"

#include "base/cv-log-escape.h"
#include "base/cv-socket-util.h"
#include "base/cv-source.h"
#include "transport/cv-socket-joiner.h"
#include "wire/cv-control.h"
#include "wire/cv-ticket.h"

#include <string.h>

/* The hashes the two agents of a tunnel logged in with: a reload that changes either
 * ends the tunnel, as it ends their links. */
typedef struct {
  char *session_id;
  char *share_hash;
  char *connect_hash;
  char *connect_key; /* the requester's fingerprint: tunnels are counted per key */
} TunnelOwner;

static void
tunnel_owner_clear (TunnelOwner *owner)
{
  g_free (owner->session_id);
  g_free (owner->share_hash);
  g_free (owner->connect_hash);
  g_free (owner->connect_key);
}

static void
tunnel_owner_copy (TunnelOwner *to, const TunnelOwner *from)
{
  to->session_id = g_strdup (from->session_id);
  to->share_hash = g_strdup (from->share_hash);
  to->connect_hash = g_strdup (from->connect_hash);
  to->connect_key = g_strdup (from->connect_key);
}

static guint
count_of (GHashTable *counts, const char *key)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (counts, key));
}

static void
count_add (GHashTable *counts, const char *key, int delta)
{
  guint count = count_of (counts, key) + delta;

  if (count == 0)
    g_hash_table_remove (counts, key);
  else
    g_hash_table_insert (counts, g_strdup (key), GUINT_TO_POINTER (count));
}

/* A tunnel of @owner counts against its session's and its key's limits from its offer
 * until it ends, joined or not. */
static void
tunnel_counted (CvGateway *self, const TunnelOwner *owner, int delta)
{
  count_add (self->tunnels_per_session, owner->session_id, delta);
  count_add (self->tunnels_per_key, owner->connect_key, delta);
}

/* Why a reload ends a tunnel of @owner, or NULL if it may stay. */
static const char *
tunnel_owner_revoked (CvGateway *self, const TunnelOwner *owner)
{
  CvGatewaySessionState *session = cv_gateway_find_session (self, owner->session_id);

  if (session == NULL || session->removed)
    return "the session was removed from the gateway";
  if (g_strcmp0 (session->share_hash, owner->share_hash) != 0)
    return "the session's share password was changed";
  if (g_strcmp0 (session->connect_hash, owner->connect_hash) != 0)
    return "the session's connect password was changed";
  return NULL;
}

/* Two one-time tickets, one per side, and the halves that presented them. */
typedef struct {
  CvGateway *gateway;
  TunnelOwner owner;
  char *ticket[2]; /* [0] share side, [1] connect side */
  GSocketConnection *half[2];
  GSource *timer;
  CvGatewayLink *requester; /* not owned; NULL once it closed */
  gboolean joined;          /* its count went to the Join */
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
  if (!rendezvous->joined)
    tunnel_counted (self, &rendezvous->owner, -1);
  tunnel_owner_clear (&rendezvous->owner);
  g_free (rendezvous);
}

static gboolean
on_rendezvous_timeout (gpointer user_data)
{
  Rendezvous *rendezvous = user_data;
  CV_GATEWAY_ON_ITS_CONTEXT (rendezvous->gateway);

  g_clear_pointer (&rendezvous->timer, g_source_unref);
  g_message ("session %s: a tunnel ticket expired before both agents presented it",
             rendezvous->owner.session_id);
  rendezvous_free (rendezvous);
  return G_SOURCE_REMOVE;
}

/* A joined tunnel, in the gateway's joins until it ends. */
typedef struct {
  CvGateway *gateway;
  TunnelOwner owner;
  GCancellable *cancellable; /* this tunnel's: a reload may end it alone */
  gulong gateway_cancelled;  /* ... and the gateway's shutdown and stop end it too */
  const char *revoked;       /* why a reload ended it, or NULL */
  gint64 started_us;
  gint64 joined_time; /* g_get_real_time () µs, for the status report */
  CvJoinStats live;   /* the joiner keeps the byte counts up to date */
} Join;

static void
cancel_join (GCancellable *gateway_cancellable, gpointer data)
{
  g_cancellable_cancel (data);
}

static const char *
agent_of_side (CvJoinSide side)
{
  return side == CV_JOIN_SIDE_A ? "share agent" : "connect agent";
}

/* Still here: logged in and not saying goodbye. */
static gboolean
staying (CvGatewayLink *link)
{
  return link != NULL && !cv_gateway_link_agent_said_goodbye (link);
}

/* The agent of @owner's tunnel that has left (its control link is gone, or it said
 * GOAWAY) while the other stays, or NULL.  An agent that stops says goodbye on its
 * control link before it closes its tunnels, so that this knows who ended a tunnel
 * the gateway cannot look into. */
static const char *
agent_that_left (CvGateway *self, const TunnelOwner *owner)
{
  CvGatewaySessionState *session = cv_gateway_find_session (self, owner->session_id);
  gboolean connect_stays = FALSE;

  if (session == NULL)
    return NULL;
  for (guint i = 0; i < session->connects->len; i++)
    {
      CvGatewayLink *link = session->connects->pdata[i];

      connect_stays |= staying (link)
                       && g_strcmp0 (cv_gateway_link_get_fingerprint (link), owner->connect_key)
                            == 0;
    }
  if (connect_stays == staying (session->share))
    return NULL;
  return connect_stays ? "share agent" : "connect agent";
}

/* Why a joined tunnel ended, in the agents' words: the share agent's half is A, the
 * connect agent's B.  When one agent ends the tunnel (it stops, or drops the tunnel),
 * both close their half in turn, and the gateway's last writes to a half already gone
 * fail (a broken pipe, a reset): that is a normal end, not "connection B: Broken
 * pipe".  Who ended it is the agent that left, if one did; else the half whose stream
 * ended first.  @error: NULL for a join that ended cleanly. */
static char *
describe_join_end (CvGateway *self,
                   const TunnelOwner *owner,
                   const GError *error,
                   const CvJoinStats *stats)
{
  const char *left = agent_that_left (self, owner);
  const char *message;

  if (error == NULL || cv_socket_error_is_reset (error))
    {
      if (left != NULL)
        return g_strdup_printf ("closed by the %s, which is going offline", left);
      if (error == NULL)
        return NULL;
      if (stats->first_eof_side != CV_JOIN_SIDE_NONE)
        return g_strdup_printf ("closed by the %s", agent_of_side (stats->first_eof_side));
      if (stats->failed_side != CV_JOIN_SIDE_NONE)
        return g_strdup_printf ("closed by the %s", agent_of_side (stats->failed_side));
      return g_strdup (error->message);
    }
  if (stats->failed_side == CV_JOIN_SIDE_NONE)
    return g_strdup (error->message);
  /* The joiner names the half "connection A: "/"B: "; here the agent names it. */
  message = error->message;
  if (g_str_has_prefix (message, "connection ") && strstr (message, ": ") != NULL)
    message = strstr (message, ": ") + 2;
  return g_strdup_printf ("the %s's connection failed: %s", agent_of_side (stats->failed_side),
                          message);
}

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
  tunnel_counted (join->gateway, &join->owner, -1);
  if (join->gateway->joins != NULL)
    g_ptr_array_remove_fast (join->gateway->joins, join);
  cv_gateway_counts_changed (join->gateway);
  /* A tunnel the gateway cut is not news, unless a reload cut it. */
  if (join->revoked != NULL || !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_autofree char *why = join->revoked != NULL ? g_strdup (join->revoked)
                                                   : describe_join_end (join->gateway, &join->owner,
                                                                        ok ? NULL : error, &stats);

      g_message ("session %s: tunnel closed after %.1f s, %" G_GUINT64_FORMAT
                 " bytes share→connect, %" G_GUINT64_FORMAT " bytes connect→share%s%s",
                 join->owner.session_id, seconds, stats.bytes_a_to_b, stats.bytes_b_to_a,
                 why != NULL ? ": " : "", why != NULL ? why : "");
    }
  g_cancellable_disconnect (join->gateway->cancellable, join->gateway_cancelled);
  g_object_unref (join->cancellable);
  g_object_unref (join->gateway);
  tunnel_owner_clear (&join->owner);
  g_free (join);
}

static void
join_halves (CvGateway *self, Rendezvous *rendezvous)
{
  Join *join = g_new0 (Join, 1);
  CvJoinOptions options;

  cv_join_options_init (&options);
  join->gateway = g_object_ref (self);
  tunnel_owner_copy (&join->owner, &rendezvous->owner);
  join->started_us = g_get_monotonic_time ();
  join->joined_time = g_get_real_time ();
  join->cancellable = g_cancellable_new ();
  join->gateway_cancelled = g_cancellable_connect (self->cancellable, G_CALLBACK (cancel_join),
                                                   join->cancellable, NULL);
  g_ptr_array_add (self->joins, join);
  options.record_path = self->record_path;
  options.buffer_size = self->config->limits.tunnel_buffer_bytes;
  options.idle_timeout_ms = self->config->limits.tunnel_idle_timeout_ms;
  options.live_stats = &join->live;
  self->n_tunnels++;
  g_message ("session %s: tunnel joined", rendezvous->owner.session_id);
  cv_gateway_counts_changed (self);
  cv_socket_join_async (rendezvous->half[0], rendezvous->half[1],
                        self->config->join == CV_GATEWAY_JOIN_SPLICE ? CV_JOIN_MODE_SPLICE
                                                                     : CV_JOIN_MODE_COPY,
                        &options, join->cancellable, on_joined, join);
  g_clear_object (&rendezvous->half[0]);
  g_clear_object (&rendezvous->half[1]);
  rendezvous->joined = TRUE;
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

/* TUNNEL_OFFER with an error instead of a ticket; the operator's log says why. */
static void refuse_offer (CvGateway *self,
                          CvGatewayLink *connect,
                          CvGatewaySessionState *session,
                          const char *reason,
                          const char *format,
                          ...) G_GNUC_PRINTF (5, 6);

static void
refuse_offer (CvGateway *self,
              CvGatewayLink *connect,
              CvGatewaySessionState *session,
              const char *reason,
              const char *format,
              ...)
{
  g_autoptr (JsonObject) body = json_object_new ();
  g_autofree char *name = cv_log_escape (cv_gateway_link_get_hello (connect)->name, -1);
  g_autofree char *why = NULL;
  va_list args;

  va_start (args, format);
  why = g_strdup_vprintf (format, args);
  va_end (args);
  cv_log_summary_note (self->junk, CV_GATEWAY_JUNK_TUNNEL_REFUSED,
                       "session %s: connect agent “%s” %s", session->id, name, why);
  json_object_set_string_member (body, "error", reason);
  cv_gateway_link_send (connect, CV_CONTROL_TUNNEL_OFFER, body);
}

void
cv_gateway_offer_tunnel (CvGateway *self, CvGatewaySessionState *session, CvGatewayLink *connect)
{
  const CvGatewayLimits *limits = &self->config->limits;
  Rendezvous *rendezvous;
  g_autoptr (JsonObject) to_share = json_object_new ();
  g_autoptr (JsonObject) to_connect = json_object_new ();

  /* First, so that even the answers to a flood are few. */
  if (!cv_gateway_link_take_request (connect, limits->tunnel_requests_per_second,
                                     g_get_monotonic_time ()))
    {
      refuse_offer (self, connect, session, CV_REASON_RATE_LIMITED,
                    "asks for tunnels faster than %u a second", limits->tunnel_requests_per_second);
      return;
    }
  if (session->share == NULL)
    {
      g_autoptr (JsonObject) body = cv_gateway_presence_body (session);
      cv_gateway_link_send (connect, CV_CONTROL_PRESENCE, body);
      return;
    }
  if (self->n_tunnels + self->n_rendezvous >= self->config->limits.max_tunnels)
    {
      cv_log_summary_note (self->junk, CV_GATEWAY_JUNK_TUNNEL_REFUSED,
                           "session %s: tunnel refused: the gateway carries its maximum of %u "
                           "tunnels",
                           session->id, self->config->limits.max_tunnels);
      json_object_set_string_member (to_connect, "error", CV_REASON_LIMIT_REACHED);
      cv_gateway_link_send (connect, CV_CONTROL_TUNNEL_OFFER, to_connect);
      return;
    }

  if (count_of (self->tunnels_per_session, session->id) >= limits->max_tunnels_per_session)
    {
      refuse_offer (self, connect, session, CV_REASON_LIMIT_REACHED,
                    "refused a tunnel: the session has its maximum of %u",
                    limits->max_tunnels_per_session);
      return;
    }
  if (count_of (self->tunnels_per_key, cv_gateway_link_get_fingerprint (connect))
      >= limits->max_tunnels_per_key)
    {
      refuse_offer (self, connect, session, CV_REASON_LIMIT_REACHED,
                    "refused a tunnel: its key has its maximum of %u", limits->max_tunnels_per_key);
      return;
    }
  if (count_offers (self, connect) >= MAX_OFFERS_PER_LINK)
    {
      refuse_offer (self, connect, session, CV_REASON_RATE_LIMITED,
                    "asks for tunnels faster than it uses them");
      return;
    }

  rendezvous = g_new0 (Rendezvous, 1);
  self->n_rendezvous++;
  rendezvous->requester = connect;
  g_object_add_weak_pointer (G_OBJECT (connect), (gpointer *) &rendezvous->requester);
  rendezvous->gateway = self;
  rendezvous->owner.session_id = g_strdup (session->id);
  rendezvous->owner.share_hash = g_strdup (cv_gateway_link_admitted_hash (session->share));
  rendezvous->owner.connect_hash = g_strdup (cv_gateway_link_admitted_hash (connect));
  rendezvous->owner.connect_key = g_strdup (cv_gateway_link_get_fingerprint (connect));
  tunnel_counted (self, &rendezvous->owner, +1);
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
      cv_log_summary_note (self->junk, CV_GATEWAY_JUNK_UNKNOWN_TICKET,
                           "%s: tunnel with an unknown or used ticket; closing", remote);
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

guint
cv_gateway_revoke_tunnels (CvGateway *self)
{
  g_autoptr (GPtrArray) ended = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;
  guint revoked = 0;

  if (self->tickets == NULL)
    return 0;

  /* Offers not yet joined: each is in the table under its connect-side ticket until
   * that is presented, and under its share-side one until that is. */
  g_hash_table_iter_init (&iter, self->tickets);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Rendezvous *rendezvous = value;

      if (tunnel_owner_revoked (self, &rendezvous->owner) != NULL
          && !g_ptr_array_find (ended, rendezvous, NULL))
        g_ptr_array_add (ended, rendezvous);
    }
  for (guint i = 0; i < ended->len; i++)
    {
      Rendezvous *rendezvous = ended->pdata[i];

      g_message ("session %s: a tunnel offer was withdrawn: %s", rendezvous->owner.session_id,
                 tunnel_owner_revoked (self, &rendezvous->owner));
      rendezvous_free (rendezvous);
      revoked++;
    }

  for (guint i = 0; i < self->joins->len; i++)
    {
      Join *join = self->joins->pdata[i];

      if (join->revoked != NULL)
        continue;
      join->revoked = tunnel_owner_revoked (self, &join->owner);
      if (join->revoked == NULL)
        continue;
      /* The joiner's cancellation source fires on the next turn of the gateway's
       * context: both halves are reset then. */
      g_cancellable_cancel (join->cancellable);
      revoked++;
    }
  return revoked;
}

GArray *
cv_gateway_list_tunnels (CvGateway *self)
{
  GArray *tunnels = g_array_new (FALSE, TRUE, sizeof (CvGatewayTunnelInfo));

  for (guint i = 0; self->joins != NULL && i < self->joins->len; i++)
    {
      Join *join = self->joins->pdata[i];
      /* The share agent's half is A, the connect agent's B (join_halves). */
      CvGatewayTunnelInfo info = {
        .session_id = join->owner.session_id,
        .connect_key = join->owner.connect_key,
        .joined_time = join->joined_time,
        .bytes_share_to_connect = join->live.bytes_a_to_b,
        .bytes_connect_to_share = join->live.bytes_b_to_a,
      };

      g_array_append_val (tunnels, info);
    }
  return tunnels;
}
