/* cv-config.c: loading a config's JSON strictly, walking its keys by table, and
 * errors that name the file, the key as a JSON path, what was expected and what came. */
#include "config/cv-config.h"

#include <gio/gio.h>
#include <string.h>

#include "wire/cv-control.h" /* cv_json_is_utf8 */
#include "wire/cv-host-port.h"
#include "wire/cv-json-watch.h"

/* clang-format off */
G_DEFINE_QUARK (cv-config-error-quark, cv_config_error)
/* clang-format on */

/* Longest string a config value may be unless its key says otherwise: far above any
 * path or hash, and it keeps error messages and logs a sane size. */
#define MAX_STRING_CHARS 4096

/* How much of a bad value an error message repeats. */
#define MAX_SHOWN_CHARS 60

#define MAX_SESSION_ID_LEN 64

static const char *const kind_names[] = {
  [CV_CONFIG_KIND_UNKNOWN] = "unknown",
  [CV_CONFIG_KIND_GATEWAY] = "gateway",
  [CV_CONFIG_KIND_SHARE] = "share",
  [CV_CONFIG_KIND_CONNECT] = "connect",
};

/* The key table stores a choice as a guint. */
G_STATIC_ASSERT (sizeof (CvLogLevel) == sizeof (guint));

const char *const cv_config_log_level_choices[] = {
  [CV_LOG_LEVEL_ERROR] = "error", [CV_LOG_LEVEL_WARNING] = "warning", [CV_LOG_LEVEL_INFO] = "info",
  [CV_LOG_LEVEL_DEBUG] = "debug", [CV_LOG_LEVEL_DEBUG + 1] = NULL,
};

const char *
cv_config_kind_to_string (CvConfigKind kind)
{
  if ((guint) kind < G_N_ELEMENTS (kind_names))
    return kind_names[kind];
  return "unknown";
}

CvConfigKind
cv_config_kind_from_string (const char *name)
{
  for (guint i = CV_CONFIG_KIND_GATEWAY; i < G_N_ELEMENTS (kind_names); i++)
    if (g_strcmp0 (name, kind_names[i]) == 0)
      return (CvConfigKind) i;
  return CV_CONFIG_KIND_UNKNOWN;
}

/* Paths */

static gboolean
is_plain_key (const char *key)
{
  if (*key == '\0')
    return FALSE;
  for (const char *p = key; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-')
      return FALSE;
  return TRUE;
}

char *
cv_config_path_member (const char *path, const char *key)
{
  g_autofree char *quoted = NULL;

  if (is_plain_key (key))
    return *path == '\0' ? g_strdup (key) : g_strconcat (path, ".", key, NULL);
  /* A key with dots, spaces or worse is shown the way JSONPath writes it, escaped, so
   * the path stays unambiguous and the terminal safe. */
  quoted = cv_config_describe_string (key);
  return g_strdup_printf ("%s[%s]", path, quoted);
}

char *
cv_config_path_element (const char *path, guint index)
{
  return g_strdup_printf ("%s[%u]", path, index);
}

/* Errors */

void
cv_config_set_error (GError **error, CvConfigError code, const char *where, const char *format, ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, CV_CONFIG_ERROR, code, "%s: %s", *where != '\0' ? where : "top level",
               message);
}

/**
 * cv_config_prefix_error:
 * @file: (nullable): the config file, or %NULL for JSON that came from elsewhere
 *
 * Puts "FILE: " in front of an error from the functions that work on parsed JSON.
 */
void
cv_config_prefix_error (GError **error, const char *file)
{
  if (file != NULL)
    g_prefix_error (error, "%s: ", file);
}

/* json-glib 1.6 writes U+001F, DEL and the C1 controls (U+0080 … U+009F, 8-bit CSI
 * among them) as they are: JSON allows that, terminals act on some.  Takes @json. */
static char *
escape_controls (char *json)
{
  g_autofree char *text = json;
  GString *escaped = g_string_sized_new (strlen (text));

  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_iscntrl (c))
        g_string_append_printf (escaped, "\\u%04x", c);
      else
        g_string_append_len (escaped, p, g_utf8_next_char (p) - p);
    }
  return g_string_free (escaped, FALSE);
}

