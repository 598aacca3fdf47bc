/* cv-gateway-login.c: an agent's HELLO answered — version, failed-login limiter, key,
 * then the password, checked (Argon2) on the gateway's own bounded queue
 * (auth/cv-password-checker); the agent is then admitted to its session or refused.
 *
 * Every check that runs is counted: a failure is recorded in the limiter whatever
 * happened to the link meanwhile.  A check whose link closes while it waits is
 * withdrawn from the queue and costs nothing.  An unknown session is checked against
 * a dummy hash of the default cost, and refused with the same reason and message as a
 * wrong password, after the same time: a client cannot tell which it was; the log can.
 *
 * A password that is right is then checked against the session's other hash too: one
 * that opens both sides (the share and connect passwords are the same, as the config
 * cannot see when the hashes have different salts) is refused, since whoever shares
 * could then connect, and the operator is told.  That second check runs only after the
 * first succeeded, so a failed login costs no more than one.
 */
#include "roles/cv-gateway-private.h"

#include "auth/cv-password-checker.h"
#include "auth/cv-password.h"
#include "base/cv-log-escape.h"
#include "wire/cv-control.h"

#include <sodium.h>
#include <string.h>

/* What a client is told when its session id or its password is wrong: one answer for
 * both, so that session ids cannot be listed. */
#define WRONG_CREDENTIALS "wrong session or password"
#define WRONG_TECHNICIAN "wrong technician or password"

/* How long a client told that checks are busy should wait: about what the workers
 * take to get through a full queue. */
#define BUSY_RETRY_AFTER_MS 1000

/* One HELLO's password check, from the HELLO to its answer.  It holds the gateway and
 * the link: the checker's result comes back on the gateway's context, where these
 * references are dropped. */
typedef struct {
  CvGateway *gateway;
  CvGatewayLink *link;
  char *hash;       /* what it is checked against: the session's hash for the role, or the dummy */
  char *other_hash; /* while checking_other: the session's hash for the other role */
  gboolean checking_other;
  char *password;
  gboolean unknown_session;
  GCancellable *cancellable; /* cancelled when the link closes, or the gateway stops */
  gulong link_closed_id;
  gulong gateway_cancelled_id;
} Login;

static void
login_free (Login *login)
{
  if (login->gateway_cancelled_id != 0)
    g_cancellable_disconnect (login->gateway->cancellable, login->gateway_cancelled_id);
  g_clear_signal_handler (&login->link_closed_id, login->link);
  g_clear_object (&login->cancellable);
  g_clear_object (&login->link);
  g_clear_object (&login->gateway);
  g_free (login->hash);
  g_free (login->other_hash);
  if (login->password != NULL)
    {
      sodium_memzero (login->password, strlen (login->password));
      g_free (login->password);
    }
  g_free (login);
}

static void
on_login_link_closed (CvGatewayLink *link, const GError *error, Login *login)
{
  g_cancellable_cancel (login->cancellable);
}

static void
on_gateway_cancelled (GCancellable *cancellable, Login *login)
{
  g_cancellable_cancel (login->cancellable);
}

/* The hash the session has now for @role; NULL if the session is gone. */
static const char *
hash_for_role (CvGateway *self, const CvHello *hello, CvAgentRole role)
{
  CvGatewaySessionState *session = g_hash_table_lookup (self->sessions, hello->session);

  if (session == NULL || session->removed)
    return NULL;
  return role == CV_AGENT_ROLE_SHARE ? session->share_hash : session->connect_hash;
}

/* Whether the gateway's code policy asks this code login for a password. */
static gboolean
code_needs_password (CvGateway *self, const CvHello *hello)
{
  return hello->role == CV_AGENT_ROLE_SHARE
           ? self->config->code_allocate == CV_CODE_ALLOCATE_SHARE_PASSWORD
           : self->config->code_claim == CV_CODE_CLAIM_TECHNICIANS;
}

/* The hash the session has now for the HELLO's role; in code mode, the hash its
 * credential is checked against: the session's share password to allocate, the
 * technician's password to claim. */
static const char *
current_hash (CvGateway *self, const CvHello *hello)
{
  if (hello->mode == CV_HELLO_MODE_CODE && hello->role == CV_AGENT_ROLE_CONNECT)
    {
      const CvGatewayTechnician *technician = cv_gateway_config_find_technician (self->config,
                                                                                 hello->technician);

      return technician != NULL ? technician->password_hash : NULL;
    }
  if (hello->mode == CV_HELLO_MODE_CODE && hello->session == NULL)
    return NULL;
  return hash_for_role (self, hello, hello->role);
}

/* A code login is not a session's: no second hash to compare with. */
static const char *
other_hash (CvGateway *self, const CvHello *hello)
{
  if (hello->mode == CV_HELLO_MODE_CODE)
    return NULL;
  return hash_for_role (self, hello,
                        hello->role == CV_AGENT_ROLE_SHARE ? CV_AGENT_ROLE_CONNECT
                                                           : CV_AGENT_ROLE_SHARE);
}

