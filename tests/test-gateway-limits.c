/* test-gateway-limits.c: the failed-login limiter, and admission before authentication. */
#include "gateway-fixture.h"

#include "wire/cv-ticket.h"

#include <string.h>
#include <sys/socket.h>

/* ---- the failed-login limiter ------------------------------------------- */

/* Ten guesses at once from one address.  All ten HELLOs are on the wire before the
 * gateway has read any, and it reads them all within far less than one check of
 * session slow's password (~400 ms): the first two start checks, the other eight
 * find two checks under way for their address and are told to come back
 * (MAX_VERIFYING_PER_ADDRESS).  The two checks fail: two failures, fewer than the
 * five that block the address.  Without that cap all ten would be checked and
 * answered bad-password. */
#define N_GUESSERS 10

static void
test_concurrent_wrong_passwords (Fixture *fixture, gconstpointer data)
{
  Agent *agents[N_GUESSERS];
  guint n_bad_password = 0;
  guint n_rate_limited = 0;

  for (guint i = 0; i < N_GUESSERS; i++)
    agents[i] = agent_dial (fixture, fixture->connect_identity);
  for (guint i = 0; i < N_GUESSERS; i++)
    agent_start_mux (agents[i]);
  for (guint i = 0; i < N_GUESSERS; i++)
    agent_hello (agents[i], CV_AGENT_ROLE_CONNECT, "slow", WRONG_PASSWORD, "guesser");

  for (guint i = 0; i < N_GUESSERS; i++)
    {
      const char *answer = agent_answer (agents[i]);

      if (g_str_equal (answer, CV_REASON_BAD_PASSWORD))
        n_bad_password++;
      else
        {
          JsonObject *body = agent_refusal (agents[i]);

          g_assert_cmpstr (answer, ==, CV_REASON_RATE_LIMITED);
          g_assert_cmpstr (member (body, "message"), ==,
                           "a login from this address is already being checked");
          g_assert_cmpint (json_object_get_int_member (body, "retry_after_ms"), ==, 1000);
          n_rate_limited++;
        }
    }
  g_assert_cmpuint (n_bad_password, ==, 2);
  g_assert_cmpuint (n_rate_limited, ==, N_GUESSERS - 2);

  /* Two failures do not block the address: the right password gets in. */
  agent_login (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "slow", "owner");
}

/* The limiter blocks an address after five failures (auth_failures_before_backoff),
 * each within 15 minutes of the one before, for 1 s at first; a success must not
 * forget the failures before it, or a holder of one valid password could guess
 * another session's without ever waiting. */
