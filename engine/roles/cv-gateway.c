/* cv-gateway.c: the public rendezvous — control links, sessions, presence, and tunnels
 * joined byte for byte without being read.
 *
 * One port takes both kinds of connection; the first byte tells them apart: 0x16 opens
 * a TLS handshake (a control link), 'C' a tunnel preface.  A connection that is
 * neither, or that says nothing within the handshake deadline, is closed.
 */
#include "roles/cv-gateway.h"

#include "auth/cv-admission.h"
#include "auth/cv-auth-limiter.h"
#include "wire/cv-control.h"
#include "roles/cv-gateway-link.h"
#include "base/cv-listen.h"
#include "auth/cv-password.h"
#include "transport/cv-socket-joiner.h"
#include "wire/cv-ticket.h"
#include "transport/cv-tls-stream.h"

#include <gio/gnetworking.h>
#include <sodium.h>
#include <string.h>

#define TLS_RECORD_HANDSHAKE 0x16

typedef struct {
  char *id;
  char *name;
  char *share_hash;
  char *connect_hash;
  CvGatewayLink *share;  /* not owned: links own themselves through the gateway */
  GPtrArray *connects;   /* of CvGatewayLink, not owned */
  gboolean removed;
} Session;

/* Two one-time tickets, one per side, and the halves that presented them. */
typedef struct {
  CvGateway *gateway;
  char *session_id;
  char *ticket[2];                /* [0] share side, [1] connect side */
  GSocketConnection *half[2];
  guint timer_id;
  CvGatewayLink *requester; /* not owned; NULL once it closed */
} Rendezvous;

/* A connection whose first bytes have not been read yet. */
typedef struct {
  CvGateway *gateway;
  GSocketConnection *connection;
  GCancellable *cancellable;
  GSource *source;
  guint timer_id;
  char preface[CV_TUNNEL_PREFACE_LENGTH];
  gsize preface_len;
  CvAdmissionSlot *slot;
  char *remote; /* the peer's address, looked up once at accept */
} Pending;

struct _CvGateway {
  GObject parent_instance;

  CvGatewayConfig *config;
  CvIdentity *identity;
  CvAuthLimiter *limiter;
  GSocketService *service;
  GArray *ports;
  CvMuxConfig mux_config;

  GHashTable *sessions; /* id → Session */
  GHashTable *tickets;  /* ticket → Rendezvous (two entries per rendezvous) */
  GPtrArray *links;     /* of CvGatewayLink, owned */
  GHashTable *pending;  /* Pending set */
  CvAdmission *admission;
  GHashTable *verifying; /* address → password checks under way */
  guint n_rendezvous;
  guint n_tunnels;
  GCancellable *cancellable;
  char *record_path;
  gboolean shutting_down;
};

G_DEFINE_FINAL_TYPE (CvGateway, cv_gateway, G_TYPE_OBJECT)

static void session_free (gpointer data);
static void pending_free (Pending *pending);
static void rendezvous_free (Rendezvous *rendezvous);

/* Rendezvous hold no reference to the gateway, and their timers would fire into a
 * finalized one: they go with it, and a half already presented is closed. */
static void
forget_rendezvous (CvGateway *self)
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

static void
cv_gateway_dispose (GObject *object)
{
  CvGateway *self = CV_GATEWAY (object);

  g_cancellable_cancel (self->cancellable);
  if (self->service != NULL)
    {
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
      g_clear_object (&self->service);
    }
  g_clear_pointer (&self->pending, g_hash_table_unref);
  forget_rendezvous (self);
  if (self->links != NULL)
    {
      for (guint i = 0; i < self->links->len; i++)
        {
          g_signal_handlers_disconnect_by_data (self->links->pdata[i], self);
          cv_gateway_link_close (self->links->pdata[i]);
        }
      g_clear_pointer (&self->links, g_ptr_array_unref);
    }
  g_clear_pointer (&self->sessions, g_hash_table_unref);

  G_OBJECT_CLASS (cv_gateway_parent_class)->dispose (object);
}