static void
log_code_refusal (const CvHello *hello, const char *remote, gboolean unknown, gboolean open)
{
  g_autofree char *technician = NULL;

  if (hello->role == CV_AGENT_ROLE_CONNECT)
    technician = cv_log_escape (hello->technician, -1);
  if (hello->role == CV_AGENT_ROLE_SHARE)
    g_message ("%s: code refused: %s for session “%s”%s", remote,
               unknown ? "no share password" : "wrong share password", hello->session,
               open ? "" : " (the link had closed)");
  else
    g_message ("%s: code claim refused: %s “%s”%s", remote,
               unknown ? "unknown technician" : "wrong password for technician", technician,
               open ? "" : " (the link had closed)");
}

/* A code login whose credential the policy asked for, and which was right. */
static void
code_login_checked (CvGateway *self, CvGatewayLink *link)
{
  const CvHello *hello = cv_gateway_link_get_hello (link);

  if (!self->config->codes_enabled)
    {
      cv_gateway_link_refuse (link, CV_REASON_BAD_REQUEST,
                              "this gateway no longer takes session codes", 0);
      return;
    }
  /* The sharer is shown the account's name as the config spells it, not what the
   * agent called itself. */
  if (hello->role == CV_AGENT_ROLE_CONNECT)
    {
      g_autofree char *name = g_strdup (hello->technician);

      cv_gateway_link_attest_name (link, name);
    }
  cv_gateway_code_hello (self, link);
}

static gboolean
link_is_open (CvGateway *self, Login *login)
{
  /* A link refused meanwhile (a second message before WELCOME) is on its way out. */
  return !g_cancellable_is_cancelled (login->cancellable) && self->links != NULL
         && g_ptr_array_find (self->links, login->link, NULL)
         && !cv_gateway_link_is_leaving (login->link);
}

static void on_checked (GObject *source, GAsyncResult *result, gpointer user_data);

static void
start_check (Login *login)
{
  CvGateway *self = login->gateway;

  cv_password_checker_check_async (self->checker, cv_gateway_link_get_remote (login->link),
                                   login->checking_other ? login->other_hash : login->hash,
                                   login->password, login->cancellable, on_checked, login);
}

/* The check did not run: withdrawn (the link closed, or the gateway stops), or there
 * was no room for it.  Nothing is counted. */
static void
on_not_checked (CvGateway *self, Login *login, const GError *error)
{
  const char *remote = cv_gateway_link_get_remote_string (login->link);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || !link_is_open (self, login))
    return;
  if (g_error_matches (error, CV_AUTH_ERROR, CV_AUTH_ERROR_SOURCE_BUSY))
    {
      cv_gateway_link_refuse (login->link, CV_REASON_RATE_LIMITED,
                              "a login from this address is already being checked",
                              BUSY_RETRY_AFTER_MS);
      return;
    }
  cv_log_summary_note (self->junk, CV_GATEWAY_JUNK_BUSY, "%s: told to come back: %s", remote,
                       error->message);
  cv_gateway_link_refuse (login->link, CV_REASON_RATE_LIMITED,
                          "the gateway is busy checking other logins", BUSY_RETRY_AFTER_MS);
}

