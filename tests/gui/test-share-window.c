/* test-share-window.c: "Share this computer" end to end — the app's window under Xvfb, a
 * real culvert-cli gateway with codes, a real data service offered as the VNC preset (moved
 * by CULVERT_SHARE_PRESET_PORTS) or as a custom port, and the helper a real culvert-cli
 * connect --code.  No gateway: said, with a way to fix it.  The code shown is the one that
 * works; the consent dialog names the helper, the service in words and the verification the
 * helper's side prints; Allow carries the service's bytes intact and shows the bar, the title
 * and the notification; Stop ends the open channel, takes them away and kills the code at
 * the gateway.  Deny: the helper is told, the service never reached.  A wrong code: the
 * page warns, Get a New Code gives another.  Closing while shared asks first.  A screenshot
 * of every screen. */
#include "cv-version.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>

#include "cv-app-error.h"
#include "cv-application.h"
#include "cv-consent-dialog.h"
#include "cv-gui-e2e-codes.h"
#include "cv-gui-test-app.h"
#include "cv-gui-test-util.h"
#include "cv-settings.h"
#include "cv-share-page.h"
#include "cv-share-service-row.h"
#include "cv-window.h"

/* More than loopback's buffers and the tunnel's windows hold: a connection nobody reads
 * stays open, stalled, until something closes it. */
#define DATA_SIZE (24 * 1024 * 1024)
#define HELPER "Alex Moreau"

typedef struct {
  CvE2eGateway *gateway;
  CvApplication *app;
  GtkWindow *window;
  CvSharePage *page;
  char *code;
} Share;

static void
screenshot (GtkWindow *window, const char *name)
{
  cv_gui_spin (200);
  cv_gui_wait_for_draw (GTK_WIDGET (window));
  g_free (cv_gui_screenshot (GTK_WIDGET (window), name));
}

static gpointer
child (Share *share, const char *name)
{
  return cv_gui_test_child (share->page, CV_TYPE_SHARE_PAGE, name);
}

static void
click (GtkWidget *button)
{
  g_assert_true (gtk_widget_is_sensitive (button));
  g_signal_emit_by_name (button, "clicked");
}

/* The app with @preset_ports in CULVERT_SHARE_PRESET_PORTS, its window on the Share page;
 * the gateway set in the preferences unless @with_gateway is FALSE. */
static void
share_start (Share *share, const char *preset_ports, gboolean with_gateway)
{
  g_autoptr (GSettings) settings = cv_settings_new ();

  share->gateway = cv_e2e_start_code_gateway (0);
  g_settings_set_string (settings, "share-gateway-address",
                         with_gateway ? share->gateway->address : "");
  g_settings_set_string (settings, "share-gateway-fingerprint",
                         with_gateway ? share->gateway->fingerprint : "");
  if (preset_ports != NULL)
    g_setenv ("CULVERT_SHARE_PRESET_PORTS", preset_ports, TRUE);
  else
    g_unsetenv ("CULVERT_SHARE_PRESET_PORTS");

  share->app = cv_gui_test_application_new ();
  g_application_activate (G_APPLICATION (share->app));
  share->window = gtk_application_get_active_window (GTK_APPLICATION (share->app));
  g_assert_true (CV_IS_WINDOW (share->window));
  g_object_ref (share->window);
  gtk_window_set_default_size (share->window, 640, 760);
  cv_window_show_share (CV_WINDOW (share->window));
  share->page = cv_gui_test_child (share->window, CV_TYPE_WINDOW, "share_page");
  cv_gui_wait_for_draw (GTK_WIDGET (share->window));
}

static void
share_end (Share *share)
{
  if (share->window != NULL)
    {
      gpointer *alive = cv_gui_test_watch (share->window);

      gtk_window_destroy (share->window);
      g_object_unref (share->window);
      cv_gui_test_wait_destroyed (alive, "the window to go");
    }
  g_clear_object (&share->app);
  g_clear_pointer (&share->gateway, cv_e2e_gateway_free);
  g_clear_pointer (&share->code, g_free);
  g_unsetenv ("CULVERT_SHARE_PRESET_PORTS");
}

