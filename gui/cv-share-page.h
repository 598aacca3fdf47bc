/* cv-share-page.h: "Share this computer" — what to share and through which gateway, then
 * the code to read out and its state, then the helper connected and what they opened. */
#pragma once

#include <adwaita.h>

#include "cv-share-session.h"

G_BEGIN_DECLS

/* Properties (read-only, notified):
 *   "session"      the CvShareSession of "Get a Code" until it is stopped, else NULL
 *   "helper-name"  the helper's name while one is connected, else NULL (the window's bar,
 *                  title and notification follow it)
 * The page asks for consent itself (CvConsentDialog over its window). */
#define CV_TYPE_SHARE_PAGE (cv_share_page_get_type ())
G_DECLARE_FINAL_TYPE (CvSharePage, cv_share_page, CV, SHARE_PAGE, AdwBin)

CvShareSession *cv_share_page_get_session (CvSharePage *self);
const char *cv_share_page_get_helper_name (CvSharePage *self);
/* Ends the session, if any: every channel, the tunnel, the code; back to the choice. */
void cv_share_page_stop (CvSharePage *self);
/* Asks again whether each preset runs on this computer. */
void cv_share_page_probe (CvSharePage *self);

G_END_DECLS
