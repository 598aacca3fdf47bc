/* test-auth-limiter.c: the failed-login policy, on a clock the tests move by hand. */
#include "auth/cv-auth-limiter.h"

#define SECOND G_USEC_PER_SEC
#define T0 (1000 * SECOND) /* any start will do; not zero, to catch "0 means unset" */

static GInetAddress *
address (const char *text)
{
  GInetAddress *a = g_inet_address_new_from_string (text);

  g_assert_nonnull (a);
  return a;
}

/* An IPv4 address per index, for tests that need many distinct sources. */
static GInetAddress *
nth_address (guint i)
{
  g_autofree char *text = g_strdup_printf ("10.%u.%u.%u", (i >> 16) & 0xff, (i >> 8) & 0xff,
                                           i & 0xff);
  return address (text);
}

static void
fail_n (CvAuthLimiter *limiter, GInetAddress *source, guint n, gint64 now_us)
{
  for (guint i = 0; i < n; i++)
    cv_auth_limiter_record_failure (limiter, source, now_us);
}

static void
assert_allowed (CvAuthLimiter *limiter, GInetAddress *source, gint64 now_us)
{
  gint64 retry_after_us = -1;

  g_assert_true (cv_auth_limiter_check (limiter, source, now_us, &retry_after_us));
  g_assert_cmpint (retry_after_us, ==, 0);
}

static void
assert_blocked (CvAuthLimiter *limiter,
                GInetAddress *source,
                gint64 now_us,
                gint64 expected_wait_us)
{
  gint64 retry_after_us = -1;

  g_assert_false (cv_auth_limiter_check (limiter, source, now_us, &retry_after_us));
  g_assert_cmpint (retry_after_us, ==, expected_wait_us);
}

static void
test_blocked_after_max_failures (void)
{
  g_autoptr (CvAuthLimiter) limiter = cv_auth_limiter_new (NULL);
  g_autoptr (GInetAddress) source = address ("192.0.2.7");
  g_autoptr (GInetAddress) other = address ("192.0.2.8");

  fail_n (limiter, source, 4, T0);
  assert_allowed (limiter, source, T0);

  cv_auth_limiter_record_failure (limiter, source, T0);
  assert_blocked (limiter, source, T0, SECOND);
  assert_blocked (limiter, source, T0 + SECOND / 2, SECOND / 2);
  /* Asking while blocked costs nothing and changes nothing. */
  for (guint i = 0; i < 100; i++)
    g_assert_false (cv_auth_limiter_check (limiter, source, T0 + SECOND / 2, NULL));
  assert_allowed (limiter, source, T0 + SECOND);
  assert_allowed (limiter, other, T0);
}

static void
test_backoff_doubles_and_caps (void)
{
  g_autoptr (CvAuthLimiter) limiter = cv_auth_limiter_new (NULL);
  g_autoptr (GInetAddress) source = address ("198.51.100.1");
  /* The first four failures at once, then each as soon as it is allowed. */
  static const gint64 expected_s[] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300 };
  gint64 now = T0;

  fail_n (limiter, source, 4, now);
  for (guint i = 0; i < G_N_ELEMENTS (expected_s); i++)
    {
      assert_allowed (limiter, source, now);
      cv_auth_limiter_record_failure (limiter, source, now);
      assert_blocked (limiter, source, now, expected_s[i] * SECOND);
      assert_blocked (limiter, source, now + expected_s[i] * SECOND - 1, 1);
      now += expected_s[i] * SECOND;
    }
  assert_allowed (limiter, source, now);
}

static void
test_success_resets (void)
{
  g_autoptr (CvAuthLimiter) limiter = cv_auth_limiter_new (NULL);
  g_autoptr (GInetAddress) source = address ("203.0.113.9");

  fail_n (limiter, source, 7, T0);
  assert_blocked (limiter, source, T0, 4 * SECOND);
  cv_auth_limiter_record_success (limiter, source);
  g_assert_cmpuint (cv_auth_limiter_get_n_sources (limiter), ==, 0);

  /* Forgotten: four more failures are allowed, the fifth blocks for 1 s again. */
  fail_n (limiter, source, 4, T0 + 4 * SECOND);
  assert_allowed (limiter, source, T0 + 4 * SECOND);
  cv_auth_limiter_record_failure (limiter, source, T0 + 4 * SECOND);
  assert_blocked (limiter, source, T0 + 4 * SECOND, SECOND);
}

