/* cli-roles.h: the long-running roles of culvert-cli. */
#pragma once

int cv_cli_gateway (int argc, char **argv);
int cv_cli_share (int argc, char **argv);
int cv_cli_connect (int argc, char **argv);
