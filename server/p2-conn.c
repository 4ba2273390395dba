/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One protocol 2 connection on sd-event: the session of common/p2, the lookup, the verdict. */
#include "p2-conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>

#include <sodium.h>

#include "conn-decision.h"
#include "keyid.h"
#include "log.h"
#include "macro.h"
#include "metrics.h"
#include "p2.h"
#include "release.h"
#include "transport.h"

/* A client message is at most 16 + 17 + 487 bytes; ClientHello2 and CLIENT_AUTH come in one
 * write, the hellos before.  One recv() of this size takes any honest flight. */
#define P2_READ_SIZE 2048
/* §A.2.1: what the server tells a waiting client when it shuts down. */
#define P2_SHUTDOWN_TRY_LATER 10

typedef enum P2ConnPhase {
	P2C_HELLO,
	P2C_DECIDING,
	P2C_RESULT,
	P2C_LINGER,
} P2ConnPhase;

struct P2Conn {
	const ConnServer *srv;
	int fd;
	P2ConnPhase phase;
	P2ServerSession *session;
	P2Timeouts timeouts;
	sd_event_source *io;    /* the owner's, borrowed */
	sd_event_source *timer; /* the owner's, borrowed */
	Client *client;
	Release *release;
	bool authenticated;
	bool in_begin;        /* inside release_begin(): a verdict is only noted */
	bool verdict_pending; /* ... and this one came */
	ReleaseVerdict verdict;
	uint32_t verdict_value;
	uint64_t write_deadline;  /* CLOCK_MONOTONIC µs; 0 while nothing waits to be written */
	uint64_t linger_deadline; /* in LINGER */
	P2ConnDone done;
	void *userdata;
	const char *address;    /* the owner's */
	const char *ip;         /* the owner's */
	ConnDecision *decision; /* the owner's */
};

static uint64_t now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

bool p2_conn_authenticated(const P2Conn *p)
{
	return p->authenticated;
}

/* This request's decision (protocol 2), once; see conn-decision.h. */
static void report(P2Conn *p, DecisionResult result, const char *reason)
{
	conn_decision_report(p->decision, 2, result, p->client ? p->client->name : NULL,
	                     p->authenticated ? p2_server_client_key_id(p->session) : NULL, reason);
}

/*
 * The end: log why (when there is a reason worth an INFO line) and tell the owner, who frees
 * p.  Every caller returns false right after, and every function that can get here returns
 * whether p is still alive.
 */
static bool finish(P2Conn *p, const char *why)
{
	if (p->phase == P2C_DECIDING) {
		/* No RESULT was queued: the client went away, or we could not write to it. */
		report(p, DECISION_ABORTED, "client went away");
	}
	if (why) {
		log_info("Protocol 2 connection from %s closed: %s", p->address, why);
	}
	if (p->phase == P2C_HELLO) {
		metrics_handshake_failed(2); /* closed before a verified CLIENT_AUTH */
	}
	if (p->release) {
		release_abort(p->release);
	}
	p->done(p->userdata);
	return false;
}

/*
 * Write what the session queued.  0 when all is written, 1 when the socket is full, -errno.
 * In RESULT everything queued is the last of our stream and shutdown(SHUT_WR) follows at
 * once: MSG_MORE holds the segment back so that the FIN rides on it (one segment, not two).
 */
static int flush(P2Conn *p)
{
	int more = p->phase == P2C_RESULT ? MSG_MORE : 0;

	for (;;) {
		size_t len = 0;
		const uint8_t *out = p2_server_output(p->session, &len);
		ssize_t n;

		if (len == 0) {
			p->write_deadline = 0;
			return 0;
		}
		n = RETRY_EINTR(send(p->fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT | more));
		if (n < 0) {
			if (errno == EAGAIN) {
				if (p->write_deadline == 0) {
					p->write_deadline = now_mono() + p->timeouts.auth;
				}
				return 1;
			}
			return -errno;
		}
		p2_server_output_consume(p->session, (size_t)n);
	}
}

