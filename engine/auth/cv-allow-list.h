/* cv-allow-list.h: the targets a share agent may dial; nothing else is reachable. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _CvAllowList CvAllowList;

CvAllowList *cv_allow_list_new (void);
void cv_allow_list_free (CvAllowList *list);
gboolean cv_allow_list_check_host (const char *host, GError **error);
gboolean cv_allow_list_add (CvAllowList *list,
                            const char *host,
                            guint16 port_lo,
                            guint16 port_hi,
                            GError **error);
gboolean cv_allow_list_permits (const CvAllowList *list, const char *host, guint16 port);
guint cv_allow_list_get_length (const CvAllowList *list);
const char *cv_allow_list_get_entry (const CvAllowList *list, guint index);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CvAllowList, cv_allow_list_free)

G_END_DECLS
