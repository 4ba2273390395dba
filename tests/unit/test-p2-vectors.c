/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Protocol 2 vectors (§A.12.2 keys, §A.12.3 Run A) through real sessions, one thread per party. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "escrow.h"
#include "io-util.h"
#include "keys.h"
#include "msg.h"
#include "p2.h"
#include "sealed.h"
#include "testrng.h"
#include "transport.h"
#include "unit-main.h"

#define PASSWORD "correct horse battery staple\n"

static const char *const A_sealed_secret =
        "dF0G2X2CoUDeD36rIYD1gN/"
        "DxIzLp72k0bAKZFPUTQGFXHvZgTYJy5dnXASJCR82EzKKYGPVkJuZMIbuv0J77dmzFDuxCmY4Re5P5c4=";

#define ck_assert_hex(bytes, n, expected)                                                          \
	do {                                                                                       \
		char _h[2 * (n) + 1];                                                              \
		sodium_bin2hex(_h, sizeof(_h), (bytes), (n));                                      \
		ck_assert_str_eq(_h, (expected));                                                  \
	} while (0)

static void seed_range(uint8_t seed[32], uint8_t first)
{
	for (int i = 0; i < 32; i++) {
		seed[i] = (uint8_t)(first + i);
	}
}

static uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/* The PEM body (the base64 line) of a p2_key_format() result. */
static void pem_body(P2KeyKind kind, const uint8_t key[32], char *ret, size_t size)
{
	char pem[P2_PEM_MAX];
	const char *b, *e;
	uint8_t back[32];
	const char *why = NULL;
	ssize_t n = p2_key_format(kind, key, pem, sizeof(pem));

	ck_assert_int_gt(n, 0);
	ck_assert_uint_eq(strlen(pem), (size_t)n);
	ck_assert_int_eq(p2_key_parse(kind, pem, (size_t)n, back, &why), 0);
	ck_assert_mem_eq(back, key, 32);
	b = strchr(pem, '\n') + 1;
	e = strchr(b, '\n');
	ck_assert_uint_lt((size_t)(e - b), size);
	memcpy(ret, b, (size_t)(e - b));
	ret[e - b] = '\0';
}

/* §A.12.2: the two Ed25519 identities. */
static const struct {
	uint8_t seed_first;
	const char *pk, *key_id, *priv_pem, *pub_pem;
} identities[] = {
        {0x00, "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8",
         "A050837D85070582CCF7394B0988847CC312CB88259B894899F6F239CF1791A5",
         "MC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f",
         "MCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="},
        {0x20, "29acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7",
         "824C89AA8EFB95EF93629B4519599129CACE4ADAC9A6180DABA31CEED41ECEE6",
         "MC4CAQAwBQYDK2VwBCIEICAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4/",
         "MCowBQYDK2VwAyEAKay64UG8yvCyLhqU000LxzYeUm0L/hLIl5S8kyKWbdc="},
};

/* §B.6.2: Run T's share servers 2 and 3 (server 1 is `server` above). */
static const struct {
	uint8_t seed_first;
	const char *pk, *key_id;
} share_servers[] = {
        {0xa0, "4fd099ccd47d7893dfe9ec24414ecb0d9b5420232aad30d91c465be33cbe65c4",
         "1F0C09D0953E74E7D5D1F9537DC9B3F004D3137584386A520F5F03251CBD7F2D"},
        {0xc0, "dde3bccec7f3a66a1115f45d720f4dc135c3ae7c4e22dca38fdb1efd6a495ff8",
         "276C0103ED82C2B1E3E831D19225D8B07C94EC98F099B011B9462ED810F03747"},
};

START_TEST(key_vectors)
{
	uint8_t seed[32], seal_pk[32], seal_sk[32];
	P2SealKey *seal = NULL;
	char id[P2_KEY_ID_HEX_SIZE], body[80];

	for (size_t i = 0; i < sizeof(identities) / sizeof(identities[0]); i++) {
		P2Identity *ident = NULL;

		seed_range(seed, identities[i].seed_first);
		ck_assert_int_eq(p2_identity_from_seed(seed, &ident), 0);
		ck_assert_hex(ident->pk, 32, identities[i].pk);
		p2_key_id_hex(ident->pk, id);
		ck_assert_str_eq(id, identities[i].key_id);
		pem_body(P2_KEY_ED25519_PRIVATE, seed, body, sizeof(body));
		ck_assert_str_eq(body, identities[i].priv_pem);
		pem_body(P2_KEY_ED25519_PUBLIC, ident->pk, body, sizeof(body));
		ck_assert_str_eq(body, identities[i].pub_pem);
		p2_identity_free(ident);
	}
	for (size_t i = 0; i < sizeof(share_servers) / sizeof(share_servers[0]); i++) {
		P2Identity *ident = NULL;

		seed_range(seed, share_servers[i].seed_first);
		ck_assert_int_eq(p2_identity_from_seed(seed, &ident), 0);
		ck_assert_hex(ident->pk, 32, share_servers[i].pk);
		p2_key_id_hex(ident->pk, id);
		ck_assert_str_eq(id, share_servers[i].key_id);
		p2_identity_free(ident);
	}

	seed_range(seed, 0x40);
	crypto_box_seed_keypair(seal_pk, seal_sk, seed);
	ck_assert_hex(seal_pk, 32,
	              "f14b5173130a1b80687f273d49e8f4740a793a949b83b105837f2a61e8fee14f");
	ck_assert_hex(seal_sk, 32,
	              "6428d4276d036d787ba4df5803e7d15ae9165e486417ad3ae5e48b49290cd696");
	ck_assert_int_eq(p2_seal_key_from_secret(seal_sk, &seal), 0);
	ck_assert_mem_eq(seal->pk, seal_pk, 32);
	pem_body(P2_KEY_X25519_PRIVATE, seal_sk, body, sizeof(body));
	ck_assert_str_eq(body, "MC4CAQAwBQYDK2VuBCIEIGQo1CdtA214e6TfWAPn0VrpFl5IZBetOuXki0kpDNaW");
	pem_body(P2_KEY_X25519_PUBLIC, seal_pk, body, sizeof(body));
	ck_assert_str_eq(body, "MCowBQYDK2VuAyEA8UtRcxMKG4Bofyc9Sej0dAp5OpSbg7EFg38qYej+4U8=");
	p2_seal_key_free(seal);
}
END_TEST

