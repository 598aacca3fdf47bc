/* fuzz-ticket.c: libFuzzer target for the tunnel preface (wire/cv-ticket), the first bytes
 * of every tunnel half and the one thing the gateway reads of a tunnel.  The gateway reads
 * exactly CV_TUNNEL_PREFACE_LENGTH bytes and parses them, so both the whole input and
 * its first preface-length bytes are tried.  Beyond "no memory error": an accepted preface
 * is exactly what cv_tunnel_preface_build() makes of the ticket it names. */
#include "wire/cv-ticket.h"

#include "fuzz-check.h"

static void
check_preface (const char *bytes, gsize len)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *ticket = cv_tunnel_preface_parse (bytes, len, &error);
  g_autofree char *rebuilt = NULL;

  if (ticket == NULL)
    {
      check (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA));
      check (error->message[0] != '\0');
      return;
    }
  check (error == NULL);
  check (len == CV_TUNNEL_PREFACE_LENGTH && strlen (ticket) == CV_TICKET_LENGTH);
  for (const char *p = ticket; *p != '\0'; p++)
    check (g_ascii_isalnum (*p) || *p == '-' || *p == '_');
  rebuilt = cv_tunnel_preface_build (ticket);
  check (fuzz_same_bytes (rebuilt, strlen (rebuilt), bytes, len));
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static gboolean checked_new_ticket;

  /* The ticket the gateway makes is one it accepts. */
  if (!checked_new_ticket)
    {
      g_autofree char *ticket = cv_ticket_new ();
      g_autofree char *preface = cv_tunnel_preface_build (ticket);
      g_autofree char *parsed = cv_tunnel_preface_parse (preface, strlen (preface), NULL);

      check (parsed != NULL && g_str_equal (parsed, ticket));
      checked_new_ticket = TRUE;
    }

  check_preface ((const char *) data, size);
  if (size > CV_TUNNEL_PREFACE_LENGTH)
    check_preface ((const char *) data, CV_TUNNEL_PREFACE_LENGTH);
  return 0;
}
