/* cv-admission.c: how many connections may be unauthenticated at once, overall and per
 * source address.
 *
 * A connection takes a slot when it arrives and gives it back when it is welcomed or
 * closed, whichever stage it is in then (peeking at its first byte, the TLS
 * handshake, waiting for HELLO, the password check).  Whoever holds the slot releases
 * it, exactly once, so the counts cannot drift.  The per-address cap keeps one
 * client from taking every slot and locking everyone else out; an IPv6 client counts
 * by its /64, as for the other per-address limits. */
#include "auth/cv-admission.h"

#include "auth/cv-source-key.h"

struct _CvAdmission {
  guint max_pending;
  guint max_per_address;
  guint n_pending;
  GHashTable *per_address; /* CvSourceKey → count */
};

struct _CvAdmissionSlot {
  CvAdmission *admission;
  CvSourceKey source;
};

static void
admission_clear (gpointer data)
{
  CvAdmission *admission = data;

  g_hash_table_unref (admission->per_address);
}

CvAdmission *
cv_admission_new (guint max_pending, guint max_per_address)
{
  CvAdmission *admission = g_rc_box_new0 (CvAdmission);

  admission->per_address = cv_source_key_table_new (NULL);
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
  return admission->n_pending;
}

/* Returns: (nullable): a slot, or NULL with @error naming the limit reached */
CvAdmissionSlot *
cv_admission_take (CvAdmission *admission, GInetAddress *address, GError **error)
{
  CvSourceKey source;
  guint count;
  CvAdmissionSlot *slot;

  cv_source_key_init (&source, address);
  count = GPOINTER_TO_UINT (g_hash_table_lookup (admission->per_address, &source));
  if (admission->n_pending >= admission->max_pending)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                   "%u connections are still unauthenticated (limit %u)", admission->n_pending,
                   admission->max_pending);
      return NULL;
    }
  if (count >= admission->max_per_address)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_BUSY,
                   "%u unauthenticated connections from this address (limit %u)", count,
                   admission->max_per_address);
      return NULL;
    }
  admission->n_pending++;
  g_hash_table_insert (admission->per_address, g_memdup2 (&source, sizeof source),
                       GUINT_TO_POINTER (count + 1));
  slot = g_new0 (CvAdmissionSlot, 1);
  slot->admission = cv_admission_ref (admission);
  slot->source = source;
  return slot;
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
  if (count <= 1)
    g_hash_table_remove (admission->per_address, &slot->source);
  else
    g_hash_table_replace (admission->per_address, g_memdup2 (&slot->source, sizeof slot->source),
                          GUINT_TO_POINTER (count - 1));
  admission->n_pending--;
  cv_admission_unref (admission);
  g_free (slot);
}
