/* test-tls.c: identities on disk, fingerprints, and TLS 1.3 handshakes over real loopback TCP.
 *
 * Both ends of every handshake run on the main thread's context, through
 * glib-networking's GnuTLS backend.  The peers that speak only TLS 1.2 are GnuTLS
 * itself, in a thread: this process's GIO speaks TLS 1.3 only.  The CA-issued
 * certificates come from tests/files/tls/create-files.sh.
 */
#include "transport/cv-identity.h"
#include "cv-test-util.h"
#include "cv-test-tls-server.h"
#include "transport/cv-tls.h"

#include <glib/gstdio.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>
#include <sys/stat.h>

#define TLS12_ONLY "NORMAL:-VERS-ALL:+VERS-TLS1.2"

/* Whether cv_tls_restrict_process_to_tls13() took effect in this process. */
static gboolean restricted_to_tls13;

/* ---- fixture: a state directory with a gateway and an agent identity ---- */

typedef struct {
  char *dir;
  char *state_dir;
  CvIdentity *gateway;
  CvIdentity *agent;
} Fixture;

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          remove_tree (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("culvert-tls-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->state_dir = g_build_filename (fixture->dir, "state", NULL);
  fixture->gateway = cv_identity_load_or_create (fixture->state_dir, "gateway", "culvert gateway",
                                                 NULL, &error);
  g_assert_no_error (error);
  fixture->agent = cv_identity_load_or_create (fixture->state_dir, "agent", "culvert agent", NULL,
                                               &error);
  g_assert_no_error (error);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_object (&fixture->gateway);
  g_clear_object (&fixture->agent);
  remove_tree (fixture->dir);
  g_free (fixture->state_dir);
  g_free (fixture->dir);
}

static char *
file_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "files", "tls", name, NULL);
}

/* The SPKI hash create-files.sh computed with sha256sum, not with our code. */
static char *
expected_server_fingerprint (void)
{
  g_autofree char *path = file_path ("server-key-id.txt");
  g_autoptr (GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return g_strstrip (contents);
}

/* The Let's Encrypt-style pair, its key copied with mode 0600 as certbot keeps it. */
static CvIdentity *
load_ca_issued_server (Fixture *fixture)
{
  g_autofree char *chain = file_path ("server-fullchain.pem");
  g_autofree char *key_source = file_path ("server-key.pem");
  g_autofree char *key = g_build_filename (fixture->dir, "privkey.pem", NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length;
  CvIdentity *identity;

  g_file_get_contents (key_source, &contents, &length, &error);
  g_assert_no_error (error);
  g_file_set_contents_full (key, contents, length, G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);
  identity = cv_identity_new_from_files (chain, key, &error);
  g_assert_no_error (error);
  return identity;
}

static GTlsDatabase *
test_ca_database (void)
{
  g_autofree char *ca = file_path ("ca.pem");
  g_autoptr (GError) error = NULL;
  GTlsDatabase *database = g_tls_file_database_new (ca, &error);

  g_assert_no_error (error);
  return database;
}

/* ---- identities --------------------------------------------------------- */

static void
test_identity_create_and_load (Fixture *fixture, gconstpointer data)
{
  g_autofree char *path = g_build_filename (fixture->state_dir, "gateway.pem", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvIdentity) again = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GDateTime) not_after = NULL;
  g_autofree char *from_certificate = NULL;
  g_autofree char *pem = NULL;
  gsize pem_length;
  GStatBuf st;
  gboolean created = TRUE;
  const char *fingerprint = cv_identity_get_fingerprint (fixture->gateway);

  /* Made by the fixture: one file, 0600, in a directory made 0700. */
  g_assert_cmpint (g_stat (fixture->state_dir, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0700);
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpint (st.st_mode & 0777, ==, 0600);

  g_assert_cmpuint (strlen (fingerprint), ==, CV_FINGERPRINT_LENGTH);
  g_assert_true (g_str_has_prefix (fingerprint, "sha256:"));
  from_certificate = cv_fingerprint_of_certificate (cv_identity_get_certificate (fixture->gateway));
  g_assert_cmpstr (from_certificate, ==, fingerprint);
  g_assert_cmpstr (fingerprint, !=, cv_identity_get_fingerprint (fixture->agent));

  /* Long-lived: it is pinned, never CA-validated. */
  not_after = g_tls_certificate_get_not_valid_after (
    cv_identity_get_certificate (fixture->gateway));
  g_assert_cmpint (g_date_time_difference (not_after, now), >, 19 * 365 * G_TIME_SPAN_DAY);

  /* An ECDSA P-256 key, the certificate first and the key after it. */
  g_file_get_contents (path, &pem, &pem_length, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (pem, "-----BEGIN CERTIFICATE-----"));
  g_assert_nonnull (strstr (pem, "-----BEGIN PRIVATE KEY-----"));
  {
    gnutls_x509_crt_t crt;
    gnutls_datum_t datum = { (unsigned char *) pem, pem_length };
    gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;

    g_assert_cmpint (gnutls_x509_crt_init (&crt), ==, 0);
    g_assert_cmpint (gnutls_x509_crt_import (crt, &datum, GNUTLS_X509_FMT_PEM), ==, 0);
    g_assert_cmpint (gnutls_x509_crt_get_pk_algorithm (crt, NULL), ==, GNUTLS_PK_ECDSA);
    g_assert_cmpint (gnutls_x509_crt_get_pk_ecc_raw (crt, &curve, NULL, NULL), ==, 0);
    g_assert_cmpint (curve, ==, GNUTLS_ECC_CURVE_SECP256R1);
    gnutls_x509_crt_deinit (crt);
  }

  /* Loaded, not made again. */
  again = cv_identity_load_or_create (fixture->state_dir, "gateway", "culvert gateway", &created,
                                      &error);
  g_assert_no_error (error);
  g_assert_false (created);
  g_assert_cmpstr (cv_identity_get_fingerprint (again), ==, fingerprint);
}

static void
test_identity_created_flag (Fixture *fixture, gconstpointer data)
{
  g_autofree char *nested = g_build_filename (fixture->dir, "a", "b", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvIdentity) identity = NULL;
  gboolean created = FALSE;

  identity = cv_identity_load_or_create (nested, "agent", "culvert agent", &created, &error);
  g_assert_no_error (error);
  g_assert_true (created);
}

static void
assert_refused_for_mode (Fixture *fixture, int mode)
{
  g_autofree char *path = g_build_filename (fixture->state_dir, "agent.pem", NULL);
  g_autofree char *shown_mode = g_strdup_printf ("%04o", mode);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvIdentity) identity = NULL;

  g_assert_cmpint (g_chmod (path, mode), ==, 0);
  identity = cv_identity_load_or_create (fixture->state_dir, "agent", "culvert agent", NULL,
                                         &error);
  g_assert_error (error, CV_IDENTITY_ERROR, CV_IDENTITY_ERROR_INSECURE_PERMISSIONS);
  g_assert_null (identity);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, path));
  g_assert_nonnull (strstr (error->message, shown_mode));
  g_assert_nonnull (strstr (error->message, "chmod 600"));
}

