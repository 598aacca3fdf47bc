/* cv-share-session-private.h: what the share session's two files share — its state, and
 * the calls the engine side (cv-share-session-agent.c) makes on the object
 * (cv-share-session.c). */
#pragma once

#include "cv-share-session.h"

#include "roles/cv-share-agent.h"

G_BEGIN_DECLS

struct _CvShareSession {
  GObject parent_instance;

  GMainContext *context; /* the one it was made on: the agent runs there */
  CvShareGateway gateway;
  GListStore *services; /* of CvShareService, as given */
  char *state_dir;
  guint consent_timeout_ms;

  CvShareAgent *agent;       /* while started */
  GCancellable *cancellable; /* this agent's key probe */
  guint in_agent_signal;     /* > 0: inside one of the agent's emissions */
  gboolean answering;        /* allow ()/deny () is answering the agent now */
  gboolean probing;
  gint64 asked_us;           /* monotonic, when consent was asked */
  guint64 seen_in, seen_out; /* the agent's totals given to the activity so far */

  CvShareState state;
  char *code;
  gint64 code_expires;
  GError *error;
  char *helper_name;
  char *helper_address;
  char *verification;
  GListStore *activity; /* of CvShareActivity */
  guint n_channels;
};

enum {
  PROP_0,
  PROP_STATE,
  PROP_CODE,
  PROP_CODE_EXPIRES,
  PROP_ERROR,
  PROP_HELPER_NAME,
  PROP_HELPER_ADDRESS,
  PROP_VERIFICATION,
  PROP_ACTIVITY,
  PROP_N_CHANNELS,
  N_PROPS
};

enum {
  SIGNAL_CONSENT_REQUESTED,
  SIGNAL_HELPER_CONNECTED,
  SIGNAL_HELPER_LEFT,
  SIGNAL_STOPPED,
  N_SIGNALS
};

/* cv-share-session.c: setters that notify only on a change. */
void cv_share_session_set_state (CvShareSession *self, CvShareState state);
void cv_share_session_take_error (CvShareSession *self, GError *error);
void cv_share_session_set_code (CvShareSession *self, const char *code, gint64 expires);
void cv_share_session_set_helper (CvShareSession *self,
                                  const char *name,
                                  const char *address,
                                  const char *verification);
void cv_share_session_set_n_channels (CvShareSession *self, guint n_channels);
void cv_share_session_emit (CvShareSession *self, guint signal, ...);
/* FAILED, with @error (taken). */
void cv_share_session_fail (CvShareSession *self, GError *error);

/* cv-share-session-agent.c: the engine's share agent, built and followed. */
gboolean cv_share_session_start_agent (CvShareSession *self, GError **error);
/* Disconnects and stops the agent (on an idle when inside its own signal). */
void cv_share_session_drop_agent (CvShareSession *self);

/* cv-share-session-activity.c: the services in words, and what the helper opened. */
/* The services' names in words, joined: "your screen and SSH". */
char *cv_share_session_describe_services (CvShareSession *self, const char *const *names);
void cv_share_session_on_channel_opened (CvShareAgent *agent,
                                         const char *target,
                                         CvShareSession *self);
void cv_share_session_on_channel_closed (CvShareAgent *agent,
                                         const char *target,
                                         const GError *error,
                                         CvShareSession *self);
/* The agent's byte totals grew: the growth goes to the services open now. */
void cv_share_session_share_bytes (CvShareSession *self, CvShareAgent *agent);
/* Every connection the agent had is gone with it. */
void cv_share_session_close_activity (CvShareSession *self);

/* cv-share-session-consent.c: the helper's request. */
void cv_share_session_on_consent_requested (CvShareAgent *agent,
                                            const char *name,
                                            const char *address,
                                            const char *fingerprint,
                                            const char *const *names,
                                            const char *verification,
                                            CvShareSession *self);
/* The request went away without the person's answer. */
void cv_share_session_consent_withdrawn (CvShareSession *self);

G_END_DECLS
