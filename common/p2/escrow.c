/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Protocol 2 Part B crypto (§B.1, §B.4): server keys, blinding, wrapping, Shamir over GF(L). */
#include "escrow.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define KID_LABEL "mandos-p2 escrow kid"
#define WRAP_LABEL "mandos-p2 escrow wrap"
#define BOX_LABEL "mandos-p2 escrow box"
#define SSS_DATA_LABEL "mandos-p2 sss data"
#define SSS_BOX_LABEL "mandos-p2 sss box"
#define SHARE_WRAP_LABEL "mandos-p2 share wrap"
#define SHARE_BOX_LABEL "mandos-p2 share box"
#define LABEL_LEN(l) (sizeof(l) - 1)

/* The longest AD: a share box's (label ‖ key_id_raw ‖ data_nonce ‖ k n i ‖ kid ‖ s ‖ c). */
#define AD_MAX                                                                                     \
	(LABEL_LEN(SHARE_BOX_LABEL) + P2_KEY_ID_LEN + P2_ESCROW_NONCE_LEN + 3 + P2_KID_LEN +       \
	 2 * P2_POINT_LEN)

/* ---- §B.1 validation and server keys ---- */

bool p2_scalar_acceptable(const uint8_t S[P2_SCALAR_LEN])
{
	uint8_t wide[2 * P2_SCALAR_LEN] = {0}, reduced[P2_SCALAR_LEN];
	bool ok;

	memcpy(wide, S, P2_SCALAR_LEN);
	crypto_core_ristretto255_scalar_reduce(reduced, wide);
	ok = sodium_memcmp(reduced, S, P2_SCALAR_LEN) == 0 && !sodium_is_zero(S, P2_SCALAR_LEN);
	sodium_memzero(wide, sizeof(wide));
	sodium_memzero(reduced, sizeof(reduced));
	return ok;
}

void p2_escrow_kid(const uint8_t s[P2_POINT_LEN], uint8_t ret_kid[P2_KID_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, P2_KID_LEN);
	crypto_generichash_update(&st, (const uint8_t *)KID_LABEL, LABEL_LEN(KID_LABEL));
	crypto_generichash_update(&st, s, P2_POINT_LEN);
	crypto_generichash_final(&st, ret_kid, P2_KID_LEN);
}

int p2_escrow_server_key(const uint8_t S[P2_SCALAR_LEN], uint8_t ret_s[P2_POINT_LEN],
                         uint8_t ret_kid[P2_KID_LEN])
{
	uint8_t s[P2_POINT_LEN];

	if (!p2_scalar_acceptable(S) || crypto_scalarmult_ristretto255_base(s, S) != 0) {
		return -EINVAL;
	}
	memcpy(ret_s, s, P2_POINT_LEN);
	p2_escrow_kid(s, ret_kid);
	return 0;
}

/* ---- the exchange ---- */

int p2_escrow_blind(const uint8_t c[P2_POINT_LEN], uint8_t ret_E[P2_SCALAR_LEN],
                    uint8_t ret_x[P2_POINT_LEN])
{
	uint8_t E[P2_SCALAR_LEN], eg[P2_POINT_LEN], x[P2_POINT_LEN];
	int r = -EINVAL;

	if (!p2_point_acceptable(c)) {
		return -EINVAL;
	}
	crypto_core_ristretto255_scalar_random(E);
	if (crypto_scalarmult_ristretto255_base(eg, E) != 0 ||
	    crypto_core_ristretto255_add(x, c, eg) != 0) {
		goto out;
	}
	memcpy(ret_E, E, P2_SCALAR_LEN);
	memcpy(ret_x, x, P2_POINT_LEN);
	r = 0;
out:
	sodium_memzero(E, sizeof(E));
	sodium_memzero(eg, sizeof(eg));
	return r;
}

int p2_escrow_evaluate(const uint8_t S[P2_SCALAR_LEN], const uint8_t x[P2_POINT_LEN],
                       uint8_t ret_y[P2_POINT_LEN])
{
	uint8_t y[P2_POINT_LEN];

	if (!p2_point_acceptable(x) || crypto_scalarmult_ristretto255(y, S, x) != 0) {
		return -EINVAL;
	}
	memcpy(ret_y, y, P2_POINT_LEN);
	return 0;
}

