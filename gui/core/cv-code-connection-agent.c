/* cv-code-connection-agent.c: the code connection's engine side — the connect agent in
 * code mode with its services first, the chosen services as CvServiceLinks, and what the
 * agent's code state and link mean for the technician, in sentences that say what to do
 * (a burned or expired code: ask for a new one). */
#include "cv-code-connection-private.h"

#include "cv-app-error.h"
#include "cv-machine-service.h"
#include "cv-service-link.h"

#include "roles/cv-refusal.h"

#include <glib/gi18n.h>

/* From the claim to the offered services: the gateway's own bound on the PAKE (30 s)
 * and the tunnel's (20 s) fit in it. */
#define CLAIM_TIMEOUT_MS 45000

/* ---- words -------------------------------------------------------------- */

/* Once the two computers had met, whatever ends the link ends this code's connection. */
static GError *
word_ended (void)
{
  return g_error_new_literal (CV_APP_ERROR, CV_APP_ERROR_FAILED,
                              _ ("The connection ended: the person sharing stopped, or the "
                                 "network failed. Ask them for a new code to connect again."));
}

static GError *
word_code_state (CvCodeConnection *self, CvCodeState code_state)
{
  const char *reason = cv_connect_agent_get_declined_reason (self->agent);

  switch (code_state)
    {
    case CV_CODE_STATE_EXPIRED:
      return g_error_new_literal (CV_APP_ERROR, CV_APP_ERROR_CODE_EXPIRED,
                                  _ ("This code has expired. Ask the person sharing for a new "
                                     "code."));
    case CV_CODE_STATE_DECLINED:
      if (g_strcmp0 (reason, CV_CONSENT_REASON_TIMEOUT) == 0)
        return g_error_new_literal (CV_APP_ERROR, CV_APP_ERROR_DECLINED,
                                    _ ("They did not answer in time. Ask the person sharing for "
                                       "a new code to try again."));
      return g_error_new_literal (CV_APP_ERROR, CV_APP_ERROR_DECLINED,
                                  _ ("They declined. If they still want help, ask the person "
                                     "sharing for a new code."));
    case CV_CODE_STATE_BURNED:
    default:
      if (self->state >= CV_CODE_CONNECTION_CONFIRMED)
        return word_ended ();
      return g_error_new_literal (CV_APP_ERROR, CV_APP_ERROR_CODE_BURNED,
                                  _ ("This code no longer works: it was mistyped, used already, "
                                     "or someone interfered. Ask the person sharing for a new "
                                     "code."));
    }
}

/* The gateway cannot be reached, or refused us for a reason that is not the code's. */
static GError *
word_link_error (CvCodeConnection *self, CvAgentLink *link)
{
  const GError *error = cv_agent_link_get_last_error (link);
  const char *why = error != NULL ? error->message : _ ("no reason given");

  if (self->state >= CV_CODE_CONNECTION_CONFIRMED)
    return word_ended ();
  if (g_error_matches (error, CV_AGENT_ERROR, CV_AGENT_ERROR_TLS))
    return g_error_new (CV_APP_ERROR, CV_APP_ERROR_FAILED,
                        _ ("The secure connection to the gateway at %s failed (%s). Check its "
                           "fingerprint in Preferences."),
                        self->gateway, why);
  if (error != NULL && error->domain == CV_REFUSAL_ERROR)
    return g_error_new (CV_APP_ERROR, CV_APP_ERROR_FAILED,
                        _ ("The gateway at %s refused: %s. Try again in a minute."), self->gateway,
                        why);
  return g_error_new (CV_APP_ERROR, CV_APP_ERROR_FAILED,
                      _ ("The gateway at %s cannot be reached (%s). Check the gateway in "
                         "Preferences, and this computer’s network."),
                      self->gateway, why);
}

/* ---- following the agent ------------------------------------------------ */

