/* cv-share-gateway.h: which gateway "Share this computer" uses — the preferences
 * (share-gateway-address / share-gateway-fingerprint), else the system-wide default a
 * helpdesk's installer put in /etc/culvert/share-gateway.culvert
 * ($CULVERT_SYSTEM_PROVISIONING overrides the path).  A provisioning file with a
 * "share_gateway" member, imported by the person, fills the preferences. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  char *address;     /* "host:port" */
  char *fingerprint; /* "sha256:…": required, the share side never trusts on first use */
  char *origin;      /* translated: "from your preferences", "set by your administrator" */
} CvShareGateway;

void cv_share_gateway_free (CvShareGateway *gateway);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvShareGateway, cv_share_gateway_free)

/* The gateway to share through, or NULL with CV_APP_ERROR_* saying what is missing and
 * what to do ("No gateway is set for sharing. Open the file your helpdesk gave you, or set
 * one in Preferences."); a malformed system file is an error that names the file. */
CvShareGateway *cv_share_gateway_lookup (GSettings *settings, GError **error);

G_END_DECLS
