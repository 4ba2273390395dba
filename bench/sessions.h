/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Whole protocol 2 unlocks between common/p2's two sessions, for mandos-primitives. */
#pragma once

#include <stddef.h>

typedef struct SessionCost {
	double server_us; /* server thread CPU (user + system) per unlock */
	double client_us; /* client thread CPU per unlock, opening the box included */
	unsigned unlocks;
} SessionCost;

/*
 * Run n sealed-mode unlocks (a secret of secret_len bytes), one AF_UNIX socketpair each, the
 * client in this thread and the server in another, each blocking on its socket; measure each
 * thread's CPU clock.  This is the library's cost with a kernel socket but without the
 * server's event loop and TCP.  Returns 0, or -errno (a failed unlock: -EBADMSG).
 */
int sessions_run(unsigned n, size_t secret_len, SessionCost *ret);
