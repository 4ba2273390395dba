/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Protocol 2 basics: the libsodium size check, key ids, hex, base64, text and point rules. */
#include "p2.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

/* The SubjectPublicKeyInfo DER prefix of an Ed25519 key (§A.3.3). */
static const uint8_t ed25519_spki_prefix[12] = {
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
};

int p2_check_sizes(void)
{
	bool ok = crypto_secretstream_xchacha20poly1305_keybytes() == 32 &&
	          crypto_secretstream_xchacha20poly1305_headerbytes() == 24 &&
	          crypto_secretstream_xchacha20poly1305_abytes() == P2_STREAM_ABYTES &&
	          crypto_kx_sessionkeybytes() >= 32 && crypto_kx_publickeybytes() == 32 &&
	          crypto_kx_secretkeybytes() == 32 && crypto_sign_bytes() == 64 &&
	          crypto_sign_publickeybytes() == 32 && crypto_sign_seedbytes() == 32 &&
	          crypto_sign_secretkeybytes() == 64 && crypto_box_sealbytes() == 48 &&
	          crypto_box_publickeybytes() == 32 && crypto_box_secretkeybytes() == 32 &&
	          crypto_core_ristretto255_bytes() == 32 &&
	          crypto_core_ristretto255_scalarbytes() == 32 &&
	          crypto_scalarmult_ristretto255_bytes() == 32 &&
	          crypto_aead_xchacha20poly1305_ietf_npubbytes() == 24 &&
	          crypto_aead_xchacha20poly1305_ietf_abytes() == 16 &&
	          crypto_aead_xchacha20poly1305_ietf_keybytes() == 32 &&
	          crypto_hash_sha256_bytes() == 32 && crypto_generichash_bytes_max() >= 32;

	return ok ? 0 : -ENOTSUP;
}

void p2_key_id_raw(const uint8_t pk[32], uint8_t ret[P2_KEY_ID_LEN])
{
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, ed25519_spki_prefix, sizeof(ed25519_spki_prefix));
	crypto_hash_sha256_update(&st, pk, 32);
	crypto_hash_sha256_final(&st, ret);
}

void p2_hex_upper(const uint8_t *raw, size_t n, char *ret)
{
	static const char digits[] = "0123456789ABCDEF";

	for (size_t i = 0; i < n; i++) {
		ret[2 * i] = digits[raw[i] >> 4];
		ret[2 * i + 1] = digits[raw[i] & 0xf];
	}
	ret[2 * n] = '\0';
}

void p2_key_id_hex(const uint8_t pk[32], char ret[P2_KEY_ID_HEX_SIZE])
{
	uint8_t raw[P2_KEY_ID_LEN];

	p2_key_id_raw(pk, raw);
	p2_hex_upper(raw, sizeof(raw), ret);
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

int p2_key_id_parse(const char *text, size_t len, uint8_t ret[P2_KEY_ID_LEN])
{
	uint8_t id[P2_KEY_ID_LEN];
	size_t digits = 0;

	for (size_t i = 0; i < len; i++) {
		int v;

		if (text[i] == ' ' || text[i] == '\t') {
			continue;
		}
		v = hex_value(text[i]);
		if (v < 0 || digits >= 2 * P2_KEY_ID_LEN) {
			return -EINVAL;
		}
		if (digits % 2 == 0) {
			id[digits / 2] = (uint8_t)(v << 4);
		} else {
			id[digits / 2] |= (uint8_t)v;
		}
		digits++;
	}
	if (digits != 2 * P2_KEY_ID_LEN) {
		return -EINVAL;
	}
	memcpy(ret, id, sizeof(id));
	return 0;
}

ssize_t p2_base64_decode(const char *text, size_t len, uint8_t *ret, size_t max)
{
	const char *end = NULL;
	size_t n = 0;

	/* sodium_base642bin() finds a NUL in its ignore set (strchr), so refuse NULs first. */
	if (len > 0 && memchr(text, '\0', len) != NULL) {
		return -EINVAL;
	}
	if (sodium_base642bin(ret, max, text, len, " \t\r\n\f\v", &n, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0) {
		/* ERANGE means "too long" or "padding missing": tell them apart. */
		size_t chars = 0;

		for (size_t i = 0; i < len; i++) {
			chars += strchr(" \t\r\n\f\v", text[i]) == NULL;
		}
		sodium_memzero(ret, max);
		return errno == ERANGE && chars % 4 == 0 ? -EFBIG : -EINVAL;
	}
	if (end != text + len) {
		sodium_memzero(ret, max);
		return -EINVAL;
	}
	return (ssize_t)n;
}

void p2_base64_encode(const uint8_t *data, size_t len, char *ret, size_t ret_size)
{
	sodium_bin2base64(ret, ret_size, data, len, sodium_base64_VARIANT_ORIGINAL);
}

bool p2_text_printable(const uint8_t *text, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (text[i] < 0x20 || text[i] > 0x7e) {
			return false;
		}
	}
	return true;
}

bool p2_point_acceptable(const uint8_t p[P2_POINT_LEN])
{
	static const uint8_t zero[P2_POINT_LEN];

	if (p[P2_POINT_LEN - 1] & 0x80) {
		return false;
	}
	if (sodium_memcmp(p, zero, P2_POINT_LEN) == 0) {
		return false;
	}
	return crypto_core_ristretto255_is_valid_point(p) == 1;
}
