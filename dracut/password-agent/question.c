/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Reading systemd's ask-password question files. */
#include "question.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io-util.h"
#include "parse-util.h"

bool question_name_is_ask(const char *name)
{
	return strncmp(name, "ask.", 4) == 0;
}

Question *question_free(Question *q)
{
	if (q) {
		free(q->name);
		free(q->socket_path);
		free(q);
	}
	return NULL;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Trim blanks at both ends of [*start, *end). */
static void trim(const char **start, const char **end)
{
	while (*start < *end && is_blank(**start)) {
		(*start)++;
	}
	while (*end > *start && is_blank((*end)[-1])) {
		(*end)--;
	}
}

static bool span_eq(const char *s, const char *e, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(e - s) == n && memcmp(s, word, n) == 0;
}

int question_parse(const char *name, const char *text, size_t len, Question **ret,
                   const char **ret_reason)
{
	_cleanup_free_ char *socket_path = NULL, *pid_s = NULL, *not_after_s = NULL;
	_cleanup_question_free_ Question *q = NULL;
	const char *p = text, *end = text + len, *reason = NULL;
	bool in_ask = false;
	uint64_t pid = 0, not_after = 0;
	int r;

	if (memchr(text, '\0', len)) {
		reason = "it contains a NUL byte";
		goto bad;
	}

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *ls = p, *le = eol ? eol : end;
		const char *eq;
		char **slot = NULL;

		p = eol ? eol + 1 : end;
		trim(&ls, &le);
		if (ls == le || *ls == '#' || *ls == ';') {
			continue;
		}
		if (*ls == '[') {
			if (le[-1] != ']' || le - ls < 2) {
				reason = "a section header lacks its closing bracket";
				goto bad;
			}
			in_ask = span_eq(ls + 1, le - 1, "Ask");
			continue;
		}
		eq = memchr(ls, '=', (size_t)(le - ls));
		if (!eq) {
			reason = "a line is neither a section header nor a Key=Value assignment";
			goto bad;
		}
		if (!in_ask) {
			continue;
		}
		const char *ks = ls, *ke = eq, *vs = eq + 1, *ve = le;

		trim(&ks, &ke);
		trim(&vs, &ve);
		if (span_eq(ks, ke, "Socket")) {
			slot = &socket_path;
		} else if (span_eq(ks, ke, "PID")) {
			slot = &pid_s;
		} else if (span_eq(ks, ke, "NotAfter")) {
			slot = &not_after_s;
		} else {
			continue;
		}
		free(*slot);
		*slot = strndup(vs, (size_t)(ve - vs));
		if (!*slot) {
			return -ENOMEM;
		}
	}

	if (!socket_path || !*socket_path) {
		reason = "Socket= is missing or empty";
		goto bad;
	}
	if (!pid_s) {
		reason = "PID= is missing";
		goto bad;
	}
	r = parse_uint64(pid_s, INT_MAX, &pid);
	if (r < 0 || pid == 0) {
		reason = "PID= is not a process ID";
		goto bad;
	}
	if (not_after_s && parse_uint64(not_after_s, UINT64_MAX, &not_after) < 0) {
		reason = "NotAfter= is not a number of microseconds";
		goto bad;
	}

	q = calloc(1, sizeof(*q));
	if (!q) {
		return -ENOMEM;
	}
	q->name = strdup(name);
	if (!q->name) {
		return -ENOMEM;
	}
	q->socket_path = TAKE_PTR(socket_path);
	q->pid = (pid_t)pid;
	q->not_after = not_after;
	*ret = TAKE_PTR(q);
	return 0;

bad:
	if (ret_reason) {
		*ret_reason = reason;
	}
	return -EBADMSG;
}

bool question_asker_alive(const Question *q)
{
	return kill(q->pid, 0) == 0 || errno == EPERM;
}

int question_load(int dir_fd, const char *name, uint64_t now_usec, Question **ret,
                  const char **ret_reason)
{
	_cleanup_question_free_ Question *q = NULL;
	_cleanup_free_ char *text = NULL;
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	size_t len;
	int r;

	/* O_NONBLOCK: a FIFO planted under an ask.* name must not block the agent. */
	fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		return negative_errno();
	}
	if (fstat(fd, &st) < 0) {
		return negative_errno();
	}
	if (!S_ISREG(st.st_mode)) {
		if (ret_reason) {
			*ret_reason = "it is not a regular file";
		}
		return -EBADMSG;
	}
	r = read_full_fd(fd, QUESTION_FILE_MAX, &text, &len);
	if (r < 0) {
		return r;
	}
	r = question_parse(name, text, len, &q, ret_reason);
	if (r < 0) {
		return r;
	}
	if (!question_asker_alive(q)) {
		if (ret_reason) {
			*ret_reason = "the asking process does not exist";
		}
		return -ESRCH;
	}
	if (q->not_after != 0 && q->not_after <= now_usec) {
		if (ret_reason) {
			*ret_reason = "its NotAfter= time has passed";
		}
		return -ETIME;
	}
	*ret = TAKE_PTR(q);
	return 0;
}
