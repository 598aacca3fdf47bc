/* cv-window.h: the main window of the Culvert desktop app. */
#pragma once

#include <gtk/gtk.h>

#include "cv-application.h"

G_BEGIN_DECLS

#define CV_TYPE_WINDOW (cv_window_get_type ())

G_DECLARE_FINAL_TYPE (CvWindow, cv_window, CV, WINDOW, GtkApplicationWindow)

CvWindow *cv_window_new (CvApplication *application);

G_END_DECLS