static gboolean
row_available (gpointer data)
{
  return g_strcmp0 (adw_action_row_get_subtitle (data), "available") == 0;
}

/* Ticks the row titled @title as a click on it would, once its service was found running. */
static void
tick_preset (Share *share, const char *title)
{
  GtkWidget *row = cv_gui_find_widget (GTK_WIDGET (share->page), CV_TYPE_SHARE_SERVICE_ROW, title);

  g_assert_nonnull (row);
  cv_gui_wait_until (row_available, row, "the preset found running");
  g_assert_false (gtk_widget_is_sensitive (child (share, "get_code_button")));
  adw_action_row_activate (ADW_ACTION_ROW (row));
  g_assert_true (cv_share_service_row_get_active (CV_SHARE_SERVICE_ROW (row)));
}

static CvShareState
state_of (Share *share)
{
  CvShareSession *session = cv_share_page_get_session (share->page);

  return session != NULL ? cv_share_session_get_state (session) : CV_SHARE_STATE_IDLE;
}

typedef struct {
  Share *share;
  CvShareState state;
} StateWait;

static gboolean
in_state (gpointer data)
{
  StateWait *wait = data;

  return state_of (wait->share) == wait->state;
}

static void
wait_state (Share *share, CvShareState state, const char *what)
{
  StateWait wait = { share, state };

  cv_gui_wait_until (in_state, &wait, what);
}

/* The code as the page shows it, which is the session's. */
static char *
shown_code (Share *share)
{
  CvShareSession *session = cv_share_page_get_session (share->page);
  const char *label = gtk_label_get_text (child (share, "code_label"));

  g_assert_nonnull (session);
  g_assert_cmpstr (label, ==, cv_share_session_get_code (session));
  g_assert_true (gtk_widget_is_drawable (child (share, "code_label")));
  g_assert_true (
    g_str_has_prefix (gtk_label_get_text (child (share, "expires_label")), "Expires in "));
  g_assert_cmpstr (gtk_label_get_text (child (share, "status_label")), ==,
                   "Waiting for your helper…");
  return g_strdup (label);
}

/* Each state in the test's log, with its sentence: what a failure is read from. */
static void
log_state (CvShareSession *session)
{
  const GError *error = cv_share_session_get_error (session);
  g_autoptr (GEnumClass) states = g_type_class_ref (CV_TYPE_SHARE_STATE);

  g_test_message ("share session: %s%s%s",
                  g_enum_get_value (states, cv_share_session_get_state (session))->value_nick,
                  error != NULL ? ": " : "", error != NULL ? error->message : "");
}

static void
get_code (Share *share)
{
  click (child (share, "get_code_button"));
  g_signal_connect (cv_share_page_get_session (share->page), "notify::state",
                    G_CALLBACK (log_state), NULL);
  log_state (cv_share_page_get_session (share->page));
  wait_state (share, CV_SHARE_STATE_WAITING, "a code from the gateway");
  g_clear_pointer (&share->code, g_free);
  share->code = shown_code (share);
  g_test_message ("the code: %s", share->code);
}

/* A connection to the helper's local port, as their viewer makes it: the request for the
 * tunnel, hence the consent question, comes with it.  Not read: it stays open. */
static GSocketConnection *
helper_opens (guint16 port)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  GSocketConnection *connection;

  g_socket_client_set_timeout (client, CV_GUI_WAIT_SECONDS);
  connection = g_socket_client_connect_to_host (client, "127.0.0.1", port, NULL, &error);
  g_assert_no_error (error);
  return connection;
}