static void
cv_gateway_finalize (GObject *object)
{
  CvGateway *self = CV_GATEWAY (object);

  g_clear_pointer (&self->config, cv_gateway_config_free);
  g_clear_object (&self->identity);
  g_clear_object (&self->limiter);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->ports, g_array_unref);
  g_clear_pointer (&self->admission, cv_admission_unref);
  g_clear_pointer (&self->verifying, g_hash_table_unref);
  g_free (self->record_path);

  G_OBJECT_CLASS (cv_gateway_parent_class)->finalize (object);
}

static void
cv_gateway_class_init (CvGatewayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cv_gateway_dispose;
  object_class->finalize = cv_gateway_finalize;
}

static void
cv_gateway_init (CvGateway *self)
{
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, session_free);
  /* Each rendezvous is in the table twice; only the share-side entry frees it. */
  self->tickets = g_hash_table_new (g_str_hash, g_str_equal);
  self->links = g_ptr_array_new_with_free_func (g_object_unref);
  self->pending = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) pending_free, NULL);
  self->ports = g_array_new (FALSE, FALSE, sizeof (guint16));
  self->cancellable = g_cancellable_new ();
  self->verifying = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/* ---- sessions ----------------------------------------------------------- */

static void
session_free (gpointer data)
{
  Session *session = data;

  g_free (session->id);
  g_free (session->name);
  g_free (session->share_hash);
  g_free (session->connect_hash);
  g_ptr_array_unref (session->connects);
  g_free (session);
}

static void
load_sessions (CvGateway *self, CvGatewayConfig *config)
{
  for (guint i = 0; i < config->sessions->len; i++)
    {
      CvGatewaySession *sc = config->sessions->pdata[i];
      Session *session = g_hash_table_lookup (self->sessions, sc->id);

      if (session == NULL)
        {
          session = g_new0 (Session, 1);
          session->id = g_strdup (sc->id);
          session->connects = g_ptr_array_new ();
          g_hash_table_insert (self->sessions, session->id, session);
        }
      session->removed = FALSE;
      g_free (session->name);
      session->name = g_strdup (sc->name != NULL ? sc->name : sc->id);
      g_free (session->share_hash);
      session->share_hash = g_strdup (sc->share_password_hash);
      g_free (session->connect_hash);
      session->connect_hash = g_strdup (sc->connect_password_hash);
    }
}

static JsonObject *
presence_body (Session *session)
{
  JsonObject *body = json_object_new ();

  json_object_set_boolean_member (body, "share_online", session->share != NULL);
  if (session->share != NULL)
    {
      const CvHello *hello = cv_gateway_link_get_hello (session->share);

      json_object_set_string_member (body, "share_name", hello->name);
      json_object_set_string_member (body, "share_fingerprint",
                                     cv_gateway_link_get_fingerprint (session->share));
    }
  return body;
}

static void
announce_presence (Session *session)
{
  g_autoptr (JsonObject) body = presence_body (session);

  for (guint i = 0; i < session->connects->len; i++)
    cv_gateway_link_send (session->connects->pdata[i], CV_CONTROL_PRESENCE, body);
}

/* ---- tunnels ------------------------------------------------------------ */