static void
test_success_keeps_failures (Fixture *fixture, gconstpointer data)
{
  Agent *agent;
  JsonObject *body;

  for (guint i = 0; i < 4; i++)
    {
      agent = attempt (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1",
                       WRONG_PASSWORD, "guesser");
      g_assert_cmpstr (agent_answer (agent), ==, CV_REASON_BAD_PASSWORD);
    }
  agent_login (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s2", "insider");
  agent = attempt (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1", WRONG_PASSWORD,
                   "guesser");
  g_assert_cmpstr (agent_answer (agent), ==, CV_REASON_BAD_PASSWORD);

  /* The fifth failure blocked the address for 1 s; this comes well within it. */
  agent = attempt (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1",
                   CONNECT_PASSWORD, "owner");
  g_assert_cmpstr (agent_answer (agent), ==, CV_REASON_RATE_LIMITED);
  body = agent_refusal (agent);
  g_assert_cmpstr (member (body, "message"), ==, "too many failed attempts from this address");
  g_assert_cmpint (json_object_get_int_member (body, "retry_after_ms"), >=, 1);
  g_assert_cmpint (json_object_get_int_member (body, "retry_after_ms"), <=, 1000);
}

/* ---- the queue of password checks ---------------------------------------- */

static CvPasswordChecker *
checker_of (Fixture *fixture)
{
  return cv_gateway_get_password_checker (fixture->gateway);
}

/* Checks started so far: a check adds to n_running when it starts, and moves from
 * there to n_run when it ends. */
static guint64
n_started (Fixture *fixture)
{
  return cv_password_checker_get_n_run (checker_of (fixture))
         + cv_password_checker_get_n_running (checker_of (fixture));
}

typedef struct {
  Fixture *fixture;
  Agent *agent;
  guint64 started_before;
} CheckStart;

static gboolean
check_started_or_answered (gpointer data)
{
  CheckStart *start = data;

  return n_started (start->fixture) > start->started_before || start->agent->closed
         || agent_count (start->agent, CV_CONTROL_REFUSED) > 0;
}

typedef struct {
  const char *part;
  guint n;
} Logged;

static gboolean
is_logged (gpointer data)
{
  Logged *logged = data;

  return count_log_lines (logged->part) >= logged->n;
}

static void
wait_logged (const char *part, guint n)
{
  Logged logged = { part, n };

  g_assert_true (gateway_wait_until (is_logged, &logged, WAIT_MS));
}

/* HELLO with a wrong password, then close as soon as its check is running, over and
 * over from one address: every check that ran is a failure in the limiter, so after
 * five the address is told to wait, and the Argon2 work it could cause is bounded by
 * the limiter (five failures, plus the checks already under way when the fifth was
 * counted: at most max_password_checks_per_address more). */
#define N_CLOSERS 10

static gboolean
has_no_link (gpointer data)
{
  return cv_gateway_get_n_links (data) == 0;
}

static void
test_close_during_check (Fixture *fixture, gconstpointer data)
{
  gint64 fifth_hello_us = 0; /* the fifth failure cannot have been counted before this */
  guint64 runs_before = cv_password_checker_get_n_run (checker_of (fixture));
  guint started = 0;
  Agent *agent;
  JsonObject *body;

  for (guint i = 0; i < N_CLOSERS; i++)
    {
      CheckStart start = { fixture, NULL, n_started (fixture) };
      gint64 hello_us;

      start.agent = agent_new (fixture, fixture->connect_identity);
      /* The first check is held until the gateway has seen its link close, so that at
       * least one ends with no one there, however fast Argon2 runs here. */
      if (i == 0)
        hold_checks (fixture, TRUE);
      hello_us = g_get_monotonic_time ();
      agent_hello (start.agent, CV_AGENT_ROLE_CONNECT, "s1", WRONG_PASSWORD, "closer");
      g_assert_true (gateway_wait_until (check_started_or_answered, &start, WAIT_MS));
      if (n_started (fixture) > start.started_before && ++started == 5)
        fifth_hello_us = hello_us;
      agent_close (start.agent);
      if (i == 0)
        {
          g_assert_true (gateway_wait_until (has_no_link, fixture->gateway, WAIT_MS));
          hold_checks (fixture, FALSE);
        }
    }
  wait_checks (fixture, 0, 0);
  /* Each check that ran was counted, although (but for a check that ended before the
   * gateway read the close) no one was there for its answer. */
  wait_logged ("connect agent for session s1: wrong password", started);
  g_assert_cmpuint (count_log_lines ("connect agent for session s1: wrong password"), ==, started);
  g_assert_cmpuint (count_log_lines ("(the link had closed)"), >=, 1);
  g_assert_cmpuint (started, >=, 5);
  g_assert_cmpuint (started, <=, 5 + 2);
  g_assert_cmpuint (cv_password_checker_get_n_run (checker_of (fixture)) - runs_before, ==,
                    started);

  /* The right password from that address must now wait: the first wait is 1 s from
   * the fifth failure, so only a login that came later than that (a slow machine, ASan)
   * may be welcomed.  The fifth failure was counted after its HELLO was sent: measured
   * from there, the bound holds however slowly the checks ran (measured from the end of
   * the loop it failed once under ASan on a busy machine). */
  agent = attempt (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1",
                   CONNECT_PASSWORD, "owner");
  if (g_str_equal (agent_answer (agent), "welcome"))
    {
      g_test_message ("welcomed %" G_GINT64_FORMAT " ms after the fifth failing HELLO",
                      (g_get_monotonic_time () - fifth_hello_us) / 1000);
      g_assert_cmpint (g_get_monotonic_time () - fifth_hello_us, >=, G_USEC_PER_SEC);
      return;
    }
  g_assert_cmpstr (agent_answer (agent), ==, CV_REASON_RATE_LIMITED);
  body = agent_refusal (agent);
  g_assert_cmpstr (member (body, "message"), ==, "too many failed attempts from this address");
}

/* One worker, busy with session slow's costly check; a second check queues behind it
 * and its agent goes: the check leaves the queue at once and never runs. */
static void
test_withdrawn_check (Fixture *fixture, gconstpointer data)
{
  guint64 runs_before = cv_password_checker_get_n_run (checker_of (fixture));
  Agent *busy = agent_new (fixture, fixture->connect_identity);
  Agent *gone = agent_new (fixture, fixture->connect_identity);

  hold_checks (fixture, TRUE);
  agent_hello (busy, CV_AGENT_ROLE_CONNECT, "slow", WRONG_PASSWORD, "busy");
  wait_checks (fixture, 0, 1);
  agent_hello (gone, CV_AGENT_ROLE_CONNECT, "s1", WRONG_PASSWORD, "gone");
  wait_checks (fixture, 1, 1);
  agent_close (gone);
  /* Withdrawn at once, while the first one still runs. */
  wait_checks (fixture, 0, 1);
  hold_checks (fixture, FALSE);

  assert_refused (busy, CV_REASON_BAD_PASSWORD, "wrong session or password");
  wait_checks (fixture, 0, 0);
  g_assert_cmpuint (cv_password_checker_get_n_run (checker_of (fixture)) - runs_before, ==, 1);
  g_assert_cmpuint (count_log_lines ("wrong password"), ==, 1);
}

/* With one worker and room for one waiting check, a third HELLO is told to come back,
 * and not counted as a failure. */
static void
test_check_queue_full (Fixture *fixture, gconstpointer data)
{
  Agent *running = agent_new (fixture, fixture->connect_identity);
  Agent *waiting = agent_new (fixture, fixture->connect_identity);
  Agent *turned_away;
  JsonObject *body;

  hold_checks (fixture, TRUE);
  agent_hello (running, CV_AGENT_ROLE_CONNECT, "slow", WRONG_PASSWORD, "running");
  wait_checks (fixture, 0, 1);
  agent_hello (waiting, CV_AGENT_ROLE_CONNECT, "s1", WRONG_PASSWORD, "waiting");
  wait_checks (fixture, 1, 1);
  turned_away = attempt (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1",
                         CONNECT_PASSWORD, "turned away");
  assert_refused (turned_away, CV_REASON_RATE_LIMITED, "the gateway is busy checking other logins");
  hold_checks (fixture, FALSE);
  body = agent_refusal (turned_away);
  g_assert_cmpint (json_object_get_int_member (body, "retry_after_ms"), ==, 1000);
  g_assert_cmpuint (count_log_lines ("told to come back: 1 password checks are waiting "
                                     "(limit 1)"),
                    ==, 1);

  assert_refused (running, CV_REASON_BAD_PASSWORD, "wrong session or password");
  assert_refused (waiting, CV_REASON_BAD_PASSWORD, "wrong session or password");
  /* Room again. */
  agent_login (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1", "owner");
}

/* ---- admission before authentication ------------------------------------ */

/* With max_pending_handshakes 160, one address may hold 160 / 8 = 20 slots. */
#define ADMISSION_LIMITS "\"max_pending_handshakes\": 160, \"handshake_timeout_ms\": 1500"
#define PER_ADDRESS 20
#define N_IDLE 40

static gboolean
raws_all_closed (gpointer data)
{
  Fixture *fixture = data;

  for (guint i = 0; i < fixture->raws->len; i++)
    if (!raw_is_closed (fixture->raws->pdata[i]))
      return FALSE;
  return TRUE;
}

/* Forty idle connections from one address: the first twenty hold their slots until
 * the handshake deadline, the rest are closed on arrival; the slots come back. */
static void
test_admission_per_address (Fixture *fixture, gconstpointer data)
{
  Raw *raws[N_IDLE];
  gint64 started_us = g_get_monotonic_time ();

  /* The kernel queues them in this order, and the gateway accepts them in it. */
  for (guint i = 0; i < N_IDLE; i++)
    raws[i] = raw_connect (fixture);
  g_assert_true (cv_test_wait_until (raws_all_closed, fixture, WAIT_MS));

  for (guint i = 0; i < N_IDLE; i++)
    {
      gint64 closed_ms = (raws[i]->closed_us - started_us) / 1000;

      g_assert_cmpuint (raws[i]->received->len, ==, 0);
      if (i < PER_ADDRESS)
        {
          /* Closed by the 1.5 s deadline, counted from accept. */
          g_assert_cmpint (closed_ms, >=, 1000);
          g_assert_cmpint (closed_ms, <, 4000);
        }
      else
        g_assert_cmpint (closed_ms, <, 1000);
    }
  /* The first refusal is logged; the others are junk, summarised (test-gateway-logs). */
  g_assert_cmpuint (gateway_refusals->len, ==, 1);
  g_assert_cmpuint (count_refusals ("127.0.0.1: refused: 20 unauthenticated connections from "
                                    "this address (limit 20)"),
                    ==, 1);

  /* Every slot was given back. */
  agent_login (fixture, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s1", "share");
  g_assert_cmpuint (gateway_refusals->len, ==, 1);
}

/* Every way a connection can end before WELCOME gives its slot back, and so does
 * WELCOME: each is done one more time than the cap, so that one slot kept by any
 * of them would lock the address out.  With max_pending_handshakes 16 the cap is 16
 * overall and per address.  Many agents of one key log in: the per-key and per-session
 * caps are not the point here. */
#define SLOTS_LIMITS                                                                               \
  "\"max_pending_handshakes\": 16, \"handshake_timeout_ms\": 1000, \"max_links_per_key\": 1000, "  \
  "\"max_links_per_session\": 1000"
#define SLOTS_CAP 16
#define SILENT_BATCH 4

static void
test_admission_slots_return (Fixture *fixture, gconstpointer data)
{
  static const char bad_client_hello[] = { 0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00 };
  g_autofree char *unknown_ticket = cv_ticket_new ();
  g_autofree char *unknown_preface = tunnel_preface (unknown_ticket);
  g_autofree char *malformed_preface = g_strdup (unknown_preface);
  Agent *share, *connect;
  Agent *silent[SILENT_BATCH];

  login_pair (fixture, &share, &connect);
  malformed_preface[sizeof CV_TUNNEL_PREFACE_PREFIX] = '!';
  for (guint round = 0; round <= SLOTS_CAP; round++)
    {
      Agent *agent;
      JsonObject *share_offer, *connect_offer;
      Raw *halves[2];

      /* Before the first byte, and at it. */
      raw_probe (fixture, NULL, 0);
      raw_probe (fixture, "GET / HTTP/1.1\r\n\r\n", 18);
      /* A tunnel preface that is not one, or names no ticket. */
      raw_probe (fixture, malformed_preface, CV_TUNNEL_PREFACE_LENGTH);
      raw_probe (fixture, unknown_preface, CV_TUNNEL_PREFACE_LENGTH);
      /* The TLS handshake fails: a broken ClientHello; no client certificate. */
      raw_probe (fixture, bad_client_hello, sizeof bad_client_hello);
      agent = agent_dial (fixture, NULL);
      g_assert_true (cv_test_wait_until (agent_tls_done, agent, WAIT_MS));
      if (agent->tls_error == NULL)
        {
          /* TLS 1.3: the client is done before the server has seen its certificate. */
          agent_start_mux (agent);
          agent_wait_closed (agent);
        }
      /* TLS, then a HELLO that is refused. */
      agent = attempt (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1",
                       CONNECT_PASSWORD, "bad\nname");
      assert_refused (agent, CV_REASON_BAD_REQUEST, "HELLO: “name” holds a control character");
      /* Welcomed: the slot goes at WELCOME, not at the close; these stay up. */
      agent_login (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1", "visitor");
      /* A tunnel half, from its preface on. */
      agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
      share_offer = agent_next (share, CV_CONTROL_TUNNEL_OFFER);
      connect_offer = agent_next (connect, CV_CONTROL_TUNNEL_OFFER);
      halves[0] = present_ticket (fixture, member (share_offer, "ticket"));
      halves[1] = present_ticket (fixture, member (connect_offer, "ticket"));
      raw_write (halves[0], "ping", 4);
      raw_wait_received (halves[1], 4);
      g_ptr_array_remove (fixture->raws, halves[0]);
      g_ptr_array_remove (fixture->raws, halves[1]);
    }

  /* No HELLO before the deadline, in batches: each TLS handshake, both ends of it
   * in this process, takes a thread of GLib's task pool while it runs. */
  for (guint done = 0; done <= SLOTS_CAP; done += SILENT_BATCH)
    {
      guint n = MIN (SILENT_BATCH, SLOTS_CAP + 1 - done);

      for (guint i = 0; i < n; i++)
        silent[i] = agent_dial (fixture, fixture->connect_identity);
      for (guint i = 0; i < n; i++)
        agent_start_mux (silent[i]);
      for (guint i = 0; i < n; i++)
        {
          agent_wait_closed (silent[i]);
          g_assert_cmpint (cv_mux_get_peer_goaway (silent[i]->mux, NULL), ==,
                           CV_GOAWAY_REASON_SHUTTING_DOWN);
          g_assert_cmpuint (silent[i]->messages->len, ==, 0);
        }
    }

  agent_login (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1", "last");
  /* Nothing was turned away on the way. */
  g_assert_cmpuint (gateway_refusals->len, ==, 0);
}

/* Not TLS, not a tunnel: closed at once, long before the 10 s deadline. */
static void
test_not_culvert (Fixture *fixture, gconstpointer data)
{
  static const char request[] = "GET / HTTP/1.1\r\nHost: gateway.example\r\n\r\n";
  Raw *raw = raw_connect (fixture);

  raw_write (raw, request, sizeof request - 1);
  raw_assert_closed_within (raw, 1000);
}

/* ---- a peer that does not read ------------------------------------------ */

/* The gateway's end of @agent's TCP connection, found among this process's sockets by
 * its addresses.  Its send buffer (and the client's receive buffer) is shrunk so that the gateway's
 * writes stall after a few KiB (and the 256 KiB the TLS stream keeps above it), not after the
 * megabytes loopback autotuning allows. */
static void
shrink_gateway_send_buffer (Agent *agent)
{
  GSocket *socket = g_socket_connection_get_socket (agent->connection);
  struct sockaddr_storage local, peer;
  socklen_t local_len = sizeof local, peer_len = sizeof peer;
  int size = 4096;

  /* The client's receive buffer too, or loopback autotuning grows it to megabytes. */
  g_assert_cmpint (setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_RCVBUF, &size, sizeof size),
                   ==, 0);
  g_assert_cmpint (getsockname (g_socket_get_fd (socket), (struct sockaddr *) &local, &local_len),
                   ==, 0);
  g_assert_cmpint (getpeername (g_socket_get_fd (socket), (struct sockaddr *) &peer, &peer_len), ==,
                   0);
  for (int fd = 0; fd < 65536; fd++)
    {
      struct sockaddr_storage a, b;
      socklen_t a_len = sizeof a, b_len = sizeof b;

      if (getsockname (fd, (struct sockaddr *) &a, &a_len) != 0
          || getpeername (fd, (struct sockaddr *) &b, &b_len) != 0)
        continue;
      if (a_len == peer_len && memcmp (&a, &peer, a_len) == 0 && b_len == local_len
          && memcmp (&b, &local, b_len) == 0)
        {
          g_assert_cmpint (setsockopt (fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size), ==, 0);
          return;
        }
    }
  g_assert_not_reached ();
}

static gboolean
has_a_link (gpointer data)
{
  return cv_gateway_get_n_links (((Fixture *) data)->gateway) > 0;
}

/* A connect agent's HELLO with the connect agent's key, as JSON. */
static char *
connect_hello (Fixture *fixture, const char *session, const char *password, const char *name)
{
  CvHello fields = {
    .version = CV_PROTOCOL_VERSION,
    .role = CV_AGENT_ROLE_CONNECT,
    .session = (char *) session,
    .password = (char *) password,
    .name = (char *) name,
    .fingerprint = (char *) cv_identity_get_fingerprint (fixture->connect_identity),
  };

  return cv_control_build_hello (&fields);
}

/* A client with TLS and nothing above it: it writes frames and never reads. */
static Agent *
deaf_dial (Fixture *fixture)
{
  Agent *agent = agent_dial (fixture, fixture->connect_identity);

  g_assert_true (gateway_wait_until (agent_tls_done, agent, WAIT_MS));
  g_assert_no_error (agent->tls_error);
  shrink_gateway_send_buffer (agent);
  /* TLS 1.3: the client is done before the gateway; wait for its link. */
  g_assert_true (gateway_wait_until (has_a_link, fixture, WAIT_MS));
  return agent;
}

static void
on_deaf_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  /* Fails once the gateway has closed: that is what the cases wait for. */
  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, NULL);
  *(gboolean *) user_data = TRUE;
}

static gboolean
flag_is_set (gpointer data)
{
  return *(gboolean *) data;
}

static void
deaf_write (Agent *agent, GByteArray *bytes)
{
  gboolean done = FALSE;

  g_output_stream_write_all_async (g_io_stream_get_output_stream (agent->tls), bytes->data,
                                   bytes->len, G_PRIORITY_DEFAULT, NULL, on_deaf_written, &done);
  g_assert_true (gateway_wait_until (flag_is_set, &done, WAIT_MS));
}

static void
encode_settings (GByteArray *bytes)
{
  CvFrame settings = { .type = CV_FRAME_SETTINGS };

  settings.u.settings.version = CV_PROTOCOL_VERSION;
  settings.u.settings.initial_window = 65536;
  settings.u.settings.max_payload = CV_FRAME_DEFAULT_MAX_PAYLOAD;
  settings.u.settings.max_channels = 1;
  g_assert_true (cv_frame_encode (&settings, bytes, NULL));
}

static void
encode_frames (GByteArray *bytes, guint type, guint n, const char *json)
{
  for (guint i = 0; i < n; i++)
    {
      CvFrame frame = { .type = type };

      if (type == CV_FRAME_PING || type == CV_FRAME_PONG)
        frame.u.ping_opaque = i;
      else
        {
          frame.u.data.bytes = (const guint8 *) json;
          frame.u.data.len = strlen (json);
        }
      g_assert_true (cv_frame_encode (&frame, bytes, NULL));
    }
}

static void
deaf_send (Agent *agent, guint type, guint n, const char *json)
{
  g_autoptr (GByteArray) bytes = g_byte_array_new ();

  encode_frames (bytes, type, n, json);
  deaf_write (agent, bytes);
}

typedef struct {
  Fixture *fixture;
  guint n_links;
} LinkCount;

static gboolean
links_down_to (gpointer data)
{
  LinkCount *count = data;

  return cv_gateway_get_n_links (count->fixture->gateway) <= count->n_links;
}

static gboolean
is_closed_by_gateway (Fixture *fixture, guint n_links)
{
  LinkCount count = { fixture, n_links };

  return links_down_to (&count);
}

static gboolean
no_one_unauthenticated (gpointer data)
{
  return cv_gateway_get_n_unauthenticated (((Fixture *) data)->gateway) == 0;
}

/* Before WELCOME: PINGs whose PONGs are never read.  The link is closed once a few
 * KiB of PONGs wait for the stalled socket (max_output_before_welcome_bytes, 4096),
 * and its admission slot comes back. */
static void
test_output_ping_flood_before_welcome (Fixture *fixture, gconstpointer data)
{
  Agent *deaf = deaf_dial (fixture);
  g_autoptr (GByteArray) settings = g_byte_array_new ();
  guint n_pings = 0;

  encode_settings (settings);
  deaf_write (deaf, settings);
  g_assert_cmpuint (cv_gateway_get_n_unauthenticated (fixture->gateway), ==, 1);
  /* 200 at a time, whose PONGs (3,400 bytes) fit the bound, each time given to the
   * gateway to read and answer. */
  while (n_pings < 200000 && !is_closed_by_gateway (fixture, 0))
    {
      deaf_send (deaf, CV_FRAME_PING, 200, NULL);
      n_pings += 200;
      gateway_wait_until (flag_is_set, &(gboolean){ FALSE }, 2);
    }
  g_test_message ("closed after %u PINGs", n_pings);
  g_assert_true (is_closed_by_gateway (fixture, 0));
  /* Closed after about 2,000 (the PONGs of what one read brings count before they are
   * written; 256 KiB in the gateway's TLS stream and a few KiB in the sockets come
   * before that).  The old 1 MiB bound on owed frames took over 77,000. */
  g_assert_cmpuint (n_pings, <, 40000);
  g_assert_true (gateway_wait_until (no_one_unauthenticated, fixture, WAIT_MS));
}

/* After WELCOME: a connect agent asks for tunnels and never reads the answers.
 * Closed once max_control_output_bytes of answers wait; without the bound, never. */
static void
test_output_requests_after_welcome (Fixture *fixture, gconstpointer data)
{
  Agent *deaf = deaf_dial (fixture);
  g_autoptr (GByteArray) hello = g_byte_array_new ();
  g_autofree char *json = connect_hello (fixture, "s1", CONNECT_PASSWORD, "deaf");
  guint n_requests = 0;

  encode_settings (hello);
  encode_frames (hello, CV_CONTROL_HELLO, 1, json);
  deaf_write (deaf, hello);
  /* Welcomed: it no longer holds an admission slot. */
  g_assert_true (gateway_wait_until (no_one_unauthenticated, fixture, WAIT_MS));
  g_assert_cmpuint (cv_gateway_get_n_links (fixture->gateway), ==, 1);
  while (n_requests < 200000 && !is_closed_by_gateway (fixture, 0))
    {
      deaf_send (deaf, CV_CONTROL_TUNNEL_REQUEST, 100, "{}");
      n_requests += 100;
      gateway_wait_until (flag_is_set, &(gboolean){ FALSE }, 2);
    }
  g_test_message ("closed after %u tunnel requests", n_requests);
  g_assert_true (is_closed_by_gateway (fixture, 0));
}

/* ---- after a refusal: nothing answered, closed by the close deadline ------ */

/* A TLS client that reads everything, decoding the frames, and writes what the test
 * tells it to: it never says GOAWAY and never closes. */
typedef struct {
  Agent *agent;
  GByteArray *in;
  guint8 buffer[16384];
  gint64 refused_us;   /* when REFUSED came */
  guint after_refused; /* frames that came after it, GOAWAY aside */
  gboolean goaway;     /* the gateway's GOAWAY came */
  gint64 closed_us;    /* when the gateway closed (end of stream, or an error) */
} Stubborn;

static void stubborn_read (Stubborn *stubborn);

static void
stubborn_decode (Stubborn *stubborn)
{
  gsize offset = 0;

  for (;;)
    {
      CvFrame frame;
      gsize used = 0;
      g_autoptr (GError) error = NULL;
      CvFrameDecodeResult result = cv_frame_decode (stubborn->in->data + offset,
                                                    stubborn->in->len - offset,
                                                    CV_FRAME_DEFAULT_MAX_PAYLOAD, &frame, &used,
                                                    &error);

      if (result == CV_FRAME_DECODE_NEED_MORE)
        break;
      g_assert_no_error (error);
      g_assert_cmpint (result, ==, CV_FRAME_DECODE_OK);
      offset += used;
      if (frame.type == (CvFrameType) CV_CONTROL_REFUSED)
        stubborn->refused_us = g_get_monotonic_time ();
      else if (frame.type == CV_FRAME_GOAWAY)
        stubborn->goaway = TRUE;
      else if (stubborn->refused_us != 0)
        {
          g_test_message ("frame 0x%02x after REFUSED", frame.type);
          stubborn->after_refused++;
        }
    }
  g_byte_array_remove_range (stubborn->in, 0, offset);
}

static void
on_stubborn_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Stubborn *stubborn = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, NULL);

  if (n <= 0)
    {
      stubborn->closed_us = g_get_monotonic_time ();
      return;
    }
  g_byte_array_append (stubborn->in, stubborn->buffer, n);
  stubborn_decode (stubborn);
  stubborn_read (stubborn);
}