/* Watch for what the phase needs: always input (to abort, to linger), output when queued. */
static void rearm(P2Conn *p)
{
	uint64_t deadline = UINT64_MAX;
	size_t pending = 0;

	(void)p2_server_output(p->session, &pending);
	(void)sd_event_source_set_io_events(p->io, EPOLLIN | (pending ? EPOLLOUT : 0));
	if (p->phase == P2C_HELLO) {
		deadline = p2_server_deadline(p->session);
	}
	if (p->write_deadline) {
		deadline = MIN(deadline, p->write_deadline);
	}
	if (p->phase == P2C_LINGER) {
		deadline = MIN(deadline, p->linger_deadline);
	}
	if (deadline == UINT64_MAX) {
		(void)sd_event_source_set_enabled(p->timer, SD_EVENT_OFF);
		return;
	}
	(void)sd_event_source_set_time(p->timer, deadline);
	(void)sd_event_source_set_enabled(p->timer, SD_EVENT_ONESHOT);
}

/* Write; once RESULT and FINAL are out, half-close and linger (§A.2.1). */
static bool write_out(P2Conn *p)
{
	int r = flush(p);

	if (r < 0) {
		log_debug("Protocol 2 connection from %s: write failed: %s", p->address,
		          strerror(-r));
		return finish(p, NULL);
	}
	if (r == 0 && p->phase == P2C_RESULT) {
		(void)shutdown(p->fd, SHUT_WR);
		p->phase = P2C_LINGER;
		p->linger_deadline = now_mono() + p->timeouts.linger;
	}
	rearm(p);
	return true;
}

static bool send_result(P2Conn *p, const P2Result *res)
{
	int r;

	if (p->release) {
		release_abort(p->release);
	}
	r = p2_server_send_result(p->session, res);
	if (r < 0) {
		log_error("Cannot build a protocol 2 RESULT: %s", strerror(-r));
		report(p, DECISION_ERROR, "internal error");
		return finish(p, NULL);
	}
	p->phase = P2C_RESULT;
	return write_out(p);
}

/* A RESULT without items, after the decision it tells (reported first). */
static bool send_code(P2Conn *p, P2Code code, uint8_t flags, uint32_t value, DecisionResult result,
                      const char *reason)
{
	P2Result res = {.code = code, .flags = flags, .value = value};

	report(p, result, reason);
	return send_result(p, &res);
}

static bool not_found(P2Conn *p, const char *key_id, const char *reason)
{
	log_info("Client not found for key ID: %s, address: %s", key_id, p->address);
	CLIENT_NOTIFY(p->srv->ctx, client_not_found, key_id, p->ip);
	return send_code(p, P2_UNKNOWN_CLIENT, 0, 0, DECISION_UNKNOWN_CLIENT, reason);
}

/* What a granted RESULT carries, for the audit log. */
static const char *granted_reason(const ReleaseP2 *out)
{
	if (out->sealed && out->n_escrow > 0) {
		return "sealed and escrow";
	}
	return out->sealed ? "sealed" : "escrow";
}