static void
follow (CvCodeConnection *self)
{
  CvConnectAgent *agent = self->agent;
  CvAgentLink *link;
  CvCodeState code_state;
  CvRefusal refusal;

  if (agent == NULL)
    return;
  link = cv_connect_agent_get_link (agent);
  code_state = cv_connect_agent_get_code_state (agent);
  refusal = cv_agent_link_get_refusal (link);
  if (code_state == CV_CODE_STATE_BURNED || code_state == CV_CODE_STATE_EXPIRED
      || code_state == CV_CODE_STATE_DECLINED)
    {
      cv_code_connection_fail (self, word_code_state (self, code_state));
      return;
    }
  /* A refused code says so through its code state, which follows. */
  if (cv_connect_agent_get_state (agent) == CV_AGENT_LINK_STATE_BACKING_OFF
      || (cv_connect_agent_get_state (agent) == CV_AGENT_LINK_STATE_REFUSED
          && refusal != CV_REFUSAL_BAD_CODE && refusal != CV_REFUSAL_CODE_EXPIRED))
    {
      cv_code_connection_fail (self, word_link_error (self, link));
      return;
    }
  cv_code_connection_set_string (self, PROP_SHARE_NAME, cv_connect_agent_get_share_name (agent));
  if (self->agent != agent)
    return;
  cv_code_connection_set_string (self, PROP_VERIFICATION,
                                 cv_connect_agent_get_verification (agent));
  if (self->agent != agent)
    return;
  if (self->state == CV_CODE_CONNECTION_CLAIMING && code_state == CV_CODE_STATE_CONFIRMED
      && g_list_model_get_n_items (cv_connect_agent_get_services (agent)) > 0)
    {
      g_clear_pointer (&self->timeout, g_source_destroy);
      cv_code_connection_set_state (self, CV_CODE_CONNECTION_CONFIRMED);
    }
  else if (self->state == CV_CODE_CONNECTION_ASKING && code_state == CV_CODE_STATE_CONSENTED)
    cv_code_connection_set_state (self, CV_CODE_CONNECTION_CONNECTED);
}

static void
on_agent_notify (CvConnectAgent *agent, GParamSpec *pspec, CvCodeConnection *self)
{
  g_autoptr (CvCodeConnection) alive = g_object_ref (self);

  follow (self);
}

static gboolean
on_claim_timeout (gpointer data)
{
  CvCodeConnection *self = data;

  self->timeout = NULL;
  cv_code_connection_fail (
    self, g_error_new_literal (CV_APP_ERROR, CV_APP_ERROR_FAILED,
                               _ ("The other computer did not answer. Ask the person sharing "
                                  "whether they still share, and for a new code.")));
  return G_SOURCE_REMOVE;
}

/* ---- start and stop ----------------------------------------------------- */

gboolean
cv_code_connection_start_agent (CvCodeConnection *self,
                                const CvConnectConfig *config,
                                const char *code,
                                GError **error)
{
  g_autoptr (GMainContextPusher) pusher = g_main_context_pusher_new (self->context);
  g_autofree char *known_shares = g_build_filename (self->state_dir, "known_shares", NULL);
  static const char *const followed[] = { "notify::code-state", "notify::state", "notify::services",
                                          "notify::verification", "notify::share-name" };
  CvAgentLink *link;

  link = cv_agent_link_new_from_config (&config->agent, CV_AGENT_ROLE_CONNECT, self->context,
                                        error);
  if (link == NULL)
    return FALSE;
  self->agent = cv_connect_agent_new (link, known_shares);
  if (!cv_connect_agent_set_code (self->agent, code, error))
    {
      g_clear_object (&self->agent);
      return FALSE;
    }
  cv_connect_agent_set_services_first (self->agent, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (followed); i++)
    g_signal_connect (self->agent, followed[i], G_CALLBACK (on_agent_notify), self);
  self->timeout = g_timeout_source_new (CLAIM_TIMEOUT_MS);
  g_source_set_callback (self->timeout, on_claim_timeout, self, NULL);
  g_source_set_static_name (self->timeout, "[culvert] code claim timeout");
  g_source_attach (self->timeout, self->context);
  g_source_unref (self->timeout);
  cv_connect_agent_start (self->agent);
  return TRUE;
}

static gboolean
stop_agent (gpointer data)
{
  cv_connect_agent_stop (data);
  return G_SOURCE_REMOVE;
}

void
cv_code_connection_drop_agent (CvCodeConnection *self)
{
  g_autoptr (CvConnectAgent) agent = g_steal_pointer (&self->agent);
  GListModel *services = G_LIST_MODEL (self->services);
  GSource *idle;

  g_clear_pointer (&self->timeout, g_source_destroy);
  for (guint i = 0; i < g_list_model_get_n_items (services); i++)
    {
      g_autoptr (CvServiceLink) link = g_list_model_get_item (services, i);

      cv_service_link_set_mapping (link, NULL, FALSE);
    }
  if (agent == NULL)
    return;
  g_signal_handlers_disconnect_by_data (agent, self);
  /* Maybe from deep inside one of the agent's own notifications: the ports close now, the
   * agent stops on an idle (as the machine connection's). */
  for (guint i = 0; i < g_list_model_get_n_items (cv_connect_agent_get_mappings (agent)); i++)
    {
      g_autoptr (CvMapping) mapping = g_list_model_get_item (cv_connect_agent_get_mappings (agent),
                                                             i);

      cv_mapping_stop (mapping);
    }
  idle = g_idle_source_new ();
  g_source_set_callback (idle, stop_agent, g_steal_pointer (&agent), g_object_unref);
  g_source_set_static_name (idle, "[culvert] stop a code's agent");
  g_source_attach (idle, self->context);
  g_source_unref (idle);
  cv_code_connection_notify (self, PROP_OFFERED);
}