/* A string as JSON writes it, shortened: safe to print whatever the file held. */
char *
cv_config_describe_string (const char *text)
{
  g_autoptr (JsonNode) node = json_node_new (JSON_NODE_VALUE);
  glong n_chars = g_utf8_strlen (text, -1);
  g_autofree char *shown = g_utf8_substring (text, 0, MIN (n_chars, MAX_SHOWN_CHARS));
  g_autofree char *quoted = NULL;

  json_node_set_string (node, shown);
  quoted = escape_controls (json_to_string (node, FALSE));
  if (n_chars > MAX_SHOWN_CHARS)
    return g_strconcat (quoted, "…", NULL);
  return g_steal_pointer (&quoted);
}

/* What a value is, for the "got …" part: scalars as they were written, containers by
 * their kind, since printing a whole object helps nobody. */
static char *
describe_node (JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      return g_strdup ("an object");
    case JSON_NODE_ARRAY:
      return g_strdup ("an array");
    case JSON_NODE_NULL:
      return g_strdup ("null");
    case JSON_NODE_VALUE:
    default:
      break;
    }
  if (json_node_get_value_type (node) == G_TYPE_STRING)
    return cv_config_describe_string (json_node_get_string (node));
  return json_to_string (node, FALSE);
}

static gboolean
wrong_type (GError **error, const char *where, const char *expected, JsonNode *node)
{
  g_autofree char *got = describe_node (node);

  cv_config_set_error (error, CV_CONFIG_ERROR_WRONG_TYPE, where, "expected %s, got %s", expected,
                       got);
  return FALSE;
}

static gboolean
missing (GError **error, const char *where, const char *expected)
{
  cv_config_set_error (error, CV_CONFIG_ERROR_MISSING_KEY, where,
                       "required key missing, expected %s", expected);
  return FALSE;
}

/* Loading */

/* What json-glib's loading leaves to check, the same whether the JSON came from a file or
 * from memory.  @name starts every message. */
static JsonObject *
check_loaded (JsonParser *parser, CvJsonWatch *watch, const char *name, GError **error)
{
  JsonNode *root = json_parser_get_root (parser);

  if (root == NULL)
    {
      g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_PARSE,
                   "%s: the file is empty, expected a JSON object", name);
      return NULL;
    }
  if (watch->n_documents > 1)
    {
      g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_PARSE,
                   "%s:%u:%u: Parse error: a second JSON value, expected the end of the file", name,
                   watch->second_document_line, watch->second_document_column);
      return NULL;
    }
  if (watch->duplicate_key != NULL)
    {
      g_autofree char *shown = cv_config_describe_string (watch->duplicate_key);

      g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_PARSE,
                   "%s:%u:%u: Parse error: the key %s is given twice in one object", name,
                   watch->duplicate_line, watch->duplicate_column, shown);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (root))
    {
      wrong_type (error, "", "an object", root);
      cv_config_prefix_error (error, name);
      return NULL;
    }
  /* Before anything reads them as UTF-8 (g_utf8_strlen() would run past the end). */
  if (!cv_json_is_utf8 (root))
    {
      g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_PARSE,
                   "%s: Parse error: a string is not UTF-8 once unescaped (an octal escape, "
                   "as \\374?)",
                   name);
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

/* What json-glib calls data that is not from a file. */
#define JSON_DATA_NAME "<data>"

/* json-glib's parse errors start "SOURCE:LINE:COLUMN: ", SOURCE being the file or
 * JSON_DATA_NAME; its others (unreadable file, not UTF-8) do not.  A parse error may
 * repeat a string of the file, unescaped: "\374" as the byte 0xfc, "\033" as ESC.  That
 * part is escaped (g_strescape() keeps it ASCII and on one line) and @name put first. */
