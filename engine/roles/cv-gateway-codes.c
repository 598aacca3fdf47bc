/* cv-gateway-codes.c: session codes at the gateway (SESSION-CODES.md §5).  A share agent
 * that logs in with mode "code" is given a nameplate; the one connect agent that names
 * it claims it; the gateway then relays the agents' CPace exchange (CODE_PAKE, then
 * CODE_CONFIRM, one of each per direction) between the two links of the claim and
 * nothing else, checking its messages for form only.  Once both sides said CODE_DONE,
 * the pair is a session like a configured one: TUNNEL_REQUEST pairs the two links
 * (cv-gateway-rendezvous.c).  A confirmation that fails, a claim link that closes
 * before both DONE, or a PAKE that takes too long burns the nameplate.
 *
 * The gateway never sees the secret, and logs nameplates, names, addresses and keys,
 * never what the PAKE messages carry. */
#include "roles/cv-gateway-private.h"

#include "auth/cv-source-key.h"
#include "base/cv-log-escape.h"
#include "base/cv-source.h"
#include "wire/cv-control.h"

typedef enum {
  CODE_OPEN,      /* allocated, waiting for a claim */
  CODE_CLAIMED,   /* claimed: the PAKE runs */
  CODE_CONFIRMED, /* both CODE_DONE: tunnels may be asked for */
  CODE_GONE,      /* expired, burned or ended: the share link may CODE_RENEW */
} CodeState;

/* What has been relayed or said, one bit each: a second is a protocol error. */
enum {
  SENT_PAKE = 1 << 0,
  SENT_CONFIRM = 1 << 1,
  SENT_DONE = 1 << 2,
};

typedef struct {
  CvGatewaySessionState session; /* first: cv_gateway_find_session() returns it */
  CvGateway *gateway;
  char *nameplate; /* NULL while CODE_GONE */
  CodeState state;
  gint64 expires_at_us; /* real time: an open code's expiry, sent to the share agent */
  GSource *timer;       /* the code's deadline in its state */
  CvGatewayLink *connect;
  char *claim_id;
  gint64 claimed_time; /* real time µs */
  guint sent[2];       /* [0] by the share agent, [1] by the connect agent */
} Code;

typedef struct {
  gint64 window_us;
  guint allocations;
  guint claims;
} Rates;

#define MINUTE_US (60 * G_USEC_PER_SEC)

static void
code_stop_timer (Code *code)
{
  cv_source_clear (&code->timer);
}

static void
code_free (gpointer data)
{
  Code *code = data;

  code_stop_timer (code);
  if (code->nameplate != NULL && code->gateway->codes_by_plate != NULL)
    g_hash_table_remove (code->gateway->codes_by_plate, code->nameplate);
  g_free (code->nameplate);
  g_free (code->claim_id);
  g_free (code->session.id);
  g_free (code->session.name);
  g_ptr_array_unref (code->session.connects);
  g_free (code);
}

void
cv_gateway_codes_init (CvGateway *self)
{
  g_autofree char *file = g_build_filename (self->config->state_dir, "nameplates.json", NULL);
  g_autoptr (GError) error = NULL;

  self->codes = g_hash_table_new_full (NULL, NULL, NULL, code_free);
  self->codes_by_plate = g_hash_table_new (g_str_hash, g_str_equal);
  self->code_rates = cv_source_key_table_new (g_free);
  self->nameplates = cv_nameplates_new (file, self->config->limits.code_cooldown_ms);
  /* Burned and cooling nameplates outlive a restart; a file that cannot be read leaves
   * none cooling, which the operator must hear of. */
  if (!cv_nameplates_load (self->nameplates, g_get_real_time (), &error))
    g_message ("WARNING: nameplates: %s; starting with none cooling", error->message);
}

void
cv_gateway_codes_clear (CvGateway *self)
{
  g_clear_pointer (&self->codes, g_hash_table_unref);
  g_clear_pointer (&self->codes_by_plate, g_hash_table_unref);
  g_clear_pointer (&self->code_rates, g_hash_table_unref);
  g_clear_object (&self->nameplates);
}

