/* test-allow-list.c: which targets a share agent's allow list lets an OPEN reach, with
 * every other spelling of an address an attacker or a user may write. */
#include "auth/cv-allow-list.h"
#include "config/cv-agent-config.h"

#include <json-glib/json-glib.h>
#include <string.h>

typedef struct {
  const char *rule; /* one entry: host, ports */
  guint16 port_lo;
  guint16 port_hi;
  const char *host; /* what an OPEN names */
  guint16 port;
  gboolean permitted;
} Case;

static const Case cases[] = {
  /* The loopback names stand for one another, in every way an address is written. */
  { "127.0.0.1", 22, 22, "127.0.0.1", 22, TRUE },
  { "127.0.0.1", 22, 22, "localhost", 22, TRUE },
  { "127.0.0.1", 22, 22, "LOCALHOST", 22, TRUE },
  { "127.0.0.1", 22, 22, "::1", 22, TRUE },
  { "127.0.0.1", 22, 22, "[::1]", 22, TRUE },
  { "127.0.0.1", 22, 22, "0:0:0:0:0:0:0:1", 22, TRUE },
  { "127.0.0.1", 22, 22, "::ffff:127.0.0.1", 22, TRUE },
  { "127.0.0.1", 22, 22, "[::ffff:7f00:1]", 22, TRUE },
  { "::1", 22, 22, "127.0.0.1", 22, TRUE },
  { "[::1]", 22, 22, "localhost", 22, TRUE },
  { "localhost", 5900, 5900, "127.0.0.1", 5900, TRUE },
  { "LocalHost", 5900, 5900, "localhost", 5900, TRUE },
  { "localhost", 5900, 5900, "::ffff:127.0.0.1", 5900, TRUE },
  /* Ports at the edges of the entry's range. */
  { "127.0.0.1", 22, 22, "127.0.0.1", 21, FALSE },
  { "127.0.0.1", 22, 22, "127.0.0.1", 23, FALSE },
  { "127.0.0.1", 1, 65535, "127.0.0.1", 1, TRUE },
  { "127.0.0.1", 1, 65535, "127.0.0.1", 65535, TRUE },
  { "127.0.0.1", 1, 65535, "127.0.0.1", 0, FALSE },
  { "host.internal", 8000, 8010, "host.internal", 8000, TRUE },
  { "host.internal", 8000, 8010, "host.internal", 8010, TRUE },
  { "host.internal", 8000, 8010, "host.internal", 7999, FALSE },
  { "host.internal", 8000, 8010, "host.internal", 8011, FALSE },
  /* Numbers that getaddrinfo(3) reads as 127.0.0.1 on glibc: never compared. */
  { "127.0.0.1", 22, 22, "127.1", 22, FALSE },
  { "127.0.0.1", 22, 22, "2130706433", 22, FALSE },
  { "127.0.0.1", 22, 22, "0x7f000001", 22, FALSE },
  { "127.0.0.1", 22, 22, "0X7F000001", 22, FALSE },
  { "127.0.0.1", 22, 22, "0177.0.0.1", 22, FALSE },
  { "127.0.0.1", 22, 22, "127.0.0.01", 22, FALSE },
  { "127.0.0.1", 22, 22, "127.0.0.0x1", 22, FALSE },
  { "localhost", 22, 22, "127.1", 22, FALSE },
  { "192.168.1.10", 5900, 5900, "3232235786", 5900, FALSE },
  { "192.168.1.10", 5900, 5900, "0xc0a8010a", 5900, FALSE },
  { "192.168.1.10", 5900, 5900, "192.168.1.010", 5900, FALSE },
  /* An IPv4-mapped IPv6 address is its IPv4 address to connect(2). */
  { "192.168.1.10", 5900, 5900, "::ffff:192.168.1.10", 5900, TRUE },
  { "192.168.1.10", 5900, 5900, "[::ffff:c0a8:10a]", 5900, TRUE },
  { "::ffff:10.0.0.7", 80, 80, "10.0.0.7", 80, TRUE },
  { "192.168.1.10", 5900, 5900, "::c0a8:10a", 5900, FALSE },
  /* The any address reaches every local service: never a target. */
  { "127.0.0.1", 22, 22, "0.0.0.0", 22, FALSE },
  { "127.0.0.1", 22, 22, "0", 22, FALSE },
  { "127.0.0.1", 22, 22, "::", 22, FALSE },
  { "127.0.0.1", 22, 22, "[::]", 22, FALSE },
  { "127.0.0.1", 22, 22, "::ffff:0.0.0.0", 22, FALSE },
  { "localhost", 22, 22, "0.0.0.0", 22, FALSE },
  /* A port inside the host would win over the OPEN's port in GNetworkAddress. */
  { "127.0.0.1", 22, 22, "127.0.0.1:22", 22, FALSE },
  { "127.0.0.1", 22, 22, "[::1]:22", 22, FALSE },
  { "localhost", 22, 22, "localhost:22", 22, FALSE },
  { "host.internal", 22, 22, "host.internal:22", 22, FALSE },
  /* Names compare whole, in any case, without a trailing dot. */
  { "host.internal", 22, 22, "HOST.Internal", 22, TRUE },
  { "host.internal", 22, 22, "host.internal.", 22, FALSE },
  { "localhost", 22, 22, "localhost.", 22, FALSE },
  { "localhost", 22, 22, "foo.localhost", 22, FALSE },
  { "host.internal", 22, 22, "xhost.internal", 22, FALSE },
  { "host.internal", 22, 22, "internal", 22, FALSE },
  { "host.internal", 22, 22, "127.0.0.1", 22, FALSE },
  { "127.0.0.1", 22, 22, "127.0.0.2", 22, FALSE },
  /* Zone ids: the address as an address, the interface as written. */
  { "fe80::1%eth0", 22, 22, "fe80::1%eth0", 22, TRUE },
  { "[fe80::1%eth0]", 22, 22, "[fe80::1%eth0]", 22, TRUE },
  { "fe80::1%eth0", 22, 22, "FE80:0::1%eth0", 22, TRUE },
  { "fe80::1%eth0", 22, 22, "fe80::1%ETH0", 22, FALSE },
  { "fe80::1%eth0", 22, 22, "fe80::1%2", 22, FALSE },
  { "fe80::1%eth0", 22, 22, "fe80::1", 22, FALSE },
  { "fe80::1", 22, 22, "fe80::1%eth0", 22, FALSE },
  { "::1", 22, 22, "::1%lo", 22, FALSE },
  /* Whitespace, nothing, too much. */
  { "127.0.0.1", 22, 22, " 127.0.0.1", 22, FALSE },
  { "127.0.0.1", 22, 22, "127.0.0.1 ", 22, FALSE },
  { "localhost", 22, 22, "local host", 22, FALSE },
  { "localhost", 22, 22, "localhost\n", 22, FALSE },
  { "localhost", 22, 22, "", 22, FALSE },
  { "localhost", 22, 22, NULL, 22, FALSE },
  { "localhost", 22, 22, "[]", 22, FALSE },
  { "localhost", 22, 22, "[localhost]", 22, FALSE },
  { "127.0.0.1", 22, 22, "[127.0.0.1]", 22, FALSE },
};

