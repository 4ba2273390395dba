/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Protocol 1 (GnuTLS, GPGME) behind one interface: p1.c has it, p1-none.c is a build without. */
#pragma once

#include <stdbool.h>

typedef struct Client Client;
typedef struct Server Server;
typedef struct Conn Conn; /* conn.h: one protocol 1 attempt */
typedef struct P1 P1;     /* protocol 1's state in a Client: TLS credentials, GnuPG */

/* Whether this build has protocol 1 (false in mandos-client-p2only). */
extern const bool p1_built_in;

/* Check the --priority string (NULL: the default) once options are parsed; logs what is
 * wrong.  A build without protocol 1 accepts any string.  Returns 0 or EX_USAGE. */
int p1_check_priority(const char *priority);

/* Library setup, once, before the protocols are chosen.  Returns 0 or an exit code. */
int p1_init(bool debug);

/*
 * TLS credentials when c->protocols has protocol 1, and GnuPG too when protocol 1 comes first
 * (else at its first use, p1_ready(), so that a protocol 2 unlock never waits for gpg).  When
 * protocol 2 is in use too, a failure only drops protocol 1.  Returns 0 or an exit code.
 */
int p1_setup(Client *c);

/* GnuPG set up now if not yet (protocol 1's first use); false drops protocol 1. */
bool p1_ready(Client *c);

/*
 * Start a protocol 1 attempt at s (in s->conn).  It ends with client_attempt_done() unless
 * this returns an error (-errno, as conn_start(); -ENETUNREACH lets the caller add a route).
 */
int p1_start(Server *s);

/* Abort s's protocol 1 attempt, if any. */
void p1_stop(Server *s);

/* Free c's protocol 1 state and the library's. */
void p1_done(Client *c);