static void
rendezvous_free (Rendezvous *rendezvous)
{
  CvGateway *self = rendezvous->gateway;

  g_clear_handle_id (&rendezvous->timer_id, g_source_remove);
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

  rendezvous->timer_id = 0;
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
  g_autoptr (GError) error = NULL;
  CvJoinStats stats = { 0 };
  gboolean ok = cv_socket_join_finish (result, &stats, &error);
  double seconds = (g_get_monotonic_time () - join->started_us) / 1e6;

  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      join->gateway->n_tunnels--;
      g_message ("session %s: tunnel closed after %.1f s, %" G_GUINT64_FORMAT
                 " bytes share→connect, %" G_GUINT64_FORMAT " bytes connect→share%s%s",
                 join->session_id, seconds, stats.bytes_a_to_b, stats.bytes_b_to_a,
                 ok ? "" : ": ", ok ? "" : error->message);
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
  self->n_tunnels++;
  g_message ("session %s: tunnel joined", rendezvous->session_id);
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

static void
offer_tunnel (CvGateway *self, Session *session, CvGatewayLink *connect)
{
  Rendezvous *rendezvous;
  g_autoptr (JsonObject) to_share = json_object_new ();
  g_autoptr (JsonObject) to_connect = json_object_new ();

  if (session->share == NULL)
    {
      g_autoptr (JsonObject) body = presence_body (session);
      cv_gateway_link_send (connect, CV_CONTROL_PRESENCE, body);
      return;
    }
  if (self->n_tunnels + self->n_rendezvous >= self->config->limits.max_tunnels)
    {
      g_warning ("session %s: tunnel refused: the gateway carries its maximum of %u tunnels",
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
  rendezvous->timer_id = g_timeout_add (self->config->limits.ticket_timeout_ms,
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

static void
accept_tunnel_half (CvGateway *self, GSocketConnection *connection, const char *ticket,
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

/* ---- control links ------------------------------------------------------ */

static void
forget_link (CvGateway *self, CvGatewayLink *link)
{
  Session *session = cv_gateway_link_get_session (link);

  if (session != NULL)
    {
      if (session->share == link)
        {
          session->share = NULL;
          g_message ("session %s: share agent offline", session->id);
          announce_presence (session);
        }
      g_ptr_array_remove (session->connects, link);
      cv_gateway_link_set_session (link, NULL);
    }
}

static void
on_link_closed (CvGatewayLink *link, const GError *error, CvGateway *self)
{
  g_autoptr (CvGatewayLink) hold G_GNUC_UNUSED = g_object_ref (link);

  /* An unauthenticated link gives its admission slot back as it goes. */
  g_object_set_data (G_OBJECT (link), "cv-admission-slot", NULL);
  forget_link (self, link);
  if (error != NULL && cv_gateway_link_is_welcomed (link))
    g_message ("%s: control link closed: %s", cv_gateway_link_get_remote_string (link),
               error->message);
  g_signal_handlers_disconnect_by_data (link, self);
  g_ptr_array_remove (self->links, link);
}

static void
admit (CvGateway *self, CvGatewayLink *link, Session *session)
{
  const CvHello *hello = cv_gateway_link_get_hello (link);
  g_autoptr (JsonObject) limits = NULL;

  g_object_set_data (G_OBJECT (link), "cv-admission-slot", NULL);
  cv_gateway_link_set_session (link, session);
  if (hello->role == CV_AGENT_ROLE_SHARE)
    {
      if (session->share != NULL)
        {
          CvGatewayLink *old = session->share;
          g_autofree char *why = g_strdup_printf ("replaced by share agent “%s” from %s",
                                                  hello->name,
                                                  cv_gateway_link_get_remote_string (link));

          g_message ("session %s: share agent “%s” from %s %s", session->id,
                     cv_gateway_link_get_hello (old)->name,
                     cv_gateway_link_get_remote_string (old), why);
          cv_gateway_link_set_session (old, NULL);
          cv_gateway_link_goaway (old, CV_GOAWAY_REASON_REPLACED, why);
        }
      session->share = link;
      /* The gateway cannot see inside tunnels; the share agent enforces this one. */
      limits = json_object_new ();
      json_object_set_int_member (limits, "max_channels_per_tunnel",
                                  self->config->limits.max_channels_per_tunnel);
      cv_gateway_link_welcome (link, limits);
      g_message ("session %s: share agent “%s” online from %s (key %s)", session->id, hello->name,
                 cv_gateway_link_get_remote_string (link), cv_gateway_link_get_fingerprint (link));
      announce_presence (session);
    }
  else
    {
      g_autoptr (JsonObject) body = presence_body (session);

      g_ptr_array_add (session->connects, link);
      cv_gateway_link_welcome (link, body);
      g_message ("session %s: connect agent “%s” online from %s", session->id, hello->name,
                 cv_gateway_link_get_remote_string (link));
    }
}

typedef struct {
  char *hash;
  char *password;
  char *address;
} Verify;

/* Password checks under way per address.  The limiter counts failures only once a
 * check has failed, so without this cap a client could start many guesses at once
 * and have them all checked before the first failure is counted. */
#define MAX_VERIFYING_PER_ADDRESS 2

static guint
verifying_count (CvGateway *self, const char *address)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (self->verifying, address));
}

static void
verifying_add (CvGateway *self, const char *address, int delta)
{
  guint count = verifying_count (self, address) + delta;

  if (count == 0)
    g_hash_table_remove (self->verifying, address);
  else
    g_hash_table_insert (self->verifying, g_strdup (address), GUINT_TO_POINTER (count));
}

static void
verify_free (Verify *verify)
{
  g_free (verify->hash);
  g_free (verify->address);
  if (verify->password != NULL)
    {
      sodium_memzero (verify->password, strlen (verify->password));
      g_free (verify->password);
    }
  g_free (verify);
}

/* Argon2 costs tens of milliseconds of CPU on purpose: never on the main loop. */
static void
verify_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Verify *verify = data;

  g_task_return_boolean (task, cv_password_verify (verify->hash, verify->password));
}

/* The check's task has no source object: the worker thread may drop the task's last
 * reference after the callback has run, and with it the last one to the gateway,
 * whose dispose would then run on that thread.  These references are dropped by
 * the callback, on the main thread. */
typedef struct {
  CvGateway *gateway;
  CvGatewayLink *link;
} VerifyCaller;

static void
on_verified (GObject *source, GAsyncResult *result, gpointer user_data)
{
  VerifyCaller *caller = user_data;
  g_autoptr (CvGateway) self = caller->gateway;
  g_autoptr (CvGatewayLink) link = caller->link;
  g_autoptr (GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (result), &error);
  Verify *verify = g_task_get_task_data (G_TASK (result));
  const CvHello *hello = cv_gateway_link_get_hello (link);
  Session *session;

  g_free (caller);
  if (self->verifying != NULL)
    verifying_add (self, verify->address, -1);
  if (error != NULL || self->links == NULL || !g_ptr_array_find (self->links, link, NULL))
    return; /* cancelled (shutting down), or the link closed meanwhile */
  if (self->shutting_down)
    {
      cv_gateway_link_refuse (link, CV_REASON_SHUTTING_DOWN, "the gateway is shutting down", 0);
      return;
    }
  session = g_hash_table_lookup (self->sessions, hello->session);
  if (!ok || session == NULL || session->removed)
    {
      cv_auth_limiter_record_failure (self->limiter, cv_gateway_link_get_remote (link),
                                      g_get_monotonic_time ());
      g_message ("%s: %s agent for session %s: wrong password",
                 cv_gateway_link_get_remote_string (link), cv_agent_role_to_string (hello->role),
                 hello->session);
      cv_gateway_link_refuse (link, CV_REASON_BAD_PASSWORD, "wrong password for this session", 0);
      return;
    }
  /* A success does not wipe the address's failures: one valid password must not buy
   * unlimited guesses at another session's.  Failures fade with the limiter's window. */
  admit (self, link, session);
}

static void
on_link_hello (CvGatewayLink *link, CvGateway *self)
{
  const CvHello *hello = cv_gateway_link_get_hello (link);
  const char *remote = cv_gateway_link_get_remote_string (link);
  gint64 retry_after_us = 0;
  Session *session;
  Verify *verify;
  VerifyCaller *caller;
  g_autoptr (GTask) task = NULL;

  if (self->shutting_down)
    {
      cv_gateway_link_refuse (link, CV_REASON_SHUTTING_DOWN, "the gateway is shutting down", 0);
      return;
    }
  if (hello->version != CV_PROTOCOL_VERSION)
    {
      g_autofree char *message = g_strdup_printf ("this gateway speaks version %u, the agent %u",
                                                  CV_PROTOCOL_VERSION, hello->version);
      cv_gateway_link_refuse (link, CV_REASON_VERSION_MISMATCH, message, 0);
      return;
    }
  if (!cv_auth_limiter_check (self->limiter, cv_gateway_link_get_remote (link),
                              g_get_monotonic_time (), &retry_after_us))
    {
      g_message ("%s: too many failed logins; told to wait %" G_GINT64_FORMAT " ms", remote,
                 retry_after_us / 1000);
      cv_gateway_link_refuse (link, CV_REASON_RATE_LIMITED,
                              "too many failed attempts from this address",
                              (guint) MAX (retry_after_us / 1000, 1));
      return;
    }
  if (g_ascii_strcasecmp (hello->fingerprint, cv_gateway_link_get_fingerprint (link)) != 0)
    {
      cv_gateway_link_refuse (link, CV_REASON_BAD_REQUEST,
                              "the key in HELLO is not the key of the TLS connection", 0);
      return;
    }
  session = g_hash_table_lookup (self->sessions, hello->session);
  if (session == NULL || session->removed)
    {
      cv_auth_limiter_record_failure (self->limiter, cv_gateway_link_get_remote (link),
                                      g_get_monotonic_time ());
      g_message ("%s: unknown session “%s”", remote, hello->session);
      cv_gateway_link_refuse (link, CV_REASON_UNKNOWN_SESSION, "no such session on this gateway",
                              0);
      return;
    }

  if (verifying_count (self, remote) >= MAX_VERIFYING_PER_ADDRESS)
    {
      cv_gateway_link_refuse (link, CV_REASON_RATE_LIMITED,
                              "a login from this address is already being checked", 1000);
      return;
    }
  verifying_add (self, remote, +1);
  verify = g_new0 (Verify, 1);
  verify->address = g_strdup (remote);
  verify->hash = g_strdup (hello->role == CV_AGENT_ROLE_SHARE ? session->share_hash
                                                              : session->connect_hash);
  verify->password = g_strdup (hello->password);
  caller = g_new0 (VerifyCaller, 1);
  caller->gateway = g_object_ref (self);
  caller->link = g_object_ref (link);
  task = g_task_new (NULL, self->cancellable, on_verified, caller);
  g_task_set_source_tag (task, on_link_hello);
  g_task_set_task_data (task, verify, (GDestroyNotify) verify_free);
  g_task_run_in_thread (task, verify_in_thread);
}

static void
on_link_message (CvGatewayLink *link, guint type, JsonObject *body, CvGateway *self)
{
  Session *session = cv_gateway_link_get_session (link);
  const CvHello *hello = cv_gateway_link_get_hello (link);

  if (session == NULL)
    return; /* replaced, or its session was removed: it is on its way out */
  if (type == CV_CONTROL_TUNNEL_REQUEST && hello->role == CV_AGENT_ROLE_CONNECT)
    {
      offer_tunnel (self, session, link);
      return;
    }
  cv_gateway_link_goaway (link, CV_GOAWAY_REASON_PROTOCOL_ERROR,
                          "unexpected control message for this role");
}

typedef struct {
  CvGateway *gateway;
  GInetAddress *remote;
  CvAdmissionSlot *slot;
} Handshake;

static void
on_tls_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Handshake *handshake = user_data;
  CvGateway *self = handshake->gateway;
  g_autoptr (GError) error = NULL;
  g_autoptr (CvTlsStream) tls = CV_TLS_STREAM (source);
  g_autofree char *remote = g_inet_address_to_string (handshake->remote);
  CvGatewayLink *link;
  const char *fingerprint;

  if (!cv_tls_stream_handshake_finish (tls, result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->links != NULL)
        g_message ("%s: TLS handshake failed: %s", remote, error->message);
      g_io_stream_close (G_IO_STREAM (tls), NULL, NULL);
      goto out;
    }
  /* The handshake required a certificate: there is a fingerprint. */
  fingerprint = cv_tls_stream_get_peer_fingerprint (tls);
  link = cv_gateway_link_new (G_IO_STREAM (tls), handshake->remote, fingerprint, &self->mux_config,
                              self->config->limits.handshake_timeout_ms);
  g_object_set_data_full (G_OBJECT (link), "cv-admission-slot", g_steal_pointer (&handshake->slot),
                          (GDestroyNotify) cv_admission_slot_release);
  g_ptr_array_add (self->links, link);
  g_signal_connect (link, "hello", G_CALLBACK (on_link_hello), self);
  g_signal_connect (link, "message", G_CALLBACK (on_link_message), self);
  g_signal_connect (link, "closed", G_CALLBACK (on_link_closed), self);
  cv_gateway_link_start (link);

out:
  cv_admission_slot_release (handshake->slot);
  g_object_unref (handshake->remote);
  g_object_unref (handshake->gateway);
  g_free (handshake);
}

/* ---- new connections ---------------------------------------------------- */

static void
pending_free (Pending *pending)
{
  g_clear_handle_id (&pending->timer_id, g_source_remove);
  if (pending->source != NULL)
    {
      g_source_destroy (pending->source);
      g_source_unref (pending->source);
    }
  g_clear_object (&pending->connection);
  g_clear_object (&pending->cancellable);
  cv_admission_slot_release (pending->slot);
  g_free (pending->remote);
  g_free (pending);
}

static char *
remote_of (GSocketConnection *connection)
{
  g_autoptr (GSocketAddress) address = g_socket_connection_get_remote_address (connection, NULL);

  if (G_IS_INET_SOCKET_ADDRESS (address))
    return g_inet_address_to_string (
      g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)));
  return g_strdup ("(unknown)");
}

