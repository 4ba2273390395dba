/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Seal the password on stdin to a seal-pubkey.pem and print the base64 sealed_secret line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "keys.h"
#include "p2.h"
#include "sealed.h"
#include "secmem.h"

int main(int argc, char **argv)
{
	_cleanup_secbuf_ SecBuf *pw = NULL;
	_cleanup_free_ uint8_t *box = NULL;
	_cleanup_free_ char *b64 = NULL;
	const char *why = "?";
	uint8_t pk[32];
	size_t b64_size;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SEAL-PUBKEY.PEM < PASSWORD\n", argv[0]);
		return 64;
	}
	if (secmem_init() < 0 || p2_check_sizes() < 0) {
		fprintf(stderr, "libsodium size assumptions do not hold\n");
		return 70;
	}
	r = p2_key_load(P2_KEY_X25519_PUBLIC, argv[1], pk, &why);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], r == -EBADMSG ? why : strerror(-r));
		return 66;
	}
	pw = secbuf_new(256, P2_SECRET_MAX);
	if (pw == NULL) {
		return 71;
	}
	r = secbuf_read_all(pw, STDIN_FILENO);
	if (r < 0 || pw->len == 0) {
		fprintf(stderr, "stdin: %s\n", r < 0 ? strerror(-r) : "empty password");
		return 65;
	}
	box = malloc(pw->len + crypto_box_SEALBYTES);
	b64_size = sodium_base64_ENCODED_LEN(pw->len + crypto_box_SEALBYTES,
	                                     sodium_base64_VARIANT_ORIGINAL);
	b64 = malloc(b64_size);
	if (box == NULL || b64 == NULL) {
		return 71;
	}
	r = p2_seal(pw->data, pw->len, pk, box, pw->len + crypto_box_SEALBYTES);
	if (r < 0) {
		fprintf(stderr, "seal: %s\n", strerror(-r));
		return 70;
	}
	p2_base64_encode(box, pw->len + crypto_box_SEALBYTES, b64, b64_size);
	printf("%s\n", b64);
	return fflush(stdout) == 0 ? 0 : 74;
}