static void
on_checked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Login *login = user_data;
  CvGateway *self = login->gateway;
  CV_GATEWAY_ON_ITS_CONTEXT (self);
  g_autoptr (GError) error = NULL;
  gboolean matched = cv_password_checker_check_finish (CV_PASSWORD_CHECKER (source), result,
                                                       &error);
  CvGatewayLink *link = login->link;
  const CvHello *hello = cv_gateway_link_get_hello (link);
  const char *remote = cv_gateway_link_get_remote_string (link);
  const char *hash = current_hash (self, hello);
  gboolean open = link_is_open (self, login);
  gboolean same_password = FALSE;

  if (error != NULL)
    {
      on_not_checked (self, login, error);
      login_free (login);
      return;
    }
  if (login->checking_other)
    {
      /* The role's own hash matched before this check ran. */
      same_password = matched;
      matched = TRUE;
    }
  /* A reload changed the hash while this was queued or running: the verdict of the
   * old one is not the session's.  Checked again, if anyone is still waiting. */
  if (hash != NULL && open && !self->shutting_down
      && (!g_str_equal (hash, login->hash)
          || (login->checking_other
              && g_strcmp0 (other_hash (self, hello), login->other_hash) != 0)))
    {
      g_message ("%s: %s agent for session %s: the password changed while it was being checked; "
                 "checking it again",
                 remote, cv_agent_role_to_string (hello->role), hello->session);
      g_free (login->hash);
      login->hash = g_strdup (hash);
      login->unknown_session = FALSE;
      login->checking_other = FALSE;
      start_check (login);
      return;
    }
  if (matched && hash != NULL && !login->checking_other && open && !self->shutting_down
      && other_hash (self, hello) != NULL)
    {
      g_free (login->other_hash);
      login->other_hash = g_strdup (other_hash (self, hello));
      login->checking_other = TRUE;
      start_check (login);
      return;
    }
  if (same_password)
    g_message ("%s: %s agent for session %s: refused: session %s: the share and connect "
               "passwords are the same; make them differ (culvert-cli hash-password, then "
               "share_password_hash or connect_password_hash)",
               remote, cv_agent_role_to_string (hello->role), hello->session, hello->session);
  if (!matched || hash == NULL)
    {
      /* It ran, so it counts, whether or not anyone is still there to hear it. */
      cv_auth_limiter_record_failure (self->limiter, cv_gateway_link_get_remote (link),
                                      g_get_monotonic_time ());
      if (hello->mode == CV_HELLO_MODE_CODE)
        log_code_refusal (hello, remote, login->unknown_session, open);
      else if (login->unknown_session)
        g_message ("%s: unknown session “%s”%s", remote, hello->session,
                   open ? "" : " (the link had closed)");
      else
        g_message ("%s: %s agent for session %s: %s%s", remote,
                   cv_agent_role_to_string (hello->role), hello->session,
                   hash == NULL ? "the session was removed while its password was checked"
                                : "wrong password",
                   open ? "" : " (the link had closed)");
    }
  if (!open)
    ;
  else if (self->shutting_down)
    cv_gateway_link_refuse (link, CV_REASON_SHUTTING_DOWN, "the gateway is shutting down", 0);
  else if ((!matched || hash == NULL) && hello->mode == CV_HELLO_MODE_CODE)
    cv_gateway_link_refuse (link, CV_REASON_BAD_PASSWORD,
                            hello->role == CV_AGENT_ROLE_SHARE ? WRONG_CREDENTIALS
                                                               : WRONG_TECHNICIAN,
                            0);
  else if (!matched || hash == NULL)
    cv_gateway_link_refuse (link, CV_REASON_BAD_PASSWORD, WRONG_CREDENTIALS, 0);
  else if (hello->mode == CV_HELLO_MODE_CODE)
    code_login_checked (self, link);
  else if (same_password)
    /* Who knows one password knows the other: telling them says nothing new, and it
     * tells the agent's user what the operator must fix. */
    cv_gateway_link_refuse (link, CV_REASON_BAD_PASSWORD,
                            "this session's share and connect passwords are the same, so the "
                            "gateway refuses both until its operator makes them differ",
                            0);
  else
    /* A success does not wipe the address's failures: one valid password must not buy
     * unlimited guesses at another session's.  Failures fade with the limiter's window. */
    cv_gateway_admit (self, link,
                      (CvGatewaySessionState *) g_hash_table_lookup (self->sessions,
                                                                     hello->session));
  login_free (login);
}

void
cv_gateway_on_link_hello (CvGatewayLink *link, CvGateway *self)
{
  CV_GATEWAY_ON_ITS_CONTEXT (self);
  const CvHello *hello = cv_gateway_link_get_hello (link);
  const char *remote = cv_gateway_link_get_remote_string (link);
  gint64 retry_after_us = 0;
  const char *hash;
  Login *login;

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
      cv_log_summary_note (self->junk, CV_GATEWAY_JUNK_BLOCKED,
                           "%s: too many failed logins; told to wait %" G_GINT64_FORMAT " ms",
                           remote, retry_after_us / 1000);
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

  if (hello->mode == CV_HELLO_MODE_CODE && !self->config->codes_enabled)
    {
      cv_gateway_link_refuse (link, CV_REASON_BAD_REQUEST,
                              "this gateway does not take session codes (its operator has not "
                              "set \"codes\": {\"enabled\": true})",
                              0);
      return;
    }
  if (hello->mode == CV_HELLO_MODE_CODE && !code_needs_password (self, hello))
    {
      /* No password to check: the code's secret is the agents' business. */
      cv_gateway_code_hello (self, link);
      return;
    }
  if (hello->mode == CV_HELLO_MODE_CODE && hello->password == NULL)
    {
      /* Nothing was guessed, so nothing is counted. */
      cv_gateway_link_refuse (link, CV_REASON_BAD_PASSWORD,
                              hello->role == CV_AGENT_ROLE_SHARE
                                ? "this gateway gives session codes only to holders of a share "
                                  "password: give the session and its share password"
                                : "this gateway lets only its technicians claim session codes: "
                                  "give a technician name and its password",
                              0);
      return;
    }

  /* From here a known and an unknown session take the same path. */
  hash = current_hash (self, hello);
  login = g_new0 (Login, 1);
  login->gateway = g_object_ref (self);
  login->link = g_object_ref (link);
  login->unknown_session = hash == NULL;
  login->hash = g_strdup (hash != NULL ? hash : self->dummy_hash);
  login->password = g_strdup (hello->password);
  login->cancellable = g_cancellable_new ();
  login->link_closed_id = g_signal_connect (link, "closed", G_CALLBACK (on_login_link_closed),
                                            login);
  login->gateway_cancelled_id = g_cancellable_connect (self->cancellable,
                                                       G_CALLBACK (on_gateway_cancelled), login,
                                                       NULL);
  start_check (login);
}
