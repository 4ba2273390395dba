/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Protocol 2 sessions against hand-made peers: every negative case of §A.12.4, the answered
 * cases, aborts, linger, deadlines and the STATUS bucket. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keys.h"
#include "msg.h"
#include "p2.h"
#include "sealed.h"
#include "transport.h"
#include "unit-main.h"

#define SEC 1000000ULL
#define T0 (1000 * SEC)

typedef crypto_secretstream_xchacha20poly1305_state Stream;
#define TAG_MESSAGE crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
#define TAG_PUSH crypto_secretstream_xchacha20poly1305_TAG_PUSH
#define TAG_REKEY crypto_secretstream_xchacha20poly1305_TAG_REKEY
#define TAG_FINAL crypto_secretstream_xchacha20poly1305_TAG_FINAL

/* One DataMessage pushed with tag; returns its length. */
static size_t dm(Stream *st, const uint8_t *m, size_t mlen, uint8_t tag, uint8_t *out)
{
	uint64_t n = mlen + 17;

	memcpy(out, "datamsg0", 8);
	for (int i = 0; i < 8; i++) {
		out[8 + i] = (uint8_t)(n >> (8 * i));
	}
	crypto_secretstream_xchacha20poly1305_push(st, out + 16, NULL, m, mlen, NULL, 0, tag);
	return 16 + mlen + 17;
}

static P2Identity *random_identity(void)
{
	uint8_t seed[32];
	P2Identity *id = NULL;

	randombytes_buf(seed, sizeof(seed));
	ck_assert_int_eq(p2_identity_from_seed(seed, &id), 0);
	return id;
}

static size_t out_len_server(P2ServerSession *s)
{
	size_t n;

	p2_server_output(s, &n);
	return n;
}

static size_t out_len_client(P2ClientSession *c)
{
	size_t n;

	p2_client_output(c, &n);
	return n;
}

/* ---- the server against a hand-made client ---- */

typedef struct Srv {
	P2Identity *server, *client;
	P2ServerSession *s;
	Stream push, pull; /* the fake client's streams */
	uint8_t kx_pk[32], kx_sk[32];
	uint8_t ch[48], sh[72], ch2[32], th[32];
} Srv;

static Srv srv;

static void srv_hello(void)
{
	memset(&srv, 0, sizeof(srv));
	srv.server = random_identity();
	srv.client = random_identity();
	ck_assert_int_eq(p2_server_new(srv.server, NULL, T0, &srv.s), 0);
	crypto_kx_keypair(srv.kx_pk, srv.kx_sk);
	memcpy(srv.ch, "mandos v2 client", 16);
	memcpy(srv.ch + 16, srv.kx_pk, 32);
}

/* Up to a server waiting for CLIENT_AUTH, its output written. */
static void srv_setup(void)
{
	uint8_t rx[32], tx[32];
	const uint8_t *o;
	size_t olen, used;

	srv_hello();
	ck_assert_int_eq(p2_server_feed(srv.s, srv.ch, 48, T0, &used, NULL), P2_EV_NONE);
	ck_assert_uint_eq(used, 48);
	o = p2_server_output(srv.s, &olen);
	ck_assert_uint_eq(olen, 72);
	memcpy(srv.sh, o, 72);
	p2_server_output_consume(srv.s, olen);
	ck_assert_mem_eq(srv.sh, "mandos v2 server", 16);
	ck_assert_uint_eq(p2_server_deadline(srv.s), T0 + 10 * SEC);
	ck_assert_int_eq(crypto_kx_client_session_keys(rx, tx, srv.kx_pk, srv.kx_sk, srv.sh + 16),
	                 0);
	crypto_secretstream_xchacha20poly1305_init_pull(&srv.pull, srv.sh + 48, rx);
	memcpy(srv.ch2, "cheader0", 8);
	crypto_secretstream_xchacha20poly1305_init_push(&srv.push, srv.ch2 + 8, tx);
	p2_transcript_hash(srv.ch, srv.sh, srv.ch2, srv.th);
}

static void srv_teardown(void)
{
	srv.s = p2_server_free(srv.s);
	srv.server = p2_identity_free(srv.server);
	srv.client = p2_identity_free(srv.client);
}

/* Feed bytes that must fail with nothing more queued; returns the error. */
static int srv_fails(const uint8_t *b, size_t n)
{
	size_t before = out_len_server(srv.s), used = 0;
	const char *why = NULL;
	int r = p2_server_feed(srv.s, b, n, T0 + SEC, &used, &why);

	ck_assert_int_lt(r, 0);
	ck_assert_ptr_nonnull(why);
	ck_assert_uint_eq(out_len_server(srv.s), before);
	/* A failed session stays failed. */
	ck_assert_int_eq(p2_server_feed(srv.s, b, n, T0 + SEC, &used, NULL), r);
	ck_assert_uint_eq(out_len_server(srv.s), before);
	return r;
}

/*
 * A CLIENT_AUTH plaintext laid out as given, correctly signed by key over th: ver, type,
 * the n byte, n_items items, and len_delta bytes added (zeros) or removed at the end.
 */
static size_t ca_make(uint8_t *buf, const P2Identity *key, const uint8_t th[32], uint8_t ver,
                      uint8_t type, uint32_t flags, uint8_t n_field, size_t n_items,
                      const P2EscrowItem *items, int len_delta)
{
	uint8_t msg[1024];
	size_t len = 103 + 48 * n_items, at = 0;

	memset(buf, 0, 103 + 48 * n_items + 8);
	buf[0] = ver;
	buf[1] = type;
	memcpy(buf + 2, key->pk, 32);
	for (int i = 0; i < 4; i++) {
		buf[98 + i] = (uint8_t)(flags >> (8 * i));
	}
	buf[102] = n_field;
	for (size_t i = 0; i < n_items; i++) {
		memcpy(buf + 103 + 48 * i, items[i].kid, 16);
		memcpy(buf + 103 + 48 * i + 16, items[i].point, 32);
	}
	len = (size_t)((ssize_t)len + len_delta);
	memcpy(msg, "mandos-p2 client auth", 21);
	at = 21;
	memcpy(msg + at, th, 32);
	at += 32;
	memcpy(msg + at, buf, 34);
	at += 34;
	memcpy(msg + at, buf + 98, len - 98);
	at += len - 98;
	crypto_sign_detached(buf + 34, NULL, msg, at, key->sk);
	return len;
}

#define WANT (P2_FLAG_WANT_SEALED | P2_FLAG_SHOWS_STATUS)

/* ClientHello2 and DM(m) in one buffer, as a client writes them. */
static size_t ch2_and(uint8_t *out, const uint8_t *m, size_t mlen, uint8_t tag)
{
	memcpy(out, srv.ch2, 32);
	return 32 + dm(&srv.push, m, mlen, tag, out + 32);
}

