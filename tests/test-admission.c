/* test-admission.c: the gateway's count of unauthenticated connections, overall and per
 * address; and the key of an address that every per-address limit uses. */
#include "auth/cv-admission.h"
#include "auth/cv-source-key.h"

#include <gio/gio.h>

static GInetAddress *
parse (const char *text)
{
  GInetAddress *address = g_inet_address_new_from_string (text);

  g_assert_nonnull (address);
  return address;
}

/* Takes a slot that must be granted. */
static CvAdmissionSlot *
take (CvAdmission *admission, const char *text)
{
  g_autoptr (GInetAddress) address = parse (text);
  g_autoptr (GError) error = NULL;
  CvAdmissionSlot *slot = cv_admission_take (admission, address, &error);

  g_assert_no_error (error);
  g_assert_nonnull (slot);
  return slot;
}

/* Asks for a slot that must be refused, with exactly @message. */
static void
assert_refused (CvAdmission *admission, const char *text, const char *message)
{
  g_autoptr (GInetAddress) address = parse (text);
  g_autoptr (GError) error = NULL;
  CvAdmissionSlot *slot = cv_admission_take (admission, address, &error);

  g_assert_null (slot);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_assert_cmpstr (error->message, ==, message);
}

static void
test_global_cap (void)
{
  g_autoptr (CvAdmission) admission = cv_admission_new (3, 3);
  CvAdmissionSlot *slots[3];

  slots[0] = take (admission, "192.0.2.1");
  slots[1] = take (admission, "192.0.2.2");
  slots[2] = take (admission, "2001:db8::1");
  g_assert_cmpuint (cv_admission_get_n_pending (admission), ==, 3);

  /* A fresh address changes nothing: the overall cap is reached. */
  assert_refused (admission, "192.0.2.4", "3 connections are still unauthenticated (limit 3)");
  g_assert_cmpuint (cv_admission_get_n_pending (admission), ==, 3);

  for (guint i = 0; i < G_N_ELEMENTS (slots); i++)
    cv_admission_slot_release (slots[i]);
  g_assert_cmpuint (cv_admission_get_n_pending (admission), ==, 0);
}

/* A quarter more slots for sources that have logged in: when strangers from many
 * addresses hold every slot, an agent that was here before still gets in; a stranger
 * does not, and the reserve is bounded too. */
static void
test_reserve_for_known (void)
{
  g_autoptr (CvAdmission) admission = cv_admission_new (8, 8);
  g_autoptr (GInetAddress) known = parse ("198.51.100.7");
  g_autoptr (GInetAddress) known_v6 = parse ("2001:db8:1::1");
  CvAdmissionSlot *slots[8];
  CvAdmissionSlot *reserved[2];

  for (guint i = 0; i < G_N_ELEMENTS (slots); i++)
    {
      g_autofree char *text = g_strdup_printf ("192.0.2.%u", i + 1);

      slots[i] = take (admission, text);
    }
  assert_refused (admission, "198.51.100.7", "8 connections are still unauthenticated (limit 8)");

  cv_admission_remember (admission, known);
  cv_admission_remember (admission, known_v6);
  reserved[0] = take (admission, "198.51.100.7");
  /* Another address of the same /64 is the same source. */
  reserved[1] = take (admission, "2001:db8:1::2");
  g_assert_cmpuint (cv_admission_get_n_pending (admission), ==, 10);
  /* 8 / 4 = 2 reserved: the next one, known or not, waits. */
  assert_refused (admission, "198.51.100.7", "8 connections are still unauthenticated (limit 8)");
  assert_refused (admission, "192.0.2.200", "8 connections are still unauthenticated (limit 8)");

  /* A reserved slot given back is one reserved slot free, not an ordinary one. */
  cv_admission_slot_release (reserved[0]);
  assert_refused (admission, "192.0.2.200", "8 connections are still unauthenticated (limit 8)");
  reserved[0] = take (admission, "198.51.100.7");

  for (guint i = 0; i < G_N_ELEMENTS (slots); i++)
    cv_admission_slot_release (slots[i]);
  cv_admission_slot_release (reserved[0]);
  cv_admission_slot_release (reserved[1]);
  g_assert_cmpuint (cv_admission_get_n_pending (admission), ==, 0);
}

