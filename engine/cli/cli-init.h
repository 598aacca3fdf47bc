/* cli-init.h: `culvert-cli init`, a working gateway, share and connect config in one go. */
#pragma once

int cv_cli_init (int argc, char **argv);