static void srv_ca_fails(const uint8_t *ca, size_t len, uint8_t tag)
{
	uint8_t buf[2048];
	size_t n = ch2_and(buf, ca, len, tag);

	srv_fails(buf, n);
}

START_TEST(server_magic_wrong)
{
	srv_hello();
	srv.ch[15] = 'X';
	srv_fails(srv.ch, 48);
	srv_teardown();
}
END_TEST

START_TEST(server_magic_tomsg)
{
	srv_hello();
	memcpy(srv.ch, "tomsg v01 client", 16);
	/* The magic alone fails: the server does not wait for the key. */
	srv_fails(srv.ch, 16);
	srv_teardown();
}
END_TEST

START_TEST(server_kx_zero)
{
	srv_hello();
	memset(srv.ch + 16, 0, 32);
	srv_fails(srv.ch, 48);
	ck_assert_uint_eq(out_len_server(srv.s), 0);
	srv_teardown();
}
END_TEST

START_TEST(server_stalls)
{
	size_t used;

	/* stall-hello: nothing after the line; the deadline is 10 s from accept. */
	srv_hello();
	ck_assert_uint_eq(p2_server_deadline(srv.s), T0 + 10 * SEC);
	ck_assert_int_eq(p2_server_feed(srv.s, srv.ch, 20, T0 + 1, &used, NULL), P2_EV_NONE);
	ck_assert_uint_eq(p2_server_deadline(srv.s), T0 + 10 * SEC);
	srv_teardown();
	/* stall-auth: ClientHello2 only; 10 s from ServerHello. */
	srv_setup();
	ck_assert_int_eq(p2_server_feed(srv.s, srv.ch2, 32, T0 + SEC, &used, NULL), P2_EV_NONE);
	ck_assert_uint_eq(p2_server_deadline(srv.s), T0 + 10 * SEC);
	ck_assert_uint_eq(out_len_server(srv.s), 0);
	srv_teardown();
}
END_TEST

START_TEST(server_ch2_magic)
{
	srv_setup();
	srv.ch2[7] = '1';
	srv_fails(srv.ch2, 32);
	srv_teardown();
}
END_TEST

START_TEST(server_dm_magic)
{
	uint8_t ca[600], buf[2048];
	size_t n;

	srv_setup();
	n = ch2_and(buf, ca, ca_make(ca, srv.client, srv.th, 1, 1, WANT, 0, 0, NULL, 0),
	            TAG_MESSAGE);
	buf[32 + 7] = '1';
	srv_fails(buf, n);
	srv_teardown();
}
END_TEST

static void n_header_only(uint64_t n)
{
	uint8_t buf[48];

	srv_setup();
	memcpy(buf, srv.ch2, 32);
	memcpy(buf + 32, "datamsg0", 8);
	for (int i = 0; i < 8; i++) {
		buf[40 + i] = (uint8_t)(n >> (8 * i));
	}
	/* Header only: the server must fail at once, not wait for the body. */
	srv_fails(buf, sizeof(buf));
	srv_teardown();
}

START_TEST(server_n_small)
{
	n_header_only(16);
}
END_TEST

START_TEST(server_n_large)
{
	n_header_only(530);
}
END_TEST

START_TEST(server_flip_bit)
{
	uint8_t ca[600], buf[2048];
	size_t n;

	srv_setup();
	n = ch2_and(buf, ca, ca_make(ca, srv.client, srv.th, 1, 1, WANT, 0, 0, NULL, 0),
	            TAG_MESSAGE);
	buf[32 + 16 + 40] ^= 0x04;
	srv_fails(buf, n);
	srv_teardown();
}
END_TEST

START_TEST(server_tags)
{
	static const uint8_t tags[] = {TAG_PUSH, TAG_REKEY};
	uint8_t ca[600];

	for (size_t i = 0; i < 2; i++) {
		srv_setup();
		srv_ca_fails(ca, ca_make(ca, srv.client, srv.th, 1, 1, WANT, 0, 0, NULL, 0),
		             tags[i]);
		srv_teardown();
	}
}
END_TEST

START_TEST(server_finals)
{
	uint8_t one = 0, buf[128];
	size_t n;

	srv_setup();
	srv_ca_fails(&one, 1, TAG_FINAL);
	srv_teardown();
	/* final-empty: the client aborting before CLIENT_AUTH. */
	srv_setup();
	n = ch2_and(buf, NULL, 0, TAG_FINAL);
	ck_assert_int_eq(srv_fails(buf, n), -EPROTO);
	srv_teardown();
}
END_TEST

START_TEST(server_layouts)
{
	P2EscrowItem items[9];
	uint8_t ca[1024];

	for (size_t i = 0; i < 9; i++) {
		randombytes_buf(items[i].kid, 16);
		crypto_core_ristretto255_random(items[i].point);
	}
	srv_setup(); /* ver-2 */
	srv_ca_fails(ca, ca_make(ca, srv.client, srv.th, 2, 1, WANT, 0, 0, NULL, 0), TAG_MESSAGE);
	srv_teardown();
	srv_setup(); /* type-9 */
	srv_ca_fails(ca, ca_make(ca, srv.client, srv.th, 1, 9, WANT, 0, 0, NULL, 0), TAG_MESSAGE);
	srv_teardown();
	srv_setup(); /* n-9 with 8 items */
	srv_ca_fails(
	        ca,
	        ca_make(ca, srv.client, srv.th, 1, 1, WANT | P2_FLAG_WANT_ESCROW, 9, 8, items, 0),
	        TAG_MESSAGE);
	srv_teardown();
	srv_setup(); /* len-plus1 */
	srv_ca_fails(
	        ca,
	        ca_make(ca, srv.client, srv.th, 1, 1, WANT | P2_FLAG_WANT_ESCROW, 1, 1, items, 1),
	        TAG_MESSAGE);
	srv_teardown();
	srv_setup(); /* len-minus1 */
	srv_ca_fails(
	        ca,
	        ca_make(ca, srv.client, srv.th, 1, 1, WANT | P2_FLAG_WANT_ESCROW, 1, 1, items, -1),
	        TAG_MESSAGE);
	srv_teardown();
	srv_setup(); /* too short for the fixed part */
	srv_ca_fails(ca, 102, TAG_MESSAGE);
	srv_teardown();
}
END_TEST

START_TEST(server_signatures)
{
	uint8_t ca[600], th[32];
	P2Identity *other;

	srv_setup(); /* sig-otherkey: client_pk says one key, the signature is by another */
	other = random_identity();
	ca_make(ca, other, srv.th, 1, 1, WANT, 0, 0, NULL, 0);
	memcpy(ca + 2, srv.client->pk, 32);
	srv_ca_fails(ca, 103, TAG_MESSAGE);
	p2_identity_free(other);
	srv_teardown();
	srv_setup(); /* sig-otherth */
	memcpy(th, srv.th, 32);
	th[0] ^= 1;
	srv_ca_fails(ca, ca_make(ca, srv.client, th, 1, 1, WANT, 0, 0, NULL, 0), TAG_MESSAGE);
	srv_teardown();
}
END_TEST

