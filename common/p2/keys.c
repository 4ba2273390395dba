/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Protocol 2 key files: exact PKCS#8 / SPKI DER in PEM (§A.9.4), identities and seal keys. */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "io-util.h"
#include "macro.h"
#include "p2.h"
#include "secmem.h"

#define DER_PRIVATE_LEN 48
#define DER_PUBLIC_LEN 44
/* Larger than any DER we accept, so that a longer key is recognised rather than cut off. */
#define DER_MAX 2048

typedef struct KeyFormat {
	const char *label;     /* PEM label */
	const uint8_t *prefix; /* DER before the 32 key bytes */
	size_t prefix_len;
	const char *wrong_algorithm;
} KeyFormat;

static const uint8_t ed25519_private_prefix[16] = {
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
        0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
};
static const uint8_t ed25519_public_prefix[12] = {
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
};
static const uint8_t x25519_private_prefix[16] = {
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
        0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
};
static const uint8_t x25519_public_prefix[12] = {
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00,
};

static const KeyFormat formats[] = {
        [P2_KEY_ED25519_PRIVATE] = {"PRIVATE KEY", ed25519_private_prefix, 16,
                                    "not an Ed25519 key"},
        [P2_KEY_ED25519_PUBLIC] = {"PUBLIC KEY", ed25519_public_prefix, 12, "not an Ed25519 key"},
        [P2_KEY_X25519_PRIVATE] = {"PRIVATE KEY", x25519_private_prefix, 16, "not an X25519 key"},
        [P2_KEY_X25519_PUBLIC] = {"PUBLIC KEY", x25519_public_prefix, 12, "not an X25519 key"},
};

static bool kind_valid(P2KeyKind kind)
{
	return (unsigned)kind < ELEMENTSOF(formats);
}

static bool kind_private(P2KeyKind kind)
{
	return kind == P2_KEY_ED25519_PRIVATE || kind == P2_KEY_X25519_PRIVATE;
}

/* The end of the line starting at p (the '\n' or text end). */
static const char *line_end(const char *p, const char *end)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));

	return nl ? nl : end;
}

/* Whether the line [p, e) is "-----<word> <label>-----", ignoring trailing CR/space/tab. */
static bool line_is(const char *p, const char *e, const char *word, const char *label)
{
	size_t wl = strlen(word), ll = strlen(label);

	while (e > p && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) {
		e--;
	}
	return (size_t)(e - p) == 5 + wl + 1 + ll + 5 && memcmp(p, "-----", 5) == 0 &&
	       memcmp(p + 5, word, wl) == 0 && p[5 + wl] == ' ' &&
	       memcmp(p + 6 + wl, label, ll) == 0 && memcmp(p + 6 + wl + ll, "-----", 5) == 0;
}

static bool line_starts(const char *p, const char *e, const char *s)
{
	size_t n = strlen(s);

	return (size_t)(e - p) >= n && memcmp(p, s, n) == 0;
}