int p2_escrow_unblind(const uint8_t E[P2_SCALAR_LEN], const uint8_t s[P2_POINT_LEN],
                      const uint8_t y[P2_POINT_LEN], uint8_t ret_K[P2_POINT_LEN])
{
	uint8_t z[P2_POINT_LEN], K[P2_POINT_LEN];
	int r = -EINVAL;

	if (!p2_point_acceptable(y)) {
		return -EBADMSG;
	}
	if (crypto_scalarmult_ristretto255(z, E, s) != 0 ||
	    crypto_core_ristretto255_sub(K, y, z) != 0 || sodium_is_zero(K, sizeof(K))) {
		goto out;
	}
	memcpy(ret_K, K, P2_POINT_LEN);
	r = 0;
out:
	sodium_memzero(z, sizeof(z));
	sodium_memzero(K, sizeof(K));
	return r;
}

/* ---- wrapping ---- */

/* kw of a single binding (label WRAP_LABEL) or of a share (SHARE_WRAP_LABEL). */
static void wrap_key(const char *label, const uint8_t key_id_raw[P2_KEY_ID_LEN],
                     const P2BindingKey *key, const uint8_t K[P2_POINT_LEN], uint8_t ret_kw[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
	crypto_generichash_update(&st, key_id_raw, P2_KEY_ID_LEN);
	crypto_generichash_update(&st, key->kid, P2_KID_LEN);
	crypto_generichash_update(&st, key->s, P2_POINT_LEN);
	crypto_generichash_update(&st, key->c, P2_POINT_LEN);
	crypto_generichash_update(&st, K, P2_POINT_LEN);
	crypto_generichash_final(&st, ret_kw, 32);
	sodium_memzero(&st, sizeof(st));
}

static size_t ad_put(uint8_t *ad, size_t at, const void *p, size_t n)
{
	memcpy(ad + at, p, n);
	return at + n;
}

/* AD of a single binding's box. */
static size_t single_ad(const uint8_t key_id_raw[P2_KEY_ID_LEN], const P2BindingKey *key,
                        uint8_t ad[AD_MAX])
{
	size_t n = ad_put(ad, 0, BOX_LABEL, LABEL_LEN(BOX_LABEL));

	n = ad_put(ad, n, key_id_raw, P2_KEY_ID_LEN);
	n = ad_put(ad, n, key->kid, P2_KID_LEN);
	n = ad_put(ad, n, key->s, P2_POINT_LEN);
	return ad_put(ad, n, key->c, P2_POINT_LEN);
}

/* AD_i of share i's box (§B.4.1). */
static size_t share_ad(const uint8_t key_id_raw[P2_KEY_ID_LEN], const uint8_t *data_nonce,
                       unsigned k, unsigned n, unsigned i, const P2BindingKey *key,
                       uint8_t ad[AD_MAX])
{
	uint8_t kni[3] = {(uint8_t)k, (uint8_t)n, (uint8_t)i};
	size_t at = ad_put(ad, 0, SHARE_BOX_LABEL, LABEL_LEN(SHARE_BOX_LABEL));

	at = ad_put(ad, at, key_id_raw, P2_KEY_ID_LEN);
	at = ad_put(ad, at, data_nonce, P2_ESCROW_NONCE_LEN);
	at = ad_put(ad, at, kni, sizeof(kni));
	at = ad_put(ad, at, key->kid, P2_KID_LEN);
	at = ad_put(ad, at, key->s, P2_POINT_LEN);
	return ad_put(ad, at, key->c, P2_POINT_LEN);
}

/* AD_D of the data box. */
static size_t data_ad(const uint8_t key_id_raw[P2_KEY_ID_LEN], unsigned k, unsigned n,
                      uint8_t ad[AD_MAX])
{
	uint8_t kn[2] = {(uint8_t)k, (uint8_t)n};
	size_t at = ad_put(ad, 0, SSS_BOX_LABEL, LABEL_LEN(SSS_BOX_LABEL));

	at = ad_put(ad, at, key_id_raw, P2_KEY_ID_LEN);
	return ad_put(ad, at, kn, sizeof(kn));
}

static void data_key(const uint8_t D[P2_SCALAR_LEN], uint8_t ret_kD[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)SSS_DATA_LABEL, LABEL_LEN(SSS_DATA_LABEL));
	crypto_generichash_update(&st, D, P2_SCALAR_LEN);
	crypto_generichash_final(&st, ret_kD, 32);
	sodium_memzero(&st, sizeof(st));
}