START_TEST(server_dup_auth)
{
	uint8_t ca[600], buf[2048];
	size_t n, len, used = 0;

	srv_setup();
	len = ca_make(ca, srv.client, srv.th, 1, 1, WANT, 0, 0, NULL, 0);
	n = ch2_and(buf, ca, len, TAG_MESSAGE);
	n += dm(&srv.push, ca, len, TAG_MESSAGE, buf + n);
	ck_assert_int_eq(p2_server_feed(srv.s, buf, n, T0 + SEC, &used, NULL), P2_EV_REQUEST);
	ck_assert_uint_lt(used, n);
	/* The caller feeds the rest: the session fails (and the caller drops SERVER_AUTH). */
	srv_fails(buf + used, n - used);
	srv_teardown();
}
END_TEST

START_TEST(server_half_close)
{
	uint8_t ca[600], buf[2048];
	size_t n, used = 0;

	srv_setup();
	n = ch2_and(buf, ca, ca_make(ca, srv.client, srv.th, 1, 1, WANT, 0, 0, NULL, 0),
	            TAG_MESSAGE);
	ck_assert_int_eq(p2_server_feed(srv.s, buf, n, T0 + SEC, &used, NULL), P2_EV_REQUEST);
	ck_assert_uint_eq(used, n);
	ck_assert_int_eq(srv_fails(buf, 0), -EPROTO);
	srv_teardown();
}
END_TEST

START_TEST(server_points)
{
	P2EscrowItem it;
	uint8_t ca[600];
	const uint32_t f = WANT | P2_FLAG_WANT_ESCROW;

	randombytes_buf(it.kid, 16);
	srv_setup(); /* x-zero */
	memset(it.point, 0, 32);
	srv_ca_fails(ca, ca_make(ca, srv.client, srv.th, 1, 1, f, 1, 1, &it, 0), TAG_MESSAGE);
	srv_teardown();
	srv_setup(); /* x-ff */
	memset(it.point, 0xff, 32);
	srv_ca_fails(ca, ca_make(ca, srv.client, srv.th, 1, 1, f, 1, 1, &it, 0), TAG_MESSAGE);
	srv_teardown();
	srv_setup(); /* x-topbit */
	crypto_core_ristretto255_random(it.point);
	it.point[31] |= 0x80;
	srv_ca_fails(ca, ca_make(ca, srv.client, srv.th, 1, 1, f, 1, 1, &it, 0), TAG_MESSAGE);
	srv_teardown();
	srv_setup(); /* x-noncanonical: 2^255 - 19 */
	memset(it.point, 0xff, 32);
	it.point[0] = 0xed;
	it.point[31] = 0x7f;
	srv_ca_fails(ca, ca_make(ca, srv.client, srv.th, 1, 1, f, 1, 1, &it, 0), TAG_MESSAGE);
	srv_teardown();
}
END_TEST

START_TEST(server_escrow_flags)
{
	P2EscrowItem it[2];
	uint8_t ca[600];

	randombytes_buf(it[0].kid, 16);
	crypto_core_ristretto255_random(it[0].point);
	it[1] = it[0];
	crypto_core_ristretto255_random(it[1].point);
	srv_setup(); /* escrow-flag-n0 */
	srv_ca_fails(
	        ca,
	        ca_make(ca, srv.client, srv.th, 1, 1, WANT | P2_FLAG_WANT_ESCROW, 0, 0, NULL, 0),
	        TAG_MESSAGE);
	srv_teardown();
	srv_setup(); /* items-without-flag */
	srv_ca_fails(ca, ca_make(ca, srv.client, srv.th, 1, 1, WANT, 1, 1, it, 0), TAG_MESSAGE);
	srv_teardown();
	srv_setup(); /* dup-kid */
	srv_ca_fails(ca,
	             ca_make(ca, srv.client, srv.th, 1, 1, WANT | P2_FLAG_WANT_ESCROW, 2, 2, it, 0),
	             TAG_MESSAGE);
	srv_teardown();
}
END_TEST

/* A valid request: REQUEST, SERVER_AUTH queued and verifiable. */
static void srv_request(uint32_t flags, size_t n_items, const P2EscrowItem *items, uint8_t *ca,
                        size_t *ca_len)
{
	uint8_t buf[2048], plain[256], server_pk[32];
	unsigned long long mlen;
	unsigned char tag;
	const uint8_t *o;
	size_t n, used = 0, olen;

	*ca_len = ca_make(ca, srv.client, srv.th, 1, 1, flags, (uint8_t)n_items, n_items, items, 0);
	n = ch2_and(buf, ca, *ca_len, TAG_MESSAGE);
	ck_assert_int_eq(p2_server_feed(srv.s, buf, n, T0 + SEC, &used, NULL), P2_EV_REQUEST);
	ck_assert_uint_eq(used, n);
	ck_assert_uint_eq(p2_server_deadline(srv.s), UINT64_MAX);
	ck_assert_uint_eq(p2_server_request(srv.s)->flags, flags);
	ck_assert_uint_eq(p2_server_request(srv.s)->n_items, n_items);
	o = p2_server_output(srv.s, &olen);
	ck_assert_uint_eq(olen, 16 + 17 + 98);
	ck_assert_int_eq(crypto_secretstream_xchacha20poly1305_pull(&srv.pull, plain, &mlen, &tag,
	                                                            o + 16, olen - 16, NULL, 0),
	                 0);
	ck_assert_int_eq(tag, TAG_MESSAGE);
	ck_assert_int_eq(p2_server_auth_parse(plain, mlen, srv.th, ca, *ca_len, server_pk), 0);
	ck_assert_mem_eq(server_pk, srv.server->pk, 32);
	p2_server_output_consume(srv.s, olen);
}

/* Pull one DataMessage the server queued; returns the tag, the plaintext in plain. */
static int srv_pull(const uint8_t **o, size_t *olen, uint8_t *plain, size_t *plen)
{
	unsigned long long mlen = 0;
	unsigned char tag = 0;
	uint64_t n = 0;

	ck_assert_uint_ge(*olen, 16 + 17);
	ck_assert_mem_eq(*o, "datamsg0", 8);
	for (int i = 0; i < 8; i++) {
		n |= (uint64_t)(*o)[8 + i] << (8 * i);
	}
	ck_assert_uint_le(16 + n, *olen);
	ck_assert_int_eq(crypto_secretstream_xchacha20poly1305_pull(&srv.pull, plain, &mlen, &tag,
	                                                            *o + 16, n, NULL, 0),
	                 0);
	*o += 16 + n;
	*olen -= 16 + n;
	*plen = mlen;
	return tag;
}

