/* SPDX-License-Identifier: GPL-3.0-or-later */
/* seteuid()-based privilege juggling, and running hooks and helpers as root. */
#include "privs.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"

static uid_t real_uid;
static gid_t real_gid;

int privs_init(void)
{
	real_uid = getuid();
	real_gid = getgid();
	if (geteuid() != 0 || real_uid == 0) {
		return 0;
	}
	if (setgid(real_gid) < 0) {
		return negative_errno();
	}
	if (seteuid(real_uid) < 0) {
		return negative_errno();
	}
	return 0;
}

int privs_raise(void)
{
	if (geteuid() == 0) {
		return 0;
	}
	return seteuid(0) < 0 ? negative_errno() : 0;
}

int privs_lower(void)
{
	if (geteuid() == real_uid) {
		return 0;
	}
	return seteuid(real_uid) < 0 ? negative_errno() : 0;
}

void privs_give_root_file(const char *path)
{
	struct stat st;

	if (real_uid == 0) {
		return;
	}
	if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || st.st_gid != 0) {
		return;
	}
	if (privs_raise() == 0) {
		if (chown(path, real_uid, real_gid) < 0) {
			log_debug_errno(errno, "Failed to chown %s: %m", path);
		}
		(void)privs_lower();
	}
}

int privs_drop(void)
{
	if (real_uid == 0) {
		return 0;
	}
	(void)privs_raise();
	if (setresgid(real_gid, real_gid, real_gid) < 0) {
		return negative_errno();
	}
	if (setresuid(real_uid, real_uid, real_uid) < 0) {
		return negative_errno();
	}
	return 0;
}

uid_t privs_uid(void)
{
	return real_uid;
}

gid_t privs_gid(void)
{
	return real_gid;
}

static _noreturn_ void child(const char *path, const char *const argv[], char *const env[])
{
	sigset_t none;
	int fd;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (privs_raise() == 0) {
		if (setgid(0) < 0 || setgroups(0, NULL) < 0 || setuid(0) < 0) {
			log_warning_errno(errno, "Failed to become root for %s: %m", path);
		}
	} else {
		log_warning("Failed to raise privileges for %s", path);
	}
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || dup2(fd, STDIN_FILENO) < 0 || dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		_exit(127);
	}
	for (char *const *e = env; e && *e; e++) {
		putenv(*e);
	}
	execv(path, (char *const *)(uintptr_t)argv);
	log_error_errno(errno, "Failed to run %s: %m", path);
	_exit(127);
}

int run_as_root(const char *path, const char *const argv[], char *const env[], int sigfd)
{
	_cleanup_close_ int pidfd = -EBADF;
	int status;
	pid_t pid;

	pid = fork();
	if (pid < 0) {
		return negative_errno();
	}
	if (pid == 0) {
		child(path, argv, env);
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd >= 0 && sigfd >= 0) {
		for (;;) {
			struct pollfd p[2] = {{.fd = pidfd, .events = POLLIN},
			                      {.fd = sigfd, .events = POLLIN}};

			if (poll(p, 2, -1) < 0) {
				if (errno == EINTR) {
					continue;
				}
				break;
			}
			if (p[0].revents) {
				break;
			}
			if (p[1].revents) {
				(void)privs_raise();
				(void)kill(pid, SIGTERM);
				(void)privs_lower();
				(void)RETRY_EINTR(waitpid(pid, &status, 0));
				return -EINTR;
			}
		}
	}
	if (RETRY_EINTR(waitpid(pid, &status, 0)) < 0) {
		return negative_errno();
	}
	return status;
}
