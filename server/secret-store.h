/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Client secrets packed into a few sodium_malloc() chunks instead of one mapping per client. */
#pragma once

#include <stddef.h>

#include "macro.h"

/*
 * Why: each sodium_malloc() costs guard pages and about 8 KiB resident, so 10,000 clients with
 * one SecBuf each would use 80 MiB.  The store appends secrets to 256 KiB SecBuf chunks; a
 * chunk is freed (wiped) when its last secret is dropped.
 */

/* Longest secret accepted (a client's encrypted password is usually under 2 KiB). */
#define SECRET_MAX ((size_t)1024 * 1024)

typedef struct SecretChunk SecretChunk;
typedef struct SecretStore SecretStore;

/* A reference to one secret in a store.  All zero is "no secret" (length 0). */
typedef struct Secret {
	SecretChunk *chunk;
	size_t off;
	size_t len;
} Secret;

SecretStore *secret_store_new(void);
/* Wipe and free every chunk.  All Secret references become invalid.  Accepts NULL. */
SecretStore *secret_store_free(SecretStore *store);
DEFINE_TRIVIAL_CLEANUP_FUNC(SecretStore *, secret_store_free)

/*
 * Copy len bytes into the store.  Returns 0 and *ret, -EFBIG above SECRET_MAX, -ENOMEM.
 * *ret is untouched on failure.
 */
int secret_store_put(SecretStore *store, const void *data, size_t len, Secret *ret);

/* Wipe a secret's bytes and release its space; *s is reset to all zero.  Accepts a zero s. */
void secret_store_drop(SecretStore *store, Secret *s);

/* The bytes of a secret (valid until it is dropped); NULL for a zero-length secret. */
const unsigned char *secret_data(const Secret *s);

/* Number of chunks allocated (for tests and the memory benchmark). */
size_t secret_store_chunks(const SecretStore *store);