START_TEST(server_answers_unknown_client)
{
	uint8_t ca[600], plain[1024], fin[64];
	P2Result res = {.code = P2_UNKNOWN_CLIENT}, got;
	char id[P2_KEY_ID_HEX_SIZE];
	const uint8_t *o;
	size_t ca_len, olen, plen, used;

	srv_setup();
	srv_request(WANT, 0, NULL, ca, &ca_len);
	p2_key_id_hex(srv.client->pk, id);
	ck_assert_str_eq(p2_server_client_key_id(srv.s), id);
	ck_assert_int_eq(p2_server_send_result(srv.s, &res), 0);
	ck_assert_uint_ne(p2_server_deadline(srv.s), UINT64_MAX);
	o = p2_server_output(srv.s, &olen);
	ck_assert_int_eq(srv_pull(&o, &olen, plain, &plen), TAG_MESSAGE);
	ck_assert_int_eq(p2_result_parse(plain, plen, NULL, &got), 0);
	ck_assert_int_eq(got.code, P2_UNKNOWN_CLIENT);
	ck_assert_int_eq(srv_pull(&o, &olen, plain, &plen), TAG_FINAL);
	ck_assert_uint_eq(plen, 0);
	ck_assert_uint_eq(olen, 0);
	/* A second RESULT is refused; the client's FINAL ends the linger. */
	ck_assert_int_eq(p2_server_send_result(srv.s, &res), -EINVAL);
	p2_server_output(srv.s, &olen);
	p2_server_output_consume(srv.s, olen);
	ck_assert_int_eq(
	        p2_server_feed(srv.s, fin, dm(&srv.push, NULL, 0, TAG_FINAL, fin), T0, &used, NULL),
	        P2_EV_DONE);
	srv_teardown();
}
END_TEST

START_TEST(server_answers_foreign_kid)
{
	P2EscrowItem it;
	uint8_t ca[600], plain[1024];
	P2Result res = {.code = P2_NO_MATERIAL}, got;
	const uint8_t *o;
	size_t ca_len, olen, plen;

	randombytes_buf(it.kid, 16);
	crypto_core_ristretto255_random(it.point);
	srv_setup();
	srv_request(P2_FLAG_WANT_ESCROW | P2_FLAG_SHOWS_STATUS, 1, &it, ca, &ca_len);
	ck_assert_mem_eq(p2_server_request(srv.s)->items[0].kid, it.kid, 16);
	ck_assert_int_eq(p2_server_send_result(srv.s, &res), 0);
	o = p2_server_output(srv.s, &olen);
	ck_assert_int_eq(srv_pull(&o, &olen, plain, &plen), TAG_MESSAGE);
	ck_assert_int_eq(p2_result_parse(plain, plen, p2_server_request(srv.s), &got), 0);
	ck_assert_int_eq(got.code, P2_NO_MATERIAL);
	ck_assert_int_eq(srv_pull(&o, &olen, plain, &plen), TAG_FINAL);
	/* EOF ends the linger too. */
	ck_assert_int_eq(p2_server_feed(srv.s, NULL, 0, T0, NULL, NULL), P2_EV_DONE);
	srv_teardown();
}
END_TEST

START_TEST(server_peer_final_aborts)
{
	uint8_t ca[600], fin[64];
	P2Result res = {.code = P2_DENIED};
	P2Status st = {.code = P2_STATUS_AWAITING_APPROVAL, .value = 30};
	size_t ca_len, used, before;

	srv_setup();
	srv_request(WANT, 0, NULL, ca, &ca_len);
	ck_assert_int_eq(p2_server_send_status(srv.s, &st), 0);
	before = out_len_server(srv.s);
	ck_assert_uint_gt(before, 0);
	ck_assert_int_eq(
	        p2_server_feed(srv.s, fin, dm(&srv.push, NULL, 0, TAG_FINAL, fin), T0, &used, NULL),
	        P2_EV_PEER_FINAL);
	ck_assert_uint_eq(out_len_server(srv.s), before);
	ck_assert_int_eq(p2_server_send_result(srv.s, &res), -EINVAL);
	srv_teardown();
}
END_TEST

START_TEST(server_bytes_before_result)
{
	uint8_t ca[600], msg[64];
	size_t ca_len, n;

	/* Part of a FINAL, a message that is not a FINAL: both abort with an error. */
	srv_setup();
	srv_request(WANT, 0, NULL, ca, &ca_len);
	n = dm(&srv.push, NULL, 0, TAG_FINAL, msg);
	srv_fails(msg, n - 1);
	srv_teardown();
	srv_setup();
	srv_request(WANT, 0, NULL, ca, &ca_len);
	srv_fails(msg, dm(&srv.push, (const uint8_t *)"x", 1, TAG_MESSAGE, msg));
	srv_teardown();
}
END_TEST

START_TEST(server_status_only_if_shown)
{
	uint8_t ca[600];
	P2Status st = {.code = P2_STATUS_AWAITING_APPROVAL, .value = 30};
	size_t ca_len;

	srv_setup();
	srv_request(P2_FLAG_WANT_SEALED, 0, NULL, ca, &ca_len);
	ck_assert_int_eq(p2_server_send_status(srv.s, &st), 0);
	ck_assert_uint_eq(out_len_server(srv.s), 0);
	srv_teardown();
}
END_TEST

START_TEST(server_abort_final)
{
	uint8_t ca[600], plain[64];
	const uint8_t *o;
	size_t ca_len, olen, plen;

	srv_hello();
	ck_assert_int_eq(p2_server_send_final(srv.s), -ENOTCONN);
	srv_teardown();
	srv_setup();
	srv_request(WANT, 0, NULL, ca, &ca_len);
	ck_assert_int_eq(p2_server_send_final(srv.s), 0);
	o = p2_server_output(srv.s, &olen);
	ck_assert_int_eq(srv_pull(&o, &olen, plain, &plen), TAG_FINAL);
	srv_teardown();
}
END_TEST

START_TEST(server_eof_early)
{
	srv_hello();
	ck_assert_int_eq(srv_fails(NULL, 0), -EPROTO);
	srv_teardown();
}
END_TEST

/* ---- the client against a hand-made server ---- */

typedef struct Cli {
	P2Identity *client, *server;
	P2SealKey *seal;
	P2Pins pins;
	P2ClientSession *c;
	Stream push, pull; /* the fake server's streams */
	uint8_t ch[48], sh[72], ch2[32], th[32], ca[600];
	size_t ca_len;
	uint8_t rx[32], tx[32], kx_pk[32], kx_sk[32];
} Cli;

static Cli cli;

