/* cv-share-page-private.h: what cv-share-page.c (the choice: services, gateway, Get a Code)
 * and cv-share-page-session.c (the session: code, consent, connected) share of the page. */
#pragma once

#include "cv-note-row.h"
#include "cv-share-page.h"

G_BEGIN_DECLS

struct _CvSharePage {
  AdwBin parent_instance;

  GSettings *settings;
  GPtrArray *preset_rows; /* CvShareServiceRow, owned by the group */
  GtkCheckButton *custom_check;
  AdwEntryRow *custom_port_row;
  CvNoteRow *custom_note;
  CvShareService *custom_service; /* while the port typed is valid */
  CvShareGateway *gateway;        /* NULL: none set, see gateway_error */
  GError *gateway_error;

  CvShareSession *session;
  char *helper_name;
  guint countdown_id;

  /* template children */
  GtkStack *stack;
  AdwPreferencesGroup *services_group;
  AdwActionRow *gateway_row;
  AdwActionRow *no_gateway_row;
  GtkWidget *import_row;
  GtkWidget *preferences_row;
  GtkWidget *get_code_button;
  GtkLabel *code_heading;
  GtkLabel *code_label;
  GtkWidget *copy_button;
  GtkLabel *expires_label;
  GtkWidget *status_box;
  GtkSpinner *spinner;
  GtkLabel *status_label;
  GtkWidget *error_box;
  GtkLabel *error_label;
  GtkWidget *renew_button;
  GtkWidget *cancel_button;
  GtkLabel *connected_label;
  GtkListBox *activity_list;
  GtkWidget *stop_button;
};

/* cv-share-page.c */
void cv_share_page_notify_helper_name (CvSharePage *self);
void cv_share_page_notify_session (CvSharePage *self);

/* cv-share-page-session.c */
/* Takes @session (started already) and follows it until it is stopped. */
void cv_share_page_follow (CvSharePage *self, CvShareSession *session);
/* Lets go of the session without stopping it (it is stopped, or the page goes). */
void cv_share_page_unfollow (CvSharePage *self);
void cv_share_page_on_copy_clicked (CvSharePage *self);
void cv_share_page_on_renew_clicked (CvSharePage *self);

G_END_DECLS
