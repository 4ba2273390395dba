/* SPDX-License-Identifier: GPL-3.0-or-later */
/* mandos-client's escrow bindings: loading, items, and what answers open (threshold counting). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "bindings.h"
#include "escrow.h"
#include "p2.h"
#include "secmem.h"
#include "unit-main.h"

static const char PW[] = "the disk password\n";
static uint8_t client_raw[P2_KEY_ID_LEN];
static uint8_t server_raw[3][P2_KEY_ID_LEN];
static char server_hex[3][P2_KEY_ID_HEX_SIZE];
static char dir[64];

static void setup(void)
{
	ck_assert_int_ge(secmem_init(), 0);
	randombytes_buf(client_raw, sizeof(client_raw));
	for (int i = 0; i < 3; i++) {
		randombytes_buf(server_raw[i], P2_KEY_ID_LEN);
		p2_hex_upper(server_raw[i], P2_KEY_ID_LEN, server_hex[i]);
	}
	strcpy(dir, "/tmp/test-bindings.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
}

static void write_binding(const char *name, const P2Binding *b)
{
	char path[128], *text = p2_binding_format(b);
	FILE *f;

	ck_assert_ptr_nonnull(text);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	free(text);
}

/* A single binding (servers: the first n_servers test servers); its scalar in S. */
static void make_single(const char *name, unsigned n_servers, uint8_t S[P2_SCALAR_LEN])
{
	P2Binding b = {};

	ck_assert_int_eq(p2_escrow_enrol(client_raw, (const uint8_t *)PW, strlen(PW), &b, S), 0);
	for (unsigned i = 0; i < n_servers; i++) {
		memcpy(b.keys[0].servers[i], server_raw[i], P2_KEY_ID_LEN);
	}
	b.keys[0].n_servers = (uint8_t)n_servers;
	write_binding(name, &b);
	p2_binding_done(&b);
}

/* A 2-of-3 threshold binding, share i for test server i; the scalars in S. */
static void make_threshold(const char *name, bool corrupt, uint8_t S[3][P2_SCALAR_LEN])
{
	P2Binding b = {};

	ck_assert_int_eq(
	        p2_threshold_enrol(client_raw, 2, 3, (const uint8_t *)PW, strlen(PW), &b, S), 0);
	for (int i = 0; i < 3; i++) {
		memcpy(b.keys[i].servers[0], server_raw[i], P2_KEY_ID_LEN);
		b.keys[i].n_servers = 1;
	}
	if (corrupt) {
		b.data_box[0] ^= 1;
	}
	write_binding(name, &b);
	p2_binding_done(&b);
}

/* The answer of a server holding S to item q of ses. */
static void answer(const EscrowSession *ses, size_t q, const uint8_t S[P2_SCALAR_LEN],
                   uint8_t data[P2_ESCROW_ITEM_LEN], P2Result *res)
{
	memcpy(data, ses->items[q].kid, P2_KID_LEN);
	ck_assert_int_eq(p2_escrow_evaluate(S, ses->items[q].point, data + P2_KID_LEN), 0);
	*res = (P2Result){.code = P2_OK, .n_items = 1};
	res->items[0] =
	        (P2ResultItem){.kind = P2_ITEM_ESCROW, .len = P2_ESCROW_ITEM_LEN, .data = data};
}

/* bindings_answer() for item q answered with S by test server `server`. */
static int ask(EscrowBindings *bs, size_t q, const uint8_t S[P2_SCALAR_LEN], int server,
               SecBuf **secret)
{
	EscrowSession *ses = NULL;
	const EscrowBinding *from = NULL;
	P2EscrowItem items[P2_MAX_ESCROW_ITEMS];
	uint8_t data[P2_ESCROW_ITEM_LEN];
	P2Result res;
	int r;

	ck_assert_int_eq(bindings_session_new(bs, &ses), 0);
	memcpy(items, ses->items, sizeof(items));
	ck_assert_int_eq(bindings_session_blind(bs, ses, items, ses->n), 0);
	ck_assert_mem_eq(items[q].point, ses->items[q].point, P2_POINT_LEN);
	answer(ses, q, S, data, &res);
	r = bindings_answer(bs, ses, &res, "[::1]:1", server_hex[server], client_raw, secret,
	                    &from);
	bindings_session_free(ses);
	return r;
}

