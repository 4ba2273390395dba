/* SPDX-License-Identifier: GPL-3.0-or-later */
/* One protocol 2 attempt at a Mandos server: TCP connect, then a P2ClientSession with deadlines. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <avahi-common/watch.h>

#include "macro.h"
#include "transport.h"

typedef struct P2Conn P2Conn;

typedef struct P2ConnTimeouts {
	unsigned connect_ms; /* TCP connect (§A.7.2: 5 s per address) */
	unsigned write_ms;   /* longest wait to write one message (10 s) */
	unsigned secret_ms;  /* from SERVER_AUTH to the RESULT, whatever STATUS keeps it alive */
	P2Timeouts session;  /* the session's own deadlines (ServerHello, SERVER_AUTH, idle...) */
} P2ConnTimeouts;

/* Where an attempt failed, for messages. */
typedef enum P2ConnStage {
	P2CONN_CONNECTING,
	P2CONN_HELLO, /* waiting for ServerHello */
	P2CONN_AUTH,  /* waiting for SERVER_AUTH */
	P2CONN_WAIT,  /* authenticated, waiting for STATUS or RESULT */
	P2CONN_FINAL, /* a RESULT came, waiting for the server's FINAL */
	P2CONN_DONE,
} P2ConnStage;

typedef struct P2ConnCallbacks {
	/* SERVER_AUTH verified (and pinned when pins are configured).  May be NULL.  This and
	 * status must not free the attempt. */
	void (*authenticated)(P2Conn *c, const char *server_key_id, bool pinned, void *userdata);
	/* A STATUS (valid during the call only).  May be NULL. */
	void (*status)(P2Conn *c, const P2Status *st, void *userdata);
	/*
	 * Called once when the attempt ends; the connection is closed by then.  r == 0: res is
	 * the RESULT, which the server's FINAL followed (valid until p2conn_free()).  r < 0:
	 * -ECONNRESET the server closed before the first ServerHello byte ("no protocol 2
	 * here"), -EPERM its key is not pinned (p2conn_server_key_id() says which),
	 * -EBADMSG malformed input (why says what), -ETIMEDOUT (stage says where), or another
	 * -errno of connect/send/recv.  stage: where it ended.  May call p2conn_free().
	 */
	void (*done)(P2Conn *c, int r, const P2Result *res, P2ConnStage stage, const char *why,
	             void *userdata);
	void *userdata;
} P2ConnCallbacks;

/*
 * Start an attempt, driven by api.  cfg and its pointers are borrowed and must outlive the
 * attempt; name is copied (for log lines).  The version line and ClientHello go out in one
 * send() with TCP_NODELAY once connected.  Errors connect() reports at once (-ENETUNREACH...)
 * are returned here and no callback follows.  Returns 0 and *ret, or -errno.
 */
int p2conn_start(const AvahiPoll *api, const P2ClientConfig *cfg, const char *name,
                 const struct sockaddr *sa, socklen_t salen, const P2ConnTimeouts *t,
                 const P2ConnCallbacks *cb, P2Conn **ret);

/* The server's key id (64 uppercase hex) once SERVER_AUTH was checked, else NULL. */
const char *p2conn_server_key_id(const P2Conn *c);

/*
 * Abort (if still running: a FINAL is sent if the streams are up, without waiting) and free.
 * Accepts NULL; returns NULL.
 */
P2Conn *p2conn_free(P2Conn *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(P2Conn *, p2conn_free)

/* Human words for a stage ("waiting for ServerHello"...). */
const char *p2conn_stage_name(P2ConnStage stage);
