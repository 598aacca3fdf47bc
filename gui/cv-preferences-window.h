/* cv-preferences-window.h: the app's preferences, each row bound to its GSettings key. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define CV_TYPE_PREFERENCES_WINDOW (cv_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (CvPreferencesWindow,
                      cv_preferences_window,
                      CV,
                      PREFERENCES_WINDOW,
                      AdwPreferencesWindow)

GtkWindow *cv_preferences_window_new (GtkWindow *parent);

G_END_DECLS
