/* cv-nameplates.h: the gateway's nameplates — the public routing numbers of session codes
 * (SESSION-CODES.md §2, §5): allocated, in use, then cooling before reuse; the cooling
 * ones kept across restarts. */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum {
  CV_NAMEPLATE_FREE,
  CV_NAMEPLATE_IN_USE,
  CV_NAMEPLATE_COOLING, /* released, burned or expired: not reused before its time */
} CvNameplateState;

#define CV_TYPE_NAMEPLATES (cv_nameplates_get_type ())
G_DECLARE_FINAL_TYPE (CvNameplates, cv_nameplates, CV, NAMEPLATES, GObject)

CvNameplates *cv_nameplates_new (const char *state_file, guint cooldown_ms);
gboolean cv_nameplates_load (CvNameplates *self, gint64 now_us, GError **error);
char *cv_nameplates_allocate (CvNameplates *self, gint64 now_us);
void cv_nameplates_release (CvNameplates *self, const char *nameplate, gint64 now_us);
CvNameplateState cv_nameplates_get_state (CvNameplates *self, const char *nameplate, gint64 now_us);
guint cv_nameplates_count (CvNameplates *self, CvNameplateState state, gint64 now_us);

G_END_DECLS
