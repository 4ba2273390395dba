/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Process matters: daemonizing with a start-up report, privilege drop, PID file, state dir. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

/*
 * Detach as a daemon (fork, setsid, fork, chdir "/") before anything else is set up, so that
 * locked secret memory belongs to the process that keeps running.  The original process waits
 * until the daemon calls daemon_report() and exits with the code it reports (or 1 when the
 * daemon dies first), so start-up errors still reach the caller's exit status and terminal.
 * Returns, in the daemon, the fd to report on (>= 0) or -errno.
 */
int daemon_start(void);

/*
 * Report the start-up result to the waiting parent and close the fd.  With code 0, also
 * point stdin, stdout and stderr at /dev/null.  Accepts fd < 0 (foreground: no-op).
 */
void daemon_report(int fd, int code);

typedef struct RunUser {
	uid_t uid;
	gid_t gid;
} RunUser;

/*
 * The unprivileged user as upstream picks it: the first of _mandos:_mandos, mandos:mandos,
 * nobody:nogroup that exists, else 65534:65534.  Unlike upstream the group is looked up as a
 * group.
 */
RunUser run_user_find(void);

/*
 * Drop to the user: supplementary groups cleared, setgid, setuid.  EPERM (not root) is a
 * warning as upstream; other failures return -errno.
 */
int run_user_drop(RunUser u);

/*
 * Create the state directory (mode 0700, owned by the run user) when it is missing and we
 * are root, as the packaging's tmpfiles rule would.  Returns 0 or -errno (logged).
 */
int statedir_prepare(const char *dir, RunUser u);

/*
 * Open the PID file for writing while still privileged: `path`, or upstream's /run/mandos.pid
 * (/var/run/mandos.pid when /run is not a directory) when path is empty.  Returns the fd or
 * -errno (logged as upstream, not fatal).  *ret_path gets a malloc()ed copy of the path.
 */
int pidfile_open(const char *path, char **ret_path);

/* Write "PID\n" and close.  Returns 0 or -errno. */
int pidfile_write(int fd);