/* Escrow items and the blind callback for the next cli_new() (zeroed by cli_teardown()). */
static struct {
	const P2EscrowItem *items;
	uint8_t n;
	int (*blind)(void *userdata, P2EscrowItem *items, uint8_t n_items);
} cli_escrow;

static void cli_new(bool pinned)
{
	uint8_t sk[32], id[32];
	const uint8_t *o;
	size_t olen;

	memset(&cli, 0, sizeof(cli));
	cli.client = random_identity();
	cli.server = random_identity();
	randombytes_buf(sk, 32);
	ck_assert_int_eq(p2_seal_key_from_secret(sk, &cli.seal), 0);
	if (pinned) {
		p2_key_id_raw(cli.server->pk, id);
		cli.pins.configured = true;
		cli.pins.n = 1;
		memcpy(cli.pins.ids[0], id, 32);
	}
	P2ClientConfig cfg = {.identity = cli.client,
	                      .seal = cli.seal,
	                      .pins = &cli.pins,
	                      .n_items = cli_escrow.n,
	                      .items = cli_escrow.items,
	                      .blind = cli_escrow.blind};
	ck_assert_int_eq(p2_client_new(&cfg, T0, &cli.c), 0);
	ck_assert_uint_eq(p2_client_deadline(cli.c), T0 + 5 * SEC);
	o = p2_client_output(cli.c, &olen);
	ck_assert_uint_eq(olen, 51);
	ck_assert_mem_eq(o, "2\r\nmandos v2 client", 19);
	memcpy(cli.ch, o + 3, 48);
	p2_client_output_consume(cli.c, olen);
	crypto_kx_keypair(cli.kx_pk, cli.kx_sk);
	memcpy(cli.sh, "mandos v2 server", 16);
	memcpy(cli.sh + 16, cli.kx_pk, 32);
}

/* Up to a client waiting for SERVER_AUTH, CLIENT_AUTH read by the fake server. */
static void cli_setup(bool pinned)
{
	unsigned long long mlen;
	unsigned char tag;
	const uint8_t *o;
	size_t olen, used;

	cli_new(pinned);
	ck_assert_int_eq(
	        crypto_kx_server_session_keys(cli.rx, cli.tx, cli.kx_pk, cli.kx_sk, cli.ch + 16),
	        0);
	crypto_secretstream_xchacha20poly1305_init_push(&cli.push, cli.sh + 48, cli.tx);
	ck_assert_int_eq(p2_client_feed(cli.c, cli.sh, 72, T0 + 1, &used, NULL), P2_EV_NONE);
	ck_assert_uint_eq(used, 72);
	o = p2_client_output(cli.c, &olen);
	ck_assert_uint_eq(olen, 32 + 16 + 17 + 103);
	memcpy(cli.ch2, o, 32);
	ck_assert_mem_eq(cli.ch2, "cheader0", 8);
	crypto_secretstream_xchacha20poly1305_init_pull(&cli.pull, cli.ch2 + 8, cli.rx);
	ck_assert_int_eq(crypto_secretstream_xchacha20poly1305_pull(&cli.pull, cli.ca, &mlen, &tag,
	                                                            o + 48, olen - 48, NULL, 0),
	                 0);
	cli.ca_len = mlen;
	p2_transcript_hash(cli.ch, cli.sh, cli.ch2, cli.th);
	p2_client_output_consume(cli.c, olen);
	ck_assert_uint_eq(cli.ca_len, 103);
	ck_assert_uint_eq(cli.ca[98], P2_FLAG_WANT_SEALED | P2_FLAG_SHOWS_STATUS);
}

static void cli_teardown(void)
{
	cli.c = p2_client_free(cli.c);
	cli.client = p2_identity_free(cli.client);
	cli.server = p2_identity_free(cli.server);
	cli.seal = p2_seal_key_free(cli.seal);
	memset(&cli_escrow, 0, sizeof(cli_escrow));
}

static int cli_fails(const uint8_t *b, size_t n)
{
	size_t before = out_len_client(cli.c), used = 0;
	const char *why = NULL;
	int r = p2_client_feed(cli.c, b, n, T0 + SEC, &used, &why);

	ck_assert_int_lt(r, 0);
	ck_assert_ptr_nonnull(why);
	ck_assert_uint_eq(out_len_client(cli.c), before);
	ck_assert_ptr_null(p2_client_result(cli.c));
	return r;
}

static size_t cli_sa(uint8_t *out, uint8_t tag, bool flip)
{
	uint8_t sa[P2_SERVER_AUTH_LEN];

	p2_server_auth_build(cli.server, cli.th, cli.ca, cli.ca_len, sa);
	if (flip) {
		sa[40] ^= 1;
	}
	return dm(&cli.push, sa, sizeof(sa), tag, out);
}

static void cli_auth(bool pinned)
{
	uint8_t buf[256];
	size_t used;

	cli_setup(pinned);
	ck_assert_int_eq(
	        p2_client_feed(cli.c, buf, cli_sa(buf, TAG_MESSAGE, false), T0 + 2, &used, NULL),
	        P2_EV_AUTHENTICATED);
	ck_assert_uint_eq(p2_client_deadline(cli.c), T0 + 2 + 45 * SEC);
	ck_assert_int_eq(p2_client_server_pinned(cli.c), pinned);
}

/* Part B: the blind callback sets x after the ClientHello2 header, or fails the session. */
static unsigned blind_calls;
static uint8_t blind_x[32];

static int blind_ok(void *userdata, P2EscrowItem *items, uint8_t n)
{
	ck_assert_ptr_null(userdata);
	ck_assert_uint_eq(n, 1);
	blind_calls++;
	memcpy(items[0].point, blind_x, 32);
	return 0;
}

static int blind_fails(void *userdata, P2EscrowItem *items, uint8_t n)
{
	blind_calls++;
	return -EINVAL;
}

