/* cv-app-test-code-gateway.h: a real `culvert-cli gateway` with session codes, spawned for
 * the share session's tests (the GUI tests have cv_e2e_start_code_gateway (); this one
 * needs no display), and a free port on 127.0.0.1. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  GSubprocess *process;
  guint16 port;
  char *fingerprint; /* "sha256:…", as it logged it */
  char *log_path;    /* its stderr and stdout */
} CvAppTestCodeGateway;

/* A port nothing listens on (bound and released: another process could take it, but
 * nothing else on a test machine picks ports at random this fast). */
guint16 cv_app_test_free_port (void);

/* $CULVERT_CLI gateway in @dir (its config, state and log), codes enabled, no admin
 * socket; @code_ttl_ms: how long an unclaimed code lives (0: the gateway's default).
 * Returns once it logged its key and its port; g_error ()s after a bounded wait. */
CvAppTestCodeGateway *cv_app_test_code_gateway_start (const char *dir, guint code_ttl_ms);
/* Whether its log holds @needle now. */
gboolean cv_app_test_code_gateway_log_has (CvAppTestCodeGateway *gateway, const char *needle);
/* SIGTERM, a bounded wait for it to exit (SIGKILL after), and free. */
void cv_app_test_code_gateway_stop (CvAppTestCodeGateway *gateway);

G_END_DECLS
