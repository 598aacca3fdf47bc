/* cv-ws-bridge-stub.c: TEMPORARY, until branch ws-core's bridge (transport/cv-ws-bridge.c)
 * is merged, when this file goes: so that the dial links, and a WebSocket dial fails
 * clearly after its upgrade. */
#include "transport/cv-ws-bridge.h"

#include <string.h>

void
cv_ws_bridge_options_init (CvWsBridgeOptions *options)
{
  memset (options, 0, sizeof *options);
}

GSocketConnection *
cv_ws_bridge_start (GIOStream *upgraded,
                    GBytes *leftover,
                    const CvWsBridgeOptions *options,
                    GMainContext *context,
                    GError **error)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       "the WebSocket bridge is not built in yet");
  return NULL;
}
