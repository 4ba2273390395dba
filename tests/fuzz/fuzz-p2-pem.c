/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: the protocol 2 key file parser (§A.9.4) for each kind, and base64. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keys.h"
#include "p2.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (sodium_init() < 0) {
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t key[32], back[32], out[1024];
	char pem[P2_PEM_MAX];
	const char *why = NULL;

	for (int kind = P2_KEY_ED25519_PRIVATE; kind <= P2_KEY_X25519_PUBLIC; kind++) {
		if (p2_key_parse((P2KeyKind)kind, (const char *)data, size, key, &why) == 0) {
			/* What parses formats and parses back to the same key. */
			ssize_t n = p2_key_format((P2KeyKind)kind, key, pem, sizeof(pem));

			if (n < 0 ||
			    p2_key_parse((P2KeyKind)kind, pem, (size_t)n, back, &why) != 0 ||
			    memcmp(key, back, 32) != 0) {
				abort();
			}
		} else if (why == NULL) {
			abort();
		}
	}
	(void)p2_base64_decode((const char *)data, size, out, sizeof(out));
	return 0;
}
