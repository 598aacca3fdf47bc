/* cv-connect-agent-services.c: a connect agent that maps services by name.  On every
 * tunnel it learns what the share agent offers (SERVICES), points each service mapping at
 * its target, asks for the mapped ones (SERVICE_REQUEST) and carries nothing until the
 * sharer consents (CONSENT); a refusal is final for the agent.  Split from
 * cv-connect-agent.c, which keeps the object and its public calls. */
#include "roles/cv-connect-agent-private.h"

#include "wire/cv-services.h"

/* ---- offered services and consent --------------------------------------- */

static CvService *
find_service (CvConnectAgent *self, const char *name)
{
  GListModel *model = G_LIST_MODEL (self->services);

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr (CvService) service = g_list_model_get_item (model, i);

      if (g_str_equal (cv_service_get_name (service), name))
        return service; /* the store holds it */
    }
  return NULL;
}

static void
set_declined (CvConnectAgent *self, const char *reason)
{
  g_autofree char *why = NULL;

  g_free (self->declined_reason);
  self->declined_reason = g_strdup (reason);
  cv_connect_agent_notify (self, PROP_DECLINED_REASON);
  if (self->code_state != CV_CODE_STATE_NONE)
    cv_connect_agent_set_code_state (self, CV_CODE_STATE_DECLINED);
  why = g_strdup_printf ("the sharer declined (%s)", reason);
  g_message ("%s", why);
  cv_connect_agent_fail_waiting (self, why);
  cv_connect_agent_drop_tunnel (self);
}

/* Points each service mapping at its offered target and asks for them all
 * (SERVICE_REQUEST); none offered is a refusal of our own ("not-offered"). */
static void
ask_for_mapped (CvConnectAgent *self)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GStrvBuilder) names = g_strv_builder_new ();
  g_auto (GStrv) request = NULL;
  g_autofree char *body = NULL;
  GListModel *mappings = G_LIST_MODEL (self->mappings);
  guint n_asked = 0;

  for (guint i = 0; i < g_list_model_get_n_items (mappings); i++)
    {
      g_autoptr (CvMapping) mapping = g_list_model_get_item (mappings, i);
      const char *name = cv_mapping_get_service_name (mapping);
      CvService *service = name != NULL ? find_service (self, name) : NULL;

      if (name == NULL)
        continue;
      if (service == NULL)
        {
          g_autoptr (GError) missing = g_error_new (CV_AGENT_ERROR, CV_AGENT_ERROR_LOST,
                                                    "the share agent does not offer “%s”", name);
          g_message ("%s", missing->message);
          cv_mapping_set_error (mapping, missing);
          continue;
        }
      cv_mapping_set_target (mapping, cv_service_get_host (service), cv_service_get_port (service));
      g_strv_builder_add (names, name);
      n_asked++;
    }
  if (n_asked == 0)
    {
      set_declined (self, CV_CONSENT_REASON_NOT_OFFERED);
      return;
    }
  request = g_strv_builder_end (names);
  body = cv_service_request_build ((const char *const *) request);
  if (!cv_mux_send_control (self->tunnel, CV_TUNNEL_CONTROL_SERVICE_REQUEST, body, &error))
    {
      g_message ("the service request could not be sent: %s", error->message);
      return;
    }
  self->service_requested = TRUE;
  g_message ("asked the sharer for %u service%s; waiting for their answer", n_asked,
             n_asked == 1 ? "" : "s");
}

/* SERVICES: learn what is offered, and ask for the mapped ones, unless the services come
 * first and the person has not chosen yet. */
static void
on_services (CvConnectAgent *self, GBytes *json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) infos = cv_services_parse (json, &error);
  g_autoptr (GPtrArray) items = g_ptr_array_new_with_free_func (g_object_unref);

  if (infos == NULL)
    {
      g_message ("the share agent's service list is malformed: %s", error->message);
      cv_connect_agent_fail_waiting (self, "the share agent's service list is malformed");
      cv_connect_agent_drop_tunnel (self);
      return;
    }
  if (self->service_requested)
    return;
  for (guint i = 0; i < infos->len; i++)
    g_ptr_array_add (items, cv_service_new (infos->pdata[i]));
  g_list_store_splice (self->services, 0, g_list_model_get_n_items (G_LIST_MODEL (self->services)),
                       items->pdata, items->len);
  cv_connect_agent_notify (self, PROP_SERVICES);
  if (self->hold_request)
    {
      g_message ("the share agent offers %u service%s; waiting for the choice", infos->len,
                 infos->len == 1 ? "" : "s");
      return;
    }
  ask_for_mapped (self);
}

