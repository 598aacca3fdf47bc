/* cv-machine-service.h: one service of a saved machine — what to reach on the shared
 * machine, the local port it gets here, and what opens it. */
#pragma once

#include <json-glib/json-glib.h>

#include "cv-launcher.h"
#include "cv-service-preset.h"

G_BEGIN_DECLS

/* Properties (all read-write, notified when they change):
 *   "preset"          CvServicePreset
 *   "target-host"     the host as the share agent sees it; "127.0.0.1" by default
 *   "target-port"     guint; the preset's port by default
 *   "local-port"      guint; 0: automatic (any free port), else the port to listen on
 *   "launcher"        CvLauncherKind; the preset's first available one by default
 *   "custom-command"  the template of CV_LAUNCHER_CUSTOM, with {host} and {port}; or NULL
 */
#define CV_TYPE_MACHINE_SERVICE (cv_machine_service_get_type ())
G_DECLARE_FINAL_TYPE (CvMachineService, cv_machine_service, CV, MACHINE_SERVICE, GObject)

CvMachineService *cv_machine_service_new (CvServicePreset preset);
CvMachineService *cv_machine_service_copy (CvMachineService *self);

CvServicePreset cv_machine_service_get_preset (CvMachineService *self);
void cv_machine_service_set_preset (CvMachineService *self, CvServicePreset preset);
const char *cv_machine_service_get_target_host (CvMachineService *self);
void cv_machine_service_set_target_host (CvMachineService *self, const char *host);
guint16 cv_machine_service_get_target_port (CvMachineService *self);
void cv_machine_service_set_target_port (CvMachineService *self, guint16 port);
guint16 cv_machine_service_get_local_port (CvMachineService *self);
void cv_machine_service_set_local_port (CvMachineService *self, guint16 port);
CvLauncherKind cv_machine_service_get_launcher (CvMachineService *self);
void cv_machine_service_set_launcher (CvMachineService *self, CvLauncherKind launcher);
const char *cv_machine_service_get_custom_command (CvMachineService *self);
void cv_machine_service_set_custom_command (CvMachineService *self, const char *command);

/* "Screen sharing (VNC) · 127.0.0.1:5900": for subtitles. */
char *cv_machine_service_describe (CvMachineService *self);

/* Whether every field holds; the error (CV_APP_ERROR_INVALID) names the field. */
gboolean cv_machine_service_check (CvMachineService *self, GError **error);

/* {"preset": "vnc", "target": "127.0.0.1:5900", "local_port": 0, "launcher": "vncviewer",
 *  "custom_command": "…"}; unknown members are refused. */
JsonObject *cv_machine_service_to_json (CvMachineService *self);
CvMachineService *cv_machine_service_new_from_json (JsonObject *object,
                                                    const char *where,
                                                    GError **error);

G_END_DECLS
