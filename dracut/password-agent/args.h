/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The password agent's command line (argp, upstream's option names). */
#pragma once

#include <stdbool.h>

#include "agent.h"

typedef struct Args {
	AgentConfig cfg; /* client_argv points into argv, or at the default client */
	bool test;       /* --test: run the self-test instead */
} Args;

/*
 * Parse the command line into *ret (defaults from agent_config_init()).  Options stop at "--"
 * or at the first non-option argument, which is the client program; everything after it is
 * the client's.  --help, --usage and --version print and exit 0; usage errors print a
 * message and exit EX_USAGE (64).  argv must stay valid while ret is used.
 */
void args_parse(int argc, char **argv, Args *ret);
