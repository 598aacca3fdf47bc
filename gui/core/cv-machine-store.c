/* cv-machine-store.c: the saved machines in machines.json — sorted by name, saved
 * atomically on an idle after any change, and never written over a file that could not
 * be read. */
#include "cv-machine-store.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "config/cv-config.h"

#include "cv-app-error.h"
#include "cv-bounded-read.h"

#define STORE_VERSION 1

struct _CvMachineStore {
  GObject parent_instance;

  char *path;
  GListStore *machines; /* of CvMachine, sorted by compare_machines () */
  GHashTable *watches;  /* CvMachine → Watch */
  guint save_source;
  /* Why the last load failed; while set, nothing is saved, so that the file the person
   * may still repair is never replaced by what little was read of it. */
  char *load_error;
};

/* The signal handlers on one machine and on each of its services. */
typedef struct {
  CvMachineStore *store;
  CvMachine *machine;
  GPtrArray *services; /* the CvMachineServices whose "notify" is connected */
} Watch;

enum {
  SIGNAL_SAVE_FAILED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (CvMachineStore, cv_machine_store, G_TYPE_OBJECT)

static void schedule_save (CvMachineStore *self);

/* Sorting */

static char *
sort_key (CvMachine *machine)
{
  const char *name = cv_machine_get_name (machine);
  g_autofree char *folded = g_utf8_casefold (name != NULL ? name : "", -1);

  return g_utf8_collate_key (folded, -1);
}

static int
compare_machines (gconstpointer a, gconstpointer b, gpointer user_data)
{
  CvMachine *machine_a = (CvMachine *) a;
  CvMachine *machine_b = (CvMachine *) b;
  g_autofree char *key_a = sort_key (machine_a);
  g_autofree char *key_b = sort_key (machine_b);
  int order = strcmp (key_a, key_b);

  /* Equal names keep one order whatever the order they came in. */
  if (order == 0)
    order = strcmp (cv_machine_get_id (machine_a), cv_machine_get_id (machine_b));
  return order;
}

/* g_ptr_array_sort_with_data () hands pointers to the elements. */
static int
compare_elements (gconstpointer a, gconstpointer b, gpointer user_data)
{
  return compare_machines (*(CvMachine *const *) a, *(CvMachine *const *) b, user_data);
}

/* After a rename: moves @machine to its place, if it left it. */
static void
resort (CvMachineStore *self, CvMachine *machine)
{
  GListModel *model = G_LIST_MODEL (self->machines);
  guint n_items = g_list_model_get_n_items (model);
  g_autoptr (CvMachine) before = NULL;
  g_autoptr (CvMachine) after = NULL;
  guint position;

  if (!g_list_store_find (self->machines, machine, &position))
    return;
  if (position > 0)
    before = g_list_model_get_item (model, position - 1);
  if (position + 1 < n_items)
    after = g_list_model_get_item (model, position + 1);
  if ((before == NULL || compare_machines (before, machine, NULL) < 0)
      && (after == NULL || compare_machines (machine, after, NULL) < 0))
    return;

  g_object_ref (machine);
  g_list_store_remove (self->machines, position);
  g_list_store_insert_sorted (self->machines, machine, compare_machines, NULL);
  g_object_unref (machine);
}

/* Watching for changes */

static void
on_service_notify (GObject *service, GParamSpec *pspec, gpointer user_data)
{
  schedule_save (CV_MACHINE_STORE (user_data));
}

static void
unwatch_services (Watch *watch)
{
  for (guint i = 0; i < watch->services->len; i++)
    g_signal_handlers_disconnect_by_func (g_ptr_array_index (watch->services, i), on_service_notify,
                                          watch->store);
  g_ptr_array_set_size (watch->services, 0);
}

static void
watch_services (Watch *watch)
{
  GListModel *services = cv_machine_get_services (watch->machine);

  unwatch_services (watch);
  for (guint i = 0; i < g_list_model_get_n_items (services); i++)
    {
      CvMachineService *service = g_list_model_get_item (services, i);

      g_signal_connect (service, "notify", G_CALLBACK (on_service_notify), watch->store);
      g_ptr_array_add (watch->services, service);
    }
}

static void
on_machine_notify (CvMachine *machine, GParamSpec *pspec, gpointer user_data)
{
  Watch *watch = user_data;

  if (g_str_equal (pspec->name, "name"))
    resort (watch->store, machine);
  schedule_save (watch->store);
}

static void
on_services_changed (GListModel *services,
                     guint position,
                     guint removed,
                     guint added,
                     gpointer user_data)
{
  Watch *watch = user_data;

  watch_services (watch);
  schedule_save (watch->store);
}

static void
watch_free (gpointer data)
{
  Watch *watch = data;

  unwatch_services (watch);
  g_ptr_array_unref (watch->services);
  g_signal_handlers_disconnect_by_data (watch->machine, watch);
  g_signal_handlers_disconnect_by_data (cv_machine_get_services (watch->machine), watch);
  g_object_unref (watch->machine);
  g_free (watch);
}

static void
watch_machine (CvMachineStore *self, CvMachine *machine)
{
  Watch *watch = g_new0 (Watch, 1);

  watch->store = self;
  watch->machine = g_object_ref (machine);
  watch->services = g_ptr_array_new_with_free_func (g_object_unref);
  g_signal_connect (machine, "notify", G_CALLBACK (on_machine_notify), watch);
  g_signal_connect (cv_machine_get_services (machine), "items-changed",
                    G_CALLBACK (on_services_changed), watch);
  watch_services (watch);
  g_hash_table_insert (self->watches, machine, watch);
}

/* Saving on an idle */

static gboolean
save_on_idle (gpointer user_data)
{
  CvMachineStore *self = CV_MACHINE_STORE (user_data);
  g_autoptr (GError) error = NULL;

  self->save_source = 0;
  if (!cv_machine_store_save (self, &error))
    g_signal_emit (self, signals[SIGNAL_SAVE_FAILED], 0, error);
  return G_SOURCE_REMOVE;
}

/* Many changes in a row (an editor's Save notifies every field) make one write. */
static void
schedule_save (CvMachineStore *self)
{
  if (self->save_source == 0)
    self->save_source = g_idle_add (save_on_idle, self);
}

/* The object */

static void
cv_machine_store_dispose (GObject *object)
{
  CvMachineStore *self = CV_MACHINE_STORE (object);

  /* A change made just before quitting is written now rather than lost. */
  if (self->save_source != 0)
    {
      g_autoptr (GError) error = NULL;

      g_clear_handle_id (&self->save_source, g_source_remove);
      if (!cv_machine_store_save (self, &error))
        g_message ("%s", error->message);
    }
  g_clear_pointer (&self->watches, g_hash_table_unref);
  g_clear_object (&self->machines);

  G_OBJECT_CLASS (cv_machine_store_parent_class)->dispose (object);
}

static void
cv_machine_store_finalize (GObject *object)
{
  CvMachineStore *self = CV_MACHINE_STORE (object);

  g_free (self->path);
  g_free (self->load_error);

  G_OBJECT_CLASS (cv_machine_store_parent_class)->finalize (object);
}

static void
cv_machine_store_class_init (CvMachineStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cv_machine_store_dispose;
  object_class->finalize = cv_machine_store_finalize;

  signals[SIGNAL_SAVE_FAILED] = g_signal_new ("save-failed", G_TYPE_FROM_CLASS (klass),
                                              G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL, G_TYPE_NONE,
                                              1, G_TYPE_ERROR | G_SIGNAL_TYPE_STATIC_SCOPE);
}

static void
cv_machine_store_init (CvMachineStore *self)
{
  self->machines = g_list_store_new (CV_TYPE_MACHINE);
  self->watches = g_hash_table_new_full (NULL, NULL, NULL, watch_free);
}

CvMachineStore *
cv_machine_store_new (const char *path)
{
  CvMachineStore *self = g_object_new (CV_TYPE_MACHINE_STORE, NULL);

  self->path = path != NULL
                 ? g_strdup (path)
                 : g_build_filename (g_get_user_config_dir (), "culvert", "machines.json", NULL);
  return self;
}

const char *
cv_machine_store_get_path (CvMachineStore *self)
{
  g_return_val_if_fail (CV_IS_MACHINE_STORE (self), NULL);
  return self->path;
}

GListModel *
cv_machine_store_get_machines (CvMachineStore *self)
{
  g_return_val_if_fail (CV_IS_MACHINE_STORE (self), NULL);
  return G_LIST_MODEL (self->machines);
}

CvMachine *
cv_machine_store_find (CvMachineStore *self, const char *id)
{
  GListModel *model;

  g_return_val_if_fail (CV_IS_MACHINE_STORE (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  model = G_LIST_MODEL (self->machines);
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr (CvMachine) machine = g_list_model_get_item (model, i);

      if (g_str_equal (cv_machine_get_id (machine), id))
        return machine; /* the store keeps its own reference */
    }
  return NULL;
}

void
cv_machine_store_add (CvMachineStore *self, CvMachine *machine)
{
  g_return_if_fail (CV_IS_MACHINE_STORE (self));
  g_return_if_fail (CV_IS_MACHINE (machine));
  g_return_if_fail (cv_machine_store_find (self, cv_machine_get_id (machine)) == NULL);

  g_list_store_insert_sorted (self->machines, machine, compare_machines, NULL);
  watch_machine (self, machine);
  schedule_save (self);
}

void
cv_machine_store_remove (CvMachineStore *self, CvMachine *machine)
{
  guint position;

  g_return_if_fail (CV_IS_MACHINE_STORE (self));
  g_return_if_fail (CV_IS_MACHINE (machine));

  if (!g_list_store_find (self->machines, machine, &position))
    return;
  g_hash_table_remove (self->watches, machine);
  g_list_store_remove (self->machines, position);
  schedule_save (self);
}

/* Loading */

/* @text with a full stop at its end, to be followed by another sentence. */
static char *
as_sentence (const char *text)
{
  if (g_str_has_suffix (text, ".") || g_str_has_suffix (text, "?"))
    return g_strdup (text);
  return g_strconcat (text, ".", NULL);
}

static GPtrArray *
read_machines (JsonObject *root, const char *path, GError **error)
{
  const CvConfigKey keys[] = {
    { "version", CV_CONFIG_UINT, TRUE, CV_CONFIG_BY_CALLER },
    { "machines", CV_CONFIG_ARRAY, TRUE, CV_CONFIG_BY_CALLER },
  };
  g_autoptr (GPtrArray) machines = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr (GHashTable) ids = g_hash_table_new (g_str_hash, g_str_equal);
  JsonArray *array = NULL;
  guint version = 0;

  if (!cv_config_read_object (root, "", keys, G_N_ELEMENTS (keys), NULL, error)
      || !cv_config_get_uint (root, "version", "", TRUE, 0, G_MAXUINT, &version, error))
    {
      cv_config_prefix_error (error, path);
      return NULL;
    }
  if (version != STORE_VERSION)
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID,
                   _ ("%s: version: this file was written by another version of Culvert (%u), "
                      "which this one cannot read. Use that version, or a newer one."),
                   path, version);
      return NULL;
    }
  if (!cv_config_get_array (root, "machines", "", TRUE, &array, error))
    {
      cv_config_prefix_error (error, path);
      return NULL;
    }
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      g_autofree char *element = cv_config_path_element ("machines", i);
      g_autofree char *where = g_strdup_printf ("%s: %s", path, element);
      JsonObject *object;
      CvMachine *machine;