static GInetAddress *
remote_address_of (GSocketConnection *connection)
{
  g_autoptr (GSocketAddress) address = g_socket_connection_get_remote_address (connection, NULL);

  if (G_IS_INET_SOCKET_ADDRESS (address))
    return g_object_ref (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)));
  return g_inet_address_new_any (G_SOCKET_FAMILY_IPV4);
}

/* Drop a pending connection: @keep_open when it moves on to TLS or a rendezvous. */
static void
pending_done (Pending *pending, gboolean keep_open)
{
  CvGateway *self = pending->gateway;

  if (!keep_open)
    g_io_stream_close (G_IO_STREAM (pending->connection), NULL, NULL);
  g_hash_table_remove (self->pending, pending);
}

static gboolean
on_pending_timeout (gpointer user_data)
{
  Pending *pending = user_data;

  pending->timer_id = 0;
  g_message ("%s: nothing useful within the handshake deadline; closing", pending->remote);
  pending_done (pending, FALSE);
  return G_SOURCE_REMOVE;
}

static void
start_tls (Pending *pending)
{
  CvGateway *self = pending->gateway;
  Handshake *handshake;
  g_autoptr (GCancellable) deadline = g_object_ref (pending->cancellable);
  g_autoptr (GError) error = NULL;
  CvTlsStream *tls = cv_tls_stream_new (pending->connection, TRUE, self->identity, &error);

  if (tls == NULL)
    {
      g_warning ("%s: %s", pending->remote, error->message);
      g_io_stream_close (G_IO_STREAM (pending->connection), NULL, NULL);
      return;
    }
  handshake = g_new0 (Handshake, 1);

  handshake->gateway = g_object_ref (self);
  handshake->remote = remote_address_of (pending->connection);
  handshake->slot = g_steal_pointer (&pending->slot);
  /* The link's own HELLO deadline takes over once TLS is up. */
  /* Any client certificate will do: it is the agent's key, which the gateway only
   * records and announces; the password authenticates.  GnuTLS driven directly: no
   * worker thread per handshake (glib-networking's GTlsConnection runs each one on
   * a thread of GLib's pool, so stalled handshakes held up the rest). */
  cv_tls_stream_handshake_async (tls, NULL, CV_TLS_ALPN, self->config->limits.handshake_timeout_ms,
                                 deadline, on_tls_done, handshake);
}

