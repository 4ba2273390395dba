/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One client connection: version line, then protocol 1 (TLS, we are the TLS client) or 2. */
#include "tls-conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "conn-decision.h"
#include "keyid.h"
#include "log.h"
#include "macro.h"
#include "metrics.h"
#include "p2-conn.h"
#include "p2.h"
#include "release.h"

/* Longest protocol version line we read ("1\r\n" is 3 bytes). */
#define VERSION_LINE_MAX 64
/* One recv() takes this much; a client's whole handshake flight is well under it. */
#define READ_BUFFER_SIZE 4096

struct Connection {
	const ConnServer *srv;
	int fd;
	ConnState state;
	sd_event_source *io;
	sd_event_source *deadline;
	gnutls_session_t session;
	char address[INET6_ADDRSTRLEN + 48]; /* as Python prints the peer tuple */
	char ip[INET6_ADDRSTRLEN];
	Client *client;
	Release *release;     /* the decision for client (release.h) */
	bool in_begin;        /* inside release_begin(): a verdict is only noted */
	bool verdict_pending; /* ... and this one came */
	ReleaseVerdict verdict;
	uint32_t verdict_value;
	P2Conn *p2;                     /* in CONN_P2 */
	uint64_t accepted;              /* CLOCK_MONOTONIC µs */
	ConnDecision decision;          /* for the audit log and the metrics */
	char key_id[KEYID_STRING_SIZE]; /* the peer's, once the handshake is done ("") */
	Connection *prev, *next;
	void *owner_data; /* the manager's, see connection_set_owner_data() */
	/*
	 * Our own socket buffering.  GnuTLS reads a record in two pieces (header, then body) and
	 * writes each record or flight on its own; we read what the socket has with one recv(),
	 * and send what GnuTLS queued with one send() just before we wait.  This halves the
	 * system calls and TCP segments of an unlock: the change cipher spec, Finished, the
	 * secret and close_notify leave together.
	 */
	uint8_t *wbuf;
	size_t wlen, wcap;
	int write_errno; /* a failed send: later pushes fail with it */
	bool bye_done;   /* close_notify exchanged; only the flush remains */
	/* The handshake on a worker thread (see hs-pool.h): while pooled, only the worker and
	 * the step's fields below are in use; the main thread reads state, address and links. */
	HsJob job;
	int hs_result;  /* gnutls_handshake()'s last return */
	bool pooled;    /* lent to the pool */
	bool orphaned;  /* aborted while lent: srv->closed was called; free it when it is back */
	size_t rpos, rlen;
	uint8_t rbuf[READ_BUFFER_SIZE];
};

ConnState connection_state(const Connection *conn)
{
	return conn->state;
}

bool connection_unauthenticated(const Connection *conn)
{
	if (conn->state == CONN_P2) {
		return !p2_conn_authenticated(conn->p2);
	}
	return conn->state == CONN_VERSION || conn->state == CONN_HANDSHAKE;
}

void connection_set_owner_data(Connection *conn, void *data)
{
	conn->owner_data = data;
}

void *connection_owner_data(const Connection *conn)
{
	return conn->owner_data;
}

Connection *connection_next(const Connection *conn)
{
	return conn->next;
}

void connection_link(Connection *conn, Connection **head, Connection **tail)
{
	conn->next = NULL;
	conn->prev = *tail;
	if (*tail) {
		(*tail)->next = conn;
	} else {
		*head = conn;
	}
	*tail = conn;
}

void connection_unlink(Connection *conn, Connection **head, Connection **tail)
{
	if (conn->prev) {
		conn->prev->next = conn->next;
	} else {
		*head = conn->next;
	}
	if (conn->next) {
		conn->next->prev = conn->prev;
	} else {
		*tail = conn->prev;
	}
	conn->prev = conn->next = NULL;
}

/* This connection's decision (protocol 1), once; see conn-decision.h. */
static void report(Connection *conn, DecisionResult result, const char *reason)
{
	conn_decision_report(&conn->decision, 1, result, conn->client ? conn->client->name : NULL,
	                     conn->key_id[0] ? conn->key_id : NULL, reason);
}