static void
test_permits (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const Case *c = &cases[i];
      g_autoptr (CvAllowList) list = cv_allow_list_new ();
      g_autoptr (GError) error = NULL;

      g_test_message ("entry %s:%u-%u, OPEN %s:%u", c->rule, c->port_lo, c->port_hi,
                      c->host ? c->host : "(null)", c->port);
      g_assert_true (cv_allow_list_add (list, c->rule, c->port_lo, c->port_hi, &error));
      g_assert_no_error (error);
      g_assert_cmpint (cv_allow_list_permits (list, c->host, c->port), ==, c->permitted);
    }
}

/* Every host permitted for a loopback entry dials loopback at the OPEN's port, as the
 * share agent dials it (GNetworkAddress, port given apart). */
static void
test_permitted_loopback_dials_loopback (void)
{
  g_autoptr (CvAllowList) list = cv_allow_list_new ();

  g_assert_true (cv_allow_list_add (list, "localhost", 22, 22, NULL));
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const Case *c = &cases[i];
      g_autoptr (GSocketConnectable) connectable = NULL;
      g_autoptr (GSocketAddressEnumerator) addresses = NULL;
      g_autoptr (GError) error = NULL;
      guint n = 0;

      if (c->host == NULL || !cv_allow_list_permits (list, c->host, 22))
        continue;
      connectable = g_network_address_parse (c->host, 22, &error);
      g_assert_no_error (error);
      addresses = g_socket_connectable_enumerate (connectable);
      for (;;)
        {
          g_autoptr (GSocketAddress) address = g_socket_address_enumerator_next (addresses, NULL,
                                                                                 &error);
          GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS (address);
          g_autoptr (GInetAddress) ipv4 = NULL;
          g_autofree char *ip_text = NULL;
          GInetAddress *ip;

          g_assert_no_error (error);
          if (address == NULL)
            break;
          ip = g_inet_socket_address_get_address (inet);
          ip_text = g_inet_address_to_string (ip);
          g_test_message ("%s dials %s", c->host, ip_text);
          g_assert_cmpuint (g_inet_socket_address_get_port (inet), ==, 22);
          if (g_inet_address_get_family (ip) == G_SOCKET_FAMILY_IPV6
              && memcmp (g_inet_address_to_bytes (ip), "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
            ip = ipv4 = g_inet_address_new_from_bytes (g_inet_address_to_bytes (ip) + 12,
                                                       G_SOCKET_FAMILY_IPV4);
          g_assert_true (g_inet_address_get_is_loopback (ip));
          n++;
        }
      g_assert_cmpuint (n, >, 0);
    }
}

typedef struct {
  const char *host;
  guint16 port_lo;
  guint16 port_hi;
  const char *error; /* a part of the expected message */
} Refusal;

static const Refusal refusals[] = {
  { "127.1", 22, 22, "a number that resolvers read in different ways" },
  { "2130706433", 22, 22, "a number that resolvers read in different ways" },
  { "0x7f000001", 22, 22, "a number that resolvers read in different ways" },
  { "0177.0.0.1", 22, 22, "a number that resolvers read in different ways" },
  { "127.0.0.0x1", 22, 22, "a number that resolvers read in different ways" },
  { "1.2.3", 22, 22, "a number that resolvers read in different ways" },
  { "300.1.1.1", 22, 22, "a number that resolvers read in different ways" },
  { "0.0.0.0", 22, 22, "“0.0.0.0” stands for any address of this machine" },
  { "0.1.2.3", 22, 22, "stands for any address of this machine" },
  { "::", 22, 22, "“::” stands for any address of this machine" },
  { "[::]", 22, 22, "“::” stands for any address of this machine" },
  { "::ffff:0.0.0.0", 22, 22, "stands for any address of this machine" },
  { "127.0.0.1:22", 22, 22, "a port is given apart from the host" },
  { "[::1]:22", 22, 22, "a port is given apart from the host" },
  { "localhost:22", 22, 22, "a port is given apart from the host" },
  { "[127.0.0.1]", 22, 22, "only an IPv6 address goes in brackets" },
  { "[]", 22, 22, "is not an IPv6 address in brackets" },
  { "localhost.", 22, 22, "is not a valid host name" },
  { " localhost", 22, 22, "is not a valid host name" },
  { "localhost\t", 22, 22, "is not a valid host name" },
  { "local host", 22, 22, "is not a valid host name" },
  { "-host", 22, 22, "is not a valid host name" },
  { "", 22, 22, "the host is empty" },
  { NULL, 22, 22, "the host is empty" },
  { "fe80::1%", 22, 22, "is not a zone id" },
  { "fe80::1%eth 0", 22, 22, "is not a zone id" },
  { "fe80::1%a-very-long-interface", 22, 22, "is not a zone id" },
  { "fe80::1%eth0%eth1", 22, 22, "is not a zone id" },
  { "localhost", 0, 0, "port 0 cannot be dialled" },
  { "localhost", 0, 10, "port 0 cannot be dialled" },
  { "localhost", 100, 50, "the port range 100-50 runs backwards" },
  { "localhost", 65535, 1, "the port range 65535-1 runs backwards" },
};

static void
test_add_refused (void)
{
  g_autoptr (CvAllowList) list = cv_allow_list_new ();

  for (gsize i = 0; i < G_N_ELEMENTS (refusals); i++)
    {
      const Refusal *r = &refusals[i];
      g_autoptr (GError) error = NULL;

      g_test_message ("entry %s:%u-%u", r->host ? r->host : "(null)", r->port_lo, r->port_hi);
      g_assert_false (cv_allow_list_add (list, r->host, r->port_lo, r->port_hi, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, r->error));
      g_assert_cmpuint (cv_allow_list_get_length (list), ==, 0);
      /* What the config checks with says the same. */
      if (r->port_lo != 0 && r->port_lo <= r->port_hi)
        {
          g_clear_error (&error);
          g_assert_false (cv_allow_list_check_host (r->host, &error));
          g_assert_nonnull (strstr (error->message, r->error));
        }
    }
}

static void
test_host_length (void)
{
  g_autoptr (CvAllowList) list = cv_allow_list_new ();
  g_autoptr (GString) longest = g_string_new (NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *too_long = NULL;
  g_autofree char *long_label = g_strnfill (64, 'a');

  /* 253 characters: labels of 63 and dots, as DNS allows. */
  while (longest->len + 64 <= 253)
    g_string_append (longest, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
  while (longest->len < 253)
    g_string_append_c (longest, 'b');
  g_assert_cmpuint (longest->len, ==, 253);
  g_assert_true (cv_allow_list_add (list, longest->str, 22, 22, &error));
  g_assert_no_error (error);
  g_assert_true (cv_allow_list_permits (list, longest->str, 22));

  too_long = g_strconcat (longest->str, "b", NULL);
  g_assert_false (cv_allow_list_add (list, too_long, 22, 22, &error));
  g_assert_nonnull (strstr (error->message, "at most 253"));
  g_assert_false (cv_allow_list_permits (list, too_long, 22));
  g_clear_error (&error);
  g_assert_false (cv_allow_list_add (list, long_label, 22, 22, &error));
  g_assert_nonnull (strstr (error->message, "is not a valid host name"));
  g_assert_cmpuint (cv_allow_list_get_length (list), ==, 1);
}

static void
test_several_entries (void)
{
  g_autoptr (CvAllowList) list = cv_allow_list_new ();

  g_assert_cmpuint (cv_allow_list_get_length (list), ==, 0);
  g_assert_false (cv_allow_list_permits (list, "localhost", 22));
  g_assert_true (cv_allow_list_add (list, "localhost", 5900, 5900, NULL));
  g_assert_true (cv_allow_list_add (list, "192.168.1.10", 8000, 8010, NULL));
  g_assert_true (cv_allow_list_add (list, "[2001:db8::7]", 443, 443, NULL));
  g_assert_cmpuint (cv_allow_list_get_length (list), ==, 3);
  g_assert_true (cv_allow_list_permits (list, "::1", 5900));
  g_assert_true (cv_allow_list_permits (list, "192.168.1.10", 8005));
  g_assert_true (cv_allow_list_permits (list, "2001:DB8:0::7", 443));
  /* One entry's host with another's port is not allowed. */
  g_assert_false (cv_allow_list_permits (list, "localhost", 8005));
  g_assert_false (cv_allow_list_permits (list, "192.168.1.10", 5900));
  g_assert_false (cv_allow_list_permits (list, "2001:db8::7", 5900));
}

/* The config refuses the same hosts, naming the entry. */
static void
test_config (void)
{
  static const struct {
    const char *entry;
    const char *error; /* NULL: accepted */
  } entries[] = {
    { "localhost:5900", NULL },
    { "[::ffff:7f00:1]:22", NULL },
    { "[fe80::1%eth0]:22", NULL },
    { "0x7f000001:22", "allow[0]: expected a target to allow, got \"0x7f000001:22\" (“0x7f000001” "
                       "is a number that resolvers read in different ways" },
    { "127.0.0.0x1:22", "a number that resolvers read in different ways" },
    { "127.1:22", "allow[0]: expected host:port or host:low-high, got \"127.1:22\"" },
    { "0.0.0.0:22", "allow[0]: expected a target to allow, got \"0.0.0.0:22\" (“0.0.0.0” stands "
                    "for any address of this machine" },
    { "[::]:22", "“::” stands for any address of this machine" },
    { "[::ffff:0.0.0.0]:22", "stands for any address of this machine" },
    { "localhost.:22", "expected host:port or host:low-high" },
    { "localhost:0", "port 0 is outside 1–65535" },
    { "localhost:10-1", "the port range 10-1 runs backwards" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (entries); i++)
    {
      g_autofree char *text =
        g_strdup_printf ("{\"gateway\": \"relay.example.com:8443\", \"session\": \"alpha\", "
                         "\"password_env\": \"CULVERT_PASSWORD\", \"allow\": [\"%s\"]}",
                         entries[i].entry);
      g_autoptr (JsonParser) parser = json_parser_new ();
      g_autoptr (GError) error = NULL;
      g_autoptr (CvShareConfig) config = NULL;

      g_test_message ("allow %s", entries[i].entry);
      g_assert_true (json_parser_load_from_data (parser, text, -1, &error));
      config = cv_share_config_new_from_json (json_node_get_object (json_parser_get_root (parser)),
                                              "share.json", &error);
      if (entries[i].error == NULL)
        {
          g_autoptr (CvAllowList) list = cv_allow_list_new ();
          CvAllowedTarget *target;

          g_assert_no_error (error);
          target = g_ptr_array_index (config->allow, 0);
          g_assert_true (
            cv_allow_list_add (list, target->host, target->port_lo, target->port_hi, &error));
          g_assert_no_error (error);
        }
      else
        {
          g_assert_null (config);
          g_assert_nonnull (error);
          g_test_message ("%s", error->message);
          g_assert_nonnull (strstr (error->message, entries[i].error));
        }
    }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/allow-list/permits", test_permits);
  g_test_add_func ("/allow-list/permitted-loopback-dials-loopback",
                   test_permitted_loopback_dials_loopback);
  g_test_add_func ("/allow-list/add-refused", test_add_refused);
  g_test_add_func ("/allow-list/host-length", test_host_length);
  g_test_add_func ("/allow-list/several-entries", test_several_entries);
  g_test_add_func ("/allow-list/config", test_config);
  return g_test_run ();
}
