/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libFuzzer target: each protocol 2 message parser (§A.4.1) on its own.  Input: a selector
 * byte, then the plaintext.  What parses must build back to the same bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "msg.h"
#include "p2.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t rebuilt[P2_S2C_N_MAX];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (sodium_init() < 0) {
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t th[32];
	P2ClientAuth ca, req;
	P2Status st;
	P2Result res;
	uint8_t pk[32];
	const char *why = NULL;
	uint8_t sel;

	if (size < 1) {
		return 0;
	}
	sel = data[0];
	data++;
	size--;
	switch (sel % 4) {
	case 0:
		if (p2_client_auth_parse(data, size, th, &ca, &why) == 0 &&
		    size != 103 + 48u * ca.n_items) {
			abort();
		}
		break;
	case 1:
		(void)p2_server_auth_parse(data, size, th, data, size, pk);
		break;
	case 2:
		if (p2_status_parse(data, size, &st) == 0) {
			if (p2_status_build(&st, rebuilt, sizeof(rebuilt)) != (ssize_t)size ||
			    memcmp(rebuilt, data, size) != 0) {
				abort();
			}
		}
		break;
	default:
		/* The request: WANT_SEALED per bit 2 of sel, and the kids of the first items. */
		memset(&req, 0, sizeof(req));
		req.flags = (sel & 4) ? P2_FLAG_WANT_SEALED : 0;
		req.n_items = (uint8_t)((sel >> 3) % (P2_MAX_ESCROW_ITEMS + 1));
		if (req.n_items > 0) {
			req.flags |= P2_FLAG_WANT_ESCROW;
		}
		for (size_t i = 0; i < req.n_items; i++) {
			memset(req.items[i].kid, (int)i, P2_KID_LEN);
		}
		if (p2_result_parse(data, size, &req, &res) == 0) {
			if (p2_result_build(&res, rebuilt, sizeof(rebuilt)) != (ssize_t)size ||
			    memcmp(rebuilt, data, size) != 0) {
				abort();
			}
		}
		break;
	}
	return 0;
}
