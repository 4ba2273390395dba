/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * mandos-primitives: loop benchmark of the libsodium calls one protocol 2 unlock costs the
 * server (and the client), with the message sizes protocol 2 uses; prints µs per call and the
 * per-unlock sums that spec/protocol-2.md §A.13 compares the server's CPU per unlock with, and
 * what whole unlocks between common/p2's two sessions cost each side.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "clock.h"
#include "macro.h"
#include "parse-util.h"
#include "sessions.h"

/*
 * Plaintext sizes of protocol 2 (§A.3.2, §A.4.1):
 * TH input: label (20) ‖ "2\r\n" ‖ ClientHello ‖ ServerHello ‖ ClientHello2.
 * sigC input: label (21) ‖ TH ‖ CA[0..34) ‖ CA[98..103): 92 bytes; sigS input: label (21) ‖
 * TH ‖ H_CA ‖ SA[0..34): 119 bytes.  RESULT OK with one SEALED item: 8 fixed bytes, nitems,
 * kind, len, the box (secret + 48).
 */
#define TH_INPUT (20 + 3 + 48 + 72 + 32)
#define CA_LEN 103
#define SA_LEN 98
#define SIGC_INPUT (21 + 32 + 34 + 5)
#define SIGS_INPUT (21 + 32 + 32 + 34)
#define KEY_ID_INPUT 44
/* §B.1 kw: label (21) ‖ key_id_raw ‖ kid ‖ s ‖ c ‖ K; §B.4.1 kD: label (18) ‖ D. */
#define KW_INPUT (21 + 32 + 16 + 32 + 32 + 32)
#define KD_INPUT (18 + 32)
#define RESULT_LEN(secret) (2 + 8 + 1 + 3 + (secret) + crypto_box_SEALBYTES)
#define MAX_SECRET 65487
#define SS_ABYTES crypto_secretstream_xchacha20poly1305_ABYTES
#define SS_TAG_FINAL crypto_secretstream_xchacha20poly1305_TAG_FINAL

/* Shared inputs, made once. */
static struct {
	size_t secret_len;
	uint8_t kx_pk[32], kx_sk[32], peer_pk[32];
	uint8_t sign_pk[32], sign_sk[64];
	uint8_t sigc[64], sigs[64];
	uint8_t sigc_msg[SIGC_INPUT], sigs_msg[SIGS_INPUT];
	uint8_t seal_pk[32], seal_sk[32];
	uint8_t *box; /* secret_len + 48 */
	uint8_t *plain;
	uint8_t ss_key[32], ss_header[24];
	uint8_t buf[TH_INPUT + 64];
	uint8_t point[32], point2[32], scalar[32], scalar2[32];
	uint8_t aead_key[32], aead_nonce[24];
	uint8_t *aead_box; /* secret_len + 16 (an escrow box) */
	uint8_t share_box[32 + 16], share[32];
	/* Pre-pushed messages for the pull loops; n_msgs of msg_len ciphertext bytes each. */
	uint8_t *msgs;
	size_t n_msgs, msg_len;
	volatile uint8_t sink;
} g;

typedef struct Bench {
	const char *name;
	/* Run the primitive n times; returns -1 if a call failed (a bug here). */
	int (*run)(unsigned n, size_t arg);
	size_t arg;
	/*
	 * How often one server / client unlock calls it (sealed mode); what one escrow item
	 * adds on the server and on the client; what the client's reconstruction of a 2-of-N
	 * threshold binding adds (§B.4.2, beside its two share items).
	 */
	unsigned server, client, escrow, client_escrow, sss;
	double us; /* measured: µs per call (median of the rounds) */
} Bench;

static int run_kx_keypair(unsigned n, size_t arg)
{
	uint8_t pk[32], sk[32];

	for (unsigned i = 0; i < n; i++) {
		crypto_kx_keypair(pk, sk);
	}
	g.sink ^= pk[0];
	sodium_memzero(sk, sizeof(sk));
	return 0;
}

