/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Prometheus metrics (issue 14): process-wide counters, and a text-format (0.0.4) HTTP
 * endpoint on metrics_address served from the event loop, with a bounded number of scrapers,
 * a bounded request size and a deadline, so it can never block or starve the unlocks.
 *
 * Threads: every function here runs on the main thread (the sd-event loop).  The counters are
 * plain integers; hs-pool's workers never count (the handshake's outcome is counted when the
 * job comes back to the main thread).
 */
#pragma once

#include <stdbool.h>

#include "config.h"
#include "decision.h"

typedef struct Manager Manager;

/* At most this many scrapers at once; one more is closed as soon as it is accepted. */
#define METRICS_SCRAPERS_MAX 4
/* A request (line and headers) larger than this gets 431 and is closed. */
#define METRICS_REQUEST_MAX 8192
/* From accept() to the last byte of the answer; then the scraper is closed. */
#define METRICS_DEADLINE_USEC (5 * 1000 * 1000ULL)

/*
 * Bind and listen on s->metrics_address (nothing when ""): "HOST:PORT" on loopback
 * ("localhost" is 127.0.0.1) or an absolute Unix socket path (a stale socket there is
 * replaced; the new one is mode 0666: its directory decides who may scrape).  Call while
 * privileged, like the main listener, so that a port below 1024 or a path in a root-owned
 * directory works.  Returns 0 or -errno (logged; the server does not start).
 */
int metrics_listen(const ServerSettings *s);

/*
 * Serve the endpoint on m's event loop (listening first if metrics_listen() was not called)
 * and register the checker observer on m->ctx.  After manager_setup_loop(), before
 * manager_start().  Returns 0 or -errno (logged; the server does not start).
 */
int metrics_start(Manager *m);

/* Close the endpoint and every scraper (before manager_free()).  Idempotent. */
void metrics_stop(void);

/* Counters, called where things happen (cheap, no allocation). */
void metrics_decision(const DecisionRecord *d); /* from decision_report() */
void metrics_connection_opened(void);           /* admitted: counted and open */
void metrics_connection_closed(void);
void metrics_connection_refused(const char *reason); /* "rate", "source", "total", "max" */
void metrics_handshake_failed(int protocol);         /* 1 (TLS) or 2 */

/*
 * The exposition text, as GET /metrics answers it, for m (NULL: counters only).  Returns 0
 * with a malloc()ed NUL-terminated *ret (length *ret_len), or -ENOMEM.
 */
int metrics_format(Manager *m, char **ret, size_t *ret_len);