/* Everything but srv->closed (see connection_free()). */
static void connection_destroy(Connection *conn)
{

	conn->release = release_free(conn->release);
	conn->p2 = p2_conn_free(conn->p2);
	client_unref(conn->client);
	sd_event_source_disable_unref(conn->io);
	sd_event_source_disable_unref(conn->deadline);
	if (conn->session) {
		gnutls_deinit(conn->session);
	}
	if (conn->wlen > 0 && conn->write_errno == 0) {
		/* Best effort, as a write GnuTLS made itself would have been (an alert, say). */
		(void)send(conn->fd, conn->wbuf, conn->wlen, MSG_DONTWAIT | MSG_NOSIGNAL);
	}
	free(conn->wbuf);
	safe_close(conn->fd);
	free(conn);
}

static void connection_free(Connection *conn)
{
	conn->srv->closed(conn, conn->srv->userdata);
	connection_destroy(conn);
}

void connection_abort(Connection *conn, const char *why)
{
	if (why) {
		log_info("Closing connection from %s: %s", conn->address, why);
	}
	if (conn->state == CONN_APPROVAL) {
		/* Only the server's end closes a request that waits (see manager.c). */
		report(conn, DECISION_ABORTED, "server stopping");
	}
	if (conn->p2) {
		p2_conn_shutdown(conn->p2);
	}
	if (conn->pooled) {
		/* Gone for the server now; the memory and the socket when the worker lets go. */
		if (!conn->orphaned) {
			conn->orphaned = true;
			conn->srv->closed(conn, conn->srv->userdata);
			hs_pool_cancel(conn->srv->pool, &conn->job);
		}
		return;
	}
	connection_free(conn);
}

static void set_events(Connection *conn, uint32_t events)
{
	(void)sd_event_source_set_io_events(conn->io, events);
}

static void set_deadline(Connection *conn, uint64_t usec_from_now)
{
	(void)sd_event_source_set_time_relative(conn->deadline, usec_from_now);
	(void)sd_event_source_set_enabled(conn->deadline, SD_EVENT_ONESHOT);
}

static ssize_t conn_pull(gnutls_transport_ptr_t p, void *data, size_t size)
{
	Connection *conn = p;
	size_t n;

	if (conn->rpos == conn->rlen) {
		ssize_t r;

		conn->rpos = conn->rlen = 0;
		if (size >= sizeof(conn->rbuf)) {
			r = RETRY_EINTR(recv(conn->fd, data, size, 0));
		} else {
			r = RETRY_EINTR(recv(conn->fd, conn->rbuf, sizeof(conn->rbuf), 0));
		}
		if (r < 0) {
			gnutls_transport_set_errno(conn->session, errno);
			return -1;
		}
		if (r == 0 || size >= sizeof(conn->rbuf)) {
			return r;
		}
		conn->rlen = (size_t)r;
	}
	n = MIN(size, conn->rlen - conn->rpos);
	memcpy(data, conn->rbuf + conn->rpos, n);
	conn->rpos += n;
	return (ssize_t)n;
}

/* Not called for non-blocking stream sessions, but GnuTLS's own would poll past our buffer. */
static int conn_pull_timeout(gnutls_transport_ptr_t p, unsigned ms)
{
	Connection *conn = p;
	struct pollfd pfd = {.fd = conn->fd, .events = POLLIN};
	int r;

	if (conn->rpos < conn->rlen) {
		return 1;
	}
	r = RETRY_EINTR(poll(&pfd, 1, ms == GNUTLS_INDEFINITE_TIMEOUT ? -1 : (int)MIN(ms, INT_MAX)));
	if (r < 0) {
		gnutls_transport_set_errno(conn->session, errno);
		return -1;
	}
	return r;
}

static ssize_t conn_push(gnutls_transport_ptr_t p, const giovec_t *iov, int iovcnt)
{
	Connection *conn = p;
	size_t total = 0;

	if (conn->write_errno) {
		gnutls_transport_set_errno(conn->session, conn->write_errno);
		return -1;
	}
	for (int i = 0; i < iovcnt; i++) {
		total += iov[i].iov_len;
	}
	if (total > conn->wcap - conn->wlen) {
		size_t cap = MAX(MAX(conn->wcap * 2, (size_t)4096), conn->wlen + total);
		uint8_t *b = realloc(conn->wbuf, cap);

		if (!b) {
			gnutls_transport_set_errno(conn->session, ENOMEM);
			return -1;
		}
		conn->wbuf = b;
		conn->wcap = cap;
	}
	for (int i = 0; i < iovcnt; i++) {
		memcpy(conn->wbuf + conn->wlen, iov[i].iov_base, iov[i].iov_len);
		conn->wlen += iov[i].iov_len;
	}
	return (ssize_t)total;
}

