/* test-gateway-tunnels.c: tunnels through the gateway: offers, tickets, joined halves. */
#include "gateway-fixture.h"

#include "wire/cv-ticket.h"

#include <string.h>

/* ---- tunnels ------------------------------------------------------------ */

static void
test_unknown_ticket (Fixture *fixture, gconstpointer data)
{
  g_autofree char *ticket = cv_ticket_new ();
  g_autofree char *preface = tunnel_preface (ticket);
  Raw *raw = raw_connect (fixture);

  raw_write (raw, preface, CV_TUNNEL_PREFACE_LENGTH);
  raw_assert_closed_within (raw, 1000);
}

static gboolean
has_one_tunnel (gpointer data)
{
  return cv_gateway_get_n_tunnels (data) == 1;
}

static gboolean
has_no_tunnel (gpointer data)
{
  return cv_gateway_get_n_tunnels (data) == 0;
}

static gboolean
has_three_tunnels (gpointer data)
{
  return cv_gateway_get_n_tunnels (data) == 3;
}

static void
test_tunnel (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect;
  guint8 first_bytes[CV_TUNNEL_PREFACE_LENGTH + 517];
  JsonObject *to_share, *to_connect;
  const char *share_ticket, *connect_ticket;
  g_autofree char *share_preface = NULL;
  g_autofree char *connect_preface = NULL;
  Raw *share_half, *connect_half, *again;

  login_pair (fixture, &share, &connect);
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  to_share = agent_next (share, CV_CONTROL_TUNNEL_OFFER);
  to_connect = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);

  share_ticket = member (to_share, "ticket");
  connect_ticket = member (to_connect, "ticket");
  g_assert_cmpuint (strlen (share_ticket), ==, CV_TICKET_LENGTH);
  g_assert_cmpuint (strlen (connect_ticket), ==, CV_TICKET_LENGTH);
  g_assert_cmpstr (share_ticket, !=, connect_ticket);
  g_assert_cmpstr (member (to_share, "tls_role"), ==, "server");
  g_assert_cmpstr (member (to_share, "peer_fingerprint"), ==,
                   cv_identity_get_fingerprint (fixture->connect_identity));
  g_assert_cmpstr (member (to_share, "peer_name"), ==, "laptop");
  g_assert_cmpstr (member (to_share, "peer_address"), ==, "127.0.0.1");
  g_assert_cmpstr (member (to_connect, "tls_role"), ==, "client");
  g_assert_cmpstr (member (to_connect, "peer_fingerprint"), ==,
                   cv_identity_get_fingerprint (fixture->share_identity));
  g_assert_cmpstr (member (to_connect, "peer_name"), ==, "server");
  g_assert_false (json_object_has_member (to_connect, "error"));

  /* The connect half comes first, with bytes right behind its preface as a
   * ClientHello would be: they wait, unread, until the share half is there. */
  share_preface = tunnel_preface (share_ticket);
  connect_preface = tunnel_preface (connect_ticket);
  memcpy (first_bytes, connect_preface, CV_TUNNEL_PREFACE_LENGTH);
  cv_test_fill_random (first_bytes + CV_TUNNEL_PREFACE_LENGTH,
                       sizeof first_bytes - CV_TUNNEL_PREFACE_LENGTH, 1);
  connect_half = raw_connect (fixture);
  raw_write (connect_half, first_bytes, sizeof first_bytes);
  share_half = raw_connect (fixture);
  raw_write (share_half, share_preface, CV_TUNNEL_PREFACE_LENGTH);
  g_assert_true (cv_test_wait_until (has_one_tunnel, fixture->gateway, WAIT_MS));
  /* The gateway read the preface and not a byte more, and wrote nothing of its own. */
  raw_wait_received (share_half, sizeof first_bytes - CV_TUNNEL_PREFACE_LENGTH);
  g_assert_cmpmem (share_half->received->data, share_half->received->len,
                   first_bytes + CV_TUNNEL_PREFACE_LENGTH,
                   sizeof first_bytes - CV_TUNNEL_PREFACE_LENGTH);
  g_assert_cmpuint (connect_half->received->len, ==, 0);

  /* Then bytes both ways, unchanged. */
  assert_relayed (connect_half, share_half, 256 * 1024, 2);
  assert_relayed (share_half, connect_half, 64 * 1024, 3);
  g_assert_false (raw_is_closed (share_half));
  g_assert_false (raw_is_closed (connect_half));

  /* A ticket is good once. */
  again = raw_connect (fixture);
  raw_write (again, connect_preface, CV_TUNNEL_PREFACE_LENGTH);
  raw_assert_closed_within (again, 1000);
  again = raw_connect (fixture);
  raw_write (again, share_preface, CV_TUNNEL_PREFACE_LENGTH);
  raw_assert_closed_within (again, 1000);

  /* One half ends: the other reads the end, and once it is gone too the tunnel is. */
  g_ptr_array_remove (fixture->raws, connect_half);
  g_assert_true (cv_test_wait_until (raw_is_closed, share_half, WAIT_MS));
  g_ptr_array_remove (fixture->raws, share_half);
  g_assert_true (cv_test_wait_until (has_no_tunnel, fixture->gateway, WAIT_MS));
}