static void
stubborn_read (Stubborn *stubborn)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (stubborn->agent->tls), stubborn->buffer,
                             sizeof stubborn->buffer, G_PRIORITY_DEFAULT, NULL, on_stubborn_read,
                             stubborn);
}

static gboolean
stubborn_refused (gpointer data)
{
  return ((Stubborn *) data)->refused_us != 0;
}

/* With the handshake deadline far off, only the close deadline (2 s) can end it. */
#define STUBBORN_LIMITS "\"handshake_timeout_ms\": 60000, \"close_timeout_ms\": 2000"

/* Refused (an unknown session, or a wrong password), the client goes on: PINGs, control
 * messages, another HELLO, while reading all it is sent.  Nothing more is answered, and
 * the gateway closes the link at its close deadline, whatever the client does. */
static void
keeps_sending_after_refusal (Fixture *fixture, const char *session)
{
  Stubborn stubborn = { .in = g_byte_array_new () };
  g_autofree char *hello_json = connect_hello (fixture, session, WRONG_PASSWORD, "stubborn");
  g_autoptr (GByteArray) hello = g_byte_array_new ();
  g_autoptr (GByteArray) more = g_byte_array_new ();
  guint rounds = 0;
  gint64 closed_after_ms;

  stubborn.agent = agent_dial (fixture, fixture->connect_identity);
  g_assert_true (gateway_wait_until (agent_tls_done, stubborn.agent, WAIT_MS));
  g_assert_no_error (stubborn.agent->tls_error);
  stubborn_read (&stubborn);
  encode_settings (hello);
  encode_frames (hello, CV_CONTROL_HELLO, 1, hello_json);
  deaf_write (stubborn.agent, hello);
  g_assert_true (gateway_wait_until (stubborn_refused, &stubborn, WAIT_MS));

  encode_frames (more, CV_FRAME_PING, 20, NULL);
  encode_frames (more, CV_CONTROL_TUNNEL_REQUEST, 2, "{}");
  encode_frames (more, CV_CONTROL_HELLO, 1, hello_json);
  /* A round every ~50 ms, for at most 20 s: three times the close deadline. */
  while (stubborn.closed_us == 0 && rounds < 400)
    {
      deaf_write (stubborn.agent, more);
      rounds++;
      gateway_wait_until (flag_is_set, &(gboolean){ FALSE }, 50);
    }
  g_assert_true (stubborn.closed_us != 0);
  closed_after_ms = (stubborn.closed_us - stubborn.refused_us) / 1000;
  g_test_message ("closed %" G_GINT64_FORMAT " ms after REFUSED, after %u rounds", closed_after_ms,
                  rounds);
  g_assert_true (stubborn.goaway);
  g_assert_cmpuint (stubborn.after_refused, ==, 0);
  /* Its REFUSED and GOAWAY read, the link closes (at once, in fact): well before the
   * handshake deadline, which is far off. */
  g_assert_cmpint (closed_after_ms, <, 10000);
  g_assert_true (gateway_wait_until (no_one_unauthenticated, fixture, WAIT_MS));
  g_assert_true (is_closed_by_gateway (fixture, 0));
  g_byte_array_unref (stubborn.in);
}