/*
 * Send what GnuTLS queued.  True when nothing is left (or the socket failed: the next GnuTLS
 * call then fails with the error); false when the socket is full, and we now wait to write.
 */
static bool flush_pending(Connection *conn)
{
	size_t done = 0;

	while (done < conn->wlen) {
		ssize_t n = RETRY_EINTR(
		        send(conn->fd, conn->wbuf + done, conn->wlen - done, MSG_NOSIGNAL));

		if (n < 0) {
			if (errno == EAGAIN) {
				memmove(conn->wbuf, conn->wbuf + done, conn->wlen - done);
				conn->wlen -= done;
				return false;
			}
			conn->write_errno = errno;
			break;
		}
		done += (size_t)n;
	}
	conn->wlen = 0;
	return true;
}

/* flush_pending(), on the main thread: when the socket is full, wait until it is not. */
static bool flush_output(Connection *conn)
{
	if (!flush_pending(conn)) {
		set_events(conn, EPOLLOUT);
		return false;
	}
	return true;
}

/* Wait for the direction GnuTLS needs, once what it wrote is on its way. */
static void wait_gnutls(Connection *conn)
{
	if (flush_output(conn)) {
		set_events(conn, gnutls_record_get_direction(conn->session) ? EPOLLOUT : EPOLLIN);
	}
}

static void do_bye(Connection *conn);
static void do_send(Connection *conn);

static void start_bye(Connection *conn)
{
	conn->state = CONN_BYE;
	do_bye(conn);
}

static void do_bye(Connection *conn)
{
	int r = gnutls_bye(conn->session, GNUTLS_SHUT_RDWR);

	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
		wait_gnutls(conn);
		return;
	}
	if (r < 0) {
		log_warning("GnuTLS bye failed: %s", gnutls_strerror(r));
		connection_free(conn);
		return;
	}
	conn->bye_done = true;
	if (flush_output(conn)) {
		connection_free(conn);
	}
}

static void start_send(Connection *conn)
{
	const uint8_t *data = NULL;
	size_t len = 0;
	uint32_t value;
	ssize_t n = 0;
	int r;

	conn->state = CONN_SEND;
	set_deadline(conn, conn->srv->timeout_usec);
	r = release_commit(conn->release, RELEASE_PROTOCOL_1, &data, &len, &value);
	if (r < 0) {
		/* The limit was reached meanwhile (logged): the usual rejection. */
		if (r == -EAGAIN) {
			report(conn, DECISION_LIMIT, "release limit reached");
		} else {
			report(conn, DECISION_NO_MATERIAL, "no protocol 1 secret");
		}
		start_bye(conn);
		return;
	}
	/* Corked: the whole secret is queued now, so a later change of it cannot tear it. */
	gnutls_record_cork(conn->session);
	if (len > 0) {
		n = gnutls_record_send(conn->session, data, len);
	}
	if (n < 0) {
		log_warning("gnutls send failed: %s", gnutls_strerror((int)n));
		report(conn, DECISION_ERROR, "sending failed");
		connection_free(conn);
		return;
	}
	do_send(conn);
}

static void do_send(Connection *conn)
{
	int r = gnutls_record_uncork(conn->session, 0);

	if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
		wait_gnutls(conn);
		return;
	}
	if (r < 0) {
		log_warning("gnutls send failed: %s", gnutls_strerror(r));
		report(conn, DECISION_ERROR, "sending failed");
		connection_free(conn);
		return;
	}
	/* The secret is queued whole before the close_notify. */
	report(conn, DECISION_GRANTED, NULL);
	start_bye(conn);
}

