/* cv-config.h: what every Culvert config file shares: loading the JSON, walking
 * keys by table, and errors of the form "FILE: KEY: expected …, got …". */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define CV_CONFIG_ERROR (cv_config_error_quark ())
GQuark cv_config_error_quark (void);

typedef enum {
  CV_CONFIG_ERROR_READ,          /* the config, or a file it names, cannot be read */
  CV_CONFIG_ERROR_PARSE,         /* not one JSON document, or a key given twice */
  CV_CONFIG_ERROR_MISSING_KEY,   /* a required key is absent */
  CV_CONFIG_ERROR_WRONG_TYPE,    /* e.g. a number where a string belongs */
  CV_CONFIG_ERROR_UNKNOWN_KEY,   /* most often a typo, so never ignored */
  CV_CONFIG_ERROR_BAD_VALUE,     /* the right type, but not a valid value */
  CV_CONFIG_ERROR_INSECURE_FILE, /* a password file that others may read */
  CV_CONFIG_ERROR_WRONG_KIND,    /* another role's config, e.g. a share agent's to connect */
} CvConfigError;

typedef enum {
  CV_CONFIG_KIND_UNKNOWN,
  CV_CONFIG_KIND_GATEWAY,
  CV_CONFIG_KIND_SHARE,
  CV_CONFIG_KIND_CONNECT,
} CvConfigKind;

/* The log_level key of every config: how much a role logs. */
typedef enum {
  CV_LOG_LEVEL_ERROR,
  CV_LOG_LEVEL_WARNING,
  CV_LOG_LEVEL_INFO,
  CV_LOG_LEVEL_DEBUG,
} CvLogLevel;

/* Its values, in the enum's order, NULL-terminated: a CV_CONFIG_CHOICE's choices. */
extern const char *const cv_config_log_level_choices[];

const char *cv_config_kind_to_string (CvConfigKind kind);
CvConfigKind cv_config_kind_from_string (const char *name);
/* In cv-config-kind.c: which role a config is for, by the keys only one role has. */
CvConfigKind cv_config_guess_kind (JsonObject *root);
gboolean cv_config_check_kind (JsonObject *root, CvConfigKind kind, GError **error);

JsonObject *cv_config_load_file (const char *file, GError **error);
JsonObject *cv_config_load_data (const char *data, gsize len, const char *name, GError **error);
gboolean cv_config_error_get_location (const GError *error,
                                       const char *name,
                                       guint *line,
                                       guint *column);

/* In cv-config-syntax.c: the cause of a JSON syntax error, and the line it is on. */
char *cv_config_find_unclosed (const char *data, gsize len, guint *line, guint *column);
char *cv_config_quote_line (const char *data, gsize len, guint line, guint column);

/* A key table describes one JSON object: every key it may hold, and for the simple
 * ones where the value goes in the caller's struct.  Keys not in the table are errors. */
typedef enum {
  CV_CONFIG_STRING,  /* char *: non-empty, no control characters */
  CV_CONFIG_UINT,    /* guint within [min, max] */
  CV_CONFIG_BOOLEAN, /* gboolean */
  CV_CONFIG_CHOICE,  /* guint: the index of the value in choices */
  CV_CONFIG_ARRAY,   /* read by the caller (offset CV_CONFIG_BY_CALLER) */
  CV_CONFIG_OBJECT,  /* read by the caller (offset CV_CONFIG_BY_CALLER) */
  CV_CONFIG_REFUSED, /* must never be given; why says what to do instead */
} CvConfigValueType;

#define CV_CONFIG_BY_CALLER (-1)

typedef struct {
  const char *key;
  CvConfigValueType type;
  gboolean required;
  gssize offset;              /* into the caller's struct, or CV_CONFIG_BY_CALLER */
  guint min, max;             /* UINT: the range; STRING: length in characters, 0 = any */
  const char *const *choices; /* CHOICE: NULL-terminated */
  const char *why;            /* REFUSED: the whole explanation */
} CvConfigKey;

gboolean cv_config_read_object (JsonObject *object,
                                const char *path,
                                const CvConfigKey *keys,
                                gsize n_keys,
                                gpointer target,
                                GError **error);

/* Getters for what a table leaves to the caller.  @path is the object's own path ("" at
 * the top level); an absent key that is not required leaves *value untouched.  All
 * return FALSE only with @error set. */
gboolean cv_config_get_string (JsonObject *object,
                               const char *key,
                               const char *path,
                               gboolean required,
                               const char **value,
                               GError **error);
gboolean cv_config_get_uint (JsonObject *object,
                             const char *key,
                             const char *path,
                             gboolean required,
                             guint min,
                             guint max,
                             guint *value,
                             GError **error);
gboolean cv_config_get_boolean (JsonObject *object,
                                const char *key,
                                const char *path,
                                gboolean required,
                                gboolean *value,
                                GError **error);
gboolean cv_config_get_admin_socket (JsonObject *object,
                                     const char *file,
                                     char **path,
                                     gboolean *off,
                                     GError **error);
gboolean cv_config_get_array (JsonObject *object,
                              const char *key,
                              const char *path,
                              gboolean required,
                              JsonArray **value,
                              GError **error);
gboolean cv_config_get_object (JsonObject *object,
                               const char *key,
                               const char *path,
                               gboolean required,
                               JsonObject **value,
                               GError **error);

/* The same checks on one value, named by its full path (e.g. "listen[1]"). */
gboolean cv_config_node_get_string (JsonNode *node,
                                    const char *where,
                                    const char **value,
                                    GError **error);
gboolean cv_config_node_get_object (JsonNode *node,
                                    const char *where,
                                    JsonObject **value,
                                    GError **error);
gboolean cv_config_parse_host_port (const char *text,
                                    const char *where,
                                    const char *default_host,
                                    char **host,
                                    guint16 *port_lo,
                                    guint16 *port_hi,
                                    GError **error);
gboolean cv_config_check_session_id (const char *id, const char *where, GError **error);

gboolean cv_config_is_typo_of (const char *given, const char *key);

char *cv_config_path_member (const char *path, const char *key);
char *cv_config_path_element (const char *path, guint index);
char *cv_config_describe_string (const char *text);

void cv_config_set_error (GError **error,
                          CvConfigError code,
                          const char *where,
                          const char *format,
                          ...) G_GNUC_PRINTF (4, 5);
void cv_config_prefix_error (GError **error, const char *file);

GFileInputStream *cv_config_open_private_file (const char *path, const char *what, GError **error);
void cv_config_resolve_path (char **path, const char *file);
char *cv_config_default_state_dir (void);

G_END_DECLS
