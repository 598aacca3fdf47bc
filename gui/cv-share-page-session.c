/* cv-share-page-session.c: the share page while a session runs — the code and its
 * countdown, what is happening in words, a failure and Get a New Code, the consent
 * question, the helper connected with what they opened. */
#include "cv-version.h"

#include <glib/gi18n.h>

#include "cv-app-error.h"
#include "cv-consent-dialog.h"
#include "cv-share-page-private.h"
#include "cv-ui-util.h"
#include "cv-window.h"

static void
cv_share_page_set_helper_name (CvSharePage *self, const char *name)
{
  if (g_strcmp0 (self->helper_name, name) == 0)
    return;
  g_free (self->helper_name);
  self->helper_name = g_strdup (name);
  cv_share_page_notify_helper_name (self);
}

static void
cv_share_page_show_countdown (CvSharePage *self)
{
  gint64 expires = cv_share_session_get_code_expires (self->session);
  gint64 left = (expires - g_get_real_time ()) / G_USEC_PER_SEC;
  g_autofree char *text = NULL;

  if (expires == 0)
    {
      gtk_label_set_text (self->expires_label, "");
      return;
    }
  left = MAX (left, 0);
  /* Translators: minutes and seconds, "Expires in 9:41". */
  text = g_strdup_printf (_ ("Expires in %d:%02d"), (int) (left / 60), (int) (left % 60));
  gtk_label_set_text (self->expires_label, text);
}

static gboolean
on_countdown_tick (gpointer user_data)
{
  CvSharePage *self = user_data;

  cv_share_page_show_countdown (self);
  return G_SOURCE_CONTINUE;
}

static void
cv_share_page_run_countdown (CvSharePage *self, gboolean run)
{
  if (run && self->countdown_id == 0)
    self->countdown_id = g_timeout_add_seconds (1, on_countdown_tick, self);
  else if (!run)
    g_clear_handle_id (&self->countdown_id, g_source_remove);
  if (run)
    cv_share_page_show_countdown (self);
}

/* The person's status in words, while there is a code and no helper yet. */
static const char *
waiting_words (CvShareState state)
{
  switch (state)
    {
    case CV_SHARE_STATE_STARTING:
      return _ ("Getting a code…");
    case CV_SHARE_STATE_WAITING:
      return _ ("Waiting for your helper…");
    case CV_SHARE_STATE_VERIFYING:
      return _ ("Checking the code…");
    case CV_SHARE_STATE_ASKING:
      return _ ("Your helper asks to connect…");
    case CV_SHARE_STATE_IDLE:
    case CV_SHARE_STATE_CONNECTED:
    case CV_SHARE_STATE_FAILED:
      break;
    }
  return "";
}

static const char *
failure_heading (const GError *error)
{
  if (error != NULL && g_error_matches (error, CV_APP_ERROR, CV_APP_ERROR_DECLINED))
    return _ ("Your helper was not let in");
  if (error != NULL
      && (g_error_matches (error, CV_APP_ERROR, CV_APP_ERROR_CODE_BURNED)
          || g_error_matches (error, CV_APP_ERROR, CV_APP_ERROR_CODE_EXPIRED)))
    return _ ("This code no longer works");
  return _ ("Sharing could not start");
}

static void
cv_share_page_show_state (CvSharePage *self)
{
  CvShareState state = cv_share_session_get_state (self->session);
  const char *code = cv_share_session_get_code (self->session);
  gboolean failed = state == CV_SHARE_STATE_FAILED;
  gboolean has_code = code != NULL && !failed;

  if (state == CV_SHARE_STATE_IDLE)
    {
      /* Stopped from elsewhere (the session ended itself): back to the choice. */
      cv_share_page_unfollow (self);
      return;
    }
  if (state == CV_SHARE_STATE_CONNECTED)
    {
      g_autofree char *title = NULL;
      const char *name = cv_share_session_get_helper_name (self->session);

      /* Translators: NAME is the helper's name as the gateway attests it. */
      title = g_strdup_printf (_ ("%s is connected to this computer"), name);
      gtk_label_set_text (self->connected_label, title);
      cv_share_page_set_helper_name (self, name);
      cv_share_page_run_countdown (self, FALSE);
      gtk_stack_set_visible_child_name (self->stack, "connected");
      return;
    }

  cv_share_page_set_helper_name (self, NULL);
  gtk_label_set_text (self->code_label, has_code ? code : "–––-–––-–––");
  gtk_widget_set_sensitive (self->copy_button, has_code);
  gtk_widget_set_visible (GTK_WIDGET (self->code_label), !failed);
  gtk_widget_set_visible (self->copy_button, !failed);
  cv_share_page_run_countdown (self, state == CV_SHARE_STATE_WAITING);
  gtk_widget_set_visible (GTK_WIDGET (self->expires_label), state == CV_SHARE_STATE_WAITING);
  gtk_label_set_text (self->status_label, waiting_words (state));
  gtk_widget_set_visible (self->status_box, !failed);
  gtk_spinner_set_spinning (self->spinner, !failed);
  gtk_widget_set_visible (self->error_box, failed);
  /* A dead code is not to be read out: the heading says what happened instead. */
  gtk_label_set_text (self->code_heading,
                      failed ? failure_heading (cv_share_session_get_error (self->session))
                             : _ ("Read this code to your helper"));
  if (failed)
    {
      const GError *error = cv_share_session_get_error (self->session);

      gtk_label_set_text (self->error_label,
                          error != NULL ? error->message : _ ("Sharing stopped. Get a new code."));
    }
  gtk_stack_set_visible_child_name (self->stack, "code");
}