/* The refusal verdicts as the audit log says them. */
static void report_refusal(Connection *conn, ReleaseVerdict v, uint32_t value)
{
	switch (v) {
	case RELEASE_GRANTED:
		break;
	case RELEASE_DISABLED:
		report(conn, DECISION_DISABLED, conn_decision_disabled_reason(value));
		break;
	case RELEASE_DENIED:
		report(conn, DECISION_DENIED, "denied by an administrator");
		break;
	case RELEASE_APPROVAL_TIMEOUT:
		report(conn, DECISION_APPROVAL_TIMEOUT, "approval delay passed");
		break;
	case RELEASE_LIMIT:
		report(conn, DECISION_LIMIT, "release limit reached");
		break;
	case RELEASE_BUSY:
		report(conn, DECISION_BUSY, "too many requests waiting");
		break;
	case RELEASE_REMOVED:
		report(conn, DECISION_UNKNOWN_CLIENT, "removed by a reload");
		break;
	case RELEASE_UNAVAILABLE:
		report(conn, DECISION_UNAVAILABLE, "shared state unavailable");
		break;
	}
}

/* The verdict of release.c: the secret, or the rejection (a close_notify with no data). */
static void on_verdict(Connection *conn, ReleaseVerdict v, uint32_t value)
{
	set_deadline(conn, conn->srv->timeout_usec);
	if (v == RELEASE_GRANTED) {
		start_send(conn);
		return;
	}
	report_refusal(conn, v, value);
	start_bye(conn);
}

static void release_decided(Release *r, ReleaseVerdict v, uint32_t value, void *userdata)
{
	Connection *conn = userdata;

	if (conn->in_begin) {
		conn->verdict_pending = true;
		conn->verdict = v;
		conn->verdict_value = value;
		return;
	}
	on_verdict(conn, v, value);
}

static const ReleaseOps release_ops = {
        .decided = release_decided,
};

static int peer_key_id(Connection *conn, char key_id[KEYID_STRING_SIZE])
{
	const gnutls_datum_t *certs;
	unsigned n = 0;

	if (gnutls_certificate_type_get2(conn->session, GNUTLS_CTYPE_PEERS) != GNUTLS_CRT_RAWPK) {
		log_info("Cert type %d not in {%d}",
		         (int)gnutls_certificate_type_get2(conn->session, GNUTLS_CTYPE_PEERS),
		         (int)GNUTLS_CRT_RAWPK);
		log_warning("Bad certificate: not a raw public key");
		return -EBADMSG;
	}
	certs = gnutls_certificate_get_peers(conn->session, &n);
	if (!certs || n == 0) {
		log_warning("Bad certificate: no key");
		return -EBADMSG;
	}
	if (keyid_from_der(certs[0].data, certs[0].size, key_id) < 0) {
		log_warning("Bad certificate: cannot hash the key");
		return -EBADMSG;
	}
	return 0;
}

static void after_handshake(Connection *conn)
{
	char *key_id = conn->key_id;
	Client *c = NULL;
	int r;

	log_debug("Handshake succeeded");
	if (peer_key_id(conn, key_id) < 0) {
		metrics_handshake_failed(1); /* no usable raw public key */
		key_id[0] = '\0';
		start_bye(conn);
		return;
	}
	log_debug("Key ID: %s", key_id);
	if (keyid_is_acceptable(key_id)) {
		c = conn->srv->lookup(conn->srv->userdata, key_id);
	}
	if (!c) {
		log_info("Client not found for key ID: %s, address: %s", key_id, conn->address);
		CLIENT_NOTIFY(conn->srv->ctx, client_not_found, key_id, conn->ip);
		report(conn, DECISION_UNKNOWN_CLIENT, NULL);
		start_bye(conn);
		return;
	}
	conn->client = client_ref(c);
	if (!release_has_material(c, 1, 0, NULL, 0)) {
		log_info("Client %s does not use protocol 1", c->name);
		report(conn, DECISION_NO_MATERIAL, "no protocol 1 secret");
		start_bye(conn);
		return;
	}
	/* The release module decides, perhaps at once; the wait has its own timers. */
	conn->state = CONN_APPROVAL;
	(void)sd_event_source_set_enabled(conn->deadline, SD_EVENT_OFF);
	conn->in_begin = true;
	r = release_begin(conn->srv->event, c, 1, &release_ops, conn, &conn->release);
	conn->in_begin = false;
	if (r < 0) {
		log_oom();
		report(conn, DECISION_ERROR, "out of memory");
		connection_free(conn);
		return;
	}
	if (conn->verdict_pending) {
		on_verdict(conn, conn->verdict, conn->verdict_value);
		return;
	}
	/* Only a hang-up interests us now: the peer is silent until it gets the secret. */
	if (flush_output(conn)) {
		set_events(conn, EPOLLRDHUP);
	}
}

