/* bench-attacks.c: the real gateway (culvert-cli gateway) under each attack class of
 * issue 8, run by hand (not a test).  See tests/bench/ATTACKS.md for what it measures.
 *
 *   bench-attacks [--cli PATH] [--only N[,N…]] [--keep]
 *
 * Each attack gets a gateway of its own, started from a config in a temp dir (port
 * chosen free, sessions s1 — the attacker's — and s2 — the bystander's — with Argon2id
 * hashes from `culvert-cli hash-password`).  The attackers are real misbehaving
 * clients: TLS 1.3 with a key of their own (transport/cv-tls, transport/cv-identity)
 * writing mux frames (wire/cv-frame) they choose, and never reading when that is the
 * attack; or the scripted agents of the gateway tests (tests/gateway-agents.c), which
 * need no in-process gateway.  The bystander ("probe") logs in to session s2 from
 * 127.0.0.2 — other per-address limits than the attackers' 127.0.0.1 — as a share and a
 * connect agent, asks for a tunnel, presents both tickets and relays 4 KiB each way;
 * it runs during the attack and after it.
 *
 * For each attack, from /proc/PID of the gateway: VmRSS before, at its highest (sampled
 * every 50 ms) and after; VmHWM over the attack (reset with clear_refs 5 before it);
 * utime + stime over the attack; open descriptors before, at most and after; and the
 * lines it logged.  Every attack is bounded in time (≤ 60 s) and count, loopback only.
 */
#include "gateway-fixture.h"

#include "transport/cv-tls.h"
#include "wire/cv-frame.h"
#include "wire/cv-ticket.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <glib/gstdio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define ATTACKER "127.0.0.1"
#define BYSTANDER "127.0.0.2"
/* A receive buffer as small as the kernel allows: a client that does not read stalls
 * the gateway's writes after a few KiB instead of a few MiB. */
#define SMALL_RCVBUF 1024

/* Runs the default context until @condition holds, at most @timeout_ms.  Polling:
 * several conditions here (a log file, a flood that writes whenever it can) are no
 * event of the context. */
static gboolean
poll_until (gboolean (*condition) (gpointer), gpointer data, guint timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;

  while (!condition (data))
    {
      if (g_get_monotonic_time () > deadline)
        return FALSE;
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
  return TRUE;
}

/* ---- the gateway process ------------------------------------------------- */

typedef struct {
  char *dir;
  char *log_path;
  GPid pid;
  guint16 port;
} Gateway;

typedef struct {
  double rss_mib, hwm_mib, cpu_s;
  guint fds;
} Sample;

static const char *cli_path = CULVERT_CLI_PATH;
static char *share_hash;
static char *connect_hash;
static gboolean keep_dirs;

static char *
hash_password (const char *password)
{
  const char *argv[] = { cli_path, "hash-password", NULL };
  g_autofree char *input = g_strconcat (password, "\n", NULL);
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GBytes) stdin_bytes = g_bytes_new (input, strlen (input));
  g_autoptr (GBytes) out = NULL;
  g_autoptr (GError) error = NULL;

  process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE,
                               &error);
  g_assert_no_error (error);
  g_subprocess_communicate (process, stdin_bytes, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_successful (process));
  return g_strstrip (g_strndup (g_bytes_get_data (out, NULL), g_bytes_get_size (out)));
}

static guint16
free_port (void)
{
  guint16 port;
  g_autoptr (GSocket) socket = cv_test_listen_loopback (&port);

  g_socket_close (socket, NULL);
  return port;
}

