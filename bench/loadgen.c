/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mandos-loadgen: many Mandos clients at once, over protocol 1 or 2 (sealed, escrow items, a
 * k-of-n threshold across several servers); reports unlocks per second and latency.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <sodium.h>

#include "clock.h"
#include "escrow.h"
#include "floor.h"
#include "keys.h"
#include "macro.h"
#include "p2.h"
#include "parse-util.h"
#include "priority.h"
#include "sealed.h"
#include "transport.h"

/*
 * Each simulated client does what mandos-client does on the wire.  Protocol 1: TCP connect,
 * "1\r\n", TLS 1.3 as the TLS *server* with a raw public key, read until close_notify, bye; an
 * unlock counts when at least one byte arrived before a clean close_notify.  Protocol 2: a
 * common/p2 client session asking for the sealed secret; an unlock counts when a RESULT OK with
 * a SEALED item arrived followed by the server's FINAL and the box opened with the seal key; then
 * our FINAL and close.  With --binding, every CLIENT_AUTH also carries one escrow item per
 * server key of the bindings (a fresh E each, §B.1), and an unlock counts only when the sealed
 * box (if asked for) and every single binding opened.  With a threshold binding, one unlock is
 * one session to each --connect server at once, each carrying every share's item; it counts
 * when K shares opened (each from a server its share names) and the data box opened, and then
 * the other sessions are ended with FINAL, as mandos-client does (§B.4.3).  Latency is from
 * connect() (the first, for a threshold) to that point.  With several clients (--tls-privkey
 * repeated) and several servers (--connect repeated, no threshold) each new connection takes
 * the next of each in turn.  --protocol=floor: the same connection and flights as a sealed
 * protocol 2 unlock with bench/floor.h's byte counts, no cryptography, against
 * mandos-floor-server: "2\r\n" and ClientHello's bytes in one send(), the ServerHello's read,
 * the second flight in one send(), SERVER_AUTH, RESULT and FINAL's bytes read (the server's FIN
 * comes with them); an unlock counts when they all arrived, then our FINAL's bytes and close,
 * as protocol 2 does.  One thread, epoll, non-blocking sockets.
 */

/* How long connections may run on after the measured period before they count as failed. */
#define GRACE_USEC (5 * 1000000ULL)

typedef enum { ST_CONNECT, ST_VERSION, ST_HANDSHAKE, ST_READ, ST_BYE, ST_P2, ST_FLOOR } State;

/* --protocol=floor, in g.protocol. */
#define PROTOCOL_FLOOR 3

typedef struct Group Group;

typedef struct Conn {
	int fd;
	State state;
	bool dead;                   /* ended by its group: freed after this epoll batch */
	struct Conn *next;           /* in g.dead */
	Group *group;                /* threshold mode: the unlock this session belongs to */
	unsigned target;             /* index into g.targets */
	unsigned id;                 /* index into g.identities / g.creds: the client it plays */
	uint8_t (*E)[P2_SCALAR_LEN]; /* the blinding scalars of its items, in g.arena */
	uint32_t events;             /* what epoll waits for now */
	gnutls_session_t session;
	P2ClientSession *p2;
	uint64_t started;
	size_t received;
	size_t version_sent;
	/* One recv() per readable socket and one send() per wait, as the server does. */
	size_t rpos, rlen, wlen;
	uint8_t rbuf[4096];
	uint8_t wbuf[8192];
} Conn;

/* Threshold mode: one unlock, a session per server. */
struct Group {
	uint64_t started;
	uint8_t (*d)[P2_SCALAR_LEN]; /* opened shares (by index - 1), in g.arena */
	uint8_t opened;              /* bit i - 1: share i is open */
	unsigned live;               /* its sessions still running */
	bool finished;               /* counted (either way) */
	Conn *conns[P2_SHARES_MAX];
};

/* One escrow item the loadgen sends: a key of a binding (P2Binding.keys[key]). */
typedef struct Item {
	const P2Binding *binding;
	unsigned key;
	char servers[P2_BINDING_SERVERS_MAX][P2_KEY_ID_HEX_SIZE]; /* as the session reports it */
} Item;

#define TARGETS_MAX P2_SHARES_MAX
/* Clients (--tls-privkey, repeated) the connections take in turn. */
#define IDS_MAX 1024
#define BINDINGS_MAX P2_MAX_ESCROW_ITEMS