/*
 * A binding to key->s (kid and s already set): draw C, then the nonce; set c and nonce and
 * encrypt msg into a new box.  share_i = 0: a single binding; else share i of (k, n) with
 * data_nonce.  Returns 0, -EINVAL (s unusable), -ENOMEM; key->box untouched on failure.
 */
static int bind_and_wrap(P2BindingKey *key, const uint8_t key_id_raw[P2_KEY_ID_LEN],
                         unsigned share_i, unsigned k, unsigned n, const uint8_t *data_nonce,
                         const uint8_t *msg, size_t len)
{
	uint8_t C[P2_SCALAR_LEN], K[P2_POINT_LEN], kw[32], ad[AD_MAX];
	uint8_t *box = NULL;
	size_t ad_len;
	int r = -EINVAL;

	crypto_core_ristretto255_scalar_random(C);
	if (crypto_scalarmult_ristretto255_base(key->c, C) != 0 ||
	    crypto_scalarmult_ristretto255(K, C, key->s) != 0) {
		goto out;
	}
	if (share_i == 0) {
		wrap_key(WRAP_LABEL, key_id_raw, key, K, kw);
		ad_len = single_ad(key_id_raw, key, ad);
	} else {
		wrap_key(SHARE_WRAP_LABEL, key_id_raw, key, K, kw);
		ad_len = share_ad(key_id_raw, data_nonce, k, n, share_i, key, ad);
	}
	randombytes_buf(key->nonce, P2_ESCROW_NONCE_LEN);
	box = malloc(len + P2_ESCROW_ABYTES);
	if (box == NULL) {
		r = -ENOMEM;
		goto out;
	}
	crypto_aead_xchacha20poly1305_ietf_encrypt(box, NULL, msg, len, ad, ad_len, NULL,
	                                           key->nonce, kw);
	key->box = box;
	key->box_len = len + P2_ESCROW_ABYTES;
	r = 0;
out:
	sodium_memzero(C, sizeof(C));
	sodium_memzero(K, sizeof(K));
	sodium_memzero(kw, sizeof(kw));
	return r;
}

/* Open a box with kw into ret (len - 16 bytes).  0 or -EBADMSG. */
static int aead_open(uint8_t *ret, const uint8_t *box, size_t box_len, const uint8_t *ad,
                     size_t ad_len, const uint8_t nonce[P2_ESCROW_NONCE_LEN], const uint8_t kw[32])
{
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(ret, NULL, NULL, box, box_len, ad, ad_len,
	                                               nonce, kw) != 0) {
		return -EBADMSG;
	}
	return 0;
}

void p2_binding_done(P2Binding *b)
{
	if (b == NULL) {
		return;
	}
	free(b->data_box);
	for (size_t i = 0; i < P2_SHARES_MAX; i++) {
		free(b->keys[i].box);
		free(b->keys[i].address);
	}
	memset(b, 0, sizeof(*b));
}

/* ---- enrolment and rewrapping ---- */

int p2_escrow_enrol(const uint8_t key_id_raw[P2_KEY_ID_LEN], const uint8_t *password, size_t len,
                    P2Binding *ret, uint8_t ret_S[P2_SCALAR_LEN])
{
	P2Binding b = {.n_keys = 1};
	uint8_t S[P2_SCALAR_LEN];
	int r;

	if (len < 1 || len > P2_SECRET_MAX) {
		return -EINVAL;
	}
	crypto_core_ristretto255_scalar_random(S);
	r = p2_escrow_server_key(S, b.keys[0].s, b.keys[0].kid);
	if (r >= 0) {
		r = bind_and_wrap(&b.keys[0], key_id_raw, 0, 0, 0, NULL, password, len);
	}
	if (r < 0) {
		sodium_memzero(S, sizeof(S));
		p2_binding_done(&b);
		return r;
	}
	memcpy(ret_S, S, P2_SCALAR_LEN);
	sodium_memzero(S, sizeof(S));
	*ret = b;
	return 0;
}