static void
test_identity_insecure_permissions (Fixture *fixture, gconstpointer data)
{
  g_autofree char *path = g_build_filename (fixture->state_dir, "agent.pem", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvIdentity) identity = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;

  g_file_get_contents (path, &before, NULL, &error);
  g_assert_no_error (error);

  assert_refused_for_mode (fixture, 0640);
  assert_refused_for_mode (fixture, 0604);
  assert_refused_for_mode (fixture, 0660);

  /* Refused, never replaced by a new key. */
  g_file_get_contents (path, &after, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (before, ==, after);

  g_assert_cmpint (g_chmod (path, 0400), ==, 0);
  identity = cv_identity_load_or_create (fixture->state_dir, "agent", "culvert agent", NULL,
                                         &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cv_identity_get_fingerprint (identity), ==,
                   cv_identity_get_fingerprint (fixture->agent));
}

static void
test_identity_invalid_file (Fixture *fixture, gconstpointer data)
{
  g_autofree char *path = g_build_filename (fixture->state_dir, "broken.pem", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvIdentity) identity = NULL;
  g_autofree char *after = NULL;

  g_file_set_contents_full (path, "not a key\n", -1, G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);
  identity = cv_identity_load_or_create (fixture->state_dir, "broken", "culvert agent", NULL,
                                         &error);
  g_assert_error (error, CV_IDENTITY_ERROR, CV_IDENTITY_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, path));
  g_file_get_contents (path, &after, NULL, NULL);
  g_assert_cmpstr (after, ==, "not a key\n");
}

