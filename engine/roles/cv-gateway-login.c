/* cv-gateway-login.c: an agent's HELLO answered — version, failed-login limiter, key,
 * session, then the password, verified (Argon2) on a worker thread; the agent is then
 * admitted to its session or refused. */
#include "roles/cv-gateway-private.h"

#include "auth/cv-password.h"
#include "wire/cv-control.h"

#include <sodium.h>
#include <string.h>

typedef struct {
  char *hash;
  char *password;
  char *address;
} Verify;

/* Password checks under way per address.  The limiter counts failures only once a
 * check has failed, so without this cap a client could start many guesses at once
 * and have them all checked before the first failure is counted. */
#define MAX_VERIFYING_PER_ADDRESS 2

static guint
verifying_count (CvGateway *self, const char *address)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (self->verifying, address));
}

static void
verifying_add (CvGateway *self, const char *address, int delta)
{
  guint count = verifying_count (self, address) + delta;

  if (count == 0)
    g_hash_table_remove (self->verifying, address);
  else
    g_hash_table_insert (self->verifying, g_strdup (address), GUINT_TO_POINTER (count));
}

static void
verify_free (Verify *verify)
{
  g_free (verify->hash);
  g_free (verify->address);
  if (verify->password != NULL)
    {
      sodium_memzero (verify->password, strlen (verify->password));
      g_free (verify->password);
    }
  g_free (verify);
}

/* Argon2 costs tens of milliseconds of CPU on purpose: never on the main loop. */
static void
verify_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Verify *verify = data;

  g_task_return_boolean (task, cv_password_verify (verify->hash, verify->password));
}

/* The check's task has no source object: the worker thread may drop the task's last
 * reference after the callback has run, and with it the last one to the gateway,
 * whose dispose would then run on that thread.  These references are dropped by
 * the callback, on the main thread. */
typedef struct {
  CvGateway *gateway;
  CvGatewayLink *link;
} VerifyCaller;

static void
on_verified (GObject *source, GAsyncResult *result, gpointer user_data)
{
  VerifyCaller *caller = user_data;
  g_autoptr (CvGateway) self = caller->gateway;
  CV_GATEWAY_ON_ITS_CONTEXT (self);
  g_autoptr (CvGatewayLink) link = caller->link;
  g_autoptr (GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (result), &error);
  Verify *verify = g_task_get_task_data (G_TASK (result));
  const CvHello *hello = cv_gateway_link_get_hello (link);
  CvGatewaySessionState *session;

  g_free (caller);
  if (self->verifying != NULL)
    verifying_add (self, verify->address, -1);
  if (error != NULL || self->links == NULL || !g_ptr_array_find (self->links, link, NULL))
    return; /* cancelled (shutting down), or the link closed meanwhile */
  if (self->shutting_down)
    {
      cv_gateway_link_refuse (link, CV_REASON_SHUTTING_DOWN, "the gateway is shutting down", 0);
      return;
    }
  session = g_hash_table_lookup (self->sessions, hello->session);
  if (!ok || session == NULL || session->removed)
    {
      cv_auth_limiter_record_failure (self->limiter, cv_gateway_link_get_remote (link),
                                      g_get_monotonic_time ());
      g_message ("%s: %s agent for session %s: wrong password",
                 cv_gateway_link_get_remote_string (link), cv_agent_role_to_string (hello->role),
                 hello->session);
      cv_gateway_link_refuse (link, CV_REASON_BAD_PASSWORD, "wrong password for this session", 0);
      return;
    }
  /* A success does not wipe the address's failures: one valid password must not buy
   * unlimited guesses at another session's.  Failures fade with the limiter's window. */
  if (cv_gateway_link_is_leaving (link))
    return; /* refused meanwhile (a second message before WELCOME): not admitted */
  cv_gateway_admit (self, link, session);
}

void
cv_gateway_on_link_hello (CvGatewayLink *link, CvGateway *self)
{
  CV_GATEWAY_ON_ITS_CONTEXT (self);
  const CvHello *hello = cv_gateway_link_get_hello (link);
  const char *remote = cv_gateway_link_get_remote_string (link);
  gint64 retry_after_us = 0;
  CvGatewaySessionState *session;
  Verify *verify;
  VerifyCaller *caller;
  g_autoptr (GTask) task = NULL;

  if (self->shutting_down)
    {
      cv_gateway_link_refuse (link, CV_REASON_SHUTTING_DOWN, "the gateway is shutting down", 0);
      return;
    }
  if (hello->version != CV_PROTOCOL_VERSION)
    {
      g_autofree char *message = g_strdup_printf ("this gateway speaks version %u, the agent %u",
                                                  CV_PROTOCOL_VERSION, hello->version);
      cv_gateway_link_refuse (link, CV_REASON_VERSION_MISMATCH, message, 0);
      return;
    }
  if (!cv_auth_limiter_check (self->limiter, cv_gateway_link_get_remote (link),
                              g_get_monotonic_time (), &retry_after_us))
    {
      g_message ("%s: too many failed logins; told to wait %" G_GINT64_FORMAT " ms", remote,
                 retry_after_us / 1000);
      cv_gateway_link_refuse (link, CV_REASON_RATE_LIMITED,
                              "too many failed attempts from this address",
                              (guint) MAX (retry_after_us / 1000, 1));
      return;
    }
  if (g_ascii_strcasecmp (hello->fingerprint, cv_gateway_link_get_fingerprint (link)) != 0)
    {
      cv_gateway_link_refuse (link, CV_REASON_BAD_REQUEST,
                              "the key in HELLO is not the key of the TLS connection", 0);
      return;
    }
  session = g_hash_table_lookup (self->sessions, hello->session);
  if (session == NULL || session->removed)
    {
      cv_auth_limiter_record_failure (self->limiter, cv_gateway_link_get_remote (link),
                                      g_get_monotonic_time ());
      g_message ("%s: unknown session “%s”", remote, hello->session);
      cv_gateway_link_refuse (link, CV_REASON_UNKNOWN_SESSION, "no such session on this gateway",
                              0);
      return;
    }

  if (verifying_count (self, remote) >= MAX_VERIFYING_PER_ADDRESS)
    {
      cv_gateway_link_refuse (link, CV_REASON_RATE_LIMITED,
                              "a login from this address is already being checked", 1000);
      return;
    }
  verifying_add (self, remote, +1);
  verify = g_new0 (Verify, 1);
  verify->address = g_strdup (remote);
  verify->hash = g_strdup (hello->role == CV_AGENT_ROLE_SHARE ? session->share_hash
                                                              : session->connect_hash);
  verify->password = g_strdup (hello->password);
  caller = g_new0 (VerifyCaller, 1);
  caller->gateway = g_object_ref (self);
  caller->link = g_object_ref (link);
  task = g_task_new (NULL, self->cancellable, on_verified, caller);
  g_task_set_source_tag (task, cv_gateway_on_link_hello);
  g_task_set_task_data (task, verify, (GDestroyNotify) verify_free);
  g_task_run_in_thread (task, verify_in_thread);
}
