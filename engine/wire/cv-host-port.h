/* cv-host-port.h: parse "host:port", "[v6]:port", "port" and "host:low-high", for
 * every address a config or a command line names. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Longest host name DNS can carry (RFC 1035, without the trailing dot). */
#define CV_HOST_PORT_MAX_HOST_LEN 253

gboolean cv_host_port_parse (const char *text,
                             const char *default_host,
                             char **host,
                             guint16 *port_lo,
                             guint16 *port_hi,
                             GError **error);
gboolean cv_host_port_split_forward (const char *text,
                                     char **listen,
                                     char **target,
                                     GError **error);
/* The other way: "host:port", an IPv6 address in brackets, as every message names one. */
char *cv_host_port_format (const char *host, guint16 port);

G_END_DECLS
