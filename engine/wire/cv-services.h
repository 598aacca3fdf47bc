/* cv-services.h: the tunnel's own control messages (channel 0 of the end-to-end mux, so
 * the gateway can neither read nor change them): SERVICES, SERVICE_REQUEST and CONSENT,
 * and the offered service they name (engine/SESSION-CODES.md §3, §4). */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Types on the tunnel's mux, not on a control link: the two never meet. */
typedef enum {
  CV_TUNNEL_CONTROL_SERVICES = 0x20,        /* share → connect, once the tunnel is open */
  CV_TUNNEL_CONTROL_SERVICE_REQUEST = 0x21, /* connect → share: the names it wants */
  CV_TUNNEL_CONTROL_CONSENT = 0x22,         /* share → connect: the sharer's answer */
} CvTunnelControlType;

typedef enum {
  CV_SERVICE_KIND_RDP,
  CV_SERVICE_KIND_VNC,
  CV_SERVICE_KIND_SSH,
  CV_SERVICE_KIND_HTTP,
  CV_SERVICE_KIND_CUSTOM,
} CvServiceKind;

/* Service names: 1 to 32 of a–z, 0–9, '-' and '_', starting with a letter or digit, so
 * that one is typed after "--map 0:" and shown in a prompt without escaping. */
#define CV_SERVICE_MAX_NAME_LEN 32
/* A share agent offers at most this many; a longer list is malformed. */
#define CV_SERVICES_MAX 64

/* Reasons of a CONSENT that is not accepted. */
#define CV_CONSENT_REASON_DECLINED "declined"
#define CV_CONSENT_REASON_TIMEOUT "timeout"
#define CV_CONSENT_REASON_NOT_OFFERED "not-offered" /* asked for a name not in SERVICES */

typedef struct {
  char *name;
  CvServiceKind kind;
  char *host; /* the target, as the share agent dials it */
  guint16 port;
} CvServiceInfo;

const char *cv_service_kind_to_string (CvServiceKind kind);
gboolean cv_service_kind_from_string (const char *text, CvServiceKind *kind);
CvServiceKind cv_service_kind_guess (const char *name);
gboolean cv_service_name_is_valid (const char *name);

CvServiceInfo *cv_service_info_new (const char *name,
                                    CvServiceKind kind,
                                    const char *host,
                                    guint16 port);
void cv_service_info_free (CvServiceInfo *info);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvServiceInfo, cv_service_info_free)

char *cv_services_build (GPtrArray *services);
GPtrArray *cv_services_parse (GBytes *json, GError **error);
char *cv_service_request_build (const char *const *names);
GStrv cv_service_request_parse (GBytes *json, GError **error);
char *cv_consent_build (gboolean accepted, const char *reason);
gboolean cv_consent_parse (GBytes *json, gboolean *accepted, char **reason, GError **error);

G_END_DECLS
