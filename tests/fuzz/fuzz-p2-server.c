/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target: the protocol 2 server session.  Input: mode, chunk size, then either raw
 * bytes (mode 0: from ClientHello on; mode 1: after a real handshake, from the DataMessage
 * header on) or messages a real client pushes through its stream (mode 2; flag bit 0 re-signs
 * a CLIENT_AUTH so the checks after the signature are reached).  Checks the contract: after an
 * error nothing more is queued.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz-p2.h"
#include "msg.h"
#include "p2.h"
#include "transport.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static P2Identity *server_id, *client_id;
static uint8_t wire[1 << 17];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_p2_init();
	server_id = fuzz_p2_identity(0x20);
	client_id = fuzz_p2_identity(0x00);
	return 0;
}

static size_t out_len(P2ServerSession *s)
{
	size_t n;

	p2_server_output(s, &n);
	return n;
}

/* Feed in chunks; answer a REQUEST as the control byte says.  Returns false once failed. */
static bool feed(P2ServerSession *s, const uint8_t *b, size_t n, size_t chunk, uint8_t control)
{
	size_t at = 0;

	while (at < n) {
		size_t len = chunk ? (n - at < chunk ? n - at : chunk) : n - at, used = 0, before;
		const char *why = NULL;
		int r;

		before = out_len(s);
		r = p2_server_feed(s, b + at, len, 1000, &used, &why);
		if (r < 0) {
			if (why == NULL || out_len(s) != before) {
				abort();
			}
			return false;
		}
		if (used == 0 && r == P2_EV_NONE) {
			abort();
		}
		at += used;
		if (r == P2_EV_REQUEST) {
			P2Status st = {.code = 1, .value = 30, .tlen = 2, .text = "hi"};
			P2Result res = {.code = (uint8_t)(control % 8)};
			uint8_t box[64] = {0};

			if (p2_server_request(s) == NULL || p2_server_client_key_id(s) == NULL) {
				abort();
			}
			if (control & 0x10) {
				(void)p2_server_send_status(s, &st);
			}
			if (res.code == P2_OK) {
				res.n_items = 1;
				res.items[0] = (P2ResultItem){P2_ITEM_SEALED, sizeof(box), box};
			}
			if ((control & 0x20) && p2_server_send_result(s, &res) < 0) {
				abort();
			}
			if (control & 0x40) {
				(void)p2_server_send_final(s);
			}
		}
	}
	return true;
}

static void feed_eof(P2ServerSession *s)
{
	size_t before = out_len(s);
	const char *why = NULL;

	if (p2_server_feed(s, NULL, 0, 2000, NULL, &why) < 0 &&
	    (why == NULL || out_len(s) != before)) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t ch[48], sh[72], ch2[32], th[32], kx_pk[32], kx_sk[32], rx[32], tx[32];
	P2ServerSession *s = NULL;
	FuzzStream push;
	uint8_t mode, chunk, control;
	const uint8_t *o;
	size_t olen, n = 0;
	FuzzMsg m;

	if (size < 3) {
		return 0;
	}
	p2_test_rng_start("fuzz server");
	mode = data[0] % 3;
	chunk = data[1];
	control = data[2];
	data += 3;
	size -= 3;
	if (p2_server_new(server_id, NULL, 0, &s) < 0) {
		abort();
	}
	if (mode == 0) {
		if (feed(s, data, size, chunk, control)) {
			feed_eof(s);
		}
		goto out;
	}
	crypto_kx_keypair(kx_pk, kx_sk);
	memcpy(ch, P2_MAGIC_CLIENT, 16);
	memcpy(ch + 16, kx_pk, 32);
	if (!feed(s, ch, sizeof(ch), chunk, control)) {
		abort();
	}
	o = p2_server_output(s, &olen);
	if (olen != sizeof(sh)) {
		abort();
	}
	memcpy(sh, o, sizeof(sh));
	p2_server_output_consume(s, olen);
	if (crypto_kx_client_session_keys(rx, tx, kx_pk, kx_sk, sh + 16) != 0) {
		abort();
	}
	memcpy(ch2, P2_MAGIC_CHEADER, 8);
	crypto_secretstream_xchacha20poly1305_init_push(&push, ch2 + 8, tx);
	p2_transcript_hash(ch, sh, ch2, th);
	memcpy(wire, ch2, sizeof(ch2));
	n = sizeof(ch2);
	if (mode == 1) {
		size_t take = size < sizeof(wire) - n ? size : sizeof(wire) - n;

		memcpy(wire + n, data, take);
		n += take;
	} else {
		while (fuzz_p2_next(&data, &size, &m) && n + m.len + 33 <= sizeof(wire)) {
			uint8_t ca[P2_CLIENT_AUTH_MAX];

			if ((m.flags & 1) && m.len >= P2_CLIENT_AUTH_MIN && m.len <= sizeof(ca)) {
				/* Re-sign as the client: the signature covers all but sig. */
				uint8_t msg[21 + 32 + P2_CLIENT_AUTH_MAX];
				size_t at = 0;

				memcpy(ca, m.data, m.len);
				memcpy(ca + 2, client_id->pk, 32);
				memcpy(msg, "mandos-p2 client auth", 21);
				at = 21;
				memcpy(msg + at, th, 32);
				at += 32;
				memcpy(msg + at, ca, 34);
				at += 34;
				memcpy(msg + at, ca + 98, m.len - 98);
				at += m.len - 98;
				crypto_sign_detached(ca + 34, NULL, msg, at, client_id->sk);
				n += fuzz_p2_dm(&push, ca, m.len, fuzz_p2_tag(m.tag), wire + n);
			} else {
				n += fuzz_p2_dm(&push, m.data, m.len, fuzz_p2_tag(m.tag), wire + n);
			}
		}
	}
	if (feed(s, wire, n, chunk, control)) {
		feed_eof(s);
	}
out:
	sodium_memzero(kx_sk, sizeof(kx_sk));
	p2_server_free(s);
	return 0;
}
