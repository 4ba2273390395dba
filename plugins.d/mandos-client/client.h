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
#include "interfaces.h"
#include "secmem.h"
#include "zeroconf.h"

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
	int loop_error; /* a sysexits code when the loop ended on an error */
	Interfaces ifs;
	ZeroconfBrowser *zeroconf;
	bool hooks_started;
};

/* The program: returns the exit code (or raises a terminating signal). */
int client_main(int argc, char **argv);