static gboolean on_pending_readable (GSocket *socket, GIOCondition condition, gpointer user_data);

static void
watch_pending (Pending *pending)
{
  GSocket *socket = g_socket_connection_get_socket (pending->connection);

  if (pending->source != NULL)
    {
      g_source_destroy (pending->source);
      g_source_unref (pending->source);
    }
  pending->source = g_socket_create_source (socket, G_IO_IN, NULL);
  g_source_set_callback (pending->source, G_SOURCE_FUNC (on_pending_readable), pending, NULL);
  g_source_attach (pending->source, NULL);
}

static gboolean
on_pending_readable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  Pending *pending = user_data;
  CvGateway *self = pending->gateway;
  const char *remote = pending->remote;
  g_autoptr (GError) error = NULL;
  gssize n;

  g_clear_pointer (&pending->source, g_source_unref);

  if (pending->preface_len == 0)
    {
      guint8 first = 0;

      /* Peek, so a TLS handshake finds its ClientHello intact. */
      n = recv (g_socket_get_fd (socket), (char *) &first, 1, MSG_PEEK);
      if (n <= 0)
        {
          pending_done (pending, FALSE);
          return G_SOURCE_REMOVE;
        }
      if (first == TLS_RECORD_HANDSHAKE)
        {
          /* From here the TLS handshake's own deadline applies. */
          g_clear_handle_id (&pending->timer_id, g_source_remove);
          start_tls (pending);
          pending_done (pending, TRUE);
          return G_SOURCE_REMOVE;
        }
      if (first != CV_TUNNEL_PREFACE_PREFIX[0])
        {
          g_message ("%s: not a Culvert agent (first byte 0x%02x); closing", remote, first);
          pending_done (pending, FALSE);
          return G_SOURCE_REMOVE;
        }
    }

  n = g_socket_receive (socket, pending->preface + pending->preface_len,
                        sizeof pending->preface - pending->preface_len, NULL, &error);
  if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    {
      watch_pending (pending);
      return G_SOURCE_REMOVE;
    }
  if (n <= 0)
    {
      pending_done (pending, FALSE);
      return G_SOURCE_REMOVE;
    }
  pending->preface_len += n;
  if (pending->preface_len < sizeof pending->preface)
    {
      watch_pending (pending);
      return G_SOURCE_REMOVE;
    }

  {
    g_autofree char *ticket = cv_tunnel_preface_parse (pending->preface, pending->preface_len,
                                                       &error);

    if (ticket == NULL)
      {
        g_message ("%s: %s; closing", remote, error->message);
        pending_done (pending, FALSE);
        return G_SOURCE_REMOVE;
      }
    accept_tunnel_half (self, pending->connection, ticket, remote);
    pending_done (pending, TRUE);
  }
  return G_SOURCE_REMOVE;
}

