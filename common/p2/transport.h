/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Protocol 2 sessions: the seed's transport (§A.2) plus the authentication and message order of
 * §A.4, as non-blocking state machines fed bytes and the time.  No sockets inside: the caller
 * reads into p2_*_feed(), writes what p2_*_output() holds, and arms a timer at p2_*_deadline().
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "keys.h"
#include "msg.h"
#include "pins.h"

/*
 * What a feed produced.  Negative values are errors: the caller closes the socket at once
 * and sends nothing more (everything queued in the output is dropped with the session).
 */
typedef enum P2Event {
	P2_EV_NONE = 0,       /* nothing new: feed more bytes when they come */
	P2_EV_REQUEST,        /* server: a verified CLIENT_AUTH; SERVER_AUTH is queued */
	P2_EV_AUTHENTICATED,  /* client: SERVER_AUTH verified (and pinned if pins are set) */
	P2_EV_STATUS,         /* client: a STATUS arrived: p2_client_status() */
	P2_EV_RESULT,         /* client: RESULT and the server's FINAL arrived: p2_client_result() */
	P2_EV_PEER_FINAL,     /* server: the client aborted (FINAL) before the RESULT */
	P2_EV_DONE,           /* server: RESULT sent, the client's FINAL or EOF seen: close */
} P2Event;

/* Timeouts of §A.7.2, in µs; tests may shorten them. */
typedef struct P2Timeouts {
	uint64_t hello;  /* server: line + ClientHello from accept; client: ServerHello */
	uint64_t auth;   /* server: ClientHello2 + CLIENT_AUTH; client: SERVER_AUTH */
	uint64_t idle;   /* client: between server messages while waiting */
	uint64_t final;  /* client: server FINAL after RESULT */
	uint64_t linger; /* server: client FINAL/EOF after our FINAL */
} P2Timeouts;

/*
 * The server's values (hello 10 s, auth 10 s, linger 2 s; idle 45 s, final 10 s), used when
 * p2_server_new() gets NULL.  The client's hello and auth are 5 s: p2_client_default_timeouts,
 * used when P2ClientConfig.timeouts is NULL.
 */
extern const P2Timeouts p2_default_timeouts;
extern const P2Timeouts p2_client_default_timeouts;

/* ---- server side ---- */

typedef struct P2ServerSession P2ServerSession;

/*
 * A session for one accepted connection, after the version line "2\r\n" was read (feed the
 * bytes that followed it first).  server is borrowed and must outlive the session.  now is
 * CLOCK_MONOTONIC in µs, the accept time.  Returns 0 or -ENOMEM.  Wiped and freed by
 * p2_server_free() (accepts NULL, returns NULL).
 */
int p2_server_new(const P2Identity *server, const P2Timeouts *t, uint64_t now,
                  P2ServerSession **ret);
P2ServerSession *p2_server_free(P2ServerSession *s);

/*
 * Give the session bytes read from the socket (len 0 = EOF).  Consumes what it needs and
 * sets *ret_used; unconsumed bytes after P2_EV_REQUEST mean a pipelined message: the
 * caller feeds them again, and the session then fails (step 7 of §A.4.2).  After
 * P2_EV_REQUEST the caller MUST also check the socket (MSG_PEEK|MSG_DONTWAIT) and feed what
 * is there, so a pending byte or EOF closes before anything is sent.  Between REQUEST and
 * p2_server_send_result(), a whole FINAL gives P2_EV_PEER_FINAL (the client aborted) and any
 * other byte or EOF an error.  After send_result, the client's FINAL or EOF gives
 * P2_EV_DONE: write what is still queued, then close.  Returns an event or -EBADMSG
 * (malformed; *ret_why says what), -EPROTO (EOF or abort before the request).  After an
 * error every feed returns it again and the output is as it was before the failing feed
 * (nothing queued by it survives).  ret_used and ret_why may be NULL.
 */
int p2_server_feed(P2ServerSession *s, const uint8_t *in, size_t len, uint64_t now,
                   size_t *ret_used, const char **ret_why);

/* After P2_EV_REQUEST: the verified request, its key id, the CLIENT_AUTH flags (NULL before). */
const P2ClientAuth *p2_server_request(const P2ServerSession *s);
const char *p2_server_client_key_id(const P2ServerSession *s); /* 64 uppercase hex */

/* Queue a STATUS (only if the client set SHOWS_STATUS: else a no-op returning 0). */
int p2_server_send_status(P2ServerSession *s, const P2Status *st);