/* The consent dialog, checked against what the helper's side printed. */
static GtkWindow *
consent_dialog (const char *verification, const char *words)
{
  GtkWindow *dialog = cv_gui_test_wait_dialog ("the consent question");
  const char *body = adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog));
  g_auto (GStrv) groups = g_strsplit (verification, " ", -1);
  g_autofree char *unbroken = g_strjoinv ("\u00a0", groups);
  g_autofree char *bold = g_strdup_printf ("<b>%s</b>", unbroken);
  g_autofree char *asks = g_strdup_printf ("Asks for: %s.", words);

  g_assert_true (CV_IS_CONSENT_DIALOG (dialog));
  g_assert_cmpstr (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (dialog)), ==,
                   HELPER " wants to reach this computer");
  g_test_message ("consent body: %s", body);
  g_assert_nonnull (strstr (body, "From 127.0.0.1"));
  g_assert_nonnull (strstr (body, asks));
  g_assert_nonnull (strstr (body, bold));
  g_assert_nonnull (strstr (body, "Only accept if you contacted this person yourself."));
  g_assert_cmpstr (adw_message_dialog_get_default_response (ADW_MESSAGE_DIALOG (dialog)), ==,
                   "deny");
  g_assert_cmpstr (adw_message_dialog_get_close_response (ADW_MESSAGE_DIALOG (dialog)), ==, "deny");
  return dialog;
}

/* The helper's culvert-cli connect --code, its verification once the code is confirmed. */
static GSubprocess *
helper_claims (Share *share, const char *service, guint16 *port, char **verification)
{
  g_autofree char *old_log = g_strdup_printf ("%s/%s.log", cv_e2e_dir (), HELPER);
  GSubprocess *helper;

  /* The log of an earlier case's helper would answer for this one. */
  g_unlink (old_log);
  helper = cv_e2e_start_code_connect (share->gateway, HELPER, share->code, service, port);

  *verification = cv_e2e_wait_for_log_match (HELPER, "Verification: ([0-9][0-9 ]*[0-9])");
  g_test_message ("the helper's verification: %s", *verification);
  wait_state (share, CV_SHARE_STATE_VERIFYING, "the code checked");
  g_assert_cmpstr (gtk_label_get_text (child (share, "status_label")), ==, "Checking the code…");
  return helper;
}

static gboolean
is_sharing (gpointer data)
{
  Share *share = data;
  GtkRevealer *bar = cv_gui_test_child (share->window, CV_TYPE_WINDOW, "sharing_revealer");

  return state_of (share) == CV_SHARE_STATE_CONNECTED && gtk_revealer_get_reveal_child (bar);
}

static void
assert_sharing (Share *share, gboolean sharing)
{
  GtkRevealer *bar = cv_gui_test_child (share->window, CV_TYPE_WINDOW, "sharing_revealer");
  GNotification *notification = cv_application_lookup_notification (share->app, "sharing");

  g_assert_cmpint (gtk_revealer_get_reveal_child (bar), ==, sharing);
  g_assert_cmpstr (gtk_window_get_title (share->window), ==,
                   sharing ? "Sharing — Culvert" : "Culvert");
  g_assert_cmpint (notification != NULL, ==, sharing);
  if (sharing)
    {
      GtkLabel *label = cv_gui_test_child (share->window, CV_TYPE_WINDOW, "sharing_label");

      g_assert_cmpstr (gtk_label_get_text (label), ==, HELPER " is connected to this computer");
      g_assert_cmpstr (cv_share_page_get_helper_name (share->page), ==, HELPER);
    }
}

typedef struct {
  GSocketConnection *connection;
  guint64 n_bytes;
  int done;
} Drain;

static gpointer
drain_thread (gpointer data)
{
  Drain *drain = data;
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (drain->connection));
  guint8 buffer[65536];
  gssize n;

  /* To its end, whichever: EOF or a reset. */
  while ((n = g_input_stream_read (in, buffer, sizeof buffer, NULL, NULL)) > 0)
    drain->n_bytes += n;
  g_atomic_int_set (&drain->done, 1);
  return NULL;
}

static gboolean
drain_done (gpointer data)
{
  return g_atomic_int_get (&((Drain *) data)->done);
}

