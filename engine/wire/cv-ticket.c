/* cv-ticket.c: one-time tunnel tickets and the preface a tunnel half opens with.
 *
 * A tunnel half is a plain TCP connection to the gateway; its first bytes are the
 * preface naming the ticket, and everything after is the agents' own TLS, which the
 * gateway never reads.  The gateway tells the two kinds of connection apart by the
 * first byte: 'C' here, 0x16 (a TLS handshake record) for a control link. */
#include "wire/cv-ticket.h"

#include <sodium.h>
#include <string.h>

char *
cv_ticket_new (void)
{
  guint8 random[32];
  char *ticket = g_malloc (
    sodium_base64_ENCODED_LEN (sizeof random, sodium_base64_VARIANT_URLSAFE_NO_PADDING));

  randombytes_buf (random, sizeof random);
  sodium_bin2base64 (ticket,
                     sodium_base64_ENCODED_LEN (sizeof random,
                                                sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     random, sizeof random, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  g_assert (strlen (ticket) == CV_TICKET_LENGTH);
  return ticket;
}

char *
cv_tunnel_preface_build (const char *ticket)
{
  return g_strconcat (CV_TUNNEL_PREFACE_PREFIX, ticket, "\n", NULL);
}

/* Returns the ticket, or NULL if @bytes are not exactly a tunnel preface. */
char *
cv_tunnel_preface_parse (const char *bytes, gsize len, GError **error)
{
  gsize prefix_len = strlen (CV_TUNNEL_PREFACE_PREFIX);
  const char *ticket = bytes + prefix_len;

  if (len != CV_TUNNEL_PREFACE_LENGTH || memcmp (bytes, CV_TUNNEL_PREFACE_PREFIX, prefix_len) != 0
      || bytes[len - 1] != '\n')
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "not a Culvert tunnel preface");
      return NULL;
    }
  for (gsize i = 0; i < CV_TICKET_LENGTH; i++)
    if (!(g_ascii_isalnum (ticket[i]) || ticket[i] == '-' || ticket[i] == '_'))
      {
        g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                             "tunnel preface with a malformed ticket");
        return NULL;
      }
  return g_strndup (ticket, CV_TICKET_LENGTH);
}
