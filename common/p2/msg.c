/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Protocol 2 application messages (§A.4.1): builders, strict parsers, transcript, signatures. */
#include "msg.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#define LABEL_TRANSCRIPT "mandos-p2 transcript"
#define LABEL_CLIENT_AUTH "mandos-p2 client auth"
#define LABEL_SERVER_AUTH "mandos-p2 server auth"
#define LEN(s) (sizeof(s) - 1)

/* CLIENT_AUTH offsets: ver type pk[32] sig[64] flags[4] n[1] items. */
#define CA_PK 2
#define CA_SIG 34
#define CA_FLAGS 98
#define CA_N 102
#define CA_ITEMS 103
#define ITEM_LEN (P2_KID_LEN + P2_POINT_LEN)

/* STATUS / RESULT common head: ver type code flags value[4] tlen[2]. */
#define HEAD_LEN 10

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++) {
		p[i] = (uint8_t)(v >> (8 * i));
	}
}

static uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void p2_transcript_hash(const uint8_t ch[P2_CLIENT_HELLO_LEN],
                        const uint8_t sh[P2_SERVER_HELLO_LEN],
                        const uint8_t ch2[P2_CLIENT_HELLO2_LEN], uint8_t ret_th[32])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const uint8_t *)LABEL_TRANSCRIPT, LEN(LABEL_TRANSCRIPT));
	crypto_generichash_update(&st, (const uint8_t *)P2_VERSION_LINE, P2_VERSION_LINE_LEN);
	crypto_generichash_update(&st, ch, P2_CLIENT_HELLO_LEN);
	crypto_generichash_update(&st, sh, P2_SERVER_HELLO_LEN);
	crypto_generichash_update(&st, ch2, P2_CLIENT_HELLO2_LEN);
	crypto_generichash_final(&st, ret_th, 32);
}

/* The signed input of sigC: label ‖ TH ‖ CA without its sig field.  Returns its length. */
static size_t client_auth_signed(const uint8_t th[32], const uint8_t *ca, size_t ca_len,
                                 uint8_t *ret)
{
	size_t at = 0;

	memcpy(ret, LABEL_CLIENT_AUTH, LEN(LABEL_CLIENT_AUTH));
	at += LEN(LABEL_CLIENT_AUTH);
	memcpy(ret + at, th, 32);
	at += 32;
	memcpy(ret + at, ca, CA_SIG);
	at += CA_SIG;
	memcpy(ret + at, ca + CA_FLAGS, ca_len - CA_FLAGS);
	return at + ca_len - CA_FLAGS;
}

#define CLIENT_SIGNED_MAX (LEN(LABEL_CLIENT_AUTH) + 32 + P2_CLIENT_AUTH_MAX - 64)

static bool kids_distinct(const P2EscrowItem *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t j = i + 1; j < n; j++) {
			if (memcmp(items[i].kid, items[j].kid, P2_KID_LEN) == 0) {
				return false;
			}
		}
	}
	return true;
}

ssize_t p2_client_auth_build(P2ClientAuth *ca, const P2Identity *id, const uint8_t th[32],
                             uint8_t ret[P2_CLIENT_AUTH_MAX])
{
	uint8_t signed_input[CLIENT_SIGNED_MAX];
	size_t len, slen;

	if (ca->n_items > P2_MAX_ESCROW_ITEMS ||
	    !!(ca->flags & P2_FLAG_WANT_ESCROW) != (ca->n_items >= 1) ||
	    !kids_distinct(ca->items, ca->n_items)) {
		return -EINVAL;
	}
	memcpy(ca->client_pk, id->pk, 32);
	len = CA_ITEMS + ITEM_LEN * (size_t)ca->n_items;
	ret[0] = P2_MSG_VERSION;
	ret[1] = P2_MSG_CLIENT_AUTH;
	memcpy(ret + CA_PK, ca->client_pk, 32);
	memset(ret + CA_SIG, 0, 64);
	put_le32(ret + CA_FLAGS, ca->flags);
	ret[CA_N] = ca->n_items;
	for (size_t i = 0; i < ca->n_items; i++) {
		memcpy(ret + CA_ITEMS + ITEM_LEN * i, ca->items[i].kid, P2_KID_LEN);
		memcpy(ret + CA_ITEMS + ITEM_LEN * i + P2_KID_LEN, ca->items[i].point,
		       P2_POINT_LEN);
	}
	slen = client_auth_signed(th, ret, len, signed_input);
	crypto_sign_detached(ca->sig, NULL, signed_input, slen, id->sk);
	memcpy(ret + CA_SIG, ca->sig, 64);
	return (ssize_t)len;
}

