/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Protocol 2 Part B (common/p2/escrow.h): the Run B / Run T values of §B.6, and negative cases. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "escrow.h"
#include "keys.h"
#include "msg.h"
#include "p2.h"
#include "sealed.h"
#include "testrng.h"
#include "unit-main.h"

#define PASSWORD "correct horse battery staple\n"
#define PASSWORD_LEN (sizeof(PASSWORD) - 1)

#define ck_assert_hex(bytes, n, expected)                                                          \
	do {                                                                                       \
		char _h[2 * (n) + 1];                                                              \
		sodium_bin2hex(_h, sizeof(_h), (bytes), (n));                                      \
		ck_assert_str_eq(_h, (expected));                                                  \
	} while (0)

static const char *const B_binding_file =
        "# Mandos protocol 2 escrow binding\n"
        "version = 1\n"
        "kid = c5abbe4bcbbcd8ec44300b711d4f9dd4\n"
        "s = 1mpNMyV64EOI/WZjEzRpTw87Joci8JO9JCiobJS6yXs=\n"
        "c = pq5cbl+9DO10QklbKxG3CVnX9zh3qnjTLfs9527K9GY=\n"
        "nonce = Rs7Qe4UtbKPvQ7rfzOG5OfAQYFbPhdtf\n"
        "box = P2Sw1SUCouelkpoD9ky9A6Ru36ob30iiY8kpyxHrQgGn+6Trxq5THL3ZzJYY\n";
static const char *const T_binding_file =
        "# Mandos protocol 2 escrow binding\n"
        "version = 1\n"
        "threshold = 2\n"
        "shares = 3\n"
        "data_nonce = UTqsRp1hRye3j+92AeHMEq6MDTzoy62j\n"
        "data_box = yD2TRWR1vSt+FM9EJ0O7kNShl3uyM50QPEj1T0buuQTnqhBvZDH0ZI7Vgtrn\n"
        "\n"
        "[share 1]\n"
        "server = 824C89AA8EFB95EF93629B4519599129CACE4ADAC9A6180DABA31CEED41ECEE6\n"
        "kid = f1f9fbfd0434a4193875350a1775246e\n"
        "s = FMLtfa4yln/+3/fA5VOIFHHsBkOFQetLxQjWj6BdXkk=\n"
        "c = aILysTtyl2Yo39CxZEHN52uWfecMF2I/+DrLv/3zoEM=\n"
        "nonce = sE6q4omxZpC/zjFpV2+KYSt35tSyj+rD\n"
        "box = GM45WdxBsu4kYJ/Qm5HrKR5BrbQPMwf+kMO39ZLiOc7d2eYfazY2+MSWRN0Lij3A\n"
        "\n"
        "[share 2]\n"
        "server = 1F0C09D0953E74E7D5D1F9537DC9B3F004D3137584386A520F5F03251CBD7F2D\n"
        "kid = 74bdc2fe204153fba182932cdba1854d\n"
        "s = MvsE517/PnF9M2SXUGLOHEiFiDGK7g0+lnqSiyX9+QI=\n"
        "c = HGxWksAWjL+i00WsfwwpZNwIkaiuknsHvYC8QeOD+lo=\n"
        "nonce = PvUW8o7L6z/SSq4d9/mDdNcVOwYXvnAG\n"
        "box = zz8FbWli8SAqcS6ZBZf3Tp4r4ucvlNaEsfjXMyZa4+6EbcO+wpb465+UloXEnQ+H\n"
        "\n"
        "[share 3]\n"
        "server = 276C0103ED82C2B1E3E831D19225D8B07C94EC98F099B011B9462ED810F03747\n"
        "kid = 27b890e238f51836481717eb128dfb06\n"
        "s = WLj9AmBb4oXFeAyijeQzT+Zby2eRU3bBFcXpeVT44mc=\n"
        "c = Wh9RxGCXyGk2rxwRSkQNpBCbdw8LyFgdwpkek3+/7j0=\n"
        "nonce = uslPRiXa5VXekdyDbWz/EmHhFkOSGB1m\n"
        "box = Z1t3CN7otHvIYzJ6SKYcBQMF+YtTWBds3VfEFY4CMaZ7i5Wx4VmUwB83NDlcvkVs\n";

/* client.key_id, server.key_id, server2.key_id, server3.key_id (§A.12.2, §B.6.2) */
static const char *const client_key_id =
        "a050837d85070582ccf7394b0988847cc312cb88259b894899f6f239cf1791a5";
static const char *const server_key_ids[3] = {
        "824c89aa8efb95ef93629b4519599129cace4adac9a6180daba31ceed41ecee6",
        "1f0c09d0953e74e7d5d1f9537dc9b3f004d3137584386a520f5f03251cbd7f2d",
        "276c0103ed82c2b1e3e831d19225d8b07c94ec98f099b011b9462ed810f03747",
};

static void unhex(const char *hex, uint8_t *ret, size_t n)
{
	size_t got = 0;

	ck_assert_uint_eq(strlen(hex), 2 * n);
	ck_assert_int_eq(sodium_hex2bin(ret, n, hex, 2 * n, NULL, &got, NULL), 0);
	ck_assert_uint_eq(got, n);
}

static void client_id(uint8_t ret[P2_KEY_ID_LEN])
{
	unhex(client_key_id, ret, P2_KEY_ID_LEN);
}

static void blake2b(uint8_t ret[32], const char *label, const uint8_t *const *parts,
                    const size_t *lens, size_t n)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
	for (size_t i = 0; i < n; i++) {
		crypto_generichash_update(&st, parts[i], lens[i]);
	}
	crypto_generichash_final(&st, ret, 32);
}

static P2Binding parse_ok(const char *text)
{
	P2Binding b;
	unsigned line = 99;
	const char *why = NULL;
	int r = p2_binding_parse(text, strlen(text), &b, &line, &why);

	ck_assert_msg(r == 0, "parse: %d at line %u: %s", r, line, why ? why : "");
	return b;
}

/* ---- Run B (§B.6.1): keygen, blind, evaluate, unblind, open ---- */