/* Whether @link's address, and everyone, may allocate (or claim) one more code this
 * minute; counted if so.  @retry_after_ms: when the minute that refused it ends. */
static gboolean
take_rate (CvGateway *self, CvGatewayLink *link, gboolean claim, guint *retry_after_ms)
{
  const CvGatewayLimits *limits = &self->config->limits;
  gint64 now = g_get_monotonic_time ();
  CvSourceKey key;
  Rates *rates;
  guint *mine, *all;
  guint per_address = claim ? limits->code_claims_per_minute_per_address
                            : limits->code_allocations_per_minute_per_address;
  guint global = claim ? limits->code_claims_per_minute : limits->code_allocations_per_minute;

  if (now - self->code_window_us >= MINUTE_US)
    {
      GHashTableIter iter;
      gpointer value;

      self->code_window_us = now;
      self->code_allocations = self->code_claims = 0;
      /* Addresses whose minute is over are forgotten. */
      g_hash_table_iter_init (&iter, self->code_rates);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        if (now - ((Rates *) value)->window_us >= MINUTE_US)
          g_hash_table_iter_remove (&iter);
    }
  cv_source_key_init (&key, cv_gateway_link_get_remote (link));
  rates = g_hash_table_lookup (self->code_rates, &key);
  if (rates == NULL || now - rates->window_us >= MINUTE_US)
    {
      if (rates == NULL)
        {
          rates = g_new0 (Rates, 1);
          g_hash_table_insert (self->code_rates, g_memdup2 (&key, sizeof key), rates);
        }
      rates->window_us = now;
      rates->allocations = rates->claims = 0;
    }
  mine = claim ? &rates->claims : &rates->allocations;
  all = claim ? &self->code_claims : &self->code_allocations;
  if (*mine >= per_address)
    {
      *retry_after_ms = MAX (1, (guint) ((rates->window_us + MINUTE_US - now) / 1000));
      return FALSE;
    }
  if (*all >= global)
    {
      *retry_after_ms = MAX (1, (guint) ((self->code_window_us + MINUTE_US - now) / 1000));
      return FALSE;
    }
  (*mine)++;
  (*all)++;
  return TRUE;
}

static gboolean on_code_expired (gpointer data);

/* A new nameplate for @code, open for code_ttl_ms; FALSE if none is left. */
static gboolean
code_open (Code *code)
{
  CvGateway *self = code->gateway;
  gint64 now = g_get_real_time ();
  char *nameplate = cv_nameplates_allocate (self->nameplates, now);

  if (nameplate == NULL)
    return FALSE;
  code->nameplate = nameplate;
  code->state = CODE_OPEN;
  code->expires_at_us = now + (gint64) self->config->limits.code_ttl_ms * 1000;
  memset (code->sent, 0, sizeof code->sent);
  g_clear_pointer (&code->claim_id, g_free);
  g_free (code->session.id);
  code->session.id = g_strdup_printf ("code %s", nameplate);
  g_hash_table_insert (self->codes_by_plate, code->nameplate, code);
  code_stop_timer (code);
  code->timer = cv_gateway_add_timeout (self, self->config->limits.code_ttl_ms, on_code_expired,
                                        code);
  return TRUE;
}

/* @code's nameplate goes to cool, and the code waits for a CODE_RENEW (or its share
 * link's end).  @connect_reason: if a connect agent holds the claim, what it is told
 * as it is sent away; NULL to keep it (the session simply ended). */
static void
code_let_go (Code *code, const char *connect_reason)
{
  CvGateway *self = code->gateway;

  code_stop_timer (code);
  if (code->nameplate != NULL)
    {
      g_hash_table_remove (self->codes_by_plate, code->nameplate);
      cv_nameplates_release (self->nameplates, code->nameplate, g_get_real_time ());
      g_clear_pointer (&code->nameplate, g_free);
    }
  code->state = CODE_GONE;
  if (code->connect != NULL)
    {
      CvGatewayLink *connect = code->connect;

      code->connect = NULL;
      g_ptr_array_remove (code->session.connects, connect);
      cv_gateway_link_set_session (connect, NULL);
      if (connect_reason != NULL)
        cv_gateway_link_goaway (connect, CV_GOAWAY_REASON_NORMAL, connect_reason);
    }
}