/* ---- Run A: a keygen thread, then a client and a server thread over a socketpair ---- */

static void *keygen_thread(void *arg)
{
	uint8_t seed[32], pk[32], sk[32], box[sizeof(PASSWORD) - 1 + 48];
	char *b64 = arg;

	seed_range(seed, 0x40);
	crypto_box_seed_keypair(pk, sk, seed);
	p2_test_rng_start("mandos-p2 test keygen");
	if (p2_seal((const uint8_t *)PASSWORD, sizeof(PASSWORD) - 1, pk, box, sizeof(box)) == 0) {
		p2_base64_encode(box, sizeof(box), b64, 200);
	}
	return NULL;
}

START_TEST(run_a_sealed_secret)
{
	char b64[200] = "";
	pthread_t t;

	ck_assert_int_eq(pthread_create(&t, NULL, keygen_thread, b64), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_str_eq(b64, A_sealed_secret);
}
END_TEST

typedef struct Party {
	int fd;
	const char *error;
	const char *label; /* the party's test RNG label; NULL: its thread started one already */
	/* What the party wrote and read on its socket, in order. */
	uint8_t sent[4096], received[4096];
	size_t n_sent, n_received;
	/* client */
	char server_key_id[P2_KEY_ID_HEX_SIZE];
	bool pinned;
	bool no_seal;            /* no seal key: flags without WANT_SEALED */
	const char *const *pins; /* NULL: server.key_id */
	size_t n_pins;
	const P2Binding *binding; /* escrow items: its keys, in index order */
	uint8_t E[P2_SHARES_MAX][32], x[P2_SHARES_MAX][32], y[P2_SHARES_MAX][32];
	uint8_t K[P2_SHARES_MAX][32], d[P2_SHARES_MAX][32];
	bool opened[P2_SHARES_MAX]; /* an ESCROW item came for the key and opened */
	P2Result result;
	uint8_t result_bytes[256];
	ssize_t result_len;
	SecBuf *secret;        /* from the SEALED item */
	SecBuf *escrow_secret; /* from a single binding's ESCROW item */
	/* server */
	uint8_t server_seed;    /* first byte of the identity seed (0x20 … 0x3f for `server`) */
	bool no_sealed;         /* no sealed secret in the section */
	const uint8_t (*S)[32]; /* escrow_key scalars */
	size_t n_S;
	P2ClientAuth request;
	char client_key_id[P2_KEY_ID_HEX_SIZE];
} Party;

static bool write_out(Party *p, const uint8_t *out, size_t len)
{
	if (len == 0) {
		return true;
	}
	if (loop_write(p->fd, out, len) < 0 || p->n_sent + len > sizeof(p->sent)) {
		return false;
	}
	memcpy(p->sent + p->n_sent, out, len);
	p->n_sent += len;
	return true;
}

static ssize_t read_in(Party *p, uint8_t *buf, size_t size)
{
	ssize_t n = read(p->fd, buf, size);

	if (n > 0 && p->n_received + (size_t)n <= sizeof(p->received)) {
		memcpy(p->received + p->n_received, buf, (size_t)n);
		p->n_received += (size_t)n;
	}
	return n;
}

/* The blind callback: x = c + [E]G per item, E drawn now (after the init_push header). */
static int client_blind(void *userdata, P2EscrowItem *items, uint8_t n)
{
	Party *p = userdata;

	for (uint8_t q = 0; q < n; q++) {
		int r = p2_escrow_blind(p->binding->keys[q].c, p->E[q], p->x[q]);

		if (r < 0) {
			return r;
		}
		memcpy(items[q].point, p->x[q], 32);
	}
	return 0;
}

/* RESULT items: the SEALED one opens with the seal key, each ESCROW one is unblinded. */
static const char *client_open_items(Party *p, const P2Result *res, const P2SealKey *seal)
{
	uint8_t id[P2_KEY_ID_LEN], seed[32];
	P2Identity *ident = NULL;
	const char *err = NULL;

	seed_range(seed, 0x00);
	p2_identity_from_seed(seed, &ident);
	p2_key_id_raw(ident->pk, id);
	p2_identity_free(ident);
	if (res->n_items == 0) {
		return "no items";
	}
	for (size_t i = 0; i < res->n_items && err == NULL; i++) {
		const P2ResultItem *it = &res->items[i];
		const P2Binding *b = p->binding;
		size_t q;

		if (it->kind == P2_ITEM_SEALED) {
			if (seal == NULL ||
			    p2_sealed_open(it->data, it->len, seal, &p->secret) < 0) {
				err = "sealed item does not open";
			}
			continue;
		}
		if (b == NULL || it->len != P2_ESCROW_ITEM_LEN) {
			err = "unexpected escrow item";
			continue;
		}
		for (q = 0; q < b->n_keys; q++) {
			if (memcmp(b->keys[q].kid, it->data, P2_KID_LEN) == 0) {
				break;
			}
		}
		if (q == b->n_keys) {
			err = "escrow item for no key";
			continue;
		}
		memcpy(p->y[q], it->data + P2_KID_LEN, 32);
		if (p2_escrow_unblind(p->E[q], b->keys[q].s, p->y[q], p->K[q]) < 0) {
			err = "escrow item does not unblind";
		} else if (b->threshold == 0) {
			p->opened[q] = p2_escrow_open(b, id, p->K[q], &p->escrow_secret) == 0;
		} else {
			p->opened[q] = p2_share_open(b, id, (unsigned)q + 1, p->K[q], p->d[q]) == 0;
		}
		if (err == NULL && !p->opened[q]) {
			err = "escrow item does not open";
		}
	}
	return err;
}

static void client_session(Party *p)
{
	uint8_t seed[32], seal_pk[32], seal_sk[32], buf[4096];
	P2Identity *id = NULL;
	P2SealKey *seal = NULL;
	P2ClientSession *c = NULL;
	P2Pins pins = {0};
	P2EscrowItem items[P2_SHARES_MAX] = {0};
	bool done = false;

	seed_range(seed, 0x00);
	p2_identity_from_seed(seed, &id);
	if (!p->no_seal) {
		seed_range(seed, 0x40);
		crypto_box_seed_keypair(seal_pk, seal_sk, seed);
		p2_seal_key_from_secret(seal_sk, &seal);
	}
	if (p->pins == NULL) {
		p2_pins_add(&pins,
		            "824c89aa8efb95ef93629b4519599129cace4adac9a6180daba31ceed41ecee6");
	}
	for (size_t i = 0; i < p->n_pins; i++) {
		p2_pins_add(&pins, p->pins[i]);
	}
	for (size_t q = 0; p->binding != NULL && q < p->binding->n_keys; q++) {
		memcpy(items[q].kid, p->binding->keys[q].kid, P2_KID_LEN);
		memcpy(items[q].point, p->binding->keys[q].c, 32);
	}

	if (p->label != NULL) {
		p2_test_rng_start(p->label);
	}
	P2ClientConfig cfg = {.identity = id,
	                      .seal = seal,
	                      .pins = &pins,
	                      .n_items = p->binding ? p->binding->n_keys : 0,
	                      .items = items,
	                      .blind = client_blind,
	                      .blind_userdata = p};
	if (p2_client_new(&cfg, now_usec(), &c) < 0) {
		p->error = "p2_client_new";
		goto out;
	}
	while (!done) {
		const uint8_t *o;
		size_t olen, at = 0;
		ssize_t n;

		o = p2_client_output(c, &olen);
		if (!write_out(p, o, olen)) {
			p->error = "client write";
			goto out;
		}
		p2_client_output_consume(c, olen);
		n = read_in(p, buf, sizeof(buf));
		if (n < 0) {
			p->error = "client read";
			goto out;
		}
		do {
			size_t used = 0;
			const char *why = NULL;
			int r = p2_client_feed(c, buf + at, (size_t)n - at, now_usec(), &used,
			                       &why);

			at += used;
			if (r < 0) {
				p->error = why ? why : "client feed";
				goto out;
			}
			if (r == P2_EV_AUTHENTICATED) {
				strcpy(p->server_key_id, p2_client_server_key_id(c));
				p->pinned = p2_client_server_pinned(c);
			} else if (r == P2_EV_RESULT) {
				const P2Result *res = p2_client_result(c);

				p->result = *res;
				p->result_len = p2_result_build(res, p->result_bytes,
				                                sizeof(p->result_bytes));
				p->error = client_open_items(p, res, seal);
				if (p->error != NULL) {
					goto out;
				}
				done = true;
			}
		} while (at < (size_t)n);
	}
	{
		const uint8_t *o;
		size_t olen;

		o = p2_client_output(c, &olen);
		if (!write_out(p, o, olen)) {
			p->error = "client write";
		}
	}
out:
	shutdown(p->fd, SHUT_WR);
	p2_client_free(c);
	p2_identity_free(id);
	p2_seal_key_free(seal);
}

static void *client_thread(void *arg)
{
	client_session(arg);
	return NULL;
}

/* §B.2 evaluation at release: one ESCROW item per request item with one of p's kids. */
static void server_evaluate(Party *p, P2Result *res, uint8_t (*escrow)[P2_ESCROW_ITEM_LEN])
{
	for (size_t i = 0; i < p->request.n_items; i++) {
		const P2EscrowItem *it = &p->request.items[i];

		for (size_t j = 0; j < p->n_S; j++) {
			uint8_t s[32], kid[P2_KID_LEN];

			if (p2_escrow_server_key(p->S[j], s, kid) < 0 ||
			    memcmp(kid, it->kid, P2_KID_LEN) != 0) {
				continue;
			}
			memcpy(escrow[i], kid, P2_KID_LEN);
			if (p2_escrow_evaluate(p->S[j], it->point, escrow[i] + P2_KID_LEN) == 0) {
				res->items[res->n_items++] = (P2ResultItem){
				        P2_ITEM_ESCROW, P2_ESCROW_ITEM_LEN, escrow[i]};
			}
		}
	}
}

static void *server_thread(void *arg)
{
	Party *p = arg;
	uint8_t seed[32], buf[4096], box[200], escrow[P2_MAX_ESCROW_ITEMS][P2_ESCROW_ITEM_LEN];
	P2Identity *id = NULL;
	P2ServerSession *s = NULL;
	ssize_t box_len, n;
	size_t line = 0;
	bool done = false;

	seed_range(seed, p->server_seed);
	p2_identity_from_seed(seed, &id);
	box_len = p2_base64_decode(A_sealed_secret, strlen(A_sealed_secret), box, sizeof(box));

	p2_test_rng_start(p->label);
	/* The version line, as the server's dispatch reads it. */
	while (line < P2_VERSION_LINE_LEN) {
		n = read_in(p, buf + line, P2_VERSION_LINE_LEN - line);
		if (n <= 0) {
			p->error = "server read line";
			goto out;
		}
		line += (size_t)n;
	}
	if (memcmp(buf, P2_VERSION_LINE, P2_VERSION_LINE_LEN) != 0 ||
	    p2_server_new(id, NULL, now_usec(), &s) < 0) {
		p->error = "server start";
		goto out;
	}
	while (!done) {
		size_t at = 0;

		n = read_in(p, buf, sizeof(buf));
		if (n < 0) {
			p->error = "server read";
			goto out;
		}
		do {
			size_t used = 0, olen;
			const char *why = NULL;
			const uint8_t *o;
			int r = p2_server_feed(s, buf + at, (size_t)n - at, now_usec(), &used,
			                       &why);

			at += used;
			if (r < 0) {
				p->error = why ? why : "server feed";
				goto out;
			}
			if (r == P2_EV_REQUEST) {
				P2Result res = {.code = P2_OK};

				p->request = *p2_server_request(s);
				strcpy(p->client_key_id, p2_server_client_key_id(s));
				if (!p->no_sealed &&
				    (p->request.flags & P2_FLAG_WANT_SEALED) != 0) {
					res.items[res.n_items++] = (P2ResultItem){
					        P2_ITEM_SEALED, (uint16_t)box_len, box};
				}
				server_evaluate(p, &res, escrow);
				if (p2_server_send_result(s, &res) < 0) {
					p->error = "send_result";
					goto out;
				}
			} else if (r == P2_EV_DONE) {
				done = true;
			}
			o = p2_server_output(s, &olen);
			if (!write_out(p, o, olen)) {
				p->error = "server write";
				goto out;
			}
			p2_server_output_consume(s, olen);
		} while (at < (size_t)n);
	}
out:
	shutdown(p->fd, SHUT_WR);
	p2_server_free(s);
	p2_identity_free(id);
	return NULL;
}

/* The values of one session of §B.6 (hex), checked against what the two parties did. */
typedef struct SessionVec {
	const char *client_eph_pk, *server_eph_pk, *s2c_header, *c2s_header, *th;
	size_t ca_len;
	const char *ca, *sig_c, *h_ca, *sig_s, *server_key_id;
	size_t result_len;
	const char *result, *digest_c2s, *digest_s2c;
} SessionVec;

/* ck_assert_hex for a length known at run time only. */
static void check_hex_long(const uint8_t *bytes, size_t n, const char *expected)
{
	char h[2 * P2_CLIENT_AUTH_MAX + 1];

	ck_assert_uint_le(n, P2_CLIENT_AUTH_MAX);
	sodium_bin2hex(h, sizeof(h), bytes, n);
	ck_assert_str_eq(h, expected);
}

static void check_session(const Party *cl, const Party *sv, uint8_t server_seed,
                          const SessionVec *v)
{
	const uint8_t *ch = cl->sent + 3, *ch2 = cl->sent + 3 + 48, *sh = cl->received;
	uint8_t th[32], ca[P2_CLIENT_AUTH_MAX], h_ca[32], sa[P2_SERVER_AUTH_LEN], seed[32];
	uint8_t digest[32];
	P2ClientAuth req = sv->request;
	P2Identity *client = NULL, *server = NULL;
	char id[P2_KEY_ID_HEX_SIZE];
	ssize_t ca_len;

	ck_assert_msg(cl->error == NULL, "client: %s", cl->error);
	ck_assert_msg(sv->error == NULL, "server: %s", sv->error);
	ck_assert_uint_eq(cl->n_sent, sv->n_received);
	ck_assert_mem_eq(cl->sent, sv->received, cl->n_sent);
	ck_assert_uint_eq(sv->n_sent, cl->n_received);
	ck_assert_mem_eq(sv->sent, cl->received, sv->n_sent);

	ck_assert_hex(ch + 16, 32, v->client_eph_pk);
	ck_assert_hex(sh + 16, 32, v->server_eph_pk);
	ck_assert_hex(sh + 48, 24, v->s2c_header);
	ck_assert_hex(ch2 + 8, 24, v->c2s_header);
	p2_transcript_hash(ch, sh, ch2, th);
	ck_assert_hex(th, 32, v->th);

	seed_range(seed, 0x00);
	ck_assert_int_eq(p2_identity_from_seed(seed, &client), 0);
	ca_len = p2_client_auth_build(&req, client, th, ca);
	ck_assert_int_eq(ca_len, (ssize_t)v->ca_len);
	check_hex_long(ca, v->ca_len, v->ca);
	ck_assert_hex(sv->request.sig, 64, v->sig_c);
	crypto_generichash(h_ca, 32, ca, (size_t)ca_len, NULL, 0);
	ck_assert_hex(h_ca, 32, v->h_ca);
	seed_range(seed, server_seed);
	ck_assert_int_eq(p2_identity_from_seed(seed, &server), 0);
	p2_server_auth_build(server, th, ca, (size_t)ca_len, sa);
	ck_assert_hex(sa + 34, 64, v->sig_s);
	p2_key_id_hex(server->pk, id);
	ck_assert_str_eq(cl->server_key_id, id);
	for (char *q = id; *q; q++) {
		*q = (char)(*q >= 'A' && *q <= 'F' ? *q - 'A' + 'a' : *q);
	}
	ck_assert_str_eq(id, v->server_key_id);
	ck_assert(cl->pinned);

	ck_assert_int_eq(cl->result_len, (ssize_t)v->result_len);
	check_hex_long(cl->result_bytes, v->result_len, v->result);
	crypto_generichash(digest, 32, cl->sent, cl->n_sent, NULL, 0);
	ck_assert_hex(digest, 32, v->digest_c2s);
	crypto_generichash(digest, 32, cl->received, cl->n_received, NULL, 0);
	ck_assert_hex(digest, 32, v->digest_s2c);
	p2_identity_free(client);
	p2_identity_free(server);
}

/* Run one client session and one server session over a socketpair, each in its thread. */
static void run_pair(Party *cl, Party *sv)
{
	int sp[2];
	pthread_t tc, ts;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	cl->fd = sp[0];
	sv->fd = sp[1];
	ck_assert_int_eq(pthread_create(&ts, NULL, server_thread, sv), 0);
	ck_assert_int_eq(pthread_create(&tc, NULL, client_thread, cl), 0);
	ck_assert_int_eq(pthread_join(tc, NULL), 0);
	ck_assert_int_eq(pthread_join(ts, NULL), 0);
	close(sp[0]);
	close(sp[1]);
}

START_TEST(run_a)
{
	Party *cl = calloc(1, sizeof(Party)), *sv = calloc(1, sizeof(Party));
	static const SessionVec v = {
	        "ad48b6796ac372ffeef186e20d4f2f5361d7f702ee4db5123aff7e33c6949f05",
	        "88aa5b656929ef4df1b1fc94f3d433ecd0b8bf5bf93c620c54c7af3ccd675002",
	        "c5f530a6952ce2e7508e8b0f6a66cb27cec51b4332ae2c5d",
	        "8c7bb75ab724682fdea0d08f691dcb60a0b62acf4edada0a",
	        "33c4eabb0c455f2e8832c854108b5e760fd7a30dde2bf71aa2be5a9083618449",
	        103,
	        "010103a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b86f26d866dc64"
	        "ecf5923d610d07cad47a4a508c860473d0f08dae5cb14265be76ed94c55dd5cf15c7b06da4f0c085"
	        "61118e19d95f09fa41d4b273c10ffe098d0a0500000000",
	        "6f26d866dc64ecf5923d610d07cad47a4a508c860473d0f08dae5cb14265be76ed94c55dd5cf15c7"
	        "b06da4f0c08561118e19d95f09fa41d4b273c10ffe098d0a",
	        "ee238832ed1affbc5783fb678808e61d433af63288b092a96f90fe17d025e3db",
	        "6aeb8d7b058bd7f7f6200324e9d49d8b23fb8e55fee70d68c4365ee9becfb5dcf6e62dff09f51b73"
	        "abb8cc12917c81793fa1293d7a46b6ab5fbf202246646402",
	        "824c89aa8efb95ef93629b4519599129cace4adac9a6180daba31ceed41ecee6",
	        91,
	        "0104000000000000000001014d00745d06d97d82a140de0f7eab2180f580dfc3c48ccba7bda4d1b0"
	        "0a6453d44d01855c7bd9813609cb97675c0489091f3613328a6063d5909b993086eebf427bedd9b3"
	        "143bb10a663845ee4fe5ce",
	        "200eccd9b683b2ef94e769e1c61807e064616dc78de6e9b77f0539159a08ee5f",
	        "ac5d0ac877127e325beb0eba965ad1f7b6f8c58ef38391cb43ca4aa04caee302",
	};

	cl->label = "mandos-p2 test client";
	sv->label = "mandos-p2 test server";
	sv->server_seed = 0x20;
	run_pair(cl, sv);
	check_session(cl, sv, 0x20, &v);

	/* line 3 + ClientHello 48 + ClientHello2 32 + DM(CA) 136 + DM(FINAL) 33 */
	ck_assert_uint_eq(cl->n_sent, 3 + 48 + 32 + 16 + 17 + 103 + 16 + 17);
	/* ServerHello 72 + DM(SA) 131 + DM(RESULT) 124 + DM(FINAL) 33 */
	ck_assert_uint_eq(cl->n_received, 72 + 16 + 17 + 98 + 16 + 17 + 91 + 16 + 17);
	ck_assert_mem_eq(cl->sent, "2\r\n", 3);
	ck_assert_mem_eq(cl->sent + 3, "mandos v2 client", 16);
	ck_assert_mem_eq(cl->received, "mandos v2 server", 16);
	ck_assert_mem_eq(cl->sent + 3 + 48, "cheader0", 8);
	ck_assert_uint_eq(sv->request.flags, 5);
	ck_assert_uint_eq(sv->request.n_items, 0);
	ck_assert_str_eq(sv->client_key_id,
	                 "A050837D85070582CCF7394B0988847CC312CB88259B894899F6F239CF1791A5");
	ck_assert_ptr_nonnull(cl->secret);
	ck_assert_uint_eq(cl->secret->len, sizeof(PASSWORD) - 1);
	ck_assert_mem_eq(cl->secret->data, PASSWORD, sizeof(PASSWORD) - 1);

	secbuf_free(cl->secret);
	free(cl);
	free(sv);
}
END_TEST

/* ---- Part B (§B.6): Run B and the threshold unlock T1 / T3, through real sessions ---- */

typedef struct EnrolJob {
	const char *label;
	unsigned k, n; /* k = 0: --sealed --escrow (seal first) */
	P2Binding b;
	uint8_t S[P2_SHARES_MAX][32];
	int r;
} EnrolJob;

static void *enrol_thread(void *arg)
{
	EnrolJob *j = arg;
	uint8_t seed[32], pk[32], sk[32], box[sizeof(PASSWORD) - 1 + 48], id[P2_KEY_ID_LEN];
	P2Identity *client = NULL;

	seed_range(seed, 0x00);
	p2_identity_from_seed(seed, &client);
	p2_key_id_raw(client->pk, id);
	p2_identity_free(client);
	seed_range(seed, 0x40);
	crypto_box_seed_keypair(pk, sk, seed);
	p2_test_rng_start(j->label);
	if (j->k == 0) {
		j->r = p2_seal((const uint8_t *)PASSWORD, sizeof(PASSWORD) - 1, pk, box,
		               sizeof(box));
		if (j->r == 0) {
			j->r = p2_escrow_enrol(id, (const uint8_t *)PASSWORD, sizeof(PASSWORD) - 1,
			                       &j->b, j->S[0]);
		}
	} else {
		j->r = p2_threshold_enrol(id, j->k, j->n, (const uint8_t *)PASSWORD,
		                          sizeof(PASSWORD) - 1, &j->b, j->S);
	}
	return NULL;
}

static void enrol(EnrolJob *j)
{
	pthread_t t;

	ck_assert_int_eq(pthread_create(&t, NULL, enrol_thread, j), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(j->r, 0);
}

START_TEST(run_b)
{
	Party *cl = calloc(1, sizeof(Party)), *sv = calloc(1, sizeof(Party));
	EnrolJob kg = {.label = "mandos-p2 test keygen"};
	static const SessionVec v = {
	        "ad48b6796ac372ffeef186e20d4f2f5361d7f702ee4db5123aff7e33c6949f05",
	        "88aa5b656929ef4df1b1fc94f3d433ecd0b8bf5bf93c620c54c7af3ccd675002",
	        "c5f530a6952ce2e7508e8b0f6a66cb27cec51b4332ae2c5d",
	        "8c7bb75ab724682fdea0d08f691dcb60a0b62acf4edada0a",
	        "33c4eabb0c455f2e8832c854108b5e760fd7a30dde2bf71aa2be5a9083618449",
	        151,
	        "010103a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8cfb11af7bdc0"
	        "2fbe94e1973df4d77ae0aa7e7e3008684e9d1a420641d1ae7002a081d30f27719456351687476604"
	        "b17f36bd0a3df7df427fa1d2c320d419d9060700000001c5abbe4bcbbcd8ec44300b711d4f9dd452"
	        "8b3fc3865c620ab468621cf68e467ad227e028c4dab73ecd6903c4f00a6741",
	        "cfb11af7bdc02fbe94e1973df4d77ae0aa7e7e3008684e9d1a420641d1ae7002a081d30f27719456"
	        "351687476604b17f36bd0a3df7df427fa1d2c320d419d906",
	        "9c7b6c7862cf1edf721e9f20560e5289679e2cce080c9297b14b02ade364d61e",
	        "24870679f957270b96fc980250c20c019511671f26ae936311e44e8764c32bea94b13527a0e3d956"
	        "201471ff9d6f522661f7aec5b67c6f376d4d3a8467f2ac0a",
	        "824c89aa8efb95ef93629b4519599129cace4adac9a6180daba31ceed41ecee6",
	        142,
	        "0104000000000000000002014d00745d06d97d82a140de0f7eab2180f580dfc3c48ccba7bda4d1b0"
	        "0a6453d44d01855c7bd9813609cb97675c0489091f3613328a6063d5909b993086eebf427bedd9b3"
	        "143bb10a663845ee4fe5ce023000c5abbe4bcbbcd8ec44300b711d4f9dd442cae8c57be3abd02e0c"
	        "9569dee7cc086f12d49903996a8ea22fce620b10d936",
	        "9ef4303959633a944f5fe4cfa9f981d59b911eb6ea38ebf174dac5e39f757f48",
	        "d5f5cdee5c5955a25cd9f21ac176cb2c46d8fca5ea5fcf9ef79541cfa2fa624d",
	};
	uint8_t z[32];

	enrol(&kg);
	ck_assert_hex(kg.S[0], 32,
	              "2801153303601781af0556ba0997e922ee32407b5fccbbe45be0f1b38c0ff003");
	cl->label = "mandos-p2 test client";
	cl->binding = &kg.b;
	sv->label = "mandos-p2 test server";
	sv->server_seed = 0x20;
	sv->S = (const uint8_t(*)[32])kg.S;
	sv->n_S = 1;
	run_pair(cl, sv);
	check_session(cl, sv, 0x20, &v);
	ck_assert_uint_eq(sv->request.flags, 7);
	ck_assert_uint_eq(sv->request.n_items, 1);

	ck_assert_hex(cl->E[0], 32,
	              "97edc02813c6f04d8df74889d036deec10fff70b97ac8ab4cb5ee411cdae7808");
	ck_assert_hex(cl->x[0], 32,
	              "528b3fc3865c620ab468621cf68e467ad227e028c4dab73ecd6903c4f00a6741");
	ck_assert_hex(cl->y[0], 32,
	              "42cae8c57be3abd02e0c9569dee7cc086f12d49903996a8ea22fce620b10d936");
	ck_assert_int_eq(crypto_scalarmult_ristretto255(z, cl->E[0], kg.b.keys[0].s), 0);
	ck_assert_hex(z, 32, "56330532b3b2761c46ae42edf69c8f9700678b4c787b2a4de3643cdc94bc7720");
	ck_assert_hex(cl->K[0], 32,
	              "6e24609838345c65c8b73094d6959c7fb9f0d48249265b04a84fcddca0ee2706");
	/* Both items open to the password. */
	ck_assert_ptr_nonnull(cl->secret);
	ck_assert_ptr_nonnull(cl->escrow_secret);
	ck_assert_uint_eq(cl->secret->len, sizeof(PASSWORD) - 1);
	ck_assert_mem_eq(cl->secret->data, PASSWORD, sizeof(PASSWORD) - 1);
	ck_assert_uint_eq(cl->escrow_secret->len, sizeof(PASSWORD) - 1);
	ck_assert_mem_eq(cl->escrow_secret->data, PASSWORD, sizeof(PASSWORD) - 1);

	secbuf_free(cl->secret);
	secbuf_free(cl->escrow_secret);
	p2_binding_done(&kg.b);
	free(cl);
	free(sv);
}
END_TEST

static const char *const t_pins[3] = {
        "824c89aa8efb95ef93629b4519599129cace4adac9a6180daba31ceed41ecee6",
        "1f0c09d0953e74e7d5d1f9537dc9b3f004d3137584386a520f5f03251cbd7f2d",
        "276c0103ed82c2b1e3e831d19225d8b07c94ec98f099b011b9462ed810f03747",
};

/* One client party, one counter, two sessions in order. */
static void *t_client_thread(void *arg)
{
	Party **cl = arg;

	p2_test_rng_start("mandos-p2 test threshold client");
	client_session(cl[0]);
	client_session(cl[1]);
	return NULL;
}

START_TEST(run_t_unlock)
{
	Party *cl[2] = {calloc(1, sizeof(Party)), calloc(1, sizeof(Party))};
	Party *sv[2] = {calloc(1, sizeof(Party)), calloc(1, sizeof(Party))};
	EnrolJob kg = {.label = "mandos-p2 test threshold keygen", .k = 2, .n = 3};
	static const uint8_t seeds[2] = {0x20, 0xc0};
	static const char *const labels[2] = {"mandos-p2 test threshold server 1",
	                                      "mandos-p2 test threshold server 3"};
	static const SessionVec v[2] = {
	        {"8d57e58e26881ccbd8707a48f5327234359d150fbc1114da1772aacb9e516674",
	         "00a467811b444f9ee4ed0df327b006ce0676d0641d8cbf51abd1f177b4a5332c",
	         "fbe44cc90df1f90fb77ab71c6314d0f605500ed02d993e4e",
	         "df2ee8d6b89e0c8934b2b36ec2115064eda9d9b4f6c4a6d0",
	         "9cbe21b38a29120d2efd2f8b46f9e3a2dd8115a0e942667becfae5ca6cb69326", 247,
	         "010103a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b84bb337a833ee"
	         "54cabc637d8b53a36f112ecd047c5292e285c550a3fbbe5c7789a3ed152839f23f2cdb6a4971a053"
	         "8bd1cb99daaffb66fbf20132703105c8ab0a0600000003f1f9fbfd0434a4193875350a1775246eb2"
	         "3c69e88404d87fd5537f6687ae91010663b4c23e779cf35d5eece5ccd5d13d74bdc2fe204153fba1"
	         "82932cdba1854d0c792761326d4d959f4d3675f9af1cfd9e781d921b778acfc04d032332836f4b27"
	         "b890e238f51836481717eb128dfb0680c1b977c23a5b493564107e3a251324d0daed3e1b9ce10af0"
	         "0d42f41e21f719",
	         "4bb337a833ee54cabc637d8b53a36f112ecd047c5292e285c550a3fbbe5c7789a3ed152839f23f2c"
	         "db6a4971a0538bd1cb99daaffb66fbf20132703105c8ab0a",
	         "71df3e8797581e60f23019bd05bb2b15080c8a9e1ce00fa5c65697b49042c5d9",
	         "3f6c506c439c8ec4f275957471d116fc235ab2ef82002ae14df9c3572a14797c0e33148e9e5d29b3"
	         "ba41a70e2a6806fc65f456f1705b886139ac3161c8a6d60c",
	         "824c89aa8efb95ef93629b4519599129cace4adac9a6180daba31ceed41ecee6", 62,
	         "0104000000000000000001023000f1f9fbfd0434a4193875350a1775246ef2587aad7fe834713bd6"
	         "f62808bc692903a1866f23816b54848f11efab954e60",
	         "ebe1dc33127c40dfc15d3c1d35109e8e6efc5c82b1fb573b197509a399c39237",
	         "c7c8e9dc9418c2729fddf090ecf35e8fe2566d719e3d60b0ac1e525d92f41125"},
	        {"6dd28fe4bca489ebb2e0feb8f91d53996b66498e9272d6281089462f3ae4de7d",
	         "a93251e5af81e762be325bdd0a31c2c134ebb5d64cab2a443544e2c68fee9473",
	         "a1c752acc455a28a6d6249443d53a8a91e37d8972c043570",
	         "91c3524b3a19df11c9b89b5e8fb49d03f977a13540ee11b2",
	         "20239131b10fd126f06936eb458da62f42374c38b3cd8a5329d250ad331aca96", 247,
	         "010103a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8ce178830e518"
	         "738cdc299d314bc17307b85269e81c15ae9880a354af9023bfc21475be9e48c8b6b5ac5f103127a3"
	         "cb5ea84e9a28905289bd292533fe569d0a0f0600000003f1f9fbfd0434a4193875350a1775246ea4"
	         "24466c58d242aabc1dd3a6b92faaab697aca0f541d551c0da23083c31f9e6674bdc2fe204153fba1"
	         "82932cdba1854d562e4599a84cc142bacc508228943873f8bbc1eafee8e10a326b43ad7ea9e07027"
	         "b890e238f51836481717eb128dfb063e354cc45d1fedc5e0e01f62a67c8fef3d046025bace8eb743"
	         "7f595bbf811a77",
	         "ce178830e518738cdc299d314bc17307b85269e81c15ae9880a354af9023bfc21475be9e48c8b6b5"
	         "ac5f103127a3cb5ea84e9a28905289bd292533fe569d0a0f",
	         "975528bdc207c58463f88c5e90d01c0bd933c9bafb4a3ea42c9c73a5c1e4a1ee",
	         "90b558cb5401e98dadacb407b005c554b7f8fe216dfa04cc152e5edc39bdd66a6f3072227b2d6c91"
	         "bf0a304f8fdee9778595a621d8be539a0f19c2168b30e906",
	         "276c0103ed82c2b1e3e831d19225d8b07c94ec98f099b011b9462ed810f03747", 62,
	         "010400000000000000000102300027b890e238f51836481717eb128dfb0678c53b3f44910d4e5921"
	         "32b1a4cf2f25595d722c9c9d2af00b56552e16e6d10a",
	         "2890ef10ea01c20aa76efa1ef1d6ab2fe2b5dfa300095cd88d447a04a486e3e3",
	         "26e2ca3c8e0f487619426ea909159ae2ecdd50196d495a4076309b662b2ecd82"},
	};
	static const char *const E_x[2][3][2] = {
	        {{"752317f1329e49f71c52af3eeebae4d1bee43051e0260f63dba67e0478e9be05",
	          "b23c69e88404d87fd5537f6687ae91010663b4c23e779cf35d5eece5ccd5d13d"},
	         {"06a29e65298da6d9b18cd0da57af50a24cc22d97330000d293c45efd0c73db07",
	          "0c792761326d4d959f4d3675f9af1cfd9e781d921b778acfc04d032332836f4b"},
	         {"2dfab49a5f527fa2875b2657fc2200067c1ed9067a821f4cf10154523f7be205",
	          "80c1b977c23a5b493564107e3a251324d0daed3e1b9ce10af00d42f41e21f719"}},
	        {{"fc914b3d91217ab7cb9a0e483be4b52ee8f3b455e2d556817f30dcf9fa662b05",
	          "a424466c58d242aabc1dd3a6b92faaab697aca0f541d551c0da23083c31f9e66"},
	         {"f5dbbe0d200cd915b90f8e225e965f2a682631b7f97993fdf5ca20ed1b76980d",
	          "562e4599a84cc142bacc508228943873f8bbc1eafee8e10a326b43ad7ea9e070"},
	         {"a0c298eb13e36cc73b4e0a8ad0e9d4c16f63fc3b4f003cf50b4b26f79d89f405",
	          "3e354cc45d1fedc5e0e01f62a67c8fef3d046025bace8eb7437f595bbf811a77"}},
	};
	/* item q answered in session j: y, z, K, d */
	static const struct {
		size_t q;
		const char *y, *z, *K, *d;
	} answer[2] = {
	        {0, "f2587aad7fe834713bd6f62808bc692903a1866f23816b54848f11efab954e60",
	         "0cb410d497cc8d148ed89c02c97ab978b9263262327a167f5242ef5f3c39723c",
	         "f6d612577df98e09b1232d23f04364935cc19f410158c7b2804cb3027f4fe206",
	         "946dea8841b146357394e16812f15450373f814469b298d93d50f4243170370d"},
	        {2, "78c53b3f44910d4e592132b1a4cf2f25595d722c9c9d2af00b56552e16e6d10a",
	         "2e6b4037afb9d43eec90fdfe1fcf82b3bd2891cdba60d9dcb3ad66905f4e7250",
	         "96f498d7d34f9cf8d6e69583cb7b348134029541844b24da731ab5ca56edb115",
	         "c6184b140cedca6591557aa6429983e7c608c7c7605a55b07d775072cc88f609"},
	};
	int sp[2][2];
	pthread_t tc, ts[2];
	uint8_t id[P2_KEY_ID_LEN], seed[32], z[32], lambda[32], D[32] = {0}, term[32], kD[32];
	uint8_t xs[2] = {1, 3}, d[2][32];
	P2Identity *client = NULL;
	SecBuf *secret = NULL;

	enrol(&kg);
	for (int i = 0; i < 3; i++) {
		p2_key_id_parse(t_pins[i], 64, kg.b.keys[i].servers[0]);
		kg.b.keys[i].n_servers = 1;
	}
	for (int j = 0; j < 2; j++) {
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp[j]), 0);
		cl[j]->fd = sp[j][0];
		cl[j]->no_seal = true;
		cl[j]->pins = t_pins;
		cl[j]->n_pins = 3;
		cl[j]->binding = &kg.b;
		sv[j]->fd = sp[j][1];
		sv[j]->label = labels[j];
		sv[j]->server_seed = seeds[j];
		sv[j]->no_sealed = true;
		sv[j]->S = (const uint8_t(*)[32])kg.S[j == 0 ? 0 : 2];
		sv[j]->n_S = 1;
		ck_assert_int_eq(pthread_create(&ts[j], NULL, server_thread, sv[j]), 0);
	}
	ck_assert_int_eq(pthread_create(&tc, NULL, t_client_thread, cl), 0);
	ck_assert_int_eq(pthread_join(tc, NULL), 0);
	for (int j = 0; j < 2; j++) {
		ck_assert_int_eq(pthread_join(ts[j], NULL), 0);
		close(sp[j][0]);
		close(sp[j][1]);
	}

	for (int j = 0; j < 2; j++) {
		size_t q = answer[j].q;

		check_session(cl[j], sv[j], seeds[j], &v[j]);
		ck_assert_uint_eq(sv[j]->request.flags, 6);
		ck_assert_uint_eq(sv[j]->request.n_items, 3);
		for (int i = 0; i < 3; i++) {
			ck_assert_hex(cl[j]->E[i], 32, E_x[j][i][0]);
			ck_assert_hex(cl[j]->x[i], 32, E_x[j][i][1]);
			ck_assert(cl[j]->opened[i] == (i == (int)q));
		}
		ck_assert_ptr_null(cl[j]->secret);
		ck_assert_ptr_null(cl[j]->escrow_secret);
		ck_assert_hex(cl[j]->y[q], 32, answer[j].y);
		ck_assert_int_eq(crypto_scalarmult_ristretto255(z, cl[j]->E[q], kg.b.keys[q].s), 0);
		ck_assert_hex(z, 32, answer[j].z);
		ck_assert_hex(cl[j]->K[q], 32, answer[j].K);
		ck_assert_hex(cl[j]->d[q], 32, answer[j].d);
		memcpy(d[j], cl[j]->d[q], 32);
	}

	/* T3: λ{1,3}, D, kD, and the password. */
	for (size_t j = 0; j < 2; j++) {
		ck_assert_int_eq(p2_sss_lagrange(xs, 2, j, lambda), 0);
		ck_assert_hex(
		        lambda, 32,
		        j == 0 ? "f8e97a2e8d31092c6bce7b51ef7c6f0a00000000000000000000000000000008"
		               : "f6e97a2e8d31092c6bce7b51ef7c6f0a0000000000000000000000000000000"
		                 "8");
		crypto_core_ristretto255_scalar_mul(term, lambda, d[j]);
		crypto_core_ristretto255_scalar_add(D, D, term);
	}
	ck_assert_hex(D, 32, "fb173a435c93041de433154afa9cbd846f5ade826d5e3aee9d3c467ee3e3d70e");
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)"mandos-p2 sss data", 18);
	crypto_generichash_update(&st, D, 32);
	crypto_generichash_final(&st, kD, 32);
	ck_assert_hex(kD, 32, "d578616f98c7e7261ecddf7026a9ec8a608fd32bc926370110525c5f4aa907e9");
	seed_range(seed, 0x00);
	ck_assert_int_eq(p2_identity_from_seed(seed, &client), 0);
	p2_key_id_raw(client->pk, id);
	ck_assert_int_eq(p2_threshold_open(&kg.b, id, xs, (const uint8_t(*)[32])d, 2, &secret), 0);
	ck_assert_uint_eq(secret->len, sizeof(PASSWORD) - 1);
	ck_assert_mem_eq(secret->data, PASSWORD, sizeof(PASSWORD) - 1);
	/* One share alone never unlocks. */
	ck_assert_int_eq(p2_threshold_open(&kg.b, id, xs, (const uint8_t(*)[32])d, 1, &secret),
	                 -EINVAL);

	secbuf_free(secret);
	p2_identity_free(client);
	p2_binding_done(&kg.b);
	for (int j = 0; j < 2; j++) {
		free(cl[j]);
		free(sv[j]);
	}
}
END_TEST

START_TEST(sizes_hold)
{
	ck_assert_int_eq(p2_check_sizes(), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("p2-vectors");
	TCase *tc = tcase_create("vectors");

	/* §A.12.1: the test RNG goes in before sodium_init(). */
	p2_test_rng_install();
	if (sodium_init() < 0) {
		return 99;
	}
	tcase_add_test(tc, sizes_hold);
	tcase_add_test(tc, key_vectors);
	tcase_add_test(tc, run_a_sealed_secret);
	tcase_add_test(tc, run_a);
	tcase_add_test(tc, run_b);
	tcase_add_test(tc, run_t_unlock);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