START_TEST(load_order_and_errors)
{
	uint8_t S[P2_SCALAR_LEN];
	char path[128], cmd[300];
	EscrowBindings bs;
	FILE *f;

	make_single("escrow-b.conf", 0, S);
	make_single("escrow-a.conf", 0, S);
	snprintf(path, sizeof(path), "%s/escrow-c.conf", dir);
	f = fopen(path, "w");
	fputs("version = 1\nnonsense = 1\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/other.txt", dir);
	f = fopen(path, "w");
	fclose(f);
	/* A copy of a: the same kid, left out. */
	snprintf(cmd, sizeof(cmd), "cp '%s/escrow-a.conf' '%s/escrow-d.conf'", dir, dir);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(bindings_load(&bs, dir, false), 0);
	ck_assert_uint_eq(bs.n, 2);
	ck_assert_str_eq(bs.list[0].file, "escrow-a.conf");
	ck_assert_str_eq(bs.list[1].file, "escrow-b.conf");
	ck_assert_uint_eq(bs.n_items, 2);
	ck_assert(!bs.any_threshold);
	bindings_done(&bs);
	/* No directory: no bindings, no error. */
	ck_assert_int_eq(bindings_load(&bs, "/nonexistent/escrow", false), 0);
	ck_assert_uint_eq(bs.n, 0);
	bindings_done(&bs);
}
END_TEST

START_TEST(item_limit)
{
	uint8_t S[3][P2_SCALAR_LEN];
	EscrowBindings bs;

	make_threshold("escrow-1.conf", false, S);
	make_threshold("escrow-2.conf", false, S);
	make_threshold("escrow-3.conf", false, S);
	make_single("escrow-4.conf", 0, S[0]);
	ck_assert_int_eq(bindings_load(&bs, dir, false), 0);
	ck_assert_uint_eq(bs.n_items, 8);
	ck_assert_uint_eq(bs.n, 3);
	ck_assert_uint_eq(bs.list[2].n_used, 2);
	ck_assert(bs.any_threshold);
	bindings_done(&bs);
}
END_TEST

/*
 * §B.4.3 step 3: every session carries every item, in item order (binding files in name order,
 * shares in index order), each blinded with its own E, fresh in every session: the [E]G = x - c
 * of all items of two sessions are pairwise distinct.
 */
START_TEST(items_per_session)
{
	uint8_t S[3][P2_SCALAR_LEN], eg[2 * 4][P2_POINT_LEN];
	P2EscrowItem items[P2_MAX_ESCROW_ITEMS];
	EscrowSession *ses[2] = {};
	EscrowBindings bs;

	make_threshold("escrow-b.conf", false, S);
	make_single("escrow-a.conf", 0, S[0]);
	ck_assert_int_eq(bindings_load(&bs, dir, false), 0);
	ck_assert_uint_eq(bs.n_items, 4);
	for (int t = 0; t < 2; t++) {
		ck_assert_int_eq(bindings_session_new(&bs, &ses[t]), 0);
		ck_assert_uint_eq(ses[t]->n, 4);
		memcpy(items, ses[t]->items, sizeof(items));
		ck_assert_int_eq(bindings_session_blind(&bs, ses[t], items, ses[t]->n), 0);
		for (size_t q = 0; q < 4; q++) {
			/* Item 0: escrow-a.conf's key; items 1 to 3: escrow-b.conf's shares. */
			const P2BindingKey *k = &bs.list[q == 0 ? 0 : 1].b.keys[q == 0 ? 0 : q - 1];

			ck_assert_mem_eq(items[q].kid, k->kid, P2_KID_LEN);
			ck_assert_mem_eq(ses[t]->items[q].point, items[q].point, P2_POINT_LEN);
			ck_assert_int_eq(
			        crypto_core_ristretto255_sub(eg[4 * t + q], items[q].point, k->c),
			        0);
		}
	}
	ck_assert_str_eq(bs.list[0].file, "escrow-a.conf");
	for (size_t i = 0; i < 8; i++) {
		for (size_t j = 0; j < i; j++) {
			ck_assert_mem_ne(eg[i], eg[j], P2_POINT_LEN);
		}
	}
	bindings_session_free(ses[0]);
	bindings_session_free(ses[1]);
	bindings_done(&bs);
}
END_TEST