static struct {
	struct sockaddr_storage targets[TARGETS_MAX];
	socklen_t target_lens[TARGETS_MAX];
	unsigned n_targets;
	gnutls_certificate_credentials_t creds[IDS_MAX]; /* protocol 1, one per client */
	gnutls_priority_t priority;
	unsigned protocol;
	P2Identity *identities[IDS_MAX]; /* protocol 2, one per client */
	unsigned n_ids, next_id;
	P2SealKey *seal;       /* protocol 2: every box is opened, as mandos-client does */
	P2ClientConfig p2_cfg; /* asks for the sealed secret (if a seal key) and the items;
	                        * identity set per connection */
	P2Binding bindings[BINDINGS_MAX];
	unsigned n_bindings, n_single; /* single bindings among them */
	const P2Binding *threshold;    /* the threshold binding, or NULL */
	Item items[P2_MAX_ESCROW_ITEMS];
	unsigned n_items;
	uint8_t key_id_raw[P2_KEY_ID_LEN]; /* the only client's, with bindings */
	/*
	 * sodium_malloc memory for the secrets: per session slot the E of its items, per group
	 * slot its opened shares, and one K; free slots on a stack.
	 */
	uint8_t *arena;
	size_t conn_slots, group_slots;
	unsigned *free_conn, *free_group, n_free_conn, n_free_group;
	uint8_t *K;
	Conn *dead;
	int epfd;
	uint64_t deadline;    /* stop starting new connections after this */
	uint64_t max_unlocks; /* or after this many (0: no limit) */
	uint64_t started, unlocks, failures, empty, unfinished;
	bool seconds_mode;   /* stop at the deadline (rather than after --count unlocks) */
	uint64_t *latencies; /* usec, one per unlock */
	size_t n_lat, cap_lat;
	unsigned active;
} g;

static void record_at(uint64_t started, bool ok, size_t received)
{
	if (!ok) {
		g.failures++;
		return;
	}
	if (received == 0) {
		g.empty++;
		return;
	}
	g.unlocks++;
	if (g.n_lat == g.cap_lat) {
		g.cap_lat = g.cap_lat ? g.cap_lat * 2 : 65536;
		g.latencies = realloc(g.latencies, g.cap_lat * sizeof(uint64_t));
		if (!g.latencies) {
			abort();
		}
	}
	g.latencies[g.n_lat++] = mono_usec() - started;
}

/* A session's end; in threshold mode its group counts instead. */
static void record(Conn *c, bool ok)
{
	if (c->group) {
		return;
	}
	record_at(c->started, ok, c->received);
}

#define SLOT_BYTES (P2_MAX_ESCROW_ITEMS * P2_SCALAR_LEN)

static uint8_t (*slot_get(bool group))[P2_SCALAR_LEN]
{
	unsigned *n = group ? &g.n_free_group : &g.n_free_conn;
	size_t base = group ? g.conn_slots : 0;

	if (*n == 0) {
		abort(); /* more sessions than the arena was made for: a bug here */
	}
	(*n)--;
	return (uint8_t(*)[P2_SCALAR_LEN])(
	        g.arena + (base + (group ? g.free_group : g.free_conn)[*n]) * SLOT_BYTES);
}

static void slot_put(bool group, uint8_t (*p)[P2_SCALAR_LEN])
{
	size_t i = (size_t)((uint8_t *)p - g.arena) / SLOT_BYTES;

	sodium_memzero(p, SLOT_BYTES);
	if (group) {
		g.free_group[g.n_free_group++] = (unsigned)(i - g.conn_slots);
	} else {
		g.free_conn[g.n_free_conn++] = (unsigned)i;
	}
}

static void group_free(Group *grp)
{
	slot_put(true, grp->d);
	free(grp);
	g.active--;
}

static void conn_free(Conn *c)
{
	Group *grp = c->group;

	if (c->session) {
		gnutls_deinit(c->session);
	}
	p2_client_free(c->p2);
	close(c->fd);
	if (c->E) {
		slot_put(false, c->E);
	}
	if (grp) {
		grp->conns[c->target] = NULL;
		if (--grp->live == 0) {
			if (!grp->finished) {
				record_at(grp->started, false, 0);
			}
			group_free(grp);
		}
	} else {
		g.active--;
	}
	free(c);
}

static void want(Conn *c, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};

	if (events != c->events) {
		epoll_ctl(g.epfd, EPOLL_CTL_MOD, c->fd, &ev);
		c->events = events;
	}
}

static ssize_t pull(gnutls_transport_ptr_t p, void *data, size_t size)
{
	Conn *c = p;
	size_t n;

	if (c->rpos == c->rlen) {
		ssize_t r = recv(c->fd, c->rbuf, sizeof(c->rbuf), 0);

		if (r <= 0) {
			gnutls_transport_set_errno(c->session, r < 0 ? errno : 0);
			return r;
		}
		c->rpos = 0;
		c->rlen = (size_t)r;
	}
	n = MIN(size, c->rlen - c->rpos);
	memcpy(data, c->rbuf + c->rpos, n);
	c->rpos += n;
	return (ssize_t)n;
}

static ssize_t push(gnutls_transport_ptr_t p, const void *data, size_t size)
{
	Conn *c = p;

	if (size > sizeof(c->wbuf) - c->wlen) {
		gnutls_transport_set_errno(c->session, ENOBUFS);
		return -1;
	}
	memcpy(c->wbuf + c->wlen, data, size);
	c->wlen += size;
	return (ssize_t)size;
}

