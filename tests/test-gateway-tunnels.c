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

/* A connect agent may hold four offers it has not used; the fifth request is
 * refused, and using one makes room for one more. */
static void
test_unused_offers (Fixture *fixture, gconstpointer data)
{
  Agent *share, *connect;
  JsonObject *offers[5];

  login_pair (fixture, &share, &connect);
  for (guint i = 0; i < G_N_ELEMENTS (offers); i++)
    agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  for (guint i = 0; i < G_N_ELEMENTS (offers); i++)
    offers[i] = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
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
  gateway_test_add ("/gateway/tunnel/dispose-with-rendezvous", "\"ticket_timeout_ms\": 1500",
                    test_dispose_with_rendezvous);
  return gateway_test_run ();
}
