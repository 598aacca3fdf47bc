/* replay-corpus.c: runs the fuzz target over every file of a corpus directory, as a TAP
 * test, so the seed corpus and past crashes stay covered by plain (gcc) builds too. */
#include <glib.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return g_strcmp0 (*(const char *const *) a, *(const char *const *) b);
}

int
main (int argc, char *argv[])
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) dir = NULL;
  const char *name;
  gboolean all_ok = TRUE;

  if (argc != 2)
    {
      fprintf (stderr, "usage: %s CORPUS-DIRECTORY\n", argv[0]);
      return 2;
    }

  dir = g_dir_open (argv[1], 0, &error);
  if (dir == NULL)
    {
      printf ("Bail out! %s\n", error->message);
      return 1;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  /* Directory order is the file system's whim; a sorted run is the same everywhere. */
  g_ptr_array_sort (names, compare_names);

  printf ("1..%u\n", names->len);
  for (guint i = 0; i < names->len; i++)
    {
      const char *file_name = g_ptr_array_index (names, i);
      g_autofree char *path = g_build_filename (argv[1], file_name, NULL);
      g_autofree char *contents = NULL;
      g_autoptr (GError) read_error = NULL;
      gsize len;

      if (!g_file_get_contents (path, &contents, &len, &read_error))
        {
          printf ("not ok %u - %s # %s\n", i + 1, file_name, read_error->message);
          all_ok = FALSE;
          continue;
        }
      /* A failure aborts inside the target: the missing "ok" line and the exit status
       * tell the harness which file it was. */
      printf ("# %s: %" G_GSIZE_FORMAT " bytes\n", file_name, len);
      fflush (stdout);
      LLVMFuzzerTestOneInput ((const uint8_t *) contents, len);
      printf ("ok %u - %s\n", i + 1, file_name);
    }

  return all_ok ? 0 : 1;
}