static void
set_load_error (GError **error,
                const GError *load_error,
                const char *source,
                const char *name,
                const char *data,
                gsize len)
{
  const char *message = load_error->message;
  g_autofree char *escaped = NULL;
  g_autofree char *unclosed = NULL;
  guint line = 0, column = 0;

  if (load_error->domain != JSON_PARSER_ERROR)
    {
      g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_READ, "%s: %s", name, message);
      return;
    }
  /* A bracket or string left open is the cause json-glib misplaces most. */
  if (data != NULL && (unclosed = cv_config_find_unclosed (data, len, &line, &column)) != NULL)
    {
      g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_PARSE, "%s:%u:%u: Parse error: %s", name,
                   line, column, unclosed);
      return;
    }
  if (g_str_has_prefix (message, source) && message[strlen (source)] == ':')
    message += strlen (source);
  else
    message = NULL;
  escaped = g_strescape (message != NULL ? message : load_error->message, "\"");
  g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_PARSE, "%s%s%s", name,
               message != NULL ? "" : ": ", escaped);
}

/* Our configs may hold "//" line comments, as the examples do; json-glib 1.6 takes
 * only C's block comments.  Each comment's bytes become spaces (newlines stay), so the
 * line and column of a parse error are the file's own.  A "//" inside a string is text; a
 * string ends at its line's end, as JSON strings cannot span lines, so that one
 * unclosed quote does not hide the comments after it.  Control messages never come
 * here: comments are a config file's only. */
static char *
blank_comments (const char *data, gsize len)
{
  char *text = g_malloc (len + 1);
  gboolean in_string = FALSE;

  memcpy (text, data, len);
  text[len] = '\0';
  for (gsize i = 0; i < len; i++)
    {
      if (text[i] == '\n')
        in_string = FALSE;
      else if (in_string)
        {
          if (text[i] == '\\' && i + 1 < len && text[i + 1] != '\n')
            i++; /* an escaped quote or backslash */
          else if (text[i] == '"')
            in_string = FALSE;
        }
      else if (text[i] == '"')
        in_string = TRUE;
      else if (text[i] == '/' && i + 1 < len && text[i + 1] == '/')
        for (; i < len && text[i] != '\n'; i++)
          text[i] = ' ';
      else if (text[i] == '/' && i + 1 < len && text[i + 1] == '*')
        {
          /* json-glib would skip these itself; blanked too, so that the syntax scanner
           * (cv-config-syntax.c) sees no bracket or quote inside one either.  An
           * unclosed one is left for json-glib to refuse. */
          const char *end = g_strstr_len (text + i + 2, (gssize) (len - i - 2), "*/");

          if (end == NULL)
            break;
          for (; i < (gsize) (end - text) + 2; i++)
            if (text[i] != '\n')
              text[i] = ' ';
          i--;
        }
    }
  return text;
}

/**
 * cv_config_error_get_location:
 * @name: the file the error is about
 *
 * Returns: whether @error is a parse error of @name with a line and a column, as
 *   "NAME:LINE:COLUMN: …", and then those
 */
gboolean
cv_config_error_get_location (const GError *error, const char *name, guint *line, guint *column)
{
  const char *rest;
  char *end;
  guint64 l, c;

  if (!g_error_matches (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_PARSE)
      || !g_str_has_prefix (error->message, name) || error->message[strlen (name)] != ':')
    return FALSE;
  rest = error->message + strlen (name) + 1;
  l = g_ascii_strtoull (rest, &end, 10);
  if (end == rest || *end != ':')
    return FALSE;
  rest = end + 1;
  c = g_ascii_strtoull (rest, &end, 10);
  if (end == rest || *end != ':' || l == 0 || c == 0 || l > G_MAXUINT || c > G_MAXUINT)
    return FALSE;
  *line = (guint) l;
  *column = (guint) c;
  return TRUE;
}

/**
 * cv_config_load_file:
 * @file: the config file
 *
 * Reads @file as exactly one JSON object with no key given twice; "//" starts a
 * comment that runs to the end of its line.
 *
 * Returns: (transfer full): the top-level object, or %NULL with @error set to a
 *   message that starts with @file (and the line and column, for a parse error)
 */
