/* cv-source.h: the two GSource chores the engine's I/O code repeats. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void cv_source_clear (GSource **source);
void cv_source_attach_io (GSource *source, const char *static_name, GMainContext *context);

G_END_DECLS
