/* cv-ticket.h: one-time tunnel tickets and the preface a tunnel half opens with. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* "CULVERT-TUNNEL/1 " + 43 characters of base64url (256 random bits) + "\n" */
#define CV_TUNNEL_PREFACE_PREFIX "CULVERT-TUNNEL/1 "
#define CV_TICKET_LENGTH 43
#define CV_TUNNEL_PREFACE_LENGTH (sizeof CV_TUNNEL_PREFACE_PREFIX - 1 + CV_TICKET_LENGTH + 1)

char *cv_ticket_new (void);
char *cv_tunnel_preface_build (const char *ticket);
char *cv_tunnel_preface_parse (const char *bytes, gsize len, GError **error);

G_END_DECLS
