/* cv-machine-store.h: the saved machines, kept as JSON in the user's config dir and
 * written atomically after every change; import and export of provisioning files. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "cv-machine.h"

G_BEGIN_DECLS

/* A provisioning file: {"culvert_provisioning": 1, "machine": {…cv_machine_to_json…}}
 * (UI.md "Provisioning file"; part 2 of the app adds "share_gateway"). */
#define CV_PROVISIONING_FILE_SUFFIX ".culvert"

/* Signals:
 *   "save-failed" (const GError *error): an automatic save failed; nothing was lost in
 *                 memory, the file keeps its last good contents. */
#define CV_TYPE_MACHINE_STORE (cv_machine_store_get_type ())
G_DECLARE_FINAL_TYPE (CvMachineStore, cv_machine_store, CV, MACHINE_STORE, GObject)

/* @path: NULL for g_get_user_config_dir()/culvert/machines.json. */
CvMachineStore *cv_machine_store_new (const char *path);
const char *cv_machine_store_get_path (CvMachineStore *self);
/* A missing file is an empty list; a broken one is an error naming file, line and cause,
 * and the broken file is left alone (never overwritten by a later save). */
gboolean cv_machine_store_load (CvMachineStore *self, GError **error);
/* Written at once (g_file_set_contents: atomic), mode 0600, dirs made as needed. */
gboolean cv_machine_store_save (CvMachineStore *self, GError **error);

/* A GListModel of CvMachine, sorted by name (case-folded). */
GListModel *cv_machine_store_get_machines (CvMachineStore *self);
CvMachine *cv_machine_store_find (CvMachineStore *self, const char *id);
/* Each of these saves on an idle (changes of a machine's properties too). */
void cv_machine_store_add (CvMachineStore *self, CvMachine *machine);
void cv_machine_store_remove (CvMachineStore *self, CvMachine *machine);

/* A provisioning file is refused past this size (unread: no real one comes near it). */
#define CV_PROVISIONING_FILE_MAX_SIZE (1024 * 1024)
/* The saved machines' own file, likewise. */
#define CV_MACHINE_STORE_FILE_MAX_SIZE (16 * 1024 * 1024)

/* Reads a provisioning file into a new machine (a new id), not yet added.  A custom
 * command in the file would be a program run by whoever made the file: every one is
 * dropped (the service then opens nothing until the person chooses how), and *@notice
 * (nullable) is set to a sentence that says so, or to NULL when there was none. */
CvMachine *cv_machine_store_import (GFile *file, char **notice, GError **error);
/* The top-level object of a provisioning file, read bounded and checked: its format
 * version, no password, no member but "culvert_provisioning", "machine" and
 * "share_gateway" (each read by its own reader).  Errors name the file. */
JsonObject *cv_machine_store_read_provisioning (GFile *file, GError **error);
/* Writes @machine as a provisioning file, without id, last use or password. */
gboolean cv_machine_store_export (CvMachine *machine, GFile *file, GError **error);

G_END_DECLS
