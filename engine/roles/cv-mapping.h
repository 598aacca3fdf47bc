/* cv-mapping.h: one of the connect agent's mappings — a local listener for a target as the
 * share agent sees it — and its live state. */
#pragma once

#include <gio/gio.h>

#include "mux/cv-channel-pump.h"

G_BEGIN_DECLS

#define CV_TYPE_MAPPING (cv_mapping_get_type ())
G_DECLARE_FINAL_TYPE (CvMapping, cv_mapping, CV, MAPPING, GObject)

const char *cv_mapping_get_listen_host (CvMapping *self);
guint16 cv_mapping_get_listen_port (CvMapping *self);
guint16 cv_mapping_get_bound_port (CvMapping *self);
const char *cv_mapping_get_target_host (CvMapping *self);
guint16 cv_mapping_get_target_port (CvMapping *self);
char *cv_mapping_dup_target (CvMapping *self);
gboolean cv_mapping_get_listening (CvMapping *self);
const GError *cv_mapping_get_error (CvMapping *self);
guint cv_mapping_get_n_channels (CvMapping *self);
guint64 cv_mapping_get_bytes_in (CvMapping *self);
guint64 cv_mapping_get_bytes_out (CvMapping *self);

/* For the connect agent that owns the mapping. */
CvMapping *cv_mapping_new (const char *listen_host,
                           guint16 listen_port,
                           const char *target_host,
                           guint16 target_port,
                           GMainContext *context);
CvMapping *cv_mapping_new_for_service (const char *listen_host,
                                       guint16 listen_port,
                                       const char *service_name,
                                       GMainContext *context);
const char *cv_mapping_get_service_name (CvMapping *self);
void cv_mapping_set_target (CvMapping *self, const char *host, guint16 port);
gboolean cv_mapping_listen (CvMapping *self, GError **error);
void cv_mapping_stop (CvMapping *self);
void cv_mapping_set_error (CvMapping *self, const GError *error);
void cv_mapping_channel_opened (CvMapping *self, CvChannel *channel);
void cv_mapping_channel_closed (CvMapping *self,
                                CvChannel *channel,
                                const CvPumpStats *stats,
                                const GError *error);

G_END_DECLS
