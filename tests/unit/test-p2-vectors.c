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
	/* What the party wrote and read on its socket, in order. */
	uint8_t sent[4096], received[4096];
	size_t n_sent, n_received;
	/* client */
	char server_key_id[P2_KEY_ID_HEX_SIZE];
	bool pinned;
	P2Result result;
	uint8_t result_bytes[256];
	ssize_t result_len;
	SecBuf *secret;
	/* server */
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

static void *client_thread(void *arg)
{
	Party *p = arg;
	uint8_t seed[32], seal_pk[32], seal_sk[32], buf[4096];
	P2Identity *id = NULL;
	P2SealKey *seal = NULL;
	P2ClientSession *c = NULL;
	P2Pins pins = {0};
	bool done = false;

	seed_range(seed, 0x00);
	p2_identity_from_seed(seed, &id);
	seed_range(seed, 0x40);
	crypto_box_seed_keypair(seal_pk, seal_sk, seed);
	p2_seal_key_from_secret(seal_sk, &seal);
	p2_pins_add(&pins, "824c89aa8efb95ef93629b4519599129cace4adac9a6180daba31ceed41ecee6");

	p2_test_rng_start("mandos-p2 test client");
	P2ClientConfig cfg = {.identity = id, .seal = seal, .pins = &pins};
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
				if (res->n_items != 1 ||
				    p2_sealed_open(res->items[0].data, res->items[0].len, seal,
				                   &p->secret) < 0) {
					p->error = "sealed item does not open";
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
	return NULL;
}

static void *server_thread(void *arg)
{
	Party *p = arg;
	uint8_t seed[32], buf[4096], box[200];
	P2Identity *id = NULL;
	P2ServerSession *s = NULL;
	ssize_t box_len, n;
	size_t line = 0;
	bool done = false;

	seed_range(seed, 0x20);
	p2_identity_from_seed(seed, &id);
	box_len = p2_base64_decode(A_sealed_secret, strlen(A_sealed_secret), box, sizeof(box));

	p2_test_rng_start("mandos-p2 test server");
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
				P2Result res = {.code = P2_OK, .n_items = 1};

				p->request = *p2_server_request(s);
				strcpy(p->client_key_id, p2_server_client_key_id(s));
				res.items[0] =
				        (P2ResultItem){P2_ITEM_SEALED, (uint16_t)box_len, box};
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

START_TEST(run_a)
{
	Party *cl = calloc(1, sizeof(Party)), *sv = calloc(1, sizeof(Party));
	int sp[2];
	pthread_t tc, ts;
	uint8_t th[32], ca[P2_CLIENT_AUTH_MAX], h_ca[32], sa[P2_SERVER_AUTH_LEN], seed[32];
	uint8_t digest[32];
	P2Identity *client = NULL, *server = NULL;
	P2ClientAuth req = {.flags = P2_FLAG_WANT_SEALED | P2_FLAG_SHOWS_STATUS};
	ssize_t ca_len;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	cl->fd = sp[0];
	sv->fd = sp[1];
	ck_assert_int_eq(pthread_create(&ts, NULL, server_thread, sv), 0);
	ck_assert_int_eq(pthread_create(&tc, NULL, client_thread, cl), 0);
	ck_assert_int_eq(pthread_join(tc, NULL), 0);
	ck_assert_int_eq(pthread_join(ts, NULL), 0);
	close(sp[0]);
	close(sp[1]);
	ck_assert_msg(cl->error == NULL, "client: %s", cl->error);
	ck_assert_msg(sv->error == NULL, "server: %s", sv->error);

	/* Both sides saw the same bytes. */
	ck_assert_uint_eq(cl->n_sent, sv->n_received);
	ck_assert_mem_eq(cl->sent, sv->received, cl->n_sent);
	ck_assert_uint_eq(sv->n_sent, cl->n_received);
	ck_assert_mem_eq(sv->sent, cl->received, sv->n_sent);
	/* line 3 + ClientHello 48 + ClientHello2 32 + DM(CA) 136 + DM(FINAL) 33 */
	ck_assert_uint_eq(cl->n_sent, 3 + 48 + 32 + 16 + 17 + 103 + 16 + 17);
	/* ServerHello 72 + DM(SA) 131 + DM(RESULT) 124 + DM(FINAL) 33 */
	ck_assert_uint_eq(cl->n_received, 72 + 16 + 17 + 98 + 16 + 17 + 91 + 16 + 17);

	const uint8_t *ch = cl->sent + 3, *ch2 = cl->sent + 3 + 48, *sh = cl->received;
	ck_assert_mem_eq(cl->sent, "2\r\n", 3);
	ck_assert_mem_eq(ch, "mandos v2 client", 16);
	ck_assert_hex(ch + 16, 32,
	              "ad48b6796ac372ffeef186e20d4f2f5361d7f702ee4db5123aff7e33c6949f05");
	ck_assert_mem_eq(sh, "mandos v2 server", 16);
	ck_assert_hex(sh + 16, 32,
	              "88aa5b656929ef4df1b1fc94f3d433ecd0b8bf5bf93c620c54c7af3ccd675002");
	ck_assert_hex(sh + 48, 24, "c5f530a6952ce2e7508e8b0f6a66cb27cec51b4332ae2c5d");
	ck_assert_mem_eq(ch2, "cheader0", 8);
	ck_assert_hex(ch2 + 8, 24, "8c7bb75ab724682fdea0d08f691dcb60a0b62acf4edada0a");

	p2_transcript_hash(ch, sh, ch2, th);
	ck_assert_hex(th, 32, "33c4eabb0c455f2e8832c854108b5e760fd7a30dde2bf71aa2be5a9083618449");

	/* CA as the client builds it (Ed25519 is deterministic) and as the server received it. */
	seed_range(seed, 0x00);
	ck_assert_int_eq(p2_identity_from_seed(seed, &client), 0);
	ca_len = p2_client_auth_build(&req, client, th, ca);
	ck_assert_int_eq(ca_len, 103);
	ck_assert_hex(
	        ca, 103,
	        "010103a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b86f26d866dc64"
	        "ecf5923d610d07cad47a4a508c860473d0f08dae5cb14265be76ed94c55dd5cf15c7b06da4f0c085"
	        "61118e19d95f09fa41d4b273c10ffe098d0a0500000000");
	ck_assert_hex(
	        sv->request.sig, 64,
	        "6f26d866dc64ecf5923d610d07cad47a4a508c860473d0f08dae5cb14265be76ed94c55dd5cf15c7"
	        "b06da4f0c08561118e19d95f09fa41d4b273c10ffe098d0a");
	ck_assert_uint_eq(sv->request.flags, 5);
	ck_assert_uint_eq(sv->request.n_items, 0);
	ck_assert_mem_eq(sv->request.client_pk, client->pk, 32);
	ck_assert_str_eq(sv->client_key_id,
	                 "A050837D85070582CCF7394B0988847CC312CB88259B894899F6F239CF1791A5");
	crypto_generichash(h_ca, 32, ca, 103, NULL, 0);
	ck_assert_hex(h_ca, 32, "ee238832ed1affbc5783fb678808e61d433af63288b092a96f90fe17d025e3db");

	seed_range(seed, 0x20);
	ck_assert_int_eq(p2_identity_from_seed(seed, &server), 0);
	p2_server_auth_build(server, th, ca, 103, sa);
	ck_assert_hex(
	        sa + 34, 64,
	        "6aeb8d7b058bd7f7f6200324e9d49d8b23fb8e55fee70d68c4365ee9becfb5dcf6e62dff09f51b73"
	        "abb8cc12917c81793fa1293d7a46b6ab5fbf202246646402");
	ck_assert_str_eq(cl->server_key_id,
	                 "824C89AA8EFB95EF93629B4519599129CACE4ADAC9A6180DABA31CEED41ECEE6");
	ck_assert(cl->pinned);

	ck_assert_int_eq(cl->result_len, 91);
	ck_assert_hex(
	        cl->result_bytes, 91,
	        "0104000000000000000001014d00745d06d97d82a140de0f7eab2180f580dfc3c48ccba7bda4d1b0"
	        "0a6453d44d01855c7bd9813609cb97675c0489091f3613328a6063d5909b993086eebf427bedd9b3"
	        "143bb10a663845ee4fe5ce");
	ck_assert_ptr_nonnull(cl->secret);
	ck_assert_uint_eq(cl->secret->len, sizeof(PASSWORD) - 1);
	ck_assert_mem_eq(cl->secret->data, PASSWORD, sizeof(PASSWORD) - 1);

	crypto_generichash(digest, 32, cl->sent, cl->n_sent, NULL, 0);
	ck_assert_hex(digest, 32,
	              "200eccd9b683b2ef94e769e1c61807e064616dc78de6e9b77f0539159a08ee5f");
	crypto_generichash(digest, 32, cl->received, cl->n_received, NULL, 0);
	ck_assert_hex(digest, 32,
	              "ac5d0ac877127e325beb0eba965ad1f7b6f8c58ef38391cb43ca4aa04caee302");

	secbuf_free(cl->secret);
	p2_identity_free(client);
	p2_identity_free(server);
	free(cl);
	free(sv);
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
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