static void
child_setup (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static gboolean
log_has (Gateway *gateway, const char *part)
{
  g_autofree char *text = NULL;

  return g_file_get_contents (gateway->log_path, &text, NULL, NULL) && strstr (text, part) != NULL;
}

static guint
log_count (Gateway *gateway, const char *part)
{
  g_autofree char *text = NULL;
  guint n = 0;

  if (!g_file_get_contents (gateway->log_path, &text, NULL, NULL))
    return 0;
  for (const char *at = text; (at = strstr (at, part)) != NULL; at += strlen (part))
    n++;
  return n;
}

static gboolean
gateway_is_listening (gpointer data)
{
  Gateway *gateway = data;
  g_autofree char *line = g_strdup_printf ("listening on 127.0.0.1 port %u", gateway->port);

  return log_has (gateway, line);
}

/* A gateway whose config has @limits (members of "limits", JSON text), its key made
 * beforehand in its state_dir so that the agents can pin it. */
static Gateway *
gateway_start (Fixture *fixture, const char *limits)
{
  Gateway *gateway = g_new0 (Gateway, 1);
  g_autoptr (GError) error = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *json = NULL;
  g_autofree char *session_members =
    g_strdup_printf ("\"share_password_hash\": \"%s\", \"connect_password_hash\": \"%s\"",
                     share_hash, connect_hash);
  g_auto (GStrv) env = g_environ_unsetenv (g_get_environ (), "G_DEBUG");
  const char *argv[5] = { cli_path, "gateway", "--config", NULL, NULL };
  int log_fd;

  gateway->dir = g_strdup (fixture->dir);
  gateway->port = free_port ();
  gateway->log_path = g_strdup_printf ("%s/gateway-%u.log", fixture->dir, gateway->port);
  config_path = g_strdup_printf ("%s/gateway-%u.json", fixture->dir, gateway->port);
  json = g_strdup_printf ("{\"listen\": [\"127.0.0.1:%u\"], \"state_dir\": \"%s\",\n"
                          " \"sessions\": [{\"id\": \"s1\", %s}, {\"id\": \"s2\", %s}],\n"
                          " \"limits\": {%s}}\n",
                          gateway->port, fixture->dir, session_members, session_members,
                          limits != NULL ? limits : "");
  g_file_set_contents (config_path, json, -1, &error);
  g_assert_no_error (error);
  argv[3] = config_path;
  env = g_environ_unsetenv (env, "JOURNAL_STREAM");
  log_fd = open (gateway->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  g_assert_cmpint (log_fd, >=, 0);
  g_spawn_async_with_fds (NULL, (char **) argv, env, G_SPAWN_DO_NOT_REAP_CHILD, child_setup, NULL,
                          &gateway->pid, -1, log_fd, log_fd, &error);
  g_assert_no_error (error);
  close (log_fd);
  g_assert_true (poll_until (gateway_is_listening, gateway, WAIT_MS));
  fixture->port = gateway->port;
  return gateway;
}

static void
gateway_stop (Gateway *gateway)
{
  int status = 0;

  kill (gateway->pid, SIGTERM);
  for (guint i = 0; i < 500 && waitpid (gateway->pid, &status, WNOHANG) == 0; i++)
    g_usleep (10000);
  if (kill (gateway->pid, 0) == 0)
    {
      kill (gateway->pid, SIGKILL);
      waitpid (gateway->pid, &status, 0);
    }
  g_spawn_close_pid (gateway->pid);
  g_free (gateway->dir);
  g_free (gateway->log_path);
  g_free (gateway);
}

static gboolean
gateway_alive (Gateway *gateway)
{
  int status;

  return waitpid (gateway->pid, &status, WNOHANG) == 0;
}

static double
status_field_mib (const char *status, const char *key)
{
  const char *at = strstr (status, key);

  return at == NULL ? 0 : g_ascii_strtod (at + strlen (key), NULL) / 1024.0;
}

static Sample
sample (Gateway *gateway)
{
  g_autofree char *status_path = g_strdup_printf ("/proc/%d/status", gateway->pid);
  g_autofree char *stat_path = g_strdup_printf ("/proc/%d/stat", gateway->pid);
  g_autofree char *fd_path = g_strdup_printf ("/proc/%d/fd", gateway->pid);
  g_autofree char *status = NULL;
  g_autofree char *stat = NULL;
  g_autoptr (GDir) dir = g_dir_open (fd_path, 0, NULL);
  Sample s = { 0 };

  if (g_file_get_contents (status_path, &status, NULL, NULL))
    {
      s.rss_mib = status_field_mib (status, "VmRSS:");
      s.hwm_mib = status_field_mib (status, "VmHWM:");
    }
  if (g_file_get_contents (stat_path, &stat, NULL, NULL))
    {
      /* After "(comm) ": state is field 3; utime and stime are 14 and 15. */
      g_auto (GStrv) fields = g_strsplit (strrchr (stat, ')') + 2, " ", 0);

      s.cpu_s = (g_ascii_strtod (fields[11], NULL) + g_ascii_strtod (fields[12], NULL))
                / sysconf (_SC_CLK_TCK);
    }
  while (dir != NULL && g_dir_read_name (dir) != NULL)
    s.fds++;
  return s;
}

/* VmHWM from now on: "5" to clear_refs resets the peak (Linux ≥ 4.0). */
static void
reset_peak (Gateway *gateway)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/clear_refs", gateway->pid);
  /* Not g_file_set_contents(): it writes a temp file and renames it. */
  int fd = open (path, O_WRONLY | O_CLOEXEC);

  if (fd >= 0)
    {
      if (write (fd, "5", 1) != 1)
        g_printerr ("VmHWM could not be reset: %s\n", g_strerror (errno));
      close (fd);
    }
}

/* ---- one row of the table ------------------------------------------------ */

typedef struct {
  const char *name;
  const char *bound;
  Gateway *gateway;
  Sample before, peak, after;
  guint log_lines_before;
  guint sampler;
  GString *result;
  char *probe_during;
  char *probe_after;
  double probe_cpu_s; /* the bystander's own logins: not the attack's */
  double cpu_s;       /* the attack's, from before to after */
  double hwm_mib;     /* VmHWM with the bystander's windows left out */
  gboolean paused;
  guint n_log_lines;
  char *top_line; /* the line logged most often, digits as N, and how often */
} Row;

static GPtrArray *rows;

static guint
log_lines (Gateway *gateway)
{
  return log_count (gateway, "\n");
}

static gboolean
on_sample (gpointer data)
{
  Row *row = data;
  Sample s;

  if (row->paused)
    return G_SOURCE_CONTINUE;
  s = sample (row->gateway);
  row->peak.rss_mib = MAX (row->peak.rss_mib, s.rss_mib);
  row->peak.fds = MAX (row->peak.fds, s.fds);
  return G_SOURCE_CONTINUE;
}

static Row *
row_begin (const char *name, const char *bound, Gateway *gateway)
{
  Row *row = g_new0 (Row, 1);

  row->name = name;
  row->bound = bound;
  row->gateway = gateway;
  row->result = g_string_new (NULL);
  reset_peak (gateway);
  row->before = sample (gateway);
  row->peak = row->before;
  row->log_lines_before = log_lines (gateway);
  row->sampler = g_timeout_add (50, on_sample, row);
  g_print ("\n## %s\n", name);
  return row;
}

/* The line the gateway logged most often since @from (of its lines), without its
 * time stamp and with digits as N, and how often. */
static char *
top_log_line (Gateway *gateway, guint from)
{
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GHashTable) counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GRegex) digits = g_regex_new ("[0-9]+", 0, 0, NULL);
  const char *best = NULL;
  guint best_n = 0;

  if (!g_file_get_contents (gateway->log_path, &text, NULL, NULL))
    return g_strdup ("");
  lines = g_strsplit (text, "\n", 0);
  for (guint i = from; lines[i] != NULL && lines[i + 1] != NULL; i++)
    {
      const char *body = strlen (lines[i]) > 13 ? lines[i] + 13 : lines[i];
      char *key = g_regex_replace_literal (digits, body, -1, 0, "N", 0, NULL);
      guint n = GPOINTER_TO_UINT (g_hash_table_lookup (counts, key)) + 1;

      g_hash_table_replace (counts, key, GUINT_TO_POINTER (n));
      if (n > best_n)
        {
          best_n = n;
          best = key;
        }
    }
  return best == NULL ? g_strdup ("none") : g_strdup_printf ("%u × “%s”", best_n, best);
}

static char *probe (Fixture *fixture);

/* The bystander, its CPU and memory kept out of the attack's. */
static char *
row_probe (Row *row, Fixture *fixture)
{
  Sample before;
  char *result;

  row->paused = TRUE;
  before = sample (row->gateway);
  row->hwm_mib = MAX (row->hwm_mib, before.hwm_mib);
  result = probe (fixture);
  row->probe_cpu_s += sample (row->gateway).cpu_s - before.cpu_s;
  reset_peak (row->gateway);
  row->paused = FALSE;
  return result;
}

static void
row_probe_during (Row *row, Fixture *fixture)
{
  row->probe_during = row_probe (row, fixture);
}

/* The attack is over: the samples after it, then the bystander once more. */
static void
row_end (Row *row, Fixture *fixture)
{
  Sample s = sample (row->gateway);

  g_source_remove (row->sampler);
  row->after = s;
  row->hwm_mib = MAX (row->hwm_mib, s.hwm_mib);
  row->peak.rss_mib = MAX (row->peak.rss_mib, s.rss_mib);
  row->peak.fds = MAX (row->peak.fds, s.fds);
  row->cpu_s = s.cpu_s - row->before.cpu_s - row->probe_cpu_s;
  row->n_log_lines = log_lines (row->gateway) - row->log_lines_before;
  row->top_line = top_log_line (row->gateway, row->log_lines_before);
  row->probe_after = row_probe (row, fixture);
  if (!gateway_alive (row->gateway))
    g_string_append (row->result, " **The gateway died.**");
  g_print ("  RSS %.1f → max %.1f → %.1f MiB (HWM %.1f), CPU %.2f s, fds %u → %u → %u, "
           "%u log lines, most often %s\n  %s\n  bystander during: %s; after: %s\n",
           row->before.rss_mib, row->peak.rss_mib, row->after.rss_mib, row->hwm_mib, row->cpu_s,
           row->before.fds, row->peak.fds, row->after.fds, row->n_log_lines, row->top_line,
           row->result->str, row->probe_during ? row->probe_during : "–", row->probe_after);
  g_ptr_array_add (rows, row);
}

