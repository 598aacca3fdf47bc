/* cv-service-link.h: one service of a machine while it is connected — the engine's mapping
 * behind it, the port it really got, and its live traffic, in words the rows bind to. */
#pragma once

#include <gio/gio.h>

#include "cv-machine-service.h"
#include "roles/cv-mapping.h"

G_BEGIN_DECLS

/* Properties (read-only, notified on the app's main context):
 *   "service"      the CvMachineService
 *   "mapping"      the engine's CvMapping, or NULL before connecting / after disconnecting
 *   "port"         guint: the local port clients use (the bound one), 0 when not listening
 *   "listening"    gboolean
 *   "fell-back"    gboolean: the saved local port was taken, an automatic one is used
 *   "n-channels"   guint: open connections through it
 *   "bytes-in"     guint64: from the shared machine, over every connection this time
 *   "bytes-out"    guint64
 *   "error"        GError (boxed), the last reason, or NULL
 *   "status"       a sentence for the row: "listening on localhost:5921 · 2 connections ·
 *                  ↓ 1.2 MB ↑ 40 kB", "not listening: …"
 */
#define CV_TYPE_SERVICE_LINK (cv_service_link_get_type ())
G_DECLARE_FINAL_TYPE (CvServiceLink, cv_service_link, CV, SERVICE_LINK, GObject)

CvServiceLink *cv_service_link_new (CvMachineService *service);
CvMachineService *cv_service_link_get_service (CvServiceLink *self);
CvMapping *cv_service_link_get_mapping (CvServiceLink *self);
guint16 cv_service_link_get_port (CvServiceLink *self);
gboolean cv_service_link_get_listening (CvServiceLink *self);
gboolean cv_service_link_get_fell_back (CvServiceLink *self);
guint cv_service_link_get_n_channels (CvServiceLink *self);
guint64 cv_service_link_get_bytes_in (CvServiceLink *self);
guint64 cv_service_link_get_bytes_out (CvServiceLink *self);
const GError *cv_service_link_get_error (CvServiceLink *self);
const char *cv_service_link_get_status (CvServiceLink *self);

/* For the machine connection: follow @mapping (NULL: stop following). */
void cv_service_link_set_mapping (CvServiceLink *self, CvMapping *mapping, gboolean fell_back);
void cv_service_link_set_error (CvServiceLink *self, const GError *error);

/* Opens the service with its launcher on 127.0.0.1:port.  The program it starts ends
 * when the link is disconnected (its mapping cleared): it would only show an error. */
gboolean cv_service_link_launch (CvServiceLink *self,
                                 GAppLaunchContext *launch_context,
                                 GError **error);

G_END_DECLS
