/* cv-gateway-link.c: the gateway's end of one agent's control link.
 *
 * Until WELCOME the link may carry one thing: a HELLO, within the handshake deadline,
 * and may hold only a little unwritten output; WELCOME raises that bound.  Channels are
 * never opened on control links; anything else closes the link.  Once the gateway has
 * said goodbye (REFUSED, GOAWAY), the link sends nothing more and its mux answers
 * nothing, until it closes, at the mux's close deadline at the latest. */
#include "roles/cv-gateway-link.h"

#include "base/cv-source.h"

struct _CvGatewayLink {
  GObject parent_instance;

  CvMux *mux;
  GInetAddress *remote;
  char *remote_string;
  char *fingerprint;
  GMainContext *context; /* thread-default at construction, as the mux's */
  guint hello_timeout_ms;
  gsize max_output_after_welcome;
  GSource *hello_timer;
  gboolean have_hello;
  gboolean welcomed;
  gint64 welcomed_time; /* g_get_real_time () µs */
  gboolean leaving;     /* REFUSED or GOAWAY sent, or closed */
  gboolean closed;
  CvHello hello;
  gpointer session;         /* owned by the gateway */
  double request_tokens;    /* the agent's budget of requests, refilled with time */
  gint64 request_tokens_us; /* when it was last refilled */
};