static void
test_failures_expire (void)
{
  CvAuthLimits limits;
  g_autoptr (CvAuthLimiter) limiter = NULL;
  g_autoptr (GInetAddress) source = address ("192.0.2.200");
  gint64 now = T0;

  cv_auth_limits_init_defaults (&limits);
  limiter = cv_auth_limiter_new (&limits);

  /* Failures a window apart never add up. */
  for (guint i = 0; i < 20; i++)
    {
      cv_auth_limiter_record_failure (limiter, source, now);
      assert_allowed (limiter, source, now);
      now += limits.failure_window_us;
    }

  /* Just inside the window they do. */
  for (guint i = 0; i < limits.max_failures; i++)
    {
      assert_allowed (limiter, source, now);
      cv_auth_limiter_record_failure (limiter, source, now);
      now += limits.failure_window_us - 1;
    }
  g_assert_false (
    cv_auth_limiter_check (limiter, source, now - limits.failure_window_us + 1, NULL));

  /* A quiet window later the source is forgotten, even by check(). */
  assert_allowed (limiter, source, now + limits.failure_window_us);
  g_assert_cmpuint (cv_auth_limiter_get_n_sources (limiter), ==, 0);
}

static void
test_ipv6_grouped_by_64 (void)
{
  g_autoptr (CvAuthLimiter) limiter = cv_auth_limiter_new (NULL);
  g_autoptr (GInetAddress) host = address ("2001:db8:1:2::1");
  g_autoptr (GInetAddress) same_64 = address ("2001:db8:1:2:ffff:ffff:ffff:fffe");
  g_autoptr (GInetAddress) next_64 = address ("2001:db8:1:3::1");

  /* One host rotating through its /64 is one source. */
  fail_n (limiter, host, 3, T0);
  fail_n (limiter, same_64, 2, T0);
  assert_blocked (limiter, host, T0, SECOND);
  assert_blocked (limiter, same_64, T0, SECOND);
  assert_allowed (limiter, next_64, T0);
  g_assert_cmpuint (cv_auth_limiter_get_n_sources (limiter), ==, 1);
}

static void
test_ipv4_mapped (void)
{
  g_autoptr (CvAuthLimiter) limiter = cv_auth_limiter_new (NULL);
  g_autoptr (GInetAddress) v4 = address ("192.0.2.1");
  g_autoptr (GInetAddress) mapped = address ("::ffff:192.0.2.1");
  g_autoptr (GInetAddress) mapped_neighbour = address ("::ffff:192.0.2.2");
  g_autoptr (GInetAddress) v4_neighbour = address ("192.0.2.2");

  /* A dual-stack listener's view of an IPv4 client is that client, not a /64 that
   * would hold every IPv4 client at once. */
  fail_n (limiter, mapped, 5, T0);
  assert_blocked (limiter, v4, T0, SECOND);
  assert_allowed (limiter, mapped_neighbour, T0);
  assert_allowed (limiter, v4_neighbour, T0);
}

static void
test_global_budget (void)
{
  CvAuthLimits limits;
  g_autoptr (CvAuthLimiter) limiter = NULL;
  g_autoptr (GInetAddress) newcomer = address ("203.0.113.250");
  guint i;

  cv_auth_limits_init_defaults (&limits);
  limiter = cv_auth_limiter_new (&limits);

  /* 600 sources fail once each at the same moment: none is blocked by itself,
   * but the budget is spent and everyone waits for the next 100 ms share. */
  for (i = 0; i < limits.global_failures_per_minute; i++)
    {
      g_autoptr (GInetAddress) source = nth_address (i);

      assert_allowed (limiter, source, T0);
      cv_auth_limiter_record_failure (limiter, source, T0);
    }
  assert_blocked (limiter, newcomer, T0, 100000);
  assert_blocked (limiter, newcomer, T0 + 99999, 1);
  assert_allowed (limiter, newcomer, T0 + 100000);

  /* Refilled evenly: one failure per 100 ms goes on for ever. */
  for (i = 1; i <= 50; i++)
    {
      assert_allowed (limiter, newcomer, T0 + i * 100000);
      cv_auth_limiter_record_failure (limiter, newcomer, T0 + i * 100000);
      cv_auth_limiter_record_success (limiter, newcomer); /* keep its own count out of it */
      assert_blocked (limiter, newcomer, T0 + i * 100000, 100000);
    }

  /* A quiet minute later the whole budget is back. */
  for (i = 0; i < limits.global_failures_per_minute; i++)
    {
      g_autoptr (GInetAddress) source = nth_address (1000 + i);

      assert_allowed (limiter, source, T0 + 120 * SECOND);
      cv_auth_limiter_record_failure (limiter, source, T0 + 120 * SECOND);
    }
  g_assert_false (cv_auth_limiter_check (limiter, newcomer, T0 + 120 * SECOND, NULL));
}

