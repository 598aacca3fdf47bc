/* cv-nameplates.c: nameplates allocated at random among the free ones of the shortest
 * length that is at most half taken (3 digits, 100–999, then 4, …), so that a typist
 * cannot guess the next one and codes stay short while few are in use.  A nameplate
 * that is let go — its share agent left, its session ended, it expired or was burned —
 * cools for cooldown_ms before it is reused, so that a late typist never reaches a new
 * sharer.
 *
 * Times are real time (g_get_real_time () µs, passed in), since they outlive the
 * process: every change is written to the state file (0600, replaced atomically), and
 * at start the file is read back, the nameplates that were in use starting to cool
 * then (their share links are gone: a restart revives no code). */
#include "roles/cv-nameplates.h"

#include "wire/cv-control.h"

#include <json-glib/json-glib.h>
#include <sodium.h>

typedef struct {
  CvNameplateState state;
  gint64 cool_until_us; /* while COOLING */
} Entry;

struct _CvNameplates {
  GObject parent_instance;

  char *state_file; /* NULL: nothing kept */
  gint64 cooldown_us;
  GHashTable *entries; /* nameplate → Entry; free ones are absent */
};

G_DEFINE_FINAL_TYPE (CvNameplates, cv_nameplates, G_TYPE_OBJECT)

static void
cv_nameplates_finalize (GObject *object)
{
  CvNameplates *self = CV_NAMEPLATES (object);

  g_free (self->state_file);
  g_hash_table_unref (self->entries);
  G_OBJECT_CLASS (cv_nameplates_parent_class)->finalize (object);
}

static void
cv_nameplates_class_init (CvNameplatesClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cv_nameplates_finalize;
}

static void
cv_nameplates_init (CvNameplates *self)
{
  self->entries = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
}

/**
 * cv_nameplates_new:
 * @state_file: (nullable): where cooling nameplates are kept (STATE_DIR/nameplates.json)
 * @cooldown_ms: how long a nameplate let go is not reused
 */
CvNameplates *
cv_nameplates_new (const char *state_file, guint cooldown_ms)
{
  CvNameplates *self = g_object_new (CV_TYPE_NAMEPLATES, NULL);

  self->state_file = g_strdup (state_file);
  self->cooldown_us = (gint64) cooldown_ms * 1000;
  return self;
}

/* Cooling that is over is forgotten. */
static void
prune (CvNameplates *self, gint64 now_us)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Entry *entry = value;

      if (entry->state == CV_NAMEPLATE_COOLING && entry->cool_until_us <= now_us)
        g_hash_table_iter_remove (&iter);
    }
}

/* The file: {"version":1,"nameplates":[{"nameplate":"482","state":"cooling"|"in-use",
 * "until_ms":…}]}.  A failure to write is logged and the gateway goes on: the codes it
 * serves now are safe; only a restart would shorten their cooling. */
static void
save (CvNameplates *self)
{
  g_autoptr (JsonBuilder) builder = json_builder_new ();
  g_autoptr (JsonNode) root = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;
  GHashTableIter iter;
  gpointer key, value;

  if (self->state_file == NULL)
    return;
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "version");
  json_builder_add_int_value (builder, 1);
  json_builder_set_member_name (builder, "nameplates");
  json_builder_begin_array (builder);
  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, &key, &value))
    {
      Entry *entry = value;

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "nameplate");
      json_builder_add_string_value (builder, key);
      json_builder_set_member_name (builder, "state");
      json_builder_add_string_value (builder,
                                     entry->state == CV_NAMEPLATE_IN_USE ? "in-use" : "cooling");
      if (entry->state == CV_NAMEPLATE_COOLING)
        {
          json_builder_set_member_name (builder, "until_ms");
          json_builder_add_int_value (builder, entry->cool_until_us / 1000);
        }
      json_builder_end_object (builder);
    }
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  text = json_to_string (root, TRUE);
  if (!g_file_set_contents_full (self->state_file, text, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_ONLY_EXISTING,
                                 0600, &error))
    g_message ("nameplates: cannot write %s: %s", self->state_file, error->message);
}

/**
 * cv_nameplates_load:
 * @now_us: the real time now
 *
 * Reads the state file, if there is one: cooling nameplates keep their time (those
 * whose time is over are dropped), and those that were in use cool from now.
 *
 * Returns: %FALSE if the file exists and cannot be read as one
 */
