#include "cv-app-test.h"
int
main (int argc, char **argv)
{
  char *d = cv_app_test_init (&argc, &argv);
  return cv_app_test_finish (d, g_test_run ());
}