/* Reads @connection until it ends (the main context iterating: the app's engine runs on
 * it); how many bytes came. */
static guint64
drain (GSocketConnection *connection)
{
  Drain drain = { connection, 0, 0 };
  GThread *thread = g_thread_new ("drain", drain_thread, &drain);

  cv_e2e_poll_until (drain_done, &drain, "the connection to end");
  g_thread_join (thread);
  return drain.n_bytes;
}

typedef struct {
  gboolean exited;
  int status;
} Exit;

static void
on_exited (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Exit *exit = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  exit->status = g_subprocess_get_exit_status (G_SUBPROCESS (source));
  exit->exited = TRUE;
}

static gboolean
has_exited (gpointer data)
{
  return ((Exit *) data)->exited;
}

/* A late culvert-cli connect --code with the same code: it fails at the gateway. */
static void
assert_code_dead (Share *share)
{
  Exit exit = { FALSE, 0 };
  g_autofree char *log = NULL;
  GSubprocess *late;
  guint16 port;

  late = cv_e2e_start_code_connect (share->gateway, "late", share->code, "vnc", &port);
  g_subprocess_wait_async (late, NULL, on_exited, &exit);
  cv_gui_wait_until (has_exited, &exit, "a late claim of the code to fail");
  log = cv_e2e_read_log ("late");
  g_test_message ("a late claim of the code:\n%s", log);
  g_assert_cmpint (exit.status, !=, 0);
  g_assert_null (strstr (log, "Verification"));
}

static gboolean
has_activity (gpointer data)
{
  return gtk_list_box_get_row_at_index (data, 0) != NULL;
}

/* No gateway, then one set in the preferences; VNC ticked, a code, the helper claims it and
 * opens the service; Allow; the bytes intact; Stop ends everything. */
