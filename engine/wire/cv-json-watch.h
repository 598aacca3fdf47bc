/* cv-json-watch.h: what json-glib accepts silently and Culvert does not — a member given
 * twice in one object (json-glib keeps the last), and a second JSON value after the
 * first (json-glib stops at the end of the first).  Configs and control messages are
 * both "exactly one object, no key twice". */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct {
  GHashTable *members_seen; /* JsonObject being parsed → members reported so far */
  guint depth;
  guint n_documents;
  char *duplicate_key; /* the first key seen twice, or NULL */
  guint duplicate_line, duplicate_column;
  guint second_document_line, second_document_column; /* valid if n_documents > 1 */
} CvJsonWatch;

void cv_json_watch_init (CvJsonWatch *watch);
void cv_json_watch_clear (CvJsonWatch *watch);
/* A parser whose signals feed @watch; @watch must outlive its loads. */
JsonParser *cv_json_watch_parser_new (CvJsonWatch *watch, gboolean immutable);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CvJsonWatch, cv_json_watch_clear)

G_END_DECLS
