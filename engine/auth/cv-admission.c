/* cv-admission.c: how many connections may be unauthenticated at once, overall and per
 * source address.
 *
 * A connection takes a slot when it arrives and gives it back when it is welcomed or
 * closed, whichever stage it is in then (peeking at its first byte, the TLS
 * handshake, waiting for HELLO, the password check).  Whoever holds the slot releases
 * it, exactly once, so the counts cannot drift.  The per-address cap keeps one
 * client from taking every slot and locking everyone else out; an IPv6 client counts
 * by its /64, as for the other per-address limits.
 *
 * Many addresses can still fill every slot, with slow handshakes renewed before their
 * deadline (tests/bench/ATTACKS.md: 100 addresses, 26 connections a second, kept every
 * new login out).  So a quarter more slots are kept for sources that have logged in
 * within a day: when the others are full, an agent that was here before still gets in,
 * and only sources a stranger cannot choose (an address of a successful login) use
 * them. */
#include "auth/cv-admission.h"

#include "auth/cv-source-key.h"

/* Sources remembered for the reserve: bounded, the oldest forgotten first. */
#define MAX_KNOWN 4096
#define KNOWN_FOR_US (24 * G_TIME_SPAN_HOUR)

struct _CvAdmission {
  guint max_pending;
  guint max_per_address;
  guint n_pending;
  guint n_reserved;        /* slots taken from the reserve */
  GHashTable *per_address; /* CvSourceKey → count */
  GHashTable *known;       /* CvSourceKey → gint64 *, its last login (monotonic µs) */
};

struct _CvAdmissionSlot {
  CvAdmission *admission;
  CvSourceKey source;
  gboolean has_source; /* FALSE until cv_admission_slot_set_source() for an unsourced one */
  gboolean reserved;
};

static void
admission_clear (gpointer data)
{
  CvAdmission *admission = data;

  g_hash_table_unref (admission->per_address);
  g_hash_table_unref (admission->known);
}

CvAdmission *
cv_admission_new (guint max_pending, guint max_per_address)
{
  CvAdmission *admission = g_rc_box_new0 (CvAdmission);

  admission->per_address = cv_source_key_table_new (NULL);
  admission->known = cv_source_key_table_new (g_free);
  cv_admission_set_limits (admission, max_pending, max_per_address);
  return admission;
}

CvAdmission *
cv_admission_ref (CvAdmission *admission)
{
  return g_rc_box_acquire (admission);
}

void
cv_admission_unref (CvAdmission *admission)
{
  g_rc_box_release_full (admission, admission_clear);
}

void
cv_admission_set_limits (CvAdmission *admission, guint max_pending, guint max_per_address)
{
  admission->max_pending = MAX (max_pending, 1);
  admission->max_per_address = CLAMP (max_per_address, 1, admission->max_pending);
}

guint
cv_admission_get_n_pending (CvAdmission *admission)
{
  return admission->n_pending + admission->n_reserved;
}

static guint
reserve_size (CvAdmission *admission)
{
  return MAX (admission->max_pending / 4, 1);
}

static gboolean
is_known (CvAdmission *admission, const CvSourceKey *source)
{
  gint64 *last = g_hash_table_lookup (admission->known, source);

  return last != NULL && g_get_monotonic_time () - *last <= KNOWN_FOR_US;
}

/**
 * cv_admission_remember:
 * @address: where an agent logged in from
 *
 * Its source may use the reserved slots for a day.
 */
void
cv_admission_remember (CvAdmission *admission, GInetAddress *address)
{
  CvSourceKey source;
  gint64 *when = g_new (gint64, 1);

  cv_source_key_init (&source, address);
  if (g_hash_table_size (admission->known) >= MAX_KNOWN
      && !g_hash_table_contains (admission->known, &source))
    {
      GHashTableIter iter;
      gpointer key, value, oldest = NULL;
      gint64 oldest_us = G_MAXINT64;

      g_hash_table_iter_init (&iter, admission->known);
      while (g_hash_table_iter_next (&iter, &key, &value))
        if (*(gint64 *) value < oldest_us)
          {
            oldest_us = *(gint64 *) value;
            oldest = key;
          }
      g_hash_table_remove (admission->known, oldest);
    }
  *when = g_get_monotonic_time ();
  g_hash_table_replace (admission->known, g_memdup2 (&source, sizeof source), when);
}