static gboolean
flag_is_clear (gpointer data)
{
  return !*(gboolean *) data;
}

static void
on_stalled_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, NULL);
  *(gboolean *) user_data = FALSE;
  g_byte_array_unref (g_object_get_data (source, "cv-test-bytes"));
}

/* The same, from a client that first stalls the gateway's writes (PINGs whose PONGs it
 * does not read), so that its REFUSED cannot be written out; then it goes on sending,
 * and reads a trickle, as the attacker did to keep the link alive.  Only the close
 * deadline ends it.  The bound on unwritten output is raised here, so that the stall
 * is not ended first by control-flood (test_output_ping_flood_before_welcome). */
#define STALLED_LIMITS                                                                             \
  "\"handshake_timeout_ms\": 60000, \"close_timeout_ms\": 2000, "                                  \
  "\"max_output_before_welcome_bytes\": 1048576"

static gboolean
has_logged_unknown_session (gpointer data)
{
  return count_log_lines ("unknown session “no-such-session”") > 0;
}

static void
test_refused_stalled (Fixture *fixture, gconstpointer data)
{
  Agent *stalled = deaf_dial (fixture);
  int fd = g_socket_get_fd (g_socket_connection_get_socket (stalled->connection));
  GOutputStream *output = g_io_stream_get_output_stream (stalled->tls);
  g_autofree char *hello_json = connect_hello (fixture, "no-such-session", WRONG_PASSWORD,
                                               "stalled");
  g_autoptr (GByteArray) start = g_byte_array_new ();
  gboolean writing = FALSE;
  gint64 hello_us;
  gint64 closed_after_ms;
  guint rounds = 0;

  /* 20,000 PINGs: 340 KB of PONGs, more than the gateway's TLS stream (256 KiB) and the
   * shrunk sockets take: the rest waits in its mux. */
  encode_settings (start);
  deaf_write (stalled, start);
  for (guint i = 0; i < 200; i++)
    {
      deaf_send (stalled, CV_FRAME_PING, 100, NULL);
      gateway_wait_until (flag_is_set, &(gboolean){ FALSE }, 5);
    }
  g_assert_false (is_closed_by_gateway (fixture, 0));
  deaf_send (stalled, CV_CONTROL_HELLO, 1, hello_json);
  hello_us = g_get_monotonic_time ();
  /* Refused (REFUSED and GOAWAY queued behind the PONGs): from here it goes on. */
  g_assert_true (gateway_wait_until (has_logged_unknown_session, NULL, WAIT_MS));

  /* For at most 20 s: a round every ~50 ms, 64 bytes read in each. */
  while (!is_closed_by_gateway (fixture, 0) && rounds < 400)
    {
      char trickle[64];

      if (!writing)
        {
          GByteArray *more = g_byte_array_new ();

          encode_frames (more, CV_FRAME_PING, 20, NULL);
          encode_frames (more, CV_CONTROL_TUNNEL_REQUEST, 2, "{}");
          encode_frames (more, CV_CONTROL_HELLO, 1, hello_json);
          g_object_set_data (G_OBJECT (output), "cv-test-bytes", more);
          writing = TRUE;
          g_output_stream_write_all_async (output, more->data, more->len, G_PRIORITY_DEFAULT, NULL,
                                           on_stalled_written, &writing);
        }
      (void) recv (fd, trickle, sizeof trickle, MSG_DONTWAIT);
      rounds++;
      gateway_wait_until (flag_is_set, &(gboolean){ FALSE }, 50);
    }
  closed_after_ms = (g_get_monotonic_time () - hello_us) / 1000;
  g_test_message ("closed %" G_GINT64_FORMAT " ms after HELLO, after %u rounds", closed_after_ms,
                  rounds);
  g_assert_true (is_closed_by_gateway (fixture, 0));
  /* At the close deadline (2 s after the REFUSED, itself after a password check), not at
   * the handshake deadline (60 s), nor when the trickle would have drained it. */
  g_assert_cmpint (closed_after_ms, >=, 1000);
  g_assert_cmpint (closed_after_ms, <, 10000);
  g_assert_true (gateway_wait_until (no_one_unauthenticated, fixture, WAIT_MS));
  /* The last write fails, the gateway gone: its callback has the flag. */
  g_assert_true (gateway_wait_until (flag_is_clear, &writing, WAIT_MS));
}

