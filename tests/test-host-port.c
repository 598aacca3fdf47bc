/* test-host-port.c: what "host:port" text is accepted, how it is spelled afterwards,
 * and how each refusal reads. */
#include "wire/cv-host-port.h"

#include <gio/gio.h>
#include <string.h>

typedef struct {
  const char *text;
  const char *default_host; /* NULL: a host is required */
  gboolean ranges;          /* pass port_hi, allowing "low-high" */
  const char *host;         /* expected host, or NULL when the text is refused */
  guint16 port_lo;
  guint16 port_hi;
  const char *error; /* a part of the expected message */
} Case;

static const Case accepted[] = {
  { "127.0.0.1:5900", NULL, FALSE, "127.0.0.1", 5900, 5900 },
  { "0.0.0.0:8443", NULL, FALSE, "0.0.0.0", 8443, 8443 },
  { "localhost:22", NULL, FALSE, "localhost", 22, 22 },
  { "LocalHost:22", NULL, FALSE, "localhost", 22, 22 },
  { "vps.example.com:443", NULL, FALSE, "vps.example.com", 443, 443 },
  { "build_01.lab.internal:1", NULL, FALSE, "build_01.lab.internal", 1, 1 },
  { "host:65535", NULL, FALSE, "host", 65535, 65535 },
  { "host:080", NULL, FALSE, "host", 80, 80 },
  { "[::1]:22", NULL, FALSE, "::1", 22, 22 },
  { "[::]:8443", NULL, FALSE, "::", 8443, 8443 },
  { "[0:0::1]:22", NULL, FALSE, "::1", 22, 22 },
  { "[2001:DB8::7]:443", NULL, FALSE, "2001:db8::7", 443, 443 },
  { "[fe80::1%eth0]:22", NULL, FALSE, "fe80::1%eth0", 22, 22 },
  { "5920", "127.0.0.1", FALSE, "127.0.0.1", 5920, 5920 },
  { "10.0.0.5:22", "127.0.0.1", FALSE, "10.0.0.5", 22, 22 },
  { "192.168.1.10:8000-8010", NULL, TRUE, "192.168.1.10", 8000, 8010 },
  { "host:1-65535", NULL, TRUE, "host", 1, 65535 },
  { "host:80-80", NULL, TRUE, "host", 80, 80 },
  { "[::1]:22-23", NULL, TRUE, "::1", 22, 23 },
  { "localhost:5900", NULL, TRUE, "localhost", 5900, 5900 },
};

