/* test-gateway-sources.c: the gateway's per-address limits count an IPv6 client by its
 * /64, over real connections from several IPv6 addresses.
 *
 * Loopback has only ::1 for IPv6, so the program first moves into a network namespace
 * of its own (as root, or in a user namespace of its own), brings its loopback up and
 * gives it addresses in two /64s.  Where the kernel allows neither, the case is
 * skipped; auth/cv-source-key and admission are also unit-tested with GInetAddress
 * values in test-admission.
 */
#define _GNU_SOURCE /* unshare() */
#include "gateway-fixture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* Linux's <linux/ipv6.h>, which cannot be included next to <netinet/in.h>. */
struct in6_ifreq {
  struct in6_addr ifr6_addr;
  guint32 ifr6_prefixlen;
  int ifr6_ifindex;
};

/* Two addresses of one /64 and one of the next. */
static const char *const sources[] = { "2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:3::1" };
static gboolean have_sources;
static char *no_sources_why;

static gboolean
write_file (const char *path, const char *text)
{
  int fd = open (path, O_WRONLY);
  gboolean ok;

  if (fd < 0)
    return FALSE;
  ok = write (fd, text, strlen (text)) == (gssize) strlen (text);
  close (fd);
  return ok;
}

/* A user namespace gives this process the capabilities for its new network namespace;
 * its own uid and gid are mapped so that the files it makes are still its own. */
static gboolean
unshare_as_user (void)
{
  uid_t uid = getuid ();
  gid_t gid = getgid ();
  char map[64];

  if (unshare (CLONE_NEWUSER | CLONE_NEWNET) != 0)
    return FALSE;
  g_snprintf (map, sizeof map, "%u %u 1\n", (guint) uid, (guint) uid);
  if (!write_file ("/proc/self/uid_map", map) || !write_file ("/proc/self/setgroups", "deny"))
    return FALSE;
  g_snprintf (map, sizeof map, "%u %u 1\n", (guint) gid, (guint) gid);
  return write_file ("/proc/self/gid_map", map);
}

/* Runs before GLib starts a thread: unshare(CLONE_NEWUSER) wants a single thread. */
static void
enter_private_network (void)
{
  struct ifreq ifr = { 0 };
  int fd4, fd6;

  if (unshare (CLONE_NEWNET) != 0 && !unshare_as_user ())
    {
      no_sources_why = g_strdup_printf ("no network namespace of its own: %s", g_strerror (errno));
      return;
    }
  fd4 = socket (AF_INET, SOCK_DGRAM, 0);
  fd6 = socket (AF_INET6, SOCK_DGRAM, 0);
  g_strlcpy (ifr.ifr_name, "lo", sizeof ifr.ifr_name);
  if (fd4 < 0 || fd6 < 0 || ioctl (fd4, SIOCGIFFLAGS, &ifr) != 0)
    goto failed;
  ifr.ifr_flags |= IFF_UP;
  if (ioctl (fd4, SIOCSIFFLAGS, &ifr) != 0)
    goto failed;
  for (gsize i = 0; i < G_N_ELEMENTS (sources); i++)
    {
      /* Loopback does no duplicate address detection: usable at once. */
      struct in6_ifreq ifr6 = { .ifr6_prefixlen = 128, .ifr6_ifindex = if_nametoindex ("lo") };

      if (inet_pton (AF_INET6, sources[i], &ifr6.ifr6_addr) != 1
          || ioctl (fd6, SIOCSIFADDR, &ifr6) != 0)
        goto failed;
    }
  have_sources = TRUE;
  close (fd4);
  close (fd6);
  return;

failed:
  no_sources_why = g_strdup_printf ("could not set up loopback: %s", g_strerror (errno));
  if (fd4 >= 0)
    close (fd4);
  if (fd6 >= 0)
    close (fd6);
}

/* A TCP connection from @source to [::1]:@port that says nothing; closed_us is set
 * when the gateway closes it. */
static Raw *
raw_connect_from (Fixture *fixture, const char *source, guint16 port)
{
  g_autoptr (GInetAddress) from = g_inet_address_new_from_string (source);
  g_autoptr (GSocketAddress) local = g_inet_socket_address_new (from, 0);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6);
  g_autoptr (GSocketAddress) remote = g_inet_socket_address_new (loopback, port);
  g_autoptr (GSocketClient) client = g_socket_client_new ();
  g_autoptr (GError) error = NULL;
  Raw *raw = g_new0 (Raw, 1);

  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_set_local_address (client, local);
  raw->opened_us = g_get_monotonic_time ();
  raw->connection = g_socket_client_connect (client, G_SOCKET_CONNECTABLE (remote), NULL, &error);
  g_assert_no_error (error);
  raw->received = g_byte_array_new ();
  raw_watch (raw);
  g_ptr_array_add (fixture->raws, raw);
  return raw;
}

/* max_pending_handshakes 128: 16 slots per source. */
#define SOURCES_LIMITS "\"max_pending_handshakes\": 128, \"handshake_timeout_ms\": 3000"
#define PER_SOURCE 16

/* Sixteen idle connections from one address of a /64 take that /64's share of the
 * handshake slots: a seventeenth from another address of the same /64 is refused at
 * once, one from the next /64 is not. */
static void
test_admission_by_64 (Fixture *fixture, gconstpointer data)
{
  g_autoptr (CvGatewayConfig) config = NULL;
  g_autoptr (GError) error = NULL;
  CvGatewayListener *listener;
  Raw *same_64, *next_64;
  guint16 port;

  if (!have_sources)
    {
      g_test_skip (no_sources_why);
      return;
    }
  /* The fixture's gateway listens on 127.0.0.1; this one on ::1. */
  dispose_gateway (fixture);
  config = make_config (fixture, SOURCES_LIMITS, TRUE);
  listener = config->listeners->pdata[0];
  g_free (listener->host);
  listener->host = g_strdup ("::1");
  fixture->gateway = cv_gateway_new (g_steal_pointer (&config), fixture->gateway_identity);
  cv_gateway_start (fixture->gateway, &error);
  g_assert_no_error (error);
  port = g_array_index (cv_gateway_get_listen_ports (fixture->gateway), guint16, 0);

  for (guint i = 0; i < PER_SOURCE; i++)
    raw_connect_from (fixture, sources[0], port);
  same_64 = raw_connect_from (fixture, sources[1], port);
  next_64 = raw_connect_from (fixture, sources[2], port);

  /* Refused on arrival, without a byte. */
  raw_assert_closed_within (same_64, 1000);
  g_assert_cmpuint (same_64->received->len, ==, 0);
  g_assert_cmpuint (count_refusals ("2001:db8:1:2::2: refused: 16 unauthenticated connections "
                                    "from this address (limit 16)"),
                    ==, 1);
  /* Let in: it is closed by the 3 s deadline, not on arrival. */
  g_assert_true (gateway_wait_until (raw_is_closed, next_64, WAIT_MS));
  g_assert_cmpint ((next_64->closed_us - next_64->opened_us) / 1000, >=, 2000);
  g_assert_cmpuint (gateway_refusals->len, ==, 1);
}

int
main (int argc, char **argv)
{
  enter_private_network ();
  gateway_test_init (&argc, &argv);
  gateway_test_add ("/gateway/sources/admission-by-64", SOURCES_LIMITS, test_admission_by_64);
  return gateway_test_run ();
}