/* Send what GnuTLS queued (a few hundred bytes: the socket takes it at once). */
static bool flush(Conn *c)
{
	ssize_t n = c->wlen ? send(c->fd, c->wbuf, c->wlen, MSG_NOSIGNAL) : 0;

	if (n < 0 || (size_t)n != c->wlen) {
		return false;
	}
	c->wlen = 0;
	return true;
}

static void want_gnutls(Conn *c)
{
	want(c, gnutls_record_get_direction(c->session) ? EPOLLOUT : EPOLLIN);
}

/* A new non-blocking connection to g.targets[target], connect() under way; NULL on failure. */
static Conn *conn_new(unsigned target, Group *grp)
{
	struct epoll_event ev;
	Conn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (!c) {
		return NULL;
	}
	c->fd = socket(g.targets[target].ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		free(c);
		return NULL;
	}
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->started = mono_usec();
	c->state = ST_CONNECT;
	c->target = target;
	c->id = g.next_id++ % g.n_ids;
	c->group = grp;
	if (g.n_items > 0) {
		c->E = slot_get(false);
	}
	c->events = EPOLLOUT;
	ev = (struct epoll_event){.events = EPOLLOUT, .data.ptr = c};
	epoll_ctl(g.epfd, EPOLL_CTL_ADD, c->fd, &ev);
	if (connect(c->fd, (struct sockaddr *)&g.targets[target], g.target_lens[target]) < 0 &&
	    errno != EINPROGRESS) {
		close(c->fd);
		if (c->E) {
			slot_put(false, c->E);
		}
		free(c);
		return NULL;
	}
	return c;
}

/* Threshold mode: one unlock, a session to every server at once. */
static bool start_group(void)
{
	Group *grp = calloc(1, sizeof(*grp));

	if (!grp) {
		return false;
	}
	grp->started = mono_usec();
	grp->d = slot_get(true);
	g.active++;
	g.started++;
	for (unsigned t = 0; t < g.n_targets; t++) {
		grp->conns[t] = conn_new(t, grp);
		grp->live += grp->conns[t] != NULL;
	}
	if (grp->live == 0) {
		record_at(grp->started, false, 0);
		group_free(grp);
	}
	return true;
}

static bool start_one(void)
{
	static unsigned next;
	Conn *c;

	if (g.threshold) {
		return start_group();
	}
	g.started++;
	c = conn_new(next++ % g.n_targets, NULL);
	if (!c) {
		record_at(mono_usec(), false, 0);
		return false;
	}
	g.active++;
	return true;
}

/* Send what the protocol 2 session queued; false on a socket error. */
static bool p2_flush(Conn *c)
{
	size_t len;
	const uint8_t *out = p2_client_output(c->p2, &len);

	while (len > 0) {
		ssize_t n = send(c->fd, out, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN) {
				want(c, EPOLLIN | EPOLLOUT);
				return true;
			}
			return false;
		}
		p2_client_output_consume(c->p2, (size_t)n);
		out = p2_client_output(c->p2, &len);
	}
	want(c, EPOLLIN);
	return true;
}

/* The item of the request with this kid (the RESULT's items were checked against it). */
static int item_of(const uint8_t kid[P2_KID_LEN])
{
	for (unsigned q = 0; q < g.n_items; q++) {
		if (memcmp(g.items[q].binding->keys[g.items[q].key].kid, kid, P2_KID_LEN) == 0) {
			return (int)q;
		}
	}
	return -1;
}

/* Whether the session's verified server key id is one that item q's key names. */
static bool item_server_ok(const Conn *c, unsigned q)
{
	const P2BindingKey *key = &g.items[q].binding->keys[g.items[q].key];
	const char *id = p2_client_server_key_id(c->p2);

	for (unsigned i = 0; id && i < key->n_servers; i++) {
		if (strcmp(g.items[q].servers[i], id) == 0) {
			return true;
		}
	}
	return key->n_servers == 0;
}

/*
 * Threshold mode: K shares open?  Then reconstruct, count the unlock and end the group's other
 * sessions with FINAL (they are freed after this epoll batch).
 */
static void group_check(Group *grp, const Conn *self)
{
	const P2Binding *b = g.threshold;
	_cleanup_secbuf_ SecBuf *secret = NULL;
	uint8_t xs[P2_SHARES_MAX];
	uint8_t(*d)[P2_SCALAR_LEN] = (uint8_t(*)[P2_SCALAR_LEN])(g.K + P2_POINT_LEN);
	size_t k = 0;
	bool ok;

	if (grp->finished) {
		return;
	}
	for (unsigned i = 0; i < b->n_keys && k < b->threshold; i++) {
		if (grp->opened & (1u << i)) {
			xs[k] = (uint8_t)(i + 1);
			memcpy(d[k], grp->d[i], P2_SCALAR_LEN);
			k++;
		}
	}
	if (k < b->threshold) {
		return;
	}
	ok = p2_threshold_open(b, g.key_id_raw, xs, (const uint8_t(*)[P2_SCALAR_LEN])d, k,
	                       &secret) == 0;
	sodium_memzero(d, k * P2_SCALAR_LEN);
	grp->finished = true;
	record_at(grp->started, ok, 1);
	for (unsigned t = 0; t < g.n_targets; t++) {
		Conn *o = grp->conns[t];

		if (o && o != self && !o->dead && o->state == ST_P2) {
			p2_client_send_final(o->p2);
			p2_flush(o);
		}
		if (o && !o->dead) {
			o->dead = true;
			o->next = g.dead;
			g.dead = o;
		}
	}
}

