/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Logging to stderr and syslog: levels, a program prefix, one write(2) per line. */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "macro.h"

/* Where log lines go. */
enum {
	LOG_TARGET_STDERR = 1 << 0,
	LOG_TARGET_SYSLOG = 1 << 1,
};

/* How a stderr line looks.  The prefix (log_open()'s `prefix`) always comes first. */
enum {
	LOG_STDERR_TIME = 1 << 0,  /* "2024-01-02 03:04:05,678 " before the prefix */
	LOG_STDERR_PID = 1 << 1,   /* " [PID]:" after the prefix */
	LOG_STDERR_LEVEL = 1 << 2, /* "LEVEL: " before the message (DEBUG, INFO, WARNING...) */
};

/*
 * Set up logging.  `prefix` is copied, e.g. "Mandos plugin mandos-client: " or "mandos".
 * `syslog_ident` is used when targets include LOG_TARGET_SYSLOG (facility LOG_DAEMON).
 * May be called again to change any of it (the server renames itself after a Zeroconf
 * collision).  Before any call, lines go to stderr with no prefix.
 */
void log_open(const char *prefix, const char *syslog_ident, int targets, int stderr_flags);

/*
 * Syslog lines go as datagrams to /dev/log, formatted as upstream's "IDENT [PID]: LEVEL: msg",
 * facility daemon.  This changes the socket path (for tests).
 */
void log_set_syslog_path(const char *path);

/* Lines above this syslog level (LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG...) are dropped. */
void log_set_max_level(int level);
int log_get_max_level(void);

/*
 * Parse a level name as upstream accepts it (CRITICAL, ERROR, WARNING, INFO, DEBUG; any case).
 * Returns the syslog level or -EINVAL.
 */
int log_level_from_string(const char *s);

/* The level's name as printed: "CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG". */
const char *log_level_to_string(int level);

/*
 * Log one message.  `error` is a positive or negative errno value; when non-zero, "%m" in the
 * format prints its text.  A message with embedded newlines becomes several lines, each with
 * the full prefix.  Returns -abs(error), or 0 when error is 0, so callers can write
 * `return log_error_errno(r, "...: %m");`.  errno is preserved.
 */
int log_internal(int level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_full_errno(level, error, ...) log_internal((level), (error), __VA_ARGS__)
#define log_debug(...) log_internal(LOG_DEBUG, 0, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, __VA_ARGS__)
#define log_critical(...) log_internal(LOG_CRIT, 0, __VA_ARGS__)
#define log_debug_errno(e, ...) log_internal(LOG_DEBUG, (e), __VA_ARGS__)
#define log_info_errno(e, ...) log_internal(LOG_INFO, (e), __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_ERR, (e), __VA_ARGS__)
#define log_critical_errno(e, ...) log_internal(LOG_CRIT, (e), __VA_ARGS__)

/* Log "Out of memory." at error level and return -ENOMEM. */
int log_oom(void);
