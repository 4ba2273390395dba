/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The password agent's event loop: questions in, Mandos client output out. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Default settings (upstream's). */
#define AGENT_DEFAULT_DIRECTORY "/run/systemd/ask-password"
#define AGENT_DEFAULT_HELPER_DIRECTORY "/lib/mandos/plugin-helpers"
#define AGENT_DEFAULT_CLIENT "/lib/mandos/plugins.d/mandos-client"
#define AGENT_DEFAULT_ID 65534

/* Longest password accepted from the client; more output makes the client count as failed. */
#define AGENT_PASSWORD_MAX (64 * 1024)

typedef struct AgentConfig {
	const char *agent_dir;  /* directory with the ask.* files */
	const char *helper_dir; /* MANDOSPLUGINHELPERDIR for the client */
	uid_t uid;              /* real ids of the client */
	gid_t gid;
	char *const *client_argv;   /* program and its arguments */
	size_t password_max;        /* cap on the client's output */
	uint64_t retry_usec;        /* delay before a failed send is tried again */
	uint64_t kill_timeout_usec; /* SIGTERM to SIGKILL when stopping the client */
} AgentConfig;

/* Fill in the defaults above (client_argv stays NULL: the caller provides it). */
void agent_config_init(AgentConfig *cfg);

/*
 * Run the agent to completion:
 *  1. watch the agent directory with inotify, then read the ask.* files already there (none
 *     at all: error, return 1; present but none usable: return 0 without starting the client);
 *  2. start the Mandos client;
 *  3. add questions as files appear (IN_CLOSE_WRITE, IN_MOVED_TO), cancel them when they go
 *     (IN_MOVED_FROM, IN_DELETE) or at their NotAfter time;
 *  4. once the client has exited with status 0 and its output reached end of file, send
 *     "+PASSWORD\0" to every question, retrying transient failures while the question and
 *     its asker exist;
 *  5. when no questions remain, stop a client that still runs (SIGTERM, then SIGKILL after
 *     kill_timeout_usec) and return 0.
 * A client that fails (non-zero status, killed, or output over the cap, or no output at all)
 * while questions remain makes it return 1.  SIGTERM, SIGINT or SIGHUP stop the client the
 * same way and then return 128 + signal with *ret_signal set, so that the caller can re-raise
 * it.  Returns an exit status (0, 1, or a sysexits.h code for setup failures).
 */
int agent_run(const AgentConfig *cfg, int *ret_signal);