/* x as a scalar: the small integer little-endian. */
static void scalar_small(uint8_t x, uint8_t ret[P2_SCALAR_LEN])
{
	memset(ret, 0, P2_SCALAR_LEN);
	ret[0] = x;
}

/*
 * The threshold part shared by enrolment and rewrapping: draw D, a_1 … a_{k-1}, data_nonce,
 * then per share i: S_i (new_keys only: else kid and s of b's keys stay), C_i, nonce_i.
 * Fills out (threshold, n_keys, data_*, keys without servers or addresses) and S.
 */
static int threshold_wrap(P2Binding *out, const P2Binding *old,
                          const uint8_t key_id_raw[P2_KEY_ID_LEN], unsigned k, unsigned n,
                          const uint8_t *password, size_t len, uint8_t S[][P2_SCALAR_LEN])
{
	uint8_t coef[P2_SHARES_MAX][P2_SCALAR_LEN], d[P2_SCALAR_LEN], kD[32], ad[AD_MAX];
	size_t ad_len;
	int r = -ENOMEM;

	out->threshold = (uint8_t)k;
	out->n_keys = (uint8_t)n;
	for (unsigned j = 0; j < k; j++) {
		crypto_core_ristretto255_scalar_random(coef[j]);
	}
	randombytes_buf(out->data_nonce, P2_ESCROW_NONCE_LEN);
	data_key(coef[0], kD);
	ad_len = data_ad(key_id_raw, k, n, ad);
	out->data_box = malloc(len + P2_ESCROW_ABYTES);
	if (out->data_box == NULL) {
		goto out;
	}
	out->data_box_len = len + P2_ESCROW_ABYTES;
	crypto_aead_xchacha20poly1305_ietf_encrypt(out->data_box, NULL, password, len, ad, ad_len,
	                                           NULL, out->data_nonce, kD);
	for (unsigned i = 1; i <= n; i++) {
		P2BindingKey *key = &out->keys[i - 1];

		p2_sss_eval((const uint8_t(*)[P2_SCALAR_LEN])coef, k, (uint8_t)i, d);
		if (old == NULL) {
			crypto_core_ristretto255_scalar_random(S[i - 1]);
			r = p2_escrow_server_key(S[i - 1], key->s, key->kid);
		} else {
			memcpy(key->s, old->keys[i - 1].s, P2_POINT_LEN);
			memcpy(key->kid, old->keys[i - 1].kid, P2_KID_LEN);
			r = 0;
		}
		if (r >= 0) {
			r = bind_and_wrap(key, key_id_raw, i, k, n, out->data_nonce, d, sizeof(d));
		}
		if (r < 0) {
			goto out;
		}
	}
	r = 0;
out:
	sodium_memzero(coef, sizeof(coef));
	sodium_memzero(d, sizeof(d));
	sodium_memzero(kD, sizeof(kD));
	return r;
}

int p2_threshold_enrol(const uint8_t key_id_raw[P2_KEY_ID_LEN], unsigned k, unsigned n,
                       const uint8_t *password, size_t len, P2Binding *ret,
                       uint8_t ret_S[][P2_SCALAR_LEN])
{
	P2Binding b = {0};
	uint8_t S[P2_SHARES_MAX][P2_SCALAR_LEN];
	int r;

	if (k < 2 || k > n || n > P2_SHARES_MAX || len < 1 || len > P2_SECRET_MAX) {
		return -EINVAL;
	}
	r = threshold_wrap(&b, NULL, key_id_raw, k, n, password, len, S);
	if (r < 0) {
		p2_binding_done(&b);
	} else {
		memcpy(ret_S, S, n * P2_SCALAR_LEN);
		*ret = b;
	}
	sodium_memzero(S, sizeof(S));
	return r;
}

/* Whether b is a binding these functions can work on (as the parser makes them). */
static bool binding_shape_ok(const P2Binding *b)
{
	if (b->threshold == 0
	            ? b->n_keys != 1
	            : b->threshold < 2 || b->threshold > b->n_keys || b->n_keys > P2_SHARES_MAX) {
		return false;
	}
	for (size_t i = 0; i < b->n_keys; i++) {
		if (!p2_point_acceptable(b->keys[i].s)) {
			return false;
		}
	}
	return true;
}