static void
test_allow_stop (void)
{
  Share share = { 0 };
  g_autofree char *data_sha256 = NULL;
  g_autofree char *got_sha256 = NULL;
  g_autofree char *verification = NULL;
  g_autofree char *ports = NULL;
  g_autoptr (GSettings) settings = cv_settings_new ();
  g_autoptr (GSocketConnection) stalled = NULL;
  g_autoptr (CvShareSession) session = NULL;
  GtkWindow *dialog;
  GSubprocess *helper;
  GtkWidget *activity_row;
  guint16 data_port = cv_e2e_start_data_service (DATA_SIZE, &data_sha256);
  guint16 port;
  guint64 n_bytes = 0;

  ports = g_strdup_printf ("vnc=%u", data_port);
  share_start (&share, ports, FALSE);

  /* No gateway: the page says so and offers the ways to set one. */
  g_assert_true (gtk_widget_get_visible (child (&share, "no_gateway_row")));
  g_assert_true (gtk_widget_get_visible (child (&share, "import_row")));
  g_assert_true (gtk_widget_get_visible (child (&share, "preferences_row")));
  g_assert_false (gtk_widget_get_visible (child (&share, "gateway_row")));
  g_assert_false (gtk_widget_is_sensitive (child (&share, "get_code_button")));
  screenshot (share.window, "share-no-gateway");

  /* Set in the preferences (as an import would): the page follows. */
  g_settings_set_string (settings, "share-gateway-address", share.gateway->address);
  g_settings_set_string (settings, "share-gateway-fingerprint", share.gateway->fingerprint);
  g_assert_true (gtk_widget_get_visible (child (&share, "gateway_row")));
  g_assert_false (gtk_widget_get_visible (child (&share, "no_gateway_row")));
  g_assert_nonnull (
    strstr (adw_action_row_get_subtitle (child (&share, "gateway_row")), share.gateway->address));

  tick_preset (&share, "Screen sharing (VNC)");
  g_assert_true (gtk_widget_is_sensitive (child (&share, "get_code_button")));
  screenshot (share.window, "share-choice");

  get_code (&share);
  screenshot (share.window, "share-code");

  helper = helper_claims (&share, "vnc", &port, &verification);
  screenshot (share.window, "share-checking");
  stalled = helper_opens (port);
  dialog = consent_dialog (verification, "your screen");
  screenshot (dialog, "share-consent");
  cv_gui_test_respond (dialog, "allow");

  cv_gui_wait_until (is_sharing, &share, "the helper connected and the bar shown");
  assert_sharing (&share, TRUE);
  cv_e2e_wait_for_log (HELPER, "The sharer allowed the connection.");

  /* What the helper's viewer reads is what the service sends. */
  got_sha256 = cv_e2e_fetch_sha256 (port, &n_bytes);
  g_assert_cmpuint (n_bytes, ==, DATA_SIZE);
  g_assert_cmpstr (got_sha256, ==, data_sha256);
  cv_gui_wait_until (has_activity, child (&share, "activity_list"), "what the helper opened");
  activity_row = GTK_WIDGET (gtk_list_box_get_row_at_index (child (&share, "activity_list"), 0));
  g_assert_cmpstr (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (activity_row)), ==,
                   "Your screen");
  g_test_message ("activity: %s", adw_action_row_get_subtitle (ADW_ACTION_ROW (activity_row)));
  screenshot (share.window, "share-connected");

  /* The stalled connection is a channel still open when Stop is clicked. */
  session = g_object_ref (cv_share_page_get_session (share.page));
  g_assert_cmpuint (cv_share_session_get_n_channels (session), >=, 1);
  click (cv_gui_test_child (share.window, CV_TYPE_WINDOW, "sharing_stop_button"));
  assert_sharing (&share, FALSE);
  g_assert_null (cv_share_page_get_session (share.page));
  g_assert_cmpstr (gtk_stack_get_visible_child_name (
                     GTK_STACK (adw_bin_get_child (ADW_BIN (share.page)))),
                   ==, "setup");
  n_bytes = drain (stalled);
  g_test_message ("the stalled connection ended after %" G_GUINT64_FORMAT " bytes", n_bytes);
  g_assert_cmpuint (n_bytes, <, DATA_SIZE);
  g_assert_cmpuint (cv_share_session_get_n_channels (session), ==, 0);
  screenshot (share.window, "share-stopped");

  assert_code_dead (&share);
  cv_e2e_stop (helper);
  share_end (&share);
}

/* A listening socket nobody may reach: the page's probe connects to it, and then nothing
 * else may. */
static GSocket *
hold_port (guint16 *port)
{
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autoptr (GError) error = NULL;
  GSocket *socket;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (socket, any, TRUE, &error));
  g_assert_true (g_socket_listen (socket, &error));
  g_socket_set_blocking (socket, FALSE);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  return socket;
}

/* The connections queued so far (the probes): accepted and closed. */
static void
drain_queue (GSocket *listener)
{
  GSocket *accepted;

  while ((accepted = g_socket_accept (listener, NULL, NULL)) != NULL)
    g_object_unref (accepted);
}

/* The helper asks; Deny: they are told, the service is never reached, and a new code can be
 * had from there. */
