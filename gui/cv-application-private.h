/* cv-application-private.h: what cv-application.c and cv-application-machines.c share of
 * the application, one class split by topic (actions and startup; the machines'
 * connections and their notifications). */
#pragma once

#include "cv-application.h"
#include "cv-window.h"

G_BEGIN_DECLS

struct _CvApplication {
  AdwApplication parent_instance;

  CvMachineStore *store;
  GError *load_error;
  CvSecretStore *secrets;
  GError *keyring_error;
  GHashTable *connections;   /* machine id → CvMachineConnection */
  GHashTable *notifications; /* notification id → GNotification, shown now */
  CvEmbeddedGateway *gateway;
  GSettings *settings;
  GCancellable *cancellable;
};

/* The one main window: the active one, else any, else NULL; or made and presented. */
CvWindow *cv_application_find_window (CvApplication *self);
CvWindow *cv_application_ensure_window (CvApplication *self);
/* A toast in the main window, or the log when there is none. */
void cv_application_toast (CvApplication *self, const char *title);

/* cv-application-machines.c */
/* One connection per saved machine from now on, as the store's list changes. */
void cv_application_follow_machines (CvApplication *self);
/* The connections table's destroy function: the link ends with it. */
void cv_application_end_connection (gpointer data);

G_END_DECLS