/* What check-config uses: the identity as start-up would find it, nothing made. */
static void
test_identity_check (Fixture *fixture, gconstpointer data)
{
  g_autofree char *nested = g_build_filename (fixture->dir, "new", "state", NULL);
  g_autofree char *file = g_build_filename (fixture->dir, "a-file", NULL);
  g_autofree char *under_file = g_build_filename (file, "state", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvIdentity) identity = NULL;
  g_autoptr (GDateTime) expiry = NULL;
  g_autoptr (GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr (GDateTime) in_19_years = NULL;

  /* There: loaded, with the self-signed certificate's expiry. */
  g_assert_true (cv_identity_check (fixture->state_dir, "agent", &identity, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (cv_identity_get_fingerprint (identity), ==,
                   cv_identity_get_fingerprint (fixture->agent));
  expiry = cv_identity_get_expiry (identity);
  g_assert_nonnull (expiry);
  in_19_years = g_date_time_add_years (now, CV_IDENTITY_VALIDITY_YEARS - 1);
  g_assert_cmpint (g_date_time_compare (expiry, in_19_years), >, 0);
  g_clear_object (&identity);

  /* Not there, but it could be made: TRUE with no identity, and nothing made. */
  g_assert_true (cv_identity_check (nested, "agent", &identity, &error));
  g_assert_no_error (error);
  g_assert_null (identity);
  g_assert_false (g_file_test (nested, G_FILE_TEST_EXISTS));

  g_assert_null (cv_identity_load (nested, "agent", &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  g_clear_error (&error);

  /* A file where a directory must be made. */
  g_file_set_contents (file, "x", -1, &error);
  g_assert_no_error (error);
  g_assert_false (cv_identity_check_can_create (under_file, &error));
  g_assert_error (error, G_FILE_ERROR, G_FILE_ERROR_NOTDIR);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "is not a directory"));
}

static void
test_identity_from_files (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CvIdentity) identity = load_ca_issued_server (fixture);
  g_autofree char *expected = expected_server_fingerprint ();
  g_autofree char *chain = file_path ("server-fullchain.pem");
  g_autofree char *key = g_build_filename (fixture->dir, "privkey.pem", NULL);
  g_autofree char *other_key = g_build_filename (fixture->state_dir, "agent.pem", NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (CvIdentity) refused = NULL;
  g_autoptr (CvIdentity) group_readable = NULL;
  GTlsCertificate *certificate = cv_identity_get_certificate (identity);

  /* The fingerprint is the public key's, as sha256sum saw it. */
  g_assert_cmpstr (cv_identity_get_fingerprint (identity), ==, expected);
  /* The full chain: the intermediate came along. */
  g_assert_nonnull (g_tls_certificate_get_issuer (certificate));

  /* A group only the gateway is in may read it (Debian's ssl-cert); everyone may not. */
  g_assert_cmpint (g_chmod (key, 0640), ==, 0);
  group_readable = cv_identity_new_from_files (chain, key, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (key, 0644), ==, 0);
  refused = cv_identity_new_from_files (chain, key, &error);
  g_assert_error (error, CV_IDENTITY_ERROR, CV_IDENTITY_ERROR_INSECURE_PERMISSIONS);
  g_assert_nonnull (strstr (error->message, "chmod o-rwx"));
  g_clear_error (&error);

  /* A key of another certificate. */
  refused = cv_identity_new_from_files (chain, other_key, &error);
  g_assert_error (error, CV_IDENTITY_ERROR, CV_IDENTITY_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "does not belong"));
}

/* ---- fingerprints ------------------------------------------------------- */

static void
test_fingerprint_normalize (void)
{
  const char *lower = "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
  const char *accepted[] = {
    "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    "SHA256:00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF",
    "sha256:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
    "00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff",
    "  sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
  };
  const char *refused[] = {
    "",
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    "sha1:00112233445566778899aabbccddeeff00112233",
    "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeef",
    "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff0",
    "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeefg",
    "sha256::00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff:",
    "sha256:0:0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    "sha256: 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (accepted); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *normal = cv_fingerprint_normalize (accepted[i], &error);

      g_assert_no_error (error);
      g_assert_cmpstr (normal, ==, lower);
    }
  for (gsize i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *normal = cv_fingerprint_normalize (refused[i], &error);

      g_assert_error (error, CV_IDENTITY_ERROR, CV_IDENTITY_ERROR_BAD_FINGERPRINT);
      g_assert_null (normal);
      g_assert_nonnull (strstr (error->message, "64 hexadecimal digits"));
    }
}

static void
test_fingerprint_equal (void)
{
  const char *a = "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
  const char *a_upper = "SHA256:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:"
                        "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";
  const char *b = "sha256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeefe";
  const char *c = "sha256:10112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

  g_assert_true (cv_fingerprint_equal (a, a));
  g_assert_true (cv_fingerprint_equal (a, a_upper));
  g_assert_false (cv_fingerprint_equal (a, b));
  g_assert_false (cv_fingerprint_equal (a, c));
  g_assert_false (cv_fingerprint_equal (a, "sha256:"));
  g_assert_false (cv_fingerprint_equal ("junk", "junk"));
  g_assert_false (cv_fingerprint_equal (a, NULL));
  g_assert_false (cv_fingerprint_equal (NULL, NULL));
}

/* ---- handshakes over loopback TCP --------------------------------------- */

typedef struct {
  /* server */
  CvIdentity *server_identity;
  gboolean require_client_cert;
  const CvTlsPeerCheck *server_check;
  const char *server_alpn;
  /* client */
  const char *server_name;
  const CvTlsPeerCheck *client_check;
  CvIdentity *client_identity;
  const char *client_alpn;
  guint client_timeout_ms;
  GCancellable *client_cancellable;
  /* results */
  GSocketConnection *server_base;
  GSocketConnection *client_base;
  GIOStream *server_stream;
  GIOStream *client_stream;
  GError *server_error;
  GError *client_error;
  gboolean server_done;
  gboolean client_done;
  gboolean silent_server; /* accept TCP and never answer */
} Run;

static void
run_clear (Run *run)
{
  g_clear_object (&run->server_stream);
  g_clear_object (&run->client_stream);
  g_clear_object (&run->server_base);
  g_clear_object (&run->client_base);
  g_clear_error (&run->server_error);
  g_clear_error (&run->client_error);
}

static void
on_server_handshake (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Run *run = user_data;

  run->server_stream = cv_test_tls_server_handshake_finish (result, &run->server_error);
  if (run->server_error != NULL)
    g_test_message ("server: %s", run->server_error->message);
  run->server_done = TRUE;
}

static gboolean
on_incoming (GSocketService *service, GSocketConnection *connection, GObject *source, gpointer data)
{
  Run *run = data;

  g_assert_null (run->server_base);
  run->server_base = g_object_ref (connection);
  if (run->silent_server)
    return TRUE;
  cv_test_tls_server_handshake_async (G_IO_STREAM (connection), run->server_identity,
                                      run->require_client_cert, run->server_check, run->server_alpn,
                                      0, NULL, on_server_handshake, run);
  return TRUE;
}

static void
on_client_handshake (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Run *run = user_data;

  run->client_stream = cv_tls_client_handshake_finish (result, &run->client_error);
  if (run->client_error != NULL)
    g_test_message ("client: %s", run->client_error->message);
  run->client_done = TRUE;
}

static void
on_connected (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Run *run = user_data;
  g_autoptr (GError) error = NULL;

  run->client_base = g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result, &error);
  g_assert_no_error (error);
  cv_tls_client_handshake_async (G_IO_STREAM (run->client_base), run->server_name,
                                 run->client_check, run->client_identity, run->client_alpn,
                                 run->client_timeout_ms, run->client_cancellable,
                                 on_client_handshake, run);
}

/* A listening socket on 127.0.0.1 and an ephemeral port. */
static GSocketListener *
listen_on_loopback (GSocketListener *listener, guint16 *port)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;

  g_socket_listener_add_address (listener, address, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                                 NULL, &bound, &error);
  g_assert_no_error (error);
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  return listener;
}

