/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A protocol 2 attempt: the socket, the avahi watch and timer around a P2ClientSession. */
#include "p2conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <avahi-common/timeval.h>

#include "log.h"
#include "tcp.h"

/* One read's worth; the session buffers what a message needs. */
#define P2CONN_READ_SIZE 16384

struct P2Conn {
	const AvahiPoll *api;
	const P2ClientConfig *cfg;
	char *name;
	int fd;
	P2ConnStage stage;
	P2ClientSession *session; /* from the connect on */
	AvahiWatch *watch;
	AvahiTimeout *timeout;
	P2ConnTimeouts t;
	P2ConnCallbacks cb;
	uint64_t connect_deadline; /* CLOCK_MONOTONIC µs */
	uint64_t secret_deadline;  /* set at SERVER_AUTH */
	uint64_t write_deadline;   /* while output waits, else UINT64_MAX */
	uint64_t received;         /* bytes read from the server */
	char *key_id;
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

const char *p2conn_stage_name(P2ConnStage stage)
{
	static const char *const names[] = {
	        [P2CONN_CONNECTING] = "connecting",
	        [P2CONN_HELLO] = "waiting for ServerHello",
	        [P2CONN_AUTH] = "waiting for SERVER_AUTH",
	        [P2CONN_WAIT] = "waiting for the RESULT",
	        [P2CONN_FINAL] = "waiting for the server's FINAL",
	        [P2CONN_DONE] = "done",
	};

	return (size_t)stage < ELEMENTSOF(names) ? names[stage] : "?";
}

const char *p2conn_server_key_id(const P2Conn *c)
{
	return c->key_id;
}

static void p2conn_io(AvahiWatch *w, int fd, AvahiWatchEvent ev, void *userdata);
static void p2conn_timeout(AvahiTimeout *t, void *userdata);

static void stop_watching(P2Conn *c)
{
	if (c->watch) {
		c->api->watch_free(c->watch);
		c->watch = NULL;
	}
	if (c->timeout) {
		c->api->timeout_free(c->timeout);
		c->timeout = NULL;
	}
}

static void finish(P2Conn *c, int r, const char *why)
{
	const P2Result *res = NULL;
	P2ConnStage stage = c->stage;

	stop_watching(c);
	c->fd = safe_close(c->fd);
	c->stage = P2CONN_DONE;
	if (r == 0) {
		res = p2_client_result(c->session);
	}
	if (c->cb.done) {
		void (*done)(P2Conn *, int, const P2Result *, P2ConnStage, const char *, void *) =
		        c->cb.done;

		c->cb.done = NULL;
		done(c, r, res, stage, why, c->cb.userdata);
	}
}

/* The earliest deadline now in force. */
static uint64_t deadline(const P2Conn *c)
{
	uint64_t d;

	if (c->stage == P2CONN_CONNECTING) {
		return c->connect_deadline;
	}
	d = p2_client_deadline(c->session);
	d = MIN(d, c->secret_deadline);
	return MIN(d, c->write_deadline);
}

static void arm_timer(P2Conn *c)
{
	uint64_t d = deadline(c), now = now_us();
	uint64_t ms = d > now ? (d - now + 999) / 1000 : 0;
	struct timeval tv;

	if (d == UINT64_MAX) {
		if (c->timeout) {
			c->api->timeout_update(c->timeout, NULL);
		}
		return;
	}
	avahi_elapse_time(&tv, (unsigned)MIN(ms, (uint64_t)INT32_MAX), 0);
	if (c->timeout) {
		c->api->timeout_update(c->timeout, &tv);
	} else {
		c->timeout = c->api->timeout_new(c->api, &tv, p2conn_timeout, c);
	}
}

/* Write what the session holds.  Returns 0 (all written, or the rest waits for POLLOUT). */
static int flush(P2Conn *c)
{
	for (;;) {
		size_t len;
		const uint8_t *out = p2_client_output(c->session, &len);
		ssize_t n;

		if (len == 0) {
			c->write_deadline = UINT64_MAX;
			return 0;
		}
		n = send(c->fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			if (errno == EAGAIN) {
				if (c->write_deadline == UINT64_MAX) {
					c->write_deadline =
					        now_us() + (uint64_t)c->t.write_ms * 1000u;
				}
				return 0;
			}
			return negative_errno();
		}
		p2_client_output_consume(c->session, (size_t)n);
		c->write_deadline = UINT64_MAX;
	}
}

static void want(P2Conn *c)
{
	size_t len;

	(void)p2_client_output(c->session, &len);
	c->api->watch_update(c->watch, AVAHI_WATCH_IN | (len ? AVAHI_WATCH_OUT : 0));
	arm_timer(c);
}

/* The server ended the exchange properly: write our FINAL (queued by the session with the
 * RESULT; best effort) and report. */
static void got_result(P2Conn *c)
{
	(void)flush(c);
	finish(c, 0, NULL);
}

/* Feed bytes (len 0: EOF).  Returns true when the attempt finished. */
static bool feed(P2Conn *c, const uint8_t *in, size_t len)
{
	size_t off = 0, rounds = 0;

	do {
		const char *why = NULL;
		size_t used = 0, before, after;
		int r;

		(void)p2_client_output(c->session, &before);
		r = p2_client_feed(c->session, in + off, len - off, now_us(), &used, &why);
		off += used;
		/* A feed queues output at two points only: ClientHello2 and CLIENT_AUTH after
		 * ServerHello, and our FINAL after a RESULT. */
		(void)p2_client_output(c->session, &after);
		if (c->stage == P2CONN_HELLO && after > before) {
			c->stage = P2CONN_AUTH;
		} else if (c->stage == P2CONN_WAIT && after > before) {
			c->stage = P2CONN_FINAL;
		}
		if (r < 0) {
			if (!c->key_id && p2_client_server_key_id(c->session)) {
				/* -EPERM: which key was not pinned. */
				c->key_id = strdup(p2_client_server_key_id(c->session));
			}
			finish(c, r, why);
			return true;
		}
		switch (r) {
		case P2_EV_AUTHENTICATED:
			c->stage = P2CONN_WAIT;
			c->secret_deadline = now_us() + (uint64_t)c->t.secret_ms * 1000u;
			free(c->key_id);
			c->key_id = strdup(p2_client_server_key_id(c->session));
			if (c->cb.authenticated) {
				c->cb.authenticated(c, p2_client_server_key_id(c->session),
				                    p2_client_server_pinned(c->session),
				                    c->cb.userdata);
			}
			break;
		case P2_EV_STATUS:
			if (c->cb.status) {
				c->cb.status(c, p2_client_status(c->session), c->cb.userdata);
			}
			break;
		case P2_EV_RESULT:
			got_result(c);
			return true;
		default:
			break;
		}
		/* A session that takes nothing more waits for more bytes. */
		if (used == 0 && ++rounds > 2) {
			return false;
		}
	} while (off < len);
	return false;
}

static void step(P2Conn *c, AvahiWatchEvent ev)
{
	uint8_t buf[P2CONN_READ_SIZE];
	int r;

	if (c->stage == P2CONN_CONNECTING) {
		r = tcp_connect_result(c->fd);
		if (r == -EINPROGRESS) {
			return;
		}
		if (r < 0) {
			log_info_errno(r, "Failed to connect to Mandos server %s: %m", c->name);
			finish(c, r, NULL);
			return;
		}
		log_debug("Connected to Mandos server %s (protocol 2)", c->name);
		/* The session starts now: its ServerHello deadline counts from the connect. */
		r = p2_client_new(c->cfg, now_us(), &c->session);
		if (r < 0) {
			finish(c, r, NULL);
			return;
		}
		c->stage = P2CONN_HELLO;
		ev = AVAHI_WATCH_OUT;
	}
	if (ev & AVAHI_WATCH_OUT) {
		r = flush(c);
		if (r < 0) {
			/* Nothing came back and the server is gone: no protocol 2 here. */
			finish(c,
			       c->received == 0 && (r == -EPIPE || r == -ECONNRESET) ? -ECONNRESET
			                                                             : r,
			       NULL);
			return;
		}
	}
	if (ev & (AVAHI_WATCH_IN | AVAHI_WATCH_HUP | AVAHI_WATCH_ERR)) {
		for (;;) {
			ssize_t n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);

			if (n < 0 && errno == EINTR) {
				continue;
			}
			if (n < 0 && errno == EAGAIN) {
				break;
			}
			if (n < 0 && errno == ECONNRESET && c->received == 0) {
				/* A reset before any byte: the server closed on our line. */
				n = 0;
			}
			if (n < 0) {
				finish(c, negative_errno(), NULL);
				return;
			}
			c->received += (uint64_t)n;
			if (feed(c, buf, (size_t)n)) {
				return;
			}
			if (n == 0) {
				/* The session must have failed on EOF; be safe. */
				finish(c, -EPROTO, "end of stream");
				return;
			}
		}
		r = flush(c);
		if (r < 0) {
			finish(c, r, NULL);
			return;
		}
	}
	want(c);
}

