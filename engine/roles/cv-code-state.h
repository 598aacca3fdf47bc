/* cv-code-state.h: where an agent's session code stands (CvShareAgent:code-state,
 * CvConnectAgent:code-state; engine/SESSION-CODES.md §6). */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum {
  CV_CODE_STATE_NONE,      /* not in code mode, or no code yet (the link is not online) */
  CV_CODE_STATE_WAITING,   /* share: a code to read out; connect: claiming it */
  CV_CODE_STATE_CLAIMED,   /* the PAKE runs */
  CV_CODE_STATE_CONFIRMED, /* both keys confirmed: "verification" is set */
  CV_CODE_STATE_CONSENTED, /* the sharer allowed the connect agent's request */
  CV_CODE_STATE_BURNED,    /* a confirmation failed, or the gateway burned it: never again */
  CV_CODE_STATE_EXPIRED,   /* unclaimed for too long */
  CV_CODE_STATE_DECLINED,  /* connect: the sharer said no (or did not answer) */
} CvCodeState;

#define CV_TYPE_CODE_STATE (cv_code_state_get_type ())
GType cv_code_state_get_type (void);

G_END_DECLS