static gboolean
on_incoming (GSocketService *service, GSocketConnection *connection, GObject *source,
             gpointer user_data)
{
  CvGateway *self = user_data;
  GSocket *socket = g_socket_connection_get_socket (connection);
  Pending *pending;

  g_autofree char *remote = remote_of (connection);
  g_autoptr (GError) error = NULL;
  CvAdmissionSlot *slot;

  if (self->shutting_down)
    return TRUE; /* dropping our reference closes it */
  if (self->links->len >= self->config->limits.max_links)
    {
      g_warning ("%s: refused: the gateway has its maximum of %u links", remote,
                 self->config->limits.max_links);
      return TRUE;
    }
  slot = cv_admission_take (self->admission, remote, &error);
  if (slot == NULL)
    {
      g_warning ("%s: refused: %s", remote, error->message);
      return TRUE;
    }

  g_socket_set_blocking (socket, FALSE);
  g_socket_set_option (socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  g_socket_set_keepalive (socket, TRUE);
  pending = g_new0 (Pending, 1);
  pending->slot = slot;
  pending->remote = g_steal_pointer (&remote);
  pending->gateway = self;
  pending->connection = g_object_ref (connection);
  pending->cancellable = g_cancellable_new ();
  pending->timer_id = g_timeout_add (self->config->limits.handshake_timeout_ms, on_pending_timeout,
                                     pending);
  g_hash_table_add (self->pending, pending);
  watch_pending (pending);
  return TRUE;
}

/* ---- public ------------------------------------------------------------- */

/* One address may hold an eighth of the handshake slots (at least 16): an office
 * behind one NAT reconnecting after a restart gets in; one client cannot lock
 * everyone out. */
static guint
pending_per_address (const CvGatewayLimits *limits)
{
  return MAX (16, limits->max_pending_handshakes / 8);
}

/**
 * cv_gateway_new:
 * @config: (transfer full): the configuration
 * @identity: the gateway's certificate and key
 */
CvGateway *
cv_gateway_new (CvGatewayConfig *config, CvIdentity *identity)
{
  CvGateway *self = g_object_new (CV_TYPE_GATEWAY, NULL);
  CvAuthLimits limits;

  self->config = config;
  self->identity = g_object_ref (identity);
  cv_auth_limits_init_defaults (&limits);
  limits.max_failures = config->limits.auth_failures_before_backoff;
  limits.max_backoff_us = (gint64) config->limits.auth_backoff_max_ms * 1000;
  self->limiter = cv_auth_limiter_new (&limits);
  self->admission = cv_admission_new (config->limits.max_pending_handshakes,
                                      pending_per_address (&config->limits));
  cv_mux_config_init_defaults (&self->mux_config);
  self->mux_config.keepalive_interval_ms = config->limits.keepalive_interval_ms;
  self->mux_config.dead_peer_timeout_ms = config->limits.dead_peer_timeout_ms;
  /* Control links carry a few small messages; no channel ever opens on them. */
  self->mux_config.max_channels = 1;
  self->mux_config.initial_window = 64 * 1024;
  self->mux_config.max_window = 64 * 1024;
  load_sessions (self, config);
  return self;
}

gboolean
cv_gateway_start (CvGateway *self, GError **error)
{
  self->service = g_socket_service_new ();
  for (guint i = 0; i < self->config->listeners->len; i++)
    {
      CvGatewayListener *listen = self->config->listeners->pdata[i];
      guint16 port = 0;

      if (!cv_listen_add (G_SOCKET_LISTENER (self->service), listen->host, listen->port, 1024,
                          &port, error))
        return FALSE;
      g_array_append_val (self->ports, port);
      g_message ("listening on %s port %u", listen->host, port);
    }
  g_signal_connect (self->service, "incoming", G_CALLBACK (on_incoming), self);
  g_socket_service_start (self->service);
  return TRUE;
}

GArray *
cv_gateway_get_listen_ports (CvGateway *self)
{
  return self->ports;
}

void
cv_gateway_set_record_path (CvGateway *self, const char *path)
{
  g_free (self->record_path);
  self->record_path = g_strdup (path);
}

guint
cv_gateway_get_n_links (CvGateway *self)
{
  return self->links != NULL ? self->links->len : 0;
}

guint
cv_gateway_get_n_tunnels (CvGateway *self)
{
  return self->n_tunnels;
}

/* New sessions and credentials take effect for the next login; links and tunnels that
 * are up stay up, except those of sessions that no longer exist. */
gboolean
cv_gateway_reload (CvGateway *self, CvGatewayConfig *config, GError **error)
{
  GHashTableIter iter;
  gpointer value;
  guint removed = 0;

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    ((Session *) value)->removed = TRUE;
  load_sessions (self, config);

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Session *session = value;

      if (!session->removed)
        continue;
      removed++;
      if (session->share != NULL)
        {
          cv_gateway_link_set_session (session->share, NULL);
          cv_gateway_link_goaway (session->share, CV_GOAWAY_REASON_SHUTTING_DOWN,
                                  "the session was removed from the gateway");
        }
      for (guint i = 0; i < session->connects->len; i++)
        {
          cv_gateway_link_set_session (session->connects->pdata[i], NULL);
          cv_gateway_link_goaway (session->connects->pdata[i], CV_GOAWAY_REASON_SHUTTING_DOWN,
                                  "the session was removed from the gateway");
        }
      g_hash_table_iter_remove (&iter);
    }
  g_message ("configuration reloaded: %u sessions, %u removed", config->sessions->len, removed);
  cv_admission_set_limits (self->admission, config->limits.max_pending_handshakes,
                           pending_per_address (&config->limits));
  /* New links get the new keepalive; the failed-login limiter keeps its state and its
   * policy until a restart (a reload must not forgive an attacker). */
  self->mux_config.keepalive_interval_ms = config->limits.keepalive_interval_ms;
  self->mux_config.dead_peer_timeout_ms = config->limits.dead_peer_timeout_ms;
  cv_gateway_config_free (self->config);
  self->config = config;
  return TRUE;
}

/* Graceful: GOAWAY to every agent, no new connections; tunnels are cut. */
void
cv_gateway_shutdown (CvGateway *self)
{
  if (self->shutting_down)
    return;
  self->shutting_down = TRUE;
  if (self->service != NULL)
    {
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
    }
  for (guint i = 0; i < self->links->len; i++)
    cv_gateway_link_goaway (self->links->pdata[i], CV_GOAWAY_REASON_SHUTTING_DOWN,
                            "the gateway is shutting down");
  g_cancellable_cancel (self->cancellable);
}

gboolean
cv_gateway_is_idle (CvGateway *self)
{
  return self->links->len == 0;
}
