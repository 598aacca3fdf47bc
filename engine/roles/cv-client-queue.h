/* cv-client-queue.h: the connect agent's local clients that wait for its tunnel — a bounded
 * number, each held a bounded time while the share agent or the gateway is away — and
 * refused by a TCP reset, with the reason in the log, when the tunnel does not come. */
#pragma once

#include "roles/cv-mapping.h"

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _CvClientQueue CvClientQueue;

/* Why a held client waited in vain, asked when its time is up (the reason may have
 * changed meanwhile: the gateway came back, the share agent did not). */
typedef GError *(*CvClientQueueWhy) (gpointer user_data);
/* A client leaves the queue for the tunnel. */
typedef void (*CvClientQueueForward) (GSocketConnection *connection,
                                      CvMapping *mapping,
                                      gpointer user_data);

CvClientQueue *cv_client_queue_new (GMainContext *context,
                                    guint max_clients,
                                    CvClientQueueWhy why,
                                    gpointer user_data);
void cv_client_queue_free (CvClientQueue *self);

guint cv_client_queue_get_length (CvClientQueue *self);
gboolean cv_client_queue_push (CvClientQueue *self,
                               GSocketConnection *connection,
                               CvMapping *mapping);
void cv_client_queue_hold (CvClientQueue *self, guint hold_ms);
void cv_client_queue_clear_deadlines (CvClientQueue *self);
void cv_client_queue_forward_all (CvClientQueue *self,
                                  CvClientQueueForward forward,
                                  gpointer user_data);
void cv_client_queue_refuse_all (CvClientQueue *self, const GError *why);

void cv_client_refuse (GSocketConnection *connection, CvMapping *mapping, const GError *why);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvClientQueue, cv_client_queue_free)

G_END_DECLS
