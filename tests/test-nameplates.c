/* test-nameplates.c: the gateway's nameplates (roles/cv-nameplates): allocation, growth
 * past half of a length, cooling, and the state file across a restart. */
#include "roles/cv-nameplates.h"

#include "cv-test-util.h"

#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>

#define COOLDOWN_MS 600000
#define T0 ((gint64) 1700000000 * G_USEC_PER_SEC)

static void
test_allocate_three_digits (void)
{
  g_autoptr (CvNameplates) plates = cv_nameplates_new (NULL, COOLDOWN_MS);
  g_autoptr (GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  /* Half of 100–999 is 450: all of them 3 digits, all different, all in use. */
  for (guint i = 0; i < 450; i++)
    {
      char *nameplate = cv_nameplates_allocate (plates, T0);

      g_assert_nonnull (nameplate);
      g_assert_cmpuint (strlen (nameplate), ==, 3);
      g_assert_cmpint (nameplate[0], !=, '0');
      g_assert_false (g_hash_table_contains (seen, nameplate));
      g_assert_cmpint (cv_nameplates_get_state (plates, nameplate, T0), ==, CV_NAMEPLATE_IN_USE);
      g_hash_table_add (seen, nameplate);
    }
  g_assert_cmpuint (cv_nameplates_count (plates, CV_NAMEPLATE_IN_USE, T0), ==, 450);
  /* More than half of the 3-digit ones would be taken: the next is 4 digits. */
  {
    g_autofree char *next = cv_nameplates_allocate (plates, T0);

    g_assert_cmpuint (strlen (next), ==, 4);
  }
}

/* Cooling counts as taken: a gateway whose 3-digit nameplates all cool grows too. */
static void
test_cooling_counts_for_growth (void)
{
  g_autoptr (CvNameplates) plates = cv_nameplates_new (NULL, COOLDOWN_MS);
  gint64 later = T0 + (gint64) COOLDOWN_MS * 1000;

  for (guint i = 0; i < 450; i++)
    {
      g_autofree char *nameplate = cv_nameplates_allocate (plates, T0);

      cv_nameplates_release (plates, nameplate, T0);
      g_assert_cmpint (cv_nameplates_get_state (plates, nameplate, T0), ==, CV_NAMEPLATE_COOLING);
      g_assert_cmpint (cv_nameplates_get_state (plates, nameplate, later - 1), ==,
                       CV_NAMEPLATE_COOLING);
      g_assert_cmpint (cv_nameplates_get_state (plates, nameplate, later), ==, CV_NAMEPLATE_FREE);
    }
  g_assert_cmpuint (cv_nameplates_count (plates, CV_NAMEPLATE_COOLING, T0), ==, 450);
  {
    g_autofree char *grown = cv_nameplates_allocate (plates, T0);
    /* Once they have cooled, 3 digits again. */
    g_autofree char *short_again = cv_nameplates_allocate (plates, later);

    g_assert_cmpuint (strlen (grown), ==, 4);
    g_assert_cmpuint (strlen (short_again), ==, 3);
  }
}

/* A cooling nameplate is never handed out: with 449 of the 900 cooling and one in use,
 * many draws never return a cooling one. */
static void
test_cooling_not_reused (void)
{
  g_autoptr (CvNameplates) plates = cv_nameplates_new (NULL, COOLDOWN_MS);
  g_autoptr (GPtrArray) cooling = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < 449; i++)
    {
      char *nameplate = cv_nameplates_allocate (plates, T0);

      cv_nameplates_release (plates, nameplate, T0);
      g_ptr_array_add (cooling, nameplate);
    }
  for (guint i = 0; i < 200; i++)
    {
      g_autofree char *nameplate = cv_nameplates_allocate (plates, T0 + 1);

      g_assert_cmpuint (strlen (nameplate), ==, 3);
      for (guint j = 0; j < cooling->len; j++)
        g_assert_cmpstr (nameplate, !=, cooling->pdata[j]);
      cv_nameplates_release (plates, nameplate, T0 + 1);
      g_ptr_array_add (cooling, g_strdup (nameplate));
      if (cooling->len >= 449 + 1)
        break; /* half are taken now */
    }
}

