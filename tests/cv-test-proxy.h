/* cv-test-proxy.h: a real HTTP CONNECT proxy for the tests: Debian's tinyproxy, started
 * on a free loopback port with a config of our own, wanting Basic credentials. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CV_TEST_PROXY_USER "agent"
#define CV_TEST_PROXY_PASSWORD "pr0xy-s3cret"

typedef struct {
  char *dir;
  char *log;
  GSubprocess *process;
  guint16 port;
  char *url; /* http://USER:PASSWORD@127.0.0.1:PORT */
} CvTestProxy;

guint16 cv_test_free_port (void);
CvTestProxy *cv_test_proxy_start (guint16 connect_port);
char *cv_test_proxy_log (CvTestProxy *proxy);
void cv_test_proxy_stop (CvTestProxy *proxy);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvTestProxy, cv_test_proxy_stop)

G_END_DECLS