START_TEST(client_blind_callback)
{
	P2EscrowItem item;
	uint8_t scalar[32], ca[200];
	unsigned long long mlen;
	unsigned char tag;
	const uint8_t *o;
	size_t olen, used;
	const char *why = NULL;

	memset(item.kid, 0x11, sizeof(item.kid));
	crypto_core_ristretto255_scalar_random(scalar);
	crypto_scalarmult_ristretto255_base(item.point, scalar);
	crypto_core_ristretto255_scalar_random(scalar);
	crypto_scalarmult_ristretto255_base(blind_x, scalar);
	cli_escrow.items = &item;
	cli_escrow.n = 1;
	cli_escrow.blind = blind_ok;
	blind_calls = 0;
	cli_new(false);
	ck_assert_uint_eq(blind_calls, 0); /* not before the ServerHello */
	ck_assert_int_eq(
	        crypto_kx_server_session_keys(cli.rx, cli.tx, cli.kx_pk, cli.kx_sk, cli.ch + 16),
	        0);
	crypto_secretstream_xchacha20poly1305_init_push(&cli.push, cli.sh + 48, cli.tx);
	ck_assert_int_eq(p2_client_feed(cli.c, cli.sh, 72, T0 + 1, &used, NULL), P2_EV_NONE);
	ck_assert_uint_eq(blind_calls, 1);
	o = p2_client_output(cli.c, &olen);
	ck_assert_uint_eq(olen, 32 + 16 + 17 + 103 + 48);
	crypto_secretstream_xchacha20poly1305_init_pull(&cli.pull, o + 8, cli.rx);
	ck_assert_int_eq(crypto_secretstream_xchacha20poly1305_pull(&cli.pull, ca, &mlen, &tag,
	                                                            o + 48, olen - 48, NULL, 0),
	                 0);
	ck_assert_uint_eq(mlen, 151);
	ck_assert_uint_eq(ca[98], P2_FLAG_WANT_SEALED | P2_FLAG_WANT_ESCROW | P2_FLAG_SHOWS_STATUS);
	ck_assert_uint_eq(ca[102], 1);
	ck_assert_mem_eq(ca + 103, item.kid, 16);
	ck_assert_mem_eq(ca + 119, blind_x, 32);
	cli_teardown();

	cli_escrow.items = &item;
	cli_escrow.n = 1;
	cli_escrow.blind = blind_fails;
	blind_calls = 0;
	cli_new(false);
	ck_assert_int_eq(p2_client_feed(cli.c, cli.sh, 72, T0 + 1, &used, &why), -EBADMSG);
	ck_assert_str_eq(why, "cannot blind the escrow items");
	ck_assert_uint_eq(blind_calls, 1);
	ck_assert_uint_eq(out_len_client(cli.c), 0);
	cli_teardown();
}
END_TEST

START_TEST(client_eof_before_server_hello)
{
	cli_new(false);
	ck_assert_int_eq(cli_fails(NULL, 0), -ECONNRESET);
	cli_teardown();
	cli_new(false);
	ck_assert_int_eq(p2_client_feed(cli.c, cli.sh, 10, T0, NULL, NULL), P2_EV_NONE);
	ck_assert_int_eq(cli_fails(NULL, 0), -EPROTO);
	cli_teardown();
}
END_TEST

START_TEST(client_server_hello_magic)
{
	cli_new(false);
	cli.sh[3] ^= 1;
	cli_fails(cli.sh, 72);
	cli_teardown();
}
END_TEST

START_TEST(client_server_kx_zero)
{
	cli_new(false);
	memset(cli.sh + 16, 0, 32);
	cli_fails(cli.sh, 72);
	ck_assert_uint_eq(out_len_client(cli.c), 0);
	cli_teardown();
}
END_TEST

START_TEST(client_sig_flipped)
{
	uint8_t buf[256];

	cli_setup(false);
	cli_fails(buf, cli_sa(buf, TAG_MESSAGE, true));
	cli_teardown();
}
END_TEST

START_TEST(client_sa_rekey)
{
	uint8_t buf[256];

	cli_setup(false);
	cli_fails(buf, cli_sa(buf, TAG_REKEY, false));
	cli_teardown();
}
END_TEST

START_TEST(client_not_pinned)
{
	uint8_t buf[256];

	cli_setup(false);
	cli.pins.configured = true; /* a pins file with only bad lines */
	ck_assert_int_eq(cli_fails(buf, cli_sa(buf, TAG_MESSAGE, false)), -EPERM);
	ck_assert_ptr_nonnull(p2_client_server_key_id(cli.c));
	cli_teardown();
	cli_setup(true);
	cli.pins.ids[0][5] ^= 1; /* another server's id */
	ck_assert_int_eq(cli_fails(buf, cli_sa(buf, TAG_MESSAGE, false)), -EPERM);
	cli_teardown();
}
END_TEST

START_TEST(client_unpinned_accepted)
{
	char id[P2_KEY_ID_HEX_SIZE];

	cli_auth(false);
	p2_key_id_hex(cli.server->pk, id);
	ck_assert_str_eq(p2_client_server_key_id(cli.c), id);
	cli_teardown();
	cli_auth(true);
	cli_teardown();
}
END_TEST

static size_t status_dm(uint8_t *out, const char *text)
{
	uint8_t m[512];
	size_t tlen = strlen(text);

	m[0] = 1;
	m[1] = 3;
	m[2] = 1;
	m[3] = 1;
	memset(m + 4, 0, 4);
	m[4] = 30;
	m[8] = (uint8_t)tlen;
	m[9] = (uint8_t)(tlen >> 8);
	memcpy(m + 10, text, tlen);
	return dm(&cli.push, m, 10 + tlen, TAG_MESSAGE, out);
}

START_TEST(client_status_escape)
{
	uint8_t buf[512];
	size_t used;

	cli_auth(false);
	ck_assert_int_eq(p2_client_feed(cli.c, buf, status_dm(buf, "waiting"), T0 + 3, &used, NULL),
	                 P2_EV_STATUS);
	ck_assert_str_eq(p2_client_status(cli.c)->text, "waiting");
	ck_assert_uint_eq(p2_client_status(cli.c)->value, 30);
	cli_fails(buf, status_dm(buf, "bad \x1b[2J"));
	cli_teardown();
}
END_TEST

START_TEST(client_status_flood)
{
	uint8_t buf[30 * 64];
	size_t n = 0, at = 0, used;
	int r = 0, events = 0;

	cli_auth(false);
	for (int i = 0; i < 30; i++) {
		n += status_dm(buf + n, "x");
	}
	/* 30 at once: the bucket of 10 runs dry. */
	while (at < n) {
		r = p2_client_feed(cli.c, buf + at, n - at, T0 + 3, &used, NULL);
		if (r < 0) {
			break;
		}
		ck_assert_int_eq(r, P2_EV_STATUS);
		events++;
		at += used;
	}
	ck_assert_int_lt(r, 0);
	ck_assert_int_eq(events, 10);
	cli_teardown();
	/* One per second is fine for long. */
	cli_auth(false);
	for (int i = 0; i < 40; i++) {
		ck_assert_int_eq(p2_client_feed(cli.c, buf, status_dm(buf, "x"), T0 + 3 + i * SEC,
		                                &used, NULL),
		                 P2_EV_STATUS);
	}
	cli_teardown();
}
END_TEST

/* A RESULT plaintext by hand: head, nitems, then raw item bytes. */
static size_t result_raw(uint8_t *m, uint8_t code, uint8_t nitems, const uint8_t *items,
                         size_t items_len)
{
	memset(m, 0, 11);
	m[0] = 1;
	m[1] = 4;
	m[2] = code;
	m[10] = nitems;
	if (items_len > 0) {
		memcpy(m + 11, items, items_len);
	}
	return 11 + items_len;
}