/* A rendezvous counts against max_tunnels from its offer until it ends, however
 * many of its tickets have been presented. */
static void
test_max_tunnels (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect;
  JsonObject *to_share, *to_connect, *refusal;
  Raw *share_half, *connect_half;

  login_pair (fixture, &share, &connect);
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  to_share = agent_next (share, CV_CONTROL_TUNNEL_OFFER);
  to_connect = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
  g_assert_true (json_object_has_member (to_connect, "ticket"));

  /* Half presented: one ticket of the two is left, still one rendezvous. */
  share_half = present_ticket (fixture, member (to_share, "ticket"));
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  refusal = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
  g_assert_cmpstr (member (refusal, "error"), ==, CV_REASON_LIMIT_REACHED);
  g_assert_false (json_object_has_member (refusal, "ticket"));

  /* Joined, it is a tunnel, which counts the same. */
  connect_half = present_ticket (fixture, member (to_connect, "ticket"));
  g_assert_true (cv_test_wait_until (has_one_tunnel, fixture->gateway, WAIT_MS));
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  refusal = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
  g_assert_cmpstr (member (refusal, "error"), ==, CV_REASON_LIMIT_REACHED);
  g_assert_cmpuint (count_refusals ("session s1: tunnel refused: the gateway carries its "
                                    "maximum of 1 tunnels"),
                    ==, 2);

  /* Ended, it is not counted any more. */
  g_ptr_array_remove (fixture->raws, connect_half);
  g_ptr_array_remove (fixture->raws, share_half);
  g_assert_true (cv_test_wait_until (has_no_tunnel, fixture->gateway, WAIT_MS));
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  to_connect = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
  g_assert_true (json_object_has_member (to_connect, "ticket"));
  /* The share agent's offer travels on its own link: it may come a moment later. */
  g_assert_true (json_object_has_member (agent_next (share, CV_CONTROL_TUNNEL_OFFER), "ticket"));
  g_assert_cmpuint (agent_count (share, CV_CONTROL_TUNNEL_OFFER), ==, 2);
}

/* @n requests at once, then their @n answers. */
static void
request_offers (Agent *connect, JsonObject **offers, guint n)
{
  for (guint i = 0; i < n; i++)
    agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  for (guint i = 0; i < n; i++)
    offers[i] = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
}

/* A connect agent may hold four offers it has not used; the fifth request is
 * refused, and using one makes room for one more. */
static void
test_unused_offers (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect;
  JsonObject *offers[5];

  login_pair (fixture, &share, &connect);
  request_offers (connect, offers, G_N_ELEMENTS (offers));
  for (guint i = 0; i < 4; i++)
    {
      g_assert_true (json_object_has_member (offers[i], "ticket"));
      g_assert_false (json_object_has_member (offers[i], "error"));
    }
  g_assert_cmpstr (member (offers[4], "error"), ==, CV_REASON_RATE_LIMITED);
  g_assert_false (json_object_has_member (offers[4], "ticket"));

  /* The connect agent uses one of its tickets: it has three unused, and may get one
   * more.  (The share agent was offered only the four.) */
  present_ticket (fixture, member (offers[0], "ticket"));
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  offers[0] = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
  g_assert_true (json_object_has_member (offers[0], "ticket"));
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  offers[0] = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
  g_assert_cmpstr (member (offers[0], "error"), ==, CV_REASON_RATE_LIMITED);
  g_assert_cmpuint (agent_count (share, CV_CONTROL_TUNNEL_OFFER), ==, 5);

  /* Another connect agent has its own four. */
  connect = agent_login (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1",
                         "desktop");
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  g_assert_true (json_object_has_member (agent_next (connect, CV_CONTROL_TUNNEL_OFFER), "ticket"));
}