static void
print_table (void)
{
  g_print (
    "\n| # | attack | bound that holds it | RSS MiB before → max → after | VmHWM MiB | "
    "CPU s | fds before → max → after | log lines (most often) | bystander during / after | what "
    "happened |\n|---|---|---|---|---|---|---|---|---|---|\n");
  for (guint i = 0; i < rows->len; i++)
    {
      Row *row = rows->pdata[i];

      g_print ("| %u | %s | %s | %.1f → %.1f → %.1f | %.1f | %.2f | %u → %u → %u | %u (%s) | "
               "%s / %s | %s |\n",
               i + 1, row->name, row->bound, row->before.rss_mib, row->peak.rss_mib,
               row->after.rss_mib, row->hwm_mib, row->cpu_s, row->before.fds, row->peak.fds,
               row->after.fds, row->n_log_lines, row->top_line,
               row->probe_during ? row->probe_during : "–", row->probe_after, row->result->str);
    }
}

/* ---- connections from a chosen source address ---------------------------- */

static GSocketConnection *
dial_from (const char *source, guint16 port, int rcvbuf, GError **error)
{
  g_autoptr (GInetAddress) local = g_inet_address_new_from_string (source);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_from_string (ATTACKER);
  g_autoptr (GSocketAddress) local_address = g_inet_socket_address_new (local, 0);
  g_autoptr (GSocketAddress) remote = g_inet_socket_address_new (loopback, port);
  g_autoptr (GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                             G_SOCKET_PROTOCOL_TCP, error);

  if (socket == NULL)
    return NULL;
  if (rcvbuf > 0)
    setsockopt (g_socket_get_fd (socket), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  g_socket_set_timeout (socket, 5);
  if (!g_socket_bind (socket, local_address, FALSE, error)
      || !g_socket_connect (socket, remote, NULL, error))
    return NULL;
  g_socket_set_timeout (socket, 0);
  return g_socket_connection_factory_create_connection (socket);
}

/* Whether the gateway has ended the connection, seen without reading from it: our
 * side is past ESTABLISHED (its FIN or RST came). */
static gboolean
tcp_is_closed (GSocketConnection *connection)
{
  struct tcp_info info = { 0 };
  socklen_t len = sizeof info;
  int fd = g_socket_get_fd (g_socket_connection_get_socket (connection));

  return getsockopt (fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0
         || info.tcpi_state != TCP_ESTABLISHED;
}

/* gateway-agents.c's Message, for the array an Agent records its messages in. */
/* An Agent (tests/gateway-agents.c) dialled from @source; its TLS may fail. */
static Agent *
agent_dial_from (Fixture *fixture, const char *source, CvIdentity *identity, int rcvbuf)
{
  GError *error = NULL;
  GSocketConnection *connection = dial_from (source, fixture->port, rcvbuf, &error);

  return agent_over (fixture, identity, connection, error);
}

/* agent_free() wants a connection; one that was never made is freed here. */
static void
agent_drop (Fixture *fixture, Agent *agent)
{
  if (agent->connection != NULL)
    {
      g_ptr_array_remove (fixture->agents, agent);
      return;
    }
  for (guint i = 0; i < fixture->agents->len; i++)
    if (fixture->agents->pdata[i] == agent)
      g_ptr_array_steal_index_fast (fixture->agents, i);
  g_clear_error (&agent->tls_error);
  g_ptr_array_unref (agent->messages);
  g_free (agent);
}

static gboolean
agent_answered (gpointer data)
{
  Agent *agent = data;

  return agent->closed || agent_count (agent, CV_CONTROL_WELCOME) > 0
         || agent_count (agent, CV_CONTROL_REFUSED) > 0;
}

/* A scripted agent from @source, logged in or not: NULL and @why when it was not
 * welcomed (the REFUSED reason, "closed", "tls: …", or "no answer"). */
static Agent *
login_from (Fixture *fixture,
            const char *source,
            CvIdentity *identity,
            CvAgentRole role,
            const char *session,
            const char *password,
            char **why)
{
  Agent *agent = agent_dial_from (fixture, source, identity, 0);

  if (!poll_until (agent_tls_done, agent, WAIT_MS) || agent->tls_error != NULL)
    {
      *why = g_strdup_printf ("tls: %s", agent->tls_error ? agent->tls_error->message : "timeout");
      agent_drop (fixture, agent);
      return NULL;
    }
  agent_start_mux (agent);
  agent_hello (agent, role, session, password, "bench");
  if (!poll_until (agent_answered, agent, WAIT_MS))
    *why = g_strdup ("no answer");
  else if (agent_count (agent, CV_CONTROL_WELCOME) > 0)
    return agent;
  else
    *why = g_strdup (agent_count (agent, CV_CONTROL_REFUSED) > 0 ? agent_answer (agent) : "closed");
  agent_drop (fixture, agent);
  return NULL;
}

static Raw *
raw_from (Fixture *fixture, const char *source)
{
  g_autoptr (GError) error = NULL;
  GSocketConnection *connection = dial_from (source, fixture->port, 0, &error);
  Raw *raw;

  if (connection == NULL)
    return NULL;
  raw = g_new0 (Raw, 1);
  raw->connection = connection;
  raw->opened_us = g_get_monotonic_time ();
  raw->received = g_byte_array_new ();
  raw_watch (raw);
  g_ptr_array_add (fixture->raws, raw);
  return raw;
}

static gboolean
either_closed (gpointer data)
{
  Raw **pair = data;

  return raw_is_closed (pair[0]) || raw_is_closed (pair[1]);
}

/* present_ticket() from @source, bounded: NULL if the half was not taken. */
static Raw *
present_from (Fixture *fixture, const char *source, const char *ticket)
{
  g_autofree char *preface = tunnel_preface (ticket);
  Raw *pair[2] = { raw_from (fixture, source), raw_from (fixture, source) };

  if (pair[0] == NULL || pair[1] == NULL)
    return NULL;
  raw_write (pair[0], preface, CV_TUNNEL_PREFACE_LENGTH);
  raw_write (pair[1], preface, CV_TUNNEL_PREFACE_LENGTH);
  if (!poll_until (either_closed, pair, WAIT_MS)
      || raw_is_closed (pair[0]) == raw_is_closed (pair[1]))
    return NULL;
  return raw_is_closed (pair[0]) ? pair[1] : pair[0];
}

typedef struct {
  Raw *raw;
  gsize len;
} Expect;

static gboolean
has_received (gpointer data)
{
  Expect *expect = data;

  return expect->raw->received->len >= expect->len || raw_is_closed (expect->raw);
}

static gboolean
relayed (Raw *from, Raw *to, gsize len, guint32 seed)
{
  g_autofree guint8 *sent = g_malloc (len);
  Expect expect = { to, to->received->len + len };

  cv_test_fill_random (sent, len, seed);
  raw_write (from, sent, len);
  return poll_until (has_received, &expect, WAIT_MS) && to->received->len == expect.len
         && memcmp (to->received->data + expect.len - len, sent, len) == 0;
}

static gboolean
has_offer (gpointer data)
{
  return agent_count (data, CV_CONTROL_TUNNEL_OFFER) > 0 || ((Agent *) data)->closed;
}

static JsonObject *
first_offer (Agent *agent)
{
  return poll_until (has_offer, agent, WAIT_MS) && agent_count (agent, CV_CONTROL_TUNNEL_OFFER) > 0
           ? agent_next (agent, CV_CONTROL_TUNNEL_OFFER)
           : NULL;
}

static CvIdentity *probe_connect_identity;

/* The bystander: session s2 from 127.0.0.2, a share and a connect agent, a tunnel,
 * 4 KiB each way.  "ok N ms", or what failed. */
static char *
probe (Fixture *fixture)
{
  gint64 start = g_get_monotonic_time ();
  guint n_raws = fixture->raws->len; /* the attack's, which stay */
  Agent *share, *connect = NULL;
  JsonObject *to_share, *to_connect;
  Raw *share_half, *connect_half;
  char *why = NULL;
  char *result;

  share = login_from (fixture, BYSTANDER, fixture->share2_identity, CV_AGENT_ROLE_SHARE, "s2",
                      SHARE_PASSWORD, &why);
  if (share == NULL)
    return g_strdup_printf ("share login: %s", why);
  connect = login_from (fixture, BYSTANDER, probe_connect_identity, CV_AGENT_ROLE_CONNECT, "s2",
                        CONNECT_PASSWORD, &why);
  if (connect == NULL)
    {
      result = g_strdup_printf ("connect login: %s", why);
      goto out;
    }
  agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
  to_connect = first_offer (connect);
  to_share = first_offer (share);
  if (to_connect == NULL || to_share == NULL || !json_object_has_member (to_connect, "ticket"))
    {
      result = g_strdup_printf ("no tunnel: %s",
                                to_connect != NULL && json_object_has_member (to_connect, "error")
                                  ? json_object_get_string_member (to_connect, "error")
                                  : "no offer");
      goto out;
    }
  share_half = present_from (fixture, BYSTANDER, member (to_share, "ticket"));
  connect_half = present_from (fixture, BYSTANDER, member (to_connect, "ticket"));
  if (share_half == NULL || connect_half == NULL)
    result = g_strdup ("tunnel half not taken");
  else if (!relayed (connect_half, share_half, 4096, 1)
           || !relayed (share_half, connect_half, 4096, 2))
    result = g_strdup ("tunnel did not relay");
  else
    result = g_strdup_printf ("ok %.0f ms", (g_get_monotonic_time () - start) / 1000.0);
out:
  g_free (why);
  g_ptr_array_remove_range (fixture->raws, n_raws, fixture->raws->len - n_raws);
  g_ptr_array_remove (fixture->agents, share);
  if (connect != NULL)
    g_ptr_array_remove (fixture->agents, connect);
  return result;
}

/* ---- rogues: TLS and frames of our choosing, reading only when told ------- */

typedef struct {
  Agent *agent; /* its connection and TLS; no mux */
  GByteArray *out;
  GByteArray *in;
  gboolean failed;
  guint64 frames;
  gint64 closed_us;
} Rogue;

static Rogue *
rogue_new (Fixture *fixture, const char *source, CvIdentity *identity)
{
  Rogue *rogue = g_new0 (Rogue, 1);

  rogue->agent = agent_dial_from (fixture, source, identity, SMALL_RCVBUF);
  rogue->out = g_byte_array_new ();
  rogue->in = g_byte_array_new ();
  return rogue;
}

static void
rogue_free (gpointer data)
{
  Rogue *rogue = data;

  g_byte_array_unref (rogue->out);
  g_byte_array_unref (rogue->in);
  g_free (rogue);
}

static gboolean
rogue_ready (Rogue *rogue)
{
  return rogue->agent->tls_done && rogue->agent->tls != NULL;
}

static void
rogue_queue (Rogue *rogue, const CvFrame *frame)
{
  g_autoptr (GError) error = NULL;

  cv_frame_encode (frame, rogue->out, &error);
  g_assert_no_error (error);
  rogue->frames++;
}

static void
rogue_queue_settings (Rogue *rogue)
{
  CvFrame frame = { .type = CV_FRAME_SETTINGS };

  frame.u.settings = (CvFrameSettings){ 1, 64 * 1024, CV_FRAME_DEFAULT_MAX_PAYLOAD, 1 };
  rogue_queue (rogue, &frame);
}

static void
rogue_queue_control (Rogue *rogue, guint type, const char *json)
{
  CvFrame frame = { .type = type };

  frame.u.data.bytes = (const guint8 *) json;
  frame.u.data.len = strlen (json);
  rogue_queue (rogue, &frame);
}

static void
rogue_queue_ping (Rogue *rogue)
{
  CvFrame frame = { .type = CV_FRAME_PING };

  frame.u.ping_opaque = rogue->frames;
  rogue_queue (rogue, &frame);
}

/* Writes what the socket takes now; FALSE once the gateway has closed it. */
static gboolean
rogue_flush (Rogue *rogue)
{
  GPollableOutputStream *out;

  if (rogue->failed)
    return FALSE;
  if (!rogue_ready (rogue))
    return TRUE;
  out = G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream (rogue->agent->tls));
  while (rogue->out->len > 0)
    {
      g_autoptr (GError) error = NULL;
      gssize n = g_pollable_output_stream_write_nonblocking (out, rogue->out->data, rogue->out->len,
                                                             NULL, &error);

      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      if (n < 0)
        {
          rogue->failed = TRUE;
          break;
        }
      g_byte_array_remove_range (rogue->out, 0, n);
    }
  if (!rogue->failed && tcp_is_closed (rogue->agent->connection))
    rogue->failed = TRUE;
  if (rogue->failed && rogue->closed_us == 0)
    rogue->closed_us = g_get_monotonic_time ();
  return !rogue->failed;
}

typedef struct {
  Rogue *rogue;
  guint type;
} Await;

/* Reads frames until one of @type came (or the link ended). */
static gboolean
rogue_has_read (gpointer data)
{
  Await *await = data;
  Rogue *rogue = await->rogue;
  GPollableInputStream *in = G_POLLABLE_INPUT_STREAM (
    g_io_stream_get_input_stream (rogue->agent->tls));
  guint8 buffer[16384];
  gssize n;

  rogue_flush (rogue);
  while ((n = g_pollable_input_stream_read_nonblocking (in, buffer, sizeof buffer, NULL, NULL)) > 0)
    g_byte_array_append (rogue->in, buffer, n);
  if (n == 0)
    return TRUE;
  for (gsize at = 0; at + CV_FRAME_HEADER_SIZE <= rogue->in->len;)
    {
      guint8 *h = rogue->in->data + at;
      gsize len = (h[0] << 16) | (h[1] << 8) | h[2];

      if (h[3] == await->type)
        return TRUE;
      at += CV_FRAME_HEADER_SIZE + len;
    }
  return FALSE;
}

/* TLS, SETTINGS, HELLO; TRUE once WELCOME came.  The rogue reads no more after. */
static gboolean
rogue_login (Rogue *rogue, const char *session, const char *password)
{
  CvHello hello = {
    .version = CV_PROTOCOL_VERSION,
    .role = CV_AGENT_ROLE_CONNECT,
    .session = (char *) session,
    .password = (char *) password,
    .name = (char *) "rogue",
    .fingerprint = (char *) cv_identity_get_fingerprint (rogue->agent->identity),
  };
  g_autofree char *json = cv_control_build_hello (&hello);
  Await await = { rogue, CV_CONTROL_WELCOME };

  if (!poll_until (agent_tls_done, rogue->agent, WAIT_MS) || !rogue_ready (rogue))
    return FALSE;
  rogue_queue_settings (rogue);
  rogue_queue_control (rogue, CV_CONTROL_HELLO, json);
  return poll_until (rogue_has_read, &await, WAIT_MS) && !rogue->failed;
}

/* ---- attacks -------------------------------------------------------------- */

typedef struct {
  GPtrArray *rogues;
  gint64 deadline;
  guint per_turn;   /* frames queued per rogue per turn, while its output is empty */
  gboolean control; /* TUNNEL_REQUEST instead of PING */
} Flood;

static gboolean
flood_done (gpointer data)
{
  Flood *flood = data;
  gboolean all_closed = TRUE;

  for (guint i = 0; i < flood->rogues->len; i++)
    {
      Rogue *rogue = flood->rogues->pdata[i];

      if (!rogue_ready (rogue) || rogue->failed)
        continue;
      if (rogue->out->len < 64 * 1024)
        for (guint k = 0; k < flood->per_turn; k++)
          {
            if (flood->control)
              rogue_queue_control (rogue, CV_CONTROL_TUNNEL_REQUEST, "{}");
            else
              rogue_queue_ping (rogue);
          }
      if (rogue_flush (rogue))
        all_closed = FALSE;
    }
  return all_closed || g_get_monotonic_time () > flood->deadline;
}

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static void
describe_closes (GString *result, GPtrArray *rogues, gint64 start, const char *unit)
{
  g_autoptr (GArray) times = g_array_new (FALSE, FALSE, sizeof (double));
  guint64 frames = 0, max_frames = 0;

  for (guint i = 0; i < rogues->len; i++)
    {
      Rogue *rogue = rogues->pdata[i];

      frames += rogue->frames;
      max_frames = MAX (max_frames, rogue->frames);
      if (rogue->closed_us != 0)
        {
          double ms = (rogue->closed_us - start) / 1000.0;

          g_array_append_val (times, ms);
        }
    }
  g_array_sort (times, compare_doubles);
  g_string_append_printf (result, "%u of %u closed by the gateway", times->len, rogues->len);
  if (times->len > 0)
    {
      double max = 0;

      for (guint i = 0; i < times->len; i++)
        max = MAX (max, g_array_index (times, double, i));
      g_string_append_printf (result, " (the last %.1f s after the start)", max / 1000);
    }
  g_string_append_printf (result,
                          "; %" G_GUINT64_FORMAT " %s written in all, at most %" G_GUINT64_FORMAT
                          " by one",
                          frames, unit, max_frames);
}

/* The flood for @first_s, the bystander while it goes on, then the flood for at most
 * @then_s more or until every rogue is closed. */
static void
run_flood (Row *row, Fixture *fixture, Flood *flood, guint first_s, guint then_s, const char *unit)
{
  gint64 start = g_get_monotonic_time ();

  flood->deadline = start + first_s * G_USEC_PER_SEC;
  poll_until (flood_done, flood, 60000);
  row_probe_during (row, fixture);
  flood->deadline = g_get_monotonic_time () + then_s * G_USEC_PER_SEC;
  poll_until (flood_done, flood, 60000);
  describe_closes (row->result, flood->rogues, start, unit);
}

static gboolean
all_tls_done (gpointer data)
{
  GPtrArray *rogues = data;

  for (guint i = 0; i < rogues->len; i++)
    if (!((Rogue *) rogues->pdata[i])->agent->tls_done)
      return FALSE;
  return TRUE;
}

/* 1. A client that never reads, before WELCOME: SETTINGS, then PINGs until closed. */
static void
attack_ping_flood (Fixture *fixture)
{
  Gateway *gateway = gateway_start (fixture, NULL);
  Row *row = row_begin ("never reads before WELCOME: 32 clients, PINGs until closed",
                        "`max_output_before_welcome_bytes` 4096", gateway);
  g_autoptr (GPtrArray) rogues = g_ptr_array_new_with_free_func (rogue_free);
  Flood flood = { rogues, 0, 64, FALSE };

  for (guint i = 0; i < 32; i++)
    g_ptr_array_add (rogues, rogue_new (fixture, ATTACKER, fixture->connect_identity));
  poll_until (all_tls_done, rogues, WAIT_MS);
  for (guint i = 0; i < rogues->len; i++)
    if (rogue_ready (rogues->pdata[i]))
      rogue_queue_settings (rogues->pdata[i]);
  run_flood (row, fixture, &flood, 2, 20, "PINGs");
  g_ptr_array_set_size (fixture->agents, 0);
  row_end (row, fixture);
  gateway_stop (gateway);
}

/* 2. A logged-in connect agent that floods TUNNEL_REQUESTs and never reads; the share
 * agent of its session is online and reads. */
static void
attack_request_flood (Fixture *fixture)
{
  Gateway *gateway = gateway_start (fixture, NULL);
  Row *row = row_begin ("logged-in connect agent: TUNNEL_REQUEST flood, never reads",
                        "`tunnel_requests_per_second` 5 (burst 10), "
                        "`max_control_output_bytes` 1 MiB",
                        gateway);
  g_autoptr (GPtrArray) rogues = g_ptr_array_new_with_free_func (rogue_free);
  Flood flood = { rogues, 0, 256, TRUE };
  char *why = NULL;
  Agent *share = login_from (fixture, ATTACKER, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s1",
                             SHARE_PASSWORD, &why);
  Rogue *rogue = rogue_new (fixture, ATTACKER, fixture->connect_identity);

  g_ptr_array_add (rogues, rogue);
  g_assert_nonnull (share);
  g_assert_true (rogue_login (rogue, "s1", CONNECT_PASSWORD));
  run_flood (row, fixture, &flood, 3, 30, "requests");
  g_string_append_printf (row->result, "; the share agent got %u offers",
                          agent_count (share, CV_CONTROL_TUNNEL_OFFER));
  g_ptr_array_set_size (fixture->agents, 0);
  row_end (row, fixture);
  gateway_stop (gateway);
}

/* 3. 50 × (HELLO with a wrong password, close at once) from one address. */
static void
attack_closers (Fixture *fixture)
{
  Gateway *gateway = gateway_start (fixture, NULL);
  Row *row = row_begin ("50 × (HELLO with a wrong password, close) from one address",
                        "counted checks, `max_password_checks_per_address` 2, "
                        "`auth_failures_before_backoff` 5",
                        gateway);
  char *why = NULL;
  Agent *owner;
  guint dialled = 0;

  for (guint i = 0; i < 50; i++)
    {
      Agent *agent = agent_dial_from (fixture, ATTACKER, fixture->connect_identity, 0);

      if (poll_until (agent_tls_done, agent, WAIT_MS) && agent->tls != NULL)
        {
          agent_start_mux (agent);
          agent_hello (agent, CV_AGENT_ROLE_CONNECT, "s1", WRONG_PASSWORD, "closer");
          g_main_context_iteration (NULL, FALSE);
          cv_mux_close (agent->mux);
          dialled++;
        }
      agent_drop (fixture, agent);
    }
  row_probe_during (row, fixture);
  /* Let the queue drain before "after": at most 50 checks of ~80 ms on 2 workers. */
  cv_test_iterate_for (NULL, 3000);
  owner = login_from (fixture, ATTACKER, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1",
                      CONNECT_PASSWORD, &why);
  g_string_append_printf (row->result,
                          "%u HELLOs sent and closed; then the right password from that address: "
                          "%s; the gateway logged %u wrong-password failures, %u rate-limited",
                          dialled, owner != NULL ? "welcome" : why,
                          log_count (gateway, "wrong password"),
                          log_count (gateway, "rate-limited"));
  g_free (why);
  g_ptr_array_set_size (fixture->agents, 0);
  row_end (row, fixture);
  gateway_stop (gateway);
}

/* ms from HELLO to REFUSED from @source; the reason in @reason. */
static double
time_refusal (Fixture *fixture, const char *source, const char *session, char **reason)
{
  Agent *agent = agent_dial_from (fixture, source, fixture->connect_identity, 0);
  gint64 start;
  double ms = -1;

  if (poll_until (agent_tls_done, agent, WAIT_MS) && agent->tls != NULL)
    {
      agent_start_mux (agent);
      start = g_get_monotonic_time ();
      agent_hello (agent, CV_AGENT_ROLE_CONNECT, session, WRONG_PASSWORD, "enum");
      if (poll_until (agent_answered, agent, WAIT_MS))
        {
          ms = (g_get_monotonic_time () - start) / 1000.0;
          *reason = g_strdup (agent_answer (agent));
        }
    }
  agent_drop (fixture, agent);
  return ms;
}

/* 4. Unknown session against wrong password: the same answer, the same time.  Each
 * HELLO from an address of its own (127.0.2.N), as an enumerating attacker would, so
 * that the default limiter is not what answers. */
#define ENUM_ROUNDS 40
static void
attack_enumerate (Fixture *fixture)
{
  Gateway *gateway = gateway_start (fixture, NULL);
  Row *row = row_begin ("HELLOs for unknown sessions against wrong passwords, 40 of each",
                        "unknown session answered as `bad-password` after a check", gateway);
  double unknown[ENUM_ROUNDS], wrong[ENUM_ROUNDS];
  g_autoptr (GHashTable) reasons = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GString) seen = g_string_new (NULL);
  GHashTableIter iter;
  gpointer key, value;

  for (guint i = 0; i < ENUM_ROUNDS; i++)
    {
      g_autofree char *a = g_strdup_printf ("127.0.2.%u", 2 * i + 1);
      g_autofree char *b = g_strdup_printf ("127.0.2.%u", 2 * i + 2);
      char *ra = NULL, *rb = NULL;

      unknown[i] = time_refusal (fixture, a, "no-such-session", &ra);
      wrong[i] = time_refusal (fixture, b, "s1", &rb);
      g_hash_table_insert (reasons, g_strconcat ("unknown→", ra ? ra : "none", NULL),
                           GINT_TO_POINTER (1));
      g_hash_table_insert (reasons, g_strconcat ("wrong→", rb ? rb : "none", NULL),
                           GINT_TO_POINTER (1));
      g_free (ra);
      g_free (rb);
      if (i == ENUM_ROUNDS / 2)
        row_probe_during (row, fixture);
    }
  qsort (unknown, ENUM_ROUNDS, sizeof (double), compare_doubles);
  qsort (wrong, ENUM_ROUNDS, sizeof (double), compare_doubles);
  g_hash_table_iter_init (&iter, reasons);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_string_append_printf (seen, "%s%s", seen->len ? ", " : "", (char *) key);
  g_string_append_printf (row->result,
                          "HELLO → REFUSED ms, unknown session: median %.1f (min %.1f, max %.1f); "
                          "wrong password: median %.1f (min %.1f, max %.1f); answers: %s",
                          (unknown[ENUM_ROUNDS / 2 - 1] + unknown[ENUM_ROUNDS / 2]) / 2, unknown[0],
                          unknown[ENUM_ROUNDS - 1],
                          (wrong[ENUM_ROUNDS / 2 - 1] + wrong[ENUM_ROUNDS / 2]) / 2, wrong[0],
                          wrong[ENUM_ROUNDS - 1], seen->str);
  row_end (row, fixture);
  gateway_stop (gateway);
}