static gboolean
client_done (gpointer data)
{
  Run *run = data;

  return run->client_done;
}

static gboolean
server_done (gpointer data)
{
  Run *run = data;

  return run->server_done;
}

static gboolean
both_done (gpointer data)
{
  Run *run = data;

  return run->client_done && (run->server_done || run->silent_server);
}

static void
run_handshake (Run *run)
{
  g_autoptr (GSocketService) service = g_socket_service_new ();
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  guint16 port;

  listen_on_loopback (G_SOCKET_LISTENER (service), &port);
  g_signal_connect (service, "incoming", G_CALLBACK (on_incoming), run);
  g_socket_service_start (service);

  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_connect_to_host_async (client, "127.0.0.1", port, NULL, on_connected, run);
  g_assert_true (cv_test_wait_until (both_done, run, 20000));
  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
}

static void
assert_tls13_culvert (GIOStream *stream)
{
  GTlsConnection *connection = G_TLS_CONNECTION (stream);

  g_assert_cmpint (g_tls_connection_get_protocol_version (connection), ==,
                   G_TLS_PROTOCOL_VERSION_TLS_1_3);
  g_assert_cmpstr (g_tls_connection_get_negotiated_protocol (connection), ==, CV_TLS_ALPN);
}

typedef struct {
  gboolean written;
  gboolean read;
  GError *error;
} Transfer;

static void
on_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Transfer *transfer = user_data;

  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &transfer->error);
  g_assert_no_error (transfer->error);
  transfer->written = TRUE;
}

static void
on_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Transfer *transfer = user_data;
  gsize n_read = 0;

  g_input_stream_read_all_finish (G_INPUT_STREAM (source), result, &n_read, &transfer->error);
  g_assert_no_error (transfer->error);
  transfer->read = TRUE;
}

static gboolean
transfer_done (gpointer data)
{
  Transfer *transfer = data;

  return transfer->written && transfer->read;
}

/* @size random bytes from @from to @to, compared on arrival. */
static void
assert_round_trip (GIOStream *from, GIOStream *to, gsize size)
{
  g_autofree guint8 *sent = g_malloc (size);
  g_autofree guint8 *received = g_malloc0 (size);
  Transfer transfer = { 0 };

  cv_test_fill_random (sent, size, size);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (from), sent, size,
                                   G_PRIORITY_DEFAULT, NULL, on_written, &transfer);
  g_input_stream_read_all_async (g_io_stream_get_input_stream (to), received, size,
                                 G_PRIORITY_DEFAULT, NULL, on_read, &transfer);
  g_assert_true (cv_test_wait_until (transfer_done, &transfer, 20000));
  g_assert_cmpmem (sent, size, received, size);
}

/* A check that pins @identity's key, as agents pin the gateway's and each other's. */
static CvTlsPeerCheck
pin (CvIdentity *identity, const char *peer_name)
{
  CvTlsPeerCheck check = {
    .mode = CV_TLS_PEER_CHECK_PINNED,
    .fingerprint = cv_identity_get_fingerprint (identity),
    .peer_name = peer_name,
  };

  return check;
}

/* The gateway's identity on the server, "culvert/1" on both ends. */
static Run
gateway_run (Fixture *fixture, const CvTlsPeerCheck *client_check)
{
  Run run = {
    .server_identity = fixture->gateway,
    .server_alpn = CV_TLS_ALPN,
    .client_check = client_check,
    .client_alpn = CV_TLS_ALPN,
  };

  return run;
}