static void p2conn_io(AvahiWatch *w, int fd, AvahiWatchEvent ev, void *userdata)
{
	step(userdata, ev);
}

static void p2conn_timeout(AvahiTimeout *t, void *userdata)
{
	P2Conn *c = userdata;

	if (now_us() < deadline(c)) {
		/* Woken early (avahi rounds to ms): sleep again. */
		arm_timer(c);
		return;
	}
	log_info("Timed out %s with Mandos server %s", p2conn_stage_name(c->stage), c->name);
	finish(c, -ETIMEDOUT, NULL);
}

int p2conn_start(const AvahiPoll *api, const P2ClientConfig *cfg, const char *name,
                 const struct sockaddr *sa, socklen_t salen, const P2ConnTimeouts *t,
                 const P2ConnCallbacks *cb, P2Conn **ret)
{
	_cleanup_(p2conn_freep) P2Conn *c = calloc(1, sizeof(P2Conn));

	if (!c) {
		return -ENOMEM;
	}
	c->api = api;
	c->cfg = cfg;
	c->fd = -EBADF;
	c->t = *t;
	c->stage = P2CONN_CONNECTING;
	c->secret_deadline = UINT64_MAX;
	c->write_deadline = UINT64_MAX;
	c->name = strdup(name);
	if (!c->name) {
		return -ENOMEM;
	}
	/* The line and ClientHello leave in one segment (§A.1). */
	c->fd = tcp_connect_start(sa, salen, true);
	if (c->fd < 0) {
		return c->fd;
	}
	c->connect_deadline = now_us() + (uint64_t)t->connect_ms * 1000u;
	c->watch = api->watch_new(api, c->fd, AVAHI_WATCH_OUT, p2conn_io, c);
	if (!c->watch) {
		return -ENOMEM;
	}
	arm_timer(c);
	if (!c->timeout) {
		return -ENOMEM;
	}
	c->cb = *cb;
	*ret = TAKE_PTR(c);
	return 0;
}

P2Conn *p2conn_free(P2Conn *c)
{
	if (!c) {
		return NULL;
	}
	if (c->fd >= 0 && c->session && c->stage != P2CONN_DONE) {
		/* An abort: FINAL (once the streams are up), then close (§A.2.1). */
		if (p2_client_send_final(c->session) >= 0) {
			(void)flush(c);
		}
	}
	stop_watching(c);
	safe_close(c->fd);
	p2_client_free(c->session);
	free(c->key_id);
	free(c->name);
	free(c);
	return NULL;
}
