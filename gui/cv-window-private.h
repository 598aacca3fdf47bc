/* cv-window-private.h: what cv-window.c and cv-window-dialogs.c share of the main window,
 * one class split by topic (the list and its actions; the dialogs and toasts; sharing). */
#pragma once

#include "cv-machine-page.h"
#include "cv-service-link.h"
#include "cv-share-page.h"
#include "cv-window.h"

G_BEGIN_DECLS

struct _CvWindow {
  AdwApplicationWindow parent_instance;

  CvApplication *application; /* weak */
  GSettings *settings;
  GtkCustomFilter *filter; /* owned by filtered */
  GtkFilterListModel *filtered;
  char *search_text; /* case-folded, or NULL */
  /* machine id -> the "Connected to" toast still on screen (a ref; gone when dismissed) */
  GHashTable *connected_toasts;

  /* template children */
  AdwToastOverlay *toast_overlay;
  AdwLeaflet *leaflet;
  GtkMenuButton *primary_menu_button;
  GtkWidget *add_button;
  GtkWidget *search_button;
  GtkRevealer *keyring_revealer;
  gboolean keyring_dismissed;
  GtkSearchBar *search_bar;
  GtkSearchEntry *search_entry;
  GtkStack *list_stack;
  GtkListBox *list_box;
  AdwStatusPage *broken_page;
  CvMachinePage *machine_page;
  AdwViewStack *view_stack;
  AdwViewSwitcherTitle *switcher_title;
  AdwViewSwitcherBar *switcher_bar;
  CvSharePage *share_page;
  GtkRevealer *sharing_revealer;
  GtkLabel *sharing_label;
  GtkWidget *sharing_stop_button;
};

/* The connection of the machine whose id is @parameter ("s"), or NULL. */
CvMachineConnection *cv_window_lookup_connection (CvWindow *self, GVariant *parameter);

/* cv-window-dialogs.c */
/* Opens @link's service with its launcher; a failure is told in a toast (FALSE). */
gboolean cv_window_launch_service (CvWindow *self,
                                   CvMachineConnection *connection,
                                   CvServiceLink *link);
void cv_window_export_machine (GtkWidget *widget, const char *action_name, GVariant *parameter);
void cv_window_delete_machine (GtkWidget *widget, const char *action_name, GVariant *parameter);

/* cv-window-sharing.c */
/* The bar, the title and the notification follow the share page's helper from now on. */
void cv_window_follow_sharing (CvWindow *self);
/* Closing while a helper is connected or asking asks first (TRUE: the close waits). */
gboolean cv_window_close_asks_first (CvWindow *self);
void cv_window_stop_sharing_action (GtkWidget *widget,
                                    const char *action_name,
                                    GVariant *parameter);

G_END_DECLS
