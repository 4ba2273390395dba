/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The decision record of one connection (issue 14): who the peer is, the interface it came
 * in on, the time since accept(), and that it is reported once.  Kept by the connection
 * (tls-conn.c) and shared with its protocol 2 half (p2-conn.c).
 */
#pragma once

#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "decision.h"

typedef struct ConnDecision {
	int fd;            /* the accepted socket (borrowed) */
	const char *ip;    /* the peer's bare address (borrowed, outlives this) */
	uint64_t accepted; /* CLOCK_MONOTONIC µs of accept() */
	bool reported;     /* a decision was reported: later ones are dropped */
	bool if_looked_up; /* ifname is known (or known to be unknown) */
	char ifname[IF_NAMESIZE];
} ConnDecision;

void conn_decision_init(ConnDecision *d, int fd, const char *ip, uint64_t accepted);

/*
 * Report the decision for this connection through decision_report(), once: the first call
 * counts, later ones do nothing (a connection answers one request).  client and key_id may
 * be NULL (not known yet); reason is a few fixed words or NULL, never a secret.  The
 * interface is looked up (once) only when the audit log is on.
 */
void conn_decision_report(ConnDecision *d, int protocol, DecisionResult result, const char *client,
                          const char *key_id, const char *reason);

/* The reason words of a disabled verdict's value (P2_DISABLED_*; other values: NULL). */
const char *conn_decision_disabled_reason(uint32_t value);

/*
 * The name of the interface a connected TCP socket receives on, in ret: for an IPv6
 * link-local local address its scope, else the interface holding getsockname()'s address
 * (getifaddrs(); an IPv4-mapped address counts as IPv4), else the loopback interface for a
 * loopback address.  Returns 0, -ENXIO when none holds it, or -errno.
 */
int socket_interface_name(int fd, char ret[IF_NAMESIZE]);