static void
test_pinned_accepted (Fixture *fixture, gconstpointer data)
{
  g_autofree char *written_by_hand = g_ascii_strup (cv_identity_get_fingerprint (fixture->gateway),
                                                    -1);
  CvTlsPeerCheck check = pin (fixture->gateway, "the gateway");
  Run run = gateway_run (fixture, &check);

  check.fingerprint = written_by_hand; /* any case: compared normalized */
  run.server_name = "gateway.example"; /* no matter when pinned */
  run_handshake (&run);
  g_assert_no_error (run.client_error);
  g_assert_no_error (run.server_error);
  assert_tls13_culvert (run.client_stream);
  assert_tls13_culvert (run.server_stream);
  assert_round_trip (run.client_stream, run.server_stream, 1024 * 1024);
  assert_round_trip (run.server_stream, run.client_stream, 4096);
  run_clear (&run);
}

static void
test_pinned_wrong_pin (Fixture *fixture, gconstpointer data)
{
  const char *actual = cv_identity_get_fingerprint (fixture->gateway);
  const char *pinned = cv_identity_get_fingerprint (fixture->agent);
  CvTlsPeerCheck check = pin (fixture->agent, "the gateway");
  Run run = gateway_run (fixture, &check);
  g_autofree char *expected = NULL;

  check.pin_key = "gateway_fingerprint";
  run_handshake (&run);
  g_assert_error (run.client_error, CV_TLS_ERROR, CV_TLS_ERROR_FINGERPRINT_MISMATCH);
  g_assert_null (run.client_stream);
  expected = g_strdup_printf ("the gateway's key has changed: it is %s, but the pinned fingerprint "
                              "is %s. Someone may be intercepting the connection, or the key was "
                              "replaced; only if you know it was replaced, set "
                              "\"gateway_fingerprint\": \"%s\"",
                              actual, pinned, actual);
  g_assert_cmpstr (run.client_error->message, ==, expected);
  /* The server learns of it as a failed handshake. */
  g_assert_nonnull (run.server_error);
  run_clear (&run);
}

static void
test_self_signed_refused (Fixture *fixture, gconstpointer data)
{
  const char *fingerprint = cv_identity_get_fingerprint (fixture->gateway);
  CvTlsPeerCheck check = {
    .mode = CV_TLS_PEER_CHECK_SYSTEM_CA,
    .peer_name = "the gateway",
    .pin_key = "gateway_fingerprint",
  };
  Run run = gateway_run (fixture, &check);
  g_autofree char *expected = NULL;

  run.server_name = "localhost";
  run_handshake (&run);
  g_assert_error (run.client_error, CV_TLS_ERROR, CV_TLS_ERROR_UNTRUSTED);
  expected = g_strdup_printf ("the gateway's certificate is not trusted (self-signed); its "
                              "fingerprint is %s; if that is right, set \"gateway_fingerprint\": "
                              "\"%s\"",
                              fingerprint, fingerprint);
  g_assert_cmpstr (run.client_error->message, ==, expected);
  g_assert_nonnull (run.server_error);
  run_clear (&run);
}

/* A tunnel's two agents: the server pins the client's key, the client the server's. */
static Run
mutual_run (Fixture *fixture,
            const CvTlsPeerCheck *client_check,
            const CvTlsPeerCheck *server_check)
{
  Run run = gateway_run (fixture, client_check);

  run.require_client_cert = TRUE;
  run.server_check = server_check;
  run.client_identity = fixture->agent;
  return run;
}

static void
test_mutual_pinned (Fixture *fixture, gconstpointer data)
{
  CvTlsPeerCheck client_check = pin (fixture->gateway, "the share agent");
  CvTlsPeerCheck server_check = pin (fixture->agent, "the connect agent");
  Run run = mutual_run (fixture, &client_check, &server_check);
  g_autofree char *seen = NULL;

  run_handshake (&run);
  g_assert_no_error (run.client_error);
  g_assert_no_error (run.server_error);
  assert_tls13_culvert (run.server_stream);
  seen = cv_fingerprint_of_certificate (
    g_tls_connection_get_peer_certificate (G_TLS_CONNECTION (run.server_stream)));
  g_assert_cmpstr (seen, ==, cv_identity_get_fingerprint (fixture->agent));
  assert_round_trip (run.server_stream, run.client_stream, 64 * 1024);
  run_clear (&run);
}

/* TLS 1.3 clients finish before the server has judged their certificate: the
 * refusal reaches the client as the end of the connection. */
static void
assert_client_refused (Run *run)
{
  if (run->client_stream != NULL)
    {
      g_autoptr (GError) error = NULL;
      char byte;
      gssize n;

      g_io_stream_close (G_IO_STREAM (run->server_base), NULL, NULL);
      n = g_input_stream_read (g_io_stream_get_input_stream (run->client_stream), &byte, 1, NULL,
                               &error);
      g_assert_cmpint (n, <=, 0);
    }
  else
    g_assert_nonnull (run->client_error);
}

static void
test_mutual_wrong_client_pin (Fixture *fixture, gconstpointer data)
{
  const char *actual = cv_identity_get_fingerprint (fixture->agent);
  const char *pinned = cv_identity_get_fingerprint (fixture->gateway);
  CvTlsPeerCheck client_check = pin (fixture->gateway, "the share agent");
  CvTlsPeerCheck server_check = pin (fixture->gateway, "the connect agent");
  Run run = mutual_run (fixture, &client_check, &server_check);

  run_handshake (&run);
  g_assert_error (run.server_error, CV_TLS_ERROR, CV_TLS_ERROR_FINGERPRINT_MISMATCH);
  g_assert_true (
    g_str_has_prefix (run.server_error->message, "the connect agent's key has changed"));
  g_assert_nonnull (strstr (run.server_error->message, actual));
  g_assert_nonnull (strstr (run.server_error->message, pinned));
  assert_client_refused (&run);
  run_clear (&run);
}