static gboolean
on_code_expired (gpointer data)
{
  Code *code = data;
  CV_GATEWAY_ON_ITS_CONTEXT (code->gateway);
  g_autoptr (JsonObject) body = json_object_new ();

  g_clear_pointer (&code->timer, g_source_unref);
  g_message ("code %s: expired unclaimed", code->nameplate);
  code_let_go (code, NULL);
  cv_gateway_link_send (code->session.share, CV_CONTROL_CODE_EXPIRED, body);
  return G_SOURCE_REMOVE;
}

/* The nameplate is burned: the other side hears CODE_FAILED, the connect agent goes.
 * @by: the link whose CODE_FAILED (or end) burned it, or NULL (the gateway's timeout). */
static void
code_burn (Code *code, CvGatewayLink *by, const char *reason, const char *why)
{
  g_autoptr (JsonObject) body = cv_control_build_code_failed (reason);
  CvGatewayLink *share = code->session.share;
  CvGatewayLink *connect = code->connect;

  g_message ("code %s: burned: %s", code->nameplate, why);
  if (share != NULL && share != by)
    cv_gateway_link_send (share, CV_CONTROL_CODE_FAILED, body);
  if (connect != NULL && connect != by)
    cv_gateway_link_send (connect, CV_CONTROL_CODE_FAILED, body);
  code_let_go (code, "the code is burned");
}

static gboolean
on_pake_timeout (gpointer data)
{
  Code *code = data;
  CV_GATEWAY_ON_ITS_CONTEXT (code->gateway);

  g_clear_pointer (&code->timer, g_source_unref);
  code_burn (code, NULL, CV_REASON_TIMEOUT, "the agents did not confirm in time");
  return G_SOURCE_REMOVE;
}

static gboolean
on_session_max (gpointer data)
{
  Code *code = data;
  CV_GATEWAY_ON_ITS_CONTEXT (code->gateway);
  CvGatewayLink *share = code->session.share;

  g_clear_pointer (&code->timer, g_source_unref);
  g_message ("code %s: the session reached its maximum duration", code->nameplate);
  code_let_go (code, "the code session reached its maximum duration");
  cv_gateway_link_goaway (share, CV_GOAWAY_REASON_NORMAL,
                          "the code session reached its maximum duration");
  return G_SOURCE_REMOVE;
}

static void
share_hello (CvGateway *self, CvGatewayLink *link)
{
  const CvHello *hello = cv_gateway_link_get_hello (link);
  g_autofree char *name = cv_log_escape (hello->name, -1);
  g_autoptr (JsonObject) body = NULL;
  guint retry_after_ms = 0;
  Code *code;

  if (!take_rate (self, link, FALSE, &retry_after_ms))
    {
      cv_gateway_link_refuse (link, CV_REASON_RATE_LIMITED, "too many codes asked for; wait",
                              retry_after_ms);
      return;
    }
  if (g_hash_table_size (self->codes_by_plate) >= self->config->limits.max_codes)
    {
      g_message ("%s: code refused: the gateway has its maximum of %u codes open",
                 cv_gateway_link_get_remote_string (link), self->config->limits.max_codes);
      cv_gateway_link_refuse (link, CV_REASON_LIMIT_REACHED, "the gateway has no code to give", 0);
      return;
    }
  code = g_new0 (Code, 1);
  code->gateway = self;
  code->session.connects = g_ptr_array_new ();
  code->session.name = g_strdup (hello->name);
  code->session.code = code;
  code->session.share = link;
  if (!code_open (code))
    {
      code_free (code);
      cv_gateway_link_refuse (link, CV_REASON_LIMIT_REACHED, "the gateway has no code to give", 0);
      return;
    }
  g_hash_table_insert (self->codes, link, code);
  g_object_set_data (G_OBJECT (link), "cv-admission-slot", NULL);
  cv_gateway_link_set_session (link, &code->session);
  body = cv_control_build_code_nameplate (code->nameplate, code->expires_at_us / 1000);
  json_object_set_int_member (body, "max_channels_per_tunnel",
                              self->config->limits.max_channels_per_tunnel);
  cv_gateway_link_welcome (link, body);
  g_message ("code %s: share agent “%s” from %s (key %s), for %u s", code->nameplate, name,
             cv_gateway_link_get_remote_string (link), cv_gateway_link_get_fingerprint (link),
             self->config->limits.code_ttl_ms / 1000);
  cv_gateway_counts_changed (self);
}

