/* cv-code-state.c: the GType of CvCodeState, for the agents' "code-state" properties. */
#include "roles/cv-code-state.h"

G_DEFINE_ENUM_TYPE (CvCodeState,
                    cv_code_state,
                    G_DEFINE_ENUM_VALUE (CV_CODE_STATE_NONE, "none"),
                    G_DEFINE_ENUM_VALUE (CV_CODE_STATE_WAITING, "waiting"),
                    G_DEFINE_ENUM_VALUE (CV_CODE_STATE_CLAIMED, "claimed"),
                    G_DEFINE_ENUM_VALUE (CV_CODE_STATE_CONFIRMED, "confirmed"),
                    G_DEFINE_ENUM_VALUE (CV_CODE_STATE_CONSENTED, "consented"),
                    G_DEFINE_ENUM_VALUE (CV_CODE_STATE_BURNED, "burned"),
                    G_DEFINE_ENUM_VALUE (CV_CODE_STATE_EXPIRED, "expired"),
                    G_DEFINE_ENUM_VALUE (CV_CODE_STATE_DECLINED, "declined"))