      if (!cv_config_node_get_object (json_array_get_element (array, i), element, &object, error))
        {
          cv_config_prefix_error (error, path);
          return NULL;
        }
      machine = cv_machine_new_from_json (object, where, error);
      if (machine == NULL)
        return NULL;
      g_ptr_array_add (machines, machine);
      if (!g_hash_table_add (ids, (gpointer) cv_machine_get_id (machine)))
        {
          g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID,
                       _ ("%s: id: another machine has the same id. Remove the member from "
                          "one of them."),
                       where);
          return NULL;
        }
    }
  return g_steal_pointer (&machines);
}

/**
 * cv_machine_store_load:
 *
 * Replaces the list with the file's machines.  After a failure the list stays as it was
 * and every save is refused (with a sentence that says why) until a load succeeds.
 */
gboolean
cv_machine_store_load (CvMachineStore *self, GError **error)
{
  g_autofree char *contents = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autoptr (JsonObject) root = NULL;
  g_autoptr (GPtrArray) machines = NULL;
  g_autoptr (GFile) file = NULL;
  gsize len = 0;

  g_return_val_if_fail (CV_IS_MACHINE_STORE (self), FALSE);

  file = g_file_new_for_path (self->path);
  if (!cv_read_bounded (file, CV_MACHINE_STORE_FILE_MAX_SIZE, &contents, &len, &local_error))
    {
      if (!g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        goto failed;
      /* The first start: nothing saved yet. */
      g_clear_error (&local_error);
      machines = g_ptr_array_new_with_free_func (g_object_unref);
    }
  else
    {
      root = cv_config_load_data (contents, len, self->path, &local_error);
      if (root == NULL)
        goto failed;
      machines = read_machines (root, self->path, &local_error);
      if (machines == NULL)
        goto failed;
    }

  g_clear_pointer (&self->load_error, g_free);
  g_hash_table_remove_all (self->watches);
  g_ptr_array_sort_with_data (machines, compare_elements, NULL);
  g_list_store_splice (self->machines, 0, g_list_model_get_n_items (G_LIST_MODEL (self->machines)),
                       machines->pdata, machines->len);
  for (guint i = 0; i < machines->len; i++)
    watch_machine (self, g_ptr_array_index (machines, i));
  return TRUE;

failed:
  g_free (self->load_error);
  self->load_error = as_sentence (local_error->message);
  g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_INVALID,
               _ ("Culvert cannot read its saved machines: %s It leaves the file as it is and "
                  "saves nothing over it: correct the file or move it away, then start Culvert "
                  "again."),
               self->load_error);
  return FALSE;
}

