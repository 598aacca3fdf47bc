/* test-trace.c: CV_TRACE logs only when G_MESSAGES_DEBUG asks for culvert-trace, and
 * costs nothing else when it does not: its arguments are not even evaluated. */
#include "base/cv-trace.h"

#include <gio/gio.h>

static guint evaluated;

static guint
count_evaluation (void)
{
  return ++evaluated;
}

static void
trace_once (void)
{
  g_autoptr (GCancellable) object = g_cancellable_new ();

  CV_TRACE (object, "frame %u of %s", count_evaluation (), "channel 7");
  CV_TRACE (NULL, "no object, %d", 42);
}

static void
child_off (void)
{
  g_unsetenv ("G_MESSAGES_DEBUG");
  trace_once ();
  g_assert_false (cv_trace_enabled ());
  g_assert_cmpuint (evaluated, ==, 0);
}

static void
child_on (const char *domains)
{
  g_setenv ("G_MESSAGES_DEBUG", domains, TRUE);
  trace_once ();
  g_assert_true (cv_trace_enabled ());
  g_assert_cmpuint (evaluated, ==, 1);
}

static void
test_off (void)
{
  if (g_test_subprocess ())
    {
      child_off ();
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  g_test_trap_assert_stdout_unmatched ("*frame*");
  g_test_trap_assert_stderr_unmatched ("*frame*");
}

/* Another domain's debug lines do not switch tracing on. */
static void
test_other_domain (void)
{
  if (g_test_subprocess ())
    {
      g_setenv ("G_MESSAGES_DEBUG", "culvert-engine", TRUE);
      trace_once ();
      g_assert_false (cv_trace_enabled ());
      g_assert_cmpuint (evaluated, ==, 0);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

static void
test_on (gconstpointer data)
{
  if (g_test_subprocess ())
    {
      child_on (data);
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
  /* The type and address of the object, the function, then the words. */
  g_test_trap_assert_stdout ("*culvert-trace-DEBUG*GCancellable 0x* trace_once: frame 1 of "
                             "channel 7*- (nil) trace_once: no object, 42*");
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/trace/off", test_off);
  g_test_add_func ("/trace/other-domain", test_other_domain);
  g_test_add_data_func ("/trace/on", "culvert-trace", test_on);
  g_test_add_data_func ("/trace/on-with-others", "culvert-engine culvert-trace", test_on);
  g_test_add_data_func ("/trace/all", "all", test_on);
  return g_test_run ();
}
