/* cli-log.h: log lines on stderr, with levels, readable by people and by journald. */
#pragma once

#include <glib.h>

void cv_cli_log_init (const char *role, GLogLevelFlags max_level);
void cv_cli_log_set_max_level (GLogLevelFlags max_level);
