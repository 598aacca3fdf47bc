/* test-tls-stream-ca.c: CvTlsStream as the agents' outer TLS client (wss://): no
 * client certificate, ALPN http/1.1, the server checked by CA and name through GIO's
 * GTlsDatabase, against our own server on real loopback TCP.  The chain from
 * tests/files/tls (a root, an intermediate, "localhost"), and an expired one made here
 * with GnuTLS. */
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>
#include <time.h>

#include "cv-test-util.h"
#include "transport/cv-identity.h"
#include "transport/cv-tls-stream.h"

#define WAIT_MS 20000
#define DAY (24 * 3600)

typedef struct {
  char *dir;
  GSocket *listener;
  guint16 port;
  GSocketConnection *client_base;
  GSocketConnection *server_base;
  CvTlsStream *server;
  CvTlsStream *client;
  gboolean server_done;
  gboolean client_done;
  GError *server_error;
  GError *client_error;
} Fixture;

static void
fixture_set_up (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("culvert-tls-ca-XXXXXX", &error);
  g_assert_no_error (error);
  fixture->listener = cv_test_listen_loopback (&fixture->port);
}

static void
fixture_tear_down (Fixture *fixture, gconstpointer data)
{
  g_clear_object (&fixture->server);
  g_clear_object (&fixture->client);
  g_clear_object (&fixture->server_base);
  g_clear_object (&fixture->client_base);
  g_clear_error (&fixture->server_error);
  g_clear_error (&fixture->client_error);
  g_socket_close (fixture->listener, NULL);
  g_clear_object (&fixture->listener);
  cv_test_remove_tree (fixture->dir);
  g_free (fixture->dir);
}

static char *
file_path (const char *name)
{
  return g_test_build_filename (G_TEST_DIST, "files", "tls", name, NULL);
}

static void
write_file (const char *path, const char *contents, gsize length)
{
  g_autoptr (GError) error = NULL;

  g_file_set_contents_full (path, contents, length, G_FILE_SET_CONTENTS_NONE, 0600, &error);
  g_assert_no_error (error);
}

/* The committed "localhost" certificate with its intermediate (certbot's fullchain). */
static CvIdentity *
issued_identity (Fixture *fixture)
{
  g_autofree char *chain = file_path ("server-fullchain.pem");
  g_autofree char *key_source = file_path ("server-key.pem");
  g_autofree char *key = g_build_filename (fixture->dir, "privkey.pem", NULL);
  g_autofree char *contents = NULL;
  g_autoptr (GError) error = NULL;
  CvIdentity *identity;
  gsize length;

  /* The identity wants a private key only its owner can read. */
  g_file_get_contents (key_source, &contents, &length, &error);
  g_assert_no_error (error);
  write_file (key, contents, length);
  identity = cv_identity_new_from_files (chain, key, &error);
  g_assert_no_error (error);
  return identity;
}

static GTlsDatabase *
database_from (const char *ca)
{
  g_autoptr (GError) error = NULL;
  GTlsDatabase *database = g_tls_file_database_new (ca, &error);

  g_assert_no_error (error);
  return database;
}

/* ---- an expired chain, made here ---------------------------------------- */

static void
gnutls_ok (int ret)
{
  g_assert_cmpstr (ret < 0 ? gnutls_strerror (ret) : NULL, ==, NULL);
}

static gnutls_x509_privkey_t
new_key (void)
{
  gnutls_x509_privkey_t key;

  gnutls_ok (gnutls_x509_privkey_init (&key));
  gnutls_ok (gnutls_x509_privkey_generate (key, GNUTLS_PK_ECDSA,
                                           GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0));
  return key;
}

static gnutls_x509_crt_t
new_certificate (gnutls_x509_privkey_t key, const char *cn, guint8 serial, time_t from, time_t to)
{
  gnutls_x509_crt_t crt;

  gnutls_ok (gnutls_x509_crt_init (&crt));
  gnutls_ok (gnutls_x509_crt_set_version (crt, 3));
  gnutls_ok (gnutls_x509_crt_set_serial (crt, &serial, 1));
  gnutls_ok (gnutls_x509_crt_set_activation_time (crt, from));
  gnutls_ok (gnutls_x509_crt_set_expiration_time (crt, to));
  gnutls_ok (gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen (cn)));
  gnutls_ok (gnutls_x509_crt_set_key (crt, key));
  return crt;
}

static char *
crt_pem (gnutls_x509_crt_t crt)
{
  gnutls_datum_t out = { 0 };
  char *pem;

  gnutls_ok (gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &out));
  pem = g_strndup ((const char *) out.data, out.size);
  gnutls_free (out.data);
  return pem;
}

/* A CA valid now, and a "localhost" certificate it issued that expired yesterday:
 * the CA in @ca_path, the server's identity returned. */
