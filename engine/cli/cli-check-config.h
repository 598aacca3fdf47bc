/* cli-check-config.h: `culvert-cli check-config`. */
#pragma once

int cv_cli_check_config (int argc, char **argv);
