/* cv-admission.h: how many connections may be unauthenticated at once, overall and per
 * source address (an IPv4 address or an IPv6 /64, auth/cv-source-key.h). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _CvAdmission CvAdmission;
typedef struct _CvAdmissionSlot CvAdmissionSlot;

CvAdmission *cv_admission_new (guint max_pending, guint max_per_address);
CvAdmission *cv_admission_ref (CvAdmission *admission);
void cv_admission_unref (CvAdmission *admission);
void cv_admission_set_limits (CvAdmission *admission, guint max_pending, guint max_per_address);
guint cv_admission_get_n_pending (CvAdmission *admission);

CvAdmissionSlot *cv_admission_take (CvAdmission *admission, GInetAddress *address, GError **error);
/* For a connection whose source is told later (through a trusted proxy): it counts
 * against the overall limit only until cv_admission_slot_set_source(). */
CvAdmissionSlot *cv_admission_take_unsourced (CvAdmission *admission, GError **error);
gboolean cv_admission_slot_set_source (CvAdmissionSlot *slot,
                                       GInetAddress *address,
                                       GError **error);
void cv_admission_remember (CvAdmission *admission, GInetAddress *address);
void cv_admission_slot_release (CvAdmissionSlot *slot);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvAdmission, cv_admission_unref)

G_END_DECLS
