/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Non-blocking TCP connects for mandos-client's attempts (protocols 1 and 2 alike). */
#pragma once

#include <stdbool.h>
#include <sys/socket.h>

/*
 * A CLOEXEC, non-blocking TCP socket connecting to sa (TCP_NODELAY set when nodelay).  Returns
 * the fd (the connect may still be in progress: wait for POLLOUT, then tcp_connect_result()),
 * or -errno, including what connect() reports at once (-ENETUNREACH, -EHOSTUNREACH...).
 */
int tcp_connect_start(const struct sockaddr *sa, socklen_t salen, bool nodelay);

/* After POLLOUT: 0 once connected, -EINPROGRESS while not yet, or the connect's -errno. */
int tcp_connect_result(int fd);
