/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Protocol 2 key files (real certtool and openssl output, refused kinds), pins, base64, key
 * ids, message builders and parsers, the size check. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "keys.h"
#include "msg.h"
#include "p2.h"
#include "pins.h"
#include "sealed.h"
#include "unit-main.h"

#define KEYS P2_KEYS_DIR "/"

static const char *load_why(P2KeyKind kind, const char *file, int expect)
{
	uint8_t key[32];
	const char *why = NULL;

	ck_assert_int_eq(p2_key_load(kind, file, key, &why), expect);
	return why;
}

START_TEST(certtool_private_key)
{
	P2Identity *id = NULL;
	const char *why = NULL;
	char hex[P2_KEY_ID_HEX_SIZE];
	uint8_t pk[32];

	/* certtool writes "Public Key Info:" text before the BEGIN line. */
	ck_assert_int_eq(p2_identity_load(KEYS "certtool-ed25519.pem", &id, &why), 0);
	p2_key_id_hex(id->pk, hex);
	/* certtool --key-id --hash=sha256 */
	ck_assert_str_eq(hex, "D3CFB4114DCA4EABC3361B319A2FFB2E549E6E0A077ED67B74617FCED96890F0");
	ck_assert_int_eq(p2_key_load(P2_KEY_ED25519_PUBLIC, KEYS "certtool-ed25519.pub", pk, &why),
	                 0);
	ck_assert_mem_eq(pk, id->pk, 32);
	p2_identity_free(id);
}
END_TEST

START_TEST(openssl_keys)
{
	P2Identity *id = NULL;
	P2SealKey *seal = NULL;
	const char *why = NULL;
	char hex[P2_KEY_ID_HEX_SIZE];
	uint8_t pk[32];

	ck_assert_int_eq(p2_identity_load(KEYS "openssl-ed25519.pem", &id, &why), 0);
	ck_assert_int_eq(p2_key_load(P2_KEY_ED25519_PUBLIC, KEYS "openssl-ed25519.pub", pk, &why),
	                 0);
	ck_assert_mem_eq(pk, id->pk, 32);
	p2_key_id_hex(pk, hex);
	/* openssl pkey -pubout -outform der | sha256sum */
	ck_assert_str_eq(hex, "564C32454A4740B703A099FE5F352A364E2A9DC424498E1A16F59263E2D28E28");
	ck_assert_int_eq(p2_seal_key_load(KEYS "openssl-x25519.pem", &seal, &why), 0);
	ck_assert_int_eq(p2_key_load(P2_KEY_X25519_PUBLIC, KEYS "openssl-x25519.pub", pk, &why), 0);
	ck_assert_mem_eq(pk, seal->pk, 32);
	p2_identity_free(id);
	p2_seal_key_free(seal);
}
END_TEST

START_TEST(refused_keys)
{
	ck_assert_str_eq(load_why(P2_KEY_ED25519_PRIVATE, KEYS "v2-ed25519.pem", -EBADMSG),
	                 "an RFC 8410 v2 key (with a public key attached): not supported");
	ck_assert_str_eq(load_why(P2_KEY_ED25519_PRIVATE, KEYS "rfc8410-v2.pem", -EBADMSG),
	                 "an RFC 8410 v2 key (with a public key attached): not supported");
	ck_assert_str_eq(
	        load_why(P2_KEY_ED25519_PRIVATE, KEYS "openssl-ed25519-encrypted.pem", -EBADMSG),
	        "an encrypted key");
	ck_assert_str_eq(load_why(P2_KEY_ED25519_PRIVATE, KEYS "openssl-rsa.pem", -EBADMSG),
	                 "not an Ed25519 key");
	ck_assert_str_eq(load_why(P2_KEY_ED25519_PRIVATE, KEYS "openssl-ed448.pem", -EBADMSG),
	                 "not an Ed25519 key");
	ck_assert_str_eq(load_why(P2_KEY_ED25519_PRIVATE, KEYS "openssl-x25519.pem", -EBADMSG),
	                 "an X25519 key, not an Ed25519 key");
	ck_assert_str_eq(load_why(P2_KEY_X25519_PRIVATE, KEYS "openssl-ed25519.pem", -EBADMSG),
	                 "an Ed25519 key, not an X25519 key");
	ck_assert_str_eq(load_why(P2_KEY_ED25519_PRIVATE, KEYS "openssl-ed25519.pub", -EBADMSG),
	                 "a public key, not a private key");
	ck_assert_str_eq(load_why(P2_KEY_ED25519_PUBLIC, KEYS "openssl-ed25519.pem", -EBADMSG),
	                 "a private key, not a public key");
	ck_assert_str_eq(load_why(P2_KEY_X25519_PUBLIC, KEYS "openssl-ed25519.pub", -EBADMSG),
	                 "an Ed25519 key, not an X25519 key");
	ck_assert_ptr_null(load_why(P2_KEY_ED25519_PRIVATE, KEYS "no-such-file.pem", -ENOENT));
}
END_TEST

