/* cv-app-test-net.h: the network side of the app core's connection tests — a gateway of the
 * engine's on 127.0.0.1, a real share agent, a checksumming TCP service, a client that
 * moves a payload through a mapped port and checks it both ways. */
#pragma once

#include <gio/gio.h>

#include "roles/cv-gateway.h"
#include "roles/cv-share-agent.h"

G_BEGIN_DECLS

/* The bound of every wait for something that must happen. */
#define CV_APP_TEST_NET_WAIT_MS 15000

/* Iterates the thread-default main context until @condition holds; g_error ()s naming
 * @what once @timeout_ms have passed. */
void cv_app_test_net_wait (gboolean (*condition) (gpointer),
                           gpointer data,
                           guint timeout_ms,
                           const char *what);
/* Runs the thread-default main context for @ms, whatever happens. */
void cv_app_test_net_iterate (guint ms);

/* A gateway of the engine's on the thread-default context: 127.0.0.1:@port (0: any free
 * one), its key @key_name.pem in @dir, one session @session with those hashes, no admin
 * socket, auth backoff off (the wrong-password cases retry). */
CvGateway *cv_app_test_gateway_new (const char *dir,
                                    const char *key_name,
                                    guint16 port,
                                    const char *session,
                                    const char *share_hash,
                                    const char *connect_hash,
                                    CvIdentity **identity);
guint16 cv_app_test_gateway_get_port (CvGateway *gateway);
/* cv_gateway_stop () and the last reference, waiting until it is finalized. */
void cv_app_test_gateway_free (CvGateway *gateway);

/* A share agent of the engine's (key in @dir/share-NAME), allowing 127.0.0.1:@target_port. */
CvShareAgent *cv_app_test_share_agent_new (const char *dir,
                                           const char *gateway_fingerprint,
                                           guint16 gateway_port,
                                           const char *session,
                                           const char *password,
                                           guint16 target_port);

/* The checksum service, on a thread of its own, on 127.0.0.1: each connection's bytes are
 * read to their end, then it answers the SHA-256 of them (64 hex digits) and a payload of
 * its own (CV_APP_TEST_NET_REPLY_SIZE bytes from a seed the request's first 4 bytes give),
 * and closes. */
#define CV_APP_TEST_NET_REPLY_SIZE (1024 * 1024)
GSocketService *cv_app_test_checksum_service_new (guint16 *port);
void cv_app_test_checksum_service_free (GSocketService *service);

/* One client on a thread: @size bytes (from @seed) to 127.0.0.1:@port, then the answer,
 * both checked against their SHA-256; cv_app_test_transfer_finish () waits for it. */
typedef struct _CvAppTestTransfer CvAppTestTransfer;
CvAppTestTransfer *cv_app_test_transfer_start (guint16 port, gsize size, guint32 seed);
/* FALSE with @error if the bytes did not arrive whole and unchanged, both ways. */
gboolean cv_app_test_transfer_finish (CvAppTestTransfer *transfer, GError **error);

/* Whether a TCP connection to 127.0.0.1:@port is refused (nothing listens there). */
gboolean cv_app_test_port_refuses (guint16 port);
/* A listening socket on 127.0.0.1 that holds a port (and its number). */
GSocket *cv_app_test_hold_port (guint16 *port);

G_END_DECLS
