/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Key ID computation with GnuTLS: parse, re-encode as DER SubjectPublicKeyInfo, SHA-256. */
#include "keyid.h"

#include <errno.h>
#include <string.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <sodium.h>

#include "io-util.h"
#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(gnutls_pubkey_t, gnutls_pubkey_deinit)
DEFINE_TRIVIAL_CLEANUP_FUNC(gnutls_privkey_t, gnutls_privkey_deinit)
DEFINE_TRIVIAL_CLEANUP_FUNC(gnutls_x509_privkey_t, gnutls_x509_privkey_deinit)

/* Keys we read are never larger than this (an RSA-16384 key in PEM is under 13 KiB). */
#define KEY_FILE_MAX (64 * 1024)

int keyid_from_der(const void *der, size_t len, char ret[KEYID_STRING_SIZE])
{
	unsigned char digest[32];

	if (gnutls_hash_fast(GNUTLS_DIG_SHA256, der, len, digest) < 0) {
		return -EIO;
	}
	for (size_t i = 0; i < sizeof(digest); i++) {
		static const char hex[] = "0123456789ABCDEF";

		ret[2 * i] = hex[digest[i] >> 4];
		ret[2 * i + 1] = hex[digest[i] & 0xf];
	}
	ret[64] = '\0';
	return 0;
}

static int pubkey_from_private(const gnutls_datum_t *d, gnutls_x509_crt_fmt_t fmt,
                               gnutls_pubkey_t pub)
{
	_cleanup_(gnutls_x509_privkey_deinitp) gnutls_x509_privkey_t x = NULL;
	_cleanup_(gnutls_privkey_deinitp) gnutls_privkey_t priv = NULL;

	if (gnutls_x509_privkey_init(&x) < 0 || gnutls_privkey_init(&priv) < 0) {
		return -ENOMEM;
	}
	if (gnutls_x509_privkey_import2(x, d, fmt, NULL, GNUTLS_PKCS_PLAIN) < 0) {
		return -EBADMSG;
	}
	if (gnutls_privkey_import_x509(priv, x, GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE) < 0) {
		return -EBADMSG;
	}
	x = NULL; /* now owned by priv */
	if (gnutls_pubkey_import_privkey(pub, priv, 0, 0) < 0) {
		return -EBADMSG;
	}
	return 0;
}

int keyid_from_key_data(const void *data, size_t len, char ret[KEYID_STRING_SIZE])
{
	_cleanup_(gnutls_pubkey_deinitp) gnutls_pubkey_t pub = NULL;
	gnutls_datum_t in = {.data = (unsigned char *)(uintptr_t)data, .size = (unsigned)len};
	gnutls_datum_t der = {0};
	gnutls_x509_crt_fmt_t fmt;
	int r;

	if (len > KEY_FILE_MAX) {
		return -EBADMSG;
	}
	fmt = memmem(data, len, "-----BEGIN", 10) ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER;
	if (gnutls_pubkey_init(&pub) < 0) {
		return -ENOMEM;
	}
	if (gnutls_pubkey_import(pub, &in, fmt) < 0) {
		/* Not a public key: perhaps a private key, whose public half we want. */
		r = pubkey_from_private(&in, fmt, pub);
		if (r < 0) {
			return r;
		}
	}
	if (gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &der) < 0) {
		return -EBADMSG;
	}
	r = keyid_from_der(der.data, der.size, ret);
	gnutls_free(der.data);
	return r;
}

int keyid_from_file(const char *path, char ret[KEYID_STRING_SIZE])
{
	_cleanup_free_ char *data = NULL;
	size_t len;
	int r;

	r = read_full_file(path, KEY_FILE_MAX, &data, &len);
	if (r < 0) {
		return r == -EFBIG ? -EBADMSG : r;
	}
	r = keyid_from_key_data(data, len, ret);
	/* The file may be a private key. */
	sodium_memzero(data, len);
	return r;
}

int keyid_normalize(const char *text, char ret[KEYID_STRING_SIZE])
{
	char out[KEYID_STRING_SIZE];
	size_t n = 0;

	for (const char *p = text; *p; p++) {
		char c = *p;

		if (c == ' ') {
			continue;
		}
		if (c >= 'a' && c <= 'f') {
			c = (char)(c - 'a' + 'A');
		}
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) {
			return -EINVAL;
		}
		if (n == 64) {
			return -EINVAL;
		}
		out[n++] = c;
	}
	if (n != 64) {
		return -EINVAL;
	}
	out[64] = '\0';
	memcpy(ret, out, sizeof(out));
	return 0;
}

bool keyid_is_acceptable(const char *keyid)
{
	return strcmp(keyid, KEYID_EMPTY) != 0;
}