static void
on_consent_requested (CvSharePage *self,
                      const char *name,
                      const char *address,
                      const char *fingerprint,
                      const char *services_words,
                      const char *verification,
                      CvShareSession *session)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWindow *parent = GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL;
  GtkWindow *dialog;

  /* The question comes while the person may be elsewhere: the window comes to the front. */
  if (parent != NULL)
    gtk_window_present (parent);
  dialog = cv_consent_dialog_new (parent, session, name, address, services_words, verification);
  gtk_window_present (dialog);
}

static void
on_helper_left (CvSharePage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  g_autofree char *text = NULL;

  text = g_strdup_printf (_ ("%s has left. The code no longer works."),
                          self->helper_name != NULL ? self->helper_name : _ ("Your helper"));
  cv_share_page_stop (self);
  if (CV_IS_WINDOW (root))
    cv_window_toast (CV_WINDOW (root), text);
}

static GtkWidget *
create_activity_row (gpointer item, gpointer user_data)
{
  CvShareActivity *activity = item;
  const char *words = cv_share_service_get_words (cv_share_activity_get_service (activity));
  g_autofree char *title = NULL;
  GtkWidget *row = adw_action_row_new ();

  /* "your screen" as a row's title: "Your screen". */
  if (words != NULL && *words != '\0')
    {
      gunichar first = g_unichar_totitle (g_utf8_get_char (words));
      char buffer[8] = { 0 };

      g_unichar_to_utf8 (first, buffer);
      title = g_strconcat (buffer, g_utf8_next_char (words), NULL);
    }
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title != NULL ? title : "");
  g_object_bind_property (activity, "summary", row, "subtitle", G_BINDING_SYNC_CREATE);
  gtk_widget_add_css_class (row, "cv-property");
  return row;
}

static GtkWidget *
activity_placeholder (void)
{
  GtkWidget *label = gtk_label_new (_ ("Nothing yet"));

  gtk_widget_add_css_class (label, "dim-label");
  gtk_widget_set_margin_top (label, 12);
  gtk_widget_set_margin_bottom (label, 12);
  return label;
}

void
cv_share_page_follow (CvSharePage *self, CvShareSession *session)
{
  g_return_if_fail (self->session == NULL);

  self->session = g_object_ref (session);
  g_signal_connect_object (session, "notify::state", G_CALLBACK (cv_share_page_show_state), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (session, "notify::code", G_CALLBACK (cv_share_page_show_state), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (session, "notify::code-expires", G_CALLBACK (cv_share_page_show_state),
                           self, G_CONNECT_SWAPPED);
  g_signal_connect_object (session, "notify::error", G_CALLBACK (cv_share_page_show_state), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (session, "consent-requested", G_CALLBACK (on_consent_requested), self,
                           G_CONNECT_SWAPPED);
  g_signal_connect_object (session, "helper-left", G_CALLBACK (on_helper_left), self,
                           G_CONNECT_SWAPPED);
  gtk_list_box_bind_model (self->activity_list, cv_share_session_get_activity (session),
                           create_activity_row, NULL, NULL);
  gtk_list_box_set_placeholder (self->activity_list, activity_placeholder ());
  cv_share_page_notify_session (self);
  cv_share_page_show_state (self);
}

void
cv_share_page_unfollow (CvSharePage *self)
{
  if (self->session == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->session, self);
  g_clear_object (&self->session);
  cv_share_page_run_countdown (self, FALSE);
  if (self->activity_list != NULL)
    gtk_list_box_bind_model (self->activity_list, NULL, NULL, NULL, NULL);
  cv_share_page_set_helper_name (self, NULL);
  if (self->stack != NULL)
    gtk_stack_set_visible_child_name (self->stack, "setup");
  cv_share_page_notify_session (self);
}

void
cv_share_page_on_copy_clicked (CvSharePage *self)
{
  const char *code = self->session != NULL ? cv_share_session_get_code (self->session) : NULL;

  if (code != NULL)
    cv_ui_copy_from_button (GTK_BUTTON (self->copy_button), code);
}

void
cv_share_page_on_renew_clicked (CvSharePage *self)
{
  if (self->session != NULL)
    cv_share_session_renew_code (self->session);
}