static gboolean
all_answered (gpointer data)
{
  GPtrArray *agents = data;

  for (guint i = 0; i < agents->len; i++)
    if (!agent_answered (agents->pdata[i]))
      return FALSE;
  return TRUE;
}

/* 4b. Wrong passwords from many addresses, as fast as the gateway answers: what one
 * stranger with a /24 costs, and whether the bystander still logs in. */
static void
attack_spray (Fixture *fixture)
{
  Gateway *gateway = gateway_start (fixture, NULL);
  Row *row = row_begin ("wrong passwords from 250 addresses, 24 at a time, for 45 s",
                        "`max_queued_password_checks` 32, `password_check_workers` 2, "
                        "600 failed logins a minute in all",
                        gateway);
  g_autoptr (GHashTable) answers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr (GString) seen = g_string_new (NULL);
  gint64 start = g_get_monotonic_time ();
  gboolean probed = FALSE;
  GHashTableIter iter;
  gpointer key, value;
  guint sent = 0;

  while (g_get_monotonic_time () - start < 45 * G_USEC_PER_SEC)
    {
      g_autoptr (GPtrArray) batch = g_ptr_array_new ();

      for (guint i = 0; i < 24; i++, sent++)
        {
          g_autofree char *source = g_strdup_printf ("127.0.4.%u", 1 + sent % 250);
          Agent *agent = agent_dial_from (fixture, source, fixture->connect_identity, 0);

          if (!poll_until (agent_tls_done, agent, WAIT_MS) || agent->tls == NULL)
            {
              agent_drop (fixture, agent);
              continue;
            }
          agent_start_mux (agent);
          agent_hello (agent, CV_AGENT_ROLE_CONNECT, "s1", WRONG_PASSWORD, "spray");
          g_ptr_array_add (batch, agent);
        }
      poll_until (all_answered, batch, WAIT_MS);
      for (guint i = 0; i < batch->len; i++)
        {
          Agent *agent = batch->pdata[i];
          const char *answer = agent_answered (agent) ? (agent_count (agent, CV_CONTROL_REFUSED) > 0
                                                           ? agent_answer (agent)
                                                           : "closed")
                                                      : "no answer";
          guint n = GPOINTER_TO_UINT (g_hash_table_lookup (answers, answer));

          g_hash_table_replace (answers, g_strdup (answer), GUINT_TO_POINTER (n + 1));
          agent_drop (fixture, agent);
        }
      if (!probed && g_get_monotonic_time () - start > 30 * G_USEC_PER_SEC)
        {
          row_probe_during (row, fixture);
          probed = TRUE;
        }
    }
  g_hash_table_iter_init (&iter, answers);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_string_append_printf (seen, "%s%u × %s", seen->len ? ", " : "", GPOINTER_TO_UINT (value),
                            (char *) key);
  g_string_append_printf (row->result,
                          "%u HELLOs in %.0f s; answers: %s; checks run (logged as "
                          "wrong password): %u",
                          sent, (g_get_monotonic_time () - start) / 1e6, seen->str,
                          log_count (gateway, "wrong password"));
  row_end (row, fixture);
  gateway_stop (gateway);
}