enum {
  SIGNAL_HELLO,
  SIGNAL_MESSAGE,
  SIGNAL_CLOSED,
  SIGNAL_NO_HELLO,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (CvGatewayLink, cv_gateway_link, G_TYPE_OBJECT)

static void
cv_gateway_link_finalize (GObject *object)
{
  CvGatewayLink *self = CV_GATEWAY_LINK (object);

  cv_source_clear (&self->hello_timer);
  if (self->mux != NULL)
    g_signal_handlers_disconnect_by_data (self->mux, self);
  g_clear_object (&self->mux);
  g_clear_object (&self->remote);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_free (self->remote_string);
  g_free (self->fingerprint);
  cv_hello_clear (&self->hello);

  G_OBJECT_CLASS (cv_gateway_link_parent_class)->finalize (object);
}

static void
cv_gateway_link_class_init (CvGatewayLinkClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cv_gateway_link_finalize;

  /* The agent said who it is; the gateway answers with welcome() or refuse(). */
  signals[SIGNAL_HELLO] = g_signal_new ("hello", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                        NULL, NULL, NULL, G_TYPE_NONE, 0);
  /* A control message after WELCOME. */
  signals[SIGNAL_MESSAGE] = g_signal_new ("message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_UINT,
                                          JSON_TYPE_OBJECT);
  signals[SIGNAL_CLOSED] = g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                         NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
  /* No HELLO within the deadline; the link closes next.  The gateway logs it: it is
   * one of the junk connections it summarises. */
  signals[SIGNAL_NO_HELLO] = g_signal_new ("no-hello", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                           0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
cv_gateway_link_init (CvGatewayLink *self)
{
}

static void
on_mux_closed (CvMux *mux, const GError *error, CvGatewayLink *self)
{
  g_autoptr (CvGatewayLink) hold G_GNUC_UNUSED = g_object_ref (self);
  g_autoptr (GMainContextPusher) pusher G_GNUC_UNUSED = g_main_context_pusher_new (self->context);

  if (self->closed)
    return;
  self->closed = TRUE;
  self->leaving = TRUE;
  cv_source_clear (&self->hello_timer);
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0, error);
}

static void
on_incoming_channel (CvMux *mux, CvChannel *channel, CvGatewayLink *self)
{
  cv_channel_refuse (channel, CV_CHANNEL_REASON_NOT_ALLOWED,
                     "channels are not opened on control links");
}

static void
on_control_message (CvMux *mux, guint type, GBytes *json, CvGatewayLink *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (JsonObject) body = NULL;
  g_autoptr (GMainContextPusher) pusher G_GNUC_UNUSED = g_main_context_pusher_new (self->context);

  if (!self->have_hello)
    {
      if (type != CV_CONTROL_HELLO)
        {
          cv_gateway_link_refuse (self, CV_REASON_BAD_REQUEST, "the first message must be HELLO",
                                  0);
          return;
        }
      if (!cv_control_parse_hello (json, &self->hello, &error))
        {
          cv_gateway_link_refuse (self, CV_REASON_BAD_REQUEST, error->message, 0);
          return;
        }
      self->have_hello = TRUE;
      cv_source_clear (&self->hello_timer);
      g_signal_emit (self, signals[SIGNAL_HELLO], 0);
      return;
    }
  if (!self->welcomed)
    {
      /* Only one HELLO, and nothing until it is answered. */
      cv_gateway_link_refuse (self, CV_REASON_BAD_REQUEST, "a message before WELCOME", 0);
      return;
    }
  body = cv_control_parse (json, &error);
  if (body == NULL)
    {
      cv_gateway_link_goaway (self, CV_GOAWAY_REASON_PROTOCOL_ERROR, error->message);
      return;
    }
  g_signal_emit (self, signals[SIGNAL_MESSAGE], 0, type, body);
}

static gboolean
on_hello_timeout (gpointer user_data)
{
  CvGatewayLink *self = user_data;
  g_autoptr (GMainContextPusher) pusher G_GNUC_UNUSED = g_main_context_pusher_new (self->context);

  g_clear_pointer (&self->hello_timer, g_source_unref);
  g_signal_emit (self, signals[SIGNAL_NO_HELLO], 0);
  cv_gateway_link_close (self);
  return G_SOURCE_REMOVE;
}

/**
 * cv_gateway_link_new:
 * @tls_stream: the agent's TLS connection, handshake done
 * @tls_fingerprint: the agent's key, from its TLS client certificate
 * @mux_config: the link's mux; its max_output_bytes holds until WELCOME
 * @max_output_after_welcome: the mux's max_output_bytes from WELCOME on
 */
CvGatewayLink *
cv_gateway_link_new (GIOStream *tls_stream,
                     GInetAddress *remote,
                     const char *tls_fingerprint,
                     const CvMuxConfig *mux_config,
                     guint hello_timeout_ms,
                     gsize max_output_after_welcome)
{
  CvGatewayLink *self = g_object_new (CV_TYPE_GATEWAY_LINK, NULL);

  self->context = g_main_context_ref_thread_default ();
  self->mux = cv_mux_new (tls_stream, CV_MUX_ROLE_RESPONDER, mux_config);
  self->remote = g_object_ref (remote);
  self->remote_string = g_inet_address_to_string (remote);
  self->fingerprint = g_strdup (tls_fingerprint);
  self->hello_timeout_ms = hello_timeout_ms;
  self->max_output_after_welcome = max_output_after_welcome;
  g_signal_connect (self->mux, "closed", G_CALLBACK (on_mux_closed), self);
  g_signal_connect (self->mux, "incoming-channel", G_CALLBACK (on_incoming_channel), self);
  g_signal_connect (self->mux, "control-message", G_CALLBACK (on_control_message), self);
  return self;
}

void
cv_gateway_link_start (CvGatewayLink *self)
{
  self->hello_timer = g_timeout_source_new (self->hello_timeout_ms);
  g_source_set_callback (self->hello_timer, on_hello_timeout, self, NULL);
  g_source_set_static_name (self->hello_timer, "[culvert] HELLO deadline");
  g_source_attach (self->hello_timer, self->context);
  cv_mux_start (self->mux);
}

GInetAddress *
cv_gateway_link_get_remote (CvGatewayLink *self)
{
  return self->remote;
}

const char *
cv_gateway_link_get_remote_string (CvGatewayLink *self)
{
  return self->remote_string;
}

const char *
cv_gateway_link_get_fingerprint (CvGatewayLink *self)
{
  return self->fingerprint;
}

const CvHello *
cv_gateway_link_get_hello (CvGatewayLink *self)
{
  return self->have_hello ? &self->hello : NULL;
}

/* The name the gateway vouches for instead of the one the agent gave: a technician
 * account's (SESSION-CODES.md §4), which is what the other agent is then shown. */
void
cv_gateway_link_attest_name (CvGatewayLink *self, const char *name)
{
  g_return_if_fail (self->have_hello);

  g_free (self->hello.name);
  self->hello.name = g_strdup (name);
}

guint
cv_gateway_link_get_hello_timeout_ms (CvGatewayLink *self)
{
  return self->hello_timeout_ms;
}

gboolean
cv_gateway_link_is_welcomed (CvGatewayLink *self)
{
  return self->welcomed;
}

/* When WELCOME was sent (g_get_real_time () µs), or 0 before. */
gint64
cv_gateway_link_get_welcomed_time (CvGatewayLink *self)
{
  return self->welcomed_time;
}

/* The control link's last measured PING round trip, or -1 before the first. */
gint64
cv_gateway_link_get_round_trip_us (CvGatewayLink *self)
{
  return cv_mux_get_rtt_us (self->mux);
}

/**
 * cv_gateway_link_take_request:
 * @per_second: the rate allowed; twice as many may come in a burst
 *
 * Returns: %TRUE if the agent may make one more request (a tunnel) now; a token
 *   bucket, so a steady rate of @per_second always passes
 */
gboolean
cv_gateway_link_take_request (CvGatewayLink *self, guint per_second, gint64 now_us)
{
  double burst = 2.0 * per_second;

  if (self->request_tokens_us == 0)
    self->request_tokens = burst;
  else
    self->request_tokens = MIN (burst, self->request_tokens
                                         + (now_us - self->request_tokens_us) * per_second / 1e6);
  self->request_tokens_us = now_us;
  if (self->request_tokens < 1.0)
    return FALSE;
  self->request_tokens -= 1.0;
  return TRUE;
}

/* REFUSED or GOAWAY was sent: the link is on its way out, whatever the agent does. */
gboolean
cv_gateway_link_is_leaving (CvGatewayLink *self)
{
  return self->leaving;
}

/* The agent said GOAWAY: it is stopping, or leaving for another reason of its own. */
gboolean
cv_gateway_link_agent_said_goodbye (CvGatewayLink *self)
{
  return self->mux != NULL && cv_mux_get_peer_goaway (self->mux, NULL) >= 0;
}

gpointer
cv_gateway_link_get_session (CvGatewayLink *self)
{
  return self->session;
}

void
cv_gateway_link_set_session (CvGatewayLink *self, gpointer session)
{
  self->session = session;
}

void
cv_gateway_link_send (CvGatewayLink *self, CvControlType type, JsonObject *body)
{
  g_autofree char *json = NULL;

  if (self->leaving)
    return;
  json = cv_control_to_string (body);
  /* Past the mux's output bound it is not sent, and the link closes (control-flood). */
  cv_mux_send_control (self->mux, type, json, NULL);
}

void
cv_gateway_link_welcome (CvGatewayLink *self, JsonObject *extra)
{
  g_autoptr (JsonObject) body = NULL;

  if (self->leaving)
    return;
  body = extra != NULL ? json_object_ref (extra) : json_object_new ();
  self->welcomed = TRUE;
  self->welcomed_time = g_get_real_time ();
  cv_mux_set_max_output (self->mux, self->max_output_after_welcome);
  if (self->hello.session != NULL) /* none in code mode */
    json_object_set_string_member (body, "session", self->hello.session);
  json_object_set_string_member (body, "role", cv_agent_role_to_string (self->hello.role));
  cv_gateway_link_send (self, CV_CONTROL_WELCOME, body);
}

/* REFUSED with a stable reason, then a graceful close. */
void
cv_gateway_link_refuse (CvGatewayLink *self,
                        const char *reason,
                        const char *message,
                        guint retry_after_ms)
{
  g_autoptr (JsonObject) body = NULL;

  if (self->leaving)
    return; /* one answer per link */
  body = json_object_new ();
  json_object_set_string_member (body, "reason", reason);
  json_object_set_string_member (body, "message", message);
  if (retry_after_ms > 0)
    json_object_set_int_member (body, "retry_after_ms", retry_after_ms);
  cv_gateway_link_send (self, CV_CONTROL_REFUSED, body);
  cv_gateway_link_goaway (self, CV_GOAWAY_REASON_NORMAL, reason);
}

void
cv_gateway_link_goaway (CvGatewayLink *self, CvGoawayReason reason, const char *message)
{
  gboolean was_leaving = self->leaving;

  self->leaving = TRUE;
  if (!self->closed && !was_leaving)
    cv_mux_goaway (self->mux, reason, message);
}

void
cv_gateway_link_close (CvGatewayLink *self)
{
  self->leaving = TRUE;
  if (!self->closed)
    cv_mux_close (self->mux);
}