/*
 * One step of the handshake, on a worker or on the main thread: it touches only the session
 * and the connection's buffers, never sd-event or the client list (GnuTLS's own debug log
 * is safe: log lines are written under a lock).
 */
static HsStep handshake_step(Connection *conn)
{
	int r;

	if (conn->wlen > 0 && !flush_pending(conn)) {
		return HS_WAIT_WRITE;
	}
	r = conn->hs_result = gnutls_handshake(conn->session);
	if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED) {
		return HS_DONE; /* what we wrote last (our Finished) leaves with the secret */
	}
	if (!flush_pending(conn)) {
		return HS_WAIT_WRITE;
	}
	return gnutls_record_get_direction(conn->session) ? HS_WAIT_WRITE : HS_WAIT_READ;
}

static void handshake_finished(Connection *conn)
{
	if (conn->hs_result < 0) {
		log_warning("Handshake failed: %s", gnutls_strerror(conn->hs_result));
		metrics_handshake_failed(1);
		connection_free(conn);
		return;
	}
	after_handshake(conn);
}

static void do_handshake(Connection *conn)
{
	switch (handshake_step(conn)) {
	case HS_WAIT_READ:
		set_events(conn, EPOLLIN);
		break;
	case HS_WAIT_WRITE:
		set_events(conn, EPOLLOUT);
		break;
	case HS_DONE:
		handshake_finished(conn);
		break;
	}
}

static Connection *conn_of_job(HsJob *job)
{
	return (Connection *)((char *)job - offsetof(Connection, job));
}

static HsStep job_step(HsJob *job)
{
	return handshake_step(conn_of_job(job));
}

/* The worker is done with the connection: on the main thread again. */
static void job_done(HsJob *job, bool cancelled)
{
	Connection *conn = conn_of_job(job);

	conn->pooled = false;
	if (conn->orphaned) {
		connection_destroy(conn);
		return;
	}
	if (cancelled) {
		/* Only the deadline cancels without orphaning. */
		log_warning("Connection from %s timed out in the TLS handshake", conn->address);
		metrics_handshake_failed(1);
		connection_free(conn);
		return;
	}
	if (job->error < 0) {
		log_warning("Handshake failed: cannot wait for the socket: %s", strerror(-job->error));
		metrics_handshake_failed(1);
		connection_free(conn);
		return;
	}
	(void)sd_event_source_set_enabled(conn->io, SD_EVENT_ON);
	handshake_finished(conn);
}

static void log_version_line(const char *buf, size_t n)
{
	char shown[VERSION_LINE_MAX + 1];
	size_t j = 0;

	if (log_get_max_level() < LOG_DEBUG) {
		return; /* no copy and no repr for a line nobody sees */
	}

	/* Upstream reads the line in text mode, where "\r\n" becomes "\n". */
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\r' && i + 1 < n && buf[i + 1] == '\n') {
			continue;
		}
		shown[j++] = buf[i];
	}
	shown[j] = '\0';
	{
		_cleanup_free_ char *repr = py_repr(shown);
		log_debug("Protocol version: %s", repr ? repr : "?");
	}
}

/* Python's int(line.split()[0]) <= 1. */
static bool version_acceptable(const char *line, size_t n)
{
	size_t i = 0, start;
	bool neg = false;
	uint64_t v = 0;

	while (i < n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n' ||
	                 line[i] == '\v' || line[i] == '\f')) {
		i++;
	}
	if (i < n && (line[i] == '+' || line[i] == '-')) {
		neg = line[i] == '-';
		i++;
	}
	start = i;
	while (i < n && line[i] >= '0' && line[i] <= '9') {
		if (v < 1000) {
			v = v * 10 + (uint64_t)(line[i] - '0');
		}
		i++;
	}
	if (i == start) {
		return false;
	}
	if (i < n && !(line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n' ||
	               line[i] == '\v' || line[i] == '\f')) {
		return false;
	}
	return neg || v <= 1;
}