/* Tunnels @connect asks for and both halves present, each joined and silent after one
 * byte; the number it got, and the first refusal in @error. */
static guint
join_tunnels (Fixture *fixture,
              Agent *share,
              Agent *connect,
              guint wanted,
              guint seconds,
              char **error)
{
  gint64 deadline = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;
  guint joined = 0;

  while (joined < wanted && g_get_monotonic_time () < deadline)
    {
      JsonObject *to_connect, *to_share;
      Raw *share_half, *connect_half;

      agent_send (connect, CV_CONTROL_TUNNEL_REQUEST, "{}");
      to_connect = first_offer (connect);
      if (to_connect == NULL)
        break;
      if (json_object_has_member (to_connect, "error"))
        {
          if (*error == NULL)
            *error = g_strdup (json_object_get_string_member (to_connect, "error"));
          if (g_str_equal (json_object_get_string_member (to_connect, "error"), "rate-limited"))
            {
              cv_test_iterate_for (NULL, 200);
              g_clear_pointer (error, g_free);
              continue;
            }
          break;
        }
      to_share = first_offer (share);
      if (to_share == NULL)
        break;
      share_half = present_from (fixture, ATTACKER, member (to_share, "ticket"));
      connect_half = present_from (fixture, ATTACKER, member (to_connect, "ticket"));
      if (share_half == NULL || connect_half == NULL || !relayed (connect_half, share_half, 1, 3))
        break;
      joined++;
    }
  return joined;
}

