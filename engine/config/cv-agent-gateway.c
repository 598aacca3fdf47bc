/* cv-agent-gateway.c: how an agent reaches its gateway — the gateway key (host:port, or a
 * ws:// or wss:// URL), the pins of its keys, and the proxy — for the config files and
 * the flags that write them.
 *
 * Neither the gateway's URL nor the proxy is ever repeated whole in an error once it
 * holds user information: a proxy's password is in it.
 */
#include "config/cv-agent-config-private.h"

#include <sodium.h>
#include <string.h>

#include "wire/cv-host-port.h"
#include "wire/cv-web-url.h"

static char *
describe_url (const char *text)
{
  g_autofree char *redacted = cv_web_url_redact (text);

  return cv_config_describe_string (redacted);
}

/**
 * cv_agent_config_parse_gateway:
 * @text: "host:port", "wss://host[:port][/path]" or "ws://host[:port][/path]"
 * @where: the key or the flag, for the error
 * @web_path: (out): the URL's path (CV_WEB_URL_DEFAULT_PATH when it has none), or %NULL
 *   for a host:port
 * @web_tls: (out): wss://
 *
 * Returns: %TRUE, or %FALSE with a %CV_CONFIG_ERROR_BAD_VALUE naming @where
 */
gboolean
cv_agent_config_parse_gateway (const char *text,
                               const char *where,
                               char **host,
                               guint16 *port,
                               char **web_path,
                               gboolean *web_tls,
                               GError **error)
{
  g_autoptr (GError) url_error = NULL;
  g_autofree char *got = NULL;
  CvWebUrl url;

  if (!cv_web_url_has_scheme (text))
    {
      g_autoptr (GError) host_error = NULL;

      if (!cv_host_port_parse (text, NULL, host, port, NULL, &host_error))
        {
          /* "user:password@host:port": its words would quote the password. */
          gboolean userinfo = strchr (text, '@') != NULL;

          got = describe_url (text);
          cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, where,
                               "expected host:port, or a URL wss://HOST[:PORT][/PATH], got %s "
                               "(%s)",
                               got,
                               userinfo ? "a gateway takes no user name or password"
                                        : host_error->message);
          return FALSE;
        }
      *web_path = NULL;
      *web_tls = FALSE;
      return TRUE;
    }
  if (!cv_web_url_parse_gateway (text, &url, &url_error))
    {
      got = describe_url (text);
      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, where,
                           "expected host:port, or a URL wss://HOST[:PORT][/PATH], got %s (%s)",
                           got, url_error->message);
      return FALSE;
    }
  *host = g_steal_pointer (&url.host);
  *port = url.port;
  *web_path = g_steal_pointer (&url.path);
  *web_tls = url.tls;
  return TRUE;
}

/**
 * cv_agent_config_parse_proxy:
 * @text: "direct", or "http://[user:password@]host:port"
 * @where: the key or the flag, for the error
 *
 * Returns: %TRUE, or %FALSE with a %CV_CONFIG_ERROR_BAD_VALUE naming @where, which
 *   never shows the proxy's user name or password
 */
gboolean
cv_agent_config_parse_proxy (const char *text, const char *where, GError **error)
{
  g_autoptr (GError) url_error = NULL;
  g_autofree char *got = NULL;

  if (cv_web_url_parse_proxy (text, NULL, NULL, NULL, &url_error))
    return TRUE;
  got = describe_url (text);
  cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, where,
                       "expected http://[USER:PASSWORD@]HOST:PORT or \"direct\", got %s (%s)", got,
                       url_error->message);
  return FALSE;
}

/* A string key whose value may hold a password: the table's checks would repeat it, so
 * only its presence and type are theirs; the value's parser checks the rest. */
static gboolean
get_secret_string (JsonObject *root,
                   const char *key,
                   gboolean required,
                   const char **value,
                   GError **error)
{
  JsonNode *node = json_object_get_member (root, key);

  if (node == NULL || json_node_get_value_type (node) != G_TYPE_STRING)
    /* Its missing-key and wrong-type errors show no string. */
    return cv_config_get_string (root, key, "", required, value, error);
  *value = json_node_get_string (node);
  return TRUE;
}

/* gateway, gateway_fingerprint, web_fingerprint and proxy. */
gboolean
cv_agent_config_read_gateway (CvAgentConfig *agent, JsonObject *root, GError **error)
{
  const char *gateway = NULL;
  const char *fingerprint = NULL;
  const char *web_fingerprint = NULL;
  const char *proxy = NULL;

  if (!get_secret_string (root, "gateway", TRUE, &gateway, error)
      || !cv_agent_config_parse_gateway (gateway, "gateway", &agent->gateway_host,
                                         &agent->gateway_port, &agent->web_path, &agent->web_tls,
                                         error)
      || !cv_config_get_string (root, "gateway_fingerprint", "", FALSE, &fingerprint, error)
      || (fingerprint != NULL
          && !cv_agent_config_parse_fingerprint (fingerprint, "gateway_fingerprint",
                                                 &agent->gateway_fingerprint, error))
      || !cv_config_get_string (root, "web_fingerprint", "", FALSE, &web_fingerprint, error)
      || (web_fingerprint != NULL
          && !cv_agent_config_parse_fingerprint (web_fingerprint, "web_fingerprint",
                                                 &agent->web_fingerprint, error))
      || !get_secret_string (root, "proxy", FALSE, &proxy, error)
      || (proxy != NULL && !cv_agent_config_parse_proxy (proxy, "proxy", error)))
    return FALSE;
  agent->proxy = g_strdup (proxy);
  return cv_agent_config_check_web (agent, error);
}

/* What the gateway's form allows: a web server's key to pin only where there is an
 * outer TLS, wss://. */
gboolean
cv_agent_config_check_web (const CvAgentConfig *agent, GError **error)
{
  if (agent->web_fingerprint != NULL && !agent->web_tls)
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, "web_fingerprint",
                           "expected a web server's key only with a wss:// gateway, got one "
                           "with %s",
                           agent->web_path != NULL ? "a ws:// gateway (it has no TLS of its own "
                                                     "to pin)"
                                                   : "a host:port gateway (pin its key with "
                                                     "gateway_fingerprint)");
      return FALSE;
    }
  return agent->proxy == NULL || cv_agent_config_parse_proxy (agent->proxy, "proxy", error);
}

/**
 * cv_agent_config_set_web:
 * @path: (nullable): the WebSocket path on the gateway's host (e.g. "/culvert"), or %NULL
 *   for a raw connection to its host:port
 * @tls: wss:// rather than ws://
 * @web_fingerprint: (nullable): the outer TLS's key pinned, or %NULL: the system's CAs
 *
 * With cv_agent_config_set_gateway() for the host and port; checked when the agent is
 * made of the config.
 */
void
cv_agent_config_set_web (CvAgentConfig *config,
                         const char *path,
                         gboolean tls,
                         const char *web_fingerprint)
{
  g_free (config->web_path);
  config->web_path = g_strdup (path);
  config->web_tls = path != NULL && tls;
  g_free (config->web_fingerprint);
  config->web_fingerprint = g_strdup (web_fingerprint);
}

/* @proxy: (nullable): "http://[user:password@]host:port", "direct", or NULL for the
 * system's proxy settings */
void
cv_agent_config_set_proxy (CvAgentConfig *config, const char *proxy)
{
  if (config->proxy != NULL)
    sodium_memzero (config->proxy, strlen (config->proxy));
  g_free (config->proxy);
  config->proxy = g_strdup (proxy);
}
