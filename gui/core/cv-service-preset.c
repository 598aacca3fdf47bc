/* cv-service-preset.c: the kinds of service, their words for people and for files, and
 * the ports they usually listen on. */
#include "cv-service-preset.h"

#include <glib/gi18n-lib.h>

typedef struct {
  const char *name;  /* in JSON files */
  const char *label; /* N_() */
  guint16 default_port;
} PresetInfo;

static const PresetInfo presets[CV_N_SERVICE_PRESETS] = {
  [CV_SERVICE_PRESET_VNC] = { "vnc", N_ ("Screen sharing (VNC)"), 5900 },
  [CV_SERVICE_PRESET_RDP] = { "rdp", N_ ("Remote desktop (RDP)"), 3389 },
  [CV_SERVICE_PRESET_SSH] = { "ssh", N_ ("SSH"), 22 },
  [CV_SERVICE_PRESET_HTTP] = { "http", N_ ("Web page (HTTP)"), 80 },
  [CV_SERVICE_PRESET_HTTPS] = { "https", N_ ("Web page (HTTPS)"), 443 },
  [CV_SERVICE_PRESET_CUSTOM] = { "custom", N_ ("Custom"), 0 },
};

GType
cv_service_preset_get_type (void)
{
  static gsize type_id = 0;

  if (g_once_init_enter (&type_id))
    {
      /* The nicks are the JSON names, so that GtkBuilder and bindings say what files say. */
      static const GEnumValue values[] = {
        { CV_SERVICE_PRESET_VNC, "CV_SERVICE_PRESET_VNC", "vnc" },
        { CV_SERVICE_PRESET_RDP, "CV_SERVICE_PRESET_RDP", "rdp" },
        { CV_SERVICE_PRESET_SSH, "CV_SERVICE_PRESET_SSH", "ssh" },
        { CV_SERVICE_PRESET_HTTP, "CV_SERVICE_PRESET_HTTP", "http" },
        { CV_SERVICE_PRESET_HTTPS, "CV_SERVICE_PRESET_HTTPS", "https" },
        { CV_SERVICE_PRESET_CUSTOM, "CV_SERVICE_PRESET_CUSTOM", "custom" },
        { 0, NULL, NULL },
      };
      GType type = g_enum_register_static (g_intern_static_string ("CvServicePreset"), values);

      g_once_init_leave (&type_id, type);
    }
  return type_id;
}

static const PresetInfo *
get_info (CvServicePreset preset)
{
  g_return_val_if_fail ((guint) preset < CV_N_SERVICE_PRESETS, &presets[CV_SERVICE_PRESET_CUSTOM]);
  return &presets[preset];
}

const char *
cv_service_preset_get_label (CvServicePreset preset)
{
  return _ (get_info (preset)->label);
}

guint16
cv_service_preset_get_default_port (CvServicePreset preset)
{
  return get_info (preset)->default_port;
}

const char *
cv_service_preset_to_string (CvServicePreset preset)
{
  return get_info (preset)->name;
}

gboolean
cv_service_preset_from_string (const char *text, CvServicePreset *preset)
{
  g_return_val_if_fail (preset != NULL, FALSE);

  for (guint i = 0; text != NULL && i < CV_N_SERVICE_PRESETS; i++)
    if (g_str_equal (text, presets[i].name))
      {
        *preset = (CvServicePreset) i;
        return TRUE;
      }
  return FALSE;
}
