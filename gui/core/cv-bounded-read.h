/* cv-bounded-read.h: reading a whole file that someone else may have made, never more of
 * it than a bound — a 2 GB "provisioning file" is refused, not loaded into memory. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Reads @file into *@contents (NUL-terminated, *@length bytes before the NUL).  A file of
 * more than @max_size bytes is refused with G_IO_ERROR_MESSAGE_TOO_LARGE after at most
 * @max_size + 1 bytes were read (none, when its size is known beforehand); other errors
 * are GIO's (G_IO_ERROR_NOT_FOUND…). */
gboolean cv_read_bounded (GFile *file,
                          gsize max_size,
                          char **contents,
                          gsize *length,
                          GError **error);

G_END_DECLS