static void
connect_hello (CvGateway *self, CvGatewayLink *link)
{
  const CvHello *hello = cv_gateway_link_get_hello (link);
  const char *remote = cv_gateway_link_get_remote_string (link);
  g_autofree char *name = cv_log_escape (hello->name, -1);
  guint retry_after_ms = 0;
  Code *code;
  CvCodePeer to_share = { 0 }, to_connect = { 0 };
  g_autoptr (JsonObject) claimed = NULL;
  g_autoptr (JsonObject) welcome = NULL;

  if (!take_rate (self, link, TRUE, &retry_after_ms))
    {
      cv_gateway_link_refuse (link, CV_REASON_RATE_LIMITED, "too many codes tried; wait",
                              retry_after_ms);
      return;
    }
  code = g_hash_table_lookup (self->codes_by_plate, hello->nameplate);
  if (code == NULL || code->state != CODE_OPEN || cv_gateway_link_is_leaving (code->session.share))
    {
      /* Like a wrong password: it counts, and one answer for every reason. */
      cv_auth_limiter_record_failure (self->limiter, cv_gateway_link_get_remote (link),
                                      g_get_monotonic_time ());
      g_message ("%s: connect agent “%s”: code %s: %s", remote, name, hello->nameplate,
                 code == NULL ? "no such code" : "already claimed");
      cv_gateway_link_refuse (link, CV_REASON_BAD_CODE, "no such code, or it was used", 0);
      return;
    }
  code_stop_timer (code);
  code->state = CODE_CLAIMED;
  code->connect = link;
  code->claim_id = cv_control_new_claim_id ();
  code->claimed_time = g_get_real_time ();
  g_ptr_array_add (code->session.connects, link);
  g_object_set_data (G_OBJECT (link), "cv-admission-slot", NULL);
  cv_gateway_link_set_session (link, &code->session);
  code->timer = cv_gateway_add_timeout (self, self->config->limits.code_pake_timeout_ms,
                                        on_pake_timeout, code);

  to_share.peer_fingerprint = (char *) cv_gateway_link_get_fingerprint (link);
  to_connect.peer_fingerprint = (char *) cv_gateway_link_get_fingerprint (code->session.share);
  if (self->impostor != NULL)
    {
      /* Debug (--debug-swap-code-keys): what a gateway in the middle would say. */
      g_message ("DEBUG: code %s: announcing the impostor key %s to both agents in place of "
                 "theirs",
                 hello->nameplate, cv_identity_get_fingerprint (self->impostor));
      to_share.peer_fingerprint = (char *) cv_identity_get_fingerprint (self->impostor);
      to_connect.peer_fingerprint = to_share.peer_fingerprint;
    }
  to_share.peer_name = hello->name;
  to_share.peer_address = (char *) remote;
  to_share.claim_id = code->claim_id;
  claimed = cv_control_build_code_peer (&to_share);
  cv_gateway_link_send (code->session.share, CV_CONTROL_CODE_CLAIMED, claimed);

  to_connect.peer_name = cv_gateway_link_get_hello (code->session.share)->name;
  to_connect.claim_id = code->claim_id;
  welcome = cv_control_build_code_peer (&to_connect);
  cv_gateway_link_welcome (link, welcome);
  g_message ("code %s: claimed by connect agent “%s” from %s (key %s)", code->nameplate, name,
             remote, cv_gateway_link_get_fingerprint (link));
}

void
cv_gateway_code_hello (CvGateway *self, CvGatewayLink *link)
{
  if (cv_gateway_link_get_hello (link)->role == CV_AGENT_ROLE_SHARE)
    share_hello (self, link);
  else
    connect_hello (self, link);
}