JsonObject *
cv_config_load_file (const char *file, GError **error)
{
  g_autofree char *contents = NULL;
  g_autoptr (GError) local_error = NULL;
  gsize len;

  if (!g_file_get_contents (file, &contents, &len, &local_error))
    {
      set_load_error (error, local_error, file, file, NULL, 0);
      return NULL;
    }
  return cv_config_load_data (contents, len, file, error);
}

/**
 * cv_config_load_data:
 * @data: a config's bytes, not necessarily NUL-terminated
 * @name: what to call them in errors
 *
 * As cv_config_load_file(), on bytes already in memory (the fuzz targets feed it), with
 * the same messages when @name is the file they came from.
 */
JsonObject *
cv_config_load_data (const char *data, gsize len, const char *name, GError **error)
{
  g_auto (CvJsonWatch) watch = { 0 };
  g_autoptr (JsonParser) parser = NULL;
  g_autoptr (GError) local_error = NULL;
  g_autofree char *text = NULL;

  if (len > G_MAXSSIZE)
    {
      g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_PARSE, "%s: too large", name);
      return NULL;
    }
  cv_json_watch_init (&watch);
  parser = cv_json_watch_parser_new (&watch, FALSE);
  text = blank_comments (data, len);
  if (!json_parser_load_from_data (parser, text, (gssize) len, &local_error))
    {
      set_load_error (error, local_error, JSON_DATA_NAME, name, text, len);
      return NULL;
    }
  return check_loaded (parser, &watch, name, error);
}

/* Values */

static gboolean
check_string (const char *text, const char *where, guint max_chars, GError **error)
{
  glong n_chars = g_utf8_strlen (text, -1);

  if (max_chars == 0)
    max_chars = MAX_STRING_CHARS;
  if (n_chars == 0)
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, where,
                           "expected a non-empty string, got \"\"");
      return FALSE;
    }
  if ((gulong) n_chars > max_chars)
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, where,
                           "expected at most %u characters, got %ld", max_chars, n_chars);
      return FALSE;
    }
  /* Control characters have no business in a path, a name or a hash, and would
   * garble the logs and terminals they end up in. */
  for (const char *p = text; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || *p == 0x7f)
      {
        g_autofree char *got = cv_config_describe_string (text);

        cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, where,
                             "expected a string without control characters, got %s", got);
        return FALSE;
      }
  return TRUE;
}

static gboolean
node_get_string (JsonNode *node,
                 const char *where,
                 guint max_chars,
                 const char **value,
                 GError **error)
{
  if (json_node_get_value_type (node) != G_TYPE_STRING)
    return wrong_type (error, where, "a string", node);
  if (!check_string (json_node_get_string (node), where, max_chars, error))
    return FALSE;
  *value = json_node_get_string (node);
  return TRUE;
}

gboolean
cv_config_node_get_string (JsonNode *node, const char *where, const char **value, GError **error)
{
  return node_get_string (node, where, 0, value, error);
}

gboolean
cv_config_node_get_object (JsonNode *node, const char *where, JsonObject **value, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return wrong_type (error, where, "an object", node);
  *value = json_node_get_object (node);
  return TRUE;
}

static gboolean
node_get_uint (JsonNode *node,
               const char *where,
               guint min,
               guint max,
               guint *value,
               GError **error)
{
  gint64 number;

  if (json_node_get_value_type (node) != G_TYPE_INT64)
    {
      g_autofree char *expected = g_strdup_printf ("an integer from %u to %u", min, max);

      return wrong_type (error, where, expected, node);
    }
  number = json_node_get_int (node);
  if (number < min || number > max)
    {
      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, where,
                           "expected an integer from %u to %u, got %" G_GINT64_FORMAT, min, max,
                           number);
      return FALSE;
    }
  *value = (guint) number;
  return TRUE;
}