/* The verdict of release.c as a RESULT (§A.4.3). */
static bool on_verdict(P2Conn *p, ReleaseVerdict v, uint32_t value)
{
	switch (v) {
	case RELEASE_GRANTED: {
		P2Result res = {.code = P2_OK};
		ReleaseP2 out;
		uint32_t wait = 0;
		bool alive;
		int r = release_commit_p2(p->release, p2_server_request(p->session), &out, &wait);

		if (r == -EAGAIN) {
			return send_code(p, P2_TRY_LATER, P2_TRY_LATER_RELEASE_LIMIT, wait,
			                 DECISION_LIMIT, "release limit reached");
		}
		if (r == -ENOENT) {
			log_info("Client %s has no protocol 2 material for the request any more",
			         p->client->name);
			return send_code(p, P2_NO_MATERIAL, 0, 0, DECISION_NO_MATERIAL,
			                 "material gone");
		}
		if (r == -EIO) {
			/* §B.1: an evaluation that fails closes (it cannot with a checked x). */
			report(p, DECISION_ERROR, "escrow evaluation failed");
			return finish(p, "escrow evaluation failed");
		}
		if (r < 0 || out.sealed_len > UINT16_MAX) {
			return send_code(p, P2_INTERNAL, 0, 0, DECISION_ERROR, "internal error");
		}
		if (out.sealed) {
			res.items[res.n_items++] = (P2ResultItem){.kind = P2_ITEM_SEALED,
			                                          .len = (uint16_t)out.sealed_len,
			                                          .data = out.sealed};
		}
		for (size_t i = 0; i < out.n_escrow; i++) {
			res.items[res.n_items++] = (P2ResultItem){.kind = P2_ITEM_ESCROW,
			                                          .len = P2_ESCROW_ITEM_LEN,
			                                          .data = out.escrow[i]};
		}
		report(p, DECISION_GRANTED, granted_reason(&out));
		alive = send_result(p, &res);
		sodium_memzero(&out, sizeof(out));
		return alive;
	}
	case RELEASE_DISABLED:
		return send_code(p, P2_DISABLED, 0, value, DECISION_DISABLED,
		                 conn_decision_disabled_reason(value));
	case RELEASE_DENIED:
		return send_code(p, P2_DENIED, 0, 0, DECISION_DENIED, "denied by an administrator");
	case RELEASE_APPROVAL_TIMEOUT:
		return send_code(p, P2_APPROVAL_TIMEOUT, 0, 0, DECISION_APPROVAL_TIMEOUT,
		                 "approval delay passed");
	case RELEASE_LIMIT:
		return send_code(p, P2_TRY_LATER, P2_TRY_LATER_RELEASE_LIMIT, value, DECISION_LIMIT,
		                 "release limit reached");
	case RELEASE_BUSY:
		return send_code(p, P2_TRY_LATER, 0, value, DECISION_BUSY,
		                 "too many requests waiting");
	case RELEASE_REMOVED:
		return not_found(p, p2_server_client_key_id(p->session), "removed by a reload");
	case RELEASE_UNAVAILABLE:
		return send_code(p, P2_TRY_LATER, 0, value, DECISION_UNAVAILABLE,
		                 "shared state unavailable");
	}
	return send_code(p, P2_INTERNAL, 0, 0, DECISION_ERROR, "internal error");
}

static void release_decided(Release *r, ReleaseVerdict v, uint32_t value, void *userdata)
{
	P2Conn *p = userdata;

	if (p->in_begin) {
		p->verdict_pending = true;
		p->verdict = v;
		p->verdict_value = value;
		return;
	}
	(void)on_verdict(p, v, value);
}

/* STATUS AWAITING_APPROVAL (the session drops it unless the client set SHOWS_STATUS). */
static void release_waiting(Release *r, uint32_t seconds_left, bool by_default, void *userdata)
{
	P2Conn *p = userdata;
	P2Status st = {
	        .code = P2_STATUS_AWAITING_APPROVAL,
	        .flags = by_default ? P2_STATUS_APPROVED_BY_DEFAULT : 0,
	        .value = seconds_left,
	};

	if (p2_server_send_status(p->session, &st) < 0) {
		return;
	}
	/* Not write_out(): p must stay alive here; a broken socket shows as input or an error. */
	(void)flush(p);
	rearm(p);
}

static const ReleaseOps release_ops = {
        .decided = release_decided,
        .waiting = release_waiting,
};

/*
 * §A.5.1 after SERVER_AUTH (queued, not yet written): lookup, material, then release.c
 * decides.  Every path writes what is queued before it returns or waits.
 */
