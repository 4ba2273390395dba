/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The plugin event loop: start plugins, collect their output, pick the winner, stop the rest. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "secmem.h"

/* A plugin's output larger than this is refused and the plugin counts as failed. */
#define LOOP_MAX_OUTPUT ((size_t)8 * 1024 * 1024)
/* How often a plugin exiting with EX_TEMPFAIL is started again, and after how long. */
#define LOOP_MAX_RESTARTS 5U
#define LOOP_RESTART_DELAY_MS 500U
/* How long plugins get to exit after SIGTERM before they are killed: enough for mandos-client
 * to run its stop hooks and take its interfaces down. */
#define LOOP_GRACE_MS 5000U

typedef struct LoopPlugin {
	/* Set by the caller; owned by the loop after loop_new(). */
	char *name;
	char **argv;
	char **envp;
	int exec_fd; /* O_PATH fd on the executable */

	/* Run state. */
	pid_t pid;
	int pidfd;
	int out_fd;
	SecBuf *out;
	bool running;  /* started and not yet reaped */
	bool eof;      /* out_fd reached end of file (or was closed) */
	bool finished; /* gave its final answer: no restart pending */
	bool refused;  /* output over the cap */
	int status;    /* wait status once reaped */
	unsigned restarts;
	uint64_t restart_at; /* CLOCK_MONOTONIC ms, 0 when none pending */
} LoopPlugin;

typedef struct Loop Loop;

typedef struct LoopParams {
	size_t max_output;
	unsigned max_restarts;
	unsigned restart_delay_ms;
	unsigned grace_ms;
	bool debug;
} LoopParams;

/* Default parameters (the LOOP_* constants). */
LoopParams loop_params_default(void);

/*
 * A new loop for n plugins (the array's contents are moved into the loop; the caller's array
 * is left zeroed).  Blocks SIGTERM, SIGINT and SIGHUP into a signalfd so that they wake the
 * loop instead of killing the process.  Returns 0 or -errno.
 */
int loop_new(LoopPlugin *plugins, size_t n, const LoopParams *params, Loop **ret);

/* Stop (SIGKILL) and reap any plugin still running, free everything.  Accepts NULL. */
Loop *loop_free(Loop *l);

/*
 * Start every plugin, then wait until one wins: it exited with status 0 and its output
 * reached end of file.  Plugins exiting with EX_TEMPFAIL are started again (bounded).
 *
 * Returns 0 and the winner's output in *ret_output (a new SecBuf, possibly empty, owned by
 * the caller); -ENOENT when every plugin failed (or none was started); -EINTR when a signal
 * arrived (its number in *ret_signal; it has been forwarded to every running plugin); or
 * another -errno for an internal error.
 */
int loop_run(Loop *l, SecBuf **ret_output, int *ret_signal);

/* The number of plugins that were started at least once. */
size_t loop_started(const Loop *l);

/*
 * Send sig to every plugin still running, wait for them up to the grace period, then
 * SIGKILL and reap the rest.  A terminating signal to plugin-runner during the wait ends
 * the grace period at once (its number in *ret_signal, else 0).  Returns 0 or -errno.
 */
int loop_stop(Loop *l, int sig, int *ret_signal);

/* Restore the signal mask loop_new() changed. */
void loop_restore_signals(Loop *l);

DEFINE_TRIVIAL_CLEANUP_FUNC(Loop *, loop_free)
#define _cleanup_loop_ _cleanup_(loop_freep)