static void
test_mutual_no_client_certificate (Fixture *fixture, gconstpointer data)
{
  CvTlsPeerCheck client_check = pin (fixture->gateway, "the share agent");
  CvTlsPeerCheck server_check = pin (fixture->agent, "the connect agent");
  Run run = mutual_run (fixture, &client_check, &server_check);

  run.client_identity = NULL;
  run_handshake (&run);
  g_assert_nonnull (run.server_error);
  g_assert_null (run.server_stream);
  assert_client_refused (&run);
  run_clear (&run);
}

/* The gateway's way: any client key will do; it records the fingerprint. */
static void
test_any_client_certificate (Fixture *fixture, gconstpointer data)
{
  CvTlsPeerCheck client_check = pin (fixture->gateway, "the gateway");
  Run run = mutual_run (fixture, &client_check, NULL);
  g_autofree char *seen = NULL;

  run_handshake (&run);
  g_assert_no_error (run.client_error);
  g_assert_no_error (run.server_error);
  seen = cv_fingerprint_of_certificate (
    g_tls_connection_get_peer_certificate (G_TLS_CONNECTION (run.server_stream)));
  g_assert_cmpstr (seen, ==, cv_identity_get_fingerprint (fixture->agent));
  run_clear (&run);

  /* ... but one there must be. */
  run = mutual_run (fixture, &client_check, NULL);
  run.client_identity = NULL;
  run_handshake (&run);
  g_assert_nonnull (run.server_error);
  assert_client_refused (&run);
  run_clear (&run);
}

/* The Let's Encrypt-style server, checked against the test CA or the system's. */
static Run
ca_issued_run (CvIdentity *server, const CvTlsPeerCheck *client_check, const char *server_name)
{
  Run run = {
    .server_identity = server,
    .server_alpn = CV_TLS_ALPN,
    .server_name = server_name,
    .client_check = client_check,
    .client_alpn = CV_TLS_ALPN,
  };

  return run;
}

static void
test_private_ca_accepted (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CvIdentity) server = load_ca_issued_server (fixture);
  g_autoptr (GTlsDatabase) database = test_ca_database ();
  CvTlsPeerCheck check = { .database = database, .peer_name = "the gateway" };
  Run run = ca_issued_run (server, &check, "localhost");

  run_handshake (&run);
  g_assert_no_error (run.client_error);
  g_assert_no_error (run.server_error);
  assert_tls13_culvert (run.client_stream);
  assert_round_trip (run.client_stream, run.server_stream, 4096);
  run_clear (&run);
}

static void
test_private_ca_wrong_name (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CvIdentity) server = load_ca_issued_server (fixture);
  g_autoptr (GTlsDatabase) database = test_ca_database ();
  g_autofree char *fingerprint = expected_server_fingerprint ();
  g_autofree char *expected = NULL;
  CvTlsPeerCheck check = {
    .database = database,
    .peer_name = "the gateway",
    .pin_key = "gateway_fingerprint",
  };
  Run run = ca_issued_run (server, &check, "wrong.example");

  run_handshake (&run);
  g_assert_error (run.client_error, CV_TLS_ERROR, CV_TLS_ERROR_UNTRUSTED);
  expected = g_strdup_printf ("the gateway's certificate is not trusted (not issued for "
                              "\"wrong.example\"); its fingerprint is %s; if that is right, set "
                              "\"gateway_fingerprint\": \"%s\"",
                              fingerprint, fingerprint);
  g_assert_cmpstr (run.client_error->message, ==, expected);
  run_clear (&run);
}

/* Without the test CA, the same chain is from nobody the client knows. */
static void
test_private_ca_unknown (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CvIdentity) server = load_ca_issued_server (fixture);
  CvTlsPeerCheck check = { .peer_name = "the gateway" };
  Run run = ca_issued_run (server, &check, "localhost");

  run_handshake (&run);
  g_assert_error (run.client_error, CV_TLS_ERROR, CV_TLS_ERROR_UNTRUSTED);
  g_assert_nonnull (strstr (run.client_error->message, "(issued by an unknown authority)"));
  g_assert_nonnull (strstr (run.client_error->message, "if that is right, pin sha256:"));
  run_clear (&run);
}

static void
test_alpn_mismatch (Fixture *fixture, gconstpointer data)
{
  CvTlsPeerCheck check = pin (fixture->gateway, "the gateway");
  Run run = gateway_run (fixture, &check);

  run.client_alpn = "culvert/2";
  run_handshake (&run);
  g_assert_error (run.client_error, CV_TLS_ERROR, CV_TLS_ERROR_ALPN);
  g_assert_cmpstr (run.client_error->message, ==,
                   "the gateway did not agree on the application protocol \"culvert/2\" "
                   "(ALPN: it chose none)");
  g_assert_error (run.server_error, CV_TLS_ERROR, CV_TLS_ERROR_ALPN);
  run_clear (&run);
}

