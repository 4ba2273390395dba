/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Protocol 2 key files (§A.9.4): PEM with exact PKCS#8 / SPKI DER, Ed25519 and X25519 only. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum P2KeyKind {
	P2_KEY_ED25519_PRIVATE, /* tls-privkey.pem, server-key.pem: the 32-byte seed */
	P2_KEY_ED25519_PUBLIC,  /* tls-pubkey.pem, server-pubkey.pem */
	P2_KEY_X25519_PRIVATE,  /* seal-privkey.pem */
	P2_KEY_X25519_PUBLIC,   /* seal-pubkey.pem */
} P2KeyKind;

/* Key files are small; anything bigger is refused before parsing. */
#define P2_KEY_FILE_MAX 65536

/* Room for any PEM p2_key_format() writes, with its NUL. */
#define P2_PEM_MAX 160

/*
 * Find the "-----BEGIN <label>-----" line of this kind at the start of a line anywhere in
 * text (certtool writes text before it), decode the base64 up to the END line, and accept only
 * the exact DER prefix and length of §A.9.4.  Writes the 32 key bytes.  Returns 0, or -EBADMSG
 * with *ret_why a static English reason ("no BEGIN PRIVATE KEY line", "not an Ed25519 key",
 * "an encrypted key", ...).  Never logs.  ret_key is wiped on failure.
 */
int p2_key_parse(P2KeyKind kind, const char *text, size_t len, uint8_t ret_key[32],
                 const char **ret_why);

/* PEM of a key (64-column lines, trailing newline, NUL).  Returns the length or -ENOBUFS. */
ssize_t p2_key_format(P2KeyKind kind, const uint8_t key[32], char *ret, size_t size);

/*
 * Read and parse a key file (at most P2_KEY_FILE_MAX; the file's bytes are read into
 * sodium_malloc memory for private kinds and wiped).  Returns 0, -errno from open/read,
 * -EFBIG, or -EBADMSG with *ret_why as p2_key_parse().
 */
int p2_key_load(P2KeyKind kind, const char *path, uint8_t ret_key[32], const char **ret_why);

/*
 * An Ed25519 identity in sodium_malloc memory: the expanded secret key (64 bytes, as
 * crypto_sign_seed_keypair makes it) and the public key.
 */
typedef struct P2Identity {
	uint8_t sk[64];
	uint8_t pk[32];
} P2Identity;

/* Load tls-privkey.pem / server-key.pem into a new sodium_malloc'ed identity. 0 or -errno. */
int p2_identity_load(const char *path, P2Identity **ret, const char **ret_why);

/* From a 32-byte seed (tests, keygen).  Returns 0 or -ENOMEM. */
int p2_identity_from_seed(const uint8_t seed[32], P2Identity **ret);

/* Wipe and free; accepts NULL, returns NULL. */
P2Identity *p2_identity_free(P2Identity *id);

/* An X25519 seal key pair in sodium_malloc memory; pk derived from sk on load (§A.6). */
typedef struct P2SealKey {
	uint8_t sk[32];
	uint8_t pk[32];
} P2SealKey;

int p2_seal_key_load(const char *path, P2SealKey **ret, const char **ret_why);
int p2_seal_key_from_secret(const uint8_t sk[32], P2SealKey **ret);
P2SealKey *p2_seal_key_free(P2SealKey *k);