/* arg: KX_SERVER or KX_CLIENT, whose session keys to compute. */
enum { KX_SERVER, KX_CLIENT };
static int run_kx_session(unsigned n, size_t arg)
{
	int (*keys)(unsigned char *, unsigned char *, const unsigned char *, const unsigned char *,
	            const unsigned char *) =
	        arg == KX_SERVER ? crypto_kx_server_session_keys : crypto_kx_client_session_keys;
	uint8_t rx[32], tx[32];

	for (unsigned i = 0; i < n; i++) {
		if (keys(rx, tx, g.kx_pk, g.kx_sk, g.peer_pk) != 0) {
			return -1;
		}
	}
	g.sink ^= rx[0];
	return 0;
}

static int run_init_push(unsigned n, size_t arg)
{
	crypto_secretstream_xchacha20poly1305_state st;
	uint8_t header[24];

	for (unsigned i = 0; i < n; i++) {
		crypto_secretstream_xchacha20poly1305_init_push(&st, header, g.ss_key);
	}
	g.sink ^= header[0];
	return 0;
}

static int run_init_pull(unsigned n, size_t arg)
{
	crypto_secretstream_xchacha20poly1305_state st;

	for (unsigned i = 0; i < n; i++) {
		if (crypto_secretstream_xchacha20poly1305_init_pull(&st, g.ss_header, g.ss_key) !=
		    0) {
			return -1;
		}
	}
	g.sink ^= ((uint8_t *)&st)[0];
	return 0;
}

/*
 * Push n messages of arg bytes into g.msgs (kept for the pull loop that follows).  arg ==
 * SIZE_MAX means an empty FINAL (whose tag also rekeys the stream, as in a real session).
 */
static int run_push(unsigned n, size_t arg)
{
	crypto_secretstream_xchacha20poly1305_state st;
	bool final = arg == SIZE_MAX;
	size_t len = final ? 0 : arg;
	uint8_t header[24];

	free(g.msgs);
	g.msg_len = len + SS_ABYTES;
	g.msgs = malloc((size_t)n * g.msg_len);
	if (!g.msgs) {
		return -1;
	}
	g.n_msgs = n;
	crypto_secretstream_xchacha20poly1305_init_push(&st, header, g.ss_key);
	memcpy(g.ss_header, header, sizeof(header));
	for (unsigned i = 0; i < n; i++) {
		crypto_secretstream_xchacha20poly1305_push(&st, g.msgs + (size_t)i * g.msg_len,
		                                           NULL, g.plain, len, NULL, 0,
		                                           final ? SS_TAG_FINAL : 0);
	}
	return 0;
}

/* Pull what the last run_push() made (the caller runs both with the same n). */
static int run_pull(unsigned n, size_t arg)
{
	crypto_secretstream_xchacha20poly1305_state st;
	unsigned char tag;

	if (n != g.n_msgs ||
	    crypto_secretstream_xchacha20poly1305_init_pull(&st, g.ss_header, g.ss_key) != 0) {
		return -1;
	}
	for (unsigned i = 0; i < n; i++) {
		if (crypto_secretstream_xchacha20poly1305_pull(&st, g.plain, NULL, &tag,
		                                               g.msgs + (size_t)i * g.msg_len,
		                                               g.msg_len, NULL, 0) != 0) {
			return -1;
		}
	}
	g.sink ^= tag;
	return 0;
}

static int run_generichash(unsigned n, size_t arg)
{
	uint8_t h[32];

	for (unsigned i = 0; i < n; i++) {
		crypto_generichash(h, sizeof(h), g.buf, arg, NULL, 0);
	}
	g.sink ^= h[0];
	return 0;
}

static int run_sha256(unsigned n, size_t arg)
{
	uint8_t h[32];

	for (unsigned i = 0; i < n; i++) {
		crypto_hash_sha256(h, g.buf, arg);
	}
	g.sink ^= h[0];
	return 0;
}

static int run_sign(unsigned n, size_t arg)
{
	const uint8_t *msg = arg == SIGC_INPUT ? g.sigc_msg : g.sigs_msg;
	uint8_t sig[64];

	for (unsigned i = 0; i < n; i++) {
		crypto_sign_detached(sig, NULL, msg, arg, g.sign_sk);
	}
	g.sink ^= sig[0];
	return 0;
}

