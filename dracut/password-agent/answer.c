/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Sending the "+password\0" datagram that answers a systemd password question. */
#include "answer.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "macro.h"

int answer_build(const SecBuf *password, SecBuf **ret)
{
	_cleanup_secbuf_ SecBuf *msg = NULL;
	int r;

	if (password->len > SIZE_MAX - 2) {
		return -EFBIG;
	}
	msg = secbuf_new(password->len + 2, password->len + 2);
	if (!msg) {
		return negative_errno();
	}
	r = secbuf_append(msg, "+", 1);
	if (r >= 0) {
		r = secbuf_append(msg, password->data, password->len);
	}
	if (r >= 0) {
		r = secbuf_append(msg, "", 1);
	}
	if (r < 0) {
		return r;
	}
	*ret = TAKE_PTR(msg);
	return 0;
}

int answer_send(const char *socket_path, const SecBuf *msg)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t plen = strlen(socket_path);
	_cleanup_close_ int fd = -EBADF;
	ssize_t n;

	if (plen == 0) {
		return -EINVAL;
	}
	if (plen >= sizeof(sa.sun_path)) {
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, socket_path, plen);

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		return negative_errno();
	}
	if (RETRY_EINTR(connect(fd, (const struct sockaddr *)&sa,
	                        (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + 1))) <
	    0) {
		return negative_errno();
	}
	n = RETRY_EINTR(send(fd, msg->data, msg->len, MSG_NOSIGNAL));
	if (n < 0) {
		return negative_errno();
	}
	/* A datagram is sent whole or not at all; anything else is a kernel surprise. */
	if ((size_t)n != msg->len) {
		return -EIO;
	}
	return 0;
}

bool answer_error_is_transient(int r)
{
	switch (-r) {
	case EAGAIN:
	case ENOENT:
	case ECONNREFUSED:
	case ENOBUFS:
	case ENOMEM:
	case EINTR:
		return true;
	default:
		return false;
	}
}