static const char *parse_why(P2KeyKind kind, const char *text)
{
	uint8_t key[32];
	const char *why = NULL;

	memset(key, 0xaa, sizeof(key));
	ck_assert_int_eq(p2_key_parse(kind, text, strlen(text), key, &why), -EBADMSG);
	for (int i = 0; i < 32; i++) {
		ck_assert_int_eq(key[i], 0);
	}
	return why;
}

#define SEED_PEM_BODY "MC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f"

START_TEST(pem_parsing)
{
	static const char good[] = "junk\n-----BEGIN PRIVATE KEY-----\r\n" SEED_PEM_BODY
	                           "\r\n-----END PRIVATE KEY-----\r\ntrailer\n";
	uint8_t key[32];
	const char *why = NULL;

	ck_assert_int_eq(p2_key_parse(P2_KEY_ED25519_PRIVATE, good, strlen(good), key, &why), 0);
	for (int i = 0; i < 32; i++) {
		ck_assert_int_eq(key[i], i);
	}
	ck_assert_str_eq(parse_why(P2_KEY_ED25519_PRIVATE, ""), "an empty file");
	ck_assert_str_eq(parse_why(P2_KEY_ED25519_PRIVATE, "hello\n"), "no BEGIN PRIVATE KEY line");
	/* BEGIN must start a line. */
	ck_assert_str_eq(parse_why(P2_KEY_ED25519_PRIVATE,
	                           " -----BEGIN PRIVATE KEY-----\n" SEED_PEM_BODY
	                           "\n-----END PRIVATE KEY-----\n"),
	                 "no BEGIN PRIVATE KEY line");
	ck_assert_str_eq(parse_why(P2_KEY_ED25519_PRIVATE,
	                           "-----BEGIN PRIVATE KEY-----\n" SEED_PEM_BODY "\n"),
	                 "no END PRIVATE KEY line");
	ck_assert_str_eq(parse_why(P2_KEY_ED25519_PRIVATE,
	                           "-----BEGIN PRIVATE KEY-----\n" SEED_PEM_BODY
	                           "!\n-----END PRIVATE KEY-----\n"),
	                 "bad base64 in the PEM body");
	ck_assert_str_eq(
	        parse_why(P2_KEY_ED25519_PRIVATE,
	                  "-----BEGIN PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n" SEED_PEM_BODY
	                  "\n-----END PRIVATE KEY-----\n"),
	        "an encrypted key (PEM headers)");
	/* One byte short of the DER. */
	ck_assert_str_eq(
	        parse_why(P2_KEY_ED25519_PRIVATE,
	                  "-----BEGIN PRIVATE KEY-----\n"
	                  "MC4CAQAwBQYDK2VwBCIEIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHQ==\n"
	                  "-----END PRIVATE KEY-----\n"),
	        "a malformed Ed25519 key");
}
END_TEST