START_TEST(run_b_values)
{
	uint8_t id[P2_KEY_ID_LEN], S[P2_SCALAR_LEN], C[P2_SCALAR_LEN], eph[32], nonce[24];
	uint8_t K[32], kw[32], E[32], x[32], y[32], z[32], K0[32], hdr[24];
	uint8_t seed[32], seal_pk[32], seal_sk[32], sealed[PASSWORD_LEN + 48];
	P2Binding b = {0}, parsed;
	SecBuf *secret = NULL;
	char *text;

	client_id(id);
	for (int i = 0; i < 32; i++) {
		seed[i] = (uint8_t)(0x40 + i);
	}
	crypto_box_seed_keypair(seal_pk, seal_sk, seed);

	/* The library's keygen: seal first, then S, C, nonce. */
	p2_test_rng_start("mandos-p2 test keygen");
	ck_assert_int_eq(
	        p2_seal((const uint8_t *)PASSWORD, PASSWORD_LEN, seal_pk, sealed, sizeof(sealed)),
	        0);
	{
		/* B.sealed_secret = A.sealed_secret (the same first draw). */
		char b64[sodium_base64_ENCODED_LEN(sizeof(sealed), sodium_base64_VARIANT_ORIGINAL)];

		p2_base64_encode(sealed, sizeof(sealed), b64, sizeof(b64));
		ck_assert_str_eq(b64,
		                 "dF0G2X2CoUDeD36rIYD1gN/DxIzLp72k0bAKZFPUTQGFXHvZgTYJy5dnXASJCR82"
		                 "EzKKYGPVkJuZMIbuv0J77dmzFDuxCmY4Re5P5c4=");
	}
	ck_assert_int_eq(p2_escrow_enrol(id, (const uint8_t *)PASSWORD, PASSWORD_LEN, &b, S), 0);
	ck_assert_hex(S, 32, "2801153303601781af0556ba0997e922ee32407b5fccbbe45be0f1b38c0ff003");
	ck_assert_uint_eq(b.threshold, 0);
	ck_assert_uint_eq(b.n_keys, 1);
	ck_assert_uint_eq(b.keys[0].n_servers, 0);
	ck_assert_hex(b.keys[0].s, 32,
	              "d66a4d33257ae04388fd66631334694f0f3b268722f093bd2428a86c94bac97b");
	ck_assert_hex(b.keys[0].kid, 16, "c5abbe4bcbbcd8ec44300b711d4f9dd4");
	ck_assert_hex(b.keys[0].c, 32,
	              "a6ae5c6e5fbd0ced7442495b2b11b70959d7f73877aa78d32dfb3de76ecaf466");
	ck_assert_hex(b.keys[0].nonce, 24, "46ced07b852d6ca3ef43badfcce1b939f0106056cf85db5f");
	ck_assert_uint_eq(b.keys[0].box_len, 45);
	ck_assert_hex(b.keys[0].box, 45,
	              "3f64b0d52502a2e7a5929a03f64cbd03a46edfaa1bdf48a263c929cb11eb4201a7fba4ebc6"
	              "ae531cbdd9cc9618");

	/* The same draws by hand give the secrets the library wiped: C, K, kw. */
	p2_test_rng_start("mandos-p2 test keygen");
	randombytes_buf(eph, sizeof(eph));
	crypto_core_ristretto255_scalar_random(S);
	crypto_core_ristretto255_scalar_random(C);
	randombytes_buf(nonce, sizeof(nonce));
	ck_assert_hex(C, 32, "ab9665a87038f03500b412e497ed9523827118d23770def6d7c582a2bbfb4f0a");
	ck_assert_mem_eq(nonce, b.keys[0].nonce, 24);
	ck_assert_int_eq(crypto_scalarmult_ristretto255(K, C, b.keys[0].s), 0);
	ck_assert_hex(K, 32, "6e24609838345c65c8b73094d6959c7fb9f0d48249265b04a84fcddca0ee2706");
	{
		const uint8_t *parts[] = {id, b.keys[0].kid, b.keys[0].s, b.keys[0].c, K};
		const size_t lens[] = {32, 16, 32, 32, 32};

		blake2b(kw, "mandos-p2 escrow wrap", parts, lens, 5);
	}
	ck_assert_hex(kw, 32, "fa3c8491de255801f8618903eabb0b6133b565efe6f4f0abee2d6bfa3a4226a1");

	/* The server key from S alone. */
	{
		uint8_t s2[32], kid2[16];

		ck_assert_int_eq(p2_escrow_server_key(S, s2, kid2), 0);
		ck_assert_mem_eq(s2, b.keys[0].s, 32);
		ck_assert_mem_eq(kid2, b.keys[0].kid, 16);
	}

	/* Client: kx secret, init_push header, then E for item 0. */
	p2_test_rng_start("mandos-p2 test client");
	randombytes_buf(eph, sizeof(eph));
	randombytes_buf(hdr, sizeof(hdr));
	ck_assert_int_eq(p2_escrow_blind(b.keys[0].c, E, x), 0);
	ck_assert_hex(E, 32, "97edc02813c6f04d8df74889d036deec10fff70b97ac8ab4cb5ee411cdae7808");
	ck_assert_hex(x, 32, "528b3fc3865c620ab468621cf68e467ad227e028c4dab73ecd6903c4f00a6741");
	ck_assert_int_eq(p2_escrow_evaluate(S, x, y), 0);
	ck_assert_hex(y, 32, "42cae8c57be3abd02e0c9569dee7cc086f12d49903996a8ea22fce620b10d936");
	ck_assert_int_eq(crypto_scalarmult_ristretto255(z, E, b.keys[0].s), 0);
	ck_assert_hex(z, 32, "56330532b3b2761c46ae42edf69c8f9700678b4c787b2a4de3643cdc94bc7720");
	ck_assert_int_eq(p2_escrow_unblind(E, b.keys[0].s, y, K0), 0);
	ck_assert_mem_eq(K0, K, 32);
	ck_assert_int_eq(p2_escrow_open(&b, id, K0, &secret), 0);
	ck_assert_uint_eq(secret->len, PASSWORD_LEN);
	ck_assert_mem_eq(secret->data, PASSWORD, PASSWORD_LEN);
	secret = secbuf_free(secret);

	/* B.binding_file: parses to these values, and is what format() writes. */
	parsed = parse_ok(B_binding_file);
	ck_assert(p2_binding_equal(&parsed, &b));
	ck_assert_int_eq(p2_escrow_open(&parsed, id, K0, &secret), 0);
	secret = secbuf_free(secret);
	text = p2_binding_format(&b);
	ck_assert_ptr_nonnull(text);
	ck_assert_str_eq(text, B_binding_file);
	free(text);
	/* The comment line is optional. */
	p2_binding_done(&parsed);
	parsed = parse_ok(strchr(B_binding_file, '\n') + 1);
	ck_assert(p2_binding_equal(&parsed, &b));
	p2_binding_done(&parsed);
	p2_binding_done(&b);
}
END_TEST

/* ---- Run T (§B.6.2): a 2-of-3 threshold ---- */

static const struct {
	const char *S, *s, *kid, *C, *c, *K, *kw, *nonce, *box, *d;
} T_share[3] = {
        {"5aa1d24aa9e8cc98255639b4e723a33a9849210cd050386d71a7f418e0f0d706",
         "14c2ed7dae32967ffedff7c0e553881471ec06438541eb4bc508d68fa05d5e49",
         "f1f9fbfd0434a4193875350a1775246e",
         "134d4daf14ae23f4b1821bd924c2fe217c601e90e16a2c36fa67912f7eeeb20b",
         "6882f2b13b72976628dfd0b16441cde76b967de70c17623ff83acbbffdf3a043",
         "f6d612577df98e09b1232d23f04364935cc19f410158c7b2804cb3027f4fe206",
         "d211f7cb56d7c2ac19fd17514253810ed037b8da80b7481a8c39a0e41845cedd",
         "b04eaae289b16690bfce3169576f8a612b77e6d4b28feac3",
         "18ce3959dc41b2ee24609fd09b91eb291e41adb40f3307fe90c3b7f592e239ceddd9e61f6b3636f8c49644dd0"
         "b8a3dc0",
         "946dea8841b146357394e16812f15450373f814469b298d93d50f4243170370d"},
        {"f449039a418731b474c8ce1bd9637d60dc51934828bc39521a32b0b6118f060e",
         "32fb04e75eff3e717d3364975062ce1c488588318aee0d3e967a928b25fdf902",
         "74bdc2fe204153fba182932cdba1854d",
         "dc0dda045689ee3e154f9cdcdb1aad17d86e1474fd4d6a3bb4cea224f4830e00",
         "1c6c5692c0168cbfa2d345ac7f0c2964dc0891a8ae927b07bd80bc41e383fa5a",
         "a42a4bf2459c9603a9e859dad2322a5a75f8e0f75b2062e469210483549f1100",
         "49ffa0676155091935431dc5ddeec488517b1b4bd7eebe975f27b1ad0068d0ad",
         "3ef516f28ecbeb3fd24aae1df7f98374d7153b0617be7006",
         "cf3f056d6962f1202a712e990597f74e9e2be2e72f94d684b1f8d733265ae3ee846dc3bec296f8eb9f949685c"
         "49d0f87",
         "2dc39ace26cf884d02f5ad872a45ec1bff2324066506f7c4dd63a2cb7efc960b"},
        {"70dab9805b69ee133afad2b20a682379228a9a82cf2779cd318d24392ee93c0c",
         "58b8fd02605be285c5780ca28de4334fe65bcb67915376c115c5e97954f8e267",
         "27b890e238f51836481717eb128dfb06",
         "3d202c56e2d92fdaae53052193f5c43ec03f4158dea06e09265e782098ba540d",
         "5a1f51c46097c86936af1c114a440da4109b770f0bc8581dc2991e937fbfee3d",
         "96f498d7d34f9cf8d6e69583cb7b348134029541844b24da731ab5ca56edb115",
         "a12e38e3dbea0380dee4b1516a31f43980827640dd8ea40cda35a6aab68b6d76",
         "bac94f4625dae555de91dc836d6cff1261e1164392181d66",
         "675b7708dee8b47bc863327a48a61c050305f98b5358176cdd57c4158e0231a67b8b95b1e15994c01f3734395"
         "cbe456c",
         "c6184b140cedca6591557aa6429983e7c608c7c7605a55b07d775072cc88f609"},
};

#define T_D "fb173a435c93041de433154afa9cbd846f5ade826d5e3aee9d3c467ee3e3d70e"
#define T_KD "d578616f98c7e7261ecddf7026a9ec8a608fd32bc926370110525c5f4aa907e9"