static const Case refused[] = {
  { "", NULL, FALSE, NULL, 0, 0, "empty" },
  { "5900", NULL, FALSE, NULL, 0, 0, "a host is missing" },
  { "localhost", NULL, FALSE, NULL, 0, 0, "a port is missing" },
  { "localhost", "127.0.0.1", FALSE, NULL, 0, 0, "“localhost” is not a port number" },
  { ":80", NULL, FALSE, NULL, 0, 0, "a host is missing" },
  { "host:", NULL, FALSE, NULL, 0, 0, "a port number is missing" },
  { "host:0", NULL, FALSE, NULL, 0, 0, "port 0 is outside 1–65535" },
  { "host:65536", NULL, FALSE, NULL, 0, 0, "port 65536 is outside 1–65535" },
  { "host:123456", NULL, FALSE, NULL, 0, 0, "port 123456 is outside 1–65535" },
  { "host:abc", NULL, FALSE, NULL, 0, 0, "“abc” is not a port number" },
  { "host:+80", NULL, FALSE, NULL, 0, 0, "“+80” is not a port number" },
  { "host: 80", NULL, FALSE, NULL, 0, 0, "“ 80” is not a port number" },
  { "host:0x50", NULL, FALSE, NULL, 0, 0, "“0x50” is not a port number" },
  { "0", "127.0.0.1", FALSE, NULL, 0, 0, "port 0 is outside 1–65535" },
  { "::1:22", NULL, FALSE, NULL, 0, 0, "IPv6 address needs brackets" },
  { "::1", "127.0.0.1", FALSE, NULL, 0, 0, "IPv6 address needs brackets" },
  { "[::1]", NULL, FALSE, NULL, 0, 0, "expected “:port” after “]”" },
  { "[::1]22", NULL, FALSE, NULL, 0, 0, "expected “:port” after “]”" },
  { "[::1:22", NULL, FALSE, NULL, 0, 0, "without a closing" },
  { "[localhost]:22", NULL, FALSE, NULL, 0, 0, "“localhost” is not an IPv6 address" },
  { "[1.2.3.4]:22", NULL, FALSE, NULL, 0, 0, "“1.2.3.4” is not an IPv6 address" },
  { "[]:22", NULL, FALSE, NULL, 0, 0, "is not an IPv6 address" },
  { "300.1.1.1:80", NULL, FALSE, NULL, 0, 0, "“300.1.1.1” is not a valid IPv4 address" },
  { "1.2.3:80", NULL, FALSE, NULL, 0, 0, "not a valid IPv4 address" },
  { "exa mple.com:80", NULL, FALSE, NULL, 0, 0, "not a valid host name" },
  { "-bad.com:80", NULL, FALSE, NULL, 0, 0, "not a valid host name" },
  { "bad-.com:80", NULL, FALSE, NULL, 0, 0, "not a valid host name" },
  { "a..b:80", NULL, FALSE, NULL, 0, 0, "not a valid host name" },
  { "trailing.dot.:80", NULL, FALSE, NULL, 0, 0, "not a valid host name" },
  { "host/path:80", NULL, FALSE, NULL, 0, 0, "not a valid host name" },
  { "host:9000-8000", NULL, TRUE, NULL, 0, 0, "the port range 9000-8000 runs backwards" },
  { "host:8000-", NULL, TRUE, NULL, 0, 0, "a port number is missing" },
  { "host:-8000", NULL, TRUE, NULL, 0, 0, "a port number is missing" },
  { "host:1-2-3", NULL, TRUE, NULL, 0, 0, "“2-3” is not a port number" },
  { "host:0-10", NULL, TRUE, NULL, 0, 0, "port 0 is outside 1–65535" },
  { "host:80-81", NULL, FALSE, NULL, 0, 0, "a single port is expected here, not the range 80-81" },
  { "5900-5901", "127.0.0.1", FALSE, NULL, 0, 0, "a single port is expected" },
  /* What a refusal repeats is printable ASCII: no control character (U+0080 is a C1
   * one), no UTF-8 cut in half by the 64-byte bound. */
  { "[fe80::1%eth0]:\xc2\x80"
    "1:1",
    NULL, FALSE, NULL, 0, 0, "“??1:1” is not a port number" },
  { "host\x1b[2J:80", NULL, FALSE, NULL, 0, 0, "“host?[2J” is not a valid host name" },
  { "[::1\n]:22", NULL, FALSE, NULL, 0, 0, "“::1?” is not an IPv6 address" },
  { "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaé:80", NULL, FALSE, NULL, 0, 0,
    "“aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa?” is not a valid host name" },
};

static void
test_accepted (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (accepted); i++)
    {
      const Case *c = &accepted[i];
      g_autoptr (GError) error = NULL;
      g_autofree char *host = NULL;
      guint16 lo = 0;
      guint16 hi = 0;
      gboolean ok;

      g_test_message ("%s", c->text);
      ok = cv_host_port_parse (c->text, c->default_host, &host, &lo, c->ranges ? &hi : NULL,
                               &error);
      g_assert_no_error (error);
      g_assert_true (ok);
      g_assert_cmpstr (host, ==, c->host);
      g_assert_cmpuint (lo, ==, c->port_lo);
      if (c->ranges)
        g_assert_cmpuint (hi, ==, c->port_hi);
    }
}

