/* cv-share-service.h: one thing "Share this computer" can offer — screen sharing (VNC),
 * remote desktop (RDP), SSH or a custom port — with its words for the person sharing
 * ("your screen") and whether something listens on it on this computer now. */
#pragma once

#include <gio/gio.h>

#include "wire/cv-services.h"

G_BEGIN_DECLS

typedef enum {
  CV_SHARE_PRESET_VNC,    /* "Screen sharing (VNC)", "your screen", 5900 */
  CV_SHARE_PRESET_RDP,    /* "Remote desktop (RDP)", "remote desktop", 3389 */
  CV_SHARE_PRESET_SSH,    /* "SSH", "a command line (SSH)", 22 */
  CV_SHARE_PRESET_CUSTOM, /* "Port 8080", "port 8080" (the only words with a number) */
} CvSharePreset;

typedef enum {
  CV_SHARE_AVAILABILITY_UNKNOWN,   /* not probed yet */
  CV_SHARE_AVAILABILITY_AVAILABLE, /* a TCP connect to 127.0.0.1:port succeeded */
  CV_SHARE_AVAILABILITY_MISSING,   /* refused or timed out: "not running on this computer" */
} CvShareAvailability;

#define CV_TYPE_SHARE_PRESET (cv_share_preset_get_type ())
GType cv_share_preset_get_type (void);
#define CV_TYPE_SHARE_AVAILABILITY (cv_share_availability_get_type ())
GType cv_share_availability_get_type (void);

/* Properties: "preset", "port" (guint), "title" (row title, translated), "words" (what
 * the consent dialog and the activity list say, translated), "engine-name" (the service
 * name in SERVICES: "vnc", "rdp", "ssh", "port-8080"), "availability" (notified after
 * cv_share_service_probe ()). */
#define CV_TYPE_SHARE_SERVICE (cv_share_service_get_type ())
G_DECLARE_FINAL_TYPE (CvShareService, cv_share_service, CV, SHARE_SERVICE, GObject)

/* A preset on its usual port; CULVERT_SHARE_PRESET_PORTS ("vnc=5901,ssh=2222") moves a
 * preset's port (tests and unusual set-ups). */
CvShareService *cv_share_service_new_preset (CvSharePreset preset);
/* A custom service on 127.0.0.1:@port (1–65535). */
CvShareService *cv_share_service_new_custom (guint16 port);
/* The three presets, VNC, RDP, SSH, in that order (a new GListStore each call). */
GListStore *cv_share_service_list_presets (void);

CvSharePreset cv_share_service_get_preset (CvShareService *self);
guint16 cv_share_service_get_port (CvShareService *self);
const char *cv_share_service_get_title (CvShareService *self);
const char *cv_share_service_get_words (CvShareService *self);
const char *cv_share_service_get_engine_name (CvShareService *self);
CvServiceKind cv_share_service_get_kind (CvShareService *self);
CvShareAvailability cv_share_service_get_availability (CvShareService *self);
/* Connects to 127.0.0.1:port (bounded, 1 s), sets "availability"; never blocks. */
void cv_share_service_probe (CvShareService *self);

G_END_DECLS
