/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Admission of new connections before any crypto (spec/protocol-2.md §A.7.4): a token bucket
 * per source (IPv4 /32, IPv6 /64) and caps on unauthenticated connections per source and in
 * all.  Pure bookkeeping: no sockets, no clock of its own, no logging.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "macro.h"

typedef struct RateLimitConfig {
	unsigned rate;       /* new connections per second per source; 0 = no bucket */
	unsigned burst;      /* the bucket's size (>= 1) */
	unsigned per_source; /* unauthenticated connections per source; 0 = no cap */
	unsigned total;      /* unauthenticated connections in all; 0 = no cap */
} RateLimitConfig;

typedef enum RateVerdict {
	RATE_OK,
	RATE_TOO_FAST,    /* the source's bucket is empty */
	RATE_SOURCE_FULL, /* the source has per_source unauthenticated connections */
	RATE_ALL_FULL,    /* there are `total` unauthenticated connections */
} RateVerdict;

typedef struct RateLimiter RateLimiter;
typedef struct RateSource RateSource;

/* Seconds between two log lines about refusals from one source (and for RATE_ALL_FULL). */
#define RATE_LOG_INTERVAL_USEC (5 * 1000 * 1000ULL)

/* A limiter with these settings (copied).  NULL on ENOMEM. */
RateLimiter *ratelimit_new(const RateLimitConfig *cfg);
/* Free it and every source.  Sources still referenced must not be used afterwards.  NULL. */
RateLimiter *ratelimit_free(RateLimiter *rl);
DEFINE_TRIVIAL_CLEANUP_FUNC(RateLimiter *, ratelimit_free)

/*
 * A new connection from `peer` at `now_usec` (CLOCK_MONOTONIC).  The caps are checked before
 * the bucket, so a refusal by a cap costs no token.  RATE_OK: a token is taken, the
 * connection counts as unauthenticated, and *ret_source is referenced until
 * ratelimit_closed().  Otherwise nothing is counted and *ret_source (when not NULL) is the
 * source, valid until the next call, for ratelimit_log_due().  An address of another family
 * shares one source.  -ENOMEM is reported as RATE_ALL_FULL with *ret_source NULL.
 */
RateVerdict ratelimit_admit(RateLimiter *rl, const struct sockaddr *peer, socklen_t len,
                            uint64_t now_usec, RateSource **ret_source);

/* The connection proved a key: it no longer counts as unauthenticated. */
void ratelimit_authenticated(RateLimiter *rl, RateSource *s);

/* The connection is gone; `unauthenticated`: whether it still counted as such. */
void ratelimit_closed(RateLimiter *rl, RateSource *s, bool unauthenticated);

/*
 * Whether a refusal (by `v`) should be logged now: at most once per RATE_LOG_INTERVAL_USEC per
 * source, and once per interval in all for RATE_ALL_FULL.  s may be NULL.
 */
bool ratelimit_log_due(RateLimiter *rl, RateSource *s, RateVerdict v, uint64_t now_usec);

/* Unauthenticated connections counted now, in all and of one source (tests, logs). */
unsigned ratelimit_unauthenticated(const RateLimiter *rl);
unsigned ratelimit_source_unauthenticated(const RateSource *s);
/* How many sources are remembered (tests: idle ones are forgotten). */
size_t ratelimit_sources(const RateLimiter *rl);