static bool decide(P2Conn *p)
{
	const char *key_id = p2_server_client_key_id(p->session);
	const P2ClientAuth *req = p2_server_request(p->session);
	Client *c = NULL;
	int r;

	if (keyid_is_acceptable(key_id)) {
		c = p->srv->lookup(p->srv->userdata, key_id);
	}
	if (!c) {
		return not_found(p, key_id, NULL);
	}
	p->client = client_ref(c);
	log_debug("Protocol 2 request from %s for %s, flags %#x", p->address, c->name,
	          (unsigned)req->flags);
	if (!release_has_material(c, 2, req->flags, req->items, req->n_items)) {
		log_info("Client %s has no protocol 2 material for the request from %s", c->name,
		         p->address);
		return send_code(p, P2_NO_MATERIAL, 0, 0, DECISION_NO_MATERIAL,
		                 "nothing for the request");
	}
	p->in_begin = true;
	r = release_begin(p->srv->event, c, 2, &release_ops, p, &p->release);
	p->in_begin = false;
	if (r < 0) {
		log_oom();
		return send_code(p, P2_INTERNAL, 0, 0, DECISION_ERROR, "out of memory");
	}
	if (p->verdict_pending) {
		return on_verdict(p, p->verdict, p->verdict_value);
	}
	/* A wait (approval, a busy client): SERVER_AUTH goes now (the client's deadline). */
	return write_out(p);
}

static bool feed(P2Conn *p, const uint8_t *in, size_t len);

/* The read end of the socket now: bytes, EOF (len 0), or an error. */
static bool read_in(P2Conn *p)
{
	uint8_t buf[P2_READ_SIZE];
	ssize_t n = RETRY_EINTR(recv(p->fd, buf, sizeof(buf), MSG_DONTWAIT));

	if (n < 0) {
		if (errno == EAGAIN) {
			return true;
		}
		if (p->phase == P2C_DECIDING) {
			log_info("Client %s disconnected while waiting for approval",
			         p->client ? p->client->name : "?");
			return finish(p, NULL);
		}
		log_debug("Protocol 2 connection from %s: %m", p->address);
		return finish(p, p->phase == P2C_HELLO ? "connection reset" : NULL);
	}
	return feed(p, buf, (size_t)n);
}

/*
 * A verified CLIENT_AUTH (§A.4.2): the peer holds its key.  rest is what followed it in the
 * same read; it and anything pending on the socket (step 7) make the session fail before
 * SERVER_AUTH leaves.
 */
static bool on_request(P2Conn *p, const uint8_t *rest, size_t rest_len)
{
	uint8_t b;
	ssize_t n;

	p->authenticated = true;
	if (rest_len > 0) {
		return feed(p, rest, rest_len);
	}
	n = RETRY_EINTR(recv(p->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT));
	if (n >= 0) {
		return read_in(p);
	}
	if (errno != EAGAIN) {
		return finish(p, "connection reset");
	}
	/*
	 * SERVER_AUTH stays queued: an immediate verdict leaves with it in one send() (SERVER_AUTH
	 * first, as §A.4.2 wants); decide() flushes it at once when the verdict has to wait.
	 */
	p->phase = P2C_DECIDING;
	return decide(p);
}

static bool feed_failed(P2Conn *p, int e, const char *why)
{
	switch (p->phase) {
	case P2C_HELLO:
		if (e == -EPROTO) {
			return finish(p, why ? why : "the client closed");
		}
		return finish(p, why ? why : "malformed input");
	case P2C_DECIDING:
		log_info("Client %s aborted its request from %s (%s)",
		         p->client ? p->client->name : "?", p->address,
		         e == -EPROTO ? "closed" : (why ? why : "unexpected input"));
		return finish(p, NULL);
	default:
		log_debug("Protocol 2 connection from %s after the RESULT: %s", p->address,
		          why ? why : "closed");
		return finish(p, NULL);
	}
}

