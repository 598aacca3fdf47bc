/* cv-agent-context.h: what the agents' objects share about the main context they run on. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

GSource *cv_agent_timeout_add (GMainContext *context,
                               guint interval_ms,
                               GSourceFunc func,
                               gpointer data,
                               const char *static_name);

char *cv_agent_format_target (const char *host, guint16 port);

G_END_DECLS