static CvIdentity *
expired_identity (Fixture *fixture, char **ca_path)
{
  time_t now = time (NULL);
  gnutls_x509_privkey_t ca_key = new_key ();
  gnutls_x509_privkey_t key = new_key ();
  gnutls_x509_crt_t ca = new_certificate (ca_key, "Culvert Expiry Test CA", 1, now - 30 * DAY,
                                          now + 365 * DAY);
  gnutls_x509_crt_t crt = new_certificate (key, "localhost", 2, now - 30 * DAY, now - DAY);
  g_autofree char *ca_pem = NULL;
  g_autofree char *chain = NULL;
  g_autofree char *chain_path = g_build_filename (fixture->dir, "expired.pem", NULL);
  g_autofree char *key_path = g_build_filename (fixture->dir, "expired-key.pem", NULL);
  gnutls_datum_t key_out = { 0 };
  g_autoptr (GError) error = NULL;
  CvIdentity *identity;

  gnutls_ok (gnutls_x509_crt_set_basic_constraints (ca, 1, -1));
  gnutls_ok (gnutls_x509_crt_set_key_usage (ca, GNUTLS_KEY_KEY_CERT_SIGN | GNUTLS_KEY_CRL_SIGN));
  gnutls_ok (gnutls_x509_crt_sign2 (ca, ca, ca_key, GNUTLS_DIG_SHA256, 0));
  gnutls_ok (gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_DNSNAME, "localhost",
                                                   strlen ("localhost"), GNUTLS_FSAN_SET));
  gnutls_ok (gnutls_x509_crt_set_basic_constraints (crt, 0, -1));
  gnutls_ok (gnutls_x509_crt_set_key_usage (crt, GNUTLS_KEY_DIGITAL_SIGNATURE));
  gnutls_ok (gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_SERVER, 0));
  gnutls_ok (gnutls_x509_crt_sign2 (crt, ca, ca_key, GNUTLS_DIG_SHA256, 0));

  ca_pem = crt_pem (ca);
  chain = crt_pem (crt);
  *ca_path = g_build_filename (fixture->dir, "expiry-ca.pem", NULL);
  write_file (*ca_path, ca_pem, strlen (ca_pem));
  write_file (chain_path, chain, strlen (chain));
  gnutls_ok (gnutls_x509_privkey_export2 (key, GNUTLS_X509_FMT_PEM, &key_out));
  write_file (key_path, (const char *) key_out.data, key_out.size);
  gnutls_free (key_out.data);
  gnutls_x509_crt_deinit (crt);
  gnutls_x509_crt_deinit (ca);
  gnutls_x509_privkey_deinit (key);
  gnutls_x509_privkey_deinit (ca_key);

  identity = cv_identity_new_from_files (chain_path, key_path, &error);
  g_assert_no_error (error);
  return identity;
}

/* ---- the handshake ------------------------------------------------------- */

static void
on_server_handshake (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Fixture *fixture = user_data;

  cv_tls_stream_handshake_finish (CV_TLS_STREAM (source), result, &fixture->server_error);
  fixture->server_done = TRUE;
}

static void
on_client_handshake (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Fixture *fixture = user_data;

  cv_tls_stream_handshake_finish (CV_TLS_STREAM (source), result, &fixture->client_error);
  fixture->client_done = TRUE;
}

static gboolean
both_are_done (gpointer data)
{
  Fixture *fixture = data;

  return fixture->server_done && fixture->client_done;
}

/* The gateway's port as a wss:// client sees it (HTTPS besides agents, no client
 * certificate required), and our client without a certificate, by CA for @server_name
 * against @database (NULL: the system's store). */
static void
handshake (Fixture *fixture,
           CvIdentity *server_identity,
           const char *server_name,
           GTlsDatabase *database)
{
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GSocket) accepted = NULL;
  g_autoptr (GError) error = NULL;
  CvTlsPeerCheck check = {
    .mode = CV_TLS_PEER_CHECK_SYSTEM_CA,
    .database = database,
    .peer_name = "the web server",
    .pin_key = "web_fingerprint",
  };

  g_socket_client_set_enable_proxy (client, FALSE);
  fixture->client_base = g_socket_client_connect_to_host (client, "127.0.0.1", fixture->port, NULL,
                                                          &error);
  g_assert_no_error (error);
  accepted = g_socket_accept (fixture->listener, NULL, &error);
  g_assert_no_error (error);
  fixture->server_base = g_socket_connection_factory_create_connection (accepted);

  fixture->server = cv_tls_stream_new (fixture->server_base, TRUE, server_identity, &error);
  g_assert_no_error (error);
  cv_tls_stream_set_also_http (fixture->server, TRUE);
  cv_tls_stream_handshake_async (fixture->server, NULL, CV_TLS_ALPN, 0, NULL, on_server_handshake,
                                 fixture);
  fixture->client = cv_tls_stream_new (fixture->client_base, FALSE, NULL, &error);
  g_assert_no_error (error);
  cv_tls_stream_set_server_name (fixture->client, server_name);
  cv_tls_stream_handshake_async (fixture->client, &check, CV_TLS_ALPN_HTTP, 0, NULL,
                                 on_client_handshake, fixture);
  g_assert_true (cv_test_wait_until (both_are_done, fixture, WAIT_MS));
}

