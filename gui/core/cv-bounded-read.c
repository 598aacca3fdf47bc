/* cv-bounded-read.c: a whole file read into memory up to a bound, and refused past it,
 * whatever the file is (a regular file, a FIFO, /dev/zero). */
#include "cv-bounded-read.h"

#include <glib/gi18n-lib.h>

#define CHUNK_SIZE 16384

static gboolean
too_large (GError **error, GFile *file, gsize max_size)
{
  g_autofree char *name = g_file_get_parse_name (file);
  g_autofree char *limit = g_format_size_full (max_size, G_FORMAT_SIZE_IEC_UNITS);

  /* TRANSLATORS: a file and a size: "/home/…/machines.json is larger than 16.0 MiB" */
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE, _ ("%s is larger than %s"), name,
               limit);
  return FALSE;
}

gboolean
cv_read_bounded (GFile *file, gsize max_size, char **contents, gsize *length, GError **error)
{
  g_autoptr (GFileInputStream) stream = NULL;
  g_autoptr (GFileInfo) info = NULL;
  g_autoptr (GByteArray) bytes = NULL;
  g_autofree guint8 *chunk = NULL;

  g_return_val_if_fail (G_IS_FILE (file), FALSE);
  g_return_val_if_fail (max_size < G_MAXUINT - CHUNK_SIZE, FALSE); /* GByteArray counts in guint */
  g_return_val_if_fail (contents != NULL && length != NULL, FALSE);

  stream = g_file_read (file, NULL, error);
  if (stream == NULL)
    return FALSE;
  /* A regular file says its size: one too large is refused before any byte is read. */
  info = g_file_input_stream_query_info (stream, G_FILE_ATTRIBUTE_STANDARD_SIZE, NULL, NULL);
  if (info != NULL && g_file_info_has_attribute (info, G_FILE_ATTRIBUTE_STANDARD_SIZE)
      && g_file_info_get_size (info) > 0 && (guint64) g_file_info_get_size (info) > max_size)
    return too_large (error, file, max_size);

  /* Whatever it said, what is read is counted: a file may grow, a FIFO has no size. */
  bytes = g_byte_array_new ();
  chunk = g_malloc (CHUNK_SIZE);
  for (;;)
    {
      gsize n_read = 0;

      if (!g_input_stream_read_all (G_INPUT_STREAM (stream), chunk, CHUNK_SIZE, &n_read, NULL,
                                    error))
        return FALSE;
      if (bytes->len + n_read > max_size)
        return too_large (error, file, max_size);
      g_byte_array_append (bytes, chunk, (guint) n_read);
      if (n_read < CHUNK_SIZE)
        break;
    }
  *length = bytes->len;
  g_byte_array_append (bytes, (const guint8 *) "", 1);
  *contents = (char *) g_byte_array_free (g_steal_pointer (&bytes), FALSE);
  return TRUE;
}