static gboolean
raws_closed (gpointer data)
{
  GPtrArray *raws = data;

  for (guint i = 0; i < raws->len; i++)
    if (!raw_is_closed (raws->pdata[i]))
      return FALSE;
  return TRUE;
}

/* 5. The request/present loop of one connect agent (key K, session s1, whose share
 * agent the attacker also runs); then 6: the joined tunnels stay silent. */
static void
attack_tunnel_loop (Fixture *fixture)
{
  Gateway *gateway = gateway_start (fixture, "\"tunnel_idle_timeout_ms\": 30000");
  Row *row = row_begin ("request/present loop of one connect agent for 20 s",
                        "`max_tunnels_per_key` 8, `max_tunnels_per_session` 64", gateway);
  char *why = NULL;
  char *refusal = NULL;
  Agent *share = login_from (fixture, ATTACKER, fixture->share_identity, CV_AGENT_ROLE_SHARE, "s1",
                             SHARE_PASSWORD, &why);
  Agent *connect = login_from (fixture, ATTACKER, fixture->connect_identity, CV_AGENT_ROLE_CONNECT,
                               "s1", CONNECT_PASSWORD, &why);
  g_autoptr (GPtrArray) halves = g_ptr_array_new ();
  guint joined;
  gint64 idle_start;
  Row *idle;

  g_assert_nonnull (share);
  g_assert_nonnull (connect);
  joined = join_tunnels (fixture, share, connect, 1000, 20, &refusal);
  row_probe_during (row, fixture);
  g_string_append_printf (row->result, "%u tunnels joined, then `%s`", joined,
                          refusal ? refusal : "none");
  for (guint i = 0; i < fixture->raws->len; i++)
    if (!raw_is_closed (fixture->raws->pdata[i]))
      g_ptr_array_add (halves, fixture->raws->pdata[i]);
  row_end (row, fixture);

  /* 6. The same joined tunnels, silent from now on. */
  idle = row_begin ("silent halves of the joined tunnels above",
                    "`tunnel_idle_timeout_ms` 30000 (set for the run; default 90000)", gateway);
  idle_start = g_get_monotonic_time ();
  row_probe_during (idle, fixture);
  poll_until (raws_closed, halves, 45000);
  {
    guint closed = 0;
    gint64 last = 0;

    for (guint i = 0; i < halves->len; i++)
      if (raw_is_closed (halves->pdata[i]))
        {
          closed++;
          last = MAX (last, ((Raw *) halves->pdata[i])->closed_us);
        }
    g_string_append_printf (idle->result, "%u of %u silent halves closed by the gateway", closed,
                            halves->len);
    if (closed > 0)
      g_string_append_printf (idle->result, ", the last %.1f s after their last byte",
                              (last - idle_start) / 1e6);
  }
  g_ptr_array_set_size (fixture->raws, 0);
  g_ptr_array_set_size (fixture->agents, 0);
  g_free (refusal);
  row_end (idle, fixture);
  gateway_stop (gateway);
}