static void start_handshake(Connection *conn)
{
	int r;

	/* One key share: X25519 with the default priority (see priority_init()). */
	r = gnutls_init(&conn->session, GNUTLS_CLIENT | GNUTLS_NO_TICKETS | GNUTLS_ENABLE_RAWPK |
	                                        GNUTLS_NONBLOCK | GNUTLS_KEY_SHARE_TOP);
	if (r >= 0) {
		r = gnutls_priority_set(conn->session, conn->srv->priority);
	}
	if (r >= 0) {
		r = gnutls_credentials_set(conn->session, GNUTLS_CRD_CERTIFICATE,
		                           conn->srv->credentials);
	}
	if (r < 0) {
		log_error("Cannot set up a TLS session: %s", gnutls_strerror(r));
		connection_free(conn);
		return;
	}
	gnutls_transport_set_ptr(conn->session, conn);
	gnutls_transport_set_pull_function(conn->session, conn_pull);
	gnutls_transport_set_pull_timeout_function(conn->session, conn_pull_timeout);
	gnutls_transport_set_vec_push_function(conn->session, conn_push);
	conn->state = CONN_HANDSHAKE;
	if (conn->srv->pool) {
		/* The public-key work goes to a worker; the main loop keeps serving. */
		(void)sd_event_source_set_enabled(conn->io, SD_EVENT_OFF);
		conn->pooled = true;
		hs_pool_submit(conn->srv->pool, &conn->job);
		return;
	}
	do_handshake(conn);
}

static void p2_done(void *userdata)
{
	connection_free(userdata);
}

/* Hand the socket to protocol 2 with what followed its line (the start of ClientHello). */
static void start_p2(Connection *conn, const uint8_t *early, size_t len)
{
	int r;

	/* p2-conn.c drives our io source and deadline from now on (on_io(), on_deadline()). */
	(void)sd_event_source_set_enabled(conn->deadline, SD_EVENT_OFF);
	r = p2_conn_new(conn->srv, conn->fd, conn->io, conn->deadline, conn->address, conn->ip,
	                conn->accepted, &conn->decision, p2_done, conn, &conn->p2);
	if (r < 0) {
		log_error_errno(r, "Cannot start protocol 2 for %s: %m", conn->address);
		connection_free(conn);
		return;
	}
	conn->state = CONN_P2;
	p2_conn_start(conn->p2, early, len);
}

static void read_version(Connection *conn)
{
	char *buf = (char *)conn->rbuf, *nl;
	ssize_t r;
	size_t n;

	/*
	 * Into the read buffer: whatever follows the line is the start of the TLS stream (a
	 * peer sends nothing more before our ClientHello, but if it does, GnuTLS gets it).
	 */
	r = RETRY_EINTR(recv(conn->fd, conn->rbuf + conn->rlen, sizeof(conn->rbuf) - conn->rlen, 0));
	if (r < 0) {
		if (errno == EAGAIN) {
			return;
		}
		log_info_errno(errno, "Connection from %s failed: %m", conn->address);
		connection_free(conn);
		return;
	}
	conn->rlen += (size_t)r;
	nl = memchr(buf, '\n', MIN(conn->rlen, (size_t)VERSION_LINE_MAX));
	if (!nl && r > 0 && conn->rlen < VERSION_LINE_MAX) {
		return; /* wait for the rest of the line */
	}
	n = nl ? (size_t)(nl - buf + 1) : MIN(conn->rlen, (size_t)VERSION_LINE_MAX);
	conn->rpos = n;
	log_version_line(buf, n);
	if (nl && n == P2_VERSION_LINE_LEN && memcmp(buf, P2_VERSION_LINE, n) == 0 &&
	    conn->srv->p2_identity && (conn->srv->protocols & PROTOCOL_BIT(2))) {
		start_p2(conn, conn->rbuf + n, conn->rlen - n);
		return;
	}
	if (!nl || !version_acceptable(buf, n) ||
	    (conn->srv->protocols && !(conn->srv->protocols & PROTOCOL_BIT(1)))) {
		char shown[VERSION_LINE_MAX + 1];

		memcpy(shown, buf, n);
		shown[n] = '\0';
		log_error("Unknown protocol version: %s", n ? shown : "(empty)");
		connection_free(conn);
		return;
	}
	start_handshake(conn);
}