static gboolean
node_get_choice (JsonNode *node,
                 const char *where,
                 const char *const *choices,
                 guint *value,
                 GError **error)
{
  g_autoptr (GString) expected = g_string_new ("one of ");
  g_autofree char *got = NULL;
  const char *text = NULL;

  for (guint i = 0; choices[i] != NULL; i++)
    g_string_append_printf (expected, "%s\"%s\"", i > 0 ? ", " : "", choices[i]);
  if (json_node_get_value_type (node) != G_TYPE_STRING)
    return wrong_type (error, where, expected->str, node);
  text = json_node_get_string (node);
  for (guint i = 0; choices[i] != NULL; i++)
    if (g_str_equal (text, choices[i]))
      {
        *value = i;
        return TRUE;
      }
  got = cv_config_describe_string (text);
  cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, where, "expected %s, got %s",
                       expected->str, got);
  return FALSE;
}

/* The member @key of @object with its path, or NULL (and an error if @required). */
static JsonNode *
lookup (JsonObject *object,
        const char *key,
        const char *path,
        gboolean required,
        const char *expected,
        char **where,
        GError **error)
{
  JsonNode *node = json_object_get_member (object, key);

  *where = cv_config_path_member (path, key);
  if (node == NULL && required)
    missing (error, *where, expected);
  return node;
}

gboolean
cv_config_get_string (JsonObject *object,
                      const char *key,
                      const char *path,
                      gboolean required,
                      const char **value,
                      GError **error)
{
  g_autofree char *where = NULL;
  JsonNode *node = lookup (object, key, path, required, "a string", &where, error);

  if (node == NULL)
    return !required;
  return node_get_string (node, where, 0, value, error);
}

gboolean
cv_config_get_uint (JsonObject *object,
                    const char *key,
                    const char *path,
                    gboolean required,
                    guint min,
                    guint max,
                    guint *value,
                    GError **error)
{
  g_autofree char *where = NULL;
  JsonNode *node = lookup (object, key, path, required, "an integer", &where, error);

  if (node == NULL)
    return !required;
  return node_get_uint (node, where, min, max, value, error);
}

