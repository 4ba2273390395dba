/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Admission of new connections: per-source token buckets and unauthenticated caps (§A.7.4). */
#include "ratelimit.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* Tokens are counted in millionths, so that refilling by elapsed microseconds is exact. */
#define TOKEN 1000000ULL
#define SOURCE_KEY_SIZE 9 /* family tag, then the 4 bytes of IPv4 or the /64 of IPv6 */
#define BUCKETS_MIN 64
#define GC_MIN 256

struct RateSource {
	RateSource *next; /* in its hash chain */
	uint8_t key[SOURCE_KEY_SIZE];
	unsigned refs;            /* connections admitted and not closed */
	unsigned unauthenticated; /* of those, the ones still counted as unauthenticated */
	uint64_t tokens;          /* in millionths, at `updated` */
	uint64_t updated;         /* CLOCK_MONOTONIC usec */
	uint64_t logged;          /* last refusal logged, 0 = never */
};

struct RateLimiter {
	RateLimitConfig cfg;
	RateSource **buckets;
	size_t n_buckets, n_sources, gc_at;
	unsigned unauthenticated;
	uint64_t all_full_logged;
	uint8_t hash_key[crypto_shorthash_KEYBYTES]; /* sources are chosen by the peers */
};

RateLimiter *ratelimit_new(const RateLimitConfig *cfg)
{
	RateLimiter *rl = calloc(1, sizeof(*rl));

	if (!rl) {
		return NULL;
	}
	rl->cfg = *cfg;
	rl->cfg.burst = MAX(rl->cfg.burst, 1U);
	rl->n_buckets = BUCKETS_MIN;
	rl->gc_at = GC_MIN;
	rl->buckets = calloc(rl->n_buckets, sizeof(*rl->buckets));
	if (!rl->buckets) {
		free(rl);
		return NULL;
	}
	randombytes_buf(rl->hash_key, sizeof(rl->hash_key));
	return rl;
}

RateLimiter *ratelimit_free(RateLimiter *rl)
{
	if (!rl) {
		return NULL;
	}
	for (size_t i = 0; i < rl->n_buckets; i++) {
		for (RateSource *s = rl->buckets[i], *n; s; s = n) {
			n = s->next;
			free(s);
		}
	}
	free(rl->buckets);
	free(rl);
	return NULL;
}

/* The source of an address (an address of another family gets the all-zero key). */
static void source_key(const struct sockaddr *sa, socklen_t len, uint8_t key[SOURCE_KEY_SIZE])
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memset(key, 0, SOURCE_KEY_SIZE);
	if (sa && sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		key[0] = 4;
		memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa && sa->sa_family == AF_INET6 &&
	           len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;

		if (memcmp(a, mapped, sizeof(mapped)) == 0) {
			key[0] = 4;
			memcpy(key + 1, a + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, a, 8);
		}
	}
}

static size_t slot(const RateLimiter *rl, const uint8_t key[SOURCE_KEY_SIZE], size_t n_buckets)
{
	uint64_t h;

	crypto_shorthash((unsigned char *)&h, key, SOURCE_KEY_SIZE, rl->hash_key);
	return (size_t)(h & (n_buckets - 1));
}

/* Tokens of s at now, refilled (not stored). */
static uint64_t tokens_at(const RateLimiter *rl, const RateSource *s, uint64_t now)
{
	uint64_t full = rl->cfg.burst * TOKEN, elapsed = now > s->updated ? now - s->updated : 0;

	if (rl->cfg.rate == 0 || elapsed >= full / rl->cfg.rate + 1) {
		return full;
	}
	return MIN(full, s->tokens + elapsed * rl->cfg.rate);
}

static bool source_idle(const RateLimiter *rl, const RateSource *s, uint64_t now)
{
	return s->refs == 0 && tokens_at(rl, s, now) == rl->cfg.burst * TOKEN &&
	       (s->logged == 0 || now - s->logged >= RATE_LOG_INTERVAL_USEC);
}

/* Forget the sources with no connection whose bucket is full again. */
static void collect_idle(RateLimiter *rl, uint64_t now)
{
	for (size_t i = 0; i < rl->n_buckets; i++) {
		RateSource **pp = &rl->buckets[i];

		while (*pp) {
			RateSource *s = *pp;

			if (source_idle(rl, s, now)) {
				*pp = s->next;
				free(s);
				rl->n_sources--;
			} else {
				pp = &s->next;
			}
		}
	}
	rl->gc_at = MAX(rl->n_sources * 2, (size_t)GC_MIN);
}