static void
test_deny (void)
{
  Share share = { 0 };
  g_autofree char *verification = NULL;
  g_autofree char *ports = NULL;
  g_autofree char *first = NULL;
  g_autoptr (GSocketConnection) waiting = NULL;
  g_autoptr (GSocket) listener = NULL;
  const GError *error;
  GtkWindow *dialog;
  GSubprocess *helper;
  guint16 held;
  guint16 port;

  listener = hold_port (&held);
  ports = g_strdup_printf ("ssh=%u", held);
  share_start (&share, ports, TRUE);
  tick_preset (&share, "SSH");
  get_code (&share);
  first = g_strdup (share.code);
  helper = helper_claims (&share, "ssh", &port, &verification);
  drain_queue (listener);
  waiting = helper_opens (port);
  dialog = consent_dialog (verification, "a command line (SSH)");
  cv_gui_test_respond (dialog, "deny");

  cv_e2e_wait_for_log (HELPER, "The sharer declined");
  wait_state (&share, CV_SHARE_STATE_FAILED, "the page to say it was declined");
  error = cv_share_session_get_error (cv_share_page_get_session (share.page));
  g_assert_error ((GError *) error, CV_APP_ERROR, CV_APP_ERROR_DECLINED);
  g_assert_true (gtk_widget_get_visible (child (&share, "error_box")));
  g_assert_cmpstr (gtk_label_get_text (child (&share, "error_label")), ==, error->message);
  g_assert_cmpstr (gtk_label_get_text (child (&share, "code_heading")), ==,
                   "Your helper was not let in");
  assert_sharing (&share, FALSE);
  cv_gui_spin (300);
  g_assert_cmpint (g_socket_condition_check (listener, G_IO_IN), ==, 0);
  screenshot (share.window, "share-declined");

  click (child (&share, "renew_button"));
  wait_state (&share, CV_SHARE_STATE_WAITING, "a new code");
  g_free (share.code);
  share.code = shown_code (&share);
  g_assert_cmpstr (share.code, !=, first);

  cv_e2e_stop (helper);
  share_end (&share);
}

/* A wrong code typed by the helper: the page warns, Get a New Code gives another. */
static void
test_wrong_code (void)
{
  Share share = { 0 };
  g_autofree char *data_sha256 = NULL;
  g_autofree char *ports = NULL;
  g_autofree char *wrong = NULL;
  const GError *error;
  GSubprocess *helper;
  guint16 port;
  gsize last;

  ports = g_strdup_printf ("vnc=%u", cv_e2e_start_data_service (1024, &data_sha256));
  share_start (&share, ports, TRUE);
  tick_preset (&share, "Screen sharing (VNC)");
  get_code (&share);

  wrong = g_strdup (share.code);
  last = strlen (wrong) - 1;
  wrong[last] = wrong[last] == '9' ? '0' : wrong[last] + 1;
  helper = cv_e2e_start_code_connect (share.gateway, "guesser", wrong, "vnc", &port);
  wait_state (&share, CV_SHARE_STATE_FAILED, "the page to warn of a wrong code");
  error = cv_share_session_get_error (cv_share_page_get_session (share.page));
  g_assert_error ((GError *) error, CV_APP_ERROR, CV_APP_ERROR_CODE_BURNED);
  g_assert_true (gtk_widget_get_visible (child (&share, "error_box")));
  g_assert_false (gtk_widget_get_visible (child (&share, "code_label")));
  g_assert_cmpstr (gtk_label_get_text (child (&share, "error_label")), ==, error->message);
  /* A dead code is not announced as one to read out. */
  g_assert_cmpstr (gtk_label_get_text (child (&share, "code_heading")), ==,
                   "This code no longer works");
  screenshot (share.window, "share-wrong-code");

  click (child (&share, "renew_button"));
  wait_state (&share, CV_SHARE_STATE_WAITING, "a new code");
  g_assert_cmpstr (gtk_label_get_text (child (&share, "code_heading")), ==,
                   "Read this code to your helper");
  {
    g_autofree char *renewed = shown_code (&share);

    g_assert_cmpstr (renewed, !=, share.code);
  }
  screenshot (share.window, "share-new-code");

  cv_e2e_stop (helper);
  share_end (&share);
}

static gboolean
window_gone (gpointer data)
{
  return *(gpointer *) data == NULL;
}

/* A custom port (a wrong one first); connected; closing the window asks first, then stops
 * and closes. */
