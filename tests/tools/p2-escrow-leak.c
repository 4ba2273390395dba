/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The leak check of tests/integration/escrow-leak.sh: given a client's escrow binding, the
 * server scalars and files (server files, captured traffic), show that the files hold none of
 * the secrets (the password, K, kw, d_i, D, kD) in raw, hex or base64 form, and that nothing
 * an attacker with some of the server scalars can make from them without the binding's c opens
 * a box: [S]G, [S]s, every 32-byte window of the files and of their hex and base64 runs taken
 * as K and as x for [S]x, and the x and y of real unlocks (the server's view, gathered by
 * --session).  It checks itself: with c the boxes open, and a planted secret is found.
 * Exit 0: no leak; 1: a leak (printed); 2: the check itself is broken; 64+: usage or input.
 */
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "escrow.h"
#include "keys.h"
#include "macro.h"
#include "msg.h"
#include "p2.h"
#include "parse-util.h"
#include "secmem.h"
#include "transport.h"

#define SCALARS_MAX 16
#define PAIRS_MAX 64

/* A named byte string to look for. */
typedef struct Needle {
	char name[48];
	uint8_t *data;
	size_t len;
	bool scalar; /* a server scalar: expected in the server's configuration */
} Needle;

/* What the check knows; the secrets in sodium memory. */
static struct {
	P2Binding b;
	uint8_t key_id_raw[P2_KEY_ID_LEN];
	uint8_t (*S)[P2_SCALAR_LEN]; /* every server scalar (to derive the secrets) */
	unsigned n_S;
	uint8_t (*A)[P2_SCALAR_LEN]; /* the attacker's scalars */
	unsigned n_A;
	Needle needles[64];
	unsigned n_needles;
	uint8_t xs[PAIRS_MAX][P2_POINT_LEN], ys[PAIRS_MAX][P2_POINT_LEN];
	unsigned n_pairs;
	unsigned long windows, tries;
	uint8_t *plain; /* room for the data box's plaintext */
	bool leak;
} g;

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* A needle in sodium memory (the caller's secret copied). */
static void add_needle(const char *name, const uint8_t *data, size_t len)
{
	Needle *n = &g.needles[g.n_needles];

	if (g.n_needles == ELEMENTSOF(g.needles) || len == 0) {
		return;
	}
	n->data = sodium_malloc(len);
	if (!n->data) {
		exit(71);
	}
	memcpy(n->data, data, len);
	n->len = len;
	snprintf(n->name, sizeof(n->name), "%s", name);
	g.n_needles++;
}

static bool contains(const uint8_t *hay, size_t hlen, const uint8_t *needle, size_t nlen)
{
	return nlen > 0 && hlen >= nlen && memmem(hay, hlen, needle, nlen) != NULL;
}

/*
 * Whether hay holds needle raw, as lower or upper case hex, or as base64 at any alignment (the
 * characters that depend on the needle alone, when it sits inside a longer base64 text).
 */
static const char *find_forms(const uint8_t *hay, size_t hlen, const Needle *n)
{
	size_t hex_size = 2 * n->len + 1;
	char *hex = sodium_malloc(hex_size), *b64 = sodium_malloc(4 * (n->len + 4) / 3 + 8);
	uint8_t *pad = sodium_malloc(n->len + 2);
	const char *found = NULL;

	if (!hex || !b64 || !pad) {
		exit(71);
	}
	if (contains(hay, hlen, n->data, n->len)) {
		found = "raw";
	}
	sodium_bin2hex(hex, hex_size, n->data, n->len);
	if (!found && contains(hay, hlen, (uint8_t *)hex, 2 * n->len)) {
		found = "hex";
	}
	for (size_t i = 0; hex[i]; i++) {
		hex[i] = (char)(hex[i] >= 'a' ? hex[i] - 'a' + 'A' : hex[i]);
	}
	if (!found && contains(hay, hlen, (uint8_t *)hex, 2 * n->len)) {
		found = "HEX";
	}
	for (size_t a = 0; !found && a < 3; a++) {
		size_t total = a + n->len, skip = (a * 4 + 2) / 3, chars = total / 3 * 4;

		/* a leading bytes of zeros, then the needle; whole groups of 3 only. */
		memset(pad, 0, a);
		memcpy(pad + a, n->data, n->len);
		sodium_bin2base64(b64, 4 * (n->len + 4) / 3 + 8, pad, total / 3 * 3,
		                  sodium_base64_VARIANT_ORIGINAL);
		if (chars > skip + 8 && contains(hay, hlen, (uint8_t *)b64 + skip, chars - skip)) {
			found = "base64";
		}
		/* short needles (a password) also as a whole base64 text, with padding */
		if (!found && a == 0) {
			sodium_bin2base64(b64, 4 * (n->len + 4) / 3 + 8, n->data, n->len,
			                  sodium_base64_VARIANT_ORIGINAL);
			if (contains(hay, hlen, (uint8_t *)b64, strlen(b64))) {
				found = "base64";
			}
		}
	}
	sodium_free(hex);
	sodium_free(b64);
	sodium_free(pad);
	return found;
}

/* ---- opening the boxes ---- */

/* Whether key j's box opens with candidate K. */
static bool opens(unsigned j, const uint8_t K[P2_POINT_LEN])
{
	g.tries++;
	if (g.b.threshold) {
		uint8_t d[P2_SCALAR_LEN];
		bool ok = p2_share_open(&g.b, g.key_id_raw, j + 1, K, d) == 0;

		sodium_memzero(d, sizeof(d));
		return ok;
	}
	_cleanup_secbuf_ SecBuf *pw = NULL;

	return p2_escrow_open(&g.b, g.key_id_raw, K, &pw) == 0;
}

/* kD candidate on the data box (independently of escrow.c: §B.4.1's AD and AEAD). */
static bool data_box_opens(const uint8_t kD[32])
{
	uint8_t ad[17 + P2_KEY_ID_LEN + 2];

	if (!g.b.threshold || g.b.data_box_len < P2_ESCROW_ABYTES + 1) {
		return false;
	}
	memcpy(ad, "mandos-p2 sss box", 17);
	memcpy(ad + 17, g.key_id_raw, P2_KEY_ID_LEN);
	ad[17 + P2_KEY_ID_LEN] = g.b.threshold;
	ad[18 + P2_KEY_ID_LEN] = g.b.n_keys;
	if (!g.plain && !(g.plain = sodium_malloc(g.b.data_box_len))) {
		exit(71);
	}
	g.tries++;
	return crypto_aead_xchacha20poly1305_ietf_decrypt(g.plain, NULL, NULL, g.b.data_box,
	                                                  g.b.data_box_len, ad, sizeof(ad),
	                                                  g.b.data_nonce, kD) == 0;
}

static void report_leak(const char *what, const char *where, size_t off)
{
	fprintf(stderr, "LEAK: %s (%s, offset %zu)\n", what, where, off);
	g.leak = true;
}

/*
 * Candidate w (32 bytes from somewhere): as K itself, as x with every attacker scalar ([S]w,
 * and [S]w − s), as D and kD for the data box.
 */
static void try_candidate(const uint8_t w[32], const char *where, size_t off)
{
	uint8_t K[P2_POINT_LEN], kD[32];
	char what[160];

	for (unsigned j = 0; j < g.b.n_keys; j++) {
		if (opens(j, w)) {
			snprintf(what, sizeof(what), "box %u opens with these bytes as K", j + 1);
			report_leak(what, where, off);
		}
	}
	if (p2_point_acceptable(w)) {
		for (unsigned a = 0; a < g.n_A; a++) {
			if (crypto_scalarmult_ristretto255(K, g.A[a], w) != 0) {
				continue;
			}
			for (unsigned j = 0; j < g.b.n_keys; j++) {
				uint8_t K2[P2_POINT_LEN];

				if (opens(j, K)) {
					snprintf(
					        what, sizeof(what),
					        "box %u opens with [S] times these bytes (attacker "
					        "scalar %u)",
					        j + 1, a + 1);
					report_leak(what, where, off);
				}
				if (crypto_core_ristretto255_sub(K2, w, g.b.keys[j].s) == 0 &&
				    opens(j, K2)) {
					snprintf(what, sizeof(what),
					         "box %u opens with these bytes minus s", j + 1);
					report_leak(what, where, off);
				}
				sodium_memzero(K2, sizeof(K2));
			}
		}
	}
	if (g.b.threshold) {
		static const char label[] = "mandos-p2 sss data";
		crypto_generichash_state st;

		if (data_box_opens(w)) {
			report_leak("the data box opens with these bytes as kD", where, off);
		}
		crypto_generichash_init(&st, NULL, 0, sizeof(kD));
		crypto_generichash_update(&st, (const uint8_t *)label, sizeof(label) - 1);
		crypto_generichash_update(&st, w, 32);
		crypto_generichash_final(&st, kD, sizeof(kD));
		if (data_box_opens(kD)) {
			report_leak("the data box opens with these bytes as D", where, off);
		}
	}
	sodium_memzero(K, sizeof(K));
	sodium_memzero(kD, sizeof(kD));
}

/* Every 32-byte window of buf. */
static void try_windows(const uint8_t *buf, size_t len, const char *where)
{
	for (size_t off = 0; off + 32 <= len; off++) {
		g.windows++;
		try_candidate(buf + off, where, off);
	}
}

static bool is_b64(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '=';
}

static bool is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The windows of what every run of ≥ 43 base64 or ≥ 64 hex characters decodes to. */
static void try_encoded(const uint8_t *buf, size_t len, const char *where)
{
	uint8_t *bin = malloc(len + 1);

	if (!bin) {
		exit(71);
	}
	for (int pass = 0; pass < 2; pass++) {
		bool (*cls)(int) = pass ? is_hex : is_b64;
		size_t min = pass ? 64 : 43;

		for (size_t i = 0; i < len;) {
			size_t j = i, n = 0;

			while (j < len && cls(buf[j])) {
				j++;
			}
			if (j - i >= min) {
				/* Each of the 4 (base64) or 2 (hex) alignments. */
				for (size_t a = 0; a < (pass ? 2u : 4u); a++) {
					const char *end = NULL;

					if (pass) {
						sodium_hex2bin(bin, len, (const char *)buf + i + a,
						               (j - i - a) & ~(size_t)1, NULL, &n,
						               &end);
					} else {
						size_t l = (j - i - a) & ~(size_t)3;

						/* Padding only ends a text: one group fewer if it
						 * does not decode. */
						n = 0;
						for (int tries = 0; tries < 2 && l > 0 && n == 0;
						     tries++, l -= 4) {
							if (sodium_base642bin(
							            bin, len,
							            (const char *)buf + i + a, l,
							            NULL, &n, &end,
							            sodium_base64_VARIANT_ORIGINAL) !=
							    0) {
								n = 0;
							}
						}
					}
					try_windows(bin, n, where);
				}
			}
			i = j > i ? j : i + 1;
		}
	}
	sodium_memzero(bin, len + 1);
	free(bin);
}

static int read_file(const char *path, uint8_t **ret, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		return -errno;
	}
	do {
		if (cap - len < 65536) {
			uint8_t *nb = realloc(buf, cap + 65536);

			if (!nb) {
				exit(71);
			}
			buf = nb;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	*ret = buf;
	*ret_len = len;
	return 0;
}

/*
 * One file: the needles in every form (but the server scalars in the server's configuration),
 * then every candidate in it.
 */
static void check_buffer(const uint8_t *buf, size_t len, const char *where, bool config)
{
	for (unsigned i = 0; i < g.n_needles; i++) {
		const char *form =
		        config && g.needles[i].scalar ? NULL : find_forms(buf, len, &g.needles[i]);

		if (form) {
			char what[96];

			snprintf(what, sizeof(what), "%s found (%s)", g.needles[i].name, form);
			report_leak(what, where, 0);
		}
	}
	try_windows(buf, len, where);
	try_encoded(buf, len, where);
}

/* ---- deriving the secrets (what must never appear) ---- */

static int derive(void)
{
	uint8_t(*d)[P2_SCALAR_LEN] = sodium_malloc(P2_SHARES_MAX * P2_SCALAR_LEN);
	uint8_t *K = sodium_malloc(P2_POINT_LEN), *kw = sodium_malloc(32);
	uint8_t xs[P2_SHARES_MAX];
	unsigned n_open = 0;

	if (!d || !K || !kw) {
		exit(71);
	}
	for (unsigned i = 0; i < g.n_S; i++) {
		char name[48];
		uint8_t s[P2_POINT_LEN], kid[P2_KID_LEN];
		int j = -1;

		if (p2_escrow_server_key(g.S[i], s, kid) < 0) {
			fprintf(stderr, "--scalar #%u is not acceptable\n", i + 1);
			return 65;
		}
		for (unsigned k = 0; k < g.b.n_keys; k++) {
			if (memcmp(kid, g.b.keys[k].kid, P2_KID_LEN) == 0) {
				j = (int)k;
			}
		}
		if (j < 0) {
			fprintf(stderr, "--scalar #%u is no key of the binding\n", i + 1);
			return 65;
		}
		snprintf(name, sizeof(name), "the server scalar S%d", j + 1);
		add_needle(name, g.S[i], P2_SCALAR_LEN);
		g.needles[g.n_needles - 1].scalar = true;
		/* K = [S]c: with the binding's c the box must open, or this check is broken. */
		if (crypto_scalarmult_ristretto255(K, g.S[i], g.b.keys[j].c) != 0 || !opens(j, K)) {
			fprintf(stderr, "self-check: box %d does not open with [S]c\n", j + 1);
			return 2;
		}
		snprintf(name, sizeof(name), "K%d", j + 1);
		add_needle(name, K, P2_POINT_LEN);
		{
			static const char single[] = "mandos-p2 escrow wrap",
			                  share[] = "mandos-p2 share wrap";
			const char *label = g.b.threshold ? share : single;
			crypto_generichash_state st;

			crypto_generichash_init(&st, NULL, 0, 32);
			crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
			crypto_generichash_update(&st, g.key_id_raw, P2_KEY_ID_LEN);
			crypto_generichash_update(&st, g.b.keys[j].kid, P2_KID_LEN);
			crypto_generichash_update(&st, g.b.keys[j].s, P2_POINT_LEN);
			crypto_generichash_update(&st, g.b.keys[j].c, P2_POINT_LEN);
			crypto_generichash_update(&st, K, P2_POINT_LEN);
			crypto_generichash_final(&st, kw, 32);
			snprintf(name, sizeof(name), "kw%d", j + 1);
			add_needle(name, kw, 32);
		}
		if (g.b.threshold) {
			if (p2_share_open(&g.b, g.key_id_raw, (unsigned)j + 1, K, d[n_open]) != 0) {
				return 2;
			}
			snprintf(name, sizeof(name), "d%d", j + 1);
			add_needle(name, d[n_open], P2_SCALAR_LEN);
			xs[n_open++] = (uint8_t)(j + 1);
		}
	}
	if (g.b.threshold && n_open >= g.b.threshold) {
		/* D = Σ λ_i d_i over the first k (sorted by x), then kD. */
		uint8_t *D = sodium_malloc(P2_SCALAR_LEN), *t = sodium_malloc(P2_SCALAR_LEN);
		uint8_t *kD = sodium_malloc(32);
		static const char label[] = "mandos-p2 sss data";
		crypto_generichash_state st;

		if (!D || !t || !kD) {
			exit(71);
		}
		for (unsigned i = 0; i < n_open; i++) { /* sort by x */
			for (unsigned j = i + 1; j < n_open; j++) {
				if (xs[j] < xs[i]) {
					uint8_t tx = xs[i];

					xs[i] = xs[j];
					xs[j] = tx;
					memcpy(t, d[i], P2_SCALAR_LEN);
					memcpy(d[i], d[j], P2_SCALAR_LEN);
					memcpy(d[j], t, P2_SCALAR_LEN);
				}
			}
		}
		memset(D, 0, P2_SCALAR_LEN);
		for (unsigned i = 0; i < g.b.threshold; i++) {
			uint8_t lambda[P2_SCALAR_LEN];

			if (p2_sss_lagrange(xs, g.b.threshold, i, lambda) < 0) {
				return 2;
			}
			crypto_core_ristretto255_scalar_mul(t, lambda, d[i]);
			crypto_core_ristretto255_scalar_add(D, D, t);
		}
		crypto_generichash_init(&st, NULL, 0, 32);
		crypto_generichash_update(&st, (const uint8_t *)label, sizeof(label) - 1);
		crypto_generichash_update(&st, D, P2_SCALAR_LEN);
		crypto_generichash_final(&st, kD, 32);
		if (!data_box_opens(kD)) {
			fprintf(stderr, "self-check: the data box does not open with D\n");
			return 2;
		}
		add_needle("D", D, P2_SCALAR_LEN);
		add_needle("kD", kD, 32);
		sodium_free(D);
		sodium_free(t);
		sodium_free(kD);
	}
	sodium_free(d);
	sodium_free(K);
	sodium_free(kw);
	return 0;
}

/* ---- the server's view of an unlock: x and y of a real session ---- */

static int connect_to(const char *spec)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
	size_t n = colon ? (size_t)(colon - spec) : 0;
	int fd;

	if (n >= 2 && spec[0] == '[' && spec[n - 1] == ']') {
		spec++;
		n -= 2;
	}
	if (!colon || n >= sizeof(host)) {
		return -EINVAL;
	}
	memcpy(host, spec, n);
	host[n] = '\0';
	if (getaddrinfo(host, colon + 1, &hints, &ai) != 0) {
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		freeaddrinfo(ai);
		return -errno;
	}
	freeaddrinfo(ai);
	return fd;
}

/* One unlock with every key of the binding as an item; keeps each answered (x, y). */
static int session(const char *target, const P2Identity *id)
{
	uint8_t(*E)[P2_SCALAR_LEN] = sodium_malloc(P2_MAX_ESCROW_ITEMS * P2_SCALAR_LEN);
	uint8_t *K = sodium_malloc(P2_POINT_LEN);
	P2EscrowItem items[P2_MAX_ESCROW_ITEMS];
	P2ClientConfig cfg = {.identity = id, .items = items, .n_items = g.b.n_keys};
	P2ClientSession *c = NULL;
	const P2Result *res;
	int fd = connect_to(target), r = -EPROTO, ev = P2_EV_NONE;

	if (fd < 0 || !E || !K) {
		fprintf(stderr, "%s: cannot connect\n", target);
		return 69;
	}
	for (unsigned q = 0; q < g.b.n_keys; q++) {
		memcpy(items[q].kid, g.b.keys[q].kid, P2_KID_LEN);
		if (p2_escrow_blind(g.b.keys[q].c, E[q], items[q].point) < 0) {
			return 65;
		}
	}
	if (p2_client_new(&cfg, now_usec(), &c) < 0) {
		return 71;
	}
	while (ev != P2_EV_RESULT) {
		uint8_t buf[4096];
		const uint8_t *out;
		size_t len, off = 0;
		ssize_t n;

		while ((out = p2_client_output(c, &len)) && len > 0) {
			n = send(fd, out, len, MSG_NOSIGNAL);
			if (n <= 0) {
				goto out;
			}
			p2_client_output_consume(c, (size_t)n);
		}
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0) {
			goto out;
		}
		do {
			size_t used = 0;

			ev = p2_client_feed(c, buf + off, (size_t)n - off, now_usec(), &used, NULL);
			if (ev < 0) {
				goto out;
			}
			off += used;
		} while (ev != P2_EV_RESULT && off < (size_t)n);
		if (n == 0 && ev != P2_EV_RESULT) {
			goto out;
		}
	}
	res = p2_client_result(c);
	r = res && res->code == P2_OK ? 0 : -EACCES;
	for (unsigned i = 0; r == 0 && i < res->n_items; i++) {
		const P2ResultItem *it = &res->items[i];

		for (unsigned q = 0; it->kind == P2_ITEM_ESCROW && q < g.b.n_keys; q++) {
			if (memcmp(it->data, items[q].kid, P2_KID_LEN) != 0 ||
			    g.n_pairs == PAIRS_MAX) {
				continue;
			}
			/* The real answer opens the box (so x and y are the right ones). */
			if (p2_escrow_unblind(E[q], g.b.keys[q].s, it->data + P2_KID_LEN, K) < 0 ||
			    !opens(q, K)) {
				fprintf(stderr,
				        "self-check: the answer of %s does not open box %u\n",
				        target, q + 1);
				r = -EBADMSG;
				break;
			}
			memcpy(g.xs[g.n_pairs], items[q].point, P2_POINT_LEN);
			memcpy(g.ys[g.n_pairs], it->data + P2_KID_LEN, P2_POINT_LEN);
			g.n_pairs++;
		}
	}
	/* Send our FINAL. */
	{
		const uint8_t *out;
		size_t len;

		if ((out = p2_client_output(c, &len)) && len > 0) {
			(void)!send(fd, out, len, MSG_NOSIGNAL);
		}
	}
out:
	p2_client_free(c);
	close(fd);
	sodium_free(E);
	sodium_free(K);
	if (r < 0) {
		fprintf(stderr, "%s: the session did not unlock (%s)\n", target, strerror(-r));
		return r == -EBADMSG ? 2 : 69;
	}
	return 0;
}

