/* cv-note-row.h: a sentence under a field in a boxed list — why the field is not valid, or
 * a hint — hidden while there is nothing to say. */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

/* A row rather than a plain label so that the sentence sits in the list right under the
 * row it is about (AdwPreferencesGroup puts other widgets below the whole list). */
#define CV_TYPE_NOTE_ROW (cv_note_row_get_type ())
G_DECLARE_FINAL_TYPE (CvNoteRow, cv_note_row, CV, NOTE_ROW, AdwPreferencesRow)

GtkWidget *cv_note_row_new (void);
/* Shows @text styled with @style_class ("error", "warning", "dim-label"); NULL hides it. */
void cv_note_row_set_text (CvNoteRow *self, const char *text, const char *style_class);
const char *cv_note_row_get_text (CvNoteRow *self);
/* @error's message as an error, and @field gets the "error" style class while there is one;
 * NULL clears both. */
void cv_note_row_show_error (CvNoteRow *self, GtkWidget *field, const GError *error);

G_END_DECLS