/*
 * A RESULT (with the server's FINAL behind it) arrived: open what it holds, count the unlock
 * (or, in threshold mode, the shares), send our FINAL, close.
 */
static void p2_result(Conn *c)
{
	const P2Result *res = p2_client_result(c->p2);
	unsigned opened = 0, want = (g.seal ? 1 : 0) + g.n_single;
	bool ok = res && res->code == P2_OK && res->n_items >= 1;

	for (unsigned i = 0; ok && i < res->n_items; i++) {
		const P2ResultItem *it = &res->items[i];
		_cleanup_secbuf_ SecBuf *secret = NULL;

		if (it->kind == P2_ITEM_SEALED) {
			ok = g.seal && p2_sealed_open(it->data, it->len, g.seal, &secret) == 0;
			opened += ok;
		} else if (it->kind == P2_ITEM_ESCROW && it->len == P2_ESCROW_ITEM_LEN) {
			int q = item_of(it->data);
			const Item *item = q >= 0 ? &g.items[q] : NULL;
			const P2BindingKey *key = item ? &item->binding->keys[item->key] : NULL;

			ok = key && item_server_ok(c, (unsigned)q) &&
			     p2_escrow_unblind(c->E[q], key->s, it->data + P2_KID_LEN, g.K) == 0;
			if (ok && item->binding->threshold) {
				if (!(c->group->opened & (1u << item->key))) {
					ok = p2_share_open(item->binding, g.key_id_raw,
					                   item->key + 1, g.K,
					                   c->group->d[item->key]) == 0;
					c->group->opened |= ok ? 1u << item->key : 0;
				}
			} else if (ok) {
				ok = p2_escrow_open(item->binding, g.key_id_raw, g.K, &secret) == 0;
				opened += ok;
			}
			sodium_memzero(g.K, P2_POINT_LEN);
		} else {
			ok = false;
		}
	}
	if (c->group) {
		group_check(c->group, c);
	} else {
		ok = ok && opened == want;
		c->received = ok ? 1 : 0;
		record(c, ok);
	}
	p2_flush(c);
	if (!c->dead) {
		conn_free(c);
	}
}

static void step_p2(Conn *c)
{
	uint8_t buf[4096];
	size_t off = 0, n;
	ssize_t r;

	if (!p2_flush(c)) {
		goto fail;
	}
	if (!(c->events & EPOLLIN)) {
		return;
	}
	r = recv(c->fd, buf, sizeof(buf), 0);
	if (r < 0) {
		if (errno == EAGAIN) {
			return;
		}
		goto fail;
	}
	n = (size_t)r;
	do {
		const char *why = NULL;
		size_t used = 0;
		int ev = p2_client_feed(c->p2, buf + off, n - off, mono_usec(), &used, &why);

		if (ev < 0) {
			goto fail;
		}
		off += used;
		if (ev == P2_EV_RESULT) {
			p2_result(c);
			return;
		}
		if (used == 0 && ev == P2_EV_NONE && off < n) {
			goto fail; /* the session refused bytes without saying why */
		}
	} while (off < n);
	if (n == 0 || !p2_flush(c)) {
		goto fail; /* EOF before the RESULT */
	}
	return;
fail:
	record(c, false);
	conn_free(c);
}

/* The floor's client: c->version_sent counts its flights sent, c->received the reply's bytes. */
static void step_floor(Conn *c)
{
	static const uint8_t zeros[FLOOR_CLIENT_AUTH_LEN];
	static const size_t sends[] = {FLOOR_CLIENT_HELLO_LEN, FLOOR_CLIENT_AUTH_LEN,
	                               FLOOR_CLIENT_FINAL_LEN};
	static const size_t replies[] = {FLOOR_SERVER_HELLO_LEN, FLOOR_RESULT_LEN};
	uint8_t buf[4096];
	ssize_t r;

	if (c->state == ST_CONNECT) {
		c->state = ST_FLOOR;
	} else {
		r = recv(c->fd, buf, sizeof(buf), 0);
		if (r < 0 && errno == EAGAIN) {
			return;
		}
		if (r <= 0 || c->received + (size_t)r > replies[c->version_sent - 1]) {
			goto fail;
		}
		c->received += (size_t)r;
		if (c->received < replies[c->version_sent - 1]) {
			return;
		}
		c->received = 0;
	}
	if (send(c->fd, zeros, sends[c->version_sent], MSG_NOSIGNAL) !=
	    (ssize_t)sends[c->version_sent]) {
		goto fail;
	}
	if (++c->version_sent < 3) {
		want(c, EPOLLIN);
		return;
	}
	c->received = FLOOR_RESULT_LEN;
	record(c, true);
	conn_free(c);
	return;
fail:
	record(c, false);
	conn_free(c);
}