gboolean
cv_nameplates_load (CvNameplates *self, gint64 now_us, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local_error = NULL;
  JsonNode *root;
  JsonArray *list;

  if (self->state_file == NULL)
    return TRUE;
  if (!json_parser_load_from_file (parser, self->state_file, &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return TRUE;
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: %s", self->state_file,
                   local_error->message);
      return FALSE;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)
      || !json_object_has_member (json_node_get_object (root), "nameplates")
      || !JSON_NODE_HOLDS_ARRAY (
        json_object_get_member (json_node_get_object (root), "nameplates")))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: not a list of nameplates",
                   self->state_file);
      return FALSE;
    }
  list = json_object_get_array_member (json_node_get_object (root), "nameplates");
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonNode *node = json_array_get_element (list, i);
      JsonObject *item = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *nameplate = item != NULL
                                ? json_object_get_string_member_with_default (item, "nameplate",
                                                                              NULL)
                                : NULL;
      const char *state = item != NULL
                            ? json_object_get_string_member_with_default (item, "state", "")
                            : "";
      Entry *entry;

      if (!cv_control_is_nameplate (nameplate))
        {
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_FAILED, "%s: entry %u is not a nameplate",
                       self->state_file, i + 1);
          return FALSE;
        }
      entry = g_new0 (Entry, 1);
      entry->state = CV_NAMEPLATE_COOLING;
      if (g_str_equal (state, "cooling"))
        entry->cool_until_us = json_object_get_int_member_with_default (item, "until_ms", 0) * 1000;
      else
        /* In use when the gateway stopped: its share link is gone. */
        entry->cool_until_us = now_us + self->cooldown_us;
      /* A clock set back must not make a nameplate cool for longer than a cooldown. */
      entry->cool_until_us = MIN (entry->cool_until_us, now_us + self->cooldown_us);
      g_hash_table_replace (self->entries, g_strdup (nameplate), entry);
    }
  prune (self, now_us);
  save (self);
  return TRUE;
}

static guint
number_count (guint digits)
{
  guint n = 9;

  for (guint i = 1; i < digits; i++)
    n *= 10;
  return n;
}

static guint
first_number (guint digits)
{
  return number_count (digits) / 9;
}

/**
 * cv_nameplates_allocate:
 *
 * Returns: (transfer full) (nullable): a free nameplate, now in use; NULL if every length
 *   up to 9 digits is more than half taken
 */
char *
cv_nameplates_allocate (CvNameplates *self, gint64 now_us)
{
  guint taken[CV_CONTROL_NAMEPLATE_MAX_DIGITS + 1] = { 0 };
  GHashTableIter iter;
  gpointer key;
  guint digits;

  prune (self, now_us);
  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    taken[strlen (key)]++;
  for (digits = CV_CONTROL_NAMEPLATE_MIN_DIGITS; digits <= CV_CONTROL_NAMEPLATE_MAX_DIGITS;
       digits++)
    if (2 * (taken[digits] + 1) <= number_count (digits))
      break;
  if (digits > CV_CONTROL_NAMEPLATE_MAX_DIGITS)
    return NULL;

  /* At most half are taken, so a random draw is free at least every other time. */
  for (;;)
    {
      char *nameplate = g_strdup_printf ("%u", first_number (digits)
                                                 + randombytes_uniform (number_count (digits)));
      Entry *entry;

      if (g_hash_table_contains (self->entries, nameplate))
        {
          g_free (nameplate);
          continue;
        }
      entry = g_new0 (Entry, 1);
      entry->state = CV_NAMEPLATE_IN_USE;
      g_hash_table_insert (self->entries, g_strdup (nameplate), entry);
      save (self);
      return nameplate;
    }
}

/* @nameplate, in use, is let go (released, expired or burned: the same to the
 * nameplates): it cools from @now_us. */
void
cv_nameplates_release (CvNameplates *self, const char *nameplate, gint64 now_us)
{
  Entry *entry = g_hash_table_lookup (self->entries, nameplate);

  if (entry == NULL || entry->state != CV_NAMEPLATE_IN_USE)
    return;
  entry->state = CV_NAMEPLATE_COOLING;
  entry->cool_until_us = now_us + self->cooldown_us;
  prune (self, now_us);
  save (self);
}

CvNameplateState
cv_nameplates_get_state (CvNameplates *self, const char *nameplate, gint64 now_us)
{
  Entry *entry = g_hash_table_lookup (self->entries, nameplate);

  if (entry == NULL || (entry->state == CV_NAMEPLATE_COOLING && entry->cool_until_us <= now_us))
    return CV_NAMEPLATE_FREE;
  return entry->state;
}

/* How many are in @state (IN_USE or COOLING) now. */
guint
cv_nameplates_count (CvNameplates *self, CvNameplateState state, gint64 now_us)
{
  GHashTableIter iter;
  gpointer value;
  guint n = 0;

  g_hash_table_iter_init (&iter, self->entries);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Entry *entry = value;

      if (entry->state == state && (state != CV_NAMEPLATE_COOLING || entry->cool_until_us > now_us))
        n++;
    }
  return n;
}
