/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The deterministic test RNG of §A.12.1: per-thread parties, BLAKE2b-keyed deterministic draws. */
#include "testrng.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

static __thread bool party_started;
static __thread uint8_t party_seed[32];
static __thread uint64_t party_counter;

static void test_buf(void *const p, const size_t n)
{
	uint8_t in[40], key[randombytes_SEEDBYTES];

	if (!party_started) {
		randombytes_sysrandom_implementation.buf(p, n);
		return;
	}
	memcpy(in, party_seed, 32);
	for (int i = 0; i < 8; i++) {
		in[32 + i] = (uint8_t)(party_counter >> (8 * i));
	}
	party_counter++;
	crypto_generichash(key, sizeof(key), in, sizeof(in), NULL, 0);
	randombytes_buf_deterministic(p, n, key);
	sodium_memzero(key, sizeof(key));
}

static uint32_t test_random(void)
{
	uint8_t b[4];

	test_buf(b, sizeof(b));
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static const char *test_name(void)
{
	return "mandos-p2-test";
}

static randombytes_implementation test_rng = {
        .implementation_name = test_name,
        .random = test_random,
        .stir = NULL,
        .uniform = NULL,
        .buf = test_buf,
        .close = NULL,
};

void p2_test_rng_install(void)
{
	randombytes_set_implementation(&test_rng);
}

void p2_test_rng_start(const char *label)
{
	crypto_generichash(party_seed, sizeof(party_seed), (const uint8_t *)label, strlen(label),
	                   NULL, 0);
	party_counter = 0;
	party_started = true;
}
