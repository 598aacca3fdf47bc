/* cv-dial-target.h: the gateway's host and port as a GSocketConnectable whose proxy
 * enumeration asks a resolver of ours, never GIO's default one. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CV_TYPE_DIAL_TARGET (cv_dial_target_get_type ())
G_DECLARE_FINAL_TYPE (CvDialTarget, cv_dial_target, CV, DIAL_TARGET, GObject)

GSocketConnectable *cv_dial_target_new (const char *host,
                                        guint16 port,
                                        const char *scheme,
                                        GProxyResolver *resolver);

G_END_DECLS