static const struct {
	uint8_t xs[2];
	const char *lambda[2];
} T_pairs[3] = {
        {{1, 2},
         {"0200000000000000000000000000000000000000000000000000000000000000",
          "ecd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010"}},
        {{1, 3},
         {"f8e97a2e8d31092c6bce7b51ef7c6f0a00000000000000000000000000000008",
          "f6e97a2e8d31092c6bce7b51ef7c6f0a00000000000000000000000000000008"}},
        {{2, 3},
         {"0300000000000000000000000000000000000000000000000000000000000000",
          "ebd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010"}},
};

/* The enrolment of Run T, with the share servers of T.binding_file. */
static void run_t_enrol(P2Binding *b, uint8_t S[3][P2_SCALAR_LEN])
{
	uint8_t id[P2_KEY_ID_LEN];

	client_id(id);
	p2_test_rng_start("mandos-p2 test threshold keygen");
	ck_assert_int_eq(
	        p2_threshold_enrol(id, 2, 3, (const uint8_t *)PASSWORD, PASSWORD_LEN, b, S), 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(b->keys[i].n_servers, 0);
		ck_assert_ptr_null(b->keys[i].address);
		unhex(server_key_ids[i], b->keys[i].servers[0], P2_KEY_ID_LEN);
		b->keys[i].n_servers = 1;
	}
}

START_TEST(run_t_values)
{
	uint8_t id[P2_KEY_ID_LEN], S[3][P2_SCALAR_LEN], coef[2][32], dn[24], kD[32];
	uint8_t d[3][32], C[32], K[32], kw[32], Si[32], nonce[24];
	P2Binding b = {0}, parsed;
	char *text;

	client_id(id);
	run_t_enrol(&b, S);
	ck_assert_uint_eq(b.threshold, 2);
	ck_assert_uint_eq(b.n_keys, 3);
	ck_assert_hex(b.data_nonce, 24, "513aac469d614727b78fef7601e1cc12ae8c0d3ce8cbada3");
	ck_assert_uint_eq(b.data_box_len, 45);
	ck_assert_hex(b.data_box, 45,
	              "c83d93456475bd2b7e14cf442743bb90d4a1977bb2339d103c48f54f46eeb904e7aa106f64"
	              "31f4648ed582dae7");
	for (int i = 0; i < 3; i++) {
		ck_assert_hex(S[i], 32, T_share[i].S);
		ck_assert_hex(b.keys[i].s, 32, T_share[i].s);
		ck_assert_hex(b.keys[i].kid, 16, T_share[i].kid);
		ck_assert_hex(b.keys[i].c, 32, T_share[i].c);
		ck_assert_hex(b.keys[i].nonce, 24, T_share[i].nonce);
		ck_assert_uint_eq(b.keys[i].box_len, 48);
		ck_assert_hex(b.keys[i].box, 48, T_share[i].box);
	}

	/* The wiped secrets, by the same draws: D, a_1, data_nonce, then S_i, C_i, nonce_i. */
	p2_test_rng_start("mandos-p2 test threshold keygen");
	crypto_core_ristretto255_scalar_random(coef[0]);
	crypto_core_ristretto255_scalar_random(coef[1]);
	randombytes_buf(dn, sizeof(dn));
	ck_assert_hex(coef[0], 32, T_D);
	ck_assert_hex(coef[1], 32,
	              "8629a6a2ff80547065fdc3c1f64d76e0c7e4a2c1fb535eeb9f13aea64d8c5f0e");
	ck_assert_mem_eq(dn, b.data_nonce, 24);
	{
		const uint8_t *parts[] = {coef[0]};
		const size_t lens[] = {32};

		blake2b(kD, "mandos-p2 sss data", parts, lens, 1);
	}
	ck_assert_hex(kD, 32, T_KD);
	for (int i = 0; i < 3; i++) {
		const uint8_t *parts[] = {id, b.keys[i].kid, b.keys[i].s, b.keys[i].c, K};
		const size_t lens[] = {32, 16, 32, 32, 32};
		uint8_t di[32];

		crypto_core_ristretto255_scalar_random(Si);
		crypto_core_ristretto255_scalar_random(C);
		randombytes_buf(nonce, sizeof(nonce));
		ck_assert_mem_eq(Si, S[i], 32);
		ck_assert_hex(C, 32, T_share[i].C);
		ck_assert_mem_eq(nonce, b.keys[i].nonce, 24);
		ck_assert_int_eq(crypto_scalarmult_ristretto255(K, C, b.keys[i].s), 0);
		ck_assert_hex(K, 32, T_share[i].K);
		blake2b(kw, "mandos-p2 share wrap", parts, lens, 5);
		ck_assert_hex(kw, 32, T_share[i].kw);
		/* d_i = f(i), and box_i opens to it with K_i. */
		p2_sss_eval((const uint8_t(*)[32])coef, 2, (uint8_t)(i + 1), di);
		ck_assert_hex(di, 32, T_share[i].d);
		ck_assert_int_eq(p2_share_open(&b, id, (unsigned)i + 1, K, d[i]), 0);
		ck_assert_mem_eq(d[i], di, 32);
	}

	/* Every pair reconstructs D and opens the data box. */
	for (int p = 0; p < 3; p++) {
		const uint8_t *xs = T_pairs[p].xs;
		uint8_t lambda[32], D[32] = {0}, term[32], pd[2][32];
		SecBuf *secret = NULL;

		for (int j = 0; j < 2; j++) {
			ck_assert_int_eq(p2_sss_lagrange(xs, 2, (size_t)j, lambda), 0);
			ck_assert_hex(lambda, 32, T_pairs[p].lambda[j]);
			crypto_core_ristretto255_scalar_mul(term, lambda, d[xs[j] - 1]);
			crypto_core_ristretto255_scalar_add(D, D, term);
			memcpy(pd[j], d[xs[j] - 1], 32);
		}
		ck_assert_hex(D, 32, T_D);
		ck_assert_int_eq(
		        p2_threshold_open(&b, id, xs, (const uint8_t(*)[32])pd, 2, &secret), 0);
		ck_assert_uint_eq(secret->len, PASSWORD_LEN);
		ck_assert_mem_eq(secret->data, PASSWORD, PASSWORD_LEN);
		secbuf_free(secret);
	}

	/* T.binding_file parses to these values and is what format() writes. */
	parsed = parse_ok(T_binding_file);
	ck_assert(p2_binding_equal(&parsed, &b));
	p2_binding_done(&parsed);
	text = p2_binding_format(&b);
	ck_assert_ptr_nonnull(text);
	ck_assert_str_eq(text, T_binding_file);
	free(text);
	p2_binding_done(&b);
}
END_TEST

/* ---- §B.1 validation ---- */

static const uint8_t L[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                              0xa2, 0xde, 0xf9, 0xde, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                              0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10};

START_TEST(scalar_rules)
{
	uint8_t S[32], s[32], kid[16], s0[32], kid0[16];

	memset(S, 0, sizeof(S));
	ck_assert(!p2_scalar_acceptable(S)); /* zero */
	memcpy(S, L, 32);
	ck_assert(!p2_scalar_acceptable(S)); /* L ≡ 0, not canonical */
	S[0]++;
	ck_assert(!p2_scalar_acceptable(S)); /* L + 1 ≡ 1 */
	S[0] -= 2;
	ck_assert(p2_scalar_acceptable(S)); /* L − 1 */
	memset(S, 0xff, sizeof(S));
	ck_assert(!p2_scalar_acceptable(S));
	unhex("2801153303601781af0556ba0997e922ee32407b5fccbbe45be0f1b38c0ff003", S, 32);
	ck_assert(p2_scalar_acceptable(S));
	S[31] |= 0x80; /* libsodium would mask the top bit: refuse it */
	ck_assert(!p2_scalar_acceptable(S));

	/* Outputs untouched on failure. */
	memset(s, 0x55, sizeof(s));
	memset(kid, 0x55, sizeof(kid));
	memcpy(s0, s, 32);
	memcpy(kid0, kid, 16);
	ck_assert_int_eq(p2_escrow_server_key(S, s, kid), -EINVAL);
	ck_assert_mem_eq(s, s0, 32);
	ck_assert_mem_eq(kid, kid0, 16);
	memset(S, 0, sizeof(S));
	ck_assert_int_eq(p2_escrow_server_key(S, s, kid), -EINVAL);
	S[0] = 1;
	ck_assert_int_eq(p2_escrow_server_key(S, s, kid), 0);
	ck_assert_int_eq(crypto_scalarmult_ristretto255_base(s0, S), 0);
	ck_assert_mem_eq(s, s0, 32);
}
END_TEST

