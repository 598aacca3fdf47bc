/* cli-status.h: `culvert-cli status` — what a running gateway or agent is doing. */
#pragma once

int cv_cli_status (int argc, char **argv);
