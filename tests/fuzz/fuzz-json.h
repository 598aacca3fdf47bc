/* fuzz-json.h: what the JSON targets (control messages, configs) share. */
#pragma once

#include <json-glib/json-glib.h>

/* json-glib 1.6 prints some doubles as JSON that it cannot read back (1e308 becomes
 * "1e+308.0").  Culvert never prints a double (its messages and configs hold integers,
 * strings and booleans), so a tree with one is left out of the print-and-read-again
 * checks rather than reported as a Culvert bug. */
static inline gboolean
fuzz_json_holds_double (JsonNode *node)
{
  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        JsonNode *member;

        json_object_iter_init (&iter, json_node_get_object (node));
        while (json_object_iter_next (&iter, NULL, &member))
          if (fuzz_json_holds_double (member))
            return TRUE;
        return FALSE;
      }
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        for (guint i = 0; i < json_array_get_length (array); i++)
          if (fuzz_json_holds_double (json_array_get_element (array, i)))
            return TRUE;
        return FALSE;
      }
    case JSON_NODE_VALUE:
      return json_node_get_value_type (node) == G_TYPE_DOUBLE;
    case JSON_NODE_NULL:
    default:
      return FALSE;
    }
}

static inline gboolean
fuzz_json_object_holds_double (JsonObject *object)
{
  g_autoptr (JsonNode) node = json_node_init_object (json_node_alloc (), object);

  return fuzz_json_holds_double (node);
}
