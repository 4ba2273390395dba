/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mandos-floor-server: the system calls and byte counts of our protocol 2 server's sealed
 * unlock with no cryptography and no protocol code, so that bench/run.sh can measure what the
 * kernel's TCP work and the event loop cost per connection on this machine (the floor).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "floor.h"
#include "macro.h"
#include "parse-util.h"

/*
 * Per connection, the sequence strace shows for our server (bench/README.md's table):
 * accept4, epoll_ctl ADD, recv of the version line and ClientHello right away, send of the
 * ServerHello; when readable, recv of ClientHello2 and CLIENT_AUTH, a 1-byte MSG_PEEK (the
 * check that nothing follows CLIENT_AUTH), send of SERVER_AUTH, RESULT and FINAL with
 * MSG_MORE, shutdown(SHUT_WR); when readable, recv of the client's FINAL, epoll_ctl DEL,
 * close.  Left out: sd-event's timerfd_settime and libsodium's getrandom (not TCP's).
 */

typedef enum { PH_HELLO, PH_AUTH, PH_FINAL } Phase;

typedef struct FloorConn {
	int fd;
	Phase phase;
	size_t got; /* bytes of the current flight */
} FloorConn;

static int epfd = -1;
/* Markers for the epoll data of the listening socket and the signalfd. */
static char listen_tag, signal_tag;

static void conn_end(FloorConn *c)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

/* A flight's bytes arrived: the next step.  False when the connection ended. */
static bool conn_advance(FloorConn *c)
{
	static const char zeros[FLOOR_RESULT_LEN];
	char b;

	switch (c->phase) {
	case PH_HELLO:
		if (send(c->fd, zeros, FLOOR_SERVER_HELLO_LEN, MSG_DONTWAIT | MSG_NOSIGNAL) !=
		    FLOOR_SERVER_HELLO_LEN) {
			return false;
		}
		c->phase = PH_AUTH;
		break;
	case PH_AUTH:
		if (recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) >= 0) {
			return false; /* bytes after CLIENT_AUTH: not the pattern */
		}
		if (send(c->fd, zeros, FLOOR_RESULT_LEN, MSG_DONTWAIT | MSG_NOSIGNAL | MSG_MORE) !=
		            FLOOR_RESULT_LEN ||
		    shutdown(c->fd, SHUT_WR) < 0) {
			return false;
		}
		c->phase = PH_FINAL;
		break;
	case PH_FINAL:
		return false; /* done */
	}
	c->got = 0;
	return true;
}

/* One recv() of the current flight (flags 0 for the first, right after accept4, as ours). */
static void conn_read(FloorConn *c, int flags)
{
	static const size_t want[] = {
	        [PH_HELLO] = FLOOR_CLIENT_HELLO_LEN,
	        [PH_AUTH] = FLOOR_CLIENT_AUTH_LEN,
	        [PH_FINAL] = FLOOR_CLIENT_FINAL_LEN,
	};
	char buf[4096];
	ssize_t n = recv(c->fd, buf, c->phase == PH_HELLO ? 4096 : 2048, flags);

	if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
		return;
	}
	if (n <= 0 || c->got + (size_t)n > want[c->phase]) {
		conn_end(c);
		return;
	}
	c->got += (size_t)n;
	if (c->got == want[c->phase] && !conn_advance(c)) {
		conn_end(c);
	}
}

static void accept_all(int lfd)
{
	for (;;) {
		struct sockaddr_storage sa;
		socklen_t len = sizeof(sa);
		struct epoll_event ev = {.events = EPOLLIN};
		FloorConn *c;
		int fd = accept4(lfd, (struct sockaddr *)&sa, &len, SOCK_CLOEXEC | SOCK_NONBLOCK);

		if (fd < 0) {
			return; /* EAGAIN, or a connection that went away */
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		ev.data.ptr = c;
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			free(c);
			continue;
		}
		conn_read(c, 0);
	}
}

static int listen_on(const char *address, unsigned port)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
	int one = 1;
	_cleanup_close_ int fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		return -errno;
	}
	if (inet_pton(AF_INET6, address, &sa.sin6_addr) != 1) {
		return -EINVAL;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
		return -errno;
	}
	return TAKE_FD(fd);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	        {"address", required_argument, NULL, 'a'},
	        {"port", required_argument, NULL, 'p'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	static const char usage[] = "usage: mandos-floor-server --port=PORT [--address=IPV6]\n";
	const char *address = "::1";
	unsigned port = 0;
	struct epoll_event ev;
	sigset_t mask;
	int lfd, sfd, o;

	while ((o = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (o) {
		case 'a':
			address = optarg;
			break;
		case 'p':
			if (parse_uint(optarg, 65535, &port) < 0 || port == 0) {
				fprintf(stderr, "bad --port\n");
				return 64;
			}
			break;
		default:
			fputs(usage, stderr);
			return o == 'h' ? 0 : 64;
		}
	}
	if (port == 0) {
		fputs(usage, stderr);
		return 64;
	}
	lfd = listen_on(address, port);
	if (lfd < 0) {
		fprintf(stderr, "cannot listen on [%s]:%u: %s\n", address, port, strerror(-lfd));
		return 71;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (sfd < 0 || epfd < 0) {
		perror("mandos-floor-server");
		return 71;
	}
	ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = &listen_tag};
	epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
	ev = (struct epoll_event){.events = EPOLLIN, .data.ptr = &signal_tag};
	epoll_ctl(epfd, EPOLL_CTL_ADD, sfd, &ev);
	for (;;) {
		struct epoll_event evs[64];
		int n = epoll_wait(epfd, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == &signal_tag) {
				return 0;
			}
			if (evs[i].data.ptr == &listen_tag) {
				accept_all(lfd);
			} else {
				conn_read(evs[i].data.ptr, MSG_DONTWAIT);
			}
		}
	}
}
