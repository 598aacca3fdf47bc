/* cv-note-row.c: a caption label in a list row, shown only while it has something to say. */
#include "cv-version.h"

#include "cv-note-row.h"

struct _CvNoteRow {
  AdwPreferencesRow parent_instance;

  GtkLabel *label;
};

G_DEFINE_FINAL_TYPE (CvNoteRow, cv_note_row, ADW_TYPE_PREFERENCES_ROW)

static const char *const note_styles[] = { "error", "warning", "dim-label" };

static void
cv_note_row_class_init (CvNoteRowClass *klass)
{
}

static void
cv_note_row_init (CvNoteRow *self)
{
  GtkWidget *label = gtk_label_new (NULL);

  self->label = GTK_LABEL (label);
  gtk_label_set_wrap (self->label, TRUE);
  gtk_label_set_xalign (self->label, 0.0);
  gtk_widget_set_margin_start (label, 12);
  gtk_widget_set_margin_end (label, 12);
  gtk_widget_set_margin_top (label, 8);
  gtk_widget_set_margin_bottom (label, 8);
  gtk_widget_add_css_class (label, "caption");
  gtk_widget_set_name (GTK_WIDGET (self), "note");
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (self), label);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (self), FALSE);
  gtk_list_box_row_set_selectable (GTK_LIST_BOX_ROW (self), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self), FALSE);
}

GtkWidget *
cv_note_row_new (void)
{
  return g_object_new (CV_TYPE_NOTE_ROW, NULL);
}

void
cv_note_row_set_text (CvNoteRow *self, const char *text, const char *style_class)
{
  g_return_if_fail (CV_IS_NOTE_ROW (self));

  for (guint i = 0; i < G_N_ELEMENTS (note_styles); i++)
    gtk_widget_remove_css_class (GTK_WIDGET (self->label), note_styles[i]);
  if (text == NULL)
    {
      gtk_label_set_text (self->label, "");
      gtk_widget_set_visible (GTK_WIDGET (self), FALSE);
      return;
    }
  if (style_class != NULL)
    gtk_widget_add_css_class (GTK_WIDGET (self->label), style_class);
  gtk_label_set_text (self->label, text);
  /* What a screen reader announces for the row. */
  gtk_accessible_update_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_LABEL, text, -1);
  gtk_widget_set_visible (GTK_WIDGET (self), TRUE);
}

const char *
cv_note_row_get_text (CvNoteRow *self)
{
  g_return_val_if_fail (CV_IS_NOTE_ROW (self), NULL);

  return gtk_widget_get_visible (GTK_WIDGET (self)) ? gtk_label_get_text (self->label) : NULL;
}

void
cv_note_row_show_error (CvNoteRow *self, GtkWidget *field, const GError *error)
{
  g_return_if_fail (CV_IS_NOTE_ROW (self));

  if (error != NULL)
    gtk_widget_add_css_class (field, "error");
  else
    gtk_widget_remove_css_class (field, "error");
  cv_note_row_set_text (self, error != NULL ? error->message : NULL, "error");
}
