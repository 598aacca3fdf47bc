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

/* The "share_gateway" member of a provisioning file ({"culvert_provisioning": 1,
 * "share_gateway": {"address": "host:port", "fingerprint": "sha256:…"}}, beside or
 * instead of "machine"): NULL with @error, naming the file, if the file or the member is
 * malformed; NULL without an error if it has none.  @has_machine (optional): whether it
 * also describes a machine (then cv_machine_store_import () reads that). */
CvShareGateway *cv_share_gateway_read_file (GFile *file, gboolean *has_machine, GError **error);
/* The preferences say @gateway from now on. */
void cv_share_gateway_save (const CvShareGateway *gateway, GSettings *settings);
/* When the person opens a .culvert file: its "share_gateway", if any, fills the
 * preferences (returned, origin "from your preferences"; NULL if the file has none).
 * FALSE with @error if the file is malformed, the preferences untouched. */
gboolean cv_share_gateway_import (GFile *file,
                                  GSettings *settings,
                                  CvShareGateway **imported,
                                  gboolean *has_machine,
                                  GError **error);
/* Host and port of the gateway's address (it was checked when read). */
gboolean cv_share_gateway_split (const CvShareGateway *gateway,
                                 char **host,
                                 guint16 *port,
                                 GError **error);

G_END_DECLS