static void
test_wait_is_the_longer_one (void)
{
  CvAuthLimits limits;
  g_autoptr (CvAuthLimiter) limiter = NULL;
  g_autoptr (GInetAddress) source = address ("192.0.2.77");

  cv_auth_limits_init_defaults (&limits);
  limits.global_failures_per_minute = 6; /* one per 10 s */
  limiter = cv_auth_limiter_new (&limits);

  fail_n (limiter, source, 6, T0);
  /* Its own wait is 2 s, the budget's 10 s. */
  assert_blocked (limiter, source, T0, 10 * SECOND);
}

static void
test_eviction_bound (void)
{
  CvAuthLimits limits;
  g_autoptr (CvAuthLimiter) limiter = NULL;
  g_autoptr (GInetAddress) blocked = address ("198.51.100.66");
  gint64 now = T0;

  cv_auth_limits_init_defaults (&limits);
  limits.max_sources = 100;
  limits.global_failures_per_minute = 1000000;
  limiter = cv_auth_limiter_new (&limits);

  fail_n (limiter, blocked, 6, now);
  assert_blocked (limiter, blocked, now, 2 * SECOND);

  /* 99 more fit; the hundred-and-first source evicts the oldest, the blocked one. */
  for (guint i = 0; i < 99; i++)
    {
      g_autoptr (GInetAddress) source = nth_address (i);

      cv_auth_limiter_record_failure (limiter, source, ++now);
    }
  g_assert_cmpuint (cv_auth_limiter_get_n_sources (limiter), ==, 100);
  assert_blocked (limiter, blocked, now, 2 * SECOND - 99);

  for (guint i = 99; i < 10000; i++)
    {
      g_autoptr (GInetAddress) source = nth_address (i);

      cv_auth_limiter_record_failure (limiter, source, ++now);
      g_assert_cmpuint (cv_auth_limiter_get_n_sources (limiter), <=, 100);
    }
  g_assert_cmpuint (cv_auth_limiter_get_n_sources (limiter), ==, 100);
  assert_allowed (limiter, blocked, now);

  /* A failure makes a source the newest: the next eviction passes it by.  (It had
   * one failure; four more block it unless it was forgotten.) */
  {
    g_autoptr (GInetAddress) oldest = nth_address (9900);
    g_autoptr (GInetAddress) newcomer = address ("198.51.100.67");

    fail_n (limiter, oldest, 3, ++now);
    cv_auth_limiter_record_failure (limiter, newcomer, ++now);
    g_assert_cmpuint (cv_auth_limiter_get_n_sources (limiter), ==, 100);
    cv_auth_limiter_record_failure (limiter, oldest, ++now);
    assert_blocked (limiter, oldest, now, SECOND);
  }

  /* Expired sources go before any live one is evicted. */
  now += limits.failure_window_us + 10 * SECOND;
  cv_auth_limiter_record_failure (limiter, blocked, now);
  g_assert_cmpuint (cv_auth_limiter_get_n_sources (limiter), ==, 1);
}

static void
test_default_bound (void)
{
  g_autoptr (CvAuthLimiter) limiter = cv_auth_limiter_new (NULL);

  for (guint i = 0; i < 70000; i++)
    {
      g_autoptr (GInetAddress) source = nth_address (i);

      cv_auth_limiter_record_failure (limiter, source, T0 + i);
    }
  g_assert_cmpuint (cv_auth_limiter_get_n_sources (limiter), ==, 65536);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/auth-limiter/blocked-after-max-failures", test_blocked_after_max_failures);
  g_test_add_func ("/auth-limiter/backoff-doubles-and-caps", test_backoff_doubles_and_caps);
  g_test_add_func ("/auth-limiter/success-resets", test_success_resets);
  g_test_add_func ("/auth-limiter/failures-expire", test_failures_expire);
  g_test_add_func ("/auth-limiter/ipv6-grouped-by-64", test_ipv6_grouped_by_64);
  g_test_add_func ("/auth-limiter/ipv4-mapped", test_ipv4_mapped);
  g_test_add_func ("/auth-limiter/global-budget", test_global_budget);
  g_test_add_func ("/auth-limiter/wait-is-the-longer-one", test_wait_is_the_longer_one);
  g_test_add_func ("/auth-limiter/eviction-bound", test_eviction_bound);
  g_test_add_func ("/auth-limiter/default-bound", test_default_bound);
  return g_test_run ();
}