static void
test_refused (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      const Case *c = &refused[i];
      g_autoptr (GError) error = NULL;
      char *host = NULL;
      guint16 lo = 7;
      guint16 hi = 7;

      g_test_message ("%s", c->text);
      g_assert_false (
        cv_host_port_parse (c->text, c->default_host, &host, &lo, c->ranges ? &hi : NULL, &error));
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, c->error));
      /* Nothing is written on failure. */
      g_assert_null (host);
      g_assert_cmpuint (lo, ==, 7);
      g_assert_cmpuint (hi, ==, 7);
    }
}

/* ssh's -L: the listen part and the target part, each still to be parsed. */
static void
test_split_forward (void)
{
  const struct {
    const char *text;
    const char *listen; /* NULL: refused */
    const char *target;
  } cases[] = {
    { "5920:localhost:5900", "5920", "localhost:5900" },
    { "127.0.0.1:5920:localhost:5900", "127.0.0.1:5920", "localhost:5900" },
    { "0.0.0.0:8080:10.0.0.5:80", "0.0.0.0:8080", "10.0.0.5:80" },
    { "[::1]:5920:[::1]:5900", "[::1]:5920", "[::1]:5900" },
    { "5920:[2001:db8::7]:22", "5920", "[2001:db8::7]:22" },
    { "[::1]:5920:host.example:22", "[::1]:5920", "host.example:22" },
    { "localhost:5900", NULL, NULL },
    { "5900", NULL, NULL },
    { "", NULL, NULL },
    { ":localhost:5900", NULL, NULL },
    { "5920:::1]:22", NULL, NULL },
    { "[::1]:22", NULL, NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *listen = NULL;
      g_autofree char *target = NULL;
      gboolean ok;

      g_test_message ("%s", cases[i].text);
      ok = cv_host_port_split_forward (cases[i].text, &listen, &target, &error);
      if (cases[i].listen == NULL)
        {
          g_assert_false (ok);
          g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
          g_assert_null (listen);
          g_assert_null (target);
          continue;
        }
      g_assert_no_error (error);
      g_assert_true (ok);
      g_assert_cmpstr (listen, ==, cases[i].listen);
      g_assert_cmpstr (target, ==, cases[i].target);
    }
}

/* DNS's limits: labels of 63 characters, names of 253. */
static void
test_host_length (void)
{
  g_autofree char *label_63 = g_strnfill (63, 'a');
  g_autofree char *label_64 = g_strnfill (64, 'a');
  g_autofree char *ok_label = g_strdup_printf ("%s.example:1", label_63);
  g_autofree char *long_label = g_strdup_printf ("%s.example:1", label_64);
  /* Four labels of 63 and the dots: 255 characters; one shorter by two: 253. */
  g_autofree char *name_253 = g_strdup_printf ("%s.%s.%s.%.61s:1", label_63, label_63, label_63,
                                               label_63);
  g_autofree char *name_254 = g_strdup_printf ("%s.%s.%s.%.62s:1", label_63, label_63, label_63,
                                               label_63);
  g_autofree char *host = NULL;
  g_autoptr (GError) error = NULL;
  guint16 port;

  g_assert_true (cv_host_port_parse (ok_label, NULL, &host, &port, NULL, &error));
  g_assert_no_error (error);
  g_clear_pointer (&host, g_free);
  g_assert_true (cv_host_port_parse (name_253, NULL, &host, &port, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (strlen (host), ==, 253);
  g_clear_pointer (&host, g_free);

  g_assert_false (cv_host_port_parse (long_label, NULL, &host, &port, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (cv_host_port_parse (name_254, NULL, &host, &port, NULL, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/host-port/accepted", test_accepted);
  g_test_add_func ("/host-port/refused", test_refused);
  g_test_add_func ("/host-port/host-length", test_host_length);
  g_test_add_func ("/host-port/split-forward", test_split_forward);

  return g_test_run ();
}
