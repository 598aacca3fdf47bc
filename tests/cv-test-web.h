/* cv-test-web.h: a real libsoup web server on loopback for the WebSocket tests: an echo
 * WebSocket at /culvert (or a relay to a TCP port there), a plain page at /plain, 404
 * elsewhere; HTTP or HTTPS. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CV_TEST_WEB_PATH "/culvert"
#define CV_TEST_WEB_PLAIN_PATH "/plain"

typedef struct _CvTestWeb CvTestWeb;

CvTestWeb *cv_test_web_new (GTlsCertificate *certificate);
guint16 cv_test_web_get_port (CvTestWeb *web);
void cv_test_web_relay_to (CvTestWeb *web, guint16 port);
guint cv_test_web_get_upgrades (CvTestWeb *web);
void cv_test_web_free (CvTestWeb *web);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvTestWeb, cv_test_web_free)

G_END_DECLS