/* The request/present loop: a connect agent asks for a tunnel, and it and the share
 * agent present the tickets, again and again, keeping every tunnel.  It may hold
 * max_tunnels_per_key (3 here); then it is refused, and an agent of another session
 * (another key) still gets its tunnel: one agent cannot take the gateway's max_tunnels
 * from everyone. */
static void
test_request_present_loop (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect, *share2, *connect2;
  Raw *share_half, *connect_half;
  JsonObject *refusal;

  login_pair (fixture, &share, &connect);
  for (guint i = 0; i < 3; i++)
    join_tunnel (fixture, share, connect, &share_half, &connect_half);
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  refusal = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
  g_assert_cmpstr (member (refusal, "error"), ==, CV_REASON_LIMIT_REACHED);
  g_assert_cmpuint (count_log_lines ("session s1: connect agent “laptop” refused a tunnel: its "
                                     "key has its maximum of 3"),
                    ==, 1);

  share2 = agent_login (fixture, fixture->share2_identity, CV_AGENT_ROLE_SHARE, "s2", "server2");
  connect2 = agent_login (fixture, fixture->share_identity, CV_AGENT_ROLE_CONNECT, "s2", "other");
  join_tunnel (fixture, share2, connect2, &share_half, &connect_half);

  /* A tunnel that ends makes room for one more. */
  g_ptr_array_remove (fixture->raws, connect_half);
  g_ptr_array_remove (fixture->raws, share_half);
  g_assert_true (cv_test_wait_until (has_three_tunnels, fixture->gateway, WAIT_MS));
  join_tunnel (fixture, share2, connect2, &share_half, &connect_half);
}

/* Two connect agents of one session, with their own keys: together they may hold
 * max_tunnels_per_session (2 here), offers not yet joined included. */
static void
test_tunnels_per_session (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect, *connect2;
  Raw *share_half, *connect_half;
  JsonObject *offer, *refusal;

  login_pair (fixture, &share, &connect);
  connect2 = agent_login (fixture, fixture->share2_identity, CV_AGENT_ROLE_CONNECT, "s1", "second");
  join_tunnel (fixture, share, connect, &share_half, &connect_half);
  agent_send (connect2, CV_CONTROL_TUNNEL_REQUEST, "{}");
  offer = agent_next (connect2, CV_CONTROL_TUNNEL_OFFER);
  g_assert_true (json_object_has_member (offer, "ticket"));
  agent_send (connect2, CV_CONTROL_TUNNEL_REQUEST, "{}");
  refusal = agent_next (connect2, CV_CONTROL_TUNNEL_OFFER);
  g_assert_cmpstr (member (refusal, "error"), ==, CV_REASON_LIMIT_REACHED);
  g_assert_cmpuint (count_log_lines ("session s1: connect agent “second” refused a tunnel: the "
                                     "session has its maximum of 2"),
                    ==, 1);
}

/* tunnel_requests_per_second 1: a burst of two, then one a second. */
static void
test_request_rate (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect;
  JsonObject *offers[3];

  login_pair (fixture, &share, &connect);
  request_offers (connect, offers, G_N_ELEMENTS (offers));
  g_assert_true (json_object_has_member (offers[0], "ticket"));
  g_assert_true (json_object_has_member (offers[1], "ticket"));
  g_assert_cmpstr (member (offers[2], "error"), ==, CV_REASON_RATE_LIMITED);
  g_assert_cmpuint (count_log_lines ("session s1: connect agent “laptop” asks for tunnels faster "
                                     "than 1 a second"),
                    ==, 1);
  /* A second later the budget has one more. */
  g_usleep (1100 * 1000);
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  g_assert_true (json_object_has_member (agent_next (connect, CV_CONTROL_TUNNEL_OFFER), "ticket"));
}

/* max_links_per_key 2, max_links_per_session 3: the third agent with one key is
 * refused, in any session; a session with three agents online takes no fourth. */
