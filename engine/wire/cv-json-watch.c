/* cv-json-watch.c: a member given twice, or a second JSON value, seen as json-glib parses. */
#include <string.h>
#include "wire/cv-json-watch.h"

void
cv_json_watch_init (CvJsonWatch *watch)
{
  memset (watch, 0, sizeof *watch);
  watch->members_seen = g_hash_table_new (NULL, NULL);
}

void
cv_json_watch_clear (CvJsonWatch *watch)
{
  g_clear_pointer (&watch->members_seen, g_hash_table_unref);
  g_clear_pointer (&watch->duplicate_key, g_free);
}

static void
on_container_start (JsonParser *parser, CvJsonWatch *watch)
{
  if (watch->depth++ == 0 && ++watch->n_documents == 2)
    {
      watch->second_document_line = json_parser_get_current_line (parser);
      watch->second_document_column = json_parser_get_current_pos (parser);
    }
}

static void
on_container_end (JsonParser *parser, gpointer container, CvJsonWatch *watch)
{
  watch->depth--;
  /* A finished object may be freed and its address reused; its count is done. */
  g_hash_table_remove (watch->members_seen, container);
}

static void
on_object_member (JsonParser *parser, JsonObject *object, const char *key, CvJsonWatch *watch)
{
  guint seen = GPOINTER_TO_UINT (g_hash_table_lookup (watch->members_seen, object)) + 1;

  g_hash_table_insert (watch->members_seen, object, GUINT_TO_POINTER (seen));
  /* The member is already in the object, so a repeated key left its size unchanged. */
  if (seen != json_object_get_size (object) && watch->duplicate_key == NULL)
    {
      watch->duplicate_key = g_strdup (key);
      watch->duplicate_line = json_parser_get_current_line (parser);
      watch->duplicate_column = json_parser_get_current_pos (parser);
    }
}

JsonParser *
cv_json_watch_parser_new (CvJsonWatch *watch, gboolean immutable)
{
  JsonParser *parser = immutable ? json_parser_new_immutable () : json_parser_new ();

  g_signal_connect (parser, "object-start", G_CALLBACK (on_container_start), watch);
  g_signal_connect (parser, "array-start", G_CALLBACK (on_container_start), watch);
  g_signal_connect (parser, "object-end", G_CALLBACK (on_container_end), watch);
  g_signal_connect (parser, "array-end", G_CALLBACK (on_container_end), watch);
  g_signal_connect (parser, "object-member", G_CALLBACK (on_object_member), watch);
  return parser;
}
