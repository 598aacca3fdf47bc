/* cv-gateway-sessions.c: the gateway's sessions, the control links logged in to them,
 * and presence (whether a session's share agent is online, told to its connect agents). */
#include "roles/cv-gateway-private.h"

#include "base/cv-log-escape.h"
#include "wire/cv-control.h"

void
cv_gateway_session_state_free (gpointer data)
{
  CvGatewaySessionState *session = data;

  g_free (session->id);
  g_free (session->name);
  g_free (session->share_hash);
  g_free (session->connect_hash);
  g_ptr_array_unref (session->connects);
  g_free (session);
}

void
cv_gateway_load_sessions (CvGateway *self, CvGatewayConfig *config)
{
  for (guint i = 0; i < config->sessions->len; i++)
    {
      CvGatewaySession *sc = config->sessions->pdata[i];
      CvGatewaySessionState *session = g_hash_table_lookup (self->sessions, sc->id);

      if (session == NULL)
        {
          session = g_new0 (CvGatewaySessionState, 1);
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

CvGatewaySessionState *
cv_gateway_find_session (CvGateway *self, const char *id)
{
  CvGatewaySessionState *session = g_hash_table_lookup (self->sessions, id);
  CvGatewaySessionState *code;

  if (session != NULL || !g_str_has_prefix (id, "code ") || self->codes_by_plate == NULL)
    return session;
  /* A code's session is its first member (cv-gateway-codes.c). */
  code = g_hash_table_lookup (self->codes_by_plate, id + 5);
  return code != NULL && g_str_equal (code->id, id) ? code : NULL;
}

JsonObject *
cv_gateway_presence_body (CvGatewaySessionState *session)
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
announce_presence (CvGatewaySessionState *session)
{
  g_autoptr (JsonObject) body = cv_gateway_presence_body (session);

  for (guint i = 0; i < session->connects->len; i++)
    cv_gateway_link_send (session->connects->pdata[i], CV_CONTROL_PRESENCE, body);
}

static void
forget_link (CvGateway *self, CvGatewayLink *link)
{
  CvGatewaySessionState *session = cv_gateway_link_get_session (link);

  if (session != NULL && session->code != NULL)
    cv_gateway_code_forget_link (self, link);
  else if (session != NULL)
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
  CV_GATEWAY_ON_ITS_CONTEXT (self);
  g_autoptr (CvGatewayLink) hold G_GNUC_UNUSED = g_object_ref (link);

  /* An unauthenticated link gives its admission slot back as it goes. */
  /* Its address may use the reserved admission slots from now on. */
  cv_admission_remember (self->admission, cv_gateway_link_get_remote (link));
  g_object_set_data (G_OBJECT (link), "cv-admission-slot", NULL);
  forget_link (self, link);
  if (error != NULL && cv_gateway_link_is_welcomed (link))
    {
      /* The error may quote the agent's GOAWAY text. */
      g_autofree char *why = cv_log_escape (error->message, -1);

      g_message ("%s: control link closed: %s", cv_gateway_link_get_remote_string (link), why);
    }
  g_signal_handlers_disconnect_by_data (link, self);
  g_ptr_array_remove (self->links, link);
  cv_gateway_counts_changed (self);
}

static const char *
session_hash (CvGatewaySessionState *session, CvAgentRole role)
{
  return role == CV_AGENT_ROLE_SHARE ? session->share_hash : session->connect_hash;
}

const char *
cv_gateway_link_admitted_hash (CvGatewayLink *link)
{
  return g_object_get_data (G_OBJECT (link), "cv-admitted-hash");
}

/* Why @link, its password checked, may not join @session now, or NULL.  A share agent
 * that logs in replaces the session's, so the old one is not counted. */
static char *
over_agent_limits (CvGateway *self, CvGatewayLink *link, CvGatewaySessionState *session)
{
  const CvGatewayLimits *limits = &self->config->limits;
  gboolean share = cv_gateway_link_get_hello (link)->role == CV_AGENT_ROLE_SHARE;
  guint in_session = session->connects->len + 1 + (!share && session->share != NULL ? 1 : 0);
  guint with_key = 1;

  if (in_session > limits->max_links_per_session)
    return g_strdup_printf ("session %s has its maximum of %u agents online", session->id,
                            limits->max_links_per_session);
  for (guint i = 0; i < self->links->len; i++)
    {
      CvGatewayLink *other = self->links->pdata[i];

      if (other != link && cv_gateway_link_get_session (other) != NULL
          && !(share && other == session->share)
          && g_ascii_strcasecmp (cv_gateway_link_get_fingerprint (other),
                                 cv_gateway_link_get_fingerprint (link))
               == 0)
        with_key++;
    }
  if (with_key > limits->max_links_per_key)
    return g_strdup_printf ("%u agents with this key are online, the most this gateway allows",
                            limits->max_links_per_key);
  return NULL;
}

void
cv_gateway_admit (CvGateway *self, CvGatewayLink *link, CvGatewaySessionState *session)
{
  const CvHello *hello = cv_gateway_link_get_hello (link);
  g_autofree char *name = cv_log_escape (hello->name, -1);
  g_autofree char *over = over_agent_limits (self, link, session);
  g_autoptr (JsonObject) limits = NULL;

  if (over != NULL)
    {
      /* Not a failed login: the limiter does not count it. */
      g_message ("session %s: %s agent “%s” from %s refused: %s", session->id,
                 cv_agent_role_to_string (hello->role), name,
                 cv_gateway_link_get_remote_string (link), over);
      cv_gateway_link_refuse (link, CV_REASON_LIMIT_REACHED, over, 0);
      return;
    }
  g_object_set_data (G_OBJECT (link), "cv-admission-slot", NULL);
  cv_gateway_link_set_session (link, session);
  /* What a reload compares: a link stays only while its session keeps this hash. */
  g_object_set_data_full (G_OBJECT (link), "cv-admitted-hash",
                          g_strdup (session_hash (session, hello->role)), g_free);
  if (hello->role == CV_AGENT_ROLE_SHARE)
    {
      if (session->share != NULL)
        {
          CvGatewayLink *old = session->share;
          g_autofree char *old_name = cv_log_escape (cv_gateway_link_get_hello (old)->name, -1);
          g_autofree char *why = g_strdup_printf ("replaced by share agent “%s” from %s",
                                                  hello->name,
                                                  cv_gateway_link_get_remote_string (link));

          /* A message, not a g_warning (an agent may log in anew at any time), but the
           * words carry the alarm: a takeover is how a stolen share password shows. */
          g_message ("WARNING: session %s: share agent “%s” from %s (key %s) replaced by share "
                     "agent “%s” from %s (key %s)",
                     session->id, old_name, cv_gateway_link_get_remote_string (old),
                     cv_gateway_link_get_fingerprint (old), name,
                     cv_gateway_link_get_remote_string (link),
                     cv_gateway_link_get_fingerprint (link));
          cv_gateway_link_set_session (old, NULL);
          cv_gateway_link_goaway (old, CV_GOAWAY_REASON_REPLACED, why);
        }
      session->share = link;
      /* The gateway cannot see inside tunnels; the share agent enforces this one. */
      limits = json_object_new ();
      json_object_set_int_member (limits, "max_channels_per_tunnel",
                                  self->config->limits.max_channels_per_tunnel);
      cv_gateway_link_welcome (link, limits);
      g_message ("session %s: share agent “%s” online from %s (key %s)", session->id, name,
                 cv_gateway_link_get_remote_string (link), cv_gateway_link_get_fingerprint (link));
      announce_presence (session);
      cv_gateway_counts_changed (self);
    }
  else
    {
      g_autoptr (JsonObject) body = cv_gateway_presence_body (session);

      g_ptr_array_add (session->connects, link);
      cv_gateway_link_welcome (link, body);
      g_message ("session %s: connect agent “%s” online from %s", session->id, name,
                 cv_gateway_link_get_remote_string (link));
    }
}

static void
on_link_message (CvGatewayLink *link, guint type, JsonObject *body, CvGateway *self)
{
  CV_GATEWAY_ON_ITS_CONTEXT (self);
  CvGatewaySessionState *session = cv_gateway_link_get_session (link);
  const CvHello *hello = cv_gateway_link_get_hello (link);

  if (session == NULL)
    return; /* replaced, or its session was removed: it is on its way out */
  if (session->code != NULL)
    {
      cv_gateway_code_message (self, link, type, body);
      return;
    }
  if (type == CV_CONTROL_TUNNEL_REQUEST && hello->role == CV_AGENT_ROLE_CONNECT)
    {
      cv_gateway_offer_tunnel (self, session, link);
      return;
    }
  cv_gateway_link_goaway (link, CV_GOAWAY_REASON_PROTOCOL_ERROR,
                          "unexpected control message for this role");
}

/* Agents' links from the TLS handshake on: the gateway owns them until they close. */
static void
on_link_no_hello (CvGatewayLink *link, CvGateway *self)
{
  cv_log_summary_note (self->junk, CV_GATEWAY_JUNK_NO_HELLO, "%s: no HELLO within %u ms; closing",
                       cv_gateway_link_get_remote_string (link),
                       cv_gateway_link_get_hello_timeout_ms (link));
}

void
cv_gateway_add_link (CvGateway *self, CvGatewayLink *link)
{
  g_ptr_array_add (self->links, link);
  g_signal_connect (link, "hello", G_CALLBACK (cv_gateway_on_link_hello), self);
  g_signal_connect (link, "message", G_CALLBACK (on_link_message), self);
  g_signal_connect (link, "closed", G_CALLBACK (on_link_closed), self);
  g_signal_connect (link, "no-hello", G_CALLBACK (on_link_no_hello), self);
  cv_gateway_counts_changed (self);
}

/* cv_gateway_stop(): every link closed now, none told why. */
void
cv_gateway_drop_links (CvGateway *self)
{
  g_autoptr (GPtrArray) links = g_steal_pointer (&self->links);

  self->links = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < links->len; i++)
    {
      CvGatewayLink *link = links->pdata[i];

      g_signal_handlers_disconnect_by_data (link, self);
      g_object_set_data (G_OBJECT (link), "cv-admission-slot", NULL);
      forget_link (self, link);
      cv_gateway_link_close (link);
    }
}

guint
cv_gateway_count_sessions_online (CvGateway *self)
{
  GHashTableIter iter;
  gpointer value;
  guint n = 0;

  if (self->sessions == NULL)
    return 0;
  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((CvGatewaySessionState *) value)->share != NULL)
      n++;
  return n;
}

static void
send_away_removed (CvGatewayLink *link)
{
  cv_gateway_link_set_session (link, NULL);
  cv_gateway_link_goaway (link, CV_GOAWAY_REASON_SHUTTING_DOWN,
                          "the session was removed from the gateway");
}

/* Sessions no longer in the configuration (marked by cv_gateway_load_sessions())
 * go, and their agents are told to go.  Returns: how many went */
guint
cv_gateway_drop_removed_sessions (CvGateway *self)
{
  GHashTableIter iter;
  gpointer value;
  guint removed = 0;

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      CvGatewaySessionState *session = value;

      if (!session->removed)
        continue;
      removed++;
      if (session->share != NULL)
        send_away_removed (session->share);
      for (guint i = 0; i < session->connects->len; i++)
        send_away_removed (session->connects->pdata[i]);
      g_hash_table_iter_remove (&iter);
    }
  return removed;
}

