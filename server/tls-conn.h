/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One client connection: version line, then protocol 1 (TLS, we are the TLS client) or 2. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>
#include <systemd/sd-event.h>

#include "client.h"
#include "hs-pool.h"
#include "keys.h"

/*
 * States, each under a deadline (connection_timeout; while awaiting approval, release.c's
 * timers decide, and the connection only watches for the peer hanging up):
 *
 *   VERSION   read the version line (at most 64 bytes up to '\n', as bytes) and dispatch:
 *             a first token <= 1 to protocol 1 (HANDSHAKE), exactly "2\r\n" with protocol
 *             2 enabled to P2 (the bytes read past the line go with it), else close
 *   HANDSHAKE non-blocking gnutls_handshake(); failure -> close, no bye
 *   APPROVAL  release.c deciding: Approve(), the delay, or the peer hanging up (we stop)
 *   SEND      the secret, corked, flushed without blocking
 *   BYE       close_notify both ways (gnutls_bye(SHUT_RDWR)); also the rejection path
 *   P2        protocol 2, driven by p2-conn.c (its own io source and deadlines)
 */
typedef enum ConnState {
	CONN_VERSION,
	CONN_HANDSHAKE,
	CONN_APPROVAL,
	CONN_SEND,
	CONN_BYE,
	CONN_P2,
	_CONN_STATE_MAX,
} ConnState;

typedef struct Connection Connection;

/* What a connection needs from the server. */
typedef struct ConnServer {
	sd_event *event;
	ClientContext *ctx;
	gnutls_priority_t priority;
	gnutls_certificate_credentials_t credentials;
	uint64_t timeout_usec;
	/* Handshakes run here when set (several CPUs), else on the main loop. */
	HsPool *pool;
	/* Protocol 2's server key (NULL: protocol 2 off) and the served protocols
	 * (PROTOCOL_BIT() mask; 0 counts as protocol 1 only). */
	const P2Identity *p2_identity;
	unsigned protocols;
	/* The client with this (normalised, acceptable) key ID, or NULL. */
	Client *(*lookup)(void *userdata, const char *key_id);
	/* The connection is over; it is freed right after this returns. */
	void (*closed)(Connection *conn, void *userdata);
	void *userdata;
} ConnServer;

/* Take over an accepted socket (non-blocking, CLOEXEC).  Returns 0 or -errno (fd closed). */
int connection_new(const ConnServer *srv, int fd, const struct sockaddr *peer, socklen_t len,
                   Connection **ret);

/*
 * Read what the peer sent already (its version line usually comes with the connection), once
 * the owner has recorded conn: it may be closed (srv->closed) before this returns.
 */
void connection_start(Connection *conn);

/*
 * Close at once (no bye), calling srv->closed.  For eviction and shutdown: a protocol 2
 * request past SERVER_AUTH first gets RESULT TRY_LATER (10 s) and FINAL, if the socket
 * takes them without waiting.
 */
void connection_abort(Connection *conn, const char *why);

ConnState connection_state(const Connection *conn);
/*
 * Whether the peer has not yet proved a key (VERSION, HANDSHAKE, or protocol 2 before a
 * valid sigC): the ones we may evict.
 */
bool connection_unauthenticated(const Connection *conn);

/* Data of whoever accepted the connection (the manager's admission record), NULL at first. */
void connection_set_owner_data(Connection *conn, void *data);
void *connection_owner_data(const Connection *conn);

/* For the manager's list. */
Connection *connection_next(const Connection *conn);
void connection_link(Connection *conn, Connection **head, Connection **tail);
void connection_unlink(Connection *conn, Connection **head, Connection **tail);
