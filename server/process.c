/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Process matters: daemonizing with a start-up report, privilege drop, PID file, state dir. */
#include "process.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io-util.h"
#include "log.h"
#include "macro.h"

int daemon_start(void)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0) {
		return negative_errno();
	}
	pid = fork();
	if (pid < 0) {
		int r = negative_errno();
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid > 0) {
		unsigned char code = 1;

		close(p[1]);
		if (RETRY_EINTR(read(p[0], &code, 1)) != 1) {
			code = 1;
		}
		(void)waitpid(pid, NULL, 0);
		_exit(code);
	}
	close(p[0]);
	if (setsid() < 0) {
		_exit(1);
	}
	pid = fork();
	if (pid < 0) {
		_exit(1);
	}
	if (pid > 0) {
		_exit(0);
	}
	if (chdir("/") < 0) {
		return negative_errno();
	}
	return p[1];
}

void daemon_report(int fd, int code)
{
	unsigned char c = (unsigned char)code;
	int null;

	if (fd < 0) {
		return;
	}
	if (code == 0) {
		null = open("/dev/null", O_RDWR | O_NOCTTY | O_CLOEXEC);
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			if (null > 2) {
				close(null);
			}
		}
	}
	(void)loop_write(fd, &c, 1);
	close(fd);
}

RunUser run_user_find(void)
{
	static const char *const pairs[][2] = {
	        {"_mandos", "_mandos"},
	        {"mandos", "mandos"},
	        {"nobody", "nogroup"},
	};

	for (size_t i = 0; i < ELEMENTSOF(pairs); i++) {
		struct passwd *pw = getpwnam(pairs[i][0]);
		struct group *gr = getgrnam(pairs[i][1]);

		if (pw && gr) {
			return (RunUser){pw->pw_uid, gr->gr_gid};
		}
	}
	return (RunUser){65534, 65534};
}

int run_user_drop(RunUser u)
{
	if (setgroups(0, NULL) < 0 && errno != EPERM) {
		return log_error_errno(errno, "setgroups() failed: %m");
	}
	if (setgid(u.gid) < 0 || setuid(u.uid) < 0) {
		if (errno != EPERM) {
			return log_error_errno(errno, "Failed to setuid/setgid to %u:%u: %m", u.uid,
			                       u.gid);
		}
		log_warning("Failed to setuid/setgid to %u:%u: %s", u.uid, u.gid, strerror(EPERM));
		return 0;
	}
	log_debug("Did setuid/setgid to %u:%u", u.uid, u.gid);
	return 0;
}

int statedir_prepare(const char *dir, RunUser u)
{
	struct stat st;

	if (stat(dir, &st) == 0) {
		return 0;
	}
	if (errno != ENOENT || geteuid() != 0) {
		return 0; /* saving will warn later, as upstream */
	}
	if (mkdir(dir, 0700) < 0) {
		return log_warning_errno(errno, "Cannot create state directory %s: %m", dir);
	}
	if (chown(dir, u.uid, u.gid) < 0) {
		return log_warning_errno(errno, "Cannot chown state directory %s: %m", dir);
	}
	return 0;
}

int pidfile_open(const char *path, char **ret_path)
{
	struct stat st;
	const char *p = path;
	int fd;

	if (!p || !*p) {
		p = (stat("/run/.", &st) == 0 && S_ISDIR(st.st_mode)) ? "/run/mandos.pid"
		                                                      : "/var/run/mandos.pid";
	}
	*ret_path = strdup(p);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
	if (fd < 0) {
		return log_error_errno(errno, "Could not open file '%s': %m", p);
	}
	return fd;
}

int pidfile_write(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	int r = loop_write(fd, buf, (size_t)n);

	close(fd);
	return r;
}
