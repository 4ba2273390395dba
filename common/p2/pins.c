/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The client's server pins: the server-pins file and --server-key-id values (§A.9.3). */
#include "pins.h"

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "io-util.h"
#include "macro.h"

static int pins_insert(P2Pins *pins, const uint8_t id[P2_KEY_ID_LEN])
{
	if (p2_pins_match(pins, id)) {
		return 0;
	}
	if (pins->n >= P2_PINS_MAX) {
		return -E2BIG;
	}
	memcpy(pins->ids[pins->n++], id, P2_KEY_ID_LEN);
	return 0;
}

int p2_pins_parse(P2Pins *pins, const char *text, size_t len, P2PinsBadLine bad, void *userdata)
{
	const char *p = text, *end = text + len;
	unsigned line = 0;
	int r = 0;

	pins->configured = true;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *e = nl ? nl : end, *hash;
		uint8_t id[P2_KEY_ID_LEN];

		line++;
		hash = memchr(p, '#', (size_t)(e - p));
		if (hash != NULL) {
			e = hash;
		}
		while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) {
			e--;
		}
		while (p < e && (*p == ' ' || *p == '\t')) {
			p++;
		}
		if (p < e) {
			if (p2_key_id_parse(p, (size_t)(e - p), id) < 0) {
				if (bad) {
					bad(line, "not a key ID (64 hex digits)", userdata);
				}
			} else if (pins_insert(pins, id) < 0) {
				if (bad) {
					bad(line, "too many pins", userdata);
				}
				r = -E2BIG;
			}
		}
		p = nl ? nl + 1 : end;
	}
	return r;
}

int p2_pins_load(P2Pins *pins, const char *path, P2PinsBadLine bad, void *userdata)
{
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int r;

	r = read_full_file(path, P2_PINS_FILE_MAX, &text, &len);
	if (r < 0) {
		return r;
	}
	return p2_pins_parse(pins, text, len, bad, userdata);
}

int p2_pins_add(P2Pins *pins, const char *hex)
{
	uint8_t id[P2_KEY_ID_LEN];

	/* A --server-key-id was given: even a bad one means "pins configured" (fail closed). */
	pins->configured = true;
	if (p2_key_id_parse(hex, strlen(hex), id) < 0) {
		return -EINVAL;
	}
	return pins_insert(pins, id);
}

bool p2_pins_match(const P2Pins *pins, const uint8_t id[P2_KEY_ID_LEN])
{
	int found = 0;

	for (size_t i = 0; i < pins->n; i++) {
		found |= sodium_memcmp(pins->ids[i], id, P2_KEY_ID_LEN) == 0;
	}
	return found != 0;
}
