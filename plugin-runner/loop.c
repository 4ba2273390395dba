/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The plugin event loop: start plugins, collect their output, pick the winner, stop the rest. */
#include "loop.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "io-util.h"
#include "log.h"
#include "macro.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

enum {
	KIND_PIDFD = 0,
	KIND_OUTPUT = 1,
	KIND_SIGNAL = 2,
};

struct Loop {
	LoopPlugin *p;
	size_t n;
	LoopParams params;
	int epfd;
	int sigfd;
	sigset_t old_mask;
	bool mask_changed;
	size_t started;
};

static int sys_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int sys_pidfd_send_signal(int pidfd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0);
}

/* Signal a plugin through its pidfd, or by PID when there is no pidfd (it is not reaped yet). */
static void plugin_kill(const LoopPlugin *p, int sig)
{
	if (p->pidfd >= 0) {
		(void)sys_pidfd_send_signal(p->pidfd, sig);
	} else if (p->pid > 0) {
		(void)kill(p->pid, sig);
	}
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

LoopParams loop_params_default(void)
{
	return (LoopParams){
	        .max_output = LOOP_MAX_OUTPUT,
	        .max_restarts = LOOP_MAX_RESTARTS,
	        .restart_delay_ms = LOOP_RESTART_DELAY_MS,
	        .grace_ms = LOOP_GRACE_MS,
	};
}

static uint64_t ev_data(size_t i, int kind)
{
	return ((uint64_t)i << 2) | (uint64_t)kind;
}

static void close_output(Loop *l, LoopPlugin *p)
{
	if (p->out_fd >= 0) {
		(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, p->out_fd, NULL);
		p->out_fd = safe_close(p->out_fd);
	}
	p->eof = true;
}

static void close_pidfd(Loop *l, LoopPlugin *p)
{
	if (p->pidfd >= 0) {
		(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, p->pidfd, NULL);
		p->pidfd = safe_close(p->pidfd);
	}
}

int loop_new(LoopPlugin *plugins, size_t n, const LoopParams *params, Loop **ret)
{
	_cleanup_loop_ Loop *l = NULL;
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = ev_data(0, KIND_SIGNAL)};
	sigset_t mask;

	l = calloc(1, sizeof(Loop));
	if (!l) {
		return -ENOMEM;
	}
	l->epfd = l->sigfd = -EBADF;
	l->params = *params;
	l->p = calloc(n ? n : 1, sizeof(LoopPlugin));
	if (!l->p) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		l->p[i] = plugins[i];
		l->p[i].pidfd = l->p[i].out_fd = -EBADF;
		l->p[i].pid = 0;
		plugins[i] = (LoopPlugin){.exec_fd = -EBADF};
	}
	l->n = n;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	/* Children are watched by pidfd; SIGCHLD is the fallback where pidfd_open() is missing. */
	sigaddset(&mask, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &mask, &l->old_mask) < 0) {
		return negative_errno();
	}
	l->mask_changed = true;
	l->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (l->sigfd < 0) {
		return negative_errno();
	}
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		return negative_errno();
	}
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->sigfd, &ev) < 0) {
		return negative_errno();
	}
	*ret = TAKE_PTR(l);
	return 0;
}

void loop_restore_signals(Loop *l)
{
	if (l && l->mask_changed) {
		(void)sigprocmask(SIG_SETMASK, &l->old_mask, NULL);
		l->mask_changed = false;
	}
}

/* Block until the plugin is reaped; used only after SIGKILL. */
static void reap_blocking(Loop *l, LoopPlugin *p)
{
	siginfo_t si = {};

	if (!p->running) {
		return;
	}
	if (p->pidfd < 0 || RETRY_EINTR(waitid(P_PIDFD, (id_t)p->pidfd, &si, WEXITED)) < 0) {
		(void)RETRY_EINTR(waitpid(p->pid, NULL, 0));
	}
	p->running = false;
	close_pidfd(l, p);
}