/* --save-view / --view: the (x, y) pairs of the sessions, one "X_HEX Y_HEX" line each. */
static int write_view(const char *path)
{
	FILE *f = fopen(path, "a");

	if (!f) {
		return -errno;
	}
	for (unsigned i = 0; i < g.n_pairs; i++) {
		char x[2 * P2_POINT_LEN + 1], y[2 * P2_POINT_LEN + 1];

		sodium_bin2hex(x, sizeof(x), g.xs[i], P2_POINT_LEN);
		sodium_bin2hex(y, sizeof(y), g.ys[i], P2_POINT_LEN);
		fprintf(f, "%s %s\n", x, y);
	}
	return fclose(f) == 0 ? 0 : -errno;
}

static int read_view(const char *path)
{
	char x[2 * P2_POINT_LEN + 1], y[2 * P2_POINT_LEN + 1];
	FILE *f = fopen(path, "r");

	if (!f) {
		return -errno;
	}
	while (g.n_pairs < PAIRS_MAX && fscanf(f, "%64s %64s", x, y) == 2) {
		if (sodium_hex2bin(g.xs[g.n_pairs], P2_POINT_LEN, x, strlen(x), NULL, NULL, NULL) !=
		            0 ||
		    sodium_hex2bin(g.ys[g.n_pairs], P2_POINT_LEN, y, strlen(y), NULL, NULL, NULL) !=
		            0) {
			fclose(f);
			return -EINVAL;
		}
		g.n_pairs++;
	}
	fclose(f);
	return 0;
}