static void
test_bad_pin_text (Fixture *fixture, gconstpointer data)
{
  CvTlsPeerCheck check = { .mode = CV_TLS_PEER_CHECK_PINNED, .fingerprint = "sha256:abc" };
  Run run = { .client_check = &check, .silent_server = TRUE };

  run_handshake (&run);
  g_assert_error (run.client_error, CV_IDENTITY_ERROR, CV_IDENTITY_ERROR_BAD_FINGERPRINT);
  run_clear (&run);
}

static void
test_deadline (Fixture *fixture, gconstpointer data)
{
  CvTlsPeerCheck check = pin (fixture->gateway, "the gateway");
  Run run = { .client_check = &check, .client_timeout_ms = 300, .silent_server = TRUE };
  gint64 start = g_get_monotonic_time ();

  run_handshake (&run);
  g_assert_error (run.client_error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
  g_assert_cmpstr (run.client_error->message, ==,
                   "the TLS handshake with the gateway took longer than 300 ms");
  g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);
  run_clear (&run);
}

static gboolean
cancel_soon (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static void
test_cancelled (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  CvTlsPeerCheck check = pin (fixture->gateway, NULL);
  Run run = { .client_check = &check, .client_cancellable = cancellable, .silent_server = TRUE };

  g_timeout_add (100, cancel_soon, cancellable);
  run_handshake (&run);
  g_assert_error (run.client_error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  run_clear (&run);
}

/* ---- peers that speak only TLS 1.2: GnuTLS itself, in a thread ---------- */

typedef struct {
  gboolean is_server;
  GSocketListener *listener; /* server */
  guint16 port;              /* client */
  int result;
  gnutls_protocol_t version;
} OldPeer;

static gpointer
old_peer_thread (gpointer data)
{
  OldPeer *peer = data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocketConnection) connection = NULL;
  g_autofree char *chain = file_path ("server-fullchain.pem");
  g_autofree char *key = file_path ("server-key.pem");
  gnutls_certificate_credentials_t credentials;
  gnutls_session_t session;
  char buffer[64];
  int ret;

  if (peer->is_server)
    connection = g_socket_listener_accept (peer->listener, NULL, NULL, &error);
  else
    {
      g_autoptr (GSocketClient) client = g_socket_client_new ();

      g_socket_client_set_enable_proxy (client, FALSE);
      connection = g_socket_client_connect_to_host (client, "127.0.0.1", peer->port, NULL, &error);
    }
  g_assert_no_error (error);

  g_assert_cmpint (gnutls_certificate_allocate_credentials (&credentials), ==, 0);
  if (peer->is_server)
    g_assert_cmpint (gnutls_certificate_set_x509_key_file (credentials, chain, key,
                                                           GNUTLS_X509_FMT_PEM),
                     ==, 0);
  g_assert_cmpint (gnutls_init (&session, peer->is_server ? GNUTLS_SERVER : GNUTLS_CLIENT), ==, 0);
  g_assert_cmpint (gnutls_priority_set_direct (session, TLS12_ONLY, NULL), ==, 0);
  g_assert_cmpint (gnutls_credentials_set (session, GNUTLS_CRD_CERTIFICATE, credentials), ==, 0);
  gnutls_transport_set_int (session, g_socket_get_fd (g_socket_connection_get_socket (connection)));
  gnutls_handshake_set_timeout (session, 20000);
  do
    ret = gnutls_handshake (session);
  while (ret < 0 && !gnutls_error_is_fatal (ret));
  peer->result = ret;
  g_debug ("TLS 1.2 peer: %s", gnutls_strerror (ret));
  if (ret == 0)
    {
      peer->version = gnutls_protocol_get_version (session);
      /* Until the other side gives up on us. */
      while (gnutls_record_recv (session, buffer, sizeof buffer) > 0)
        ;
    }
  gnutls_deinit (session);
  gnutls_certificate_free_credentials (credentials);
  return NULL;
}

/* A Culvert client against a server that speaks TLS 1.2 and nothing newer. */
static void
test_tls12_server_refused (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GSocketListener) listener = g_socket_listener_new ();
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autofree char *fingerprint = expected_server_fingerprint ();
  CvTlsPeerCheck check = {
    .mode = CV_TLS_PEER_CHECK_PINNED,
    .fingerprint = fingerprint,
    .peer_name = "the gateway",
  };
  OldPeer peer = { .is_server = TRUE, .listener = listener };
  Run run = { .client_check = &check };
  GThread *thread;
  guint16 port;

  if (!restricted_to_tls13 && !g_test_subprocess ())
    {
      g_test_skip ("G_TLS_GNUTLS_PRIORITY was set from outside");
      return;
    }

  listen_on_loopback (listener, &port);
  thread = g_thread_new ("tls12-server", old_peer_thread, &peer);
  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_connect_to_host_async (client, "127.0.0.1", port, NULL, on_connected, &run);
  g_assert_true (cv_test_wait_until (client_done, &run, 20000));
  g_assert_nonnull (run.client_error);
  g_assert_null (run.client_stream);
  /* Let the thread's read end. */
  g_io_stream_close (G_IO_STREAM (run.client_base), NULL, NULL);
  g_thread_join (thread);

  if (g_test_subprocess ())
    {
      /* TLS 1.2 was allowed in the handshake: the check after it refuses. */
      g_assert_cmpint (peer.result, ==, 0);
      g_assert_cmpint (peer.version, ==, GNUTLS_TLS1_2);
      g_assert_error (run.client_error, CV_TLS_ERROR, CV_TLS_ERROR_PROTOCOL_VERSION);
      g_assert_cmpstr (run.client_error->message, ==,
                       "the TLS connection with the gateway uses TLS 1.2; Culvert requires "
                       "TLS 1.3");
    }
  else
    {
      /* The handshake itself failed: no TLS 1.2 connection ever existed. */
      g_assert_cmpint (peer.result, <, 0);
      g_assert_false (
        g_error_matches (run.client_error, CV_TLS_ERROR, CV_TLS_ERROR_PROTOCOL_VERSION));
    }
  run_clear (&run);
}