Loop *loop_free(Loop *l)
{
	if (!l) {
		return NULL;
	}
	for (size_t i = 0; i < l->n; i++) {
		LoopPlugin *p = &l->p[i];

		if (p->running) {
			plugin_kill(p, SIGKILL);
			reap_blocking(l, p);
		}
		close_output(l, p);
		close_pidfd(l, p);
		safe_close(p->exec_fd);
		p->out = secbuf_free(p->out);
		free(p->name);
		strv_free(p->argv);
		strv_free(p->envp);
	}
	free(l->p);
	safe_close(l->sigfd);
	safe_close(l->epfd);
	loop_restore_signals(l);
	free(l);
	return NULL;
}

size_t loop_started(const Loop *l)
{
	return l->started;
}

/* Runs in the child between fork() and exec: async-signal-safe calls only. */
_noreturn_ static void child_exec(const LoopPlugin *p, const char *fd_path, int out_w)
{
	static const char msg[] = "plugin-runner: could not execute a plugin\n";
	sigset_t empty;

	sigemptyset(&empty);
	(void)sigprocmask(SIG_SETMASK, &empty, NULL);
	(void)signal(SIGPIPE, SIG_DFL);
	if (dup2(out_w, STDOUT_FILENO) < 0) {
		_exit(EX_OSERR);
	}
	/* A script's interpreter opens /dev/fd/N, so the fd must survive the exec. */
	(void)fcntl(p->exec_fd, F_SETFD, 0);
	/*
	 * Through /proc rather than execveat(AT_EMPTY_PATH): the same file, but tools such as
	 * valgrind follow it as an ordinary execve().  Without /proc, execveat() it is.
	 */
	execve(fd_path, p->argv, p->envp);
	syscall(SYS_execveat, p->exec_fd, "", p->argv, p->envp, AT_EMPTY_PATH);
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(EX_UNAVAILABLE);
}

static int plugin_start(Loop *l, size_t i)
{
	LoopPlugin *p = &l->p[i];
	_cleanup_close_ int out_r = -EBADF, out_w = -EBADF, pidfd = -EBADF;
	struct epoll_event ev = {.events = EPOLLIN};
	int fds[2];
	pid_t pid;

	p->out = secbuf_free(p->out);
	p->out = secbuf_new(256, l->params.max_output);
	if (!p->out) {
		return -ENOMEM;
	}
	if (pipe2(fds, O_CLOEXEC) < 0) {
		return log_error_errno(errno, "pipe: %m");
	}
	out_r = fds[0];
	out_w = fds[1];
	char fd_path[64];

	snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d", p->exec_fd);
	pid = fork();
	if (pid < 0) {
		return log_error_errno(errno, "fork: %m");
	}
	if (pid == 0) {
		child_exec(p, fd_path, out_w);
	}
	out_w = safe_close(out_w);
	p->pid = pid;
	p->running = true;
	p->eof = false;
	p->refused = false;
	p->status = 0;
	pidfd = sys_pidfd_open(pid);
	(void)fd_set_nonblock(out_r, true);
	if (pidfd >= 0) {
		ev.data.u64 = ev_data(i, KIND_PIDFD);
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, pidfd, &ev) < 0) {
			return log_error_errno(errno, "epoll_ctl: %m");
		}
	} else {
		/* An old kernel (or valgrind): SIGCHLD through the signalfd tells instead. */
		log_debug_errno(errno, "pidfd_open: %m; watching SIGCHLD");
	}
	p->pidfd = TAKE_FD(pidfd);
	ev.data.u64 = ev_data(i, KIND_OUTPUT);
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, out_r, &ev) < 0) {
		return log_error_errno(errno, "epoll_ctl: %m");
	}
	p->out_fd = TAKE_FD(out_r);
	log_debug("Plugin %s started (PID %d)", p->name, (int)pid);
	return 0;
}