/* The overall limit, with the reserve for @source if it is known (NULL: it is not). */
static gboolean
check_overall (CvAdmission *admission, const CvSourceKey *source, GError **error)
{
  if (admission->n_pending >= admission->max_pending
      && (admission->n_reserved >= reserve_size (admission) || source == NULL
          || !is_known (admission, source)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                   "%u connections are still unauthenticated (limit %u)", admission->n_pending,
                   admission->max_pending);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_per_address (CvAdmission *admission, const CvSourceKey *source, GError **error)
{
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (admission->per_address, source));

  if (count >= admission->max_per_address)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                   "%u unauthenticated connections from this address (limit %u)", count,
                   admission->max_per_address);
      return FALSE;
    }
  return TRUE;
}

static void
count_source (CvAdmissionSlot *slot, const CvSourceKey *source)
{
  CvAdmission *admission = slot->admission;
  guint count = GPOINTER_TO_UINT (g_hash_table_lookup (admission->per_address, source));

  g_hash_table_insert (admission->per_address, g_memdup2 (source, sizeof *source),
                       GUINT_TO_POINTER (count + 1));
  slot->source = *source;
  slot->has_source = TRUE;
}

static CvAdmissionSlot *
slot_new (CvAdmission *admission)
{
  CvAdmissionSlot *slot = g_new0 (CvAdmissionSlot, 1);

  slot->reserved = admission->n_pending >= admission->max_pending;
  if (slot->reserved)
    admission->n_reserved++;
  else
    admission->n_pending++;
  slot->admission = cv_admission_ref (admission);
  return slot;
}

/* Returns: (nullable): a slot, or NULL with @error naming the limit reached */
CvAdmissionSlot *
cv_admission_take (CvAdmission *admission, GInetAddress *address, GError **error)
{
  CvSourceKey source;
  CvAdmissionSlot *slot;

  cv_source_key_init (&source, address);
  if (!check_overall (admission, &source, error) || !check_per_address (admission, &source, error))
    return NULL;
  slot = slot_new (admission);
  count_source (slot, &source);
  return slot;
}

/**
 * cv_admission_take_unsourced:
 *
 * A slot for a connection that comes through a proxy the gateway trusts to say whose it
 * is: counted against the overall limit now, and against its source's once it is told
 * (cv_admission_slot_set_source()), not against the proxy's address, which all of
 * them share.  The reserve is not for it: the proxy never logged in.
 *
 * Returns: (nullable): a slot, or NULL with @error naming the limit reached
 */
CvAdmissionSlot *
cv_admission_take_unsourced (CvAdmission *admission, GError **error)
{
  if (!check_overall (admission, NULL, error))
    return NULL;
  return slot_new (admission);
}

/**
 * cv_admission_slot_set_source:
 * @slot: a slot from cv_admission_take_unsourced(), its source not told yet
 *
 * Returns: %FALSE with @error set if @address has its most already; the slot then
 *   still counts overall, until released
 */
gboolean
cv_admission_slot_set_source (CvAdmissionSlot *slot, GInetAddress *address, GError **error)
{
  CvSourceKey source;

  g_return_val_if_fail (slot != NULL && !slot->has_source, FALSE);

  cv_source_key_init (&source, address);
  if (!check_per_address (slot->admission, &source, error))
    return FALSE;
  count_source (slot, &source);
  return TRUE;
}

void
cv_admission_slot_release (CvAdmissionSlot *slot)
{
  CvAdmission *admission;
  guint count;

  if (slot == NULL)
    return;
  admission = slot->admission;
  count = GPOINTER_TO_UINT (g_hash_table_lookup (admission->per_address, &slot->source));
  if (!slot->has_source)
    ; /* counted overall only */
  else if (count <= 1)
    g_hash_table_remove (admission->per_address, &slot->source);
  else
    g_hash_table_replace (admission->per_address, g_memdup2 (&slot->source, sizeof slot->source),
                          GUINT_TO_POINTER (count - 1));
  if (slot->reserved)
    admission->n_reserved--;
  else
    admission->n_pending--;
  cv_admission_unref (admission);
  g_free (slot);
}