/* Whether @link logged in with a hash its session has no longer; then it is detached
 * from the session (presence told to the others) and told why. */
static gboolean
revoke_if_stale (CvGateway *self, CvGatewayLink *link, CvGatewaySessionState *session)
{
  CvAgentRole role = cv_gateway_link_get_hello (link)->role;
  const char *kind = role == CV_AGENT_ROLE_SHARE ? "share" : "connect";
  g_autofree char *why = NULL;

  if (g_strcmp0 (cv_gateway_link_admitted_hash (link), session_hash (session, role)) == 0)
    return FALSE;
  why = g_strdup_printf ("the %s password of this session was changed on the gateway", kind);
  g_message ("session %s: %s agent from %s logged out: its password was changed", session->id, kind,
             cv_gateway_link_get_remote_string (link));
  forget_link (self, link);
  cv_gateway_link_goaway (link, CV_GOAWAY_REASON_SHUTTING_DOWN, why);
  return TRUE;
}

guint
cv_gateway_revoke_links (CvGateway *self)
{
  GHashTableIter iter;
  gpointer value;
  guint revoked = 0;

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      CvGatewaySessionState *session = value;
      g_autoptr (GPtrArray) connects = g_ptr_array_copy (session->connects, NULL, NULL);

      /* The connect agents first: a share agent that goes is announced to those left. */
      for (guint i = 0; i < connects->len; i++)
        revoked += revoke_if_stale (self, connects->pdata[i], session);
      if (session->share != NULL)
        revoked += revoke_if_stale (self, session->share, session);
    }
  return revoked;
}
