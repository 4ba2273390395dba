/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Shared by the protocol 2 session fuzz targets: a deterministic start and DataMessage pushing. */
#pragma once

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keys.h"
#include "testrng.h"

typedef crypto_secretstream_xchacha20poly1305_state FuzzStream;

/* The deterministic RNG (§A.12.1) before sodium_init(), so an input always replays alike. */
static inline void fuzz_p2_init(void)
{
	p2_test_rng_install();
	if (sodium_init() < 0) {
		abort();
	}
}

static inline P2Identity *fuzz_p2_identity(uint8_t first)
{
	uint8_t seed[32];
	P2Identity *id = NULL;

	for (int i = 0; i < 32; i++) {
		seed[i] = (uint8_t)(first + i);
	}
	if (p2_identity_from_seed(seed, &id) < 0) {
		abort();
	}
	return id;
}

/* Push m as one DataMessage with tag at out; returns its length. */
static inline size_t fuzz_p2_dm(FuzzStream *st, const uint8_t *m, size_t mlen, uint8_t tag,
                                uint8_t *out)
{
	uint64_t n = mlen + 17;

	memcpy(out, "datamsg0", 8);
	for (int i = 0; i < 8; i++) {
		out[8 + i] = (uint8_t)(n >> (8 * i));
	}
	crypto_secretstream_xchacha20poly1305_push(st, out + 16, NULL, m, mlen, NULL, 0, tag);
	return 16 + mlen + 17;
}

/*
 * The messages part of an input: a list of [tag u8][flags u8][len u16 LE][len bytes].  Returns
 * the next message or false at the end.
 */
typedef struct FuzzMsg {
	uint8_t tag, flags;
	const uint8_t *data;
	size_t len;
} FuzzMsg;

static inline bool fuzz_p2_next(const uint8_t **data, size_t *size, FuzzMsg *ret)
{
	size_t len;

	if (*size < 4) {
		return false;
	}
	len = (size_t)((*data)[2] | ((*data)[3] << 8));
	ret->tag = (*data)[0];
	ret->flags = (*data)[1];
	*data += 4;
	*size -= 4;
	len = len < *size ? len : *size;
	ret->data = *data;
	ret->len = len;
	*data += len;
	*size -= len;
	return true;
}

/* The tags a fuzzer may ask for: 0, PUSH, REKEY, FINAL. */
static inline uint8_t fuzz_p2_tag(uint8_t b)
{
	static const uint8_t tags[4] = {0, 1, 2, 3};

	return tags[b & 3];
}
