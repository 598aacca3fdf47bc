/* cli-fingerprint.h: `culvert-cli fingerprint`, a gateway's or an agent's key fingerprint. */
#pragma once

int cv_cli_fingerprint (int argc, char **argv);