static bool feed(P2Conn *p, const uint8_t *in, size_t len)
{
	size_t off = 0;

	do {
		const char *why = NULL;
		size_t used = 0;
		int ev = p2_server_feed(p->session, in + off, len - off, now_mono(), &used, &why);

		off += MIN(used, len - off);
		if (ev < 0) {
			return feed_failed(p, ev, why);
		}
		switch (ev) {
		case P2_EV_REQUEST:
			if (p->phase != P2C_HELLO) {
				return finish(p, "a second request");
			}
			return on_request(p, in + off, len - off);
		case P2_EV_PEER_FINAL:
			if (p->phase == P2C_DECIDING) {
				log_info("Client %s aborted its request from %s",
				         p->client ? p->client->name : "?", p->address);
				return finish(p, NULL);
			}
			return finish(p, p->phase == P2C_HELLO ? "the client aborted" : NULL);
		case P2_EV_DONE:
			/* What is still queued goes if the socket takes it now. */
			(void)flush(p);
			log_debug("Protocol 2 connection from %s done", p->address);
			return finish(p, NULL);
		default:
			if (used == 0 && len > 0) {
				/* Nothing taken and nothing to say: wait for more. */
				rearm(p);
				return true;
			}
			break;
		}
	} while (off < len);
	if (len == 0 && p->phase != P2C_HELLO) {
		/* EOF the session took quietly (after our RESULT): done. */
		return finish(p, NULL);
	}
	if (len == 0) {
		return finish(p, "the client closed");
	}
	return write_out(p);
}

void p2_conn_io(P2Conn *p, uint32_t revents)
{
	if ((revents & EPOLLOUT) && !write_out(p)) {
		return;
	}
	if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		(void)read_in(p);
	}
}

void p2_conn_timer(P2Conn *p)
{
	uint64_t now = now_mono();

	if (p->phase == P2C_LINGER && now >= p->linger_deadline) {
		log_debug("Protocol 2 connection from %s: no FINAL from the client", p->address);
		(void)finish(p, NULL);
		return;
	}
	if (p->write_deadline && now >= p->write_deadline) {
		(void)finish(p, "timed out writing");
		return;
	}
	if (p->phase == P2C_HELLO && now >= p2_server_deadline(p->session)) {
		log_warning("Connection from %s timed out in the protocol 2 handshake", p->address);
		(void)finish(p, NULL);
		return;
	}
	rearm(p);
}

int p2_conn_new(const ConnServer *srv, int fd, sd_event_source *io, sd_event_source *timer,
                const char *address, const char *ip, uint64_t accepted, ConnDecision *decision,
                P2ConnDone done, void *userdata, P2Conn **ret)
{
	P2Conn *p = calloc(1, sizeof(*p));
	int r;

	if (!p) {
		return -ENOMEM;
	}
	p->srv = srv;
	p->fd = fd;
	p->io = io;
	p->timer = timer;
	p->done = done;
	p->userdata = userdata;
	p->address = address;
	p->ip = ip;
	p->decision = decision;
	p->timeouts = p2_default_timeouts;
	p->timeouts.hello = p->timeouts.auth = srv->timeout_usec;
	r = p2_server_new(srv->p2_identity, &p->timeouts, accepted, &p->session);
	if (r < 0) {
		free(p);
		return r;
	}
	*ret = p;
	return 0;
}

void p2_conn_start(P2Conn *p, const uint8_t *early, size_t early_len)
{
	if (early_len > 0) {
		(void)feed(p, early, early_len);
		return;
	}
	rearm(p);
}

void p2_conn_shutdown(P2Conn *p)
{
	P2Result res = {.code = P2_TRY_LATER, .value = P2_SHUTDOWN_TRY_LATER};

	if (p->phase != P2C_DECIDING) {
		return;
	}
	report(p, DECISION_ABORTED, "server stopping");
	if (p->release) {
		release_abort(p->release);
	}
	if (p2_server_send_result(p->session, &res) < 0) {
		return;
	}
	p->phase = P2C_RESULT;
	if (flush(p) == 0) {
		(void)shutdown(p->fd, SHUT_WR);
	}
}

P2Conn *p2_conn_free(P2Conn *p)
{
	if (!p) {
		return NULL;
	}
	release_free(p->release);
	client_unref(p->client);
	p2_server_free(p->session);
	free(p);
	return NULL;
}
