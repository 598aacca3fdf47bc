/* cv-consent-dialog.c: the sharer's answer to a helper's request, as an AdwMessageDialog
 * tied to the session that asks. */
#include "cv-version.h"

#include <glib/gi18n.h>

#include "cv-consent-dialog.h"

struct _CvConsentDialog {
  AdwMessageDialog parent_instance;

  CvShareSession *session;
  gboolean answered;
};

G_DEFINE_FINAL_TYPE (CvConsentDialog, cv_consent_dialog, ADW_TYPE_MESSAGE_DIALOG)

static void
on_response (CvConsentDialog *self, const char *response)
{
  if (self->answered || self->session == NULL)
    return;
  self->answered = TRUE;
  if (g_strcmp0 (response, "allow") == 0)
    cv_share_session_allow (self->session);
  else
    cv_share_session_deny (self->session);
}

/* The question is over without an answer from here (the consent timeout, the helper gave
 * up, Stop): a dialog left open would answer a question nobody asks any more. */
static void
on_state_changed (CvConsentDialog *self)
{
  if (cv_share_session_get_state (self->session) == CV_SHARE_STATE_ASKING)
    return;
  self->answered = TRUE;
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
cv_consent_dialog_dispose (GObject *object)
{
  CvConsentDialog *self = CV_CONSENT_DIALOG (object);

  if (self->session != NULL)
    g_signal_handlers_disconnect_by_data (self->session, self);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (cv_consent_dialog_parent_class)->dispose (object);
}

static void
cv_consent_dialog_class_init (CvConsentDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cv_consent_dialog_dispose;
}

static void
cv_consent_dialog_init (CvConsentDialog *self)
{
  AdwMessageDialog *dialog = ADW_MESSAGE_DIALOG (self);

  adw_message_dialog_add_responses (dialog, "deny", _ ("_Deny"), "allow", _ ("_Allow"), NULL);
  /* Red, not blue: letting someone into this computer is the one answer to think twice
   * about, and the one a caller pressing the person would want given quickly. */
  adw_message_dialog_set_response_appearance (dialog, "allow", ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (dialog, "deny");
  adw_message_dialog_set_close_response (dialog, "deny");
  adw_message_dialog_set_body_use_markup (dialog, TRUE);
  g_signal_connect (self, "response", G_CALLBACK (on_response), NULL);
}

GtkWindow *
cv_consent_dialog_new (GtkWindow *parent,
                       CvShareSession *session,
                       const char *name,
                       const char *address,
                       const char *services_words,
                       const char *verification)
{
  CvConsentDialog *self;
  g_autofree char *heading = NULL;
  g_autofree char *from = NULL;
  g_autofree char *words = NULL;
  g_autofree char *warning = NULL;
  g_autofree char *unbroken = NULL;
  g_auto (GStrv) verification_words = NULL;
  g_autofree char *body = NULL;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);
  g_return_val_if_fail (CV_IS_SHARE_SESSION (session), NULL);

  verification_words = g_strsplit (verification != NULL ? verification : "", " ", -1);

  /* clang-format off */
  self = g_object_new (CV_TYPE_CONSENT_DIALOG,
                       "transient-for", parent,
                       "modal", TRUE,
                       NULL);
  /* clang-format on */
  self->session = g_object_ref (session);
  g_signal_connect_object (session, "notify::state", G_CALLBACK (on_state_changed), self,
                           G_CONNECT_SWAPPED);

  /* Translators: NAME is the helper's name as the gateway attests it. */
  heading = g_strdup_printf (_ ("%s wants to reach this computer"),
                             name != NULL && *name != '\0' ? name : _ ("Someone"));
  adw_message_dialog_set_heading (ADW_MESSAGE_DIALOG (self), heading);

  /* Every part the helper or the gateway chose is escaped: the body is markup for the words
   * in bold. */
  from = g_markup_printf_escaped (_ ("From %s. Asks for: %s."),
                                  address != NULL ? address : _ ("an unknown address"),
                                  services_words != NULL ? services_words : "");
  /* The words on one line: a line break inside them reads as two things to compare. */
  unbroken = g_strjoinv ("\u00a0", verification_words);
  words = g_markup_printf_escaped (_ ("Your helper should read you these words: <b>%s</b>."),
                                   unbroken);
  warning = g_markup_escape_text (_ ("Only accept if you contacted this person yourself. No "
                                     "bank, company or authority will call you and ask for "
                                     "this."),
                                  -1);
  body = g_strdup_printf ("%s\n\n%s\n\n%s", from, words, warning);
  adw_message_dialog_set_body (ADW_MESSAGE_DIALOG (self), body);
  return GTK_WINDOW (self);
}