static void
protocol_error (CvGatewayLink *link, const char *message)
{
  cv_gateway_link_goaway (link, CV_GOAWAY_REASON_PROTOCOL_ERROR, message);
}

/* CODE_PAKE or CODE_CONFIRM from @side to the other link of the claim, once each. */
static void
relay (Code *code, CvGatewayLink *link, guint side, guint type, JsonObject *body)
{
  guint bit = type == CV_CONTROL_CODE_PAKE ? SENT_PAKE : SENT_CONFIRM;
  CvGatewayLink *to = side == 0 ? code->connect : code->session.share;
  guint8 bytes[CV_CONTROL_CODE_BYTES];
  g_autoptr (JsonObject) copy = NULL;

  if (code->state != CODE_CLAIMED || to == NULL)
    {
      protocol_error (link, "a PAKE message without a claim");
      return;
    }
  if (code->sent[side] & bit)
    {
      protocol_error (link, "a second PAKE message of this kind");
      return;
    }
  code->sent[side] |= bit;
  /* Only the member the exchange defines goes on, in the sender's spelling (the
   * canonical one: the form check took no other). */
  cv_control_parse_code_bytes (type, body, bytes, NULL);
  copy = cv_control_build_code_bytes (type, bytes);
  cv_gateway_link_send (to, type, copy);
}

static void
done (Code *code, CvGatewayLink *link, guint side)
{
  CvGateway *self = code->gateway;

  if (code->state != CODE_CLAIMED || (code->sent[side] & SENT_DONE))
    {
      protocol_error (link, "CODE_DONE out of turn");
      return;
    }
  code->sent[side] |= SENT_DONE;
  if (!(code->sent[1 - side] & SENT_DONE))
    return;
  code_stop_timer (code);
  code->state = CODE_CONFIRMED;
  code->timer = cv_gateway_add_timeout (self, self->config->limits.code_session_max_ms,
                                        on_session_max, code);
  g_message ("code %s: confirmed by both agents", code->nameplate);
}

static void
renew (Code *code, CvGatewayLink *link)
{
  CvGateway *self = code->gateway;
  g_autoptr (JsonObject) body = NULL;
  guint retry_after_ms = 0;

  if (code->state == CODE_CLAIMED || code->state == CODE_CONFIRMED)
    {
      protocol_error (link, "CODE_RENEW while the code is claimed");
      return;
    }
  if (!take_rate (self, link, FALSE, &retry_after_ms)
      || g_hash_table_size (self->codes_by_plate) >= self->config->limits.max_codes)
    {
      /* Not a protocol error: the link stays, and may ask again later. */
      g_autoptr (JsonObject) failed = json_object_new ();

      json_object_set_string_member (failed, "error", CV_REASON_RATE_LIMITED);
      json_object_set_int_member (failed, "retry_after_ms", MAX (retry_after_ms, 1000));
      cv_gateway_link_send (link, CV_CONTROL_CODE_NAMEPLATE, failed);
      return;
    }
  code_let_go (code, NULL);
  if (!code_open (code))
    {
      cv_gateway_link_goaway (link, CV_GOAWAY_REASON_NORMAL, "the gateway has no code to give");
      return;
    }
  body = cv_control_build_code_nameplate (code->nameplate, code->expires_at_us / 1000);
  cv_gateway_link_send (link, CV_CONTROL_CODE_NAMEPLATE, body);
  g_message ("code %s: renewed for the share agent from %s", code->nameplate,
             cv_gateway_link_get_remote_string (link));
}

