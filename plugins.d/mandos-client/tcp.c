/* SPDX-License-Identifier: GPL-3.0-or-later */
/* socket(), connect() and SO_ERROR, the same for every attempt. */
#include "tcp.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "macro.h"

int tcp_connect_start(const struct sockaddr *sa, socklen_t salen, bool nodelay)
{
	_cleanup_close_ int fd = -EBADF;
	const int one = 1;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_TCP);
	if (fd < 0) {
		return negative_errno();
	}
	if (nodelay) {
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (connect(fd, sa, salen) < 0 && errno != EINPROGRESS) {
		return negative_errno();
	}
	return TAKE_FD(fd);
}

int tcp_connect_result(int fd)
{
	int err = 0;
	socklen_t l = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0) {
		err = errno;
	}
	if (err == EINPROGRESS || err == EALREADY) {
		return -EINPROGRESS;
	}
	return -err;
}
