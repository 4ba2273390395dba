/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target: the protocol 2 client session.  Input: mode, chunk size, control, then
 * raw bytes (mode 0: from ServerHello on; mode 1: after a real ServerHello) or messages a real
 * server pushes through its stream (mode 2; flag bit 0 replaces the message by a valid
 * SERVER_AUTH, bit 1 wraps the bytes as the data of a SEALED RESULT item).  Control bit 0:
 * pin the server, bit 1: pin another server.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-p2.h"
#include "msg.h"
#include "p2.h"
#include "pins.h"
#include "sealed.h"
#include "transport.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static P2Identity *server_id, *client_id;
static P2SealKey *seal;
static uint8_t wire[1 << 18];
static uint8_t result_plain[P2_S2C_N_MAX];
static bool got_result; /* this input's session gave P2_EV_RESULT */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t sk[32];

	fuzz_p2_init();
	server_id = fuzz_p2_identity(0x20);
	client_id = fuzz_p2_identity(0x00);
	memset(sk, 0x42, sizeof(sk));
	if (p2_seal_key_from_secret(sk, &seal) < 0) {
		abort();
	}
	return 0;
}

static size_t out_len(P2ClientSession *c)
{
	size_t n;

	p2_client_output(c, &n);
	return n;
}

static bool feed(P2ClientSession *c, const uint8_t *b, size_t n, size_t chunk, uint64_t *now)
{
	size_t at = 0;

	while (at < n) {
		size_t len = chunk ? (n - at < chunk ? n - at : chunk) : n - at, used = 0, before;
		const char *why = NULL;
		int r;

		before = out_len(c);
		r = p2_client_feed(c, b + at, len, *now, &used, &why);
		*now += 100000;
		if (r < 0) {
			/* A RESULT is only ever given whole: none unless P2_EV_RESULT came. */
			if (why == NULL || out_len(c) != before ||
			    (!got_result && p2_client_result(c) != NULL)) {
				abort();
			}
			return false;
		}
		if (used == 0 && r == P2_EV_NONE) {
			abort();
		}
		at += used;
		if (r == P2_EV_AUTHENTICATED && p2_client_server_key_id(c) == NULL) {
			abort();
		}
		if (r == P2_EV_STATUS &&
		    !p2_text_printable((const uint8_t *)p2_client_status(c)->text,
		                       p2_client_status(c)->tlen)) {
			abort();
		}
		if (r == P2_EV_RESULT) {
			const P2Result *res = p2_client_result(c);

			got_result = true;
			if (res == NULL) {
				abort();
			}
			for (size_t i = 0; i < res->n_items; i++) {
				SecBuf *secret = NULL;

				if (res->items[i].kind == P2_ITEM_SEALED &&
				    p2_sealed_open(res->items[i].data, res->items[i].len, seal,
				                   &secret) == 0) {
					secbuf_free(secret);
				}
			}
		}
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t ch[48], sh[72], ch2[32], th[32], ca[P2_CLIENT_AUTH_MAX], kx_pk[32], kx_sk[32];
	uint8_t rx[32], tx[32];
	P2ClientSession *c = NULL;
	P2Pins pins = {0};
	FuzzStream push;
	uint8_t mode, chunk, control;
	const uint8_t *o;
	uint64_t now = 1000;
	size_t olen, n = 0, ca_len;
	unsigned long long mlen;
	unsigned char tag;
	FuzzStream pull;
	FuzzMsg m;

	if (size < 3) {
		return 0;
	}
	p2_test_rng_start("fuzz client");
	got_result = false;
	mode = data[0] % 3;
	chunk = data[1];
	control = data[2];
	data += 3;
	size -= 3;
	if (control & 3) {
		uint8_t id[P2_KEY_ID_LEN];

		p2_key_id_raw(server_id->pk, id);
		id[0] ^= (control & 2) ? 1 : 0;
		pins.configured = true;
		pins.n = 1;
		memcpy(pins.ids[0], id, sizeof(id));
	}
	P2ClientConfig cfg = {.identity = client_id, .seal = seal, .pins = &pins};
	if (p2_client_new(&cfg, now, &c) < 0) {
		abort();
	}
	o = p2_client_output(c, &olen);
	if (olen != 3 + sizeof(ch)) {
		abort();
	}
	memcpy(ch, o + 3, sizeof(ch));
	p2_client_output_consume(c, olen);
	if (mode == 0) {
		if (feed(c, data, size, chunk, &now)) {
			(void)p2_client_feed(c, NULL, 0, now, NULL, NULL);
		}
		goto out;
	}
	crypto_kx_keypair(kx_pk, kx_sk);
	if (crypto_kx_server_session_keys(rx, tx, kx_pk, kx_sk, ch + 16) != 0) {
		abort();
	}
	memcpy(sh, P2_MAGIC_SERVER, 16);
	memcpy(sh + 16, kx_pk, 32);
	crypto_secretstream_xchacha20poly1305_init_push(&push, sh + 48, tx);
	if (!feed(c, sh, sizeof(sh), chunk, &now)) {
		abort();
	}
	o = p2_client_output(c, &olen);
	if (olen < 32 + 16 + 17 + P2_CLIENT_AUTH_MIN) {
		abort();
	}
	memcpy(ch2, o, sizeof(ch2));
	crypto_secretstream_xchacha20poly1305_init_pull(&pull, ch2 + 8, rx);
	if (crypto_secretstream_xchacha20poly1305_pull(&pull, ca, &mlen, &tag, o + 48, olen - 48,
	                                               NULL, 0) != 0) {
		abort();
	}
	ca_len = (size_t)mlen;
	p2_client_output_consume(c, olen);
	p2_transcript_hash(ch, sh, ch2, th);
	if (mode == 1) {
		n = size < sizeof(wire) ? size : sizeof(wire);
		memcpy(wire, data, n);
	} else {
		while (fuzz_p2_next(&data, &size, &m) &&
		       n + 16 + 17 + 11 + 3 + m.len <= sizeof(wire)) {
			if (m.flags & 1) {
				uint8_t sa[P2_SERVER_AUTH_LEN];

				p2_server_auth_build(server_id, th, ca, ca_len, sa);
				n += fuzz_p2_dm(&push, sa, sizeof(sa), fuzz_p2_tag(m.tag),
				                wire + n);
			} else if ((m.flags & 2) && m.len <= 65535) {
				/* RESULT OK with one SEALED item holding the bytes. */
				memset(result_plain, 0, 11);
				result_plain[0] = 1;
				result_plain[1] = 4;
				result_plain[10] = 1;
				result_plain[11] = P2_ITEM_SEALED;
				result_plain[12] = (uint8_t)m.len;
				result_plain[13] = (uint8_t)(m.len >> 8);
				memcpy(result_plain + 14, m.data, m.len);
				n += fuzz_p2_dm(&push, result_plain, 14 + m.len, fuzz_p2_tag(m.tag),
				                wire + n);
			} else {
				n += fuzz_p2_dm(&push, m.data, m.len, fuzz_p2_tag(m.tag), wire + n);
			}
		}
	}
	if (feed(c, wire, n, chunk, &now)) {
		(void)p2_client_feed(c, NULL, 0, now, NULL, NULL);
	}
out:
	sodium_memzero(kx_sk, sizeof(kx_sk));
	p2_client_free(c);
	return 0;
}