/* 7. Junk: 1,000 connections of each kind, from one address and from 100. */
typedef enum {
  JUNK_GARBAGE,
  JUNK_TLS_GARBAGE,
  JUNK_SLOWLORIS
} JunkKind;

static void
attack_junk (Fixture *fixture, JunkKind kind, guint n_sources)
{
  static const char *const names[] = {
    "1,000 connections of garbage",
    "1,000 connections: TLS, then garbage",
    "1,000 connections: slowloris (one byte of a TLS record, then nothing)",
  };
  Gateway *gateway = gateway_start (fixture, NULL);
  g_autofree char *name = g_strdup_printf ("%s, from %u address%s", names[kind], n_sources,
                                           n_sources > 1 ? "es" : "");
  Row *row = row_begin (g_intern_string (name),
                        "admission: 32 per address, `max_pending_handshakes` 256; "
                        "`handshake_timeout_ms` 10000",
                        gateway);
  g_autoptr (GPtrArray) raws = g_ptr_array_new ();
  g_autoptr (GPtrArray) rogues = g_ptr_array_new_with_free_func (rogue_free);
  guint8 garbage[512];
  guint failed = 0, closed = 0;
  gint64 start = g_get_monotonic_time ();

  cv_test_fill_random (garbage, sizeof garbage, 7);
  garbage[0] = 'G';
  for (guint i = 0; i < 1000; i++)
    {
      g_autofree char *source = g_strdup_printf ("127.0.%u.%u", 3 + (i % n_sources) / 250,
                                                 1 + (i % n_sources) % 250);
      Raw *raw;

      if (kind == JUNK_TLS_GARBAGE)
        {
          g_ptr_array_add (rogues, rogue_new (fixture, source, fixture->connect_identity));
          continue;
        }
      raw = raw_from (fixture, source);

      if (raw == NULL)
        {
          failed++;
          continue;
        }
      g_ptr_array_add (raws, raw);
      if (kind == JUNK_GARBAGE)
        raw_write (raw, garbage, sizeof garbage);
      else
        raw_write (raw, "\x16", 1);
    }
  if (kind == JUNK_TLS_GARBAGE)
    {
      poll_until (all_tls_done, rogues, 30000);
      for (guint i = 0; i < rogues->len; i++)
        {
          Rogue *rogue = rogues->pdata[i];

          if (!rogue_ready (rogue))
            continue;
          g_byte_array_append (rogue->out, garbage, sizeof garbage);
          rogue_flush (rogue);
        }
    }
  row_probe_during (row, fixture);
  if (kind == JUNK_TLS_GARBAGE)
    {
      for (guint i = 0; i < rogues->len; i++)
        {
          Rogue *rogue = rogues->pdata[i];

          if (!rogue_ready (rogue))
            failed++;
          else if (!rogue_flush (rogue))
            closed++;
        }
      g_string_append_printf (row->result,
                              "%u TLS handshakes refused or failed; of the rest, %u "
                              "closed by the probe's end",
                              failed, closed);
    }
  else
    {
      gint64 last = 0;

      poll_until (raws_closed, raws, 40000);
      for (guint i = 0; i < raws->len; i++)
        if (raw_is_closed (raws->pdata[i]))
          {
            closed++;
            last = MAX (last, ((Raw *) raws->pdata[i])->closed_us);
          }
      g_string_append_printf (row->result,
                              "%u of %u closed by the gateway, the last %.1f s after "
                              "the first was opened",
                              closed, raws->len, (last - start) / 1e6);
    }
  g_ptr_array_set_size (fixture->raws, 0);
  g_ptr_array_set_size (fixture->agents, 0);
  cv_test_iterate_for (NULL, 500);
  row_end (row, fixture);
  gateway_stop (gateway);
}