START_TEST(pem_round_trip)
{
	static const P2KeyKind kinds[] = {P2_KEY_ED25519_PRIVATE, P2_KEY_ED25519_PUBLIC,
	                                  P2_KEY_X25519_PRIVATE, P2_KEY_X25519_PUBLIC};
	char pem[P2_PEM_MAX];
	uint8_t key[32], back[32];
	const char *why;

	randombytes_buf(key, sizeof(key));
	for (size_t i = 0; i < 4; i++) {
		ssize_t n = p2_key_format(kinds[i], key, pem, sizeof(pem));

		ck_assert_int_gt(n, 0);
		ck_assert_int_eq(p2_key_parse(kinds[i], pem, (size_t)n, back, &why), 0);
		ck_assert_mem_eq(back, key, 32);
		ck_assert_int_eq(p2_key_format(kinds[i], key, pem, (size_t)n), -ENOBUFS);
	}
}
END_TEST

START_TEST(key_id_parsing)
{
	uint8_t id[32], raw[32];
	const char *s = "a050837d 85070582ccf7394b0988847cc312cb88259b894899f6f239cf1791A5";
	char hex[65];

	ck_assert_int_eq(p2_key_id_parse(s, strlen(s), id), 0);
	p2_hex_upper(id, 32, hex);
	ck_assert_str_eq(hex, "A050837D85070582CCF7394B0988847CC312CB88259B894899F6F239CF1791A5");
	memset(raw, 7, 32);
	memcpy(id, raw, 32);
	ck_assert_int_eq(p2_key_id_parse(s, strlen(s) - 1, id), -EINVAL);
	ck_assert_int_eq(p2_key_id_parse("zz", 2, id), -EINVAL);
	ck_assert_mem_eq(id, raw, 32);
}
END_TEST

static unsigned bad_lines[8], n_bad;

static void on_bad(unsigned line, const char *why, void *userdata)
{
	(void)why;
	(void)userdata;
	if (n_bad < 8) {
		bad_lines[n_bad++] = line;
	}
}

START_TEST(pins)
{
	static const char text[] =
	        "# pinned servers\n"
	        "824c89aa8efb95ef93629b4519599129cace4adac9a6180daba31ceed41ecee6 # main\r\n"
	        "\n"
	        "  not a key\n"
	        "824C89AA 8EFB95EF93629B4519599129CACE4ADAC9A6180DABA31CEED41ECEE6\n"
	        "A050837D85070582CCF7394B0988847CC312CB88259B894899F6F239CF1791A5";
	P2Pins p = {0};
	uint8_t id[32];

	n_bad = 0;
	ck_assert_int_eq(p2_pins_parse(&p, text, strlen(text), on_bad, NULL), 0);
	ck_assert(p.configured);
	ck_assert_uint_eq(p.n, 2);
	ck_assert_uint_eq(n_bad, 1);
	ck_assert_uint_eq(bad_lines[0], 4);
	p2_key_id_parse("824c89aa8efb95ef93629b4519599129cace4adac9a6180daba31ceed41ecee6", 64, id);
	ck_assert(p2_pins_match(&p, id));
	id[0] ^= 1;
	ck_assert(!p2_pins_match(&p, id));

	/* Only bad lines: configured, matches nothing (fail closed). */
	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(p2_pins_parse(&p, "garbage\n", 8, NULL, NULL), 0);
	ck_assert(p.configured);
	ck_assert_uint_eq(p.n, 0);

	memset(&p, 0, sizeof(p));
	ck_assert_int_eq(p2_pins_load(&p, KEYS "no-such-pins", NULL, NULL), -ENOENT);
	ck_assert(!p.configured);
	ck_assert_int_eq(p2_pins_add(&p, "nope"), -EINVAL);
	ck_assert(p.configured);
	ck_assert_int_eq(
	        p2_pins_add(&p, "824c89aa8efb95ef93629b4519599129cace4adac9a6180daba31ceed41ecee6"),
	        0);
	ck_assert_uint_eq(p.n, 1);
}
END_TEST