static void
test_persistence (void)
{
  g_autofree char *dir = g_dir_make_tmp ("culvert-nameplates-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "nameplates.json", NULL);
  g_autofree char *in_use = NULL;
  g_autofree char *cooling = NULL;
  g_autofree char *cooled = NULL;
  gint64 restart = T0 + 60 * G_USEC_PER_SEC;
  GStatBuf st;

  {
    g_autoptr (CvNameplates) plates = cv_nameplates_new (file, COOLDOWN_MS);

    g_assert_true (cv_nameplates_load (plates, T0, NULL)); /* no file yet */
    in_use = cv_nameplates_allocate (plates, T0);
    cooling = cv_nameplates_allocate (plates, T0);
    cooled = cv_nameplates_allocate (plates, T0 - (gint64) COOLDOWN_MS * 1000);
    cv_nameplates_release (plates, cooling, T0);
    /* Let go so long ago that it has cooled by the restart. */
    cv_nameplates_release (plates, cooled, T0 - (gint64) COOLDOWN_MS * 1000);
  }
  g_assert_cmpint (g_stat (file, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  {
    g_autoptr (CvNameplates) plates = cv_nameplates_new (file, COOLDOWN_MS);
    g_autoptr (GError) error = NULL;

    g_assert_true (cv_nameplates_load (plates, restart, &error));
    g_assert_no_error (error);
    /* The one in use comes back cooling, from the restart on: no code revives. */
    g_assert_cmpint (cv_nameplates_get_state (plates, in_use, restart), ==, CV_NAMEPLATE_COOLING);
    g_assert_cmpint (cv_nameplates_get_state (plates, in_use,
                                              restart + (gint64) COOLDOWN_MS * 1000 - 1),
                     ==, CV_NAMEPLATE_COOLING);
    /* The cooling one keeps its time. */
    g_assert_cmpint (cv_nameplates_get_state (plates, cooling, restart), ==, CV_NAMEPLATE_COOLING);
    g_assert_cmpint (cv_nameplates_get_state (plates, cooling, T0 + (gint64) COOLDOWN_MS * 1000),
                     ==, CV_NAMEPLATE_FREE);
    g_assert_cmpint (cv_nameplates_get_state (plates, cooled, restart), ==, CV_NAMEPLATE_FREE);
    g_assert_cmpuint (cv_nameplates_count (plates, CV_NAMEPLATE_COOLING, restart), ==, 2);
    g_assert_cmpuint (cv_nameplates_count (plates, CV_NAMEPLATE_IN_USE, restart), ==, 0);
  }
  g_assert_cmpint (g_stat (file, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);
  cv_test_remove_tree (dir);
}

static void
test_bad_state_file (void)
{
  g_autofree char *dir = g_dir_make_tmp ("culvert-nameplates-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (dir, "nameplates.json", NULL);
  static const char *const bad[] = { "[]", "{\"nameplates\":[{\"nameplate\":\"12\"}]}", "{" };

  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr (CvNameplates) plates = cv_nameplates_new (file, COOLDOWN_MS);
      g_autoptr (GError) error = NULL;

      g_assert_true (g_file_set_contents (file, bad[i], -1, NULL));
      g_assert_false (cv_nameplates_load (plates, T0, &error));
      g_assert_nonnull (error);
    }
  cv_test_remove_tree (dir);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/nameplates/allocate-three-digits", test_allocate_three_digits);
  g_test_add_func ("/nameplates/cooling-counts-for-growth", test_cooling_counts_for_growth);
  g_test_add_func ("/nameplates/cooling-not-reused", test_cooling_not_reused);
  g_test_add_func ("/nameplates/persistence", test_persistence);
  g_test_add_func ("/nameplates/bad-state-file", test_bad_state_file);
  return g_test_run ();
}
