/* cv-format.h: how the window words what it shows — "last used yesterday", "12 ms",
 * "Connect to Front desk PC". */
#pragma once

#include <glib.h>

#include "cv-machine-connection.h"

G_BEGIN_DECLS

/* "last used today", "last used yesterday", "last used on 3 March" (this year), "last used
 * on 3 March 2025"; NULL for 0 (never). @now_unix: the time to count from. */
char *cv_format_last_used (gint64 unix_seconds, gint64 now_unix);
/* "12 ms", "less than 1 ms", "1.2 s". */
char *cv_format_round_trip (gint64 microseconds);

/* What the button next to a machine does in @state: the window action it activates (with
 * the machine's id: "win.connect-machine" or "win.disconnect-machine"), its label
 * ("Connect", "Disconnect", "Cancel") and, in @description, the words for a screen reader
 * and the tooltip ("Connect to Front desk PC"). */
const char *cv_format_state_action (CvConnectionState state,
                                    const char *machine_name,
                                    const char **label,
                                    char **description);

G_END_DECLS