static void
test_refused_unknown_session (Fixture *fixture, gconstpointer data)
{
  keeps_sending_after_refusal (fixture, "no-such-session");
}

static void
test_refused_wrong_password (Fixture *fixture, gconstpointer data)
{
  keeps_sending_after_refusal (fixture, "s1");
}

/* A logged-in client sends 30,000 PINGs without reading: the gateway's writes stall
 * (510 KB of PONGs against 256 KiB in its TLS stream and shrunk sockets; under the
 * 1 MiB bound), and it must still read what comes next: a GOAWAY, which it answers and
 * then closes the link at its close deadline.  A gateway that stopped reading while
 * its writes stall (as once measured: 7,000 of 30,000 PINGs read) would never see the
 * GOAWAY, and the link would stay until the keepalive's 45 s. */
static void
test_reads_while_writes_stall (Fixture *fixture, gconstpointer data)
{
  Agent *deaf = deaf_dial (fixture);
  g_autoptr (GByteArray) hello = g_byte_array_new ();
  g_autofree char *json = connect_hello (fixture, "s1", CONNECT_PASSWORD, "deaf");
  g_autoptr (GByteArray) bye = g_byte_array_new ();
  CvFrame goaway = { .type = CV_FRAME_GOAWAY };
  gint64 sent_us;

  encode_settings (hello);
  encode_frames (hello, CV_CONTROL_HELLO, 1, json);
  deaf_write (deaf, hello);
  g_assert_true (gateway_wait_until (no_one_unauthenticated, fixture, WAIT_MS));
  for (guint i = 0; i < 300; i++)
    {
      deaf_send (deaf, CV_FRAME_PING, 100, NULL);
      gateway_wait_until (flag_is_set, &(gboolean){ FALSE }, 2);
    }
  g_assert_false (is_closed_by_gateway (fixture, 0));
  goaway.u.close.reason = CV_GOAWAY_REASON_NORMAL;
  g_assert_true (cv_frame_encode (&goaway, bye, NULL));
  deaf_write (deaf, bye);
  sent_us = g_get_monotonic_time ();
  gateway_wait_until (links_down_to, &(LinkCount){ fixture, 0 }, WAIT_MS);
  g_test_message ("closed: %d, %" G_GINT64_FORMAT " ms after GOAWAY",
                  is_closed_by_gateway (fixture, 0), (g_get_monotonic_time () - sent_us) / 1000);
  g_assert_true (is_closed_by_gateway (fixture, 0));
  g_assert_cmpuint (count_log_lines ("control link closed: the carrier did not close within "
                                     "2000 ms of GOAWAY"),
                    ==, 1);
}

