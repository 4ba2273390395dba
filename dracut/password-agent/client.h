/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The Mandos client child process: start it with dropped real ids, collect its stdout. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "secmem.h"

typedef struct Client {
	pid_t pid;      /* 0 when not started or already reaped */
	int pidfd;      /* -EBADF when pidfd_open() is unavailable (SIGCHLD is used then) */
	int stdout_fd;  /* read end of the client's stdout pipe; -EBADF after EOF */
	SecBuf *output; /* what the client printed so far (the password) */
	bool started;
	bool exited;        /* reaped; see status */
	bool eof;           /* its stdout reached end of file */
	bool output_failed; /* output over the cap or unreadable: the output is void */
	int exit_code;      /* CLD_EXITED: exit status; otherwise -1 */
	int term_signal;    /* CLD_KILLED/CLD_DUMPED: the signal; otherwise 0 */
} Client;

/* A Client that owns nothing yet. */
#define CLIENT_NULL ((Client){.pidfd = -EBADF, .stdout_fd = -EBADF, .exit_code = -1})

typedef struct ClientParams {
	char *const *argv;      /* program (searched in PATH if it has no slash) and arguments */
	uid_t uid;              /* real user ID of the client; effective and saved stay 0 */
	gid_t gid;              /* real group ID; effective and saved stay 0 */
	const char *helper_dir; /* exported as MANDOSPLUGINHELPERDIR; NULL: leave the env alone */
	size_t output_max;      /* cap on the client's output */
} ClientParams;

/*
 * Start the client.  Its stdout is a pipe (our end non-blocking, CLOEXEC); stdin and stderr
 * are inherited.  In the child, the signal mask is emptied and signal dispositions reset, the
 * supplementary groups are dropped, then setresgid(gid, 0, 0) and setresuid(uid, 0, 0): the
 * client runs as if it were a setuid-root program started by uid.  When this process is not
 * root the ids cannot change; the client then keeps ours (a warning is logged), which only
 * matters in tests.  A child that cannot exec exits with 127.
 * Returns 0 or -errno (nothing is left running on failure).
 */
int client_start(Client *c, const ClientParams *params);

/*
 * Read what is available on the client's stdout.  Returns 1 at end of file (stdout_fd is
 * then closed), 0 when more may come, or -EFBIG when the output passed the cap or another
 * -errno (then the output is wiped, `output_failed` set and stdout_fd closed).
 */
int client_read(Client *c);

/*
 * Reap the client if it has exited (never blocks).  Returns 1 when it has been reaped (now
 * or earlier), 0 when it still runs, or -errno.
 */
int client_reap(Client *c);

/* Send a signal to the client if it is still running (via its pidfd when there is one). */
void client_kill(Client *c, int sig);

/* Whether the client has been reaped and exited with status 0. */
bool client_exited_ok(const Client *c);

/*
 * Release everything: a client still running is killed with SIGKILL and reaped (blocking),
 * fds are closed and the output wiped.  The Client is CLIENT_NULL afterwards.
 */
void client_done(Client *c);
