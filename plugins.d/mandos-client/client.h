/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mandos-client's run: setup, the event loop over all known servers, output, cleanup. */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <sys/socket.h>

#include <avahi-common/simple-watch.h>

#include "args.h"
#include "conn.h"
#include "crypto/decrypt.h"
#include "secmem.h"

typedef struct Client Client;

/* A Mandos server we know of, from --connect or from Zeroconf. */
typedef struct Server {
	struct Server *next;
	Client *client;
	char *name; /* for messages: "[addr]:port" plus the Zeroconf name */
	struct sockaddr_storage addr;
	socklen_t addr_len;
	int ifindex;         /* interface it was seen on, 0 if unknown */
	bool route_fallback; /* may add a host route when unreachable (Zeroconf only) */
	bool route_added;
	Conn *conn;                /* the running attempt, if any */
	AvahiTimeout *retry_timer; /* the next attempt, if scheduled */
} Server;

struct Client {
	Args args;
	AvahiSimplePoll *simple_poll;
	const AvahiPoll *api;
	TlsConfig *tls;
	Decryptor *decryptor;
	SecBuf *password;
	bool have_password;
	Server *servers;
	int sigfd;
	AvahiWatch *sigwatch;
	int quit_signal;
	int loop_error;    /* a sysexits code when the loop ended on an error */
	char **selected;   /* interfaces in use (existing ones) */
	char **brought_up; /* interfaces we brought up, to take down at exit */
	int ifindex;       /* the only interface in use, or 0 */
	void *zeroconf;    /* zeroconf.c's state */
	bool hooks_started;
};

/*
 * Add a server and try it now (unless an equal one is known).  Returns 0 or -ENOMEM.
 */
int client_add_server(Client *c, const char *label, const struct sockaddr *sa, socklen_t len,
                      int ifindex, bool route_fallback);

/* Stop the event loop with an error exit code. */
void client_fail(Client *c, int exit_code);

/* The program: returns the exit code (or raises a terminating signal). */
int client_main(int argc, char **argv);

/* Zeroconf (zeroconf.c): start browsing _mandos._tcp.  Returns 0 or -errno. */
int zeroconf_start(Client *c);
void zeroconf_stop(Client *c);