void
cv_gateway_code_message (CvGateway *self, CvGatewayLink *link, guint type, JsonObject *body)
{
  CvGatewaySessionState *session = cv_gateway_link_get_session (link);
  Code *code = session->code;
  guint side = link == code->session.share ? 0 : 1;
  g_autoptr (GError) error = NULL;

  if (type >= CV_CONTROL_CODE_CLAIMED && type <= CV_CONTROL_CODE_NAMEPLATE
      && !cv_control_check_code_message (type, body, &error))
    {
      protocol_error (link, error->message);
      return;
    }
  switch (type)
    {
    case CV_CONTROL_CODE_PAKE:
    case CV_CONTROL_CODE_CONFIRM:
      relay (code, link, side, type, body);
      return;
    case CV_CONTROL_CODE_DONE:
      done (code, link, side);
      return;
    case CV_CONTROL_CODE_FAILED:
      if (code->state != CODE_CLAIMED)
        protocol_error (link, "CODE_FAILED without a claim");
      else
        code_burn (code, link, cv_control_parse_code_failed (body, NULL),
                   side == 0 ? "the share agent's confirmation failed"
                             : "the connect agent's confirmation failed");
      return;
    case CV_CONTROL_CODE_RENEW:
      if (side == 0)
        renew (code, link);
      else
        protocol_error (link, "CODE_RENEW is the share agent's");
      return;
    case CV_CONTROL_TUNNEL_REQUEST:
      if (side == 1 && code->state == CODE_CONFIRMED)
        cv_gateway_offer_tunnel (self, &code->session, link);
      else if (side == 1)
        {
          /* Not before both ends confirmed the other's key. */
          g_autoptr (JsonObject) offer = json_object_new ();

          json_object_set_string_member (offer, "error", CV_REASON_BAD_REQUEST);
          cv_gateway_link_send (link, CV_CONTROL_TUNNEL_OFFER, offer);
        }
      else
        protocol_error (link, "unexpected control message for this role");
      return;
    default:
      protocol_error (link, "unexpected control message for this role");
    }
}

/* @link, of a code, closed (or was dropped). */
void
cv_gateway_code_forget_link (CvGateway *self, CvGatewayLink *link)
{
  Code *code = ((CvGatewaySessionState *) cv_gateway_link_get_session (link))->code;

  cv_gateway_link_set_session (link, NULL);
  if (link == code->session.share)
    {
      if (code->state == CODE_CLAIMED)
        code_burn (code, link, CV_REASON_BAD_CODE, "the share agent left during the exchange");
      else if (code->nameplate != NULL)
        g_message ("code %s: %s", code->nameplate,
                   code->state == CODE_CONFIRMED ? "the share agent ended the session"
                                                 : "the share agent withdrew it");
      code_let_go (code, "the share agent ended the session");
      g_hash_table_remove (self->codes, link);
      cv_gateway_counts_changed (self);
      return;
    }
  if (link != code->connect)
    return;
  if (code->state == CODE_CLAIMED)
    code_burn (code, link, CV_REASON_BAD_CODE, "the connect agent left during the exchange");
  else
    {
      g_message ("code %s: the connect agent ended the session", code->nameplate);
      code_let_go (code, NULL);
    }
}

static const char *
state_name (CodeState state)
{
  switch (state)
    {
    case CODE_OPEN:
      return "open";
    case CODE_CLAIMED:
      return "claimed";
    case CODE_CONFIRMED:
      return "confirmed";
    case CODE_GONE:
    default:
      return "gone";
    }
}

void
cv_gateway_codes_add_status (CvGateway *self, JsonBuilder *builder)
{
  GHashTableIter iter;
  gpointer value;

  json_builder_set_member_name (builder, "codes");
  json_builder_begin_array (builder);
  g_hash_table_iter_init (&iter, self->codes_by_plate);
  while (self->codes_by_plate != NULL && g_hash_table_iter_next (&iter, NULL, &value))
    {
      Code *code = value;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "nameplate");
      json_builder_add_string_value (builder, code->nameplate);
      json_builder_set_member_name (builder, "state");
      json_builder_add_string_value (builder, state_name (code->state));
      json_builder_set_member_name (builder, "share_address");
      json_builder_add_string_value (builder,
                                     cv_gateway_link_get_remote_string (code->session.share));
      if (code->state == CODE_OPEN)
        {
          json_builder_set_member_name (builder, "expires_at_ms");
          json_builder_add_int_value (builder, code->expires_at_us / 1000);
        }
      if (code->connect != NULL)
        {
          json_builder_set_member_name (builder, "connect_name");
          json_builder_add_string_value (builder, cv_gateway_link_get_hello (code->connect)->name);
          json_builder_set_member_name (builder, "connect_address");
          json_builder_add_string_value (builder,
                                         cv_gateway_link_get_remote_string (code->connect));
        }
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}