static void step(Conn *c)
{
	char buf[4096];
	int r;

	if (c->dead) {
		return;
	}
	switch (c->state) {
	case ST_CONNECT: {
		int err = 0;
		socklen_t len = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		if (err) {
			record(c, false);
			conn_free(c);
			return;
		}
		if (g.protocol == PROTOCOL_FLOOR) {
			step_floor(c);
			return;
		}
		if (g.protocol == 2) {
			P2EscrowItem items[P2_MAX_ESCROW_ITEMS];
			P2ClientConfig cfg = g.p2_cfg;

			/* A fresh E per item and session (§B.4.3 step 3); the session copies x. */
			for (unsigned q = 0; q < g.n_items; q++) {
				const P2BindingKey *key = &g.items[q].binding->keys[g.items[q].key];

				memcpy(items[q].kid, key->kid, P2_KID_LEN);
				if (p2_escrow_blind(key->c, c->E[q], items[q].point) < 0) {
					abort(); /* the binding was checked at load */
				}
			}
			cfg.identity = g.identities[c->id];
			cfg.items = items;
			cfg.n_items = (uint8_t)g.n_items;
			if (p2_client_new(&cfg, mono_usec(), &c->p2) < 0) {
				record(c, false);
				conn_free(c);
				return;
			}
			c->state = ST_P2;
			step_p2(c);
			return;
		}
		c->state = ST_VERSION;
		__attribute__((fallthrough));
	}
	case ST_VERSION: {
		ssize_t n =
		        send(c->fd, &"1\r\n"[c->version_sent], 3 - c->version_sent, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN) {
				want(c, EPOLLOUT);
				return;
			}
			record(c, false);
			conn_free(c);
			return;
		}
		c->version_sent += (size_t)n;
		if (c->version_sent < 3) {
			want(c, EPOLLOUT);
			return;
		}
		gnutls_init(&c->session, GNUTLS_SERVER | GNUTLS_NO_TICKETS | GNUTLS_ENABLE_RAWPK |
		                                 GNUTLS_NONBLOCK);
		gnutls_priority_set(c->session, g.priority);
		gnutls_credentials_set(c->session, GNUTLS_CRD_CERTIFICATE, g.creds[c->id]);
		gnutls_certificate_server_set_request(c->session, GNUTLS_CERT_IGNORE);
		gnutls_transport_set_ptr(c->session, c);
		gnutls_transport_set_pull_function(c->session, pull);
		gnutls_transport_set_push_function(c->session, push);
		c->state = ST_HANDSHAKE;
		__attribute__((fallthrough));
	}
	case ST_HANDSHAKE:
		r = gnutls_handshake(c->session);
		if (!flush(c)) {
			r = GNUTLS_E_PUSH_ERROR;
		}
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			want_gnutls(c);
			return;
		}
		if (r < 0) {
			record(c, false);
			conn_free(c);
			return;
		}
		c->state = ST_READ;
		__attribute__((fallthrough));
	case ST_READ:
		for (;;) {
			ssize_t n = gnutls_record_recv(c->session, buf, sizeof(buf));

			if (n > 0) {
				c->received += (size_t)n;
				continue;
			}
			if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED) {
				want_gnutls(c);
				return;
			}
			if (n == 0) {
				record(c, true);
				c->state = ST_BYE;
				break;
			}
			record(c, false);
			conn_free(c);
			return;
		}
		__attribute__((fallthrough));
	case ST_BYE:
		r = gnutls_bye(c->session, GNUTLS_SHUT_WR);
		flush(c);
		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED) {
			want_gnutls(c);
			return;
		}
		conn_free(c);
		return;
	case ST_P2:
		step_p2(c);
		return;
	case ST_FLOOR:
		step_floor(c);
		return;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double pct(double p)
{
	size_t i;

	if (g.n_lat == 0) {
		return 0;
	}
	i = (size_t)(p / 100.0 * (double)(g.n_lat - 1) + 0.5);
	return (double)g.latencies[i] / 1000.0;
}

static int parse_target(const char *s)
{
	char host[256];
	const char *colon = strrchr(s, ':');
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
	size_t n;

	if (!colon) {
		return -EINVAL;
	}
	n = (size_t)(colon - s);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n >= sizeof(host)) {
		return -EINVAL;
	}
	memcpy(host, s, n);
	host[n] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0) {
		return -EINVAL;
	}
	if (g.n_targets == TARGETS_MAX) {
		freeaddrinfo(ai);
		return -E2BIG;
	}
	memcpy(&g.targets[g.n_targets], ai->ai_addr, ai->ai_addrlen);
	g.target_lens[g.n_targets++] = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

/*
 * The --binding files, their keys as items in order (§B.4.3 step 3).  Either one threshold
 * binding alone, with a --connect per share server, or single bindings (with or without the
 * sealed secret).  Returns 0 or an exit code.
 */
