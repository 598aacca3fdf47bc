/* cv-config-kind.c: which role a config is for, told by the keys only one role has at its
 * top level, so that a config given to the wrong role, or a typo in the key that decides
 * the role, is named as such rather than as "unknown key". */
#include "config/cv-config.h"

#include "config/cv-agent-config.h"
#include "config/cv-gateway-config.h"

/* A gateway may have no sessions yet, so its other keys count too. */
static const struct {
  CvConfigKind kind;
  const char *key;
} kind_keys[] = {
  { CV_CONFIG_KIND_GATEWAY, "sessions" }, { CV_CONFIG_KIND_GATEWAY, "listen" },
  { CV_CONFIG_KIND_GATEWAY, "limits" },   { CV_CONFIG_KIND_GATEWAY, "certificate" },
  { CV_CONFIG_KIND_SHARE, "allow" },      { CV_CONFIG_KIND_SHARE, "services" },
  { CV_CONFIG_KIND_CONNECT, "mappings" },
};

/* Whether some role has @key at its top level: such a key is never a typo of another
 * ("session" is an agent's, not a slip for the gateway's "sessions"). */
static gboolean
is_any_top_key (const char *key)
{
  return cv_gateway_config_is_top_key (key)
         || cv_agent_config_is_top_key (CV_CONFIG_KIND_SHARE, key)
         || cv_agent_config_is_top_key (CV_CONFIG_KIND_CONNECT, key);
}

/* The one kind whose deciding keys @root has, or UNKNOWN for none or several.  With
 * @typos, a key no role knows that is a typo of a deciding key counts as that key.
 * *key is the first deciding key seen of the kind found. */
static CvConfigKind
kind_of (JsonObject *root, gboolean typos, const char **key)
{
  g_autoptr (GList) members = json_object_get_members (root);
  const char *found[CV_CONFIG_KIND_CONNECT + 1] = { NULL };
  CvConfigKind kind = CV_CONFIG_KIND_UNKNOWN;
  guint n_kinds = 0;

  for (GList *l = members; l != NULL; l = l->next)
    for (guint i = 0; i < G_N_ELEMENTS (kind_keys); i++)
      if (found[kind_keys[i].kind] == NULL
          && (g_str_equal (l->data, kind_keys[i].key)
              || (typos && !is_any_top_key (l->data)
                  && cv_config_is_typo_of (l->data, kind_keys[i].key))))
        {
          found[kind_keys[i].kind] = kind_keys[i].key;
          kind = kind_keys[i].kind;
          n_kinds++;
        }
  if (n_kinds != 1)
    return CV_CONFIG_KIND_UNKNOWN;
  if (key != NULL)
    *key = found[kind];
  return kind;
}

/**
 * cv_config_guess_kind:
 *
 * Guesses a config's kind from its top-level keys, counting a key that is a typo of a
 * deciding one ("alow", "mapings", "sesions") as that key: the loader of that kind then
 * names the typo.
 *
 * Returns: the kind, or %CV_CONFIG_KIND_UNKNOWN if the keys of none or of several
 *   kinds are there
 */
CvConfigKind
cv_config_guess_kind (JsonObject *root)
{
  return kind_of (root, TRUE, NULL);
}

static const char *
describe_kind (CvConfigKind kind)
{
  switch (kind)
    {
    case CV_CONFIG_KIND_GATEWAY:
      return "a gateway's";
    case CV_CONFIG_KIND_SHARE:
      return "a share agent's";
    case CV_CONFIG_KIND_CONNECT:
      return "a connect agent's";
    case CV_CONFIG_KIND_UNKNOWN:
    default:
      return "an unknown";
    }
}

/**
 * cv_config_check_kind:
 * @kind: the kind the caller is about to read @root as
 *
 * Refuses a config that is plainly another role's: one with a deciding key of exactly
 * one other kind, written out, and none of @kind's.  Anything less plain is left to
 * the loader's key checks.
 *
 * Returns: %FALSE with a %CV_CONFIG_ERROR_WRONG_KIND that says whose config it is and
 *   which command runs it
 */
gboolean
cv_config_check_kind (JsonObject *root, CvConfigKind kind, GError **error)
{
  const char *key = NULL;
  CvConfigKind found = kind_of (root, FALSE, &key);

  if (found == CV_CONFIG_KIND_UNKNOWN || found == kind)
    return TRUE;
  g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_WRONG_KIND,
               "this is %s config (it has %s), not %s; use culvert-cli %s", describe_kind (found),
               key, describe_kind (kind), cv_config_kind_to_string (found));
  return FALSE;
}
