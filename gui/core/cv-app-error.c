/* cv-app-error.c: the quark of the desktop app's own errors. */
#include "cv-app-error.h"

/* clang-format off */
G_DEFINE_QUARK (cv-app-error-quark, cv_app_error)
/* clang-format on */
