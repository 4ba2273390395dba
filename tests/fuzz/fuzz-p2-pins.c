/* SPDX-License-Identifier: GPL-3.0-or-later */
/* libFuzzer target: the server-pins file parser (§A.9.3) and --server-key-id values. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pins.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void bad_line(unsigned line, const char *why, void *userdata)
{
	if (line == 0 || why == NULL) {
		abort();
	}
	(void)userdata;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static P2Pins pins;
	char hex[80];

	memset(&pins, 0, sizeof(pins));
	(void)p2_pins_parse(&pins, (const char *)data, size, bad_line, NULL);
	if (!pins.configured || pins.n > P2_PINS_MAX) {
		abort();
	}
	for (size_t i = 0; i < pins.n; i++) {
		if (!p2_pins_match(&pins, pins.ids[i])) {
			abort();
		}
	}
	if (size < sizeof(hex)) {
		memcpy(hex, data, size);
		hex[size] = '\0';
		(void)p2_pins_add(&pins, hex);
	}
	return 0;
}
