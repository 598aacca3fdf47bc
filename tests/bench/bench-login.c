/* bench-login.c: what refused logins cost the gateway, run by hand (not a test).
 *
 * Two measurements on an in-process gateway on 127.0.0.1, with the scripted agents of
 * the gateway tests (tests/gateway-agents.c):
 *
 * - /bench/login/timing: the time from HELLO to REFUSED for an unknown session and
 *   for a wrong password, interleaved, ROUNDS of each (the limiter set high so that
 *   it does not answer first); prints the median, min and max of each.  The two must
 *   be within a few ms: session ids cannot be listed by timing.
 * - /bench/login/closers: N_CLOSERS × (HELLO with a wrong password, close at once)
 *   from one address, with the default limits; prints how many Argon2 checks ran,
 *   the CPU time of the gateway's password workers (utime + stime from
 *   /proc/self/task of every thread but the main one, gmain and GLib's pool: the
 *   checker's workers are the only others), and the process's, and the answer to the right password
 *   afterwards.
 */
#include "gateway-fixture.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define ROUNDS 40
#define N_CLOSERS 50

static int
compare_doubles (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
median (double *values, guint n)
{
  qsort (values, n, sizeof *values, compare_doubles);
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/* ms from HELLO to the answer, on a link already up. */
static double
time_refusal (Fixture *fixture, const char *session, const char *password)
{
  Agent *agent = agent_new (fixture, fixture->connect_identity);
  gint64 start = g_get_monotonic_time ();
  double ms;

  agent_hello (agent, CV_AGENT_ROLE_CONNECT, session, password, "bench");
  g_assert_cmpstr (agent_answer (agent), ==, CV_REASON_BAD_PASSWORD);
  ms = (g_get_monotonic_time () - start) / 1000.0;
  g_ptr_array_remove (fixture->agents, agent);
  return ms;
}

static void
bench_timing (Fixture *fixture, gconstpointer data)
{
  double unknown[ROUNDS], wrong[ROUNDS];

  for (guint i = 0; i < ROUNDS; i++)
    {
      unknown[i] = time_refusal (fixture, "no-such-session", CONNECT_PASSWORD);
      wrong[i] = time_refusal (fixture, "s1", WRONG_PASSWORD);
    }
  g_print ("HELLO → REFUSED, %u of each, interleaved (ms):\n", ROUNDS);
  g_print ("  unknown session: median %.1f\n", median (unknown, ROUNDS));
  g_print ("    min %.1f max %.1f\n", unknown[0], unknown[ROUNDS - 1]);
  g_print ("  wrong password:  median %.1f\n", median (wrong, ROUNDS));
  g_print ("    min %.1f max %.1f\n", wrong[0], wrong[ROUNDS - 1]);
}

/* utime + stime of the checker's worker threads, in s. */
static double
password_workers_cpu (void)
{
  g_autoptr (GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  long ticks_per_s = sysconf (_SC_CLK_TCK);
  const char *tid;
  double total = 0;

  while (dir != NULL && (tid = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *comm_path = g_strdup_printf ("/proc/self/task/%s/comm", tid);
      g_autofree char *stat_path = g_strdup_printf ("/proc/self/task/%s/stat", tid);
      g_autofree char *comm = NULL;
      g_autofree char *stat = NULL;
      g_auto (GStrv) fields = NULL;

      if (g_ascii_strtoll (tid, NULL, 10) == getpid ()
          || !g_file_get_contents (comm_path, &comm, NULL, NULL) || g_str_has_prefix (comm, "gmain")
          || g_str_has_prefix (comm, "pool-")
          || !g_file_get_contents (stat_path, &stat, NULL, NULL))
        continue;
      /* After "(comm)": state is field 3; utime and stime are 14 and 15. */
      fields = g_strsplit (strrchr (stat, ')') + 2, " ", 0);
      total += (g_ascii_strtod (fields[11], NULL) + g_ascii_strtod (fields[12], NULL))
               / ticks_per_s;
    }
  return total;
}

static double
process_cpu (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec
         + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

static gboolean
checker_idle (gpointer data)
{
  CvPasswordChecker *checker = data;

  return cv_password_checker_get_n_waiting (checker) == 0
         && cv_password_checker_get_n_running (checker) == 0;
}

static void
bench_closers (Fixture *fixture, gconstpointer data)
{
  CvPasswordChecker *checker = cv_gateway_get_password_checker (fixture->gateway);
  double workers_before = password_workers_cpu ();
  double process_before = process_cpu ();
  gint64 start = g_get_monotonic_time ();
  Agent *agent;

  for (guint i = 0; i < N_CLOSERS; i++)
    {
      agent = agent_new (fixture, fixture->connect_identity);
      agent_hello (agent, CV_AGENT_ROLE_CONNECT, "s1", WRONG_PASSWORD, "closer");
      /* Once the HELLO is written: the close follows it on the wire. */
      g_main_context_iteration (NULL, FALSE);
      agent_close (agent);
      g_ptr_array_remove (fixture->agents, agent);
    }
  g_assert_true (gateway_wait_until (checker_idle, checker, WAIT_MS));
  g_print ("%u × (HELLO with a wrong password, close) from one address in %.1f s:\n", N_CLOSERS,
           (g_get_monotonic_time () - start) / 1e6);
  g_print ("  Argon2 checks run: %" G_GUINT64_FORMAT "\n", cv_password_checker_get_n_run (checker));
  g_print ("  CPU of the password workers: %.2f s\n", password_workers_cpu () - workers_before);
  g_print ("  CPU of the process (gateway and clients): %.2f s\n", process_cpu () - process_before);
  agent = attempt (fixture, fixture->connect_identity, CV_AGENT_ROLE_CONNECT, "s1",
                   CONNECT_PASSWORD, "owner");
  g_print ("  then the right password is answered: %s\n", agent_answer (agent));
}

int
main (int argc, char **argv)
{
  gateway_test_init (&argc, &argv);
  gateway_test_add ("/bench/login/timing", "\"auth_failures_before_backoff\": 1000", bench_timing);
  gateway_test_add ("/bench/login/closers", NULL, bench_closers);
  return gateway_test_run ();
}