static void
test_per_address_cap (void)
{
  g_autoptr (CvAdmission) admission = cv_admission_new (10, 2);
  CvAdmissionSlot *a1 = take (admission, "192.0.2.1");
  CvAdmissionSlot *a2 = take (admission, "192.0.2.1");
  CvAdmissionSlot *b1, *b2, *v6;

  assert_refused (admission, "192.0.2.1",
                  "2 unauthenticated connections from this address (limit 2)");
  /* Others are not locked out by the first address's share. */
  b1 = take (admission, "192.0.2.2");
  b2 = take (admission, "192.0.2.2");
  v6 = take (admission, "2001:db8::1");
  assert_refused (admission, "192.0.2.2",
                  "2 unauthenticated connections from this address (limit 2)");
  g_assert_cmpuint (cv_admission_get_n_pending (admission), ==, 5);

  cv_admission_slot_release (a1);
  cv_admission_slot_release (a2);
  cv_admission_slot_release (b1);
  cv_admission_slot_release (b2);
  cv_admission_slot_release (v6);
  g_assert_cmpuint (cv_admission_get_n_pending (admission), ==, 0);
}

/* An IPv6 client counts by its /64, and an IPv4 client that a dual-stack listener
 * sees as ::ffff:a.b.c.d counts as a.b.c.d: the same source as the limiter's. */
static void
test_per_address_groups_sources (void)
{
  g_autoptr (CvAdmission) admission = cv_admission_new (10, 2);
  CvAdmissionSlot *slots[6];

  slots[0] = take (admission, "2001:db8:1:2::1");
  slots[1] = take (admission, "2001:db8:1:2:ffff:ffff:ffff:ffff");
  assert_refused (admission, "2001:db8:1:2:abcd::9",
                  "2 unauthenticated connections from this address (limit 2)");
  /* The next /64 is another source. */
  slots[2] = take (admission, "2001:db8:1:3::1");
  slots[3] = take (admission, "192.0.2.1");
  slots[4] = take (admission, "::ffff:192.0.2.1");
  assert_refused (admission, "192.0.2.1",
                  "2 unauthenticated connections from this address (limit 2)");
  assert_refused (admission, "::ffff:192.0.2.1",
                  "2 unauthenticated connections from this address (limit 2)");
  slots[5] = take (admission, "2001:db8:1:3::2");

  for (guint i = 0; i < G_N_ELEMENTS (slots); i++)
    cv_admission_slot_release (slots[i]);
  g_assert_cmpuint (cv_admission_get_n_pending (admission), ==, 0);
  /* Released by source: every slot of the /64 came back. */
  slots[0] = take (admission, "2001:db8:1:2::7");
  slots[1] = take (admission, "2001:db8:1:2::8");
  cv_admission_slot_release (slots[0]);
  cv_admission_slot_release (slots[1]);
}

static void
assert_key (const char *text, const char *expected)
{
  g_autoptr (GInetAddress) address = parse (text);
  CvSourceKey key;
  g_autofree char *got = NULL;

  cv_source_key_init (&key, address);
  got = cv_source_key_to_string (&key);
  g_assert_cmpstr (got, ==, expected);
}

static gboolean
same_source (const char *a, const char *b)
{
  g_autoptr (GInetAddress) address_a = parse (a);
  g_autoptr (GInetAddress) address_b = parse (b);
  CvSourceKey key_a, key_b;

  cv_source_key_init (&key_a, address_a);
  cv_source_key_init (&key_b, address_b);
  if (cv_source_key_equal (&key_a, &key_b))
    g_assert_cmpuint (cv_source_key_hash (&key_a), ==, cv_source_key_hash (&key_b));
  return cv_source_key_equal (&key_a, &key_b);
}

