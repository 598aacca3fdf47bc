/* cv-app-error.h: the desktop app's own errors (its files, the keyring, launchers, the
 * trust of a gateway); each message is a sentence that says what to do next. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CV_APP_ERROR (cv_app_error_quark ())
GQuark cv_app_error_quark (void);

typedef enum {
  CV_APP_ERROR_INVALID,       /* a field, a file or a template is not valid */
  CV_APP_ERROR_NO_KEYRING,    /* no Secret Service answers on the session bus */
  CV_APP_ERROR_NO_PASSWORD,   /* none stored for the machine, none given for this run */
  CV_APP_ERROR_NOT_INSTALLED, /* a launcher's program is not installed */
  CV_APP_ERROR_UNTRUSTED,     /* the gateway's key is not trusted yet */
  CV_APP_ERROR_KEY_CHANGED,   /* the gateway presents another key than the trusted one */
  CV_APP_ERROR_NO_GATEWAY,    /* no gateway is set for sharing or for codes */
  CV_APP_ERROR_CODE_BURNED,   /* a wrong code was typed (or someone interfered): it is dead */
  CV_APP_ERROR_CODE_EXPIRED,  /* nobody claimed the code in time */
  CV_APP_ERROR_DECLINED,      /* the person sharing said no, or did not answer */
  CV_APP_ERROR_FAILED,
} CvAppError;

G_END_DECLS
