/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Admission before any crypto (§A.7.4): per-source buckets, per-source and total caps. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ratelimit.h"

#define SEC 1000000ULL

static struct sockaddr_in6 v6(const char *text)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6};

	ck_assert_int_eq(inet_pton(AF_INET6, text, &a.sin6_addr), 1);
	return a;
}

static struct sockaddr_in v4(const char *text)
{
	struct sockaddr_in a = {.sin_family = AF_INET};

	ck_assert_int_eq(inet_pton(AF_INET, text, &a.sin_addr), 1);
	return a;
}

#define ADMIT(rl, a, now, s) ratelimit_admit(rl, (struct sockaddr *)&(a), sizeof(a), now, s)

START_TEST(bucket)
{
	RateLimiter *rl = ratelimit_new(&(RateLimitConfig){.rate = 20, .burst = 10});
	struct sockaddr_in6 a = v6("2001:db8::1"), same64 = v6("2001:db8::ffff:2"),
	                    other = v6("2001:db8:0:1::1");
	RateSource *s;
	uint64_t t = 1000 * SEC;

	/* A burst of 10 from one /64, then refused; another /64 is not affected. */
	for (int i = 0; i < 10; i++) {
		if (i % 2) {
			ck_assert_int_eq(ADMIT(rl, a, t, &s), RATE_OK);
		} else {
			ck_assert_int_eq(ADMIT(rl, same64, t, &s), RATE_OK);
		}
		ratelimit_closed(rl, s, true);
	}
	ck_assert_int_eq(ADMIT(rl, a, t, &s), RATE_TOO_FAST);
	ck_assert(ratelimit_log_due(rl, s, RATE_TOO_FAST, t));
	ck_assert(!ratelimit_log_due(rl, s, RATE_TOO_FAST, t + SEC));
	ck_assert_int_eq(ADMIT(rl, other, t, &s), RATE_OK);
	ratelimit_closed(rl, s, true);
	/* 20 per second: one more token after 50 ms. */
	ck_assert_int_eq(ADMIT(rl, a, t + 49000, &s), RATE_TOO_FAST);
	ck_assert_int_eq(ADMIT(rl, a, t + 50000, &s), RATE_OK);
	ratelimit_closed(rl, s, true);
	ck_assert_int_eq(ADMIT(rl, a, t + 50000, &s), RATE_TOO_FAST);
	/* Full again after half a second; logging again after the interval. */
	for (int i = 0; i < 10; i++) {
		ck_assert_int_eq(ADMIT(rl, a, t + 600000, &s), RATE_OK);
		ratelimit_closed(rl, s, true);
	}
	ck_assert_int_eq(ADMIT(rl, a, t + 600000, &s), RATE_TOO_FAST);
	ck_assert(ratelimit_log_due(rl, s, RATE_TOO_FAST, t + RATE_LOG_INTERVAL_USEC));
	ratelimit_free(rl);

	/* rate 0: no bucket. */
	rl = ratelimit_new(&(RateLimitConfig){.rate = 0, .burst = 1});
	for (int i = 0; i < 1000; i++) {
		ck_assert_int_eq(ADMIT(rl, a, t, &s), RATE_OK);
		ratelimit_closed(rl, s, true);
	}
	ratelimit_free(rl);
}
END_TEST

START_TEST(caps)
{
	RateLimiter *rl =
	        ratelimit_new(&(RateLimitConfig){.rate = 0, .per_source = 16, .total = 20});
	struct sockaddr_in a = v4("127.0.0.1");
	struct sockaddr_in6 mapped = v6("::ffff:127.0.0.1"), b = v6("::1");
	RateSource *held[16], *s, *sb;

	/* IPv4 and IPv4-mapped IPv6 are one source. */
	for (int i = 0; i < 16; i++) {
		if (i % 2) {
			ck_assert_int_eq(ADMIT(rl, a, 1, &held[i]), RATE_OK);
		} else {
			ck_assert_int_eq(ADMIT(rl, mapped, 1, &held[i]), RATE_OK);
		}
	}
	ck_assert_ptr_eq(held[0], held[1]);
	ck_assert_uint_eq(ratelimit_source_unauthenticated(held[0]), 16);
	ck_assert_int_eq(ADMIT(rl, a, 1, &s), RATE_SOURCE_FULL);
	/* Another source still gets in, up to the total. */
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(ADMIT(rl, b, 1, &sb), RATE_OK);
	}
	ck_assert_int_eq(ADMIT(rl, b, 1, &s), RATE_ALL_FULL);
	ck_assert(ratelimit_log_due(rl, s, RATE_ALL_FULL, 1));
	ck_assert(!ratelimit_log_due(rl, sb, RATE_ALL_FULL, 2));
	/* An authenticated connection no longer counts; its close does not count twice. */
	ratelimit_authenticated(rl, held[0]);
	ck_assert_uint_eq(ratelimit_unauthenticated(rl), 19);
	ck_assert_int_eq(ADMIT(rl, a, 1, &s), RATE_OK);
	ratelimit_closed(rl, held[0], false);
	ck_assert_uint_eq(ratelimit_unauthenticated(rl), 20);
	ratelimit_closed(rl, s, true);
	for (int i = 1; i < 16; i++) {
		ratelimit_closed(rl, held[i], true);
	}
	for (int i = 0; i < 4; i++) {
		ratelimit_closed(rl, sb, true);
	}
	ck_assert_uint_eq(ratelimit_unauthenticated(rl), 0);
	ratelimit_free(rl);
}
END_TEST

START_TEST(forgets_idle_sources)
{
	RateLimiter *rl = ratelimit_new(&(RateLimitConfig){.rate = 20, .burst = 10});
	RateSource *s, *kept;
	struct sockaddr_in a = v4("10.0.0.1");

	ck_assert_int_eq(ADMIT(rl, a, 0, &kept), RATE_OK); /* stays open */
	for (unsigned i = 0; i < 5000; i++) {
		struct sockaddr_in6 x = {.sin6_family = AF_INET6};

		x.sin6_addr.s6_addr[0] = 0x20;
		memcpy(x.sin6_addr.s6_addr + 4, &i, sizeof(i));
		ck_assert_int_eq(ADMIT(rl, x, (uint64_t)i * SEC, &s), RATE_OK);
		ratelimit_closed(rl, s, true);
	}
	/* Sources with no connection and a full bucket are forgotten, not the open one. */
	ck_assert_uint_lt(ratelimit_sources(rl), 600);
	ck_assert_uint_eq(ratelimit_source_unauthenticated(kept), 1);
	ck_assert_int_eq(ADMIT(rl, a, 5000 * SEC, &s), RATE_OK);
	ck_assert_ptr_eq(s, kept);
	ck_assert_uint_eq(ratelimit_source_unauthenticated(kept), 2);
	ratelimit_free(rl);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ratelimit");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	if (sodium_init() < 0) {
		return 99;
	}
	tcase_add_test(tc, bucket);
	tcase_add_test(tc, caps);
	tcase_add_test(tc, forgets_idle_sources);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
