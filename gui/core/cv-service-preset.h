/* cv-service-preset.h: the kinds of service a machine's mapping can be — VNC, RDP, SSH,
 * a web page or custom — with their words, usual ports and launchers. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum {
  CV_SERVICE_PRESET_VNC,   /* "Screen sharing (VNC)", 5900 */
  CV_SERVICE_PRESET_RDP,   /* "Remote desktop (RDP)", 3389 */
  CV_SERVICE_PRESET_SSH,   /* "SSH", 22 */
  CV_SERVICE_PRESET_HTTP,  /* "Web page (HTTP)", 80 */
  CV_SERVICE_PRESET_HTTPS, /* "Web page (HTTPS)", 443 */
  CV_SERVICE_PRESET_CUSTOM,
} CvServicePreset;

#define CV_N_SERVICE_PRESETS (CV_SERVICE_PRESET_CUSTOM + 1)

#define CV_TYPE_SERVICE_PRESET (cv_service_preset_get_type ())
GType cv_service_preset_get_type (void);

/* Translated, for rows and combo boxes. */
const char *cv_service_preset_get_label (CvServicePreset preset);
/* The port the service usually listens on at the shared machine; 0 for custom. */
guint16 cv_service_preset_get_default_port (CvServicePreset preset);
/* "vnc", "rdp", "ssh", "http", "https", "custom": what the JSON files say. */
const char *cv_service_preset_to_string (CvServicePreset preset);
gboolean cv_service_preset_from_string (const char *text, CvServicePreset *preset);

G_END_DECLS
