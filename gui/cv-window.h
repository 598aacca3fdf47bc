/* cv-window.h: the main window — the saved machines, a machine's page, trust, toasts. */
#pragma once

#include <adwaita.h>

#include "cv-application.h"

G_BEGIN_DECLS

/* Actions (all on the window, "win."; part of what the end-to-end tests drive):
 *   add-machine (Ctrl+N), search (Ctrl+F), show-machines (back to the list, also Alt+Left),
 *   reload-machines (after an unreadable machines file),
 *   open-machine "s", connect-machine "s", disconnect-machine "s", edit-machine "s",
 *   export-machine "s", delete-machine "s" (each with the machine's id),
 *   open-service "(su)" (the machine's id and the service's position: its launcher),
 *   connect-code ("Connect with a Code": cv-code-dialog.c),
 *   stop-sharing (ends "Share this computer": every channel, the tunnel, the code).
 * Enter on a machine's row connects it (opens its page when it is not idle); a click or
 * Space opens its page. */
#define CV_TYPE_WINDOW (cv_window_get_type ())

G_DECLARE_FINAL_TYPE (CvWindow, cv_window, CV, WINDOW, AdwApplicationWindow)

CvWindow *cv_window_new (CvApplication *application);

void cv_window_add_toast (CvWindow *self, AdwToast *toast);
/* A toast of a plain-text sentence, wrapped (a toast's own title is one line of markup). */
void cv_window_toast (CvWindow *self, const char *text);
/* Opens the page of the saved machine @machine_id (ignored when there is none). */
void cv_window_show_machine (CvWindow *self, const char *machine_id);
/* "Trust This Gateway?" for @connection, answered with trust () or disconnect (). */
void cv_window_ask_trust (CvWindow *self, CvMachineConnection *connection, const char *fingerprint);
/* The link came up: says so and opens the services (the "open-services-on-connect" key). */
void cv_window_machine_connected (CvWindow *self, CvMachineConnection *connection);
/* The link is no longer up (dropped, ended or failed): a "Connected to" toast still on screen
 * would contradict the row, so it goes. */
void cv_window_machine_not_connected (CvWindow *self, CvMachineConnection *connection);
/* Shows the Share page ("Share this computer"). */
void cv_window_show_share (CvWindow *self);
/* Ends sharing this computer, if it is shared (app.stop-sharing: the notification's button). */
void cv_window_stop_sharing (CvWindow *self);
/* The "Connected to" toast of @machine_id still on screen, or NULL (for tests). */
AdwToast *cv_window_get_connected_toast (CvWindow *self, const char *machine_id);

G_END_DECLS