static void
on_consent (CvConnectAgent *self, GBytes *json)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *reason = NULL;
  gboolean accepted = FALSE;

  if (!self->service_requested || self->consented)
    return;
  if (!cv_consent_parse (json, &accepted, &reason, &error))
    {
      g_message ("the sharer's answer is malformed: %s", error->message);
      cv_connect_agent_fail_waiting (self, "the sharer's answer is malformed");
      cv_connect_agent_drop_tunnel (self);
      return;
    }
  if (!accepted)
    {
      set_declined (self, reason);
      return;
    }
  self->consented = TRUE;
  cv_connect_agent_notify (self, PROP_CONSENTED);
  if (self->code_state == CV_CODE_STATE_CONFIRMED)
    cv_connect_agent_set_code_state (self, CV_CODE_STATE_CONSENTED);
  g_message ("the sharer allowed the requested services");
  cv_connect_agent_flush_waiting (self);
}

/* An agent that maps by address ignores SERVICES: its channels go straight to OPEN, and
 * a share agent that offers services refuses them (not-allowed) until consent, which
 * only a service request asks for. */
void
cv_connect_agent_on_tunnel_control (CvMux *mux, guint type, GBytes *json, CvConnectAgent *self)
{
  if (!self->by_service)
    g_debug ("tunnel control message 0x%02x ignored: no mapping by service name", type);
  else if (type == CV_TUNNEL_CONTROL_SERVICES)
    on_services (self, json);
  else if (type == CV_TUNNEL_CONTROL_CONSENT)
    on_consent (self, json);
  else
    g_debug ("tunnel control message 0x%02x ignored", type);
}

/* ---- services first ----------------------------------------------------- */

/**
 * cv_connect_agent_set_services_first:
 *
 * Before the agent starts, in code mode: the tunnel opens as soon as the code is
 * confirmed, "services" fills from the share agent's SERVICES, and nothing is asked of the
 * sharer until cv_connect_agent_request_services().  For an app that shows what is offered
 * (and the verification) before the person chooses.
 */
void
cv_connect_agent_set_services_first (CvConnectAgent *self, gboolean services_first)
{
  g_return_if_fail (CV_IS_CONNECT_AGENT (self));
  g_return_if_fail (!self->stopped);

  self->services_first = services_first;
  self->hold_request = services_first;
  if (services_first)
    self->by_service = TRUE;
}

/**
 * cv_connect_agent_request_services:
 * @names: (array zero-terminated=1): offered service names, at least one
 *
 * Services first: maps each of @names not mapped yet (cv_connect_agent_map_service(), any
 * free port) and asks the sharer for every service mapping.  "consented" or
 * "declined-reason" tells the answer; a tunnel opened later asks again by itself.
 *
 * Returns: FALSE with an error (G_IO_ERROR_INVALID_ARGUMENT, nothing asked) when @names
 *   is empty or names a service not offered, when the offered services are not known yet
 *   (G_IO_ERROR_PENDING) or when they were asked for already (G_IO_ERROR_EXISTS); or the
 *   error of a mapping that cannot listen
 */
gboolean
cv_connect_agent_request_services (CvConnectAgent *self, const char *const *names, GError **error)
{
  GListModel *mappings = G_LIST_MODEL (self->mappings);

  g_return_val_if_fail (CV_IS_CONNECT_AGENT (self), FALSE);
  g_return_val_if_fail (self->services_first, FALSE);

  if (!self->hold_request || self->service_requested)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                           "the services were asked for already");
      return FALSE;
    }
  if (self->tunnel == NULL || g_list_model_get_n_items (G_LIST_MODEL (self->services)) == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_PENDING,
                           "the offered services are not known yet");
      return FALSE;
    }
  if (names == NULL || names[0] == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "no service chosen");
      return FALSE;
    }
  for (guint i = 0; names[i] != NULL; i++)
    if (find_service (self, names[i]) == NULL)
      {
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                     "the share agent does not offer “%s”", names[i]);
        return FALSE;
      }
  for (guint i = 0; names[i] != NULL; i++)
    {
      gboolean mapped = FALSE;

      for (guint j = 0; j < g_list_model_get_n_items (mappings) && !mapped; j++)
        {
          g_autoptr (CvMapping) mapping = g_list_model_get_item (mappings, j);

          mapped = g_strcmp0 (cv_mapping_get_service_name (mapping), names[i]) == 0;
        }
      if (!mapped && !cv_connect_agent_map_service (self, names[i], 0, error))
        return FALSE;
    }
  self->hold_request = FALSE;
  ask_for_mapped (self);
  return TRUE;
}
