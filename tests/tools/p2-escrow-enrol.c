/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Escrow and threshold bindings for the client's and the server's tests (common/p2/escrow.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "escrow.h"
#include "keys.h"
#include "p2.h"
#include "parse-util.h"
#include "secmem.h"

/*
 * Usage: p2-escrow-enrol [-x] TLS-PUBKEY.PEM FILE K N [SERVER-KEYID[@ADDR:PORT]]... < PASSWORD
 *
 * K = 0: a single binding (N = 1), the key ids (0 to 4) its `server` list.  Else a K-of-N
 * threshold binding, one key id per share (its `server`), with an optional address hint.
 * Writes the binding to FILE (mode 0600) and the escrow_key scalars on stdout in base64, one
 * per line in share order.  -x: flip a bit of the data box (a corrupt threshold binding).
 */
int main(int argc, char **argv)
{
	_cleanup_secbuf_ SecBuf *pw = NULL;
	uint8_t pk[32], raw[P2_KEY_ID_LEN], (*S)[P2_SCALAR_LEN] = NULL;
	_cleanup_free_ char *text = NULL;
	P2Binding b = {};
	const char *why = "?";
	unsigned k, n, n_ids;
	bool corrupt = false;
	FILE *f;
	int r;

	if (argc > 1 && strcmp(argv[1], "-x") == 0) {
		corrupt = true;
		argv++;
		argc--;
	}
	if (argc < 5 || parse_uint(argv[3], 8, &k) < 0 || parse_uint(argv[4], 8, &n) < 0 ||
	    n == 0) {
		fprintf(stderr, "usage: p2-escrow-enrol [-x] TLS-PUBKEY.PEM FILE K N "
		                "[KEYID[@ADDR:PORT]]... < PASSWORD\n");
		return 64;
	}
	n_ids = (unsigned)argc - 5;
	if ((k == 0 && (n != 1 || n_ids > P2_BINDING_SERVERS_MAX)) || (k > 0 && n_ids != n)) {
		fprintf(stderr, "p2-escrow-enrol: wrong number of key ids\n");
		return 64;
	}
	if (secmem_init() < 0 || p2_check_sizes() < 0) {
		return 70;
	}
	r = p2_key_load(P2_KEY_ED25519_PUBLIC, argv[1], pk, &why);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", argv[1], r == -EBADMSG ? why : strerror(-r));
		return 66;
	}
	p2_key_id_raw(pk, raw);
	pw = secbuf_new(256, P2_SECRET_MAX);
	S = sodium_malloc(P2_SHARES_MAX * P2_SCALAR_LEN);
	if (!pw || !S || secbuf_read_all(pw, STDIN_FILENO) < 0 || pw->len == 0) {
		fprintf(stderr, "p2-escrow-enrol: no password on stdin\n");
		return 65;
	}
	if (k == 0) {
		r = p2_escrow_enrol(raw, pw->data, pw->len, &b, S[0]);
	} else {
		r = p2_threshold_enrol(raw, k, n, pw->data, pw->len, &b, S);
	}
	if (r < 0) {
		fprintf(stderr, "p2-escrow-enrol: %s\n", strerror(-r));
		return 65;
	}
	for (unsigned i = 0; i < n_ids; i++) {
		P2BindingKey *key = &b.keys[k == 0 ? 0 : i];
		char *at = strchr(argv[5 + i], '@');
		size_t len = at ? (size_t)(at - argv[5 + i]) : strlen(argv[5 + i]);

		if (p2_key_id_parse(argv[5 + i], len, key->servers[key->n_servers]) < 0) {
			fprintf(stderr, "p2-escrow-enrol: bad key id %s\n", argv[5 + i]);
			return 64;
		}
		key->n_servers++;
		if (at) {
			key->address = strdup(at + 1);
		}
	}
	if (corrupt && b.data_box) {
		b.data_box[b.data_box_len - 1] ^= 1;
	}
	text = p2_binding_format(&b);
	if (!text) {
		return 71;
	}
	umask(077);
	f = fopen(argv[2], "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(argv[2]);
		return 73;
	}
	for (unsigned i = 0; i < (k == 0 ? 1 : n); i++) {
		char b64[sodium_base64_ENCODED_LEN(P2_SCALAR_LEN, sodium_base64_VARIANT_ORIGINAL)];

		p2_base64_encode(S[i], P2_SCALAR_LEN, b64, sizeof(b64));
		printf("%s\n", b64);
	}
	sodium_free(S);
	p2_binding_done(&b);
	return 0;
}