START_TEST(pins_too_many)
{
	char *text = malloc((P2_PINS_MAX + 2) * 66);
	size_t at = 0;
	P2Pins *p = calloc(1, sizeof(*p));

	for (unsigned i = 0; i < P2_PINS_MAX + 2; i++) {
		uint8_t id[32] = {0};

		id[0] = (uint8_t)i;
		id[1] = (uint8_t)(i >> 8);
		p2_hex_upper(id, 32, text + at);
		at += 64;
		text[at++] = '\n';
	}
	n_bad = 0;
	ck_assert_int_eq(p2_pins_parse(p, text, at, on_bad, NULL), -E2BIG);
	ck_assert_uint_eq(p->n, P2_PINS_MAX);
	ck_assert_uint_eq(n_bad, 2);
	free(text);
	free(p);
}
END_TEST

START_TEST(base64)
{
	uint8_t out[16];
	char enc[32];

	ck_assert_int_eq(p2_base64_decode("aGVs\n  bG8=\n", 12, out, sizeof(out)), 5);
	ck_assert_mem_eq(out, "hello", 5);
	ck_assert_int_eq(p2_base64_decode("aGVsbG8", 7, out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(p2_base64_decode("aGVsbG8=x", 9, out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(p2_base64_decode("aGVs\0bG8=", 9, out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(p2_base64_decode("aGVsbG8=", 8, out, 4), -EFBIG);
	ck_assert_int_eq(p2_base64_decode("", 0, out, sizeof(out)), 0);
	p2_base64_encode((const uint8_t *)"hello", 5, enc, sizeof(enc));
	ck_assert_str_eq(enc, "aGVsbG8=");
}
END_TEST

START_TEST(text_and_points)
{
	uint8_t p[32];

	ck_assert(p2_text_printable((const uint8_t *)" ~", 2));
	ck_assert(!p2_text_printable((const uint8_t *)"\x1f", 1));
	ck_assert(!p2_text_printable((const uint8_t *)"\x7f", 1));
	crypto_core_ristretto255_random(p);
	ck_assert(p2_point_acceptable(p));
	p[31] |= 0x80;
	ck_assert(!p2_point_acceptable(p));
	memset(p, 0, 32);
	ck_assert(!p2_point_acceptable(p));
}
END_TEST

START_TEST(messages)
{
	P2Status st = {.code = 1, .flags = 1, .value = 55, .tlen = 5, .text = "hello"}, st2;
	uint8_t buf[512], box[64], kid[16];
	P2Result res = {.code = P2_OK, .n_items = 2}, got;
	P2ClientAuth req = {.flags = P2_FLAG_WANT_SEALED | P2_FLAG_WANT_ESCROW, .n_items = 2};
	ssize_t n;

	n = p2_status_build(&st, buf, sizeof(buf));
	ck_assert_int_eq(n, 15);
	ck_assert_int_eq(p2_status_parse(buf, (size_t)n, &st2), 0);
	ck_assert_str_eq(st2.text, "hello");
	ck_assert_uint_eq(st2.value, 55);
	ck_assert_int_eq(p2_status_parse(buf, (size_t)n - 1, &st2), -EBADMSG);
	st.text[1] = '\n';
	ck_assert_int_eq(p2_status_build(&st, buf, sizeof(buf)), -EINVAL);

	randombytes_buf(box, sizeof(box));
	randombytes_buf(req.items[0].kid, 16);
	randombytes_buf(req.items[1].kid, 16);
	uint8_t esc[48];
	memcpy(esc, req.items[1].kid, 16);
	crypto_core_ristretto255_random(esc + 16);
	res.items[0] = (P2ResultItem){P2_ITEM_SEALED, sizeof(box), box};
	res.items[1] = (P2ResultItem){P2_ITEM_ESCROW, 48, esc};
	n = p2_result_build(&res, buf, sizeof(buf));
	ck_assert_int_eq(n, (ssize_t)p2_result_size(&res));
	ck_assert_int_eq(p2_result_parse(buf, (size_t)n, &req, &got), 0);
	ck_assert_uint_eq(got.n_items, 2);
	ck_assert_mem_eq(got.items[1].data, esc, 48);
	/* Not requested: no WANT_SEALED, or a kid not in the request. */
	req.flags = P2_FLAG_WANT_ESCROW;
	ck_assert_int_eq(p2_result_parse(buf, (size_t)n, &req, &got), -EBADMSG);
	req.flags |= P2_FLAG_WANT_SEALED;
	memcpy(kid, req.items[1].kid, 16);
	req.items[1].kid[0] ^= 1;
	ck_assert_int_eq(p2_result_parse(buf, (size_t)n, &req, &got), -EBADMSG);
	memcpy(req.items[1].kid, kid, 16);
	/* Builder rules: SEALED first, OK needs items, refusals have none. */
	res.items[0] = res.items[1];
	res.items[1] = (P2ResultItem){P2_ITEM_SEALED, sizeof(box), box};
	ck_assert_int_eq(p2_result_build(&res, buf, sizeof(buf)), -EINVAL);
	res.n_items = 0;
	ck_assert_int_eq(p2_result_build(&res, buf, sizeof(buf)), -EINVAL);
	res.code = P2_TRY_LATER;
	res.value = 10;
	ck_assert_int_eq(p2_result_build(&res, buf, sizeof(buf)), 11);
	res.n_items = 1;
	ck_assert_int_eq(p2_result_build(&res, buf, sizeof(buf)), -EINVAL);
}
END_TEST

START_TEST(sealing)
{
	uint8_t sk[32], box[100];
	P2SealKey *k = NULL;
	SecBuf *out = NULL;

	randombytes_buf(sk, 32);
	ck_assert_int_eq(p2_seal_key_from_secret(sk, &k), 0);
	ck_assert_int_eq(p2_seal((const uint8_t *)"x", 0, k->pk, box, sizeof(box)), -EINVAL);
	ck_assert_int_eq(p2_seal((const uint8_t *)"secret", 6, k->pk, box, 53), -EINVAL);
	ck_assert_int_eq(p2_seal((const uint8_t *)"secret", 6, k->pk, box, 54), 0);
	ck_assert_int_eq(p2_sealed_open(box, 54, k, &out), 0);
	ck_assert_uint_eq(out->len, 6);
	ck_assert_str_eq((char *)out->data, "secret");
	secbuf_free(out);
	box[50] ^= 1;
	out = NULL;
	ck_assert_int_eq(p2_sealed_open(box, 54, k, &out), -EBADMSG);
	ck_assert_ptr_null(out);
	ck_assert_int_eq(p2_sealed_open(box, 48, k, &out), -EBADMSG);
	p2_seal_key_free(k);
}
END_TEST

START_TEST(sizes)
{
	ck_assert_int_eq(p2_check_sizes(), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("p2-keys");
	TCase *tc = tcase_create("keys");

	if (sodium_init() < 0) {
		return 99;
	}
	tcase_add_test(tc, certtool_private_key);
	tcase_add_test(tc, openssl_keys);
	tcase_add_test(tc, refused_keys);
	tcase_add_test(tc, pem_parsing);
	tcase_add_test(tc, pem_round_trip);
	tcase_add_test(tc, key_id_parsing);
	tcase_add_test(tc, pins);
	tcase_add_test(tc, pins_too_many);
	tcase_add_test(tc, base64);
	tcase_add_test(tc, text_and_points);
	tcase_add_test(tc, messages);
	tcase_add_test(tc, sealing);
	tcase_add_test(tc, sizes);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