int p2_client_auth_parse(const uint8_t *msg, size_t len, const uint8_t th[32], P2ClientAuth *ret,
                         const char **ret_why)
{
	uint8_t signed_input[CLIENT_SIGNED_MAX];
	P2ClientAuth ca;
	size_t slen;

	/* Step 3: layout. */
	if (len < P2_CLIENT_AUTH_MIN) {
		*ret_why = "CLIENT_AUTH too short";
		return -EBADMSG;
	}
	if (msg[0] != P2_MSG_VERSION) {
		*ret_why = "unknown message version";
		return -EBADMSG;
	}
	if (msg[1] != P2_MSG_CLIENT_AUTH) {
		*ret_why = "not a CLIENT_AUTH";
		return -EBADMSG;
	}
	memset(&ca, 0, sizeof(ca));
	ca.n_items = msg[CA_N];
	if (ca.n_items > P2_MAX_ESCROW_ITEMS) {
		*ret_why = "too many escrow items";
		return -EBADMSG;
	}
	if (len != CA_ITEMS + ITEM_LEN * (size_t)ca.n_items) {
		*ret_why = "CLIENT_AUTH length does not match its item count";
		return -EBADMSG;
	}
	memcpy(ca.client_pk, msg + CA_PK, 32);
	memcpy(ca.sig, msg + CA_SIG, 64);
	ca.flags = get_le32(msg + CA_FLAGS);
	for (size_t i = 0; i < ca.n_items; i++) {
		memcpy(ca.items[i].kid, msg + CA_ITEMS + ITEM_LEN * i, P2_KID_LEN);
		memcpy(ca.items[i].point, msg + CA_ITEMS + ITEM_LEN * i + P2_KID_LEN, P2_POINT_LEN);
	}
	/* Step 4. */
	if (!!(ca.flags & P2_FLAG_WANT_ESCROW) != (ca.n_items >= 1)) {
		*ret_why = "WANT_ESCROW does not match the item count";
		return -EBADMSG;
	}
	/* Step 5. */
	if (!kids_distinct(ca.items, ca.n_items)) {
		*ret_why = "duplicate kid";
		return -EBADMSG;
	}
	for (size_t i = 0; i < ca.n_items; i++) {
		if (!p2_point_acceptable(ca.items[i].point)) {
			*ret_why = "invalid point";
			return -EBADMSG;
		}
	}
	/* Step 6. */
	slen = client_auth_signed(th, msg, len, signed_input);
	if (crypto_sign_verify_detached(ca.sig, signed_input, slen, ca.client_pk) != 0) {
		*ret_why = "bad signature";
		return -EBADMSG;
	}
	*ret = ca;
	return 0;
}

/* The signed input of sigS: label ‖ TH ‖ H_CA ‖ SA[0..34). */
#define SERVER_SIGNED_LEN (LEN(LABEL_SERVER_AUTH) + 32 + 32 + 34)

static void server_auth_signed(const uint8_t th[32], const uint8_t *ca, size_t ca_len,
                               const uint8_t sa_head[34], uint8_t ret[SERVER_SIGNED_LEN])
{
	size_t at = LEN(LABEL_SERVER_AUTH);

	memcpy(ret, LABEL_SERVER_AUTH, at);
	memcpy(ret + at, th, 32);
	at += 32;
	crypto_generichash(ret + at, 32, ca, ca_len, NULL, 0);
	at += 32;
	memcpy(ret + at, sa_head, 34);
}