/* Points that §B.1 rejects: identity, top bit set on a valid point, ff…ff, 2²⁵⁵ − 19, odd. */
static void bad_points(uint8_t ret[5][32], const uint8_t valid[32])
{
	memset(ret[0], 0, 32);
	memcpy(ret[1], valid, 32);
	ret[1][31] |= 0x80;
	memset(ret[2], 0xff, 32);
	memset(ret[3], 0xff, 32);
	ret[3][0] = 0xed;
	ret[3][31] = 0x7f;
	memset(ret[4], 0, 32);
	ret[4][0] = 1;
}

START_TEST(point_rules)
{
	uint8_t S[32], s[32], kid[16], E[32], x[32], y[32], K[32], bad[5][32];
	uint8_t keep[32];

	unhex("2801153303601781af0556ba0997e922ee32407b5fccbbe45be0f1b38c0ff003", S, 32);
	ck_assert_int_eq(p2_escrow_server_key(S, s, kid), 0);
	bad_points(bad, s);
	for (int i = 0; i < 5; i++) {
		ck_assert(!p2_point_acceptable(bad[i]));
		memset(x, 0x33, 32);
		memcpy(keep, x, 32);
		ck_assert_int_eq(p2_escrow_blind(bad[i], E, x), -EINVAL);
		ck_assert_mem_eq(x, keep, 32);
		memset(y, 0x33, 32);
		ck_assert_int_eq(p2_escrow_evaluate(S, bad[i], y), -EINVAL);
		ck_assert_mem_eq(y, keep, 32);
	}
	/* y: the client checks it before the subtraction; a y equal to [E]s gives K = 0. */
	ck_assert_int_eq(p2_escrow_blind(s, E, x), 0);
	for (int i = 0; i < 5; i++) {
		memset(K, 0x33, 32);
		ck_assert_int_eq(p2_escrow_unblind(E, s, bad[i], K), -EBADMSG);
		ck_assert_mem_eq(K, keep, 32);
	}
	ck_assert_int_eq(crypto_scalarmult_ristretto255(y, E, s), 0);
	ck_assert_int_eq(p2_escrow_unblind(E, s, y, K), -EINVAL);
	ck_assert_mem_eq(K, keep, 32);
	/* A valid exchange: K = [S]c with c = s here. */
	ck_assert_int_eq(p2_escrow_evaluate(S, x, y), 0);
	ck_assert_int_eq(p2_escrow_unblind(E, s, y, K), 0);
	ck_assert_int_eq(crypto_scalarmult_ristretto255(keep, S, s), 0);
	ck_assert_mem_eq(K, keep, 32);
}
END_TEST

/*
 * A RESULT OK with n ESCROW items, item i being len[i] bytes of data[i] (48: kid ‖ y), built by
 * hand: p2_result_build() refuses some of the malformed ones.  Returns its length.
 */
static size_t escrow_result(uint8_t *m, size_t n, const uint8_t *const *data, const uint16_t *len)
{
	size_t at = 0;

	m[at++] = P2_MSG_VERSION;
	m[at++] = P2_MSG_RESULT;
	memset(m + at, 0, 8); /* code OK, flags, value, tlen */
	at += 8;
	m[at++] = (uint8_t)n;
	for (size_t i = 0; i < n; i++) {
		m[at++] = P2_ITEM_ESCROW;
		m[at++] = (uint8_t)(len[i] & 0xff);
		m[at++] = (uint8_t)(len[i] >> 8);
		memcpy(m + at, data[i], len[i]);
		at += len[i];
	}
	return at;
}

/*
 * §A.4.2 / §B.6.3 "Client": an ESCROW item whose y is 0³², has the top bit set or is no point,
 * whose kid was not requested, that repeats a kid or comes out of request order, or whose length
 * is not 48, makes the RESULT malformed.
 */
START_TEST(result_escrow_rules)
{
	P2ClientAuth req = {.flags = P2_FLAG_WANT_ESCROW | P2_FLAG_SHOWS_STATUS, .n_items = 3};
	uint8_t it[3][49], bad[49], m[512];
	static const uint16_t l48[3] = {48, 48, 48};
	P2Result res;
	size_t n;

	for (int i = 0; i < 3; i++) {
		randombytes_buf(req.items[i].kid, P2_KID_LEN);
		crypto_core_ristretto255_random(req.items[i].point);
		memcpy(it[i], req.items[i].kid, P2_KID_LEN);
		crypto_core_ristretto255_random(it[i] + P2_KID_LEN);
		it[i][48] = 0;
	}
	/* In request order, any subset. */
	n = escrow_result(m, 3, (const uint8_t *const[]){it[0], it[1], it[2]}, l48);
	ck_assert_int_eq(p2_result_parse(m, n, &req, &res), 0);
	ck_assert_uint_eq(res.n_items, 3);
	n = escrow_result(m, 2, (const uint8_t *const[]){it[0], it[2]}, l48);
	ck_assert_int_eq(p2_result_parse(m, n, &req, &res), 0);
	/* Duplicate, out of order. */
	n = escrow_result(m, 2, (const uint8_t *const[]){it[1], it[1]}, l48);
	ck_assert_int_eq(p2_result_parse(m, n, &req, &res), -EBADMSG);
	n = escrow_result(m, 2, (const uint8_t *const[]){it[2], it[0]}, l48);
	ck_assert_int_eq(p2_result_parse(m, n, &req, &res), -EBADMSG);
	/* Length 47 or 49. */
	n = escrow_result(m, 1, (const uint8_t *const[]){it[0]}, (const uint16_t[]){47});
	ck_assert_int_eq(p2_result_parse(m, n, &req, &res), -EBADMSG);
	n = escrow_result(m, 1, (const uint8_t *const[]){it[0]}, (const uint16_t[]){49});
	ck_assert_int_eq(p2_result_parse(m, n, &req, &res), -EBADMSG);
	/* An unrequested kid; any kid when the request had none. */
	memcpy(bad, it[1], sizeof(bad));
	bad[0] ^= 1;
	n = escrow_result(m, 1, (const uint8_t *const[]){bad}, l48);
	ck_assert_int_eq(p2_result_parse(m, n, &req, &res), -EBADMSG);
	n = escrow_result(m, 1, (const uint8_t *const[]){it[0]}, l48);
	ck_assert_int_eq(
	        p2_result_parse(m, n, &(P2ClientAuth){.flags = P2_FLAG_SHOWS_STATUS}, &res),
	        -EBADMSG);
	/* y: 0³², the top bit set on a valid y, ff…ff, 2²⁵⁵ − 19, an odd encoding. */
	{
		uint8_t ys[5][32];

		bad_points(ys, it[1] + P2_KID_LEN);
		for (int i = 0; i < 5; i++) {
			memcpy(bad, it[1], sizeof(bad));
			memcpy(bad + P2_KID_LEN, ys[i], 32);
			n = escrow_result(m, 2, (const uint8_t *const[]){it[0], bad}, l48);
			ck_assert_int_eq(p2_result_parse(m, n, &req, &res), -EBADMSG);
		}
	}
}
END_TEST

/* ---- the exchange against a binding: wrong y, foreign binding, rewrap ---- */

/* blind, evaluate with S, unblind: the K the client would get from a server holding S. */
static void exchange(const P2BindingKey *key, const uint8_t S[32], uint8_t K[32])
{
	uint8_t E[32], x[32], y[32];

	ck_assert_int_eq(p2_escrow_blind(key->c, E, x), 0);
	ck_assert_int_eq(p2_escrow_evaluate(S, x, y), 0);
	ck_assert_int_eq(p2_escrow_unblind(E, key->s, y, K), 0);
}

/* r and *secret of an open: 0 and want (then freed). */
static void expect_secret(int r, SecBuf **secret, const char *want)
{
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq((*secret)->len, strlen(want));
	ck_assert_mem_eq((*secret)->data, want, strlen(want));
	ck_assert_uint_eq((*secret)->data[(*secret)->len], 0);
	*secret = secbuf_free(*secret);
}

