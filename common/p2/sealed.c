/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Sealed secrets (§A.6): crypto_box_seal to the client's seal key, opened into a SecBuf. */
#include "sealed.h"

#include <errno.h>

#include <sodium.h>

#include "p2.h"

int p2_seal(const uint8_t *secret, size_t len, const uint8_t seal_pk[32], uint8_t *ret,
            size_t ret_size)
{
	if (len < 1 || len > P2_SECRET_MAX || ret_size < len + crypto_box_SEALBYTES) {
		return -EINVAL;
	}
	if (crypto_box_seal(ret, secret, len, seal_pk) != 0) {
		return -EIO;
	}
	return 0;
}

int p2_sealed_open(const uint8_t *box, size_t len, const P2SealKey *key, SecBuf **ret)
{
	SecBuf *b;
	size_t n;

	if (len < P2_SEALED_MIN || len > P2_SEALED_MAX) {
		return -EBADMSG;
	}
	n = len - crypto_box_SEALBYTES;
	b = secbuf_new(n, n);
	if (b == NULL) {
		return -ENOMEM;
	}
	if (crypto_box_seal_open(b->data, box, len, key->pk, key->sk) != 0) {
		secbuf_free(b);
		return -EBADMSG;
	}
	b->len = n;
	b->data[n] = '\0';
	*ret = b;
	return 0;
}
