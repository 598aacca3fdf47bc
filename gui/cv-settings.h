/* cv-settings.h: the app's GSettings, even when its schema is not installed. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* The settings of CV_APPLICATION_ID.  When the schema is installed (or found through
 * GSETTINGS_SCHEMA_DIR, as ./run sets it), these are the ordinary settings.  When it is
 * not, a copy of the schema compiled into the app is used with a memory backend, after
 * one message on stderr: the app starts with its defaults instead of aborting. */
GSettings *cv_settings_new (void);

G_END_DECLS