static int load_bindings(const char *const *paths, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		P2Binding *b = &g.bindings[g.n_bindings];
		const char *why = NULL;
		unsigned line = 0;
		int r = p2_binding_load(paths[i], b, &line, &why);

		if (r < 0) {
			fprintf(stderr, "%s:%u: %s\n", paths[i], line,
			        r == -EBADMSG && why ? why : strerror(-r));
			return 66;
		}
		g.n_bindings++;
		if (b->threshold) {
			g.threshold = b;
		} else {
			g.n_single++;
		}
		for (unsigned k = 0; k < b->n_keys; k++) {
			Item *it = &g.items[g.n_items];

			if (g.n_items == P2_MAX_ESCROW_ITEMS) {
				fprintf(stderr, "%s: more than %d escrow items in all\n", paths[i],
				        P2_MAX_ESCROW_ITEMS);
				return 64;
			}
			it->binding = b;
			it->key = k;
			for (unsigned j = 0; j < b->keys[k].n_servers; j++) {
				p2_hex_upper(b->keys[k].servers[j], P2_KEY_ID_LEN, it->servers[j]);
			}
			g.n_items++;
		}
	}
	if (g.threshold && (g.n_bindings > 1 || g.seal)) {
		fprintf(stderr, "a threshold binding goes alone (no --seal-key, no other "
		                "--binding)\n");
		return 64;
	}
	if (g.threshold && g.n_targets < g.threshold->threshold) {
		fprintf(stderr, "a %u-of-%u binding needs at least %u --connect servers\n",
		        g.threshold->threshold, g.threshold->n_keys, g.threshold->threshold);
		return 64;
	}
	return 0;
}