static int run_verify(unsigned n, size_t arg)
{
	const uint8_t *msg = arg == SIGC_INPUT ? g.sigc_msg : g.sigs_msg;
	const uint8_t *sig = arg == SIGC_INPUT ? g.sigc : g.sigs;

	for (unsigned i = 0; i < n; i++) {
		if (crypto_sign_verify_detached(sig, msg, arg, g.sign_pk) != 0) {
			return -1;
		}
	}
	return 0;
}

static int run_seal(unsigned n, size_t arg)
{
	for (unsigned i = 0; i < n; i++) {
		crypto_box_seal(g.box, g.plain, g.secret_len, g.seal_pk);
	}
	g.sink ^= g.box[0];
	return 0;
}

static int run_seal_open(unsigned n, size_t arg)
{
	for (unsigned i = 0; i < n; i++) {
		if (crypto_box_seal_open(g.plain, g.box, g.secret_len + crypto_box_SEALBYTES,
		                         g.seal_pk, g.seal_sk) != 0) {
			return -1;
		}
	}
	g.sink ^= g.plain[0];
	return 0;
}

static int run_sign_seed_keypair(unsigned n, size_t arg)
{
	uint8_t pk[32], sk[64];

	for (unsigned i = 0; i < n; i++) {
		crypto_sign_seed_keypair(pk, sk, g.scalar);
	}
	g.sink ^= pk[0];
	sodium_memzero(sk, sizeof(sk));
	return 0;
}

static int run_scalarmult_base(unsigned n, size_t arg)
{
	uint8_t pk[32];

	for (unsigned i = 0; i < n; i++) {
		crypto_scalarmult_curve25519_base(pk, g.seal_sk);
	}
	g.sink ^= pk[0];
	return 0;
}

static int run_is_valid_point(unsigned n, size_t arg)
{
	for (unsigned i = 0; i < n; i++) {
		if (!crypto_core_ristretto255_is_valid_point(g.point)) {
			return -1;
		}
	}
	return 0;
}

static int run_ristretto_mult(unsigned n, size_t arg)
{
	uint8_t q[32];

	for (unsigned i = 0; i < n; i++) {
		if (crypto_scalarmult_ristretto255(q, g.scalar, g.point) != 0) {
			return -1;
		}
	}
	g.sink ^= q[0];
	return 0;
}

/* [E]G: the client's blinding (and s = [S]G at key load). */
static int run_ristretto_base(unsigned n, size_t arg)
{
	uint8_t q[32];

	for (unsigned i = 0; i < n; i++) {
		if (crypto_scalarmult_ristretto255_base(q, g.scalar) != 0) {
			return -1;
		}
	}
	g.sink ^= q[0];
	return 0;
}

/* arg: 0 add (x = c + [E]G), 1 sub (K = y − z). */
static int run_ristretto_addsub(unsigned n, size_t arg)
{
	int (*op)(unsigned char *, const unsigned char *, const unsigned char *) =
	        arg ? crypto_core_ristretto255_sub : crypto_core_ristretto255_add;
	uint8_t q[32];

	for (unsigned i = 0; i < n; i++) {
		if (op(q, g.point, g.point2) != 0) {
			return -1;
		}
	}
	g.sink ^= q[0];
	return 0;
}

static int run_scalar_random(unsigned n, size_t arg)
{
	uint8_t r[32];

	for (unsigned i = 0; i < n; i++) {
		crypto_core_ristretto255_scalar_random(r);
	}
	g.sink ^= r[0];
	sodium_memzero(r, sizeof(r));
	return 0;
}

/* arg: 0 invert, 1 mul, 2 add, 3 sub (Lagrange coefficients and the sum of §B.4.2). */
static int run_scalar_op(unsigned n, size_t arg)
{
	uint8_t r[32];

	for (unsigned i = 0; i < n; i++) {
		switch (arg) {
		case 0:
			if (crypto_core_ristretto255_scalar_invert(r, g.scalar) != 0) {
				return -1;
			}
			break;
		case 1:
			crypto_core_ristretto255_scalar_mul(r, g.scalar, g.scalar2);
			break;
		case 2:
			crypto_core_ristretto255_scalar_add(r, g.scalar, g.scalar2);
			break;
		default:
			crypto_core_ristretto255_scalar_sub(r, g.scalar, g.scalar2);
			break;
		}
	}
	g.sink ^= r[0];
	return 0;
}