static size_t sealed_item(uint8_t *it, const char *secret, const uint8_t pk[32])
{
	size_t len = strlen(secret) + 48;

	it[0] = P2_ITEM_SEALED;
	it[1] = (uint8_t)len;
	it[2] = (uint8_t)(len >> 8);
	ck_assert_int_eq(p2_seal((const uint8_t *)secret, strlen(secret), pk, it + 3, len), 0);
	return 3 + len;
}

static void cli_result_fails(const uint8_t *m, size_t mlen)
{
	uint8_t buf[1024];
	size_t n = dm(&cli.push, m, mlen, TAG_MESSAGE, buf);

	n += dm(&cli.push, NULL, 0, TAG_FINAL, buf + n);
	cli_fails(buf, n);
}

START_TEST(client_result_rules)
{
	uint8_t it[256], m[512], it2[64];
	size_t ilen, mlen;

	cli_auth(false); /* trailing byte */
	ilen = sealed_item(it, "pw", cli.seal->pk);
	mlen = result_raw(m, P2_OK, 1, it, ilen);
	m[mlen++] = 0;
	cli_result_fails(m, mlen);
	cli_teardown();

	cli_auth(false); /* an item length running past the end */
	ilen = sealed_item(it, "pw", cli.seal->pk);
	it[1]++;
	cli_result_fails(m, result_raw(m, P2_OK, 1, it, ilen));
	cli_teardown();

	cli_auth(false); /* an unrequested item (ESCROW; the request had no kids) */
	it2[0] = P2_ITEM_ESCROW;
	it2[1] = 48;
	it2[2] = 0;
	randombytes_buf(it2 + 3, 16);
	crypto_core_ristretto255_random(it2 + 19);
	cli_result_fails(m, result_raw(m, P2_OK, 1, it2, 51));
	cli_teardown();

	cli_auth(false); /* OK with no items */
	cli_result_fails(m, result_raw(m, P2_OK, 0, NULL, 0));
	cli_teardown();

	cli_auth(false); /* a refusal with an item */
	ilen = sealed_item(it, "pw", cli.seal->pk);
	cli_result_fails(m, result_raw(m, P2_DENIED, 1, it, ilen));
	cli_teardown();

	cli_auth(false); /* two SEALED items */
	ilen = sealed_item(it, "pw", cli.seal->pk);
	memcpy(it + ilen, it, ilen);
	cli_result_fails(m, result_raw(m, P2_OK, 2, it, 2 * ilen));
	cli_teardown();

	cli_auth(false); /* unknown kind */
	ilen = sealed_item(it, "pw", cli.seal->pk);
	it[0] = 3;
	cli_result_fails(m, result_raw(m, P2_OK, 1, it, ilen));
	cli_teardown();
}
END_TEST

START_TEST(client_result_needs_final)
{
	uint8_t it[256], m[512], buf[1024];
	size_t ilen, mlen, n, used;

	/* EOF after RESULT: discarded. */
	cli_auth(false);
	ilen = sealed_item(it, "pw", cli.seal->pk);
	mlen = result_raw(m, P2_OK, 1, it, ilen);
	n = dm(&cli.push, m, mlen, TAG_MESSAGE, buf);
	ck_assert_int_eq(p2_client_feed(cli.c, buf, n, T0 + 3, &used, NULL), P2_EV_NONE);
	ck_assert_uint_eq(p2_client_deadline(cli.c), T0 + 3 + 10 * SEC);
	/* The client queued its own FINAL. */
	ck_assert_uint_eq(out_len_client(cli.c), 33);
	ck_assert_ptr_null(p2_client_result(cli.c));
	ck_assert(p2_client_result_unconfirmed(cli.c));
	cli_fails(NULL, 0);
	ck_assert(p2_client_result_unconfirmed(cli.c));
	cli_teardown();
	/* A STATUS instead of the FINAL. */
	cli_auth(false);
	n = dm(&cli.push, m, mlen, TAG_MESSAGE, buf);
	ck_assert_int_eq(p2_client_feed(cli.c, buf, n, T0 + 3, &used, NULL), P2_EV_NONE);
	cli_fails(buf, status_dm(buf, "x"));
	cli_teardown();
}
END_TEST

START_TEST(client_result_ok)
{
	uint8_t it[256], m[512], buf[1024];
	size_t ilen, n, used;
	const P2Result *res;
	SecBuf *secret = NULL;

	cli_auth(true);
	ilen = sealed_item(it, "hunter2", cli.seal->pk);
	n = dm(&cli.push, m, result_raw(m, P2_OK, 1, it, ilen), TAG_MESSAGE, buf);
	n += dm(&cli.push, NULL, 0, TAG_FINAL, buf + n);
	ck_assert_int_eq(p2_client_feed(cli.c, buf, n, T0 + 3, &used, NULL), P2_EV_RESULT);
	ck_assert_uint_eq(used, n);
	ck_assert(!p2_client_result_unconfirmed(cli.c));
	res = p2_client_result(cli.c);
	ck_assert_ptr_nonnull(res);
	ck_assert_int_eq(res->code, P2_OK);
	ck_assert_int_eq(p2_sealed_open(res->items[0].data, res->items[0].len, cli.seal, &secret),
	                 0);
	ck_assert_str_eq((char *)secret->data, "hunter2");
	secbuf_free(secret);
	cli_teardown();
}
END_TEST

START_TEST(client_sealed_does_not_open)
{
	uint8_t it[256], m[512], buf[1024], other[32];
	size_t ilen, n, used;
	const P2Result *res;
	SecBuf *secret = NULL;

	cli_auth(false);
	randombytes_buf(other, 32);
	other[31] &= 0x7f;
	ilen = sealed_item(it, "hunter2", other);
	n = dm(&cli.push, m, result_raw(m, P2_OK, 1, it, ilen), TAG_MESSAGE, buf);
	n += dm(&cli.push, NULL, 0, TAG_FINAL, buf + n);
	ck_assert_int_eq(p2_client_feed(cli.c, buf, n, T0 + 3, &used, NULL), P2_EV_RESULT);
	res = p2_client_result(cli.c);
	ck_assert_int_eq(p2_sealed_open(res->items[0].data, res->items[0].len, cli.seal, &secret),
	                 -EBADMSG);
	ck_assert_ptr_null(secret);
	cli_teardown();
}
END_TEST