/* Why a BEGIN line with another label is not what we want. */
static const char *other_label_reason(P2KeyKind kind, const char *p, const char *e)
{
	if (line_starts(p, e, "-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
		return "an encrypted key";
	}
	if (kind_private(kind) && line_is(p, e, "BEGIN", "PUBLIC KEY")) {
		return "a public key, not a private key";
	}
	if (!kind_private(kind) && line_is(p, e, "BEGIN", "PRIVATE KEY")) {
		return "a private key, not a public key";
	}
	return NULL;
}

/* Why a DER blob that is not exactly ours was refused. */
static const char *der_reason(P2KeyKind kind, const uint8_t *der, size_t n)
{
	static const uint8_t oid_prefix[4] = {0x06, 0x03, 0x2b, 0x65};

	/* OneAsymmetricKey v2 (RFC 8410 §7 with the public key attached): version 1. */
	if (kind_private(kind) && n >= 5 && der[0] == 0x30 &&
	    ((der[1] < 0x80 && der[2] == 0x02 && der[3] == 0x01 && der[4] == 0x01) ||
	     (der[1] == 0x81 && n >= 6 && der[3] == 0x02 && der[4] == 0x01 && der[5] == 0x01))) {
		return "an RFC 8410 v2 key (with a public key attached): not supported";
	}
	for (size_t i = 0; i + 5 <= n && i < 16; i++) {
		if (memcmp(der + i, oid_prefix, 4) == 0) {
			switch (der[i + 4]) {
			case 0x70:
				return kind == P2_KEY_ED25519_PRIVATE ||
				                       kind == P2_KEY_ED25519_PUBLIC
				               ? "a malformed Ed25519 key"
				               : "an Ed25519 key, not an X25519 key";
			case 0x6e:
				return kind == P2_KEY_X25519_PRIVATE || kind == P2_KEY_X25519_PUBLIC
				               ? "a malformed X25519 key"
				               : "an X25519 key, not an Ed25519 key";
			default:
				break;
			}
		}
	}
	return formats[kind].wrong_algorithm;
}

int p2_key_parse(P2KeyKind kind, const char *text, size_t len, uint8_t ret_key[32],
                 const char **ret_why)
{
	const char *p = text, *end = text + len, *body = NULL, *body_end = NULL, *why = NULL;
	uint8_t der[DER_MAX];
	const KeyFormat *f;
	ssize_t n;
	int r = -EBADMSG;

	if (!kind_valid(kind)) {
		*ret_why = "unknown key kind";
		return -EINVAL;
	}
	f = &formats[kind];
	if (len == 0 || text == NULL) {
		why = "an empty file";
		goto fail;
	}
	/* Find our BEGIN line at the start of a line; remember why other BEGIN lines are wrong. */
	while (p < end) {
		const char *e = line_end(p, end);

		if (line_is(p, e, "BEGIN", f->label)) {
			body = e < end ? e + 1 : end;
			break;
		}
		if (why == NULL && line_starts(p, e, "-----BEGIN ")) {
			why = other_label_reason(kind, p, e);
		}
		p = e < end ? e + 1 : end;
	}
	if (body == NULL) {
		if (why == NULL) {
			why = kind_private(kind) ? "no BEGIN PRIVATE KEY line"
			                         : "no BEGIN PUBLIC KEY line";
		}
		goto fail;
	}
	for (p = body; p < end;) {
		const char *e = line_end(p, end);

		if (line_is(p, e, "END", f->label)) {
			body_end = p;
			break;
		}
		p = e < end ? e + 1 : end;
	}
	if (body_end == NULL) {
		why = kind_private(kind) ? "no END PRIVATE KEY line" : "no END PUBLIC KEY line";
		goto fail;
	}
	if (memchr(body, ':', (size_t)(body_end - body)) != NULL) {
		/* RFC 1421 headers (Proc-Type: 4,ENCRYPTED): only legacy encrypted keys have them.
		 */
		why = "an encrypted key (PEM headers)";
		goto fail;
	}
	n = p2_base64_decode(body, (size_t)(body_end - body), der, sizeof(der));
	if (n == -EFBIG) {
		why = formats[kind].wrong_algorithm;
		goto fail;
	}
	if (n < 0) {
		why = "bad base64 in the PEM body";
		goto fail;
	}
	if ((size_t)n != f->prefix_len + 32 || memcmp(der, f->prefix, f->prefix_len) != 0) {
		why = der_reason(kind, der, (size_t)n);
		goto fail;
	}
	memcpy(ret_key, der + f->prefix_len, 32);
	r = 0;
	why = NULL;
fail:
	sodium_memzero(der, sizeof(der));
	if (r < 0) {
		sodium_memzero(ret_key, 32);
		*ret_why = why;
	}
	return r;
}

ssize_t p2_key_format(P2KeyKind kind, const uint8_t key[32], char *ret, size_t size)
{
	uint8_t der[DER_PRIVATE_LEN];
	char b64[sodium_base64_ENCODED_LEN(DER_PRIVATE_LEN, sodium_base64_VARIANT_ORIGINAL)];
	const KeyFormat *f;
	size_t b64_len, at = 0, need;
	ssize_t r = -ENOBUFS;

	if (!kind_valid(kind)) {
		return -EINVAL;
	}
	f = &formats[kind];
	memcpy(der, f->prefix, f->prefix_len);
	memcpy(der + f->prefix_len, key, 32);
	p2_base64_encode(der, f->prefix_len + 32, b64, sizeof(b64));
	b64_len = strlen(b64);
	/* BEGIN and END lines, the body in 64-column lines, each with its newline, the NUL. */
	need = 2 * (5 + 6 + strlen(f->label) + 5 + 1) - 2 + b64_len + (b64_len + 63) / 64 + 1;
	if (need <= size) {
		at += (size_t)snprintf(ret, size, "-----BEGIN %s-----\n", f->label);
		for (size_t i = 0; i < b64_len; i += 64) {
			size_t chunk = MIN(64, b64_len - i);

			memcpy(ret + at, b64 + i, chunk);
			at += chunk;
			ret[at++] = '\n';
		}
		at += (size_t)snprintf(ret + at, size - at, "-----END %s-----\n", f->label);
		r = (ssize_t)at;
	}
	sodium_memzero(der, sizeof(der));
	sodium_memzero(b64, sizeof(b64));
	return r;
}

int p2_key_load(P2KeyKind kind, const char *path, uint8_t ret_key[32], const char **ret_why)
{
	int r;

	if (!kind_valid(kind)) {
		return -EINVAL;
	}
	if (kind_private(kind)) {
		_cleanup_secbuf_ SecBuf *b = secbuf_new(4096, P2_KEY_FILE_MAX);
		_cleanup_close_ int fd = -EBADF;

		if (b == NULL) {
			return -ENOMEM;
		}
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0) {
			return -errno;
		}
		r = secbuf_read_all(b, fd);
		if (r < 0) {
			return r;
		}
		return p2_key_parse(kind, (const char *)b->data, b->len, ret_key, ret_why);
	} else {
		_cleanup_free_ char *text = NULL;
		size_t len = 0;

		r = read_full_file(path, P2_KEY_FILE_MAX, &text, &len);
		if (r < 0) {
			return r;
		}
		return p2_key_parse(kind, text, len, ret_key, ret_why);
	}
}