int p2_binding_rewrap(P2Binding *b, const uint8_t key_id_raw[P2_KEY_ID_LEN],
                      const uint8_t *password, size_t len)
{
	P2Binding nb = {0};
	int r;

	if (!binding_shape_ok(b) || len < 1 || len > P2_SECRET_MAX) {
		return -EINVAL;
	}
	if (b->threshold == 0) {
		nb.n_keys = 1;
		memcpy(nb.keys[0].s, b->keys[0].s, P2_POINT_LEN);
		memcpy(nb.keys[0].kid, b->keys[0].kid, P2_KID_LEN);
		r = bind_and_wrap(&nb.keys[0], key_id_raw, 0, 0, 0, NULL, password, len);
	} else {
		r = threshold_wrap(&nb, b, key_id_raw, b->threshold, b->n_keys, password, len,
		                   NULL);
	}
	if (r < 0) {
		p2_binding_done(&nb);
		return r;
	}
	/* Commit: the new c, nonces and boxes; kid, s, servers and addresses stay. */
	free(b->data_box);
	b->data_box = nb.data_box;
	b->data_box_len = nb.data_box_len;
	memcpy(b->data_nonce, nb.data_nonce, P2_ESCROW_NONCE_LEN);
	for (size_t i = 0; i < b->n_keys; i++) {
		P2BindingKey *key = &b->keys[i];

		free(key->box);
		key->box = nb.keys[i].box;
		key->box_len = nb.keys[i].box_len;
		memcpy(key->c, nb.keys[i].c, P2_POINT_LEN);
		memcpy(key->nonce, nb.keys[i].nonce, P2_ESCROW_NONCE_LEN);
	}
	return 0;
}

/* ---- opening ---- */

int p2_escrow_open(const P2Binding *b, const uint8_t key_id_raw[P2_KEY_ID_LEN],
                   const uint8_t K[P2_POINT_LEN], SecBuf **ret)
{
	const P2BindingKey *key = &b->keys[0];
	uint8_t kw[32], ad[AD_MAX];
	size_t ad_len, n;
	SecBuf *out;
	int r;

	if (b->threshold != 0 || b->n_keys != 1) {
		return -EINVAL;
	}
	if (key->box == NULL || key->box_len < P2_ESCROW_BOX_MIN ||
	    key->box_len > P2_ESCROW_BOX_MAX) {
		return -EBADMSG;
	}
	n = key->box_len - P2_ESCROW_ABYTES;
	out = secbuf_new(n, n);
	if (out == NULL) {
		return -ENOMEM;
	}
	wrap_key(WRAP_LABEL, key_id_raw, key, K, kw);
	ad_len = single_ad(key_id_raw, key, ad);
	r = aead_open(out->data, key->box, key->box_len, ad, ad_len, key->nonce, kw);
	sodium_memzero(kw, sizeof(kw));
	if (r < 0) {
		secbuf_free(out);
		return r;
	}
	out->len = n;
	out->data[n] = '\0';
	*ret = out;
	return 0;
}

int p2_share_open(const P2Binding *b, const uint8_t key_id_raw[P2_KEY_ID_LEN], unsigned i,
                  const uint8_t K[P2_POINT_LEN], uint8_t ret_d[P2_SCALAR_LEN])
{
	const P2BindingKey *key;
	uint8_t kw[32], ad[AD_MAX], d[P2_SCALAR_LEN];
	size_t ad_len;
	int r;

	if (b->threshold == 0 || i < 1 || i > b->n_keys || i > P2_SHARES_MAX) {
		return -EINVAL;
	}
	key = &b->keys[i - 1];
	if (key->box == NULL || key->box_len != P2_SHARE_BOX_LEN) {
		return -EBADMSG;
	}
	wrap_key(SHARE_WRAP_LABEL, key_id_raw, key, K, kw);
	ad_len = share_ad(key_id_raw, b->data_nonce, b->threshold, b->n_keys, i, key, ad);
	r = aead_open(d, key->box, key->box_len, ad, ad_len, key->nonce, kw);
	if (r >= 0) {
		memcpy(ret_d, d, P2_SCALAR_LEN);
	}
	sodium_memzero(kw, sizeof(kw));
	sodium_memzero(d, sizeof(d));
	return r;
}