START_TEST(single)
{
	uint8_t S[P2_SCALAR_LEN], wrong[P2_SCALAR_LEN];
	EscrowBindings bs;
	SecBuf *secret = NULL;

	make_single("escrow-x.conf", 1, S);
	ck_assert_int_eq(bindings_load(&bs, dir, false), 0);
	ck_assert_uint_eq(bs.n_items, 1);
	/* The wrong scalar: a valid point that opens nothing. */
	crypto_core_ristretto255_scalar_random(wrong);
	ck_assert_int_eq(ask(&bs, 0, wrong, 0, &secret), 0);
	ck_assert_ptr_null(secret);
	/* The right answer from a server the binding does not name. */
	ck_assert_int_eq(ask(&bs, 0, S, 1, &secret), 0);
	ck_assert_ptr_null(secret);
	ck_assert(!bindings_want_from(&bs, server_hex[1]));
	ck_assert(bindings_want_from(&bs, server_hex[0]));
	/* The right answer from the named server. */
	ck_assert_int_eq(ask(&bs, 0, S, 0, &secret), 1);
	ck_assert_ptr_nonnull(secret);
	ck_assert_uint_eq(secret->len, strlen(PW));
	ck_assert_mem_eq(secret->data, PW, strlen(PW));
	secbuf_free(secret);
	bindings_done(&bs);
}
END_TEST

START_TEST(threshold)
{
	uint8_t S[3][P2_SCALAR_LEN], wrong[P2_SCALAR_LEN];
	EscrowBindings bs;
	SecBuf *secret = NULL;

	make_threshold("escrow-2of3-t.conf", false, S);
	ck_assert_int_eq(bindings_load(&bs, dir, false), 0);
	ck_assert_uint_eq(bs.n_items, 3);
	/* Share 1 from server 0, twice: one share. */
	ck_assert_int_eq(ask(&bs, 0, S[0], 0, &secret), 0);
	ck_assert_uint_eq(bs.list[0].n_opened, 1);
	ck_assert_int_eq(ask(&bs, 0, S[0], 0, &secret), 0);
	ck_assert_uint_eq(bs.list[0].n_opened, 1);
	ck_assert(!bindings_want_from(&bs, server_hex[0]));
	ck_assert(bindings_want_from(&bs, server_hex[1]));
	/* Share 2 from a server it does not name: ignored. */
	ck_assert_int_eq(ask(&bs, 1, S[1], 0, &secret), 0);
	ck_assert_uint_eq(bs.list[0].n_opened, 1);
	/* Share 2 forged: fails that share only. */
	crypto_core_ristretto255_scalar_random(wrong);
	ck_assert_int_eq(ask(&bs, 1, wrong, 1, &secret), 0);
	ck_assert_uint_eq(bs.list[0].n_opened, 1);
	ck_assert_ptr_null(secret);
	/* Share 3 from server 2: two of two, the password. */
	ck_assert_int_eq(ask(&bs, 2, S[2], 2, &secret), 1);
	ck_assert_ptr_nonnull(secret);
	ck_assert_mem_eq(secret->data, PW, strlen(PW));
	ck_assert(bs.list[0].opened[0] && bs.list[0].opened[2] && !bs.list[0].opened[1]);
	ck_assert_str_eq(bs.list[0].from[2], server_hex[2]);
	secbuf_free(secret);
	bindings_done(&bs);
}
END_TEST

START_TEST(threshold_corrupt)
{
	uint8_t S[3][P2_SCALAR_LEN];
	EscrowBindings bs;
	SecBuf *secret = NULL;

	make_threshold("escrow-2of3-c.conf", true, S);
	ck_assert_int_eq(bindings_load(&bs, dir, false), 0);
	ck_assert_int_eq(ask(&bs, 0, S[0], 0, &secret), 0);
	ck_assert_int_eq(ask(&bs, 1, S[1], 1, &secret), 0);
	ck_assert_ptr_null(secret);
	ck_assert(bs.list[0].unusable);
	ck_assert(!bindings_want_from(&bs, server_hex[2]));
	ck_assert_int_eq(ask(&bs, 2, S[2], 2, &secret), 0);
	ck_assert_ptr_null(secret);
	bindings_done(&bs);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mandos-client-bindings");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, load_order_and_errors);
	tcase_add_test(tc, item_limit);
	tcase_add_test(tc, items_per_session);
	tcase_add_test(tc, single);
	tcase_add_test(tc, threshold);
	tcase_add_test(tc, threshold_corrupt);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
