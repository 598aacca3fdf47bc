/* cv-application.h: the Culvert desktop app — its saved machines, their connections, the
 * keyring, the embedded gateway and the app-wide actions. */
#pragma once

#include <adwaita.h>

#include "cv-embedded-gateway.h"
#include "cv-machine-connection.h"
#include "cv-machine-store.h"
#include "cv-secret-store.h"

G_BEGIN_DECLS

/* Properties (read-only, notified):
 *   "store"          the CvMachineStore, loaded at startup
 *   "load-error"     GError (boxed): why the saved machines could not be read (the file
 *                    is left as it is and nothing is saved over it), or NULL
 *   "secrets"        the CvSecretStore
 *   "keyring-error"  GError (boxed): set when the startup check found no keyring, else NULL
 */
#define CV_TYPE_APPLICATION (cv_application_get_type ())

G_DECLARE_FINAL_TYPE (CvApplication, cv_application, CV, APPLICATION, AdwApplication)

CvApplication *cv_application_new (void);

CvMachineStore *cv_application_get_store (CvApplication *self);
const GError *cv_application_get_load_error (CvApplication *self);
/* After a load error: reads the file again (the person corrected or moved it). */
gboolean cv_application_reload_machines (CvApplication *self);
CvSecretStore *cv_application_get_secrets (CvApplication *self);
const GError *cv_application_get_keyring_error (CvApplication *self);
/* The connection of the saved machine @machine_id (made if the store holds the machine and
 * it has none yet), or NULL for a machine that is not in the store. */
CvMachineConnection *cv_application_get_connection (CvApplication *self, const char *machine_id);
/* "Run a gateway on this computer", made and loaded at the first call (a load error is
 * told in the window; the gateway then starts without the sessions it could not read).
 * Its listen address and port follow the GSettings keys gateway-listen-address and
 * gateway-listen-port. */
CvEmbeddedGateway *cv_application_get_gateway (CvApplication *self);

/* Reads a provisioning file and shows the machine editor filled from it, for the person to
 * add the password and save; an unreadable file is told in the window. */
void cv_application_import_file (CvApplication *self, GFile *file);

/* Every desktop notification the app sends goes through these two, so that what is shown
 * now can be asked: cv_application_lookup_notification () returns the one sent under @id
 * and not withdrawn since, or NULL. */
void cv_application_send_notification (CvApplication *self,
                                       const char *id,
                                       GNotification *notification);
void cv_application_withdraw_notification (CvApplication *self, const char *id);
GNotification *cv_application_lookup_notification (CvApplication *self, const char *id);

G_END_DECLS
