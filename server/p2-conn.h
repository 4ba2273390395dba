/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One protocol 2 connection (spec/protocol-2.md Part A) on sd-event, after its version line. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn-decision.h"
#include "tls-conn.h"

/*
 * Phases, each under a deadline:
 *
 *   HELLO     the transport until a verified CLIENT_AUTH (the session's own deadlines:
 *             line + ClientHello from accept, ClientHello2 + CLIENT_AUTH from ServerHello);
 *             then no byte and no EOF may be pending, or it closes with nothing sent
 *   DECIDING  SERVER_AUTH sent; lookup, material, release.c's decision (with STATUS
 *             AWAITING_APPROVAL while an approval is awaited); any byte, FINAL, EOF or RST
 *             from the client aborts (ApprovalPending drops at once) and closes
 *   RESULT    RESULT and FINAL queued: written (10 s per message), then shutdown(SHUT_WR)
 *   LINGER    read and discard for at most 2 s until the client's FINAL or EOF, then close
 *
 * Malformed input and expired deadlines close without FINAL (logged at INFO with the peer
 * address and the reason).  Bytes are written without blocking; a message that cannot be
 * written within the connection timeout closes.
 */
typedef struct P2Conn P2Conn;

/* The connection is over (the socket is the caller's to close); called at most once. */
typedef void (*P2ConnDone)(void *userdata);

/*
 * A protocol 2 connection on fd (borrowed: the caller closes it after done) for srv, whose
 * p2_identity must be set.  io (an enabled io source on fd) and timer (a CLOCK_MONOTONIC time
 * source) are the caller's, borrowed: p2-conn.c sets their events, time and enabled state,
 * and the caller's callbacks call p2_conn_io() and p2_conn_timer() (one epoll registration
 * per socket for its whole life).  accepted is the CLOCK_MONOTONIC µs of accept().  address
 * is the peer as logs show it, ip its bare address (for ClientNotFound); both borrowed, they
 * must outlive p.  decision (the owner's, borrowed) gets the request's one decision report.
 * Nothing runs before p2_conn_start().  Returns 0 or -ENOMEM.
 */
int p2_conn_new(const ConnServer *srv, int fd, sd_event_source *io, sd_event_source *timer,
                const char *address, const char *ip, uint64_t accepted, ConnDecision *decision,
                P2ConnDone done, void *userdata, P2Conn **ret);

/*
 * Feed early/early_len, the bytes read past "2\r\n" (not kept), and start watching the
 * socket.  May call done before it returns.
 */
void p2_conn_start(P2Conn *p, const uint8_t *early, size_t early_len);

/* The io source's event (revents as epoll gives them).  May call done. */
void p2_conn_io(P2Conn *p, uint32_t revents);

/* The timer source fired.  May call done. */
void p2_conn_timer(P2Conn *p);

/* Whether the peer proved its key in this session (a valid sigC, §A.7.4's accounting). */
bool p2_conn_authenticated(const P2Conn *p);

/*
 * The server is going away: a request past SERVER_AUTH and before its RESULT gets RESULT
 * TRY_LATER (10 s) and FINAL, written without waiting; then nothing more.  done is not
 * called; the caller frees and closes.
 */
void p2_conn_shutdown(P2Conn *p);

/* Free (the socket stays open).  Accepts NULL, returns NULL. */
P2Conn *p2_conn_free(P2Conn *p);