/*
 * The escrow box (§B.1 wrap / unwrap): XChaCha20-Poly1305-IETF with the AD of a single
 * binding (label 20 ‖ key_id_raw ‖ kid ‖ s ‖ c = 132 bytes), over the secret, or with
 * AEAD_SHARE over a share's 32-byte d_i; with AEAD_OPEN it opens what setup() made.
 */
#define ESCROW_AD_LEN (20 + 32 + 16 + 32 + 32)
#define AEAD_OPEN 1
#define AEAD_SHARE 2
static int run_aead(unsigned n, size_t arg)
{
	bool share = arg & AEAD_SHARE;
	size_t len = share ? sizeof(g.share) : g.secret_len;
	uint8_t *box = share ? g.share_box : g.aead_box;
	uint8_t *plain = share ? g.share : g.plain;

	for (unsigned i = 0; i < n; i++) {
		if (arg & AEAD_OPEN) {
			if (crypto_aead_xchacha20poly1305_ietf_decrypt(
			            plain, NULL, NULL, box, len + 16, g.buf, ESCROW_AD_LEN,
			            g.aead_nonce, g.aead_key) != 0) {
				return -1;
			}
		} else {
			crypto_aead_xchacha20poly1305_ietf_encrypt(box, NULL, plain, len, g.buf,
			                                           ESCROW_AD_LEN, NULL,
			                                           g.aead_nonce, g.aead_key);
		}
	}
	g.sink ^= plain[0] ^ box[0];
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/*
 * µs per call: calibrate n so that one round takes about round_ms of CPU, then the median
 * over rounds.  A pull is timed on the messages the push before it made.
 */
static int measure(Bench *b, const Bench *push, unsigned rounds, double round_ms)
{
	double per[64];
	unsigned n = 16;
	uint64_t t0, t;

	for (;;) {
		if (push && push->run(n, push->arg) < 0) {
			return -1;
		}
		t0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
		if (b->run(n, b->arg) < 0) {
			return -1;
		}
		t = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - t0;
		if (t >= round_ms * 1e6 / 4 || n >= (1u << 24)) {
			break;
		}
		n *= 2;
	}
	n = (unsigned)MAX(16.0, (double)n * round_ms * 1e6 / (double)MAX(t, 1));
	for (unsigned r = 0; r < rounds; r++) {
		if (push && push->run(n, push->arg) < 0) {
			return -1;
		}
		t0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
		if (b->run(n, b->arg) < 0) {
			return -1;
		}
		per[r] = (double)(clock_ns(CLOCK_PROCESS_CPUTIME_ID) - t0) / 1e3 / n;
	}
	qsort(per, rounds, sizeof(double), cmp_double);
	b->us = per[rounds / 2];
	return 0;
}

static int setup(size_t secret_len)
{
	g.secret_len = secret_len;
	g.box = malloc(secret_len + crypto_box_SEALBYTES);
	g.plain = calloc(1, MAX(secret_len, (size_t)RESULT_LEN(secret_len)) + 64);
	g.aead_box = malloc(secret_len + 16);
	if (!g.box || !g.plain || !g.aead_box) {
		return -ENOMEM;
	}
	randombytes_buf(g.plain, secret_len);
	randombytes_buf(g.buf, sizeof(g.buf));
	randombytes_buf(g.ss_key, sizeof(g.ss_key));
	crypto_core_ristretto255_scalar_random(g.scalar);
	crypto_core_ristretto255_scalar_random(g.scalar2);
	randombytes_buf(g.aead_key, sizeof(g.aead_key));
	randombytes_buf(g.aead_nonce, sizeof(g.aead_nonce));
	randombytes_buf(g.share, sizeof(g.share));
	crypto_kx_keypair(g.kx_pk, g.kx_sk);
	{
		uint8_t sk[32];

		crypto_kx_keypair(g.peer_pk, sk);
		sodium_memzero(sk, sizeof(sk));
	}
	crypto_sign_keypair(g.sign_pk, g.sign_sk);
	randombytes_buf(g.sigc_msg, sizeof(g.sigc_msg));
	randombytes_buf(g.sigs_msg, sizeof(g.sigs_msg));
	crypto_sign_detached(g.sigc, NULL, g.sigc_msg, sizeof(g.sigc_msg), g.sign_sk);
	crypto_sign_detached(g.sigs, NULL, g.sigs_msg, sizeof(g.sigs_msg), g.sign_sk);
	crypto_box_keypair(g.seal_pk, g.seal_sk);
	crypto_box_seal(g.box, g.plain, secret_len, g.seal_pk);
	{
		uint8_t r[crypto_core_ristretto255_HASHBYTES];

		randombytes_buf(r, sizeof(r));
		crypto_core_ristretto255_from_hash(g.point, r);
		randombytes_buf(r, sizeof(r));
		crypto_core_ristretto255_from_hash(g.point2, r);
	}
	crypto_aead_xchacha20poly1305_ietf_encrypt(g.aead_box, NULL, g.plain, secret_len, g.buf,
	                                           ESCROW_AD_LEN, NULL, g.aead_nonce, g.aead_key);
	crypto_aead_xchacha20poly1305_ietf_encrypt(g.share_box, NULL, g.share, 32, g.buf,
	                                           ESCROW_AD_LEN, NULL, g.aead_nonce, g.aead_key);
	{
		crypto_secretstream_xchacha20poly1305_state st;

		crypto_secretstream_xchacha20poly1305_init_push(&st, g.ss_header, g.ss_key);
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: mandos-primitives [--secret-len=BYTES] [--rounds=N] [--round-ms=MS]\n"
	           "                         [--sessions=N] [--kv]\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
	        {"secret-len", required_argument, NULL, 'l'},
	        {"rounds", required_argument, NULL, 'r'},
	        {"round-ms", required_argument, NULL, 'm'},
	        {"sessions", required_argument, NULL, 's'},
	        {"kv", no_argument, NULL, 'k'},
	        {"help", no_argument, NULL, 'h'},
	        {0},
	};
	unsigned secret_len = 29, rounds = 7, sessions = 3000;
	SessionCost cost = {0};
	double round_ms = 100, server_sum = 0, client_sum = 0, escrow_sum = 0;
	double client_escrow_sum = 0, sss_sum = 0;
	bool kv = false;
	int o;

	while ((o = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
		switch (o) {
		case 'l':
			if (parse_uint(optarg, MAX_SECRET, &secret_len) < 0 || secret_len == 0) {
				fprintf(stderr, "bad --secret-len (1 ... %d)\n", MAX_SECRET);
				return 64;
			}
			break;
		case 'r':
			if (parse_uint(optarg, 63, &rounds) < 0 || rounds == 0) {
				fprintf(stderr, "bad --rounds (1 ... 63)\n");
				return 64;
			}
			break;
		case 'm':
			if (parse_seconds(optarg, 60000, &round_ms) < 0 || round_ms <= 0) {
				fprintf(stderr, "bad --round-ms\n");
				return 64;
			}
			break;
		case 's':
			if (parse_uint(optarg, 10000000, &sessions) < 0) {
				fprintf(stderr, "bad --sessions\n");
				return 64;
			}
			break;
		case 'k':
			kv = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 64;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 64;
	}
	if (sodium_init() < 0 || setup(secret_len) < 0) {
		fprintf(stderr, "cannot initialise libsodium\n");
		return 71;
	}

	/*
	 * Push rows are immediately followed by the pull row of the same size, which pulls
	 * what they pushed.  server/client/escrow: calls per unlock (§A.13's table; the client
	 * column is the mirror image, plus opening the box).
	 */
	size_t result_len = RESULT_LEN(secret_len);
	Bench benches[] = {
	        {"crypto_kx_keypair", run_kx_keypair, 0, 1, 1, 0},
	        {"crypto_kx_server_session_keys", run_kx_session, KX_SERVER, 1, 0, 0},
	        {"crypto_kx_client_session_keys", run_kx_session, KX_CLIENT, 0, 1, 0},
	        {"secretstream init_push", run_init_push, 0, 1, 1, 0},
	        {"secretstream init_pull", run_init_pull, 0, 1, 1, 0},
	        {"secretstream push CLIENT_AUTH (103 B)", run_push, CA_LEN, 0, 1, 0},
	        {"secretstream pull CLIENT_AUTH (103 B)", run_pull, CA_LEN, 1, 0, 0},
	        {"secretstream push SERVER_AUTH (98 B)", run_push, SA_LEN, 1, 0, 0},
	        {"secretstream pull SERVER_AUTH (98 B)", run_pull, SA_LEN, 0, 1, 0},
	        {"secretstream push RESULT", run_push, result_len, 1, 0, 0},
	        {"secretstream pull RESULT", run_pull, result_len, 0, 1, 0},
	        {"secretstream push FINAL (0 B)", run_push, SIZE_MAX, 1, 1, 0},
	        {"secretstream pull FINAL (0 B)", run_pull, SIZE_MAX, 1, 1, 0},
	        {"crypto_generichash TH (175 B)", run_generichash, TH_INPUT, 1, 1, 0},
	        {"crypto_generichash H_CA (103 B)", run_generichash, CA_LEN, 1, 1, 0},
	        {"crypto_hash_sha256 key_id (44 B)", run_sha256, KEY_ID_INPUT, 1, 1, 0},
	        {"crypto_sign_verify_detached sigC (92 B)", run_verify, SIGC_INPUT, 1, 0, 0},
	        {"crypto_sign_detached sigS (119 B)", run_sign, SIGS_INPUT, 1, 0, 0},
	        {"crypto_sign_detached sigC (92 B)", run_sign, SIGC_INPUT, 0, 1, 0},
	        {"crypto_sign_verify_detached sigS (119 B)", run_verify, SIGS_INPUT, 0, 1, 0},
	        {"crypto_box_seal_open", run_seal_open, 0, 0, 1, 0},
	        {"crypto_core_ristretto255_is_valid_point", run_is_valid_point, 0, 0, 0, 1, 1},
	        {"crypto_scalarmult_ristretto255", run_ristretto_mult, 0, 0, 0, 1, 1},
	        /* Part B, the client's side of an item (§B.1 blind, unblind, unwrap). */
	        {"crypto_core_ristretto255_scalar_random (E)", run_scalar_random, 0, 0, 0, 0, 1},
	        {"crypto_scalarmult_ristretto255_base ([E]G)", run_ristretto_base, 0, 0, 0, 0, 1},
	        {"crypto_core_ristretto255_add (x = c + [E]G)", run_ristretto_addsub, 0, 0, 0, 0,
	         1},
	        {"crypto_core_ristretto255_sub (K = y - z)", run_ristretto_addsub, 1, 0, 0, 0, 1},
	        {"crypto_generichash kw (165 B)", run_generichash, KW_INPUT, 0, 0, 0, 1},
	        {"xchacha20poly1305_ietf_decrypt escrow box", run_aead, AEAD_OPEN, 0, 0, 0, 1},
	        /* §B.4.2 with k = 2: two Lagrange coefficients, their sum, kD, the data box. */
	        {"crypto_core_ristretto255_scalar_sub", run_scalar_op, 3, 0, 0, 0, 0, 2},
	        {"crypto_core_ristretto255_scalar_invert", run_scalar_op, 0, 0, 0, 0, 0, 2},
	        {"crypto_core_ristretto255_scalar_mul", run_scalar_op, 1, 0, 0, 0, 0, 4},
	        {"crypto_core_ristretto255_scalar_add", run_scalar_op, 2, 0, 0, 0, 0, 1},
	        {"crypto_generichash kD (50 B)", run_generichash, KD_INPUT, 0, 0, 0, 0, 1},
	        {"xchacha20poly1305_ietf_decrypt data box", run_aead, AEAD_OPEN, 0, 0, 0, 0, 1},
	        {"xchacha20poly1305_ietf_decrypt share box (32 B)", run_aead,
	         AEAD_OPEN | AEAD_SHARE, 0, 0, 0, 0, 0},
	        /* Not per unlock: sealing (mandos-keygen), loading the client's keys. */
	        {"crypto_box_seal (mandos-keygen)", run_seal, 0, 0, 0, 0},
	        {"xchacha20poly1305_ietf_encrypt escrow box (mandos-keygen)", run_aead, 0, 0, 0, 0},
	        {"crypto_sign_seed_keypair (key load)", run_sign_seed_keypair, 0, 0, 0, 0},
	        {"crypto_scalarmult_curve25519_base (seal key load)", run_scalarmult_base, 0, 0, 0,
	         0},
	};

	for (size_t i = 0; i < ELEMENTSOF(benches); i++) {
		Bench *b = &benches[i];
		const Bench *push = b->run == run_pull ? &benches[i - 1] : NULL;

		if (measure(b, push, rounds, round_ms) < 0) {
			fprintf(stderr, "%s failed\n", b->name);
			return 70;
		}
		server_sum += b->server * b->us;
		client_sum += b->client * b->us;
		escrow_sum += b->escrow * b->us;
		client_escrow_sum += b->client_escrow * b->us;
		sss_sum += b->sss * b->us;
	}
	free(g.msgs);
	if (sessions > 0) {
		int r = sessions_run(sessions, secret_len, &cost);

		if (r < 0) {
			fprintf(stderr, "protocol 2 sessions failed: %s\n", strerror(-r));
			return 70;
		}
	}
	if (kv) {
		/* One "name value" line each, for scripts (µs). */
		for (size_t i = 0; i < ELEMENTSOF(benches); i++) {
			printf("us\t%s\t%.3f\n", benches[i].name, benches[i].us);
		}
		printf("server_sealed_sum_us\t%.3f\nclient_sealed_sum_us\t%.3f\n"
		       "escrow_item_sum_us\t%.3f\nclient_escrow_item_sum_us\t%.3f\n"
		       "client_threshold2_sum_us\t%.3f\nsecret_len\t%u\n",
		       server_sum, client_sum, escrow_sum, client_escrow_sum, sss_sum, secret_len);
		if (cost.unlocks > 0) {
			printf("session_server_us\t%.3f\nsession_client_us\t%.3f\n"
			       "session_unlocks\t%u\n",
			       cost.server_us, cost.client_us, cost.unlocks);
		}
		return 0;
	}
	printf("libsodium %s, CPU time per call, median of %u rounds of ~%.0f ms; "
	       "secret %u bytes (RESULT %zu bytes)\n\n",
	       sodium_version_string(), rounds, round_ms, secret_len, result_len);
	printf("| primitive | us/call | server | client | escrow item: server | client | "
	       "2-of-N reconstruction |\n|---|---:|---:|---:|---:|---:|---:|\n");
	for (size_t i = 0; i < ELEMENTSOF(benches); i++) {
		const Bench *b = &benches[i];

		printf("| %s | %.2f | %u | %u | %u | %u | %u |\n", b->name, b->us, b->server,
		       b->client, b->escrow, b->client_escrow, b->sss);
	}
	printf("\nserver sealed-mode sum: %.1f us per unlock (x1.25 = %.1f us)\n", server_sum,
	       server_sum * 1.25);
	printf("client sealed-mode sum: %.1f us per unlock\n", client_sum);
	printf("one escrow item adds: server %.1f us, client %.1f us\n", escrow_sum,
	       client_escrow_sum);
	printf("a 2-of-N threshold's reconstruction adds (client): %.1f us\n", sss_sum);
	if (cost.unlocks > 0) {
		printf("\n%u whole unlocks between common/p2's sessions over socketpairs (thread "
		       "CPU):\n"
		       "server %.1f us per unlock (%.2f x its primitives), client %.1f us "
		       "(%.2f x)\n",
		       cost.unlocks, cost.server_us, cost.server_us / server_sum, cost.client_us,
		       cost.client_us / client_sum);
	}
	return 0;
}