/* Reap the plugin if it has exited.  Returns true when it was reaped. */
static bool plugin_reap(Loop *l, LoopPlugin *p)
{
	siginfo_t si = {};

	if (!p->running) {
		return false;
	}
	if (p->pidfd >= 0) {
		if (waitid(P_PIDFD, (id_t)p->pidfd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0) {
			return false;
		}
	} else if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0) {
		return false;
	}
	p->running = false;
	close_pidfd(l, p);
	if (si.si_code == CLD_EXITED) {
		p->status = (si.si_status & 0xff) << 8;
		log_debug("Plugin %s [%d] exited with status %d", p->name, (int)p->pid,
		          si.si_status);
	} else {
		p->status = si.si_status & 0x7f;
		log_debug("Plugin %s [%d] killed by signal %d: %s", p->name, (int)p->pid,
		          si.si_status, strsignal(si.si_status));
	}
	return true;
}

/* Decide what a reaped plugin's exit means. */
static void plugin_exited(Loop *l, LoopPlugin *p)
{
	if (WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0 && !p->refused) {
		/* Success: the answer is complete once its output reaches end of file. */
		return;
	}
	close_output(l, p);
	p->out = secbuf_free(p->out);
	if (WIFEXITED(p->status) && WEXITSTATUS(p->status) == EX_TEMPFAIL &&
	    p->restarts < l->params.max_restarts) {
		p->restart_at = now_ms() + l->params.restart_delay_ms;
		log_debug("Plugin %s asked to be restarted (EX_TEMPFAIL)", p->name);
		return;
	}
	if (WIFEXITED(p->status) && WEXITSTATUS(p->status) == EX_TEMPFAIL) {
		log_warning("Plugin %s failed temporarily %u times; giving up on it", p->name,
		            p->restarts + 1);
	}
	p->finished = true;
}

static void plugin_read(Loop *l, LoopPlugin *p)
{
	for (;;) {
		ssize_t n = secbuf_read_once(p->out, p->out_fd);

		if (n > 0) {
			continue;
		}
		if (n == -EAGAIN) {
			return;
		}
		if (n == 0) {
			close_output(l, p);
			return;
		}
		if (n == -EFBIG) {
			log_error("Plugin %s wrote more than %zu bytes; ignoring it", p->name,
			          l->params.max_output);
		} else {
			log_error_errno((int)n, "Reading the output of plugin %s: %m", p->name);
		}
		p->refused = true;
		secbuf_clear(p->out);
		close_output(l, p);
		if (p->running) {
			plugin_kill(p, SIGTERM);
		} else {
			plugin_exited(l, p);
		}
		return;
	}
}

static bool plugin_won(const LoopPlugin *p)
{
	return !p->running && p->eof && !p->refused && p->out && WIFEXITED(p->status) &&
	       WEXITSTATUS(p->status) == 0 && !p->finished;
}

static void forward_signal(Loop *l, int sig)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->p[i].running) {
			plugin_kill(&l->p[i], sig);
		}
	}
}

/* Read one terminating signal from the signalfd; 0 if none. */
static int read_signal(Loop *l)
{
	struct signalfd_siginfo si;
	ssize_t n = RETRY_EINTR(read(l->sigfd, &si, sizeof(si)));

	if (n != (ssize_t)sizeof(si)) {
		return 0;
	}
	return (int)si.ssi_signo;
}

static int take_winner(LoopPlugin *p, SecBuf **ret_output)
{
	log_debug("Plugin %s succeeded with %zu bytes", p->name, p->out->len);
	p->finished = true;
	*ret_output = TAKE_PTR(p->out);
	return 0;
}

