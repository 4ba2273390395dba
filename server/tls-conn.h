/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One client connection: version line, TLS handshake (we are the TLS client), approval, secret. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <gnutls/gnutls.h>
#include <systemd/sd-event.h>

#include "client.h"
#include "hs-pool.h"

/*
 * States, each under a deadline (connection_timeout; while awaiting approval, the remaining
 * approval delay plus connection_timeout):
 *
 *   VERSION   read "1\r\n" byte-exactly (MSG_PEEK, never past the newline)
 *   HANDSHAKE non-blocking gnutls_handshake(); failure -> close, no bye
 *   APPROVAL  waiting for Approve(), the delay, or the peer hanging up (then we stop waiting)
 *   SEND      the secret, corked, flushed without blocking
 *   BYE       close_notify both ways (gnutls_bye(SHUT_RDWR)); also the rejection path
 */
typedef enum ConnState {
	CONN_VERSION,
	CONN_HANDSHAKE,
	CONN_APPROVAL,
	CONN_SEND,
	CONN_BYE,
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
	/* The client with this (normalised, acceptable) key ID, or NULL. */
	Client *(*lookup)(void *userdata, const char *key_id);
	/* The connection is over; it is freed right after this returns. */
	void (*closed)(Connection *conn, void *userdata);
	void *userdata;
} ConnServer;

/* Take over an accepted socket (non-blocking, CLOEXEC).  Returns 0 or -errno (fd closed). */
int connection_new(const ConnServer *srv, int fd, const struct sockaddr *peer, socklen_t len,
                   Connection **ret);

/* Close at once (no bye), calling srv->closed.  For eviction and shutdown. */
void connection_abort(Connection *conn, const char *why);

ConnState connection_state(const Connection *conn);
/* Whether the peer has not yet proved a key (VERSION or HANDSHAKE): the ones we may evict. */
bool connection_unauthenticated(const Connection *conn);

/* Data of whoever accepted the connection (the manager's admission record), NULL at first. */
void connection_set_owner_data(Connection *conn, void *data);
void *connection_owner_data(const Connection *conn);

/* For the manager's list. */
Connection *connection_next(const Connection *conn);
void connection_link(Connection *conn, Connection **head, Connection **tail);
void connection_unlink(Connection *conn, Connection **head, Connection **tail);