static void
test_source_key (void)
{
  assert_key ("192.0.2.1", "192.0.2.1");
  assert_key ("::ffff:192.0.2.1", "192.0.2.1");
  assert_key ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64");
  assert_key ("::1", "::/64");
  assert_key ("fe80::1", "fe80::/64");

  g_assert_true (same_source ("2001:db8:1:2::1", "2001:db8:1:2:ffff::1"));
  g_assert_false (same_source ("2001:db8:1:2::1", "2001:db8:1:3::1"));
  g_assert_true (same_source ("192.0.2.1", "::ffff:192.0.2.1"));
  g_assert_false (same_source ("192.0.2.1", "192.0.2.2"));
  /* An IPv4 address is not the IPv6 /64 that starts with the same bytes. */
  g_assert_false (same_source ("192.0.2.1", "c000:201::"));
  /* Only the mapped form is IPv4; the old compatible form ::a.b.c.d is ::/64. */
  g_assert_false (same_source ("192.0.2.1", "::192.0.2.1"));
}

/* A released slot can be taken again, by its address and by anyone; many rounds
 * show the counts do not drift. */
static void
test_release_frees_slot (void)
{
  g_autoptr (CvAdmission) admission = cv_admission_new (2, 1);
  CvAdmissionSlot *a = take (admission, "192.0.2.1");
  CvAdmissionSlot *b = take (admission, "192.0.2.2");

  assert_refused (admission, "192.0.2.1", "2 connections are still unauthenticated (limit 2)");
  for (guint round = 0; round < 100; round++)
    {
      cv_admission_slot_release (a);
      g_assert_cmpuint (cv_admission_get_n_pending (admission), ==, 1);
      a = take (admission, "192.0.2.1");
      g_assert_cmpuint (cv_admission_get_n_pending (admission), ==, 2);
    }

  /* The last slot of an address is forgotten with it: a new address takes its place. */
  cv_admission_slot_release (b);
  b = take (admission, "192.0.2.3");
  assert_refused (admission, "192.0.2.2", "2 connections are still unauthenticated (limit 2)");
  cv_admission_slot_release (a);
  cv_admission_slot_release (b);
  g_assert_cmpuint (cv_admission_get_n_pending (admission), ==, 0);

  /* Releasing nothing is allowed, as g_clear_pointer() does it. */
  cv_admission_slot_release (NULL);
  g_assert_cmpuint (cv_admission_get_n_pending (admission), ==, 0);
}

/* Slots outlive the gateway's reference: a connection still in its TLS handshake
 * when the gateway is disposed gives its slot back later.  (Run under
 * -Db_sanitize=address, a missing reference is a use after free here.) */
static void
test_release_after_owner_unref (void)
{
  CvAdmission *admission = cv_admission_new (4, 2);
  CvAdmission *extra;
  CvAdmissionSlot *slots[3];

  slots[0] = take (admission, "192.0.2.1");
  slots[1] = take (admission, "192.0.2.1");
  slots[2] = take (admission, "192.0.2.2");
  cv_admission_unref (admission);

  cv_admission_slot_release (slots[1]);
  cv_admission_slot_release (slots[0]);
  cv_admission_slot_release (slots[2]);

  /* ref/unref pair up the same way for any other holder. */
  admission = cv_admission_new (1, 1);
  extra = cv_admission_ref (admission);
  g_assert_true (extra == admission);
  cv_admission_unref (admission);
  g_assert_cmpuint (cv_admission_get_n_pending (extra), ==, 0);
  cv_admission_unref (extra);
}

static void
test_set_limits (void)
{
  g_autoptr (CvAdmission) admission = cv_admission_new (1, 1);
  CvAdmissionSlot *a = take (admission, "192.0.2.1");
  CvAdmissionSlot *b, *a2, *c;

  assert_refused (admission, "192.0.2.2", "1 connections are still unauthenticated (limit 1)");

  /* Raised: the next take sees the new caps at once. */
  cv_admission_set_limits (admission, 4, 2);
  b = take (admission, "192.0.2.2");
  a2 = take (admission, "192.0.2.1");
  assert_refused (admission, "192.0.2.1",
                  "2 unauthenticated connections from this address (limit 2)");
  c = take (admission, "192.0.2.3");
  assert_refused (admission, "192.0.2.4", "4 connections are still unauthenticated (limit 4)");

  /* Lowered below what is held: nothing is taken away, and nothing new is let in
   * until enough slots have come back. */
  cv_admission_set_limits (admission, 2, 1);
  g_assert_cmpuint (cv_admission_get_n_pending (admission), ==, 4);
  assert_refused (admission, "192.0.2.4", "4 connections are still unauthenticated (limit 2)");
  cv_admission_slot_release (c);
  cv_admission_slot_release (b);
  assert_refused (admission, "192.0.2.4", "2 connections are still unauthenticated (limit 2)");
  cv_admission_slot_release (a2);
  assert_refused (admission, "192.0.2.1",
                  "1 unauthenticated connections from this address (limit 1)");
  b = take (admission, "192.0.2.2");
  cv_admission_slot_release (a);
  cv_admission_slot_release (b);
  g_assert_cmpuint (cv_admission_get_n_pending (admission), ==, 0);
}

