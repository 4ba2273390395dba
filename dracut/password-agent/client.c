/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Starting and watching the Mandos client with the privileges of a setuid-root program. */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io-util.h"
#include "log.h"
#include "macro.h"

static int pidfd_open_compat(pid_t pid)
{
#ifdef SYS_pidfd_open
	/* pidfd_open() fds are always CLOEXEC. */
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	errno = ENOSYS;
	return -1;
#endif
}

/* Runs in the child between fork() and exec(); single-threaded parent, so setenv is fine. */
_noreturn_ static void client_child(const ClientParams *params, int out_fd)
{
	sigset_t all;

	sigemptyset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP) {
			(void)signal(sig, SIG_DFL);
		}
	}

	if (dup2(out_fd, STDOUT_FILENO) < 0) {
		log_error_errno(errno, "Failed to redirect the Mandos client's output: %m");
		_exit(127);
	}
	if (out_fd != STDOUT_FILENO) {
		(void)close(out_fd);
	}
	if (params->helper_dir && setenv("MANDOSPLUGINHELPERDIR", params->helper_dir, 1) < 0) {
		log_error_errno(errno, "Failed to set MANDOSPLUGINHELPERDIR: %m");
		_exit(127);
	}

	if (geteuid() == 0) {
		/* The groups are dropped first: setgroups() needs privilege. */
		if (setgroups(0, NULL) < 0) {
			log_error_errno(errno, "Failed to drop supplementary groups: %m");
			_exit(127);
		}
		if (setresgid(params->gid, 0, 0) < 0) {
			log_error_errno(errno, "Failed to set group ID %u: %m",
			                (unsigned)params->gid);
			_exit(127);
		}
		if (setresuid(params->uid, 0, 0) < 0) {
			log_error_errno(errno, "Failed to set user ID %u: %m",
			                (unsigned)params->uid);
			_exit(127);
		}
	} else {
		log_warning(
		        "Not running as root: the Mandos client keeps user ID %u and group ID %u",
		        (unsigned)getuid(), (unsigned)getgid());
	}

	execvp(params->argv[0], params->argv);
	log_error_errno(errno, "Failed to execute the Mandos client %s: %m", params->argv[0]);
	_exit(127);
}

int client_start(Client *c, const ClientParams *params)
{
	_cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
	int fds[2], r;
	pid_t pid;

	if (!params->argv || !params->argv[0]) {
		return -EINVAL;
	}
	if (pipe2(fds, O_CLOEXEC) < 0) {
		return negative_errno();
	}
	rfd = fds[0];
	wfd = fds[1];
	r = fd_set_nonblock(rfd, true);
	if (r < 0) {
		return r;
	}
	*c = CLIENT_NULL;
	c->output = secbuf_new(MIN((size_t)256, params->output_max), params->output_max);
	if (!c->output) {
		return negative_errno();
	}

	pid = fork();
	if (pid < 0) {
		r = negative_errno();
		c->output = secbuf_free(c->output);
		return r;
	}
	if (pid == 0) {
		client_child(params, wfd);
	}

	c->pid = pid;
	c->started = true;
	c->stdout_fd = TAKE_FD(rfd);
	c->pidfd = pidfd_open_compat(pid);
	if (c->pidfd < 0) {
		c->pidfd = -EBADF;
		log_debug_errno(errno, "pidfd_open() failed, watching SIGCHLD instead: %m");
	}
	log_debug("Started the Mandos client %s as process %d", params->argv[0], (int)pid);
	return 0;
}

int client_read(Client *c)
{
	if (c->stdout_fd < 0) {
		return 1;
	}
	for (;;) {
		ssize_t n = secbuf_read_once(c->output, c->stdout_fd);

		if (n == -EAGAIN) {
			return 0;
		}
		if (n < 0) {
			c->output_failed = true;
			secbuf_clear(c->output);
			c->stdout_fd = safe_close(c->stdout_fd);
			return (int)n;
		}
		if (n == 0) {
			c->eof = true;
			c->stdout_fd = safe_close(c->stdout_fd);
			return 1;
		}
	}
}

int client_reap(Client *c)
{
	siginfo_t si = {0};

	if (c->exited) {
		return 1;
	}
	if (c->pid <= 0) {
		return -ECHILD;
	}
	if (RETRY_EINTR(waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG)) < 0) {
		return negative_errno();
	}
	if (si.si_pid == 0) {
		return 0;
	}
	c->exited = true;
	c->pid = 0;
	c->pidfd = safe_close(c->pidfd);
	if (si.si_code == CLD_EXITED) {
		c->exit_code = si.si_status;
		log_debug("The Mandos client exited with status %d", si.si_status);
	} else {
		c->term_signal = si.si_status;
		log_debug("The Mandos client was killed by signal %d (%s)", si.si_status,
		          strsignal(si.si_status));
	}
	return 1;
}

void client_kill(Client *c, int sig)
{
	if (c->exited || c->pid <= 0) {
		return;
	}
#ifdef SYS_pidfd_send_signal
	if (c->pidfd >= 0 && syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0) == 0) {
		return;
	}
#endif
	/* Not reaped yet, so the PID cannot have been reused. */
	(void)kill(c->pid, sig);
}

bool client_exited_ok(const Client *c)
{
	return c->exited && c->exit_code == 0 && !c->output_failed;
}

void client_done(Client *c)
{
	if (c->started && !c->exited && c->pid > 0) {
		siginfo_t si;

		client_kill(c, SIGKILL);
		(void)RETRY_EINTR(waitid(P_PID, (id_t)c->pid, &si, WEXITED));
	}
	c->pidfd = safe_close(c->pidfd);
	c->stdout_fd = safe_close(c->stdout_fd);
	c->output = secbuf_free(c->output);
	*c = CLIENT_NULL;
}