int p2_identity_from_seed(const uint8_t seed[32], P2Identity **ret)
{
	P2Identity *id = sodium_malloc(sizeof(*id));

	if (id == NULL) {
		return -ENOMEM;
	}
	crypto_sign_seed_keypair(id->pk, id->sk, seed);
	*ret = id;
	return 0;
}

int p2_identity_load(const char *path, P2Identity **ret, const char **ret_why)
{
	uint8_t seed[32];
	int r;

	r = p2_key_load(P2_KEY_ED25519_PRIVATE, path, seed, ret_why);
	if (r < 0) {
		return r;
	}
	r = p2_identity_from_seed(seed, ret);
	sodium_memzero(seed, sizeof(seed));
	return r;
}

P2Identity *p2_identity_free(P2Identity *id)
{
	if (id != NULL) {
		sodium_memzero(id, sizeof(*id));
		sodium_free(id);
	}
	return NULL;
}

int p2_seal_key_from_secret(const uint8_t sk[32], P2SealKey **ret)
{
	P2SealKey *k = sodium_malloc(sizeof(*k));

	if (k == NULL) {
		return -ENOMEM;
	}
	memcpy(k->sk, sk, 32);
	if (crypto_scalarmult_curve25519_base(k->pk, k->sk) != 0) {
		p2_seal_key_free(k);
		return -EINVAL;
	}
	*ret = k;
	return 0;
}

int p2_seal_key_load(const char *path, P2SealKey **ret, const char **ret_why)
{
	uint8_t sk[32];
	int r;

	r = p2_key_load(P2_KEY_X25519_PRIVATE, path, sk, ret_why);
	if (r < 0) {
		return r;
	}
	r = p2_seal_key_from_secret(sk, ret);
	sodium_memzero(sk, sizeof(sk));
	if (r == -EINVAL) {
		*ret_why = "a degenerate X25519 key";
		return -EBADMSG;
	}
	return r;
}

P2SealKey *p2_seal_key_free(P2SealKey *k)
{
	if (k != NULL) {
		sodium_memzero(k, sizeof(*k));
		sodium_free(k);
	}
	return NULL;
}
