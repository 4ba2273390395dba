/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Escrow keys and bindings for the server's tests (spec/protocol-2.md §B.1, §B.3), made with
 * common/p2 so that the tests need no mandos-keygen:
 *   p2-escrow-tool key                    a random server scalar: "S_BASE64 KID_HEX"
 *   p2-escrow-tool enrol TLS-PRIVKEY FILE the password on stdin bound for that client key:
 *                                         the binding in FILE (mode 0600), S on stdout
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "escrow.h"
#include "keys.h"
#include "p2.h"
#include "secmem.h"

static void print_key(const uint8_t S[P2_SCALAR_LEN], const uint8_t kid[P2_KID_LEN])
{
	char b64[sodium_base64_ENCODED_LEN(P2_SCALAR_LEN, sodium_base64_VARIANT_ORIGINAL)];
	char hex[2 * P2_KID_LEN + 1];

	p2_base64_encode(S, P2_SCALAR_LEN, b64, sizeof(b64));
	sodium_bin2hex(hex, sizeof(hex), kid, P2_KID_LEN);
	printf("%s %s\n", b64, hex);
	sodium_memzero(b64, sizeof(b64));
}

static int key(void)
{
	uint8_t *S = sodium_malloc(P2_SCALAR_LEN), s[P2_POINT_LEN], kid[P2_KID_LEN];

	if (!S) {
		return 1;
	}
	crypto_core_ristretto255_scalar_random(S);
	if (p2_escrow_server_key(S, s, kid) < 0) {
		return 1;
	}
	print_key(S, kid);
	sodium_free(S);
	return 0;
}

static int enrol(const char *keyfile, const char *out)
{
	P2Identity *id = NULL;
	P2Binding b = {0};
	SecBuf *pw = secbuf_new(256, P2_SECRET_MAX + 1);
	uint8_t *S = sodium_malloc(P2_SCALAR_LEN), key_id_raw[P2_KEY_ID_LEN];
	const char *why = NULL;
	char *text;
	FILE *f;
	int fd;

	if (!pw || !S || p2_identity_load(keyfile, &id, &why) < 0) {
		fprintf(stderr, "p2-escrow-tool: %s: %s\n", keyfile, why ? why : "cannot load");
		return 1;
	}
	if (secbuf_read_all(pw, STDIN_FILENO) < 0) {
		return 1;
	}
	p2_key_id_raw(id->pk, key_id_raw);
	if (p2_escrow_enrol(key_id_raw, pw->data, pw->len, &b, S) < 0) {
		fprintf(stderr, "p2-escrow-tool: cannot enrol\n");
		return 1;
	}
	text = p2_binding_format(&b);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!text || !f || fputs(text, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "p2-escrow-tool: cannot write %s\n", out);
		return 1;
	}
	print_key(S, b.keys[0].kid);
	free(text);
	p2_binding_done(&b);
	sodium_free(S);
	secbuf_free(pw);
	p2_identity_free(id);
	return 0;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0) {
		return 99;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && strcmp(argv[1], "key") == 0) {
		return key();
	}
	if (argc == 4 && strcmp(argv[1], "enrol") == 0) {
		return enrol(argv[2], argv[3]);
	}
	fprintf(stderr, "Usage: p2-escrow-tool key | enrol TLS-PRIVKEY BINDING-FILE < PASSWORD\n");
	return 2;
}