gboolean
cv_config_get_boolean (JsonObject *object,
                       const char *key,
                       const char *path,
                       gboolean required,
                       gboolean *value,
                       GError **error)
{
  g_autofree char *where = NULL;
  JsonNode *node = lookup (object, key, path, required, "true or false", &where, error);

  if (node == NULL)
    return !required;
  if (json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return wrong_type (error, where, "true or false", node);
  *value = json_node_get_boolean (node);
  return TRUE;
}

/**
 * cv_config_get_admin_socket:
 * @file: (nullable): the config's file, the base of a relative path
 * @path: (out): the path given, made absolute; untouched when the key is absent
 * @off: (out): TRUE for "admin_socket": false
 *
 * The "admin_socket" key of a top-level object: a path, or false for none.
 */
gboolean
cv_config_get_admin_socket (JsonObject *object,
                            const char *file,
                            char **path,
                            gboolean *off,
                            GError **error)
{
  const char *expected = "a socket path or false";
  g_autofree char *where = NULL;
  JsonNode *node = lookup (object, "admin_socket", "", FALSE, expected, &where, error);
  const char *value = NULL;

  if (node == NULL)
    return TRUE;
  if (json_node_get_value_type (node) == G_TYPE_BOOLEAN && !json_node_get_boolean (node))
    {
      *off = TRUE;
      return TRUE;
    }
  if (json_node_get_value_type (node) != G_TYPE_STRING)
    return wrong_type (error, where, expected, node);
  if (!node_get_string (node, where, 0, &value, error))
    return FALSE;
  g_free (*path);
  *path = g_strdup (value);
  cv_config_resolve_path (path, file);
  return TRUE;
}

gboolean
cv_config_get_array (JsonObject *object,
                     const char *key,
                     const char *path,
                     gboolean required,
                     JsonArray **value,
                     GError **error)
{
  g_autofree char *where = NULL;
  JsonNode *node = lookup (object, key, path, required, "an array", &where, error);

  if (node == NULL)
    return !required;
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return wrong_type (error, where, "an array", node);
  *value = json_node_get_array (node);
  return TRUE;
}

gboolean
cv_config_get_object (JsonObject *object,
                      const char *key,
                      const char *path,
                      gboolean required,
                      JsonObject **value,
                      GError **error)
{
  g_autofree char *where = NULL;
  JsonNode *node = lookup (object, key, path, required, "an object", &where, error);

  if (node == NULL)
    return !required;
  return cv_config_node_get_object (node, where, value, error);
}

/* Key tables */

/* Edits between two short strings, a swap of neighbours counting as one (optimal
 * string alignment): to suggest the key a typo meant. */
static guint
edit_distance (const char *a, const char *b)
{
  gsize len_a = strlen (a);
  gsize len_b = strlen (b);
  gsize width = len_b + 1;
  g_autofree guint *d = g_new (guint, (len_a + 1) * width);

  for (gsize i = 0; i <= len_a; i++)
    for (gsize j = 0; j <= len_b; j++)
      {
        guint best;

        if (i == 0 || j == 0)
          {
            d[i * width + j] = (guint) (i + j);
            continue;
          }
        best = MIN (d[(i - 1) * width + j], d[i * width + j - 1]) + 1;
        best = MIN (best, d[(i - 1) * width + j - 1] + (a[i - 1] != b[j - 1]));
        if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
          best = MIN (best, d[(i - 2) * width + j - 2] + 1);
        d[i * width + j] = best;
      }
  return d[len_a * width + len_b];
}

/* How many edits @given is from @key if that is few enough to be a slip of the
 * finger, else G_MAXUINT. */
static guint
typo_distance (const char *given, const char *key)
{
  guint distance;

  if (strlen (given) > 64)
    return G_MAXUINT;
  distance = edit_distance (given, key);
  /* Two edits catch most slips of the finger; short keys get one, since two would turn
   * "id" into anything. */
  return distance <= CLAMP (strlen (key) / 3, 1, 2) ? distance : G_MAXUINT;
}

/**
 * cv_config_is_typo_of:
 *
 * Whether @given, not @key itself, is close enough to @key to be a typo of it: the
 * rule by which an unknown key's message suggests one.
 */
gboolean
cv_config_is_typo_of (const char *given, const char *key)
{
  return !g_str_equal (given, key) && typo_distance (given, key) != G_MAXUINT;
}

static gboolean
unknown_key (const char *key,
             const char *where,
             const CvConfigKey *keys,
             gsize n_keys,
             GError **error)
{
  g_autoptr (GString) known = g_string_new (NULL);
  const char *closest = NULL;
  guint closest_distance = G_MAXUINT;

  for (gsize i = 0; i < n_keys; i++)
    {
      guint distance;

      if (keys[i].type == CV_CONFIG_REFUSED)
        continue;
      g_string_append_printf (known, "%s%s", known->len > 0 ? ", " : "", keys[i].key);
      distance = typo_distance (key, keys[i].key);
      if (distance < closest_distance)
        {
          closest = keys[i].key;
          closest_distance = distance;
        }
    }
  if (closest != NULL)
    cv_config_set_error (error, CV_CONFIG_ERROR_UNKNOWN_KEY, where, "unknown key, did you mean %s?",
                         closest);
  else
    cv_config_set_error (error, CV_CONFIG_ERROR_UNKNOWN_KEY, where,
                         "unknown key, expected one of %s", known->str);
  return FALSE;
}

static const CvConfigKey *
find_key (const CvConfigKey *keys, gsize n_keys, const char *name)
{
  for (gsize i = 0; i < n_keys; i++)
    if (g_str_equal (keys[i].key, name))
      return &keys[i];
  return NULL;
}

static gboolean
is_read_by_table (const CvConfigKey *key)
{
  switch (key->type)
    {
    case CV_CONFIG_STRING:
    case CV_CONFIG_UINT:
    case CV_CONFIG_BOOLEAN:
    case CV_CONFIG_CHOICE:
      return key->offset != CV_CONFIG_BY_CALLER;
    case CV_CONFIG_ARRAY:
    case CV_CONFIG_OBJECT:
    case CV_CONFIG_REFUSED:
    default:
      return FALSE;
    }
}

static gboolean
read_key (JsonObject *object,
          const char *path,
          const CvConfigKey *key,
          gpointer target,
          GError **error)
{
  g_autofree char *where = NULL;
  gpointer field = (guint8 *) target + key->offset;
  JsonNode *node;

  switch (key->type)
    {
    case CV_CONFIG_STRING:
      {
        const char *value = NULL;

        node = lookup (object, key->key, path, key->required, "a string", &where, error);
        if (node == NULL)
          return !key->required;
        if (!node_get_string (node, where, key->max, &value, error))
          return FALSE;
        g_free (*(char **) field);
        *(char **) field = g_strdup (value);
        return TRUE;
      }
    case CV_CONFIG_UINT:
      return cv_config_get_uint (object, key->key, path, key->required, key->min, key->max, field,
                                 error);
    case CV_CONFIG_BOOLEAN:
      return cv_config_get_boolean (object, key->key, path, key->required, field, error);
    case CV_CONFIG_CHOICE:
      node = lookup (object, key->key, path, key->required, "a string", &where, error);
      if (node == NULL)
        return !key->required;
      return node_get_choice (node, where, key->choices, field, error);
    case CV_CONFIG_ARRAY:
    case CV_CONFIG_OBJECT:
    case CV_CONFIG_REFUSED:
    default:
      g_assert_not_reached ();
    }
}

/**
 * cv_config_read_object:
 * @object: the JSON object
 * @path: its path ("" for the top level)
 * @keys: (array length=n_keys): every key @object may hold
 * @target: the struct the keys' offsets point into, holding the defaults
 *
 * Refuses keys not in @keys and those of type %CV_CONFIG_REFUSED, then reads each
 * key that has an offset into @target, leaving the default where a key is absent.
 * Keys with %CV_CONFIG_BY_CALLER are the caller's to read.
 *
 * Returns: %FALSE with @error set on the first problem, in document order
 */
gboolean
cv_config_read_object (JsonObject *object,
                       const char *path,
                       const CvConfigKey *keys,
                       gsize n_keys,
                       gpointer target,
                       GError **error)
{
  g_autoptr (GList) members = json_object_get_members (object);

  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *name = l->data;
      const CvConfigKey *key = find_key (keys, n_keys, name);
      g_autofree char *where = cv_config_path_member (path, name);

      if (key == NULL)
        return unknown_key (name, where, keys, n_keys, error);
      if (key->type == CV_CONFIG_REFUSED)
        {
          cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, where, "%s", key->why);
          return FALSE;
        }
    }

  for (gsize i = 0; i < n_keys; i++)
    if (is_read_by_table (&keys[i]) && !read_key (object, path, &keys[i], target, error))
      return FALSE;
  return TRUE;
}

