/* test-code-dialog.c: "Connect with a Code" end to end — the app's window and its dialog
 * under Xvfb, a real culvert-cli gateway with codes and real culvert-cli share --code
 * peers.  No gateway set: said, with Preferences.  The right code typed digit by digit is
 * formatted as typed; the numbers shown are the share's, the service is listed by name;
 * Connect carries the data service's bytes intact through the mapped port, Disconnect
 * closes it.  A denial shows "They declined."; a wrong code its burned explanation and Try
 * Another Code.  A screenshot of every screen. */
#include "cv-version.h"

#include <adwaita.h>
#include <signal.h>
#include <string.h>

#include "cv-application.h"
#include "cv-code-dialog.h"
#include "cv-gui-e2e-codes.h"
#include "cv-gui-test-app.h"
#include "cv-gui-test-util.h"
#include "cv-service-link.h"
#include "cv-settings.h"
#include "cv-window.h"

#define DATA_SIZE (1024 * 1024)

static gboolean
dialog_shown (gpointer data)
{
  return cv_gui_find_toplevel (CV_TYPE_CODE_DIALOG) != NULL;
}

typedef struct {
  GtkStack *stack;
  const char *page;
} PageWait;

static gboolean
page_shown (gpointer data)
{
  PageWait *wait = data;

  return g_strcmp0 (gtk_stack_get_visible_child_name (wait->stack), wait->page) == 0;
}

static void
wait_for_page (GtkWindow *dialog, const char *page)
{
  PageWait wait = { cv_gui_test_child (dialog, CV_TYPE_CODE_DIALOG, "stack"), page };
  g_autofree char *what = g_strdup_printf ("the dialog's “%s” page", page);

  cv_gui_wait_until (page_shown, &wait, what);
}

static void
click (GtkWindow *dialog, const char *name)
{
  GtkWidget *button = cv_gui_test_child (dialog, CV_TYPE_CODE_DIALOG, name);

  g_assert_true (gtk_widget_get_sensitive (button));
  g_signal_emit_by_name (button, "clicked");
}

static void
screenshot (GtkWindow *dialog, const char *name)
{
  cv_gui_spin (200);
  cv_gui_wait_for_draw (GTK_WIDGET (dialog));
  g_free (cv_gui_screenshot (GTK_WIDGET (dialog), name));
}

/* The code as a person types it: one digit at a time, the dialog formatting as it goes. */
static void
type_code (GtkWindow *dialog, const char *code)
{
  GtkEditable *row = cv_gui_test_child (dialog, CV_TYPE_CODE_DIALOG, "code_row");

  gtk_editable_set_text (row, "");
  for (const char *p = code; *p != '\0'; p++)
    if (g_ascii_isdigit (*p))
      {
        g_autofree char *longer = g_strdup_printf ("%s%c", gtk_editable_get_text (row), *p);

        gtk_editable_set_text (row, longer);
      }
  g_assert_cmpstr (gtk_editable_get_text (row), ==, code);
  /* The cursor follows the digits, past every hyphen put in. */
  cv_gui_spin (50);
  g_assert_cmpint (gtk_editable_get_position (row), ==, (int) strlen (code));
}

static const char *
failed_title (GtkWindow *dialog)
{
  return adw_status_page_get_title (cv_gui_test_child (dialog, CV_TYPE_CODE_DIALOG, "failed_page"));
}

static const char *
failed_description (GtkWindow *dialog)
{
  return adw_status_page_get_description (
    cv_gui_test_child (dialog, CV_TYPE_CODE_DIALOG, "failed_page"));
}

/* What the fake vncviewer wrote: one line of arguments per start. */
static guint
count_viewer_starts (const char *viewed)
{
  g_autofree char *path = g_build_filename (cv_e2e_dir (), "viewer.log", NULL);
  g_autofree char *text = NULL;
  guint n = 0;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  for (const char *p = strstr (text, viewed); p != NULL; p = strstr (p + 1, viewed))
    n++;
  return n;
}

