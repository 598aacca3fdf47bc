/* cv-gui-e2e-codes.h: the session-code side of the end-to-end GUI tests — a culvert-cli
 * gateway with codes on, and culvert-cli share --code / connect --code as the real peer of
 * the app's "Share this computer" and "Connect with a Code".  Built on cv-gui-e2e.h: every
 * child is killed when the test ends, every wait is bounded. */
#pragma once

#include "cv-gui-e2e.h"

G_BEGIN_DECLS

/* culvert-cli gateway --config: 127.0.0.1 on a free port, no sessions, "codes" enabled; an
 * unclaimed code dies after @code_ttl_ms (0: the gateway's default, 10 min).  Its log is
 * "code-gateway"; the session and passwords of the result are NULL. */
CvE2eGateway *cv_e2e_start_code_gateway (guint code_ttl_ms);

/* culvert-cli share --code --offer @offer ("NAME=127.0.0.1:PORT"), with --accept if @accept
 * (without it the command has no terminal to ask on and denies every request), named and
 * logged as @name; waits for its code ("482-913-557", to free, in *@code). */
GSubprocess *cv_e2e_start_code_share (const CvE2eGateway *gateway,
                                      const char *name,
                                      const char *offer,
                                      gboolean accept,
                                      char **code);

/* culvert-cli connect --code @code --map 0:@service, named and logged as @name; waits until
 * it listens and returns that local port in *@port.  Whether the code works shows in its log
 * ("Verification: NNN NNN", "it is burned", "The sharer declined"). */
GSubprocess *cv_e2e_start_code_connect (const CvE2eGateway *gateway,
                                        const char *name,
                                        const char *code,
                                        const char *service,
                                        guint16 *port);

/* The first group of @pattern (a GRegex, multi-line) in @name's log, once it appears there;
 * waits as cv_e2e_wait_for_log () does. */
char *cv_e2e_wait_for_log_match (const char *name, const char *pattern);

G_END_DECLS