static void
test_links_per_key_and_session (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect, *agent;

  login_pair (fixture, &share, &connect);
  agent_login (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1", "again");
  agent = attempt (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s2",
                   CONNECT_PASSWORD, "third");
  assert_refused (agent, CV_REASON_LIMIT_REACHED,
                  "2 agents with this key are online, the most this gateway allows");
  agent = attempt (fixture, fixture->share2_identity, CV_AGENT_ROLE_CONNECT, "s1", CONNECT_PASSWORD,
                   "fourth");
  assert_refused (agent, CV_REASON_LIMIT_REACHED, "session s1 has its maximum of 3 agents online");
  /* A share agent that replaces the session's own is not one more. */
  agent_login (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s1", "server");
  /* Not failed logins: the address is not held back. */
  agent_login (fixture, fixture->share2_identity, CV_AGENT_ROLE_CONNECT, "s2", "elsewhere");
}

/* The silent halves of a joined tunnel (agents gone without a word) are both closed
 * once no byte passed for tunnel_idle_timeout_ms: set to 400 ms here, below what a
 * config file may say, by a reload of a config object. */
static void
test_silent_tunnel (Fixture *fixture, gconstpointer data)
{
  CvGatewayConfig *config = make_config (fixture, NULL, TRUE);
  g_autoptr (GError) error = NULL;
  Agent *share, *connect;
  Raw *share_half, *connect_half;
  gint64 quiet_since_us;

  config->limits.tunnel_idle_timeout_ms = 400;
  g_assert_true (cv_gateway_reload (fixture->gateway, config, &error));
  g_assert_no_error (error);
  login_pair (fixture, &share, &connect);
  join_tunnel (fixture, share, connect, &share_half, &connect_half);
  quiet_since_us = g_get_monotonic_time ();
  g_assert_true (gateway_wait_until (raw_is_closed, share_half, WAIT_MS));
  g_assert_true (gateway_wait_until (raw_is_closed, connect_half, WAIT_MS));
  g_assert_cmpint ((share_half->closed_us - quiet_since_us) / 1000, >=, 400 - 50);
  g_assert_true (cv_test_wait_until (has_no_tunnel, fixture->gateway, WAIT_MS));
  g_assert_cmpuint (count_log_lines ("no byte passed either way for 400 ms"), ==, 1);
  /* The control links are not tunnels: they stay. */
  g_assert_false (share->closed);
  g_assert_false (connect->closed);
}

/* A gateway that goes away with offers outstanding forgets them at once: a half
 * already presented is closed, and no ticket timer is left to fire. */
static void
test_dispose_with_rendezvous (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect;
  JsonObject *to_share;
  Raw *half;
  gint64 disposed_us;

  login_pair (fixture, &share, &connect);
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  to_share = agent_next (share, CV_CONTROL_TUNNEL_OFFER);
  agent_next (share, CV_CONTROL_TUNNEL_OFFER);
  agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
  agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
  half = present_ticket (fixture, member (to_share, "ticket"));

  disposed_us = g_get_monotonic_time ();
  dispose_gateway (fixture);
  g_assert_true (cv_test_wait_until (raw_is_closed, half, WAIT_MS));
  g_assert_cmpint ((half->closed_us - disposed_us) / 1000, <, 1000);
  /* Past the tickets' 1.5 s: a timer left behind would fire now, into freed memory. */
  g_usleep (1600 * 1000);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

int
main (int argc, char **argv)
{
  gateway_test_init (&argc, &argv);
  gateway_test_add ("/gateway/tunnel/unknown-ticket", NULL, test_unknown_ticket);
  gateway_test_add ("/gateway/tunnel/end-to-end", NULL, test_tunnel);
  gateway_test_add ("/gateway/tunnel/max-tunnels", "\"max_tunnels\": 1", test_max_tunnels);
  gateway_test_add ("/gateway/tunnel/unused-offers", NULL, test_unused_offers);
  gateway_test_add ("/gateway/tunnel/request-present-loop", "\"max_tunnels_per_key\": 3",
                    test_request_present_loop);
  gateway_test_add ("/gateway/tunnel/per-session", "\"max_tunnels_per_session\": 2",
                    test_tunnels_per_session);
  gateway_test_add ("/gateway/tunnel/silent", NULL, test_silent_tunnel);
  gateway_test_add ("/gateway/tunnel/request-rate", "\"tunnel_requests_per_second\": 1",
                    test_request_rate);
  gateway_test_add ("/gateway/links/per-key-and-session",
                    "\"max_links_per_key\": 2, \"max_links_per_session\": 3",
                    test_links_per_key_and_session);
  gateway_test_add ("/gateway/tunnel/dispose-with-rendezvous", "\"ticket_timeout_ms\": 1500",
                    test_dispose_with_rendezvous);
  return gateway_test_run ();
}