static void
test_custom_close (void)
{
  Share share = { 0 };
  g_autofree char *data_sha256 = NULL;
  g_autofree char *got_sha256 = NULL;
  g_autofree char *verification = NULL;
  g_autofree char *service = NULL;
  g_autofree char *typed = NULL;
  g_autoptr (GSocketConnection) stalled = NULL;
  g_autoptr (CvShareSession) session = NULL;
  gpointer window_alive = NULL;
  GtkWidget *custom;
  GtkEditable *port_row;
  GtkWindow *dialog;
  GSubprocess *helper;
  guint16 data_port = cv_e2e_start_data_service (DATA_SIZE, &data_sha256);
  guint16 port;
  guint64 n_bytes = 0;

  share_start (&share, NULL, TRUE);
  custom = cv_gui_find_widget (GTK_WIDGET (share.page), ADW_TYPE_ACTION_ROW, "Custom service…");
  g_assert_nonnull (custom);
  adw_action_row_activate (ADW_ACTION_ROW (custom));
  port_row = GTK_EDITABLE (
    cv_gui_find_widget (GTK_WIDGET (share.page), ADW_TYPE_ENTRY_ROW, "Port number"));
  g_assert_nonnull (port_row);
  g_assert_true (gtk_widget_get_visible (GTK_WIDGET (port_row)));
  gtk_editable_set_text (port_row, "70000");
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (port_row), "error"));
  g_assert_false (gtk_widget_is_sensitive (child (&share, "get_code_button")));
  screenshot (share.window, "share-custom-invalid");

  typed = g_strdup_printf ("%u", data_port);
  gtk_editable_set_text (port_row, typed);
  g_assert_false (gtk_widget_has_css_class (GTK_WIDGET (port_row), "error"));
  g_assert_true (gtk_widget_is_sensitive (child (&share, "get_code_button")));
  get_code (&share);

  service = g_strdup_printf ("port-%u", data_port);
  helper = helper_claims (&share, service, &port, &verification);
  stalled = helper_opens (port);
  {
    g_autofree char *words = g_strdup_printf ("port %u", data_port);

    dialog = consent_dialog (verification, words);
  }
  cv_gui_test_respond (dialog, "allow");
  cv_gui_wait_until (is_sharing, &share, "the helper connected");
  got_sha256 = cv_e2e_fetch_sha256 (port, &n_bytes);
  g_assert_cmpstr (got_sha256, ==, data_sha256);

  /* Close: the question first; Keep Sharing keeps it. */
  session = g_object_ref (cv_share_page_get_session (share.page));
  gtk_window_close (share.window);
  dialog = cv_gui_test_wait_dialog ("Stop Sharing?");
  g_assert_cmpstr (adw_message_dialog_get_heading (ADW_MESSAGE_DIALOG (dialog)), ==,
                   "Stop Sharing?");
  screenshot (dialog, "share-close-question");
  cv_gui_test_respond (dialog, "cancel");
  assert_sharing (&share, TRUE);

  gtk_window_close (share.window);
  dialog = cv_gui_test_wait_dialog ("Stop Sharing?, again");
  window_alive = share.window;
  g_object_add_weak_pointer (G_OBJECT (share.window), &window_alive);
  g_object_unref (share.window);
  share.window = NULL;
  cv_gui_test_respond (dialog, "stop");
  cv_gui_wait_until (window_gone, &window_alive, "the window to close");
  g_assert_cmpint (cv_share_session_get_state (session), ==, CV_SHARE_STATE_IDLE);
  n_bytes = drain (stalled);
  g_assert_cmpuint (n_bytes, <, DATA_SIZE);
  g_assert_null (cv_application_lookup_notification (share.app, "sharing"));

  cv_e2e_stop (helper);
  share_end (&share);
}

int
main (int argc, char *argv[])
{
  g_autofree char *system_path = g_strdup (g_getenv ("PATH"));
  char *dir;
  int status;

  dir = cv_gui_test_app_init (&argc, &argv);
  cv_e2e_init (dir, system_path);
  g_test_add_func ("/gui/share-window/allow-stop", test_allow_stop);
  g_test_add_func ("/gui/share-window/deny", test_deny);
  g_test_add_func ("/gui/share-window/wrong-code", test_wrong_code);
  g_test_add_func ("/gui/share-window/custom-close", test_custom_close);
  status = g_test_run ();
  cv_e2e_kill_all ();
  return cv_gui_test_app_finish (dir, status);
}
