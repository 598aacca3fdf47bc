/* cv-code-dialog-private.h: what the code dialog's files share (cv-code-dialog.c: the
 * window, the code and the states; -services.c: the offered services to tick and the
 * connected ones with their launchers). */
#pragma once

#include "cv-code-dialog.h"

G_BEGIN_DECLS

struct _CvCodeDialog {
  AdwWindow parent_instance;

  GSettings *settings;
  CvCodeConnection *connection;
  gboolean formatting; /* the code row's text is being replaced by its formatted self */
  GStrv chosen;        /* the names asked for, in the order of the connection's services */

  /* template children */
  AdwToastOverlay *toast_overlay;
  GtkStack *stack;
  AdwEntryRow *code_row;
  GtkWidget *continue_button;
  AdwStatusPage *waiting_page;
  GtkSpinner *spinner;
  GtkLabel *verification_label;
  GtkLabel *confirmed_label;
  GtkListBox *offered_list;
  GtkWidget *connect_button;
  GtkLabel *connected_label;
  GtkListBox *services_list;
  GtkWidget *disconnect_button;
  AdwStatusPage *failed_page;
  GtkWidget *try_another_button;
  GtkWidget *preferences_button;
};

/* cv-code-dialog.c */
void cv_code_dialog_toast (CvCodeDialog *self, const char *text);

/* cv-code-dialog-services.c */
void cv_code_dialog_fill_offered (CvCodeDialog *self);
/* Connect: asks for the ticked services. */
void cv_code_dialog_connect (CvCodeDialog *self);
void cv_code_dialog_fill_services (CvCodeDialog *self);
/* win.open-service "(su)": the rows' Open buttons. */
void cv_code_dialog_open_service (GtkWidget *widget, const char *action_name, GVariant *parameter);
/* The person sharing accepted: open each service with a launcher, if the settings say so. */
void cv_code_dialog_open_services (CvCodeDialog *self);

G_END_DECLS