int p2_threshold_open(const P2Binding *b, const uint8_t key_id_raw[P2_KEY_ID_LEN],
                      const uint8_t *xs, const uint8_t (*d)[P2_SCALAR_LEN], size_t k, SecBuf **ret)
{
	uint8_t D[P2_SCALAR_LEN] = {0}, lambda[P2_SCALAR_LEN], term[P2_SCALAR_LEN], kD[32];
	uint8_t ad[AD_MAX];
	size_t ad_len, n;
	SecBuf *out = NULL;
	int r = -EINVAL;

	if (!binding_shape_ok(b) || b->threshold == 0 || k != b->threshold) {
		return -EINVAL;
	}
	for (size_t j = 0; j < k; j++) {
		if (xs[j] < 1 || xs[j] > b->n_keys) {
			return -EINVAL;
		}
	}
	if (b->data_box == NULL || b->data_box_len < P2_ESCROW_BOX_MIN ||
	    b->data_box_len > P2_ESCROW_BOX_MAX) {
		return -EBADMSG;
	}
	for (size_t j = 0; j < k; j++) {
		if (p2_sss_lagrange(xs, k, j, lambda) < 0) {
			goto out;
		}
		crypto_core_ristretto255_scalar_mul(term, lambda, d[j]);
		crypto_core_ristretto255_scalar_add(D, D, term);
	}
	n = b->data_box_len - P2_ESCROW_ABYTES;
	out = secbuf_new(n, n);
	if (out == NULL) {
		r = -ENOMEM;
		goto out;
	}
	data_key(D, kD);
	ad_len = data_ad(key_id_raw, b->threshold, b->n_keys, ad);
	r = aead_open(out->data, b->data_box, b->data_box_len, ad, ad_len, b->data_nonce, kD);
	if (r < 0) {
		out = secbuf_free(out);
		goto out;
	}
	out->len = n;
	out->data[n] = '\0';
	*ret = out;
	r = 0;
out:
	sodium_memzero(D, sizeof(D));
	sodium_memzero(term, sizeof(term));
	sodium_memzero(kD, sizeof(kD));
	return r;
}

/* ---- Shamir over GF(L) ---- */

void p2_sss_eval(const uint8_t (*coef)[P2_SCALAR_LEN], size_t k, uint8_t x,
                 uint8_t ret[P2_SCALAR_LEN])
{
	uint8_t acc[P2_SCALAR_LEN] = {0}, xs[P2_SCALAR_LEN];

	/* Horner: acc = (…(a_{k-1}·x + a_{k-2})·x + …)·x + a_0. */
	scalar_small(x, xs);
	for (size_t j = k; j-- > 0;) {
		crypto_core_ristretto255_scalar_mul(acc, acc, xs);
		crypto_core_ristretto255_scalar_add(acc, acc, coef[j]);
	}
	memcpy(ret, acc, P2_SCALAR_LEN);
	sodium_memzero(acc, sizeof(acc));
}

int p2_sss_lagrange(const uint8_t *xs, size_t k, size_t i, uint8_t ret[P2_SCALAR_LEN])
{
	uint8_t num[P2_SCALAR_LEN], den[P2_SCALAR_LEN], xi[P2_SCALAR_LEN], xj[P2_SCALAR_LEN];
	uint8_t diff[P2_SCALAR_LEN], inv[P2_SCALAR_LEN];

	if (i >= k) {
		return -EINVAL;
	}
	for (size_t a = 0; a < k; a++) {
		for (size_t b = a + 1; b < k; b++) {
			if (xs[a] == xs[b]) {
				return -EINVAL;
			}
		}
	}
	scalar_small(1, num);
	scalar_small(1, den);
	scalar_small(xs[i], xi);
	for (size_t j = 0; j < k; j++) {
		if (j == i) {
			continue;
		}
		scalar_small(xs[j], xj);
		crypto_core_ristretto255_scalar_mul(num, num, xj);
		crypto_core_ristretto255_scalar_sub(diff, xj, xi);
		crypto_core_ristretto255_scalar_mul(den, den, diff);
	}
	if (crypto_core_ristretto255_scalar_invert(inv, den) != 0) {
		return -EINVAL;
	}
	crypto_core_ristretto255_scalar_mul(ret, num, inv);
	return 0;
}