/* Zero would lock everyone out for good, and a per-address cap above the overall
 * one means nothing: both are clamped. */
static void
test_limits_clamped (void)
{
  g_autoptr (CvAdmission) admission = cv_admission_new (0, 0);
  CvAdmissionSlot *a = take (admission, "192.0.2.1");
  CvAdmissionSlot *b;

  assert_refused (admission, "192.0.2.2", "1 connections are still unauthenticated (limit 1)");
  cv_admission_slot_release (a);

  cv_admission_set_limits (admission, 2, 0);
  a = take (admission, "192.0.2.1");
  assert_refused (admission, "192.0.2.1",
                  "1 unauthenticated connections from this address (limit 1)");
  b = take (admission, "192.0.2.2");
  cv_admission_slot_release (a);
  cv_admission_slot_release (b);
}

/* Through a trusted proxy: the slot counts overall at once, and against its source
 * only once the proxy said whose it is; never against the proxy's own address. */
static void
test_unsourced (void)
{
  g_autoptr (CvAdmission) admission = cv_admission_new (4, 2);
  g_autoptr (GInetAddress) client = parse ("198.51.100.7");
  g_autoptr (GError) error = NULL;
  CvAdmissionSlot *proxied[3];
  CvAdmissionSlot *direct;

  /* More than the per-address cap of 2, all from the one proxy. */
  for (guint i = 0; i < G_N_ELEMENTS (proxied); i++)
    {
      proxied[i] = cv_admission_take_unsourced (admission, &error);
      g_assert_no_error (error);
      g_assert_nonnull (proxied[i]);
    }
  g_assert_cmpuint (cv_admission_get_n_pending (admission), ==, 3);

  /* Two of them turn out to be one client: its cap is reached by them... */
  g_assert_true (cv_admission_slot_set_source (proxied[0], client, &error));
  g_assert_no_error (error);
  g_assert_true (cv_admission_slot_set_source (proxied[1], client, &error));
  g_assert_false (cv_admission_slot_set_source (proxied[2], client, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_assert_cmpstr (error->message, ==, "2 unauthenticated connections from this address (limit 2)");
  g_clear_error (&error);
  assert_refused (admission, "198.51.100.7",
                  "2 unauthenticated connections from this address (limit 2)");

  /* ... and the overall one by all four. */
  direct = take (admission, "192.0.2.1");
  g_assert_null (cv_admission_take_unsourced (admission, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_clear_error (&error);

  for (guint i = 0; i < G_N_ELEMENTS (proxied); i++)
    cv_admission_slot_release (proxied[i]);
  cv_admission_slot_release (direct);
  g_assert_cmpuint (cv_admission_get_n_pending (admission), ==, 0);
  /* Every count went back: the client's cap is whole again. */
  proxied[0] = take (admission, "198.51.100.7");
  proxied[1] = take (admission, "198.51.100.7");
  cv_admission_slot_release (proxied[0]);
  cv_admission_slot_release (proxied[1]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/admission/global-cap", test_global_cap);
  g_test_add_func ("/admission/reserve-for-known", test_reserve_for_known);
  g_test_add_func ("/admission/per-address-cap", test_per_address_cap);
  g_test_add_func ("/admission/per-address-groups-sources", test_per_address_groups_sources);
  g_test_add_func ("/admission/source-key", test_source_key);
  g_test_add_func ("/admission/release-frees-slot", test_release_frees_slot);
  g_test_add_func ("/admission/release-after-owner-unref", test_release_after_owner_unref);
  g_test_add_func ("/admission/set-limits", test_set_limits);
  g_test_add_func ("/admission/limits-clamped", test_limits_clamped);
  g_test_add_func ("/admission/unsourced", test_unsourced);

  return g_test_run ();
}