START_TEST(single_open_rules)
{
	uint8_t id[P2_KEY_ID_LEN], other[P2_KEY_ID_LEN], S[32], S2[32], K[32];
	P2Binding b = {0}, before;
	SecBuf *secret = NULL;
	char *old_text, *text;
	uint8_t big[P2_SECRET_MAX + 1] = {0};

	client_id(id);
	memcpy(other, id, sizeof(other));
	other[0] ^= 1;
	p2_test_rng_start("escrow single");
	ck_assert_int_eq(p2_escrow_enrol(id, (const uint8_t *)"", 0, &b, S), -EINVAL);
	ck_assert_int_eq(p2_escrow_enrol(id, big, sizeof(big), &b, S), -EINVAL);
	ck_assert_int_eq(p2_escrow_enrol(id, big, P2_SECRET_MAX, &b, S), 0);
	ck_assert_uint_eq(b.keys[0].box_len, P2_ESCROW_BOX_MAX);
	exchange(&b.keys[0], S, K);
	ck_assert_int_eq(p2_escrow_open(&b, id, K, &secret), 0);
	ck_assert_uint_eq(secret->len, P2_SECRET_MAX);
	secret = secbuf_free(secret);
	p2_binding_done(&b);

	ck_assert_int_eq(p2_escrow_enrol(id, (const uint8_t *)"old", 3, &b, S), 0);
	exchange(&b.keys[0], S, K);
	expect_secret(p2_escrow_open(&b, id, K, &secret), &secret, "old");
	/* A y from another scalar (a wrong server): unblinding works, the box does not open. */
	crypto_core_ristretto255_scalar_random(S2);
	exchange(&b.keys[0], S2, K);
	secret = NULL;
	ck_assert_int_eq(p2_escrow_open(&b, id, K, &secret), -EBADMSG);
	ck_assert_ptr_null(secret);
	/* The box is bound to the client's key id. */
	exchange(&b.keys[0], S, K);
	ck_assert_int_eq(p2_escrow_open(&b, other, K, &secret), -EBADMSG);
	/* A single binding is no share, a threshold open needs a threshold binding. */
	ck_assert_int_eq(p2_share_open(&b, id, 1, K, S2), -EINVAL);

	/* Rewrap: servers and kid/s stay, c/nonce/box change; the old file still opens. */
	unhex(server_key_ids[0], b.keys[0].servers[0], 32);
	unhex(server_key_ids[1], b.keys[0].servers[1], 32);
	b.keys[0].n_servers = 2;
	old_text = p2_binding_format(&b);
	ck_assert_int_eq(p2_binding_rewrap(&b, id, (const uint8_t *)"", 0), -EINVAL);
	text = p2_binding_format(&b);
	ck_assert_str_eq(text, old_text);
	free(text);
	ck_assert_int_eq(p2_binding_rewrap(&b, id, (const uint8_t *)"new password", 12), 0);
	before = parse_ok(old_text);
	ck_assert_mem_eq(b.keys[0].kid, before.keys[0].kid, 16);
	ck_assert_mem_eq(b.keys[0].s, before.keys[0].s, 32);
	ck_assert_uint_eq(b.keys[0].n_servers, 2);
	ck_assert_mem_eq(b.keys[0].servers, before.keys[0].servers, 64);
	ck_assert(memcmp(b.keys[0].c, before.keys[0].c, 32) != 0);
	ck_assert(memcmp(b.keys[0].nonce, before.keys[0].nonce, 24) != 0);
	exchange(&b.keys[0], S, K);
	expect_secret(p2_escrow_open(&b, id, K, &secret), &secret, "new password");
	ck_assert_int_eq(p2_escrow_open(&before, id, K, &secret), -EBADMSG);
	exchange(&before.keys[0], S, K);
	expect_secret(p2_escrow_open(&before, id, K, &secret), &secret, "old");
	text = p2_binding_format(&b);
	p2_binding_done(&before);
	before = parse_ok(text);
	ck_assert(p2_binding_equal(&before, &b));
	free(text);
	free(old_text);
	p2_binding_done(&before);
	p2_binding_done(&b);
	sodium_memzero(S, sizeof(S));
}
END_TEST

START_TEST(threshold_rules)
{
	uint8_t id[P2_KEY_ID_LEN], S[3][32], K[3][32], d[3][32], dd[3][32], tmp[32];
	uint8_t xs[3];
	P2Binding b = {0}, before;
	SecBuf *secret = NULL;
	char *text, *old_text;

	client_id(id);
	ck_assert_int_eq(p2_threshold_enrol(id, 1, 3, (const uint8_t *)"pw", 2, &b, S), -EINVAL);
	ck_assert_int_eq(p2_threshold_enrol(id, 4, 3, (const uint8_t *)"pw", 2, &b, S), -EINVAL);
	ck_assert_int_eq(p2_threshold_enrol(id, 2, 9, (const uint8_t *)"pw", 2, &b, S), -EINVAL);
	ck_assert_int_eq(p2_threshold_enrol(id, 2, 3, (const uint8_t *)"pw", 0, &b, S), -EINVAL);
	run_t_enrol(&b, S);
	ck_assert_str_eq(b.keys[2].address = strdup("192.0.2.3:1234"), "192.0.2.3:1234");
	for (unsigned i = 0; i < 3; i++) {
		exchange(&b.keys[i], S[i], K[i]);
		ck_assert_int_eq(p2_share_open(&b, id, i + 1, K[i], d[i]), 0);
	}
	/* Share i opens only with its own K, index and key id. */
	memset(tmp, 0x77, sizeof(tmp));
	memcpy(dd[0], tmp, 32);
	ck_assert_int_eq(p2_share_open(&b, id, 2, K[0], tmp), -EBADMSG);
	ck_assert_mem_eq(tmp, dd[0], 32);
	ck_assert_int_eq(p2_share_open(&b, id, 0, K[0], tmp), -EINVAL);
	ck_assert_int_eq(p2_share_open(&b, id, 4, K[0], tmp), -EINVAL);
	id[5] ^= 1;
	ck_assert_int_eq(p2_share_open(&b, id, 1, K[0], tmp), -EBADMSG);
	ck_assert_int_eq(p2_threshold_open(&b, id, (const uint8_t[]){1, 2}, d, 2, &secret),
	                 -EBADMSG);
	id[5] ^= 1;

	/* Too few, too many, repeated or out-of-range shares. */
	xs[0] = 1;
	xs[1] = 2;
	xs[2] = 3;
	ck_assert_int_eq(p2_threshold_open(&b, id, xs, d, 1, &secret), -EINVAL);
	ck_assert_int_eq(p2_threshold_open(&b, id, xs, d, 3, &secret), -EINVAL);
	ck_assert_int_eq(p2_threshold_open(&b, id, (const uint8_t[]){1, 1}, d, 2, &secret),
	                 -EINVAL);
	ck_assert_int_eq(p2_threshold_open(&b, id, (const uint8_t[]){0, 1}, d, 2, &secret),
	                 -EINVAL);
	ck_assert_int_eq(p2_threshold_open(&b, id, (const uint8_t[]){1, 4}, d, 2, &secret),
	                 -EINVAL);
	ck_assert_int_eq(p2_sss_lagrange((const uint8_t[]){2, 2}, 2, 0, tmp), -EINVAL);
	ck_assert_int_eq(p2_sss_lagrange(xs, 2, 2, tmp), -EINVAL);
	/* Wrong shares: swapped x-coordinates, a changed d. */
	ck_assert_int_eq(p2_threshold_open(&b, id, (const uint8_t[]){2, 1}, d, 2, &secret),
	                 -EBADMSG);
	memcpy(dd, d, sizeof(d));
	dd[1][0] ^= 1;
	ck_assert_int_eq(p2_threshold_open(&b, id, xs, dd, 2, &secret), -EBADMSG);
	/* Any order of the same shares is fine. */
	memcpy(dd[0], d[2], 32);
	memcpy(dd[1], d[0], 32);
	expect_secret(p2_threshold_open(&b, id, (const uint8_t[]){3, 1}, dd, 2, &secret), &secret,
	              PASSWORD);
	/* A corrupt data box: the shares are authentic, the binding is not. */
	b.data_box[3] ^= 1;
	ck_assert_int_eq(p2_threshold_open(&b, id, xs, d, 2, &secret), -EBADMSG);
	b.data_box[3] ^= 1;
	/* p2_escrow_open is for single bindings only. */
	ck_assert_int_eq(p2_escrow_open(&b, id, K[0], &secret), -EINVAL);

	/* Rewrap: new D, data nonce, c_i, boxes; kids, s, servers, addresses stay. */
	old_text = p2_binding_format(&b);
	ck_assert_int_eq(p2_binding_rewrap(&b, id, (const uint8_t *)"", 0), -EINVAL);
	text = p2_binding_format(&b);
	ck_assert_str_eq(text, old_text);
	free(text);
	ck_assert_int_eq(p2_binding_rewrap(&b, id, (const uint8_t *)"new password", 12), 0);
	before = parse_ok(old_text);
	ck_assert(memcmp(b.data_nonce, before.data_nonce, 24) != 0);
	ck_assert_str_eq(b.keys[2].address, "192.0.2.3:1234");
	for (unsigned i = 0; i < 3; i++) {
		ck_assert_mem_eq(b.keys[i].kid, before.keys[i].kid, 16);
		ck_assert_mem_eq(b.keys[i].s, before.keys[i].s, 32);
		ck_assert_uint_eq(b.keys[i].n_servers, 1);
		ck_assert_mem_eq(b.keys[i].servers[0], before.keys[i].servers[0], 32);
		ck_assert(memcmp(b.keys[i].c, before.keys[i].c, 32) != 0);
		exchange(&b.keys[i], S[i], K[i]);
		ck_assert_int_eq(p2_share_open(&b, id, i + 1, K[i], dd[i]), 0);
		ck_assert(memcmp(dd[i], d[i], 32) != 0); /* a new polynomial */
	}
	expect_secret(p2_threshold_open(&b, id, (const uint8_t[]){2, 3}, dd + 1, 2, &secret),
	              &secret, "new password");
	/* The old file still opens with the old shares (the servers did not change). */
	expect_secret(p2_threshold_open(&before, id, xs, d, 2, &secret), &secret, PASSWORD);
	text = p2_binding_format(&b);
	p2_binding_done(&before);
	before = parse_ok(text);
	ck_assert(p2_binding_equal(&before, &b));
	free(text);
	free(old_text);
	p2_binding_done(&before);
	p2_binding_done(&b);
}
END_TEST