/* ---- the chosen services ------------------------------------------------ */

static CvServicePreset
preset_for_kind (CvServiceKind kind)
{
  switch (kind)
    {
    case CV_SERVICE_KIND_VNC:
      return CV_SERVICE_PRESET_VNC;
    case CV_SERVICE_KIND_RDP:
      return CV_SERVICE_PRESET_RDP;
    case CV_SERVICE_KIND_SSH:
      return CV_SERVICE_PRESET_SSH;
    case CV_SERVICE_KIND_HTTP:
      return CV_SERVICE_PRESET_HTTP;
    case CV_SERVICE_KIND_CUSTOM:
    default:
      return CV_SERVICE_PRESET_CUSTOM;
    }
}

static CvService *
find_offered (CvCodeConnection *self, const char *name)
{
  GListModel *offered = cv_connect_agent_get_services (self->agent);

  for (guint i = 0; i < g_list_model_get_n_items (offered); i++)
    {
      g_autoptr (CvService) service = g_list_model_get_item (offered, i);

      if (g_str_equal (cv_service_get_name (service), name))
        return g_steal_pointer (&service);
    }
  return NULL;
}

/* A link for the mapping the agent made for @name, described as a saved machine's
 * service of its kind (the launcher the kind's first available one). */
static CvServiceLink *
link_service (CvCodeConnection *self, const char *name)
{
  GListModel *mappings = cv_connect_agent_get_mappings (self->agent);
  g_autoptr (CvService) offered = find_offered (self, name);
  g_autoptr (CvMachineService) service = cv_machine_service_new (
    preset_for_kind (cv_service_get_kind (offered)));
  CvServiceLink *link;

  cv_machine_service_set_target_host (service, cv_service_get_host (offered));
  cv_machine_service_set_target_port (service, cv_service_get_port (offered));
  link = cv_service_link_new (service);
  for (guint i = 0; i < g_list_model_get_n_items (mappings); i++)
    {
      g_autoptr (CvMapping) mapping = g_list_model_get_item (mappings, i);

      if (g_strcmp0 (cv_mapping_get_service_name (mapping), name) == 0)
        cv_service_link_set_mapping (link, mapping, FALSE);
    }
  return link;
}

/**
 * cv_code_connection_connect:
 *
 * Asks the person sharing for @names: ASKING, then CONNECTED ("connected") when they
 * accept, or FAILED with CV_APP_ERROR_DECLINED.
 */
gboolean
cv_code_connection_connect (CvCodeConnection *self, const char *const *names, GError **error)
{
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (CV_IS_CODE_CONNECTION (self), FALSE);
  g_return_val_if_fail (self->state == CV_CODE_CONNECTION_CONFIRMED, FALSE);

  if (!cv_connect_agent_request_services (self->agent, names, &local_error))
    {
      if (names == NULL || names[0] == NULL)
        g_set_error_literal (error, CV_APP_ERROR, CV_APP_ERROR_INVALID,
                             _ ("Choose at least one service to connect to."));
      else
        g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID,
                     _ ("Culvert could not ask for these services: %s."), local_error->message);
      return FALSE;
    }
  g_list_store_remove_all (self->services);
  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr (CvServiceLink) link = link_service (self, names[i]);

      g_list_store_append (self->services, link);
    }
  cv_code_connection_set_state (self, CV_CODE_CONNECTION_ASKING);
  /* The answer may be in already. */
  follow (self);
  return TRUE;
}

char *
cv_code_connection_describe_service (CvService *service)
{
  const char *name = cv_service_get_name (service);
  guint64 port = 0;

  switch (cv_service_get_kind (service))
    {
    case CV_SERVICE_KIND_VNC:
    case CV_SERVICE_KIND_RDP:
    case CV_SERVICE_KIND_SSH:
    case CV_SERVICE_KIND_HTTP:
      return g_strdup (
        cv_service_preset_get_label (preset_for_kind (cv_service_get_kind (service))));
    case CV_SERVICE_KIND_CUSTOM:
    default:
      /* "Share this computer" names a custom port "port-8080". */
      if (g_str_has_prefix (name, "port-")
          && g_ascii_string_to_unsigned (name + 5, 10, 1, G_MAXUINT16, &port, NULL))
        return g_strdup_printf (_ ("Port %u"), (guint) port);
      return g_strdup (name);
    }
}