static gboolean
viewer_started (gpointer data)
{
  return count_viewer_starts (data) >= 1;
}

static gboolean
viewer_started_twice (gpointer data)
{
  return count_viewer_starts (data) >= 2;
}

static gboolean
no_viewer_left (gpointer data)
{
  return cv_e2e_find_child ("sleep", NULL) == 0;
}

static void
test_code_dialog (void)
{
  g_autoptr (GSettings) settings = cv_settings_new ();
  g_autoptr (CvE2eGateway) gateway = cv_e2e_start_code_gateway (0);
  g_autoptr (CvApplication) app = NULL;
  g_autofree char *data_sha256 = NULL;
  g_autofree char *offer = NULL;
  g_autofree char *code = NULL;
  g_autofree char *denied_code = NULL;
  g_autofree char *wrong = NULL;
  g_autofree char *verification = NULL;
  g_autofree char *got_sha256 = NULL;
  g_autoptr (CvServiceLink) link = NULL;
  GtkEditable *code_row;
  GtkWindow *window, *dialog;
  GSubprocess *share, *denier, *burned;
  guint64 n_bytes = 0;
  guint16 port, data_port;
  gsize last;
  g_autofree char *vnc_offer = NULL;
  g_autofree char *vnc_code = NULL;
  g_autofree char *viewed = NULL;
  GSubprocess *vnc_share;

  data_port = cv_e2e_start_data_service (DATA_SIZE, &data_sha256);
  offer = g_strdup_printf ("data=127.0.0.1:%u", data_port);
  vnc_offer = g_strdup_printf ("vnc=127.0.0.1:%u", data_port);
  app = cv_gui_test_application_new ();
  g_application_activate (G_APPLICATION (app));
  window = gtk_application_get_active_window (GTK_APPLICATION (app));
  g_assert_true (CV_IS_WINDOW (window));
  cv_gui_wait_for_draw (GTK_WIDGET (window));

  /* From the window's action (the menu's item and the Share page's buttons). */
  gtk_widget_activate_action (GTK_WIDGET (window), "win.connect-code", NULL);
  cv_gui_wait_until (dialog_shown, NULL, "the Connect with a Code dialog");
  dialog = cv_gui_find_toplevel (CV_TYPE_CODE_DIALOG);
  code_row = cv_gui_test_child (dialog, CV_TYPE_CODE_DIALOG, "code_row");
  g_assert_false (
    gtk_widget_get_sensitive (cv_gui_test_child (dialog, CV_TYPE_CODE_DIALOG, "continue_button")));
  screenshot (dialog, "code-dialog-entry");

  /* Pasted with spaces and a stray letter: the digits only, grouped. */
  gtk_editable_set_text (code_row, " 482 91x3 557 ");
  g_assert_cmpstr (gtk_editable_get_text (code_row), ==, "482-913-557");

  /* No gateway set yet. */
  click (dialog, "continue_button");
  wait_for_page (dialog, "failed");
  g_assert_cmpstr (failed_title (dialog), ==, "No Gateway Set");
  g_assert_nonnull (strstr (failed_description (dialog), "Preferences"));
  g_assert_true (
    gtk_widget_get_visible (cv_gui_test_child (dialog, CV_TYPE_CODE_DIALOG, "preferences_button")));
  /* Reachable: the dialog is the application's. */
  g_assert_true (gtk_widget_get_sensitive (
    cv_gui_test_child (dialog, CV_TYPE_CODE_DIALOG, "preferences_button")));
  screenshot (dialog, "code-dialog-no-gateway");
  g_settings_set_string (settings, "code-gateway", gateway->address);
  g_settings_set_string (settings, "code-gateway-fingerprint", gateway->fingerprint);
  click (dialog, "try_another_button");
  wait_for_page (dialog, "entry");

  /* The right code. */
  share = cv_e2e_start_code_share (gateway, "share", offer, TRUE, &code);
  type_code (dialog, code);
  screenshot (dialog, "code-dialog-typed");
  click (dialog, "continue_button");
  wait_for_page (dialog, "confirmed");
  verification = cv_e2e_wait_for_log_match ("share", "Verification: ([0-9]{3} [0-9]{3})");
  g_assert_cmpstr (gtk_label_get_text (
                     cv_gui_test_child (dialog, CV_TYPE_CODE_DIALOG, "verification_label")),
                   ==, verification);
  g_assert_nonnull (
    cv_gui_find_widget (cv_gui_test_child (dialog, CV_TYPE_CODE_DIALOG, "offered_list"),
                        ADW_TYPE_ACTION_ROW, "data"));
  g_assert_null (strstr (cv_e2e_read_log ("share"), "asks for"));
  screenshot (dialog, "code-dialog-confirmed");

  click (dialog, "connect_button");
  wait_for_page (dialog, "connected");
  link = g_list_model_get_item (cv_code_connection_get_services (
                                  cv_code_dialog_get_connection (CV_CODE_DIALOG (dialog))),
                                0);
  port = cv_service_link_get_port (link);
  g_assert_cmpuint (port, !=, 0);
  got_sha256 = cv_e2e_fetch_sha256 (port, &n_bytes);
  g_assert_cmpuint (n_bytes, ==, DATA_SIZE);
  g_assert_cmpstr (got_sha256, ==, data_sha256);
  g_assert_nonnull (
    cv_gui_find_widget (cv_gui_test_child (dialog, CV_TYPE_CODE_DIALOG, "services_list"),
                        ADW_TYPE_ACTION_ROW, "data"));
  screenshot (dialog, "code-dialog-connected");
  click (dialog, "disconnect_button");
  wait_for_page (dialog, "entry");
  g_assert_true (cv_e2e_connect_refused (port));
  cv_e2e_stop (share);

  /* Their screen: the viewer opens by itself ("Open services when connected"), and again
   * with the row's Open; all of it ends when they stop sharing. */
  vnc_share = cv_e2e_start_code_share (gateway, "vnc-share", vnc_offer, TRUE, &vnc_code);
  type_code (dialog, vnc_code);
  click (dialog, "continue_button");
  wait_for_page (dialog, "confirmed");
  g_assert_nonnull (
    cv_gui_find_widget (cv_gui_test_child (dialog, CV_TYPE_CODE_DIALOG, "offered_list"),
                        ADW_TYPE_ACTION_ROW, "Screen sharing (VNC)"));
  click (dialog, "connect_button");
  wait_for_page (dialog, "connected");
  g_clear_object (&link);
  link = g_list_model_get_item (cv_code_connection_get_services (
                                  cv_code_dialog_get_connection (CV_CODE_DIALOG (dialog))),
                                0);
  port = cv_service_link_get_port (link);
  viewed = g_strdup_printf ("127.0.0.1::%u", port);
  cv_e2e_poll_until (viewer_started, (gpointer) viewed, "the viewer to be opened on connect");
  g_signal_emit_by_name (cv_gui_find_widget (cv_gui_test_child (dialog, CV_TYPE_CODE_DIALOG,
                                                                "services_list"),
                                             GTK_TYPE_BUTTON, "Open"),
                         "clicked");
  cv_e2e_poll_until (viewer_started_twice, (gpointer) viewed, "the viewer to be opened by Open");
  screenshot (dialog, "code-dialog-connected-screen");
  g_assert_cmpint (cv_e2e_find_child ("sleep", NULL), !=, 0);
  /* They stop sharing: the connection ends, says so, and the viewers go with it. */
  cv_e2e_stop (vnc_share);
  wait_for_page (dialog, "failed");
  g_assert_cmpstr (failed_title (dialog), ==, "Connection Ended");
  g_assert_nonnull (strstr (failed_description (dialog), "new code"));
  cv_e2e_poll_until (no_viewer_left, NULL, "the viewers to end with the connection");
  g_assert_true (cv_e2e_connect_refused (port));
  screenshot (dialog, "code-dialog-ended");
  click (dialog, "try_another_button");
  wait_for_page (dialog, "entry");

  /* The person sharing says no, after a while: stopped (SIGSTOP) while the dialog waits. */
  denier = cv_e2e_start_code_share (gateway, "denier", offer, FALSE, &denied_code);
  type_code (dialog, denied_code);
  click (dialog, "continue_button");
  wait_for_page (dialog, "confirmed");
  g_subprocess_send_signal (denier, SIGSTOP);
  click (dialog, "connect_button");
  wait_for_page (dialog, "waiting");
  g_assert_cmpstr (adw_status_page_get_title (
                     cv_gui_test_child (dialog, CV_TYPE_CODE_DIALOG, "waiting_page")),
                   ==, "Waiting for Them to Accept…");
  screenshot (dialog, "code-dialog-waiting");
  g_subprocess_send_signal (denier, SIGCONT);
  wait_for_page (dialog, "failed");
  g_assert_cmpstr (failed_title (dialog), ==, "Not Accepted");
  g_assert_true (g_str_has_prefix (failed_description (dialog), "They declined."));
  screenshot (dialog, "code-dialog-declined");
  cv_e2e_stop (denier);

  /* A wrong code: burned, and what to do. */
  click (dialog, "try_another_button");
  wait_for_page (dialog, "entry");
  burned = cv_e2e_start_code_share (gateway, "burned", offer, TRUE, &wrong);
  last = strlen (wrong) - 1;
  wrong[last] = wrong[last] == '9' ? '0' : wrong[last] + 1;
  type_code (dialog, wrong);
  /* The share agent held (SIGSTOP) while the code is checked. */
  g_subprocess_send_signal (burned, SIGSTOP);
  click (dialog, "continue_button");
  wait_for_page (dialog, "waiting");
  cv_gui_spin (300);
  g_assert_cmpstr (adw_status_page_get_title (
                     cv_gui_test_child (dialog, CV_TYPE_CODE_DIALOG, "waiting_page")),
                   ==, "Checking the Code…");
  screenshot (dialog, "code-dialog-checking");
  g_subprocess_send_signal (burned, SIGCONT);
  wait_for_page (dialog, "failed");
  g_assert_cmpstr (failed_title (dialog), ==, "Code Not Accepted");
  g_assert_nonnull (strstr (failed_description (dialog), "Ask the person sharing for a new code"));
  g_assert_false (
    gtk_widget_get_visible (cv_gui_test_child (dialog, CV_TYPE_CODE_DIALOG, "preferences_button")));
  screenshot (dialog, "code-dialog-burned");
  click (dialog, "try_another_button");
  wait_for_page (dialog, "entry");
  g_assert_cmpstr (gtk_editable_get_text (code_row), ==, "");
  cv_e2e_stop (burned);

  gtk_window_close (dialog);
  gtk_window_close (window);
  cv_gui_spin (100);
}

int
main (int argc, char *argv[])
{
  g_autofree char *system_path = g_strdup (g_getenv ("PATH"));
  g_autofree char *viewer = NULL;
  char *dir;
  int status;

  dir = cv_gui_test_app_init (&argc, &argv);
  cv_e2e_init (dir, system_path);
  /* The app finds "vncviewer" on PATH (the test's own bin/): it notes how it was started
   * and stays, as a viewer does, until the service is disconnected. */
  viewer = g_strdup_printf ("echo \"$@\" >> '%s/viewer.log'\nexec /bin/sleep 60", dir);
  cv_gui_test_add_program (dir, "vncviewer", viewer);
  g_test_add_func ("/gui/code-dialog", test_code_dialog);
  status = g_test_run ();
  cv_e2e_kill_all ();
  return cv_gui_test_app_finish (dir, status);
}