/* Shared values */

gboolean
cv_config_parse_host_port (const char *text,
                           const char *where,
                           const char *default_host,
                           char **host,
                           guint16 *port_lo,
                           guint16 *port_hi,
                           GError **error)
{
  g_autoptr (GError) local_error = NULL;
  g_autofree char *got = NULL;

  if (cv_host_port_parse (text, default_host, host, port_lo, port_hi, &local_error))
    return TRUE;
  got = cv_config_describe_string (text);
  cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, where, "expected %s, got %s (%s)",
                       port_hi != NULL        ? "host:port or host:low-high"
                       : default_host != NULL ? "host:port or port"
                                              : "host:port",
                       got, local_error->message);
  return FALSE;
}

/* Session ids travel in HELLO and in logs and may name files: a short, safe alphabet. */
gboolean
cv_config_check_session_id (const char *id, const char *where, GError **error)
{
  gsize len = strlen (id);
  gboolean valid = len >= 1 && len <= MAX_SESSION_ID_LEN;

  for (gsize i = 0; valid && i < len; i++)
    valid = g_ascii_isalnum (id[i]) || id[i] == '.' || id[i] == '_' || id[i] == '-';
  if (!valid)
    {
      g_autofree char *got = cv_config_describe_string (id);

      cv_config_set_error (error, CV_CONFIG_ERROR_BAD_VALUE, where,
                           "expected a session id of 1 to %u letters, digits, '.', '_' or "
                           "'-', got %s",
                           MAX_SESSION_ID_LEN, got);
    }
  return valid;
}

