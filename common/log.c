/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Logging: each line is formatted in full and then written with a single write(2). */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096

/* The server logs from its handshake threads too (GnuTLS's debug log): one line at a time. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_prefix[128];
static char log_ident[64];
static int log_targets = LOG_TARGET_STDERR;
static int log_stderr_flags;
static int log_max_level = LOG_INFO;
static int syslog_fd = -1;
static char syslog_path[sizeof(((struct sockaddr_un *)0)->sun_path)] = "/dev/log";

void log_open(const char *prefix, const char *syslog_ident, int targets, int stderr_flags)
{
	snprintf(log_prefix, sizeof(log_prefix), "%s", prefix ? prefix : "");
	snprintf(log_ident, sizeof(log_ident), "%s", syslog_ident ? syslog_ident : "");
	/* (Re)connect lazily: the process may chroot, fork or drop privileges in between. */
	syslog_fd = safe_close(syslog_fd);
	log_targets = targets;
	log_stderr_flags = stderr_flags;
}

void log_set_syslog_path(const char *path)
{
	snprintf(syslog_path, sizeof(syslog_path), "%s", path);
	syslog_fd = safe_close(syslog_fd);
}

static int syslog_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		return -1;
	}
	memcpy(sa.sun_path, syslog_path, sizeof(syslog_path));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * One datagram per line, as upstream's Python SysLogHandler sends them:
 * "<PRI>IDENT [PID]: LEVEL: message" (the syslog daemon adds time and host).
 */
static void write_syslog_line(int level, const char *msg, size_t n)
{
	char line[LOG_LINE_MAX + 256];
	int len;

	len = snprintf(line, sizeof(line), "<%d>%s [%ld]: %s: %.*s", LOG_DAEMON | level, log_ident,
		       (long)getpid(), log_level_to_string(level), (int)MIN(n, (size_t)LOG_LINE_MAX),
		       msg);
	if (len < 0) {
		return;
	}
	len = MIN(len, (int)sizeof(line) - 1);
	for (int attempt = 0; attempt < 2; attempt++) {
		if (syslog_fd < 0) {
			syslog_fd = syslog_connect();
			if (syslog_fd < 0) {
				return;
			}
		}
		if (send(syslog_fd, line, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0) {
			return;
		}
		if (errno == EAGAIN) {
			/* The syslog daemon is behind: drop the line rather than block the server. */
			return;
		}
		/* The syslog daemon restarted: reconnect once. */
		syslog_fd = safe_close(syslog_fd);
	}
}

void log_set_max_level(int level)
{
	log_max_level = level;
}

int log_get_max_level(void)
{
	return log_max_level;
}

static const struct {
	const char *name;
	int level;
} level_names[] = {
        {"CRITICAL", LOG_CRIT}, {"ERROR", LOG_ERR},   {"WARNING", LOG_WARNING},
        {"INFO", LOG_INFO},     {"DEBUG", LOG_DEBUG},
};

int log_level_from_string(const char *s)
{
	for (size_t i = 0; i < ELEMENTSOF(level_names); i++) {
		if (strcasecmp(s, level_names[i].name) == 0) {
			return level_names[i].level;
		}
	}
	return -EINVAL;
}

const char *log_level_to_string(int level)
{
	switch (level) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
		return "CRITICAL";
	case LOG_ERR:
		return "ERROR";
	case LOG_WARNING:
		return "WARNING";
	case LOG_NOTICE:
	case LOG_INFO:
		return "INFO";
	default:
		return "DEBUG";
	}
}

static void write_stderr_line(int level, const char *msg, size_t n)
{
	char line[LOG_LINE_MAX + 256];
	size_t pos = 0;

	if (log_stderr_flags & LOG_STDERR_TIME) {
		struct timeval tv;
		struct tm tm;

		gettimeofday(&tv, NULL);
		localtime_r(&tv.tv_sec, &tm);
		pos += strftime(line, sizeof(line), "%Y-%m-%d %H:%M:%S", &tm);
		pos += (size_t)snprintf(line + pos, sizeof(line) - pos, ",%03ld ",
		                        (long)(tv.tv_usec / 1000));
	}
	pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "%s", log_prefix);
	if (log_stderr_flags & LOG_STDERR_PID) {
		pos += (size_t)snprintf(line + pos, sizeof(line) - pos, " [%ld]:", (long)getpid());
	}
	if (log_stderr_flags & LOG_STDERR_LEVEL) {
		pos += (size_t)snprintf(line + pos, sizeof(line) - pos,
		                        "%s%s: ", (log_stderr_flags & LOG_STDERR_PID) ? " " : "",
		                        log_level_to_string(level));
	}
	if (pos > sizeof(line) - 2) {
		pos = sizeof(line) - 2;
	}
	n = MIN(n, sizeof(line) - 2 - pos);
	memcpy(line + pos, msg, n);
	pos += n;
	line[pos++] = '\n';
	/* One write per line so lines from several processes never interleave. */
	(void)!write(STDERR_FILENO, line, pos);
}

int log_internal(int level, int error, const char *fmt, ...)
{
	int saved_errno = errno;
	char buf[LOG_LINE_MAX];
	const char *line, *end;
	va_list ap;

	if (error < 0) {
		error = -error;
	}
	if (level > log_max_level) {
		errno = saved_errno;
		return -error;
	}
	errno = error ? error : saved_errno;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	pthread_mutex_lock(&log_lock);
	for (line = buf;; line = end + 1) {
		end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);

		if (log_targets & LOG_TARGET_STDERR) {
			write_stderr_line(level, line, n);
		}
		if (log_targets & LOG_TARGET_SYSLOG) {
			write_syslog_line(level, line, n);
		}
		if (!end) {
			break;
		}
	}
	pthread_mutex_unlock(&log_lock);
	errno = saved_errno;
	return -error;
}

int log_oom(void)
{
	return log_error_errno(ENOMEM, "Out of memory.");
}
