/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Enrol a client for escrow (§B.1) or a k-of-n threshold (§B.4.1) with common/p2/escrow.c, for
 * the tests and bench/run.sh: the password on stdin, the binding file written into a directory,
 * the servers' scalars on stdout (one base64 escrow_key value per line, share order).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "escrow.h"
#include "keys.h"
#include "macro.h"
#include "p2.h"
#include "parse-util.h"
#include "secmem.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: p2-escrow-enrol --tls-pubkey=PEM --dir=DIR [--server=KEYID]...\n"
	           "                       [--threshold=K --share-server=KEYID[@HOST:PORT]...]\n"
	           "                       < PASSWORD\n");
}

/* "KEYID[@ADDRESS]" into the binding key's servers (one id) and address. */
static int add_server(P2BindingKey *key, const char *arg, bool with_address)
{
	const char *at = with_address ? strchr(arg, '@') : NULL;
	size_t len = at ? (size_t)(at - arg) : strlen(arg);

	if (key->n_servers == P2_BINDING_SERVERS_MAX ||
	    p2_key_id_parse(arg, len, key->servers[key->n_servers]) < 0) {
		return -EINVAL;
	}
	key->n_servers++;
	if (at) {
		key->address = strdup(at + 1);
		if (!key->address) {
			return -ENOMEM;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	        {"tls-pubkey", required_argument, NULL, 'p'},
	        {"dir", required_argument, NULL, 'd'},
	        {"server", required_argument, NULL, 's'},
	        {"threshold", required_argument, NULL, 't'},
	        {"share-server", required_argument, NULL, 'S'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	_cleanup_secbuf_ SecBuf *pw = NULL, *scalars = NULL;
	_cleanup_free_ char *text = NULL, *path = NULL;
	const char *pub = NULL, *dir = NULL, *servers[P2_BINDING_SERVERS_MAX];
	const char *shares[P2_SHARES_MAX], *why = "?";
	unsigned n_servers = 0, n_shares = 0, k = 0;
	uint8_t pk[32], key_id_raw[P2_KEY_ID_LEN];
	char kid_hex[2 * P2_KID_LEN + 1];
	P2Binding b = {0};
	FILE *f;
	int o, r, fd;

	while ((o = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (o) {
		case 'p':
			pub = optarg;
			break;
		case 'd':
			dir = optarg;
			break;
		case 's':
			if (n_servers == P2_BINDING_SERVERS_MAX) {
				fprintf(stderr, "at most %d --server\n", P2_BINDING_SERVERS_MAX);
				return 64;
			}
			servers[n_servers++] = optarg;
			break;
		case 't':
			if (parse_uint(optarg, P2_SHARES_MAX, &k) < 0 || k < 2) {
				fprintf(stderr, "bad --threshold (2 ... %d)\n", P2_SHARES_MAX);
				return 64;
			}
			break;
		case 'S':
			if (n_shares == P2_SHARES_MAX) {
				fprintf(stderr, "at most %d --share-server\n", P2_SHARES_MAX);
				return 64;
			}
			shares[n_shares++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 64;
		}
	}
	if (!pub || !dir || optind != argc || (k > 0) != (n_shares > 0) || k > n_shares ||
	    (k > 0 && n_servers > 0)) {
		usage(stderr);
		return 64;
	}
	if (secmem_init() < 0 || p2_check_sizes() < 0) {
		fprintf(stderr, "libsodium size assumptions do not hold\n");
		return 70;
	}
	r = p2_key_load(P2_KEY_ED25519_PUBLIC, pub, pk, &why);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", pub, r == -EBADMSG ? why : strerror(-r));
		return 66;
	}
	p2_key_id_raw(pk, key_id_raw);
	pw = secbuf_new(256, P2_SECRET_MAX);
	scalars = secbuf_new(P2_SHARES_MAX * P2_SCALAR_LEN, P2_SHARES_MAX * P2_SCALAR_LEN);
	if (!pw || !scalars) {
		return 71;
	}
	r = secbuf_read_all(pw, STDIN_FILENO);
	if (r < 0 || pw->len == 0) {
		fprintf(stderr, "stdin: %s\n", r < 0 ? strerror(-r) : "empty password");
		return 65;
	}
	if (k > 0) {
		r = p2_threshold_enrol(key_id_raw, k, n_shares, pw->data, pw->len, &b,
		                       (uint8_t(*)[P2_SCALAR_LEN])scalars->data);
	} else {
		r = p2_escrow_enrol(key_id_raw, pw->data, pw->len, &b, scalars->data);
	}
	if (r < 0) {
		fprintf(stderr, "enrolment: %s\n", strerror(-r));
		return 70;
	}
	for (unsigned i = 0; i < n_servers; i++) {
		if (add_server(&b.keys[0], servers[i], false) < 0) {
			fprintf(stderr, "bad --server %s\n", servers[i]);
			return 64;
		}
	}
	for (unsigned i = 0; i < n_shares; i++) {
		if (add_server(&b.keys[i], shares[i], true) < 0) {
			fprintf(stderr, "bad --share-server %s\n", shares[i]);
			return 64;
		}
	}
	text = p2_binding_format(&b);
	sodium_bin2hex(kid_hex, sizeof(kid_hex), b.keys[0].kid, P2_KID_LEN);
	if (!text || (k > 0 ? asprintf(&path, "%s/escrow-%uof%u-%s.conf", dir, k, n_shares, kid_hex)
	                    : asprintf(&path, "%s/escrow-%s.conf", dir, kid_hex)) < 0) {
		return 71;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 73;
	}
	for (unsigned i = 0; i < MAX(n_shares, 1U); i++) {
		char b64[sodium_base64_ENCODED_LEN(P2_SCALAR_LEN, sodium_base64_VARIANT_ORIGINAL)];

		p2_base64_encode(scalars->data + i * P2_SCALAR_LEN, P2_SCALAR_LEN, b64,
		                 sizeof(b64));
		printf("%s\n", b64);
		sodium_memzero(b64, sizeof(b64));
	}
	p2_binding_done(&b);
	return fflush(stdout) == 0 ? 0 : 74;
}
