/* cv-settings.c: the app's GSettings, falling back to the schema compiled into the app. */
#include "cv-version.h"

#define G_SETTINGS_ENABLE_BACKEND
#include <gio/gio.h>
#include <gio/gsettingsbackend.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "cv-settings.h"

#define SCHEMA_RESOURCE "/org/culvert/Culvert/gschemas.compiled"

/* GIO reads schemas only from a directory, so the built-in copy is written to a private
 * one, opened, and removed again: the schema source keeps the file mapped, so its data
 * stay readable after the unlink (on Windows the unlink fails while it is mapped, and the
 * directory stays behind in the temporary folder). */
static GSettingsSchemaSource *
builtin_schema_source (GError **error)
{
  g_autoptr (GBytes) data = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *file = NULL;
  GSettingsSchemaSource *source;

  data = g_resources_lookup_data (SCHEMA_RESOURCE, G_RESOURCE_LOOKUP_FLAGS_NONE, error);
  if (data == NULL)
    return NULL;
  dir = g_dir_make_tmp ("culvert-schema-XXXXXX", error);
  if (dir == NULL)
    return NULL;
  file = g_build_filename (dir, "gschemas.compiled", NULL);
  if (!g_file_set_contents (file, g_bytes_get_data (data, NULL), g_bytes_get_size (data), error))
    {
      g_rmdir (dir);
      return NULL;
    }
  source = g_settings_schema_source_new_from_directory (dir, NULL, FALSE, error);
  g_unlink (file);
  g_rmdir (dir);
  return source;
}

GSettings *
cv_settings_new (void)
{
  static gsize reported = 0;
  GSettingsSchemaSource *installed = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = NULL;
  g_autoptr (GSettingsSchemaSource) builtin = NULL;
  g_autoptr (GSettingsBackend) backend = NULL;
  g_autoptr (GError) error = NULL;

  if (installed != NULL)
    schema = g_settings_schema_source_lookup (installed, CV_APPLICATION_ID, TRUE);
  if (schema != NULL)
    return g_settings_new_full (schema, NULL, NULL);

  builtin = builtin_schema_source (&error);
  if (builtin != NULL)
    schema = g_settings_schema_source_lookup (builtin, CV_APPLICATION_ID, FALSE);
  /* The resource is compiled in by the same build that makes the schema: only a broken
   * build lacks it, and then no GSettings can be made at all. */
  if (schema == NULL)
    g_error ("The settings schema %s is neither installed nor built into Culvert (%s). "
             "Rebuild Culvert.",
             CV_APPLICATION_ID, error != NULL ? error->message : "not in its resources");

  if (g_once_init_enter (&reported))
    {
      g_printerr (_ ("Culvert: the settings schema %s is not installed, so Culvert starts "
                     "with its default settings and forgets changes when it quits. Install "
                     "Culvert, or start it from its source folder with ./run.\n"),
                  CV_APPLICATION_ID);
      g_once_init_leave (&reported, 1);
    }
  backend = g_memory_settings_backend_new ();
  return g_settings_new_full (schema, backend, NULL);
}