void p2_server_auth_build(const P2Identity *server, const uint8_t th[32], const uint8_t *ca,
                          size_t ca_len, uint8_t ret[P2_SERVER_AUTH_LEN])
{
	uint8_t signed_input[SERVER_SIGNED_LEN];

	ret[0] = P2_MSG_VERSION;
	ret[1] = P2_MSG_SERVER_AUTH;
	memcpy(ret + 2, server->pk, 32);
	server_auth_signed(th, ca, ca_len, ret, signed_input);
	crypto_sign_detached(ret + 34, NULL, signed_input, sizeof(signed_input), server->sk);
}

int p2_server_auth_parse(const uint8_t *msg, size_t len, const uint8_t th[32], const uint8_t *ca,
                         size_t ca_len, uint8_t ret_server_pk[32])
{
	uint8_t signed_input[SERVER_SIGNED_LEN];

	if (len != P2_SERVER_AUTH_LEN || msg[0] != P2_MSG_VERSION || msg[1] != P2_MSG_SERVER_AUTH) {
		return -EBADMSG;
	}
	server_auth_signed(th, ca, ca_len, msg, signed_input);
	if (crypto_sign_verify_detached(msg + 34, signed_input, sizeof(signed_input), msg + 2) !=
	    0) {
		return -EBADMSG;
	}
	memcpy(ret_server_pk, msg + 2, 32);
	return 0;
}

/* The head shared by STATUS and RESULT. */
static void head_put(uint8_t *p, uint8_t type, uint8_t code, uint8_t flags, uint32_t value,
                     uint16_t tlen)
{
	p[0] = P2_MSG_VERSION;
	p[1] = type;
	p[2] = code;
	p[3] = flags;
	put_le32(p + 4, value);
	put_le16(p + 8, tlen);
}

ssize_t p2_status_build(const P2Status *st, uint8_t *ret, size_t size)
{
	size_t len = HEAD_LEN + (size_t)st->tlen;

	if (st->tlen > P2_TEXT_MAX || !p2_text_printable((const uint8_t *)st->text, st->tlen)) {
		return -EINVAL;
	}
	if (len > size) {
		return -ENOBUFS;
	}
	head_put(ret, P2_MSG_STATUS, st->code, st->flags, st->value, st->tlen);
	memcpy(ret + HEAD_LEN, st->text, st->tlen);
	return (ssize_t)len;
}

/* Parse the head of a STATUS or RESULT and its text; returns the offset after the text. */
static ssize_t head_parse(const uint8_t *msg, size_t len, uint8_t type, uint8_t *code,
                          uint8_t *flags, uint32_t *value, uint16_t *tlen, char *text)
{
	uint16_t tl;

	if (len < HEAD_LEN || msg[0] != P2_MSG_VERSION || msg[1] != type) {
		return -EBADMSG;
	}
	tl = get_le16(msg + 8);
	if (tl > P2_TEXT_MAX || len - HEAD_LEN < tl || !p2_text_printable(msg + HEAD_LEN, tl)) {
		return -EBADMSG;
	}
	*code = msg[2];
	*flags = msg[3];
	*value = get_le32(msg + 4);
	*tlen = tl;
	memcpy(text, msg + HEAD_LEN, tl);
	text[tl] = '\0';
	return HEAD_LEN + tl;
}

int p2_status_parse(const uint8_t *msg, size_t len, P2Status *ret)
{
	P2Status st;
	ssize_t at;

	at = head_parse(msg, len, P2_MSG_STATUS, &st.code, &st.flags, &st.value, &st.tlen, st.text);
	if (at < 0 || (size_t)at != len) {
		return -EBADMSG;
	}
	*ret = st;
	return 0;
}

size_t p2_result_size(const P2Result *res)
{
	size_t n = HEAD_LEN + (size_t)res->tlen + 1;

	for (size_t i = 0; i < res->n_items && i < P2_MAX_RESULT_ITEMS; i++) {
		n += 3 + (size_t)res->items[i].len;
	}
	return n;
}

