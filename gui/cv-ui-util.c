/* cv-ui-util.c: fingerprints in groups of four, the clipboard. */
#include "cv-version.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cv-ui-util.h"

char *
cv_ui_format_fingerprint (const char *fingerprint, guint groups_per_line)
{
  GString *text;
  const char *hex;
  guint group = 0;

  if (fingerprint == NULL)
    return NULL;

  hex = g_str_has_prefix (fingerprint, "sha256:") ? fingerprint + strlen ("sha256:") : fingerprint;
  text = g_string_new (NULL);
  for (const char *p = hex; *p != '\0'; p += 4)
    {
      gsize n = MIN (4, strlen (p));

      if (group > 0)
        g_string_append_c (text, groups_per_line > 0 && group % groups_per_line == 0 ? '\n' : ' ');
      for (gsize i = 0; i < n; i++)
        g_string_append_c (text, p[i]);
      group++;
      if (n < 4)
        break;
    }
  return g_string_free (text, FALSE);
}

void
cv_ui_copy_text (GtkWidget *widget, const char *text)
{
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), text);
}

#define COPIED_SECONDS 2
#define COPIED_ICON "object-select-symbolic"

typedef struct {
  GtkButton *button;
  char *icon_name; /* what it showed before, one of the two */
  char *label;
  guint timeout_id;
} CopiedFeedback;

static void
copied_feedback_free (gpointer data)
{
  CopiedFeedback *feedback = data;

  g_clear_handle_id (&feedback->timeout_id, g_source_remove);
  g_free (feedback->icon_name);
  g_free (feedback->label);
  g_free (feedback);
}

static gboolean
copied_feedback_restore (gpointer user_data)
{
  CopiedFeedback *feedback = user_data;
  GtkButton *button = feedback->button;

  feedback->timeout_id = 0;
  if (feedback->icon_name != NULL)
    gtk_button_set_icon_name (button, feedback->icon_name);
  else
    gtk_button_set_label (button, feedback->label);
  /* Frees @feedback. */
  g_object_set_data (G_OBJECT (button), "cv-copied-feedback", NULL);
  return G_SOURCE_REMOVE;
}

void
cv_ui_copy_from_button (GtkButton *button, const char *text)
{
  CopiedFeedback *feedback = g_object_get_data (G_OBJECT (button), "cv-copied-feedback");

  cv_ui_copy_text (GTK_WIDGET (button), text);
  if (feedback == NULL)
    {
      feedback = g_new0 (CopiedFeedback, 1);
      feedback->button = button;
      feedback->icon_name = g_strdup (gtk_button_get_icon_name (button));
      if (feedback->icon_name == NULL)
        feedback->label = g_strdup (gtk_button_get_label (button));
      /* Dropped with the button, and with it the timeout. */
      g_object_set_data_full (G_OBJECT (button), "cv-copied-feedback", feedback,
                              copied_feedback_free);
      if (feedback->icon_name != NULL)
        gtk_button_set_icon_name (button, COPIED_ICON);
      else
        gtk_button_set_label (button, _ ("Copied"));
    }
  g_clear_handle_id (&feedback->timeout_id, g_source_remove);
  feedback->timeout_id = g_timeout_add_seconds (COPIED_SECONDS, copied_feedback_restore, feedback);
}

AdwToast *
cv_ui_plain_toast_new (const char *text)
{
  AdwToast *toast = adw_toast_new ("");
  GtkWidget *label = gtk_label_new (text);

  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 60);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_add_css_class (label, "heading");
  adw_toast_set_custom_title (toast, label);
  return toast;
}