/* A refusal names the peer, the problem, its key and how to pin it. */
static void
assert_untrusted (Fixture *fixture, CvIdentity *server_identity, const char *problem)
{
  g_autofree char *expected = g_strdup_printf ("the web server's certificate is not trusted (%s); "
                                               "its fingerprint is %s; if that is right, set "
                                               "\"web_fingerprint\": \"%s\"",
                                               problem,
                                               cv_identity_get_fingerprint (server_identity),
                                               cv_identity_get_fingerprint (server_identity));

  g_assert_error (fixture->client_error, CV_TLS_ERROR, CV_TLS_ERROR_UNTRUSTED);
  g_assert_cmpstr (fixture->client_error->message, ==, expected);
  /* Refused with an alert, before any application byte. */
  g_assert_nonnull (fixture->server_error);
  g_assert_null (cv_tls_stream_get_negotiated_protocol (fixture->client));
}

/* Root and intermediate as certbot's fullchain: validated against the root alone, for
 * the name it was issued for; bytes then cross. */
static void
test_good_chain (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CvIdentity) issued = issued_identity (fixture);
  g_autofree char *ca = file_path ("ca.pem");
  g_autoptr (GTlsDatabase) database = database_from (ca);
  g_autoptr (GError) error = NULL;
  char buffer[16] = { 0 };
  gsize done = 0;

  handshake (fixture, issued, "localhost", database);
  g_assert_no_error (fixture->client_error);
  g_assert_no_error (fixture->server_error);
  g_assert_cmpstr (cv_tls_stream_get_negotiated_protocol (fixture->client), ==, CV_TLS_ALPN_HTTP);
  g_assert_cmpstr (cv_tls_stream_get_negotiated_protocol (fixture->server), ==, CV_TLS_ALPN_HTTP);
  g_assert_cmpstr (cv_tls_stream_get_peer_fingerprint (fixture->client), ==,
                   cv_identity_get_fingerprint (issued));
  /* No client certificate went: the server saw none. */
  g_assert_null (cv_tls_stream_get_peer_fingerprint (fixture->server));

  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (fixture->client)),
                             "GET / HTTP/1.1", 14, &done, NULL, &error);
  g_assert_no_error (error);
  g_input_stream_read_all (g_io_stream_get_input_stream (G_IO_STREAM (fixture->server)), buffer, 14,
                           &done, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (buffer, ==, "GET / HTTP/1.1");
}

/* The same chain against the system's store, which knows nothing of the test root. */
static void
test_untrusted (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CvIdentity) issued = issued_identity (fixture);

  handshake (fixture, issued, "localhost", NULL);
  assert_untrusted (fixture, issued, "issued by an unknown authority");
}

/* Trusted, but dialled by another name than it was issued for. */
static void
test_wrong_name (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CvIdentity) issued = issued_identity (fixture);
  g_autofree char *ca = file_path ("ca.pem");
  g_autoptr (GTlsDatabase) database = database_from (ca);

  handshake (fixture, issued, "127.0.0.1", database);
  assert_untrusted (fixture, issued, "not issued for \"127.0.0.1\"");
}

/* Trusted CA, right name, out of date. */
static void
test_expired (Fixture *fixture, gconstpointer data)
{
  g_autofree char *ca = NULL;
  g_autoptr (CvIdentity) expired = expired_identity (fixture, &ca);
  g_autoptr (GTlsDatabase) database = database_from (ca);

  handshake (fixture, expired, "localhost", database);
  assert_untrusted (fixture, expired, "expired");
}

/* A self-signed key (what the gateway's port has by default) by CA: refused, its
 * fingerprint given to pin. */
static void
test_self_signed (Fixture *fixture, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CvIdentity) own = cv_identity_load_or_create (fixture->dir, "gateway",
                                                           "culvert gateway", NULL, &error);

  g_assert_no_error (error);
  handshake (fixture, own, "localhost", NULL);
  assert_untrusted (fixture, own, "self-signed");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/tls-stream-ca/good-chain", test_good_chain);
  ADD ("/tls-stream-ca/untrusted", test_untrusted);
  ADD ("/tls-stream-ca/wrong-name", test_wrong_name);
  ADD ("/tls-stream-ca/expired", test_expired);
  ADD ("/tls-stream-ca/self-signed", test_self_signed);
#undef ADD

  return g_test_run ();
}