/*
 * Queue the RESULT and our FINAL; then feed until P2_EV_DONE or the linger deadline (taken
 * from CLOCK_MONOTONIC now, as this call has no `now`).  Returns 0, -EINVAL (not right after
 * a REQUEST, or a RESULT that breaks §A.4.1), -ENOMEM.
 */
int p2_server_send_result(P2ServerSession *s, const P2Result *res);

/* Abort (shutdown, another reason): queue FINAL only.  -ENOTCONN before ClientHello2. */
int p2_server_send_final(P2ServerSession *s);

/* Bytes waiting to be written; p2_server_output_consume() after a write of n of them. */
const uint8_t *p2_server_output(const P2ServerSession *s, size_t *ret_len);
void p2_server_output_consume(P2ServerSession *s, size_t n);

/* Absolute CLOCK_MONOTONIC µs deadline of the current phase, or UINT64_MAX when the
 * application owns the timing (between REQUEST and send_result; once finished: after DONE,
 * PEER_FINAL or send_final, write what is queued and close).  Past it: close.  0 after an
 * error. */
uint64_t p2_server_deadline(const P2ServerSession *s);

/* ---- client side ---- */

typedef struct P2ClientSession P2ClientSession;

typedef struct P2ClientConfig {
	const P2Identity *identity; /* required */
	const P2SealKey *seal;      /* NULL: no WANT_SEALED */
	const P2Pins *pins;         /* NULL or !configured: any server, logged "not pinned" */
	uint32_t flags;             /* extra CLIENT_AUTH flags; SHOWS_STATUS is always set */
	uint8_t n_items;            /* escrow items (Part B) */
	const P2EscrowItem *items;
	const P2Timeouts *timeouts; /* NULL: defaults */
	/*
	 * Part B, optional: called once per session after the ClientHello2 header is drawn and
	 * before CLIENT_AUTH is built, with the session's copy of items (kid and whatever point
	 * cfg gave) to set each point to x.  This is where E must be drawn for §A.12.1's order
	 * (kx secret, init_push header, then one E per item).  A negative return fails the
	 * session (-EBADMSG from p2_client_feed(), why "cannot blind the escrow items").
	 */
	int (*blind)(void *userdata, P2EscrowItem *items, uint8_t n_items);
	void *blind_userdata;
} P2ClientConfig;

/* A session; cfg's pointers are borrowed.  Queues "2\r\n" ‖ ClientHello (one write). */
int p2_client_new(const P2ClientConfig *cfg, uint64_t now, P2ClientSession **ret);
P2ClientSession *p2_client_free(P2ClientSession *c);

/*
 * Bytes from the socket (len 0 = EOF).  Like p2_server_feed(), it returns at each event with
 * *ret_used set: feed the rest again.  On a valid RESULT the session queues the client's
 * FINAL itself (write it), and returns P2_EV_RESULT only when the server's FINAL follows.
 * Returns an event, or an error: -ECONNRESET for EOF
 * before the first ServerHello byte ("no protocol 2 here", §A.8), -EPERM for a server key
 * that is not pinned (p2_client_server_key_id() tells which), -EBADMSG for anything
 * malformed (*ret_why), -EPROTO for EOF or the server's FINAL before the exchange ended;
 * -ETIMEDOUT is never returned here (see p2_client_deadline()).  Errors stick, and the output
 * is as before the failing feed, as on the server.  ret_used and ret_why may be NULL.
 */
int p2_client_feed(P2ClientSession *c, const uint8_t *in, size_t len, uint64_t now,
                   size_t *ret_used, const char **ret_why);

/* After P2_EV_AUTHENTICATED: the server's key id (64 uppercase hex) and whether pinned. */
const char *p2_client_server_key_id(const P2ClientSession *c);
bool p2_client_server_pinned(const P2ClientSession *c);
/* After P2_EV_STATUS: the last STATUS (valid until the next feed). */
const P2Status *p2_client_status(const P2ClientSession *c);
/* After P2_EV_RESULT: the RESULT, its items pointing into the session (valid until free);
 * NULL before. */
const P2Result *p2_client_result(const P2ClientSession *c);

/*
 * Whether a RESULT arrived but the server's FINAL did not (yet): after an error, EOF or the
 * deadline this is the "no FINAL after RESULT: discarded" case of §A.4.3.
 */
bool p2_client_result_unconfirmed(const P2ClientSession *c);

/* Abort: queue FINAL (the caller writes it, then closes).  -ENOTCONN before ServerHello. */
int p2_client_send_final(P2ClientSession *c);

const uint8_t *p2_client_output(const P2ClientSession *c, size_t *ret_len);
void p2_client_output_consume(P2ClientSession *c, size_t n);
uint64_t p2_client_deadline(const P2ClientSession *c);
