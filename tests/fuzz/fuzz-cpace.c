/* fuzz-cpace.c: libFuzzer target for a CPace run's one input from the peer, its message,
 * its AD and then its confirmation tag.  Whatever is accepted must be a canonical 32-byte
 * encoding that yields a key; whatever is refused must leave nothing behind.
 *
 * Input: one byte choosing our role (mod 3), one byte the message's length (mod 65),
 * the message, then the peer's AD; the AD's first 32 bytes also serve as the tag.  It
 * includes auth/cv-cpace-private.h for a fixed scalar: a fuzz input must replay alike. */
#include "auth/cv-cpace-private.h"

#include "fuzz-check.h"

static const guint8 scalar[32] = { 0xda, 0x3d, 0x23, 0x70, 0x0a, 0x9e, 0x56, 0x99, 0x25, 0x8a, 0xef,
                                   0x94, 0xdc, 0x06, 0x0d, 0xfd, 0xa5, 0xeb, 0xb6, 0x1f, 0x02, 0xa5,
                                   0xea, 0x77, 0xfa, 0xd5, 0x3f, 0x4f, 0xf0, 0x97, 0x6d, 0x08 };

static void
check_burnt (CvCpace *party)
{
  guint8 out[64];

  check (cv_cpace_get_isk (party) == NULL);
  check (!cv_cpace_get_message (party, out));
  check (!cv_cpace_get_confirmation (party, out));
  check (cv_cpace_get_verification_string (party) == NULL);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (CvCpace) party = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *verification = NULL;
  CvCpaceRole role;
  gsize message_len, ad_len;
  const guint8 *message, *ad;
  guint8 tag[CV_CPACE_CONFIRMATION_SIZE];

  if (size < 2)
    return 0;
  role = data[0] % 3;
  message_len = MIN ((gsize) data[1] % 65, size - 2);
  message = data + 2;
  ad = message + message_len;
  ad_len = size - 2 - message_len;

  party = cv_cpace_new_with_scalar (role, (const guint8 *) "913557", 6, NULL, 0, NULL, 0,
                                    (const guint8 *) "share", 5, scalar, &error);
  check (party != NULL && error == NULL);

  if (!cv_cpace_receive (party, message, message_len, ad, ad_len, &error))
    {
      check (error != NULL && error->domain == CV_CPACE_ERROR);
      check_burnt (party);
      return 0;
    }
  check (error == NULL);
  check (message_len == CV_CPACE_MESSAGE_SIZE && (message[31] & 0x80) == 0);
  check (ad_len <= CV_CPACE_MAX_INPUT_LENGTH);
  check (cv_cpace_get_isk (party) != NULL);
  verification = cv_cpace_get_verification_string (party);
  check (verification != NULL && strlen (verification) == 7 && verification[3] == ' ');
  check (cv_cpace_get_confirmation (party, tag) == (role != CV_CPACE_SYMMETRIC));

  /* A tag from the input: a match would mean forging a BLAKE2b-256 MAC, so it must fail and
   * burn the run. */
  check (!cv_cpace_check_confirmation (party, ad, MIN (ad_len, sizeof tag), &error));
  check (error != NULL);
  check_burnt (party);
  return 0;
}