/* ---- binding files (§B.3, §B.6.3) ---- */

/* text with line `line` (1-based) replaced by `with` (may hold several lines; NULL: deleted). */
static char *edit_line(const char *text, unsigned line, const char *with)
{
	const char *p = text;
	size_t n = strlen(text) + (with ? strlen(with) : 0) + 2;
	char *out = malloc(n), *o = out;

	ck_assert_ptr_nonnull(out);
	for (unsigned l = 1; *p; l++) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) + 1 : strlen(p);

		if (l == line) {
			if (with) {
				o = stpcpy(o, with);
				*o++ = '\n';
			}
		} else {
			memcpy(o, p, len);
			o += len;
		}
		p += len;
	}
	*o = '\0';
	return out;
}

static void expect_rejected(const char *text, size_t len, unsigned want_line, const char *want_why)
{
	P2Binding b;
	unsigned line = 12345;
	const char *why = NULL;

	memset(&b, 0x5a, sizeof(b));
	ck_assert_int_eq(p2_binding_parse(text, len, &b, &line, &why), -EBADMSG);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(line == want_line, "line %u, not %u (%s)", line, want_line, why);
	ck_assert_msg(strstr(why, want_why) != NULL, "\"%s\" is not \"%s\"", why, want_why);
	/* ret untouched */
	for (size_t i = 0; i < sizeof(b); i++) {
		ck_assert_uint_eq(((const uint8_t *)&b)[i], 0x5a);
	}
}

