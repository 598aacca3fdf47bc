/* cv-agent-context.c: what the agents' objects share about the main context they run on. */
#include "roles/cv-agent-context.h"

#include "wire/cv-host-port.h"

/**
 * cv_agent_timeout_add:
 * @context: the object's context (never the global default one unless it is that)
 *
 * Returns: (transfer full): the attached source; destroy it with cv_source_clear()
 */
GSource *
cv_agent_timeout_add (GMainContext *context,
                      guint interval_ms,
                      GSourceFunc func,
                      gpointer data,
                      const char *static_name)
{
  GSource *source = g_timeout_source_new (interval_ms);

  g_source_set_callback (source, func, data, NULL);
  g_source_set_static_name (source, static_name);
  g_source_attach (source, context);
  return source;
}

/* "host:port" as channel signals and logs name a target, IPv6 addresses in brackets. */
char *
cv_agent_format_target (const char *host, guint16 port)
{
  return cv_host_port_format (host, port);
}
