/* cv-poller.h: many sockets watched through one GSource per main context. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _CvPoller CvPoller;
typedef struct _CvPollerWatch CvPollerWatch;

/**
 * CvPollerFunc:
 * @watch: the watch that is ready
 * @condition: what is ready, within the watch's condition, plus %G_IO_HUP or %G_IO_ERR
 * @user_data: as given to cv_poller_watch()
 *
 * Level-triggered: called again on every main-loop turn while the socket stays ready
 * and the watch's condition asks for it.  A callback that is done waiting clears the
 * condition with cv_poller_watch_set_condition().  It may remove any watch, itself
 * included.
 */
typedef void (*CvPollerFunc) (CvPollerWatch *watch, GIOCondition condition, gpointer user_data);

CvPoller *cv_poller_get_for_context (GMainContext *context);
CvPoller *cv_poller_ref (CvPoller *poller);
void cv_poller_unref (CvPoller *poller);

CvPollerWatch *cv_poller_watch (CvPoller *poller,
                                GSocket *socket,
                                GIOCondition condition,
                                CvPollerFunc func,
                                gpointer user_data);
void cv_poller_watch_set_condition (CvPollerWatch *watch, GIOCondition condition);
GIOCondition cv_poller_watch_get_condition (CvPollerWatch *watch);
void cv_poller_watch_remove (CvPollerWatch *watch);

/**
 * CvPollerBatchFunc:
 * @user_data: as given to cv_poller_call_at_batch_end()
 *
 * Called once, when the batch of events being dispatched is done.
 */
typedef void (*CvPollerBatchFunc) (gpointer user_data);

gboolean cv_poller_call_at_batch_end (GMainContext *context,
                                      CvPollerBatchFunc func,
                                      gpointer user_data,
                                      GDestroyNotify notify);

/* For tests: how many pollers are alive, and how many watches this one has. */
guint cv_poller_get_n_pollers (void);
guint cv_poller_get_n_watches (CvPoller *poller);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvPoller, cv_poller_unref)

G_END_DECLS
