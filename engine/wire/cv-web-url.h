/* cv-web-url.h: the URLs an agent is given: its gateway as ws:// or wss:// (the WebSocket
 * transport), and the HTTP proxy it dials through. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The path a URL without one means: the gateway's default websocket_path. */
#define CV_WEB_URL_DEFAULT_PATH "/culvert"
#define CV_WEB_URL_WSS_PORT 443
#define CV_WEB_URL_WS_PORT 80

/* A gateway reached by WebSocket. */
typedef struct {
  char *host;   /* without brackets, spelled as cv_host_port_parse() spells it */
  guint16 port; /* the URL's, or 443 (wss) / 80 (ws) */
  char *path;   /* as written (%-escapes kept), or CV_WEB_URL_DEFAULT_PATH */
  gboolean tls; /* wss:// */
} CvWebUrl;

gboolean cv_web_url_has_scheme (const char *text);
gboolean cv_web_url_parse_gateway (const char *text, CvWebUrl *url, GError **error);
void cv_web_url_clear (CvWebUrl *url);

/* The "proxy" setting: "direct", or "http://[user:password@]host:port[/]". */
#define CV_WEB_URL_PROXY_DIRECT "direct"

gboolean cv_web_url_parse_proxy (const char *text,
                                 char **host,
                                 guint16 *port,
                                 gboolean *has_credentials,
                                 GError **error);
char *cv_web_url_proxy_for_gio (const char *text, GError **error);
char *cv_web_url_describe_proxy (const char *host, guint16 port);
char *cv_web_url_redact (const char *text);

G_END_DECLS