static const struct {
	bool threshold;
	unsigned line;    /* the line edited */
	const char *with; /* NULL: deleted */
	unsigned want_line;
	const char *want_why;
} bad_files[] = {
        /* single binding: lines 1 comment, 2 version, 3 kid, 4 s, 5 c, 6 nonce, 7 box */
        {false, 3, "kid = c5abbe4bcbbcd8ec44300b711d4f9dd5", 3, "not the key ID of `s`"},
        {false, 4, "s = pq5cbl+9DO10QklbKxG3CVnX9zh3qnjTLfs9527K9GY=", 3, "not the key ID"},
        {false, 4, "s = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 4, "not a valid point"},
        {false, 5, "c = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 5, "not a valid point"},
        {false, 5, "c = pq5cbl+9DO10QklbKxG3CVnX9zh3qnjTLfs9527K9OY=", 5, "not a valid point"},
        {false, 5, "c = 7f///////////////////////////////////////38=", 5, "not a valid point"},
        {false, 5, "c = AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 5, "not a valid point"},
        {false, 5, "c = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==", 5, "not base64 of 32"},
        {false, 5, "c = pq5cbl+9DO10QklbKxG3CVnX9zh3qnjTLfs9527K9GY", 5, "not base64"},
        {false, 5, "c = pq5cbl+9DO10QklbKx G3CVnX9zh3qnjTLfs9527K9GY=", 5, "not base64"},
        /* whitespace p2_base64_decode() would skip: not standard base64 */
        {false, 4, "s = 1mpNMyV64EOI/WZjEzRpTw87\vJoci8JO9JCiobJS6yXs=", 4, "not base64 of 32"},
        {false, 6, "nonce = Rs7Qe4UtbKPvQ7rf\fzOG5OfAQYFbPhdtf", 6, "not base64 of 24"},
        {false, 7, "box = P2Sw1SUCouelkpoD9ky9A6Ru36ob30iiY8kpyxHrQgGn\v+6Trxq5THL3ZzJYY", 7,
         "not base64 of 17"},
        {false, 6, NULL, 0, "`nonce` missing"},
        {false, 3, NULL, 0, "`kid` missing"},
        {false, 7, NULL, 0, "`box` missing"},
        {false, 2, NULL, 2, "`version = 1` must be the first key line"},
        {false, 2, "version = 2", 2, "unsupported version"},
        {false, 6, "nonce = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 6, "not base64 of 24"},
        {false, 7, "box = AAAAAAAAAAAAAAAAAAAAAA==", 7, "not base64 of 17"},
        {false, 8, "box = AAAAAAAAAAAAAAAAAAAAAA==", 8, "repeated key"},
        {false, 8, "kid = c5abbe4bcbbcd8ec44300b711d4f9dd4", 8, "repeated key"},
        {false, 8, "foo = 1", 8, "unknown key"},
        {false, 8, "Kid = c5abbe4bcbbcd8ec44300b711d4f9dd4", 8, "unknown key"},
        {false, 8, "kid", 8, "not `key = value`"},
        {false, 8, "kid =", 8, "empty value"},
        {false, 3, "kid = c5abbe4bcbbcd8ec44300b711d4f9dd", 3, "not 32 hex"},
        {false, 3, "kid = c5abbe4bcbbcd8ec44300b711d4f9dd4 # x", 3, "not 32 hex"},
        {false, 8, "address = host:1234", 8, "`address` outside a [share I] section"},
        {true, 7, "address = host:1234", 7, "`address` outside a [share I] section"},
        {true, 9, "version = 1", 9, "a header key inside a [share I] section"},
        {false, 8, "threshold = 2", 8, "a threshold key in a single binding"},
        {false, 8, "[share 1]", 8, "a [share I] section in a single binding"},
        {false, 8, "server = 824C89AA8EFB95EF93629B4519599129CACE4ADAC9A6180DABA31CEED41ECEE", 8,
         "server key IDs"},
        {false, 8,
         "server = 824C89AA8EFB95EF93629B4519599129CACE4ADAC9A6180DABA31CEED41ECEE6 "
         "824c89aa8efb95ef93629b4519599129cace4adac9a6180daba31ceed41ecee6",
         8, "server key IDs"},
        {false, 8,
         "server = 824C89AA8EFB95EF93629B4519599129CACE4ADAC9A6180DABA31CEED41ECEE6 "
         "1F0C09D0953E74E7D5D1F9537DC9B3F004D3137584386A520F5F03251CBD7F2D "
         "276C0103ED82C2B1E3E831D19225D8B07C94EC98F099B011B9462ED810F03747 "
         "A050837D85070582CCF7394B0988847CC312CB88259B894899F6F239CF1791A5 "
         "0000000000000000000000000000000000000000000000000000000000000000",
         8, "server key IDs"},
        {false, 8, "[foo]", 8, "not a [share I] section header"},
        /* threshold: 1 comment, 2 version, 3 threshold, 4 shares, 5 data_nonce, 6 data_box,
         * 8 [share 1], 9 server, 10 kid, 11 s, 12 c, 13 nonce, 14 box, 16 [share 2], 17
         * server, 18 kid, 19 s, 20 c, 22 box, 24 [share 3], 25 server, 26 kid, 30 box */
        {true, 3, "threshold = 1", 3, "`threshold` must be 2"},
        {true, 3, "threshold = 4", 3, "`threshold` is more than `shares`"},
        {true, 3, "threshold = 9", 3, "`threshold` must be 2"},
        {true, 4, "shares = 9", 4, "`shares` must be 2"},
        {true, 4, "shares = -3", 4, "`shares` must be 2"},
        /* one spelling of a number: no leading zero */
        {true, 3, "threshold = 02", 3, "`threshold` must be 2"},
        {true, 4, "shares = 03", 4, "`shares` must be 2"},
        {true, 24, "[share 03]", 24, "not a [share I] section header"},
        {true, 8, "[share 01]", 8, "not a [share I] section header"},
        {true, 4, "shares = 2", 24, "share number out of range"},
        {true, 3, NULL, 7, "`threshold` missing before the first"},
        {true, 4, NULL, 7, "`shares` missing before the first"},
        {true, 5, NULL, 7, "`data_nonce` missing before the first"},
        {true, 5, "data_nonce = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 5, "not base64 of 24"},
        {true, 6, NULL, 7, "`data_box` missing before the first"},
        {true, 6, "data_box = AAAAAAAAAAAAAAAAAAAAAA==", 6, "not base64 of 17"},
        {true, 5, "data_nonce = UTqsRp1hRye3j+92\fAeHMEq6MDTzoy62j", 5, "not base64 of 24"},
        {true, 14, "box = GM45WdxBsu4kYJ/Qm5HrKR5BrbQPMwf+kMO39ZLiOc7d2eYf\vazY2+MSWRN0Lij3A", 14,
         "not base64 of 48"},
        {true, 10, "kid = 74bdc2fe204153fba182932cdba1854d", 10, "not the key ID of `s`"},
        {true, 17, "server = 824C89AA8EFB95EF93629B4519599129CACE4ADAC9A6180DABA31CEED41ECEE6", 17,
         "two shares name one server"},
        {true, 17,
         "server = 1F0C09D0953E74E7D5D1F9537DC9B3F004D3137584386A520F5F03251CBD7F2D "
         "276c0103ed82c2b1e3e831d19225d8b07c94ec98f099b011b9462ed810f03747",
         25, "two shares name one server"},
        {true, 11, "s = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 11, "not a valid point"},
        {true, 20, "c = HGxWksAWjL+i00WsfwwpZNwIkaiuknsHvYC8QeOD+to=", 20, "not a valid point"},
        {true, 13, "nonce = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 13, "not base64 of 24"},
        {true, 17, NULL, 16, "`server` missing"},
        {true, 20, NULL, 16, "`c` missing"},
        {true, 14, "box = AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 14,
         "not base64 of 48"},
        {true, 14, "box = P2Sw1SUCouelkpoD9ky9A6Ru36ob30iiY8kpyxHrQgGn+6Trxq5THL3ZzJYY", 14,
         "not base64 of 48"},
        {true, 24, "[share 2]", 24, "share repeated"},
        {true, 24, "[share 4]", 24, "share number out of range"},
        {true, 24, "[share 0]", 24, "share number out of range"},
        {true, 24, "[share]", 24, "not a [share I] section header"},
        {true, 24, "[share x]", 24, "not a [share I] section header"},
        {true, 24, "[shares 3]", 24, "not a [share I] section header"},
        {true, 24, "[share 3] x", 24, "not a [share I] section header"},
        {true, 8, "[share 1]\nthreshold = 2", 9, "a header key inside a [share I] section"},
        {true, 7, "kid = f1f9fbfd0434a4193875350a1775246e", 7, "a share key outside"},
        {true, 9, "foo = 1", 9, "unknown key"},
        {true, 10, "kid = f1f9fbfd0434a4193875350a1775246e\nkid = f1f9fbfd0434a4193875350a1775246e",
         11, "repeated key"},
        {true, 9, "address = host", 9, "not an address"},
        {true, 9, "address = :1234", 9, "not an address"},
        {true, 9, "address = host:0", 9, "not an address"},
        {true, 9, "address = host:65536", 9, "not an address"},
        {true, 9, "address = ho st:1", 9, "not an address"},
        {true, 9, "address = host:12a", 9, "not an address"},
};

START_TEST(binding_file_rejected)
{
	const char *base = bad_files[_i].threshold ? T_binding_file : B_binding_file;
	char *text = edit_line(base, bad_files[_i].line, bad_files[_i].with);

	/* A line 8 beyond the end of B appends; make it so. */
	if (!bad_files[_i].threshold && bad_files[_i].line == 8) {
		free(text);
		ck_assert_int_gt(asprintf(&text, "%s%s\n", base, bad_files[_i].with), 0);
	}
	expect_rejected(text, strlen(text), bad_files[_i].want_line, bad_files[_i].want_why);
	free(text);
}
END_TEST

/* The two shares of T with one kid (share 2's kid and s in share 1's place). */
START_TEST(binding_file_duplicate_kid)
{
	char *a = edit_line(T_binding_file, 18, "kid = f1f9fbfd0434a4193875350a1775246e");
	char *b = edit_line(a, 19, "s = FMLtfa4yln/+3/fA5VOIFHHsBkOFQetLxQjWj6BdXkk=");

	expect_rejected(b, strlen(b), 18, "two shares with one kid");
	free(a);
	free(b);
}
END_TEST

START_TEST(binding_file_whole_file_rules)
{
	char *text;
	size_t len;

	expect_rejected("", 0, 0, "`version` missing");
	expect_rejected("# only a comment\n\n", 18, 0, "`version` missing");
	expect_rejected("version = 1\n", 12, 0, "`kid` missing");
	/* A threshold binding without its last section. */
	text = strdup(T_binding_file);
	*strstr(text, "\n[share 3]") = '\0';
	expect_rejected(text, strlen(text), 0, "a [share I] section is missing");
	free(text);
	/* Header only. */
	text = strdup(T_binding_file);
	*strstr(text, "\n[share 1]") = '\0';
	expect_rejected(text, strlen(text), 0, "a [share I] section is missing");
	free(text);
	expect_rejected("version = 1\nthreshold = 2\n", 26, 0, "`shares` missing");
	/* A NUL byte, on line 3. */
	text = strdup(B_binding_file);
	len = strlen(text);
	text[strchr(strchr(text, '\n') + 1, '\n') - text + 3] = '\0';
	expect_rejected(text, len, 3, "a NUL byte");
	free(text);
	/* A line over 100 000 bytes (a comment even). */
	len = strlen(B_binding_file) + P2_BINDING_LINE_MAX + 2;
	text = malloc(len + 1);
	strcpy(text, B_binding_file);
	memset(text + strlen(B_binding_file), '#', P2_BINDING_LINE_MAX + 1);
	strcpy(text + len - 1, "\n");
	expect_rejected(text, len, 8, "line longer than 100 000 bytes");
	/* Exactly 100 000 is fine. */
	strcpy(text + len - 2, "\n");
	P2Binding b = parse_ok(text);
	p2_binding_done(&b);
	free(text);
	/* More than 1 MiB. */
	len = P2_BINDING_FILE_MAX + 1;
	text = malloc(len);
	memset(text, '\n', len);
	expect_rejected(text, len, 0, "larger than 1 MiB");
	free(text);
}
END_TEST

/* A box line of n zero bytes in base64 ("box = …" or "data_box = …"), malloc()ed. */
static char *box_line(const char *key, size_t n)
{
	size_t size = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
	uint8_t *raw = calloc(1, n);
	char *b64 = malloc(size), *line;

	ck_assert_ptr_nonnull(raw);
	ck_assert_ptr_nonnull(b64);
	p2_base64_encode(raw, n, b64, size);
	ck_assert_int_gt(asprintf(&line, "%s = %s", key, b64), 0);
	free(raw);
	free(b64);
	return line;
}

/* §B.3: box and data_box hold 17 … 65 503 bytes (a secret of 1 … 65 487 bytes). */
START_TEST(binding_file_box_bounds)
{
	char *line, *text;
	P2Binding b;

	line = box_line("box", P2_ESCROW_BOX_MAX);
	text = edit_line(B_binding_file, 7, line);
	b = parse_ok(text);
	ck_assert_uint_eq(b.keys[0].box_len, P2_ESCROW_BOX_MAX);
	p2_binding_done(&b);
	free(text);
	free(line);
	line = box_line("box", P2_ESCROW_BOX_MAX + 1);
	text = edit_line(B_binding_file, 7, line);
	expect_rejected(text, strlen(text), 7, "not base64 of 17");
	free(text);
	free(line);

	line = box_line("data_box", P2_ESCROW_BOX_MAX);
	text = edit_line(T_binding_file, 6, line);
	b = parse_ok(text);
	ck_assert_uint_eq(b.data_box_len, P2_ESCROW_BOX_MAX);
	p2_binding_done(&b);
	free(text);
	free(line);
	line = box_line("data_box", P2_ESCROW_BOX_MAX + 1);
	text = edit_line(T_binding_file, 6, line);
	expect_rejected(text, strlen(text), 6, "not base64 of 17");
	free(text);
	free(line);
}
END_TEST

/* What a parser must accept: blanks around `=`, CRLF, comments, upper-case hex, no comment. */
START_TEST(binding_file_accepted)
{
	P2Binding ref = parse_ok(B_binding_file), b;
	char *text, *t2;

	text = edit_line(B_binding_file, 3, "\t kid=C5ABBE4BCBBCD8EC44300B711D4F9DD4   ");
	b = parse_ok(text);
	ck_assert(p2_binding_equal(&b, &ref));
	p2_binding_done(&b);
	free(text);
	text = edit_line(B_binding_file, 1, "\n  # a comment\n\n#\n");
	ck_assert_int_gt(asprintf(&t2, "%s# trailing comment\n\n", text), 0);
	b = parse_ok(t2);
	ck_assert(p2_binding_equal(&b, &ref));
	p2_binding_done(&b);
	free(text);
	free(t2);
	/* CRLF line ends. */
	text = malloc(2 * strlen(B_binding_file) + 1);
	t2 = text;
	for (const char *p = B_binding_file; *p; p++) {
		if (*p == '\n') {
			*t2++ = '\r';
		}
		*t2++ = *p;
	}
	*t2 = '\0';
	b = parse_ok(text);
	ck_assert(p2_binding_equal(&b, &ref));
	p2_binding_done(&b);
	free(text);
	/* No final newline; keys in another order. */
	text = strndup(B_binding_file, strlen(B_binding_file) - 1);
	b = parse_ok(text);
	ck_assert(p2_binding_equal(&b, &ref));
	p2_binding_done(&b);
	free(text);
	text = edit_line(B_binding_file, 3, NULL);
	t2 = malloc(strlen(text) + 64);
	sprintf(t2, "%skid = c5abbe4bcbbcd8ec44300b711d4f9dd4\n", text);
	b = parse_ok(t2);
	ck_assert(p2_binding_equal(&b, &ref));
	p2_binding_done(&b);
	free(text);
	free(t2);
	/* A single binding with servers; a threshold one with sections out of order and an
	 * address, and 4 servers in a list: format writes what parse reads. */
	text = edit_line(
	        B_binding_file, 2,
	        "version = 1\nserver = 824c89aa8efb95ef93629b4519599129cace4adac9a6180daba31"
	        "ceed41ecee6 1F0C09D0953E74E7D5D1F9537DC9B3F004D3137584386A520F5F03251CBD7F2D");
	b = parse_ok(text);
	ck_assert_uint_eq(b.keys[0].n_servers, 2);
	t2 = p2_binding_format(&b);
	ck_assert_ptr_nonnull(strstr(t2,
	                             "\nserver = 824C89AA8EFB95EF93629B4519599129CACE4ADAC9A6180DAB"
	                             "A31CEED41ECEE6 1F0C09D0953E74E7D5D1F9537DC9B3F004D313758438"
	                             "6A520F5F03251CBD7F2D\nkid = "));
	p2_binding_done(&ref);
	ref = parse_ok(t2);
	ck_assert(p2_binding_equal(&b, &ref));
	p2_binding_done(&b);
	p2_binding_done(&ref);
	free(text);
	free(t2);

	{
		P2Binding t = parse_ok(T_binding_file), u;
		char *share1 = strndup(strstr(T_binding_file, "[share 1]"),
		                       (size_t)(strstr(T_binding_file, "[share 2]") -
		                                strstr(T_binding_file, "[share 1]")));
		char *head = strndup(T_binding_file, (size_t)(strstr(T_binding_file, "[share 1]") -
		                                              T_binding_file));
		char *rest = strstr(T_binding_file, "[share 2]");

		text = malloc(strlen(T_binding_file) + 200);
		sprintf(text, "%s%s\n%s", head, rest, share1);
		t2 = edit_line(text, 8, "[share 2]\naddress = [2001:db8::1]:9999");
		u = parse_ok(t2);
		ck_assert_str_eq(u.keys[1].address, "[2001:db8::1]:9999");
		free(u.keys[1].address);
		u.keys[1].address = NULL;
		ck_assert(p2_binding_equal(&u, &t));
		p2_binding_done(&u);
		p2_binding_done(&t);
		free(share1);
		free(head);
		free(text);
		free(t2);
	}
}
END_TEST

START_TEST(binding_load)
{
	char dir[] = "/tmp/test-p2-escrow-XXXXXX", path[64], sub[64];
	P2Binding b, ref = parse_ok(B_binding_file);
	unsigned line = 0;
	const char *why = NULL;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/escrow-x.conf", dir);
	snprintf(sub, sizeof(sub), "%s/d", dir);
	ck_assert_int_eq(p2_binding_load(path, &b, &line, &why), -ENOENT);
	f = fopen(path, "w");
	fputs(B_binding_file, f);
	fclose(f);
	ck_assert_int_eq(p2_binding_load(path, &b, &line, &why), 0);
	ck_assert(p2_binding_equal(&b, &ref));
	p2_binding_done(&b);
	f = fopen(path, "w");
	fputs("version = 1\nkid = 00\n", f);
	fclose(f);
	ck_assert_int_eq(p2_binding_load(path, &b, &line, &why), -EBADMSG);
	ck_assert_uint_eq(line, 2);
	ck_assert_str_eq(why, "not 32 hex digits");
	ck_assert_int_eq(truncate(path, P2_BINDING_FILE_MAX + 1), 0);
	ck_assert_int_eq(p2_binding_load(path, &b, &line, &why), -EFBIG);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_int_eq(p2_binding_load(sub, &b, &line, &why), -EISDIR);
	ck_assert_int_eq(p2_binding_load("/dev/null", &b, &line, &why), -EINVAL);
	unlink(path);
	rmdir(sub);
	rmdir(dir);
	p2_binding_done(&ref);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("p2-escrow");
	TCase *tc = tcase_create("vectors");

	/* §A.12.1: the test RNG goes in before sodium_init(). */
	p2_test_rng_install();
	if (sodium_init() < 0) {
		return 99;
	}
	tcase_add_test(tc, run_b_values);
	tcase_add_test(tc, run_t_values);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("rules");
	tcase_add_test(tc, scalar_rules);
	tcase_add_test(tc, point_rules);
	tcase_add_test(tc, single_open_rules);
	tcase_add_test(tc, threshold_rules);
	tcase_add_test(tc, result_escrow_rules);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_add_loop_test(tc, binding_file_rejected, 0,
	                    (int)(sizeof(bad_files) / sizeof(bad_files[0])));
	tcase_add_test(tc, binding_file_duplicate_kid);
	tcase_add_test(tc, binding_file_whole_file_rules);
	tcase_add_test(tc, binding_file_box_bounds);
	tcase_add_test(tc, binding_file_accepted);
	tcase_add_test(tc, binding_load);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