/* The process above has TLS 1.3 only in its handshakes; this one, as if an operator
 * had set G_TLS_GNUTLS_PRIORITY, has not, so the check after the handshake is what
 * refuses.  (The variable is read once per process, hence a subprocess.) */
static void
test_tls12_server_refused_after_handshake (Fixture *fixture, gconstpointer data)
{
  g_test_trap_subprocess ("/tls/tls12/server-refused", 30 * G_USEC_PER_SEC,
                          G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* A Culvert server against a client that speaks TLS 1.2 and nothing newer. */
static void
test_tls12_client_refused (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GSocketService) service = g_socket_service_new ();
  Run run = { .server_identity = fixture->gateway };
  OldPeer peer = { .is_server = FALSE };
  GThread *thread;

  if (!restricted_to_tls13)
    {
      g_test_skip ("G_TLS_GNUTLS_PRIORITY was set from outside");
      return;
    }

  listen_on_loopback (G_SOCKET_LISTENER (service), &peer.port);
  g_signal_connect (service, "incoming", G_CALLBACK (on_incoming), &run);
  g_socket_service_start (service);
  thread = g_thread_new ("tls12-client", old_peer_thread, &peer);
  g_assert_true (cv_test_wait_until (server_done, &run, 20000));
  g_assert_nonnull (run.server_error);
  g_assert_null (run.server_stream);
  g_io_stream_close (G_IO_STREAM (run.server_base), NULL, NULL);
  g_thread_join (thread);
  g_assert_cmpint (peer.result, <, 0);
  g_socket_service_stop (service);
  run_clear (&run);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  if (g_test_subprocess ())
    g_setenv ("G_TLS_GNUTLS_PRIORITY", "NORMAL", TRUE);
  restricted_to_tls13 = cv_tls_restrict_process_to_tls13 ();
  /* Not left for programs we start: only this process's TLS changed. */
  if (restricted_to_tls13)
    g_assert_null (g_getenv ("G_TLS_GNUTLS_PRIORITY"));

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/tls/identity/create-and-load", test_identity_create_and_load);
  ADD ("/tls/identity/created-flag", test_identity_created_flag);
  ADD ("/tls/identity/insecure-permissions", test_identity_insecure_permissions);
  ADD ("/tls/identity/invalid-file", test_identity_invalid_file);
  ADD ("/tls/identity/from-files", test_identity_from_files);
  ADD ("/tls/identity/check", test_identity_check);
  g_test_add_func ("/tls/fingerprint/normalize", test_fingerprint_normalize);
  g_test_add_func ("/tls/fingerprint/equal", test_fingerprint_equal);
  ADD ("/tls/pinned/accepted", test_pinned_accepted);
  ADD ("/tls/pinned/wrong-pin", test_pinned_wrong_pin);
  ADD ("/tls/pinned/bad-pin-text", test_bad_pin_text);
  ADD ("/tls/system-ca/self-signed-refused", test_self_signed_refused);
  ADD ("/tls/mutual/pinned", test_mutual_pinned);
  ADD ("/tls/mutual/wrong-client-pin", test_mutual_wrong_client_pin);
  ADD ("/tls/mutual/no-client-certificate", test_mutual_no_client_certificate);
  ADD ("/tls/mutual/any-client-certificate", test_any_client_certificate);
  ADD ("/tls/private-ca/accepted", test_private_ca_accepted);
  ADD ("/tls/private-ca/wrong-name", test_private_ca_wrong_name);
  ADD ("/tls/private-ca/unknown", test_private_ca_unknown);
  ADD ("/tls/alpn/mismatch", test_alpn_mismatch);
  ADD ("/tls/deadline", test_deadline);
  ADD ("/tls/cancelled", test_cancelled);
  ADD ("/tls/tls12/server-refused", test_tls12_server_refused);
  ADD ("/tls/tls12/server-refused-after-handshake", test_tls12_server_refused_after_handshake);
  ADD ("/tls/tls12/client-refused", test_tls12_client_refused);
#undef ADD

  return g_test_run ();
}
