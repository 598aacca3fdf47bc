/* cv-agent-status.c: a running share or connect agent's state as one JSON document; its
 * members are a stable interface, listed in culvert-cli(1) under STATUS JSON. */
#include "roles/cv-agent-status.h"

#include "roles/cv-agent-context.h"
#include "roles/cv-status-json.h"

static const char *
state_name (CvAgentLinkState state)
{
  GEnumClass *states = g_type_class_ref (CV_TYPE_AGENT_LINK_STATE);
  GEnumValue *value = g_enum_get_value (states, state);

  g_type_class_unref (states); /* a static type: its class stays */
  return value != NULL ? value->value_nick : "unknown";
}

/* The header, the agent's own identity, and its control link. */
static void
begin_agent (JsonBuilder *builder, CvAgentLink *link)
{
  const CvGatewayAddress *gateway = cv_agent_link_get_gateway (link);
  CvAgentLinkState state = cv_agent_link_get_state (link);
  const GError *error = cv_agent_link_get_last_error (link);
  CvRefusal refusal = cv_agent_link_get_refusal (link);
  g_autofree char *address = cv_agent_format_target (gateway->host, gateway->port);
  /* The WebSocket URL the agent dials, or NULL for the gateway's own port. */
  g_autofree char *url = gateway->web_path != NULL ? cv_gateway_address_to_string (gateway) : NULL;
  gint64 next_retry = cv_agent_link_get_next_retry_time (link);
  gboolean waiting = state == CV_AGENT_LINK_STATE_BACKING_OFF
                     || state == CV_AGENT_LINK_STATE_REFUSED;

  cv_status_begin (builder, cv_agent_role_to_string (cv_agent_link_get_role (link)),
                   cv_agent_link_get_started_time (link));
  cv_status_add_string_or_null (builder, "name", cv_agent_link_get_name (link));
  cv_status_add_string_or_null (builder, "session", cv_agent_link_get_session (link));
  json_builder_set_member_name (builder, "fingerprint");
  json_builder_add_string_value (builder,
                                 cv_identity_get_fingerprint (cv_agent_link_get_identity (link)));

  json_builder_set_member_name (builder, "gateway");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "address");
  json_builder_add_string_value (builder, address);
  cv_status_add_string_or_null (builder, "url", url);
  cv_status_add_string_or_null (builder, "fingerprint", gateway->fingerprint);
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "link");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "state");
  json_builder_add_string_value (builder, state_name (state));
  cv_status_add_time (builder, "online_since", cv_agent_link_get_online_time (link));
  cv_status_add_int_or_null (builder, "round_trip_us", cv_agent_link_get_round_trip_us (link));
  cv_status_add_string_or_null (builder, "refusal",
                                refusal != CV_REFUSAL_NONE ? cv_refusal_to_string (refusal) : NULL);
  cv_status_add_string_or_null (builder, "last_error",
                                state != CV_AGENT_LINK_STATE_ONLINE && error != NULL
                                  ? error->message
                                  : NULL);
  cv_status_add_time (builder, "next_retry", waiting ? next_retry : 0);
  json_builder_end_object (builder);
}

/**
 * cv_share_agent_build_status:
 *
 * Call on the agent's main context.
 *
 * Returns: (transfer full): the agent's state now: its link, allowed targets, the
 *   connect agents' keys it authorizes, tunnels
 *   with their connect agents, channels and bytes
 */
