/* cv-gateway-status.c: a running gateway's state as one JSON document; its members are
 * a stable interface, listed in culvert-cli(1) under STATUS JSON. */
#include "roles/cv-gateway-status.h"

#include "roles/cv-gateway-private.h"
#include "roles/cv-status-json.h"

#include <string.h>

static void
add_agent (JsonBuilder *builder, CvGatewayLink *link)
{
  const CvHello *hello = cv_gateway_link_get_hello (link);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "role");
  json_builder_add_string_value (builder, cv_agent_role_to_string (hello->role));
  cv_status_add_string_or_null (builder, "name", hello->name);
  json_builder_set_member_name (builder, "address");
  json_builder_add_string_value (builder, cv_gateway_link_get_remote_string (link));
  json_builder_set_member_name (builder, "fingerprint");
  json_builder_add_string_value (builder, cv_gateway_link_get_fingerprint (link));
  cv_status_add_time (builder, "since", cv_gateway_link_get_welcomed_time (link));
  cv_status_add_int_or_null (builder, "round_trip_us", cv_gateway_link_get_round_trip_us (link));
  json_builder_end_object (builder);
}

static int
compare_sessions (gconstpointer a, gconstpointer b)
{
  const CvGatewaySessionState *x = *(CvGatewaySessionState **) a;
  const CvGatewaySessionState *y = *(CvGatewaySessionState **) b;

  return strcmp (x->id, y->id);
}

static void
add_sessions (JsonBuilder *builder, CvGateway *self)
{
  g_autoptr (GPtrArray) sessions = g_ptr_array_new ();
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (sessions, value);
  g_ptr_array_sort (sessions, compare_sessions);

  json_builder_set_member_name (builder, "sessions");
  json_builder_begin_array (builder);
  for (guint i = 0; i < sessions->len; i++)
    {
      CvGatewaySessionState *session = sessions->pdata[i];

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "id");
      json_builder_add_string_value (builder, session->id);
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, session->name);
      json_builder_set_member_name (builder, "share");
      if (session->share != NULL)
        add_agent (builder, session->share);
      else
        json_builder_add_null_value (builder);
      json_builder_set_member_name (builder, "connects");
      json_builder_begin_array (builder);
      for (guint j = 0; j < session->connects->len; j++)
        add_agent (builder, session->connects->pdata[j]);
      json_builder_end_array (builder);
      /* Offered and joined: what counts against max_tunnels_per_session. */
      json_builder_set_member_name (builder, "tunnels");
      json_builder_add_int_value (builder,
                                  GPOINTER_TO_UINT (
                                    g_hash_table_lookup (self->tunnels_per_session, session->id)));
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}

static void
add_tunnels (JsonBuilder *builder, CvGateway *self, guint64 *bytes_total)
{
  g_autoptr (GArray) tunnels = cv_gateway_list_tunnels (self);

  json_builder_set_member_name (builder, "tunnels");
  json_builder_begin_array (builder);
  for (guint i = 0; i < tunnels->len; i++)
    {
      CvGatewayTunnelInfo *info = &g_array_index (tunnels, CvGatewayTunnelInfo, i);

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "session");
      json_builder_add_string_value (builder, info->session_id);
      json_builder_set_member_name (builder, "connect_fingerprint");
      json_builder_add_string_value (builder, info->connect_key);
      cv_status_add_time (builder, "since", info->joined_time);
      json_builder_set_member_name (builder, "bytes_share_to_connect");
      json_builder_add_int_value (builder, info->bytes_share_to_connect);
      json_builder_set_member_name (builder, "bytes_connect_to_share");
      json_builder_add_int_value (builder, info->bytes_connect_to_share);
      json_builder_end_object (builder);
      *bytes_total += info->bytes_share_to_connect + info->bytes_connect_to_share;
    }
  json_builder_end_array (builder);
}

static void
add_listener_list (JsonBuilder *builder, const char *name, GPtrArray *listeners, GArray *ports)
{
  json_builder_set_member_name (builder, name);
  json_builder_begin_array (builder);
  for (guint i = 0; i < listeners->len && i < ports->len; i++)
    {
      CvGatewayListener *listener = listeners->pdata[i];

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "host");
      json_builder_add_string_value (builder, listener->host);
      json_builder_set_member_name (builder, "port");
      json_builder_add_int_value (builder, g_array_index (ports, guint16, i));
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
}

/* The TLS listeners; the plain WebSocket ones, and where upgrades are served. */
static void
add_listeners (JsonBuilder *builder, CvGateway *self)
{
  add_listener_list (builder, "listeners", self->config->listeners, self->ports);
  add_listener_list (builder, "websocket_listeners", self->config->websocket_listeners,
                     self->web_ports);
  json_builder_set_member_name (builder, "websocket_path");
  json_builder_add_string_value (builder, self->config->websocket_path);
  json_builder_set_member_name (builder, "websocket_on_tls_port");
  json_builder_add_boolean_value (builder, self->config->websocket);
}

/**
 * cv_gateway_build_status:
 *
 * Call on the gateway's main context.
 *
 * Returns: (transfer full): the gateway's state now: its key, listeners, sessions with
 *   the agents online in them, joined tunnels with their bytes, and totals
 */
JsonNode *
cv_gateway_build_status (CvGateway *self)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  guint64 tunnel_bytes = 0;

  g_return_val_if_fail (CV_IS_GATEWAY (self), NULL);

  cv_status_begin (builder, "gateway", self->started_time);
  json_builder_set_member_name (builder, "fingerprint");
  json_builder_add_string_value (builder, cv_identity_get_fingerprint (self->identity));
  json_builder_set_member_name (builder, "running");
  json_builder_add_boolean_value (builder, self->running);
  add_listeners (builder, self);
  add_sessions (builder, self);
  cv_gateway_codes_add_status (self, builder);
  add_tunnels (builder, self, &tunnel_bytes);

  json_builder_set_member_name (builder, "totals");
  json_builder_begin_object (builder);
  cv_status_add_count (builder, "sessions", cv_gateway_get_n_sessions (self));
  cv_status_add_count (builder, "sessions_online", cv_gateway_get_n_sessions_online (self));
  cv_status_add_count (builder, "links", cv_gateway_get_n_links (self));
  cv_status_add_count (builder, "unauthenticated", cv_gateway_get_n_unauthenticated (self));
  cv_status_add_count (builder, "tunnels", self->n_tunnels);
  cv_status_add_count (builder, "offers", self->n_rendezvous);
  cv_status_add_count (builder, "tunnel_bytes", tunnel_bytes);
  json_builder_end_object (builder);

  json_builder_end_object (builder);
  return json_builder_get_root (builder);
}
