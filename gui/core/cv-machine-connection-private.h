/* cv-machine-connection-private.h: what the machine connection's files share — its state,
 * and the calls one makes in another (cv-machine-connection.c: the object, its state, the
 * public calls; -status.c: its state in words; -agent.c: the engine's connect agent, its
 * mappings and what its link says; -presence.c: the presence-only agent while idle). */
#pragma once

#include "cv-machine-connection.h"

#include "auth/cv-password.h"
#include "roles/cv-connect-agent.h"

G_BEGIN_DECLS

struct _CvMachineConnection {
  GObject parent_instance;

  GMainContext *context; /* the thread-default one when made: everything runs there */
  CvMachine *machine;
  CvSecretStore *secrets;
  char *state_dir;

  CvConnectionState state;
  CvPresence presence;
  gint64 presence_since;
  GError *error;
  gint64 next_retry_time; /* monotonic µs */
  gint64 round_trip_us;
  guint n_channels;
  GListStore *services;    /* of CvServiceLink */
  gboolean services_stale; /* the machine's services changed while connected */
  char *status;
  char *changed_fingerprint;
  char *offered_fingerprint; /* NEEDS_TRUST: the key the person is asked about */

  /* One connect (): cancelled by disconnect () or the next connect (). */
  GCancellable *cancellable;
  CvSecret *password; /* from the lookup until the agent has it (or trust is answered) */
  CvConnectAgent *agent;
  gboolean connected_once; /* "connected" was emitted */
  gboolean dropped;        /* "dropped" was emitted; "restored" not yet */
  gboolean share_seen;     /* the machine was online during this connection */
  gboolean probing;        /* asking the gateway's key after a failed TLS handshake */
  GSource *tick;           /* the status's count-down while reconnecting */
  guint in_agent_signal;   /* > 0 while a signal of an agent of ours is being handled */

  /* Presence while idle. */
  gboolean watch_presence;
  GCancellable *presence_cancellable;
  CvConnectAgent *presence_agent;
};

enum {
  PROP_0,
  PROP_MACHINE,
  PROP_STATE,
  PROP_PRESENCE,
  PROP_PRESENCE_SINCE,
  PROP_ERROR,
  PROP_NEXT_RETRY_TIME,
  PROP_ROUND_TRIP_US,
  PROP_N_CHANNELS,
  PROP_SERVICES,
  PROP_STATUS,
  N_PROPS
};

enum {
  SIGNAL_TRUST_REQUESTED,
  SIGNAL_CONNECTED,
  SIGNAL_DROPPED,
  SIGNAL_RESTORED,
  N_SIGNALS
};

/* cv-machine-connection.c */
void cv_machine_connection_notify (CvMachineConnection *self, guint prop_id);
void cv_machine_connection_emit (CvMachineConnection *self, guint signal_id, ...);
void cv_machine_connection_set_state (CvMachineConnection *self, CvConnectionState state);
/* Takes @error (nullable). */
void cv_machine_connection_take_error (CvMachineConnection *self, GError *error);
void cv_machine_connection_set_presence (CvMachineConnection *self, CvPresence presence);
void cv_machine_connection_set_next_retry_time (CvMachineConnection *self, gint64 monotonic_us);
void cv_machine_connection_set_traffic (CvMachineConnection *self,
                                        guint n_channels,
                                        gint64 round_trip_us);
void cv_machine_connection_set_changed_fingerprint (CvMachineConnection *self,
                                                    const char *fingerprint);
/* FAILED with @error (taken): the agent stops, nothing is retried. */
void cv_machine_connection_fail (CvMachineConnection *self, GError *error);

/* cv-machine-connection-status.c */
/* The "status" sentence again, and its count-down while reconnecting. */
void cv_machine_connection_update_status (CvMachineConnection *self);

/* cv-machine-connection-agent.c */
/* The key the gateway presents, probed by host:port or through its WebSocket. */
void cv_machine_connection_probe_key (CvMachineConnection *self,
                                      GAsyncReadyCallback callback,
                                      gpointer user_data);
/* A connect agent for the machine, not started, with no mapping; NULL with a sentence. */
CvConnectAgent *cv_machine_connection_make_agent (CvMachineConnection *self,
                                                  const char *password,
                                                  GError **error);
/* Every service listens, the link starts: CONNECTING.  Takes self->password. */
void cv_machine_connection_start_agent (CvMachineConnection *self);
/* Stops the agent and clears every service's mapping. */
void cv_machine_connection_drop_agent (CvMachineConnection *self);
/* Stops @agent (taken): its listeners at once, the rest at once or, under one of its own
 * signals, on an idle. */
void cv_machine_connection_retire_agent (CvMachineConnection *self, CvConnectAgent *agent);

/* cv-machine-connection-presence.c */
/* Starts, or starts again, the presence-only agent when watched and idle; else stops it. */
void cv_machine_connection_update_presence_watch (CvMachineConnection *self);
void cv_machine_connection_stop_presence (CvMachineConnection *self);

G_END_DECLS