int loop_run(Loop *l, SecBuf **ret_output, int *ret_signal)
{
	int r;

	for (size_t i = 0; i < l->n; i++) {
		r = plugin_start(l, i);
		if (r < 0) {
			/* Like upstream, a plugin that cannot be started is skipped. */
			l->p[i].finished = true;
			continue;
		}
		l->started++;
	}

	for (;;) {
		struct epoll_event evs[16];
		uint64_t now = now_ms(), next = 0;
		bool pending = false;
		int timeout = -1, k;

		for (size_t i = 0; i < l->n; i++) {
			LoopPlugin *p = &l->p[i];

			if (p->restart_at && p->restart_at <= now) {
				p->restart_at = 0;
				p->restarts++;
				log_debug("Restarting plugin %s (restart %u)", p->name,
				          p->restarts);
				if (plugin_start(l, i) < 0) {
					p->finished = true;
				}
			}
			if (p->restart_at && (next == 0 || p->restart_at < next)) {
				next = p->restart_at;
			}
			if (!p->finished) {
				pending = true;
			}
		}
		if (!pending) {
			return -ENOENT;
		}
		if (next) {
			timeout = (int)MIN(next - now, (uint64_t)INT32_MAX);
		}

		k = epoll_wait(l->epfd, evs, (int)ELEMENTSOF(evs), timeout);
		if (k < 0) {
			if (errno == EINTR) {
				continue;
			}
			return log_error_errno(errno, "epoll_wait: %m");
		}
		for (int e = 0; e < k; e++) {
			uint64_t d = evs[e].data.u64;
			int kind = (int)(d & 3);
			LoopPlugin *p = &l->p[d >> 2];

			if (kind == KIND_SIGNAL) {
				int sig = read_signal(l);

				if (sig == 0) {
					continue;
				}
				if (sig != SIGCHLD) {
					log_debug("Got signal %d (%s); passing it to the plugins",
					          sig, strsignal(sig));
					forward_signal(l, sig);
					*ret_signal = sig;
					return -EINTR;
				}
				/* Only plugins without a pidfd are reaped on SIGCHLD. */
				for (size_t i = 0; i < l->n; i++) {
					LoopPlugin *q = &l->p[i];

					if (q->pidfd < 0 && plugin_reap(l, q)) {
						plugin_exited(l, q);
					}
					if (plugin_won(q)) {
						return take_winner(q, ret_output);
					}
				}
				continue;
			}
			if (kind == KIND_OUTPUT && p->out_fd >= 0) {
				plugin_read(l, p);
			} else if (kind == KIND_PIDFD && plugin_reap(l, p)) {
				plugin_exited(l, p);
			}
			if (plugin_won(p)) {
				return take_winner(p, ret_output);
			}
		}
	}
}

int loop_stop(Loop *l, int sig, int *ret_signal)
{
	uint64_t deadline = now_ms() + l->params.grace_ms;

	*ret_signal = 0;
	for (size_t i = 0; i < l->n; i++) {
		/* Nobody is waiting for their output any more; a writer gets EPIPE. */
		close_output(l, &l->p[i]);
		l->p[i].out = secbuf_free(l->p[i].out);
		l->p[i].restart_at = 0;
	}
	forward_signal(l, sig);
	for (;;) {
		struct epoll_event evs[16];
		bool any = false;
		uint64_t now = now_ms();
		int k;

		for (size_t i = 0; i < l->n; i++) {
			any = any || l->p[i].running;
		}
		if (!any) {
			return 0;
		}
		if (now >= deadline || *ret_signal) {
			break;
		}
		k = epoll_wait(l->epfd, evs, (int)ELEMENTSOF(evs), (int)(deadline - now));
		if (k < 0 && errno != EINTR) {
			break;
		}
		for (int e = 0; e < k; e++) {
			uint64_t d = evs[e].data.u64;

			if ((d & 3) == KIND_SIGNAL) {
				int got = read_signal(l);

				if (got == SIGCHLD) {
					for (size_t i = 0; i < l->n; i++) {
						if (l->p[i].pidfd < 0) {
							(void)plugin_reap(l, &l->p[i]);
						}
					}
				} else if (got != 0) {
					*ret_signal = got;
				}
			} else if ((d & 3) == KIND_PIDFD) {
				(void)plugin_reap(l, &l->p[d >> 2]);
			}
		}
	}
	for (size_t i = 0; i < l->n; i++) {
		LoopPlugin *p = &l->p[i];

		if (p->running) {
			log_warning("Plugin %s [%d] did not stop; killing it", p->name,
			            (int)p->pid);
			plugin_kill(p, SIGKILL);
			reap_blocking(l, p);
		}
	}
	return 0;
}