/* Saving */

static char *
to_json_text (JsonObject *object)
{
  g_autoptr (JsonGenerator) generator = json_generator_new ();
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_OBJECT);
  g_autofree char *text = NULL;

  json_node_take_object (node, object);
  json_generator_set_root (generator, node);
  json_generator_set_pretty (generator, TRUE);
  json_generator_set_indent (generator, 2);
  text = json_generator_to_data (generator, NULL);
  return g_strconcat (text, "\n", NULL);
}

gboolean
cv_machine_store_save (CvMachineStore *self, GError **error)
{
  JsonObject *root;
  JsonArray *array;
  GListModel *model;
  g_autofree char *text = NULL;
  g_autofree char *dir = NULL;
  g_autoptr (GError) local_error = NULL;

  g_return_val_if_fail (CV_IS_MACHINE_STORE (self), FALSE);

  if (self->load_error != NULL)
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_FAILED,
                   _ ("Your changes are not saved, so as not to replace a file Culvert could not "
                      "read: %s Correct the file or move it away, then start Culvert again."),
                   self->load_error);
      return FALSE;
    }
  g_clear_handle_id (&self->save_source, g_source_remove);

  root = json_object_new ();
  array = json_array_new ();
  model = G_LIST_MODEL (self->machines);
  json_object_set_int_member (root, "version", STORE_VERSION);
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr (CvMachine) machine = g_list_model_get_item (model, i);

      json_array_add_object_element (array, cv_machine_to_json (machine, FALSE));
    }
  json_object_set_array_member (root, "machines", array);
  text = to_json_text (root);

  dir = g_path_get_dirname (self->path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_FAILED,
                   _ ("Your machines could not be saved: the folder %s cannot be made (%s). "
                      "Check its permissions; your changes are kept until Culvert quits."),
                   dir, g_strerror (saved_errno));
      return FALSE;
    }
  /* A new file beside the old one, renamed over it: a crash or a full disk leaves either
   * the old file or the new one, never half of one. */
  if (!g_file_set_contents_full (self->path, text, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0600,
                                 &local_error))
    {
      g_set_error (error, CV_APP_ERROR, CV_APP_ERROR_FAILED,
                   _ ("Your machines could not be saved: %s. The file keeps what was saved "
                      "before; free some disk space or check the folder’s permissions, and "
                      "your changes are kept until Culvert quits."),
                   local_error->message);
      return FALSE;
    }
  return TRUE;
}