int
main (int argc, char **argv)
{
  gateway_test_init (&argc, &argv);
  gateway_test_add ("/gateway/limiter/concurrent-wrong-passwords", NULL,
                    test_concurrent_wrong_passwords);
  gateway_test_add ("/gateway/limiter/success-keeps-failures",
                    "\"auth_failures_before_backoff\": 5", test_success_keeps_failures);
  gateway_test_add ("/gateway/checks/close-during-check", NULL, test_close_during_check);
  gateway_test_add ("/gateway/checks/withdrawn", "\"password_check_workers\": 1",
                    test_withdrawn_check);
  gateway_test_add ("/gateway/checks/queue-full",
                    "\"password_check_workers\": 1, \"max_queued_password_checks\": 1, "
                    "\"max_password_checks_per_address\": 10",
                    test_check_queue_full);
  gateway_test_add ("/gateway/admission/per-address", ADMISSION_LIMITS, test_admission_per_address);
  gateway_test_add ("/gateway/admission/slots-return", SLOTS_LIMITS, test_admission_slots_return);
  gateway_test_add ("/gateway/admission/not-culvert", NULL, test_not_culvert);
  gateway_test_add ("/gateway/output/ping-flood-before-welcome", NULL,
                    test_output_ping_flood_before_welcome);
  gateway_test_add ("/gateway/output/requests-after-welcome", "\"max_control_output_bytes\": 65536",
                    test_output_requests_after_welcome);
  gateway_test_add ("/gateway/refused/keeps-sending/unknown-session", STUBBORN_LIMITS,
                    test_refused_unknown_session);
  gateway_test_add ("/gateway/refused/keeps-sending/wrong-password", STUBBORN_LIMITS,
                    test_refused_wrong_password);
  gateway_test_add ("/gateway/refused/keeps-sending/stalled", STALLED_LIMITS, test_refused_stalled);
  gateway_test_add ("/gateway/output/reads-while-writes-stall", NULL,
                    test_reads_while_writes_stall);
  return gateway_test_run ();
}
