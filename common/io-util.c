/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fd helpers. */
#include "io-util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "secmem.h"

int loop_write(int fd, const void *buf, size_t n)
{
	const unsigned char *p = buf;

	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno == EAGAIN) {
				struct pollfd pfd = {.fd = fd, .events = POLLOUT};

				if (RETRY_EINTR(poll(&pfd, 1, -1)) < 0) {
					return negative_errno();
				}
				continue;
			}
			return negative_errno();
		}
		if (k == 0) {
			return -EIO;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int read_full_fd(int fd, size_t max, char **ret, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int r;

	/* The text may hold secrets (clients.conf): every block let go of is wiped first. */
	for (;;) {
		ssize_t k;

		if (cap - len < 1024) {
			size_t ncap = cap ? cap * 2 : 4096;
			char *n;

			if (ncap > max + 2) {
				ncap = max + 2;
			}
			if (ncap <= len + 1) {
				r = -EFBIG;
				goto fail;
			}
			n = secmem_realloc(buf, cap, ncap);
			if (!n) {
				r = -ENOMEM;
				goto fail;
			}
			buf = n;
			cap = ncap;
		}
		k = RETRY_EINTR(read(fd, buf + len, cap - len - 1));
		if (k < 0) {
			r = negative_errno();
			goto fail;
		}
		if (k == 0) {
			break;
		}
		len += (size_t)k;
		if (len > max) {
			r = -EFBIG;
			goto fail;
		}
	}
	buf[len] = '\0';
	if (ret_len) {
		*ret_len = len;
	}
	*ret = buf;
	return 0;
fail:
	secmem_free(buf, cap);
	return r;
}

int read_full_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		return negative_errno();
	}
	return read_full_fd(fd, max, ret, ret_len);
}

int fd_set_nonblock(int fd, bool nonblock)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0) {
		return negative_errno();
	}
	flags = nonblock ? flags | O_NONBLOCK : flags & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, flags) < 0 ? negative_errno() : 0;
}

int fd_set_cloexec(int fd, bool cloexec)
{
	int flags = fcntl(fd, F_GETFD);

	if (flags < 0) {
		return negative_errno();
	}
	flags = cloexec ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC;
	return fcntl(fd, F_SETFD, flags) < 0 ? negative_errno() : 0;
}

int fd_move_above_stdio(int fd)
{
	int n;

	if (fd > STDERR_FILENO) {
		return fd;
	}
	n = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (n < 0) {
		return negative_errno();
	}
	close(fd);
	return n;
}

int fd_ensure_stdio(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) {
			continue;
		}
		int n = open("/dev/null", O_RDWR | O_NOCTTY);

		if (n < 0) {
			return negative_errno();
		}
		if (n != fd) {
			/* Lower fds are open now, so this cannot happen; be safe anyway. */
			if (dup2(n, fd) < 0) {
				int r = negative_errno();

				close(n);
				return r;
			}
			close(n);
		}
	}
	return 0;
}
