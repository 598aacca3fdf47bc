/* cv-machine-editor.h: "Add / edit a machine" — a modal window that edits a copy of the
 * machine and only on Save puts it in the store and its password in the keyring. */
#pragma once

#include <adwaita.h>

#include "cv-application.h"
#include "cv-machine.h"

G_BEGIN_DECLS

/* Signals:
 *   "saved" (CvMachine *machine)  the machine as the store now holds it, just before the
 *                                 window closes */
#define CV_TYPE_MACHINE_EDITOR (cv_machine_editor_get_type ())
G_DECLARE_FINAL_TYPE (CvMachineEditor, cv_machine_editor, CV, MACHINE_EDITOR, AdwWindow)

/* @machine: NULL for a new machine; one in the application's store is edited in place on
 * Save; one that is not (imported, or made by the gateway window) is added on Save. */
GtkWindow *cv_machine_editor_new (GtkWindow *parent, CvApplication *app, CvMachine *machine);

/* A password to keep with the machine on Save, as if it had been typed (for a machine the
 * gateway window made, whose connect password is known). */
void cv_machine_editor_set_password (CvMachineEditor *self, const char *password);

G_END_DECLS
