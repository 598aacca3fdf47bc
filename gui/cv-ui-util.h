/* cv-ui-util.h: small things the editor and gateway windows share — a fingerprint in groups
 * of four, text put on the clipboard. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

/* "sha256:ab12cd…" as "ab12 cd34 …": the prefix dropped, groups of four (as the CLI's
 * digits, so that they compare at a glance with what an administrator reads out); a
 * line break after every @groups_per_line groups (0: one line).  NULL stays NULL. */
char *cv_ui_format_fingerprint (const char *fingerprint, guint groups_per_line);

/* Puts @text on @widget's display's clipboard. */
void cv_ui_copy_text (GtkWidget *widget, const char *text);
/* The same from a Copy button, which says "Copied" (a check mark for an icon button) for
 * two seconds: feedback in place, where a toast would cover what is being copied. */
void cv_ui_copy_from_button (GtkButton *button, const char *text);

/* A toast of a plain-text sentence, wrapped: a toast's own title is one line of markup in
 * libadwaita 1.2, and an error's sentence is neither (a path may hold "&" or "<"). */
AdwToast *cv_ui_plain_toast_new (const char *text);

G_END_DECLS
