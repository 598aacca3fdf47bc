/* cv-ui-util.c: fingerprints in groups of four, the clipboard. */
#include "cv-version.h"

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
