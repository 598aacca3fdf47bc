/* cv-password-checker.h: the gateway's own bounded queue of password checks (Argon2id).
 *
 * A fixed number of worker threads of its own run the checks, first come first
 * served; at most max_waiting checks wait for a worker, and one source (an IPv4
 * address or an IPv6 /64, auth/cv-source-key.h) may have at most max_per_source
 * checks waiting or running.  A check beyond either is not queued: it fails with
 * CV_AUTH_ERROR_QUEUE_FULL or CV_AUTH_ERROR_SOURCE_BUSY.  So the memory the checks
 * take at once is n_workers × the Argon2 memory of the hashes (64 MiB for those
 * cv_password_hash() makes), whatever arrives.
 *
 * A check whose cancellable is cancelled while it waits is taken out of the queue at
 * once and never run: it fails with G_IO_ERROR_CANCELLED, and its place is free for
 * the next.  One that is already running is not interrupted (Argon2 cannot be); its
 * result is delivered even though the cancellable was cancelled, so that the caller
 * can count a failure whatever happened meanwhile.
 *
 * Calls are made from one thread, whose thread-default main context the results come
 * back on.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CV_TYPE_PASSWORD_CHECKER (cv_password_checker_get_type ())
G_DECLARE_FINAL_TYPE (CvPasswordChecker, cv_password_checker, CV, PASSWORD_CHECKER, GObject)

CvPasswordChecker *cv_password_checker_new (guint n_workers,
                                            guint max_waiting,
                                            guint max_per_source);
/* New bounds for the checks that come next; those queued stay. */
void cv_password_checker_set_limits (CvPasswordChecker *self,
                                     guint max_waiting,
                                     guint max_per_source);

void cv_password_checker_check_async (CvPasswordChecker *self,
                                      GInetAddress *source,
                                      const char *hash,
                                      const char *password,
                                      GCancellable *cancellable,
                                      GAsyncReadyCallback callback,
                                      gpointer user_data);
/* Returns: whether @password matches the hash; FALSE with @error set if the check did
 * not run (cancelled while waiting, queue full, source busy) */
gboolean cv_password_checker_check_finish (CvPasswordChecker *self,
                                           GAsyncResult *result,
                                           GError **error);

guint cv_password_checker_get_n_workers (CvPasswordChecker *self);
guint cv_password_checker_get_n_waiting (CvPasswordChecker *self);
guint cv_password_checker_get_n_running (CvPasswordChecker *self);
void cv_password_checker_hold (CvPasswordChecker *self, gboolean hold);
/* How many checks ran (Argon2 runs) since the checker was made. */
guint64 cv_password_checker_get_n_run (CvPasswordChecker *self);

G_END_DECLS