START_TEST(client_refusal_and_abort)
{
	uint8_t m[512], buf[1024], plain[64];
	unsigned long long mlen;
	unsigned char tag;
	const uint8_t *o;
	size_t n, used, olen;

	cli_auth(false);
	n = dm(&cli.push, m, result_raw(m, P2_UNKNOWN_CLIENT, 0, NULL, 0), TAG_MESSAGE, buf);
	n += dm(&cli.push, NULL, 0, TAG_FINAL, buf + n);
	ck_assert_int_eq(p2_client_feed(cli.c, buf, n, T0 + 3, &used, NULL), P2_EV_RESULT);
	ck_assert_int_eq(p2_client_result(cli.c)->code, P2_UNKNOWN_CLIENT);
	cli_teardown();

	/* Abort before SERVER_AUTH: a FINAL the server can read. */
	cli_new(false);
	ck_assert_int_eq(p2_client_send_final(cli.c), -ENOTCONN);
	cli_teardown();
	cli_setup(false);
	ck_assert_int_eq(p2_client_send_final(cli.c), 0);
	o = p2_client_output(cli.c, &olen);
	ck_assert_uint_eq(olen, 33);
	ck_assert_int_eq(crypto_secretstream_xchacha20poly1305_pull(&cli.pull, plain, &mlen, &tag,
	                                                            o + 16, 17, NULL, 0),
	                 0);
	ck_assert_int_eq(tag, TAG_FINAL);
	cli_teardown();
}
END_TEST

START_TEST(client_other_first_message)
{
	uint8_t buf[1024];

	/* A STATUS first, or a FINAL first. */
	cli_setup(false);
	cli_fails(buf, status_dm(buf, "x"));
	cli_teardown();
	cli_setup(false);
	cli_fails(buf, dm(&cli.push, NULL, 0, TAG_FINAL, buf));
	cli_teardown();
	/* A second SERVER_AUTH. */
	cli_auth(false);
	cli_fails(buf, cli_sa(buf, TAG_MESSAGE, false));
	cli_teardown();
}
END_TEST

/* Both real sessions, through memory, byte by byte: every split point is handled. */
START_TEST(sessions_byte_by_byte)
{
	P2Identity *sid = random_identity(), *cid = random_identity();
	P2ServerSession *s = NULL;
	P2ClientSession *c = NULL;
	uint8_t sk[32], box[256];
	P2SealKey *seal = NULL;
	bool got_result = false, got_request = false, done = false;
	SecBuf *secret = NULL;

	randombytes_buf(sk, 32);
	ck_assert_int_eq(p2_seal_key_from_secret(sk, &seal), 0);
	ck_assert_int_eq(p2_seal((const uint8_t *)"pw", 2, seal->pk, box, sizeof(box)), 0);
	P2ClientConfig cfg = {.identity = cid, .seal = seal};
	ck_assert_int_eq(p2_client_new(&cfg, T0, &c), 0);
	for (int round = 0; round < 20 && !(got_result && done); round++) {
		const uint8_t *o;
		size_t olen, used;
		int r;

		o = p2_client_output(c, &olen);
		/* The server's dispatch reads the version line. */
		if (round == 0) {
			ck_assert_mem_eq(o, "2\r\n", 3);
			ck_assert_int_eq(p2_server_new(sid, NULL, T0, &s), 0);
			o += 3;
			olen -= 3;
			p2_client_output_consume(c, 3);
		}
		for (size_t i = 0; i < olen; i++) {
			r = p2_server_feed(s, o + i, 1, T0, &used, NULL);
			ck_assert_int_ge(r, 0);
			ck_assert_uint_eq(used, 1);
			if (r == P2_EV_REQUEST) {
				P2Result res = {.code = P2_OK, .n_items = 1};
				P2Status st = {.code = 1, .value = 5, .tlen = 2, .text = "hi"};

				ck_assert_int_eq(p2_server_send_status(s, &st), 0);
				res.items[0] = (P2ResultItem){P2_ITEM_SEALED, 50, box};
				ck_assert_int_eq(p2_server_send_result(s, &res), 0);
				got_request = true;
			}
			if (r == P2_EV_DONE) {
				done = true;
			}
		}
		p2_client_output_consume(c, olen);
		o = p2_server_output(s, &olen);
		for (size_t i = 0; i < olen; i++) {
			r = p2_client_feed(c, o + i, 1, T0, &used, NULL);
			ck_assert_int_ge(r, 0);
			if (r == P2_EV_RESULT) {
				got_result = true;
			}
		}
		p2_server_output_consume(s, olen);
	}
	ck_assert(got_request && got_result && done);
	ck_assert_int_eq(p2_sealed_open(p2_client_result(c)->items[0].data, 50, seal, &secret), 0);
	ck_assert_str_eq((char *)secret->data, "pw");
	secbuf_free(secret);
	p2_client_free(c);
	p2_server_free(s);
	p2_identity_free(sid);
	p2_identity_free(cid);
	p2_seal_key_free(seal);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("p2-sessions");
	TCase *ts = tcase_create("server"), *tc = tcase_create("client");

	if (sodium_init() < 0) {
		return 99;
	}
	tcase_add_test(ts, server_magic_wrong);
	tcase_add_test(ts, server_magic_tomsg);
	tcase_add_test(ts, server_kx_zero);
	tcase_add_test(ts, server_stalls);
	tcase_add_test(ts, server_ch2_magic);
	tcase_add_test(ts, server_dm_magic);
	tcase_add_test(ts, server_n_small);
	tcase_add_test(ts, server_n_large);
	tcase_add_test(ts, server_flip_bit);
	tcase_add_test(ts, server_tags);
	tcase_add_test(ts, server_finals);
	tcase_add_test(ts, server_layouts);
	tcase_add_test(ts, server_signatures);
	tcase_add_test(ts, server_dup_auth);
	tcase_add_test(ts, server_half_close);
	tcase_add_test(ts, server_points);
	tcase_add_test(ts, server_escrow_flags);
	tcase_add_test(ts, server_answers_unknown_client);
	tcase_add_test(ts, server_answers_foreign_kid);
	tcase_add_test(ts, server_peer_final_aborts);
	tcase_add_test(ts, server_bytes_before_result);
	tcase_add_test(ts, server_status_only_if_shown);
	tcase_add_test(ts, server_abort_final);
	tcase_add_test(ts, server_eof_early);
	tcase_add_test(tc, client_eof_before_server_hello);
	tcase_add_test(tc, client_blind_callback);
	tcase_add_test(tc, client_server_hello_magic);
	tcase_add_test(tc, client_server_kx_zero);
	tcase_add_test(tc, client_sig_flipped);
	tcase_add_test(tc, client_sa_rekey);
	tcase_add_test(tc, client_not_pinned);
	tcase_add_test(tc, client_unpinned_accepted);
	tcase_add_test(tc, client_status_escape);
	tcase_add_test(tc, client_status_flood);
	tcase_add_test(tc, client_result_rules);
	tcase_add_test(tc, client_result_needs_final);
	tcase_add_test(tc, client_result_ok);
	tcase_add_test(tc, client_sealed_does_not_open);
	tcase_add_test(tc, client_refusal_and_abort);
	tcase_add_test(tc, client_other_first_message);
	tcase_add_test(tc, sessions_byte_by_byte);
	suite_add_tcase(s, ts);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
