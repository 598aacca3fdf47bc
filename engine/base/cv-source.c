/* cv-source.c: the two GSource chores the engine's I/O code repeats. */
#include "base/cv-source.h"

/**
 * cv_source_clear:
 * @source: (inout) (nullable): a source of ours, or %NULL
 *
 * Destroys it and drops our reference.  Not g_source_remove(): that looks in the
 * global default context, and ours may be another thread's.
 */
void
cv_source_clear (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

/**
 * cv_source_attach_io:
 *
 * Attaches a source that watches a descriptor and is never dispatched recursively.
 * It is marked as allowed to recurse all the same: GLib "blocks" a source that may not
 * around every dispatch by taking its descriptors out of the context and putting them
 * back, and each of those writes the context's eventfd, which the next poll reads
 * back: three system calls and a loop turn per wake-up (strace in
 * tests/bench/CHAINS.md).
 */
void
cv_source_attach_io (GSource *source, const char *static_name, GMainContext *context)
{
  g_source_set_static_name (source, static_name);
  g_source_set_can_recurse (source, TRUE);
  g_source_attach (source, context);
}
