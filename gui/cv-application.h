/* cv-application.h: the Culvert desktop app (a GtkApplication). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define CV_TYPE_APPLICATION (cv_application_get_type ())

G_DECLARE_FINAL_TYPE (CvApplication, cv_application, CV, APPLICATION, GtkApplication)

CvApplication *cv_application_new (void);

G_END_DECLS
