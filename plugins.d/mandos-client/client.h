/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mandos-client's run: setup, the event loop over all known servers, output, cleanup. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <sys/socket.h>

#include <avahi-common/simple-watch.h>

#include "args.h"
#include "bindings.h"
#include "interfaces.h"
#include "p1.h"
#include "p2conn.h"
#include "p2setup.h"
#include "secmem.h"
#include "zeroconf.h"

typedef struct Client Client;

/* A Mandos server we know of, from --connect or from Zeroconf. */
typedef struct Server {
	struct Server *next;
	Client *client;
	char *name;  /* for messages: "[addr]:port" plus the Zeroconf name */
	char *where; /* ADDRESS:PORT (IPv6 in brackets), for console lines and servers-seen */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int ifindex;         /* interface it was seen on, 0 if unknown */
	bool route_fallback; /* may add a host route when unreachable (Zeroconf only) */
	bool route_added;
	unsigned txt_protocols;    /* its TXT proto= as zeroconf_txt_protocols() reads it, or 0 */
	Conn *conn;                /* the running protocol 1 attempt, if any */
	P2Conn *p2;                /* the running protocol 2 attempt, if any */
	P2ClientConfig p2cfg;      /* its configuration: the client's, with its escrow items */
	EscrowSession *escrow;     /* its escrow items and their secret E (locked memory) */
	size_t step;               /* which of server_protocols() the attempt uses */
	bool pinned;               /* the protocol 2 attempt's server key is pinned */
	double retry_at_least;     /* TRY_LATER: the next attempt waits this long at least */
	char *shown_key;           /* the last key ID line printed (§A.4.3: once per change) */
	char *shown_state;         /* the state of the last outcome line printed */
	AvahiTimeout *retry_timer; /* the next attempt, if scheduled */
} Server;

#define PROTOCOL_BIT(n) ZEROCONF_PROTO_BIT(n)

struct Client {
	Args args;
	AvahiSimplePoll *simple_poll;
	const AvahiPoll *api;
	P1 *p1;           /* protocol 1's state (p1.h), NULL when it is not in use */
	P2Setup p2;       /* protocol 2 keys and pins */
	int protocols[2]; /* the protocols in use, in order of preference (§A.8.1) */
	size_t n_protocols;
	SecBuf *password;
	bool have_password;
	Server *servers;
	int sigfd;
	AvahiWatch *sigwatch;
	int quit_signal;
	int loop_error; /* a sysexits code when the loop ended on an error */
	Interfaces ifs;
	ZeroconfBrowser *zeroconf;
	bool hooks_started;
	EscrowBindings escrow; /* escrow-*.conf (Part B) */
	ConnectTarget *hints;  /* share address hints, tried besides Zeroconf's servers */
	size_t n_hints;
	bool round_open; /* an attempt started since the last threshold waiting line */
};

/* Milliseconds of a --timeout style value, capped to what an int holds. */
static inline int client_ms_of(double seconds)
{
	double ms = seconds * 1000.0;

	return ms > 2147483647.0 ? 2147483647 : (int)ms;
}

/* servers.c: the known servers and their attempts. */

/*
 * Add a server and try it now (unless an equal one is known).  txt_protocols: its TXT proto=
 * as Server.txt_protocols holds it.  Returns 0 or -ENOMEM.
 */
int client_add_server(Client *c, const char *label, const struct sockaddr *sa, socklen_t len,
                      int ifindex, bool route_fallback, unsigned txt_protocols);

/*
 * The secret from `from` is in c->password: end every other attempt at once (a protocol 2
 * session with FINAL, so that its server stops waiting for an approval; console line
 * "session stopped"), start no new one, and leave the loop to write it (§B.4.3 step 6).
 */
void client_secret_recovered(Server *from);

/* Stop every attempt and free the servers. */
void client_servers_free(Client *c);

/* Whether p is in list. */
bool client_has_protocol(const int *list, size_t n, int p);

/* Take protocol p out of c->protocols. */
void client_drop_protocol(Client *c, int p);

/* The attempt at s has ended: the next protocol at once (true) or a retry later (false). */
void client_attempt_done(Server *s, bool next_protocol);

/* The program: returns the exit code (or raises a terminating signal). */
int client_main(int argc, char **argv);