/* The secrets' sodium_malloc arena for this process's sessions and groups. */
static int arena_new(unsigned concurrency)
{
	g.conn_slots = (size_t)concurrency * (g.threshold ? g.n_targets : 1);
	g.group_slots = g.threshold ? concurrency : 1;
	g.arena = sodium_malloc((g.conn_slots + g.group_slots) * SLOT_BYTES + P2_POINT_LEN +
	                        SLOT_BYTES);
	g.free_conn = calloc(g.conn_slots, sizeof(unsigned));
	g.free_group = calloc(g.group_slots, sizeof(unsigned));
	if (!g.arena || !g.free_conn || !g.free_group) {
		return -ENOMEM;
	}
	sodium_memzero(g.arena,
	               (g.conn_slots + g.group_slots) * SLOT_BYTES + P2_POINT_LEN + SLOT_BYTES);
	for (size_t i = 0; i < g.conn_slots; i++) {
		g.free_conn[g.n_free_conn++] = (unsigned)i;
	}
	for (size_t i = 0; i < g.group_slots; i++) {
		g.free_group[g.n_free_group++] = (unsigned)i;
	}
	/* K, then room for K shares' d in the order of their x-coordinates. */
	g.K = g.arena + (g.conn_slots + g.group_slots) * SLOT_BYTES;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: mandos-loadgen --connect=HOST:PORT [--protocol=1] --tls-pubkey=PEM\n"
	        "                      --tls-privkey=PEM [--priority=STRING] [COMMON]\n"
	        "       mandos-loadgen --connect=HOST:PORT... --protocol=2 --tls-privkey=PEM\n"
	        "                      [--seal-key=PEM] [--binding=FILE...] [COMMON]\n"
	        "       mandos-loadgen --connect=HOST:PORT --protocol=floor [COMMON]\n"
	        "COMMON: [--concurrency=N] [--seconds=S] [--count=N] [--label=TEXT]\n"
	        "        [--processes=N]\n"
	        "Several clients: --tls-privkey (and for protocol 1 --tls-pubkey) repeated, in\n"
	        "pairs, taken in turn by the connections (not with --binding).  Several\n"
	        "--connect without a threshold binding: taken in turn too.\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	        {"connect", required_argument, NULL, 'c'},
	        {"tls-pubkey", required_argument, NULL, 'p'},
	        {"tls-privkey", required_argument, NULL, 'k'},
	        {"concurrency", required_argument, NULL, 'n'},
	        {"seconds", required_argument, NULL, 's'},
	        {"count", required_argument, NULL, 'N'},
	        {"priority", required_argument, NULL, 'P'},
	        {"label", required_argument, NULL, 'l'},
	        {"processes", required_argument, NULL, 'j'},
	        {"protocol", required_argument, NULL, 'V'},
	        {"seal-key", required_argument, NULL, 'S'},
	        {"binding", required_argument, NULL, 'b'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	const char *prio = MANDOS_DEFAULT_PRIORITY, *label = "server";
	const char *seal_path = NULL, *why = NULL, *binding_paths[BINDINGS_MAX];
	static const char *pubs[IDS_MAX], *privs[IDS_MAX];
	unsigned n_binding_paths = 0, n_pubs = 0, n_privs = 0;
	unsigned concurrency = 64, processes = 1, my_concurrency;
	int results[2] = {-1, -1}; /* [1]: a worker's report pipe */
	double seconds = 10;
	uint64_t t0, t1;
	int o, r;

	while ((o = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (o) {
		case 'c':
			if (parse_target(optarg) < 0) {
				fprintf(stderr, "bad --connect %s\n", optarg);
				return 64;
			}
			break;
		case 'p':
		case 'k':
			if ((o == 'p' ? n_pubs : n_privs) == IDS_MAX) {
				fprintf(stderr, "at most %d --tls-pubkey and --tls-privkey\n",
				        IDS_MAX);
				return 64;
			}
			if (o == 'p') {
				pubs[n_pubs++] = optarg;
			} else {
				privs[n_privs++] = optarg;
			}
			break;
		case 'n':
			if (parse_uint(optarg, 100000, &concurrency) < 0 || concurrency == 0) {
				fprintf(stderr, "bad --concurrency\n");
				return 64;
			}
			break;
		case 's':
			if (parse_seconds(optarg, 86400, &seconds) < 0) {
				fprintf(stderr, "bad --seconds\n");
				return 64;
			}
			break;
		case 'N':
			if (parse_uint64(optarg, UINT64_MAX, &g.max_unlocks) < 0) {
				fprintf(stderr, "bad --count\n");
				return 64;
			}
			break;
		case 'P':
			prio = optarg;
			break;
		case 'l':
			label = optarg;
			break;
		case 'j':
			if (parse_uint(optarg, 64, &processes) < 0 || processes == 0) {
				fprintf(stderr, "bad --processes\n");
				return 64;
			}
			break;
		case 'V':
			if (strcmp(optarg, "floor") == 0) {
				g.protocol = PROTOCOL_FLOOR;
			} else if (parse_uint(optarg, 2, &g.protocol) < 0 || g.protocol == 0) {
				fprintf(stderr, "bad --protocol (1, 2 or floor)\n");
				return 64;
			}
			break;
		case 'S':
			seal_path = optarg;
			break;
		case 'b':
			if (n_binding_paths == BINDINGS_MAX) {
				fprintf(stderr, "at most %d --binding\n", BINDINGS_MAX);
				return 64;
			}
			binding_paths[n_binding_paths++] = optarg;
			break;
		default:
			usage();
			return o == 'h' ? 0 : 64;
		}
	}
	if (g.protocol == 0) {
		g.protocol = 1;
	}
	if ((g.protocol != PROTOCOL_FLOOR && n_privs == 0) || g.n_targets == 0 ||
	    (g.protocol == 1 &&
	     (n_pubs != n_privs || seal_path || n_binding_paths || g.n_targets > 1)) ||
	    (g.protocol == 2 && !seal_path && n_binding_paths == 0) ||
	    (n_binding_paths && n_privs > 1) ||
	    (g.protocol == PROTOCOL_FLOOR &&
	     (n_privs || n_pubs || seal_path || n_binding_paths || g.n_targets > 1))) {
		usage();
		return 64;
	}
	g.n_ids = MAX(n_privs, 1U);
	if (g.protocol == 2) {
		if (sodium_init() < 0 || p2_check_sizes() < 0) {
			fprintf(stderr, "libsodium size assumptions do not hold\n");
			return 70;
		}
		for (unsigned i = 0; i < n_privs; i++) {
			why = NULL;
			r = p2_identity_load(privs[i], &g.identities[i], &why);
			if (r < 0) {
				fprintf(stderr, "cannot load %s: %s\n", privs[i],
				        why ? why : strerror(-r));
				return 66;
			}
		}
		why = NULL;
		r = seal_path ? p2_seal_key_load(seal_path, &g.seal, &why) : 0;
		if (r < 0) {
			fprintf(stderr, "cannot load %s: %s\n", seal_path,
			        why ? why : strerror(-r));
			return 66;
		}
		g.p2_cfg = (P2ClientConfig){.seal = g.seal};
		p2_key_id_raw(g.identities[0]->pk, g.key_id_raw);
		r = load_bindings(binding_paths, n_binding_paths);
		if (r != 0) {
			return r;
		}
	}
	gnutls_global_init();
	for (unsigned i = 0; g.protocol == 1 && i < n_privs; i++) {
		gnutls_certificate_allocate_credentials(&g.creds[i]);
		r = gnutls_certificate_set_rawpk_key_file(
		        g.creds[i], pubs[i], privs[i], GNUTLS_X509_FMT_PEM, NULL, 0, NULL, 0, 0, 0);
		if (r < 0) {
			fprintf(stderr, "cannot load the key %s: %s\n", privs[i],
			        gnutls_strerror(r));
			return 66;
		}
	}
	if (gnutls_priority_init(&g.priority, prio, NULL) < 0) {
		fprintf(stderr, "bad priority string\n");
		return 64;
	}
	/* Workers: each runs its share of the connections and reports on its own pipe. */
	my_concurrency = concurrency;
	if (processes > 1) {
		int pipes[64];
		unsigned i;

		if (g.max_unlocks) {
			g.max_unlocks = (g.max_unlocks + processes - 1) / processes;
		}
		for (i = 0; i < processes; i++) {
			int p[2];

			if (pipe(p) < 0) {
				return 71;
			}
			if (fork() == 0) {
				my_concurrency = MAX(1U, concurrency / processes);
				close(p[0]);
				results[1] = p[1];
				break;
			}
			close(p[1]);
			pipes[i] = p[0];
		}
		t0 = mono_usec();
		if (i == processes) {
			/* The parent: merge what the workers report. */
			for (i = 0; i < processes; i++) {
				uint64_t hdr[5];
				FILE *f = fdopen(pipes[i], "r");

				if (!f || fread(hdr, sizeof(hdr), 1, f) != 1) {
					return 71;
				}
				g.unlocks += hdr[0];
				g.failures += hdr[1];
				g.empty += hdr[2];
				g.unfinished += hdr[4];
				g.latencies = realloc(g.latencies,
				                      (g.n_lat + hdr[3] + 1) * sizeof(uint64_t));
				if (!g.latencies || fread(g.latencies + g.n_lat, sizeof(uint64_t),
				                          hdr[3], f) != hdr[3]) {
					return 71;
				}
				g.n_lat += hdr[3];
				fclose(f);
			}
			while (wait(NULL) > 0) {
			}
			goto report;
		}
	}
	t0 = mono_usec();
	concurrency = my_concurrency;
	if (g.n_items > 0 && arena_new(concurrency) < 0) {
		fprintf(stderr, "out of locked memory\n");
		return 71;
	}
	g.epfd = epoll_create1(EPOLL_CLOEXEC);
	g.deadline = t0 + (uint64_t)(seconds * 1e6);
	g.seconds_mode = g.max_unlocks == 0;
	for (;;) {
		struct epoll_event evs[256];
		/* With --count, as many failures as wanted unlocks mean a server that refuses. */
		bool more = mono_usec() < g.deadline &&
		            (!g.max_unlocks ||
		             (g.unlocks < g.max_unlocks && g.failures < g.max_unlocks));
		int n;

		while (more && g.active < concurrency) {
			if ((g.max_unlocks && g.unlocks + g.active >= g.max_unlocks) ||
			    !start_one()) {
				break;
			}
		}
		if (g.active == 0 && (!more || (g.max_unlocks && g.unlocks >= g.max_unlocks))) {
			break;
		}
		if (g.seconds_mode && mono_usec() >= g.deadline) {
			/* A fixed measuring window: what is still running is left unfinished. */
			g.unfinished = g.active;
			break;
		}
		if (mono_usec() > g.deadline + GRACE_USEC) {
			/* Connections still unfinished this long after the end count as failed. */
			g.failures += g.active;
			break;
		}
		n = epoll_wait(g.epfd, evs, 256, 100);
		for (int i = 0; i < n; i++) {
			step(evs[i].data.ptr);
		}
		while (g.dead) {
			Conn *c = g.dead;

			g.dead = c->next;
			conn_free(c);
		}
	}
	if (results[1] >= 0) {
		/* A worker: one record, written atomically enough for a pipe we alone write. */
		uint64_t hdr[5] = {g.unlocks, g.failures, g.empty, g.n_lat, g.unfinished};

		if (write(results[1], hdr, sizeof(hdr)) < 0 ||
		    write(results[1], g.latencies, g.n_lat * sizeof(uint64_t)) < 0) {
			_exit(71);
		}
		_exit(0);
	}
report:
	t1 = mono_usec();
	concurrency = processes > 1 ? concurrency : my_concurrency;
	qsort(g.latencies, g.n_lat, sizeof(uint64_t), cmp_u64);
	{
		double secs = (double)(t1 - t0) / 1e6;

		printf("%s: %llu unlocks in %.2f s = %.1f unlocks/s; %llu failed, %llu empty, "
		       "%llu unfinished; latency ms p50 %.2f p90 %.2f p99 %.2f max %.2f "
		       "(concurrency %u)\n",
		       label, (unsigned long long)g.unlocks, secs, (double)g.unlocks / secs,
		       (unsigned long long)g.failures, (unsigned long long)g.empty,
		       (unsigned long long)g.unfinished, pct(50), pct(90), pct(99), pct(100),
		       concurrency);
	}
	free(g.latencies);
	gnutls_priority_deinit(g.priority);
	for (unsigned i = 0; i < g.n_ids; i++) {
		if (g.creds[i]) {
			gnutls_certificate_free_credentials(g.creds[i]);
		}
		p2_identity_free(g.identities[i]);
	}
	gnutls_global_deinit();
	for (unsigned i = 0; i < g.n_bindings; i++) {
		p2_binding_done(&g.bindings[i]);
	}
	if (g.arena) {
		sodium_free(g.arena);
	}
	p2_seal_key_free(g.seal);
	return g.unlocks > 0 ? 0 : 1;
}
