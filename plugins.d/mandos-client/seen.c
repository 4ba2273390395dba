/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Appends to the servers-seen file that mandos-keygen --pin-seen reads. */
#include "seen.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io-util.h"
#include "macro.h"

#define SEEN_FILE_MAX (1024 * 1024)

static int make_parent(const char *path)
{
	_cleanup_free_ char *dir = strdup(path);
	char *slash;

	if (!dir) {
		return -ENOMEM;
	}
	slash = strrchr(dir, '/');
	if (!slash || slash == dir) {
		return 0;
	}
	*slash = '\0';
	if (mkdir(dir, 0755) < 0) {
		return errno == EEXIST ? 0 : negative_errno();
	}
	/* Whatever the umask: key ids are public (§A.9.3). */
	return chmod(dir, 0755) < 0 ? negative_errno() : 0;
}

/* Whether text has a line that starts with key_id (case ignored). */
static bool has_id(const char *text, size_t len, const char *key_id)
{
	size_t klen = strlen(key_id);
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (n >= klen && strncasecmp(p, key_id, klen) == 0 &&
		    (n == klen || p[klen] == ' ' || p[klen] == '#' || p[klen] == '\t')) {
			return true;
		}
		p += n + 1;
	}
	return false;
}

int servers_seen_add(const char *path, const char *key_id, const char *where)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *text = NULL, *line = NULL;
	size_t len = 0;
	struct stat st;
	int r, n;

	r = make_parent(path);
	if (r < 0) {
		return r;
	}
	fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		return negative_errno();
	}
	if (fstat(fd, &st) < 0) {
		return negative_errno();
	}
	if (!S_ISREG(st.st_mode)) {
		return -EINVAL;
	}
	if ((st.st_mode & 07777) != 0644 && st.st_size == 0 && fchmod(fd, 0644) < 0) {
		return negative_errno();
	}
	r = read_full_fd(fd, SEEN_FILE_MAX, &text, &len);
	if (r < 0) {
		return r;
	}
	if (has_id(text, len, key_id)) {
		return 0;
	}
	/* A file whose last line lacks its newline gets one first. */
	n = asprintf(&line, "%s%s # %s\n", len > 0 && text[len - 1] != '\n' ? "\n" : "", key_id,
	             where);
	if (n < 0) {
		line = NULL;
		return -ENOMEM;
	}
	return loop_write(fd, line, (size_t)n);
}
