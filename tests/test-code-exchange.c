/* test-code-exchange.c: both agents' sides of a session code's PAKE against each other, as
 * the gateway relays them: the right code confirms both ways with equal verification
 * strings; a wrong secret, a key the gateway swapped in on either side, another
 * nameplate or another claim_id each fail the share agent's check, and a failed run
 * gives no second try. */
#include "auth/cv-code-exchange.h"
#include "wire/cv-control.h"

#include <string.h>

#define SHARE_FP "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define CONNECT_FP "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define GATEWAY_FP "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define CLAIM_ID "AAECAwQFBgcICQoLDA0ODw"
#define OTHER_CLAIM_ID "DwAAAAAAAAAAAAAAAAAAAA"

typedef struct {
  const char *name;
  /* What each side used; NULL: the true value. */
  const char *share_secret, *connect_secret;
  const char *share_nameplate;
  const char
    *share_sees_connect_fp; /* the connect agent's key as the gateway told the share agent */
  const char *connect_sees_share_fp;
  const char *share_claim_id;
  gboolean confirms;
} Case;

static const Case cases[] = {
  { "right code", NULL, NULL, NULL, NULL, NULL, NULL, TRUE },
  { "wrong secret", "913557", "913558", NULL, NULL, NULL, NULL, FALSE },
  { "gateway's key to the share agent", NULL, NULL, NULL, GATEWAY_FP, NULL, NULL, FALSE },
  { "gateway's key to the connect agent", NULL, NULL, NULL, NULL, GATEWAY_FP, NULL, FALSE },
  { "another nameplate", NULL, NULL, "483", NULL, NULL, NULL, FALSE },
  { "another claim", NULL, NULL, NULL, NULL, NULL, OTHER_CLAIM_ID, FALSE },
};

static void
run_case (const Case *c)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CvCodeExchange) connect =
    cv_code_exchange_new (CV_CODE_EXCHANGE_CONNECT,
                          c->connect_secret ? c->connect_secret : "913557", "482", CONNECT_FP,
                          c->connect_sees_share_fp ? c->connect_sees_share_fp : SHARE_FP, CLAIM_ID,
                          &error);
  g_autoptr (CvCodeExchange) share =
    cv_code_exchange_new (CV_CODE_EXCHANGE_SHARE, c->share_secret ? c->share_secret : "913557",
                          c->share_nameplate ? c->share_nameplate : "482", SHARE_FP,
                          c->share_sees_connect_fp ? c->share_sees_connect_fp : CONNECT_FP,
                          c->share_claim_id ? c->share_claim_id : CLAIM_ID, &error);
  guint8 ya[CV_CODE_EXCHANGE_MESSAGE_SIZE], yb[CV_CODE_EXCHANGE_MESSAGE_SIZE];
  guint8 tc[CV_CODE_EXCHANGE_MAC_SIZE], ts[CV_CODE_EXCHANGE_MAC_SIZE];
  g_autofree char *verification_connect = NULL;
  g_autofree char *verification_share = NULL;

  g_test_message ("%s", c->name);
  g_assert_no_error (error);
  /* The relayed order: Ya, Yb, Tc; the share agent checks first. */
  cv_code_exchange_get_message (connect, ya);
  g_assert_true (cv_code_exchange_receive_message (share, ya, &error));
  cv_code_exchange_get_message (share, yb);
  g_assert_true (cv_code_exchange_receive_message (connect, yb, &error));
  g_assert_no_error (error);
  g_assert_true (cv_code_exchange_get_mac (connect, tc));
  g_assert_null (cv_code_exchange_get_verification (share));
  if (!c->confirms)
    {
      g_assert_false (cv_code_exchange_check_mac (share, tc, &error));
      g_assert_error (error, CV_CPACE_ERROR, CV_CPACE_ERROR_CONFIRMATION_FAILED);
      g_clear_error (&error);
      g_assert_false (cv_code_exchange_is_confirmed (share));
      /* Burned: the same tag again, or anything else, is refused; no mac goes back. */
      g_assert_false (cv_code_exchange_check_mac (share, tc, &error));
      g_assert_error (error, CV_CPACE_ERROR, CV_CPACE_ERROR_STATE);
      g_assert_false (cv_code_exchange_get_mac (share, ts));
      g_assert_null (cv_code_exchange_get_verification (share));
      return;
    }
  g_assert_true (cv_code_exchange_check_mac (share, tc, &error));
  g_assert_no_error (error);
  g_assert_true (cv_code_exchange_get_mac (share, ts));
  g_assert_true (memcmp (tc, ts, sizeof tc) != 0);
  g_assert_true (cv_code_exchange_check_mac (connect, ts, &error));
  g_assert_no_error (error);
  verification_connect = cv_code_exchange_get_verification (connect);
  verification_share = cv_code_exchange_get_verification (share);
  g_assert_cmpstr (verification_connect, ==, verification_share);
  g_assert_true (g_regex_match_simple ("^[0-9]{3} [0-9]{3}$", verification_share, 0, 0));
  g_assert_cmpstr (cv_code_exchange_get_peer_fingerprint (share), ==, CONNECT_FP);
  g_assert_cmpstr (cv_code_exchange_get_peer_fingerprint (connect), ==, SHARE_FP);
}

static void
test_cases (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    run_case (&cases[i]);
}

/* A reflected mac (the connect agent's own sent back to it) is refused. */
static void
test_reflected (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (CvCodeExchange) connect = cv_code_exchange_new (CV_CODE_EXCHANGE_CONNECT, "000001",
                                                             "100", CONNECT_FP, SHARE_FP, CLAIM_ID,
                                                             &error);
  g_autoptr (CvCodeExchange) share = cv_code_exchange_new (CV_CODE_EXCHANGE_SHARE, "000001", "100",
                                                           SHARE_FP, CONNECT_FP, CLAIM_ID, &error);
  guint8 y[CV_CODE_EXCHANGE_MESSAGE_SIZE], mac[CV_CODE_EXCHANGE_MAC_SIZE];

  cv_code_exchange_get_message (connect, y);
  g_assert_true (cv_code_exchange_receive_message (share, y, &error));
  cv_code_exchange_get_message (share, y);
  g_assert_true (cv_code_exchange_receive_message (connect, y, &error));
  g_assert_true (cv_code_exchange_get_mac (connect, mac));
  g_assert_false (cv_code_exchange_check_mac (connect, mac, &error));
  g_assert_error (error, CV_CPACE_ERROR, CV_CPACE_ERROR_CONFIRMATION_FAILED);
}

static void
test_bad_inputs (void)
{
  g_autoptr (GError) error = NULL;
  CvCodeExchange *run;

  run = cv_code_exchange_new (CV_CODE_EXCHANGE_SHARE, "913557", "482", SHARE_FP, CONNECT_FP,
                              "short", &error);
  g_assert_null (run);
  g_assert_error (error, CV_CONTROL_ERROR, CV_CONTROL_ERROR_MALFORMED);
  g_clear_error (&error);
  run = cv_code_exchange_new (CV_CODE_EXCHANGE_SHARE, "913557", "482", SHARE_FP, "sha256:12",
                              CLAIM_ID, &error);
  g_assert_null (run);
  g_assert_error (error, CV_CPACE_ERROR, CV_CPACE_ERROR_INVALID_INPUT);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/code-exchange/cases", test_cases);
  g_test_add_func ("/code-exchange/reflected", test_reflected);
  g_test_add_func ("/code-exchange/bad-inputs", test_bad_inputs);
  return g_test_run ();
}
