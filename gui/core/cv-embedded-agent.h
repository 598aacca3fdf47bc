/* cv-embedded-agent.h: an agent connected to the embedded gateway now, as its agents list
 * shows it. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Properties (read-only, set once): "role" ("share", "connect"), "name" (the agent's own
 * display name, or NULL), "address" (where it connects from), "session" (its id). */
#define CV_TYPE_EMBEDDED_AGENT (cv_embedded_agent_get_type ())
G_DECLARE_FINAL_TYPE (CvEmbeddedAgent, cv_embedded_agent, CV, EMBEDDED_AGENT, GObject)

const char *cv_embedded_agent_get_role (CvEmbeddedAgent *self); /* "share", "connect" */
const char *cv_embedded_agent_get_name (CvEmbeddedAgent *self);
const char *cv_embedded_agent_get_address (CvEmbeddedAgent *self);
const char *cv_embedded_agent_get_session (CvEmbeddedAgent *self);

/* For the embedded gateway, which builds the list from the engine's status. */
CvEmbeddedAgent *cv_embedded_agent_new (const char *role,
                                        const char *name,
                                        const char *address,
                                        const char *session);
gboolean cv_embedded_agent_equal (CvEmbeddedAgent *a, CvEmbeddedAgent *b);

G_END_DECLS