/* Double the table when the chains get long (allocation failure: keep the old one). */
static void grow(RateLimiter *rl)
{
	size_t n = rl->n_buckets * 2;
	RateSource **b = calloc(n, sizeof(*b));

	if (!b) {
		return;
	}
	for (size_t i = 0; i < rl->n_buckets; i++) {
		for (RateSource *s = rl->buckets[i], *next; s; s = next) {
			size_t j = slot(rl, s->key, n);

			next = s->next;
			s->next = b[j];
			b[j] = s;
		}
	}
	free(rl->buckets);
	rl->buckets = b;
	rl->n_buckets = n;
}

static RateSource *source_get(RateLimiter *rl, const uint8_t key[SOURCE_KEY_SIZE], uint64_t now)
{
	size_t i = slot(rl, key, rl->n_buckets);
	RateSource *s;

	for (s = rl->buckets[i]; s; s = s->next) {
		if (memcmp(s->key, key, SOURCE_KEY_SIZE) == 0) {
			return s;
		}
	}
	if (rl->n_sources >= rl->gc_at) {
		collect_idle(rl, now);
	}
	if (rl->n_sources >= rl->n_buckets) {
		grow(rl);
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		return NULL;
	}
	memcpy(s->key, key, SOURCE_KEY_SIZE);
	s->tokens = rl->cfg.burst * TOKEN;
	s->updated = now;
	i = slot(rl, key, rl->n_buckets);
	s->next = rl->buckets[i];
	rl->buckets[i] = s;
	rl->n_sources++;
	return s;
}

RateVerdict ratelimit_admit(RateLimiter *rl, const struct sockaddr *peer, socklen_t len,
                            uint64_t now_usec, RateSource **ret_source)
{
	uint8_t key[SOURCE_KEY_SIZE];
	RateSource *s;
	uint64_t tokens;

	source_key(peer, len, key);
	s = source_get(rl, key, now_usec);
	if (ret_source) {
		*ret_source = s;
	}
	if (!s) {
		return RATE_ALL_FULL;
	}
	if (rl->cfg.per_source > 0 && s->unauthenticated >= rl->cfg.per_source) {
		return RATE_SOURCE_FULL;
	}
	if (rl->cfg.total > 0 && rl->unauthenticated >= rl->cfg.total) {
		return RATE_ALL_FULL;
	}
	tokens = tokens_at(rl, s, now_usec);
	if (rl->cfg.rate > 0 && tokens < TOKEN) {
		return RATE_TOO_FAST;
	}
	s->tokens = rl->cfg.rate > 0 ? tokens - TOKEN : tokens;
	s->updated = now_usec;
	s->refs++;
	s->unauthenticated++;
	rl->unauthenticated++;
	return RATE_OK;
}

void ratelimit_authenticated(RateLimiter *rl, RateSource *s)
{
	if (s && s->unauthenticated > 0) {
		s->unauthenticated--;
		rl->unauthenticated--;
	}
}

void ratelimit_closed(RateLimiter *rl, RateSource *s, bool unauthenticated)
{
	if (!s) {
		return;
	}
	if (unauthenticated) {
		ratelimit_authenticated(rl, s);
	}
	if (s->refs > 0) {
		s->refs--;
	}
}

bool ratelimit_log_due(RateLimiter *rl, RateSource *s, RateVerdict v, uint64_t now_usec)
{
	uint64_t *last = v == RATE_ALL_FULL || !s ? &rl->all_full_logged : &s->logged;

	if (*last != 0 && now_usec - *last < RATE_LOG_INTERVAL_USEC) {
		return false;
	}
	*last = now_usec ? now_usec : 1;
	return true;
}

unsigned ratelimit_unauthenticated(const RateLimiter *rl)
{
	return rl->unauthenticated;
}

unsigned ratelimit_source_unauthenticated(const RateSource *s)
{
	return s ? s->unauthenticated : 0;
}

size_t ratelimit_sources(const RateLimiter *rl)
{
	return rl->n_sources;
}