JsonNode *
cv_share_agent_build_status (CvShareAgent *agent)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  CvAllowList *allow;
  const char *const *authorized;

  g_return_val_if_fail (CV_IS_SHARE_AGENT (agent), NULL);
  allow = cv_share_agent_get_allow_list (agent);
  authorized = cv_share_agent_get_authorized_connect_keys (agent);

  begin_agent (builder, cv_share_agent_get_link (agent));
  json_builder_set_member_name (builder, "allow");
  json_builder_begin_array (builder);
  for (guint i = 0; i < cv_allow_list_get_length (allow); i++)
    json_builder_add_string_value (builder, cv_allow_list_get_entry (allow, i));
  json_builder_end_array (builder);
  /* null: any connect agent the gateway announces may open a tunnel */
  json_builder_set_member_name (builder, "authorized_connect_keys");
  if (authorized == NULL)
    json_builder_add_null_value (builder);
  else
    {
      json_builder_begin_array (builder);
      for (gsize i = 0; authorized[i] != NULL; i++)
        json_builder_add_string_value (builder, authorized[i]);
      json_builder_end_array (builder);
    }

  json_builder_set_member_name (builder, "tunnels");
  json_builder_begin_array (builder);
  for (guint i = 0; i < cv_share_agent_get_n_tunnels (agent); i++)
    {
      const char *peer_name = NULL, *peer_address = NULL, *peer_fingerprint = NULL;
      guint n_channels = cv_share_agent_get_tunnel (agent, i, &peer_name, &peer_address,
                                                    &peer_fingerprint);

      json_builder_begin_object (builder);
      cv_status_add_string_or_null (builder, "peer_name", peer_name);
      cv_status_add_string_or_null (builder, "peer_address", peer_address);
      cv_status_add_string_or_null (builder, "peer_fingerprint", peer_fingerprint);
      cv_status_add_count (builder, "channels", n_channels);
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  cv_status_add_count (builder, "channels", cv_share_agent_get_n_channels (agent));
  cv_status_add_count (builder, "bytes_in", cv_share_agent_get_bytes_in (agent));
  cv_status_add_count (builder, "bytes_out", cv_share_agent_get_bytes_out (agent));
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}

static void
add_mapping (JsonBuilder *builder, CvMapping *mapping)
{
  g_autofree char *listen = cv_agent_format_target (cv_mapping_get_listen_host (mapping),
                                                    cv_mapping_get_listen_port (mapping));
  g_autofree char *target = cv_mapping_dup_target (mapping);
  const GError *error = cv_mapping_get_error (mapping);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "listen");
  json_builder_add_string_value (builder, listen);
  cv_status_add_count (builder, "bound_port", cv_mapping_get_bound_port (mapping));
  json_builder_set_member_name (builder, "target");
  json_builder_add_string_value (builder, target);
  json_builder_set_member_name (builder, "listening");
  json_builder_add_boolean_value (builder, cv_mapping_get_listening (mapping));
  cv_status_add_string_or_null (builder, "error", error != NULL ? error->message : NULL);
  cv_status_add_count (builder, "channels", cv_mapping_get_n_channels (mapping));
  cv_status_add_count (builder, "bytes_in", cv_mapping_get_bytes_in (mapping));
  cv_status_add_count (builder, "bytes_out", cv_mapping_get_bytes_out (mapping));
  json_builder_end_object (builder);
}

/**
 * cv_connect_agent_build_status:
 *
 * Call on the agent's main context.
 *
 * Returns: (transfer full): the agent's state now: its link, whether its session's
 *   share agent is online and who it is, the tunnel, and each mapping with its bytes
 */
JsonNode *
cv_connect_agent_build_status (CvConnectAgent *agent)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  GListModel *mappings = cv_connect_agent_get_mappings (agent);

  g_return_val_if_fail (CV_IS_CONNECT_AGENT (agent), NULL);

  begin_agent (builder, cv_connect_agent_get_link (agent));
  json_builder_set_member_name (builder, "share");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "online");
  json_builder_add_boolean_value (builder, cv_connect_agent_get_share_online (agent));
  cv_status_add_string_or_null (builder, "name", cv_connect_agent_get_share_name (agent));
  cv_status_add_string_or_null (builder, "fingerprint",
                                cv_connect_agent_get_share_fingerprint (agent));
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "tunnel");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "open");
  json_builder_add_boolean_value (builder, cv_connect_agent_has_tunnel (agent));
  cv_status_add_int_or_null (builder, "round_trip_us", cv_connect_agent_get_round_trip_us (agent));
  json_builder_end_object (builder);

  cv_status_add_count (builder, "channels", cv_connect_agent_get_n_channels (agent));
  json_builder_set_member_name (builder, "mappings");
  json_builder_begin_array (builder);
  for (guint i = 0; i < g_list_model_get_n_items (mappings); i++)
    {
      g_autoptr (CvMapping) mapping = g_list_model_get_item (mappings, i);

      add_mapping (builder, mapping);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}