static int load_scalar(const char *b64, uint8_t (*arr)[P2_SCALAR_LEN], unsigned *n)
{
	if (*n == SCALARS_MAX ||
	    p2_base64_decode(b64, strlen(b64), arr[*n], P2_SCALAR_LEN) != P2_SCALAR_LEN) {
		return -EINVAL;
	}
	(*n)++;
	return 0;
}

/*
 * The check checks itself: the password planted in base64 at an odd offset inside other base64
 * text must be found, and a K planted raw must open its box.
 */
static int self_test(void)
{
	const Needle *pw = &g.needles[0], *K = NULL;
	uint8_t *buf = sodium_malloc(4096);
	char b64[256];
	bool was = g.leak;

	for (unsigned i = 0; i < g.n_needles; i++) {
		if (g.needles[i].name[0] == 'K' && !K) {
			K = &g.needles[i];
		}
	}
	if (!buf || !K || pw->len > 150) {
		return 2;
	}
	randombytes_buf(buf, 4096);
	sodium_bin2base64(b64, sizeof(b64), pw->data, pw->len, sodium_base64_VARIANT_ORIGINAL);
	memcpy(buf + 101, "QUJD", 4);
	memcpy(buf + 105, b64, strlen(b64));
	g.leak = false;
	fprintf(stderr, "self-test: a planted password (the LEAK lines below are expected)\n");
	check_buffer(buf, 512, "self-test", false);
	if (!g.leak) {
		fprintf(stderr, "self-check: a planted password was not found\n");
		return 2;
	}
	randombytes_buf(buf, 4096);
	memcpy(buf + 333, K->data, K->len);
	g.leak = false;
	fprintf(stderr, "self-test: a planted K (the LEAK lines below are expected)\n");
	try_windows(buf, 512, "self-test");
	sodium_memzero(buf, 4096);
	sodium_free(buf);
	if (!g.leak) {
		fprintf(stderr, "self-check: a planted K did not open its box\n");
		return 2;
	}
	fprintf(stderr, "self-test passed\n");
	g.leak = was;
	g.windows = g.tries = 0;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: p2-escrow-leak --binding=FILE --tls-privkey=PEM --password=FILE\n"
	           "       --scalar=B64... [--attacker-scalar=B64...] [--session=HOST:PORT...]\n"
	           "       [--save-view=FILE | --view=FILE] [--config=FILE...] FILE...\n"
	           "--save-view: run the sessions, write their x and y to FILE, stop; --view:\n"
	           "take those x and y as the server's view of unlocks\n"
	           "--config: the server's configuration (clients.conf, keyfiles), where its\n"
	           "scalars belong; FILE: anything else (state, logs, captured traffic)\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	        {"binding", required_argument, NULL, 'b'},
	        {"tls-privkey", required_argument, NULL, 'k'},
	        {"password", required_argument, NULL, 'p'},
	        {"scalar", required_argument, NULL, 's'},
	        {"attacker-scalar", required_argument, NULL, 'a'},
	        {"session", required_argument, NULL, 'S'},
	        {"config", required_argument, NULL, 'c'},
	        {"save-view", required_argument, NULL, 'w'},
	        {"view", required_argument, NULL, 'v'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	const char *binding = NULL, *key = NULL, *pw_path = NULL, *sessions[8], *why = "?";
	const char *configs[16], *save_view = NULL, *view = NULL;
	unsigned n_sessions = 0, n_configs = 0, line = 0, n_files = 0;
	P2Identity *id = NULL;
	size_t total = 0;
	int o, r;

	if (secmem_init() < 0 || p2_check_sizes() < 0) {
		fprintf(stderr, "libsodium size assumptions do not hold\n");
		return 70;
	}
	g.S = sodium_malloc(SCALARS_MAX * P2_SCALAR_LEN);
	g.A = sodium_malloc(SCALARS_MAX * P2_SCALAR_LEN);
	if (!g.S || !g.A) {
		return 71;
	}
	while ((o = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (o) {
		case 'b':
			binding = optarg;
			break;
		case 'k':
			key = optarg;
			break;
		case 'p':
			pw_path = optarg;
			break;
		case 's':
		case 'a':
			if (load_scalar(optarg, o == 's' ? g.S : g.A, o == 's' ? &g.n_S : &g.n_A) <
			    0) {
				fprintf(stderr, "bad --%s\n",
				        o == 's' ? "scalar" : "attacker-scalar");
				return 64;
			}
			break;
		case 'S':
			if (n_sessions == ELEMENTSOF(sessions)) {
				return 64;
			}
			sessions[n_sessions++] = optarg;
			break;
		case 'w':
			save_view = optarg;
			break;
		case 'v':
			view = optarg;
			break;
		case 'c':
			if (n_configs == ELEMENTSOF(configs)) {
				return 64;
			}
			configs[n_configs++] = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 64;
		}
	}
	if (!binding || !key || !pw_path || g.n_S == 0) {
		usage(stderr);
		return 64;
	}
	r = p2_binding_load(binding, &g.b, &line, &why);
	if (r < 0) {
		fprintf(stderr, "%s:%u: %s\n", binding, line, r == -EBADMSG ? why : strerror(-r));
		return 65;
	}
	r = p2_identity_load(key, &id, &why);
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", key, r == -EBADMSG ? why : strerror(-r));
		return 66;
	}
	p2_key_id_raw(id->pk, g.key_id_raw);
	{
		uint8_t *pw;
		size_t len;

		if (read_file(pw_path, &pw, &len) < 0 || len == 0) {
			fprintf(stderr, "cannot read %s\n", pw_path);
			return 66;
		}
		add_needle("the password", pw, len);
		while (len > 0 && (pw[len - 1] == '\n' || pw[len - 1] == '\r')) {
			len--;
		}
		add_needle("the password (without its newline)", pw, len);
		sodium_memzero(pw, len);
		free(pw);
	}
	r = derive();
	if (r != 0) {
		return r;
	}
	r = self_test();
	if (r != 0) {
		return r;
	}
	for (unsigned i = 0; i < n_sessions; i++) {
		r = session(sessions[i], id);
		if (r != 0) {
			return r;
		}
	}
	if (view && read_view(view) < 0) {
		fprintf(stderr, "cannot read %s\n", view);
		return 66;
	}
	if (save_view) {
		return write_view(save_view) < 0 ? 73 : 0;
	}
	/* The server's view: x and y of each real unlock, and what S makes of them. */
	for (unsigned i = 0; i < g.n_pairs; i++) {
		try_candidate(g.xs[i], "an unlock's x", i);
		try_candidate(g.ys[i], "an unlock's y", i);
	}
	/* [S]G and [S]s, with each attacker scalar. */
	for (unsigned a = 0; a < g.n_A; a++) {
		uint8_t P[P2_POINT_LEN];

		crypto_scalarmult_ristretto255_base(P, g.A[a]);
		try_candidate(P, "[S]G", a);
		for (unsigned j = 0; j < g.b.n_keys; j++) {
			if (crypto_scalarmult_ristretto255(P, g.A[a], g.b.keys[j].s) == 0) {
				try_candidate(P, "[S]s", a);
			}
		}
		try_candidate(g.A[a], "S itself", a);
	}
	for (int i = 0; i < (int)n_configs + argc - optind; i++) {
		bool config = i < (int)n_configs;
		const char *path = config ? configs[i] : argv[optind + i - (int)n_configs];
		uint8_t *buf;
		size_t len;

		if (read_file(path, &buf, &len) < 0) {
			fprintf(stderr, "cannot read %s\n", path);
			return 66;
		}
		check_buffer(buf, len, path, config);
		total += len;
		n_files++;
		free(buf);
	}
	printf("%u files, %zu bytes, %lu windows, %u unlocks' x and y, %lu attempts to open a "
	       "box: %s\n",
	       n_files, total, g.windows, g.n_pairs, g.tries,
	       g.leak ? "LEAKS" : "nothing opens, no secret found");
	p2_identity_free(id);
	p2_binding_done(&g.b);
	return g.leak ? 1 : 0;
}