/* 8. Links: 20 connect agents with one key, then 70 keys in one session. */
static void
attack_links (Fixture *fixture, CvIdentity **keys, guint n_keys)
{
  Gateway *gateway = gateway_start (fixture, NULL);
  Row *row = row_begin ("links: 20 logins with one key, then 70 keys in one session",
                        "`max_links_per_key` 8, `max_links_per_session` 64", gateway);
  guint one_key = 0, one_session = 0;
  char *first_key_refusal = NULL, *first_session_refusal = NULL;

  for (guint i = 0; i < 20; i++)
    {
      char *why = NULL;

      if (login_from (fixture, ATTACKER, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1",
                      CONNECT_PASSWORD, &why))
        one_key++;
      else if (first_key_refusal == NULL)
        first_key_refusal = why;
      else
        g_free (why);
      /* Two checks at once per address: one login at a time. */
    }
  g_ptr_array_set_size (fixture->agents, 0);
  cv_test_iterate_for (NULL, 500);
  for (guint i = 0; i < n_keys; i++)
    {
      char *why = NULL;

      if (login_from (fixture, ATTACKER, keys[i], CV_AGENT_ROLE_CONNECT, "s1", CONNECT_PASSWORD,
                      &why))
        one_session++;
      else if (first_session_refusal == NULL)
        first_session_refusal = why;
      else
        g_free (why);
    }
  row_probe_during (row, fixture);
  g_string_append_printf (row->result,
                          "one key: %u of 20 welcomed, then `%s`; one session: %u of %u keys "
                          "welcomed, then `%s`",
                          one_key, first_key_refusal ? first_key_refusal : "none", one_session,
                          n_keys, first_session_refusal ? first_session_refusal : "none");
  g_ptr_array_set_size (fixture->agents, 0);
  cv_test_iterate_for (NULL, 500);
  row_end (row, fixture);
  g_free (first_key_refusal);
  g_free (first_session_refusal);
  gateway_stop (gateway);
}

/* ---- main ------------------------------------------------------------------ */

static CvIdentity *
identity (Fixture *fixture, const char *name)
{
  g_autoptr (GError) error = NULL;
  CvIdentity *id = cv_identity_load_or_create (fixture->dir, name, name, NULL, &error);

  g_assert_no_error (error);
  return id;
}

static gboolean
wanted (const char *only, guint n)
{
  g_autofree char *key = g_strdup_printf (",%u,", n);
  g_autofree char *list = g_strdup_printf (",%s,", only);

  return only == NULL || strstr (list, key) != NULL;
}

int
main (int argc, char **argv)
{
  g_autofree char *only = NULL;
  GOptionEntry entries[] = {
    { "cli", 0, 0, G_OPTION_ARG_FILENAME, &cli_path, "culvert-cli to run", "PATH" },
    { "only", 0, 0, G_OPTION_ARG_STRING, &only,
      "only these attacks (1…9, comma-separated; 6 runs with 5)", "N,…" },
    { "keep", 0, 0, G_OPTION_ARG_NONE, &keep_dirs, "keep the temp dir (configs, logs)", NULL },
    { NULL },
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("— the gateway under attack");
  g_autoptr (GError) error = NULL;
  Fixture fixture = { 0 };
  CvIdentity *keys[70];
  struct rlimit limit;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("%s\n", error->message);
      return 2;
    }
  signal (SIGPIPE, SIG_IGN);
  /* 1,000 junk connections and the gateway's side of them (it inherits the limit). */
  getrlimit (RLIMIT_NOFILE, &limit);
  limit.rlim_cur = MIN (limit.rlim_max, 65536);
  setrlimit (RLIMIT_NOFILE, &limit);
  /* g_print converts to the locale's charset: the table has arrows and quotes. */
  setlocale (LC_ALL, "C.UTF-8");
  cv_tls_restrict_process_to_tls13 ();
  rows = g_ptr_array_new ();
  share_hash = hash_password (SHARE_PASSWORD);
  connect_hash = hash_password (CONNECT_PASSWORD);
  fixture.dir = g_dir_make_tmp ("culvert-attacks-XXXXXX", &error);
  g_assert_no_error (error);
  g_object_unref (identity (&fixture, "gateway")); /* the gateway's own, made before it starts */
  fixture.gateway_identity = identity (&fixture, "gateway");
  fixture.share_identity = identity (&fixture, "share");
  fixture.share2_identity = identity (&fixture, "share2");
  fixture.connect_identity = identity (&fixture, "connect");
  probe_connect_identity = identity (&fixture, "probe-connect");
  fixture.agents = g_ptr_array_new_with_free_func (agent_free);
  fixture.raws = g_ptr_array_new_with_free_func (raw_free);
  g_print ("culvert-cli: %s\ntemp dir: %s\n", cli_path, fixture.dir);

  if (wanted (only, 1))
    attack_ping_flood (&fixture);
  if (wanted (only, 2))
    attack_request_flood (&fixture);
  if (wanted (only, 3))
    attack_closers (&fixture);
  if (wanted (only, 4))
    attack_enumerate (&fixture);
  if (wanted (only, 9))
    attack_spray (&fixture);
  if (wanted (only, 5))
    attack_tunnel_loop (&fixture);
  if (wanted (only, 7))
    {
      attack_junk (&fixture, JUNK_GARBAGE, 1);
      attack_junk (&fixture, JUNK_TLS_GARBAGE, 1);
      attack_junk (&fixture, JUNK_SLOWLORIS, 1);
      attack_junk (&fixture, JUNK_SLOWLORIS, 100);
    }
  if (wanted (only, 8))
    {
      for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
        {
          g_autofree char *name = g_strdup_printf ("key%u", i);

          keys[i] = identity (&fixture, name);
        }
      attack_links (&fixture, keys, G_N_ELEMENTS (keys));
      for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
        g_object_unref (keys[i]);
    }
  print_table ();

  g_ptr_array_unref (fixture.agents);
  g_ptr_array_unref (fixture.raws);
  if (!keep_dirs)
    cv_test_remove_tree (fixture.dir);
  return 0;
}