/* The §A.4.1 rules on the head: OK form, refusal form. */
static bool result_form_ok(const P2Result *res)
{
	if (res->n_items > P2_MAX_RESULT_ITEMS) {
		return false;
	}
	if (res->code == P2_OK) {
		return res->flags == 0 && res->value == 0 && res->tlen == 0 && res->n_items >= 1;
	}
	return res->n_items == 0;
}

ssize_t p2_result_build(const P2Result *res, uint8_t *ret, size_t size)
{
	size_t at, len;

	if (res->tlen > P2_TEXT_MAX || !p2_text_printable((const uint8_t *)res->text, res->tlen) ||
	    !result_form_ok(res)) {
		return -EINVAL;
	}
	for (size_t i = 0; i < res->n_items; i++) {
		const P2ResultItem *it = &res->items[i];

		if (it->kind == P2_ITEM_SEALED) {
			if (i != 0 || it->len < P2_SEALED_MIN) {
				return -EINVAL;
			}
		} else if (it->kind == P2_ITEM_ESCROW) {
			if (it->len != P2_KID_LEN + P2_POINT_LEN) {
				return -EINVAL;
			}
			for (size_t j = 0; j < i; j++) {
				if (res->items[j].kind == P2_ITEM_ESCROW &&
				    memcmp(res->items[j].data, it->data, P2_KID_LEN) == 0) {
					return -EINVAL;
				}
			}
		} else {
			return -EINVAL;
		}
	}
	len = p2_result_size(res);
	if (len > size) {
		return -ENOBUFS;
	}
	head_put(ret, P2_MSG_RESULT, res->code, res->flags, res->value, res->tlen);
	memcpy(ret + HEAD_LEN, res->text, res->tlen);
	at = HEAD_LEN + res->tlen;
	ret[at++] = res->n_items;
	for (size_t i = 0; i < res->n_items; i++) {
		ret[at] = res->items[i].kind;
		put_le16(ret + at + 1, res->items[i].len);
		memcpy(ret + at + 3, res->items[i].data, res->items[i].len);
		at += 3 + (size_t)res->items[i].len;
	}
	return (ssize_t)at;
}

int p2_result_parse(const uint8_t *msg, size_t len, const P2ClientAuth *request, P2Result *ret)
{
	static const P2ClientAuth no_request;
	P2Result res;
	ssize_t h;
	size_t at;
	int next_kid = 0; /* escrow items must follow the request's kid order */

	if (request == NULL) {
		request = &no_request;
	}
	memset(&res, 0, sizeof(res));
	h = head_parse(msg, len, P2_MSG_RESULT, &res.code, &res.flags, &res.value, &res.tlen,
	               res.text);
	if (h < 0 || (size_t)h >= len) {
		return -EBADMSG;
	}
	at = (size_t)h;
	res.n_items = msg[at++];
	if (!result_form_ok(&res)) {
		return -EBADMSG;
	}
	for (size_t i = 0; i < res.n_items; i++) {
		P2ResultItem *it = &res.items[i];

		if (len - at < 3) {
			return -EBADMSG;
		}
		it->kind = msg[at];
		it->len = get_le16(msg + at + 1);
		at += 3;
		if (len - at < it->len) {
			return -EBADMSG;
		}
		it->data = msg + at;
		at += it->len;
		if (it->kind == P2_ITEM_SEALED) {
			if (i != 0 || !(request->flags & P2_FLAG_WANT_SEALED) ||
			    it->len < P2_SEALED_MIN) {
				return -EBADMSG;
			}
		} else if (it->kind == P2_ITEM_ESCROW) {
			int k;

			if (it->len != P2_KID_LEN + P2_POINT_LEN) {
				return -EBADMSG;
			}
			for (k = next_kid; k < request->n_items; k++) {
				if (memcmp(request->items[k].kid, it->data, P2_KID_LEN) == 0) {
					break;
				}
			}
			if (k >= request->n_items || !p2_point_acceptable(it->data + P2_KID_LEN)) {
				return -EBADMSG;
			}
			next_kid = k + 1;
		} else {
			return -EBADMSG;
		}
	}
	if (at != len) {
		return -EBADMSG;
	}
	*ret = res;
	return 0;
}
