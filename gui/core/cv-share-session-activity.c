/* cv-share-session-activity.c: what the share session says of the helper's use — the
 * requested services in words, and one CvShareActivity per service the helper opened,
 * kept from the share agent's channels and its byte totals.  Split from
 * cv-share-session-agent.c, which builds and follows the agent. */
#include "cv-share-session-private.h"

#include <glib/gi18n-lib.h>
#include <string.h>

static CvShareService *
find_service_by_name (CvShareSession *self, const char *name)
{
  GListModel *services = G_LIST_MODEL (self->services);

  for (guint i = 0; i < g_list_model_get_n_items (services); i++)
    {
      g_autoptr (CvShareService) service = g_list_model_get_item (services, i);

      if (g_str_equal (cv_share_service_get_engine_name (service), name))
        return service; /* the store holds it */
    }
  return NULL;
}

char *
cv_share_session_describe_services (CvShareSession *self, const char *const *names)
{
  g_autoptr (GPtrArray) words = g_ptr_array_new ();
  g_autofree char *head = NULL;
  guint n;

  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      CvShareService *service = find_service_by_name (self, names[i]);

      /* Only offered names reach consent; the name itself is a last resort. */
      g_ptr_array_add (words, (gpointer) (service != NULL ? cv_share_service_get_words (service)
                                                          : names[i]));
    }
  n = words->len;
  if (n == 0)
    return g_strdup ("");
  if (n == 1)
    return g_strdup (words->pdata[0]);
  head = g_strdup (words->pdata[0]);
  for (guint i = 1; i + 1 < n; i++)
    {
      /* TRANSLATORS: a list of services, all but its last two joined: "your screen, SSH" */
      char *longer = g_strdup_printf (_ ("%s, %s"), head, (const char *) words->pdata[i]);

      g_free (head);
      head = longer;
    }
  /* TRANSLATORS: the last two of a list of services: "your screen and SSH" */
  return g_strdup_printf (_ ("%s and %s"), head, (const char *) words->pdata[n - 1]);
}

static CvShareActivity *
find_activity (CvShareSession *self, const char *target, gboolean add)
{
  const char *colon = target != NULL ? strrchr (target, ':') : NULL;
  GListModel *services = G_LIST_MODEL (self->services);
  GListModel *activity = G_LIST_MODEL (self->activity);
  g_autoptr (CvShareService) found = NULL;
  guint64 port = 0;

  if (colon == NULL || !g_ascii_string_to_unsigned (colon + 1, 10, 1, G_MAXUINT16, &port, NULL))
    return NULL;
  for (guint i = 0; i < g_list_model_get_n_items (activity); i++)
    {
      g_autoptr (CvShareActivity) item = g_list_model_get_item (activity, i);

      if (cv_share_service_get_port (cv_share_activity_get_service (item)) == port)
        return item; /* the store holds it */
    }
  for (guint i = 0; found == NULL && i < g_list_model_get_n_items (services); i++)
    {
      g_autoptr (CvShareService) service = g_list_model_get_item (services, i);

      if (cv_share_service_get_port (service) == port)
        found = g_steal_pointer (&service);
    }
  if (found == NULL || !add)
    return NULL;
  {
    g_autoptr (CvShareActivity) item = cv_share_activity_new (found);

    g_list_store_append (self->activity, item);
    return item;
  }
}

/* The engine counts bytes for all channels together: a second's growth goes to the
 * services open in it, by their open connections. */
void
cv_share_session_share_bytes (CvShareSession *self, CvShareAgent *agent)
{
  guint64 in = cv_share_agent_get_bytes_in (agent);
  guint64 out = cv_share_agent_get_bytes_out (agent);
  guint64 delta_in = in - MIN (in, self->seen_in);
  guint64 delta_out = out - MIN (out, self->seen_out);
  GListModel *activity = G_LIST_MODEL (self->activity);
  guint total_open = 0;
  guint n = g_list_model_get_n_items (activity);

  self->seen_in = MAX (in, self->seen_in);
  self->seen_out = MAX (out, self->seen_out);
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (CvShareActivity) item = g_list_model_get_item (activity, i);

      total_open += cv_share_activity_get_n_open (item);
    }
  for (guint i = 0; i < n && total_open > 0; i++)
    {
      g_autoptr (CvShareActivity) item = g_list_model_get_item (activity, i);
      guint open = cv_share_activity_get_n_open (item);
      guint64 part_in = delta_in * open / total_open;
      guint64 part_out = delta_out * open / total_open;

      if (open == 0)
        continue;
      cv_share_activity_add_bytes (item, part_in, part_out);
      delta_in -= part_in;
      delta_out -= part_out;
      total_open -= open;
    }
}

void
cv_share_session_on_channel_opened (CvShareAgent *agent, const char *target, CvShareSession *self)
{
  CvShareActivity *activity = find_activity (self, target, TRUE);

  if (activity != NULL)
    cv_share_activity_opened (activity);
}

void
cv_share_session_on_channel_closed (CvShareAgent *agent,
                                    const char *target,
                                    const GError *error,
                                    CvShareSession *self)
{
  CvShareActivity *activity = find_activity (self, target, FALSE);

  if (activity != NULL && cv_share_activity_get_n_open (activity) > 0)
    cv_share_activity_closed (activity);
}

/* Every connection the agent had is gone with it. */
void
cv_share_session_close_activity (CvShareSession *self)
{
  for (guint i = 0; i < g_list_model_get_n_items (G_LIST_MODEL (self->activity)); i++)
    {
      g_autoptr (CvShareActivity) activity = g_list_model_get_item (G_LIST_MODEL (self->activity),
                                                                    i);

      while (cv_share_activity_get_n_open (activity) > 0)
        cv_share_activity_closed (activity);
    }
}