void connection_start(Connection *conn)
{
	/* Not waiting for epoll saves a wake-up; an empty socket costs one recv() (EAGAIN). */
	read_version(conn);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	Connection *conn = userdata;

	if (conn->state == CONN_P2) {
		p2_conn_io(conn->p2, revents);
		return 0;
	}
	if (conn->wlen > 0) {
		if (!flush_output(conn)) {
			return 0;
		}
		if (conn->state == CONN_APPROVAL) {
			set_events(conn, EPOLLRDHUP);
		}
	}
	if (conn->bye_done) {
		connection_free(conn);
		return 0;
	}
	switch (conn->state) {
	case CONN_VERSION:
		read_version(conn);
		break;
	case CONN_HANDSHAKE:
		do_handshake(conn);
		break;
	case CONN_APPROVAL:
		if (revents & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
			log_info("Client %s disconnected while waiting for approval",
			         conn->client->name);
			report(conn, DECISION_ABORTED, "client went away");
			connection_free(conn);
		}
		break;
	case CONN_SEND:
		do_send(conn);
		break;
	case CONN_BYE:
		do_bye(conn);
		break;
	default:
		connection_free(conn);
		break;
	}
	return 0;
}

static const char *const state_names[_CONN_STATE_MAX] = {
        [CONN_VERSION] = "waiting for the protocol version",
        [CONN_HANDSHAKE] = "in the TLS handshake",
        [CONN_APPROVAL] = "waiting for approval",
        [CONN_SEND] = "sending the secret",
        [CONN_BYE] = "closing",
        [CONN_P2] = "in protocol 2",
};

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
	Connection *conn = userdata;

	if (conn->state == CONN_P2) {
		p2_conn_timer(conn->p2);
		return 0;
	}
	if (conn->pooled) {
		if (!conn->orphaned) {
			hs_pool_cancel(conn->srv->pool, &conn->job); /* job_done() logs and frees */
		}
		return 0;
	}
	log_warning("Connection from %s timed out %s", conn->address, state_names[conn->state]);
	if (conn->state == CONN_HANDSHAKE) {
		metrics_handshake_failed(1);
	}
	connection_free(conn);
	return 0;
}

static void format_peer(Connection *conn, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &s6->sin6_addr, conn->ip, sizeof(conn->ip));
		snprintf(conn->address, sizeof(conn->address), "('%s', %u, %u, %u)", conn->ip,
		         ntohs(s6->sin6_port), ntohl(s6->sin6_flowinfo), s6->sin6_scope_id);
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, conn->ip, sizeof(conn->ip));
		snprintf(conn->address, sizeof(conn->address), "('%s', %u)", conn->ip,
		         ntohs(s4->sin_port));
	} else {
		snprintf(conn->ip, sizeof(conn->ip), "?");
		snprintf(conn->address, sizeof(conn->address), "('?', 0)");
	}
}

int connection_new(const ConnServer *srv, int fd, const struct sockaddr *peer, socklen_t len,
                   Connection **ret)
{
	Connection *conn = calloc(1, sizeof(*conn));
	int r;

	if (!conn) {
		safe_close(fd);
		return -ENOMEM;
	}
	conn->srv = srv;
	conn->fd = fd;
	conn->job.fd = fd;
	conn->job.step = job_step;
	conn->job.done = job_done;
	conn->state = CONN_VERSION;
	format_peer(conn, peer);
	(void)sd_event_now(srv->event, CLOCK_MONOTONIC, &conn->accepted);
	conn_decision_init(&conn->decision, fd, conn->ip, conn->accepted);
	r = sd_event_add_io(srv->event, &conn->io, fd, EPOLLIN, on_io, conn);
	if (r >= 0) {
		r = sd_event_add_time_relative(srv->event, &conn->deadline, CLOCK_MONOTONIC,
		                               srv->timeout_usec, 1000, on_deadline, conn);
	}
	if (r < 0) {
		sd_event_source_disable_unref(conn->io);
		safe_close(fd);
		free(conn);
		return r;
	}
	log_info("TCP connection from: %s", conn->address);
	*ret = conn;
	return 0;
}