/* Files */

/**
 * cv_config_open_private_file:
 * @path: a file that holds a secret (a password, password hashes)
 * @what: what it is, for the message: "a password file"
 *
 * Opens @path and checks, on the open file so that it cannot be swapped between the
 * check and the read, that only its owner may read or write it.  As ssh does for
 * private keys: a secret others can read is no longer secret, and one others can write
 * is not ours.  Windows reports no such mode.
 *
 * Returns: (transfer full): the stream, or %NULL with a %CV_CONFIG_ERROR_READ or
 *   %CV_CONFIG_ERROR_INSECURE_FILE that starts with @path
 */
GFileInputStream *
cv_config_open_private_file (const char *path, const char *what, GError **error)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GFileInputStream) stream = NULL;
  g_autoptr (GFileInfo) info = NULL;
  g_autoptr (GError) local_error = NULL;

  stream = g_file_read (file, NULL, &local_error);
  if (stream == NULL)
    {
      g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_READ, "%s: %s", path,
                   local_error->message);
      return NULL;
    }
  info = g_file_input_stream_query_info (stream,
                                         G_FILE_ATTRIBUTE_STANDARD_TYPE
                                         "," G_FILE_ATTRIBUTE_UNIX_MODE,
                                         NULL, NULL);
  /* A device or a pipe would be read for ever (/dev/zero), or block (/dev/stdin). */
  if (info != NULL && g_file_info_has_attribute (info, G_FILE_ATTRIBUTE_STANDARD_TYPE)
      && g_file_info_get_file_type (info) != G_FILE_TYPE_REGULAR)
    {
      g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_READ,
                   "%s: expected %s, got something that is not a regular file", path, what);
      return NULL;
    }
  if (info != NULL && g_file_info_has_attribute (info, G_FILE_ATTRIBUTE_UNIX_MODE))
    {
      guint32 mode = g_file_info_get_attribute_uint32 (info, G_FILE_ATTRIBUTE_UNIX_MODE);

      if ((mode & 077) != 0)
        {
          g_set_error (error, CV_CONFIG_ERROR, CV_CONFIG_ERROR_INSECURE_FILE,
                       "%s: expected %s only its owner can read, got permissions %04o (run: "
                       "chmod 600 %s)",
                       path, what, mode & 07777, path);
          return NULL;
        }
    }
  return g_steal_pointer (&stream);
}

/**
 * cv_config_resolve_path:
 * @path: (inout) (nullable): a path from the config, replaced by an absolute one
 * @file: (nullable): the config file it comes from
 *
 * A relative path means relative to the config file, not to wherever the service
 * happens to start (under systemd, "/").
 */
void
cv_config_resolve_path (char **path, const char *file)
{
  g_autofree char *written = g_steal_pointer (path);
  g_autofree char *base = NULL;

  if (written == NULL)
    return;
  if (file != NULL)
    {
      g_autofree char *dir = g_path_get_dirname (file);

      base = g_canonicalize_filename (dir, NULL);
    }
  *path = g_canonicalize_filename (written, base);
}

/* systemd's StateDirectory= sets $STATE_DIRECTORY (several, colon-separated, when the
 * unit names several: the first is ours); elsewhere the XDG state directory. */
char *
cv_config_default_state_dir (void)
{
  const char *from_systemd = g_getenv ("STATE_DIRECTORY");

  if (from_systemd != NULL && *from_systemd != '\0')
    {
      const char *colon = strchr (from_systemd, ':');

      return colon != NULL ? g_strndup (from_systemd, (gsize) (colon - from_systemd))
                           : g_strdup (from_systemd);
    }
  return g_build_filename (g_get_user_state_dir (), "culvert", NULL);
}
