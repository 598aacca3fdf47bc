/* cv-window-sharing.c: the main window while this computer is shared — the coloured bar
 * over every page, the title "Sharing — Culvert", the desktop notification with Stop
 * Sharing, and the question before a close would end it. */
#include "cv-version.h"

#include <glib/gi18n.h>

#include "cv-window-private.h"

#define SHARING_NOTIFICATION "sharing"

static CvApplication *
window_application (CvWindow *self)
{
  GtkApplication *application = gtk_window_get_application (GTK_WINDOW (self));

  return CV_IS_APPLICATION (application) ? CV_APPLICATION (application) : NULL;
}

static void
cv_window_show_sharing (CvWindow *self)
{
  const char *name = cv_share_page_get_helper_name (self->share_page);
  CvApplication *application = window_application (self);

  gtk_revealer_set_reveal_child (self->sharing_revealer, name != NULL);
  gtk_window_set_title (GTK_WINDOW (self), name != NULL ? _ ("Sharing — Culvert") : _ ("Culvert"));
  if (name != NULL)
    {
      g_autofree char *text = NULL;
      g_autoptr (GNotification) notification = NULL;

      /* Translators: NAME is the helper's name as the gateway attests it. */
      text = g_strdup_printf (_ ("%s is connected to this computer"), name);
      gtk_label_set_text (self->sharing_label, text);
      if (application == NULL)
        return;
      notification = g_notification_new (text);
      g_notification_set_body (notification, _ ("You can stop sharing at any time."));
      g_notification_set_priority (notification, G_NOTIFICATION_PRIORITY_HIGH);
      g_notification_add_button (notification, _ ("Stop Sharing"), "app.stop-sharing");
      cv_application_send_notification (application, SHARING_NOTIFICATION, notification);
    }
  else if (application != NULL)
    cv_application_withdraw_notification (application, SHARING_NOTIFICATION);
}

/* Add a Machine and Search are about the machines: not shown over the Share page. */
static void
cv_window_show_view (CvWindow *self)
{
  gboolean connect = g_strcmp0 (adw_view_stack_get_visible_child_name (self->view_stack), "connect")
                     == 0;

  gtk_widget_set_visible (self->add_button, connect);
  gtk_widget_set_visible (self->search_button, connect);
  if (!connect)
    gtk_search_bar_set_search_mode (self->search_bar, FALSE);
}

/* A session started (or a question from the helper): the Share page is where it shows. */
static void
cv_window_show_share_page (CvWindow *self)
{
  if (cv_share_page_get_session (self->share_page) != NULL)
    cv_window_show_share (self);
}

void
cv_window_follow_sharing (CvWindow *self)
{
  g_signal_connect_object (self->share_page, "notify::helper-name",
                           G_CALLBACK (cv_window_show_sharing), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->share_page, "notify::session",
                           G_CALLBACK (cv_window_show_share_page), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->view_stack, "notify::visible-child-name",
                           G_CALLBACK (cv_window_show_view), self, G_CONNECT_SWAPPED);
  cv_window_show_view (self);
}

void
cv_window_show_share (CvWindow *self)
{
  g_return_if_fail (CV_IS_WINDOW (self));

  adw_leaflet_set_visible_child_name (self->leaflet, "machines");
  adw_view_stack_set_visible_child_name (self->view_stack, "share");
}

void
cv_window_stop_sharing (CvWindow *self)
{
  g_return_if_fail (CV_IS_WINDOW (self));

  cv_share_page_stop (self->share_page);
}

void
cv_window_stop_sharing_action (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  cv_window_stop_sharing (CV_WINDOW (widget));
}

static gboolean
close_after_question (gpointer data)
{
  CvWindow *self = data;

  cv_share_page_stop (self->share_page);
  gtk_window_close (GTK_WINDOW (self));
  return G_SOURCE_REMOVE;
}

/* The window closes once the question is gone: GTK 4.8 would otherwise have the dialog let
 * go of a parent that is finalized already. */
static void
on_close_response (AdwMessageDialog *dialog, const char *response, CvWindow *self)
{
  if (g_strcmp0 (response, "stop") != 0)
    return;
  g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, close_after_question, g_object_ref (self),
                   g_object_unref);
}

gboolean
cv_window_close_asks_first (CvWindow *self)
{
  CvShareSession *session = cv_share_page_get_session (self->share_page);
  CvShareState state = session != NULL ? cv_share_session_get_state (session) : CV_SHARE_STATE_IDLE;
  GtkWidget *dialog;

  /* A code nobody used yet just dies with the window (the page stops it). */
  if (state != CV_SHARE_STATE_CONNECTED && state != CV_SHARE_STATE_ASKING)
    return FALSE;
  dialog = adw_message_dialog_new (GTK_WINDOW (self), _ ("Stop Sharing?"),
                                   _ ("Closing Culvert ends your helper’s connection to this "
                                      "computer, and the code stops working."));
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", _ ("_Keep Sharing"),
                                    "stop", _ ("_Stop Sharing and Close"), NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "stop",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_close_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
  return TRUE;
}
